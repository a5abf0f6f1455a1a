import pandas as pd
import pytest

from portfolio_helpers.analysis import profitability
from portfolio_helpers.reporting import profitability as report


@pytest.fixture
def pnl():
    rows = {
        "customer_id": ["a", "b", "c", "d"],
        "revenue": [1000.0, 500.0, 300.0, 100.0],
        "cogs": [500.0, 200.0, 150.0, 80.0],
    }
    frame = pd.DataFrame(rows)
    frame["gross_margin"] = frame["revenue"] - frame["cogs"]
    for column in profitability.DRIVER_COLUMNS:
        frame[column] = 0.0
    frame["cost_service"] = [100.0, 400.0, 50.0, 10.0]
    frame["cost_to_serve"] = frame[list(profitability.DRIVER_COLUMNS)].sum(axis=1)
    frame["profit"] = frame["gross_margin"] - frame["cost_to_serve"]
    frame["profit_margin"] = frame["profit"] / frame["revenue"]
    frame["profit_rank"] = frame["profit"].rank(ascending=False, method="first").astype(int)
    return frame


def test_findings_quote_profit_losers_and_main_driver(pnl):
    summary = profitability.whale_summary(pnl)
    text = " ".join(report.findings(pnl, summary, "EUR"))
    # profits: 400, -100, 100, 10 -> total 410; b loses 100 with 500 of 1,900 revenue
    assert "leaving **€410 of profit**" in text
    assert "**1 customer (25.0%) cost more than they bring**: together they lose €100" in text
    assert "26.3% of revenue" in text
    assert "after-sales service: 100.0% of cost to serve" in text


def test_tables(pnl):
    worst = report.pnl_table(pnl, pd.DataFrame({"customer_id": ["b"], "name": ["Bee SA"]}), n=1, worst=True)
    assert worst.loc[0, "customer_id"] == "b" and worst.loc[0, "name"] == "Bee SA"
    names = report.display_names(pd.Series(["b", "z"]), pd.DataFrame({"customer_id": ["b"], "name": ["Bee SA"]}))
    assert names.to_dict() == {"b": "Bee SA", "z": "z"}
    traits = report.traits_table(pnl.assign(margin_rate=pnl["gross_margin"] / pnl["revenue"]))
    assert traits.loc[0, "unprofitable customers"] == pytest.approx(0.6)
    model = profitability.cost_model_from_config({"per_order": 2.5})
    rates = report.cost_model_table(model, "EUR").set_index("rate")["value"]
    assert rates["per_order"] == "2.50 EUR"  # rates keep their cents
    assert rates["default_cogs_rate"] == "60%"
