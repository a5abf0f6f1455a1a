"""Pseudonymization: stable keyed pseudonyms, key file handling, and no personal value left behind."""

import hashlib
import os
import re
import stat
from pathlib import Path

import pandas as pd
import pytest

from portfolio_helpers.cleaning import quality
from portfolio_helpers.cleaning.privacy import (
    KEY_ENV_VAR,
    KEY_FILENAME,
    Pseudonymizer,
    find_personal_values,
    key_path_for,
    load_or_create_key,
    personal_columns,
    pseudonymize_long,
    pseudonymize_tables,
)
from portfolio_helpers.cleaning.standardize import standardize_portfolio
from portfolio_helpers.ingest.loaders import load_portfolio

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch):
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)


# --------------------------------------------------------------------------- pseudonyms


def test_pseudonyms_are_stable_keyed_and_readable():
    first, again, other = Pseudonymizer(KEY), Pseudonymizer(bytes(KEY)), Pseudonymizer(b"another key of 32 bytes......!!")
    values = ["Jean Dupont", "jean.dupont@gmail.com", "+33612345678", "12 rue de la Paix"]
    kinds = ["name", "email", "phone", "address"]
    tokens = [first.token(v, k) for v, k in zip(values, kinds, strict=True)]
    assert tokens == [again.token(v, k) for v, k in zip(values, kinds, strict=True)]
    assert all(a != b for a, b in zip(tokens, [other.token(v, k) for v, k in zip(values, kinds, strict=True)],
                                      strict=True))
    assert re.fullmatch(r"Customer [0-9A-F]{8}", tokens[0])
    assert re.fullmatch(r"email-[0-9a-f]{10}@pseudo\.invalid", tokens[1])
    assert re.fullmatch(r"\+00 [0-9A-F]{8}", tokens[2])
    assert re.fullmatch(r"Address [0-9A-F]{8}", tokens[3])
    assert re.fullmatch(r"Owner [0-9A-F]{6}", first.token("Marc Delorme", "owner"))
    with pytest.raises(ValueError, match="unknown kind"):
        first.token("x", "colour")


def test_spellings_of_one_value_share_a_pseudonym_kinds_do_not():
    p = Pseudonymizer(KEY)
    assert p.token("JEAN  DUPONT") == p.token(" jean dupont") == p.token("Jean Dupont")
    assert p.token("Jean.Dupont@Gmail.com ", "email") == p.token("jean.dupont@gmail.com", "email")
    assert p.token("+33 6 12 34 56 78", "phone") == p.token("+33612345678", "phone")
    assert p.digest("Jean Dupont", "name") != p.digest("Jean Dupont", "address")
    assert p.token("Jean Dupont") != p.token("Jean Durand")


def test_pseudonyms_cannot_be_guessed_without_the_key():
    p = Pseudonymizer(KEY)
    email = "jean.dupont@gmail.com"
    digest = p.digest(email, "email")
    # A plain hash of the value (or of the value with the kind prefix) is not what is used.
    assert digest not in {hashlib.sha256(email.encode()).hexdigest(),
                          hashlib.sha256(f"email\x1f{email}".encode()).hexdigest()}
    assert "00010203" not in repr(p) and "hidden" in repr(p)


def test_key_must_be_bytes_and_long_enough():
    with pytest.raises(TypeError):
        Pseudonymizer("a text key that is long enough")
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymizer(b"short")


def test_series_pseudonyms_keep_missing_values():
    out = Pseudonymizer(KEY).pseudonymize(pd.Series(["Ann Lee", None, "ANN LEE"]))
    assert out[0] == out[2] and out.isna().tolist() == [False, True, False]


# --------------------------------------------------------------------------- key file


def test_key_file_is_created_private_and_reused(tmp_path):
    config = tmp_path / "portfolio.yml"
    config.write_text("name: x\n", encoding="utf-8")
    path = key_path_for(config)
    assert path == tmp_path.resolve() / KEY_FILENAME
    key = load_or_create_key(path)
    assert len(key) == 32 and path.is_file()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(tmp_path) == key  # the folder works too
    assert re.fullmatch(r"[0-9a-f]{64}\n", path.read_text(encoding="ascii"))
    other = tmp_path / "other"
    other.mkdir()
    assert load_or_create_key(other) != key


