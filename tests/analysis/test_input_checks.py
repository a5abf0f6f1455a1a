"""Every public analysis function checks its tables once, through core.validation.require_columns:
a missing column raises ColumnError naming the table, the column and the columns the table has."""

from __future__ import annotations

import pandas as pd
import pytest

from portfolio_helpers.analysis import features, profitability, rfm, scorecard, scoring, segmentation
from portfolio_helpers.core.errors import ColumnError

TX = pd.DataFrame({"customer_id": pd.array(["a", "a", "b"], dtype="string"),
                   "date": pd.to_datetime(["2025-01-10", "2025-03-01", "2025-02-01"]),
                   "amount": [100.0, 50.0, 80.0]})
FEATURES = features.customer_features(TX, "2025-12-31")
LEADS = pd.DataFrame({"lead_id": ["L1"], "date": pd.to_datetime(["2025-01-01"])})


CASES = {
    "customer_features": (lambda: features.customer_features(TX.drop(columns="amount"), "2025-12-31"),
                          "transactions", "amount"),
    "customer_features payments": (
        lambda: features.customer_features(TX, "2025-12-31", payments=pd.DataFrame({"client": ["a"]})),
        "payments", "customer_id"),
    "lifetimes_summary": (lambda: features.lifetimes_summary(TX.drop(columns="date"), "2025-12-31"),
                          "transactions", "date"),
    "customer_pnl": (lambda: profitability.customer_pnl(TX.drop(columns="customer_id"), profitability.CostModel()),
                     "transactions", "customer_id"),
    "customer_pnl tickets": (
        lambda: profitability.customer_pnl(TX, profitability.CostModel(), tickets=pd.DataFrame({"minutes": [1.0]})),
        "tickets", "customer_id"),
    "purchase_frame": (lambda: scoring.purchase_frame(TX.drop(columns="amount"), "2025-06-30"),
                       "transactions", "amount"),
    "lead_profiles": (lambda: scoring.lead_profiles(LEADS.drop(columns="date"), "2025-12-31"), "leads", "date"),
    "at_risk": (lambda: scoring.at_risk(FEATURES.drop(columns="n_purchase_days")),
                "customer features", "n_purchase_days"),
    "rfm_scores": (lambda: rfm.rfm_scores(FEATURES.drop(columns="frequency")), "customer features", "frequency"),
    "previous_segments": (lambda: rfm.previous_segments(TX.drop(columns="date"), "2025-12-31"),
                          "transactions", "date"),
    "fit_segments": (lambda: segmentation.fit_segments(pd.concat([FEATURES] * 2), numeric=["monetary", "margin"]),
                     "customer features", "margin"),
    "scorecard.score": (
        lambda: scorecard.score(scorecard.scorecard_from_config({"fit": {"criteria": [
            {"column": "monetary", "at_least": 1, "points": 5}], "cap": 100}, "engagement": {"cap": 0}}),
            FEATURES, id_col="lead_id", reference_date="2025-12-31"),
        "attributes", "lead_id"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_missing_column_names_table_column_and_what_is_there(name):
    call, table, column = CASES[name]
    with pytest.raises(ColumnError) as error:
        call()
    message = str(error.value)
    assert message.startswith(f"the {table} table has no {column} column"), message
    assert "; it has " in message
    assert isinstance(error.value, KeyError) and isinstance(error.value, ValueError)  # callers that caught either


def test_a_table_that_is_not_a_frame_is_named():
    with pytest.raises(ColumnError, match="the transactions table must be a pandas DataFrame or an Ibis table, got dict"):
        profitability.customer_pnl({"transactions": TX}, profitability.CostModel())
    with pytest.raises(ColumnError, match="the transactions table must be a pandas DataFrame or an Ibis table, got dict"):
        features.customer_features({"transactions": TX}, "2025-12-31")
