"""Tables and plain-language findings of notebook ``02_pareto``, built on :mod:`portfolio_helpers.analysis.pareto`.

The measures live in :mod:`~portfolio_helpers.analysis.pareto`; this module turns them into
what a manager reads: sentences with the figures, and small formatted tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from IPython.display import display

from portfolio_helpers.analysis import engine, pareto
from portfolio_helpers.core.presence import has_values
from portfolio_helpers.reporting import charts
from portfolio_helpers.reporting.absence import Need, absence_notes
from portfolio_helpers.reporting.narrative import (
    bullets,
    fmt_int,
    fmt_money,
    fmt_pct,
    plural,
    show_markdown,
    show_table,
)
from portfolio_helpers.reporting.widgets import explorer_box, labelled_slider

__all__ = [
    "dimension_risks",
    "RISK_DIMENSIONS",
    "findings",
    "gini_sentence",
    "abc_summary",
    "abc_summary_formats",
    "dependence_sentences",
    "top_customers",
    "top_customers_formats",
    "trend_table",
    "trend_formats",
    "migration_sentences",
    "value_comparison",
    "value_comparison_formats",
    "trend_frequency",
    "NEEDS",
    "pareto_metrics",
    "small_portfolio_notes",
    "customer_export",
    "lorenz_curves",
    "margin_comparison",
    "margin_comparison_intro",
    "dimension_title",
    "dimension_risk_text",
    "settings_sentence",
    "pareto_explorer",
]

# Where one dominant value is a risk (a market, a sector, a salesperson); B2B vs B2C is a mix, not a risk.
RISK_DIMENSIONS = ("country", "industry", "owner")


def findings(summary: dict, table: pd.DataFrame, currency: str, top_share: float = 0.2, a: float = 0.8) -> list[str]:
    """The headline sentences of the Pareto analysis, every figure from ``summary``."""
    n = summary["n_customers"]
    lines = [
        f"**{plural(summary['n_customers_for_target'], 'customer')} "
        f"({fmt_pct(summary['share_customers_for_target'])} of {fmt_int(n)}) bring 80% of revenue**"
        + (" — close to the 80/20 rule." if abs(summary["share_customers_for_target"] - 0.2) <= 0.05 else
           (" — more concentrated than the 80/20 rule." if summary["share_customers_for_target"] < 0.2
            else " — less concentrated than the 80/20 rule.")),
        f"The top {fmt_pct(top_share, 0)} ({plural(summary['top_n'], 'customer')}) bring "
        f"{fmt_pct(summary['top_share'])} of revenue.",
        f"Class A ({plural(summary['n_customers_A'], 'customer')}) makes {fmt_pct(summary['value_share_A'])} "
        f"of revenue; class C ({plural(summary['n_customers_C'], 'customer')}) "
        f"{fmt_pct(summary['value_share_C'])}.",
    ]
    if summary["n_major_customers"]:
        lines.append(f"{plural(summary['n_major_customers'], 'customer')} each exceed the major-customer "
                     f"threshold: a loss would be felt at once.")
    if summary["n_negative"]:
        lines.append(
            f"{plural(summary['n_negative'], 'customer')} returned more than they bought "
            f"({fmt_money(summary['negative_total'], currency)} net): counted as zero in the concentration "
            f"measures and placed in class C."
        )
    zero = int((table["revenue"] == 0).sum()) if "revenue" in table else 0
    if zero:
        lines.append(f"{plural(zero, 'customer')} bought and returned everything (net revenue 0): "
                     f"kept in the population, in class C.")
    return lines


def gini_sentence(summary: dict) -> str:
    g = summary["gini"]
    strength = "very unequal" if g >= 0.7 else "unequal" if g >= 0.5 else "moderately unequal" if g >= 0.3 else "fairly even"
    return (f"Gini coefficient **{g:.2f}** ({strength}); with the small-sample correction n/(n−1): "
            f"{summary['gini_corrected']:.2f}.")


def abc_summary(table: pd.DataFrame, value: str = "revenue") -> pd.DataFrame:
    """Per ABC class: customers, their share, value, its share, and the average value per customer."""
    grouped = table.groupby("abc_class", observed=False).agg(customers=("customer_id", "size"),
                                                             value=(value, "sum"))
    grouped = grouped.reindex(["A", "B", "C"], fill_value=0)
    total_customers = grouped["customers"].sum()
    total_value = grouped["value"].sum()
    out = pd.DataFrame({
        "class": grouped.index.astype(str),
        "customers": grouped["customers"].to_numpy(),
        "share of customers": grouped["customers"].to_numpy() / total_customers if total_customers else float("nan"),
        value: grouped["value"].to_numpy(),
        f"share of {value}": grouped["value"].to_numpy() / total_value if total_value else float("nan"),
        f"average {value} per customer": (grouped["value"] / grouped["customers"].where(grouped["customers"] > 0))
        .to_numpy(),
    })
    return out


def abc_summary_formats(currency: str, value: str = "revenue") -> dict:
    money = lambda v: fmt_money(v, currency)  # noqa: E731
    return {"customers": fmt_int, "share of customers": fmt_pct, value: money, f"share of {value}": fmt_pct,
            f"average {value} per customer": money}


def dependence_sentences(summary: dict, majors: pd.Series, currency: str, threshold: float = 0.10,
                         hhi_thresholds: tuple[float, float] = (1500, 2500)) -> str:
    """Major customers (≥ threshold) and the HHI, in words."""
    parts = []
    if len(majors):
        listed = ", ".join(f"{customer} ({fmt_pct(share)})" for customer, share in majors.items())
        parts.append(f"**{plural(len(majors), 'customer')}** at or above {fmt_pct(threshold, 0)} of revenue "
                     f"(the IFRS 8 / ASC 280 disclosure threshold): {listed}.")
    else:
        parts.append(f"No customer reaches {fmt_pct(threshold, 0)} of revenue, the IFRS 8 / ASC 280 threshold "
                     f"for disclosing a major customer.")
    if summary["hhi"] != summary["hhi"]:  # NaN: no positive revenue to share out
        return " ".join(parts)
    parts.append(f"Herfindahl-Hirschman Index: **{fmt_int(summary['hhi'])} points**, "
                 f"{summary['hhi_level']} on the customer base (scale of the 2010 US DOJ/FTC guidelines: below "
                 f"{fmt_int(hhi_thresholds[0])} unconcentrated, above {fmt_int(hhi_thresholds[1])} highly "
                 f"concentrated).")
    return " ".join(parts)


def top_customers(table: pd.DataFrame, per_customer: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest customers with rank, revenue, shares, class and their attributes."""
    attributes = [col for col in pareto.CUSTOMER_DIMENSIONS if col in per_customer.columns]
    top = table.head(n).merge(per_customer[["customer_id", *attributes]], on="customer_id", how="left")
    columns = ["revenue_rank", "customer_id", "revenue", "revenue_share", "cumulative_share", "abc_class",
               *attributes]
    return top[columns].rename(columns={"revenue_rank": "rank", "revenue_share": "share",
                                        "cumulative_share": "cumulative", "abc_class": "class"})


