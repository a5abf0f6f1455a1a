"""Benchmark: duplicate detection on about 100,000 customer records.

Generates a dirty portfolio with :func:`portfolio_helpers.app.sample_data.generate_portfolio`
(81,000 buying customers give about 100,500 customer records once the open leads and the
planted near-duplicates are added; generating is not timed), then times
:func:`find_duplicates` and scores its mapping against the planted duplicate groups
with :func:`pairwise_scores`. Target: at most 60 s on two cores.

    .venv/bin/python benchmarks/bench_dedup.py [--customers 81000] [--seed 7] [--threshold-merge 0.95]
"""

from __future__ import annotations

import argparse
import os
import time

from common import parse_args

from portfolio_helpers.app.sample_data import generate_portfolio
from portfolio_helpers.cleaning.dedup import find_duplicates, pairwise_scores

TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=81_000, help="buying customers passed to the generator")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generator and of the model")
    parser.add_argument("--threshold-merge", type=float, default=0.95)
    parser.add_argument("--threshold-review", type=float, default=0.5)
    args = parse_args(parser, customers=300)

    start = time.perf_counter()
    sample = generate_portfolio(args.customers, seed=args.seed, dirty=True)
    customers = sample.tables["customers"]
    print(f"generated {len(customers):,} customer records ({len(sample.truth['duplicate_groups']):,} planted "
          f"duplicate groups) in {time.perf_counter() - start:.1f} s; {os.cpu_count()} cores")

    start = time.perf_counter()
    result = find_duplicates(customers, threshold_merge=args.threshold_merge,
                             threshold_review=args.threshold_review, seed=args.seed)
    seconds = time.perf_counter() - start
    scores = pairwise_scores(result.mapping, sample.truth["duplicate_groups"])

    verdict = "OK" if seconds <= TARGET_SECONDS else "TOO SLOW"
    decisions = result.pairs["decision"].value_counts()
    print(f"find_duplicates: {seconds:.1f} s (target {TARGET_SECONDS:.0f} s: {verdict})")
    print(f"  scored pairs >= {args.threshold_review}: {len(result.pairs):,} "
          f"({decisions.get('merge', 0):,} merge, {decisions.get('review', 0):,} review)")
    print(f"  records merged into a survivor: {result.n_merged:,}; review list: {len(result.review):,} pairs")
    print(f"  pairwise precision {scores['precision']:.4f}, recall {scores['recall']:.4f}, f1 {scores['f1']:.4f} "
          f"({scores['n_predicted_pairs']:,} predicted pairs, {scores['n_true_pairs']:,} true pairs)")


if __name__ == "__main__":
    main()
