"""Portfolio config: a YAML file mapping a user's exports onto the data contract.

Example
-------
.. code-block:: yaml

    name: Acme portfolio        # shown in reports
    currency: EUR
    as_of: 2025-12-31           # optional; default: last transaction date (not in the future)
    tables:
      transactions:
        path: invoices.csv      # relative to this file
        read: {sep: ";", decimal: ",", encoding: cp1252, dayfirst: true}
        columns: {customer_id: "N° client", date: "Date facture", amount: "Montant HT"}
      customers: {path: clients.xlsx, columns: {customer_id: Code, name: "Raison sociale"}}

Typed tables are read by the engine (``engine:``, see :mod:`portfolio_helpers.core.backend`)
rather than cleaned as text: Parquet given as one file, a folder or a glob
(``path: lake/lines/*.parquet``), or a table of the engine's catalog (``table: sales.order_lines``,
instead of ``path:``). ``read:`` options do not apply to them; ``columns:`` renames do.

Every mistake is reported as a :class:`~portfolio_helpers.core.errors.ConfigError`
naming the config file, the key and, where it helps, the closest valid name.
"""

from __future__ import annotations

import codecs
import datetime as dt
import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from portfolio_helpers.core.backend import EngineSettings, engine_settings
from portfolio_helpers.core.contract import ANSWER_KEY_SECTIONS, TABLES
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.core.validation import suggest

__all__ = ["TableSource", "PortfolioConfig", "load_config", "READ_OPTIONS", "TOP_LEVEL_KEYS"]

# Sections owned by the analysis modules; each validates its own content.
ANALYSIS_SECTIONS = ("costs", "scoring", "segments", "playbook", "rfm", "clv", "growth", "objectives", "feedback")
TOP_LEVEL_KEYS = ("name", "currency", "as_of", "seed", "pseudonymize", "answer_key", "engine", "tables",
                  *ANALYSIS_SECTIONS)
READ_OPTIONS = {
    "sep": "field separator, e.g. ';' (autodetected)",
    "decimal": "decimal separator '.' or ',' (autodetected per column)",
    "thousands": "thousands separator (spaces are always accepted)",
    "encoding": "text encoding, e.g. utf-8, cp1252 (autodetected)",
    "dayfirst": "true for dd/mm/yyyy dates (autodetected, default true when ambiguous)",
    "sheet": "Excel sheet name or index (default: the first sheet)",
    "skiprows": "number of lines to skip above the header",
}
TABLE_KEYS = ("path", "table", "read", "columns")
PARQUET_SUFFIXES = (".parquet", ".pq")
_GLOB_CHARACTERS = ("*", "?", "[")


@dataclass(frozen=True)
class TableSource:
    """Where one canonical table comes from and how to read it.

    ``path`` is a file, a folder or a glob of Parquet files (``files`` lists the Parquet files it
    resolved to), or ``None`` when the table is ``table``, a table of the engine's catalog
    (``sales.order_lines``).
    """

    name: str
    path: Path | None
    read: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> column in the file
    table: str | None = None  # a table of the engine's catalog, instead of path
    files: tuple[Path, ...] = ()  # the Parquet files of path (one file, a folder or a glob)

    @property
    def typed(self) -> bool:
        """Whether the table is typed (Parquet files or an engine table), read by the engine rather than as text."""
        return self.table is not None or bool(self.files)

    @property
    def label(self) -> str:
        """How messages name the source: its path, or ``engine table sales.order_lines``."""
        return f"engine table {self.table}" if self.table is not None else str(self.path)


@dataclass(frozen=True)
class PortfolioConfig:
    path: Path
    name: str
    currency: str
    as_of: pd.Timestamp | None
    seed: int
    pseudonymize: bool
    tables: dict[str, TableSource]
    sections: dict[str, Any] = field(default_factory=dict)  # costs:, scoring:, ... untouched
    # the answer key of a generated sample (`answer_key: truth.json`), checked to parse; None otherwise
    answer_key: Path | None = None
    # the engine of the transaction-level work (`engine:`); engine_requested: the config has that section
    engine: EngineSettings = field(default_factory=EngineSettings)
    engine_requested: bool = False

    @property
    def base_dir(self) -> Path:
        return self.path.parent


