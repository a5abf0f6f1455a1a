"""Notebook 02's tables and sentences, on hand-made data."""

import pandas as pd
import pytest

from portfolio_helpers.analysis import pareto
from portfolio_helpers.reporting import pareto as report


@pytest.fixture
def tables():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "d", "e", "e"],
        "date": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-03-01", "2025-03-02", "2025-04-01",
                                "2025-05-01", "2025-05-02"]),
        "amount": [50.0, 10.0, 30.0, 10.0, 5.0, 20.0, -20.0],
        "cost": [20.0, 5.0, 10.0, 8.0, 1.0, 10.0, -10.0],
        "status": ["completed", "cancelled", "completed", "completed", "completed", "completed", "returned"],
        "category": ["hw", "hw", "sw", "sw", None, "hw", "hw"],
    })
    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "country": ["FR", "FR", "DE", None]})
    return {"transactions": tx, "customers": customers}


def test_customer_revenue_excludes_cancelled_lines_and_adds_margin_and_attributes(tables):
    per_customer = pareto.customer_revenue(tables["transactions"], customers=tables["customers"]).set_index("customer_id")
    assert per_customer["revenue"].to_dict() == {"a": 50.0, "b": 30.0, "c": 10.0, "d": 5.0, "e": 0.0}
    assert per_customer["gross_margin"].to_dict() == {"a": 30.0, "b": 20.0, "c": 2.0, "d": 4.0, "e": 0.0}
    assert per_customer.loc["a", "country"] == "FR" and pd.isna(per_customer.loc["e", "country"])


def test_findings_and_abc_summary(tables):
    per_customer = pareto.customer_revenue(tables["transactions"], customers=tables["customers"])
    table = pareto.pareto_table(per_customer, value_col="revenue")
    summary = pareto.concentration_summary(per_customer["revenue"])
    text = " ".join(report.findings(summary, table, "EUR"))
    # 50, 30, 10, 5, 0 -> 2 customers (40%) reach 80% (50+30 = 84.2%)
    assert "**2 customers (40.0% of 5) bring 80% of revenue** — less concentrated than the 80/20 rule." in text
    assert "The top 20% (1 customer) bring 52.6% of revenue." in text
    assert "1 customer bought and returned everything (net revenue 0)" in text
    abc = report.abc_summary(table).set_index("class")
    # cumulative share before each customer: 0, .526, .842, .947, 1 -> A, A, B, B, C (zero is C)
    assert abc["customers"].tolist() == [2, 2, 1]
    assert abc.loc["A", "share of revenue"] == pytest.approx(80 / 95)
    assert abc["share of customers"].sum() == pytest.approx(1.0)


def test_dimension_frames_cover_customer_and_line_dimensions(tables):
    per_customer = pareto.customer_revenue(tables["transactions"], customers=tables["customers"])
    frames = pareto.dimension_frames(tables["transactions"], per_customer)
    assert set(frames) == {"country", "category"}
    category = frames["category"].set_index("category")
    assert category.loc["hw", "value"] == 50.0 and category.loc["(unknown)", "value"] == 5.0
    assert category["value_share"].sum() == pytest.approx(1.0)
    assert category.loc["hw", "n_customers"] == 2  # a and e (e's lines net to zero)


def test_dependence_and_migration_sentences():
    summary = {"hhi": 2600.0, "hhi_level": "highly concentrated"}
    majors = pd.Series({"C001": 0.3, "C002": 0.12})
    text = report.dependence_sentences(summary, majors, "EUR", 0.10)
    assert "**2 customers** at or above 10% of revenue" in text and "C001 (30.0%)" in text
    assert "2,600 points" in text and "highly concentrated" in text
    counts = pd.DataFrame([[3, 1, 0, 1], [0, 2, 0, 0], [0, 0, 4, 2], [1, 0, 5, 0]],
                          index=["A", "B", "C", "new"], columns=["A", "B", "C", "lost"])
    revenue = counts * 10.0
    sentences = report.migration_sentences(counts, revenue, "EUR")
    assert sentences[0] == ("Of the 5 A customers of the previous 12 months, 3 stayed A, 1 slipped to B or C "
                            "and 1 bought nothing in the last 12 months (€10 of revenue the year before).")
    assert sentences[1].startswith("6 new customers in the last 12 months brought €60; 1 of them")
    assert sentences[2].startswith("3 customers active the year before did not buy")


def test_value_comparison_and_trend_frequency(tables):
    per_customer = pareto.customer_revenue(tables["transactions"], customers=tables["customers"])
    comparison = report.value_comparison(per_customer, {"revenue": "revenue", "gross_margin": "gross margin"})
    assert comparison["measure on"].tolist() == ["revenue", "gross margin"]
    assert comparison["total"].tolist() == [95.0, 56.0]
    assert comparison.loc[1, "Gini"] == pytest.approx(pareto.gini(per_customer["gross_margin"]))
    assert report.trend_frequency(tables["transactions"]) == "quarter"  # one calendar year only
    two_years = tables["transactions"].assign(date=pd.to_datetime(["2024-01-05"] * 3 + ["2025-01-01"] * 4))
    assert report.trend_frequency(two_years) == "year"
    trend = pareto.measures_by_period(tables["transactions"], freq="quarter")
    assert report.trend_table(trend, "quarter")["period"].tolist() == ["2025 Q1", "2025 Q2"]
