"""One way to call things: the transaction-level entry points take ``customer_col, date_col, amount_col``
(and ``order_col, status_col``), map them once at the boundary and give the same results on a table whose
columns are named otherwise, as a pandas frame and as an engine table; a wrong keyword raises a ColumnError
naming the table, the column, the keyword and what the table has."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.analysis import features, pareto, profitability, rfm, scoring
from portfolio_helpers.core.errors import ColumnError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_frames import AS_OF, loaded_portfolio, same  # noqa: E402

NAMES = {"customer_id": "client", "date": "day", "amount": "value", "order_id": "invoice", "status": "state"}
KEYWORDS = {"customer_col": "client", "date_col": "day", "amount_col": "value", "order_col": "invoice",
            "status_col": "state"}
DAY = pd.Timestamp(AS_OF["sample"])
MODEL = profitability.CostModel(per_order=5.0, per_line=0.5, per_delivery=3.0, per_return=10.0, per_ticket=20.0,
                                capital_rate=0.08, per_late_invoice=2.0, per_customer=10.0,
                                cogs_rate_by_category={"hardware": 0.7})


def _renamed(tx: pd.DataFrame) -> pd.DataFrame:
    """The lines under other names, plus decoys with the kit's names that the keywords must override."""
    out = tx.rename(columns=NAMES)
    return out.assign(amount=-1.0, date=pd.Timestamp("1990-01-01"))


@pytest.fixture(scope="module")
def sample():
    tables = loaded_portfolio("sample").tables
    return tables["transactions"], {name: tables[name] for name in ("payments", "tickets")}, tables["customers"]


def _calls(tx, others, customers):
    """Each entry point, called on ``tx`` with extra keyword arguments ``kw`` (the column keywords or none)."""
    return {
        "customer_features": lambda t, kw: features.customer_features(t, DAY, customers=customers, **others, **kw),
        "customer_tables": lambda t, kw: features.customer_tables(t, DAY, MODEL, customers=customers, **others,
                                                                 **kw),
        "lifetimes_summary": lambda t, kw: features.lifetimes_summary(t, DAY, "W", **_only(kw, "order_col")),
        "customer_pnl": lambda t, kw: profitability.customer_pnl(t, MODEL, as_of=DAY, **others, **kw),
        "driver_quantities": lambda t, kw: profitability.driver_quantities(t, MODEL, as_of=DAY, **others, **kw),
        "customer_margins": lambda t, kw: profitability.customer_margins(
            t, MODEL, **_only(kw, "order_col", "date_col")),
        "sensitivity": lambda t, kw: profitability.sensitivity(t, MODEL, as_of=DAY, **others, **kw),
        "customers_without_transactions": lambda t, kw: profitability.customers_without_transactions(
            t, **others, **_only(kw, "order_col", "status_col")),
        "previous_segments": lambda t, kw: rfm.previous_segments(t, DAY, **kw)[0].sort_index(),
        "customer_revenue": lambda t, kw: pareto.customer_revenue(t, customers=customers, costs=MODEL,
                                                                  **_only(kw, "order_col")),
        "dimension_frames": lambda t, kw: list(pareto.dimension_frames(
            t, pareto.customer_revenue(tx, customers=customers), **_only(kw, "order_col")).values()),
        "purchase_frame": lambda t, kw: scoring.purchase_frame(t, "2025-06-30", customers=customers, **others,
                                                               horizon_days=90, **kw),
        "order_events": lambda t, kw: scoring.order_events(t, DAY, **kw),
    }


def _only(kw: dict, *dropped: str) -> dict:
    return {key: value for key, value in kw.items() if key not in dropped}


CALLS = list(_calls(None, {}, None))


def _frames(result):
    if isinstance(result, tuple | list):
        return list(result)
    if isinstance(result, pd.Series):
        return [result.rename_axis("customer_id").reset_index()]
    return [result]


