"""The analysis of notebook 08 (the customer's voice) in one call: :func:`voice_results`.

It runs, on the portfolio's tables, the measures of :mod:`~portfolio_helpers.analysis.satisfaction`
(NPS or CSAT overall, per period and per group; response rate; behaviour after the answers; the
valuable detractors) and puts the valuable detractors through the contact rules of
:mod:`~portfolio_helpers.analysis.contact`. It returns figures only: the wording, the charts and the
log of who was left out of the call list are :mod:`portfolio_helpers.reporting.voice`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from portfolio_helpers.analysis import contact, satisfaction, scoring, segmentation
from portfolio_helpers.cleaning.feedback import FeedbackScale, feedback_scale
from portfolio_helpers.core.config import PortfolioConfig
from portfolio_helpers.core.presence import has_values, present_columns, table_with_values

__all__ = ["GROUP_DIMENSIONS", "DETRACTOR_LIST", "VoiceResults", "voice_results", "period_freq", "whole_scores"]

#: The customer attributes satisfaction is measured by, when the data has them (the segments come from
#: notebook 04's saved table).
GROUP_DIMENSIONS = ("rfm_segment", "cluster_name", "industry", "customer_type", "owner")
#: The name of the valuable detractors' call list (in the contact log and the exports).
DETRACTOR_LIST = "valuable_detractors"


@dataclass
class VoiceResults:
    """Everything notebook 08 shows; ``scale`` is ``None`` without a feedback table.

    ``detractor_contacts`` is the valuable detractors' list after the contact rules (its ``frame``
    is ``detractors``); ``n_detractors_listed`` counts them before the rules.
    """

    tables: dict
    scale: FeedbackScale | None = None
    window_days: int = 365
    latest: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)
    freq: str = "quarter"
    periods: pd.DataFrame | None = None
    groups: dict[str, pd.DataFrame] = field(default_factory=dict)
    response: dict = field(default_factory=dict)
    after: pd.DataFrame | None = None
    behaviour: pd.DataFrame | None = None
    gap: satisfaction.ChurnGap | None = None
    detractors: pd.DataFrame | None = None
    detractor_contacts: contact.ContactResult | None = None
    n_detractors_listed: int = 0

    @property
    def has_feedback(self) -> bool:
        return self.scale is not None and self.latest is not None and len(self.latest) > 0


def period_freq(dates: pd.Series) -> str:
    """The period of the satisfaction trend: ``month`` under 270 days of answers, ``quarter`` up to 4 years, else ``year``.

    Examples
    --------
    >>> period_freq(pd.to_datetime(pd.Series(["2025-01-01", "2025-06-01"]))), period_freq(pd.Series([], dtype="M8[ns]"))
    ('month', 'month')
    >>> period_freq(pd.to_datetime(pd.Series(["2021-01-01", "2025-06-01"])))
    'year'
    """
    span = (dates.max() - dates.min()).days if len(dates) else 0
    return "month" if span < 270 else ("quarter" if span <= 4 * 365 else "year")


def whole_scores(scores: pd.Series) -> pd.Series:
    """Scores as whole numbers when they all are (``9``, not ``9.0``, in tables and exports).

    Examples
    --------
    >>> whole_scores(pd.Series([9.0, None])).tolist(), whole_scores(pd.Series([4.5])).tolist()
    ([9, <NA>], [4.5])
    """
    whole = scores.dropna()
    return scores.round().astype("Int64") if (whole % 1 == 0).all() else scores


def _attributes(tables: dict, output_dir) -> pd.DataFrame | None:
    """One row per customer: industry, type and owner (customers table), RFM segment and cluster (notebook 04)."""
    customers = table_with_values(tables, "customers")
    segments = segmentation.load_segments(output_dir) if output_dir is not None else None
    frames = []
    if customers is not None:
        columns = present_columns(customers, ("industry", "customer_type", "owner"))
        frames.append(customers.drop_duplicates("customer_id").set_index("customer_id")[columns])
    if segments is not None:
        frames.append(segments.drop_duplicates("customer_id").set_index("customer_id")[["rfm_segment", "cluster_name"]])
    if not frames:
        return None
    return pd.concat(frames, axis=1).rename_axis("customer_id").reset_index()


def _detractor_list(feedback: pd.DataFrame, tables: dict, scale: FeedbackScale) -> pd.DataFrame:
    listed = satisfaction.valuable_detractors(feedback, tables["transactions"], scale,
                                              extra_columns=("topic", "comment"))
    customers = table_with_values(tables, "customers")
    if has_values(customers, "owner"):
        owners = customers.drop_duplicates("customer_id").set_index("customer_id")["owner"]
        listed.insert(1, "owner", listed["customer_id"].map(owners))
    listed["score"] = whole_scores(listed["score"])
    return listed


def voice_results(tables: dict, config: PortfolioConfig, as_of,
                  output_dir: str | os.PathLike | None = None) -> VoiceResults:
    """Satisfaction, response rate, behaviour after the answers and the valuable detractors (after the contact rules).

    Parameters
    ----------
    tables : dict
        The portfolio's tables (``transactions`` required; ``feedback``, ``customers`` optional).
    config : PortfolioConfig
        Gives the scale (``feedback: {scale: ...}``) and ``window_days``: ``scoring.at_risk.max_days``
        (365 by default), a customer who buys nothing in that many days after answering has churned.
    as_of : date-like
        The analysis date.
    output_dir : path, optional
        The run folder whose ``data/segments.parquet`` (notebook 04) gives the RFM segments and clusters.

    Returns
    -------
    VoiceResults
        Without a feedback table, only ``tables`` and ``window_days``. Nothing is written: the contact
        log of the detractors' list is written by
        :func:`portfolio_helpers.reporting.voice.log_contacts`.

    Examples
    --------
    >>> from pathlib import Path
    >>> config = PortfolioConfig(path=Path("p.yml"), name="t", currency="EUR", as_of=None, seed=1,
    ...                          pseudonymize=False, tables={}, sections={"feedback": {"scale": "nps"}})
    >>> tx = pd.DataFrame({"customer_id": ["a", "b"], "amount": [500.0, 20.0],
    ...                    "date": pd.to_datetime(["2025-04-01", "2025-05-01"])})
    >>> fb = pd.DataFrame({"customer_id": ["a", "b"], "score": [3.0, 10.0], "date": pd.to_datetime(["2025-03-01"] * 2)})
    >>> result = voice_results({"transactions": tx, "feedback": fb}, config, "2025-12-31")
    >>> result.summary["nps"], result.response["response_rate"], result.detractors["customer_id"].tolist()
    (0.0, 1.0, ['a'])
    """
    window = int(scoring.scoring_settings(config.sections.get("scoring"), config.path).at_risk["max_days"])
    result = VoiceResults(tables, window_days=window)
    feedback = table_with_values(tables, "feedback")
    if feedback is None:
        return result
    scale = feedback_scale(config.sections.get("feedback"), config.path)
    result.scale = scale
    transactions = tables["transactions"]
    result.latest = satisfaction.latest_answers(feedback, scale)
    result.summary = satisfaction.score_summary(result.latest["score"], scale)
    result.freq = period_freq(feedback["date"])
    result.periods = satisfaction.satisfaction_by_period(feedback, scale, result.freq)
    attributes = _attributes(tables, output_dir)
    for dimension in present_columns(attributes, GROUP_DIMENSIONS):
        result.groups[dimension] = satisfaction.satisfaction_by(feedback, attributes, dimension, scale)
    result.response = satisfaction.response_rate(feedback, transactions, as_of)
    result.after = satisfaction.behaviour_after(feedback, transactions, as_of, scale, window)
    result.behaviour = satisfaction.behaviour_summary(result.after, scale, window)
    result.gap = satisfaction.churn_gap(result.behaviour)
    listed = _detractor_list(feedback, tables, scale)
    result.n_detractors_listed = len(listed)
    result.detractor_contacts = contact.contact_lists({DETRACTOR_LIST: listed}, tables)[DETRACTOR_LIST]
    result.detractors = result.detractor_contacts.frame
    return result
