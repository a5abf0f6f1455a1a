"""Customer value over a horizon, on revenue and on profit; the ``clv:`` config; is the data fit?

Config
------
.. code-block:: yaml

    clv:                                # every key optional
      calibration_end: 1997-09-30       # holdout evaluation of the models after this day
      time_unit: week                   # week | day | month (an average month, 365.25/12 days)
      horizon_months: 12                # valuation horizon
      discount_rate: 0.10               # yearly
      model: auto                       # auto | bgnbd | pnbd | mbgnbd

Definitions
-----------
Purchases are purchase days (:mod:`~portfolio_helpers.analysis.clv.summary`). Over the
horizon, per customer:

- ``expected_purchases``: the conditional expected purchases of the chosen model;
- ``expected_spend``: the Gamma-Gamma expected value of a purchase (its population mean for a
  customer without a positive mean repeat value, e.g. whose returns outweigh the repeat purchases;
  without a spend model: the customer's mean repeat value when positive, else the mean over those
  repeat buyers);
- ``margin_rate``: the customer's gross-margin rate from the profitability P&L
  (:func:`portfolio_helpers.analysis.profitability.customer_pnl`); the portfolio's rate when the
  customer's revenue is not positive;
- ``cost_per_purchase``: the customer's cost to serve (P&L) per purchase day so far; the
  portfolio's when the customer has none;
- ``expected_revenue = expected_purchases x expected_spend``;
- ``expected_profit = expected_purchases x (expected_spend x margin_rate - cost_per_purchase)``;
- ``clv`` and ``clv_profit``: the same, each month's expected purchases discounted at the
  yearly ``discount_rate`` from the end of that month.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio_helpers.analysis.clv import models
from portfolio_helpers.analysis.clv.summary import TIME_UNITS, months_to_units
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.core.validation import require_columns, suggest

__all__ = ["CLV_KEYS", "ClvSettings", "clv_settings_from_config", "load_clv_settings", "MIN_REPEAT_BUYERS",
           "MIN_HOLDOUT_UNITS", "data_fitness", "customer_value", "portfolio_intervals", "rank_movers",
           "worth_calling", "value_by_group", "spend_frequency_correlation", "VALUE_COLUMNS"]

CLV_KEYS = ("calibration_end", "time_unit", "horizon_months", "discount_rate", "model")
MODEL_CHOICES = ("auto", *models.PURCHASE_MODELS)
MIN_REPEAT_BUYERS = 30
MIN_HOLDOUT_UNITS = 4.0
#: Per-customer value columns (``customer_id`` first).
VALUE_COLUMNS = ("customer_id", "p_alive", "expected_purchases", "expected_spend", "margin_rate",
                 "cost_per_purchase", "expected_revenue", "expected_profit", "clv", "clv_profit")


@dataclass(frozen=True)
class ClvSettings:
    """The ``clv:`` section (defaults when absent)."""

    calibration_end: pd.Timestamp | None = None
    time_unit: str = "week"
    horizon_months: float = 12.0
    discount_rate: float = 0.10
    model: str = "auto"


def clv_settings_from_config(section, config_path: str | os.PathLike | None = None) -> ClvSettings:
    """Validate the ``clv:`` section of a portfolio config.

    Examples
    --------
    >>> clv_settings_from_config({"time_unit": "day", "horizon_months": 24}).horizon_months
    24.0
    >>> clv_settings_from_config({"horizon_month": 24}, "portfolio.yml")
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: portfolio.yml: clv.horizon_month: unknown key (did you mean 'horizon_months'?); expected one of: calibration_end, time_unit, horizon_months, discount_rate, model
    """
    prefix = f"{config_path}: " if config_path is not None else ""
    if section is None:
        return ClvSettings()
    if not isinstance(section, Mapping):
        raise ConfigError(f"{prefix}clv: expected a mapping such as {{time_unit: week, horizon_months: 12}}, "
                          f"got {section!r}")
    for key in section:
        if key not in CLV_KEYS:
            raise ConfigError(f"{prefix}clv.{key}: unknown key{suggest(key, CLV_KEYS)}; "
                              f"expected one of: {', '.join(CLV_KEYS)}")
    settings = {}
    end = section.get("calibration_end")
    if end is not None:
        try:
            settings["calibration_end"] = pd.Timestamp(end if isinstance(end, dt.date) else
                                                       dt.date.fromisoformat(str(end).strip())).normalize()
        except ValueError:
            raise ConfigError(f"{prefix}clv.calibration_end: '{end}' is not a date in YYYY-MM-DD form") from None
    unit = section.get("time_unit", "week")
    if unit not in TIME_UNITS:
        raise ConfigError(f"{prefix}clv.time_unit: must be one of {', '.join(TIME_UNITS)}, got {unit!r}"
                          f"{suggest(unit, TIME_UNITS)}")
    settings["time_unit"] = unit
    horizon = section.get("horizon_months", 12)
    if isinstance(horizon, bool) or not isinstance(horizon, int | float) or not 0 < horizon <= 600:
        raise ConfigError(f"{prefix}clv.horizon_months: must be a number of months between 1 and 600, "
                          f"got {horizon!r}")
    settings["horizon_months"] = float(horizon)
    rate = section.get("discount_rate", 0.10)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
        raise ConfigError(f"{prefix}clv.discount_rate: must be a yearly rate between 0 and 1 "
                          f"(0.10 = 10% a year), got {rate!r}")
    settings["discount_rate"] = float(rate)
    model = section.get("model", "auto")
    if model not in MODEL_CHOICES:
        raise ConfigError(f"{prefix}clv.model: must be one of {', '.join(MODEL_CHOICES)}, got {model!r}"
                          f"{suggest(model, MODEL_CHOICES)}")
    settings["model"] = model
    return ClvSettings(**settings)


def load_clv_settings(config_path: str | os.PathLike) -> ClvSettings:
    """The :class:`ClvSettings` of a portfolio config file."""
    from portfolio_helpers.core.config import load_config

    config = load_config(config_path)
    return clv_settings_from_config(config.sections.get("clv"), config.path)


# --------------------------------------------------------------------------- fitness

def spend_frequency_correlation(summary: pd.DataFrame) -> float:
    """Pearson correlation of frequency and mean repeat value among repeat buyers (Gamma-Gamma assumes ~0).

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [1, 2, 3, 0], "monetary_value": [10.0, 10.0, 13.0, 0.0]})
    >>> round(spend_frequency_correlation(s), 3)
    0.866
    """
    require_columns(summary, ["frequency", "monetary_value"], table="summary")
    buyers = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(buyers) < 3 or buyers["frequency"].nunique() < 2 or buyers["monetary_value"].nunique() < 2:
        return float("nan")
    return float(np.corrcoef(buyers["frequency"], buyers["monetary_value"])[0, 1])


def data_fitness(summary: pd.DataFrame, regularity: pd.DataFrame | None = None,
                 holdout_units: float | None = None) -> dict:
    """What the data allows: fit the purchase models, the spend model, evaluate on a holdout.

    Parameters
    ----------
    summary : DataFrame
        :func:`~portfolio_helpers.analysis.clv.summary.rfm_summary` (of the calibration period
        when there is a holdout).
    regularity : DataFrame, optional
        :func:`~portfolio_helpers.analysis.clv.summary.purchase_regularity`.
    holdout_units : float, optional
        Holdout length in time units; ``None`` without a calibration end.

    Returns
    -------
    dict
        ``can_fit``, ``can_fit_spend``, ``can_evaluate`` (bool), ``problems`` (codes:
        ``no_customers``, ``single_day``, ``few_repeat_buyers``, ``few_spend_buyers``,
        ``regular_purchases``, ``no_holdout``, ``short_holdout``) and the numbers they are
        worded from: ``n_customers``, ``n_repeat_buyers``, ``n_spend_buyers``,
        ``regular_share``, ``n_regular``, ``holdout_units``.

    Examples
    --------
    >>> s = pd.DataFrame({"frequency": [0, 1], "recency": [0.0, 2.0], "T": [5.0, 5.0],
    ...                   "monetary_value": [0.0, 10.0], "first_purchase": pd.to_datetime(["2020-01-01"] * 2)})
    >>> data_fitness(s, holdout_units=2.0)["problems"]
    ['few_repeat_buyers', 'few_spend_buyers', 'short_holdout']
    """
    require_columns(summary, ["frequency", "monetary_value", "first_purchase"], table="summary")
    n = len(summary)
    repeat = int((summary["frequency"] > 0).sum())
    spend = int(((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).sum())
    problems = []
    if n == 0:
        problems.append("no_customers")
    elif repeat == 0 and summary["first_purchase"].nunique() == 1:
        problems.append("single_day")
    if repeat < MIN_REPEAT_BUYERS:
        problems.append("few_repeat_buyers")
    if spend < MIN_REPEAT_BUYERS:
        problems.append("few_spend_buyers")
    regular_share, n_regular = float("nan"), 0
    if regularity is not None and len(regularity) >= 10:
        regular = regularity["gap_cv"] < 0.15
        regular_share, n_regular = float(regular.mean()), int(regular.sum())
        if regular_share >= 0.5:
            problems.append("regular_purchases")
    if holdout_units is None:
        problems.append("no_holdout")
    elif holdout_units < MIN_HOLDOUT_UNITS:
        problems.append("short_holdout")
    can_fit = not {"no_customers", "single_day", "few_repeat_buyers"} & set(problems)
    return {"can_fit": can_fit, "can_fit_spend": can_fit and "few_spend_buyers" not in problems,
            "can_evaluate": can_fit and holdout_units is not None and holdout_units >= MIN_HOLDOUT_UNITS,
            "problems": problems, "n_customers": n, "n_repeat_buyers": repeat, "n_spend_buyers": spend,
            "regular_share": regular_share, "n_regular": n_regular, "holdout_units": holdout_units}


# --------------------------------------------------------------------------- value

def _steps(horizon_months: float, discount_rate: float, time_unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Month ends of the horizon in time units and their discount factors."""
    months = np.minimum(np.arange(1, math.ceil(horizon_months) + 1, dtype=np.float64), horizon_months)
    ends = np.array([months_to_units(m, time_unit) for m in months])
    return ends, (1.0 + discount_rate) ** (-months / 12.0)


