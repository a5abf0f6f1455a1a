"""Every valid shape of the data contract completes every notebook.

The notebooks' code cells are executed here in-process, in order, with the parameters a report run
gives them (``interactive=False``): the very calls the notebooks make, without starting a kernel.
Shapes come from :mod:`tests.shapes`: which optional tables and columns exist, empty columns, 1-50
customers with 1-20 lines each, purchases on a single day, leads with or without conversions.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import sys
import tempfile
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import NAMED_SHAPES, Shape, run_notebook_in_process, shape_frames, shape_strategy, write_portfolio  # noqa: E402

matplotlib.use("Agg")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0*.ipynb"))


def run_all_notebooks(shape: Shape, folder: Path, notebooks: list[Path] | None = None) -> dict[str, dict]:
    """Run the notebooks (default: all) on ``shape``, after a failure the next ones too, as in a report;
    return each notebook's recorded metrics, or raise naming every notebook that failed."""
    import matplotlib.pyplot as plt

    config = write_portfolio(shape, folder / "data")
    out = folder / "out"
    metrics, failures = {}, []
    for notebook in notebooks or NOTEBOOKS:
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                run_notebook_in_process(notebook, {"config_path": str(config), "output_dir": str(out),
                                                   "interactive": False})
            except Exception as error:  # noqa: BLE001 - every failure is reported below
                failures.append(f"{notebook.stem}: {type(error).__name__}: {error}")
                if notebook.stem.startswith("01"):
                    break  # the later notebooks read what notebook 01 saves
            finally:
                plt.close("all")
        path = out / "metrics" / f"{notebook.stem}.json"
        metrics[notebook.stem] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if failures:
        raise AssertionError(f"shape {shape.describe()}: " + " | ".join(failures))
    return metrics


def test_generator_writes_only_the_chosen_columns_and_empty_ones():
    shape = Shape(n_customers=3, lines_per_customer=(2,), tables=("customers",),
                  columns={"transactions": ("status",), "customers": ("email", "phone")},
                  empty=(("customers", "email"),))
    frames = shape_frames(shape)
    assert list(frames["transactions"].columns) == ["customer_id", "date", "amount", "status"]
    assert list(frames["customers"].columns) == ["customer_id", "email", "phone"]
    assert frames["customers"]["email"].isna().all() and frames["customers"]["phone"].notna().all()
    assert len(frames["transactions"]) == 6 and frames["transactions"]["customer_id"].nunique() == 3


def test_generator_single_day():
    frames = shape_frames(Shape(n_customers=4, lines_per_customer=(1, 3), single_day=True))
    assert frames["transactions"]["date"].nunique() == 1


# (the other named shapes run end to end through the CLI in test_shapes_cli.py)
@pytest.mark.parametrize("name", ["customers_id_and_name", "leads_none_converted", "every_line_cancelled",
                                  "everything", "feedback_csat_required_only"])
def test_named_shape_completes_every_notebook(name, tmp_path):
    metrics = run_all_notebooks(NAMED_SHAPES[name], tmp_path)
    assert metrics["01_data_cleaning"]["n_transactions"] == len(shape_frames(NAMED_SHAPES[name])["transactions"])


def test_missing_columns_are_said_in_plain_words(tmp_path):
    shape = NAMED_SHAPES["customers_id_only"]
    config = write_portfolio(shape, tmp_path / "data")
    namespace = run_notebook_in_process(NOTEBOOKS[0], {"config_path": str(config),
                                                      "output_dir": str(tmp_path / "out"), "interactive": False})
    findings = "\n".join(namespace["findings"])
    assert "No e-mail column in the customers table: e-mail checks skipped" in findings
    assert "No phone column in the customers table" in findings
    # the duplicate search had nothing to compare: it is said to be skipped, not to have found nothing
    assert "the search for customers entered twice skipped" in findings
    assert "No duplicate customer" not in findings
    assert "n_invalid_emails" not in json.loads((tmp_path / "out/metrics/01_data_cleaning.json").read_text())


def test_empty_email_column_is_absent(tmp_path):
    metrics = run_all_notebooks(NAMED_SHAPES["empty_email_phone"], tmp_path)["01_data_cleaning"]
    assert "n_invalid_emails" not in metrics and "n_invalid_phones" not in metrics
    assert metrics["n_customers"] == 10


# One property per notebook, each run after notebook 01 (which saves the cleaned tables the others read),
# so that a failure of one notebook does not hide the shapes the others fail on.
@pytest.mark.parametrize("notebook", NOTEBOOKS[1:], ids=lambda path: path.stem)
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(shape=shape_strategy())
def test_every_drawn_shape_completes_every_notebook(notebook, shape):
    with tempfile.TemporaryDirectory(prefix="shape-") as tmp:
        metrics = run_all_notebooks(shape, Path(tmp), [NOTEBOOKS[0], notebook])
    n_lines = sum(itertools.islice(itertools.cycle(shape.lines_per_customer), shape.n_customers))
    assert metrics["01_data_cleaning"]["n_transactions"] == n_lines
    assert metrics[notebook.stem], f"{notebook.stem} records its metrics"


