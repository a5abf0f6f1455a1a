"""Notebook 07 (growth, retention and objectives): sentences, tables, charts data and exports.

The figures come from :mod:`portfolio_helpers.analysis.growth`, run on the portfolio by
:func:`~portfolio_helpers.analysis.growth.growth_results`; this module turns its
:class:`~portfolio_helpers.analysis.growth.GrowthResults` into findings with their numbers, says
what the data cannot show (:func:`limitations`), shapes the tables and chart inputs, and writes the
exports ``cohorts.csv``, ``revenue_bridge.csv``, ``owners.csv`` and ``objectives.csv``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from portfolio_helpers.analysis import growth
from portfolio_helpers.analysis.growth import GrowthResults
from portfolio_helpers.core.files import atomic_to_csv
from portfolio_helpers.reporting.absence import Need, absence_notes
from portfolio_helpers.reporting.narrative import fmt_date, fmt_int, fmt_money, fmt_pct, plural

__all__ = [
    "findings",
    "limitations",
    "growth_metrics",
    "EXPORTS",
    "write_exports",
    "cohort_matrix",
    "retention_frame",
    "cohort_sentences",
    "cohort_summary",
    "cohort_summary_formats",
    "bridge_steps",
    "bridge_title",
    "bridge_table",
    "bridge_formats",
    "bridge_sentences",
    "owner_table",
    "owner_formats",
    "owner_sentences",
    "no_books_text",
    "objectives_table",
    "objectives_formats",
    "objective_sentences",
    "proposals_text",
    "exports_sentence",
]

NEEDS = (
    Need("customers", ("owner",), "each sales rep's book"),
    Need("leads", (), "the lead conversion rate and the open leads per rep"),
)
EXPORTS = {"cohorts": "cohorts.csv", "bridge": "revenue_bridge.csv", "books": "owners.csv",
           "objectives": "objectives.csv"}
_MONEY_METRICS = ("revenue", "expansion_revenue", "average_order_value")
_SHARE_METRICS = ("net_revenue_retention", "gross_revenue_retention", "lead_conversion_rate")


def limitations(results: GrowthResults, tables: dict) -> list[str]:
    """What the report cannot show with this data, and what would enable it (the tables and columns
    absent, a single cohort, no bridge or no complete calendar year to compare)."""
    notes = absence_notes(tables, NEEDS)
    if results.cohorts.empty:
        notes.append("No customer with net revenue above zero: no cohort, bridge or objective can be measured.")
    elif results.cohorts["cohort"].nunique() == 1:
        notes.append(f"All customers made their first purchase in the same {results.period}: the cohorts cannot be "
                     f"compared with each other.")
    if not results.cohorts.empty and results.bridge.empty:
        notes.append("The data has no purchase before the last 12 months: no revenue bridge (it compares a period "
                     "with the one before), so retention rates and the revenue from new vs existing customers "
                     "cannot be measured yet.")
    elif not results.cohorts.empty and not (results.bridge["kind"] == "year").any():
        notes.append("The data does not cover two complete calendar years: the bridge only compares the last 12 "
                     "months with the 12 before.")
    return notes


def no_books_text(notes: Sequence[str]) -> str:
    """Why there is no sales rep's book to show (``notes``: :func:`limitations`)."""
    said = [note for note in notes if "sales rep's book" in note]
    return said[0] if said else "No customer bought in the last 24 months: there is no sales rep's book to show."


def _last(bridge: pd.DataFrame) -> pd.Series | None:
    return bridge.iloc[-1] if len(bridge) else None


def growth_metrics(results: GrowthResults) -> dict:
    """The headline metrics of notebook 07 (rates only when a bridge defines them)."""
    out = {}
    last = _last(results.bridge)
    if last is not None and last["previous_covered"]:
        for name in ("net_revenue_retention", "gross_revenue_retention", "new_customer_revenue_share"):
            if not pd.isna(last[name]):
                out[name] = round(float(last[name]), 4)
    statuses = results.measured["status"] if results.measured is not None else pd.Series(dtype=str)
    out["n_objectives"] = len(results.objectives)
    out["n_objectives_on_track"] = int(statuses.isin(["achieved", "on track"]).sum())
    return out


