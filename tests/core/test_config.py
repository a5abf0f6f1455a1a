"""Portfolio config: every mistake is a ConfigError naming the file, the key and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from portfolio_helpers.core.config import READ_OPTIONS, TOP_LEVEL_KEYS, PortfolioConfig, load_config
from portfolio_helpers.core.contract import TABLES
from portfolio_helpers.core.errors import ConfigError, PortfolioError

TX = "customer_id,date,amount\nC1,2024-01-05,10\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "tx.csv").write_text(TX, encoding="utf-8")
    (tmp_path / "clients.csv").write_text("customer_id,name\nC1,Acme\n", encoding="utf-8")
    return tmp_path


def write(folder: Path, text: str, name: str = "portfolio.yml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path, *fragments: str) -> str:
    """Load ``path``, expect a ConfigError naming the file and every fragment; return the message."""
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path.resolve()) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


# --------------------------------------------------------------------------- valid configs


def test_minimal_shorthand_config(folder):
    config = load_config(write(folder, "tables:\n  transactions: tx.csv\n"))
    assert isinstance(config, PortfolioConfig)
    assert list(config.tables) == ["transactions"]
    source = config.tables["transactions"]
    assert source.name == "transactions"
    assert source.path == (folder / "tx.csv").resolve()
    assert source.read == {} and source.columns == {}
    # defaults
    assert config.name == "portfolio"
    assert config.currency == "EUR"
    assert config.as_of is None
    assert config.seed == 42
    assert config.pseudonymize is False
    assert config.sections == {}
    assert config.path == (folder / "portfolio.yml").resolve()
    assert config.base_dir == folder.resolve()


def test_full_config(folder):
    text = """\
name: Acme portfolio
currency: USD
as_of: 2025-12-31
seed: 7
pseudonymize: true
costs: {shipping: 4.5}
scoring: {weights: [1, 2]}
tables:
  customers: {path: clients.csv, columns: {name: name}}
  transactions:
    path: tx.csv
    read: {sep: ",", decimal: ",", thousands: ".", encoding: cp1252, dayfirst: true, skiprows: 0}
    columns: {customer_id: "N° client", date: "Date facture", amount: "Montant HT"}
