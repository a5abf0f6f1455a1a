"""Notebook 06 (future value): findings in words, tables, charts, metrics and exports.

The numbers come from :func:`portfolio_helpers.analysis.clv.portfolio.future_value`; this module
only words and lays them out. Every table and axis names the time unit.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from IPython.display import display

from portfolio_helpers.analysis.clv import models, value
from portfolio_helpers.analysis.clv.portfolio import FutureValue, spend_usable
from portfolio_helpers.analysis.clv.value import MIN_HOLDOUT_UNITS, MIN_REPEAT_BUYERS, ClvSettings
from portfolio_helpers.core.files import atomic_to_csv
from portfolio_helpers.reporting import charts
from portfolio_helpers.reporting.narrative import (
    bullets,
    fmt_int,
    fmt_money,
    fmt_pct,
    show_markdown,
    show_table,
)

__all__ = ["settings_with_overrides", "findings", "fitness_notes", "model_table", "model_table_formats",
           "choice_sentence", "p_alive_note", "metrics", "customer_export", "save_model_table", "MODELS_EXPORT",
           "intervals_table", "movers_table", "calling_table", "calling_caption", "value_formats",
           "group_tables", "tracking_figure", "conditional_figure", "value_figure", "value_explorer",
           "settings_sentence", "GONE_THRESHOLD", "NO_HOLDOUT_NOTE", "shown_model_table", "parameter_cell", "show_model_section", "show_evaluation",
           "show_value", "show_optional_table", "intervals_caption", "calling_empty", "show_groups", "spend_check_sentence"]

MODELS_EXPORT = "exports/clv_models.csv"
GONE_THRESHOLD = 0.2  # P(alive) below which a customer is "probably gone"
_PROBLEMS = {
    "no_customers": "No customer has a purchase up to the analysis date: there is nothing to forecast.",
    "single_day": "Every purchase falls on one day: purchase rhythm and dropout cannot be told apart, so no "
                  "purchase model is fitted.",
    "few_repeat_buyers": "Only {n_repeat_buyers} customers bought on more than one day (at least "
                         f"{MIN_REPEAT_BUYERS} are needed): the purchase models are not fitted and no customer is "
                         "valued.",
    "few_spend_buyers": "Only {n_spend_buyers} customers have a repeat purchase with a positive value (at least "
                        f"{MIN_REPEAT_BUYERS} are needed for the spend model): each customer's future purchase is "
                        "valued at its own average repeat purchase, or the average of all repeat buyers.",
    "regular_purchases": "{regular_pct} of the customers with at least four purchases buy at regular intervals, "
                         "like a subscription; the models assume irregular purchases, so read their forecasts "
                         "with care.",
    "no_holdout": "The config sets no `clv.calibration_end`: the models are not checked against later purchases; "
                  "the model is chosen on its fit alone.",
    "short_holdout": "The holdout after `clv.calibration_end` is only {holdout} long (at least "
                     f"{MIN_HOLDOUT_UNITS:.0f} time units are needed): the models are not checked against it.",
}
NO_HOLDOUT_NOTE = ("The models are not checked against later purchases in this run (the key findings say why): "
                   "the table shows their fits only, without forecast errors or tracking charts.")
_BLOCKING = ("no_customers", "single_day", "few_repeat_buyers")
_PARAMETER_COLUMNS = ("r", "alpha", "a", "b", "s", "beta", "p", "q", "v")
#: Plain column names of the tables shown in the report (the exports keep the data names).
_LABELS = {"customer_id": "customer", "name": "model", "fitted_on": "fitted on", "n_customers": "customers",
           "loglik": "log-likelihood", "mae": "MAE", "rmse": "RMSE", "predicted_total": "forecast purchases",
           "actual_total": "actual purchases", "spearman": "rank correlation",
           "top_decile_capture": "top-10% capture", "clv": "CLV on revenue", "clv_profit": "CLV on profit",
           "expected_revenue": "expected revenue", "expected_profit": "expected profit", "p_alive": "P(alive)",
           "p_alive_before": "P(alive) 3 months earlier", "revenue_rank": "revenue rank",
           "profit_rank": "profit rank", "rank_shift": "places gained on profit"}


def _show_labelled(table: pd.DataFrame, caption: str, formats: dict) -> None:
    """``show_table`` with the plain column names of :data:`_LABELS` (formats follow the names)."""
    show_table(table.rename(columns=_LABELS), caption=caption,
               formats={_LABELS.get(column, column): fmt for column, fmt in formats.items()})


def settings_with_overrides(settings: ClvSettings, horizon_months: float, discount_rate: float) -> ClvSettings:
    """The config's settings with the notebook's parameters where given (horizon > 0, rate >= 0), validated
    like the config.

    >>> settings_with_overrides(ClvSettings(), 24, -1).horizon_months
    24.0
    """
    changes = {}
    if horizon_months and horizon_months > 0:
        changes["horizon_months"] = horizon_months
    if discount_rate is not None and discount_rate >= 0:
        changes["discount_rate"] = discount_rate
    checked = value.clv_settings_from_config(changes, "notebook parameters")
    return dataclasses.replace(settings, **{key: getattr(checked, key) for key in changes})


def _unit(result: FutureValue, n: float = 2) -> str:
    return result.settings.time_unit + ("" if n == 1 else "s")


def fitness_notes(result: FutureValue) -> list[str]:
    """What the data does not allow, in words (nothing when everything could run)."""
    fit = result.fitness
    numbers = dict(fit, regular_pct=fmt_pct(fit["regular_share"]),
                   holdout=f"{fit['holdout_units'] or 0:.1f} {_unit(result)}")
    # without a fit, only what blocks it matters (not the spend model, the holdout or the purchase rhythm)
    codes = [code for code in fit["problems"] if fit["can_fit"] or code in _BLOCKING]
    notes = [_PROBLEMS[code].format(**numbers) for code in codes]
    if result.calibration_fitness is not None and not result.calibration_fitness["can_fit"]:
        notes.append(f"Before `clv.calibration_end` only {result.calibration_fitness['n_repeat_buyers']} customers "
                     "bought twice: the models cannot be fitted on the calibration period, so they are not checked "
                     "against the holdout.")
    notes.extend(_fit_notes(result))
    notes.extend(_spend_notes(result))
    notes.extend(f"The {models.MODEL_NAMES[key]} fit gives no finite forecast for some customers (its parameters "
                 "are too extreme for the formulas); it is not used." for key in result.no_forecast)
    notes.append(spend_check_sentence(result.spend_correlation))
    return [note for note in notes if note]


def _fit_words(fit: models.Fit) -> str | None:
    if fit.no_dropout:
        return ("finds no sign of customers leaving within the data: its dropout parameter went to 0, so the model "
                "becomes a plain purchase-rate model in which every customer stays (P(alive) = 1) and only the "
                "purchase rates differ")
    if not fit.ok:
        return _status_words(fit) + "; it is not used"
    return "has uncertain parameters (the data barely pin them down)" if fit.status == "uncertain" else None


def _fit_notes(result: FutureValue) -> list[str]:
    """Each fit that did not converge cleanly, in words, on the calibration period and on all the data (one
    sentence when both fits say the same)."""
    periods = (("on the calibration period", result.calibration_fits), ("on all the data", result.fits))
    notes = []
    for key in models.PURCHASE_MODELS:
        said: dict[str, list[str]] = {}
        for label, fits in periods:
            words = _fit_words(fits[key]) if key in fits else None
            if words:
                said.setdefault(words, []).append(label)
        for words, labels in said.items():
            where = f" {' and '.join(labels)}" if result.calibration_fits else ""
            notes.append(f"The {models.MODEL_NAMES[key]} fit{where} {words}.")
    return notes


def _spend_words(fit: models.Fit) -> str | None:
    if spend_usable(fit):
        return "has uncertain parameters (the data barely pin them down)" if fit.status == "uncertain" else None
    if fit.status in ("converged", "uncertain"):  # q <= 1
        return (f"gives an infinite average spend (its parameter q = {fit.params['q']:.2f} is not above 1): it is "
                "not used")
    return _status_words(fit) + "; it is not used"


def _spend_notes(result: FutureValue) -> list[str]:
    """The Gamma-Gamma fits that could not be used or are uncertain, in words, and what values the purchases
    instead."""
    said: dict[str, list[str]] = {}
    for period, label in (("calibration", "on the calibration period"), ("all data", "on all the data")):
        fit = result.spend_attempts.get(period)
        words = _spend_words(fit) if fit is not None else None
        if words:
            said.setdefault(words, []).append(label)
    notes = []
    for words, labels in said.items():
        where = f" {' and '.join(labels)}" if len(result.spend_attempts) > 1 else ""
        notes.append(f"The Gamma-Gamma spend model{where} {words}.")
    fit = result.spend_attempts.get("all data")
    if fit is not None and not spend_usable(fit) and result.value is not None:
        notes.append("Without it, each customer's future purchase is valued at its own average repeat purchase "
                     "(the average of all repeat buyers for a customer without one).")
    return notes


def spend_check_sentence(correlation: float) -> str:
    """The Gamma-Gamma check: spend per purchase and number of purchases should be uncorrelated.

    >>> spend_check_sentence(0.05)
    'Spend per purchase and number of purchases are uncorrelated (correlation +0.05), as the spend model assumes.'
    """
    if not math.isfinite(correlation):
        return ""
    if abs(correlation) <= 0.3:
        return (f"Spend per purchase and number of purchases are uncorrelated (correlation {correlation:+.2f}), "
                "as the spend model assumes.")
    return (f"Spend per purchase and number of purchases are correlated ({correlation:+.2f}); the spend model "
            "assumes they are not, so the value of frequent buyers may be off.")


def _status_words(fit: models.Fit) -> str:
    return {"not converged": "did not converge", "on a boundary": "ran to a limit of the model (a parameter went to "
                                                                    "0 or infinity)"}.get(fit.status, fit.status)


def p_alive_note(result: FutureValue) -> str:
    """The caveat for BG/NBD's P(alive) of one-time buyers ('' for the other models)."""
    if result.choice.get("model") != "bgnbd":
        return ""
    return ("With BG/NBD, a customer who bought only once counts as alive for sure (P(alive) = 1): a property of the "
            "model, not a finding. Their expected purchases still fall with the time since that purchase.")


