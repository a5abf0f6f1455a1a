"""Tests of portfolio_helpers.analysis.segmentation on hand-made data and on the generated sample portfolio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score, silhouette_score

from portfolio_helpers.analysis import engine
from portfolio_helpers.analysis.segmentation import (
    FUNNEL_STAGES,
    LIFECYCLE_STAGES,
    SILHOUETTE_SAMPLE,
    _sample_index,
    _silhouettes,
    fit_segments,
    knee_point,
    lifecycle_stages,
    name_clusters,
    pca_projection,
    prepare_matrix,
    profiles,
    segment_migration,
    stability,
    stage_funnel,
)
from portfolio_helpers.app.sample_data import SEGMENT_NAMES, generate_portfolio
from portfolio_helpers.reporting.segmentation import k_reason, segmentation_findings, stability_warning

AS_OF = pd.Timestamp("2025-12-31")


def build_features(tables: dict, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    """Customer features with the column names of ``features.customer_features``, built here so the
    tests do not depend on that module: engine.customer_summary plus pandas groupbys."""
    tx = tables["transactions"]
    lines = engine.revenue_lines(tx)
    summary = engine.customer_summary(lines).set_index("customer_id")
    ids = summary.index
    day = lambda s: pd.to_datetime(s).dt.normalize()  # noqa: E731
    f = pd.DataFrame(index=ids)
    f["recency_days"] = (as_of - day(summary["last_purchase"])).dt.days
    f["frequency"] = summary["n_orders"]
    f["monetary"] = summary["revenue"]
    f["tenure_days"] = (as_of - day(summary["first_purchase"])).dt.days
    f["orders_per_year"] = f["frequency"] / np.maximum(f["tenure_days"] / 365.25, 1 / 12)
    f["avg_order_value"] = f["monetary"] / f["frequency"]
    date = day(lines["date"])
    last = lines["amount"].where(date > as_of - pd.DateOffset(months=12), 0.0).groupby(lines["customer_id"]).sum()
    prev = lines["amount"].where((date > as_of - pd.DateOffset(months=24))
                                 & (date <= as_of - pd.DateOffset(months=12)), 0.0)
    prev = prev.groupby(lines["customer_id"]).sum().reindex(ids, fill_value=0.0)
    last = last.reindex(ids, fill_value=0.0)
    f["revenue_trend"] = (last - prev) / np.maximum(prev, 1.0)
    positive = f["monetary"] > 0
    discounted = lines["amount"].where(lines["discount"].fillna(0) > 0, 0.0).groupby(lines["customer_id"]).sum()
    f["discount_share"] = np.where(positive, discounted.reindex(ids) / f["monetary"].where(positive, 1), 0.0)
    returned = tx["status"].isin(["returned", "cancelled", "modified"]).astype(float)
    f["return_rate"] = returned.groupby(tx["customer_id"]).mean().reindex(ids)
    pay = tables["payments"]
    late = (day(pay["paid_date"]) - day(pay["due_date"])).dt.days.astype(float)
    f["days_late"] = late.groupby(pay["customer_id"]).mean().reindex(ids, fill_value=0.0)
    minutes = tables["tickets"].groupby("customer_id")["minutes"].sum().reindex(ids, fill_value=0.0)
    f["service_minutes_per_1000"] = np.where(positive, 1000 * minutes / f["monetary"].where(positive, 1), 0.0)
    margin = (lines["amount"] - lines["cost"]).groupby(lines["customer_id"]).sum().reindex(ids)
    f["margin_rate"] = np.where(positive, margin / f["monetary"].where(positive, 1), 0.0)
    pos = lines[lines["amount"] > 0]
    shares = pos.pivot_table(index="customer_id", columns="category", values="amount", aggfunc="sum",
                             fill_value=0.0)
    shares = shares.div(shares.sum(axis=1), axis=0).reindex(ids, fill_value=0.0)
    for cat in shares.columns:
        f[f"share_{cat}"] = shares[cat]
    customers = tables["customers"].drop_duplicates("customer_id").set_index("customer_id")
    for col in ("customer_type", "industry", "country", "income_band"):
        f[col] = customers[col].reindex(ids).astype("string")
    return f.rename_axis("customer_id").reset_index()


@pytest.fixture(scope="module")
def sample():
    return generate_portfolio(2000, seed=42)


@pytest.fixture(scope="module")
def features(sample):
    return build_features(sample.tables)


@pytest.fixture(scope="module")
def truth(sample, features):
    segments = pd.DataFrame(sample.truth["customers"]).set_index("customer_id")["segment"]
    return segments.reindex(features["customer_id"].astype(str)).to_numpy()


@pytest.fixture(scope="module")
def fitted(features):
    return fit_segments(features, k=len(SEGMENT_NAMES))


# --------------------------------------------------------------------------------------------------
# Recovery of the generating segments
# --------------------------------------------------------------------------------------------------

def test_recovers_generating_segments(fitted, truth, features):
    assert pd.notna(truth).all()
    ari = adjusted_rand_score(truth, fitted.labels)
    print(f"\nARI with k = {fitted.k}: {ari:.3f}; suggested_k = {fitted.suggested_k} ({k_reason(fitted)})")
    assert ari >= 0.7
    assert fitted.labels.index.equals(features.index)
    assert set(fitted.labels) == set(range(fitted.k))
    assert fitted.labels.value_counts().is_monotonic_decreasing  # numbered largest first


def test_suggested_k_and_scores(fitted):
    scores = fitted.k_scores
    assert scores.columns.tolist() == ["k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin",
                                       "smallest_share", "min_features_apart"]
    assert scores["k"].tolist() == list(range(2, 9))
    assert scores.notna().all().all()
    assert scores["inertia"].is_monotonic_decreasing
    assert fitted.suggested_k in scores["k"].tolist()
    assert f"k = {fitted.suggested_k}" in k_reason(fitted)
    assert "silhouette" in k_reason(fitted)
    assert -1 <= fitted.silhouette <= 1


def test_auto_k_uses_suggestion(features, truth):
    result = fit_segments(features)
    assert result.k == result.suggested_k
    print(f"\nauto k = {result.k}, ARI {adjusted_rand_score(truth, result.labels):.3f}")


def test_deterministic(features, fitted):
    again = fit_segments(features, k=fitted.k, seed=42)
    assert again.labels.equals(fitted.labels)
    pd.testing.assert_frame_equal(again.k_scores, fitted.k_scores)


def test_gmm_alternative(features, truth):
    result = fit_segments(features, k=6, algorithm="gmm", score_k=False, min_share=0)
    assert result.k_scores is None and result.labels.nunique() == 6
    assert adjusted_rand_score(truth, result.labels) > 0.5
    # with the default 2% minimum, a component under 2% of the customers joins its neighbours
    merged = fit_segments(features, k=6, algorithm="gmm", score_k=False)
    sizes = merged.labels.value_counts(normalize=True)
    assert merged.k_fitted == 6 and merged.k == len(sizes) and sizes.min() >= 0.02
    assert sum(m["customers"] for m in merged.merged) == (result.labels.value_counts() < 0.02 * len(features)).pipe(
        lambda small: result.labels.value_counts()[small].sum())


def test_matrix_and_transform(features, fitted):
    matrix = fitted.matrix
    assert len(matrix) == len(features) and np.isfinite(matrix.to_numpy()).all()
    assert {"customer_type=B2B", "customer_type=B2C"} <= set(matrix.columns)
    assert set(matrix["customer_type=B2B"].unique()) <= {0.0, 0.5}
    assert "monetary" in fitted.preparation.transforms
    pd.testing.assert_frame_equal(fitted.transform(features), matrix)
    assert "revenue_trend" not in fitted.numeric and "customer_id" not in fitted.numeric


def test_prepare_handles_missing_and_flat_columns():
    f = pd.DataFrame({"customer_id": list("abcdef"), "x": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0],
                      "flat": [0.0] * 6, "kind": ["p", "q", None, "p", "q", "p"]})
    matrix, prep = prepare_matrix(f, numeric=["x", "flat"], categorical=["kind"], categorical_weight=1.0)
    assert np.isfinite(matrix.to_numpy()).all()
    assert matrix["flat"].eq(0).all()
    assert matrix.filter(like="kind=").sum(axis=1).eq(1.0).all()


def test_fixed_k_on_large_table_skips_scores():
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"a": rng.normal(size=60_000), "b": rng.normal(size=60_000)})
    result = fit_segments(f, k=3)
    assert result.k_scores is None and result.suggested_k is None


def test_knee_point():
    assert knee_point(range(2, 11), [100, 50, 30, 25, 22, 20, 19, 18, 17]) == 4
    assert knee_point([1, 2], [2, 1]) is None


# --------------------------------------------------------------------------------------------------
# Stability
# --------------------------------------------------------------------------------------------------

def test_stability_on_sample(fitted):
    out = stability(fitted, k=fitted.k, n_boot=8)
    assert -1 <= out["min_ari"] <= out["mean_ari"] <= 1
    assert out["mean_ari"] >= 0.6 and stability_warning(out) is None
    assert len(out["aris"]) == 8


def test_stability_warns_without_structure():
    noise = np.random.default_rng(3).normal(size=(600, 8))
    out = stability(noise, k=6, n_boot=10, seed=1)
    assert -1 <= out["min_ari"] <= out["mean_ari"] <= 1
    assert out["mean_ari"] < 0.6
    assert "unstable" in stability_warning(out) and "0.6" in stability_warning(out)


def test_stability_accepts_features(features):
    out = stability(features.head(400), k=3, n_boot=3)
    assert -1 <= out["mean_ari"] <= 1


def test_stability_with_the_reference_of_the_fit_is_the_same(fitted):
    """Handing over the fit's labels (any numbering) skips a refit and changes nothing."""
    again = stability(fitted, k=fitted.k, n_boot=4)
    renumbered = (fitted.labels.to_numpy() + 1) % fitted.k
    assert stability(fitted, k=fitted.k, n_boot=4, reference=renumbered) == again
    with pytest.raises(ValueError, match="reference has 3 labels"):
        stability(fitted, k=fitted.k, n_boot=1, reference=[0, 1, 2])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 60), k=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_silhouettes_of_several_labelings_equal_scikit_learn(n, k, seed):
    """One pass over the distances gives scikit-learn's silhouette of every labeling (singletons and
    duplicated rows included); a labeling with one cluster, or one cluster per row, gets NaN."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).round(1)  # rounding makes duplicated rows likely
    sets = [rng.integers(0, k, n), np.r_[np.zeros(n - 1, int), [1]], np.zeros(n, int), np.arange(n)]
    got = _silhouettes(X, sets, seed=3)
    for labels, value in zip(sets, got, strict=True):
        if 2 <= len(np.unique(labels)) <= n - 1:
            assert value == pytest.approx(silhouette_score(X, labels), abs=1e-12)
        else:
            assert np.isnan(value)


def test_silhouettes_on_a_sample_of_a_large_table():
    """Above SILHOUETTE_SAMPLE rows the silhouette is that of the seeded sample, for every labeling."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(SILHOUETTE_SAMPLE + 500, 2))
    sets = [(X[:, 0] > 0).astype(int), (X[:, 1] > 0.5).astype(int) + (X[:, 0] > 1)]
    idx = _sample_index(len(X), 7)
    assert len(idx) == SILHOUETTE_SAMPLE
    expected = [silhouette_score(X[idx], labels[idx]) for labels in sets]
    assert _silhouettes(X, sets, seed=7) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------------------------------
