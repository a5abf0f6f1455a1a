"""Customer profitability: a tiny portfolio priced by hand, config validation, the committed sample, properties."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis.profitability import (
    COST_KEYS,
    DRIVER_COLUMNS,
    DRIVER_LABELS,
    EXPORT_COLUMNS,
    PNL_COLUMNS,
    QUADRANTS,
    CostModel,
    cost_breakdown,
    cost_model_from_config,
    customer_pnl,
    customers_without_transactions,
    driver_quantities,
    load_cost_model,
    loss_drivers,
    price,
    profitability_metrics,
    quadrants,
    sensitivity,
    whale_curve,
    whale_summary,
)
from portfolio_helpers.app.sample_data import load_truth
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting.profitability import loss_explanations, missing_driver_notes, whale_note

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
AS_OF = pd.Timestamp("2025-12-31")
TS = pd.to_datetime
approx = lambda value: pytest.approx(value, rel=1e-9, abs=1e-9)  # noqa: E731


def ids(values) -> pd.Series:
    return pd.Series(values, dtype="string")


# --------------------------------------------------------------------------- the hand-priced portfolio
#
# Four customers with transactions (A, B, C, D) and one (E) with only an invoice and a ticket.
# Rates: default cogs 60%, hardware 70%, services 35%, per_order 12, per_line 1.5, per_delivery 8,
# per_return 25, per_ticket 30, per_service_minute 0.8, capital_rate 0.073 (0.073 / 365 = 0.0002 per
# day), per_late_invoice 5, per_customer 10. as_of = 2025-12-31.

MODEL = CostModel(default_cogs_rate=0.60, cogs_rate_by_category={"Hardware": 0.70, "services": 0.35},
                  per_order=12.0, per_line=1.5, per_delivery=8.0, per_return=25.0, per_ticket=30.0,
                  per_service_minute=0.8, capital_rate=0.073, per_late_invoice=5.0, per_customer=10.0)


def pnl_tables(tables: dict) -> dict:
    """The tables of a portfolio that the P&L reads, as keywords (``**pnl_tables(tables)``)."""
    return {name: tables.get(name) for name in ("transactions", "payments", "tickets")}


def hand_tables() -> dict[str, pd.DataFrame]:
    transactions = pd.DataFrame({
        "customer_id": ids(["A", "A", "A", "A", "A", "B", "B", "B", "B", "C", "D", "D"]),
        "date": TS(["2025-03-10", "2025-03-10", "2024-06-15", "2024-07-01", "2025-11-20",
                    "2025-01-05", "2025-02-05", "2025-05-05", "2025-12-20",
                    "2025-08-01", "2022-12-31", "2023-05-01"]),
        "amount": [1000.0, 500.0, 400.0, -200.0, 300.0, 80.0, 90.0, 60.0, 70.0, 250.0, 200.0, -50.0],
        "order_id": ids(["o1", "o1", "o2", "o2", "o3", "o4", "o5", None, "o6", "o7", "o8", "o9"]),
        "category": ids(["hardware", "Services", "HARDWARE", "hardware", "services", "supplies", "supplies", None,
                         "supplies", "hardware", "software", "software"]),
        "cost": [600.0, np.nan, np.nan, -120.0, 100.0, 50.0, np.nan, np.nan, 40.0, 150.0, 100.0, np.nan],
        "discount": [100.0, 0.0, 0.0, 0.0, 0.0, 20.0, 10.0, np.nan, 0.0, 0.0, 0.0, 0.0],
        "status": ids(["completed", "completed", "completed", "returned", "cancelled", "completed", "modified",
                       "completed", "completed", "cancelled", "completed", "returned"]),
    })
    payments = pd.DataFrame({
        "customer_id": ids(["A", "A", "B", "B", "B", "B", "D", "E"]),
        "order_id": ids(["o1", "o2", "o4", "o5", "o6", None, "o8", "o99"]),
        "due_date": TS(["2025-04-09", "2024-07-15", "2025-02-04", "2025-03-07", "2026-01-19", "2025-06-01",
                        "2023-01-30", "2025-01-01"]),
        "paid_date": TS(["2025-04-09", "2024-09-13", None, "2025-03-01", None, "2025-07-01", "2023-03-01", None]),
        "amount": [1500.0, 400.0, 80.0, 90.0, 70.0, -30.0, 200.0, 100.0],
    })
    tickets = pd.DataFrame({
        "customer_id": ids(["A", "B", "B", "B", "E"]),
        "date": TS(["2025-04-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01"]),
        "minutes": [50.0, 120.0, 30.0, np.nan, 10.0],
        "cost": [0.0, 50.0, np.nan, 0.0, 0.0],
    })
    return {"transactions": transactions, "payments": payments, "tickets": tickets}


# Customer A
#   revenue  = 1000 + 500 + 400 - 200 (credit note) = 1700 (line o3 is cancelled)
#   cogs     = 600 (cost) + 500 * 0.35 (Services, no cost) + 400 * 0.70 (HARDWARE, no cost) - 120 = 935
#   orders   = o1, o2 = 2 -> 24 (o3 is cancelled: not an order);  lines = 5 -> 7.5;
#   deliveries = o1 (1500), o2 (200) = 2 -> 16
#   returns  = returned line + cancelled line = 2 -> 50
#   late     = o2 paid 60 days late: 400 * 60 * 0.0002 = 4.8, + 5 dunning = 9.8 (o1 paid on its due date)
#   service  = 1 ticket * 30 + 50 min * 0.8 = 70
#   account  = purchases in (2024-12-31, 2025-12-31] and (2023-12-31, 2024-12-31]: 2 windows -> 20
#   cost to serve = 24 + 7.5 + 16 + 50 + 9.8 + 70 + 20 = 197.3;  profit = 1700 - 935 - 197.3 = 567.7
# Customer B
#   revenue  = 80 + 90 + 60 + 70 = 300
#   cogs     = 50 + 90 * 0.60 (supplies: not configured) + 60 * 0.60 (no category) + 40 = 180
#   orders   = o4, o5, the line without order id, o6 = 4 -> 48;  lines = 4 -> 6;  deliveries = 4 -> 32
#   returns  = the modified line -> 25
#   late     = o4 unpaid, due 2025-02-04: 330 days at as_of: 80 * 330 * 0.0002 = 5.28, + 5 = 10.28;
#              o5 paid early; o6 not due yet; the -30 credit invoice paid late carries no cost
#   service  = 3 tickets * 30 + (120 + 30) min * 0.8 + 50 (ticket cost) = 90 + 120 + 50 = 260
#   account  = 1 window -> 10
#   cost to serve = 48 + 6 + 32 + 25 + 10.28 + 260 + 10 = 391.28;  profit = 300 - 180 - 391.28 = -271.28
# Customer C (a single cancelled order: no order, but its line and its return cost)
#   revenue = cogs = 0;  orders 0;  lines 1.5 + returns 25 = 26.5;  profit = -26.5
# Customer D
#   revenue  = 200 - 50 = 150;  cogs = 100 - 50 * 0.60 (software: default) = 70
#   orders   = 2 -> 24;  lines 2 -> 3;  deliveries = o8 only (o9 nets -50) -> 8;  returns 1 -> 25
#   late     = o8 paid 30 days late: 200 * 30 * 0.0002 = 1.2, + 5 = 6.2
#   account  = its only purchase, 2022-12-31 = as_of - 3 years, is in window 3 -> 1 window -> 10
#   cost to serve = 24 + 3 + 8 + 25 + 6.2 + 10 = 76.2;  profit = 150 - 70 - 76.2 = 3.8
HAND = pd.DataFrame.from_records([
    # customer, revenue, cogs, orders, lines, delivery, returns, late, service, account, profit
    ("A", 1700.0, 935.0, 24.0, 7.5, 16.0, 50.0, 9.8, 70.0, 20.0, 567.7),
    ("D", 150.0, 70.0, 24.0, 3.0, 8.0, 25.0, 6.2, 0.0, 10.0, 3.8),
    ("C", 0.0, 0.0, 0.0, 1.5, 0.0, 25.0, 0.0, 0.0, 0.0, -26.5),
    ("B", 300.0, 180.0, 48.0, 6.0, 32.0, 25.0, 10.28, 260.0, 10.0, -271.28),
], columns=["customer_id", "revenue", "cogs", *DRIVER_COLUMNS, "profit"])


@pytest.fixture(scope="module")
def hand_pnl() -> pd.DataFrame:
    return customer_pnl(**hand_tables(), model=MODEL, as_of=AS_OF)


def test_hand_pnl_matches_the_arithmetic(hand_pnl):
    assert list(hand_pnl.columns) == list(PNL_COLUMNS)
    assert hand_pnl["customer_id"].tolist() == ["A", "D", "C", "B"]  # sorted by profit rank
    assert hand_pnl["profit_rank"].tolist() == [1, 2, 3, 4]
    for column in HAND.columns[1:]:
        assert hand_pnl[column].tolist() == approx(HAND[column].tolist()), column
    assert hand_pnl["gross_margin"].tolist() == approx([765.0, 80.0, 0.0, 120.0])
    assert hand_pnl["cost_to_serve"].tolist() == approx([197.3, 76.2, 26.5, 391.28])
    assert hand_pnl["cost_to_serve"].tolist() == approx(hand_pnl[list(DRIVER_COLUMNS)].sum(axis=1).tolist())
    margin = hand_pnl["profit_margin"].tolist()
    assert margin[0] == approx(567.7 / 1700) and margin[1] == approx(3.8 / 150) and margin[3] == approx(-271.28 / 300)
    assert math.isnan(margin[2])  # no revenue
    assert str(hand_pnl["customer_id"].dtype) == "string"


def test_hand_pnl_driver_quantities(hand_pnl):
    q = hand_pnl.set_index("customer_id")
    assert q["n_orders"].to_dict() == {"A": 2, "D": 2, "C": 0, "B": 4}  # orders of the revenue lines
    assert q["n_lines"].to_dict() == {"A": 5, "D": 2, "C": 1, "B": 4}
    assert q["n_deliveries"].to_dict() == {"A": 2, "D": 1, "C": 0, "B": 4}
    assert q["n_return_lines"].to_dict() == {"A": 2, "D": 1, "C": 1, "B": 1}
    assert q["n_late_invoices"].to_dict() == {"A": 1, "D": 1, "C": 0, "B": 1}
    assert q["capital_days"].to_dict() == {"A": 400 * 60, "D": 200 * 30, "C": 0, "B": 80 * 330}
    assert q["n_active_years"].to_dict() == {"A": 2, "D": 1, "C": 0, "B": 1}
    assert q["n_tickets"].to_dict() == {"A": 1, "D": 0, "C": 0, "B": 3}
    assert q["service_minutes"].to_dict() == {"A": 50, "D": 0, "C": 0, "B": 150}
    assert q["ticket_cost"].to_dict() == {"A": 0, "D": 0, "C": 0, "B": 50}


def test_hand_pnl_traits(hand_pnl):
    q = hand_pnl.set_index("customer_id")
    # orders / max(tenure in years, 1), tenure from the first revenue line's day to as_of:
    # A 2024-06-15 -> 564 days; B 2025-01-05 -> 360 days (under a year: 4 orders); D 2022-12-31 -> 1,096 days
    assert q.loc["A", "orders_per_year"] == approx(2 * 365.25 / 564)
    assert q.loc["B", "orders_per_year"] == 4.0
    assert q.loc["D", "orders_per_year"] == approx(2 * 365.25 / 1096)
    assert q.loc["C", "orders_per_year"] == 0.0  # no order: its only line is cancelled
    assert q.loc[["A", "B", "D"], "avg_order_value"].tolist() == approx([1700 / 2, 300 / 4, 150 / 2])
    assert math.isnan(q.loc["C", "avg_order_value"])  # no order
    # discounts over revenue lines (the NaN discount counts 0); share of revenue bought with a discount
    assert q.loc[["A", "B", "C", "D"], "discount_given"].tolist() == [100.0, 30.0, 0.0, 0.0]
    assert q.loc["A", "discount_share"] == approx(1000 / 1700)
    assert q.loc["B", "discount_share"] == approx((80 + 90) / 300)
    assert math.isnan(q.loc["C", "discount_share"])
    assert q.loc[["A", "B", "C", "D"], "return_rate"].tolist() == [2 / 5, 1 / 4, 1.0, 1 / 2]
    # paid - due over paid invoices: A (0 + 60) / 2; B (-6 + 30) / 2 (early o5, credit invoice); D 30
    assert q.loc[["A", "B", "D"], "days_late"].tolist() == [30.0, 12.0, 30.0]
    # paid - order date, invoices with a linked order: A o1 30 and o2 90 days; B o5 24 days; D o8 60 days
    assert q.loc[["A", "B", "D"], "avg_days_to_pay"].tolist() == [60.0, 24.0, 60.0]
    assert math.isnan(q.loc["C", "days_late"]) and math.isnan(q.loc["C", "avg_days_to_pay"])
    assert q.loc["A", "service_minutes_per_1000"] == approx(50 / 1700 * 1000)
    assert q.loc["B", "service_minutes_per_1000"] == approx(500.0)
    assert q.loc[["A", "B", "D"], "margin_rate"].tolist() == approx([765 / 1700, 0.4, 80 / 150])


def test_customers_without_transactions_are_listed_not_dropped(hand_pnl):
    assert "E" not in set(hand_pnl["customer_id"])
    orphans = customers_without_transactions(**hand_tables())
    assert orphans.to_dict("records") == [
        {"customer_id": "E", "n_invoices": 1, "invoiced_amount": 100.0, "n_tickets": 1, "service_minutes": 10.0}]
    notes = missing_driver_notes(**hand_tables(), model=MODEL)
    assert any("1 customer id(s) have invoices or tickets but no transaction line" in note for note in notes)
    assert not any("table" in note and "No " in note for note in notes)


def test_as_of_defaults_to_the_last_transaction_date():
    tables = hand_tables()
    tables["transactions"] = tables["transactions"][tables["transactions"]["date"] <= "2025-11-20"]
    default = customer_pnl(**tables, model=MODEL)
    explicit = customer_pnl(**tables, model=MODEL, as_of="2025-11-20")
    pd.testing.assert_frame_equal(default, explicit)


def test_account_windows_are_twelve_months_ending_at_as_of():
    # as_of 2025-02-28: windows (2024-02-28, 2025-02-28], (2023-02-28, 2024-02-28], ...
    tx = pd.DataFrame({"customer_id": ids(["a", "a", "b", "c", "d"]),
                       "date": TS(["2025-02-28", "2024-02-29", "2024-02-28", "2025-03-01", "2023-03-01"]),
                       "amount": [10.0, 10.0, 10.0, 10.0, 10.0]})
    q = driver_quantities(tx, CostModel(), as_of="2025-02-28").set_index("customer_id")
    # a: both in window 0 -> 1; b: as_of - 1 year, window 1 -> 1; c: after as_of -> 0; d: window 1 -> 1
    assert q["n_active_years"].to_dict() == {"a": 1, "b": 1, "c": 0, "d": 1}
    pnl = customer_pnl(tx, CostModel(per_customer=7.0), as_of="2025-02-28").set_index("customer_id")
    assert pnl["cost_account"].to_dict() == {"a": 7.0, "b": 7.0, "c": 0.0, "d": 7.0}


# --------------------------------------------------------------------------- whale curve, quadrants, levers


def test_whale_curve_and_summary_by_hand(hand_pnl):
    curve = whale_curve(hand_pnl)
    total = 567.7 + 3.8 - 26.5 - 271.28  # 273.72
    assert curve["customer_share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    expected = [0.0, 567.7 / total, 571.5 / total, 545.0 / total, 1.0]
    assert curve["cumulative_profit_share"].tolist() == approx(expected)
    assert curve["cumulative_profit_share"].iloc[-1] == 1.0
    summary = whale_summary(hand_pnl)
    assert summary["total_profit"] == approx(total)
    assert summary["peak_share"] == approx(571.5 / total) and summary["peak_customer_share"] == 0.5
    assert summary["n_unprofitable"] == 2 and summary["share_unprofitable_customers"] == 0.5
    assert summary["profit_given_back"] == approx(26.5 + 271.28)
    assert summary["unprofitable_revenue_share"] == approx(300 / 2150)
    assert summary["curve_undefined"] is None and whale_note(summary) == ""
    metrics = profitability_metrics(hand_pnl)
    assert metrics == {
        "total_profit": approx(total), "gross_margin_total": approx(965.0),
        "cost_to_serve_total": approx(691.28), "whale_peak_pct": approx(100 * 571.5 / total),
        "share_unprofitable_customers": 0.5, "unprofitable_revenue_share": approx(300 / 2150)}


def test_whale_with_a_non_positive_total_is_undefined_and_says_so():
    pnl = pd.DataFrame({"customer_id": ids(["a", "b"]), "revenue": [10.0, 20.0], "profit": [5.0, -9.0]})
    curve = whale_curve(pnl)
    assert curve["cumulative_profit_share"].iloc[0] == 0.0
    assert curve["cumulative_profit_share"].iloc[1:].isna().all()
    summary = whale_summary(pnl)
    note = whale_note(summary)
    assert math.isnan(summary["peak_share"]) and "negative" in note and "undefined" in note
    assert summary["n_unprofitable"] == 1 and summary["profit_given_back"] == 9.0
    assert math.isnan(profitability_metrics(pnl.assign(gross_margin=0.0, cost_to_serve=0.0))["whale_peak_pct"])
    empty = pnl.iloc[:0]
    assert whale_curve(empty).to_dict("list") == {"customer_share": [0.0], "cumulative_profit_share": [0.0]}
    assert "No customer" in whale_note(whale_summary(empty))


def test_quadrants(hand_pnl):
    labels = quadrants(hand_pnl).set_axis(hand_pnl["customer_id"]).to_dict()
    # median revenue of 1700, 150, 0, 300 is 225
    assert labels == {"A": "large & profitable", "D": "small & profitable", "C": "small & unprofitable",
                      "B": "large & unprofitable"}
    assert list(quadrants(hand_pnl).cat.categories) == list(QUADRANTS)
    custom = quadrants(hand_pnl, revenue_split=100.0, profit_split=10.0).set_axis(hand_pnl["customer_id"])
    assert custom["D"] == "large & unprofitable"


def test_loss_drivers_are_the_explained_customers(hand_pnl):
    drivers = loss_drivers(hand_pnl, n=10, min_revenue_quantile=0.5)
    explained = loss_explanations(hand_pnl, n=10, min_revenue_quantile=0.5)
    assert drivers["customer_id"].tolist() == explained["customer_id"].tolist()
    assert drivers["main_driver"].tolist() == explained["main_driver"].tolist()
    assert (drivers["profit"] < 0).all()
    assert drivers["main_driver_cost"].ge(0).all()
    groups = drivers["main_driver"] != "cost of goods"
    pnl = hand_pnl.set_index("customer_id").loc[drivers["customer_id"]]
    assert drivers.loc[groups, "main_driver_cost"].to_numpy() == pytest.approx(
        (drivers.loc[groups, "main_driver_share"] * pnl.loc[groups.to_numpy(), "cost_to_serve"].to_numpy()).to_numpy())
    assert loss_drivers(hand_pnl, n=0).empty


def test_loss_explanations_by_hand(hand_pnl):
    explained = loss_explanations(hand_pnl, n=10, min_revenue_quantile=0.5)
    assert list(explained.columns) == ["customer_id", "revenue", "profit", "main_driver", "main_driver_share", "lever"]
    # unprofitable: B (revenue 300) and C (revenue 0, below the median 225): only B
    assert explained["customer_id"].tolist() == ["B"]
    row = explained.iloc[0]
    assert row["main_driver"] == "after-sales service"
    assert row["main_driver_share"] == approx(260 / 391.28)
    assert row["lever"] == ("66% of cost to serve comes from after-sales service (3 tickets, 2 hours): a paid "
                            "service contract would cut the loss (€271) by at most €260, not remove it.")
    everyone = loss_explanations(hand_pnl, min_revenue_quantile=0.0)
    assert everyone["customer_id"].tolist() == ["B", "C"]
    # C: returns (25) weigh more than order handling (1.5: no order) and cannot cover its loss of 26.5 alone
    assert everyone["main_driver"].tolist() == ["after-sales service", "returns"]
    assert everyone["lever"].iloc[1].endswith("a restocking fee or a stricter returns policy would cut the loss "
                                              "(€26) by at most €25, not remove it.")
    assert loss_explanations(hand_pnl, n=0).empty


def test_loss_explanations_levers_for_each_driver():
    base = {"revenue": 1000.0, "gross_margin": 300.0, "orders_per_year": 48.0, "avg_order_value": 300.0,
            "n_return_lines": 0, "n_lines": 60, "return_rate": 0.0, "n_late_invoices": 0,
            "days_late": np.nan, "n_tickets": 0, "service_minutes": 0.0, "n_active_years": 3,
            "discount_given": 0.0}
    costs = {col: 0.0 for col in DRIVER_COLUMNS}
    rows = [
        {**base, **costs, "customer_id": "orders", "cost_orders": 200.0, "cost_delivery": 200.0,
         "avg_order_value": 85.0},  # below the median average order (300): small orders
        {**base, **costs, "customer_id": "returns", "cost_returns": 400.0, "n_return_lines": 16,
         "return_rate": 16 / 60},
        {**base, **costs, "customer_id": "late", "cost_late_payment": 400.0, "n_late_invoices": 9,
         "days_late": 41.0},
        {**base, **costs, "customer_id": "account", "cost_account": 400.0},
        {**base, **costs, "customer_id": "discounts", "cost_service": 400.0, "discount_given": 250.0,
         "n_tickets": 20, "service_minutes": 600.0},
        {**base, **costs, "customer_id": "below cost", "gross_margin": -50.0, "cost_orders": 10.0,
         "discount_given": 120.0},
        {**base, **costs, "customer_id": "big fine", "avg_order_value": 5000.0, "cost_orders": 10.0},
    ]
    pnl = pd.DataFrame(rows)
    pnl["cost_to_serve"] = pnl[list(DRIVER_COLUMNS)].sum(axis=1)
    pnl["profit"] = pnl["gross_margin"] - pnl["cost_to_serve"]
    levers = loss_explanations(pnl, min_revenue_quantile=0).set_index("customer_id")
    assert levers.loc["orders", "lever"] == ("100% of cost to serve comes from 48 small orders a year (average €85): "
                                             "a minimum order or a delivery fee recovering €100 (25% of this cost) "
                                             "would restore profit.")
    assert "a restocking fee or a stricter returns policy" in levers.loc["returns", "lever"]
    assert "(16 of 60 lines, 27%)" in levers.loc["returns", "lever"]
    assert "stricter payment terms or a late-payment fee" in levers.loc["late", "lever"]
    assert "9 late invoices, 41 days late on average" in levers.loc["late", "lever"]
    assert "account management (3 active years)" in levers.loc["account", "lever"]
    assert "a paid service contract" in levers.loc["discounts", "lever"]
    assert "Discounts given (€250) exceed the loss: review the discount policy." in levers.loc["discounts", "lever"]
    assert levers.loc["below cost", "main_driver"] == "cost of goods"
    assert math.isnan(levers.loc["below cost", "main_driver_share"])
    assert "review prices and the discount policy" in levers.loc["below cost", "lever"]
    assert "big fine" not in levers.index  # profitable
    tiny_loss = pnl[pnl["customer_id"] == "returns"].assign(gross_margin=399.0, profit=-1.0)
    assert "recovering €1 (under 1% of this cost) would restore profit" in loss_explanations(tiny_loss)["lever"].iloc[0]


def test_cost_breakdown(hand_pnl):
    totals = cost_breakdown(hand_pnl)
    assert totals["driver"].tolist() == list(DRIVER_COLUMNS)
    assert totals["label"].tolist() == [DRIVER_LABELS[col] for col in DRIVER_COLUMNS]
    assert totals["cost"].tolist() == approx([96.0, 18.0, 56.0, 125.0, 26.28, 330.0, 40.0])
    assert totals["share_of_cost_to_serve"].sum() == approx(1.0)
    assert totals["share_of_revenue"].iloc[0] == approx(96.0 / 2150)
    # rows are A, D, C, B
    groups = cost_breakdown(hand_pnl.assign(kind=pd.Series(["B2B", "B2C", None, "B2B"], dtype="string")), by="kind")
    assert groups["kind"].tolist() == ["B2B", "B2C", "(unknown)"]  # largest revenue first
    first = groups.iloc[0]
    assert first["n_customers"] == 2
    assert first["revenue"] == 2000.0 and first["profit"] == approx(567.7 - 271.28)
    assert first["profit_margin"] == approx((567.7 - 271.28) / 2000)
    assert math.isnan(groups.iloc[2]["profit_margin"])  # C has no revenue
    assert groups[list(DRIVER_COLUMNS)].sum().tolist() == approx(totals["cost"].tolist())
    with pytest.raises(ValueError, match="merge it first"):
        cost_breakdown(hand_pnl, by="industry")


# --------------------------------------------------------------------------- sensitivity


def test_sensitivity_by_hand():
    tables = hand_tables()
    table = sensitivity(**tables, model=MODEL, as_of=AS_OF, factors=(1.0, 2.0), top_n=2)
    assert table["rate"].unique().tolist() == [
        "default_cogs_rate", "cogs_rate_by_category", "per_order", "per_line", "per_delivery", "per_return",
        "per_ticket", "per_service_minute", "capital_rate", "per_late_invoice", "per_customer"]
    same = table[table["factor"] == 1.0]
    assert (same["profit_change"] == 0).all() and (same["rank_correlation"] == 1.0).all()
    assert (same["top_overlap"] == 1.0).all() and (same["unprofitable_overlap"] == 1.0).all()
    doubled = table[table["factor"] == 2.0].set_index("rate")
    assert doubled.loc["per_order", "profit_change"] == approx(-12.0 * 8)  # 8 orders in all
    assert doubled.loc["per_order", "value"] == 24.0
    assert doubled.loc["per_service_minute", "profit_change"] == approx(-0.8 * 200)  # 200 minutes
    assert doubled.loc["capital_rate", "profit_change"] == approx(-(24000 + 26400 + 6000) * 0.073 / 365)
    # category rates doubled: uncosted Services 500 * 0.35 and HARDWARE 400 * 0.70 cost that much more
    assert doubled.loc["cogs_rate_by_category", "profit_change"] == approx(-(175.0 + 280.0))
    assert math.isnan(doubled.loc["cogs_rate_by_category", "value"])
    # doubling the default rate: B's 90 + 60 and D's -50 without cost or configured category
    assert doubled.loc["default_cogs_rate", "profit_change"] == approx(-0.6 * (90 + 60 - 50))
    # D (profit 3.8) turns unprofitable when per_order doubles (24 more)
    assert doubled.loc["per_order", "n_unprofitable"] == 3
    assert doubled.loc["per_order", "unprofitable_overlap"] == approx(2 / 3)


@settings(max_examples=200, deadline=None)
@given(profits=st.lists(st.sampled_from([-5.0, -1.0, 0.0, 0.5, 2.0, 7.0, float("nan")]) | st.floats(-1e6, 1e6),
                        min_size=1, max_size=60),
       k=st.integers(1, 70), id_seed=st.integers(0, 2**32 - 1))
def test_sensitivity_top_customers_are_the_full_rankings_first(profits, k, id_seed):
    """The sensitivity table's shortcuts (its top customers without sorting all, the unprofitable ones as
    masks) give what the full ranking and the set overlap give, ties and NaN profits included."""
    from portfolio_helpers.analysis.profitability import _jaccard, _mask_jaccard, _rank_order, _top_positions

    profit = np.array(profits)
    ids = pd.Series(np.random.default_rng(id_seed).permutation(len(profit)).astype(str), dtype="string")
    id_rank = np.empty(len(profit), dtype=np.int64)
    id_rank[np.asarray(ids.argsort(kind="stable"))] = np.arange(len(profit))
    assert _top_positions(profit, id_rank, k).tolist() == _rank_order(profit, ids)[:k].tolist()
    other = profit[::-1].copy()
    assert _mask_jaccard(profit < 0, other < 0) == _jaccard(np.flatnonzero(profit < 0), np.flatnonzero(other < 0))


def test_price_refuses_quantities_without_the_model_categories():
    quantities = driver_quantities(**hand_tables(), model=CostModel(), as_of=AS_OF)
    with pytest.raises(ValueError, match="recompute them with driver_quantities"):
        price(quantities, MODEL)
    pd.testing.assert_frame_equal(price(driver_quantities(**hand_tables(), model=MODEL, as_of=AS_OF), MODEL),
                                  customer_pnl(**hand_tables(), model=MODEL, as_of=AS_OF))


# --------------------------------------------------------------------------- defaults and notes


def test_only_transactions_gives_gross_margin_only():
    tx = pd.DataFrame({"customer_id": ids(["a", "b", "a"]), "date": TS(["2025-01-01", "2025-02-01", "2025-03-01"]),
                       "amount": [100.0, 50.0, 30.0]})
    model = cost_model_from_config(None)
    pnl = customer_pnl(tx, model, as_of=AS_OF).set_index("customer_id")
    assert pnl["cogs"].to_dict() == approx({"a": 78.0, "b": 30.0})  # 60% of revenue
    assert (pnl[list(DRIVER_COLUMNS)] == 0).all().all()
    assert pnl["profit"].tolist() == pnl["gross_margin"].tolist()
    assert pnl["discount_given"].isna().all() and pnl["discount_share"].isna().all()
    assert pnl["n_orders"].to_dict() == {"a": 2, "b": 1}  # each line is an order without order_id
    notes = missing_driver_notes(tx, model)
    assert "No payments table: late-payment cost is 0." in notes
    assert "No tickets table: after-sales service cost is 0." in notes
    assert "No cost column: cost of goods = 60% of revenue (default_cogs_rate)." in notes
    assert "Cost-to-serve rates are all 0: profit equals gross margin." in notes
    assert not any(note.startswith("Rates at 0") for note in notes)


def test_notes_about_partial_data():
    tables = hand_tables()
    tables["payments"] = tables["payments"].drop(columns="paid_date")
    tables["tickets"] = tables["tickets"].drop(columns="minutes")
    notes = missing_driver_notes(**tables, model=MODEL.scaled("per_customer", 0))
    assert "The payments table has no paid_date column: late-payment cost is 0." in notes
    assert "The tickets table has no minutes column: per_service_minute is not used." in notes
    assert ("Cost missing on 5 of 10 revenue lines: their cost of goods = revenue x the category rate "
            "(hardware 70%, services 35%), else 60% (default_cogs_rate).") in notes
    assert "Rates at 0 (these activities cost nothing in this model): per_customer." in notes
    pnl = customer_pnl(**tables, model=MODEL, as_of=AS_OF).set_index("customer_id")
    assert (pnl["cost_late_payment"] == 0).all()
    assert pnl.loc["B", "cost_service"] == approx(3 * 30 + 50)


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="the transactions table must be a pandas DataFrame"):
        customer_pnl(None, MODEL, as_of=AS_OF)
    tx = hand_tables()["transactions"]
    with pytest.raises(ValueError, match="no amount column"):
        customer_pnl(tx.drop(columns="amount"), MODEL, as_of=AS_OF)
    tickets = hand_tables()["tickets"].assign(minutes=[5.0, -3.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="tickets.minutes has 1 negative"):
        customer_pnl(tx, MODEL, tickets=tickets, as_of=AS_OF)
    with pytest.raises(ValueError, match=r"transactions\.date must hold dates"):
        customer_pnl(tx.assign(date=tx["date"].astype(str)), MODEL, as_of=AS_OF)
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        CostModel(per_order=-1)
    with pytest.raises(ValueError, match="did you mean 'per_order'"):
        MODEL.scaled("per_oder", 2)


# --------------------------------------------------------------------------- config validation


def test_config_defaults():
    assert cost_model_from_config(None) == CostModel()
    default = cost_model_from_config({})
    assert default.default_cogs_rate == 0.60 and default.cogs_rate_by_category == {}
    assert all(getattr(default, key) == 0.0 for key in COST_KEYS[2:])
    brief = cost_model_from_config({"default_cogs_rate": 0.6, "cogs_rate_by_category": {"Hardware": 0.7,
                                    "Équipement": 0.5}, "per_order": 12, "per_service_minute": 0.8})
    assert brief.cogs_rate_by_category == {"hardware": 0.7, "equipement": 0.5}
    assert brief.per_order == 12.0 and isinstance(brief.per_order, float)


@pytest.mark.parametrize(("section", "where", "expected"), [
    ({"per_oder": 12}, "costs.per_oder", "unknown key (did you mean 'per_order'?) (allowed: default_cogs_rate, "),
    ({"shipping": 4.5}, "costs.shipping", "unknown key (allowed: default_cogs_rate, cogs_rate_by_category"),
    ({"per_line": "1,5"}, "costs.per_line", "expected a number >= 0 in the report currency, e.g. 12.0, got text '1,5'"),
    ({"per_line": True}, "costs.per_line", "got bool True"),
    ({"per_line": None}, "costs.per_line", "no value given"),
    ({"per_ticket": -3}, "costs.per_ticket", "must not be negative"),
    ({"default_cogs_rate": 60}, "costs.default_cogs_rate", "must be at most 1; expected a share of revenue between "
                                                           "0 and 1 (0.60 = 60%), got 60 (write 0.6 for 60%)"),
    ({"capital_rate": 8}, "costs.capital_rate", "an annual rate between 0 and 1 (0.08 = 8% a year)"),
    ({"capital_rate": float("nan")}, "costs.capital_rate", "expected an annual rate"),
    ({"cogs_rate_by_category": {"hardware": 1.2}}, "costs.cogs_rate_by_category.hardware", "must be at most 1"),
    ({"cogs_rate_by_category": {"hardware": "70%"}}, "costs.cogs_rate_by_category.hardware", "without quotes"),
    ({"cogs_rate_by_category": {"Hardware": 0.7, "hardware": 0.6}}, "costs.cogs_rate_by_category.hardware",
     "category given twice: 'Hardware' and 'hardware' are the same category"),
    ({"cogs_rate_by_category": {"Électricité": 0.7, "electricite": 0.6}},
     "costs.cogs_rate_by_category.electricite", "given twice"),
    ({"cogs_rate_by_category": [0.7, 0.35]}, "costs.cogs_rate_by_category", "expected a mapping category: rate"),
    ({"cogs_rate_by_category": 0.7}, "costs.cogs_rate_by_category", "expected a mapping"),
    ([1, 2], "costs", "expected a mapping of rates"),
])
def test_config_errors_name_the_file_the_key_and_the_expectation(section, where, expected):
    with pytest.raises(ConfigError) as error:
        cost_model_from_config(section, "/data/acme/portfolio.yml")
    message = str(error.value)
    assert message.startswith(f"/data/acme/portfolio.yml: {where}: "), message
    assert expected in message, message


def test_config_file_costs_section(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na,2025-01-01,10\n", encoding="utf-8")
    config_file = tmp_path / "portfolio.yml"
    config_file.write_text("tables:\n  transactions: tx.csv\ncosts:\n  per_order: 12\n  per_line: -1.5\n",
                           encoding="utf-8")
    with pytest.raises(ConfigError, match=r"portfolio\.yml: costs\.per_line: must not be negative"):
        load_cost_model(config_file)
    config_file.write_text("tables:\n  transactions: tx.csv\ncosts:\n  per_order: 12\n", encoding="utf-8")
    config = load_config(config_file)
    assert cost_model_from_config(config.sections.get("costs"), config.path) == CostModel(per_order=12.0)
    assert load_cost_model(config_file) == CostModel(per_order=12.0)


def test_scaled_model():
    assert MODEL.scaled("per_order", 1.0) == MODEL
    assert MODEL.scaled("per_order", 0.5).per_order == 6.0
    assert MODEL.scaled("cogs_rate_by_category", 2).cogs_rate_by_category == {"hardware": 1.4, "services": 0.7}
    assert MODEL.scaled("per_order", 3).per_line == MODEL.per_line  # the rest unchanged
    with pytest.raises(ValueError, match="factor"):
        MODEL.scaled("per_order", -1)


# --------------------------------------------------------------------------- the committed sample


@pytest.fixture(scope="module")
def sample():
    portfolio = load_portfolio(SAMPLE / "portfolio.yml")
    model = cost_model_from_config(portfolio.config.sections.get("costs"), portfolio.config.path)
    quantities = driver_quantities(**pnl_tables(portfolio.tables), model=model, as_of=portfolio.as_of)
    return portfolio, model, quantities, price(quantities, model)


def test_sample_planted_unprofitable_customers_are_found(sample):
    portfolio, model, _, pnl = sample
    assert model.per_service_minute > 0 and model.per_order > 0  # the sample config has a costs: section
    truth = load_truth(SAMPLE / "truth.json")["customers"].set_index("customer_id")
    candidates = truth.index[truth["unprofitable_candidate"]]
    profit = pnl.set_index("customer_id")["profit"]
    found = float((profit.reindex(candidates) < 0).mean())
    print(f"\nplanted unprofitable customers found unprofitable: {found:.0%} of {len(candidates)}")
    assert len(candidates) >= 5
    assert found >= 0.8
    segment = truth["segment"].reindex(profit.index)
    assert (profit[segment == "key_accounts"] > 0).mean() >= 0.9  # most key accounts stay profitable
    assert profit[candidates.intersection(profit.index)].sum() < 0


def test_sample_whale_curve(sample):
    _, _, _, pnl = sample
    curve = whale_curve(pnl)
    assert curve["cumulative_profit_share"].iloc[-1] == 1.0
    assert curve["customer_share"].iloc[0] == 0.0 and curve["customer_share"].iloc[-1] == 1.0
    summary = whale_summary(pnl)
    assert summary["peak_share"] >= 1.0
    assert summary["peak_share"] == curve["cumulative_profit_share"].max()
    metrics = profitability_metrics(pnl)
    assert list(metrics) == ["total_profit", "gross_margin_total", "cost_to_serve_total", "whale_peak_pct",
                             "share_unprofitable_customers", "unprofitable_revenue_share"]
    assert all(math.isfinite(value) for value in metrics.values())
    assert metrics["total_profit"] == approx(metrics["gross_margin_total"] - metrics["cost_to_serve_total"])


def test_sample_pnl_shape_and_exports(sample):
    portfolio, _, _, pnl = sample
    transactions = portfolio.tables["transactions"]
    assert len(pnl) == transactions["customer_id"].nunique()
    assert pnl["customer_id"].is_unique and pnl["profit_rank"].tolist() == list(range(1, len(pnl) + 1))
    assert set(EXPORT_COLUMNS) <= set(pnl.columns)
    revenue = transactions[transactions["status"] != "cancelled"]["amount"].sum()
    assert pnl["revenue"].sum() == pytest.approx(revenue)
    assert (pnl["cost_to_serve"] >= 0).all()
    assert pnl["profit"].is_monotonic_decreasing
    explained = loss_explanations(pnl)
    assert 0 < len(explained) <= 10 and (explained["profit"] < 0).all()
    assert explained["lever"].str.len().gt(40).all()


def test_sample_sensitivity(sample):
    portfolio, model, quantities, pnl = sample
    table = sensitivity(None, model, factors=(1.0, 2.0), quantities=quantities)
    same = table[table["factor"] == 1.0]
    assert same["total_profit"].to_numpy() == pytest.approx(pnl["profit"].sum(), rel=1e-12)
    assert (same["profit_change"] == 0.0).all() and (same["rank_correlation"] == 1.0).all()
    assert (same["top_overlap"] == 1.0).all() and (same["unprofitable_overlap"] == 1.0).all()
    doubled = table[(table["factor"] == 2.0) & (table["rate"] == "per_order")].iloc[0]
    assert doubled["profit_change"] == pytest.approx(-pnl["cost_orders"].sum(), rel=1e-12)
    assert doubled["n_unprofitable"] >= (pnl["profit"] < 0).sum()
    assert 0 < doubled["rank_correlation"] < 1
    again = sensitivity(**pnl_tables(portfolio.tables), model=model, as_of=portfolio.as_of,
                        factors=(1.0, 2.0))  # aggregates itself
    pd.testing.assert_frame_equal(table, again)


# --------------------------------------------------------------------------- properties

_statuses = st.sampled_from(["completed", "cancelled", "returned", "modified", None])
_line = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "c4"]),  # customer
    st.sampled_from(["o1", "o2", "o3", "o4", "o5", None]),  # order
    st.integers(0, 800),  # day
    st.floats(-500, 2000, allow_nan=False).map(lambda x: round(x, 2)),  # amount
    st.one_of(st.none(), st.floats(-300, 1500, allow_nan=False)),  # cost
    st.sampled_from(["hardware", "Services", "supplies", None]),  # category
    _statuses,
    st.one_of(st.none(), st.floats(0, 100, allow_nan=False)),  # discount
)
_payment = st.tuples(st.sampled_from(["c1", "c2", "c5"]), st.integers(0, 900), st.one_of(st.none(), st.integers(-30, 200)),
                     st.floats(-200, 2000, allow_nan=False))
_ticket = st.tuples(st.sampled_from(["c1", "c3", "c6"]), st.floats(0, 300, allow_nan=False),
                    st.one_of(st.none(), st.floats(0, 200, allow_nan=False)))
_rate = st.floats(0, 50, allow_nan=False)
_share = st.floats(0, 1, allow_nan=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line, min_size=1, max_size=25), payments=st.lists(_payment, max_size=8),
       tickets=st.lists(_ticket, max_size=6), rates=st.lists(_rate, min_size=7, max_size=7),
       shares=st.lists(_share, min_size=4, max_size=4))
def test_profit_is_revenue_minus_cogs_minus_drivers(lines, payments, tickets, rates, shares):
    start = pd.Timestamp("2023-06-01")
    customer, order, day, amount, cost, category, status, discount = zip(*lines, strict=True)
    tables = {"transactions": pd.DataFrame({
        "customer_id": ids(customer), "order_id": ids(order), "date": start + pd.to_timedelta(day, unit="D"),
        "amount": amount, "cost": [np.nan if c is None else c for c in cost],
        "category": ids(category), "status": ids(status), "discount": [np.nan if d is None else d for d in discount],
    })}
    if payments:
        who, due, delay, invoice = zip(*payments, strict=True)
        due_date = start + pd.to_timedelta(due, unit="D")
        paid = pd.Series([None if d is None else due_date[i] + pd.Timedelta(days=d) for i, d in enumerate(delay)],
                         dtype="datetime64[ns]")
        tables["payments"] = pd.DataFrame({"customer_id": ids(who), "due_date": due_date, "paid_date": paid,
                                           "amount": invoice})
    if tickets:
        who, minutes, ticket_cost = zip(*tickets, strict=True)
        tables["tickets"] = pd.DataFrame({"customer_id": ids(who), "minutes": minutes,
                                          "cost": [np.nan if c is None else c for c in ticket_cost]})
    model = CostModel(default_cogs_rate=shares[0], cogs_rate_by_category={"hardware": shares[1], "services": shares[2]},
                      per_order=rates[0], per_line=rates[1], per_delivery=rates[2], per_return=rates[3],
                      per_ticket=rates[4], per_service_minute=rates[5], capital_rate=shares[3],
                      per_late_invoice=rates[6], per_customer=rates[0] / 2)
    pnl = customer_pnl(**tables, model=model, as_of="2025-12-31")

    tx = tables["transactions"]
    assert sorted(pnl["customer_id"]) == sorted(set(customer))
    billed = tx[tx["status"].fillna("") != "cancelled"]
    expected_revenue = billed.groupby("customer_id")["amount"].sum().reindex(pnl["customer_id"], fill_value=0.0)
    assert pnl["revenue"].to_numpy() == pytest.approx(expected_revenue.to_numpy(), abs=1e-6)
    drivers = pnl[list(DRIVER_COLUMNS)].sum(axis=1).to_numpy()
    assert pnl["cost_to_serve"].to_numpy() == pytest.approx(drivers, abs=1e-6)
    assert pnl["profit"].to_numpy() == pytest.approx((pnl["revenue"] - pnl["cogs"]).to_numpy() - drivers, abs=1e-6)
    assert (pnl["cost_to_serve"] >= 0).all() and (pnl[list(DRIVER_COLUMNS)] >= 0).all().all()
    assert pnl["profit_rank"].tolist() == list(range(1, len(pnl) + 1))
    assert pnl["profit"].is_monotonic_decreasing
    assert pnl["n_orders"].sum() <= len(tx) and (pnl["n_deliveries"] <= pnl["n_orders"]).all()
    curve = whale_curve(pnl)
    if pnl["profit"].sum() > 0:
        assert curve["cumulative_profit_share"].iloc[-1] == 1.0
        assert whale_summary(pnl)["peak_share"] >= 1.0
