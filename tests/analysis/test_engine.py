"""Ibis/DuckDB aggregations, checked by hand on small frames and against pandas on a large random one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis import engine
from portfolio_helpers.analysis.engine import (
    connect,
    customer_summary,
    revenue_by_attribute,
    revenue_by_period,
)

TS = pd.Timestamp


def strings(values) -> pd.Series:
    return pd.Series(values, dtype="string")


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": strings(["a", "a", "b", "a", "c", "b"]),
        "date": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 15:00", "2024-03-15 00:00", "2024-03-02 00:00",
                                "2024-03-31 00:00", "2024-03-20 00:00"]),
        "amount": [100.0, -20.0, 50.0, 30.0, 0.0, 25.0],
        "order_id": strings(["o1", "o1", "o2", "o3", "o4", "o2"]),
    })


# --------------------------------------------------------------------------- customer_summary


def test_customer_summary_by_hand(small):
    result = customer_summary(small)
    assert list(result.columns) == ["customer_id", "first_purchase", "last_purchase", "n_orders", "n_lines",
                                    "n_purchase_days", "revenue", "gross_sales", "credit_notes", "n_deliveries",
                                    "avg_order_value"]
    assert result["customer_id"].tolist() == ["a", "b", "c"]
    assert isinstance(result["customer_id"].dtype, pd.StringDtype)
    assert result["first_purchase"].tolist() == [TS("2024-01-01 10:00"), TS("2024-03-15"), TS("2024-03-31")]
    assert result["last_purchase"].tolist() == [TS("2024-03-02"), TS("2024-03-20"), TS("2024-03-31")]
    assert result["n_orders"].tolist() == [2, 1, 1]
    assert result["n_lines"].tolist() == [3, 2, 1]
    assert result["n_purchase_days"].tolist() == [2, 2, 1]
    assert result["revenue"].tolist() == [110.0, 75.0, 0.0]
    assert result["gross_sales"].tolist() == [130.0, 75.0, 0.0]
    assert result["credit_notes"].tolist() == [-20.0, 0.0, 0.0]
    assert result["n_deliveries"].tolist() == [2, 1, 0]  # o1 nets 80, o3 30; o2 75; o4 nets 0: not a delivery
    assert result["avg_order_value"].tolist() == [55.0, 75.0, 0.0]  # revenue / n_orders
    for col in ("n_orders", "n_lines", "n_purchase_days", "n_deliveries"):
        assert result[col].dtype == "int64"
    assert result.index.tolist() == [0, 1, 2]


@pytest.mark.parametrize("columns", [["revenue"], ["avg_order_value", "n_lines"], "n_deliveries", []])
@pytest.mark.parametrize("as_of", [None, "2024-12-31"])
def test_customer_summary_columns_are_the_full_summary_s(small, columns, as_of):
    full = customer_summary(small, as_of=as_of)
    some = customer_summary(small, as_of=as_of, columns=columns)
    asked = [columns] if isinstance(columns, str) else columns
    needed = {"customer_id", *asked} | ({"first_purchase", "last_purchase", "n_orders"} if as_of else set())
    expected = [col for col in full.columns if col in needed or col in ("recency_days", "tenure_days",
                                                                          "orders_per_year") and as_of]
    assert list(some.columns) == expected
    pd.testing.assert_frame_equal(some, full[expected])


def test_customer_summary_unknown_column(small):
    with pytest.raises(ValueError, match="columns must be one of .*'revenu'.*did you mean 'revenue'"):
        customer_summary(small, columns=["revenu"])


def test_customer_summary_docstring_example():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
                       "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
                       "amount": [100.0, -20.0, 50.0], "order_id": ["o1", "o2", "o3"]})
    assert customer_summary(tx)[["customer_id", "n_orders", "revenue"]].to_dict("records") == [
        {"customer_id": "a", "n_orders": 2, "revenue": 80.0}, {"customer_id": "b", "n_orders": 1, "revenue": 50.0}]


def test_without_order_column_each_line_is_an_order(small):
    without = customer_summary(small.drop(columns="order_id"))
    assert without["n_orders"].tolist() == [3, 2, 1]
    assert without["n_orders"].tolist() == without["n_lines"].tolist()
    assert customer_summary(small, order_col=None)["n_orders"].tolist() == [3, 2, 1]
    assert customer_summary(small, order_col="not_there")["n_orders"].tolist() == [3, 2, 1]
    periods = revenue_by_period(small.drop(columns="order_id"))
    assert periods["n_orders"].tolist() == [2, 0, 4]


def test_lines_without_order_id_count_as_their_own_orders(small):
    small["order_id"] = strings(["o1", None, "o2", "o1", None, None])
    result = customer_summary(small)
    # a: o1, o1 and one line without id -> 2; b: o2 and a line without id -> 2; c: one line without id -> 1
    assert result["n_orders"].tolist() == [2, 2, 1]


def test_customer_summary_custom_column_names(small):
    renamed = small.rename(columns={"customer_id": "client", "date": "day", "amount": "net", "order_id": "invoice"})
    result = customer_summary(renamed, customer_col="client", date_col="day", amount_col="net", order_col="invoice")
    pd.testing.assert_frame_equal(result, customer_summary(small))


def test_customer_summary_missing_column(small):
    with pytest.raises(KeyError, match="amount"):
        customer_summary(small.drop(columns="amount"))


def test_customer_summary_accepts_object_and_numeric_ids(small):
    expected = customer_summary(small)
    as_object = customer_summary(small.assign(customer_id=small["customer_id"].astype(object)))
    pd.testing.assert_frame_equal(as_object, expected)
    numeric = customer_summary(small.assign(customer_id=small["customer_id"].map({"a": 1, "b": 2, "c": 3})))
    assert numeric["customer_id"].tolist() == ["1", "2", "3"]
    assert numeric["revenue"].tolist() == [110.0, 75.0, 0.0]


def test_engine_is_shared_and_can_be_passed(small):
    con = connect()
    assert connect() is con
    pd.testing.assert_frame_equal(customer_summary(small, con=con), customer_summary(small))


# --------------------------------------------------------------------------- revenue_by_period


def test_revenue_by_month_fills_the_gap_month(small):
    result = revenue_by_period(small, freq="month")
    assert list(result.columns) == ["period", "revenue", "n_orders", "n_customers"]
    assert result["period"].tolist() == [TS("2024-01-01"), TS("2024-02-01"), TS("2024-03-01")]
    assert result["revenue"].tolist() == [80.0, 0.0, 105.0]
    assert result["n_orders"].tolist() == [1, 0, 3]
    assert result["n_customers"].tolist() == [1, 0, 3]
    assert result["n_orders"].dtype == "int64" and result["n_customers"].dtype == "int64"


def test_revenue_by_quarter_and_year(small):
    extra = pd.DataFrame({"customer_id": strings(["d"]), "date": pd.to_datetime(["2024-11-05"]),
                          "amount": [7.0], "order_id": strings(["o9"])})
    frame = pd.concat([small, extra], ignore_index=True)
    quarters = revenue_by_period(frame, freq="quarter")
    assert quarters["period"].tolist() == [TS("2024-01-01"), TS("2024-04-01"), TS("2024-07-01"), TS("2024-10-01")]
    assert quarters["revenue"].tolist() == [185.0, 0.0, 0.0, 7.0]
    assert quarters["n_orders"].tolist() == [4, 0, 0, 1]
    assert quarters["n_customers"].tolist() == [3, 0, 0, 1]
    extra2 = extra.assign(date=pd.to_datetime(["2026-06-30"]))
    years = revenue_by_period(pd.concat([small, extra2], ignore_index=True), freq="year")
    assert years["period"].tolist() == [TS("2024-01-01"), TS("2025-01-01"), TS("2026-01-01")]
    assert years["revenue"].tolist() == [185.0, 0.0, 7.0]
    assert years["n_customers"].tolist() == [3, 0, 1]


def test_revenue_by_week_and_day(small):
    weeks = revenue_by_period(small, freq="week")
    assert weeks["period"].iloc[0] == TS("2024-01-01")  # a Monday
    assert (weeks["period"].dt.day_of_week == 0).all()
    assert weeks["period"].diff().dropna().eq(pd.Timedelta(days=7)).all()
    assert weeks["revenue"].sum() == pytest.approx(185.0)
    assert weeks.loc[weeks["period"] == TS("2024-03-11"), "revenue"].tolist() == [50.0]  # 15 March
    assert weeks.loc[weeks["period"] == TS("2024-03-18"), "revenue"].tolist() == [25.0]  # 20 March
    days = revenue_by_period(small, freq="day")
    assert len(days) == (TS("2024-03-31") - TS("2024-01-01")).days + 1
    assert days.loc[days["period"] == TS("2024-01-01"), "revenue"].tolist() == [80.0]
    assert days["revenue"].sum() == pytest.approx(185.0)


@pytest.mark.parametrize("freq", ["M", "monthly", "hour", ""])
def test_revenue_by_period_invalid_freq(small, freq):
    with pytest.raises(ValueError, match="freq must be one of day, week, month, quarter, year"):
        revenue_by_period(small, freq=freq)


def test_revenue_by_period_empty_frame(small):
    result = revenue_by_period(small.iloc[:0])
    assert result.empty
    assert list(result.columns) == ["period", "revenue", "n_orders", "n_customers"]


# --------------------------------------------------------------------------- revenue_by_attribute


def test_revenue_by_attribute_by_hand(small):
    customers = pd.DataFrame({"customer_id": strings(["a", "b", "z", "a"]),
                              "country": strings(["FR", None, "DE", "XX"])})
    result = revenue_by_attribute(small, customers, "country")
    assert list(result.columns) == ["country", "revenue", "n_customers", "revenue_share"]
    # a -> FR (first record wins); b has no country and c is not a known customer: "(unknown)"
    assert result["country"].tolist() == ["FR", "(unknown)"]
    assert result["revenue"].tolist() == [110.0, 75.0]
    assert result["n_customers"].tolist() == [1, 2]
    assert result["revenue_share"].tolist() == pytest.approx([110 / 185, 75 / 185])
    assert result["revenue_share"].sum() == pytest.approx(1.0)
    assert isinstance(result["country"].dtype, pd.StringDtype)


def test_revenue_by_attribute_numeric_attribute_and_ties(small):
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "employees": [10, 20, 30]})
    result = revenue_by_attribute(small, customers, "employees")
    assert result["employees"].tolist() == ["10", "20", "30"]
    assert result["revenue"].tolist() == [110.0, 75.0, 0.0]
    tie = revenue_by_attribute(small.assign(amount=1.0), customers.assign(employees=["x", "y", "w"]), "employees")
    assert tie["employees"].tolist() == ["x", "y", "w"]  # by revenue, then by value
    assert tie["revenue"].tolist() == [3.0, 2.0, 1.0]


def test_revenue_by_attribute_zero_total(small):
    customers = pd.DataFrame({"customer_id": ["a"], "country": ["FR"]})
    result = revenue_by_attribute(small.assign(amount=0.0), customers, "country")
    assert result["revenue_share"].isna().all()


# --------------------------------------------------------------------------- against pandas, 10k rows


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(20240115)
    n = 10_000
    customers = np.array([f"C{i:04d}" for i in range(800)])
    ids = rng.choice(customers, size=n)
    # a calendar with holes: nothing at all in some months
    days = pd.date_range("2021-01-01", "2024-12-31", freq="D")
    days = days[~days.month.isin([2, 8]) | (days.year != 2022)]
    dates = rng.choice(days.to_numpy(), size=n) + rng.integers(0, 86_400, size=n).astype("timedelta64[s]")
    amounts = np.round(rng.normal(80, 120, size=n), 2)
    orders = rng.integers(0, 4_000, size=n).astype(str)
    orders = np.where(rng.random(n) < 0.05, None, np.char.add("O", orders))
    tx = pd.DataFrame({"customer_id": pd.array(ids, dtype="string"), "date": pd.to_datetime(dates),
                       "amount": amounts, "order_id": pd.array(orders, dtype="string")})
    known = rng.choice(customers, size=600, replace=False)
    countries = rng.choice(np.array(["FR", "DE", "ES", "IT", None], dtype=object), size=len(known))
    cust = pd.DataFrame({"customer_id": pd.array(known, dtype="string"),
                         "country": pd.array(countries, dtype="string")})
    return tx, cust


def _orders(frame: pd.DataFrame) -> int:
    return int(frame["order_id"].nunique() + frame["order_id"].isna().sum())


def test_customer_summary_matches_pandas(big):
    tx, _ = big
    result = customer_summary(tx)
    groups = tx.groupby("customer_id")
    expected = pd.DataFrame({
        "first_purchase": groups["date"].min(),
        "last_purchase": groups["date"].max(),
        "n_orders": groups.apply(_orders, include_groups=False),
        "n_lines": groups.size(),
        "n_purchase_days": groups["date"].apply(lambda s: s.dt.normalize().nunique()),
        "revenue": groups["amount"].sum(),
        "gross_sales": groups["amount"].apply(lambda s: s[s > 0].sum()),
        "credit_notes": groups["amount"].apply(lambda s: s[s < 0].sum()),
    }).sort_index()
    assert result["customer_id"].tolist() == expected.index.tolist()
    assert len(result) == tx["customer_id"].nunique()
    got = result.set_index("customer_id")
    for col in ("first_purchase", "last_purchase"):
        assert (got[col].to_numpy() == expected[col].to_numpy()).all(), col
    for col in ("n_orders", "n_lines", "n_purchase_days"):
        assert got[col].tolist() == expected[col].astype("int64").tolist(), col
    for col in ("revenue", "gross_sales", "credit_notes"):
        np.testing.assert_allclose(got[col].to_numpy(), expected[col].to_numpy(), rtol=1e-9, atol=1e-6)
    assert got["revenue"].sum() == pytest.approx(tx["amount"].sum())
    assert got["n_lines"].sum() == len(tx)


@pytest.mark.parametrize(("freq", "pandas_freq"), [("month", "MS"), ("quarter", "QS"), ("week", "W-MON"),
                                                   ("year", "YS")])
def test_revenue_by_period_matches_pandas(big, freq, pandas_freq):
    tx, _ = big
    result = revenue_by_period(tx, freq=freq)

    def period_of(dates: pd.Series) -> pd.Series:
        if freq == "week":
            return dates.dt.normalize() - pd.to_timedelta(dates.dt.day_of_week, unit="D")
        return dates.dt.to_period({"month": "M", "quarter": "Q", "year": "Y"}[freq]).dt.start_time

    period = period_of(tx["date"])
    groups = tx.groupby(period)
    # an order (a customer's lines sharing an order id; a line without one on its own) counts in the
    # period of its first line
    key = tx["order_id"].fillna(pd.Series([f"line {i}" for i in range(len(tx))], index=tx.index, dtype="string"))
    first_line = tx.groupby([tx["customer_id"], key])["date"].min()
    full = pd.date_range(period.min(), period.max(), freq=pandas_freq)
    expected = pd.DataFrame({
        "revenue": groups["amount"].sum(),
        "n_orders": period_of(first_line.reset_index(drop=True)).value_counts(),
        "n_customers": groups["customer_id"].nunique(),
    }).reindex(full, fill_value=0)
    assert result["period"].tolist() == full.tolist()
    np.testing.assert_allclose(result["revenue"].to_numpy(), expected["revenue"].to_numpy(), rtol=1e-9, atol=1e-6)
    assert result["n_orders"].tolist() == expected["n_orders"].tolist()
    assert result["n_customers"].tolist() == expected["n_customers"].tolist()
    assert result["revenue"].sum() == pytest.approx(tx["amount"].sum())
    if freq == "month":
        gaps = result.loc[result["period"].between(TS("2022-02-01"), TS("2022-02-28")) |
                          (result["period"] == TS("2022-08-01"))]
        assert len(gaps) == 2 and (gaps[["revenue", "n_orders", "n_customers"]] == 0).all().all()


def test_revenue_by_attribute_matches_pandas(big):
    tx, cust = big
    result = revenue_by_attribute(tx, cust, "country")
    joined = tx.merge(cust, on="customer_id", how="left")
    joined["country"] = joined["country"].fillna("(unknown)")
    groups = joined.groupby("country")
    expected = pd.DataFrame({"revenue": groups["amount"].sum(), "n_customers": groups["customer_id"].nunique()})
    got = result.set_index("country")
    assert sorted(got.index) == sorted(expected.index)
    assert "(unknown)" in got.index
    expected = expected.loc[got.index]
    np.testing.assert_allclose(got["revenue"].to_numpy(), expected["revenue"].to_numpy(), rtol=1e-9, atol=1e-6)
    assert got["n_customers"].tolist() == expected["n_customers"].tolist()
    assert got["revenue_share"].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(got["revenue_share"].to_numpy(), (expected["revenue"] / tx["amount"].sum()).to_numpy(),
                               rtol=1e-9)
    assert result["revenue"].is_monotonic_decreasing


def test_orders_on_the_same_day_without_order_id_keep_the_input_order():
    # 20,000 line-orders on one day: the engine aggregates in parallel, the result must not depend on it.
    n = 20_000
    tx = pd.DataFrame({"customer_id": ["a"] * n, "date": pd.Timestamp("2025-03-01"),
                       "amount": np.arange(n, 0, -1, dtype=float)})
    first = engine.orders(tx)
    assert first["amount"].tolist() == tx["amount"].tolist()
    for _ in range(3):
        pd.testing.assert_frame_equal(engine.orders(tx), first)
