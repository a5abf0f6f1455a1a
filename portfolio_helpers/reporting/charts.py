"""Report charts: one consistent look, titles and units on every axis.

Each function returns the matplotlib ``Figure`` so notebooks can show it and
tests can inspect it.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from portfolio_helpers.reporting.narrative import fmt_money, fmt_pct

__all__ = [
    "MAX_CURVE_POINTS",
    "MAX_SCATTER_POINTS",
    "curve_points",
    "use_report_style",
    "money_axis",
    "revenue_over_time",
    "share_bars",
    "pareto_chart",
    "lorenz_chart",
    "trend_chart",
    "matrix_heatmap",
    "whale_chart",
    "quadrant_chart",
    "driver_bars",
    "completeness_chart",
    "count_bars",
    "k_selection_chart",
    "projection_chart",
    "segment_value_chart",
    "roc_chart",
    "calibration_chart",
    "gains_chart",
    "lift_chart",
    "score_histogram",
    "grade_rates_chart",
    "cohort_heatmap",
    "retention_curves",
    "bridge_waterfall",
    "owner_bars",
    "grade_funnel",
    "tracking_chart",
    "conditional_expectation_chart",
    "value_histogram",
]

PRIMARY = "#1f5f8b"
NEGATIVE = "#c0392b"
MUTED = "#9aa5b1"

#: A curve over customers (Pareto, Lorenz, whale) with more points than this is drawn through this many
#: evenly spaced points, the first and the last kept: a 9-inch chart is 900 pixels wide, so the line looks the
#: same, and drawing it no longer grows with the number of customers.
MAX_CURVE_POINTS = 20_000
#: A scatter of customers with more points than this plots a seeded random sample of this many, said on the chart.
MAX_SCATTER_POINTS = 20_000


def curve_points(n: int, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Positions of the points drawn of a curve of ``n`` points: all of them up to ``max_points``, else
    ``max_points`` evenly spaced ones, the first and the last included.

    Examples
    --------
    >>> curve_points(4).tolist()
    [0, 1, 2, 3]
    >>> curve_points(101, max_points=5).tolist()
    [0, 25, 50, 75, 100]
    """
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(int(max_points), 2)).round().astype(np.int64))


def use_report_style() -> None:
    """Seaborn's clean white style, readable sizes, no chart junk."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    matplotlib.rcParams.update({
        "figure.figsize": (9, 4),
        "figure.dpi": 100,
        "axes.titleweight": "bold",
        "axes.titlesize": 13,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "savefig.bbox": "tight",
        # Labels come from the data: "$" in a name is a dollar sign, not the start of a formula.
        "text.parse_math": False,
    })


def money_axis(ax, currency: str, axis: str = "y") -> None:
    formatter = FuncFormatter(lambda value, _pos: fmt_money(value, currency))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def revenue_over_time(periods: pd.DataFrame, currency: str, title: str, period_label: str = "Month"):
    """Bar chart of revenue per period (``period``, ``revenue`` columns); negative periods in red."""
    fig, ax = plt.subplots()
    colors = [NEGATIVE if value < 0 else PRIMARY for value in periods["revenue"]]
    width = 25 if len(periods) > 1 and (periods["period"].diff().dt.days.median() or 0) >= 28 else 0.8
    ax.bar(periods["period"], periods["revenue"], color=colors, width=width)
    ax.set_title(title)
    ax.set_xlabel(period_label)
    ax.set_ylabel(f"Net revenue ({currency})")
    money_axis(ax, currency)
    fig.autofmt_xdate()
    plt.close(fig)
    return fig


def share_bars(frame: pd.DataFrame, label: str, value: str, currency: str, title: str, top_n: int = 12):
    """Horizontal bars of ``value`` per ``label``, annotated with each bar's share of the total."""
    data = frame.nlargest(top_n, value) if len(frame) > top_n else frame.sort_values(value, ascending=False)
    total = frame[value].sum()
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(data) + 1.2))
    ax.barh(data[label].astype(str), data[value], color=PRIMARY)
    ax.invert_yaxis()
    for position, amount in enumerate(data[value]):
        share = amount / total if total else float("nan")
        ax.annotate(fmt_pct(share), (amount, position), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=9)
    ax.set_title(title)
    ax.set_xlabel(f"Net revenue ({currency})")
    ax.set_ylabel("")
    money_axis(ax, currency, axis="x")
    ax.margins(x=0.12)
    plt.close(fig)
    return fig


