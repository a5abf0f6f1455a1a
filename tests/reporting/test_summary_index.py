"""index.html as an executive summary, from what the notebooks recorded (reporting.summary)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from portfolio_helpers.reporting import charts  # noqa: E402
from portfolio_helpers.reporting.html import find_network_references, render_index  # noqa: E402
from portfolio_helpers.reporting.metrics import MetricsRecorder  # noqa: E402
from portfolio_helpers.reporting.summary import (  # noqa: E402
    N_FINDINGS,
    executive_summary,
    format_key_figure,
    key_figures,
)

SCRIPT = "<script>alert(1)</script>"


def _figure(title):
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot([0, 1], [0, 1])
    ax.set_title(title)
    plt.close(fig)
    return fig


def _run(notebooks, status="ok"):
    return {"status": status, "run_id": "20250101-000000", "portfolio": "Acme", "as_of": "2025-12-31",
            "started": "2025-12-31T10:00:00", "duration_seconds": 42.0, "currency": "EUR", "config": "/x.yml",
            "notebooks": notebooks, "metrics": {}, "inputs": [], "n_rejected_rows": 0, "versions": {"pandas": "2"},
            "git": None}


def _nb(name, status="ok", title=None):
    return {"name": name, "status": status, "seconds": 1.0 if status != "skipped" else None, "error": None,
            "cell": None, "html": f"{name}.html" if status != "skipped" else None, "title": title or name}


@pytest.fixture
def full_run(tmp_path):
    """Five notebooks recording like 01-05 do, with more findings than the index shows."""
    m1 = MetricsRecorder(tmp_path, "01_data_cleaning")
    m1.record("revenue_total", 12348962.34)
    m1.record("n_customers", 2382)
    m1.record_findings(["Loaded **60,830** lines.", "36 rows set aside."], priority=2)
    m2 = MetricsRecorder(tmp_path, "02_pareto")
    m2.record("top20_share", 0.788)
    m2.record("hhi", 27.76)
    m2.record("hhi_level", "unconcentrated")
    m2.record_findings([f"The top 20% bring **78.8%** of revenue; {SCRIPT}", "Pareto 2", "Pareto 3", "Pareto 4"])
    m2.record_chart("pareto_curve", _figure("Revenue per customer"), section="The Pareto chart")
    m3 = MetricsRecorder(tmp_path, "03_profitability")
    m3.record("share_unprofitable_customers", 0.15)
    m3.record_findings(["**15%** of customers lose money.", "Profit 2", "Profit 3"])
    m3.record_chart("whale_curve", _figure("Whale curve"), section="The whale curve")
    m4 = MetricsRecorder(tmp_path, "04_segmentation")
    m4.record_findings(["Seven segments.", "Segments 2"])
    m4.record_chart("segment_sizes", _figure("RFM segments"), section="RFM segments")
    m5 = MetricsRecorder(tmp_path, "05_scoring")
    m5.record("auc_conversion", 0.7989)
    m5.record_findings(["Call the **17** A leads.", "Scoring 2"])
    m5.record_chart("lead_grade_funnel", _figure("Open leads per grade"),
                    section="Open leads: grades and whom to call first")
    notebooks = [_nb("01_data_cleaning", title="1 · Data"), _nb("02_pareto", title="2 · Pareto"),
                 _nb("03_profitability", title="3 · Profit"), _nb("04_segmentation", title="4 · Segments"),
                 _nb("05_scoring", title="5 · Scoring")]
    return tmp_path, notebooks


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html):
    page = _Page()
    page.feed(html)
    return page


def test_summary_takes_the_ten_findings_notebooks_taking_turns(full_run):
    run_dir, notebooks = full_run
    summary = executive_summary(run_dir, notebooks, "EUR")
    assert len(summary["findings"]) == N_FINDINGS == 10
    assert [f["notebook"] for f in summary["findings"]] == [
        "02_pareto", "03_profitability", "04_segmentation", "05_scoring",
        "02_pareto", "03_profitability", "04_segmentation", "05_scoring",
        "02_pareto", "03_profitability"]  # priority 1 first, by rank; 01's priority-2 findings come after
    first = summary["findings"][0]
    assert first["href"] == "02_pareto.html#Key-findings" and first["notebook_title"] == "2 · Pareto"
    assert str(first["html"]).startswith("The top 20% bring <strong>78.8%</strong> of revenue; &lt;script&gt;")
    assert [c["name"] for c in summary["charts"]] == ["pareto_curve", "whale_curve", "segment_sizes",
                                                       "lead_grade_funnel"]
    assert summary["charts"][1]["href"] == "03_profitability.html#The-whale-curve"
    assert all(c["src"].startswith("data:image/png;base64,iVBORw0KGgo") for c in summary["charts"])
    assert summary["missing_charts"] == [] and summary["silent"] == []
    groups = {g["notebook"]: g for g in summary["key_figures"]}
    assert list(groups) == ["01_data_cleaning", "02_pareto", "03_profitability", "05_scoring"]
    assert groups["02_pareto"]["figures"] == [
        {"name": "top20_share", "label": "Revenue from the top 20% of customers", "value": "78.8%"},
        {"name": "hhi", "label": "Concentration (Herfindahl-Hirschman index)", "value": "28 points (unconcentrated)"},
    ]
    assert groups["01_data_cleaning"]["figures"][0]["value"] == "€12.35 M"
    assert groups["03_profitability"]["figures"][0]["value"] == "15.0%"


def test_index_page_is_a_summary_escaped_and_offline(full_run):
    run_dir, notebooks = full_run
    html = render_index(_run(notebooks), [], None, run_dir=run_dir)
    assert find_network_references(html) == []
    page = _parse(html)
    assert not [tag for tag, _ in page.tags if tag == "script"]  # the finding's <script> is text
    shown = " ".join(page.text)
    assert SCRIPT in shown
    headings = re.findall(r"<h2 id=\"([^\"]+)\"", html)
    assert headings == ["findings", "charts", "key-figures", "run-details"]  # run details last
    for text in ("Acme", "2025-12-31", "5 of 5 analyses completed", "28 points (unconcentrated)",
                 "Revenue from the top 20% of customers", 'href="02_pareto.html#Key-findings"',
                 'href="05_scoring.html#Open-leads:-grades-and-whom-to-call-first"', "Lead grade funnel",
                 "Conversion model ranking (ROC AUC, 0.5 to 1)"):
        assert text in html, text
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 4 and all(a["src"].startswith("data:image/png;base64,") for a in images)
    findings = html[html.index('<ol class="findings">'):html.index("</ol>")]
    assert findings.count("<li>") == 10 and "Loaded" not in findings


def test_index_works_when_notebooks_failed_or_were_skipped(full_run, tmp_path):
    run_dir, _ = full_run
    # 03 and 05 never recorded (say, 03 failed in its first cell and 05 was skipped); 04 recorded nothing
    for name in ("03_profitability", "05_scoring"):
        (run_dir / "findings" / f"{name}.json").unlink()
        (run_dir / "metrics" / f"{name}.json").unlink(missing_ok=True)
    (run_dir / "findings" / "04_segmentation.json").write_text('{"findings": [], "charts": []}')
    notebooks = [_nb("01_data_cleaning"), _nb("02_pareto"), _nb("03_profitability", "failed", "3 · Profit"),
                 _nb("04_segmentation", title="4 · Segments"), _nb("05_scoring", "skipped", "5 · Scoring")]
    summary = executive_summary(run_dir, notebooks, "EUR")
    assert [f["notebook"] for f in summary["findings"]] == ["02_pareto"] * 4 + ["01_data_cleaning"] * 2
    assert summary["missing_charts"] == ["Whale curve", "Segment sizes and revenue", "Lead grade funnel"]
    assert summary["silent"] == ["3 · Profit", "4 · Segments", "5 · Scoring"]
    html = render_index(_run(notebooks, "failed"), [], None, run_dir=run_dir)
    assert "3 of 5 analyses completed, 1 failed, 1 skipped" in html
    assert "Not available in this run: Whale curve, Segment sizes and revenue, Lead grade funnel." in html
    assert "No findings from: 3 · Profit, 4 · Segments, 5 · Scoring." in html
    assert html.count("<img") == 1


def test_index_without_anything_recorded(tmp_path):
    notebooks = [_nb("01_data_cleaning", "failed"), _nb("02_pareto", "skipped")]
    html = render_index(_run(notebooks, "failed"), [], None, run_dir=tmp_path)
    for text in ("No findings were recorded.", "No key figures were recorded.", "Not available in this run: "
                 "Pareto curve, Whale curve, Segment sizes and revenue, Lead grade funnel."):
        assert text in html
    assert find_network_references(html) == []


def test_a_chart_file_that_is_not_a_png_is_left_out(full_run):
    run_dir, notebooks = full_run
    (run_dir / "charts" / "02_pareto-pareto_curve.png").write_text("<svg onload=alert(1)>")
    summary = executive_summary(run_dir, notebooks, "EUR")
    assert "Pareto curve" in summary["missing_charts"] and len(summary["charts"]) == 3


@pytest.mark.parametrize(("name", "value", "shown"), [
    ("whale_peak_pct", 124.515, "124.5%"), ("quality_score", 99.86, "99.9 / 100"), ("gini", 0.75887, "0.76"),
    ("n_orders", 30034, "30,034"), ("cost_to_serve_total", 1907088.14, "€1.91 M"), ("hhi", 3000.4, "3,000 points"),
    ("net_revenue_retention", 1.0438, "104.4%"), ("nps", 30.0, "+30 points"), ("nps", -12.4, "-12 points"),
    ("response_rate", 0.25, "25.0%"), ("clv_model", "mbgnbd", "modified BG/NBD"), ("clv_profit_total", 250000.0, "€250.0 k"),
])
def test_key_figure_units(name, value, shown):
    assert format_key_figure(name, value, "EUR")[1] == shown


def test_model_parameters_stay_off_the_index():
    groups = key_figures({"06_value": {"bgnbd_r": 0.243, "gg_p": 6.25, "clv_total": 1000.0}}, "EUR")
    assert [figure["name"] for figure in groups[0]["figures"]] == ["clv_total"]


def test_grade_funnel_chart_is_recordable(tmp_path):
    from portfolio_helpers.analysis.scorecard import grade_distribution
    distribution = grade_distribution(pd.DataFrame({"grade": pd.Categorical(["A"], categories=["A", "B"])}))
    MetricsRecorder(tmp_path, "05_scoring").record_chart(
        "lead_grade_funnel", charts.grade_funnel(distribution, "Open leads per grade"))
    summary = executive_summary(tmp_path, [_nb("05_scoring")], "EUR")
    assert [c["caption"] for c in summary["charts"]] == ["Lead grade funnel"]
    assert summary["charts"][0]["href"] == "05_scoring.html"  # no section: the page itself
