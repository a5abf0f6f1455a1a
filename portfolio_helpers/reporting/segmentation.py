"""Tables and plain-language findings of notebook ``04_segmentation``, built on
:mod:`portfolio_helpers.analysis.features`, :mod:`portfolio_helpers.analysis.rfm` and :mod:`portfolio_helpers.analysis.segmentation`."""

from __future__ import annotations

import pandas as pd

from portfolio_helpers.analysis import features, rfm
from portfolio_helpers.analysis.scoring import crm_prospects
from portfolio_helpers.reporting.narrative import fmt_int, fmt_money, fmt_pct, plural

__all__ = [
    "score_rfm",
    "rfm_findings",
    "rfm_grid",
    "rfm_summary_formats",
    "previous_segments",
    "migration_findings",
    "lifecycle_leads",
    "cluster_name_overrides",
]


def score_rfm(customer_features: pd.DataFrame, segment_map: rfm.SegmentMap) -> pd.DataFrame:
    """RFM scores and the named segment of each customer (column ``rfm_segment``)."""
    scores = rfm.rfm_scores(customer_features)
    scores["rfm_segment"] = rfm.assign_segments(scores, segment_map).to_numpy()
    return scores


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
    if slipping:
        customers = int(by_name.loc[slipping, "customers"].sum())
        revenue = float(by_name.loc[slipping, "revenue"].sum())
        lines.append(f"{plural(customers, 'customer')} who used to buy often have stopped (At Risk, Can't Lose "
                     f"Them): {fmt_money(revenue, currency)} of revenue over the period, worth a call now.")
    gone = [name for name in ("Hibernating", "Lost") if name in by_name.index]
    if gone:
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


def previous_segments(tables: dict[str, pd.DataFrame], as_of, segment_map: rfm.SegmentMap,
                      months: int = 12) -> tuple[pd.Series, pd.Timestamp]:
    """The RFM segment each customer had ``months`` before ``as_of`` (same rules, data up to then)."""
    earlier = pd.Timestamp(as_of) - pd.DateOffset(months=months)
    transactions = tables["transactions"]
    past = {**tables, "transactions": transactions[transactions["date"] <= earlier]}
    if past["transactions"].empty:
        return pd.Series(dtype="string", name="rfm_segment"), earlier
    scored = score_rfm(features.customer_features(past, earlier), segment_map)
    return scored.set_index("customer_id")["rfm_segment"], earlier


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


def lifecycle_leads(tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The leads table to add to the CRM stages, or None when the CRM already holds the open leads.

    Leads that have not converted carry no customer id, so when the customers table also lists
    contacts at the lead / prospect / qualified stages, adding the leads table would count those
    people twice: the CRM's own stages are then the funnel.
    """
    if crm_prospects(tables.get("customers")) is not None:
        return None
    return tables.get("leads")


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
