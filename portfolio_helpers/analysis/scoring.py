"""Scoring: whom should sales call first?

Builds the inputs of the scorecards (:mod:`portfolio_helpers.analysis.scorecard`) and of the
propensity models (:mod:`portfolio_helpers.analysis.propensity`) from the cleaned tables, without
ever letting the outcome reach the features:

Leads
    One row per lead (:func:`lead_profiles`): its fit attributes, its events *before the
    outcome*, and a status. A lead is ``converted`` when one of its rows carries a customer
    id; its conversion date is the earliest of that customer's acquisition date, first
    purchase and first linked event, and only events strictly before it are kept. A lead
    that has not converted is ``open`` while it was active in the last ``open_days`` days
    and ``closed`` after (a cold lead: the usual CRM rule). Converted and closed leads
    have a known outcome and train the conversion model; open leads are the ones to call.
    Historical leads are scored as of their last activity before the outcome, the moment
    sales knew most without knowing the result; open leads as of the analysis date.
Customers
    The next-purchase model uses a time-based split (:func:`purchase_frame`): features
    from the data up to a cut-off date only (:func:`tables_until`), outcome = a purchase in
    the ``horizon_days`` after it. It is trained on one cut-off and tested on the next
    (out of time), then refitted on the latest complete window to score today's customers.
Value score
    0-100 from percentile ranks of recency, frequency, monetary value, profit and revenue
    growth, with weights from the config (:func:`value_scores`); :func:`at_risk` flags
    valuable customers whose purchase rhythm has stopped.
Look-alike
    :func:`lookalike_scores` rates prospects by how much their traits (industry, size, ...)
    resemble the most profitable customer segment, naive-Bayes style, and says which
    traits match.

Config (``scoring:`` section, every key optional)
---------------------------------------------------
.. code-block:: yaml

    scoring:
      leads: {fit: ..., engagement: ..., decay: ..., grades: ..., grid: ...}   # a scorecard
      customers: {fit: ..., engagement: ...}     # scorecard of existing customers (follow-up)
      open_days: 90          # a lead without activity for this long is closed (lost)
      horizon_days: 180      # next-purchase window of the purchase model
      test_share: 0.3        # share of the most recent leads held out to test the conversion model
      value_weights: {recency: 0.25, frequency: 0.2, monetary: 0.25, profit: 0.2, growth: 0.1}
      at_risk: {top_share: 0.5, rhythm_factor: 2.0, min_orders: 3, min_days: 45, max_days: 365}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import ibis
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine, features, scorecard
from portfolio_helpers.analysis.contact import CONTACT_COLUMNS
from portfolio_helpers.analysis.scorecard import PSEUDO_COLUMNS, Scorecard, scorecard_from_config
from portfolio_helpers.core.config import check_known_keys
from portfolio_helpers.core.errors import ConfigError, ValueProblem
from portfolio_helpers.core.presence import has_values
from portfolio_helpers.core.validation import (
    canonical_lines,
    is_engine_table,
    require_columns,
    require_count,
    require_date,
    require_frame,
)

if TYPE_CHECKING:
    from portfolio_helpers.analysis import propensity

# The models (propensity, scikit-learn) are imported by the functions that fit or evaluate them: the
# notebooks that only read this module's settings, profiles or risk flags (07, 08) then start about a
# second sooner, without scikit-learn and SciPy's statistics.

__all__ = [
    "DEFAULT_LEAD_SCORECARD",
    "DEFAULT_CUSTOMER_SCORECARD",
    "DEFAULT_VALUE_WEIGHTS",
    "ScoringSettings",
    "scoring_settings",
    "applicable",
    "lead_scorecard",
    "customer_scorecard",
    "MIN_OUTCOMES",
    "enough_outcomes",
    "PROSPECT_STAGES",
    "crm_prospects",
    "lead_profiles",
    "lead_model_frame",
    "split_by_time",
    "ConversionModels",
    "fit_conversion_models",
    "tables_until",
    "purchase_frame",
    "PurchaseModels",
    "fit_purchase_models",
    "order_events",
    "customer_attributes",
    "value_scores",
    "at_risk",
    "best_segment",
    "lookalike_scores",
    "POINTS_SCORECARD",
    "score_leads",
    "conversion_by_grade",
    "top_share_capture",
    "model_comparison",
    "LeadResults",
    "score_lead_table",
    "CustomerResults",
    "score_customers",
    "LookalikeResults",
    "lookalike",
]

# Generic scorecards on the data contract's canonical events and columns: used when the config
# has no ``scoring:`` section. The generated sample ships a tailored one in its portfolio.yml.
DEFAULT_LEAD_SCORECARD: dict = {
    "fit": {"cap": 50, "criteria": [
        {"column": "employees", "between": [10, 50], "points": 10},
        {"column": "employees", "between": [50, 250], "points": 20},
        {"column": "employees", "at_least": 250, "points": 25},
        {"column": "budget", "at_least": 10000, "points": 15},
        {"column": "budget", "missing": True, "points": -5},
        {"column": "days_to_expected_purchase", "at_most": 90, "points": 10,
         "label": "expected purchase within 90 days"},
    ]},
    "engagement": {"cap": 50, "criteria": [
        {"event": "meeting", "at_least": 1, "points": 20},
        {"event": "download", "at_least": 2, "within_days": 60, "points": 10},
        {"event": "email_click", "points_each": 3, "max_points": 9},
        {"event": "visit", "points_each": 2, "max_points": 8},
        {"event": "call", "at_least": 1, "within_days": 90, "points": 5},
        {"column": "days_since_last_event", "at_least": 60, "points": -10},
    ]},
    "decay": {"half_life_days": 60},
    "grades": {"A": 70, "B": 40},
}
DEFAULT_CUSTOMER_SCORECARD: dict = {
    "fit": {"cap": 40, "criteria": [
        {"column": "monetary_percentile", "at_least": 0.8, "points": 25, "label": "top 20% by revenue"},
        {"column": "monetary_percentile", "between": [0.5, 0.8], "points": 12, "label": "top 50% by revenue"},
        {"column": "profit", "at_most": 0, "points": -15, "label": "not profitable"},
        {"column": "profit_margin", "at_least": 0.2, "points": 15, "label": "profit margin 20%+"},
    ]},
    "engagement": {"cap": 60, "criteria": [
        {"event": "order", "at_least": 1, "within_days": 90, "points": 25, "label": "ordered in the last 90 days"},
        {"event": "order", "at_least": 4, "within_days": 365, "points": 15, "label": "4+ orders in 12 months"},
        {"event": "order", "points_each": 2, "max_points": 10, "label": "recent orders (decayed)"},
        {"column": "revenue_trend", "at_least": 0.1, "points": 10, "label": "revenue growing 10%+"},
        {"column": "revenue_trend", "at_most": -0.5, "points": -10, "label": "revenue halved"},
        {"column": "days_since_last_event", "at_least": 365, "points": -15, "label": "no order for a year"},
    ]},
    "decay": {"half_life_days": 180},
    "grades": {"A": 70, "B": 40},
}
DEFAULT_VALUE_WEIGHTS: dict[str, float] = {"recency": 0.25, "frequency": 0.2, "monetary": 0.25, "profit": 0.2,
                                           "growth": 0.1}
DEFAULT_AT_RISK: dict[str, float] = {"top_share": 0.5, "rhythm_factor": 2.0, "min_orders": 3, "min_days": 45,
                                     "max_days": 365}
SCORING_KEYS = ("leads", "customers", "open_days", "horizon_days", "test_share", "value_weights", "at_risk")

#: Lead columns that are not fit attributes (the contact wishes and consents are not a sign of fit either).
_LEAD_EVENT_COLUMNS = ("lead_id", "date", "event", "customer_id", "original_customer_id", "source_line",
                       "source_file", *CONTACT_COLUMNS)


# --------------------------------------------------------------------------- settings

@dataclass(frozen=True)
class ScoringSettings:
    """The validated ``scoring:`` section (see the module docstring)."""

    lead_scorecard: Scorecard
    customer_scorecard: Scorecard
    open_days: int = 90
    horizon_days: int = 180
    test_share: float = 0.3
    value_weights: dict = field(default_factory=lambda: dict(DEFAULT_VALUE_WEIGHTS))
    at_risk: dict = field(default_factory=lambda: dict(DEFAULT_AT_RISK))
    lead_default: bool = False  # the built-in scorecards adapt to the columns the data has
    customer_default: bool = False


def applicable(card: Scorecard, columns) -> Scorecard:
    """The scorecard without the column rules whose column is absent (used for the built-in defaults).

    A user's own scorecard is never trimmed: a rule on a missing column is an error there.

    Examples
    --------
    >>> card = scoring_settings(None).lead_scorecard
    >>> trimmed = applicable(card, ["employees", "budget"])
    >>> [c.label for c in card.fit if c not in trimmed.fit]
    ['expected purchase within 90 days']
    """
    available = set(columns) | set(PSEUDO_COLUMNS)
    keep = lambda criteria: tuple(c for c in criteria if c.column is None or c.column in available)  # noqa: E731
    return replace(card, fit=keep(card.fit), engagement=keep(card.engagement))


def lead_scorecard(settings: ScoringSettings, columns) -> Scorecard:
    """The lead scorecard to use: the built-in one trimmed to ``columns`` (see :func:`applicable`),
    the config's own as written."""
    return applicable(settings.lead_scorecard, columns) if settings.lead_default else settings.lead_scorecard


