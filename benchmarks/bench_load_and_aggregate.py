"""Benchmark: load a French-style CSV export and aggregate it per customer.

Writes a synthetic export of N transaction lines (';' separator, decimal comma,
cp1252, dd/mm/yyyy dates, amounts like "1 234,50 €"), loads it through the
normal config path and runs the Ibis/DuckDB per-customer summary.

    .venv/bin/python benchmarks/bench_load_and_aggregate.py [--lines 1000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import parse_args

from portfolio_helpers.analysis.engine import customer_summary, revenue_by_period
from portfolio_helpers.ingest.loaders import load_portfolio


def write_export(folder: Path, n_lines: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    amounts = rng.lognormal(4, 1.2, n_lines).round(2)
    dates = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 1095, n_lines), unit="D")
    frame = pd.DataFrame({
        "N° client": pd.Series(rng.integers(1, n_lines // 10 + 2, n_lines)).map("C{:07d}".format),
        "Date facture": dates.strftime("%d/%m/%Y"),
        # French formatting: decimal comma, non-breaking-space thousands, euro sign
        "Montant HT": pd.Series(amounts).map(lambda v: f"{v:,.2f} €".replace(",", "\u00a0").replace(".", ",")),
        "N° facture": pd.Series(rng.integers(1, n_lines // 2, n_lines)).map("F{:08d}".format),
    })
    path = folder / "factures.csv"
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")
    (folder / "portfolio.yml").write_text(
        "name: Benchmark\ntables:\n  transactions:\n    path: factures.csv\n"
        "    columns: {customer_id: \"N° client\", date: \"Date facture\", amount: \"Montant HT\", "
        "order_id: \"N° facture\"}\n", encoding="utf-8")
    return folder / "portfolio.yml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parse_args(parser, lines=2_000)
    with tempfile.TemporaryDirectory() as tmp:
        config = write_export(Path(tmp), args.lines)
        size_mb = (Path(tmp) / "factures.csv").stat().st_size / 1e6
        start = time.perf_counter()
        portfolio = load_portfolio(config, today=pd.Timestamp("2026-01-01"))
        load_seconds = time.perf_counter() - start
        start = time.perf_counter()
        summary = customer_summary(portfolio.transactions)
        revenue_by_period(portfolio.transactions, "month")
        aggregate_seconds = time.perf_counter() - start
    print(f"lines: {args.lines:,} ({size_mb:.0f} MB CSV, cp1252, ';', decimal comma, dd/mm/yyyy)")
    print(f"load + parse + validate: {load_seconds:.1f} s ({args.lines / load_seconds:,.0f} lines/s)")
    print(f"per-customer summary + monthly revenue (Ibis/DuckDB): {aggregate_seconds:.2f} s "
          f"for {len(summary):,} customers")
    assert len(portfolio.transactions) == args.lines, "every line must be loaded"


if __name__ == "__main__":
    main()
