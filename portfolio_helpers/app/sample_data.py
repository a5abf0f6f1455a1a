"""Generated sample portfolio: realistic CRM/ERP exports with a known truth.

:func:`generate_portfolio` simulates a customer portfolio (transactions,
customers, payments, after-sales tickets and lead activity) from a seed. Each
customer is drawn from a hidden *generating segment* with its own behaviour,
so the analyses of the kit (Pareto, profitability, segmentation, lead scoring,
cleaning) have an answer key: the ``truth`` dictionary, written next to the
CSV files as ``truth.json`` and named in the written config (``answer_key: truth.json``);
the kit reads it only through that name.

With ``dirty=True`` the same portfolio is degraded the way real exports are
(near-duplicate customers, missing and invalid values, mixed date formats,
future dates, erroneous negative amounts, exact duplicate lines, unparseable
cells) and every planted defect is listed in the truth.

Everything is driven by a single :func:`numpy.random.default_rng` generator
(children are spawned from it for each part of the simulation), so the same
seed and arguments always give byte-identical files.

The customer's voice (survey answers in ``feedback``, and the customers' ``preferred_channel``,
``consent_email``, ``consent_phone`` and ``do_not_contact``, added as the last columns) draws from a
child of its own, spawned after the others, once everything else is made: the other tables and columns
are the same with or without it. The leads' same four columns (one value per lead, on each of its rows)
come from one more child, spawned last, so the voice is the same with or without them. An answer after which the customer buys nothing for a year is far more
often a detractor's (the planted link, ``truth["feedback"]``).

Generating segments
-------------------
``key_accounts``
    Large B2B accounts: frequent, big orders, steady negotiated discounts, pay
    on time (45/60-day terms). 5% of customers, about a third of revenue.
``service_heavy``
    Large B2B accounts buying often but small, with big discounts, many
    returns, late payment and many support tickets. About half are planted
    cost sinks that lose money once the cost to serve is counted
    (``truth["unprofitable_candidates"]``).
``smb_regulars``
    Small and mid-sized businesses ordering regularly, mid-size orders.
``loyal_consumers``
    B2C, frequent small baskets, rarely discounted, still active.
``occasional_consumers``
    B2C, one to a few small purchases, mostly recent acquisitions.
``lapsed``
    B2C customers who bought regularly early in the period (often with
    promotions) and then stopped.

In the four regular segments, 5% of the customers with at least a year of
history churn: they stop buying 4 to 11 months before the end
(``truth["churned_customers"]``), the valuable customers an "at risk" flag
should catch.

Part of the B2B customers come from the ``leads`` table: a lead converts with
a probability driven by its fit (source, role, industry, size, budget) and by
a latent interest that also drives its downloads, meetings and calls. Open
leads that went far enough stay in ``customers`` at stage ``lead``,
``prospect`` or ``qualified``, without transactions. Leads keep arriving
until three weeks before the end of the period, so the latest ones are still
open when the data ends: their events after the end are not in the data, and
``truth.json`` tells whether (and when) they convert later.

Defects (dirty mode)
--------------------
Each entry of ``truth["defects"]`` has ``table``, ``key`` (``customer_id`` for
customers and tickets, ``order_id`` for transactions and payments), ``row``
(0-based data row of the written CSV), ``column``, ``defect`` and ``value``
(as written, null when empty). Defects: ``near_duplicate`` (value: the
original id), ``duplicate_customer_id`` (activity filed under a duplicate),
``missing_value``, ``invalid_email``, ``inconsistent_country``,
``day_first_date`` (``dd/mm/yyyy``), ``day_first_datetime``
(``dd/mm/yyyy HH:MM``), ``future_date``, ``unparseable_date``,
``unparseable_amount``, ``erroneous_negative_amount`` (no matching order) and
``exact_duplicate`` (value: the row it copies).

Conventions
-----------
B2C orders are paid at checkout (``due_date`` = ``paid_date`` = order date);
B2B invoices carry 30/45/60-day terms. ``cost`` is the cost of goods of the
line at list price (``quantity * unit price * category cost rate``, with
noise): a discount lowers ``amount`` but not ``cost``. Credit notes for
returns are separate lines with negative ``quantity``, ``amount`` and
``cost``, status ``returned`` and the ``order_id`` of the original order.
Cancelled orders keep their (positive) amount, carry status ``cancelled`` and
are never invoiced. The cost to serve used for ``unprofitable_candidates`` is
``ticket cost + minutes / 60 * SERVICE_COST_PER_HOUR``.

The written ``portfolio.yml`` carries a ``costs:`` section (:data:`SAMPLE_COSTS`,
read by :mod:`portfolio_helpers.analysis.profitability`) priced the same way: support
time at ``SERVICE_COST_PER_HOUR / 60`` per minute, the category cost rates of
the generator for lines without a cost, and typical handling, delivery,
returns, dunning and account rates, so that the planted candidates come out
unprofitable while the key accounts stay profitable. Its ``scoring:`` section
(:data:`SAMPLE_SCORING`) holds editable lead and customer scorecards, and its ``objectives:``
section (:data:`SAMPLE_OBJECTIVES`) SMART objectives for the last year of data, tracked by notebook 07.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from portfolio_helpers.analysis.scoring import (
    DEFAULT_AT_RISK,
    DEFAULT_CUSTOMER_SCORECARD,
    DEFAULT_VALUE_WEIGHTS,
)
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.core.files import atomic_to_csv, atomic_write_text

__all__ = [
    "GENERATOR_VERSION",
    "SEGMENT_NAMES",
    "SAMPLE_COSTS",
    "SAMPLE_SCORING",
    "SAMPLE_OBJECTIVES",
    "SERVICE_COST_PER_HOUR",
    "TABLE_NAMES",
    "TRUTH_FILE",
    "SamplePortfolio",
    "generate_portfolio",
    "load_truth",
    "write_demo_data",
    "write_portfolio",
    "write_truth",
]

GENERATOR_VERSION = "1.0"
TABLE_NAMES: tuple[str, ...] = ("transactions", "customers", "payments", "tickets", "leads", "feedback")
#: The answer key's file, written beside the tables and named in portfolio.yml (``answer_key:``).
TRUTH_FILE = "truth.json"
#: Hourly cost of support time used to plant the unprofitable customers (EUR).
SERVICE_COST_PER_HOUR = 60.0

# --------------------------------------------------------------------------------------------------
# Generating segments
# --------------------------------------------------------------------------------------------------
CATEGORIES = ("hardware", "software", "services", "supplies")
# Cost of goods as a share of list price: different margins per category.
CATEGORY_COST_RATE = np.array([0.70, 0.25, 0.40, 0.55])
CATEGORY_PREFIX = ("HW", "SW", "SV", "SP")
CATEGORY_PRICE_RANGE = ((15.0, 4000.0), (10.0, 2500.0), (90.0, 5000.0), (2.0, 250.0))
PRODUCTS_PER_CATEGORY = 24
CHANNELS = ("web", "field sales", "phone", "store")
STATUSES = ("completed", "cancelled", "returned", "modified")

#: The ``costs:`` section of the generated ``portfolio.yml`` (EUR): the activity-based cost-to-serve
#: model of :mod:`portfolio_helpers.analysis.profitability`, consistent with how the generator prices things.
SAMPLE_COSTS: dict[str, Any] = {
    "default_cogs_rate": 0.50,  # only for lines without a cost (the sample has a cost on every line)
    "cogs_rate_by_category": dict(zip(CATEGORIES, CATEGORY_COST_RATE.tolist(), strict=True)),
    "per_order": 8.0,
    "per_line": 1.0,
    "per_delivery": 6.0,
    "per_return": 15.0,
    "per_ticket": 5.0,
    "per_service_minute": SERVICE_COST_PER_HOUR / 60,
    "capital_rate": 0.08,
    "per_late_invoice": 5.0,
    "per_customer": 5.0,
}

#: The ``objectives:`` section of the generated ``portfolio.yml`` (see :mod:`portfolio_helpers.analysis.growth`),
#: for the calendar year of the analysis date (``start`` and ``deadline`` are filled in by
#: :func:`generate_portfolio`). Targets are a sales director's, not the generator's: with 2,000 customers and
#: seed 42 some are met, some missed by a little, one by far.
SAMPLE_OBJECTIVES: list[dict[str, Any]] = [
    {"name": "Grow revenue", "metric": "revenue", "target": 4_800_000},
    {"name": "Win new customers", "metric": "new_customers", "target": 550},
    {"name": "Up-sell", "metric": "expansion_revenue", "target": 1_100_000},
    {"name": "Keep our customers", "metric": "gross_revenue_retention", "target": 0.85},
    {"name": "Convert referral leads", "metric": "lead_conversion_rate", "target": 0.25,
     "filter": {"source": "referral"}},
    {"name": "Grow key accounts", "metric": "revenue", "target": 1_200_000, "filter": {"owner": "Isabelle Roche"}},
]

#: Objectives whose target is a sum, which grows with the portfolio (rates do not).
_SUM_METRICS = ("revenue", "new_customers", "expansion_revenue")


def _scaled_objective(objective: dict[str, Any], n_customers: int) -> dict[str, Any]:
    """A copy of a :data:`SAMPLE_OBJECTIVES` item for ``n_customers``: a sum target scaled from the
    2,000 customers it was set for, to two significant digits (unchanged at 2,000).

    >>> _scaled_objective({"name": "Grow", "metric": "revenue", "target": 4_800_000}, 400)["target"]
    960000
    """
    out = copy.deepcopy(objective)
    if out["metric"] in _SUM_METRICS and n_customers != 2000:
        value = out["target"] * n_customers / 2000
        digits = 1 - int(math.floor(math.log10(value))) if value > 0 else 0
        out["target"] = max(int(round(value, digits)), 1)
    return out


#: The ``scoring:`` section of the generated ``portfolio.yml``: scorecards for the sample's leads and
#: customers (see :mod:`portfolio_helpers.analysis.scoring`). The lead points follow what a sales team would
#: write from experience, not the generator's hidden coefficients, so the report can check how well a
#: hand-made scorecard ranks against the fitted models.
SAMPLE_SCORING: dict[str, Any] = {
    "open_days": 90,
    "horizon_days": 180,
    "leads": {
        "fit": {"cap": 50, "criteria": [
            {"column": "role", "in": ["CEO / owner", "purchasing manager"], "points": 15,
             "label": "decision maker"},
            {"column": "role", "equals": "student / intern", "points": -20, "label": "student or intern"},
            {"column": "employees", "between": [50, 250], "points": 10},
            {"column": "employees", "at_least": 250, "points": 15},
            {"column": "employees", "at_most": 4, "points": -10},
            {"column": "industry", "in": ["Manufacturing", "Logistics", "Healthcare", "Construction"],
             "points": 10, "label": "target industry"},
            {"column": "industry", "in": ["Public sector", "Education"], "points": -10,
             "label": "public sector or education"},
            {"column": "budget", "at_least": 20000, "points": 10},
            {"column": "days_to_expected_purchase", "at_most": 90, "points": 5,
             "label": "expected purchase within 90 days"},
        ]},
        "engagement": {"cap": 50, "criteria": [
            {"event": "meeting", "at_least": 1, "points": 15},
            {"event": "meeting", "at_least": 2, "points": 10},
            {"event": "download", "at_least": 3, "within_days": 60, "points": 10},
            {"event": "email_click", "points_each": 2, "max_points": 8},
            {"event": "visit", "points_each": 1, "max_points": 5},
            {"column": "source", "equals": "referral", "points": 10},
            {"column": "source", "in": ["paid ads", "outbound call"], "points": -5, "label": "cold source"},
            {"column": "days_since_last_event", "at_least": 60, "points": -10},
        ]},
        "decay": {"half_life_days": 90},
        "grades": {"A": 60, "B": 35},
        "grid": {"fit": [30, 15], "engagement": [30, 15]},
    },
    # Existing customers, value weights and at-risk rule: the kit's defaults, written out to be edited.
    "customers": copy.deepcopy(DEFAULT_CUSTOMER_SCORECARD),
    "value_weights": dict(DEFAULT_VALUE_WEIGHTS),
    "at_risk": dict(DEFAULT_AT_RISK),
}


@dataclass(frozen=True)
class _Segment:
    name: str
    description: str
    share: float
    customer_type: str
    orders_per_year: float
    order_value: float  # median gross order value, EUR
    value_spread: float  # sigma of the per-customer log order value
    extra_lines: float  # mean number of lines beyond the first
    extra_units: float  # mean number of units beyond the first on a line
    discount_rate: tuple[float, float]  # per-customer rate drawn in this range
    discount_use: float  # share of lines that get the discount
    return_rate: float  # share of lines returned
    cancel_rate: float  # share of orders cancelled
    late_payer_share: float
    payment_terms: tuple[int, ...]
    tickets_per_year: float
    ticket_minutes: float  # median minutes per ticket
    ticket_cost_share: float  # share of tickets with a direct cost (parts, travel)
    channel_mix: tuple[float, ...]  # over CHANNELS
    category_mix: tuple[float, ...]  # over CATEGORIES
    large_company: bool = False


SEGMENTS: tuple[_Segment, ...] = (
    _Segment(
        "key_accounts", "Large B2B accounts: frequent big orders, small negotiated discounts, pay on time.",
        share=0.05, customer_type="B2B", orders_per_year=14.0, order_value=1100.0, value_spread=0.5,
        extra_lines=2.5, extra_units=3.0, discount_rate=(0.08, 0.14), discount_use=0.95, return_rate=0.02,
        cancel_rate=0.02, late_payer_share=0.05, payment_terms=(45, 60), tickets_per_year=6.0,
        ticket_minutes=35.0, ticket_cost_share=0.10, channel_mix=(0.10, 0.70, 0.20, 0.0),
        category_mix=(0.30, 0.35, 0.25, 0.10), large_company=True),
    _Segment(
        "service_heavy", "Large B2B accounts: many small orders, big discounts, many returns, late payment "
        "and many tickets; some are unprofitable.",
        share=0.03, customer_type="B2B", orders_per_year=40.0, order_value=380.0, value_spread=0.3,
        extra_lines=0.6, extra_units=1.0, discount_rate=(0.15, 0.25), discount_use=0.85, return_rate=0.14,
        cancel_rate=0.06, late_payer_share=0.85, payment_terms=(45, 60), tickets_per_year=25.0,
        ticket_minutes=80.0, ticket_cost_share=0.40, channel_mix=(0.15, 0.35, 0.50, 0.0),
        category_mix=(0.50, 0.05, 0.10, 0.35), large_company=True),
    _Segment(
        "smb_regulars", "Small and mid-sized businesses ordering regularly, mid-size orders.",
        share=0.20, customer_type="B2B", orders_per_year=7.0, order_value=600.0, value_spread=0.5,
        extra_lines=1.2, extra_units=2.0, discount_rate=(0.02, 0.08), discount_use=0.5, return_rate=0.03,
        cancel_rate=0.03, late_payer_share=0.1, payment_terms=(30, 30, 45), tickets_per_year=1.0,
        ticket_minutes=30.0, ticket_cost_share=0.10, channel_mix=(0.45, 0.25, 0.30, 0.0),
        category_mix=(0.30, 0.25, 0.15, 0.30)),
    _Segment(
        "loyal_consumers", "B2C: frequent small baskets, rarely discounted, still active.",
        share=0.22, customer_type="B2C", orders_per_year=12.0, order_value=110.0, value_spread=0.45,
        extra_lines=0.6, extra_units=0.5, discount_rate=(0.08, 0.12), discount_use=0.08, return_rate=0.03,
        cancel_rate=0.02, late_payer_share=0.0, payment_terms=(0,), tickets_per_year=0.1,
        ticket_minutes=20.0, ticket_cost_share=0.05, channel_mix=(0.60, 0.0, 0.05, 0.35),
        category_mix=(0.35, 0.15, 0.05, 0.45)),
    _Segment(
        "occasional_consumers", "B2C: one to a few small purchases, mostly recent.",
        share=0.35, customer_type="B2C", orders_per_year=0.6, order_value=70.0, value_spread=0.5,
        extra_lines=0.3, extra_units=0.3, discount_rate=(0.10, 0.20), discount_use=0.05, return_rate=0.01,
        cancel_rate=0.04, late_payer_share=0.0, payment_terms=(0,), tickets_per_year=0.15,
        ticket_minutes=20.0, ticket_cost_share=0.05, channel_mix=(0.55, 0.0, 0.05, 0.40),
        category_mix=(0.50, 0.15, 0.05, 0.30)),
    _Segment(
        "lapsed", "B2C: bought regularly early in the period, often on promotion, then stopped.",
        share=0.15, customer_type="B2C", orders_per_year=7.0, order_value=160.0, value_spread=0.5,
        extra_lines=0.6, extra_units=0.5, discount_rate=(0.15, 0.30), discount_use=0.6, return_rate=0.04,
        cancel_rate=0.04, late_payer_share=0.0, payment_terms=(0,), tickets_per_year=0.4,
        ticket_minutes=25.0, ticket_cost_share=0.05, channel_mix=(0.50, 0.0, 0.10, 0.40),
        category_mix=(0.40, 0.15, 0.05, 0.40)),
)
SEGMENT_NAMES: tuple[str, ...] = tuple(s.name for s in SEGMENTS)
_SEG = {name: i for i, name in enumerate(SEGMENT_NAMES)}


def _segment_param(attribute: str) -> np.ndarray:
    return np.array([getattr(s, attribute) for s in SEGMENTS], dtype=float)


# Seasonality: Q4 peak, summer (August) dip, slight growth over time.
MONTH_FACTOR = np.array([0.90, 0.95, 1.05, 1.00, 1.00, 1.05, 0.85, 0.55, 1.05, 1.10, 1.35, 1.50])
B2B_WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.12, 0.04])
B2C_WEEKDAY_FACTOR = np.array([0.9, 0.9, 0.9, 0.95, 1.05, 1.35, 1.0])
YEARLY_GROWTH = 0.06

# --------------------------------------------------------------------------------------------------
# Leads
# --------------------------------------------------------------------------------------------------
CHURN_SHARE = 0.05  # regular customers who stop buying during the last year
LEADS_PER_CUSTOMER = 0.6
EVENTS = ("form", "download", "email_open", "email_click", "visit", "meeting", "call")
# Poisson rate of each event for an average lead and how strongly it follows the lead's interest.
_EVENT_BASE_RATE = np.array([0.0, 1.0, 2.5, 1.2, 2.5, 0.7, 0.8])
_EVENT_INTEREST_SLOPE = np.array([0.0, 1.0, 0.3, 0.8, 0.6, 1.2, 0.7])
LEAD_SOURCES = ("webinar", "referral", "trade show", "paid ads", "organic search", "outbound call")
_SOURCE_SHARE = np.array([0.18, 0.12, 0.12, 0.25, 0.20, 0.13])
_SOURCE_EFFECT = np.array([0.2, 0.8, 0.3, -0.4, 0.0, -0.6])
LEAD_ROLES = ("CEO / owner", "purchasing manager", "operations manager", "IT manager",
              "marketing manager", "finance manager", "student / intern")
_ROLE_SHARE = np.array([0.14, 0.18, 0.18, 0.16, 0.14, 0.12, 0.08])
_ROLE_EFFECT = np.array([0.5, 0.45, 0.2, 0.1, -0.2, 0.1, -1.5])
_LEAD_INTERCEPT = -2.6
_LEAD_INTEREST_WEIGHT = 2.2  # latent interest drives both the events and the conversion
_LEAD_NOISE = 0.4  # unobservable part of the conversion logit

INDUSTRIES = ("Manufacturing", "Retail", "Healthcare", "Construction", "Logistics", "Professional services",
              "Hospitality", "Public sector", "Education", "Energy", "IT services", "Agriculture")
_INDUSTRY_SHARE = np.array([0.14, 0.11, 0.09, 0.10, 0.09, 0.12, 0.07, 0.05, 0.04, 0.05, 0.09, 0.05])
_INDUSTRY_LEAD_EFFECT = np.array([0.5, 0.0, 0.35, 0.3, 0.45, 0.0, -0.35, -0.6, -0.6, 0.1, 0.2, -0.2])
# Word used in company names for each industry, per language.
_SECTOR_WORDS = {
    "fr": ("Industrie", "Distribution", "Santé", "Bâtiment", "Logistique", "Conseil", "Hôtellerie",
           "Administration", "Formation", "Énergie", "Informatique", "Agri"),
    "de": ("Werke", "Handel", "Medizintechnik", "Bau", "Logistik", "Beratung", "Gastronomie", "Verwaltung",
           "Bildung", "Energie", "Systeme", "Agrar"),
    "es": ("Industrial", "Distribución", "Salud", "Construcciones", "Logística", "Consultoría",
           "Hostelería", "Administración", "Formación", "Energía", "Sistemas", "Agro"),
    "it": ("Industrie", "Distribuzione", "Sanità", "Costruzioni", "Logistica", "Consulenza", "Ospitalità",
           "Amministrazione", "Formazione", "Energia", "Informatica", "Agricola"),
    "en": ("Manufacturing", "Retail", "Healthcare", "Construction", "Logistics", "Consulting", "Hospitality",
           "Administration", "Training", "Energy", "Systems", "Farms"),
}

# --------------------------------------------------------------------------------------------------
# People, places and companies
# --------------------------------------------------------------------------------------------------


def _codes(low: int, high: int, step: int = 1, width: int = 5) -> tuple[str, ...]:
    return tuple(str(code).zfill(width) for code in range(low, high + 1, step))


@dataclass(frozen=True)
class _Country:
    code: str
    name: str
    language: str
    calling_code: str
    drop_trunk_zero: bool  # the national leading 0 disappears in international format
    b2c_share: float
    b2b_share: float
    cities: tuple[tuple[str, tuple[str, ...], str], ...]  # (city, postal codes, landline area)
    landline: str  # template, {area} then # for digits
    mobiles: tuple[str, ...]
    streets: tuple[str, ...]
    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    mail_domains: tuple[str, ...]
    web_tld: str
    legal_forms: tuple[str, ...]
    local_names: tuple[str, ...] = field(default=())  # spellings used by dirty exports


_FR_FEMALE = ("Sophie", "Marie", "Camille", "Léa", "Chloé", "Manon", "Inès", "Hélène", "Céline", "Élodie",
              "Nathalie", "Isabelle", "Zoé", "Noémie", "Gaëlle", "Amélie", "Julie", "Aurélie", "Émilie",
              "Sandrine", "Anne-Sophie", "Marie-Claire")
_FR_MALE = ("Jean", "Pierre", "Nicolas", "Julien", "Thomas", "François", "Jérôme", "Loïc", "Stéphane",
            "Sébastien", "Mathieu", "Antoine", "Hugo", "Lucas", "Benoît", "Rémi", "Olivier", "Éric",
            "Laurent", "Gaël", "Jean-Pierre", "Jean-Marc")
_FR_LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
            "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
            "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont", "Lambert",
            "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin",
            "Muller", "Henry", "Roussel", "Perrin", "Morin", "Clément", "Gauthier", "Dumont", "Fontaine",
            "Chevalier", "Robin", "Gérard", "Lemaître", "Boyer", "Noël", "Benali", "Nguyen", "Da Silva")
_EN_FEMALE = ("Emma", "Olivia", "Amelia", "Isla", "Sophie", "Emily", "Grace", "Charlotte", "Jessica",
              "Sarah", "Hannah", "Megan", "Chloe", "Lucy")
_EN_MALE = ("James", "Oliver", "Harry", "Jack", "George", "William", "Thomas", "Daniel", "Michael", "David",
            "Christopher", "Matthew", "Samuel", "Joseph")
_EN_LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
            "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
            "Clarke", "Miller", "Davis", "Anderson", "Moore", "O'Brien", "O'Connor", "Patel", "Khan")

COUNTRIES: tuple[_Country, ...] = (
    _Country(
        "FR", "France", "fr", "33", True, 0.66, 0.52,
        (("Paris", _codes(75001, 75020), "01"), ("Lyon", _codes(69001, 69009), "04"),
         ("Marseille", _codes(13001, 13016), "04"), ("Toulouse", _codes(31000, 31500, 100), "05"),
         ("Nice", _codes(6000, 6300, 100), "04"), ("Nantes", _codes(44000, 44300, 100), "02"),
         ("Strasbourg", _codes(67000, 67200, 100), "03"), ("Montpellier", ("34000", "34070", "34080", "34090"), "04"),
         ("Bordeaux", ("33000", "33100", "33200", "33300", "33800"), "05"),
         ("Lille", ("59000", "59160", "59260", "59800"), "03"), ("Rennes", ("35000", "35200", "35700"), "02"),
         ("Reims", ("51100",), "03"), ("Saint-Étienne", ("42000", "42100"), "04"),
         ("Le Havre", ("76600", "76610", "76620"), "02"), ("Toulon", ("83000", "83100", "83200"), "04"),
         ("Grenoble", ("38000", "38100"), "04"), ("Dijon", ("21000",), "03"), ("Angers", ("49000", "49100"), "02"),
         ("Nîmes", ("30000", "30900"), "04"), ("Clermont-Ferrand", ("63000", "63100"), "04"),
         ("Aix-en-Provence", ("13080", "13090", "13100"), "04"), ("Besançon", ("25000",), "03"),
         ("Orléans", ("45000", "45100"), "02"), ("Évry-Courcouronnes", ("91000",), "01")),
        "{area} ## ## ## ##", ("06 ## ## ## ##", "07 ## ## ## ##"),
        ("{n} rue Victor Hugo", "{n} avenue Jean Jaurès", "{n} boulevard Gambetta", "{n} place de la République",
         "{n} rue de la Paix", "{n} rue du Général Leclerc", "{n} chemin des Vignes", "{n} allée des Tilleuls",
         "{n} rue Pasteur", "{n} quai de la Loire", "{n} rue des Écoles", "{n} impasse des Lilas",
         "{n} avenue de la Libération", "{n} rue Nationale"),
        _FR_FEMALE, _FR_MALE, _FR_LAST,
        ("gmail.com", "orange.fr", "free.fr", "hotmail.fr", "yahoo.fr", "laposte.net", "sfr.fr", "outlook.fr"),
        "fr", ("SAS", "SARL", "SA"), ("france", "FR", "FRANCE", "Frankreich")),
    _Country(
        "DE", "Germany", "de", "49", True, 0.08, 0.14,
        (("Berlin", _codes(10115, 13599, 7), "030"), ("Hamburg", _codes(20095, 22769, 7), "040"),
         ("München", _codes(80331, 81929, 7), "089"), ("Köln", _codes(50667, 51149, 3), "0221"),
         ("Frankfurt am Main", _codes(60306, 60599, 3), "069"), ("Stuttgart", _codes(70173, 70629, 3), "0711"),
         ("Düsseldorf", _codes(40210, 40629, 3), "0211"), ("Leipzig", _codes(4103, 4357, 3), "0341")),
        "{area} ### ####", ("0151 ########", "0160 #######", "0171 #######", "0176 ########"),
        ("Hauptstraße {n}", "Bahnhofstraße {n}", "Gartenstraße {n}", "Schillerstraße {n}", "Goethestraße {n}",
         "Lindenallee {n}", "Am Marktplatz {n}", "Müllerweg {n}", "Bergstraße {n}", "Kirchgasse {n}"),
        ("Anna", "Lena", "Katharina", "Sophie", "Julia", "Sabine", "Ursula", "Petra", "Brigitte", "Hannah",
         "Lea", "Maren", "Jutta"),
        ("Lukas", "Maximilian", "Jürgen", "Jörg", "Björn", "Stefan", "Andreas", "Michael", "Thomas", "Klaus",
         "Uwe", "Matthias", "Florian", "Tobias"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
         "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz",
         "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Köhler"),
        ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de"), "de", ("GmbH", "AG", "GmbH & Co. KG"),
        ("Deutschland", "DE", "Allemagne", "germany")),
    _Country(
        "BE", "Belgium", "fr", "32", True, 0.08, 0.08,
        (("Bruxelles", _codes(1000, 1210, 10, 4), "02"), ("Antwerpen", _codes(2000, 2660, 20, 4), "03"),
         ("Gent", ("9000", "9030", "9040", "9050"), "09"), ("Liège", ("4000", "4020", "4030"), "04"),
         ("Charleroi", ("6000", "6001", "6010", "6060"), "071"), ("Namur", ("5000", "5002", "5100"), "081"),
         ("Brugge", ("8000", "8200", "8310"), "050")),
        "{area} ### ## ##", ("0470 ## ## ##", "0475 ## ## ##", "0486 ## ## ##", "0497 ## ## ##"),
        ("Rue de la Loi {n}", "Avenue Louise {n}", "Kerkstraat {n}", "Stationsstraat {n}", "Rue Neuve {n}",
         "Chaussée de Waterloo {n}", "Rue des Wallons {n}", "Dorpstraat {n}"),
        ("Lotte", "Elise", "Marie", "Emma", "Louise", "Charlotte", "Laura", "Sarah", "Julie", "Ann", "Hélène"),
        ("Wout", "Pieter", "Jan", "Luc", "Bart", "Arnaud", "Maxime", "Thibault", "Koen", "Geert", "Frédéric"),
        ("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters",
         "De Smet", "Dubois", "Lambert", "Dupont", "Leclercq", "Lemaire", "Vermeulen", "Van Damme",
         "De Backer", "Renard", "Lejeune"),
        ("gmail.com", "skynet.be", "telenet.be", "hotmail.com", "proximus.be"), "be", ("SA", "SRL", "NV", "BV"),
        ("Belgique", "BE", "België", "belgium")),
    _Country(
        "ES", "Spain", "es", "34", False, 0.07, 0.08,
        (("Madrid", _codes(28001, 28055), "91"), ("Barcelona", _codes(8001, 8042), "93"),
         ("Valencia", _codes(46001, 46026), "96"), ("Sevilla", _codes(41001, 41020), "95"),
         ("Zaragoza", _codes(50001, 50021), "976"), ("Málaga", _codes(29001, 29018), "95"),
         ("Bilbao", _codes(48001, 48015), "94")),
        "{area} ### ## ##", ("6## ### ###", "7## ### ###"),
        ("Calle Mayor {n}", "Avenida de la Constitución {n}", "Calle de Alcalá {n}", "Paseo de Gracia {n}",
         "Plaza de España {n}", "Calle Real {n}", "Calle del Sol {n}", "Avenida de Andalucía {n}"),
        ("María", "Lucía", "Inés", "Carmen", "Ana", "Laura", "Marta", "Elena", "Paula", "Sofía", "Begoña",
         "Núria"),
        ("José", "Andrés", "Álvaro", "Javier", "Carlos", "Manuel", "Pablo", "Sergio", "Jesús", "Raúl",
         "Iñigo", "Rubén"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez",
         "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez", "Romero", "Navarro",
         "Torres"),
        ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net", "outlook.es"), "es", ("S.L.", "S.A."),
        ("España", "ES", "Espagne", "spain")),
    _Country(
        "IT", "Italy", "it", "39", False, 0.06, 0.07,
        (("Roma", _codes(118, 199, 1), "06"), ("Milano", _codes(20121, 20162), "02"),
         ("Napoli", _codes(80121, 80147), "081"), ("Torino", _codes(10121, 10156), "011"),
         ("Bologna", _codes(40121, 40141), "051"), ("Firenze", _codes(50121, 50145), "055"),
         ("Genova", _codes(16121, 16167), "010")),
        "{area} #### ####", ("3## ### ####",),
        ("Via Roma {n}", "Via Garibaldi {n}", "Corso Vittorio Emanuele {n}", "Via Dante {n}",
         "Piazza del Duomo {n}", "Via Mazzini {n}", "Via Cavour {n}", "Viale Europa {n}"),
        ("Giulia", "Francesca", "Chiara", "Sara", "Martina", "Alessandra", "Elena", "Federica", "Valentina",
         "Silvia"),
        ("Marco", "Luca", "Niccolò", "Alessandro", "Andrea", "Matteo", "Lorenzo", "Giuseppe", "Davide",
         "Simone", "Fabrizio"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
         "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti"),
        ("gmail.com", "libero.it", "virgilio.it", "alice.it", "hotmail.it"), "it", ("S.r.l.", "S.p.A."),
        ("Italia", "IT", "Italie", "italy")),
    _Country(
        "GB", "United Kingdom", "en", "44", True, 0.03, 0.06,
        (("London", ("SW1A 1AA", "EC1A 1BB", "W1A 0AX", "N1 9GU", "SE1 7PB", "E1 6AN", "NW1 6XE"), "020"),
         ("Manchester", ("M1 1AE", "M2 3WQ", "M4 5JD"), "0161"),
         ("Birmingham", ("B1 1BB", "B2 4QA", "B5 4BU"), "0121"), ("Leeds", ("LS1 4AP", "LS2 7HZ"), "0113"),
         ("Glasgow", ("G1 1XQ", "G2 8LU"), "0141"), ("Bristol", ("BS1 4DJ", "BS8 1TH"), "0117"),
         ("Edinburgh", ("EH1 1YZ", "EH3 9DR"), "0131")),
        "{area} ### ####", ("07### ######",),
        ("{n} High Street", "{n} Station Road", "{n} Church Lane", "{n} Victoria Road", "{n} Park Avenue",
         "{n} King's Road", "{n} Mill Lane"),
        _EN_FEMALE, _EN_MALE, _EN_LAST,
        ("gmail.com", "hotmail.co.uk", "btinternet.com", "outlook.com", "yahoo.co.uk"), "co.uk", ("Ltd", "PLC"),
        ("UK", "GB", "Royaume-Uni", "England")),
    _Country(
        "US", "United States", "en", "1", False, 0.02, 0.05,
        (("New York", _codes(10001, 10292, 3), "212"), ("Los Angeles", _codes(90001, 90089), "213"),
         ("Chicago", _codes(60601, 60661), "312"), ("Houston", _codes(77001, 77099), "713"),
         ("Boston", _codes(2108, 2137), "617"), ("San Francisco", _codes(94102, 94134), "415"),
         ("Seattle", _codes(98101, 98199), "206")),
        "({area}) ###-####", ("(917) ###-####", "(646) ###-####", "(310) ###-####"),
        ("{n} Main St", "{n} Oak Ave", "{n} Maple Dr", "{n} Broadway", "{n} Elm St", "{n} Washington Blvd",
         "{n} Lakeview Rd"),
        _EN_FEMALE, _EN_MALE, _EN_LAST + ("Garcia", "Rodriguez", "Nguyen", "Kim", "Lee", "Lopez"),
        ("gmail.com", "yahoo.com", "outlook.com", "aol.com", "icloud.com"), "com", ("Inc.", "LLC", "Corp."),
        ("USA", "US", "United States of America", "États-Unis")),
)
_COUNTRY_B2C_SHARE = np.array([c.b2c_share for c in COUNTRIES])
_COUNTRY_B2B_SHARE = np.array([c.b2b_share for c in COUNTRIES])

_STEM_START = ("Techno", "Nova", "Alti", "Cap", "Bio", "Eco", "Inno", "Opti", "Multi", "Euro", "Tri", "Sud",
               "Nord", "Azur", "Atlas", "Delta", "Orion", "Vertex", "Lumi", "Prima", "Geo", "Hydro", "Proxi",
               "Sigma", "Astra", "Cyber", "Terra", "Alpha", "Omni", "Helio", "Kine", "Meta", "Neo", "Pluri",
               "Quadri", "Rhéa", "Soli", "Val", "Xeno", "Zéphyr")
_STEM_END = ("va", "tec", "lys", "gie", "com", "line", "nis", "plus", "tis", "ria", "dis", "form", "ware",
             "flux", "net", "pole", "mat", "rix", "dia", "sys")
_FAMILY_FIRM = {"fr": ("{last} & Fils", "Groupe {last}", "Établissements {last}", "Atelier {last}"),
                "de": ("{last} & Söhne", "{last} Gruppe", "Gebrüder {last}", "{last} & Partner"),
                "es": ("{last} e Hijos", "Grupo {last}", "Hermanos {last}", "{last} y Asociados"),
                "it": ("{last} & Figli", "Gruppo {last}", "Fratelli {last}", "{last} & Associati"),
                "en": ("{last} & Sons", "{last} Group", "{last} Brothers", "{last} & Partners")}

KEY_ACCOUNT_MANAGERS = ("Isabelle Roche", "Marc Delorme")
FIELD_SALES_REPS = ("Claire Fontaine", "Julien Marchand", "Sarah Benali", "Thomas Weber", "Lucía Ortega",
                    "Marco Bellini")
INSIDE_SALES_REPS = ("Nadia Haddad", "Kevin Laurent")
B2B_ACQUISITION_CHANNELS = ("field sales", "trade show", "referral", "partner", "inbound")
B2C_ACQUISITION_CHANNELS = ("web", "store", "marketplace", "social ads", "referral")
INCOME_BANDS = ("<20k", "20-35k", "35-50k", "50-75k", ">75k")

# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


@dataclass
class SamplePortfolio:
    """A generated portfolio and its answer key.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        ``transactions``, ``customers``, ``payments``, ``tickets``, ``leads`` and ``feedback``
        with the canonical column names of :mod:`portfolio_helpers.core.contract`.
        In clean mode date columns are datetimes; in dirty mode the date and
        amount columns that carry mixed or unparseable values are text, exactly
        as written.
    truth : dict
        JSON-serialisable answer key (see :func:`generate_portfolio`).
    config : dict
        Content of the ``portfolio.yml`` written by :func:`write_portfolio`.
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    config: dict[str, Any]