def _purchases(model: str, params, x, tx, T, ends: np.ndarray, discounts: np.ndarray):
    """(expected purchases over the horizon, discounted expected purchases) per row."""
    cumulative = np.stack([models.conditional_expected_purchases(model, params, end, x, tx, T) for end in ends])
    increments = np.diff(cumulative, axis=0, prepend=0.0)
    return cumulative[-1], discounts @ increments


def _unit_economics(summary: pd.DataFrame, pnl: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Per customer of ``summary``: the gross-margin rate and the cost to serve per purchase day (P&L)."""
    n = len(summary)
    if pnl is None:
        return np.full(n, np.nan), np.full(n, np.nan)
    require_columns(pnl, ["customer_id", "revenue", "gross_margin", "cost_to_serve", "margin_rate"], table="P&L")
    p = pnl.drop_duplicates("customer_id").astype({"customer_id": "string"}).set_index("customer_id")
    p = p.reindex(summary["customer_id"].astype("string"))
    revenue = p["revenue"].to_numpy(np.float64)
    total_revenue = np.nansum(revenue)
    portfolio_rate = np.nansum(p["gross_margin"].to_numpy(np.float64)) / total_revenue if total_revenue > 0 else np.nan
    rate = p["margin_rate"].to_numpy(np.float64)
    rate = np.where(np.isfinite(rate) & (revenue > 0), rate, portfolio_rate)
    days = summary["frequency"].to_numpy(np.float64) + 1
    cost = p["cost_to_serve"].to_numpy(np.float64)
    portfolio_cost = np.nansum(cost) / days[np.isfinite(cost)].sum() if np.isfinite(cost).any() else 0.0
    return rate, np.where(np.isfinite(cost), cost / days, portfolio_cost)


def _spend(summary: pd.DataFrame, spend_fit: models.Fit | None, params=None) -> np.ndarray:
    x = summary["frequency"].to_numpy(np.float64)
    m = summary["monetary_value"].to_numpy(np.float64)
    buyers = (x > 0) & (m > 0)
    if spend_fit is not None:  # the model knows positive spend only: no positive repeat value, the population mean
        return models.expected_spend(params if params is not None else spend_fit.values(), np.where(buyers, x, 0.0),
                                     np.where(buyers, m, 0.0))
    mean = float(m[buyers].mean()) if buyers.any() else 0.0
    return np.where(buyers, m, mean)


def customer_value(summary: pd.DataFrame, fit: models.Fit, spend_fit: models.Fit | None = None,
                   pnl: pd.DataFrame | None = None, horizon_months: float = 12.0, discount_rate: float = 0.10,
                   time_unit: str = "week") -> pd.DataFrame:
    """Per customer: P(alive), expected purchases, spend, revenue and profit over the horizon, discounted CLV.

    Parameters
    ----------
    summary : DataFrame
        :func:`~portfolio_helpers.analysis.clv.summary.rfm_summary` at ``as_of`` (in ``time_unit``).
    fit : Fit
        The purchase model (fitted on ``summary``).
    spend_fit : Fit, optional
        The Gamma-Gamma fit; without it the customer's mean repeat value (see the module docstring).
    pnl : DataFrame, optional
        The profitability P&L (``customer_id, revenue, gross_margin, cost_to_serve, margin_rate``);
        without it the profit columns are NaN.
    horizon_months, discount_rate, time_unit
        Horizon in months, yearly discount rate, time unit of ``summary`` and ``fit``.

    Returns
    -------
    DataFrame
        :data:`VALUE_COLUMNS`, in the order of ``summary``.

    Examples
    --------
    >>> s = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [2, 0], "recency": [30.43, 0.0],
    ...                   "T": [38.86, 38.86], "monetary_value": [20.0, 0.0]})
    >>> fit = models.Fit("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, {}, 0.0, 2, "converged")
    >>> pnl = pd.DataFrame({"customer_id": ["a", "b"], "revenue": [60.0, 10.0], "gross_margin": [30.0, 5.0],
    ...                     "cost_to_serve": [6.0, 1.0], "margin_rate": [0.5, 0.5]})
    >>> v = customer_value(s, fit, pnl=pnl, discount_rate=0.0)
    >>> v[["expected_revenue", "expected_profit"]].round(2).to_dict("list")
    {'expected_revenue': [31.26, 5.06], 'expected_profit': [12.5, 2.28]}
    """
    require_columns(summary, ["customer_id", "frequency", "recency", "T", "monetary_value"], table="summary")
    ends, discounts = _steps(horizon_months, discount_rate, time_unit)
    x = summary["frequency"].to_numpy(np.float64)
    tx = summary["recency"].to_numpy(np.float64)
    T = summary["T"].to_numpy(np.float64)
    (ux, utx, uT), inverse = _distinct_rows(x, tx, T)
    purchases, discounted = _purchases(fit.model, fit.values(), ux, utx, uT, ends, discounts)
    purchases, discounted = purchases[inverse], discounted[inverse]
    spend = _spend(summary, spend_fit)
    rate, cost = _unit_economics(summary, pnl)
    unit_profit = spend * rate - cost
    return pd.DataFrame({
        "customer_id": summary["customer_id"].astype("string").to_numpy(),
        "p_alive": models.p_alive(fit.model, fit.values(), x, tx, T),
        "expected_purchases": purchases, "expected_spend": spend, "margin_rate": rate,
        "cost_per_purchase": cost, "expected_revenue": purchases * spend, "expected_profit": purchases * unit_profit,
        "clv": discounted * spend, "clv_profit": discounted * unit_profit,
    }, index=summary.index)


def _distinct_rows(*columns):
    rows, inverse = np.unique(np.column_stack(columns), axis=0, return_inverse=True)
    return [rows[:, i] for i in range(rows.shape[1])], inverse.ravel()


def portfolio_intervals(summary: pd.DataFrame, fit: models.Fit, spend_fit: models.Fit | None = None,
                        pnl: pd.DataFrame | None = None, horizon_months: float = 12.0, discount_rate: float = 0.10,
                        time_unit: str = "week", n_draws: int = 100, seed: int = 42,
                        level: float = 0.90) -> pd.DataFrame:
    """Intervals of the portfolio totals: parametric bootstrap of the model parameters.

    Each draw takes the purchase (and spend) parameters from the normal approximation of their
    log (:func:`~portfolio_helpers.analysis.clv.models.parameter_draws`, seeded) and recomputes the totals.

    Returns
    -------
    DataFrame
        One row per total (``expected_purchases, expected_revenue, expected_profit, clv,
        clv_profit``): ``estimate, low, high`` (the ``level`` interval over the draws with a finite
        total, leaving out the Gamma-Gamma draws with ``q <= 1``, whose mean spend is not finite; NaN when fewer
        than half are usable, or without a P&L for the profit rows).
    """
    require_columns(summary, ["customer_id", "frequency", "recency", "T", "monetary_value"], table="summary")
    ends, discounts = _steps(horizon_months, discount_rate, time_unit)
    x = summary["frequency"].to_numpy(np.float64)
    (ux, utx, uT), inverse = _distinct_rows(x, summary["recency"].to_numpy(np.float64),
                                            summary["T"].to_numpy(np.float64))
    rate, cost = _unit_economics(summary, pnl)
    draws = models.parameter_draws(fit, n_draws, seed)
    spend_draws = models.parameter_draws(spend_fit, n_draws, seed + 1) if spend_fit is not None else [None] * n_draws
    names = ("expected_purchases", "expected_revenue", "expected_profit", "clv", "clv_profit")
    totals = np.empty((n_draws, len(names)))
    for i in range(n_draws):
        if spend_fit is not None and spend_draws[i][1] <= 1:  # q <= 1: no finite mean spend, not a usable draw
            totals[i] = np.nan
            continue
        purchases, discounted = _purchases(fit.model, draws[i], ux, utx, uT, ends, discounts)
        spend = _spend(summary, spend_fit, spend_draws[i])
        profit = spend * rate - cost
        p, d = purchases[inverse], discounted[inverse]
        totals[i] = [p.sum(), (p * spend).sum(), (p * profit).sum(), (d * spend).sum(), (d * profit).sum()]
    point = customer_value(summary, fit, spend_fit, pnl, horizon_months, discount_rate, time_unit)
    tail = (1 - level) / 2
    totals[~np.isfinite(totals)] = np.nan  # a draw far in the tail can leave the model's domain: not counted
    usable = np.isfinite(totals).sum(axis=0) >= n_draws / 2
    low = np.array([np.nanquantile(totals[:, j], tail) if usable[j] else np.nan for j in range(len(names))])
    high = np.array([np.nanquantile(totals[:, j], 1 - tail) if usable[j] else np.nan for j in range(len(names))])
    return pd.DataFrame({"total": names, "estimate": [float(point[name].sum(min_count=1)) for name in names],
                         "low": low, "high": high})


# --------------------------------------------------------------------------- who

def rank_movers(value: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The customers who move most between the revenue ranking (``clv``) and the profit ranking (``clv_profit``).

    Ranks are 1 for the highest value, compared to the cent; a tie is broken by the other value (to the
    cent), then by customer id, so that when profit is the same share of revenue for everyone the two
    rankings agree exactly (no move from rounding noise). ``rank_shift = revenue_rank - profit_rank`` (positive: better on profit
    than on revenue); only customers who move are listed (none when the rankings agree).

    Examples
    --------
    >>> v = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [30.0, 20.0, 10.0],
    ...                   "clv_profit": [-5.0, 8.0, 4.0]})
    >>> rank_movers(v, n=1)[["customer_id", "revenue_rank", "profit_rank", "rank_shift"]].to_dict("records")
    [{'customer_id': 'a', 'revenue_rank': 1, 'profit_rank': 3, 'rank_shift': -2}]
    """
    require_columns(value, ["customer_id", "clv", "clv_profit"], table="customer value")
    frame = value[["customer_id", "clv", "clv_profit"]].copy()
    cents = frame[["clv", "clv_profit"]].round(2).add_prefix("_cents_")
    keyed = pd.concat([frame, cents], axis=1)
    for column, other, rank in (("clv", "clv_profit", "revenue_rank"), ("clv_profit", "clv", "profit_rank")):
        order = keyed.sort_values([f"_cents_{column}", f"_cents_{other}", "customer_id"],
                                  ascending=[False, False, True]).index
        frame.loc[order, rank] = np.arange(1, len(frame) + 1)
    frame = frame.astype({"revenue_rank": "int64", "profit_rank": "int64"})
    frame["rank_shift"] = frame["revenue_rank"] - frame["profit_rank"]
    frame = frame[frame["rank_shift"] != 0].assign(_size=lambda f: f["rank_shift"].abs())
    top = frame.sort_values(["_size", "customer_id"], ascending=[False, True]).head(n)
    return top.drop(columns="_size").reset_index(drop=True)


def worth_calling(value: pd.DataFrame, summary: pd.DataFrame, fit: models.Fit, months_ago: float = 3.0,
                  time_unit: str = "week", top_share: float = 0.2, n: int = 20) -> pd.DataFrame:
    """High-value customers whose P(alive) is falling: worth a call.

    A customer qualifies when its ``clv_profit`` is in the top ``top_share`` of the positive
    values, its P(alive) is below 0.5, and below its P(alive) ``months_ago`` months earlier (the
    same history seen that much sooner, never before its last purchase).

    Returns
    -------
    DataFrame
        ``customer_id, clv_profit, p_alive, p_alive_before`` (by ``clv_profit``, largest first).
    """
    require_columns(value, ["customer_id", "clv_profit", "p_alive"], table="customer value")
    require_columns(summary, ["frequency", "recency", "T"], table="summary")
    earlier = np.maximum(summary["T"].to_numpy(np.float64) - months_to_units(months_ago, time_unit),
                         summary["recency"].to_numpy(np.float64))
    before = models.p_alive(fit.model, fit.values(), summary["frequency"].to_numpy(np.float64),
                            summary["recency"].to_numpy(np.float64), earlier)
    frame = value[["customer_id", "clv_profit", "p_alive"]].assign(p_alive_before=before)
    positive = frame["clv_profit"][frame["clv_profit"] > 0]
    if positive.empty:
        return frame.iloc[:0]
    cut = positive.quantile(1 - top_share)
    chosen = frame[(frame["clv_profit"] >= cut) & (frame["p_alive"] < 0.5) & (frame["p_alive"] < frame["p_alive_before"])]
    return chosen.sort_values(["clv_profit", "customer_id"], ascending=[False, True]).head(n).reset_index(drop=True)


def value_by_group(value: pd.DataFrame, groups: pd.DataFrame | None, column: str) -> pd.DataFrame | None:
    """Customers, expected revenue and profit and CLV per value of ``column`` of ``groups`` (e.g. the RFM
    segment or the cluster saved by notebook 04); ``None`` when ``groups`` or the column is absent.

    Examples
    --------
    >>> v = pd.DataFrame({"customer_id": ["a", "b", "c"], "expected_revenue": [3.0, 2.0, 1.0],
    ...                   "expected_profit": [1.0, 1.0, 0.5], "clv": [2.9, 1.9, 0.9], "clv_profit": [1.0, 0.9, 0.4]})
    >>> g = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["x", "y"]})
    >>> value_by_group(v, g, "segment")[["segment", "n_customers", "expected_revenue"]].to_dict("list")
    {'segment': ['x', 'y', '(none)'], 'n_customers': [1, 1, 1], 'expected_revenue': [3.0, 2.0, 1.0]}
    """
    if groups is None or column not in groups.columns:
        return None
    labels = groups.drop_duplicates("customer_id").set_index(groups.drop_duplicates("customer_id")["customer_id"]
                                                              .astype("string"))[column]
    label = labels.reindex(value["customer_id"].astype("string")).astype("string").fillna("(none)").to_numpy()
    frame = value.assign(**{column: label, "n_customers": 1})
    out = frame.groupby(column, sort=False).agg(
        n_customers=("n_customers", "sum"), expected_revenue=("expected_revenue", "sum"),
        expected_profit=("expected_profit", "sum"), clv=("clv", "sum"), clv_profit=("clv_profit", "sum"))
    return out.sort_values(["expected_revenue"], ascending=False).reset_index()