def findings(result: FutureValue, currency: str, last_year: pd.DataFrame) -> list[str]:
    """The headline findings, numbers first."""
    if result.value is None:  # the data notes (fitness_notes) say why when the data do not allow a fit
        return [] if not result.fitness["can_fit"] else ["No customer is valued: no purchase model could be fitted."]
    v = result.value
    n = len(v)
    gone = v["p_alive"] < GONE_THRESHOLD
    revenue = last_year.set_index(last_year.columns[0])["value"]
    total = float(revenue.sum())
    gone_revenue = float(revenue.reindex(v.loc[gone, "customer_id"]).fillna(0).sum())
    s = result.settings
    horizon = f"{s.horizon_months:g} months"
    if result.fit.no_dropout:
        lines = [f"The {models.MODEL_NAMES[result.fit.model]} model sees no customer leaving (its dropout parameter "
                 "went to 0): every customer counts as alive (P(alive) = 1), so it cannot tell who is probably gone; "
                 "the customers differ only by their expected purchases."]
    else:
        lines = [f"{fmt_int(gone.sum())} customers ({fmt_pct(gone.mean() if n else 0)}) are probably gone "
                 f"(P(alive) < {GONE_THRESHOLD}); they brought "
                 f"{fmt_pct(gone_revenue / total if total > 0 else math.nan)} of the last 12 months' revenue."]
    intervals = result.intervals.set_index("total")
    purchases = intervals.loc["expected_purchases"]
    lines.append(f"Over the next {horizon} the customers are expected to buy on {fmt_int(purchases['estimate'])} "
                 f"days{_interval(purchases, fmt_int)}, for {fmt_money(v['expected_revenue'].sum(), currency)} "
                 "of revenue.")
    if v["expected_profit"].notna().any():
        profit = intervals.loc["clv_profit"]
        lines.append(f"Their expected profit after cost of goods and cost to serve is "
                     f"{fmt_money(v['expected_profit'].sum(), currency)}; discounted at {fmt_pct(s.discount_rate, 0)} "
                     f"a year, the customer base is worth {fmt_money(profit['estimate'], currency)} in profit"
                     f"{_interval(profit, lambda amount: fmt_money(amount, currency), _spend_only(result))} "
                     f"and {fmt_money(v['clv'].sum(), currency)} in revenue.")
        top = v["clv_profit"].nlargest(max(int(math.ceil(0.1 * n)), 1)).sum()
        positive = v["clv_profit"].clip(lower=0).sum()
        if positive > 0:
            lines.append(f"The top 10% of customers hold {fmt_pct(top / positive)} of the positive future profit.")
        losing = int((v["expected_profit"] < 0).sum())
        if losing:
            lines.append(f"{fmt_int(losing)} customers are expected to cost more to serve than they earn.")
    lines.append(choice_sentence(result))
    return lines