# Profiles and names
# --------------------------------------------------------------------------------------------------

def test_profiles_on_sample(features, fitted):
    prof = profiles(features, fitted.labels, profit_col="margin_rate")
    assert prof["size"].sum() == len(features)
    assert prof["share_customers"].sum() == pytest.approx(1.0)
    assert prof["revenue_share"].sum() == pytest.approx(1.0)
    assert prof["profit_share"].sum() == pytest.approx(1.0)
    # size-weighted cluster means = population mean: the weighted indexes average 100
    for col in ("monetary", "frequency", "recency_days"):
        assert np.average(prof[f"index_{col}"], weights=prof["size"]) == pytest.approx(100.0)
    assert prof["median_monetary"].between(features["monetary"].min(), features["monetary"].max()).all()
    assert prof["top_features"].str.len().gt(0).all()
    assert set(prof["customer_type"]) <= {"B2B", "B2C"}


def test_profile_of_whole_population_is_100(features):
    prof = profiles(features, pd.Series(0, index=features.index))
    assert len(prof) == 1
    assert prof.filter(like="index_").dropna(axis=1).iloc[0].to_numpy() == pytest.approx(100.0)
    assert prof.loc[0, "revenue_share"] == pytest.approx(1.0)


def test_profiles_by_hand():
    f = pd.DataFrame({"customer_id": list("abcde"), "monetary": [100.0, 300.0, 40.0, 40.0, 20.0],
                      "frequency": [10, 10, 1, 2, 2], "customer_type": ["B2B", "B2B", "B2C", "B2C", "B2B"]})
    prof = profiles(f, pd.Series([1, 1, 0, 0, 0]))
    assert prof.index.tolist() == [0, 1]
    assert prof["size"].tolist() == [3, 2]
    assert prof["revenue_share"].tolist() == pytest.approx([0.2, 0.8])
    assert prof.loc[1, "index_monetary"] == pytest.approx(200 / 100 * 100)  # mean 200 vs overall 100
    assert prof.loc[1, "median_frequency"] == 10
    assert set(prof.loc[1, "top_features"].split(", ")) == {"frequency ×2.0", "revenue ×2.0"}  # 10 vs 5
    assert prof.loc[0, "customer_type"] == "B2C" and prof.loc[0, "customer_type_share"] == pytest.approx(2 / 3)


