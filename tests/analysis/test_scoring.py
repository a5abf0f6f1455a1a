"""Scoring glue: settings, lead profiles without outcome leakage, time splits, next-purchase frames and
models, value score, at-risk flag, order events and look-alike scores; by hand and on the generated truth."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from portfolio_helpers.analysis import propensity, scoring
from portfolio_helpers.analysis.features import customer_features
from portfolio_helpers.analysis.scoring import (
    DEFAULT_AT_RISK,
    DEFAULT_VALUE_WEIGHTS,
    at_risk,
    best_segment,
    customer_attributes,
    fit_purchase_models,
    lead_model_frame,
    lead_profiles,
    lookalike_scores,
    order_events,
    purchase_frame,
    scoring_settings,
    split_by_time,
    tables_until,
    value_scores,
)
from portfolio_helpers.app.sample_data import load_truth
from portfolio_helpers.cleaning.pipeline import open_portfolio
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.reporting.scoring import reference_text

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
AS_OF = pd.Timestamp("2025-12-31")
DAY = pd.Timedelta(days=1)


def _strings(values) -> pd.arrays.StringArray:
    return pd.array(values, dtype="string")


def _dt(values) -> pd.DatetimeIndex:
    return pd.to_datetime(values, format="ISO8601")


# --------------------------------------------------------------------------- the committed sample

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """Typed cleaned tables of the committed sample (as frames: some tests rewrite lines) and its analysis date;
    tests/analysis/test_scoring_engine.py checks the same functions on engine tables."""
    tables, info = open_portfolio(SAMPLE / "portfolio.yml", tmp_path_factory.mktemp("scoring_sample"), as_frames=True)
    return tables, info["as_of"]


@pytest.fixture(scope="module")
def truth():
    return load_truth(SAMPLE)


@pytest.fixture(scope="module")
def sample_leads(sample):
    tables, as_of = sample
    open_days = scoring_settings(load_config(SAMPLE / "portfolio.yml").sections["scoring"]).open_days
    profiles, events = lead_profiles(tables["leads"], as_of, tables["customers"], tables["transactions"], open_days)
    frame, numeric, categorical = lead_model_frame(profiles, events)
    return profiles, events, frame, numeric, categorical


@pytest.fixture(scope="module")
def conversion_model(sample_leads):
    profiles, _, frame, numeric, categorical = sample_leads
    known = profiles["outcome_known"]
    train, test = split_by_time(profiles.loc[known, "created"], 0.3)
    y = profiles["converted"].astype("int64")
    models = propensity.fit_models(frame.loc[train], y.loc[train], numeric, categorical, seed=42)
    return models, train, test


# --------------------------------------------------------------------------- settings

def test_settings_defaults():
    s = scoring_settings(None)
    assert (s.open_days, s.horizon_days, s.test_share) == (90, 180, 0.3)
    assert s.value_weights == DEFAULT_VALUE_WEIGHTS
    assert s.at_risk == DEFAULT_AT_RISK
    assert s.lead_scorecard.grade_names == ("A", "B", "C")
    assert "days_to_expected_purchase" in s.lead_scorecard.columns()
    assert "order" in s.customer_scorecard.events()
    assert s.lead_default and s.customer_default  # the built-in cards adapt to the columns present
    assert scoring_settings({}) == s


def test_settings_partial_values_keep_other_defaults():
    s = scoring_settings({"open_days": 60.0, "value_weights": {"monetary": 2}, "at_risk": {"min_days": 30}})
    assert s.open_days == 60 and isinstance(s.open_days, int)
    assert s.value_weights == {"monetary": 2.0}
    assert s.at_risk == {**DEFAULT_AT_RISK, "min_days": 30.0}
    assert s.horizon_days == 180


def test_sample_scoring_section_validates():
    section = load_config(SAMPLE / "portfolio.yml").sections["scoring"]
    s = scoring_settings(section, SAMPLE / "portfolio.yml")
    assert (s.open_days, s.horizon_days) == (90, 180)
    assert s.value_weights == DEFAULT_VALUE_WEIGHTS
    assert s.at_risk == DEFAULT_AT_RISK
    assert s.lead_scorecard.grade_names == ("A", "B", "C")
    assert {"role", "industry", "source", "days_to_expected_purchase"} <= set(s.lead_scorecard.columns())
    assert {"meeting", "email_click"} <= set(s.lead_scorecard.events())
    assert not s.lead_default and not s.customer_default


def test_applicable_trims_only_rules_on_missing_columns():
    card = scoring_settings(None).lead_scorecard
    trimmed = scoring.applicable(card, ["employees"])
    assert trimmed.columns() == ("employees",)
    assert trimmed.events() == card.events()  # event rules and pseudo-columns stay
    assert "days_since_last_event" in [c.column for c in trimmed.engagement]
    assert len(trimmed.fit) == 3 and scoring.applicable(card, card.columns()) == card


@pytest.mark.parametrize(("section", "message"), [
    ({"open_day": 60}, r"^scoring: unknown key 'open_day' \(did you mean 'open_days'\?\); expected one of: leads"),
    ("open_days: 60", r"^scoring: expected a mapping"),
    ({"open_days": 0}, r"^scoring\.open_days: expected a positive whole number of days, got 0$"),
    ({"open_days": -5}, r"scoring\.open_days: expected a positive whole number .* got -5"),
    ({"open_days": 1.5}, r"scoring\.open_days: .* got 1\.5"),
    ({"open_days": "90"}, r"scoring\.open_days: .* got '90'"),
    ({"open_days": True}, r"scoring\.open_days: .* got True"),
    ({"horizon_days": 0}, r"scoring\.horizon_days: expected a positive whole number"),
    ({"test_share": 0.05}, r"scoring\.test_share: expected a share between 0\.1 and 0\.5, got 0\.05"),
    ({"test_share": 0.6}, r"scoring\.test_share: .* got 0\.6"),
    ({"test_share": "30%"}, r"scoring\.test_share: .* got '30%'"),
    ({"value_weights": {"monetary": -0.1}}, r"scoring\.value_weights\.monetary: expected a weight >= 0, got -0\.1"),
    ({"value_weights": {"monetary": float("nan")}}, r"scoring\.value_weights\.monetary: expected a weight >= 0"),
    ({"value_weights": {"recency": 0, "monetary": 0}}, r"scoring\.value_weights: at least one weight must be positive"),
    ({"value_weights": {"monetory": 1}}, r"scoring\.value_weights: unknown key 'monetory' \(did you mean 'monetary'\?\)"),
    ({"value_weights": [1, 2]}, r"scoring\.value_weights: expected a mapping"),
    ({"at_risk": {"top_share": 0}}, r"scoring\.at_risk\.top_share: expected a share in \(0, 1\]"),
    ({"at_risk": {"top_share": 1.5}}, r"scoring\.at_risk\.top_share: .* got 1\.5"),
    ({"at_risk": {"rhythm_factor": 0.5}}, r"scoring\.at_risk\.rhythm_factor: expected at least 1"),
    ({"at_risk": {"min_orders": 1}}, r"scoring\.at_risk\.min_orders: a rhythm needs at least 2 orders"),
    ({"at_risk": {"max_days": 45}}, r"scoring\.at_risk\.max_days: expected more than min_days \(45\), got 45"),
    ({"at_risk": {"min_days": 400}}, r"scoring\.at_risk\.max_days: expected more than min_days \(400\)"),
    ({"at_risk": {"min_days": "soon"}}, r"scoring\.at_risk\.min_days: expected a number, got 'soon'"),
    ({"at_risk": {"min_days": True}}, r"scoring\.at_risk\.min_days: expected a number"),
    ({"at_risk": {"min_day": 30}}, r"scoring\.at_risk: unknown key 'min_day' \(did you mean 'min_days'\?\)"),
    ({"at_risk": 3}, r"scoring\.at_risk: expected a mapping"),
    ({"leads": {"fit": {"cap": 50, "criterias": []}, "engagement": {"cap": 50, "criteria": []}}},
     r"^scoring\.leads\.fit: unknown key 'criterias' \(did you mean 'criteria'\?\)"),
    ({"leads": {"fit": {"cap": 50, "criteria": [{"column": "employees", "betwen": [1, 9], "points": 5}]},
                "engagement": {"cap": 50, "criteria": []}}},
     r"^scoring\.leads\.fit\.criteria\[0\]: unknown key 'betwen' \(did you mean 'between'\?\)"),
    ({"leads": {"fit": {"cap": 50, "criteria": []}}}, r"^scoring\.leads\.engagement: missing"),
    ({"customers": {"engagement": {"cap": 60, "criteria": []}}}, r"^scoring\.customers\.fit: missing"),
])
def test_settings_errors(section, message):
    with pytest.raises(ConfigError, match=message):
        scoring_settings(section)


def test_settings_errors_name_the_config_file():
    with pytest.raises(ConfigError, match=r"^my\.yml: scoring\.horizon_days: expected a positive whole number"):
        scoring_settings({"horizon_days": -1}, "my.yml")
    with pytest.raises(ConfigError, match=r"^my\.yml: scoring\.leads\.fit: unknown key"):
        scoring_settings({"leads": {"fit": {"cap": 50, "criterias": []}, "engagement": {"cap": 50, "criteria": []}}},
                         "my.yml")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_settings_non_finite_days_are_config_errors(value):
    with pytest.raises(ConfigError, match=r"scoring\.open_days: expected a positive whole number"):
        scoring_settings({"open_days": value})


# --------------------------------------------------------------------------- lead profiles by hand

def _lead_tables():
    rows = [
        # lead, date, event, customer_id, industry, budget, expected_date
        ("L1", "2025-01-05", "form", None, "Food", 1000.0, "2025-04-01"),
        ("L1", "2025-02-01", "meeting", None, None, 2000.0, None),
        ("L1", "2025-02-14 23:30", "download", None, None, None, None),
        ("L1", "2025-02-15 08:00", "visit", None, "Retail", 5000.0, None),  # first purchase day: outcome
        ("L1", "2025-03-10", "call", "C1", "Retail", 9999.0, "2025-12-01"),  # linked row
        ("L1", "2025-04-01", "meeting", None, "Retail", 9999.0, None),
        ("L2", "2025-05-01", "form", None, "Energy", 500.0, "2025-07-01"),
        ("L2", "2025-06-10", "meeting", None, "Mining", 700.0, None),  # acquisition day: outcome
        ("L2", "2025-07-01", "call", "C2", None, None, None),
        ("L3", "2025-09-01", "form", None, "Food", None, "2026-01-30"),
        ("L3", "2025-10-02", "visit", None, None, None, None),  # exactly open_days before as_of: open
        ("L4", "2025-08-01", "form", None, "Retail", None, None),
        ("L4", "2025-10-01", "visit", None, None, None, None),  # one day older: closed
        ("L5", "2025-11-01", "form", None, "Food", None, None),
        ("L5", "2026-01-05", "meeting", None, "Late", None, None),  # after as_of: ignored
        ("L5", "2026-01-10", "call", "C5", None, None, None),  # conversion after as_of: still open
        ("L6", "2026-01-02", "form", None, "Food", None, None),  # only after as_of: no profile
        ("L7", "2025-03-01", "form", None, "Food", None, None),
        ("L7", "2025-03-05", "meeting", "C7", None, None, None),  # the linked row is the earliest evidence
    ]
    leads = pd.DataFrame(rows, columns=["lead_id", "date", "event", "customer_id", "industry", "budget",
                                        "expected_date"])
    leads = leads.astype({"lead_id": "string", "event": "string", "customer_id": "string", "industry": "string"})
    leads["date"] = _dt(leads["date"])
    leads["expected_date"] = _dt(leads["expected_date"])
    customers = pd.DataFrame({"customer_id": _strings(["C1", "C2", "C9"]),
                              "acquisition_date": _dt(["2025-03-20", "2025-06-10", "2024-01-01"])})
    transactions = pd.DataFrame({"customer_id": _strings(["C1", "C1", "C2"]),
                                 "date": _dt(["2025-02-15 10:00", "2025-08-01", "2025-08-01"]),
                                 "amount": [100.0, 50.0, 70.0]})
    return leads, customers, transactions


def test_lead_profiles_by_hand():
    leads, customers, transactions = _lead_tables()
    p, events = lead_profiles(leads, AS_OF, customers, transactions, open_days=90)
    assert p.index.tolist() == ["L1", "L2", "L3", "L4", "L5", "L7"]  # L6 only exists after as_of
    ts = pd.Timestamp
    # L1: linked row 03-10, acquired 03-20, first purchase 02-15 10:00 -> converted on 2025-02-15.
    l1 = p.loc["L1"]
    assert l1["status"] == "converted" and l1["converted"] and l1["outcome_known"]
    assert l1["customer_id"] == "C1"
    assert l1["conversion_date"] == ts("2025-02-15")
    assert l1["created"] == ts("2025-01-05")
    assert l1["n_events"] == 3  # the visit on the conversion day and everything after it are gone
    assert l1["last_activity"] == ts("2025-02-14") and l1["reference_date"] == ts("2025-02-14")
    assert l1["industry"] == "Food"  # last known before the outcome (None does not erase it, Retail is after)
    assert l1["budget"] == 2000.0
    assert l1["days_to_expected_purchase"] == 46.0  # 2025-04-01 - 2025-02-14
    # L2: acquisition date 06-10 is earlier than the linked row (07-01) and the first purchase (08-01).
    l2 = p.loc["L2"]
    assert (l2["status"], l2["customer_id"], l2["conversion_date"]) == ("converted", "C2", ts("2025-06-10"))
    assert (l2["n_events"], l2["last_activity"], l2["industry"], l2["budget"]) == (1, ts("2025-05-01"), "Energy", 500.0)
    assert l2["days_to_expected_purchase"] == 61.0
    # L3: last activity exactly as_of - open_days -> still open, scored as of the analysis date.
    l3 = p.loc["L3"]
    assert (l3["status"], l3["outcome_known"], l3["n_events"]) == ("open", False, 2)
    assert l3["reference_date"] == AS_OF and l3["days_to_expected_purchase"] == 30.0
    # L4: one day older -> closed, scored as of its last activity.
    l4 = p.loc["L4"]
    assert (l4["status"], l4["outcome_known"], l4["reference_date"]) == ("closed", True, ts("2025-10-01"))
    assert pd.isna(l4["days_to_expected_purchase"]) and pd.isna(l4["budget"])
    # L5: the rows after as_of (a later attribute, a conversion) are ignored.
    l5 = p.loc["L5"]
    assert (l5["status"], l5["converted"], l5["n_events"], l5["industry"]) == ("open", False, 1, "Food")
    assert pd.isna(l5["customer_id"]) and pd.isna(l5["conversion_date"])
    # L7: only the linked row: it is the conversion itself, not an input.
    l7 = p.loc["L7"]
    assert (l7["status"], l7["customer_id"], l7["conversion_date"], l7["n_events"]) == (
        "converted", "C7", ts("2025-03-05"), 1)
    assert p["status"].tolist() == ["converted", "converted", "open", "closed", "open", "converted"]

    got = list(zip(events["lead_id"], events["date"], events["event"], strict=True))
    assert got == [("L1", ts("2025-01-05"), "form"), ("L1", ts("2025-02-01"), "meeting"),
                   ("L1", ts("2025-02-14 23:30"), "download"), ("L2", ts("2025-05-01"), "form"),
                   ("L3", ts("2025-09-01"), "form"), ("L3", ts("2025-10-02"), "visit"),
                   ("L4", ts("2025-08-01"), "form"), ("L4", ts("2025-10-01"), "visit"),
                   ("L5", ts("2025-11-01"), "form"), ("L7", ts("2025-03-01"), "form")]


def test_lead_profiles_open_days_boundary():
    leads, customers, transactions = _lead_tables()
    status = {days: lead_profiles(leads, AS_OF, customers, transactions, open_days=days)[0]["status"]
              for days in (89, 90, 91)}
    assert (status[89]["L3"], status[89]["L4"]) == ("closed", "closed")
    assert (status[90]["L3"], status[90]["L4"]) == ("open", "closed")
    assert (status[91]["L3"], status[91]["L4"]) == ("open", "open")


def test_lead_profiles_without_customers_or_transactions():
    """Without the customer tables the linked row is the only evidence of the conversion."""
    leads, _, _ = _lead_tables()
    p, events = lead_profiles(leads, AS_OF)
    assert p.loc["L1", "conversion_date"] == pd.Timestamp("2025-03-10")
    assert p.loc["L1", "n_events"] == 4  # the visit of 02-15 is now before the outcome
    assert p.loc["L1", "industry"] == "Retail" and p.loc["L1", "budget"] == 5000.0
    assert p.loc["L2", "conversion_date"] == pd.Timestamp("2025-07-01") and p.loc["L2", "n_events"] == 2
    assert len(events) == 12


def test_lead_model_frame_by_hand():
    leads, customers, transactions = _lead_tables()
    p, events = lead_profiles(leads, AS_OF, customers, transactions, open_days=90)
    frame, numeric, categorical = lead_model_frame(p, events)
    assert numeric == ["events", "days_active", "budget", "days_to_expected_purchase", "downloads", "forms",
                       "meetings", "visits"]
    assert categorical == ["industry"]
    assert list(frame.columns) == [*numeric[:2], "industry", *numeric[2:]]
    assert frame.loc["L1", ["events", "days_active", "forms", "meetings", "downloads", "visits"]].tolist() == [
        3, 40, 1, 1, 1, 0]
    assert frame.loc["L3", ["days_active", "visits", "days_to_expected_purchase"]].tolist() == [31, 1, 30]
    assert frame.loc["L7", ["events", "days_active", "forms", "meetings"]].tolist() == [1, 0, 1, 0]
    # no outcome column is a feature; the calls only happened at or after the conversion
    assert not {"converted", "status", "customer_id", "conversion_date", "outcome_known", "reference_date",
                "calls"} & set(frame.columns)


def test_lead_attributes_never_come_from_after_the_outcome():
    # L1 was acquired on 2025-01-01; its only row (05 Jan) comes after the conversion.
    alone = pd.DataFrame({"lead_id": _strings(["L1"]), "date": _dt(["2025-01-05"]),
                          "event": _strings(["form"]), "customer_id": _strings(["C1"]),
                          "industry": _strings(["Food"])})
    other = pd.DataFrame({"lead_id": _strings(["L2"]), "date": _dt(["2025-02-01"]),
                          "event": _strings(["form"]), "customer_id": _strings([None]),
                          "industry": _strings(["Retail"])})
    customers = pd.DataFrame({"customer_id": _strings(["C1"]), "acquisition_date": _dt(["2025-01-01"])})
    with_other = lead_profiles(pd.concat([alone, other], ignore_index=True), AS_OF, customers)[0]
    assert pd.isna(with_other.loc["L1", "industry"])
    p = lead_profiles(alone, AS_OF, customers)[0]
    assert pd.isna(p.loc["L1", "industry"])  # actual: "Food", a value recorded after the conversion


# --------------------------------------------------------------------------- leakage

def test_lead_features_ignore_everything_after_the_conversion(sample, sample_leads):
    tables, as_of = sample
    profiles, events, frame, numeric, categorical = sample_leads
    leads = tables["leads"]
    converted = profiles[profiles["status"] == "converted"]
    assert len(converted) > 100

    # Rewrite history after each conversion: attribute values change on the existing rows from the
    # conversion day on, and many more events follow, with and without the customer id.
    when = leads["lead_id"].map(converted["conversion_date"])
    after = when.notna() & (leads["date"].dt.normalize() >= when)
    assert after.sum() > 0
    changed = leads.copy()
    changed.loc[after, "role"] = "CEO / owner"
    changed.loc[after, "budget"] = 1e7
    changed.loc[after, "employees"] = 9999
    changed.loc[after, "industry"] = "Manufacturing"
    changed.loc[after, "source"] = "referral"
    changed.loc[after, "expected_date"] = changed.loc[after, "date"]
    extra = []
    for i, (lead_id, row) in enumerate(converted.iterrows()):
        start = row["conversion_date"]
        for k, (offset, event) in enumerate([(0, "meeting"), (0, "webinar"), (1, "meeting"), (7, "download"),
                                             (30, "email_click"), (60, "visit"), (90, "meeting")]):
            date = min(start + pd.Timedelta(days=offset, hours=k), as_of)
            extra.append({"lead_id": lead_id, "date": date, "event": event,
                          "customer_id": row["customer_id"] if (i + k) % 2 else pd.NA,
                          "source": "referral", "role": "CEO / owner", "employees": 5000, "industry": "Healthcare",
                          "budget": 5e6, "expected_date": date, "source_line": 10**6 + len(extra)})
    extra = pd.DataFrame(extra).astype({col: leads[col].dtype for col in
                                        ["lead_id", "event", "customer_id", "source", "role", "employees",
                                         "industry", "budget", "date", "expected_date", "source_line"]})
    assert len(extra) == 7 * len(converted)
    changed = pd.concat([changed, extra], ignore_index=True)

    p2, e2 = lead_profiles(changed, as_of, tables["customers"], tables["transactions"], 90)
    f2, n2, c2 = lead_model_frame(p2, e2)
    pd.testing.assert_frame_equal(p2, profiles)
    pd.testing.assert_frame_equal(e2, events)
    pd.testing.assert_frame_equal(f2, frame)
    assert (n2, c2) == (numeric, categorical)

    # Control: the same rows in the last second before each conversion day do reach the features.
    last_second = extra["lead_id"].map(converted["conversion_date"]) - pd.Timedelta(seconds=1)
    early = extra.assign(date=last_second, customer_id=pd.NA)
    early = early.astype({"customer_id": leads["customer_id"].dtype})
    p3, e3 = lead_profiles(pd.concat([leads, early], ignore_index=True), as_of, tables["customers"],
                           tables["transactions"], 90)
    f3 = lead_model_frame(p3, e3)[0]
    assert (f3.loc[converted.index, "events"] == frame.loc[converted.index, "events"] + 7).all()
    assert (f3.loc[converted.index, "webinars"] == 1).all()
    assert (f3.loc[converted.index, "role"] == "CEO / owner").all()


def test_lead_features_do_not_depend_on_the_file_row_numbers(sample, sample_leads):
    tables, as_of = sample
    _, _, frame, numeric, categorical = sample_leads
    leads = tables["leads"]
    renumbered = leads.assign(source_line=leads["source_line"].max() + 2 - leads["source_line"])
    p2, e2 = lead_profiles(renumbered, as_of, tables["customers"], tables["transactions"], 90)
    f2 = lead_model_frame(p2, e2)[0]
    pd.testing.assert_frame_equal(f2, frame)
    assert "source_line" not in numeric + categorical


def feature_tables(tables: dict) -> dict:
    """The tables the customer features read, as keywords (``**feature_tables(tables)``)."""
    return {name: tables.get(name) for name in ("transactions", "customers", "payments", "tickets")}


def _rewrite_after(tables: dict, cutoff: pd.Timestamp) -> dict:
    """Every transaction, payment, ticket, lead and customer after the end of ``cutoff``'s day changed."""
    end = cutoff + DAY
    out = {name: table.copy() for name, table in tables.items()}
    tx = out["transactions"]
    late = tx["date"] >= end
    tx.loc[late, "amount"] = tx.loc[late, "amount"] * 2
    tx.loc[late, "cost"] = 0.0
    tx.loc[late, "discount"] = tx.loc[late, "discount"] + 50
    tx.loc[late & (tx["status"] == "completed"), "status"] = "returned"
    bought_before = set(tx.loc[~late, "customer_id"].dropna())
    bought_after = set(tx.loc[late & (tx["status"] != "cancelled") & (tx["amount"] > 0), "customer_id"].dropna())
    idle = sorted(bought_before - bought_after)
    assert len(idle) >= 20
    template = tx[late].iloc[0]
    extra = pd.DataFrame([template] * (len(idle) + 3))
    extra["customer_id"] = idle + ["NEW1", "NEW2", "NEW3"]
    extra["order_id"] = [f"EXTRA-{i}" for i in range(len(extra))]
    extra["date"] = [end + pd.Timedelta(days=1 + i % 30, hours=i % 24) for i in range(len(extra))]
    extra["amount"], extra["status"] = 1234.5, "completed"
    out["transactions"] = pd.concat([tx, extra.astype(tx.dtypes.to_dict())], ignore_index=True)

    pay = out["payments"]
    due_after, paid_after = pay["due_date"] >= end, pay["paid_date"] >= end
    # paid early (but still after the cut-off) or much later
    pay.loc[due_after, "paid_date"] = (pay.loc[due_after, "due_date"] - pd.Timedelta(days=20)).clip(lower=end)
    pay.loc[paid_after & ~due_after, "paid_date"] += pd.Timedelta(days=200)
    assert due_after.sum() > 0 and (paid_after & ~due_after).sum() > 0

    tickets = out["tickets"]
    tickets.loc[tickets["date"] >= end, "minutes"] *= 10
    more = tickets[tickets["date"] >= end].assign(date=end + pd.Timedelta(days=3))
    out["tickets"] = pd.concat([tickets, more], ignore_index=True)

    customers = out["customers"]
    new = customers["acquisition_date"] >= end
    customers.loc[new, "industry"] = "Mining"
    assert new.sum() > 0
    leads = out["leads"]
    leads.loc[leads["date"] >= end, "budget"] = 1e9
    return out


