"""Comparing what a function gives on a pandas frame and on an engine table: equal frames, floats to
the cent (engines sum in different orders, so the last bits of a float may differ)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from portfolio_helpers.ingest.loaders import Portfolio, load_portfolio


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal frames, floats to the cent (engines sum in different orders)."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in a.columns:
        left, right = a[col].reset_index(drop=True), b[col].reset_index(drop=True)
        if pd.api.types.is_float_dtype(left):
            np.testing.assert_allclose(left.to_numpy(float), right.to_numpy(float), atol=0.005, rtol=1e-9,
                                       equal_nan=True, err_msg=col)
        else:
            pd.testing.assert_series_equal(left, right, check_dtype=False, check_names=False, obj=col)


DATA = Path(__file__).resolve().parents[1] / "data"
#: The portfolios every engine test runs on, with the as-of date of their analyses.
AS_OF = {"sample": "2025-12-31", "cdnow": "1998-06-30", "online_retail": "2011-12-09"}


def loaded_portfolio(name: str) -> Portfolio:
    """The bundled portfolio ``name``, loaded as the notebooks load it (a fixed run date)."""
    return load_portfolio(DATA / name / "portfolio.yml", today=pd.Timestamp("2026-12-01"))
