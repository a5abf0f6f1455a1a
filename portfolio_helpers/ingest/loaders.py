"""Load a portfolio: read each export, map it onto the contract, type it, keep every rejected row.

The boundary of the kit. Everything that comes out of :func:`load_portfolio`
has canonical column names and proper dtypes; everything that could not be
read is either an error with a clear message (file-level problems) or a row in
:attr:`Portfolio.rejected` (row-level problems), never silently dropped.

Raw input files are only ever opened for reading.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio_helpers.core.backend import EngineSettings, connect
from portfolio_helpers.core.config import PortfolioConfig, TableSource, load_config
from portfolio_helpers.core.contract import TABLES, Table
from portfolio_helpers.core.errors import InputError, RowProblemsError
from portfolio_helpers.core.files import atomic_to_csv, atomic_to_parquet, atomic_write_json, sha256_file
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.ingest.mapping import (
    REASONS as _REASONS,
)
from portfolio_helpers.ingest.mapping import (
    REJECTED_COLUMNS,
    ROW_REJECTED,
    ROWS_COUNTED,
    VALUE_CLEARED,
    derivations,
    map_columns,
    snake,
)
from portfolio_helpers.ingest.parsing import (
    Parsed,
    missing_mask,
    parse_boolean,
    parse_category,
    parse_date,
    parse_id,
    parse_number,
    parse_text,
)
from portfolio_helpers.ingest.typed import (
    REJECTED_SAMPLE,
    engine_attributes_from_lines,
    load_engine_transactions,
    quiet,
    scan,
    scan_saved,
    source_fingerprint,
    write_engine_parquet,
)

__all__ = [
    "Portfolio",
    "load_portfolio",
    "load_table",
    "read_raw",
    "save_portfolio",
    "read_saved_tables",
    "REJECTED_COLUMNS",
    "ID_REWRITE_COLUMNS",
    "attributes_from_lines",
    "count_rejected_rows",
    "flag_known_customers",
    "save_table",
    "engine_tables_for",
]

#: Ids rewritten while loading ("17450.0" -> "17450"), one row per value, rows kept in the analysis only.
ID_REWRITE_COLUMNS = ["table", "column", "source_line", "old_value", "new_value"]
EMPTY_COLUMN_COLUMNS = ["table", "column", "source_column"]
LINE_ATTRIBUTE_COLUMNS = ["attribute", "source_column", "customers_with_value_on_lines", "customers_filled_from_lines",
                          "customers_kept_from_table"]
_CSV_SUFFIXES = {".csv", ".tsv", ".txt", ".dat"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
_SEPARATORS = (";", ",", "\t", "|")


def count_rejected_rows(rejected: pd.DataFrame) -> int:
    """Rows left out of the analysis: distinct (table, line) set aside; cells that were only cleared do not count.

    A table validated by the engine lists only a sample of its problems, and one row (action
    :data:`ROWS_COUNTED`) whose ``value`` is the number of its rows rejected in all: that number
    counts for the table instead of its listed lines.

    Examples
    --------
    >>> log = pd.DataFrame({"table": ["transactions"] * 3, "line": [2, 2, 5],
    ...                     "value": ["x", "y", "z"], "action": [ROW_REJECTED, ROW_REJECTED, "value cleared"]})
    >>> count_rejected_rows(log)
    1
    >>> counted = pd.DataFrame({"table": ["customers", "transactions"], "line": [3, None],
    ...                         "value": ["C9", "25000"], "action": [ROW_REJECTED, ROWS_COUNTED]})
    >>> count_rejected_rows(pd.concat([log, counted]))
    25001
    """
    counted = rejected[rejected["action"] == ROWS_COUNTED]
    rows = rejected[(rejected["action"] == ROW_REJECTED) & ~rejected["table"].isin(counted["table"])]
    return int(rows[["table", "line"]].drop_duplicates().shape[0]) + int(counted["value"].astype("int64").sum())


@dataclass
class RawTable:
    """A file as read, before mapping: string cells (or Excel/Parquet native values)."""

    frame: pd.DataFrame
    lines: np.ndarray  # line (text/Excel) or row (Parquet) number of each record, 1-based
    path: Path
    detected: dict = field(default_factory=dict)


def _frame_of(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype="string") for col in columns})


@dataclass
class Portfolio:
    """A loaded, typed portfolio."""

    config: PortfolioConfig
    tables: dict[str, pd.DataFrame]
    rejected: pd.DataFrame
    as_of: pd.Timestamp
    inputs: list[dict]
    detected: dict[str, dict]
    #: optional columns dropped because entirely empty (columns :data:`EMPTY_COLUMN_COLUMNS`)
    empty_columns: pd.DataFrame = field(default_factory=lambda: _frame_of(EMPTY_COLUMN_COLUMNS))
    #: problems with the config that do not stop the load (a file column mapped twice, ...)
    warnings: list[str] = field(default_factory=list)
    #: customer attributes taken from the transaction lines (columns :data:`LINE_ATTRIBUTE_COLUMNS`)
    line_attributes: pd.DataFrame = field(default_factory=lambda: _frame_of(LINE_ATTRIBUTE_COLUMNS))
    #: ids written as floats and rewritten (columns :data:`ID_REWRITE_COLUMNS`)
    id_rewrites: pd.DataFrame = field(default_factory=lambda: _empty_rewrites())

    @property
    def n_rejected_rows(self) -> int:
        """Rows left out of the analysis (:func:`count_rejected_rows`)."""
        return count_rejected_rows(self.rejected)

    @property
    def transactions(self) -> pd.DataFrame:
        return self.tables["transactions"]


# --------------------------------------------------------------------------- reading files


_MAGIC = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image", b"%PDF": "a PDF document",
    b"PK\x03\x04": "a zip archive, such as an Excel workbook", b"\xd0\xcf\x11\xe0": "an old Office file (.xls)",
    b"PAR1": "a Parquet file", b"\x1f\x8b": "a gzip archive",
}


def _binary_kind(raw: bytes) -> str | None:
    """What a file is when it is not text (``"a PNG image"``, ...), or None for text.

    Text in any 8-bit encoding or in UTF-8 has no NUL byte; UTF-16 text (which has) starts with its BOM.
    """
    for magic, kind in _MAGIC.items():
        if raw.startswith(magic):
            return kind
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if b"\x00" in raw[:65536]:
        return "binary content, or UTF-16 text without a byte-order mark: save it as UTF-8"
    return None


def _detect_encoding(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"  # decodes any byte sequence


def _decode(raw: bytes, path: Path, encoding: str | None) -> tuple[str, str]:
    chosen = encoding or _detect_encoding(raw)
    if codecs.lookup(chosen).name == "utf-8" and raw.startswith(codecs.BOM_UTF8):
        chosen = "utf-8-sig"
    try:
        return raw.decode(chosen), chosen
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        snippet = raw[max(0, exc.start - 20): exc.end + 20].decode(chosen, errors="replace")
        guess = _detect_encoding(raw)
        raise InputError(
            f"{path}: cannot be read as {chosen}: byte {raw[exc.start:exc.start + 1]!r} at line {line} "
            f"(near {snippet!r}). The file looks like {guess}: set `read: {{encoding: {guess}}}` "
            f"for this table, or remove the encoding option to autodetect it."
        ) from None


def _detect_separator(text: str) -> str:
    sample_lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not sample_lines:
        return ","
    best, best_score = None, (0, 0)
    for sep in _SEPARATORS:
        counts = [len(row) for row in csv.reader(sample_lines, delimiter=sep)]
        header = counts[0]
        if header < 2:
            continue
        consistency = sum(count == header for count in counts)
        score = (consistency, header)
        if score > best_score:
            best, best_score = sep, score
    if best is not None:
        return best
    # Fixed-width-ish exports such as the CDNOW log: columns separated by runs of spaces.
    if all(len(line.split()) == len(sample_lines[0].split()) > 1 for line in sample_lines):
        return r"\s+"
    return ","


def _record_lines(text: str, sep: str, skip: int) -> np.ndarray | None:
    """Physical line of each record, when quoted fields span lines (rare, so a plain pass is fine)."""
    if len(sep) != 1 or '"' not in text:  # regex separators (r"\s+", "||") do not quote
        return None
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    starts = []
    position = reader.line_num
    for row in reader:
        if reader.line_num > skip + 1 and any(cell.strip() for cell in row):
            starts.append(position + 1)
        position = reader.line_num
    return np.asarray(starts, dtype="int64")


def _read_text_table(path: Path, raw: bytes, read: dict) -> RawTable:
    text, encoding = _decode(raw, path, read.get("encoding"))
    text = text.lstrip("\ufeff")
    skip = int(read.get("skiprows", 0))
    all_lines = text.splitlines()
    while skip < len(all_lines) and not all_lines[skip].strip():
        skip += 1  # blank lines above the header: the header is the first line with content
    body = "\n".join(all_lines[skip:])
    if not body.strip():
        raise InputError(f"{path}: the file is empty (no header, no rows)")
    sep = read.get("sep") or _detect_separator(body)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[],
            skip_blank_lines=False, skiprows=skip, engine="python" if len(sep) > 1 else "c",
            quotechar='"', skipinitialspace=False,
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty (no header, no rows)") from None
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f" at line {match.group(1)}" if match else ""
        raise InputError(
            f"{path}: the rows do not have a consistent number of fields{where} with separator {sep!r} "
            f"({exc}). Check the `read: {{sep: ...}}` option or quoting in the export."
        ) from None
    frame.columns = [str(col).strip() for col in frame.columns]
    # Physical line numbers: header is line skip+1, then one record per line unless quotes span lines.
    lines = np.arange(len(frame), dtype="int64") + skip + 2
    blank = frame.apply(lambda col: col.str.strip().eq("") | col.isna()).all(axis=1).to_numpy()
    frame, lines = frame.loc[~blank].reset_index(drop=True), lines[~blank]
    exact = _record_lines(text, sep, skip)
    if exact is not None and len(exact) == len(frame):
        lines = exact
    detected = {"format": "csv", "encoding": encoding,
                "sep": {"\t": "tab", r"\s+": "spaces"}.get(sep, sep)}
    return RawTable(frame, lines, path, detected)


def read_raw(source: TableSource, engine: EngineSettings | None = None) -> RawTable:
    """Read a file (CSV/TSV/TXT, Excel or Parquet) without interpreting any value.

    A folder or glob of Parquet files is read whole (in file order); a table of the engine's catalog
    (``table:``) is read from ``engine`` (default: the in-memory DuckDB). Only small tables come this way:
    typed transactions stay in the engine (:func:`~portfolio_helpers.ingest.typed.load_engine_transactions`).
    """
    if source.table is not None:
        frame = scan(source, connect(engine or EngineSettings())).to_pandas()
        frame.columns = [str(col).strip() for col in frame.columns]
        return RawTable(frame, np.arange(len(frame), dtype="int64") + 1, Path(source.label),
                        {"format": "engine table"})
    if len(source.files) > 1 or (source.files and source.path.is_dir()):
        try:
            frame = pd.concat([pd.read_parquet(path) for path in source.files], ignore_index=True)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(f"{source.path}: cannot read the Parquet files: {exc}") from None
        frame.columns = [str(col).strip() for col in frame.columns]
        return RawTable(frame, np.arange(len(frame), dtype="int64") + 1, source.path,
                        {"format": "parquet", "files": len(source.files)})
    path = source.path
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes)")
    if suffix in _EXCEL_SUFFIXES:
        try:
            frame = pd.read_excel(path, sheet_name=source.read.get("sheet", 0), dtype=object,
                                  skiprows=source.read.get("skiprows", 0))
        except Exception as exc:  # unknown sheet; a corrupt workbook raises BadZipFile, KeyError, ...
            raise InputError(f"{path}: cannot read the Excel file: {type(exc).__name__}: {exc}") from None
        frame.columns = [str(col).strip() for col in frame.columns]
        lines = np.arange(len(frame), dtype="int64") + int(source.read.get("skiprows", 0)) + 2
        blank = frame.isna().all(axis=1).to_numpy()
        return RawTable(frame.loc[~blank].reset_index(drop=True), lines[~blank], path, {"format": "excel"})
    if suffix == ".xls":
        raise InputError(f"{path}: old .xls workbooks are not supported; save it as .xlsx or CSV")
    if suffix in _PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for corrupt files
            raise InputError(f"{path}: cannot read the Parquet file: {exc}") from None
        frame.columns = [str(col).strip() for col in frame.columns]
        return RawTable(frame, np.arange(len(frame), dtype="int64") + 1, path, {"format": "parquet"})
    if suffix not in _CSV_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type '{suffix}' (use .csv, .tsv, .txt, .xlsx or .parquet)"
        )
    raw = path.read_bytes()
    kind = _binary_kind(raw)
    if kind is not None:
        raise InputError(f"{path}: not a text file ({kind}); export the table as CSV, Excel (.xlsx) or Parquet "
                         f"and point `path:` at that file")
    return _read_text_table(path, raw, source.read)


# --------------------------------------------------------------------------- mapping and typing


def _parse_column(values: pd.Series, kind: str, column, read: dict, decimal_hint: str | None) -> Parsed:
    if kind == "id":
        return parse_id(values)
    if kind == "date":
        return parse_date(values, dayfirst=read.get("dayfirst"))
    if kind in ("number", "integer"):
        parsed = parse_number(values, decimal=read.get("decimal"), thousands=read.get("thousands"),
                              decimal_hint=decimal_hint)
        if kind == "integer":
            fractional = parsed.values.notna() & (parsed.values % 1 != 0)
            parsed.values = parsed.values.where(~fractional).round().astype("Int64")
            parsed.bad = parsed.bad | fractional
        return parsed
    if kind == "category":
        return parse_category(values, column.values)
    if kind == "boolean":
        return parse_boolean(values)
    return parse_text(values)


def _problem_rows(mask: pd.Series, raw_values: pd.Series, lines: np.ndarray, table: str, file: Path,
                  column: str, source_column: str, reason: str, action: str) -> pd.DataFrame:
    positions = np.flatnonzero(mask.to_numpy())
    return pd.DataFrame({
        "table": table,
        "file": str(file),
        "line": lines[positions],
        "column": column,
        "source_column": source_column,
        "value": raw_values.iloc[positions].astype("string").to_numpy(),
        "reason": reason,
        "action": action,
    })


@dataclass
class _Typed:
    """One table as typed by :func:`_type_table`, with what the loader noticed on the way."""

    frame: pd.DataFrame
    problems: pd.DataFrame
    detected: dict
    id_rewrites: pd.DataFrame  # ID_REWRITE_COLUMNS
    empty_columns: dict[str, str]  # canonical -> source column, dropped because entirely empty
    warnings: list[str]


def _shared_sources(mapping: dict[str, str], table: Table, path: Path) -> list[str]:
    """One warning per file column mapped onto two or more canonical columns."""
    by_source: dict[str, list[str]] = {}
    for canonical, source_column in mapping.items():
        by_source.setdefault(source_column, []).append(canonical)
    return [
        f"Column '{source_column}' of {path.name} is mapped to {' and '.join(f'{table.name}.{c}' for c in canonicals)}: "
        f"they hold the same values"
        + (" (the gross margin is 0 everywhere)" if {"amount", "cost"} <= set(canonicals) else "")
        + ". Check the `columns:` section of the config."
        for source_column, canonicals in by_source.items() if len(canonicals) > 1
    ]


def _type_table(raw: RawTable, source: TableSource, table: Table) -> _Typed:
    mapping = map_columns(list(raw.frame.columns), raw.path, source, table)
    frame, read = raw.frame, source.read
    decimal_hint = read.get("decimal") or ("," if raw.detected.get("sep") == ";" else None)
    typed: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []
    rewrites: list[pd.DataFrame] = []
    empty: dict[str, str] = {}
    reject = pd.Series(False, index=frame.index)
    detected: dict = {"columns": mapping}
    derived = derivations(table, mapping)
    # Inputs of a derived column are needed on every row; a discount, when given, must be readable.
    needed = {col: name for name, inputs in derived.items() for col in inputs}
    if derived and "discount" in mapping:
        needed_if_given = {"discount": next(iter(derived))}
    else:
        needed_if_given = {}

    # Customer attributes mapped on the lines are typed like the column of their own table.
    attributes = [TABLES[table.attributes_of].column(name) for name in table.attribute_columns if name in mapping]
    declared = {c.name: c for c in (*table.columns, *attributes)}
    extra_targets = {}
    for canonical in source.columns:
        if canonical not in declared:  # open-ended fit attributes of leads
            extra_targets[canonical] = mapping[canonical]
    for col in frame.columns:
        if col not in mapping.values():
            name = snake(col)
            if name not in declared and name not in extra_targets:
                extra_targets[name] = col

    for column in declared.values():
        if column.name not in mapping:
            continue
        source_column = mapping[column.name]
        raw_values = frame[source_column]
        present = ~missing_mask(raw_values)
        required = column.required or column.name in needed
        if not required and not present.any():  # an optional column left empty counts as absent
            empty[column.name] = source_column
            continue
        parsed = _parse_column(raw_values, column.kind, column, read, decimal_hint)
        typed[column.name] = parsed.values
        if parsed.detected:
            detected[column.name] = parsed.detected
        if parsed.rewritten is not None and parsed.rewritten.any():
            rewritten = parsed.rewritten.to_numpy()
            rewrites.append(pd.DataFrame({
                "table": table.name, "column": column.name, "source_line": raw.lines[rewritten],
                "old_value": raw_values[rewritten].astype("string").to_numpy(),
                "new_value": parsed.values[rewritten].to_numpy(),
            }))
        if required:
            what = "" if column.required else f" (needed to compute {needed[column.name]})"
            if len(frame) and not (present & ~parsed.bad).any():
                examples = ", ".join(repr(v) for v in raw_values[present].astype(str).unique()[:5])
                hint = " Check the decimal/dayfirst read options or the column mapping." if present.any() else ""
                raise InputError(
                    f"{raw.path}: column '{source_column}' ({table.name}.{column.name}{what}) has no readable "
                    f"{column.kind} value in any of its {len(frame)} rows"
                    + (f"; examples: {examples}." if examples else " (all empty).") + hint
                )
            if (~present).any():
                reason = "missing required value" if column.required else f"missing value{what}"
                problems.append(_problem_rows(~present, raw_values, raw.lines, table.name, raw.path,
                                              column.name, source_column, reason, ROW_REJECTED))
            action = ROW_REJECTED
            reject |= ~present | parsed.bad
        elif column.name in needed_if_given:
            action = ROW_REJECTED
            reject |= parsed.bad
        else:
            action = VALUE_CLEARED
        if parsed.bad.any():
            reason = _REASONS[column.kind].format(values=", ".join(column.values))
            if column.name in needed or column.name in needed_if_given:
                reason += f" (needed to compute {needed.get(column.name) or needed_if_given[column.name]})"
            problems.append(_problem_rows(parsed.bad, raw_values, raw.lines, table.name, raw.path,
                                          column.name, source_column, reason, action))

    if "amount" in derived:
        discount = typed["discount"].fillna(0.0) if "discount" in typed else 0.0
        typed["amount"] = typed["quantity"] * typed["unit_price"] - discount
        detected["amount"] = {"derived": "quantity × unit_price" + (" − discount" if "discount" in typed else "")}

    for name, col in extra_targets.items():
        values = parse_text(frame[col]).values
        if name in source.columns and values.isna().all():  # a mapped extra attribute left empty
            empty[name] = col
            continue
        typed[name] = values

    order = [name for name in (*table.column_names, *declared) if name in typed]
    typed = {name: typed[name] for name in dict.fromkeys(order)} | typed
    out = pd.DataFrame(typed, index=frame.index)
    out["source_line"] = raw.lines
    out = out.loc[~reject.to_numpy()].reset_index(drop=True)
    problem_frame = pd.concat(problems, ignore_index=True) if problems else _empty_rejected()
    # An optional value on a row that is rejected anyway is not "cleared, row kept".
    rejected_lines = raw.lines[reject.to_numpy()]
    problem_frame.loc[problem_frame["line"].isin(rejected_lines), "action"] = ROW_REJECTED
    rewrite_frame = pd.concat(rewrites, ignore_index=True) if rewrites else _empty_rewrites()
    if empty:
        detected["empty_columns"] = empty
    return _Typed(out, problem_frame, detected, rewrite_frame, empty, _shared_sources(mapping, table, raw.path))


def _empty_rewrites() -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype="int64" if col == "source_line" else "string")
                         for col in ID_REWRITE_COLUMNS})


def _empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype="int64" if col == "line" else "string") for col in REJECTED_COLUMNS})


def load_table(source: TableSource, engine: EngineSettings | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict, int]:
    """Read, map and type one table into pandas (``engine``: where a ``table:`` source is read).

    Returns
    -------
    typed : DataFrame
        Canonical columns (plus any extra columns of the file, as text, and ``source_line``).
    rejected : DataFrame
        One row per problem cell, columns :data:`REJECTED_COLUMNS`.
    detected : dict
        How the file was read (format, encoding, separator, decimal, date order, mapping).
    n_rows : int
        Data rows in the file.
    """
    typed, n_rows = _load_table(source, engine)
    return typed.frame, typed.problems, typed.detected, n_rows


def _load_table(source: TableSource, engine: EngineSettings | None = None) -> tuple[_Typed, int]:
    raw = read_raw(source, engine)
    if raw.frame.empty:
        raise InputError(f"{source.label}: the file has a header but no data rows "
                         f"(columns: {', '.join(map(repr, raw.frame.columns))})")
    typed = _type_table(raw, source, TABLES[source.name])
    typed.detected = {**raw.detected, **typed.detected}
    return typed, len(raw.frame)


# --------------------------------------------------------------------------- the whole portfolio


def _date_window(transactions: pd.DataFrame, as_of: pd.Timestamp | None, today: pd.Timestamp, file: Path,
                 date_column: str = "date"):
    """Split off transactions dated after the analysis date; return (kept, problems, as_of)."""
    dates = transactions["date"]
    if as_of is None:
        # Default: the last transaction date that is not in the future. A stray "2031" typo
        # must not move the analysis date years ahead.
        plausible = dates[dates.dt.normalize() <= today]
        if plausible.empty:
            raise InputError(f"{file}: every transaction is dated after today ({today.date()}); "
                             f"set `as_of:` in the config")
        as_of = plausible.max().normalize()
        reason = f"date in the future (after today, {today.date()})"
    else:
        reason = f"dated after the analysis date as_of={as_of.date()}"
    late = (dates.dt.normalize() > as_of).to_numpy()
    problems = pd.DataFrame({
        "table": "transactions", "file": str(file), "line": transactions.loc[late, "source_line"].to_numpy(),
        "column": "date", "source_column": date_column, "value": dates[late].dt.strftime("%Y-%m-%d").to_numpy(),
        "reason": reason, "action": ROW_REJECTED,
    })
    return transactions.loc[~late].reset_index(drop=True), problems, as_of


def attributes_from_lines(transactions: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Each customer's most frequent value of attributes repeated on their lines.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Lines with ``customer_id``, ``date``, ``source_line`` and the attribute ``columns``.
    columns : list of str
        Customer attributes mapped on the lines (``country``, ``industry``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per customer id of the lines (sorted), ``customer_id`` and one column per
        attribute: the value found on most of the customer's lines, missing values ignored;
        on a tie, the value of the latest line among the tied values (latest date, then
        latest line of the file). Missing when none of the customer's lines has a value.

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({"customer_id": ["A", "A", "A", "B", "B"],
    ...                       "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-01", "2024-01-02"]),
    ...                       "source_line": [2, 3, 4, 5, 6], "country": ["FR", "FR", "DE", "DE", "BE"]})
    >>> attributes_from_lines(lines, ["country"])["country"].tolist()
    ['FR', 'BE']
    """
    ordered = transactions.dropna(subset=["customer_id"]).sort_values(["date", "source_line"], kind="stable")
    position = pd.Series(np.arange(len(ordered)), index=ordered.index)
    customers = pd.Index(np.sort(ordered["customer_id"].unique()), name="customer_id")
    out = pd.DataFrame(index=customers)
    for column in columns:
        valued = ordered[column].notna()
        stats = (pd.DataFrame({"customer_id": ordered.loc[valued, "customer_id"], "value": ordered.loc[valued, column],
                               "position": position[valued]})
                 .groupby(["customer_id", "value"], sort=False, observed=True, dropna=False)["position"]
                 .agg(["size", "max"]).reset_index())
        best = (stats.sort_values(["size", "max"], ascending=False, kind="stable")
                .drop_duplicates("customer_id").set_index("customer_id")["value"])
        out[column] = best.reindex(customers).astype(ordered[column].dtype)
    return out.reset_index()