def test_names_unique_and_overrides(features, fitted):
    prof = profiles(features, fitted.labels)
    names = name_clusters(prof)
    assert list(names) == prof.index.tolist()
    assert len(set(names.values())) == len(names)
    print("\n" + "\n".join(f"{k}: {v} ({prof.loc[k, 'size']})" for k, v in names.items()))
    assert any("Service-heavy" in name for name in names.values())
    assert any(name.startswith("Lapsed") for name in names.values())
    renamed = name_clusters(prof, overrides={0: "My name", "1": names[2]})
    assert renamed[0] == "My name" and renamed[1] == names[2]
    assert renamed[2] != names[2]  # the automatic name yields to the override
    assert len(set(renamed.values())) == len(renamed)


def test_names_rules():
    prof = pd.DataFrame({
        "index_monetary": [400, 20, 100, 30, 100],
        "index_frequency": [300, 30, 100, 40, 100],
        "index_recency_days": [20, 300, 100, 60, 100],
        "index_tenure_days": [100, 100, 100, 30, 100],
        "index_service_minutes_per_1000": [50, 10, 900, 10, 100],
        "customer_type": ["B2B", "B2C", "B2B", "B2C", "B2C"],
        "customer_type_share": [0.95, 0.9, 1.0, 0.85, 0.5],
    })
    assert name_clusters(prof) == {
        0: "High-value loyal B2B", 1: "Lapsed small B2C", 2: "Service-heavy B2B accounts",
        3: "New small occasional B2C", 4: "Core customers",
    }


