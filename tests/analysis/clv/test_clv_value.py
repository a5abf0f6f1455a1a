"""Summary, evaluation, value and settings of the future-value analysis, checked by hand on small portfolios."""

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis.clv import evaluation, models, summary, value
from portfolio_helpers.analysis.clv.portfolio import future_value
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.errors import ConfigError

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def _tx(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
    frame["customer_id"] = frame["customer_id"].astype("string")
    return frame


# --------------------------------------------------------------------------- summary

def test_summary_nets_credit_notes_and_merges_days():
    tx = _tx([("a", "2020-01-01", 100.0), ("a", "2020-01-01", -30.0), ("a", "2020-01-15", 50.0),
              ("a", "2020-01-20", -20.0), ("a", "2020-02-01 18:00", 40.0),
              ("b", "2020-01-10", -5.0),  # only a credit note: no purchase, not a customer of the model
              ("c", "2020-01-05", 10.0), ("c", "2020-03-01", 5.0)])  # c's second day is after as_of
    s = summary.rfm_summary(tx, "2020-02-29", "day").set_index("customer_id")
    assert list(s.index) == ["a", "c"]
    # a: purchase days 01-01 (70 net), 01-15 (50), 02-01 (40); the credit-note day 01-20 (-20) is no purchase
    # but is netted from the repeat value: (50 + 40 - 20) / 2.
    assert s.loc["a", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 31.0, 59.0, 35.0]
    assert s.loc["c", ["frequency", "T"]].tolist() == [0, 55.0]
    months = summary.rfm_summary(tx, "2020-02-29", "month").set_index("customer_id")
    assert months.loc["a", "T"] == pytest.approx(59 / (365.25 / 12))
    with pytest.raises(ValueError, match="time_unit"):
        summary.rfm_summary(tx, "2020-02-29", "year")


def test_cancelled_lines_do_not_count():
    tx = _tx([("a", "2020-01-01", 10.0), ("a", "2020-01-09", 99.0)]).assign(status=["completed", "cancelled"])
    assert summary.rfm_summary(tx, "2020-02-01")["frequency"].tolist() == [0]


def test_calibration_holdout_by_hand():
    tx = _tx([("a", "2020-01-01", 10.0), ("a", "2020-01-20", 5.0), ("a", "2020-02-03", 7.0), ("a", "2020-02-04", 1.0),
              ("b", "2020-02-10", 3.0)])  # b arrives after the calibration end: not in the evaluation
    s = summary.calibration_holdout(tx, "2020-01-31", "2020-02-28", "week")
    assert s["customer_id"].tolist() == ["a"]
    assert s.loc[0, ["frequency", "holdout_frequency", "holdout_value"]].tolist() == [1, 2, 8.0]
    assert s.loc[0, "duration_holdout"] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="before as_of"):
        summary.calibration_holdout(tx, "2020-03-01", "2020-02-28")


def test_regularity_flags_subscriptions():
    days = pd.date_range("2020-01-01", periods=12, freq="28D")
    rows = [(f"c{i}", day, 10.0) for i in range(12) for day in days]
    reg = summary.purchase_regularity(_tx(rows), "2021-01-31")
    assert len(reg) == 12 and (reg["gap_cv"] == 0).all() and (reg["mean_gap"] == 28).all()
    s = summary.rfm_summary(_tx(rows), "2021-01-31")
    assert "regular_purchases" in value.data_fitness(s, reg, None)["problems"]


# --------------------------------------------------------------------------- evaluation

