import pandas as pd

from portfolio_helpers.analysis import rfm
from portfolio_helpers.analysis.segmentation import lifecycle_leads
from portfolio_helpers.reporting import segmentation as report


def test_rfm_findings_and_grid():
    summary = pd.DataFrame({
        "segment": ["Champions", "At Risk", "Can't Lose Them", "Hibernating", "Lost", "Promising"],
        "customers": [10, 4, 1, 20, 15, 0],
        "customer_share": [0.2, 0.08, 0.02, 0.4, 0.3, 0.0],
        "revenue": [600.0, 150.0, 50.0, 100.0, 100.0, 0.0],
        "revenue_share": [0.6, 0.15, 0.05, 0.1, 0.1, 0.0],
    })
    lines = report.rfm_findings(summary, "EUR")
    assert lines[0] == "**10 Champions** (20.0% of customers) bring 60.0% of revenue: they bought recently and often."
    assert lines[1].startswith("5 customers who used to buy often have stopped") and "€200" in lines[1]
    assert lines[2] == "70.0% of customers are Hibernating or Lost, with 20.0% of revenue."
    assert lines[3] == "No customer falls in: Promising."
    scores = pd.DataFrame({"r_score": [5, 5, 1], "f_score": [5, 1, 1]})
    grid = report.rfm_grid(scores)
    assert grid.shape == (5, 5) and grid.loc[5, 5] == 1 and grid.loc[1, 1] == 1 and grid.to_numpy().sum() == 3


def test_previous_segments_use_only_earlier_data():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
                       "date": pd.to_datetime(["2024-01-10", "2025-06-01", "2025-07-01"]),
                       "amount": [10.0, 20.0, 30.0]})
    before, earlier = rfm.previous_segments(tx, pd.Timestamp("2025-12-31"), rfm.DEFAULT_SEGMENT_MAP)
    assert earlier == pd.Timestamp("2024-12-31")
    assert before.index.tolist() == ["a"]  # b had not bought yet


def test_migration_findings():
    counts = pd.DataFrame([[3, 1, 0], [0, 2, 1], [2, 0, 0]], index=["Champions", "Loyal Customers", "new"],
                          columns=["Champions", "Loyal Customers", "At Risk"])
    lines = report.migration_findings(counts, pd.Timestamp("2024-12-31"), "EUR")
    assert lines[0] == "Of the 4 Champions of December 2024, 3 (75.0%) are still Champions."
    assert lines[1] == "2 customers bought for the first time since December 2024."
    assert lines[2] == "1 former Champion or Loyal customer slipped to At Risk, Can't Lose Them, Hibernating or Lost."


def test_lifecycle_leads_avoid_counting_crm_leads_twice():
    leads = pd.DataFrame({"lead_id": ["L1"], "date": pd.to_datetime(["2025-01-01"])})
    crm_with_leads = pd.DataFrame({"customer_id": ["C1", "C2"], "stage": ["customer", "prospect"]})
    crm_customers_only = pd.DataFrame({"customer_id": ["C1"], "stage": ["customer"]})
    assert lifecycle_leads(crm_with_leads, leads) is None
    assert lifecycle_leads(crm_customers_only, leads) is leads
    assert lifecycle_leads(None, leads) is leads


def test_cluster_name_overrides_are_validated():
    import pytest

    from portfolio_helpers.core.errors import ConfigError

    assert report.cluster_name_overrides(None) is None
    assert report.cluster_name_overrides({"names": {0: " Key accounts ", "2": "Small"}}) == {0: "Key accounts",
                                                                                          2: "Small"}
    with pytest.raises(ConfigError, match="segments"):
        report.cluster_name_overrides({"nmes": {0: "x"}})
    with pytest.raises(ConfigError, match="segments.names"):
        report.cluster_name_overrides({"names": {"first": "x"}})