def test_purchase_features_ignore_everything_after_the_cutoff(sample):
    tables, as_of = sample
    cutoff = as_of - pd.Timedelta(days=180)
    before = purchase_frame(**feature_tables(tables), cutoff=cutoff, horizon_days=180)
    rewritten = _rewrite_after(tables, cutoff)
    after = purchase_frame(**feature_tables(rewritten), cutoff=cutoff, horizon_days=180)
    features = [c for c in before.columns if c != "purchased"]
    assert {"days_late", "service_minutes_per_1000", "return_rate", "discount_share", "margin_rate",
            "industry"} <= set(features)
    pd.testing.assert_frame_equal(after[features], before[features])
    # ... while the label does see the outcome period: the idle customers now buy.
    flipped = (after["purchased"] == 1) & (before["purchased"] == 0)
    assert flipped.sum() >= 20 and (after["purchased"] >= before["purchased"]).all()
    # Control: the same rewrite one window earlier changes the features of the later cut-off.
    earlier = purchase_frame(**feature_tables(_rewrite_after(tables, cutoff - pd.Timedelta(days=180))),
                             cutoff=cutoff, horizon_days=180)
    assert not earlier[features].equals(before[features])


def test_tables_until_by_hand():
    tables = {
        "transactions": pd.DataFrame({"customer_id": _strings(["a", "a", "b"]),
                                      "date": _dt(["2025-06-30 18:00", "2025-07-01", "2025-01-01"]),
                                      "amount": [1.0, 2.0, 3.0]}),
        "payments": pd.DataFrame({"customer_id": _strings(["a", "a", "a", "b"]),
                                  "due_date": _dt(["2025-06-01", "2025-06-10", "2025-07-01",
                                                              "2025-06-30"]),
                                  "paid_date": _dt(["2025-06-30 12:00", "2025-07-01", "2025-06-20",
                                                               None]),
                                  "amount": [1.0, 2.0, 3.0, 4.0]}),
        "tickets": pd.DataFrame({"customer_id": _strings(["a", "a"]),
                                 "date": _dt(["2025-06-30", "2025-07-01"]), "minutes": [5.0, 7.0]}),
        "leads": pd.DataFrame({"lead_id": _strings(["L1", "L1"]),
                               "date": _dt(["2025-06-29", "2025-07-02"])}),
        "customers": pd.DataFrame({"customer_id": _strings(["a", "b", "c", "d"]),
                                   "acquisition_date": _dt(["2024-01-01", "2025-06-30 09:00",
                                                                       "2025-07-01", None])}),
    }
    out = tables_until("2025-06-30 15:00", **tables)
    assert out["transactions"]["amount"].tolist() == [1.0, 3.0]
    assert out["payments"]["amount"].tolist() == [1.0, 2.0, 4.0]  # due after the cut-off: unknown yet
    assert out["payments"]["paid_date"].tolist()[0] == pd.Timestamp("2025-06-30 12:00")
    assert out["payments"]["paid_date"].iloc[1:].isna().all()  # paid after the cut-off: still unpaid then
    assert out["tickets"]["minutes"].tolist() == [5.0]
    assert out["leads"]["date"].tolist() == [pd.Timestamp("2025-06-29")]
    assert out["customers"]["customer_id"].tolist() == ["a", "b", "d"]
    assert list(tables_until("2025-06-30", transactions=tables["transactions"], tickets=None)) == ["transactions"]
    assert tables["payments"]["paid_date"].notna().sum() == 3  # the input is untouched


