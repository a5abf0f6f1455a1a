"""Tests of portfolio_helpers.analysis.propensity: metrics by hand, models on a learnable synthetic problem."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from portfolio_helpers.analysis import propensity
from portfolio_helpers.analysis.propensity import (
    MODEL_NAMES,
    ModelSet,
    calibration_table,
    coefficients,
    evaluate,
    explain,
    fit_models,
    format_value,
    ks_statistic,
    lift_table,
    make_model,
    permutation_importance_table,
    refit_best,
    roc_points,
)

LOGISTIC, GBM = MODEL_NAMES["logistic"], MODEL_NAMES["gbm"]
NUMERIC = ["meetings", "budget", "noise", "constant"]
CATEGORICAL = ["role"]
ROLES = ["IT manager", "buyer", "student / intern", "consultant"]


def synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Leads whose conversion follows a logistic model of meetings, budget and role; ``noise`` and
    ``constant`` play no part (``constant`` never varies)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "meetings": rng.poisson(2, n),
        "budget": rng.normal(50_000, 15_000, n).round(-2),
        "noise": rng.normal(size=n),
        "constant": np.ones(n),
        "role": pd.array(rng.choice(ROLES, n, p=[0.3, 0.3, 0.3, 0.1]), dtype="string"),
    })
    X.loc[rng.random(n) < 0.05, "budget"] = np.nan
    X.loc[rng.random(n) < 0.05, "role"] = pd.NA
    logit = (-1.0 + 0.9 * (X["meetings"] - 2) + 0.00004 * (X["budget"].fillna(50_000) - 50_000)
             - 2.0 * (X["role"] == "student / intern").fillna(False).astype(float))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit.to_numpy(dtype=float)))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def data():
    X, y = synthetic(2000, seed=7)
    return X.iloc[:1200], y[:1200], X.iloc[1200:], y[1200:]


@pytest.fixture(scope="module")
def model_set(data):
    X_train, y_train, _, _ = data
    return fit_models(X_train, y_train, NUMERIC, CATEGORICAL, seed=11)


# ----------------------------------------------------------------------------- metrics by hand
def test_ks_statistic_by_hand():
    assert ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    # thresholds 0.4 -> (tpr 0.5, fpr 0), 0.2 -> (1, 0.5): max gap 0.5
    assert ks_statistic([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == 0.5
    assert ks_statistic([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]) == 0.0
    assert np.isnan(ks_statistic([1, 1, 1], [0.1, 0.2, 0.3]))
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 200), rng.random(200)
    brute = max(((s >= t) & (y == 1)).sum() / y.sum() - ((s >= t) & (y == 0)).sum() / (y == 0).sum()
                for t in np.unique(s))
    assert ks_statistic(y, s) == pytest.approx(max(brute, 0.0))


def test_evaluate_by_hand():
    out = evaluate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert out["auc"] == 0.75 and out["ks"] == 0.5
    assert out["brier"] == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    assert (out["base_rate"], out["n"], out["n_positive"]) == (0.5, 4, 2)
    assert np.isnan(evaluate([0, 0], [0.1, 0.2])["auc"])


def test_lift_table_by_hand():
    y = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    scores = [0.95, 0.1, 0.5, 0.9, 0.3, 0.2, 0.6, 0.05, 0.4, 0.7]
    table = lift_table(y, scores, n_bins=5)
    # ranked: 0.95(1) 0.9(1) | 0.7 0.6 | 0.5 0.4 | 0.3 0.2 | 0.1 0.05(1)
    assert table.columns.tolist() == ["decile", "contacts", "positives", "rate", "lift",
                                      "cumulative_contacts_share", "cumulative_positives_share"]
    assert table["decile"].tolist() == [1, 2, 3, 4, 5]
    assert table["contacts"].tolist() == [2, 2, 2, 2, 2]
    assert table["positives"].tolist() == [2, 0, 0, 0, 1]
    assert table["rate"].tolist() == [1.0, 0, 0, 0, 0.5]
    assert table["lift"].to_numpy() == pytest.approx([1 / 0.3, 0, 0, 0, 0.5 / 0.3])
    assert table["cumulative_contacts_share"].to_numpy() == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert table["cumulative_positives_share"].to_numpy() == pytest.approx([2 / 3] * 4 + [1.0])


def test_lift_table_sizes_as_equal_as_possible_and_small_inputs():
    table = lift_table([1, 0] * 5 + [1], np.arange(11), n_bins=3)
    assert table["contacts"].tolist() == [4, 4, 3]
    assert lift_table([1, 0, 1], [0.2, 0.1, 0.3])["contacts"].tolist() == [1, 1, 1]  # fewer rows than bins
    none = lift_table([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], n_bins=2)
    assert none["rate"].tolist() == [0, 0] and none["lift"].isna().all()
    with pytest.raises(ValueError):
        lift_table([], [])


def test_lift_table_ties_are_broken_by_position():
    y = [1, 1, 0, 0, 0, 0]
    scores = [0.5] * 6
    first = lift_table(y, scores, n_bins=3)
    # equal scores keep their input order: the first two records form decile 1
    assert first["positives"].tolist() == [2, 0, 0]
    assert first.equals(lift_table(y, scores, n_bins=3))
    # a tie straddling a boundary: 0.9 first, then the tied 0.5s in input order, then 0.1
    table = lift_table([0, 1, 0, 1, 0, 0], [0.5, 0.5, 0.9, 0.5, 0.1, 0.5], n_bins=3)
    # order: idx2(0) idx0(0) | idx1(1) idx3(1) | idx5(0) idx4(0)
    assert table["positives"].tolist() == [0, 2, 0]


def test_lift_table_does_not_depend_on_row_order_without_ties():
    rng = np.random.default_rng(3)
    y, scores = rng.integers(0, 2, 101), rng.random(101)
    permutation = rng.permutation(101)
    pd.testing.assert_frame_equal(lift_table(y, scores), lift_table(y[permutation], scores[permutation]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.5, 0.5, 0.9, 1.0])), min_size=1,
                max_size=60),
       st.integers(1, 12))
def test_lift_table_properties(rows, n_bins):
    y = [int(label) for label, _ in rows]
    scores = [score for _, score in rows]
    table = lift_table(y, scores, n_bins=n_bins)
    assert table["contacts"].sum() == len(rows)
    assert table["contacts"].max() - table["contacts"].min() <= 1
    assert table["positives"].sum() == sum(y)
    assert table["cumulative_contacts_share"].iloc[-1] == pytest.approx(1.0)
    if sum(y) > 0:
        gains = table["cumulative_positives_share"].to_numpy()
        assert gains[-1] == pytest.approx(1.0)
        assert (np.diff(gains) >= -1e-12).all()


def test_calibration_table_by_hand():
    table = calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], n_bins=2)
    assert table.columns.tolist() == ["bin", "contacts", "mean_predicted", "observed_rate"]
    assert table["contacts"].tolist() == [2, 2]
    assert table["mean_predicted"].to_numpy() == pytest.approx([0.15, 0.35])
    assert table["observed_rate"].tolist() == [0.0, 1.0]
    # many equal predictions: the quartile edges 0.1, 0.1, 0.1, 0.2, 0.9 collapse to 0.1, 0.2, 0.9
    table = calibration_table([0, 0, 0, 0, 0, 1, 1, 0], [0.1] * 6 + [0.5, 0.9], n_bins=4)
    assert table["bin"].tolist() == [1, 2] and table["contacts"].tolist() == [6, 2]
    assert table["mean_predicted"].to_numpy() == pytest.approx([0.1, 0.7])
    assert table["observed_rate"].to_numpy() == pytest.approx([1 / 6, 0.5])
    single = calibration_table([0, 1, 1], [0.3, 0.3, 0.3])
    assert single["contacts"].tolist() == [3] and single["observed_rate"].iloc[0] == pytest.approx(2 / 3)


def test_roc_points():
    points = roc_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert points.columns.tolist() == ["fpr", "tpr"]
    assert points.iloc[0].tolist() == [0.0, 0.0] and points.iloc[-1].tolist() == [1.0, 1.0]
    assert points["fpr"].is_monotonic_increasing and points["tpr"].is_monotonic_increasing


# ----------------------------------------------------------------------------- models
def test_make_model_kinds():
    assert type(make_model("gbm", ["a"], ["b"], seed=0)).__name__ == "CalibratedClassifierCV"
    assert type(make_model("gbm", ["a"], ["b"], seed=0, calibrate=False)).__name__ == "Pipeline"
    assert type(make_model("logistic", ["a"], ["b"], seed=0, calibrate=True)).__name__ == "Pipeline"
    with pytest.raises(ValueError, match="unknown model kind"):
        make_model("forest", ["a"], [], seed=0)
    with pytest.raises(ValueError, match="both numeric and categorical"):
        make_model("logistic", ["a"], ["a"], seed=0)


def test_models_learn_a_learnable_problem(model_set, data):
    _, _, X_test, y_test = data
    assert set(model_set.models) == {LOGISTIC, GBM}
    assert model_set.best in model_set.models
    assert model_set.best == max(model_set.cv_auc, key=model_set.cv_auc.get)
    for name in (LOGISTIC, GBM):
        assert model_set.cv_auc[name] >= 0.75
        probability = model_set.predict(X_test, name)
        assert probability.shape == (len(X_test),)
        assert ((probability >= 0) & (probability <= 1)).all()
        assert evaluate(y_test, probability)["auc"] >= 0.75
    assert np.array_equal(model_set.predict(X_test), model_set.predict(X_test, model_set.best))
    assert np.array_equal(model_set.predict(X_test, "gbm"), model_set.predict(X_test, GBM))
    assert model_set.reference["meetings"] == 2.0 and model_set.reference["role"] in ROLES


def test_same_seed_gives_identical_probabilities(model_set, data):
    X_train, y_train, X_test, _ = data
    for kind in ("logistic", "gbm"):
        with threadpool_limits(1):  # as fit_models does on small tables: much faster
            refit = make_model(kind, NUMERIC, CATEGORICAL, seed=11).fit(X_train, y_train)
            again = refit.predict_proba(X_test)[:, 1]
        assert np.array_equal(again, model_set.predict(X_test, MODEL_NAMES[kind]))


def test_cv_auc_is_that_of_cross_val_score(model_set, data):
    """The boosted model's AUC is read off its calibration folds (the same splits and fits): it is
    exactly what scikit-learn's cross-validation of the uncalibrated model gives."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X_train, y_train, _, _ = data
    folds = StratifiedKFold(5, shuffle=True, random_state=11)
    for kind in ("gbm", "logistic"):
        with threadpool_limits(1):
            expected = cross_val_score(make_model(kind, NUMERIC, CATEGORICAL, seed=11, calibrate=False),
                                       X_train, y_train, cv=folds, scoring="roc_auc")
        assert model_set.cv_auc[MODEL_NAMES[kind]] == float(np.mean(expected))
        assert model_set.cv_auc_std[MODEL_NAMES[kind]] == float(np.std(expected))


