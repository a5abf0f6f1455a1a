"""The engine a portfolio's transaction-level work runs on: DuckDB by default, PySpark on request.

The config's ``engine:`` section chooses it::

    engine: {backend: duckdb}                  # default; optional database: file.duckdb, memory_limit: 8GB, threads: 2
    engine: {backend: pyspark}                 # master: local[*] by default, or spark://host:7077; conf: {...}

DuckDB works within ``memory_limit`` (default: :data:`DEFAULT_MEMORY_SHARE` of the machine's memory)
and spills to a temporary folder beyond it, so that a portfolio bigger than memory runs.

:func:`connect` opens (once per process and settings) the Ibis connection; the analysis
functions of :mod:`portfolio_helpers.analysis.engine` run their expressions on the connection
their tables are bound to, so that choosing the engine is only a matter of where the tables are
opened. PySpark is an optional extra (``pip install .[spark]``) that needs Java.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.core.validation import suggest

__all__ = ["BACKENDS", "EngineSettings", "engine_settings", "connect", "default_memory_limit", "quiet"]

BACKENDS = ("duckdb", "pyspark")
_KEYS = {
    "duckdb": ("backend", "database", "memory_limit", "threads"),
    "pyspark": ("backend", "master", "conf"),
}


@dataclass(frozen=True)
class EngineSettings:
    """Which engine runs the transaction-level work, and how it is opened.

    ``conf`` is a tuple of ``(key, value)`` pairs so that the settings are hashable (one
    connection per distinct settings).
    """

    backend: str = "duckdb"
    database: str | None = None  # DuckDB file; None: in memory
    memory_limit: str | None = None  # DuckDB, e.g. "8GB"
    threads: int | None = None  # DuckDB worker threads
    master: str = "local[*]"  # Spark master URL
    conf: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # extra Spark settings


def engine_settings(section: Any, where: str = "engine", base_dir: str | os.PathLike | None = None) -> EngineSettings:
    """Validate a config's ``engine:`` section (``None``: the default DuckDB in memory).

    Raises
    ------
    ConfigError
        Naming the key and what is expected.

    Examples
    --------
    >>> engine_settings(None)
    EngineSettings(backend='duckdb', database=None, memory_limit=None, threads=None, master='local[*]', conf=())
    >>> engine_settings({"backend": "pyspark", "conf": {"spark.driver.memory": "8g"}}).conf
    (('spark.driver.memory', '8g'),)
    >>> engine_settings({"backend": "duckbd"})
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: engine.backend: unknown engine 'duckbd' (known: duckdb, pyspark) (did you mean 'duckdb'?)
    """
    if section is None:
        return EngineSettings()
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: expected a mapping such as {{backend: duckdb}}, got {section!r}")
    backend = str(section.get("backend", "duckdb"))
    if backend not in BACKENDS:
        raise ConfigError(f"{where}.backend: unknown engine {backend!r} (known: {', '.join(BACKENDS)})"
                          f"{suggest(backend, BACKENDS)}")
    for key in section:
        if key not in _KEYS[backend]:
            raise ConfigError(f"{where}.{key}: not a setting of the {backend} engine "
                              f"(allowed: {', '.join(_KEYS[backend])}){suggest(key, _KEYS[backend])}")
    if backend == "duckdb":
        database = section.get("database")
        if database is not None:
            database = Path(os.path.expanduser(str(database)))
            if not database.is_absolute() and base_dir is not None:
                database = Path(base_dir) / database
            database = str(database)
        threads = section.get("threads")
        if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
            raise ConfigError(f"{where}.threads: expected a positive whole number, got {threads!r}")
        limit = section.get("memory_limit")
        if limit is not None and not str(limit).strip():
            raise ConfigError(f"{where}.memory_limit: expected a size such as 8GB, got {limit!r}")
        return EngineSettings("duckdb", database=database, memory_limit=None if limit is None else str(limit).strip(),
                              threads=threads)
    conf = section.get("conf") or {}
    if not isinstance(conf, dict):
        raise ConfigError(f"{where}.conf: expected a mapping of Spark settings, got {conf!r}")
    master = str(section.get("master") or "local[*]")
    return EngineSettings("pyspark", master=master, conf=tuple(sorted((str(k), str(v)) for k, v in conf.items())))


@contextlib.contextmanager
def quiet():
    """Silence the warnings engines print about pandas 3 (Ibis 12, PySpark): harmless, noisy in reports."""
    with warnings.catch_warnings():  # Ibis 12 reads a deprecated pandas option; PySpark warns about pandas 3
        warnings.filterwarnings("ignore", message=".*future.infer_string.*")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*fetch_arrow_table.*", category=DeprecationWarning)
        yield


def bound_backend(expr):
    """The engine an Ibis expression's tables are bound to (the one that scanned them), or None when every
    table is an in-memory one (any engine runs it)."""
    import ibis

    try:
        return expr._find_backend(use_default=False)
    except ibis.common.exceptions.IbisError:
        return None


@functools.cache
def connect(settings: EngineSettings = EngineSettings()):
    """The Ibis connection of ``settings``: opened once per process, then reused.

    Raises
    ------
    ConfigError
        When PySpark is asked for but not installed, or Java is missing.
    """
    if settings.backend == "pyspark":
        return _spark(settings)
    import ibis

    config = {"memory_limit": settings.memory_limit or default_memory_limit()}
    if config["memory_limit"] is None:
        del config["memory_limit"]
    if not settings.database:  # (a database file spills next to itself, DuckDB's <file>.tmp)
        _remove_stale_spill_folders()
        config["temp_directory"] = str(Path(tempfile.gettempdir()) / f"{_SPILL_PREFIX}{os.getpid()}")
    if settings.threads:
        config["threads"] = settings.threads
    con = ibis.duckdb.connect(settings.database or ":memory:", **config)
    con.raw_sql("SET enable_progress_bar = false")  # a report's console shows one line per notebook, nothing else
    for statement in DUCKDB_MEMORY_SETTINGS:
        con.raw_sql(statement)
    return con


#: The share of the machine's memory the kit's DuckDB works in when the config sets no ``memory_limit``
#: (DuckDB's own default is 80 %). Beyond it DuckDB spills to a temporary folder: counting the distinct
#: lines of 10M took the same 9 s within 0.5 GB as in 2.1 GB; the report's per-customer frames keep the
#: rest of the memory. At 20 %, notebook 02's kernel peaked at 8.6 GB while notebook 01's checks counted the
#: distinct lines of 100M (5M customers, 24 GB machine): DuckDB's 4.7 GB beside 3.7 GB of customer tables.
DEFAULT_MEMORY_SHARE = 0.15


def default_memory_limit(share: float = DEFAULT_MEMORY_SHARE) -> str | None:
    """``share`` of the memory this process may use as a DuckDB size (``"4915MB"``): the machine's physical
    memory, or the container's limit when it is smaller (cgroup v2 ``memory.max``, v1
    ``memory.limit_in_bytes``); None when the system does not say (DuckDB's default then).

    Examples
    --------
    >>> default_memory_limit().endswith("MB")
    True
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # (not on every system)
        return None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text.isdigit():  # ("max": no limit)
            total = min(total, int(text))
    return f"{max(int(total * share / 2**20), 256)}MB"


#: How the kit's DuckDB gives memory back. By default DuckDB keeps up to 128 MiB per task in its allocator
#: after a query and frees lazily; grouping 10M lines into 1M customers then left the process 1.1 GB bigger
#: than its 0.2 GB result (1.43 GB at the peak). Flushing from 16 MiB, with the allocator's background
#: threads, measured 0.6 GB after and 1.05 GB at the peak, in the same time: memory grows with the
#: customers, not with what the last query left behind.
DUCKDB_MEMORY_SETTINGS = ("SET allocator_flush_threshold = '16MB'", "SET allocator_background_threads = true")


_SPILL_PREFIX = "portfolio-duckdb-"


def _remove_stale_spill_folders() -> None:
    """Remove the spill folders of kit processes that are gone: a report's kernels are stopped, not closed, so
    DuckDB leaves their folder behind (its owner marker, and the spilled blocks of a process that crashed)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_SPILL_PREFIX}*"):
        pid = folder.name.removeprefix(_SPILL_PREFIX)
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            for leftover in folder.iterdir():
                leftover.unlink()
            folder.rmdir()
        except OSError:  # (another process cleaning it, or not ours to remove)
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (exists, owned by someone else)
        return True
    return True


def _spark(settings: EngineSettings):
    import warnings

    try:
        with warnings.catch_warnings():  # PySpark warns about pandas 3, which the kit does not use through Spark
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("engine.backend: pyspark is not installed; install the extra with "
                          "`pip install .[spark]` (it needs Java, e.g. Debian's openjdk-17-jre-headless)") from None
    import ibis

    builder = (SparkSession.builder.master(settings.master).appName("portfolio-kit")
               .config("spark.sql.session.timeZone", "UTC")  # dates are calendar dates: no time-zone shift
               .config("spark.ui.showConsoleProgress", "false"))
    for key, value in settings.conf:
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Java missing or misconfigured: say so in one line
        raise ConfigError(f"engine.backend: could not start Spark ({type(exc).__name__}: {exc}); "
                          f"is Java installed (java -version)?") from None
    session.sparkContext.setLogLevel("ERROR")
    return ibis.pyspark.connect(session)