def pareto_chart(table: pd.DataFrame, value: str, currency: str, title: str, target: float = 0.8,
                 max_points: int = MAX_CURVE_POINTS):
    """Pareto chart: each customer's value (largest first, filled) and the cumulative share (line).

    ``table`` is the output of :func:`portfolio_helpers.analysis.pareto.pareto_table`. The x axis is
    in % of customers, so the chart reads the same for 50 or 5 million customers; the
    dashed lines mark where ``target`` of the total is reached. Above ``max_points``
    customers both are drawn through ``max_points`` evenly spaced customers
    (:func:`curve_points`); the target is found on every customer.
    """
    n_customers = len(table)
    customer_pct = (pd.RangeIndex(1, n_customers + 1) / n_customers * 100).to_numpy()
    shown = curve_points(n_customers, max_points)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    label = value.replace("_", " ")
    ax.fill_between(customer_pct[shown], table[value].clip(lower=0).to_numpy()[shown], step="pre", color=PRIMARY,
                    alpha=0.55, linewidth=0, label=f"{label} per customer")
    ax.set_xlabel("Customers, largest first (% of customers)")
    ax.set_ylabel(f"{label.capitalize()} per customer ({currency})")
    money_axis(ax, currency)
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    line_ax = ax.twinx()
    line_ax.plot(customer_pct[shown], table["cumulative_share"].to_numpy()[shown] * 100, color=NEGATIVE, linewidth=2,
                 label=f"cumulative share of {label}")
    line_ax.axhline(target * 100, color=MUTED, linestyle="--", linewidth=1)
    reached = (table["cumulative_share"] >= target - 1e-12).to_numpy()
    if reached.any():
        x_target = customer_pct[reached.argmax()]
        line_ax.axvline(x_target, color=MUTED, linestyle="--", linewidth=1)
        line_ax.annotate(f"{x_target:.1f}% of customers make {target:.0%}", (x_target, target * 100),
                         xytext=(6, -14), textcoords="offset points", fontsize=9)
    line_ax.set_ylim(0, 105)
    line_ax.set_ylabel("Cumulative share (%)")
    line_ax.grid(False)
    handles = ax.get_legend_handles_labels()[0] + line_ax.get_legend_handles_labels()[0]
    line_ax.legend(handles, [h.get_label() for h in handles], loc="lower right", frameon=False)
    ax.set_title(title)
    plt.close(fig)
    return fig


