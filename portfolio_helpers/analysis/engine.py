"""Transaction-level aggregation, written once with Ibis and executed on DuckDB.

Transaction-level tables come in either as pandas frames (small inputs, tests) or as
**engine tables**: Ibis tables bound to a connection, such as a Parquet file scanned by DuckDB
or a Spark table (see :mod:`portfolio_helpers.core.backend`). The expressions are
engine-neutral and run where the data is: only per-customer or per-period results come back to
pandas, so memory grows with customers, not lines. No per-row Python anywhere.

This module owns the transaction-level definitions every analysis uses (see the
"Definitions" section of ``docs/data_contract.md``); other modules call these
functions rather than re-deriving a figure:

- revenue lines: :func:`revenue_lines` (every line except cancelled ones, credit notes kept);
- return lines: :func:`return_lines` (status returned, cancelled or modified);
- orders: :func:`orders` (lines sharing an ``order_id``; a line without one is an order
  of its own); per customer ``n_orders`` in :func:`customer_summary`;
- deliveries: :func:`deliveries` (orders whose net amount is positive);
- tenure, recency and orders per year: :func:`tenure_days`, :func:`orders_per_year`,
  in :func:`customer_summary` with ``as_of``;
- days late: :func:`days_late` (mean of ``paid_date - due_date`` over paid invoices).

Other modules run their own aggregations through the public :func:`table` and :func:`execute`.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from portfolio_helpers.core import backend
from portfolio_helpers.core.errors import ValueProblem
from portfolio_helpers.core.validation import is_engine_table, require_choice, require_columns
from portfolio_helpers.core.vocabulary import CANCELLED, DAYS_PER_YEAR, RETURN_STATUSES

__all__ = [
    "connect",
    "table",
    "execute",
    "is_engine_table",
    "n_rows",
    "revenue_lines",
    "cancelled_lines",
    "return_lines",
    "orders",
    "deliveries",
    "order_count",
    "tenure_days",
    "orders_per_year",
    "days_late",
    "customer_days_late",
    "customer_lines",
    "transactions_overview",
    "customer_summary",
    "customer_summary_expr",
    "SUMMARY_COLUMNS",
    "money_sum",
    "orders_expr",
    "customer_values",
    "period_bounds",
    "revenue_by_period",
    "revenue_by_attribute",
]

# Calendar periods and their Ibis truncation units.
PERIOD_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}


def revenue_lines(transactions: pd.DataFrame, status_col: str = "status") -> pd.DataFrame:
    """The lines that count as revenue in every analysis: all except cancelled ones.

    Credit notes and returns (negative amounts) are kept, so revenue is net. Without a
    status column every line counts.

    Examples
    --------
    >>> tx = pd.DataFrame({"amount": [100.0, 40.0, -30.0], "status": ["completed", "cancelled", "returned"]})
    >>> revenue_lines(tx)["amount"].sum()
    np.float64(70.0)
    """
    if status_col not in transactions.columns:
        return transactions
    if is_engine_table(transactions):
        return transactions.filter(_revenue_status(transactions[status_col]))
    return transactions[_is_revenue_line(transactions, status_col)]


def _revenue_status(status):
    """Engine predicate of a revenue line on its status: anything but cancelled (a missing status counts)."""
    return status.isnull() | (status.cast("string") != CANCELLED)


def _return_status(status):
    """Engine predicate of a return line on its status (:data:`RETURN_STATUSES`)."""
    return status.notnull() & status.cast("string").isin(sorted(RETURN_STATUSES))


def _is_revenue_line(transactions: pd.DataFrame, status_col: str) -> np.ndarray:
    if status_col not in transactions.columns:
        return np.ones(len(transactions), dtype=bool)
    return (transactions[status_col].astype("string").fillna("") != CANCELLED).to_numpy(dtype=bool)


def cancelled_lines(transactions: pd.DataFrame, status_col: str = "status") -> pd.DataFrame:
    """The lines that are not revenue: the complement of :func:`revenue_lines` (the cancelled lines).

    Examples
    --------
    >>> tx = pd.DataFrame({"amount": [100.0, 40.0, -30.0], "status": ["completed", "cancelled", "returned"]})
    >>> cancelled_lines(tx)["amount"].tolist()
    [40.0]
    """
    if is_engine_table(transactions):
        if status_col not in transactions.columns:
            return transactions.filter(ibis.literal(False))
        return transactions.filter(~_revenue_status(transactions[status_col]))
    return transactions[~_is_revenue_line(transactions, status_col)]


def return_lines(transactions: pd.DataFrame, status_col: str = "status") -> pd.DataFrame:
    """The return lines: lines returned, cancelled or modified (:data:`~portfolio_helpers.core.vocabulary.RETURN_STATUSES`).

    They drive the returns cost of the profitability model and the return rate. Without a
    status column no line is a return line.

    Examples
    --------
    >>> tx = pd.DataFrame({"amount": [100.0, 40.0, -30.0], "status": ["completed", "cancelled", "returned"]})
    >>> len(return_lines(tx))
    2
    """
    if is_engine_table(transactions):
        if status_col not in transactions.columns:
            return transactions.filter(ibis.literal(False))
        return transactions.filter(_return_status(transactions[status_col]))
    return transactions[_is_return_line(transactions, status_col)]


def _is_return_line(transactions: pd.DataFrame, status_col: str) -> np.ndarray:
    if status_col not in transactions.columns:
        return np.zeros(len(transactions), dtype=bool)
    return transactions[status_col].isin(RETURN_STATUSES).fillna(False).to_numpy(dtype=bool)


def connect(settings: backend.EngineSettings | None = None):
    """The engine of ``settings`` (default: an in-memory DuckDB database), opened once per process.

    See :func:`portfolio_helpers.core.backend.connect`.
    """
    return backend.connect(settings or backend.EngineSettings())


_quiet = backend.quiet  # the warnings every engine call silences (one definition, in core)


def table(frame: pd.DataFrame | ir.Table, columns: list[str], con=None) -> ir.Table:
    """``frame[columns]`` as an Ibis table, ready for an aggregation run by :func:`execute`.

    Parameters
    ----------
    frame : DataFrame or Ibis table
        Any frame (transaction lines, per-line figures...), or an engine table (a scanned
        Parquet file, a table of the engine's catalog): then only its columns are selected,
        nothing is read.
    columns : list of str
        The columns that cross into the engine.
    con : ibis backend, optional
        Unused here (the table is an in-memory table any backend runs); accepted so that
        callers pass their engine along.

    Raises
    ------
    ColumnError
        (a ``KeyError``) naming the missing columns and the available ones.
    """
    require_columns(frame, columns, table="transactions")
    if is_engine_table(frame):
        return frame.select(*columns)
    # Only the needed columns cross into the engine; pandas 3 strings become plain str for Arrow.
    subset = frame[columns].copy()
    for col in subset.columns:
        if pd.api.types.is_string_dtype(subset[col]):
            subset[col] = subset[col].astype("string[pyarrow]")
    with _quiet():
        return ibis.memtable(subset)


def execute(expr: ir.Table, con=None) -> pd.DataFrame:
    """Run an Ibis expression on ``con``; by default on the engine its tables are bound to (the one that
    scanned them), or the in-memory DuckDB of :func:`connect` when every table is an in-memory one."""
    con = con or backend.bound_backend(expr) or connect()
    with _quiet():
        if con.name != "duckdb" or not isinstance(expr, ir.Table):
            return con.to_pandas(expr)
        table = con.to_pyarrow(expr)
        if any(pa.types.is_nested(t) or pa.types.is_dictionary(t) for t in table.schema.types):
            return con.to_pandas(expr)
        result = _arrow_to_pandas(table, expr)
    if len(result) >= _RELEASE_FROM_ROWS:  # the Arrow copy of a large result is gone: give its memory back
        pa.default_memory_pool().release_unused()
    return result


def _arrow_to_pandas(table: pa.Table, expr: ir.Table) -> pd.DataFrame:
    """DuckDB's Arrow result as the frame Ibis's ``to_pandas`` gives (its dtypes, by Ibis's own conversion), but
    converted by Arrow column by column, each column's buffers freed as it is converted: Ibis turns every column
    holding a null into a list of Python objects first (5M objects per column of a 5M-customer table) and keeps
    the whole Arrow table alive until the end."""
    from ibis.backends.duckdb.converter import DuckDBPandasData

    empty = [name for name, column in zip(table.column_names, table.columns, strict=True)
             if len(table) and column.null_count == len(table)]  # (Ibis gives these object columns of None)
    frame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table
    for name in empty:
        frame[name] = pd.Series([None] * len(frame), dtype=object, index=frame.index)
    return expr.__pandas_result__(DuckDBPandasData.convert_table(frame, expr.schema()))


#: From this many rows of a result, :func:`execute` asks Arrow's memory pool to return what it no longer
#: uses (its allocator otherwise keeps it for later: 85 MB after a 1M-customer table).
_RELEASE_FROM_ROWS = 100_000


def n_rows(frame: pd.DataFrame | ir.Table) -> int:
    """The number of rows of a frame or an engine table (counted by the engine, nothing read).

    Examples
    --------
    >>> n_rows(pd.DataFrame({"a": [1, 2]})), n_rows(ibis.memtable({"a": [1, 2, 3]}))
    (2, 3)
    """
    if is_engine_table(frame):
        return int(execute(frame.aggregate(n=frame.count()))["n"].iloc[0])
    return len(frame)


_LINE = "_line"  # position of a line, the order key of a line without order id
_FIRST_LINE = "_first_line"  # position of an order's first line: the last tie-break of a deterministic order


def _order_columns(transactions: pd.DataFrame | ir.Table, order_col: str | None) -> str | None:
    return order_col if order_col is not None and order_col in transactions.columns else None


def _line_table(transactions: pd.DataFrame | ir.Table, columns: list[str], order_col: str | None) -> ir.Table:
    """The lines, with their position (``_line``) when they come from pandas: the last tie-break that
    orders same-day orders without order id as in the input. An engine table has no row order (a
    Parquet folder, a Spark table): its lines come without position."""
    columns = [*columns] + ([order_col] if order_col else [])
    if is_engine_table(transactions):
        return table(transactions, columns)
    frame = transactions.assign(**{_LINE: np.arange(len(transactions), dtype=np.int64)})
    return table(frame, [*columns, _LINE])


def orders_expr(t: ir.Table, customer_col: str = "customer_id", date_col: str = "date", amount_col: str = "amount",
                order_col: str | None = "order_id") -> ir.Table:
    """The expression (not run) of :func:`orders` on the lines ``t``: one row per customer and order,
    ``customer_id, order_id, date, amount, n_lines`` plus ``_first_line`` (the position of the order's first
    line when the lines have one, for a deterministic order; else null). The one definition of an order:
    the lines sharing an order id grouped, each line without one (or every line, without ``order_col``
    in ``t``) an order of its own.

    Examples
    --------
    >>> t = ibis.memtable({"customer_id": ["a", "a", "a"], "order_id": ["o1", "o1", None], "amount": [1.0, 2.0, 4.0],
    ...                    "date": pd.to_datetime(["2025-01-02", "2025-01-01", "2025-01-03"])})
    >>> execute(orders_expr(t).order_by("date"))[["amount", "n_lines"]].to_dict("records")
    [{'amount': 3.0, 'n_lines': 2}, {'amount': 4.0, 'n_lines': 1}]
    """
    require_columns(t, [customer_col, date_col, amount_col], table="transactions")
    order_col = _order_columns(t, order_col)
    first = t[_LINE] if _LINE in t.columns else ibis.null("int64")

    def single(lines):  # each line an order of its own
        order_id = lines[order_col] if order_col else ibis.null("string")
        return lines.select(customer_id=lines[customer_col], order_id=order_id, date=lines[date_col],
                            amount=lines[amount_col], n_lines=ibis.literal(1, "int64"),
                            **{_FIRST_LINE: lines[_LINE] if _LINE in lines.columns else ibis.null("int64")})

    if order_col is None:
        return single(t)
    with_id = t.filter(t[order_col].notnull())
    grouped = with_id.group_by(customer_id=with_id[customer_col], order_id=with_id[order_col]).aggregate(
        date=with_id[date_col].min(), amount=with_id[amount_col].sum(), n_lines=with_id.count().cast("int64"),
        **{_FIRST_LINE: with_id[_LINE].min() if _LINE in t.columns else first})
    return grouped.union(single(t.filter(t[order_col].isnull())))


def _orders_table(transactions: pd.DataFrame, customer_col: str, date_col: str, amount_col: str,
                  order_col: str | None) -> ir.Table:
    order_col = _order_columns(transactions, order_col)
    t = _line_table(transactions, [customer_col, date_col, amount_col], order_col)
    return orders_expr(t, customer_col, date_col, amount_col, order_col)


def _string_ids(result: pd.DataFrame, column: str) -> None:
    """Text ids come back from the engine as object or Arrow strings: make them pandas strings, in place."""
    if pd.api.types.is_string_dtype(result[column]):
        result[column] = result[column].astype("string")


def _orders_frame(expr: ir.Table, con) -> pd.DataFrame:
    # Orders on the same day without an order id are ordered by their first line in the input, so
    # the result does not depend on how the engine scheduled the aggregation.
    # (an engine table has no line order: its ties are broken by amount and line count).
    result = execute(expr.order_by(["customer_id", "date", "order_id", _FIRST_LINE, "amount", "n_lines"])
                     .drop(_FIRST_LINE), con)
    _string_ids(result, "customer_id")
    result["n_lines"] = result["n_lines"].astype("int64")
    result["amount"] = result["amount"].astype("float64")
    return result.reset_index(drop=True)


def orders(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    con=None,
) -> pd.DataFrame:
    """The orders of the lines given: one row per customer and order.

    **Definition.** An order is the set of a customer's lines that share an ``order_id``;
    a line without an ``order_id`` (or every line, when there is no such column) is an
    order of its own. Pass the lines the figure is about: every count of orders in the
    kit is over the revenue lines (:func:`revenue_lines`).

    Returns
    -------
    DataFrame
        ``customer_id, order_id`` (missing for a line-order), ``date`` (the first line's
        date), ``amount`` (net: the sum of the lines) and ``n_lines``; sorted by customer,
        date and order id.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a"],
    ...                    "date": pd.to_datetime(["2025-01-10", "2025-01-10", "2025-02-01"]),
    ...                    "amount": [10.0, 5.0, 7.0]})
    >>> orders(tx)[["customer_id", "date", "amount"]]
      customer_id       date  amount
    0           a 2025-01-10    10.0
    1           a 2025-01-10     5.0
    2           a 2025-02-01     7.0
    """
    return _orders_frame(_orders_table(transactions, customer_col, date_col, amount_col, order_col), con)


def deliveries(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    con=None,
) -> pd.DataFrame:
    """The deliveries: the :func:`orders` whose net amount is positive to the cent (a purchase, not a credit note).

    Columns as :func:`orders`. These are the order events of the customer scorecards and
    the ``per_delivery`` cost driver.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a"], "order_id": ["o1", "o1", "o2"],
    ...                    "date": pd.to_datetime(["2025-01-10", "2025-01-11", "2025-02-01"]),
    ...                    "amount": [10.0, -4.0, -7.0]})
    >>> deliveries(tx)[["order_id", "amount"]].to_dict("records")
    [{'order_id': 'o1', 'amount': 6.0}]
    """
    expr = _orders_table(transactions, customer_col, date_col, amount_col, order_col)
    return _orders_frame(expr.filter(_is_delivery(expr.amount)), con)


def deliveries_expr(t: ir.Table, customer_col: str = "customer_id", date_col: str = "date",
                    amount_col: str = "amount", order_col: str | None = "order_id") -> ir.Table:
    """The expression (not run) of :func:`deliveries` on the lines ``t`` (columns as :func:`orders_expr`):
    for callers that aggregate the deliveries further in the engine.

    Examples
    --------
    >>> t = ibis.memtable({"customer_id": ["a", "a", "a"], "order_id": ["o1", "o1", "o2"], "amount": [10.0, -4.0, -7.0],
    ...                    "date": pd.to_datetime(["2025-01-10", "2025-01-11", "2025-02-01"])})
    >>> execute(deliveries_expr(t))[["order_id", "amount"]].to_dict("records")
    [{'order_id': 'o1', 'amount': 6.0}]
    """
    o = orders_expr(t, customer_col, date_col, amount_col, _order_columns(t, order_col))
    return o.filter(_is_delivery(o.amount))


def _is_delivery(net):
    """An order is delivered when its net amount is positive to the cent (a sale and its full credit
    note, summed in floating point, leave noise such as 3.6e-15: not a delivery)."""
    return net.round(2) > 0


def order_count(transactions: pd.DataFrame, customer_col: str = "customer_id",
                order_col: str | None = "order_id") -> int:
    """The number of :func:`orders` of the lines given (the sum of the customers' ``n_orders``).

    Examples
    --------
    >>> order_count(pd.DataFrame({"customer_id": ["a", "a", "a", "a", "b"],
    ...                           "order_id": ["o1", "o1", None, None, "o1"]}))
    4
    """
    order_col = _order_columns(transactions, order_col)
    t = table(transactions, [customer_col] + ([order_col] if order_col else []))
    if order_col is None:
        return n_rows(t)
    with_id = t.filter(t[order_col].notnull())
    grouped = with_id.group_by(customer_col, order_col).aggregate(n=with_id.count())
    without_id = t.filter(t[order_col].isnull())
    counts = execute(ibis.union(grouped.aggregate(n=grouped.count()), without_id.aggregate(n=without_id.count())))
    return int(counts["n"].sum())


def tenure_days(first_purchase, as_of) -> pd.Series:
    """**Tenure**: calendar days from the first purchase day to the as-of day (0 = first bought on it).

    Examples
    --------
    >>> tenure_days(pd.Series(pd.to_datetime(["2025-12-01 18:00", "2024-12-31 00:00"])), "2025-12-31").tolist()
    [30, 365]
    """
    first = pd.to_datetime(pd.Series(first_purchase)).dt.normalize()
    return (pd.Timestamp(as_of).normalize() - first).dt.days.astype("int64")


def orders_per_year(n_orders, tenure) -> np.ndarray:
    """**Orders per year**: ``n_orders / max(tenure in years, 1)``.

    Tenure is :func:`tenure_days` / 365.25; it counts as at least one year, so a new
    customer's rate is its number of orders so far, never an extrapolation.

    Examples
    --------
    >>> orders_per_year([3, 6], [30, 730.5]).tolist()
    [3.0, 3.0]
    """
    years = np.asarray(tenure, dtype=np.float64) / DAYS_PER_YEAR
    return np.asarray(n_orders, dtype=np.float64) / np.maximum(years, 1.0)


def days_late(
    payments: pd.DataFrame | ir.Table,
    customer_col: str = "customer_id",
    due_col: str = "due_date",
    paid_col: str = "paid_date",
    con=None,
) -> pd.DataFrame:
    """**Days late** per customer: mean of ``paid_date - due_date`` in calendar days over paid invoices.

    Negative when the customer pays early on average. Invoices without a due date or not
    yet paid are left out; a customer with no such invoice is not in the result. ``payments``
    is a frame or an engine table (aggregated where it lives: one row per customer comes back).

    Returns
    -------
    DataFrame
        ``customer_id, days_late, n_paid_invoices``, sorted by customer id.

    Examples
    --------
    >>> pay = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                     "due_date": pd.to_datetime(["2025-01-10", "2025-02-10", "2025-01-10"]),
    ...                     "paid_date": pd.to_datetime(["2025-01-20 17:00", "2025-02-08 09:00", None])})
    >>> days_late(pay).to_dict("records")
    [{'customer_id': 'a', 'days_late': 4.0, 'n_paid_invoices': 2}]
    """
    t = table(payments, [customer_col, due_col, paid_col], con)
    t = t.filter(t[customer_col].notnull(), t[due_col].notnull(), t[paid_col].notnull())
    # calendar days between the two days (times of day ignored), as a float so that the mean is exact
    late = t[paid_col].cast("date").delta(t[due_col].cast("date"), unit="day").cast("float64")
    expr = t.group_by(customer_id=t[customer_col]).aggregate(days_late=late.mean(), n_paid_invoices=t.count())
    result = execute(expr.order_by("customer_id"), con)
    _string_ids(result, "customer_id")
    return result.astype({"days_late": "float64", "n_paid_invoices": "int64"}).reset_index(drop=True)


def positions_of(keys, ids) -> np.ndarray:
    """Position of each of ``ids`` among ``keys`` (its first occurrence), -1 where it is absent.

    The rows a left join of ``ids`` on the first row of each key takes (``pd.Index(keys).get_indexer(ids)``
    for unique keys), ids compared as strings. Per-customer tables are lined up with it on millions of
    customers: Arrow hashes the strings where they are (a few hundred MB for 5M customer ids), where
    pandas hashes them as Python objects (about 0.9 GB).

    Examples
    --------
    >>> positions_of(pd.Series(["b", "a", "b"]), ["a", "b", "c"]).tolist()
    [1, 0, -1]
    """
    found = pa.compute.index_in(_arrow_strings(ids), value_set=_arrow_strings(keys))
    return found.fill_null(-1).to_numpy().astype(np.intp)


def _arrow_strings(values) -> pa.Array:
    """``values`` as one Arrow array of large strings (no copy of strings already held by Arrow)."""
    array = pa.array(pd.array(values, dtype="string[pyarrow]"))
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.large_string())


def take_rows(values: pd.Series, positions: np.ndarray):
    """The values of ``values`` at ``positions`` (from :func:`positions_of`), missing where a position is -1:
    a column of a left join, in the dtype a join gives (NaN in float columns, ``<NA>`` in nullable ones)."""
    values = values.array if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) else values.to_numpy()
    return pd.api.extensions.take(values, positions, allow_fill=True)


def customer_days_late(payments: pd.DataFrame | ir.Table | None, ids) -> np.ndarray:
    """:func:`days_late` of each customer of ``ids``, NaN for one without a paid invoice (or without payments).

    The one definition of ``days_late`` in the customer features and the P&L: a customer that never
    paid an invoice has no payment delay to report (NaN), not a delay of 0.

    Examples
    --------
    >>> pay = pd.DataFrame({"customer_id": ["a", "a"], "due_date": pd.to_datetime(["2025-01-10"] * 2),
    ...                     "paid_date": pd.to_datetime(["2025-01-20", "2025-01-12"])})
    >>> customer_days_late(pay, ["a", "b"]).tolist()
    [6.0, nan]
    """
    ids = pd.Index(ids)
    if payments is None or not {"customer_id", "due_date", "paid_date"} <= set(payments.columns):
        return np.full(len(ids), np.nan)
    late = days_late(payments)
    return np.asarray(take_rows(late["days_late"], positions_of(late["customer_id"], ids)), dtype=np.float64)


def transactions_overview(transactions: pd.DataFrame) -> dict:
    """Headline figures of a transactions table (notebook 01's overview), each from its one definition.

    ``revenue_total`` is the revenue every notebook uses: the sum of ``amount`` over the
    :func:`revenue_lines` (cancelled lines excluded, credit notes included);
    ``credit_notes_total`` and ``n_credit_note_lines`` the negative revenue lines;
    ``n_orders`` the :func:`order_count` of the revenue lines; ``cancelled_total`` and
    ``n_cancelled_lines`` the :func:`cancelled_lines`, reported on their own; ``period_start``
    and ``period_end`` the first and last days. With a ``customer_known`` column (set by the
    loader), also the revenue lines whose customer id is unknown to the customers table:
    ``n_unknown_customer_lines``, ``n_unknown_customer_ids``, ``unknown_customer_revenue``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["o1", "o2", "o3"],
    ...                    "date": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-03-01"]),
    ...                    "amount": [100.0, -20.0, 50.0], "status": ["completed", "returned", "cancelled"]})
    >>> overview = transactions_overview(tx)
    >>> overview["revenue_total"], overview["credit_notes_total"], overview["cancelled_total"], overview["n_orders"]
    (80.0, -20.0, 50.0, 2)
    """
    require_columns(transactions, ("customer_id", "date", "amount"), table="transactions")
    known = "customer_known" in transactions.columns
    has_status = "status" in transactions.columns
    t = table(transactions, ["customer_id", "date", "amount"] + ["status"] * has_status + ["customer_known"] * known)
    if not has_status:  # every line is revenue
        t = t.mutate(status=ibis.null("string"))
    revenue = _revenue_status(t.status)
    credit = revenue & (t.amount < 0)
    figures = {
        "n_transactions": t.count(),
        "n_customer_ids": t.customer_id.nunique(),
        "revenue_total": t.amount.sum(where=revenue),
        "credit_notes_total": t.amount.sum(where=credit),
        "n_credit_note_lines": credit.cast("int64").sum(),
        "period_start": t.date.min(),
        "period_end": t.date.max(),
        "n_cancelled_lines": (~revenue).cast("int64").sum(),
        "cancelled_total": t.amount.sum(where=~revenue),
    }
    if known:
        unknown = revenue & ~t.customer_known.fill_null(False)
        figures |= {"n_unknown_customer_lines": unknown.cast("int64").sum(),
                    "n_unknown_customer_ids": t.customer_id.nunique(where=unknown),
                    "unknown_customer_revenue": t.amount.sum(where=unknown)}
    row = execute(t.aggregate(**figures)).iloc[0]
    overview = {}
    for name in figures:
        value = row[name]
        if name.startswith("period_"):
            overview[name] = pd.Timestamp(value).normalize()
        elif name.startswith("n_"):
            overview[name] = 0 if pd.isna(value) else int(value)
        else:
            overview[name] = 0.0 if pd.isna(value) else float(value)
    overview["n_orders"] = order_count(revenue_lines(transactions))
    return {key: overview[key] for key in ("n_transactions", "n_customer_ids", "n_orders", *figures) if key in overview}


def customer_lines(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    status_col: str = "status",
    con=None,
) -> pd.DataFrame:
    """Per customer: all lines and the :func:`return_lines`, over every line given (cancelled ones included).

    Returns
    -------
    DataFrame
        ``customer_id, n_lines, n_return_lines, return_rate`` (``n_return_lines / n_lines``),
        sorted by customer id.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "status": ["completed", "cancelled", "returned", None]})
    >>> customer_lines(tx).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'customer_id': 'a', 'n_lines': 3, 'n_return_lines': 2, 'return_rate': 0.6666666666666666},
     {'customer_id': 'b', 'n_lines': 1, 'n_return_lines': 0, 'return_rate': 0.0}]
    """
    has_status = status_col in transactions.columns
    t = table(transactions, [customer_col] + ([status_col] if has_status else []), con)
    if not has_status:  # no line is a return
        t = t.mutate(**{status_col: ibis.null("string")})
    expr = t.group_by(customer_id=t[customer_col]).aggregate(
        n_lines=t.count(), n_return_lines=_return_status(t[status_col]).cast("int64").sum())
    result = execute(expr.order_by("customer_id"), con)
    _string_ids(result, "customer_id")
    result = result.astype({"n_lines": "int64", "n_return_lines": "int64"})
    result["n_return_lines"] = result["n_return_lines"].fillna(0)
    result["return_rate"] = result["n_return_lines"] / result["n_lines"]
    return result.reset_index(drop=True)


#: The columns of :func:`customer_summary_expr`, in order (:func:`customer_summary` adds the ``as_of`` ones).
SUMMARY_COLUMNS = ("customer_id", "first_purchase", "last_purchase", "n_orders", "n_lines", "n_purchase_days",
                   "revenue", "gross_sales", "credit_notes", "n_deliveries", "avg_order_value")


def money_sum(value, where=None):
    """**Money sum** per group (an Ibis aggregate): the sum of ``value`` over the rows where ``where`` holds
    (0 for a group without such row), **rounded to the cent**.

    The one rule of every per-customer money figure the engine returns (revenue, gross sales, credit
    notes, period revenue, costs...): a sum of amounts in cents is a whole number of cents, but engines
    add in different orders and leave different noise in the last bits (DuckDB and Spark differ by
    ~1e-12); rounded, the figure is the same double on every engine, so models fed with it (scoring)
    give the same result everywhere.

    Examples
    --------
    >>> t = ibis.memtable({"c": ["a", "a", "a", "b"], "x": [0.1, 0.2, -5.0, 1.005], "ok": [True, True, False, True]})
    >>> execute(t.group_by("c").aggregate(s=money_sum(t.x, t.ok)).order_by("c"))["s"].tolist()
    [0.3, 1.0]
    """
    value = value.cast("float64")
    return (value if where is None else ibis.ifelse(where, value, 0.0)).sum().round(2)


def customer_summary_expr(
    t: ir.Table,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    *,
    where=None,
    aggregates: dict | None = None,
) -> ir.Table:
    """The expression (not run) of :func:`customer_summary` without the ``as_of`` columns, on the lines ``t``.

    It lets a caller add its own per-customer figures to the summary's grouping of the lines, so that
    the customer table is one query (the lines grouped once per customer, plus the grouping into
    orders) rather than one pass for the summary and another for the rest.

    Parameters
    ----------
    t : Ibis table
        The lines (an engine table or an in-memory table; see :func:`table`).
    customer_col, date_col, amount_col, order_col : str
        As in :func:`customer_summary`.
    where : Ibis boolean column of ``t``, optional
        The lines the summary is about (default: every line), e.g. the revenue lines; a customer is in
        the result when it has at least one of them.
    aggregates : dict of str to Ibis aggregate, optional
        More per-customer aggregates of ``t`` (over every line of the customer, whatever ``where``),
        computed in the same grouping; their names must differ from :data:`SUMMARY_COLUMNS`.

    Returns
    -------
    Ibis table
        :data:`SUMMARY_COLUMNS` then the ``aggregates``, one row per customer, not sorted. The money
        columns are :func:`money_sum` figures (rounded to the cent).

    Examples
    --------
    >>> t = ibis.memtable({"customer_id": ["a", "a", "b"], "amount": [100.0, 40.0, 50.0],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
    ...                    "status": ["completed", "cancelled", "cancelled"]})
    >>> expr = customer_summary_expr(t, where=_revenue_status(t.status), aggregates={"n_all_lines": t.count()})
    >>> execute(expr)[["customer_id", "revenue", "n_lines", "n_all_lines"]].to_dict("records")
    [{'customer_id': 'a', 'revenue': 100.0, 'n_lines': 1, 'n_all_lines': 2}]
    """
    require_columns(t, [customer_col, date_col, amount_col], table="transactions")
    aggregates = aggregates or {}
    clash = sorted(set(aggregates) & {*SUMMARY_COLUMNS, "_buyer"})
    if clash:
        raise ValueError(f"aggregates named like a column of the customer summary: {', '.join(clash)}")
    order_col = _order_columns(t, order_col)
    amount = t[amount_col]
    counted = where if where is not None else None

    def both(condition):  # a condition on the counted lines
        return condition if counted is None else counted & condition

    lines = t.group_by(customer_id=t[customer_col]).aggregate(
        first_purchase=t[date_col].min(where=counted),
        last_purchase=t[date_col].max(where=counted),
        n_lines=t.count(where=counted),
        n_purchase_days=t[date_col].cast("date").nunique(where=counted),
        revenue=money_sum(amount, counted),
        gross_sales=money_sum(amount, both(amount > 0)),
        credit_notes=money_sum(amount, both(amount < 0)),
        **aggregates,
    )
    o = orders_expr(t if counted is None else t.filter(counted), customer_col, date_col, amount_col, order_col)
    per_customer = o.group_by(_buyer=o.customer_id).aggregate(
        n_orders=o.count(), n_deliveries=_is_delivery(o.amount).cast("int64").sum())
    # (inner join: a customer without a counted line has no order, so it is left out)
    joined = lines.join(per_customer, lines.customer_id == per_customer._buyer)
    return joined.select(*SUMMARY_COLUMNS[:-1], (joined.revenue / joined.n_orders).name("avg_order_value"), *aggregates)


def customer_summary(
    transactions: pd.DataFrame,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = "order_id",
    con=None,
    as_of=None,
    *,
    where=None,
    aggregates: dict | None = None,
    columns=None,
) -> pd.DataFrame:
    """One row per customer: first and last purchase, orders, deliveries, lines, revenue.

    Every figure is over the lines given; the kit passes the revenue lines
    (:func:`revenue_lines`), so ``revenue`` is net revenue and ``n_orders`` counts the
    :func:`orders` of those lines.

    Parameters
    ----------
    transactions : DataFrame or Ibis table
        One row per transaction line.
    customer_col, date_col, amount_col : str
        Column names of the customer id, line date and net amount.
    order_col : str or None
        Order/invoice id. When absent (``None`` or not in the frame) each line is an order.
    con : ibis backend, optional
        Engine to run on; default an in-memory DuckDB.
    as_of : date-like, optional
        Analysis date; adds ``recency_days`` (days from the last purchase day),
        ``tenure_days`` (:func:`tenure_days`) and ``orders_per_year`` (:func:`orders_per_year`).
    where, aggregates : optional
        Only with an Ibis table: the lines counted and more per-customer aggregates computed in the
        same query (see :func:`customer_summary_expr`); the aggregates come back as extra columns.
    columns : sequence of str, optional
        The summary columns wanted, among :data:`SUMMARY_COLUMNS` (default: all); ``customer_id`` always
        comes back, and with ``as_of`` the first and last purchase and ``n_orders`` too (the ``as_of``
        columns are computed from them). The engine computes only what these need, so a caller that
        needs a few figures of a large table does not pay for the others.

    Returns
    -------
    DataFrame
        Columns ``customer_id, first_purchase, last_purchase, n_orders, n_lines,
        n_purchase_days, revenue, gross_sales, credit_notes, n_deliveries, avg_order_value``
        (``credit_notes`` is the sum of negative lines, as a negative number; ``n_deliveries``
        counts the :func:`deliveries`; **average order value** is ``revenue / n_orders``; money
        is summed by :func:`money_sum`, to the cent), plus the ``as_of`` columns, then the
        ``aggregates``, sorted by ``customer_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
    ...                    "amount": [100.0, -20.0, 50.0], "order_id": ["o1", "o2", "o3"]})
    >>> customer_summary(tx)[["customer_id", "n_orders", "revenue"]].to_dict("records")
    [{'customer_id': 'a', 'n_orders': 2, 'revenue': 80.0}, {'customer_id': 'b', 'n_orders': 1, 'revenue': 50.0}]
    """
    if where is not None or aggregates:
        if not is_engine_table(transactions):
            raise TypeError("customer_summary: where= and aggregates= need an Ibis table (see engine.table)")
        t = transactions  # (as it is: the condition and the aggregates are expressions of its columns)
    else:
        order_col = _order_columns(transactions, order_col)
        t = _line_table(transactions, [customer_col, date_col, amount_col], order_col)
    wanted = _summary_columns(columns, as_of is not None)
    expr = customer_summary_expr(t, customer_col, date_col, amount_col, order_col, where=where,
                                 aggregates=aggregates)
    # (a projection: the engine leaves out the aggregates nobody reads; measured 28 % less CPU for the features)
    result = execute(expr.select(*wanted, *(aggregates or ())).order_by("customer_id"), con)
    for col in {"n_orders", "n_lines", "n_purchase_days", "n_deliveries"} & set(wanted):
        result[col] = result[col].astype("int64")
    for col in {"revenue", "gross_sales", "credit_notes", "avg_order_value"} & set(wanted):
        result[col] = result[col].astype("float64")
    result["customer_id"] = result["customer_id"].astype("string")
    if as_of is not None:
        extra = result[list(aggregates or ())]
        result = result[wanted]
        as_of = pd.Timestamp(as_of).normalize()
        result["recency_days"] = tenure_days(result["last_purchase"], as_of).to_numpy()
        result["tenure_days"] = tenure_days(result["first_purchase"], as_of).to_numpy()
        result["orders_per_year"] = orders_per_year(result["n_orders"], result["tenure_days"])
        result = pd.concat([result, extra], axis=1)
    return result.reset_index(drop=True)


def _summary_columns(columns, as_of: bool) -> list[str]:
    """The :data:`SUMMARY_COLUMNS` of :func:`customer_summary`'s ``columns`` (all by default), in their
    order, with what the ``as_of`` columns need."""
    if columns is None:
        return list(SUMMARY_COLUMNS)
    columns = [columns] if isinstance(columns, str) else list(columns)
    wanted = {"customer_id", *(require_choice(col, "columns", SUMMARY_COLUMNS) for col in columns)}
    if as_of:
        wanted |= {"first_purchase", "last_purchase", "n_orders"}
    return [col for col in SUMMARY_COLUMNS if col in wanted]


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
    An order (:func:`orders`) counts in the period of its first line, so the periods' orders
    add up to the customers' ``n_orders``.
    """
    require_choice(freq, "freq", PERIOD_UNITS)
    order_col = _order_columns(transactions, order_col)
    t = _line_table(transactions, [customer_col, date_col, amount_col], order_col)
    unit = PERIOD_UNITS[freq]
    lines = t.group_by(period=t[date_col].truncate(unit).cast("date")).aggregate(
        revenue=t[amount_col].sum(), n_customers=t[customer_col].nunique())
    o = orders_expr(t, customer_col, date_col, amount_col, order_col)
    per_period = o.group_by(order_period=o.date.truncate(unit).cast("date")).aggregate(n_orders=o.count())
    joined = lines.left_join(per_period, lines.period == per_period.order_period)
    expr = joined.select("period", "revenue", n_orders=joined.n_orders.fill_null(0),
                         n_customers=joined.n_customers).order_by("period")
    result = execute(expr, con)
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
    t = table(transactions, [customer_col, amount_col], con)
    c = table(customers.drop_duplicates(customer_col), [customer_col, attribute], con)
    joined = t.left_join(c, t[customer_col] == c[customer_col])
    value = joined[attribute].cast("string").fill_null("(unknown)").name(attribute)
    expr = joined.group_by(value).aggregate(
        revenue=joined[amount_col].sum(),
        n_customers=joined[customer_col].nunique(),
    )
    result = execute(expr, con)
    total = result["revenue"].sum()
    result["revenue_share"] = result["revenue"] / total if total else float("nan")
    result[attribute] = result[attribute].astype("string")
    return result.sort_values(["revenue", attribute], ascending=[False, True]).reset_index(drop=True)