def test_holdout_baselines_by_hand():
    cal = pd.DataFrame({"frequency": [0, 4, 1, 0], "recency": [0.0, 9.0, 2.0, 0.0], "T": [10.0, 10.0, 5.0, 5.0],
                        "duration_holdout": [10.0] * 4, "holdout_frequency": [0, 3, 1, 0]})
    pred = evaluation.holdout_predictions(cal, {})
    assert pred["own_rate"].tolist() == [0.0, 4.0, 2.0, 0.0]
    assert pred["average_rate"].tolist() == pytest.approx([10 * 5 / 30] * 4)
    table = evaluation.holdout_table(cal, {}).set_index("model")
    assert table.loc["own_rate", "mae"] == pytest.approx((0 + 1 + 1 + 0) / 4)
    assert table.loc["own_rate", "rmse"] == pytest.approx(np.sqrt(2 / 4))
    assert table.loc["own_rate", "top_decile_capture"] == pytest.approx(3 / 4)  # 1 customer of 4: the one with 4
    assert table.loc["own_rate", "spearman"] == pytest.approx(1.0)
    assert np.isnan(table.loc["average_rate", "spearman"])  # a constant forecast ranks nobody


def test_choose_model_rules():
    fit = {k: models.Fit(k, {}, {}, ll, 10, status) for k, ll, status in
           (("bgnbd", -100.0, "converged"), ("pnbd", -90.0, "converged"), ("mbgnbd", -80.0, "not converged"))}
    assert evaluation.choose_model(None, fit) == {"model": "pnbd", "reason": "highest likelihood", "value": -90.0,
                                                  "runner_up": "bgnbd"}
    table = pd.DataFrame({"model": ["bgnbd", "pnbd", "mbgnbd", "own_rate"], "mae": [0.5, 0.6, 0.1, 0.05]})
    assert evaluation.choose_model(table, fit)["model"] == "bgnbd"  # the best converged model, baselines aside
    assert evaluation.choose_model(table, fit, "pnbd")["reason"] == "requested"
    assert evaluation.choose_model(table, fit, "mbgnbd")["reason"] == "requested model failed"
    assert evaluation.choose_model(None, {})["model"] is None


# --------------------------------------------------------------------------- value

def _summary():
    return pd.DataFrame({"customer_id": ["a", "b", "c"], "frequency": [2, 0, 5], "recency": [30.43, 0.0, 20.0],
                         "T": [38.86, 38.86, 40.0], "monetary_value": [20.0, 0.0, 30.0]})


def test_customer_value_by_hand():
    fit = models.Fit("bgnbd", BG, {}, 0.0, 3, "converged")
    pnl = pd.DataFrame({"customer_id": ["a", "b", "c"], "revenue": [60.0, -10.0, 180.0],
                        "gross_margin": [30.0, -2.0, 54.0], "cost_to_serve": [6.0, 1.0, 12.0],
                        "margin_rate": [0.5, np.nan, 0.3]})
    v = value.customer_value(_summary(), fit, pnl=pnl, horizon_months=12, discount_rate=0.0, time_unit="week")
    weeks = 12 * 365.25 / 12 / 7
    expected = models.conditional_expected_purchases("bgnbd", tuple(BG.values()), weeks, [2, 0, 5],
                                                     [30.43, 0.0, 20.0], [38.86, 38.86, 40.0])
    assert v["expected_purchases"].to_numpy() == pytest.approx(expected)
    # spend without a spend model: own repeat value, else the repeat buyers' mean (25)
    assert v["expected_spend"].tolist() == [20.0, 25.0, 30.0]
    # b's revenue is negative: the portfolio margin rate (30 - 2 + 54) / 230; its cost per purchase day 1 / 1
    assert v["margin_rate"].tolist() == pytest.approx([0.5, 82 / 230, 0.3])
    assert v["cost_per_purchase"].tolist() == pytest.approx([2.0, 1.0, 2.0])
    unit = np.array([20 * 0.5 - 2, 25 * 82 / 230 - 1, 30 * 0.3 - 2])
    assert v["expected_profit"].to_numpy() == pytest.approx(expected * unit)
    assert v["clv"].to_numpy() == pytest.approx(v["expected_revenue"].to_numpy())  # no discounting at 0%
    discounted = value.customer_value(_summary(), fit, pnl=pnl, discount_rate=0.10)
    assert np.all(discounted["clv"] < v["clv"]) and np.all(discounted["clv"] > v["clv"] / 1.1)
    assert v["p_alive"].tolist()[1] == 1.0  # BG/NBD: no repeat purchase, alive for sure
    # Monthly steps: the discounted purchases are the increments times (1.1)^(-m/12).
    ends = [m * 365.25 / 12 / 7 for m in range(1, 13)]
    cum = np.array([models.conditional_expected_purchases("bgnbd", tuple(BG.values()), e, 2, 30.43, 38.86)
                    for e in ends])
    by_hand = float(np.sum(np.diff(cum, prepend=0.0) * 1.1 ** (-np.arange(1, 13) / 12))) * 20
    assert discounted.loc[0, "clv"] == pytest.approx(by_hand)