def customer_scorecard(settings: ScoringSettings, columns) -> Scorecard:
    """The customer follow-up scorecard to use (as :func:`lead_scorecard`)."""
    card = settings.customer_scorecard
    return applicable(card, columns) if settings.customer_default else card


#: Leads converted and leads closed needed, of each, before a conversion model is trained.
MIN_OUTCOMES = 20


def enough_outcomes(profiles: pd.DataFrame, minimum: int = MIN_OUTCOMES) -> bool:
    """True when at least ``minimum`` leads converted and ``minimum`` closed (see :func:`lead_profiles`).

    A model learnt from fewer outcomes of either kind would mostly learn noise; the points
    scorecard grades the open leads on its own then.

    Examples
    --------
    >>> profiles = pd.DataFrame({"converted": [True] * 20 + [False] * 20, "status": ["converted"] * 20 + ["closed"] * 20})
    >>> enough_outcomes(profiles), enough_outcomes(profiles.iloc[1:])
    (True, False)
    """
    n_converted = int(profiles["converted"].sum())
    n_closed = int((profiles["status"] == "closed").sum())
    return min(n_converted, n_closed) >= minimum


#: CRM stages of people who have not bought yet (the contract's ``stage`` values before ``customer``).
PROSPECT_STAGES = ("lead", "prospect", "qualified")


def crm_prospects(customers: pd.DataFrame | None) -> pd.DataFrame | None:
    """The customers-table records at a prospect stage (:data:`PROSPECT_STAGES`), indexed by
    ``customer_id``; ``None`` without a ``stage`` column or without such records.

    Examples
    --------
    >>> crm = pd.DataFrame({"customer_id": ["c1", "c2"], "stage": ["prospect", "customer"]})
    >>> crm_prospects(crm).index.tolist(), crm_prospects(crm.drop(columns="stage"))
    (['c1'], None)
    """
    if not has_values(customers, "stage"):
        return None
    prospects = customers[customers["stage"].isin(PROSPECT_STAGES)].set_index("customer_id")
    return prospects if len(prospects) else None


def _positive_int(value, where: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            or value != int(value) or value <= 0):
        raise ConfigError(f"{where}: expected a positive whole number of days, got {value!r}")
    return int(value)


def _weights(spec, where: str) -> dict[str, float]:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping like {DEFAULT_VALUE_WEIGHTS}, got {spec!r}")
    check_known_keys(spec, tuple(DEFAULT_VALUE_WEIGHTS), where)
    weights = {}
    for key, value in spec.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{where}.{key}: expected a weight >= 0, got {value!r}")
        weights[key] = float(value)
    if sum(weights.values()) <= 0:
        raise ConfigError(f"{where}: at least one weight must be positive, got {spec!r}")
    return weights


def _at_risk_settings(spec, where: str) -> dict[str, float]:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping like {DEFAULT_AT_RISK}, got {spec!r}")
    check_known_keys(spec, tuple(DEFAULT_AT_RISK), where)
    out = dict(DEFAULT_AT_RISK)
    for key, value in spec.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
        out[key] = float(value)
    if not 0 < out["top_share"] <= 1:
        raise ConfigError(f"{where}.top_share: expected a share in (0, 1], got {out['top_share']!r}")
    if out["rhythm_factor"] < 1:
        raise ConfigError(f"{where}.rhythm_factor: expected at least 1 (times the usual gap), "
                          f"got {out['rhythm_factor']!r}")
    if out["max_days"] <= out["min_days"]:
        raise ConfigError(f"{where}.max_days: expected more than min_days ({out['min_days']:g}), "
                          f"got {out['max_days']!r}")
    if out["min_orders"] < 2:
        raise ConfigError(f"{where}.min_orders: a rhythm needs at least 2 orders, got {out['min_orders']!r}")
    return out


def scoring_settings(section: Mapping | None, config_path=None) -> ScoringSettings:
    """Validate the config's ``scoring:`` section; defaults for everything left out.

    Examples
    --------
    >>> settings = scoring_settings({"open_days": 60, "value_weights": {"monetary": 1}})
    >>> settings.open_days, settings.value_weights, settings.lead_scorecard.grade_names
    (60, {'monetary': 1.0}, ('A', 'B', 'C'))
    >>> scoring_settings({"open_day": 60})
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: scoring: unknown key 'open_day' (did you mean 'open_days'?); expected one of: leads, customers, open_days, horizon_days, test_share, value_weights, at_risk
    """
    where = f"{config_path}: scoring" if config_path else "scoring"
    section = {} if section is None else section
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where}: expected a mapping with keys like {', '.join(SCORING_KEYS)}, got {section!r}")
    check_known_keys(section, SCORING_KEYS, where)
    test_share = section.get("test_share", 0.3)
    if isinstance(test_share, bool) or not isinstance(test_share, int | float) or not 0.1 <= test_share <= 0.5:
        raise ConfigError(f"{where}.test_share: expected a share between 0.1 and 0.5, got {test_share!r}")
    return ScoringSettings(
        lead_scorecard=scorecard_from_config(section.get("leads", DEFAULT_LEAD_SCORECARD), f"{where}.leads"),
        customer_scorecard=scorecard_from_config(section.get("customers", DEFAULT_CUSTOMER_SCORECARD),
                                                 f"{where}.customers"),
        open_days=_positive_int(section.get("open_days", 90), f"{where}.open_days"),
        horizon_days=_positive_int(section.get("horizon_days", 180), f"{where}.horizon_days"),
        test_share=float(test_share),
        lead_default="leads" not in section,
        customer_default="customers" not in section,
        value_weights=_weights(section.get("value_weights", DEFAULT_VALUE_WEIGHTS), f"{where}.value_weights"),
        at_risk=_at_risk_settings(section.get("at_risk", {}), f"{where}.at_risk"),
    )


# --------------------------------------------------------------------------- leads

def _conversion_dates(leads: pd.DataFrame, customers: pd.DataFrame | None,
                      transactions: pd.DataFrame | None) -> pd.DataFrame:
    """Customer id and conversion date of each converted lead (earliest evidence of the conversion)."""
    linked = leads[leads["customer_id"].notna()]
    if linked.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype="string"),
                             "conversion_date": pd.Series(dtype="datetime64[s]")},
                            index=pd.Index([], name="lead_id", dtype="string"))
    first = linked.sort_values("date", kind="stable").groupby("lead_id", sort=True).agg(
        customer_id=("customer_id", "first"), conversion_date=("date", "min"))
    evidence = [first["conversion_date"]]
    if customers is not None and "acquisition_date" in customers.columns:
        acquired = customers.drop_duplicates("customer_id").set_index("customer_id")["acquisition_date"]
        evidence.append(pd.Series(acquired.reindex(first["customer_id"]).to_numpy(), index=first.index))
    if transactions is not None:
        first_purchase = _first_lines(transactions, first["conversion_date"].dtype)
        evidence.append(pd.Series(first["customer_id"].map(first_purchase).to_numpy(), index=first.index))
    dates = pd.concat([pd.to_datetime(s).dt.normalize() for s in evidence], axis=1).min(axis=1)
    return first.assign(conversion_date=dates)


