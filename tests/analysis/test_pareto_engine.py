"""Notebooks 01, 02 and 04's transaction-level functions give the same figures on an engine table (a
Parquet file the engine scans) as on a pandas frame, to the cent, on the sample and on real files:
Pareto per customer and per line attribute, concentration per period, ABC migration, the previous
RFM segments, days late, revenue per month and per customer attribute."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis import engine, features, pareto, profitability, rfm
from portfolio_helpers.core.presence import has_values, table_with_values
from portfolio_helpers.reporting import cleaning
from portfolio_helpers.reporting import pareto as report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_frames import AS_OF, DATA, loaded_portfolio, same  # noqa: E402


@pytest.fixture(scope="module", params=list(AS_OF))
def loaded(request):
    return request.param, loaded_portfolio(request.param)


@pytest.fixture
def portfolio(loaded):
    name, loaded_portfolio = loaded
    return name, loaded_portfolio.tables


def takes_engine_tables(function, frame: pd.DataFrame, lines_as, *args) -> bool:
    """Whether another module's function already accepts an engine table (probed on a tiny one)."""
    scanned = lines_as(frame)
    if isinstance(scanned, pd.DataFrame):
        return True
    try:
        function(scanned, *args)
    except (AttributeError, TypeError, NotImplementedError):
        return False
    return True


TINY = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2024-01-05", "2025-03-01"]),
                     "amount": [10.0, 20.0], "cost": [4.0, None]})


# --------------------------------------------------------------------------- notebook 02


def test_customer_revenue_and_dimensions(portfolio, lines_as):
    _, tables = portfolio
    tx = tables["transactions"].drop(columns="cost", errors="ignore")  # the margins are profitability's
    customers = tables.get("customers")
    scanned = lines_as(tx)
    expected = pareto.customer_revenue(tx, customers=customers)
    got = pareto.customer_revenue(scanned, customers=customers)
    same(expected, got)
    dimensions, dimensions_scanned = pareto.dimension_frames(tx, expected), pareto.dimension_frames(scanned, got)
    assert dimensions.keys() == dimensions_scanned.keys()
    for name, frame in dimensions.items():
        same(frame, dimensions_scanned[name])
    if "category" in tx.columns:
        assert {"category", "channel"} <= dimensions.keys()


def test_customer_revenue_with_margins(portfolio, lines_as):
    name, tables = portfolio
    if not takes_engine_tables(profitability.customer_margins, TINY, lines_as):
        pytest.skip("profitability.customer_margins does not take an engine table yet (analysis/profitability.py)")
    tx, customers = tables["transactions"], tables.get("customers")
    costs = DATA / name / "portfolio.yml"
    same(pareto.customer_revenue(tx, customers=customers, costs=costs),
         pareto.customer_revenue(lines_as(tx), customers=customers, costs=costs))


def test_measures_by_period(portfolio, lines_as):
    _, tables = portfolio
    revenue = engine.revenue_lines(tables["transactions"])
    scanned = engine.revenue_lines(lines_as(tables["transactions"]))
    assert report.trend_frequency(scanned) == report.trend_frequency(revenue)
    for freq in ("year", "quarter"):
        same(pareto.measures_by_period(revenue, freq=freq), pareto.measures_by_period(scanned, freq=freq))


def test_abc_migration(portfolio, lines_as):
    name, tables = portfolio
    revenue = engine.revenue_lines(tables["transactions"])
    scanned = engine.revenue_lines(lines_as(tables["transactions"]))
    assert pareto.last_two_years(scanned) == pareto.last_two_years(revenue)
    periods = pareto.last_two_years(revenue, AS_OF[name])
    counts, values = pareto.abc_migration(revenue, *periods)
    counts_scanned, values_scanned = pareto.abc_migration(scanned, *periods)
    pd.testing.assert_frame_equal(counts, counts_scanned)
    pd.testing.assert_frame_equal(values, values_scanned, atol=0.005, rtol=1e-9)
    assert counts.to_numpy().sum() > 0


