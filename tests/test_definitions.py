"""One definition per figure: each figure checked by hand, then every place that shows it checked against it.

The first part computes each definition by hand on tiny frames and asks every function that
shows the figure (engine, features, P&L, notebook 02's table, notebook 01's overview, the
scorecards' order events) for it. The second part runs, on each real data set, what the
notebooks call, and checks that every column with the same name (or an alias, such as
``monetary`` for ``revenue``) equals the definition computed here independently in plain
pandas. :func:`reference_figures` is also used by ``test_end_to_end`` on ``customers.csv``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis import engine, features, pareto, profitability, rfm, scoring
from portfolio_helpers.analysis.profitability import CostModel
from portfolio_helpers.cleaning.pipeline import clean_portfolio, open_portfolio
from portfolio_helpers.core import vocabulary
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.contract import normalize_label
from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting import cleaning as cleaning_report

ROOT = Path(__file__).resolve().parents[1]
AS_OF = pd.Timestamp("2025-12-31")
def TS(values) -> pd.DatetimeIndex:
    return pd.to_datetime(values, format="ISO8601")

#: The data sets of the consistency test: name -> portfolio config. Add a real data set here.
DATASETS = {
    "sample": ROOT / "data" / "sample" / "portfolio.yml",
    "cdnow": ROOT / "data" / "cdnow" / "portfolio.yml",
    "online_retail": ROOT / "data" / "online_retail" / "portfolio.yml",
}


def ids(values) -> pd.Series:
    return pd.Series(values, dtype="string")


# --------------------------------------------------------------------------- the vocabulary


def test_vocabulary_is_defined_once():
    assert features.RETURN_STATUSES is vocabulary.RETURN_STATUSES
    assert vocabulary.RETURN_STATUSES == ("returned", "cancelled", "modified")
    assert vocabulary.CANCELLED in vocabulary.STATUSES
    for module in ("analysis.pareto", "analysis.profitability", "analysis.features", "analysis.engine",
                   "reporting.profitability", "reporting.cleaning"):
        source = (ROOT / "portfolio_helpers" / Path(*module.split("."))).with_suffix(".py").read_text()
        assert "RETURN_STATUSES = " not in source and 'UNKNOWN = "' not in source, module
        assert "from portfolio_helpers.reporting.cleaning import UNKNOWN" not in source, module


def test_every_definition_names_a_function_that_exists():
    assert len(vocabulary.DEFINITIONS) >= 10
    for figure, (owner, text) in vocabulary.DEFINITIONS.items():
        module, name = owner.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(f"portfolio_helpers.{module}"), name)), figure
        assert text.strip(), figure
    page = (ROOT / "docs" / "data_contract.md").read_text(encoding="utf-8")
    assert "## Definitions" in page and "`analysis.profitability.cost_of_goods`" in page


def test_engine_is_called_through_public_functions_only():
    for module in ("analysis/profitability.py", "analysis/features.py", "reporting/pareto.py", "analysis/scoring.py"):
        source = (ROOT / "portfolio_helpers" / module).read_text()
        assert "engine._" not in source, module


# --------------------------------------------------------------------------- revenue


def test_revenue_excludes_cancelled_lines_everywhere(tmp_path):
    # a: 100 + 50 (completed) + 40 (cancelled) - 30 (credit note); b: 200; revenue 320, cancelled 40
    (tmp_path / "tx.csv").write_text(
        "customer_id,date,amount,order_id,status\n"
        "a,2025-01-05,100.00,o1,completed\n"
        "a,2025-01-05,50.00,o1,completed\n"
        "a,2025-02-10,40.00,o2,cancelled\n"
        "a,2025-03-10,-30.00,o3,returned\n"
        "b,2025-03-01,200.00,,completed\n",
        encoding="utf-8",
    )
    (tmp_path / "p.yml").write_text("name: Tiny\ncurrency: EUR\nas_of: 2025-12-31\ntables:\n  transactions: tx.csv\n",
                                    encoding="utf-8")
    portfolio = load_portfolio(tmp_path / "p.yml", today=pd.Timestamp("2026-01-01"))
    overview = cleaning_report.load_overview(portfolio)
    assert overview["revenue_total"] == pytest.approx(320.0)
    assert overview["cancelled_total"] == pytest.approx(40.0) and overview["n_cancelled_lines"] == 1
    assert overview["credit_notes_total"] == pytest.approx(-30.0)
    assert overview["n_orders"] == 3  # o1, o3 and b's line without order id; o2 is cancelled
    text = " ".join(cleaning_report.loading_findings(overview, cleaning_report.tables_overview(portfolio),
                                                     cleaning_report.coverage(portfolio), "Tiny", "EUR"))
    assert "Net revenue is **€320**" in text and "1 line (€40) is marked cancelled: not revenue" in text

    tables = {"transactions": portfolio.transactions}
    pnl = profitability.customer_pnl(**tables, model=CostModel(), as_of=AS_OF)
    feats = features.customer_features(**tables, as_of=AS_OF, pnl=pnl)
    per_customer = pareto.customer_revenue(**tables)
    totals = {"pnl": pnl["revenue"].sum(), "features": feats["monetary"].sum(),
              "notebook 02": per_customer["revenue"].sum(),
              "engine": engine.customer_summary(engine.revenue_lines(portfolio.transactions))["revenue"].sum()}
    assert totals == pytest.approx({name: 320.0 for name in totals})


# --------------------------------------------------------------------------- cost of goods and gross margin


def _margin_tables() -> dict:
    """One customer: a line of 1,000 costing 600 and a line of 500 without cost."""
    return {"transactions": pd.DataFrame({
        "customer_id": ids(["a", "a"]), "order_id": ids(["o1", "o2"]),
        "date": TS(["2025-03-01", "2025-04-01"]), "amount": [1000.0, 500.0], "cost": [600.0, np.nan],
        "category": ids(["hardware", "services"]),
    })}


@pytest.mark.parametrize(("model", "expected"), [
    (CostModel(), 1500 - (600 + 0.60 * 500)),  # default rate 60%: 600
    (CostModel(default_cogs_rate=0.5), 1500 - (600 + 0.5 * 500)),  # 650
    (CostModel(default_cogs_rate=0.5, cogs_rate_by_category={"Services": 0.2}), 1500 - (600 + 0.2 * 500)),  # 800
])
def test_one_gross_margin_everywhere(model, expected):
    tables = _margin_tables()
    pnl = profitability.customer_pnl(**tables, model=model, as_of=AS_OF)
    margins = {
        "customer_pnl": pnl["gross_margin"].iloc[0],
        "customer_margins": profitability.customer_margins(tables["transactions"], model)["gross_margin"].iloc[0],
        "features (with the P&L)": features.customer_features(**tables, as_of=AS_OF, pnl=pnl)["gross_margin"].iloc[0],
        "features (with the model)": features.customer_features(**tables, as_of=AS_OF, model=model)["gross_margin"].iloc[0],
        "notebook 02": pareto.customer_revenue(**tables, costs=model)["gross_margin"].iloc[0],
        "gross_margin(revenue, cost_of_goods)": profitability.gross_margin(
            [1500.0], profitability.cost_of_goods(profitability.driver_quantities(**tables, model=model, as_of=AS_OF), model))[0],
    }
    assert margins == pytest.approx({name: expected for name in margins})
    rate = features.customer_features(**tables, as_of=AS_OF, pnl=pnl)["margin_rate"].iloc[0]
    assert rate == pytest.approx(expected / 1500) == pnl["margin_rate"].iloc[0]


def test_gross_margin_of_notebook_02_uses_the_config_costs(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na,2025-01-01,1.0\n", encoding="utf-8")
    (tmp_path / "p.yml").write_text("name: x\ncurrency: EUR\ntables:\n  transactions: tx.csv\n"
                                    "costs:\n  default_cogs_rate: 0.25\n", encoding="utf-8")
    per_customer = pareto.customer_revenue(**_margin_tables(), costs=tmp_path / "p.yml")
    assert per_customer["gross_margin"].tolist() == [1500 - (600 + 0.25 * 500)]


def test_cost_of_goods_of_cancelled_lines_is_zero_and_negative_lines_credit_it():
    tx = pd.DataFrame({"customer_id": ids(["a", "a", "a"]), "amount": [100.0, 80.0, -50.0],
                       "cost": [np.nan, 30.0, np.nan], "status": ids(["completed", "cancelled", "returned"])})
    margins = profitability.customer_margins(tx, CostModel(default_cogs_rate=0.4))
    # revenue 100 - 50 = 50; cogs 0.4 x 100 + 0.4 x (-50) = 20 (the cancelled line costs nothing)
    assert margins[["revenue", "cogs", "gross_margin", "margin_rate"]].iloc[0].tolist() == pytest.approx(
        [50.0, 20.0, 30.0, 0.6])
    assert np.isnan(profitability.margin_rate([10.0], [0.0])[0])


# --------------------------------------------------------------------------- orders and deliveries


def _three_lines_two_days(with_column: bool) -> pd.DataFrame:
    tx = pd.DataFrame({"customer_id": ids(["a", "a", "a"]),
                       "date": TS(["2025-05-01 09:00", "2025-05-01 15:00", "2025-06-01 10:00"]),
                       "amount": [10.0, 20.0, 30.0]})
    return tx.assign(order_id=ids([None, None, None])) if with_column else tx


@pytest.mark.parametrize("with_column", [True, False], ids=["empty order_id", "no order_id column"])
def test_lines_without_order_id_are_orders_everywhere(with_column):
    tx = _three_lines_two_days(with_column)
    tables = {"transactions": tx}
    pnl = profitability.customer_pnl(**tables, model=CostModel(), as_of=AS_OF)
    counts = {
        "engine.orders": len(engine.orders(tx)),
        "engine.order_count": engine.order_count(tx),
        "customer_summary": int(engine.customer_summary(tx)["n_orders"].iloc[0]),
        "revenue_by_period": int(engine.revenue_by_period(tx, "year")["n_orders"].sum()),
        "customer_pnl": int(pnl["n_orders"].iloc[0]),
        "features": int(features.customer_features(**tables, as_of=AS_OF)["frequency"].iloc[0]),
        "order events": len(scoring.order_events(tx)),
        "deliveries": len(engine.deliveries(tx)),
    }
    assert counts == {name: 3 for name in counts}


def test_orders_deliveries_by_hand():
    tx = pd.DataFrame({
        "customer_id": ids(["a", "a", "a", "a", "b", "b"]),
        "order_id": ids(["o1", "o1", "o2", None, "o1", "o3"]),  # o1 is also b's order id
        "date": TS(["2025-01-10", "2025-01-12", "2025-02-01", "2025-03-01", "2025-01-05", "2025-04-01"]),
        "amount": [100.0, -20.0, -15.0, 5.0, 30.0, 0.0],
    })
    orders = engine.orders(tx)
    assert orders[["customer_id", "order_id", "amount", "n_lines"]].astype(object).where(
        orders[["customer_id", "order_id", "amount", "n_lines"]].notna(), None).values.tolist() == [
        ["a", "o1", 80.0, 2], ["a", "o2", -15.0, 1], ["a", None, 5.0, 1], ["b", "o1", 30.0, 1], ["b", "o3", 0.0, 1]]
    assert orders["date"].tolist() == list(TS(["2025-01-10", "2025-02-01", "2025-03-01", "2025-01-05", "2025-04-01"]))
    delivered = engine.deliveries(tx)  # net amount above 0: a's o1 and its line without order id, b's o1
    assert list(zip(delivered["customer_id"], delivered["amount"], strict=True)) == [("a", 80.0), ("a", 5.0),
                                                                                     ("b", 30.0)]
    summary = engine.customer_summary(tx).set_index("customer_id")
    assert summary["n_orders"].to_dict() == {"a": 3, "b": 2}
    assert summary["n_deliveries"].to_dict() == {"a": 2, "b": 1}
    assert summary["avg_order_value"].to_dict() == pytest.approx({"a": 70 / 3, "b": 15.0})
    assert engine.order_count(tx) == 5 == summary["n_orders"].sum()  # o1 is an order of a and one of b
    by_month = engine.revenue_by_period(tx, "month")  # an order counts in the month of its first line
    assert by_month["n_orders"].tolist() == [2, 1, 1, 1]  # Jan: a's o1 (10th and 12th), b's o1; Feb; Mar; Apr
    assert by_month["revenue"].tolist() == [110.0, -15.0, 5.0, 0.0]
    events = scoring.order_events(tx)
    assert events["date"].dt.strftime("%m-%d").tolist() == ["01-10", "03-01", "01-05"]


# --------------------------------------------------------------------------- tenure, orders per year, returns, days late


def test_tenure_and_orders_per_year_by_hand():
    tx = pd.DataFrame({
        "customer_id": ids(["new", "new", "old", "old", "old", "old"]),
        "order_id": ids(["n1", "n2", "x1", "x2", "x3", "x4"]),
        "date": TS(["2025-10-02 18:00", "2025-12-01", "2023-12-31", "2024-06-01", "2025-06-01", "2025-07-01"]),
        "amount": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0],
        "status": ids(["completed", "completed", "completed", "completed", "completed", "cancelled"]),
    })
    tables = {"transactions": tx}
    summary = engine.customer_summary(engine.revenue_lines(tx), as_of=AS_OF).set_index("customer_id")
    # new: 2025-10-02 -> 2025-12-31 = 90 days, under a year: 2 orders a year; old: 731 days, 3 orders (x4 cancelled)
    assert summary["tenure_days"].to_dict() == {"new": 90, "old": 731}
    assert summary["recency_days"].to_dict() == {"new": 30, "old": 213}
    assert summary["orders_per_year"].to_dict() == pytest.approx({"new": 2.0, "old": 3 / (731 / 365.25)})
    feats = features.customer_features(**tables, as_of=AS_OF).set_index("customer_id")
    pnl = profitability.customer_pnl(**tables, model=CostModel(), as_of=AS_OF).set_index("customer_id")
    for column in ("orders_per_year", "avg_order_value"):
        assert feats[column].to_dict() == pytest.approx(pnl.loc[feats.index, column].to_dict()), column
    assert feats["tenure_days"].to_dict() == {"new": 90, "old": 731}
    assert engine.tenure_days(pd.Series(TS(["2025-12-31 23:59"])), AS_OF).tolist() == [0]


def test_return_lines_and_days_late_by_hand():
    tx = pd.DataFrame({"customer_id": ids(["a", "a", "a", "a", "b"]), "date": TS(["2025-01-01"] * 5),
                       "amount": [10.0, 10.0, -10.0, 10.0, 5.0],
                       "status": ids(["completed", "cancelled", "returned", "modified", None])})
    assert len(engine.return_lines(tx)) == 3 and len(engine.return_lines(tx.drop(columns="status"))) == 0
    payments = pd.DataFrame({"customer_id": ids(["a", "a", "b"]), "amount": [10.0, 10.0, 5.0],
                             "due_date": TS(["2025-02-01", "2025-03-01", "2025-02-01"]),
                             "paid_date": TS(["2025-02-11", "2025-02-25", None])})
    tables = {"transactions": tx, "payments": payments}
    pnl = profitability.customer_pnl(**tables, model=CostModel(), as_of=AS_OF).set_index("customer_id")
    feats = features.customer_features(**tables, as_of=AS_OF).set_index("customer_id")
    assert pnl["return_rate"].to_dict() == {"a": 0.75, "b": 0.0}  # 3 of a's 4 lines
    assert feats["return_rate"].to_dict() == {"a": 0.75, "b": 0.0}
    assert pnl.loc["a", "days_late"] == feats.loc["a", "days_late"] == 3.0  # (10 - 4) / 2
    assert np.isnan(pnl.loc["b", "days_late"]) and np.isnan(feats.loc["b", "days_late"])  # not paid yet: one definition


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["o1", "o2", "o3", None]),
                          st.integers(0, 400), st.integers(-50, 200),
                          st.sampled_from(["completed", "cancelled", "returned", None])),
                min_size=1, max_size=25))
def test_features_and_pnl_agree_on_shared_figures(rows):
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "day", "amount", "status"])
    tx = pd.DataFrame({"customer_id": ids(tx["customer_id"]), "order_id": ids(tx["order_id"]),
                       "date": AS_OF - pd.to_timedelta(tx["day"], unit="D"), "amount": tx["amount"].astype(float),
                       "status": ids(tx["status"])})
    tables = {"transactions": tx}
    pnl = profitability.customer_pnl(**tables, model=CostModel(), as_of=AS_OF).set_index("customer_id")
    feats = features.customer_features(**tables, as_of=AS_OF, pnl=pnl.reset_index()).set_index("customer_id")
    reference = reference_figures(tx, AS_OF, CostModel())
    assert set(feats.index) == set(reference.index[reference["n_revenue_lines"] > 0])
    for frame in (pnl, feats):
        check_against_reference(frame, reference)


# --------------------------------------------------------------------------- the independent reference


#: Columns shown under these names, and the reference figure each must equal.
ALIASES = {
    "revenue": "revenue", "monetary": "revenue", "n_orders": "n_orders", "frequency": "n_orders",
    "n_deliveries": "n_deliveries", "avg_order_value": "avg_order_value", "tenure_days": "tenure_days",
    "recency_days": "recency_days", "orders_per_year": "orders_per_year", "cogs": "cogs",
    "gross_margin": "gross_margin", "margin_rate": "margin_rate", "return_rate": "return_rate",
    "n_return_lines": "n_return_lines", "n_lines": "n_lines",
}


def reference_figures(transactions: pd.DataFrame, as_of, model: CostModel) -> pd.DataFrame:
    """Every defined figure per customer, in plain pandas, written from ``docs/data_contract.md`` alone."""
    tx = transactions[transactions["customer_id"].notna()].reset_index(drop=True)
    status = tx["status"].astype("string") if "status" in tx.columns else pd.Series(pd.NA, index=tx.index,
                                                                                   dtype="string")
    is_revenue = (status != "cancelled").fillna(True).to_numpy(dtype=bool)
    rev = tx[is_revenue]
    if "order_id" in tx.columns:
        own = "line " + pd.Series(np.arange(len(tx)), index=tx.index).astype(str)
        order_key = tx["order_id"].astype("string").radd("id ").fillna(own)
    else:
        order_key = "line " + pd.Series(np.arange(len(tx)), index=tx.index).astype(str)
    order_net = rev.groupby([rev["customer_id"], order_key[is_revenue]])["amount"].sum()
    customers = pd.Index(tx["customer_id"].unique()).sort_values()
    out = pd.DataFrame(index=customers)
    out["n_revenue_lines"] = rev.groupby("customer_id").size().reindex(customers, fill_value=0)
    out["revenue"] = rev.groupby("customer_id")["amount"].sum().reindex(customers, fill_value=0.0)
    out["n_orders"] = order_net.groupby(level=0).size().reindex(customers, fill_value=0)
    out["n_deliveries"] = (order_net.round(2) > 0).groupby(level=0).sum().reindex(customers, fill_value=0)
    out["avg_order_value"] = out["revenue"] / out["n_orders"].where(out["n_orders"] > 0)
    day = pd.Timestamp(as_of).normalize()
    first = rev.groupby("customer_id")["date"].min().dt.normalize().reindex(customers)
    last = rev.groupby("customer_id")["date"].max().dt.normalize().reindex(customers)
    out["tenure_days"] = (day - first).dt.days
    out["recency_days"] = (day - last).dt.days
    out["orders_per_year"] = (out["n_orders"] / np.maximum(out["tenure_days"] / 365.25, 1.0)).fillna(0.0)
    cost = tx["cost"].astype("float64") if "cost" in tx.columns else pd.Series(np.nan, index=tx.index)
    category = tx["category"].map(normalize_label, na_action="ignore") if "category" in tx.columns \
        else pd.Series(None, index=tx.index, dtype=object)
    rates = category.map(model.cogs_rate_by_category).astype("float64").fillna(model.default_cogs_rate)
    line_cogs = cost.fillna(tx["amount"] * rates).where(is_revenue, 0.0)
    out["cogs"] = line_cogs.groupby(tx["customer_id"]).sum().reindex(customers)
    out["gross_margin"] = out["revenue"] - out["cogs"]
    out["margin_rate"] = out["gross_margin"] / out["revenue"].where(out["revenue"] > 0)
    returned = status.isin(["returned", "cancelled", "modified"]).fillna(False).astype(int)
    out["n_lines"] = tx.groupby("customer_id").size().reindex(customers)
    out["n_return_lines"] = returned.groupby(tx["customer_id"]).sum().reindex(customers)
    out["return_rate"] = out["n_return_lines"] / out["n_lines"]
    out.index = out.index.astype(str)
    return out


def check_against_reference(frame: pd.DataFrame, reference: pd.DataFrame, where: str = "",
                            money_abs: float = 1e-6) -> list[str]:
    """Assert that each column of ``frame`` (indexed by customer id) named in :data:`ALIASES` equals the reference.

    Returns the columns checked. ``money_abs`` allows rounded exports (0.005: to the cent).
    """
    frame = frame.copy()
    frame.index = frame.index.astype(str)
    missing = frame.index.difference(reference.index)
    assert missing.empty, f"{where}: customers not in the data: {list(missing[:3])}"
    checked = []
    for column, figure in ALIASES.items():
        if column not in frame.columns:
            continue
        got = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        expected = reference.loc[frame.index, figure].to_numpy(dtype=np.float64)
        close = np.isclose(got, expected, rtol=1e-9, atol=money_abs, equal_nan=True)
        if not close.all():
            bad = frame.index[~close][:3]
            raise AssertionError(f"{where}: {column} differs from the definition of {figure} for "
                                 f"{int((~close).sum())} customer(s), e.g. "
                                 + ", ".join(f"{c}: {g} != {e}" for c, g, e in
                                             zip(bad, got[~close][:3], expected[~close][:3], strict=True)))
        checked.append(column)
    return checked


# --------------------------------------------------------------------------- the real data sets


def notebook_frames(config_path: Path, output_dir: Path) -> tuple[dict[str, pd.DataFrame], dict, dict]:
    """The per-customer frames the notebooks show and export, computed by the package calls they make.

    Returns ``frames`` (name -> frame indexed by customer id), notebook 01's overview and the
    tables with their ``info``.
    """
    cleaned = clean_portfolio(config_path, report_dir=output_dir)
    cleaned.save(output_dir)
    overview = cleaning_report.load_overview(cleaned)  # notebook 01
    tables, info = open_portfolio(config_path, output_dir)  # notebooks 02-05
    as_of = info["as_of"]
    model = profitability.load_cost_model(config_path)
    per_customer = pareto.customer_revenue(tables["transactions"], customers=tables.get("customers"),
                                           costs=config_path)  # notebook 02
    table = pareto.pareto_table(per_customer, value_col="revenue")
    pnl = profitability.customer_pnl(tables["transactions"], model, payments=tables.get("payments"),
                                     tickets=tables.get("tickets"), as_of=as_of)  # notebooks 03, 04, 05
    feats = features.customer_features(tables["transactions"], as_of, customers=tables.get("customers"),
                                       payments=tables.get("payments"), tickets=tables.get("tickets"),
                                       pnl=pnl)  # notebooks 04, 05
    config = load_config(config_path)
    scores = rfm.score_rfm(feats, rfm.segment_map_from_config(config.sections.get("rfm")))
    frames = {
        "02 per customer": per_customer, "02 pareto table": table, "03 P&L": pnl,
        "03 traits": pnl[["customer_id", "n_orders", "orders_per_year", "avg_order_value", "return_rate"]],
        "04/05 features": feats, "04 RFM scores (customers.csv)": scores,
        "05 customer attributes": scoring.customer_attributes(feats),
    }
    # the independent reference reads the same saved tables as pandas frames
    frames_in_memory, _ = open_portfolio(config_path, output_dir, as_frames=True)
    return {name: frame.set_index("customer_id") for name, frame in frames.items()}, overview, {
        "tables": frames_in_memory, "info": info, "model": model}


@pytest.fixture(scope="module", params=list(DATASETS))
def dataset(request, tmp_path_factory):
    config_path = DATASETS[request.param]
    frames, overview, context = notebook_frames(config_path, tmp_path_factory.mktemp(f"definitions_{request.param}"))
    reference = reference_figures(context["tables"]["transactions"], context["info"]["as_of"], context["model"])
    return request.param, frames, overview, reference


def test_each_shown_column_equals_its_definition(dataset):
    name, frames, _overview, reference = dataset
    checked = {}
    for frame_name, frame in frames.items():
        checked[frame_name] = check_against_reference(frame, reference, f"{name}, {frame_name}")
    # the figures this test is about are really shown, under each of their names
    shown = {column for columns in checked.values() for column in columns}
    assert {"revenue", "monetary", "n_orders", "frequency", "gross_margin", "orders_per_year", "tenure_days",
            "recency_days", "avg_order_value", "margin_rate", "return_rate"} <= shown


def test_revenue_total_is_the_same_in_every_notebook(dataset):
    name, frames, overview, reference = dataset
    total = float(reference["revenue"].sum())
    assert overview["revenue_total"] == pytest.approx(total, abs=0.01), name
    for frame_name in ("02 per customer", "03 P&L"):
        assert frames[frame_name]["revenue"].sum() == pytest.approx(total, abs=0.01), frame_name
    assert frames["04/05 features"]["monetary"].sum() == pytest.approx(total, abs=0.01)
    features_customers = set(frames["04/05 features"].index)
    assert features_customers == set(reference.index[reference["n_revenue_lines"] > 0])
    assert features_customers == set(frames["02 per customer"].index)


def test_features_and_pnl_agree_where_both_define_a_figure(dataset):
    """Columns the features and the P&L both show: equal where both are defined (fills differ by design
    for the revenue ratios: the features use 0 where the P&L has NaN, no revenue); days late is one
    definition in both, NaN without a paid invoice."""
    name, frames, _overview, _reference = dataset
    feats, pnl = frames["04/05 features"], frames["03 P&L"].loc[frames["04/05 features"].index]
    positive = feats["monetary"] > 0
    for column in ("discount_share", "service_minutes_per_1000"):
        if column in pnl.columns and pnl[column].notna().any():
            assert np.allclose(feats.loc[positive, column], pnl.loc[positive, column], rtol=1e-9, atol=1e-9), column
    paid = pnl["days_late"].notna()
    assert np.allclose(feats.loc[paid, "days_late"], pnl.loc[paid, "days_late"]), name
    assert feats.loc[~paid, "days_late"].isna().all()
    for column in ("profit", "profit_margin", "gross_margin", "margin_rate"):
        assert np.allclose(feats[column], pnl[column], equal_nan=True), column
