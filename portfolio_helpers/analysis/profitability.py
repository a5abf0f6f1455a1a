"""Customer profitability: a per-customer P&L with an activity-based cost-to-serve model.

Revenue alone flatters the customers who order often and small, return a lot, pay late
or call the help desk every week. This module prices those activities with the rates of
the ``costs:`` section of the portfolio config (:class:`CostModel`) and gives one P&L
line per customer (:func:`customer_pnl`), the whale curve, the large-but-unprofitable
customers with the lever that would fix each, and a sensitivity analysis of the rates.

Config
------
.. code-block:: yaml

    costs:
      default_cogs_rate: 0.60          # share of revenue; where transactions have no `cost` value
      cogs_rate_by_category: {hardware: 0.70, services: 0.35}
      per_order: 12.0                  # order handling, per distinct order
      per_line: 1.5                    # per transaction line
      per_delivery: 8.0                # per distinct order with a positive net amount
      per_return: 25.0                 # per line returned, cancelled or modified
      per_ticket: 30.0                 # per after-sales ticket
      per_service_minute: 0.8          # per ticket minute
      capital_rate: 0.08               # annual cost of capital, for paying late
      per_late_invoice: 5.0            # dunning cost per late invoice
      per_customer: 0.0                # yearly account-management cost per active customer

Every rate defaults to 0 except ``default_cogs_rate`` (0.60). Categories compare
case- and accent-insensitively (``Hardware`` is ``hardware``).

Engine tables
-------------
The transactions, payments and tickets are pandas frames or engine tables (an Ibis table
scanning Parquet, a Spark table): :func:`driver_quantities` aggregates them where they are (the
lines in one pass per customer plus the customer summary's orders; the invoices and tickets in
one query each) and only per-customer quantities come back; pricing and scenarios then run on
those.

Definitions
-----------
The P&L covers every transaction line given (the loader already leaves out lines dated
after ``as_of``), not one year: counts and costs are totals over the data period.

Customers
    Every customer with at least one transaction line (even if all its lines are
    cancelled). Customers with tickets or invoices but no transaction line are not in
    the P&L; :func:`customers_without_transactions` lists them.
Revenue
    Sum of ``amount`` over the revenue lines, i.e. every line except cancelled ones
    (:func:`portfolio_helpers.analysis.engine.revenue_lines`); credit notes count, negative.
Cost of goods (``cogs``, :func:`cost_of_goods`)
    Line by line on the revenue lines: the ``cost`` value where the column exists and
    the value is not missing, else ``amount`` times the line category's rate
    (``cogs_rate_by_category``), else times ``default_cogs_rate``.
    ``gross_margin = revenue - cogs`` (:func:`gross_margin`).
Orders (``cost_orders = per_order x n_orders``)
    The orders of the revenue lines (:func:`portfolio_helpers.analysis.engine.orders`):
    lines sharing an ``order_id``; a line without ``order_id`` (or every line, without the
    column) is an order of its own. A fully cancelled order is not an order; its lines
    still cost ``per_line`` and ``per_return``.
Lines (``cost_lines = per_line x n_lines``)
    All lines, cancelled ones included.
Deliveries (``cost_delivery = per_delivery x n_deliveries``)
    Orders whose net amount over their revenue lines is positive
    (:func:`portfolio_helpers.analysis.engine.deliveries`).
Returns (``cost_returns = per_return x n_return_lines``)
    Return lines (:func:`portfolio_helpers.analysis.engine.return_lines`): status
    ``returned``, ``cancelled`` or ``modified`` (0 without a status column).
Late payment (``cost_late_payment``)
    From the ``payments`` table. An invoice is late when it was paid after its due date
    (late by ``paid_date - due_date`` days) or is unpaid and was due before ``as_of``
    (late by ``as_of - due_date`` days); an invoice due after ``as_of`` is not late.
    Only invoices with a positive amount count (a credit note is owed *to* the
    customer): ``capital_days = sum(amount x days late)`` and ``cost_late_payment =
    capital_days x capital_rate / 365 + per_late_invoice x n_late_invoices``. Dates
    are compared by calendar day.
Service (``cost_service``)
    From the ``tickets`` table: ``per_ticket x n_tickets + per_service_minute x
    service_minutes`` plus the tickets' own ``cost`` column when given.
Account (``cost_account = per_customer x n_active_years``)
    ``n_active_years`` counts the 12-month windows ``(as_of - (k+1) years, as_of - k
    years]``, k = 0, 1, 2, ..., in which the customer has at least one revenue line
    with a positive amount.
Cost to serve and profit
    ``cost_to_serve`` is the sum of the seven ``cost_*`` drivers (:data:`DRIVER_COLUMNS`);
    ``profit = revenue - cogs - cost_to_serve``; ``profit_margin = profit / revenue`` and
    ``margin_rate = gross_margin / revenue`` (both NaN when revenue <= 0).
    ``profit_rank`` is 1 for the most profitable customer, ties broken by customer id.
    A customer is *unprofitable* when its profit is negative (below 0).
Discounts
    Net ``amount`` already has the discount taken off, so discounts are never subtracted
    again: ``discount_given`` (sum of the ``discount`` column over revenue lines) and
    ``discount_share`` (share of revenue bought on lines with a discount > 0) are
    reported beside the P&L, NaN without a ``discount`` column.
Traits
    ``orders_per_year`` is ``n_orders / max(tenure in years, 1)``, tenure counted from the
    first revenue line's day to ``as_of``
    (:func:`portfolio_helpers.analysis.engine.orders_per_year`); ``avg_order_value = revenue /
    n_orders``; ``return_rate = n_return_lines / n_lines``; ``days_late`` is the mean
    of ``paid_date - due_date`` over paid invoices, negative when paid early, NaN without a paid
    invoice (:func:`portfolio_helpers.analysis.engine.customer_days_late`, as in the customer features); ``avg_days_to_pay`` the mean of
    ``paid_date`` minus the order date (first line of the ``order_id`` in transactions)
    over paid invoices whose ``order_id`` links; ``service_minutes_per_1000`` is service
    minutes per 1,000 of revenue (NaN when revenue <= 0). A customer whose lines are all
    cancelled has 0 orders, 0 orders per year and no average order value (NaN).

Missing optional tables (``payments``, ``tickets``) make their drivers 0;
:func:`portfolio_helpers.reporting.profitability.missing_driver_notes` says so in words for the report.

Example
-------
>>> import pandas as pd
>>> tx = pd.DataFrame({
...     "customer_id": ["a", "a", "b"], "order_id": ["o1", "o2", "o3"],
...     "date": pd.to_datetime(["2025-01-10", "2025-03-01", "2025-02-01"]),
...     "amount": [1000.0, 50.0, 300.0], "cost": [600.0, None, 150.0]})
>>> model = CostModel(default_cogs_rate=0.5, per_order=20.0, per_delivery=10.0)
>>> pnl = customer_pnl(tx, model, as_of="2025-12-31")
>>> pnl[["customer_id", "revenue", "cogs", "cost_to_serve", "profit", "profit_rank"]]
  customer_id  revenue   cogs  cost_to_serve  profit  profit_rank
0           a   1050.0  625.0           60.0   365.0            1
1           b    300.0  150.0           30.0   120.0            2
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine
from portfolio_helpers.core.contract import normalize_label
from portfolio_helpers.core.errors import ConfigError, ValueProblem
from portfolio_helpers.core.validation import (
    canonical_lines,
    is_engine_table,
    require_choice,
    require_columns,
    require_complete,
    require_count,
    require_date,
    require_dates,
    require_number,
    require_share,
    suggest,
)
from portfolio_helpers.core.vocabulary import UNKNOWN

__all__ = [
    "CostModel",
    "COST_KEYS",
    "DRIVER_COLUMNS",
    "DRIVER_LABELS",
    "EXPORT_COLUMNS",
    "PNL_COLUMNS",
    "cost_model_from_config",
    "load_cost_model",
    "driver_quantities",
    "cost_of_goods",
    "gross_margin",
    "customer_margins",
    "price",
    "customer_pnl",
    "customers_without_transactions",
    "whale_curve",
    "whale_summary",
    "quadrants",
    "QUADRANTS",
    "loss_drivers",
    "LOSS_TRAITS",
    "SERVICE_RATES",
    "transactions_table",
    "cost_breakdown",
    "sensitivity",
    "profitability_metrics",
]

# --------------------------------------------------------------------------- names

#: Rates that are a share (of revenue, or per year) and so cannot exceed 1.
_SHARE_RATES = ("default_cogs_rate", "capital_rate")
#: Cost-to-serve rates, in config order.
SERVICE_RATES = ("per_order", "per_line", "per_delivery", "per_return", "per_ticket", "per_service_minute",
                  "capital_rate", "per_late_invoice", "per_customer")
#: The P&L columns a loss lever is worded from (:func:`loss_drivers`).
LOSS_TRAITS = ("orders_per_year", "avg_order_value", "n_return_lines", "n_lines", "return_rate", "n_late_invoices",
               "days_late", "n_tickets", "service_minutes", "n_active_years", "discount_given")
#: Every key of the ``costs:`` section, in config order.
COST_KEYS = ("default_cogs_rate", "cogs_rate_by_category", *SERVICE_RATES)
_RATE_MEANINGS = {
    "default_cogs_rate": "a share of revenue between 0 and 1 (0.60 = 60%)",
    "cogs_rate_by_category": "a share of revenue between 0 and 1 (0.70 = 70%)",
    "capital_rate": "an annual rate between 0 and 1 (0.08 = 8% a year)",
}
DRIVER_COLUMNS: tuple[str, ...] = (
    "cost_orders", "cost_lines", "cost_delivery", "cost_returns", "cost_late_payment", "cost_service",
    "cost_account",
)
DRIVER_LABELS: dict[str, str] = {
    "cost_orders": "order handling",
    "cost_lines": "order lines",
    "cost_delivery": "deliveries",
    "cost_returns": "returns and changes",
    "cost_late_payment": "late payment",
    "cost_service": "after-sales service",
    "cost_account": "account management",
}
TRAIT_COLUMNS: tuple[str, ...] = (
    "n_orders", "n_lines", "orders_per_year", "avg_order_value", "discount_given", "discount_share",
    "return_rate", "days_late", "avg_days_to_pay", "n_tickets", "service_minutes",
    "service_minutes_per_1000", "margin_rate",
)
#: The other driver quantities, kept in the P&L so each cost can be traced to its count.
QUANTITY_COLUMNS: tuple[str, ...] = ("n_deliveries", "n_return_lines", "n_late_invoices", "capital_days",
                                     "ticket_cost", "n_active_years")
PNL_COLUMNS: tuple[str, ...] = (
    "customer_id", "revenue", "cogs", "gross_margin", *DRIVER_COLUMNS, "cost_to_serve", "profit",
    "profit_margin", "profit_rank", *TRAIT_COLUMNS, *QUANTITY_COLUMNS,
)
#: Columns the notebook writes to ``exports/customers.csv`` (besides ``customer_id``).
EXPORT_COLUMNS: tuple[str, ...] = ("cogs", "gross_margin", *DRIVER_COLUMNS, "cost_to_serve", "profit",
                                   "profit_margin", "profit_rank")
QUADRANTS = ("large & profitable", "large & unprofitable", "small & profitable", "small & unprofitable")
# Cost drivers a commercial lever acts on together (loss_explanations).
_LEVER_GROUPS: dict[str, tuple[str, ...]] = {
    "order handling": ("cost_orders", "cost_lines", "cost_delivery"),
    "returns": ("cost_returns",),
    "late payment": ("cost_late_payment",),
    "after-sales service": ("cost_service",),
    "account management": ("cost_account",),
}
_UNCOSTED_DEFAULT = "uncosted_revenue"  # revenue of lines without cost, priced at default_cogs_rate


def _uncosted_column(category: str) -> str:
    return f"uncosted_revenue[{category}]"


# --------------------------------------------------------------------------- the cost model


@dataclass(frozen=True)
class CostModel:
    """The rates of the activity-based cost-to-serve model (the ``costs:`` config section).

    Category keys of ``cogs_rate_by_category`` are stored normalized
    (:func:`~portfolio_helpers.core.contract.normalize_label`: lower case, no accents). The
    constructor checks the rates are finite and not negative (``ValueError``); the
    stricter config rules (shares at most 1) are applied by :func:`cost_model_from_config`,
    so that :meth:`scaled` can explore scenarios beyond them.

    Examples
    --------
    >>> model = CostModel(per_order=12.0, cogs_rate_by_category={"Hardware": 0.7})
    >>> model.cogs_rate_by_category
    {'hardware': 0.7}
    >>> model.scaled("per_order", 1.5).per_order
    18.0
    >>> model.cost_to_serve_rates()
    {'per_order': 12.0}
    """

    default_cogs_rate: float = 0.60
    cogs_rate_by_category: dict[str, float] = field(default_factory=dict)
    per_order: float = 0.0
    per_line: float = 0.0
    per_delivery: float = 0.0
    per_return: float = 0.0
    per_ticket: float = 0.0
    per_service_minute: float = 0.0
    capital_rate: float = 0.0
    per_late_invoice: float = 0.0
    per_customer: float = 0.0

    def __post_init__(self) -> None:
        for name in ("default_cogs_rate", *SERVICE_RATES):
            value = getattr(self, name)
            object.__setattr__(self, name, require_number(value, f"CostModel.{name}", low=0))
        if not isinstance(self.cogs_rate_by_category, Mapping):
            raise ValueProblem("CostModel.cogs_rate_by_category must be a mapping category -> rate, "
                             f"got {type(self.cogs_rate_by_category).__name__}")
        rates: dict[str, float] = {}
        for category, rate in self.cogs_rate_by_category.items():
            label = normalize_label(category)
            if label in rates:
                raise ValueProblem(f"CostModel.cogs_rate_by_category: category {category!r} is given twice")
            rates[label] = require_number(rate, f"CostModel.cogs_rate_by_category[{category!r}]", low=0)
        object.__setattr__(self, "cogs_rate_by_category", rates)

    def scaled(self, name: str, factor: float) -> CostModel:
        """A copy with one rate multiplied by ``factor`` (``cogs_rate_by_category``: every category rate).

        Examples
        --------
        >>> CostModel(cogs_rate_by_category={"hardware": 0.5}).scaled("cogs_rate_by_category", 2).cogs_rate_by_category
        {'hardware': 1.0}
        """
        require_choice(name, "the rate", COST_KEYS)
        factor = require_number(factor, "factor", low=0)
        if name == "cogs_rate_by_category":
            return dataclasses.replace(self, cogs_rate_by_category={
                category: rate * factor for category, rate in self.cogs_rate_by_category.items()})
        return dataclasses.replace(self, **{name: getattr(self, name) * factor})

    def cost_to_serve_rates(self) -> dict[str, float]:
        """The non-zero cost-to-serve rates, in config order."""
        return {name: getattr(self, name) for name in SERVICE_RATES if getattr(self, name) > 0}

    def nonzero_rates(self) -> list[str]:
        """Names of the rates that are not 0 (``cogs_rate_by_category`` when it has a non-zero rate)."""
        names = ["default_cogs_rate"] if self.default_cogs_rate > 0 else []
        if any(rate > 0 for rate in self.cogs_rate_by_category.values()):
            names.append("cogs_rate_by_category")
        return names + list(self.cost_to_serve_rates())


def _config_rate(value, where: str, key: str, fail) -> float:
    meaning = _RATE_MEANINGS.get(key, "a number >= 0 in the report currency, e.g. 12.0")
    if value is None:
        raise fail(where, f"no value given; expected {meaning}")
    if isinstance(value, bool) or not isinstance(value, Real):
        shown = f"text {value!r}" if isinstance(value, str) else f"{type(value).__name__} {value!r}"
        hint = " (write the number without quotes or % sign)" if isinstance(value, str) else ""
        raise fail(where, f"expected {meaning}, got {shown}{hint}")
    if not math.isfinite(value):
        raise fail(where, f"expected {meaning}, got {value!r}")
    if value < 0:
        raise fail(where, f"must not be negative; expected {meaning}, got {value!r}")
    if key in _RATE_MEANINGS and value > 1:
        raise fail(where, f"must be at most 1; expected {meaning}, got {value!r}"
                          f"{f' (write {value / 100:g} for {value:g}%)' if value <= 100 else ''}")
    return float(value)


def cost_model_from_config(section, config_path: str | os.PathLike | None = None) -> CostModel:
    """Validate the ``costs:`` section of a portfolio config and build the :class:`CostModel`.

    Parameters
    ----------
    section : mapping or None
        ``PortfolioConfig.sections.get("costs")``; ``None`` (no section) gives the defaults:
        every rate 0 except ``default_cogs_rate`` = 0.60.
    config_path : path, optional
        The config file, named in error messages.

    Raises
    ------
    ConfigError
        Naming the config file, ``costs.<key>`` and what is expected: unknown key (with
        the closest allowed key), a rate that is not a number or is negative, a share
        (``default_cogs_rate``, category rates, ``capital_rate``) above 1, a category
        given twice (case- and accent-insensitively), ``cogs_rate_by_category`` that is
        not a mapping.

    Examples
    --------
    >>> cost_model_from_config({"per_order": 12, "cogs_rate_by_category": {"Hardware": 0.7}})
    ... # doctest: +NORMALIZE_WHITESPACE
    CostModel(default_cogs_rate=0.6, cogs_rate_by_category={'hardware': 0.7}, per_order=12.0, per_line=0.0,
              per_delivery=0.0, per_return=0.0, per_ticket=0.0, per_service_minute=0.0, capital_rate=0.0,
              per_late_invoice=0.0, per_customer=0.0)
    >>> cost_model_from_config({"per_oder": 12}, "portfolio.yml")
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: portfolio.yml: costs.per_oder: unknown key (did you mean 'per_order'?) (allowed: default_cogs_rate, cogs_rate_by_category, per_order, per_line, per_delivery, per_return, per_ticket, per_service_minute, capital_rate, per_late_invoice, per_customer)
    """
    source = str(config_path) if config_path is not None else "portfolio config"

    def fail(where: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {where}: {message}")

    if section is None:
        return CostModel()
    if not isinstance(section, Mapping):
        raise fail("costs", f"expected a mapping of rates such as `costs: {{per_order: 12.0, per_line: 1.5}}`, "
                            f"got {type(section).__name__} {section!r}")
    for key in section:
        if key not in COST_KEYS:
            raise fail(f"costs.{key}", f"unknown key{suggest(key, COST_KEYS)} (allowed: {', '.join(COST_KEYS)})")
    rates = {key: _config_rate(section[key], f"costs.{key}", key, fail)
             for key in ("default_cogs_rate", *SERVICE_RATES) if key in section}
    categories = section.get("cogs_rate_by_category")
    category_rates: dict[str, float] = {}
    if categories is not None:
        if not isinstance(categories, Mapping):
            raise fail("costs.cogs_rate_by_category",
                       "expected a mapping category: rate, such as `{hardware: 0.70, services: 0.35}`, "
                       f"got {type(categories).__name__} {categories!r}")
        spelled: dict[str, str] = {}
        for category, value in categories.items():
            where = f"costs.cogs_rate_by_category.{category}"
            label = normalize_label(category)
            if not label:
                raise fail(where, "the category name is empty")
            if label in spelled:
                raise fail(where, f"category given twice: '{spelled[label]}' and '{category}' are the same category "
                                  "(categories compare ignoring case and accents); keep one")
            spelled[label] = str(category)
            category_rates[label] = _config_rate(value, where, "cogs_rate_by_category", fail)
    return CostModel(cogs_rate_by_category=category_rates, **rates)


def load_cost_model(config_path: str | os.PathLike) -> CostModel:
    """The :class:`CostModel` of a portfolio config file (defaults without a ``costs:`` section)."""
    from portfolio_helpers.core.config import load_config

    config = load_config(config_path)
    return cost_model_from_config(config.sections.get("costs"), config.path)


# --------------------------------------------------------------------------- validation helpers


#: Columns the transactions need for the P&L (the others are optional).
TRANSACTION_COLUMNS = ("customer_id", "date", "amount")
#: Columns a payments table needs when it is given (``paid_date`` and ``order_id`` are optional).
PAYMENT_COLUMNS = ("customer_id", "due_date", "amount")
#: Columns a tickets table needs when it is given (``minutes`` and ``cost`` are optional).
TICKET_COLUMNS = ("customer_id",)
#: The transaction columns the P&L reads (the optional ones when present): only they cross into the engine.
_LINE_COLUMNS = ("customer_id", "date", "amount", "order_id", "status", "category", "discount", "cost")
_LOADERS = "load the tables with portfolio_helpers.ingest.loaders"


def _with_customer(frame):
    """The rows of ``frame`` (a frame or an engine table, same form back) that have a customer id."""
    if is_engine_table(frame):
        return frame.filter(frame.customer_id.notnull())
    return frame[frame["customer_id"].notna()]


def _id_dtype(frame):
    """The dtype of the customer ids of the results: the frame's own, ``string`` for an engine table."""
    return "string" if is_engine_table(frame) else frame["customer_id"].dtype


