"""The survey scale of the ``feedback`` table, and the answers set aside because they do not fit it.

The config declares the scale once::

    feedback: {scale: nps}              # 0–10: promoters 9–10, passives 7–8, detractors 0–6
    feedback: {scale: csat}             # 1–5: satisfied 4–5
    feedback: {scale: {min: 1, max: 7}} # any other whole-number scale of 4+ points: satisfied = its top two

:func:`feedback_scale` reads and checks that section (a mistake names the place in the config);
:func:`screen_feedback` sets aside, like every other row-level problem, the answers whose score is
not a whole number of the scale or that are dated after the analysis date: they go to
``exports/rejected_rows.csv`` with their file, line, value and reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from portfolio_helpers.core.config import check_known_keys
from portfolio_helpers.core.errors import ConfigError, RowProblemsError
from portfolio_helpers.ingest.loaders import REJECTED_COLUMNS, ROW_REJECTED, Portfolio

__all__ = ["FeedbackScale", "NPS", "CSAT", "feedback_scale", "scale_problems", "screen_feedback"]

FEEDBACK_KEYS = ("scale",)


@dataclass(frozen=True)
class FeedbackScale:
    """A whole-number survey scale from ``low`` to ``high``.

    ``kind`` is ``nps`` (0–10, read as promoters / passives / detractors), ``csat`` (1–5) or
    ``custom``; ``satisfied_from`` is the lowest score counted as satisfied (the top two points).
    """

    kind: str
    low: int
    high: int

    @property
    def is_nps(self) -> bool:
        return self.kind == "nps"

    @property
    def satisfied_from(self) -> int:
        return 9 if self.is_nps else self.high - 1

    @property
    def label(self) -> str:
        """``NPS scale (0–10)``, ``CSAT scale (1–5)``, ``scale 1–7``."""
        if self.kind == "custom":
            return f"scale {self.low}–{self.high}"
        return f"{self.kind.upper()} scale ({self.low}–{self.high})"


NPS = FeedbackScale("nps", 0, 10)
CSAT = FeedbackScale("csat", 1, 5)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def feedback_scale(section: Mapping | None, config_path=None) -> FeedbackScale | None:
    """The scale declared under ``feedback:`` in the config, or ``None`` when there is no section.

    Raises
    ------
    ConfigError
        Naming the place (``feedback.scale``, ``feedback.scale.max``) and what is expected.

    Examples
    --------
    >>> feedback_scale({"scale": "nps"}).label, feedback_scale({"scale": {"min": 1, "max": 7}}).satisfied_from
    ('NPS scale (0–10)', 6)
    >>> feedback_scale({"scale": "stars"})
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: feedback.scale: expected nps (0–10), csat (1–5) or {min: 1, max: 7}, got 'stars'
    """
    if section is None:
        return None
    where = f"{config_path}: feedback" if config_path else "feedback"
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: expected a mapping such as {{scale: nps}}, got {section!r}")
    check_known_keys(section, FEEDBACK_KEYS, where)
    spec = section.get("scale")
    expected = "expected nps (0–10), csat (1–5) or {min: 1, max: 7}"
    if isinstance(spec, str) and spec.strip().lower() in ("nps", "csat"):
        return NPS if spec.strip().lower() == "nps" else CSAT
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}.scale: {expected}, got {spec!r}")
    check_known_keys(spec, ("min", "max"), f"{where}.scale")
    for key in ("min", "max"):
        if not _whole(spec.get(key)):
            raise ConfigError(f"{where}.scale.{key}: expected a whole number, got {spec.get(key)!r}")
    if spec["max"] - spec["min"] < 3:  # the top two and the bottom two points must not overlap
        raise ConfigError(f"{where}.scale.max: expected at least min + 3 ({spec['min'] + 3}: satisfied and "
                          f"dissatisfied are the top two and the bottom two points), got {spec['max']!r}")
    return FeedbackScale("custom", spec["min"], spec["max"])


def scale_problems(scores: pd.Series, scale: FeedbackScale) -> pd.Series:
    """Per score, why it does not fit ``scale`` (missing when it fits).

    Examples
    --------
    >>> scale_problems(pd.Series([9.0, 11.0, 7.5, -1.0]), NPS).tolist()
    [<NA>, 'score outside the NPS scale (0–10)', 'score not a whole number of the NPS scale (0–10)', 'score outside the NPS scale (0–10)']
    """
    values = pd.to_numeric(scores, errors="coerce").astype("float64")
    outside = (values < scale.low) | (values > scale.high)
    fractional = ~outside & values.notna() & (values % 1 != 0)
    reason = np.select([outside.to_numpy(), fractional.to_numpy()],
                       [f"score outside the {scale.label}", f"score not a whole number of the {scale.label}"],
                       default="")
    return pd.Series(reason, index=scores.index, dtype="string").replace("", pd.NA)


def _problem_frame(feedback: pd.DataFrame, mask: pd.Series, column: str, values: pd.Series, reasons,
                   portfolio: Portfolio) -> pd.DataFrame:
    source = portfolio.config.tables["feedback"]
    mapping = portfolio.detected.get("feedback", {}).get("columns", {})
    return pd.DataFrame({
        "table": "feedback", "file": str(source.path), "line": feedback.loc[mask, "source_line"].to_numpy(),
        "column": column, "source_column": mapping.get(column, column),
        "value": values[mask].to_numpy(), "reason": reasons, "action": ROW_REJECTED,
    }, columns=REJECTED_COLUMNS)


def screen_feedback(portfolio: Portfolio, strict: bool = False) -> Portfolio:
    """The portfolio with the survey answers that do not fit the scale (or are dated after ``as_of``) set aside.

    Without a ``feedback`` table the portfolio is returned as it is. With one, the config must
    declare the scale (``feedback: {scale: ...}``). The answers set aside join
    ``Portfolio.rejected`` (file, line, column, value, reason), like the loader's row problems.

    Raises
    ------
    ConfigError
        A feedback table without a valid ``feedback: {scale: ...}`` section.
    RowProblemsError
        With ``strict``, when an answer is set aside.
    """
    feedback = portfolio.tables.get("feedback")
    if feedback is None:
        return portfolio
    scale = feedback_scale(portfolio.config.sections.get("feedback"), portfolio.config.path)
    if scale is None:
        raise ConfigError(f"{portfolio.config.path}: feedback: the feedback table needs its scale, e.g. "
                          f"`feedback: {{scale: nps}}` (0–10), `csat` (1–5) or `{{scale: {{min: 1, max: 7}}}}`")
    reasons = scale_problems(feedback["score"], scale)
    bad_score = reasons.notna()
    late = ~bad_score & (feedback["date"] >= portfolio.as_of.normalize() + pd.Timedelta(days=1))
    problems = [
        _problem_frame(feedback, bad_score, "score", feedback["score"].map("{:g}".format),
                       reasons[bad_score].to_numpy(), portfolio),
        _problem_frame(feedback, late, "date", feedback["date"].dt.strftime("%Y-%m-%d"),
                       f"dated after as_of ({portfolio.as_of.date()})", portfolio),
    ]
    problems = [frame for frame in problems if len(frame)]
    if not problems:
        return portfolio
    added = pd.concat(problems, ignore_index=True).astype({c: "string" for c in REJECTED_COLUMNS if c != "line"})
    if strict:
        raise RowProblemsError(f"{len(added)} survey answer(s) set aside and --strict is set: "
                               + "; ".join(f"line {line}: {reason}" for line, reason
                                           in zip(added["line"].head(5), added["reason"].head(5), strict=True)))
    tables = dict(portfolio.tables)
    tables["feedback"] = feedback.loc[~(bad_score | late)].reset_index(drop=True)
    rejected = pd.concat([portfolio.rejected, added], ignore_index=True) if len(portfolio.rejected) else added
    return dataclasses.replace(portfolio, tables=tables, rejected=rejected)
