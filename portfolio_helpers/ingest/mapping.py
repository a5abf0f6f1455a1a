"""Mapping a source's columns onto the contract, and how a row-level problem is recorded.

Shared by the text loader (:mod:`portfolio_helpers.ingest.loaders`, frames in pandas) and the
engine loader (:mod:`portfolio_helpers.ingest.typed`, typed tables read by the engine), so that
a column is found, and a problem worded, the same way whatever the source.
"""

from __future__ import annotations

import re
from pathlib import Path

from portfolio_helpers.core.config import TableSource
from portfolio_helpers.core.contract import Table, normalize_label
from portfolio_helpers.core.errors import InputError

__all__ = ["REJECTED_COLUMNS", "ROW_REJECTED", "VALUE_CLEARED", "ROWS_COUNTED", "REASONS", "map_columns",
           "derivations", "snake"]

REJECTED_COLUMNS = ["table", "file", "line", "column", "source_column", "value", "reason", "action"]
ROW_REJECTED = "row rejected"
VALUE_CLEARED = "value cleared, row kept"
#: The action of the one row stating how many rows of a table the engine rejected in all (its ``value``),
#: when only a sample of its problems is listed (typed tables validated by the engine).
ROWS_COUNTED = "rows rejected in all"

REASONS = {
    "id": "not a valid identifier",
    "date": "not a valid date",
    "number": "not a number",
    "integer": "not a whole number",
    "category": "unknown value (expected one of: {values})",
    "text": "unreadable text",
    "boolean": "not a yes/no value (yes/no, true/false, 1/0, oui/non)",
}


def snake(name: str) -> str:
    """A source column's name as a canonical-looking one: ``"Code Région"`` -> ``"code_region"``.

    >>> snake("Code Région")
    'code_region'
    """
    return re.sub(r"\W+", "_", normalize_label(name)).strip("_") or "column"


def derivations(table: Table, mapping: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Derived columns to compute (not mapped, every input mapped) -> their inputs."""
    return {name: inputs for name, inputs in table.derived.items()
            if name not in mapping and all(col in mapping for col in inputs)}


def map_columns(available: list[str], where: str | Path, source: TableSource, table: Table) -> dict[str, str]:
    """Canonical column -> column of the source. Unmapped canonical names match case/accent-insensitively.

    Parameters
    ----------
    available : list of str
        The source's columns.
    where : str or Path
        How messages name the source (its file, or ``engine table sales.order_lines``).
    source, table
        The config's source and the contract's table.

    Raises
    ------
    InputError
        A mapped column absent from the source, or a required column neither mapped nor found.

    Examples
    --------
    >>> from portfolio_helpers.core.contract import TABLES
    >>> source = TableSource("transactions", None, columns={"customer_id": "Client"})
    >>> map_columns(["Client", "DATE", "Amount"], "x.parquet", source, TABLES["transactions"])
    {'customer_id': 'Client', 'date': 'DATE', 'amount': 'Amount'}
    """
    by_label = {normalize_label(col): col for col in available}
    mapping: dict[str, str] = {}
    for canonical, wanted in source.columns.items():
        if wanted in available:
            mapping[canonical] = wanted
        elif normalize_label(wanted) in by_label:
            mapping[canonical] = by_label[normalize_label(wanted)]
        else:
            raise InputError(
                f"{where}: column '{wanted}' (mapped to {table.name}.{canonical}) is not in the file. "
                f"Columns in the file: {', '.join(repr(c) for c in available)}"
            )
    for column in table.column_names:
        if column not in mapping and normalize_label(column) in by_label:
            candidate = by_label[normalize_label(column)]
            if candidate not in mapping.values():
                mapping[column] = candidate
    derivable = derivations(table, mapping)
    missing = [col for col in table.required if col not in mapping and col not in derivable]
    if missing:
        alternatives = "".join(
            f" ({col} may instead be computed from {' and '.join(table.derived[col])}: map those)"
            for col in missing if col in table.derived)
        raise InputError(
            f"{where}: required column(s) {', '.join(missing)} of the {table.name} table not found. "
            f"Columns in the file: {', '.join(repr(c) for c in available)}. "
            f"Map them in the config, e.g. `columns: {{{missing[0]}: \"Your column name\"}}`.{alternatives}"
        )
    return mapping
