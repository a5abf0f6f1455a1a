"""Input checks done once, at the public functions (private helpers assume valid input).

One way to say that a column is missing, one way to suggest a close name. The error is a
:class:`~portfolio_helpers.core.errors.ColumnError`: a :class:`PortfolioError` (the CLI prints it
and exits 2) that is also a ``KeyError`` and a ``ValueError``, so callers that caught either keep
working.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import ibis
import pandas as pd

from portfolio_helpers.core.errors import ColumnError

__all__ = ["require_columns", "require_frame", "is_engine_table", "suggest"]


def suggest(name, options: Iterable) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``options``, or ``""``.

    >>> suggest("emial", ["email", "phone"])
    " (did you mean 'email'?)"
    >>> suggest("zzz", ["email"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def require_frame(frame, table: str = "frame") -> pd.DataFrame:
    """``frame`` itself when it is a DataFrame or an engine table (Ibis); a :class:`ColumnError` naming ``table``
    otherwise."""
    if not isinstance(frame, pd.DataFrame) and not is_engine_table(frame):
        raise ColumnError(f"the {table} table must be a pandas DataFrame or an Ibis table, got {type(frame).__name__}")
    return frame


def is_engine_table(obj) -> bool:
    """Whether ``obj`` is a table of the engine (an Ibis table expression, e.g. a scanned Parquet file) rather
    than a pandas frame: such a table is aggregated where it lives and never loaded whole into Python.

    Examples
    --------
    >>> import ibis
    >>> is_engine_table(ibis.memtable({"a": [1]})), is_engine_table(pd.DataFrame({"a": [1]}))
    (True, False)
    """
    return isinstance(obj, ibis.expr.types.Table)


def require_columns(frame, columns: Sequence[str], table: str = "frame") -> pd.DataFrame:
    """Check that ``frame`` is a DataFrame holding every column of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to check.
    columns : sequence of str
        The columns the caller needs.
    table : str
        The table's name in the message (``"transactions"``, ``"the P&L"``...).

    Returns
    -------
    pandas.DataFrame
        ``frame``, unchanged.

    Raises
    ------
    ColumnError
        Naming the table, the missing columns, what the table has, and a close name if any.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"customer_id": [1], "amont": [2.0]}), ["customer_id", "amount"],
    ...                 table="transactions")
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ColumnError: the transactions table has no amount column (did you mean 'amont'?); it has customer_id, amont
    """
    require_frame(frame, table)
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        hint = suggest(missing[0], frame.columns) if len(missing) == 1 else ""
        noun = "column" if len(missing) == 1 else "columns"
        raise ColumnError(f"the {table} table has no {', '.join(map(str, missing))} {noun}{hint}; "
                          f"it has {', '.join(map(str, frame.columns)) or 'no columns'}")
    return frame
