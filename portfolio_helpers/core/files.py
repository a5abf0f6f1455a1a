"""File helpers: atomic writes, CSV exports safe to open in a spreadsheet, checksums.

Every output goes through these so an interrupted run never leaves a
half-written file where a previous good one stood: we write a temporary file
in the same directory and ``os.replace`` it, which is atomic on POSIX.

CSV exports (:func:`atomic_to_csv`) are written for people who open them in
Excel or LibreOffice, with one rule for every export (:func:`safe_for_spreadsheet`):

* **no formula cell**: a text cell (or column name) that starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return (or their full-width forms) is read
  as a formula by a spreadsheet; it gets a leading single quote, as OWASP
  recommends (``+15 decision maker`` -> ``'+15 decision maker``). A text that is
  a plain number (``-12.5``) is left alone: it is a number, not a formula.
* **no float noise**: money is written to the cent and every other float to 4
  decimals (``11592.492000000001`` -> ``11592.49``, ``0.39999999999999997`` ->
  ``0.4``); a non-money value below 0.001 keeps 4 significant digits instead,
  so that the share of one customer among thousands does not become 0. A
  column is money when a word of its name (split on ``_``) is one of
  :data:`MONEY_WORDS` (or it contains ``gross_margin``), unless a word marks a
  ratio (:data:`RATIO_WORDS`): ``revenue``, ``cost_to_serve``,
  ``median_gross_margin`` are money; ``revenue_share``, ``profit_margin``,
  ``index_profit``, ``value_score`` are not (see :func:`export_decimals`).
  Integer columns are untouched.

Internal data files (Parquet) are not affected.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "atomic_write",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_to_csv",
    "safe_for_spreadsheet",
    "neutralise_formula",
    "restore_formula",
    "export_decimals",
    "FORMULA_START",
    "MONEY_WORDS",
    "RATIO_WORDS",
    "atomic_to_parquet",
    "sha256_file",
    "json_default",
    "file_lock",
]


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then move the result onto ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding))


def json_default(value: Any) -> Any:
    """Make numpy/pandas scalars and dates JSON-serialisable."""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=json_default) + "\n")


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""First characters that make a spreadsheet evaluate a cell (ASCII and full-width forms)."""

MONEY_WORDS = frozenset({
    "revenue", "revenues", "monetary", "sales", "turnover", "amount", "amounts", "price", "prices", "cost",
    "costs", "cogs", "profit", "profits", "spend", "spending", "clv", "ltv", "value", "budget", "discount",
    "paid", "balance",
})
"""Words of a column name that mark money (written to the cent)."""

RATIO_WORDS = frozenset({
    "share", "shares", "rate", "rates", "ratio", "pct", "percent", "percentage", "percentile", "probability",
    "score", "index", "trend", "growth", "lift", "margin", "weight", "retention",
})
"""Words of a column name that mark a ratio; they win over :data:`MONEY_WORDS`
(``margin`` is a ratio except in ``gross_margin``)."""

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise_formula(value: Any) -> Any:
    """Prefix a text that a spreadsheet would evaluate with a single quote.

    Parameters
    ----------
    value : object
        A cell. Only text is changed; numbers, missing values and other objects
        are returned as they are.

    Returns
    -------
    object
        ``"'" + value`` when ``value`` is text starting with one of
        :data:`FORMULA_START` and is not a plain number; ``value`` otherwise.

    Examples
    --------
    >>> neutralise_formula("+15 decision maker"), neutralise_formula("-12.5"), neutralise_formula("=1+1")
    ("'+15 decision maker", '-12.5', "'=1+1")
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def restore_formula(value: Any) -> Any:
    """Undo :func:`neutralise_formula` on a cell read back from an export.

    Examples
    --------
    >>> restore_formula("'+15 decision maker"), restore_formula("'quoted"), restore_formula("'-12.5")
    ('+15 decision maker', "'quoted", "'-12.5")
    """
    if isinstance(value, str) and value.startswith("'") and neutralise_formula(value[1:]) == value:
        return value[1:]
    return value


def export_decimals(column: Any) -> int:
    """Decimals a float column keeps in a CSV export: 2 for money, 4 otherwise.

    Examples
    --------
    >>> [export_decimals(c) for c in ("revenue", "median_gross_margin", "profit_margin", "revenue_share",
    ...                               "net_revenue_retention")]
    [2, 2, 4, 4, 4]
    """
    name = str(column).lower()
    words = set(re.split(r"[^a-z0-9]+", name))
    if words & (RATIO_WORDS - {"margin"}):
        return 4
    if "gross_margin" in name or "gross margin" in name:
        return 2
    if "margin" in words:
        return 4
    return 2 if words & MONEY_WORDS else 4


def _round_floats(values: pd.Series, decimals: int) -> pd.Series:
    """Round to ``decimals``; non-money values below 0.001 keep 4 significant digits; no ``-0.0``."""
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rounded = np.round(numbers, decimals)
        if decimals > 2:
            magnitude = np.abs(numbers)
            small = np.isfinite(numbers) & (magnitude > 0) & (magnitude < 1e-3)
            if small.any():
                digits = 3 - np.floor(np.log10(magnitude[small]))
                scale = 10.0 ** digits
                rounded[small] = np.round(numbers[small] * scale) / scale
    rounded = rounded + 0.0  # -0.0 -> 0.0
    return pd.Series(rounded, index=values.index, name=values.name).astype(values.dtype)


def _is_text(values: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
            or isinstance(values.dtype, pd.CategoricalDtype))


def safe_for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` as CSV exports write it: no formula cell, no float noise.

    Text cells, column names and index values starting like a formula get a
    leading ``'`` (:func:`neutralise_formula`); float columns are rounded to the
    cent (money) or to 4 decimals (:func:`export_decimals`, rule in the module
    docstring). Integer, boolean and date columns are unchanged.

    Parameters
    ----------
    frame : DataFrame
        Table to export; left unchanged.

    Returns
    -------
    DataFrame
    """
    safe = frame.copy()
    for position, column in enumerate(frame.columns):
        values = frame.iloc[:, position]
        if pd.api.types.is_float_dtype(values):
            safe.isetitem(position, _round_floats(values, export_decimals(column)))
        elif _is_text(values):
            if isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype(object)
            if pd.api.types.is_object_dtype(values):  # (any objects: each cell looked at)
                neutralised = values.map(neutralise_formula, na_action="ignore")
            else:  # text only: the engine finds the cells starting like a formula, only those are looked at
                starts = values.str.startswith(FORMULA_START).fillna(False).to_numpy(dtype=bool)
                if not starts.any():
                    continue
                neutralised = values.copy()
                neutralised[starts] = values[starts].map(neutralise_formula)
            safe.isetitem(position, neutralised.astype(values.dtype))
    safe = safe.rename(columns=neutralise_formula)
    if not pd.api.types.is_numeric_dtype(safe.index):
        safe = safe.rename(index=neutralise_formula)
    safe.columns.names = [neutralise_formula(name) for name in safe.columns.names]
    safe.index.names = [neutralise_formula(name) for name in safe.index.names]
    return safe


