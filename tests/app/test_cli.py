"""The ``portfolio`` command: exit codes, messages, and what it passes to the runner."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from portfolio_helpers.app import cli, runner
from portfolio_helpers.core.errors import ConfigError


def fake_result(tmp_path: Path, status: str) -> runner.RunResult:
    notebooks = [runner.NotebookResult("01_load", "ok", 1.0, html="01_load.html")]
    if status == "failed":
        notebooks.append(
            runner.NotebookResult(
                "02_pareto", "failed", 2.0, "cell 3 (In [2]): ValueError: bad", 3, "02_pareto.html"
            )
        )
    run_dir = tmp_path / "20240101-120000"
    return runner.RunResult(run_dir, status, notebooks, run_dir / "index.html")


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Replace run_report; record its arguments; return the result set by the test."""
    recorded: dict = {"status": "ok"}

    def run_report(**kwargs):
        recorded.update(kwargs)
        if isinstance(recorded["status"], BaseException):
            raise recorded["status"]
        return fake_result(tmp_path, recorded["status"])

    monkeypatch.setattr(runner, "run_report", run_report)
    return recorded


def test_report_passes_options_and_prints_index(calls, capsys, tmp_path):
    argv = ["report", "--config", "p.yml", "--out", "out", "--only", "01", "pareto", "--only", "03",
            "--set", "top_share=0.2", "--set", "02_pareto.label=big clients", "--strict", "--timeout", "30"]  # fmt: skip
    assert cli.main(argv) == 0
    assert calls["config_path"] == "p.yml" and calls["out_dir"] == "out"
    assert calls["only"] == ["01", "pareto", "03"]
    assert calls["overrides"] == {"top_share": 0.2, "02_pareto.label": "big clients"}
    assert calls["strict"] is True and calls["cell_timeout"] == 30.0
    out = capsys.readouterr()
    assert out.out.strip() == f"Report: {tmp_path / '20240101-120000' / 'index.html'}"
    assert out.err == ""


def test_report_with_failed_notebook_exits_1_and_says_where(calls, capsys):
    calls["status"] = "failed"
    assert cli.main(["report"]) == 1
    out = capsys.readouterr()
    assert "Report: " in out.out
    assert "failed: 02_pareto: cell 3 (In [2]): ValueError: bad" in out.err


def test_portfolio_error_is_one_line_exit_2(monkeypatch, capsys, tmp_path):
    def missing(config_path, strict=False):
        raise ConfigError(f"config file not found: {config_path}")

    monkeypatch.setattr(runner, "load_portfolio", missing)
    assert cli.main(["report", "--config", str(tmp_path / "nope.yml"), "--out", str(tmp_path / "out")]) == 2
    out = capsys.readouterr()
    assert out.err == f"error: config file not found: {tmp_path / 'nope.yml'}\n"
    assert "Traceback" not in out.err and out.out == ""
    assert not (tmp_path / "out").exists()


def test_set_without_equals_exits_2(calls, capsys):
    assert cli.main(["report", "--set", "foo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --set 'foo': expected key=value") and err.count("\n") == 1
    assert "config_path" not in calls  # refused before running anything


def test_keyboard_interrupt_exits_130(calls, capsys):
    calls["status"] = KeyboardInterrupt()
    assert cli.main(["report"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("argv", [["report", "--timeout", "-1"], ["report", "--bogus"], ["demo-data"], []])
def test_usage_errors_exit_2_in_one_line(argv, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_demo_data_calls_sample_data_lazily(monkeypatch, capsys, tmp_path):
    seen = {}

    def write_demo_data(out_dir, n_customers=2000, seed=42, dirty=False):
        seen.update(out_dir=out_dir, n_customers=n_customers, seed=seed, dirty=dirty)
        return Path(out_dir) / "portfolio.yml"

    fake = types.ModuleType("portfolio_helpers.app.sample_data")
    fake.write_demo_data = write_demo_data
    monkeypatch.setitem(sys.modules, "portfolio_helpers.app.sample_data", fake)
    out = str(tmp_path / "demo")
    assert cli.main(["demo-data", "--out", out, "--customers", "50", "--seed", "1", "--dirty"]) == 0
    assert seen == {"out_dir": out, "n_customers": 50, "seed": 1, "dirty": True}
    assert capsys.readouterr().out == f"Demo data: {Path(out) / 'portfolio.yml'}\n"


def test_python_m_portfolio_helpers_reports_config_errors_without_traceback(tmp_path):
    pytest.importorskip("portfolio_helpers.ingest.loaders")
    missing = tmp_path / "missing.yml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "portfolio_helpers",
            "report",
            "--config",
            str(missing),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and str(missing) in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
