"""NPS, CSAT, response rate, behaviour after the answer and valuable detractors, against hand-computed values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio_helpers.analysis import satisfaction
from portfolio_helpers.cleaning.feedback import CSAT, NPS, FeedbackScale, screen_feedback
from portfolio_helpers.core.errors import ColumnError
from portfolio_helpers.ingest.loaders import load_portfolio

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
ISSUE_SCORES = [9, 10, 9, 10, 9, 7, 8, 7, 3, 6]


def test_nps_by_hand():
    summary = satisfaction.score_summary(ISSUE_SCORES, NPS)
    # 5 promoters, 3 passives, 2 detractors out of 10: 50% - 20% = 30 points
    assert summary["nps"] == pytest.approx(30.0)
    assert (summary["share_promoter"], summary["share_passive"], summary["share_detractor"]) == (0.5, 0.3, 0.2)
    # multinomial variance of p_P - p_D: (0.5 + 0.2 - 0.3**2) / 10 = 0.061; half width 1.96 * 100 * sqrt(0.061)
    half = 1.959963984540054 * 100 * math.sqrt(0.061)
    assert half == pytest.approx(48.408, abs=1e-3)
    assert (summary["nps_low"], summary["nps_high"]) == pytest.approx((30 - half, 30 + half))


def test_nps_interval_is_clipped_and_empty_is_nan():
    assert satisfaction.nps_interval(10, 0, 10) == (100.0, 100.0, 100.0)  # no variance when everyone promotes
    assert satisfaction.nps_interval(1, 0, 1)[1:] == (100.0, 100.0)
    assert all(math.isnan(x) for x in satisfaction.nps_interval(0, 0, 0))


def test_csat_by_hand():
    summary = satisfaction.score_summary([5, 4, 4, 3, 1, 2], CSAT)
    assert summary["csat_mean"] == pytest.approx(19 / 6)
    assert summary["share_satisfied"] == pytest.approx(0.5)
    assert summary["share_dissatisfied"] == pytest.approx(2 / 6)  # 1 and 2
    sd = pd.Series([5, 4, 4, 3, 1, 2]).std()
    assert summary["csat_low"] == pytest.approx(19 / 6 - 1.959963984540054 * sd / math.sqrt(6))
    # Wilson interval of 3/6 (published formula): centre 0.5, half width 0.3339...
    assert (summary["satisfied_low"], summary["satisfied_high"]) == pytest.approx((0.1876, 0.8124), abs=1e-4)


def test_custom_scale_groups():
    scale = FeedbackScale("custom", 1, 7)
    assert satisfaction.answer_groups([7, 6, 5, 3, 2, 1], scale).tolist() == [
        "satisfied", "satisfied", "neutral", "neutral", "dissatisfied", "dissatisfied"]


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_is_promoters_minus_detractors_and_inside_its_interval(scores):
    summary = satisfaction.score_summary(scores, NPS)
    n = len(scores)
    expected = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / n
    assert summary["nps"] == pytest.approx(expected)
    assert -100 <= summary["nps_low"] <= summary["nps"] + 1e-9 <= summary["nps_high"] + 2e-9 <= 100 + 2e-9


def answers(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "score"]).assign(date=lambda f: pd.to_datetime(f["date"]))


def test_latest_answer_per_period_and_group():
    fb = answers([("a", "2025-01-05", 10), ("a", "2025-02-10", 2), ("b", "2025-03-01", 9), ("c", "2025-04-02", 6)])
    per_quarter = satisfaction.satisfaction_by_period(fb, NPS)
    assert per_quarter["n_answers"].tolist() == [2, 1]  # a counts once in Q1, with its February answer
    assert per_quarter["nps"].tolist() == pytest.approx([0.0, -100.0])
    attrs = pd.DataFrame({"customer_id": ["a", "b", "c"], "industry": ["Food", "Food", None]})
    by = satisfaction.satisfaction_by(fb, attrs, "industry", NPS)
    assert by["industry"].tolist() == ["Food", "(unknown)"] and by["n_answers"].tolist() == [2, 1]
    with pytest.raises(ColumnError):
        satisfaction.satisfaction_by(fb, attrs, "owner", NPS)


def test_response_rate_by_hand():
    fb = answers([("a", "2025-03-01", 9), ("b", "2025-06-01", 3), ("z", "2025-06-01", 10)])
    tx = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"], "amount": [1.0] * 5,
                       "date": pd.to_datetime(["2025-03-02", "2025-04-01", "2025-05-01", "2025-01-01", "2025-12-01"]),
                       "status": ["completed", "completed", "completed", "completed", "cancelled"]})
    rate = satisfaction.response_rate(fb, tx, "2025-12-31")
    # window from 1 March: a, b, c bought (d before the window, e's only line is cancelled)
    assert (rate["n_active"], rate["n_respondents"], rate["n_respondents_not_active"]) == (3, 2, 1)
    assert rate["response_rate"] == pytest.approx(2 / 3)


def test_behaviour_after_the_answer_by_hand():
    fb = answers([("a", "2024-06-01", 10), ("b", "2024-06-01", 2), ("c", "2025-10-01", 1)])
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "b", "c"],
        "date": pd.to_datetime(["2024-01-10", "2024-07-01", "2024-08-01", "2024-02-01", "2024-09-01", "2025-03-01",
                                "2025-01-01"]),
        "amount": [100.0, 60.0, 90.0, 200.0, -50.0, 10.0, 5.0], "order_id": ["1", "2", "3", "4", "5", "6", "7"]})
    after = satisfaction.behaviour_after(fb, tx, "2025-12-31", NPS, window_days=180)
    # c answered less than 180 days before as_of: its window is not complete, so it is left out
    assert after["customer_id"].tolist() == ["a", "b"]
    a, b = after.iloc[0], after.iloc[1]
    assert (a["orders_before"], a["orders_after"], a["revenue_before"], a["revenue_after"]) == (1, 2, 100.0, 150.0)
    # b: only a credit note within 180 days after the answer (the 1 March 2025 order is 273 days later)
    assert (b["orders_after"], b["revenue_after"], bool(b["churned"])) == (1, -50.0, True)
    assert not a["churned"]
    summary = satisfaction.behaviour_summary(after, NPS, 180)
    assert summary.set_index("group").loc["promoter", "revenue_trend"] == pytest.approx(0.5)
    assert summary.set_index("group").loc["detractor", "churn_rate"] == 1.0
    assert summary.set_index("group").loc["passive", "customers"] == 0


def test_valuable_detractors_by_hand():
    tx = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(20)], "amount": [float(i) for i in range(20)],
                       "date": pd.to_datetime(["2025-01-01"] * 20)})
    fb = answers([("c19", "2025-02-01", 3), ("c19", "2025-01-01", 10), ("c18", "2025-02-01", 10),
                  ("c18", "2025-01-01", 2), ("c00", "2025-02-01", 0)])
    fb["topic"] = ["price", "support", "delivery", "price", "product"]
    listed = satisfaction.valuable_detractors(fb, tx, NPS, extra_columns=("topic", "comment"))
    # top decile of 20 customers = c19, c18; c18's latest answer is a promoter, c00 is not valuable
    assert listed[["customer_id", "revenue", "score", "topic"]].values.tolist() == [["c19", 19.0, 3, "price"]]


def test_planted_link_between_low_scores_and_churn_is_found_on_the_sample():
    portfolio = screen_feedback(load_portfolio(SAMPLE / "portfolio.yml"))
    feedback, transactions = portfolio.tables["feedback"], portfolio.tables["transactions"]
    after = satisfaction.behaviour_after(feedback, transactions, portfolio.as_of, NPS, window_days=365)
    summary = satisfaction.behaviour_summary(after, NPS, 365)
    gap = satisfaction.churn_gap(summary)
    assert gap.low_group == "detractor" and gap.clear and gap.difference > 0.3
    # the customers the generator made silent after an answer are mostly detractors, the others mostly not
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))["feedback"]
    silent = after["customer_id"].isin(truth["customers_silent_after_an_answer"])
    assert (after.loc[after["churned"], "customer_id"].isin(truth["customers_silent_after_an_answer"])).mean() > 0.9
    assert (after.loc[silent, "group"] == "detractor").mean() > 2 * (after.loc[~silent, "group"] == "detractor").mean()


def test_churn_gap_interval_matches_newcombe():
    # Newcombe (1998), Statistics in Medicine 17:873, method 10 on 56/70 - 48/80: 0.2000 (0.0524 to 0.3339)
    gap = satisfaction.churn_gap(pd.DataFrame({"group": ["promoter", "detractor"], "customers": [80, 70],
                                               "churned": [48, 56]}))
    assert (round(gap.difference, 4), round(gap.low, 4), round(gap.high, 4)) == (0.2, 0.0524, 0.3339)
    # Tiny groups at 0% and 100%: the normal approximation would call this certain; it is not.
    tiny = satisfaction.churn_gap(pd.DataFrame({"group": ["promoter", "detractor"], "customers": [1, 1],
                                                "churned": [0, 1]}))
    assert tiny.difference == 1.0 and not tiny.clear and tiny.low < 0


@pytest.mark.parametrize("n", range(1, 60))
def test_wilson_bounds_hold_the_share_exactly_at_zero_and_n(n):
    # a share of 0 (or 1) is inside its interval without float noise: error bars are never negative
    for successes in (0, n):
        low, high = satisfaction._wilson(successes, n)
        assert low <= successes / n <= high and 0.0 <= low <= high <= 1.0


@pytest.mark.parametrize("scale", [NPS, CSAT, FeedbackScale("custom", 1, 7)], ids=lambda s: s.kind)
def test_measure_tables_have_each_column_once(scale):
    fb = pd.DataFrame({"customer_id": ["a", "b"], "score": [scale.high, scale.low],
                       "date": pd.to_datetime(["2025-01-05", "2025-04-01"])})
    attrs = pd.DataFrame({"customer_id": ["a", "b"], "industry": ["Food", "Retail"]})
    for table in (satisfaction.satisfaction_by_period(fb, scale), satisfaction.satisfaction_by(fb, attrs, "industry",
                                                                                                scale)):
        assert table.columns.is_unique, list(table.columns)
