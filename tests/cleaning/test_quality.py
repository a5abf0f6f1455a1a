"""Quality scorecard, score formula, per-record issues and before/after, by hand and on the sample."""

from pathlib import Path

import pandas as pd
import pytest

from portfolio_helpers.app.sample_data import load_truth
from portfolio_helpers.cleaning import quality
from portfolio_helpers.cleaning.standardize import standardize_portfolio
from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting import cleaning as cleaning_report
from portfolio_helpers.reporting.narrative import fmt_int

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
AS_OF = pd.Timestamp("2024-06-30")


@pytest.fixture
def tiny():
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C3"],
        "name": ["Ann Lee", "Bob Stone", None, "Cy Twig"],
        "email": ["ann@free.fr", "bob@gmial.com", None, "cy@free.fr"],
        "country": ["France", "Narnia", "FR", "FR"],
        "source_line": [2, 3, 4, 5],
    })
    transactions = pd.DataFrame({
        "customer_id": ["C1", "C1", "C2", "Z9"],
        "date": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-06-01", "2024-06-10"]),
        "amount": [10.0, 10.0, -5.0, 0.0],
        "order_id": ["o1", "o1", "o2", "o3"],
        "source_line": [2, 3, 4, 5],
    })
    return {"customers": customers, "transactions": transactions}


def _card_value(card, table, column, dimension):
    row = card[(card["table"] == table) & (card["column"] == column) & (card["dimension"] == dimension)]
    assert len(row) == 1, (table, column, dimension)
    return row.iloc[0]


def test_scorecard_by_hand(tiny):
    tables, _ = standardize_portfolio(tiny, AS_OF)
    card = quality.quality_scorecard(tables, AS_OF)
    assert list(card.columns) == quality.SCORECARD_COLUMNS
    expected = {
        ("customers", "customer_id", "completeness"): (4, 0),
        ("customers", "name", "completeness"): (4, 1),
        ("customers", "email", "completeness"): (4, 1),
        ("customers", "country", "completeness"): (4, 0),
        ("transactions", "customer_id", "completeness"): (4, 0),
        ("transactions", "date", "completeness"): (4, 0),
        ("transactions", "amount", "completeness"): (4, 0),
        ("transactions", "order_id", "completeness"): (4, 0),
        ("customers", "email", "validity"): (3, 1),  # bob@gmial.com
        ("customers", "country", "validity"): (4, 1),  # Narnia
        ("transactions", "amount", "validity"): (4, 2),  # zero, and -5 with no purchase of C2
        ("transactions", "date", "validity"): (4, 0),
        ("customers", "customer_id", "uniqueness"): (4, 1),  # C3 twice
        ("transactions", "*", "uniqueness"): (4, 1),  # line 3 repeats line 2
        ("transactions", "customer_id", "consistency"): (4, 1),  # Z9
    }
    got = {(r.table, r.column, r.dimension): (r.checked, r.failed) for r in card.itertuples()
           if r.dimension != "freshness"}
    assert got == expected
    fresh = _card_value(card, "transactions", "date", "freshness")
    assert fresh["score"] == 1.0 and "20 days before as_of" in fresh["detail"]
    assert _card_value(card, "transactions", "amount", "validity")["detail"] == (
        "negative amount with no matching purchase (sign error?): 1; zero amount: 1")


def test_quality_score_formula_by_hand(tiny):
    tables, _ = standardize_portfolio(tiny, AS_OF)
    card = quality.quality_scorecard(tables, AS_OF)
    scores = quality.dimension_scores(card)
    completeness = (1 + 0.75 + 0.75 + 1 + 1 + 1 + 1 + 1) / 8 * 100
    validity = (2 / 3 + 0.75 + 0.5 + 1) / 4 * 100
    assert scores.to_dict() == pytest.approx({"completeness": completeness, "validity": validity,
                                              "uniqueness": 75.0, "consistency": 75.0, "freshness": 100.0})
    score, formula = quality.quality_score(card)
    by_hand = (25 * completeness + 30 * validity + 15 * 75 + 20 * 75 + 10 * 100) / 100
    assert score == pytest.approx(by_hand)
    assert formula.splitlines()[0] == (
        f"Quality score = (25 × completeness {completeness:.1f} + 30 × validity {validity:.1f} + "
        f"15 × uniqueness 75.0 + 20 × consistency 75.0 + 10 × freshness 100.0) / 100 = {by_hand:.1f}")
    # Other weights; a dimension without checks drops out and the rest is re-normalized.
    score, formula = quality.quality_score(card[card["dimension"] != "freshness"],
                                           {"validity": 1, "uniqueness": 1, "freshness": 5})
    assert score == pytest.approx((validity + 75) / 2)
    assert "/ 2 =" in formula.splitlines()[0]
    with pytest.raises(ValueError, match="no check"):
        quality.quality_score(card, {"freshness": 0})


