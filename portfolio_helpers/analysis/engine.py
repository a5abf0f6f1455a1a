"""Transaction-level aggregation, written once with Ibis and executed on DuckDB.

Pandas in, pandas out: the expressions are engine-neutral, so the same code can
run on a bigger backend (Spark, BigQuery, Postgres, ...) by passing another Ibis
connection as ``con``. No per-row Python anywhere.
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import ibis
import ibis.expr.types as ir
import pandas as pd

__all__ = [
    "connect",
    "revenue_lines",
    "customer_summary",
    "customer_values",
    "period_bounds",
    "revenue_by_period",
    "revenue_by_attribute",
]

CANCELLED = "cancelled"
# Calendar periods and their Ibis truncation units.
PERIOD_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}


def revenue_lines(transactions: pd.DataFrame, status_col: str = "status") -> pd.DataFrame:
    """The lines that count as revenue in every analysis: all except cancelled ones.

    Credit notes and returns (negative amounts) are kept, so revenue is net. Without a
    status column every line counts.
    """
    if status_col not in transactions.columns:
        return transactions
    return transactions[transactions[status_col].fillna("") != CANCELLED]


@functools.cache
def connect():
    """The default engine: an in-memory DuckDB database (one per process)."""
    return ibis.duckdb.connect()


@contextlib.contextmanager
def _quiet():
    # Ibis 12 reads pandas' deprecated `future.infer_string` option: harmless, but noisy in reports.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        yield


def _table(frame: pd.DataFrame, columns: list[str], con) -> ir.Table:
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise KeyError(f"columns not in the frame: {', '.join(missing)}; available: {', '.join(frame.columns)}")
    # Only the needed columns cross into the engine; pandas 3 strings become plain str for Arrow.
    subset = frame[columns].copy()
    for col in subset.columns:
        if pd.api.types.is_string_dtype(subset[col]):
            subset[col] = subset[col].astype("string[pyarrow]")
    with _quiet():
        return ibis.memtable(subset)


def _order_count(t: ir.Table, order_col: str | None):
    """Distinct orders; a line without an order id is an order of its own."""
    if order_col is None:
        return t.count()
    return t[order_col].nunique() + t[order_col].isnull().cast("int64").sum()


def _execute(expr: ir.Table, con) -> pd.DataFrame:
    with _quiet():
        return (con or connect()).to_pandas(expr)


def customer_summary(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    con=None,
) -> pd.DataFrame:
    """One row per customer: first and last purchase, orders, lines, revenue.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction line.
    customer_col, date_col, amount_col : str
        Column names of the customer id, line date and net amount.
    order_col : str or None
        Order/invoice id. When absent (``None`` or not in the frame) each line is an order.
    con : ibis backend, optional
        Engine to run on; default an in-memory DuckDB.

    Returns
    -------
    DataFrame
        Columns ``customer_id, first_purchase, last_purchase, n_orders, n_lines,
        n_purchase_days, revenue, gross_sales, credit_notes`` (``credit_notes`` is the
        sum of negative lines, as a negative number), sorted by ``customer_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
    ...                    "amount": [100.0, -20.0, 50.0], "order_id": ["o1", "o2", "o3"]})
    >>> customer_summary(tx)[["customer_id", "n_orders", "revenue"]].to_dict("records")
    [{'customer_id': 'a', 'n_orders': 2, 'revenue': 80.0}, {'customer_id': 'b', 'n_orders': 1, 'revenue': 50.0}]
    """
    order_col = order_col if order_col in transactions.columns else None
    t = _table(transactions, [customer_col, date_col, amount_col] + ([order_col] if order_col else []), con)
    amount = t[amount_col]
    day = t[date_col].cast("date")
    expr = (
        t.group_by(customer_id=t[customer_col])
        .aggregate(
            first_purchase=t[date_col].min(),
            last_purchase=t[date_col].max(),
            n_orders=_order_count(t, order_col),
            n_lines=t.count(),
            n_purchase_days=day.nunique(),
            revenue=amount.sum(),
            gross_sales=ibis.ifelse(amount > 0, amount, 0).sum(),
            credit_notes=ibis.ifelse(amount < 0, amount, 0).sum(),
        )
        .order_by("customer_id")
    )
    result = _execute(expr, con)
    for col in ("n_orders", "n_lines", "n_purchase_days"):
        result[col] = result[col].astype("int64")
    result["customer_id"] = result["customer_id"].astype("string")
    return result.reset_index(drop=True)


def revenue_by_period(
    transactions: pd.DataFrame,
    freq: str = "month",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    con=None,
) -> pd.DataFrame:
    """Revenue, orders and active customers per calendar period.

    ``freq`` is one of ``"day"``, ``"week"``, ``"month"``, ``"quarter"``, ``"year"``.
    Periods without any transaction are included with zeros, so charts show gaps honestly.
    """
    if freq not in PERIOD_UNITS:
        raise ValueError(f"freq must be one of {', '.join(PERIOD_UNITS)}, got {freq!r}")
    order_col = order_col if order_col in transactions.columns else None
    t = _table(transactions, [customer_col, date_col, amount_col] + ([order_col] if order_col else []), con)
    period = t[date_col].truncate(PERIOD_UNITS[freq]).cast("date").name("period")
    expr = (
        t.group_by(period)
        .aggregate(
            revenue=t[amount_col].sum(),
            n_orders=_order_count(t, order_col),
            n_customers=t[customer_col].nunique(),
        )
        .order_by("period")
    )
    result = _execute(expr, con)
    result["period"] = pd.to_datetime(result["period"])
    pandas_freq = {"day": "D", "week": "W-MON", "month": "MS", "quarter": "QS", "year": "YS"}[freq]
    if not result.empty:
        full = pd.date_range(result["period"].min(), result["period"].max(), freq=pandas_freq)
        result = result.set_index("period").reindex(full, fill_value=0).rename_axis("period").reset_index()
    return result.astype({"n_orders": "int64", "n_customers": "int64"})


def revenue_by_attribute(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    attribute: str,
    customer_col: str = "customer_id",
    amount_col: str = "amount",
    con=None,
) -> pd.DataFrame:
    """Revenue and customer count per value of a customer attribute (country, industry, ...).

    Transactions of customers missing from ``customers`` (or with no value for the
    attribute) are grouped under ``"(unknown)"`` rather than dropped, so the shares add
    up to the total revenue. Sorted by revenue, largest first, with ``revenue_share``.
    """
    t = _table(transactions, [customer_col, amount_col], con)
    c = _table(customers.drop_duplicates(customer_col), [customer_col, attribute], con)
    joined = t.left_join(c, t[customer_col] == c[customer_col])
    value = joined[attribute].cast("string").fill_null("(unknown)").name(attribute)
    expr = joined.group_by(value).aggregate(
        revenue=joined[amount_col].sum(),
        n_customers=joined[customer_col].nunique(),
    )
    result = _execute(expr, con)
    total = result["revenue"].sum()
    result["revenue_share"] = result["revenue"] / total if total else float("nan")
    result[attribute] = result[attribute].astype("string")
    return result.sort_values(["revenue", attribute], ascending=[False, True]).reset_index(drop=True)


def period_bounds(period, name: str = "period") -> tuple[pd.Timestamp, pd.Timestamp]:
    """Validate a ``(start, end)`` pair of dates (inclusive)."""
    try:
        start, end = (pd.Timestamp(bound) for bound in period)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a (start, end) pair of dates, got {period!r}: {error}") from None
    if pd.isna(start) or pd.isna(end) or start > end:
        raise ValueError(f"{name} must be a (start, end) pair of dates with start <= end, got {period!r}")
    return start, end


def customer_values(
    transactions: pd.DataFrame,
    freq: str | None = None,
    period: tuple | None = None,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    con=None,
) -> pd.DataFrame:
    """Net value per customer (per customer and period with ``freq``), aggregated by the engine.

    Lines without a customer id or a date are left out: they belong to no customer or no
    period. Each customer with at least one line is present, even with a net value of 0.

    Parameters
    ----------
    transactions : DataFrame
        One row per transaction line.
    freq : {"year", "quarter", "month", "week", "day"} or None
        Calendar period; ``None`` for one value per customer.
    period : (start, end) pair, optional
        Only lines dated from ``start`` to ``end`` inclusive (an ``end`` at midnight covers
        that whole day).
    customer_col, date_col, amount_col : str
        Column names.
    con : ibis backend, optional
        Engine to run on; default an in-memory DuckDB.

    Returns
    -------
    DataFrame
        Columns ``[period,] <customer_col>, value``, sorted by period then customer id;
        ``period`` is the first day of the period.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a", "a"],
    ...                    "date": pd.to_datetime(["2023-05-01 00:00", "2024-01-02 00:00", "2024-03-01 00:00",
    ...                                            "2024-12-31 18:00"]),
    ...                    "amount": [10.0, 5.0, 20.0, -8.0]})
    >>> customer_values(tx, "year").to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'period': [Timestamp('2023-01-01 00:00:00'), Timestamp('2024-01-01 00:00:00'), Timestamp('2024-01-01 00:00:00')],
     'customer_id': ['a', 'a', 'b'], 'value': [10.0, 12.0, 5.0]}
    >>> customer_values(tx, period=("2024-01-01", "2024-12-31")).to_dict("list")
    {'customer_id': ['a', 'b'], 'value': [12.0, 5.0]}
    """
    if freq is not None and freq not in PERIOD_UNITS:
        raise ValueError(f"freq must be one of {', '.join(PERIOD_UNITS)} or None, got {freq!r}")
    t = _table(transactions, [customer_col, date_col, amount_col], con)
    t = t.filter(t[customer_col].notnull(), t[date_col].notnull())
    if period is not None:
        start, end = period_bounds(period, "period")
        before_end = (t[date_col] < end + pd.Timedelta(days=1)) if end == end.normalize() else (t[date_col] <= end)
        t = t.filter(t[date_col] >= start, before_end)
    keys = {customer_col: t[customer_col]}
    if freq is not None:
        keys = {"period": t[date_col].truncate(PERIOD_UNITS[freq]).cast("date"), **keys}
    expr = t.group_by(**keys).aggregate(value=t[amount_col].sum()).order_by(list(keys))
    result = _execute(expr, con)
    if freq is not None:
        result["period"] = pd.to_datetime(result["period"])
    if pd.api.types.is_string_dtype(result[customer_col]):
        result[customer_col] = result[customer_col].astype("string")
    result["value"] = result["value"].astype("float64")
    return result.reset_index(drop=True)
