"""The figures notebook 01 prints, computed by hand on a tiny portfolio."""

import pandas as pd
import pytest

from portfolio_helpers.ingest.loaders import load_portfolio
from portfolio_helpers.reporting import cleaning
from portfolio_helpers.reporting.narrative import fmt_money, fmt_pct


@pytest.fixture
def portfolio(tmp_path):
    (tmp_path / "tx.csv").write_text(
        "customer_id,date,amount,order_id\n"
        "A,2024-01-05,100.00,o1\n"
        "A,2024-01-05,50.00,o1\n"
        "A,2024-02-10,-30.00,o2\n"
        "B,2024-03-01,200.00,\n"
        "Z,2024-03-02,10.00,o9\n"
        "B,not a date,5.00,o3\n",
        encoding="utf-8",
    )
    (tmp_path / "customers.csv").write_text("customer_id,country\nA,FR\nB,DE\n", encoding="utf-8")
    (tmp_path / "p.yml").write_text(
        "name: Tiny\ncurrency: EUR\ntables:\n  transactions: tx.csv\n  customers: customers.csv\n", encoding="utf-8"
    )
    return load_portfolio(tmp_path / "p.yml", today=pd.Timestamp("2025-01-01"))


def test_load_overview_by_hand(portfolio):
    overview = cleaning.load_overview(portfolio)
    assert overview["n_transactions"] == 5
    assert overview["n_customer_ids"] == 3
    assert overview["n_orders"] == 4  # o1, o2, o9 and B's line without an order id
    assert overview["revenue_total"] == pytest.approx(330.0)
    assert overview["credit_notes_total"] == pytest.approx(-30.0)
    assert overview["period_start"] == pd.Timestamp("2024-01-05")
    assert overview["period_end"] == pd.Timestamp("2024-03-02")
    assert overview["n_rejected_rows"] == 1
    assert overview["n_unknown_customer_lines"] == 1
    assert overview["unknown_customer_revenue"] == pytest.approx(10.0)


def test_tables_overview_and_coverage(portfolio):
    tables = cleaning.tables_overview(portfolio).set_index("table")
    assert tables.loc["transactions", "rows in file"] == 6
    assert tables.loc["transactions", "rows after cleaning"] == 5
    assert tables.loc["transactions", "rows set aside"] == 1
    cover = cleaning.coverage(portfolio).set_index("table")
    assert cover.loc["customers", "buying customers covered"] == pytest.approx(2 / 3)
    assert cover.loc["payments", "provided"] == "no"


def test_rejected_summary_lists_reason_examples_and_lines(portfolio):
    summary = cleaning.rejected_summary(portfolio.rejected)
    row = summary.iloc[0]
    assert (row["column"], row["problem"], row["rows"]) == ("date", "not a valid date", 1)
    assert "'not a date'" in row["examples"] and row["lines"] == "7"


def test_findings_quote_the_figures(portfolio):
    overview = cleaning.load_overview(portfolio)
    text = " ".join(cleaning.loading_findings(
        overview, cleaning.tables_overview(portfolio), cleaning.coverage(portfolio), "Tiny", "EUR"))
    assert "5 transaction lines from 3 customers in 4 orders" in text
    assert fmt_money(330.0, "EUR") in text and "€30 of credit notes" in text
    assert "1 row could not be used and was set aside (transactions: 1 of 6 rows, 16.67%)" in text
    assert f"{fmt_pct(10 / 330)} of revenue" in text
    assert "Not provided: payments, tickets, leads" in text


def test_money_and_percent_formatting():
    assert fmt_money(1_234_567.8, "EUR") == "€1.23 M"
    assert fmt_money(-950, "USD") == "-$950"
    assert fmt_money(12_500, "SEK") == "SEK 12.5 k"
    assert fmt_pct(0.1834) == "18.3%"


def test_attribute_finding_names_the_largest_known_value():
    by_value = pd.DataFrame({"industry": ["(unknown)", "food", "retail"], "revenue": [50.0, 30.0, 20.0],
                             "n_customers": [9, 2, 1], "revenue_share": [0.5, 0.3, 0.2]})
    text = cleaning.attribute_finding(by_value, "industry", "industry")
    assert text == ("Largest industry: **food**, 30.0% of revenue from 2 customers "
                    "(50.0% of revenue comes from customers with no industry recorded).")
    only_unknown = by_value.iloc[:1]
    assert cleaning.attribute_finding(only_unknown, "industry", "industry") == (
        "No industry is recorded for the buying customers.")