# --------------------------------------------------------------------------- purchase frame

def test_purchase_frame_label_by_hand():
    tx = pd.DataFrame({
        "customer_id": _strings(["a", "a", "b", "b", "c", "c", "d", "d", "e", "e", "f", "g"]),
        "order_id": _strings([f"o{i}" for i in range(12)]),
        "date": _dt(["2025-01-10", "2025-07-10 23:00",  # a: last day of the window
                                "2025-01-10", "2025-06-30 22:00",  # b: on the cut-off day: a feature, not a label
                                "2025-02-01", "2025-07-11",        # c: one day after the window
                                "2025-03-01", "2025-07-05",        # d: cancelled in the window
                                "2025-03-01", "2025-07-05",        # e: credit note in the window
                                "2025-07-01 00:00",                # f: first purchase in the window: no row
                                "2025-04-01"]),                    # g: nothing afterwards
        "amount": [100.0, 10.0, 100.0, 10.0, 100.0, 10.0, 100.0, 10.0, 100.0, -10.0, 5.0, 7.0],
        "status": _strings(["completed", "completed", "completed", "completed", "completed", "completed",
                            "completed", "cancelled", "completed", "returned", "completed", "completed"]),
    })
    frame = purchase_frame(tx, "2025-06-30", horizon_days=10)
    labels = dict(zip(frame["customer_id"], frame["purchased"], strict=True))
    assert labels == {"a": 1, "b": 0, "c": 0, "d": 0, "e": 0, "g": 0}
    assert frame.set_index("customer_id").loc["b", ["frequency", "monetary", "recency_days"]].tolist() == [2, 110.0, 0]
    assert frame["purchased"].dtype == np.int64
    # a zero-amount line does not count either; a line the next day does.
    zero = pd.concat([tx, pd.DataFrame({"customer_id": _strings(["g", "c"]), "order_id": _strings(["z1", "z2"]),
                                        "date": _dt(["2025-07-02", "2025-07-01 00:00"]),
                                        "amount": [0.0, 1.0], "status": _strings(["completed", "completed"])})],
                     ignore_index=True)
    labels = purchase_frame(zero, "2025-06-30", horizon_days=10).set_index("customer_id")["purchased"]
    assert (labels["g"], labels["c"]) == (0, 1)
    assert "purchased" not in purchase_frame(tx, "2025-06-30", horizon_days=10, label=False).columns


