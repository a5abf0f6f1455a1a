"""Tests of the generated sample portfolio (portfolio_helpers.app.sample_data)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from portfolio_helpers.analysis.profitability import COST_KEYS, cost_model_from_config
from portfolio_helpers.app.sample_data import (
    CATEGORIES,
    CATEGORY_COST_RATE,
    SAMPLE_COSTS,
    SAMPLE_OBJECTIVES,
    SEGMENT_NAMES,
    SERVICE_COST_PER_HOUR,
    TABLE_NAMES,
    generate_portfolio,
    load_truth,
    write_demo_data,
    write_portfolio,
)
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.contract import TABLES
from portfolio_helpers.ingest.parsing import parse_boolean

OUTPUT_FILES = [f"{t}.csv" for t in TABLE_NAMES] + ["portfolio.yml", "truth.json"]
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DAY_FIRST_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}$")
DAY_FIRST_DATETIME = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
MONEY = re.compile(r"^-?\d+\.\d{2}$")
VALID_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}(\.[a-z]{2})?$", re.IGNORECASE)


def read_table(directory, table: str) -> pd.DataFrame:
    """A written CSV exactly as text (empty cells stay empty strings)."""
    return pd.read_csv(directory / f"{table}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory):
    return write_demo_data(tmp_path_factory.mktemp("clean"), n_customers=2000, seed=42)


@pytest.fixture(scope="module")
def dirty_dir(tmp_path_factory):
    return write_demo_data(tmp_path_factory.mktemp("dirty"), n_customers=2000, seed=42, dirty=True)


@pytest.fixture(scope="module")
def clean(clean_dir):
    """Clean tables read back from the files, typed."""
    tables = {t: pd.read_csv(clean_dir / f"{t}.csv", dtype={"customer_id": str, "postal_code": str})
              for t in TABLE_NAMES}
    for table, columns in {"transactions": ["date"], "payments": ["due_date", "paid_date"],
                           "tickets": ["date"], "leads": ["date", "expected_date"],
                           "customers": ["acquisition_date"]}.items():
        for column in columns:
            tables[table][column] = pd.to_datetime(tables[table][column], format="%Y-%m-%d")
    return tables


@pytest.fixture(scope="module")
def clean_truth(clean_dir):
    return load_truth(clean_dir)


@pytest.fixture(scope="module")
def dirty_truth(dirty_dir):
    return load_truth(dirty_dir)


def customer_features(tables: dict[str, pd.DataFrame], as_of: str = "2025-12-31") -> pd.DataFrame:
    """Per-customer behaviour: recency, frequency, monetary, basket, discounts, returns, payment, tickets."""
    transactions, payments, tickets = tables["transactions"], tables["payments"], tables["tickets"]
    billed = transactions[transactions["status"] != "cancelled"]
    sales = billed[billed["amount"] > 0]
    by_customer = sales.groupby("customer_id")
    features = pd.DataFrame({
        "recency": (pd.Timestamp(as_of) - by_customer["date"].max()).dt.days,
        "frequency": by_customer["order_id"].nunique(),
        "monetary": billed.groupby("customer_id")["amount"].sum(),
    })
    features["average_order_value"] = features["monetary"] / features["frequency"]
    gross = by_customer["amount"].sum() + by_customer["discount"].sum()
    features["discount_share"] = by_customer["discount"].sum() / gross
    returned = -billed[billed["amount"] < 0].groupby("customer_id")["amount"].sum()
    features["return_rate"] = returned.reindex(features.index, fill_value=0) / by_customer["amount"].sum()
    invoice_date = transactions.drop_duplicates("order_id").set_index("order_id")["date"]
    days_to_pay = (payments["paid_date"] - payments["order_id"].map(invoice_date)).dt.days
    features["days_to_pay"] = days_to_pay.groupby(payments["customer_id"]).mean().reindex(features.index)
    features["tickets"] = tickets.groupby("customer_id").size().reindex(features.index, fill_value=0)
    return features.fillna(0)


def top_share(revenue: pd.Series, share: float = 0.2) -> float:
    ordered = revenue.sort_values(ascending=False)
    return ordered.iloc[: int(np.ceil(share * len(ordered)))].sum() / ordered.sum()


# --------------------------------------------------------------------------------------------------
# Files, determinism, contract
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dirty", [False, True])
def test_same_seed_gives_byte_identical_files(tmp_path, dirty):
    first = write_portfolio(generate_portfolio(400, seed=7, dirty=dirty), tmp_path / "first")
    second = write_demo_data(tmp_path / "second", n_customers=400, seed=7, dirty=dirty)
    for name in OUTPUT_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_different_seed_gives_different_data(tmp_path):
    one = write_demo_data(tmp_path / "one", n_customers=400, seed=1)
    two = write_demo_data(tmp_path / "two", n_customers=400, seed=2)
    for table in TABLE_NAMES:
        assert (one / f"{table}.csv").read_bytes() != (two / f"{table}.csv").read_bytes(), table


def test_tables_use_the_canonical_columns(clean_dir, dirty_dir):
    for directory in (clean_dir, dirty_dir):
        for table in TABLE_NAMES:
            header = (directory / f"{table}.csv").read_text(encoding="utf-8").split("\n", 1)[0]
            # The sample writes its amounts itself: the price per unit is left to line-item exports.
            expected = [col for col in TABLES[table].column_names if (table, col) != ("transactions", "unit_price")]
            assert header.split(",") == expected, table


def test_portfolio_yml_points_at_the_files(clean_dir):
    text = (clean_dir / "portfolio.yml").read_text(encoding="utf-8")
    config = yaml.safe_load(text)
    assert config["name"] == "Sample portfolio (generated, seed 42)"
    assert config["currency"] == "EUR"
    assert str(config["as_of"]) == "2025-12-31"
    assert config["seed"] == 42
    assert list(config["tables"]) == list(TABLE_NAMES)
    for table, spec in config["tables"].items():
        assert (clean_dir / spec["path"]).is_file(), table
    # the same config at any size, but for the sum targets, set for 2,000 customers and scaled to the size
    assert config == generate_portfolio(50, seed=42).config | {"name": config["name"], "objectives": config["objectives"]}
    assert [o["target"] for o in config["objectives"]] == [o["target"] for o in SAMPLE_OBJECTIVES]


def test_portfolio_yml_costs_section_prices_like_the_generator(clean_dir, dirty_dir):
    for directory in (clean_dir, dirty_dir):
        config = load_config(directory / "portfolio.yml")
        assert config.sections["costs"] == SAMPLE_COSTS
        model = cost_model_from_config(config.sections["costs"], config.path)  # valid
        assert model.per_service_minute == SERVICE_COST_PER_HOUR / 60
        assert model.cogs_rate_by_category == dict(zip(CATEGORIES, CATEGORY_COST_RATE.tolist(), strict=True))
        assert model.nonzero_rates() == list(COST_KEYS)  # every driver of the model is exercised
    assert "# costs: " in (clean_dir / "portfolio.yml").read_text(encoding="utf-8")


def test_sample_portfolio_in_memory_matches_files(clean_dir):
    sample = generate_portfolio(2000, seed=42)
    assert set(sample.tables) == set(TABLE_NAMES)
    assert (sample.tables["customers"]["stage"] == "customer").sum() == 2000
    truth = json.loads((clean_dir / "truth.json").read_text(encoding="utf-8"))
    assert truth == json.loads(json.dumps(sample.truth))
    meta = truth["meta"]
    assert (meta["seed"], meta["n_customers"], meta["dirty"]) == (42, 2000, False)
    assert (meta["start"], meta["end"]) == ("2023-01-01", "2025-12-31")
    assert meta["generator_version"]


def test_invalid_arguments_are_rejected():
    with pytest.raises(ValueError, match="n_customers"):
        generate_portfolio(5)
    with pytest.raises(ValueError, match="period"):
        generate_portfolio(100, start="2025-01-01", end="2025-03-01")


def test_clean_files_are_well_formed(clean_dir):
    transactions = read_table(clean_dir, "transactions")
    assert transactions["date"].str.match(ISO_DATE).all()
    for column in ("amount", "cost", "discount"):
        assert transactions[column].str.match(MONEY).all(), column
    payments = read_table(clean_dir, "payments")
    assert payments["due_date"].str.match(ISO_DATE).all()
    assert (payments["paid_date"].str.match(ISO_DATE) | (payments["paid_date"] == "")).all()
    customers = read_table(clean_dir, "customers")
    assert customers["customer_id"].is_unique
    assert customers["email"].str.match(VALID_EMAIL).all()
    assert customers["email"].is_unique
    assert set(customers["country"]) <= {"France", "Germany", "Belgium", "Spain", "Italy", "United Kingdom",
                                         "United States"}
    assert customers["country"].value_counts().index[0] == "France"
    assert set(customers["stage"]) == {"lead", "prospect", "qualified", "customer"}
    assert (customers["phone"] != "").all() and (customers["city"] != "").all()
    # Postal codes keep their leading zeros (Nice 06000, Barcelona 08001, Boston 02108...).
    assert customers["postal_code"].str.startswith("0").any()
    assert {"web", "field sales", "phone", "store"} == set(transactions["channel"])
    share = transactions["status"].value_counts(normalize=True)
    assert 0.01 < share["cancelled"] < 0.06 and 0.005 < share["modified"] < 0.05
    assert 0.02 < share["returned"] < 0.08 and share["completed"] > 0.85
    assert transactions.duplicated().sum() == 0


def test_clean_mode_has_no_defects(clean_truth, clean):
    assert clean_truth["defects"].empty
    assert clean_truth["duplicate_groups"].empty
    assert clean_truth["customers"]["duplicate_of"].isna().all()
    transactions = clean["transactions"]
    assert transactions["date"].max() <= pd.Timestamp("2025-12-31")
    assert transactions["date"].min() >= pd.Timestamp("2023-01-01")
    sales = transactions[transactions["status"] != "returned"]
    assert (sales["amount"] > 0).all()  # the only negative amounts are credit notes


# --------------------------------------------------------------------------------------------------
# Truth consistent with the data
# --------------------------------------------------------------------------------------------------


def test_truth_customers_match_customers_file(clean, clean_truth):
    truth = clean_truth["customers"]
    customers = clean["customers"]
    assert set(truth["customer_id"]) == set(customers["customer_id"])
    buyers = customers.loc[customers["stage"] == "customer", "customer_id"]
    assert set(truth.loc[truth["segment"].notna(), "customer_id"]) == set(buyers)
    assert set(truth["segment"].dropna()) == set(SEGMENT_NAMES)
    merged = truth.merge(customers, on="customer_id", suffixes=("_truth", ""))
    assert (merged["customer_type_truth"] == merged["customer_type"]).all()
    assert set(clean["transactions"]["customer_id"]) == set(buyers)
    for table in ("payments", "tickets"):
        assert set(clean[table]["customer_id"]) <= set(buyers), table


def test_converted_leads_become_customers(clean, clean_truth, clean_dir):
    leads = clean_truth["leads"]
    assert 0.1 < leads["converted"].mean() < 0.5
    end = pd.Timestamp(json.loads((clean_dir / "truth.json").read_text())["meta"]["end"])
    # Leads converting after the data ends are still open in the data: no customer yet, no linked event.
    later = leads[leads["converted"] & (leads["conversion_date"] > end)]
    assert len(later) > 0 and later["customer_id"].isna().all()
    assert clean["leads"].loc[clean["leads"]["lead_id"].isin(later["lead_id"]), "customer_id"].isna().all()
    assert (clean["leads"]["date"] <= end).all()
    converted = leads[leads["converted"] & (leads["conversion_date"] <= end)]
    customers = clean["customers"].set_index("customer_id")
    assert converted["customer_id"].notna().all() and converted["customer_id"].is_unique
    assert (customers.loc[converted["customer_id"], "stage"] == "customer").all()
    assert (customers.loc[converted["customer_id"], "acquisition_date"].to_numpy()
            == converted["conversion_date"].to_numpy()).all()
    assert leads.loc[~leads["converted"], "customer_id"].isna().all()
    truth_customers = clean_truth["customers"].set_index("customer_id")
    assert (truth_customers.loc[converted["customer_id"], "lead_id"].to_numpy()
            == converted["lead_id"].to_numpy()).all()

    # Events carry the customer id only after the conversion, and only for converted leads.
    events = clean["leads"].merge(leads, on="lead_id", suffixes=("", "_truth"))
    linked = events[events["customer_id"].notna()]
    assert not linked.empty
    assert (linked["customer_id"] == linked["customer_id_truth"]).all()
    assert (linked["date"] >= linked["conversion_date"]).all()
    before = events[events["converted"] & events["customer_id"].isna()]
    assert (before["date"] < before["conversion_date"]).all()
    assert linked["lead_id"].isin(converted["lead_id"]).all()
    assert set(events["event"]) == {"form", "download", "email_open", "email_click", "visit", "meeting", "call"}
    assert events.groupby("lead_id").size().median() >= 4  # several events per lead


def test_lead_conversion_is_predictable_but_noisy(clean, clean_truth):
    events = clean["leads"]
    before_conversion = events[events["customer_id"].isna()]
    counts = pd.crosstab(before_conversion["lead_id"], before_conversion["event"])
    fit = events.groupby("lead_id")[["source", "role", "industry", "employees", "budget"]].first()
    features = pd.get_dummies(fit, columns=["source", "role", "industry"], dtype=float).join(counts).fillna(0)
    features[["employees", "budget"]] = np.log1p(features[["employees", "budget"]])
    converted = clean_truth["leads"].set_index("lead_id")["converted"].reindex(features.index).astype(int)
    train_x, test_x, train_y, test_y = train_test_split(features, converted, test_size=0.25, random_state=0,
                                                        stratify=converted)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train_x, train_y)
    auc = roc_auc_score(test_y, model.predict_proba(test_x)[:, 1])
    assert 0.75 <= auc < 0.97
    # More meetings -> converts more often.
    meetings = counts["meeting"].reindex(features.index, fill_value=0)
    assert converted[meetings >= 2].mean() > 2 * converted[meetings == 0].mean()


def test_returns_reference_an_earlier_order_of_the_same_customer(clean):
    transactions = clean["transactions"]
    returns = transactions[transactions["status"] == "returned"]
    assert len(returns) > 100
    assert (returns["amount"] < 0).all() and (returns["quantity"] < 0).all() and (returns["cost"] < 0).all()
    originals = transactions[transactions["amount"] > 0].drop_duplicates("order_id").set_index("order_id")
    assert returns["order_id"].isin(originals.index).all()
    assert (returns["customer_id"].to_numpy() == originals.loc[returns["order_id"], "customer_id"].to_numpy()).all()
    assert (returns["date"].to_numpy() > originals.loc[returns["order_id"], "date"].to_numpy()).all()
    # The credited product was on the order, for no more than was bought.
    sold = transactions[transactions["amount"] > 0].groupby(["order_id", "product_id"])["quantity"].sum()
    credited = -returns.groupby(["order_id", "product_id"])["quantity"].sum()
    assert (credited <= sold.reindex(credited.index)).all()


def test_orders_have_one_to_five_lines_and_one_invoice(clean):
    transactions, payments = clean["transactions"], clean["payments"]
    lines = transactions[transactions["status"] != "returned"].groupby("order_id").size()
    assert lines.min() == 1 and lines.max() == 5 and lines.mean() > 1.3
    billed_orders = transactions.loc[~transactions["status"].isin(["cancelled", "returned"]), "order_id"]
    assert set(payments["order_id"]) == set(billed_orders)
    assert payments["order_id"].is_unique
    invoice = transactions[transactions["status"].isin(["completed", "modified"])].groupby("order_id")["amount"].sum()
    assert np.allclose(payments.set_index("order_id")["amount"], invoice.reindex(payments["order_id"]), atol=0.011)


def test_payment_terms_and_late_payers(clean, clean_truth):
    transactions, payments = clean["transactions"], clean["payments"]
    customers = clean["customers"].set_index("customer_id")
    invoice_date = transactions.drop_duplicates("order_id").set_index("order_id")["date"]
    terms = (payments["due_date"] - payments["order_id"].map(invoice_date)).dt.days
    customer_type = payments["customer_id"].map(customers["customer_type"])
    assert set(terms[customer_type == "B2B"]) == {30, 45, 60}
    assert set(terms[customer_type == "B2C"]) == {0}
    late = (payments["paid_date"] - payments["due_date"]).dt.days
    assert late.max() <= 120 and (late >= 30).mean() > 0.03
    unpaid_past_due = payments["paid_date"].isna() & (payments["due_date"] < pd.Timestamp("2025-11-01"))
    assert 0 < unpaid_past_due.sum() < 0.02 * len(payments)
    segment = payments["customer_id"].map(clean_truth["customers"].set_index("customer_id")["segment"])
    assert late[segment == "service_heavy"].median() > 30 > late[segment == "key_accounts"].median()


def test_categories_have_different_margins(clean):
    lines = clean["transactions"]
    lines = lines[lines["status"] == "completed"]
    cost_rate = (lines.groupby("category")["cost"].sum()
                 / (lines["amount"] + lines["discount"]).groupby(lines["category"]).sum())
    assert cost_rate["hardware"] > cost_rate["supplies"] > cost_rate["services"] > cost_rate["software"]
    assert 0.6 < cost_rate["hardware"] < 0.8 and 0.15 < cost_rate["software"] < 0.35
    prefixes = lines["product_id"].str[:2].groupby(lines["category"]).unique()
    assert all(len(p) == 1 for p in prefixes)  # product ids live within one category
    assert (lines["discount"] > 0).mean() > 0.1


def test_seasonality_peaks_in_q4_and_dips_in_august(clean):
    sales = clean["transactions"]
    sales = sales[sales["status"] != "cancelled"]
    by_month = sales.groupby(sales["date"].dt.month)["amount"].sum()
    assert by_month.idxmax() in (11, 12)
    assert by_month.idxmin() == 8
    assert by_month[[10, 11, 12]].sum() / by_month.sum() > 0.3


# --------------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 42])
def test_top_20_percent_of_customers_carry_most_revenue(seed):
    sample = generate_portfolio(2000, seed=seed)
    transactions = sample.tables["transactions"]
    revenue = transactions[transactions["status"] != "cancelled"].groupby("customer_id")["amount"].sum()
    assert len(revenue) == 2000
    assert 0.70 <= top_share(revenue) <= 0.85


def test_segments_behave_as_designed(clean, clean_truth):
    features = customer_features(clean)
    segment = clean_truth["customers"].set_index("customer_id")["segment"].reindex(features.index)
    median = features.groupby(segment).median()
    mean = features.groupby(segment).mean()
    assert median.loc["key_accounts", "monetary"] > 3 * median.loc["smb_regulars", "monetary"]
    assert median.loc["smb_regulars", "monetary"] > median.loc["occasional_consumers", "monetary"]
    assert median.loc["key_accounts", "average_order_value"] == median["average_order_value"].max()
    assert median.loc["service_heavy", "frequency"] == median["frequency"].max()
    assert median.loc["service_heavy", "average_order_value"] < median.loc["smb_regulars", "average_order_value"]
    for feature in ("discount_share", "return_rate", "days_to_pay", "tickets"):
        assert mean[feature].idxmax() == "service_heavy", feature
    others = mean.drop(index="service_heavy")
    assert mean.loc["service_heavy", "tickets"] > 3 * others["tickets"].max()
    assert median.loc["lapsed", "recency"] > 540 > median.loc["loyal_consumers", "recency"]
    assert median.loc["occasional_consumers", "frequency"] <= 2
    customer_type = clean["customers"].set_index("customer_id")["customer_type"].reindex(features.index)
    assert set(customer_type[segment.isin(["key_accounts", "service_heavy", "smb_regulars"])]) == {"B2B"}
    assert set(customer_type[segment.isin(["loyal_consumers", "occasional_consumers", "lapsed"])]) == {"B2C"}
    customers = clean["customers"].set_index("customer_id")
    large = customers.loc[segment.index[segment.isin(["key_accounts", "service_heavy"])], "employees"]
    assert (large >= 250).mean() > 0.85
    assert customers.loc[customer_type.index[customer_type == "B2C"], ["birth_year", "gender"]].notna().all().all()


def test_segments_are_recoverable_by_clustering(clean, clean_truth):
    features = customer_features(clean)
    for column in ("recency", "frequency", "monetary", "average_order_value", "days_to_pay", "tickets"):
        features[column] = np.log1p(features[column].clip(lower=0))
    labels = KMeans(6, n_init=10, random_state=0).fit_predict(StandardScaler().fit_transform(features))
    segment = clean_truth["customers"].set_index("customer_id")["segment"].reindex(features.index)
    assert adjusted_rand_score(segment, labels) >= 0.75


def test_unprofitable_candidates_lose_money_once_service_is_counted(clean, clean_truth):
    transactions, tickets = clean["transactions"], clean["tickets"]
    billed = transactions[transactions["status"] != "cancelled"]
    margin = (billed["amount"] - billed["cost"]).groupby(billed["customer_id"]).sum()
    service = (tickets["cost"] + tickets["minutes"] / 60 * SERVICE_COST_PER_HOUR).groupby(tickets["customer_id"]).sum()
    contribution = margin.sub(service, fill_value=0)
    truth = clean_truth["customers"].set_index("customer_id")
    candidates = truth.index[truth["unprofitable_candidate"]]
    assert len(candidates) >= 5
    assert (truth.loc[candidates, "segment"] == "service_heavy").all()
    assert (contribution[candidates] < 0).all()
    assert margin[candidates].sum() > 0  # profitable on gross margin alone: the cost to serve flips them
    key_accounts = truth.index[truth["segment"] == "key_accounts"]
    assert (contribution[key_accounts] > 0).mean() > 0.95


# --------------------------------------------------------------------------------------------------
# Dirty mode
# --------------------------------------------------------------------------------------------------


def test_dirty_mode_keeps_the_underlying_portfolio(clean_dir, dirty_dir, dirty_truth):
    clean_tx, dirty_tx = read_table(clean_dir, "transactions"), read_table(dirty_dir, "transactions")
    inserted = dirty_truth["defects"].query("table == 'transactions' and defect in "
                                            "['exact_duplicate', 'erroneous_negative_amount']")
    assert len(dirty_tx) == len(clean_tx) + len(inserted)
    kept = dirty_tx.drop(index=inserted["row"].to_numpy()).reset_index(drop=True)
    assert (kept["order_id"] == clean_tx["order_id"]).all()
    dirty_leads, clean_leads = read_table(dirty_dir, "leads"), read_table(clean_dir, "leads")
    flags = ["consent_email", "consent_phone", "do_not_contact"]  # dirty data spells yes/no in several ways
    assert (dirty_leads.drop(columns=flags) == clean_leads.drop(columns=flags)).all().all()
    for flag in flags:
        assert parse_boolean(dirty_leads[flag]).values.equals(parse_boolean(clean_leads[flag]).values), flag
    clean_ids = set(read_table(clean_dir, "customers")["customer_id"])
    truth = dirty_truth["customers"]
    assert set(truth.loc[truth["duplicate_of"].isna(), "customer_id"]) == clean_ids


def test_every_defect_points_at_its_row(dirty_dir, dirty_truth):
    defects = dirty_truth["defects"]
    assert set(defects["table"]) == {"customers", "transactions", "payments", "tickets"}
    key_column = {"customers": "customer_id", "transactions": "order_id", "payments": "order_id",
                  "tickets": "customer_id"}
    for table, group in defects.groupby("table"):
        frame = read_table(dirty_dir, table)
        rows = group["row"].to_numpy()
        assert rows.max() < len(frame)
        assert (frame[key_column[table]].to_numpy()[rows] == group["key"].to_numpy()).all(), table
        cells = group[group["column"].notna()]
        written = np.array([frame.at[row, column] for row, column in zip(cells["row"], cells["column"],
                                                                         strict=True)])
        expected = cells["value"].fillna("").to_numpy()
        assert (written == expected).all(), table
    assert not defects.duplicated(["table", "row", "column"]).any()  # one defect per cell


def test_dirty_defects_are_present_in_the_files(dirty_dir, dirty_truth):
    defects = dirty_truth["defects"]
    transactions = read_table(dirty_dir, "transactions")
    customers = read_table(dirty_dir, "customers")
    counts = defects.groupby("defect").size()
    for defect in ("future_date", "unparseable_date", "unparseable_amount", "erroneous_negative_amount",
                   "exact_duplicate", "day_first_date", "day_first_datetime", "missing_value", "invalid_email",
                   "near_duplicate", "duplicate_customer_id", "inconsistent_country"):
        assert counts.get(defect, 0) >= 3, defect

    def values(defect, table="transactions"):
        return defects.query("defect == @defect and table == @table")

    future = values("future_date")
    assert (transactions.loc[future["row"], "date"].str[:4].astype(int) > 2026).all()
    assert transactions.loc[values("day_first_date")["row"], "date"].str.match(DAY_FIRST_DATE).all()
    assert transactions.loc[values("day_first_datetime")["row"], "date"].str.match(DAY_FIRST_DATETIME).all()
    assert pd.to_datetime(transactions.loc[values("unparseable_date")["row"], "date"], errors="coerce",
                          dayfirst=True, format="mixed").isna().all()
    assert pd.to_numeric(transactions.loc[values("unparseable_amount")["row"], "amount"],
                         errors="coerce").isna().all()
    # Dates not flagged are ISO, amounts not flagged are numbers.
    flagged = set(defects.query("table == 'transactions' and column == 'date'")["row"])
    assert transactions.loc[~transactions.index.isin(flagged), "date"].str.match(ISO_DATE).all()
    flagged = set(values("unparseable_amount")["row"])
    assert transactions.loc[~transactions.index.isin(flagged), "amount"].str.match(MONEY).all()

    copies = values("exact_duplicate")
    originals = copies["value"].astype(int).to_numpy()
    assert (transactions.loc[copies["row"]].to_numpy() == transactions.loc[originals].to_numpy()).all()
    assert transactions.duplicated().sum() == len(copies)

    errors = values("erroneous_negative_amount")
    assert (transactions.loc[errors["row"], "amount"].astype(float) < 0).all()
    assert (transactions.loc[errors["row"], "status"] != "returned").all()
    assert not transactions.drop(index=errors["row"])["order_id"].isin(errors["key"]).any()

    invalid = values("invalid_email", "customers")
    assert (customers.loc[invalid["row"], "email"] == invalid["value"].to_numpy()).all()
    assert not customers.loc[invalid["row"], "email"].str.match(VALID_EMAIL).all()
    assert customers.loc[invalid["row"], "email"].str.contains("gmial.com|@$|^no email$|^n/a$", regex=True).any()
    missing = values("missing_value", "customers")
    assert all(customers.at[r, c] == "" for r, c in zip(missing["row"], missing["column"], strict=True))
    assert set(missing["column"]) >= {"email", "phone", "city", "industry"}

    payments = read_table(dirty_dir, "payments")
    day_first = values("day_first_date", "payments")
    written = [payments.at[r, c] for r, c in zip(day_first["row"], day_first["column"], strict=True)]
    assert all(DAY_FIRST_DATE.match(w) for w in written)


def test_near_duplicates_are_recorded_and_carry_activity(dirty_dir, dirty_truth):
    customers = read_table(dirty_dir, "customers").set_index("customer_id")
    groups = dirty_truth["duplicate_groups"]
    truth = dirty_truth["customers"].set_index("customer_id")
    n_buyers = (truth["segment"].notna() & truth["duplicate_of"].isna()).sum()
    assert 0.03 <= groups["group_id"].nunique() / n_buyers <= 0.05
    assert groups["customer_id"].isin(customers.index).all()
    assert set(groups.groupby("group_id").size()) <= {2, 3}
    duplicates = groups[groups["customer_id"] != groups["original_id"]]
    assert (truth.loc[duplicates["customer_id"], "duplicate_of"].to_numpy() == duplicates["original_id"].to_numpy()).all()
    assert (truth.loc[duplicates["customer_id"], "segment"].to_numpy()
            == truth.loc[duplicates["original_id"], "segment"].to_numpy()).all()
    # The duplicate is a different spelling of the same customer, not a copy.
    assert (customers.loc[duplicates["customer_id"], "name"].to_numpy()
            != customers.loc[duplicates["original_id"], "name"].to_numpy()).all()
    phones = customers.loc[duplicates["customer_id"], "phone"]
    assert phones.str.startswith("+").any() and phones.str.contains(r"\.").any()

    transactions = read_table(dirty_dir, "transactions")
    assert set(transactions["customer_id"]) <= set(customers.index)
    on_duplicates = transactions["customer_id"].isin(duplicates["customer_id"])
    assert on_duplicates.sum() > 0
    for table in ("payments", "tickets"):
        assert read_table(dirty_dir, table)["customer_id"].isin(duplicates["customer_id"]).any(), table
    # Orders stay whole: all lines of an order (and its credit notes) belong to one id.
    assert (transactions.groupby("order_id")["customer_id"].nunique() == 1).all()


def test_load_truth_returns_tidy_frames(dirty_dir, dirty_truth):
    assert set(dirty_truth) == {"customers", "duplicate_groups", "defects", "leads"}
    assert list(dirty_truth["duplicate_groups"].columns) == ["group_id", "customer_id", "original_id"]
    assert list(dirty_truth["defects"].columns) == ["table", "key", "row", "column", "defect", "value"]
    assert dirty_truth["customers"]["customer_id"].is_unique
    assert dirty_truth["leads"]["lead_id"].is_unique
    assert dirty_truth["leads"]["converted"].dtype == bool
    assert pd.api.types.is_datetime64_any_dtype(dirty_truth["leads"]["conversion_date"])
    from_file = load_truth(dirty_dir / "truth.json")
    pd.testing.assert_frame_equal(from_file["defects"], dirty_truth["defects"])
    raw = json.loads((dirty_dir / "truth.json").read_text(encoding="utf-8"))
    assert set(raw) >= {"meta", "customers", "duplicate_groups", "defects", "leads", "unprofitable_candidates"}
    assert raw["meta"]["dirty"] is True


def test_committed_sample_is_what_the_generator_makes(tmp_path):
    """data/sample must be exactly `make sample`'s output: regenerate and compare bytes."""
    committed = Path(__file__).resolve().parents[2] / "data" / "sample"
    write_demo_data(tmp_path, n_customers=2000, seed=42, dirty=True)
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (committed / name).read_bytes() == (tmp_path / name).read_bytes(), f"{name} is stale: run make sample"


