"""Duplicate customer detection (portfolio_helpers.cleaning.dedup).

Hand-made cases are added to the committed dirty sample (2,463 records), so that
the model is trained on a realistic background; the sample's truth.json then
measures the pairwise precision and recall.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest

from portfolio_helpers.app.sample_data import load_truth
from portfolio_helpers.cleaning import dedup
from portfolio_helpers.ingest.loaders import load_portfolio

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
N = None
# customer_id, name, email, phone, address, postal_code, city, acquisition_date
HAND_MADE = pd.DataFrame([
    # One person typed three times: e-mail case, phone formats, swapped name order, accents, abbreviation.
    ("H01", "Hélène Kerbrat", "helene.kerbrat@exemple.fr", "06 11 22 33 44", "3 rue de Siam", "29200", "Brest",
     "2020-01-01"),
    ("H02", "KERBRAT Helene", "Helene.Kerbrat@Exemple.FR", "+33 6 11 22 33 44", "3 r. de Siam", "29200", "BREST",
     "2021-05-01"),
    ("H03", "Kerbrat  Hélène", N, "0611223344", N, "29200", "Brest", "2019-03-01"),
    # Two different people sharing a surname and a city.
    ("H04", "Yannick Le Goff", "yannick.legoff@exemple.bzh", "02 98 11 11 11", "10 place Saint-Corentin", "29000",
     "Quimper", "2020-01-01"),
    ("H05", "Maïwenn Le Goff", "maiwenn.lg@autre.fr", "07 55 44 33 22", "48 avenue de la Libération", "29000",
     "Quimper", "2020-01-01"),
    # A company name with one letter off in the same postal code, but other e-mails and phones: ambiguous.
    ("H06", "Kerjean Conseil SARL", "contact@kerjean-conseil.fr", "04 72 11 22 33", "8 rue Paul Bert", "69003",
     "Lyon", "2020-01-01"),
    ("H07", "Kerjian Conseil SA", "a.martin@kerjian.fr", "04 78 99 88 77", N, "69003", "Lyon", "2020-01-01"),
    # A household: same family e-mail and address, two first names.
    ("H08", "Léna Cadiou", "famille.cadiou@exemple.fr", N, "5 rue Paul Bert", "69003", "Lyon", "2020-01-01"),
    ("H09", "Ronan Cadiou", "famille.cadiou@exemple.fr", N, "5 rue Paul Bert", "69003", "Lyon", "2020-01-01"),
], columns=["customer_id", "name", "email", "phone", "address", "postal_code", "city", "acquisition_date"])


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """Splink and DuckDB must not download anything: any connection attempt fails the tests."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture(scope="module")
def sample():
    return load_portfolio(SAMPLE / "portfolio.yml")


@pytest.fixture(scope="module")
def customers(sample):
    hand = HAND_MADE.assign(acquisition_date=pd.to_datetime(HAND_MADE["acquisition_date"]))
    return pd.concat([sample.tables["customers"], hand], ignore_index=True)


@pytest.fixture(scope="module")
def result(customers):
    return dedup.find_duplicates(customers, seed=42)


def pair(result, a, b) -> pd.Series:
    rows = result.pairs[(result.pairs["customer_id_l"] == min(a, b)) & (result.pairs["customer_id_r"] == max(a, b))]
    assert len(rows) == 1, f"pair {a}-{b} not scored above threshold_review"
    return rows.iloc[0]


def survivor(result, customer_id) -> str:
    return result.mapping.set_index("customer_id").loc[customer_id, "survivor_id"]


# --------------------------------------------------------------------------------------------------
# Matching keys
# --------------------------------------------------------------------------------------------------