# --------------------------------------------------------------------------- edge cases by hand


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(shape=shape_strategy(required=("feedback",)))
def test_every_drawn_feedback_shape_completes_notebook_08(shape):
    """Survey answers on any scale, with or without their optional columns (some empty), the customers'
    and leads' contact columns in any spelling or absent: notebook 08 completes and records its figures."""
    voice = next(path for path in NOTEBOOKS if path.stem == "08_voice")
    with tempfile.TemporaryDirectory(prefix="shape-") as tmp:
        metrics = run_all_notebooks(shape, Path(tmp), [NOTEBOOKS[0], voice])["08_voice"]
    assert ("nps" in metrics) == (shape.feedback_scale == "nps") and "n_excluded_no_consent" in metrics
    assert ("csat_mean" in metrics) == (shape.feedback_scale != "nps")


def test_all_empty_text_column_standardizes_to_missing():
    from portfolio_helpers.cleaning.standardize import standardize_emails, standardize_text

    empty = pd.Series([None, None, None], dtype="string")
    assert standardize_text(empty).isna().all() and len(standardize_text(empty)) == 3
    emails = standardize_emails(empty)
    assert emails["email"].isna().all() and not emails["email_valid"].any()


def test_leads_without_customer_id_column_are_open_or_closed():
    from portfolio_helpers.analysis.scoring import lead_profiles

    leads = pd.DataFrame({"lead_id": ["L1", "L1", "L2"],
                          "date": pd.to_datetime(["2025-12-01", "2025-12-20", "2025-01-05"])})
    profiles, events = lead_profiles(leads, "2025-12-31", open_days=90)
    assert profiles["status"].to_dict() == {"L1": "open", "L2": "closed"}
    assert profiles["conversion_date"].isna().all() and not profiles["converted"].any()
    # open: scored today; closed: as of its last activity
    assert profiles["reference_date"].tolist() == [pd.Timestamp("2025-12-31"), pd.Timestamp("2025-01-05")]
    assert len(events) == 3


def test_lead_converted_before_any_activity_is_scored_as_of_its_conversion():
    from portfolio_helpers.analysis.scoring import (
        lead_profiles,
        lead_scorecard,
        score_leads,
        scoring_settings,
    )

    # L1's customer C1 first bought on 2025-03-01; the lead's only rows come later (after the conversion)
    leads = pd.DataFrame({"lead_id": ["L1", "L1", "L2"],
                          "date": pd.to_datetime(["2025-06-01", "2025-07-01", "2025-12-01"]),
                          "customer_id": ["C1", None, None], "industry": ["Food", "Food", "Retail"]})
    tx = pd.DataFrame({"customer_id": ["C1"], "date": pd.to_datetime(["2025-03-01"]), "amount": [10.0]})
    profiles, events = lead_profiles(leads, "2025-12-31", transactions=tx)
    l1 = profiles.loc["L1"]
    assert l1["status"] == "converted" and l1["n_events"] == 0 and pd.isna(l1["last_activity"])
    assert l1["conversion_date"] == pd.Timestamp("2025-03-01") == l1["reference_date"]
    assert events["lead_id"].tolist() == ["L2"]
    scores = score_leads(lead_scorecard(scoring_settings(None), profiles.columns), profiles, events)
    assert list(scores.index) == ["L1", "L2"]


def test_payments_with_empty_paid_date_count_as_no_payment_dates():
    from portfolio_helpers.analysis.profitability import CostModel, driver_quantities

    tx = pd.DataFrame({"customer_id": ["a", "b"], "date": pd.to_datetime(["2025-01-10", "2025-02-01"]),
                       "amount": [100.0, 50.0], "order_id": [None, None]})
    payments = pd.DataFrame({"customer_id": ["a"], "due_date": pd.to_datetime(["2025-02-10"]), "amount": [100.0],
                             "order_id": [None], "paid_date": pd.Series([pd.NaT], dtype="datetime64[s]")})
    q = driver_quantities(tx, CostModel(), payments=payments, as_of="2025-12-31")
    # an empty paid_date is no evidence of lateness: nothing is counted late (not 323 days overdue)
    assert q["capital_days"].tolist() == [0.0, 0.0] and q["n_late_invoices"].tolist() == [0, 0]


def test_notebook_01_metrics_without_contact_columns():
    from portfolio_helpers.reporting.absence import Need, absence_notes

    tables = {"customers": pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "phone": [None]})}
    notes = absence_notes(tables, [Need("customers", ("email",), "e-mail checks"),
                                   Need("customers", ("phone",), "phone checks"),
                                   Need("customers", ("name", "email"), "the search for duplicates"),
                                   Need("tickets", ("minutes",), "service minutes")])
    assert notes == [
        "No e-mail column in the customers table: e-mail checks skipped (map `email` under "
        "`tables: customers: columns:` in the config to enable them).",
        "No phone column in the customers table: phone checks skipped (map `phone` under "
        "`tables: customers: columns:` in the config to enable them).",
        "No tickets table: service minutes skipped (add `tables: tickets:` to the config to enable it).",
    ]