def test_objective_targets_follow_the_portfolio_size():
    """A 400-customer portfolio (the workshop's, `demo-data --customers 400`) had the 2,000-customer targets: every
    sum objective far off track. Sums scale with the number of customers, rates do not; 2,000 keeps the sample's."""
    from portfolio_helpers.analysis import engine

    sample = generate_portfolio(n_customers=400, seed=3)
    targets = {o["name"]: o["target"] for o in sample.config["objectives"]}
    reference = {o["name"]: o["target"] for o in SAMPLE_OBJECTIVES}
    assert targets["Keep our customers"] == reference["Keep our customers"]
    assert targets["Convert referral leads"] == reference["Convert referral leads"]
    tx = engine.revenue_lines(sample.tables["transactions"])
    revenue_2025 = tx.loc[tx["date"].astype(str) >= "2025-01-01", "amount"].sum()
    assert 0.5 <= revenue_2025 / targets["Grow revenue"] <= 2  # a goal within reach, not 5 times the business
    assert targets["Grow revenue"] == int(targets["Grow revenue"]) and isinstance(targets["Win new customers"], int)
    shipped = yaml.safe_load((Path(__file__).resolve().parents[2] / "data" / "sample" / "portfolio.yml").read_text())
    assert [o["target"] for o in shipped["objectives"]] == [o["target"] for o in SAMPLE_OBJECTIVES]


