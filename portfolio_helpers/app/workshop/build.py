"""``portfolio workshop new``: one portfolio, config and set of notebooks per student; keys for the teacher.

Layout::

    DIR/student_01/            portfolio.yml, the five CSV files (dirty), student.json, exNN_*.ipynb
    DIR/teacher/workshop.json  the workshop's settings and each student's seeds
    DIR/teacher/keys/          student_NN.json: the answer keys
    DIR/teacher/truth/         student_NN.json: the generator's truth (duplicates, hidden segments...)
    DIR/teacher/check/         student_NN/: the held-out leads the checker scores a scorecard on
    DIR/teacher/solutions/     exNN_*.ipynb: a solution notebook per exercise (parameter ``student_dir``)

Each student's portfolio is generated from its own seed, derived from the workshop seed and
the student number (:func:`student_seeds`); the student's copy names neither that seed nor an
answer key, and its config's ``seed`` (the analyses' random steps) is a second derived number,
so the generator's truth cannot be rebuilt from the student folder.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from portfolio_helpers.app.sample_data import generate_portfolio, write_portfolio, write_truth
from portfolio_helpers.app.workshop.grading import STUDENT_FILE, WorkshopError
from portfolio_helpers.app.workshop.keys import KeyContext
from portfolio_helpers.app.workshop.registry import Exercise, exercises_for
from portfolio_helpers.app.workshop.texts import LANGUAGES, TEXTS, exercise_texts, localized_code, number_text
from portfolio_helpers.core.files import atomic_write_json, atomic_write_text

__all__ = ["Workshop", "new_workshop", "student_notebook", "solution_notebook", "student_seeds", "workshop_seed",
           "guessable_seed", "DEFAULT_CUSTOMERS", "PUBLIC_FIELDS", "PLANNING_MONTHS", "SAFE_SEED"]

#: Customers of each student's portfolio: enough for every analysis, quick to clean.
DEFAULT_CUSTOMERS = 400
#: ``clv.horizon_months`` of every student's config: a planning horizon that is not the 12 months asked.
PLANNING_MONTHS = 36
#: Key fields a notebook may state (the baseline to beat), never an answer.
PUBLIC_FIELDS = ("baseline_auc",)
#: Seeds below this can be found by trying them all (a student's config seed confirms a guess in
#: microseconds), and the seed rebuilds every key: a random default is far above it.
SAFE_SEED = 10**15


@dataclass
class Workshop:
    """What :func:`new_workshop` wrote."""

    path: Path
    students: list[Path]
    exercises: list[int]
    seed: int


def student_seeds(seed: int, number: int) -> tuple[int, int]:
    """The generator's seed and the analyses' seed of one student (deterministic, not invertible by hand).

    Examples
    --------
    >>> student_seeds(7, 1) == student_seeds(7, 1), student_seeds(7, 1) != student_seeds(7, 2)
    (True, True)
    """
    generator, analysis = np.random.SeedSequence([int(seed), int(number)]).generate_state(2)
    return int(generator), int(analysis)


def workshop_seed(seed: int | None) -> int:
    """The workshop seed: the one given, else a random one too large to guess (63 bits).

    Examples
    --------
    >>> workshop_seed(7), workshop_seed(None) >= SAFE_SEED, workshop_seed(None) != workshop_seed(None)
    (7, True, True)
    """
    return int(seed) if seed is not None else SAFE_SEED + secrets.randbelow(2**63 - SAFE_SEED)


def guessable_seed(seed: int) -> bool:
    """True for a seed small enough to be found by trying seeds (see :data:`SAFE_SEED`).

    Examples
    --------
    >>> guessable_seed(7), guessable_seed(2**62)
    (True, False)
    """
    return int(seed) < SAFE_SEED


def _code(source: str, tags: tuple[str, ...] = (), lang: str = "en") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(localized_code(lang, source))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _answer_list(exercise: Exercise, lang: str) -> str:
    texts = exercise_texts(lang, exercise.slug)["answers"]
    return "\n".join(f"- `{answer.name}`: {texts[answer.name]}" for answer in exercise.answers)


def _check_call(exercise: Exercise, save: bool) -> str:
    arguments = [f"      {answer.name}={answer.name}," for answer in exercise.answers]
    head = f"check({exercise.number}, student_dir{'' if save else ', save=False'},"
    return "\n".join([head, *arguments])[:-1] + ")"


def _header(exercise: Exercise, lang: str, public: dict) -> str:
    texts = exercise_texts(lang, exercise.slug)
    common = TEXTS[lang]["common"]
    shown = {name: number_text(value, lang, 3) for name, value in public.items()}
    return f"# {common['exercise']} {exercise.number} · {texts['title']}\n\n{texts['intro'].format(**shown)}"


_PATHS = 'config_path = f"{student_dir}/portfolio.yml"\noutput_dir = f"{student_dir}/work"  # the kit\'s saved tables'


def _notebook(cells: list) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number:02d}"  # not random: the same seed writes the same bytes
    notebook.cells = cells
    return notebook


def student_notebook(exercise: Exercise, lang: str, level: str, public: dict) -> nbformat.NotebookNode:
    """An exercise notebook: explanations, the kit's calls (intro level), answer cell, check cell."""
    common = TEXTS[lang]["common"]
    texts = exercise_texts(lang, exercise.slug)
    cells = [nbformat.v4.new_markdown_cell(_header(exercise, lang, public) + "\n\n" + common["how"]),
             _code('student_dir = "."  # this folder', ("parameters",), lang),
             _code(exercise.imports + "\n\n" + _PATHS, lang=lang),
             *[_code(source, lang=lang) for source in exercise.setup]]
    cells.append(nbformat.v4.new_markdown_cell((common["explore"] + "\n\n" if level == "intro" else "")
                                               + texts["explore"]))
    if level == "intro":
        cells += [_code(source, lang=lang) for source in exercise.explore]
    cells += [nbformat.v4.new_markdown_cell(common["answers"] + "\n\n" + _answer_list(exercise, lang)),
              _code("\n".join(f"{answer.name} = None" for answer in exercise.answers)),
              nbformat.v4.new_markdown_cell(common["check"]),
              _code(_check_call(exercise, save=True))]
    return _notebook(cells)


