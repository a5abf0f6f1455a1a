"""Tables and plain-language findings of notebook ``03_profitability``, built on
:mod:`portfolio_helpers.analysis.profitability`."""

from __future__ import annotations

import math

import ibis
import pandas as pd

from portfolio_helpers.analysis import engine, profitability
from portfolio_helpers.core.vocabulary import UNKNOWN
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
    "loss_explanations",
    "missing_driver_notes",
    "findings",
    "cost_model_table",
    "pnl_table",
    "pnl_formats",
    "traits_table",
    "traits_formats",
    "breakdown_table",
    "segment_breakdown",
    "sensitivity_table",
    "sensitivity_formats",
    "display_names",
    "SEGMENT_COLUMNS",
    "headline_metrics",
    "customer_export",
    "whale_note",
    "segment_breakdowns",
    "segment_formats",
    "losers_formats",
    "breakdown_formats",
    "driver_costs",
    "rate_explorer",
]


def whale_note(summary: dict, currency: str = "EUR") -> str:
    """Why the whale curve is not shown (:func:`~portfolio_helpers.analysis.profitability.whale_summary`
    ``curve_undefined``), or ``""`` when it is.

    Examples
    --------
    >>> pnl = pd.DataFrame({"customer_id": ["a", "b"], "profit": [10.0, -50.0], "revenue": [100.0, 20.0]})
    >>> whale_note(profitability.whale_summary(pnl), "EUR")
    'Total profit is negative (-€40): shares of it are undefined, so the whale curve and its peak are not shown (NaN).'
    """
    reason = summary.get("curve_undefined")
    if reason is None:
        return ""
    if reason == "no_customer":
        return "No customer: the whale curve is empty."
    return (f"Total profit is {'zero' if reason == 'zero_profit' else 'negative'} "
            f"({fmt_money(summary['total_profit'], currency)}): shares of it are "
            "undefined, so the whale curve and its peak are not shown (NaN).")


def findings(pnl: pd.DataFrame, summary: dict, currency: str, whale_curve_below: bool = True) -> list[str]:
    """Headline sentences: profit, cost to serve, who loses money and what they give back.

    ``whale_curve_below=False`` leaves out the pointer to the whale curve (the rate explorer
    shows none)."""
    revenue = pnl["revenue"].sum()
    gross_margin = pnl["gross_margin"].sum()
    cost_to_serve = pnl["cost_to_serve"].sum()
    profit = pnl["profit"].sum()
    lines = [
        f"Net revenue {fmt_money(revenue, currency)}, gross margin {fmt_money(gross_margin, currency)} "
        f"({fmt_pct(gross_margin / revenue if revenue else float('nan'))}); serving the customers costs "
        f"{fmt_money(cost_to_serve, currency)}, leaving **{fmt_money(profit, currency)} of profit** "
        f"({fmt_pct(profit / revenue if revenue else float('nan'))} of revenue).",
    ]
    if summary["n_unprofitable"]:
        lines.append(
            f"**{plural(summary['n_unprofitable'], 'customer')} ({fmt_pct(summary['share_unprofitable_customers'])}) "
            f"cost more than they bring**: together they lose {fmt_money(summary['profit_given_back'], currency)} "
            f"while bringing {fmt_pct(summary['unprofitable_revenue_share'])} of revenue."
        )
    else:
        lines.append("Every customer is profitable after cost to serve.")
    if not whale_note(summary):
        lines.append(
            f"The most profitable {fmt_pct(summary['peak_customer_share'], 0)} of customers earn "
            f"{fmt_pct(summary['peak_share'], 0)} of total profit; the rest give back the difference"
            + (" (the whale curve below)." if whale_curve_below else ".")
        )
    else:
        lines.append(whale_note(summary, currency))
    drivers = pnl[list(profitability.DRIVER_COLUMNS)].sum()
    if cost_to_serve > 0:
        top_driver = drivers.idxmax()
        lines.append(f"The largest cost-to-serve driver is {profitability.DRIVER_LABELS[top_driver]}: "
                     f"{fmt_pct(drivers[top_driver] / cost_to_serve)} of cost to serve.")
    large = pnl[pnl["revenue"] >= pnl["revenue"].quantile(0.9)]
    large_losers = int((large["profit"] < 0).sum())
    if large_losers:
        lines.append(f"{plural(large_losers, 'customer')} among the 10% largest by revenue "
                     f"{'is' if large_losers == 1 else 'are'} unprofitable.")
    return lines


