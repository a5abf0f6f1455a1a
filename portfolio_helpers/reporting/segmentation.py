"""Tables, charts and plain-language findings of notebook ``04_segmentation``, built on
:mod:`portfolio_helpers.analysis.features`, :mod:`portfolio_helpers.analysis.rfm` and
:mod:`portfolio_helpers.analysis.segmentation` (which compute; this module only writes up)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from portfolio_helpers.analysis import features, rfm
from portfolio_helpers.analysis.segmentation import (
    ACTIONABLE_K,
    FLAT_SHARE,
    MIN_SEGMENT_SHARE,
    SILHOUETTE_SAMPLE,
    CustomerSegments,
    SegmentationResult,
)
from portfolio_helpers.core.files import atomic_to_csv
from portfolio_helpers.reporting import charts
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
    "segmentation_findings",
    "k_reason",
    "stability_warning",
    "segments_findings",
    "skipped_sentence",
    "dropped_sentence",
    "two_way_sentence",
    "merged_sentence",
    "sample_sentence",
    "segmentation_metrics",
    "feature_definitions",
    "segment_map_table",
    "rfm_value_view",
    "show_k_choice",
    "show_profiles",
    "show_lifecycle",
    "show_migration",
    "export_profiles",
    "explorer",
    "settings_text",
    "rfm_findings",
    "rfm_grid",
    "rfm_summary_formats",
    "migration_findings",
    "cluster_name_overrides",
]


def rfm_findings(summary: pd.DataFrame, currency: str) -> list[str]:
    """Sentences on the RFM segments: the valuable core, who is slipping away, who is gone."""
    by_name = summary.set_index("segment")
    lines = []
    if "Champions" in by_name.index:
        champions = by_name.loc["Champions"]
        lines.append(f"**{plural(int(champions['customers']), 'Champion')}** ({fmt_pct(champions['customer_share'])} "
                     f"of customers) bring {fmt_pct(champions['revenue_share'])} of revenue: they bought recently "
                     f"and often.")
    slipping = [name for name in ("At Risk", "Can't Lose Them") if name in by_name.index]
    customers = int(by_name.loc[slipping, "customers"].sum()) if slipping else 0
    if customers:
        revenue = float(by_name.loc[slipping, "revenue"].sum())
        lines.append(f"{plural(customers, 'customer')} who used to buy often have stopped (At Risk, Can't Lose "
                     f"Them): {fmt_money(revenue, currency)} of revenue over the period, worth a call now.")
    gone = [name for name in ("Hibernating", "Lost") if name in by_name.index]
    if gone and by_name.loc[gone, "customers"].sum() > 0:
        lines.append(f"{fmt_pct(by_name.loc[gone, 'customer_share'].sum())} of customers are Hibernating or Lost, "
                     f"with {fmt_pct(by_name.loc[gone, 'revenue_share'].sum())} of revenue.")
    empty = by_name.index[by_name["customers"] == 0].tolist()
    if empty:
        lines.append(f"No customer falls in: {', '.join(empty)}.")
    return lines


def rfm_grid(scores: pd.DataFrame) -> pd.DataFrame:
    """Customers per (R score, F score) cell, R from 5 (recent) at the top."""
    grid = pd.crosstab(scores["r_score"], scores["f_score"]).reindex(index=range(5, 0, -1), columns=range(1, 6),
                                                                      fill_value=0)
    grid.index.name, grid.columns.name = "R score", "F score"
    return grid


def rfm_summary_formats(currency: str) -> dict:
    money = lambda v: fmt_money(v, currency)  # noqa: E731
    return {"customers": fmt_int, "customer_share": fmt_pct, "revenue": money, "revenue_share": fmt_pct,
            "median_recency_days": fmt_int, "median_frequency": fmt_int, "median_monetary": money}


def migration_findings(counts: pd.DataFrame, earlier, currency: str, revenue: pd.DataFrame | None = None) -> list[str]:
    """Sentences on how RFM segments moved since ``earlier``."""
    lines = []
    rows, columns = counts.index, counts.columns
    if "Champions" in rows:
        total = int(counts.loc["Champions"].sum())
        stayed = int(counts.loc["Champions", "Champions"]) if "Champions" in columns else 0
        if total:
            lines.append(f"Of the {plural(total, 'Champion')} of {earlier:%B %Y}, {fmt_int(stayed)} "
                         f"({fmt_pct(stayed / total)}) are still Champions.")
    if "new" in rows:
        new_total = int(counts.loc["new"].sum())
        if new_total:
            lines.append(f"{plural(new_total, 'customer')} bought for the first time since {earlier:%B %Y}.")
    slipped = [name for name in ("At Risk", "Can't Lose Them", "Hibernating", "Lost") if name in columns]
    valuable = [name for name in ("Champions", "Loyal Customers") if name in rows]
    if slipped and valuable:
        moved = int(counts.loc[valuable, slipped].to_numpy().sum())
        lines.append(f"{plural(moved, 'former Champion or Loyal customer')} slipped to At Risk, Can't Lose Them, "
                     f"Hibernating or Lost.")
    return lines


def cluster_name_overrides(section, config_path=None) -> dict | None:
    """The ``segments:`` config section: ``{names: {cluster number: "name"}}``, validated."""
    from portfolio_helpers.core.errors import ConfigError

    if section is None:
        return None
    where = f"{config_path}: segments" if config_path else "segments"
    if not isinstance(section, dict) or set(section) - {"names"}:
        raise ConfigError(f"{where}: expected only `names: {{0: \"My segment\", ...}}`, got {section!r}")
    names = section.get("names") or {}
    if not isinstance(names, dict) or not all(str(key).isdigit() and str(value).strip()
                                              for key, value in names.items()):
        raise ConfigError(f"{where}.names: expected cluster numbers mapped to non-empty names, got {names!r}")
    return {int(key): str(value).strip() for key, value in names.items()}


# --------------------------------------------------------------------------------------------------
# Clusters: findings
# --------------------------------------------------------------------------------------------------

def k_reason(result: SegmentationResult, elbow: bool = True) -> str:
    """Why this k, in one or two plain sentences, from the result's ``k_choice`` codes.

    ``elbow=False`` leaves out the sentence on the inertia curve's elbow and the imposed k.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> choice = {"status": "scored", "elbow": 3, "k": 3, "silhouette": 0.871, "calinski_harabasz": 2e4,
    ...           "low": 3, "high": 8, "outside_range": False, "rule": "size_only", "min_share": 0.02,
    ...           "min_features_apart": 2, "tied_with": [], "tie_margin": 0.02}
    >>> print(k_reason(SimpleNamespace(k_choice=choice)))
    k = 3 has the best silhouette (0.87) among the numbers of segments from 3 to 8; none gives segments that all differ on 2 features, so only the 2% minimum size applies. The elbow of the inertia curve (kneedle) is at k = 3.
    >>> k_reason(SimpleNamespace(k_choice={"status": "given", "elbow": None}))
    'k was given; no k was scored.'
    """
    choice = result.k_choice
    if choice["status"] == "given":
        return "k was given; no k was scored."
    elbow_text = ""
    if elbow:
        elbow_text = (f" The elbow of the inertia curve (kneedle) is at k = {choice['elbow']}."
                      if choice["elbow"] is not None else " The inertia curve has no clear elbow.")
    if choice["status"] == "unscored":
        return "No k could be scored (fewer than two clusters found)." + elbow_text
    share, apart = f"{choice['min_share']:.0%}", choice["min_features_apart"]
    span = f"from {choice['low']} to {choice['high']}"
    if choice["outside_range"]:
        low, high = choice["actionable"]
        span += f" (too few customers for {low} to {high})"
    if choice["rule"] == "size_and_apart":
        scope = (f"among the numbers of segments {span} where each segment holds at least {share} of the "
                 f"customers and every two segments differ on at least {apart} features")
    elif choice["rule"] == "size_only":
        scope = (f"among the numbers of segments {span}; none gives segments that all differ on "
                 f"{apart} features, so only the {share} minimum size applies")
    else:
        scope = (f"among the numbers of segments {span}; each of them leaves a segment under "
                 f"{share} of the customers, which is merged into its neighbours")
    text = f"k = {choice['k']} has the best silhouette ({choice['silhouette']:.2f}) {scope}."
    if choice["tied_with"]:
        others = ", ".join(str(v) for v in choice["tied_with"])
        text += (f" It is within {choice['tie_margin']} of k = {others}; the tie is broken by the highest "
                 f"Calinski-Harabasz score ({choice['calinski_harabasz']:,.0f}).")
    if elbow:
        text += elbow_text + (f" k = {choice['imposed']} was imposed." if choice.get("imposed") is not None else "")
    return text


def stability_warning(check: Mapping) -> str | None:
    """The warning on unstable segments (:func:`~portfolio_helpers.analysis.segmentation.stability`), or None.

    Examples
    --------
    >>> stability_warning({"mean_ari": 0.41, "unstable": True, "threshold": 0.6, "k": 6, "n_boot": 10})
    'The 6 segments are unstable: refitted on 10 bootstrap samples they agree with the segments of the full data with a mean adjusted Rand index of 0.41 (below 0.6). Treat them as a rough grouping; try another k or fewer features.'
    >>> stability_warning({"mean_ari": 0.9, "unstable": False, "threshold": 0.6, "k": 6, "n_boot": 10}) is None
    True
    """
    if not check.get("unstable"):
        return None
    return (f"The {check['k']} segments are unstable: refitted on {check['n_boot']} bootstrap samples they agree "
            f"with the segments of the full data with a mean adjusted Rand index of {check['mean_ari']:.2f} "
            f"(below {check['threshold']}). Treat them as a rough grouping; try another k or fewer features.")


def _label(names: Mapping | None, cluster) -> str:
    return names.get(cluster, f"segment {cluster}") if names else f"segment {cluster}"


def segmentation_findings(result: SegmentationResult, profile: pd.DataFrame | None = None,
                          names: Mapping | None = None, stability_check: Mapping | None = None) -> list[str]:
    """A few plain sentences on a segmentation: k and why, largest and most valuable segment, stability.

    Parameters
    ----------
    result : SegmentationResult
    profile : DataFrame, optional
        :func:`~portfolio_helpers.analysis.segmentation.profiles` of the result (for the revenue sentence).
    names : dict, optional
        :func:`~portfolio_helpers.analysis.segmentation.name_clusters` output; default "segment <number>".
    stability_check : dict, optional
        :func:`~portfolio_helpers.analysis.segmentation.stability` output.

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_helpers.analysis.segmentation import fit_segments, profiles
    >>> rng = np.random.default_rng(0)
    >>> f = pd.DataFrame({"customer_id": range(300), "monetary": np.r_[rng.normal(100, 5, 150),
    ...                   rng.normal(900, 30, 100), rng.normal(3000, 50, 50)],
    ...                   "frequency": np.r_[rng.normal(2, .2, 150), rng.normal(6, .5, 100), rng.normal(12, 1, 50)]})
    >>> r = fit_segments(f, k_range=range(2, 5))
    >>> for line in segmentation_findings(r, profiles(f, r.labels)):
    ...     print(line)  # doctest: +ELLIPSIS
    The customers fall into 3 segments: k = 3 has the best silhouette (0.9...) among the numbers of segments ...
    The largest segment, segment 0, holds 150 customers (50.0%).
    Segment 2 brings 58.8% of revenue with 16.7% of the customers.
    """
    lines = []
    why = k_reason(result, elbow=False) if result.suggested_k == result.k_fitted else ""
    if result.suggested_k is not None and result.suggested_k != result.k_fitted:
        why = f"k was set to {result.k_fitted}; the scores suggest k = {result.suggested_k}"
    elif not why:
        why = "k was set by the analyst"
    lines.append(f"The customers fall into {plural(result.k, 'segment')}: {why.rstrip('.')}.")
    sizes = result.labels.value_counts()
    largest = sizes.index[0]
    lines.append(f"The largest segment, {_label(names, largest)}, holds {plural(int(sizes.iloc[0]), 'customer')} "
                 f"({fmt_pct(sizes.iloc[0] / sizes.sum())}).")
    if profile is not None and "revenue_share" in profile.columns and profile["revenue_share"].notna().any():
        top = profile["revenue_share"].idxmax()
        name = _label(names, top)
        lines.append(f"{name[0].upper() + name[1:]} brings {fmt_pct(profile.loc[top, 'revenue_share'])} of revenue "
                     f"with {fmt_pct(profile.loc[top, 'share_customers'])} of the customers.")
    if stability_check is not None:
        if stability_warning(stability_check):
            lines.append(stability_warning(stability_check))
        else:
            lines.append(f"The segments are stable: bootstrap refits agree with them at a mean adjusted Rand "
                         f"index of {stability_check['mean_ari']:.2f}.")
    return lines


def _feature_label(name: str) -> str:
    return name.replace("_", " ")


def skipped_sentence(segments: CustomerSegments) -> str | None:
    """Why the clustering could not run, in plain words (None when it ran).

    Examples
    --------
    >>> from portfolio_helpers.analysis.segmentation import segment_customers
    >>> one = pd.DataFrame({"customer_id": ["c1"], "recency_days": [10], "monetary": [5.0]})
    >>> skipped_sentence(segment_customers(one))
    'Clustering needs at least 20 customers with purchases; this portfolio has 1. The RFM segments and lifecycle stages below do not need it.'
    """
    after = " The RFM segments and lifecycle stages below do not need it."
    if segments.skipped == "too_few_customers":
        return (f"Clustering needs at least {segments.needed} customers with purchases; this portfolio has "
                f"{fmt_int(segments.n_customers)}.{after}")
    if segments.skipped == "no_varying_feature":
        listed = ", ".join(_feature_label(f) for f in segments.dropped["feature"])
        return (f"Clustering needs at least one feature on which customers differ; here each feature has the same "
                f"value for at least {FLAT_SHARE:.0%} of the {plural(segments.n_customers, 'customer')} "
                f"({listed}).{after}")
    if segments.skipped == "too_few_distinct":
        return (f"Clustering needs at least {segments.needed} customers with different behaviour; the "
                f"{plural(segments.n_customers, 'customer')} of this portfolio show only "
                f"{plural(segments.n_distinct or 0, 'distinct profile')}.{after}")
    return None


def dropped_sentence(dropped: pd.DataFrame) -> str | None:
    """The features left out of the clustering because (almost) every customer has the same value.

    Examples
    --------
    >>> d = pd.DataFrame({"feature": ["profit_margin", "return_rate"], "value": ["0.4", "0"],
    ...                   "share": [1.0, 0.97], "reason": ["constant", "near-constant"]})
    >>> dropped_sentence(d)
    'Left out of the clustering because (almost) every customer has the same value: profit margin (0.4 for every customer), return rate (0 for 97.0% of the customers).'
    """
    if dropped is None or dropped.empty:
        return None
    parts = []
    for row in dropped.itertuples(index=False):
        who = "every customer" if row.reason == "constant" else f"{fmt_pct(row.share)} of the customers"
        parts.append(f"{_feature_label(row.feature)} ({row.value} for {who})")
    return ("Left out of the clustering because (almost) every customer has the same value: "
            + ", ".join(parts) + ".")


def two_way_sentence(result: SegmentationResult) -> str | None:
    """The dominant two-way split as a finding (None when it does not dominate)."""
    two = result.two_way
    if not two:
        return None
    return (f"The sharpest divide is in two groups (silhouette {two['silhouette_2']:.2f} against "
            f"{two['silhouette_k']:.2f} for {two['k']} segments; the smaller group holds "
            f"{fmt_pct(two['smallest_share_2'])} of the customers). Two groups, typically one-time against repeat "
            f"buyers, are too coarse for a marketing plan, so the report proposes {two['k']} segments "
            f"({ACTIONABLE_K[0]} to {ACTIONABLE_K[1]} are considered).")


def merged_sentence(result: SegmentationResult) -> str | None:
    """The segments merged because they were under the minimum size (None when none was)."""
    if not result.merged:
        return None
    parts = [f"{plural(m['customers'], 'customer')} ({fmt_pct(m['share'])})" for m in result.merged]
    return (f"{plural(len(parts), 'segment')} under {MIN_SEGMENT_SHARE:.0%} of the customers "
            f"({', '.join(parts)}) {'was' if len(parts) == 1 else 'were'} merged into the nearest segments: "
            f"{result.k_fitted} clusters were fitted, {result.k} are proposed.")


def sample_sentence(result: SegmentationResult) -> str | None:
    """How a large portfolio was clustered on a seeded sample (None when every customer was used).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(fit_rows=np.arange(20_000), n_fit=20_000, labels=pd.Series(range(2_000_000)), seed=42)
    >>> print(sample_sentence(r))
    With 2,000,000 customers, the number of segments was chosen and the segments fitted on a random sample of 20,000 customers (seed 42); every customer was then assigned to the nearest segment. The stability check resamples that sample; the silhouette is measured on 10,000 of its customers.
    """
    if getattr(result, "fit_rows", None) is None:
        return None
    return (f"With {fmt_int(len(result.labels))} customers, the number of segments was chosen and the segments "
            f"fitted on a random sample of {fmt_int(result.n_fit)} customers (seed {result.seed}); every customer "
            f"was then assigned to the nearest segment. The stability check resamples that sample; the silhouette "
            f"is measured on {fmt_int(min(SILHOUETTE_SAMPLE, result.n_fit))} of its customers.")


def segments_findings(segments: CustomerSegments) -> list[str]:
    """Key findings on the clusters of notebook 04, or why there are none."""
    skipped = skipped_sentence(segments)
    if skipped:
        return [skipped]
    lines = segmentation_findings(segments.result, segments.profiles, segments.names, segments.stability)
    extra = (two_way_sentence(segments.result), merged_sentence(segments.result), dropped_sentence(segments.dropped))
    return lines + [line for line in extra if line]


def segmentation_metrics(segments: CustomerSegments, scores: pd.DataFrame) -> dict:
    """Metrics recorded by notebook 04: segments, silhouette and stability (when clustered), RFM counts."""
    out = {"n_segments": int(segments.result.k) if segments.ran else 0}
    if segments.ran:
        if pd.notna(segments.result.silhouette):
            out["silhouette"] = round(float(segments.result.silhouette), 4)
        if segments.stability is not None:
            out["stability_ari"] = round(float(segments.stability["mean_ari"]), 4)
    out["n_champions"] = int((scores["rfm_segment"] == "Champions").sum())
    out["n_at_risk"] = int((scores["rfm_segment"] == "At Risk").sum())
    return out


# --------------------------------------------------------------------------------------------------
# Tables and sections of the notebook
# --------------------------------------------------------------------------------------------------

def feature_definitions(customer_features: pd.DataFrame) -> pd.DataFrame:
    """``feature, definition`` of the features present (and the category shares)."""
    rows = [(name, text) for name, text in features.FEATURE_DEFINITIONS.items()
            if name in customer_features.columns or name == "share_<category>"]
    return pd.DataFrame(rows, columns=["feature", "definition"])


def segment_map_table(segment_map: rfm.SegmentMap) -> pd.DataFrame:
    """The R × F segment map as a table, R score as the first column."""
    grid = segment_map.grid()
    grid.index.name, grid.columns.name = "R score", "F score"
    return grid.reset_index()


def rfm_value_view(rfm_table: pd.DataFrame) -> pd.DataFrame:
    """The RFM summary with chart-friendly share labels."""
    return rfm_table.rename(columns={"customer_share": "share of customers", "revenue_share": "share of revenue"})


def show_k_choice(segments: CustomerSegments, k_param: int = 0) -> None:
    """The four measures by k, why this k, and the stability of the segments (or why there are none)."""
    from IPython.display import display

    if not segments.ran:
        show_markdown(skipped_sentence(segments))
        return
    result = segments.result
    if result.k_scores is not None:
        display(charts.k_selection_chart(result.k_scores, result.suggested_k or result.k,
                                         "Choosing the number of segments"))
    text = k_reason(result) + (f" This report uses k = {result.k_fitted} (set by the `k` parameter)." if k_param else "")
    show_markdown(" ".join(line for line in (text, merged_sentence(result), sample_sentence(result)) if line))
    if segments.stability is not None:
        warning = stability_warning(segments.stability)
        show_markdown(f"Stability: the clusters come back with an adjusted Rand index of "
                      f"{segments.stability['mean_ari']:.2f} on resampled data (1 = identical)."
                      + (f" **{warning}**" if warning else ""))


_SHARE_LABELS = {"share_customers": "share of customers", "revenue_share": "share of revenue",
                 "profit_share": "share of profit", "top_features": "what sets it apart"}
_COMPACT = ("name", "size", "share_customers", "revenue_share", "profit_share", "customer_type", "top_features")


def _profile_view(segments: CustomerSegments) -> pd.DataFrame:
    return segments.profiles.assign(name=segments.profiles.index.map(segments.names))


def show_profiles(segments: CustomerSegments, seed: int = 42) -> None:
    """Profile heatmap, size against value, the PCA map and the compact profile table of the segments."""
    from IPython.display import display

    if not segments.ran:
        show_markdown("No cluster profiles: the clustering did not run (see above).")
        return
    view = _profile_view(segments)
    result = segments.result
    index_columns = [f"index_{c}" for c in result.numeric if f"index_{c}" in view.columns]
    if index_columns:
        heat = view.set_index("name")[index_columns].rename(columns=lambda c: c.removeprefix("index_"))
        display(charts.matrix_heatmap(heat.round(0), "Segment profiles: index vs the average customer (100 = average)",
                                      "feature", "segment", fmt=".0f", value_label="index"))
    display(charts.segment_value_chart(view.rename(columns=_SHARE_LABELS), "name", "Segments: size against value"))
    from portfolio_helpers.analysis.segmentation import pca_projection

    projection = pca_projection(result.matrix, seed=seed)
    display(charts.projection_chart(projection, result.labels.map(segments.names),
                                    "Customers in two dimensions (PCA), by segment",
                                    explained=projection.attrs.get("explained_variance_ratio"), seed=seed))
    _show_compact_profiles(view)


def _show_compact_profiles(view: pd.DataFrame) -> None:
    """The compact profile table: name, size, shares, type and what sets each segment apart."""
    compact = [c for c in _COMPACT if c in view.columns]
    show_table(view[compact].rename(columns=_SHARE_LABELS),
               formats={"size": fmt_int, "share of customers": fmt_pct, "share of revenue": fmt_pct,
                        "share of profit": fmt_pct})


def show_lifecycle(stages: pd.DataFrame) -> None:
    """The lead-to-customer funnel and the contacts per lifecycle stage."""
    from IPython.display import display

    from portfolio_helpers.analysis.segmentation import stage_funnel

    show_table(stage_funnel(stages), formats={"contacts": fmt_int, "reached": fmt_int, "conversion": fmt_pct})
    display(charts.count_bars(stages["lifecycle_stage"].value_counts(), "Contacts per lifecycle stage", "Contacts"))


def show_migration(counts: pd.DataFrame | None, revenue: pd.DataFrame | None, earlier, currency: str) -> None:
    """The RFM migration heatmap, its findings and its revenue table (:func:`rfm.migration_since`)."""
    from IPython.display import display

    if counts is None:
        show_markdown("Less than a year of history: no earlier segmentation to compare with.")
        return
    display(charts.matrix_heatmap(counts, f"RFM segment in {earlier:%B %Y} (rows) and now (columns)",
                                  "now", f"{earlier:%B %Y}", value_label="customers"))
    show_markdown("\n".join(f"- {line}" for line in migration_findings(counts, earlier, currency)))
    if revenue is not None:
        show_markdown("**Revenue of the last 12 months by migration cell:**")
        show_table(revenue.reset_index(), formats={c: (lambda v: fmt_money(v, currency)) for c in revenue.columns})


def export_profiles(segments: CustomerSegments, output_dir) -> Path | None:
    """Write the cluster profiles to ``exports/segments.csv`` (None, nothing written, when not clustered)."""
    if not segments.ran:
        return None
    return atomic_to_csv(_profile_view(segments).reset_index(), Path(output_dir) / "exports" / "segments.csv")


def settings_text(segments: CustomerSegments, algorithm: str, k_param: int, categorical_weight: float) -> str:
    """The settings of this report's clustering, and how to change them."""
    k_text = f"k = {segments.result.k_fitted}{'' if k_param else ' (suggested)'}" if segments.ran else \
        "no clustering (see above)"
    return (f"Settings of this report: algorithm {algorithm}, {k_text}, customer-type weight {categorical_weight}. "
            f"Change them with `--set name=value`.")


