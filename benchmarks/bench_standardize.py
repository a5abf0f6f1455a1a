"""Benchmark: standardization, quality checks and pseudonymization of a large dirty portfolio.

Generates a dirty sample portfolio (``sample_data.generate_portfolio(..., dirty=True)``), writes
it to a temporary folder and loads it as the kit does, then times
:func:`~portfolio_helpers.cleaning.standardize.standardize_customers`,
:func:`~portfolio_helpers.cleaning.standardize.standardize_transactions`, the whole
:func:`~portfolio_helpers.cleaning.standardize.standardize_portfolio`, the quality scorecard and issue
list, and pseudonymization. Generation and loading are timed too but are not the subject.

    .venv/bin/python benchmarks/bench_standardize.py [--customers 100000] [--seed 1]
"""

from __future__ import annotations

import argparse
import tempfile

import pandas as pd
from common import parse_args, timed

from portfolio_helpers.app.sample_data import generate_portfolio, write_portfolio
from portfolio_helpers.cleaning import quality
from portfolio_helpers.cleaning.privacy import Pseudonymizer, pseudonymize_long, pseudonymize_tables
from portfolio_helpers.cleaning.standardize import (
    standardize_customers,
    standardize_portfolio,
    standardize_transactions,
)
from portfolio_helpers.ingest.loaders import load_portfolio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parse_args(parser, customers=300)

    sample, seconds = timed(generate_portfolio, args.customers, seed=args.seed, dirty=True)
    print(f"generate {args.customers:,} customers (dirty): {seconds:6.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        write_portfolio(sample, tmp)
        portfolio, seconds = timed(load_portfolio, f"{tmp}/portfolio.yml", today=pd.Timestamp("2026-01-15"))
    rows = {name: len(frame) for name, frame in portfolio.tables.items()}
    print(f"load: {seconds:6.1f} s  " + ", ".join(f"{name} {n:,}" for name, n in rows.items()))

    customers = portfolio.tables["customers"]
    print(f"  distinct phones {customers['phone'].nunique():,}, e-mails {customers['email'].nunique():,}, "
          f"names {customers['name'].nunique():,}")
    (_, changes), seconds = timed(standardize_customers, customers)
    print(f"standardize_customers:    {seconds:6.2f} s  ({len(customers):,} rows, {len(changes):,} log rows)")
    (_, changes), seconds = timed(standardize_transactions, portfolio.transactions, run_date=portfolio.as_of)
    print(f"standardize_transactions: {seconds:6.2f} s  ({len(portfolio.transactions):,} rows, "
          f"{len(changes):,} log rows)")
    (tables, changes), seconds = timed(standardize_portfolio, portfolio.tables, portfolio.as_of)
    print(f"standardize_portfolio:    {seconds:6.2f} s  ({len(changes):,} log rows)")
    tx = tables["transactions"]
    print(f"  negative lines {int((tx['amount'] < 0).sum()):,}: "
          f"{int(tx['negative_kind'].eq('negative_error').sum()):,} sign errors; "
          f"exact duplicates {int(tx['is_exact_duplicate'].sum()):,}")

    card, seconds = timed(quality.quality_scorecard, tables, portfolio.as_of)
    score, _ = quality.quality_score(card)
    print(f"quality_scorecard:        {seconds:6.2f} s  ({len(card)} checks, score {score:.1f})")
    issues, seconds = timed(quality.quality_issues, tables, portfolio.as_of)
    print(f"quality_issues:           {seconds:6.2f} s  ({len(issues):,} issues)")
    _, seconds = timed(quality.before_after, portfolio.tables, tables, changes)
    print(f"before_after:             {seconds:6.2f} s")

    pseudonymizer = Pseudonymizer(b"benchmark key, not a secret....")
    _, seconds = timed(pseudonymize_tables, tables, pseudonymizer)
    print(f"pseudonymize_tables:      {seconds:6.2f} s")
    _, seconds = timed(pseudonymize_long, changes, pseudonymizer)
    print(f"pseudonymize change log:  {seconds:6.2f} s")


if __name__ == "__main__":
    main()
