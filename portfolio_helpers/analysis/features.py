"""Customer features: one row per buying customer, for RFM, clustering and CLV models.

:func:`customer_features` turns the cleaned tables (``pipeline.open_portfolio``) into one
row per customer with recency, frequency, monetary value, trend, mix and service traits;
:data:`FEATURE_DEFINITIONS` says what each column means in plain words.
:func:`lifetimes_summary` gives the ``frequency, recency, T, monetary_value`` summary of
the BG/NBD and Gamma-Gamma models (``lifetimes`` / ``pymc-marketing`` convention).

Engine tables
-------------
The transactions, payments and tickets are pandas frames or engine tables (an Ibis table
scanning Parquet, a Spark table): the lines are aggregated where they are (for the features, one
query: the engine's customer summary, :func:`~portfolio_helpers.analysis.engine.customer_summary_expr`,
with every other figure in the same grouping of the lines; for :func:`lifetimes_summary`, one query);
only per-customer results come back to pandas.

Scope
-----
Features use the revenue lines (:func:`portfolio_helpers.analysis.engine.revenue_lines`: every line
except cancelled ones, credit notes included) dated on or before the day of ``as_of``, with
a customer id. A customer is in the table when it has at least one such line. Days are
calendar days (times of day are ignored).
"""

from __future__ import annotations

import re
import unicodedata

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine, profitability
from portfolio_helpers.analysis.clv.summary import TIME_UNITS as UNIT_DAYS
from portfolio_helpers.analysis.clv.summary import rfm_summary
from portfolio_helpers.cleaning.pipeline import load_derived_table, save_derived_table
from portfolio_helpers.core.validation import canonical_lines, require_columns, require_count, require_date
from portfolio_helpers.core.vocabulary import RETURN_STATUSES

__all__ = ["customer_features", "lifetimes_summary", "FEATURE_DEFINITIONS", "TIME_UNITS", "RETURN_STATUSES",
           "customer_tables", "save_customer_tables", "PNL_TABLE", "FEATURES_TABLE"]

#: Days per time unit of :func:`lifetimes_summary` (a month is an average calendar month).
_UNIT_NAMES = {"D": "day", "W": "week", "M": "month"}  # lifetimes' codes -> the CLV summary's units
TIME_UNITS = {code: UNIT_DAYS[name] for code, name in _UNIT_NAMES.items()}
SIZE_BANDS = ("1-9", "10-49", "50-249", "250+")
AGE_BANDS = ("<30", "30-44", "45-59", "60+")

FEATURE_DEFINITIONS: dict[str, str] = {
    "customer_id": "Customer identifier.",
    "first_purchase": "Date and time of the customer's first revenue line.",
    "last_purchase": "Date and time of the customer's last revenue line.",
    "recency_days": "Days from the last purchase day to the as-of date (0 = bought on the as-of day).",
    "frequency": "Number of distinct orders (a line without an order number is an order of its own).",
    "monetary": "Net revenue: sum of the amounts of all non-cancelled lines, credit notes deducted.",
    "n_purchase_days": "Number of distinct days with a purchase.",
    "tenure_days": "Days from the first purchase day to the as-of date.",
    "orders_per_year": "Orders per year of tenure: frequency / max(tenure in years, 1); "
                       "a tenure under one year counts as one year so new customers are not inflated.",
    "avg_order_value": "Average order value: monetary / frequency.",
    "revenue_last": "Net revenue in the last period (the `period_months` months up to the as-of date).",
    "revenue_previous": "Net revenue in the period of the same length just before the last one.",
    "revenue_trend": "Revenue change between the two periods: (last - previous) / max(previous, 1); "
                     "a customer new in the last period shows its revenue_last as the change (previous = 1).",
    "discount_share": "Share of net revenue bought on lines with a discount (0 without a discount column "
                      "or when net revenue is not positive).",
    "return_rate": "Lines returned, cancelled or modified divided by all lines (cancelled ones included).",
    "days_late": "Mean days between due date and payment over paid invoices (negative = paid early; "
                 "empty without a paid invoice), as in the profitability P&L.",
    "service_minutes_per_1000": "After-sales ticket minutes per 1,000 of net revenue (0 without tickets "
                                "or when net revenue is not positive).",
    "gross_margin": "Net revenue minus cost of goods (the known cost of each line, else its category's rate, "
                    "else the default rate), as in the profitability P&L.",
    "margin_rate": "Gross margin divided by net revenue (NaN when net revenue is not positive).",
    "profit": "Profit after cost-to-serve, from the profitability P&L (only when it is given).",
    "profit_margin": "Profit divided by revenue, from the profitability P&L (NaN when revenue <= 0).",
    "share_<category>": "Share of the customer's positive line amounts in that product category "
                        "(the shares add up to 1; all 0 for a customer with no positive line).",
    "customer_type": "Customer type from the customer table (e.g. B2B, B2C).",
    "industry": "Industry from the customer table.",
    "size_band": "Company size from the number of employees: 1-9, 10-49, 50-249, 250+.",
    "country": "Country code (or country name when there is no code) from the customer table.",
    "age_band": "Age at the as-of date from the birth year: <30, 30-44, 45-59, 60+.",
    "income_band": "Income band from the customer table.",
}


