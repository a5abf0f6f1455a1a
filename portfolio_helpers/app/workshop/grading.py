"""Scoring a student's answers against the key, with feedback that never gives the answer.

Layout (written by :func:`portfolio_helpers.app.workshop.build.new_workshop`)::

    DIR/student_01/student.json         who, language, level, exercises (no key)
    DIR/student_01/answers/exNN.json    what the student's check() cell saved
    DIR/teacher/keys/student_01.json    the answer key (never in a student folder)
    DIR/teacher/check/student_01/       data the checker needs (held-out leads)

The checker finds the teacher folder beside the student folder, or in the
``PORTFOLIO_WORKSHOP_TEACHER`` environment variable when the teacher keeps it elsewhere.

Every key entry has a ``kind`` (see :data:`KINDS`) and ``points``; numeric kinds carry
``value`` and ``tolerance`` (and ``also``: other accepted values), and ``hints``: wrong
values a plausible mistake gives, each with the id of its targeted feedback. A hint is only
given for an answer outside the tolerance of the key, and its text never contains a number
of the key. An ``overlap`` answer (a list of ids scored by its Jaccard overlap with the key's
list) has ``tolerance`` as the overlap that earns full marks and lists of ids as hint values.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from portfolio_helpers.analysis import scorecard, scoring
from portfolio_helpers.app.workshop.registry import EXERCISES, Exercise
from portfolio_helpers.app.workshop.texts import feedback_text, number_text
from portfolio_helpers.core.errors import ConfigError, PortfolioError
from portfolio_helpers.core.files import atomic_to_csv, atomic_write_json

__all__ = ["KINDS", "Result", "WorkshopError", "as_answer", "jaccard", "grade_answer", "grade_exercise", "check",
           "check_student", "collect_grades", "load_key", "saved_answers", "student_info", "student_table",
           "teacher_dir", "workshop_lang", "STUDENT_FILE", "GRADES_FILE", "TEACHER_ENV"]

#: How an answer is scored.
KINDS = ("count", "number", "choice", "ids", "overlap", "text", "names", "labels", "scorecard", "auc")
STUDENT_FILE = "student.json"
GRADES_FILE = "grades.csv"
TEACHER_ENV = "PORTFOLIO_WORKSHOP_TEACHER"


class WorkshopError(PortfolioError):
    """A workshop folder that is not what the checker expects (exit code 2)."""


@dataclass
class Result:
    """The score of one answer."""

    exercise: int
    name: str
    points: float
    max_points: int
    status: str  # "correct", "partial", "wrong" or "blank"
    feedback: str


# --------------------------------------------------------------------------- answers as saved


def as_answer(value: Any) -> Any:
    """A student's value as JSON: numbers, text, lists of ids, ``{id: label}`` for a segmentation.

    Examples
    --------
    >>> as_answer(np.int64(3)), as_answer(pd.Series([0, 1], index=["c1", "c2"]))
    (3, {'c1': 0, 'c2': 1})
    >>> as_answer(pd.DataFrame({"customer_id": ["c1"], "cluster": [2]}))
    {'c1': 2}
    """
    if value is None or value is Ellipsis:
        return None
    if isinstance(value, pd.DataFrame):
        if {"customer_id", "cluster"} <= set(value.columns):
            value = value.set_index("customer_id")["cluster"]
        else:
            value = value.iloc[:, 0]
    if isinstance(value, pd.Series):
        return {str(key): as_answer(item) for key, item in value.items()}
    if isinstance(value, Mapping):
        return {str(key): as_answer(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | pd.Index | np.ndarray):
        items = [as_answer(item) for item in value]
        return sorted(items, key=str) if isinstance(value, set) else items
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | dict) and not value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _close(answer: float, value: float, tolerance: float) -> bool:
    return abs(answer - value) <= tolerance + 1e-9


# --------------------------------------------------------------------------- one answer


def _hint(entry: Mapping, answer: Any, exact: bool = False) -> str | None:
    for hint in entry.get("hints", ()):
        wanted = hint["value"]
        if exact or isinstance(wanted, str | list):
            matched = _norm(answer) == _norm(wanted)
        else:
            number = _number(answer)
            matched = number is not None and _close(number, float(wanted), float(hint.get("tolerance", 0)))
        if matched:
            return hint["hint"]
    return None


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, list):
        return sorted(_norm(item) for item in value)
    return value


def _grade_numeric(entry: Mapping, answer: Any) -> tuple[float, str]:
    number = _number(answer)
    if number is None:
        return 0.0, "not_a_number"
    accepted = [entry["value"], *entry.get("also", ())]
    if any(_close(number, float(value), float(entry["tolerance"])) for value in accepted) \
            and (entry["kind"] != "count" or number == round(number)):
        return 1.0, "correct"
    hint = _hint(entry, number)
    if hint is None and entry["kind"] == "count" and number != round(number):
        return 0.0, "not_a_count"
    return 0.0, hint or "wrong"


def _grade_choice(entry: Mapping, answer: Any) -> tuple[float, str]:
    if not isinstance(answer, str):
        return 0.0, "not_a_text"
    if _norm(answer) in {_norm(value) for value in entry["accepted"]}:
        return 1.0, "correct"
    return 0.0, _hint(entry, answer, exact=True) or "wrong"


def _grade_ids(entry: Mapping, answer: Any) -> tuple[float, str]:
    if not isinstance(answer, list):
        return 0.0, "not_a_list"
    if _norm([str(item) for item in answer]) == _norm(list(entry["value"])):
        return 1.0, "correct"
    return 0.0, _hint(entry, [str(item) for item in answer], exact=True) or "wrong"


def jaccard(first, second) -> float:
    """Overlap of two sets of ids: shared / either (1 for two empty sets).

    Examples
    --------
    >>> jaccard(["a", "b", "c"], ["b", "c", "d"]), jaccard([], [])
    (0.5, 1.0)
    """
    first, second = {str(item) for item in first}, {str(item) for item in second}
    either = first | second
    return len(first & second) / len(either) if either else 1.0


def _grade_overlap(entry: Mapping, answer: Any) -> tuple[float, str, dict]:
    """A list of ids scored by its Jaccard overlap with the key: full marks from ``tolerance`` on.

    Below it, the hint whose list the answer overlaps best (at ``tolerance`` or more) explains the
    mistake; else half the points from ``partial`` on (the overlap is shown: the answer's own
    measure, not the key), else none.
    """
    if _number(answer) is not None:
        return 0.0, "count_not_list", {}
    if not isinstance(answer, list):
        return 0.0, "not_a_list", {}
    overlap = jaccard(answer, entry["value"])
    if overlap >= entry["tolerance"]:
        return 1.0, entry.get("correct", "correct"), {}
    scored = [(jaccard(answer, hint["value"]), hint["hint"]) for hint in entry.get("hints", ())]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    if best[0] >= entry["tolerance"]:
        return 0.0, best[1], {}
    if overlap >= entry.get("partial", 0.5):
        return 0.5, "overlap_partial", {"overlap": f"{overlap:.2f}"}
    return 0.0, "wrong", {}


def _grade_text(entry: Mapping, answer: Any) -> tuple[float, str]:
    """A justification: full marks when a word of it starts with a keyword ("stabil" in "stability", "ARI"
    but not "ari" inside "variables"), half when it names no criterion.

    Examples
    --------
    >>> entry = {"kind": "text", "keywords": ["silhouette", "ari", "stabil"], "min_length": 15}
    >>> [_grade_text(entry, text) for text in ("the ARI is highest at 4", "the variables vary a lot", "ok")]
    [(1.0, 'correct'), (0.5, 'no_criterion'), (0.0, 'too_short')]
    """
    if not isinstance(answer, str) or len(answer.strip()) < entry.get("min_length", 15):
        return 0.0, "too_short"
    starts = re.compile(r"\b(?:" + "|".join(map(re.escape, entry["keywords"])) + ")")
    if starts.search(answer.casefold()):
        return 1.0, "correct"
    return 0.5, "no_criterion"


def _grade_names(entry: Mapping, answer: Any, answers: Mapping) -> tuple[float, str]:
    if not isinstance(answer, dict):
        return 0.0, "not_a_mapping"
    labels = answers.get(entry["labels_from"])
    clusters = {str(label) for label in labels.values()} if isinstance(labels, dict) else set()
    names = {str(key): str(value).strip() for key, value in answer.items() if value is not None}
    if not clusters:
        return 0.0, "names_without_segments"
    if not clusters <= set(names) or any(not names[c] for c in clusters):
        return 0.0, "names_missing"
    if len({names[c].casefold() for c in clusters}) < len(clusters):
        return 0.0, "names_not_distinct"
    return 1.0, "correct"


def _grade_labels(entry: Mapping, answer: Any, answers: Mapping) -> tuple[float, str, dict]:
    if not isinstance(answer, dict):
        return 0.0, "not_a_mapping", {}
    truth = entry["truth"]
    common = sorted(set(answer) & set(truth))
    if len(common) < entry.get("min_customers", 20):
        return 0.0, "labels_unknown_ids", {}
    ari = float(adjusted_rand_score([truth[c] for c in common], [str(answer[c]) for c in common]))
    values = {"ari": f"{ari:.2f}"}  # revealed once answered: it is the measure, not the answer
    k = _number(answers.get(entry["k_from"]))
    if k is not None and len({str(answer[c]) for c in common}) != int(k):
        return 0.0, "labels_not_k", values
    if ari >= entry["reference_ari"] - entry["tolerance"]:
        return 1.0, "labels_good", values
    return 0.5, "labels_weak", values


def _student_card(answer: Any) -> scorecard.Scorecard:
    return scorecard.scorecard_from_config(answer, "lead_scorecard")


def _card_aucs(entry: Mapping, answer: Any, key_dir: Path) -> dict[str, float]:
    """AUC of the student's scorecard on the held-out leads, the training leads and all known leads."""
    card = _student_card(answer)
    check_dir = key_dir / entry["check_data"]
    profiles = pd.read_parquet(check_dir / "lead_profiles.parquet").set_index("lead_id")
    events = pd.read_parquet(check_dir / "lead_events.parquet")
    scored = scoring.score_leads(card, profiles, events)
    out = {}
    for name in ("test", "train", "known"):
        ids = pd.Index(entry[name], dtype=profiles.index.dtype)
        y = profiles.loc[ids, "converted"].astype(int)
        out[name] = float(roc_auc_score(y, scored.loc[ids, "total_score"])) if y.nunique() == 2 else math.nan
    return out