def test_phone_key_ignores_format_and_country_prefix():
    phones = {
        "fr": ["06 12 34 56 78", "+33 6 12 34 56 78", "0033 6 12 34 56 78", "+33 (0)6 12-34-56-78", "0612345678"],
        "be": ["02 140 53 26", "+32 2 140 53 26", "02.140.53.26"],  # 8-digit national number
        "it": ["011 3751 5997", "+39 011 3751 5997"],  # Italian landlines keep their 0
        "uk": ["020 7946 0018", "+44 20 7946 0018"],
        "us": ["(212) 247-4067", "+1 212 247 4067", "212.247.4067"],
    }
    for country, variants in phones.items():
        frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(variants))], "phone": variants})
        keys = dedup.prepare_customers(frame)["phone_key"]
        assert keys.notna().all() and keys.nunique() == 1, (country, keys.tolist())
    placeholders = pd.DataFrame({"customer_id": ["a", "b", "c"], "phone": ["00 00 00 00 00", "123", None]})
    assert dedup.prepare_customers(placeholders)["phone_key"].isna().all()


def test_name_email_address_keys():
    frame = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "name": ["Hélène Kerbrat", "KERBRAT  helene", "Giordano & Figli S.r.l.", "Giordano Figli",
                 "Mertens & Fils BV", "Nordnet Energie GmbH & Co. KG"],
        "email": ["Helene.Kerbrat@Exemple.FR ", "helene.kerbrat@exemple.fr", "helene.kerbrat.exemple.fr",
                  "no email", "n/a", None],
        "address": ["12 avenue Jean Jaurès", "12 AV. JEAN JAURES", "Hauptstraße 5", "Hauptstr. 5",
                    "10 Victoria Rd", "10 Victoria Road"],
        "city": ["Saint-Étienne", "St Etienne", "München", "MUNCHEN", None, None],
    })
    keys = dedup.prepare_customers(frame).set_index("customer_id")
    assert keys.loc["a", "name_key"] == keys.loc["b", "name_key"] == "helene kerbrat"
    assert keys.loc["c", "name_key"] == keys.loc["d", "name_key"] == "figli giordano"
    assert keys.loc["e", "name_key"] == "fils mertens"
    assert keys.loc["f", "name_key"] == "energie nordnet"
    assert keys.loc["a", "email_key"] == keys.loc["b", "email_key"] == "helene.kerbrat@exemple.fr"
    # An invalid address is no e-mail key, but its letters still match; placeholders are nothing at all.
    assert pd.isna(keys.loc["c", "email_key"])
    assert keys.loc["c", "email_alnum"] == keys.loc["a", "email_alnum"]
    assert keys.loc[["d", "e", "f"], ["email_key", "email_alnum", "email_local"]].isna().all().all()
    assert keys.loc["a", "address_key"] == keys.loc["b", "address_key"] == "12 avenue jean jaures"
    assert keys.loc["c", "address_key"] == keys.loc["d", "address_key"] == "hauptstrasse 5"
    assert keys.loc["e", "address_key"] == keys.loc["f", "address_key"] == "10 victoria road"
    assert keys.loc["a", "city_key"] == keys.loc["b", "city_key"] == "saintetienne"
    assert keys.loc["c", "city_key"] == keys.loc["d", "city_key"] == "munchen"


def test_keys_shared_by_many_records_are_cleared():
    frame = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(14)],
                          "email": ["info@societe.fr"] * 12 + ["jean.roux@mail.fr"] * 2,
                          "phone": ["01 23 45 67 89"] * 12 + ["06 98 76 54 32"] * 2})
    keys = dedup.prepare_customers(frame, max_shared=10)
    assert keys["email_key"].isna().sum() == 12 and keys["email_key"].notna().sum() == 2
    assert keys["phone_key"].isna().sum() == 12 and keys["phone_key"].notna().sum() == 2
    assert dedup.prepare_customers(frame, max_shared=20)["email_key"].notna().all()


def test_customer_ids_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        dedup.prepare_customers(pd.DataFrame({"customer_id": ["a", "a"], "name": ["x", "y"]}))
    with pytest.raises(KeyError, match="customer_id"):
        dedup.find_duplicates(pd.DataFrame({"name": ["x", "y"]}))


# --------------------------------------------------------------------------------------------------
# Decisions on hand-made cases
# --------------------------------------------------------------------------------------------------


