"""Segments a marketing team can use: flat features dropped, k among 3..8, no segment under 2%,
segments that differ on at least two features; checked on hand-made frames, CDNOW and Online Retail."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis import features as customer_features_module
from portfolio_helpers.analysis import profitability
from portfolio_helpers.analysis.segmentation import (
    ACTIONABLE_K,
    DIFFERENCE_SMD,
    MIN_FEATURES_APART,
    MIN_SEGMENT_SHARE,
    _suggest_k,
    fit_segments,
    flat_features,
    merge_small_segments,
    segment_customers,
    segment_separation,
)
from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting import segmentation as report

ROOT = Path(__file__).resolve().parents[2]
CDNOW = ROOT / "data" / "cdnow" / "portfolio.yml"
ONLINE_RETAIL = ROOT / "data" / "online_retail" / "online_retail_extract.csv"


def blobs(centres, sizes, seed=0, spread=0.3) -> pd.DataFrame:
    """Customers around ``centres`` (x, y), ``sizes`` of each; ids c0000, c0001, ..."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(centre, spread, size=(size, 2)) for centre, size in zip(centres, sizes, strict=True)]
    xy = np.vstack(parts)
    return pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(len(xy))], "x": xy[:, 0], "y": xy[:, 1]})


# --------------------------------------------------------------------------------------------------
# Flat features
# --------------------------------------------------------------------------------------------------

def test_flat_features_by_hand():
    f = pd.DataFrame({
        "margin": [0.4] * 10 + [0.39999999999999997] * 10,  # constant up to float noise
        "returns": [0.0] * 19 + [1.0],                       # 95%: near-constant (the rule is >= 95%)
        "days_late": [0.0] * 18 + [3.0, 5.0],                # 90%: kept
        "kind": ["B2C"] * 19 + [None],                       # 95% one category: near-constant
        "spend": np.arange(20.0),
    })
    out = flat_features(f)
    assert out["feature"].tolist() == ["margin", "returns", "kind"]
    assert out["reason"].tolist() == ["constant", "near-constant", "near-constant"]
    assert out["share"].tolist() == [1.0, 0.95, 0.95]
    assert out["value"].tolist() == ["0.4", "0", "B2C"]
    # missing numbers count as the median they are replaced by
    g = pd.DataFrame({"z": [1.0] * 10 + [np.nan] * 9 + [7.0]})
    assert flat_features(g)["share"].tolist() == [0.95]


def test_constant_column_is_dropped_before_clustering():
    f = blobs([(0, 0), (5, 0), (0, 5)], [40, 40, 40])
    f["profit_margin"] = 0.4
    result = fit_segments(f, numeric=["x", "y", "profit_margin"], categorical=[])
    assert result.dropped["feature"].tolist() == ["profit_margin"]
    assert result.dropped["reason"].tolist() == ["constant"]
    assert result.numeric == ["x", "y"] and "profit_margin" not in result.matrix.columns
    assert result.k == 3


def test_near_constant_column_is_dropped_and_named_in_the_report():
    f = blobs([(0, 0), (5, 0), (0, 5)], [40, 40, 40])
    f["return_rate"] = [0.0] * 115 + [1.0] * 5  # 95.8% the same
    result = fit_segments(f, numeric=["x", "y", "return_rate"], categorical=[])
    assert result.dropped.to_dict("list") == {"feature": ["return_rate"], "value": ["0"],
                                              "share": [round(115 / 120, 6)], "reason": ["near-constant"]}
    assert "return_rate" not in result.numeric
    assert report.dropped_sentence(result.dropped) == (
        "Left out of the clustering because (almost) every customer has the same value: "
        "return rate (0 for 95.8% of the customers).")


