"""The full report on real files nobody here wrote, from a config with no pre-processing.

One CLI run per data set (``portfolio report --config data/<set>/portfolio.yml``), shared by the tests of
that data set; its ``run.json`` metrics are checked against figures computed here with plain pandas on the
raw file, without any of the kit's loading, cleaning or analysis code.

Definitions, the kit's (see ``engine.revenue_lines`` and ``analysis.pareto``):

* revenue: the net sum of the line amounts, credit notes (negative lines) deducted, cancelled lines
  left out. Neither file has a status column, so no line is marked cancelled: an Online Retail
  cancellation (invoice ``C…``, negative quantity) is a credit note and is deducted. Online Retail
  lines have no amount: it is ``Quantity × UnitPrice``; lines without a customer id are set aside.
* customer count: distinct customer ids among the kept lines.
* period: first and last day of the kept lines.
* top-20% share and Gini: over each customer's net revenue, a negative net counted as 0; the top
  20% are the ``⌈0.2 n⌉`` largest customers; Gini is the plain (uncorrected) coefficient, computed
  here from the Lorenz curve, ``G = 1 − Σᵢ (Lᵢ + Lᵢ₋₁) / n``.

CDNOW's published totals (rows, customers, dollars) are checked by ``test_cdnow.py`` on the loaded
table; here the same file goes through the whole report.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.app.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


def concentration(revenue_per_customer: pd.Series) -> tuple[float, float]:
    """(top-20% share, Gini) of per-customer revenue, negatives counted as 0."""
    values = np.sort(revenue_per_customer.clip(lower=0).to_numpy())  # ascending
    n, total = len(values), values.sum()
    top_n = math.ceil(0.2 * n)
    top_share = values[::-1][:top_n].sum() / total
    lorenz = np.concatenate([[0.0], np.cumsum(values) / total])
    gini = 1.0 - (lorenz[1:] + lorenz[:-1]).sum() / n
    return float(top_share), float(gini)


def online_retail_expected() -> dict:
    raw = pd.read_csv(DATA / "online_retail" / "online_retail_extract.csv", dtype=str, keep_default_na=False)
    assert len(raw) == 30_000
    kept = raw[raw["CustomerID"].str.strip() != ""].copy()
    kept["customer"] = kept["CustomerID"].astype(float).astype(int)
    kept["amount"] = kept["Quantity"].astype(float) * kept["UnitPrice"].astype(float)
    kept["day"] = pd.to_datetime(kept["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").dt.normalize()
    top_share, gini = concentration(kept.groupby("customer")["amount"].sum())
    return {"n_transactions": len(kept), "n_rejected_rows": len(raw) - len(kept),
            "n_customer_ids": kept["customer"].nunique(), "revenue_total": kept["amount"].sum(),
            "period_start": kept["day"].min(), "period_end": kept["day"].max(),
            "top20_share": top_share, "gini": gini}


def cdnow_expected() -> dict:
    raw = pd.read_csv(DATA / "cdnow" / "CDNOW_master.txt", sep=r"\s+", dtype=str)
    raw["amount"] = raw["dollar_value"].astype(float)
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    top_share, gini = concentration(raw.groupby("customer_id")["amount"].sum())
    return {"n_transactions": len(raw), "n_rejected_rows": 0, "n_customer_ids": raw["customer_id"].nunique(),
            "revenue_total": raw["amount"].sum(), "period_start": raw["day"].min(), "period_end": raw["day"].max(),
            "top20_share": top_share, "gini": gini}


def run_report(name: str, out: Path) -> dict:
    started = time.perf_counter()
    code = main(["report", "--config", str(DATA / name / "portfolio.yml"), "--out", str(out)])
    seconds = time.perf_counter() - started
    print(f"\nportfolio report on {name}: exit {code} in {seconds:.0f} s")
    run = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8")) if code == 0 else None
    return {"code": code, "run": run, "out": out, "seconds": seconds}


@pytest.fixture(scope="module")
def online_retail(tmp_path_factory):
    return run_report("online_retail", tmp_path_factory.mktemp("online_retail"))


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    return run_report("cdnow", tmp_path_factory.mktemp("cdnow"))


def check_figures(report: dict, expected: dict) -> None:
    assert report["code"] == 0
    run = report["run"]
    assert run["status"] == "ok" and all(nb["status"] == "ok" for nb in run["notebooks"])
    metrics = run["metrics"]
    for name in ("n_transactions", "n_rejected_rows", "n_customer_ids"):
        assert metrics[name] == expected[name], name
    assert metrics["revenue_total"] == pytest.approx(expected["revenue_total"], abs=0.005)
    assert metrics["period_start"] == expected["period_start"].date().isoformat()
    assert metrics["period_end"] == expected["period_end"].date().isoformat()
    assert metrics["top20_share"] == pytest.approx(expected["top20_share"], abs=1e-9)
    assert metrics["gini"] == pytest.approx(expected["gini"], abs=1e-9)


def test_online_retail_report_figures(online_retail):
    expected = online_retail_expected()
    # The raw file's own documentation (data/online_retail/README.md), as a check of the check.
    assert expected["n_rejected_rows"] == 2_000 and expected["n_customer_ids"] == 3_569
    check_figures(online_retail, expected)


def test_online_retail_loading_as_it_comes(online_retail):
    out = online_retail["out"] / "latest"
    rejected = pd.read_csv(out / "exports" / "rejected_rows.csv", dtype=str)
    assert len(rejected) == 2_000
    assert set(rejected["column"]) == {"customer_id"} and set(rejected["reason"]) == {"missing required value"}
    log = pd.read_csv(out / "exports" / "cleaning_log.csv", dtype=str)
    ids = log[log["rule"] == "id_float"]
    assert len(ids) == 28_000 and set(ids["table"]) == {"transactions"}
    assert (ids["old_value"] == ids["new_value"] + ".0").all()
    customers = pd.read_parquet(out / "data" / "customers.parquet")
    assert len(customers) == 3_569 and customers["country"].notna().all()
    exported = pd.read_csv(out / "exports" / "customers.csv", dtype={"customer_id": str})
    assert not exported["customer_id"].str.contains(".", regex=False).any()


def test_cdnow_report_figures(cdnow):
    expected = cdnow_expected()
    assert expected["n_transactions"] == 69_659 and expected["n_customer_ids"] == 23_570
    check_figures(cdnow, expected)


@pytest.mark.parametrize("name", ["online_retail", "cdnow"])
def test_exported_customer_figures_equal_their_single_definition(name, request):
    """customers.csv of the real-file reports: every defined figure equals the definition (plain pandas on the
    typed transactions the report saved), to the cent for money."""
    from test_definitions import check_against_reference, reference_figures

    from portfolio_helpers.analysis.profitability import load_cost_model

    report = request.getfixturevalue(name)
    out = report["out"] / "latest"
    transactions = pd.read_parquet(out / "data" / "transactions.parquet")
    reference = reference_figures(transactions, report["run"]["as_of"], load_cost_model(DATA / name / "portfolio.yml"))
    exported = pd.read_csv(out / "exports" / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    checked = check_against_reference(exported, reference, f"{name} customers.csv", money_abs=0.005 + 1e-9)
    assert {"revenue", "frequency", "recency_days", "cogs", "gross_margin"} <= set(checked), checked