def _fill_customer_attributes(transactions: pd.DataFrame, customers: pd.DataFrame | None,
                              mapping: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Move the customer attributes mapped on the lines into the customers table (made when absent).

    Returns the lines without those columns, the customers table and one summary row per attribute. Engine
    lines get each customer's values from the engine (:func:`~portfolio_helpers.ingest.typed.engine_attributes_from_lines`).
    """
    columns = [col for col in TABLES["transactions"].attribute_columns if col in transactions.columns]
    if is_engine_table(transactions):
        per_customer = engine_attributes_from_lines(transactions, columns).set_index("customer_id")
    else:
        per_customer = attributes_from_lines(transactions, columns).set_index("customer_id")
    if customers is None:
        customers = pd.DataFrame({"customer_id": per_customer.index.astype("string")})
    else:
        customers = customers.copy()
    rows = []
    for column in columns:
        from_lines = customers["customer_id"].map(per_customer[column])
        if column in customers.columns:
            given = customers[column].notna()
            fill = ~given & from_lines.notna()
            customers[column] = customers[column].where(~fill, from_lines)
        else:
            given = pd.Series(False, index=customers.index)
            fill = from_lines.notna()
            customers[column] = from_lines.astype(per_customer[column].dtype)
        rows.append({"attribute": column, "source_column": mapping.get(column, column),
                     "customers_with_value_on_lines": int(per_customer[column].notna().sum()),
                     "customers_filled_from_lines": int(fill.sum()),
                     "customers_kept_from_table": int((given & from_lines.notna()).sum())})
    summary = pd.DataFrame(rows, columns=LINE_ATTRIBUTE_COLUMNS)
    if is_engine_table(transactions):
        return transactions.drop(*columns), customers, summary
    return transactions.drop(columns=columns), customers, summary


def _source_path(source: TableSource) -> str:
    """The ``path`` of an input as recorded: the file, folder or glob given, or ``engine table x.y``."""
    return str(source.path) if source.path is not None else source.label


def flag_known_customers(transactions, customers: pd.DataFrame):
    """The lines with ``customer_known``: whether their customer is in ``customers``.

    Pandas lines get a new column (in place, as the loader always did); engine lines get it from the
    engine (the customer ids cross into it as an in-memory table: one value per customer).

    Examples
    --------
    >>> lines = pd.DataFrame({"customer_id": ["A", "B"], "amount": [1.0, 2.0]})
    >>> flag_known_customers(lines, pd.DataFrame({"customer_id": ["A"]}))["customer_known"].tolist()
    [True, False]
    """
    known_ids = customers["customer_id"].dropna().unique()
    if is_engine_table(transactions):
        import ibis

        with quiet():
            known = ibis.memtable(pd.DataFrame({"customer_id": pd.Series(known_ids, dtype=object).astype(str)}))
        return transactions.mutate(customer_known=transactions["customer_id"].isin(known["customer_id"])
                                   .fill_null(False))
    transactions["customer_known"] = transactions["customer_id"].isin(known_ids)
    return transactions


def load_portfolio(config: PortfolioConfig | str | os.PathLike, strict: bool = False,
                   today: pd.Timestamp | None = None, rejected_sample: int = REJECTED_SAMPLE) -> Portfolio:
    """Load every table of a portfolio config.

    Parameters
    ----------
    config : PortfolioConfig or path
        The config object or the path of its YAML file.
    strict : bool, default False
        Raise :class:`RowProblemsError` when any row-level problem is found instead of
        setting the rows aside in :attr:`Portfolio.rejected`.
    today : Timestamp, optional
        Reference "now" used to spot future dates (default: the current date).
    rejected_sample : int, default :data:`~portfolio_helpers.ingest.typed.REJECTED_SAMPLE`
        A typed transactions table (Parquet, engine table) lists at most this many of its problems
        in :attr:`Portfolio.rejected`, and states how many rows it rejected in all.

    Returns
    -------
    Portfolio

    Notes
    -----
    * Transactions dated after ``as_of`` are left out of the analysis and listed in
      ``rejected``. Without ``as_of`` in the config it defaults to the last transaction
      date that is not after ``today``.
    * Transactions whose customer is absent from the customers table are kept (they are
      revenue) and flagged with ``customer_known = False``.
    * Optional columns that are entirely empty are dropped (:attr:`Portfolio.empty_columns`).
    * Customer attributes mapped on the transactions (``country``, ``industry``, ...) go to the
      customers table, where it gives none (:func:`attributes_from_lines`); without a customers
      table, one is made from the customer ids of the lines (:attr:`Portfolio.line_attributes`).
    * Ids written as floats (``17450.0``) are rewritten ``17450`` in every table
      (:attr:`Portfolio.id_rewrites`), so that tables still join.
    * A typed transactions table (Parquet files, a table of the engine's catalog) is never read into
      pandas: it is validated by the engine of the config (:mod:`portfolio_helpers.ingest.typed`) and
      ``tables["transactions"]`` is an engine table (Ibis) with the rejected rows and the rows after
      ``as_of`` filtered out; ``customer_known`` and the attributes from the lines are computed by the
      engine. Its ids are strings or integers, so none is written as a float. Other typed tables are
      small (one row per customer, lead, answer): they are read into pandas and cleaned as usual.
    """
    if not isinstance(config, PortfolioConfig):
        config = load_config(config)
    today = (today or pd.Timestamp.today()).normalize()
    tables: dict[str, pd.DataFrame] = {}
    rejected: list[pd.DataFrame] = []
    inputs: list[dict] = []
    detected: dict[str, dict] = {}
    rewrites, empty, warnings = [], [], []
    engine_load = None
    for name, source in config.tables.items():
        if name == "transactions" and source.typed:
            engine_load = load_engine_transactions(source, config.engine, config.as_of, today, rejected_sample)
            tables[name] = engine_load.table
            rejected.append(engine_load.problems)
            detected[name] = engine_load.detected
            empty += [{"table": name, "column": column, "source_column": source_column}
                      for column, source_column in engine_load.empty_columns.items()]
            inputs.append({"table": name, "path": _source_path(source), "rows": engine_load.n_rows,
                           "files": source_fingerprint(source, config.engine)})
            continue
        typed, n_rows = _load_table(source, config.engine)
        tables[name] = typed.frame
        rejected.append(typed.problems)
        detected[name] = typed.detected
        rewrites.append(typed.id_rewrites)
        empty += [{"table": name, "column": column, "source_column": source_column}
                  for column, source_column in typed.empty_columns.items()]
        warnings += [f"{name}: {warning}" for warning in typed.warnings]
        if source.table is not None or len(source.files) > 1 or (source.files and source.path.is_dir()):
            # several Parquet files or an engine table: their size and date say whether they changed
            inputs.append({"table": name, "path": _source_path(source), "rows": n_rows,
                           "files": source_fingerprint(source, config.engine)})
        else:
            inputs.append({"table": name, "path": str(source.path), "sha256": sha256_file(source.path),
                           "rows": n_rows})

    if engine_load is not None:
        transactions, as_of = tables["transactions"], engine_load.as_of
    else:
        if tables["transactions"].empty:  # not "dated after today": every row had a row-level problem
            raise InputError(_strict_message(pd.concat(rejected, ignore_index=True),
                                             f"{config.tables['transactions'].path}: every transaction row was "
                                             f"rejected, none is left to analyse:"))
        transactions, late, as_of = _date_window(tables["transactions"], config.as_of, today,
                                                 config.tables["transactions"].path,
                                                 detected["transactions"]["columns"]["date"])
        rejected.append(late)
        if transactions.empty:
            raise InputError(f"{config.tables['transactions'].path}: no transaction is left to analyse "
                             f"on or before as_of={as_of.date()}")
    line_attributes = _frame_of(LINE_ATTRIBUTE_COLUMNS)
    if any(col in transactions.columns for col in TABLES["transactions"].attribute_columns):
        transactions, tables["customers"], line_attributes = _fill_customer_attributes(
            transactions, tables.get("customers"), detected["transactions"]["columns"])
    if "customers" in tables:
        transactions = flag_known_customers(transactions, tables["customers"])
    tables["transactions"] = transactions

    rejected_frame = pd.concat([r for r in rejected if not r.empty] or [_empty_rejected()], ignore_index=True)
    rejected_frame = rejected_frame.astype({col: "string" for col in REJECTED_COLUMNS if col != "line"})
    # Rewrites of rows left out of the analysis are not changes to it.
    rewrites = [r[r["source_line"].isin(tables[r["table"].iloc[0]]["source_line"])] for r in rewrites if len(r)]
    portfolio = Portfolio(config, tables, rejected_frame, as_of, inputs, detected,
                          empty_columns=pd.DataFrame(empty, columns=EMPTY_COLUMN_COLUMNS).astype("string"),
                          warnings=warnings, line_attributes=line_attributes,
                          id_rewrites=pd.concat(rewrites, ignore_index=True) if rewrites else _empty_rewrites())
    if strict and not rejected_frame.empty:
        raise RowProblemsError(_strict_message(rejected_frame))
    return portfolio


def _strict_message(rejected: pd.DataFrame, headline: str | None = None) -> str:
    summary = (rejected.groupby(["file", "column", "reason"], sort=False)
               .agg(rows=("line", "size"), lines=("line", lambda s: list(s[:5])),
                    # formatted here: a list returned to agg comes back as a numpy array ("['a' 'b']")
                    examples=("value", lambda s: str([str(v) for v in s.dropna().unique()[:3]]))))
    parts = [headline or f"{len(rejected)} row-level problem(s) found and --strict is set:"]
    for (file, column, reason), row in summary.iterrows():
        lines = ", ".join(map(str, row["lines"])) + (", ..." if row["rows"] > 5 else "")
        parts.append(f"  {Path(file).name}: column {column}: {reason}: {row['rows']} row(s) "
                     f"(lines {lines}; examples {row['examples']})")
    return "\n".join(parts)


# --------------------------------------------------------------------------- hand-over between notebooks


def save_portfolio(portfolio: Portfolio, output_dir: str | os.PathLike) -> Path:
    """Write the typed tables (``data/*.parquet``), ``data/portfolio.json`` and ``exports/rejected_rows.csv``.

    An engine table (typed transactions) is written by its engine (:func:`save_table`).
    """
    output_dir = Path(output_dir)
    for name, frame in portfolio.tables.items():
        save_table(frame, output_dir / "data" / f"{name}.parquet")
    atomic_to_csv(portfolio.rejected, output_dir / "exports" / "rejected_rows.csv")
    atomic_write_json(output_dir / "data" / "portfolio.json", {
        "config": str(portfolio.config.path),
        "config_sha256": sha256_file(portfolio.config.path),
        "name": portfolio.config.name,
        "currency": portfolio.config.currency,
        "as_of": portfolio.as_of.date().isoformat(),
        "tables": sorted(portfolio.tables),
        "inputs": portfolio.inputs,
        "n_rejected_rows": portfolio.n_rejected_rows,
    })
    return output_dir / "data"


def save_table(table, path: str | os.PathLike) -> Path:
    """Save a table of the portfolio as Parquet, atomically: a pandas frame as usual, an engine table by its
    engine (:func:`~portfolio_helpers.ingest.typed.write_engine_parquet`: the lines never cross into Python)."""
    if is_engine_table(table):
        return write_engine_parquet(table, path)
    return atomic_to_parquet(table, path)


def engine_tables_for(config: PortfolioConfig) -> bool:
    """Whether the saved transactions are handed to the analyses as an engine table (scanned by the config's
    engine) rather than a pandas frame: always, whatever the input (a text export is cleaned in pandas by
    notebook 01, saved as typed Parquet, and scanned by the engine from then on), so that every notebook after
    01 works the same way on the sample and on a billion lines. Analysts who want pandas frames to explore
    small data ask :func:`~portfolio_helpers.cleaning.pipeline.open_portfolio` for them (``as_frames=True``).
    """
    return True


def read_saved_tables(output_dir: str | os.PathLike,
                      engine: EngineSettings | None = None) -> dict[str, pd.DataFrame]:
    """The typed tables written by :func:`save_portfolio` (the input of notebooks 02+).

    Only the tables of the data contract: the tables later notebooks save beside them in ``data/``
    (segments, P&L, customer features) are not input tables. With ``engine``, ``transactions`` is the
    engine table scanning the saved file on that engine (see :func:`engine_tables_for`); the other
    tables are pandas frames.
    """
    data_dir = Path(output_dir) / "data"
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: no loaded tables here; run 01_data_cleaning first")
    tables = {}
    for path in sorted(data_dir.glob("*.parquet")):
        if path.stem not in TABLES:
            continue
        if engine is not None and path.stem == "transactions":
            tables[path.stem] = scan_saved(path, engine)
        else:
            tables[path.stem] = pd.read_parquet(path)
    return tables
