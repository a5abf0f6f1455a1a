"""End to end on typed lines: the transactions are a Parquet file (an engine table scanned by DuckDB),
the other tables CSV files; `portfolio report` runs every notebook and notebook 01's figures equal
those computed here with plain pandas on the Parquet file, to the cent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from ibis.backends.duckdb import Backend as DuckDBBackend

from portfolio_helpers.app.cli import main
from portfolio_helpers.app.sample_data import write_demo_data
from portfolio_helpers.core.files import atomic_to_parquet

AS_OF = pd.Timestamp("2025-12-31")  # the generated sample's as_of


@pytest.fixture(scope="module")
def typed_sample(tmp_path_factory) -> Path:
    """A clean generated sample whose transactions.csv is replaced by typed Parquet (contract dtypes)."""
    folder = tmp_path_factory.mktemp("typed")
    write_demo_data(folder, n_customers=200, seed=5, dirty=False)
    text = ["customer_id", "order_id", "product_id", "category", "status", "channel"]
    tx = pd.read_csv(folder / "transactions.csv", dtype=dict.fromkeys(text, "string"))
    tx["date"] = pd.to_datetime(tx["date"], format="%Y-%m-%d")
    for column in ("amount", "quantity", "cost", "discount"):
        tx[column] = tx[column].astype("float64")
    atomic_to_parquet(tx, folder / "transactions.parquet")  # timestamps in microseconds
    (folder / "transactions.csv").unlink()  # the report cannot read the lines from anywhere else
    config = yaml.safe_load((folder / "portfolio.yml").read_text(encoding="utf-8"))
    config["tables"]["transactions"] = {"path": "transactions.parquet"}
    config["engine"] = {"backend": "duckdb"}
    (folder / "portfolio.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                                          encoding="utf-8")
    return folder


def expected_from_parquet(path: Path) -> dict:
    """Notebook 01's headline figures, computed with pandas alone on the typed file."""
    tx = pd.read_parquet(path)
    assert str(tx["date"].dtype) == "datetime64[us]" and tx["customer_id"].dtype == "string"
    kept = tx[tx["date"] <= AS_OF]
    cancelled = kept["status"].eq("cancelled").fillna(False)
    revenue = kept[~cancelled]
    # an order: a customer's lines sharing an order id; a line without one is an order of its own
    orders = revenue.groupby("customer_id")["order_id"].nunique().sum() + revenue["order_id"].isna().sum()
    return {
        "n_transactions": len(kept),
        "n_customer_ids": kept["customer_id"].nunique(),
        "revenue_total": round(revenue["amount"].sum(), 2),
        "cancelled_total": round(kept.loc[cancelled, "amount"].sum(), 2),
        "period_start": kept["date"].min().strftime("%Y-%m-%d"),
        "period_end": kept["date"].max().strftime("%Y-%m-%d"),
        "n_rejected_rows": len(tx) - len(kept),
        "n_orders": int(orders),
    }


@pytest.fixture(scope="module")
def typed_run(typed_sample, tmp_path_factory):
    """The report on the typed sample, and the most rows any DuckDB query returned to the runner's own
    process (its pre-flight loads the portfolio and checks the config there before any notebook starts)."""
    out = tmp_path_factory.mktemp("reports")
    returned = [0]
    execute = DuckDBBackend.execute

    def counting(self, expr, *args, **kwargs):
        result = execute(self, expr, *args, **kwargs)
        returned[0] = max(returned[0], len(result) if hasattr(result, "__len__") else 1)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DuckDBBackend, "execute", counting)
        code = main(["report", "--config", str(typed_sample / "portfolio.yml"), "--out", str(out), "--quiet"])
    run_dir = max((p for p in out.iterdir() if p.is_dir() and p.name != "latest"), key=lambda p: p.name)
    return code, json.loads((run_dir / "run.json").read_text(encoding="utf-8")), run_dir, returned[0]


def test_every_notebook_runs_on_typed_lines(typed_run):
    code, run, _run_dir, _returned = typed_run
    failed = {nb["name"]: nb.get("error") for nb in run["notebooks"] if nb["status"] != "ok"}
    assert not failed, json.dumps(failed, indent=1)
    assert code == 0 and run["status"] == "ok"


def test_notebook_01_figures_equal_pandas_on_the_file(typed_run, typed_sample):
    _code, run, _run_dir, _returned = typed_run
    cleaning = next(nb for nb in run["notebooks"] if nb["name"] == "01_data_cleaning")
    assert cleaning["status"] == "ok", cleaning.get("error")
    expected = expected_from_parquet(typed_sample / "transactions.parquet")
    assert expected["n_transactions"] > 5000 and expected["revenue_total"] > 0  # the sample is not trivial
    metrics = run["metrics"]
    for name, value in expected.items():
        if isinstance(value, float):
            assert metrics[name] == pytest.approx(value, abs=0.005), name
        else:
            assert metrics[name] == value, name


def test_notebook_01_says_what_typed_lines_skip(typed_run):
    _code, _run, run_dir, _returned = typed_run
    html = (run_dir / "01_data_cleaning.html").read_text(encoding="utf-8")
    assert "transactions.parquet" in html and "typed Parquet, validated by the engine (duckdb)" in html
    assert "typed" in html and "were not standardised" in html
    assert "their quality checks were counted by the engine" in html and "sign errors are not looked for" in html


def test_the_runner_never_reads_the_lines(typed_run, typed_sample):
    """The pre-flight (load_portfolio, check_sections) and the rest of the runner ran queries on the lines in the
    engine, but what came back is per customer at most, never the lines."""
    _code, run, _run_dir, returned = typed_run
    n_customers = pd.read_csv(typed_sample / "customers.csv").shape[0]
    n_lines = expected_from_parquet(typed_sample / "transactions.parquet")["n_transactions"]
    assert run["inputs"][0]["rows"] == n_lines  # the runner did validate the lines (in the engine)
    assert 0 < returned <= n_customers < n_lines / 10
