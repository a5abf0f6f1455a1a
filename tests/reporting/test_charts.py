"""Every report chart has a title and labelled axes with units, and draws from the data given."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from portfolio_helpers.analysis import pareto  # noqa: E402
from portfolio_helpers.reporting import charts  # noqa: E402


def titled(fig):
    ax = fig.axes[0]
    assert ax.get_title(), "chart without a title"
    return ax


@pytest.fixture
def table():
    per_customer = pd.DataFrame({"customer_id": list("abcde"), "revenue": [50.0, 30.0, 10.0, 5.0, 5.0]})
    return pareto.pareto_table(per_customer)


def test_revenue_and_share_charts():
    periods = pd.DataFrame({"period": pd.date_range("2024-01-01", periods=3, freq="MS"),
                            "revenue": [10.0, -2.0, 5.0]})
    ax = titled(charts.revenue_over_time(periods, "EUR", "Revenue"))
    assert "EUR" in ax.get_ylabel() and len(ax.patches) == 3
    frame = pd.DataFrame({"country": ["FR", "DE"], "revenue": [3.0, 1.0]})
    ax = titled(charts.share_bars(frame, "country", "revenue", "EUR", "By country"))
    assert "EUR" in ax.get_xlabel() and [t.get_text() for t in ax.texts] == ["75.0%", "25.0%"]


def test_pareto_lorenz_trend_and_heatmap(table):
    fig = charts.pareto_chart(table, "revenue", "EUR", "Pareto")
    ax = titled(fig)
    assert "EUR" in ax.get_ylabel() and "%" in fig.axes[1].get_ylabel()
    assert any("make 80%" in t.get_text() for t in fig.axes[1].texts)
    ax = titled(charts.lorenz_chart({"revenue": pareto.lorenz_curve([1, 2, 6, 7, 8])}, "Lorenz"))
    assert "%" in ax.get_xlabel() and "%" in ax.get_ylabel()
    trend = pd.DataFrame({"period": pd.to_datetime(["2024-01-01", "2025-01-01"]), "gini": [0.5, 0.6]})
    ax = titled(charts.trend_chart(trend, "period", {"gini": "Gini"}, "Trend", "%"))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024", "2025"]
    matrix = pd.DataFrame([[1, 2], [3, 4]], index=["A", "B"], columns=["A", "B"])
    ax = titled(charts.matrix_heatmap(matrix, "Migration", "after", "before"))
    assert ax.get_xlabel() == "after"


def test_profitability_charts():
    curve = pd.DataFrame({"customer_share": [0, 0.5, 1.0], "cumulative_profit_share": [0, 1.4, 1.0]})
    ax = titled(charts.whale_chart(curve, "Whale"))
    assert any("peak 140%" in t.get_text() for t in ax.texts)
    pnl = pd.DataFrame({"customer_id": ["a", "b"], "revenue": [100.0, 1000.0], "profit": [20.0, -50.0]})
    ax = titled(charts.quadrant_chart(pnl, "EUR", "Quadrant", revenue_split=500, labels=pd.Series({"b": "B corp"})))
    assert "EUR" in ax.get_xlabel() and any(t.get_text() == "B corp" for t in ax.texts)
    ax = titled(charts.driver_bars(pd.Series({"orders": 30.0, "service": 10.0, "account": 0.0}), "EUR", "Drivers"))
    assert len(ax.patches) == 2 and "EUR" in ax.get_xlabel()


def test_segmentation_charts():
    k_scores = pd.DataFrame({"k": [2, 3, 4], "inertia": [9.0, 5.0, 4.0], "silhouette": [0.3, 0.5, 0.4],
                             "calinski_harabasz": [100.0, 150.0, 120.0], "davies_bouldin": [1.2, 0.8, 1.0]})
    fig = charts.k_selection_chart(k_scores, 3, "Choosing k")
    assert len(fig.axes) == 4 and all(ax.get_xlabel() == "number of segments k" for ax in fig.axes)
    projection = pd.DataFrame({"pc1": [0.0, 1.0, 2.0], "pc2": [1.0, 0.0, 1.0]})
    ax = titled(charts.projection_chart(projection, pd.Series(["a", "b", "a"]), "PCA", explained=(0.5, 0.3)))
    assert "50% of variance" in ax.get_xlabel()
    summary = pd.DataFrame({"segment": ["x", "y"], "share of customers": [0.7, 0.3], "share of revenue": [0.2, 0.8]})
    ax = titled(charts.segment_value_chart(summary, "segment", "Size vs value"))
    assert ax.get_xlabel() == "% of the total" and len(ax.patches) == 4


def closed(fig):
    import matplotlib.pyplot as plt

    assert fig.number not in plt.get_fignums(), "chart left open"
    return titled(fig)


def test_propensity_charts():
    from portfolio_helpers.analysis import propensity

    y = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05]
    roc = propensity.roc_points(y, scores)
    ax = closed(charts.roc_chart({"Logistic": roc, "Boosting": roc}, "ROC", auc={"Logistic": 0.71}))
    assert "%" in ax.get_xlabel() and "%" in ax.get_ylabel() and len(ax.lines) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()][1:] == ["Logistic (AUC 0.71)", "Boosting"]

    calibration = propensity.calibration_table(y, scores, n_bins=3)
    ax = closed(charts.calibration_chart({"Logistic": calibration}, "Calibration"))
    assert ax.get_xlabel() == "Predicted probability (%)" and ax.get_ylabel() == "Observed rate (%)"
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == 3
    assert ax.lines[0].get_label() == "perfect calibration"

    lift = propensity.lift_table(y, scores, n_bins=4)
    ax = closed(charts.gains_chart({"Logistic": lift, "Boosting": lift}, "Gains"))
    assert len(ax.lines) == 3 and "%" in ax.get_xlabel() and "%" in ax.get_ylabel()
    x, y_line = ax.lines[1].get_data()
    assert (x[0], y_line[0]) == (0, 0) and x[-1] == pytest.approx(100) and y_line[-1] == pytest.approx(100)

    ax = closed(charts.lift_chart(lift, "Lift"))
    assert ax.get_xlabel() == "Decile (1 = highest score)" and ax.get_ylabel() == "Lift (× average rate)"
    assert len(ax.patches) == 4 and [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]
    assert any(line.get_ydata()[0] == 1 for line in ax.lines)


def test_score_and_grade_charts():
    scores = pd.Series([5.0, 20.0, 35.0, 50.0, 65.0, 80.0, 95.0, None])
    ax = closed(charts.score_histogram(scores, {"A": 80, "B": 60, "C": 40}, "Scores"))
    assert ax.get_xlabel() == "Score (0–100)" and ax.get_ylabel() == "Contacts"
    assert len(ax.lines) == 3 and [t.get_text() for t in ax.texts] == ["A ≥ 80", "B ≥ 60", "C ≥ 40"]
    assert sum(patch.get_height() for patch in ax.patches) == 7
    grades = pd.DataFrame({"grade": ["A", "B", "C", "D"], "contacts": [100, 300, 400, 1200],
                           "rate": [0.4, 0.2, 0.1, 0.02]})
    ax = closed(charts.grade_rates_chart(grades, "Conversion by grade", average_rate=0.074))
    assert ax.get_xlabel() == "Grade" and "%" in ax.get_ylabel() and len(ax.patches) == 4
    assert ax.lines[0].get_ydata()[0] == pytest.approx(7.4)
    assert "average 7.4%" in [t.get_text() for t in ax.texts]
    assert "40.0%\n100 contacts" in [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("n_cohorts", [1, 4, 12])
def test_cohort_heatmap_title_and_axis_label_do_not_overlap(n_cohorts):
    """CDNOW (one cohort) and Online Retail (four): the y-axis label ran over the title."""
    matrix = pd.DataFrame([[1.0, 0.23, 0.18, 0.18, 0.16, 0.14]] * n_cohorts,
                          index=[f"1997Q{i}" for i in range(n_cohorts)])
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with matplotlib.rc_context():
        charts.use_report_style()  # the fonts of the report
        fig = charts.cohort_heatmap(matrix, "Customers still active, by quarter of first purchase")
        canvas = FigureCanvasAgg(fig)  # the chart is returned closed, as the notebooks display it
        canvas.draw()
        renderer = canvas.get_renderer()
        ax = fig.axes[0]
        title, ylabel = ax.title.get_window_extent(renderer), ax.yaxis.label.get_window_extent(renderer)
    assert not title.overlaps(ylabel)
    assert title.x0 >= 0 and title.x1 <= fig.bbox.width  # the whole title is in the figure


def _line_points(ax):
    return [len(line.get_xdata()) for line in ax.get_lines()]


def test_curves_over_many_customers_are_drawn_through_at_most_max_points():
    values = pd.DataFrame({"customer_id": [f"c{i}" for i in range(1_000)], "revenue": range(1_000, 0, -1)})
    table = pareto.pareto_table(values)
    every = charts.pareto_chart(table, "revenue", "EUR", "Pareto")
    assert 1_000 in _line_points(every.axes[1])
    thin = charts.pareto_chart(table, "revenue", "EUR", "Pareto", max_points=101)
    assert 101 in _line_points(thin.axes[1]) and 1_000 not in _line_points(thin.axes[1])
    # the 80% mark is found on every customer, not on the drawn ones
    assert [t.get_text() for t in thin.axes[1].texts] == [t.get_text() for t in every.axes[1].texts]
    lorenz = pareto.lorenz_curve(range(1_000))  # 1,001 points
    assert 1_001 in _line_points(charts.lorenz_chart({"revenue": lorenz}, "Lorenz").axes[0])
    assert 11 in _line_points(charts.lorenz_chart({"revenue": lorenz}, "Lorenz", max_points=11).axes[0])
    assert charts.curve_points(1_001, max_points=11).tolist() == list(range(0, 1_001, 100))


def test_whale_curve_keeps_its_peak_when_thinned():
    profit = pd.Series([5.0] * 601 + [-1.0] * 399)
    curve = pd.DataFrame({"customer_share": [i / 1_000 for i in range(1_001)],
                          "cumulative_profit_share": [0.0, *(profit.cumsum() / profit.sum()).tolist()]})
    ax = charts.whale_chart(curve, "Whale", max_points=11).axes[0]
    x, y = ax.get_lines()[0].get_xdata(), ax.get_lines()[0].get_ydata()
    assert len(x) == 12 and x[7] == pytest.approx(60.1)  # 11 evenly spaced points and the peak, at 601 customers
    assert max(y) == pytest.approx(3005 / 2606 * 100)
    assert any("peak 115%" in t.get_text() for t in ax.texts)


def test_quadrant_plots_a_seeded_sample_of_many_customers_and_says_so():
    n = 500
    pnl = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "revenue": [10.0 + i for i in range(n)],
                        "profit": [(-1) ** i * 5.0 for i in range(n)]})
    every = charts.quadrant_chart(pnl, "EUR", "Quadrant", revenue_split=100).axes[0]
    assert len(every.collections[0].get_offsets()) == n and "sample" not in every.get_xlabel()
    labels = pd.Series({"c499": "Big corp"})
    ax = charts.quadrant_chart(pnl, "EUR", "Quadrant", revenue_split=100, labels=labels, max_points=50, seed=1).axes[0]
    offsets = ax.collections[0].get_offsets()
    assert 50 <= len(offsets) <= 51 and 509.0 in offsets[:, 0]  # the labelled customer is always plotted
    assert f"a random sample of {len(offsets)} of the 500 customers with revenue (seed 1)" in ax.get_xlabel()
    again = charts.quadrant_chart(pnl, "EUR", "Quadrant", revenue_split=100, labels=labels, max_points=50, seed=1)
    assert (again.axes[0].collections[0].get_offsets() == offsets).all()