def _first_lines(transactions: pd.DataFrame, dtype) -> pd.Series:
    """The date of each customer's first transaction line (any line), by the engine, indexed by customer id
    (text) and in ``dtype``."""
    t = engine.table(transactions, ["customer_id", "date"])
    t = t.filter(t.customer_id.notnull())
    first = engine.execute(t.group_by(customer_id=t.customer_id.cast("string")).aggregate(date=t.date.min()))
    return pd.Series(pd.to_datetime(first["date"]).astype(dtype).to_numpy(),
                     index=pd.Index(first["customer_id"].astype("string"), name="customer_id"))


def lead_profiles(leads: pd.DataFrame, as_of, customers: pd.DataFrame | None = None,
                  transactions: pd.DataFrame | None = None, open_days: int = 90) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per lead with its status, and its events before the outcome.

    Parameters
    ----------
    leads : DataFrame
        The leads table: ``lead_id``, ``date``, optional ``event``, ``customer_id`` and fit
        attributes (``source``, ``role``, ``employees``, ``industry``, ``budget``,
        ``expected_date``, any extra column).
    as_of : date-like
        Analysis date; rows after it are ignored.
    customers, transactions : DataFrame, optional
        Give the conversion date its earliest evidence (acquisition date, first purchase).
    open_days : int
        A lead that has not converted and shows no activity for this many days is closed.

    Returns
    -------
    profiles : DataFrame
        Indexed by ``lead_id`` (sorted): ``created``, ``last_activity`` (last event before the
        outcome), ``n_events``, ``customer_id``, ``converted``, ``conversion_date``,
        ``status`` (``converted`` / ``closed`` / ``open``), ``outcome_known``,
        ``reference_date`` (the date the lead is scored as of: the last activity before the
        outcome, the conversion date for a lead with no activity before it, the analysis date
        for an open lead), the fit attributes (last
        known value before the outcome) and ``days_to_expected_purchase`` when
        ``expected_date`` is given.
    events : DataFrame
        ``lead_id``, ``date``, ``event``: the events before each lead's outcome (never
        after the conversion).

    Examples
    --------
    >>> rows = pd.DataFrame({"lead_id": ["L1", "L1", "L1", "L2"],
    ...     "date": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-03-10", "2025-11-20"]),
    ...     "event": ["form", "meeting", "call", "form"],
    ...     "customer_id": [None, None, "C9", None], "industry": ["Food", None, None, "Retail"]})
    >>> profiles, events = lead_profiles(rows, "2025-12-31")
    >>> profiles[["status", "n_events", "conversion_date", "reference_date", "industry"]].reset_index()
      lead_id     status  n_events conversion_date reference_date industry
    0      L1  converted         2      2025-03-10     2025-02-01     Food
    1      L2       open         1             NaT     2025-12-31   Retail
    >>> events["event"].tolist()   # the call after the conversion is not an input
    ['form', 'meeting', 'form']
    """
    require_columns(leads, ("lead_id", "date"), table="leads")
    as_of = pd.Timestamp(as_of).normalize()
    rows = leads[leads["date"].notna() & (leads["date"] <= as_of + pd.Timedelta(days=1) - pd.Timedelta(1))]
    rows = rows.assign(lead_id=rows["lead_id"].astype("string"))
    if "customer_id" not in rows.columns:
        rows = rows.assign(customer_id=pd.Series(pd.NA, index=rows.index, dtype="string"))
    if "event" not in rows.columns:
        rows = rows.assign(event="activity")
    conversions = _conversion_dates(rows, customers, transactions)
    # reindex, not map: mapping through an empty Series casts the dates to float (no lead converted)
    conversion_date = pd.Series(conversions["conversion_date"].reindex(rows["lead_id"]).to_numpy(), index=rows.index)
    day = rows["date"].dt.normalize()
    before = rows[rows["customer_id"].isna() & (conversion_date.isna() | (day < conversion_date))]
    before = before.sort_values(["lead_id", "date"], kind="stable")

    ids = pd.Index(sorted(rows["lead_id"].unique()), name="lead_id", dtype="string")
    grouped = before.groupby("lead_id", sort=True)
    profiles = pd.DataFrame(index=ids)
    profiles["created"] = rows.groupby("lead_id")["date"].min().dt.normalize().reindex(ids)
    profiles["last_activity"] = grouped["date"].max().dt.normalize().reindex(ids)
    profiles["n_events"] = grouped.size().reindex(ids, fill_value=0).astype("int64")
    profiles["customer_id"] = conversions["customer_id"].reindex(ids).astype("string")
    profiles["converted"] = profiles["customer_id"].notna()
    profiles["conversion_date"] = conversions["conversion_date"].reindex(ids)
    cold = profiles["last_activity"].isna() | (profiles["last_activity"] < as_of - pd.Timedelta(days=open_days))
    profiles["status"] = np.where(profiles["converted"], "converted", np.where(cold, "closed", "open"))
    profiles["outcome_known"] = profiles["status"] != "open"
    # A lead that converted before any activity of its own (a customer already) is scored as of its
    # conversion, knowing nothing more about it than its attributes.
    reference = profiles["last_activity"].fillna(profiles["conversion_date"])
    profiles["reference_date"] = reference.where(profiles["outcome_known"], as_of)

    attributes = [c for c in rows.columns if c not in _LEAD_EVENT_COLUMNS]
    if attributes:
        # Attributes as last known before the outcome (a CRM field may be filled in later).
        known = before.sort_values(["lead_id", "date"], kind="stable").groupby("lead_id", sort=True)[attributes]
        profiles = profiles.join(known.last().reindex(ids))
    if "expected_date" in profiles.columns:
        expected = pd.to_datetime(profiles.pop("expected_date")).dt.normalize()
        profiles["days_to_expected_purchase"] = (expected - profiles["reference_date"]).dt.days.astype("float64")
    events = before[["lead_id", "date", "event"]].reset_index(drop=True)
    return profiles, events


def lead_model_frame(profiles: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Features of the conversion model: fit attributes and event counts before the outcome.

    Returns the frame (indexed like ``profiles``) and its numeric and categorical feature
    names. Event counts are named by the event in the plural (``meetings``, ``downloads``,
    ...; ``events`` for all of them), so explanations read "+12 pts meetings=3";
    ``days_active`` is the span from the first to the last event. The analysis date is not a feature, so open and historical leads are
    described the same way.

    Examples
    --------
    >>> profiles = pd.DataFrame({"created": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...     "last_activity": pd.to_datetime(["2025-01-11", "2025-02-01"]), "n_events": [3, 1],
    ...     "role": ["CEO", "intern"], "employees": [120, 4]}, index=pd.Index(["L1", "L2"], name="lead_id"))
    >>> events = pd.DataFrame({"lead_id": ["L1", "L1", "L1", "L2"], "date": pd.to_datetime(
    ...     ["2025-01-01", "2025-01-05", "2025-01-11", "2025-02-01"]),
    ...     "event": ["form", "meeting", "meeting", "form"]})
    >>> frame, numeric, categorical = lead_model_frame(profiles, events)
    >>> frame[["forms", "meetings", "days_active", "employees", "role"]].reset_index()
      lead_id  forms  meetings  days_active  employees    role
    0      L1      1         2           10        120     CEO
    1      L2      1         0            0          4  intern
    >>> numeric, categorical
    (['events', 'days_active', 'employees', 'forms', 'meetings'], ['role'])
    """
    frame = pd.DataFrame(index=profiles.index)
    frame["events"] = profiles["n_events"].astype("int64")
    span = (profiles["last_activity"] - profiles["created"]).dt.days
    frame["days_active"] = span.fillna(0).astype("int64")
    skip = {"created", "last_activity", "n_events", "customer_id", "converted", "conversion_date", "status",
            "outcome_known", "reference_date"}
    numeric, categorical = ["events", "days_active"], []
    for column in profiles.columns:
        if column in skip:
            continue
        values = profiles[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        if pd.api.types.is_numeric_dtype(values):
            numeric.append(column)
        elif values.nunique() <= 50:  # free text (names, notes) is not a feature
            categorical.append(column)
        else:
            continue
        frame[column] = values
    if not events.empty:
        counts = pd.crosstab(events["lead_id"], events["event"].astype("string"))
        counts.columns = [f"{name}s" for name in counts.columns]
        counts = counts.drop(columns=[c for c in counts.columns if c in frame.columns or c in profiles.columns])
        counts = counts.reindex(profiles.index, fill_value=0).astype("int64")
        frame = frame.join(counts)
        numeric += list(counts.columns)
    return frame, numeric, categorical


def split_by_time(dates: pd.Series, test_share: float = 0.3) -> tuple[pd.Index, pd.Index]:
    """Train and test index: the most recent ``test_share`` of rows (by date) are the test set.

    Ties on the cut-off date all go to the test set, so no day is split between the two.

    Examples
    --------
    >>> dates = pd.Series(pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-03-01"]),
    ...                   index=["a", "b", "c", "d"])
    >>> train, test = split_by_time(dates, 0.3)
    >>> list(train), list(test)
    (['a', 'b'], ['c', 'd'])
    """
    ordered = dates.dropna().sort_values(kind="stable")  # an undated row can be in neither set
    n_test = max(1, int(round(len(ordered) * test_share)))
    cut = ordered.iloc[len(ordered) - n_test]
    test = ordered.index[ordered >= cut]
    train = ordered.index[ordered < cut]
    return train, test


@dataclass
class ConversionModels:
    """Lead conversion models: evaluated on the most recent leads, refitted on all known outcomes.

    Attributes
    ----------
    frame : DataFrame
        :func:`lead_model_frame` of every lead, with ``converted``.
    numeric, categorical : list of str
    train, test : Index
        Known-outcome leads used to fit and to test (the most recent ``test_share``).
    evaluation : ModelSet
        Models fitted on ``train`` only.
    test_probability : DataFrame
        One column per model: probabilities for the test leads.
    final : ModelSet
        The model ``evaluation`` chose (and the test validated), refitted on every known
        outcome (:func:`~portfolio_helpers.analysis.propensity.refit_best`); gives ``probability``.
    probability : Series
        Conversion probability of every lead (open leads are the ones that matter).
    """

    frame: pd.DataFrame
    numeric: list[str]
    categorical: list[str]
    train: pd.Index
    test: pd.Index
    evaluation: propensity.ModelSet
    test_probability: pd.DataFrame
    final: propensity.ModelSet
    probability: pd.Series


def fit_conversion_models(profiles: pd.DataFrame, events: pd.DataFrame, test_share: float = 0.3,
                          seed: int = 42) -> ConversionModels:
    """Fit and evaluate the lead conversion models (see :class:`ConversionModels`).

    Only leads with a known outcome (converted or closed) are used; the most recent
    ``test_share`` of them (by creation date) are held out, so the test imitates scoring
    new leads with a model trained on older ones.
    """
    from portfolio_helpers.analysis import propensity

    frame, numeric, categorical = lead_model_frame(profiles, events)
    frame["converted"] = profiles["converted"].astype("int64")
    known = profiles.index[profiles["outcome_known"]]
    train, test = split_by_time(profiles.loc[known, "created"], test_share)
    evaluation = propensity.fit_models(frame.loc[train], frame.loc[train, "converted"], numeric, categorical,
                                       seed=seed)
    test_probability = pd.DataFrame({name: evaluation.predict(frame.loc[test], name) for name in evaluation.models},
                                    index=test)
    # The model the held-out test validated, refitted on every known outcome (not compared again).
    final = propensity.refit_best(evaluation, frame.loc[known], frame.loc[known, "converted"])
    probability = pd.Series(final.predict(frame), index=frame.index, name="conversion_probability")
    return ConversionModels(frame, numeric, categorical, train, test, evaluation, test_probability, final,
                            probability)


# --------------------------------------------------------------------------- customers

def tables_until(cutoff, *, transactions: pd.DataFrame | None = None, customers: pd.DataFrame | None = None,
                 payments: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None,
                 leads: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The tables given, as they were known at the end of ``cutoff``'s day.

    Transactions, tickets and lead events after the cut-off are dropped; invoices due after
    it are dropped and payments made after it become unpaid; customers acquired after it
    are dropped. Features computed on the result cannot see the outcome period.

    Each table keeps its form: a frame gives a frame, an engine table (a scanned Parquet file, a
    Spark table) an engine table filtered where it lives (nothing is read).

    Returns
    -------
    dict of DataFrame or Ibis table
        One entry per table given (not None), under its keyword's name.

    Examples
    --------
    >>> payments = pd.DataFrame({"customer_id": ["a"], "due_date": pd.to_datetime(["2025-01-31"]),
    ...                          "paid_date": pd.to_datetime(["2025-03-15"]), "amount": [10.0]})
    >>> tables_until("2025-02-28", payments=payments)["payments"]["paid_date"].isna().item()
    True
    """
    end = pd.Timestamp(cutoff).normalize() + pd.Timedelta(days=1)
    given = {"transactions": transactions, "customers": customers, "payments": payments, "tickets": tickets,
             "leads": leads}
    out: dict[str, pd.DataFrame] = {}
    for name, table in given.items():
        if table is None:
            continue
        require_frame(table, name)
        out[name] = (_engine_table_until if is_engine_table(table) else _table_until)(name, table, end)
    return out


def _table_until(name: str, table: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """:func:`tables_until` of one frame (``end``: the day after the cut-off)."""
    if name in ("transactions", "tickets", "leads") and "date" in table.columns:
        return table[table["date"] < end].copy()
    if name == "payments" and "due_date" in table.columns:
        kept = table[table["due_date"] < end].copy()
        if "paid_date" in kept.columns:
            kept["paid_date"] = kept["paid_date"].where(kept["paid_date"] < end)
        return kept
    if name == "customers" and "acquisition_date" in table.columns:
        return table[table["acquisition_date"].isna() | (table["acquisition_date"] < end)].copy()
    return table.copy()


def _engine_table_until(name: str, table, end: pd.Timestamp):
    """:func:`_table_until` of an engine table, as a filter the engine runs (the same rules: a frame must
    stay a frame for the pandas callers, so the two forms are written apart)."""
    if name in ("transactions", "tickets", "leads") and "date" in table.columns:
        return table.filter(table["date"] < end)
    if name == "payments" and "due_date" in table.columns:
        kept = table.filter(table["due_date"] < end)
        if "paid_date" in kept.columns:
            paid = kept["paid_date"]
            kept = kept.mutate(paid_date=ibis.ifelse(paid < end, paid, ibis.null(paid.type())))
        return kept
    if name == "customers" and "acquisition_date" in table.columns:
        acquired = table["acquisition_date"]
        return table.filter(acquired.isnull() | (acquired < end))
    return table


#: Features of the next-purchase model (those present in the customer feature table are used).
PURCHASE_NUMERIC = ("recency_days", "frequency", "n_purchase_days", "monetary", "tenure_days", "orders_per_year",
                    "avg_order_value", "revenue_last", "revenue_previous", "revenue_trend", "discount_share",
                    "return_rate", "days_late", "service_minutes_per_1000", "margin_rate", "employees")
PURCHASE_CATEGORICAL = ("customer_type", "industry", "size_band", "country", "age_band", "income_band")


def purchase_frame(transactions: pd.DataFrame, cutoff, *, customers: pd.DataFrame | None = None,
                   payments: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None,
                   horizon_days: int = 180, label: bool = True, customer_col: str = "customer_id", date_col: str = "date",
                   amount_col: str = "amount", order_col: str | None = "order_id",
                   status_col: str | None = "status") -> pd.DataFrame:
    """Customer features at ``cutoff`` and whether each customer bought in the next ``horizon_days``.

    Features come from :func:`tables_until` (nothing after the cut-off); the label
    ``purchased`` is 1 when the customer has a revenue line (not cancelled, positive amount)
    in ``(cutoff, cutoff + horizon_days]``. With ``label=False`` the frame is the features only
    (to score customers today).

    The ``*_col`` keywords name the transactions' columns of the customer id, the line date, the
    net amount, the order id and the status (the last two optional: ``None`` or absent); results
    use the kit's names (``customer_id``). The other tables have the kit's names.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "order_id": ["1", "2", "3", "4"],
    ...     "date": pd.to_datetime(["2025-01-10", "2025-03-01", "2025-02-01", "2025-09-01"]),
    ...     "amount": [100.0, 50.0, 80.0, 90.0]})
    >>> frame = purchase_frame(tx, "2025-03-31", horizon_days=90)
    >>> frame[["customer_id", "frequency", "monetary", "purchased"]]
      customer_id  frequency  monetary  purchased
    0           a          2     150.0          0
    1           b          1      80.0          0
    >>> purchase_frame(tx, "2025-06-30", horizon_days=90)["purchased"].tolist()
    [0, 1]
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    horizon_days = require_count(horizon_days, "horizon_days", minimum=1)
    return _purchase_frame(transactions, require_date(cutoff, "cutoff").normalize(), horizon_days, label,
                           customers=customers, payments=payments, tickets=tickets)


