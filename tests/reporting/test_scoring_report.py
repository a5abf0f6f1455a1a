"""reporting.scoring words what analysis.scoring decided and computed (no model is fitted here)."""

import pandas as pd

from portfolio_helpers.analysis import scoring
from portfolio_helpers.reporting import scoring as report


def _features() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.array(list("abcdef"), dtype="string"),
                         "monetary": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                         "profit": [100.0, 90.0, 80.0, 10.0, 5.0, -20.0],
                         "industry": ["Food", "Food", "Retail", "Retail", "Energy", "Energy"]})


def test_reference_sentence_and_notes_of_a_lookalike_without_prospects():
    result = scoring.lookalike(_features(), None, None)
    assert result.leads is None and result.crm is None and result.skipped is None
    assert report.reference_sentence(result) == "Reference: the top 20% of customers by profit, 2 customers."
    tables = {"transactions": pd.DataFrame()}  # no customers table: nothing to say about the CRM
    assert report.lookalike_notes(result, tables) == []


def test_lookalike_that_cannot_score_says_why():
    crm = pd.DataFrame({"customer_id": ["p1"], "stage": ["prospect"], "city": ["Lyon"]})  # no trait in common
    result = scoring.lookalike(_features(), None, None, customers=crm)
    assert result.crm is None and "no trait in common" in result.skipped
    notes = report.lookalike_notes(result, {"customers": crm})
    assert notes == [f"Look-alike scoring skipped: {result.skipped}"]


def test_crm_prospects_are_scored_against_the_reference():
    crm = pd.DataFrame({"customer_id": ["p1", "p2", "c9"], "stage": ["prospect", "lead", "customer"],
                        "industry": ["Food", "Energy", "Food"]})
    result = scoring.lookalike(_features(), None, None, customers=crm)
    assert result.crm.index.tolist() == ["p1", "p2"]  # the customer is not a prospect; most alike first
    assert result.crm.loc["p1", "lookalike_score"] > result.crm.loc["p2", "lookalike_score"]
    assert report.crm_sentence(result.crm).startswith("**CRM prospects** (2 records")


def test_no_lead_table_without_leads():
    settings = scoring.scoring_settings(None)
    assert scoring.score_lead_table(None, "2025-12-31", settings) is None
    assert scoring.score_lead_table(pd.DataFrame({"lead_id": [], "date": []}), "2025-12-31", settings) is None