def _number(value):
    """A numeric column as float64 with missing values (null or NaN) as 0 (Ibis expression)."""
    value = value.cast("float64")
    return ibis.ifelse(value.isnull() | value.isnan(), 0.0, value)


def _checked_lines(transactions, customer_col: str = "customer_id", date_col: str = "date",
                   amount_col: str = "amount", order_col: str | None = "order_id",
                   status_col: str | None = "status"):
    """The boundary check of the transactions (once, in each public function): the columns named by the
    keywords are present, the dates are dates, every line has an amount; the lines with a customer id
    come back with the kit's column names (same form: a frame or an engine table)."""
    lines = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    require_dates(transactions, [date_col], table="transactions")
    require_complete(transactions, [amount_col], table="transactions", why="every line needs an amount")
    return _with_customer(lines)


def transactions_table(transactions: pd.DataFrame, *, customer_col: str = "customer_id", date_col: str = "date",
                       amount_col: str = "amount", order_col: str | None = "order_id",
                       status_col: str | None = "status") -> pd.DataFrame:
    """``transactions`` checked (customer, date and amount columns present, dates, no missing amount), the
    lines with a customer, with the kit's column names.

    ``transactions`` is a frame or an engine table (a scanned Parquet file, a Spark table); the
    result has the same form (an engine table is filtered, not read; the missing amounts are
    counted by the engine). The ``*_col`` keywords name the source's columns; the result has the
    kit's names (``customer_id, date, amount, order_id, status``).

    Raises
    ------
    ColumnError
        A column is missing (naming the table, the column and what it has).
    ValueProblem
        The dates are not dates, or an amount is missing (how many, which rows).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", None], "date": pd.to_datetime(["2025-01-01"] * 2),
    ...                    "amount": [10.0, 5.0]})
    >>> len(transactions_table(tx))
    1
    >>> transactions_table(tx.drop(columns="amount"))
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ColumnError: the transactions table has no amount column; it has customer_id, date
    >>> list(transactions_table(tx.rename(columns={"customer_id": "client"}), customer_col="client").columns)
    ['customer_id', 'date', 'amount']
    """
    return _checked_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)