def cost_model_table(model: profitability.CostModel, currency: str) -> pd.DataFrame:
    """The rates used, with what each one prices."""
    def rate(value: float) -> str:  # rates are small amounts: cents matter
        return f"{value:,.2f} {currency}"

    rows = [
        ("default_cogs_rate", fmt_pct(model.default_cogs_rate, 0), "cost of goods where a line has no cost"),
        *[(f"cogs rate: {category}", fmt_pct(rate, 0), "cost of goods for that category")
          for category, rate in model.cogs_rate_by_category.items()],
        ("per_order", rate(model.per_order), "per order (cancelled orders excluded)"),
        ("per_line", rate(model.per_line), "per transaction line"),
        ("per_delivery", rate(model.per_delivery), "per order delivered (net amount above 0)"),
        ("per_return", rate(model.per_return),
         "per line returned, cancelled or modified"),
        ("per_ticket", rate(model.per_ticket), "per after-sales ticket"),
        ("per_service_minute", rate(model.per_service_minute), "per minute of after-sales service"),
        ("capital_rate", fmt_pct(model.capital_rate, 1), "yearly cost of money, on invoices paid late"),
        ("per_late_invoice", rate(model.per_late_invoice), "per late invoice"),
        ("per_customer", rate(model.per_customer),
         "per active customer and year (account management)"),
    ]
    return pd.DataFrame(rows, columns=["rate", "value", "what it prices"])


_PNL_COLUMNS = ["profit_rank", "customer_id", "revenue", "gross_margin", "cost_to_serve", "profit", "profit_margin"]


def pnl_table(pnl: pd.DataFrame, customers: pd.DataFrame | None, n: int = 10, worst: bool = False) -> pd.DataFrame:
    """The ``n`` most (or least) profitable customers' P&L, with name and type when known."""
    rows = pnl.nsmallest(n, "profit") if worst else pnl.nsmallest(n, "profit_rank")
    table = rows[_PNL_COLUMNS]
    if customers is not None:
        extra = [col for col in ("name", "customer_type", "industry") if col in customers.columns]
        table = table.merge(customers.drop_duplicates("customer_id")[["customer_id", *extra]], on="customer_id",
                            how="left")
    return table.rename(columns={"profit_rank": "rank"})


def pnl_formats(currency: str) -> dict:
    money = lambda v: fmt_money(v, currency)  # noqa: E731
    return {"rank": fmt_int, "revenue": money, "gross_margin": money, "cost_to_serve": money, "profit": money,
            "profit_margin": fmt_pct}


_TRAITS = {
    "margin_rate": "gross margin rate",
    "discount_share": "bought at a discount",
    "avg_order_value": "average order",
    "orders_per_year": "orders per year",
    "return_rate": "returned / cancelled / modified lines",
    "days_late": "days paid late (average)",
    "service_minutes_per_1000": "service minutes per 1,000 of revenue",
}


def traits_table(pnl: pd.DataFrame) -> pd.DataFrame:
    """Median profitability traits of profitable versus unprofitable customers, side by side."""
    groups = {"profitable customers": pnl[pnl["profit"] >= 0], "unprofitable customers": pnl[pnl["profit"] < 0]}
    rows = []
    for column, label in _TRAITS.items():
        if column in pnl.columns:
            rows.append({"trait (median)": label, **{name: group[column].median() for name, group in groups.items()}})
    return pd.DataFrame(rows)


def traits_formats() -> dict:
    def smart(value):
        if pd.isna(value):
            return "n/a"
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"

    return {"profitable customers": smart, "unprofitable customers": smart}


def breakdown_table(pnl: pd.DataFrame) -> pd.DataFrame:
    """Cost to serve per driver with its share of cost to serve and of revenue."""
    breakdown = profitability.cost_breakdown(pnl)
    return breakdown[["label", "cost", "share_of_cost_to_serve", "share_of_revenue"]].rename(
        columns={"label": "driver", "share_of_cost_to_serve": "share of cost to serve",
                 "share_of_revenue": "share of revenue"})


def segment_breakdown(pnl: pd.DataFrame, customers: pd.DataFrame | None, column: str) -> pd.DataFrame | None:
    """P&L per value of a customer attribute (customer type, industry); None when not available."""
    if customers is None or column not in customers.columns or customers[column].isna().all():
        return None
    labelled = pnl.merge(customers.drop_duplicates("customer_id")[["customer_id", column]], on="customer_id",
                         how="left")
    labelled[column] = labelled[column].fillna(UNKNOWN)
    table = profitability.cost_breakdown(labelled, by=column)
    keep = [column, "n_customers", "revenue", "gross_margin", "cost_to_serve", "profit", "profit_margin"]
    return table[[col for col in keep if col in table.columns]].sort_values("profit", ascending=False)


