"""Propensity models: who converts, who buys next period, and why.

Two uses in the kit: (a) a lead becoming a customer and (b) a customer purchasing in the
next period. Everything here is a pure function over DataFrames and deterministic for a
given ``seed`` (``random_state`` is set everywhere).

Models (:func:`make_model`, :func:`fit_models`)
-----------------------------------------------
* **Logistic regression** (``kind="logistic"``): numeric features imputed with the median
  and standardised; categorical features imputed with the constant ``"missing"`` and
  one-hot encoded, levels seen in less than :data:`MIN_FREQUENCY` of the training rows
  folded into one "other" level, levels never seen in training ignored (all zeros).
  ``LogisticRegression(C=1.0, max_iter=1000)``. Its log-loss makes its probabilities
  calibrated already, so it is never wrapped in a calibrator.
* **Gradient boosting** (``kind="gbm"``): :class:`~sklearn.ensemble.HistGradientBoostingClassifier`
  with small, robust settings (200 trees of at most 15 leaves, learning rate 0.05, L2
  regularisation 1.0, no early stopping so that the result does not depend on a random
  validation split). Numeric features go in as they are (missing values are handled by the
  trees); categorical features are ordinal-encoded and used as native categorical splits,
  unseen and missing levels becoming missing values. Boosted trees tend to produce
  over-confident scores, so by default the model is wrapped in
  :class:`~sklearn.calibration.CalibratedClassifierCV` (sigmoid/Platt scaling, 5 stratified
  shuffled folds).

:func:`fit_models` fits both, scores each by 5-fold stratified cross-validated ROC AUC on
the training data and names the best one (a tie goes to the logistic regression, the
transparent one). The gradient boosting is cross-validated without its calibration: the
sigmoid is a monotone map of the boosted scores, so it does not change their ranking nor
their AUC. (The calibrated model averages the calibrated models of its 5 calibration folds,
whose ranking can differ slightly from the single boosted model's; the cross-validation
measures the boosted model itself, with 5 fits instead of 25. When the calibration has the 5
folds of the cross-validation, its 5 boosted models are the very models the cross-validation
would fit: their AUC on the held-out folds is read off them, and nothing is fitted twice.)
:func:`refit_best` refits the
model a comparison chose on new data (the latest window, every known outcome) without
comparing again: the model a report validates is the model it then uses. Before scikit-learn, numeric columns are converted to ``float64`` and
categorical columns to ``object`` strings with ``NaN`` for missing values (pandas 3
``StringDtype``, ``pd.NA`` and ``None`` are not understood by every encoder).

Evaluation and explanation
--------------------------
:func:`evaluate` (AUC, Brier score, KS), :func:`lift_table` (deciles, lift and cumulative
gains), :func:`calibration_table`, :func:`roc_points`; :func:`explain` gives the top
factors of every record by occlusion, :func:`coefficients` the logistic regression's odds
ratios and :func:`permutation_importance_table` the features the ranking relies on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils import check_random_state

from portfolio_helpers.analysis.threads import SINGLE_THREAD_ROWS
from portfolio_helpers.analysis.threads import single_threaded as _threads
from portfolio_helpers.core.errors import ValueProblem
from portfolio_helpers.core.validation import require_columns, require_count

__all__ = [
    "MODEL_NAMES",
    "MIN_CLASS_COUNT",
    "MIN_FREQUENCY",
    "CV_FOLDS",
    "SINGLE_THREAD_ROWS",
    "ModelSet",
    "make_model",
    "fit_models",
    "refit_best",
    "evaluate",
    "ks_statistic",
    "lift_table",
    "calibration_table",
    "roc_points",
    "explain",
    "format_value",
    "coefficients",
    "permutation_importance_table",
]

#: Display name of each model kind.
MODEL_NAMES = {"logistic": "Logistic regression", "gbm": "Gradient boosting"}
#: Fewest positives (and negatives) :func:`fit_models` accepts.
MIN_CLASS_COUNT = 5
#: Categorical levels seen in less than this share of the training rows are folded together.
MIN_FREQUENCY = 0.01
#: Folds of the cross-validation (AUC) and of the calibration.
CV_FOLDS = 5
#: Rows scored per model call by :func:`permutation_importance_table` (shuffled copies stacked).
PERMUTATION_BATCH_ROWS = 200_000
#: Name of the level that gathers the rare categorical levels (coefficients, explanations).
OTHER_LEVEL = "other (rare levels)"

MINUS = "\u2212"


# --------------------------------------------------------------------------- preparation
def _numeric_column(series: pd.Series) -> np.ndarray:
    if series.dtype == np.float64:  # already prepared (every fit and prediction of a pipeline prepares again)
        return series.to_numpy(dtype="float64", copy=True)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    try:
        values = pd.to_numeric(series, errors="raise")
    except (ValueError, TypeError) as error:
        raise ValueProblem(f"numeric feature {series.name!r} holds values that are not numbers: "
                         f"{error}") from None
    return pd.Series(values).astype("float64").to_numpy(copy=True)


def _categorical_column(series: pd.Series) -> np.ndarray:
    values = series.astype(object).to_numpy(copy=True)
    missing = pd.isna(values)
    out = np.empty(len(values), dtype=object)
    out[missing] = np.nan
    out[~missing] = [str(value) for value in values[~missing]]
    return out


def _prepare(X: pd.DataFrame, numeric: Sequence[str] = (), categorical: Sequence[str] = ()) -> pd.DataFrame:
    """The feature columns only, numeric as ``float64`` and categorical as ``object`` strings / ``NaN``."""
    require_columns(X, [*numeric, *categorical], table="features")
    data = {column: _numeric_column(X[column]) for column in numeric}
    data.update({column: _categorical_column(X[column]) for column in categorical})
    return pd.DataFrame(data, index=X.index, columns=[*numeric, *categorical])


def _prepared_names(transformer, input_features=None) -> np.ndarray:
    kw = transformer.kw_args or {}
    return np.asarray([*kw.get("numeric", ()), *kw.get("categorical", ())], dtype=object)


def _level_name(feature: str, category) -> str:
    """``role``, ``student`` -> ``role=student``; the folded rare levels get a readable name."""
    category = OTHER_LEVEL if str(category) == "infrequent_sklearn" else category
    return f"{feature}={category}"


def _preparer(numeric: list[str], categorical: list[str]) -> FunctionTransformer:
    return FunctionTransformer(_prepare, kw_args={"numeric": numeric, "categorical": categorical},
                               validate=False, feature_names_out=_prepared_names)


# --------------------------------------------------------------------------- models
def make_model(kind: str, numeric: Sequence[str], categorical: Sequence[str], seed: int = 42,
               calibrate: bool = True, min_frequency: float | int = MIN_FREQUENCY,
               calibration_folds: int = CV_FOLDS):
    """An unfitted scikit-learn classifier that takes a DataFrame with the given columns.

    Parameters
    ----------
    kind : {"logistic", "gbm"}
        Logistic regression or histogram gradient boosting (see the module docstring).
    numeric, categorical : sequence of str
        Feature columns. Other columns of the DataFrame are ignored.
    seed : int
        ``random_state`` of the model and of the calibration folds.
    calibrate : bool
        Wrap the gradient boosting in ``CalibratedClassifierCV(method="sigmoid")`` with
        ``StratifiedKFold(5, shuffle=True, random_state=seed)``. Ignored for the logistic
        regression, whose log-loss already yields calibrated probabilities.
    min_frequency : float or int
        Categorical levels rarer than this (share of rows, or count when an int) are folded
        into one level.
    calibration_folds : int
        Folds of the calibration (5; :func:`fit_models` lowers it when a class has fewer
        than 5 records in a cross-validation training fold).

    Returns
    -------
    sklearn estimator
        A :class:`~sklearn.pipeline.Pipeline` (or the calibrated wrapper around one) whose
        first step converts the feature columns to ``float64`` / ``object``.

    Examples
    --------
    >>> model = make_model("logistic", ["budget"], ["role"], seed=0)
    >>> [name for name, _ in model.steps]
    ['prepare', 'encode', 'model']
    >>> type(make_model("gbm", ["budget"], ["role"], seed=0)).__name__
    'CalibratedClassifierCV'
    >>> type(make_model("gbm", ["budget"], ["role"], seed=0, calibrate=False)).__name__
    'Pipeline'
    """
    numeric, categorical = list(numeric), list(categorical)
    if not numeric and not categorical:
        raise ValueProblem("no feature columns: give at least one numeric or categorical column")
    overlap = sorted(set(numeric) & set(categorical))
    if overlap:
        raise ValueProblem(f"columns listed as both numeric and categorical: {', '.join(overlap)}")
    if kind == "logistic":
        encode = ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
             numeric),
            ("cat", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                              ("onehot", OneHotEncoder(handle_unknown="ignore", min_frequency=min_frequency,
                                                       feature_name_combiner=_level_name))]),
             categorical),
        ], verbose_feature_names_out=False)
        return Pipeline([("prepare", _preparer(numeric, categorical)), ("encode", encode),
                         ("model", LogisticRegression(C=1.0, max_iter=1000, random_state=seed))])
    if kind == "gbm":
        encode = ColumnTransformer([
            ("num", "passthrough", numeric),
            # At most 254 levels (+ the rare-level bucket): the trees bin categories in 255 bins.
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                   encoded_missing_value=np.nan, min_frequency=min_frequency,
                                   max_categories=254), categorical),
        ], verbose_feature_names_out=False)
        boost = HistGradientBoostingClassifier(
            learning_rate=0.05, max_iter=200, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
            early_stopping=False,
            categorical_features=list(range(len(numeric), len(numeric) + len(categorical))) or None,
            random_state=seed)
        pipeline = Pipeline([("prepare", _preparer(numeric, categorical)), ("encode", encode),
                             ("model", boost)])
        if not calibrate:
            return pipeline
        return CalibratedClassifierCV(pipeline, method="sigmoid",
                                      cv=StratifiedKFold(calibration_folds, shuffle=True, random_state=seed))
    raise ValueProblem(f"unknown model kind {kind!r}: use one of {', '.join(map(repr, MODEL_NAMES))}")


def _as_binary(y, n_rows: int | None = None) -> np.ndarray:
    values = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y.astype(object))
    if values.isna().any():
        raise ValueProblem(f"the target has {int(values.isna().sum())} missing values")
    labels = set(values.unique().tolist())
    if not labels <= {0, 1}:  # True == 1 and False == 0 in Python
        shown = ", ".join(sorted(map(repr, labels))[:5])
        raise ValueProblem(f"the target must be 0/1 or True/False, found {shown}")
    out = values.astype(int).to_numpy()
    if n_rows is not None and len(out) != n_rows:
        raise ValueProblem(f"X has {n_rows} rows but y has {len(out)}")
    return out


def _check_target(y: np.ndarray) -> None:
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if min(positives, negatives) < MIN_CLASS_COUNT:
        raise ValueProblem(
            f"the target needs at least {MIN_CLASS_COUNT} positives and {MIN_CLASS_COUNT} negatives to fit "
            f"and cross-validate a model; it has {positives} positive and {negatives} negative "
            f"record{'s' if negatives != 1 else ''}")


def _resolve_name(models: Mapping[str, Any], name: str | None, default: str) -> str:
    if name is None:
        return default
    if name in models:
        return name
    if MODEL_NAMES.get(name) in models:
        return MODEL_NAMES[name]
    raise KeyError(f"no model {name!r}; fitted: {', '.join(models)}")


@dataclass
class ModelSet:
    """Fitted propensity models with their cross-validated AUC.

    Attributes
    ----------
    models : dict
        Fitted estimators by display name (``"Logistic regression"``, ``"Gradient boosting"``).
    cv_auc : dict
        Mean 5-fold cross-validated ROC AUC of each model on the training data.
    best : str
        Name of the model with the highest ``cv_auc`` (ties go to the logistic regression).
    numeric, categorical : list of str
        Feature columns.
    reference : dict
        Training median of each numeric feature and most frequent value of each categorical
        feature (the baseline of :func:`explain`).
    cv_auc_std : dict
        Standard deviation of the AUC over the folds.
    seed : int
        Seed used for fitting.
    """

    models: dict[str, Any]
    cv_auc: dict[str, float]
    best: str
    numeric: list[str]
    categorical: list[str]
    reference: dict[str, Any] = field(default_factory=dict)
    cv_auc_std: dict[str, float] = field(default_factory=dict)
    seed: int = 42

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """The feature columns of ``X`` as the models see them (missing columns raise ``ValueError``)."""
        return _prepare(X, self.numeric, self.categorical)

    def predict(self, X: pd.DataFrame, name: str | None = None) -> np.ndarray:
        """Probability of class 1 for every row of ``X`` (the best model unless ``name`` is given)."""
        model = self.models[_resolve_name(self.models, name, self.best)]
        data = self.prepare(X)
        with _threads(len(data)):
            return model.predict_proba(data)[:, 1]


def _reference_values(X: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> dict[str, Any]:
    reference: dict[str, Any] = {}
    for column in numeric:
        median = float(np.nanmedian(X[column])) if X[column].notna().any() else float("nan")
        reference[column] = median
    for column in categorical:
        counts = X[column].value_counts(dropna=True)
        reference[column] = counts.index[0] if len(counts) else np.nan
    return reference


def fit_models(X_train: pd.DataFrame, y_train, numeric: Sequence[str], categorical: Sequence[str],
               seed: int = 42, kinds: Sequence[str] = ("logistic", "gbm")) -> ModelSet:
    """Fit the propensity models and compare them by cross-validated ROC AUC.

    Parameters
    ----------
    X_train : DataFrame
        One row per record, with the feature columns (other columns are ignored).
    y_train : array-like of 0/1 or bool
        The outcome (1 = converted / purchased). At least 5 of each class.
    numeric, categorical : sequence of str
        Feature columns.
    seed : int
        Seeds the models, the calibration folds and the cross-validation folds.
    kinds : sequence of {"logistic", "gbm"}
        Models to fit.

    Returns
    -------
    ModelSet
        Fitted models, ``cv_auc`` (mean ROC AUC over ``StratifiedKFold(5, shuffle=True,
        random_state=seed)``; the gradient boosting is cross-validated without its monotone
        calibration, see the module docstring), the ``best`` name and the :func:`explain`
        reference values.

    Raises
    ------
    ValueError
        When feature columns are missing, the target is not binary or has fewer than 5
        positives or negatives.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"meetings": rng.poisson(2, 300), "role": rng.choice(["buyer", "student"], 300)})
    >>> y = rng.random(300) < 1 / (1 + np.exp(2.0 - X["meetings"] + (X["role"] == "student")))
    >>> ms = fit_models(X, y, ["meetings"], ["role"], seed=0, kinds=("logistic",))
    >>> ms.best, round(ms.cv_auc["Logistic regression"], 2) > 0.7
    ('Logistic regression', True)
    >>> ms.predict(X.head(3)).round(2).tolist()
    [0.27, 0.14, 0.97]
    """
    numeric, categorical = list(numeric), list(categorical)
    kinds = list(dict.fromkeys(kinds))
    unknown = [kind for kind in kinds if kind not in MODEL_NAMES]
    if unknown or not kinds:
        raise ValueProblem(f"unknown model kinds {unknown}: use one of {', '.join(map(repr, MODEL_NAMES))}")
    X = _prepare(X_train, numeric, categorical)
    y = _as_binary(y_train, len(X))
    _check_target(y)
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    calibration_folds = _calibration_folds(y)
    models, cv_auc, cv_std = {}, {}, {}
    with _threads(len(X)):
        for kind in kinds:
            name = MODEL_NAMES[kind]
            models[name] = make_model(kind, numeric, categorical, seed,
                                      calibration_folds=calibration_folds).fit(X, y)
            scores = _calibration_fold_auc(models[name], X, y, folds)
            if scores is None:
                # Cross-validated without the calibration: a sigmoid is monotone, so it leaves the
                # ranking and the AUC of the boosted scores as they are (see the module docstring).
                model = make_model(kind, numeric, categorical, seed, calibrate=False)
                scores = cross_val_score(model, X, y, cv=folds, scoring="roc_auc", error_score="raise")
            cv_auc[name], cv_std[name] = float(np.mean(scores)), float(np.std(scores))
    # Highest AUC; on a tie the logistic regression (listed first in MODEL_NAMES) wins.
    order = [name for name in MODEL_NAMES.values() if name in models]
    best = max(order, key=lambda name: (cv_auc[name], -order.index(name)))
    return ModelSet(models=models, cv_auc=cv_auc, best=best, numeric=numeric, categorical=categorical,
                    reference=_reference_values(X, numeric, categorical), cv_auc_std=cv_std, seed=seed)


def _calibration_fold_auc(model, X: pd.DataFrame, y: np.ndarray, folds: StratifiedKFold) -> np.ndarray | None:
    """The cross-validated ROC AUC of a calibrated model's boosted models, or None when it cannot be read off.

    A :class:`~sklearn.calibration.CalibratedClassifierCV` whose folds are ``folds`` (same number,
    shuffle and seed, so the same splits) has already fitted, on each training part, the very
    model ``cross_val_score`` would fit there (same estimator, same rows, same seed): the AUC of
    its decision function on each held-out part is the score ``cross_val_score(...,
    scoring="roc_auc")`` gives, without fitting the 5 models a second time. None for any other
    model (the caller cross-validates it).
    """
    cv = getattr(model, "cv", None)
    fitted = getattr(model, "calibrated_classifiers_", None)
    same_folds = (isinstance(cv, StratifiedKFold) and fitted is not None and cv.n_splits == folds.n_splits
                  and cv.shuffle == folds.shuffle and cv.random_state == folds.random_state)
    if not same_folds or len(fitted) != folds.n_splits:
        return None
    scores = []
    for calibrated, (_, test) in zip(fitted, folds.split(X, y), strict=True):
        estimator = calibrated.estimator
        response = (estimator.decision_function if hasattr(estimator, "decision_function")
                    else (lambda frame, estimator=estimator: estimator.predict_proba(frame)[:, 1]))
        scores.append(roc_auc_score(y[test], response(X.iloc[test])))
    return np.asarray(scores, dtype="float64")


def _calibration_folds(y: np.ndarray) -> int:
    """Calibration folds for a target: 5, fewer when a class is too small for each fold to hold it."""
    # With very few positives (or negatives) the calibration gets fewer folds so that each of them
    # holds both classes; the count leaves room for a fifth of the rows (the rule dates from when
    # the calibration also ran inside every cross-validation training fold and is kept as it is).
    smallest = int(min(y.sum(), len(y) - y.sum()))
    return max(2, min(CV_FOLDS, smallest - math.ceil(smallest / CV_FOLDS)))


def refit_best(model_set: ModelSet, X_train: pd.DataFrame, y_train) -> ModelSet:
    """Refit the model ``model_set`` chose on new training data, without comparing the models again.

    The comparison (cross-validation) of :func:`fit_models` picks a model on one window
    and the held-out test validates it; the model used on today's records is that same
    model refitted on the latest data. Refitting every model and cross-validating again
    could pick another one than the report validated, for 10 more fits.

    Parameters
    ----------
    model_set : ModelSet
        The fitted comparison; its ``best`` model, features and seed are reused.
    X_train : DataFrame
        Training rows with the feature columns.
    y_train : array-like of 0/1 or bool
        Outcome, at least 5 of each class.

    Returns
    -------
    ModelSet
        One model, ``best`` as in ``model_set``; ``cv_auc`` is carried over from
        ``model_set`` (the comparison that chose it).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"meetings": rng.poisson(2, 300), "role": rng.choice(["buyer", "student"], 300)})
    >>> y = rng.random(300) < 1 / (1 + np.exp(2.0 - X["meetings"] + (X["role"] == "student")))
    >>> chosen = fit_models(X.iloc[:200], y.iloc[:200], ["meetings"], ["role"], seed=0)
    >>> final = refit_best(chosen, X, y)
    >>> list(final.models) == [chosen.best] and final.best == chosen.best
    True
    """
    kind = next(kind for kind, name in MODEL_NAMES.items() if name == model_set.best)
    X = _prepare(X_train, model_set.numeric, model_set.categorical)
    y = _as_binary(y_train, len(X))
    _check_target(y)
    with _threads(len(X)):
        model = make_model(kind, model_set.numeric, model_set.categorical, model_set.seed,
                           calibration_folds=_calibration_folds(y)).fit(X, y)
    return ModelSet(models={model_set.best: model}, cv_auc=dict(model_set.cv_auc), best=model_set.best,
                    numeric=list(model_set.numeric), categorical=list(model_set.categorical),
                    reference=_reference_values(X, model_set.numeric, model_set.categorical),
                    cv_auc_std=dict(model_set.cv_auc_std), seed=model_set.seed)


# --------------------------------------------------------------------------- evaluation
def _arrays(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    y = _as_binary(y_true)
    s = np.asarray(scores, dtype=float).ravel()
    if len(y) != len(s):
        raise ValueProblem(f"y_true has {len(y)} values but the scores {len(s)}")
    return y, s


def ks_statistic(y_true, scores) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap ``TPR - FPR`` over all score thresholds.

    0 means the scores do not separate the classes, 1 that a threshold separates them
    perfectly. ``NaN`` when only one class is present.

    Examples
    --------
    >>> ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    1.0
    >>> ks_statistic([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4])
    0.5
    """
    y, s = _arrays(y_true, scores)
    if len(y) == 0 or y.min() == y.max():
        return float("nan")
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return float(np.max(tpr - fpr))


