"""Notebook 06's write-up: metric names, export columns and rounding, sentences, on a simulated portfolio."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis.clv import models, value
from portfolio_helpers.analysis.clv.portfolio import future_value, revenue_last_year
from portfolio_helpers.reporting import value as report
from portfolio_helpers.reporting.narrative import fmt_int, table_styler

METRICS = {"clv_model", "bgnbd_r", "bgnbd_alpha", "bgnbd_a", "bgnbd_b", "bgnbd_loglik", "pnbd_r", "pnbd_alpha",
           "pnbd_s", "pnbd_beta", "gg_p", "gg_q", "gg_v", "holdout_purchases_actual", "holdout_purchases_predicted",
           "clv_total", "clv_profit_total", "n_customers_probably_gone"}


@pytest.fixture(scope="module")
def portfolio():
    rng = np.random.default_rng(8)
    rows = []
    for i in range(300):
        start = pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        rate, life, spend = rng.gamma(0.8, 1 / 15), rng.exponential(250), rng.gamma(4, 8)
        day = 0.0
        while day < min(life, 700):
            rows.append((f"c{i:03d}", start + pd.Timedelta(days=int(day)), float(rng.gamma(5, spend / 5))))
            day += rng.exponential(1 / rate) + 1
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).astype({"customer_id": "string"})
    pnl = pd.DataFrame({"customer_id": tx["customer_id"].unique()})
    revenue = tx.groupby("customer_id")["amount"].sum().reindex(pnl["customer_id"]).to_numpy()
    pnl = pnl.assign(revenue=revenue, gross_margin=0.4 * revenue, cost_to_serve=5.0, margin_rate=0.4)
    settings = value.ClvSettings(calibration_end=pd.Timestamp("2022-06-30"))
    tables = {"transactions": tx}
    return tables, future_value(tables["transactions"], settings, "2022-12-31", pnl, seed=1, n_draws=30)


def test_metrics_have_the_issue_names(portfolio):
    _tables, result = portfolio
    metrics = report.metrics(result)
    assert set(metrics) == METRICS
    assert metrics["holdout_purchases_actual"] == result.calibration["holdout_frequency"].sum()
    assert metrics["bgnbd_r"] == result.calibration_fits["bgnbd"].params["r"]  # the calibration fit
    assert metrics["clv_profit_total"] == pytest.approx(result.value["clv_profit"].sum())


def test_exports(portfolio, tmp_path):
    _tables, result = portfolio
    export = report.customer_export(result)
    assert list(export.columns) == ["customer_id", "p_alive", "expected_purchases", "expected_revenue",
                                    "expected_profit", "clv", "clv_profit"]
    assert (export["clv"] == export["clv"].round(2)).all() and (export["p_alive"] == export["p_alive"].round(4)).all()
    path = report.save_model_table(tmp_path, result)
    table = pd.read_csv(path)
    assert set(table["model"]) == {"bgnbd", "pnbd", "mbgnbd", "gg", "own_rate", "average_rate"}
    assert set(table["fitted_on"]) == {"calibration", "all data"}
    assert table.loc[table["status"] == "baseline", "mae"].notna().all()
    # the unit of the rates alpha and beta and the holdout length are in the file, not only in the report
    assert (table["time_unit"] == "week").all()
    with_holdout = table["mae"].notna()
    assert with_holdout.any() and (table.loc[with_holdout, "holdout_units"] == round(184 / 7, 4)).all()
    assert table.loc[~with_holdout, "holdout_units"].isna().all()


def test_sentences(portfolio):
    tables, result = portfolio
    lines = report.findings(result, "EUR", revenue_last_year(tables["transactions"], result.as_of))
    assert "probably gone" in lines[0] and "of the last 12 months' revenue" in lines[0]
    assert any("90% interval" in line for line in lines)
    assert any(line.startswith("The ") and "values the customers" in line for line in lines)
    assert "time unit week" in report.settings_sentence(result)
    notes = report.fitness_notes(result)
    assert all(note for note in notes) and any("Spend per purchase" in note for note in notes)
    assert report.settings_with_overrides(result.settings, 24, 0.05).calibration_end == result.settings.calibration_end


def test_choice_sentence_names_the_holdout_length(portfolio):
    _tables, result = portfolio
    assert result.choice["reason"] == "lowest holdout error"
    assert "purchases in the 26 weeks after the calibration period were the closest" in report.choice_sentence(result)


def test_spend_model_that_cannot_be_used_is_said_in_words(portfolio):
    """A Gamma-Gamma fit that did not converge, or whose mean spend is infinite (q <= 1), is never dropped
    silently: the notes say so and what values the purchases instead; the model table keeps its row."""
    _tables, result = portfolio
    fit = result.spend_attempts["all data"]
    failed = models.Fit("gg", fit.params, fit.se, fit.loglik, fit.n, "not converged")
    heavy_tail = models.Fit("gg", {**fit.params, "q": 0.8}, fit.se, fit.loglik, fit.n, "converged")
    changed = dataclasses.replace(result, spend_attempts={"calibration": heavy_tail, "all data": failed},
                                  calibration_spend=None, spend_fit=None)
    notes = [note for note in report.fitness_notes(changed) if "Gamma-Gamma" in note or "Without it" in note]
    assert notes == [
        "The Gamma-Gamma spend model on the calibration period gives an infinite average spend (its parameter "
        "q = 0.80 is not above 1): it is not used.",
        "The Gamma-Gamma spend model on all the data did not converge; it is not used.",
        "Without it, each customer's future purchase is valued at its own average repeat purchase (the average of "
        "all repeat buyers for a customer without one)."]
    table = report.model_table(changed).set_index(["model", "fitted_on"])
    assert table.loc[("gg", "all data"), "status"] == "not converged"
    assert table.loc[("gg", "calibration"), "status"] == "not used: infinite mean spend (q <= 1)"
    assert not any("Gamma-Gamma" in note for note in report.fitness_notes(result))  # both fits converged here


def test_intervals_table_shows_purchase_days_as_counts_and_the_rest_as_money(portfolio):
    _tables, result = portfolio
    table = report.intervals_table(result, "EUR").set_index("next 12 months")
    purchases = result.intervals.set_index("total").loc["expected_purchases"]
    assert table.loc["purchase days", "estimate"] == fmt_int(purchases["estimate"])
    assert not any("€" in cell or "EUR" in cell for cell in table.loc["purchase days"])
    assert all("€" in cell or "EUR" in cell for cell in table.loc["revenue"])


def test_no_dropout_model_does_not_report_zero_customers_gone(portfolio):
    """A chosen fit whose dropout parameter went to 0 gives P(alive) = 1 to all: no 'probably gone' count."""
    tables, result = portfolio
    key = result.choice["model"]
    dropout = "s" if key == "pnbd" else "a"
    fit = result.fits[key]
    boundary = models.Fit(key, {**fit.params, dropout: 1e-9}, {}, fit.loglik, fit.n, "on a boundary")
    assert boundary.no_dropout
    changed = dataclasses.replace(result, fits={**result.fits, key: boundary},
                                  value=result.value.assign(p_alive=1.0))
    lines = report.findings(changed, "EUR", revenue_last_year(tables["transactions"], result.as_of))
    assert "customers (" not in lines[0] and "cannot tell who is probably gone" in lines[0]
    assert "P(alive) = 1" in lines[0]


def test_fit_notes_word_the_calibration_fits_too(portfolio):
    """A calibration fit on a boundary is said in words even when the fit on all the data converged."""
    _tables, result = portfolio
    fit = result.calibration_fits["bgnbd"]
    stuck = models.Fit("bgnbd", {**fit.params, "alpha": 1e7}, {}, fit.loglik, fit.n, "on a boundary")
    assert not stuck.ok and not stuck.no_dropout
    changed = dataclasses.replace(result, calibration_fits={**result.calibration_fits, "bgnbd": stuck},
                                  fits={**result.fits, "bgnbd": dataclasses.replace(result.fits["bgnbd"],
                                                                                   status="converged")})
    notes = report.fitness_notes(changed)
    stuck_notes = [note for note in notes if note.startswith("The BG/NBD fit")]
    assert stuck_notes == ["The BG/NBD fit on the calibration period ran to a limit of the model (a parameter went "
                           "to 0 or infinity); it is not used."]


def test_calling_caption_states_the_bgnbd_p_alive_property(portfolio):
    """Wherever BG/NBD's P(alive) is shown, the report says one-time buyers get P(alive) = 1 by construction."""
    _tables, result = portfolio
    bgnbd = dataclasses.replace(result, choice={**result.choice, "model": "bgnbd"})
    assert "P(alive) = 1" in report.calling_caption(bgnbd) and "P(alive) = 1" in report.p_alive_note(bgnbd)
    pnbd = dataclasses.replace(result, choice={**result.choice, "model": "pnbd"})
    assert "P(alive) = 1" not in report.calling_caption(pnbd)


