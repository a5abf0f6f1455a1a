"""Growth, retention and objectives: how the portfolio moves, and whether the goals will be met.

Every figure is built on the kit's single definitions (:mod:`portfolio_helpers.analysis.engine`):
revenue is net revenue over the revenue lines (cancelled lines out, credit notes kept), aggregated
per customer and period by the engine; first purchase dates come from
:func:`~portfolio_helpers.analysis.engine.customer_summary`. Only per-customer and per-period
results are handled in pandas.

Definitions
-----------
Active
    A customer is *active* in a period when their net revenue in it is above zero.
Cohorts (:func:`cohort_table`)
    Customers grouped by the period (month, quarter or year) of their first purchase. For each
    cohort and each period since: the customers active, their share of the cohort, the cohort's
    revenue and its cumulative revenue per customer acquired. A customer whose first period nets
    to zero or less (everything returned) was never acquired and is left out of the cohorts, so
    the first column is 100% by definition.
Revenue bridge (:func:`revenue_bridge`)
    With ``prev`` and ``cur`` a customer's net revenue in the previous and the current period,
    and only positive revenue counted (``max(value, 0)``): *new* (``prev = 0``, first purchase in
    the current period: ``+cur``), *reactivated* (``prev = 0``, first purchase before:
    ``+cur``), *expansion* (``cur > prev > 0``: ``cur - prev``), *contraction*
    (``0 < cur < prev``: ``cur - prev``), *churned* (``prev > 0``, ``cur = 0``: ``-prev``).
    ``start`` and ``end`` are the revenue of the customers with positive net revenue in each
    period, so that start + new + reactivated + expansion + contraction + churned = end, exactly:
    each customer's revenue is rounded to the cent and the movements are added in whole cents.
    Net revenue retention = (start + expansion + contraction + churned) / start; gross revenue
    retention = (start + contraction + churned) / start.
Owner books (:func:`owner_books`)
    Per account owner: customers active in the last 12 months, their net revenue and that of
    the 12 months before, growth, the largest customer's share, the HHI, the customers at risk
    (:func:`portfolio_helpers.analysis.scoring.at_risk`) and the revenue they carried in the last
    12 months, the open leads, and the bridge of the book.
Objectives (:func:`objectives_from_config`, :func:`measure_objectives`)
    SMART objectives from the config, each measured from the data between its ``start`` and the
    analysis date. Projection: for sums, the value to date at a linear pace to the deadline, or
    with last year's seasonality (the same metric's full window over its share to the same date,
    a year earlier) when the data covers it; for rates, the value to date. Status: ``achieved``
    (target met: at any time for a sum that should grow, at the deadline otherwise), ``on track``
    (projection meets the target), ``at risk`` (projection at 90-100% of the target),
    ``off track`` (below 90%); ``not started`` before the start date and ``no data`` when the
    data gives no value (no lead in the window...). Realistic: each target is set against the
    metric over the same window a year earlier when the data covers it (``last_year``); a target
    at least twice that (half, for churned customers) is a *stretch*, said in the report.
    Without objectives, three are proposed (:func:`proposed_objectives`) at the pace of the last 12 months, for
    the analysis date's calendar year, or the next one when less than a quarter of it is left
    (:func:`proposal_year`).

Notebook 07
-----------
:func:`growth_results` validates the ``growth:`` and ``objectives:`` sections and runs every analysis above
on a portfolio's tables (:class:`GrowthResults`); :mod:`portfolio_helpers.reporting.growth` words them.

Config
------
.. code-block:: yaml

    growth: {period: quarter}       # cohorts by month, quarter (default) or year
    objectives:
      - {name: Win new customers, metric: new_customers, target: 120, start: 2025-01-01, deadline: 2025-12-31}
      - {name: Grow key accounts, metric: revenue, target: 2000000, start: 2025-01-01, deadline: 2025-12-31,
         filter: {owner: Isabelle Roche}}
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine, features, pareto, profitability, scoring
from portfolio_helpers.core.config import check_known_keys
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.core.presence import has_values, table_with_values
from portfolio_helpers.core.validation import require_choice, require_columns, suggest

__all__ = [
    "PERIODS",
    "GrowthSettings",
    "growth_settings",
    "Metric",
    "METRICS",
    "STATUSES",
    "Objective",
    "objectives_from_config",
    "check_measurable",
    "period_label",
    "first_purchases",
    "cohort_table",
    "shares_differ",
    "acquired_before_data",
    "customers_in_data",
    "customer_movements",
    "bridge_totals",
    "revenue_bridge",
    "last_twelve_months",
    "owner_books",
    "objective_status",
    "is_stretch",
    "measure_objectives",
    "proposal_year",
    "proposed_objectives",
    "GrowthResults",
    "growth_results",
]

PERIODS = ("month", "quarter", "year")
_PANDAS_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}
GROWTH_KEYS = ("period",)
OBJECTIVE_KEYS = ("name", "metric", "target", "start", "deadline", "filter")
NO_OWNER = "(no owner)"
MOVEMENTS = ("new", "reactivated", "expansion", "contraction", "churned")
MOVEMENT_COUNTS = {"new": "n_new", "reactivated": "n_reactivated", "expansion": "n_expanded",
                   "contraction": "n_contracted", "churned": "n_churned"}
BRIDGE_COLUMNS = ["period", "start", *MOVEMENTS, "end", *MOVEMENT_COUNTS.values()]
OWNER_COLUMNS = ["owner", "customers", "revenue", "revenue_previous", "growth", "top_customer_share", "hhi",
                 "customers_at_risk", "revenue_at_risk", "open_leads"]
COHORT_COLUMNS = ["cohort", "periods_since", "customers_active", "share_active", "revenue"]
OBJECTIVE_COLUMNS = ["name", "metric", "target", "value", "achieved_share", "projected", "status"]
STATUSES = ("achieved", "on track", "at risk", "off track", "not started", "no data")
AT_RISK_FROM = 0.9  # a projection at 90-100% of the target is at risk
STRETCH_FACTOR = 2.0  # a target twice last year's value over the same dates (half, for a metric that should fall)


# --------------------------------------------------------------------------- config

@dataclass(frozen=True)
class GrowthSettings:
    """The validated ``growth:`` section."""

    period: str = "quarter"


def _where(config_path, place: str) -> str:
    return f"{config_path}: {place}" if config_path else place


def growth_settings(section: Mapping | None, config_path=None) -> GrowthSettings:
    """Validate the config's ``growth:`` section (``period: month | quarter | year``, default quarter).

    Examples
    --------
    >>> growth_settings({"period": "year"}).period, growth_settings(None).period
    ('year', 'quarter')
    >>> growth_settings({"period": "quartr"})
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: growth.period: unknown period 'quartr' (did you mean 'quarter'?); expected one of: month, quarter, year
    """
    where = _where(config_path, "growth")
    section = {} if section is None else section
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: expected a mapping such as {{period: quarter}}, got {section!r}")
    check_known_keys(section, GROWTH_KEYS, where)
    period = section.get("period", "quarter")
    if period not in PERIODS:
        raise ConfigError(f"{where}.period: unknown period {period!r}{suggest(period, PERIODS)}; "
                          f"expected one of: {', '.join(PERIODS)}")
    return GrowthSettings(period=str(period))


@dataclass(frozen=True)
class Metric:
    """What an objective can measure: a ``sum`` (projected by pace) or a ``rate`` (value to date)."""

    kind: str
    description: str
    higher_is_better: bool = True
    table: str = "transactions"  # the table it is measured from
    share: bool = False  # a share between 0 and 1


METRICS: dict[str, Metric] = {
    "revenue": Metric("sum", "net revenue"),
    "new_customers": Metric("sum", "customers whose first purchase falls in the window, with net revenue above zero "
                                   "in it (the bridge's new customers)"),
    "active_customers": Metric("rate", "customers with net revenue above zero in the window"),
    "expansion_revenue": Metric("sum", "revenue added by customers buying more than in the previous window"),
    "net_revenue_retention": Metric("rate", "net revenue retention against the previous window"),
    "gross_revenue_retention": Metric("rate", "gross revenue retention against the previous window", share=True),
    "churned_customers": Metric("sum", "customers who bought in the previous window and not in this one",
                                higher_is_better=False),
    "lead_conversion_rate": Metric("rate", "leads created in the window that converted, over those whose "
                                           "outcome is known (converted or closed)", table="leads", share=True),
    "average_order_value": Metric("rate", "net revenue per order"),
    "orders": Metric("sum", "orders (an order counts on the day of its first line)"),
}


@dataclass(frozen=True)
class Objective:
    """One validated objective; ``place`` names it in messages (``objectives[2]``)."""

    name: str
    metric: str
    target: float
    start: pd.Timestamp
    deadline: pd.Timestamp
    filter: tuple = ()  # ((column, (value, ...)), ...)
    place: str = "objectives[0]"

    @property
    def filters(self) -> dict[str, tuple]:
        return dict(self.filter)


def _date(value, where: str, key: str) -> pd.Timestamp:
    if value is None:
        raise ConfigError(f"{where}.{key}: missing; an objective is time-bound (give start and deadline as "
                          f"YYYY-MM-DD)")
    if isinstance(value, dt.date):
        return pd.Timestamp(value).normalize()
    try:
        return pd.Timestamp(dt.date.fromisoformat(str(value).strip()))
    except ValueError:
        raise ConfigError(f"{where}.{key}: {value!r} is not a date in YYYY-MM-DD form") from None


def _filter(spec, where: str) -> tuple:
    if spec is None:
        return ()
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(f"{where}.filter: expected a mapping such as {{owner: Isabelle Roche}} or "
                          f"{{source: [referral, webinar]}}, got {spec!r}")
    out = []
    for column, values in spec.items():
        values = values if isinstance(values, list | tuple) else [values]
        if not values or any(v is None or isinstance(v, Mapping | list | tuple) for v in values):
            raise ConfigError(f"{where}.filter.{column}: expected a value or a list of values, got {spec[column]!r}")
        out.append((str(column), tuple(str(v) for v in values)))
    return tuple(out)


def _objective(index: int, item, config_path, tables: set[str] | None) -> Objective:
    place = f"objectives[{index}]"
    where = _where(config_path, place)
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: expected a mapping such as {{name: Win new customers, metric: new_customers, "
                          f"target: 120, start: 2025-01-01, deadline: 2025-12-31}}, got {item!r}")
    check_known_keys(item, OBJECTIVE_KEYS, where)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.name: missing; give each objective a name")
    metric = item.get("metric")
    if metric is None:
        raise ConfigError(f"{where}.metric: missing (not specific); expected one of: {', '.join(METRICS)}")
    if metric not in METRICS:
        raise ConfigError(f"{where}.metric: unknown metric {metric!r}{suggest(metric, METRICS)}; "
                          f"expected one of: {', '.join(METRICS)}")
    needed = METRICS[metric].table
    if tables is not None and needed not in tables:
        raise ConfigError(f"{where}.metric: {metric} is not measurable: it needs the {needed} table, which the "
                          f"config does not give (add `tables: {needed}:`; tables given: {', '.join(sorted(tables))})")
    target = item.get("target")
    if isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target) or target < 0:
        raise ConfigError(f"{where}.target: expected a number >= 0 (not measurable otherwise), got {target!r}")
    if METRICS[metric].share and target > 1:
        raise ConfigError(f"{where}.target: {metric} is a share between 0 and 1 (0.85 for 85%), got {target!r}")
    start = _date(item.get("start"), where, "start")
    deadline = _date(item.get("deadline"), where, "deadline")
    if deadline < start:
        raise ConfigError(f"{where}.deadline: {deadline:%Y-%m-%d} is before the start {start:%Y-%m-%d} "
                          f"(not time-bound)")
    return Objective(name.strip(), metric, float(target), start, deadline, _filter(item.get("filter"), where), place)


def objectives_from_config(section, config_path=None, tables: Iterable[str] | None = None) -> list[Objective]:
    """Validate the config's ``objectives:`` list; ``[]`` when there is none.

    Parameters
    ----------
    section : list of mappings or None
        ``config.sections.get("objectives")``.
    config_path : path, optional
        Named in error messages.
    tables : iterable of str, optional
        The tables the config gives: an objective whose metric needs another table is not measurable.

    Raises
    ------
    ConfigError
        Naming the objective and the key: not specific (unknown metric), not measurable (a table
        missing, a target that is not a number), not time-bound (no deadline, deadline before start).

    Examples
    --------
    >>> [o.metric for o in objectives_from_config([{"name": "Grow", "metric": "revenue", "target": 1000,
    ...     "start": "2025-01-01", "deadline": "2025-12-31"}])]
    ['revenue']
    >>> objectives_from_config([{"name": "Grow", "metric": "revnue", "target": 1000,
    ...     "start": "2025-01-01", "deadline": "2025-12-31"}])
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: objectives[0].metric: unknown metric 'revnue' (did you mean 'revenue'?); expected one of: revenue, new_customers, active_customers, expansion_revenue, net_revenue_retention, gross_revenue_retention, churned_customers, lead_conversion_rate, average_order_value, orders
    """
    if section is None:
        return []
    if not isinstance(section, list):
        raise ConfigError(f"{_where(config_path, 'objectives')}: expected a list of objectives (one `- {{name: ..., "
                          f"metric: ..., target: ..., start: ..., deadline: ...}}` per line), got {section!r}")
    tables = None if tables is None else set(tables)
    objectives = [_objective(index, item, config_path, tables) for index, item in enumerate(section)]
    names = [o.name for o in objectives]
    for objective in objectives:
        if names.count(objective.name) > 1:
            raise ConfigError(f"{_where(config_path, objective.place)}.name: {objective.name!r} names two objectives")
    return objectives


def check_measurable(objectives: Iterable[Objective], *, customers: pd.DataFrame | None = None,
                     lead_profiles: pd.DataFrame | None = None, config_path=None) -> None:
    """Check that the data can measure every objective: its table has rows, its filter columns exist.

    A ``lead_conversion_rate`` filter is on a lead column (``lead_profiles``); any other filter is
    on a customer attribute (the ``customers`` table). :func:`measure_objectives` runs this check.

    Raises
    ------
    ConfigError
        Naming the objective, the missing table or column and the columns available.
    """
    for objective in objectives:
        where = _where(config_path, objective.place)
        metric = METRICS[objective.metric]
        if metric.table == "leads":
            frame, table = lead_profiles, "leads"
        else:
            frame, table = customers, "customers"
        if metric.table == "leads" and (frame is None or frame.empty):
            raise ConfigError(f"{where}.metric: {objective.metric} is not measurable: the leads table has no lead "
                              f"dated up to the analysis date")
        for column, _values in objective.filter:
            if frame is None or column not in frame.columns:
                has = ", ".join(map(str, frame.columns)) if frame is not None else "no such table"
                raise ConfigError(f"{where}.filter.{column}: not measurable: the {table} table has no {column} column"
                                  f"{suggest(column, frame.columns) if frame is not None else ''} ({has})")


# --------------------------------------------------------------------------- periods and values

def period_label(start, freq: str) -> str:
    """How a period is named: ``2025``, ``2025Q1``, ``2025-03``.

    >>> period_label(pd.Timestamp("2025-04-01"), "quarter"), period_label(pd.Timestamp("2025-04-01"), "month")
    ('2025Q2', '2025-04')
    """
    return str(pd.Timestamp(start).to_period(_PANDAS_FREQ[freq]))


def _check_period(freq: str) -> None:
    require_choice(freq, "freq", PERIODS)


def _lines_to(transactions: pd.DataFrame | ir.Table, as_of, customer_col: str, date_col: str,
              amount_col: str, order_col: str | None = None) -> ir.Table:
    """The revenue lines with a customer id and a date, dated up to the end of ``as_of``'s day (all of
    them without ``as_of``), as an Ibis table: an engine table stays where it is, a frame becomes an
    in-memory table. Columns: the customer, date and amount columns, and ``order_col`` when given
    and present (it makes the orders)."""
    lines = engine.revenue_lines(transactions)
    keep = [customer_col, date_col, amount_col]
    if order_col is not None and order_col in transactions.columns:
        keep.append(order_col)
    t = engine.table(lines, keep)
    t = t.filter(t[customer_col].notnull(), t[date_col].notnull())
    if as_of is None:
        return t
    return t.filter(t[date_col] < pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1))


def _of_customers(lines: ir.Table, ids, customer_col: str = "customer_id", keep: bool = True) -> ir.Table:
    """The lines of the customers ``ids`` (``keep``) or of the others, as a join run where the lines are:
    the ids cross into the engine as a small in-memory table, compared as text."""
    chosen = pd.DataFrame({"_chosen_id": pd.Series(list(ids), dtype="string").dropna().unique()})
    other = engine.table(chosen, ["_chosen_id"])
    match = lines[customer_col].cast("string") == other["_chosen_id"]
    return lines.semi_join(other, match) if keep else lines.anti_join(other, match)


def _date_range(lines: ir.Table, date_col: str) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """The number of lines and their first and last dates (``None`` without a line), in one query."""
    row = engine.execute(lines.aggregate(n=lines.count(), first=lines[date_col].min(),
                                         last=lines[date_col].max())).iloc[0]
    n = int(row["n"])
    if not n:
        return 0, None, None
    return n, pd.Timestamp(row["first"]), pd.Timestamp(row["last"])


def _orders_per_day(lines: ir.Table) -> pd.Series:
    """Orders (:func:`~portfolio_helpers.analysis.engine.orders`) per day of their first line, by the engine."""
    per_day = engine.revenue_by_period(lines, "day")
    return pd.Series(per_day["n_orders"].to_numpy(dtype=np.int64), index=pd.DatetimeIndex(per_day["period"]))


def _count_in(per_day: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """The sum of ``per_day`` over the days ``start`` to ``end`` (inclusive)."""
    return int(per_day[(per_day.index >= start) & (per_day.index <= end)].sum())


def _cents(values) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64) * 100).astype(np.int64)


def first_purchases(transactions: pd.DataFrame, as_of=None, customer_col: str = "customer_id",
                    date_col: str = "date", amount_col: str = "amount") -> pd.Series:
    """Each customer's first purchase date (:func:`~portfolio_helpers.analysis.engine.customer_summary`
    over the revenue lines up to ``as_of``), indexed by customer id.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [5.0, 7.0, 3.0],
    ...                    "date": pd.to_datetime(["2025-03-02", "2025-01-05", "2025-02-01"])})
    >>> first_purchases(tx).dt.strftime("%Y-%m-%d").to_dict()
    {'a': '2025-01-05', 'b': '2025-02-01'}
    """
    require_columns(transactions, [customer_col, date_col, amount_col], table="transactions")
    lines = _lines_to(transactions, as_of, customer_col, date_col, amount_col)
    return _first_purchases(lines, customer_col, date_col, amount_col)


def _first_purchases(lines: ir.Table, customer_col: str, date_col: str, amount_col: str) -> pd.Series:
    summary = engine.customer_summary(lines, customer_col=customer_col, date_col=date_col, amount_col=amount_col,
                                      order_col=None)
    return pd.Series(pd.to_datetime(summary["first_purchase"]).to_numpy(), name="first_purchase",
                     index=pd.Index(summary["customer_id"].astype("string"), name="customer_id"))


def _values(lines: ir.Table, window, customer_col: str, date_col: str, amount_col: str) -> pd.Series:
    """Net revenue per customer over ``window`` (inclusive dates), by the engine."""
    values = engine.customer_values(lines, period=window, customer_col=customer_col, date_col=date_col,
                                    amount_col=amount_col)
    return pd.Series(values["value"].to_numpy(), index=pd.Index(values[customer_col].astype("string"),
                                                                   name="customer_id"))


# --------------------------------------------------------------------------- cohorts

def cohort_table(transactions: pd.DataFrame, freq: str = "quarter", as_of=None, customer_col: str = "customer_id",
                 date_col: str = "date", amount_col: str = "amount", exclude=None) -> pd.DataFrame:
    """Customers grouped by the period of their first purchase, followed period by period.

    Parameters
    ----------
    transactions : DataFrame
        Transaction lines (the revenue lines are taken, see :func:`~portfolio_helpers.analysis.engine.revenue_lines`).
    freq : {"month", "quarter", "year"}
        Period of the cohorts.
    as_of : date-like, optional
        Lines after it are left out; periods run up to its period.
    customer_col, date_col, amount_col : str
        Column names.
    exclude : iterable of customer ids, optional
        Customers left out of the cohorts (:func:`acquired_before_data`, to compare the cohorts
        won in the data only).

    Returns
    -------
    DataFrame
        One row per cohort and period since (every period up to ``as_of``'s, zeros included):
        ``cohort`` (label), ``periods_since``, ``customers_active``, ``share_active``, ``revenue``,
        then ``cohort_start`` and ``period_start`` (dates), ``cohort_customers``,
        ``cumulative_revenue_per_customer`` and ``complete`` (the period ended by ``as_of``).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "c"], "amount": [10.0, 5.0, 8.0, 4.0],
    ...     "date": pd.to_datetime(["2024-01-10", "2024-02-03", "2024-01-20", "2024-02-11"])})
    >>> cohort_table(tx, "month", as_of="2024-02-29")[["cohort", "periods_since", "customers_active",
    ...                                                 "share_active", "revenue"]]
        cohort  periods_since  customers_active  share_active  revenue
    0  2024-01              0                 2           1.0     18.0
    1  2024-01              1                 1           0.5      5.0
    2  2024-02              0                 1           1.0      4.0
    """
    require_columns(transactions, [customer_col, date_col, amount_col], table="transactions")
    _check_period(freq)
    lines = _lines_to(transactions, as_of, customer_col, date_col, amount_col)
    if exclude is not None:
        lines = _of_customers(lines, exclude, customer_col, keep=False)
    values = engine.customer_values(lines, freq=freq, customer_col=customer_col, date_col=date_col,
                                    amount_col=amount_col)
    values = values.rename(columns={customer_col: "customer_id"})
    values["customer_id"] = values["customer_id"].astype("string")
    first = _first_purchases(lines, customer_col, date_col, amount_col)
    return _cohorts(values, first, freq, as_of)


def _cohorts(values: pd.DataFrame, first: pd.Series, freq: str, as_of) -> pd.DataFrame:
    pfreq = _PANDAS_FREQ[freq]
    columns = [*COHORT_COLUMNS, "cohort_start", "period_start", "cohort_customers",
               "cumulative_revenue_per_customer", "complete"]
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    if values.empty:
        return empty
    cohort = first.dt.to_period(pfreq)
    values = values.assign(cohort=values["customer_id"].map(cohort), period=values["period"].dt.to_period(pfreq))
    values["cents"] = _cents(values["value"])
    # acquired: active (net revenue above zero) in the period of the first purchase
    opening = values[(values["period"] == values["cohort"]) & (values["cents"] > 0)]
    if opening.empty:
        return empty
    values = values[values["customer_id"].isin(opening["customer_id"])]
    sizes = opening.groupby("cohort").size()
    end = (pd.Timestamp(as_of) if as_of is not None else values["period"].max().end_time).to_period(pfreq)
    grid = [(c, c + k) for c in sorted(sizes.index) for k in range((end - c).n + 1)]
    index = pd.MultiIndex.from_tuples(grid, names=["cohort", "period"])
    active = values[values["cents"] > 0].groupby(["cohort", "period"]).size().reindex(index, fill_value=0)
    revenue = values.groupby(["cohort", "period"])["cents"].sum().reindex(index, fill_value=0) / 100
    out = pd.DataFrame({"customers_active": active.astype("int64"), "revenue": revenue.astype("float64")})
    out = out.reset_index()
    out["cohort_customers"] = out["cohort"].map(sizes).astype("int64")
    out["share_active"] = out["customers_active"] / out["cohort_customers"]
    out["periods_since"] = [(p - c).n for c, p in zip(out["cohort"], out["period"], strict=True)]
    out["cumulative_revenue_per_customer"] = out.groupby("cohort")["revenue"].cumsum() / out["cohort_customers"]
    as_of_day = pd.Timestamp(as_of).normalize() if as_of is not None else None
    out["complete"] = [as_of_day is None or p.end_time.normalize() <= as_of_day for p in out["period"]]
    out["cohort_start"] = out["cohort"].dt.start_time
    out["period_start"] = out["period"].dt.start_time
    out["cohort"] = out["cohort"].astype(str)
    return out[columns].reset_index(drop=True)


def shares_differ(successes_a: int, n_a: int, successes_b: int, n_b: int, z: float = 1.959963984540054) -> bool:
    """Whether two shares (``successes / n``) differ beyond chance: the two-proportion z-test with a
    pooled share, two-sided, 5% level by default (``z``). ``False`` when either group is empty.

    Examples
    --------
    >>> shares_differ(4, 20, 6, 20), shares_differ(80, 400, 160, 400)
    (False, True)
    """
    if n_a <= 0 or n_b <= 0:
        return False
    pooled = (successes_a + successes_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    difference = successes_b / n_b - successes_a / n_a
    return spread > 0 and abs(difference) / spread >= z


def acquired_before_data(transactions: pd.DataFrame, customers: pd.DataFrame, customer_col: str = "customer_id",
                         date_col: str = "date", acquisition_col: str = "acquisition_date") -> pd.Index:
    """The customers acquired (``acquisition_col``) before the first transaction line's day.

    Their first purchase *in the data* is not when they were won: in a cohort they look like new
    customers with an old customer's loyalty, so comparisons of cohorts leave them out.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2024-01-05", "2024-03-01"])})
    >>> crm = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                     "acquisition_date": pd.to_datetime(["2019-01-01", "2024-02-01", None])})
    >>> acquired_before_data(tx, crm).tolist()
    ['a']
    """
    require_columns(transactions, [customer_col, date_col], table="transactions")
    require_columns(customers, [customer_col, acquisition_col], table="customers")
    lines = engine.table(transactions, [date_col])
    start = engine.execute(lines.aggregate(start=lines[date_col].min()))["start"].iloc[0]
    if pd.isna(start):
        return pd.Index([], dtype="string", name="customer_id")
    acquired = pd.to_datetime(customers[acquisition_col], errors="coerce")
    chosen = customers.loc[(acquired < pd.Timestamp(start).normalize()).to_numpy(dtype=bool), customer_col]
    return pd.Index(chosen.astype("string").unique(), name="customer_id")


def customers_in_data(transactions: pd.DataFrame, ids, customer_col: str = "customer_id") -> int:
    """How many of the customers ``ids`` have a line in ``transactions`` (any line), counted by the engine.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", None]})
    >>> customers_in_data(tx, ["a", "c"]), customers_in_data(tx, [])
    (1, 0)
    """
    require_columns(transactions, [customer_col], table="transactions")
    lines = _of_customers(engine.table(transactions, [customer_col]), ids, customer_col)
    return int(engine.execute(lines.aggregate(n=lines[customer_col].nunique()))["n"].iloc[0])


# --------------------------------------------------------------------------- bridge

def customer_movements(previous: pd.Series, current: pd.Series, first_purchase: pd.Series,
                       current_start) -> pd.DataFrame:
    """Each customer's movement between two periods (module docstring, "Revenue bridge").

    Parameters
    ----------
    previous, current : Series
        Net revenue per customer in each period, indexed by customer id (missing = 0).
    first_purchase : Series
        First purchase date per customer id.
    current_start : date-like
        First day of the current period.

    Returns
    -------
    DataFrame
        Indexed by customer id: ``previous`` and ``current`` (positive part, to the cent),
        ``movement`` (one of :data:`MOVEMENTS`, ``"unchanged"`` or ``""`` when the customer bought
        in neither) and ``change`` (``current - previous``, in cents as an integer ``change_cents``).

    Examples
    --------
    >>> prev = pd.Series({"a": 100.0, "b": 50.0, "c": 80.0})
    >>> cur = pd.Series({"a": 130.0, "b": 20.0, "d": 10.0, "e": 5.0})
    >>> first = pd.to_datetime(pd.Series({"a": "2023-01-01", "b": "2023-01-01", "c": "2023-01-01",
    ...                                   "d": "2025-02-01", "e": "2022-06-01"}))
    >>> customer_movements(prev, cur, first, "2025-01-01")["movement"].to_dict()
    {'a': 'expansion', 'b': 'contraction', 'c': 'churned', 'd': 'new', 'e': 'reactivated'}
    """
    ids = previous.index.union(current.index)
    prev = np.maximum(_cents(previous.reindex(ids, fill_value=0.0)), 0)
    cur = np.maximum(_cents(current.reindex(ids, fill_value=0.0)), 0)
    first = pd.to_datetime(first_purchase.reindex(ids))
    is_new = (first >= pd.Timestamp(current_start)).to_numpy(dtype=bool)
    movement = np.select(
        [(prev == 0) & (cur > 0) & is_new, (prev == 0) & (cur > 0), (prev > 0) & (cur > prev),
         (prev > 0) & (cur > 0) & (cur < prev), (prev > 0) & (cur == 0), (prev > 0) & (cur == prev)],
        ["new", "reactivated", "expansion", "contraction", "churned", "unchanged"], default="")
    return pd.DataFrame({"previous": prev / 100, "current": cur / 100, "movement": movement,
                         "change_cents": cur - prev, "change": (cur - prev) / 100}, index=ids)


def bridge_totals(movements: pd.DataFrame) -> dict:
    """The bridge of :func:`customer_movements`: ``start``, the movements, ``end``, counts and rates.

    Added in whole cents, so ``start + new + reactivated + expansion + contraction + churned == end``
    exactly. ``net_revenue_retention``, ``gross_revenue_retention`` (NaN when ``start`` is 0) and
    ``new_customer_revenue_share`` (``new / end``, NaN when ``end`` is 0).

    Examples
    --------
    >>> moves = customer_movements(pd.Series({"a": 100.0, "b": 50.0}), pd.Series({"a": 120.0, "c": 30.0}),
    ...                            pd.to_datetime(pd.Series({"a": "2024-01-01", "b": "2024-01-01",
    ...                                                      "c": "2025-03-01"})), "2025-01-01")
    >>> totals = bridge_totals(moves)
    >>> totals["start"], totals["new"], totals["expansion"], totals["churned"], totals["end"]
    (150.0, 30.0, 20.0, -50.0, 150.0)
    >>> round(totals["net_revenue_retention"], 4), round(totals["gross_revenue_retention"], 4)
    (0.8, 0.6667)
    """
    cents = {"start": int(movements["previous"].pipe(_cents).sum()), "end": int(movements["current"].pipe(_cents).sum())}
    out: dict = {"start": cents["start"] / 100}
    for name in MOVEMENTS:
        chosen = movements["movement"] == name
        cents[name] = int(movements.loc[chosen, "change_cents"].sum())
        out[name] = cents[name] / 100
    out["end"] = cents["end"] / 100
    for name, count in MOVEMENT_COUNTS.items():
        out[count] = int((movements["movement"] == name).sum())
    start = cents["start"]
    out["net_revenue_retention"] = ((start + cents["expansion"] + cents["contraction"] + cents["churned"]) / start
                                    if start else math.nan)
    out["gross_revenue_retention"] = (start + cents["contraction"] + cents["churned"]) / start if start else math.nan
    out["new_customer_revenue_share"] = cents["new"] / cents["end"] if cents["end"] else math.nan
    return out


def _window_movements(lines: ir.Table, first: pd.Series, previous, current, customer_col: str,
                      date_col: str, amount_col: str) -> pd.DataFrame:
    prev = _values(lines, previous, customer_col, date_col, amount_col)
    cur = _values(lines, current, customer_col, date_col, amount_col)
    return customer_movements(prev, cur, first, current[0])


def last_twelve_months(as_of) -> tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """The previous and the last 12 months to ``as_of``, as inclusive ``(start, end)`` days.

    >>> [d.strftime("%Y-%m-%d") for window in last_twelve_months("2025-06-30") for d in window]
    ['2023-07-01', '2024-06-30', '2024-07-01', '2025-06-30']
    """
    end = pd.Timestamp(as_of).normalize()
    start = end - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    previous_end = start - pd.Timedelta(days=1)
    return (previous_end - pd.DateOffset(months=12) + pd.Timedelta(days=1), previous_end), (start, end)


def revenue_bridge(transactions: pd.DataFrame, as_of=None, freq: str = "year", customer_col: str = "customer_id",
                   date_col: str = "date", amount_col: str = "amount") -> pd.DataFrame:
    """The revenue bridge between consecutive complete periods, and the last 12 months vs the 12 before.

    Parameters
    ----------
    transactions : DataFrame
        Transaction lines (revenue lines taken).
    as_of : date-like, optional
        Analysis date (default: the last line's day). Periods not ended by it are left out of the
        calendar rows; the last row compares the 12 months to ``as_of`` with the 12 before.
    freq : {"year", "quarter", "month"}
        Calendar period of the rows.
    customer_col, date_col, amount_col : str
        Column names.

    Returns
    -------
    DataFrame
        One row per bridge, columns :data:`BRIDGE_COLUMNS` then ``net_revenue_retention``,
        ``gross_revenue_retention``, ``new_customer_revenue_share``, ``kind`` (``freq`` or
        ``"last 12 months"``), ``previous_start``, ``current_start``, ``current_end`` and
        ``previous_covered`` (the data starts no later than the previous period: otherwise that
        period is only partly in the data and the retention rates overstate the change) and
        ``previous_days_in_data`` (the days of the previous period from the data's first day on). A bridge
        needs a purchase before its current period: without one there is no row.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a", "c"], "amount": [100.0, 50.0, 130.0, 20.0],
    ...     "date": pd.to_datetime(["2024-03-01", "2024-05-01", "2025-02-01", "2025-04-01"])})
    >>> revenue_bridge(tx, as_of="2025-12-31")[["period", "start", "new", "expansion", "churned", "end"]].values.tolist()
    [['2025', 150.0, 20.0, 30.0, -50.0, 150.0], ['12 months to 2025-12-31', 150.0, 20.0, 30.0, -50.0, 150.0]]
    """
    require_columns(transactions, [customer_col, date_col, amount_col], table="transactions")
    _check_period(freq)
    lines = _lines_to(transactions, as_of, customer_col, date_col, amount_col)
    n_lines, data_start, last = _date_range(lines, date_col)
    extra = ["net_revenue_retention", "gross_revenue_retention", "new_customer_revenue_share", "kind",
             "previous_start", "current_start", "current_end", "previous_covered", "previous_days_in_data"]
    if not n_lines:
        return pd.DataFrame(columns=BRIDGE_COLUMNS + extra)
    as_of = pd.Timestamp(as_of).normalize() if as_of is not None else last.normalize()
    first = _first_purchases(lines, customer_col, date_col, amount_col)
    earliest = first.min()
    data_start = data_start.normalize()
    pfreq = _PANDAS_FREQ[freq]
    windows = []
    period = earliest.to_period(pfreq) + 1
    while period.end_time.normalize() <= as_of:
        previous = period - 1
        windows.append((period_label(period.start_time, freq), freq, (previous.start_time, previous.end_time.normalize()),
                        (period.start_time, period.end_time.normalize())))
        period += 1
    previous, current = last_twelve_months(as_of)
    if earliest < current[0]:
        windows.append((f"12 months to {as_of:%Y-%m-%d}", "last 12 months", previous, current))
    rows = []
    for label, kind, prev_window, cur_window in windows:
        totals = bridge_totals(_window_movements(lines, first, prev_window, cur_window, customer_col, date_col,
                                                 amount_col))
        rows.append({"period": label, **totals, "kind": kind, "previous_start": prev_window[0],
                     "current_start": cur_window[0], "current_end": cur_window[1],
                     "previous_covered": bool(data_start <= prev_window[0]),
                     "previous_days_in_data": max((prev_window[1] - max(data_start, prev_window[0])).days + 1, 0)})
    return pd.DataFrame(rows, columns=BRIDGE_COLUMNS + extra)


# --------------------------------------------------------------------------- owner books

def owner_books(transactions: pd.DataFrame, customers: pd.DataFrame, as_of, at_risk: pd.DataFrame | None = None,
                open_leads: pd.Series | None = None, owner_col: str = "owner", customer_col: str = "customer_id",
                date_col: str = "date", amount_col: str = "amount") -> pd.DataFrame:
    """Each account owner's book: customers, revenue and growth, concentration, risk, open leads, bridge.

    Parameters
    ----------
    transactions : DataFrame
        Transaction lines (revenue lines taken).
    customers : DataFrame
        ``customer_col`` and ``owner_col`` (first record of a customer wins; no owner: ``"(no owner)"``).
    as_of : date-like
        Analysis date: revenue is over the 12 months to it, ``revenue_previous`` the 12 before.
    at_risk : DataFrame, optional
        :func:`portfolio_helpers.analysis.scoring.at_risk` (``customer_id``, ``at_risk``).
    open_leads : Series, optional
        Open leads per owner; ``open_leads`` is empty without it.

    Returns
    -------
    DataFrame
        Columns :data:`OWNER_COLUMNS`, then the bridge of the book (``new`` ... ``churned``,
        ``net_revenue_retention``, ``gross_revenue_retention``); sorted by revenue, largest first.
        ``customers`` counts those active in the last 12 months; ``top_customer_share`` and ``hhi``
        (points, :func:`portfolio_helpers.analysis.pareto.hhi`) are over their revenue;
        ``revenue_at_risk`` is the last 12 months' revenue of the customers at risk.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a", "b", "c"], "amount": [100.0, 50.0, 150.0, 30.0, 40.0],
    ...     "date": pd.to_datetime(["2024-03-01", "2024-05-01", "2025-02-01", "2025-04-01", "2025-05-01"])})
    >>> crm = pd.DataFrame({"customer_id": ["a", "b", "c"], "owner": ["Ann", "Ann", None]})
    >>> owner_books(tx, crm, "2025-12-31")[["owner", "customers", "revenue", "revenue_previous", "growth",
    ...                                     "top_customer_share"]].round(4)
            owner  customers  revenue  revenue_previous  growth  top_customer_share
    0         Ann          2    180.0             150.0     0.2              0.8333
    1  (no owner)          1     40.0               0.0     NaN              1.0000
    """
    require_columns(transactions, [customer_col, date_col, amount_col], table="transactions")
    require_columns(customers, [customer_col, owner_col], table="customers")
    lines = _lines_to(transactions, as_of, customer_col, date_col, amount_col)
    first = _first_purchases(lines, customer_col, date_col, amount_col)
    previous, current = last_twelve_months(as_of)
    prev = _values(lines, previous, customer_col, date_col, amount_col)
    cur = _values(lines, current, customer_col, date_col, amount_col)
    moves = customer_movements(prev, cur, first, current[0])
    records = customers.drop_duplicates(customer_col)
    owner_of = pd.Series(records[owner_col].astype("string").to_numpy(),
                         index=pd.Index(records[customer_col].astype("string")))
    owners = pd.Series(owner_of.reindex(moves.index).fillna(NO_OWNER).to_numpy(), index=moves.index)
    revenue = pd.DataFrame({"owner": owners, "revenue": cur.reindex(moves.index, fill_value=0.0),
                            "revenue_previous": prev.reindex(moves.index, fill_value=0.0), "cents": _cents(
                                cur.reindex(moves.index, fill_value=0.0))})
    flagged = set()
    if at_risk is not None:
        flagged = set(at_risk.loc[at_risk["at_risk"].astype(bool), "customer_id"].astype("string"))
    rows = []
    for owner, book in revenue.groupby("owner", sort=True):
        active = book[book["cents"] > 0]
        risky = book[book.index.isin(flagged)]
        totals = bridge_totals(moves.loc[book.index])
        clipped = pareto.concentration_values(active["revenue"].to_numpy())
        rows.append({
            "owner": owner, "customers": len(active),
            "revenue": int(book["cents"].sum()) / 100,
            "revenue_previous": int(_cents(book["revenue_previous"]).sum()) / 100,
            "top_customer_share": float(clipped.max() / clipped.sum()) if clipped.sum() > 0 else math.nan,
            "hhi": pareto.hhi(clipped) if clipped.size else math.nan,
            "customers_at_risk": len(risky), "revenue_at_risk": int(risky["cents"].sum()) / 100,
            **{name: totals[name] for name in MOVEMENTS},
            "net_revenue_retention": totals["net_revenue_retention"],
            "gross_revenue_retention": totals["gross_revenue_retention"],
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=[*OWNER_COLUMNS, *MOVEMENTS, "net_revenue_retention", "gross_revenue_retention"])
    out["growth"] = np.where(out["revenue_previous"] > 0, out["revenue"] / out["revenue_previous"].where(
        out["revenue_previous"] > 0) - 1, np.nan)
    out["open_leads"] = (open_leads.reindex(out["owner"]).fillna(0).astype("int64").to_numpy()
                         if open_leads is not None else pd.array([pd.NA] * len(out), dtype="Int64"))
    ordered = [*OWNER_COLUMNS, *MOVEMENTS, "net_revenue_retention", "gross_revenue_retention"]
    return out[ordered].sort_values(["revenue", "owner"], ascending=[False, True]).reset_index(drop=True)


# --------------------------------------------------------------------------- objectives

def objective_status(value: float, projected: float, target: float, higher_is_better: bool = True,
                     finished: bool = False, kind: str = "sum") -> str:
    """The status of an objective (rule in the module docstring).

    Examples
    --------
    >>> objective_status(130, 130, 120), objective_status(60, 125, 120), objective_status(60, 110, 120)
    ('achieved', 'on track', 'at risk')
    >>> objective_status(60, 100, 120), objective_status(0.9, 0.9, 0.85, kind="rate")
    ('off track', 'on track')
    >>> objective_status(40, 40, 50, higher_is_better=False, finished=True)
    'achieved'
    """
    if value is None or pd.isna(value):
        return "no data"
    met = value >= target if higher_is_better else value <= target
    if met and (finished or (kind == "sum" and higher_is_better)):
        return "achieved"
    if projected is None or pd.isna(projected):
        return "no data"
    if higher_is_better:
        ratio = projected / target if target > 0 else math.inf
    else:
        ratio = target / projected if projected > 0 else math.inf
    if ratio >= 1:
        return "on track"
    return "at risk" if ratio >= AT_RISK_FROM else "off track"


@dataclass
class _Data:
    """What the objectives are measured on (the revenue lines up to the analysis date, an Ibis table);
    first purchases and orders per day are computed by the engine on first use, measures are remembered."""

    lines: ir.Table
    profiles: pd.DataFrame | None = None
    earliest: pd.Timestamp | None = None
    cache: dict = field(default_factory=dict)

    @functools.cached_property
    def first(self) -> pd.Series:
        return _first_purchases(self.lines, "customer_id", "date", "amount")

    @functools.cached_property
    def orders_per_day(self) -> pd.Series:
        return _orders_per_day(self.lines)


def _span(start: pd.Timestamp, deadline: pd.Timestamp):
    """The length of ``[start, deadline]``: whole months when it is made of months, else days."""
    after = deadline + pd.Timedelta(days=1)
    if start.day == 1 and after.day == 1:
        return pd.DateOffset(months=(after.year - start.year) * 12 + after.month - start.month)
    return after - start


def _measure(metric: str, data: _Data, start: pd.Timestamp, end: pd.Timestamp, span) -> float:
    """``metric`` over ``[start, end]`` (bridge metrics against the same days one ``span`` earlier)."""
    key = (metric, start, end)
    if key in data.cache:
        return data.cache[key]
    window = (start, end)
    if metric in ("revenue", "active_customers", "average_order_value"):
        values = _values(data.lines, window, "customer_id", "date", "amount")
        revenue = int(_cents(values).sum()) / 100
        if metric == "revenue":
            result = revenue
        elif metric == "active_customers":
            result = float((_cents(values) > 0).sum())
        else:
            n_orders = _count_in(data.orders_per_day, start, end)
            result = revenue / n_orders if n_orders else math.nan
    elif metric == "orders":
        result = float(_count_in(data.orders_per_day, start, end))
    elif metric == "new_customers":  # as the bridge's new customers: first purchase in the window, net above zero
        first_in = data.first[data.first.between(start, end + pd.Timedelta(days=1), inclusive="left")]
        values = _values(data.lines, window, "customer_id", "date", "amount")
        result = float(first_in.index.isin(values.index[_cents(values) > 0]).sum())
    elif metric == "lead_conversion_rate":
        profiles = data.profiles
        created = profiles[profiles["created"].between(start, end)]
        known = created[created["status"].isin(["converted", "closed"])]
        result = float((known["status"] == "converted").mean()) if len(known) else math.nan
    else:  # bridge metrics
        previous = (start - span, end - span)
        moves = _window_movements(data.lines, data.first, previous, window, "customer_id", "date", "amount")
        totals = bridge_totals(moves)
        result = {"expansion_revenue": totals["expansion"], "churned_customers": float(totals["n_churned"]),
                  "net_revenue_retention": totals["net_revenue_retention"],
                  "gross_revenue_retention": totals["gross_revenue_retention"]}[metric]
    data.cache[key] = result
    return result


def _history_from(metric: str, start: pd.Timestamp, span) -> pd.Timestamp:
    """The first day the data must cover to measure ``metric`` from ``start``."""
    return start - span if metric in ("expansion_revenue", "churned_customers", "net_revenue_retention",
                                      "gross_revenue_retention") else start


def _select(objective: Objective, customers: pd.DataFrame | None, lines: ir.Table,
            profiles: pd.DataFrame | None) -> tuple[ir.Table, pd.DataFrame | None]:
    """The lines (customer filter) or the lead profiles (lead filter) an objective is about."""
    if not objective.filter:
        return lines, profiles
    if METRICS[objective.metric].table == "leads":
        keep = np.ones(len(profiles), dtype=bool)
        for column, values in objective.filter:
            keep &= profiles[column].astype("string").isin(values).fillna(False).to_numpy(dtype=bool)
        return lines, profiles[keep]
    customers = customers.drop_duplicates("customer_id")
    keep = np.ones(len(customers), dtype=bool)
    for column, values in objective.filter:
        keep &= customers[column].astype("string").isin(values).fillna(False).to_numpy(dtype=bool)
    return _of_customers(lines, customers.loc[keep, "customer_id"]), profiles


def _covers_last_year(objective: Objective, data: _Data, as_of: pd.Timestamp, until: pd.Timestamp) -> bool:
    """Whether the data covers the objective's window a year earlier, from its start to ``until`` - 1 year."""
    year = pd.DateOffset(years=1)
    if until - year > as_of:
        return False
    if METRICS[objective.metric].table == "leads":
        created = data.profiles["created"] if data.profiles is not None else pd.Series(dtype="datetime64[ns]")
        return bool(created.notna().any()) and created.min() <= objective.start - year
    first_day = _history_from(objective.metric, objective.start - year, _span(objective.start, objective.deadline))
    return data.earliest is not None and data.earliest <= first_day