def check_known_keys(keys, known, where: str) -> None:
    """Raise a :class:`ConfigError` naming the first key not in ``known``, with a suggestion.

    >>> check_known_keys(["cap", "criterias"], ["cap", "criteria"], "scoring.leads.fit")
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: scoring.leads.fit: unknown key 'criterias' (did you mean 'criteria'?); expected one of: cap, criteria
    """
    unknown = [key for key in keys if key not in known]
    if unknown:
        key = unknown[0]
        raise ConfigError(f"{where}: unknown key {key!r}{suggest(key, known)}; expected one of: {', '.join(map(str, known))}")


def _fail(config_path: Path, where: str, message: str) -> ConfigError:
    return ConfigError(f"{config_path}: {where}: {message}")


class _Loader(yaml.SafeLoader):
    """Safe YAML, except that a date-shaped value that is no date (``2025-02-30``) stays text, so the
    key it belongs to can be named in the error instead of a bare ValueError escaping from PyYAML."""


def _timestamp_or_text(loader: _Loader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    # PyYAML keeps the last of two equal keys silently; a rate given twice must be an error instead.
    seen: dict = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{key}' is given twice (first at line {seen[key] + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_Loader)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the config must be UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'tables' section, found {type(data).__name__}")
    return data


def _parse_as_of(value: Any, config_path: Path) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, dt.date):  # YAML reads `as_of: 2025-12-31 10:00` as a datetime: keep the day
        return pd.Timestamp(value).normalize()
    try:
        return pd.Timestamp(dt.date.fromisoformat(str(value).strip()))
    except ValueError:
        raise _fail(config_path, "as_of", f"'{value}' is not a date in YYYY-MM-DD form") from None


def _parquet_files(pattern: str, path: Path, config_path: Path, where: str) -> tuple[Path, ...]:
    """The Parquet files a ``path:`` names: itself, the Parquet files of a folder, or a glob's matches.

    A text or Excel file gives ``()`` (it is read as text).
    """
    if any(char in pattern for char in _GLOB_CHARACTERS):
        matches = sorted(Path(match) for match in glob.glob(str(path), recursive=True))
        matches = [match for match in matches if match.is_file()]
        if not matches:
            raise _fail(config_path, f"{where}.path", f"no file matches the pattern {path}")
        other = [match for match in matches if match.suffix.lower() not in PARQUET_SUFFIXES]
        if other:
            raise _fail(config_path, f"{where}.path",
                        f"a pattern must match Parquet files only (.parquet, .pq); it matches {other[0]}")
        return tuple(match.resolve() for match in matches)
    if path.is_dir():
        files = sorted(found for found in path.rglob("*") if found.is_file()
                       and found.suffix.lower() in PARQUET_SUFFIXES
                       and not any(part.startswith((".", "_")) for part in found.relative_to(path).parts))
        if not files:
            raise _fail(config_path, f"{where}.path", f"file not found: {path} is a folder holding no Parquet file (.parquet, .pq)")
        return tuple(found.resolve() for found in files)
    if not path.is_file():
        if path.suffix.lower() in PARQUET_SUFFIXES or not path.suffix:
            raise _fail(config_path, f"{where}.path", f"file or folder not found: {path}")
        raise _fail(config_path, f"{where}.path", f"file not found: {path}")
    return (path.resolve(),) if path.suffix.lower() in PARQUET_SUFFIXES else ()