def generate_portfolio(n_customers: int = 2000, seed: int = 42, dirty: bool = False,
                       start: str = "2023-01-01", end: str = "2025-12-31") -> SamplePortfolio:
    """Simulate a customer portfolio with a known generating truth.

    Parameters
    ----------
    n_customers : int, default=2000
        Number of buying customers (records with stage ``customer``, before
        any near-duplicate). Open leads may add records at earlier stages.
    seed : int, default=42
        Seed of the :func:`numpy.random.default_rng` generator.
    dirty : bool, default=False
        Plant realistic defects (near-duplicate customers, missing and invalid
        values, mixed date formats, future dates, erroneous negative amounts,
        exact duplicate lines, unparseable cells), all listed in
        ``truth["defects"]`` and ``truth["duplicate_groups"]``. The
        underlying portfolio is the same as with ``dirty=False``.
    start, end : str, default="2023-01-01", "2025-12-31"
        Period covered by the transactions; ``end`` is the ``as_of`` date.

    Returns
    -------
    SamplePortfolio
        ``tables`` (six DataFrames: the five of the contract's first tables and ``feedback``, survey
        answers), ``truth`` and ``config``. ``truth`` has
        the keys ``meta``, ``customers`` (``customer_id``, ``segment``,
        ``customer_type``, ``duplicate_of``, ``lead_id``, ``source_lead_id``),
        ``duplicate_groups`` (``group_id``, ``customer_ids``, ``original_id``),
        ``defects`` (``table``, ``key``, ``row``, ``column``, ``defect``,
        ``value``), ``leads`` (``lead_id``, ``converted``, ``customer_id``,
        ``conversion_date``, ``conversion_probability``) and
        ``unprofitable_candidates`` and ``churned_customers``, and ``feedback`` (the rule linking low
        scores to later churn, the customers silent after an answer, the out-of-scale rows of the dirty
        sample; see :func:`_add_voice`). See :func:`load_truth`.

    Examples
    --------
    >>> from portfolio_helpers.app.sample_data import generate_portfolio
    >>> sample = generate_portfolio(n_customers=300, seed=7)
    >>> sorted(sample.tables)
    ['customers', 'feedback', 'leads', 'payments', 'tickets', 'transactions']
    >>> int((sample.tables["customers"]["stage"] == "customer").sum())
    300
    >>> sample.config["as_of"]
    datetime.date(2025, 12, 31)
    """
    n_customers = int(n_customers)
    if n_customers < 10:
        raise ValueError(f"n_customers must be at least 10, got {n_customers}")
    period_start, period_end, n_days = _period(start, end, 365, "one year")

    streams = dict(zip(("catalog", "leads", "customers", "identity", "orders", "payments", "tickets", "dirty"),
                       np.random.default_rng(seed).spawn(8), strict=True))
    calendar = _Calendar(period_start, n_days)
    catalog = _make_catalog(streams["catalog"])
    leads = _simulate_leads(n_customers, calendar, streams["leads"])
    people = _simulate_customers(n_customers, leads, calendar, streams["customers"])
    orders, lines = _simulate_orders(people, calendar, catalog, streams["orders"])
    invoices = _simulate_payments(people, orders, lines, calendar, streams["payments"])
    tickets = _simulate_tickets(people, calendar, streams["tickets"])
    people["contribution"] = _contribution(people, lines, tickets)

    records = _customer_records(people, leads, calendar, streams["identity"])
    tables = _assemble_tables(records, people, orders, lines, invoices, tickets, leads, catalog, calendar)
    truth = _build_truth(records, people, leads, calendar, seed, n_customers, dirty, period_start, period_end)
    if dirty:
        tables = _make_dirty(tables, truth, records, calendar, streams["dirty"])
    # The customer's voice draws from a stream of its own, after everything else: the five tables above
    # are the same with or without it (only new columns at the end of customers, and a new table).
    voice_stream, lead_contact_stream = np.random.default_rng(seed).spawn(len(streams) + 2)[-2:]
    tables, truth["feedback"] = _add_voice(tables, truth, records, people, orders, calendar, voice_stream, dirty)
    # The leads' contact wishes come from one more stream of their own, so the voice above is unchanged.
    tables["leads"], truth["feedback"]["leads_do_not_contact"] = _with_lead_contact_preferences(
        tables["leads"], lead_contact_stream, dirty)

    name = f"Sample portfolio (generated, seed {seed}{', dirty' if dirty else ''})"
    config = {
        "name": name,
        "currency": "EUR",
        "as_of": period_end.date(),
        "seed": seed,
        "answer_key": TRUTH_FILE,
        "tables": {table: {"path": f"{table}.csv"} for table in TABLE_NAMES},
        "costs": {key: dict(value) if isinstance(value, dict) else value for key, value in SAMPLE_COSTS.items()},
        "scoring": copy.deepcopy(SAMPLE_SCORING),
        "feedback": {"scale": "nps"},
        "objectives": [{**_scaled_objective(objective, n_customers), "start": period_end.date().replace(month=1, day=1),
                        "deadline": period_end.date().replace(month=12, day=31)} for objective in SAMPLE_OBJECTIVES],
        # notebook 06 checks its purchase models on the last six months
        "clv": {"calibration_end": (period_end - pd.DateOffset(months=6)).date(), "time_unit": "week"},
    }
    return SamplePortfolio(tables=tables, truth=truth, config=config)


