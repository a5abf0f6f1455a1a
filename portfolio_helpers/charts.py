"""Report charts: one consistent look, titles and units on every axis.

Each function returns the matplotlib ``Figure`` so notebooks can show it and
tests can inspect it.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

from .narrative import fmt_money, fmt_pct

__all__ = ["use_report_style", "money_axis", "revenue_over_time", "share_bars"]

PRIMARY = "#1f5f8b"
NEGATIVE = "#c0392b"
MUTED = "#9aa5b1"


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


def share_bars(frame: pd.DataFrame, label: str, value: str, currency: str, title: str, top: int = 12):
    """Horizontal bars of ``value`` per ``label``, annotated with each bar's share of the total."""
    data = frame.nlargest(top, value) if len(frame) > top else frame.sort_values(value, ascending=False)
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