def _export_frames(results: GrowthResults) -> dict[str, pd.DataFrame]:
    books = results.books if results.books is not None else pd.DataFrame(columns=growth.OWNER_COLUMNS)
    if results.measured is not None:
        objectives = results.measured.drop(columns="higher_is_better")
        # one column holds money (to the cent), counts and rates (4 decimals): rounded row by row here, and
        # kept as numbers of their own (object) so that the export does not round `value` as money
        decimals = objectives["metric"].map(lambda metric: 2 if metric in _MONEY_METRICS else 4)
        for column in ("target", "value", "projected", "last_year"):
            objectives[column] = pd.Series([None if pd.isna(v) else round(float(v), d) for v, d in
                                            zip(objectives[column], decimals, strict=True)], index=objectives.index,
                                           dtype=object)
    else:
        objectives = pd.DataFrame(columns=growth.OBJECTIVE_COLUMNS)
    return {"cohorts": results.cohorts, "bridge": _bridge_rates_where_defined(results.bridge), "books": books,
            "objectives": objectives}


def write_exports(output_dir: str | os.PathLike, results: GrowthResults) -> list[Path]:
    """Write the four exports into ``output_dir/exports`` (required columns first; header only when empty)."""
    folder = Path(output_dir) / "exports"
    return [atomic_to_csv(frame, folder / EXPORTS[key]) for key, frame in _export_frames(results).items()]


def exports_sentence(paths: list[Path]) -> str:
    return ("Exports: " + ", ".join(f"`exports/{path.name}`" for path in paths)
            + " (one row per cohort and period, per bridge, per sales rep and per objective).")


# --------------------------------------------------------------------------- cohorts

def _complete_cohorts(results: GrowthResults) -> pd.DataFrame:
    return results.cohorts[results.cohorts["complete"].astype(bool)]


def cohort_matrix(results: GrowthResults, max_cohorts: int = 12) -> pd.DataFrame:
    """Share still active per cohort (rows, the ``max_cohorts`` latest) and period since (columns)."""
    table = _complete_cohorts(results)
    matrix = table.pivot(index="cohort", columns="periods_since", values="share_active")
    matrix.columns.name = None
    return matrix.tail(max_cohorts)


def retention_frame(results: GrowthResults, n_curves: int = 6) -> pd.DataFrame:
    """Retention curves of up to ``n_curves`` cohorts spread over time (columns), by periods since."""
    matrix = cohort_matrix(results, max_cohorts=10_000)
    matrix = matrix[matrix.notna().sum(axis=1) >= 2] if len(matrix) else matrix
    if len(matrix) > n_curves:
        step = math.ceil(len(matrix) / n_curves)
        matrix = matrix.iloc[::-1].iloc[::step].iloc[::-1]
    return matrix.T


def _next_period_retention(results: GrowthResults) -> pd.DataFrame:
    cohorts = results.compared if results.compared is not None else results.cohorts
    table = cohorts[cohorts["complete"].astype(bool)]
    return table[table["periods_since"] == 1][["cohort", "share_active", "cohort_customers", "customers_active"]]


def cohort_sentences(results: GrowthResults) -> list[str]:
    """Do recent cohorts retain better or worse than older ones (share active the next period)?"""
    period = results.period
    nxt = _next_period_retention(results)
    lines = _cohort_comparison(nxt, period) if len(nxt) >= 2 else []
    if lines and results.compared is not None:
        lines[0] = lines[0][:-1] + (f"; the {plural(results.n_acquired_before, 'customer')} acquired before the data "
                                    f"starts (acquisition date) are left out of this comparison: their first purchase "
                                    f"in the data is not when they were won.")
    table = _complete_cohorts(results)
    oldest = table[table["cohort"] == table["cohort"].iloc[0]] if len(table) else table
    if len(oldest) > 1:
        last = oldest.iloc[-1]
        lines.append(f"The oldest cohort ({last['cohort']}, {plural(int(last['cohort_customers']), 'customer')}) "
                     f"still has {fmt_pct(last['share_active'])} of its customers active "
                     f"{plural(int(last['periods_since']), period)} later.")
    in_cohorts = int(results.cohorts.loc[results.cohorts["periods_since"] == 0, "customers_active"].sum())
    if results.n_customers is not None and results.n_customers > in_cohorts:
        left_out = results.n_customers - in_cohorts
        lines.append(f"The cohorts hold {fmt_int(in_cohorts)} of the {plural(results.n_customers, 'customer')}: "
                     f"{plural(left_out, 'customer')} {'is' if left_out == 1 else 'are'} in no cohort, their first "
                     f"{period} netting to zero or less (purchases at no charge, only credit notes, or everything "
                     f"returned).")
    return lines