# --------------------------------------------------------------------------- helpers

def _category_column(value: str) -> str:
    """``"Hardware & Tools"`` -> ``"share_hardware_tools"``."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return "share_" + (re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "unknown")


#: The transaction columns the features read (the optional ones when present): only they cross into the engine.
_LINE_COLUMNS = ("customer_id", "date", "amount", "order_id", "status", "category", "discount", "cost")


def _scoped_lines(transactions, as_of: pd.Timestamp) -> ir.Table:
    """Lines with a customer id and a date on or before the as-of day, as an Ibis table (a frame becomes an
    in-memory table; an engine table is filtered where it is)."""
    t = engine.table(transactions, [col for col in _LINE_COLUMNS if col in transactions.columns])
    return t.filter(t.customer_id.notnull(), t.date.notnull(), t.date.cast("date") <= as_of.date())


def _period_revenue(t: ir.Table, revenue, start: pd.Timestamp, end: pd.Timestamp):
    """Revenue per customer over the days in ``(start, end]`` (an Ibis aggregate of the lines ``t``, with their
    ``_amount`` and ``_day``; a :func:`~portfolio_helpers.analysis.engine.money_sum`), the period rule of
    :func:`~portfolio_helpers.analysis.engine.customer_values`."""
    return engine.money_sum(t._amount, revenue & (t._day > start.date()) & (t._day <= end.date()))


def _category_shares(t: ir.Table) -> tuple[ir.Table, dict]:
    """``t`` with ``_share``: the position of the line's category column among the categories of the positive
    revenue lines (-1 for any other line), and the share column of each position. The distinct categories
    (one row each) come from the engine, their column names are worded in Python."""
    label = t.category.cast("string").fill_null("unknown")
    positive = t._revenue & (t._amount > 0)
    labels = engine.execute(t.filter(positive).select(label=label).distinct())["label"]
    columns = sorted({_category_column(value) for value in labels})
    index = {value: columns.index(_category_column(value)) for value in labels}
    position = label.substitute(index, else_=ibis.literal(-1, "int64")).cast("int64") if index \
        else ibis.literal(-1, "int64")
    return t.mutate(_share=ibis.ifelse(positive, position, -1)), dict(enumerate(columns))


def size_band(employees: pd.Series) -> pd.Series:
    """Company size band from a number of employees.

    Examples
    --------
    >>> size_band(pd.Series([3, 10, 249, 250, None], dtype="Int64")).tolist()
    ['1-9', '10-49', '50-249', '250+', <NA>]
    """
    bands = pd.cut(pd.to_numeric(employees).astype("float64"), [-np.inf, 9, 49, 249, np.inf], labels=SIZE_BANDS)
    return bands.astype("string")


def age_band(birth_year: pd.Series, as_of) -> pd.Series:
    """Age band at ``as_of`` (age = as-of year - birth year).

    Examples
    --------
    >>> age_band(pd.Series([1996, 1995, 1981, 1980, 1966, 1965, None], dtype="Int64"), "2025-12-31").tolist()
    ['<30', '30-44', '30-44', '45-59', '45-59', '60+', <NA>]
    """
    age = pd.Timestamp(as_of).year - pd.to_numeric(birth_year).astype("float64")
    return pd.cut(age, [-np.inf, 29, 44, 59, np.inf], labels=AGE_BANDS).astype("string")


def _attributes(customers: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The attributes of the features on each row of ``customers``: ``customer_id`` then the ones its columns give."""
    columns = ["customer_type", "industry", "employees", "country_code", "country", "birth_year", "income_band"]
    customers = customers[["customer_id"] + [col for col in columns if col in customers.columns]]
    out = customers[["customer_id"]]
    for col in ("customer_type", "industry"):
        if col in customers.columns:
            out[col] = customers[col].astype("string")
    if "employees" in customers.columns:
        out["size_band"] = size_band(customers["employees"])
    country = next((col for col in ("country_code", "country") if col in customers.columns), None)
    if country is not None:
        out["country"] = customers[country].astype("string")
    if "birth_year" in customers.columns:
        out["age_band"] = age_band(customers["birth_year"], as_of)
    if "income_band" in customers.columns:
        out["income_band"] = customers["income_band"].astype("string")
    return out


