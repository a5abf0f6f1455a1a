"""Pareto and concentration measures: reference values by hand, edge cases, and properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.analysis.pareto import (
    abc_classes,
    abc_migration,
    concentration_by,
    concentration_summary,
    concentration_values,
    customer_values,
    dimension_exposures,
    dimension_hhi,
    gini,
    hhi,
    hhi_level,
    last_two_years,
    lorenz_curve,
    major_customers,
    measures_by_period,
    negative_values_summary,
    pareto_table,
    share_of_customers_for,
    top_share,
)
from portfolio_helpers.reporting.pareto import dimension_risks

TS = pd.Timestamp
REFERENCE = [1, 2, 6, 7, 8]
HAND = [50, 30, 10, 5, 5]
approx = lambda value: pytest.approx(value, abs=1e-5)  # noqa: E731


def per_customer_frame(ids, values, **attributes) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype="string"), "revenue": values, **attributes})


# --------------------------------------------------------------------------- reference values


def test_lorenz_reference():
    curve = lorenz_curve([8, 6, 1, 7, 2])
    assert list(curve.columns) == ["customer_share", "value_share"]
    assert curve["customer_share"].tolist() == approx([0, 0.2, 0.4, 0.6, 0.8, 1])
    assert curve["value_share"].tolist() == approx([0, 0.04167, 0.125, 0.375, 0.66667, 1])


def test_gini_reference():
    assert gini(REFERENCE) == approx(0.31667)
    assert gini(REFERENCE, corrected=True) == approx(0.39583)
    assert gini([8, 7, 6, 2, 1]) == approx(0.31667)


def test_gini_independent_formula():
    """Sorted-rank formula against the mean absolute difference, Σ|xi − xj| / (2 n² mean)."""
    values = np.random.default_rng(3).lognormal(3, 1, 300)
    expected = np.abs(values[:, None] - values[None, :]).sum() / (2 * len(values) ** 2 * values.mean())
    assert gini(values) == pytest.approx(expected, rel=1e-9)


def test_gini_edge_cases():
    assert gini([42.0]) == 0.0
    assert gini([42.0], corrected=True) == 0.0
    assert math.isnan(gini([]))
    assert math.isnan(gini([0.0, 0.0]))
    assert math.isnan(gini([-3.0, 0.0]))  # nothing positive to share
    assert gini([5, 5, 5, 5]) == 0.0
    assert gini([0, 0, 0, 10]) == approx(0.75)  # (n - 1) / n
    assert gini([0, 0, 0, 10], corrected=True) == approx(1.0)


def test_hhi_reference():
    assert hhi([30, 30, 20, 20]) == approx(2600)
    assert hhi([0.3, 0.3, 0.2, 0.2]) == approx(2600)
    assert hhi(pd.Series([300.0, 300.0, 200.0, 200.0])) == approx(2600)
    assert hhi([7.0]) == approx(10_000)
    assert hhi([1.0] * 8) == approx(1250)
    assert math.isnan(hhi([])) and math.isnan(hhi([0, 0]))


def test_top_share_by_hand():
    assert top_share(HAND, share=0.2) == approx(0.5)
    assert top_share(HAND, share=0.4) == approx(0.8)
    assert top_share(HAND, share=1.0) == approx(1.0)
    assert top_share(HAND, share=0.01) == approx(0.5)  # at least one customer
    assert top_share([5, 5, 10, 30, 50], share=0.3) == approx(0.8)  # ⌈1.5⌉ = 2 customers


def test_top_share_float_guard():
    # 0.7 * 10 is 7.000000000000001 in floats: still 7 customers, not 8
    values = list(range(1, 11))
    assert top_share(values, share=0.7) == approx(sum(range(4, 11)) / 55)
    assert concentration_summary(values, top_share=0.7)["top_n"] == 7
    assert concentration_summary(HAND, top_share=0.2)["top_n"] == 1
    assert concentration_summary(list(range(1, 4)), top_share=0.1 * 3)["top_n"] == 1  # 0.30000000000000004 * 3


def test_share_of_customers_for_by_hand():
    assert share_of_customers_for(HAND, target=0.8) == approx(0.4)
    assert share_of_customers_for(HAND, target=0.5) == approx(0.2)
    assert share_of_customers_for(HAND, target=0.81) == approx(0.6)
    assert share_of_customers_for(HAND, target=1.0) == approx(1.0)
    # zero-value customers stay in the population: they dilute the share of customers
    assert share_of_customers_for(HAND + [0] * 5, target=0.8) == approx(0.2)
    assert math.isnan(share_of_customers_for([0, 0]))


def test_cumulative_shares_tolerate_float_rounding():
    # 0.6 / 0.75 is 0.7999999999999999 in floats, but it is 80%
    assert share_of_customers_for([0.15, 0.6], target=0.8) == 0.5
    assert abc_classes([0.6, 0.15]).tolist() == ["A", "B"]


# --------------------------------------------------------------------------- ABC


def test_abc_crossing_rule_by_hand():
    # shares held before each customer: 0, .5, .8, .9, .95 -> A, A, B, B, C
    assert abc_classes(HAND, a=0.8, b=0.95).tolist() == ["A", "A", "B", "B", "C"]
    # the customer crossing 80% is A: before it 50%, with it 85%
    assert abc_classes([50, 35, 10, 5]).tolist() == ["A", "A", "B", "C"]
    # the customer crossing 95% is B
    assert abc_classes([80, 10, 6, 4]).tolist() == ["A", "B", "B", "C"]


def test_abc_aligned_to_input_order_and_index():
    values = pd.Series([5, 30, 50, 5, 10], index=["d", "b", "a", "e", "c"])
    classes = abc_classes(values)
    assert classes.to_dict() == {"d": "B", "b": "A", "a": "A", "e": "C", "c": "B"}
    assert classes.name == "abc_class"
    assert isinstance(classes.dtype, pd.CategoricalDtype) and classes.dtype.ordered
    assert list(classes.cat.categories) == ["A", "B", "C"]
    assert classes["a"] < classes["c"] < classes["e"]
    assert abc_classes([1, 3], index=["x", "y"]).index.tolist() == ["x", "y"]
    with pytest.raises(ValueError, match="index has 1 labels for 2 values"):
        abc_classes([1, 3], index=["x"])


def test_abc_ties_keep_input_order():
    # 10, 10, 5, 5 ranked (positions 1, 2, 0, 3): before = 0, 1/3, 2/3, 5/6
    assert abc_classes([5, 10, 10, 5]).tolist() == ["A", "A", "A", "B"]
    # five equal customers: before = 0, .2, .4, .6, .8 -> the fifth one is B
    assert abc_classes([1] * 5).tolist() == ["A", "A", "A", "A", "B"]


def test_abc_negative_and_zero_are_c():
    classes = abc_classes([-100, 0, 60, 40, 0])
    assert classes.tolist() == ["C", "C", "A", "A", "C"]
    assert abc_classes([0, 0, -1]).tolist() == ["C", "C", "C"]
    assert abc_classes([]).tolist() == []
    # b = 1: every positive customer outside A is B
    assert abc_classes([70, 20, 9, 1, 0], b=1.0).tolist() == ["A", "A", "B", "B", "C"]


@pytest.mark.parametrize("a, b", [(0.95, 0.8), (0.8, 0.8), (0, 0.5), (0.5, 1.2), (float("nan"), 0.9)])
def test_abc_threshold_validation(a, b):
    with pytest.raises(ValueError, match="a|b"):
        abc_classes(HAND, a=a, b=b)


# --------------------------------------------------------------------------- policy: negative, zero, NaN, empty


def test_negative_values_are_clipped_never_dropped():
    values = [-40, 1, 2, 6, 7, 8, 0]
    assert concentration_values(values).tolist() == [0, 1, 2, 6, 7, 8, 0]
    assert negative_values_summary(values) == {"n_negative": 1, "negative_total": -40.0}
    assert gini(values) == approx(gini([0, 1, 2, 6, 7, 8, 0]))
    assert 0 <= gini([-1e9, 1, 0]) <= 1
    assert hhi(values) == approx(hhi([0, 1, 2, 6, 7, 8]))
    summary = concentration_summary(values)
    assert summary["n_customers"] == 7
    assert summary["total"] == approx(-16.0)  # the true net total
    assert summary["n_negative"] == 1 and summary["negative_total"] == -40.0
    assert summary["n_customers_C"] >= 2  # the negative and the zero customer


def test_zero_customers_stay_in_population():
    curve = lorenz_curve([0, 0, 10])
    assert curve["customer_share"].tolist() == approx([0, 1 / 3, 2 / 3, 1])
    assert curve["value_share"].tolist() == approx([0, 0, 0, 1])
    assert gini([0, 0, 10]) == approx(2 / 3)
    assert top_share([0, 0, 0, 0, 10], share=0.2) == 1.0


def test_empty_and_zero_total_give_nan():
    for values in ([], [0.0, 0.0], [-1.0, 0.0]):
        assert math.isnan(top_share(values))
        assert math.isnan(share_of_customers_for(values))
        assert math.isnan(hhi(values))
        assert major_customers(values).empty
        summary = concentration_summary(values)
        assert summary["n_customers"] == len(values)
        assert math.isnan(summary["gini"]) and math.isnan(summary["top_share"]) and math.isnan(summary["hhi"])
        assert summary["hhi_level"] == "n/a"
        assert summary["n_customers_A"] == summary["n_customers_B"] == 0
        assert summary["n_customers_C"] == len(values)
        assert math.isnan(summary["value_share_A"])
    assert lorenz_curve([]).to_dict("list") == {"customer_share": [0.0], "value_share": [0.0]}
    zero = lorenz_curve([0.0, 0.0])
    assert zero["value_share"].iloc[0] == 0 and zero["value_share"].iloc[1:].isna().all()


@pytest.mark.parametrize("function", [
    concentration_values, negative_values_summary, lorenz_curve, gini, top_share, share_of_customers_for,
    abc_classes, hhi, major_customers, concentration_summary,
])
def test_nan_is_refused_with_its_count(function):
    with pytest.raises(ValueError, match="2 missing"):
        function([1.0, np.nan, 3.0, np.nan])
    with pytest.raises(ValueError, match="1 missing"):
        function(pd.Series([1.0, None, 2.0], dtype="Float64"))


def test_object_column_of_numbers_is_accepted():
    assert gini(pd.Series([1, 2, 6, 7, 8], dtype=object)) == approx(0.31667)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="infinite"):
        gini([1.0, np.inf])
    with pytest.raises(ValueError, match="numeric"):
        gini(pd.Series(["a", "b"], dtype="string"))
    with pytest.raises(ValueError, match="1-D"):
        gini([[1, 2], [3, 4]])
    for top in (0, 1.5, -0.2, float("nan"), True, "0.2"):
        with pytest.raises(ValueError, match="share must be a share"):
            top_share(HAND, share=top)
    with pytest.raises(ValueError, match="target must be a share"):
        share_of_customers_for(HAND, target=0)


# --------------------------------------------------------------------------- HHI level, major customers


def test_hhi_level_boundaries():
    assert hhi_level(0) == "unconcentrated"
    assert hhi_level(1499.99) == "unconcentrated"
    assert hhi_level(1500) == "moderately concentrated"
    assert hhi_level(2500) == "moderately concentrated"
    assert hhi_level(2500.01) == "highly concentrated"
    assert hhi_level(10_000) == "highly concentrated"
    assert hhi_level(float("nan")) == "n/a"
    assert hhi_level(1900, thresholds=(1000, 1800)) == "highly concentrated"
    assert hhi_level(hhi([30, 30, 20, 20])) == "highly concentrated"
    with pytest.raises(ValueError, match="increasing"):
        hhi_level(1000, thresholds=(2500, 1500))
    with pytest.raises(ValueError, match="between 0 and 10,000"):
        hhi_level(-5)


def test_major_customers():
    majors = major_customers([50, 12, 30, 8], index=["a", "b", "c", "d"])
    assert majors.to_dict() == approx({"a": 0.5, "c": 0.3, "b": 0.12})
    assert majors.index.tolist() == ["a", "c", "b"]  # largest first
    assert majors.name == "share"
    assert major_customers([10, 90]).to_dict() == approx({1: 0.9, 0: 0.1})  # exactly 10% is included
    assert major_customers([1] * 20).empty
    values = pd.Series([-50.0, 40.0, 60.0], index=["neg", "x", "y"])
    assert major_customers(values, threshold=0.5).to_dict() == approx({"y": 0.6})
    with pytest.raises(ValueError, match="threshold"):
        major_customers(HAND, threshold=0)


# --------------------------------------------------------------------------- pareto_table


def test_pareto_table_by_hand():
    frame = per_customer_frame(["c1", "c2", "c3", "c4", "c5", "c6", "c7"],
                               [5.0, 30.0, -4.0, 50.0, 10.0, 0.0, 5.0])
    table = pareto_table(frame)
    assert list(table.columns) == ["customer_id", "revenue", "revenue_rank", "revenue_share",
                                   "cumulative_share", "abc_class"]
    # ties (c1 and c7 at 5.0) broken by customer id; zero before negative
    assert table["customer_id"].tolist() == ["c4", "c2", "c5", "c1", "c7", "c6", "c3"]
    assert table["revenue"].tolist() == [50.0, 30.0, 10.0, 5.0, 5.0, 0.0, -4.0]  # true values
    assert table["revenue_rank"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert table["revenue_share"].tolist() == approx([0.5, 0.3, 0.1, 0.05, 0.05, 0.0, 0.0])
    assert table["cumulative_share"].tolist() == approx([0.5, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0])
    assert table["cumulative_share"].iloc[-1] == 1.0
    assert table["abc_class"].tolist() == ["A", "A", "B", "B", "C", "C", "C"]
    assert isinstance(table["abc_class"].dtype, pd.CategoricalDtype)
    assert isinstance(table["customer_id"].dtype, pd.StringDtype)
    assert table.index.tolist() == list(range(7))


def test_pareto_table_ties_by_id_with_shuffled_numeric_ids():
    frame = pd.DataFrame({"customer_id": [9, 3, 7, 1, 5], "revenue": [10.0, 20.0, 10.0, 10.0, 20.0]})
    table = pareto_table(frame)
    assert table["customer_id"].tolist() == [3, 5, 1, 7, 9]
    assert table["customer_id"].dtype == np.int64
    # same classes as abc_classes on the frame sorted by id (ties in id order)
    by_id = frame.sort_values("customer_id")
    expected = abc_classes(by_id["revenue"], index=by_id["customer_id"])
    assert table.set_index("customer_id")["abc_class"].to_dict() == expected.to_dict()


def test_pareto_table_categorical_ids_tie_in_category_order():
    ids = pd.Categorical(["b", "c", "a", "d"])
    table = pareto_table(pd.DataFrame({"customer_id": ids, "revenue": [1.0, 2.0, 1.0, 2.0]}))
    assert table["customer_id"].tolist() == ["c", "d", "a", "b"]
    assert isinstance(table["customer_id"].dtype, pd.CategoricalDtype)
    with pytest.raises(ValueError, match="1 duplicated row .ids e.g. 'b'"):
        pareto_table(pd.DataFrame({"customer_id": pd.Categorical(["b", "c", "b"]), "revenue": [1.0, 2.0, 3.0]}))


def test_pareto_table_other_value_and_id_columns():
    frame = pd.DataFrame({"client": ["x", "y"], "profit": [1.0, 3.0], "other": [0, 0]})
    table = pareto_table(frame, value_col="profit", customer_col="client")
    assert list(table.columns) == ["client", "profit", "profit_rank", "profit_share", "cumulative_share",
                                   "abc_class"]
    assert table["client"].tolist() == ["y", "x"]


def test_pareto_table_edge_cases():
    empty = pareto_table(per_customer_frame([], np.array([], dtype=float)))
    assert empty.empty and list(empty.columns)[-1] == "abc_class"
    zero = pareto_table(per_customer_frame(["a", "b"], [0.0, -1.0]))
    assert zero["revenue_share"].isna().all() and zero["cumulative_share"].isna().all()
    assert zero["abc_class"].tolist() == ["C", "C"]
    with pytest.raises(ValueError, match="duplicated"):
        pareto_table(per_customer_frame(["a", "a", "b"], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="duplicated"):
        pareto_table(pd.DataFrame({"customer_id": [3, 1, 3], "revenue": [1.0, 2.0, 3.0]}))
    with pytest.raises(ValueError, match="1 missing id"):
        pareto_table(per_customer_frame(["a", None], [1.0, 2.0]))
    with pytest.raises(ValueError, match="1 missing"):
        pareto_table(per_customer_frame(["a", "b"], [1.0, np.nan]))
    with pytest.raises(ValueError, match="per-customer table has no revenue column"):
        pareto_table(pd.DataFrame({"customer_id": ["a"]}))


# --------------------------------------------------------------------------- concentration_summary


def test_concentration_summary_keys_and_hand_values():
    summary = concentration_summary(HAND + [0, -2])
    assert list(summary) == [
        "n_customers", "total", "gini", "gini_corrected", "top_share", "top_n", "share_customers_for_target",
        "n_customers_for_target", "hhi", "hhi_level", "n_major_customers", "n_customers_A", "n_customers_B",
        "n_customers_C", "value_share_A", "value_share_B", "value_share_C", "n_negative", "negative_total",
    ]
    assert summary["n_customers"] == 7
    assert summary["total"] == 98.0
    assert summary["gini"] == approx(gini(HAND + [0, 0]))
    assert summary["top_n"] == 2 and summary["top_share"] == approx(0.8)
    assert summary["n_customers_for_target"] == 2 and summary["share_customers_for_target"] == approx(2 / 7)
    assert summary["hhi"] == approx(2500 + 900 + 100 + 25 + 25)
    assert summary["hhi_level"] == "highly concentrated"
    assert summary["n_major_customers"] == 3  # 50%, 30%, 10%
    assert (summary["n_customers_A"], summary["n_customers_B"], summary["n_customers_C"]) == (2, 2, 3)
    assert (summary["value_share_A"], summary["value_share_B"], summary["value_share_C"]) == (
        approx(0.8), approx(0.15), approx(0.05))
    assert summary["n_negative"] == 1 and summary["negative_total"] == -2.0
    for key in ("n_customers", "top_n", "n_customers_A", "n_major_customers", "n_negative"):
        assert type(summary[key]) is int
    for key in ("total", "gini", "top_share", "hhi", "value_share_A"):
        assert type(summary[key]) is float


def test_concentration_summary_matches_individual_functions():
    values = np.random.default_rng(5).lognormal(5, 2, 1001) - 20  # some negative customers
    summary = concentration_summary(values, top_share=0.1, target=0.9, a=0.7, b=0.9, major_threshold=0.01)
    classes = abc_classes(values, a=0.7, b=0.9)
    clipped = concentration_values(values)
    assert summary["gini"] == pytest.approx(gini(values), rel=1e-12)
    assert summary["gini_corrected"] == pytest.approx(gini(values, corrected=True), rel=1e-12)
    assert summary["top_share"] == pytest.approx(top_share(values, share=0.1), rel=1e-12)
    assert summary["share_customers_for_target"] == share_of_customers_for(values, target=0.9)
    assert summary["hhi"] == pytest.approx(hhi(values), rel=1e-12)
    assert summary["n_major_customers"] == len(major_customers(values, threshold=0.01))
    for label in "ABC":
        assert summary[f"n_customers_{label}"] == (classes == label).sum()
        assert summary[f"value_share_{label}"] == pytest.approx(clipped[classes == label].sum() / clipped.sum())
    assert summary["n_negative"] == (values < 0).sum()


# --------------------------------------------------------------------------- by dimension


@pytest.fixture
def dimensional() -> pd.DataFrame:
    return per_customer_frame(
        ["a", "b", "c", "d", "e", "f", "g", "h"],
        [400.0, 250.0, 100.0, 90.0, 60.0, 50.0, 50.0, -10.0],
        country=pd.Series(["United States", "United States", "United States", "France", None, "France", "  ",
                           "Germany"], dtype="string"),
        owner=["Ann", "Bob", "Ann", "Cid", "Bob", "Cid", "Ann", "Bob"],
    )


def test_concentration_by(dimensional):
    table = concentration_by(dimensional, "country")
    assert list(table.columns) == ["country", "n_customers", "value", "value_share", "customer_share", "dominant"]
    assert table["country"].tolist() == ["United States", "France", "(unknown)", "Germany"]
    assert table["n_customers"].tolist() == [3, 2, 2, 1]
    assert table["value"].tolist() == approx([750, 140, 110, 0])  # the negative customer counts as 0
    assert table["value_share"].sum() == approx(1.0)
    assert table["value_share"].tolist() == approx([0.75, 0.14, 0.11, 0.0])
    assert table["customer_share"].tolist() == approx([3 / 8, 2 / 8, 2 / 8, 1 / 8])
    assert table["dominant"].tolist() == [True, False, False, False]
    assert dimension_hhi(table) == approx(100**2 * (0.75**2 + 0.14**2 + 0.11**2))
    with pytest.raises(ValueError, match="per-customer table has no region column"):
        concentration_by(dimensional, "region")


def test_dimension_risks_on_a_concentrated_portfolio(dimensional):
    risks = dimension_risks(dimensional, ["country", "owner"], currency="USD")
    assert risks == [
        "United States holds 75.0% of revenue ($750, 3 customers): a downturn there hits most of the portfolio.",
        "The 3 largest customers are all in United States: 75.0% of revenue ($750) exposed to one country.",
        "Ann holds 55.0% of revenue ($550, 3 customers): most of the portfolio depends on one account owner.",
    ]
    lower = dimension_risks(dimensional, "owner", dominance=0.3, top_k=2)
    assert lower == [
        "Ann holds 55.0% of revenue (€550, 3 customers): most of the portfolio depends on one account owner.",
        "Bob holds 31.0% of revenue (€310, 3 customers): a large part of the portfolio depends on one account "
        "owner.",
    ]


def test_dimension_exposures_by_hand(dimensional):
    exposures = dimension_exposures(dimensional, ["country", "owner"])
    assert list(exposures.columns) == ["dimension", "kind", "label", "value", "value_share", "n_customers"]
    assert exposures[["dimension", "kind", "label"]].values.tolist() == [
        ["country", "dominant", "United States"], ["country", "top_customers", "United States"],
        ["owner", "dominant", "Ann"]]
    assert exposures["value"].tolist() == approx([750, 750, 550])
    assert exposures["value_share"].tolist() == approx([0.75, 0.75, 0.55])
    assert exposures["n_customers"].tolist() == [3, 3, 3]
    assert dimension_exposures(dimensional, "owner", dominance=0.3, top_k=2)["label"].tolist() == ["Ann", "Bob"]


def test_dimension_risks_ignore_unknown_and_balanced_portfolios():
    balanced = per_customer_frame(list("abcdefgh"), [100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0],
                                  country=["FR", "DE", "IT", "ES", "FR", "DE", "IT", "ES"])
    assert dimension_risks(balanced, ["country"]) == []
    unknown = per_customer_frame(list("abcd"), [100.0, 90.0, 80.0, 1.0], country=[None, None, None, "FR"])
    assert dimension_risks(unknown, ["country"]) == []
    with pytest.raises(ValueError, match="top_k"):
        dimension_risks(balanced, ["country"], top_k=1)


# --------------------------------------------------------------------------- over time


@pytest.fixture(scope="module")
def random_transactions() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 3_000
    return pd.DataFrame({
        "customer_id": pd.Series(rng.integers(0, 400, n), dtype="int64").map("C{:03d}".format).astype("string"),
        "date": TS("2022-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 24, n), unit="h"),
        "amount": np.where(rng.random(n) < 0.05, -1, 1) * rng.lognormal(4, 1.3, n).round(2),
    })


@pytest.mark.parametrize("freq, period_of", [("year", lambda d: d.dt.to_period("Y").dt.start_time),
                                             ("quarter", lambda d: d.dt.to_period("Q").dt.start_time)])
def test_measures_by_period_vs_direct_computation(random_transactions, freq, period_of):
    result = measures_by_period(random_transactions, freq=freq)
    assert list(result.columns) == ["period", "n_customers", "revenue", "gini", "top_share",
                                    "share_customers_for_80pct", "hhi"]
    tx = random_transactions.assign(period=period_of(random_transactions["date"]))
    per_customer = tx.groupby(["period", "customer_id"])["amount"].sum()
    assert result["period"].tolist() == sorted(tx["period"].unique())
    for row in result.itertuples(index=False):
        values = per_customer.loc[row.period].to_numpy()
        clipped = np.clip(values, 0, None)
        descending = np.sort(clipped)[::-1]
        cumulative = np.cumsum(descending) / clipped.sum()
        mean_abs_difference = np.abs(clipped[:, None] - clipped[None, :]).sum()
        assert row.n_customers == len(values)
        assert row.revenue == pytest.approx(values.sum())
        assert row.gini == pytest.approx(mean_abs_difference / (2 * len(values) ** 2 * clipped.mean()))
        assert row.top_share == pytest.approx(cumulative[math.ceil(0.2 * len(values)) - 1])
        assert row.share_customers_for_80pct == pytest.approx((np.argmax(cumulative >= 0.8) + 1) / len(values))
        assert row.hhi == pytest.approx(10_000 * ((clipped / clipped.sum()) ** 2).sum())


def test_customer_values_period_bounds_are_inclusive():
    tx = pd.DataFrame({
        "customer_id": pd.Series(["a", "a", "b", "c", None], dtype="string"),
        "date": pd.to_datetime(["2024-12-31 23:30", "2025-01-01 00:00", "2024-01-01 00:00", "2023-12-31 12:00",
                                "2024-06-01 00:00"]),
        "amount": [10.0, 99.0, 5.0, 7.0, 1000.0],
    })
    values = customer_values(tx, period=(TS("2024-01-01"), TS("2024-12-31")))
    assert values.to_dict("list") == {"customer_id": ["a", "b"], "value": [10.0, 5.0]}  # no id: no customer
    values = customer_values(tx, period=(TS("2024-01-01"), TS("2024-12-31 12:00")))
    assert values.to_dict("list") == {"customer_id": ["b"], "value": [5.0]}
    with pytest.raises(ValueError, match="start <= end"):
        customer_values(tx, period=(TS("2025-01-01"), TS("2024-01-01")))
    with pytest.raises(ValueError, match="freq"):
        customer_values(tx, freq="decade")


def test_last_two_years():
    assert last_two_years(as_of=TS("2025-12-31 17:00")) == (
        (TS("2024-01-01"), TS("2024-12-31")), (TS("2025-01-01"), TS("2025-12-31")))
    # leap day: two consecutive windows, no gap, no overlap
    assert last_two_years(as_of="2024-02-29") == (
        (TS("2022-03-01"), TS("2023-02-28")), (TS("2023-03-01"), TS("2024-02-29")))
    tx = pd.DataFrame({"date": pd.to_datetime(["2023-05-01", "2024-06-30"])})
    assert last_two_years(tx)[1] == (TS("2023-07-01"), TS("2024-06-30"))


def test_abc_migration_by_hand():
    # period A (2024): a 80, b 15, c 5 -> A, B, C;  period B (2025): a 60, c 30, d 10 -> A, A, B
    tx = pd.DataFrame({
        "customer_id": pd.Series(["a", "b", "c", "a", "c", "d", "a"], dtype="string"),
        "date": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-04-01", "2025-02-01", "2025-03-01", "2025-04-01",
                                "2023-06-01"]),
        "amount": [80.0, 15.0, 5.0, 60.0, 30.0, 10.0, 1000.0],
    })
    counts, revenue = abc_migration(tx, *last_two_years(as_of="2025-12-31"))
    assert counts.index.tolist() == ["A", "B", "C", "new"]
    assert counts.columns.tolist() == ["A", "B", "C", "lost"]
    assert counts.to_dict("index") == {
        "A": {"A": 1, "B": 0, "C": 0, "lost": 0},
        "B": {"A": 0, "B": 0, "C": 0, "lost": 1},
        "C": {"A": 1, "B": 0, "C": 0, "lost": 0},
        "new": {"A": 0, "B": 1, "C": 0, "lost": 0},
    }
    assert counts.to_numpy().sum() == 4  # a, b, c, d: the union of both periods' customers
    assert revenue.loc["A", "A"] == 60.0  # revenue in period B
    assert revenue.loc["C", "A"] == 30.0
    assert revenue.loc["B", "lost"] == 15.0  # revenue in period A for the lost column
    assert revenue.loc["new", "B"] == 10.0
    assert revenue.to_numpy().sum() == 115.0


def test_abc_migration_counts_sum_to_union(random_transactions):
    period_a, period_b = last_two_years(random_transactions)
    counts, revenue = abc_migration(random_transactions, period_a, period_b)
    dates = random_transactions["date"]
    in_a = random_transactions[(dates >= period_a[0]) & (dates < period_a[1] + pd.Timedelta(days=1))]
    in_b = random_transactions[(dates >= period_b[0]) & (dates < period_b[1] + pd.Timedelta(days=1))]
    ids_a, ids_b = set(in_a["customer_id"]), set(in_b["customer_id"])
    assert counts.to_numpy().sum() == len(ids_a | ids_b)
    assert counts.loc["new"].sum() == len(ids_b - ids_a)
    assert counts["lost"].sum() == len(ids_a - ids_b)
    assert counts.loc["new", "lost"] == 0
    assert counts.loc[["A", "B", "C"]].sum(axis=1).to_dict() == (
        abc_classes(in_a.groupby("customer_id")["amount"].sum()).value_counts().to_dict())
    assert revenue.drop(columns="lost").to_numpy().sum() == pytest.approx(in_b["amount"].sum())
    assert revenue["lost"].sum() == pytest.approx(in_a[~in_a["customer_id"].isin(ids_b)]["amount"].sum())


# --------------------------------------------------------------------------- properties

amounts = st.one_of(st.just(0.0), st.floats(1e-3, 1e6))
non_negative = st.lists(amounts, min_size=1, max_size=60).filter(lambda values: max(values) > 0)
net_values = st.lists(st.one_of(amounts, st.floats(-1e6, -1e-3)), min_size=1, max_size=60)
shares = st.floats(0.01, 1.0)
PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(values=non_negative, data=st.data(), scale=st.floats(1e-3, 1e3))
def test_gini_in_unit_interval_and_invariant(values, data, scale):
    coefficient = gini(values)
    assert 0 <= coefficient < 1
    assert 0 <= gini(values, corrected=True) <= 1
    assert gini(data.draw(st.permutations(values))) == pytest.approx(coefficient, abs=1e-9)
    assert gini(np.asarray(values) * scale) == pytest.approx(coefficient, abs=1e-9)


@PROPERTY
@given(values=net_values, a=st.floats(0.05, 0.9), width=st.floats(0.01, 0.5))
def test_abc_classes_partition_the_customers(values, a, width):
    b = min(a + width, 1.0)
    classes = abc_classes(values, a=a, b=b)
    clipped = concentration_values(values)
    assert len(classes) == len(values) and classes.notna().all()
    assert set(classes) <= {"A", "B", "C"}
    assert (classes[clipped <= 0] == "C").all()
    if clipped.sum() > 0:
        share = clipped / clipped.sum()
        in_a = (classes == "A").to_numpy()
        assert in_a.any()
        assert share[in_a].sum() >= a - 1e-9
        assert share[in_a].sum() - share[in_a].min() < a + 1e-9  # A without its smallest member misses a
        assert in_a.sum() == round(share_of_customers_for(values, target=a) * len(values))
        # classes follow the ranking: every A >= every B >= every positive C
        for better, worse in (("A", "B"), ("B", "C"), ("A", "C")):
            high, low = clipped[(classes == better).to_numpy()], clipped[(classes == worse).to_numpy()]
            if high.size and low.size:
                assert high.min() >= low.max()


@PROPERTY
@given(values=net_values)
def test_pareto_table_shares_sum_to_one(values):
    frame = pd.DataFrame({"customer_id": np.arange(len(values))[::-1], "revenue": values})
    table = pareto_table(frame)
    assert sorted(table["customer_id"]) == sorted(frame["customer_id"])
    assert table["revenue_rank"].tolist() == list(range(1, len(values) + 1))
    assert table["revenue"].is_monotonic_decreasing
    if concentration_values(values).sum() > 0:
        assert table["revenue_share"].sum() == pytest.approx(1.0)
        assert table["cumulative_share"].iloc[-1] == 1.0
        assert table["cumulative_share"].is_monotonic_increasing


@PROPERTY
@given(values=net_values, tops=st.lists(shares, min_size=2, max_size=5))
def test_top_share_monotone_in_top(values, tops):
    if concentration_values(values).sum() <= 0:
        return
    held = [top_share(values, share=top) for top in sorted(tops)]
    assert all(later >= earlier for earlier, later in zip(held, held[1:], strict=False))
    assert 0 <= held[0] and held[-1] <= 1


@PROPERTY
@given(values=non_negative)
def test_lorenz_curve_non_decreasing_convex_below_diagonal(values):
    curve = lorenz_curve(values)
    value_share = curve["value_share"].to_numpy()
    assert value_share[0] == 0 and value_share[-1] == pytest.approx(1.0)
    steps = np.diff(value_share)
    assert (steps >= 0).all()
    assert (np.diff(steps) >= -1e-12).all()  # convex
    assert (value_share <= curve["customer_share"].to_numpy() + 1e-12).all()