def test_line_dimension_by_hand(lines_as):
    """a buys 60 tools and 20 paint; b 30 + 10 tools and -40 paint (counted 0 there); c's only line is cancelled."""
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "b", "c"],
                       "date": pd.to_datetime(["2025-01-01"] * 6),
                       "amount": [60.0, 20.0, 30.0, -40.0, 10.0, 5.0],
                       "category": ["tools", "paint", "tools", "paint", "tools", None],
                       "status": ["completed"] * 5 + ["cancelled"]})
    per_customer = pd.DataFrame({"customer_id": ["a", "b"], "revenue": [80.0, 0.0]})
    frames = pareto.dimension_frames(lines_as(tx), per_customer)
    assert list(frames) == ["category"]  # c's line is cancelled: no missing category among revenue lines
    category = frames["category"]
    assert category["category"].tolist() == ["tools", "paint"]
    assert category["n_customers"].tolist() == [2, 2]
    assert category["value"].tolist() == [100.0, 20.0]
    assert category["value_share"].tolist() == pytest.approx([100 / 120, 20 / 120])
    assert category["customer_share"].tolist() == [1.0, 1.0]


def test_line_labels_and_missing_amounts(lines_as):
    """Blank and missing values are "(unknown)"; " web" and "web" are one label; a pair with no amount is refused."""
    tx = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "date": pd.to_datetime(["2025-01-01"] * 4),
                       "amount": [10.0, 5.0, 7.0, 3.0], "channel": ["web", " web", None, "  "]})
    channel = pareto.dimension_frames(lines_as(tx), pd.DataFrame({"customer_id": ["a"], "revenue": [1.0]}))["channel"]
    assert channel["channel"].tolist() == ["web", "(unknown)"]
    assert channel["n_customers"].tolist() == [2, 2]
    assert channel["value"].tolist() == [15.0, 10.0]
    assert channel["customer_share"].tolist() == [0.5, 0.5]
    tx.loc[2, "amount"] = np.nan
    with pytest.raises(ValueError, match="1 customer and channel pair have no amount"):
        pareto.dimension_frames(lines_as(tx), pd.DataFrame({"customer_id": ["a"], "revenue": [1.0]}))


def test_presence_on_engine_tables(lines_as):
    frame = pd.DataFrame({"customer_id": ["a", "b"], "cost": [None, None], "channel": [None, "web"]})
    scanned = lines_as(frame.astype({"cost": "float64", "channel": "string"}))
    assert (has_values(scanned, "cost"), has_values(scanned, "channel"), has_values(scanned, "x")) == (False, True,
                                                                                                       False)
    assert table_with_values({"t": scanned}, "t") is scanned
    empty = lines_as(frame.head(0).astype({"cost": "float64", "channel": "string"}))
    assert table_with_values({"t": empty}, "t") is None
    assert report.margin_comparison_intro(None, {"transactions": scanned}).startswith(
        "No cost column in the transactions table: the gross-margin Pareto skipped")


# --------------------------------------------------------------------------- notebook 04 and days late


def test_days_late_by_hand(lines_as):
    """a: paid 10 days late (the time of day does not count) and 2 days early: 4 days; b unpaid; c no due date."""
    payments = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", None],
        "due_date": pd.to_datetime(["2025-01-10", "2025-02-10", "2025-01-10", None, "2025-01-01"]),
        "paid_date": pd.to_datetime(["2025-01-20 17:00", "2025-02-08 09:00", None, "2025-01-03", "2025-01-05"],
                                    format="ISO8601"),
    })
    scanned = lines_as(payments)
    assert engine.days_late(scanned).to_dict("records") == [{"customer_id": "a", "days_late": 4.0,
                                                             "n_paid_invoices": 2}]
    late = engine.customer_days_late(scanned, ["b", "a", "z"])
    assert np.isnan(late[0]) and late[1] == 4.0 and np.isnan(late[2])


def test_days_late_on_the_sample(portfolio, lines_as):
    name, tables = portfolio
    payments = tables.get("payments")
    if payments is None:
        pytest.skip(f"{name} has no payments table")
    expected, got = engine.days_late(payments), engine.days_late(lines_as(payments))
    same(expected, got)
    assert len(expected) > 100
    ids = expected["customer_id"].iloc[::7]
    np.testing.assert_allclose(engine.customer_days_late(payments, ids),
                               engine.customer_days_late(lines_as(payments), ids), atol=1e-9)


