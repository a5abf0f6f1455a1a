"""Run the analysis notebooks and publish a self-contained report folder.

:func:`run_report` validates everything it can before starting a kernel (the
config, the notebook selection, every notebook's ``parameters`` cell and the
``--set`` overrides), then executes the notebooks in order with papermill and
builds the report in ``OUT/.partial-<run-id>/``:

* each notebook runs in a kernel of the *current* Python (a temporary
  ``portfolio-kit-python`` kernelspec), never in whatever ``python3`` kernel
  the user happens to have registered;
* notebooks run as a dependency graph, up to ``jobs`` at a time: each one
  declares the notebooks whose saved tables it reads in its metadata
  (``"portfolio": {"needs": ["01_data_cleaning"]}``, see :func:`notebook_needs`);
  one without that metadata needs every earlier notebook. Results are recorded
  in notebook order whatever the order of completion;
* a cell that runs longer than ``cell_timeout`` or a kernel that dies marks the
  notebook as failed, like an exception does; the notebooks that need a failed
  one (directly or not) are skipped, the others still run;
* the finished folder is renamed atomically to ``OUT/<run-id>``, failed or not,
  so its pages explain what went wrong, and ``OUT/latest`` is moved to it
  only when every notebook succeeded. An interruption removes the partial
  folder; earlier runs are never touched.
* a run that was killed (``kill -9``, a closed laptop, a crash of Python)
  cannot clean up: its partial folder holds an owner file (``.owner.json``: process
  id, host, process start time), and the next run in the same reports folder
  removes every partial folder whose process is gone (see
  :func:`remove_stale_partials`).
"""

from __future__ import annotations

import ast
import concurrent.futures
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
import yaml
from ipykernel.kernelspec import get_kernel_dict
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from papermill.exceptions import PapermillExecutionError

import portfolio_helpers
from portfolio_helpers.app.preflight import check_sections
from portfolio_helpers.core.errors import PortfolioError
from portfolio_helpers.core.files import atomic_write_json, atomic_write_text
from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting.exports import WRITER_ENV, write_customer_export
from portfolio_helpers.reporting.html import (
    find_network_references,
    notebook_title,
    notebook_to_html,
    render_index,
)
from portfolio_helpers.reporting.metrics import read_metrics

__all__ = [
    "RunResult",
    "NotebookResult",
    "run_report",
    "discover_notebooks",
    "select_notebooks",
    "notebook_needs",
    "default_jobs",
    "read_parameters",
    "parse_overrides",
    "resolve_parameters",
    "kernel_environment",
    "KERNEL_NAME",
    "remove_stale_partials",
    "REQUIRED_PARAMETERS",
]