def atomic_to_csv(frame: pd.DataFrame, path: str | os.PathLike, *, spreadsheet_safe: bool = True,
                  **kwargs: Any) -> Path:
    """Write ``frame`` to a CSV file atomically; every CSV export of the kit goes through here.

    Parameters
    ----------
    frame : DataFrame
        Table to write (not modified).
    path : str or path-like
        File to write.
    spreadsheet_safe : bool, default True
        Apply :func:`safe_for_spreadsheet` (no formula cell, money to the cent,
        other floats to 4 decimals). ``False`` writes the values exactly, for
        files that are data rather than reports (the generated sample's input
        files, which imitate a CRM's raw exports).
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_csv`; ``index`` defaults to False.

    Returns
    -------
    Path
        ``path``.
    """
    kwargs.setdefault("index", False)
    if not spreadsheet_safe:
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, **kwargs))
    rows = _csv_chunk_rows(frame, kwargs.get("columns"))
    if len(frame) <= rows:
        safe = safe_for_spreadsheet(frame)
        return atomic_write(path, lambda tmp: safe.to_csv(tmp, **kwargs))
    header = kwargs.pop("header", True)

    def write(tmp: Path) -> None:  # the safe copy is made a chunk at a time, never of the whole table
        with open(tmp, "w", encoding=kwargs.pop("encoding", "utf-8"), newline="") as handle:
            for start in range(0, len(frame), rows):
                chunk = safe_for_spreadsheet(frame.iloc[start:start + rows])
                chunk.to_csv(handle, header=header if start == 0 else False, **kwargs)

    return atomic_write(path, write)


#: Rows of a big table :func:`atomic_to_csv` makes safe and writes at a time (about this many).
CSV_CHUNK_ROWS = 200_000
#: The cells pandas formats at a time when it writes a CSV (``pandas.io.formats.csvs``).
_PANDAS_CSV_CELLS = 100_000


def _csv_chunk_rows(frame: pd.DataFrame, columns=None) -> int:
    """A multiple of the rows pandas formats at a time when writing a CSV (100,000 cells), so that writing a
    table in chunks of this many rows gives the file writing it whole gives, byte for byte."""
    pandas_rows = max(_PANDAS_CSV_CELLS // (len(frame.columns if columns is None else list(columns)) or 1), 1)
    return max(CSV_CHUNK_ROWS // pandas_rows, 1) * pandas_rows


def atomic_to_parquet(frame: pd.DataFrame, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write ``frame`` as typed Parquet, atomically. Timestamps are stored in microseconds, the unit
    every engine reads (Spark refuses nanoseconds); no date in a portfolio needs more."""
    kwargs.setdefault("index", False)
    kwargs.setdefault("coerce_timestamps", "us")
    kwargs.setdefault("allow_truncated_timestamps", True)
    return atomic_write(path, lambda tmp: frame.to_parquet(tmp, **kwargs))


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold an exclusive lock on ``path`` (created if needed) for the block, across processes.

    For read-modify-write updates of a file several processes share (the notebooks of a
    run running at the same time): the second one waits for the first to finish. Uses
    ``fcntl.flock`` on POSIX and ``msvcrt.locking`` on Windows; the lock is released when
    the block ends, even on an error.

    Examples
    --------
    >>> import tempfile
    >>> lock = Path(tempfile.mkdtemp()) / "shared.lock"
    >>> with file_lock(lock) as held:
    ...     held == lock
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield path
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield path
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