def test_intervals_are_seeded_and_cover_the_estimate():
    fit = models.Fit("bgnbd", BG, {}, 0.0, 3, "converged", cov_log=np.diag([0.01] * 4))
    first = value.portfolio_intervals(_summary(), fit, n_draws=50, seed=5)
    again = value.portfolio_intervals(_summary(), fit, n_draws=50, seed=5)
    pd.testing.assert_frame_equal(first, again)
    row = first.set_index("total").loc["clv"]
    assert row["low"] < row["estimate"] < row["high"]
    assert np.isnan(first.set_index("total").loc["clv_profit", "low"])  # no P&L, no profit


def test_intervals_leave_out_spend_draws_without_a_finite_mean():
    """Gamma-Gamma draws with q <= 1 have no finite mean spend (p v / (q - 1) < 0 for q < 1): they are left out,
    so the revenue interval stays positive and around the estimate."""
    fit = models.Fit("bgnbd", BG, {}, 0.0, 3, "converged", cov_log=np.diag([0.001] * 4))
    spend = models.Fit("gg", {"p": 6.0, "q": 1.2, "v": 15.0}, {}, 0.0, 3, "converged",
                       cov_log=np.diag([0.0001, 0.04, 0.0001]))  # q drawn below 1 in about 1 draw in 5
    draws = models.parameter_draws(spend, 200, seed=6)
    assert 0.1 < (draws[:, 1] <= 1).mean() < 0.3
    row = value.portfolio_intervals(_summary(), fit, spend, n_draws=200, seed=5).set_index("total").loc[
        "expected_revenue"]
    assert 0 < row["low"] < row["estimate"] < row["high"]


def test_rank_movers_and_groups():
    v = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "clv": [40.0, 30.0, 20.0, 10.0],
                      "clv_profit": [-1.0, 5.0, 6.0, 1.0], "expected_revenue": [1.0] * 4,
                      "expected_profit": [1.0] * 4})
    movers = value.rank_movers(v, n=2)
    assert movers[["customer_id", "revenue_rank", "profit_rank"]].values.tolist() == [["a", 1, 4], ["c", 3, 1]]
    by = value.value_by_group(v, pd.DataFrame({"customer_id": ["a", "b"], "seg": ["x", "x"]}), "seg")
    assert by.set_index("seg")["n_customers"].to_dict() == {"x": 2, "(none)": 2}
    assert value.value_by_group(v, None, "seg") is None


# --------------------------------------------------------------------------- settings and fitness