REPO_DIR = Path(portfolio_helpers.__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_DIR / "data" / "sample" / "portfolio.yml"
DEFAULT_NOTEBOOKS_DIR = REPO_DIR / "notebooks"

KERNEL_NAME = "portfolio-kit-python"
NOTEBOOK_PATTERN = re.compile(r"^\d{2}_[a-z0-9_]+\.ipynb$")
#: Parameters the runner injects into every notebook; each must declare them.
REQUIRED_PARAMETERS = ("config_path", "output_dir", "seed", "strict")
# Optional parameters the runner sets whenever a notebook declares them (overridable with --set).
HEADLESS_PARAMETERS = {"interactive": False}
_VERSIONED_PACKAGES = (
    "pandas",
    "numpy",
    "duckdb",
    "ibis-framework",
    "papermill",
    "nbconvert",
    "scikit-learn",
    "matplotlib",
)


@dataclass
class NotebookResult:
    """Outcome of one notebook in a run (one entry of ``run.json["notebooks"]``).

    Attributes
    ----------
    name : str
        Notebook name without extension, e.g. ``"02_pareto"``.
    status : {"ok", "failed", "skipped"}
    seconds : float or None
        Wall time; None when skipped.
    error : str or None
        ``"cell 3 (In [3]): ValueError: ..."`` for a failure, the reason for a skip.
    cell : int or None
        0-based index of the failing cell in the source notebook.
    html : str or None
        Page of the executed notebook, relative to the run folder.
    title : str or None
        The notebook's first heading, shown on the index page.
    started, finished : str or None
        Local times (ISO 8601, to the millisecond) the notebook started and ended; None when skipped.
    """

    name: str
    status: str
    seconds: float | None = None
    error: str | None = None
    cell: int | None = None
    html: str | None = None
    title: str | None = None
    started: str | None = None
    finished: str | None = None


@dataclass
class RunResult:
    """What :func:`run_report` produced.

    Attributes
    ----------
    run_dir : Path
        Published run folder ``OUT/<run-id>``.
    status : {"ok", "failed"}
    notebooks : list of NotebookResult
    index_path : Path
        ``run_dir / "index.html"``.
    """

    run_dir: Path
    status: str
    notebooks: list[NotebookResult]
    index_path: Path

    @property
    def exit_code(self) -> int:
        """0 when every notebook succeeded, 1 otherwise."""
        return 0 if self.status == "ok" else 1


# --------------------------------------------------------------------------- notebooks


def discover_notebooks(notebooks_dir: str | os.PathLike) -> list[Path]:
    """Return the ``NN_name.ipynb`` notebooks of ``notebooks_dir``, in run order."""
    notebooks_dir = Path(notebooks_dir)
    if not notebooks_dir.is_dir():
        raise PortfolioError(f"notebooks folder not found: {notebooks_dir}")
    notebooks = sorted(p for p in notebooks_dir.iterdir() if NOTEBOOK_PATTERN.match(p.name))
    if not notebooks:
        raise PortfolioError(
            f"no notebooks to run in {notebooks_dir} (expected names like 01_data_cleaning.ipynb)"
        )
    return notebooks


def _resolve_notebook(token: str, notebooks: Sequence[Path], what: str) -> Path:
    """Find the notebook called ``token``: full name, name without number, or number."""
    token = token.removesuffix(".ipynb")
    if token.isdigit():
        token = f"{int(token):02d}"
    matches = [p for p in notebooks if token in (p.stem, p.stem[3:], p.stem[:2])]
    if len(matches) == 1:
        return matches[0]
    available = ", ".join(p.stem for p in notebooks)
    problem = "is ambiguous" if matches else "is not a notebook"
    raise PortfolioError(f"{what} {token!r} {problem}; available notebooks: {available}")


def select_notebooks(notebooks: Sequence[Path], only: Iterable[str] | None) -> list[Path]:
    """Restrict ``notebooks`` to the ``--only`` names, keeping the run order.

    Names may be given in full (``02_pareto``), without the number
    (``pareto``) or as the number alone (``02`` or ``2``).
    """
    if not only:
        return list(notebooks)
    chosen = {_resolve_notebook(token, notebooks, "--only") for token in only}
    return [p for p in notebooks if p in chosen]


NEEDS_METADATA = "portfolio"
"""Key of a notebook's metadata holding ``{"needs": [notebook names]}``."""


def _declared_needs(notebook: Path) -> list[str] | None:
    """The ``needs`` of a notebook's metadata, or None when it declares nothing."""
    meta = nbformat.read(notebook, as_version=4).metadata.get(NEEDS_METADATA)
    if meta is None or "needs" not in meta:
        return None
    needs = meta["needs"]
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise PortfolioError(
            f"notebook {notebook.stem}: metadata {NEEDS_METADATA}.needs must be a list of notebook names, "
            f"e.g. [\"01_data_cleaning\"]"
        )
    return needs


def notebook_needs(notebooks: Sequence[Path]) -> dict[str, list[str]]:
    """What each notebook needs to have run before it: notebook name -> names, in run order.

    A notebook declares the notebooks whose saved tables (``data/*.parquet``, the contact
    log...) it reads in its metadata, ``"portfolio": {"needs": ["01_data_cleaning",
    "03_profitability"]}``; a notebook without that metadata needs every earlier notebook
    (the safe default for a notebook added later). A need must be an earlier notebook
    (full name, name without number, or number), so the graph has no cycle. A notebook that
    reads an earlier notebook's saved tables when they are there and computes the same tables
    otherwise lists it under ``"reuses"`` instead: no constraint on the order (with one job,
    the run order puts the earlier notebook first; with more, both may run at once).

    Parameters
    ----------
    notebooks : sequence of Path
        Every notebook, in run order (:func:`discover_notebooks`).

    Returns
    -------
    dict
        Notebook name -> full names of the notebooks it needs.

    Raises
    ------
    PortfolioError
        If a need is not an earlier notebook, or the metadata is malformed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name, meta in [("01_load", {}), ("02_a", {"portfolio": {"needs": ["01"]}}), ("03_b", {})]:
    ...     nbformat.write(nbformat.v4.new_notebook(metadata=meta), folder / f"{name}.ipynb")
    >>> notebook_needs(discover_notebooks(folder))
    {'01_load': [], '02_a': ['01_load'], '03_b': ['01_load', '02_a']}
    """
    needs: dict[str, list[str]] = {}
    for position, notebook in enumerate(notebooks):
        earlier = list(notebooks[:position])
        declared = _declared_needs(notebook)
        if declared is None:
            needs[notebook.stem] = [p.stem for p in earlier]
            continue
        chosen = set()
        for token in declared:
            try:
                chosen.add(_resolve_notebook(token, earlier, f"notebook {notebook.stem} needs"))
            except PortfolioError as exc:
                raise PortfolioError(f"{exc} (a notebook can only need notebooks before it)") from None
        needs[notebook.stem] = [p.stem for p in earlier if p in chosen]
    return needs


def default_jobs() -> int:
    """Notebooks run at the same time by default: two, or one on a one-core machine."""
    return max(1, min(2, os.cpu_count() or 1))


def _parameters_cell_index(nb: nbformat.NotebookNode, name: str) -> int:
    tagged = [
        i for i, cell in enumerate(nb.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])
    ]
    if len(tagged) != 1:
        problem = (
            "has no cell tagged 'parameters'"
            if not tagged
            else f"has {len(tagged)} cells tagged 'parameters'"
        )
        raise PortfolioError(
            f"notebook {name} {problem}; it needs exactly one, declaring at least "
            f"{', '.join(REQUIRED_PARAMETERS)} (in Jupyter: select the cell, then add the tag "
            "'parameters' in the property inspector)"
        )
    if nb.cells[tagged[0]].cell_type != "code":
        raise PortfolioError(f"notebook {name}: the cell tagged 'parameters' must be a code cell")
    return tagged[0]