def test_leads_contact_wishes_come_from_a_stream_of_their_own(monkeypatch):
    """The leads' four contact columns are appended from their own stream: without them every table
    (and the voice: feedback, the customers' contact columns) is exactly the same."""
    from portfolio_helpers.app import sample_data

    with_wishes = generate_portfolio(n_customers=150, seed=3, dirty=True)
    monkeypatch.setattr(sample_data, "_with_lead_contact_preferences", lambda leads, rng, dirty: (leads, []))
    without = generate_portfolio(n_customers=150, seed=3, dirty=True)
    added = ["preferred_channel", "consent_email", "consent_phone", "do_not_contact"]
    for table in TABLE_NAMES:
        expected = without.tables[table]
        got = with_wishes.tables[table]
        if table == "leads":
            assert list(got.columns) == [*expected.columns, *added]
            got = got[list(expected.columns)]
        pd.testing.assert_frame_equal(got, expected, obj=table)
    leads = with_wishes.tables["leads"]
    assert (leads.groupby("lead_id")[added].nunique() == 1).all().all()  # one value per lead, on each row
    assert leads["consent_email"].isin(["yes", "no", "oui", "non", "1", "0", "true", "false", "Y", "N"]).all()
    flagged = leads.loc[leads["do_not_contact"].isin(["yes", "oui", "1", "true", "Y"]), "lead_id"]
    assert with_wishes.truth["feedback"]["leads_do_not_contact"] == sorted(flagged.unique()) != []
