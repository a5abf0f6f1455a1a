"""The feedback scale of the config, and answers outside it set aside with their reason."""

from __future__ import annotations

import pandas as pd
import pytest

from portfolio_helpers.cleaning import privacy
from portfolio_helpers.cleaning.feedback import CSAT, NPS, FeedbackScale, feedback_scale, screen_feedback
from portfolio_helpers.core.errors import ConfigError, RowProblemsError
from portfolio_helpers.ingest.loaders import load_portfolio


def test_scales():
    assert feedback_scale({"scale": "nps"}) == NPS and feedback_scale({"scale": "CSAT"}) == CSAT
    assert feedback_scale({"scale": {"min": 1, "max": 7}}) == FeedbackScale("custom", 1, 7)
    assert feedback_scale(None) is None


@pytest.mark.parametrize("section,message", [
    ({"scale": "stars"}, "cfg.yml: feedback.scale: expected nps (0–10), csat (1–5) or {min: 1, max: 7}"),
    ({"scal": "nps"}, "cfg.yml: feedback: unknown key 'scal' (did you mean 'scale'?)"),
    ({"scale": {"min": 1, "max": "7"}}, "cfg.yml: feedback.scale.max: expected a whole number, got '7'"),
    ({"scale": {"min": 1, "max": 2}}, "cfg.yml: feedback.scale.max: expected at least min + 3 (4: satisfied and "
                                      "dissatisfied are the top two and the bottom two points), got 2"),
    ({"scale": {"min": 1, "max": 3}}, "cfg.yml: feedback.scale.max: expected at least min + 3 (4: satisfied and "
                                      "dissatisfied are the top two and the bottom two points), got 3"),
    ({"scale": {"min": 1, "maxi": 5}}, "cfg.yml: feedback.scale: unknown key 'maxi' (did you mean 'max'?)"),
    ("nps", "cfg.yml: feedback: expected a mapping such as {scale: nps}"),
])
def test_scale_errors_name_the_place(section, message):
    with pytest.raises(ConfigError) as error:
        feedback_scale(section, "cfg.yml")
    assert str(error.value).startswith(message)


def write(folder, scale="feedback: {scale: nps}\n", extra=""):
    (folder / "tx.csv").write_text("customer_id,date,amount\nC1,2025-01-05,10\nC2,2025-02-05,20\n", encoding="utf-8")
    (folder / "fb.csv").write_text("customer_id,date,score,comment\nC1,2025-01-10,9,Great\nC2,2025-02-10,11,Too high\n"
                                   "C1,2025-03-01,7.5,Half\nC2,2026-02-01,3,Later\nC2,2025-03-01,0,Bad\n",
                                   encoding="utf-8")
    config = folder / "portfolio.yml"
    config.write_text("as_of: 2025-12-31\ntables:\n  transactions: tx.csv\n  feedback: fb.csv\n" + scale + extra,
                      encoding="utf-8")
    return config


def test_answers_outside_the_scale_are_rejected_with_their_reason(tmp_path):
    portfolio = screen_feedback(load_portfolio(write(tmp_path)))
    assert portfolio.tables["feedback"]["score"].tolist() == [9.0, 0.0]
    rejected = portfolio.rejected[portfolio.rejected["table"] == "feedback"]
    assert rejected[["line", "column", "value", "reason"]].values.tolist() == [
        [3, "score", "11", "score outside the NPS scale (0–10)"],
        [4, "score", "7.5", "score not a whole number of the NPS scale (0–10)"],
        [5, "date", "2026-02-01", "dated after as_of (2025-12-31)"]]
    assert (rejected["action"] == "row rejected").all() and portfolio.n_rejected_rows == 3


def test_csat_scale_and_strict(tmp_path):
    portfolio = screen_feedback(load_portfolio(write(tmp_path, "feedback: {scale: csat}\n")))
    assert portfolio.tables["feedback"]["score"].tolist() == []  # 9, 11, 7.5 and 0 are outside 1-5
    with pytest.raises(RowProblemsError, match="line 2: score outside the CSAT scale"):
        screen_feedback(load_portfolio(write(tmp_path, "feedback: {scale: csat}\n")), strict=True)


def test_feedback_table_needs_a_scale(tmp_path):
    with pytest.raises(ConfigError, match="feedback: the feedback table needs its scale"):
        screen_feedback(load_portfolio(write(tmp_path, scale="")))


def test_pseudonymizing_leaves_comments_out_keeps_topics_and_scores():
    p = privacy.Pseudonymizer(b"0123456789abcdef0123456789abcdef")
    tables = {"feedback": pd.DataFrame({"customer_id": ["C1"], "score": [3.0], "comment": ["Call Ann Lee"],
                                        "topic": ["delivery"]})}
    out = privacy.pseudonymize_tables(tables, p)["feedback"]
    assert list(out.columns) == ["customer_id", "score", "topic"]
    log = pd.DataFrame({"table": ["feedback", "feedback"], "row_key": ["line 2"] * 2, "column": ["comment", "topic"],
                        "old_value": [" Call Ann Lee", " delivery"], "new_value": ["Call Ann Lee", "delivery"]})
    cleaned = privacy.pseudonymize_long(log, p)
    assert cleaned["old_value"].isna().tolist() == [True, False] and cleaned["new_value"].tolist()[1] == "delivery"
