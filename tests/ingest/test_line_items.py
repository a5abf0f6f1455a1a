"""Line-item exports as they come: amount from quantity × unit_price, customer attributes on the lines,
ids written as floats, empty optional columns, a file column mapped twice, binary files, answer keys.
Every expected value below is computed by hand from the few lines written in each test."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.cleaning.pipeline import clean_portfolio
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.errors import ConfigError, InputError
from portfolio_helpers.ingest.loaders import attributes_from_lines, load_portfolio
from portfolio_helpers.reporting import cleaning

TODAY = pd.Timestamp("2026-01-15")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config(folder: Path, tables: dict, **top) -> Path:
    path = folder / "portfolio.yml"
    path.write_text(yaml.safe_dump({"as_of": "2025-12-31", **top, "tables": tables}, sort_keys=False),
                    encoding="utf-8")
    return path


def load(folder: Path, tables: dict, **top):
    return load_portfolio(config(folder, tables, **top), today=TODAY)


def rejected(portfolio) -> list[tuple]:
    rows = portfolio.rejected.sort_values(["line", "column"])
    return list(rows[["line", "column", "reason", "action"]].itertuples(index=False, name=None))


# --------------------------------------------------------------------------- amount = quantity × unit_price


LINES = (
    "Invoice,Customer,Date,Qty,Price,Rebate\n"
    "A1,C1,2025-01-05,3,2.50,\n"         # 7.50
    "A1,C1,2025-01-05,2,10,1.5\n"        # 20 - 1.5 = 18.50
    "A2,C2,2025-02-01,-1,4.00,\n"        # credit: -4.00
    "A3,C2,2025-02-03,,4.00,\n"          # quantity missing: rejected
    "A4,C3,2025-03-01,1,abc,\n"          # price unreadable: rejected
    "A5,C3,2025-03-02,1,5,x\n"           # discount unreadable: rejected (the amount would be wrong)
)
LINE_COLUMNS = {"order_id": "Invoice", "customer_id": "Customer", "date": "Date", "quantity": "Qty",
                "unit_price": "Price", "discount": "Rebate"}


def test_amount_is_quantity_times_unit_price_minus_discount(tmp_path):
    write(tmp_path, "lines.csv", LINES)
    portfolio = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": LINE_COLUMNS}})
    tx = portfolio.transactions
    assert tx["amount"].tolist() == [7.5, 18.5, -4.0]
    assert tx["order_id"].tolist() == ["A1", "A1", "A2"]
    assert tx["unit_price"].tolist() == [2.5, 10.0, 4.0]
    assert portfolio.detected["transactions"]["amount"] == {"derived": "quantity × unit_price − discount"}
    assert rejected(portfolio) == [
        (5, "quantity", "missing value (needed to compute amount)", "row rejected"),
        (6, "unit_price", "not a number (needed to compute amount)", "row rejected"),
        (7, "discount", "not a number (needed to compute amount)", "row rejected"),
    ]
    assert portfolio.n_rejected_rows == 3


def test_amount_without_discount_and_mapped_amount_wins(tmp_path):
    write(tmp_path, "lines.csv", "Customer,Date,Qty,Price,Net\nC1,2025-01-05,3,2.5,99\nC2,2025-01-06,4,0.25,1\n")
    columns = {"customer_id": "Customer", "date": "Date", "quantity": "Qty", "unit_price": "Price"}
    derived = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": columns}})
    assert derived.transactions["amount"].tolist() == [7.5, 1.0]
    given = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": {**columns, "amount": "Net"}}})
    assert given.transactions["amount"].tolist() == [99.0, 1.0]
    assert "amount" not in given.detected["transactions"] or "derived" not in given.detected["transactions"]["amount"]


def test_no_amount_and_no_unit_price_names_the_alternative(tmp_path):
    write(tmp_path, "lines.csv", "Customer,Date,Qty\nC1,2025-01-05,3\n")
    with pytest.raises(InputError, match=r"required column\(s\) amount .*computed from quantity and unit_price"):
        load(tmp_path, {"transactions": {"path": "lines.csv", "columns": {"customer_id": "Customer", "date": "Date"}}})


def test_unit_price_never_readable_is_a_file_error(tmp_path):
    write(tmp_path, "lines.csv", "Customer,Date,Qty,Price\nC1,2025-01-05,3,n/a\nC2,2025-01-05,1,\n")
    columns = {"customer_id": "Customer", "date": "Date", "quantity": "Qty", "unit_price": "Price"}
    with pytest.raises(InputError, match=r"'Price' \(transactions.unit_price \(needed to compute amount\)\) has no"):
        load(tmp_path, {"transactions": {"path": "lines.csv", "columns": columns}})


# --------------------------------------------------------------------------- customer attributes on the lines


ATTRIBUTE_LINES = (
    "Customer,Date,Net,Country,Type\n"
    "C1,2025-01-01,10,France,B2B\n"
    "C1,2025-01-02,10,France,\n"
    "C1,2025-01-03,10,Germany,b2c\n"      # C1: France twice, Germany once -> France; type: B2B vs B2C tie -> latest (B2C)
    "C2,2025-01-05,10,Spain,\n"
    "C2,2025-01-04,10,Italy,\n"           # C2: tie Spain/Italy -> Spain is on the latest date
    "C3,2025-01-04,10,,\n"                # C3: no value at all
    "C4,2025-01-04,10,Belgium,business\n"
    "C4,2025-01-04,10,Netherlands,\n"     # C4: same date: the later line of the file wins
)
ATTRIBUTE_COLUMNS = {"customer_id": "Customer", "date": "Date", "amount": "Net", "country": "Country",
                     "customer_type": "Type"}


def test_attributes_from_lines_most_frequent_then_latest(tmp_path):
    write(tmp_path, "lines.csv", ATTRIBUTE_LINES)
    portfolio = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": ATTRIBUTE_COLUMNS}})
    customers = portfolio.tables["customers"].set_index("customer_id")
    assert customers.index.tolist() == ["C1", "C2", "C3", "C4"]
    assert customers["country"].fillna("-").tolist() == ["France", "Spain", "-", "Netherlands"]
    assert customers["customer_type"].fillna("-").tolist() == ["B2C", "-", "-", "B2B"]
    assert "country" not in portfolio.transactions.columns and "customer_type" not in portfolio.transactions.columns
    assert portfolio.transactions["customer_known"].all()
    summary = portfolio.line_attributes.set_index("attribute")
    assert summary.loc["country"].tolist() == ["Country", 3, 3, 0]
    assert summary.loc["customer_type"].tolist() == ["Type", 2, 2, 0]
    note = cleaning.line_attributes_note(portfolio)
    assert "`country` (column `Country`): 3 customers from their lines" in note
    assert "one was made from the 4 customer ids of the lines" in note


def test_attributes_from_lines_only_where_the_customers_table_gives_none(tmp_path):
    write(tmp_path, "lines.csv", ATTRIBUTE_LINES)
    write(tmp_path, "customers.csv", "Code,Country,Name\nC1,Portugal,Alpha\nC2,,Beta\nC9,Austria,Gamma\n")
    portfolio = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": ATTRIBUTE_COLUMNS},
                                "customers": {"path": "customers.csv", "columns": {"customer_id": "Code"}}})
    customers = portfolio.tables["customers"].set_index("customer_id")
    # C1 keeps the table's Portugal, C2 gets Spain from its lines, C9 has no line; C3/C4 are not added.
    assert customers["country"].to_dict() == {"C1": "Portugal", "C2": "Spain", "C9": "Austria"}
    assert customers["customer_type"].fillna("-").tolist() == ["B2C", "-", "-"]
    summary = portfolio.line_attributes.set_index("attribute")
    assert summary.loc["country"].tolist() == ["Country", 3, 1, 1]
    assert portfolio.transactions.groupby("customer_id")["customer_known"].first().to_dict() == {
        "C1": True, "C2": True, "C3": False, "C4": False}
    assert "used where the customers table gives none" in cleaning.line_attributes_note(portfolio)


def test_attributes_from_lines_directly():
    lines = pd.DataFrame({
        "customer_id": ["A", "A", "B", "B", "B"],
        "date": pd.to_datetime(["2024-03-01", "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-02"]),
        "source_line": [2, 3, 4, 5, 6],
        "owner": pd.array(["Ann", "Bob", "Bob", None, "Ann"], dtype="string"),
        "employees": pd.array([10, 20, 20, 20, 30], dtype="Int64"),
    })
    out = attributes_from_lines(lines, ["owner", "employees"]).set_index("customer_id")
    # A: Ann (2024-03-01) and Bob (2024-01-01) once each -> Ann, the latest; B: Bob once, Ann once (the
    # missing value does not count) -> Ann, on the latest date
    assert out["owner"].tolist() == ["Ann", "Ann"]
    assert out["employees"].tolist() == [10, 20]  # A: tie -> 10 (latest); B: 20 twice beats 30 once
    assert str(out["employees"].dtype) == "Int64"


def _reference_attribute(lines: pd.DataFrame, column: str) -> dict:
    """Plain-Python reference: per customer, the most frequent value; ties: the value of the latest line."""
    out = {}
    for customer, group in lines.groupby("customer_id"):
        rows = sorted((row.date, row.source_line, getattr(row, column)) for row in group.itertuples()
                      if not pd.isna(getattr(row, column)))
        counts: dict = {}
        latest: dict = {}
        for rank, (_, _, value) in enumerate(rows):
            counts[value] = counts.get(value, 0) + 1
            latest[value] = rank
        out[customer] = max(counts, key=lambda v: (counts[v], latest[v])) if counts else None
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 3),
                          st.sampled_from(["FR", "DE", "IT", None])), min_size=1, max_size=30))
def test_attributes_from_lines_match_a_plain_reference(rows):
    lines = pd.DataFrame({
        "customer_id": [r[0] for r in rows],
        "date": pd.Timestamp("2025-01-01") + pd.to_timedelta([r[1] for r in rows], unit="D"),
        "source_line": range(2, len(rows) + 2),
        "country": pd.array([r[2] for r in rows], dtype="string"),
    })
    got = attributes_from_lines(lines, ["country"]).set_index("customer_id")["country"]
    got = {key: (None if pd.isna(value) else value) for key, value in got.items()}
    assert got == _reference_attribute(lines, "country")


def test_customer_attribute_on_lines_is_accepted_by_the_config_and_typed(tmp_path):
    write(tmp_path, "lines.csv", "Customer,Date,Net,Staff\nC1,2025-01-01,10,12\nC1,2025-01-02,10,many\n")
    columns = {"customer_id": "Customer", "date": "Date", "amount": "Net", "employees": "Staff"}
    portfolio = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": columns}})
    assert portfolio.tables["customers"]["employees"].tolist() == [12]
    assert rejected(portfolio) == [(3, "employees", "not a whole number", "value cleared, row kept")]
    with pytest.raises(ConfigError, match="not a column of the transactions table"):
        load_config(config(tmp_path, {"transactions": {"path": "lines.csv", "columns": {"customer_idd": "Customer"}}}))


# --------------------------------------------------------------------------- identifiers


def test_float_ids_join_across_tables_and_are_logged(tmp_path):
    write(tmp_path, "lines.csv",
          "Order,Customer,Date,Net\nSO-1,17450.0,2025-01-05,10\nSO-2,00123,2025-01-06,5\n,17450.00,2025-01-07,1\n"
          "SO-4,99.0,2026-03-01,1\n")  # the last line is after as_of: left out, so not a change to log
    write(tmp_path, "customers.csv", "Code,Name\n17450,Alpha\n00123,Beta\n")
    write(tmp_path, "payments.csv", "Customer,Due,Amount\n17450.0,2025-02-05,10\n")
    path = config(tmp_path, {
        "transactions": {"path": "lines.csv", "columns": {"order_id": "Order", "customer_id": "Customer",
                                                          "date": "Date", "amount": "Net"}},
        "customers": {"path": "customers.csv", "columns": {"customer_id": "Code"}},
        "payments": {"path": "payments.csv", "columns": {"customer_id": "Customer", "due_date": "Due"}},
    })
    portfolio = load_portfolio(path, today=TODAY)
    assert portfolio.transactions["customer_id"].tolist() == ["17450", "00123", "17450"]
    assert portfolio.transactions["customer_known"].all()
    assert portfolio.tables["payments"]["customer_id"].tolist() == ["17450"]
    rewrites = portfolio.id_rewrites
    assert rewrites[["table", "column", "source_line", "old_value", "new_value"]].values.tolist() == [
        ["transactions", "customer_id", 2, "17450.0", "17450"],
        ["transactions", "customer_id", 4, "17450.00", "17450"],
        ["payments", "customer_id", 2, "17450.0", "17450"],
    ]
    changes = clean_portfolio(path, today=TODAY).changes
    logged = changes[changes["rule"] == "id_float"]
    assert logged.groupby(["table", "column"]).size().to_dict() == {("payments", "customer_id"): 1,
                                                                    ("transactions", "customer_id"): 2}
    assert logged["row_key"].tolist() == ["SO-1 line 2", "line 4", "line 2"]


# --------------------------------------------------------------------------- empty optional columns


def test_empty_optional_columns_count_as_absent(tmp_path):
    write(tmp_path, "lines.csv", "Customer,Date,Net,Status,Cost\nC1,2025-01-05,10,,\nC2,2025-01-06,5, ,n/a\n")
    write(tmp_path, "customers.csv", "Code,E-mail,Phone,Name\nC1,,,Alpha\nC2,,,Beta\n")
    portfolio = load(tmp_path, {
        "transactions": {"path": "lines.csv", "columns": {"customer_id": "Customer", "date": "Date",
                                                          "amount": "Net", "status": "Status", "cost": "Cost"}},
        "customers": {"path": "customers.csv", "columns": {"customer_id": "Code", "email": "E-mail"}},
    })
    assert "status" not in portfolio.transactions.columns and "cost" not in portfolio.transactions.columns
    assert {"email", "phone"}.isdisjoint(portfolio.tables["customers"].columns)
    assert portfolio.tables["customers"]["name"].tolist() == ["Alpha", "Beta"]
    assert portfolio.empty_columns.values.tolist() == [
        ["transactions", "cost", "Cost"], ["transactions", "status", "Status"],
        ["customers", "email", "E-mail"], ["customers", "phone", "Phone"]]
    assert portfolio.rejected.empty
    note = cleaning.empty_columns_note(portfolio)
    assert "- Column `email` of the customers table (`E-mail` in the file) is empty: treated as absent." in note
    assert note.count("treated as absent") == 4


# --------------------------------------------------------------------------- one column mapped twice


def test_one_file_column_mapped_twice_is_a_warning(tmp_path):
    write(tmp_path, "lines.csv", "Customer,Date,Net\nC1,2025-01-05,10\n")
    columns = {"customer_id": "Customer", "date": "Date", "amount": "Net", "cost": "net"}
    portfolio = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": columns}})
    assert portfolio.transactions["cost"].tolist() == [10.0]
    assert len(portfolio.warnings) == 1
    assert portfolio.warnings[0].startswith("transactions: Column 'Net' of lines.csv is mapped to "
                                            "transactions.amount and transactions.cost")
    shown = cleaning.load_warnings(portfolio)
    assert shown.startswith("**Check the config:**") and "gross margin is 0" in shown
    other = load(tmp_path, {"transactions": {"path": "lines.csv", "columns": {
        "customer_id": "Customer", "date": "Date", "amount": "Net", "product_id": "Customer"}}})
    assert other.warnings == ["transactions: Column 'Customer' of lines.csv is mapped to transactions.customer_id "
                              "and transactions.product_id: they hold the same values. Check the `columns:` section "
                              "of the config."]


def test_no_warning_without_a_double_mapping(tmp_path):
    write(tmp_path, "lines.csv", "customer_id,date,amount\nC1,2025-01-05,10\n")
    portfolio = load(tmp_path, {"transactions": {"path": "lines.csv"}})
    assert portfolio.warnings == [] and cleaning.load_warnings(portfolio) == ""


# --------------------------------------------------------------------------- binary file named .csv


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 40


@pytest.mark.parametrize(("content", "kind"), [(PNG, "a PNG image"), (b"a,b\n\x00\x01\x02,3\n", "binary content"),
                                               (b"PK\x03\x04\x14\x00" + b"\x00" * 30, "a zip archive")])
def test_binary_file_named_csv_is_not_a_text_file(tmp_path, content, kind):
    (tmp_path / "lines.csv").write_bytes(content)
    with pytest.raises(InputError) as info:
        load(tmp_path, {"transactions": {"path": "lines.csv"}})
    message = str(info.value)
    assert str(tmp_path / "lines.csv") in message and f"not a text file ({kind}" in message
    assert "separator" not in message


def test_utf16_text_with_bom_is_still_read(tmp_path):
    (tmp_path / "lines.csv").write_bytes("customer_id;date;amount\nC1;05/01/2025;10,5\n".encode("utf-16"))
    assert load(tmp_path, {"transactions": {"path": "lines.csv"}}).transactions["amount"].tolist() == [10.5]


# --------------------------------------------------------------------------- answer key


TRUTH = {"customers": [], "duplicate_groups": [], "defects": [], "leads": []}


def test_answer_key_named_in_the_config(tmp_path):
    write(tmp_path, "lines.csv", "customer_id,date,amount\nC1,2025-01-05,10\n")
    write(tmp_path, "key.json", json.dumps(TRUTH))
    path = config(tmp_path, {"transactions": {"path": "lines.csv"}}, answer_key="key.json")
    assert load_config(path).answer_key == (tmp_path / "key.json").resolve()
    assert cleaning.truth_file(path) == (tmp_path / "key.json").resolve()


def test_truth_json_beside_a_config_that_does_not_name_it_is_ignored(tmp_path):
    write(tmp_path, "lines.csv", "customer_id,date,amount\nC1,2025-01-05,10\n")
    write(tmp_path, "truth.json", json.dumps({"format": "something else", "rows": [1, 2]}))
    path = config(tmp_path, {"transactions": {"path": "lines.csv"}})
    assert load_config(path).answer_key is None
    assert cleaning.truth_file(path) is None
    assert load_portfolio(path, today=TODAY).transactions["amount"].tolist() == [10.0]


@pytest.mark.parametrize(("content", "fragment"), [
    ("{not json", "is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    ("[1, 2]", "expected a JSON object, found list"),
    (json.dumps({"customers": [], "defects": {}}), "'duplicate_groups', 'defects', 'leads' missing or not a list"),
])
def test_answer_key_that_does_not_parse_is_a_config_error(tmp_path, content, fragment):
    write(tmp_path, "lines.csv", "customer_id,date,amount\nC1,2025-01-05,10\n")
    write(tmp_path, "truth.json", content)
    path = config(tmp_path, {"transactions": {"path": "lines.csv"}}, answer_key="truth.json")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: answer_key: ") and fragment in str(info.value)


def test_answer_key_missing_file_is_a_config_error(tmp_path):
    write(tmp_path, "lines.csv", "customer_id,date,amount\nC1,2025-01-05,10\n")
    path = config(tmp_path, {"transactions": {"path": "lines.csv"}}, answer_key="truth.json")
    with pytest.raises(ConfigError, match="answer_key: file not found"):
        load_config(path)


def test_cli_exits_2_with_one_message_on_a_broken_answer_key(tmp_path, capsys):
    from portfolio_helpers.app.cli import main

    write(tmp_path, "lines.csv", "customer_id,date,amount\nC1,2025-01-05,10\n")
    write(tmp_path, "truth.json", "{broken")
    path = config(tmp_path, {"transactions": {"path": "lines.csv"}}, answer_key="truth.json")
    assert main(["report", "--config", str(path), "--out", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "answer_key" in err and "not valid JSON" in err


def test_report_ignores_an_unnamed_truth_json(tmp_path):
    """The issue's case: a truth.json of another format beside a config that does not name it crashed notebook 01."""
    from portfolio_helpers.app.cli import main
    from portfolio_helpers.app.sample_data import write_demo_data

    folder = write_demo_data(tmp_path / "sample", n_customers=120, seed=5, dirty=True)
    named = (folder / "portfolio.yml").read_text(encoding="utf-8")
    assert "\nanswer_key: truth.json\n" in named
    (folder / "portfolio.yml").write_text(named.replace("\nanswer_key: truth.json\n", "\n"), encoding="utf-8")
    (folder / "truth.json").write_text(json.dumps({"format": "another tool's", "items": [1, 2, 3]}), encoding="utf-8")
    out = tmp_path / "reports"
    assert main(["report", "--config", str(folder / "portfolio.yml"), "--out", str(out), "--only", "01"]) == 0
    html = (out / "latest" / "01_data_cleaning.html").read_text(encoding="utf-8")
    assert "How well did it do?" not in html  # no answer key named: no scoring against one

