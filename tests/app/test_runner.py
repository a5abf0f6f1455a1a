"""Runner, HTML export and metrics, on tiny notebooks executed in real kernels.

The loader is replaced by a fake portfolio so these tests only exercise the
runner. The kernel-backed runs share one notebooks folder and one reports
folder (module scope) to keep the number of kernel starts small.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import matplotlib.image
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from portfolio_helpers.app import runner
from portfolio_helpers.core.errors import ConfigError, PortfolioError
from portfolio_helpers.reporting.html import find_network_references
from portfolio_helpers.reporting.metrics import MetricsRecorder, read_metrics
from portfolio_helpers.reporting.summary import format_key_figure

PARAMS = 'config_path = "portfolio.yml"\noutput_dir = "out"\nseed = 0\nstrict = False\n'


def write_notebook(path: Path, params: str | None, *cells: str, title: str | None = None,
                   needs: list[str] | None = None) -> Path:
    """Write a notebook: optional Markdown title, a tagged parameters cell, then code cells;
    ``needs`` goes to its metadata (none: it needs every earlier notebook)."""
    nb_cells = [new_markdown_cell(f"# {title}")] if title else []
    if params is not None:
        nb_cells.append(new_code_cell(params, metadata={"tags": ["parameters"]}))
    nb_cells += [new_code_cell(textwrap.dedent(source).strip()) for source in cells]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    if needs is not None:
        metadata["portfolio"] = {"needs": needs}
    nb = new_notebook(cells=nb_cells, metadata=metadata)
    nbformat.write(nb, path)
    return path


def fake_portfolio(config_path, strict=False):
    return SimpleNamespace(
        config=SimpleNamespace(name="Acme Retail", currency="EUR", path=Path(config_path), seed=7, sections={}),
        as_of=pd.Timestamp("2024-12-31"),
        inputs=[{"table": "transactions", "path": "/data/tx.csv", "sha256": "ab" * 32, "rows": 12345}],
        n_rejected_rows=3,
    )


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    """01 loads (or fails on demand), 02 fails/hangs/dies on demand, 03 makes a rich page."""
    folder = tmp_path_factory.mktemp("notebooks")
    write_notebook(
        folder / "01_load.ipynb",
        PARAMS + "fail = False\n",
        """
        import sys
        from portfolio_helpers.reporting.metrics import MetricsRecorder
        metrics = MetricsRecorder(output_dir, "01_load")
        if fail:
            raise RuntimeError("cannot read the exports")
        metrics.record("n_customers", 1500)
        print(sys.executable)
        with open(f"{output_dir}/exports/rejected_rows.csv", "w") as rejected:
            rejected.write("line,reason\\n")
        """,
        title="Data loading",
    )
    write_notebook(
        folder / "02_checks.ipynb",
        PARAMS + 'mode = "ok"\n',
        "import os, time",
        """
        if mode == "error":
            raise ValueError("threshold must be positive")
        if mode == "sleep":
            time.sleep(60)
        if mode == "die":
            os._exit(1)
        """,
        "print('checks done')",
        title="Checks",
    )
    write_notebook(
        folder / "03_analysis.ipynb",
        PARAMS + "top_share = 0.2\nlabel = 'default'\n",
        """
        import sys, warnings
        import ipywidgets
        import matplotlib.pyplot as plt
        import pandas as pd
        from portfolio_helpers.reporting.metrics import MetricsRecorder
        metrics = MetricsRecorder(output_dir, "03_analysis")
        metrics.record("top_share", top_share)
        metrics.record("revenue_total", 1234567.891)
        metrics.record("label_used", label)
        """,
        """
        secret_code_marker = pd.DataFrame({"customer": ["C1", "C2"], "revenue": [100.5, 2000.25]})
        secret_code_marker
        """,
        """
        fig, ax = plt.subplots()
        ax.bar(["A", "B"], [3, 5])
        plt.show()
        """,
        "ipywidgets.IntSlider(value=5)",
        """
        warnings.warn("noisy library warning")
        print("log noise for developers", file=sys.stderr)
        import pathlib
        pathlib.Path(output_dir, "exports", "top_customers.csv").write_text("customer\\nC2\\n")
        """,
        title="Revenue analysis",
        needs=["01_load"],  # not 02_checks: runs even when 02 fails
    )
    nb = nbformat.read(folder / "03_analysis.ipynb", as_version=4)
    nb.cells.insert(
        1,
        new_markdown_cell(
            "The top customers carry a share $x^2$ of revenue, see [docs](https://example.com).\n\n"
            "![logo](logo.png)"
        ),
    )
    matplotlib.image.imsave(folder / "logo.png", np.zeros((2, 2)))
    nbformat.write(nb, folder / "03_analysis.ipynb")
    return folder


@pytest.fixture(scope="module")
def patched(tmp_path_factory):
    """Fake loader, plus decoy kernelspecs that must not be used."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "load_portfolio", fake_portfolio)
        decoys = tmp_path_factory.mktemp("decoy-kernels")
        for name in ("python3", runner.KERNEL_NAME):
            spec = decoys / "kernels" / name
            spec.mkdir(parents=True)
            (spec / "kernel.json").write_text(
                json.dumps(
                    {
                        "argv": ["/bin/false", "{connection_file}"],
                        "display_name": "decoy",
                        "language": "python",
                    }
                )
            )
        mp.setenv("JUPYTER_PATH", str(decoys))
        yield mp


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("reports")