def _grade_scorecard(entry: Mapping, answer: Any, key_dir: Path) -> tuple[float, str, dict]:
    if not isinstance(answer, dict):
        return 0.0, "not_a_mapping", {}
    try:
        aucs = _card_aucs(entry, answer, key_dir)
    except ConfigError as exc:
        return 0.0, "card_invalid", {"error": str(exc)}
    if not answer.get("engagement", {}).get("criteria"):
        return 0.0, "card_no_engagement", {"auc": f"{aucs['test']:.3f}"}
    if not answer.get("fit", {}).get("criteria"):
        return 0.0, "card_no_fit", {"auc": f"{aucs['test']:.3f}"}
    if aucs["test"] > entry["baseline_auc"]:
        return 1.0, "card_beats_baseline", {"auc": f"{aucs['test']:.3f}"}
    return 0.0, "card_below_baseline", {"auc": f"{aucs['test']:.3f}"}


def _grade_auc(entry: Mapping, answer: Any, answers: Mapping, key_dir: Path) -> tuple[float, str]:
    number = _number(answer)
    if number is None:
        return 0.0, "not_a_number"
    card = answers.get(entry["card_from"])
    try:
        aucs = _card_aucs(entry, card, key_dir) if isinstance(card, dict) and card else None
    except ConfigError:
        aucs = None
    if aucs is None:
        return 0.0, "auc_without_card"
    if _close(number, aucs["test"], entry["tolerance"]):
        return 1.0, "correct"
    for name, hint in (("train", "auc_on_train"), ("known", "auc_on_all")):
        if not math.isnan(aucs[name]) and _close(number, aucs[name], entry["tolerance"]):
            return 0.0, hint
    return 0.0, "auc_wrong"