# --------------------------------------------------------------------------- time split

def test_split_by_time_shares_and_ties():
    dates = pd.Series(pd.date_range("2025-01-01", periods=10, freq="D"), index=[f"r{i}" for i in range(10)])
    shuffled = dates.sample(frac=1, random_state=3)
    train, test = split_by_time(shuffled, 0.3)
    assert sorted(test) == ["r7", "r8", "r9"] and sorted(train) == [f"r{i}" for i in range(7)]
    train, test = split_by_time(dates, 0.1)
    assert list(test) == ["r9"] and len(train) == 9
    # at least one test row, however small the share
    assert list(split_by_time(dates.iloc[:2], 0.1)[1]) == ["r1"]
    # ties at the cut-off date all go to the test set (the test set grows beyond its share)
    tied = pd.Series(_dt(["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-01-04",
                                     "2025-01-04", "2025-01-05", "2025-01-06", "2025-01-07", "2025-01-08"]),
                     index=list("abcdefghij"))
    train, test = split_by_time(tied, 0.5)  # 5 rows asked; the 5th most recent is tied with two more
    assert sorted(test) == list("defghij") and sorted(train) == list("abc")
    assert set(train).isdisjoint(test) and tied.loc[train].max() < tied.loc[test].min()
    # all on the same day: nothing to train on rather than splitting a day
    train, test = split_by_time(pd.Series(_dt(["2025-01-01"] * 4), index=list("abcd")), 0.3)
    assert len(train) == 0 and sorted(test) == list("abcd")