def _optional(frame, name: str, required: Sequence[str], dates: Sequence[str] = ()):
    """An optional table checked at the boundary (None stays None): its columns and dates, lines with a customer."""
    if frame is None:
        return None
    require_columns(frame, required, table=name)
    require_dates(frame, [col for col in dates if col in frame.columns], table=name)
    return _with_customer(frame)


def _as_of(as_of, transactions) -> pd.Timestamp:
    if as_of is None:
        if is_engine_table(transactions):
            as_of = engine.execute(transactions.aggregate(last=transactions.date.max()))["last"].iloc[0]
        else:
            as_of = transactions["date"].max()
        if pd.isna(as_of):
            raise ValueProblem("as_of is missing and the transactions have no date to default it to "
                               "(no dated transaction?): pass as_of")
    return require_date(as_of, "as_of").normalize()


def _negative_error(n_negative: int, examples, where: str) -> ValueProblem:
    shown = ", ".join(f"{v:g}" for v in examples)
    return ValueProblem(f"{where} has {n_negative:,} negative value(s) (e.g. {shown}); "
                      "a time or a cost cannot be negative: fix them in the export")


# --------------------------------------------------------------------------- driver quantities


def _line_table(transactions) -> ir.Table:
    """The columns of the lines the P&L reads, as an Ibis table (a frame becomes an in-memory table)."""
    return engine.table(transactions, [col for col in _LINE_COLUMNS if col in transactions.columns])


def _category_bucket(t: ir.Table, categories: list):
    """The bucket of each line's category in ``categories`` (1-based; 0 = none: priced at
    ``default_cogs_rate``), categories compared normalized. The distinct labels come from the engine
    (one row per label), the normalization runs in Python on them, not on the lines."""
    if not categories or "category" not in t.columns:
        return ibis.literal(0, "int64")
    label = t.category.cast("string")
    labels = engine.execute(t.select(label=label).distinct())["label"]
    buckets = {value: categories.index(normalize_label(value)) + 1 for value in labels
               if not pd.isna(value) and normalize_label(value) in categories}
    if not buckets:
        return ibis.literal(0, "int64")
    return label.substitute(buckets, else_=ibis.literal(0, "int64")).cast("int64")


def _status_flags(t: ir.Table):
    """Two predicates on the lines ``t``: a revenue line, a return line, from the engine's public definitions
    (:func:`~portfolio_helpers.analysis.engine.revenue_lines`, :func:`~portfolio_helpers.analysis.engine.return_lines`)
    applied to the distinct statuses (one row each, read from the engine). Without a status column every
    line is a revenue line and none a return line."""
    if "status" not in t.columns:
        return t.customer_id.isnull() | True, t.customer_id.isnull() & False  # (columns, so that sums are columns')
    values = engine.execute(t.select(status=t.status.cast("string")).distinct())["status"]
    statuses = pd.DataFrame({"status": pd.array(values, dtype="string")})
    status = t.status.cast("string")

    def flag(selected: pd.DataFrame):
        chosen = selected["status"]
        known = sorted(chosen.dropna().unique().tolist())
        flagged = status.isin(known) if known else status.isnull() & False
        return flagged | status.isnull() if chosen.isna().any() else flagged & status.notnull()

    return flag(engine.revenue_lines(statuses)), flag(engine.return_lines(statuses))


def _active_window(date, as_of: pd.Timestamp):
    """k such that as_of - (k+1) years < date <= as_of - k years, by calendar day (for a date up to as_of)."""
    months = ((as_of.year - date.year()) * 12 + (as_of.month - date.month())
              - ibis.ifelse(date.day() > as_of.day, 1, 0))  # whole months to as_of
    return (months // 12).cast("int64")


def _line_frame(t: ir.Table, model: CostModel, as_of: pd.Timestamp | None = None, flags=None) -> tuple[dict, list]:
    """The per-customer sums of the lines ``t`` (every line with a customer, cancelled ones included), as
    Ibis aggregates run in one pass by :func:`_aggregate_by_customer` (no per-line Python).

    The cost-of-goods inputs of each revenue line: its known ``cost`` (``cogs_known``) or, without
    one, its amount in the bucket of its configured category (``uncosted_revenue[<category>]``; else
    ``uncosted_revenue``, priced at ``default_cogs_rate``). With ``as_of``, also the lines and
    return lines (:func:`~portfolio_helpers.analysis.engine.return_lines`), the discount and the
    12-month windows with a purchase (``n_active_years``). ``flags``: the :func:`_status_flags` of ``t`` when
    the caller has them already (one query less).
    """
    categories = list(model.cogs_rate_by_category)
    revenue, returns = flags if flags is not None else _status_flags(t)
    amount = t.amount.cast("float64")
    if "cost" in t.columns:
        cost = t.cost.cast("float64")
        has_cost = cost.notnull() & ~cost.isnan()
    else:  # (a column, so that every sum below is a column's)
        cost, has_cost = amount, ibis.literal(False)
    bucket = _category_bucket(t, categories)
    uncosted = revenue & ~has_cost
    money = engine.money_sum  # (per-customer money, to the cent: the same on every engine)
    aggregates = {"revenue": money(amount, revenue),
                  "cogs_known": money(cost, revenue & has_cost),
                  _UNCOSTED_DEFAULT: money(amount, uncosted & (bucket == 0))}
    for i, category in enumerate(categories, start=1):
        aggregates[_uncosted_column(category)] = money(amount, uncosted & (bucket == i))
    if as_of is not None:
        # a purchase: a revenue line with a positive amount, dated up to as_of; its 12-month window before as_of
        purchase = revenue & (amount > 0) & t.date.notnull() & (t.date.cast("date") <= as_of.date())
        if "discount" in t.columns:  # (without: 0, filled by the caller)
            discount = _number(t.discount)
            aggregates |= {"discount_given": money(discount, revenue),
                           "discounted_revenue": money(amount, revenue & (discount > 0))}
        aggregates |= {"n_active_years": _active_window(t.date, as_of).nunique(where=purchase), "n_lines": t.count()}
        if "status" in t.columns:  # (without: no return line)
            aggregates["n_return_lines"] = ibis.ifelse(returns, 1, 0).sum()
    return aggregates, categories


def _aggregate_by_customer(t: ir.Table, aggregates: dict, id_dtype, con=None) -> pd.DataFrame:
    """The ``aggregates`` of :func:`_line_frame` per customer, on the engine, sorted by customer id."""
    result = engine.execute(t.group_by("customer_id").aggregate(**aggregates).order_by("customer_id"), con)
    result["customer_id"] = result["customer_id"].astype(id_dtype)
    for col in ("n_lines", "n_return_lines", "n_active_years"):
        if col in result.columns:
            result[col] = result[col].fillna(0).astype(np.int64)
    floats = [col for col in result.columns if col != "customer_id" and not col.startswith("n_")]
    return result.astype(dict.fromkeys(floats, "float64"))


def _by_customer(values: pd.Series, positions: np.ndarray, fill) -> np.ndarray:
    """``values`` at ``positions`` (:func:`engine.positions_of`) as floats, ``fill`` where a position is -1
    (a customer missing from ``values``) or the value is missing."""
    out = pd.Series(engine.take_rows(values, positions)).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isnan(out), fill, out)