def lorenz_chart(curves: dict[str, pd.DataFrame], title: str, max_points: int = MAX_CURVE_POINTS):
    """Lorenz curves (``customer_share``, ``value_share``) against the line of equality (each drawn through at
    most ``max_points`` evenly spaced points, :func:`curve_points`)."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.plot([0, 100], [0, 100], color=MUTED, linestyle="--", label="perfect equality")
    for (label, curve), color in zip(curves.items(), (PRIMARY, NEGATIVE, "#27ae60"), strict=False):
        curve = curve.iloc[curve_points(len(curve), max_points)]
        ax.plot(curve["customer_share"] * 100, curve["value_share"] * 100, color=color, linewidth=2, label=label)
    ax.set_xlabel("Customers, smallest first (cumulative %)")
    ax.set_ylabel("Cumulative share of the total (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False)
    plt.close(fig)
    return fig


def trend_chart(frame: pd.DataFrame, period: str, series: dict[str, str], title: str, ylabel: str,
                period_format: str = "%Y"):
    """Lines over periods; ``series`` maps column -> label. Values are shares shown in %."""
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = frame[period].dt.strftime(period_format) if hasattr(frame[period], "dt") else frame[period].astype(str)
    for (column, label), color in zip(series.items(), (PRIMARY, NEGATIVE, "#27ae60", MUTED), strict=False):
        ax.plot(labels, frame[column] * 100, marker="o", color=color, label=label)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower right")
    plt.close(fig)
    return fig


def matrix_heatmap(matrix: pd.DataFrame, title: str, xlabel: str, ylabel: str, fmt: str = "d",
                   value_label: str = ""):
    """A labelled heatmap of a small matrix (e.g. class migration counts)."""
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(1.3 * matrix.shape[1] + 2.5, 0.8 * matrix.shape[0] + 1.5))
    sns.heatmap(matrix, annot=True, fmt=fmt, cmap="Blues", cbar_kws={"label": value_label}, ax=ax,
                linewidths=0.5)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    plt.close(fig)
    return fig


def whale_chart(curve: pd.DataFrame, title: str, max_points: int = MAX_CURVE_POINTS):
    """Whale curve: cumulative profit (% of total) against customers ranked by profit, most profitable first.

    Above ``max_points`` points the line is drawn through ``max_points`` evenly spaced ones
    (:func:`curve_points`) and the peak, found on every point."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = curve["customer_share"] * 100
    y = curve["cumulative_profit_share"] * 100
    peak = int(y.to_numpy().argmax())
    shown = curve_points(len(curve), max_points)
    if len(shown) < len(curve):
        shown = np.union1d(shown, [peak])
    ax.plot(x.iloc[shown], y.iloc[shown], color=PRIMARY, linewidth=2)
    ax.axhline(100, color=MUTED, linestyle="--", linewidth=1)
    ax.scatter([x.iloc[peak]], [y.iloc[peak]], color=NEGATIVE, zorder=3)
    ax.annotate(f"peak {y.iloc[peak]:.0f}% of total profit\nwith {x.iloc[peak]:.0f}% of customers",
                (x.iloc[peak], y.iloc[peak]), xytext=(10, -30), textcoords="offset points", fontsize=9)
    ax.set_xlabel("Customers ranked by profit, most profitable first (% of customers)")
    ax.set_ylabel("Cumulative profit (% of total profit)")
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=min(0, float(y.min()) - 5))
    ax.set_title(title)
    plt.close(fig)
    return fig


def quadrant_chart(pnl: pd.DataFrame, currency: str, title: str, revenue_split: float, labels: pd.Series | None = None,
                   max_points: int = MAX_SCATTER_POINTS, seed: int = 0):
    """Revenue (x, log scale) against profit (y): the large-but-unprofitable customers stand out bottom right.

    With more than ``max_points`` customers with revenue, a random sample of ``max_points`` of them
    (drawn with ``seed``) is plotted, the labelled ones always among them; the x-axis label says so.
    """
    fig, ax = plt.subplots(figsize=(9, 5))
    positive = pnl[pnl["revenue"] > 0]
    plotted, note = positive, ""
    if len(positive) > max_points:
        plotted = positive.sample(max_points, random_state=seed)
        if labels is not None:
            labelled = positive[positive["customer_id"].isin(labels.index)]
            plotted = pd.concat([plotted, labelled[~labelled.index.isin(plotted.index)]])
        note = (f"; a random sample of {len(plotted):,} of the {len(positive):,} customers with revenue "
                f"(seed {seed})")
    colors = np.where(plotted["profit"].to_numpy() < 0, NEGATIVE, PRIMARY).tolist()
    ax.scatter(plotted["revenue"], plotted["profit"], s=12, alpha=0.6, c=colors, linewidths=0)
    ax.set_xscale("log")
    ax.axhline(0, color=MUTED, linewidth=1)
    ax.axvline(revenue_split, color=MUTED, linestyle="--", linewidth=1)
    if labels is not None:
        # Staggered offsets with leader lines: the largest loss-makers often sit close together.
        for position, (customer_id, label) in enumerate(labels.items()):
            row = positive[positive["customer_id"] == customer_id]
            if not row.empty:
                ax.annotate(label, (row["revenue"].iloc[0], row["profit"].iloc[0]),
                            xytext=(-150, -18 - 16 * position), textcoords="offset points", fontsize=8,
                            color=NEGATIVE, arrowprops={"arrowstyle": "-", "color": NEGATIVE, "lw": 0.6})
    ax.text(0.99, 0.02, "large & unprofitable", transform=ax.transAxes, ha="right", fontsize=9, color=NEGATIVE)
    ax.text(0.99, 0.97, "large & profitable", transform=ax.transAxes, ha="right", va="top", fontsize=9)
    ax.set_xlabel(f"Net revenue ({currency}, log scale{note})")
    ax.set_ylabel(f"Profit after cost to serve ({currency})")
    money_axis(ax, currency, axis="x")
    money_axis(ax, currency)
    ax.set_title(title)
    plt.close(fig)
    return fig