def top_customers_formats(currency: str) -> dict:
    return {"rank": fmt_int, "revenue": lambda v: fmt_money(v, currency), "share": fmt_pct, "cumulative": fmt_pct}


def trend_table(trend: pd.DataFrame, freq: str = "year") -> pd.DataFrame:
    """The per-period measures, labelled for readers."""
    period = pd.to_datetime(trend["period"])  # (an empty trend has no date type of its own)
    labels = (period.dt.strftime("%Y") if freq == "year"
              else period.dt.year.astype(str) + " Q" + period.dt.quarter.astype(str))
    return pd.DataFrame({
        "period": labels,
        "customers": trend["n_customers"],
        "revenue": trend["revenue"],
        "Gini": trend["gini"],
        "top 20% share": trend["top_share"],
        "customers for 80%": trend["share_customers_for_80pct"],
        "HHI (points)": trend["hhi"],
    })


def trend_formats(currency: str) -> dict:
    return {"customers": fmt_int, "revenue": lambda v: fmt_money(v, currency), "Gini": "{:.2f}",
            "top 20% share": fmt_pct, "customers for 80%": fmt_pct, "HHI (points)": fmt_int}


def migration_sentences(counts: pd.DataFrame, revenue: pd.DataFrame, currency: str) -> list[str]:
    """What the ABC migration matrix says, in words."""
    sentences = []
    a_before = int(counts.loc["A"].sum()) if "A" in counts.index else 0
    if a_before:
        stayed = int(counts.loc["A", "A"])
        slipped = int(counts.loc["A", ["B", "C"]].sum())
        lost = int(counts.loc["A", "lost"])
        moves = [f"{fmt_int(stayed)} stayed A", f"{fmt_int(slipped)} slipped to B or C"]
        if lost:
            moves.append(f"{fmt_int(lost)} bought nothing in the last 12 months "
                         f"({fmt_money(revenue.loc['A', 'lost'], currency)} of revenue the year before)")
        sentences.append(f"Of the {plural(a_before, 'A customer')} of the previous 12 months, "
                         + ", ".join(moves[:-1]) + " and " + moves[-1] + ".")
    if "new" in counts.index:
        new_total = int(counts.loc["new"].sum())
        new_a = int(counts.loc["new", "A"])
        sentences.append(
            f"{plural(new_total, 'new customer')} in the last 12 months brought "
            f"{fmt_money(revenue.loc['new'].sum(), currency)}; {fmt_int(new_a)} of them are already in class A."
        )
    lost_total = int(counts["lost"].sum()) if "lost" in counts.columns else 0
    if lost_total:
        sentences.append(f"{plural(lost_total, 'customer')} active the year before did not buy in the last "
                         f"12 months ({fmt_money(revenue['lost'].sum(), currency)} of revenue then).")
    return sentences