def test_every_feature_flat_is_an_error_for_fit_and_a_reason_for_segment_customers():
    f = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)], "frequency": [1] * 30,
                      "monetary": [10.0] * 29 + [11.0]})
    with pytest.raises(ValueError, match="constant or near-constant"):
        fit_segments(f)
    out = segment_customers(f)
    assert not out.ran and out.skipped == "no_varying_feature"
    assert out.clusters["cluster"].isna().all() and len(out.clusters) == 30
    assert report.skipped_sentence(out).startswith("Clustering needs at least one feature on which customers differ")


def test_constant_profit_margin_is_never_a_top_feature():
    f = blobs([(0, 0), (5, 0), (0, 5)], [40, 40, 40])
    f = f.assign(recency_days=np.abs(f["x"]) * 30, monetary=np.exp(f["y"]), frequency=1 + np.abs(f["x"]).round(),
                 profit_margin=[0.4, 0.39999999999999997] * 60, profit=1.0)
    out = segment_customers(f, n_boot=2)
    assert out.ran and "profit_margin" not in out.result.numeric
    assert "index_profit_margin" not in out.profiles.columns  # flat columns are not profiled either
    assert not out.profiles["top_features"].str.contains("profit margin").any()


# --------------------------------------------------------------------------------------------------
# Choosing k
# --------------------------------------------------------------------------------------------------

def test_k_is_within_3_and_8_and_the_two_way_split_is_a_finding():
    f = blobs([(0, 0), (10, 10)], [100, 100], spread=0.5)  # two clear groups only
    result = fit_segments(f, categorical=[])
    assert ACTIONABLE_K[0] <= result.k <= ACTIONABLE_K[1]
    scores = result.k_scores.set_index("k")
    assert scores.loc[2, "silhouette"] - scores.loc[result.k, "silhouette"] >= 0.05
    assert result.two_way["k"] == result.k
    assert result.two_way["silhouette_2"] == pytest.approx(scores.loc[2, "silhouette"])
    sentence = report.two_way_sentence(result)
    assert sentence.startswith("The sharpest divide is in two groups") and f"proposes {result.k} segments" in sentence


def test_k_stays_at_most_8_with_many_groups():
    centres = [(10 * i, 10 * j) for i in range(4) for j in range(3)]  # 12 groups
    result = fit_segments(blobs(centres, [30] * 12), categorical=[], k_range=range(2, 13))
    assert result.k <= ACTIONABLE_K[1] and result.k_scores["k"].max() == 12


def _suggest_in_words(scores: pd.DataFrame) -> tuple:
    """:func:`_suggest_k` with its choice worded by the report (``k_reason``)."""
    k, choice, elbow, two_way = _suggest_k(scores)
    return k, report.k_reason(SimpleNamespace(k_choice=choice)), elbow, two_way


def test_suggestion_rule_by_hand():
    # k = 4 has the best silhouette but a 1% segment; k = 6 is usable but its segments are not all apart;
    # k = 5 is the best usable one. k = 2 is 0.2 above it: the two-way split is reported.
    scores = pd.DataFrame({
        "k": [2, 3, 4, 5, 6],
        "inertia": [100.0, 60.0, 40.0, 30.0, 25.0],
        "silhouette": [0.70, 0.40, 0.60, 0.50, 0.55],
        "calinski_harabasz": [10.0, 9.0, 8.0, 7.0, 6.0],
        "davies_bouldin": [1.0] * 5,
        "smallest_share": [0.4, 0.3, 0.01, 0.05, 0.04],
        "min_features_apart": [3, 2, 2, 2, 1],
    })
    k, reason, elbow, two_way = _suggest_in_words(scores)
    assert k == 5
    assert reason.startswith("k = 5 has the best silhouette (0.50) among the numbers of segments from 3 to 8")
    assert two_way == {"silhouette_2": 0.70, "silhouette_k": 0.50, "k": 5, "smallest_share_2": 0.4}
    # ties within 0.01: the highest Calinski-Harabasz wins
    tied = scores.assign(silhouette=[0.7, 0.495, 0.6, 0.50, 0.55], min_features_apart=[3, 2, 2, 2, 2])
    assert _suggest_k(tied)[0] == 6  # 6 (0.55) is usable now and best
    tied = tied.assign(silhouette=[0.7, 0.545, 0.6, 0.50, 0.55])
    k, reason, _, _ = _suggest_in_words(tied)
    assert k == 3 and "tie is broken by the highest Calinski-Harabasz" in reason
    # no k whose segments are all apart: the size rule alone applies, and it is said
    apart = scores.assign(min_features_apart=[3, 1, 1, 1, 1])
    k, reason, _, _ = _suggest_in_words(apart)
    assert k == 6 and "only the 2% minimum size applies" in reason


