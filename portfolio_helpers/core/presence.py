"""Is an optional table or column there? One test for the whole kit.

The data contract requires only ``transactions.customer_id``, ``date`` and ``amount``; every other
table and column is optional, and a column that exists with no value at all counts as absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

__all__ = ["has_values", "present_columns", "table_with_values", "tables_of"]


def has_values(frame: pd.DataFrame | None, column: str) -> bool:
    """True when ``frame`` is given, has ``column`` and at least one value in it.

    Examples
    --------
    >>> frame = pd.DataFrame({"email": [None, None], "phone": ["+33 1", None]})
    >>> has_values(frame, "email"), has_values(frame, "phone"), has_values(frame, "name"), has_values(None, "x")
    (False, True, False, False)
    """
    return frame is not None and column in frame.columns and bool(frame[column].notna().any())


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
    return frame if frame is not None and len(frame) else None


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
