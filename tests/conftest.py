"""Shared fixtures: the same table as a pandas frame and as an engine table.

``lines_as`` is parametrized over the forms a transaction-level table can take: ``pandas`` (a
frame in memory) and every engine under test (a Parquet file the engine scans itself). The engines
come from ``PORTFOLIO_TEST_ENGINES`` (comma-separated; default ``duckdb``); ``make test-spark`` runs
the tests marked ``engine`` with ``PORTFOLIO_TEST_ENGINES=pyspark``. A test using ``lines_as`` must
give the same figures, to the cent, in every form.
"""

from __future__ import annotations

import itertools
import os

import pandas as pd
import pytest

from portfolio_helpers.core.backend import EngineSettings, connect

ENGINES = [name.strip() for name in os.environ.get("PORTFOLIO_TEST_ENGINES", "duckdb").split(",") if name.strip()]
_counter = itertools.count()


def engine_table(frame: pd.DataFrame, engine: str, folder):
    """``frame`` written as typed Parquet in ``folder`` and scanned by ``engine`` (nothing loaded in pandas)."""
    path = folder / f"lines_{next(_counter)}.parquet"
    frame.to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    return connect(EngineSettings(engine)).read_parquet(str(path))


# The pandas form runs with DuckDB (make test); a run on other engines only (make test-spark) skips it.
@pytest.fixture(params=["pandas", *ENGINES] if "duckdb" in ENGINES else ENGINES)
def lines_as(request, tmp_path):
    """A function turning a frame into the form under test: the frame itself, or an engine table."""
    if request.param == "pandas":
        return lambda frame: frame
    return lambda frame: engine_table(frame, request.param, tmp_path)


def pytest_collection_modifyitems(items):
    for item in items:  # every test that runs on an engine table is an engine test (make test-spark runs them)
        if "lines_as" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)
