"""Loading real-world exports: formats, detection, file-level errors and row-level problems."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from portfolio_helpers.core.config import TableSource, load_config
from portfolio_helpers.core.errors import ConfigError, InputError, RowProblemsError
from portfolio_helpers.ingest.loaders import (
    REJECTED_COLUMNS,
    load_portfolio,
    load_table,
    read_saved_tables,
    save_portfolio,
)

TODAY = pd.Timestamp("2026-01-15")
TS = pd.Timestamp


def write_config(folder: Path, tables: dict, **top) -> Path:
    path = folder / "portfolio.yml"
    path.write_text(yaml.safe_dump({**top, "tables": tables}, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


def load(folder: Path, tables: dict, **kwargs):
    top = {key: kwargs.pop(key) for key in ("as_of", "name", "currency") if key in kwargs}
    return load_portfolio(write_config(folder, tables, **top), today=kwargs.pop("today", TODAY), **kwargs)


def load_one(path: Path, read: dict | None = None, columns: dict | None = None, table: str = "transactions"):
    return load_table(TableSource(table, path, read or {}, columns or {}))


def input_error(path: Path, *fragments: str, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load_one(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rejected_records(portfolio, *columns: str) -> list[tuple]:
    columns = columns or ("line", "column", "value", "reason", "action")
    frame = portfolio.rejected.sort_values(["line", "column"])
    return [tuple(row) for row in frame[list(columns)].itertuples(index=False)]


# --------------------------------------------------------------------------- formats


FRENCH_EXPORT = (
    "N° client;Date facture;Montant HT;Statut;Libellé\r\n"
    "0042;15/01/2024;1\u00a0234,50 €;Livrée;Première commande\r\n"
    "0043;31/01/2024 14:30;99,00 €;Annulée;Remise élevée\r\n"
    "0042;01/02/2024;-12,50 €;Retourné;Avoir\r\n"
    "0044;28/02/2024 09:05;2\u00a0000 €;;\r\n"
    "\r\n"
    "\r\n"
)
FRENCH_COLUMNS = {"customer_id": "N° client", "date": "Date facture", "amount": "Montant HT", "status": "Statut"}


def test_french_cp1252_semicolon_export(tmp_path):
    raw = FRENCH_EXPORT.encode("cp1252")
    assert b"\x80" in raw and b"\xa0" in raw and b"\r\n" in raw  # euro sign, NBSP, CRLF as cp1252 bytes
    (tmp_path / "factures.csv").write_bytes(raw)
    portfolio = load(tmp_path, {"transactions": {"path": "factures.csv", "columns": FRENCH_COLUMNS}})
    tx = portfolio.transactions

    assert tx["customer_id"].tolist() == ["0042", "0043", "0042", "0044"]
    assert isinstance(tx["customer_id"].dtype, pd.StringDtype)
    assert tx["date"].dtype == "datetime64[ns]"
    assert tx["date"].tolist() == [TS("2024-01-15"), TS("2024-01-31 14:30"), TS("2024-02-01"),
                                   TS("2024-02-28 09:05")]
    assert tx["amount"].dtype == "float64"
    assert tx["amount"].tolist() == [1234.5, 99.0, -12.5, 2000.0]
    assert tx["status"].tolist()[:3] == ["completed", "cancelled", "returned"]
    assert pd.isna(tx["status"].iloc[3])
    # unmapped columns of the file are kept as text, under a snake_case name
    assert tx["libelle"].tolist()[:3] == ["Première commande", "Remise élevée", "Avoir"]
    assert tx["source_line"].tolist() == [2, 3, 4, 5]
    assert portfolio.rejected.empty
    assert list(portfolio.rejected.columns) == REJECTED_COLUMNS
    assert portfolio.n_rejected_rows == 0

    info = portfolio.detected["transactions"]
    assert info["format"] == "csv"
    assert info["encoding"] == "cp1252"
    assert info["sep"] == ";"
    assert info["amount"]["decimal"] == ","
    assert info["date"]["dayfirst"] is True
    assert "dayfirst_assumed" not in info["date"]
    assert info["columns"]["customer_id"] == "N° client"
    assert portfolio.inputs == [{"table": "transactions", "path": str((tmp_path / "factures.csv").resolve()),
                                 "sha256": sha256(tmp_path / "factures.csv"), "rows": 4}]
    assert portfolio.as_of == TS("2024-02-28")


def test_utf8_bom_comma(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes("\ufeffcustomer_id,date,amount,channel\nC1,2024-01-05,\"1,234.50\",web\nC2,2024-01-06,7,"
                     "magasin é\n".encode())
    typed, rejected, info, n_rows = load_one(path)
    assert info["encoding"] == "utf-8-sig"
    assert info["sep"] == ","
    assert typed["customer_id"].tolist() == ["C1", "C2"]  # no BOM glued to the first header
    assert typed["amount"].tolist() == [1234.5, 7.0]
    assert typed["channel"].tolist() == ["web", "magasin é"]
    assert n_rows == 2 and rejected.empty


def test_tab_separated_tsv(tmp_path):
    path = tmp_path / "tx.tsv"
    path.write_text("customer_id\tdate\tamount\nC1\t2024-01-05\t10,5\nC2\t06/01/2024\t3\n", encoding="utf-8")
    typed, rejected, info, _ = load_one(path)
    assert info["sep"] == "tab"
    assert typed["date"].tolist() == [TS("2024-01-05"), TS("2024-01-06")]
    assert typed["amount"].tolist() == [10.5, 3.0]


def test_pipe_separated(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id|date|amount\nC1|2024-01-05|10.5\nC2|2024-01-06|3\n", encoding="utf-8")
    typed, _, info, _ = load_one(path)
    assert info["sep"] == "|"
    assert typed["amount"].tolist() == [10.5, 3.0]


def test_declared_separator_wins(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id;date;amount\nC1;2024-01-05;10,5\n", encoding="utf-8")
    typed, _, info, _ = load_one(path, read={"sep": ";", "decimal": ","})
    assert typed["amount"].tolist() == [10.5]
    assert info["amount"]["decimal"] == ","


def test_semicolon_file_reads_lone_commas_as_decimals(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id;date;amount\nC1;2024-01-05;1,234\nC2;2024-01-06;5,678\n", encoding="utf-8")
    typed, _, _, _ = load_one(path)
    assert typed["amount"].tolist() == [1.234, 5.678]


def test_whitespace_separated_cdnow_log(tmp_path):
    path = tmp_path / "CDNOW_master.txt"
    path.write_bytes(b" customer_id  date number_of_cds  dollar_value\r\n"
                     b" 00001 19970101  1   11.77\r\n"
                     b" 00002 19970112  1   12.00\r\n"
                     b" 00002 19970112  5   77.00\r\n"
                     b" 00003 19970102  2   20.76\r\n")
    portfolio = load(tmp_path, {"transactions": {
        "path": path.name, "columns": {"customer_id": "customer_id", "date": "date", "amount": "dollar_value",
                                       "quantity": "number_of_cds"}}}, as_of="1998-06-30")
    tx = portfolio.transactions
    assert portfolio.detected["transactions"]["sep"] == "spaces"
    assert tx["customer_id"].tolist() == ["00001", "00002", "00002", "00003"]
    assert tx["date"].tolist() == [TS("1997-01-01"), TS("1997-01-12"), TS("1997-01-12"), TS("1997-01-02")]
    assert tx["amount"].tolist() == [11.77, 12.0, 77.0, 20.76]
    assert tx["quantity"].tolist() == [1.0, 1.0, 5.0, 2.0]
    assert portfolio.as_of == TS("1998-06-30")
    assert portfolio.n_rejected_rows == 0


def _workbook(path: Path) -> None:
    notes = pd.DataFrame({"Remarque": ["Export du 15/01/2026", "ne pas modifier"]})
    sales = pd.DataFrame({
        "Customer ID": [1001, 1002, 1003, 1004],
        " Date ": [dt.datetime(2024, 1, 5), dt.datetime(2024, 2, 5, 13, 30), dt.datetime(2024, 3, 1), "07/03/2024"],
        "AMOUNT": [10.5, 20.0, "1 234,50", 4],
        "Order ID": ["F-1", "F-2", "F-3", "F-3"],
    })
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        notes.to_excel(writer, sheet_name="Notes", index=False)
        sales.to_excel(writer, sheet_name="Ventes", index=False)


@pytest.mark.parametrize("sheet", ["Ventes", 1])
def test_excel_second_sheet(tmp_path, sheet):
    path = tmp_path / "ventes.xlsx"
    _workbook(path)
    portfolio = load(tmp_path, {"transactions": {"path": path.name, "read": {"sheet": sheet}}})
    tx = portfolio.transactions
    assert tx["customer_id"].tolist() == ["1001", "1002", "1003", "1004"]  # not "1001.0"
    assert isinstance(tx["customer_id"].dtype, pd.StringDtype)
    assert tx["date"].dtype == "datetime64[ns]"
    assert tx["date"].tolist() == [TS("2024-01-05"), TS("2024-02-05 13:30"), TS("2024-03-01"), TS("2024-03-07")]
    assert tx["amount"].tolist() == [10.5, 20.0, 1234.5, 4.0]
    assert tx["order_id"].tolist() == ["F-1", "F-2", "F-3", "F-3"]
    assert tx["source_line"].tolist() == [2, 3, 4, 5]
    info = portfolio.detected["transactions"]
    assert info["format"] == "excel"
    # canonical names matched case- and space-insensitively
    assert info["columns"] == {"customer_id": "Customer ID", "date": "Date", "amount": "AMOUNT",
                               "order_id": "Order ID"}


def test_excel_first_sheet_by_default_and_unknown_sheet(tmp_path):
    path = tmp_path / "ventes.xlsx"
    _workbook(path)
    input_error(path, "required column(s) customer_id, date, amount", "'Remarque'")
    input_error(path, "cannot read the Excel file", "Nope", read={"sheet": "Nope"})


def test_excel_rows_keep_sheet_line_numbers(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Rapport des ventes"])
    sheet.append([])
    sheet.append(["customer_id", "date", "amount"])
    sheet.append([1, dt.datetime(2024, 1, 1), 5])
    sheet.append([None, None, None])
    sheet.append([2, "pas une date", 5])
    sheet.append([3, dt.datetime(2024, 1, 2), "x"])
    path = tmp_path / "report.xlsx"
    workbook.save(path)
    typed, rejected, _, n_rows = load_one(path, read={"skiprows": 2})
    assert typed["source_line"].tolist() == [4]
    assert sorted(zip(rejected["line"], rejected["column"], strict=True)) == [(6, "date"), (7, "amount")]
    assert n_rows == 3


def test_corrupt_excel(tmp_path):
    path = tmp_path / "broken.xlsx"
    _workbook(path)
    path.write_bytes(path.read_bytes()[:200])
    input_error(path, "cannot read the Excel file")


def test_parquet(tmp_path):
    path = tmp_path / "tx.parquet"
    pd.DataFrame({
        "Customer ID": pd.array(["A1", "A2", "A3"], dtype="string"),
        "date": pd.to_datetime(["2024-01-01 10:00", "2024-02-01 00:00", "2024-03-01 00:00"]),
        "amount": [1.5, -2.0, 3.25],
        "quantity": pd.array([1, None, 3], dtype="Int64"),
    }).to_parquet(path)
    portfolio = load(tmp_path, {"transactions": path.name})
    # Typed transactions stay in the engine (tests/ingest/test_typed.py); read here only to check the values.
    tx = portfolio.transactions.to_pandas().sort_values("customer_id", ignore_index=True)
    assert portfolio.detected["transactions"]["format"] == "parquet"
    assert tx["customer_id"].tolist() == ["A1", "A2", "A3"]
    assert tx["date"].tolist() == [TS("2024-01-01 10:00"), TS("2024-02-01"), TS("2024-03-01")]
    assert tx["amount"].tolist() == [1.5, -2.0, 3.25]
    assert tx["quantity"].isna().tolist() == [False, True, False]
    assert "source_line" not in tx  # an engine table has no row order
    assert portfolio.inputs[0]["rows"] == 3


def test_parquet_with_text_columns(tmp_path):
    path = tmp_path / "tx.parquet"
    pd.DataFrame({"customer_id": [1, 2], "date": ["2024-01-01", "05/02/2024"],
                  "amount": ["1,5", "2,5"]}).to_parquet(path)
    typed, _, _, _ = load_one(path)
    assert typed["customer_id"].tolist() == ["1", "2"]
    assert typed["date"].tolist() == [TS("2024-01-01"), TS("2024-02-05")]
    assert typed["amount"].tolist() == [1.5, 2.5]


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "tx.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    input_error(path, "cannot read the Parquet file")


def test_unmapped_columns_match_case_and_space_insensitively(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("Customer ID,DATE, Amount ,ORDER-ID\nC1,2024-01-05,5,O1\n", encoding="utf-8")
    typed, _, info, _ = load_one(path)
    assert info["columns"] == {"customer_id": "Customer ID", "date": "DATE", "amount": "Amount",
                               "order_id": "ORDER-ID"}
    assert typed["order_id"].tolist() == ["O1"]


def test_mapping_matches_source_names_loosely(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("N° Client,Date Facture,MONTANT\nC1,2024-01-05,5\n", encoding="utf-8")
    typed, _, info, _ = load_one(path, columns={"customer_id": "n° client", "date": "date facture",
                                                "amount": "Montant"})
    assert info["columns"] == {"customer_id": "N° Client", "date": "Date Facture", "amount": "MONTANT"}
    assert typed["amount"].tolist() == [5.0]


def test_skiprows_and_blank_lines_above_the_header(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("Export CRM\ngénéré le 15/01/2026\n\n\ncustomer_id;date;amount\nC1;2024-01-05;5\n"
                    "C2;pas une date;6\n", encoding="utf-8")
    typed, rejected, _, _ = load_one(path, read={"skiprows": 2})
    assert typed["source_line"].tolist() == [6]
    assert rejected["line"].tolist() == [7]


def test_blank_lines_above_the_header_without_skiprows(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("\n\n  \ncustomer_id,date,amount\nC1,2024-01-05,5\nC2,bad,6\n", encoding="utf-8")
    typed, rejected, _, n_rows = load_one(path)
    assert typed["customer_id"].tolist() == ["C1"]
    assert typed["source_line"].tolist() == [5]
    assert rejected["line"].tolist() == [6]
    assert n_rows == 2


def test_multi_character_separator(tmp_path):
    path = tmp_path / "tx.txt"
    path.write_text("customer_id::date::amount\nC1::2024-01-05::5\n", encoding="utf-8")
    typed, _, _, _ = load_one(path, read={"sep": "::"})
    assert typed["amount"].tolist() == [5.0]


# --------------------------------------------------------------------------- file-level errors


def test_empty_file(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes(b"")
    input_error(path, "empty", "0 bytes")


def test_whitespace_only_file(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("  \n\n\t\r\n \n", encoding="utf-8")
    input_error(path, "empty")


def test_header_without_rows(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n\n\n", encoding="utf-8")
    input_error(path, "header but no data rows", "'customer_id', 'date', 'amount'")


def test_mapped_column_absent_lists_columns_present(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("client;jour;montant\nC1;2024-01-05;5\n", encoding="utf-8")
    input_error(path, "column 'Montant HT'", "transactions.amount", "Columns in the file: 'client', 'jour', 'montant'",
                columns={"customer_id": "client", "date": "jour", "amount": "Montant HT"})


def test_required_column_not_found(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("client,date,amount\nC1,2024-01-05,5\n", encoding="utf-8")
    message = input_error(path, "required column(s) customer_id", "Columns in the file: 'client', 'date', 'amount'")
    assert "columns: {customer_id:" in message


def test_required_column_without_any_readable_value(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\nC1,2024-01-05,abc\nC2,2024-01-06,xyz\nC3,2024-01-07,\n",
                    encoding="utf-8")
    input_error(path, "column 'amount'", "transactions.amount", "no readable number value", "'abc'", "'xyz'")


def test_required_date_column_all_empty(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\nC1,,1\nC2,N/A,2\n", encoding="utf-8")
    input_error(path, "column 'date'", "no readable date value", "all empty")


def test_wrong_declared_encoding(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes("customer_id;date;amount;name\nC1;2024-01-05;5;ok\nC2;2024-01-06;6;Société\n".encode("cp1252"))
    input_error(path, "cannot be read as utf-8", "line 3", "cp1252", "encoding: cp1252", read={"encoding": "utf-8"})
    # and autodetection reads it
    typed, _, info, _ = load_one(path)
    assert info["encoding"] == "cp1252"
    assert typed["name"].tolist() == ["ok", "Société"]


def test_wrong_declared_encoding_through_the_config(tmp_path):
    (tmp_path / "tx.csv").write_bytes("customer_id;date;amount\nC1;2024-01-05;5 €\n".encode("cp1252"))
    with pytest.raises(InputError) as info:
        load(tmp_path, {"transactions": {"path": "tx.csv", "read": {"encoding": "utf-8"}}})
    assert str((tmp_path / "tx.csv").resolve()) in str(info.value)
    assert "line 2" in str(info.value) and "cp1252" in str(info.value)


@pytest.mark.parametrize("name", ["tx.json", "tx.ods", "tx"])
def test_unsupported_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("{}", encoding="utf-8")
    input_error(path, "unsupported file type")


def test_old_xls(tmp_path):
    path = tmp_path / "tx.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 old workbook")
    input_error(path, ".xls", "not supported", "xlsx")


def test_inconsistent_field_counts(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\nC1,2024-01-05,5\nC2,2024-01-06,6\nC3,2024-01-07,7,extra\n",
                    encoding="utf-8")
    input_error(path, "consistent number of fields", "line 4", "','")


def test_unterminated_quote(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text('customer_id,date,amount\nC1,2024-01-05,5\nC2,2024-01-06,"6\n', encoding="utf-8")
    input_error(path, "consistent number of fields")


def test_file_errors_through_load_portfolio_name_the_file(tmp_path):
    (tmp_path / "tx.csv").write_bytes(b"")
    with pytest.raises(InputError, match="0 bytes") as info:
        load(tmp_path, {"transactions": "tx.csv"})
    assert str((tmp_path / "tx.csv").resolve()) in str(info.value)


def test_config_errors_come_first(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2024-01-05,5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'transactions'"):
        load(tmp_path, {"transaction": "tx.csv"})


# --------------------------------------------------------------------------- row-level problems

ROWS = (
    "customer_id,date,amount,status,channel\n"   # 1
    "C1,2024-01-05,10,done,web\n"                  # 2
    "\n"                                           # 3
    "C2,not a date,20,done,web\n"                  # 4
    'C3,2024-01-06,"12,5x",done,store\n'           # 5
    'C4,2024-01-07,30,done,"field\n'               # 6
    'sales"\n'                                     # 7
    "C5,31/02/2024,40,done,web\n"                  # 8
    "C6,2024-01-08,50,weird,web\n"                 # 9
    "\n"                                           # 10
    ",2024-01-09,60,done,web\n"                    # 11
    "C7,2024-01-09,-70,Annulée,web\n"              # 12
    "\n"                                           # 13
)


@pytest.fixture
def messy(tmp_path) -> Path:
    (tmp_path / "tx.csv").write_text(ROWS, encoding="utf-8")
    return tmp_path


def test_row_problems_are_set_aside_with_exact_lines(messy):
    portfolio = load(messy, {"transactions": "tx.csv"})
    tx = portfolio.transactions
    assert tx["customer_id"].tolist() == ["C1", "C4", "C6", "C7"]
    assert tx["source_line"].tolist() == [2, 6, 9, 12]
    assert tx["channel"].tolist() == ["web", "field\nsales", "web", "web"]
    assert pd.isna(tx.loc[tx["customer_id"] == "C6", "status"]).all()
    assert tx.loc[tx["customer_id"] == "C7", "status"].tolist() == ["cancelled"]

    assert rejected_records(portfolio) == [
        (4, "date", "not a date", "not a valid date", "row rejected"),
        (5, "amount", "12,5x", "not a number", "row rejected"),
        (8, "date", "31/02/2024", "not a valid date", "row rejected"),
        (9, "status", "weird", "unknown value (expected one of: completed, cancelled, returned, modified)",
         "value cleared, row kept"),
        (11, "customer_id", "", "missing required value", "row rejected"),
    ]
    file = str((messy / "tx.csv").resolve())
    assert set(portfolio.rejected["file"]) == {file}
    assert set(portfolio.rejected["table"]) == {"transactions"}
    assert portfolio.rejected["line"].dtype == "int64"
    assert portfolio.n_rejected_rows == 4
    assert portfolio.inputs[0]["rows"] == 8


def test_n_rejected_rows_counts_rows_not_problems(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2024-01-05,5\nC2,bad,bad\nC3,,x\n",
                                     encoding="utf-8")
    portfolio = load(tmp_path, {"transactions": "tx.csv"})
    assert len(portfolio.rejected) == 4
    assert portfolio.n_rejected_rows == 2
    assert sorted(portfolio.rejected["line"]) == [3, 3, 4, 4]


def test_bad_optional_number_is_cleared(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount,quantity,cost\nC1,2024-01-05,5,2,1\n"
                                     "C2,2024-01-06,6,lots,abc\nC3,2024-01-07,7,1.5,2\n", encoding="utf-8")
    portfolio = load(tmp_path, {"transactions": "tx.csv"})
    tx = portfolio.transactions
    assert tx["customer_id"].tolist() == ["C1", "C2", "C3"]
    assert tx["quantity"].isna().tolist() == [False, True, False]
    assert tx["cost"].isna().tolist() == [False, True, False]
    assert rejected_records(portfolio, "line", "column", "value", "action") == [
        (3, "cost", "abc", "value cleared, row kept"),
        (3, "quantity", "lots", "value cleared, row kept"),
    ]
    assert portfolio.n_rejected_rows == 0


def test_integer_columns_reject_fractions(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2024-01-05,5\n", encoding="utf-8")
    (tmp_path / "cu.csv").write_text("customer_id,employees,birth_year\nC1,12,1980\nC2,2.5,1975\n",
                                     encoding="utf-8")
    portfolio = load(tmp_path, {"transactions": "tx.csv", "customers": "cu.csv"})
    customers = portfolio.tables["customers"]
    assert str(customers["employees"].dtype) == "Int64"
    assert customers["employees"].tolist()[0] == 12 and pd.isna(customers["employees"].iloc[1])
    assert customers["birth_year"].tolist() == [1980, 1975]
    assert rejected_records(portfolio, "line", "column", "reason", "action") == [
        (3, "employees", "not a whole number", "value cleared, row kept")]


def test_strict_raises_with_file_column_lines_and_examples(messy):
    with pytest.raises(RowProblemsError) as info:
        load(messy, {"transactions": "tx.csv"}, strict=True)
    message = str(info.value)
    assert isinstance(info.value, InputError)
    assert "--strict" in message
    assert "tx.csv: column date: not a valid date: 2 row(s) (lines 4, 8; examples ['not a date', '31/02/2024'])" \
        in message
    assert "tx.csv: column amount: not a number: 1 row(s) (lines 5; examples ['12,5x'])" in message
    assert "column status" in message and "lines 9" in message and "'weird'" in message


def test_strict_without_problems_loads(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2024-01-05,5\n", encoding="utf-8")
    portfolio = load(tmp_path, {"transactions": "tx.csv"}, strict=True)
    assert len(portfolio.transactions) == 1


def test_strict_lists_at_most_five_lines(tmp_path):
    body = "".join(f"C{i},bad{i},1\n" for i in range(8))
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC0,2024-01-05,1\n" + body, encoding="utf-8")
    with pytest.raises(RowProblemsError) as info:
        load(tmp_path, {"transactions": "tx.csv"}, strict=True)
    assert "8 row(s) (lines 3, 4, 5, 6, 7, ...;" in str(info.value)


DATED = (
    "customer_id,date,amount\n"
    "C1,2024-06-01,10\n"       # 2
    "C2,2025-12-31 18:00,20\n"  # 3
    "C1,2026-01-15,30\n"       # 4 today
    "C3,2026-03-01,40\n"       # 5 future
    "C2,2031-01-01,50\n"       # 6 typo far in the future
)


def test_as_of_rejects_later_transactions(tmp_path):
    (tmp_path / "tx.csv").write_text(DATED, encoding="utf-8")
    portfolio = load(tmp_path, {"transactions": "tx.csv"}, as_of="2025-12-31")
    assert portfolio.as_of == TS("2025-12-31")
    # a transaction during the as_of day is kept
    assert portfolio.transactions["source_line"].tolist() == [2, 3]
    assert rejected_records(portfolio, "line", "column", "value", "reason", "action") == [
        (4, "date", "2026-01-15", "dated after the analysis date as_of=2025-12-31", "row rejected"),
        (5, "date", "2026-03-01", "dated after the analysis date as_of=2025-12-31", "row rejected"),
        (6, "date", "2031-01-01", "dated after the analysis date as_of=2025-12-31", "row rejected"),
    ]
    assert portfolio.n_rejected_rows == 3


def test_default_as_of_is_the_last_date_not_in_the_future(tmp_path):
    (tmp_path / "tx.csv").write_text(DATED, encoding="utf-8")
    portfolio = load(tmp_path, {"transactions": "tx.csv"}, today=TS("2026-01-15 09:30"))
    assert portfolio.as_of == TS("2026-01-15")
    assert portfolio.transactions["source_line"].tolist() == [2, 3, 4]
    assert rejected_records(portfolio, "line", "reason") == [
        (5, "date in the future (after today, 2026-01-15)"),
        (6, "date in the future (after today, 2026-01-15)"),
    ]
    earlier = load(tmp_path, {"transactions": "tx.csv"}, today=TS("2026-01-10"))
    assert earlier.as_of == TS("2025-12-31")
    assert earlier.transactions["source_line"].tolist() == [2, 3]
    assert earlier.n_rejected_rows == 3


def test_every_transaction_in_the_future(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2030-01-01,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="every transaction is dated after today") as info:
        load(tmp_path, {"transactions": "tx.csv"})
    assert "as_of" in str(info.value) and str((tmp_path / "tx.csv").resolve()) in str(info.value)


def test_nothing_left_before_as_of(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2025-01-01,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="no transaction is left"):
        load(tmp_path, {"transactions": "tx.csv"}, as_of="2024-01-01")


@pytest.mark.parametrize("as_of", [None, "2024-06-01"])
def test_every_row_rejected_says_so(tmp_path, as_of):
    # each required column has a readable value somewhere, yet no row is complete
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\n,2024-01-01,5\nC2,bad,6\nC3,2024-01-01,\n",
                                     encoding="utf-8")
    kwargs = {"as_of": as_of} if as_of else {}
    with pytest.raises(InputError) as info:
        load(tmp_path, {"transactions": "tx.csv"}, **kwargs)
    message = str(info.value)
    assert str((tmp_path / "tx.csv").resolve()) in message
    assert "every transaction row was rejected" in message
    assert "dated after" not in message
    assert "column date: not a valid date: 1 row(s) (lines 3; examples ['bad'])" in message
    assert "column customer_id: missing required value" in message and "lines 2" in message


def test_unknown_customers_are_kept_and_flagged(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\n1001,2024-01-05,5\n9999,2024-01-06,6\n"
                                     "1002,2024-01-07,7\n", encoding="utf-8")
    customers = pd.DataFrame({"Customer ID": [1001, 1002, None, 1003], "Name": ["Acme", "Beta", "Ghost", "Gamma"],
                              "Type": ["Entreprise", "particulier", "B2B", "alien"]})
    customers.to_excel(tmp_path / "clients.xlsx", index=False)
    portfolio = load(tmp_path, {"transactions": "tx.csv", "customers": {
        "path": "clients.xlsx", "columns": {"name": "Name", "customer_type": "Type"}}})
    tx = portfolio.transactions
    assert tx["customer_id"].tolist() == ["1001", "9999", "1002"]
    assert tx["customer_known"].tolist() == [True, False, True]
    assert tx["amount"].sum() == 18.0
    cu = portfolio.tables["customers"]
    assert cu["customer_id"].tolist() == ["1001", "1002", "1003"]
    assert cu["customer_type"].tolist()[:2] == ["B2B", "B2C"] and pd.isna(cu["customer_type"].iloc[2])
    assert rejected_records(portfolio, "line", "column", "reason", "action") == [
        (4, "customer_id", "missing required value", "row rejected"),
        (5, "customer_type", "unknown value (expected one of: B2B, B2C)", "value cleared, row kept"),
    ]
    assert set(portfolio.rejected["table"]) == {"customers"}
    assert portfolio.n_rejected_rows == 1


def test_no_customers_table_means_no_flag(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2024-01-05,5\n", encoding="utf-8")
    assert "customer_known" not in load(tmp_path, {"transactions": "tx.csv"}).transactions


def test_inputs_are_untouched_and_fingerprinted(tmp_path, messy):
    (messy / "clients.csv").write_bytes("customer_id;nom\r\nC1;Société\r\n".encode("cp1252"))
    _workbook(messy / "extra.xlsx")
    pd.DataFrame({"customer_id": ["C1"], "date": ["2024-01-01"], "minutes": [5]}).to_parquet(messy / "t.parquet")
    files = ["tx.csv", "clients.csv", "extra.xlsx", "t.parquet"]
    before = {name: sha256(messy / name) for name in files}
    mtimes = {name: (messy / name).stat().st_mtime_ns for name in files}
    portfolio = load(messy, {"transactions": "tx.csv", "customers": "clients.csv", "tickets": "t.parquet",
                             "payments": {"path": "extra.xlsx", "read": {"sheet": "Ventes"},
                                          "columns": {"due_date": "Date", "amount": "AMOUNT"}}})
    after = {name: sha256(messy / name) for name in files}
    assert after == before
    assert {name: (messy / name).stat().st_mtime_ns for name in files} == mtimes
    assert [(i["table"], Path(i["path"]).name, i["sha256"], i["rows"]) for i in portfolio.inputs] == [
        ("transactions", "tx.csv", before["tx.csv"], 8),
        ("customers", "clients.csv", before["clients.csv"], 1),
        ("payments", "extra.xlsx", before["extra.xlsx"], 4),
        ("tickets", "t.parquet", before["t.parquet"], 1),
    ]
    assert all(Path(i["path"]).is_absolute() for i in portfolio.inputs)
    assert sorted(p.name for p in messy.iterdir()) == sorted([*files, "portfolio.yml"])


def test_load_portfolio_accepts_a_config_object(messy):
    config = load_config(write_config(messy, {"transactions": "tx.csv"}))
    portfolio = load_portfolio(config, today=TODAY)
    assert portfolio.config is config
    assert len(portfolio.transactions) == 4


# --------------------------------------------------------------------------- hand-over


def test_save_and_read_back(tmp_path, messy):
    (messy / "clients.csv").write_text("customer_id,name,country\nC1,Acme,FR\nC7,Zeta,DE\n", encoding="utf-8")
    portfolio = load(messy, {"transactions": "tx.csv", "customers": "clients.csv"}, name="Démo", currency="USD")
    out = tmp_path / "run"
    data_dir = save_portfolio(portfolio, out)
    assert data_dir == out / "data"
    assert sorted(p.name for p in (out / "data").iterdir()) == ["customers.parquet", "portfolio.json",
                                                                "transactions.parquet"]
    tables = read_saved_tables(out)
    assert sorted(tables) == ["customers", "transactions"]
    for name, frame in tables.items():
        loaded = portfolio.tables[name]
        dates = [col for col in frame if pd.api.types.is_datetime64_any_dtype(frame[col])]
        assert all(str(frame[col].dtype) == "datetime64[us]" for col in dates)  # the unit every engine reads
        pd.testing.assert_frame_equal(frame, loaded.astype({col: frame[col].dtype for col in dates}))

    rejected = pd.read_csv(out / "exports" / "rejected_rows.csv", dtype=str, keep_default_na=False)
    assert list(rejected.columns) == REJECTED_COLUMNS
    assert len(rejected) == len(portfolio.rejected)
    assert rejected["line"].astype(int).tolist() == portfolio.rejected["line"].tolist()
    assert rejected["value"].tolist() == portfolio.rejected["value"].fillna("").tolist()

    meta = json.loads((out / "data" / "portfolio.json").read_text(encoding="utf-8"))
    assert meta["name"] == "Démo"
    assert meta["currency"] == "USD"
    assert meta["as_of"] == portfolio.as_of.date().isoformat() == "2024-01-09"
    assert meta["tables"] == ["customers", "transactions"]
    assert meta["inputs"] == portfolio.inputs
    assert meta["n_rejected_rows"] == portfolio.n_rejected_rows == 4
    assert meta["config"] == str((messy / "portfolio.yml").resolve())
    # no temporary files left behind by the atomic writes
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_save_overwrites_a_previous_run(tmp_path, messy):
    portfolio = load(messy, {"transactions": "tx.csv"})
    out = tmp_path / "run"
    save_portfolio(portfolio, out)
    save_portfolio(portfolio, out)
    assert len(read_saved_tables(out)["transactions"]) == 4


def test_read_saved_tables_without_a_run(tmp_path):
    with pytest.raises(InputError, match="no loaded tables"):
        read_saved_tables(tmp_path / "nothing")


def test_rejected_frame_dtypes(messy):
    rejected = load(messy, {"transactions": "tx.csv"}).rejected
    assert rejected["line"].dtype == "int64"
    for column in REJECTED_COLUMNS:
        if column != "line":
            assert isinstance(rejected[column].dtype, pd.StringDtype), column
    assert np.issubdtype(rejected["line"].dtype, np.integer)