# --------------------------------------------------------------------------- features

#: The customer summary's columns the features read (the engine computes only these).
_SUMMARY_READ = ("first_purchase", "last_purchase", "n_orders", "n_purchase_days", "revenue", "avg_order_value")


def customer_features(transactions: pd.DataFrame, as_of, *, customers: pd.DataFrame | None = None,
                      payments: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None,
                      period_months: int = 12, pnl: pd.DataFrame | None = None,
                      model: profitability.CostModel | None = None, customer_col: str = "customer_id",
                      date_col: str = "date", amount_col: str = "amount", order_col: str | None = "order_id",
                      status_col: str | None = "status") -> pd.DataFrame:
    """One row of features per customer with at least one revenue line.

    Every figure that has a definition elsewhere follows it: revenue, orders, recency,
    tenure, orders per year and average order value from
    :func:`portfolio_helpers.analysis.engine.customer_summary`; the return rate that of
    :func:`~portfolio_helpers.analysis.engine.customer_lines` (its return lines, summed in the
    one pass over the lines that gives the other figures); days late from :func:`portfolio_helpers.analysis.engine.customer_days_late`;
    gross margin and margin rate from the P&L (``pnl``) or the cost of goods of
    :func:`portfolio_helpers.analysis.profitability.customer_margins` (same sums, same pass).

    Parameters
    ----------
    transactions : DataFrame or Ibis table
        Cleaned transactions: ``customer_id, date, amount``; optional ``order_id, status,
        category, discount, cost``. A frame or an engine table (aggregated where it is).
        The first five under the names given by the ``*_col`` keywords.
    as_of : date-like
        Reference date; lines dated after its day are ignored.
    customers : DataFrame, optional
        ``customer_id`` and the attributes (``customer_type, industry, employees, country_code``
        or ``country``, ``birth_year, income_band``, each optional).
    payments : DataFrame or Ibis table, optional
        ``customer_id`` (``due_date`` and ``paid_date`` give ``days_late``).
    tickets : DataFrame or Ibis table, optional
        ``customer_id`` (``minutes`` gives ``service_minutes_per_1000``; ``date`` scopes them).
    period_months : int
        Length of the two periods compared by ``revenue_last``, ``revenue_previous`` and
        ``revenue_trend``.
    pnl : DataFrame, optional
        :func:`portfolio_helpers.analysis.profitability.customer_pnl`; adds ``profit`` and
        ``profit_margin`` and gives ``gross_margin`` and ``margin_rate``.
    model : CostModel, optional
        Without ``pnl``: the cost model of ``gross_margin`` and ``margin_rate``, added when
        a model is given or the transactions have a ``cost`` column (default rates then).
    customer_col, date_col, amount_col, order_col, status_col : str
        The transactions' columns of the customer id, the line date, the net amount, the
        order id and the status (the last two optional: ``None`` or absent). The features use
        the kit's names (``customer_id``). The other tables have the kit's names.

    Returns
    -------
    DataFrame
        Sorted by ``customer_id``; columns as in :data:`FEATURE_DEFINITIONS` (optional ones
        only when their source exists).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["o1", "o2", "o3"],
    ...                    "date": pd.to_datetime(["2024-06-01", "2025-03-01", "2025-12-01"]),
    ...                    "amount": [100.0, 300.0, 50.0]})
    >>> f = customer_features(tx, "2025-12-31")
    >>> f[["customer_id", "recency_days", "frequency", "monetary", "revenue_last", "revenue_trend"]]
      customer_id  recency_days  frequency  monetary  revenue_last  revenue_trend
    0           a           305          2     400.0         300.0            2.0
    1           b            30          1      50.0          50.0           50.0
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    for frame, name in ((customers, "customers"), (payments, "payments"), (tickets, "tickets")):
        if frame is not None:
            require_columns(frame, ["customer_id"], table=name)
    if pnl is not None:
        require_columns(pnl, ["customer_id"], table="P&L (customer_pnl)")
    require_count(period_months, "period_months", minimum=1)
    as_of = require_date(as_of, "as_of").normalize()
    t = _scoped_lines(transactions, as_of)
    # One query: the engine's customer summary over the revenue lines, and in the same grouping of the lines
    # every other figure (revenue lines picked by a condition, not a filter, because the return rate counts
    # the cancelled lines too); the line's flags computed once, read by every sum.
    revenue, returns = profitability._status_flags(t)
    t = t.mutate(_revenue=revenue, _return=returns, _amount=t.amount.cast("float64"), _day=t.date.cast("date"))
    shares = {}
    if "category" in t.columns:
        t, shares = _category_shares(t)
    revenue, amount = t._revenue, t._amount
    offset = pd.DateOffset(months=period_months)
    aggregates = {"_revenue_last": _period_revenue(t, revenue, as_of - offset, as_of),
                  "_revenue_previous": _period_revenue(t, revenue, as_of - 2 * offset, as_of - offset)}
    if "discount" in t.columns:
        discount = t.discount.cast("float64")
        aggregates["_discounted"] = engine.money_sum(amount, revenue & (discount > 0) & ~discount.isnan())
    if "status" in t.columns:  # engine.customer_lines: every line, return lines
        aggregates |= {"_n_all_lines": t.count(), "_n_return_lines": ibis.ifelse(t._return, 1, 0).sum()}
    aggregates |= {f"_share_{i}": engine.money_sum(amount, t._share == i) for i in shares}
    cost_sums = None
    if pnl is not None and {"gross_margin", "margin_rate"} <= set(pnl.columns):
        margins = pnl
    elif model is not None or "cost" in t.columns:  # profitability.customer_margins, in the same query
        cost_sums, categories = profitability._line_frame(t, model or profitability.CostModel(),
                                                          flags=(revenue, t._return))
        # (the P&L's revenue is the summary's: the same money sum of the revenue lines, not summed twice)
        aggregates |= {f"_cost:{name}": value for name, value in cost_sums.items() if name != "revenue"}
        margins = None
    else:
        margins = None
    summary = engine.customer_summary(t, as_of=as_of, where=revenue, aggregates=aggregates, columns=_SUMMARY_READ)
    ids = pd.Index(summary["customer_id"].astype("string"), name="customer_id")
    # (the figures under their own names: "_revenue_last" -> "revenue_last", "_cost:cogs_known" -> "cogs_known")
    per = summary[list(aggregates)].rename(columns=lambda name: name.removeprefix("_cost:").removeprefix("_"))
    per.index = ids
    if cost_sums is not None:
        per.insert(0, "revenue", summary["revenue"].to_numpy())
    out = pd.DataFrame({"customer_id": ids.array})
    out["first_purchase"] = summary["first_purchase"].to_numpy()
    out["last_purchase"] = summary["last_purchase"].to_numpy()
    out["recency_days"] = summary["recency_days"].astype("int64").to_numpy()
    out["frequency"] = summary["n_orders"].astype("int64").to_numpy()
    out["monetary"] = summary["revenue"].astype("float64").to_numpy()
    out["n_purchase_days"] = summary["n_purchase_days"].astype("int64").to_numpy()
    out["tenure_days"] = summary["tenure_days"].astype("int64").to_numpy()
    out["orders_per_year"] = summary["orders_per_year"].astype("float64").to_numpy()
    out["avg_order_value"] = summary["avg_order_value"].astype("float64").to_numpy()

    last, previous = per["revenue_last"].to_numpy(np.float64), per["revenue_previous"].to_numpy(np.float64)
    out["revenue_last"] = last
    out["revenue_previous"] = previous
    out["revenue_trend"] = (last - previous) / np.maximum(previous, 1.0)

    positive_revenue = out["monetary"].to_numpy() > 0
    monetary = np.where(positive_revenue, out["monetary"], 1)
    if "discounted" in per.columns:
        out["discount_share"] = np.where(positive_revenue, per["discounted"].to_numpy(np.float64) / monetary, 0.0)
    else:
        out["discount_share"] = 0.0
    if "n_all_lines" in per.columns:
        out["return_rate"] = (per["n_return_lines"] / per["n_all_lines"]).to_numpy(np.float64)
    else:
        out["return_rate"] = 0.0

    out["days_late"] = engine.customer_days_late(payments, ids)
    minutes = _ticket_minutes(tickets, as_of, ids).to_numpy()
    out["service_minutes_per_1000"] = np.where(positive_revenue, 1000 * minutes / monetary, 0.0)

    if margins is None and cost_sums is not None:
        quantities = per.reset_index()
        quantities.attrs = {"categories": tuple(categories)}
        cogs = profitability.cost_of_goods(quantities, model or profitability.CostModel())
        margin = profitability.gross_margin(quantities["revenue"], cogs)
        margins = pd.DataFrame({"customer_id": ids, "gross_margin": margin,
                                "margin_rate": profitability.margin_rate(margin, quantities["revenue"])})
    # (the P&L's and the customers' columns lined up with the customers by position: no join copying the frame)
    at_pnl = engine.positions_of(pnl["customer_id"], ids) if pnl is not None else None
    if margins is not None:
        at = at_pnl if margins is pnl else engine.positions_of(margins["customer_id"], ids)
        for column in ("gross_margin", "margin_rate"):
            out[column] = np.asarray(engine.take_rows(margins[column], at), dtype=np.float64)

    if pnl is not None:
        _add_per_customer(out, pnl[["customer_id", "profit", "profit_margin"]], ids, at_pnl)

    # (no share column without any customer, e.g. when every line is cancelled)
    if "category" in t.columns and len(out):
        sums = per[[f"share_{i}" for i in shares]].to_numpy(np.float64)  # (rows in the order of out)
        total = sums.sum(axis=1)
        sums = sums / np.where(total > 0, total, 1.0)[:, None]
        for i, column in shares.items():  # (sorted column names)
            out[column] = sums[:, i]

    if customers is not None and len(out):
        _add_per_customer(out, _attributes(customers, as_of), ids)
    return out.reset_index(drop=True)


def _add_per_customer(out: pd.DataFrame, per_customer: pd.DataFrame, ids: pd.Index, positions=None) -> None:
    """Add the columns of ``per_customer`` (``customer_id`` and figures, the first row of an id kept) to ``out``,
    whose rows are the customers ``ids``, in place: missing where a customer has no row. What a left join on
    ``customer_id`` gives, without copying ``out`` (5M customers x 25 features: ~1 GB a join).
    ``positions``: :func:`~portfolio_helpers.analysis.engine.positions_of` the rows, when known."""
    if positions is None:
        positions = engine.positions_of(per_customer["customer_id"], ids)
    for column in per_customer.columns.drop("customer_id"):
        out[column] = engine.take_rows(per_customer[column], positions)


def _ticket_minutes(tickets, as_of: pd.Timestamp, ids: pd.Index) -> pd.Series:
    """Ticket minutes per customer of ``ids`` (0 without), over the tickets without a date or dated up to
    ``as_of``'s day; one aggregation where the tickets are."""
    if tickets is None or not {"customer_id", "minutes"} <= set(tickets.columns):
        return pd.Series(0.0, index=ids)
    k = engine.table(tickets, ["customer_id", "minutes"] + ["date"] * ("date" in tickets.columns))
    if "date" in k.columns:
        k = k.filter(k.date.isnull() | (k.date.cast("date") <= as_of.date()))
    minutes = k.minutes.cast("float64")
    per = engine.execute(k.group_by(customer_id=k.customer_id.cast("string")).aggregate(
        minutes=ibis.ifelse(minutes.isnull() | minutes.isnan(), 0.0, minutes).sum()))
    minutes = np.asarray(engine.take_rows(per["minutes"], engine.positions_of(per["customer_id"], ids)), dtype=float)
    return pd.Series(np.nan_to_num(minutes, nan=0.0), index=ids)


