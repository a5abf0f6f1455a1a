"""The big-portfolio generator (``portfolio big-data``): Parquet straight from the generator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portfolio_helpers.analysis import engine
from portfolio_helpers.app import cli
from portfolio_helpers.app.big_data import CUSTOMER_SCHEMA, TRANSACTION_SCHEMA, write_big_portfolio
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.contract import TABLES
from portfolio_helpers.ingest.loaders import load_portfolio

N_LINES, N_CUSTOMERS = 40_000, 3_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    return write_big_portfolio(tmp_path_factory.mktemp("big") / "p", N_LINES, N_CUSTOMERS, seed=11, chunk_lines=6_000)


@pytest.fixture(scope="module")
def lines(big):
    return pq.read_table(big.transactions).to_pandas()


@pytest.fixture(scope="module")
def customers(big):
    return pq.read_table(big.customers).to_pandas()


def test_the_chunk_size_changes_the_row_groups_not_the_data(big, tmp_path):
    other = write_big_portfolio(tmp_path / "other", N_LINES, N_CUSTOMERS, seed=11, chunk_lines=17_000)
    assert pq.ParquetFile(big.transactions).num_row_groups == 7  # 40,000 / 6,000
    assert pq.ParquetFile(other.transactions).num_row_groups == 3
    assert pq.ParquetFile(other.transactions).metadata.row_group(0).num_rows == 17_000
    assert pq.read_table(other.transactions).equals(pq.read_table(big.transactions))
    assert pq.read_table(other.customers).equals(pq.read_table(big.customers))
    assert other.n_orders == big.n_orders


def test_same_seed_same_bytes_other_seed_other_data(big, tmp_path):
    again = write_big_portfolio(tmp_path / "again", N_LINES, N_CUSTOMERS, seed=11, chunk_lines=6_000)
    for name in ("transactions.parquet", "customers.parquet", "portfolio.yml"):
        assert (again.path / name).read_bytes() == (big.path / name).read_bytes(), name
    other = write_big_portfolio(tmp_path / "seed12", N_LINES, N_CUSTOMERS, seed=12, chunk_lines=6_000)
    assert not pq.read_table(other.transactions).equals(pq.read_table(big.transactions))


def test_typed_contract_columns(big):
    tx_schema = pq.read_schema(big.transactions)
    assert tx_schema.remove_metadata().equals(TRANSACTION_SCHEMA)
    assert set(tx_schema.names) <= set(TABLES["transactions"].column_names)
    assert set(TABLES["transactions"].required) <= set(tx_schema.names)
    assert tx_schema.field("customer_id").type == pa.string()
    assert tx_schema.field("order_id").type == pa.string()
    assert pa.types.is_timestamp(tx_schema.field("date").type)
    assert tx_schema.field("amount").type == pa.float64()
    customer_schema = pq.read_schema(big.customers)
    assert customer_schema.remove_metadata().equals(CUSTOMER_SCHEMA)
    assert set(customer_schema.names) <= set(TABLES["customers"].column_names)


def test_row_counts_and_ids(big, lines, customers):
    assert len(lines) == N_LINES == big.n_lines
    assert len(customers) == N_CUSTOMERS and customers["customer_id"].is_unique
    assert customers["customer_id"].iloc[0] == "C0000001" and customers["customer_id"].iloc[-1] == "C0003000"
    # every customer buys, and every line's customer is in the customers table
    assert set(lines["customer_id"]) == set(customers["customer_id"])
    assert lines["order_id"].nunique() == big.n_orders
    assert lines[["customer_id", "date", "amount", "order_id"]].notna().all().all()
    assert lines["date"].min() == pd.Timestamp("2023-01-01") and lines["date"].max() <= pd.Timestamp("2025-12-31")
    # an order belongs to one customer
    assert (lines.groupby("order_id")["customer_id"].nunique() == 1).all()


def test_first_purchase_on_the_acquisition_day(lines, customers):
    first = lines.groupby("customer_id")["date"].min()
    acquired = customers.set_index("customer_id")["acquisition_date"]
    assert (first.reindex(acquired.index) == acquired).all()
    # ids follow the order of acquisition
    assert customers["acquisition_date"].is_monotonic_increasing


def test_credit_notes_and_cancelled_lines(lines):
    returned = lines["status"] == "returned"
    cancelled = lines["status"] == "cancelled"
    assert set(lines["status"]) == {"completed", "cancelled", "returned"}
    assert 0.01 < returned.mean() < 0.08 and 0.005 < cancelled.mean() < 0.06
    # credit notes and only they are negative: quantity, amount, discount and cost
    assert ((lines["amount"] < 0) == returned).all()
    assert (lines.loc[returned, ["quantity", "cost"]] < 0).all().all()
    assert (lines.loc[~returned, ["quantity", "amount", "unit_price", "cost"]] > 0).all().all()
    # a credit note follows a sale of the same product in the same order, 0 to 45 days earlier
    sales = lines[~returned & ~cancelled].groupby(["order_id", "product_id"])["date"].min()
    notes = lines[returned].set_index(["order_id", "product_id"])["date"]
    lag = (notes - sales.reindex(notes.index)).dt.days
    assert lag.notna().all() and lag.between(0, 45).all()
    # cancelled orders are cancelled as a whole and get no credit note
    cancelled_orders = set(lines.loc[cancelled, "order_id"])
    assert lines[lines["order_id"].isin(cancelled_orders)]["status"].eq("cancelled").all()


def test_amount_is_quantity_times_price_less_discount(lines):
    expected = (lines["quantity"] * lines["unit_price"] - lines["discount"]).round(2)
    assert np.allclose(lines["amount"], expected, atol=0.011)
    assert (lines["discount"].abs() < lines["quantity"].abs() * lines["unit_price"]).all()
    assert lines["amount"].round(2).eq(lines["amount"]).all()


def test_heavy_tail_and_seasonality(lines):
    revenue = lines[lines["status"] != "cancelled"].groupby("customer_id")["amount"].sum().sort_values(ascending=False)
    top_fifth = revenue.iloc[: len(revenue) // 5].sum() / revenue.sum()
    assert 0.7 < top_fifth < 0.95  # "80/20"
    assert revenue.iloc[0] / revenue.median() > 50
    per_day = lines[lines["status"] != "returned"].groupby(lines["date"].dt.month).size() / \
        lines["date"].dt.to_period("D").groupby(lines["date"].dt.month).nunique()
    assert per_day[12] > 1.5 * per_day[8]  # Q4 peak, August dip (the sample's month factors)
    orders = lines.groupby("customer_id")["order_id"].nunique()
    assert orders.median() <= 3 and orders.max() > 20 * orders.median()


def test_written_config_loads(big):
    config = load_config(big.config)
    assert config.tables["transactions"].path == big.transactions
    assert config.tables["customers"].path == big.customers
    assert config.as_of == pd.Timestamp("2025-12-31")
    assert config.sections["clv"] == {"calibration_end": pd.Timestamp("2025-06-30").date(), "time_unit": "week"}
    assert "costs" in config.sections


def test_the_loader_reads_it_without_rejecting_a_row(tmp_path):
    small = write_big_portfolio(tmp_path, 2_000, 150, seed=5)
    portfolio = load_portfolio(small.config)
    assert engine.n_rows(portfolio.transactions) == 2_000 and len(portfolio.tables["customers"]) == 150
    assert portfolio.n_rejected_rows == 0 and portfolio.empty_columns.empty and not portfolio.warnings


def test_one_line_per_customer(tmp_path):
    tight = write_big_portfolio(tmp_path, 500, 500, seed=2, chunk_lines=64)
    lines = pq.read_table(tight.transactions).to_pandas()
    assert len(lines) == 500 and lines["customer_id"].is_unique
    assert lines["status"].eq("completed").all() and tight.n_orders == 500
    single = write_big_portfolio(tmp_path / "one", 50, 1, seed=2)
    lines = pq.read_table(single.transactions).to_pandas()
    assert len(lines) == 50 and set(lines["customer_id"]) == {"C0000001"}


@pytest.mark.parametrize(("lines_", "customers_"), [(10, 20), (10, 0)])
def test_impossible_sizes(tmp_path, lines_, customers_):
    with pytest.raises(ValueError, match="must be at least"):
        write_big_portfolio(tmp_path, lines_, customers_)


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    assert cli.main(["big-data", "--out", str(out), "--lines", "3000", "--customers", "200", "--seed", "4",
                     "--chunk-lines", "1000"]) == 0
    printed = capsys.readouterr().out
    assert "3,000 / 3,000 lines" in printed and f"Big data: {out / 'portfolio.yml'}" in printed
    assert pq.ParquetFile(out / "transactions.parquet").num_row_groups == 3
    assert cli.main(["big-data", "--out", str(out), "--lines", "10", "--customers", "20"]) == 2
    assert "--lines (10) must be at least --customers (20)" in capsys.readouterr().err