def evaluate(y_true, probability) -> dict:
    """Discrimination and accuracy of predicted probabilities.

    Returns
    -------
    dict
        ``auc`` (ROC AUC, ``NaN`` with one class), ``brier`` (mean squared error of the
        probability, lower is better), ``ks`` (:func:`ks_statistic`), ``base_rate`` (share of
        positives), ``n`` and ``n_positive``.

    Examples
    --------
    >>> out = evaluate([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> {key: round(value, 4) for key, value in out.items()}
    {'auc': 0.75, 'brier': 0.1581, 'ks': 0.5, 'base_rate': 0.5, 'n': 4, 'n_positive': 2}
    """
    y, p = _arrays(y_true, probability)
    both = len(y) > 0 and 0 < y.sum() < len(y)
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "ks": ks_statistic(y, p),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "n": int(len(y)),
        "n_positive": int(y.sum()),
    }


def lift_table(y_true, scores, n_bins: int = 10) -> pd.DataFrame:
    """Response by score decile, from the highest scores (decile 1) to the lowest.

    Records are ranked by score, highest first, ties broken by their position in the input
    (a stable sort), and cut by position into ``n_bins`` groups whose sizes differ by at most
    one (:func:`numpy.array_split`; fewer groups when there are fewer records). Missing
    scores rank last.

    Returns
    -------
    DataFrame
        ``decile``, ``contacts``, ``positives``, ``rate`` (positives / contacts), ``lift``
        (rate / overall rate), ``cumulative_contacts_share`` and ``cumulative_positives_share``
        (the cumulative gains: share of all positives found when calling the deciles down to
        this one). ``lift`` and the gains are ``NaN`` when there is no positive at all.

    Examples
    --------
    >>> t = lift_table([1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.7, 0.2, 0.2, 0.1], n_bins=3)
    >>> t[["decile", "contacts", "positives", "lift", "cumulative_positives_share"]].to_dict("list")
    {'decile': [1, 2, 3], 'contacts': [2, 2, 2], 'positives': [1, 1, 0], 'lift': [1.5, 1.5, 0.0], \
'cumulative_positives_share': [0.5, 1.0, 1.0]}
    """
    y, s = _arrays(y_true, scores)
    if len(y) == 0:
        raise ValueProblem("lift_table needs at least one record")
    require_count(n_bins, "n_bins", minimum=1)
    # Stable sort on the negated score: highest first, equal scores in input order, NaN last.
    order = np.argsort(-s, kind="stable")
    groups = np.array_split(order, min(n_bins, len(y)))
    contacts = np.array([len(group) for group in groups])
    positives = np.array([int(y[group].sum()) for group in groups])
    total_positives = int(y.sum())
    overall = total_positives / len(y)
    rate = positives / contacts
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = rate / overall if overall > 0 else np.full(len(groups), np.nan)
        gains = np.cumsum(positives) / total_positives if total_positives else np.full(len(groups), np.nan)
    return pd.DataFrame({
        "decile": np.arange(1, len(groups) + 1),
        "contacts": contacts,
        "positives": positives,
        "rate": rate,
        "lift": lift,
        "cumulative_contacts_share": np.cumsum(contacts) / len(y),
        "cumulative_positives_share": gains,
    })


