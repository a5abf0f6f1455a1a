"""Workshop mode (issue 17): solutions get full marks, blanks get 0, mistakes get their hint, keys stay apart.

One small advanced workshop (2 students, 250 customers: exercises 1-6) is built once for the module; the solution notebooks'
code is executed in-process on each student's folder (the exact cells of the notebooks), and one solution
notebook is executed by papermill in a kernel, top to bottom. One more workshop (1 student, French, intro level,
same seed) checks that the data and keys do not depend on the language or level, and the French feedback.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import roc_auc_score, silhouette_score

from portfolio_helpers.analysis import engine
from portfolio_helpers.analysis.clv import models
from portfolio_helpers.analysis.clv import value as clv_value
from portfolio_helpers.analysis.threads import single_threaded
from portfolio_helpers.app import cli
from portfolio_helpers.app.sample_data import SEGMENT_NAMES
from portfolio_helpers.app.workshop import BASELINE_CARD, check, check_student, collect_grades, new_workshop
from portfolio_helpers.app.workshop.build import (
    PLANNING_MONTHS,
    SAFE_SEED,
    guessable_seed,
    solution_notebook,
    student_notebook,
    student_seeds,
    workshop_seed,
)
from portfolio_helpers.app.workshop.grading import grade_answer, grade_exercise, jaccard, load_key
from portfolio_helpers.app.workshop.registry import EXERCISES, exercises_for
from portfolio_helpers.app.workshop.texts import TEXTS, feedback_text, localized_code
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.files import restore_formula

STUDENTS = ("student_01", "student_02")


@pytest.fixture(scope="module")
def workshop(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ws") / "workshop"
    created = new_workshop(out, students=len(STUDENTS), seed=11, customers=250, level="advanced")
    assert [path.name for path in created.students] == list(STUDENTS)
    return out


def _run_solution(workshop: Path, student: str, number: int) -> tuple[dict, pd.DataFrame]:
    """Execute the solution notebook's cells of one exercise on one student; return its namespace and check()."""
    path = workshop / "teacher" / "solutions" / EXERCISES[number].file_name
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    namespace: dict = {}
    exec(cells[0], namespace)  # the parameters cell
    namespace["student_dir"] = str(workshop / student)
    for source in cells[1:-1]:
        exec(source, namespace)
    result = eval(cells[-1], namespace)  # check(..., save=False)
    return namespace, result


@pytest.fixture(scope="module")
def solutions(workshop) -> dict:
    return {(student, number): _run_solution(workshop, student, number)
            for student in STUDENTS for number in (2, 1, 3, 4, 5, 6)}  # 2 first: it saves the cleaned tables


def _grade(workshop: Path, student: str, number: int, lang: str = "en", **answers) -> dict:
    key, folder = load_key(workshop / student)
    results = grade_exercise(EXERCISES[number], key["exercises"][str(number)], answers, lang, folder)
    return {result.name: result for result in results}


def _hint(number: int, name: str, hint: str, lang: str = "en") -> str:
    return feedback_text(lang, EXERCISES[number].slug, name, hint)


def test_solutions_score_full_marks_for_every_student(solutions):
    for (student, number), (_, result) in solutions.items():
        assert result["status"].eq("correct").all(), (student, number, result.to_dict("records"))
        assert result["points"].sum() == EXERCISES[number].max_points


def test_blank_answers_score_zero_with_feedback_per_exercise(workshop):
    results = check_student(workshop / "student_02")
    assert set(results["exercise"]) == {1, 2, 3, 4, 5, 6}
    assert results["points"].sum() == 0
    assert results["status"].eq("blank").all()
    assert results["feedback"].eq(TEXTS["en"]["feedback"]["blank"]).all()
    none = {answer.name: None for answer in EXERCISES[4].answers}
    assert all(r.points == 0 and r.status == "blank" for r in _grade(workshop, "student_01", 4, **none).values())


def test_cleaning_mistakes_get_their_hint(workshop, solutions):
    namespace, _ = solutions[("student_01", 1)]
    raw = pd.read_csv(workshop / "student_01" / "customers.csv", dtype=str)
    exact = int(raw.drop(columns="customer_id").duplicated().sum())  # duplicates identical on every field
    customers = namespace["customers"]
    with_missing = int((~customers["email_valid"].astype(bool)).sum())  # missing e-mails counted as invalid
    graded = _grade(workshop, "student_01", 1, n_duplicate_customers=exact, n_invalid_emails=with_missing,
                    n_customers_after_merge=len(raw))
    assert graded["n_duplicate_customers"].feedback == _hint(1, "n_duplicate_customers", "exact_only")
    assert graded["n_invalid_emails"].feedback == _hint(1, "n_invalid_emails", "missing_counted")
    assert graded["n_customers_after_merge"].feedback == _hint(1, "n_customers_after_merge", "not_merged")
    assert all(result.points == 0 for result in graded.values())