def _interval(row: pd.Series, fmt, spend_only: bool = False) -> str:
    if not (math.isfinite(row["low"]) and math.isfinite(row["high"])) or row["low"] == row["high"]:
        return ""
    return f" (90% interval {fmt(row['low'])} to {fmt(row['high'])}{', spend uncertainty only' if spend_only else ''})"


def _spend_only(result: FutureValue) -> bool:
    """True when the purchase model has no covariance (its fit ran to a limit): the intervals of the totals then
    reflect the spend model's parameters only."""
    cov = result.fit.cov_log if result.fit is not None else None
    return cov is None or not np.all(np.isfinite(cov))


def intervals_caption(result: FutureValue) -> str:
    """The caption of the intervals table, saying when they leave out the purchase model's uncertainty.

    >>> intervals_caption(FutureValue(ClvSettings(), pd.Timestamp("2025-12-31"), pd.DataFrame(), {}))
    'Portfolio totals with 90% intervals (parameter uncertainty)'
    """
    if result.fit is None or not _spend_only(result):
        return "Portfolio totals with 90% intervals (parameter uncertainty)"
    return (f"Portfolio totals with 90% intervals of the spend model's parameters only: the "
            f"{models.MODEL_NAMES[result.fit.model]} fit ran to a limit, its parameters have no standard errors, so "
            "the uncertainty of the purchases is not counted and the intervals are too narrow")