# --------------------------------------------------------------------------------------------------
# Projection, findings
# --------------------------------------------------------------------------------------------------

def test_pca_projection(fitted):
    pcs = pca_projection(fitted.matrix, seed=42)
    assert pcs.columns.tolist() == ["pc1", "pc2"] and pcs.index.equals(fitted.matrix.index)
    ratio = pcs.attrs["explained_variance_ratio"]
    assert ratio[0] >= ratio[1] > 0 and 0 < pcs.attrs["explained_variance"] <= 1
    pd.testing.assert_frame_equal(pca_projection(fitted, seed=42), pcs)


def test_findings(features, fitted):
    prof = profiles(features, fitted.labels)
    names = name_clusters(prof)
    noisy = {"mean_ari": 0.4, "min_ari": 0.2, "unstable": True, "threshold": 0.6, "k": 6, "n_boot": 10}
    lines = segmentation_findings(fitted, prof, names, noisy)
    assert lines[0].startswith("The customers fall into 6 segments")
    assert names[0] in lines[1]
    assert "of revenue" in lines[2]
    assert lines[-1] == stability_warning(noisy) and lines[-1].startswith("The 6 segments are unstable: ")


# --------------------------------------------------------------------------------------------------
# Lifecycle and funnel
# --------------------------------------------------------------------------------------------------