def _span_text(frame: pd.DataFrame) -> str:
    first, last = frame["cohort"].iloc[0], frame["cohort"].iloc[-1]
    return f"in {first}" if first == last else f"from {first} to {last}"


def _cohort_comparison(nxt: pd.DataFrame, period: str) -> list[str]:
    caveat = ""
    if len(nxt) >= 3:  # the first cohort also holds every customer already buying when the data starts
        caveat = f" (the first cohort, {nxt['cohort'].iloc[0]}, is left out: it also holds the customers already buying when the data starts)"
        nxt = nxt.iloc[1:]
    half = len(nxt) // 2
    older, recent = nxt.iloc[:half], nxt.iloc[half:]
    active_old, n_old = int(older["customers_active"].sum()), int(older["cohort_customers"].sum())
    active_new, n_new = int(recent["customers_active"].sum()), int(recent["cohort_customers"].sum())
    rate_old, rate_new = active_old / n_old, active_new / n_new
    chance = ""
    if abs(rate_new - rate_old) < 0.02:
        verdict = "about as well as"
    elif not growth.shares_differ(active_old, n_old, active_new, n_new):
        verdict = "about as well as"
        chance = (f"; the difference, {abs(rate_new - rate_old) * 100:.1f} points on {fmt_int(n_old + n_new)} "
                  f"customers, is within chance")
    else:
        verdict = "better than" if rate_new > rate_old else "worse than"
    return [f"Recent cohorts retain **{verdict}** older ones: {fmt_pct(rate_new)} of the customers won "
            f"{_span_text(recent)} bought again the {period} after their first purchase, against "
            f"{fmt_pct(rate_old)} for those won {_span_text(older)}{chance}{caveat}."]


def cohort_summary(results: GrowthResults, currency: str) -> pd.DataFrame:
    """Per cohort: customers acquired, share active the next period and now, cumulative revenue per customer."""
    table = _complete_cohorts(results)
    if table.empty:
        return pd.DataFrame()
    grouped = table.groupby("cohort", sort=True)
    out = pd.DataFrame({
        "customers acquired": grouped["cohort_customers"].first(),
        f"active the next {results.period}": table[table["periods_since"] == 1].set_index("cohort")["share_active"],
        "active in the latest period": grouped["share_active"].last(),
        f"cumulative revenue per customer ({currency})": grouped["cumulative_revenue_per_customer"].last(),
    })
    return out.reset_index()


def cohort_summary_formats(results: GrowthResults, currency: str) -> dict:
    return {f"active the next {results.period}": "{:.1%}", "active in the latest period": "{:.1%}",
            "customers acquired": "{:,.0f}",
            f"cumulative revenue per customer ({currency})": lambda v: fmt_money(v, currency, compact=False)}


# --------------------------------------------------------------------------- bridge

_STEP_LABELS = {"start": "start", "new": "new", "reactivated": "reactivated", "expansion": "expansion",
                "contraction": "contraction", "churned": "churned", "end": "end"}


def bridge_steps(results: GrowthResults) -> pd.Series | None:
    """The waterfall of the last bridge (12 months to the analysis date); ``None`` without a bridge."""
    last = _last(results.bridge)
    if last is None:
        return None
    return pd.Series({label: float(last[key]) for key, label in _STEP_LABELS.items()})


def bridge_title(results: GrowthResults) -> str:
    last = _last(results.bridge)
    if last is None:
        return "Revenue bridge"
    partly = "" if last["previous_covered"] else " (only partly in the data)"
    return f"Revenue bridge: {last['period']} against the 12 months before{partly}"


