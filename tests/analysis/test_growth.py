"""Growth, retention and objectives (analysis.growth): a tiny portfolio computed by hand, properties, config errors.

The tiny portfolio (years 2023-2025, analysis date 2025-12-31):

======== ========== ========== ========== =====================================================
customer 2023       2024       2025       notes
======== ========== ========== ========== =====================================================
a        100        150        120        owner Ann
b        80         80         --         owner Ann
c        --         60         90         owner Bob
d        50         --         40         owner Bob
e        --         --         70         no owner; a cancelled line of 500 (not revenue)
f        --         30 - 30    25         not in the customers table; bought and credited in 2024
======== ========== ========== ========== =====================================================
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis import growth
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.errors import ColumnError, ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shapes import shape_frames, shape_strategy  # noqa: E402

AS_OF = "2025-12-31"
ROWS = [("a", "2023-02-01", 100.0), ("a", "2024-03-01", 150.0), ("a", "2025-05-01", 120.0),
        ("b", "2023-06-01", 80.0), ("b", "2024-07-01", 80.0),
        ("c", "2024-02-01", 60.0), ("c", "2025-02-01", 90.0),
        ("d", "2023-04-01", 50.0), ("d", "2025-08-01", 40.0),
        ("e", "2025-09-01", 70.0), ("e", "2025-10-01", 500.0),
        ("f", "2024-11-01", 30.0), ("f", "2024-11-15", -30.0), ("f", "2025-03-01", 25.0)]


@pytest.fixture
def tx() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["customer_id", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["status"] = np.where((frame["customer_id"] == "e") & (frame["amount"] == 500.0), "cancelled", "completed")
    return frame


@pytest.fixture
def crm() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"], "owner": ["Ann", "Ann", "Bob", "Bob", None]})


GOAL = {"start": "2025-01-01", "deadline": "2025-12-31"}


def goals(*items: dict) -> list[growth.Objective]:
    return growth.objectives_from_config([{"name": f"goal {i}", **GOAL, **item} for i, item in enumerate(items)])


# --------------------------------------------------------------------------- bridge

def test_bridge_by_hand(tx):
    bridge = growth.revenue_bridge(tx, as_of=AS_OF).set_index("period")
    assert list(bridge.index) == ["2024", "2025", "12 months to 2025-12-31"]
    # 2024 against 2023: a +50 expansion, b unchanged, c new, d churned, f nets to 0 (nothing)
    y2024 = bridge.loc["2024"]
    assert [y2024[c] for c in growth.BRIDGE_COLUMNS[1:8]] == [230.0, 60.0, 0.0, 50.0, 0.0, -50.0, 290.0]
    assert [y2024[c] for c in growth.BRIDGE_COLUMNS[8:]] == [1, 0, 1, 0, 1]
    assert y2024["net_revenue_retention"] == pytest.approx(230 / 230)
    assert y2024["gross_revenue_retention"] == pytest.approx(180 / 230)
    # 2025 against 2024: a -30, b churned, c +30, d and f reactivated, e new (its cancelled 500 is no revenue)
    y2025 = bridge.loc["2025"]
    assert [y2025[c] for c in growth.BRIDGE_COLUMNS[1:8]] == [290.0, 70.0, 65.0, 30.0, -30.0, -80.0, 345.0]
    assert [y2025[c] for c in growth.BRIDGE_COLUMNS[8:]] == [1, 2, 1, 1, 1]
    assert y2025["net_revenue_retention"] == pytest.approx(210 / 290)
    assert y2025["gross_revenue_retention"] == pytest.approx(180 / 290)
    assert y2025["new_customer_revenue_share"] == pytest.approx(70 / 345)
    last = bridge.loc["12 months to 2025-12-31"]
    assert last[growth.BRIDGE_COLUMNS[1:]].tolist() == y2025[growth.BRIDGE_COLUMNS[1:]].tolist()


def test_bridge_leaves_out_an_incomplete_year_and_needs_history(tx):
    bridge = growth.revenue_bridge(tx, as_of="2025-06-30")
    assert bridge["period"].tolist() == ["2024", "12 months to 2025-06-30"]
    one_year = tx[tx["date"] < "2024-01-01"]
    assert growth.revenue_bridge(one_year, as_of="2023-12-31").empty  # one period: nothing to compare


def test_bridge_names_a_missing_column(tx):
    with pytest.raises(ColumnError, match="no amount column"):
        growth.revenue_bridge(tx.drop(columns="amount"), as_of=AS_OF)


# --------------------------------------------------------------------------- cohorts

def test_cohorts_by_hand(tx):
    table = growth.cohort_table(tx, "year", as_of=AS_OF)
    got = table[growth.COHORT_COLUMNS].values.tolist()
    # f's first year nets to 0: never acquired, so in no cohort
    assert got == [["2023", 0, 3, 1.0, 230.0], ["2023", 1, 2, 2 / 3, 230.0], ["2023", 2, 2, 2 / 3, 160.0],
                   ["2024", 0, 1, 1.0, 60.0], ["2024", 1, 1, 1.0, 90.0], ["2025", 0, 1, 1.0, 70.0]]
    assert table["cumulative_revenue_per_customer"].tolist() == pytest.approx(
        [230 / 3, 460 / 3, 620 / 3, 60.0, 150.0, 70.0])
    assert table["complete"].all()


def test_cohorts_by_quarter_label_periods_and_incomplete_ones(tx):
    table = growth.cohort_table(tx, "quarter", as_of="2025-11-15")
    assert table["cohort"].iloc[0] == "2023Q1"
    assert not table["complete"].iloc[-1]  # 2025Q4 is not over on 2025-11-15
    with pytest.raises(ValueError, match="freq must be one of"):
        growth.cohort_table(tx, "week")


# --------------------------------------------------------------------------- owners

def test_owner_books_by_hand(tx, crm):
    risk = pd.DataFrame({"customer_id": ["a", "c"], "at_risk": [True, False]})
    books = growth.owner_books(tx, crm, AS_OF, at_risk=risk, open_leads=pd.Series({"Ann": 3}))
    assert list(books.columns[:10]) == growth.OWNER_COLUMNS
    books = books.set_index("owner")
    assert list(books.index) == ["Bob", "Ann", "(no owner)"]  # by revenue of the last 12 months
    ann, bob, nobody = books.loc["Ann"], books.loc["Bob"], books.loc["(no owner)"]
    assert (ann["customers"], ann["revenue"], ann["revenue_previous"]) == (1, 120.0, 230.0)
    assert ann["growth"] == pytest.approx(120 / 230 - 1)
    assert (ann["top_customer_share"], ann["hhi"]) == (1.0, 10_000.0)
    assert (ann["customers_at_risk"], ann["revenue_at_risk"], ann["open_leads"]) == (1, 120.0, 3)
    assert (ann["contraction"], ann["churned"]) == (-30.0, -80.0)
    assert (bob["customers"], bob["revenue"], bob["revenue_previous"]) == (2, 130.0, 60.0)
    assert bob["growth"] == pytest.approx(130 / 60 - 1)
    assert bob["top_customer_share"] == pytest.approx(90 / 130)
    assert bob["hhi"] == pytest.approx((90**2 + 40**2) / 130**2 * 10_000)
    assert (bob["expansion"], bob["reactivated"], bob["customers_at_risk"], bob["open_leads"]) == (30.0, 40.0, 0, 0)
    assert (nobody["customers"], nobody["revenue"], nobody["new"], nobody["reactivated"]) == (2, 95.0, 70.0, 25.0)
    assert math.isnan(nobody["growth"])
    # the books add up to the portfolio's bridge
    total = growth.revenue_bridge(tx, as_of=AS_OF).iloc[-1]
    for movement in growth.MOVEMENTS:
        assert round(books[movement].sum(), 2) == total[movement]


def test_owner_books_without_open_leads_leave_the_column_empty(tx, crm):
    books = growth.owner_books(tx, crm, AS_OF)
    assert books["open_leads"].isna().all()
    with pytest.raises(ColumnError, match="no owner column"):
        growth.owner_books(tx, crm.drop(columns="owner"), AS_OF)


# --------------------------------------------------------------------------- objectives

def measured(tx, crm, as_of, *items, profiles=None):
    return growth.measure_objectives(goals(*items), tx, as_of, customers=crm, lead_profiles=profiles).set_index("name")


def test_objectives_mid_year_by_hand(tx, crm):
    # to 2025-06-30: c 90, f 25, a 120 = 235; last year 290 in all, 210 to 2024-06-30: projected 235 * 290 / 210
    out = measured(tx, crm, "2025-06-30",
                   {"metric": "revenue", "target": 300}, {"metric": "revenue", "target": 340},
                   {"metric": "revenue", "target": 400}, {"metric": "revenue", "target": 200},
                   {"metric": "new_customers", "target": 1},
                   {"metric": "churned_customers", "target": 1},
                   {"metric": "gross_revenue_retention", "target": 0.85},
                   {"metric": "gross_revenue_retention", "target": 0.9},
                   {"metric": "revenue", "target": 100, "filter": {"owner": "Bob"}},
                   {"metric": "revenue", "target": 100, "start": "2026-01-01", "deadline": "2026-12-31"},
                   {"metric": "orders", "target": 6}, {"metric": "average_order_value", "target": 70})
    assert list(out.columns[:6]) == growth.OBJECTIVE_COLUMNS[1:]
    projected = 235 * 290 / 210
    assert out.loc["goal 0", ["value", "projected"]].tolist() == pytest.approx([235.0, projected])
    assert out["status"].tolist() == ["on track", "at risk", "off track", "achieved", "off track", "on track",
                                      "on track", "at risk", "at risk", "not started", "on track", "on track"]
    assert out.loc["goal 0", "achieved_share"] == pytest.approx(235 / 300)
    assert out.loc["goal 0", "elapsed_share"] == pytest.approx(181 / 365)
    assert out.loc["goal 0", "rule"] == "pace of last year's same period (seasonality)"
    # GRR to date: a 150 -> 120 against the same half of 2024 (a 150, c 60)
    assert out.loc["goal 6", "value"] == pytest.approx(180 / 210)
    assert out.loc["goal 8", ["value", "projected"]].tolist() == [90.0, 90.0]  # Bob: c, as last year
    # churned customers: the bridge needs 2023-01-01 for last year's seasonality: linear pace
    assert out.loc["goal 5", "rule"] == "linear pace to the deadline"
    # orders: three to date (one per line here), last year 2 to June of 4 (f's credit note is an order)
    assert out.loc["goal 10", ["value", "projected"]].tolist() == pytest.approx([3.0, 3 * 5 / 2])
    assert out.loc["goal 11", "value"] == pytest.approx(235 / 3)


def test_objectives_at_the_deadline(tx, crm):
    out = measured(tx, crm, AS_OF, {"metric": "revenue", "target": 300},
                   {"metric": "churned_customers", "target": 1}, {"metric": "active_customers", "target": 5.5},
                   {"metric": "net_revenue_retention", "target": 0.7})
    assert out["value"].tolist() == pytest.approx([345.0, 1.0, 5.0, 210 / 290])
    assert out["status"].tolist() == ["achieved", "achieved", "at risk", "achieved"]
    assert (out["elapsed_share"] == 1.0).all()


def test_lead_conversion_rate_uses_the_lead_statuses(tx, crm):
    profiles = pd.DataFrame({
        "created": pd.to_datetime(["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2024-12-01"]),
        "status": ["converted", "closed", "open", "converted", "converted"],
        "source": ["referral", "referral", "referral", "webinar", "referral"]},
        index=pd.Index(["L1", "L2", "L3", "L4", "L5"], name="lead_id"))
    out = measured(tx, crm, "2025-06-30", {"metric": "lead_conversion_rate", "target": 0.25},
                   {"metric": "lead_conversion_rate", "target": 0.6, "filter": {"source": "referral"}},
                   {"metric": "lead_conversion_rate", "target": 0.5, "filter": {"source": "fair"}},
                   profiles=profiles)
    assert out["value"].tolist()[:2] == pytest.approx([2 / 3, 0.5])
    assert out["status"].tolist() == ["on track", "off track", "no data"]


def test_targets_are_set_against_last_years_value_over_the_same_dates(tx, crm):
    profiles = pd.DataFrame({"created": pd.to_datetime(["2024-12-01", "2025-02-01"]), "status": ["converted", "closed"]},
                            index=pd.Index(["L1", "L2"], name="lead_id"))
    out = measured(tx, crm, "2025-06-30", {"metric": "revenue", "target": 580}, {"metric": "revenue", "target": 579},
                   {"metric": "orders", "target": 10}, {"metric": "churned_customers", "target": 0},
                   {"metric": "revenue", "target": 100, "start": "2026-01-01", "deadline": "2026-12-31"},
                   {"metric": "revenue", "target": 50, "filter": {"owner": "Bob"}},
                   {"metric": "lead_conversion_rate", "target": 0.9}, profiles=profiles)
    # 2024: a 150, b 80, c 60, f 30 - 30 = 290 (Bob: c 60); orders a, b, c, f, f (the credit note) = 5. Churned
    # customers need the bridge of 2024 against 2023, whose start (2023-01-01) is before the data (2023-02-01);
    # 2026's window a year earlier is not over on 2025-06-30; no lead was created by 2024-01-01
    assert out["last_year"].tolist()[:3] == [290.0, 290.0, 5.0] and out.loc["goal 5", "last_year"] == 60.0
    assert out.loc[["goal 3", "goal 4", "goal 6"], "last_year"].isna().all()
    assert out["stretch"].tolist() == [True, False, True, False, False, False, False]


@pytest.mark.parametrize(("value", "projected", "target", "higher", "finished", "kind", "status"), [
    (130, 130, 120, True, False, "sum", "achieved"),
    (60, 120, 120, True, False, "sum", "on track"),
    (60, 108, 120, True, False, "sum", "at risk"),
    (60, 107.9, 120, True, False, "sum", "off track"),
    (0.9, 0.9, 0.85, True, False, "rate", "on track"),
    (0.9, 0.9, 0.85, True, True, "rate", "achieved"),
    (10, 27, 25, False, False, "sum", "at risk"),
    (10, 30, 25, False, False, "sum", "off track"),
    (10, 20, 25, False, False, "sum", "on track"),
    (30, 30, 25, False, True, "sum", "off track"),
    (0, 0, 0, True, False, "sum", "achieved"),
    (math.nan, math.nan, 1, True, False, "rate", "no data"),
])
def test_status_rule(value, projected, target, higher, finished, kind, status):
    assert growth.objective_status(value, projected, target, higher, finished, kind) == status


def test_proposed_objectives_follow_the_last_twelve_months(tx):
    proposals = growth.proposed_objectives(tx, AS_OF)
    assert [(p["metric"], p["target"]) for p in proposals] == [
        ("revenue", 345.0), ("new_customers", 1), ("gross_revenue_retention", 0.62)]
    assert {(p["start"].isoformat(), p["deadline"].isoformat()) for p in proposals} == {("2026-01-01", "2026-12-31")}
    assert goals(*[{k: v for k, v in p.items() if k != "name"} for p in proposals])  # valid config as they are
    one_year = growth.proposed_objectives(tx[tx["date"] < "2024-01-01"], "2023-12-31")
    assert one_year[2]["metric"] == "active_customers" and one_year[2]["target"] == 3


@pytest.mark.parametrize(("as_of", "year"), [
    ("2011-12-09", 2012),  # Online Retail's analysis date: 22 days left, the proposals are for the next year
    ("2011-10-01", 2012), ("2011-09-30", 2011),  # 91 days left (< 365 / 4), 92 days left
    ("2012-10-01", 2013), ("2012-09-30", 2012),  # a leap year: 91 < 366 / 4 < 92
    ("2025-06-30", 2025), ("2025-12-31", 2026), ("2025-01-01", 2025),
])
def test_proposals_are_for_a_year_with_at_least_a_quarter_ahead(as_of, year):
    assert growth.proposal_year(as_of) == year


def test_proposals_in_december_are_for_next_year_at_the_pace_of_the_last_twelve_months():
    """Online Retail (9 Dec 2011) was proposed objectives for 2011, three weeks before its deadline."""
    rows = [("z", "2023-06-01", 10.0),  # the data covers the 12 months before either window in full
            ("a", "2024-03-01", 100.0), ("a", "2025-03-01", 120.0), ("b", "2025-06-01", 80.0)]
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(date=lambda f: pd.to_datetime(f["date"]))
    # 10 Dec 2024 - 9 Dec 2025: a 120, b 80 (new); the 12 before: a 100 (expanded, nothing lost): GRR 1
    december = growth.proposed_objectives(tx, "2025-12-09")
    assert [(p["metric"], p["target"]) for p in december] == [
        ("revenue", 200), ("new_customers", 1), ("gross_revenue_retention", 1.0)]
    assert {(p["start"].isoformat(), p["deadline"].isoformat()) for p in december} == {("2026-01-01", "2026-12-31")}
    # mid-year, 1 Jul 2024 - 30 Jun 2025: the same lines (a 120, b 80; a 100 the 12 months before), for this year
    mid_year = growth.proposed_objectives(tx, "2025-06-30")
    assert [(p["metric"], p["target"]) for p in mid_year] == [
        ("revenue", 200), ("new_customers", 1), ("gross_revenue_retention", 1.0)]
    assert {(p["start"].isoformat(), p["deadline"].isoformat()) for p in mid_year} == {("2025-01-01", "2025-12-31")}


# --------------------------------------------------------------------------- config errors

def good(**changes) -> dict:
    return {"name": "Up-sell", "metric": "expansion_revenue", "target": 250000, **GOAL, **changes}


@pytest.mark.parametrize(("section", "message"), [
    ([good(), good(name="b"), good(name="c", metric="revnue")],
     r"objectives\[2\]\.metric: unknown metric 'revnue' \(did you mean 'revenue'\?\)"),
    ([good(metric=None)], r"objectives\[0\]\.metric: missing \(not specific\)"),
    ([good(deadline=None)], r"objectives\[0\]\.deadline: missing; an objective is time-bound"),
    ([good(deadline="2024-12-31")], r"objectives\[0\]\.deadline: 2024-12-31 is before the start 2025-01-01 "
                                    r"\(not time-bound\)"),
    ([good(start="2025-13-01")], r"objectives\[0\]\.start: '2025-13-01' is not a date"),
    ([good(target="lots")], r"objectives\[0\]\.target: expected a number >= 0 \(not measurable otherwise\)"),
    ([good(metric="gross_revenue_retention", target=85)], r"objectives\[0\]\.target: gross_revenue_retention is a "
                                                          r"share between 0 and 1"),
    ([good(metric="lead_conversion_rate", target=0.2)], r"objectives\[0\]\.metric: lead_conversion_rate is not "
                                                        r"measurable: it needs the leads table"),
    ([good(deadlne="2025-12-31")], r"objectives\[0\]: unknown key 'deadlne' \(did you mean 'deadline'\?\)"),
    ([good(name="")], r"objectives\[0\]\.name: missing"),
    ([good(), good()], r"objectives\[0\]\.name: 'Up-sell' names two objectives"),
    ([good(filter="owner")], r"objectives\[0\]\.filter: expected a mapping"),
    ([good(filter={"owner": {"a": 1}})], r"objectives\[0\]\.filter\.owner: expected a value or a list"),
    ([["not a mapping"]], r"objectives\[0\]: expected a mapping"),
    ({"name": "x"}, r"objectives: expected a list of objectives"),
])
def test_objective_config_errors(section, message):
    with pytest.raises(ConfigError, match=message):
        growth.objectives_from_config(section, tables=["transactions", "customers"])


def test_not_measurable_in_the_data_names_the_table_or_column(tx, crm):
    objectives = goals({"metric": "revenue", "target": 1, "filter": {"ownr": "Ann"}})
    with pytest.raises(ConfigError, match=r"objectives\[0\]\.filter\.ownr: not measurable: the customers table has "
                                          r"no ownr column \(did you mean 'owner'\?\)"):
        growth.check_measurable(objectives, customers=crm)
    with pytest.raises(ConfigError, match=r"filter\.owner: not measurable: the customers table has no owner column"):
        growth.check_measurable(goals({"metric": "revenue", "target": 1, "filter": {"owner": "Ann"}}))
    with pytest.raises(ConfigError, match="lead_conversion_rate is not measurable: the leads table has no lead"):
        growth.measure_objectives(goals({"metric": "lead_conversion_rate", "target": 0.1}), tx, AS_OF)
    growth.check_measurable(goals({"metric": "revenue", "target": 1, "filter": {"owner": "Ann"}}), customers=crm)


def test_growth_section(tmp_path):
    assert growth.growth_settings({"period": "month"}).period == "month"
    with pytest.raises(ConfigError, match=r"growth: unknown key 'perod' \(did you mean 'period'\?\)"):
        growth.growth_settings({"perod": "month"})
    with pytest.raises(ConfigError, match=r"portfolio.yml: growth: expected a mapping"):
        growth.growth_settings("month", "portfolio.yml")


def test_config_file_keeps_the_sections_and_names_the_file(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na,2025-01-01,1\n", encoding="utf-8")
    (tmp_path / "portfolio.yml").write_text(
        "tables: {transactions: tx.csv}\ngrowth: {period: year}\nobjectives:\n"
        "  - {name: Grow, metric: revenue, target: 10, start: 2025-01-01, deadline: 2025-12-31}\n"
        "  - {name: Convert, metric: lead_conversion_rate, target: 0.2, start: 2025-01-01, deadline: 2025-12-31}\n",
        encoding="utf-8")
    config = load_config(tmp_path / "portfolio.yml")
    assert growth.growth_settings(config.sections.get("growth")).period == "year"
    with pytest.raises(ConfigError, match=r"portfolio\.yml: objectives\[1\]\.metric: lead_conversion_rate is not "
                                          r"measurable: it needs the leads table, which the config does not give"):
        growth.objectives_from_config(config.sections.get("objectives"), config.path, config.tables)


# --------------------------------------------------------------------------- properties

AMOUNTS = st.floats(-500, 5000, allow_nan=False).map(lambda x: round(x, 2))
LINES = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 1095), AMOUNTS), min_size=1, max_size=60)


def frame_of(lines) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [c for c, _, _ in lines],
                         "date": pd.Timestamp("2023-01-01") + pd.to_timedelta([d for _, d, _ in lines], unit="D"),
                         "amount": [a for _, _, a in lines]})


def check_invariants(transactions: pd.DataFrame, as_of, freq: str = "quarter") -> None:
    bridge = growth.revenue_bridge(transactions, as_of=as_of)
    for _, row in bridge.iterrows():
        cents = [round(row[c] * 100) for c in ["start", *growth.MOVEMENTS]]
        assert sum(cents) == round(row["end"] * 100), row.to_dict()
        if not math.isnan(row["gross_revenue_retention"]):
            assert 0 <= row["gross_revenue_retention"] <= 1
            assert row["gross_revenue_retention"] <= row["net_revenue_retention"] + 1e-12
    cohorts = growth.cohort_table(transactions, freq, as_of=as_of)
    first = cohorts[cohorts["periods_since"] == 0]
    assert (first["share_active"] == 1.0).all()
    assert ((cohorts["share_active"] >= 0) & (cohorts["share_active"] <= 1)).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES, st.sampled_from(growth.PERIODS))
def test_bridge_adds_up_and_rates_stay_in_range(lines, freq):
    check_invariants(frame_of(lines), "2025-12-31", freq)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape_strategy())
def test_invariants_over_input_shapes(shape):
    frames = shape_frames(shape)
    transactions = frames["transactions"].assign(date=lambda f: pd.to_datetime(f["date"]))
    check_invariants(transactions, "2025-12-31")
    if "customers" in frames and "owner" in frames["customers"].columns:
        books = growth.owner_books(transactions, frames["customers"], "2025-12-31")
        bridge = growth.revenue_bridge(transactions, as_of="2025-12-31")
        if len(bridge):  # the books add up to the bridge of the last 12 months
            for movement in growth.MOVEMENTS:
                assert round(books[movement].sum(), 2) == bridge.iloc[-1][movement]


# --------------------------------------------------------------------------- notebook 07's run

LEADS = pd.DataFrame({  # Ann: two open leads; Bob: one closed (silent > 90 days), one converted (customer z)
    "lead_id": ["L1", "L2", "L3", "L4", "L4"],
    "date": pd.to_datetime(["2025-11-01", "2025-12-01", "2025-02-01", "2025-03-01", "2025-03-20"]),
    "customer_id": [None, None, None, None, "z"], "owner": ["Ann", "Ann", "Bob", "Bob", "Bob"]})


def test_growth_results_runs_every_analysis_on_the_tables(tx, crm):
    objectives = goals({"metric": "revenue", "target": 300, "filter": {"owner": "Bob"}},
                       {"metric": "lead_conversion_rate", "target": 0.4})
    results = growth.growth_results(tx, AS_OF, customers=crm, leads=LEADS, period="year", objectives=objectives)
    assert results.period == "year" and results.as_of == pd.Timestamp(AS_OF)
    assert results.cohorts[growth.COHORT_COLUMNS].values.tolist()[0] == ["2023", 0, 3, 1.0, 230.0]
    assert results.bridge["period"].tolist() == ["2024", "2025", "12 months to 2025-12-31"]
    books = results.books.set_index("owner")
    assert books["revenue"].to_dict() == {"Bob": 130.0, "Ann": 120.0, "(no owner)": 95.0}
    assert books["open_leads"].to_dict() == {"Bob": 0, "Ann": 2, "(no owner)": 0}  # from the leads' owners
    # Bob's book: c 90 + d 40 = 130 of 300 at the deadline; leads of 2025 with an outcome: L3 closed, L4 converted
    measured = results.measured.set_index("metric")
    assert measured.loc["revenue", ["value", "status"]].tolist() == [130.0, "off track"]
    assert measured.loc["lead_conversion_rate", ["value", "status"]].tolist() == [0.5, "achieved"]
    assert results.proposals == [] and results.n_customers == 6  # a to f (f's first year nets to zero)
    assert results.compared is None and results.n_acquired_before == 0


def test_growth_results_without_owner_leads_or_objectives(tx, crm):
    results = growth.growth_results(tx, AS_OF, customers=crm.drop(columns="owner"))
    assert results.books is None and results.measured is None and results.period == "quarter"
    assert [p["metric"] for p in results.proposals] == ["revenue", "new_customers", "gross_revenue_retention"]
    assert growth.growth_results(tx, AS_OF, customers=crm.assign(owner=None)).books is None  # no owner given
    with pytest.raises(ConfigError, match=r"portfolio\.yml: objectives\[0\]\.metric: lead_conversion_rate is not "
                                          r"measurable: the leads table has no lead"):
        growth.growth_results(tx, AS_OF, objectives=goals({"metric": "lead_conversion_rate", "target": 0.2}),
                              leads=LEADS.iloc[:0], config_path="portfolio.yml")
    with pytest.raises(ValueError, match="freq must be one of"):
        growth.growth_results(tx, AS_OF, period="week")


def test_proposals_count_no_new_customer_when_the_data_starts_within_the_year_before(tx):
    """Online Retail starts 9 days before its last 12 months: 'Win new customers: 3166' was proposed, every customer
    first seen in the data counted as won, while the bridge said how revenue moved cannot be measured."""
    late = tx[tx["date"] >= "2024-06-01"]  # the 12 months before 2025 are only partly in the data
    proposals = growth.proposed_objectives(late, AS_OF)
    # 2025 orders: a, c, d, e (its cancelled line is no order), f = 5; active in 2025: a, c, d, e, f
    assert [(p["metric"], p["target"]) for p in proposals] == [
        ("revenue", 345.0), ("orders", 5), ("active_customers", 5)]