def value_comparison(per_customer: pd.DataFrame, values: dict[str, str], top_share: float = 0.2) -> pd.DataFrame:
    """The headline measures side by side for several value columns (revenue vs gross margin, profit).

    ``values`` maps column -> label. Answers "is profit more concentrated than revenue?".
    """
    rows = []
    for column, label in values.items():
        summary = pareto.concentration_summary(per_customer[column], top_share=top_share)
        rows.append({
            "measure on": label,
            "total": summary["total"],
            "Gini": summary["gini"],
            f"top {top_share:.0%} share": summary["top_share"],
            "customers for 80%": summary["share_customers_for_target"],
            "class A customers": summary["n_customers_A"],
            "customers with a negative value": summary["n_negative"],
        })
    return pd.DataFrame(rows)


def value_comparison_formats(currency: str, top_share: float = 0.2) -> dict:
    return {"total": lambda v: fmt_money(v, currency), "Gini": "{:.2f}", f"top {top_share:.0%} share": fmt_pct,
            "customers for 80%": fmt_pct, "class A customers": fmt_int, "customers with a negative value": fmt_int}


def trend_frequency(transactions: pd.DataFrame) -> str:
    """Years when the data spans at least two calendar years, quarters otherwise.

    ``transactions`` is a frame or an engine table (the engine counts the years).

    Examples
    --------
    >>> tx = pd.DataFrame({"date": pd.to_datetime(["2024-12-31", "2025-01-01"])})
    >>> trend_frequency(tx), trend_frequency(tx.head(1)), trend_frequency(tx.head(0))
    ('year', 'quarter', 'quarter')
    """
    t = engine.table(transactions, ["date"])
    n_years = engine.execute(t.aggregate(n_years=t.date.year().nunique()))["n_years"].iloc[0]
    return "year" if n_years >= 2 else "quarter"


# --------------------------------------------------------------------------- notebook 02, step by step
# What the notebook calls instead of reaching into optional columns itself.

#: What notebook 02 does with optional inputs; said in plain words when missing.
NEEDS = (
    Need("transactions", ("cost",), "the gross-margin Pareto"),
    Need("customers", RISK_DIMENSIONS, "concentration by country, industry and owner"),
)
_CUSTOMER_EXPORT = ["customer_id", "revenue", "revenue_rank", "revenue_share", "cumulative_share", "abc_class"]


#: Below this many customers, concentration measures describe a handful of accounts, not a customer base.
SMALL_PORTFOLIO = 10


def small_portfolio_notes(per_customer: pd.DataFrame) -> list[str]:
    """A finding when the portfolio is too small for concentration measures to mean much.

    Examples
    --------
    >>> small_portfolio_notes(pd.DataFrame({"customer_id": ["a"], "revenue": [5.0]}))  # doctest: +ELLIPSIS
    ['**Only 1 customer with revenue**: ... the measures below are shown for completeness.']
    >>> small_portfolio_notes(pd.DataFrame({"customer_id": list("abcdefghij"), "revenue": [1.0] * 10}))
    []
    """
    n = len(per_customer)
    if n >= SMALL_PORTFOLIO:
        return []
    if not n:
        return ["**No customer has revenue** (every line is cancelled): there is nothing to measure the "
                "concentration of."]
    return [f"**Only {plural(n, 'customer')} with revenue**: concentration measures (Pareto, Gini, ABC classes) "
            f"describe a customer base of at least {SMALL_PORTFOLIO} customers; with fewer, one customer is a large "
            "share by construction, so the measures below are shown for completeness."]