def test_key_from_environment_overrides_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, "ab" * 32)
    assert load_or_create_key(tmp_path) == bytes.fromhex("ab" * 32)
    assert not (tmp_path / KEY_FILENAME).exists()
    monkeypatch.setenv(KEY_ENV_VAR, "a passphrase for the CI runs")
    assert load_or_create_key(tmp_path) == b"a passphrase for the CI runs"
    monkeypatch.setenv(KEY_ENV_VAR, "short")
    with pytest.raises(ValueError, match="too short"):
        load_or_create_key(tmp_path)


def test_key_refuses_the_report_folder_and_warns_when_readable(tmp_path):
    report = tmp_path / "reports"
    report.mkdir()
    with pytest.raises(ValueError, match="report folder"):
        load_or_create_key(report / "run1" / KEY_FILENAME, report_dir=report)
    assert not list(report.rglob("*"))
    path = tmp_path / KEY_FILENAME
    path.write_text("cd" * 32 + "\n", encoding="ascii")
    if os.name == "posix":
        path.chmod(0o644)
        with pytest.warns(UserWarning, match="readable by other users"):
            assert load_or_create_key(path, report_dir=report) == bytes.fromhex("cd" * 32)


# --------------------------------------------------------------------------- tables


def test_personal_columns():
    customers = pd.DataFrame(columns=["customer_id", "name", "name_original", "name_key", "email", "email_valid",
                                      "email_issue", "email_suggestion", "phone", "phone_original", "phone_valid",
                                      "phone_issue", "address", "postal_code", "city", "country", "owner"])
    assert personal_columns("customers", customers) == {
        "name": "name", "name_original": "name", "name_key": "key", "email": "email", "email_suggestion": "email",
        "phone": "phone", "phone_original": "phone", "address": "address"}
    assert personal_columns("customers", customers, include_owner=True)["owner"] == "owner"
    leads = pd.DataFrame({"lead_id": ["L1"], "contact_email": ["a@b.fr"], "mobile": ["06"], "first_name": ["A"],
                          "role": ["CEO"], "contact_date": pd.to_datetime(["2024-01-01"])})
    assert personal_columns("leads", leads) == {"contact_email": "email", "mobile": "phone", "first_name": "name"}
    assert personal_columns("transactions", pd.DataFrame(columns=["customer_id", "product_id"])) == {}


@pytest.fixture(scope="module")
def sample():
    portfolio = load_portfolio(SAMPLE / "portfolio.yml", today=pd.Timestamp("2026-01-15"))
    tables, changes = standardize_portfolio(portfolio.tables, portfolio.as_of)
    return portfolio, tables, changes


def _as_text(tables, *frames) -> str:
    return "\n".join([frame.to_csv() for frame in tables.values()] + [frame.to_csv() for frame in frames])


def test_no_personal_value_left_in_pseudonymized_tables_and_exports(sample):
    portfolio, tables, changes = sample
    before = {name: frame.copy() for name, frame in tables.items()}
    p = Pseudonymizer(KEY)
    private = pseudonymize_tables(tables, p)
    issues = quality.quality_issues(tables, portfolio.as_of)
    text = _as_text(private, pseudonymize_long(issues, p, "field", ("value",)), pseudonymize_long(changes, p))
    assert find_personal_values(text, portfolio.tables) == []
    # ... while the same exports without pseudonymization show them all (the detector works).
    values = set()
    for column in ("name", "email", "phone", "address"):
        values |= set(portfolio.tables["customers"][column].dropna())
    leaked = find_personal_values(_as_text(tables, issues, changes), portfolio.tables)
    assert set(leaked) == values
    for name, frame in tables.items():  # inputs untouched
        pd.testing.assert_frame_equal(frame, before[name])