def _last_year(objective: Objective, data: _Data, as_of: pd.Timestamp) -> float:
    """The metric over the objective's whole window a year earlier (NaN when the data does not cover it)."""
    if not _covers_last_year(objective, data, as_of, objective.deadline):
        return math.nan
    year = pd.DateOffset(years=1)
    return _measure(objective.metric, data, objective.start - year, objective.deadline - year,
                    _span(objective.start, objective.deadline))


def is_stretch(target: float, last_year: float, higher_is_better: bool = True) -> bool:
    """Whether a target is a stretch against last year's value over the same dates: at least
    :data:`STRETCH_FACTOR` times it (or at most 1 / :data:`STRETCH_FACTOR` of it for a metric that
    should fall). ``False`` when last year's value is unknown or zero.

    Examples
    --------
    >>> is_stretch(250, 100), is_stretch(150, 100), is_stretch(20, 50, higher_is_better=False)
    (True, False, True)
    >>> is_stretch(250, float("nan")), is_stretch(5, 0)
    (False, False)
    """
    if pd.isna(last_year) or last_year <= 0:
        return False
    return target >= STRETCH_FACTOR * last_year if higher_is_better else target <= last_year / STRETCH_FACTOR


def _measured(objective: Objective, data: _Data, as_of: pd.Timestamp) -> dict:
    metric = METRICS[objective.metric]
    start, deadline = objective.start, objective.deadline
    span = _span(start, deadline)
    total_days = (deadline - start).days + 1
    last_year = _last_year(objective, data, as_of)
    realism = {"last_year": last_year,
               "stretch": is_stretch(objective.target, last_year, metric.higher_is_better)}
    if as_of < start:
        return {"value": math.nan, "projected": math.nan, "elapsed_share": 0.0, "status": "not started",
                "rule": "not started yet", **realism}
    end = min(as_of, deadline)
    finished = as_of >= deadline
    value = _measure(objective.metric, data, start, end, span)
    elapsed = ((end - start).days + 1) / total_days
    rule = "value at the deadline" if finished else "value to date"
    projected = value
    if metric.kind == "sum" and not finished and not pd.isna(value):
        projected, rule = value / elapsed, "linear pace to the deadline"
        year = pd.DateOffset(years=1)
        if data.earliest is not None and data.earliest <= _history_from(objective.metric, start - year, span):
            full = _measure(objective.metric, data, start - year, deadline - year, span)
            part = _measure(objective.metric, data, start - year, end - year, span)
            if part > 0 and full > 0:
                projected, rule = value * full / part, "pace of last year's same period (seasonality)"
    status = objective_status(value, projected, objective.target, metric.higher_is_better, finished, metric.kind)
    return {"value": value, "projected": projected, "elapsed_share": elapsed, "status": status, "rule": rule,
            **realism}