def driver_bars(totals: pd.Series, currency: str, title: str):
    """Horizontal bars of cost totals per driver, annotated with their share."""
    data = totals[totals > 0].sort_values()
    fig, ax = plt.subplots(figsize=(9, 0.5 * max(len(data), 1) + 1.2))
    ax.barh(data.index.astype(str), data.to_numpy(), color=PRIMARY)
    total = data.sum()
    for position, amount in enumerate(data.to_numpy()):
        ax.annotate(fmt_pct(amount / total if total else float("nan")), (amount, position), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=9)
    ax.set_xlabel(f"Cost ({currency})")
    money_axis(ax, currency, axis="x")
    ax.margins(x=0.12)
    ax.set_title(title)
    plt.close(fig)
    return fig


def completeness_chart(scorecard: pd.DataFrame, title: str, max_rows: int = 20):
    """Share of records filled per table.column (lowest first), from a quality scorecard."""
    rows = scorecard[scorecard["dimension"] == "completeness"].copy()
    rows["field"] = rows["table"] + "." + rows["column"]
    rows = rows.sort_values("score").head(max_rows).iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.32 * max(len(rows), 1) + 1.2))
    colors = [NEGATIVE if score < 0.9 else PRIMARY for score in rows["score"]]
    ax.barh(rows["field"], rows["score"] * 100, color=colors)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Records with a value (%)")
    ax.set_ylabel("")
    ax.set_title(title)
    plt.close(fig)
    return fig


def count_bars(counts: pd.Series, title: str, xlabel: str):
    """Horizontal bars of counts (largest on top), each annotated with its count."""
    data = counts.sort_values()
    fig, ax = plt.subplots(figsize=(9, 0.4 * max(len(data), 1) + 1.2))
    ax.barh(data.index.astype(str), data.to_numpy(), color=PRIMARY)
    for position, count in enumerate(data.to_numpy()):
        ax.annotate(f"{int(count):,}", (count, position), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=9)
    ax.set_xlabel(xlabel)
    ax.margins(x=0.1)
    ax.set_title(title)
    plt.close(fig)
    return fig


def k_selection_chart(k_scores: pd.DataFrame, suggested_k: int, title: str):
    """Elbow, silhouette, Calinski-Harabasz and Davies-Bouldin side by side, the suggested k marked.

    ``k_scores`` has a ``k`` column (or index) and ``inertia``, ``silhouette``,
    ``calinski_harabasz``, ``davies_bouldin`` columns.
    """
    frame = k_scores.reset_index() if "k" not in k_scores.columns else k_scores
    panels = (("inertia", "Elbow: within-cluster spread (lower is tighter)"),
              ("silhouette", "Silhouette (higher is better)"),
              ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
              ("davies_bouldin", "Davies-Bouldin (lower is better)"))
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    for ax, (column, label) in zip(axes, panels, strict=True):
        ax.plot(frame["k"], frame[column], marker="o", color=PRIMARY)
        ax.axvline(suggested_k, color=NEGATIVE, linestyle="--", linewidth=1)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("number of segments k")
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    plt.close(fig)
    return fig


def projection_chart(projection: pd.DataFrame, names: pd.Series, title: str, explained: tuple | None = None,
                     max_points: int = 5000, seed: int = 0):
    """2-D PCA projection (``pc1``, ``pc2``) coloured by segment name."""
    import seaborn as sns

    data = projection.assign(segment=names.to_numpy())
    if len(data) > max_points:
        data = data.sample(max_points, random_state=seed)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    sns.scatterplot(data=data, x="pc1", y="pc2", hue="segment", s=14, alpha=0.7, linewidth=0, ax=ax)
    suffix = [f" ({share:.0%} of variance)" for share in explained] if explained else ["", ""]
    ax.set_xlabel("first principal component" + suffix[0])
    ax.set_ylabel("second principal component" + suffix[1])
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.set_title(title)
    plt.close(fig)
    return fig


