"""The P&L, its drivers and the customer features give the same figures on engine tables (Parquet files
the engine scans: transactions, payments, tickets) as on pandas frames, to the cent, on the sample,
CDNOW and the Online Retail extract, with the config's cost model and with a model of category rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis import engine, features, profitability
from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting import profitability as report

DATA = Path(__file__).resolve().parents[2] / "data"
AS_OF = {"sample": "2025-12-31", "cdnow": "1998-06-30", "online_retail": "2011-12-09"}
#: A model with every rate and category rates, so that every driver and the category buckets are priced.
FULL_MODEL = profitability.CostModel(
    default_cogs_rate=0.55, cogs_rate_by_category={"Hardware": 0.7, "software": 0.25, "unknown": 0.3},
    per_order=8.0, per_line=1.5, per_delivery=6.0, per_return=20.0, per_ticket=25.0, per_service_minute=0.75,
    capital_rate=0.08, per_late_invoice=4.0, per_customer=30.0)


@pytest.fixture(scope="module", params=["sample", "cdnow", "online_retail"])
def portfolio(request):
    config = DATA / request.param / "portfolio.yml"
    loaded = load_portfolio(config, today=pd.Timestamp("2026-12-01"))
    return request.param, loaded.tables, profitability.load_cost_model(config)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal frames, floats to the cent (engines sum in different orders)."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        left, right = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        if pd.api.types.is_float_dtype(left) or pd.api.types.is_float_dtype(right):
            np.testing.assert_allclose(left.to_numpy(float), right.to_numpy(float), atol=0.005, rtol=1e-9,
                                       equal_nan=True, err_msg=col)
        elif pd.api.types.is_datetime64_any_dtype(left):
            pd.testing.assert_series_equal(left.astype("datetime64[us]"), right.astype("datetime64[us]"),
                                           check_names=False, obj=col)
        else:
            pd.testing.assert_series_equal(left.astype("string") if left.dtype == object else left,
                                           right.astype("string") if right.dtype == object else right,
                                           check_dtype=False, check_names=False, obj=col)


def by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    """A P&L sorted by customer id, ``profit_rank`` checked apart: customers whose profits tie to the cent
    may swap ranks when the engines' sums differ in the last bits."""
    if "profit_rank" in frame.columns:
        ranked = frame.sort_values("profit_rank")
        assert (np.diff(ranked["profit"].round(2).to_numpy()) <= 0).all()
        assert ranked["profit_rank"].tolist() == list(range(1, len(frame) + 1))
        frame = frame.drop(columns="profit_rank")
    return frame.astype({"customer_id": "string"}).sort_values("customer_id").reset_index(drop=True)


def forms(tables: dict, lines_as) -> tuple[dict, dict]:
    """The transactions, payments and tickets as frames and in the form under test."""
    names = ("transactions", "payments", "tickets")
    frames = {name: tables.get(name) for name in names}
    return frames, {name: None if frame is None else lines_as(frame) for name, frame in frames.items()}


@pytest.mark.parametrize("which", ["config", "full"])
def test_pnl_and_drivers(portfolio, lines_as, which):
    name, tables, config_model = portfolio
    model = config_model if which == "config" else FULL_MODEL
    frames, scanned = forms(tables, lines_as)
    expected = profitability.driver_quantities(**frames, model=model, as_of=AS_OF[name])
    got = profitability.driver_quantities(**scanned, model=model, as_of=AS_OF[name])
    same(expected, got)
    assert got.attrs == expected.attrs
    same(by_customer(profitability.price(expected, model)), by_customer(profitability.price(got, model)))
    same(by_customer(profitability.customer_pnl(**frames, model=model, as_of=AS_OF[name])),
         by_customer(profitability.customer_pnl(**scanned, model=model, as_of=AS_OF[name])))
    same(profitability.customer_margins(frames["transactions"], model),
         profitability.customer_margins(scanned["transactions"], model))
    factors = (0.5, 1.5)
    same(profitability.sensitivity(None, model, factors=factors, quantities=expected),
         profitability.sensitivity(scanned["transactions"], model, payments=scanned["payments"],
                                   tickets=scanned["tickets"], as_of=AS_OF[name], factors=factors))


