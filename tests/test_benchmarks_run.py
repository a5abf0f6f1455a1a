"""Every benchmark still runs: each ``benchmarks/bench_*.py`` in its ``--quick`` mode (small sizes).

The benchmarks call the package the way the notebooks do; a signature change that forgets one of
them fails here instead of on the next ``make bench``. Timings are not checked (``--quick`` measures
nothing); the full sizes are run by ``make bench``. Marked ``extended``: CI runs them after ``make test``
(``make test-extended``), keeping ``make test`` within its 15 minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.extended

BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


def test_every_benchmark_is_listed():
    assert len(BENCHMARKS) >= 8


@pytest.mark.parametrize("script", BENCHMARKS, ids=[path.stem for path in BENCHMARKS])
def test_benchmark_runs_in_quick_mode(script):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=600)
    assert run.returncode == 0, f"{script.name} --quick failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
    assert run.stdout.strip(), f"{script.name} printed nothing"