def test_lifecycle_stages_by_hand():
    customers = pd.DataFrame({
        "customer_id": ["new", "active", "risk", "lapsed", "lead", "pros", "qual", "signed"],
        "stage": ["customer", "customer", "customer", "customer", "lead", "Prospect", "qualified", "customer"],
    })
    features = pd.DataFrame({
        "customer_id": ["new", "active", "risk", "lapsed", "web"],
        "recency_days": [10, 180, 365, 366, 400],
        "tenure_days": [90, 500, 700, 900, 1000],
    })
    leads = pd.DataFrame({
        "lead_id": ["L1", "L1", "L2", "L3", "L3"],
        "event": ["form", "call", "visit", "meeting", "download"],
        "customer_id": [None, None, None, None, "active"],  # L3 converted: it is customer "active"
    })
    out = lifecycle_stages(customers, features, leads)
    got = dict(zip(out["contact_id"], out["lifecycle_stage"].astype(str), strict=True))
    assert got == {
        "new": "customer — new", "active": "customer — active", "risk": "customer — at risk",
        "lapsed": "customer — lapsed", "lead": "lead", "pros": "prospect", "qual": "qualified prospect",
        "signed": "customer — new", "web": "customer — lapsed", "L1": "prospect", "L2": "lead",
    }
    assert set(out["lifecycle_stage"].astype(str)) == set(LIFECYCLE_STAGES)
    assert out.columns.tolist() == ["contact_id", "lifecycle_stage"]


def test_lifecycle_from_dates_and_thresholds():
    features = pd.DataFrame({"customer_id": ["a", "b"],
                             "first_purchase": pd.to_datetime(["2025-01-01", "2025-12-01"]),
                             "last_purchase": pd.to_datetime(["2025-09-01", "2025-12-20"])})
    out = lifecycle_stages(None, features, as_of="2025-12-31", active_days=100, new_days=30)
    assert out["lifecycle_stage"].astype(str).tolist() == ["customer — at risk", "customer — new"]


def test_lifecycle_on_sample(sample, features):
    out = lifecycle_stages(sample.tables["customers"], features, as_of=AS_OF)
    counts = out["lifecycle_stage"].value_counts()
    stage = sample.tables["customers"]["stage"].value_counts()
    assert counts["lead"] == stage["lead"] and counts["qualified prospect"] == stage["qualified"]
    assert counts[[s for s in LIFECYCLE_STAGES if s.startswith("customer")]].sum() == len(features)


def test_stage_funnel_by_hand():
    stages = pd.DataFrame({"lifecycle_stage": ["lead"] * 10 + ["prospect"] * 6 + ["qualified prospect"] * 4
                           + ["customer — new"] * 2 + ["customer — lapsed"] * 3})
    funnel = stage_funnel(stages)
    assert funnel["stage"].tolist() == list(FUNNEL_STAGES)
    assert funnel["contacts"].tolist() == [10, 6, 4, 5]
    assert funnel["reached"].tolist() == [25, 15, 9, 5]
    assert np.isnan(funnel["conversion"].iloc[0])
    assert funnel["conversion"].iloc[1:].tolist() == pytest.approx([15 / 25, 9 / 15, 5 / 9])


# --------------------------------------------------------------------------------------------------
# Migration
# --------------------------------------------------------------------------------------------------

