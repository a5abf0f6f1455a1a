"""Benchmark: Pareto ranking and concentration figures for millions of customers.

Builds a per-customer table of N customers with lognormal revenue (seeded), integer or
categorical customer ids, and 1% negative and 1% zero values, then times :func:`pareto_table`
(rank, shares, cumulative shares, ABC classes) and :func:`concentration_summary`.
Two value sets: raw floats (no ties: the fast unstable sort suffices) and amounts
rounded to the cent (many ties: ties are broken by customer id with a stable sort).

    .venv/bin/python benchmarks/bench_pareto.py [--customers 10000000] [--ids sorted|shuffled|categorical]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import parse_args, timed

from portfolio_helpers.analysis.pareto import concentration_summary, pareto_table


def per_customer_table(n_customers: int, cents: bool, ids: str = "sorted", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    revenue = rng.lognormal(7.0, 1.5, n_customers)
    revenue[rng.random(n_customers) < 0.01] *= -0.1  # 1% of customers with more credit notes than sales
    revenue[rng.random(n_customers) < 0.01] = 0.0
    if cents:
        revenue = revenue.round(2)
    numbers = np.arange(n_customers, dtype=np.int64) if ids == "sorted" else rng.permutation(n_customers)
    customer_id = numbers
    if ids == "categorical":  # ids like "C0004217", held as categories (integer codes), not as 10^7 strings
        labels = pd.Index(np.char.add("C", np.char.zfill(np.arange(n_customers).astype(str), 8)), dtype="string")
        customer_id = pd.Categorical.from_codes(numbers, dtype=pd.CategoricalDtype(labels))
    return pd.DataFrame({"customer_id": customer_id, "revenue": revenue})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--ids", choices=["sorted", "shuffled", "categorical"], default="sorted",
                        help="int64 ids in order, int64 ids in random order, or shuffled categorical ids")
    args = parse_args(parser, customers=5_000)
    print(f"customers: {args.customers:,}, ids: {args.ids}")
    for cents in (False, True):
        per_customer = per_customer_table(args.customers, cents, args.ids)
        n_ties = args.customers - per_customer["revenue"].nunique()
        table, table_seconds = timed(pareto_table, per_customer)
        summary, summary_seconds = timed(concentration_summary, per_customer["revenue"])
        assert len(table) == args.customers and table["cumulative_share"].iloc[-1] == 1.0
        assert summary["n_customers_A"] == (table["abc_class"] == "A").sum()
        label = "rounded to cents" if cents else "raw float64"
        print(f"values {label} ({n_ties:,} tied values):")
        print(f"  pareto_table:          {table_seconds:6.2f} s")
        print(f"  concentration_summary: {summary_seconds:6.2f} s")
        print(f"  total:                 {table_seconds + summary_seconds:6.2f} s   "
              f"(gini {summary['gini']:.3f}, top 20% hold {summary['top_share']:.1%}, "
              f"{summary['share_customers_for_target']:.1%} of customers make 80%)")


if __name__ == "__main__":
    main()