def test_segment_separation_by_hand():
    m = pd.DataFrame({"x": [0.0, 0.0, 2.0, 2.0, 0.0, 0.0], "y": [0.0, 0.0, 0.0, 0.0, 3.0, 3.0],
                      "kind=a": [1.0, 1.0, 1.0, 1.0, 0.0, 0.0], "kind=b": [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]})
    labels = pd.Series([0, 0, 1, 1, 2, 2])
    out = segment_separation(m, labels, categorical=["kind"]).set_index(["segment_a", "segment_b"])
    # sd(x) = 0.943 (means 0 and 2: smd 2.12); sd(y) = 1.414 (smd 2.12); kind: sd 0.471, smd 2.12
    assert out.loc[(0, 1), "features"] == "x"
    assert out.loc[(0, 2), "features"] == "y, kind"
    assert out.loc[(1, 2), "features"] == "x, y, kind"
    assert out["features_apart"].tolist() == [1, 2, 3]


# --------------------------------------------------------------------------------------------------
# Segments too small
# --------------------------------------------------------------------------------------------------

def test_tiny_segment_is_merged_into_the_nearest():
    f = blobs([(0, 0), (6, 0), (0, 6)], [40, 40, 39])
    far = pd.DataFrame({"customer_id": ["outlier"], "x": [30.0], "y": [1.0]})  # 1 of 120 customers: 0.8%
    f = pd.concat([f, far], ignore_index=True)
    result = fit_segments(f, categorical=[], k=4)
    assert result.k_fitted == 4 and result.k == 3
    assert result.merged == [{"customers": 1, "share": round(1 / 120, 6), "into": [result.labels.iloc[-1]]}]
    # the outlier joins the segment whose centre is nearest: the one around (6, 0)
    assert result.labels.iloc[-1] == result.labels.iloc[45]
    assert result.labels.value_counts(normalize=True).min() >= MIN_SEGMENT_SHARE
    assert set(result.labels) == {0, 1, 2}
    assert report.merged_sentence(result) == ("1 segment under 2% of the customers (1 customer (0.8%)) was merged "
                                              "into the nearest segments: 4 clusters were fitted, 3 are proposed.")
    kept = fit_segments(f, categorical=[], k=4, min_share=0)
    assert kept.k == 4 and kept.merged == []


def test_merge_small_segments_smallest_first():
    X = np.r_[np.zeros((60, 1)), np.full((37, 1), 10.0), [[1.0]], [[9.0], [9.5]]]
    labels = np.r_[np.zeros(60, int), np.ones(37, int), [2], [3, 3]]
    new, merged = merge_small_segments(X, labels, 0.025)  # 1 row = 1%, 2 rows = 2%: both too small
    assert [m["customers"] for m in merged] == [1, 2]
    assert new[97] == new[0] and new[98] == new[99] == new[60]
    assert np.bincount(new).tolist() == [61, 39]


# --------------------------------------------------------------------------------------------------
# Real data: CDNOW and the Online Retail extract
# --------------------------------------------------------------------------------------------------

