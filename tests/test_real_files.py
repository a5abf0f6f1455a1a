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


# --------------------------------------------------------------------------- notebooks 07 and 08
#
# Definitions (issue #15), recomputed here in plain pandas on the raw files:
# * a customer's value in a window: the net sum of their lines dated in it, rounded to the cent; only its
#   positive part counts in the bridge; first purchase: their earliest line;
# * bridge, with prev/cur those values: new (prev = 0, cur > 0, first purchase in the current window),
#   reactivated (prev = 0, cur > 0, first purchase before), expansion (cur > prev > 0: cur - prev),
#   contraction (0 < cur < prev: cur - prev), churned (prev > 0, cur = 0: -prev); start = Σ prev, end = Σ cur;
# * NRR = (start + expansion + contraction + churned) / start, GRR = (start + contraction + churned) / start;
# * cohorts (quarters): customers grouped by the quarter of their first line, acquired when their net in that
#   quarter is above zero; per cohort and quarter the acquired customers with a net above zero, and their net.

def raw_lines(name: str) -> pd.DataFrame:
    """customer, day, amount of every kept line of a raw file."""
    if name == "cdnow":
        raw = pd.read_csv(DATA / "cdnow" / "CDNOW_master.txt", sep=r"\s+", dtype=str)
        return pd.DataFrame({"customer": raw["customer_id"], "amount": raw["dollar_value"].astype(float),
                             "day": pd.to_datetime(raw["date"], format="%Y%m%d")})
    raw = pd.read_csv(DATA / "online_retail" / "online_retail_extract.csv", dtype=str, keep_default_na=False)
    kept = raw[raw["CustomerID"].str.strip() != ""]
    return pd.DataFrame({"customer": kept["CustomerID"].astype(float).astype(int).astype(str),
                         "amount": kept["Quantity"].astype(float) * kept["UnitPrice"].astype(float),
                         "day": pd.to_datetime(kept["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").dt.normalize()})


def window_cents(lines: pd.DataFrame, start, end) -> pd.Series:
    chosen = lines[(lines["day"] >= pd.Timestamp(start)) & (lines["day"] <= pd.Timestamp(end))]
    return (chosen.groupby("customer")["amount"].sum() * 100).round().astype("int64")


def plain_bridge(lines: pd.DataFrame, previous: tuple, current: tuple) -> dict:
    prev, cur = window_cents(lines, *previous), window_cents(lines, *current)
    ids = prev.index.union(cur.index)
    p, c = prev.reindex(ids, fill_value=0).clip(lower=0), cur.reindex(ids, fill_value=0).clip(lower=0)
    first = lines.groupby("customer")["day"].min().reindex(ids)
    kinds = {"new": (p == 0) & (c > 0) & (first >= pd.Timestamp(current[0])),
             "reactivated": (p == 0) & (c > 0) & (first < pd.Timestamp(current[0])),
             "expansion": (p > 0) & (c > p), "contraction": (p > 0) & (c > 0) & (c < p), "churned": (p > 0) & (c == 0)}
    counts = {"new": "n_new", "reactivated": "n_reactivated", "expansion": "n_expanded",
              "contraction": "n_contracted", "churned": "n_churned"}
    out = {"start": int(p.sum()), "end": int(c.sum())}
    for kind, chosen in kinds.items():
        out[kind] = int((c - p)[chosen].sum())
        out[counts[kind]] = int(chosen.sum())
    return out


@pytest.mark.parametrize("name", ["cdnow", "online_retail"])
def test_revenue_bridge_export_equals_the_stated_rules(name, request):
    report = request.getfixturevalue(name)
    bridge = pd.read_csv(report["out"] / "latest" / "exports" / "revenue_bridge.csv")
    assert list(bridge.columns[:13]) == ["period", "start", "new", "reactivated", "expansion", "contraction", "churned",
                                         "end", "n_new", "n_reactivated", "n_expanded", "n_contracted", "n_churned"]
    lines = raw_lines(name)
    assert len(bridge) >= 1
    for _, row in bridge.iterrows():
        previous = (row["previous_start"], pd.Timestamp(row["current_start"]) - pd.Timedelta(days=1))
        expected = plain_bridge(lines, previous, (row["current_start"], row["current_end"]))
        for key, value in expected.items():
            shown = round(row[key] * 100) if key in ("start", "end", *MOVEMENT_NAMES) else row[key]
            assert shown == value, (row["period"], key)
        # adds up to the cent, with the stated rules
        assert expected["start"] + sum(expected[k] for k in MOVEMENT_NAMES) == expected["end"]
        covered = lines["day"].min() <= pd.Timestamp(row["previous_start"])
        assert bool(row["previous_covered"]) == covered
        if covered:
            nrr = (expected["start"] + expected["expansion"] + expected["contraction"] + expected["churned"]) \
                / expected["start"]
            grr = (expected["start"] + expected["contraction"] + expected["churned"]) / expected["start"]
            assert row["net_revenue_retention"] == pytest.approx(nrr, abs=5e-5)
            assert row["gross_revenue_retention"] == pytest.approx(grr, abs=5e-5)
        else:  # against a partial period no rate is given, in the export or in run.json
            assert pd.isna(row["net_revenue_retention"]) and pd.isna(row["gross_revenue_retention"])
    metrics = report["run"]["metrics"]
    assert ("net_revenue_retention" in metrics) == bool(bridge["previous_covered"].iloc[-1])
    assert metrics["n_objectives"] == 0 and metrics["n_objectives_on_track"] == 0


MOVEMENT_NAMES = ("new", "reactivated", "expansion", "contraction", "churned")


@pytest.mark.parametrize("name", ["cdnow", "online_retail"])
def test_cohorts_export_equals_the_stated_rules(name, request):
    report = request.getfixturevalue(name)
    cohorts = pd.read_csv(report["out"] / "latest" / "exports" / "cohorts.csv", dtype={"cohort": str})
    assert list(cohorts.columns[:5]) == ["cohort", "periods_since", "customers_active", "share_active", "revenue"]
    lines = raw_lines(name).assign(quarter=lambda f: f["day"].dt.to_period("Q"))
    lines["cohort"] = lines["customer"].map(lines.groupby("customer")["quarter"].min())
    per_quarter = (lines.groupby(["customer", "cohort", "quarter"])["amount"].sum() * 100).round().astype("int64")
    per_quarter = per_quarter.reset_index(name="cents")
    acquired = per_quarter.loc[(per_quarter["quarter"] == per_quarter["cohort"]) & (per_quarter["cents"] > 0),
                               "customer"]
    kept = per_quarter[per_quarter["customer"].isin(acquired)]
    expected = kept.groupby(["cohort", "quarter"]).agg(active=("cents", lambda c: int((c > 0).sum())),
                                                       cents=("cents", "sum"))
    expected.index = [(str(c), (q - c).n) for c, q in expected.index]
    shown = cohorts.set_index(["cohort", "periods_since"])
    for key, row in expected.iterrows():
        assert shown.loc[key, "customers_active"] == row["active"], key
        assert round(shown.loc[key, "revenue"] * 100) == row["cents"], key
    assert shown["customers_active"].sum() == expected["active"].sum()  # nothing more: the other cells are zeros
    first = cohorts[cohorts["periods_since"] == 0]
    assert (first["share_active"] == 1.0).all()  # the first column is 100%
    # every customer of notebook 02 is in a cohort, except those whose first quarter nets to zero or less
    never_acquired = lines["customer"].nunique() - acquired.nunique()
    assert first["customers_active"].sum() == report["run"]["metrics"]["n_customer_ids"] - never_acquired


def page_problems(path: Path) -> list[str]:
    """What a manager should never see on a report page: NaN/None/inf, an empty table, code."""
    import re
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.text, self.skip, self.tables, self.rows = [], 0, [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("style", "script")
            if tag == "table":
                self.tables.append(0)
            elif tag == "tr" and self.tables:
                self.tables[-1] += 1

        def handle_endtag(self, tag):
            self.skip -= tag in ("style", "script")

        def handle_data(self, data):
            if not self.skip:
                self.text.append(data)

    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    text = " ".join(page.text)
    problems = [f"shows {word!r}" for word in re.findall(r"\b(?:nan|NaN|None|inf|NaT|<NA>)\b", text)]
    problems += ["an empty table" for rows in page.tables if rows <= 1]  # a header and no row
    problems += ["code" for marker in ("Traceback", "import ", "def ") if marker in text]
    return problems


@pytest.mark.parametrize("name", ["cdnow", "online_retail"])
def test_growth_and_voice_pages_read_clean(name, request):
    out = request.getfixturevalue(name)["out"] / "latest"
    for page in ("07_growth.html", "08_voice.html"):
        assert page_problems(out / page) == [], page


# Notebook 06 (future value) on the real files. Definitions checked in plain pandas:
# * a purchase is a purchase day (all lines of a customer on a day merged); CDNOW's clv.calibration_end is
#   1997-09-30 and as_of 1998-06-30: the holdout repeat purchases are the purchase days after the calibration
#   end up to as_of of the customers who bought by then (every CDNOW customer did, in Q1 1997);
# * expected_profit = expected_purchases x (expected spend x margin rate - cost to serve per purchase day), with
#   the margin rate gross_margin / revenue of notebook 03's P&L (the portfolio's rate when revenue <= 0) and the
#   cost per purchase day cost_to_serve / purchase days up to as_of: expected_profit = expected_revenue x rate
#   - expected_purchases x cost per day;
# * clv_total and clv_profit_total are the sums of the customers' clv and clv_profit.
CLV_METRICS = ("clv_model", "bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "bgnbd_loglik", "pnbd_r", "pnbd_alpha",
               "pnbd_s", "pnbd_beta", "gg_p", "gg_q", "gg_v", "holdout_purchases_actual",
               "holdout_purchases_predicted", "clv_total", "clv_profit_total", "n_customers_probably_gone")


def cdnow_purchase_days() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "cdnow" / "CDNOW_master.txt", sep=r"\s+", dtype=str)
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "day"]].drop_duplicates()