# --------------------------------------------------------------------------- computed once, read by later notebooks

#: Names of the saved tables (``data/<name>.parquet``) notebook 03 computes once for notebooks 04 and 05.
PNL_TABLE = "customer_pnl"
FEATURES_TABLE = "customer_features"


def save_customer_tables(output_dir, pnl: pd.DataFrame, customer_features: pd.DataFrame) -> None:
    """Save the P&L and the customer features as typed tables in ``<output_dir>/data`` (notebook 03),
    stamped with the cleaned tables they come from (:func:`~portfolio_helpers.cleaning.pipeline.save_derived_table`)."""
    require_columns(pnl, ("customer_id", "profit"), table="P&L (customer_pnl)")
    require_columns(customer_features, ("customer_id", "monetary"), table="customer features")
    save_derived_table(pnl, PNL_TABLE, output_dir)
    save_derived_table(customer_features, FEATURES_TABLE, output_dir)


def customer_tables(transactions: pd.DataFrame, as_of, model: profitability.CostModel, *,
                    customers: pd.DataFrame | None = None, payments: pd.DataFrame | None = None,
                    tickets: pd.DataFrame | None = None, output_dir=None, customer_col: str = "customer_id",
                    date_col: str = "date", amount_col: str = "amount", order_col: str | None = "order_id",
                    status_col: str | None = "status") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The P&L and the customer features of notebooks 04 and 05, computed once.

    Read from ``<output_dir>/data`` when notebook 03 saved them (:func:`save_customer_tables`)
    from the same cleaned tables; otherwise computed here:
    :func:`~portfolio_helpers.analysis.profitability.customer_pnl` of the tables with ``model``,
    then :func:`customer_features` with that P&L. A notebook run on its own therefore works.
    The ``*_col`` keywords name the transactions' columns (as in :func:`customer_features`).

    Returns
    -------
    pnl, customer_features : DataFrame

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2025-03-01", "2025-06-01"]),
    ...                    "amount": [100.0, 40.0]})
    >>> pnl, f = customer_tables(tx, "2025-12-31", profitability.CostModel())
    >>> f[["customer_id", "monetary", "gross_margin", "profit"]]
      customer_id  monetary  gross_margin  profit
    0           a     100.0          40.0    40.0
    1           b      40.0          16.0    16.0
    """
    if output_dir is not None:
        pnl, features = load_derived_table(PNL_TABLE, output_dir), load_derived_table(FEATURES_TABLE, output_dir)
        if pnl is not None and features is not None:
            return pnl, features
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    pnl = profitability.customer_pnl(transactions, model, payments=payments, tickets=tickets, as_of=as_of)
    return pnl, customer_features(transactions, as_of, customers=customers, payments=payments, tickets=tickets,
                                  pnl=pnl)


# --------------------------------------------------------------------------- lifetimes

def lifetimes_summary(transactions: pd.DataFrame, as_of, time_unit: str = "W", *, customer_col: str = "customer_id",
                      date_col: str = "date", amount_col: str = "amount",
                      status_col: str | None = "status") -> pd.DataFrame:
    """The recency-frequency summary of the BG/NBD, Pareto/NBD and Gamma-Gamma models.

    The engine's :func:`portfolio_helpers.analysis.clv.summary.rfm_summary` (its one
    definition) without ``first_purchase``. Same convention as
    ``lifetimes.utils.summary_data_from_transaction_data`` with daily purchases and
    ``pymc_marketing.clv.rfm_summary``: the revenue lines dated on or before the day of
    ``as_of`` are merged per customer and calendar day (amounts summed; a day with a net
    negative amount is no purchase day, its amount is netted from the repeat value), then

    - ``frequency``: repeat purchase days (purchase days - 1);
    - ``recency``: time from the first to the last purchase day (0 without repeat);
    - ``T``: time from the first purchase day to ``as_of``;
    - ``monetary_value``: mean value of the repeat purchase days (the first one left
      out), 0 when ``frequency`` is 0.

    Times are in ``time_unit``: ``"D"`` days, ``"W"`` weeks (7 days), ``"M"`` average
    months (365.25 / 12 days). The ``*_col`` keywords name the transactions' columns (the
    status is optional); the result uses the kit's names (``customer_id``).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": pd.to_datetime(["1997-01-01", "1997-01-18", "1997-01-18", "1997-03-01"]),
    ...                    "amount": [29.33, 20.0, 9.73, 10.0]})
    >>> lifetimes_summary(tx, "1997-09-30", "D")
      customer_id  frequency  recency      T  monetary_value
    0           a          1     17.0  272.0           29.73
    1           b          0      0.0  213.0            0.00
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, status_col=status_col)
    summary = rfm_summary(transactions, require_date(as_of, "as_of"), _UNIT_NAMES.get(time_unit, time_unit))
    return summary.drop(columns="first_purchase")
