"""What notebook 05 takes from notebook 04 comes from the saved typed table (segmentation.cluster_names)."""

from pathlib import Path

import pandas as pd
import pytest

from portfolio_helpers.analysis import features, profitability, segmentation
from portfolio_helpers.cleaning.pipeline import load_derived_table, open_portfolio


def features_of(ids):
    return pd.DataFrame({"customer_id": pd.array(ids, dtype="string")})


def test_cluster_names_come_from_the_saved_segments_not_the_export(tmp_path):
    assert segmentation.cluster_names(tmp_path, features_of(["a", "b"])) is None  # notebook 04 did not run
    (tmp_path / "exports").mkdir()
    pd.DataFrame({"customer_id": ["a", "b"], "cluster_name": ["From the export", "From the export"]}).to_csv(
        tmp_path / "exports" / "customers.csv", index=False)
    assert segmentation.cluster_names(tmp_path, features_of(["a", "b"])) is None  # the user-facing export is not read
    saved = pd.DataFrame({"customer_id": ["a", "b", "c"], "rfm_segment": ["Champions", "Lost", "Lost"],
                          "cluster": [0, 1, 1], "cluster_name": ["Big spenders", "Sleepers", "Sleepers"],
                          "lifecycle_stage": ["customer"] * 3})
    segmentation.save_segments(saved, tmp_path)
    names = segmentation.cluster_names(tmp_path, features_of(["b", "a", "z"]))
    assert names.tolist()[:2] == ["Sleepers", "Big spenders"] and pd.isna(names.iloc[2])


def test_cluster_names_none_when_notebook_04_could_not_cluster(tmp_path):
    saved = pd.DataFrame({"customer_id": ["a"], "rfm_segment": ["Lost"], "cluster": [pd.NA],
                          "cluster_name": [pd.NA], "lifecycle_stage": ["customer"]})
    segmentation.save_segments(saved, tmp_path)
    assert segmentation.cluster_names(tmp_path, features_of(["a"])) is None


# --------------------------------------------------------------------------- the P&L and features of notebook 03

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "portfolio.yml"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """The cleaned sample in a run folder, and the P&L and features computed from it."""
    output_dir = tmp_path_factory.mktemp("saved_tables")
    tables, info = open_portfolio(SAMPLE, output_dir)
    frames = {"customers": tables.get("customers"), "payments": tables.get("payments"),
              "tickets": tables.get("tickets")}
    model = profitability.load_cost_model(SAMPLE)
    pnl, customer_features = features.customer_tables(tables["transactions"], info["as_of"], model, **frames)
    return output_dir, tables, info, frames, model, pnl, customer_features


def test_saved_pnl_and_features_come_back_identical_and_typed(sample_run):
    output_dir, tables, info, frames, model, pnl, customer_features = sample_run
    features.save_customer_tables(output_dir, pnl, customer_features)
    assert {"customer_pnl.parquet", "customer_features.parquet"} <= {p.name for p in (output_dir / "data").iterdir()}
    # what later notebooks read: the saved tables, not a recomputation (an empty transactions table proves it)
    loaded_pnl, loaded_features = features.customer_tables(tables["transactions"].limit(0), info["as_of"], model,
                                                           **frames, output_dir=output_dir)
    pd.testing.assert_frame_equal(loaded_pnl, pnl)
    pd.testing.assert_frame_equal(loaded_features, customer_features)
    # the saved tables are not input tables of the next notebook, nor user-facing exports
    assert set(open_portfolio(SAMPLE, output_dir)[0]) == set(tables)
    assert not list((output_dir / "exports").glob("customer_pnl*")) and not list((output_dir / "exports").glob(
        "customer_features*"))


def test_without_saved_tables_or_after_a_new_cleaning_they_are_computed(sample_run, tmp_path):
    output_dir, tables, info, frames, model, pnl, customer_features = sample_run
    computed = features.customer_tables(tables["transactions"], info["as_of"], model, **frames, output_dir=tmp_path)
    pd.testing.assert_frame_equal(computed[1], customer_features)  # nothing saved in tmp_path: computed
    features.save_customer_tables(output_dir, pnl, customer_features)
    info_path = output_dir / "data" / "portfolio.json"
    original = info_path.read_text(encoding="utf-8")
    try:
        info_path.write_text(original.replace("}", ', "rerun": true}', 1), encoding="utf-8")  # notebook 01 again
        assert load_derived_table(features.PNL_TABLE, output_dir) is None
        again = features.customer_tables(tables["transactions"].limit(0), info["as_of"], model, **frames,
                                         output_dir=output_dir)
        assert again[0].empty  # recomputed from the (empty) transactions given, not read from the stale file
    finally:
        info_path.write_text(original, encoding="utf-8")