class _FlowDict(dict):
    """A mapping written on one line (``{column: role, equals: CEO, points: 15}``)."""


class _ConfigDumper(yaml.SafeDumper):
    pass


_ConfigDumper.add_representer(
    _FlowDict, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True))
_ConfigDumper.add_representer(
    list, lambda dumper, data: dumper.represent_sequence(
        "tag:yaml.org,2002:seq", data, flow_style=not any(isinstance(item, dict) for item in data)))


def _flow_leaves(value: Any) -> Any:
    """Mappings of scalars and lists of scalars on one line each, so the config reads as a table."""
    if isinstance(value, dict):
        items = {key: _flow_leaves(item) for key, item in value.items()}
        leaf = all(not isinstance(item, dict) and not (isinstance(item, list) and any(
            isinstance(x, dict) for x in item)) for item in value.values())
        return _FlowDict(items) if leaf and value else items
    if isinstance(value, list):
        return [_flow_leaves(item) for item in value]
    return value


def write_portfolio(sample: SamplePortfolio, out_dir: str | os.PathLike, answer_key: bool = True) -> Path:
    """Write the six CSV files, ``portfolio.yml`` and ``truth.json``.

    Files are UTF-8, comma-separated, with ISO dates (clean data) and amounts
    with two decimals; each is written atomically. The output only depends on
    ``sample``, so the same seed and arguments give byte-identical files.

    Parameters
    ----------
    sample : SamplePortfolio
        Output of :func:`generate_portfolio`.
    out_dir : str or path-like
        Directory to write into (created if needed).
    answer_key : bool, default True
        Write ``truth.json`` and name it in the config. ``False`` (a workshop student's
        copy, :mod:`portfolio_helpers.app.workshop`): no answer key, no ``answer_key:``
        line, and neither the header nor the files mention the generator's seed (the
        config's ``name`` and ``seed`` are written as ``sample.config`` holds them).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile
    >>> from portfolio_helpers.app.sample_data import generate_portfolio, write_portfolio
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_portfolio(generate_portfolio(200, seed=1), tmp)
    ...     sorted(p.name for p in out.iterdir())
    ['customers.csv', 'feedback.csv', 'leads.csv', 'payments.csv', 'portfolio.yml', 'tickets.csv', 'transactions.csv', 'truth.json']
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in TABLE_NAMES:
        # Raw input files as a CRM exports them (phones such as "+33 ..."), not a report export.
        atomic_to_csv(sample.tables[table], out_dir / sample.config["tables"][table]["path"], index=False,
                      spreadsheet_safe=False, float_format="%.2f", date_format="%Y-%m-%d", lineterminator="\n", encoding="utf-8")
    meta = sample.truth["meta"]
    seed = f", seed {meta['seed']}" if answer_key else ""
    header = (f"# Generated by portfolio_helpers.app.sample_data {meta['generator_version']}: "
              f"{meta['n_customers']} customers{seed}{', dirty' if meta['dirty'] else ''}.\n"
              + (f"# answer_key: {TRUTH_FILE} lists what was generated (segments, duplicates, defects, lead outcomes).\n"
                 if answer_key else "")
              + "# costs: rates (EUR) of the cost-to-serve model, see portfolio_helpers.analysis.profitability.\n"
              "# scoring: lead and customer scorecards, value score weights, see portfolio_helpers.analysis.scoring.\n"
              "# feedback: the scale of the survey answers (NPS 0-10), see portfolio_helpers.cleaning.feedback.\n"
              "# objectives: SMART objectives tracked by notebook 07, see portfolio_helpers.analysis.growth.\n"
              "# clv: future value (notebook 06), models checked after calibration_end, see "
              "portfolio_helpers.analysis.clv.value.\n")
    config = sample.config if answer_key else {k: v for k, v in sample.config.items() if k != "answer_key"}
    atomic_write_text(out_dir / "portfolio.yml",
                      header + yaml.dump(_flow_leaves(config), Dumper=_ConfigDumper, sort_keys=False,
                                          allow_unicode=True, width=120))
    if answer_key:
        atomic_write_text(out_dir / sample.config.get("answer_key", TRUTH_FILE), _truth_json(sample.truth))
    return out_dir


def write_truth(sample: SamplePortfolio, path: str | os.PathLike) -> Path:
    """Write the answer key of ``sample`` alone (as ``truth.json`` is written), atomically.

    For a copy of the data written with ``answer_key=False`` whose key is kept elsewhere
    (a workshop's teacher folder).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from portfolio_helpers.app.sample_data import generate_portfolio, load_truth, write_truth
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_truth(generate_portfolio(200, seed=1), Path(tmp) / "key.json")
    ...     len(load_truth(path)["customers"]) >= 200
    True
    """
    return atomic_write_text(path, _truth_json(sample.truth))


def write_demo_data(out_dir: str | os.PathLike, n_customers: int = 2000, seed: int = 42,
                    dirty: bool = False) -> Path:
    """Generate a portfolio and write it to ``out_dir`` (``portfolio demo-data``).

    Parameters
    ----------
    out_dir : str or path-like
        Output directory.
    n_customers, seed, dirty
        See :func:`generate_portfolio`.

    Returns
    -------
    pathlib.Path
        ``out_dir``, which holds ``portfolio.yml`` ready for the loader.

    Examples
    --------
    >>> import tempfile
    >>> from portfolio_helpers.app.sample_data import write_demo_data, load_truth
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_demo_data(tmp, n_customers=200, seed=3, dirty=True)
    ...     truth = load_truth(out / "truth.json")
    >>> sorted(truth)
    ['customers', 'defects', 'duplicate_groups', 'leads']
    """
    return write_portfolio(generate_portfolio(n_customers=n_customers, seed=seed, dirty=dirty), out_dir)


def load_truth(path: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Read ``truth.json`` into tidy DataFrames.

    Parameters
    ----------
    path : str or path-like
        The answer key file, or the directory of a generated sample: the file its
        ``portfolio.yml`` names in ``answer_key:`` is read (never a file found by its name).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``customers``
            One row per customer record: ``customer_id``, ``segment`` (null
            for open leads that never bought), ``customer_type``,
            ``duplicate_of``, ``lead_id`` (converted lead), ``source_lead_id``
            (lead the record was created from, converted or not),
            ``unprofitable_candidate`` (bool) and ``churned`` (bool: a regular
            customer who stopped buying 4 to 11 months before the end).
        ``duplicate_groups``
            One row per member: ``group_id``, ``customer_id``, ``original_id``.
        ``defects``
            ``table``, ``key``, ``row`` (0-based data row of the CSV),
            ``column``, ``defect``, ``value`` (as written, null if empty).
        ``leads``
            ``lead_id``, ``converted`` (eventually, possibly after the data
            ends), ``customer_id`` (when the conversion is in the data),
            ``conversion_date`` (may be after the period end: such leads are
            still open in the data) and ``conversion_probability``.

    Examples
    --------
    >>> import tempfile
    >>> from portfolio_helpers.app.sample_data import write_demo_data, load_truth
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     truth = load_truth(write_demo_data(tmp, n_customers=200, seed=3))
    >>> truth["customers"].columns.tolist()[:3]
    ['customer_id', 'segment', 'customer_type']
    >>> bool(truth["leads"]["converted"].any())
    True
    """
    path = Path(path)
    if path.is_dir():
        config = load_config(path / "portfolio.yml")
        if config.answer_key is None:
            raise ConfigError(f"{config.path}: no `answer_key:`; this config names no answer key")
        path = config.answer_key
    raw = json.loads(path.read_text(encoding="utf-8"))

    customers = pd.DataFrame(raw["customers"], columns=list(_TRUTH_CUSTOMER_FIELDS))
    customers["unprofitable_candidate"] = customers["customer_id"].isin(raw.get("unprofitable_candidates", []))
    customers["churned"] = customers["customer_id"].isin(raw.get("churned_customers", []))
    groups = pd.DataFrame(
        [{"group_id": g["group_id"], "customer_id": member, "original_id": g["original_id"]}
         for g in raw["duplicate_groups"] for member in g["customer_ids"]],
        columns=["group_id", "customer_id", "original_id"],
    )
    defects = pd.DataFrame(raw["defects"], columns=list(_DEFECT_FIELDS))
    defects["row"] = defects["row"].astype("Int64")
    leads = pd.DataFrame(raw["leads"], columns=list(_TRUTH_LEAD_FIELDS))
    leads["converted"] = leads["converted"].astype(bool)
    leads["conversion_date"] = pd.to_datetime(leads["conversion_date"], format="%Y-%m-%d")
    return {"customers": customers, "duplicate_groups": groups, "defects": defects, "leads": leads}


# --------------------------------------------------------------------------------------------------
# Calendar and catalog
# --------------------------------------------------------------------------------------------------


def _period(start, end, min_days: int, minimum: str) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """The first and last days of a generated period and its number of days (at least ``min_days``).

    >>> _period("2023-01-01", "2023-12-31", 365, "one year")[2]
    365
    """
    period_start, period_end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    n_days = (period_end - period_start).days + 1
    if n_days < min_days:
        raise ValueError(f"the period must cover at least {minimum}, got {start} to {end}")
    return period_start, period_end, n_days


class _Calendar:
    """Day indices of the period and seasonal sampling of dates within windows."""

    def __init__(self, start: pd.Timestamp, n_days: int):
        self.start = start
        self.n_days = n_days
        self.last_day = n_days - 1
        dates = pd.date_range(start, periods=n_days, freq="D")
        base = MONTH_FACTOR[dates.month - 1] * (1 + YEARLY_GROWTH * np.arange(n_days) / 365.25)
        # Cumulative weights let us draw a date in any window [lo, hi] by inverse CDF, vectorized.
        self._cumulative = {
            kind: np.concatenate([[0.0], np.cumsum(base * weekday[dates.day_of_week])])
            for kind, weekday in (("B2B", B2B_WEEKDAY_FACTOR), ("B2C", B2C_WEEKDAY_FACTOR))
        }

    def cumulative(self, kind: str) -> np.ndarray:
        """Running sum of the day weights of ``kind`` (``"B2B"`` or ``"B2C"``), from 0: day ``d`` weighs
        ``cumulative[d + 1] - cumulative[d]``."""
        return self._cumulative[kind]

    def sample(self, lo: np.ndarray, hi: np.ndarray, is_b2b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Seasonally weighted day index in ``[lo, hi]`` (inclusive) for each row."""
        lo = np.clip(lo, 0, self.last_day)
        hi = np.clip(np.maximum(hi, lo), 0, self.last_day)
        u = rng.random(lo.size)
        days = np.empty(lo.size, dtype=np.int64)
        for kind, mask in (("B2B", is_b2b), ("B2C", ~is_b2b)):
            cum = self._cumulative[kind]
            target = cum[lo[mask]] + u[mask] * (cum[hi[mask] + 1] - cum[lo[mask]])
            days[mask] = np.searchsorted(cum, target, side="right") - 1
        return np.clip(days, lo, hi)

    def dates(self, days: np.ndarray) -> pd.Series:
        """Day indices (negative: before the start) to datetimes; NaN gives a missing date."""
        values = np.asarray(days, dtype="float64")
        stamps = np.datetime64(self.start.date(), "D") + np.where(np.isnan(values), 0, values).astype("int64")
        out = pd.Series(stamps.astype("datetime64[s]"))
        return out.where(~np.isnan(values))

    def iso(self, days: np.ndarray) -> np.ndarray:
        stamps = np.datetime64(self.start.date(), "D") + np.asarray(days, dtype="int64")
        return stamps.astype(str)


@dataclass
class _Catalog:
    product_id: np.ndarray  # str, all products
    category: np.ndarray  # category index per product
    price: np.ndarray
    by_category: list[np.ndarray]  # product indices sorted by price, per category


def _make_catalog(rng: np.random.Generator) -> _Catalog:
    ids, cats, prices, by_category = [], [], [], []
    for c, (low, high) in enumerate(CATEGORY_PRICE_RANGE):
        price = np.sort(np.exp(rng.uniform(np.log(low), np.log(high), PRODUCTS_PER_CATEGORY)))
        price = np.maximum(np.round(price) - 0.01, 0.99)  # shelf prices: 19.99, 249.99...
        start = len(prices)
        prices.extend(price)
        cats.extend([c] * PRODUCTS_PER_CATEGORY)
        ids.extend(f"{CATEGORY_PREFIX[c]}-{k + 1:03d}" for k in range(PRODUCTS_PER_CATEGORY))
        by_category.append(np.arange(start, start + PRODUCTS_PER_CATEGORY))
    return _Catalog(np.array(ids), np.array(cats), np.array(prices), by_category)


def _choose(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    return (u[:, None] >= cumulative[:, :-1]).sum(axis=1)


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=int)
    raw = weights / weights.sum() * total
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _money(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float), 2) + 0.0  # + 0.0 turns -0.0 into 0.0


def _group_sum(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(index, weights=values, minlength=size)


# --------------------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------------------


def _simulate_leads(n_customers: int, calendar: _Calendar, rng: np.random.Generator) -> dict[str, Any]:
    """Leads with fit attributes, engagement events and a conversion outcome.

    Conversion follows a logistic model of fit (source, role, industry, size,
    budget, horizon) and a latent interest that also drives the number of
    downloads, meetings, calls... so it is predictable from the events, with
    noise.
    """
    n = max(20, round(LEADS_PER_CUSTOMER * n_customers))
    # Leads keep arriving until three weeks before the end, so the most recent ones are still open
    # (their outcome lies after the data ends; truth.json knows it). Lead ids follow creation.
    created = np.sort(rng.integers(0, max(1, calendar.n_days - 21), n))
    source = _choose(np.tile(_SOURCE_SHARE, (n, 1)), rng)
    role = _choose(np.tile(_ROLE_SHARE, (n, 1)), rng)
    industry = _choose(np.tile(_INDUSTRY_SHARE, (n, 1)), rng)
    employees = np.clip(np.round(np.exp(rng.normal(np.log(40), 1.3, n))), 1, 20000).astype(int)
    budget = np.round(np.exp(np.log(3000) + 0.5 * np.log(employees) + rng.normal(0, 0.7, n)), -2)
    budget = np.maximum(budget, 500)
    horizon = rng.integers(30, 366, n)
    interest = rng.normal(0, 1, n)

    log_size = np.log10(employees)
    logit = (_LEAD_INTERCEPT + _SOURCE_EFFECT[source] + _ROLE_EFFECT[role] + _INDUSTRY_LEAD_EFFECT[industry]
             + 0.35 * np.clip(log_size, 0, 3.3) - 0.6 * (employees < 5)
             + 0.5 * (np.log10(budget) - 4.3) + 0.3 * (horizon <= 90)
             + _LEAD_INTEREST_WEIGHT * interest + rng.normal(0, _LEAD_NOISE, n))
    probability = 1 / (1 + np.exp(-logit))
    converted = rng.random(n) < probability

    # Pre-conversion events: counts grow with interest; every lead starts with a form.
    counts = rng.poisson(_EVENT_BASE_RATE * np.exp(_EVENT_INTEREST_SLOPE * interest[:, None]))
    counts[:, 0] = 1 + (rng.random(n) < 0.15)
    flat = counts.ravel()
    lead_idx = np.repeat(np.repeat(np.arange(n), len(EVENTS)), flat)
    event = np.repeat(np.tile(np.arange(len(EVENTS)), n), flat)
    span = rng.integers(14, 151, n)
    offset = np.floor(rng.random(lead_idx.size) * (span[lead_idx] + 1)).astype(int)
    first_row = np.r_[0, np.cumsum(counts.sum(axis=1))[:-1]]
    offset[first_row] = 0  # the form that created the lead
    day = created[lead_idx] + offset
    last_day = np.full(n, -1)
    np.maximum.at(last_day, lead_idx, day)
    conversion_day = np.where(converted, last_day + rng.integers(7, 46, n), -1)
    # What the data shows at its end: later events and conversions have not happened yet.
    observed = day <= calendar.last_day
    converted_in_data = converted & (conversion_day <= calendar.last_day)
    observed_counts = np.zeros_like(counts)
    np.add.at(observed_counts, (lead_idx[observed], event[observed]), 1)

    # Post-conversion follow-up events carry the new customer's id.
    follow_ups = np.where(converted_in_data, 1 + np.minimum(rng.poisson(1.0, n), 2), 0)
    follow_lead = np.repeat(np.arange(n), follow_ups)
    follow_event = np.array([5, 6, 2, 4])[_choose(np.tile([0.35, 0.25, 0.25, 0.15], (follow_lead.size, 1)), rng)]
    follow_day = conversion_day[follow_lead] + rng.integers(0, 91, follow_lead.size)
    keep = follow_day <= calendar.last_day
    events = {
        "lead": np.concatenate([lead_idx[observed], follow_lead[keep]]),
        "event": np.concatenate([event[observed], follow_event[keep]]),
        "day": np.concatenate([day[observed], follow_day[keep]]),
        "after_conversion": np.concatenate([np.zeros(observed.sum(), bool), np.ones(keep.sum(), bool)]),
    }
    return {
        "n": n, "created": created, "source": source, "role": role, "industry": industry,
        "employees": employees, "budget": budget, "expected_day": created + horizon, "interest": interest,
        "probability": probability, "converted": converted, "converted_in_data": converted_in_data,
        "conversion_day": conversion_day, "counts": observed_counts, "events": events,
    }


def _simulate_customers(n_customers: int, leads: dict[str, Any], calendar: _Calendar,
                        rng: np.random.Generator) -> pd.DataFrame:
    """Buying customers: segment, activity window and behavioural parameters."""
    n_days = calendar.n_days
    # Converted leads become B2B customers; large companies become key or service-heavy accounts.
    lead_ids = np.flatnonzero(leads["converted_in_data"])[:n_customers]
    large = leads["employees"][lead_ids] >= 250
    lead_segment = np.where(large, np.where(rng.random(lead_ids.size) < 0.6, _SEG["key_accounts"],
                                            _SEG["service_heavy"]), _SEG["smb_regulars"])
    target = _allocate(n_customers, _segment_param("share"))
    missing = np.maximum(target - np.bincount(lead_segment, minlength=len(SEGMENTS)), 0)
    rest_segment = np.repeat(np.arange(len(SEGMENTS)), _allocate(n_customers - lead_ids.size, missing))
    rest_segment = rng.permutation(rest_segment)

    segment = np.concatenate([lead_segment, rest_segment])
    n = segment.size
    lead = np.concatenate([lead_ids, np.full(rest_segment.size, -1)])
    names = np.array(SEGMENT_NAMES)[segment]

    # Acquisition day relative to the start (negative: acquired before the period).
    u = rng.random(n)
    before = rng.integers(1, 3650, n)
    acquisition = np.select(
        [names == "key_accounts", names == "service_heavy", names == "smb_regulars",
         names == "loyal_consumers", names == "occasional_consumers", names == "lapsed"],
        [np.where(u < 0.85, -before, (u * 0.4 * n_days).astype(int)),
         np.where(u < 0.80, -before * 0.8, (u * 0.4 * n_days).astype(int)),
         np.where(u < 0.55, -before * 0.8, (rng.random(n) * (n_days - 60)).astype(int)),
         np.where(u < 0.55, -before * 0.6, (rng.random(n) * 0.6 * n_days).astype(int)),
         (rng.beta(2.5, 1.0, n) * (n_days - 1)).astype(int),
         np.where(u < 0.65, -before * 0.5, (rng.random(n) * 0.12 * n_days).astype(int))],
    ).astype(int)
    from_lead = lead >= 0
    acquisition[from_lead] = leads["conversion_day"][lead[from_lead]]

    window_lo = np.maximum(acquisition, 0)
    window_hi = np.full(n, calendar.last_day)
    lapsed = segment == _SEG["lapsed"]
    stop = (rng.uniform(0.2, 0.5, n) * n_days).astype(int)
    window_hi[lapsed] = np.maximum(stop[lapsed], window_lo[lapsed] + 60)

    frame = pd.DataFrame({"segment": segment, "lead": lead, "acquisition": acquisition,
                          "window_lo": window_lo, "window_hi": window_hi})
    frame["is_b2b"] = np.array([s.customer_type == "B2B" for s in SEGMENTS])[segment]
    # Per-customer behaviour around the segment's typical values.
    frame["frequency_factor"] = rng.gamma(6.0, 1 / 6.0, n)
    frame["order_value"] = _segment_param("order_value")[segment] * np.exp(
        rng.normal(0, 1, n) * _segment_param("value_spread")[segment])
    low, high = (np.array([s.discount_rate[i] for s in SEGMENTS]) for i in (0, 1))
    frame["discount_rate"] = rng.uniform(low[segment], high[segment])
    service_heavy = segment == _SEG["service_heavy"]
    # Planted cost sinks: half of the service-heavy accounts, with deeper discounts and twice the tickets.
    frame["cost_sink"] = service_heavy & (rng.random(n) < 0.5) & (window_hi - window_lo > 365)
    frame.loc[frame["cost_sink"], "discount_rate"] += 0.10
    frame["ticket_factor"] = np.where(frame["cost_sink"], 2.0, 1.0) * rng.gamma(5.0, 1 / 5.0, n)
    frame["late_payer"] = rng.random(n) < _segment_param("late_payer_share")[segment]
    frame["lateness"] = rng.uniform(30, 120, n)
    terms_choice = rng.random(n)
    frame["terms"] = [SEGMENTS[s].payment_terms[int(t * len(SEGMENTS[s].payment_terms))]
                      for s, t in zip(segment, terms_choice, strict=True)]

    # Churn: a few regular customers with enough history stop buying 4 to 11 months before the
    # end. They are the valuable customers an "at risk" flag should catch (truth: churned_customers).
    regular = ~np.isin(segment, [_SEG["occasional_consumers"], _SEG["lapsed"]])
    churn_day = calendar.last_day - rng.integers(120, 330, n)
    churned = regular & (rng.random(n) < CHURN_SHARE) & (window_lo <= churn_day - 365)
    frame["churned"] = churned
    frame.loc[churned, "window_hi"] = churn_day[churned]
    return frame


def _simulate_orders(people: pd.DataFrame, calendar: _Calendar, catalog: _Catalog,
                     rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders and order lines (sales and credit notes), fully vectorized."""
    segment = people["segment"].to_numpy()
    lo, hi = people["window_lo"].to_numpy(), people["window_hi"].to_numpy()
    years = (hi - lo + 1) / 365.25
    expected = _segment_param("orders_per_year")[segment] * years * people["frequency_factor"].to_numpy()
    n_orders = np.maximum(1, rng.poisson(expected))

    customer = np.repeat(np.arange(len(people)), n_orders)
    is_b2b = people["is_b2b"].to_numpy()[customer]
    day = calendar.sample(lo[customer], hi[customer], is_b2b, rng)
    # A customer acquired during the period buys on its acquisition day.
    first = np.r_[0, np.cumsum(n_orders)[:-1]]
    acquired_inside = people["acquisition"].to_numpy() >= 0
    day[first[acquired_inside]] = lo[acquired_inside]

    # Order ids follow the date, as in an ERP.
    order_rank = np.lexsort((customer, day))
    customer, day, is_b2b = customer[order_rank], day[order_rank], is_b2b[order_rank]
    n = customer.size
    order_segment = segment[customer]
    u = rng.random(n)
    cancel = _segment_param("cancel_rate")[order_segment]
    status = np.where(u < cancel, 1, np.where(u < cancel + 0.02, 3, 0))
    first_order = np.unique(customer, return_index=True)[1]  # orders are sorted by date
    status[first_order] = np.where(status[first_order] == 1, 0, status[first_order])  # every buyer pays once
    channel = _choose(np.array([s.channel_mix for s in SEGMENTS])[order_segment], rng)
    value = people["order_value"].to_numpy()[customer] * rng.lognormal(0, 0.5, n)
    orders = pd.DataFrame({"order": np.arange(n), "customer": customer, "day": day, "status": status,
                           "channel": channel})

    # Lines: 1-5 per order; the order value is split at random between them.
    n_lines = 1 + np.minimum(rng.poisson(_segment_param("extra_lines")[order_segment]), 4)
    order = np.repeat(np.arange(n), n_lines)
    line_no = np.arange(order.size) - np.repeat(np.r_[0, np.cumsum(n_lines)[:-1]], n_lines)
    weight = rng.gamma(2.0, 1.0, order.size)
    target = value[order] * weight / _group_sum(order, weight, n)[order]
    line_segment = order_segment[order]
    category = _choose(np.array([s.category_mix for s in SEGMENTS])[line_segment], rng)
    units = 1 + rng.poisson(_segment_param("extra_units")[line_segment])
    product = _distinct_products(order, category, _pick_products(catalog, category, target / units, rng), catalog)
    price = catalog.price[product]
    quantity = np.maximum(1, np.round(target / price)).astype(int)
    gross = quantity * price
    line_customer = customer[order]
    uses_discount = rng.random(order.size) < _segment_param("discount_use")[line_segment]
    rate = np.where(uses_discount, people["discount_rate"].to_numpy()[line_customer]
                    * rng.uniform(0.8, 1.2, order.size), 0.0)
    discount = _money(gross * rate)
    amount = _money(gross - discount)
    cost = _money(gross * CATEGORY_COST_RATE[category] * rng.lognormal(0, 0.06, order.size))
    lines = pd.DataFrame({"order": order, "line_no": line_no, "customer": line_customer, "day": day[order],
                          "amount": amount, "quantity": quantity, "product": product, "category": category,
                          "cost": cost, "discount": discount, "status": status[order],
                          "channel": channel[order], "kind": 0})

    # Returns: a credit-note line on the same order, a few days to weeks later, partial quantities.
    returnable = (status[order] != 1) & (rng.random(order.size) < _segment_param("return_rate")[line_segment])
    return_day = day[order] + rng.integers(3, 46, order.size)
    returned = np.flatnonzero(returnable & (return_day <= calendar.last_day))
    returned_units = rng.integers(1, quantity[returned] + 1)
    share = returned_units / quantity[returned]
    credit = pd.DataFrame({
        "order": order[returned], "line_no": line_no[returned], "customer": line_customer[returned],
        "day": return_day[returned], "amount": _money(-amount[returned] * share), "quantity": -returned_units,
        "product": product[returned], "category": category[returned], "cost": _money(-cost[returned] * share),
        "discount": 0.0, "status": 2, "channel": channel[order[returned]], "kind": 1,
    })
    lines = pd.concat([lines, credit], ignore_index=True)
    lines = lines.sort_values(["day", "order", "kind", "line_no"], kind="stable", ignore_index=True)
    return orders, lines


def _pick_products(catalog: _Catalog, category: np.ndarray, unit_price: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """The product of the category whose price is close to the wanted unit price (with some jitter)."""
    product = np.empty(category.size, dtype=np.int64)
    jitter = rng.integers(-2, 3, category.size)
    for c, members in enumerate(catalog.by_category):
        mask = category == c
        position = np.searchsorted(np.log(catalog.price[members]), np.log(unit_price[mask]))
        product[mask] = members[np.clip(position + jitter[mask], 0, members.size - 1)]
    return product


def _distinct_products(order: np.ndarray, category: np.ndarray, product: np.ndarray,
                       catalog: _Catalog) -> np.ndarray:
    """Move a product picked twice for one order to its neighbour in the category.

    Two lines of an order for the same product would be identical rows, which
    the kit rightly flags as possible double imports: a clean sample has none.
    """
    product = product.copy()
    for _ in range(10):
        repeated = pd.DataFrame({"order": order, "product": product}).duplicated().to_numpy()
        if not repeated.any():
            break
        for c, members in enumerate(catalog.by_category):
            mask = repeated & (category == c)
            position = np.searchsorted(members, product[mask])
            product[mask] = members[(position + 1) % members.size]
    return product


def _simulate_payments(people: pd.DataFrame, orders: pd.DataFrame, lines: pd.DataFrame, calendar: _Calendar,
                       rng: np.random.Generator) -> pd.DataFrame:
    """One invoice per non-cancelled order; B2C pays at checkout, B2B on terms (late payers late)."""
    sales = lines[lines["kind"] == 0]
    invoice_amount = _group_sum(sales["order"].to_numpy(), sales["amount"].to_numpy(), len(orders))
    invoiced = orders[orders["status"] != 1]
    customer = invoiced["customer"].to_numpy()
    n = customer.size
    b2b = people["is_b2b"].to_numpy()[customer]
    terms = np.where(b2b, people["terms"].to_numpy()[customer], 0)
    due = invoiced["day"].to_numpy() + terms
    late = people["late_payer"].to_numpy()[customer] & b2b
    lateness = np.clip(people["lateness"].to_numpy()[customer] * rng.lognormal(0, 0.25, n), 30, 120)
    occasional_delay = np.where(rng.random(n) < 0.08, rng.integers(5, 26, n), rng.integers(-5, 6, n))
    delay = np.where(late, np.round(lateness), occasional_delay)
    paid = np.where(b2b, due + delay, invoiced["day"].to_numpy()).astype(float)
    # A few invoices are never paid (past due); payments after as_of have not happened yet.
    unpaid = b2b & (rng.random(n) < np.where(late, 0.05, 0.005))
    paid[unpaid | (paid > calendar.last_day)] = np.nan
    return pd.DataFrame({"order": invoiced["order"].to_numpy(), "customer": customer,
                         "day": invoiced["day"].to_numpy(), "due": due, "paid": paid,
                         "amount": _money(invoice_amount[invoiced["order"].to_numpy()])})


def _simulate_tickets(people: pd.DataFrame, calendar: _Calendar, rng: np.random.Generator) -> pd.DataFrame:
    segment = people["segment"].to_numpy()
    lo = people["window_lo"].to_numpy()
    hi = np.minimum(people["window_hi"].to_numpy() + 45, calendar.last_day)
    years = (hi - lo + 1) / 365.25
    expected = _segment_param("tickets_per_year")[segment] * years * people["ticket_factor"].to_numpy()
    count = rng.poisson(expected)
    customer = np.repeat(np.arange(len(people)), count)
    day = calendar.sample(lo[customer], hi[customer], np.ones(customer.size, bool), rng)
    ticket_segment = segment[customer]
    minutes = np.maximum(5, np.round(_segment_param("ticket_minutes")[ticket_segment]
                                     * rng.lognormal(0, 0.55, customer.size))).astype(int)
    has_cost = rng.random(customer.size) < _segment_param("ticket_cost_share")[ticket_segment]
    cost = np.where(has_cost, _money(rng.lognormal(np.log(110), 0.7, customer.size)), 0.0)
    tickets = pd.DataFrame({"customer": customer, "day": day, "minutes": minutes, "cost": cost})
    return tickets.sort_values(["day", "customer"], kind="stable", ignore_index=True)


def _contribution(people: pd.DataFrame, lines: pd.DataFrame, tickets: pd.DataFrame) -> np.ndarray:
    """Gross margin of non-cancelled lines minus the cost to serve (tickets)."""
    n = len(people)
    billed = lines[lines["status"] != 1]
    margin = _group_sum(billed["customer"].to_numpy(), (billed["amount"] - billed["cost"]).to_numpy(), n)
    service = tickets["cost"].to_numpy() + tickets["minutes"].to_numpy() / 60 * SERVICE_COST_PER_HOUR
    return margin - _group_sum(tickets["customer"].to_numpy(), service, n)


# --------------------------------------------------------------------------------------------------
# Customer records (identities)
# --------------------------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@functools.cache
def _slug(text: str, sep: str = "") -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in _ascii(text).lower()).split()
    return sep.join(words)


def _valid_phone(template: str, digits: str, country_code: str) -> str:
    """Fill a number template with digits, adjusting them until the number is a real, assignable one.

    Random digits often land in unassigned ranges (French "04 04 ...", "06 92 ..." which is
    Réunion), and an area code longer than the template assumes gives a number of the wrong
    length (Namur "081", Zaragoza "976", London "020"). A sample whose phones are invalid for
    no planted reason would mislead anyone scoring phone validation. The digits are rotated,
    the first one replaced, and the template shortened or lengthened by one digit, in that
    order: deterministic, and no new random draw.
    """
    import phonenumbers

    first_digit = template.index("#")
    templates = (template, template[:first_digit] + template[first_digit + 1:],
                 template[:first_digit] + "#" + template[first_digit:])
    for shape in templates:
        for shift in range(len(digits)):
            rotated = digits[shift:] + digits[:shift]
            for lead in (rotated[0], *"123456789"):
                candidate = _fill_digits(shape, lead + rotated[1:])
                try:
                    if phonenumbers.is_valid_number(phonenumbers.parse(candidate, country_code)):
                        return candidate
                except phonenumbers.NumberParseException:
                    break
    return _fill_digits(template, digits)


def _fill_digits(template: str, digits: str) -> str:
    out, k = [], 0
    for ch in template:
        if ch == "#":
            out.append(digits[k % len(digits)])
            k += 1
        else:
            out.append(ch)
    return "".join(out)


def _customer_records(people: pd.DataFrame, leads: dict[str, Any], calendar: _Calendar,
                      rng: np.random.Generator) -> pd.DataFrame:
    """Identity and CRM fields for buyers and for the open leads kept in the CRM.

    Returns one row per record with the internal ``person`` index (-1 for open
    leads), ``created`` day (used to number customer ids chronologically) and
    the canonical customer columns.
    """
    n_buyers = len(people)
    # Open leads that reached the sales team are CRM records at an earlier stage.
    counts = leads["counts"]
    open_leads = np.flatnonzero(~leads["converted_in_data"])
    has_meeting = counts[open_leads, EVENTS.index("meeting")] > 0
    has_call = counts[open_leads, EVENTS.index("call")] > 0
    stage = np.where(has_meeting, "qualified", np.where(has_call, "prospect", "lead"))
    # Not every open lead is worth a CRM record: the further it went, the likelier it was kept.
    keep = rng.random(open_leads.size) < np.select([stage == "qualified", stage == "prospect"], [0.6, 0.5], 0.2)
    open_leads, stage = open_leads[keep], stage[keep]

    segment = people["segment"].to_numpy()
    is_b2b = np.concatenate([people["is_b2b"].to_numpy(), np.ones(open_leads.size, bool)])
    n = n_buyers + open_leads.size
    source_lead = np.concatenate([people["lead"].to_numpy(), open_leads])
    industry = np.where(is_b2b, _choose(np.tile(_INDUSTRY_SHARE, (n, 1)), rng), -1)
    has_lead = source_lead >= 0
    industry[has_lead] = leads["industry"][source_lead[has_lead]]
    large = np.concatenate([[SEGMENTS[s].large_company for s in segment], np.zeros(open_leads.size, bool)])
    employees = np.where(large, np.round(np.exp(rng.normal(np.log(900), 0.8, n))).clip(250, 50000),
                         np.round(np.exp(rng.normal(np.log(25), 0.9, n))).clip(2, 249))
    employees[has_lead] = leads["employees"][source_lead[has_lead]]
    annual_revenue = np.round(employees * np.exp(rng.normal(np.log(160_000), 0.35, n)), -3)

    country = np.where(is_b2b, _choose(np.tile(_COUNTRY_B2B_SHARE, (n, 1)), rng),
                       _choose(np.tile(_COUNTRY_B2C_SHARE, (n, 1)), rng))
    draws = rng.random((n, 12))
    digits = rng.integers(0, 10, (n, 10)).astype(str)
    birth_year = np.clip(np.round(rng.normal(1978, 14, n)), 1940, 2006).astype(int)
    income_weights = np.array([[0.10, 0.25, 0.30, 0.22, 0.13]] * n)
    income_weights[np.concatenate([segment == _SEG["loyal_consumers"], np.zeros(open_leads.size, bool)])] = (
        [0.04, 0.16, 0.30, 0.30, 0.20])
    income = _choose(income_weights, rng)

    names, emails, phones, addresses, postal_codes, cities, genders = ([] for _ in range(7))
    company_names: set[str] = set()
    used_emails: set[str] = set()
    for i in range(n):
        spec = COUNTRIES[country[i]]
        u = draws[i]
        city, codes, area = spec.cities[int(len(spec.cities) * u[0] ** 1.8)]  # bigger cities first
        cities.append(city)
        postal_codes.append(codes[int(len(codes) * u[1])])
        addresses.append(spec.streets[int(len(spec.streets) * u[2])].format(n=1 + int(180 * u[3] ** 2)))
        female = u[4] < 0.5
        first_names = spec.female if female else spec.male
        first = first_names[int(len(first_names) * u[5])]
        last = spec.last[int(len(spec.last) * u[6])]
        number = "".join(digits[i])
        if is_b2b[i]:
            core, legal_form = _company_name(spec, industry[i], last, u, company_names, rng)
            company_names.add(_slug(core))
            names.append(f"{core} {legal_form}")
            genders.append(None)
            phones.append(_valid_phone(spec.landline.replace("{area}", area), number, spec.code))
            domain = f"{_slug(core, '-')}.{spec.web_tld}"
            local = f"{_slug(first, '-')}.{_slug(last, '-')}"
        else:
            names.append(f"{first} {last}")
            genders.append("F" if female else "M")
            template = (spec.mobiles[int(len(spec.mobiles) * u[8])] if u[7] < 0.8
                        else spec.landline.replace("{area}", area))
            phones.append(_valid_phone(template, number, spec.code))
            domain = spec.mail_domains[int(len(spec.mail_domains) * u[9] ** 1.5)]
            pattern = int(4 * u[10])
            local = (f"{_slug(first, '-')}.{_slug(last, '-')}", f"{_slug(first)[0]}{_slug(last)}",
                     f"{_slug(first)}.{_slug(last)}{birth_year[i] % 100:02d}",
                     f"{_slug(first)}{_slug(last)}{int(100 * u[11])}")[pattern]
        email = f"{local}@{domain}"
        suffix = 2
        while email in used_emails:  # homonyms get a number, as mail providers do
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        used_emails.add(email)
        emails.append(email)

    buyers = np.arange(n) < n_buyers
    person = np.where(buyers, np.arange(n), -1)
    acquisition = np.concatenate([people["acquisition"].to_numpy(), np.full(open_leads.size, np.nan)])
    created = np.concatenate([people["acquisition"].to_numpy(), leads["created"][open_leads]])
    owner_draw = rng.random(n)
    owners = np.where(
        np.concatenate([segment == _SEG["key_accounts"], np.zeros(open_leads.size, bool)])
        | np.concatenate([(segment == _SEG["service_heavy"]) & (owner_draw[:n_buyers] < 0.5),
                          np.zeros(open_leads.size, bool)]),
        np.array(KEY_ACCOUNT_MANAGERS)[(owner_draw * 100).astype(int) % len(KEY_ACCOUNT_MANAGERS)],
        np.where(is_b2b, np.array(FIELD_SALES_REPS)[(owner_draw * 1000).astype(int) % len(FIELD_SALES_REPS)],
                 np.array(INSIDE_SALES_REPS)[(owner_draw * 1000).astype(int) % len(INSIDE_SALES_REPS)]))
    channel_draw = rng.random(n)
    acquisition_channel = np.where(
        is_b2b, np.array(B2B_ACQUISITION_CHANNELS)[(channel_draw * len(B2B_ACQUISITION_CHANNELS)).astype(int)],
        np.array(B2C_ACQUISITION_CHANNELS)[(channel_draw * len(B2C_ACQUISITION_CHANNELS)).astype(int)],
    ).astype(object)  # object, so longer lead sources are not truncated to the fixed width
    acquisition_channel[has_lead] = np.array(LEAD_SOURCES)[leads["source"][source_lead[has_lead]]]

    records = pd.DataFrame({
        "person": person,
        "created": created,
        "source_lead": source_lead,
        "name": names,
        "email": emails,
        "phone": phones,
        "address": addresses,
        "postal_code": postal_codes,
        "city": cities,
        "country": [COUNTRIES[c].name for c in country],
        "country_code": [COUNTRIES[c].code for c in country],
        "customer_type": np.where(is_b2b, "B2B", "B2C"),
        "industry": pd.Series(np.array(INDUSTRIES)[industry]).where(is_b2b),
        "employees": pd.Series(employees.astype(int)).where(is_b2b).astype("Int64"),
        "annual_revenue": pd.Series(annual_revenue.astype(np.int64)).where(is_b2b).astype("Int64"),
        "birth_year": pd.Series(birth_year).where(~is_b2b).astype("Int64"),
        "gender": genders,
        "income_band": pd.Series(np.array(INCOME_BANDS)[income]).where(~is_b2b),
        "acquisition_date": calendar.dates(acquisition),
        "acquisition_channel": acquisition_channel,
        "stage": np.concatenate([np.full(n_buyers, "customer"), stage]),
        "owner": owners,
    })
    # Customer ids are numbered in order of creation, as a CRM would.
    records = records.sort_values(["created", "person"], kind="stable", ignore_index=True)
    width = max(6, len(str(len(records))))
    records.insert(0, "customer_id", [f"C{i:0{width}d}" for i in range(1, len(records) + 1)])
    return records


def _company_name(spec: _Country, industry: int, last: str, u: np.ndarray, taken: set[str],
                  rng: np.random.Generator) -> tuple[str, str]:
    """A company name (core, legal form), unique on its core so that homonyms are not false duplicates."""
    sector = _SECTOR_WORDS[spec.language][industry]
    legal = spec.legal_forms[int(len(spec.legal_forms) * u[11])]
    pick = u[10]
    for _ in range(50):
        if pick < 0.7:
            stem = _STEM_START[int(len(_STEM_START) * rng.random())] + _STEM_END[int(len(_STEM_END) * rng.random())]
            core = f"{stem} {sector}"
        else:
            core = _FAMILY_FIRM[spec.language][int(4 * rng.random())].format(last=last)
        if _slug(core) not in taken:
            return core, legal
        pick = rng.random()
        last = spec.last[int(len(spec.last) * rng.random())]
    return f"{core} {len(taken)}", legal


# --------------------------------------------------------------------------------------------------
# Tables and truth
# --------------------------------------------------------------------------------------------------

CUSTOMER_COLUMNS = ("customer_id", "name", "email", "phone", "address", "postal_code", "city", "country",
                    "customer_type", "industry", "employees", "annual_revenue", "birth_year", "gender",
                    "income_band", "acquisition_date", "acquisition_channel", "stage", "owner")
_TRUTH_CUSTOMER_FIELDS = ("customer_id", "segment", "customer_type", "duplicate_of", "lead_id", "source_lead_id")
_TRUTH_LEAD_FIELDS = ("lead_id", "converted", "customer_id", "conversion_date", "conversion_probability")
_DEFECT_FIELDS = ("table", "key", "row", "column", "defect", "value")


def _lead_ids(n: int) -> np.ndarray:
    width = max(5, len(str(n)))
    return np.array([f"L{i:0{width}d}" for i in range(1, n + 1)])


def _assemble_tables(records: pd.DataFrame, people: pd.DataFrame, orders: pd.DataFrame, lines: pd.DataFrame,
                     invoices: pd.DataFrame, tickets: pd.DataFrame, leads: dict[str, Any], catalog: _Catalog,
                     calendar: _Calendar) -> dict[str, pd.DataFrame]:
    buyers = records[records["person"] >= 0]
    person_id = np.empty(len(people), dtype=object)
    person_id[buyers["person"].to_numpy()] = buyers["customer_id"].to_numpy()
    width = max(6, len(str(len(orders))))
    order_id = np.array([f"SO-{i:0{width}d}" for i in range(1, len(orders) + 1)])

    transactions = pd.DataFrame({
        "customer_id": person_id[lines["customer"].to_numpy()],
        "date": calendar.dates(lines["day"].to_numpy()),
        "amount": lines["amount"].to_numpy(),
        "order_id": order_id[lines["order"].to_numpy()],
        "quantity": lines["quantity"].to_numpy(),
        "product_id": catalog.product_id[lines["product"].to_numpy()],
        "category": np.array(CATEGORIES)[lines["category"].to_numpy()],
        "cost": lines["cost"].to_numpy(),
        "discount": lines["discount"].to_numpy().astype(float),
        "status": np.array(STATUSES)[lines["status"].to_numpy()],
        "channel": np.array(CHANNELS)[lines["channel"].to_numpy()],
    })
    payments = pd.DataFrame({
        "customer_id": person_id[invoices["customer"].to_numpy()],
        "order_id": order_id[invoices["order"].to_numpy()],
        "due_date": calendar.dates(invoices["due"].to_numpy()),
        "paid_date": calendar.dates(invoices["paid"].to_numpy()),
        "amount": invoices["amount"].to_numpy(),
    })
    ticket_table = pd.DataFrame({
        "customer_id": person_id[tickets["customer"].to_numpy()],
        "date": calendar.dates(tickets["day"].to_numpy()),
        "minutes": tickets["minutes"].to_numpy(),
        "cost": tickets["cost"].to_numpy(),
    })

    events = leads["events"]
    lead_id = _lead_ids(leads["n"])
    lead_of = events["lead"]
    customer_of_lead = np.full(leads["n"], None, dtype=object)
    converted = buyers[buyers["source_lead"] >= 0]
    customer_of_lead[converted["source_lead"].to_numpy()] = converted["customer_id"].to_numpy()
    lead_table = pd.DataFrame({
        "lead_id": lead_id[lead_of],
        "date": calendar.dates(events["day"]),
        "event": np.array(EVENTS)[events["event"]],
        "customer_id": pd.Series(customer_of_lead[lead_of]).where(events["after_conversion"]),
        "source": np.array(LEAD_SOURCES)[leads["source"][lead_of]],
        "role": np.array(LEAD_ROLES)[leads["role"][lead_of]],
        "employees": leads["employees"][lead_of],
        "industry": np.array(INDUSTRIES)[leads["industry"][lead_of]],
        "budget": leads["budget"][lead_of].astype(np.int64),
        "expected_date": calendar.dates(leads["expected_day"][lead_of]),
        "_order": np.arange(lead_of.size),
    })
    lead_table = (lead_table.sort_values(["date", "lead_id", "_order"], kind="stable", ignore_index=True)
                  .drop(columns="_order"))
    customers = records.loc[:, list(CUSTOMER_COLUMNS)].reset_index(drop=True)
    return {"transactions": transactions, "customers": customers, "payments": payments,
            "tickets": ticket_table, "leads": lead_table}


def _build_truth(records: pd.DataFrame, people: pd.DataFrame, leads: dict[str, Any], calendar: _Calendar,
                 seed: int, n_customers: int, dirty: bool, start: pd.Timestamp,
                 end: pd.Timestamp) -> dict[str, Any]:
    lead_id = _lead_ids(leads["n"])
    person = records["person"].to_numpy()
    is_buyer = person >= 0
    segment = np.full(len(records), None, dtype=object)
    segment[is_buyer] = np.array(SEGMENT_NAMES)[people["segment"].to_numpy()[person[is_buyer]]]
    source_lead = records["source_lead"].to_numpy()
    customers = [
        {"customer_id": cid, "segment": seg, "customer_type": ctype, "duplicate_of": None,
         "lead_id": str(lead_id[src]) if (src >= 0 and buyer) else None,
         "source_lead_id": str(lead_id[src]) if src >= 0 else None}
        for cid, seg, ctype, src, buyer in zip(records["customer_id"], segment, records["customer_type"],
                                               source_lead, is_buyer, strict=True)
    ]
    customer_of_lead = dict(zip(source_lead[is_buyer], records["customer_id"][is_buyer], strict=True))
    conversion_dates = calendar.iso(np.maximum(leads["conversion_day"], 0))
    lead_truth = [
        {"lead_id": str(lead_id[i]), "converted": bool(leads["converted"][i]),
         "customer_id": customer_of_lead.get(i),
         "conversion_date": str(conversion_dates[i]) if leads["converted"][i] else None,
         "conversion_probability": round(float(leads["probability"][i]), 4)}
        for i in range(leads["n"])
    ]
    planted = people.index[people["cost_sink"] & (people["contribution"] < 0)].to_numpy()
    id_of_person = dict(zip(person[is_buyer], records["customer_id"][is_buyer], strict=True))
    return {
        "meta": {
            "generator": "portfolio_helpers.app.sample_data",
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "n_customers": n_customers,
            "dirty": dirty,
            "start": start.date().isoformat(),
            "end": end.date().isoformat(),
            "currency": "EUR",
            "service_cost_per_hour": SERVICE_COST_PER_HOUR,
            "segments": {s.name: s.description for s in SEGMENTS},
            "defect_rows": "row = 0-based data row of the CSV (header excluded); key = customer_id for "
                           "customers, order_id for transactions and payments, customer_id for tickets",
        },
        "customers": customers,
        "duplicate_groups": [],
        "defects": [],
        "leads": lead_truth,
        "unprofitable_candidates": sorted(id_of_person[p] for p in planted),
        "churned_customers": sorted(id_of_person[p] for p in np.flatnonzero(people["churned"].to_numpy())),
    }


def _truth_json(truth: dict[str, Any]) -> str:
    """Readable and diff-friendly JSON: one record per line in the long lists."""
    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    parts = []
    for key, value in truth.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            body = ",\n".join(f"    {dump(item)}" for item in value)
            parts.append(f'  {dump(key)}: [\n{body}\n  ]')
        else:
            parts.append(f"  {dump(key)}: {json.dumps(value, ensure_ascii=False, indent=2).replace(chr(10), chr(10) + '  ')}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# --------------------------------------------------------------------------------------------------
# Dirty mode
# --------------------------------------------------------------------------------------------------

_INVALID_EMAIL_STYLES = ("no_domain", "typo_domain", "no_at", "space", "placeholder")
_DOMAIN_TYPOS = {"gmail.com": "gmial.com", "hotmail.fr": "hotmial.fr", "orange.fr": "ornage.fr",
                 "yahoo.fr": "yaho.fr", "outlook.fr": "outlok.fr", "web.de": "web.d", "gmx.de": "gmx.ed",
                 "hotmail.com": "hotmail.con", "yahoo.com": "yahooo.com", "free.fr": "fre.fr"}
_PLACEHOLDER_EMAILS = ("no email", "n/a", "none", "-", "à compléter")
_BAD_AMOUNTS = ("n/a", "#VALUE!", "N/A", "??", "tbd")
_BAD_DATES = ("32/13/2024", "31/02/2025", "2024-02-30", "00/00/0000", "15/15/2023", "??/??/????")


class _DefectLog:
    """Collects planted defects; ``row`` is the 0-based data row of the written CSV."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def add(self, table: str, keys: Any, rows: Any, column: str | None, defect: str, values: Any) -> None:
        keys, rows, values = list(keys), [int(r) for r in rows], list(values)
        self.records.extend(
            {"table": table, "key": key, "row": row, "column": column, "defect": defect,
             "value": None if value is None or value != value else str(value)}  # NaN -> None
            for key, row, value in zip(keys, rows, values, strict=True))

    def sorted_records(self) -> list[dict[str, Any]]:
        table_order = {t: i for i, t in enumerate(TABLE_NAMES)}
        return sorted(self.records, key=lambda d: (table_order[d["table"]], d["row"], d["column"] or "",
                                                   d["defect"]))


def _make_dirty(tables: dict[str, pd.DataFrame], truth: dict[str, Any], records: pd.DataFrame,
                calendar: _Calendar, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Plant defects on a clean portfolio and record each one in ``truth``."""
    log = _DefectLog()
    country_code = dict(zip(records["customer_id"], records["country_code"], strict=True))
    duplicates, groups, duplicate_of = _plant_duplicates(tables["customers"], country_code, calendar, rng)
    transactions, payments, tickets = _attribute_to_duplicates(
        tables["transactions"].copy(), tables["payments"].copy(), tables["tickets"].copy(), duplicate_of, rng)
    transactions = _dirty_transactions(transactions, calendar, log, rng)
    payments = _dirty_payments(payments, log, rng)
    customers = pd.concat([tables["customers"], duplicates], ignore_index=True)
    customers = customers.sort_values("customer_id", kind="stable", ignore_index=True)
    customers = _dirty_customers(customers, log, rng)

    ids = customers["customer_id"].to_numpy()
    is_duplicate = np.flatnonzero(customers["customer_id"].isin(duplicate_of).to_numpy())
    log.add("customers", ids[is_duplicate], is_duplicate, None, "near_duplicate",
            [duplicate_of[c] for c in ids[is_duplicate]])
    for table, frame, key in (("transactions", transactions, "order_id"), ("payments", payments, "order_id"),
                              ("tickets", tickets, "customer_id")):
        moved = np.flatnonzero(frame["customer_id"].isin(duplicate_of).to_numpy())
        log.add(table, frame[key].to_numpy()[moved], moved, "customer_id", "duplicate_customer_id",
                frame["customer_id"].to_numpy()[moved])

    truth["defects"] = log.sorted_records()
    truth["duplicate_groups"] = groups
    by_id = {c["customer_id"]: c for c in truth["customers"]}
    truth["customers"].extend(
        {"customer_id": new_id, "segment": by_id[original_id]["segment"],
         "customer_type": by_id[original_id]["customer_type"], "duplicate_of": original_id,
         "lead_id": None, "source_lead_id": None}
        for new_id, original_id in duplicate_of.items())
    truth["customers"].sort(key=lambda c: c["customer_id"])
    return {"transactions": transactions, "customers": customers, "payments": payments, "tickets": tickets,
            "leads": tables["leads"]}


def _plant_duplicates(customers: pd.DataFrame, country_code: dict[str, str], calendar: _Calendar,
                      rng: np.random.Generator) -> tuple[pd.DataFrame, list[dict[str, Any]], dict[str, str]]:
    """About 4% of buying customers get one (sometimes two) extra records with a new id."""
    buyers = np.flatnonzero((customers["stage"] == "customer").to_numpy())
    originals = np.sort(rng.choice(buyers, max(1, round(0.04 * buyers.size)), replace=False))
    width = len(customers["customer_id"].iloc[0]) - 1
    next_number = len(customers) + 1  # ids are numbered by creation: duplicates come last
    rows, groups, duplicate_of = [], [], {}
    for group_number, position in enumerate(originals, start=1):
        original = customers.iloc[position]
        members = [original["customer_id"]]
        for _ in range(1 + int(rng.random() < 0.2)):
            record = _near_duplicate(original, country_code[original["customer_id"]], calendar, rng)
            record["customer_id"] = f"C{next_number:0{width}d}"
            next_number += 1
            rows.append(record)
            duplicate_of[record["customer_id"]] = original["customer_id"]
            members.append(record["customer_id"])
        groups.append({"group_id": f"G{group_number:04d}", "customer_ids": members,
                       "original_id": original["customer_id"]})
    duplicates = pd.DataFrame(rows, columns=list(CUSTOMER_COLUMNS))
    for column in ("employees", "annual_revenue", "birth_year"):
        duplicates[column] = duplicates[column].astype("Int64")
    return duplicates, groups, duplicate_of


def _attribute_to_duplicates(transactions: pd.DataFrame, payments: pd.DataFrame, tickets: pd.DataFrame,
                             duplicate_of: dict[str, str], rng: np.random.Generator) -> tuple[pd.DataFrame, ...]:
    """Move about a third of a duplicated customer's orders (lines, credit notes, invoice) and tickets."""
    members_of: dict[str, list[str]] = {}
    for new_id, original_id in duplicate_of.items():
        members_of.setdefault(original_id, []).append(new_id)
    owners = transactions.drop_duplicates("order_id")[["order_id", "customer_id"]]
    owners = owners[owners["customer_id"].isin(members_of)]
    new_owner = {}
    for original_id, orders in owners.groupby("customer_id", sort=True)["order_id"]:
        order_ids = orders.to_numpy()
        moved = rng.random(order_ids.size) < 0.35
        if order_ids.size > 1 and not moved.any():
            moved[rng.integers(order_ids.size)] = True
        targets = rng.integers(0, len(members_of[original_id]), order_ids.size)
        new_owner.update({order: members_of[original_id][target]
                          for order, target, move in zip(order_ids, targets, moved, strict=True) if move})
    for frame in (transactions, payments):
        frame["customer_id"] = frame["order_id"].map(new_owner).fillna(frame["customer_id"])
    moved = np.flatnonzero((tickets["customer_id"].isin(members_of) & (rng.random(len(tickets)) < 0.35)).to_numpy())
    tickets.loc[moved, "customer_id"] = [members_of[c][int(rng.integers(len(members_of[c])))]
                                         for c in tickets["customer_id"].to_numpy()[moved]]
    return transactions, payments, tickets


def _dirty_transactions(transactions: pd.DataFrame, calendar: _Calendar, log: _DefectLog,
                        rng: np.random.Generator) -> pd.DataFrame:
    """Insert erroneous negative lines and exact duplicates, then degrade date and amount cells."""
    n_lines = len(transactions)
    completed = np.flatnonzero((transactions["status"] == "completed").to_numpy())
    n_errors, n_copies = max(3, round(0.0002 * n_lines)), max(5, round(0.0005 * n_lines))
    picked = rng.choice(completed, n_errors + n_copies, replace=False)
    error_source, copy_source = picked[:n_errors], np.sort(picked[n_errors:])

    # An erroneous negative: a sale line typed with a minus sign under an order number that exists nowhere else.
    errors = transactions.iloc[error_source].copy()
    last_order = int(transactions["order_id"].str[3:].astype(int).max())
    width = len(transactions["order_id"].iloc[0]) - 3
    errors["order_id"] = [f"SO-{last_order + k + 1:0{width}d}" for k in range(n_errors)]
    errors["amount"] = -errors["amount"]
    errors["date"] = calendar.dates(np.sort(rng.integers(0, calendar.n_days, n_errors))).to_numpy()
    copies = transactions.iloc[copy_source].copy()
    # Sort keys: errors go before the first line of their date, copies right after their original.
    position = np.concatenate([
        np.arange(n_lines, dtype=float),
        np.searchsorted(transactions["date"].to_numpy(), errors["date"].to_numpy()) - 0.5,
        copy_source + 0.25])
    origin = np.concatenate([np.arange(n_lines), np.full(n_errors, -1), copy_source])  # source line of copies
    kind = np.concatenate([np.zeros(n_lines, int), np.ones(n_errors, int), np.full(n_copies, 2)])
    order = np.lexsort((np.arange(position.size), position))
    transactions = pd.concat([transactions, errors, copies], ignore_index=True).iloc[order]
    transactions = transactions.reset_index(drop=True)
    origin, kind = origin[order], kind[order]
    row_of_line = np.empty(n_lines, dtype=int)
    row_of_line[origin[kind == 0]] = np.flatnonzero(kind == 0)

    date_text = _iso_text(transactions["date"])
    amount_text = pd.Series(np.char.mod("%.2f", transactions["amount"].to_numpy(dtype=float)), dtype="str")
    order_ids = transactions["order_id"].to_numpy()
    error_rows, copy_rows = np.flatnonzero(kind == 1), np.flatnonzero(kind == 2)
    log.add("transactions", order_ids[error_rows], error_rows, "amount", "erroneous_negative_amount",
            amount_text.to_numpy()[error_rows])
    log.add("transactions", order_ids[copy_rows], copy_rows, None, "exact_duplicate",
            row_of_line[origin[copy_rows]])

    # Cell defects on distinct ordinary rows (neither inserted nor copied, so copies stay exact).
    eligible = np.setdiff1d(np.flatnonzero(kind == 0), row_of_line[copy_source])
    few = max(3, round(0.0002 * n_lines))
    counts = {"future_date": few, "unparseable_date": few, "unparseable_amount": few,
              "day_first_datetime": round(0.005 * n_lines), "day_first_date": round(0.04 * n_lines)}
    shuffled = rng.permutation(eligible)
    bounds = np.cumsum([0, *counts.values()])
    rows_for = {defect: np.sort(shuffled[bounds[i]:bounds[i + 1]]) for i, defect in enumerate(counts)}

    rows = rows_for["future_date"]
    iso = date_text.iloc[rows]
    date_text.iloc[rows] = np.where(iso.str[5:10] == "02-29", "2032", "2031") + iso.str[4:]
    rows = rows_for["unparseable_date"]
    date_text.iloc[rows] = np.array(_BAD_DATES)[rng.integers(0, len(_BAD_DATES), rows.size)]
    rows = rows_for["day_first_date"]
    date_text.iloc[rows] = _day_first(date_text.iloc[rows])
    rows = rows_for["day_first_datetime"]
    date_text.iloc[rows] = _day_first(date_text.iloc[rows]) + _clock(rows.size, rng)
    rows = rows_for["unparseable_amount"]
    amount_text.iloc[rows] = np.array(_BAD_AMOUNTS)[rng.integers(0, len(_BAD_AMOUNTS), rows.size)]
    for defect, rows in rows_for.items():
        column, text = ("amount", amount_text) if defect == "unparseable_amount" else ("date", date_text)
        log.add("transactions", order_ids[rows], rows, column, defect, text.to_numpy()[rows])

    transactions["date"] = date_text.to_numpy()
    transactions["amount"] = amount_text.to_numpy()
    return transactions.astype({"date": "str", "amount": "str"})


def _dirty_payments(payments: pd.DataFrame, log: _DefectLog, rng: np.random.Generator) -> pd.DataFrame:
    """Mixed date formats: some rows day-first, a few with a time."""
    shuffled = rng.permutation(len(payments))
    n_datetime, n_day_first = round(0.005 * len(payments)), round(0.04 * len(payments))
    order_ids = payments["order_id"].to_numpy()
    for column in ("due_date", "paid_date"):
        text = _iso_text(payments[column])
        for defect, rows in (("day_first_datetime", np.sort(shuffled[:n_datetime])),
                             ("day_first_date", np.sort(shuffled[n_datetime:n_datetime + n_day_first]))):
            rows = rows[text.iloc[rows].notna().to_numpy()]  # an unpaid invoice has no paid_date to format
            formatted = _day_first(text.iloc[rows])
            if defect == "day_first_datetime":
                formatted = formatted + _clock(rows.size, rng)
            text.iloc[rows] = formatted
            log.add("payments", order_ids[rows], rows, column, defect, formatted.to_numpy())
        payments[column] = text.to_numpy()
    return payments.astype({"due_date": "str", "paid_date": "str"})


def _dirty_customers(customers: pd.DataFrame, log: _DefectLog, rng: np.random.Generator) -> pd.DataFrame:
    """Missing optional values, invalid e-mails and inconsistent country spellings (one defect per cell)."""
    ids = customers["customer_id"].to_numpy()
    for column in ("email", "phone", "address", "postal_code", "city", "industry", "acquisition_channel"):
        present = np.flatnonzero(customers[column].notna().to_numpy())
        rows = np.sort(rng.choice(present, round(0.03 * present.size), replace=False))
        customers.loc[rows, column] = None
        log.add("customers", ids[rows], rows, column, "missing_value", [None] * rows.size)

    present = np.flatnonzero(customers["email"].notna().to_numpy())
    rows = np.sort(rng.choice(present, round(0.02 * present.size), replace=False))
    styles = rng.integers(0, len(_INVALID_EMAIL_STYLES), rows.size)
    invalid = [_invalid_email(email, _INVALID_EMAIL_STYLES[style], rng)
               for email, style in zip(customers["email"].to_numpy()[rows], styles, strict=True)]
    customers.loc[rows, "email"] = invalid
    log.add("customers", ids[rows], rows, "email", "invalid_email", invalid)

    rows = np.sort(rng.choice(len(customers), round(0.02 * len(customers)), replace=False))
    country_by_name = {c.name: c for c in COUNTRIES}
    spellings = [country_by_name[name].local_names[int(rng.integers(4))]
                 for name in customers["country"].to_numpy()[rows]]
    customers.loc[rows, "country"] = spellings
    log.add("customers", ids[rows], rows, "country", "inconsistent_country", spellings)
    return customers


def _iso_text(dates: pd.Series) -> pd.Series:
    """Datetimes as ``YYYY-MM-DD`` text, missing stays missing."""
    values = dates.to_numpy().astype("datetime64[D]")
    text = values.astype(str).astype(object)
    text[np.isnat(values)] = None
    return pd.Series(text, dtype="str")


def _day_first(iso: pd.Series) -> pd.Series:
    """``2024-03-14`` -> ``14/03/2024``."""
    return iso.str[8:10] + "/" + iso.str[5:7] + "/" + iso.str[0:4]


def _clock(n: int, rng: np.random.Generator) -> np.ndarray:
    hours, minutes = rng.integers(8, 20, n), rng.integers(0, 60, n)
    return np.array([f" {h:02d}:{m:02d}" for h, m in zip(hours, minutes, strict=True)], dtype=object)


def _invalid_email(email: str, style: str, rng: np.random.Generator) -> str:
    local, _, domain = email.partition("@")
    if style == "no_domain":
        return f"{local}@"
    if style == "typo_domain":
        # Unknown domains get a comma for their last dot ("acme.co,uk"): dropping a dot can
        # leave a valid address ("acme-bros.co.uk" -> "acme-brosco.uk") that nobody could catch.
        head, _, tld = domain.rpartition(".")
        return f"{local}@{_DOMAIN_TYPOS.get(domain, f'{head},{tld}' if head else domain + ',')}"
    if style == "no_at":
        return f"{local}.{domain}"
    if style == "space":
        return f"{local.replace('.', ' ', 1) if '.' in local else local + ' '}@{domain}"
    return _PLACEHOLDER_EMAILS[int(rng.integers(len(_PLACEHOLDER_EMAILS)))]


# Small typing and formatting variations of a record, as entered by someone else.
_KEYBOARD_NEIGHBOURS = {"a": "zqs", "e": "rzd", "i": "uo", "o": "ip", "u": "yi", "n": "bm", "m": "n",
                        "r": "et", "t": "ry", "s": "ad", "l": "k", "c": "xv", "d": "sf"}
_ACCENTED = {"e": "é", "a": "à", "o": "ô", "i": "ï", "u": "ü"}
_ADDRESS_ABBREVIATIONS = (("avenue", "av."), ("boulevard", "bd"), ("rue", "r."), ("Straße", "Str."),
                          ("straße", "str."), ("Street", "St"), ("Road", "Rd"), ("Calle", "C/"),
                          ("Avenida", "Avda."), ("Via", "V."), ("Avenue", "Av."))


def _typo(text: str, rng: np.random.Generator) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha() and i > 0]
    if not letters:
        return text
    i = letters[int(rng.integers(len(letters)))]
    kind = int(rng.integers(4))
    if kind == 0 and i + 1 < len(text) and text[i + 1].isalpha():  # swap two letters
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:  # drop a letter
        return text[:i] + text[i + 1:]
    if kind == 2:  # double a letter
        return text[:i] + text[i] + text[i:]
    neighbours = _KEYBOARD_NEIGHBOURS.get(text[i].lower(), "e")
    return text[:i] + neighbours[int(rng.integers(len(neighbours)))] + text[i + 1:]


def _accent_change(text: str) -> str:
    stripped = _ascii(text)
    if stripped != text:
        return stripped
    for plain, accented in _ACCENTED.items():
        position = text.find(plain, 1)
        if position > 0:
            return text[:position] + accented + text[position + 1:]
    return text


def _phone_variant(phone: str, country: str, rng: np.random.Generator) -> str:
    spec = next(c for c in COUNTRIES if c.code == country)
    digits = "".join(ch for ch in phone if ch.isdigit())
    style = int(rng.integers(4))
    if style == 0:  # international: +33 6 12 34 56 78
        national = phone.replace("(", "").replace(")", "").replace("-", " ")
        if spec.drop_trunk_zero and national.startswith("0"):
            national = national[1:]
        return f"+{spec.calling_code} {national}"
    if style == 1:
        return phone.replace(" ", ".").replace("-", ".").replace("(", "").replace(")", "")
    if style == 2:
        return digits
    return phone.replace(" ", "-").replace("(", "").replace(")", "")


def _near_duplicate(original: pd.Series, country: str, calendar: _Calendar, rng: np.random.Generator) -> dict:
    """A second record of the same customer, typed differently."""
    record = original.to_dict()
    name = original["name"]
    variations = rng.permutation(6)[: 1 + int(rng.integers(2))]
    for variation in variations:
        if variation == 0:
            name = _typo(name, rng)
        elif variation == 1:
            name = (name.upper(), name.lower(), name.title())[int(rng.integers(3))]
        elif variation == 2:
            name = _accent_change(name)
        elif variation == 3:
            words = name.split()
            gap = int(rng.integers(1, len(words))) if len(words) > 1 else 1
            name = " ".join(words[:gap]) + "  " + " ".join(words[gap:]) + (" " if rng.random() < 0.5 else "")
        elif variation == 4 and original["customer_type"] == "B2C":
            first, _, last = name.partition(" ")
            name = f"{last} {first}"
        elif variation == 4:  # legal form dropped
            name = name.rsplit(" ", 1)[0] if " " in name.strip() else name
        else:
            name = _typo(name, rng) if name == original["name"] else name
    if name == original["name"]:
        name = _typo(name, rng)
    record["name"] = name
    draw = rng.random(5)
    if isinstance(original["email"], str):
        if draw[0] < 0.2:
            record["email"] = None
        elif draw[0] < 0.6:
            local, _, domain = original["email"].partition("@")
            record["email"] = f"{local.title()}@{domain.capitalize()}"
    if isinstance(original["phone"], str):
        record["phone"] = None if draw[1] < 0.15 else _phone_variant(original["phone"], country, rng)
    if isinstance(original["address"], str) and draw[2] < 0.5:
        address = original["address"]
        for full, short in _ADDRESS_ABBREVIATIONS:
            if full in address:
                address = address.replace(full, short, 1)
                break
        else:
            address = address.upper()
        record["address"] = address
    if isinstance(original["city"], str) and draw[3] < 0.3:
        record["city"] = original["city"].upper()
    acquired = original["acquisition_date"]
    if pd.notna(acquired):
        latest = calendar.start + pd.Timedelta(days=calendar.last_day)
        record["acquisition_date"] = min(acquired + pd.Timedelta(days=int(rng.integers(30, 700))), latest)
    if draw[4] < 0.3:
        reps = KEY_ACCOUNT_MANAGERS + FIELD_SALES_REPS if original["customer_type"] == "B2B" else INSIDE_SALES_REPS
        record["owner"] = reps[int(rng.integers(len(reps)))]
    return record


# --------------------------------------------------------------------------------------------------
# The customer's voice: survey answers and contact preferences
# --------------------------------------------------------------------------------------------------

FEEDBACK_RESPONSE_SHARE = 0.45  # buying customers who answer at least one survey
#: Answer groups' probabilities (detractor 0-6, passive 7-8, promoter 9-10) for an answer followed by a
#: purchase within a year, and for one that is not (the planted link between low scores and churn).
SCORE_GROUP_SHARE = {"stays": (0.15, 0.35, 0.50), "churns": (0.60, 0.25, 0.15)}
FEEDBACK_TOPICS = ("product", "delivery", "support", "price", "billing")
_TOPIC_SHARE = {"low": (0.15, 0.35, 0.3, 0.1, 0.1), "high": (0.45, 0.2, 0.15, 0.15, 0.05)}
FEEDBACK_CHANNELS = ("e-mail survey", "phone survey", "web form")
_COMMENTS = {
    "low": {
        "product": "The last batch did not work as promised.",
        "delivery": "Delivery was late again and nobody warned us.",
        "support": "Waited two weeks for an answer from support.",
        "price": "Prices went up and we are looking elsewhere.",
        "billing": "Invoices keep arriving with mistakes.",
    },
    "high": {
        "product": "Great products, exactly what we needed.",
        "delivery": "Fast delivery, well packed.",
        "support": "Support solved our problem in a day.",
        "price": "Fair prices for the quality.",
        "billing": "Clear invoices, easy to pay.",
    },
}
_YES_NO_SPELLINGS = (("yes", "no"), ("oui", "non"), ("1", "0"), ("true", "false"), ("Y", "N"))
CONTACT_CHANNEL_SHARE = {"B2B": (0.45, 0.30, 0.10, 0.15), "B2C": (0.55, 0.20, 0.25, 0.0)}  # email, phone, mail, visit


def _add_voice(tables: dict[str, pd.DataFrame], truth: dict[str, Any], records: pd.DataFrame, people: pd.DataFrame,
               orders: pd.DataFrame, calendar: _Calendar, rng: np.random.Generator,
               dirty: bool) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Survey answers (NPS) with a planted link to later churn, and contact preferences with consent.

    Answers come 3 to 30 days after one of the customer's orders. An answer after which the customer
    places no order for a year (in the data; in its last year, only by a customer who stopped buying) draws its group from ``SCORE_GROUP_SHARE["churns"]``,
    the others from ``SCORE_GROUP_SHARE["stays"]``: detractors churn more, by construction. Contact
    preferences go on every customer record as four new columns (duplicates copy their original's).
    """
    buyers = records[records["person"] >= 0]
    id_of_person = dict(zip(buyers["person"], buyers["customer_id"], strict=True))
    placed = orders[orders["status"] != 1]
    order_days = placed.groupby("customer")["day"].apply(np.sort)
    persons = np.sort(order_days.index.to_numpy())
    responds = persons[rng.random(persons.size) < FEEDBACK_RESPONSE_SHARE]
    n_answers = 1 + np.minimum(rng.poisson(0.6, responds.size), 2)
    person = np.repeat(responds, n_answers)
    pick = rng.random(person.size)
    day = np.array([order_days[p][int(u * order_days[p].size)] for p, u in zip(person, pick, strict=True)])
    day = day + rng.integers(3, 31, person.size)
    inside = day <= calendar.last_day
    person, day = person[inside], day[inside]
    silent = np.array([not ((order_days[p] > d) & (order_days[p] <= d + 365)).any()
                       for p, d in zip(person, day, strict=True)], dtype=bool)
    # Near the end a year of silence cannot be seen yet: there only customers who stopped buying count.
    stopped = people["window_hi"].to_numpy()[person] < calendar.last_day - 30
    churns = silent & ((day + 365 <= calendar.last_day) | stopped)
    shares = np.where(churns[:, None], SCORE_GROUP_SHARE["churns"], SCORE_GROUP_SHARE["stays"])
    group = _choose(shares, rng)  # 0 detractor, 1 passive, 2 promoter
    detractor_score = _choose(np.tile(np.arange(1, 8) / 28, (person.size, 1)), rng)
    score = np.select([group == 0, group == 1], [detractor_score, 7 + (rng.random(person.size) < 0.5)],
                      9 + (rng.random(person.size) < 0.4))
    low = group == 0
    topic = np.where(low, _choose(np.tile(_TOPIC_SHARE["low"], (person.size, 1)), rng),
                     _choose(np.tile(_TOPIC_SHARE["high"], (person.size, 1)), rng))
    commented = (rng.random(person.size) < np.where(low, 0.7, 0.35)) & (group != 1)
    comment = np.array([_COMMENTS["low" if is_low else "high"][FEEDBACK_TOPICS[t]] if has else None
                        for is_low, t, has in zip(low, topic, commented, strict=True)], dtype=object)
    channel = np.array(FEEDBACK_CHANNELS)[_choose(np.tile([0.6, 0.15, 0.25], (person.size, 1)), rng)]
    feedback = pd.DataFrame({
        "customer_id": [id_of_person[p] for p in person], "date": calendar.dates(day),
        "score": score.astype(np.int64), "comment": comment, "channel": channel,
        "topic": np.array(FEEDBACK_TOPICS)[topic],
    }).sort_values(["date", "customer_id"], kind="stable", ignore_index=True)
    out_of_scale = []
    if dirty:  # a few scores typed outside the 0-10 scale
        rows = np.sort(rng.choice(len(feedback), min(6, len(feedback)), replace=False))
        values = np.array([11, 12, -1, 15, 100, 11])[: rows.size]
        feedback["score"] = feedback["score"].astype(object)
        feedback.loc[rows, "score"] = values
        out_of_scale = [{"row": int(r), "value": int(v)} for r, v in zip(rows, values, strict=True)]

    tables = dict(tables)
    tables["feedback"] = feedback
    tables["customers"] = _with_contact_preferences(tables["customers"], truth, records, rng, dirty)
    churned_ids = sorted({id_of_person[p] for p in person[churns]})
    section = {
        "scale": "nps",
        "rule": ("answers 3-30 days after an order; an answer followed by no order for 365 days (in the data; "
                 "in the last year of data, only by a customer who stopped buying) draws its group (detractor 0-6, passive 7-8, promoter 9-10) with shares "
                 f"{list(SCORE_GROUP_SHARE['churns'])}, any other with {list(SCORE_GROUP_SHARE['stays'])}"),
        "n_answers": int(len(feedback)),
        "n_respondents": int(feedback["customer_id"].nunique()),
        "n_answers_followed_by_churn": int(churns.sum()),
        "customers_silent_after_an_answer": churned_ids,
        "out_of_scale_rows": out_of_scale,
        "do_not_contact": sorted(tables["customers"].loc[
            tables["customers"]["do_not_contact"].isin(["yes", "oui", "1", "true", "Y"]), "customer_id"]),
    }
    return tables, section


#: Leads' preferred channel (email, phone, mail, visit) and consent shares: prospects are reached by e-mail first.
LEAD_CHANNEL_SHARE = (0.55, 0.30, 0.05, 0.10)


def _with_lead_contact_preferences(leads: pd.DataFrame, rng: np.random.Generator,
                                   dirty: bool) -> tuple[pd.DataFrame, list[str]]:
    """``preferred_channel``, ``consent_email``, ``consent_phone``, ``do_not_contact`` added at the end of
    the leads table (one value per lead, repeated on its rows), and the leads who asked not to be contacted."""
    ids = np.sort(leads["lead_id"].dropna().unique())
    prefs, do_not_contact = _contact_wishes(ids, np.tile(LEAD_CHANNEL_SHARE, (ids.size, 1)), (0.9, 0.6),
                                            (0.85, 0.4), 0.04, rng, dirty)
    added = prefs.reindex(leads["lead_id"].to_numpy()).set_axis(leads.index)
    return pd.concat([leads, added], axis=1), sorted(ids[do_not_contact].tolist())


def _contact_wishes(ids: np.ndarray, channel_shares: np.ndarray, email_consent: tuple[float, float],
                    phone_consent: tuple[float, float], do_not_contact_share: float, rng: np.random.Generator,
                    dirty: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Preferred channel and yes/no consents per id (indexed by id), and the do-not-contact flags.

    ``email_consent`` is the share consenting to e-mail among those who prefer it, then among the
    others; ``phone_consent`` likewise. Dirty data spells yes/no in several ways.
    """
    n = ids.size
    preferred = _choose(channel_shares, rng)
    consent_email = rng.random(n) < np.where(preferred == 0, *email_consent)
    consent_phone = rng.random(n) < np.where(preferred == 1, *phone_consent)
    do_not_contact = rng.random(n) < do_not_contact_share
    spelling = rng.integers(0, len(_YES_NO_SPELLINGS) if dirty else 1, n)

    def written(flags: np.ndarray) -> np.ndarray:
        return np.array([_YES_NO_SPELLINGS[k][0 if f else 1] for f, k in zip(flags, spelling, strict=True)])

    prefs = pd.DataFrame({"preferred_channel": np.array(["email", "phone", "mail", "visit"])[preferred],
                          "consent_email": written(consent_email), "consent_phone": written(consent_phone),
                          "do_not_contact": written(do_not_contact)}, index=ids)
    return prefs, do_not_contact


def _with_contact_preferences(customers: pd.DataFrame, truth: dict[str, Any], records: pd.DataFrame,
                              rng: np.random.Generator, dirty: bool) -> pd.DataFrame:
    """``preferred_channel``, ``consent_email``, ``consent_phone``, ``do_not_contact`` added at the end."""
    ids = records["customer_id"].to_numpy()
    is_b2b = (records["customer_type"] == "B2B").to_numpy()
    shares = np.where(is_b2b[:, None], CONTACT_CHANNEL_SHARE["B2B"], CONTACT_CHANNEL_SHARE["B2C"])
    prefs, _ = _contact_wishes(ids, shares, (0.95, 0.7), (0.9, 0.45), 0.03, rng, dirty)
    original = {c["customer_id"]: c["duplicate_of"] or c["customer_id"] for c in truth["customers"]}
    source = customers["customer_id"].map(original).fillna(customers["customer_id"])
    added = prefs.reindex(source.to_numpy()).set_axis(customers.index)
    return pd.concat([customers, added], axis=1)