def segment_value_chart(summary: pd.DataFrame, label: str, title: str):
    """Share of customers beside share of revenue (and of profit when present) per segment."""
    columns = [col for col in ("share of customers", "share of revenue", "share of profit") if col in summary]
    data = summary.set_index(label)[columns] * 100
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(data) + 1.5))
    data.iloc[::-1].plot.barh(ax=ax, color=[MUTED, PRIMARY, NEGATIVE][: len(columns)], width=0.8)
    ax.set_xlabel("% of the total")
    ax.set_ylabel("")
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(title)
    plt.close(fig)
    return fig


SERIES_COLORS = (PRIMARY, NEGATIVE, "#27ae60", "#8e44ad", MUTED)


def _percent_axis(ax, axis: str = "both") -> None:
    formatter = FuncFormatter(lambda value, _pos: f"{value:.0f}%")
    if axis in ("x", "both"):
        ax.xaxis.set_major_formatter(formatter)
    if axis in ("y", "both"):
        ax.yaxis.set_major_formatter(formatter)


def roc_chart(curves: dict[str, pd.DataFrame], title: str, auc: dict[str, float] | None = None):
    """ROC curves (``fpr``, ``tpr`` from :func:`portfolio_helpers.analysis.propensity.roc_points`) against chance.

    ``auc`` maps a curve's name to its ROC AUC, shown in the legend.
    """
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.plot([0, 100], [0, 100], color=MUTED, linestyle="--", linewidth=1, label="random order (AUC 0.50)")
    for (label, curve), color in zip(curves.items(), SERIES_COLORS, strict=False):
        name = f"{label} (AUC {auc[label]:.2f})" if auc and label in auc else label
        ax.plot(curve["fpr"] * 100, curve["tpr"] * 100, color=color, linewidth=2, label=name)
    ax.set_xlabel("False positive rate: negatives flagged (%)")
    ax.set_ylabel("True positive rate: positives flagged (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    _percent_axis(ax)
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    plt.close(fig)
    return fig


def calibration_chart(tables: dict[str, pd.DataFrame], title: str):
    """Observed rate against mean predicted probability per bin (``calibration_table``), with the diagonal.

    Points are sized by the number of contacts in the bin. Both axes share the same range,
    zoomed on the probabilities present (low base rates stay readable).
    """
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    top = max([float(max(t["mean_predicted"].max(), t["observed_rate"].max())) for t in tables.values()
               if len(t)] + [0.01])
    limit = min(100.0, top * 100 * 1.08)
    ax.plot([0, limit], [0, limit], color=MUTED, linestyle="--", linewidth=1, label="perfect calibration")
    largest = max([int(t["contacts"].max()) for t in tables.values() if len(t)] + [1])
    for (label, table), color in zip(tables.items(), SERIES_COLORS, strict=False):
        x, y = table["mean_predicted"] * 100, table["observed_rate"] * 100
        ax.plot(x, y, color=color, linewidth=1.2, alpha=0.8)
        ax.scatter(x, y, s=20 + 130 * table["contacts"] / largest, color=color, alpha=0.8, zorder=3,
                   label=label)
    ax.set_xlabel("Predicted probability (%)")
    ax.set_ylabel("Observed rate (%)")
    ax.set_xlim(0, limit)
    ax.set_ylim(0, limit)
    _percent_axis(ax)
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False)
    plt.close(fig)
    return fig