def test_previous_segments_and_migration(portfolio, lines_as):
    name, tables = portfolio
    if not takes_engine_tables(features.customer_features, TINY, lines_as, "2025-12-31"):
        pytest.skip("features.customer_features does not take an engine table yet (analysis/features.py)")
    tx = tables["transactions"]
    scanned = lines_as(tx)
    before, earlier = rfm.previous_segments(tx, AS_OF[name])
    before_scanned, earlier_scanned = rfm.previous_segments(scanned, AS_OF[name])
    assert earlier == earlier_scanned
    pd.testing.assert_series_equal(before.sort_index(), before_scanned.sort_index(), check_index_type=False)
    now = features.customer_features(tx, AS_OF[name])
    scores = rfm.score_rfm(now)
    counts, revenue, _ = rfm.migration_since(tx, AS_OF[name], scores, now)
    counts_scanned, revenue_scanned, _ = rfm.migration_since(scanned, AS_OF[name], scores, now)
    pd.testing.assert_frame_equal(counts, counts_scanned)
    pd.testing.assert_frame_equal(revenue, revenue_scanned, atol=0.005, rtol=1e-9)


def test_no_earlier_lines(lines_as):
    """Nothing bought 12 months before the as-of date: no earlier segments, in either form (the engine counts)."""
    tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2025-06-01"]), "amount": [10.0]})
    before, earlier = rfm.previous_segments(lines_as(tx), "2025-12-31")
    assert before.empty and earlier == pd.Timestamp("2024-12-31")
    assert rfm.migration_since(lines_as(tx), "2025-12-31", pd.DataFrame(), pd.DataFrame()) == (
        None, None, pd.Timestamp("2024-12-31"))
    # the lines re-scored are those dated up to as_of - 12 months (a midnight), selected where they are
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [1.0, 2.0, 3.0],
                       "date": pd.to_datetime(["2024-12-30 10:00", "2024-12-31 00:00", "2025-01-01 00:00"])})
    assert engine.n_rows(rfm._lines_until(lines_as(tx), pd.Timestamp("2024-12-31"))) == 2


# --------------------------------------------------------------------------- notebook 01's analysis cells


def test_monthly_revenue_and_attribute_breakdowns(portfolio, lines_as):
    _, tables = portfolio
    tx, customers = tables["transactions"], tables.get("customers")
    scanned = lines_as(tx)
    monthly = engine.revenue_by_period(tx, freq="month")
    same(monthly, engine.revenue_by_period(scanned, freq="month"))
    assert cleaning.monthly_sentence(monthly, "EUR") == cleaning.monthly_sentence(
        engine.revenue_by_period(scanned, freq="month"), "EUR")
    breakdowns, scanned_breakdowns = (cleaning.attribute_breakdowns(tx, customers),
                                      cleaning.attribute_breakdowns(scanned, customers))
    assert breakdowns.keys() == scanned_breakdowns.keys()
    for attribute, frame in breakdowns.items():
        same(frame, scanned_breakdowns[attribute])
    assert cleaning.attribute_findings(breakdowns) == cleaning.attribute_findings(scanned_breakdowns)


def test_coverage_of_the_optional_tables(loaded, lines_as):
    """Notebook 01's coverage table: rows and buying customers covered, counted by the engine."""
    _, portfolio = loaded
    scanned = dataclasses.replace(portfolio, tables={**portfolio.tables,
                                                     "transactions": lines_as(portfolio.transactions)})
    expected = cleaning.coverage(portfolio)
    same(expected, cleaning.coverage(scanned))
    assert expected["rows"].tolist() == [len(portfolio.tables[name]) if name in portfolio.tables else 0
                                         for name in expected["table"]]


def test_line_attributes_of_a_big_engine_table():
    """200,000 lines made by the engine: the per-category Pareto comes back as one row per category.

    Line i: customer c(i % 50), category k(i % 4), amount i % 7. A category k holds the 25 customers
    whose number has the parity of k (i % 4 and i % 50 share i's parity)."""
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE lines AS SELECT 'c' || (i % 50)::VARCHAR AS customer_id, "
                "TIMESTAMP '2025-01-01' + INTERVAL (i % 300) DAY AS date, (i % 7)::DOUBLE AS amount, "
                "'k' || (i % 4)::VARCHAR AS category FROM range(200000) t(i)")
    per_customer = pd.DataFrame({"customer_id": [f"c{c}" for c in range(50)], "revenue": 1.0})
    category = pareto.dimension_frames(con.table("lines"), per_customer)["category"].set_index("category")
    totals = {f"k{k}": float(sum(i % 7 for i in range(k, 200000, 4))) for k in range(4)}
    assert category["value"].to_dict() == totals
    assert category["n_customers"].tolist() == [25] * 4 and category["customer_share"].tolist() == [0.5] * 4
    assert category["value_share"].sum() == pytest.approx(1.0)