def sensitivity_table(sensitivity: pd.DataFrame) -> pd.DataFrame:
    """Only the rates that change something, labelled for readers."""
    moving = sensitivity[sensitivity["profit_change"] != 0]
    return moving.assign(change=moving["factor"].map(lambda f: f"{f - 1:+.0%}"))[
        ["rate", "change", "total_profit", "profit_change", "n_unprofitable", "rank_correlation",
         "unprofitable_overlap"]
    ].rename(columns={"total_profit": "total profit", "profit_change": "profit change",
                      "n_unprofitable": "unprofitable customers", "rank_correlation": "ranking kept (Spearman)",
                      "unprofitable_overlap": "same unprofitable customers (Jaccard)"})


def sensitivity_formats(currency: str) -> dict:
    money = lambda v: fmt_money(v, currency)  # noqa: E731
    return {"total profit": money, "profit change": money, "unprofitable customers": fmt_int,
            "ranking kept (Spearman)": "{:.3f}", "same unprofitable customers (Jaccard)": fmt_pct}


def display_names(customer_ids: pd.Series, customers: pd.DataFrame | None) -> pd.Series:
    """customer id -> name for charts (the name is already a pseudonym when the config says so)."""
    ids = pd.Series(customer_ids.to_numpy(), index=customer_ids.to_numpy())
    if customers is None or "name" not in customers.columns:
        return ids
    names = customers.drop_duplicates("customer_id").set_index("customer_id")["name"]
    return ids.map(names).fillna(ids)


# --------------------------------------------------------------------------- notebook 03, step by step

#: Customer attributes the P&L is broken down by, with their label.
SEGMENT_COLUMNS = {"customer_type": "customer type", "industry": "industry"}
#: Rates the explorer offers a slider for (those above zero in the cost model).
RATE_NAMES = ("per_order", "per_line", "per_delivery", "per_return", "per_ticket", "per_service_minute",
              "capital_rate", "per_late_invoice", "per_customer")


def headline_metrics(pnl: pd.DataFrame) -> dict:
    """The metrics notebook 03 records: :func:`~portfolio_helpers.analysis.profitability.profitability_metrics`
    without those that are NaN (total profit <= 0: the findings say why)."""
    return {name: value for name, value in profitability.profitability_metrics(pnl).items() if value == value}


def customer_export(pnl: pd.DataFrame) -> pd.DataFrame:
    """The columns notebook 03 adds to ``exports/customers.csv``."""
    return pnl[["customer_id", *profitability.EXPORT_COLUMNS]]


