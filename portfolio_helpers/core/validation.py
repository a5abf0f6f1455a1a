"""Input checks done once, at the public functions (private helpers assume valid input).

One way to say that a column is missing, one way to suggest a close name. The error is a
:class:`~portfolio_helpers.core.errors.ColumnError`: a :class:`PortfolioError` (the CLI prints it
and exits 2) that is also a ``KeyError`` and a ``ValueError``, so callers that caught either keep
working.

One way to say that a value cannot be used: a column that does not hold dates
(:func:`require_dates`) or numbers (:func:`require_numbers`), missing values where every row
needs one (:func:`require_complete`), a parameter that is not a finite number in its range
(:func:`require_number`), a count (:func:`require_count`), a share (:func:`require_share`), a
date (:func:`require_date`) or one of its choices (:func:`require_choice`). The error is a
:class:`~portfolio_helpers.core.errors.ValueProblem`, a :class:`PortfolioError` that is also a
``ValueError``; its message names the table and the column (``transactions.date``), how many rows
and a few of the values found.

Column keywords (``customer_col="client"``...) are mapped once, at the public function, to the
kit's names by :func:`canonical_columns`; private helpers only know the kit's names.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real

import ibis
import pandas as pd

from portfolio_helpers.core.errors import ColumnError, ValueProblem

__all__ = ["require_columns", "require_frame", "is_engine_table", "suggest", "canonical_columns", "require_dates",
           "require_numbers", "require_complete", "require_number", "require_count", "require_share",
           "require_choice", "require_date", "canonical_lines", "LINE_KEYWORDS", "N_EXAMPLES"]

#: How many example values or rows an error message shows.
N_EXAMPLES = 3


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


def require_columns(frame, columns: Sequence[str], table: str = "frame", hint: str = "") -> pd.DataFrame:
    """Check that ``frame`` is a DataFrame holding every column of ``columns``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to check.
    columns : sequence of str
        The columns the caller needs.
    table : str
        The table's name in the message (``"transactions"``, ``"the P&L"``...).
    hint : str
        What to do about it, added to the message (``"merge it first"``).

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
        close = suggest(missing[0], frame.columns) if len(missing) == 1 else ""
        noun = "column" if len(missing) == 1 else "columns"
        raise ColumnError(f"the {table} table has no {', '.join(map(str, missing))} {noun}{close}; "
                          f"it has {', '.join(map(str, frame.columns)) or 'no columns'}{'; ' + hint if hint else ''}")
    return frame


# --------------------------------------------------------------------------- column keywords


def canonical_columns(frame, names: Mapping[str, str | None], table: str = "transactions",
                      required: Sequence[str] = ()):
    """``frame`` with the caller's column names (the ``*_col`` keywords) renamed to the kit's names.

    Done once, at the public function: the private code then reads ``customer_id``, ``date``,
    ``amount``... whatever the source called them. A frame whose columns already have the kit's
    names is returned as it is (no copy); a pandas frame comes back renamed, an engine table
    (Ibis) as a renaming projection (nothing is read). A column of ``frame`` that already has a
    kit name the caller maps to another column is left out (the keyword says which column is
    meant).

    Parameters
    ----------
    frame : DataFrame or Ibis table
        The table as the caller has it.
    names : mapping
        Kit name -> the caller's column name (``{"customer_id": "client", "date": "day"}``); a
        ``None`` value means the caller has no such column (a column with that kit name is then left out).
    table : str
        The table's name in the messages.
    required : sequence of str
        The kit names that must be present; the others are renamed only when present.

    Returns
    -------
    DataFrame or Ibis table
        Same form as ``frame``.

    Raises
    ------
    ColumnError
        When a required column is missing: the message names the table, the column given, the
        keyword it came from, and what the table has.

    Examples
    --------
    >>> tx = pd.DataFrame({"client": ["a"], "day": pd.to_datetime(["2025-01-01"]), "value": [10.0]})
    >>> names = {"customer_id": "client", "date": "day", "amount": "value", "order_id": "order_id"}
    >>> list(canonical_columns(tx, names, required=["customer_id", "date", "amount"]).columns)
    ['customer_id', 'date', 'amount']
    >>> canonical_columns(tx, {"customer_id": "clent"}, required=["customer_id"])
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ColumnError: the transactions table has no clent column (customer_col='clent', did you mean 'client'?); it has client, day, value
    """
    require_frame(frame, table)
    columns = list(frame.columns)
    for name in required:
        given = names.get(name, name)
        if given is None or given not in columns:
            keyword = LINE_KEYWORDS.get(name, f"{name}_col")
            detail = [f"{keyword}={given!r}"] if given != name else []
            hint = suggest(given, columns)
            if hint:
                detail.append(hint.strip(" ()"))
            raise ColumnError(f"the {table} table has no {given if given is not None else name} column"
                              f"{' (' + ', '.join(detail) + ')' if detail else ''}; "
                              f"it has {', '.join(map(str, columns)) or 'no columns'}")
    renames = {given: name for name, given in names.items() if given is not None and given != name and given in columns}
    # the kit's name on another column than the one meant (or on a column the caller says it has not)
    dropped = [name for name, given in names.items() if name in columns and given != name and name not in renames]
    if not renames and not dropped:
        return frame
    if is_engine_table(frame):
        if dropped:
            frame = frame.drop(*dropped)
        return frame.rename({name: given for given, name in renames.items()}) if renames else frame
    return frame.drop(columns=dropped).rename(columns=renames)