def test_intervals_table_shows_no_interval_of_zero_width(portfolio):
    """A fit without standard errors (on a boundary) gives draws all equal: no '€522 to €522' interval."""
    _tables, result = portfolio
    flat = result.intervals.assign(low=result.intervals["estimate"], high=result.intervals["estimate"])
    table = report.intervals_table(dataclasses.replace(result, intervals=flat), "EUR")
    assert (table[["low (5%)", "high (95%)"]] == "not estimated").all().all()
    assert (table["estimate"] != "not estimated").all()


def test_value_histogram_leaves_out_a_long_tail_and_says_so():
    """CDNOW-like values: 99% of customers below $50 and a few in the thousands; the bars cover the 99%."""
    from portfolio_helpers.reporting import charts

    rng = np.random.default_rng(2)
    values = pd.Series(np.concatenate([rng.uniform(0, 50, 990), rng.uniform(1000, 3000, 10)]))
    ax = charts.value_histogram(values, "USD", "t", "Discounted future profit").axes[0]
    assert ax.get_xlim()[1] < 200
    assert "10 customers above" in ax.get_xlabel() and "not shown" in ax.get_xlabel()
    even = charts.value_histogram(pd.Series(rng.uniform(0, 50, 1000)), "USD", "t", "x").axes[0]
    assert "not shown" not in even.get_xlabel()


