"""Point-based scorecard: config validation, conditions, windows, decay, caps, grades, grid, reasons."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis import scorecard as sc
from portfolio_helpers.core.errors import ConfigError

REF = "2024-06-01"
MINUS = "\u2212"


def _config(fit=(), engagement=(), fit_cap=50, engagement_cap=50, **extra):
    return {"fit": {"cap": fit_cap, "criteria": list(fit)},
            "engagement": {"cap": engagement_cap, "criteria": list(engagement)}, **extra}


def _card(fit=(), engagement=(), **kwargs):
    return sc.scorecard_from_config(_config(fit, engagement, **kwargs), "scoring.leads")


def _attributes(**columns):
    n = len(next(iter(columns.values()))) if columns else 1
    return pd.DataFrame({"lead_id": [f"L{i}" for i in range(n)], **columns})


def _events(*rows):
    """rows of (lead_id, event, date)."""
    ids, kinds, dates = zip(*rows, strict=True) if rows else ((), (), ())
    return pd.DataFrame({"lead_id": list(ids), "event": list(kinds), "date": pd.to_datetime(list(dates), format="ISO8601")})


def _points(card, attributes, events=None, reference_date=REF):
    return sc.criterion_points(card, attributes, events, id_col="lead_id", reference_date=reference_date)


def _score(card, attributes, events=None, reference_date=REF, **kwargs):
    return sc.score(card, attributes, events, id_col="lead_id", reference_date=reference_date, **kwargs)


def _column(card, attributes, events=None, reference_date=REF):
    """Points of the only criterion, as a list."""
    table = _points(card, attributes, events, reference_date)
    assert table.shape[1] == 1
    return table.iloc[:, 0].tolist()


# --------------------------------------------------------------------------- caps and points

def test_group_score_is_clipped_to_its_cap():
    # 30 + 25 = 55 fit points, cap 40 -> 40; engagement 20 of cap 60.
    card = _card(fit=[{"column": "employees", "at_least": 100, "points": 30},
                      {"column": "budget", "at_least": 1000, "points": 25}],
                 engagement=[{"column": "source", "equals": "referral", "points": 20}],
                 fit_cap=40, engagement_cap=60)
    out = _score(card, _attributes(employees=[500], budget=[5000], source=["referral"]))
    assert out[["fit_score", "engagement_score", "total_score"]].iloc[0].tolist() == [40.0, 20.0, 60.0]
    raw = _points(card, _attributes(employees=[500], budget=[5000], source=["referral"]))
    assert raw.iloc[0].tolist() == [30.0, 25.0, 20.0]  # raw points, before the cap


def test_negative_points_and_negative_group_total_clipped_to_zero():
    # fit: +10 - 20 = -10 -> 0; engagement: +15.
    card = _card(fit=[{"column": "employees", "at_least": 100, "points": 10},
                      {"column": "role", "equals": "student", "points": -20}],
                 engagement=[{"column": "source", "equals": "referral", "points": 15}])
    attributes = _attributes(employees=[500, 500], role=["Student", "CEO"], source=["referral", "ads"])
    assert _points(card, attributes).to_numpy().tolist() == [[10.0, -20.0, 15.0], [10.0, 0.0, 0.0]]
    out = _score(card, attributes)
    assert out["fit_score"].tolist() == [0.0, 10.0]
    assert out["total_score"].tolist() == [15.0, 10.0]


def test_negative_fit_does_not_eat_engagement_points():
    card = _card(fit=[{"column": "role", "equals": "student", "points": -40}],
                 engagement=[{"column": "source", "equals": "referral", "points": 30}])
    out = _score(card, _attributes(role=["student"], source=["referral"]))
    assert out["total_score"].tolist() == [30.0]


# --------------------------------------------------------------------------- conditions

def test_equals_is_case_insensitive_and_strips_blanks():
    card = _card(fit=[{"column": "role", "equals": "CEO / owner", "points": 15}])
    attributes = _attributes(role=["ceo / OWNER", "  CEO / owner ", "CEO", None])
    assert _column(card, attributes) == [15.0, 15.0, 0.0, 0.0]


def test_equals_on_numeric_column_compares_numbers():
    card = _card(fit=[{"column": "employees", "equals": 50, "points": 5}])
    assert _column(card, _attributes(employees=[50.0, 51.0, np.nan])) == [5.0, 0.0, 0.0]
    text_number = _card(fit=[{"column": "employees", "equals": "50", "points": 5}])
    assert _column(text_number, _attributes(employees=[50, 49])) == [5.0, 0.0]


def test_equals_text_value_on_numeric_column_is_a_config_error():
    card = _card(fit=[{"column": "employees", "equals": "many", "points": 5}])
    with pytest.raises(ConfigError, match=r"fit\.criteria\[0\]: column 'employees' is numeric.*'many'"):
        _points(card, _attributes(employees=[50]))


def test_in_and_not_in_never_match_missing_values():
    card = _card(fit=[{"column": "role", "in": ["Purchasing manager", "operations manager"], "points": 10},
                      {"column": "industry", "not_in": ["Education", "public sector"], "points": 5}])
    attributes = _attributes(role=["purchasing manager", "Operations Manager", "CEO", None],
                             industry=["Food", "Public Sector", None, "  "])
    table = _points(card, attributes)
    assert table.iloc[:, 0].tolist() == [10.0, 10.0, 0.0, 0.0]
    # Food is not excluded -> 5; Public Sector is; missing and blank never match not_in.
    assert table.iloc[:, 1].tolist() == [5.0, 0.0, 0.0, 0.0]


def test_between_lo_inclusive_hi_exclusive_and_open_ends():
    card = _card(fit=[{"column": "employees", "between": [50, 250], "points": 10},
                      {"column": "budget", "between": [None, 1000], "points": 3},
                      {"column": "revenue", "between": [2.5, None], "points": 1}])
    attributes = _attributes(employees=[49, 50, 249, 250, None], budget=[999.99, 1000, -5, None, 0],
                             revenue=[2.49, 2.5, 1e9, None, 0])
    table = _points(card, attributes)
    assert table.iloc[:, 0].tolist() == [0.0, 10.0, 10.0, 0.0, 0.0]
    assert table.iloc[:, 1].tolist() == [3.0, 0.0, 3.0, 0.0, 3.0]
    assert table.iloc[:, 2].tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]


def test_at_least_and_at_most_are_inclusive():
    card = _card(fit=[{"column": "employees", "at_least": 250, "points": 15},
                      {"column": "budget", "at_most": 1000, "points": -5}])
    attributes = _attributes(employees=[249, 250, None], budget=[1000, 1000.01, None])
    assert _points(card, attributes).to_numpy().tolist() == [[0.0, -5.0], [15.0, 0.0], [0.0, 0.0]]


def test_missing_true_and_false():
    card = _card(fit=[{"column": "budget", "missing": True, "points": -5},
                      {"column": "phone", "missing": False, "points": 2}])
    attributes = _attributes(budget=[np.nan, 100.0, 0.0], phone=["", "+33 1 23", None])
    assert _points(card, attributes).to_numpy().tolist() == [[-5.0, 0.0], [0.0, 2.0], [0.0, 0.0]]


def test_nullable_integer_column():
    card = _card(fit=[{"column": "employees", "at_least": 10, "points": 4}])
    attributes = _attributes(employees=pd.array([10, None, 9], dtype="Int64"))
    assert _column(card, attributes) == [4.0, 0.0, 0.0]


# --------------------------------------------------------------------------- events

def test_event_threshold_counts_raw_events_in_window_edges():
    # within_days 30 from 2024-06-01: 2024-05-02 is 30 days old (in), 2024-05-01 is 31 (out).
    card = _card(engagement=[{"event": "download", "at_least": 2, "within_days": 30, "points": 15}])
    events = _events(("L0", "download", "2024-05-02"), ("L0", "download", "2024-06-01"),
                     ("L1", "download", "2024-05-01"), ("L1", "download", "2024-06-01"),
                     ("L2", "Download ", "2024-05-20"), ("L2", "DOWNLOAD", "2024-05-21"),
                     ("L3", "meeting", "2024-05-20"), ("L3", "download", "2024-05-21"))
    assert _column(card, _attributes(x=[0, 0, 0, 0]), events) == [15.0, 0.0, 15.0, 0.0]


def test_event_without_window_counts_everything_up_to_reference():
    card = _card(engagement=[{"event": "meeting", "at_least": 1, "points": 20}])
    events = _events(("L0", "meeting", "2015-01-01"), ("L1", "meeting", "2024-06-02"))
    assert _column(card, _attributes(x=[0, 0, 0]), events) == [20.0, 0.0, 0.0]


def test_any_event_at_most_zero_fires_without_events():
    card = _card(engagement=[{"event": "any", "at_most": 0, "within_days": 90, "points": -10}])
    events = _events(("L0", "webinar", "2024-03-03"),   # 90 days old: activity
                     ("L1", "email_open", "2024-03-02"))  # 91 days old: none in the window
    assert _column(card, _attributes(x=[0, 0, 0]), events) == [0.0, -10.0, -10.0]


def test_event_between_and_equals_on_counts():
    card = _card(engagement=[{"event": "visit", "between": [2, 4], "points": 3},
                             {"event": "visit", "equals": 1, "points": 1}])
    events = _events(("L0", "visit", "2024-05-01"),
                     ("L1", "visit", "2024-05-01"), ("L1", "visit", "2024-05-02"),
                     ("L2", "visit", "2024-05-01"), ("L2", "visit", "2024-05-02"), ("L2", "visit", "2024-05-03"),
                     ("L3", "visit", "2024-05-01"), ("L3", "visit", "2024-05-02"), ("L3", "visit", "2024-05-03"),
                     ("L3", "visit", "2024-05-04"))
    table = _points(card, _attributes(x=[0, 0, 0, 0]), events)
    assert table.iloc[:, 0].tolist() == [0.0, 3.0, 3.0, 0.0]
    assert table.iloc[:, 1].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_events_after_scalar_reference_date_are_ignored():
    card = _card(engagement=[{"event": "meeting", "at_least": 1, "points": 20},
                             {"event": "email_open", "points_each": 1},
                             {"column": "n_events", "at_least": 1, "points": 1}])
    # an event later on the reference day counts (age 0); one the next day does not
    events = _events(("L0", "meeting", "2024-06-02"), ("L0", "email_open", "2024-07-01"),
                     ("L1", "meeting", "2024-06-01 18:30"), ("L1", "email_open", "2024-05-31"))
    table = _points(card, _attributes(x=[0, 0]), events)
    assert table.to_numpy().tolist() == [[0.0, 0.0, 0.0], [20.0, 1.0, 1.0]]
    later = _points(card, _attributes(x=[0, 0]), events, reference_date="2024-07-01")
    assert later.to_numpy().tolist() == [[20.0, 1.0, 1.0], [20.0, 1.0, 1.0]]


def test_events_after_per_entity_reference_date_are_ignored():
    card = _card(engagement=[{"event": "meeting", "at_least": 1, "points": 20},
                             {"event": "download", "at_least": 1, "within_days": 10, "points": 5}])
    events = _events(("L0", "meeting", "2024-03-10"), ("L0", "download", "2024-02-25"),
                     ("L1", "meeting", "2024-03-10"), ("L1", "download", "2024-03-05"))
    # L0 scored as of 2024-03-01 (its meeting came later; its download is 5 days old);
    # L1 as of 2024-03-20 (download 15 days old: outside the 10-day window).
    ref = pd.Series(pd.to_datetime(["2024-03-20", "2024-03-01"]), index=["L1", "L0"])
    table = _points(card, _attributes(x=[0, 0]), events, reference_date=ref)
    assert table.loc["L0"].tolist() == [0.0, 5.0]
    assert table.loc["L1"].tolist() == [20.0, 0.0]


def test_per_entity_reference_must_cover_every_id():
    card = _card(fit=[{"column": "x", "at_least": 1, "points": 1}])
    ref = pd.Series(pd.to_datetime(["2024-01-01"]), index=["L0"])
    with pytest.raises(ValueError, match=r"no date for 1 lead_id.*'L1'"):
        _points(card, _attributes(x=[1, 2]), reference_date=ref)


def test_half_life_decay_event_of_one_half_life_counts_half():
    # 60 days old with half_life 60 -> 0.5; 0 days old -> 1; 120 days -> 0.25.
    card = _card(engagement=[{"event": "email_open", "points_each": 10}], decay={"half_life_days": 60})
    events = _events(("L0", "email_open", "2024-04-02"),
                     ("L1", "email_open", "2024-06-01"), ("L1", "email_open", "2024-02-02"))
    assert _column(card, _attributes(x=[0, 0, 0]), events) == pytest.approx([5.0, 12.5, 0.0])


def test_step_decay():
    card = _card(engagement=[{"event": "email_open", "points_each": 4}],
                 decay={"steps": [[30, 1.0], [90, 0.5], [180, 0.25]]})
    dates = {30: "2024-05-02", 31: "2024-05-01", 90: "2024-03-03", 180: "2023-12-04", 181: "2023-12-03"}
    events = _events(*((f"L{i}", "email_open", d) for i, d in enumerate(dates.values())))
    assert _column(card, _attributes(x=[0] * 5), events) == [4.0, 2.0, 2.0, 1.0, 0.0]


def test_no_decay_weighs_every_event_one():
    for decay in (None, {"none": True}):
        extra = {} if decay is None else {"decay": decay}
        card = _card(engagement=[{"event": "email_open", "points_each": 2}], **extra)
        events = _events(("L0", "email_open", "2010-01-01"), ("L0", "email_open", "2024-06-01"))
        assert _column(card, _attributes(x=[0]), events) == [4.0]


def test_per_event_max_points_caps_absolute_value():
    card = _card(engagement=[{"event": "email_open", "points_each": 2, "max_points": 5},
                             {"event": "unsubscribe", "points_each": -3, "max_points": 4}])
    events = _events(("L0", "email_open", "2024-05-01"), ("L0", "email_open", "2024-05-02"),
                     ("L1", "email_open", "2024-05-01"), ("L1", "email_open", "2024-05-02"),
                     ("L1", "email_open", "2024-05-03"), ("L1", "unsubscribe", "2024-05-03"),
                     ("L1", "unsubscribe", "2024-05-04"))
    table = _points(card, _attributes(x=[0, 0]), events)
    assert table.iloc[:, 0].tolist() == [4.0, 5.0]    # 2 x 2 = 4; 2 x 3 = 6 -> 5
    assert table.iloc[:, 1].tolist() == [0.0, -4.0]   # -3 x 2 = -6 -> -4


def test_per_event_rule_window():
    card = _card(engagement=[{"event": "email_open", "points_each": 1, "within_days": 7}])
    events = _events(("L0", "email_open", "2024-05-25"), ("L0", "email_open", "2024-05-24"))
    assert _column(card, _attributes(x=[0]), events) == [1.0]


def test_days_since_last_event_pseudo_column():
    card = _card(engagement=[{"column": "days_since_last_event", "at_least": 120, "points": -10}])
    # L0: last event 120 days before (2024-02-02) -> fires; L1: a later event 119 days old;
    # L2: only an event after the reference date -> no event -> missing, never matches.
    events = _events(("L0", "visit", "2024-02-02"), ("L0", "visit", "2023-01-01"),
                     ("L1", "visit", "2024-02-02"), ("L1", "visit", "2024-02-03"),
                     ("L2", "visit", "2024-07-01"))
    assert _column(card, _attributes(x=[0, 0, 0, 0]), events) == [-10.0, 0.0, 0.0, 0.0]


def test_pseudo_columns_first_event_and_count():
    card = _card(engagement=[{"column": "days_since_first_event", "at_least": 365, "points": 5},
                             {"column": "n_events", "at_least": 2, "points": 3}])
    events = _events(("L0", "visit", "2023-06-02"), ("L0", "visit", "2024-05-01"),
                     ("L1", "visit", "2023-06-03"))
    assert _points(card, _attributes(x=[0, 0]), events).to_numpy().tolist() == [[5.0, 3.0], [0.0, 0.0]]


def test_real_column_wins_over_pseudo_column():
    card = _card(engagement=[{"column": "days_since_last_event", "at_least": 120, "points": -10}])
    events = _events(("L0", "visit", "2024-05-31"))
    assert _column(card, _attributes(days_since_last_event=[500]), events) == [-10.0]
    # no events needed at all when the column exists
    assert _column(card, _attributes(days_since_last_event=[5])) == [0.0]


def test_event_rules_without_events_frame():
    card = _card(engagement=[{"event": "meeting", "at_least": 1, "points": 20}])
    with pytest.raises(ValueError, match=r"engagement\.criteria\[0\].*no events table"):
        _points(card, _attributes(x=[0]))


def test_unmatched_event_ids_and_no_events_give_zero():
    card = _card(engagement=[{"event": "meeting", "at_least": 0, "points": 1},
                             {"event": "meeting", "at_least": 1, "points": 20}])
    events = _events(("ZZ", "meeting", "2024-05-01"))
    assert _points(card, _attributes(x=[0]), events).to_numpy().tolist() == [[1.0, 0.0]]


# --------------------------------------------------------------------------- grades and grid

def _direct(fit_points, engagement_points, **extra):
    """A scorecard whose fit/engagement scores are set by columns f and e (points = value when x == 1)."""
    config = _config(fit=[{"column": "f", "at_least": 0, "points": fit_points}],
                     engagement=[{"column": "e", "at_least": 0, "points": engagement_points}], **extra)
    return sc.scorecard_from_config(config)


def test_grade_thresholds_at_exact_boundary():
    attributes = _attributes(f=[0])
    cases = [(40, 30, "A"), (40, 29.9, "B"), (20, 20, "B"), (20, 19.9, "C"), (0, 0, "C"), (50, 50, "A")]
    for fit, engagement, grade in cases:
        out = _score(_direct(fit, engagement), attributes.assign(e=0))
        assert out["total_score"].iloc[0] == pytest.approx(fit + engagement)
        assert out["grade"].iloc[0] == grade, (fit, engagement)


def test_grade_uses_rounded_total():
    # 35.04 + 34.96 = 70.0 exactly as shown; 34.96 rounds to 35.0 (shown 35.0 + 35.0 = 70.0).
    out = _score(_direct(35.04, 34.96), _attributes(f=[0], e=[0]))
    assert out["total_score"].iloc[0] == 70.0 and out["grade"].iloc[0] == "A"


def test_custom_grades():
    card = _direct(30, 30, grades={"Hot": 60, "Warm": 30, "Cold": None})
    assert card.grade_names == ("Hot", "Warm", "Cold")
    assert _score(card, _attributes(f=[0], e=[0]))["grade"].tolist() == ["Hot"]
    four = _direct(30, 0, grades={"A": 80, "B": 60, "C": 40})
    out = _score(four, _attributes(f=[0], e=[0]))
    assert four.lowest_grade == "D" and out["grade"].tolist() == ["D"]
    assert list(out["grade"].cat.categories) == ["A", "B", "C", "D"]


def test_grid_cells_with_configured_thresholds():
    grid = {"fit": [35, 20], "engagement": [30, 15]}
    cases = [(35, 30, "A1"), (34.9, 29.9, "B2"), (20, 15, "B2"), (19.9, 14.9, "C3"), (50, 0, "A3"),
             (0, 50, "C1")]
    for fit, engagement, cell in cases:
        out = _score(_direct(fit, engagement, grid=grid), _attributes(f=[0], e=[0]))
        assert out["grid"].iloc[0] == cell, (fit, engagement)


def test_grid_default_thresholds_are_two_and_one_thirds_of_caps():
    card = _direct(40, 20, fit_cap=60, engagement_cap=40)
    assert card.grid_fit == (40.0, 20.0)
    assert card.grid_engagement == pytest.approx((80 / 3, 40 / 3))
    out = _score(card, _attributes(f=[0], e=[0]))
    assert out["grid"].tolist() == ["A2"]  # fit 40 >= 40; engagement 20 is between 13.3 and 26.7


def test_grade_distribution_and_grid_counts():
    card = _card(fit=[{"column": "f", "at_least": 0, "points": 0}], engagement=[],
                 fit_cap=50, engagement_cap=50)
    scored = _score(card, _attributes(f=[0, 0, 0]))
    dist = sc.grade_distribution(scored)
    assert dist["grade"].tolist() == ["A", "B", "C"]
    assert dist["contacts"].tolist() == [0, 0, 3]
    assert dist["share"].tolist() == [0.0, 0.0, 1.0]
    grid = sc.grid_counts(scored)
    assert grid.index.tolist() == ["A", "B", "C"] and grid.columns.tolist() == ["1", "2", "3"]
    assert grid.to_numpy().tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 3]]


# --------------------------------------------------------------------------- output and reasons

def test_output_columns_order_and_index_follow_attributes():
    card = _card(fit=[{"column": "employees", "at_least": 100, "points": 10}])
    attributes = pd.DataFrame({"lead_id": ["z", "a", "m"], "employees": [5, 500, 100]}, index=[7, 3, 5])
    out = _score(card, attributes)
    assert list(out.columns) == ["lead_id", "fit_score", "engagement_score", "total_score", "grade", "grid",
                                 "top_reasons"]
    assert out.index.tolist() == [7, 3, 5]
    assert out["lead_id"].tolist() == ["z", "a", "m"]
    assert out["fit_score"].tolist() == [0.0, 10.0, 10.0]


def test_duplicate_ids_raise():
    card = _card(fit=[{"column": "x", "at_least": 1, "points": 1}])
    attributes = pd.DataFrame({"lead_id": ["a", "b", "a"], "x": [1, 2, 3]})
    with pytest.raises(ValueError, match=r"one row per lead_id.*'a'"):
        _score(card, attributes)


def test_reasons_order_format_minus_and_limit():
    card = _card(fit=[{"column": "industry", "equals": "Food", "points": 20},
                      {"column": "role", "equals": "student", "points": -10, "label": "student"},
                      {"column": "employees", "at_least": 10, "points": 2.5}],
                 engagement=[{"event": "download", "at_least": 3, "within_days": 30, "points": 15},
                             {"column": "days_since_last_event", "at_least": 120, "points": -10}])
    attributes = _attributes(industry=["food"], role=["Student"], employees=[10])
    events = _events(*(("L0", "download", "2024-01-10") for _ in range(3)))  # 143 days old
    out = _score(card, attributes, events)
    # +20 first; -10 (student, fit) before -10 (no activity): config order on ties; then 2.5.
    assert out["top_reasons"].iloc[0] == f"+20 industry=Food; {MINUS}10 student; {MINUS}10 no activity for 120+ days"
    full = _score(card, attributes, events, n_reasons=10)["top_reasons"].iloc[0]
    assert full.endswith("; +2.5 employees \u2265 10")
    assert "downloads" not in full  # 0 points: not a reason
    assert _score(card, attributes, events, n_reasons=1)["top_reasons"].iloc[0] == "+20 industry=Food"
    assert _score(card, attributes, events, n_reasons=0)["top_reasons"].iloc[0] == ""


def test_reasons_event_threshold_label_and_empty():
    card = _card(engagement=[{"event": "download", "at_least": 3, "within_days": 30, "points": 15},
                             {"event": "meeting", "at_least": 1, "points": 20}])
    events = _events(*(("L0", "download", "2024-05-20") for _ in range(3)))
    out = _score(card, _attributes(x=[0, 0]), events)
    assert out["top_reasons"].tolist() == ["+15 3+ downloads in 30 days", ""]


def test_reasons_per_event_shows_weighted_count():
    card = _card(engagement=[{"event": "email_open", "points_each": 2, "max_points": 10}],
                 decay={"half_life_days": 60})
    # 3 today (3.0) + 1 of 60 days (0.5) = 3.5 weighted opens -> 7 points; L1: one open -> 2 points.
    events = _events(*(("L0", "email_open", REF) for _ in range(3)), ("L0", "email_open", "2024-04-02"),
                     ("L1", "email_open", REF))
    out = _score(card, _attributes(x=[0, 0]), events)
    assert out["top_reasons"].tolist() == ["+7 3.5 email_opens (decayed)", "+2 1 email_open (decayed)"]


def test_auto_labels():
    card = _card(fit=[{"column": "role", "in": ["a", "b", "c", "d", "e"], "points": 1},
                      {"column": "role", "in": ["purchasing manager", "operations manager"], "points": 1},
                      {"column": "industry", "not_in": ["Education"], "points": 1},
                      {"column": "employees", "between": [50, 250], "points": 1},
                      {"column": "budget", "between": [0.5, 2.5], "points": 1},
                      {"column": "employees", "between": [50, None], "points": 2},
                      {"column": "employees", "between": [None, 250], "points": 2},
                      {"column": "budget", "at_most": 1000, "points": 1},
                      {"column": "budget", "missing": True, "points": 1}],
                 engagement=[{"event": "meeting", "at_least": 1, "points": 1},
                             {"event": "download", "at_most": 0, "within_days": 30, "points": 1},
                             {"event": "any", "at_most": 0, "within_days": 90, "points": 1},
                             {"event": "email_open", "points_each": 1}])
    assert [c.label for c in card.criteria] == [
        "role in a/b/c \u2026 (+2)", "role in purchasing manager/operations manager", "industry not in Education",
        "employees 50\u2013249", "budget 0.5 to <2.5", "employees \u2265 50", "employees < 250",
        "budget \u2264 1,000", "budget missing", "1+ meetings", "no download in 30 days", "no activity in 90 days",
        "email_opens"]


def test_criterion_points_columns_are_labels_and_index_is_id():
    card = _card(fit=[{"column": "x", "at_least": 1, "points": 1, "label": "big"}],
                 engagement=[{"column": "y", "at_least": 1, "points": 2}])
    table = _points(card, _attributes(x=[1, 0], y=[0, 1]))
    assert table.columns.tolist() == ["big", "y \u2265 1"]
    assert table.index.name == "lead_id" and table.index.tolist() == ["L0", "L1"]


# --------------------------------------------------------------------------- scorecard object

def test_columns_and_events_used():
    card = _card(fit=[{"column": "role", "equals": "CEO", "points": 1},
                      {"column": "role", "equals": "CTO", "points": 1},
                      {"column": "budget", "missing": True, "points": 1}],
                 engagement=[{"event": "download", "at_least": 1, "points": 1},
                             {"event": "any", "at_most": 0, "points": 1},
                             {"column": "days_since_last_event", "at_least": 9, "points": 1}])
    assert card.columns() == ("role", "budget")
    assert card.events() == ("download",)


def test_with_points_returns_modified_copy():
    card = _card(fit=[{"column": "x", "at_least": 1, "points": 10, "label": "x big"}],
                 engagement=[{"event": "email_open", "points_each": 2}])
    changed = card.with_points({"x big": 30, "email_opens": -1})
    assert changed.fit[0].points == 30.0 and changed.engagement[0].points_each == -1.0
    assert card.fit[0].points == 10.0  # the original is untouched
    assert _column(_card(fit=[{"column": "x", "at_least": 1, "points": 10}]).with_points({"x \u2265 1": 25}),
                   _attributes(x=[1])) == [25.0]
    with pytest.raises(ValueError, match=r"no criterion labelled 'x bgi' \(did you mean 'x big'\?\)"):
        card.with_points({"x bgi": 3})


def test_with_thresholds():
    card = _direct(35, 30)
    assert _score(card, _attributes(f=[0], e=[0]))["grade"].tolist() == ["B"]  # 65 < 70
    easier = card.with_thresholds(grades={"A": 60, "B": 30}, grid_fit=[30, 10])
    out = _score(easier, _attributes(f=[0], e=[0]))
    # fit 35 >= 30 -> A; engagement 30 < 33.3 (default 2/3 of the cap of 50) -> 2
    assert out["grade"].tolist() == ["A"] and out["grid"].tolist() == ["A2"]
    assert card.grades == (("A", 70.0), ("B", 40.0))
    with pytest.raises(ConfigError, match="strictly decreasing"):
        card.with_thresholds(grades={"A": 30, "B": 60})


def test_to_frame():
    card = _card(fit=[{"column": "employees", "between": [50, 250], "points": 10}],
                 engagement=[{"event": "download", "at_least": 3, "within_days": 30, "points": 15},
                             {"event": "email_open", "points_each": 2, "max_points": 10, "label": "opens"}],
                 decay={"half_life_days": 60})
    table = card.to_frame()
    assert table.columns.tolist() == ["group", "label", "rule", "points", "window"]
    assert table["group"].tolist() == ["fit", "engagement", "engagement"]
    assert table["label"].tolist() == ["employees 50\u2013249", "3+ downloads in 30 days", "opens"]
    assert table["rule"].tolist() == [
        "50 \u2264 employees < 250", "count of download events in the last 30 days \u2265 3",
        "2 per email_open event, at most 10 in total, decay half-life 60 days"]
    assert table["points"].tolist() == [10.0, 15.0, 2.0]
    assert table["window"].isna().tolist() == [True, False, True] and table["window"].iloc[1] == 30


# --------------------------------------------------------------------------- config errors

def _error(config, pattern):
    with pytest.raises(ConfigError, match=pattern):
        sc.scorecard_from_config(config, "scoring.leads")


def test_unknown_key_with_suggestion():
    _error(_config(fit=[{"column": "x", "at_least": 1, "points": 1}, {"column": "x", "at_least": 1, "points": 2},
                        {"column": "employees", "betwen": [50, 250], "points": 10}]),
           r"^scoring\.leads\.fit\.criteria\[2\]: unknown key 'betwen' \(did you mean 'between'\?\)")
    _error({**_config(), "grade": {"A": 70}}, r"^scoring\.leads: unknown key 'grade' \(did you mean 'grades'\?\)")
    _error({"fit": {"cap": 50, "criterias": []}, "engagement": {"cap": 50}},
           r"scoring\.leads\.fit: unknown key 'criterias' \(did you mean 'criteria'\?\)")
    _error(_config(decay={"half_life": 30}), r"scoring\.leads\.decay: unknown key 'half_life' \(did you mean "
                                             r"'half_life_days'\?\)")
    _error(_config(grid={"fitt": [30, 10]}), r"scoring\.leads\.grid: unknown key 'fitt' \(did you mean 'fit'\?\)")


def test_both_column_and_event():
    _error(_config(engagement=[{"column": "x", "event": "meeting", "at_least": 1, "points": 1}]),
           r"engagement\.criteria\[0\]: give either `column` or `event`, not both")


def test_neither_column_nor_event():
    _error(_config(fit=[{"equals": "CEO", "points": 1}]), r"fit\.criteria\[0\]: needs `column")


def test_no_condition_and_two_conditions():
    _error(_config(fit=[{"column": "role", "points": 1}]), r"fit\.criteria\[0\]: no condition")
    _error(_config(fit=[{"column": "role", "equals": "CEO", "in": ["CTO"], "points": 1}]),
           r"fit\.criteria\[0\]: give exactly one condition, got 'equals' and 'in'")


def test_points_required_and_numeric():
    _error(_config(fit=[{"column": "role", "equals": "CEO"}]), r"fit\.criteria\[0\]: missing `points`")
    _error(_config(fit=[{"column": "role", "equals": "CEO", "points": "10"}]),
           r"fit\.criteria\[0\]\.points: expected a number of points.*text '10'")


def test_caps_must_sum_to_100():
    _error(_config(fit_cap=50, engagement_cap=40), r"^scoring\.leads: fit\.cap \+ engagement\.cap must add up to "
                                                   r"100, got 50 \+ 40 = 90")
    _error({"fit": {"criteria": []}, "engagement": {"cap": 50}}, r"scoring\.leads\.fit: missing `cap`")


def test_missing_group():
    _error({"fit": {"cap": 100, "criteria": []}}, r"scoring\.leads\.engagement: missing")


def test_empty_criteria_allowed():
    card = sc.scorecard_from_config({"fit": {"cap": 100, "criteria": []}, "engagement": {"cap": 0}})
    out = _score(card, _attributes(x=[1]))
    assert out[["total_score", "grade", "top_reasons"]].iloc[0].tolist() == [0.0, "C", ""]


def test_grades_must_decrease():
    _error(_config(grades={"A": 40, "B": 70}), r"scoring\.leads\.grades: thresholds must be strictly decreasing, "
                                               r"got A: 40, B: 70")
    _error(_config(grades={"A": 40, "B": 40}), r"strictly decreasing")
    _error(_config(grades={"A": 120}), r"scoring\.leads\.grades\.A: the threshold must be from 0 to 100")
    _error(_config(grades={"Hot": 70, "Warm": 40}), r"name the lowest grade with a null threshold")


def test_bad_decay():
    _error(_config(decay={"half_life_days": 0}), r"scoring\.leads\.decay\.half_life_days: must be positive")
    _error(_config(decay={"half_life_days": "60"}), r"decay\.half_life_days: expected a positive number")
    _error(_config(decay={"steps": [[30, 1.0], [20, 0.5]]}), r"decay\.steps\[1\]: ages must increase")
    _error(_config(decay={"steps": [[30, 1.5]]}), r"decay\.steps\[0\]: the weight must be from 0 to 1")
    _error(_config(decay={"steps": [30, 1.0]}), r"decay\.steps\[0\]: expected \[max_age_days, weight\]")
    _error(_config(decay={"half_life_days": 60, "steps": [[30, 1]]}), r"give one of half_life_days, steps")
    _error(_config(decay={"none": False}), r"decay\.none: write `none: true`")


def test_between_lo_must_be_below_hi():
    _error(_config(fit=[{"column": "employees", "between": [250, 50], "points": 1}]),
           r"fit\.criteria\[0\]\.between: lo must be below hi.*\[250, 50\]")
    _error(_config(fit=[{"column": "employees", "between": [50, 50], "points": 1}]), r"lo must be below hi")
    _error(_config(fit=[{"column": "employees", "between": [None, None], "points": 1}]), r"at least one end")
    _error(_config(fit=[{"column": "employees", "between": [50], "points": 1}]), r"expected \[lo, hi\]")


def test_event_rule_specific_errors():
    _error(_config(fit=[{"column": "x", "at_least": 1, "within_days": 30, "points": 1}]),
           r"fit\.criteria\[0\]: `within_days` is only for event rules")
    _error(_config(engagement=[{"event": "x", "at_least": 1, "within_days": 0, "points": 1}]),
           r"within_days: expected a positive whole number of days, got 0")
    _error(_config(engagement=[{"event": "x", "in": [1, 2], "points": 1}]),
           r"`in` does not apply to an event count")
    _error(_config(engagement=[{"event": "x", "points_each": 1, "at_least": 2}]),
           r"per-event rule \(points_each\) takes no condition")
    _error(_config(engagement=[{"event": "x", "points_each": 1, "max_points": -5}]),
           r"max_points: must be positive")


def test_duplicate_labels():
    _error(_config(fit=[{"column": "x", "at_least": 1, "points": 1}],
                   engagement=[{"column": "x", "at_least": 1, "points": 2}]),
           r"engagement\.criteria\[0\]: label 'x ≥ 1' is already used by scoring\.leads\.fit\.criteria\[0\]")


def test_unknown_column_at_score_time():
    card = _card(fit=[{"column": "employes", "at_least": 50, "points": 1}])
    with pytest.raises(ConfigError, match=r"fit\.criteria\[0\]: column 'employes' is not in the attributes "
                                          r"\(did you mean 'employees'\?\); available: employees, role"):
        _points(card, pd.DataFrame({"lead_id": ["a"], "employees": [3], "role": ["CEO"]}))


def test_numeric_rule_on_text_column():
    card = _card(fit=[{"column": "role", "at_least": 50, "points": 1}])
    with pytest.raises(ConfigError, match=r"fit\.criteria\[0\]: `at_least` needs a numeric column, but 'role'"
                                          r".*'CEO', 'intern'"):
        _points(card, _attributes(role=["CEO", "intern", None]))


def test_events_date_must_be_datetime():
    card = _card(engagement=[{"event": "meeting", "at_least": 1, "points": 1}])
    events = pd.DataFrame({"lead_id": ["L0"], "event": ["meeting"], "date": ["2024-01-01"]})
    with pytest.raises(ValueError, match=r"events\['date'\] must be datetime64"):
        _points(card, _attributes(x=[0]), events)


# --------------------------------------------------------------------------- property

@settings(max_examples=60, deadline=None)
@given(fit_cap=st.integers(0, 100),
       points=st.lists(st.floats(-80, 80, allow_nan=False).map(lambda p: round(p, 1)), min_size=4, max_size=4),
       values=st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 10)), st.integers(0, 10)),
                       min_size=1, max_size=25),
       event_days=st.lists(st.tuples(st.integers(0, 24), st.integers(-30, 400)), max_size=40))
def test_scores_stay_within_caps_and_grade_is_monotone(fit_cap, points, values, event_days):
    card = _card(fit=[{"column": "a", "at_least": 3, "points": points[0]},
                      {"column": "b", "between": [2, 8], "points": points[1]},
                      {"column": "a", "missing": True, "points": points[2]}],
                 engagement=[{"event": "visit", "points_each": points[3], "max_points": 60, "within_days": 200},
                             {"event": "any", "at_least": 1, "within_days": 30, "points": points[0]},
                             {"column": "days_since_last_event", "at_least": 100, "points": points[1]}],
                 fit_cap=fit_cap, engagement_cap=100 - fit_cap, decay={"half_life_days": 45})
    attributes = pd.DataFrame({"lead_id": [f"L{i}" for i in range(len(values))],
                               "a": pd.array([v[0] for v in values], dtype="Int64"),
                               "b": [float(v[1]) for v in values]})
    reference = pd.Timestamp(REF)
    events = pd.DataFrame({"lead_id": [f"L{i}" for i, _ in event_days], "event": "visit",
                           "date": [reference - pd.Timedelta(days=d) for _, d in event_days]})
    events["date"] = pd.to_datetime(events["date"])
    out = _score(card, attributes, events)
    assert out["fit_score"].between(0, fit_cap).all()
    assert out["engagement_score"].between(0, 100 - fit_cap).all()
    assert out["total_score"].between(0, 100).all()
    assert (out["total_score"] == (out["fit_score"] + out["engagement_score"]).round(1)).all()
    rank = out["grade"].cat.codes  # 0 = best grade
    ordered = out.assign(rank=rank).sort_values("total_score")
    assert ordered["rank"].is_monotonic_decreasing
    assert ((out["total_score"] >= 70) == (out["grade"] == "A")).all()


def test_reason_ties_keep_config_order_with_many_criteria():
    fit = [{"column": "x", "at_least": i, "points": 1, "label": f"r{i:02d}"} for i in range(40)]
    card = _card(fit=fit + [{"column": "x", "at_most": 100, "points": 2, "label": "big"}])
    out = _score(card, _attributes(x=[100]), n_reasons=41)
    assert out["top_reasons"].iloc[0] == "; ".join(["+2 big"] + [f"+1 r{i:02d}" for i in range(40)])