def test_split_by_time_missing_date_loses_no_dated_row():
    dates = pd.Series(_dt(["2025-01-01", "2025-02-01", "2025-03-01", None]), index=list("abcd"))
    try:
        train, test = split_by_time(dates, 0.3)
    except ValueError:
        return  # refusing undated rows is fine too
    assert (list(train), list(test)) == (["a", "b"], ["c"])  # actual: ([], [])


# --------------------------------------------------------------------------- value score and at risk

def test_value_scores_by_hand():
    f = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "recency_days": [10, 10, 30, 100],
                      "frequency": [1.0, 4.0, 2.0, np.nan], "monetary": [100.0, 400.0, 400.0, 50.0]})
    # recency (fewer days rank higher): 10 x2 share mid-rank 3.5 -> 2.5/3; 30 -> 1/3; 100 -> 0
    # frequency over the 3 known values: 0, 1, 0.5; d missing -> 0.5 in the score
    # monetary: 50 -> 0, 100 -> 1/3, 400 x2 -> 2.5/3
    # default weights without profit and revenue_trend: recency .25, frequency .2, monetary .25 over 0.7
    s = value_scores(f)
    assert list(s.columns) == ["customer_id", "recency", "frequency", "monetary", "value_score"]
    np.testing.assert_allclose(s["recency"], [2.5 / 3, 2.5 / 3, 1 / 3, 0])
    np.testing.assert_allclose(s["frequency"], [0, 1, 0.5, np.nan])
    np.testing.assert_allclose(s["monetary"], [1 / 3, 2.5 / 3, 2.5 / 3, 0])
    assert s["value_score"].tolist() == [41.7, 88.1, 56.0, 14.3]
    # with a profit column its weight joins the denominator
    f["profit"] = [30.0, -5.0, 20.0, 10.0]  # -> 1, 0, 2/3, 1/3
    s = value_scores(f)
    expected = [(0.25 * 2.5 / 3 + 0 + 0.25 / 3 + 0.2) / 0.9, (0.25 * 2.5 / 3 + 0.2 + 0.25 * 2.5 / 3 + 0) / 0.9,
                (0.25 / 3 + 0.1 + 0.25 * 2.5 / 3 + 0.2 * 2 / 3) / 0.9, (0 + 0.1 + 0 + 0.2 / 3) / 0.9]
    np.testing.assert_allclose(100 * np.array(expected), [54.6296, 68.5185, 58.3333, 18.5185], atol=1e-4)
    assert s["value_score"].tolist() == [54.6, 68.5, 58.3, 18.5]
    # zero weights are left out; one customer alone ranks top
    s = value_scores(f, {"recency": 0, "monetary": 1})
    assert list(s.columns) == ["customer_id", "monetary", "value_score"]
    assert value_scores(f.iloc[[0]], {"monetary": 1})["value_score"].tolist() == [100.0]
    with pytest.raises(ValueError, match="none of the weighted components is available"):
        value_scores(f, {"growth": 1})


