"""The whole future-value analysis of a portfolio, or why a part of it could not run (notebook 06).

:func:`future_value` chains the steps: the data-fitness checks, the calibration fits and their
holdout evaluation (when ``clv.calibration_end`` leaves a long enough holdout), the model
choice, the refit on all the data up to ``as_of``, the Gamma-Gamma spend model, the value of
every customer on revenue and on profit, and the intervals of the totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine
from portfolio_helpers.analysis.clv import evaluation, models, summary, value
from portfolio_helpers.analysis.clv.value import ClvSettings
from portfolio_helpers.core.validation import require_columns

__all__ = ["FutureValue", "future_value", "spend_usable", "revenue_last_year"]


@dataclass
class FutureValue:
    """Outcome of :func:`future_value`; a part that could not run is ``None`` (``fitness`` says why)."""

    settings: ClvSettings
    as_of: pd.Timestamp
    summary: pd.DataFrame
    fitness: dict
    calibration: pd.DataFrame | None = None
    calibration_fitness: dict | None = None
    calibration_fits: dict = field(default_factory=dict)
    calibration_spend: models.Fit | None = None
    holdout: pd.DataFrame | None = None
    tracking: pd.DataFrame | None = None
    conditional: pd.DataFrame | None = None
    choice: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)
    spend_fit: models.Fit | None = None
    #: Every Gamma-Gamma fit attempted, usable or not, by period (``"calibration"``, ``"all data"``): the report
    #: words the ones that could not be used (:func:`spend_usable`).
    spend_attempts: dict = field(default_factory=dict)
    #: Purchase models set aside because their forecast was not finite for some customer.
    no_forecast: list = field(default_factory=list)
    spend_correlation: float = float("nan")
    value: pd.DataFrame | None = None
    intervals: pd.DataFrame | None = None

    @property
    def fit(self) -> models.Fit | None:
        """The purchase model used for the valuation."""
        return self.fits.get(self.choice.get("model"))


def spend_usable(fit: models.Fit | None) -> bool:
    """A Gamma-Gamma fit values purchases when it converged inside the parameter space and ``q > 1`` (the mean
    spend ``p v / (q - 1)`` is finite only then).

    >>> spend_usable(models.Fit("gg", {"p": 6.25, "q": 0.8, "v": 15.44}, {}, -1.0, 946, "converged"))
    False
    """
    return fit is not None and fit.status in ("converged", "uncertain") and fit.params["q"] > 1


def _fit_all(frame: pd.DataFrame, fitness: dict) -> tuple[dict, models.Fit | None]:
    """The purchase fits and the Gamma-Gamma fit attempted (``None`` when the data do not allow it)."""
    if not fitness["can_fit"]:
        return {}, None
    fits = {key: models.fit_purchase_model(frame, key) for key in models.PURCHASE_MODELS}
    return fits, models.fit_spend_model(frame) if fitness["can_fit_spend"] else None


def _record_spend(result: FutureValue, period: str, fit: models.Fit | None) -> models.Fit | None:
    if fit is not None:
        result.spend_attempts[period] = fit
    return fit if spend_usable(fit) else None


def future_value(transactions: pd.DataFrame, settings: ClvSettings, as_of, pnl: pd.DataFrame | None = None,
                 seed: int = 42, n_draws: int = 100) -> FutureValue:
    """Run the future-value analysis (see the module docstring).

    Parameters
    ----------
    transactions : DataFrame
        The cleaned transactions (``customer_id, date, amount``; ``status`` when present).
    settings : ClvSettings
        The ``clv:`` section (:func:`~portfolio_helpers.analysis.clv.value.clv_settings_from_config`).
    as_of : date-like
        End of the data.
    pnl : DataFrame, optional
        The profitability P&L, for the value on profit.
    seed, n_draws : int
        The parametric bootstrap of the totals' intervals.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2025-01-01"] * 2),
    ...                    "amount": [10.0, 20.0]})
    >>> result = future_value(tx, ClvSettings(), "2025-06-30")
    >>> result.fitness["problems"][:2], result.value is None
    (['single_day', 'few_repeat_buyers'], True)
    """
    require_columns(transactions, ("customer_id", "date", "amount"), table="transactions")
    as_of = pd.Timestamp(as_of).normalize()
    unit = settings.time_unit
    full = summary.rfm_summary(transactions, as_of, unit)
    regularity = summary.purchase_regularity(transactions, as_of)
    end = settings.calibration_end
    holdout_units = None
    if end is not None and end < as_of:
        holdout_units = (as_of - end).days / summary.unit_days(unit)
    result = FutureValue(settings, as_of, full, value.data_fitness(full, regularity, holdout_units))
    if result.fitness["can_evaluate"]:
        result.calibration = summary.calibration_holdout(transactions, end, as_of, unit)
        result.calibration_fitness = value.data_fitness(result.calibration, None, holdout_units)
        result.calibration_fits, spend = _fit_all(result.calibration, result.calibration_fitness)
        result.calibration_spend = _record_spend(result, "calibration", spend)
        usable = {key: fit for key, fit in result.calibration_fits.items() if fit.ok}
        if usable:
            result.holdout = evaluation.holdout_table(result.calibration, usable)
            actual = summary.repeat_purchases_by_period(transactions, end, as_of, unit)
            result.tracking = evaluation.tracking(actual, result.calibration, usable, unit)
            result.conditional = evaluation.conditional_expectation(result.calibration, usable)
    result.fits, spend = _fit_all(full, result.fitness)
    result.spend_fit = _record_spend(result, "all data", spend)
    result.spend_correlation = value.spend_frequency_correlation(full)
    options = dict(pnl=pnl, horizon_months=settings.horizon_months, discount_rate=settings.discount_rate,
                   time_unit=unit)
    candidates = dict(result.fits)
    while True:  # a model whose forecast is not finite for every customer is set aside, the next one tried
        result.choice = evaluation.choose_model(result.holdout, candidates, settings.model)
        if result.fit is None:
            return result
        valued = value.customer_value(full, result.fit, result.spend_fit, **options)
        if np.isfinite(valued[["p_alive", "expected_purchases", "expected_revenue", "clv"]].to_numpy()).all():
            break
        result.no_forecast.append(result.choice["model"])
        del candidates[result.choice["model"]]
    result.value = valued
    result.intervals = value.portfolio_intervals(full, result.fit, result.spend_fit, n_draws=n_draws, seed=seed,
                                                 **options)
    return result


def revenue_last_year(transactions: pd.DataFrame, as_of) -> pd.DataFrame:
    """Net revenue per customer over the 12 months up to ``as_of`` (the engine's customer values)."""
    require_columns(transactions, ("customer_id", "date", "amount"), table="transactions")
    as_of = pd.Timestamp(as_of).normalize()
    lines = engine.revenue_lines(transactions)
    return engine.customer_values(lines, period=(as_of - pd.DateOffset(years=1) + pd.Timedelta(days=1), as_of))
