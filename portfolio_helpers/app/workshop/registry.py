"""The exercise registry: what an exercise is, and the list of them.

An exercise is data, not a notebook: the names of the answer variables and how each is
scored (:class:`Answer`), the code cells a student starts from and the ones that solve it,
and a function that computes its answer key from a :class:`~portfolio_helpers.app.workshop.keys.KeyContext`
(the generator's truth and the kit's analyses on the student's own portfolio). The texts
(English and French) live in :mod:`portfolio_helpers.app.workshop.texts` under the
exercise's ``slug``.

Adding an exercise (exercise 6, the advanced forecast, is the latest example):
write its :class:`Exercise` with ``level="advanced"``, its ``key`` function, its texts in
both languages, and call :func:`register`. Nothing else changes: the workshop builder
renders every registered exercise of the requested level, the checker scores every answer
with the generic kinds of :mod:`~portfolio_helpers.app.workshop.grading` (or a kind it adds
there), and the grade sheet gets a column for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "Exercise", "EXERCISES", "LEVELS", "register", "exercises_for"]

#: Levels of a workshop; an exercise of level ``intro`` is in every workshop.
LEVELS: tuple[str, ...] = ("intro", "advanced")


@dataclass(frozen=True)
class Answer:
    """One answer variable of an exercise notebook.

    Attributes
    ----------
    name : str
        Variable the student assigns (``n_duplicate_customers = ...``).
    kind : str
        How it is scored, see :data:`portfolio_helpers.app.workshop.grading.KINDS`.
    points : int
        Points for a correct answer.
    """

    name: str
    kind: str
    points: int = 1


@dataclass(frozen=True)
class Exercise:
    """One exercise notebook.

    Attributes
    ----------
    number : int
        Its number (file ``exNN_<slug>.ipynb``, column of the grade sheet).
    slug : str
        Short name, also the key of its texts.
    level : str
        ``"intro"`` (every workshop) or ``"advanced"`` (only ``--level advanced``).
    answers : tuple of Answer
    imports : str
        Code of the imports cell (student and solution notebooks).
    setup : tuple of str
        Code cells every student gets: load the data the exercise starts from.
    explore : tuple of str
        Code cells shown at the intro level only: the kit's calls to look at the result.
    solution : tuple of str
        Code cells of the teacher's solution, assigning every answer variable.
    key : callable
        ``key(context) -> dict``: answer name -> key entry (JSON-serialisable), see
        :func:`portfolio_helpers.app.workshop.grading.grade_answer`.
    """

    number: int
    slug: str
    level: str
    answers: tuple[Answer, ...]
    imports: str
    setup: tuple[str, ...]
    explore: tuple[str, ...]
    solution: tuple[str, ...]
    key: Callable[[Any], dict] = field(repr=False, compare=False, default=lambda context: {})

    @property
    def file_name(self) -> str:
        return f"ex{self.number:02d}_{self.slug}.ipynb"

    @property
    def max_points(self) -> int:
        return sum(answer.points for answer in self.answers)


#: Every exercise, by number.
EXERCISES: dict[int, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to :data:`EXERCISES` (its number must be new, its level known)."""
    if exercise.level not in LEVELS:
        raise ValueError(f"unknown level {exercise.level!r}; expected one of {', '.join(LEVELS)}")
    if exercise.number in EXERCISES and EXERCISES[exercise.number] != exercise:
        raise ValueError(f"exercise {exercise.number} is already registered ({EXERCISES[exercise.number].slug})")
    EXERCISES[exercise.number] = exercise
    return exercise


def exercises_for(level: str) -> list[Exercise]:
    """The exercises of a workshop of this level, in order (``advanced`` includes ``intro``).

    Examples
    --------
    >>> from portfolio_helpers.app.workshop import exercises
    >>> [exercise.number for exercise in exercises_for("intro")]
    [1, 2, 3, 4, 5]
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    allowed = LEVELS[: LEVELS.index(level) + 1]
    return [EXERCISES[number] for number in sorted(EXERCISES) if EXERCISES[number].level in allowed]