_RATES = ["net_revenue_retention", "gross_revenue_retention", "new_customer_revenue_share"]


def _bridge_rates_where_defined(bridge: pd.DataFrame) -> pd.DataFrame:
    """The bridges with their rates left empty where the previous period is only partly in the data."""
    out = bridge.copy()
    if len(out):
        out[_RATES] = out[_RATES].astype("float64").where(out["previous_covered"].astype(bool))
    return out


def bridge_table(results: GrowthResults) -> pd.DataFrame:
    """Every bridge, with retention rates and the share of revenue from new customers."""
    columns = [*growth.BRIDGE_COLUMNS[:8], "n_new", "n_churned", "net_revenue_retention", "gross_revenue_retention",
               "new_customer_revenue_share"]
    return _bridge_rates_where_defined(results.bridge)[columns].rename(columns={"net_revenue_retention": "NRR", "gross_revenue_retention": "GRR",
                                                   "new_customer_revenue_share": "share from new customers"})


def bridge_formats(currency: str) -> dict:
    money = lambda v: fmt_money(v, currency, compact=False)  # noqa: E731
    return {**{c: money for c in growth.BRIDGE_COLUMNS[1:8]}, "n_new": "{:,.0f}", "n_churned": "{:,.0f}",
            "NRR": "{:.1%}", "GRR": "{:.1%}", "share from new customers": "{:.1%}"}


def bridge_sentences(results: GrowthResults, currency: str) -> list[str]:
    """The last bridge in words: where the change in revenue comes from, retention, acquisition vs retention."""
    last = _last(results.bridge)
    if last is None:
        return []
    money = lambda v: fmt_money(v, currency)  # noqa: E731
    movements = (f"new customers brought {money(last['new'])} ({plural(int(last['n_new']), 'customer')}), "
                 f"reactivated ones {money(last['reactivated'])} ({fmt_int(last['n_reactivated'])}), existing "
                 f"customers bought {money(last['expansion'])} more ({fmt_int(last['n_expanded'])}) and "
                 f"{money(-last['contraction'])} less ({fmt_int(last['n_contracted'])}), and "
                 f"{plural(int(last['n_churned']), 'customer')} who stopped buying took {money(-last['churned'])}")
    if not last["previous_covered"]:
        days = int((pd.Timestamp(last["current_start"]) - pd.Timestamp(last["previous_start"])).days)
        return [f"Revenue over the {last['period']}: {money(last['end'])}. The period before is only partly in the "
                f"data ({fmt_int(last['previous_days_in_data'])} of its {fmt_int(days)} days, "
                f"{money(last['start'])}), so how revenue moved cannot be measured: no growth rate, retention rate "
                f"or share of revenue from new customers is given, and customers first seen in the data count as "
                f"new although they may have bought before it starts.",
                f"Against that partial period, {movements}."]
    change = last["end"] - last["start"]
    growth_text = f" ({'+' if change >= 0 else ''}{fmt_pct(change / last['start'])})" if last["start"] else ""
    lines = [f"Revenue went from {money(last['start'])} to {money(last['end'])}{growth_text} over the "
             f"{last['period']}: {movements}."]
    if not pd.isna(last["net_revenue_retention"]):
        verdict = ("existing customers alone grew revenue" if last["net_revenue_retention"] > 1
                   else "existing customers alone did not keep revenue level")
        lines.append(f"Net revenue retention is **{fmt_pct(last['net_revenue_retention'])}** and gross revenue "
                     f"retention {fmt_pct(last['gross_revenue_retention'])}: {verdict}.")
    if not pd.isna(last["new_customer_revenue_share"]):
        lines.append(f"{fmt_pct(last['new_customer_revenue_share'])} of the revenue came from customers won in the "
                     f"period (acquisition) and {fmt_pct(1 - last['new_customer_revenue_share'])} from customers "
                     f"already there (retention and reactivation).")
    return lines


# --------------------------------------------------------------------------- owners

