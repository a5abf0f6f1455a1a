"""Notebook 01's figures on typed lines (a Parquet file scanned by DuckDB): by hand, and the same as for
the same lines given as a CSV file. The typed loader lists only a sample of its problems: the counts must
still be the counts in all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from portfolio_helpers.cleaning.pipeline import clean_portfolio
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting import cleaning
from tests.conftest import ENGINES

TODAY = pd.Timestamp("2025-12-31")

# Line 1-9 of the file. Cleared (unknown status): lines 2, 4, 5. Rejected: 6 (no amount), 7 (no date),
# 8 (after as_of). Kept: 1-5 and 9; revenue 100 + 50 - 30 + 200 + 10 = 330 (line 9 is cancelled: 40).
LINES = {
    "customer_id": ["A", "A", "A", "B", "Z", "B", "B", "B", "D"],
    "date": ["2024-01-05", "2024-01-05", "2024-02-10", "2024-03-01", "2024-03-02", "2024-03-03", None,
             "2025-06-01", "2024-03-04"],
    "amount": [100.0, 50.0, -30.0, 200.0, 10.0, None, 5.0, 20.0, 40.0],
    "order_id": ["o1", "o1", "o2", None, "o9", "o3", "o3", "o4", "o5"],
    "status": ["completed", "??", "returned", "nope", "zzz", "completed", "completed", "completed", "cancelled"],
    "channel": [None] * 9,
}


def write_lines(folder: Path, typed: bool, **extra) -> dict:
    columns = {**LINES, **extra}
    if typed:
        table = pa.table({name: (pa.array(pd.to_datetime(values).as_unit("us")) if name == "date"
                                 else pa.array(values, pa.string() if name == "channel" else None))
                          for name, values in columns.items()})
        pq.write_table(table, folder / "tx.parquet")
        return {"path": "tx.parquet"}
    pd.DataFrame(columns).to_csv(folder / "tx.csv", index=False)
    return {"path": "tx.csv"}


def portfolio_config(folder: Path, typed: bool, customers: bool = True, backend: str | None = None,
                     **extra) -> Path:
    """The tiny portfolio; ``typed``: its lines in Parquet, validated by ``backend`` (the config's engine)."""
    folder.mkdir(exist_ok=True)
    tables = {"transactions": write_lines(folder, typed, **extra)}
    if customers:
        (folder / "customers.csv").write_text("customer_id,country\nA,FR\nB,DE\n", encoding="utf-8")
        tables["customers"] = {"path": "customers.csv"}
    config = {"name": "Tiny", "currency": "EUR", "as_of": "2024-12-31", "tables": tables}
    if backend is not None:
        config["engine"] = {"backend": backend} | ({"master": "local[2]"} if backend == "pyspark" else {})
    path = folder / "p.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(params=ENGINES)
def backend(request) -> str:
    """The engine validating the typed lines (``PORTFOLIO_TEST_ENGINES``; ``make test-spark`` runs PySpark: the tests
    using it are marked ``engine``)."""
    return request.param


@pytest.fixture
def typed(tmp_path, backend):
    portfolio = load_portfolio(portfolio_config(tmp_path / "typed", True, backend=backend), today=TODAY,
                               rejected_sample=1)
    assert is_engine_table(portfolio.transactions if hasattr(portfolio, "transactions")
                           else portfolio.tables["transactions"])
    return portfolio


@pytest.fixture
def text(tmp_path):
    return load_portfolio(portfolio_config(tmp_path / "text", False), today=TODAY)


@pytest.mark.engine
def test_overview_by_hand_and_as_for_text(typed, text):
    overview = cleaning.load_overview(typed)
    assert overview["n_transactions"] == 6 and overview["n_customer_ids"] == 4
    assert overview["n_orders"] == 4  # A: o1, o2; B: its line without order id; Z: o9 (D's line is cancelled)
    assert overview["revenue_total"] == 330.0 and overview["credit_notes_total"] == -30.0
    assert overview["cancelled_total"] == 40.0 and overview["n_cancelled_lines"] == 1
    assert overview["n_rejected_rows"] == 3  # no amount, no date, after as_of: counted, though only 1 is listed
    assert overview["n_cleared_values"] == 3  # the three unknown statuses, though at most one is listed
    assert len(typed.rejected) == 2  # the sample of one problem and the count row
    assert overview["n_unknown_customer_lines"] == 1 and overview["unknown_customer_revenue"] == 10.0
    assert overview == cleaning.load_overview(text)


@pytest.mark.engine
def test_tables_overview_counts_in_all(typed, text, backend):
    tables = cleaning.tables_overview(typed).set_index("table")
    assert tables.loc["transactions", "rows in file"] == 9
    assert tables.loc["transactions", "rows after cleaning"] == 6
    assert tables.loc["transactions", "rows set aside"] == 3
    assert tables.loc["transactions", "read as"] == f"typed Parquet, validated by the engine ({backend})"
    assert tables.loc["transactions", "file"] == "tx.parquet"
    same = ["rows in file", "rows after cleaning", "rows set aside", "columns used"]
    pd.testing.assert_frame_equal(tables[same], cleaning.tables_overview(text).set_index("table")[same])
    findings = " ".join(cleaning.loading_findings(cleaning.load_overview(typed), tables.reset_index(),
                                                  cleaning.coverage(typed), "Tiny", "EUR"))
    assert "6 transaction lines from 4 customers in 4 orders" in findings
    assert "3 rows could not be used and were set aside (transactions: 3 of 9 rows, 33.33%)" in findings
    assert "3 optional values could not be read and were left empty" in findings


@pytest.mark.engine
def test_rejected_summary_states_the_count_in_all(typed):
    summary = cleaning.rejected_summary(typed.rejected)
    first = summary.iloc[0]
    assert (first["table"], first["column"], first["rows"], first["lines"]) == ("transactions", "(all)", 3, "")
    assert "3 row(s) of 9 rejected in all" in first["problem"] and "the first 1 are listed" in first["problem"]
    assert summary["rows"].tolist() == [3, 1]


@pytest.mark.engine
def test_empty_column_and_attributes_from_typed_lines(tmp_path, backend):
    country = ["FR", "FR", "DE", None, "BE", "DE", None, "NL", "DE"]
    typed = load_portfolio(portfolio_config(tmp_path / "typed", True, customers=False, backend=backend,
                                            country=country), today=TODAY)
    text = load_portfolio(portfolio_config(tmp_path / "text", False, customers=False, country=country), today=TODAY)
    assert cleaning.empty_columns_note(typed) == (
        "- Column `channel` of the transactions table is empty: treated as absent.")
    note = cleaning.line_attributes_note(typed)
    # A: FR twice, DE once; B: no value on its kept lines; Z: BE; D: DE. The customers of the lines kept: 4.
    assert "`country` (column `country`): 3 customers from their lines" in note
    assert "one was made from the 4 customer ids of the lines" in note
    assert note == cleaning.line_attributes_note(text)


@pytest.mark.engine
def test_cleaned_typed_portfolio_says_what_it_skips(tmp_path, backend):
    cleaned = clean_portfolio(portfolio_config(tmp_path / "typed", True, backend=backend), today=TODAY)
    overview = cleaning.load_overview(cleaned)
    score = 97.5
    metrics = cleaning.headline_metrics(cleaned, overview, score)
    assert {k: metrics[k] for k in ("n_transactions", "n_orders", "revenue_total", "n_rejected_rows")} == {
        "n_transactions": 6, "n_orders": 4, "revenue_total": 330.0, "n_rejected_rows": 3}
    assert metrics["n_customers"] == 2 and metrics["quality_score"] == score
    sentences = cleaning.standardization_findings(cleaned.changes, cleaned.tables)
    assert sentences[-1] == cleaning.typed_lines_note(cleaned.tables)
    assert "were not standardised" in sentences[-1]
    scope = cleaning.quality_scope_note(cleaned.tables)
    assert scope.startswith("The transaction lines are typed (read by the engine): their quality checks were "
                            "counted by the engine") and "sign errors are not looked for" in scope
    assert cleaning.missing_input_notes(cleaned.tables)[-1] == scope
    assert set(cleaned.scorecard["table"]) == {"customers", "transactions"}  # the lines checked in the engine
    lines = cleaned.scorecard[cleaned.scorecard["table"] == "transactions"]
    completeness = lines[lines["dimension"] == "completeness"]
    assert {"customer_id", "date", "amount"} <= set(completeness["column"])
    assert completeness["checked"].eq(6).all()  # the 6 lines kept
    assert {"validity", "uniqueness", "consistency", "freshness"} <= set(lines["dimension"])


def test_text_lines_get_no_typed_note(tmp_path):
    cleaned = clean_portfolio(portfolio_config(tmp_path / "text", False), today=TODAY)
    assert cleaning.typed_lines_note(cleaned.tables) == cleaning.quality_scope_note(cleaned.tables) == ""
    assert not any("typed" in s for s in cleaning.standardization_findings(cleaned.changes, cleaned.tables))
    assert not any("typed" in s for s in cleaning.missing_input_notes(cleaned.tables))