def gains_chart(tables: dict[str, pd.DataFrame], title: str):
    """Cumulative gains from ``lift_table``s: share of positives found against share of contacts called.

    Every curve starts at (0, 0); the diagonal is calling in random order.
    """
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.plot([0, 100], [0, 100], color=MUTED, linestyle="--", linewidth=1, label="random order")
    for (label, table), color in zip(tables.items(), SERIES_COLORS, strict=False):
        x = [0.0, *(table["cumulative_contacts_share"] * 100)]
        y = [0.0, *(table["cumulative_positives_share"] * 100)]
        ax.plot(x, y, color=color, linewidth=2, marker="o", markersize=4, label=label)
    ax.set_xlabel("Contacts called, highest score first (% of contacts)")
    ax.set_ylabel("Positives found (% of all positives)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    _percent_axis(ax)
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    plt.close(fig)
    return fig


def lift_chart(table: pd.DataFrame, title: str):
    """Lift per decile (``lift_table``): bars above 1 beat the average rate, annotated ``2.3×``."""
    fig, ax = plt.subplots(figsize=(9, 4))
    lift = table["lift"].fillna(0)
    colors = [PRIMARY if value >= 1 else MUTED for value in lift]
    ax.bar(table["decile"].astype(str), lift, color=colors)
    ax.axhline(1, color=NEGATIVE, linestyle="--", linewidth=1)
    ax.annotate("average", (1, 1), xycoords=("axes fraction", "data"), xytext=(-4, 3),
                textcoords="offset points", ha="right", fontsize=9, color=NEGATIVE)
    for position, value in enumerate(lift):
        ax.annotate(f"{value:.1f}×", (position, value), xytext=(0, 3), textcoords="offset points",
                    ha="center", fontsize=9)
    ax.set_xlabel("Decile (1 = highest score)")
    ax.set_ylabel("Lift (× average rate)")
    ax.set_ylim(0, max(float(lift.max()), 1.0) * 1.15)
    ax.set_title(title)
    plt.close(fig)
    return fig


def score_histogram(scores: pd.Series, thresholds: dict[str, float], title: str,
                    xlabel: str = "Score (0–100)"):
    """Distribution of scores with a labelled vertical line at each grade threshold (grade -> lower bound)."""
    fig, ax = plt.subplots(figsize=(9, 4))
    values = pd.Series(scores).dropna().astype(float)
    ax.hist(values, bins=min(40, max(10, int(len(values) ** 0.5))), color=PRIMARY, alpha=0.8)
    for label, value in thresholds.items():
        ax.axvline(value, color=NEGATIVE, linestyle="--", linewidth=1)
        ax.annotate(f"{label} ≥ {value:g}", (value, 1), xycoords=("data", "axes fraction"), xytext=(3, -12),
                    textcoords="offset points", fontsize=9, color=NEGATIVE)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Contacts")
    ax.set_title(title)
    plt.close(fig)
    return fig


def grade_rates_chart(frame: pd.DataFrame, title: str, average_rate: float):
    """Observed conversion rate per grade (``grade``, ``contacts``, ``rate``), the average as a line."""
    fig, ax = plt.subplots(figsize=(9, 4))
    rates = frame["rate"] * 100
    colors = [PRIMARY if rate >= average_rate else MUTED for rate in frame["rate"]]
    ax.bar(frame["grade"].astype(str), rates, color=colors)
    ax.axhline(average_rate * 100, color=NEGATIVE, linestyle="--", linewidth=1)
    ax.annotate(f"average {fmt_pct(average_rate)}", (1, average_rate * 100),
                xycoords=("axes fraction", "data"), xytext=(-4, 3), textcoords="offset points", ha="right",
                fontsize=9, color=NEGATIVE)
    for position, (rate, contacts) in enumerate(zip(frame["rate"], frame["contacts"], strict=True)):
        ax.annotate(f"{fmt_pct(rate)}\n{int(contacts):,} contacts", (position, rate * 100), xytext=(0, 3),
                    textcoords="offset points", ha="center", fontsize=9)
    ax.set_xlabel("Grade")
    ax.set_ylabel("Observed conversion rate (%)")
    ax.set_ylim(0, max(float(rates.max()), average_rate * 100) * 1.25 or 1)
    _percent_axis(ax, "y")
    ax.set_title(title)
    plt.close(fig)
    return fig


def cohort_heatmap(matrix: pd.DataFrame, title: str, xlabel: str = "Periods since the first purchase",
                   ylabel: str = "Cohort (first purchase)"):
    """Heatmap of shares (0-1) per cohort (rows) and period since (columns), annotated in %.

    At least 8 x 3.6 inches, so that the title and the axis label fit with a single cohort."""
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(min(max(0.6 * matrix.shape[1] + 3, 8), 16), max(0.42 * matrix.shape[0] + 1.8, 3.6)))
    sns.heatmap(matrix * 100, annot=matrix.shape[1] <= 16, fmt=".0f", cmap="Blues", vmin=0, vmax=100,
                cbar_kws={"label": "customers still active (%)"}, ax=ax, linewidths=0.3)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    plt.close(fig)
    return fig


