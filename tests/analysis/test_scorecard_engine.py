"""Scorecards over events held by the engine: the same points as over a frame of the same events.

An engine table of events is grouped per entity where it lives (one row per entity comes back);
a frame is counted with numpy. Every rule that reads events (threshold counts, windows, per-event
points with each decay, the three pseudo-columns) must give the same points both ways, whatever
the events: unknown entities, missing dates, events after the reference date, times of day,
event types in other cases and with blanks, per-entity reference dates.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis import scorecard as sc
from portfolio_helpers.analysis import scoring
from portfolio_helpers.core.errors import ValueProblem

REF = pd.Timestamp("2024-06-01")
IDS = ["L0", "L1", "L2", "L3"]
KINDS = ["meeting", " Meeting ", "DOWNLOAD", "download", "email_open", None]


def _card(decay):
    engagement = [
        {"event": "meeting", "at_least": 1, "points": 20},
        {"event": "download", "at_least": 2, "within_days": 30, "points": 15},
        {"event": "email_open", "points_each": 2.5, "max_points": 10},
        {"event": "any", "points_each": 1},
        {"event": "any", "at_most": 0, "within_days": 90, "points": -10, "label": "no activity for 90 days"},
        {"column": "days_since_last_event", "at_least": 20, "points": -5},
        {"column": "days_since_first_event", "at_most": 200, "points": 3},
        {"column": "n_events", "between": [2, 6], "points": 4},
    ]
    config = {"fit": {"cap": 50, "criteria": [{"column": "size", "at_least": 10, "points": 30}]},
              "engagement": {"cap": 50, "criteria": engagement}}
    if decay is not None:
        config["decay"] = decay
    return sc.scorecard_from_config(config, "scoring.leads")


DECAYS = [None, {"half_life_days": 45}, {"steps": [[30, 1.0], [90, 0.5], [180, 0.25]]}]
ATTRIBUTES = pd.DataFrame({"lead_id": IDS, "size": [5, 20, 50, 1]})

events_strategy = st.lists(
    st.tuples(st.sampled_from(IDS + ["unknown"]), st.sampled_from(KINDS),
              st.one_of(st.none(), st.integers(-400, 30)), st.integers(0, 23)),
    max_size=40)


def _frame(rows) -> pd.DataFrame:
    dates = [pd.NaT if days is None else REF + pd.Timedelta(days=days, hours=hour) for _, _, days, hour in rows]
    return pd.DataFrame({"lead_id": pd.array([r[0] for r in rows], dtype="string"),
                         "event": pd.array([r[1] for r in rows], dtype="string"),
                         "date": pd.to_datetime(pd.Series(dates, dtype="datetime64[us]"))})


def _both(card, frame, reference_date=REF):
    on_frame = sc.criterion_points(card, ATTRIBUTES, frame, id_col="lead_id", reference_date=reference_date)
    on_engine = sc.criterion_points(card, ATTRIBUTES, ibis.memtable(frame), id_col="lead_id",
                                    reference_date=reference_date)
    return on_frame, on_engine


@pytest.mark.parametrize("decay", DECAYS, ids=["none", "half-life", "steps"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=events_strategy, per_entity=st.booleans())
def test_engine_events_give_the_frame_s_points(decay, rows, per_entity):
    card = _card(decay)
    reference = REF
    if per_entity:  # a reference date per lead (e.g. each contact scored as of its own day)
        reference = pd.Series(pd.to_datetime(["2024-06-01", "2024-05-01", "2024-06-20", "2023-12-31"]), index=IDS)
    on_frame, on_engine = _both(card, _frame(rows), reference)
    pd.testing.assert_frame_equal(on_engine, on_frame, check_exact=False, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("decay", [{"half_life_days": 30}, {"steps": [[30, 1.0], [90, 0.5]]}])
def test_every_engine_gives_the_frame_s_points(lines_as, decay):
    frame = _frame([("L0", "Meeting", -30, 9), ("L1", "download", -40, 0), ("L1", " DOWNLOAD", 0, 23),
                    ("L2", "email_open", -100, 0), ("L2", "email_open", 3, 0), ("unknown", "meeting", -1, 0),
                    ("L3", "meeting", None, 0)])
    card = _card(decay)
    for reference in (REF, pd.Series(pd.to_datetime(["2024-06-01", "2024-05-01", "2024-09-01", "2024-06-01"]),
                                     index=IDS)):
        expected = sc.criterion_points(card, ATTRIBUTES, frame, id_col="lead_id", reference_date=reference)
        got = sc.criterion_points(card, ATTRIBUTES, lines_as(frame), id_col="lead_id", reference_date=reference)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=1e-12)


def test_by_hand(lines_as):
    card = _card({"half_life_days": 30})
    frame = _frame([("L0", "Meeting", -30, 9), ("L0", "email_open", 0, 23), ("L0", "email_open", -30, 0),
                    ("L0", "download", 1, 0),  # the next day: ignored entirely
                    ("L1", "download", -10, 0), ("L1", "download", -31, 0), ("unknown", "meeting", -1, 0),
                    ("L2", "meeting", None, 0)])
    points = sc.criterion_points(card, ATTRIBUTES, lines_as(frame), id_col="lead_id", reference_date=REF)
    # L0: a meeting 30 days old; e-mail opens 2.5 x (1 + 0.5) = 3.75; any event: 0.5 + 1 + 0.5 = 2; last event
    # 0 days ago (no -5), first 30 days ago (<= 200: +3); 3 events (in [2, 6): +4)
    assert points.loc["L0"].tolist() == [0.0, 20.0, 0.0, 3.75, 2.0, 0.0, 0.0, 3.0, 4.0]
    # L1 (size 20): one download within 30 days, the other 31 days old (no 15 points); its last event
    # 10 days ago (no -5); 2 events
    assert points.loc["L1"].tolist() == pytest.approx([30.0, 0.0, 0.0, 0.0, 0.5 ** (10 / 30) + 0.5 ** (31 / 30), 0.0,
                                                       0.0, 3.0, 4.0], rel=1e-12)
    # L2 (its only event has no date) and L3: no event, no activity for 90 days
    assert points.loc["L2"].tolist() == [30.0, 0.0, 0.0, 0.0, 0.0, -10.0, 0.0, 0.0, 0.0]
    assert points.loc["L3"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, -10.0, 0.0, 0.0, 0.0]


def test_engine_events_from_a_parquet_file(tmp_path):
    frame = _frame([("L0", "meeting", -3, 0), ("L1", "download", -2, 0), ("L1", "download", -40, 0)])
    frame.to_parquet(tmp_path / "events.parquet")
    table = ibis.duckdb.connect().read_parquet(tmp_path / "events.parquet")
    card = _card({"steps": [[30, 1.0], [90, 0.5]]})
    expected = sc.score(card, ATTRIBUTES, frame, id_col="lead_id", reference_date=REF)
    pd.testing.assert_frame_equal(sc.score(card, ATTRIBUTES, table, id_col="lead_id", reference_date=REF), expected)


def test_engine_events_need_dates():
    table = ibis.memtable(pd.DataFrame({"lead_id": ["L0"], "event": ["meeting"], "date": ["2024-05-01"]}))
    with pytest.raises(ValueProblem, match="events\\['date'\\] must be a date or a timestamp, got string"):
        sc.score(_card(None), ATTRIBUTES, table, id_col="lead_id", reference_date=REF)


def test_customer_order_events_counted_in_the_engine(tmp_path):
    """The order events of an engine table stay an expression: counted per customer where the lines are,
    they are the events of the same lines held in pandas."""
    lines = pd.DataFrame({
        "customer_id": pd.array(["a", "a", "a", "b", "b", "c"], dtype="string"),
        "order_id": pd.array(["1", "1", "2", "3", "4", None], dtype="string"),
        "date": pd.to_datetime(["2025-01-10", "2025-01-10", "2025-11-01", "2025-06-01", "2025-12-01", "2025-12-30"]),
        "amount": [10.0, 5.0, 7.0, 20.0, -20.0, 3.0],
        "status": pd.array(["completed", "completed", "completed", "completed", "returned", "cancelled"],
                           dtype="string")})
    lines.to_parquet(tmp_path / "lines.parquet")
    table = ibis.duckdb.connect().read_parquet(tmp_path / "lines.parquet")
    expr = scoring._order_events_expr(table, pd.Timestamp("2025-12-31"))
    counted = expr.group_by("customer_id").aggregate(n=expr.count()).to_pandas().set_index("customer_id")["n"]
    frame = scoring.order_events(lines, "2025-12-31")
    assert counted.sort_index().to_dict() == frame.groupby("customer_id").size().to_dict() == {"a": 2, "b": 1}
    assert scoring.order_events(table, "2025-12-31").equals(frame)


def test_numeric_ids_match_as_numbers():
    """Float ids in the attributes and integer ids in the events are the same entities, as in pandas."""
    card = _card(None)
    attributes = pd.DataFrame({"lead_id": [1.0, 2.0], "size": [5, 20]})
    events = pd.DataFrame({"lead_id": pd.array([1, 1, 2], dtype="int64"), "event": ["meeting", "email_open", "x"],
                           "date": pd.to_datetime(["2024-05-01", "2024-05-20", "2024-05-30"])})
    expected = sc.criterion_points(card, attributes, events, id_col="lead_id", reference_date=REF)
    got = sc.criterion_points(card, attributes, ibis.memtable(events), id_col="lead_id", reference_date=REF)
    pd.testing.assert_frame_equal(got, expected)
    assert got.loc[1.0].filter(like="meeting").item() == 20