def test_cv_auc_with_fewer_calibration_folds_is_cross_validated():
    """6 positives: 4 calibration folds, not the 5 of the cross-validation, which then fits its own models."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, _ = synthetic(80, seed=1)
    y = np.zeros(80, dtype=int)
    y[X["meetings"].to_numpy().argsort()[-6:]] = 1
    fitted = fit_models(X, y, NUMERIC, CATEGORICAL, seed=0, kinds=("gbm",))
    assert len(fitted.models[GBM].calibrated_classifiers_) == 4
    with threadpool_limits(1):
        expected = cross_val_score(make_model("gbm", NUMERIC, CATEGORICAL, seed=0, calibrate=False), X, y,
                                   cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="roc_auc")
    assert fitted.cv_auc[GBM] == float(np.mean(expected))


def test_best_model_tie_goes_to_logistic(monkeypatch, data):
    X_train, y_train, _, _ = data
    monkeypatch.setattr(propensity, "cross_val_score", lambda *args, **kwargs: np.full(5, 0.7))
    monkeypatch.setattr(propensity, "make_model", lambda *args, **kwargs: _Constant(0.3))
    assert fit_models(X_train, y_train, NUMERIC, CATEGORICAL, seed=0, kinds=("gbm", "logistic")).best == LOGISTIC


def test_unseen_and_missing_levels_do_not_crash(model_set, data):
    _, _, X_test, _ = data
    new = X_test.head(4).copy()
    new["role"] = ["astronaut", None, "buyer", "never seen either"]
    new["budget"] = [np.nan, 1e9, 0.0, 45_000]
    for name in (LOGISTIC, GBM):
        probability = model_set.predict(new, name)
        assert np.isfinite(probability).all() and ((probability >= 0) & (probability <= 1)).all()
        assert explain(model_set, new, name=name)["top_factors"].map(type).eq(str).all()
    # categorical as a pandas Categorical and object columns work too
    as_category = X_test.assign(role=X_test["role"].astype("category"))
    assert np.allclose(model_set.predict(as_category), model_set.predict(X_test))


def test_input_validation(data):
    X_train, y_train, _, _ = data
    with pytest.raises(ValueError, match="0 positive and 1200 negative"):
        fit_models(X_train, np.zeros(len(X_train)), NUMERIC, CATEGORICAL, seed=0)
    few = np.zeros(len(X_train), dtype=int)
    few[:4] = 1
    with pytest.raises(ValueError, match="at least 5 positives.*4 positive and 1196 negative"):
        fit_models(X_train, few, NUMERIC, CATEGORICAL, seed=0)
    with pytest.raises(ValueError, match="features table has no employees, industry columns"):
        fit_models(X_train, y_train, [*NUMERIC, "employees"], [*CATEGORICAL, "industry"], seed=0)
    with pytest.raises(ValueError, match="0/1"):
        fit_models(X_train, np.where(y_train == 1, "yes", "no"), NUMERIC, CATEGORICAL, seed=0)
    with pytest.raises(ValueError, match="rows"):
        fit_models(X_train, y_train[:10], NUMERIC, CATEGORICAL, seed=0)


def test_predict_names_missing_columns(model_set, data):
    _, _, X_test, _ = data
    with pytest.raises(ValueError, match="meetings"):
        model_set.predict(X_test.drop(columns="meetings"))


def test_few_positives_still_fit_with_calibration():
    X, _ = synthetic(80, seed=1)
    y = np.zeros(80, dtype=int)
    y[X["meetings"].to_numpy().argsort()[-6:]] = 1  # 6 positives: 4 or 5 in each training fold
    fitted = fit_models(X, y, NUMERIC, CATEGORICAL, seed=0, kinds=("gbm",))
    assert np.isfinite(list(fitted.cv_auc.values())).all()


# ----------------------------------------------------------------------------- explanations
class _Constant:
    """Stands in for an estimator in hand-made model sets."""

    def __init__(self, probability):
        self.probability = probability

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        p = self.probability(X) if callable(self.probability) else np.full(len(X), self.probability)
        return np.c_[1 - p, p]


def test_top_factors_format_by_hand():
    def probability(X):
        return (0.2 + 0.04 * X["meetings"] - 0.08 * (X["role"] == "student / intern")
                + X["budget"] / 900_000 + 0.001 * X["days"]).to_numpy(dtype=float)

    hand = ModelSet(models={LOGISTIC: _Constant(probability)}, cv_auc={LOGISTIC: 0.8}, best=LOGISTIC,
                    numeric=["meetings", "budget", "days"], categorical=["role"],
                    reference={"meetings": 0, "budget": 0.0, "days": 0.0, "role": "buyer"})
    X = pd.DataFrame({"meetings": [3, 0], "budget": [45_000.0, 0.0], "days": [2.5, -0.25],
                      "role": ["student / intern", "buyer"]}, index=["a", "b"])
    out = explain(hand, X)
    assert out.index.tolist() == ["a", "b"]
    assert out.columns.tolist() == ["meetings", "budget", "days", "role", "top_factors"]
    assert out.loc["a", "meetings"] == pytest.approx(0.12) and out.loc["a", "role"] == pytest.approx(-0.08)
    assert out.loc["a", "top_factors"] == "+12 pts meetings=3; \u22128 pts role=student / intern; +5 pts budget=45,000"
    assert out.loc["b", "top_factors"] == ""  # the reference record: every contribution is 0
    assert explain(hand, X, top_n=1).loc["a", "top_factors"] == "+12 pts meetings=3"
    # a reference given at call time replaces the stored one
    shifted = explain(hand, X, reference={"meetings": 3})
    assert shifted.loc["a", "meetings"] == pytest.approx(0.0)
    assert shifted.loc["b", "top_factors"] == "\u221212 pts meetings=0"


def test_format_value():
    assert [format_value(v) for v in (45_000, 45_000.0, 3.14159, 0.012345, -2.5, np.int64(1234567))] == [
        "45,000", "45,000", "3.14", "0.012", "\u22122.5", "1,234,567"]
    assert format_value(1234.5678) == "1,234.57" and format_value("buyer") == "buyer"
    assert format_value(None) == "missing" and format_value(np.nan) == "missing" and format_value(pd.NA) == "missing"


def test_ignored_feature_contributes_nothing(model_set, data):
    _, _, X_test, _ = data
    X = X_test.head(200).copy()
    X["constant"] = np.random.default_rng(0).normal(0, 10, len(X))  # varies now, never did in training
    pattern = re.compile(r"^[+\u2212][1-9]\d* pts [^=;]+=[^;]+$")
    for name in (LOGISTIC, GBM):
        out = explain(model_set, X, name=name)
        assert np.abs(out["constant"]).max() < 1e-9
        assert np.abs(out["meetings"]).mean() > np.abs(out["noise"]).mean()
        for text in out["top_factors"]:
            parts = text.split("; ") if text else []
            assert len(parts) <= 3 and all(pattern.match(part) for part in parts)
            assert "constant=" not in text
    logistic = explain(model_set, X, name=LOGISTIC)
    assert np.abs(logistic["noise"]).max() < 0.05
    assert np.abs(logistic["meetings"]).mean() > 5 * np.abs(logistic["noise"]).mean()


def test_coefficients_and_permutation_importance(model_set, data):
    _, _, X_test, y_test = data
    table = coefficients(model_set)
    assert table.columns.tolist() == ["feature", "coefficient", "odds_ratio"]
    assert table["coefficient"].abs().is_monotonic_decreasing
    assert np.allclose(table["odds_ratio"], np.exp(table["coefficient"]))
    assert {"meetings", "budget", "role=student / intern"} <= set(table["feature"])
    by_feature = table.set_index("feature")["coefficient"]
    assert by_feature["meetings"] > 0 and by_feature["role=student / intern"] < 0
    assert "intercept" in table.attrs
    importance = permutation_importance_table(model_set, X_test, y_test, n_repeats=3)
    assert importance.columns.tolist() == ["feature", "importance", "std"]
    assert set(importance["feature"]) == set(NUMERIC + CATEGORICAL)
    assert importance["feature"].iloc[0] == "meetings" and importance["importance"].is_monotonic_decreasing
    assert importance.set_index("feature").loc["constant", "importance"] == 0
    with pytest.raises(ValueError, match="no logistic regression"):
        coefficients(ModelSet(models={GBM: None}, cv_auc={GBM: 0.5}, best=GBM, numeric=["a"], categorical=[]))


@pytest.mark.parametrize("name", [LOGISTIC, GBM])
def test_permutation_importance_equals_scikit_learn(model_set, data, monkeypatch, name):
    """Batched scoring gives scikit-learn's figures exactly, even split over several batches."""
    from sklearn.inspection import permutation_importance

    _, _, X_test, y_test = data
    X_test = X_test.iloc[:300]
    y_test = y_test[:300]
    expected = permutation_importance(model_set.models[name], model_set.prepare(X_test), y_test,
                                      scoring="roc_auc", n_repeats=4, random_state=11)
    monkeypatch.setattr(propensity, "PERMUTATION_BATCH_ROWS", 300 * 3)  # 3 copies a batch: 20 in 7 batches
    table = permutation_importance_table(model_set, X_test, y_test, name=name, seed=11, n_repeats=4)
    table = table.set_index("feature").loc[NUMERIC + CATEGORICAL]
    np.testing.assert_allclose(table["importance"], expected.importances_mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(table["std"], expected.importances_std, rtol=0, atol=1e-12)
    assert table["importance"].abs().max() > 0.01  # a real comparison, not zeros against zeros


@pytest.mark.parametrize("name", [LOGISTIC, GBM])
def test_explain_in_batches_equals_one_model_call_per_feature(model_set, data, monkeypatch, name):
    _, _, X_test, _ = data
    X = X_test.head(150)
    model, prepared = model_set.models[name], model_set.prepare(X)
    base = model.predict_proba(prepared)[:, 1]
    expected = {}
    for feature in model_set.features:
        occluded = prepared.copy()
        value = model_set.reference[feature]
        occluded[feature] = (propensity._categorical_column(pd.Series([value] * len(X), dtype=object))
                             if feature in model_set.categorical else float(value))
        expected[feature] = base - model.predict_proba(occluded)[:, 1]
    monkeypatch.setattr(propensity, "PERMUTATION_BATCH_ROWS", 2 * len(X))  # several batches of 2 copies
    out = explain(model_set, X, name=name)
    for feature, contribution in expected.items():
        # (the same arithmetic on stacked rows: BLAS may block a taller matrix differently, a few 1e-17 apart)
        np.testing.assert_allclose(out[feature].to_numpy(), contribution, rtol=0, atol=1e-12, err_msg=feature)


def test_refit_best_refits_only_the_chosen_model_without_comparing_again(model_set, data, monkeypatch):
    X_train, y_train, X_test, y_test = data
    calls = []
    monkeypatch.setattr(propensity, "cross_val_score", lambda *a, **k: calls.append(1))
    final = refit_best(model_set, X_test, y_test)
    assert calls == [] and list(final.models) == [model_set.best] and final.best == model_set.best
    monkeypatch.undo()
    assert final.cv_auc == model_set.cv_auc and final.features == model_set.features
    # the same model as fit_models would fit on these rows
    fresh = fit_models(X_test, y_test, NUMERIC, CATEGORICAL, seed=11, kinds=[
        kind for kind, label in MODEL_NAMES.items() if label == model_set.best])
    np.testing.assert_array_equal(final.predict(X_train), fresh.predict(X_train))
    assert final.reference == fresh.reference