def owner_table(results: GrowthResults) -> pd.DataFrame:
    """The books, largest first, with the columns a manager reads."""
    books = results.books
    return books[[*growth.OWNER_COLUMNS, "churned", "net_revenue_retention"]].rename(columns={
        "customers": "active customers", "revenue": "revenue (12 months)", "revenue_previous": "previous 12 months",
        "top_customer_share": "largest customer", "hhi": "HHI", "customers_at_risk": "customers at risk",
        "revenue_at_risk": "revenue at risk", "open_leads": "open leads", "churned": "churned revenue",
        "net_revenue_retention": "NRR"})


def owner_formats(currency: str) -> dict:
    money = lambda v: fmt_money(v, currency, compact=False)  # noqa: E731
    return {"revenue (12 months)": money, "previous 12 months": money, "revenue at risk": money,
            "churned revenue": money, "growth": "{:+.1%}", "largest customer": "{:.1%}", "HHI": "{:,.0f}",
            "NRR": "{:.1%}", "active customers": "{:,.0f}", "customers at risk": "{:,.0f}"}


def owner_sentences(results: GrowthResults, currency: str) -> list[str]:
    """The books most exposed: revenue at risk, decline, concentration."""
    books = results.books
    if books is None or books.empty:
        return []
    named = books[books["owner"] != growth.NO_OWNER]
    if named.empty:
        return ["No customer with revenue has an owner."]
    unassigned = books.loc[books["owner"] == growth.NO_OWNER, "revenue"].sum()
    total = books["revenue"].sum()
    lines = [f"{plural(len(named), 'sales rep')} hold the books; customers without an owner brought "
             f"{fmt_money(unassigned, currency)} ({fmt_pct(unassigned / total)}) of the last 12 months' revenue."
             if unassigned > 0 and total > 0 else f"Every customer with revenue has an owner: "
             f"{plural(len(named), 'sales rep')}."]
    risky = named.sort_values("revenue_at_risk", ascending=False).iloc[0]
    if risky["revenue_at_risk"] > 0:
        lines.append(f"Most revenue at risk: **{risky['owner']}**, {plural(int(risky['customers_at_risk']), 'customer')} "
                     f"at risk carrying {fmt_money(risky['revenue_at_risk'], currency)} "
                     f"({fmt_pct(risky['revenue_at_risk'] / risky['revenue']) if risky['revenue'] > 0 else 'n/a'} "
                     f"of the book).")
    declining = named[named["growth"] < 0].sort_values("growth")
    if len(declining):
        worst = declining.iloc[0]
        lines.append(f"Largest decline: **{worst['owner']}**, {fmt_pct(worst['growth'])} against the previous "
                     f"12 months ({fmt_money(worst['revenue_previous'], currency)} to "
                     f"{fmt_money(worst['revenue'], currency)}); {plural(len(declining), 'book')} shrank.")
    else:
        lines.append("Every sales rep's book grew or held over the last 12 months.")
    concentrated = named.sort_values("top_customer_share", ascending=False).iloc[0]
    if not pd.isna(concentrated["top_customer_share"]):
        lines.append(f"Most concentrated book: **{concentrated['owner']}**, whose largest customer makes "
                     f"{fmt_pct(concentrated['top_customer_share'])} of it (HHI {fmt_int(concentrated['hhi'])}).")
    return lines


# --------------------------------------------------------------------------- objectives

def _shown(metric: str, value: float, currency: str) -> str:
    if value is None or pd.isna(value):
        return "n/a"
    if metric in _MONEY_METRICS:
        return fmt_money(value, currency)
    if metric in _SHARE_METRICS:
        return fmt_pct(value)
    return fmt_int(value)


def objectives_table(results: GrowthResults, currency: str) -> pd.DataFrame:
    """One row per objective, values in their unit (money, %, count) as text."""
    m = results.measured
    rows = []
    for _, row in m.iterrows():
        rows.append({"objective": row["name"], "metric": row["metric"], "filter": row["filter"],
                     "period": f"{fmt_date(row['start'])} to {fmt_date(row['deadline'])}",
                     "target": _shown(row["metric"], row["target"], currency),
                     "last year, same dates": _shown(row["metric"], row["last_year"], currency),
                     "to date": _shown(row["metric"], row["value"], currency),
                     "of target": row["achieved_share"], "time elapsed": row["elapsed_share"],
                     "projected": _shown(row["metric"], row["projected"], currency),
                     "status": row["status"], "projection rule": row["rule"]})
    return pd.DataFrame(rows)


