"""Point-based scorecards: grade leads and customers so sales know whom to call first.

A scorecard adds up points from two groups of criteria:

fit
    *Who* the contact is (explicit data): role, company size, industry, budget, ...
    Each criterion tests one column of the ``attributes`` table.
engagement
    *What* the contact did (behaviour): downloads, meetings, email opens, ... counted
    in the ``events`` table (one row per event: id, ``date``, ``event``), plus column
    rules such as the lead source or the built-in ``days_since_last_event``.

Each group score is clipped to ``[0, cap]`` (the two caps add up to 100), the total
(0-100) gives a grade (A/B/C by default) and the pair of group scores a grid cell
(``A1`` = good fit and very engaged ... ``C3`` = poor fit, not engaged): a lead with a
good fit and no engagement needs nurturing, not the same call as an engaged student.

Config
------
One scorecard (e.g. ``scoring.leads`` of the portfolio config, already parsed):

.. code-block:: yaml

    fit:
      cap: 50                  # group score is clipped to [0, cap]
      criteria:
        - {column: role, equals: "CEO / owner", points: 15}
        - {column: role, in: [purchasing manager, operations manager], points: 10}
        - {column: role, equals: student / intern, points: -20, label: "student or intern"}
        - {column: employees, between: [50, 250], points: 10}    # lo inclusive, hi exclusive; null = open
        - {column: employees, at_least: 250, points: 15}
        - {column: budget, at_most: 1000, points: -5}
        - {column: budget, missing: true, points: -5}
        - {column: industry, not_in: [Education, Public sector], points: 5}
    engagement:
      cap: 50
      criteria:
        - {event: download, at_least: 3, within_days: 30, points: 15}   # raw count in the window
        - {event: meeting, at_least: 1, points: 20}                      # all events up to the date
        - {event: email_open, points_each: 2, max_points: 10}            # decayed count x 2, capped
        - {event: any, at_most: 0, within_days: 90, points: -10, label: "no activity for 90 days"}
        - {column: days_since_last_event, at_least: 120, points: -10}
        - {column: source, in: [referral, webinar], points: 10}
    decay: {half_life_days: 60}     # or {steps: [[30, 1.0], [90, 0.5], [180, 0.25]]}, {none: true}
    grades: {A: 70, B: 40}          # total >= 70 -> A, >= 40 -> B, else C
    grid: {fit: [35, 20], engagement: [30, 15]}

Criteria
--------
Every criterion has exactly one of ``column`` / ``event`` and:

* a condition, exactly one of ``equals``, ``in``, ``not_in``, ``between: [lo, hi]`` (``lo``
  inclusive, ``hi`` exclusive, ``null`` for an open end), ``at_least``, ``at_most``,
  ``missing: true|false``, and ``points`` (a number, negative allowed); or, for event
  rules only, ``points_each`` (points per event, weighted by the decay) with an optional
  ``max_points`` (cap on the absolute value of the criterion's points);
* optionally ``label`` (the text shown in the reasons and the column name of
  :func:`criterion_points`; an automatic one is written otherwise, labels must be
  unique) and, for event rules, ``within_days`` (a positive integer: only events at
  most that many days old count).

Column rules compare numbers numerically when the column is numeric and text
case-insensitively (after stripping blanks) otherwise; numeric conditions
(``between``, ``at_least``, ``at_most``) need a numeric column. Missing values (and
blank text) never match ``equals``, ``in``, ``not_in`` or a range: only
``missing: true`` matches them.

Event rules count the events of one type (``event: any`` counts every event; types
compare case-insensitively) dated up to the entity's reference date: events dated
*after* it are ignored entirely, so scoring a past contact as of the day before its
outcome never uses what happened next. The age of an event is the number of whole
calendar days between its date and the reference date (same day = 0; the time of day
is ignored, so an event on the reference day counts, one on the next day does not). Threshold
rules (``at_least``, ``at_most``, ``between``, ``equals``) test the raw count (no decay;
no event = 0); per-event rules give ``points_each x sum(decay weight of each event)``.

Column rules can also use three pseudo-columns computed from the events up to the
reference date: ``days_since_last_event`` (missing without events),
``days_since_first_event`` (idem) and ``n_events``. A real column of ``attributes``
with the same name wins.

Decay
-----
``{half_life_days: h}`` weighs an event ``0.5 ** (age / h)``; ``{steps: [[30, 1.0], [90,
0.5], [180, 0.25]]}`` weighs it 1 up to 30 days old, 0.5 up to 90, 0.25 up to 180 and 0
beyond; no ``decay`` (or ``{none: true}``) weighs every event 1.

Grades and grid
---------------
``grades`` maps grade names to thresholds on the total, strictly decreasing; the total
gets the first grade whose threshold it reaches and the lowest grade is implicit: the
letter after the last one (``{A: 70, B: 40}`` -> ``C``), or name it with a ``null``
threshold (``{Hot: 70, Warm: 40, Cold: null}``). ``grid`` gives two decreasing
thresholds per group: fit ``>= fit[0]`` -> ``A``, ``>= fit[1]`` -> ``B``, else ``C``;
engagement likewise -> ``1``, ``2``, ``3``. By default 2/3 and 1/3 of the group's cap.
Grades and grid cells are decided on the scores as shown (rounded to 0.1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from numbers import Real

import ibis
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine
from portfolio_helpers.core.config import check_known_keys
from portfolio_helpers.core.errors import ConfigError, ValueProblem
from portfolio_helpers.core.validation import is_engine_table, require_columns, require_count, suggest

__all__ = [
    "Decay",
    "Criterion",
    "Scorecard",
    "scorecard_from_config",
    "criterion_points",
    "score",
    "grade_distribution",
    "grid_counts",
    "PSEUDO_COLUMNS",
    "DEFAULT_GRADES",
]

SCORECARD_KEYS = ("fit", "engagement", "decay", "grades", "grid")
GROUPS = ("fit", "engagement")
GROUP_KEYS = ("cap", "criteria")
CONDITIONS = ("equals", "in", "not_in", "between", "at_least", "at_most", "missing")
NUMERIC_CONDITIONS = ("between", "at_least", "at_most")
EVENT_CONDITIONS = ("equals", "between", "at_least", "at_most")
CRITERION_KEYS = ("column", "event", *CONDITIONS, "points", "points_each", "max_points", "within_days", "label")
DECAY_KEYS = ("half_life_days", "steps", "none")
GRID_KEYS = ("fit", "engagement")
ANY_EVENT = "any"
#: Columns computed from the events when ``attributes`` has no column of that name.
PSEUDO_COLUMNS = ("days_since_last_event", "days_since_first_event", "n_events")
DEFAULT_GRADES: tuple[tuple[str, float], ...] = (("A", 70.0), ("B", 40.0))
GRID_LETTERS = ("A", "B", "C")
GRID_DIGITS = ("1", "2", "3")
MINUS = "\u2212"
EN_DASH = "\u2013"


# --------------------------------------------------------------------------- helpers

def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _number(value, where: str, what: str = "a number") -> float:
    if not _is_number(value):
        shown = f"text {value!r}" if isinstance(value, str) else repr(value)
        raise ConfigError(f"{where}: expected {what}, got {shown}")
    return float(value)


def _num(value) -> str:
    """A number for labels: ``1,000``, ``2.5``, ``0.25``."""
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{round(value, 6):,}"


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_number(value):
        return _num(value).replace(",", "")
    return str(value)


def _plural(word: str, count=2) -> str:
    if count == 1:
        return word
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def _fmt_points(points: float) -> str:
    """Signed points, Unicode minus, no decimals for whole numbers: ``+15``, ``−2.5``."""
    sign = "+" if points > 0 else MINUS
    size = abs(float(points))
    return f"{sign}{size:.0f}" if size.is_integer() else f"{sign}{size:.1f}"


def _values_text(values: Sequence) -> str:
    shown = "/".join(_text(v) for v in values[:3])
    return shown + (f" \u2026 (+{len(values) - 3})" if len(values) > 3 else "")


# --------------------------------------------------------------------------- decay

@dataclass(frozen=True)
class Decay:
    """Weight of an event by its age in days (no decay by default).

    Parameters
    ----------
    half_life_days : float, optional
        Weight ``0.5 ** (age / half_life_days)``.
    steps : tuple of (max_age_days, weight), optional
        Weight of the first step whose ``max_age_days`` the age does not exceed; 0 beyond
        the last step.

    Examples
    --------
    >>> Decay(half_life_days=60).weights([0, 60, 120]).tolist()
    [1.0, 0.5, 0.25]
    >>> Decay(steps=((30, 1.0), (90, 0.5))).weights([30, 31, 90, 91]).tolist()
    [1.0, 0.5, 0.5, 0.0]
    >>> Decay().weights([0, 1000]).tolist()
    [1.0, 1.0]
    """

    half_life_days: float | None = None
    steps: tuple[tuple[float, float], ...] = ()

    def __post_init__(self):
        if self.half_life_days is not None and self.steps:
            raise ValueProblem("give half_life_days or steps, not both")
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise ValueProblem(f"half_life_days must be positive, got {self.half_life_days!r}")

    @property
    def kind(self) -> str:
        """``"half_life"``, ``"steps"`` or ``"none"``."""
        if self.half_life_days is not None:
            return "half_life"
        return "steps" if self.steps else "none"

    def weights(self, age_days) -> np.ndarray:
        """The weight of each age (in days, ``>= 0``) as a float array."""
        age = np.asarray(age_days, dtype="float64")
        if self.half_life_days is not None:
            return np.power(0.5, age / self.half_life_days)
        if self.steps:
            bounds = np.array([s[0] for s in self.steps], dtype="float64")
            weights = np.append(np.array([s[1] for s in self.steps], dtype="float64"), 0.0)
            return weights[np.searchsorted(bounds, age, side="left")]
        return np.ones_like(age)

    def describe(self) -> str:
        """Short text: ``half-life 60 days``, ``steps 30d 1, 90d 0.5``, ``none``."""
        if self.half_life_days is not None:
            return f"half-life {_num(self.half_life_days)} days"
        if self.steps:
            return "steps " + ", ".join(f"{_num(a)}d {_num(w)}" for a, w in self.steps)
        return "none"


def _decay_from_config(spec, where: str) -> Decay:
    if spec is None:
        return Decay()
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected {{half_life_days: 60}}, {{steps: [[30, 1.0], [90, 0.5]]}} "
                          f"or {{none: true}}, got {spec!r}")
    check_known_keys(spec, DECAY_KEYS, where)
    given = [key for key in DECAY_KEYS if key in spec]
    if len(given) > 1:
        raise ConfigError(f"{where}: give one of half_life_days, steps or none, got {' and '.join(given)}")
    if not given:
        return Decay()
    key = given[0]
    value = spec[key]
    if key == "none":
        if value is not True:
            raise ConfigError(f"{where}.none: write `none: true` for no decay (or give half_life_days or steps), "
                              f"got {value!r}")
        return Decay()
    if key == "half_life_days":
        days = _number(value, f"{where}.half_life_days", "a positive number of days, e.g. 60")
        if days <= 0:
            raise ConfigError(f"{where}.half_life_days: must be positive, got {value!r}")
        return Decay(half_life_days=days)
    example = "[[30, 1.0], [90, 0.5], [180, 0.25]]"
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ConfigError(f"{where}.steps: expected a list of [max_age_days, weight] pairs such as {example}, "
                          f"got {value!r}")
    steps = []
    for i, step in enumerate(value):
        at = f"{where}.steps[{i}]"
        if not isinstance(step, Sequence) or isinstance(step, str) or len(step) != 2:
            raise ConfigError(f"{at}: expected [max_age_days, weight], e.g. [30, 1.0], got {step!r}")
        age = _number(step[0], at, "a number of days >= 0 as max_age_days")
        weight = _number(step[1], at, "a weight from 0 to 1")
        if age < 0:
            raise ConfigError(f"{at}: max_age_days must not be negative, got {step[0]!r}")
        if not 0 <= weight <= 1:
            raise ConfigError(f"{at}: the weight must be from 0 to 1, got {step[1]!r}")
        if steps and age <= steps[-1][0]:
            raise ConfigError(f"{at}: ages must increase from step to step, got {_num(age)} after "
                              f"{_num(steps[-1][0])}")
        steps.append((age, weight))
    return Decay(steps=tuple(steps))


# --------------------------------------------------------------------------- criteria

@dataclass(frozen=True)
class Criterion:
    """One scorecard rule (see the module docstring).

    Attributes
    ----------
    group : {"fit", "engagement"}
    label : str
        Unique name: reason text and column of :func:`criterion_points`.
    column, event : str or None
        Exactly one is set: the attribute column tested, or the event type counted
        (``"any"`` = every event).
    condition : str or None
        One of ``equals, in, not_in, between, at_least, at_most, missing``; ``None`` for a
        per-event rule.
    value
        The condition's value: a scalar, a tuple (``in``/``not_in``), ``(lo, hi)`` with
        ``None`` for an open end (``between``) or a bool (``missing``).
    points : float or None
        Points when the condition holds (``None`` for a per-event rule).
    points_each, max_points : float or None
        Per-event rule: points per (decay-weighted) event, cap on the absolute total.
    within_days : int or None
        Event rules: only events at most that many days old count.
    auto_label : bool
        Whether the label was written automatically (per-event reasons then show the
        actual weighted count).
    where : str
        Place in the config, for error messages.
    """

    group: str
    label: str
    column: str | None = None
    event: str | None = None
    condition: str | None = None
    value: object = None
    points: float | None = None
    points_each: float | None = None
    max_points: float | None = None
    within_days: int | None = None
    auto_label: bool = True
    where: str = field(default="", compare=False)

    @property
    def per_event(self) -> bool:
        return self.points_each is not None

    @property
    def event_key(self) -> str | None:
        return None if self.event is None else self.event.strip().casefold()

    def rule(self) -> str:
        """The rule as formal text, e.g. ``50 ≤ employees < 250`` (see :meth:`Scorecard.to_frame`)."""
        window = f" in the last {self.within_days} days" if self.within_days else ""
        if self.per_event:
            what = "event" if self.event_key == ANY_EVENT else f"{self.event} event"
            cap = f", at most {_num(self.max_points)} in total" if self.max_points is not None else ""
            return f"{_num(self.points_each)} per {what}{window}{cap}"
        if self.event is not None:
            subject = "events" if self.event_key == ANY_EVENT else f"{self.event} events"
            subject = f"count of {subject}{window}"
        else:
            subject = self.column
        value = self.value
        if self.condition == "equals":
            return f"{subject} = {_quote(value)}"
        if self.condition in ("in", "not_in"):
            word = "in" if self.condition == "in" else "not in"
            return f"{subject} {word} [{', '.join(_quote(v) for v in value)}]"
        if self.condition == "between":
            lo, hi = value
            if lo is None:
                return f"{subject} < {_num(hi)}"
            if hi is None:
                return f"{subject} \u2265 {_num(lo)}"
            return f"{_num(lo)} \u2264 {subject} < {_num(hi)}"
        if self.condition == "at_least":
            return f"{subject} \u2265 {_num(value)}"
        if self.condition == "at_most":
            return f"{subject} \u2264 {_num(value)}"
        return f"{subject} is {'missing' if value else 'known'}"


def _quote(value) -> str:
    return _num(value) if _is_number(value) else f'"{_text(value)}"'


def _auto_label(c: Criterion, decay: Decay) -> str:
    window = f" in {c.within_days} days" if c.within_days else ""
    if c.per_event:
        word = "event" if c.event_key == ANY_EVENT else c.event
        return f"{_plural(word)}{window}{' (decayed)' if decay.kind != 'none' else ''}"
    if c.event is not None:
        return _event_label(c, window)
    col, value = c.column, c.value
    if c.condition == "equals":
        return f"{col}={_text(value)}"
    if c.condition == "in":
        return f"{col} in {_values_text(value)}"
    if c.condition == "not_in":
        return f"{col} not in {_values_text(value)}"
    if c.condition == "between":
        lo, hi = value
        if lo is None:
            return f"{col} < {_num(hi)}"
        if hi is None:
            return f"{col} \u2265 {_num(lo)}"
        if float(lo).is_integer() and float(hi).is_integer():
            return f"{col}={_num(lo)}" if hi - lo == 1 else f"{col} {_num(lo)}{EN_DASH}{_num(hi - 1)}"
        return f"{col} {_num(lo)} to <{_num(hi)}"
    if c.condition == "at_least":
        if col == "days_since_last_event":
            return f"no activity for {_num(value)}+ days"
        return f"{col} \u2265 {_num(value)}"
    if c.condition == "at_most":
        return f"{col} \u2264 {_num(value)}"
    return f"{col} {'missing' if value else 'known'}"


def _event_label(c: Criterion, window: str) -> str:
    word = "event" if c.event_key == ANY_EVENT else c.event
    value = c.value
    nothing = ("no activity" if c.event_key == ANY_EVENT else f"no {c.event}") + window
    if c.condition == "at_least":
        return f"{_num(value)}+ {_plural(word)}{window}"
    if c.condition == "at_most":
        return nothing if value == 0 else f"at most {_num(value)} {_plural(word, value)}{window}"
    if c.condition == "equals":
        return nothing if value == 0 else f"exactly {_num(value)} {_plural(word, value)}{window}"
    lo, hi = value  # the config rejects [null, null]
    if hi is None:
        return f"{_num(lo)}+ {_plural(word)}{window}"
    if lo is None or lo <= 0:
        return f"fewer than {_num(hi)} {_plural(word)}{window}"
    if float(lo).is_integer() and float(hi).is_integer():
        if hi - lo == 1:
            return f"exactly {_num(lo)} {_plural(word, lo)}{window}"
        return f"{_num(lo)}{EN_DASH}{_num(hi - 1)} {_plural(word)}{window}"
    return f"{_num(lo)} to <{_num(hi)} {_plural(word)}{window}"


def _scalar(value, where: str, key: str):
    if value is None or isinstance(value, (Mapping, list, tuple, set)):
        raise ConfigError(f"{where}.{key}: expected one value (text or number), got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}.{key}: expected one value (text or number), got {value!r}")
    return value


def _condition_value(key: str, value, where: str, is_event: bool):
    if key == "equals":
        value = _scalar(value, where, key)
        if is_event:
            _number(value, f"{where}.equals", "a number of events")
        return value
    if key in ("in", "not_in"):
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{where}.{key}: expected a non-empty list of values such as [a, b], got {value!r}")
        return tuple(_scalar(v, where, key) for v in value)
    if key == "between":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ConfigError(f"{where}.between: expected [lo, hi] (lo inclusive, hi exclusive, null = open end), "
                              f"got {value!r}")
        lo, hi = (None if v is None else _number(v, f"{where}.between", "a number or null") for v in value)
        if lo is None and hi is None:
            raise ConfigError(f"{where}.between: at least one end must be a number, got {list(value)!r}")
        if lo is not None and hi is not None and lo >= hi:
            raise ConfigError(f"{where}.between: lo must be below hi (lo inclusive, hi exclusive), "
                              f"got [{_num(lo)}, {_num(hi)}]")
        return (lo, hi)
    if key in ("at_least", "at_most"):
        return _number(value, f"{where}.{key}")
    if not isinstance(value, bool):  # missing
        raise ConfigError(f"{where}.missing: expected true or false, got {value!r}")
    return value


def _criterion_from_config(spec, group: str, where: str) -> Criterion:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping such as {{column: role, equals: CEO, points: 10}}, "
                          f"got {spec!r}")
    check_known_keys(spec, CRITERION_KEYS, where)
    if "column" in spec and "event" in spec:
        raise ConfigError(f"{where}: give either `column` or `event`, not both "
                          f"(got column {spec['column']!r} and event {spec['event']!r})")
    if "column" not in spec and "event" not in spec:
        raise ConfigError(f"{where}: needs `column: <attribute>` or `event: <event type>`; got {dict(spec)!r}")
    kind = "column" if "column" in spec else "event"
    name = spec[kind]
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.{kind}: expected a {kind} name, got {name!r}")
    name = name.strip()
    is_event = kind == "event"
    conditions = [key for key in CONDITIONS if key in spec]
    for key in ("within_days", "points_each", "max_points"):
        if key in spec and not is_event:
            raise ConfigError(f"{where}: `{key}` is only for event rules (`event: ...`), not for column {name!r}")
    within = None
    if "within_days" in spec:
        within = spec["within_days"]
        if isinstance(within, float) and within.is_integer():
            within = int(within)
        if isinstance(within, bool) or not isinstance(within, int) or within < 1:
            raise ConfigError(f"{where}.within_days: expected a positive whole number of days, got {within!r}")
    label = spec.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise ConfigError(f"{where}.label: expected a non-empty text, got {label!r}")
    base = dict(group=group, label=label.strip() if label else "", column=None if is_event else name,
                event=name if is_event else None, within_days=within, auto_label=label is None, where=where)
    if "points_each" in spec:
        if conditions:
            raise ConfigError(f"{where}: a per-event rule (points_each) takes no condition, got "
                              f"{', '.join(conditions)}")
        if "points" in spec:
            raise ConfigError(f"{where}: give `points` (with a condition) or `points_each`, not both")
        each = _number(spec["points_each"], f"{where}.points_each", "points per event (a number)")
        cap = None
        if "max_points" in spec:
            cap = _number(spec["max_points"], f"{where}.max_points", "a positive number")
            if cap <= 0:
                raise ConfigError(f"{where}.max_points: must be positive (it caps the absolute points), "
                                  f"got {spec['max_points']!r}")
        return Criterion(points_each=each, max_points=cap, **base)
    if "max_points" in spec:
        raise ConfigError(f"{where}: `max_points` only goes with `points_each`")
    if not conditions:
        options = ", ".join(EVENT_CONDITIONS if is_event else CONDITIONS)
        extra = " (or points_each for per-event points)" if is_event else ""
        raise ConfigError(f"{where}: no condition; give one of {options}{extra}")
    if len(conditions) > 1:
        raise ConfigError(f"{where}: give exactly one condition, got {' and '.join(map(repr, conditions))}")
    condition = conditions[0]
    if is_event and condition not in EVENT_CONDITIONS:
        raise ConfigError(f"{where}: `{condition}` does not apply to an event count; use one of "
                          f"{', '.join(EVENT_CONDITIONS)}")
    if "points" not in spec:
        raise ConfigError(f"{where}: missing `points` (a number, negative allowed)")
    points = _number(spec["points"], f"{where}.points", "a number of points (negative allowed)")
    value = _condition_value(condition, spec[condition], where, is_event)
    return Criterion(condition=condition, value=value, points=points, **base)


# --------------------------------------------------------------------------- scorecard

def _grades(spec, where: str) -> tuple[tuple[tuple[str, float], ...], str]:
    if isinstance(spec, Mapping):
        items = list(spec.items())
    elif isinstance(spec, Sequence) and not isinstance(spec, str):
        items = [tuple(item) for item in spec]
    else:
        raise ConfigError(f"{where}: expected grade: threshold pairs such as {{A: 70, B: 40}}, got {spec!r}")
    lowest = None
    if items and items[-1][1] is None:
        lowest = str(items.pop()[0])
    if not items:
        raise ConfigError(f"{where}: give at least one grade with a threshold, e.g. {{A: 70, B: 40}}")
    grades = []
    for name, threshold in items:
        at = f"{where}.{name}"
        if threshold is None:
            raise ConfigError(f"{at}: only the last grade may have no threshold (null)")
        value = _number(threshold, at, "a threshold from 0 to 100")
        if not 0 <= value <= 100:
            raise ConfigError(f"{at}: the threshold must be from 0 to 100, got {threshold!r}")
        if grades and value >= grades[-1][1]:
            raise ConfigError(f"{where}: thresholds must be strictly decreasing, got "
                              + ", ".join(f"{n}: {_num(t)}" for n, t in items))
        grades.append((str(name), value))
    if lowest is None:
        last = grades[-1][0]
        if len(last) != 1 or not last.isalpha() or last in "zZ":
            raise ConfigError(f"{where}: name the lowest grade with a null threshold, "
                              f"e.g. {{{last}: {_num(grades[-1][1])}, Cold: null}}")
        lowest = chr(ord(last) + 1)
    names = [n for n, _ in grades] + [lowest]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: grade names must differ, got {', '.join(names)}")
    return tuple(grades), lowest


def _grid_pair(value, where: str, cap: float) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConfigError(f"{where}: expected two decreasing thresholds such as [35, 20], got {value!r}")
    first, second = (_number(v, where, "a number of points") for v in value)
    if not cap >= first > second >= 0:
        raise ConfigError(f"{where}: expected {_num(cap)} \u2265 first > second \u2265 0 (the group cap is "
                          f"{_num(cap)}), got {list(value)!r}")
    return (first, second)


@dataclass(frozen=True)
class Scorecard:
    """A validated scorecard (build it with :func:`scorecard_from_config`).

    Attributes
    ----------
    fit, engagement : tuple of Criterion
    fit_cap, engagement_cap : float
        Each group score is clipped to ``[0, cap]``; the caps add up to 100.
    decay : Decay
    grades : tuple of (name, threshold)
        Strictly decreasing thresholds on the total; ``lowest_grade`` below the last.
    lowest_grade : str
    grid_fit, grid_engagement : (float, float)
        Thresholds of grid letters A/B (fit) and digits 1/2 (engagement); default 2/3
        and 1/3 of the group cap.

    Examples
    --------
    >>> card = scorecard_from_config({
    ...     "fit": {"cap": 60, "criteria": [{"column": "employees", "at_least": 250, "points": 30}]},
    ...     "engagement": {"cap": 40, "criteria": [{"event": "meeting", "at_least": 1, "points": 20}]}})
    >>> [c.label for c in card.criteria]
    ['employees ≥ 250', '1+ meetings']
    >>> card.columns(), card.events()
    (('employees',), ('meeting',))
    >>> card.grid_fit, card.grid_engagement
    ((40.0, 20.0), (26.666666666666668, 13.333333333333334))
    >>> card.with_points({"1+ meetings": 25}).engagement[0].points
    25.0
    """

    fit: tuple[Criterion, ...]
    engagement: tuple[Criterion, ...]
    fit_cap: float = 50.0
    engagement_cap: float = 50.0
    decay: Decay = Decay()
    grades: tuple[tuple[str, float], ...] = DEFAULT_GRADES
    lowest_grade: str = "C"
    grid_fit: tuple[float, float] | None = None
    grid_engagement: tuple[float, float] | None = None

    def __post_init__(self):
        if self.grid_fit is None:
            object.__setattr__(self, "grid_fit", (self.fit_cap * 2 / 3, self.fit_cap / 3))
        if self.grid_engagement is None:
            object.__setattr__(self, "grid_engagement", (self.engagement_cap * 2 / 3, self.engagement_cap / 3))
        labels = [c.label for c in self.criteria]
        duplicated = sorted({label for label in labels if labels.count(label) > 1})
        if duplicated:
            raise ValueProblem(f"criterion labels must be unique, got {duplicated[0]!r} twice")

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """Fit criteria then engagement criteria, in config order."""
        return self.fit + self.engagement

    @property
    def grade_names(self) -> tuple[str, ...]:
        """Grades from best to worst, e.g. ``('A', 'B', 'C')``."""
        return (*(name for name, _ in self.grades), self.lowest_grade)

    def columns(self) -> tuple[str, ...]:
        """Attribute columns the column rules use (pseudo-columns left out), in config order."""
        names = (c.column for c in self.criteria if c.column is not None and c.column not in PSEUDO_COLUMNS)
        return tuple(dict.fromkeys(names))

    def events(self) -> tuple[str, ...]:
        """Event types the event rules count (``any`` left out), in config order."""
        names = (c.event for c in self.criteria if c.event is not None and c.event_key != ANY_EVENT)
        return tuple(dict.fromkeys(names))

    def criterion(self, label: str) -> Criterion:
        """The criterion with this label (``KeyError`` with a suggestion otherwise)."""
        for c in self.criteria:
            if c.label == label:
                return c
        raise KeyError(f"no criterion labelled {label!r}{suggest(label, [c.label for c in self.criteria])}")

    def with_points(self, changes: Mapping[str, float]) -> Scorecard:
        """A copy with the points of some criteria changed (``points_each`` for per-event rules).

        Parameters
        ----------
        changes : mapping label -> points

        Raises
        ------
        ValueError
            A label no criterion has (with the closest one) or points that are not a number.
        """
        labels = [c.label for c in self.criteria]
        for label, points in changes.items():
            if label not in labels:
                raise ValueProblem(f"no criterion labelled {label!r}{suggest(label, labels)}; "
                                 f"labels: {', '.join(labels)}")
            if not _is_number(points):
                raise ValueProblem(f"points for {label!r} must be a number, got {points!r}")

        def change(c: Criterion) -> Criterion:
            if c.label not in changes:
                return c
            new = float(changes[c.label])
            return replace(c, points_each=new) if c.per_event else replace(c, points=new)

        return replace(self, fit=tuple(map(change, self.fit)), engagement=tuple(map(change, self.engagement)))

    def with_thresholds(self, grades=None, grid_fit=None, grid_engagement=None) -> Scorecard:
        """A copy with other grade thresholds (the whole ladder, e.g. ``{"A": 75, "B": 45}``) or grid thresholds.

        Raises :class:`~portfolio_helpers.core.errors.ConfigError` on invalid thresholds, as the config does.
        """
        changes = {}
        if grades is not None:
            changes["grades"], changes["lowest_grade"] = _grades(grades, "grades")
        if grid_fit is not None:
            changes["grid_fit"] = _grid_pair(grid_fit, "grid.fit", self.fit_cap)
        if grid_engagement is not None:
            changes["grid_engagement"] = _grid_pair(grid_engagement, "grid.engagement", self.engagement_cap)
        return replace(self, **changes)

    def to_frame(self) -> pd.DataFrame:
        """The scorecard as a tidy table: group, label, rule, points, window (days).

        ``points`` is ``points_each`` for a per-event rule (its rule text says so, with
        the cap and the decay).

        Examples
        --------
        >>> card = scorecard_from_config({
        ...     "fit": {"cap": 50, "criteria": [{"column": "employees", "between": [50, 250], "points": 10}]},
        ...     "engagement": {"cap": 50, "criteria": [
        ...         {"event": "email_open", "points_each": 2, "max_points": 10, "within_days": 90}]},
        ...     "decay": {"half_life_days": 60}})
        >>> table = card.to_frame()
        >>> table[["group", "label", "points", "window"]]
                group                             label  points  window
        0         fit                  employees 50–249    10.0    <NA>
        1  engagement  email_opens in 90 days (decayed)     2.0      90
        >>> print(table.loc[1, "rule"])
        2 per email_open event in the last 90 days, at most 10 in total, decay half-life 60 days
        """
        rows = []
        for c in self.criteria:
            rule = c.rule()
            if c.per_event and self.decay.kind != "none":
                rule += f", decay {self.decay.describe()}"
            rows.append({"group": c.group, "label": c.label, "rule": rule,
                         "points": c.points_each if c.per_event else c.points, "window": c.within_days})
        frame = pd.DataFrame(rows, columns=["group", "label", "rule", "points", "window"])
        frame["points"] = frame["points"].astype("float64")
        frame["window"] = pd.array(frame["window"].tolist(), dtype="Int64")
        for column in ("group", "label", "rule"):
            frame[column] = frame[column].astype("string")
        return frame


def scorecard_from_config(section, where: str = "scoring") -> Scorecard:
    """Validate one scorecard of the config (e.g. ``scoring.leads``) and build it.

    Parameters
    ----------
    section : mapping
        The parsed YAML of one scorecard (module docstring).
    where : str, default "scoring"
        Its place in the config, used in error messages (e.g. ``"scoring.leads"``).

    Raises
    ------
    ConfigError
        Naming the place (``scoring.leads.fit.criteria[2]``) and the bad value: unknown
        key (with the closest allowed one), missing group, both or neither of
        ``column``/``event``, no or two conditions, bad values, caps not adding up to
        100, thresholds not decreasing, bad decay, duplicate labels.

    Examples
    --------
    >>> card = scorecard_from_config({
    ...     "fit": {"cap": 50, "criteria": [{"column": "role", "equals": "CEO", "points": 15}]},
    ...     "engagement": {"cap": 50, "criteria": []}, "grades": {"Hot": 60, "Warm": 30, "Cold": None}})
    >>> card.fit[0].label, card.grade_names
    ('role=CEO', ('Hot', 'Warm', 'Cold'))
    >>> scorecard_from_config({"fit": {"cap": 50, "criteria": [
    ...     {"column": "employees", "betwen": [50, 250], "points": 10}]},
    ...     "engagement": {"cap": 50}}, "scoring.leads")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: scoring.leads.fit.criteria[0]: unknown key 'betwen' (did you mean 'between'?); ...
    """
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: expected a scorecard mapping with fit: and engagement: groups, got {section!r}")
    check_known_keys(section, SCORECARD_KEYS, where)
    decay = _decay_from_config(section.get("decay"), f"{where}.decay")
    groups: dict[str, tuple[float, list[Criterion]]] = {}
    for group in GROUPS:
        at = f"{where}.{group}"
        spec = section.get(group)
        if spec is None:
            raise ConfigError(f"{at}: missing; give {group}: {{cap: 50, criteria: [...]}} "
                              f"(criteria may be an empty list)")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{at}: expected {{cap: 50, criteria: [...]}}, got {spec!r}")
        check_known_keys(spec, GROUP_KEYS, at)
        if "cap" not in spec:
            raise ConfigError(f"{at}: missing `cap` (the most points the group gives; fit and engagement caps "
                              f"add up to 100)")
        cap = _number(spec["cap"], f"{at}.cap", "a number of points from 0 to 100")
        if not 0 <= cap <= 100:
            raise ConfigError(f"{at}.cap: must be from 0 to 100, got {spec['cap']!r}")
        criteria_spec = spec.get("criteria") or []
        if not isinstance(criteria_spec, (list, tuple)):
            raise ConfigError(f"{at}.criteria: expected a list of criteria, got {criteria_spec!r}")
        criteria = []
        for i, item in enumerate(criteria_spec):
            c = _criterion_from_config(item, group, f"{at}.criteria[{i}]")
            criteria.append(c if not c.auto_label else replace(c, label=_auto_label(c, decay)))
        groups[group] = (cap, criteria)
    fit_cap, engagement_cap = groups["fit"][0], groups["engagement"][0]
    if not math.isclose(fit_cap + engagement_cap, 100):
        raise ConfigError(f"{where}: fit.cap + engagement.cap must add up to 100, got {_num(fit_cap)} + "
                          f"{_num(engagement_cap)} = {_num(fit_cap + engagement_cap)}")
    seen: dict[str, str] = {}
    for c in groups["fit"][1] + groups["engagement"][1]:
        if c.label in seen:
            raise ConfigError(f"{c.where}: label {c.label!r} is already used by {seen[c.label]}; give one of them "
                              f"a distinct `label:`")
        seen[c.label] = c.where
    grades, lowest = _grades(section["grades"], f"{where}.grades") if "grades" in section else (DEFAULT_GRADES, "C")
    grid = section.get("grid") or {}
    if not isinstance(grid, Mapping):
        raise ConfigError(f"{where}.grid: expected {{fit: [35, 20], engagement: [30, 15]}}, got {grid!r}")
    check_known_keys(grid, GRID_KEYS, f"{where}.grid")
    grid_fit = _grid_pair(grid["fit"], f"{where}.grid.fit", fit_cap) if "fit" in grid else None
    grid_engagement = (_grid_pair(grid["engagement"], f"{where}.grid.engagement", engagement_cap)
                       if "engagement" in grid else None)
    return Scorecard(fit=tuple(groups["fit"][1]), engagement=tuple(groups["engagement"][1]), fit_cap=fit_cap,
                     engagement_cap=engagement_cap, decay=decay, grades=grades, lowest_grade=lowest,
                     grid_fit=grid_fit, grid_engagement=grid_engagement)


# --------------------------------------------------------------------------- evaluation

def _entity_ids(attributes: pd.DataFrame, id_col: str) -> pd.Index:
    require_columns(attributes, [id_col], table="attributes")
    ids = pd.Index(attributes[id_col])
    if not ids.is_unique:
        dupes = ids[ids.duplicated()].unique()[:5]
        raise ValueProblem(f"attributes must have one row per {id_col}; repeated ids, e.g. "
                         f"{', '.join(map(repr, dupes.tolist()))}")
    return ids


def _datetimes(values) -> np.ndarray:
    """datetime64[ns] array (time zones dropped: local wall time)."""
    series = pd.Series(values)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    return series.to_numpy(dtype="datetime64[ns]")


def _reference_dates(reference_date, ids: pd.Index, id_col: str) -> np.ndarray:
    if isinstance(reference_date, pd.Series):
        ref = pd.to_datetime(reference_date)
        if not ref.index.is_unique:
            raise ValueProblem("reference_date must have one date per id (its index has repeated ids)")
        aligned = ref.reindex(ids)
        missing = ids[aligned.isna().to_numpy()]
        if len(missing):
            raise ValueProblem(f"reference_date has no date for {len(missing)} {id_col} value(s), e.g. "
                             f"{', '.join(map(repr, missing[:5].tolist()))} (index it by {id_col})")
        return _datetimes(aligned)
    stamp = pd.Timestamp(reference_date)
    if pd.isna(stamp):
        raise ValueProblem("reference_date is missing (NaT)")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return np.full(len(ids), stamp.to_datetime64(), dtype="datetime64[ns]")


@dataclass
class _Events:
    pos: np.ndarray     # entity position of each event kept
    age: np.ndarray     # whole days before the entity's reference date (>= 0)
    kind: np.ndarray    # code of the normalised event type (-1 = missing)
    kinds: pd.Index     # normalised event types


def _prepare_events(events: pd.DataFrame, id_col: str, ids: pd.Index, ref: np.ndarray,
                    need_type: bool) -> _Events:
    require_columns(events, [id_col, "date"] + (["event"] if need_type else []), table="events")
    if not pd.api.types.is_datetime64_any_dtype(events["date"]):
        raise ValueProblem(f"events['date'] must be datetime64 (use pd.to_datetime), got {events['date'].dtype}")
    pos = ids.get_indexer(pd.Index(events[id_col]))
    dates = _datetimes(events["date"])
    keep = pos >= 0
    keep[keep] = ~np.isnat(dates[keep])
    days = np.zeros(len(pos), dtype="int64")
    days[keep] = (ref[pos[keep]].astype("datetime64[D]") - dates[keep].astype("datetime64[D]")).astype("int64")
    keep &= days >= 0  # events dated after the reference date are ignored entirely
    pos, age = pos[keep], days[keep]
    if "event" in events.columns:
        types = events["event"].astype("string").str.strip().str.casefold()
        codes, kinds = pd.factorize(types, use_na_sentinel=True)
        codes = np.asarray(codes)[keep]
    else:
        codes, kinds = np.full(len(pos), -1), pd.Index([])
    return _Events(pos=pos, age=age, kind=codes, kinds=pd.Index(kinds))


def _pseudo_column(name: str, ev: _Events, n: int) -> np.ndarray:
    if name == "n_events":
        return np.bincount(ev.pos, minlength=n).astype("float64")
    ages = pd.Series(ev.age, dtype="float64").groupby(ev.pos)
    per_entity = ages.min() if name == "days_since_last_event" else ages.max()
    return per_entity.reindex(range(n)).to_numpy(dtype="float64")


def _event_figures(card: Scorecard, events: pd.DataFrame, id_col: str, ids: pd.Index, ref: np.ndarray,
                   need_type: bool, pseudo: list[str]) -> dict:
    """What the rules read from the events, per entity (arrays in the order of ``ids``): the pseudo-columns
    ``pseudo`` by name and, by criterion position, each event rule's count (its decay-weighted count for
    a per-event rule). From a frame: numpy over the events; from an engine table: one query grouping the
    events per entity where they are (:func:`_engine_event_figures`)."""
    if is_engine_table(events):
        return _engine_event_figures(card, events, id_col, ids, ref, need_type, pseudo)
    ev = _prepare_events(events, id_col, ids, ref, need_type)
    n = len(ids)
    figures: dict = {name: _pseudo_column(name, ev, n) for name in pseudo}
    for j, c in enumerate(card.criteria):
        if c.event is None:
            continue
        mask = _event_mask(c, ev)
        weights = card.decay.weights(ev.age[mask]) if c.per_event else None
        figures[j] = np.bincount(ev.pos[mask], weights=weights, minlength=n).astype("float64")
    return figures


def _engine_decay(decay: Decay, age):
    """:meth:`Decay.weights` as an engine expression of the age in days (``None`` without decay)."""
    if decay.half_life_days is not None:
        return ibis.literal(0.5) ** (age.cast("float64") / decay.half_life_days)
    if decay.steps:  # (searchsorted, side left: the first step whose bound is not below the age)
        return ibis.cases(*((age <= bound, float(weight)) for bound, weight in decay.steps), else_=0.0)
    return None  # (every event weighs 1: a count)


def _engine_event_figures(card: Scorecard, events, id_col: str, ids: pd.Index, ref: np.ndarray, need_type: bool,
                          pseudo: list[str]) -> dict:
    """:func:`_event_figures` of an engine table of events: joined to the entities (an in-memory table of
    their positions, ids and reference days), aged, grouped per entity in one query; one row per entity
    with events comes back. Ids are matched as numbers when both sides are numbers, else as text; event types
    are compared trimmed and lower-cased."""
    require_columns(events, [id_col, "date"] + (["event"] if need_type else []), table="events")
    if not events.date.type().is_temporal():
        raise ValueProblem(f"events['date'] must be a date or a timestamp, got {events.date.type()}")
    n = len(ids)
    # ids matched as numbers when both sides are numbers (1.0 is 1, as in pandas), else as text
    numeric = (pd.api.types.is_numeric_dtype(ids.dtype) and not pd.api.types.is_bool_dtype(ids.dtype)
               and events[id_col].type().is_numeric() and not events[id_col].type().is_boolean())
    entity_ids = (pd.Series(ids, dtype="float64").to_numpy() if numeric
                  else pd.Series(ids, dtype="string").to_numpy(object))
    entities = ibis.memtable(pd.DataFrame({"_entity": np.arange(n, dtype="int64"), "_id": entity_ids,
                                           "_ref": pd.to_datetime(ref).normalize()}))
    kind = events.event.cast("string").strip().lower() if "event" in events.columns else ibis.null("string")
    e = events.select(_id=events[id_col].cast("float64" if numeric else "string"), _day=events.date.cast("date"),
                      _kind=kind)
    e = e.filter(e._day.notnull())
    joined = e.join(entities, e._id == entities._id)
    age = joined._ref.cast("date").delta(joined._day, unit="day")
    aged = joined.select("_entity", "_kind", _age=age)
    aged = aged.filter(aged._age >= 0)  # events dated after the reference date are ignored entirely
    aggregates = {"n_events": aged.count(), "days_since_last_event": aged._age.min(),
                  "days_since_first_event": aged._age.max()}
    aggregates = {name: aggregates[name] for name in pseudo}
    for j, c in enumerate(card.criteria):
        if c.event is None:
            continue
        mask = ibis.literal(True)
        if c.event_key != ANY_EVENT:
            mask &= aged._kind == c.event_key
        if c.within_days is not None:
            mask &= aged._age <= c.within_days
        weight = _engine_decay(card.decay, aged._age) if c.per_event else None
        aggregates[f"_rule_{j}"] = aged.count(where=mask) if weight is None else weight.sum(where=mask)
    if not aggregates:
        return {}
    per = engine.execute(aged.group_by("_entity").aggregate(**aggregates))
    rows = per["_entity"].to_numpy(dtype="int64")
    figures: dict = {}
    for name in aggregates:
        missing = np.nan if name.startswith("days_since") else 0.0
        values = np.full(n, missing, dtype="float64")
        values[rows] = per[name].to_numpy(dtype="float64", na_value=missing)
        figures[int(name.removeprefix("_rule_")) if name.startswith("_rule_") else name] = values
    return figures


def _examples(values: pd.Series) -> str:
    shown = values.dropna().astype("string").unique()[:3]
    return ", ".join(repr(str(v)) for v in shown) or "(all missing)"


def _column_mask(c: Criterion, values: pd.Series) -> np.ndarray:
    dtype = values.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if numeric:
        x = values.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(x)
    else:
        text = values.astype("string").str.strip().str.casefold()
        missing = (text.isna() | (text == "")).to_numpy(dtype=bool, na_value=True)
        x = text.fillna("").to_numpy(dtype=object)
    if c.condition == "missing":
        return missing if c.value else ~missing
    if c.condition in NUMERIC_CONDITIONS:
        if not numeric:
            raise ConfigError(f"{c.where}: `{c.condition}` needs a numeric column, but {c.column!r} holds "
                              f"non-numeric values ({dtype}), e.g. {_examples(values)}")
        return ~missing & _numeric_condition(c.condition, c.value, x)
    targets = (c.value,) if c.condition == "equals" else c.value
    if numeric:
        wanted = [_as_number(v) for v in targets]
        if None in wanted:
            bad = targets[wanted.index(None)]
            raise ConfigError(f"{c.where}: column {c.column!r} is numeric but `{c.condition}` has the "
                              f"value {bad!r}; write numbers, e.g. {_examples(values)}")
        hit = np.isin(x, np.array(wanted, dtype="float64"))
    else:
        hit = np.isin(x, np.array([_text(v).strip().casefold() for v in targets], dtype=object))
    return ~missing & (~hit if c.condition == "not_in" else hit)


def _as_number(value) -> float | None:
    """A config value as a finite number (``50``, ``"50"``), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _numeric_condition(condition: str, value, x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if condition == "equals":
            return x == value
        if condition == "at_least":
            return x >= value
        if condition == "at_most":
            return x <= value
        lo, hi = value
        hit = np.ones(len(x), dtype=bool)
        if lo is not None:
            hit &= x >= lo
        if hi is not None:
            hit &= x < hi
        return hit


def _event_mask(c: Criterion, ev: _Events) -> np.ndarray:
    mask = np.ones(len(ev.pos), dtype=bool)
    if c.event_key != ANY_EVENT:
        code = ev.kinds.get_indexer([c.event_key])[0]
        mask &= ev.kind == code if code >= 0 else False
    if c.within_days is not None:
        mask &= ev.age <= c.within_days
    return mask


@dataclass
class _Evaluation:
    ids: pd.Index
    points: np.ndarray                                    # entities x criteria, raw points
    counts: dict[int, np.ndarray] = field(default_factory=dict)  # per-event rules: weighted counts


def _evaluate(card: Scorecard, attributes: pd.DataFrame, events: pd.DataFrame | None, id_col: str,
              reference_date) -> _Evaluation:
    ids = _entity_ids(attributes, id_col)
    ref = _reference_dates(reference_date, ids, id_col)
    n, criteria = len(ids), card.criteria
    available = [str(col) for col in attributes.columns if col != id_col]
    for c in criteria:
        if c.column is not None and c.column not in attributes.columns and c.column not in PSEUDO_COLUMNS:
            options = available + list(PSEUDO_COLUMNS)
            raise ConfigError(f"{c.where}: column {c.column!r} is not in the attributes"
                              f"{suggest(c.column, options)}; available: {', '.join(options)}")
    users = [c for c in criteria if c.event is not None
             or (c.column in PSEUDO_COLUMNS and c.column not in attributes.columns)]
    if users:
        if events is None:
            raise ValueProblem(f"{users[0].where}: this rule uses events ({users[0].label!r}) but no events table "
                             f"was given; pass events=<frame with {id_col}, date, event>")
        need_type = any(c.event is not None and c.event_key != ANY_EVENT for c in users)
        pseudo = sorted({c.column for c in users if c.column is not None})
        figures = _event_figures(card, events, id_col, ids, ref, need_type, pseudo)
    points = np.zeros((n, len(criteria)), dtype="float64")
    counts: dict[int, np.ndarray] = {}
    for j, c in enumerate(criteria):
        if c.column is not None:
            if c.column in attributes.columns:
                values = attributes[c.column].reset_index(drop=True)
            else:
                values = pd.Series(figures[c.column])
            points[:, j] = np.where(_column_mask(c, values), c.points, 0.0)
            continue
        if c.per_event:
            weighted = figures[j]
            counts[j] = weighted
            given = c.points_each * weighted
            points[:, j] = given if c.max_points is None else np.clip(given, -c.max_points, c.max_points)
        else:
            count = figures[j]
            points[:, j] = np.where(_numeric_condition(c.condition, c.value, count), c.points, 0.0)
    return _Evaluation(ids=ids, points=points, counts=counts)


def criterion_points(scorecard: Scorecard, attributes: pd.DataFrame, events: pd.DataFrame | None = None, *,
                     id_col: str, reference_date) -> pd.DataFrame:
    """The raw points each criterion gives each entity, before the group caps.

    Parameters
    ----------
    scorecard : Scorecard
    attributes : DataFrame
        One row per entity (``id_col`` unique) with the columns the column rules test.
    events : DataFrame or Ibis table, optional
        Columns ``id_col``, ``date`` (datetime64) and ``event``; needed by event rules and
        pseudo-columns. An engine table (e.g. the order events of billions of lines) is grouped
        per entity where it lives, in one query: one row per entity comes back, never one per
        event (ids matched as numbers when both are numbers, else as text; event types trimmed
        and lower-cased, which is the case-folding of the frame path for every type written in
        ASCII).
    id_col : str
    reference_date : date-like or Series
        Score "as of" this date; a Series indexed by id gives each entity its own date.
        Events dated after it are ignored.

    Returns
    -------
    DataFrame
        Indexed by id (in the order of ``attributes``), one float column per criterion
        named by its label (fit criteria first).

    Examples
    --------
    >>> card = scorecard_from_config({
    ...     "fit": {"cap": 50, "criteria": [{"column": "employees", "at_least": 250, "points": 15}]},
    ...     "engagement": {"cap": 50, "criteria": [{"event": "download", "at_least": 2, "points": 10}]}})
    >>> attributes = pd.DataFrame({"lead_id": ["a", "b"], "employees": [300, 20]})
    >>> events = pd.DataFrame({"lead_id": ["a", "b", "b"], "event": ["download"] * 3,
    ...                        "date": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-03"])})
    >>> criterion_points(card, attributes, events, id_col="lead_id", reference_date="2024-06-01")
    ... # doctest: +NORMALIZE_WHITESPACE
             employees ≥ 250  2+ downloads
    lead_id
    a                   15.0           0.0
    b                    0.0          10.0
    """
    result = _evaluate(scorecard, attributes, events, id_col, reference_date)
    return pd.DataFrame(result.points, index=result.ids.rename(id_col),
                        columns=pd.Index([c.label for c in scorecard.criteria]))


def _strings(values: np.ndarray, fmt) -> np.ndarray:
    """``fmt`` applied once per distinct value (object array)."""
    uniques, inverse = np.unique(values, return_inverse=True)
    texts = np.empty(len(uniques), dtype=object)
    texts[:] = [fmt(u) for u in uniques]
    return texts[inverse.reshape(-1)]


def _reasons(card: Scorecard, result: _Evaluation, n_reasons: int) -> np.ndarray:
    n, k = result.points.shape
    out = np.full(n, "", dtype=object)
    if n == 0 or k == 0 or n_reasons == 0:
        return out
    rounded = np.round(result.points, 1)
    texts = np.empty((n, k), dtype=object)
    for j, c in enumerate(card.criteria):
        label: object = c.label
        if c.per_event and c.auto_label:
            word = "event" if c.event_key == ANY_EVENT else c.event
            tail = (f" in {c.within_days} days" if c.within_days else "") + (
                " (decayed)" if card.decay.kind != "none" else "")
            label = _strings(np.round(result.counts[j], 1), lambda x, w=word, t=tail: f"{_num(x)} "
                             f"{_plural(w, x)}{t}")
        column = _strings(rounded[:, j], _fmt_points) + " " + label
        column[rounded[:, j] == 0] = ""
        texts[:, j] = column
    order = np.argsort(-np.abs(rounded), axis=1, kind="stable")[:, :n_reasons]
    picked = np.take_along_axis(texts, order, axis=1)
    out = picked[:, 0].copy()
    for r in range(1, picked.shape[1]):
        more = picked[:, r] != ""
        out[more] = out[more] + "; " + picked[more, r]
    return out


def _ladder(values: np.ndarray, thresholds: Sequence[float], names: Sequence[str]) -> np.ndarray:
    """The first name whose threshold the value reaches; the last name below all."""
    return np.select([values >= t for t in thresholds], list(names[:-1]), default=names[-1])


def score(scorecard: Scorecard, attributes: pd.DataFrame, events: pd.DataFrame | None = None, *, id_col: str,
          reference_date, n_reasons: int = 3) -> pd.DataFrame:
    """Score, grade and grid cell of each entity, with the main reasons.

    Parameters
    ----------
    scorecard : Scorecard
    attributes, events, id_col, reference_date
        As for :func:`criterion_points`.
    n_reasons : int, default 3
        At most this many reasons per entity.

    Returns
    -------
    DataFrame
        In the order (and with the index) of ``attributes``: ``id_col``, ``fit_score``,
        ``engagement_score`` (each the sum of its criteria clipped to ``[0, cap]``),
        ``total_score`` (their sum, 0-100; all rounded to 0.1), ``grade`` and ``grid``
        (categoricals, best first) and ``top_reasons``: the criteria that gave points,
        largest absolute points first (ties in config order), e.g.
        ``+20 meetings; −10 no activity for 120+ days``.

    Examples
    --------
    >>> card = scorecard_from_config({
    ...     "fit": {"cap": 50, "criteria": [{"column": "employees", "at_least": 250, "points": 40},
    ...                                     {"column": "role", "equals": "student", "points": -20}]},
    ...     "engagement": {"cap": 50, "criteria": [{"event": "meeting", "at_least": 1, "points": 35}]}})
    >>> attributes = pd.DataFrame({"lead_id": ["a", "b"], "employees": [300, 10], "role": ["CEO", "Student"]})
    >>> events = pd.DataFrame({"lead_id": ["a"], "event": ["meeting"], "date": pd.to_datetime(["2024-05-01"])})
    >>> scored = score(card, attributes, events, id_col="lead_id", reference_date="2024-06-01")
    >>> scored[["lead_id", "fit_score", "engagement_score", "total_score", "grade", "grid"]]
      lead_id  fit_score  engagement_score  total_score grade grid
    0       a       40.0              35.0         75.0     A   A1
    1       b        0.0               0.0          0.0     C   C3
    >>> scored["top_reasons"].tolist()
    ['+40 employees ≥ 250; +35 1+ meetings', '−20 role=student']
    """
    require_count(n_reasons, "n_reasons")
    result = _evaluate(scorecard, attributes, events, id_col, reference_date)
    n_fit = len(scorecard.fit)
    fit = np.round(np.clip(result.points[:, :n_fit].sum(axis=1), 0, scorecard.fit_cap), 1)
    engagement = np.round(np.clip(result.points[:, n_fit:].sum(axis=1), 0, scorecard.engagement_cap), 1)
    total = np.round(fit + engagement, 1)
    names = scorecard.grade_names
    grade = _ladder(total, [t for _, t in scorecard.grades], names)
    letters = _ladder(fit, scorecard.grid_fit, GRID_LETTERS)
    digits = _ladder(engagement, scorecard.grid_engagement, GRID_DIGITS)
    cells = [letter + digit for letter in GRID_LETTERS for digit in GRID_DIGITS]
    index = attributes.index
    return pd.DataFrame({
        id_col: attributes[id_col],
        "fit_score": pd.Series(fit, index=index),
        "engagement_score": pd.Series(engagement, index=index),
        "total_score": pd.Series(total, index=index),
        "grade": pd.Categorical(grade, categories=list(names)),
        "grid": pd.Categorical(np.char.add(letters.astype(str), digits.astype(str)), categories=cells),
        "top_reasons": pd.array(_reasons(scorecard, result, n_reasons), dtype="string"),
    }, index=index)


def grade_distribution(scored: pd.DataFrame) -> pd.DataFrame:
    """Contacts per grade (every grade of the scorecard, best first, zeros included) and their share.

    Examples
    --------
    >>> scored = pd.DataFrame({"grade": pd.Categorical(["A", "C", "C"], categories=["A", "B", "C"])})
    >>> grade_distribution(scored)
      grade  contacts     share
    0     A         1  0.333333
    1     B         0  0.000000
    2     C         2  0.666667
    """
    grades = scored["grade"]
    if isinstance(grades.dtype, pd.CategoricalDtype):
        names = [str(g) for g in grades.cat.categories]
    else:
        names = sorted(map(str, grades.dropna().unique()))
    counts = grades.astype("string").value_counts().reindex(names, fill_value=0).to_numpy(dtype="int64")
    total = counts.sum()
    share = counts / total if total else np.zeros(len(counts))
    return pd.DataFrame({"grade": pd.array(names, dtype="string"), "contacts": counts, "share": share})


def grid_counts(scored: pd.DataFrame) -> pd.DataFrame:
    """Contacts per grid cell: fit letters A/B/C as rows, engagement digits 1/2/3 as columns.

    Examples
    --------
    >>> grid_counts(pd.DataFrame({"grid": ["A1", "A1", "C3", "B2"]}))  # doctest: +NORMALIZE_WHITESPACE
    engagement  1  2  3
    fit
    A           2  0  0
    B           0  1  0
    C           0  0  1
    """
    cells = scored["grid"].astype("string")
    table = pd.crosstab(cells.str[0].rename("fit"), cells.str[1:].rename("engagement"))
    table = table.reindex(index=list(GRID_LETTERS), columns=list(GRID_DIGITS), fill_value=0).astype("int64")
    table.index.name, table.columns.name = "fit", "engagement"
    return table
