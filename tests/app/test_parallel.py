"""Notebooks run as a dependency graph, several at a time, with the same results as one at a time.

* the needs each notebook declares in its metadata match the saved tables its code reads
  (a static check of the calls that take ``output_dir``);
* the shared customer export loses no column and does not depend on the order in which
  the notebooks finish;
* a run with ``jobs=2`` gives byte for byte the exports and metrics of a run with ``jobs=1``
  (tiny notebooks in real kernels, finishing in the opposite order of the notebooks).
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import os
import threading
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from test_runner import PARAMS, fake_portfolio, write_notebook  # noqa: E402

from portfolio_helpers.analysis import features, growth, segmentation
from portfolio_helpers.analysis import voice as voice_analysis
from portfolio_helpers.app import runner
from portfolio_helpers.app.cli import Console, build_parser
from portfolio_helpers.cleaning import pipeline
from portfolio_helpers.core.errors import PortfolioError
from portfolio_helpers.reporting import voice
from portfolio_helpers.reporting.exports import (
    CUSTOMER_EXPORT,
    WRITER_ENV,
    update_customer_export,
    write_customer_export,
)

NOTEBOOKS = runner.DEFAULT_NOTEBOOKS_DIR

# --------------------------------------------------------------------------- declared needs

#: What a notebook call taking ``output_dir`` reads from the run folder (saved by another notebook).
READS = {
    "open_portfolio": {"cleaned tables"},
    "customer_tables": {"customer tables"},
    "growth_results": {"customer tables"},
    "cluster_names": {"segments"},
    "load_segments": {"segments"},
    "voice_results": {"segments"},
    "voice_metrics": {"contact log"},
    "contact_text": {"contact log"},
    "exclusion_sentence": {"contact log"},
    "exclusions_table": {"contact log"},
}
#: What a call taking ``output_dir`` saves there for the other notebooks.
WRITES = {
    "save": {"cleaned tables"},  # CleanedPortfolio.save of notebook 01
    "save_customer_tables": {"customer tables"},
    "save_segments": {"segments"},
    "reachable": {"contact log"},
    "reachable_lists": {"contact log"},
    "log_contacts": {"contact log"},
}
#: Calls taking ``output_dir`` that read nothing another notebook saved (they write their own files).
NEUTRAL = {"MetricsRecorder", "clean_portfolio", "update_customer_export", "atomic_to_csv", "export_profiles",
           "write_exports", "export_lists", "save_model_table"}
#: The helpers above that read through another one: checked against their source.
THROUGH = {
    (growth.growth_results, "customer_tables"),
    (voice_analysis.voice_results, "_attributes"),
    (voice_analysis._attributes, "load_segments"),
    (voice.reachable_lists, "log_contacts"),
    (voice.reachable, "reachable_lists"),
    (voice.log_contacts, "read_contact_log"),
    (voice.voice_metrics, "read_contact_log"),
    (voice.contact_text, "read_contact_log"),
    (voice.exclusion_sentence, "read_contact_log"),
    (voice.exclusions_table, "read_contact_log"),
    (segmentation.cluster_names, "load_segments"),
    (features.customer_tables, "load_derived_table"),
    (pipeline.open_portfolio, "read_saved_tables"),
}


def _is_output_dir(node: ast.AST) -> bool:
    """``output_dir`` itself, or an f-string built on it (``f"{output_dir}/exports/x.csv"``)."""
    if isinstance(node, ast.JoinedStr):
        return any(_is_output_dir(part.value) for part in node.values if isinstance(part, ast.FormattedValue))
    return isinstance(node, ast.Name) and node.id == "output_dir"


def _output_dir_calls(notebook: Path) -> set[str]:
    """Names of the functions the notebook's code calls with ``output_dir`` (as is or in an f-string)."""
    called = set()
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call):
                arguments = [*node.args, *(k.value for k in node.keywords)]
                if any(_is_output_dir(a) for a in arguments):
                    called.add(node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
    return called


def test_the_read_and_write_tables_match_the_helpers_source():
    for function, callee in THROUGH:
        assert f"{callee}(" in inspect.getsource(function), f"{function.__name__} no longer calls {callee}"


def test_every_notebook_declares_the_notebooks_whose_saved_tables_it_reads():
    notebooks = runner.discover_notebooks(NOTEBOOKS)
    calls = {p.stem: _output_dir_calls(p) for p in notebooks}
    writers: dict[str, set[str]] = {}
    for name, called in calls.items():
        unknown = called - READS.keys() - WRITES.keys() - NEUTRAL
        assert not unknown, f"{name} calls {unknown} with output_dir: add them to READS, WRITES or NEUTRAL"
        for function in called & WRITES.keys():
            for table in WRITES[function]:
                writers.setdefault(table, set()).add(name)
    needs = runner.notebook_needs(notebooks)
    for notebook in notebooks:
        if "needs" not in nbformat.read(notebook, as_version=4).metadata.get("portfolio", {}):
            continue  # no metadata: it needs every earlier notebook, which is always safe
        read = set().union(*(READS[f] for f in calls[notebook.stem] & READS.keys()))
        # what an earlier notebook saved (a notebook may read back what it wrote itself; later ones cannot be needs)
        expected = {writer for table in read for writer in writers.get(table, ()) if writer < notebook.stem}
        # a notebook that reads them only when present (and computes them otherwise) says so: "reuses"
        reuses = set(nbformat.read(notebook, as_version=4).metadata["portfolio"].get("reuses", []))
        assert reuses <= expected, notebook.stem
        assert set(needs[notebook.stem]) | reuses == expected, notebook.stem


def test_the_notebooks_of_the_kit_declare_their_needs():
    needs = runner.notebook_needs(runner.discover_notebooks(NOTEBOOKS))
    assert needs["01_data_cleaning"] == []
    assert needs["02_pareto"] == needs["03_profitability"] == ["01_data_cleaning"]
    assert needs["04_segmentation"] == ["01_data_cleaning"]  # reads 03's customer tables when there, else computes


def _blank(folder: Path, name: str, needs=None) -> None:
    metadata = {} if needs is None else {"portfolio": {"needs": needs}}
    nbformat.write(new_notebook(metadata=metadata), folder / f"{name}.ipynb")


def test_needs_default_to_every_earlier_notebook_and_must_be_earlier(tmp_path):
    _blank(tmp_path, "01_load", [])
    _blank(tmp_path, "02_a", ["load"])
    _blank(tmp_path, "03_b")
    _blank(tmp_path, "04_c", ["2", "01_load.ipynb"])
    assert runner.notebook_needs(runner.discover_notebooks(tmp_path)) == {
        "01_load": [], "02_a": ["01_load"], "03_b": ["01_load", "02_a"], "04_c": ["01_load", "02_a"]}
    _blank(tmp_path, "02_a", ["04_c"])
    with pytest.raises(PortfolioError, match="02_a needs '04_c' is not a notebook.*only need notebooks before"):
        runner.notebook_needs(runner.discover_notebooks(tmp_path))
    _blank(tmp_path, "02_a", "01_load")
    with pytest.raises(PortfolioError, match="must be a list of notebook names"):
        runner.notebook_needs(runner.discover_notebooks(tmp_path))


# --------------------------------------------------------------------------- the shared customer export


def _parts():
    return {
        "02_pareto": pd.DataFrame({"customer_id": ["b", "a"], "revenue": [5.0, 3.25]}),
        "03_profitability": pd.DataFrame({"customer_id": ["a", "c"], "profit": [1.5, -2.0]}).pipe(
            lambda frame: frame.attrs.update(as_of=pd.Timestamp("2025-12-31")) or frame),  # kept by analyses
        "05_scoring": pd.DataFrame({"customer_id": ["c", "b"], "at_risk": [True, False]}),
    }


def _write(folder: Path, name: str, frame: pd.DataFrame, monkeypatch) -> None:
    monkeypatch.setenv(WRITER_ENV, name)
    update_customer_export(folder, frame)


def test_customer_export_is_the_same_whatever_order_the_notebooks_finish_in(tmp_path, monkeypatch):
    parts = _parts()
    for order, folder in [(list(parts), tmp_path / "in_order"), (list(parts)[::-1], tmp_path / "reversed")]:
        for name in order:
            _write(folder, name, parts[name], monkeypatch)
        assert not (folder / CUSTOMER_EXPORT).exists()  # (no kernel writes the merged export)
        write_customer_export(folder)  # (the runner, once the notebooks are done)
    in_order = (tmp_path / "in_order" / CUSTOMER_EXPORT).read_bytes()
    assert (tmp_path / "reversed" / CUSTOMER_EXPORT).read_bytes() == in_order
    assert in_order.decode().splitlines() == [
        "customer_id,revenue,profit,at_risk", "b,5.0,,False", "a,3.25,1.5,", "c,,-2.0,True"]
    # same as the in-place updates of a notebook opened in Jupyter, in notebook order
    monkeypatch.delenv(WRITER_ENV)
    for frame in parts.values():
        update_customer_export(tmp_path / "jupyter", frame)
    assert (tmp_path / "jupyter" / CUSTOMER_EXPORT).read_bytes() == in_order


def test_a_rerun_replaces_its_columns(tmp_path, monkeypatch):
    parts = _parts()
    for name, frame in parts.items():
        _write(tmp_path, name, frame, monkeypatch)
    _write(tmp_path, "02_pareto", parts["02_pareto"].assign(revenue=[7.0, 1.0]), monkeypatch)
    write_customer_export(tmp_path)
    assert (tmp_path / CUSTOMER_EXPORT).read_text().splitlines()[1:3] == ["b,7.0,,False", "a,1.0,1.5,"]


def test_concurrent_writers_lose_no_column(tmp_path):
    """Processes writing at the same time, as the kernels of a run do."""
    script = ("import os, sys, pandas as pd\n"
              "from portfolio_helpers.reporting.exports import update_customer_export\n"
              "for i in range(15):\n"
              "    update_customer_export(sys.argv[1], pd.DataFrame({'customer_id': ['a', 'b'],"
              " os.environ['PORTFOLIO_NOTEBOOK']: [i, i]}))\n")
    import subprocess
    import sys

    processes = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                                  env={**os.environ, WRITER_ENV: f"0{n}_writer"}) for n in range(1, 4)]
    assert [p.wait(timeout=120) for p in processes] == [0, 0, 0]
    write_customer_export(tmp_path)
    assert (tmp_path / CUSTOMER_EXPORT).read_text().splitlines() == [
        "customer_id,01_writer,02_writer,03_writer", "a,14,14,14", "b,14,14,14"]