def run(notebooks, reports, **kwargs):
    lines: list[str] = []
    kwargs.setdefault("config_path", notebooks / "portfolio.yml")
    result = runner.run_report(
        out_dir=reports, notebooks_dir=notebooks, progress=lines.append, heartbeat=1.0, **kwargs
    )
    return result, lines


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def good_run(patched, notebooks, reports):
    return run(notebooks, reports, overrides={"03_analysis.top_share": 0.25, "label": "hello"})


@pytest.fixture(scope="module")
def failed_run(good_run, notebooks, reports):
    before = snapshot(good_run[0].run_dir)
    result, lines = run(notebooks, reports, overrides={"checks.mode": "error"})
    return result, lines, before


# ----------------------------------------------------------------------------- good run


def test_good_run_is_published_and_latest_points_to_it(good_run, reports):
    result, lines = good_run
    assert result.status == "ok" and result.exit_code == 0
    assert [n.status for n in result.notebooks] == ["ok", "ok", "ok"]
    assert result.run_dir.parent == reports and result.index_path == result.run_dir / "index.html"
    assert os.readlink(reports / "latest") == result.run_dir.name  # relative symlink
    assert not list(reports.glob(".partial-*")) and not list(reports.glob(".latest-*"))
    for name in ("01_load", "02_checks", "03_analysis"):
        assert (result.run_dir / f"{name}.ipynb").is_file()
        assert (result.run_dir / f"{name}.html").is_file()
    steps = [line for line in lines if not line.startswith("    still running")]
    assert steps[1] == "[1/3] 01_load ..."
    assert steps[2].startswith("[1/3] 01_load ... ok (") and steps[2].endswith(" s)")
    # 02 and 03 only need 01: they start together, and end in whichever order they finish
    assert sorted(steps[3:5]) == ["[2/3] 02_checks ...", "[3/3] 03_analysis ..."]
    assert sum(line.startswith("[3/3] 03_analysis ... ok (") for line in steps[5:]) == 1
    assert len(steps) == 7  # the header, then a start and an end line per notebook