def test_freshness_falls_linearly_and_ignores_later_dates():
    tx = pd.DataFrame({"customer_id": ["A", "A"], "amount": [1.0, 2.0],
                       "date": pd.to_datetime(["2023-12-13", "2031-01-01"])})  # 2031: a typo, not fresh data
    card = quality.quality_scorecard({"transactions": tx}, AS_OF)
    fresh = _card_value(card, "transactions", "date", "freshness")
    age = (AS_OF - pd.Timestamp("2023-12-13")).days
    assert fresh["score"] == pytest.approx(1 - (age - 31) / (365 - 31))
    assert _card_value(card, "transactions", "date", "validity")["failed"] == 1


def test_completeness_only_where_a_field_applies():
    customers = pd.DataFrame({"customer_id": ["B1", "B2", "P1"], "customer_type": ["B2B", "B2B", "B2C"],
                              "industry": ["Retail", None, None], "birth_year": pd.array([None, None, 1980], "Int64"),
                              "stage": ["customer", "customer", "lead"],
                              "acquisition_date": pd.to_datetime(["2020-01-01", "2021-01-01", None])})
    card = quality.quality_scorecard({"customers": customers}, AS_OF)
    assert tuple(_card_value(card, "customers", "industry", "completeness")[["checked", "failed"]]) == (2, 1)
    assert tuple(_card_value(card, "customers", "birth_year", "completeness")[["checked", "failed"]]) == (1, 0)
    assert tuple(_card_value(card, "customers", "acquisition_date", "completeness")[["checked", "failed"]]) == (2, 0)
    assert _card_value(card, "customers", "birth_year", "validity")["failed"] == 0


def test_payments_consistency():
    tx = pd.DataFrame({"customer_id": ["A", "B"], "order_id": ["o1", "o2"], "amount": [5.0, 6.0],
                       "date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    payments = pd.DataFrame({"customer_id": ["A", "A", "A"], "order_id": ["o1", "o2", "o9"],
                             "due_date": pd.to_datetime(["2024-01-31"] * 3), "amount": [5.0, 6.0, 1.0],
                             "source_line": [2, 3, 4]})
    customers = pd.DataFrame({"customer_id": ["A", "B"]})
    tables = {"transactions": tx, "payments": payments, "customers": customers}
    card = quality.quality_scorecard(tables, AS_OF)
    consistency = card[(card["table"] == "payments") & (card["dimension"] == "consistency")]
    assert sorted(map(tuple, consistency[["check", "checked", "failed"]].values.tolist())) == [
        ("customer_id found in customers", 3, 0), ("order_id found in transactions", 3, 1),
        ("same customer as the order", 2, 1)]
    issues = quality.quality_issues(tables, AS_OF)
    assert issues[issues["table"] == "payments"][["record_key", "problem"]].values.tolist() == [
        ["o9 line 4", "order id not in the transactions"],
        ["o2 line 3", "customer differs from the order's customer (B)"]]


def test_quality_issues_list_each_failing_record(tiny):
    tables, _ = standardize_portfolio(tiny, AS_OF)
    issues = quality.quality_issues(tables, AS_OF)
    assert list(issues.columns) == quality.ISSUE_COLUMNS
    got = set(map(tuple, issues[["table", "record_key", "field", "problem"]].values.tolist()))
    assert got == {
        ("customers", "C3", "name", "missing"),
        ("customers", "C3", "email", "missing"),
        ("customers", "C2", "email", "typo domain (did you mean gmail.com?)"),
        ("customers", "C2", "country", "unknown country"),
        ("customers", "C3", "customer_id", "customer_id used by an earlier record"),
        ("transactions", "o2 line 4", "amount", "negative amount with no matching purchase (sign error?)"),
        ("transactions", "o3 line 5", "amount", "zero amount"),
        ("transactions", "o1 line 3", "*", "exact duplicate of line 2"),
        ("transactions", "o3 line 5", "customer_id", "customer id not in the customers table"),
    }
    assert issues.loc[issues["problem"].str.startswith("typo"), "value"].item() == "bob@gmial.com"
    # Raw typed tables give the same list (standardization is run on the fly).
    assert len(quality.quality_issues(tiny, AS_OF)) == len(issues)