def test_settings_validated_in_the_config(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na,2020-01-01,1\n", encoding="utf-8")
    path = tmp_path / "portfolio.yml"
    path.write_text("tables: {transactions: tx.csv}\nclv: {calibration_end: 2020-06-30, time_unit: day, "
                    "horizon_months: 6, discount_rate: 0.08, model: pnbd}\n", encoding="utf-8")
    settings = value.load_clv_settings(path)
    assert settings == value.ClvSettings(pd.Timestamp("2020-06-30"), "day", 6.0, 0.08, "pnbd")
    assert load_config(path).sections["clv"]["model"] == "pnbd"
    for bad, message in (("{horizon_month: 6}", r"clv\.horizon_month: unknown key \(did you mean 'horizon_months'\?\)"),
                         ("{time_unit: weeks}", r"clv\.time_unit: must be one of day, week, month.*did you mean 'week'"),
                         ("{discount_rate: 10}", r"clv\.discount_rate: must be a yearly rate"),
                         ("{model: bgndb}", r"clv\.model: .*did you mean 'bgnbd'"),
                         ("{calibration_end: 2020-02-30}", r"clv\.calibration_end: '2020-02-30' is not a date"),
                         ("[1, 2]", r"clv: expected a mapping")):
        path.write_text(f"tables: {{transactions: tx.csv}}\nclv: {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message) as error:
            value.load_clv_settings(path)
        assert str(path) in str(error.value)


@pytest.fixture(scope="module")
def simulated():
    """400 customers buying at gamma-distributed rates with exponential lifetimes, from 2020 on."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(400):
        start = pd.Timestamp("2020-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        rate, life = rng.gamma(0.8, 1 / 20), rng.exponential(300)
        day = 0.0
        while day < min(life, 600):
            rows.append((f"c{i:03d}", start + pd.Timedelta(days=int(day)), float(rng.gamma(3, 10))))
            day += rng.exponential(1 / rate) + 1
    return _tx(rows)


@pytest.mark.parametrize("case", ["one_day", "few_repeaters", "short_holdout", "nothing"])
def test_minimal_inputs_explain_and_skip(case, simulated):
    as_of, end = pd.Timestamp("2020-09-01"), None
    if case == "one_day":
        tx = _tx([(f"c{i}", "2020-03-01", 10.0) for i in range(50)])
    elif case == "nothing":
        tx = _tx([("c1", "2020-03-01", -10.0)])
    elif case == "few_repeaters":
        tx = _tx([(f"c{i}", "2020-01-01", 10.0) for i in range(60)]
                 + [(f"c{i}", f"2020-0{2 + i % 5}-1{i % 9}", 12.0) for i in range(10)])
    else:
        tx, as_of, end = simulated, pd.Timestamp("2021-06-30"), pd.Timestamp("2021-06-16")
    result = future_value(tx, value.ClvSettings(calibration_end=end), as_of, n_draws=10)
    expected = {"one_day": "single_day", "few_repeaters": "few_repeat_buyers", "short_holdout": "short_holdout",
                "nothing": "no_customers"}[case]
    assert expected in result.fitness["problems"]
    assert result.holdout is None
    if case == "short_holdout":  # enough repeat buyers: valued, but not evaluated
        assert result.value is not None and len(result.value) == 400
        assert result.choice["reason"] == "highest likelihood"
    else:
        assert result.value is None and result.fit is None


def test_degenerate_fits_are_not_used():
    runaway = models.Fit("bgnbd", {"r": 2842.8, "alpha": 91800.2, "a": 3.3e6, "b": 3.1e-7}, {}, -1.0, 60, "on a boundary")
    nobody_leaves = models.Fit("pnbd", {"r": 0.83, "alpha": 13.3, "s": 3.1e-7, "beta": 31.3}, {}, -1.0, 60,
                               "on a boundary")
    assert not runaway.ok and not runaway.no_dropout
    assert nobody_leaves.ok and nobody_leaves.no_dropout
    assert evaluation.choose_model(None, {"bgnbd": runaway, "pnbd": nobody_leaves})["model"] == "pnbd"
    # Every repeat buyer repeats exactly once: whatever the fits, a model used gives finite values.
    rows = [(f"c{i}", "2020-01-01", 10.0) for i in range(60)]
    rows += [(f"c{i}", f"2020-0{2 + i % 5}-1{i % 9}", 12.0) for i in range(40)]
    result = future_value(_tx(rows), value.ClvSettings(), "2020-09-01", n_draws=10)
    if result.fit is not None:
        assert result.fit.ok and np.isfinite(result.value[["p_alive", "expected_purchases", "clv"]]).all().all()
    else:
        assert result.value is None


def test_future_value_with_holdout_on_simulated_portfolio(simulated):
    settings = value.ClvSettings(calibration_end=pd.Timestamp("2020-12-31"), time_unit="week")
    result = future_value(simulated, settings, "2021-06-30", n_draws=20)
    assert result.fitness["can_evaluate"] and set(result.holdout["model"]) == {
        "bgnbd", "pnbd", "mbgnbd", "own_rate", "average_rate"}
    assert result.choice["reason"] == "lowest holdout error"
    assert (result.holdout["actual_total"] == result.calibration["holdout_frequency"].sum()).all()
    assert result.tracking["actual"].sum() == summary.repeat_purchases_by_period(
        simulated, "2020-12-31", "2021-06-30", "week")["repeat_purchases"].sum()
    assert result.value["p_alive"].between(0, 1).all() and (result.value["expected_purchases"] >= 0).all()


def test_rank_movers_ignore_rounding_noise_of_a_uniform_margin():
    """Profit = 40% of revenue for every customer, up to float noise in the margin rate (as a P&L's
    gross_margin / revenue gives): the two rankings agree, nobody is listed as a mover."""
    rng = np.random.default_rng(3)
    clv = np.repeat(rng.uniform(1, 5, 300), 3) + rng.uniform(0, 1e-12, 900)  # dense, near-tied values
    rate = 0.4 * (1 + rng.uniform(-1e-15, 1e-15, 900))
    v = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(900)], "clv": clv, "clv_profit": clv * rate})
    assert value.rank_movers(v, n=10).empty
    v.loc[5, "clv_profit"] = -3.0  # one real move
    movers = value.rank_movers(v, n=10)
    assert movers["customer_id"].iloc[0] == "c0005" and movers["profit_rank"].iloc[0] == 900
    assert (movers["rank_shift"] != 0).all()


def test_no_negative_expected_spend_from_net_returns():
    """A repeat buyer whose credit notes outweigh the repeat purchases (mean repeat value < 0, as in Online
    Retail) is valued at the Gamma-Gamma population mean, never at a negative spend."""
    s = pd.DataFrame({"customer_id": ["a", "b", "c"], "frequency": [2, 3, 0], "recency": [30.0, 20.0, 0.0],
                      "T": [40.0, 40.0, 40.0], "monetary_value": [-50.0, 20.0, 0.0]})
    fit = models.Fit("bgnbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, {}, 0.0, 3, "converged")
    spend = models.Fit("gg", {"p": 6.25, "q": 3.74, "v": 15.44}, {}, 0.0, 1, "converged")
    v = value.customer_value(s, fit, spend)
    population = 6.25 * 15.44 / (3.74 - 1)
    assert v["expected_spend"].tolist()[0] == pytest.approx(population)
    assert v["expected_spend"].tolist()[2] == pytest.approx(population)
    assert (v["expected_revenue"] >= 0).all()


def test_model_without_finite_forecast_is_set_aside(simulated, monkeypatch):
    """A model whose forecast is not finite for some customer never values the portfolio: the next one does, and
    the report says why."""
    from portfolio_helpers.reporting import value as report

    real = models.conditional_expected_purchases

    def broken_pnbd(model, *args):
        values = real(model, *args)
        return np.where(np.arange(np.size(values)) == 0, np.nan, values) if model == "pnbd" else values

    monkeypatch.setattr(models, "conditional_expected_purchases", broken_pnbd)
    result = future_value(simulated, value.ClvSettings(model="pnbd"), "2021-06-30", n_draws=5)
    assert result.no_forecast == ["pnbd"]
    assert result.choice["reason"] == "requested model failed" and result.choice["model"] in ("bgnbd", "mbgnbd")
    assert np.isfinite(result.value[["expected_purchases", "clv"]].to_numpy()).all()
    assert ("The Pareto/NBD fit gives no finite forecast for some customers (its parameters are too extreme for the "
            "formulas); it is not used.") in report.fitness_notes(result)
