"""End to end: generated portfolio -> `portfolio report` -> run folder, checked against figures computed
independently here with plain pandas on the CSV files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from portfolio_helpers.app.cli import main
from portfolio_helpers.app.sample_data import write_demo_data
from portfolio_helpers.reporting.html import find_network_references

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import folder_texts  # noqa: E402

AS_OF = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def clean_sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    write_demo_data(folder, n_customers=250, seed=11, dirty=False)
    return folder


def expected_metrics(transactions_csv: Path, with_status: bool = True) -> dict:
    """What notebook 01 must report, computed without any of the kit's loading code.

    ``with_status=False``: the export the kit reads has no status column, so no line can be
    known to be cancelled and every line counts as revenue.
    """
    tx = pd.read_csv(transactions_csv, dtype={"customer_id": str, "order_id": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y-%m-%d")
    kept = tx[tx["date"] <= AS_OF]
    cancelled = kept["status"].eq("cancelled") if with_status else pd.Series(False, index=kept.index)
    revenue = kept[~cancelled]  # revenue: cancelled lines excluded, credit notes included
    # orders: a customer's lines sharing an order id; a line without one is an order of its own
    orders = revenue.groupby("customer_id")["order_id"].nunique().sum() + revenue["order_id"].isna().sum()
    return {
        "n_transactions": len(kept),
        "n_customer_ids": kept["customer_id"].nunique(),
        "revenue_total": revenue["amount"].sum(),
        "cancelled_total": kept.loc[cancelled, "amount"].sum(),
        "period_start": kept["date"].min().strftime("%Y-%m-%d"),
        "period_end": kept["date"].max().strftime("%Y-%m-%d"),
        "n_rejected_rows": len(tx) - len(kept),
        "n_orders": orders,
    }


def check_metrics(metrics: dict, expected: dict) -> None:
    for name, value in expected.items():
        if isinstance(value, float):
            assert metrics[name] == pytest.approx(value, abs=0.01), name
        else:
            assert metrics[name] == value, name


@pytest.fixture(scope="module")
def clean_run(clean_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    code = main(["report", "--config", str(clean_sample / "portfolio.yml"), "--out", str(out)])
    return code, out


def test_report_on_generated_portfolio(clean_run, clean_sample):
    code, out = clean_run
    assert code == 0
    latest = out / "latest"
    assert latest.is_symlink() and (latest / "index.html").is_file()
    run = json.loads((latest / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "ok"
    assert run["as_of"] == "2025-12-31"
    assert all(nb["status"] == "ok" for nb in run["notebooks"])
    check_metrics(run["metrics"], expected_metrics(clean_sample / "transactions.csv"))
    # Inputs are fingerprinted and never modified.
    inputs = {Path(item["path"]).name: item for item in run["inputs"]}
    assert set(inputs) == {"transactions.csv", "customers.csv", "payments.csv", "tickets.csv", "leads.csv",
                           "feedback.csv"}
    import hashlib

    for name, item in inputs.items():
        assert item["sha256"] == hashlib.sha256((clean_sample / name).read_bytes()).hexdigest()


def test_report_folder_contents(clean_run):
    _code, out = clean_run
    run_dir = (out / "latest").resolve()
    for name in ("index.html", "run.json", "01_data_cleaning.ipynb", "01_data_cleaning.html",
                 "exports/rejected_rows.csv", "data/transactions.parquet", "data/customers.parquet"):
        assert (run_dir / name).is_file(), name
    html = (run_dir / "01_data_cleaning.html").read_text(encoding="utf-8")
    assert find_network_references(html) == []
    assert "load_portfolio(" not in html  # no code in the report
    assert "Key findings" in html and "data:image/png;base64" in html
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert find_network_references(index) == []
    assert "01_data_cleaning.html" in index


def test_typed_tables_handed_to_later_notebooks(clean_run, clean_sample):
    _code, out = clean_run
    tx = pd.read_parquet(out / "latest" / "data" / "transactions.parquet")
    expected = expected_metrics(clean_sample / "transactions.csv")
    assert len(tx) == expected["n_transactions"]
    assert pd.api.types.is_datetime64_any_dtype(tx["date"])
    assert tx["amount"].sum() == pytest.approx(expected["revenue_total"] + expected["cancelled_total"], abs=0.01)


def to_french_export(clean_sample: Path, folder: Path) -> Path:
    """The same transactions as a French accounting export: ';', decimal comma, cp1252, dd/mm/yyyy."""
    tx = pd.read_csv(clean_sample / "transactions.csv", dtype=str, keep_default_na=False)
    amount = tx["amount"].astype(float)
    french = pd.DataFrame({
        "N° client": tx["customer_id"],
        "Date facture": pd.to_datetime(tx["date"]).dt.strftime("%d/%m/%Y"),
        "Montant HT": amount.map(lambda v: f"{v:,.2f} €".replace(",", "\u00a0").replace(".", ",")),
        "N° facture": tx["order_id"],
        "Catégorie": tx["category"],
    })
    french.to_csv(folder / "factures.csv", sep=";", index=False, encoding="cp1252")
    config = {
        "name": "Export comptable",
        "currency": "EUR",
        "as_of": "2025-12-31",
        "tables": {"transactions": {
            "path": "factures.csv",
            "columns": {"customer_id": "N° client", "date": "Date facture", "amount": "Montant HT",
                        "order_id": "N° facture", "category": "Catégorie"},
        }},
    }
    (folder / "portfolio.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return folder / "portfolio.yml"


def test_french_style_export_through_the_cli(clean_sample, tmp_path, capsys):
    config = to_french_export(clean_sample, tmp_path)
    raw_before = (tmp_path / "factures.csv").read_bytes()
    # Notebook 01 reads and reports the export; the analyses on these lines are covered by clean_run.
    code = main(["report", "--config", str(config), "--out", str(tmp_path / "reports"), "--only", "01"])
    assert code == 0, capsys.readouterr().err
    run = json.loads((tmp_path / "reports" / "latest" / "run.json").read_text(encoding="utf-8"))
    # The French export carries no status column: every line counts, cancelled ones included.
    check_metrics(run["metrics"], expected_metrics(clean_sample / "transactions.csv", with_status=False))
    assert (tmp_path / "factures.csv").read_bytes() == raw_before


def test_bad_input_gives_one_clear_line_and_exit_2(clean_sample, tmp_path, capsys):
    config = to_french_export(clean_sample, tmp_path)
    text = config.read_text(encoding="utf-8").replace("Montant HT", "Montant TTC")
    config.write_text(text, encoding="utf-8")
    code = main(["report", "--config", str(config), "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "Montant TTC" in err and "factures.csv" in err and "'Montant HT'" in err  # lists what is there
    assert not (tmp_path / "reports" / "latest").exists()


def test_dirty_sample_rejected_rows_are_reported(tmp_path):
    write_demo_data(tmp_path / "dirty", n_customers=250, seed=5, dirty=True)
    out = tmp_path / "reports"
    # Rejected rows are notebook 01's business (every notebook runs on the dirty bundled sample under nbval).
    code = main(["report", "--config", str(tmp_path / "dirty" / "portfolio.yml"), "--out", str(out), "--only", "01"])
    assert code == 0
    run = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8"))
    rejected = pd.read_csv(out / "latest" / "exports" / "rejected_rows.csv")
    assert run["metrics"]["n_rejected_rows"] == run["n_rejected_rows"] > 0
    assert set(rejected.columns) >= {"table", "file", "line", "column", "value", "reason"}
    rows = rejected[rejected["action"] == "row rejected"][["table", "line"]].drop_duplicates()
    assert len(rows) == run["n_rejected_rows"]
    # Nothing lost: every line of the transactions file is either loaded or listed as rejected.
    n_lines = len(pd.read_csv(tmp_path / "dirty" / "transactions.csv", dtype=str))
    loaded = pd.read_parquet(out / "latest" / "data" / "transactions.parquet")
    assert len(loaded) + (rows["table"] == "transactions").sum() == n_lines


def test_strict_mode_turns_row_problems_into_exit_2(tmp_path, capsys):
    write_demo_data(tmp_path / "dirty", n_customers=150, seed=6, dirty=True)
    code = main(["report", "--config", str(tmp_path / "dirty" / "portfolio.yml"), "--out",
                 str(tmp_path / "reports"), "--strict"])
    err = capsys.readouterr().err
    assert code == 2 and "--strict" in err and "Traceback" not in err


def independent_pareto(transactions_csv: Path) -> tuple[pd.Series, dict]:
    """Revenue per customer (cancelled lines out) and the headline measures, with plain numpy."""
    import numpy as np

    tx = pd.read_csv(transactions_csv, dtype={"customer_id": str})
    tx = tx[(pd.to_datetime(tx["date"]) <= AS_OF) & (tx["status"] != "cancelled")]
    revenue = tx.groupby("customer_id")["amount"].sum()
    values = np.sort(revenue.clip(lower=0).to_numpy())  # ascending
    n = len(values)
    total = values.sum()
    # Gini = sum_i (2i - n - 1) x_i / (n * total), i = 1..n ascending
    gini = float(((2 * np.arange(1, n + 1) - n - 1) * values).sum() / (n * total))
    descending = values[::-1]
    cumulative = np.cumsum(descending) / total
    top_n = int(np.ceil(0.2 * n - 1e-9))
    n_for_80 = int(np.argmax(cumulative >= 0.8 - 1e-12)) + 1
    before = np.concatenate([[0.0], cumulative[:-1]])
    n_a = int(((before < 0.8) & (descending > 0)).sum())
    shares = descending / total
    return revenue, {
        "gini": gini,
        "top20_share": float(cumulative[top_n - 1]),
        "share_customers_for_80pct": n_for_80 / n,
        "hhi": float(((shares * 100) ** 2).sum()),
        "n_customers_A": n_a,
        "n_major_customers": int((shares >= 0.10).sum()),
    }


def test_pareto_metrics_and_customer_export(clean_run, clean_sample):
    _code, out = clean_run
    run = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8"))
    assert {nb["name"]: nb["status"] for nb in run["notebooks"]}["02_pareto"] == "ok"
    revenue, expected = independent_pareto(clean_sample / "transactions.csv")
    for name, value in expected.items():
        assert run["metrics"][name] == pytest.approx(value, abs=1e-9), name
    counts = run["metrics"]
    assert counts["n_customers_A"] + counts["n_customers_B"] + counts["n_customers_C"] == len(revenue)

    export = pd.read_csv(out / "latest" / "exports" / "customers.csv", dtype={"customer_id": str})
    assert {"customer_id", "revenue", "revenue_rank", "revenue_share", "cumulative_share", "abc_class"} <= set(export)
    assert len(export) == len(revenue) and export["customer_id"].is_unique
    by_id = export.set_index("customer_id")
    assert by_id["revenue"].to_dict() == pytest.approx(revenue.to_dict())
    assert by_id["revenue_share"].sum() == pytest.approx(1.0, abs=0.5e-4 * len(by_id))  # exported to 4 decimals
    assert by_id.loc[by_id["revenue_rank"] == 1, "revenue"].iloc[0] == pytest.approx(revenue.max())
    html = (out / "latest" / "02_pareto.html").read_text(encoding="utf-8")
    assert find_network_references(html) == [] and "widget-view" not in html and "widget-state" not in html


def test_profitability_metrics_and_export(clean_run, clean_sample):
    _code, out = clean_run
    run = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8"))
    assert {nb["name"]: nb["status"] for nb in run["notebooks"]}["03_profitability"] == "ok"
    metrics = run["metrics"]
    export = pd.read_csv(out / "latest" / "exports" / "customers.csv", dtype={"customer_id": str})
    from portfolio_helpers.analysis.profitability import DRIVER_COLUMNS, EXPORT_COLUMNS

    assert set(EXPORT_COLUMNS) <= set(export.columns)
    # The export and the metrics tell the same story, and profit adds up driver by driver
    # (money is exported to the cent: each value is within half a cent).
    cent = 0.005
    assert export["profit"].sum() == pytest.approx(metrics["total_profit"], abs=cent * len(export))
    assert export["cost_to_serve"].sum() == pytest.approx(metrics["cost_to_serve_total"], abs=cent * len(export))
    assert export[list(DRIVER_COLUMNS)].sum(axis=1).to_numpy() == pytest.approx(
        export["cost_to_serve"].to_numpy(), abs=cent * (len(DRIVER_COLUMNS) + 1))
    assert (export["revenue"] - export["cogs"] - export["cost_to_serve"]).to_numpy() == pytest.approx(
        export["profit"].to_numpy(), abs=4 * cent)
    assert metrics["share_unprofitable_customers"] == pytest.approx((export["profit"] < 0).mean())
    assert metrics["whale_peak_pct"] >= 100.0
    # Cost of goods: the clean sample has a cost on every line, so it is exactly the sum of costs.
    tx = pd.read_csv(clean_sample / "transactions.csv")
    assert export["cogs"].sum() == pytest.approx(tx.loc[tx["status"] != "cancelled", "cost"].sum(),
                                                 abs=cent * len(export))


def test_customer_export_columns_equal_their_single_definition(clean_run, clean_sample):
    """Each figure of ``customers.csv`` (revenue, orders, gross margin, recency...) is the one of docs/data_contract.md."""
    from test_definitions import check_against_reference, reference_figures

    from portfolio_helpers.analysis.profitability import load_cost_model

    _code, out = clean_run
    export = pd.read_csv(out / "latest" / "exports" / "customers.csv", dtype={"customer_id": str})
    transactions = pd.read_parquet(out / "latest" / "data" / "transactions.parquet")
    reference = reference_figures(transactions, AS_OF, load_cost_model(clean_sample / "portfolio.yml"))
    checked = check_against_reference(export.set_index("customer_id"), reference, "customers.csv", money_abs=0.006)
    assert {"revenue", "monetary", "frequency", "recency_days", "cogs", "gross_margin"} <= set(checked)


@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory):
    """The dirty sample generator's output, with pseudonymization switched on."""
    folder = tmp_path_factory.mktemp("dirty_private")
    write_demo_data(folder, n_customers=300, seed=8, dirty=True)
    config = folder / "portfolio.yml"
    config.write_text(config.read_text(encoding="utf-8") + "pseudonymize: true\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("reports_private")
    code = main(["report", "--config", str(config), "--out", str(out)])
    return code, folder, (out / "latest").resolve()


def test_cleaning_exports_and_merge_keep_every_transaction(dirty_run):
    from portfolio_helpers.app.sample_data import load_truth

    code, folder, run_dir = dirty_run
    assert code == 0
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    metrics = run["metrics"]
    for name in ("quality_score", "n_duplicate_groups", "n_records_merged", "n_invalid_emails",
                 "n_invalid_phones", "n_customers"):
        assert name in metrics, name
    assert 0 <= metrics["quality_score"] <= 100
    exports = run_dir / "exports"
    mapping = pd.read_csv(exports / "id_mapping.csv", dtype=str)
    raw_customers = pd.read_csv(folder / "customers.csv", dtype=str)
    # One row per original customer id; survivors map to themselves.
    assert sorted(mapping["customer_id"]) == sorted(raw_customers["customer_id"])
    survivors = set(mapping["survivor_id"])
    assert all(mapping.loc[mapping["customer_id"].isin(survivors), "survivor_id"]
               == mapping.loc[mapping["customer_id"].isin(survivors), "customer_id"])
    assert metrics["n_records_merged"] == (mapping["customer_id"] != mapping["survivor_id"]).sum()
    assert metrics["n_customers"] == len(survivors)
    truth = load_truth(folder / "truth.json")["duplicate_groups"]
    assert metrics["n_duplicate_groups"] >= 0.9 * truth["group_id"].nunique()
    # No transaction lost in the merge: every loaded line is there, under its survivor's id.
    tx = pd.read_parquet(run_dir / "data" / "transactions.parquet")
    assert set(tx["customer_id"]) <= survivors | set(tx.loc[~tx["customer_known"], "customer_id"])
    rejected = pd.read_csv(exports / "rejected_rows.csv", dtype=str)
    rejected_tx = rejected[(rejected["table"] == "transactions") & (rejected["action"] == "row rejected")]
    n_lines = len(pd.read_csv(folder / "transactions.csv", dtype=str))
    assert len(tx) + rejected_tx["line"].nunique() == n_lines
    assert (tx["customer_id"] != tx["original_customer_id"]).any()  # merged ids were rewritten, and kept
    for name in ("cleaning_log.csv", "duplicates.csv", "duplicates_review.csv", "quality_issues.csv"):
        assert (exports / name).is_file(), name
    log = pd.read_csv(exports / "cleaning_log.csv", dtype=str)
    assert {"table", "row_key", "column", "old_value", "new_value", "rule"} <= set(log.columns)
    assert {"phone_e164", "credit_note"} <= set(log["rule"])


def test_pseudonymized_report_leaks_no_personal_value(dirty_run):
    from portfolio_helpers.cleaning.privacy import find_personal_values

    _code, folder, run_dir = dirty_run
    raw = {"customers": pd.read_csv(folder / "customers.csv", dtype=str)}
    checked = 0
    for path in [*run_dir.glob("*.html"), *(run_dir / "exports").glob("*.csv")]:
        leaks = find_personal_values(path.read_text(encoding="utf-8"), raw)
        assert leaks == [], f"{path.name} shows personal data: {leaks[:5]}"
        checked += 1
    assert checked >= 8
    customers = pd.read_parquet(run_dir / "data" / "customers.parquet")
    assert find_personal_values(customers.to_csv(), raw) == []
    assert customers["name"].str.startswith("Customer ").all()
    # The key stays beside the config, never in the report folder.
    assert (folder / ".portfolio_pseudonym.key").is_file()
    assert not list(run_dir.rglob("*.key"))


def test_pseudonymized_report_holds_no_comment_text(dirty_run):
    """Survey comments are free text: with ``pseudonymize: true`` no file of the run folder (pages, executed
    notebooks, CSV exports, JSON, Parquet data) holds any of them; topics and scores stay."""
    code, folder, run_dir = dirty_run
    assert code == 0
    comments = set(pd.read_csv(folder / "feedback.csv", dtype=str)["comment"].dropna())
    assert len(comments) >= 5
    texts = folder_texts(run_dir)
    assert [(path.name, comment) for path, text in texts.items() for comment in comments if comment in text] == []
    assert {".html", ".csv", ".json", ".parquet", ".ipynb"} <= {path.suffix for path in texts}
    feedback = pd.read_parquet(run_dir / "data" / "feedback.parquet")
    assert "comment" not in feedback.columns and feedback["topic"].notna().any()
    assert (run_dir / "exports" / "valuable_detractors.csv").is_file()


def test_segmentation_metrics_and_exports(clean_run):
    _code, out = clean_run
    run = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8"))
    assert {nb["name"]: nb["status"] for nb in run["notebooks"]}["04_segmentation"] == "ok"
    metrics = run["metrics"]
    export = pd.read_csv(out / "latest" / "exports" / "customers.csv", dtype={"customer_id": str})
    columns = ["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment", "cluster",
               "cluster_name", "lifecycle_stage"]
    assert set(columns) <= set(export.columns)
    buyers = export[export["frequency"].notna()]
    assert buyers[["r_score", "f_score", "m_score"]].isin([1, 2, 3, 4, 5]).all().all()
    assert metrics["n_segments"] == buyers["cluster"].nunique()
    assert metrics["n_champions"] == (buyers["rfm_segment"] == "Champions").sum()
    assert metrics["n_at_risk"] == (buyers["rfm_segment"] == "At Risk").sum()
    assert -1 <= metrics["silhouette"] <= 1 and -1 <= metrics["stability_ari"] <= 1
    assert buyers["monetary"].to_numpy() == pytest.approx(buyers["revenue"].to_numpy())  # one revenue definition
    segments = pd.read_csv(out / "latest" / "exports" / "segments.csv")
    assert len(segments) == metrics["n_segments"] and segments["name"].is_unique


def test_scoring_metrics_and_exports(clean_run, clean_sample):
    _code, out = clean_run
    run = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8"))
    assert {nb["name"]: nb["status"] for nb in run["notebooks"]}["05_scoring"] == "ok"
    metrics = run["metrics"]
    leads = pd.read_csv(out / "latest" / "exports" / "leads_scored.csv", dtype={"lead_id": str})
    assert list(leads.columns[:9]) == ["lead_id", "fit_score", "engagement_score", "total_score", "grade", "grid",
                                       "conversion_probability", "top_reasons", "model_factors"]
    assert len(leads) > 0 and leads["lead_id"].is_unique
    assert metrics["n_grade_a"] == (leads["grade"] == "A").sum()
    assert ((leads["fit_score"] + leads["engagement_score"]).round(1) == leads["total_score"]).all()
    assert leads["total_score"].between(0, 100).all() and leads["conversion_probability"].between(0, 1).all()
    assert leads["grid"].str.fullmatch(r"[ABC][123]").all()
    # Open leads, independently: no customer id on any row and an event in the last 90 days.
    raw = pd.read_csv(clean_sample / "leads.csv", dtype={"lead_id": str, "customer_id": str}, parse_dates=["date"])
    linked = raw.groupby("lead_id")["customer_id"].apply(lambda ids: ids.notna().any())
    last = raw.groupby("lead_id")["date"].max()
    open_leads = set(linked.index[~linked & (last >= AS_OF - pd.Timedelta(days=90))])
    assert metrics["n_leads_scored"] == len(open_leads)
    # The export keeps those who may be contacted: not do_not_contact, and a consented or consent-free channel.
    wishes = raw.drop_duplicates("lead_id", keep="last").set_index("lead_id")
    reachable = ((wishes["do_not_contact"] == "no") & ((wishes["consent_email"] == "yes")
                 | (wishes["consent_phone"] == "yes") | wishes["preferred_channel"].isin(["mail", "visit"])))
    assert set(leads["lead_id"]) == open_leads & set(reachable.index[reachable])
    assert leads["contact_channel"].notna().all()
    for name in ("auc_conversion", "auc_next_purchase"):
        assert 0.5 < metrics[name] <= 1, name
    assert 0 <= metrics["brier_conversion"] <= 0.25
    customers = pd.read_csv(out / "latest" / "exports" / "customers.csv", dtype={"customer_id": str})
    assert {"value_score", "purchase_probability", "at_risk", "score_grade"} <= set(customers.columns)
    buyers = customers[customers["value_score"].notna()]
    assert buyers["value_score"].between(0, 100).all() and buyers["purchase_probability"].between(0, 1).all()
    assert buyers["score_grade"].isin(["A", "B", "C"]).all()
    assert metrics["n_customers_at_risk"] == buyers["at_risk"].astype(str).eq("True").sum()
    # The at-risk call list: the flagged customers the contact rules keep, largest revenue first, with the why.
    calls = pd.read_csv(out / "latest" / "exports" / "at_risk_customers.csv", dtype={"customer_id": str})
    assert list(calls.columns) == ["customer_id", "owner", "revenue_at_risk", "recency_days", "usual_gap_days",
                                   "days_overdue", "value_score", "reason", "contact_channel"]
    flagged = set(customers.loc[customers["at_risk"].astype(str).eq("True"), "customer_id"])
    log = pd.read_csv(out / "latest" / "exports" / "contact_exclusions.csv", keep_default_na=False)
    logged = log[log["list"] == "at_risk_customers"].iloc[0]
    assert set(calls["customer_id"]) <= flagged and logged["listed"] == len(flagged) and logged["kept"] == len(calls)
    assert calls["revenue_at_risk"].is_monotonic_decreasing and calls["contact_channel"].notna().all()
    assert calls["reason"].str.startswith("no purchase for").all()
    html = (out / "latest" / "05_scoring.html").read_text(encoding="utf-8")
    assert "hot lead" in html and "Traceback" not in html and not find_network_references(html)


def test_value_metrics_and_exports(clean_run):
    """Notebook 06: the run.json metrics and the exports agree with each other and with the definitions."""
    _code, out = clean_run
    run = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8"))
    assert {nb["name"]: nb["status"] for nb in run["notebooks"]}["06_value"] == "ok"
    metrics = run["metrics"]
    customers = pd.read_csv(out / "latest" / "exports" / "customers.csv", dtype={"customer_id": str})
    columns = ["p_alive", "expected_purchases", "expected_revenue", "expected_profit", "clv", "clv_profit"]
    assert set(columns) <= set(customers.columns)
    valued = customers[customers["p_alive"].notna()]
    assert valued["p_alive"].between(0, 1).all() and (valued["expected_purchases"] >= 0).all()
    assert metrics["clv_model"] in ("bgnbd", "pnbd", "mbgnbd")
    assert metrics["clv_total"] == pytest.approx(valued["clv"].sum(), abs=0.01 * len(valued))
    assert metrics["clv_profit_total"] == pytest.approx(valued["clv_profit"].sum(), abs=0.01 * len(valued))
    assert metrics["n_customers_probably_gone"] == (valued["p_alive"] < 0.2).sum()
    for name in ("bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "pnbd_r", "pnbd_alpha", "pnbd_s", "pnbd_beta",
                 "gg_p", "gg_q", "gg_v"):
        assert metrics.get(name, 1.0) > 0, name
    models_csv = pd.read_csv(out / "latest" / "exports" / "clv_models.csv")
    assert {"bgnbd", "pnbd", "mbgnbd"} <= set(models_csv["model"])
    # the generated sample sets clv.calibration_end: the metrics are the calibration fits, checked on the holdout
    bgnbd = models_csv[(models_csv["model"] == "bgnbd") & (models_csv["fitted_on"] == "calibration")].iloc[0]
    assert bgnbd["r"] == pytest.approx(metrics["bgnbd_r"], abs=1e-4)
    assert metrics["holdout_purchases_actual"] == bgnbd["actual_total"] > 0
    html = (out / "latest" / "06_value.html").read_text(encoding="utf-8")
    assert "Key findings" in html and "Traceback" not in html and not find_network_references(html)


def test_nps_metric_is_the_stated_formula_on_each_customers_latest_answer(clean_run, clean_sample):
    """Issue #18: NPS = share of promoters (9-10) minus share of detractors (0-6), in points, here over each
    customer's latest answer (ties: the later line), recomputed from feedback.csv in plain pandas."""
    code, out = clean_run
    assert code == 0
    metrics = json.loads((out / "latest" / "run.json").read_text(encoding="utf-8"))["metrics"]
    feedback = pd.read_csv(clean_sample / "feedback.csv", dtype={"customer_id": str})
    feedback["date"] = pd.to_datetime(feedback["date"], format="%Y-%m-%d")
    answers = feedback[(feedback["date"] <= AS_OF) & feedback["score"].between(0, 10)].reset_index()
    latest = answers.sort_values(["customer_id", "date", "index"]).drop_duplicates("customer_id", keep="last")
    nps = 100 * ((latest["score"] >= 9).mean() - (latest["score"] <= 6).mean())
    assert metrics["nps"] == pytest.approx(nps, abs=5e-5)
    assert {"response_rate", "n_valuable_detractors", "n_excluded_no_consent"} <= set(metrics)
    assert "csat_mean" not in metrics