def test_pareto_mistakes_get_their_hint(solutions, workshop):
    namespace, _ = solutions[("student_01", 2)]
    lines = namespace["transactions"].dropna(subset=["customer_id", "date"])
    summary = namespace["summary"]
    graded = _grade(workshop, "student_01", 2, revenue_total=float(lines["amount"].sum()),  # cancelled lines in
                    n_customers_80pct=summary["share_customers_for_target"], gini=summary["gini_corrected"],
                    hhi=summary["hhi"] / 10_000, major_customers=[namespace["per_customer"].sort_values(
                        "revenue")["customer_id"].iloc[-1]] if not namespace["major_customers"] else [])
    assert graded["revenue_total"].feedback == _hint(2, "revenue_total", "with_cancelled")
    assert graded["n_customers_80pct"].feedback == _hint(2, "n_customers_80pct", "share_not_count")
    assert graded["gini"].feedback == _hint(2, "gini", "gini_corrected")
    assert graded["hhi"].feedback == _hint(2, "hhi", "hhi_fraction")
    assert graded["major_customers"].points == 0
    assert sum(result.points for result in graded.values()) == 0


def test_profitability_mistakes_get_their_hint(solutions, workshop):
    namespace, _ = solutions[("student_01", 3)]
    pnl = namespace["pnl"]
    worst = pnl.sort_values("profit")["customer_id"].iloc[0]
    graded = _grade(workshop, "student_01", 3, n_unprofitable=int((pnl["gross_margin"] < 0).sum()),
                    largest_unprofitable=worst, main_cost_driver="cost_service")
    assert graded["n_unprofitable"].feedback == _hint(3, "n_unprofitable", "margin_only")
    if worst != namespace["largest_unprofitable"]:
        assert graded["largest_unprofitable"].feedback == _hint(3, "largest_unprofitable", "largest_loss")
    expected = "correct" if namespace["main_cost_driver"] == "cost_service" else "driver_column"
    assert graded["main_cost_driver"].feedback == _hint(3, "main_cost_driver", expected)


def test_more_mistakes_get_their_hint(solutions, workshop):
    """Mistakes whose wrong value may coincide with the key on some data: each checked where it differs."""
    checked = set()
    for student in STUDENTS:
        cleaning, _ = solutions[(student, 1)]
        groups = int(cleaning["duplicates"].groups["group_id"].nunique())
        tolerance = load_key(workshop / student)[0]["exercises"]["1"]["n_duplicate_customers"]["tolerance"]
        if abs(groups - cleaning["n_duplicate_customers"]) > tolerance:  # else accepted: no hint to give
            graded = _grade(workshop, student, 1, n_duplicate_customers=groups)
            assert graded["n_duplicate_customers"].feedback == _hint(1, "n_duplicate_customers", "groups_not_records")
            checked.add("groups")
        profit, _ = solutions[(student, 3)]
        biggest = profit["pnl"].sort_values("revenue", ascending=False).iloc[0]
        if biggest["profit"] >= 0:
            graded = _grade(workshop, student, 3, largest_unprofitable=biggest["customer_id"])
            assert graded["largest_unprofitable"].feedback == _hint(3, "largest_unprofitable", "profitable_customer")
            checked.add("profitable")
        if profit["main_cost_driver"] != "cost of goods":
            graded = _grade(workshop, student, 3, main_cost_driver="cost of goods")
            assert graded["main_cost_driver"].feedback == _hint(3, "main_cost_driver", "cogs_not_driver")
            checked.add("cogs")
        segments, _ = solutions[(student, 4)]
        scores = segments["result"].result.k_scores
        scores = scores[scores["k"].between(3, 8)]
        best = int(scores.loc[scores["silhouette"].idxmax(), "k"])
        if best != segments["k"]:
            graded = _grade(workshop, student, 4, k=best)
            assert graded["k"].feedback == _hint(4, "k", "silhouette_only")
            checked.add("silhouette")
        leads, _ = solutions[(student, 5)]
        known = leads["known"]
        all_auc = roc_auc_score(leads["profiles"].loc[known, "converted"].astype(int),
                                leads["scored"].loc[known, "total_score"])
        if abs(all_auc - leads["test_auc"]) > 0.005:
            graded = _grade(workshop, student, 5, lead_scorecard=leads["lead_scorecard"], test_auc=all_auc)
            assert graded["test_auc"].feedback == _hint(5, "test_auc", "auc_on_all")
            checked.add("all leads")
    assert checked >= {"profitable", "cogs", "all leads"}, checked


