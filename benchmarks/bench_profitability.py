"""Benchmark: the per-customer P&L (customer_pnl) and the rate sensitivity.

Two portfolios:

* the generated sample with 20,000 customers (``generate_portfolio(20000, seed=1)``, clean), priced
  with the sample ``costs:`` section;
* 1,000,000 synthetic transaction lines (100,000 customers, 4 categories, 5% of lines without
  cost, 3% cancelled, 5% returned or modified, orders of 1-4 lines, some lines without order id)
  with 300,000 invoices and 100,000 tickets.

For each: :func:`driver_quantities` (the aggregation, on DuckDB through Ibis), :func:`price`,
:func:`customer_pnl` end to end, and :func:`sensitivity` (two factors per non-zero rate, one
aggregation re-priced).

    .venv/bin/python benchmarks/bench_profitability.py [--customers 20000] [--lines 1000000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import parse_args, timed

from portfolio_helpers.analysis.profitability import (
    cost_model_from_config,
    customer_pnl,
    driver_quantities,
    price,
    sensitivity,
    whale_summary,
)
from portfolio_helpers.app.sample_data import SAMPLE_COSTS, generate_portfolio


def synthetic_tables(n_lines: int, n_customers: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customer_names = pd.Index(np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), 7)))
    # orders of 1-4 lines, customers drawn with a skewed (Pareto-like) frequency
    n_orders = n_lines // 2
    order_size = rng.integers(1, 5, n_orders)
    order_of_line = np.repeat(np.arange(n_orders), order_size)[:n_lines]
    n_lines = order_of_line.size
    weights = rng.pareto(1.2, n_customers) + 0.05
    order_customer = rng.choice(n_customers, n_orders, p=weights / weights.sum())
    order_day = rng.integers(0, 3 * 365, n_orders)
    customer = order_customer[order_of_line]
    order_id = pd.Series(np.char.add("SO-", order_of_line.astype(str)), dtype="string")
    order_id[rng.random(n_lines) < 0.01] = pd.NA
    amount = np.round(rng.lognormal(4.5, 1.0, n_lines), 2)
    status = np.array(["completed", "cancelled", "returned", "modified"])[
        np.searchsorted([0.92, 0.95, 0.98], rng.random(n_lines))]
    amount = np.where(status == "returned", -amount * 0.5, amount)
    category = np.array(["hardware", "software", "services", "supplies"])[rng.integers(0, 4, n_lines)]
    cost = np.round(amount * rng.uniform(0.2, 0.8, n_lines), 2)
    cost[rng.random(n_lines) < 0.05] = np.nan
    discount = np.where(rng.random(n_lines) < 0.3, np.round(amount * 0.1, 2), 0.0)
    transactions = pd.DataFrame({
        "customer_id": pd.Series(customer_names[customer], dtype="string"),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(order_day[order_of_line], unit="D"),
        "amount": amount,
        "order_id": order_id,
        "category": pd.Series(category, dtype="string"),
        "cost": cost,
        "discount": discount,
        "status": pd.Series(status, dtype="string"),
    })
    n_invoices = min(300_000, n_orders)
    invoiced = rng.choice(n_orders, n_invoices, replace=False)
    due = pd.Timestamp("2023-01-01") + pd.to_timedelta(order_day[invoiced] + 30, unit="D")
    delay = np.where(rng.random(n_invoices) < 0.2, rng.integers(1, 120, n_invoices), rng.integers(-10, 1, n_invoices))
    paid = pd.Series(due + pd.to_timedelta(delay, unit="D"))
    paid[rng.random(n_invoices) < 0.02] = pd.NaT
    payments = pd.DataFrame({
        "customer_id": pd.Series(customer_names[order_customer[invoiced]], dtype="string"),
        "order_id": pd.Series(np.char.add("SO-", invoiced.astype(str)), dtype="string"),
        "due_date": due, "paid_date": paid.to_numpy(), "amount": np.round(rng.lognormal(5.0, 1.0, n_invoices), 2),
    })
    n_tickets = 100_000
    tickets = pd.DataFrame({
        "customer_id": pd.Series(customer_names[rng.choice(n_customers, n_tickets, p=weights / weights.sum())],
                                 dtype="string"),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n_tickets), unit="D"),
        "minutes": np.round(rng.lognormal(3.3, 0.6, n_tickets)),
        "cost": np.where(rng.random(n_tickets) < 0.1, np.round(rng.lognormal(4.7, 0.7, n_tickets), 2), 0.0),
    })
    return {"transactions": transactions, "payments": payments, "tickets": tickets}



def run(label: str, tables: dict[str, pd.DataFrame], as_of) -> None:
    model = cost_model_from_config(SAMPLE_COSTS)
    frames = {name: tables.get(name) for name in ("transactions", "payments", "tickets")}
    customer_pnl(**frames, model=model, as_of=as_of)  # warm-up: DuckDB connection, Ibis compilation caches
    quantities, aggregate_seconds = timed(driver_quantities, **frames, model=model, as_of=as_of)
    pnl, price_seconds = timed(price, quantities, model)
    _, pnl_seconds = timed(customer_pnl, **frames, model=model, as_of=as_of)
    table, sensitivity_seconds = timed(sensitivity, None, model, quantities=quantities)
    summary = whale_summary(pnl)
    print(f"{label}: {len(tables['transactions']):,} lines, {len(pnl):,} customers, "
          f"{len(tables.get('payments', [])):,} invoices, {len(tables.get('tickets', [])):,} tickets")
    print(f"  driver_quantities (aggregation): {aggregate_seconds:6.2f} s")
    print(f"  price (one model):               {price_seconds:6.3f} s")
    print(f"  customer_pnl (end to end):       {pnl_seconds:6.2f} s")
    print(f"  sensitivity ({len(table)} scenarios, re-priced): {sensitivity_seconds:6.2f} s")
    print(f"  {summary['n_unprofitable']:,} unprofitable customers ({summary['share_unprofitable_customers']:.1%}), "
          f"whale peak {summary['peak_share']:.0%} of total profit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000, help="customers of the generated portfolio")
    parser.add_argument("--lines", type=int, default=1_000_000, help="synthetic transaction lines")
    args = parse_args(parser, customers=200, lines=5_000)

    sample, generate_seconds = timed(generate_portfolio, args.customers, seed=1)
    print(f"generate_portfolio({args.customers:,}, seed=1): {generate_seconds:.1f} s")
    run(f"generated portfolio ({args.customers:,} customers)", sample.tables, sample.config["as_of"])

    tables, build_seconds = timed(synthetic_tables, args.lines, max(1, args.lines // 10))
    print(f"synthetic tables: {build_seconds:.1f} s")
    run("synthetic lines", tables, "2025-12-31")


if __name__ == "__main__":
    main()
