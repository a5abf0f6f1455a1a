"""Notebook 04 on every valid shape: tiny portfolios go through the package functions the notebook calls
(and twice through papermill); an analysis that needs more data says so as a finding, never an error."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis import features, profitability, rfm, segmentation
from portfolio_helpers.analysis.segmentation import ACTIONABLE_K, MIN_CUSTOMERS, MIN_SEGMENT_SHARE
from portfolio_helpers.reporting import segmentation as report

ROOT = Path(__file__).resolve().parents[1]
AS_OF = pd.Timestamp("2024-06-30")


def transactions(rows) -> pd.DataFrame:
    """Rows of (customer_id, date, amount) as a typed transactions table."""
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    return frame.assign(customer_id=frame["customer_id"].astype("string"), date=pd.to_datetime(frame["date"]),
                        amount=frame["amount"].astype("float64"))


def run_notebook_04(tables: dict, output_dir: Path, as_of=AS_OF) -> dict:
    """The calls of notebook 04, in its order, with its default parameters (no costs configured)."""
    transactions, customers = tables["transactions"], tables.get("customers")
    payments, tickets = tables.get("payments"), tables.get("tickets")
    pnl = profitability.customer_pnl(transactions, profitability.cost_model_from_config(None), payments=payments,
                                     tickets=tickets, as_of=as_of)
    customer_features = features.customer_features(transactions, as_of, customers=customers, payments=payments,
                                                   tickets=tickets, pnl=pnl)
    scores = rfm.score_rfm(customer_features, rfm.DEFAULT_SEGMENT_MAP)
    rfm_table = rfm.segment_summary(scores, customer_features, rfm.DEFAULT_SEGMENT_MAP)
    segments = segmentation.segment_customers(customer_features, n_boot=2)
    metrics = report.segmentation_metrics(segments, scores)
    findings = report.rfm_findings(rfm_table, "EUR") + report.segments_findings(segments)
    report.show_k_choice(segments)
    report.show_profiles(segments)
    stages = segmentation.portfolio_stages(customer_features, as_of, customers=customers, leads=tables.get("leads"))
    report.show_lifecycle(stages)
    counts, revenue, earlier = rfm.migration_since(transactions, as_of, scores, customer_features)
    report.show_migration(counts, revenue, earlier, "EUR")
    table = segmentation.segment_table(scores, segments, stages)
    segmentation.save_segments(table, output_dir)
    profiles_path = report.export_profiles(segments, output_dir)
    settings_line = report.settings_text(segments, "kmeans", 0, 0.5)
    return {"features": customer_features, "segments": segments, "metrics": metrics, "findings": findings,
            "table": table, "profiles_path": profiles_path, "settings": settings_line}


# --------------------------------------------------------------------------------------------------
# Hand-made shapes
# --------------------------------------------------------------------------------------------------

def test_one_customer(tmp_path):
    out = run_notebook_04({"transactions": transactions([("c1", "2024-01-05", 100.0)])}, tmp_path)
    segments = out["segments"]
    assert not segments.ran and segments.skipped == "too_few_customers" and segments.needed == MIN_CUSTOMERS
    assert out["findings"][-1].startswith(
        f"Clustering needs at least {MIN_CUSTOMERS} customers with purchases; this portfolio has 1.")
    assert out["metrics"]["n_segments"] == 0 and "silhouette" not in out["metrics"]
    assert out["profiles_path"] is None
    saved = segmentation.load_segments(tmp_path)
    assert saved["customer_id"].tolist() == ["c1"] and saved["cluster"].isna().all()
    assert saved["lifecycle_stage"].tolist() == ["customer — active"]
    assert "no clustering" in out["settings"]


def test_two_customers_on_one_day(tmp_path):
    tx = transactions([("c1", "2024-01-05", 100.0), ("c2", "2024-01-05", 50.0)])
    out = run_notebook_04({"transactions": tx}, tmp_path)
    assert out["segments"].skipped == "too_few_customers"
    assert "this portfolio has 2." in out["findings"][-1]
    assert segmentation.load_segments(tmp_path)["customer_id"].tolist() == ["c1", "c2"]


def test_no_repeat_buyer_drops_frequency_and_still_segments(tmp_path):
    rng = np.random.default_rng(1)
    days = pd.Timestamp("2023-07-01") + pd.to_timedelta(rng.integers(0, 360, 60), unit="D")
    amounts = np.r_[rng.normal(20, 2, 20), rng.normal(200, 20, 20), rng.normal(2000, 100, 20)]
    tx = transactions(list(zip([f"c{i:02d}" for i in range(60)], days, amounts, strict=True)))
    out = run_notebook_04({"transactions": tx}, tmp_path)
    segments = out["segments"]
    assert segments.ran
    assert "frequency" in segments.dropped["feature"].tolist()
    assert ACTIONABLE_K[0] <= segments.result.k <= ACTIONABLE_K[1]
    assert segments.result.labels.value_counts(normalize=True).min() >= MIN_SEGMENT_SHARE
    assert any(line.startswith("Left out of the clustering") and "frequency (1 for every customer)" in line
               for line in out["findings"])
    saved = segmentation.load_segments(tmp_path)
    assert saved["cluster"].notna().all() and saved["cluster_name"].notna().all()
    assert (tmp_path / "exports" / "segments.csv").is_file()


def test_everyone_the_same_on_one_day(tmp_path):
    tx = transactions([(f"c{i:02d}", "2024-03-01", 10.0) for i in range(25)])
    out = run_notebook_04({"transactions": tx}, tmp_path)
    assert out["segments"].skipped == "no_varying_feature"
    assert out["findings"][-1].startswith("Clustering needs at least one feature on which customers differ")


def test_few_distinct_profiles(tmp_path):
    tx = transactions([(f"c{i:02d}", "2024-03-01", 10.0 if i % 2 else 90.0) for i in range(24)])
    out = run_notebook_04({"transactions": tx}, tmp_path)
    assert out["segments"].skipped == "too_few_distinct" and out["segments"].n_distinct == 2
    assert "show only 2 distinct profiles" in out["findings"][-1]


def test_customers_table_with_only_ids_and_leads_with_only_dates(tmp_path):
    tx = transactions([("c1", "2024-01-05", 100.0), ("c2", "2024-02-05", 40.0)])
    customers = pd.DataFrame({"customer_id": pd.array(["c1", "c2", "c3"], dtype="string")})
    leads = pd.DataFrame({"lead_id": pd.array(["L1"], dtype="string"), "date": pd.to_datetime(["2024-01-01"])})
    out = run_notebook_04({"transactions": tx, "customers": customers, "leads": leads}, tmp_path)
    table = out["table"].set_index("customer_id")
    assert table["lifecycle_stage"].to_dict() == {"c1": "customer — active", "c2": "customer — active"}


# --------------------------------------------------------------------------------------------------
# Drawn shapes
# --------------------------------------------------------------------------------------------------

@st.composite
def portfolios(draw):
    n_customers = draw(st.integers(1, 45))
    one_day = draw(st.booleans())
    rows = []
    for i in range(n_customers):
        for _ in range(draw(st.integers(1, 4))):
            day = 0 if one_day else draw(st.integers(0, 500))
            amount = draw(st.sampled_from([10.0, 25.5, 99.0, 250.0, 1200.0, -15.0]))
            rows.append((f"c{i:02d}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=day), amount))
    return transactions(rows)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(tx=portfolios())
def test_any_small_portfolio_completes(tx, tmp_path):
    out = run_notebook_04({"transactions": tx}, tmp_path)
    segments = out["segments"]
    n_buyers = len(out["features"])
    assert len(segmentation.load_segments(tmp_path)) == n_buyers
    if segments.ran:
        assert n_buyers >= MIN_CUSTOMERS
        assert ACTIONABLE_K[0] <= segments.result.k <= ACTIONABLE_K[1]
        assert segments.result.labels.value_counts(normalize=True).min() >= MIN_SEGMENT_SHARE
    else:
        assert out["findings"][-1].startswith("Clustering needs")


# --------------------------------------------------------------------------------------------------
# Through papermill, as the report runs it
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rows", [
    [("c1", "2024-01-05", 100.0), ("c1", "2024-03-01", 50.0)],
    [("c1", "2024-01-05", 100.0), ("c2", "2024-01-05", 50.0)],
], ids=["one-customer", "two-customers"])
def test_notebook_04_runs_on_a_tiny_portfolio(tmp_path, rows):
    papermill = pytest.importorskip("papermill")
    folder = tmp_path / "portfolio"
    folder.mkdir()
    transactions(rows).to_csv(folder / "transactions.csv", index=False)
    (folder / "portfolio.yml").write_text("name: Tiny\ncurrency: EUR\nas_of: 2024-06-30\ntables:\n"
                                          "  transactions:\n    path: transactions.csv\n", encoding="utf-8")
    run = tmp_path / "run"
    executed = tmp_path / "04.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "04_segmentation.ipynb"), str(executed),
                               parameters={"config_path": str(folder / "portfolio.yml"), "output_dir": str(run),
                                           "interactive": False},
                               cwd=str(ROOT / "notebooks"), progress_bar=False)
    text = "\n".join(str(output.get("text", "")) + str(output.get("data", {}).get("text/markdown", ""))
                     for cell in nbformat.read(executed, as_version=4).cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))
    n = len({row[0] for row in rows})
    assert f"Clustering needs at least {MIN_CUSTOMERS} customers with purchases; this portfolio has {n}." in text
    saved = segmentation.load_segments(run)
    assert len(saved) == n and saved["cluster"].isna().all()
    assert (run / "exports" / "customers.csv").is_file()


def test_notebook_04_holds_no_logic():
    """Issue 12: no function definitions, no column lists, no optional-table access, short cells."""
    nb = nbformat.read(ROOT / "notebooks" / "04_segmentation.ipynb", as_version=4)
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert "def " not in cell.source and "lambda" not in cell.source, number
        assert len(cell.source.splitlines()) <= 15, (number, len(cell.source.splitlines()))
        assert "tables.get(" not in cell.source and '" in customer_features' not in cell.source, number


def test_explorer_widgets_build_or_say_why_not():
    widgets = pytest.importorskip("ipywidgets")
    one = segmentation.segment_customers(pd.DataFrame({"customer_id": ["c1"], "monetary": [5.0]}))
    skipped = report.explorer(pd.DataFrame({"customer_id": ["c1"], "monetary": [5.0]}), one)
    assert isinstance(skipped, widgets.HTML) and "this portfolio has 1" in skipped.value
    rng = np.random.default_rng(0)
    feats = pd.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "recency_days": rng.integers(1, 400, 40),
                          "frequency": rng.integers(1, 9, 40), "monetary": rng.gamma(2.0, 100.0, 40)})
    ran = segmentation.segment_customers(feats, n_boot=2)
    box = report.explorer(feats, ran)
    picker = box.children[0]
    assert isinstance(box, widgets.VBox) and list(picker.options) == ran.result.numeric
