"""Customer features, checked column by column on a hand-made portfolio, and the lifetimes summary on CDNOW."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis.features import (
    FEATURE_DEFINITIONS,
    _add_per_customer,
    customer_features,
    lifetimes_summary,
)
from portfolio_helpers.ingest.loaders import load_portfolio

CDNOW = Path(__file__).resolve().parents[2] / "data" / "cdnow" / "portfolio.yml"
AS_OF = pd.Timestamp("2025-12-31")


def _tables():
    transactions = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "b", "b", "c"],
        "order_id": ["o1", "o1", "o2", None, "o3", "o4", "o5", "o6"],
        "date": pd.to_datetime(["2025-12-01 10:00", "2025-12-01 11:00", "2024-06-15", "2024-06-15",
                                "2025-06-01", "2023-12-31", "2026-01-05", "2025-03-01"], format="ISO8601"),
        "amount": [100.0, 50.0, 200.0, -80.0, 999.0, 40.0, 500.0, 70.0],
        "cost": [60.0, 20.0, 150.0, np.nan, 500.0, 10.0, 100.0, 30.0],
        "discount": [10.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0],
        "category": ["hardware", "software", "hardware", "hardware", "hardware", "software", "hardware",
                     "hardware"],
        "status": ["completed", "completed", "returned", "completed", "cancelled", "completed", "completed",
                   "cancelled"],
    }).astype({"customer_id": "string", "order_id": "string", "category": "string", "status": "string"})
    payments = pd.DataFrame({
        "customer_id": pd.array(["a", "a", "a"], dtype="string"),
        "due_date": pd.to_datetime(["2025-01-10", "2025-02-01", "2025-03-01"]),
        "paid_date": pd.to_datetime(["2025-01-20", "2025-01-30", None]),
        "amount": [100.0, 50.0, 10.0],
    })
    tickets = pd.DataFrame({"customer_id": pd.array(["a", "a", "b"], dtype="string"),
                            "date": pd.to_datetime(["2025-02-01", "2025-03-01", "2026-02-01"]),
                            "minutes": [30.0, 15.0, 60.0]})
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c"], "customer_type": ["B2B", "B2C", "B2B"],
        "industry": ["Retail", None, "Energy"], "employees": pd.array([12, None, 300], dtype="Int64"),
        "country_code": ["FR", "DE", "IT"], "country": ["France", "Germany", "Italy"],
        "birth_year": pd.array([None, 1990, None], dtype="Int64"), "income_band": [None, "high", None],
    }).astype({col: "string" for col in ("customer_id", "customer_type", "industry", "country_code", "country",
                                         "income_band")})
    return {"transactions": transactions, "payments": payments, "tickets": tickets, "customers": customers}


def test_features_by_hand():
    f = customer_features(**_tables(), as_of=AS_OF).set_index("customer_id")
    assert list(f.index) == ["a", "b"]  # c has only a cancelled line
    a, b = f.loc["a"], f.loc["b"]
    # a: revenue lines 100, 50 (order o1, 2025-12-01), 200 (o2), -80 (no order id), both 2024-06-15.
    assert a["first_purchase"] == pd.Timestamp("2024-06-15")
    assert a["last_purchase"] == pd.Timestamp("2025-12-01 11:00")
    assert a["recency_days"] == 30
    assert a["frequency"] == 3
    assert a["monetary"] == pytest.approx(270.0)
    assert a["n_purchase_days"] == 2
    assert a["tenure_days"] == 564
    assert a["orders_per_year"] == pytest.approx(3 / (564 / 365.25))
    assert a["avg_order_value"] == pytest.approx(90.0)
    assert a["revenue_last"] == pytest.approx(150.0)
    assert a["revenue_previous"] == pytest.approx(120.0)
    assert a["revenue_trend"] == pytest.approx(30 / 120)
    assert a["discount_share"] == pytest.approx(100 / 270)
    assert a["return_rate"] == pytest.approx(2 / 5)  # returned + cancelled over all 5 lines
    assert a["days_late"] == pytest.approx((10 - 2) / 2)  # the unpaid invoice is not in the mean
    assert a["service_minutes_per_1000"] == pytest.approx(45 / 270 * 1000)
    # cost of goods: known costs 60 + 20 + 150, the credit note without cost at the default rate 60%: -48
    assert a["gross_margin"] == pytest.approx(270 - (60 + 20 + 150 - 0.6 * 80))  # 88
    assert a["margin_rate"] == pytest.approx(88 / 270)
    assert a["share_hardware"] == pytest.approx(300 / 350)
    assert a["share_software"] == pytest.approx(50 / 350)
    assert (a["customer_type"], a["industry"], a["size_band"], a["country"]) == ("B2B", "Retail", "10-49", "FR")
    assert pd.isna(a["age_band"]) and pd.isna(a["income_band"])
    # b: one line on 2023-12-31; its 2026 line (after as_of) and 2026 ticket are ignored.
    assert b["first_purchase"] == b["last_purchase"] == pd.Timestamp("2023-12-31")
    assert (b["recency_days"], b["tenure_days"], b["frequency"], b["n_purchase_days"]) == (731, 731, 1, 1)
    assert b["monetary"] == b["avg_order_value"] == pytest.approx(40.0)
    assert b["orders_per_year"] == pytest.approx(1 / (731 / 365.25))
    assert (b["revenue_last"], b["revenue_previous"], b["revenue_trend"]) == (0.0, 0.0, 0.0)
    assert (b["discount_share"], b["return_rate"], b["service_minutes_per_1000"]) == (1, 0, 0)
    assert pd.isna(b["days_late"])  # no paid invoice: no delay to report (as in the P&L)
    assert (b["gross_margin"], b["margin_rate"]) == pytest.approx((30.0, 0.75))
    assert (b["share_hardware"], b["share_software"]) == (0.0, 1.0)
    assert (b["customer_type"], b["country"], b["age_band"], b["income_band"]) == ("B2C", "DE", "30-44", "high")
    assert pd.isna(b["industry"]) and pd.isna(b["size_band"])
    assert "profit" not in f.columns
    assert not f.drop(columns=["industry", "size_band", "age_band", "income_band", "days_late"]).isna().any().any()


def test_feature_columns_and_definitions():
    f = customer_features(**_tables(), as_of=AS_OF)
    expected = ["customer_id", "first_purchase", "last_purchase", "recency_days", "frequency", "monetary",
                "n_purchase_days", "tenure_days", "orders_per_year", "avg_order_value", "revenue_last",
                "revenue_previous", "revenue_trend", "discount_share", "return_rate", "days_late",
                "service_minutes_per_1000", "gross_margin", "margin_rate", "share_hardware", "share_software",
                "customer_type", "industry", "size_band", "country", "age_band", "income_band"]
    assert list(f.columns) == expected
    defined = {col if not col.startswith("share_") else "share_<category>" for col in f.columns}
    assert defined <= set(FEATURE_DEFINITIONS)
    shares = f.filter(regex="^share_")
    assert shares.sum(axis=1).to_numpy() == pytest.approx(1.0)


def test_features_without_optional_data():
    tx = _tables()["transactions"][["customer_id", "date", "amount"]]
    f = customer_features(tx, AS_OF).set_index("customer_id")
    assert list(f.index) == ["a", "b", "c"]  # no status column: every line counts
    assert f.loc["a", "frequency"] == 5  # no order id: each line is an order
    for col in ("discount_share", "return_rate", "service_minutes_per_1000"):
        assert (f[col] == 0).all()
    assert f["days_late"].isna().all()  # no payments table: unknown, not 0
    assert not {"gross_margin", "margin_rate", "profit", "customer_type"} & set(f.columns)
    assert not any(col.startswith("share_") and col != "discount_share" for col in f.columns)


def test_profit_from_pnl_and_period_length():
    pnl = pd.DataFrame({"customer_id": pd.array(["a", "b"], dtype="string"), "profit": [50.0, -5.0],
                        "profit_margin": [50 / 270, -5 / 40]})
    f = customer_features(**_tables(), as_of=AS_OF, period_months=6, pnl=pnl).set_index("customer_id")
    assert f.loc["b", "profit"] == -5.0 and f.loc["a", "profit_margin"] == pytest.approx(50 / 270)
    # 6-month periods: last = (2025-06-30, 2025-12-31], previous = (2024-12-31, 2025-06-30].
    assert (f.loc["a", "revenue_last"], f.loc["a", "revenue_previous"]) == (150.0, 0.0)
    assert f.loc["a", "revenue_trend"] == 150.0


# --------------------------------------------------------------------------- lifetimes

def test_lifetimes_summary_by_hand():
    tx = _tables()["transactions"]
    s = lifetimes_summary(tx, AS_OF, "D").set_index("customer_id")
    # a: purchase days 2024-06-15 (200 - 80) and 2025-12-01 (100 + 50); the cancelled line is left out.
    assert s.loc["a"].to_dict() == {"frequency": 1, "recency": 534.0, "T": 564.0, "monetary_value": 150.0}
    assert s.loc["b"].to_dict() == {"frequency": 0, "recency": 0.0, "T": 731.0, "monetary_value": 0.0}
    weeks = lifetimes_summary(tx, AS_OF, "W").set_index("customer_id")
    assert weeks.loc["a", "T"] == pytest.approx(564 / 7)
    months = lifetimes_summary(tx, AS_OF, "M").set_index("customer_id")
    assert months.loc["a", "recency"] == pytest.approx(534 / (365.25 / 12))
    with pytest.raises(ValueError, match="time_unit"):
        lifetimes_summary(tx, AS_OF, "Y")


@pytest.fixture(scope="module")
def cdnow_sample():
    portfolio = load_portfolio(CDNOW)
    sample_ids = pd.read_csv(CDNOW.parent / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype=str)[0].unique()
    tx = portfolio.transactions
    return tx[tx["customer_id"].isin(sample_ids)]


def test_lifetimes_summary_cdnow_published(cdnow_sample):
    s = lifetimes_summary(cdnow_sample, "1997-09-30", "W").set_index("customer_id")
    assert len(s) == 2_357
    assert (s["frequency"] > 0).sum() == 946  # Fader, Hardie & Lee (2005)
    # Customer 00004 (first row of the published cdnow_customers file: x=2, t_x=30.43, T=38.86):
    # 1997-01-01 $29.33, 1997-01-18 $29.73, 1997-08-02 $14.96.
    assert s.loc["00004", "frequency"] == 2
    assert s.loc["00004", "recency"] == pytest.approx(213 / 7)
    assert s.loc["00004", "T"] == pytest.approx(272 / 7)
    assert round(s.loc["00004", "recency"], 2) == 30.43 and round(s.loc["00004", "T"], 2) == 38.86
    assert s.loc["00004", "monetary_value"] == pytest.approx((29.73 + 14.96) / 2)
    # 00018: one purchase on 1997-01-04. 00021: 1997-01-01 $63.34, 1997-01-13 $11.77.
    assert s.loc["00018"].to_dict() == pytest.approx({"frequency": 0, "recency": 0, "T": 269 / 7,
                                                      "monetary_value": 0})
    assert s.loc["00021"].to_dict() == pytest.approx({"frequency": 1, "recency": 12 / 7, "T": 272 / 7,
                                                      "monetary_value": 11.77})


def test_lifetimes_summary_merges_same_day_purchases():
    tx = load_portfolio(CDNOW).transactions
    s = lifetimes_summary(tx[tx["customer_id"] == "00002"], "1997-09-30", "D")
    # 00002 bought twice on 1997-01-12 ($12 + $77): one purchase day, no repeat.
    assert s.to_dict("records") == [{"customer_id": "00002", "frequency": 0, "recency": 0.0, "T": 261.0,
                                     "monetary_value": 0.0}]


# --------------------------------------------------------------------------- per-customer columns without a join

_COLUMNS = {"float": st.floats(allow_nan=True, allow_infinity=False), "int": st.integers(-5, 5),
            "Int64": st.one_of(st.none(), st.integers(-5, 5)), "string": st.one_of(st.none(), st.text("xy<", max_size=3)),
            "bool": st.booleans()}


@settings(max_examples=80, deadline=None)
@given(ids=st.lists(st.sampled_from("abcdefg"), unique=True, max_size=6),
       keys=st.lists(st.sampled_from("abcdefgh"), max_size=8), data=st.data())
def test_per_customer_columns_are_a_left_join(ids, keys, data):
    """_add_per_customer (profit and attributes of the features, column by column) gives what a left join on
    customer_id gives: the first row of a duplicated id, missing values (and the join's dtypes) where a customer
    has no row, for any overlap of the two sets of ids and any column types."""
    kinds = data.draw(st.lists(st.sampled_from(sorted(_COLUMNS)), min_size=1, max_size=4))
    per = pd.DataFrame({"customer_id": pd.array(keys, dtype="string")})
    for i, kind in enumerate(kinds):
        values = data.draw(st.lists(_COLUMNS[kind], min_size=len(keys), max_size=len(keys)))
        dtype = {"float": "float64", "int": "int64", "bool": "bool"}.get(kind, kind)
        per[f"c{i}_{kind}"] = pd.Series(values, dtype=dtype) if values else pd.Series([], dtype=dtype)
    ids = pd.Index(pd.array(ids, dtype="string"), name="customer_id")
    out = pd.DataFrame({"customer_id": ids.array, "x": np.arange(len(ids), dtype=float)})
    expected = out.join(per.drop_duplicates("customer_id").set_index("customer_id"), on="customer_id")
    _add_per_customer(out, per, ids)
    pd.testing.assert_frame_equal(out, expected)
