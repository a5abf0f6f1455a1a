"""The recency-frequency summary of the buy-till-you-die models, computed by the engine.

One row per customer, the convention of ``lifetimes`` and ``pymc-marketing``
(``rfm_summary``): the revenue lines (:func:`~portfolio_helpers.analysis.engine.revenue_lines`)
with a customer id, dated on or before the day of ``as_of``, are merged per customer and
calendar day (amounts summed, so a credit note dated on a purchase day is netted with it).

**Purchase day.** A day whose net amount is not negative to the cent. A day with only
credit notes (net negative) is no purchase: its amount is netted from the customer's
repeat value. A customer without any purchase day is not in the summary.

- ``frequency``: repeat purchase days (purchase days - 1);
- ``recency``: time from the first to the last purchase day (0 without repeat);
- ``T``: time from the first purchase day to ``as_of``;
- ``monetary_value``: mean net value of the repeat purchases: (net value of every day -
  the first purchase day's value) / ``frequency``; 0 when ``frequency`` is 0.

Times are in the time unit (:data:`TIME_UNITS`): ``"day"``, ``"week"`` (7 days) or
``"month"`` (an average month, 365.25 / 12 days). :func:`calibration_holdout` splits the
log at a calibration end for the evaluation of the models on the purchases that follow.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine
from portfolio_helpers.core.errors import ValueProblem
from portfolio_helpers.core.validation import require_choice, require_columns, require_date
from portfolio_helpers.core.vocabulary import DAYS_PER_YEAR

__all__ = ["TIME_UNITS", "unit_days", "rfm_summary", "calibration_holdout", "months_to_units",
           "repeat_purchases_by_period", "purchase_regularity"]

#: Days per time unit (a month is an average calendar month).
TIME_UNITS = {"day": 1.0, "week": 7.0, "month": DAYS_PER_YEAR / 12}
_ALIASES = {"D": "day", "W": "week", "M": "month"}


def unit_days(time_unit: str) -> float:
    """Days in one ``time_unit`` (``"day"``, ``"week"``, ``"month"``; ``"D"``, ``"W"``, ``"M"`` too).

    >>> unit_days("week"), round(unit_days("month"), 4)
    (7.0, 30.4375)
    """
    return TIME_UNITS[require_choice(_ALIASES.get(time_unit, time_unit), "time_unit", TIME_UNITS)]


def months_to_units(months: float, time_unit: str) -> float:
    """A number of average months in ``time_unit``.

    >>> round(months_to_units(12, "week"), 4)
    52.1786
    """
    return float(months) * (DAYS_PER_YEAR / 12) / unit_days(time_unit)


def _purchase_days(transactions: pd.DataFrame, as_of: pd.Timestamp, customer_col: str, date_col: str,
                   amount_col: str, status_col: str, start: pd.Timestamp | None = None):
    """Ibis table: one row per customer and day, ``customer_id, day, amount`` (net), in the period."""
    require_columns(transactions, [customer_col, date_col, amount_col], table="transactions")
    lines = engine.revenue_lines(transactions, status_col)
    t = engine.table(lines, [customer_col, date_col, amount_col])
    day = t[date_col].cast("date")
    t = t.filter(t[customer_col].notnull(), t[date_col].notnull(), day <= as_of.date())
    if start is not None:
        t = t.filter(t[date_col].cast("date") > start.date())
    # Sums to the cent: an engine adds floats in whatever order its threads finish, and the model fits must not
    # move with the last bits of a sum (two runs of the same report give the same values).
    return t.group_by(customer_id=t[customer_col], day=t[date_col].cast("date")).aggregate(
        amount=t[amount_col].sum().round(2))


def rfm_summary(transactions: pd.DataFrame, as_of, time_unit: str = "week", customer_col: str = "customer_id",
                date_col: str = "date", amount_col: str = "amount", status_col: str = "status",
                con=None) -> pd.DataFrame:
    """Per customer ``frequency, recency, T, monetary_value`` (see the module docstring).

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction line.
    as_of : date-like
        End of the observation; lines after its day are left out.
    time_unit : {"week", "day", "month"}
        Unit of ``recency`` and ``T``.
    customer_col, date_col, amount_col, status_col : str
        Column names (without a status column every line is a revenue line).
    con : ibis backend, optional
        Engine; default the in-memory DuckDB.

    Returns
    -------
    DataFrame
        ``customer_id, frequency, recency, T, monetary_value, first_purchase``, sorted by
        customer id.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
    ...                    "date": pd.to_datetime(["1997-01-01", "1997-01-18", "1997-01-18", "1997-03-01",
    ...                                            "1997-03-05"]),
    ...                    "amount": [29.33, 20.0, 9.73, 10.0, -4.0]})
    >>> rfm_summary(tx, "1997-09-30", "day").drop(columns="first_purchase")
      customer_id  frequency  recency      T  monetary_value
    0           a          1     17.0  272.0           29.73
    1           b          0      0.0  213.0            0.00
    """
    unit = unit_days(time_unit)
    as_of = pd.Timestamp(as_of).normalize()
    days = _purchase_days(transactions, as_of, customer_col, date_col, amount_col, status_col)
    buy = days.amount.round(2) >= 0
    per = days.group_by("customer_id").aggregate(
        first=days.day.min(where=buy), last=days.day.max(where=buy),
        n=buy.cast("int64").sum(), total=days.amount.sum().round(2),
        first_amount=days.amount.argmin(_day_key(days, buy)))
    per = per.filter(per.n > 0)
    result = engine.execute(per.order_by("customer_id"), con)
    return _summary_frame(result, as_of, unit)


def _day_key(days, buy):
    """Order key of a customer's days: purchase days by date, credit-note days after every purchase day."""
    return ibis.ifelse(buy, days.day.epoch_seconds(), ibis.literal(2**62, "int64"))