def calling_empty(result: FutureValue) -> str:
    """What the report says when no customer is worth calling, with the reason when the model cannot tell."""
    if result.fit is not None and result.fit.no_dropout:
        return (f"The {models.MODEL_NAMES[result.fit.model]} model sees no customer leaving (P(alive) = 1 for "
                "everyone), so it cannot point at valuable customers slipping away.")
    return "No valuable customer is slipping away (or no customer is valued)."


def choice_sentence(result: FutureValue) -> str:
    """Which model values the customers, and why."""
    choice = result.choice
    key = choice.get("model")
    if key is None:
        return "No purchase model could be fitted, so no customer is valued."
    name = models.MODEL_NAMES[key]
    runner = choice.get("runner_up")
    other = f" ({models.MODEL_NAMES[runner]} comes next)" if runner else ""
    if choice["reason"] == "requested":
        return f"The {name} model values the customers, as the config asks (`clv.model`)."
    if choice["reason"] == "lowest holdout error":
        holdout = result.fitness.get("holdout_units")
        span = f"the {holdout:.0f} {_unit(result, round(holdout))} after the calibration period" if holdout else \
            "after the calibration period"
        return (f"The {name} model values the customers: its forecasts of the purchases in {span} "
                f"were the closest, {choice['value']:.3f} purchases off per customer on average{other}.")
    if choice["reason"] == "requested model failed":
        return (f"The model asked for in the config could not be fitted; {name} values the customers instead "
                "(best of the others).")
    return f"The {name} model values the customers: it fits the purchase history best{other}."