def test_same_person_typed_differently_is_merged(result):
    assert {survivor(result, c) for c in ("H01", "H02", "H03")} == {"H02"}
    first = pair(result, "H01", "H02")
    assert first["decision"] == "merge" and first["match_probability"] >= 0.95
    assert {"name", "email", "phone", "address", "postal_code", "city"} <= set(first["fields_agreed"].split(", "))
    group = result.groups[result.groups["survivor_id"] == "H02"]
    assert sorted(group["customer_id"]) == ["H01", "H02", "H03"]
    assert group["group_id"].nunique() == 1
    assert (group.loc[group["customer_id"] != "H02", "match_probability"] >= 0.95).all()


def test_namesakes_in_the_same_city_are_not_merged(result):
    assert survivor(result, "H04") == "H04" and survivor(result, "H05") == "H05"
    pairs = result.pairs
    assert not ((pairs["customer_id_l"] == "H04") & (pairs["customer_id_r"] == "H05")
                & (pairs["decision"] == "merge")).any()


def test_middle_probability_goes_to_review(result):
    middle = pair(result, "H06", "H07")
    assert 0.5 <= middle["match_probability"] < 0.95
    assert middle["decision"] == "review"
    assert survivor(result, "H06") != survivor(result, "H07")
    assert ((result.review["customer_id_l"] == "H06") & (result.review["customer_id_r"] == "H07")).any()


def test_household_sharing_an_email_is_reviewed_not_merged(result):
    household = pair(result, "H08", "H09")
    assert household["match_probability"] >= 0.95  # e-mail, address, postal code and city agree...
    assert household["decision"] == "review"  # ...but Léna and Ronan are two people
    assert survivor(result, "H08") == "H08" and survivor(result, "H09") == "H09"
    assert ((result.review["customer_id_l"] == "H08") & (result.review["customer_id_r"] == "H09")).any()


def test_small_portfolio_uses_prior_parameters():
    customers = pd.DataFrame({
        "customer_id": ["1", "2", "3"],
        "name": ["Ana Ruiz", "RUIZ Ana", "Bo Li"],
        "email": ["ana.ruiz@correo.es", "Ana.Ruiz@correo.es", "bo.li@correo.es"],
    })
    result = dedup.find_duplicates(customers)
    assert result.mapping["survivor_id"].tolist() == ["1", "1", "3"]
    assert result.n_merged == 1


def test_thresholds_are_checked(customers):
    with pytest.raises(ValueError, match="threshold"):
        dedup.find_duplicates(customers, threshold_merge=0.5, threshold_review=0.9)


# --------------------------------------------------------------------------------------------------
# Survivors and mapping
# --------------------------------------------------------------------------------------------------


def test_survivor_is_most_complete_then_most_recent_then_smallest_id():
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6", "C7"],
        "name": ["A", "A", "A", "B", "B", "C", "C"],
        "email": [None, "a@x.fr", "a@x.fr", "b@x.fr", "b@x.fr", "c@x.fr", "c@x.fr"],
        "acquisition_date": pd.to_datetime(["2025-01-01", "2022-01-01", "2024-01-01",
                                            None, "2020-01-01", "2021-01-01", "2021-01-01"]),
    })
    groups = pd.Series(["g1", "g1", "g1", "g2", "g2", "g3", "g3"], index=customers["customer_id"])
    chosen = dedup.choose_survivors(customers, groups)
    # g1: C1 is the newest but misses its e-mail; C3 is newer than C2. g2: missing date last. g3: tie -> C6.
    assert chosen.to_dict() == {"C1": "C3", "C2": "C3", "C3": "C3", "C4": "C5", "C5": "C5", "C6": "C6",
                                "C7": "C6"}
    activity = pd.Series(pd.to_datetime(["2025-06-01"]), index=["C2"])
    assert dedup.choose_survivors(customers, groups, last_activity=activity)["C1"] == "C2"
    customers["last_order"] = pd.to_datetime([None, None, None, None, None, None, "2025-01-01"])
    assert dedup.choose_survivors(customers, groups, last_activity="last_order")["C6"] == "C7"