def test_run_json_records_everything(good_run, notebooks):
    result, _ = good_run
    record = json.loads((result.run_dir / "run.json").read_text())
    expected = {
        "status", "run_id", "started", "finished", "duration_seconds", "config", "portfolio", "currency",
        "as_of", "parameters", "inputs", "n_rejected_rows", "versions", "git", "notebooks", "metrics",
    }  # fmt: skip
    assert expected <= record.keys()
    assert record["status"] == "ok" and record["run_id"] == result.run_dir.name
    assert dt.datetime.fromisoformat(record["started"]).tzinfo is not None
    assert dt.datetime.fromisoformat(record["finished"]) >= dt.datetime.fromisoformat(record["started"])
    assert record["config"] == str((notebooks / "portfolio.yml").resolve())
    assert (record["portfolio"], record["currency"], record["as_of"]) == ("Acme Retail", "EUR", "2024-12-31")
    assert record["inputs"] == [
        {"table": "transactions", "path": "/data/tx.csv", "sha256": "ab" * 32, "rows": 12345}
    ]
    assert record["n_rejected_rows"] == 3
    assert {"python", "portfolio_helpers", "pandas", "numpy", "duckdb", "ibis-framework", "papermill",
            "nbconvert", "scikit-learn", "matplotlib"} <= record["versions"].keys()  # fmt: skip
    assert record["git"] is None  # the notebooks folder is not in a git repository
    first = record["notebooks"][0]
    assert first == {
        "name": "01_load", "status": "ok", "seconds": first["seconds"],
        "error": None, "cell": None, "html": "01_load.html", "title": "Data loading",
        "started": first["started"], "finished": first["finished"],
    }  # fmt: skip
    assert [nb["name"] for nb in record["notebooks"]] == ["01_load", "02_checks", "03_analysis"]
    times = {nb["name"]: (dt.datetime.fromisoformat(nb["started"]), dt.datetime.fromisoformat(nb["finished"]))
             for nb in record["notebooks"]}
    assert all(start < end for start, end in times.values())
    assert times["02_checks"][0] >= times["01_load"][1] and times["03_analysis"][0] >= times["01_load"][1]
    if runner.default_jobs() >= 2:  # 02 and 03 ran at the same time
        assert times["03_analysis"][0] < times["02_checks"][1] and times["02_checks"][0] < times["03_analysis"][1]
    assert record["metrics"] == {
        "n_customers": 1500, "top_share": 0.25, "revenue_total": 1234567.891, "label_used": "hello",
    }  # fmt: skip


def test_parameters_injected_and_overridden(good_run):
    result, _ = good_run
    params = json.loads((result.run_dir / "run.json").read_text())["parameters"]
    for name in ("01_load", "02_checks", "03_analysis"):
        assert params[name]["output_dir"] == str(result.run_dir)  # where the notebooks' outputs now are
        assert params[name]["seed"] == 7 and params[name]["strict"] is False
    assert params["03_analysis"]["top_share"] == 0.25  # scoped override
    assert params["03_analysis"]["label"] == "hello"  # plain override, only where declared
    assert "label" not in params["01_load"] and "top_share" not in params["02_checks"]


