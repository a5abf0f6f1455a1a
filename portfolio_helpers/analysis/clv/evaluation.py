"""The purchase models against the purchases that followed the calibration period.

:func:`holdout_table` compares each fitted model with two naive baselines on the holdout
(the customer repeats its calibration rate; every customer buys at the population's
calibration rate): per-customer MAE and RMSE of the holdout repeat purchases, the predicted
and actual totals, the Spearman rank correlation and the top-decile capture (share of the
actual holdout purchases made by the 10% of customers ranked highest by the prediction).
:func:`tracking` gives the repeat purchases per time unit, actual and predicted;
:func:`conditional_expectation` the mean holdout purchases by calibration frequency
(0, 1, ..., 7+). :func:`choose_model` picks the model for the valuation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from portfolio_helpers.analysis.clv import models
from portfolio_helpers.core.validation import require_columns

__all__ = ["BASELINES", "holdout_predictions", "holdout_table", "tracking", "conditional_expectation",
           "choose_model", "HOLDOUT_COLUMNS"]

BASELINES = {"own_rate": "the customer repeats its calibration rate",
             "average_rate": "every customer buys at the population's average rate"}
_SUMMARY = ["frequency", "recency", "T", "duration_holdout", "holdout_frequency"]
HOLDOUT_COLUMNS = ("model", "name", "mae", "rmse", "predicted_total", "actual_total", "spearman",
                   "top_decile_capture")


def holdout_predictions(calibration: pd.DataFrame, fits: dict) -> pd.DataFrame:
    """Predicted holdout repeat purchases per customer: one column per fitted model and per baseline.

    ``calibration`` is a :func:`~portfolio_helpers.analysis.clv.summary.calibration_holdout` frame;
    ``fits`` maps model keys to :class:`~portfolio_helpers.analysis.clv.models.Fit`.

    Examples
    --------
    >>> cal = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 8.0], "T": [10.0, 10.0],
    ...                     "duration_holdout": [5.0, 5.0], "holdout_frequency": [0, 1]})
    >>> holdout_predictions(cal, {}).to_dict("list")
    {'own_rate': [0.0, 1.0], 'average_rate': [0.5, 0.5]}
    """
    require_columns(calibration, _SUMMARY, table="calibration summary")
    x = calibration["frequency"].to_numpy(np.float64)
    tx = calibration["recency"].to_numpy(np.float64)
    T = calibration["T"].to_numpy(np.float64)
    t = calibration["duration_holdout"].to_numpy(np.float64)
    out = {key: models.conditional_expected_purchases(key, fit.values(), t, x, tx, T) for key, fit in fits.items()}
    out["own_rate"] = np.where(T > 0, x / np.where(T > 0, T, 1.0), 0.0) * t
    exposure = T.sum()
    out["average_rate"] = np.full(len(x), x.sum() / exposure if exposure > 0 else 0.0) * t
    return pd.DataFrame(out, index=calibration.index)


def _top_decile_capture(predicted: np.ndarray, actual: np.ndarray) -> float:
    total = actual.sum()
    if total <= 0 or len(actual) == 0:
        return float("nan")
    n_top = max(int(np.ceil(0.1 * len(actual))), 1)
    order = np.argsort(-predicted, kind="stable")
    return float(actual[order[:n_top]].sum() / total)


def holdout_table(calibration: pd.DataFrame, fits: dict) -> pd.DataFrame:
    """One row per model and baseline: MAE, RMSE, totals, Spearman and top-decile capture on the holdout.

    Examples
    --------
    >>> cal = pd.DataFrame({"frequency": [0, 2, 1], "recency": [0.0, 8.0, 3.0], "T": [10.0, 10.0, 9.0],
    ...                     "duration_holdout": [5.0, 5.0, 5.0], "holdout_frequency": [0, 1, 1]})
    >>> holdout_table(cal, {}).round(3)[["model", "mae", "predicted_total", "actual_total"]]
              model    mae  predicted_total  actual_total
    0      own_rate  0.148            1.556             2
    1  average_rate  0.494            1.552             2
    """
    predictions = holdout_predictions(calibration, fits)
    actual = calibration["holdout_frequency"].to_numpy(np.float64)
    rows = []
    for key in predictions.columns:
        predicted = predictions[key].to_numpy(np.float64)
        error = predicted - actual
        constant = len(actual) < 2 or np.ptp(predicted) == 0 or np.ptp(actual) == 0
        rho = float("nan") if constant else float(stats.spearmanr(predicted, actual).statistic)
        rows.append({"model": key, "name": models.MODEL_NAMES.get(key, BASELINES.get(key, key)),
                     "mae": float(np.mean(np.abs(error))) if len(actual) else float("nan"),
                     "rmse": float(np.sqrt(np.mean(error**2))) if len(actual) else float("nan"),
                     "predicted_total": float(predicted.sum()), "actual_total": int(actual.sum()),
                     "spearman": rho, "top_decile_capture": _top_decile_capture(predicted, actual)})
    return pd.DataFrame(rows, columns=list(HOLDOUT_COLUMNS))


def _first_offsets(calibration: pd.DataFrame, unit: float) -> tuple[np.ndarray, np.ndarray]:
    first = pd.to_datetime(calibration["first_purchase"])
    offsets = ((first - first.min()).dt.days.to_numpy() / unit)
    return np.unique(offsets, return_counts=True)


def tracking(actual: pd.DataFrame, calibration: pd.DataFrame, fits: dict, time_unit: str) -> pd.DataFrame:
    """Repeat purchases per time unit, actual and predicted by each model, incremental and cumulative.

    Parameters
    ----------
    actual : DataFrame
        :func:`~portfolio_helpers.analysis.clv.summary.repeat_purchases_by_period`.
    calibration : DataFrame
        The calibration summary (its ``first_purchase`` column dates each customer's start).
    fits : dict
        Fitted purchase models by key.
    time_unit : str
        The time unit of the fits.

    Returns
    -------
    DataFrame
        ``period, actual, actual_cumulative`` and ``<model>, <model>_cumulative`` per model.
    """
    from portfolio_helpers.analysis.clv.summary import unit_days

    require_columns(actual, ["period", "period_end", "repeat_purchases"], table="repeat purchases by period")
    offsets, counts = _first_offsets(calibration, unit_days(time_unit))
    out = pd.DataFrame({"period": actual["period"].to_numpy(),
                        "actual": actual["repeat_purchases"].to_numpy(np.float64)})
    out["actual_cumulative"] = out["actual"].cumsum()
    ends = actual["period_end"].to_numpy(np.float64)
    for key, fit in fits.items():
        ages = np.maximum(ends[:, None] - offsets[None, :], 0.0)
        cumulative = models.expected_purchases(key, fit.values(), ages) @ counts
        out[f"{key}_cumulative"] = cumulative
        out[key] = np.diff(cumulative, prepend=0.0)
    return out


def conditional_expectation(calibration: pd.DataFrame, fits: dict, top: int = 7) -> pd.DataFrame:
    """Mean holdout repeat purchases by calibration frequency (``0, 1, ..., 7+``), actual and per model.

    Examples
    --------
    >>> cal = pd.DataFrame({"frequency": [0, 0, 9], "recency": [0.0, 0.0, 8.0], "T": [10.0, 10.0, 10.0],
    ...                     "duration_holdout": [5.0] * 3, "holdout_frequency": [0, 1, 4]})
    >>> conditional_expectation(cal, {})[["frequency", "n_customers", "actual"]].to_dict("list")
    {'frequency': ['0', '7+'], 'n_customers': [2, 1], 'actual': [0.5, 4.0]}
    """
    predictions = holdout_predictions(calibration, fits)[list(fits)]
    bucket = np.minimum(calibration["frequency"].to_numpy(), top)
    frame = predictions.assign(_bucket=bucket, actual=calibration["holdout_frequency"].to_numpy(np.float64),
                               n_customers=1)
    grouped = frame.groupby("_bucket")
    out = grouped[["actual", *fits]].mean()
    out.insert(0, "n_customers", grouped["n_customers"].sum())
    labels = [f"{int(b)}+" if b == top else str(int(b)) for b in out.index]
    return out.reset_index(drop=True).assign(frequency=labels)[["frequency", "n_customers", "actual", *fits]]


def choose_model(table: pd.DataFrame | None, fits: dict, requested: str = "auto") -> dict:
    """The purchase model used for valuation, with the reason.

    Rule: a model named in the config (``requested``) is used when its fit converged. With
    ``auto``, the converged model with the lowest holdout MAE; without a holdout table, the
    converged model with the highest log-likelihood (all three have four parameters). ``None``
    when no model converged.

    Returns
    -------
    dict
        ``model`` (key or None), ``reason`` (``"requested"``, ``"lowest holdout error"``,
        ``"highest likelihood"``, ``"requested model failed"``, ``"no model converged"``),
        ``value`` (the MAE or log-likelihood that decided) and ``runner_up``.

    Examples
    --------
    >>> fit = models.Fit("bgnbd", {}, {}, -10.0, 5, "converged")
    >>> choose_model(None, {"bgnbd": fit})["reason"]
    'highest likelihood'
    """
    usable = {key: fit for key, fit in fits.items() if fit.ok}
    if requested != "auto" and requested in usable:
        return {"model": requested, "reason": "requested", "value": float("nan"), "runner_up": None}
    if not usable:
        return {"model": None, "reason": "no model converged", "value": float("nan"), "runner_up": None}
    if table is not None and not table.empty:
        scored = table[table["model"].isin(list(usable))].sort_values(["mae", "model"])
        key, value, reason = scored["model"].iloc[0], float(scored["mae"].iloc[0]), "lowest holdout error"
        runner = scored["model"].iloc[1] if len(scored) > 1 else None
    else:
        ranked = sorted(usable, key=lambda k: (-usable[k].loglik, k))
        key, value, reason = ranked[0], usable[ranked[0]].loglik, "highest likelihood"
        runner = ranked[1] if len(ranked) > 1 else None
    if requested != "auto":
        reason = "requested model failed"
    return {"model": key, "reason": reason, "value": value, "runner_up": runner}