def retention_curves(curves: pd.DataFrame, title: str, xlabel: str = "Periods since the first purchase"):
    """One line per column of ``curves`` (shares 0-1, indexed by periods since), in %."""
    fig, ax = plt.subplots(figsize=(9, 4))
    for position, column in enumerate(curves.columns):
        values = curves[column].dropna()
        ax.plot(values.index, values * 100, marker="o", markersize=3, label=str(column),
                color=PRIMARY if position == len(curves.columns) - 1 else None, linewidth=1.2)
    ax.set_ylim(0, 105)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Customers still active (%)")
    _percent_axis(ax, "y")
    ax.set_title(title)
    if len(curves.columns):
        ax.legend(frameon=False, fontsize=8, ncol=2, title="cohort")
    plt.close(fig)
    return fig


def bridge_waterfall(steps: pd.Series, currency: str, title: str):
    """Waterfall: the first and last values of ``steps`` as totals, the ones between as movements."""
    fig, ax = plt.subplots(figsize=(9, 4))
    labels = [str(label) for label in steps.index]
    bottoms, heights, colors = [], [], []
    level = 0.0
    for position, value in enumerate(steps.to_numpy(dtype=float)):
        if position in (0, len(steps) - 1):
            bottoms.append(0.0)
            heights.append(value)
            colors.append(MUTED)
            level = value
        else:
            bottoms.append(level if value >= 0 else level + value)
            heights.append(abs(value))
            colors.append(PRIMARY if value >= 0 else NEGATIVE)
            level += value
    ax.bar(labels, heights, bottom=bottoms, color=colors)
    for position, value in enumerate(steps.to_numpy(dtype=float)):
        ax.annotate(fmt_money(value, currency), (position, bottoms[position] + heights[position]),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_ylabel(f"Net revenue ({currency})")
    money_axis(ax, currency)
    ax.set_title(title)
    plt.close(fig)
    return fig


def owner_bars(books: pd.DataFrame, currency: str, title: str):
    """Horizontal bars per owner (the books of :func:`portfolio_helpers.analysis.growth.owner_books`): revenue
    of the last 12 months, of the 12 before, and the revenue at risk."""
    data = books.iloc[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(data) + 1.5))
    positions = range(len(data))
    ax.barh([p + 0.2 for p in positions], data["revenue_previous"], height=0.4, color=MUTED,
            label="previous 12 months")
    ax.barh([p - 0.2 for p in positions], data["revenue"], height=0.4, color=PRIMARY, label="last 12 months")
    ax.barh([p - 0.2 for p in positions], data["revenue_at_risk"], height=0.4, color=NEGATIVE,
            label="of which customers at risk")
    ax.set_yticks(list(positions), data["owner"].astype(str))
    ax.set_xlabel(f"Net revenue ({currency})")
    money_axis(ax, currency, axis="x")
    ax.set_title(title)
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    plt.close(fig)
    return fig


def grade_funnel(distribution: pd.DataFrame, title: str, unit: str = "leads"):
    """Contacts per grade as a funnel: the best grade on top, bars centred, each with its count and share.

    ``distribution`` is :func:`portfolio_helpers.analysis.scorecard.grade_distribution`
    (``grade``, ``contacts``, ``share``; best grade first).

    Examples
    --------
    >>> distribution = pd.DataFrame({"grade": ["A", "B", "C"], "contacts": [2, 3, 5], "share": [0.2, 0.3, 0.5]})
    >>> figure = grade_funnel(distribution, "Open leads per grade")
    >>> [text.get_text() for text in figure.axes[0].texts]
    ['5 leads (50.0%)', '3 leads (30.0%)', '2 leads (20.0%)']
    """
    data = distribution.iloc[::-1]
    counts = data["contacts"].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(8, 0.55 * max(len(data), 1) + 1.2))
    widest = counts.max() if len(counts) and counts.max() > 0 else 1.0
    ax.barh(data["grade"].astype(str), counts, left=(widest - counts) / 2, color=PRIMARY)
    for position, (count, share) in enumerate(zip(counts, data["share"], strict=True)):
        label = f"{int(count):,} {unit} ({fmt_pct(share)})"
        if count > widest * 0.45:  # inside a wide bar, in white
            ax.text(widest / 2, position, label, ha="center", va="center", fontsize=9, color="white")
        else:  # beside a narrow one
            ax.text((widest + count) / 2 + widest * 0.02, position, label, ha="left", va="center", fontsize=9)
    ax.set_xlim(0, widest)
    ax.set_xticks([])
    ax.set_ylabel("grade (best on top)")
    ax.set_title(title)
    plt.close(fig)
    return fig