def solution_notebook(exercise: Exercise, lang: str, student: str = "student_01") -> nbformat.NotebookNode:
    """The teacher's solution of an exercise; runs top to bottom on any student's folder."""
    common = TEXTS[lang]["common"]
    title = f"# {common['exercise']} {exercise.number} · {exercise_texts(lang, exercise.slug)['title']}"
    cells = [nbformat.v4.new_markdown_cell(f"{title}\n\n{common['solution']}"),
             _code(f'student_dir = "../../{student}"', ("parameters",)),
             _code(exercise.imports + "\n\n" + _PATHS, lang=lang),
             *[_code(source, lang=lang) for source in exercise.setup],
             *[_code(source, lang=lang) for source in exercise.solution],
             nbformat.v4.new_markdown_cell(common["check"]),
             _code(_check_call(exercise, save=False))]
    return _notebook(cells)


def _write_notebook(notebook: nbformat.NotebookNode, path: Path) -> None:
    nbformat.validate(notebook)
    atomic_write_text(path, nbformat.writes(notebook))


def _public_values(key: dict) -> dict:
    return {field: entry[field] for entry in key.values() for field in PUBLIC_FIELDS if field in entry}


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise WorkshopError(f"{out} already exists and is not empty: choose a new folder")
    inside = next((folder for folder in out.resolve().parents if (folder / STUDENT_FILE).is_file()), None)
    if inside is not None:  # its teacher folder would be in a folder a student is given
        raise WorkshopError(f"{out} is inside the student folder {inside}: choose a folder outside every workshop")


def _check_options(students: int, level: str, lang: str, customers: int) -> list[Exercise]:
    if lang not in LANGUAGES:
        raise WorkshopError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    if not 1 <= students <= 999:
        raise WorkshopError(f"--students must be between 1 and 999, got {students}")
    if customers < 100:
        raise WorkshopError(f"--customers must be at least 100 (segments and lead scoring need them), got {customers}")
    try:
        return exercises_for(level)
    except ValueError as exc:
        raise WorkshopError(str(exc)) from None


def new_workshop(out: str | os.PathLike, students: int = 20, seed: int | None = None, level: str = "intro",
                 lang: str = "en", customers: int = DEFAULT_CUSTOMERS) -> Workshop:
    """Create a workshop: per student a dirty portfolio, its config and the exercise notebooks; keys apart.

    Parameters
    ----------
    out : path
        New (or empty) folder.
    students : int
        Number of students (``student_01`` ...).
    seed : int, optional
        Workshop seed: the same seed gives the same portfolios, notebooks and keys, byte for byte.
        Whoever knows it can rebuild the keys with the kit, so keep it secret; a small one can be
        guessed (:func:`guessable_seed`). Default: a random seed (:func:`workshop_seed`), kept in
        ``teacher/workshop.json``.
    level : {"intro", "advanced"}
        ``intro`` notebooks show the kit's calls to start from; ``advanced`` ones only name the
        functions and add the advanced exercises (6: the forecast).
    lang : {"en", "fr"}
    customers : int
        Buying customers of each student's portfolio.

    Returns
    -------
    Workshop
    """
    out = Path(out)
    chosen = _check_options(students, level, lang, customers)
    _check_out(out)
    seed = workshop_seed(seed)
    teacher = out / "teacher"
    settings = {"students": students, "seed": seed, "level": level, "lang": lang, "customers": customers,
                "exercises": [exercise.number for exercise in chosen], "student_seeds": {}}
    folders = []
    for number in range(1, students + 1):
        student = f"student_{number:02d}"
        folder = out / student
        generator_seed, analysis_seed = student_seeds(seed, number)
        settings["student_seeds"][student] = {"generator": generator_seed, "analysis": analysis_seed}
        sample = generate_portfolio(customers, seed=generator_seed, dirty=True)
        sample.config["name"] = f"Workshop portfolio ({student})"
        sample.config["seed"] = analysis_seed
        sample.config["scoring"].pop("leads", None)  # exercise 5 asks for a lead scorecard: none to copy
        # Exercise 6 asks for 12 months ahead; the config keeps the company's longer planning horizon.
        sample.config.setdefault("clv", {})["horizon_months"] = PLANNING_MONTHS
        write_portfolio(sample, folder, answer_key=False)
        write_truth(sample, teacher / "truth" / f"{student}.json")
        context = KeyContext(sample, folder / "portfolio.yml", teacher / "check" / student)
        keys = {str(exercise.number): exercise.key(context) for exercise in chosen}
        atomic_write_json(teacher / "keys" / f"{student}.json", {"student": student, "exercises": keys})
        atomic_write_json(folder / STUDENT_FILE, {"student": student, "lang": lang, "level": level,
                                                  "exercises": settings["exercises"]})
        for exercise in chosen:
            public = _public_values(keys[str(exercise.number)])
            _write_notebook(student_notebook(exercise, lang, level, public), folder / exercise.file_name)
        folders.append(folder)
    for exercise in chosen:
        _write_notebook(solution_notebook(exercise, lang), teacher / "solutions" / exercise.file_name)
    atomic_write_json(teacher / "workshop.json", settings)
    return Workshop(out, folders, settings["exercises"], seed)