def explorer(customer_features: pd.DataFrame, segments: CustomerSegments, algorithm: str = "kmeans",
             seed: int = 42, categorical_weight: float = 0.5):
    """JupyterLab widgets: pick the features, the algorithm and k; the findings and profiles follow."""
    import ipywidgets as widgets

    from portfolio_helpers.analysis.segmentation import fit_segments, name_clusters, profiles

    if not segments.ran:
        return widgets.HTML(html.escape(skipped_sentence(segments)))
    result = segments.result
    options = list(result.numeric)
    feature_picker = widgets.SelectMultiple(options=options, value=tuple(options), description="features",
                                            rows=min(len(options), 8), layout=widgets.Layout(width="420px"),
                                            style={"description_width": "80px"})
    algorithm_picker = widgets.Dropdown(options=["kmeans", "gmm"], value=algorithm, description="algorithm",
                                        style={"description_width": "80px"})
    k_row, k_slider = labelled_slider("number of segments (k)", integer=True, value=result.k_fitted, min=2, max=10)

    def explore(chosen, method, n_segments):
        if len(chosen) < 2:
            show_markdown("Pick at least two features.")
            return
        try:
            explored = fit_segments(customer_features, numeric=list(chosen), categorical=result.categorical,
                                    k=n_segments, algorithm=method, seed=seed, categorical_weight=categorical_weight)
        except ValueError as error:
            show_markdown(html.escape(str(error)))
            return
        explored_profiles = profiles(customer_features, explored.labels, numeric=list(chosen))
        explored_names = name_clusters(explored_profiles)
        show_markdown("\n".join(f"- {line}" for line in segmentation_findings(explored, explored_profiles,
                                                                                explored_names)))
        _show_compact_profiles(explored_profiles.assign(name=explored_profiles.index.map(explored_names)))

    output = widgets.interactive_output(explore, {"chosen": feature_picker, "method": algorithm_picker,
                                                  "n_segments": k_slider})
    return explorer_box([feature_picker, algorithm_picker, k_row], output)