def _table_source(name: str, spec: Any, config_path: Path) -> TableSource:
    where = f"tables.{name}"
    if isinstance(spec, str):  # shorthand: `transactions: invoices.csv`
        spec = {"path": spec}
    if not isinstance(spec, dict):
        raise _fail(config_path, where, "expected a mapping with 'path' (a file) or 'table' (an engine table)")
    for key in spec:
        if key not in TABLE_KEYS:
            raise _fail(config_path, f"{where}.{key}",
                        f"unknown key (allowed: {', '.join(TABLE_KEYS)}){suggest(key, TABLE_KEYS)}")
    if spec.get("path") and spec.get("table"):
        raise _fail(config_path, where, "give either 'path' (files) or 'table' (a table of the engine's catalog), "
                                        "not both")
    if not spec.get("path") and not spec.get("table"):
        raise _fail(config_path, where, "'path' is missing (or 'table', for a table of the engine's catalog)")
    path, files, catalog_table = None, (), None
    if spec.get("table"):
        catalog_table = spec["table"]
        parts = str(catalog_table).split(".") if isinstance(catalog_table, str) else []
        if not parts or not all(part.strip() for part in parts) or len(parts) > 3:
            raise _fail(config_path, f"{where}.table",
                        f"expected a table name such as order_lines or sales.order_lines, got {catalog_table!r}")
        catalog_table = ".".join(part.strip() for part in parts)
    else:
        pattern = os.path.expanduser(str(spec["path"]))
        path = Path(pattern)
        if not path.is_absolute():
            path = config_path.parent / path
        files = _parquet_files(pattern, path, config_path, where)
    if (files or catalog_table) and spec.get("read"):
        what = f"the engine table {catalog_table}" if catalog_table else "Parquet"
        raise _fail(config_path, f"{where}.read",
                    f"read options (separator, decimal, encoding, ...) apply to text and Excel files; {what} is "
                    f"typed and read as it is: remove 'read:'")

    read = spec.get("read") or {}
    if not isinstance(read, dict):
        raise _fail(config_path, f"{where}.read", "expected a mapping such as {sep: ';', decimal: ','}")
    for key, value in read.items():
        if key not in READ_OPTIONS:
            options = ", ".join(READ_OPTIONS)
            raise _fail(config_path, f"{where}.read.{key}", f"unknown option (allowed: {options}){suggest(key, READ_OPTIONS)}")
        if key == "decimal" and value not in (".", ","):
            raise _fail(config_path, f"{where}.read.decimal", f"must be '.' or ',', got {value!r}")
        if key == "dayfirst" and not isinstance(value, bool):
            raise _fail(config_path, f"{where}.read.dayfirst", f"must be true or false, got {value!r}")
        if key == "skiprows" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise _fail(config_path, f"{where}.read.skiprows", f"must be a non-negative integer, got {value!r}")
        if key in ("sep", "thousands", "encoding") and not isinstance(value, str):
            example = {"sep": "';'", "thousands": "'.'", "encoding": "cp1252"}[key]
            raise _fail(config_path, f"{where}.read.{key}", f"must be text such as {key}: {example}, got {value!r}")
        if key == "sheet" and (not isinstance(value, str | int) or isinstance(value, bool)):
            raise _fail(config_path, f"{where}.read.sheet", f"must be a sheet name or a 0-based index, got {value!r}")
        if key == "encoding":
            try:
                codecs.lookup(str(value))
            except LookupError:
                raise _fail(config_path, f"{where}.read.encoding", f"unknown encoding {value!r}") from None

    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise _fail(config_path, f"{where}.columns", "expected a mapping canonical_name: 'Column in your file'")
    table = TABLES[name]
    known = table.column_names + table.attribute_columns
    for canonical, source in columns.items():
        if canonical not in known and not table.allow_extra:
            raise _fail(config_path, f"{where}.columns.{canonical}",
                        f"'{canonical}' is not a column of the {name} table "
                        f"(known: {', '.join(table.column_names)}"
                        + (f"; and the {table.attributes_of} attributes the lines may repeat: "
                           f"{', '.join(table.attribute_columns)}" if table.attributes_of else "")
                        + f"){suggest(canonical, known)}")
        if source is None or str(source).strip() == "":
            raise _fail(config_path, f"{where}.columns.{canonical}", "the source column name is empty")
    if path is not None and not any(char in str(path) for char in _GLOB_CHARACTERS):
        path = path.resolve()
    return TableSource(name, path, dict(read), {str(k): str(v) for k, v in columns.items()}, table=catalog_table,
                       files=files)


