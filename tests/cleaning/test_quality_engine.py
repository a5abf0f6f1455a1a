"""Quality checks of typed lines (an engine table): counted by the engine, the counts of the same lines in pandas.

Every line-level rule of the scorecard (completeness of each contract column, amounts, dates, quantities,
discounts, costs, exact duplicate lines, unknown customers, payments of unknown orders or of another
customer, freshness) gives the same ``checked`` and ``failed`` on an engine table as on a frame, except the
search for sign errors, which only the frame path does (said in the rule). The failing lines are listed,
at most ENGINE_ISSUE_SAMPLE per check.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.cleaning import quality
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.reporting.cleaning import quality_scope_note

AS_OF = pd.Timestamp("2025-12-31")
START = pd.Timestamp("2024-01-01")


def _lines() -> pd.DataFrame:
    s = lambda values: pd.array(values, dtype="string")  # noqa: E731
    return pd.DataFrame({
        "customer_id": s(["A", "A", "B", "B", "C", "Z", "Z", None, "A", "A"]),
        "order_id": s(["o1", "o1", "o2", "o3", None, "o4", "o4", "o5", "o6", "o6"]),
        "date": pd.to_datetime(["2025-01-05", "2025-01-05", "2025-03-01", "2026-02-01", "2023-12-31", "2025-05-05",
                                "2025-05-05", "2025-06-06", "2025-12-31 18:00", "2025-07-07"], format="ISO8601"),
        "amount": [10.0, 10.0, 0.0, 5.0, np.inf, 7.0, 7.0, 3.0, np.nan, 4.0],
        "quantity": [1.0, 1.0, 0.0, 2.0, 1.0, np.nan, np.nan, 1.0, 1.0, 1.0],
        "discount": [0.0, 0.0, -1.0, 0.0, np.nan, 0.0, 0.0, 0.0, 0.0, 0.5],
        "cost": [4.0, 4.0, 1.0, -2.0, 1.0, 3.0, 3.0, np.nan, 1.0, 2.0],
        "status": s(["completed", "completed", "completed", None, "completed", "completed", "completed",
                     "completed", "completed", "returned"]),
        "source_line": np.arange(2, 12),
    })


def _tables(engine: bool, lines_as=ibis.memtable) -> dict:
    lines = _lines()
    customers = pd.DataFrame({"customer_id": pd.array(["A", "B", "C"], dtype="string")})
    payments = pd.DataFrame({"customer_id": pd.array(["A", "B", "A"], dtype="string"),
                             "order_id": pd.array(["o1", "o9", "o2"], dtype="string"),
                             "due_date": pd.to_datetime(["2025-02-01"] * 3), "amount": [20.0, 5.0, 1.0]})
    if engine:
        lines = lines.drop(columns="source_line").assign(
            customer_known=lines["customer_id"].isin(customers["customer_id"]).fillna(False).astype(bool),
            file_row_number=np.arange(10, dtype="int64"))
        lines = lines_as(lines)
    return {"transactions": lines, "customers": customers, "payments": payments}


@pytest.fixture
def both(lines_as):
    """The report of the lines in pandas, and of the same lines in the form under test (on every engine)."""
    on_frame = quality.quality_report(_tables(False), AS_OF, period_start=START)
    on_engine = quality.quality_report(_tables(True, lines_as), AS_OF, period_start=START)
    return on_frame, on_engine


def test_the_engine_counts_what_pandas_counts(both):
    (frame_card, _), (engine_card, _) = both

    def rows(card):
        card = card.copy()
        amount = (card["table"] == "transactions") & (card["column"] == "amount") & (card["dimension"] == "validity")
        card.loc[amount, "check"] = "amount rule"  # (worded apart: typed lines are not searched for sign errors)
        card["detail"] = card["detail"].str.replace("exact duplicate of line N", "exact duplicate of an earlier line")
        return sorted(card.itertuples(index=False, name=None))

    assert rows(engine_card) == rows(frame_card)


def test_by_hand(both, lines_as):
    if not is_engine_table(lines_as(pd.DataFrame({"a": [1]}))):
        pytest.skip("the wording and the sample of typed lines (the frame's are in test_quality.py)")
    _, (card, issues) = both
    card = card.set_index(["table", "column", "dimension"])
    row = card.loc[("transactions", "amount", "validity")]
    assert (row["checked"], row["failed"]) == (9, 2)  # the NaN amount is missing, not checked; 0 and inf fail
    assert row["check"] == "finite, non-zero (sign errors are looked for in text exports only)"
    assert row["detail"] == "zero amount: 1; not a finite number: 1"
    assert card.loc[("transactions", "amount", "completeness"), "failed"] == 1
    assert card.loc[("transactions", "date", "validity"), "failed"] == 2  # after as_of; before the period
    assert card.loc[("transactions", "*", "uniqueness"), "failed"] == 2  # lines 3 (of 2) and 8 (of 7)
    assert card.loc[("transactions", "customer_id", "consistency"), ["checked", "failed"]].tolist() == [9, 2]
    assert card.loc[("payments", "order_id", "consistency"), "failed"] == 1  # o9: no such order
    owner = card.loc[("payments", "customer_id", "consistency")].set_index("check")["failed"]
    assert owner["same customer as the order"] == 1  # o2 is B's, paid by A
    assert card.loc[("transactions", "date", "freshness"), "detail"] == "latest date 2025-12-31, 0 days before as_of"
    lines = issues[issues["table"] == "transactions"]
    assert set(lines["problem"]) >= {"zero amount", "not a finite number", "negative discount", "zero quantity",
                                    "cost and amount of opposite signs", "customer id not in the customers table"}
    assert lines.loc[lines["problem"] == "zero amount", ["record_key", "value"]].values.tolist() == [["o2 line 3", "0.0"]]
    assert lines.loc[lines["problem"] == "not a finite number", "record_key"].tolist() == ["line 5"]  # no order id


def test_at_most_a_sample_of_failing_lines_is_listed(monkeypatch):
    monkeypatch.setattr(quality, "ENGINE_ISSUE_SAMPLE", 1)
    _, issues = quality.quality_report(_tables(True), AS_OF, period_start=START)
    per_problem = issues[issues["table"] == "transactions"].groupby("problem").size()
    assert per_problem["customer id not in the customers table"] == 1  # two such lines, one listed
    card = quality.quality_scorecard(_tables(True), AS_OF, period_start=START).set_index(["table", "column", "dimension"])
    assert card.loc[("transactions", "customer_id", "consistency"), "failed"] == 2  # the score counts both


def test_a_parquet_scan_is_checked_where_it_is(tmp_path):
    lines = _tables(True)["transactions"].to_pandas()
    lines.to_parquet(tmp_path / "lines.parquet")
    table = ibis.duckdb.connect().read_parquet(tmp_path / "lines.parquet")
    card, issues = quality.quality_report({"transactions": table, "customers": _tables(False)["customers"]}, AS_OF,
                                          period_start=START)
    _, expected_issues = quality.quality_report(_tables(True), AS_OF, period_start=START)
    lines_card = card[card["table"] == "transactions"]
    assert lines_card.loc[lines_card["dimension"] == "uniqueness", "failed"].item() == 2
    listed = issues[issues["table"] == "transactions"]
    pd.testing.assert_frame_equal(listed.sort_values(list(listed.columns)).reset_index(drop=True),
                                  expected_issues[expected_issues["table"] == "transactions"]
                                  .sort_values(list(listed.columns)).reset_index(drop=True))


def test_the_report_says_what_typed_lines_leave_out():
    note = quality_scope_note(_tables(True))
    assert "sign errors are not looked for" in note and f"{quality.ENGINE_ISSUE_SAMPLE:,}" in note
    assert quality_scope_note(_tables(False)) == ""


@pytest.mark.parametrize("n_lines", [0, 3])
def test_minimal_typed_lines(n_lines):
    """Only the required columns (no order id, no row numbers), or no line at all: every count is there."""
    frame = pd.DataFrame({"customer_id": pd.array(["a", "b", "b"][:n_lines], dtype="string"),
                          "date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-02-01"][:n_lines]),
                          "amount": [1.0, 0.0, 0.0][:n_lines]})
    card, issues = quality.quality_report({"transactions": ibis.memtable(frame)}, AS_OF)
    if not n_lines:
        assert card.empty and issues.empty
        return
    assert card.loc[card["dimension"] == "uniqueness", "failed"].item() == 1
    assert issues["record_key"].tolist() == ["customer b on 2025-02-01"] * 2  # named by customer and day


def test_engine_quality_follows_the_pandas_rules_on_merged_and_shared_orders():
    """An order id shared by two customers belongs to its first line's customer; lines merged into one
    customer are not duplicates of each other (the ids as exported are compared); without a customers
    table there is no consistency check; a negative line is never a sign error on typed lines."""
    s = lambda values: pd.array(values, dtype="string")  # noqa: E731
    lines = pd.DataFrame({"customer_id": s(["A", "A", "B"]), "original_customer_id": s(["B", "A", "B"]),
                          "order_id": s(["o1", "o1", "o2"]), "date": pd.to_datetime(["2025-01-05"] * 2 + ["2025-02-01"]),
                          "amount": [10.0, 10.0, -4.0], "file_row_number": np.array([0, 1, 2], dtype="int64"),
                          "customer_known": [True, True, False]})
    payments = pd.DataFrame({"customer_id": s(["B", "A"]), "order_id": s(["o1", "o1"]),
                             "due_date": pd.to_datetime(["2025-02-01"] * 2), "amount": [10.0, 10.0]})
    card, _ = quality.quality_report({"transactions": ibis.memtable(lines), "payments": payments}, AS_OF)
    card = card.set_index(["table", "column", "dimension", "check"])["failed"]
    assert card[("transactions", "*", "uniqueness", "no exact duplicate line (all contract columns)")] == 0
    assert card[("payments", "customer_id", "consistency", "same customer as the order")] == 1  # o1 is A's: line 1
    assert ("transactions", "customer_id", "consistency", "customer_id found in customers") not in card.index
    assert card[("transactions", "amount", "validity",
                 "finite, non-zero (sign errors are looked for in text exports only)")] == 0
    customers = pd.DataFrame({"customer_id": s(["A"])})
    with_customers, _ = quality.quality_report({"transactions": ibis.memtable(lines), "customers": customers}, AS_OF)
    row = with_customers.set_index(["table", "column", "dimension"]).loc[("transactions", "customer_id", "consistency")]
    assert (row["checked"], row["failed"]) == (3, 1)  # B unknown (the lines' own flag is recomputed)


# --------------------------------------------------------------------------- distinct lines, by hash groups

_DISTINCT_CASE = pd.DataFrame({
    "customer_id": pd.array(["A", "A", "A", None, None, "B", "B", "B"], dtype="string"),
    "amount": [1.0, 1.0, -0.0, np.nan, np.nan, 0.0, 2.0, 2.0],
    "order_id": pd.array(["o1", "o1", "o1", None, None, "o2", "o3", "o4"], dtype="string"),
})


def test_distinct_lines_by_hash_groups(lines_as):
    """Equal lines (missing values, NaN and -0.0 = 0.0 included) count once; lines differing in one column
    count apart: A/1/o1 twice, A/-0.0/o1, the two missing lines, B/0.0/o2, B/2/o3, B/2/o4: 6 distinct."""
    if not is_engine_table(lines_as(_DISTINCT_CASE.head(1))):
        pytest.skip("counted by an engine only (a frame is checked row by row)")
    t = lines_as(_DISTINCT_CASE)
    assert quality._distinct_lines(t, ["customer_id", "amount", "order_id"], {"amount"}) == 6
    assert quality._distinct_lines(t, ["customer_id"], set()) == 3  # A, B and the missing id


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.sampled_from([0.0, -0.0, 1.5, np.nan, None]),
                               st.integers(0, 2)), max_size=30))
def test_distinct_lines_is_select_distinct(rows):
    """On any lines: the hash-grouped count is DuckDB's SELECT DISTINCT count."""
    frame = pd.DataFrame(rows, columns=["customer_id", "amount", "n"]).astype(
        {"customer_id": "string", "amount": "float64", "n": "int64"})
    t = ibis.memtable(frame)
    expected = int(t.mutate(amount=t.amount + 0.0).distinct().count().to_pandas())
    assert quality._distinct_lines(t, ["customer_id", "amount", "n"], {"amount"}) == expected