def read_parameters(notebook: str | os.PathLike) -> dict[str, Any]:
    """Read the defaults declared in a notebook's ``parameters`` cell.

    The cell must contain only assignments of literals (numbers, strings,
    booleans, None, and lists/tuples/dicts of those) to plain names, and
    declare every name of :data:`REQUIRED_PARAMETERS`: papermill would only
    warn, and the notebook would run with values it was not meant to get.

    Parameters
    ----------
    notebook : str or path-like
        Source ``.ipynb``.

    Returns
    -------
    dict
        Parameter name -> default value, in declaration order.

    Raises
    ------
    PortfolioError
        If the cell is missing, duplicated, not literal, or incomplete.
    """
    path = Path(notebook)
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[_parameters_cell_index(nb, path.stem)]
    where = f"notebook {path.stem}, parameters cell"
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise PortfolioError(f"{where}: not valid Python ({exc.msg}, line {exc.lineno})") from None
    declared: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target = stmt.target
        else:
            raise PortfolioError(
                f"{where}, line {stmt.lineno}: only simple assignments such as `threshold = 0.2` are allowed"
            )
        if not isinstance(target, ast.Name):
            raise PortfolioError(f"{where}, line {stmt.lineno}: assign one plain name per line")
        try:
            declared[target.id] = ast.literal_eval(stmt.value)
        except ValueError:
            raise PortfolioError(
                f"{where}, line {stmt.lineno}: `{target.id}` must be a literal (number, text, "
                "True/False/None, or a list/dict of those), not an expression; compute derived "
                "values in the next cell"
            ) from None
    missing = [name for name in REQUIRED_PARAMETERS if name not in declared]
    if missing:
        raise PortfolioError(
            f"{where}: missing {', '.join(missing)}; every notebook must declare "
            f"{', '.join(REQUIRED_PARAMETERS)} (the runner sets them)"
        )
    return declared


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """Parse ``--set key=value`` items; values are read as YAML scalars.

    ``0.2`` becomes a float, ``true`` a bool, ``[a, b]`` a list, anything else
    stays text. Dates are kept as ``YYYY-MM-DD`` text.
    """
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise PortfolioError(f"--set {item!r}: expected key=value, e.g. --set top_share=0.2")
        try:
            value = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError):  # ValueError: date-shaped but impossible, e.g. 2025-02-30
            value = text
        if isinstance(value, dt.date):
            value = value.isoformat()
        overrides[key] = value
    return overrides


def resolve_parameters(
    notebooks: Sequence[Path],
    declared: Mapping[str, Mapping[str, Any]],
    injected: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    all_notebooks: Sequence[Path] | None = None,
) -> dict[str, dict[str, Any]]:
    """Compute the parameters passed to each selected notebook.

    Parameters
    ----------
    notebooks : sequence of Path
        Selected notebooks.
    declared : mapping
        Notebook name -> parameters its ``parameters`` cell declares.
    injected : mapping
        Values of :data:`REQUIRED_PARAMETERS`, given to every notebook.
    overrides : mapping or None
        ``--set`` values. A plain ``name`` applies to every selected notebook
        declaring it; ``notebook.name`` (full name, name without number, or
        number) to that notebook only, and wins over a plain ``name``.
    all_notebooks : sequence of Path, optional
        Every notebook, to tell "not selected" from "does not exist".

    Returns
    -------
    dict
        Notebook name -> parameters to pass.

    Raises
    ------
    PortfolioError
        If an override targets nothing, or tries to set an injected parameter.
    """
    params = {p.stem: dict(injected) for p in notebooks}
    # Headless runs show static charts and tables: widgets would be dead in the HTML.
    for notebook in notebooks:
        for name, value in HEADLESS_PARAMETERS.items():
            if name in declared[notebook.stem]:
                params[notebook.stem][name] = value
    overrides = dict(overrides or {})
    for key in overrides:
        name = key.rpartition(".")[2]
        if name in REQUIRED_PARAMETERS:
            raise PortfolioError(
                f"--set {key}: {name} is set by the runner (from --config, --out, --strict "
                "or the config's seed) and cannot be overridden"
            )
    # Plain keys first so that notebook-scoped keys win whatever their order.
    for key, value in sorted(overrides.items(), key=lambda item: "." in item[0]):
        prefix, dot, name = key.rpartition(".")
        if not dot:
            targets = [p.stem for p in notebooks if name in declared[p.stem]]
            if not targets:
                raise PortfolioError(f"--set {key}: no selected notebook declares it; {_settable(declared)}")
        else:
            notebook = _resolve_notebook(prefix, all_notebooks or notebooks, f"--set {key}: notebook")
            if notebook not in notebooks:
                raise PortfolioError(f"--set {key}: notebook {notebook.stem} is not selected (see --only)")
            if name not in declared[notebook.stem]:
                raise PortfolioError(
                    f"--set {key}: notebook {notebook.stem} does not declare {name!r}; {_settable(declared)}"
                )
            targets = [notebook.stem]
        for target in targets:
            params[target][name] = value
    return params