def _summary_frame(result: pd.DataFrame, as_of: pd.Timestamp, unit: float) -> pd.DataFrame:
    first = pd.to_datetime(result["first"])
    last = pd.to_datetime(result["last"])
    frequency = (result["n"].astype("int64") - 1).to_numpy()
    total = result["total"].astype("float64").to_numpy()
    first_amount = result["first_amount"].astype("float64").to_numpy()
    repeat = np.where(frequency > 0, (total - first_amount) / np.maximum(frequency, 1), 0.0)
    out = pd.DataFrame({
        "customer_id": result["customer_id"].astype("string"),
        "frequency": frequency,
        "recency": (last - first).dt.days.to_numpy() / unit,
        "T": (as_of - first).dt.days.to_numpy() / unit,
        "monetary_value": repeat.astype("float64"),
        "first_purchase": first.to_numpy(),
    })
    return out.reset_index(drop=True)


def calibration_holdout(transactions: pd.DataFrame, calibration_end, as_of, time_unit: str = "week",
                        customer_col: str = "customer_id", date_col: str = "date", amount_col: str = "amount",
                        status_col: str = "status", con=None) -> pd.DataFrame:
    """The :func:`rfm_summary` at ``calibration_end`` with what each customer did after it.

    Customers are those with a purchase day on or before ``calibration_end``. Their purchase
    days in ``(calibration_end, as_of]`` are the holdout purchases (every one is a repeat
    purchase).

    Returns
    -------
    DataFrame
        The summary columns plus ``holdout_frequency`` (purchase days in the holdout),
        ``holdout_value`` (net value of the holdout days) and ``duration_holdout``
        (``as_of - calibration_end`` in the time unit, the same for every customer).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...                    "date": pd.to_datetime(["2020-01-01", "2020-03-01", "2020-01-05", "2020-02-15"]),
    ...                    "amount": [10.0, 20.0, 5.0, 7.0]})
    >>> s = calibration_holdout(tx, "2020-01-31", "2020-03-31", "day")
    >>> s[["customer_id", "T", "holdout_frequency", "holdout_value", "duration_holdout"]].to_dict("list")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'customer_id': ['a', 'b'], 'T': [30.0, 26.0], 'holdout_frequency': [1, 0], 'holdout_value': [20.0, 0.0],
     'duration_holdout': [60.0, 60.0]}
    """
    calibration_end = require_date(calibration_end, "calibration_end").normalize()
    as_of = require_date(as_of, "as_of").normalize()
    if calibration_end >= as_of:
        raise ValueProblem(f"calibration_end ({calibration_end.date()}) must be before as_of ({as_of.date()})")
    summary = rfm_summary(transactions, calibration_end, time_unit, customer_col, date_col, amount_col,
                          status_col, con)
    days = _purchase_days(transactions, as_of, customer_col, date_col, amount_col, status_col,
                          start=calibration_end)
    per = days.group_by("customer_id").aggregate(
        holdout_frequency=(days.amount.round(2) >= 0).cast("int64").sum(), holdout_value=days.amount.sum().round(2))
    holdout = engine.execute(per, con)
    holdout["customer_id"] = holdout["customer_id"].astype("string")
    holdout = holdout.set_index("customer_id").reindex(summary["customer_id"])
    summary["holdout_frequency"] = holdout["holdout_frequency"].fillna(0).astype("int64").to_numpy()
    summary["holdout_value"] = holdout["holdout_value"].fillna(0.0).astype("float64").to_numpy()
    summary["duration_holdout"] = (as_of - calibration_end).days / unit_days(time_unit)
    return summary