def test_customer_attributes_percentiles():
    out = customer_attributes(pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                                            "monetary": [10.0, 30.0, 30.0, 5.0, 40.0],
                                            "profit": [1.0, np.nan, 3.0, 2.0, -1.0]}))
    assert out["monetary_percentile"].tolist() == [0.25, 0.625, 0.625, 0.0, 1.0]
    np.testing.assert_allclose(out["profit_percentile"], [1 / 3, np.nan, 1.0, 2 / 3, 0.0])


def _rhythm_features():
    days = pd.Timestamp
    return pd.DataFrame({
        "customer_id": list("abcdefgh"),
        "monetary": [800.0, 700.0, 600.0, 500.0, 400.0, 300.0, 200.0, 100.0],
        "n_purchase_days": [3, 3, 3, 3, 2, 3, 1, 5],
        "recency_days": [60, 61, 44, 45, 300, 300, 300, 366],
        "first_purchase": [days("2025-01-01")] * 8,
        "last_purchase": [days("2025-03-02"), days("2025-03-02"), days("2025-01-21"), days("2025-01-21"),
                          days("2025-01-31"), days("2025-03-02"), days("2025-01-01"), days("2025-03-02")],
    })


def test_at_risk_by_hand():
    f = _rhythm_features()
    # monetary percentiles 1, 6/7, 5/7, 4/7, 3/7, 2/7, 1/7, 0: with top_share 0.6, a-e are valuable.
    r = at_risk(f, {"top_share": 0.6, "rhythm_factor": 2, "min_orders": 3, "min_days": 45})
    assert list(r.columns) == ["customer_id", "usual_gap_days", "days_overdue", "at_risk"]
    np.testing.assert_allclose(r["usual_gap_days"], [30, 30, 10, 10, np.nan, 30, np.nan, 15])
    # a: 60 days = exactly 2 x 30 (not late); b: 61 (1 day overdue); c: 44 > 20 but under min_days; d: 45;
    # e: only 2 purchase days; f-h: not valuable
    assert r["at_risk"].tolist() == [False, True, False, True, False, False, False, False]
    assert r["days_overdue"].tolist() == [0.0, 1.0, 0.0, 25.0, 0.0, 0.0, 0.0, 0.0]
    # two purchase days are enough with min_orders 2: e's gap is 30 days
    r = at_risk(f, {"top_share": 0.6, "rhythm_factor": 2, "min_orders": 2, "min_days": 45})
    assert r["at_risk"].tolist() == [False, True, False, True, True, False, False, False]
    assert r["days_overdue"].tolist() == [0.0, 1.0, 0.0, 25.0, 240.0, 0.0, 0.0, 0.0]
    # everybody valuable, a looser rhythm: c is still under 45 days, h (366 days) has lapsed (max_days 365)
    r = at_risk(f, {"top_share": 1.0, "rhythm_factor": 3, "min_orders": 3, "min_days": 45})
    assert r["at_risk"].tolist() == [False, False, False, True, False, True, False, False]
    assert r["days_overdue"].tolist() == [0.0, 0.0, 0.0, 15.0, 0.0, 210.0, 0.0, 0.0]
    # max_days is inclusive: 366 days of silence is still a risk with max_days 366
    r = at_risk(f, {"top_share": 1.0, "rhythm_factor": 3, "min_orders": 3, "min_days": 45, "max_days": 366})
    assert r["at_risk"].tolist() == [False, False, False, True, False, True, False, True]
    assert r["days_overdue"].iloc[-1] == 321.0  # 366 - 3 x 15
    r = at_risk(f, {"top_share": 1.0, "rhythm_factor": 3, "min_orders": 3, "min_days": 45, "max_days": 299})
    assert r["at_risk"].tolist() == [False, False, False, True, False, False, False, False]
    # defaults: top half (a-d), factor 2, 3 purchase days, 45 to 365 days
    assert at_risk(f)["at_risk"].tolist() == [False, True, False, True, False, False, False, False]


def test_at_risk_gap_counts_calendar_days():
    f = pd.DataFrame({"customer_id": ["a"], "monetary": [100.0], "n_purchase_days": [3], "recency_days": [10],
                      "first_purchase": _dt(["2025-01-01 18:00"]),
                      "last_purchase": _dt(["2025-01-11 09:00"])})
    r = at_risk(f, {"min_days": 1})
    assert r["usual_gap_days"].tolist() == [5.0]  # purchase days 01-01 .. 01-11: 10 days / 2; actual 4.5
    assert r["at_risk"].tolist() == [False]  # 10 days = 2 x 5, not late; actual True


# --------------------------------------------------------------------------- order events

def test_order_events_by_hand():
    tx = pd.DataFrame({
        "customer_id": _strings(["a", "a", "a", "a", "a", "b", "b", "b"]),
        "order_id": _strings(["o1", "o1", "o2", "o3", "o4", "o5", "o6", "o7"]),
        "date": _dt(["2025-01-10 09:00", "2025-01-11 17:00", "2025-02-01", "2025-03-01", "2025-04-01",
                                "2025-01-05", "2025-02-05", "2026-01-05"]),
        "amount": [10.0, 5.0, 7.0, 20.0, -20.0, 30.0, 0.0, 40.0],
        "status": _strings(["completed", "completed", "completed", "cancelled", "returned", None, "completed",
                            "completed"]),
    })
    out = order_events(tx)
    assert list(out.columns) == ["customer_id", "date", "event"]
    got = list(zip(out["customer_id"], out["date"].dt.strftime("%Y-%m-%d"), strict=True))
    # o1 once (its first day), o3 cancelled, o4 a credit note, o6 zero: dropped
    assert got == [("a", "2025-01-10"), ("a", "2025-02-01"), ("b", "2025-01-05"), ("b", "2026-01-05")]
    assert (out["event"] == "order").all()
    assert len(order_events(tx, as_of="2025-12-31 08:00")) == 3


def test_order_events_without_order_ids_one_per_line():
    tx = pd.DataFrame({
        "customer_id": _strings(["a", "a", "a", "a", "b", "b"]),
        "date": _dt(["2025-01-10 09:00", "2025-01-10 17:00", "2025-01-11", "2025-03-01", "2025-01-05",
                     "2026-01-05"]),
        "amount": [10.0, 5.0, 7.0, 20.0, 30.0, 40.0],
        "status": _strings(["completed", "completed", "completed", "cancelled", "completed", "completed"]),
    })
    no_ids = order_events(tx)
    assert list(zip(no_ids["customer_id"], no_ids["date"].dt.strftime("%Y-%m-%d"), strict=True)) == [
        ("a", "2025-01-10"), ("a", "2025-01-10"), ("a", "2025-01-11"), ("b", "2025-01-05"),
        ("b", "2026-01-05")]  # without order ids each line is an order: 2 orders on 01-10
    assert (no_ids["event"] == "order").all()