#: The kit's names of the transaction columns and the keyword that names each in a public function.
LINE_KEYWORDS = {"customer_id": "customer_col", "date": "date_col", "amount": "amount_col", "order_id": "order_col",
                 "status": "status_col"}


def canonical_lines(transactions, customer_col: str = "customer_id", date_col: str = "date",
                    amount_col: str = "amount", order_col: str | None = "order_id", status_col: str | None = "status",
                    required: Sequence[str] = ("customer_id", "date", "amount"), table: str = "transactions"):
    """The transaction lines with the kit's column names, from the column keywords of a public function.

    :func:`canonical_columns` with the five transaction keywords: ``customer_col, date_col,
    amount_col`` (required unless left out of ``required``), ``order_col`` and ``status_col``
    (optional: renamed when present; ``None`` means the lines have none, and a column of that
    kit name is then left out).

    Examples
    --------
    >>> tx = pd.DataFrame({"client": ["a"], "day": pd.to_datetime(["2025-01-01"]), "value": [10.0],
    ...                    "order_id": ["o1"]})
    >>> list(canonical_lines(tx, customer_col="client", date_col="day", amount_col="value", order_col=None).columns)
    ['customer_id', 'date', 'amount']
    """
    names = {"customer_id": customer_col, "date": date_col, "amount": amount_col, "order_id": order_col,
             "status": status_col}
    return canonical_columns(transactions, names, table=table, required=required)


# --------------------------------------------------------------------------- what a column holds


def _where(table: str, column) -> str:
    """``transactions.date`` for a plain table name, ``the profit column of the P&L table`` otherwise."""
    return f"{table}.{column}" if str(table).isidentifier() else f"the {column} column of the {table} table"


def _quiet():
    from portfolio_helpers.core.backend import quiet  # (backend imports this module)

    return quiet()


def _examples(frame, column) -> str:
    """A few non-missing values of ``frame[column]`` (read from the engine: a handful of rows, never the table)."""
    if is_engine_table(frame):
        col = frame[column]
        with _quiet():
            values = frame.filter(col.notnull()).select(col).limit(N_EXAMPLES).to_pandas()[column].tolist()
    else:
        values = frame[column].dropna().head(N_EXAMPLES).tolist()
    return ", ".join(repr(value) for value in values) or "no value"


def _dtype(frame, column):
    return frame.schema()[column] if is_engine_table(frame) else frame[column].dtype


def require_dates(frame, columns: Sequence[str], table: str = "frame"):
    """Check that each of ``columns`` holds dates (datetime64 in pandas, a date or timestamp on the engine).

    Returns
    -------
    DataFrame or Ibis table
        ``frame``, unchanged.

    Raises
    ------
    ColumnError
        When a column is missing.
    ValueProblem
        Naming the table and column, the type found and a few values.

    Examples
    --------
    >>> tx = pd.DataFrame({"date": ["2025-01-01", "2025-02-01"]})
    >>> require_dates(tx, ["date"], table="transactions")
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: transactions.date must hold dates (datetime64), got dtype str (e.g. '2025-01-01', '2025-02-01'); load the tables with portfolio_helpers.ingest.loaders or convert with pd.to_datetime
    """
    require_columns(frame, columns, table=table)
    for col in columns:
        dtype = _dtype(frame, col)
        if is_engine_table(frame):
            ok = dtype.is_timestamp() or dtype.is_date()
        else:
            ok = pd.api.types.is_datetime64_any_dtype(dtype)
        if not ok:
            raise ValueProblem(f"{_where(table, col)} must hold dates (datetime64), got dtype {dtype} "
                               f"(e.g. {_examples(frame, col)}); load the tables with "
                               "portfolio_helpers.ingest.loaders or convert with pd.to_datetime")
    return frame


def require_numbers(frame, columns: Sequence[str], table: str = "frame"):
    """Check that each of ``columns`` holds numbers (not text, not booleans).

    Examples
    --------
    >>> require_numbers(pd.DataFrame({"amount": ["12,50", "3"]}), ["amount"], table="transactions")
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: transactions.amount must hold numbers, got dtype str (e.g. '12,50', '3'); load the tables with portfolio_helpers.ingest.loaders or convert with pd.to_numeric
    """
    require_columns(frame, columns, table=table)
    for col in columns:
        dtype = _dtype(frame, col)
        if is_engine_table(frame):
            ok = dtype.is_numeric() and not dtype.is_boolean()
        else:
            ok = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        if not ok:
            raise ValueProblem(f"{_where(table, col)} must hold numbers, got dtype {dtype} (e.g. {_examples(frame, col)}); "
                               "load the tables with portfolio_helpers.ingest.loaders or convert with pd.to_numeric")
    return frame