def _purchase_frame(transactions: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int, label: bool,
                    **others: pd.DataFrame | None) -> pd.DataFrame:
    known = tables_until(cutoff, transactions=transactions, **others)
    frame = features.customer_features(known.pop("transactions"), cutoff, **known)
    if label:
        buyers = _buyers(transactions, cutoff + pd.Timedelta(days=1), cutoff + pd.Timedelta(days=horizon_days + 1))
        frame["purchased"] = frame["customer_id"].astype("string").isin(buyers).astype("int64")
    return frame


def _buyers(transactions: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> set:
    """The customers (ids as text) with a revenue line of positive amount dated in ``[start, end)``, by the engine."""
    t = engine.table(engine.revenue_lines(transactions), ["customer_id", "date", "amount"])
    t = t.filter(t.customer_id.notnull(), t.date >= start, t.date < end, t.amount > 0)
    return set(engine.execute(t.select(customer_id=t.customer_id.cast("string")).distinct())["customer_id"])


def purchase_features(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical features of :data:`PURCHASE_NUMERIC` / ``_CATEGORICAL`` present in ``frame``."""
    numeric = [c for c in PURCHASE_NUMERIC if c in frame.columns and frame[c].notna().any()]
    categorical = [c for c in PURCHASE_CATEGORICAL if c in frame.columns and frame[c].notna().any()]
    return numeric, categorical


@dataclass
class PurchaseModels:
    """Next-purchase models: trained on one cut-off, tested on the next, refitted for today.

    Attributes
    ----------
    train_cutoff, test_cutoff : Timestamp
        Features up to ``train_cutoff`` with the outcome in the following ``horizon_days``
        train the models; the same at ``test_cutoff`` (= as_of - horizon) tests them.
    evaluation : ModelSet
        Models fitted on the training window.
    test : DataFrame
        The test window with the probability of each model (``p_<model>``).
    final : ModelSet
        The model ``evaluation`` chose, refitted on the latest complete window
        (:func:`~portfolio_helpers.analysis.propensity.refit_best`), used on today's features.
    current : DataFrame
        Today's features with ``purchase_probability`` (the model of ``final``).
    """

    train_cutoff: pd.Timestamp
    test_cutoff: pd.Timestamp
    horizon_days: int
    evaluation: propensity.ModelSet
    test: pd.DataFrame
    final: propensity.ModelSet
    current: pd.DataFrame


def fit_purchase_models(transactions: pd.DataFrame, as_of, *, customers: pd.DataFrame | None = None,
                        payments: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None,
                        horizon_days: int = 180, seed: int = 42, customer_col: str = "customer_id", date_col: str = "date",
                        amount_col: str = "amount", order_col: str | None = "order_id",
                        status_col: str | None = "status") -> PurchaseModels:
    """Out-of-time next-purchase models (see :class:`PurchaseModels`).

    ``transactions`` (``customer_id, date, amount``) and the optional ``customers``,
    ``payments`` and ``tickets`` give the features (:func:`purchase_frame`). Needs at least
    two horizons of history before ``as_of`` plus some: a
    :class:`~portfolio_helpers.core.errors.ValueProblem` (a ``ValueError``) says how much there
    is otherwise.

    The ``*_col`` keywords name the transactions' columns of the customer id, the line date, the
    net amount, the order id and the status (the last two optional: ``None`` or absent); results
    use the kit's names (``customer_id``). The other tables have the kit's names.
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    horizon_days = require_count(horizon_days, "horizon_days", minimum=1)
    return _fit_purchase_models(transactions, require_date(as_of, "as_of").normalize(), horizon_days, seed,
                                customers=customers, payments=payments, tickets=tickets)


def _fit_purchase_models(transactions, as_of: pd.Timestamp, horizon_days: int, seed: int,
                         **others: pd.DataFrame | None) -> PurchaseModels:
    """:func:`fit_purchase_models` of checked lines with the kit's column names."""
    from portfolio_helpers.analysis import propensity

    test_cutoff = as_of - pd.Timedelta(days=horizon_days)
    train_cutoff = test_cutoff - pd.Timedelta(days=horizon_days)
    dates = engine.table(transactions, ["date"])
    first = pd.Timestamp(engine.execute(dates.aggregate(first=dates.date.min()))["first"].iloc[0])
    if pd.isna(first) or first > train_cutoff - pd.Timedelta(days=90):
        raise ValueProblem(f"the next-purchase model needs history from before {train_cutoff:%Y-%m-%d} "
                         f"(two windows of {horizon_days} days plus 90 days); the data starts "
                         f"{first:%Y-%m-%d}. Lower scoring.horizon_days.")
    train = _purchase_frame(transactions, train_cutoff, horizon_days, True, **others)
    test = _purchase_frame(transactions, test_cutoff, horizon_days, True, **others)
    numeric, categorical = purchase_features(train)
    evaluation = propensity.fit_models(train, train["purchased"], numeric, categorical, seed=seed)
    for name in evaluation.models:
        test[f"p_{name}"] = evaluation.predict(test, name)
    final = propensity.refit_best(evaluation, test, test["purchased"])  # the validated model, latest window
    current = _purchase_frame(transactions, as_of, horizon_days, False, **others)
    current["purchase_probability"] = final.predict(current)
    return PurchaseModels(train_cutoff, test_cutoff, horizon_days, evaluation, test, final, current)


def order_events(transactions: pd.DataFrame, as_of=None, *, customer_col: str = "customer_id",
                 date_col: str = "date", amount_col: str = "amount", order_col: str | None = "order_id",
                 status_col: str | None = "status") -> pd.DataFrame:
    """One ``order`` event per delivery, for customer scorecards.

    The events are the deliveries of the revenue lines
    (:func:`portfolio_helpers.analysis.engine.deliveries`: orders whose net amount is
    positive; a line without ``order_id`` is an order of its own), dated on the day of
    their first line; with ``as_of``, only lines dated on or before its day count.

    The ``*_col`` keywords name the transactions' columns of the customer id, the line date, the
    net amount, the order id and the status (the last two optional: ``None`` or absent); results
    use the kit's names (``customer_id``). The other tables have the kit's names.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a"], "order_id": ["1", "1", "2"],
    ...                    "date": pd.to_datetime(["2025-01-10", "2025-01-10", "2025-02-01"]),
    ...                    "amount": [10.0, 5.0, 7.0]})
    >>> order_events(tx)
      customer_id       date  event
    0           a 2025-01-10  order
    1           a 2025-02-01  order
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    return _order_events(transactions, None if as_of is None else require_date(as_of, "as_of"))


def _delivered_lines(transactions, as_of: pd.Timestamp | None):
    """The lines of the order events (revenue lines with a customer, up to ``as_of``'s day), an Ibis table."""
    order_col = ["order_id"] if "order_id" in transactions.columns else []
    lines = engine.table(engine.revenue_lines(transactions), ["customer_id", "date", "amount", *order_col])
    if as_of is not None:
        lines = lines.filter(lines.date < pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1))
    return lines.filter(lines.customer_id.notnull())


def _order_events_expr(transactions, as_of: pd.Timestamp | None):
    """The order events of an engine table as an expression (not run): the scorecard aggregates them per
    customer in the engine, so that no per-order row reaches Python."""
    delivered = engine.deliveries_expr(_delivered_lines(transactions, as_of))
    return delivered.select("customer_id", date=delivered.date, event=ibis.literal("order"))


def _order_events(transactions, as_of: pd.Timestamp | None) -> pd.DataFrame:
    """:func:`order_events` of lines with the kit's column names."""
    delivered = engine.deliveries(_delivered_lines(transactions, as_of))
    # ids in the frame's own type (an engine table's come back as text)
    id_type = "string" if is_engine_table(transactions) else transactions["customer_id"].dtype
    out = pd.DataFrame({"customer_id": delivered["customer_id"].astype(id_type),
                        "date": pd.to_datetime(delivered["date"]).dt.normalize()})
    out = out.sort_values(["customer_id", "date"], kind="stable")
    return out.assign(event="order").reset_index(drop=True)


# --------------------------------------------------------------------------- value and risk

def _percentile(values: pd.Series) -> pd.Series:
    """Mid-rank percentile in [0, 1]: lowest 0, highest 1, ties share their average rank."""
    n = values.notna().sum()
    if n <= 1:
        return pd.Series(np.where(values.notna(), 1.0, np.nan), index=values.index)
    return (values.rank(method="average") - 1) / (n - 1)


def customer_attributes(customer_features: pd.DataFrame) -> pd.DataFrame:
    """The customer feature table plus the percentile columns customer scorecards can use.

    Adds ``monetary_percentile`` and, with profit, ``profit_percentile`` (0 = lowest,
    1 = highest, ties share their mid rank), so a rule like "top 20% by revenue" reads
    ``{column: monetary_percentile, at_least: 0.8}`` whatever the currency.

    Examples
    --------
    >>> customer_attributes(pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                                   "monetary": [10.0, 30.0, 20.0]}))["monetary_percentile"].tolist()
    [0.0, 1.0, 0.5]
    """
    require_columns(customer_features, ("customer_id", "monetary"), table="customer features")
    out = customer_features.copy()
    out["monetary_percentile"] = _percentile(out["monetary"].astype("float64"))
    if "profit" in out.columns:
        out["profit_percentile"] = _percentile(out["profit"].astype("float64"))
    return out


def value_scores(customer_features: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Customer value score 0-100: weighted percentile ranks of recency, frequency, value, profit, growth.

    Each component is the customer's percentile rank among all customers (0 = lowest,
    1 = highest; a more recent purchase ranks higher; ties share their mid rank):
    ``recency`` from ``recency_days``, ``frequency``, ``monetary``, ``profit`` (when the
    column exists) and ``growth`` from ``revenue_trend``. The score is
    ``100 * sum(weight * rank) / sum(weights of the components present)``.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_days": [10, 200, 10],
    ...                   "frequency": [5, 1, 2], "monetary": [900.0, 50.0, 300.0]})
    >>> value_scores(f, {"recency": 1, "frequency": 1, "monetary": 2})
      customer_id  recency  frequency  monetary  value_score
    0           a     0.75        1.0       1.0         93.8
    1           b     0.00        0.0       0.0          0.0
    2           c     0.75        0.5       0.5         56.2
    """
    require_columns(customer_features, ("customer_id",), table="customer features")
    weights = dict(DEFAULT_VALUE_WEIGHTS if weights is None else weights)
    sources = {"recency": ("recency_days", -1), "frequency": ("frequency", 1), "monetary": ("monetary", 1),
               "profit": ("profit", 1), "growth": ("revenue_trend", 1)}
    out = pd.DataFrame({"customer_id": customer_features["customer_id"].to_numpy()}, index=customer_features.index)
    used = {}
    for name, weight in weights.items():
        column, sign = sources[name]
        if weight > 0 and column in customer_features.columns:
            out[name] = _percentile(sign * customer_features[column].astype("float64"))
            used[name] = weight
    if not used:
        raise ValueProblem(f"none of the weighted components is available: {sorted(weights)}; "
                         f"the features have {', '.join(customer_features.columns)}")
    total = sum(used.values())
    score = sum(out[name].fillna(0.5) * weight for name, weight in used.items()) / total
    out["value_score"] = (100 * score).round(1)
    return out


#: Columns of the customer features :func:`at_risk` reads.
AT_RISK_COLUMNS = ("customer_id", "first_purchase", "last_purchase", "n_purchase_days", "monetary", "recency_days")


def at_risk(customer_features: pd.DataFrame, settings: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Flag valuable customers whose purchase rhythm has stopped.

    A customer is *valuable* when their revenue (``monetary``) is in the top ``top_share``;
    their *usual gap* is the average number of days between purchase days
    (``(last_purchase - first_purchase) / (n_purchase_days - 1)``, needs ``min_orders``
    purchase days); they are *at risk* when valuable and the days since their last purchase
    exceed ``rhythm_factor`` times their usual gap and at least ``min_days``, but not
    ``max_days``: a customer silent for longer has already lapsed (the RFM segments of
    notebook 04 call them Hibernating or Lost) and is a win-back target, not a risk.

    Returns ``customer_id``, ``usual_gap_days``, ``days_overdue`` (days beyond
    ``rhythm_factor`` x the gap, 0 when not late) and ``at_risk``.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": ["a", "b", "c"], "monetary": [900.0, 800.0, 10.0],
    ...     "n_purchase_days": [10, 10, 3], "recency_days": [200, 20, 400],
    ...     "first_purchase": pd.to_datetime(["2024-01-01"] * 3),
    ...     "last_purchase": pd.to_datetime(["2024-10-28", "2024-10-28", "2024-03-01"])})
    >>> at_risk(f, {"top_share": 0.7, "rhythm_factor": 2, "min_orders": 3, "min_days": 45, "max_days": 365})
      customer_id  usual_gap_days  days_overdue  at_risk
    0           a            33.4         133.1     True
    1           b            33.4           0.0    False
    2           c            30.0           0.0    False
    """
    require_columns(customer_features, AT_RISK_COLUMNS, table="customer features")
    params = dict(DEFAULT_AT_RISK, **(settings or {}))
    gaps = (customer_features["last_purchase"].dt.normalize()
            - customer_features["first_purchase"].dt.normalize()).dt.days
    purchase_days = customer_features["n_purchase_days"].astype("float64")
    usual = (gaps / (purchase_days - 1)).where(purchase_days >= params["min_orders"])
    valuable = _percentile(customer_features["monetary"].astype("float64")) >= 1 - params["top_share"]
    limit = params["rhythm_factor"] * usual
    recency = customer_features["recency_days"].astype("float64")
    late = (valuable & usual.notna() & (recency > limit) & (recency >= params["min_days"])
            & (recency <= params["max_days"]))
    return pd.DataFrame({"customer_id": customer_features["customer_id"].to_numpy(),
                         "usual_gap_days": usual.round(1).to_numpy(),
                         "days_overdue": np.where(late, (recency - limit).round(1), 0.0),
                         "at_risk": late.to_numpy()}, index=customer_features.index)