def repeat_purchases_by_period(transactions: pd.DataFrame, calibration_end, as_of, time_unit: str = "week",
                               customer_col: str = "customer_id", date_col: str = "date",
                               amount_col: str = "amount", status_col: str = "status", con=None) -> pd.DataFrame:
    """Repeat purchase days per time unit of the customers who bought by ``calibration_end``.

    Periods are counted from the earliest first purchase (period 1 is its first time unit).

    Returns
    -------
    DataFrame
        ``period`` (1, 2, ...), ``period_end`` (in time units since the earliest first purchase),
        ``repeat_purchases``; every period up to ``as_of`` is present.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "c"],
    ...                    "date": pd.to_datetime(["2020-01-01", "2020-01-03", "2020-01-09", "2020-01-02",
    ...                                            "2020-01-20"]), "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> repeat_purchases_by_period(tx, "2020-01-10", "2020-01-21", "week")["repeat_purchases"].tolist()
    [1, 1, 0]
    """
    calibration_end = pd.Timestamp(calibration_end).normalize()
    as_of = pd.Timestamp(as_of).normalize()
    days = _purchase_days(transactions, as_of, customer_col, date_col, amount_col, status_col)
    days = days.filter(days.amount.round(2) >= 0)
    first = days.group_by(buyer=days.customer_id).aggregate(first=days.day.min())
    first = first.filter(first["first"] <= calibration_end.date())
    joined = days.join(first, days.customer_id == first.buyer)
    repeats = joined.filter(joined.day > joined["first"])
    per_day = engine.execute(repeats.group_by("day").aggregate(n=repeats.count()), con)
    origin = pd.Timestamp(engine.execute(first.aggregate(origin=first["first"].min()), con)["origin"].iloc[0])
    unit = unit_days(time_unit)
    n_periods = max(int(np.ceil(((as_of - origin).days + 1) / unit)), 1)
    offset = (pd.to_datetime(per_day["day"]) - origin).dt.days.to_numpy()
    period = np.floor(offset / unit).astype(np.int64)
    counts = np.bincount(period, weights=per_day["n"].to_numpy(np.float64), minlength=n_periods)[:n_periods]
    return pd.DataFrame({"period": np.arange(1, n_periods + 1), "period_end": np.arange(1, n_periods + 1, dtype=float),
                         "repeat_purchases": counts.astype(np.int64)})


def purchase_regularity(transactions: pd.DataFrame, as_of, customer_col: str = "customer_id", date_col: str = "date",
                        amount_col: str = "amount", status_col: str = "status", con=None) -> pd.DataFrame:
    """Per customer with at least three gaps between purchase days: mean gap (days) and its coefficient of variation.

    A coefficient of variation near 0 means purchases as regular as a subscription, which the
    buy-till-you-die models (random purchase times) do not describe.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"] * 4, "amount": [1.0] * 4,
    ...                    "date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"])})
    >>> purchase_regularity(tx, "2020-12-31").round(3).to_dict("records")
    [{'customer_id': 'a', 'n_gaps': 3, 'mean_gap': 30.333, 'gap_cv': 0.031}]
    """
    as_of = pd.Timestamp(as_of).normalize()
    days = _purchase_days(transactions, as_of, customer_col, date_col, amount_col, status_col)
    days = days.filter(days.amount.round(2) >= 0)
    window = ibis.window(group_by=days.customer_id, order_by=days.day)
    days = days.mutate(gap=(days.day.epoch_seconds() - days.day.lag().over(window).epoch_seconds()) / 86400.0)
    gaps = days.filter(days.gap.notnull())
    per = gaps.group_by("customer_id").aggregate(n_gaps=gaps.count(), mean_gap=gaps.gap.mean(),
                                                  sd_gap=gaps.gap.std(how="pop"))
    per = per.filter(per.n_gaps >= 3)
    result = engine.execute(per.order_by("customer_id"), con)
    result["customer_id"] = result["customer_id"].astype("string")
    result["n_gaps"] = result["n_gaps"].astype("int64")
    result["gap_cv"] = (result["sd_gap"] / result["mean_gap"]).astype("float64")
    return result.drop(columns="sd_gap").astype({"mean_gap": "float64"}).reset_index(drop=True)