# --------------------------------------------------------------------------- jobs 1 and 2 give the same report


@pytest.fixture(scope="module")
def graph_notebooks(tmp_path_factory):
    """01 starts the export; 02 and 03 need only 01; 04 needs 03. With ``WAIT_FOR_03`` set, 02
    waits for 03's part of the export, so that 03 ends first although it comes later."""
    folder = tmp_path_factory.mktemp("graph")
    (folder / "portfolio.yml").write_text("name: Acme\n")
    body = """
        import os, pathlib, time
        import pandas as pd
        from portfolio_helpers.reporting.exports import update_customer_export
        from portfolio_helpers.reporting.metrics import MetricsRecorder
        deadline = time.monotonic() + 600  # generous: kernels start slowly on a loaded CI machine
        while {wait} and os.environ.get("WAIT_FOR_03") and time.monotonic() < deadline and not pathlib.Path(
                output_dir, "data", "customers_export", "03_fast.parquet").is_file():
            time.sleep(0.05)
        update_customer_export(output_dir, pd.DataFrame({{"customer_id": {ids}, "{column}": {values}}}))
        MetricsRecorder(output_dir, "{name}").record("{column}_total", sum({values}))
        """
    specs = [("01_start", [], False, ["a", "b"], "revenue", [10.5, 2.25]),
             ("02_slow", ["01"], True, ["b", "c"], "cluster", [1, 2]),
             ("03_fast", ["01"], False, ["c", "a"], "profit", [0.5, -1.0]),
             ("04_after", ["03"], False, ["d"], "score", [0.125])]
    for name, needs, wait, ids, column, values in specs:
        write_notebook(folder / f"{name}.ipynb", PARAMS,
                       body.format(wait=wait, ids=ids, column=column, values=values, name=name), needs=needs)
    return folder