def measure_objectives(objectives: Iterable[Objective], transactions: pd.DataFrame | ir.Table, as_of, *,
                       customers: pd.DataFrame | None = None, lead_profiles: pd.DataFrame | None = None,
                       config_path=None) -> pd.DataFrame:
    """Measure each objective from the data up to ``as_of``, project it and give its status.

    Parameters
    ----------
    objectives : iterable of Objective
        From :func:`objectives_from_config`.
    transactions : DataFrame or engine table
        Transaction lines (``customer_id``, ``date``, ``amount``, ``order_id`` when given).
    as_of : date-like
        Analysis date.
    customers : DataFrame, optional
        The customers table (``customer_id`` and the columns of the customer filters).
    lead_profiles : DataFrame, optional
        :func:`portfolio_helpers.analysis.scoring.lead_profiles` (needed by ``lead_conversion_rate``).
    config_path : path, optional
        Named in the error of an objective the data cannot measure.

    Returns
    -------
    DataFrame
        Columns :data:`OBJECTIVE_COLUMNS`, then ``start``, ``deadline``, ``elapsed_share``,
        ``rule`` (how ``projected`` was made), ``filter`` (text), ``last_year`` (the metric over the
        same window a year earlier, NaN when the data does not cover it), ``stretch``
        (:func:`is_stretch`: is the target realistic against it?) and ``higher_is_better``.

    Raises
    ------
    ConfigError
        For an objective the data cannot measure (:func:`check_measurable`).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "c"], "amount": [100.0, 50.0, 70.0],
    ...     "date": pd.to_datetime(["2025-01-10", "2025-02-01", "2025-05-03"])})
    >>> goal = objectives_from_config([{"name": "Win", "metric": "new_customers", "target": 5,
    ...     "start": "2025-01-01", "deadline": "2025-12-31"}])
    >>> measure_objectives(goal, tx, "2025-06-30")[["value", "projected", "status"]].round(2).values
    array([[3.0, 6.05, 'on track']], dtype=object)
    """
    require_columns(transactions, ["customer_id", "date", "amount"], table="transactions")
    objectives = list(objectives)
    check_measurable(objectives, customers=customers, lead_profiles=lead_profiles, config_path=config_path)
    as_of = pd.Timestamp(as_of).normalize()
    all_lines = _lines_to(transactions, as_of, "customer_id", "date", "amount", "order_id")
    earliest = _date_range(all_lines, "date")[1]
    rows = []
    selections: dict = {}  # objectives with the same filter share their data
    for objective in objectives:
        key = (METRICS[objective.metric].table == "leads", objective.filter)
        if key not in selections:
            lines, profiles = _select(objective, customers, all_lines, lead_profiles)
            selections[key] = _Data(lines, profiles, None if earliest is None else earliest.normalize())
        measured = _measured(objective, selections[key], as_of)
        target = objective.target
        rows.append({"name": objective.name, "metric": objective.metric, "target": target,
                     "value": measured["value"],
                     "achieved_share": measured["value"] / target if target else math.nan,
                     "projected": measured["projected"], "status": measured["status"],
                     "start": objective.start, "deadline": objective.deadline,
                     "elapsed_share": measured["elapsed_share"], "rule": measured["rule"],
                     "filter": "; ".join(f"{c} = {', '.join(v)}" for c, v in objective.filter),
                     "last_year": measured["last_year"], "stretch": measured["stretch"],
                     "higher_is_better": METRICS[objective.metric].higher_is_better})
    columns = [*OBJECTIVE_COLUMNS, "start", "deadline", "elapsed_share", "rule", "filter", "last_year", "stretch",
               "higher_is_better"]
    return pd.DataFrame(rows, columns=columns)