def test_mapping_covers_every_id_once_and_survivors_map_to_themselves(result, customers):
    mapping = result.mapping
    assert list(mapping.columns) == ["customer_id", "survivor_id"]
    assert sorted(mapping["customer_id"]) == sorted(customers["customer_id"].astype(str))
    assert not mapping["customer_id"].duplicated().any()
    survivors = set(mapping["survivor_id"])
    assert (mapping.loc[mapping["customer_id"].isin(survivors), "customer_id"]
            == mapping.loc[mapping["customer_id"].isin(survivors), "survivor_id"]).all()
    merged = mapping[mapping["customer_id"] != mapping["survivor_id"]]
    assert len(merged) == result.n_merged > 0
    # groups and the duplicates export agree with the mapping
    table = result.duplicates_table()
    assert list(table.columns) == ["group_id", "customer_id", "survivor_id", "match_probability", "fields_agreed"]
    assert set(table["customer_id"]) == set(merged["customer_id"]) | set(merged["survivor_id"])
    own = table[table["customer_id"] == table["survivor_id"]]
    assert own["group_id"].is_unique and own["match_probability"].isna().all()
    assert (table.loc[table["customer_id"] != table["survivor_id"], "match_probability"] >= 0.95).all()


def test_pairs_and_review_tables(result):
    pairs = result.pairs
    assert list(pairs.columns) == ["customer_id_l", "customer_id_r", "match_probability", "fields_agreed",
                                   "decision"]
    assert (pairs["customer_id_l"] < pairs["customer_id_r"]).all()
    assert pairs["match_probability"].between(0.5, 1).all()
    assert set(pairs["decision"]) == {"merge", "review"}
    assert (pairs.loc[pairs["match_probability"] < 0.95, "decision"] == "review").all()
    assert pairs["match_probability"].is_monotonic_decreasing
    assert list(result.review.columns) == list(pairs.columns)
    assert set(result.model["field"]) == set(dedup.MATCH_FIELDS)
    assert 0 < result.prior < 0.01


def test_apply_mapping_keeps_every_row_and_the_revenue(result, sample):
    tables = sample.tables
    merged_tables = dedup.apply_mapping(tables, result.mapping)
    merged_ids = set(result.mapping.loc[result.mapping["customer_id"] != result.mapping["survivor_id"],
                                        "customer_id"])
    for name in ("transactions", "payments", "tickets", "leads"):
        before, after = tables[name], merged_tables[name]
        assert len(after) == len(before), name
        assert not after["customer_id"].isin(merged_ids).any(), name
        pd.testing.assert_series_equal(after["original_customer_id"], before["customer_id"],
                                       check_names=False)
        assert after["customer_id"].dtype == before["customer_id"].dtype
    moved = tables["transactions"]["customer_id"].isin(merged_ids)
    assert moved.any()
    assert merged_tables["transactions"]["amount"].sum() == pytest.approx(tables["transactions"]["amount"].sum())
    assert merged_tables["payments"]["amount"].sum() == pytest.approx(tables["payments"]["amount"].sum())
    # revenue per survivor = revenue of its records
    survivor_of = result.mapping.set_index("customer_id")["survivor_id"]
    ids = tables["transactions"]["customer_id"]
    expected = tables["transactions"].assign(customer_id=ids.map(survivor_of).fillna(ids))
    expected = expected.groupby("customer_id")["amount"].sum()
    actual = merged_tables["transactions"].groupby("customer_id")["amount"].sum()
    pd.testing.assert_series_equal(actual, expected, check_dtype=False)
    customers = merged_tables["customers"]
    assert not customers["customer_id"].isin(merged_ids).any()
    assert len(customers) == len(tables["customers"]) - len(merged_ids & set(tables["customers"]["customer_id"]))
    assert list(customers.columns) == list(tables["customers"].columns)
    assert tables["transactions"]["customer_id"].isin(merged_ids).any()  # inputs untouched


