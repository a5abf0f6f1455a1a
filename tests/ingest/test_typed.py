"""Typed tables read by the engine: config validation, validation by SQL, saving and reopening.

The lines never go through pandas in the kit: the tests read the engine table back (``to_pandas``)
only to compare it with hand-computed values.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from portfolio_helpers.cleaning.pipeline import clean_portfolio, open_portfolio
from portfolio_helpers.core.backend import EngineSettings
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.errors import ConfigError, InputError
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.ingest.loaders import (
    ROW_REJECTED,
    ROWS_COUNTED,
    VALUE_CLEARED,
    engine_tables_for,
    load_portfolio,
    read_saved_tables,
)
from portfolio_helpers.ingest.typed import write_engine_parquet
from tests.conftest import ENGINES

TODAY = pd.Timestamp("2025-01-01")


def lines(**columns) -> pa.Table:
    """A typed lines table; dates in microseconds (as Spark reads them)."""
    return pa.table({name: (pa.array(pd.to_datetime(values).as_unit("us")) if name in ("date", "Date") else values)
                     for name, values in columns.items()})


GOOD = dict(customer_id=["A", "B", "A", "C"],
            date=["2024-01-05", "2024-02-10", "2024-03-01", "2024-04-20"],
            amount=[100.0, 50.5, -20.0, 10.25],
            status=["Done", "annulée", "completed", "returned"])


def config(folder: Path, tables: dict, **top) -> Path:
    path = folder / "portfolio.yml"
    path.write_text(yaml.safe_dump({**top, "tables": tables}, sort_keys=False), encoding="utf-8")
    return path


def read(table) -> pd.DataFrame:
    """The rows of an engine table, sorted (an engine table has no row order)."""
    assert is_engine_table(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = table.to_pandas()
    return frame.sort_values([c for c in ("customer_id", "date", "amount") if c in frame], ignore_index=True)


def config_error(path: Path, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# --------------------------------------------------------------------------- config


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    (tmp_path / "lake").mkdir()
    pq.write_table(lines(**GOOD), tmp_path / "lake" / "part-0.parquet")
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nA,2024-01-05,1\n", encoding="utf-8")
    return tmp_path


def test_config_typed_sources(lake):
    cfg = load_config(config(lake, {"transactions": {"path": "lake/*.parquet"}}))
    source = cfg.tables["transactions"]
    assert source.typed and source.files == ((lake / "lake" / "part-0.parquet").resolve(),)
    assert cfg.engine == EngineSettings() and not cfg.engine_requested and engine_tables_for(cfg)
    folder = load_config(config(lake, {"transactions": "lake"})).tables["transactions"]
    assert folder.files == source.files
    text = load_config(config(lake, {"transactions": "tx.csv"}))
    assert not text.tables["transactions"].typed and engine_tables_for(text)  # notebook 01's saved file is scanned
    asked = load_config(config(lake, {"transactions": "tx.csv"}, engine={"backend": "duckdb", "threads": 2}))
    assert asked.engine == EngineSettings(threads=2) and asked.engine_requested and engine_tables_for(asked)
    (lake / "sales.duckdb").touch()
    catalog = load_config(config(lake, {"transactions": {"table": "sales.order_lines"}},
                                 engine={"database": "sales.duckdb"}))
    assert catalog.tables["transactions"].table == "sales.order_lines"
    assert catalog.tables["transactions"].path is None and catalog.tables["transactions"].typed
    assert catalog.engine.database == str(lake / "sales.duckdb")


@pytest.mark.parametrize(("spec", "top", "fragments"), [
    ({"path": "lake/*.parquet", "table": "x"}, {}, ("tables.transactions:", "either 'path'", "not both")),
    ({"columns": {"amount": "x"}}, {}, ("tables.transactions:", "'path' is missing", "or 'table'")),
    ({"path": "lake/*.csv"}, {}, ("tables.transactions.path", "no file matches the pattern")),
    ({"path": "nowhere/"}, {}, ("tables.transactions.path", "file or folder not found")),
    ({"path": "lake/*"}, {}, ("tables.transactions.path", "must match Parquet files only")),
    ({"path": "lake", "read": {"sep": ";"}}, {}, ("tables.transactions.read", "Parquet is typed", "remove 'read:'")),
    ({"table": "sales.lines", "read": {"sep": ";"}}, {"engine": {"database": "db.duckdb"}},
     ("tables.transactions.read", "the engine table sales.lines is typed")),
    ({"table": "a..b"}, {}, ("tables.transactions.table", "expected a table name")),
    ({"table": "sales.lines"}, {}, ("tables.transactions.table", "in-memory DuckDB", "database: file.duckdb")),
    ({"table": "sales.lines"}, {"engine": {"database": "missing.duckdb"}}, ("engine.database", "file not found")),
    ({"path": "tx.csv"}, {"engine": {"backend": "duckbd"}}, ("engine.backend", "unknown engine", "'duckdb'")),
    ({"path": "tx.csv"}, {"engine": {"backend": "pyspark", "threads": 2}},
     ("engine.threads", "not a setting of the pyspark engine")),
    ({"path": "tx.csv"}, {"engne": {}}, ("engne", "unknown section", "did you mean 'engine'")),
])
def test_config_errors(lake, spec, top, fragments):
    (lake / "lake" / "notes.txt").write_text("x", encoding="utf-8")
    (lake / "db.duckdb").touch()
    config_error(config(lake, {"transactions": spec}, **top), *fragments)


def test_config_empty_folder(lake):
    (lake / "empty").mkdir()
    config_error(config(lake, {"transactions": "empty"}), "tables.transactions.path", "a folder holding no Parquet file")


def test_cli_config_error_is_one_message(lake, capsys):
    from portfolio_helpers.app import cli

    path = config(lake, {"transactions": {"path": "lake", "read": {"sep": ";"}}})
    assert cli.main(["report", "--config", str(path), "--out", str(lake / "out")]) == 2
    err = capsys.readouterr().err
    assert "remove 'read:'" in err and "Traceback" not in err


# --------------------------------------------------------------------------- loading


@pytest.mark.parametrize("layout", ["file", "folder", "glob"])
def test_typed_parquet_is_validated_in_the_engine(tmp_path, layout):
    table = lines(**{"Client": ["A", "B", None, "A", "C", "D"],
                     "date": ["2024-01-05", "2024-02-10", "2024-03-01", "2024-03-01", "2024-04-20", "2026-02-01"],
                     "Montant": [100.0, 50.5, 3.0, np.inf, 10.25, 7.0],
                     "status": ["Done", "annulée", "completed", "completed", "weird", None]})
    if layout == "file":
        pq.write_table(table, tmp_path / "lines.parquet")
        path, files = "lines.parquet", ["lines.parquet"] * 6
        lines_of = [1, 2, 3, 4, 5, 6]
    else:
        (tmp_path / "lake").mkdir()
        pq.write_table(table.slice(0, 3), tmp_path / "lake" / "a.parquet")
        pq.write_table(table.slice(3), tmp_path / "lake" / "b.parquet")
        path = "lake" if layout == "folder" else "lake/*.parquet"
        files = ["lake/a.parquet"] * 3 + ["lake/b.parquet"] * 3
        lines_of = [1, 2, 3, 1, 2, 3]
    portfolio = load_portfolio(config(tmp_path, {"transactions": {"path": path, "columns": {
        "customer_id": "Client", "amount": "Montant"}}}), today=TODAY)
    tx = read(portfolio.transactions)
    assert tx.columns.tolist() == ["customer_id", "date", "amount", "status"]
    assert tx["customer_id"].tolist() == ["A", "B", "C"]
    assert tx["amount"].tolist() == [100.0, 50.5, 10.25]
    assert tx["status"].fillna("-").tolist() == ["completed", "cancelled", "-"]  # "weird" cleared, the row kept
    assert portfolio.as_of == pd.Timestamp("2024-04-20")  # the last valid date not after today
    problems = portfolio.rejected.sort_values(["file", "line"], ignore_index=True)
    listed = problems[problems["action"] != ROWS_COUNTED]
    expected = [(str(tmp_path / files[2]), lines_of[2], "customer_id", "missing required value", ROW_REJECTED),
                (str(tmp_path / files[3]), lines_of[3], "amount", "not a number", ROW_REJECTED),
                (str(tmp_path / files[4]), lines_of[4], "status", "unknown value", VALUE_CLEARED),
                (str(tmp_path / files[5]), lines_of[5], "date", "date in the future (after today, 2025-01-01)",
                 ROW_REJECTED)]
    got = [(row.file, int(row.line), row.column, row.reason, row.action) for row in listed.itertuples()]
    assert [g[:3] + (g[4],) for g in got] == [e[:3] + (e[4],) for e in expected]
    assert all(e[3] in g[3] for g, e in zip(got, expected, strict=True))
    assert listed.loc[listed["column"] == "date", "value"].tolist() == ["2026-02-01"]
    counted = problems[problems["action"] == ROWS_COUNTED]
    assert counted["value"].tolist() == ["3"]
    assert "3 row(s) of 6 rejected in all, with 4 problem(s)" in counted["reason"].item()
    assert portfolio.n_rejected_rows == 3
    assert portfolio.inputs[0]["rows"] == 6 and portfolio.detected["transactions"]["engine"] == "duckdb"


def test_rows_after_a_configured_as_of_and_empty_optional_columns(tmp_path):
    pq.write_table(lines(**GOOD, channel=pa.array([None] * 4, pa.string())), tmp_path / "l.parquet")
    portfolio = load_portfolio(config(tmp_path, {"transactions": "l.parquet"}, as_of="2024-02-29"), today=TODAY)
    tx = read(portfolio.transactions)
    assert tx["amount"].tolist() == [100.0, 50.5]
    assert "channel" not in tx  # an optional column left empty counts as absent
    assert portfolio.empty_columns.to_dict("records") == [
        {"table": "transactions", "column": "channel", "source_column": "channel"}]
    late = portfolio.rejected[portfolio.rejected["action"] == ROW_REJECTED]
    assert sorted(late["value"]) == ["2024-03-01", "2024-04-20"]
    assert set(late["reason"]) == {"dated after the analysis date as_of=2024-02-29"}
    assert portfolio.n_rejected_rows == 2


def test_rejected_sample_is_capped_with_the_count(tmp_path):
    n = 25
    pq.write_table(lines(customer_id=[None] * n + ["A"], date=["2024-01-01"] * (n + 1),
                         amount=[1.0] * (n + 1)), tmp_path / "l.parquet")
    portfolio = load_portfolio(config(tmp_path, {"transactions": "l.parquet"}), today=TODAY, rejected_sample=10)
    listed = portfolio.rejected[portfolio.rejected["action"] == ROW_REJECTED]
    assert len(listed) == 10 and listed["line"].tolist() == list(range(1, 11))  # the first rows of the file
    counted = portfolio.rejected[portfolio.rejected["action"] == ROWS_COUNTED]
    assert counted["value"].tolist() == ["25"]
    assert counted["reason"].item() == "25 row(s) of 26 rejected in all, with 25 problem(s); the first 10 are listed"
    assert portfolio.n_rejected_rows == 25
    assert read(portfolio.transactions)["customer_id"].tolist() == ["A"]


@pytest.mark.parametrize(("columns", "fragments"), [
    ({"customer_id": pa.array([1.0, 2.0])}, ("'customer_id'", "of type float64", "text or whole numbers")),
    ({"date": pa.array(["2024-01-01", "2024-02-01"])}, ("'date'", "of type string", "a date or a timestamp",
                                                        "export the table as CSV")),
    ({"amount": pa.array(["1,5", "2"])}, ("'amount'", "of type string", "numbers")),
    ({"status": pa.array([1, 2])}, ("'status'", "of type int64", "needs text")),
])
def test_wrong_types_are_refused(tmp_path, columns, fragments):
    base = {"customer_id": pa.array(["A", "B"]), "date": pa.array(pd.to_datetime(["2024-01-01", "2024-02-01"])
                                                                  .as_unit("us")),
            "amount": pa.array([1.0, 2.0])}
    pq.write_table(pa.table({**base, **columns}), tmp_path / "l.parquet")
    with pytest.raises(InputError) as info:
        load_portfolio(config(tmp_path, {"transactions": "l.parquet"}), today=TODAY)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_integer_ids_derived_amount_and_nulls(tmp_path):
    pq.write_table(pa.table({
        "customer_id": pa.array([17450, 17451, None, 17452], pa.int64()),
        "date": pa.array(pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]).as_unit("us")),
        "quantity": [2.0, 3.0, 1.0, None], "unit_price": [10.0, 1.5, 4.0, 2.0], "discount": [1.0, None, 0.0, 0.0],
    }), tmp_path / "l.parquet")
    portfolio = load_portfolio(config(tmp_path, {"transactions": "l.parquet"}), today=TODAY)
    tx = read(portfolio.transactions)
    assert tx["customer_id"].tolist() == ["17450", "17451"]  # integer ids become text, never "17450.0"
    assert tx["amount"].tolist() == [19.0, 4.5]  # quantity × unit_price − discount
    reasons = portfolio.rejected.set_index("column")["reason"].to_dict()
    assert reasons["customer_id"] == "missing required value"
    assert reasons["quantity"] == "missing value (needed to compute amount)"
    assert portfolio.detected["transactions"]["amount"] == {"derived": "quantity × unit_price − discount"}


def test_no_readable_amount_and_no_valid_row(tmp_path):
    pq.write_table(lines(customer_id=["A", "B"], date=["2024-01-01"] * 2, amount=[np.nan, np.nan]),
                   tmp_path / "l.parquet")
    with pytest.raises(InputError, match="has no readable number value in any of its 2 rows"):
        load_portfolio(config(tmp_path, {"transactions": "l.parquet"}), today=TODAY)
    pq.write_table(lines(customer_id=["A", "B"], date=["2026-01-01"] * 2, amount=[1.0, 2.0]), tmp_path / "l.parquet")
    with pytest.raises(InputError, match="every transaction is dated after today"):
        load_portfolio(config(tmp_path, {"transactions": "l.parquet"}), today=TODAY)


def test_customers_known_and_attributes_from_lines(tmp_path):
    pq.write_table(lines(**GOOD, country=["FR", "DE", "FR", None]), tmp_path / "l.parquet")
    (tmp_path / "clients.csv").write_text("customer_id,name\nA,Acme\nB,Bolt\n", encoding="utf-8")
    portfolio = load_portfolio(config(tmp_path, {"transactions": "l.parquet", "customers": "clients.csv"}),
                               today=TODAY)
    tx = read(portfolio.transactions)
    assert "country" not in tx  # moved to the customers table
    assert tx["customer_known"].tolist() == [True, True, True, False]
    customers = portfolio.tables["customers"].set_index("customer_id")
    assert customers["country"].to_dict() == {"A": "FR", "B": "DE"}
    assert portfolio.line_attributes["customers_filled_from_lines"].tolist() == [2]


def test_engine_catalog_table(tmp_path):
    database = tmp_path / "sales.duckdb"
    con = duckdb.connect(str(database))
    con.execute("CREATE SCHEMA sales")  # a schema named as the database file: the kit reads the schema
    con.execute("CREATE TABLE sales.sales.order_lines (client VARCHAR, date DATE, amount DOUBLE)")
    con.execute("INSERT INTO sales.sales.order_lines VALUES ('A', '2024-01-05', 10.0), ('B', '2024-02-01', NULL), "
                "('A', '2024-03-01', 5.5)")
    con.close()
    path = config(tmp_path, {"transactions": {"table": "sales.order_lines", "columns": {"customer_id": "client"}}},
                  engine={"database": "sales.duckdb"})
    portfolio = load_portfolio(path, today=TODAY)
    tx = read(portfolio.transactions)
    assert tx["customer_id"].tolist() == ["A", "A"] and tx["amount"].tolist() == [10.0, 5.5]
    assert tx["date"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-03-01")]
    assert portfolio.n_rejected_rows == 1
    assert portfolio.inputs[0]["path"] == "engine table sales.order_lines"
    missing = config(tmp_path, {"transactions": {"table": "sales.nope"}}, engine={"database": "sales.duckdb"})
    with pytest.raises(InputError, match="engine table sales.nope: the engine .duckdb. has no such table"):
        load_portfolio(missing, today=TODAY)


def test_small_typed_tables_are_read_into_pandas(tmp_path):
    pq.write_table(lines(**GOOD), tmp_path / "l.parquet")
    (tmp_path / "crm").mkdir()
    pq.write_table(pa.table({"customer_id": ["A"], "name": ["Acme"]}), tmp_path / "crm" / "1.parquet")
    pq.write_table(pa.table({"customer_id": ["B"], "name": ["Bolt"]}), tmp_path / "crm" / "2.parquet")
    portfolio = load_portfolio(config(tmp_path, {"transactions": "l.parquet", "customers": "crm"}), today=TODAY)
    customers = portfolio.tables["customers"]
    assert isinstance(customers, pd.DataFrame) and customers["name"].tolist() == ["Acme", "Bolt"]


# --------------------------------------------------------------------------- saving and reopening


def test_clean_save_and_open_portfolio(tmp_path):
    pq.write_table(lines(**GOOD), tmp_path / "l.parquet")
    (tmp_path / "clients.csv").write_text("customer_id,name,email\nA,Acme,a@acme.fr\nB,Acme,a@acme.fr\n"
                                          "C,Cole,c@cole.io\n", encoding="utf-8")
    path = config(tmp_path, {"transactions": "l.parquet", "customers": "clients.csv"})
    cleaned = clean_portfolio(path, today=TODAY)
    assert is_engine_table(cleaned.transactions)
    mapping = dict(zip(cleaned.duplicates.mapping["customer_id"], cleaned.duplicates.mapping["survivor_id"],
                       strict=True))
    survivor = mapping["B"]
    assert survivor == mapping["A"]  # same name and e-mail: merged
    cleaned.save(tmp_path / "out")
    saved = tmp_path / "out" / "data" / "transactions.parquet"
    assert saved.is_file() and not list(saved.parent.glob(".*tmp"))
    tables, info = open_portfolio(path, tmp_path / "out")
    tx = read(tables["transactions"])
    assert isinstance(tables["customers"], pd.DataFrame)
    assert tx["customer_id"].tolist() == [survivor] * 3 + ["C"]
    assert sorted(tx["original_customer_id"]) == ["A", "A", "B", "C"]
    assert tx["customer_known"].all()
    assert info["engine_tables"]["tables"] == ["transactions"]
    assert info["n_rejected_rows"] == 0
    assert pd.read_parquet(saved)["amount"].sum() == pytest.approx(140.75)
    # without an engine asked for, the saved tables are pandas frames as before
    assert isinstance(read_saved_tables(tmp_path / "out")["transactions"], pd.DataFrame)
    # a changed input file makes the tables stale: the pipeline runs again
    pq.write_table(lines(**{**GOOD, "amount": [1.0, 2.0, 3.0, 4.0]}), tmp_path / "l.parquet")
    tables, _ = open_portfolio(path, tmp_path / "out")
    assert read(tables["transactions"])["amount"].sum() == 10.0


def test_a_file_added_to_a_folder_is_new_data(tmp_path):
    (tmp_path / "lake").mkdir()
    pq.write_table(lines(**GOOD), tmp_path / "lake" / "a.parquet")
    path = config(tmp_path, {"transactions": "lake"})
    tables, _ = open_portfolio(path, tmp_path / "out")
    assert read(tables["transactions"])["amount"].sum() == pytest.approx(140.75)
    pq.write_table(lines(customer_id=["Z"], date=["2024-05-01"], amount=[9.25]), tmp_path / "lake" / "b.parquet")
    tables, info = open_portfolio(path, tmp_path / "out")
    assert read(tables["transactions"])["amount"].sum() == pytest.approx(150.0)
    assert info["as_of"] == pd.Timestamp("2024-05-01")


def test_write_engine_parquet_replaces_a_folder_atomically(tmp_path):
    import ibis

    target = tmp_path / "transactions.parquet"
    target.mkdir()
    (target / "part-0.parquet").write_bytes(b"old")  # what Spark left there
    con = ibis.duckdb.connect()
    con.raw_sql("CREATE TABLE t AS SELECT * FROM (VALUES (1), (2)) AS v(a)")
    write_engine_parquet(con.table("t"), target)
    assert target.is_file() and pd.read_parquet(target)["a"].tolist() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["transactions.parquet"]


# --------------------------------------------------------------------------- on each engine


@pytest.mark.engine
@pytest.mark.parametrize("engine", ENGINES)
def test_loading_gives_the_same_table_on_each_engine(tmp_path, engine):
    """The validation, the rejected rows and the saved file are the same on DuckDB and Spark (make test-spark)."""
    table = lines(**{"Client": ["A", "B", None, "A", "C", "A"],
                     "date": ["2024-01-05", "2024-02-10", "2024-03-01", "2024-03-01", "2026-04-20", "2024-01-20"],
                     "amount": [100.0, 50.5, 3.0, np.nan, 10.25, -np.inf],
                     "status": ["Done", "annulée", None, "x", "ok", "Done"]})
    (tmp_path / "lake").mkdir()
    pq.write_table(table.slice(0, 2), tmp_path / "lake" / "a.parquet")
    pq.write_table(table.slice(2), tmp_path / "lake" / "b.parquet")
    (tmp_path / "clients.csv").write_text("customer_id,name,email\nA,Acme,a@acme.fr\nB,Acme,a@acme.fr\n",
                                          encoding="utf-8")
    path = config(tmp_path, {"transactions": {"path": "lake/*.parquet", "columns": {"customer_id": "Client"}},
                             "customers": "clients.csv"}, engine={"backend": engine})
    portfolio = load_portfolio(path, today=TODAY)
    tx = read(portfolio.transactions)
    assert tx["customer_id"].tolist() == ["A", "B"] and tx["amount"].tolist() == [100.0, 50.5]
    assert tx["status"].tolist() == ["completed", "cancelled"]
    assert portfolio.as_of == pd.Timestamp("2024-02-10")
    assert portfolio.n_rejected_rows == 4
    listed = portfolio.rejected[portfolio.rejected["action"] != ROWS_COUNTED]
    assert sorted(zip(listed["column"], listed["reason"].str[:13], strict=True)) == [
        ("amount", "missing requi"), ("amount", "not a number"), ("customer_id", "missing requi"),
        ("date", "date in the f"), ("status", "unknown value")]  # a NaN amount is missing, an infinite one wrong
    cleaned = clean_portfolio(path, today=TODAY)
    cleaned.save(tmp_path / "out")
    saved = tmp_path / "out" / "data" / "transactions.parquet"
    assert saved.is_dir() if engine == "pyspark" else saved.is_file()  # Spark writes a folder of part files
    tables, _ = open_portfolio(path, tmp_path / "out")
    merged = read(tables["transactions"])  # B merged into A (same name and e-mail), by the engine
    assert merged["amount"].tolist() == [100.0, 50.5] and merged["customer_id"].nunique() == 1
    assert sorted(merged["original_customer_id"]) == ["A", "B"] and merged["customer_known"].all()


def test_pseudonymized_engine_lines_get_the_pseudonyms_of_frames(tmp_path):
    from portfolio_helpers.cleaning import privacy

    emails = ["a@x.io", "b@x.io", " A@X.io", None]
    pq.write_table(lines(**GOOD, contact_email=emails), tmp_path / "l.parquet")
    path = config(tmp_path, {"transactions": "l.parquet"}, pseudonymize=True)
    cleaned = clean_portfolio(path, today=TODAY)
    assert is_engine_table(cleaned.transactions)
    assert "contact_email" in cleaned.transactions.columns  # the cleaning sees the real values
    cleaned.save(tmp_path / "out")
    saved = pd.read_parquet(tmp_path / "out" / "data" / "transactions.parquet").sort_values("amount")
    # the keyed hash of the pandas path, with the portfolio's key: same value (any spelling), same pseudonym
    key = privacy.load_or_create_key(privacy.key_path_for(path))
    p = privacy.Pseudonymizer(key)
    by_amount = dict(zip(GOOD["amount"], emails, strict=True))
    expected = [None if by_amount[a] is None else p.token(by_amount[a], "email") for a in saved["amount"]]
    got = saved["contact_email"].astype(object)
    assert got.where(got.notna(), None).tolist() == expected
    assert saved["contact_email"].dropna().str.endswith("@pseudo.invalid").all()
    assert not saved["contact_email"].isin([e for e in emails if e]).any()  # no real value left
    assert saved["contact_email"].nunique() == 2  # a@x.io and " A@X.io" are one person
    frame = privacy.pseudonymize_frame(pd.DataFrame({"contact_email": emails}), p, {"contact_email": "email"})
    assert sorted(frame["contact_email"].dropna()) == sorted(saved["contact_email"].dropna())


def test_strict_mode_lists_the_engine_problems(tmp_path):
    from portfolio_helpers.core.errors import RowProblemsError

    pq.write_table(lines(customer_id=["A", None], date=["2024-01-01"] * 2, amount=[1.0, 2.0]), tmp_path / "l.parquet")
    with pytest.raises(RowProblemsError) as info:
        load_portfolio(config(tmp_path, {"transactions": "l.parquet"}), today=TODAY, strict=True)
    message = str(info.value)
    assert "l.parquet: column customer_id: missing required value: 1 row(s) (lines 2;" in message
    assert "1 row(s) of 2 rejected in all, with 1 problem(s)" in message


def test_whole_numbers_on_the_lines(tmp_path):
    pq.write_table(lines(customer_id=["A", "B", "C"], date=["2024-01-01"] * 3, amount=[1.0, 2.0, 3.0],
                         employees=[10.0, 2.5, np.inf]), tmp_path / "l.parquet")
    portfolio = load_portfolio(config(tmp_path, {"transactions": {"path": "l.parquet",
                                                                  "columns": {"employees": "employees"}}}), today=TODAY)
    employees = portfolio.tables["customers"].set_index("customer_id")["employees"]
    assert employees["A"] == 10 and employees[["B", "C"]].isna().all()
    assert sorted(portfolio.rejected["reason"]) == ["not a whole number"] * 2
    assert set(portfolio.rejected["action"]) == {VALUE_CLEARED} and portfolio.n_rejected_rows == 0
