"""A quiet, informative console: one line per notebook, the index path last, --quiet for cron,
no warnings from papermill or the build backend."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shapes import NAMED_SHAPES, write_portfolio  # noqa: E402

from portfolio_helpers.app.cli import Console  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_console_in_a_log_writes_one_final_line_per_notebook():
    stream = io.StringIO()
    console = Console(stream)
    console.line("Portfolio Acme as of 2024-12-31: running 2 notebook(s), run 1")
    console.started(1, 2, "01_load")
    console.line("[1/2] 01_load ... ok (1.2 s)")
    console.started(2, 2, "02_pareto")
    console.line("[2/2] 02_pareto ... failed: cell 3: ValueError: bad (0.4 s)")
    assert stream.getvalue().splitlines() == [
        "Portfolio Acme as of 2024-12-31: running 2 notebook(s), run 1",
        "[1/2] 01_load ... ok (1.2 s)",
        "[2/2] 02_pareto ... failed: cell 3: ValueError: bad (0.4 s)",
    ]


def test_console_on_a_terminal_shows_the_elapsed_time_on_the_notebooks_line():
    stream = _Terminal()
    console = Console(stream, interval=0.05)
    console.started(1, 1, "01_load")
    time.sleep(0.2)
    console.line("[1/1] 01_load ... ok (0.2 s)")
    text = stream.getvalue()
    assert text.startswith("\r[1/1] 01_load ... 0 s") and text.endswith("\r[1/1] 01_load ... ok (0.2 s)\n")
    assert text.count("\n") == 1  # one line on the screen: rewritten in place
    time.sleep(0.1)
    assert stream.getvalue() == text  # the ticker stopped with the notebook


def test_quiet_console_writes_nothing():
    stream = _Terminal()
    console = Console(stream, quiet=True)
    console.started(1, 1, "01_load")
    console.line("[1/1] 01_load ... ok (0.2 s)")
    console.close()
    assert stream.getvalue() == ""


def test_the_build_backend_gets_an_spdx_license():
    # a TOML table (license = {text = ...}) makes setuptools >= 77 print a deprecation warning per build step
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(project["project"]["license"], str)
    assert not [c for c in project["project"].get("classifiers", []) if c.startswith("License ::")]
    assert project["build-system"]["requires"] == ["setuptools>=77"]


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    return write_portfolio(NAMED_SHAPES["one_day_two_customers"], tmp_path_factory.mktemp("data"))


def _report(config, out, *extra):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "portfolio_helpers.app.cli", "report", "--config", str(config),
                           "--out", str(out), "--only", "01", "02", *extra],
                          capture_output=True, text=True, env=env, timeout=600)


def test_report_prints_one_line_per_notebook_and_the_index_last(tiny_config, tmp_path):
    done = _report(tiny_config, tmp_path / "reports")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Portfolio ") and lines[0].endswith("running 2 notebook(s), run " + lines[0][-15:])
    assert lines[1].startswith("[1/2] 01_data_cleaning ... ok (") and lines[1].endswith(" s)")
    assert lines[2].startswith("[2/2] 02_pareto ... ok (")
    index = Path(lines[3].removeprefix("Report: "))
    assert lines[3].startswith("Report: ") and index.name == "index.html" and index.is_file()
    assert len(lines) == 4
    assert done.stderr == ""  # no papermill parser warning, no kernel log


def test_quiet_report_prints_nothing(tiny_config, tmp_path):
    done = _report(tiny_config, tmp_path / "reports", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert (tmp_path / "reports" / "latest" / "index.html").is_file()