def _settable(declared: Mapping[str, Mapping[str, Any]]) -> str:
    lines = []
    for notebook, names in declared.items():
        own = [n for n in names if n not in REQUIRED_PARAMETERS]
        lines.append(f"{notebook}: {', '.join(own) if own else '(none)'}")
    return "parameters you can set: " + "; ".join(lines)


# --------------------------------------------------------------------------- execution


@contextlib.contextmanager
def kernel_environment() -> Iterator[str]:
    """Register a temporary kernelspec running the current Python; yield its name.

    The spec lives in a temporary folder put first on ``JUPYTER_PATH`` for the
    duration of the block, so it wins over any ``portfolio-kit-python`` or
    ``python3`` kernel the user has registered elsewhere.
    """
    # argv: [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}", ...]. The kernel's
    # own log (plain-TCP warning, tracebacks while we stop a timed-out kernel) would only clutter the
    # terminal: cell errors are captured in the executed notebook.
    # No input history either: a report kernel's history is of no use, and its kernel is stopped at once
    # when the notebook ends (see _execute), so nothing is left half-written in the user's history database.
    spec = get_kernel_dict(extra_arguments=["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.enabled=False"])
    spec["display_name"] = "Python (portfolio kit)"
    # Inline figures even when the caller exported MPLBACKEND=Agg (as `make test` does).
    spec["env"] = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    previous = os.environ.get("JUPYTER_PATH")
    with tempfile.TemporaryDirectory(prefix="portfolio-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [tmp, previous]))
        try:
            yield KERNEL_NAME
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous


class _Heartbeat:
    """Print ``still running NAME (N s)`` every ``interval`` seconds from a thread."""

    def __init__(self, name: str, interval: float, progress: Callable[[str], Any]):
        self.name, self.interval, self.progress = name, interval, progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{name}", daemon=True)

    def _beat(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(self.interval):
            self.progress(f"    still running {self.name} ({time.monotonic() - start:.0f} s)")

    def __enter__(self) -> _Heartbeat:
        if self.interval > 0:  # 0: no heartbeat
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def _describe_cell(index: int | None, execution_count: int | None) -> str:
    if index is None:
        return "before the first cell"
    return f"cell {index}" + (f" (In [{execution_count}])" if execution_count else "")


def _last_started_cell(executed: Path) -> tuple[int | None, int | None]:
    """Index and execution count of the cell running when execution stopped.

    Papermill marks a cell "completed" even when a timeout or a dead kernel
    interrupted it, so we look for the last cell that was started instead.
    """
    if not executed.is_file():
        return None, None
    nb = nbformat.read(executed, as_version=4)
    started = [i for i, c in enumerate(nb.cells) if c.metadata.get("papermill", {}).get("start_time")]
    if not started:
        return None, None
    return started[-1], nb.cells[started[-1]].get("execution_count")


def _execute(
    source: Path,
    executed: Path,
    parameters: Mapping[str, Any],
    *,
    kernel_name: str,
    cell_timeout: float,
    kernels: set | None = None,
) -> tuple[str | None, int | None]:
    """Execute one notebook; return ``(error, cell)``, both None on success.

    The kernel gets ``PORTFOLIO_NOTEBOOK=<name>`` in its environment (the writer of its part of
    the shared exports, see :mod:`portfolio_helpers.reporting.exports`); its manager is kept in
    ``kernels`` while it runs, so that an interrupted run can stop it.

    ``cell`` is the index in the *source* notebook: papermill inserts an
    ``injected-parameters`` cell right after the ``parameters`` cell.
    """
    params_index = _parameters_cell_index(nbformat.read(source, as_version=4), source.stem)

    def source_index(index: int | None) -> int | None:
        return index - 1 if index is not None and index > params_index else index

    try:
        pm.execute_notebook(
            str(source),
            str(executed),
            parameters=dict(parameters),
            kernel_name=kernel_name,
            language="python",
            cwd=str(source.parent),
            execution_timeout=cell_timeout,
            progress_bar=False,
            log_output=False,
            kernel_manager_class=_manager_class(source.stem, kernels if kernels is not None else set()),
            # Every cell has ended and its outputs are in: stop the kernel at once rather than wait about
            # a second for it to tear Python down (its notebook, and the ones that need it, go on earlier).
            shutdown_kernel="immediate",
        )
    except PapermillExecutionError as exc:
        cell = source_index(exc.cell_index)
        return f"{_describe_cell(cell, exc.exec_count)}: {exc.ename}: {exc.evalue}", cell
    except TimeoutError:  # nbclient's CellTimeoutError
        index, count = _last_started_cell(executed)
        cell = source_index(index)
        reason = (
            f"CellTimeoutError: the cell ran longer than {cell_timeout:g} s (per-cell limit, see --timeout)"
        )
        return f"{_describe_cell(cell, count)}: {reason}", cell
    except DeadKernelError:
        index, count = _last_started_cell(executed)
        cell = source_index(index)
        reason = "DeadKernelError: the kernel died (out of memory, a crash in native code, or os._exit)"
        return f"{_describe_cell(cell, count)}: {reason}", cell
    return None, None


def _manager_class(name: str, kernels: set) -> type[AsyncKernelManager]:
    """A kernel manager that names the notebook in the kernel's environment and registers itself."""

    class _NotebookKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw["env"] = {**kw.get("env", os.environ), WRITER_ENV: name}
            kernels.add(self)
            await super().start_kernel(**kw)

        async def cleanup_resources(self, restart: bool = False) -> None:  # type: ignore[override]
            kernels.discard(self)
            await super().cleanup_resources(restart=restart)

    return _NotebookKernelManager


def _kill_kernels(kernels: set) -> None:
    """Kill the kernels still running (an interrupted run): their notebooks then end at once."""
    for manager in list(kernels):
        process = getattr(getattr(manager, "provisioner", None), "process", None)
        with contextlib.suppress(OSError):
            if process is not None:
                process.kill()


# --------------------------------------------------------------------------- run folder


def _now() -> dt.datetime:
    return dt.datetime.now().astimezone()


PARTIAL_OWNER = ".owner.json"
"""File of a partial run folder naming the process that builds it."""

STALE_UNOWNED_SECONDS = 24 * 3600
"""A partial folder without a readable owner file is removed once unchanged for this long."""


def _process_start(pid: int) -> str | None:
    """Start time of process ``pid`` in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; the start time is field 22.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _owner_record() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": platform.node(), "process_start": _process_start(os.getpid())}


def _process_alive(owner: Mapping[str, Any]) -> bool:
    """Whether the process recorded in ``owner`` still runs; unknown counts as alive."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if owner.get("host") != platform.node() or os.name == "nt":
        return True  # another machine (shared folder), or no signal 0 on Windows: cannot tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    recorded = owner.get("process_start")
    current = _process_start(pid)
    # Same pid but a different start time: the pid was reused by an unrelated process.
    return recorded is None or current is None or recorded == current


def remove_stale_partials(out_dir: str | os.PathLike, now: float | None = None) -> list[Path]:
    """Remove the ``.partial-<run-id>`` folders left by runs that were killed.

    A partial folder is stale when the process named in its owner file is gone
    on this machine (or its pid now belongs to a process started later). A
    folder without a readable owner file (left by an older version of the kit,
    or by a run killed right after creating it) is stale once nothing in it
    changed for :data:`STALE_UNOWNED_SECONDS`. Folders of running processes,
    of another machine, and published runs are never touched.

    Parameters
    ----------
    out_dir : str or path-like
        Reports folder.
    now : float, optional
        Current time (``time.time()``), for tests.

    Returns
    -------
    list of Path
        The folders removed.
    """
    now = time.time() if now is None else now
    removed = []
    for partial in sorted(Path(out_dir).glob(".partial-*")):
        if not partial.is_dir() or partial.is_symlink():
            continue
        try:
            owner = json.loads((partial / PARTIAL_OWNER).read_text(encoding="utf-8"))
            stale = not _process_alive(owner) if isinstance(owner, dict) else None
        except (OSError, ValueError):
            stale = None
        if stale is None:  # no readable owner: judge by age
            try:
                changed = max([partial.stat().st_mtime, *(p.stat().st_mtime for p in partial.iterdir())])
            except OSError:
                continue
            stale = now - changed > STALE_UNOWNED_SECONDS
        if stale:
            shutil.rmtree(partial, ignore_errors=True)
            if not partial.exists():
                removed.append(partial)
    return removed


def _reserve_run_dir(out_dir: Path, started: dt.datetime) -> tuple[str, Path]:
    """Pick a free run id and create its partial folder, with its owner file.

    ``mkdir`` of ``.partial-<id>`` is the reservation: two runs started in the
    same second get different ids, and an id whose folder was published
    (renamed) is seen as taken too.
    """
    base = started.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        run_id = base if n == 1 else f"{base}-{n}"
        partial = out_dir / f".partial-{run_id}"
        if (out_dir / run_id).exists():
            continue
        try:
            partial.mkdir()
        except FileExistsError:
            continue
        atomic_write_json(partial / PARTIAL_OWNER, _owner_record())
        return run_id, partial
    raise PortfolioError(f"cannot find a free run id in {out_dir} for {base}")


def _point_latest(out_dir: Path, run_id: str) -> None:
    """Make ``OUT/latest`` a relative symlink to ``run_id``, atomically."""
    tmp = out_dir / f".latest-{run_id}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(run_id, tmp)
    os.replace(tmp, out_dir / "latest")


def _prepare_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise PortfolioError(f"output folder {out_dir} is a file, not a folder") from None
    latest = out_dir / "latest"
    if latest.exists() and not latest.is_symlink():
        raise PortfolioError(
            f"{latest} exists and is not a symlink; move it away so the runner can manage it"
        )


def _versions() -> dict[str, str | None]:
    def version(dist: str) -> str | None:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    versions = {
        "python": platform.python_version(),
        "portfolio_helpers": version("portfolio-kit") or portfolio_helpers.__version__,
    }
    versions.update({dist: version(dist) for dist in _VERSIONED_PACKAGES})
    return versions


def _git_info(path: Path) -> dict[str, Any] | None:
    """Commit of the repository containing ``path``, or None outside git."""

    def git(*args: str) -> subprocess.CompletedProcess:
        # --no-optional-locks: `status` must not rewrite the index of the user's checkout.
        return subprocess.run(
            ["git", "--no-optional-locks", "-C", str(path), *args],
            capture_output=True,
            text=True,
            timeout=10,
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return {"commit": head.stdout.strip(), "dirty": dirty}


def _exports(run_dir: Path) -> list[dict[str, Any]]:
    exports = run_dir / "exports"
    return [
        {"path": path.relative_to(run_dir).as_posix(), "size": path.stat().st_size}
        for path in sorted(exports.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    ]


# --------------------------------------------------------------------------- entry point


def run_report(
    config_path: str | os.PathLike | None = None,
    out_dir: str | os.PathLike = "reports",
    only: Iterable[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    strict: bool = False,
    notebooks_dir: str | os.PathLike | None = None,
    cell_timeout: float = 600,
    progress: Callable[[str], Any] = print,
    heartbeat: float = 30.0,
    notebook_started: Callable[[int, int, str], Any] | None = None,
    jobs: int | None = None,
) -> RunResult:
    """Execute the notebooks and publish ``OUT/<run-id>/`` with ``index.html``.

    Parameters
    ----------
    config_path : str or path-like, optional
        Portfolio config; defaults to the bundled sample ``data/sample/portfolio.yml``.
    out_dir : str or path-like, default="reports"
        Folder holding the runs and the ``latest`` symlink.
    only : iterable of str, optional
        Notebooks to run (full name, name without number, or number); all by default.
    overrides : mapping, optional
        Parameter overrides, see :func:`resolve_parameters` and :func:`parse_overrides`.
    strict : bool, default=False
        Passed to the loader and to the notebooks: row problems become errors.
    notebooks_dir : str or path-like, optional
        Folder of ``NN_name.ipynb`` notebooks; defaults to the repository's ``notebooks/``.
    cell_timeout : float, default=600
        Seconds a single cell may run before its notebook is marked failed.
    progress : callable, default=print
        Receives one line of progress at a time.
    heartbeat : float, default=30.0
        Seconds between "still running" lines while a notebook runs.
    notebook_started : callable, optional
        Called as ``notebook_started(number, total, name)`` when a notebook starts. When
        given, the runner writes no start line and no "still running" lines: the caller shows
        progress its own way (the command line rewrites one line per notebook), and each
        notebook ends with one ``[n/N] name ... ok (8.7 s)`` line through ``progress``.
    jobs : int, optional
        Notebooks run at the same time (:func:`default_jobs` by default), in the order
        of their needs (:func:`notebook_needs`). The results do not depend on it.

    Returns
    -------
    RunResult

    Raises
    ------
    PortfolioError
        For an invalid config, notebook selection, parameters cell or override;
        raised before anything runs, and no run folder is created.
    """
    config_path = Path(config_path or DEFAULT_CONFIG).expanduser().resolve()
    notebooks_dir = Path(notebooks_dir or DEFAULT_NOTEBOOKS_DIR).expanduser().resolve()
    out_dir = Path(out_dir).expanduser().resolve()

    portfolio = load_portfolio(config_path, strict=strict)
    check_sections(portfolio.config)  # costs:, scoring:, clv:, objectives:... before any notebook starts
    # the notebooks load their own tables: the runner keeps the config, the inputs and the count of rejected
    # rows, not the tables, for the hours a big run lasts (5M customers: about 1 GB of customer table)
    config, as_of_day, inputs = portfolio.config, portfolio.as_of, portfolio.inputs
    loader_rejected = int(portfolio.n_rejected_rows)
    del portfolio
    all_notebooks = discover_notebooks(notebooks_dir)
    selected = select_notebooks(all_notebooks, only)
    needs = notebook_needs(all_notebooks)
    jobs = default_jobs() if jobs is None else int(jobs)
    if jobs < 1:
        raise PortfolioError(f"--jobs must be at least 1, got {jobs}")
    declared = {p.stem: read_parameters(p) for p in selected}
    injected = {
        "config_path": str(config_path),
        "output_dir": None,  # known once the run folder is reserved
        "seed": int(config.seed),
        "strict": bool(strict),
    }
    parameters = resolve_parameters(selected, declared, injected, overrides, all_notebooks)
    _prepare_out_dir(out_dir)
    for stale in remove_stale_partials(out_dir):
        progress(f"Removed {stale.name}, left by an interrupted run")

    started = _now()
    clock = time.monotonic()
    run_id, partial = _reserve_run_dir(out_dir, started)
    try:
        for params in parameters.values():
            params["output_dir"] = str(partial)
        (partial / "exports").mkdir()
        as_of = as_of_day.strftime("%Y-%m-%d")
        header = {"portfolio": config.name, "as_of": as_of, "run_id": run_id}
        progress(
            f"Portfolio {config.name} as of {as_of}: running {len(selected)} notebook(s), run {run_id}"
        )

        results = _run_graph(
            selected, needs, jobs, partial, parameters, header,
            cell_timeout=cell_timeout, progress=progress, heartbeat=heartbeat, notebook_started=notebook_started,
        )

        write_customer_export(partial)  # (once, from the notebooks' parts: no kernel merges every customer)
        status = "ok" if all(r.status == "ok" for r in results) else "failed"
        finished = _now()
        metrics = read_metrics(partial, [p.stem for p in selected])
        run = {
            "status": status,
            "run_id": run_id,
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_seconds": round(time.monotonic() - clock, 2),
            "config": str(config_path),
            "portfolio": config.name,
            "currency": config.currency,
            "as_of": as_of,
            # Notebooks wrote into the partial folder; record where that folder is published.
            "parameters": {name: {**params, "output_dir": str(out_dir / run_id)}
                           for name, params in parameters.items()},
            "inputs": [
                {key: item.get(key) for key in ("table", "path", "sha256", "rows")}
                for item in inputs
            ],
            # notebook 01's count (it also sets aside what only the cleaning sees, e.g. scores outside the
            # feedback scale); the loader's count when notebook 01 did not run
            "n_rejected_rows": int(metrics.get("n_rejected_rows", loader_rejected)),
            "versions": _versions(),
            "git": _git_info(notebooks_dir),
            "notebooks": [asdict(r) for r in results],
            "metrics": metrics,
        }
        atomic_write_json(partial / "run.json", run)
        rejected = partial / "exports" / "rejected_rows.csv"
        index_html = render_index(
            run, _exports(partial), rejected.relative_to(partial).as_posix() if rejected.is_file() else None,
            run_dir=partial,
        )
        atomic_write_text(partial / "index.html", index_html)

        run_dir = out_dir / run_id
        (partial / PARTIAL_OWNER).unlink(missing_ok=True)
        os.rename(partial, run_dir)
    except BaseException:
        # Interrupted or unexpected failure: drop this run only, then let it propagate.
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if status == "ok":
        try:
            _point_latest(out_dir, run_id)
        except OSError as exc:  # e.g. a file system without symlinks: the run itself is published
            progress(f"warning: could not point {out_dir / 'latest'} to {run_id}: {exc}")
    return RunResult(run_dir=run_dir, status=status, notebooks=results, index_path=run_dir / "index.html")


def _run_graph(
    selected: Sequence[Path],
    needs: Mapping[str, Sequence[str]],
    jobs: int,
    partial: Path,
    parameters: Mapping[str, Mapping[str, Any]],
    header: Mapping[str, str],
    *,
    cell_timeout: float,
    progress: Callable[[str], Any],
    heartbeat: float,
    notebook_started: Callable[[int, int, str], Any] | None,
) -> list[NotebookResult]:
    """Run ``selected`` up to ``jobs`` at a time, each once the notebooks it needs succeeded.

    A notebook whose need is not selected (``--only``) computes what that notebook would have
    saved (``open_portfolio``, ``customer_tables``...), and saves some of it: it waits for every
    earlier selected notebook, as in a sequential run, so that two notebooks never compute and
    save the same tables at the same time. A notebook whose need failed or was skipped is
    skipped, with the failed notebook as the reason. Of the ready notebooks, the one heading the
    longest chain of notebooks that wait for it starts first (:func:`_chain_lengths`; run order
    on a tie), so that a long chain does not wait behind a notebook nothing needs; the results
    come back in run order.
    """
    names = [p.stem for p in selected]
    number = {name: i for i, name in enumerate(names, start=1)}
    needs = {name: (needs[name] if set(needs[name]) <= number.keys() else names[:number[name] - 1])
             for name in names}
    chain = _chain_lengths(names, needs)
    selected = sorted(selected, key=lambda source: (-chain[source.stem], number[source.stem]))
    prefix = {name: f"[{number[name]}/{len(names)}] {name} ..." for name in names}
    done: dict[str, NotebookResult] = {}
    failed_root: dict[str, str] = {}  # not-ok notebook -> the failed notebook behind it
    pending = list(selected)
    running: dict[concurrent.futures.Future, str] = {}
    kernels: set = set()
    with kernel_environment() as kernel_name, concurrent.futures.ThreadPoolExecutor(
        max_workers=jobs, thread_name_prefix="notebook"
    ) as pool:
        try:
            while pending or running:
                for source in list(pending):
                    name = source.stem
                    wanted = [n for n in needs[name] if n in number]
                    blocked = [n for n in wanted if n in failed_root]
                    if blocked:
                        root = failed_root[blocked[0]]
                        failed_root[name] = root
                        done[name] = NotebookResult(name, "skipped", error=f"skipped: {root} failed",
                                                    title=notebook_title(nbformat.read(source, as_version=4), name))
                        progress(f"{prefix[name]} skipped ({root} failed)")
                        pending.remove(source)
                    elif len(running) < jobs and all(n in done for n in wanted):
                        if notebook_started is None:
                            progress(prefix[name])
                        else:
                            notebook_started(number[name], len(names), name)
                        future = pool.submit(
                            _run_one, source, partial, parameters[name], header, kernel_name=kernel_name,
                            cell_timeout=cell_timeout, progress=progress, kernels=kernels,
                            heartbeat=heartbeat if notebook_started is None else 0,
                        )
                        running[future] = name
                        pending.remove(source)
                if not running:
                    continue
                finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: number[running[f]]):
                    name = running.pop(future)
                    result = done[name] = future.result()
                    if result.status != "ok":
                        failed_root[name] = name
                    outcome = result.status if not result.error else f"{result.status}: {result.error}"
                    progress(f"{prefix[name]} {outcome} ({result.seconds:.1f} s)")
        except BaseException:
            # Interrupted: stop what runs, so that leaving the pool does not wait for the notebooks.
            for future in running:
                future.cancel()
            _kill_kernels(kernels)
            raise
    return [done[name] for name in names]


def _chain_lengths(names: Sequence[str], needs: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Notebooks in the longest chain that starts at each notebook and follows the notebooks needing it.

    Examples
    --------
    >>> _chain_lengths(["01", "02", "03", "04"], {"01": [], "02": ["01"], "03": ["01"], "04": ["03"]})
    {'01': 3, '02': 1, '03': 2, '04': 1}
    """
    length: dict[str, int] = {}
    for name in reversed(names):  # a notebook only needs earlier ones: its dependants are already counted
        length[name] = 1 + max((length[other] for other in names if name in needs[other]), default=0)
    return {name: length[name] for name in names}


def _run_one(
    source: Path,
    partial: Path,
    parameters: Mapping[str, Any],
    header: Mapping[str, str],
    *,
    kernel_name: str,
    cell_timeout: float,
    progress: Callable[[str], Any],
    heartbeat: float,
    kernels: set,
) -> NotebookResult:
    """Execute one notebook into ``partial`` and write its page; return its result."""
    name = source.stem
    executed = partial / f"{name}.ipynb"
    started, tick = _now(), time.monotonic()
    with _Heartbeat(name, heartbeat, progress):
        error, cell = _execute(source, executed, parameters, kernel_name=kernel_name, cell_timeout=cell_timeout,
                               kernels=kernels)
    result = NotebookResult(name, "failed" if error else "ok", error=error, cell=cell,
                            title=notebook_title(nbformat.read(source, as_version=4), name))
    if executed.is_file():
        _export_html(source, executed, result, header, progress)
    result.seconds = round(time.monotonic() - tick, 2)
    result.started = started.isoformat(timespec="milliseconds")
    result.finished = _now().isoformat(timespec="milliseconds")
    return result


def _export_html(
    source: Path,
    executed: Path,
    result: NotebookResult,
    header: Mapping[str, str],
    progress: Callable[[str], Any],
) -> None:
    """Write the page of an executed notebook and record it on ``result``.

    A page that cannot be built fails the notebook rather than the whole run:
    the other notebooks' results are still worth publishing.
    """
    html = executed.with_suffix(".html")
    try:
        notebook_to_html(executed, html, None, error=result.error, source_dir=source.parent, **header)
    except Exception as exc:  # reported in run.json and on the index page
        result.status = "failed"
        result.error = result.error or f"HTML export failed: {type(exc).__name__}: {exc}"
        return
    result.html = html.name
    remote = find_network_references(html.read_text(encoding="utf-8"))
    if remote:
        progress(
            f"    warning: {html.name} loads {len(remote)} resource(s) from the network, e.g. {remote[0]}"
        )
