"""Benchmark: the future-value models (issue 14).

1. BG/NBD fitted on the CDNOW 1/10 sample (2,357 customers, 39-week calibration), target < 1 s
   (pymc-marketing's MAP fit of BG/NBD on the CDNOW master: 31.6 s on this machine; lifetimes: 0.25 s).
2. On N simulated customers (default 1,000,000): the engine summary from the transaction lines,
   BG/NBD, Pareto/NBD, modified BG/NBD and Gamma-Gamma fits, target < 60 s.

The simulated log: BG/NBD purchases and Gamma-Gamma amounts with the published CDNOW parameters
(seeded), first purchases spread over 13 weeks, observed to week 78; the time unit is the week.

    .venv/bin/python benchmarks/bench_clv.py [--customers 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from common import parse_args, timed

from portfolio_helpers.analysis.clv import models, summary

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "CDNOW_sample.txt"


def cdnow_sample() -> pd.DataFrame:
    tx = pd.read_csv(SAMPLE, sep=r"\s+", header=None, dtype={0: str, 2: str},
                     names=["customer_id", "sample_id", "date", "quantity", "amount"])
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def simulated_lines(n_customers: int, seed: int) -> pd.DataFrame:
    """One line per purchase day of n customers simulated from BG/NBD and Gamma-Gamma with the CDNOW parameters,
    first purchases spread over the first 13 weeks, observed to week 78."""
    rng = np.random.default_rng(seed)
    horizon = 546
    first = rng.integers(0, 91, n_customers)
    span = horizon - first
    lam = rng.gamma(0.243, 1 / 4.414, n_customers) / 7  # purchases per day
    arrivals = rng.poisson(lam * span)  # repeat purchases if the customer never left
    lives = rng.geometric(rng.beta(0.793, 2.426, n_customers))  # repeat purchases until it leaves
    repeats = np.minimum(arrivals, lives)
    owner = np.repeat(np.arange(n_customers), arrivals)
    times = rng.random(arrivals.sum()) * np.repeat(span, arrivals) + 1
    order = np.lexsort((times, owner))  # each customer's arrival times in order: keep the first `repeats`
    owner, times = owner[order], times[order]
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    keep = rank < np.repeat(repeats, arrivals)
    customer = np.concatenate([np.arange(n_customers), owner[keep]])
    day = np.concatenate([first, first[owner[keep]] + times[keep].astype(np.int64)])
    nu = rng.gamma(3.74, 1 / 15.44, n_customers)  # Gamma-Gamma: each customer's spend rate
    amount = rng.gamma(6.25, 1 / nu[customer]).round(2)
    return pd.DataFrame({"customer_id": customer, "date": pd.Timestamp("1997-01-01") + pd.to_timedelta(day, "D"),
                         "amount": amount})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parse_args(parser, customers=5_000)

    calibration = summary.calibration_holdout(cdnow_sample(), "1997-09-30", "1998-06-30", "week")
    fit, seconds = timed(models.fit_purchase_model, calibration, "bgnbd")
    params = ", ".join(f"{k}={v:.3f}" for k, v in fit.params.items())
    print(f"BG/NBD on the CDNOW sample ({fit.n:,} customers): {seconds:.2f} s ({params}, LL {fit.loglik:.2f})")

    lines, seconds = timed(simulated_lines, args.customers, args.seed)
    print(f"simulated {args.customers:,} customers, {len(lines):,} lines in {seconds:.1f} s (not counted)")
    total = 0.0
    frame, seconds = timed(summary.rfm_summary, lines, "1998-06-30", "week")
    total += seconds
    print(f"  summary (engine):     {seconds:6.2f} s  {len(frame):,} customers, {(frame['frequency'] > 0).sum():,} repeat")
    for model in models.PURCHASE_MODELS:
        fit, seconds = timed(models.fit_purchase_model, frame, model)
        total += seconds
        params = ", ".join(f"{k}={v:.3f}" for k, v in fit.params.items())
        print(f"  {models.MODEL_NAMES[model]:<20s}  {seconds:6.2f} s  {fit.status}: {params}")
    fit, seconds = timed(models.fit_spend_model, frame)
    total += seconds
    params = ", ".join(f"{k}={v:.3f}" for k, v in fit.params.items())
    print(f"  Gamma-Gamma:          {seconds:6.2f} s  {fit.status}: {params} on {fit.n:,} repeat buyers")
    print(f"summary + 3 purchase models + Gamma-Gamma on {args.customers:,} customers: {total:.1f} s")


if __name__ == "__main__":
    main()