def model_table(result: FutureValue) -> pd.DataFrame:
    """One row per model and fit period: parameters, standard errors, log-likelihood, status, holdout metrics."""
    rows = []
    periods = [("calibration", result.calibration_fits, result.spend_attempts.get("calibration")),
               ("all data", result.fits, result.spend_attempts.get("all data"))]
    holdout = result.holdout.set_index("model") if result.holdout is not None else None
    for period, fits, spend in periods:
        for key, fit in {**fits, **({"gg": spend} if spend is not None else {})}.items():
            status = fit.status
            if key == "gg" and not spend_usable(fit) and status in ("converged", "uncertain"):
                status = "not used: infinite mean spend (q <= 1)"
            row = {"model": key, "name": models.MODEL_NAMES[key], "fitted_on": period, "status": status,
                   "n_customers": fit.n, "loglik": fit.loglik}
            row.update({name: fit.params.get(name, np.nan) for name in _PARAMETER_COLUMNS})
            row.update({f"se_{name}": fit.se.get(name, np.nan) for name in _PARAMETER_COLUMNS})
            if period == "calibration" and holdout is not None and key in holdout.index:
                row.update(holdout.loc[key, ["mae", "rmse", "predicted_total", "actual_total", "spearman",
                                             "top_decile_capture"]].to_dict())
            rows.append(row)
    if holdout is not None:
        for key in _baselines(holdout):
            rows.append({"model": key, "name": holdout.loc[key, "name"], "fitted_on": "calibration",
                         "status": "baseline", **holdout.loc[key, ["mae", "rmse", "predicted_total", "actual_total",
                                                                   "spearman", "top_decile_capture"]].to_dict()})
    table = pd.DataFrame(rows)
    if "n_customers" in table.columns:
        table["n_customers"] = table["n_customers"].astype("Int64")
    return table


def _baselines(holdout: pd.DataFrame) -> list[str]:
    return [key for key in holdout.index if key not in models.PARAMETERS]


def model_table_formats() -> dict:
    """The formats of :func:`shown_model_table` (its parameter cells are text already: :func:`parameter_cell`)."""
    return {"n_customers": "{:,}", "loglik": "{:,.2f}",
            "mae": "{:.3f}", "rmse": "{:.3f}", "predicted_total": "{:,.0f}", "actual_total": "{:,.0f}", "spearman": "{:.3f}",
            "top_decile_capture": "{:.1%}"}