def test_before_after_and_findings(tiny):
    clean, changes = standardize_portfolio(tiny, AS_OF)
    summary = quality.before_after(tiny, clean, changes)
    rows = summary.set_index(["table", "rule"])
    # "FR" is written twice, both times under C3 (the id used twice): records counts distinct keys.
    assert rows.loc[("customers", "country_variant"), "records"] == 1
    assert rows.loc[("customers", "country_variant"), "examples"] == "'FR' → 'FR'"
    assert rows.loc[("transactions", "negative_error"), "share"] == 0.25
    assert summary["kind"].tolist() == sorted(summary["kind"], key=["fix", "flag", "info"].index)
    card = quality.quality_scorecard(clean, AS_OF)
    findings = cleaning_report.quality_findings(card)
    score, _ = quality.quality_score(card)
    assert findings[0].startswith(f"Overall data quality score: **{score:.1f} / 100**")
    assert "33.3% of e-mail addresses are invalid (1 of 3)." in findings
    sentences = cleaning_report.standardization_findings(changes, clean)
    assert any("1 negative line (€5) match none" in s for s in sentences)


# --------------------------------------------------------------------------- the committed dirty sample


@pytest.fixture(scope="module")
def sample():
    portfolio = load_portfolio(SAMPLE / "portfolio.yml", today=pd.Timestamp("2026-01-15"))
    tables, changes = standardize_portfolio(portfolio.tables, portfolio.as_of)
    return portfolio, tables, changes


def test_sample_scorecard_and_score(sample):
    portfolio, tables, _ = sample
    card = quality.quality_scorecard(tables, portfolio.as_of)
    assert set(card["dimension"]) == set(quality.DIMENSIONS)
    assert set(card["table"]) == {"transactions", "customers", "payments", "tickets", "leads", "feedback"}
    assert card["score"].between(0, 1).all() and (card["failed"] <= card["checked"]).all()
    email = _card_value(card, "customers", "email", "validity")
    customers = tables["customers"]
    present = customers["email"].notna()
    assert (email["checked"], email["failed"]) == (present.sum(), (present & ~customers["email_valid"]).sum())
    score, formula = quality.quality_score(card)
    assert 80 < score < 100 and formula.startswith("Quality score = (25 × completeness")
    sentence = next(s for s in cleaning_report.quality_findings(card) if "e-mail addresses are invalid" in s)
    assert f"({fmt_int(email['failed'])} of {fmt_int(email['checked'])})" in sentence


def test_sample_issues_cover_the_planted_defects(sample):
    portfolio, tables, _ = sample
    issues = quality.quality_issues(tables, portfolio.as_of)
    defects = load_truth(SAMPLE)["defects"]
    emails = issues[(issues["table"] == "customers") & (issues["field"] == "email")]
    planted = defects[defects["defect"] == "invalid_email"]
    assert set(planted["key"]) <= set(emails["record_key"])  # flagged, or listed as missing ("n/a")
    negatives = issues[issues["problem"].str.startswith("negative amount", na=False)]
    errors = defects[defects["defect"] == "erroneous_negative_amount"]
    assert sorted(negatives["record_key"].str.split(" ").str[0]) == sorted(errors["key"])
    assert (issues["field"] == "*").sum() >= 31


def test_sample_before_after(sample):
    portfolio, tables, changes = sample
    summary = quality.before_after(portfolio.tables, tables, changes)
    counts = changes.groupby(["table", "rule"])["row_key"].nunique()
    assert summary.set_index(["table", "rule"])["records"].sort_index().equals(counts.sort_index())
    assert (summary["rows_before"] == summary["rows_after"]).all()
    assert summary["examples"].str.len().gt(0).all()
    country = summary.set_index(["table", "rule"]).loc[("customers", "country_variant")]
    defects = load_truth(SAMPLE)["defects"]
    planted = int((defects["defect"] == "inconsistent_country").sum())
    assert planted > 20 and country["records"] == planted and "→ 'FR'" in country["examples"]
    variety = quality.variety_before_after(portfolio.tables, tables).set_index("column")
    assert variety.loc["country", "distinct_after"] == 7 < variety.loc["country", "distinct_before"]
