"""The engine's definitions give the same figures on an engine table (a Parquet file the engine
scans) as on a pandas frame, to the cent, on the sample and on real files."""

from __future__ import annotations

import sys
from pathlib import Path

import ibis
import pandas as pd
import pytest

from portfolio_helpers.analysis import engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_frames import AS_OF, loaded_portfolio, same  # noqa: E402


@pytest.fixture(scope="module", params=list(AS_OF))
def portfolio(request):
    tables = loaded_portfolio(request.param).tables
    return request.param, tables["transactions"], tables.get("customers")


def test_customer_summary(portfolio, lines_as):
    name, tx, _ = portfolio
    revenue = engine.revenue_lines(tx)
    same(engine.customer_summary(revenue, as_of=AS_OF[name]),
         engine.customer_summary(engine.revenue_lines(lines_as(tx)), as_of=AS_OF[name]))


def test_orders_and_deliveries(portfolio, lines_as):
    _, tx, _ = portfolio
    scanned = lines_as(tx)
    for function in (engine.orders, engine.deliveries):
        expected, got = function(tx), function(scanned)
        # same-day orders without order id tie on the line position, which an engine table does not have
        keys = ["customer_id", "date", "order_id", "amount", "n_lines"]
        same(expected.sort_values(keys, na_position="last").reset_index(drop=True),
             got.sort_values(keys, na_position="last").reset_index(drop=True))
    assert engine.order_count(tx) == engine.order_count(scanned)


def test_overview_lines_and_periods(portfolio, lines_as):
    _, tx, customers = portfolio
    scanned = lines_as(tx)
    expected, got = engine.transactions_overview(tx), engine.transactions_overview(scanned)
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        if isinstance(value, pd.Timestamp):
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, abs=0.005), key
    same(engine.customer_lines(tx), engine.customer_lines(scanned))
    for freq in ("month", "year"):
        same(engine.revenue_by_period(tx, freq), engine.revenue_by_period(scanned, freq))
        same(engine.customer_values(tx, freq), engine.customer_values(scanned, freq))
    if customers is not None and "country" in customers.columns:
        same(engine.revenue_by_attribute(tx, customers, "country"),
             engine.revenue_by_attribute(scanned, customers, "country"))


def test_line_selections_stay_in_the_engine(lines_as):
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "amount": [10.0, 4.0, -3.0, 7.0],
                       "status": ["completed", "cancelled", "returned", None]})
    scanned = lines_as(tx)
    for select, total in ((engine.revenue_lines, 14.0), (engine.cancelled_lines, 4.0), (engine.return_lines, 1.0)):
        lines = select(scanned)
        assert isinstance(lines, pd.DataFrame) == isinstance(scanned, pd.DataFrame)
        frame = lines if isinstance(lines, pd.DataFrame) else engine.execute(lines)
        assert frame["amount"].sum() == total
    assert engine.n_rows(scanned) == 4


def test_an_engine_table_is_never_loaded(tmp_path):
    """The figures of a scanned file come from one aggregation in the engine: the result holds one row
    per customer, whatever the number of lines (the engine table is not turned into pandas)."""
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE lines AS SELECT 'c' || (i % 50)::VARCHAR AS customer_id, "
                "TIMESTAMP '2025-01-01' + INTERVAL (i % 300) DAY AS date, (i % 7)::DOUBLE AS amount, "
                "'o' || (i // 3)::VARCHAR AS order_id FROM range(200000) t(i)")
    summary = engine.customer_summary(con.table("lines"), as_of="2025-12-31")
    assert len(summary) == 50
    assert summary["n_lines"].sum() == 200000
    assert summary["revenue"].sum() == sum(i % 7 for i in range(200000))


def test_summary_with_extra_figures_in_one_query(lines_as):
    """customer_summary with where= and aggregates=: the summary of the counted lines and more figures of
    every line, in one query, as computed by hand; equal to the summary of the revenue lines."""
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c"], "order_id": ["o1", "o1", "o2", "o3", "o4"],
                       "date": pd.to_datetime(["2025-01-05 00:00", "2025-01-05 10:00", "2025-03-01 00:00", "2025-02-01 00:00",
                                               "2025-02-02 00:00"]),
                       "amount": [10.1, 20.2, -5.0, 7.0, 9.0],
                       "status": ["completed", "completed", "returned", "completed", "cancelled"]})
    t = engine.table(lines_as(tx), list(tx.columns))
    revenue = engine._revenue_status(t.status)
    got = engine.customer_summary(t, as_of="2025-12-31", where=revenue,
                                  aggregates={"n_all_lines": t.count(),
                                              "cancelled": engine.money_sum(t.amount, ~revenue)})
    # c has only a cancelled line: no customer of the summary
    assert got["customer_id"].tolist() == ["a", "b"]
    assert got["revenue"].tolist() == [25.3, 7.0]  # 10.1 + 20.2 - 5.0, to the cent
    assert got["gross_sales"].tolist() == [30.3, 7.0]
    assert got["credit_notes"].tolist() == [-5.0, 0.0]
    assert got["n_orders"].tolist() == [2, 1] and got["n_deliveries"].tolist() == [1, 1]
    assert got["n_lines"].tolist() == [3, 1] and got["n_all_lines"].tolist() == [3, 1]
    assert got["n_purchase_days"].tolist() == [2, 1]
    assert got["recency_days"].tolist() == [305, 333] and got["tenure_days"].tolist() == [360, 333]
    assert got["cancelled"].tolist() == [0.0, 0.0]
    summary = engine.customer_summary(engine.revenue_lines(lines_as(tx)), as_of="2025-12-31")
    same(summary, got[list(summary.columns)])
    with pytest.raises(ValueError, match="revenue"):
        engine.customer_summary_expr(t, aggregates={"revenue": t.count()})
    with pytest.raises(TypeError):
        engine.customer_summary(tx, where=engine._revenue_status(t.status))