@pytest.mark.parametrize("name", CALLS)
def test_same_results_under_other_column_names(sample, lines_as, name):
    tx, others, customers = sample
    call = _calls(tx, others, customers)[name]
    expected = _frames(call(tx, {}))
    lines = lines_as(_renamed(tx))
    got = _frames(call(lines, KEYWORDS))
    assert len(expected) == len(got)
    for left, right in zip(expected, got, strict=True):
        assert len(left) > 0
        if "customer_id" in left.columns:  # (ids come back as text from an engine table)
            left, right = left.astype({"customer_id": "string"}), right.astype({"customer_id": "string"})
        if "profit_rank" in left.columns:
            if isinstance(lines, pd.DataFrame):  # the same ranking, to the row
                assert right["customer_id"].tolist() == left["customer_id"].tolist()
            left, right = _by_customer(left), _by_customer(right)
        same(left.reset_index(drop=True), right.reset_index(drop=True))


def _by_customer(pnl: pd.DataFrame) -> pd.DataFrame:
    """A P&L sorted by customer id, its ranking checked apart: customers whose profits tie to the cent may swap
    ranks when an engine's sums differ in the last bits (Spark)."""
    ranked = pnl.sort_values("profit_rank")
    assert (np.diff(ranked["profit"].round(2).to_numpy()) <= 0).all()
    assert ranked["profit_rank"].tolist() == list(range(1, len(pnl) + 1))
    return pnl.drop(columns="profit_rank").sort_values("customer_id")


@pytest.fixture(scope="module")
def purchase_models(sample):
    tx, others, _ = sample
    return scoring.fit_purchase_models(tx, DAY, horizon_days=120, **others)


def test_fit_purchase_models_under_other_column_names(sample, purchase_models, lines_as):
    tx, others, _ = sample
    expected = purchase_models
    got = scoring.fit_purchase_models(lines_as(_renamed(tx)), DAY, horizon_days=120, **others, **KEYWORDS)
    assert (got.train_cutoff, got.test_cutoff) == (expected.train_cutoff, expected.test_cutoff)
    current = expected.current.astype({"customer_id": "string"})
    same(current.drop(columns="purchase_probability"),
         got.current.astype({"customer_id": "string"}).drop(columns="purchase_probability"))
    # (gradient boosting on features equal to ~1e-12 across engines: the probabilities agree closely)
    np.testing.assert_allclose(got.current["purchase_probability"], current["purchase_probability"], atol=0.05)


def test_keywords_without_order_and_status(sample):
    """``order_col=None`` and ``status_col=None`` say the lines have neither: each line is an order, every line
    counts, even when columns of those kit names exist."""
    tx, _, _ = sample
    plain = tx.drop(columns=["order_id", "status"])
    expected = profitability.customer_pnl(plain, MODEL, as_of=DAY)
    same(expected, profitability.customer_pnl(tx, MODEL, as_of=DAY, order_col=None, status_col=None))
    same(scoring.order_events(plain, DAY), scoring.order_events(tx, DAY, order_col=None, status_col=None))


@pytest.mark.parametrize("name", CALLS)
def test_a_wrong_keyword_names_table_column_and_keyword(sample, lines_as, name):
    tx, others, customers = sample
    call = _calls(tx, others, customers)[name]
    with pytest.raises(ColumnError) as error:
        call(lines_as(_renamed(tx)), {**KEYWORDS, "customer_col": "clent"})
    message = str(error.value)
    assert message.startswith("the transactions table has no clent column (customer_col='clent', "
                              "did you mean 'client'?); it has client, day, value, invoice"), message
    assert isinstance(error.value, KeyError) and isinstance(error.value, ValueError)


def test_value_checks_name_the_source_column(sample, lines_as):
    """The dates and amounts are checked under the caller's names, once, at the public function."""
    tx, _, _ = sample
    small = _renamed(tx.head(6))
    small["value"] = [1.0, None, 2.0, None, 3.0, 4.0]
    with pytest.raises(ValueError, match=r"^transactions\.value has 2 missing value\(s\) out of 6 rows"):
        profitability.customer_pnl(lines_as(small), MODEL, **KEYWORDS)
    text_days = _renamed(tx.head(2)).assign(day=["2025-01-01", "2025-01-02"])
    with pytest.raises(ValueError, match=r"^transactions\.day must hold dates \(datetime64\), got dtype .*"
                                         r"\(e\.g\. '2025-01-01', '2025-01-02'\)"):
        profitability.driver_quantities(lines_as(text_days), **KEYWORDS)
