"""What the answer keys are computed from: one student's portfolio, its truth, the kit's analyses.

:class:`KeyContext` runs each analysis once, when an exercise's key first needs it, with the
same calls and the same config the student's notebook uses, so a key is the figure the kit
gives on that student's data (and the generator's truth where the truth is the answer).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_helpers.analysis import features, pareto, profitability, scoring, segmentation
from portfolio_helpers.analysis.clv import value
from portfolio_helpers.analysis.clv.portfolio import FutureValue, future_value
from portfolio_helpers.app.sample_data import SamplePortfolio
from portfolio_helpers.cleaning.pipeline import clean_portfolio
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.presence import tables_of
from portfolio_helpers.reporting import cleaning as cleaning_report
from portfolio_helpers.reporting import value as value_report

__all__ = ["KeyContext", "FORECAST_MONTHS", "FORECAST_DRAWS"]

#: Horizon of the forecast exercise (months), whatever the config's ``clv.horizon_months``.
FORECAST_MONTHS = 12
#: Parameter draws of the forecast's intervals (not part of any answer: few, to keep the build quick).
FORECAST_DRAWS = 10


class KeyContext:
    """One student's portfolio and every analysis a key is taken from (each computed once).

    Parameters
    ----------
    sample : SamplePortfolio
        The generated portfolio (its ``truth`` is the generator's).
    config_path : path
        The student's ``portfolio.yml`` (as written in the student folder).
    check_dir : path
        Teacher-side folder for data the checker needs beyond the key (held-out leads).
    """

    def __init__(self, sample: SamplePortfolio, config_path: str | os.PathLike, check_dir: str | os.PathLike):
        self.sample = sample
        self.truth = sample.truth
        self.config_path = Path(config_path)
        self.check_dir = Path(check_dir)

    @cached_property
    def config(self):
        return load_config(self.config_path)

    @cached_property
    def seed(self) -> int:
        return int(self.config.seed)

    @cached_property
    def cleaned(self):
        return clean_portfolio(self.config_path)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return self.cleaned.tables

    @property
    def as_of(self) -> pd.Timestamp:
        return self.cleaned.as_of

    @cached_property
    def headline(self) -> dict[str, Any]:
        """Notebook 01's metrics (records merged, invalid e-mails, customers)."""
        return cleaning_report.headline_metrics(self.cleaned, cleaning_report.load_overview(self.cleaned), 0.0)

    @cached_property
    def per_customer(self) -> pd.DataFrame:
        """Notebook 02's revenue per customer (cancelled lines excluded)."""
        return pareto.customer_revenue(**tables_of(self.tables, "transactions", "customers"), costs=self.config_path)

    @cached_property
    def cost_model(self) -> profitability.CostModel:
        return profitability.load_cost_model(self.config_path)

    @cached_property
    def pnl(self) -> pd.DataFrame:
        return profitability.customer_pnl(**tables_of(self.tables, "transactions", "payments", "tickets"),
                                          model=self.cost_model, as_of=self.as_of)

    @cached_property
    def features(self) -> pd.DataFrame:
        return features.customer_features(**tables_of(self.tables, "transactions", "customers", "payments", "tickets"),
                                          as_of=self.as_of, pnl=self.pnl)

    @cached_property
    def segments(self) -> segmentation.CustomerSegments:
        return segmentation.segment_customers(self.features, seed=self.seed)

    @cached_property
    def scoring_settings(self) -> scoring.ScoringSettings:
        return scoring.scoring_settings(self.config.sections.get("scoring"), self.config.path)

    @cached_property
    def leads(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Lead profiles and their events before the outcome (notebook 05)."""
        return scoring.lead_profiles(self.tables["leads"], self.as_of, self.tables.get("customers"),
                                     self.tables["transactions"], open_days=self.scoring_settings.open_days)

    @cached_property
    def truth_segments(self) -> pd.Series:
        """The hidden generating segment of every customer record, by id (duplicates included)."""
        frame = pd.DataFrame(self.truth["customers"])
        return frame.dropna(subset=["segment"]).set_index("customer_id")["segment"]

    @cached_property
    def clv_settings(self) -> value.ClvSettings:
        """The config's ``clv:`` section with the exercise's 12-month horizon (as the solution sets it)."""
        return value_report.settings_with_overrides(value.load_clv_settings(self.config_path), FORECAST_MONTHS, -1)

    @cached_property
    def forecast(self) -> FutureValue:
        """Notebook 06's future-value analysis over :data:`FORECAST_MONTHS` (revenue only: no P&L needed)."""
        return future_value(self.tables["transactions"], self.clv_settings, self.as_of, seed=self.seed,
                            n_draws=FORECAST_DRAWS)

    @cached_property
    def config_horizon(self) -> float:
        """The config's ``clv.horizon_months`` (the planning horizon a student may forget to change)."""
        return value.load_clv_settings(self.config_path).horizon_months