def test_segment_migration_by_hand():
    before = pd.Series({"a": "A", "b": "A", "c": "B", "d": "B", "e": "B"})
    after = pd.Series({"a": "A", "b": "B", "c": "B", "d": "A", "f": "A", "g": "B"})
    revenue = pd.Series({"a": 10.0, "b": 20.0, "c": 30.0, "d": 40.0, "f": 5.0, "g": 1.0})
    counts, rev = segment_migration(before, after, revenue)
    assert counts.index.tolist() == ["A", "B", "new"] and counts.columns.tolist() == ["A", "B", "gone"]
    assert counts.to_numpy().tolist() == [[1, 1, 0], [1, 1, 1], [1, 1, 0]]
    assert rev.to_numpy().tolist() == [[10.0, 20.0, 0.0], [40.0, 30.0, 0.0], [5.0, 1.0, 0.0]]
    assert counts.to_numpy().sum() == len(before.index.union(after.index))
    assert segment_migration(before, after)[1] is None


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 2, None]), min_size=1, max_size=30),
       st.lists(st.sampled_from([0, 1, 2, None]), min_size=1, max_size=30))
def test_migration_conserves_customers(before, after):
    b = pd.Series(before, index=[f"c{i}" for i in range(len(before))], dtype=object)
    a = pd.Series(after, index=[f"c{i}" for i in range(len(after))], dtype=object)
    counts, _ = segment_migration(b, a)
    n_before, n_after = b.notna().sum(), a.notna().sum()
    assert counts.drop(index="new").to_numpy().sum() == n_before
    assert counts.drop(columns="gone").to_numpy().sum() == n_after
    assert counts.loc["new", "gone"] == 0


def test_with_customer_features_module(sample, truth, features):
    """Same recovery on the features of portfolio_helpers.analysis.features, when that module is available."""
    module = pytest.importorskip("portfolio_helpers.analysis.features")
    tables = sample.tables
    real = module.customer_features(tables["transactions"], sample.config["as_of"], customers=tables["customers"],
                                    payments=tables["payments"], tickets=tables["tickets"])
    segments = pd.DataFrame(sample.truth["customers"]).set_index("customer_id")["segment"]
    result = fit_segments(real, k=len(SEGMENT_NAMES), score_k=False)
    ari = adjusted_rand_score(segments.reindex(real["customer_id"].astype(str)), result.labels)
    assert ari >= 0.7


# --------------------------------------------------------------------------------------------------
# The saved segments table (read by later notebooks instead of the user-facing export)
# --------------------------------------------------------------------------------------------------

def test_segment_table_save_and_load(tmp_path):
    from portfolio_helpers.analysis.rfm import score_rfm
    from portfolio_helpers.analysis.segmentation import (
        SEGMENT_COLUMNS,
        load_segments,
        save_segments,
        segment_customers,
        segment_table,
    )

    assert load_segments(tmp_path) is None  # notebook 04 has not run
    feats = pd.DataFrame({"customer_id": ["b", "a"], "recency_days": [5, 300], "frequency": [9, 1],
                          "monetary": [900.0, 20.0]})
    stages = pd.DataFrame({"contact_id": ["a", "b", "lead-1"],
                           "lifecycle_stage": pd.Categorical(["customer — lapsed", "customer — active", "lead"])})
    table = segment_table(score_rfm(feats), segment_customers(feats), stages)
    assert table.columns.tolist() == ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                                      "m_score", "rfm_segment", "cluster", "cluster_name", "lifecycle_stage"]
    assert table["customer_id"].tolist() == ["b", "a"]  # the order of the scores; leads are not customers
    assert table["lifecycle_stage"].tolist() == ["customer — active", "customer — lapsed"]
    assert table["cluster"].isna().all()  # 2 customers: no clustering

    table.loc[0, "cluster"] = 1
    path = save_segments(table, tmp_path)
    assert path == tmp_path / "data" / "segments.parquet"
    assert sorted(p.name for p in path.parent.iterdir()) == ["segments.parquet"]  # no temporary file left
    loaded = load_segments(tmp_path)
    assert loaded.columns.tolist() == list(SEGMENT_COLUMNS)
    assert loaded.dtypes.astype(str).tolist() == ["string", "string", "Int64", "string", "string"]
    assert loaded["customer_id"].tolist() == ["b", "a"]
    assert loaded["cluster"].tolist()[0] == 1 and pd.isna(loaded["cluster"].tolist()[1])
    assert loaded["rfm_segment"].tolist() == table["rfm_segment"].tolist()
    with pytest.raises(KeyError, match="cluster_name, lifecycle_stage"):
        save_segments(table.drop(columns=["cluster_name", "lifecycle_stage"]), tmp_path)