_SERIES_COLORS = (PRIMARY, NEGATIVE, "#27ae60", "#8e44ad", MUTED)


def tracking_chart(frame: pd.DataFrame, series: dict[str, str], time_unit: str, title: str,
                   calibration_end: float | None = None):
    """Repeat purchases per ``time_unit``, actual and predicted: cumulative (left) and per period (right).

    ``frame`` has ``period``, ``actual``, ``actual_cumulative`` and, per key of ``series``
    (key -> label), ``<key>`` and ``<key>_cumulative``. A dashed line marks the calibration end.
    """
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, suffix, label in ((axes[0], "_cumulative", "cumulative"), (axes[1], "", "per " + time_unit)):
        ax.plot(frame["period"], frame["actual" + suffix], color="black", label="actual")
        for (key, name), color in zip(series.items(), _SERIES_COLORS, strict=False):
            ax.plot(frame["period"], frame[key + suffix], color=color, linestyle="--", label=name)
        if calibration_end is not None:
            ax.axvline(calibration_end, color=MUTED, linestyle=":", label="end of calibration")
        ax.set_xlabel(f"{time_unit.capitalize()}s since the first purchase of the cohort")
        ax.set_ylabel(f"Repeat purchases ({label})")
        ax.set_title(f"{title}: {label}", fontsize=11)
    axes[0].legend(frameon=False, loc="upper left")
    plt.close(fig)
    return fig


def conditional_expectation_chart(frame: pd.DataFrame, series: dict[str, str], time_unit: str, title: str,
                                  holdout_units: float):
    """Mean holdout repeat purchases by calibration frequency (``frequency`` labels), actual against each model."""
    fig, ax = plt.subplots()
    ax.plot(frame["frequency"], frame["actual"], color="black", marker="o", label="actual")
    for (key, name), color in zip(series.items(), _SERIES_COLORS, strict=False):
        ax.plot(frame["frequency"], frame[key], color=color, marker="o", linestyle="--", label=name)
    ax.set_xlabel("Repeat purchases in the calibration period")
    ax.set_ylabel(f"Mean repeat purchases in the {holdout_units:.0f} {time_unit}s after")
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper left")
    plt.close(fig)
    return fig


def value_histogram(values: pd.Series, currency: str, title: str, xlabel: str, bins: int = 40):
    """Histogram of a per-customer money value, with the median marked.

    A long right tail (the top 1% of at least 100 customers reaching beyond twice the range of the other 99%)
    would squeeze everyone else into one bar: those top customers are left out of the bars, and the axis label
    says how many and from which value.
    """
    fig, ax = plt.subplots()
    data = values.dropna()
    shown, note = data, ""
    if len(data) >= 100:
        cut = float(data.quantile(0.99))
        if float(data.max()) - cut > 2 * (cut - float(data.min())):
            shown = data[data <= cut]
            note = f"; {len(data) - len(shown):,} customers above {fmt_money(cut, currency)} not shown"
    ax.hist(shown, bins=bins, color=PRIMARY)
    if len(data):
        ax.axvline(float(data.median()), color=NEGATIVE, linestyle="--",
                   label=f"median {fmt_money(float(data.median()), currency)}")
        ax.legend(frameon=False)
    ax.set_xlabel(f"{xlabel} ({currency}){note}")
    ax.set_ylabel("Customers")
    money_axis(ax, currency, axis="x")
    ax.set_title(title)
    plt.close(fig)
    return fig
