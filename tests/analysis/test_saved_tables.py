"""What notebook 05 takes from notebook 04 comes from the saved typed table (segmentation.cluster_names)."""

import pandas as pd

from portfolio_helpers.analysis import segmentation


def features(ids):
    return pd.DataFrame({"customer_id": pd.array(ids, dtype="string")})


def test_cluster_names_come_from_the_saved_segments_not_the_export(tmp_path):
    assert segmentation.cluster_names(tmp_path, features(["a", "b"])) is None  # notebook 04 did not run
    (tmp_path / "exports").mkdir()
    pd.DataFrame({"customer_id": ["a", "b"], "cluster_name": ["From the export", "From the export"]}).to_csv(
        tmp_path / "exports" / "customers.csv", index=False)
    assert segmentation.cluster_names(tmp_path, features(["a", "b"])) is None  # the user-facing export is not read
    saved = pd.DataFrame({"customer_id": ["a", "b", "c"], "rfm_segment": ["Champions", "Lost", "Lost"],
                          "cluster": [0, 1, 1], "cluster_name": ["Big spenders", "Sleepers", "Sleepers"],
                          "lifecycle_stage": ["customer"] * 3})
    segmentation.save_segments(saved, tmp_path)
    names = segmentation.cluster_names(tmp_path, features(["b", "a", "z"]))
    assert names.tolist()[:2] == ["Sleepers", "Big spenders"] and pd.isna(names.iloc[2])


def test_cluster_names_none_when_notebook_04_could_not_cluster(tmp_path):
    saved = pd.DataFrame({"customer_id": ["a"], "rfm_segment": ["Lost"], "cluster": [pd.NA],
                          "cluster_name": [pd.NA], "lifecycle_stage": ["customer"]})
    segmentation.save_segments(saved, tmp_path)
    assert segmentation.cluster_names(tmp_path, features(["a"])) is None