def grade_answer(entry: Mapping, answer: Any, answers: Mapping, key_dir: Path) -> tuple[float, str, dict]:
    """Score in [0, 1], feedback id and the values its text may show, for one answer.

    Parameters
    ----------
    entry : mapping
        The answer's key entry (``kind``, ``points`` and what the kind needs).
    answer : any
        The student's answer as saved (:func:`as_answer`); ``None`` is blank.
    answers : mapping
        Every answer of the exercise (a segmentation's names are checked against its segments).
    key_dir : path
        The teacher folder (the held-out leads of a scorecard answer).

    Examples
    --------
    >>> entry = {"kind": "count", "value": 16, "tolerance": 2, "points": 1,
    ...          "hints": [{"value": 0, "tolerance": 2, "hint": "exact_only"}]}
    >>> [grade_answer(entry, answer, {}, Path("."))[:2] for answer in (15, 1, 40, None)]
    [(1.0, 'correct'), (0.0, 'exact_only'), (0.0, 'wrong'), (0.0, 'blank')]
    """
    if _is_blank(answer):
        return 0.0, "blank", {}
    kind = entry["kind"]
    if kind in ("count", "number"):
        return (*_grade_numeric(entry, answer), {})
    if kind == "choice":
        return (*_grade_choice(entry, answer), {})
    if kind == "ids":
        return (*_grade_ids(entry, answer), {})
    if kind == "overlap":
        return _grade_overlap(entry, answer)
    if kind == "text":
        return (*_grade_text(entry, answer), {})
    if kind == "names":
        return (*_grade_names(entry, answer, answers), {})
    if kind == "labels":
        return _grade_labels(entry, answer, answers)
    if kind == "scorecard":
        return _grade_scorecard(entry, answer, key_dir)
    if kind == "auc":
        return (*_grade_auc(entry, answer, answers, key_dir), {})
    raise ValueError(f"unknown answer kind {kind!r}")