"""
    config = load_config(write(folder, text))
    assert config.name == "Acme portfolio"
    assert config.currency == "USD"
    assert config.as_of == pd.Timestamp("2025-12-31")
    assert config.seed == 7
    assert config.pseudonymize is True
    assert config.sections == {"costs": {"shipping": 4.5}, "scoring": {"weights": [1, 2]}}
    assert list(config.tables) == ["transactions", "customers"]  # canonical order, not file order
    tx = config.tables["transactions"]
    assert tx.read == {"sep": ",", "decimal": ",", "thousands": ".", "encoding": "cp1252", "dayfirst": True,
                       "skiprows": 0}
    assert tx.columns == {"customer_id": "N° client", "date": "Date facture", "amount": "Montant HT"}


def test_config_with_utf8_bom_is_read(folder):
    path = folder / "bom.yml"
    path.write_bytes("\ufeffname: Société\ntables: {transactions: tx.csv}\n".encode())
    assert load_config(path).name == "Société"


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tx.csv").write_text(TX, encoding="utf-8")
    (tmp_path / "conf").mkdir()
    (tmp_path / "elsewhere").mkdir()
    path = write(tmp_path / "conf", "tables:\n  transactions: {path: ../data/tx.csv}\n")
    monkeypatch.chdir(tmp_path / "elsewhere")  # the working directory must not matter
    config = load_config(path)
    assert config.tables["transactions"].path == (tmp_path / "data" / "tx.csv").resolve()
    # the config path itself may be relative to the working directory
    monkeypatch.chdir(tmp_path)
    assert load_config("conf/portfolio.yml").tables["transactions"].path == (tmp_path / "data" / "tx.csv").resolve()


def test_absolute_table_path(folder, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    path = write(other, f"tables:\n  transactions: {{path: '{folder / 'tx.csv'}'}}\n")
    assert load_config(path).tables["transactions"].path == (folder / "tx.csv").resolve()


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-12-31", pd.Timestamp("2025-12-31")),            # YAML date object
    ("'2025-12-31'", pd.Timestamp("2025-12-31")),          # quoted string
    ("' 2025-06-01 '", pd.Timestamp("2025-06-01")),
    ("2025-12-31 10:30:00", pd.Timestamp("2025-12-31")),   # YAML datetime: the day is kept
    ("null", None),
])
def test_as_of_values(folder, value, expected):
    config = load_config(write(folder, f"as_of: {value}\ntables: {{transactions: tx.csv}}\n"))
    assert config.as_of == expected
    if expected is not None:
        assert isinstance(config.as_of, pd.Timestamp)


def test_as_of_from_a_date_object_is_a_timestamp(folder):
    config = load_config(write(folder, "as_of: 2024-02-29\ntables: {transactions: tx.csv}\n"))
    assert config.as_of == pd.Timestamp(dt.date(2024, 2, 29))


def test_leads_allow_extra_columns(folder):
    path = write(folder, "tables:\n  transactions: tx.csv\n"
                         "  leads: {path: tx.csv, columns: {lead_id: customer_id, seniority: Seniority}}\n")
    config = load_config(path)
    assert config.tables["leads"].columns == {"lead_id": "customer_id", "seniority": "Seniority"}


def test_module_constants():
    assert {"sep", "decimal", "thousands", "encoding", "dayfirst", "sheet", "skiprows"} == set(READ_OPTIONS)
    assert "tables" in TOP_LEVEL_KEYS and "as_of" in TOP_LEVEL_KEYS


# --------------------------------------------------------------------------- errors


def test_config_error_is_a_portfolio_error_with_exit_code_2():
    assert issubclass(ConfigError, PortfolioError)
    assert ConfigError.exit_code == 2


def test_config_file_not_found(tmp_path):
    missing = tmp_path / "nope.yml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert "not found" in str(info.value)
    assert str(missing) in str(info.value)


def test_config_path_is_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)


def test_invalid_yaml_gives_the_line(folder):
    path = write(folder, "name: demo\ncurrency: EUR\ntables:\n\ttransactions: tx.csv\n")
    message = config_error(path, "invalid YAML", "line 4")
    assert "column 1" in message


def test_invalid_yaml_unclosed_flow_mapping(folder):
    path = write(folder, "name: demo\ntables:\n  transactions: {path: tx.csv\n  customers: x\n")
    config_error(path, "invalid YAML", "line ")


def test_config_not_utf8(folder):
    path = folder / "latin.yml"
    path.write_bytes("name: Société\ntables: {transactions: tx.csv}\n".encode("cp1252"))
    config_error(path, "UTF-8")


@pytest.mark.parametrize(("text", "found"), [("- a\n- b\n", "list"), ("just text\n", "str"), ("", "NoneType")])
def test_config_not_a_mapping(folder, text, found):
    config_error(write(folder, text), "expected a mapping", found)


def test_unknown_top_level_section_suggests(folder):
    message = config_error(write(folder, "tabels:\n  transactions: tx.csv\n"), "tabels", "unknown section",
                           "did you mean 'tables'?")
    assert "allowed: name, currency, as_of" in message


def test_unknown_top_level_section_without_close_match(folder):
    message = config_error(write(folder, "zzz: 1\ntables: {transactions: tx.csv}\n"), "zzz", "unknown section")
    assert "did you mean" not in message


@pytest.mark.parametrize("text", ["name: x\n", "tables:\n", "tables: {}\n", "tables: [tx.csv]\n"])
def test_missing_tables(folder, text):
    config_error(write(folder, text), "tables", "missing")


def test_unknown_table_suggests(folder):
    message = config_error(write(folder, "tables:\n  transaction: tx.csv\n"), "tables.transaction",
                           "unknown table", "did you mean 'transactions'?")
    assert "known: transactions, customers, payments, tickets, leads" in message


def test_missing_transactions(folder):
    config_error(write(folder, "tables:\n  customers: clients.csv\n"), "tables", "'transactions' table is required")


def test_table_file_not_found(folder):
    message = config_error(write(folder, "tables:\n  transactions: {path: invoices.csv}\n"),
                           "tables.transactions.path", "file not found")
    assert str((folder / "invoices.csv").resolve()) in message


def test_table_file_not_found_in_shorthand(folder):
    config_error(write(folder, "tables:\n  transactions: missing.csv\n"), "tables.transactions.path",
                 "missing.csv")


def test_table_path_is_a_directory(folder):
    (folder / "sub").mkdir()
    config_error(write(folder, "tables:\n  transactions: sub\n"), "tables.transactions.path", "file not found")


@pytest.mark.parametrize(("spec", "fragments"), [
    ("{pth: tx.csv}", ("tables.transactions.pth", "unknown key", "did you mean 'path'?")),
    ("{read: {sep: ','}}", ("tables.transactions", "'path' is missing")),
    ("{path: ''}", ("tables.transactions", "'path' is missing")),
    ("", ("tables.transactions", "expected a mapping")),
    ("[tx.csv]", ("tables.transactions", "expected a mapping")),
    ("{path: tx.csv, read: [1]}", ("tables.transactions.read", "expected a mapping")),
    ("{path: tx.csv, columns: [amount]}", ("tables.transactions.columns", "expected a mapping")),
])
def test_bad_table_specs(folder, spec, fragments):
    config_error(write(folder, f"tables:\n  transactions: {spec}\n"), *fragments)


def test_unknown_read_option(folder):
    message = config_error(write(folder, "tables:\n  transactions: {path: tx.csv, read: {sepp: ';'}}\n"),
                           "tables.transactions.read.sepp", "unknown option", "did you mean 'sep'?")
    assert "allowed: sep, decimal, thousands, encoding, dayfirst, sheet, skiprows" in message


@pytest.mark.parametrize(("option", "value", "fragment"), [
    ("decimal", "';'", "must be '.' or ','"),
    ("decimal", "comma", "must be '.' or ','"),
    ("dayfirst", "'yes'", "must be true or false"),
    ("dayfirst", "1", "must be true or false"),
    ("encoding", "klingon", "unknown encoding 'klingon'"),
    ("encoding", "1252", "must be text"),
    ("skiprows", "-1", "must be a non-negative integer"),
    ("skiprows", "'2'", "must be a non-negative integer"),
    ("skiprows", "true", "must be a non-negative integer"),
    ("skiprows", "1.5", "must be a non-negative integer"),
    ("sep", "5", "must be text"),
    ("thousands", "1000", "must be text"),
    ("sheet", "[1]", "must be a sheet name or a 0-based index"),
    ("sheet", "true", "must be a sheet name or a 0-based index"),
])
def test_bad_read_values(folder, option, value, fragment):
    path = write(folder, f"tables:\n  transactions: {{path: tx.csv, read: {{{option}: {value}}}}}\n")
    config_error(path, f"tables.transactions.read.{option}", fragment)


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("decimal", "','", ","), ("dayfirst", "false", False), ("encoding", "latin-1", "latin-1"),
    ("skiprows", "3", 3), ("sep", "'|'", "|"), ("sheet", "Ventes", "Ventes"), ("sheet", "1", 1),
])
def test_good_read_values(folder, option, value, expected):
    path = write(folder, f"tables:\n  transactions: {{path: tx.csv, read: {{{option}: {value}}}}}\n")
    assert load_config(path).tables["transactions"].read == {option: expected}


def test_unknown_canonical_column_suggests_and_lists_known(folder):
    path = write(folder, "tables:\n  transactions: {path: tx.csv, columns: {ammount: Montant}}\n")
    message = config_error(path, "tables.transactions.columns.ammount", "'ammount' is not a column of the "
                           "transactions table", "did you mean 'amount'?")
    known = ", ".join(TABLES["transactions"].column_names)
    assert f"known: {known}" in message


def test_unknown_customer_column(folder):
    path = write(folder, "tables:\n  transactions: tx.csv\n  customers: {path: clients.csv, columns: {nom: Nom}}\n")
    config_error(path, "tables.customers.columns.nom", "customers table")


@pytest.mark.parametrize("source", ["''", "null", "'   '"])
def test_empty_source_column(folder, source):
    path = write(folder, f"tables:\n  transactions: {{path: tx.csv, columns: {{amount: {source}}}}}\n")
    config_error(path, "tables.transactions.columns.amount", "the source column name is empty")


@pytest.mark.parametrize("value", ["-1", "true", "'5'", "1.5"])
def test_bad_seed(folder, value):
    config_error(write(folder, f"seed: {value}\ntables: {{transactions: tx.csv}}\n"), "seed",
                 "must be a non-negative integer")


@pytest.mark.parametrize("value", ["'yes'", "1", "maybe"])
def test_bad_pseudonymize(folder, value):
    config_error(write(folder, f"pseudonymize: {value}\ntables: {{transactions: tx.csv}}\n"), "pseudonymize",
                 "must be true or false")


@pytest.mark.parametrize("value", ["31/12/2025", "'2025-12-31T10:00:00'", "tomorrow", "2025-02-30", "'2025-13-01'"])
def test_bad_as_of(folder, value):
    path = write(folder, f"as_of: {value}\ntables: {{transactions: tx.csv}}\n")
    config_error(path, "as_of", "is not a date in YYYY-MM-DD form")


def test_first_error_wins_but_names_its_own_key(folder):
    # an unknown table is reported before a bad seed further down
    path = write(folder, "tables: {transactions: tx.csv, client: clients.csv}\nseed: -4\n")
    message = config_error(path, "tables.client", "unknown table")
    assert "seed" not in message


def test_a_key_given_twice_is_an_error(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nA,2024-01-01,1\n", encoding="utf-8")
    path = tmp_path / "p.yml"
    path.write_text("tables:\n  transactions: tx.csv\ncosts:\n  per_order: 1\n  per_order: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'per_order' is given twice \(first at line 4\)") as error:
        load_config(path)
    assert "line 5" in str(error.value) and str(path) in str(error.value)


def test_customer_attributes_and_unit_price_may_be_mapped_on_the_transactions(folder):
    path = write(folder, "tables:\n  transactions:\n    path: tx.csv\n    columns: {country: Pays, owner: Rep, "
                         "unit_price: PU, customer_type: Type}\n")
    assert load_config(path).tables["transactions"].columns == {"country": "Pays", "owner": "Rep",
                                                                "unit_price": "PU", "customer_type": "Type"}
    message = config_error(write(folder, "tables:\n  transactions:\n    path: tx.csv\n    columns: {contry: Pays}\n"),
                           "tables.transactions.columns.contry", "'contry' is not a column of the transactions table",
                           "customers attributes the lines may repeat: name, email", "did you mean 'country'?")
    assert "customer_id, date, amount" in message
    config_error(write(folder, "tables:\n  payments: {path: tx.csv, columns: {country: Pays}}\n  transactions: tx.csv\n"),
                 "'country' is not a column of the payments table")


def test_answer_key_is_optional_and_resolved_against_the_config(folder):
    assert load_config(write(folder, "tables: {transactions: tx.csv}\n")).answer_key is None
    (folder / "keys").mkdir()
    (folder / "keys" / "k.json").write_text('{"customers": [], "duplicate_groups": [], "defects": [], "leads": []}',
                                            encoding="utf-8")
    path = write(folder, "answer_key: keys/k.json\ntables: {transactions: tx.csv}\n")
    assert load_config(path).answer_key == (folder / "keys" / "k.json").resolve()
    config_error(write(folder, "answer_key: 3\ntables: {transactions: tx.csv}\n"), "answer_key: expected the name")
