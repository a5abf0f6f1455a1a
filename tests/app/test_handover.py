"""How notebooks 02+ get their data: notebook 01's saved tables when fresh, the config otherwise."""

import pandas as pd
import pytest

from portfolio_helpers.analysis import engine
from portfolio_helpers.cleaning.pipeline import open_portfolio
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.ingest.loaders import load_portfolio, save_portfolio
from portfolio_helpers.reporting.exports import read_customer_export, update_customer_export


@pytest.fixture
def portfolio_dir(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nA,2024-01-05,100\nB,2024-02-01,50\n",
                                     encoding="utf-8")
    (tmp_path / "p.yml").write_text("name: T\ntables:\n  transactions: tx.csv\n", encoding="utf-8")
    return tmp_path


def _total(tables) -> float:
    """The sum of the saved lines' amounts, computed by the engine that scans them."""
    lines = tables["transactions"]
    return float(engine.execute(lines.aggregate(total=lines.amount.sum()))["total"].iloc[0])


def test_open_portfolio_loads_when_nothing_saved(portfolio_dir):
    tables, info = open_portfolio(portfolio_dir / "p.yml", portfolio_dir / "run")
    assert is_engine_table(tables["transactions"])  # scanned by the engine, not loaded
    assert _total(tables) == 150
    frames, _ = open_portfolio(portfolio_dir / "p.yml", portfolio_dir / "run", as_frames=True)
    assert isinstance(frames["transactions"], pd.DataFrame) and frames["transactions"]["amount"].sum() == 150
    assert info["as_of"] == pd.Timestamp("2024-02-01") and info["name"] == "T"
    assert (portfolio_dir / "run" / "data" / "transactions.parquet").is_file()


def test_open_portfolio_reuses_fresh_tables_and_reloads_stale_ones(portfolio_dir):
    out = portfolio_dir / "run"
    portfolio = load_portfolio(portfolio_dir / "p.yml")
    # Simulate notebook 01's cleaning step having changed the saved table: it must be reused as is.
    portfolio.tables["transactions"].loc[0, "amount"] = 999.0
    save_portfolio(portfolio, out)
    tables, _ = open_portfolio(portfolio_dir / "p.yml", out)
    assert _total(tables) == 1049
    # The export changed since: the saved tables are stale and the config is loaded again.
    with open(portfolio_dir / "tx.csv", "a", encoding="utf-8") as handle:
        handle.write("C,2024-03-01,25\n")
    tables, info = open_portfolio(portfolio_dir / "p.yml", out)
    assert _total(tables) == 175 and info["as_of"] == pd.Timestamp("2024-03-01")
    # Editing the config (here: as_of) also makes them stale.
    (portfolio_dir / "p.yml").write_text("name: T\nas_of: 2024-02-15\ntables:\n  transactions: tx.csv\n",
                                         encoding="utf-8")
    tables, info = open_portfolio(portfolio_dir / "p.yml", out)
    assert _total(tables) == 150 and info["as_of"] == pd.Timestamp("2024-02-15")


def test_customer_export_is_shared_between_notebooks(tmp_path):
    update_customer_export(tmp_path, pd.DataFrame({"customer_id": ["a", "b"], "revenue": [5.0, 3.0]}))
    update_customer_export(tmp_path, pd.DataFrame({"customer_id": ["b", "c"], "cluster": [1, 2]}))
    # Re-running the first notebook replaces its columns only.
    update_customer_export(tmp_path, pd.DataFrame({"customer_id": ["a", "b"], "revenue": [6.0, 4.0]}))
    export = read_customer_export(tmp_path)
    assert list(export.columns) == ["customer_id", "revenue", "cluster"]
    assert export["customer_id"].tolist() == ["a", "b", "c"]
    assert export["revenue"].tolist()[:2] == [6.0, 4.0] and pd.isna(export["revenue"].iloc[2])
    with pytest.raises(ValueError, match="one row per customer"):
        update_customer_export(tmp_path, pd.DataFrame({"customer_id": ["a", "a"], "x": [1, 2]}))
