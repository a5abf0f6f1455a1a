"""Report helpers of notebook 05 (scoring): plain-language findings and report tables.

The computations live in :mod:`portfolio_helpers.analysis.scoring`, :mod:`~portfolio_helpers.analysis.scorecard`
and :mod:`~portfolio_helpers.analysis.propensity`; this module turns their results into the
sentences and tables a sales manager reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from portfolio_helpers.analysis import propensity, scorecard
from portfolio_helpers.reporting.narrative import fmt_int, fmt_money, fmt_pct, plural

__all__ = [
    "SCORECARD_FORMATS",
    "score_leads",
    "conversion_by_grade",
    "model_comparison",
    "top_share_capture",
    "lead_findings",
    "customer_findings",
    "leads_export",
]


#: Display formats of :meth:`Scorecard.to_frame` in the report.
SCORECARD_FORMATS = {"points": "{:+g}".format, "window": lambda days: "" if pd.isna(days) else f"{days:g} days"}


def score_leads(card: scorecard.Scorecard, profiles: pd.DataFrame, events: pd.DataFrame,
                n_reasons: int = 3) -> pd.DataFrame:
    """Scorecard of every lead as of its reference date (open leads: today), indexed by lead id."""
    scored = scorecard.score(card, profiles.reset_index(), events, id_col="lead_id",
                             reference_date=profiles["reference_date"], n_reasons=n_reasons)
    return scored.set_index("lead_id")


def conversion_by_grade(scored: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """Historical conversion rate per grade, on the leads whose outcome is known.

    Each historical lead is graded as of its last activity before the outcome.

    Examples
    --------
    >>> scored = pd.DataFrame({"grade": pd.Categorical(["A", "A", "C", "C"], categories=["A", "B", "C"])},
    ...                       index=["l1", "l2", "l3", "l4"])
    >>> profiles = pd.DataFrame({"outcome_known": [True] * 4, "converted": [True, False, False, False]},
    ...                         index=["l1", "l2", "l3", "l4"])
    >>> conversion_by_grade(scored, profiles)
      grade  contacts  converted  rate  lift
    0     A         2          1   0.5   2.0
    1     B         0          0   NaN   NaN
    2     C         2          0   0.0   0.0
    """
    known = profiles.index[profiles["outcome_known"]]
    frame = pd.DataFrame({"grade": scored.loc[known, "grade"],
                          "converted": profiles.loc[known, "converted"].astype("int64")})
    table = frame.groupby("grade", observed=False)["converted"].agg(["size", "sum"]).reset_index()
    table.columns = ["grade", "contacts", "converted"]
    table["grade"] = table["grade"].astype("string")
    table["rate"] = table["converted"] / table["contacts"].where(table["contacts"] > 0)
    average = frame["converted"].mean() if len(frame) else np.nan
    table["lift"] = table["rate"] / average if average else np.nan
    return table


def top_share_capture(y_true, scores, share: float = 0.2) -> float:
    """Share of all positives found by calling the top ``share`` of contacts (highest scores first).

    >>> top_share_capture([1, 0, 1, 0, 0], [0.9, 0.8, 0.1, 0.2, 0.3], share=0.4)
    0.5
    """
    y = np.asarray(y_true, dtype=float)
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    n_top = max(1, int(round(share * y.size)))
    return float(y[order[:n_top]].sum() / y.sum()) if y.sum() else float("nan")


def model_comparison(y_true, probabilities: dict[str, np.ndarray], scorecard_points=None) -> pd.DataFrame:
    """ROC AUC, KS, Brier score and top-20% capture of each model (and the points scorecard) on the same contacts.

    The scorecard gives points, not probabilities: its Brier score is left empty.
    """
    rows = []
    for name, probability in probabilities.items():
        measures = propensity.evaluate(y_true, probability)
        rows.append({"model": name, "roc_auc": measures["auc"], "ks": measures["ks"], "brier": measures["brier"],
                     "top_20pct_capture": top_share_capture(y_true, probability)})
    if scorecard_points is not None:
        rows.append({"model": "Points scorecard", "roc_auc": float(roc_auc_score(y_true, scorecard_points)),
                     "ks": propensity.ks_statistic(y_true, scorecard_points), "brier": np.nan,
                     "top_20pct_capture": top_share_capture(y_true, scorecard_points)})
    return pd.DataFrame(rows)


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
        if "Points scorecard" in models.index:
            points = models.loc["Points scorecard"]
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