def test_apply_mapping_fills_survivor_fields_and_is_reversible():
    tables = {
        "customers": pd.DataFrame({
            "customer_id": ["C1", "C2", "C3"],
            "phone": [None, "06 12 34 56 78", None],
            "email": ["a@x.fr", None, "c@y.fr"],
            "acquisition_date": pd.to_datetime(["2023-01-01", "2021-06-01", "2022-01-01"]),
        }),
        "tickets": pd.DataFrame({"customer_id": ["C2", "C3", None], "minutes": [5.0, 10.0, 1.0]}),
        "catalog": pd.DataFrame({"product_id": ["P1"]}),
    }
    mapping = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "survivor_id": ["C1", "C1", "C3"]})
    merged = dedup.apply_mapping(tables, mapping)
    customers = merged["customers"].set_index("customer_id")
    assert list(customers.index) == ["C1", "C3"]
    assert customers.loc["C1", "phone"] == "06 12 34 56 78"  # filled from C2
    assert customers.loc["C1", "email"] == "a@x.fr"  # the survivor's own value wins
    assert customers.loc["C1", "acquisition_date"] == pd.Timestamp("2021-06-01")  # earliest of the group
    assert merged["tickets"]["customer_id"].tolist()[:2] == ["C1", "C3"]
    assert pd.isna(merged["tickets"]["customer_id"].iloc[2])
    assert merged["tickets"]["original_customer_id"].tolist()[:2] == ["C2", "C3"]
    assert merged["catalog"] is tables["catalog"]
    kept = dedup.apply_mapping(tables, mapping, fill_missing=False)["customers"]
    assert pd.isna(kept.loc[kept["customer_id"] == "C1", "phone"]).all()
    # a second mapping keeps pointing back to the first ids
    again = dedup.apply_mapping(merged, pd.DataFrame({"customer_id": ["C3"], "survivor_id": ["C1"]}))
    assert again["tickets"]["customer_id"].tolist()[:2] == ["C1", "C1"]
    assert again["tickets"]["original_customer_id"].tolist()[:2] == ["C2", "C3"]


# --------------------------------------------------------------------------------------------------
# Determinism and accuracy
# --------------------------------------------------------------------------------------------------


def test_same_seed_same_result(result, customers):
    again = dedup.find_duplicates(customers, seed=42)
    pd.testing.assert_frame_equal(again.pairs, result.pairs)
    pd.testing.assert_frame_equal(again.groups, result.groups)
    pd.testing.assert_frame_equal(again.mapping, result.mapping)
    pd.testing.assert_frame_equal(again.review, result.review)


def test_precision_and_recall_on_the_committed_sample(result, sample):
    truth = load_truth(SAMPLE / "truth.json")["duplicate_groups"]
    ids = set(sample.tables["customers"]["customer_id"])
    scores = dedup.pairwise_scores(result.mapping[result.mapping["customer_id"].isin(ids)], truth)
    sizes = truth.groupby("group_id").size()
    assert scores["n_true_pairs"] == int((sizes * (sizes - 1) // 2).sum()) > 50
    assert scores["precision"] >= 0.95
    assert scores["recall"] >= 0.90
    review = result.review[result.review["customer_id_l"].isin(ids) & result.review["customer_id_r"].isin(ids)]
    assert len(review) <= 0.01 * len(ids)  # a short list for a human: a handful of pairs


def test_pairwise_scores():
    mapping = pd.DataFrame({"customer_id": list("abcdef"), "survivor_id": list("aaadee")})
    truth = [{"group_id": "G1", "customer_ids": ["a", "b"]}, {"group_id": "G2", "customer_ids": ["d", "e", "f"]}]
    scores = dedup.pairwise_scores(mapping, truth)
    # predicted pairs: ab, ac, bc, ef; true pairs: ab, de, df, ef
    assert scores == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "n_true_pairs": 4,
                                    "n_predicted_pairs": 4})
    frame = pd.DataFrame({"group_id": ["G1", "G1"], "customer_id": ["a", "b"]})
    assert dedup.pairwise_scores(mapping.assign(survivor_id=list("abcdef")), frame)["recall"] == 0.0


def test_duckdb_connections_never_download_extensions():
    settings = dedup._connect().sql("SELECT current_setting('autoinstall_known_extensions'), "
                                    "current_setting('autoload_known_extensions')").fetchall()
    assert settings == [(False, False)]
