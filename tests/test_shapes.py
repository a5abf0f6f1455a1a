"""Every valid shape of the data contract completes every notebook.

The notebooks' code cells are executed here in-process, in order, with the parameters a report run
gives them (``interactive=False``): the very calls the notebooks make, without starting a kernel.
Shapes come from :mod:`tests.shapes`: which optional tables and columns exist, empty columns, 1-50
customers with 1-20 lines each, purchases on a single day, leads with or without conversions.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import NAMED_SHAPES, Shape, run_notebook_in_process, shape_frames, shape_strategy, write_portfolio  # noqa: E402

matplotlib.use("Agg")

NOTEBOOKS = [path for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0*.ipynb"))
             if path.stem[:2] not in os.environ.get("SHAPES_SKIP", "").split(",")]
RUNS: list[str] = []  # descriptions of the shapes the property test ran


def run_all_notebooks(shape: Shape, folder: Path) -> dict[str, dict]:
    """Run every notebook on ``shape``; return each notebook's recorded metrics."""
    import matplotlib.pyplot as plt

    config = write_portfolio(shape, folder / "data")
    out = folder / "out"
    metrics = {}
    for notebook in NOTEBOOKS:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                run_notebook_in_process(notebook, {"config_path": str(config), "output_dir": str(out),
                                                   "interactive": False})
            except Exception as error:
                raise AssertionError(f"{notebook.stem} failed on shape: {shape.describe()}: "
                                     f"{type(error).__name__}: {error}") from error
            finally:
                plt.close("all")
        path = out / "metrics" / f"{notebook.stem}.json"
        metrics[notebook.stem] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return metrics


def test_generator_writes_only_the_chosen_columns_and_empty_ones():
    shape = Shape(n_customers=3, lines_per_customer=(2,), tables=("customers",),
                  columns={"transactions": ("status",), "customers": ("email", "phone")},
                  empty=(("customers", "email"),))
    frames = shape_frames(shape)
    assert list(frames["transactions"].columns) == ["customer_id", "date", "amount", "status"]
    assert list(frames["customers"].columns) == ["customer_id", "email", "phone"]
    assert frames["customers"]["email"].isna().all() and frames["customers"]["phone"].notna().all()
    assert len(frames["transactions"]) == 6 and frames["transactions"]["customer_id"].nunique() == 3


def test_generator_single_day():
    frames = shape_frames(Shape(n_customers=4, lines_per_customer=(1, 3), single_day=True))
    assert frames["transactions"]["date"].nunique() == 1


@pytest.mark.parametrize("name", ["one_customer_one_line", "customers_id_only", "empty_email_phone",
                                  "leads_id_and_date", "leads_converted_without_prior_event"])
def test_named_shape_completes_every_notebook(name, tmp_path):
    metrics = run_all_notebooks(NAMED_SHAPES[name], tmp_path)
    assert metrics["01_data_cleaning"]["n_transactions"] == len(shape_frames(NAMED_SHAPES[name])["transactions"])


def test_missing_columns_are_said_in_plain_words(tmp_path):
    shape = NAMED_SHAPES["customers_id_only"]
    config = write_portfolio(shape, tmp_path / "data")
    namespace = run_notebook_in_process(NOTEBOOKS[0], {"config_path": str(config),
                                                      "output_dir": str(tmp_path / "out"), "interactive": False})
    findings = "\n".join(namespace["findings"])
    assert "No e-mail column in the customers table: e-mail checks skipped" in findings
    assert "No phone column in the customers table" in findings
    assert "n_invalid_emails" not in json.loads((tmp_path / "out/metrics/01_data_cleaning.json").read_text())


def test_empty_email_column_is_absent(tmp_path):
    metrics = run_all_notebooks(NAMED_SHAPES["empty_email_phone"], tmp_path)["01_data_cleaning"]
    assert "n_invalid_emails" not in metrics and "n_invalid_phones" not in metrics
    assert metrics["n_customers"] == 10


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(shape=shape_strategy())
def test_every_drawn_shape_completes_every_notebook(shape):
    with tempfile.TemporaryDirectory(prefix="shape-") as tmp:
        metrics = run_all_notebooks(shape, Path(tmp))
    RUNS.append(shape.describe())
    n_lines = sum(itertools.islice(itertools.cycle(shape.lines_per_customer), shape.n_customers))
    assert metrics["01_data_cleaning"]["n_transactions"] == n_lines
    assert all(metrics[notebook.stem] for notebook in NOTEBOOKS), "every notebook records its metrics"
