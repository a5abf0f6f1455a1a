"""Report helpers of notebook 05 (scoring): plain-language findings and report tables.

The computations live in :mod:`portfolio_helpers.analysis.scoring`, :mod:`~portfolio_helpers.analysis.scorecard`
and :mod:`~portfolio_helpers.analysis.propensity`; this module turns their results into the
sentences and tables a sales manager reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio_helpers.analysis import scorecard, scoring
from portfolio_helpers.core.presence import present_columns
from portfolio_helpers.reporting.absence import Need, absence_notes
from portfolio_helpers.reporting.narrative import (
    fmt_int,
    fmt_money,
    fmt_pct,
    plural,
    show_markdown,
    show_table,
)
from portfolio_helpers.reporting.widgets import explorer_box, labelled_slider

__all__ = [
    "SCORECARD_FORMATS",
    "lead_findings",
    "customer_findings",
    "leads_export",
    "LEAD_NEEDS",
    "CRM_NEEDS",
    "CALL_LIST_COLUMNS",
    "COMPARISON_FORMATS",
    "LIFT_FORMATS",
    "findings",
    "scoring_metrics",
    "scorecard_sentence",
    "open_grid",
    "call_list",
    "conversion_model_sentence",
    "auc_by_model",
    "weights_table",
    "at_risk_table",
    "purchase_sentence",
    "reference_text",
    "reference_sentence",
    "lookalike_lead_table",
    "lookalike_notes",
    "crm_sentence",
    "customer_export",
    "scored_leads_export",
    "exports_sentence",
    "lead_explorer",
]


#: Display formats of :meth:`Scorecard.to_frame` in the report.
SCORECARD_FORMATS = {"points": "{:+g}".format, "window": lambda days: "" if pd.isna(days) else f"{days:g} days"}


def lead_findings(open_scored: pd.DataFrame, by_grade: pd.DataFrame, comparison: pd.DataFrame, best_model: str,
                  n_known: int, open_days: int) -> list[str]:
    """Findings about the open leads, the scorecard's track record and the conversion model."""
    lines = []
    n_open = len(open_scored)
    top_grade = by_grade["grade"].iloc[0] if len(by_grade) else "A"
    n_top = int((open_scored["grade"].astype("string") == top_grade).sum())
    average = by_grade["converted"].sum() / max(by_grade["contacts"].sum(), 1)
    rate_top = by_grade["rate"].iloc[0] if len(by_grade) else np.nan
    text = (f"**{fmt_int(n_top)} hot {'lead' if n_top == 1 else 'leads'} (grade {top_grade})** out of "
            f"{plural(n_open, 'open lead')} (active in the last {open_days} days).")
    if pd.notna(rate_top) and average > 0:
        text += (f" In history, grade-{top_grade} leads converted at {fmt_pct(rate_top)}: "
                 f"{rate_top / average:.1f}× the average rate of {fmt_pct(average)} "
                 f"({fmt_int(n_known)} leads with a known outcome).")
    lines.append(text)
    models = comparison.set_index("model")
    if best_model in models.index:
        best = models.loc[best_model]
        line = (f"The conversion model ({best_model.lower()}) ranks leads it has never seen with a ROC AUC of "
                f"{best['roc_auc']:.2f} (0.5 = chance, 1 = perfect); calling its top 20% would reach "
                f"{fmt_pct(best['top_20pct_capture'])} of the conversions.")
        if scoring.POINTS_SCORECARD in models.index:
            points = models.loc[scoring.POINTS_SCORECARD]
            verdict = ("ranks almost as well" if points["roc_auc"] >= best["roc_auc"] - 0.03
                       else "ranks less well" if points["roc_auc"] >= 0.6 else "barely ranks better than chance")
            line += (f" The hand-made points scorecard {verdict}: AUC {points['roc_auc']:.2f}, top 20% reach "
                     f"{fmt_pct(points['top_20pct_capture'])}.")
        lines.append(line)
    return lines