def test_kernel_is_the_current_python_not_a_registered_one(good_run):
    # The `patched` fixture puts decoy python3/portfolio-kit-python kernels on JUPYTER_PATH.
    result, _ = good_run
    nb = nbformat.read(result.run_dir / "01_load.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert sys.executable in printed
    assert "decoy-kernels" in os.environ["JUPYTER_PATH"]  # restored after the run


def test_notebook_html_is_offline_and_shows_no_code(good_run):
    result, _ = good_run
    html = (result.run_dir / "03_analysis.html").read_text()
    assert find_network_references(html) == []
    assert "secret_code_marker" not in html and "plt.subplots" not in html  # code hidden
    assert "noisy library warning" not in html and "log noise" not in html  # stderr dropped
    assert "require.min.js" not in html and "MathJax" not in html and "mermaid.esm" not in html
    assert "C2" in html and "<table" in html  # the pandas table
    assert html.count('src="data:image/png;base64,') == 2 and 'src="logo.png"' not in html  # embedded
    assert "x^2" in html and 'href="https://example.com"' in html  # Markdown kept, links allowed
    assert "<title>Revenue analysis</title>" in html and "Acme Retail" in html
    assert "In&nbsp;[" not in html and "Out[" not in html.split("<body")[1]


def test_network_check_catches_what_the_stock_lab_template_loads(good_run):
    # Guards the check above: without our template, the same page loads CDN scripts.
    nb = nbformat.read(good_run[0].run_dir / "03_analysis.ipynb", as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    found = " ".join(find_network_references(body))
    for library in ("require.min.js", "mathjax", "mermaid", "@jupyter-widgets/html-manager"):
        assert library in found, library


def test_index_lists_notebooks_metrics_inputs_and_exports(good_run):
    result, _ = good_run
    index = result.index_path.read_text()
    assert find_network_references(index) == []
    for text in ("Acme Retail", "2024-12-31", result.run_dir.name, 'href="03_analysis.html"',
                 "25.0%", "€1.23 M", "1,500", "12,345", "abababababab", 'href="run.json"',
                 'href="exports/top_customers.csv"', 'href="exports/"', 'href="exports/rejected_rows.csv"',
                 "Customers in the customer file"):  # fmt: skip
        assert text in index, text


# ----------------------------------------------------------------------------- failures


def test_later_failure_is_published_without_moving_latest(failed_run, good_run, reports):
    result, lines, before = failed_run
    good = good_run[0]
    assert result.status == "failed" and result.exit_code == 1
    assert result.run_dir != good.run_dir and result.run_dir.is_dir()
    assert [n.status for n in result.notebooks] == ["ok", "failed", "ok"]  # 03 still ran
    failed = result.notebooks[1]
    # Source cells: 0 title, 1 parameters, 2 imports, 3 the raising cell.
    assert failed.cell == 3
    assert failed.error.startswith("cell 3 (In [")
    assert failed.error.endswith("ValueError: threshold must be positive")
    assert os.readlink(reports / "latest") == good.run_dir.name
    assert snapshot(good.run_dir) == before  # earlier run untouched
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["status"] == "failed"
    assert record["notebooks"][1] | {"seconds": None, "started": None, "finished": None} == {
        "name": "02_checks", "status": "failed", "seconds": None, "error": failed.error,
        "cell": 3, "html": "02_checks.html", "title": record["notebooks"][1]["title"],
        "started": None, "finished": None,
    }  # fmt: skip
    assert 'Data loading</a>' in result.index_path.read_text()  # the index shows titles
    index = result.index_path.read_text()
    assert "ValueError: threshold must be positive" in index and "failed" in index
    page = (result.run_dir / "02_checks.html").read_text()
    assert "threshold must be positive" in page and "did not complete" in page
    assert "An Exception was encountered" not in page  # papermill's marker, replaced by our banner
    assert any("02_checks ... failed: cell 3" in line for line in lines)


def test_first_notebook_failure_skips_the_others(patched, notebooks, reports, good_run):
    result, lines = run(notebooks, reports, overrides={"01.fail": True})
    assert [n.status for n in result.notebooks] == ["failed", "skipped", "skipped"]
    assert "RuntimeError: cannot read the exports" in result.notebooks[0].error
    for skipped in result.notebooks[1:]:
        assert skipped.error == "skipped: 01_load failed" and skipped.html is None and skipped.seconds is None
    assert not (result.run_dir / "02_checks.ipynb").exists()
    assert "skipped: 01_load failed" in result.index_path.read_text()
    assert os.readlink(reports / "latest") == good_run[0].run_dir.name


def test_cell_timeout_is_a_failure(patched, notebooks, tmp_path):
    result, lines = run(notebooks, tmp_path, only=["02"], overrides={"mode": "sleep"}, cell_timeout=3)
    (notebook,) = result.notebooks
    assert notebook.status == "failed" and notebook.cell == 3
    assert "CellTimeoutError" in notebook.error and "3 s" in notebook.error
    assert notebook.seconds < 30
    assert any(line.startswith("    still running 02_checks (") for line in lines)  # heartbeat
    assert "CellTimeoutError" in (result.run_dir / "02_checks.html").read_text()
    assert not (tmp_path / "latest").exists()


def test_dead_kernel_is_a_failure(patched, notebooks, tmp_path):
    result, _ = run(notebooks, tmp_path, only=["checks"], overrides={"mode": "die"})
    (notebook,) = result.notebooks
    assert notebook.status == "failed" and notebook.cell == 3
    assert "DeadKernelError" in notebook.error
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "failed"


# ----------------------------------------------------------------------------- refused before running


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"unknown": 1}, "no selected notebook declares it"),
        ({"03_analysis.mode": "x"}, "does not declare 'mode'"),
        ({"nope.mode": "x"}, "is not a notebook"),
        ({"seed": 1}, "set by the runner"),
        ({"02_checks.mode": "error"}, "not selected"),
    ],
)
def test_bad_override_is_refused_before_running(patched, notebooks, tmp_path, overrides, message):
    out = tmp_path / "reports"
    with pytest.raises(PortfolioError, match=message):
        run(notebooks, out, overrides=overrides, only=["01", "analysis"])
    assert not out.exists()