def _answer_key(value: Any, config_path: Path) -> Path | None:
    """The answer key named by ``answer_key:``: a JSON object holding the :data:`ANSWER_KEY_SECTIONS` lists."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(config_path, "answer_key", f"expected the name of a JSON file such as truth.json, got {value!r}")
    path = Path(os.path.expanduser(value.strip()))
    if not path.is_absolute():
        path = config_path.parent / path
    if not path.is_file():
        raise _fail(config_path, "answer_key", f"file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(config_path, "answer_key", f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise _fail(config_path, "answer_key",
                    f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise _fail(config_path, "answer_key", f"{path}: expected a JSON object, found {type(data).__name__}")
    wrong = [key for key in ANSWER_KEY_SECTIONS if not isinstance(data.get(key), list)]
    if wrong:
        raise _fail(config_path, "answer_key",
                    f"{path} is not an answer key written by `portfolio demo-data`: "
                    f"{', '.join(repr(key) for key in wrong)} missing or not a list")
    return path.resolve()


def load_config(path: str | os.PathLike) -> PortfolioConfig:
    """Read and validate a portfolio config.

    Paths inside the config are resolved relative to the config file. Only the
    ``transactions`` table is required.

    Raises
    ------
    ConfigError
        With a message naming the file, the key and what is expected.
    """
    config_path = Path(path).expanduser().resolve()
    data = _read_yaml(config_path)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise _fail(config_path, str(key),
                        f"unknown section (allowed: {', '.join(TOP_LEVEL_KEYS)}){suggest(key, TOP_LEVEL_KEYS)}")

    tables_spec = data.get("tables")
    if not isinstance(tables_spec, dict) or not tables_spec:
        raise _fail(config_path, "tables", "missing; at least 'tables: {transactions: {path: ...}}' is required")
    for name in tables_spec:
        if name not in TABLES:
            raise _fail(config_path, f"tables.{name}",
                        f"unknown table (known: {', '.join(TABLES)}){suggest(name, TABLES)}")
    if "transactions" not in tables_spec:
        raise _fail(config_path, "tables", "the 'transactions' table is required")

    seed = data.get("seed", 42)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise _fail(config_path, "seed", f"must be a non-negative integer, got {seed!r}")
    pseudonymize = data.get("pseudonymize", False)
    if not isinstance(pseudonymize, bool):
        raise _fail(config_path, "pseudonymize", f"must be true or false, got {pseudonymize!r}")
    currency = str(data.get("currency") or "EUR").strip()
    name = str(data.get("name") or config_path.stem).strip()

    tables = {
        table: _table_source(table, tables_spec[table], config_path)
        for table in TABLES  # canonical order
        if table in tables_spec
    }
    sections = {key: data[key] for key in ANALYSIS_SECTIONS if key in data}
    try:
        engine = engine_settings(data.get("engine"), base_dir=config_path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{config_path}: {exc}") from None
    catalog = [source for source in tables.values() if source.table is not None]
    if catalog and engine.backend == "duckdb" and engine.database is None:
        raise _fail(config_path, f"tables.{catalog[0].name}.table",
                    f"{catalog[0].table!r} is a table of the engine's catalog, but the engine is an in-memory DuckDB "
                    f"database that holds no table: name its file with `engine: {{backend: duckdb, database: "
                    f"file.duckdb}}` (or use `path:` for files)")
    if engine.database is not None and not Path(engine.database).is_file() and catalog:
        raise _fail(config_path, "engine.database", f"file not found: {engine.database}")
    return PortfolioConfig(
        path=config_path,
        name=name,
        currency=currency,
        as_of=_parse_as_of(data.get("as_of"), config_path),
        seed=seed,
        pseudonymize=pseudonymize,
        tables=tables,
        sections=sections,
        answer_key=_answer_key(data.get("answer_key"), config_path),
        engine=engine,
        engine_requested="engine" in data,
    )
