"""Notebook 08 (the customer's voice) on a generated sample, pseudonymized, and without a feedback table."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from portfolio_helpers.analysis.voice import voice_results
from portfolio_helpers.app.sample_data import write_demo_data
from portfolio_helpers.reporting import voice

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shapes import NAMED_SHAPES, folder_texts, run_notebook_in_process, write_portfolio  # noqa: E402

matplotlib.use("Agg")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CLEANING, VOICE = NOTEBOOKS / "01_data_cleaning.ipynb", NOTEBOOKS / "08_voice.ipynb"


def run(config: Path, out: Path, *notebooks: Path) -> dict:
    import matplotlib.pyplot as plt

    namespace: dict = {}
    for notebook in notebooks:
        with contextlib.redirect_stdout(io.StringIO()):
            namespace = run_notebook_in_process(notebook, {"config_path": str(config), "output_dir": str(out),
                                                           "interactive": False})
        plt.close("all")
    return namespace


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return write_demo_data(tmp_path_factory.mktemp("voice_sample"), n_customers=120, seed=5, dirty=True)


def test_notebook_08_on_a_generated_sample(sample, tmp_path):
    out = tmp_path / "out"
    namespace = run(sample / "portfolio.yml", out, CLEANING, VOICE)
    metrics = json.loads((out / "metrics" / "08_voice.json").read_text(encoding="utf-8"))
    assert set(metrics) == {"nps", "response_rate", "n_valuable_detractors", "n_excluded_no_consent"}
    result = namespace["voice"]
    # The NPS of the latest answers, recomputed from the file without the kit.
    feedback = pd.read_csv(sample / "feedback.csv", dtype={"customer_id": str})
    feedback = feedback[feedback["score"].between(0, 10)].sort_values("date", kind="stable")
    kept = set(result.tables["feedback"]["source_line"])  # merged duplicates answer under their survivor's id
    latest = result.latest
    promoters, detractors = (latest["score"] >= 9).mean(), (latest["score"] <= 6).mean()
    assert metrics["nps"] == pytest.approx(round(100 * (promoters - detractors), 4))
    assert len(kept) == len(feedback)  # every answer inside the scale is kept, the others rejected
    rejected = pd.read_csv(out / "exports" / "rejected_rows.csv")
    rejected = rejected[rejected["table"] == "feedback"]
    assert len(rejected) == 6 and rejected["reason"].str.startswith("score outside the NPS scale (0–10)").all()
    assert 0 < metrics["response_rate"] <= 1
    listed = pd.read_csv(out / "exports" / "valuable_detractors.csv", dtype={"customer_id": str})
    assert metrics["n_valuable_detractors"] >= len(listed) and "contact_channel" in listed.columns
    assert result.latest["comment"].notna().any()  # comments are kept when not pseudonymized
    customers = pd.read_csv(out / "exports" / "customers.csv", dtype={"customer_id": str})
    assert customers["last_score"].notna().sum() == len(latest)
    findings = " ".join(voice.findings(result, "EUR"))
    assert "NPS" in findings and "Response rate" in findings and "after answering" in findings


def test_pseudonymized_run_contains_no_comment_text(sample, tmp_path, monkeypatch):
    monkeypatch.setenv("PORTFOLIO_PSEUDONYM_KEY", "ab" * 32)
    folder = tmp_path / "private"
    folder.mkdir()
    for path in sample.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    config = folder / "portfolio.yml"
    config.write_text(config.read_text(encoding="utf-8") + "pseudonymize: true\n", encoding="utf-8")
    out = tmp_path / "out"
    namespace = run(config, out, CLEANING, VOICE)
    comments = set(pd.read_csv(folder / "feedback.csv")["comment"].dropna())
    assert len(comments) >= 5
    found = [(path.name, comment) for path, text in folder_texts(out).items() for comment in comments
             if comment in text]
    assert found == []
    shown = " ".join(voice.findings(namespace["voice"], "EUR")) + namespace["voice"].detractors.to_csv()
    assert not any(comment in shown for comment in comments)
    assert "topic" in namespace["voice"].detractors.columns  # topics and scores stay


def test_notebook_08_without_feedback_says_what_it_would_add(tmp_path):
    config = write_portfolio(NAMED_SHAPES["customers_id_and_name"], tmp_path / "data")
    out = tmp_path / "out"
    namespace = run(config, out, CLEANING, VOICE)
    assert not namespace["voice"].has_feedback
    assert json.loads((out / "metrics" / "08_voice.json").read_text()) == {"n_excluded_no_consent": 0}
    text = " ".join(voice.findings(namespace["voice"], "EUR"))
    assert "No survey answers" in text and "valuable customers whose last answer was a low score" in text
    assert not any("feedback" in note for note in voice.voice_notes(namespace["voice"]))  # said once, in the findings
    assert "Consent is not known" in voice.contact_text(namespace["voice"], out)


def config_with(sections: dict):
    from portfolio_helpers.core.config import PortfolioConfig

    return PortfolioConfig(path=Path("portfolio.yml"), name="t", currency="EUR", as_of=None, seed=1,
                           pseudonymize=False, tables={}, sections=sections)


TX = pd.DataFrame({"customer_id": ["a", "b", "c"], "amount": [10.0, 20.0, 30.0],
                   "date": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-12-01"])})
SMALL_SHAPES = {
    "one answer": pd.DataFrame({"customer_id": ["a"], "date": ["2025-02-01"], "score": [3.0]}),
    "answers from unknown customers only": pd.DataFrame({"customer_id": ["x", "y"], "date": ["2025-02-01"] * 2,
                                                         "score": [9.0, 10.0]}),
    "every answer too recent to follow": pd.DataFrame({"customer_id": ["a", "b", "c"], "score": [0.0, 5.0, 10.0],
                                                       "date": ["2025-12-20"] * 3}),
    "one day, csat": pd.DataFrame({"customer_id": ["a", "b", "c"], "date": ["2025-03-01"] * 3, "score": [5.0, 1, 3]}),
}


@pytest.mark.parametrize("name", sorted(SMALL_SHAPES))
def test_small_feedback_shapes_complete(name, tmp_path):
    import matplotlib.pyplot as plt

    feedback = SMALL_SHAPES[name].assign(date=lambda f: pd.to_datetime(f["date"]))
    scale = {"scale": "csat"} if "csat" in name else {"scale": "nps"}
    result = voice_results({"transactions": TX, "feedback": feedback}, config_with({"feedback": scale}),
                                 pd.Timestamp("2025-12-31"), tmp_path)
    assert result.has_feedback
    text = " ".join(voice.findings(result, "EUR")) + voice.contact_text(result, tmp_path)
    assert "Consent is not known" in text
    metrics = voice.voice_metrics(result, tmp_path)
    assert ("nps" in metrics) != ("csat_mean" in metrics) and metrics["n_excluded_no_consent"] == 0
    voice.trend_figure(result), voice.behaviour_figure(result)
    voice.export_lists(result, tmp_path)
    plt.close("all")
    if name == "every answer too recent to follow":
        assert "Too few answers" in text


def test_small_groups_show_no_interval_and_groups_read_as_words(tmp_path):
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "industry": ["Food", "Food", "Retail"]})
    feedback = pd.DataFrame({"customer_id": ["a", "b", "c"], "date": pd.to_datetime(["2025-03-01"] * 3),
                             "score": [5.0, 5.0, 1.0]})
    result = voice_results({"transactions": TX, "customers": customers, "feedback": feedback},
                                 config_with({"feedback": {"scale": "csat"}}), pd.Timestamp("2025-12-31"), tmp_path)
    table = voice.group_tables(result)["Satisfaction per industry"]
    # two satisfied answers would give a "100% to 100%" interval: fewer than 10 answers show none
    assert table["satisfied customers"].tolist() == [1.0, 0.0] and table["satisfied from (95%)"].isna().all()
    assert {"satisfied customers", "neutral customers", "dissatisfied customers"} <= set(voice.period_table(result))
    assert voice.exclusion_sentence(tmp_path, "valuable_detractors") == ""  # the analysis writes nothing
    voice.log_contacts({"valuable_detractors": result.detractor_contacts}, tmp_path)
    assert voice.exclusion_sentence(tmp_path, "valuable_detractors").startswith("Valuable detractors: consent is not")


def test_lowest_group_by_hand(tmp_path):
    ids = [f"c{i:02d}" for i in range(22)]
    customers = pd.DataFrame({"customer_id": ids, "industry": ["Food"] * 11 + ["Retail"] * 11,
                              "owner": ["Ann"] * 22})
    feedback = pd.DataFrame({"customer_id": ids, "date": pd.to_datetime(["2025-03-01"] * 22),
                             "score": [10.0] * 11 + [0.0] * 11})
    result = voice_results({"transactions": TX, "customers": customers, "feedback": feedback},
                                 config_with({"feedback": {"scale": "nps"}}), pd.Timestamp("2025-12-31"), tmp_path)
    # 11 promoters and 11 detractors: NPS 0 overall, +100 in Food, -100 in Retail (one owner: not ranked)
    assert "Satisfaction is lowest in the industry **Retail** (NPS -100, 11 customers answering), against +0 " \
           "overall." in voice.findings(result, "EUR")


def test_valuable_detractors_go_through_the_contact_rules_by_hand(tmp_path):
    ids = list("abcdefghijk")
    tx = pd.DataFrame({"customer_id": ids, "amount": [100.0 * (i + 1) for i in range(11)],
                       "date": pd.to_datetime(["2025-01-01"] * 11)})
    feedback = pd.DataFrame({"customer_id": ["k", "j", "a"], "score": [2.0, 5.0, 0.0],
                             "date": pd.to_datetime(["2025-02-01"] * 3), "comment": ["Late again", "Too dear", "Bad"],
                             "topic": ["delivery", "price", "support"]})
    customers = pd.DataFrame({"customer_id": ids, "owner": ["Ann"] * 10 + ["Bob"],
                              "preferred_channel": ["email"] * 11, "consent_email": ["oui"] * 11,
                              "do_not_contact": ["non"] * 10 + ["oui"]})
    result = voice_results({"transactions": tx, "feedback": feedback, "customers": customers},
                           config_with({"feedback": {"scale": "nps"}}), pd.Timestamp("2025-12-31"), tmp_path)
    # top 10% of 11 customers by revenue: k (1,100) and j (1,000), both detractors last; k asked not to be contacted
    assert result.n_detractors_listed == 2
    assert result.detractors[["customer_id", "owner", "revenue", "score", "topic", "comment", "contact_channel"]] \
        .values.tolist() == [["j", "Ann", 1000.0, 5, "price", "Too dear", "email"]]
    assert not (tmp_path / voice.CONTACT_LOG).exists()  # the analysis writes nothing
    voice.log_contacts({"valuable_detractors": result.detractor_contacts}, tmp_path)
    assert voice.exclusion_sentence(tmp_path, "valuable_detractors") == (
        "Valuable detractors: 1 of 2 may be contacted; 1 left out: 1 asked not to be contacted (do_not_contact).")
    assert voice.voice_metrics(result, tmp_path)["n_valuable_detractors"] == 2
    voice.export_lists(result, tmp_path)
    exported = pd.read_csv(tmp_path / "exports" / "valuable_detractors.csv")
    assert exported["customer_id"].tolist() == ["j"] and exported["contact_channel"].tolist() == ["email"]


def test_feedback_whose_answers_were_all_set_aside_says_so(tmp_path):
    empty = pd.DataFrame({"customer_id": pd.Series(dtype="string"), "date": pd.Series(dtype="datetime64[ns]"),
                          "score": pd.Series(dtype=float)})
    result = voice_results({"transactions": TX, "feedback": empty}, config_with({"feedback": {"scale": "csat"}}),
                           pd.Timestamp("2025-12-31"), tmp_path)
    assert not result.has_feedback
    assert voice.findings(result, "EUR")[0].startswith("No usable survey answer: the `feedback` table has none left")
    assert "rejected_rows.csv" in voice.findings(result, "EUR")[0]
    assert voice.voice_metrics(result, tmp_path) == {"n_excluded_no_consent": 0}


@pytest.mark.parametrize("may_scores,sentence", [
    ([10.0] * 10, "NPS moved from +0 in Feb 2025 to +100 in May 2025 (+100 points)."),
    ([10.0] * 6 + [0.0] * 4,
     "NPS moved from +0 in Feb 2025 to +20 in May 2025 (+20 points, within the uncertainty of the two periods)."),
])
def test_movement_between_the_last_two_periods_by_hand(may_scores, sentence, tmp_path):
    # February: 5 promoters, 5 detractors (NPS 0, interval ±62); May: the same 10 customers again
    ids = [f"c{i}" for i in range(10)]
    feedback = pd.DataFrame({"customer_id": ids * 2, "score": [10.0] * 5 + [0.0] * 5 + may_scores,
                             "date": pd.to_datetime(["2025-02-01"] * 10 + ["2025-05-01"] * 10)})
    result = voice_results({"transactions": TX, "feedback": feedback}, config_with({"feedback": {"scale": "nps"}}),
                           pd.Timestamp("2025-12-31"), tmp_path)
    assert result.freq == "month" and sentence in voice.findings(result, "EUR")


def test_customer_export_statuses_agree_with_the_at_risk_call_list(sample, tmp_path):
    """Notebook 05 on the sample: each customer of the at-risk call list has, in exports/customers.csv, the status
    and channel the call list gave: the excluded ones counted per reason as in contact_exclusions.csv, the others
    as in at_risk_customers.csv."""
    out = tmp_path / "out"
    namespace = run(sample / "portfolio.yml", out, CLEANING, NOTEBOOKS / "05_scoring.ipynb")
    report = namespace["report"]
    listed = report.at_risk_table(namespace["customer_features"], namespace["customers"])["customer_id"].astype(str)
    export = pd.read_csv(out / "exports" / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert export["contact_status"].notna().all()  # every customer has a status
    statuses = export.loc[listed.tolist()]
    log = voice.read_contact_log(out)
    log = log[(log["list"] == "at_risk_customers") & (log["reason"] != "")]
    assert len(listed) and len(log)  # the sample plants customers at risk who may not be contacted
    assert statuses.loc[statuses["contact_status"] != "ok", "contact_status"].value_counts().to_dict() == dict(
        zip(log["reason"], log["n"], strict=True))
    calls = pd.read_csv(out / "exports" / "at_risk_customers.csv", dtype={"customer_id": str})
    kept = statuses[statuses["contact_status"] == "ok"]
    assert sorted(kept.index) == sorted(calls["customer_id"])
    assert kept["contact_channel"].to_dict() == calls.set_index("customer_id")["contact_channel"].to_dict()
