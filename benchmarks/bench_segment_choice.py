"""Benchmark: notebook 04's clustering on a CDNOW-sized portfolio, against a time target.

``segmentation.segment_customers`` as notebook 04 calls it (k chosen among 2..8 with
inertia, silhouette, Calinski-Harabasz, Davies-Bouldin, segment sizes and separation; 20
bootstrap refits for the stability; profiles and names) on N customers: by default the
seeded synthetic features of ``bench_segmentation.synthetic_features`` for 23,570
customers (CDNOW's count), or, with ``--cdnow``, the real CDNOW features built as notebook
04 builds them (``data/cdnow``). Prints the time of each step and exits with status 1 when
the whole call takes longer than the target.

Target: :data:`TARGET_SECONDS` (30 s) for 23,570 customers on one busy core. Before the
speed-ups of December 2026 the call took 94 s on CDNOW on a loaded two-core machine
(k-means threads waiting for each other, one silhouette distance pass per k); after, about
5 s.

    .venv/bin/python benchmarks/bench_segment_choice.py [--customers 23570] [--cdnow] [--target 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench_segmentation import synthetic_features
from common import parse_args, timed

from portfolio_helpers.analysis import segmentation

#: Seconds allowed for ``segment_customers`` on 23,570 customers.
TARGET_SECONDS = 30.0
CDNOW_CUSTOMERS = 23_570
CDNOW_CONFIG = Path(__file__).resolve().parents[1] / "data" / "cdnow" / "portfolio.yml"


def cdnow_features():
    """CDNOW's customer features, built as notebook 04 builds them."""
    from portfolio_helpers.analysis import features, profitability
    from portfolio_helpers.ingest.loaders import load_portfolio

    transactions = load_portfolio(CDNOW_CONFIG).transactions
    as_of = "1998-06-30"
    pnl = profitability.customer_pnl(transactions, profitability.load_cost_model(CDNOW_CONFIG), as_of=as_of)
    return features.customer_features(transactions, as_of, pnl=pnl)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=CDNOW_CUSTOMERS)
    parser.add_argument("--cdnow", action="store_true", help="the real CDNOW features instead of synthetic ones")
    parser.add_argument("--target", type=float, default=TARGET_SECONDS, help="seconds allowed")
    parser.add_argument("--seed", type=int, default=42)
    args = parse_args(parser, customers=600)

    if args.cdnow:
        features, build_seconds = timed(cdnow_features)
        source = "CDNOW"
    else:
        features, build_seconds = timed(synthetic_features, args.customers)
        features = features.drop(columns=["tenure_days", "orders_per_year", "revenue_trend"])
        source = "synthetic"
    print(f"{source} features: {len(features):,} customers x {features.shape[1] - 1} columns "
          f"(built in {build_seconds:.2f} s)")

    started = time.perf_counter()
    result, fit_seconds = timed(segmentation.fit_segments, features, seed=args.seed)
    check, stability_seconds = timed(segmentation.stability, result.matrix, result.k, n_boot=20, seed=args.seed,
                                     reference=None if result.merged else result.labels.to_numpy())
    parts = time.perf_counter() - started
    segments, total = timed(segmentation.segment_customers, features, seed=args.seed)
    print(f"  fit_segments (k = 2..8 scored, chosen k = {result.k}): {fit_seconds:6.2f} s")
    print(f"  stability (20 bootstrap refits, mean ARI {check['mean_ari']:.3f}): {stability_seconds:6.2f} s")
    print(f"  the two together:                             {parts:6.2f} s")
    print(f"  segment_customers (all of the above + profiles and names): {total:6.2f} s")
    print(segments.result.k_scores.round(4).to_string(index=False))
    scaled_target = args.target * len(features) / CDNOW_CUSTOMERS
    if args.quick:  # a run check on a few customers: the target is for real sizes
        return 0
    verdict = "met" if total <= scaled_target else "MISSED"
    print(f"target {scaled_target:.1f} s ({args.target:g} s for {CDNOW_CUSTOMERS:,} customers, scaled "
          f"linearly): {verdict}")
    return 0 if total <= scaled_target else 1


if __name__ == "__main__":
    sys.exit(main())