def objectives_formats() -> dict:
    return {"of target": "{:.0%}", "time elapsed": "{:.0%}"}


def objective_sentences(results: GrowthResults, currency: str) -> list[str]:
    """How many objectives are achieved or on track, and which ones need attention."""
    m = results.measured
    if m is None or m.empty:
        return []
    good = m["status"].isin(["achieved", "on track"])
    lines = [f"{fmt_int(good.sum())} of {plural(len(m), 'objective')} achieved or on track."]
    for status in ("at risk", "off track"):
        chosen = m[m["status"] == status]
        for _, row in chosen.iterrows():
            if row["elapsed_share"] >= 1:  # the deadline has come: nothing left to project
                lines.append(f"**{row['name']}** was missed at its deadline, {fmt_date(row['deadline'])} ({status}: "
                             f"{fmt_pct(row['achieved_share'], 0)} of the target): "
                             f"{_shown(row['metric'], row['value'], currency)} against a target of "
                             f"{_shown(row['metric'], row['target'], currency)}.")
                continue
            lines.append(f"**{row['name']}** is {status}: {_shown(row['metric'], row['value'], currency)} to date "
                         f"against a target of {_shown(row['metric'], row['target'], currency)}, projected "
                         f"{_shown(row['metric'], row['projected'], currency)} by {fmt_date(row['deadline'])} "
                         f"({row['rule']}).")
    no_data = m[m["status"] == "no data"]
    if len(no_data):
        lines.append("No value yet for " + ", ".join(no_data["name"]) + " (nothing to measure in the window so far).")
    lines += _stretch_sentences(m, currency)
    return lines


def _stretch_sentences(measured: pd.DataFrame, currency: str) -> list[str]:
    """The targets far from last year's value over the same dates (is the objective realistic?)."""
    lines = []
    for _, row in measured[measured["stretch"].astype(bool)].iterrows():
        ratio = row["target"] / row["last_year"]
        against = (f"{ratio:,.1f} times" if row["higher_is_better"] else f"{fmt_pct(ratio, 0)} of")
        lines.append(f"**{row['name']}** asks for a stretch: its target, {_shown(row['metric'], row['target'], currency)}, "
                     f"is {against} last year's value over the same dates "
                     f"({_shown(row['metric'], row['last_year'], currency)}); check that it is achievable.")
    return lines


def proposals_text(results: GrowthResults) -> str:
    """Three objectives at the pace of the last 12 months, as YAML to paste into the config, with the year they are
    for (:func:`~portfolio_helpers.analysis.growth.proposal_year`: the next one when less than a quarter of the
    analysis date's year is left)."""
    if not results.proposals:
        return "The data gives no basis for an objective yet (no revenue)."
    items = "\n".join("      - " + yaml.safe_dump(p, default_flow_style=True, sort_keys=False, width=200).strip()
                      for p in results.proposals)
    year, as_of = results.proposals[0]["start"].year, pd.Timestamp(results.as_of)
    period = f"for {year}"
    if year > as_of.year:  # proposal_year: less than a quarter of the analysis date's year is left
        period += (f" (less than a quarter of {as_of.year} is left after the analysis date, {fmt_date(as_of)}, "
                   "so they are for the next calendar year)")
    return (f"No `objectives:` in the config. Three objectives {period}, at the pace of the last 12 months, to copy "
            "into `portfolio.yml` and adjust:\n\n    objectives:\n" + items)


def findings(results: GrowthResults, currency: str, notes: Sequence[str] = ()) -> list[str]:
    """The key findings: bridge, cohorts, books, objectives, then ``notes`` (:func:`limitations`: what
    cannot be shown)."""
    last = _last(results.bridge)
    covered = last is not None and bool(last["previous_covered"])
    lines = list(bridge_sentences(results, currency)[:2 if covered else 1])
    if len(results.cohorts):
        lines += cohort_sentences(results)[:1]
    lines += owner_sentences(results, currency)[1:3]
    lines += objective_sentences(results, currency)[:1]
    return lines + list(notes)