def segment_breakdowns(pnl: pd.DataFrame, customers: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """:func:`segment_breakdown` by each attribute of :data:`SEGMENT_COLUMNS` the customers table fills,
    keyed by its label (empty without a customers table or without those attributes)."""
    out = {}
    for column, label in SEGMENT_COLUMNS.items():
        table = segment_breakdown(pnl, customers, column)
        if table is not None:
            out[label] = table
    return out


def segment_formats(currency: str) -> dict:
    """Display formats of :func:`segment_breakdown` tables."""
    money = lambda v: fmt_money(v, currency)  # noqa: E731
    return {"revenue": money, "gross_margin": money, "cost_to_serve": money, "profit": money,
            "profit_margin": fmt_pct}


def driver_costs(breakdown: pd.DataFrame) -> pd.Series:
    """Cost per driver of :func:`breakdown_table`, indexed by driver, for the bar chart."""
    return breakdown.set_index("driver")["cost"]


def breakdown_formats(currency: str) -> dict:
    """Display formats of :func:`breakdown_table`."""
    return {"cost": lambda v: fmt_money(v, currency), "share of cost to serve": fmt_pct, "share of revenue": fmt_pct}


def losers_formats(currency: str) -> dict:
    """Display formats of :func:`~portfolio_helpers.reporting.profitability.loss_explanations`."""
    money = lambda v: fmt_money(v, currency)  # noqa: E731
    return {"revenue": money, "profit": money, "main_driver_share": fmt_pct}


def rate_explorer(model: profitability.CostModel, quantities: pd.DataFrame, customers: pd.DataFrame | None,
                  currency: str):
    """JupyterLab widgets: a slider multiplying each rate in use; findings and the bottom 10 follow."""
    import ipywidgets as widgets

    names = [name for name in RATE_NAMES if getattr(model, name) > 0]
    rows = {name: labelled_slider(f"{name} × (1.0 = the config's rate)", value=1.0, min=0.0, max=3.0, step=0.1,
                                  readout_format=".1f") for name in names}
    sliders = {name: slider for name, (_, slider) in rows.items()}

    def explore(**multipliers):
        scenario = model
        for name, factor in multipliers.items():
            scenario = scenario.scaled(name, factor)
        repriced = profitability.price(quantities, scenario)
        show_markdown(bullets(findings(repriced, profitability.whale_summary(repriced), currency,
                                       whale_curve_below=False)))
        show_markdown("**Bottom 10 by profit** with these rates:")
        show_table(pnl_table(repriced, customers, n=10, worst=True), formats=pnl_formats(currency))

    intro = widgets.HTML("Move a slider to multiply a rate (1.0 = the config's value):")
    return explorer_box([intro, *(row for row, _ in rows.values())], widgets.interactive_output(explore, sliders))


def _uncosted_lines(transactions) -> tuple[int, int]:
    """The revenue lines without a cost and all revenue lines, counted by the engine (a frame or an engine table)."""
    lines = engine.revenue_lines(engine.table(transactions, [col for col in ("cost", "status")
                                                             if col in transactions.columns]))
    cost = lines.cost.cast("float64")
    counts = engine.execute(lines.aggregate(n_missing=ibis.ifelse(cost.isnull() | cost.isnan(), 1, 0).sum(),
                                            n_lines=lines.count())).iloc[0]
    return (0 if pd.isna(counts["n_missing"]) else int(counts["n_missing"])), int(counts["n_lines"])


def missing_driver_notes(transactions: pd.DataFrame, model: profitability.CostModel, *,
                         payments: pd.DataFrame | None = None, tickets: pd.DataFrame | None = None) -> list[str]:
    """What the P&L could not measure, or measured with an assumption, in plain words.

    The tables are those of :func:`~portfolio_helpers.analysis.profitability.customer_pnl`
    (None: the table is absent), frames or engine tables (counted where they are).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"], "date": pd.to_datetime(["2025-01-01"]), "amount": [10.0]})
    >>> for note in missing_driver_notes(tx, profitability.CostModel()):
    ...     print(note)
    No cost column: cost of goods = 60% of revenue (default_cogs_rate).
    No discount column: the discount given is unknown (n/a).
    No order_id column: each transaction line counts as one order.
    No status column: no line counts as cancelled, returned or modified; return cost is 0.
    No payments table: late-payment cost is 0.
    No tickets table: after-sales service cost is 0.
    Cost-to-serve rates are all 0: profit equals gross margin.
    """
    transactions = profitability.transactions_table(transactions)
    notes: list[str] = []
    categories = model.cogs_rate_by_category
    category_rates = ", ".join(f"{name} {fmt_pct(rate, 0)}" for name, rate in categories.items())
    with_categories = "category" in transactions.columns and bool(categories)
    rule = (f"the category rate ({category_rates}), else {fmt_pct(model.default_cogs_rate, 0)} "
            "(default_cogs_rate)" if with_categories else
            f"{fmt_pct(model.default_cogs_rate, 0)} of revenue (default_cogs_rate)")
    if "cost" not in transactions.columns:
        notes.append(f"No cost column: cost of goods = {rule}.")
    else:
        n_missing, n_lines = _uncosted_lines(transactions)
        if n_missing:
            notes.append(f"Cost missing on {fmt_int(n_missing)} of {fmt_int(n_lines)} revenue lines: "
                         f"their cost of goods = {'revenue x ' if with_categories else ''}{rule}.")
    if categories and "category" not in transactions.columns:
        notes.append("No category column: cogs_rate_by_category is not used.")
    if "discount" not in transactions.columns:
        notes.append("No discount column: the discount given is unknown (n/a).")
    if "order_id" not in transactions.columns:
        notes.append("No order_id column: each transaction line counts as one order.")
    if "status" not in transactions.columns:
        notes.append("No status column: no line counts as cancelled, returned or modified; return cost is 0.")

    if payments is None:
        notes.append("No payments table: late-payment cost is 0.")
    elif "paid_date" not in payments.columns:
        notes.append("The payments table has no paid_date column: late-payment cost is 0.")
    if tickets is None:
        notes.append("No tickets table: after-sales service cost is 0.")
    elif "minutes" not in tickets.columns and model.per_service_minute > 0:
        notes.append("The tickets table has no minutes column: per_service_minute is not used.")

    zero = [name for name in profitability.SERVICE_RATES if getattr(model, name) == 0]
    if len(zero) == len(profitability.SERVICE_RATES):
        notes.append("Cost-to-serve rates are all 0: profit equals gross margin.")
    elif zero:
        notes.append(f"Rates at 0 (these activities cost nothing in this model): {', '.join(zero)}.")
    orphans = profitability.customers_without_transactions(transactions, payments=payments, tickets=tickets)
    if len(orphans):
        notes.append(f"{fmt_int(len(orphans))} customer id(s) have invoices or tickets but no transaction line: "
                     "they are not in the P&L (see customers_without_transactions).")
    return notes


def _lever(group: str, row, share: float, group_cost: float, small_orders: bool, currency: str) -> str:
    loss = -row.profit
    if group_cost >= loss:
        part = loss / group_cost
        part_text = "under 1%" if part < 0.005 else fmt_pct(part, 0)
        outcome = f"recovering {fmt_money(loss, currency)} ({part_text} of this cost) would restore profit"
    else:
        outcome = (f"would cut the loss ({fmt_money(loss, currency)}) by at most {fmt_money(group_cost, currency)}, "
                   "not remove it")
    start = f"{fmt_pct(share, 0)} of cost to serve comes from"
    if group == "order handling":
        size = "small " if small_orders else ""
        text = (f"{start} {row.orders_per_year:.0f} {size}orders a year (average "
                f"{fmt_money(row.avg_order_value, currency)}): a minimum order or a delivery fee {outcome}.")
    elif group == "returns":
        text = (f"{start} returns, cancellations and changes ({fmt_int(row.n_return_lines)} of "
                f"{fmt_int(row.n_lines)} lines, {fmt_pct(row.return_rate, 0)}): a restocking fee or a stricter "
                f"returns policy {outcome}.")
    elif group == "late payment":
        days = "" if math.isnan(row.days_late) else f", {row.days_late:.0f} days late on average"
        text = (f"{start} late payment ({fmt_int(row.n_late_invoices)} late invoices{days}): stricter payment "
                f"terms or a late-payment fee {outcome}.")
    elif group == "after-sales service":
        text = (f"{start} after-sales service ({fmt_int(row.n_tickets)} tickets, "
                f"{fmt_int(row.service_minutes / 60)} hours): a paid service contract {outcome}.")
    else:
        text = (f"{start} account management ({fmt_int(row.n_active_years)} active years): a lighter coverage "
                f"model (inside sales, web ordering) {outcome}.")
    if row.discount_given > 0 and row.discount_given >= loss:
        text += (f" Discounts given ({fmt_money(row.discount_given, currency)}) exceed the loss: review the "
                 "discount policy.")
    return text


def loss_explanations(pnl: pd.DataFrame, n: int = 10, min_revenue_quantile: float = 0.5,
                      currency: str = "EUR") -> pd.DataFrame:
    """The largest unprofitable customers, their main cost driver and the lever that would fix it, in words.

    The customers and drivers are :func:`~portfolio_helpers.analysis.profitability.loss_drivers`;
    the lever sentence is built from the customer's own numbers and says whether recovering
    that cost would restore profit; when discounts exceed the loss it adds "review the
    discount policy".

    Returns
    -------
    DataFrame
        ``customer_id, revenue, profit, main_driver, main_driver_share, lever``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a"] * 40 + ["b", "c", "d", "d"],
    ...                    "order_id": [f"o{i}" for i in range(44)], "date": pd.Timestamp("2025-06-01"),
    ...                    "amount": [85.0] * 40 + [3000.0, 10.0, 500.0, 500.0],
    ...                    "cost": [70.0] * 40 + [1500.0, 5.0, 250.0, 250.0]})
    >>> model = profitability.CostModel(per_order=12.0, per_delivery=8.0)
    >>> pnl = profitability.customer_pnl(tx, model, as_of="2025-12-31")
    >>> print(loss_explanations(pnl, min_revenue_quantile=0.5)["lever"].iloc[0])
    100% of cost to serve comes from 40 small orders a year (average €85): a minimum order or a delivery fee recovering €200 (25% of this cost) would restore profit.
    """
    drivers = profitability.loss_drivers(pnl, n, min_revenue_quantile)
    levers = []
    for row in drivers.itertuples(index=False):
        if row.main_driver == "cost of goods":
            discount = ("" if math.isnan(row.discount_given) or row.discount_given <= 0
                        else f" after {fmt_money(row.discount_given, currency)} of discounts")
            levers.append(f"Sells below cost of goods: gross margin {fmt_money(row.gross_margin, currency)} on "
                          f"{fmt_money(row.revenue, currency)} of revenue{discount}: review prices and the "
                          "discount policy.")
        else:
            levers.append(_lever(str(row.main_driver), row, float(row.main_driver_share), float(row.main_driver_cost),
                                 bool(row.small_orders), currency))
    result = drivers[["customer_id", "revenue", "profit", "main_driver", "main_driver_share"]].copy()
    result["lever"] = pd.array(levers, dtype="string")
    return result
