"""RFM scores (tie rule), the segment map and its config, segment summary and playbook."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis import rfm
from portfolio_helpers.analysis.features import customer_features
from portfolio_helpers.cleaning.pipeline import open_portfolio
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.ingest.loaders import load_portfolio

DATA = Path(__file__).resolve().parents[2] / "data"


def _features(recency, frequency, monetary):
    n = len(frequency)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "recency_days": recency,
                         "frequency": frequency, "monetary": monetary})


# --------------------------------------------------------------------------- tie rule

def test_tie_rule_by_hand():
    # 1 (x6): mid-rank 3.5 of 10 -> 35% -> ceil(1.75) = 2; 2 -> 70% -> 4; 3 -> 80% -> 4; 5 -> 90% -> 5; 8 -> 5.
    f = _features(recency=[10, 10, 10, 10, 10, 10, 50, 50, 200, 400],
                  frequency=[1, 1, 1, 1, 1, 1, 2, 3, 5, 8],
                  monetary=[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0])
    s = rfm.rfm_scores(f)
    assert s["f_score"].tolist() == [2, 2, 2, 2, 2, 2, 4, 4, 5, 5]
    # recency (fewer days = higher): 10 (x6) ranks top: mid-rank 7.5 of 10 -> 75% -> 4; 50 (x2) mid-rank 3.5
    # -> 2; 200 -> 20% -> 1; 400 -> 10% -> 1.
    assert s["r_score"].tolist() == [4, 4, 4, 4, 4, 4, 2, 2, 1, 1]
    assert s["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert s["rfm_cell"].tolist()[:2] == ["421", "421"] and s["rfm_cell"].iloc[-1] == "155"
    assert list(s.columns) == ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                               "m_score", "rfm_cell"]
    assert rfm.unused_scores(s) == {"r_score": [3, 5], "f_score": [1, 3], "m_score": []}


def test_tie_rule_edge_cases():
    assert rfm.tie_aware_scores([3.0] * 10).tolist() == [3] * 10  # all tied: mid-rank 55% -> 3
    assert rfm.tie_aware_scores([4.0]).tolist() == [5]
    assert rfm.tie_aware_scores(list(range(10))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.tie_aware_scores([1, 2, 3], n=3).tolist() == [1, 2, 3]
    assert rfm.tie_aware_scores([]).tolist() == []
    with pytest.raises(ValueError, match="missing"):
        rfm.tie_aware_scores([1.0, np.nan])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=60))
def test_scores_monotone_and_ties_share(values):
    scores = rfm.tie_aware_scores(values)
    order = np.argsort(values, kind="stable")
    assert (np.diff(scores[order]) >= 0).all()  # a larger value never gets a lower score
    frame = pd.DataFrame({"value": values, "score": scores})
    assert (frame.groupby("value")["score"].nunique() == 1).all()  # ties share one score
    assert scores.min() >= 1 and scores.max() <= 5


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(1, 20), st.floats(-100, 1e4)), min_size=1,
                max_size=50))
def test_recency_is_reversed_and_every_customer_scored(rows):
    recency, frequency, monetary = (list(col) for col in zip(*rows, strict=True))
    s = rfm.rfm_scores(_features(recency, frequency, monetary))
    for col in ("r_score", "f_score", "m_score"):
        assert s[col].between(1, 5).all()
    order = np.argsort(recency, kind="stable")
    assert (np.diff(s["r_score"].to_numpy()[order]) <= 0).all()  # more days since last purchase: never higher R


# --------------------------------------------------------------------------- segment map

def test_default_map_covers_every_cell():
    rfm.check_coverage(rfm.DEFAULT_SEGMENT_MAP)
    assert set(rfm.DEFAULT_SEGMENT_MAP.names) == {
        "Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising", "Need Attention",
        "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost"}
    grid = rfm.DEFAULT_SEGMENT_MAP.grid()
    assert grid.loc[5, 5] == "Champions" and grid.loc[1, 1] == "Lost" and grid.loc[5, 1] == "New Customers"
    assert (grid != "").all().all()
    assert set(rfm.DEFAULT_PLAYBOOK) == set(rfm.DEFAULT_SEGMENT_MAP.names)


def test_custom_map_from_config():
    section = {"segments": {"Best": {"r": [4, 5], "f": [4, 5]}, "Rest": {"r": [1, 5], "f": [1, 3]},
                            "Fading": {"r": [1, 3], "f": [4, 5]}}}
    m = rfm.segment_map_from_config(section)
    assert m.names == ["Best", "Rest", "Fading"]
    scores = pd.DataFrame({"r_score": [5, 2, 3, 1], "f_score": [4, 5, 1, 3]})
    assert rfm.assign_segments(scores, m).tolist() == ["Best", "Fading", "Rest", "Rest"]
    assert rfm.segment_map_from_config(None) is rfm.DEFAULT_SEGMENT_MAP
    assert rfm.segment_map_from_config({}) is rfm.DEFAULT_SEGMENT_MAP


@pytest.mark.parametrize(("segments", "message"), [
    ({"A": {"r": [1, 5], "f": [1, 3]}, "B": {"r": [1, 5], "f": [3, 5]}}, r"\(1, 3\) is in several segments: A, B"),
    ({"A": {"r": [1, 5], "f": [1, 3]}, "B": {"r": [2, 5], "f": [4, 5]}}, r"no segment for \(r, f\) = \(1, 4\), \(1, 5\)"),
    ({"A": {"r": [1, 6], "f": [1, 5]}}, r"rfm.segments.A.r must be scores from 1 to 5"),
    ({"A": {"r": [3, 2], "f": [1, 5]}}, r"low <= high"),
    ({"A": {"r": "all", "f": [1, 5]}}, r"\[low, high\] pair"),
    ({"A": {"r": [1, 5], "f": [1, 5], "m": [1, 5]}}, r"rfm.segments.A: unknown key 'm'"),
    ({"A": {"r": [1, 5]}}, r"missing f"),
])
def test_bad_maps_are_config_errors(segments, message):
    with pytest.raises(ConfigError, match=message):
        rfm.segment_map_from_config({"segments": segments})


def test_check_coverage_rejects_overlap_and_gap():
    with pytest.raises(ConfigError, match="several segments"):
        rfm.check_coverage(rfm.SegmentMap({**rfm.DEFAULT_SEGMENTS, "Extra": ((5, 5), (5, 5))}))
    gappy = dict(rfm.DEFAULT_SEGMENTS)
    del gappy["Lost"]
    with pytest.raises(ConfigError, match=r"no segment for \(r, f\) = \(1, 1\), \(1, 2\), \(1, 3\)"):
        rfm.check_coverage(rfm.SegmentMap(gappy))
    with pytest.raises(ConfigError, match="unknown key 'segmnts'"):
        rfm.segment_map_from_config({"segmnts": {}})


def test_unreachable_segments_report():
    scores = pd.DataFrame({"r_score": [1, 2, 3, 4, 5], "f_score": [2, 2, 5, 5, 5]})  # F 4 unused
    assert rfm.unreachable_segments(scores) == ["Potential Loyalists", "Need Attention", "At Risk"]


# --------------------------------------------------------------------------- summary and playbook

def test_segment_summary():
    f = _features(recency=[1, 2, 400, 500], frequency=[9, 8, 1, 1], monetary=[600.0, 200.0, 150.0, 50.0])
    scored = rfm.rfm_scores(f)
    scored["segment"] = rfm.assign_segments(scored)
    summary = rfm.segment_summary(scored, f, rfm.DEFAULT_SEGMENT_MAP).set_index("segment")
    assert list(summary.columns) == ["customers", "customer_share", "revenue", "revenue_share",
                                     "median_recency_days", "median_frequency", "median_monetary"]
    assert len(summary) == 11 and summary["customers"].sum() == 4
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    # r = [5, 4, 3, 2], f = [5, 4, 2, 2] .
    assert scored["segment"].tolist() == ["Champions", "Potential Loyalists", "About to Sleep", "Hibernating"]
    assert summary.loc["Champions", ["customers", "revenue", "revenue_share"]].tolist() == [1, 600.0, 0.6]
    assert summary.loc["Lost", "customers"] == 0 and summary.loc["Lost", "revenue"] == 0
    present = rfm.segment_summary(scored, f)
    assert present["customers"].min() >= 1 and present["revenue"].is_monotonic_decreasing


def test_playbook_merges_config_over_defaults():
    book = rfm.playbook({"Champions": {"offer": "free shipping"}}).set_index("segment")
    assert list(book.columns) == list(rfm.PLAYBOOK_FIELDS)
    assert book.loc["Champions", "offer"] == "free shipping"
    assert book.loc["Champions", "channel"] == rfm.DEFAULT_PLAYBOOK["Champions"]["channel"]
    assert book.loc["Lost", "action"] == "win back once, then stop"
    assert len(book) == 11 and not book.isna().any().any()
    with pytest.raises(ConfigError, match="did you mean 'Champions'"):
        rfm.playbook({"Champion": {"offer": "x"}})
    with pytest.raises(ConfigError, match="playbook.Lost: unknown key 'discount'"):
        rfm.playbook({"Lost": {"discount": "10%"}})
    custom = rfm.SegmentMap({"Best": ((4, 5), (1, 5)), "Rest": ((1, 3), (1, 5))})
    book = rfm.playbook({"Best": {"action": "call"}}, custom).set_index("segment")
    assert book.loc["Best", "action"] == "call" and book.loc["Rest", "action"] == ""


# --------------------------------------------------------------------------- real data

def _segment_counts(features):
    scored = rfm.rfm_scores(features)
    scored["segment"] = rfm.assign_segments(scored)
    counts = scored["segment"].value_counts().reindex(rfm.DEFAULT_SEGMENT_MAP.names, fill_value=0)
    return scored, counts


def test_every_default_segment_used_on_cdnow():
    portfolio = load_portfolio(DATA / "cdnow" / "portfolio.yml")
    tables = portfolio.tables
    features = customer_features(tables["transactions"], portfolio.as_of, customers=tables.get("customers"),
                                 payments=tables.get("payments"), tickets=tables.get("tickets"))
    scored, counts = _segment_counts(features)
    assert len(scored) == 23_570
    assert rfm.unused_scores(scored)["f_score"] == [1]  # frequency 1 (half the customers) scores 2
    assert rfm.unreachable_segments(scored) == []
    assert (counts >= 1).all(), counts.to_dict()
    assert counts.to_dict() == {
        "Champions": 3463, "Loyal Customers": 1866, "Potential Loyalists": 1847, "New Customers": 568,
        "Promising": 1799, "Need Attention": 281, "About to Sleep": 4299, "At Risk": 89, "Can't Lose Them": 37,
        "Hibernating": 4620, "Lost": 4701}


def test_every_default_segment_used_on_sample(tmp_path):
    tables, info = open_portfolio(DATA / "sample" / "portfolio.yml", tmp_path)
    features = customer_features(tables["transactions"], info["as_of"], customers=tables.get("customers"),
                                 payments=tables.get("payments"), tickets=tables.get("tickets"))
    scored, counts = _segment_counts(features)
    assert rfm.unreachable_segments(scored) == []
    assert (counts >= 1).all(), counts.to_dict()
    summary = rfm.segment_summary(scored, features, rfm.DEFAULT_SEGMENT_MAP)
    assert summary["revenue"].sum() == pytest.approx(features["monetary"].sum())