def grade_exercise(exercise: Exercise, key: Mapping, answers: Mapping, lang: str, key_dir: Path) -> list[Result]:
    """Score every answer of one exercise (a missing answer is blank)."""
    results = []
    for spec in exercise.answers:
        entry = key[spec.name]
        score, feedback_id, values = grade_answer(entry, answers.get(spec.name), answers, key_dir)
        status = "blank" if feedback_id == "blank" else "correct" if score >= 1 else "partial" if score > 0 \
            else "wrong"
        text = feedback_text(lang, exercise.slug, spec.name, feedback_id, tolerance=entry.get("tolerance"),
                             **values)
        results.append(Result(exercise.number, spec.name, round(score * spec.points, 2), spec.points, status, text))
    return results


# --------------------------------------------------------------------------- folders


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def student_info(student_dir: str | os.PathLike) -> dict:
    """``student.json`` of a student folder: ``student``, ``lang``, ``level``, ``exercises``."""
    path = Path(student_dir) / STUDENT_FILE
    if not path.is_file():
        raise WorkshopError(f"{student_dir}: not a workshop student folder (no {STUDENT_FILE})")
    return _read_json(path)


def workshop_lang(workshop_dir: str | os.PathLike) -> str:
    """The language a workshop was created in (``teacher/workshop.json``; English when it is not there)."""
    path = Path(workshop_dir) / "teacher" / "workshop.json"
    return str(_read_json(path).get("lang", "en")) if path.is_file() else "en"


def teacher_dir(student_dir: str | os.PathLike) -> Path:
    """The teacher folder of a student's workshop (``PORTFOLIO_WORKSHOP_TEACHER`` or ``../teacher``)."""
    override = os.environ.get(TEACHER_ENV)
    return Path(override) if override else Path(student_dir).resolve().parent / "teacher"


def load_key(student_dir: str | os.PathLike) -> tuple[dict, Path]:
    """The answer key of a student and the teacher folder (where the checker's data is)."""
    info = student_info(student_dir)
    keys = teacher_dir(student_dir) / "keys"
    path = keys / f"{info['student']}.json"
    if not path.is_file():
        raise WorkshopError(f"no answer key for {info['student']}: the checker needs the teacher folder "
                            f"({keys.parent}; or set {TEACHER_ENV})")
    return _read_json(path), keys.parent