def _raw_k(features: pd.DataFrame, numeric: list[str], seed: int) -> int:
    """k by best silhouette of k-means on the raw, unscaled numeric features (the mistake)."""
    matrix = features[numeric].astype(float)
    matrix = matrix.fillna(matrix.median()).fillna(0).to_numpy()
    with single_threaded(len(matrix)):
        scores = {k: silhouette_score(matrix, KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(matrix))
                  for k in range(3, 9)}
    return max(scores, key=scores.get)


def test_segmentation_mistakes_get_their_hint(solutions, workshop):
    hinted = 0
    for student in STUDENTS:
        namespace, _ = solutions[(student, 4)]
        raw_k = _raw_k(namespace["customer_features"], namespace["result"].result.numeric, namespace["seed"])
        if raw_k != namespace["k"]:
            graded = _grade(workshop, student, 4, k=raw_k)
            assert graded["k"].feedback == _hint(4, "k", "raw_features"), student
            hinted += 1
    assert hinted, "the raw-feature k equals the kit's k for every student: no hint could be checked"
    namespace, _ = solutions[("student_01", 4)]
    labels = namespace["segments"].set_index("customer_id")["cluster"]
    graded = _grade(workshop, "student_01", 4, k=2, k_reason="it looks nice to me, really",
                    segment_names={str(c): "Same" for c in labels.unique()},
                    segments={c: int(v) % 2 for c, v in labels.items()})
    assert graded["k"].feedback == _hint(4, "k", "two_too_coarse")
    assert graded["k_reason"].feedback == _hint(4, "k_reason", "no_criterion") and graded["k_reason"].points == 0.5
    assert graded["segment_names"].feedback == _hint(4, "segment_names", "names_not_distinct")
    # Two groups with k = 2 is consistent, but far from the hidden segments: half the points, and the
    # ARI shown once answered (the answer's own value, not the key's).
    assert graded["segments"].status == "partial" and graded["segments"].points == 1
    assert graded["segments"].feedback.startswith("adjusted Rand index with the hidden segments: ")
    assert "the kit's segmentation does better" in graded["segments"].feedback
    graded = _grade(workshop, "student_01", 4, k=namespace["k"], segments={c: 0 for c in labels.index})
    not_k = TEXTS["en"]["exercises"]["segmentation"]["feedback"]["segments"]["labels_not_k"]
    assert graded["segments"].feedback.startswith(not_k.split("(")[0]) and graded["segments"].points == 0


def test_scoring_mistakes_get_their_hint(solutions, workshop):
    namespace, _ = solutions[("student_01", 5)]
    profiles, scored, train = namespace["profiles"], namespace["scored"], namespace["train"]
    train_auc = roc_auc_score(profiles.loc[train, "converted"].astype(int), scored.loc[train, "total_score"])
    graded = _grade(workshop, "student_01", 5, lead_scorecard=namespace["lead_scorecard"], test_auc=train_auc)
    if abs(train_auc - namespace["test_auc"]) > 0.005:
        assert graded["test_auc"].feedback == _hint(5, "test_auc", "auc_on_train")
    assert graded["lead_scorecard"].points == 2
    stale = {"fit": BASELINE_CARD["fit"], "engagement": {"cap": 50, "criteria": [
        {"column": "days_since_last_event", "at_least": 60, "points": 30}]}}  # points for going quiet
    graded = _grade(workshop, "student_01", 5, lead_scorecard=stale, test_auc=0.5)
    assert graded["lead_scorecard"].status == "wrong"
    assert graded["lead_scorecard"].feedback.startswith("AUC on the held-out leads")
    assert "not better than the baseline" in graded["lead_scorecard"].feedback
    graded = _grade(workshop, "student_01", 5, lead_scorecard=BASELINE_CARD)
    assert graded["lead_scorecard"].feedback == _hint(5, "lead_scorecard", "card_no_engagement")
    graded = _grade(workshop, "student_01", 5, lead_scorecard={"fit": {"cap": 50, "critera": []}})
    assert graded["lead_scorecard"].status == "wrong" and "critera" in graded["lead_scorecard"].feedback