def test_shown_tables_use_plain_column_names(portfolio, monkeypatch):
    """What a manager reads: no data names such as clv_profit or top_decile_capture; formats follow the names."""
    _tables, result = portfolio
    shown = []
    monkeypatch.setattr(report, "show_table", lambda table, **options: shown.append((table, options)))
    report.show_model_section(result)
    report.show_optional_table(result.value.head(3)[["customer_id", "clv", "clv_profit", "p_alive"]], "", "c", "EUR")
    segments = pd.DataFrame({"customer_id": result.value["customer_id"], "rfm_segment": "Champions"})
    report.show_groups(result, segments, "EUR")
    assert len(shown) == 3
    for table, options in shown:
        assert not [column for column in table.columns if "_" in column]
        assert set(options.get("formats", {})) & set(table.columns)


def test_evaluation_without_holdout_says_so(portfolio, monkeypatch):
    """No calibration end: the evaluation section says there is no holdout check instead of implying one."""
    _tables, result = portfolio
    said, shown = [], []
    monkeypatch.setattr(report, "show_markdown", said.append)
    monkeypatch.setattr(report, "show_table", lambda table, **options: shown.append(options["caption"]))
    bare = dataclasses.replace(result, holdout=None, tracking=None, conditional=None, calibration_fits={})
    report.show_evaluation(bare)
    assert said == [report.NO_HOLDOUT_NOTE] and "holdout" not in shown[0]
    said.clear(), shown.clear()
    report.show_evaluation(result)
    assert said == [] and "holdout metrics" in shown[0]


def test_too_few_repeat_buyers_said_once_without_moot_notes(tmp_path):
    """Five customers: the findings say once why no customer is valued, nothing about a spend model or a holdout."""
    tx = pd.DataFrame({"customer_id": [f"c{i}" for i in range(5) for _ in range(3)],
                       "date": pd.to_datetime(["2025-01-05", "2025-03-01", "2025-05-20"] * 5),
                       "amount": [10.0] * 15})
    result = future_value(tx, value.ClvSettings(), "2025-06-30")
    lines = report.findings(result, "EUR", revenue_last_year(tx, result.as_of)) + report.fitness_notes(result)
    assert lines == [report.fitness_notes(result)[0]] and "no customer is valued" in lines[0]
    assert report.save_model_table(tmp_path, result).read_text(encoding="utf-8").strip() == ""  # no model, no row


def test_money_metrics_to_the_cent(portfolio):
    _tables, result = portfolio
    metrics = report.metrics(result)
    for name in ("clv_total", "clv_profit_total"):
        assert metrics[name] == round(metrics[name], 2)
    assert metrics["clv_total"] == pytest.approx(result.value["clv"].sum(), abs=0.005)
    assert metrics["holdout_purchases_predicted"] == round(metrics["holdout_purchases_predicted"], 4)


def test_model_table_counts_customers_with_thousands_separators(portfolio, monkeypatch):
    _tables, result = portfolio
    shown = []
    monkeypatch.setattr(report, "show_table", lambda table, **options: shown.append((table, options)))
    big = dataclasses.replace(result, fits={**result.fits, "bgnbd": dataclasses.replace(result.fits["bgnbd"],
                                                                                        n=23_570)})
    report.show_model_section(big)
    table, options = shown[0]
    html = table_styler(table, options["caption"], options["formats"]).to_html()
    assert "23,570" in html and "23570" not in html