def _answers_path(student_dir: Path, number: int) -> Path:
    return student_dir / "answers" / f"ex{number:02d}.json"


def saved_answers(student_dir: str | os.PathLike, number: int) -> dict:
    """The answers the last check() of an exercise saved (empty when it was never checked)."""
    path = _answers_path(Path(student_dir), number)
    return _read_json(path) if path.is_file() else {}


def _print_results(results: list[Result], lang: str) -> None:
    for result in results:
        mark = {"correct": "✔", "partial": "~", "wrong": "✘", "blank": "·"}[result.status]
        print(f"{mark} {result.name} ({number_text(float(result.points), lang)}/{result.max_points}): {result.feedback}")


def _summary(results: list[Result]) -> pd.DataFrame:
    return pd.DataFrame([asdict(result) for result in results],
                        columns=["exercise", "name", "points", "max_points", "status", "feedback"])


def check(exercise: int, student_dir: str | os.PathLike = ".", save: bool = True, **answers: Any) -> pd.DataFrame:
    """The ``check()`` cell of an exercise notebook: save the answers, score them, print the feedback.

    Parameters
    ----------
    exercise : int
        Exercise number.
    student_dir : path
        The student's folder (the notebook's own folder by default).
    save : bool
        Keep the answers in ``answers/exNN.json`` for ``portfolio workshop check`` and the
        grade sheet (the teacher's solution notebooks pass ``False``).
    **answers
        The answer variables of the notebook.

    Returns
    -------
    DataFrame
        One row per answer: ``exercise, name, points, max_points, status, feedback``.
    """
    student_dir = Path(student_dir)
    info = student_info(student_dir)
    spec = EXERCISES[int(exercise)]
    unknown = sorted(set(answers) - {answer.name for answer in spec.answers})
    if unknown:
        raise TypeError(f"exercise {exercise} has no answer named {', '.join(unknown)}")
    saved = {name: as_answer(value) for name, value in answers.items()}
    if save:
        atomic_write_json(_answers_path(student_dir, spec.number), saved)
    key, key_dir = load_key(student_dir)
    results = grade_exercise(spec, key["exercises"][str(spec.number)], saved, info["lang"], key_dir)
    _print_results(results, info["lang"])
    total = sum(result.points for result in results)
    print(feedback_text(info["lang"], None, None, "total", points=f"{total:g}", max_points=spec.max_points))
    return _summary(results)


def check_student(student_dir: str | os.PathLike) -> pd.DataFrame:
    """Score every saved answer of a student (``portfolio workshop check``); one row per answer."""
    info = student_info(student_dir)
    key, key_dir = load_key(student_dir)
    results = []
    for number in info["exercises"]:
        exercise = EXERCISES[int(number)]
        results += grade_exercise(exercise, key["exercises"][str(number)], saved_answers(student_dir, number),
                                  info["lang"], key_dir)
    return _summary(results)


def student_table(results: pd.DataFrame) -> pd.DataFrame:
    """Points per exercise: ``exercise, points, max_points``."""
    return results.groupby("exercise", as_index=False)[["points", "max_points"]].sum()


def collect_grades(workshop_dir: str | os.PathLike) -> Path:
    """Score every student of a workshop into ``teacher/grades.csv`` (one row per student).

    Columns: ``student``, ``exNN`` (points) for each exercise, ``total``, ``max_points``,
    ``percent``.
    """
    workshop_dir = Path(workshop_dir)
    students = sorted(path for path in workshop_dir.iterdir() if (path / STUDENT_FILE).is_file())
    if not students:
        raise WorkshopError(f"{workshop_dir}: no student folder (student_NN/{STUDENT_FILE})")
    rows = []
    for student in students:
        table = student_table(check_student(student))
        row = {"student": student.name}
        row.update({f"ex{int(n):02d}": float(p) for n, p in zip(table["exercise"], table["points"], strict=True)})
        row["total"] = float(table["points"].sum())
        row["max_points"] = int(table["max_points"].sum())
        row["percent"] = round(100 * row["total"] / row["max_points"], 1) if row["max_points"] else math.nan
        rows.append(row)
    return atomic_to_csv(pd.DataFrame(rows), workshop_dir / "teacher" / GRADES_FILE, index=False)