def customer_findings(values: pd.DataFrame, risk: pd.DataFrame, customer_features: pd.DataFrame,
                      purchase_auc: float, horizon_days: int, grades: pd.Series, currency: str,
                      rhythm_factor: float = 2.0) -> list[str]:
    """Findings about existing customers: value, at risk, next purchase, follow-up grades."""
    lines = []
    flagged = risk["at_risk"].to_numpy(dtype=bool)
    n_risk = int(flagged.sum())
    revenue = customer_features["monetary"].to_numpy(dtype=float)
    at_stake = revenue[flagged].sum()
    total = revenue.sum()
    if n_risk:
        lines.append(f"**{plural(n_risk, 'valuable customer')} at risk**: their purchase rhythm has stopped (no "
                     f"purchase for more than {rhythm_factor:g}× their usual gap). Together they brought "
                     f"{fmt_money(at_stake, currency)} ({fmt_pct(at_stake / total if total else 0)} of revenue).")
    else:
        lines.append("No valuable customer has broken their purchase rhythm.")
    high = int((values["value_score"] >= 80).sum())
    lines.append(f"{plural(high, 'customer')} score 80 or more out of 100 on value "
                 f"(recency, frequency, revenue, profit and growth together).")
    if np.isfinite(purchase_auc):
        lines.append(f"The next-purchase model predicts who buys in the next {horizon_days} days with a ROC AUC of "
                     f"{purchase_auc:.2f} on a later period than the one it learnt from.")
    counts = grades.astype("string").value_counts()
    if len(counts):
        parts = ", ".join(f"{fmt_int(counts.get(g, 0))} grade {g}" for g in sorted(counts.index))
        lines.append(f"Follow-up scorecard of existing customers: {parts}.")
    return lines