def _round_target(value: float) -> float | int:
    """Three significant digits (120,456 -> 120,000), so a proposed target reads as a goal; a whole
    number as an ``int`` (``1070000``, not ``1070000.0`` in the YAML proposed)."""
    if not value or not math.isfinite(value):
        return 0
    digits = 2 - int(math.floor(math.log10(abs(value))))
    rounded = float(round(value, digits))
    return int(rounded) if rounded.is_integer() else rounded


def proposal_year(as_of) -> int:
    """The calendar year objectives are proposed for at ``as_of``: its own year, or the next one when less than a
    quarter of the year is left after ``as_of``'s day (from 1 October: 91 days or fewer remain), so that a proposal
    always has at least a quarter of its period ahead.

    Examples
    --------
    >>> proposal_year("2011-09-30"), proposal_year("2011-10-01"), proposal_year("2011-12-09")
    (2011, 2012, 2012)
    """
    as_of = pd.Timestamp(as_of).normalize()
    left = (pd.Timestamp(as_of.year, 12, 31) - as_of).days  # the days after as_of's day
    return as_of.year + 1 if 4 * left < (365 + as_of.is_leap_year) else as_of.year


def proposed_objectives(transactions: pd.DataFrame, as_of) -> list[dict]:
    """Three objectives at the pace of the last 12 months, for the calendar year :func:`proposal_year` gives:
    ``as_of``'s year, or the next one when less than a quarter of it is left.

    Revenue and new customers as in the last 12 months, and gross revenue retention as in the last
    12 months against the 12 before. When the data does not cover the 12 months before in full, a
    customer first seen in the data may be an old one and retention cannot be measured: orders
    replace new customers and active customers replace retention; orders also replace new customers
    when none was won. None (``[]``) without revenue in the last 12 months.
    ``start`` and ``deadline`` are ``datetime.date``, ready for YAML.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "a"], "amount": [10.0, 100.0, 50.0, 80.0],
    ...     "date": pd.to_datetime(["2023-05-01", "2024-03-01", "2025-02-01", "2025-03-01"])})
    >>> [(o["metric"], o["target"]) for o in proposed_objectives(tx, "2025-06-30")]
    [('revenue', 130), ('new_customers', 1), ('gross_revenue_retention', 0.8)]
    """
    require_columns(transactions, ["customer_id", "date", "amount"], table="transactions")
    as_of = pd.Timestamp(as_of).normalize()
    year = proposal_year(as_of)
    start, deadline = dt.date(year, 1, 1), dt.date(year, 12, 31)
    lines = _lines_to(transactions, as_of, "customer_id", "date", "amount", "order_id")
    previous, current = last_twelve_months(as_of)
    revenue = int(_cents(_values(lines, current, "customer_id", "date", "amount")).sum()) / 100
    if revenue <= 0:
        return []
    first = _first_purchases(lines, "customer_id", "date", "amount")
    totals = bridge_totals(_window_movements(lines, first, previous, current, "customer_id", "date", "amount"))
    n_new = totals["n_new"]  # the bridge's new customers, as the new_customers metric counts them
    covered = _date_range(lines, "date")[1] <= previous[0]  # the 12 months before are in the data in full
    proposals = [{"name": "Grow revenue", "metric": "revenue", "target": _round_target(revenue)}]
    if n_new and covered:
        proposals.append({"name": "Win new customers", "metric": "new_customers", "target": n_new})
    else:  # no customer won in the last 12 months (a closed cohort), or no telling who is new: the orders
        n_orders = _count_in(_orders_per_day(lines), *current)
        proposals.append({"name": "Keep orders coming", "metric": "orders", "target": n_orders})
    grr = totals["gross_revenue_retention"] if covered else math.nan
    if pd.isna(grr):  # no previous 12 months, or only part of them in the data
        active = int((_cents(_values(lines, current, "customer_id", "date", "amount")) > 0).sum())
        proposals.append({"name": "Keep customers active", "metric": "active_customers", "target": active})
    else:
        proposals.append({"name": "Keep our customers", "metric": "gross_revenue_retention",
                          "target": math.floor(grr * 100) / 100})
    return [{**p, "start": start, "deadline": deadline} for p in proposals]


