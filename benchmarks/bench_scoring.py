"""Benchmark: scoring at scale.

Synthesizes N leads with M events each on average (seeded; the leads table of the data
contract), then times

* ``scoring.lead_profiles`` (statuses, conversion dates, events before the outcome),
* ``scorecard.score`` of every lead with a ten-criterion scorecard (windows, decay, reasons),
* ``scoring.fit_conversion_models`` (logistic regression and calibrated gradient boosting),
* ``propensity.explain`` for the open leads,
* ``scoring.value_scores`` and ``scoring.at_risk`` on a synthetic customer feature table.

    .venv/bin/python benchmarks/bench_scoring.py [--leads 100000] [--events 12] [--customers 1000000]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from common import parse_args, timed

from portfolio_helpers.analysis import propensity, scorecard, scoring

EVENTS = np.array(["form", "download", "email_open", "email_click", "visit", "meeting", "call"])
ROLES = np.array(["CEO / owner", "purchasing manager", "IT manager", "student / intern"])
INDUSTRIES = np.array(["Manufacturing", "Retail", "Logistics", "Education", "Healthcare"])
SOURCES = np.array(["referral", "webinar", "paid ads", "outbound call"])
AS_OF = pd.Timestamp("2025-12-31")


def synthetic_leads(n: int, events_per_lead: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    interest = rng.normal(0, 1, n)
    counts = 1 + rng.poisson(events_per_lead * np.exp(0.5 * interest) / np.exp(0.125))
    lead = np.repeat(np.arange(n), counts)
    created = rng.integers(0, 1000, n)
    day = created[lead] + rng.integers(0, 150, lead.size)
    event = np.where(rng.random(lead.size) < 0.1 + 0.05 * (interest[lead] > 0), 5, rng.integers(0, 7, lead.size))
    converted = rng.random(n) < 1 / (1 + np.exp(-(interest * 2 - 1.5)))
    last = pd.Series(day).groupby(lead).max().to_numpy()
    conversion_day = last + 20
    ids = np.char.add("L", np.arange(n).astype(str))
    frame = pd.DataFrame({
        "lead_id": ids[lead], "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(day, "D"),
        "event": EVENTS[event], "customer_id": pd.Series(pd.NA, index=range(lead.size), dtype="string"),
        "source": SOURCES[rng.integers(0, 4, n)][lead], "role": ROLES[rng.integers(0, 4, n)][lead],
        "industry": INDUSTRIES[rng.integers(0, 5, n)][lead],
        "employees": np.exp(rng.normal(3.5, 1.3, n)).round()[lead], "budget": np.exp(rng.normal(9.5, 1, n))[lead],
    })
    follow = converted & (conversion_day <= 1095)
    extra = pd.DataFrame({"lead_id": ids[follow], "date": pd.Timestamp("2023-01-01")
                          + pd.to_timedelta(conversion_day[follow], "D"), "event": "meeting",
                          "customer_id": np.char.add("C", np.arange(follow.sum()).astype(str))})
    frame = pd.concat([frame, extra], ignore_index=True)
    return frame[frame["date"] <= AS_OF]


def synthetic_customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D")
    purchase_days = 1 + rng.poisson(6, n)
    last = first + pd.to_timedelta(rng.integers(0, 200, n), "D")
    return pd.DataFrame({"customer_id": np.char.add("C", np.arange(n).astype(str)),
                         "recency_days": (AS_OF - last).days, "frequency": purchase_days,
                         "n_purchase_days": purchase_days, "monetary": rng.lognormal(7, 1.2, n),
                         "profit": rng.normal(100, 400, n), "revenue_trend": rng.normal(0, 0.5, n),
                         "first_purchase": first, "last_purchase": last})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--events", type=float, default=12)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parse_args(parser, leads=300, events=4, customers=2_000)

    leads = synthetic_leads(args.leads, args.events)
    print(f"{args.leads:,} leads, {len(leads):,} event rows")
    (profiles, events), seconds = timed(scoring.lead_profiles, leads, AS_OF, open_days=90)
    print(f"lead_profiles: {seconds:.1f} s ({profiles['status'].value_counts().to_dict()})")
    card = scoring.applicable(scoring.scoring_settings(None).lead_scorecard, profiles.columns)
    _, seconds = timed(scorecard.score, card, profiles.reset_index(), events, id_col="lead_id",
                       reference_date=profiles["reference_date"])
    print(f"scorecard.score: {seconds:.1f} s")
    models, seconds = timed(scoring.fit_conversion_models, profiles, events, 0.3, 42)
    auc = propensity.evaluate(models.frame.loc[models.test, "converted"],
                              models.test_probability[models.evaluation.best])["auc"]
    print(f"fit_conversion_models: {seconds:.1f} s (held-out AUC {auc:.3f})")
    open_ids = profiles.index[profiles["status"] == "open"]
    _, seconds = timed(propensity.explain, models.final, models.frame.loc[open_ids])
    print(f"explain {len(open_ids):,} open leads: {seconds:.1f} s")

    customers = synthetic_customers(args.customers)
    _, seconds = timed(scoring.value_scores, customers)
    print(f"value_scores, {args.customers:,} customers: {seconds:.1f} s")
    _, seconds = timed(scoring.at_risk, customers)
    print(f"at_risk, {args.customers:,} customers: {seconds:.1f} s")


if __name__ == "__main__":
    main()