def test_order_events_lines_without_order_id_are_orders():
    tx = pd.DataFrame({"customer_id": _strings(["a", "a", "a"]), "order_id": _strings([None, "o1", None]),
                       "date": _dt(["2025-01-10", "2025-02-01", "2025-03-01"]),
                       "amount": [10.0, 7.0, 5.0]})
    out = order_events(tx)
    assert out["date"].dt.strftime("%m-%d").tolist() == ["01-10", "02-01", "03-01"]  # actual: 01-10, 02-01


# --------------------------------------------------------------------------- look-alike

def _lookalike_customers():
    customers = pd.DataFrame({
        "industry": _strings(["Food", "Food", "Food", "Retail", "Retail", "Retail", "Retail", None]),
        "employees": pd.array([300, 300, 20, 300, 20, 20, 5, 20], dtype="Int64"),
    })
    reference = pd.Series([True, True, True, False, False, False, False, False])
    return customers, reference


def test_lookalike_scores_by_hand():
    customers, reference = _lookalike_customers()
    prospects = pd.DataFrame({"industry": _strings(["Food", "Retail", "Mining", " Food ", None]),
                              "employees": pd.array([300, 300, None, 20, 5], dtype="Int64")},
                             index=["p1", "p2", "p3", "p4", "p5"])
    # prior 3/8 -> odds 3/5.  industry (2 levels; the customer without one is not counted):
    #   Food (3+1)/(3+2) / ((0+1)/(4+2)) = 4.8;  Retail (0+1)/5 / ((4+1)/6) = 0.24
    # size band (3 levels): 250+ (2+1)/(3+3) / ((1+1)/(5+3)) = 2;  10-49 (1+1)/6 / (4/8) = 2/3;  1-9 (1/6)/(2/8) = 2/3
    odds = np.array([0.6 * 4.8 * 2, 0.6 * 0.24 * 2, 0.6, 0.6 * 4.8 * 2 / 3, 0.6 * 2 / 3])
    out = lookalike_scores(customers, reference, prospects)
    assert list(out.index) == ["p1", "p2", "p3", "p4", "p5"]
    assert out["lookalike_score"].tolist() == list(np.round(100 * odds / (1 + odds), 1))
    assert out["lookalike_score"].tolist() == [85.2, 22.4, 37.5, 65.8, 28.6]
    assert out["matching_traits"].tolist() == [
        "industry=Food (4.8× as common among the best); size_band=250+ (2.0× as common among the best)",
        "size_band=250+ (2.0× as common among the best)", "", "industry=Food (4.8× as common among the best)", ""]
    # strongest first whatever the order of the traits; the threshold is inclusive
    out = lookalike_scores(customers, reference, prospects.iloc[:1], traits=["size_band", "industry"])
    assert out["matching_traits"].iloc[0].startswith("industry=Food (4.8×")
    assert out["lookalike_score"].iloc[0] == 85.2
    out = lookalike_scores(customers, reference, prospects.iloc[:1], min_ratio=2.01)
    assert out["matching_traits"].iloc[0] == "industry=Food (4.8× as common among the best)"
    # more smoothing pulls the ratios towards 1: Food (3+10)/(3+20) / ((0+10)/(4+20)) = 1.3565...
    out = lookalike_scores(customers, reference, prospects.iloc[:1], traits=["industry"], smoothing=10)
    ratio = (13 / 23) / (10 / 24)
    assert 100 * 0.6 * ratio / (1 + 0.6 * ratio) == pytest.approx(44.87, abs=0.01)
    assert out["lookalike_score"].iloc[0] == 44.9


def test_lookalike_scores_errors():
    customers, reference = _lookalike_customers()
    with pytest.raises(ValueError, match="no trait in common"):
        lookalike_scores(customers, reference, pd.DataFrame({"budget": [1.0]}))
    with pytest.raises(ValueError, match="some but not all"):
        lookalike_scores(customers, reference & False, pd.DataFrame({"industry": ["Food"]}))
    with pytest.raises(ValueError, match="some but not all"):
        lookalike_scores(customers, reference | True, pd.DataFrame({"industry": ["Food"]}))


def test_best_segment_with_and_without_labels():
    f = pd.DataFrame({"customer_id": list("abcdef"), "monetary": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                      "profit": [100.0, 90.0, 80.0, 10.0, 5.0, -20.0]})
    mask, group = best_segment(f, pd.Series(["x", "x", "y", "y", "z", "z"]), min_size=2)
    assert mask.tolist() == [True, True, False, False, False, False]
    assert group == {"segment": "x", "value_col": "profit", "top_share": None}
    assert reference_text(group) == "segment “x” (highest median profit)"
    # the best median (x, 100) is too small: y (median of 90, 80, 10 = 80) wins over z (-7.5)
    mask, group = best_segment(f, pd.Series(["x", "y", "y", "y", "z", "z"]), min_size=2)
    assert mask.tolist() == [False, True, True, True, False, False] and "“y”" in reference_text(group)
    # no segment large enough, or no labels: the top 20% by profit (percentiles 1 and 0.8)
    expected = [True, True, False, False, False, False]
    mask, group = best_segment(f, pd.Series(["x", "y", "y", "y", "z", "z"]), min_size=4)
    assert mask.tolist() == expected and reference_text(group) == "top 20% of customers by profit"
    assert best_segment(f)[0].tolist() == expected
    assert best_segment(f, pd.Series([None] * 6, dtype="object"))[0].tolist() == expected
    # without profit: revenue; top_share 0.5 -> percentiles >= 0.5 (4, 5, 6)
    mask, group = best_segment(f.drop(columns="profit"), top_share=0.5)
    assert mask.tolist() == [False, False, False, True, True, True]
    assert reference_text(group) == "top 50% of customers by monetary"
    mask, group = best_segment(f.drop(columns="profit"), pd.Series(list("aabbcc")), min_size=2)
    assert mask.tolist() == [False, False, False, False, True, True]
    assert "highest median monetary" in reference_text(group)


# --------------------------------------------------------------------------- on the generated truth

def test_sample_lead_statuses_agree_with_truth(sample, sample_leads, truth):
    profiles = sample_leads[0]
    leads = truth["leads"].set_index("lead_id")
    assert set(profiles.index) == set(leads.index)
    converted = profiles[profiles["status"] == "converted"]
    assert leads.loc[converted.index, "converted"].all()
    # the customer id is the truth's, or the record the cleaning merged that duplicate into
    linked = tables_leads = sample[0]["leads"]
    linked = tables_leads[tables_leads["customer_id"].notna()]
    pairs = set(zip(linked["lead_id"], linked["customer_id"], linked["original_customer_id"].fillna(linked["customer_id"]),
                    strict=True))
    for lead_id, row in converted.iterrows():
        expected = leads.loc[lead_id, "customer_id"]
        assert row["customer_id"] == expected or (lead_id, row["customer_id"], expected) in pairs, lead_id
    assert (converted["customer_id"] == leads.loc[converted.index, "customer_id"]).mean() > 0.95
    assert (converted["conversion_date"] == _dt(leads.loc[converted.index, "conversion_date"])).all()
    assert not leads.loc[profiles.index[profiles["status"] == "closed"], "converted"].any()
    assert set(profiles["status"]) == {"converted", "closed", "open"}