def test_unknown_only_lists_available_notebooks(patched, notebooks, tmp_path):
    with pytest.raises(PortfolioError, match="available notebooks: 01_load, 02_checks, 03_analysis"):
        run(notebooks, tmp_path / "reports", only=["pareto"])


def test_config_error_propagates_and_nothing_is_created(notebooks, tmp_path, monkeypatch):
    def missing(config_path, strict=False):
        raise ConfigError(f"config file not found: {config_path}")

    monkeypatch.setattr(runner, "load_portfolio", missing)
    with pytest.raises(ConfigError, match="config file not found"):
        run(notebooks, tmp_path / "reports")
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    "params, message",
    [
        (None, "no cell tagged 'parameters'"),
        (PARAMS + "threshold = 0.1 * 2\n", "must be a literal"),
        (PARAMS + "path = make_path()\n", "must be a literal"),
        (PARAMS + "import os\n", "only simple assignments"),
        ('config_path = "x"\noutput_dir = "y"\n', "missing seed, strict"),
    ],
)
def test_invalid_parameters_cell_is_refused(patched, tmp_path, params, message):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_load.ipynb", PARAMS, "x = 1")
    write_notebook(folder / "02_bad.ipynb", params, "x = 1")
    with pytest.raises(PortfolioError, match=message) as excinfo:
        run(folder, tmp_path / "reports")
    assert "02_bad" in str(excinfo.value)
    assert not (tmp_path / "reports").exists()