# --------------------------------------------------------------------------- look-alike

def best_segment(customer_features: pd.DataFrame, segments: pd.Series | None = None, min_size: int = 20,
                 top_share: float = 0.2) -> tuple[pd.Series, dict]:
    """The reference group of look-alike scoring: the most profitable customer segment.

    With ``segments`` (a label per row, e.g. cluster names), the segment with the highest
    median profit (revenue when there is no profit) among segments of at least ``min_size``
    customers; otherwise the top ``top_share`` of customers by profit. Returns a boolean mask
    and how the group was chosen: ``segment`` (the label, or None for the top share),
    ``value_col`` (``profit`` or ``monetary``) and ``top_share`` (the report words it:
    :func:`portfolio_helpers.reporting.scoring.reference_text`).
    """
    value_col = "profit" if "profit" in customer_features.columns else "monetary"
    require_columns(customer_features, (value_col,), table="customer features")
    value = customer_features[value_col].astype("float64")
    if segments is not None and segments.notna().any():
        labels = pd.Series(segments.to_numpy(), index=customer_features.index)
        stats = value.groupby(labels).agg(["median", "size"])
        stats = stats[stats["size"] >= min_size]
        if not stats.empty:
            best = stats["median"].idxmax()
            return (labels == best).fillna(False), {"segment": best, "value_col": value_col, "top_share": None}
    mask = _percentile(value) >= 1 - top_share
    return mask.fillna(False), {"segment": None, "value_col": value_col, "top_share": top_share}


