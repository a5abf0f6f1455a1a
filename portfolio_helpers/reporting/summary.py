"""The executive summary on a run's ``index.html``: findings, small charts and key figures.

Everything here is read from what the notebooks recorded through their
:class:`~portfolio_helpers.reporting.metrics.MetricsRecorder` (metrics, findings,
charts); nothing is computed again. A notebook that was skipped or failed before
recording simply contributes nothing, and :func:`executive_summary` says what is
missing in a word.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from portfolio_helpers.analysis.clv.models import MODEL_NAMES
from portfolio_helpers.core.formatting import fmt_int, fmt_money, fmt_pct
from portfolio_helpers.reporting.metrics import metrics_path, read_findings, top_findings

__all__ = [
    "METRIC_LABELS",
    "SUMMARY_CHARTS",
    "N_FINDINGS",
    "finding_html",
    "format_key_figure",
    "key_figures",
    "executive_summary",
]

N_FINDINGS = 10
"""How many findings the index shows."""

SUMMARY_CHARTS = {
    "pareto_curve": "Pareto curve",
    "whale_curve": "Whale curve",
    "segment_sizes": "Segment sizes and revenue",
    "lead_grade_funnel": "Lead grade funnel",
}
"""Chart name (as recorded with ``record_chart``) -> caption on the index, in display order."""

METRIC_LABELS: dict[str, tuple[str, str]] = {
    # 01 data loading and cleaning
    "n_transactions": ("Transaction lines", "count"),
    "n_customer_ids": ("Customers who bought", "count"),
    "n_orders": ("Orders", "count"),
    "revenue_total": ("Net revenue", "money"),
    "cancelled_total": ("Cancelled orders", "money"),
    "period_start": ("First transaction", "date"),
    "period_end": ("Last transaction", "date"),
    "n_rejected_rows": ("Rows set aside (unreadable)", "count"),
    "quality_score": ("Data quality score", "score100"),
    "n_duplicate_groups": ("Customers entered more than once", "count"),
    "n_records_merged": ("Duplicate records merged", "count"),
    "n_invalid_emails": ("Invalid e-mail addresses", "count"),
    "n_invalid_phones": ("Invalid phone numbers", "count"),
    "n_customers": ("Customers in the customer file", "count"),
    # 02 Pareto and concentration
    "top20_share": ("Revenue from the top 20% of customers", "share"),
    "share_customers_for_80pct": ("Customers bringing 80% of revenue", "share"),
    "gini": ("Inequality of revenue (Gini, 0 to 1)", "ratio"),
    "hhi": ("Concentration (Herfindahl-Hirschman index)", "hhi"),
    "n_major_customers": ("Major customers (10% of revenue or more)", "count"),
    "n_customers_A": ("Class A customers", "count"),
    "n_customers_B": ("Class B customers", "count"),
    "n_customers_C": ("Class C customers", "count"),
    # 03 profitability
    "total_profit": ("Profit after cost to serve", "money"),
    "gross_margin_total": ("Gross margin", "money"),
    "cost_to_serve_total": ("Cost to serve", "money"),
    "whale_peak_pct": ("Peak of the whale curve (share of total profit)", "pct"),
    "share_unprofitable_customers": ("Unprofitable customers", "share"),
    "unprofitable_revenue_share": ("Revenue from unprofitable customers", "share"),
    # 04 segmentation
    "n_segments": ("Customer segments (clusters)", "count"),
    "silhouette": ("Separation of the segments (silhouette, -1 to 1)", "ratio"),
    "stability_ari": ("Stability of the segments (0 to 1)", "ratio"),
    "n_champions": ("Champions (RFM)", "count"),
    "n_at_risk": ("At risk (RFM segment)", "count"),
    # 05 scoring
    "n_leads_scored": ("Open leads scored", "count"),
    "n_grade_a": ("Open leads graded A", "count"),
    "auc_conversion": ("Conversion model ranking (ROC AUC, 0.5 to 1)", "ratio"),
    "brier_conversion": ("Conversion model error (Brier, lower is better)", "ratio"),
    "auc_scorecard": ("Points scorecard ranking (ROC AUC, 0.5 to 1)", "ratio"),
    "auc_next_purchase": ("Next-purchase model ranking (ROC AUC, 0.5 to 1)", "ratio"),
    "n_customers_at_risk": ("Valuable customers at risk", "count"),
    # 06 future value
    "clv_model": ("Model used for the forecast", "text"),
    "holdout_purchases_actual": ("Repeat purchases in the test period (actual)", "count"),
    "holdout_purchases_predicted": ("Repeat purchases in the test period (forecast)", "count"),
    "clv_total": ("Value of the portfolio over the horizon (revenue)", "money"),
    "clv_profit_total": ("Value of the portfolio over the horizon (profit)", "money"),
    "n_customers_probably_gone": ("Customers probably gone (P(alive) < 0.2)", "count"),
    # 07 growth and objectives
    "net_revenue_retention": ("Net revenue retention", "share"),
    "gross_revenue_retention": ("Gross revenue retention", "share"),
    "new_customer_revenue_share": ("Revenue from new customers", "share"),
    "n_objectives": ("Objectives tracked", "count"),
    "n_objectives_on_track": ("Objectives achieved or on track", "count"),
    # 08 the customer's voice
    "nps": ("Net promoter score (-100 to +100)", "points"),
    "csat_mean": ("Mean satisfaction score", "ratio"),
    "response_rate": ("Customers who answered a survey", "share"),
    "n_valuable_detractors": ("Valuable customers who are unhappy", "count"),
    "n_excluded_no_consent": ("People left out of call lists (no consent)", "count"),
}
"""Metric name -> (label for managers, kind); the kind decides the unit shown."""

_HIDDEN = {"hhi_level"}  # shown inside the HHI figure
_HIDDEN_PREFIXES = ("bgnbd_", "pnbd_", "mbgnbd_", "gg_")  # model parameters: in notebook 06 and run.json, not for managers
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
_CODE = re.compile(r"`([^`]+)`")
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def finding_html(text: str) -> Markup:
    """A finding's Markdown as safe HTML: everything escaped, then ``**bold**`` and ```code```.

    Examples
    --------
    >>> str(finding_html("**78%** of revenue from <Alpha & Co> in `exports/a.csv`"))
    '<strong>78%</strong> of revenue from &lt;Alpha &amp; Co&gt; in <code>exports/a.csv</code>'
    >>> str(finding_html(r"3 \\*starred\\* names"))
    '3 *starred* names'
    """
    escaped = html.escape(_MD_ESCAPE.sub(r"\1", text), quote=True)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return Markup(_BOLD.sub(r"<strong>\1</strong>", escaped))


def _kind(name: str, value: Any) -> tuple[str, str]:
    """Label and kind of a metric, from :data:`METRIC_LABELS` or the naming conventions."""
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    label = ("Number of " + name[2:].replace("_", " ")) if name.startswith("n_") else \
        name.replace("_", " ").capitalize()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return label, "text"
    if name.startswith("n_") or name.endswith("_count"):
        return label, "count"
    if name.endswith("_share"):
        return label, "share"
    if name.endswith("_pct"):
        return label, "pct"
    if name == "profit" or name.startswith(("revenue_", "profit_")) or name.endswith("_total"):
        return label, "money"
    return label, "ratio"


def format_key_figure(name: str, value: Any, currency: str | None = None,
                      context: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Label and value of a key figure, with its unit.

    Shares as percentages, money with the currency, counts with thousands
    separators, the HHI in points with its level (from the ``hhi_level`` metric in
    ``context``), scores out of 100.

    Examples
    --------
    >>> format_key_figure("hhi", 27.76, context={"hhi_level": "unconcentrated"})
    ('Concentration (Herfindahl-Hirschman index)', '28 points (unconcentrated)')
    >>> format_key_figure("top20_share", 0.788)
    ('Revenue from the top 20% of customers', '78.8%')
    >>> format_key_figure("revenue_total", 12348962.34, "EUR")
    ('Net revenue', '€12.35 M')
    >>> format_key_figure("n_customers_A", 422)
    ('Class A customers', '422')
    >>> format_key_figure("clv_median", 1520.5, "USD")
    ('Clv median', '1,520')
    """
    label, kind = _kind(name, value)
    if name == "clv_model":
        value = MODEL_NAMES.get(value, value)
    if kind == "text" or isinstance(value, bool) or not isinstance(value, int | float):
        return label, str(value)
    if kind == "count":
        return label, fmt_int(value)
    if kind == "share":
        return label, fmt_pct(value)
    if kind == "pct":
        return label, f"{value:,.1f}%"
    if kind == "money":
        return label, fmt_money(value, currency) if currency else f"{value:,.2f}"
    if kind == "points":
        return label, f"{value:+.0f} points"
    if kind == "score100":
        return label, f"{value:.1f} / 100"
    if kind == "hhi":
        level = (context or {}).get("hhi_level")
        return label, f"{fmt_int(value)} points" + (f" ({level})" if level else "")
    if isinstance(value, int):
        return label, fmt_int(value)
    return label, f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"


