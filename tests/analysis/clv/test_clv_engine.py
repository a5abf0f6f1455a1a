"""The CLV summaries and the future-value analysis on an engine table (a Parquet file the engine scans) give
the same figures as on a pandas frame: the RFM summary exactly (CDNOW is the CLV benchmark), sums to the cent."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis.clv import portfolio, summary, value
from portfolio_helpers.ingest.loaders import load_portfolio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from engine_frames import AS_OF, DATA, same  # noqa: E402

CALIBRATION_END = {"sample": "2025-06-30", "cdnow": "1997-09-30", "online_retail": "2011-06-30"}


@pytest.fixture(scope="module", params=["sample", "cdnow", "online_retail"])
def lines(request):
    loaded = load_portfolio(DATA / request.param / "portfolio.yml", today=pd.Timestamp("2026-12-01"))
    return request.param, loaded.tables["transactions"]


def test_rfm_summary_is_exact(lines, lines_as):
    name, tx = lines
    scanned = lines_as(tx)
    for unit in ("week", "day"):
        expected, got = summary.rfm_summary(tx, AS_OF[name], unit), summary.rfm_summary(scanned, AS_OF[name], unit)
        assert len(expected) > 100
        exact = ["customer_id", "frequency", "recency", "T", "first_purchase"]
        pd.testing.assert_frame_equal(expected[exact], got[exact], check_dtype=False)
        # the repeat value is a sum of amounts: the engines add them in their own order (below a millionth)
        np.testing.assert_allclose(expected["monetary_value"], got["monetary_value"], rtol=1e-12, atol=1e-9)


def test_holdout_tracking_and_regularity(lines, lines_as):
    name, tx = lines
    scanned = lines_as(tx)
    end, as_of = CALIBRATION_END[name], AS_OF[name]
    expected = summary.calibration_holdout(tx, end, as_of)
    assert expected["holdout_frequency"].sum() > 0
    same(expected, summary.calibration_holdout(scanned, end, as_of))
    by_period = summary.repeat_purchases_by_period(tx, end, as_of)
    assert by_period["repeat_purchases"].sum() > 0
    same(by_period, summary.repeat_purchases_by_period(scanned, end, as_of))
    regular = summary.purchase_regularity(tx, as_of)
    assert len(regular)
    same(regular, summary.purchase_regularity(scanned, as_of))
    same(portfolio.revenue_last_year(tx, as_of), portfolio.revenue_last_year(scanned, as_of))


def test_future_value(lines_as):
    tx = load_portfolio(DATA / "sample" / "portfolio.yml", today=pd.Timestamp("2026-12-01")).tables["transactions"]
    settings = value.ClvSettings(calibration_end=pd.Timestamp(CALIBRATION_END["sample"]))
    expected = portfolio.future_value(tx, settings, AS_OF["sample"], n_draws=10)
    got = portfolio.future_value(lines_as(tx), settings, AS_OF["sample"], n_draws=10)
    assert expected.fitness == got.fitness
    assert expected.choice == got.choice
    assert expected.value is not None
    for part in ("summary", "calibration", "tracking"):
        same(getattr(expected, part), getattr(got, part))
    # The fitted models' figures: two runs on the same frame already differ by about a millionth (the engine
    # sums the repeat values in its own order, the optimiser stops a hair apart), so relative agreement.
    for part in ("value", "intervals"):
        left, right = getattr(expected, part), getattr(got, part)
        assert list(left.columns) == list(right.columns) and len(left) == len(right)
        for col in left.columns:
            if pd.api.types.is_float_dtype(left[col]):
                np.testing.assert_allclose(left[col].to_numpy(float), right[col].to_numpy(float), rtol=1e-4,
                                           atol=0.005, equal_nan=True, err_msg=f"{part}.{col}")
            else:
                pd.testing.assert_series_equal(left[col], right[col], check_dtype=False, obj=f"{part}.{col}")