def test_pseudonymized_tables_keep_ids_analysis_columns_and_identity(sample):
    _, tables, _ = sample
    p = Pseudonymizer(KEY)
    customers = tables["customers"]
    private = pseudonymize_tables(tables, p)["customers"]
    for column in ("customer_id", "country", "country_code", "postal_code", "city", "email_valid", "phone_valid",
                   "customer_type", "owner"):
        pd.testing.assert_series_equal(private[column], customers[column])
    # One pseudonym per distinct (canonical) name: no collision among the sample's names.
    canonical = customers["name"].dropna().map(lambda v: Pseudonymizer.canonical(v, "name"))
    assert private["name"].nunique() == canonical.nunique()
    # Equal name keys stay equal, so near-duplicates can still be grouped.
    same_key = customers.groupby("name_key")["customer_id"].transform("size") > 1
    assert same_key.any()
    assert (private.loc[same_key].groupby(customers.loc[same_key, "name_key"])["name_key"].nunique() == 1).all()
    assert pseudonymize_tables(tables, p, include_owner=True)["customers"]["owner"].str.startswith("Owner ").all()


def test_find_personal_values_respects_words_case_and_escaping():
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["Ann Lee", "O'Brien & Sons Ltd", "Bo"],
                              "email": ["ann.lee@free.fr", None, None],
                              "phone": ["06 12 34 56 78", "(202) 456-1111", None]})
    tables = {"customers": customers}
    assert find_personal_values("Joann Leeds and Bo", tables) == []  # "Bo" is below min_length
    assert find_personal_values("<b>ANN LEE</b>", tables) == ["Ann Lee"]
    assert find_personal_values("o&#x27;brien &amp; sons ltd", tables) == ["O'Brien & Sons Ltd"]
    assert find_personal_values("mail: Ann.Lee@Free.fr.", tables) == ["ann.lee@free.fr"]
    assert find_personal_values("tel +33 6 12 34 56 78 / +1 202-456-1111", tables) == [
        "(202) 456-1111", "06 12 34 56 78"]
    assert find_personal_values("order 2024-06-12 amount 3456.78", tables) == []


def test_engine_lines_get_the_pseudonyms_of_the_frame(lines_as):
    """pseudonymize_engine_table gives, where the lines live, exactly the pseudonyms of pseudonymize_frame
    (same key, same value in any spelling), missing values staying missing; other columns untouched."""
    import ibis

    from portfolio_helpers.cleaning.privacy import pseudonymize_engine_table, pseudonymize_frame

    tx = pd.DataFrame({"line": [1, 2, 3, 4, 5], "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
                       "contact_email": ["ann@lee.io", None, " ANN@lee.io", "bob@x.io", "bob@x.io"],
                       "contact_name": ["Ann Lee", "Bob  Ray", None, "bob ray", "Zoé Q"]})
    columns = {"contact_email": "email", "contact_name": "name"}
    p = Pseudonymizer(KEY)
    expected = pseudonymize_frame(tx, p, columns)
    table = lines_as(tx)
    table = table if not isinstance(table, pd.DataFrame) else ibis.memtable(table)
    got = pseudonymize_engine_table(table, p, columns).to_pandas().sort_values("line", ignore_index=True)
    assert list(got.columns) == list(tx.columns)
    assert got["amount"].tolist() == tx["amount"].tolist()
    for column, kind in columns.items():
        values = got[column].astype(object).where(got[column].notna(), None).tolist()
        assert values == [None if pd.isna(v) else p.token(v, kind) for v in tx[column]]
        assert values == expected[column].astype(object).where(expected[column].notna(), None).tolist()
    assert got["contact_email"][0] == got["contact_email"][2] and got["contact_name"][1] == got["contact_name"][3]
    assert pseudonymize_engine_table(table, Pseudonymizer(bytes(range(1, 33))), columns).to_pandas()[
        "contact_email"].dropna().isin(got["contact_email"]).sum() == 0  # another key: unrelated pseudonyms