def require_complete(frame, columns: Sequence[str], table: str = "frame", why: str = ""):
    """Check that no row of ``frame`` lacks a value (null or NaN) in any of ``columns``.

    On an engine table the missing values are counted by the engine (one aggregation).

    Parameters
    ----------
    why : str
        Why every row needs a value, added to the message (``"every line needs an amount"``).

    Examples
    --------
    >>> tx = pd.DataFrame({"amount": [1.0, None, 3.0, None]}, index=[10, 11, 12, 13])
    >>> require_complete(tx, ["amount"], table="transactions", why="every line needs an amount")
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: transactions.amount has 2 missing value(s) out of 4 rows (rows 11, 13); every line needs an amount
    """
    require_columns(frame, columns, table=table)
    if is_engine_table(frame):
        def missing(col):
            value = frame[col]
            flag = value.isnull() | value.isnan() if value.type().is_floating() else value.isnull()
            return flag.cast("int64").sum()
        with _quiet():
            counts = frame.aggregate(_rows=frame.count(), **{f"_{i}": missing(c) for i, c in enumerate(columns)}
                                     ).to_pandas().iloc[0]
        n_rows = int(counts["_rows"])
        found = {col: (0 if pd.isna(counts[f"_{i}"]) else int(counts[f"_{i}"]), "") for i, col in enumerate(columns)}
    else:
        n_rows = len(frame)
        found = {}
        for col in columns:
            mask = frame[col].isna()
            n = int(mask.sum())
            rows = ", ".join(map(str, frame.index[mask.to_numpy()][:N_EXAMPLES])) if n else ""
            found[col] = (n, f" (rows {rows}{', ...' if n > N_EXAMPLES else ''})" if rows else "")
    for col, (n, rows) in found.items():
        if n:
            raise ValueProblem(f"{_where(table, col)} has {n:,} missing value(s) out of {n_rows:,} rows{rows}"
                               f"{'; ' + why if why else ''}")
    return frame


# --------------------------------------------------------------------------- parameters


def require_number(value, name: str, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a float when it is a finite number (not a bool) within ``[low, high]``.

    Examples
    --------
    >>> require_number(2, "factor", low=0)
    2.0
    >>> require_number(float("nan"), "factor", low=0)
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: factor must be a finite number >= 0, got nan
    """
    if low is not None and high is not None:
        what = f"a finite number in [{low:g}, {high:g}]"
    elif low is not None:
        what = f"a finite number >= {low:g}"
    elif high is not None:
        what = f"a finite number <= {high:g}"
    else:
        what = "a finite number"
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or (low is not None and value < low) or (high is not None and value > high):
        raise ValueProblem(f"{name} must be {what}, got {value!r}")
    return float(value)


def require_count(value, name: str, minimum: int = 0) -> int:
    """``value`` as an int when it is a whole number (not a bool) at least ``minimum``.

    Examples
    --------
    >>> require_count(3, "n")
    3
    >>> require_count(0, "top_n", minimum=1)
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: top_n must be a positive integer, got 0
    """
    what = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueProblem(f"{name} must be {what}, got {value!r}")
    return int(value)


def require_share(value, name: str, allow_zero: bool = True) -> float:
    """``value`` as a float when it is a share: in [0, 1] (in (0, 1] with ``allow_zero=False``).

    Examples
    --------
    >>> require_share(0.2, "top_share", allow_zero=False)
    0.2
    >>> require_share(20, "top_share", allow_zero=False)
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: top_share must be a share in (0, 1], e.g. 0.2 for 20%; got 20
    """
    low_ok = (lambda v: v >= 0) if allow_zero else (lambda v: v > 0)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or not (low_ok(value) and value <= 1):
        raise ValueProblem(f"{name} must be a share in {'[0' if allow_zero else '(0'}, 1], e.g. 0.2 for 20%; "
                           f"got {value!r}")
    return float(value)


def require_choice(value, name: str, choices: Iterable):
    """``value`` when it is one of ``choices``; a message with the choices and a close one otherwise.

    Examples
    --------
    >>> require_choice("quartr", "freq", ["month", "quarter", "year"])
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: freq must be one of month, quarter, year, got 'quartr' (did you mean 'quarter'?)
    """
    choices = list(choices)
    try:
        known = value in choices
    except TypeError:  # (an unhashable value)
        known = False
    if not known:
        raise ValueProblem(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}"
                           f"{suggest(value, choices)}")
    return value


def require_date(value, name: str) -> pd.Timestamp:
    """``value`` as a Timestamp when it is a date (a Timestamp, a date, a ``"2025-12-31"`` string).

    Examples
    --------
    >>> require_date("2025-12-31", "as_of")
    Timestamp('2025-12-31 00:00:00')
    >>> require_date("31/31/2025", "as_of")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ValueProblem: as_of must be a date, got '31/31/2025': ...
    """
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        raise ValueProblem(f"{name} must be a date, got {value!r}: {error}") from None
    if pd.isna(stamp):
        raise ValueProblem(f"{name} must be a date, got {value!r}")
    return stamp
