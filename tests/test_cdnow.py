"""The real CDNOW log, loaded through the ordinary config path, must match its published figures."""

from pathlib import Path

import pandas as pd
import pytest

from portfolio_helpers.analysis.engine import customer_summary
from portfolio_helpers.ingest.loaders import load_portfolio

CDNOW = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "portfolio.yml"


@pytest.fixture(scope="module")
def cdnow():
    return load_portfolio(CDNOW)


def test_cdnow_published_totals(cdnow):
    tx = cdnow.transactions
    # Figures from the data set's documentation (Fader & Hardie's CDNOW_master).
    assert len(tx) == 69_659
    assert tx["customer_id"].nunique() == 23_570
    assert tx["amount"].sum() == pytest.approx(2_500_315.63, abs=0.005)
    assert tx["date"].min() == pd.Timestamp("1997-01-01")
    assert tx["date"].max() == pd.Timestamp("1998-06-30")
    assert (tx["amount"] == 0).sum() == 80
    assert cdnow.n_rejected_rows == 0
    assert cdnow.detected["transactions"]["sep"] == "spaces"


def test_cdnow_ids_keep_leading_zeros(cdnow):
    assert cdnow.transactions["customer_id"].iloc[0] == "00001"


def test_cdnow_published_sample_figures(cdnow):
    """Fader, Hardie & Lee (2005): on the 1/10 sample, same-day purchases merged, 39-week calibration
    ending 1997-09-30, 946 customers repeat; the 39-week holdout has 1,882 repeat transactions."""
    sample_ids = pd.read_csv(CDNOW.parent / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype=str)[0].unique()
    tx = cdnow.transactions[cdnow.transactions["customer_id"].isin(sample_ids)]
    assert tx["customer_id"].nunique() == 2_357
    cutoff = pd.Timestamp("1997-09-30")
    calibration = customer_summary(tx[tx["date"] <= cutoff], order_col=None)
    assert (calibration["n_purchase_days"] > 1).sum() == 946
    holdout = tx[tx["date"] > cutoff]
    assert len(holdout[["customer_id", "date"]].drop_duplicates()) == 1_882