def pareto_metrics(per_customer: pd.DataFrame, summary: dict) -> dict:
    """The metrics notebook 02 records: Gini, HHI (and its level), major customers and ABC counts from ``summary``;
    ``top20_share`` and ``share_customers_for_80pct`` always at the 20% / 80% reference points.
    A measure that is undefined (NaN: no revenue at all) is left out."""
    reference = pareto.concentration_summary(per_customer["revenue"], top_share=0.2, target=0.8)
    metrics = {"gini": summary["gini"], "top20_share": reference["top_share"],
               "share_customers_for_80pct": reference["share_customers_for_target"], "hhi": summary["hhi"],
               "n_major_customers": summary["n_major_customers"]}
    metrics.update({f"n_customers_{abc}": summary[f"n_customers_{abc}"] for abc in "ABC"})
    if summary["hhi"] == summary["hhi"]:  # the HHI's level in words, for the index ("28 points (unconcentrated)")
        metrics["hhi_level"] = summary["hhi_level"]
    # without revenue (every line cancelled) the shares are undefined: left out, said in the findings
    return {name: value for name, value in metrics.items() if value == value}


def customer_export(table: pd.DataFrame) -> pd.DataFrame:
    """The columns notebook 02 adds to ``exports/customers.csv`` (rank, shares, ABC class)."""
    return table[_CUSTOMER_EXPORT]


def lorenz_curves(per_customer: pd.DataFrame, summary: dict) -> dict[str, pd.DataFrame]:
    """Lorenz curve of revenue and, when the gross margin is known, of gross margin; keyed by legend."""
    curves = {f"revenue (Gini {summary['gini']:.2f})": pareto.lorenz_curve(per_customer["revenue"])}
    if has_values(per_customer, "gross_margin"):
        margin_gini = pareto.gini(per_customer["gross_margin"])
        curves[f"gross margin (Gini {margin_gini:.2f})"] = pareto.lorenz_curve(per_customer["gross_margin"])
    return curves


def margin_comparison(per_customer: pd.DataFrame, top_share: float = 0.2) -> pd.DataFrame | None:
    """:func:`value_comparison` of revenue and gross margin; ``None`` when the gross margin is unknown."""
    if not has_values(per_customer, "gross_margin"):
        return None
    return value_comparison(per_customer, {"revenue": "revenue", "gross_margin": "gross margin"}, top_share=top_share)


def margin_comparison_intro(comparison: pd.DataFrame | None, tables: dict) -> str:
    """The sentence above :func:`margin_comparison`, or what would enable it."""
    if comparison is not None:
        return ("**Revenue Pareto vs gross-margin Pareto** (gross margin = revenue − cost of goods, "
                "before any cost to serve):")
    notes = absence_notes(tables, NEEDS[:1])
    return notes[0] if notes else "The gross margin is not known for any customer: its Pareto is skipped."


def dimension_title(dimension: str) -> str:
    """Chart title of a frame of :func:`dimension_frames`."""
    return f"Revenue by {dimension.replace('_', ' ')}"


# How the statements read for a few attributes; any other attribute reads like a market ("in France").
_SHARED_BY_ALL = {"owner": "are all managed by", "account_owner": "are all managed by"}
_CONSEQUENCE = {
    "owner": "{extent} of the portfolio depends on one account owner",
    "account_owner": "{extent} of the portfolio depends on one account owner",
}