def test_orphans_notes_and_checks(portfolio, lines_as):
    name, tables, model = portfolio
    frames, scanned = forms(tables, lines_as)
    same(profitability.customers_without_transactions(**frames),
         profitability.customers_without_transactions(**scanned))
    assert report.missing_driver_notes(**scanned, model=model) == report.missing_driver_notes(**frames, model=model)
    assert engine.n_rows(profitability.transactions_table(scanned["transactions"])) == \
        len(profitability.transactions_table(frames["transactions"]))
    if frames["payments"] is not None:
        ids = profitability.driver_quantities(frames["transactions"], as_of=AS_OF[name])["customer_id"]
        expected = engine.customer_days_late(frames["payments"], ids)  # the engine's definition, on pandas
        np.testing.assert_allclose(engine.customer_days_late(scanned["payments"], ids), expected,
                                   atol=1e-9, equal_nan=True)


def test_customer_features_and_lifetimes(portfolio, lines_as):
    name, tables, model = portfolio
    frames, scanned = forms(tables, lines_as)
    customers = tables.get("customers")
    as_of = AS_OF[name]
    pnl = profitability.customer_pnl(**frames, model=model, as_of=as_of)
    for options in ({"pnl": pnl}, {"model": FULL_MODEL}, {}):
        same(features.customer_features(frames["transactions"], as_of, customers=customers,
                                        payments=frames["payments"], tickets=frames["tickets"], **options),
             features.customer_features(scanned["transactions"], as_of, customers=customers,
                                        payments=scanned["payments"], tickets=scanned["tickets"], **options))
    for unit in ("D", "W", "M"):
        same(features.lifetimes_summary(frames["transactions"], as_of, unit),
             features.lifetimes_summary(scanned["transactions"], as_of, unit))
    expected_pnl, expected_features = features.customer_tables(frames["transactions"], as_of, model,
                                                                customers=customers, payments=frames["payments"],
                                                                tickets=frames["tickets"])
    got_pnl, got_features = features.customer_tables(scanned["transactions"], as_of, model, customers=customers,
                                                     payments=scanned["payments"], tickets=scanned["tickets"])
    same(by_customer(expected_pnl), by_customer(got_pnl))
    same(expected_features, got_features)


# ----------------------------------------------------------------------------- hand-computed, in every form

def hand_tables():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b", None],
        "order_id": ["o1", "o1", "o2", None, "o3", "o4", "o5"],
        "date": pd.to_datetime(["2024-03-01", "2024-03-01", "2025-06-01", "2025-07-01", "2025-02-01", "2025-03-01",
                                "2025-03-01"]),
        "amount": [100.0, 50.0, 200.0, -40.0, 80.0, 30.0, 999.0],
        "status": ["completed", "completed", "completed", "returned", "completed", "cancelled", "completed"],
        "category": ["Hardware", "software", "HARDWARE", None, "services", "software", "software"],
        "cost": [60.0, None, None, None, None, 10.0, 1.0],
        "discount": [10.0, None, 0.0, 0.0, 5.0, 0.0, 0.0],
    })
    payments = pd.DataFrame({
        "customer_id": ["a", "b", "b", "z"], "order_id": ["o2", "o3", None, "o9"],
        "due_date": pd.to_datetime(["2025-07-01", "2025-03-01", "2025-11-01", "2025-01-01"]),
        "paid_date": pd.to_datetime(["2025-07-11", "2025-02-25", None, "2025-01-05"]),
        "amount": [200.0, 80.0, 50.0, 10.0]})
    tickets = pd.DataFrame({"customer_id": ["b", "b", "y"], "minutes": [30.0, None, 12.0],
                            "date": pd.to_datetime(["2025-04-01", "2025-05-01", "2025-05-01"])})
    return tx, payments, tickets