def _trait_values(frame: pd.DataFrame, traits: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for trait in traits:
        if trait == "size_band":
            source = frame["size_band"] if "size_band" in frame.columns else features.size_band(frame["employees"])
            out[trait] = source.astype("string")
        else:
            out[trait] = frame[trait].astype("string").str.strip()
    return out


def lookalike_scores(customers: pd.DataFrame, reference: pd.Series, prospects: pd.DataFrame,
                     traits: list[str] | None = None, smoothing: float = 1.0, min_ratio: float = 1.3) -> pd.DataFrame:
    """How much each prospect looks like the reference customers (0-100), and why.

    For each trait (industry, size band, ...) the likelihood ratio
    ``P(value | reference customers) / P(value | other customers)`` is estimated with
    additive smoothing; a prospect's score is the naive-Bayes probability of belonging to
    the reference group given its traits (x 100), missing traits counting as neutral.
    ``matching_traits`` lists the prospect's values at least ``min_ratio`` times as common
    among the reference customers, strongest first.

    Parameters
    ----------
    customers : DataFrame
        Customer attributes (``industry``, ``employees`` or ``size_band``, ``country``, ...).
    reference : Series of bool
        Aligned with ``customers``: the best customers (see :func:`best_segment`).
    prospects : DataFrame
        Leads or prospects with some of the same attributes.
    traits : list of str, optional
        Traits to compare; by default those of ``industry``, ``size_band`` (from
        ``employees``), ``country``, ``customer_type`` present in both frames.

    Examples
    --------
    >>> customers = pd.DataFrame({"industry": ["Food", "Food", "Retail", "Retail", "Retail", "Food"]})
    >>> reference = pd.Series([True, True, False, False, False, False])
    >>> out = lookalike_scores(customers, reference, pd.DataFrame({"industry": ["Food", "Retail"]}))
    >>> out["lookalike_score"].tolist()   # Food: (2+1)/(2+2) / ((1+1)/(4+2)) = 2.25; odds 1/2 x 2.25
    [52.9, 15.8]
    >>> out["matching_traits"].tolist()
    ['industry=Food (2.2× as common among the best)', '']
    """
    require_frame(customers, "customers")
    require_frame(prospects, "prospects")
    reference = pd.Series(np.asarray(reference, dtype=bool), index=customers.index)
    if traits is not None:
        require_columns(customers, [t for t in traits if t != "size_band"], table="customers")
        require_columns(prospects, [t for t in traits if t != "size_band"], table="prospects")
    else:
        candidates = ("industry", "size_band", "country", "customer_type")
        traits = [t for t in candidates
                  if (has_values(customers, t) or (t == "size_band" and has_values(customers, "employees")))
                  and (has_values(prospects, t) or (t == "size_band" and has_values(prospects, "employees")))]
    if not traits:
        raise ValueProblem("no trait in common between customers and prospects "
                         "(looked for industry, employees/size_band, country, customer_type)")
    if reference.sum() == 0 or (~reference).sum() == 0:
        raise ValueProblem("the reference group must hold some but not all customers")
    known = _trait_values(customers, traits)
    asked = _trait_values(prospects, traits)
    prior = float(reference.mean())
    log_odds = np.full(len(prospects), math.log(prior / (1 - prior)))
    matches: list[list[tuple[float, str]]] = [[] for _ in range(len(prospects))]
    for trait in traits:
        values = known[trait]
        levels = values.dropna().unique()
        k = max(len(levels), 1)
        best_counts = values[reference].value_counts()
        other_counts = values[~reference].value_counts()
        n_best, n_other = values[reference].notna().sum(), values[~reference].notna().sum()
        ratio = ((best_counts.reindex(levels, fill_value=0) + smoothing) / (n_best + smoothing * k)) / (
            (other_counts.reindex(levels, fill_value=0) + smoothing) / (n_other + smoothing * k))
        prospect_ratio = asked[trait].map(ratio).astype("float64").fillna(1.0).to_numpy()
        log_odds += np.log(prospect_ratio)
        for i in np.flatnonzero(prospect_ratio >= min_ratio):
            matches[i].append((prospect_ratio[i], f"{trait}={asked[trait].iloc[i]} "
                                                  f"({prospect_ratio[i]:.1f}× as common among the best)"))
    probability = 1 / (1 + np.exp(-log_odds))
    text = ["; ".join(label for _, label in sorted(found, key=lambda item: -item[0])) for found in matches]
    return pd.DataFrame({"lookalike_score": np.round(100 * probability, 1), "matching_traits": text},
                        index=prospects.index)


# --------------------------------------------------------------------------- notebook 05, the whole scoring
# What notebook 05 computes, in the order it shows it: which models are fitted (enough outcomes, enough
# history) is decided here; reporting.scoring words the results.

#: Name of the points scorecard beside the models in :func:`model_comparison` and ``test_scores``.
POINTS_SCORECARD = "Points scorecard"


def score_leads(card: Scorecard, profiles: pd.DataFrame, events: pd.DataFrame, n_reasons: int = 3) -> pd.DataFrame:
    """Scorecard of every lead as of its reference date (open leads: today), indexed by lead id."""
    scored = scorecard.score(card, profiles.reset_index(), events, id_col="lead_id",
                             reference_date=profiles["reference_date"], n_reasons=n_reasons)
    return scored.set_index("lead_id")


def conversion_by_grade(scored: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """Historical conversion rate per grade, on the leads whose outcome is known.

    Each historical lead is graded as of its last activity before the outcome.

    Examples
    --------
    >>> scored = pd.DataFrame({"grade": pd.Categorical(["A", "A", "C", "C"], categories=["A", "B", "C"])},
    ...                       index=["l1", "l2", "l3", "l4"])
    >>> profiles = pd.DataFrame({"outcome_known": [True] * 4, "converted": [True, False, False, False]},
    ...                         index=["l1", "l2", "l3", "l4"])
    >>> conversion_by_grade(scored, profiles)
      grade  contacts  converted  rate  lift
    0     A         2          1   0.5   2.0
    1     B         0          0   NaN   NaN
    2     C         2          0   0.0   0.0
    """
    require_columns(scored, ("grade",), table="scored leads")
    require_columns(profiles, ("outcome_known", "converted"), table="lead profiles")
    known = profiles.index[profiles["outcome_known"]]
    frame = pd.DataFrame({"grade": scored.loc[known, "grade"],
                          "converted": profiles.loc[known, "converted"].astype("int64")})
    table = frame.groupby("grade", observed=False)["converted"].agg(["size", "sum"]).reset_index()
    table.columns = ["grade", "contacts", "converted"]
    table["grade"] = table["grade"].astype("string")
    table["rate"] = table["converted"] / table["contacts"].where(table["contacts"] > 0)
    average = frame["converted"].mean() if len(frame) else np.nan
    table["lift"] = table["rate"] / average if average else np.nan
    return table


def top_share_capture(y_true, scores, share: float = 0.2) -> float:
    """Share of all positives found by calling the top ``share`` of contacts (highest scores first).

    >>> top_share_capture([1, 0, 1, 0, 0], [0.9, 0.8, 0.1, 0.2, 0.3], share=0.4)
    0.5
    """
    y = np.asarray(y_true, dtype=float)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    n_top = max(1, int(round(share * y.size)))
    return float(y[order[:n_top]].sum() / y.sum()) if y.sum() else float("nan")


def model_comparison(y_true, probabilities: dict[str, np.ndarray], scorecard_points=None) -> pd.DataFrame:
    """ROC AUC, KS, Brier score and top-20% capture of each model (and the points scorecard) on the same contacts.

    The scorecard gives points, not probabilities: its Brier score is left empty.
    """
    from sklearn.metrics import roc_auc_score

    from portfolio_helpers.analysis import propensity

    rows = []
    for name, probability in probabilities.items():
        measures = propensity.evaluate(y_true, probability)
        rows.append({"model": name, "roc_auc": measures["auc"], "ks": measures["ks"], "brier": measures["brier"],
                     "top_20pct_capture": top_share_capture(y_true, probability)})
    if scorecard_points is not None:
        rows.append({"model": POINTS_SCORECARD, "roc_auc": float(roc_auc_score(y_true, scorecard_points)),
                     "ks": propensity.ks_statistic(y_true, scorecard_points), "brier": np.nan,
                     "top_20pct_capture": top_share_capture(y_true, scorecard_points)})
    return pd.DataFrame(rows)


@dataclass
class LeadResults:
    """Notebook 05's lead scoring: profiles, scorecard grades and, with enough history, conversion models.

    ``conversion`` is ``None`` when fewer than :data:`MIN_OUTCOMES` leads converted or closed;
    ``comparison``, ``by_grade``, ``y_test`` and ``test_scores`` are then ``None`` too.
    """

    profiles: pd.DataFrame
    events: pd.DataFrame
    card: Scorecard
    scores: pd.DataFrame
    conversion: ConversionModels | None = None
    comparison: pd.DataFrame | None = None
    by_grade: pd.DataFrame | None = None
    y_test: pd.Series | None = None
    test_scores: dict = field(default_factory=dict)  # model name (and the scorecard) -> held-out scores
    explanations: pd.DataFrame | None = None  # top factors of the open leads' probability

    @property
    def open_ids(self) -> pd.Index:
        return self.profiles.index[self.profiles["status"] == "open"]

    @property
    def open_scores(self) -> pd.DataFrame:
        return self.scores.loc[self.open_ids]

    @property
    def n_converted(self) -> int:
        return int(self.profiles["converted"].sum())

    @property
    def n_closed(self) -> int:
        return int((self.profiles["status"] == "closed").sum())

    @property
    def n_known(self) -> int:
        return int(self.profiles["outcome_known"].sum())

    @property
    def best_model(self) -> str | None:
        return self.conversion.evaluation.best if self.conversion is not None else None

    @property
    def probability(self) -> pd.Series:
        return self.conversion.probability if self.conversion is not None else pd.Series(dtype=float)


def score_lead_table(leads: pd.DataFrame | None, as_of, settings: ScoringSettings, *,
                     customers: pd.DataFrame | None = None, transactions: pd.DataFrame | None = None,
                     seed: int = 42) -> LeadResults | None:
    """Profile, grade and (with :func:`enough_outcomes`) model the leads; ``None`` without a lead.

    Parameters
    ----------
    leads : DataFrame or None
        The cleaned leads table (``lead_id, date``; see :func:`lead_profiles`).
    as_of : date-like
        Analysis date.
    settings : ScoringSettings
        The validated ``scoring:`` section.
    customers, transactions : DataFrame, optional
        Give each conversion its earliest evidence (:func:`lead_profiles`).
    seed : int
        Random seed of the models.

    Returns
    -------
    LeadResults or None
    """
    from portfolio_helpers.analysis import propensity

    if leads is None or not len(leads):
        return None
    profiles, events = lead_profiles(leads, as_of, customers, transactions, open_days=settings.open_days)
    card = lead_scorecard(settings, profiles.columns)
    result = LeadResults(profiles, events, card, score_leads(card, profiles, events))
    if enough_outcomes(profiles):
        conversion = fit_conversion_models(profiles, events, settings.test_share, seed=seed)
        result.conversion = conversion
        result.y_test = conversion.frame.loc[conversion.test, "converted"]
        result.test_scores = {name: conversion.test_probability[name].to_numpy()
                              for name in conversion.test_probability}
        points = result.scores.loc[conversion.test, "total_score"].to_numpy()
        result.comparison = model_comparison(result.y_test, dict(result.test_scores), points)
        result.test_scores[POINTS_SCORECARD] = points
        result.by_grade = conversion_by_grade(result.scores, profiles)
    open_ids = result.open_ids
    result.explanations = (propensity.explain(result.conversion.final, result.conversion.frame.loc[open_ids])
                           if result.conversion is not None and len(open_ids)
                           else pd.DataFrame({"top_factors": pd.Series(index=open_ids, dtype=object)}))
    return result


@dataclass
class CustomerResults:
    """Notebook 05's customer scoring: value score, at-risk flag, next-purchase models, follow-up grades."""

    values: pd.DataFrame
    risk: pd.DataFrame
    card: Scorecard
    scores: pd.DataFrame
    purchase: PurchaseModels | None
    purchase_note: str | None  # why the next-purchase model could not be fitted (the model's own message)

    @property
    def purchase_auc(self) -> float:
        if self.purchase is None:
            return float("nan")
        from portfolio_helpers.analysis import propensity

        best = self.purchase.test[f"p_{self.purchase.evaluation.best}"]
        return float(propensity.evaluate(self.purchase.test["purchased"], best)["auc"])

    @property
    def next_scores(self) -> dict:
        """Held-out next-purchase probability of each model."""
        if self.purchase is None:
            return {}
        return {name: self.purchase.test[f"p_{name}"].to_numpy() for name in self.purchase.evaluation.models}


def score_customers(customer_features: pd.DataFrame, transactions: pd.DataFrame, as_of, settings: ScoringSettings,
                    *, customers: pd.DataFrame | None = None, payments: pd.DataFrame | None = None,
                    tickets: pd.DataFrame | None = None, seed: int = 42, customer_col: str = "customer_id",
                    date_col: str = "date", amount_col: str = "amount", order_col: str | None = "order_id",
                    status_col: str | None = "status") -> CustomerResults:
    """Value score, at-risk flag, next-purchase models and follow-up scorecard of every customer.

    The next-purchase model needs two horizons of history and buyers of both outcomes
    (:func:`fit_purchase_models`); without them ``purchase`` is ``None`` and ``purchase_note``
    holds the reason.

    The ``*_col`` keywords name the transactions' columns of the customer id, the line date, the
    net amount, the order id and the status (the last two optional: ``None`` or absent); results
    use the kit's names (``customer_id``). The other tables have the kit's names.
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    as_of = require_date(as_of, "as_of")
    values = value_scores(customer_features, settings.value_weights)
    risk = at_risk(customer_features, settings.at_risk)
    try:
        purchase = _fit_purchase_models(transactions, as_of.normalize(), settings.horizon_days, seed,
                                        customers=customers, payments=payments, tickets=tickets)
        note = None
    except ValueError as error:
        purchase, note = None, str(error)
    attributes = customer_attributes(customer_features)
    card = customer_scorecard(settings, attributes.columns)
    # (an engine table's events are counted per customer where they are: one row per customer comes back)
    events = _order_events_expr(transactions, as_of) if is_engine_table(transactions) \
        else _order_events(transactions, as_of)
    scores = scorecard.score(card, attributes, events, id_col="customer_id", reference_date=as_of)
    return CustomerResults(values, risk, card, scores, purchase, note)


@dataclass
class LookalikeResults:
    """Look-alike scores of the open leads and of the CRM's prospects against the best customers."""

    reference: pd.Series  # bool per customer: the best customers
    group: dict  # how they were chosen (:func:`best_segment`)
    leads: pd.DataFrame | None = None  # lookalike_score, matching_traits per open lead
    crm: pd.DataFrame | None = None  # stage, lookalike_score, matching_traits per CRM prospect
    skipped: str | None = None  # why scoring stopped (the scorer's message), or None


def lookalike(customer_features: pd.DataFrame, segments: pd.Series | None, leads: LeadResults | None, *,
              customers: pd.DataFrame | None = None) -> LookalikeResults:
    """Score the open leads and the CRM's prospects (:func:`crm_prospects` of ``customers``) against
    the best segment (:func:`best_segment`, :func:`lookalike_scores`); when the scores cannot be
    computed, ``skipped`` says why."""
    reference, group = best_segment(customer_features, segments)
    result = LookalikeResults(reference, group)
    try:
        if leads is not None and len(leads.open_ids):
            result.leads = lookalike_scores(customer_features, reference, leads.profiles.loc[leads.open_ids])
        prospects = crm_prospects(customers)
        if prospects is not None:
            scores = lookalike_scores(customer_features, reference, prospects)
            result.crm = prospects[["stage"]].join(scores).sort_values("lookalike_score", ascending=False)
    except ValueError as error:
        result.skipped = str(error)
    return result
