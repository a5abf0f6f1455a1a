"""End to end on partial inputs: `portfolio report` on small shapes of the data contract.

Each shape is a tiny portfolio (CSV files and a config written by :mod:`tests.shapes`); the full
report runs every notebook in a kernel, as a user would. Every run must exit 0 with every notebook
``ok`` in ``run.json``. About 70 s per shape on two shared cores (8.5 min for the seven; kernel
start-ups and HTML export dominate, the data is tiny).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import NAMED_SHAPES, write_portfolio  # noqa: E402

from portfolio_helpers.app.cli import main  # noqa: E402

SHAPES = ["one_customer_one_line", "customers_id_only", "empty_email_phone", "one_day_two_customers",
          "leads_id_and_date", "leads_converted_without_prior_event", "leads_enough_to_model"]
pytestmark = pytest.mark.parametrize("name", SHAPES)


def test_report_completes_on_shape(name, tmp_path):
    config = write_portfolio(NAMED_SHAPES[name], tmp_path / "data")
    code = main(["report", "--config", str(config), "--out", str(tmp_path / "reports")])
    # the run's own folder (`latest` only moves on success)
    run_json = sorted((tmp_path / "reports").glob("*/run.json"))[-1]
    run = json.loads(run_json.read_text(encoding="utf-8"))
    failed = {nb["name"]: nb.get("error") for nb in run["notebooks"] if nb["status"] != "ok"}
    assert code == 0 and run["status"] == "ok" and not failed, f"{name}: exit {code}, failed notebooks {failed}"
    assert [nb["name"] for nb in run["notebooks"]] == ["01_data_cleaning", "02_pareto", "03_profitability",
                                                       "04_segmentation", "05_scoring", "08_voice"]
    assert run["metrics"]["n_transactions"] == sum(1 for _ in (tmp_path / "data" / "transactions.csv").open()) - 1
