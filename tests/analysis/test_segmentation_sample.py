"""Segmentation of large portfolios: above ``fit_sample`` customers the clusters are fitted on a seeded sample
and every customer is assigned to its nearest segment; at or below it nothing changes. Small thresholds are
passed as parameters so that the tests stay fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis.segmentation import (
    FIT_SAMPLE,
    fit_segments,
    lifecycle_stages,
    segment_customers,
    stability,
)
from portfolio_helpers.reporting.segmentation import sample_sentence


@pytest.fixture(scope="module")
def blobs() -> pd.DataFrame:
    """300 customers in three well-separated groups of 100 (frequency 2 / 8 / 20, spend 100 / 800 / 5,000)."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in range(300)],
        "frequency": np.r_[rng.normal(2, .3, 100), rng.normal(20, 2, 100), rng.normal(8, 1, 100)],
        "monetary": np.r_[rng.normal(100, 10, 100), rng.normal(5000, 300, 100), rng.normal(800, 50, 100)],
    })


def test_default_threshold_is_well_above_the_sample_portfolio():
    assert FIT_SAMPLE == 20_000


@pytest.mark.parametrize("fit_sample", [300, 1_000])
def test_at_or_below_the_threshold_nothing_changes(blobs, fit_sample):
    every = fit_segments(blobs, k_range=range(2, 6), fit_sample=None)
    same = fit_segments(blobs, k_range=range(2, 6), fit_sample=fit_sample)
    assert same.fit_rows is None and same.n_fit == 300
    assert same.labels.tolist() == every.labels.tolist()
    pd.testing.assert_frame_equal(same.k_scores, every.k_scores)
    assert same.silhouette == every.silhouette and same.k_choice == every.k_choice
    assert sample_sentence(same) is None


def test_above_the_threshold_fit_on_a_seeded_sample_and_assign_everyone(blobs):
    result = fit_segments(blobs, k_range=range(2, 6), fit_sample=150, seed=3)
    rows = result.fit_rows
    assert len(rows) == 150 == result.n_fit and len(np.unique(rows)) == 150 and (np.diff(rows) > 0).all()
    # the same seed draws the same customers, another seed others
    assert fit_segments(blobs, k=3, fit_sample=150, seed=3).fit_rows.tolist() == rows.tolist()
    assert fit_segments(blobs, k=3, fit_sample=150, seed=4).fit_rows.tolist() != rows.tolist()
    # every customer has a segment: the three groups of 100, found from 150 of them
    assert result.k == 3 and len(result.labels) == 300
    assert result.labels.value_counts().tolist() == [100, 100, 100]
    groups = np.repeat([0, 1, 2], 100)
    assert pd.crosstab(result.labels.to_numpy(), groups).gt(0).sum(axis=1).tolist() == [1, 1, 1]
    # each customer is in the segment of its nearest centre (the model fitted on the sample)
    X = result.matrix.to_numpy()
    nearest = ((X[:, None, :] - result.model.cluster_centers_[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert pd.crosstab(nearest, result.labels.to_numpy()).gt(0).sum(axis=1).tolist() == [1, 1, 1]
    # k was scored on the sample: the smallest share of each k is a count out of 150
    assert np.allclose((result.k_scores["smallest_share"] * 150) % 1, 0)


def test_sampled_stability_resamples_the_fit_sample(blobs):
    out = segment_customers(blobs, fit_sample=150, n_boot=3, seed=5)
    result = out.result
    assert result.fit_rows is not None and out.clusters["cluster"].notna().all()
    again = stability(result.matrix.to_numpy()[result.fit_rows], result.k, n_boot=3, seed=5)
    assert out.stability == again
    everyone = segment_customers(blobs, n_boot=3, seed=5, fit_sample=None)
    assert everyone.result.fit_rows is None
    assert everyone.stability == stability(everyone.result.matrix, everyone.result.k, n_boot=3, seed=5)


def test_sampled_segments_are_said_in_plain_words(blobs):
    result = fit_segments(blobs, k=3, fit_sample=150, seed=9)
    assert sample_sentence(result) == (
        "With 300 customers, the number of segments was chosen and the segments fitted on a random sample of 150 "
        "customers (seed 9); every customer was then assigned to the nearest segment. The stability check "
        "resamples that sample; the silhouette is measured on 150 of its customers.")


def test_lifecycle_stages_keep_the_crm_order_and_first_record():
    """The vectorised stages: duplicates and missing CRM ids, unknown stages, buyers missing from the CRM."""
    customers = pd.DataFrame({"customer_id": ["b", None, "a", "b", "x", "y"],
                              "stage": ["customer", "lead", " Qualified ", "lead", None, "unknown"]})
    features = pd.DataFrame({"customer_id": ["z", "a", "b"], "recency_days": [30, 400, 10],
                             "tenure_days": [500, 800, 20]})
    out = lifecycle_stages(customers, features)
    assert out["contact_id"].tolist() == ["b", "a", "x", "y", "z"]
    assert out["lifecycle_stage"].astype(str).tolist() == [
        "customer — new", "customer — lapsed", "lead", "lead", "customer — active"]