def _significant(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits: fixed notation from 0.0001 to below a million, else
    scientific (``3.00e-07``), so that a small parameter does not read as zero."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    rounded = float(f"{value:.{digits - 1}e}")  # rounding first: 0.9996 -> 1.00, not 0.9996's decimals
    exponent = math.floor(math.log10(abs(rounded)))
    if -4 <= exponent < 6:
        return f"{rounded:,.{max(digits - 1 - exponent, 0)}f}"
    return f"{rounded:.{digits - 1}e}"


def parameter_cell(value: float, se: float) -> str | None:
    """A fitted parameter to 3 significant digits with its standard error (from the Hessian) to 2, as the model
    table shows it; the parameter alone when the Hessian gives no standard error, nothing without a parameter.

    >>> parameter_cell(0.24317, 0.01184), parameter_cell(3e-7, 1.234e-6), parameter_cell(1234.5, float("nan"))
    ('0.243 (± 0.012)', '3.00e-07 (± 1.2e-06)', '1,230')
    """
    if pd.isna(value):
        return None
    return _significant(value, 3) + ("" if pd.isna(se) else f" (± {_significant(se, 2)})")


def shown_model_table(result: FutureValue) -> pd.DataFrame:
    """The model table for the report: each parameter with its standard error in one cell (:func:`parameter_cell`);
    the holdout columns only with a holdout."""
    table = model_table(result)
    for name in _PARAMETER_COLUMNS:
        if name in table.columns:
            table[name] = [parameter_cell(v, se) for v, se in zip(table[name], table[f"se_{name}"], strict=True)]
    keep = [c for c in table.columns if not c.startswith("se_") and table[c].notna().any()]
    return table[keep].drop(columns=["model"])


def save_model_table(output_dir, result: FutureValue):
    """``exports/clv_models.csv``, atomic and spreadsheet-safe (floats to 4 decimals, values below 0.001 to 4
    significant digits: :func:`~portfolio_helpers.core.files.safe_for_spreadsheet`).

    Beside the model table, ``time_unit`` (the unit of the purchase models' rates ``alpha`` and ``beta``) and
    ``holdout_units`` (the holdout length in that unit, on the rows with holdout metrics)."""
    from pathlib import Path

    table = model_table(result)
    if table.empty:  # no model could be fitted (the report says why)
        return atomic_to_csv(table, Path(output_dir) / MODELS_EXPORT)
    table.insert(table.columns.get_loc("fitted_on") + 1, "time_unit", result.settings.time_unit)
    if "mae" in table.columns:
        holdout = result.fitness.get("holdout_units")
        table.insert(table.columns.get_loc("mae"), "holdout_units",
                     np.where(table["mae"].notna(), holdout if holdout is not None else np.nan, np.nan))
    return atomic_to_csv(table, Path(output_dir) / MODELS_EXPORT)


def metrics(result: FutureValue) -> dict:
    """The run.json metrics (calibration fits when there is a holdout, else the fits on all data)."""
    out: dict = {"clv_model": result.choice.get("model") or "none"}
    fits = result.calibration_fits if result.calibration_fits else result.fits
    spend = result.calibration_spend if result.calibration_fits else result.spend_fit
    names = {"bgnbd": ("r", "alpha", "a", "b"), "pnbd": ("r", "alpha", "s", "beta")}
    for key, params in names.items():
        fit = fits.get(key)
        if fit is not None and fit.ok:
            out.update({f"{key}_{name}": fit.params[name] for name in params})
            if key == "bgnbd":
                out["bgnbd_loglik"] = fit.loglik
    if spend is not None:
        out.update({f"gg_{name}": spend.params[name] for name in ("p", "q", "v")})
    if result.holdout is not None and result.choice.get("model") in set(result.holdout["model"]):
        row = result.holdout.set_index("model").loc[result.choice["model"]]
        out["holdout_purchases_actual"] = int(row["actual_total"])
        out["holdout_purchases_predicted"] = round(float(row["predicted_total"]), 4)
    if result.value is not None:
        out["clv_total"] = round(float(result.value["clv"].sum()), 2)  # money to the cent
        if result.value["clv_profit"].notna().all():
            out["clv_profit_total"] = round(float(result.value["clv_profit"].sum()), 2)
        out["n_customers_probably_gone"] = int((result.value["p_alive"] < GONE_THRESHOLD).sum())
    return {k: v for k, v in out.items() if not (isinstance(v, float) and not math.isfinite(v))}


def customer_export(result: FutureValue) -> pd.DataFrame | None:
    """The ``customers.csv`` columns: ratios to 4 decimals, money to 2."""
    if result.value is None:
        return None
    v = result.value
    return pd.DataFrame({
        "customer_id": v["customer_id"],
        "p_alive": v["p_alive"].round(4),
        "expected_purchases": v["expected_purchases"].round(4),
        "expected_revenue": v["expected_revenue"].round(2),
        "expected_profit": v["expected_profit"].round(2),
        "clv": v["clv"].round(2),
        "clv_profit": v["clv_profit"].round(2),
    })


def intervals_table(result: FutureValue, currency: str) -> pd.DataFrame:
    """The portfolio totals and their intervals, formatted row by row: purchase days as counts, the rest as money."""
    labels = {"expected_purchases": "purchase days", "expected_revenue": "revenue", "expected_profit": "profit",
              "clv": "revenue, discounted (CLV)", "clv_profit": "profit, discounted (CLV on profit)"}
    rows = []
    for _, row in result.intervals.iterrows():
        fmt = fmt_int if row["total"] == "expected_purchases" else (lambda amount: fmt_money(amount, currency))
        # equal bounds: the parameters had no standard errors (a fit on a boundary), so there is no interval
        spread = math.isfinite(row["low"]) and math.isfinite(row["high"]) and row["low"] < row["high"]
        rows.append([labels[row["total"]], fmt(row["estimate"]) if math.isfinite(row["estimate"]) else "not estimated",
                     *(fmt(row[c]) if spread else "not estimated" for c in ("low", "high"))])
    return pd.DataFrame(rows, columns=[f"next {result.settings.horizon_months:g} months", "estimate", "low (5%)",
                                       "high (95%)"])


def value_formats(currency: str) -> dict:
    money = lambda value: fmt_money(value, currency, compact=False)  # noqa: E731
    return {"clv": money, "clv_profit": money, "expected_revenue": money, "expected_profit": money,
            "p_alive": "{:.1%}", "p_alive_before": "{:.1%}", "n_customers": "{:,}"}


def movers_table(result: FutureValue, n: int = 10) -> pd.DataFrame | None:
    if result.value is None or result.value["clv_profit"].isna().all():
        return None
    return value.rank_movers(result.value, n)


def calling_table(result: FutureValue, n: int = 20) -> pd.DataFrame | None:
    if result.value is None or result.value["clv_profit"].isna().all():
        return None
    return value.worth_calling(result.value, result.summary, result.fit, time_unit=result.settings.time_unit, n=n)


def calling_caption(result: FutureValue) -> str:
    """The caption of the customers worth calling, with BG/NBD's P(alive) = 1 of one-time buyers when it applies."""
    caption = "Top future profit, P(alive) below 50% and falling over the last 3 months"
    if result.choice.get("model") == "bgnbd":
        caption += ("; with BG/NBD a customer who bought only once has P(alive) = 1 (a property of the model, not a "
                    "finding), so none of them can be listed")
    return caption


def group_tables(result: FutureValue, segments: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Expected revenue and profit by RFM segment and by cluster (notebook 04's saved segments)."""
    if result.value is None:
        return {}
    out = {}
    for column, title in (("rfm_segment", "RFM segment"), ("cluster_name", "cluster")):
        table = value.value_by_group(result.value, segments, column)
        if table is not None and table[column].ne("(none)").any():
            out[title] = table.rename(columns={column: title})
    return out


def tracking_figure(result: FutureValue):
    if result.tracking is None:
        return None
    series = {key: models.MODEL_NAMES[key] for key in result.calibration_fits if key in result.tracking.columns}
    first = pd.to_datetime(result.calibration["first_purchase"]).min()
    end = (result.settings.calibration_end - first).days / value.TIME_UNITS[result.settings.time_unit]
    return charts.tracking_chart(result.tracking, series, result.settings.time_unit,
                                 f"Repeat purchases per {result.settings.time_unit}, actual and forecast", end)


def conditional_figure(result: FutureValue):
    if result.conditional is None:
        return None
    series = {key: models.MODEL_NAMES[key] for key in result.calibration_fits if key in result.conditional.columns}
    return charts.conditional_expectation_chart(
        result.conditional, series, result.settings.time_unit,
        "Purchases after the calibration period, by purchases during it",
        float(result.calibration["duration_holdout"].iloc[0]))


def value_figure(result: FutureValue, currency: str):
    if result.value is None:
        return None
    column, label = (("clv_profit", "Discounted future profit") if result.value["clv_profit"].notna().any()
                     else ("clv", "Discounted future revenue"))
    return charts.value_histogram(result.value[column], currency,
                                  f"{label} per customer, next {result.settings.horizon_months:g} months", label)


def settings_sentence(result: FutureValue) -> str:
    s = result.settings
    end = s.calibration_end.date().isoformat() if s.calibration_end is not None else "not set"
    return (f"Settings: time unit {s.time_unit}, horizon {s.horizon_months:g} months, discount rate "
            f"{fmt_pct(s.discount_rate, 1)} a year, model `{s.model}`, calibration end {end}.")


def value_explorer(result: FutureValue, pnl: pd.DataFrame | None, currency: str):
    """JupyterLab widgets: sliders for the horizon and the discount rate; the totals follow."""
    import ipywidgets as widgets

    if result.fit is None:
        return widgets.HTML("No purchase model could be fitted: nothing to explore.")
    s = result.settings
    horizon = widgets.IntSlider(value=int(s.horizon_months), min=1, max=60, description="horizon (months)")
    rate = widgets.FloatSlider(value=s.discount_rate, min=0.0, max=0.3, step=0.01, description="discount",
                               readout_format=".0%")

    def explore(horizon_months, discount_rate):
        explored = value.customer_value(result.summary, result.fit, result.spend_fit, pnl, horizon_months,
                                        discount_rate, s.time_unit)
        show_markdown(bullets([
            f"Next {horizon_months} months: {fmt_int(explored['expected_purchases'].sum())} purchase days, "
            f"{fmt_money(explored['expected_revenue'].sum(), currency)} revenue, "
            f"{fmt_money(explored['expected_profit'].sum(), currency)} profit.",
            f"Discounted at {fmt_pct(discount_rate, 0)} a year: {fmt_money(explored['clv'].sum(), currency)} revenue, "
            f"{fmt_money(explored['clv_profit'].sum(), currency)} profit."]))
        display(charts.value_histogram(explored["clv"], currency, f"Discounted future revenue per customer, "
                                       f"next {horizon_months} months", "Discounted future revenue"))

    output = widgets.interactive_output(explore, {"horizon_months": horizon, "discount_rate": rate})
    return widgets.VBox([widgets.HBox([horizon, rate]), output])


def show_model_section(result: FutureValue) -> None:
    """The model table (or why there is none); the choice is worded in the findings."""
    if not result.fits and not result.calibration_fits:
        show_markdown("No model was fitted (see the notes on the data above).")
        return
    holdout = ("; holdout metrics count repeat purchase days after the calibration end" if result.holdout is not None
               else "")
    _show_labelled(shown_model_table(result), f"Purchase models (time unit: {result.settings.time_unit}) and "
                   f"the spend model{holdout}; each parameter ± its standard error (from the Hessian, where it "
                   "can be computed)", model_table_formats())


def show_evaluation(result: FutureValue) -> None:
    """The model table, the choice, the tracking and conditional-expectation charts (those that exist)."""
    show_model_section(result)
    if result.holdout is None and (result.fits or result.calibration_fits):
        show_markdown(NO_HOLDOUT_NOTE)
    for figure in (tracking_figure(result), conditional_figure(result)):
        if figure is not None:
            display(figure)


def show_value(result: FutureValue, currency: str) -> None:
    """The value distribution and the intervals of the totals (or why there are none)."""
    if result.value is None:
        show_markdown("No customer is valued (see the key findings).")
        return
    display(value_figure(result, currency))
    show_table(intervals_table(result, currency), caption=intervals_caption(result))


def show_optional_table(table: pd.DataFrame | None, empty: str, caption: str, currency: str) -> None:
    """``table`` with the value formats, or the sentence ``empty`` when it is None or has no row."""
    if table is None or table.empty:
        show_markdown(empty)
    else:
        _show_labelled(table, caption, value_formats(currency))


def show_groups(result: FutureValue, segments: pd.DataFrame | None, currency: str) -> None:
    """Expected value by RFM segment and by cluster, when notebook 04 saved them."""
    groups = group_tables(result, segments)
    if not groups:
        show_markdown("No segments to break the forecast down by: notebook 04 did not save any for this run, or "
                      "no customer is valued.")
    for title, table in groups.items():
        _show_labelled(table, f"Next {result.settings.horizon_months:g} months by {title}", value_formats(currency))