def test_intervals_without_purchase_uncertainty_say_so(portfolio):
    """A purchase fit on a boundary has no covariance: the intervals then come from the spend model alone (as on
    the Online Retail extract), and the caption and the findings say they leave the purchases' uncertainty out;
    the customers-worth-calling section says a no-dropout model cannot point at anyone."""
    tables, result = portfolio
    key = result.choice["model"]
    dropout = "s" if key == "pnbd" else "a"
    fit = result.fits[key]
    boundary = models.Fit(key, {**fit.params, dropout: 1e-9}, {}, fit.loglik, fit.n, "on a boundary",
                          cov_log=np.full((4, 4), np.nan))
    changed = dataclasses.replace(result, fits={**result.fits, key: boundary})
    assert "spend model's parameters only" in report.intervals_caption(changed)
    assert "too narrow" in report.intervals_caption(changed)
    assert report.intervals_caption(result) == "Portfolio totals with 90% intervals (parameter uncertainty)"
    lines = report.findings(changed, "EUR", revenue_last_year(tables["transactions"], result.as_of))
    assert any("spend uncertainty only)" in line for line in lines)
    assert not any("spend uncertainty only" in line for line in report.findings(
        result, "EUR", revenue_last_year(tables["transactions"], result.as_of)))
    assert "cannot point at valuable customers slipping away" in report.calling_empty(changed)
    assert report.calling_empty(result) == "No valuable customer is slipping away (or no customer is valued)."


@pytest.mark.parametrize("unit", ["week", "month"])
def test_time_unit_on_every_axis_and_table(portfolio, monkeypatch, unit):
    """The declared time unit (clv.time_unit) names the axes of the tracking and conditional-expectation charts,
    the caption of the model table and the settings sentence."""
    _tables, result = portfolio
    result = dataclasses.replace(result, settings=dataclasses.replace(result.settings, time_unit=unit))
    tracking = report.tracking_figure(result)
    for ax in tracking.axes:
        assert ax.get_xlabel() == f"{unit.capitalize()}s since the first purchase of the cohort"
    assert tracking.axes[1].get_ylabel() == f"Repeat purchases (per {unit})"
    assert tracking.axes[1].get_title().startswith(f"Repeat purchases per {unit}")
    conditional = report.conditional_figure(result).axes[0]
    holdout = result.calibration["duration_holdout"].iloc[0]
    assert conditional.get_ylabel() == f"Mean repeat purchases in the {holdout:.0f} {unit}s after"
    captions = []
    monkeypatch.setattr(report, "show_table", lambda table, **options: captions.append(options["caption"]))
    report.show_model_section(result)
    assert captions[0].startswith(f"Purchase models (time unit: {unit})")
    assert f"time unit {unit}" in report.settings_sentence(result)


@pytest.mark.parametrize(("value", "se", "cell"), [
    (0.24317, 0.01184, "0.243 (± 0.012)"),
    (3e-7, 1.234e-6, "3.00e-07 (± 1.2e-06)"),  # was "0.000": a dropout parameter on a boundary
    (12.0456, 0.9996, "12.0 (± 1.0)"),  # 0.9996 to 2 significant digits rounds up to 1.0
    (0.0012345, 0.00049, "0.00123 (± 0.00049)"),
    (123_456.7, 2_345_678.0, "123,000 (± 2.3e+06)"),
    (2.5, float("nan"), "2.50"),  # no standard error when the Hessian is singular
    (0.0, 0.1, "0 (± 0.10)"),
    (-0.0456, 0.003, "-0.0456 (± 0.0030)"),
])
def test_parameter_cells_have_significant_digits_and_the_standard_error(value, se, cell):
    assert report.parameter_cell(value, se) == cell


def test_model_table_shows_each_parameter_with_its_standard_error(portfolio, monkeypatch):
    """The report's model table showed `a` = 3e-7 as 0.000 and no standard error (they were in clv_models.csv
    only)."""
    _tables, result = portfolio
    fit = result.fits["bgnbd"]
    tiny = models.Fit("bgnbd", {"r": 0.24317, "alpha": 4.5678, "a": 3e-7, "b": 2.0},
                      {"r": 0.01184, "alpha": 0.31, "a": np.nan, "b": 1.5}, fit.loglik, fit.n, "on a boundary")
    changed = dataclasses.replace(result, fits={**result.fits, "bgnbd": tiny})
    table = report.shown_model_table(changed).set_index(["name", "fitted_on"])
    row = table.loc[(models.MODEL_NAMES["bgnbd"], "all data")]
    assert (row["r"], row["alpha"], row["a"], row["b"]) == ("0.243 (± 0.012)", "4.57 (± 0.31)", "3.00e-07", "2.00 (± 1.5)")
    assert pd.isna(row["s"]) and not [c for c in table.columns if c.startswith("se_")]
    baseline = table[table["status"] == "baseline"]
    assert len(baseline) and baseline["r"].isna().all()  # the baselines have no parameter
    shown = []
    monkeypatch.setattr(report, "show_table", lambda table, **options: shown.append((table, options)))
    report.show_model_section(changed)
    html = table_styler(shown[0][0], shown[0][1]["caption"], shown[0][1]["formats"]).to_html()
    assert "0.243 (± 0.012)" in html and "3.00e-07" in html and "± its standard error" in html
