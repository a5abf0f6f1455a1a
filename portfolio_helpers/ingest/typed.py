"""Typed transaction tables, validated where they live: the engine reads them, pandas never holds the lines.

A transactions source that is typed — Parquet files (one file, a folder, a glob) or a table of
the engine's catalog — is not cleaned as text: its columns already have types. It is scanned by
the engine of the config (:func:`portfolio_helpers.core.backend.connect`) and validated there:

* the required columns are present (``columns:`` renames applied, as for text files) and of the
  right type family: ids string or integer, dates timestamp or date, amounts numeric (see
  :mod:`portfolio_helpers.core.contract`); a wrong type is an :class:`InputError` naming it;
* missing or unreadable values (a null or NaN amount is missing, an infinite one unreadable; an empty id) and rows dated after the
  analysis date are counted by SQL; the rows are filtered out of the engine table, and a sample
  of at most :data:`REJECTED_SAMPLE` problems is listed with the total count (one row of action
  :data:`~portfolio_helpers.ingest.mapping.ROWS_COUNTED`);
* category and yes/no columns given as text (``status``...) are mapped onto the contract's
  vocabulary exactly as text files are: the engine lists the distinct spellings, the kit's
  parsers map them, a ``CASE`` applies the mapping; unknown values are cleared;
* the analysis date defaults, as for text files, to the last valid date that is not after today,
  computed by the engine.

What the text loader does that makes no sense here is skipped, for a reason: ids written as floats
(``17450.0``) do not arise, as a typed id is a string or an integer (a float id column is refused);
the lines have no line number (an engine table has no row order), so the sample names the file and
its row where the engine can say (DuckDB) and leaves the line empty otherwise (Spark).
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from portfolio_helpers.core.backend import EngineSettings, bound_backend, connect, quiet
from portfolio_helpers.core.config import TableSource
from portfolio_helpers.core.contract import TABLES, Column
from portfolio_helpers.core.errors import InputError
from portfolio_helpers.ingest.mapping import (
    REASONS,
    REJECTED_COLUMNS,
    ROW_REJECTED,
    ROWS_COUNTED,
    VALUE_CLEARED,
    derivations,
    map_columns,
    snake,
)
from portfolio_helpers.ingest.parsing import MISSING_TOKENS, parse_boolean, parse_category

__all__ = ["REJECTED_SAMPLE", "EngineLoad", "scan", "load_engine_transactions", "engine_attributes_from_lines",
           "engine_customer_ids", "source_fingerprint", "MAX_CATEGORY_VALUES", "write_engine_parquet", "scan_saved", "quiet",
           "is_nan", "is_infinite", "engine_name"]

#: At most this many problems of a typed table are listed in ``rejected_rows.csv``; the count says how many in all.
REJECTED_SAMPLE = 10_000
#: A category column with more distinct spellings than this is not a category (a mapping mistake).
MAX_CATEGORY_VALUES = 1_000
_FILE, _LINE = "filename", "file_row_number"  # the columns DuckDB adds when asked where a row comes from
_names = itertools.count()


def _execute(expr) -> pd.DataFrame:
    with quiet():
        return expr.to_pandas()


def scan(source: TableSource, con, where_rows: bool = False) -> ir.Table:
    """The engine table of a typed source: its Parquet files scanned, or the catalog table it names.

    Parameters
    ----------
    source : TableSource
        A typed source (``source.typed``).
    con : ibis backend
        The engine (:func:`portfolio_helpers.core.backend.connect`).
    where_rows : bool, default False
        On DuckDB, add the columns ``filename`` and ``file_row_number`` (where each row comes from),
        unless the files have columns of those names.

    Raises
    ------
    InputError
        Unreadable files, or a catalog table the engine does not have.
    """
    if source.table is not None:
        *database, name = source.table.split(".")
        if len(database) == 1 and con.name == "duckdb":  # a schema of the open database, even when a schema and
            database = [con.current_catalog, database[0]]  # the database file have the same name
        try:
            with quiet():
                return con.table(name, database=tuple(database) if len(database) > 1 else (database or [None])[0])
        except Exception as exc:  # noqa: BLE001 - each engine raises its own "not found"
            try:
                known = ", ".join(con.list_tables(database=".".join(database) or None)[:20]) or "none"
            except Exception:  # noqa: BLE001 - an unknown database: say what the engine said
                known = "unknown"
            raise InputError(f"{source.label}: the engine ({con.name}) has no such table ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); tables it has there: {known}") from None
    files = [str(path) for path in source.files]
    try:
        with quiet():
            # Files of one table may differ in their columns (a column added later): columns are matched by name,
            # a file without one gives nulls there.
            if con.name == "pyspark":  # Spark reads the listed files itself (Ibis passes a single path)
                view = f"portfolio_scan_{os.getpid()}_{next(_names)}"
                con._session.read.option("mergeSchema", "true").parquet(*files).createOrReplaceTempView(view)
                return con.table(view)
            options = {"union_by_name": True} if len(files) > 1 else {}
            table = con.read_parquet(files, **options)
            if where_rows and con.name == "duckdb" and not {_FILE, _LINE} & set(table.columns):
                table = con.read_parquet(files, filename=True, file_row_number=True, **options)
            return table
    except Exception as exc:  # noqa: BLE001 - engines raise their own types for corrupt files
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source.label}: cannot read the Parquet file(s): {message}") from None


def source_fingerprint(source: TableSource, settings: EngineSettings) -> list[dict]:
    """What says that a typed source changed, cheaply (its files are big): size and modification time
    of each Parquet file, or of the DuckDB database holding a catalog table.

    A Spark catalog table has no such file: it is taken as unchanged while the config is.
    """
    if source.table is not None:
        paths = [Path(settings.database)] if settings.backend == "duckdb" and settings.database else []
    else:
        paths = list(source.files)
    return [{"path": str(path), "size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
            for path in paths]


@dataclass
class EngineLoad:
    """A typed transactions table as the engine validated it."""

    table: ir.Table  # canonical columns; rejected rows and rows after as_of filtered out (lazy: nothing read)
    problems: pd.DataFrame  # REJECTED_COLUMNS: a sample of the problems, and the ROWS_COUNTED row
    detected: dict
    empty_columns: dict[str, str]  # canonical -> source column, dropped because entirely empty
    n_rows: int  # rows of the source
    as_of: pd.Timestamp
    attributes: list[str] = field(default_factory=list)  # customer attributes mapped on the lines


@dataclass
class _Check:
    """One row-level check: rows where ``mask`` holds have a problem in ``column``."""

    column: str
    source_column: str
    mask: ir.BooleanValue
    raw: ir.Value
    reason: str
    action: str


@ibis.udf.scalar.builtin(name="isfinite")
def _isfinite(value: float) -> bool:  # DuckDB's isfinite
    """DuckDB's ``isfinite``: its ``isnan`` answers False for a NaN when the Parquet statistics of the column
    (which leave NaN out) say every value is finite (DuckDB 2.0); ``isfinite`` reads the values."""


def is_nan(value: ir.FloatingValue, engine: str) -> ir.BooleanValue:
    """NaN, on every engine (a NaN counts as a missing value, as the text loader reads ``nan``; Ibis on Spark
    already counts it as null)."""
    return (~_isfinite(value) & ~value.isinf()) if engine == "duckdb" else value.isnan()


def is_infinite(value: ir.FloatingValue) -> ir.BooleanValue:
    """+inf or -inf, on every engine (Ibis 12 compiles ``isinf`` to FALSE on Spark); null stays null."""
    return (value == float("inf")) | (value == float("-inf"))


def engine_name(t: ir.Table) -> str:
    """The engine that runs ``t``: the one its tables are bound to, DuckDB for in-memory tables."""
    backend = bound_backend(t)
    return "duckdb" if backend is None else backend.name


def _type_error(where: str, column: Column, source_column: str, dtype, expected: str, table: str) -> InputError:
    return InputError(f"{where}: column '{source_column}' ({table}.{column.name}) is of type {dtype}; a typed table "
                      f"needs {expected} here. Write it with that type, or export the table as CSV to have it read "
                      f"as text.")


_LONGEST_TOKEN = max(len(token) for token in MISSING_TOKENS)


def _missing_text(value: ir.StringValue) -> ir.BooleanValue:
    """An empty text or a spelling of "no value" (:data:`MISSING_TOKENS`), as the text loader reads them.

    ``value`` is trimmed already. Only short texts are lower-cased and compared: a scan of ids stays cheap.
    """
    return value.isnull() | ((value.length() <= _LONGEST_TOKEN) & _one_of(value.lower(), sorted(MISSING_TOKENS)))


def _one_of(value: ir.Value, options: list) -> ir.BooleanValue:
    """``value`` equals one of ``options``: comparisons joined by OR (DuckDB 2.0 runs ``IN (...)`` of ten values
    as a join, five times slower on a scan of ids)."""
    if not options:
        return ibis.literal(False)
    return ibis.or_(*(value == option for option in options))


@ibis.udf.scalar.builtin(name="trim")
def _trim_spaces(value: str) -> str:  # DuckDB's one-argument trim
    """DuckDB's ``trim`` of spaces: Ibis's ``strip`` (any white space) is several times slower on a scan of ids."""


def _text_value(col: ir.Value, engine: str) -> ir.StringValue:
    """A text column trimmed, a spelling of "no value" as null; whether it has a value is ``notnull()`` of it."""
    text = col.cast("string")
    text = _trim_spaces(text) if engine == "duckdb" else text.strip()
    return ibis.ifelse(_missing_text(text), ibis.null("string"), text)


def _mapped_text(t: ir.Table, col: ir.Value, parse, where: str, column: Column, source_column: str, table: str):
    """(typed value, bad mask) of a text column mapped onto a vocabulary by ``parse`` (the text loader's parser),
    applied to the column's distinct spellings (listed by the engine)."""
    text = col.cast("string")
    distinct = _execute(t.select(v=text).distinct().limit(MAX_CATEGORY_VALUES + 1))
    values = distinct["v"].dropna()
    if len(values) > MAX_CATEGORY_VALUES:
        raise InputError(f"{where}: column '{source_column}' ({table}.{column.name}) has more than "
                         f"{MAX_CATEGORY_VALUES} distinct values: it is not a {column.kind}; check the column mapping")
    parsed = parse(values.astype("string").reset_index(drop=True))
    mapping = {str(raw): value for raw, value, bad in zip(values, parsed.values, parsed.bad, strict=True)
               if not bad and not pd.isna(value)}
    bad_values = sorted(str(raw) for raw, bad in zip(values, parsed.bad, strict=True) if bad)
    dtype = "boolean" if column.kind == "boolean" else "string"
    if mapping:
        typed = ibis.cases(*[(text == raw, ibis.literal(value, dtype)) for raw, value in mapping.items()],
                           else_=ibis.null(dtype))
    else:
        typed = ibis.null(dtype)
    bad = _one_of(text, bad_values) if len(bad_values) <= 50 else text.isin(bad_values)
    return typed, bad


def _typed_column(t: ir.Table, column: Column, source_column: str, where: str, table: str, engine: str):
    """(typed value, present mask, bad mask) of one mapped column; present ``None``: the value is not null."""
    col = t[source_column]
    dtype = col.type()
    kind = column.kind
    if kind == "id":
        if not (dtype.is_string() or dtype.is_integer()):
            raise _type_error(where, column, source_column, dtype, "text or whole numbers (an identifier)", table)
        return (_text_value(col, engine) if dtype.is_string() else col.cast("string")), None, ibis.literal(False)
    if kind == "date":
        if not (dtype.is_timestamp() or dtype.is_date()):
            raise _type_error(where, column, source_column, dtype, "a date or a timestamp", table)
        return col.cast("timestamp"), col.notnull(), ibis.literal(False)
    if kind in ("number", "integer"):
        if not dtype.is_numeric() or dtype.is_boolean():
            raise _type_error(where, column, source_column, dtype, "numbers", table)
        value = col.cast("float64")
        present = col.notnull()
        bad = ibis.literal(False)
        if dtype.is_floating():  # NaN is missing; an infinite amount is not a number
            present = present & ~is_nan(value, engine).fill_null(False)
            bad = is_infinite(value).fill_null(False)
        if kind == "integer":
            bad = bad | (present & ~bad & ((value % 1) != 0))  # no cast: an infinite value stays a float here
            value = value.cast("int64")
        return ibis.ifelse(present & ~bad, value, ibis.null(value.type())), present, bad
    if kind == "boolean":
        if dtype.is_boolean():
            return col, col.notnull(), ibis.literal(False)
        if not dtype.is_string():
            raise _type_error(where, column, source_column, dtype, "true/false or yes/no text", table)
        typed, bad = _mapped_text(t, col, parse_boolean, where, column, source_column, table)
        return typed, _text_value(col, engine).notnull(), bad
    if kind == "category":
        if not dtype.is_string():
            raise _type_error(where, column, source_column, dtype, "text", table)
        typed, bad = _mapped_text(t, col, lambda values: parse_category(values, column.values), where, column,
                                  source_column, table)
        return typed, _text_value(col, engine).notnull(), bad
    return _text_value(col, engine), None, ibis.literal(False)


def load_engine_transactions(source: TableSource, settings: EngineSettings, as_of: pd.Timestamp | None,
                             today: pd.Timestamp, sample: int = REJECTED_SAMPLE) -> EngineLoad:
    """Validate a typed transactions source in the engine; nothing of the lines is read into pandas.

    Parameters
    ----------
    source : TableSource
        The config's ``tables.transactions`` (typed: Parquet files or an engine table).
    settings : EngineSettings
        The config's engine.
    as_of : Timestamp or None
        The config's analysis date; ``None``: the last valid date not after ``today``.
    today : Timestamp
        The reference "now" (normalized).
    sample : int, default :data:`REJECTED_SAMPLE`
        At most this many problems are listed; the :data:`ROWS_COUNTED` row gives the rows rejected in all.

    Returns
    -------
    EngineLoad

    Raises
    ------
    InputError
        A required column missing, of the wrong type or without any readable value; no row left.
    """
    table = TABLES["transactions"]
    con = connect(settings)
    t = scan(source, con, where_rows=True)
    where = source.label
    located = {_FILE, _LINE} <= set(t.columns) and source.table is None
    available = [col for col in t.columns if not (located and col in (_FILE, _LINE))]
    mapping = map_columns(available, where, source, table)
    derived = derivations(table, mapping)
    needed = {col: name for name, inputs in derived.items() for col in inputs}
    needed_if_given = {"discount": next(iter(derived))} if derived and "discount" in mapping else {}
    attributes = [TABLES[table.attributes_of].column(name) for name in table.attribute_columns if name in mapping]
    declared = {c.name: c for c in (*table.columns, *attributes) if c.name in mapping}

    # Stage 1: each column typed once, with whether it has a value and whether that value is unreadable (the
    # text tests of an id cost a scan's worth each: computed once, not once per check that reads them).
    typed_values, raws, position = {}, {}, {}
    for i, (name, column) in enumerate(declared.items()):
        value, has_value, bad = _typed_column(t, column, mapping[name], where, table.name, con.name)
        typed_values.update({f"_v{i}": value, f"_b{i}": bad.fill_null(False)})
        if has_value is not None:
            typed_values[f"_h{i}"] = has_value.fill_null(False)
        raws[f"_s{i}"] = t[mapping[name]].cast("string")
        position[name] = i
    extras = {}
    for col in available:
        if col not in mapping.values() and snake(col) not in declared and snake(col) not in extras:
            extras[snake(col)] = t[col]
    located_columns = [t[_FILE], t[_LINE]] if located else []
    stage = t.select(*located_columns, **typed_values, **raws,
                     **{f"_x{i}": value for i, value in enumerate(extras.values())}).view()
    stage = stage.mutate(**{f"_h{i}": stage[f"_v{i}"].notnull() for i in position.values()
                            if f"_h{i}" not in stage.columns}).view()

    # Stage 2: the checks, on the typed columns.
    values = {name: stage[f"_v{i}"] for name, i in position.items()}
    checks: list[_Check] = []
    for name, column in declared.items():
        i, source_column = position[name], mapping[name]
        has_value, bad, raw = stage[f"_h{i}"], stage[f"_b{i}"], stage[f"_s{i}"]
        required = column.required or name in needed
        if required:
            what = "" if column.required else f" (needed to compute {needed[name]})"
            reason = "missing required value" if column.required else f"missing value{what}"
            checks.append(_Check(name, source_column, ~has_value, raw, reason, ROW_REJECTED))
        reason = REASONS[column.kind].format(values=", ".join(column.values))
        if name in needed or name in needed_if_given:
            reason += f" (needed to compute {needed.get(name) or needed_if_given[name]})"
        action = ROW_REJECTED if required or name in needed_if_given else VALUE_CLEARED
        checks.append(_Check(name, source_column, has_value & bad, raw, reason, action))
    if "amount" in derived:
        discount = values["discount"].fill_null(0.0) if "discount" in values else 0.0
        values["amount"] = values["quantity"] * values["unit_price"] - discount

    checked = stage.mutate(
        _vamount=values["amount"],
        **{f"_p{i}": check.mask for i, check in enumerate(checks)},
        **{f"_r{i}": check.raw for i, check in enumerate(checks)},
        **{f"_ok{i}": stage[f"_h{i}"] & ~stage[f"_b{i}"] for i in position.values()},
    )
    value_of = {name: checked[f"_v{i}"] for name, i in position.items()} | {"amount": checked["_vamount"]}
    rejects = [checked[f"_p{i}"] for i, check in enumerate(checks) if check.action == ROW_REJECTED]
    valid = ~ibis.or_(*rejects) if rejects else ibis.literal(True)
    day = value_of["date"].date()
    today_date = ibis.literal(today.date())
    late_after = today_date if as_of is None else ibis.literal(pd.Timestamp(as_of).date())
    late = valid & (day > late_after)

    counts = _execute(checked.aggregate(
        n=checked.count(),
        n_valid=valid.cast("int64").sum(),
        n_late=late.cast("int64").sum(),
        last_date=value_of["date"].max(where=valid & (day <= today_date)),
        first_date=value_of["date"].min(where=valid & ~late),
        **{f"p{i}": checked[f"_p{i}"].cast("int64").sum() for i in range(len(checks))},
        **{f"h{i}": checked[f"_h{i}"].cast("int64").sum() for i in position.values()},
        **{f"ok{i}": checked[f"_ok{i}"].cast("int64").sum() for i in position.values()},
    )).iloc[0]
    n_rows = int(counts["n"])
    if n_rows == 0:
        raise InputError(f"{where}: the table has no rows (columns: {', '.join(map(repr, available))})")
    for name, column in declared.items():  # a required column with no readable value: a mapping mistake
        if (column.required or name in needed) and int(counts[f"ok{position[name]}"]) == 0:
            what = "" if column.required else f", needed to compute {needed[name]}"
            state = " (all empty)" if int(counts[f"h{position[name]}"]) == 0 else ""
            raise InputError(f"{where}: column '{mapping[name]}' ({table.name}.{name}{what}) has no readable "
                             f"{column.kind} value in any of its {n_rows} rows{state}. Check the column mapping.")
    if int(counts["n_valid"]) == 0:
        raise InputError(f"{where}: every transaction row was rejected, none is left to analyse (see the problems "
                         f"listed with --strict or in rejected_rows.csv)")
    if as_of is None:
        if pd.isna(counts["last_date"]):
            raise InputError(f"{where}: every transaction is dated after today ({today.date()}); set `as_of:` in "
                             f"the config")
        as_of = pd.Timestamp(counts["last_date"]).normalize()
        late_reason = f"date in the future (after today, {today.date()})"
    else:
        as_of = pd.Timestamp(as_of)
        late_reason = f"dated after the analysis date as_of={as_of.date()}"
    if int(counts["n_valid"]) == int(counts["n_late"]):
        raise InputError(f"{where}: no transaction is left to analyse on or before as_of={as_of.date()}")

    # The sample: the first problems (by file and row where the engine says), then the count of all.
    checked = checked.mutate(_late=late.fill_null(False), _rlate=day.cast("string"))
    file_of = checked[_FILE].cast("string") if located else ibis.literal(where)
    line_of = (checked[_LINE] + 1).cast("int64") if located else ibis.null("int64")
    parts = [(f"_p{i}", f"_r{i}", check.column, check.source_column, check.reason, check.action)
             for i, check in enumerate(checks) if int(counts[f"p{i}"])]
    if int(counts["n_late"]):
        parts.append(("_late", "_rlate", "date", mapping["date"] if "date" in mapping else "date", late_reason,
                      ROW_REJECTED))
    empty_columns = {name: mapping[name] for name in declared
                     if not (declared[name].required or name in needed) and int(counts[f"h{position[name]}"]) == 0}
    problems = _problem_sample(checked, parts, file_of, line_of, sample, located)
    n_problems = sum(int(counts[f"p{i}"]) for i in range(len(checks))) + int(counts["n_late"])
    n_rejected = n_rows - int(counts["n_valid"]) + int(counts["n_late"])
    if n_rejected or len(problems) < n_problems:  # rows rejected, or more problems than listed: say how many
        problems = pd.concat([problems, pd.DataFrame([{
            "table": "transactions", "file": where, "line": pd.NA, "column": "", "source_column": "",
            "value": str(n_rejected),
            "reason": f"{n_rejected} row(s) of {n_rows} rejected in all, with {n_problems} problem(s)"
                      + (f"; the first {len(problems)} are listed" if len(problems) < n_problems else ""),
            "action": ROWS_COUNTED}])], ignore_index=True)

    kept = [name for name in (*table.column_names, *declared) if name in value_of and name not in empty_columns]
    out = checked.filter(valid & ~checked["_late"]).select(
        **{name: value_of[name] for name in dict.fromkeys(kept)},
        **{name: checked[f"_x{i}"] for i, name in enumerate(extras)})
    detected = {"format": "engine table" if source.table else "parquet", "engine": settings.backend,
                "columns": mapping,
                # the first date of the lines kept (computed with the counts: no scan of its own)
                "first_date": pd.Timestamp(counts["first_date"]).isoformat(),
                # values cleared in all (the problems list holds only a sample of them)
                "n_cleared_values": sum(int(counts[f"p{i}"]) for i, check in enumerate(checks)
                                        if check.action == VALUE_CLEARED)}
    if source.files:
        detected["files"] = len(source.files)
    if "amount" in derived:
        detected["amount"] = {"derived": "quantity × unit_price" + (" − discount" if "discount" in values else "")}
    if empty_columns:
        detected["empty_columns"] = empty_columns
    return EngineLoad(out, problems, detected, empty_columns, n_rows, as_of,
                      [c.name for c in attributes if c.name not in empty_columns])


def _problem_sample(checked: ir.Table, parts: list[tuple], file_of, line_of, sample: int,
                    located: bool) -> pd.DataFrame:
    """At most ``sample`` problems, as rows of :data:`REJECTED_COLUMNS` (the first by file and row on DuckDB)."""
    empty = pd.DataFrame({col: pd.Series(dtype="int64" if col == "line" else "string") for col in REJECTED_COLUMNS})
    if not parts or sample <= 0:
        return empty
    selects = [checked.filter(checked[mask]).select(
        file=file_of, line=line_of, column=ibis.literal(column), source_column=ibis.literal(source_column),
        value=checked[raw], reason=ibis.literal(reason), action=ibis.literal(action))
        for mask, raw, column, source_column, reason, action in parts]
    union = ibis.union(*selects, distinct=False) if len(selects) > 1 else selects[0]
    if located:
        union = union.order_by(["file", "line", "column"])
    frame = _execute(union.limit(sample))
    frame.insert(0, "table", "transactions")
    frame["line"] = frame["line"].astype("Int64")
    return frame[REJECTED_COLUMNS]


def engine_customer_ids(lines: ir.Table) -> pd.Series:
    """The distinct customer ids of engine lines, sorted (one value per customer, computed by the engine)."""
    ids = _execute(lines.select("customer_id").filter(lines["customer_id"].notnull()).distinct())["customer_id"]
    return pd.Series(sorted(ids.astype(str)), dtype="string", name="customer_id")


def engine_attributes_from_lines(lines: ir.Table, columns: list[str]) -> pd.DataFrame:
    """Each customer's most frequent value of attributes repeated on engine lines (one query per attribute).

    As :func:`portfolio_helpers.ingest.loaders.attributes_from_lines`, except the tie-break: engine lines have
    no line number, so among values found on as many lines, the one of the latest date wins, then the
    greatest value (deterministic on every engine).

    Returns
    -------
    pandas.DataFrame
        One row per customer id of the lines (sorted): ``customer_id`` and one column per attribute.
    """
    out = pd.DataFrame({"customer_id": engine_customer_ids(lines)}).set_index("customer_id")
    for column in columns:
        valued = lines.filter(lines["customer_id"].notnull() & lines[column].notnull())
        stats = valued.group_by(["customer_id", column]).aggregate(_n=valued.count(), _last=valued["date"].max())
        rank = ibis.row_number().over(group_by=stats["customer_id"],
                                      order_by=[stats["_n"].desc(), stats["_last"].desc(), stats[column].desc()])
        best = _execute(stats.mutate(_rank=rank).filter(lambda s: s["_rank"] == 0).select("customer_id", column))
        values = best.set_index(best["customer_id"].astype(str))[column]
        dtype = "string" if lines[column].type().is_string() else None
        out[column] = values.reindex(out.index) if dtype is None else values.reindex(out.index).astype(dtype)
    return out.reset_index()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def write_engine_parquet(table: ir.Table, path: str | os.PathLike) -> Path:
    """Write an engine table as Parquet, BY THE ENGINE (nothing crosses into Python), atomically.

    DuckDB writes one file (``COPY ... TO``); Spark writes a folder of part files. Either is written
    under a temporary name beside ``path`` and then renamed onto it, so that an interrupted run never
    leaves half a table where a previous good one stood (a folder replacing a file, or the reverse, is
    swapped in two renames).

    Examples
    --------
    >>> import tempfile
    >>> con = ibis.duckdb.connect()
    >>> lines = con.create_table("lines", ibis.memtable({"customer_id": ["A", "B"], "amount": [1.0, 2.5]}))
    >>> path = write_engine_parquet(lines, Path(tempfile.mkdtemp()) / "transactions.parquet")
    >>> pd.read_parquet(path)["amount"].tolist()
    [1.0, 2.5]
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = table._find_backend(use_default=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{next(_names)}.tmp"
    try:
        with quiet():
            con.to_parquet(table, str(tmp))
        if path.exists() and (path.is_dir() or tmp.is_dir()):
            old = path.parent / f".{path.name}.{os.getpid()}.{next(_names)}.old"
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return path


def scan_saved(path: str | os.PathLike, settings: EngineSettings) -> ir.Table:
    """The engine table of a Parquet table the kit saved (one file, or the folder Spark writes)."""
    path = Path(path)
    files = sorted(found for found in path.glob("*.parquet")) if path.is_dir() else [path]
    return scan(TableSource(path.stem, path, files=tuple(files)), connect(settings))