# --------------------------------------------------------------------------- notebook 07: every analysis at once

@dataclass
class GrowthResults:
    """Everything notebook 07 shows, as :func:`growth_results` computes it."""

    period: str
    as_of: pd.Timestamp
    cohorts: pd.DataFrame
    bridge: pd.DataFrame
    books: pd.DataFrame | None
    objectives: list = field(default_factory=list)
    measured: pd.DataFrame | None = None
    proposals: list = field(default_factory=list)
    n_customers: int | None = None  # customers with a line up to the analysis date (notebook 02's count)
    # the cohorts without the customers acquired before the data starts (acquisition_date), for comparisons
    compared: pd.DataFrame | None = None
    n_acquired_before: int = 0


def _open_leads(customers: pd.DataFrame | None, profiles: pd.DataFrame | None) -> pd.Series | None:
    """Open leads per owner: the open lead profiles when the leads carry an owner, else the CRM's prospects."""
    if profiles is not None and has_values(profiles, "owner"):
        return profiles.loc[profiles["status"] == "open"].groupby("owner").size()
    prospects = scoring.crm_prospects(customers)
    if prospects is not None and has_values(prospects, "owner"):
        return prospects.groupby("owner").size()
    return None


def growth_results(transactions: pd.DataFrame | ir.Table, as_of, *, customers: pd.DataFrame | None = None,
                   leads: pd.DataFrame | None = None, payments: pd.DataFrame | None = None,
                   tickets: pd.DataFrame | None = None, period: str = "quarter",
                   objectives: Iterable[Objective] = (), scoring_settings: scoring.ScoringSettings | None = None,
                   cost_model: profitability.CostModel | None = None, output_dir: str | os.PathLike | None = None,
                   config_path=None) -> GrowthResults:
    """Every analysis of notebook 07 on a portfolio's tables: cohorts, bridges, books, objectives.

    Parameters
    ----------
    transactions : DataFrame or engine table
        Transaction lines (``customer_id``, ``date``, ``amount``; the revenue lines are taken).
    as_of : date-like
        Analysis date.
    customers, leads, payments, tickets : DataFrame, optional
        The other tables of the portfolio (``None`` when absent). The books need ``customers`` with
        an ``owner``; ``leads`` gives the open leads per owner and the lead conversion rate.
    period : {"month", "quarter", "year"}
        Period of the cohorts (:func:`growth_settings`).
    objectives : iterable of Objective
        From :func:`objectives_from_config`; measured (:func:`measure_objectives`, which checks first
        that the data can measure them). Without any, three are proposed
        (:func:`proposed_objectives`).
    scoring_settings : ScoringSettings, optional
        The ``scoring:`` section (:func:`portfolio_helpers.analysis.scoring.scoring_settings`): the
        at-risk rule of notebook 05 and the days a lead stays open; its defaults when ``None``.
    cost_model : CostModel, optional
        For the customer features when ``output_dir`` holds none (the defaults when ``None``).
    output_dir : path, optional
        The run's folder: the customer features notebook 03 saved there are read
        (:func:`portfolio_helpers.analysis.features.customer_tables`); computed when absent.
    config_path : path, optional
        Named in the error of an objective the data cannot measure.

    Returns
    -------
    GrowthResults
        Cohorts (:func:`cohort_table`), bridges (:func:`revenue_bridge`), the owners' books
        (:func:`owner_books`; ``None`` without an ``owner`` with values or without a customer who
        bought in the last 24 months), the objectives measured or proposed, the customers counted.

    Raises
    ------
    ConfigError
        For an objective the data cannot measure.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a"], "amount": [100.0, 50.0, 130.0],
    ...     "date": pd.to_datetime(["2024-03-01", "2024-05-01", "2025-02-01"])})
    >>> results = growth_results(tx, "2025-12-31", period="year")
    >>> results.bridge[["period", "start", "expansion", "churned", "end"]].values.tolist()[0]
    ['2025', 150.0, 30.0, -50.0, 130.0]
    >>> results.books is None, [p["metric"] for p in results.proposals]
    (True, ['revenue', 'orders', 'active_customers'])
    """
    require_columns(transactions, ["customer_id", "date", "amount"], table="transactions")
    _check_period(period)
    as_of = pd.Timestamp(as_of).normalize()
    objectives = list(objectives)
    settings = scoring_settings if scoring_settings is not None else scoring.scoring_settings(None)
    leads = table_with_values({"leads": leads}, "leads")
    profiles = None
    if leads is not None:
        profiles, _events = scoring.lead_profiles(leads, as_of, customers, transactions,
                                                  open_days=settings.open_days)
    measured = (measure_objectives(objectives, transactions, as_of, customers=customers, lead_profiles=profiles,
                                   config_path=config_path) if objectives else None)
    books = None
    if has_values(customers, "owner"):
        _pnl, customer_features = features.customer_tables(
            transactions, as_of, cost_model if cost_model is not None else profitability.CostModel(),
            customers=customers, payments=payments, tickets=tickets, output_dir=output_dir)
        risk = scoring.at_risk(customer_features, settings.at_risk)
        books = owner_books(transactions, customers, as_of, at_risk=risk, open_leads=_open_leads(customers, profiles))
        books = books if len(books) else None
    results = GrowthResults(
        period, as_of, cohort_table(transactions, period, as_of), revenue_bridge(transactions, as_of), books,
        objectives, measured,
        [] if objectives else proposed_objectives(transactions, as_of),
        n_customers=len(first_purchases(transactions, as_of)))
    if has_values(customers, "acquisition_date"):
        before = acquired_before_data(transactions, customers)
        results.n_acquired_before = customers_in_data(transactions, before)
        if results.n_acquired_before:
            results.compared = cohort_table(transactions, period, as_of, exclude=before)
    return results