def leads_export(open_scored: pd.DataFrame, profiles: pd.DataFrame, probability: pd.Series,
                 explanations: pd.DataFrame, lookalike: pd.DataFrame | None) -> pd.DataFrame:
    """The ``exports/leads_scored.csv`` table: one row per open lead, best first."""
    ids = open_scored.index
    out = pd.DataFrame({"lead_id": ids.astype("string")}, index=ids)
    for column in ("fit_score", "engagement_score", "total_score", "grade", "grid"):
        out[column] = open_scored[column]
    out["conversion_probability"] = probability.reindex(ids).round(4)
    out["top_reasons"] = open_scored["top_reasons"]
    out["model_factors"] = explanations["top_factors"].reindex(ids)
    if lookalike is not None:
        out["lookalike_score"] = lookalike["lookalike_score"].reindex(ids)
        out["matching_traits"] = lookalike["matching_traits"].reindex(ids)
    out["last_activity"] = profiles.loc[ids, "last_activity"].dt.strftime("%Y-%m-%d")
    order = np.lexsort((out["lead_id"].to_numpy(dtype=str), -out["conversion_probability"].fillna(0).to_numpy(),
                        -out["total_score"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- notebook 05, step by step
# The notebook calls these in order; each returns what its section shows, and handles a missing table
# or column by saying so instead of failing.

#: What notebook 05 needs, beyond the transactions; the notes say what is skipped without it.
LEAD_NEEDS = (
    Need("leads", (), "lead scoring, the conversion model and look-alike leads"),
    Need("leads", ("customer_id",), "the conversion model and the scorecard's track record (no lead can be "
                                    "seen converting)"),
    Need("leads", ("event",), "engagement points per kind of activity (meetings, downloads, ...)"),
)
CRM_NEEDS = (Need("customers", ("stage",), "look-alike scoring of the CRM's prospects"),)

#: Columns of the call list shown in the report (all are in :func:`leads_export`).
CALL_LIST_COLUMNS = ["lead_id", "grade", "grid", "total_score", "conversion_probability", "top_reasons",
                     "model_factors"]
#: Formats of :func:`model_comparison` tables.
COMPARISON_FORMATS = {"roc_auc": "{:.3f}".format, "ks": "{:.3f}".format,
                      "brier": lambda v: "" if pd.isna(v) else f"{v:.3f}", "top_20pct_capture": fmt_pct}
LIFT_FORMATS = {"rate": fmt_pct, "lift": "{:.2f}".format, "cumulative_contacts_share": fmt_pct,
                "cumulative_positives_share": fmt_pct}


def findings(leads: scoring.LeadResults | None, customers: scoring.CustomerResults, customer_features: pd.DataFrame,
             tables: dict, settings: scoring.ScoringSettings, currency: str) -> list[str]:
    """Key findings of notebook 05, with what could not be done and what would enable it."""
    lines = absence_notes(tables, LEAD_NEEDS)
    if leads is not None and leads.conversion is None:
        lines.append(f"Too few leads with a known outcome to learn from ({leads.n_converted} converted, "
                     f"{leads.n_closed} closed; {scoring.MIN_OUTCOMES} of each are needed): open leads are graded "
                     "with the points scorecard only.")
    elif leads is not None:
        lines += lead_findings(leads.open_scores, leads.by_grade, leads.comparison, leads.best_model,
                               n_known=leads.n_known, open_days=settings.open_days)
    lines += customer_findings(customers.values, customers.risk, customer_features, customers.purchase_auc,
                               settings.horizon_days, customers.scores["grade"], currency,
                               settings.at_risk["rhythm_factor"])
    if customers.purchase_note:
        lines.append(f"Next-purchase model skipped: {customers.purchase_note}")
    return lines


def scoring_metrics(leads: scoring.LeadResults | None, customers: scoring.CustomerResults) -> dict:
    """The metrics notebook 05 records (model AUCs only when the model could be fitted)."""
    out = {"n_leads_scored": len(leads.open_ids) if leads is not None else 0,
           "n_grade_a": int((leads.open_scores["grade"] == "A").sum()) if leads is not None else 0}
    if leads is not None and leads.conversion is not None:
        models = leads.comparison.set_index("model")
        out["auc_conversion"] = round(float(models.loc[leads.best_model, "roc_auc"]), 4)
        out["brier_conversion"] = round(float(models.loc[leads.best_model, "brier"]), 4)
        out["auc_scorecard"] = round(float(models.loc[scoring.POINTS_SCORECARD, "roc_auc"]), 4)
    if customers.purchase is not None:
        out["auc_next_purchase"] = round(customers.purchase_auc, 4)
    out["n_customers_at_risk"] = int(customers.risk["at_risk"].sum())
    return out


def scorecard_sentence(card: scorecard.Scorecard) -> str:
    """Caps, activity weight and grade thresholds of a scorecard, in one sentence."""
    grades = ", ".join(f"**{name}** from {threshold:g}" for name, threshold in card.grades)
    return (f"Fit is capped at {card.fit_cap:g} points and engagement at {card.engagement_cap:g}. "
            f"Activity weight: {card.decay.describe()}. Grades: {grades}, **{card.lowest_grade}** below.")


def open_grid(leads: scoring.LeadResults) -> pd.DataFrame:
    """Open leads per fit x engagement cell, with named axes for the heat map."""
    grid = scorecard.grid_counts(leads.open_scores)
    grid.index.name, grid.columns.name = "fit", "engagement"
    return grid


def call_list(scored: pd.DataFrame) -> pd.DataFrame:
    """The open leads to call first (highest points, then probability): :data:`CALL_LIST_COLUMNS` of
    :func:`scored_leads_export`'s table, and the ``contact_channel`` the contact rules gave each (when they ran)."""
    return scored[[*CALL_LIST_COLUMNS, *(["contact_channel"] if "contact_channel" in scored.columns else [])]]


def conversion_model_sentence(leads: scoring.LeadResults) -> str:
    """How the conversion models were trained and tested."""
    conversion = leads.conversion
    return (f"Trained on {fmt_int(len(conversion.train))} leads, tested on the {fmt_int(len(conversion.test))} "
            f"most recent ones ({fmt_pct(float(leads.y_test.mean()))} converted). Best in cross-validation: "
            f"**{conversion.evaluation.best}**.")


def auc_by_model(comparison: pd.DataFrame) -> dict:
    """ROC AUC per model of a :func:`model_comparison` table, for chart legends."""
    return dict(zip(comparison["model"], comparison["roc_auc"], strict=True))


def weights_table(weights: dict) -> pd.DataFrame:
    """The value score's components and weights."""
    return pd.DataFrame({"component": list(weights), "weight": list(weights.values())})


def at_risk_table(customer_features: pd.DataFrame, customers: scoring.CustomerResults) -> pd.DataFrame:
    """Valuable customers at risk, largest revenue first: revenue, recency, usual gap, days overdue, value score."""
    view = (customer_features[["customer_id", "monetary", "recency_days"]]
            .join(customers.risk[["usual_gap_days", "days_overdue", "at_risk"]])
            .join(customers.values[["value_score"]]))
    return view[view["at_risk"]].sort_values("monetary", ascending=False).drop(columns="at_risk")



def purchase_sentence(purchase: scoring.PurchaseModels) -> str:
    """How the next-purchase models were trained and tested."""
    bought = float(purchase.test["purchased"].mean())
    return (f"Trained on features up to {purchase.train_cutoff:%d %B %Y} (purchases in the next "
            f"{purchase.horizon_days} days), tested on features up to {purchase.test_cutoff:%d %B %Y} "
            f"({fmt_pct(bought)} of customers bought again).")


def reference_text(group: dict) -> str:
    """The reference group of look-alike scoring (:func:`~portfolio_helpers.analysis.scoring.best_segment`), in words.

    Examples
    --------
    >>> reference_text({"segment": "Big spenders", "value_col": "profit", "top_share": None})
    'segment “Big spenders” (highest median profit)'
    >>> reference_text({"segment": None, "value_col": "monetary", "top_share": 0.2})
    'top 20% of customers by monetary'
    """
    if group["segment"] is not None:
        return f"segment “{group['segment']}” (highest median {group['value_col']})"
    return f"top {group['top_share']:.0%} of customers by {group['value_col']}"


def reference_sentence(result: scoring.LookalikeResults) -> str:
    """Who the look-alike scores compare with."""
    return f"Reference: the {reference_text(result.group)}, {fmt_int(int(result.reference.sum()))} customers."


def lookalike_lead_table(result: scoring.LookalikeResults, leads: scoring.LeadResults) -> pd.DataFrame:
    """The open leads with their look-alike score, most alike first (industry and employees when known)."""
    shown = leads.profiles.loc[leads.open_ids].join(result.leads).sort_values("lookalike_score", ascending=False)
    shown = shown.reset_index()
    return shown[["lead_id", *present_columns(shown, ("industry", "employees")), "lookalike_score",
                  "matching_traits"]]


def lookalike_notes(result: scoring.LookalikeResults, tables: dict) -> list[str]:
    """What look-alike scoring could not do, and why."""
    notes = absence_notes(tables, CRM_NEEDS, skip_missing_tables=True)
    if result.skipped:
        notes.append(f"Look-alike scoring skipped: {result.skipped}")
    return notes


def crm_sentence(crm: pd.DataFrame) -> str:
    """Heading of the CRM prospects table."""
    return (f"**CRM prospects** ({fmt_int(len(crm))} records at the lead, prospect or qualified stage) most like "
            "the best customers:")


def customer_export(customers: scoring.CustomerResults) -> pd.DataFrame:
    """The columns notebook 05 adds to ``exports/customers.csv``: ``value_score``, ``at_risk``,
    ``days_overdue``, ``customer_score``, ``score_grade``, ``score_reasons`` and, when the model
    could be fitted, ``purchase_probability``."""
    out = customers.values[["customer_id", "value_score"]].join(customers.risk[["at_risk", "days_overdue"]])
    scores = customers.scores[["customer_id", "total_score", "grade", "top_reasons"]].rename(
        columns={"total_score": "customer_score", "grade": "score_grade", "top_reasons": "score_reasons"})
    out = out.merge(scores, on="customer_id")
    if customers.purchase is not None:
        out = out.merge(customers.purchase.current[["customer_id", "purchase_probability"]].round(4),
                        on="customer_id", how="left")
    return out


def scored_leads_export(leads: scoring.LeadResults | None, lookalike_result: scoring.LookalikeResults) -> pd.DataFrame | None:
    """``exports/leads_scored.csv`` (see :func:`leads_export`); ``None`` without a leads table."""
    if leads is None:
        return None
    return leads_export(leads.open_scores, leads.profiles, leads.probability, leads.explanations,
                        lookalike_result.leads)


def exports_sentence(per_customer: pd.DataFrame, scored: pd.DataFrame | None) -> str:
    """What the exports of notebook 05 hold."""
    text = f"{fmt_int(len(per_customer))} customers updated in `exports/customers.csv`"
    return text + (f"; {fmt_int(len(scored))} open leads in `exports/leads_scored.csv`." if scored is not None
                   else ".")


def lead_explorer(leads: scoring.LeadResults):
    """JupyterLab widgets: move each criterion's points and the grade thresholds; the grade
    distribution of the open leads and the conversion rate per grade follow."""
    import ipywidgets as widgets

    card, open_ids = leads.card, leads.open_ids
    point_rows = {c.label: labelled_slider(c.label, value=c.points_each if c.per_event else c.points, min=-30,
                                           max=30, step=1, readout_format=".0f") for c in card.criteria}
    grade_rows = {name: labelled_slider(f"grade {name} from (points)", value=threshold, min=0, max=100, step=1,
                                        readout_format=".0f") for name, threshold in card.grades}
    point_sliders = {label: slider for label, (_, slider) in point_rows.items()}
    grade_sliders = {name: slider for name, (_, slider) in grade_rows.items()}

    def explore(**chosen):
        points = {label: chosen[f"p{i}"] for i, label in enumerate(point_sliders)}
        thresholds = [chosen[f"g{i}"] for i in range(len(grade_sliders))]
        if any(a <= b for a, b in zip(thresholds, thresholds[1:], strict=False)):
            show_markdown("Grade thresholds must decrease from one grade to the next.")
            return
        edited = card.with_points(points).with_thresholds(grades=dict(zip(grade_sliders, thresholds, strict=True)))
        rescored = scoring.score_leads(edited, leads.profiles, leads.events)
        show_table(scorecard.grade_distribution(rescored.loc[open_ids]), formats={"share": fmt_pct})
        show_table(scoring.conversion_by_grade(rescored, leads.profiles), formats={"rate": fmt_pct, "lift": "{:.1f}×".format})

    controls = {f"p{i}": slider for i, slider in enumerate(point_sliders.values())}
    controls |= {f"g{i}": slider for i, slider in enumerate(grade_sliders.values())}
    output = widgets.interactive_output(explore, controls)
    heading = widgets.HTML("<b>Points per criterion</b>")
    thresholds = widgets.HTML("<b>Grade thresholds</b>")
    return explorer_box([heading, *(row for row, _ in point_rows.values()), thresholds,
                         *(row for row, _ in grade_rows.values())], output)
