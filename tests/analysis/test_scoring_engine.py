"""Scoring on engine tables (Parquet files the engine scans) gives the same results as on pandas frames:
the tables as known at a cut-off, the order events, the conversion dates of the leads and the
next-purchase label, on the sample and on real files."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_frames import AS_OF, DATA, same  # noqa: E402

from portfolio_helpers.analysis import engine, scoring
from portfolio_helpers.ingest.loaders import load_portfolio

CUTOFF = {"sample": "2025-06-30", "cdnow": "1997-12-31", "online_retail": "2011-06-30"}


@pytest.fixture(scope="module", params=["sample", "cdnow", "online_retail"])
def portfolio(request):
    loaded = load_portfolio(DATA / request.param / "portfolio.yml", today=pd.Timestamp("2026-12-01"))
    return request.param, loaded.tables


def _rows(table) -> pd.DataFrame:
    """A small table's rows in a fixed order (an engine table has none)."""
    frame = engine.execute(table) if engine.is_engine_table(table) else table
    frame = frame.drop(columns="source_line", errors="ignore").reset_index(drop=True)
    return frame.sort_values(list(frame.columns), na_position="last").reset_index(drop=True)


def test_tables_until(portfolio, lines_as):
    name, tables = portfolio
    given = {key: tables[key] for key in ("transactions", "payments", "tickets", "customers") if key in tables}
    expected = scoring.tables_until(CUTOFF[name], **given)
    got = scoring.tables_until(CUTOFF[name], **{key: lines_as(table) for key, table in given.items()})
    assert expected.keys() == got.keys()
    assert len(expected["transactions"]) < len(tables["transactions"])
    for key in expected:
        left, right = _rows(expected[key]), _rows(got[key])
        same(left, right.astype(left.dtypes.to_dict()))
    if "payments" in expected:  # paid after the cut-off: unpaid at the cut-off
        kept = expected["payments"]
        assert (tables["payments"].loc[kept.index, "paid_date"].notna() & kept["paid_date"].isna()).sum() > 100


def test_order_events(portfolio, lines_as):
    name, tables = portfolio
    tx = tables["transactions"]
    scanned = lines_as(tx)
    for as_of in (None, CUTOFF[name]):
        expected = scoring.order_events(tx, as_of)
        assert len(expected) > 1000
        same(expected, scoring.order_events(scanned, as_of))


def test_lead_conversion_dates(lines_as):
    tables = load_portfolio(DATA / "sample" / "portfolio.yml", today=pd.Timestamp("2026-12-01")).tables
    args = (tables["leads"], AS_OF["sample"], tables["customers"])
    expected, expected_events = scoring.lead_profiles(*args, tables["transactions"])
    got, events = scoring.lead_profiles(*args, lines_as(tables["transactions"]))
    assert expected["converted"].sum() > 10
    pd.testing.assert_frame_equal(expected, got)
    pd.testing.assert_frame_equal(expected_events, events)


def test_purchase_label(portfolio, lines_as):
    name, tables = portfolio
    tx = tables["transactions"]
    expected = scoring.purchase_frame(tx, CUTOFF[name], horizon_days=90)
    assert 0 < expected["purchased"].sum() < len(expected)
    same(expected, scoring.purchase_frame(lines_as(tx), CUTOFF[name], horizon_days=90))


def test_too_short_history(lines_as):
    tx = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2025-03-01", "2025-04-01"]),
                       "amount": [10.0, 20.0]})
    with pytest.raises(ValueError, match="the data starts 2025-03-01"):
        scoring.fit_purchase_models(lines_as(tx), "2025-12-31", horizon_days=120)


def test_cutoff_splits_features_and_label(lines_as):
    # the lines known at the cut-off, and the buyers of the horizon after it (a credit note is no purchase)
    tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "order_id": ["1", "2", "3", "4"],
                       "date": pd.to_datetime(["2025-01-10", "2025-04-02", "2025-02-01", "2025-05-01"]),
                       "amount": [100.0, 50.0, 80.0, -5.0], "status": ["completed"] * 4})
    known = scoring.tables_until("2025-03-31", transactions=lines_as(tx))["transactions"]
    assert engine.n_rows(known) == 2
    assert scoring._buyers(lines_as(tx), pd.Timestamp("2025-04-01"), pd.Timestamp("2025-07-01")) == {"a"}