def _features_as_notebook_04(tables: dict, as_of, config_path=None) -> pd.DataFrame:
    model = profitability.load_cost_model(config_path) if config_path else profitability.cost_model_from_config(None)
    frames = {name: tables.get(name) for name in ("payments", "tickets")}
    pnl = profitability.customer_pnl(tables["transactions"], model, **frames, as_of=as_of)
    return customer_features_module.customer_features(tables["transactions"], as_of, customers=tables.get("customers"),
                                                      **frames, pnl=pnl)


@pytest.fixture(scope="module")
def cdnow_segments():
    tables = {"transactions": load_portfolio(CDNOW).transactions}
    feats = _features_as_notebook_04(tables, "1998-06-30", CDNOW)
    return feats, segment_customers(feats, n_boot=3)


@pytest.fixture(scope="module")
def retail_segments():
    raw = pd.read_csv(ONLINE_RETAIL, dtype={"InvoiceNo": str, "StockCode": str})
    raw = raw[raw["CustomerID"].notna()]
    tx = pd.DataFrame({
        "customer_id": raw["CustomerID"].astype("int64").astype(str).astype("string").to_numpy(),
        "order_id": raw["InvoiceNo"].astype("string").to_numpy(),
        "date": pd.to_datetime(raw["InvoiceDate"]).to_numpy(),
        "amount": (raw["Quantity"] * raw["UnitPrice"]).astype("float64").to_numpy(),
    })
    tables = {"transactions": tx}
    feats = _features_as_notebook_04(tables, tx["date"].max().normalize())
    return feats, segment_customers(feats, n_boot=3)


def _assert_usable(name, feats, segments):
    assert segments.ran, name
    result = segments.result
    sizes = result.labels.value_counts(normalize=True).sort_index()
    print(f"\n{name}: {len(feats)} customers, k = {result.k} (fitted {result.k_fitted}), sizes "
          + ", ".join(f"{segments.names[c]} {share:.1%}" for c, share in sizes.items())
          + f"; dropped {', '.join(segments.dropped['feature'])}; two-way {result.two_way}")
    assert ACTIONABLE_K[0] <= result.k <= ACTIONABLE_K[1]
    assert sizes.min() >= MIN_SEGMENT_SHARE
    assert sizes.sum() == pytest.approx(1.0)
    # the profiles differ: every pair of segments on at least 2 features (standardized mean difference >= 0.5)
    separation = segment_separation(result.matrix, result.labels, result.categorical)
    assert len(separation) == result.k * (result.k - 1) // 2
    assert (separation["features_apart"] >= MIN_FEATURES_APART).all(), separation
    # independent check of the measure on the original features (log scale of the skewed ones): at least two
    # features whose segment means are DIFFERENCE_SMD standard deviations apart for the two most different segments
    logged = np.log1p(feats[["frequency", "monetary"]].clip(lower=0)).assign(recency_days=feats["recency_days"])
    means = logged.groupby(result.labels.to_numpy()).mean()
    spread = (means.max() - means.min()) / logged.std(ddof=0)
    assert (spread >= DIFFERENCE_SMD).sum() >= 2
    # no cost configured: the profit margin is the same for everyone; it is dropped, never a top feature
    assert {"discount_share", "return_rate", "days_late", "service_minutes_per_1000"} <= set(segments.dropped["feature"])
    assert "profit_margin" not in result.numeric
    assert not segments.profiles["top_features"].str.contains("profit margin").any()
    assert len(set(segments.names.values())) == result.k


def test_cdnow_segments_are_usable(cdnow_segments):
    feats, segments = cdnow_segments
    _assert_usable("CDNOW", feats, segments)
    assert segments.result.two_way is not None  # one-time vs repeat buyers is the sharpest divide, reported


def test_online_retail_segments_are_usable(retail_segments):
    feats, segments = retail_segments
    _assert_usable("Online Retail", feats, segments)
    lines = report.segments_findings(segments)
    assert lines[0].startswith(f"The customers fall into {segments.result.k} segments")
