"""Shared vocabulary: the labels and constants every layer uses with the same meaning.

Defined once here so that the analysis and reporting layers agree on what a cancelled
line, a returned line or an unknown attribute value is, and so that no module imports
a constant from a layer above it.

Examples
--------
>>> CANCELLED in RETURN_STATUSES
True
>>> UNKNOWN
'(unknown)'
"""

from __future__ import annotations

__all__ = [
    "UNKNOWN",
    "COMPLETED",
    "CANCELLED",
    "RETURNED",
    "MODIFIED",
    "STATUSES",
    "RETURN_STATUSES",
    "DAYS_PER_YEAR",
    "DEFINITIONS",
    "definitions_markdown",
]

#: Label of a missing or blank attribute value in tables and charts.
UNKNOWN = "(unknown)"

#: Canonical values of ``transactions.status`` (the data contract maps the spellings to these).
COMPLETED = "completed"
CANCELLED = "cancelled"
RETURNED = "returned"
MODIFIED = "modified"
STATUSES: tuple[str, ...] = (COMPLETED, CANCELLED, RETURNED, MODIFIED)

#: A *return line*: a line returned, cancelled or modified (the returns cost driver, the return rate).
RETURN_STATUSES: tuple[str, ...] = (RETURNED, CANCELLED, MODIFIED)

#: Days per year for rates per year (orders per year, tenure in years).
DAYS_PER_YEAR = 365.25

#: The one definition of each figure, with the function that owns it (the page
#: ``docs/data_contract.md`` shows them; every other place calls the owner).
DEFINITIONS: dict[str, tuple[str, str]] = {
    "revenue lines": (
        "analysis.engine.revenue_lines",
        "Every transaction line except cancelled ones (status `cancelled`); credit notes and returns "
        "(negative amounts) are kept, so revenue is net. Without a status column every line counts. "
        "The cancelled lines (`analysis.engine.cancelled_lines`) are reported on their own "
        "(`cancelled_total` in notebook 01).",
    ),
    "revenue": (
        "analysis.engine.customer_summary",
        "Sum of `amount` over the revenue lines: `revenue_total` in notebook 01 and on the index page, "
        "`revenue` in notebooks 02 and 03 and in `customers.csv`, `monetary` in the customer features.",
    ),
    "orders": (
        "analysis.engine.orders",
        "The lines of a customer that share an `order_id`; a line without `order_id` (or every line, "
        "without the column) is an order of its own. Orders are counted over the revenue lines: "
        "`n_orders` in notebooks 01 and 03, `frequency` in the customer features; a fully cancelled order "
        "is not an order. Per period, an order counts in the period of its first line.",
    ),
    "deliveries": (
        "analysis.engine.deliveries",
        "The orders whose net amount is positive (to the cent): `n_deliveries`, the `per_delivery` cost and the "
        "`order` events of the customer scorecards.",
    ),
    "average order value": (
        "analysis.engine.customer_summary",
        "`revenue / n_orders`.",
    ),
    "return lines": (
        "analysis.engine.return_lines",
        "Lines with status `returned`, `cancelled` or `modified`: `n_return_lines`, the `per_return` "
        "cost; `return_rate = n_return_lines / n_lines` over all lines (`analysis.engine.customer_lines`).",
    ),
    "tenure": (
        "analysis.engine.tenure_days",
        "Calendar days from the day of the first revenue line to the as-of day (`tenure_days`); "
        "`recency_days` likewise from the last revenue line.",
    ),
    "orders per year": (
        "analysis.engine.orders_per_year",
        "`n_orders / max(tenure_days / 365.25, 1)`: a tenure under one year counts as one year, so a new "
        "customer's rate is its number of orders so far.",
    ),
    "days late": (
        "analysis.engine.days_late",
        "Mean of `paid_date - due_date` in calendar days over paid invoices (negative when paid early): "
        "`days_late` in the customer features and the P&L (`analysis.engine.customer_days_late`), empty "
        "for a customer without a paid invoice.",
    ),
    "cost of goods": (
        "analysis.profitability.cost_of_goods",
        "Over the revenue lines: the line's `cost` when known, else `amount` times the rate of its "
        "category (`costs.cogs_rate_by_category`), else times `costs.default_cogs_rate` (0.60 by default).",
    ),
    "gross margin": (
        "analysis.profitability.gross_margin",
        "Revenue minus cost of goods, before any cost to serve; `margin_rate = gross_margin / revenue` "
        "(NaN when revenue <= 0). The same in notebooks 02, 03, 04, 05 and `customers.csv`.",
    ),
    "NPS": (
        "analysis.satisfaction.score_summary",
        "On the 0–10 scale: share of promoters (9–10) minus share of detractors (0–6), in points, each customer "
        "counted once with their latest answer (per period: their latest in the period); 95% interval "
        "NPS ± 1.96 × 100 × √((p_P + p_D − (p_P − p_D)²) / n), the multinomial variance of the difference.",
    ),
    "CSAT": (
        "analysis.satisfaction.score_summary",
        "On a CSAT (1–5) or `{min, max}` scale: the mean score (95% interval ± 1.96 s/√n) and the share "
        "satisfied, the top two points (4–5 on CSAT; Wilson interval).",
    ),
    "response rate": (
        "analysis.satisfaction.response_rate",
        "Customers who answered / customers with a revenue line, both from the first answer to the as-of day.",
    ),
    "churn after an answer": (
        "analysis.satisfaction.behaviour_after",
        "No delivery in the `scoring.at_risk.max_days` after the customer's latest answer given at least that "
        "long before the as-of day; revenue and orders before and after come from the orders of the revenue lines.",
    ),
    "cohort": (
        "analysis.growth.cohort_table",
        "The customers whose first revenue line falls in the same month, quarter or year (`growth: period`). "
        "A customer is *active* in a period when their revenue in it is above zero; a customer whose first "
        "period nets to zero or less was never acquired and is in no cohort (notebook 07, `cohorts.csv`).",
    ),
    "revenue bridge": (
        "analysis.growth.customer_movements",
        "Per customer, with `prev` and `cur` the revenue of two periods counted when positive: new "
        "(`prev = 0`, first purchase in the current period), reactivated (`prev = 0`, first purchase before), "
        "expansion (`cur > prev > 0`), contraction (`0 < cur < prev`), churned (`prev > 0`, `cur = 0`); start + "
        "movements = end to the cent. Net revenue retention = (start + expansion + contraction + churned) / "
        "start; gross revenue retention = (start + contraction + churned) / start (notebook 07, "
        "`revenue_bridge.csv`, `owners.csv`).",
    ),
}


def definitions_markdown() -> list[str]:
    """The ``Definitions`` section of ``docs/data_contract.md``, as Markdown lines.

    Examples
    --------
    >>> definitions_markdown()[0]
    '## Definitions'
    """
    lines = ["## Definitions", "",
             "Each figure has one definition, computed by one function of `portfolio_helpers` "
             "that every notebook and export calls.", "",
             "| figure | definition | computed by |", "|---|---|---|"]
    for figure, (owner, text) in DEFINITIONS.items():
        lines.append(f"| {figure} | {text} | `{owner}` |")
    lines.append("")
    return lines
