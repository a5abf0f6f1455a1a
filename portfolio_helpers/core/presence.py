"""Is an optional table or column there? One test for the whole kit.

The data contract requires only ``transactions.customer_id``, ``date`` and ``amount``; every other
table and column is optional, and a column that exists with no value at all counts as absent.
A table is a pandas frame or an engine table (an Ibis table, e.g. a Parquet file scanned by DuckDB):
on an engine table the engine counts, nothing is read into Python.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import pandas as pd

from portfolio_helpers.core.validation import is_engine_table

__all__ = ["has_values", "present_columns", "table_with_values", "tables_of"]


def has_values(frame: pd.DataFrame | None, column: str) -> bool:
    """True when ``frame`` is given, has ``column`` and at least one value in it.

    Examples
    --------
    >>> frame = pd.DataFrame({"email": [None, None], "phone": ["+33 1", None]})
    >>> has_values(frame, "email"), has_values(frame, "phone"), has_values(frame, "name"), has_values(None, "x")
    (False, True, False, False)
    """
    if frame is None or column not in frame.columns:
        return False
    if is_engine_table(frame):
        return _engine_count(frame.filter(frame[column].notnull()).limit(1)) > 0
    return bool(frame[column].notna().any())


def _engine_count(table) -> int:
    """Rows of an engine table, counted by the engine the table is bound to."""
    with warnings.catch_warnings():  # Ibis 12 reads pandas' deprecated `future.infer_string` option
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        return int(table.count().execute())


def present_columns(frame: pd.DataFrame | None, columns: Iterable[str]) -> list[str]:
    """The names of ``columns`` that :func:`has_values` in ``frame``, in the order given.

    Examples
    --------
    >>> present_columns(pd.DataFrame({"a": [1], "b": [None], "c": [2]}), ["c", "b", "a", "z"])
    ['c', 'a']
    """
    return [column for column in columns if has_values(frame, column)]


def table_with_values(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    """The table ``name`` when it is given and has at least one row, else ``None``.

    Examples
    --------
    >>> table_with_values({"leads": pd.DataFrame({"lead_id": []})}, "leads") is None
    True
    """
    frame = tables.get(name)
    if frame is None:
        return None
    n_rows = _engine_count(frame.limit(1)) if is_engine_table(frame) else len(frame)
    return frame if n_rows else None


def tables_of(tables: Mapping[str, pd.DataFrame], *names: str) -> dict[str, pd.DataFrame | None]:
    """The tables ``names`` of a portfolio as keyword arguments, ``None`` for an absent one.

    Analysis functions take each table as a keyword (``customer_pnl(transactions, model,
    payments=..., tickets=...)``); a notebook hands them over without testing which optional
    table exists: ``customer_pnl(**tables_of(tables, "transactions", "payments", "tickets"), model=model)``.

    Examples
    --------
    >>> tables_of({"transactions": pd.DataFrame({"amount": [1.0]})}, "transactions", "payments")["payments"] is None
    True
    """
    return {name: tables.get(name) for name in names}