def key_figures(metrics_by_notebook: Mapping[str, Mapping[str, Any]], currency: str | None) -> list[dict]:
    """Key figures grouped by notebook: ``[{"notebook", "figures": [{"name", "label", "value"}]}]``.

    Notebooks without a figure are left out; ``hhi_level`` is shown inside the HHI figure.

    Examples
    --------
    >>> groups = key_figures({"02_pareto": {"hhi": 27.76, "hhi_level": "unconcentrated"}, "03_x": {}}, "EUR")
    >>> [(g["notebook"], [f["value"] for f in g["figures"]]) for g in groups]
    [('02_pareto', ['28 points (unconcentrated)'])]
    """
    groups = []
    for notebook, values in metrics_by_notebook.items():
        figures = []
        for name, value in values.items():
            if name in _HIDDEN or name.startswith(_HIDDEN_PREFIXES):
                continue
            label, shown = format_key_figure(name, value, currency, values)
            figures.append({"name": name, "label": label, "value": shown})
        if figures:
            groups.append({"notebook": notebook, "figures": figures})
    return groups


def _png_data_uri(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def executive_summary(run_dir: str | os.PathLike, notebooks: Sequence[Mapping[str, Any]],
                      currency: str | None) -> dict[str, Any]:
    """What the index shows above the run details, read from the run folder.

    Parameters
    ----------
    run_dir : str or path-like
        The run folder the notebooks wrote into.
    notebooks : sequence of mapping
        ``run.json["notebooks"]``: ``name``, ``status``, ``html``, ``title``.
    currency : str or None
        The run currency, for money figures.

    Returns
    -------
    dict
        ``findings`` (the :data:`N_FINDINGS` most important, each with ``html``,
        ``href`` and ``notebook_title``), ``charts`` (those of :data:`SUMMARY_CHARTS`
        found, inline as data URIs), ``missing_charts`` (captions), ``key_figures``
        (grouped by notebook title) and ``silent`` (titles of notebooks that
        recorded no finding).
    """
    run_dir = Path(run_dir)
    by_name = {nb["name"]: nb for nb in notebooks}
    names = list(by_name)
    title = {name: nb.get("title") or name for name, nb in by_name.items()}
    recorded = read_findings(run_dir, names)
    findings = []
    for finding in top_findings(recorded, N_FINDINGS):
        page = by_name[finding["notebook"]].get("html")
        anchor = finding.get("anchor")
        findings.append({**finding, "html": finding_html(finding["text"]),
                         "href": f"{page}#{anchor}" if page and anchor else page,
                         "notebook_title": title[finding["notebook"]]})
    charts, found = [], set()
    recorded_charts = {chart["name"]: (notebook, chart) for notebook, content in recorded.items()
                       for chart in content.get("charts", [])}
    for name, caption in SUMMARY_CHARTS.items():
        if name not in recorded_charts:
            continue
        notebook, chart = recorded_charts[name]
        uri = _png_data_uri(run_dir / chart["file"])
        if uri is None:
            continue
        page = by_name[notebook].get("html")
        found.add(name)
        charts.append({"name": name, "caption": caption, "title": chart.get("title") or caption, "src": uri,
                       "href": f"{page}#{chart['anchor']}" if page and chart.get("anchor") else page})
    metrics_by_notebook = {}
    for name in names:
        path = metrics_path(run_dir, name)
        if path.is_file():
            metrics_by_notebook[name] = json.loads(path.read_text(encoding="utf-8"))
    figures = key_figures(metrics_by_notebook, currency)
    for group in figures:
        group["title"] = title[group["notebook"]]
        group["html"] = by_name[group["notebook"]].get("html")
    return {
        "findings": findings,
        "charts": charts,
        "missing_charts": [caption for name, caption in SUMMARY_CHARTS.items() if name not in found],
        "key_figures": figures,
        "silent": [title[name] for name in names if not recorded.get(name, {}).get("findings")],
    }