def test_cdnow_future_value_against_plain_pandas(cdnow):
    out = cdnow["out"] / "latest"
    metrics = cdnow["run"]["metrics"]
    assert set(CLV_METRICS) <= set(metrics)
    days = cdnow_purchase_days()
    end, as_of = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")
    calibrated = days.groupby("customer_id")["day"].min().loc[lambda first: first <= end].index
    holdout = days[(days["day"] > end) & (days["day"] <= as_of) & days["customer_id"].isin(calibrated)]
    assert metrics["holdout_purchases_actual"] == len(holdout) == 19_684

    customers = pd.read_csv(out / "exports" / "customers.csv", dtype={"customer_id": str})
    value_columns = ["p_alive", "expected_purchases", "expected_revenue", "expected_profit", "clv", "clv_profit"]
    assert len(customers) == 23_570 and customers[value_columns].notna().all().all()
    assert customers["p_alive"].between(0, 1).all() and (customers["expected_purchases"] >= 0).all()
    for column in value_columns:  # money to the cent, ratios and purchases to 4 decimals
        decimals = 4 if column in ("p_alive", "expected_purchases") else 2
        assert (customers[column] == customers[column].round(decimals)).all(), column
    n = len(customers)
    assert metrics["clv_total"] == pytest.approx(customers["clv"].sum(), abs=0.005 * n)
    assert metrics["clv_profit_total"] == pytest.approx(customers["clv_profit"].sum(), abs=0.005 * n)
    gone = metrics["n_customers_probably_gone"]
    assert (customers["p_alive"] < 0.19995).sum() <= gone <= (customers["p_alive"] < 0.20005).sum()

    revenue = customers["cogs"] + customers["gross_margin"]
    rate = np.where(revenue > 0, customers["gross_margin"] / revenue.where(revenue > 0),
                    customers["gross_margin"].sum() / revenue.sum())
    n_days = days[days["day"] <= as_of].groupby("customer_id").size().reindex(customers["customer_id"]).to_numpy()
    per_day = customers["cost_to_serve"] / n_days
    expected = customers["expected_revenue"] * rate - customers["expected_purchases"] * per_day
    # the rounding of the exported figures: expected revenue and profit, gross margin and cogs to the cent,
    # expected purchases to 4 decimals
    rate_error = np.where(revenue > 0, 0.005 * (1 + rate) / revenue.where(revenue > 0), 0.0)
    tolerance = (0.005 * rate + (customers["expected_revenue"] + 0.005) * rate_error + 0.00005 * per_day
                 + customers["expected_purchases"] * 0.005 / n_days + 0.005 + 1e-9)
    assert (np.abs(expected - customers["expected_profit"]) <= tolerance).all()

    models = pd.read_csv(out / "exports" / "clv_models.csv")
    assert set(models["model"]) == {"bgnbd", "pnbd", "mbgnbd", "gg", "own_rate", "average_rate"}
    assert (models.loc[models["status"] != "baseline", "status"] == "converged").all()
    calibration = models[(models["model"] == metrics["clv_model"]) & (models["fitted_on"] == "calibration")]
    assert calibration["actual_total"].tolist() == [19_684]


@pytest.mark.parametrize("name", ["cdnow", "online_retail"])
def test_value_page_reads_clean(name, request):
    out = request.getfixturevalue(name)["out"] / "latest"
    assert page_problems(out / "06_value.html") == []