def test_interrupt_removes_partial_folder_and_keeps_earlier_runs(patched, notebooks, tmp_path):
    earlier = tmp_path / "20200101-000000"
    earlier.mkdir()
    (earlier / "index.html").write_text("earlier")

    def interrupt(line):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run_report(out_dir=tmp_path, notebooks_dir=notebooks, config_path="x.yml", progress=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20200101-000000"]
    assert (earlier / "index.html").read_text() == "earlier"


# ----------------------------------------------------------------------------- building blocks


def test_select_notebooks_accepts_names_without_number_and_numbers(notebooks):
    found = runner.discover_notebooks(notebooks)
    assert [p.stem for p in runner.select_notebooks(found, ["analysis", "1", "01_load.ipynb"])] == [
        "01_load",
        "03_analysis",
    ]
    assert runner.select_notebooks(found, None) == found


def test_parse_overrides_reads_yaml_scalars():
    parsed = runner.parse_overrides(["a=0.2", "b=true", "c=hello world", "d=2024-01-31", "e=[1, 2]", "f="])
    assert parsed == {"a": 0.2, "b": True, "c": "hello world", "d": "2024-01-31", "e": [1, 2], "f": None}
    with pytest.raises(PortfolioError, match="expected key=value"):
        runner.parse_overrides(["foo"])


def test_run_ids_do_not_collide(tmp_path):
    when = dt.datetime(2024, 5, 1, 12, 0, 0)
    (tmp_path / "20240501-120000").mkdir()
    first = runner._reserve_run_dir(tmp_path, when)
    second = runner._reserve_run_dir(tmp_path, when)
    assert (first[0], second[0]) == ("20240501-120000-2", "20240501-120000-3")
    assert first[1].name == ".partial-20240501-120000-2" and first[1].is_dir()


def _partial(out_dir: Path, run_id: str, owner: dict | str | None) -> Path:
    folder = out_dir / f".partial-{run_id}"
    (folder / "exports").mkdir(parents=True)
    (folder / "exports" / "customers.csv").write_text("customer_id\nC1\n")
    if owner is not None:
        (folder / runner.PARTIAL_OWNER).write_text(owner if isinstance(owner, str) else json.dumps(owner))
    return folder


def _dead_pid() -> int:
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_partial_folders_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    import platform

    me = runner._owner_record()
    assert me["pid"] == os.getpid() and me["host"] == platform.node()
    dead = _partial(tmp_path, "20240501-120000", {**me, "pid": _dead_pid(), "process_start": None})
    alive = _partial(tmp_path, "20240501-120001", me)
    reused = _partial(tmp_path, "20240501-120002", {**me, "process_start": "1"})  # our pid, started earlier
    elsewhere = _partial(tmp_path, "20240501-120003", {**me, "pid": _dead_pid(), "host": "other-machine"})
    garbage = _partial(tmp_path, "20240501-120004", {"pid": "not a pid"})
    published = tmp_path / "20240501-110000"
    published.mkdir()
    removed = runner.remove_stale_partials(tmp_path)
    expected = [dead] + ([reused] if me["process_start"] is not None else []) + [garbage]
    assert removed == expected
    assert not dead.exists() and not garbage.exists()
    assert alive.is_dir() and elsewhere.is_dir() and published.is_dir()
    assert (alive / "exports" / "customers.csv").read_text() == "customer_id\nC1\n"


def test_partial_folders_without_owner_are_removed_only_when_old(tmp_path):
    unowned = _partial(tmp_path, "20240501-120000", None)
    unreadable = _partial(tmp_path, "20240501-120001", "{not json")
    changed = max(p.stat().st_mtime for p in [unowned, *unowned.iterdir()])
    assert runner.remove_stale_partials(tmp_path, now=changed + 3600) == []
    assert runner.remove_stale_partials(tmp_path, now=changed + runner.STALE_UNOWNED_SECONDS + 60) == [
        unowned, unreadable]
    assert list(tmp_path.iterdir()) == []


def test_run_ids_reserve_with_an_owner_file_and_the_next_run_cleans_up(patched, notebooks, tmp_path):
    run_id, partial = runner._reserve_run_dir(tmp_path, dt.datetime(2024, 5, 1, 12, 0, 0))
    assert json.loads((partial / runner.PARTIAL_OWNER).read_text()) == runner._owner_record()
    stale = _partial(tmp_path, "20240501-110000", {**runner._owner_record(), "pid": _dead_pid()})
    lines = []

    def stop_before_running(line):
        lines.append(line)
        if line.startswith("Portfolio"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run_report(out_dir=tmp_path, notebooks_dir=notebooks, config_path="x.yml",
                          progress=stop_before_running)
    assert lines[0] == "Removed .partial-20240501-110000, left by an interrupted run"
    assert not stale.exists() and partial.is_dir()  # a live run's folder (this process) stays


def test_published_run_has_no_owner_file(good_run):
    assert not (good_run[0].run_dir / runner.PARTIAL_OWNER).exists()


def test_find_network_references():
    html = """
    <a href="https://example.com/docs">docs</a> <a href="//example.com">x</a>
    <script src="https://cdn.example.com/require.js"></script>
    <link rel="stylesheet" href="//fonts.example.com/css">
    <img src='http://example.com/logo.png'> <img src="data:image/png;base64,AAAA">
    <iframe src="https://example.com/embed"></iframe> <source srcset="https://example.com/v.webm">
    <style>@import url("https://example.com/a.css"); @import 'https://example.com/b.css';
    body { background: url(//example.com/bg.png) } i { background: url(data:image/svg+xml;base64,AA) }</style>
    <script type="module">const m = await import("https://example.com/mermaid.mjs");</script>
    <img src="chart.png"> <link href="style.css" rel="stylesheet">
    <script type="application/vnd.jupyter.widget-state+json">{"url": "https://example.com/data"}</script>
    <script>// a comment, then a loader
    var s = document.createElement("script"); s.src = 'https://unpkg.com/embed.js';</script>
    """
    assert find_network_references(html) == [
        "https://cdn.example.com/require.js",
        "//fonts.example.com/css",
        "http://example.com/logo.png",
        "https://example.com/embed",
        "https://example.com/v.webm",
        "https://example.com/a.css",
        "https://example.com/b.css",
        "//example.com/bg.png",
        "https://example.com/mermaid.mjs",
        "https://unpkg.com/embed.js",
    ]


def test_key_figures_follow_the_naming_conventions_for_unknown_metrics():
    assert format_key_figure("top20_revenue_share", 0.783) == ("Top20 revenue share", "78.3%")
    assert format_key_figure("churn_pct", 12.5) == ("Churn pct", "12.5%")
    assert format_key_figure("revenue_next_year", 1234567.8, "EUR") == ("Revenue next year", "€1.23 M")
    assert format_key_figure("profit", 950.5, "USD")[1] == "$950"
    assert format_key_figure("n_transactions_late", 120000) == ("Number of transactions late", "120,000")
    assert format_key_figure("period_end", "2024-12-31") == ("Last transaction", "2024-12-31")
    assert format_key_figure("has_costs", True) == ("Has costs", "True")


def test_metrics_recorder_converts_validates_and_writes_atomically(tmp_path):
    metrics = MetricsRecorder(tmp_path, "02_pareto")
    metrics.record("n_customers", np.int64(12))
    metrics.record("period_end", pd.Timestamp("2024-12-31"))
    metrics.record("top_share", np.float32(0.5))
    assert metrics.values == {"n_customers": 12, "period_end": "2024-12-31", "top_share": 0.5}
    assert type(metrics.values["n_customers"]) is int
    assert json.loads((tmp_path / "metrics" / "02_pareto.json").read_text()) == metrics.values
    for bad in (float("nan"), np.inf, pd.NaT, None):
        with pytest.raises(ValueError, match="top_share"):
            metrics.record("top_share", bad)
    for bad_name in ("Top Share", "TopShare", "top__share", "_top"):
        with pytest.raises(ValueError, match="snake_case"):
            metrics.record(bad_name, 1)
    metrics.record("n_customers_A", 3)  # class labels may be capitals
    del metrics.values["n_customers_A"]
    with pytest.raises(TypeError, match="list"):
        metrics.record("values", [1, 2])
    assert list((tmp_path / "metrics").iterdir()) == [tmp_path / "metrics" / "02_pareto.json"]
    MetricsRecorder(tmp_path, "01_load").record("n_customers", 10)
    assert read_metrics(tmp_path, ["01_load", "02_pareto", "03_missing"])["n_customers"] == 12


def test_headless_runs_switch_interactive_notebooks_to_static(tmp_path):
    from portfolio_helpers.app.runner import resolve_parameters

    notebooks = [tmp_path / "01_a.ipynb", tmp_path / "02_b.ipynb"]
    declared = {"01_a": {"config_path": "", "output_dir": "", "seed": 0, "strict": False},
                "02_b": {"config_path": "", "output_dir": "", "seed": 0, "strict": False, "interactive": True}}
    injected = {"config_path": "c", "output_dir": "o", "seed": 1, "strict": False}
    params = resolve_parameters(notebooks, declared, injected, None)
    assert "interactive" not in params["01_a"] and params["02_b"]["interactive"] is False
    forced = resolve_parameters(notebooks, declared, injected, {"interactive": True})
    assert forced["02_b"]["interactive"] is True


def test_papermill_parses_every_parameter_line(caplog):
    """A parameter papermill cannot parse is only a warning (and noise on every run): none may be left."""
    import logging

    import papermill as pm

    notebooks = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
    assert notebooks
    with caplog.at_level(logging.WARNING, logger="papermill"):
        for notebook in notebooks:
            pm.inspect_notebook(str(notebook))
    assert not [r.getMessage() for r in caplog.records if "Unable to parse" in r.getMessage()]