def calibration_table(y_true, probability, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed rate in equal-count probability bins.

    Bin edges are the quantiles of the predicted probabilities; duplicate edges (many equal
    predictions) are merged, so there can be fewer than ``n_bins`` bins. Bins are right-closed
    like :func:`pandas.qcut`; empty bins are dropped.

    Returns
    -------
    DataFrame
        ``bin`` (1 = lowest probabilities), ``contacts``, ``mean_predicted``, ``observed_rate``.
        A well calibrated model has ``observed_rate`` close to ``mean_predicted`` in every bin.

    Examples
    --------
    >>> calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], n_bins=2).round(3).to_dict("list")
    {'bin': [1, 2], 'contacts': [2, 2], 'mean_predicted': [0.15, 0.35], 'observed_rate': [0.0, 1.0]}
    """
    y, p = _arrays(y_true, probability)
    keep = ~np.isnan(p)
    y, p = y[keep], p[keep]
    if len(y) == 0:
        raise ValueProblem("calibration_table needs at least one record with a probability")
    edges = np.unique(np.quantile(p, np.linspace(0, 1, max(n_bins, 1) + 1)))
    bins = np.searchsorted(edges[1:-1], p, side="left") if len(edges) > 2 else np.zeros(len(p), dtype=int)
    frame = pd.DataFrame({"bin": bins, "y": y, "p": p})
    table = frame.groupby("bin", sort=True).agg(contacts=("y", "size"), mean_predicted=("p", "mean"),
                                                observed_rate=("y", "mean")).reset_index(drop=True)
    table.insert(0, "bin", np.arange(1, len(table) + 1))
    table["contacts"] = table["contacts"].astype(int)
    return table


def roc_points(y_true, scores) -> pd.DataFrame:
    """Points of the ROC curve (``fpr``, ``tpr``), from (0, 0) to (1, 1).

    Examples
    --------
    >>> roc_points([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).to_dict("list")
    {'fpr': [0.0, 0.0, 0.5, 0.5, 1.0], 'tpr': [0.0, 0.5, 0.5, 1.0, 1.0]}
    """
    y, s = _arrays(y_true, scores)
    if len(y) == 0 or y.min() == y.max():
        raise ValueProblem("roc_points needs both classes in y_true")
    fpr, tpr, _ = roc_curve(y, s)
    return pd.DataFrame({"fpr": fpr.astype(float), "tpr": tpr.astype(float)})


# --------------------------------------------------------------------------- explanation
def format_value(value) -> str:
    """A feature value for a sentence: integers with thousands separators, other numbers with 2 decimals.

    Numbers below 1 in absolute value keep 2 significant digits; negative numbers use the
    Unicode minus sign; missing values read ``missing``.

    Examples
    --------
    >>> [format_value(v) for v in (45000, 45000.0, 3.14159, 0.012345, -2.5, "student / intern", None)]
    ['45,000', '45,000', '3.14', '0.012', '−2.5', 'student / intern', 'missing']
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        text = f"{int(value):,}"
    elif isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isinf(number):
            text = "inf" if number > 0 else "-inf"
        elif number.is_integer():
            text = f"{int(number):,}"
        elif abs(number) >= 1:
            text = f"{number:,.2f}".rstrip("0").rstrip(".")
        else:
            decimals = 1 - math.floor(math.log10(abs(number)))
            text = f"{number:.{decimals}f}".rstrip("0").rstrip(".")
    else:
        return str(value)
    return text.replace("-", MINUS)


def _points(contribution: float) -> int:
    """Percentage points, rounded half away from zero."""
    return int(math.copysign(math.floor(abs(contribution) * 100 + 0.5), contribution))


def _factor_text(points: int, feature: str, value) -> str:
    sign = "+" if points > 0 else MINUS
    return f"{sign}{abs(points)} pts {feature}={format_value(value)}"


def explain(model_set: ModelSet, X: pd.DataFrame, name: str | None = None, top_n: int = 3,
            reference: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Why each record scores what it scores: occlusion contributions of every feature.

    The contribution of a feature to a record is ``p(x) - p(x')`` where ``x'`` is the record
    with that feature replaced by its reference value: the training median (numeric) or the
    most frequent training value (categorical), stored in ``model_set.reference``;
    ``reference`` overrides some or all of them. One prediction over all rows per feature.
    Contributions do not add up to the score in general (features interact, and the
    reference record does not score the base rate); they say how much the score would move
    if the record were typical on that feature.

    Parameters
    ----------
    model_set : ModelSet
    X : DataFrame
        Records to explain, with the feature columns.
    name : str, optional
        Model to explain (default: the best).
    top_n : int
        Number of factors in ``top_factors``.
    reference : mapping, optional
        Feature -> reference value, overriding the stored ones.

    Returns
    -------
    DataFrame
        Same index as ``X``; one column per feature with its contribution as a difference of
        probabilities (0.12 = 12 percentage points) and ``top_factors``: the ``top`` largest
        absolute contributions as text, e.g. ``+12 pts meetings=3; −8 pts role=student``, in
        rounded percentage points; features whose contribution rounds to 0 points are left
        out (empty text when none is left).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"meetings": rng.poisson(2, 300), "role": rng.choice(["buyer", "student"], 300)})
    >>> y = rng.random(300) < 1 / (1 + np.exp(2.0 - X["meetings"] + 2 * (X["role"] == "student")))
    >>> ms = fit_models(X, y, ["meetings"], ["role"], seed=0, kinds=("logistic",))
    >>> ms.reference
    {'meetings': 2.0, 'role': 'student'}
    >>> new = pd.DataFrame({"meetings": [5, 2, 0], "role": ["buyer", "student", "buyer"]})
    >>> explain(ms, new)["top_factors"].tolist()
    ['+44 pts meetings=5; +20 pts role=buyer', '', '−37 pts meetings=0; +11 pts role=buyer']
    """
    chosen = _resolve_name(model_set.models, name, model_set.best)
    model = model_set.models[chosen]
    data = model_set.prepare(X)
    values = {**model_set.reference, **dict(reference or {})}
    features = model_set.features
    copies = [data]
    for feature in features:
        occluded = data.copy()
        value = values.get(feature, np.nan)
        if feature in model_set.categorical:
            occluded[feature] = _categorical_column(pd.Series([value] * len(data), dtype=object))
        else:
            occluded[feature] = float(value)
        copies.append(occluded)
    # The models score every row on its own: the copies are scored in a few large batches (as in
    # permutation_importance_table), which changes nothing but the number of model calls.
    per_batch = max(1, PERMUTATION_BATCH_ROWS // max(len(data), 1))
    scored = []
    with _threads(len(data) * min(per_batch, len(copies))):
        for first in range(0, len(copies), per_batch):
            batch = copies[first:first + per_batch]
            scored.append(model.predict_proba(pd.concat(batch, ignore_index=True))[:, 1])
    predictions = np.concatenate(scored).reshape(len(copies), len(data))
    contributions = (predictions[0] - predictions[1:]).T
    result = pd.DataFrame(contributions, index=X.index, columns=features)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")
    raw = X[features].to_numpy(dtype=object)
    texts = []
    for row in range(len(data)):
        parts = []
        for position in order[row]:
            if len(parts) >= top_n:
                break
            points = _points(contributions[row, position])
            if points:
                parts.append(_factor_text(points, features[position], raw[row, position]))
        texts.append("; ".join(parts))
    result["top_factors"] = texts
    return result


def coefficients(model_set: ModelSet) -> pd.DataFrame:
    """The logistic regression's coefficients by transformed feature, largest effect first.

    Numeric features are standardised, so their coefficient is the change in log-odds for
    one standard deviation more; a categorical level's coefficient is relative to the
    average level (one-hot encoding without a dropped level, with L2 penalty).
    ``odds_ratio = exp(coefficient)``: above 1 raises the odds, below 1 lowers them. The
    intercept is in ``table.attrs["intercept"]``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"meetings": rng.poisson(2, 300), "role": rng.choice(["buyer", "student"], 300)})
    >>> y = rng.random(300) < 1 / (1 + np.exp(2.0 - X["meetings"] + 2 * (X["role"] == "student")))
    >>> table = coefficients(fit_models(X, y, ["meetings"], ["role"], seed=0, kinds=("logistic",)))
    >>> table.round(2).to_dict("list")
    {'feature': ['meetings', 'role=buyer', 'role=student'], 'coefficient': [1.39, 0.86, -0.86], \
'odds_ratio': [4.03, 2.37, 0.42]}
    """
    name = MODEL_NAMES["logistic"]
    if name not in model_set.models:
        raise ValueProblem("the model set has no logistic regression: fit it with kinds including 'logistic'")
    pipeline = model_set.models[name]
    names = pipeline.named_steps["encode"].get_feature_names_out()
    regression = pipeline.named_steps["model"]
    coef = regression.coef_.ravel()
    table = pd.DataFrame({"feature": [str(n) for n in names], "coefficient": coef,
                          "odds_ratio": np.exp(coef)})
    table = table.iloc[np.argsort(-np.abs(coef), kind="stable")].reset_index(drop=True)
    table.attrs["intercept"] = float(regression.intercept_[0])
    return table


def permutation_importance_table(model_set: ModelSet, X: pd.DataFrame, y, name: str | None = None,
                                 seed: int | None = None, n_repeats: int = 5) -> pd.DataFrame:
    """How much the ROC AUC drops when one feature is shuffled (mean and std over ``n_repeats``).

    Best computed on held-out data. The same figures as
    :func:`sklearn.inspection.permutation_importance` with ``scoring="roc_auc"`` and
    ``random_state=seed`` (default: the model set's seed): the same shuffles, drawn in the
    same order, scored on the same response (the decision function when the model has one,
    else the probability of class 1). But the ``n_features * n_repeats`` shuffled copies of
    ``X`` are scored in a few large batches instead of one model call each (the models score
    every row on its own, so the batches change nothing but the time: a calibrated gradient
    boosting runs its 5 boosted models once per batch instead of once per copy).

    Returns
    -------
    DataFrame
        ``feature``, ``importance`` (mean drop in AUC), ``std``; most important first.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"meetings": rng.poisson(2, 300), "noise": rng.normal(size=300)})
    >>> y = rng.random(300) < 1 / (1 + np.exp(2.0 - X["meetings"]))
    >>> ms = fit_models(X, y, ["meetings", "noise"], [], seed=0, kinds=("logistic",))
    >>> permutation_importance_table(ms, X, y)["feature"].tolist()
    ['meetings', 'noise']
    """
    chosen = _resolve_name(model_set.models, name, model_set.best)
    data = model_set.prepare(X)
    target = _as_binary(y, len(data))
    model = model_set.models[chosen]
    response = model.decision_function if hasattr(model, "decision_function") else \
        (lambda frame: model.predict_proba(frame)[:, 1])
    copies = list(_shuffled_copies(data, n_repeats, model_set.seed if seed is None else seed))
    per_batch = max(1, PERMUTATION_BATCH_ROWS // max(len(data), 1))
    scores = []
    with _threads(len(data) * min(per_batch, len(copies) or 1)):
        baseline = roc_auc_score(target, response(data))
        for first in range(0, len(copies), per_batch):
            batch = copies[first:first + per_batch]
            values = np.asarray(response(pd.concat(batch, ignore_index=True)), dtype="float64")
            scores += [roc_auc_score(target, part) for part in values.reshape(len(batch), len(data))]
    drops = baseline - np.asarray(scores, dtype="float64").reshape(data.shape[1], n_repeats)
    table = pd.DataFrame({"feature": list(data.columns), "importance": drops.mean(axis=1),
                          "std": drops.std(axis=1)})
    return table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _shuffled_copies(data: pd.DataFrame, n_repeats: int, seed: int):
    """The shuffled copies of ``data`` that ``sklearn.inspection.permutation_importance`` scores, in its order.

    As scikit-learn does: one seed drawn from ``random_state``; for every column a
    ``RandomState`` from that seed shuffles an index in place ``n_repeats`` times, each
    shuffle reordering the column as left by the previous one.
    """
    column_seed = check_random_state(seed).randint(np.iinfo(np.int32).max + 1)
    for column in data.columns:
        state = check_random_state(column_seed)
        order = np.arange(len(data))
        values = data[column].to_numpy(copy=True)
        for _ in range(n_repeats):
            state.shuffle(order)
            values = values[order]
            copy = data.copy()
            copy[column] = pd.Series(values, index=data.index, dtype=data[column].dtype)
            yield copy