@pytest.fixture(scope="module")
def fake_loader():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "load_portfolio", fake_portfolio)
        yield


def _run(folder: Path, out: Path, jobs: int, only=None) -> tuple[runner.RunResult, list[str]]:
    lines: list[str] = []
    result = runner.run_report(config_path=folder / "portfolio.yml", out_dir=out, notebooks_dir=folder,
                               progress=lines.append, jobs=jobs, only=only)
    return result, lines


def test_two_jobs_give_the_results_of_one(fake_loader, graph_notebooks, tmp_path, monkeypatch):
    one, _ = _run(graph_notebooks, tmp_path / "one", jobs=1, only=["01", "02", "03"])
    monkeypatch.setenv("WAIT_FOR_03", "1")
    two, lines = _run(graph_notebooks, tmp_path / "two", jobs=2, only=["01", "02", "03"])
    assert one.status == two.status == "ok"
    ended = [line.split("] ")[1].split(" ")[0] for line in lines if " ... ok (" in line]
    assert ended == ["01_start", "03_fast", "02_slow"]  # 03 ran while 02 waited for it
    exports = [p.relative_to(one.run_dir) for p in sorted((one.run_dir / "exports").rglob("*")) if p.is_file()]
    assert Path("exports/customers.csv") in exports
    for path in exports:
        assert (two.run_dir / path).read_bytes() == (one.run_dir / path).read_bytes(), path
    assert (one.run_dir / "exports" / "customers.csv").read_text().splitlines() == [
        "customer_id,revenue,cluster,profit", "a,10.5,,-1.0", "b,2.25,1.0,", "c,,2.0,0.5"]
    records = [json.loads((run.run_dir / "run.json").read_text()) for run in (one, two)]
    assert records[0]["metrics"] == records[1]["metrics"] == {
        "revenue_total": 12.75, "cluster_total": 3, "profit_total": -0.5}
    for record in records:
        assert [nb["name"] for nb in record["notebooks"]] == ["01_start", "02_slow", "03_fast"]


