"""Plain-language notes on what a report could not do, and which table or column would enable it.

Each notebook module declares what it needs as :class:`Need` rows; :func:`absence_notes` turns the
ones the portfolio lacks into sentences such as "No e-mail column in the customers table: e-mail
checks skipped (map `email` under `tables: customers: columns:` in the config to enable them)."
A column that exists with no value counts as absent (see :mod:`portfolio_helpers.core.presence`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import pandas as pd

from portfolio_helpers.core.presence import has_values, table_with_values

__all__ = ["Need", "absence_notes", "column_label"]

_LABELS = {"email": "e-mail", "customer_id": "customer id", "order_id": "order id", "lead_id": "lead id"}


class Need(NamedTuple):
    """An analysis that needs ``table`` (and, when given, one of ``columns``)."""

    table: str
    columns: tuple[str, ...]
    what: str  # what is skipped without it, e.g. "e-mail checks"


def column_label(column: str) -> str:
    """How a contract column is named in a sentence.

    >>> column_label("email"), column_label("customer_type")
    ('e-mail', 'customer type')
    """
    return _LABELS.get(column, column.replace("_", " "))


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def absence_notes(tables: Mapping[str, pd.DataFrame], needs: Iterable[Need],
                  skip_missing_tables: bool = False) -> list[str]:
    """One sentence per need the portfolio does not meet.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The portfolio's tables by contract name.
    needs : iterable of Need
        What each analysis needs; a need with several columns is met by any one of them. A
        missing table is said once, with the first need on it.
    skip_missing_tables : bool
        Say nothing about needs whose whole table is missing (when the report says it elsewhere).

    Returns
    -------
    list of str

    Examples
    --------
    >>> tables = {"customers": pd.DataFrame({"customer_id": ["C1"], "email": [None]})}
    >>> absence_notes(tables, [Need("customers", ("email",), "e-mail checks"),
    ...                        Need("leads", (), "lead scoring"),
    ...                        Need("leads", ("event",), "engagement points")])  # doctest: +NORMALIZE_WHITESPACE
    ['No e-mail column in the customers table: e-mail checks skipped (map `email` under
      `tables: customers: columns:` in the config to enable them).',
     'No leads table: lead scoring skipped (add `tables: leads:` to the config to enable it).']
    """
    notes: list[str] = []
    missing_tables: set[str] = set()
    for need in needs:
        frame = table_with_values(tables, need.table)
        if frame is None:
            if not skip_missing_tables and need.table not in missing_tables:  # said once per table
                notes.append(f"No {need.table} table: {need.what} skipped (add `tables: {need.table}:` to the "
                             f"config to enable it).")
            missing_tables.add(need.table)
            continue
        if not need.columns or any(has_values(frame, column) for column in need.columns):
            continue
        labels = [column_label(c) for c in need.columns]
        names = [f"`{c}`" for c in need.columns]
        notes.append(f"No {_or(labels)} column in the {need.table} table: {need.what} skipped (map {_or(names)} "
                     f"under `tables: {need.table}: columns:` in the config to enable them).")
    return notes