def test_conversion_model_on_sample(sample_leads, conversion_model, truth):
    profiles, _, frame, _, _ = sample_leads
    models, train, test = conversion_model
    known = profiles.index[profiles["outcome_known"]]
    assert len(train) + len(test) == len(known)
    assert profiles.loc[train, "created"].max() < profiles.loc[test, "created"].min()
    assert 0.28 <= len(test) / len(known) <= 0.35
    y = profiles["converted"].astype("int64")
    test_auc = {name: roc_auc_score(y.loc[test], models.predict(frame.loc[test], name)) for name in models.models}
    assert test_auc[models.best] >= 0.75, test_auc
    # the open leads against their eventual outcome (the truth knows what happened after the data end)
    open_ids = profiles.index[~profiles["outcome_known"]]
    eventual = truth["leads"].set_index("lead_id").loc[open_ids, "converted"].astype("int64")
    assert 5 <= eventual.sum() < len(eventual)
    open_auc = {name: roc_auc_score(eventual, models.predict(frame.loc[open_ids], name)) for name in models.models}
    assert open_auc[models.best] >= 0.65, open_auc


def test_conversion_model_is_deterministic(sample_leads, conversion_model):
    """fit_conversion_models fits again, with the same split and seed: identical models and probabilities."""
    profiles, events, frame, numeric, categorical = sample_leads
    models, train, test = conversion_model
    again = scoring.fit_conversion_models(profiles, events, test_share=0.3, seed=42)
    assert list(again.train) == list(train) and list(again.test) == list(test)
    assert (again.numeric, again.categorical) == (numeric, categorical)
    assert again.evaluation.cv_auc == models.cv_auc and again.evaluation.best == models.best
    for name in models.models:
        np.testing.assert_array_equal(again.test_probability[name].to_numpy(), models.predict(frame.loc[test], name))
        np.testing.assert_array_equal(again.evaluation.predict(frame, name), models.predict(frame, name))
    # the final models learn from every known outcome and score every lead
    assert again.frame["converted"].sum() == profiles["converted"].sum()
    assert again.probability.index.equals(profiles.index) and again.probability.between(0, 1).all()
    open_ids = profiles.index[~profiles["outcome_known"]]
    np.testing.assert_array_equal(again.probability.loc[open_ids], again.final.predict(frame.loc[open_ids]))
    # the model the held-out test validated is the one that scores the leads (refitted, not chosen again)
    assert list(again.final.models) == [again.evaluation.best] and again.final.best == again.evaluation.best


def test_purchase_models_on_sample(sample):
    tables, as_of = sample
    pm = fit_purchase_models(**feature_tables(tables), as_of=as_of, horizon_days=180, seed=42)
    assert pm.test_cutoff == pd.Timestamp("2025-07-04") == as_of - pd.Timedelta(days=180)
    assert pm.train_cutoff == pd.Timestamp("2025-01-05") == as_of - pd.Timedelta(days=360)
    assert pm.horizon_days == 180
    test_auc = {name: roc_auc_score(pm.test["purchased"], pm.test[f"p_{name}"]) for name in pm.evaluation.models}
    assert test_auc[pm.evaluation.best] >= 0.8, test_auc
    p = pm.current["purchase_probability"]
    assert p.notna().all() and p.between(0, 1).all()
    assert "purchased" not in pm.current.columns
    assert len(pm.current) == len(customer_features(**feature_tables(tables), as_of=as_of))
    assert pm.current["recency_days"].min() == 0 and pm.test["recency_days"].min() >= 0
    assert 0.2 < pm.test["purchased"].mean() < 0.9
    assert list(pm.final.models) == [pm.evaluation.best]  # the validated model, refitted on the latest window


def test_purchase_models_need_enough_history(sample):
    tables, as_of = sample
    with pytest.raises(ValueError, match=r"history from before 2022-09-18 .* data starts 2023-01-01\. "
                                         r"Lower scoring\.horizon_days"):
        fit_purchase_models(**feature_tables(tables), as_of=as_of, horizon_days=600)


def test_at_risk_finds_churned_customers_on_sample(sample, truth):
    """Default settings: 44 of the 48 churned customers in the top revenue half are flagged (recall 0.92)."""
    tables, as_of = sample
    f = customer_features(**feature_tables(tables), as_of=as_of)
    flags = at_risk(f).set_index("customer_id")["at_risk"]
    churned = set(truth["customers"].loc[truth["customers"]["churned"], "customer_id"])
    revenue = f.set_index("customer_id")["monetary"]
    percentile = (revenue.rank(method="average") - 1) / (len(revenue) - 1)
    in_scope = [c for c in revenue.index[percentile >= 0.5] if c in churned]
    assert len(in_scope) >= 30
    recall = flags.loc[in_scope].mean()
    assert recall >= 0.6, recall
    assert flags.mean() < 0.25 and flags.sum() / len(tables["customers"]) < 0.25
    assert flags.sum() > 0 and not flags.loc[revenue.index[percentile < 0.5]].any()  # only the valuable half


# --------------------------------------------------------------------------- property

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.one_of(finite, st.sampled_from([0.0, 100.0, 100.0])), min_size=1, max_size=30),
       index=st.integers(min_value=0), raise_by=st.floats(min_value=0, max_value=1e6, allow_nan=False),
       others=st.lists(st.one_of(finite, st.none()), min_size=30, max_size=30))
def test_value_score_bounded_and_monotone_in_monetary(values, index, raise_by, others):
    n = len(values)
    i = index % n
    f = pd.DataFrame({"customer_id": [f"c{k}" for k in range(n)], "monetary": values,
                      "recency_days": [abs(x) if x is not None else np.nan for x in others[:n]],
                      "frequency": [x if x is not None else np.nan for x in others[::-1][:n]]})
    full = value_scores(f)["value_score"]
    assert full.between(0, 100).all()
    only_monetary = {"monetary": 1.0}
    before = value_scores(f, only_monetary)["value_score"]
    raised = f.copy()
    raised.loc[i, "monetary"] = values[i] + raise_by
    after = value_scores(raised, only_monetary)["value_score"]
    assert before.between(0, 100).all() and after.between(0, 100).all()
    assert after.iloc[i] >= before.iloc[i]
    assert not math.isnan(after.iloc[i])


def test_lead_contact_wishes_are_not_fit_attributes():
    rows = pd.DataFrame({"lead_id": ["L1", "L2"], "date": pd.to_datetime(["2025-11-01", "2025-11-20"]),
                         "industry": ["Food", "Retail"], "preferred_channel": ["email", "phone"],
                         "consent_email": [True, False], "consent_phone": [False, True],
                         "do_not_contact": [False, True]})
    profiles, events = lead_profiles(rows, "2025-12-31")
    frame, numeric, categorical = lead_model_frame(profiles, events)
    assert "industry" in profiles.columns and categorical == ["industry"]
    assert not {"preferred_channel", "consent_email", "consent_phone", "do_not_contact"} & set(profiles.columns)