def test_hand_pnl_in_every_form(lines_as):
    tx, payments, tickets = hand_tables()
    model = profitability.CostModel(default_cogs_rate=0.5, cogs_rate_by_category={"hardware": 0.7},
                                    per_order=10.0, per_line=1.0, per_delivery=5.0, per_return=20.0,
                                    per_ticket=3.0, per_service_minute=0.5, capital_rate=0.0365,
                                    per_late_invoice=2.0, per_customer=100.0)
    q = profitability.driver_quantities(lines_as(tx), model, payments=lines_as(payments),
                                        tickets=lines_as(tickets), as_of="2025-12-31").set_index("customer_id")
    # a: revenue 100 + 50 + 200 - 40; cogs 60 (known) + 200 x 0.7 (HARDWARE) + 50 x 0.5 + (-40) x 0.5
    assert q.loc["a", "revenue"] == pytest.approx(310.0)
    assert q.loc["a", "cogs_known"] == pytest.approx(60.0)
    assert q.loc["a", "uncosted_revenue[hardware]"] == pytest.approx(200.0)
    assert q.loc["a", "uncosted_revenue"] == pytest.approx(10.0)
    # orders o1, o2 and the line without id; deliveries o1, o2; lines 4, one returned; windows 2024-03 and 2025
    assert q.loc["a", ["n_orders", "n_deliveries", "n_lines", "n_return_lines", "n_active_years"]].tolist() == \
        [3, 2, 4, 1, 2]
    assert q.loc["a", "discount_given"] == pytest.approx(10.0)
    assert q.loc["a", "discounted_revenue" if "discounted_revenue" in q.columns else "discount_share"] == \
        pytest.approx(100.0 / 310.0)
    # a's invoice paid 10 days late: 200 x 10 capital days; 40 days from order o2 to payment
    assert q.loc["a", "capital_days"] == pytest.approx(2000.0)
    assert q.loc["a", "n_late_invoices"] == 1
    assert q.loc["a", "avg_days_to_pay"] == pytest.approx(40.0)
    assert q.loc["a", "days_late"] == pytest.approx(10.0)
    # b: the cancelled line is no revenue (but a line and a return line); 80 at the services' default rate
    assert q.loc["b", "revenue"] == pytest.approx(80.0)
    assert q.loc["b", ["n_orders", "n_lines", "n_return_lines", "n_tickets"]].tolist() == [1, 2, 1, 2]
    # b: paid 4 days early (not late); the unpaid invoice due 2025-11-01 is 60 days overdue at as_of
    assert q.loc["b", "capital_days"] == pytest.approx(50.0 * 60)
    assert q.loc["b", "days_late"] == pytest.approx(-4.0)
    assert q.loc["b", "avg_days_to_pay"] == pytest.approx(24.0)
    assert q.loc["b", "service_minutes"] == pytest.approx(30.0)
    orphans = profitability.customers_without_transactions(lines_as(tx), payments=lines_as(payments),
                                                           tickets=lines_as(tickets))
    assert orphans.astype({"customer_id": "string"}).to_dict("records") == [
        {"customer_id": "y", "n_invoices": 0, "invoiced_amount": 0.0, "n_tickets": 1, "service_minutes": 12.0},
        {"customer_id": "z", "n_invoices": 1, "invoiced_amount": 10.0, "n_tickets": 0, "service_minutes": 0.0}]


def test_hand_features_in_every_form(lines_as):
    tx, payments, tickets = hand_tables()
    f = features.customer_features(lines_as(tx), "2025-12-31", payments=lines_as(payments),
                                   tickets=lines_as(tickets), period_months=12).set_index("customer_id")
    assert f.loc["a", "revenue_last"] == pytest.approx(160.0)  # 2025 lines: 200 - 40
    assert f.loc["a", "revenue_previous"] == pytest.approx(150.0)
    assert f.loc["a", "discount_share"] == pytest.approx(100.0 / 310.0)
    assert f.loc["a", "return_rate"] == pytest.approx(0.25)
    assert f.loc["b", "return_rate"] == pytest.approx(0.5)
    assert f.loc["b", "service_minutes_per_1000"] == pytest.approx(1000 * 30 / 80)
    # positive revenue lines of a: Hardware 100 and HARDWARE 200 (one column), software 50
    assert f.loc["a", "share_hardware"] == pytest.approx(300.0 / 350.0)
    assert f.loc["a", "share_software"] == pytest.approx(50.0 / 350.0)
    assert f.loc["b", ["share_hardware", "share_services", "share_software"]].tolist() == [0.0, 1.0, 0.0]
    # margins without a P&L: cost column given, default model
    assert f.loc["b", "gross_margin"] == pytest.approx(80.0 * 0.4)


def test_engine_tables_are_checked_like_frames(lines_as):
    tx, payments, tickets = hand_tables()
    with pytest.raises(ValueError, match="1 missing value"):
        profitability.transactions_table(lines_as(tx.assign(amount=[1.0, None, 1.0, 1.0, 1.0, 1.0, 1.0])))
    with pytest.raises(ValueError, match="must hold dates"):
        profitability.driver_quantities(lines_as(tx.assign(date=tx["date"].dt.strftime("%Y-%m-%d"))))
    with pytest.raises(ValueError, match=r"tickets.minutes has 1 negative value\(s\) \(e.g. -5\)"):
        profitability.driver_quantities(lines_as(tx), tickets=lines_as(tickets.assign(minutes=[30.0, -5.0, 1.0])))