def period_bounds(period, name: str = "period") -> tuple[pd.Timestamp, pd.Timestamp]:
    """Validate a ``(start, end)`` pair of dates (inclusive)."""
    try:
        start, end = (pd.Timestamp(bound) for bound in period)
    except (TypeError, ValueError) as error:
        raise ValueProblem(f"{name} must be a (start, end) pair of dates, got {period!r}: {error}") from None
    if pd.isna(start) or pd.isna(end) or start > end:
        raise ValueProblem(f"{name} must be a (start, end) pair of dates with start <= end, got {period!r}")
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
    require_choice(freq, "freq", [*PERIOD_UNITS, None])
    t = table(transactions, [customer_col, date_col, amount_col], con)
    t = t.filter(t[customer_col].notnull(), t[date_col].notnull())
    if period is not None:
        start, end = period_bounds(period, "period")
        before_end = (t[date_col] < end + pd.Timedelta(days=1)) if end == end.normalize() else (t[date_col] <= end)
        t = t.filter(t[date_col] >= start, before_end)
    keys = {customer_col: t[customer_col]}
    if freq is not None:
        keys = {"period": t[date_col].truncate(PERIOD_UNITS[freq]).cast("date"), **keys}
    expr = t.group_by(**keys).aggregate(value=t[amount_col].sum()).order_by(list(keys))
    result = execute(expr, con)
    if freq is not None:
        result["period"] = pd.to_datetime(result["period"])
    _string_ids(result, customer_col)
    result["value"] = result["value"].astype("float64")
    return result.reset_index(drop=True)