def test_the_longest_chain_starts_first(fake_loader, graph_notebooks, tmp_path):
    """01 done, 02 and 03 are ready: 03 starts first, as 04 waits for it (02 heads no chain); then 02 and 04,
    both alone in their chain, in run order."""
    assert runner._chain_lengths(["01_start", "02_slow", "03_fast", "04_after"], {
        "01_start": [], "02_slow": ["01_start"], "03_fast": ["01_start"], "04_after": ["03_fast"]}) == {
        "01_start": 3, "02_slow": 1, "03_fast": 2, "04_after": 1}
    result, lines = _run(graph_notebooks, tmp_path, jobs=1)
    assert result.status == "ok"
    started = [line.split("] ")[1].removesuffix(" ...") for line in lines if line.endswith(" ...")]
    assert started == ["01_start", "03_fast", "02_slow", "04_after"]  # in run order: 01, 02, 03, 04
    assert [nb.name for nb in result.notebooks] == ["01_start", "02_slow", "03_fast", "04_after"]  # run order


def test_the_kit_starts_notebook_04_beside_03():
    """04 computes the customer tables itself: the chain 01 -> 04 -> 05 -> 08 does not wait for 03."""
    notebooks = runner.discover_notebooks(NOTEBOOKS)
    names = [p.stem for p in notebooks]
    chain = runner._chain_lengths(names, runner.notebook_needs(notebooks))
    assert chain["01_data_cleaning"] == 4 and chain["04_segmentation"] == chain["03_profitability"] == 3
    assert chain["02_pareto"] == 1 and chain["05_scoring"] == 2


def test_a_failure_skips_its_dependants_only(fake_loader, graph_notebooks, tmp_path):
    nb = nbformat.read(graph_notebooks / "03_fast.ipynb", as_version=4)
    nb.cells.append(new_code_cell("raise ValueError('no profit')"))
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("01_start", "04_after", "portfolio.yml"):
        path = graph_notebooks / (name if "." in name else f"{name}.ipynb")
        (folder / path.name).write_bytes(path.read_bytes())
    write_notebook(folder / "02_independent.ipynb", PARAMS, "x = 1", needs=["01"])
    nbformat.write(nb, folder / "03_fast.ipynb")
    result, lines = _run(folder, tmp_path / "out", jobs=2)
    assert [(n.name, n.status) for n in result.notebooks] == [
        ("01_start", "ok"), ("02_independent", "ok"), ("03_fast", "failed"), ("04_after", "skipped")]
    assert result.notebooks[3].error == "skipped: 03_fast failed"
    assert "[4/4] 04_after ... skipped (03_fast failed)" in lines


# --------------------------------------------------------------------------- command line


def test_jobs_option():
    parser = build_parser()
    assert parser.parse_args(["report"]).jobs is None
    assert parser.parse_args(["report", "--jobs", "3"]).jobs == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "-j", "0"])


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_shows_every_running_notebook_on_the_live_line():
    stream = _Terminal()
    console = Console(stream, interval=0.05)
    console.started(2, 3, "02_a")
    console.started(3, 3, "03_b")
    done = threading.Event()
    done.wait(0.2)
    console.line("[3/3] 03_b ... ok (0.2 s)")
    done.wait(0.1)
    console.line("[2/3] 02_a ... ok (0.3 s)")
    text = stream.getvalue()
    assert "\r[2/3] 02_a ... 0 s | [3/3] 03_b ... 0 s" in text
    lines = [part.split("\r")[-1].rstrip() for part in text.split("\n")]
    assert lines == ["[3/3] 03_b ... ok (0.2 s)", "[2/3] 02_a ... ok (0.3 s)", ""]
    after = stream.getvalue()
    done.wait(0.1)
    assert stream.getvalue() == after  # no notebook runs: the ticker stopped


def test_a_notebook_whose_need_is_not_selected_waits_for_the_earlier_ones(fake_loader, graph_notebooks, tmp_path):
    """--only 02 03: both would compute what 01 saves; they run one after the other."""
    result, _ = _run(graph_notebooks, tmp_path, jobs=2, only=["02", "03"])
    slow, fast = result.notebooks
    assert slow.status == fast.status == "ok" and fast.started >= slow.finished