def dimension_risks(
    per_customer: pd.DataFrame,
    dimensions: str | Sequence[str],
    value_col: str = "revenue",
    currency: str = "EUR",
    dominance: float = 0.5,
    top_k: int = 3,
    customer_col: str = "customer_id",
) -> list[str]:
    """Plain-language concentration risks along customer attributes (:func:`~portfolio_helpers.analysis.pareto.dimension_exposures`).

    "France holds 62.0% of revenue (€2.10 M, 1,254 customers): a downturn there hits most of
    the portfolio." for a dominant value; "The 3 largest customers are all in United States:
    41.0% of revenue (€1.39 M) exposed to one country." when the largest customers share one.
    A balanced portfolio gives an empty list.

    Examples
    --------
    >>> per_customer = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5],
    ...                              "revenue": [400.0, 300.0, 200.0, 60.0, 40.0],
    ...                              "country": ["US", "US", "US", "FR", "DE"]})
    >>> for line in dimension_risks(per_customer, ["country"]):
    ...     print(line)
    US holds 90.0% of revenue (€900, 3 customers): a downturn there hits most of the portfolio.
    The 3 largest customers are all in US: 90.0% of revenue (€900) exposed to one country.
    """
    exposures = pareto.dimension_exposures(per_customer, dimensions, value_col, dominance, top_k, customer_col)
    value_label = value_col.replace("_", " ")
    risks = []
    for row in exposures.itertuples(index=False):
        if row.kind == "dominant":
            extent = "most" if row.value_share >= 0.5 else "a large part"
            consequence = _CONSEQUENCE.get(row.dimension, "a downturn there hits {extent} of the portfolio")
            risks.append(f"{row.label} holds {fmt_pct(row.value_share)} of {value_label} "
                         f"({fmt_money(row.value, currency)}, {plural(row.n_customers, 'customer')}): "
                         f"{consequence.format(extent=extent)}.")
        else:
            risks.append(f"The {row.n_customers} largest customers {_SHARED_BY_ALL.get(row.dimension, 'are all in')} "
                         f"{row.label}: {fmt_pct(row.value_share)} of {value_label} "
                         f"({fmt_money(row.value, currency)}) exposed to one {row.dimension.replace('_', ' ')}.")
    return risks


def dimension_risk_text(per_customer: pd.DataFrame, dimensions: dict, tables: dict, currency: str) -> str:
    """Warnings on dominant countries, industries or owners, or that none dominates; what is missing."""
    present = [dimension for dimension in RISK_DIMENSIONS if dimension in dimensions]
    risks = dimension_risks(per_customer, present, value_col="revenue", currency=currency)
    lines = risks or ["No single country, industry or owner dominates the revenue."]
    return bullets(lines + absence_notes(tables, NEEDS[1:]))


def settings_sentence(top_share: float, a: float, b: float, major_threshold: float, hhi_thresholds: tuple) -> str:
    """The settings of a static report, and how to change them."""
    return (f"Settings of this report: top {fmt_pct(top_share, 0)} of customers; class A up to {fmt_pct(a, 0)} of "
            f"revenue, B up to {fmt_pct(b, 0)}; major customer from {fmt_pct(major_threshold, 0)}; HHI thresholds "
            f"{fmt_int(hhi_thresholds[0])} / {fmt_int(hhi_thresholds[1])}. Change them with `--set name=value`.")


def pareto_explorer(per_customer: pd.DataFrame, currency: str, top_share: float, a: float, b: float):
    """JupyterLab widgets: sliders for the top-X% and the ABC cut-offs; findings, chart and table follow."""
    import ipywidgets as widgets

    top_row, top_slider = labelled_slider("top X% of customers", value=top_share, min=0.01, max=0.5, step=0.01,
                                          readout_format=".0%")
    a_row, a_slider = labelled_slider("class A: customers up to this share of revenue", value=a, min=0.5,
                                      max=0.95, step=0.01, readout_format=".0%")
    b_row, b_slider = labelled_slider("class B: customers up to this share of revenue", value=b, min=0.6,
                                      max=0.99, step=0.01, readout_format=".0%")

    def explore(top_share, a, b):
        if b <= a:
            show_markdown("B's cut-off must be above A's.")
            return
        explored = pareto.concentration_summary(per_customer["revenue"], top_share=top_share, a=a, b=b)
        explored_table = pareto.pareto_table(per_customer, value_col="revenue", a=a, b=b)
        show_markdown(bullets(findings(explored, explored_table, currency, top_share=top_share, a=a)))
        display(charts.pareto_chart(explored_table, "revenue", currency,
                                    f"Revenue per customer; class A reaches {a:.0%}", target=a))
        show_table(abc_summary(explored_table, "revenue"), formats=abc_summary_formats(currency))

    output = widgets.interactive_output(explore, {"top_share": top_slider, "a": a_slider, "b": b_slider})
    return explorer_box([top_row, a_row, b_row], output)