def test_feedback_never_contains_the_key(workshop, solutions):
    key, _ = load_key(workshop / "student_01")
    gini = key["exercises"]["2"]["gini"]["value"]
    graded = _grade(workshop, "student_01", 2, revenue_total=1.0, n_customers_80pct=1, gini=0.1, hhi=1.0,
                    major_customers=["nobody"])
    for result in graded.values():
        assert result.points == 0
        assert f"{gini}" not in result.feedback and str(key["exercises"]["2"]["n_customers_80pct"]["value"]) \
            not in result.feedback


def test_two_students_keys_differ(workshop):
    first, _ = load_key(workshop / "student_01")
    second, _ = load_key(workshop / "student_02")
    for number in ("1", "2", "3", "6"):
        values = [[entry.get("value", entry.get("accepted")) for entry in key["exercises"][number].values()]
                  for key in (first, second)]
        assert values[0] != values[1], number
    assert first["exercises"]["4"]["segments"]["truth"] != second["exercises"]["4"]["segments"]["truth"]


def test_solution_notebook_runs_top_to_bottom(workshop, solutions):
    papermill = pytest.importorskip("papermill")
    solutions_dir = workshop / "teacher" / "solutions"
    output = workshop / "executed_ex03.ipynb"
    papermill.execute_notebook(str(solutions_dir / EXERCISES[3].file_name), str(output),
                               parameters={"student_dir": str(workshop / "student_02")}, cwd=str(solutions_dir),
                               progress_bar=False, kernel_name="python3")
    last = nbformat.read(output, as_version=4).cells[-1]
    text = "".join(o.get("text", "") for o in last.outputs)
    assert "Total: 3 / 3 points." in text


def test_check_saves_answers_and_grades_sheet(workshop, solutions, capsys):
    namespace, _ = solutions[("student_01", 3)]
    answers = {name: namespace[name] for name in ("n_unprofitable", "largest_unprofitable", "main_cost_driver")}
    result = check(3, workshop / "student_01", **answers)
    assert result["points"].sum() == 3 and "Total: 3 / 3 points." in capsys.readouterr().out
    assert json.loads((workshop / "student_01" / "answers" / "ex03.json").read_text())["n_unprofitable"] == \
        answers["n_unprofitable"]
    path = collect_grades(workshop)
    grades = pd.read_csv(path, dtype={"student": str})
    assert list(grades["student"]) == list(STUDENTS)
    assert grades.columns.tolist() == ["student", "ex01", "ex02", "ex03", "ex04", "ex05", "ex06", "total",
                                       "max_points", "percent"]
    assert grades.loc[0, "ex03"] == 3 and grades.loc[0, "total"] == 3 and grades.loc[1, "total"] == 0
    max_points = sum(exercise.max_points for exercise in exercises_for("advanced"))
    assert grades.loc[0, "max_points"] == max_points
    assert [restore_formula(s) for s in grades["student"]] == list(STUDENTS)
    assert cli.main(["workshop", "check", str(workshop / "student_01")]) == 0
    assert f"total: 3 / {max_points}" in capsys.readouterr().out
    assert cli.main(["workshop", "grades", str(workshop)]) == 0


