"""Published CDNOW figures (1/10 sample, same-day purchases merged, 39-week calibration to 1997-09-30, weeks)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis.clv import evaluation, models, summary

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "cdnow" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def transactions():
    tx = pd.read_csv(SAMPLE, sep=r"\s+", header=None, dtype={0: str, 2: str},
                     names=["customer_id", "sample_id", "date", "quantity", "amount"])
    tx["customer_id"] = tx["customer_id"].astype("string")
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


@pytest.fixture(scope="module")
def calibration(transactions):
    return summary.calibration_holdout(transactions, "1997-09-30", "1998-06-30", "week")


@pytest.fixture(scope="module")
def bgnbd(calibration):
    return models.fit_purchase_model(calibration, "bgnbd")


def test_counts(calibration):
    assert len(calibration) == 2_357
    assert (calibration["frequency"] > 0).sum() == 946
    assert calibration["holdout_frequency"].sum() == 1_882
    assert calibration["duration_holdout"].iloc[0] == pytest.approx(273 / 7)  # weeks 40-78
    first = calibration.set_index("customer_id").loc["00004"]
    assert (round(first["recency"], 2), round(first["T"], 2), first["frequency"]) == (30.43, 38.86, 2)


def test_bgnbd_published(bgnbd):
    # Fader, Hardie & Lee (2005), "Counting your customers the easy way".
    assert {k: round(v, 3) for k, v in bgnbd.params.items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793,
                                                                  "b": 2.426}
    assert round(bgnbd.loglik, 2) == -9582.43
    assert bgnbd.status == "converged" and bgnbd.n == 2_357
    assert all(0 < se < value for se, value in zip(bgnbd.se.values(), bgnbd.params.values(), strict=True))


def test_pareto_nbd_published(calibration):
    fit = models.fit_purchase_model(calibration, "pnbd")
    # (published to 3 decimals; the likelihood is flat in s and beta, where the search stops a few 1e-4 from
    # the optimum depending on the machine's floating-point kernels: beta 11.6683 to 11.6687 measured)
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    assert fit.params == pytest.approx(published, abs=1e-3)
    assert round(fit.loglik, 2) == -9594.98
    assert fit.status == "converged"


def test_modified_bgnbd_matches_btydplus(calibration):
    # MBG/NBD has no figure in the issue; BTYDplus's fit on the same summary (as lifetimes' tests quote it):
    # r = 0.525, alpha = 6.183, a = 0.891, b = 1.614.
    fit = models.fit_purchase_model(calibration, "mbgnbd")
    assert {k: round(v, 3) for k, v in fit.params.items()} == {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    assert fit.status == "converged"


def test_gamma_gamma_published(calibration):
    fit = models.fit_spend_model(calibration)
    assert fit.n == 946
    assert {k: round(v, 2) for k, v in fit.params.items()} == {"p": 6.25, "q": 3.74, "v": 15.44}


def test_expected_purchases_published(bgnbd):
    # E[X(t)] at t = 1, 3, 32, 78 weeks (0.0532, 0.1506, 1.0437, 1.8576) at the maximum-likelihood parameters.
    values = models.expected_purchases("bgnbd", bgnbd.values(), [1, 3, 32, 78])
    assert np.round(values, 3).tolist() == [0.053, 0.151, 1.044, 1.858]
    # to the 4 published decimals for t = 1, 3, 32; at 78 weeks 1.8580 against 1.8576
    assert np.round(values[:3], 4).tolist() == [0.0532, 0.1506, 1.0437]
    assert values[3] == pytest.approx(1.8576, abs=5e-4)
    # The published conditional expectation E[X(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226.
    published = (0.243, 4.414, 0.793, 2.426)
    assert round(float(models.conditional_expected_purchases("bgnbd", published, 39, 2, 30.43, 38.86)), 3) == 1.226
    assert round(float(models.conditional_expected_purchases("bgnbd", bgnbd.values(), 39, 2, 30.43, 38.86)), 3) == 1.226


def test_holdout_evaluation(calibration, bgnbd):
    table = evaluation.holdout_table(calibration, {"bgnbd": bgnbd}).set_index("model")
    assert (table["actual_total"] == 1_882).all()
    # The per-customer forecasts add up to 1,653 repeat purchases against 1,882 (12% under).
    assert round(table.loc["bgnbd", "predicted_total"]) == 1_653
    assert table.loc["bgnbd", "mae"] < table.loc["average_rate", "mae"]
    assert table.loc["bgnbd", "top_decile_capture"] > 0.45 > table.loc["average_rate", "top_decile_capture"]
    cond = evaluation.conditional_expectation(calibration, {"bgnbd": bgnbd})
    assert cond["frequency"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert cond["n_customers"].sum() == 2_357
    assert cond.loc[0, "n_customers"] == 2_357 - 946


def test_tracking(transactions, calibration, bgnbd):
    actual = summary.repeat_purchases_by_period(transactions, "1997-09-30", "1998-06-30", "week")
    track = evaluation.tracking(actual, calibration, {"bgnbd": bgnbd}, "week")
    assert len(track) == 78  # weeks from 1997-01-01 to 1998-06-30
    assert track["actual"].iloc[39:].sum() == 1_882 and track["actual_cumulative"].iloc[-1] == 4_339
    # The model's cumulative repeat purchases of the cohort: 4,166 by week 78 (actual 4,339).
    assert round(track["bgnbd_cumulative"].iloc[-1]) == 4_166
    assert track["bgnbd"].sum() == pytest.approx(track["bgnbd_cumulative"].iloc[-1])