def _same_type(left, right):
    """Two key columns comparable in a join: as they are when their types agree, else both as strings."""
    if left.type() == right.type():
        return left, right
    return left.cast("string"), right.cast("string")


def _payment_quantities(payments, lines: ir.Table | None, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """Per customer (index) ``capital_days, n_late_invoices, avg_days_to_pay``, one engine aggregation over
    the invoices (joined to the first line date of their order); None when no invoice has a payment date
    (lateness unknown)."""
    if payments is None or "paid_date" not in payments.columns:
        return None
    linked = lines is not None and "order_id" in payments.columns
    p = engine.table(payments, ["customer_id", "due_date", "paid_date", "amount"] + ["order_id"] * linked)
    if linked:
        with_id = lines.filter(lines.order_id.notnull())
        first = with_id.group_by(_order_key=with_id.order_id).aggregate(_order_date=with_id.date.min())
        left, right = _same_type(p.order_id, first._order_key)
        p = p.left_join(first, left == right)
    due, paid = p.due_date.cast("date"), p.paid_date.cast("date")
    amount = _number(p.amount)
    day = ibis.literal(as_of.date())
    overdue = ibis.ifelse(paid.isnull() & (due < day), day.delta(due, unit="day"), ibis.null("int64"))
    days_late = ibis.greatest(ibis.coalesce(paid.delta(due, unit="day"), overdue, 0), 0).cast("float64")
    late = (days_late > 0) & (amount > 0)
    aggregates = {"capital_days": ibis.ifelse(late, amount * days_late, 0.0).sum(),
                  "n_late_invoices": ibis.ifelse(late, 1, 0).sum(), "n_paid": paid.count()}
    if linked:  # (else no invoice links to its order: NaN)
        aggregates["avg_days_to_pay"] = paid.delta(p._order_date.cast("date"), unit="day").cast("float64").mean()
    per = p.group_by("customer_id").aggregate(**aggregates)
    result = engine.execute(per)
    if not result["n_paid"].sum():  # no payment dates: lateness unknown
        return None
    if not linked:
        result["avg_days_to_pay"] = np.nan
    return result.set_index("customer_id").astype({"capital_days": "float64", "avg_days_to_pay": "float64"})


def _ticket_quantities(tickets, check: bool = True, as_of: pd.Timestamp | None = None) -> pd.DataFrame | None:
    """Per customer (index) ``n_tickets, service_minutes, ticket_cost`` (missing minutes and costs count 0),
    one engine aggregation; ``check``: negative minutes or costs are an error; ``as_of``: only the tickets
    without a date or dated up to its day."""
    if tickets is None:
        return None
    present = [col for col in ("minutes", "cost") if col in tickets.columns]
    k = engine.table(tickets, ["customer_id", *present] + ["date"] * (as_of is not None and "date" in tickets.columns))
    if "date" in k.columns:
        k = k.filter(k.date.isnull() | (k.date.cast("date") <= as_of.date()))
    values = {col: k[col].cast("float64") for col in present}
    names = {"minutes": "service_minutes", "cost": "ticket_cost"}
    aggregates = {"n_tickets": k.count(), **{names[col]: _number(value).sum() for col, value in values.items()}}
    if check:
        aggregates |= {f"_negative_{col}": ibis.ifelse(value < 0, 1, 0).sum() for col, value in values.items()}
    result = engine.execute(k.group_by("customer_id").aggregate(**aggregates))
    for col, value in values.items():
        n_negative = int(result[f"_negative_{col}"].sum()) if check else 0
        if n_negative:
            examples = engine.execute(k.filter(value < 0).select(value=value).limit(3))["value"]
            raise _negative_error(n_negative, examples, f"tickets.{col}")
    result = result.drop(columns=[col for col in result.columns if col.startswith("_negative_")])
    for name in names.values():
        if name not in result.columns:
            result[name] = 0.0
    return result.set_index("customer_id").astype({"n_tickets": "int64", "service_minutes": "float64",
                                                    "ticket_cost": "float64"})


def _ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator where the denominator is positive, else NaN."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    positive = denominator > 0
    return np.divide(numerator, denominator, out=np.full(numerator.shape, np.nan), where=positive)


def driver_quantities(transactions: pd.DataFrame, model: CostModel | None = None, *,
                      payments: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None, as_of=None,
                      con=None, customer_col: str = "customer_id",
                      date_col: str = "date", amount_col: str = "amount", order_col: str | None = "order_id",
                      status_col: str | None = "status") -> pd.DataFrame:
    """Per-customer activity counts, the input of :func:`price` (aggregated once, priced many times).

    Every table is a frame or an engine table (a scanned Parquet file, a Spark table): the lines,
    invoices and tickets are aggregated by the engine, only per-customer figures come back.

    Parameters
    ----------
    transactions : DataFrame or Ibis table
        ``customer_id, date, amount`` (optional ``order_id, status, category, discount, cost``);
        the first five under the names given by the ``*_col`` keywords.
    model : CostModel, optional
        Only its category list matters here (revenue without a ``cost`` value is kept per
        configured category, so category rates can be re-priced). Default: ``CostModel()``.
    payments : DataFrame or Ibis table, optional
        Invoices: ``customer_id, due_date, amount`` (optional ``paid_date, order_id``).
    tickets : DataFrame or Ibis table, optional
        After-sales tickets: ``customer_id`` (optional ``minutes, cost``).
    as_of : date, optional
        The analysis date (late payments, 12-month windows); default the last transaction date.
    con : ibis backend, optional
        Engine for the line aggregation; default the engine the tables are bound to (an
        in-memory DuckDB for frames).
    customer_col, date_col, amount_col, order_col, status_col : str
        The transactions' columns of the customer id, the line date, the net amount, the order
        id and the status (``order_col`` and ``status_col`` optional: ``None`` or absent).
        Results use the kit's names (``customer_id``).

    Returns
    -------
    DataFrame
        One row per customer with a transaction line, sorted by ``customer_id``: revenue,
        ``cogs_known`` (sum of the ``cost`` values), ``uncosted_revenue`` and
        ``uncosted_revenue[<category>]`` (revenue of lines without cost), the counts and
        quantities of each driver and the model-independent traits. ``attrs`` holds
        ``as_of`` and ``categories``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a"], "order_id": ["o1", "o1", None],
    ...                    "date": pd.to_datetime(["2025-01-10", "2025-01-10", "2025-02-01"]),
    ...                    "amount": [100.0, 20.0, -30.0], "status": ["completed", "cancelled", "returned"]})
    >>> q = driver_quantities(tx, as_of="2025-12-31")
    >>> q[["revenue", "n_orders", "n_lines", "n_deliveries", "n_return_lines"]].to_dict("records")
    [{'revenue': 70.0, 'n_orders': 2, 'n_lines': 3, 'n_deliveries': 1, 'n_return_lines': 2}]
    """
    model = CostModel() if model is None else model
    transactions = _checked_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    payments, tickets = _payments_tickets(payments, tickets)
    return _driver_quantities(transactions, model, payments, tickets, _as_of(as_of, transactions), con)


def _payments_tickets(payments, tickets):
    """The boundary check of the optional invoices and tickets."""
    return (_optional(payments, "payments", PAYMENT_COLUMNS, dates=("due_date", "paid_date")),
            _optional(tickets, "tickets", TICKET_COLUMNS, dates=("date",)))


def _driver_quantities(transactions, model: CostModel, payments, tickets, as_of: pd.Timestamp,
                       con=None) -> pd.DataFrame:
    """:func:`driver_quantities` of checked tables (:func:`_checked_lines`, :func:`_payments_tickets`)."""
    t = _line_table(transactions)
    aggregates, categories = _line_frame(t, model, as_of)
    quantities = _aggregate_by_customer(t, aggregates, _id_dtype(transactions), con)
    for name, zero in (("discount_given", 0.0), ("discounted_revenue", 0.0), ("n_return_lines", 0)):
        if name not in quantities.columns:
            quantities.insert(quantities.columns.get_loc("n_active_years") if name != "n_return_lines"
                              else len(quantities.columns), name, zero)
    ids = pd.Index(quantities["customer_id"])
    # (only the figures read below: the engine leaves out the rest, such as the distinct purchase days)
    summary = engine.customer_summary(engine.revenue_lines(t), con=con, as_of=as_of,
                                      columns=("n_orders", "n_deliveries", "avg_order_value"))
    summary["customer_id"] = summary["customer_id"].astype(_id_dtype(transactions))
    in_summary = engine.positions_of(summary["customer_id"], ids)
    for name in ("n_orders", "n_deliveries"):
        quantities[name] = _by_customer(summary[name], in_summary, 0).astype(np.int64)
    quantities["orders_per_year"] = _by_customer(summary["orders_per_year"], in_summary, 0.0)
    for name in ("n_lines", "n_return_lines"):
        quantities[name] = quantities.pop(name)
    # (customer_lines' return rate: every customer has a line)
    quantities["return_rate"] = quantities["n_return_lines"] / quantities["n_lines"].astype(np.float64)

    payment = _payment_quantities(payments, t if "order_id" in t.columns else None, as_of)
    ticket = _ticket_quantities(tickets)
    in_payment = engine.positions_of(payment.index, ids) if payment is not None else None
    for name in ("capital_days", "n_late_invoices", "avg_days_to_pay"):
        fill = np.nan if name.startswith("avg_") else 0.0
        quantities[name] = _by_customer(payment[name], in_payment, fill) if payment is not None \
            else np.full(len(ids), fill)
    quantities["days_late"] = engine.customer_days_late(payments, ids)
    in_ticket = engine.positions_of(ticket.index, ids) if ticket is not None else None
    for name in ("n_tickets", "service_minutes", "ticket_cost"):
        quantities[name] = _by_customer(ticket[name], in_ticket, 0.0) if ticket is not None else np.zeros(len(ids))
    for name in ("n_late_invoices", "n_tickets"):
        quantities[name] = quantities[name].astype(np.int64)

    revenue = quantities["revenue"].to_numpy()
    has_discount = "discount" in transactions.columns
    quantities["avg_order_value"] = _by_customer(summary["avg_order_value"], in_summary, np.nan)
    quantities["discount_share"] = _ratio(quantities["discounted_revenue"], revenue) if has_discount else np.nan
    if not has_discount:
        quantities["discount_given"] = np.nan
    quantities["service_minutes_per_1000"] = 1000.0 * _ratio(quantities["service_minutes"], revenue)
    quantities = quantities.drop(columns=["discounted_revenue"])
    quantities.attrs = {"as_of": as_of, "categories": tuple(categories)}
    return quantities


# --------------------------------------------------------------------------- pricing


def cost_of_goods(quantities: pd.DataFrame, model: CostModel) -> np.ndarray:
    """**Cost of goods** per customer: known cost, else the category rate, else the default rate.

    Line by line over the revenue lines: the line's ``cost`` when it is known, else its
    amount times the rate of its category (``cogs_rate_by_category``), else times
    ``default_cogs_rate``. ``quantities`` holds the sums this needs (``cogs_known``, the
    ``uncosted_revenue`` columns: :func:`driver_quantities` or :func:`customer_margins`),
    so a scenario re-prices without touching the lines.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a"], "date": pd.Timestamp("2025-06-01"),
    ...                    "amount": [1000.0, 500.0], "cost": [600.0, None]})
    >>> cost_of_goods(driver_quantities(tx), CostModel()).tolist()  # 600 + 500 x 0.60
    [900.0]
    """
    computed_for = set(quantities.attrs.get("categories", ()))
    missing = [c for c in model.cogs_rate_by_category if c not in computed_for]
    if missing:
        raise ValueProblem(f"the quantities were computed without the categories {', '.join(missing)}: "
                         "recompute them with driver_quantities(transactions, model, as_of=as_of) for this model")
    cogs = quantities["cogs_known"].to_numpy() + model.default_cogs_rate * quantities[_UNCOSTED_DEFAULT].to_numpy()
    for category in quantities.attrs.get("categories", ()):
        rate = model.cogs_rate_by_category.get(category, model.default_cogs_rate)
        cogs = cogs + rate * quantities[_uncosted_column(category)].to_numpy()
    return cogs


def _priced(q: pd.DataFrame, model: CostModel) -> dict[str, np.ndarray]:
    """The P&L's money columns as arrays, in the row order of the quantities ``q``: revenue, cogs, gross
    margin, each driver's cost, cost to serve and profit (the one place profit is computed from the rates)."""
    revenue = q["revenue"].to_numpy(dtype=np.float64)
    cogs = cost_of_goods(q, model)
    drivers = {
        "cost_orders": model.per_order * q["n_orders"].to_numpy(),
        "cost_lines": model.per_line * q["n_lines"].to_numpy(),
        "cost_delivery": model.per_delivery * q["n_deliveries"].to_numpy(),
        "cost_returns": model.per_return * q["n_return_lines"].to_numpy(),
        "cost_late_payment": q["capital_days"].to_numpy() * model.capital_rate / 365.0
        + model.per_late_invoice * q["n_late_invoices"].to_numpy(),
        "cost_service": model.per_ticket * q["n_tickets"].to_numpy()
        + model.per_service_minute * q["service_minutes"].to_numpy() + q["ticket_cost"].to_numpy(),
        "cost_account": model.per_customer * q["n_active_years"].to_numpy(),
    }
    drivers = {name: np.asarray(values, dtype=np.float64) for name, values in drivers.items()}
    cost_to_serve = np.sum(list(drivers.values()), axis=0) if len(q) else np.zeros(0)
    margin = gross_margin(revenue, cogs)
    return {"revenue": revenue, "cogs": cogs, "gross_margin": margin, **drivers, "cost_to_serve": cost_to_serve,
            "profit": margin - cost_to_serve}


def _price_in_quantity_order(quantities: pd.DataFrame, model: CostModel) -> pd.DataFrame:
    """The P&L in the row order of ``quantities`` (no ranking)."""
    q = quantities
    money = _priced(q, model)
    revenue, margin, profit = money["revenue"], money["gross_margin"], money["profit"]
    pnl = pd.DataFrame({"customer_id": q["customer_id"].to_numpy(), **money,
                        "profit_margin": _ratio(profit, revenue)})
    pnl["customer_id"] = pnl["customer_id"].astype(q["customer_id"].dtype)
    for col in TRAIT_COLUMNS + QUANTITY_COLUMNS:
        if col != "margin_rate":
            pnl[col] = q[col].to_numpy()
    pnl["margin_rate"] = margin_rate(margin, revenue)
    return pnl


def gross_margin(revenue, cogs) -> np.ndarray:
    """**Gross margin**: revenue minus :func:`cost_of_goods` (before any cost to serve).

    Examples
    --------
    >>> gross_margin([1500.0], [900.0]).tolist()
    [600.0]
    """
    return np.asarray(revenue, dtype=np.float64) - np.asarray(cogs, dtype=np.float64)


def margin_rate(margin, revenue) -> np.ndarray:
    """**Margin rate**: gross margin / revenue, NaN when revenue <= 0.

    Examples
    --------
    >>> margin_rate([600.0, 5.0], [1500.0, 0.0]).tolist()
    [0.4, nan]
    """
    return _ratio(margin, revenue)


def customer_margins(transactions: pd.DataFrame, model: CostModel | None = None, con=None, *,
                     customer_col: str = "customer_id", amount_col: str = "amount",
                     status_col: str | None = "status") -> pd.DataFrame:
    """Revenue, cost of goods and gross margin per customer, without the cost-to-serve drivers.

    The same figures as the P&L of :func:`customer_pnl` (:func:`cost_of_goods`,
    :func:`gross_margin`, :func:`margin_rate`), for analyses that need the margin only.

    Parameters
    ----------
    transactions : DataFrame or Ibis table
        Transaction lines (``customer_id, amount``; optional ``status, cost, category``), a frame
        or an engine table (aggregated where it is).
    model : CostModel, optional
        The rates; default ``CostModel()`` (60% of revenue where the cost is unknown).
    con : ibis backend, optional
        Engine for the aggregation; default an in-memory DuckDB.
    customer_col, amount_col, status_col : str
        The transactions' columns of the customer id, the net amount and the status (optional).

    Returns
    -------
    DataFrame
        ``customer_id, revenue, cogs, gross_margin, margin_rate``, one row per customer with
        a transaction line, sorted by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a"], "amount": [1000.0, 500.0], "cost": [600.0, None]})
    >>> customer_margins(tx).to_dict("records")
    [{'customer_id': 'a', 'revenue': 1500.0, 'cogs': 900.0, 'gross_margin': 600.0, 'margin_rate': 0.4}]
    """
    model = CostModel() if model is None else model
    transactions = canonical_lines(transactions, customer_col, amount_col=amount_col, status_col=status_col,
                                   required=("customer_id", "amount"))
    t = _line_table(_with_customer(transactions))
    aggregates, categories = _line_frame(t, model)
    quantities = _aggregate_by_customer(t, aggregates, _id_dtype(transactions), con)
    quantities.attrs = {"categories": tuple(categories)}
    cogs = cost_of_goods(quantities, model)
    margin = gross_margin(quantities["revenue"].to_numpy(), cogs)
    return pd.DataFrame({
        "customer_id": quantities["customer_id"].to_numpy(),
        "revenue": quantities["revenue"].to_numpy(dtype=np.float64),
        "cogs": cogs,
        "gross_margin": margin,
        "margin_rate": margin_rate(margin, quantities["revenue"]),
    }).astype({"customer_id": quantities["customer_id"].dtype})


def _rank_order(profit: np.ndarray, customer_id: pd.Series, by_id: np.ndarray | None = None) -> np.ndarray:
    """Positions sorted by profit (largest first), ties by customer id (``by_id``: the positions sorted by
    customer id, when the caller sorted them once for several profits)."""
    if by_id is None:
        by_id = np.asarray(customer_id.argsort(kind="stable"))
    return by_id[np.argsort(-profit[by_id], kind="stable")]


def price(quantities: pd.DataFrame, model: CostModel) -> pd.DataFrame:
    """Price :func:`driver_quantities` with a :class:`CostModel`: the per-customer P&L.

    Returns
    -------
    DataFrame
        The columns of :data:`PNL_COLUMNS` (see :func:`customer_pnl`), sorted by ``profit_rank``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2025-01-10", "2025-02-01"]),
    ...                    "amount": [100.0, 40.0]})
    >>> q = driver_quantities(tx, as_of="2025-12-31")
    >>> price(q, CostModel(default_cogs_rate=0.5, per_order=25.0))[["customer_id", "profit", "profit_rank"]]
      customer_id  profit  profit_rank
    0           a    25.0            1
    1           b    -5.0            2
    """
    pnl = _price_in_quantity_order(quantities, model)
    order = _rank_order(pnl["profit"].to_numpy(), pnl["customer_id"])
    pnl = pnl.iloc[order].reset_index(drop=True)
    pnl.insert(PNL_COLUMNS.index("profit_rank"), "profit_rank", np.arange(1, len(pnl) + 1, dtype=np.int64))
    pnl.attrs = dict(quantities.attrs)
    return pnl[list(PNL_COLUMNS)]


def customer_pnl(transactions: pd.DataFrame, model: CostModel, *, payments: pd.DataFrame | None = None,
                 tickets: pd.DataFrame | None = None, as_of=None, con=None, customer_col: str = "customer_id",
                 date_col: str = "date", amount_col: str = "amount", order_col: str | None = "order_id",
                 status_col: str | None = "status") -> pd.DataFrame:
    """One P&L line per customer: revenue, cost of goods, the seven cost-to-serve drivers, profit.

    Parameters
    ----------
    transactions : DataFrame or Ibis table
        ``customer_id, date, amount`` (optional ``order_id, status, category, discount, cost``);
        the first five under the names given by the ``*_col`` keywords.
    model : CostModel
        The rates (:func:`cost_model_from_config`).
    payments, tickets : DataFrame, optional
        Invoices and after-sales tickets (:func:`driver_quantities`); absent: their drivers are 0.
    as_of : date, optional
        Analysis date: unpaid invoices due before it are late up to it, and the account
        cost counts 12-month windows ending at it. Default: the last transaction date.
    con : ibis backend, optional
        Engine for the line aggregation; default an in-memory DuckDB.
    customer_col, date_col, amount_col, order_col, status_col : str
        The transactions' column names (see :func:`driver_quantities`); the P&L uses the kit's
        names (``customer_id``).

    Returns
    -------
    DataFrame
        One row per customer with at least one transaction line, sorted by ``profit_rank``
        (1 = most profitable, ties by customer id). Columns (:data:`PNL_COLUMNS`):
        ``customer_id, revenue, cogs, gross_margin``, the seven :data:`DRIVER_COLUMNS`,
        ``cost_to_serve, profit, profit_margin, profit_rank``, the traits ``n_orders,
        n_lines, orders_per_year, avg_order_value, discount_given, discount_share,
        return_rate, days_late, avg_days_to_pay, n_tickets, service_minutes,
        service_minutes_per_1000, margin_rate`` and the other driver quantities
        ``n_deliveries, n_return_lines, n_late_invoices, capital_days, ticket_cost,
        n_active_years``. Definitions: see the module docstring.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "order_id": ["o1", "o2"],
    ...                    "date": pd.to_datetime(["2025-03-01", "2025-04-01"]),
    ...                    "amount": [500.0, 200.0], "cost": [250.0, 100.0]})
    >>> payments = pd.DataFrame({"customer_id": ["a", "b"], "order_id": ["o1", "o2"],
    ...                          "due_date": pd.to_datetime(["2025-04-01", "2025-05-01"]),
    ...                          "paid_date": pd.to_datetime(["2025-04-01", "2025-08-09"]),
    ...                          "amount": [500.0, 200.0]})
    >>> tickets = pd.DataFrame({"customer_id": ["b", "b"], "date": pd.to_datetime(["2025-05-01"] * 2),
    ...                         "minutes": [30.0, 45.0]})
    >>> model = CostModel(per_order=10.0, per_ticket=5.0, per_service_minute=1.0, capital_rate=0.073,
    ...                   per_late_invoice=2.0)
    >>> pnl = customer_pnl(tx, model, payments=payments, tickets=tickets, as_of="2025-12-31")
    >>> pnl[["customer_id", "gross_margin", "cost_late_payment", "cost_service", "profit"]]
      customer_id  gross_margin  cost_late_payment  cost_service  profit
    0           a         250.0                0.0           0.0   240.0
    1           b         100.0                6.0          85.0    -1.0
    """
    transactions = _checked_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    payments, tickets = _payments_tickets(payments, tickets)
    return price(_driver_quantities(transactions, model, payments, tickets, _as_of(as_of, transactions), con), model)


# --------------------------------------------------------------------------- notes on the data


def customers_without_transactions(transactions: pd.DataFrame, *, payments: pd.DataFrame | None = None,
                                   tickets: pd.DataFrame | None = None, customer_col: str = "customer_id",
                                   date_col: str = "date", amount_col: str = "amount") -> pd.DataFrame:
    """Customers with invoices or tickets but no transaction line: not in the P&L, listed here.

    The transactions' columns are named by ``customer_col, date_col, amount_col`` (checked as in
    :func:`transactions_table`); the invoices and tickets have the kit's names.

    Returns
    -------
    DataFrame
        ``customer_id, n_invoices, invoiced_amount, n_tickets, service_minutes``, sorted by id.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2025-01-01"]), "amount": [10.0]})
    >>> tickets = pd.DataFrame({"customer_id": ["a", "z"], "minutes": [5.0, 20.0]})
    >>> customers_without_transactions(tx, tickets=tickets).to_dict("records")
    [{'customer_id': 'z', 'n_invoices': 0, 'invoiced_amount': 0.0, 'n_tickets': 1, 'service_minutes': 20.0}]
    """
    transactions = _checked_lines(transactions, customer_col, date_col, amount_col)
    columns = ["customer_id", "n_invoices", "invoiced_amount", "n_tickets", "service_minutes"]
    payments = _optional(payments, "payments", ["customer_id", "amount"], dates=("due_date", "paid_date"))
    tickets = _optional(tickets, "tickets", TICKET_COLUMNS, dates=("date",))
    if payments is None and tickets is None:
        return pd.DataFrame({col: pd.Series(dtype="float64") for col in columns}).astype(
            {"customer_id": _id_dtype(transactions), "n_invoices": "int64", "n_tickets": "int64"})
    known = engine.table(transactions, ["customer_id"])
    p = None if payments is None else engine.table(payments, ["customer_id", "amount"])
    k = None if tickets is None else engine.table(tickets, [col for col in ("customer_id", "minutes")
                                                            if col in tickets.columns])
    tables = [table for table in (known, p, k) if table is not None]
    as_strings = len({table.customer_id.type() for table in tables}) > 1  # ids compared as text when types differ

    def customer(table):
        return table.customer_id.cast("string") if as_strings else table.customer_id

    parts = []
    if p is not None:
        parts.append(p.select(customer_id=customer(p), n_invoices=ibis.literal(1, "int64"),
                              invoiced_amount=_number(p.amount), n_tickets=ibis.literal(0, "int64"),
                              service_minutes=ibis.literal(0.0)))
    if k is not None:
        parts.append(k.select(customer_id=customer(k), n_invoices=ibis.literal(0, "int64"),
                              invoiced_amount=ibis.literal(0.0), n_tickets=ibis.literal(1, "int64"),
                              service_minutes=_number(k.minutes) if "minutes" in k.columns else ibis.literal(0.0)))
    activity = ibis.union(*parts) if len(parts) > 1 else parts[0]
    known = known.select(known_id=customer(known)).distinct()
    orphans = activity.anti_join(known, activity.customer_id == known.known_id)
    expr = orphans.group_by("customer_id").aggregate(
        n_invoices=orphans.n_invoices.sum(), invoiced_amount=orphans.invoiced_amount.sum(),
        n_tickets=orphans.n_tickets.sum(), service_minutes=orphans.service_minutes.sum())
    result = engine.execute(expr.order_by("customer_id"))
    given = [frame for frame in (payments, tickets) if frame is not None]
    id_dtype = "string" if as_strings or any(map(is_engine_table, given)) else given[0]["customer_id"].dtype
    return result.astype({"customer_id": id_dtype, "n_invoices": "int64", "invoiced_amount": "float64",
                          "n_tickets": "int64", "service_minutes": "float64"})[columns]




# --------------------------------------------------------------------------- whale curve


_PNL = "P&L (customer_pnl)"  # the P&L's name in the messages


def _require_pnl(pnl: pd.DataFrame, columns: Sequence[str]) -> None:
    require_columns(pnl, columns, table=_PNL)
    require_complete(pnl, [col for col in columns if col != "customer_id"], table=_PNL)


def whale_curve(pnl: pd.DataFrame) -> pd.DataFrame:
    """Cumulative profit, as a share of total profit, of customers ranked by profit (most profitable first).

    Returns
    -------
    DataFrame
        ``n + 1`` points ``customer_share, cumulative_profit_share`` from (0, 0) to
        (1, 1.0) exactly. The curve rises above 1 while profitable customers add up, and
        comes back down to 1 as the unprofitable ones give profit back. When total profit
        is 0 or negative, shares of it are undefined: ``cumulative_profit_share`` is NaN
        after the origin (see ``curve_undefined`` in :func:`whale_summary`).

    Examples
    --------
    >>> pnl = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "profit": [80.0, -40.0, 50.0, 10.0]})
    >>> whale_curve(pnl).to_dict("list")
    {'customer_share': [0.0, 0.25, 0.5, 0.75, 1.0], 'cumulative_profit_share': [0.0, 0.8, 1.3, 1.4, 1.0]}
    """
    _require_pnl(pnl, ["customer_id", "profit"])
    profit = pnl["profit"].to_numpy(dtype=np.float64)
    n = profit.size
    if n == 0:
        return pd.DataFrame({"customer_share": [0.0], "cumulative_profit_share": [0.0]})
    cumulative = np.concatenate(([0.0], np.cumsum(profit[_rank_order(profit, pnl["customer_id"])])))
    total = cumulative[-1]
    if total > 0:
        share = cumulative / total
        share[-1] = 1.0  # exactly, whatever the rounding of the running sum
    else:
        share = np.where(np.arange(n + 1) == 0, 0.0, np.nan)
    return pd.DataFrame({"customer_share": np.arange(n + 1) / n, "cumulative_profit_share": share})


def whale_summary(pnl: pd.DataFrame) -> dict:
    """Headline figures of the whale curve.

    Returns
    -------
    dict
        ``total_profit``; ``peak_share`` (highest cumulative profit as a share of total
        profit, e.g. 1.45) and ``peak_customer_share`` (share of customers, most profitable
        first, where it is reached); ``n_unprofitable`` (profit < 0) and
        ``share_unprofitable_customers``; ``profit_given_back`` (sum of the losses, as a
        positive number); ``unprofitable_revenue_share`` (their revenue / total revenue,
        NaN when total revenue <= 0); ``curve_undefined``: None, or why shares are NaN as a
        code, ``"no_customer"``, ``"zero_profit"`` or ``"negative_profit"`` (the report words
        it: :func:`portfolio_helpers.reporting.profitability.whale_note`).

    Examples
    --------
    >>> pnl = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "profit": [80.0, -40.0, 50.0, 10.0],
    ...                     "revenue": [400.0, 300.0, 200.0, 100.0]})
    >>> summary = whale_summary(pnl)
    >>> summary["peak_share"], summary["peak_customer_share"], summary["profit_given_back"]
    (1.4, 0.75, 40.0)
    """
    _require_pnl(pnl, ["customer_id", "profit", "revenue"])
    curve = whale_curve(pnl)
    profit = pnl["profit"].to_numpy(dtype=np.float64)
    revenue = pnl["revenue"].to_numpy(dtype=np.float64)
    n = profit.size
    unprofitable = profit < 0
    total = float(profit.sum())
    total_revenue = float(revenue.sum())
    undefined = None
    if n == 0:
        peak, peak_at = math.nan, math.nan
        undefined = "no_customer"
    elif total <= 0:
        peak, peak_at = math.nan, math.nan
        undefined = "zero_profit" if total == 0 else "negative_profit"
    else:
        shares = curve["cumulative_profit_share"].to_numpy()
        at = int(np.argmax(shares))
        peak, peak_at = float(shares[at]), float(curve["customer_share"].iloc[at])
    return {
        "total_profit": total,
        "peak_share": peak,
        "peak_customer_share": peak_at,
        "n_unprofitable": int(unprofitable.sum()),
        "share_unprofitable_customers": float(unprofitable.mean()) if n else math.nan,
        "profit_given_back": float(-profit[unprofitable].sum()),
        "unprofitable_revenue_share": float(revenue[unprofitable].sum() / total_revenue)
        if total_revenue > 0 else math.nan,
        "curve_undefined": undefined,
    }


def profitability_metrics(pnl: pd.DataFrame) -> dict[str, float]:
    """The headline metrics notebook 03 records (NaN where :func:`whale_summary` explains why).

    Examples
    --------
    >>> pnl = pd.DataFrame({"customer_id": ["a", "b"], "revenue": [300.0, 100.0], "gross_margin": [150.0, 40.0],
    ...                     "cost_to_serve": [50.0, 60.0], "profit": [100.0, -20.0]})
    >>> profitability_metrics(pnl)  # doctest: +NORMALIZE_WHITESPACE
    {'total_profit': 80.0, 'gross_margin_total': 190.0, 'cost_to_serve_total': 110.0, 'whale_peak_pct': 125.0,
     'share_unprofitable_customers': 0.5, 'unprofitable_revenue_share': 0.25}
    """
    _require_pnl(pnl, ["customer_id", "revenue", "gross_margin", "cost_to_serve", "profit"])
    summary = whale_summary(pnl)
    return {
        "total_profit": summary["total_profit"],
        "gross_margin_total": float(pnl["gross_margin"].sum()),
        "cost_to_serve_total": float(pnl["cost_to_serve"].sum()),
        "whale_peak_pct": summary["peak_share"] * 100.0,
        "share_unprofitable_customers": summary["share_unprofitable_customers"],
        "unprofitable_revenue_share": summary["unprofitable_revenue_share"],
    }


# --------------------------------------------------------------------------- who loses money, and why


def quadrants(pnl: pd.DataFrame, revenue_split: float | None = None, profit_split: float = 0) -> pd.Series:
    """Label each customer large/small (revenue) and profitable/unprofitable (profit).

    *Large* means revenue at or above ``revenue_split`` (default: the median revenue);
    *unprofitable* means profit below ``profit_split`` (default 0, so a break-even customer
    counts as profitable).

    Returns
    -------
    Series
        Categorical with the labels of :data:`QUADRANTS`, aligned on ``pnl``'s index.

    Examples
    --------
    >>> pnl = pd.DataFrame({"revenue": [900.0, 800.0, 50.0, 20.0], "profit": [120.0, -30.0, 5.0, -8.0]})
    >>> quadrants(pnl).tolist()
    ['large & profitable', 'large & unprofitable', 'small & profitable', 'small & unprofitable']
    """
    _require_pnl(pnl, ["revenue", "profit"])
    if revenue_split is None:
        revenue_split = float(pnl["revenue"].median()) if len(pnl) else 0.0
    require_number(revenue_split, "revenue_split")
    require_number(profit_split, "profit_split")
    large = (pnl["revenue"] >= revenue_split).to_numpy()
    unprofitable = (pnl["profit"] < profit_split).to_numpy()
    codes = np.where(large, 0, 2) + unprofitable.astype(int)
    return pd.Series(pd.Categorical.from_codes(codes, categories=list(QUADRANTS)), index=pnl.index,
                     name="quadrant")




def loss_drivers(pnl: pd.DataFrame, n: int = 10, min_revenue_quantile: float = 0.5) -> pd.DataFrame:
    """The largest unprofitable customers and the main cost driver of each.

    Customers with a negative profit and a revenue at least the ``min_revenue_quantile``
    quantile of all customers' revenue, largest revenue first (ties by customer id), at
    most ``n``. The main driver is the largest of the cost groups a commercial lever acts
    on: *order handling* (orders + lines + deliveries), *returns*, *late payment*,
    *after-sales service*, *account management*; its share is of the customer's cost to
    serve. A customer whose gross margin is already negative has main driver *cost of
    goods* (share NaN). Orders are *small* when the average order value is below the
    median of all customers. The lever in words is
    :func:`portfolio_helpers.reporting.profitability.loss_explanations`.

    Returns
    -------
    DataFrame
        ``customer_id, revenue, profit, main_driver, main_driver_share, main_driver_cost,
        small_orders`` and the P&L columns the lever is worded from.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"] * 40 + ["b", "c", "d", "d"],
    ...                    "order_id": [f"o{i}" for i in range(44)], "date": pd.Timestamp("2025-06-01"),
    ...                    "amount": [85.0] * 40 + [3000.0, 10.0, 500.0, 500.0],
    ...                    "cost": [70.0] * 40 + [1500.0, 5.0, 250.0, 250.0]})
    >>> pnl = customer_pnl(tx, CostModel(per_order=12.0, per_delivery=8.0), as_of="2025-12-31")
    >>> drivers = loss_drivers(pnl, min_revenue_quantile=0.5)
    >>> drivers[["customer_id", "profit", "main_driver", "main_driver_share"]]
      customer_id  profit     main_driver  main_driver_share
    0           a  -200.0  order handling                1.0
    >>> float(drivers["main_driver_cost"].iloc[0]), bool(drivers["small_orders"].iloc[0])
    (800.0, True)
    """
    needed = ["customer_id", "revenue", "profit", "gross_margin", "cost_to_serve", *DRIVER_COLUMNS]
    _require_pnl(pnl, needed)
    require_columns(pnl, LOSS_TRAITS, table=_PNL, hint="pass the frame of customer_pnl")
    require_count(n, "n")
    require_share(min_revenue_quantile, "min_revenue_quantile")
    if pnl.empty:
        selected = pnl.iloc[:0]
    else:
        threshold = float(pnl["revenue"].quantile(min_revenue_quantile))
        selected = pnl[(pnl["profit"] < 0) & (pnl["revenue"] >= threshold)]
        by_revenue = np.lexsort((selected["customer_id"].to_numpy(dtype=str), -selected["revenue"].to_numpy()))
        selected = selected.iloc[by_revenue[:n]]
    group_costs = np.column_stack([selected[list(cols)].sum(axis=1).to_numpy() for cols in _LEVER_GROUPS.values()]) \
        if len(selected) else np.zeros((0, len(_LEVER_GROUPS)))
    names = np.array(list(_LEVER_GROUPS))
    main = group_costs.argmax(axis=1) if len(selected) else np.zeros(0, dtype=int)
    main_cost = group_costs[np.arange(len(selected)), main]
    share = _ratio(main_cost, selected["cost_to_serve"].to_numpy())
    below_cost = (selected["gross_margin"] < 0).to_numpy()
    median_order = float(pnl["avg_order_value"].median()) if len(pnl) else math.nan
    order_value = selected["avg_order_value"].to_numpy(dtype=np.float64)
    result = pd.DataFrame({
        "customer_id": selected["customer_id"].to_numpy(),
        "revenue": selected["revenue"].to_numpy(dtype=np.float64),
        "profit": selected["profit"].to_numpy(dtype=np.float64),
        "main_driver": pd.array(np.where(below_cost, "cost of goods", names[main]) if len(selected) else [],
                                dtype="string"),
        "main_driver_share": np.where(below_cost, np.nan, share),
        "main_driver_cost": main_cost.astype(np.float64),
        "small_orders": ~np.isnan(order_value) & (order_value < median_order),
        "gross_margin": selected["gross_margin"].to_numpy(dtype=np.float64),
    })
    for col in LOSS_TRAITS:
        result[col] = selected[col].to_numpy()
    return result.astype({"customer_id": pnl["customer_id"].dtype})


def cost_breakdown(pnl: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Cost-to-serve totals per driver, or the P&L per group of customers.

    Parameters
    ----------
    pnl : DataFrame
        Output of :func:`customer_pnl` (with ``by`` merged in by the caller, e.g. ``industry``).
    by : str, optional
        A column of ``pnl``. Missing values are grouped under ``"(unknown)"``.

    Returns
    -------
    DataFrame
        Without ``by``: one row per driver (:data:`DRIVER_COLUMNS` order) with ``driver,
        label, cost, share_of_cost_to_serve, share_of_revenue``. With ``by``: one row per
        group, largest revenue first, with ``<by>, n_customers, revenue, gross_margin``,
        the seven drivers, ``cost_to_serve, profit, profit_margin``.

    Examples
    --------
    >>> pnl = customer_pnl(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"], "date": pd.Timestamp("2025-06-01"), "amount": [100.0, 60.0, 40.0]}),
    ...     CostModel(default_cogs_rate=0.5, per_line=2.0, per_order=3.0), as_of="2025-12-31")
    >>> cost_breakdown(pnl)[["driver", "cost", "share_of_cost_to_serve"]].head(2)
            driver  cost  share_of_cost_to_serve
    0  cost_orders   9.0                     0.6
    1   cost_lines   6.0                     0.4
    >>> cost_breakdown(pnl.assign(kind=["B2B", "B2C"]), by="kind")[["kind", "n_customers", "profit"]]
      kind  n_customers  profit
    0  B2B            1    70.0
    1  B2C            1    15.0
    """
    money = ["revenue", "gross_margin", *DRIVER_COLUMNS, "cost_to_serve", "profit"]
    _require_pnl(pnl, money)
    if by is None:
        costs = pnl[list(DRIVER_COLUMNS)].sum().to_numpy(dtype=np.float64)
        total_cost, total_revenue = float(pnl["cost_to_serve"].sum()), float(pnl["revenue"].sum())
        return pd.DataFrame({
            "driver": list(DRIVER_COLUMNS),
            "label": [DRIVER_LABELS[col] for col in DRIVER_COLUMNS],
            "cost": costs,
            "share_of_cost_to_serve": costs / total_cost if total_cost > 0 else np.nan,
            "share_of_revenue": costs / total_revenue if total_revenue > 0 else np.nan,
        })
    require_columns(pnl, [by], table=_PNL, hint="merge it first")
    groups = pnl[by].astype("string").fillna(UNKNOWN)
    table = pnl[money].groupby(groups.rename(by), sort=False).sum()
    table.insert(0, "n_customers", groups.value_counts().reindex(table.index).to_numpy(dtype=np.int64))
    table["profit_margin"] = _ratio(table["profit"], table["revenue"])
    table = table.reset_index()
    order = np.lexsort((table[by].to_numpy(dtype=str), -table["revenue"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- sensitivity


def _ranks(values: np.ndarray) -> np.ndarray:
    return pd.Series(values).rank(method="average").to_numpy()


def _spearman(base_ranks: np.ndarray, values: np.ndarray) -> float:
    ranks = _ranks(values)
    if np.array_equal(ranks, base_ranks):
        return 1.0
    if ranks.size < 2 or np.ptp(ranks) == 0 or np.ptp(base_ranks) == 0:
        return math.nan
    return float(np.corrcoef(base_ranks, ranks)[0, 1])


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Overlap of two sets of positions; two empty sets are identical (1.0)."""
    union = np.union1d(a, b).size
    return 1.0 if union == 0 else np.intersect1d(a, b).size / union


def _mask_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """:func:`_jaccard` of the positions where two boolean masks are true, without sorting them."""
    union = int(np.count_nonzero(a | b))
    return 1.0 if union == 0 else int(np.count_nonzero(a & b)) / union


def _top_positions(profit: np.ndarray, id_rank: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` positions of :func:`_rank_order` (largest profit first, ties by customer id), without
    sorting every customer: only those at or above the k-th largest profit are sorted. ``id_rank`` is each
    position's rank by customer id."""
    if k >= profit.size or np.isnan(profit).any():  # (NaN: the full order places it, as the sort does)
        by_id = np.argsort(id_rank, kind="stable")
        return by_id[np.argsort(-profit[by_id], kind="stable")][:k]
    threshold = np.partition(profit, profit.size - k)[profit.size - k]
    candidates = np.flatnonzero(profit >= threshold)
    return candidates[np.lexsort((id_rank[candidates], -profit[candidates]))][:k]


def sensitivity(transactions: pd.DataFrame | None, model: CostModel, *, payments: pd.DataFrame | None = None,
                tickets: pd.DataFrame | None = None, as_of=None, factors: Sequence[float] = (0.5, 1.5),
                top_n: int = 20, quantities: pd.DataFrame | None = None, customer_col: str = "customer_id",
                date_col: str = "date", amount_col: str = "amount", order_col: str | None = "order_id",
                status_col: str | None = "status") -> pd.DataFrame:
    """How the results move when each non-zero rate is multiplied by each factor.

    The activity counts are aggregated once (:func:`driver_quantities` of ``transactions``,
    ``payments`` and ``tickets``, or pass ``quantities`` and ``transactions=None``) and only
    re-priced per scenario, so a scenario costs milliseconds. The ``*_col`` keywords name the
    transactions' columns, as in :func:`driver_quantities`.

    Returns
    -------
    DataFrame
        One row per rate (:meth:`CostModel.nonzero_rates`) and factor: ``rate, factor,
        value`` (the scaled rate; NaN for ``cogs_rate_by_category``, where every category
        rate is scaled), ``total_profit``, ``profit_change`` (vs the base model),
        ``n_unprofitable``, ``rank_correlation`` (Spearman correlation of customers'
        profits with the base), ``top_overlap`` (Jaccard overlap of the ``top_n`` most
        profitable customers with the base's) and ``unprofitable_overlap`` (Jaccard
        overlap of the unprofitable customers; 1.0 when both sets are empty).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["o1", "o2", "o3"],
    ...                    "date": pd.Timestamp("2025-06-01"), "amount": [100.0, 100.0, 90.0]})
    >>> table = sensitivity(tx, CostModel(default_cogs_rate=0.5, per_order=40.0),
    ...                     as_of="2025-12-31", factors=(0.5, 2.0), top_n=1)
    >>> table[["rate", "factor", "total_profit", "profit_change", "n_unprofitable"]]
                    rate  factor  total_profit  profit_change  n_unprofitable
    0  default_cogs_rate     0.5          97.5           72.5               0
    1  default_cogs_rate     2.0        -120.0         -145.0               2
    2          per_order     0.5          85.0           60.0               0
    3          per_order     2.0         -95.0         -120.0               2
    """
    factors = list(factors)
    for factor in factors:
        require_number(factor, "each of factors", low=0)
    require_count(top_n, "top_n", minimum=1)
    if quantities is None:
        if transactions is None:
            raise ValueProblem("sensitivity needs the transactions or their driver quantities")
        transactions = _checked_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
        payments, tickets = _payments_tickets(payments, tickets)
        quantities = _driver_quantities(transactions, model, payments, tickets, _as_of(as_of, transactions))
    # Per scenario only the profits are priced (arrays, no P&L frame), the top customers found without sorting
    # them all and the unprofitable ones compared as masks: what sorts every customer is the Spearman ranks.
    k = min(top_n, len(quantities))
    id_rank = np.empty(len(quantities), dtype=np.int64)  # the same in every scenario: sorted once
    id_rank[np.asarray(quantities["customer_id"].argsort(kind="stable"))] = np.arange(len(quantities))

    def outcome(scenario: CostModel) -> tuple[np.ndarray, np.ndarray]:
        profit = _priced(quantities, scenario)["profit"]
        return profit, _top_positions(profit, id_rank, k)

    base_profit, base_order = outcome(model)
    base_ranks = _ranks(base_profit)
    base_unprofitable = base_profit < 0
    rows = []
    for name in model.nonzero_rates():
        for factor in factors:
            scenario = model.scaled(name, factor)
            profit, order = outcome(scenario)
            total = float(profit.sum())
            rows.append({
                "rate": name,
                "factor": float(factor),
                "value": math.nan if name == "cogs_rate_by_category" else float(getattr(scenario, name)),
                "total_profit": total,
                "profit_change": total - float(base_profit.sum()),
                "n_unprofitable": int((profit < 0).sum()),
                "rank_correlation": _spearman(base_ranks, profit),
                "top_overlap": _jaccard(base_order, order) if k else math.nan,
                "unprofitable_overlap": _mask_jaccard(base_unprofitable, profit < 0),
            })
    columns = ["rate", "factor", "value", "total_profit", "profit_change", "n_unprofitable", "rank_correlation",
               "top_overlap", "unprofitable_overlap"]
    return pd.DataFrame(rows, columns=columns).astype({"n_unprofitable": "int64"})