def test_cli_refuses_bad_input(workshop, tmp_path, capsys):
    assert cli.main(["workshop", "new", "--out", str(workshop)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli.main(["workshop", "check", str(tmp_path)]) == 2
    assert cli.main(["workshop", "new", "--out", str(tmp_path / "x"), "--lang", "de"]) == 2
    assert cli.main(["workshop", "new", "--out", str(workshop / "student_01" / "course")]) == 2
    assert "inside the student folder" in capsys.readouterr().err and not (workshop / "student_01" / "course").exists()


def test_nothing_under_a_student_folder_holds_the_key(workshop, solutions):
    """Scan every file a student has (after the checks ran): no key file, no hidden segment, no key value."""
    settings = json.loads((workshop / "teacher" / "workshop.json").read_text())
    for student in STUDENTS:
        key, _ = load_key(workshop / student)
        folder = workshop / student
        names = {path.name for path in folder.rglob("*")}
        assert not names & {"truth.json", f"{student}.json", "keys", "teacher", "lead_profiles.parquet"}
        assert "leads" not in load_config(folder / "portfolio.yml").sections["scoring"]  # no card to copy
        secrets = [f"{key['exercises']['2']['gini']['value']:.4f}", f"{key['exercises']['4']['segments']['reference_ari']}",
                   "answer_key", "reference_ari", "baseline_auc", "top_decile_value\": ",
                   f"{key['exercises']['6']['top_decile_value']['value']:.2f}",
                   str(settings["student_seeds"][student]["generator"]),
                   *[name for name in SEGMENT_NAMES if "_" in name]]
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_bytes().decode("utf-8", errors="ignore")
                found = [secret for secret in secrets if secret in text]
                assert not found, (path, found)


def test_texts_in_both_languages_and_notebooks_render():
    def keys(tree, prefix=""):
        out = set()
        for name, value in tree.items():
            out.add(prefix + name)
            if isinstance(value, dict):
                out |= keys(value, prefix + name + ".")
        return out

    assert keys(TEXTS["en"]) == keys(TEXTS["fr"])
    for exercise in exercises_for("advanced"):
        french = student_notebook(exercise, "fr", "advanced", {"baseline_auc": 0.6123})
        assert french.cells[0].source.startswith(f"# Exercice {exercise.number}")
        assert not any(cell.source in exercise.explore for cell in french.cells)  # advanced: no starter code
        again = student_notebook(exercise, "fr", "advanced", {"baseline_auc": 0.6123})
        assert nbformat.writes(french) == nbformat.writes(again)  # no random cell ids: same seed, same bytes
        solution = solution_notebook(exercise, "fr")
        assert "save=False" in solution.cells[-1].source
        assert all(answer.name in solution.cells[-1].source for answer in exercise.answers)
    assert "0.612" in student_notebook(EXERCISES[5], "en", "intro", {"baseline_auc": 0.6123}).cells[0].source
    assert feedback_text("fr", "cleaning", "n_invalid_emails", "missing_counted").startswith("vous avez compté")
    assert np.isclose(BASELINE_CARD["fit"]["criteria"][0]["points"], 10)


# --------------------------------------------------------------------------- exercise 6 (advanced)


def test_forecast_is_advanced_only_and_its_portfolio_supports_the_models(workshop, solutions):
    assert [exercise.number for exercise in exercises_for("intro")] == [1, 2, 3, 4, 5]
    assert [exercise.number for exercise in exercises_for("advanced")] == [1, 2, 3, 4, 5, 6]
    assert EXERCISES[6].level == "advanced" and EXERCISES[6].max_points == 5
    for student in STUDENTS:
        assert json.loads((workshop / student / "student.json").read_text())["exercises"] == [1, 2, 3, 4, 5, 6]
        assert (workshop / student / EXERCISES[6].file_name).is_file()
        # the config keeps a planning horizon that is not the 12 months the exercise asks for
        assert load_config(workshop / student / "portfolio.yml").sections["clv"]["horizon_months"] == PLANNING_MONTHS
        result = solutions[(student, 6)][0]["result"]
        assert result.fitness["can_fit"] and result.fitness["can_evaluate"], result.fitness["problems"]
        assert result.fitness["n_repeat_buyers"] >= 100  # well above the 30 the models need
        assert result.settings.horizon_months == 12
    assert (workshop / "teacher" / "solutions" / EXERCISES[6].file_name).is_file()


def test_overlap_kind_scores_by_jaccard():
    entry = {"kind": "overlap", "value": [f"c{i}" for i in range(10)], "tolerance": 0.9, "partial": 0.5,
             "points": 2, "hints": [{"value": [f"c{i}" for i in range(10, 20)], "hint": "no_purchase_12m"}]}
    grade = [grade_answer(entry, answer, {}, Path("."))[:2] for answer in (
        [f"c{i}" for i in range(10)][::-1], [f"c{i}" for i in range(9)], [f"c{i}" for i in range(5)],
        [f"c{i}" for i in range(10, 20)], ["x"], 10, "c1", [], None)]
    assert grade == [(1.0, "correct"), (1.0, "correct"), (0.5, "overlap_partial"), (0.0, "no_purchase_12m"),
                     (0.0, "wrong"), (0.0, "count_not_list"), (0.0, "not_a_list"), (0.0, "wrong"), (0.0, "blank")]
    assert grade_answer(entry, [f"c{i}" for i in range(5)], {}, Path("."))[2] == {"overlap": "0.50"}
    assert grade_answer({**entry, "value": []}, [], {}, Path("."))[:2] == (1.0, "correct")
    assert jaccard(["a"], ["a", "b"]) == 0.5


def _top(values: pd.Series, n: int) -> float:
    return float(values.sort_values(ascending=False).iloc[:n].sum())


def test_forecast_mistakes_get_their_hint(solutions, workshop):
    checked = set()
    for student in STUDENTS:
        namespace, _ = solutions[(student, 6)]
        result, forecast, chosen = namespace["result"], namespace["forecast"], namespace["model"]
        key = load_key(workshop / student)[0]["exercises"]["6"]
        gone = namespace["probably_gone"]
        grade = {name: (lambda answer, name=name, student=student: _grade(workshop, student, 6, **{name: answer})[name])
                 for name in ("model", "probably_gone", "top_decile_value")}
        # the model: another fitted purchase model, the spend model
        other = next(model for model in ("pnbd", "bgnbd", "mbgnbd") if model != chosen)
        assert grade["model"](other).feedback == _hint(6, "model", "not_chosen")
        assert grade["model"]("Gamma-Gamma").feedback == _hint(6, "model", "spend_model")
        assert grade["model"](chosen.upper()).status == "correct"
        # probably gone: counted instead of listed; half the list; each plausible wrong list
        counted = grade["probably_gone"](len(gone))
        assert counted.feedback == _hint(6, "probably_gone", "count_not_list") and counted.points == 0
        most = grade["probably_gone"](gone[: 3 * len(gone) // 4])  # overlap 0.75: half the points
        assert most.status == "partial" and most.points == 1 and "Jaccard" in most.feedback
        summary = result.summary
        x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        bgnbd = list(summary.loc[models.p_alive("bgnbd", result.fits["bgnbd"].values(), x, tx, T) < 0.2,
                                 "customer_id"])
        one_time = set(summary.loc[summary["frequency"] == 0, "customer_id"])
        last = namespace["transactions"].groupby("customer_id")["date"].max()
        quiet = list(last.index[last <= namespace["as_of"] - pd.DateOffset(years=1)])
        mistakes = [(bgnbd, "one_time_alive"), ([c for c in gone if c not in one_time], "one_time_left_out"),
                    (quiet, "no_purchase_12m")]
        for wrong, hint in mistakes:
            if (hint == "one_time_alive" and chosen == "bgnbd") or jaccard(wrong, gone) >= 0.9:
                continue  # the model's own list, or too close to tell apart
            assert grade["probably_gone"](wrong).feedback == _hint(6, "probably_gone", hint), hint
            checked.add(hint)
        if chosen == "bgnbd":
            assert grade["probably_gone"](gone).feedback == _hint(6, "probably_gone", "correct_bgnbd")
        # top decile: past revenue, ranked by past revenue, the config's horizon, discounted, every customer
        n_top = int(np.ceil(0.1 * len(forecast)))
        expected = forecast.set_index("customer_id")["expected_revenue"]
        past = engine.revenue_lines(namespace["transactions"]).groupby("customer_id")["amount"].sum()
        s = result.settings
        longer = clv_value.customer_value(summary, result.fit, result.spend_fit, horizon_months=PLANNING_MONTHS,
                                          discount_rate=s.discount_rate, time_unit=s.time_unit)
        mistakes = [(_top(past, n_top), "past_revenue"),
                    (float(expected.reindex(past.nlargest(n_top).index).sum()), "ranked_by_past"),
                    (_top(longer["expected_revenue"], n_top), "horizon"),
                    (_top(forecast["clv"], n_top), "discounted"), (float(expected.sum()), "all_customers")]
        for wrong, hint in mistakes:
            if abs(wrong - namespace["top_decile_value"]) > key["top_decile_value"]["tolerance"]:
                graded = grade["top_decile_value"](wrong)
                assert graded.feedback == _hint(6, "top_decile_value", hint) and graded.points == 0, hint
                checked.add(hint)
        assert grade["top_decile_value"](namespace["top_decile_value"] * 1.005).points == 2
        assert grade["top_decile_value"](namespace["top_decile_value"] * 1.5).feedback == \
            _hint(6, "top_decile_value", "wrong")
    assert checked >= {"one_time_left_out", "no_purchase_12m", "past_revenue", "ranked_by_past", "horizon",
                       "discounted", "all_customers"}, checked


def test_forecast_key_stops_on_a_portfolio_the_models_cannot_fit():
    from types import SimpleNamespace

    from portfolio_helpers.app.workshop.grading import WorkshopError

    context = SimpleNamespace(config_path="student_01/portfolio.yml",
                              forecast=SimpleNamespace(value=None, fitness={"problems": ["few_repeat_buyers"]}))
    with pytest.raises(WorkshopError, match="few_repeat_buyers.*more customers"):
        EXERCISES[6].key(context)


# --------------------------------------------------------------------------- languages, seeds, grade sheet


def _comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [token.string[1:].strip() for token in tokens if token.type == tokenize.COMMENT]


def test_code_comments_follow_the_language():
    english, french = TEXTS["en"]["comments"], TEXTS["fr"]["comments"]
    seen = set()
    for exercise in exercises_for("advanced"):
        for lang, table in (("en", english), ("fr", french)):
            notebooks = [student_notebook(exercise, lang, "intro", {"baseline_auc": 0.6123}),
                         solution_notebook(exercise, lang)]
            found = {comment for notebook in notebooks for cell in notebook.cells if cell.cell_type == "code"
                     for comment in _comments(cell.source)}
            assert found and found <= set(table.values()), (exercise.slug, lang, found - set(table.values()))
            if lang == "fr":
                assert not found & set(english), (exercise.slug, found & set(english))
            else:
                seen |= found
    assert seen == set(english)  # every comment of the cells is translated, and no stale entry
    assert all(french[text] != text for text in english)
    with pytest.raises(KeyError, match="no 'fr' text"):
        localized_code("fr", "x = 1  # a remark nobody translated")
    assert localized_code("fr", 'url = "a#b"  # this folder') == 'url = "a#b"  # ce dossier'  # not a '#' in a string
    french_intro = student_notebook(EXERCISES[5], "fr", "intro", {"baseline_auc": 0.6123}).cells[0].source
    assert "AUC **0,612**" in french_intro and "0.612" not in french_intro


def test_default_seed_is_random_and_a_small_seed_is_flagged():
    # Why: a student's config seed is derived from the workshop seed, so a small seed is found by trying them
    # all, and with it the kit rebuilds the teacher folder.
    config_seed = student_seeds(11, 1)[1]
    assert [seed for seed in range(2000) if student_seeds(seed, 1)[1] == config_seed] == [11]
    assert cli.build_parser().parse_args(["workshop", "new", "--out", "x"]).seed is None
    seeds = {workshop_seed(None) for _ in range(5)}
    assert len(seeds) == 5 and all(SAFE_SEED <= seed < 2**63 for seed in seeds)
    assert workshop_seed(11) == 11 and guessable_seed(11) and not any(guessable_seed(seed) for seed in seeds)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _text_numbers(tree) -> set[str]:
    if isinstance(tree, dict):
        return set().union(*(_text_numbers(value) for value in tree.values()))
    return set(_NUMBER.findall(tree))


def test_feedback_shows_only_numbers_the_texts_state(workshop):
    """Far-off and hinted answers to every numeric question: the feedback holds no number of the key."""
    for lang in ("en", "fr"):
        stated = _text_numbers(TEXTS[lang])
        for student in STUDENTS:
            key, folder = load_key(workshop / student)
            for exercise in exercises_for("advanced"):
                entries = key["exercises"][str(exercise.number)]
                numeric = [a.name for a in exercise.answers if entries[a.name]["kind"] in ("count", "number")]
                tries = [{name: 3 * int(entries[name]["value"]) + 7 for name in numeric}]
                tries += [{name: hint["value"]} for name in numeric for hint in entries[name]["hints"]]
                for answers in tries:
                    for result in grade_exercise(exercise, entries, answers, lang, folder):
                        shown = set(_NUMBER.findall(result.feedback))
                        assert shown <= stated, (lang, student, result.name, result.feedback)


def test_grade_sheet_is_formula_safe(tmp_path):
    """Folder names a student could choose become grade-sheet cells: written so no spreadsheet runs them."""
    workshop = tmp_path / "course"
    key = {"revenue_total": {"kind": "number", "value": 1000.0, "tolerance": 1.0, "points": 1, "hints": []},
           "n_customers_80pct": {"kind": "count", "value": 12, "tolerance": 0, "points": 1, "hints": []},
           "gini": {"kind": "number", "value": 0.61, "tolerance": 0.0001, "points": 1, "hints": []},
           "hhi": {"kind": "number", "value": 250.0, "tolerance": 0.5, "points": 1, "hints": []},
           "major_customers": {"kind": "ids", "value": ["C1"], "points": 1, "hints": []}}
    answers = {"=SUM(1+1)": {"revenue_total": 1000.5, "n_customers_80pct": 13, "gini": 0.61, "hhi": 250.2,
                             "major_customers": ["C1"]},  # 4 of 5
               "@student": {"gini": 0.6101}}  # 1 of 5
    for name, saved in answers.items():
        (workshop / name / "answers").mkdir(parents=True)
        (workshop / name / "student.json").write_text(json.dumps(
            {"student": name, "lang": "en", "level": "intro", "exercises": [2]}))
        (workshop / name / "answers" / "ex02.json").write_text(json.dumps(saved))
        (workshop / "teacher" / "keys").mkdir(parents=True, exist_ok=True)
        (workshop / "teacher" / "keys" / f"{name}.json").write_text(json.dumps({"student": name,
                                                                                "exercises": {"2": key}}))
    path = collect_grades(workshop)
    lines = path.read_text().splitlines()
    assert lines[0] == "student,ex02,total,max_points,percent"
    assert [line.split(",")[0] for line in lines[1:]] == ["'=SUM(1+1)", "'@student"]
    grades = pd.read_csv(path)
    assert [restore_formula(name) for name in grades["student"]] == list(answers)
    assert grades["ex02"].tolist() == [4, 1] and grades["percent"].tolist() == [80.0, 20.0]


def test_french_workshop_same_data_and_keys_as_english(workshop, solutions, tmp_path, capsys):
    """The same seed gives the same portfolio, truth and keys whatever the language and level; French check."""
    out = tmp_path / "atelier"
    assert cli.main(["workshop", "new", "--out", str(out), "--students", "1", "--seed", "11", "--customers", "250",
                     "--lang", "fr"]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith(f"Atelier : {out} (1 étudiant, exercices 1, 2, 3, 4, 5, graine 11)")
    assert printed.err.startswith("remarque : la graine 11 peut être devinée")  # a small seed is flagged
    french, english = out / "student_01", workshop / "student_01"
    names = sorted(path.name for path in french.iterdir() if path.suffix in (".csv", ".yml"))
    assert len(names) == 7
    for name in names:
        assert (french / name).read_bytes() == (english / name).read_bytes(), name
    for part in ("truth", "keys"):
        ours = json.loads((out / "teacher" / part / "student_01.json").read_text())
        theirs = json.loads((workshop / "teacher" / part / "student_01.json").read_text())
        if part == "keys":  # the advanced workshop also has exercise 6
            theirs["exercises"] = {n: theirs["exercises"][n] for n in ours["exercises"]}
        assert ours == theirs, part
    namespace, _ = solutions[("student_01", 3)]
    answers = {name: namespace[name] for name in ("n_unprofitable", "largest_unprofitable", "main_cost_driver")}
    result = check(3, french, **answers)
    out = capsys.readouterr().out
    assert result["points"].sum() == 3 and "juste." in out and "Total : 3 / 3 points." in out
    wrong = check(3, french, save=False, n_unprofitable=int((namespace["pnl"]["gross_margin"] < 0).sum()))
    assert wrong.loc[0, "feedback"] == _hint(3, "n_unprofitable", "margin_only", "fr")
    assert cli.main(["workshop", "check", str(french)]) == 0
    out = capsys.readouterr().out
    max_points = sum(exercise.max_points for exercise in exercises_for("intro"))
    assert out.split("exercice")[1].split()[:2] == ["points", "sur"] and f"total : 3 / {max_points}" in out


def test_intro_notebooks_starter_cells_run(solutions):
    """The cells only an intro student gets (the kit's calls to start from) run on the student's data.

    The other cells are the solution notebooks' own (imports, setup: run by the ``solutions`` fixture), so
    the explore cells run in a copy of that namespace.
    """
    for exercise in exercises_for("intro"):
        notebook = student_notebook(exercise, "fr", "intro", {"baseline_auc": 0.6123})
        code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert len(code) == 2 + len(exercise.setup) + len(exercise.explore) + 2
        namespace = dict(solutions[("student_01", exercise.number)][0])
        for source in code[2 + len(exercise.setup):-2]:
            exec(source, namespace)
        assert exec(code[-2], namespace) is None and all(namespace[a.name] is None for a in exercise.answers)
    assert namespace["scored"]["total_score"].between(0, 100).all()  # exercise 5: the baseline card's points
