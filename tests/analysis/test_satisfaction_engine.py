"""The customer's voice against engine transactions (a Parquet file the engine scans) gives the same figures
as against a pandas frame: response rate, behaviour after an answer and the valuable detractors. The
feedback stays a small frame; on the real files without one, answers are drawn from their customers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_frames import AS_OF, DATA, same  # noqa: E402

from portfolio_helpers.analysis import satisfaction
from portfolio_helpers.cleaning.feedback import NPS
from portfolio_helpers.ingest.loaders import load_portfolio


@pytest.fixture(scope="module", params=["sample", "cdnow", "online_retail"])
def portfolio(request):
    tables = load_portfolio(DATA / request.param / "portfolio.yml", today=pd.Timestamp("2026-12-01")).tables
    feedback = tables.get("feedback")
    if feedback is None:  # 400 answers of customers of the file, spread over its history, some from strangers
        tx = tables["transactions"]
        rng = np.random.default_rng(7)
        ids = rng.choice(tx["customer_id"].dropna().unique(), 400, replace=False).astype(object)
        ids[:5] = [f"nobody-{i}" for i in range(5)]
        dates = rng.choice(pd.date_range(tx["date"].min(), AS_OF[request.param]), 400)
        feedback = pd.DataFrame({"customer_id": pd.array(ids, dtype="string"), "date": pd.to_datetime(dates),
                                 "score": rng.integers(0, 11, 400).astype(float)})
    return request.param, tables["transactions"], feedback


def test_response_rate(portfolio, lines_as):
    name, tx, feedback = portfolio
    expected = satisfaction.response_rate(feedback, tx, AS_OF[name])
    assert expected["n_respondents"] > 10 and expected["n_respondents_not_active"] > 0
    assert satisfaction.response_rate(feedback, lines_as(tx), AS_OF[name]) == expected


def test_behaviour_after_and_detractors(portfolio, lines_as):
    name, tx, feedback = portfolio
    scanned = lines_as(tx)
    for window in (90, 180):
        expected = satisfaction.behaviour_after(feedback, tx, AS_OF[name], NPS, window)
        assert expected["orders_before"].sum() > 0 and expected["churned"].any()
        same(expected, satisfaction.behaviour_after(feedback, scanned, AS_OF[name], NPS, window))
    expected = satisfaction.valuable_detractors(feedback, tx, NPS, top_share=0.3)
    assert len(expected)
    same(expected, satisfaction.valuable_detractors(feedback, scanned, NPS, top_share=0.3))


def test_no_respondent_bought(lines_as):
    feedback = pd.DataFrame({"customer_id": ["z"], "date": pd.to_datetime(["2024-01-01"]), "score": [3.0]})
    tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2024-02-01"]), "amount": [10.0]})
    after = satisfaction.behaviour_after(feedback, lines_as(tx), "2025-12-31", NPS, 180)
    assert after[["orders_before", "orders_after", "revenue_after", "churned"]].values.tolist() == [[0, 0, 0.0, True]]


def test_voice_report(lines_as, tmp_path):
    from portfolio_helpers.analysis.voice import voice_results
    from portfolio_helpers.core.config import load_config
    from portfolio_helpers.reporting import voice

    config = load_config(DATA / "sample" / "portfolio.yml")
    tables = load_portfolio(DATA / "sample" / "portfolio.yml", today=pd.Timestamp("2026-12-01")).tables
    expected = voice_results(tables, config, AS_OF["sample"], tmp_path)
    got = voice_results({**tables, "transactions": lines_as(tables["transactions"])}, config, AS_OF["sample"],
                              tmp_path)
    assert expected.response == got.response and expected.gap == got.gap
    for part in ("after", "behaviour", "detractors"):
        same(getattr(expected, part), getattr(got, part))
    assert voice.findings(expected, "EUR") == voice.findings(got, "EUR")


def test_equal_revenues_rank_by_customer_id(lines_as):
    # b's 0.1 + 0.2 is 0.30000000000000004 in floating point: the same revenue as a's 0.3, to the cent
    tx = pd.DataFrame({"customer_id": ["b", "a", "b"], "date": pd.to_datetime(["2025-01-01"] * 3),
                       "amount": [0.1, 0.3, 0.2]})
    feedback = pd.DataFrame({"customer_id": ["b", "a"], "date": pd.to_datetime(["2025-02-01"] * 2),
                             "score": [1.0, 2.0]})
    listed = satisfaction.valuable_detractors(feedback, lines_as(tx), NPS, top_share=1.0)
    assert listed["customer_id"].tolist() == ["a", "b"]
