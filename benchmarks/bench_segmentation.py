"""Benchmark: customer segmentation of a million customers.

Synthesizes a seeded features table of N customers (the columns of
``features.customer_features``) from six behavioural groups with heavy tails (lognormal
revenue, order values and service minutes, Poisson order counts, B2B/B2C types), then times

* ``fit_segments`` with a fixed k (MiniBatchKMeans above 200,000 rows; preparation included),
* the silhouette on a seeded 10,000-row sample (part of ``fit_segments``, timed apart too),
* ``profiles`` and ``name_clusters``,
* optionally (``--lines``) ``engine.customer_summary`` on synthetic transaction lines, the
  step that builds the per-customer features from the transactions.

    .venv/bin/python benchmarks/bench_segmentation.py [--customers 1000000] [--k 6] [--lines 5000000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import parse_args, timed

from portfolio_helpers.analysis.engine import customer_summary
from portfolio_helpers.analysis.segmentation import _silhouette, fit_segments, name_clusters, profiles

# group share, orders/year, median order value, recency scale (days), service minutes/year, B2B
GROUPS = (
    (0.05, 14.0, 1100.0, 20.0, 200.0, True),
    (0.03, 40.0, 380.0, 5.0, 2000.0, True),
    (0.20, 7.0, 600.0, 40.0, 30.0, True),
    (0.22, 12.0, 110.0, 15.0, 2.0, False),
    (0.35, 0.6, 70.0, 250.0, 3.0, False),
    (0.15, 7.0, 160.0, 700.0, 10.0, False),
)


def synthetic_features(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shares = np.array([g[0] for g in GROUPS])
    group = rng.choice(len(GROUPS), size=n, p=shares / shares.sum())
    params = np.array([g[1:5] for g in GROUPS])[group]
    b2b = np.array([g[5] for g in GROUPS])[group]
    tenure = rng.integers(30, 1096, n)
    frequency = 1 + rng.poisson(params[:, 0] * tenure / 365.25)
    aov = params[:, 1] * rng.lognormal(0.0, 0.5, n)
    monetary = frequency * aov * rng.lognormal(0.0, 0.1, n)
    recency = np.minimum(rng.exponential(params[:, 2]), tenure).astype(np.int64)
    minutes = params[:, 3] * tenure / 365.25 * rng.lognormal(0.0, 0.8, n) * (rng.random(n) < 0.7)
    return pd.DataFrame({
        "customer_id": np.arange(n, dtype=np.int64),
        "recency_days": recency,
        "frequency": frequency,
        "monetary": monetary,
        "tenure_days": tenure,
        "orders_per_year": frequency / np.maximum(tenure / 365.25, 1 / 12),
        "avg_order_value": aov,
        "revenue_trend": rng.normal(0.0, 0.5, n),
        "discount_share": np.clip(rng.beta(1.0, 4.0, n) + 0.3 * b2b, 0, 1),
        "return_rate": rng.beta(0.5, 20.0, n),
        "days_late": np.where(b2b, rng.normal(5.0, 12.0, n), 0.0),
        "service_minutes_per_1000": 1000 * minutes / monetary,
        "customer_type": pd.Categorical(np.where(b2b, "B2B", "B2C")),
    })


def synthetic_lines(n_lines: int, n_customers: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # every customer buys once; the other lines go to customers drawn with a heavy tail
    repeat = (rng.pareto(1.2, max(n_lines - n_customers, 0)) * n_customers / 20).astype(np.int64) % n_customers
    customer = np.concatenate([np.arange(min(n_customers, n_lines)), repeat])
    days = rng.integers(0, 1096, n_lines)
    return pd.DataFrame({
        "customer_id": customer,
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"),
        "amount": np.round(rng.lognormal(4.5, 1.2, n_lines), 2),
        "order_id": rng.integers(0, n_lines // 2, n_lines),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--lines", type=int, default=0, help="also time customer_summary on this many lines")
    args = parse_args(parser, customers=2_000, k=3)

    features, synth_seconds = timed(synthetic_features, args.customers)
    print(f"customers: {args.customers:,} (synthesized in {synth_seconds:.2f} s), k = {args.k}")
    result, fit_seconds = timed(fit_segments, features, k=args.k, score_k=False)
    X = result.matrix.to_numpy()
    _, silhouette_seconds = timed(_silhouette, X, result.labels.to_numpy(), 42)
    prof, profile_seconds = timed(profiles, features, result.labels)
    names, name_seconds = timed(name_clusters, prof)
    total = fit_seconds + profile_seconds + name_seconds
    print(f"  model: {type(result.model).__name__}, matrix {X.shape[0]:,} x {X.shape[1]}")
    print(f"  fit_segments (prep + fit + silhouette): {fit_seconds:6.2f} s   silhouette {result.silhouette:.3f}")
    print(f"    of which silhouette on 10,000 rows:  {silhouette_seconds:6.2f} s")
    print(f"  profiles:                              {profile_seconds:6.2f} s")
    print(f"  name_clusters:                         {name_seconds:6.2f} s")
    print(f"  total:                                 {total:6.2f} s")
    for cluster, name in names.items():
        print(f"    {cluster}: {name:<40} {prof.loc[cluster, 'size']:>9,} customers, "
              f"{prof.loc[cluster, 'revenue_share']:6.1%} of revenue")
    if args.lines:
        lines, _ = timed(synthetic_lines, args.lines, args.customers)
        summary, summary_seconds = timed(customer_summary, lines)
        print(f"  customer_summary on {args.lines:,} lines -> {len(summary):,} customers: {summary_seconds:6.2f} s")


if __name__ == "__main__":
    main()
