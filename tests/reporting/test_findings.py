"""Findings and summary charts recorded by the notebooks (reporting.metrics)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from portfolio_helpers.analysis.scorecard import grade_distribution  # noqa: E402
from portfolio_helpers.app.runner import DEFAULT_NOTEBOOKS_DIR  # noqa: E402
from portfolio_helpers.reporting import charts  # noqa: E402
from portfolio_helpers.reporting.metrics import (  # noqa: E402
    MetricsRecorder,
    findings_path,
    read_findings,
    section_anchor,
    top_findings,
)


def test_record_findings_returns_the_sentences_and_writes_them(tmp_path):
    recorder = MetricsRecorder(tmp_path, "02_pareto")
    shown = recorder.record_findings(["First **78%**.", "", "Second."], section="Key findings")
    assert shown == ["First **78%**.", "", "Second."]  # displayed unchanged, empty included
    recorder.record_findings(["Detail."], section="Trend over time", priority=3)
    saved = json.loads(findings_path(tmp_path, "02_pareto").read_text(encoding="utf-8"))
    assert saved["findings"] == [
        {"text": "First **78%**.", "priority": 1, "rank": 1, "section": "Key findings", "anchor": "Key-findings"},
        {"text": "Second.", "priority": 1, "rank": 2, "section": "Key findings", "anchor": "Key-findings"},
        {"text": "Detail.", "priority": 3, "rank": 3, "section": "Trend over time", "anchor": "Trend-over-time"},
    ]
    assert saved["charts"] == []


def test_record_findings_per_sentence_priorities_and_errors(tmp_path):
    recorder = MetricsRecorder(tmp_path, "05_scoring")
    recorder.record_findings(["a", "b"], priority=[2, 1])
    assert [f["priority"] for f in recorder.findings] == [2, 1]
    with pytest.raises(ValueError, match="2 priorities for 1 findings"):
        recorder.record_findings(["a"], priority=[1, 2])
    with pytest.raises(ValueError, match="priority must be one of"):
        recorder.record_findings(["a"], priority=0)
    with pytest.raises(ValueError, match="priority must be one of"):
        recorder.record_findings(["a"], priority=True)
    with pytest.raises(ValueError, match="section"):
        recorder.record_findings(["a"], section=" ")
    with pytest.raises(TypeError, match="sentence"):
        recorder.record_findings([3.5])
    assert len(recorder.findings) == 2  # failed calls recorded nothing


def test_record_chart_saves_a_small_png_and_returns_the_figure(tmp_path):
    recorder = MetricsRecorder(tmp_path, "05_scoring")
    distribution = grade_distribution(pd.DataFrame(
        {"grade": pd.Categorical(["A", "B", "B", "C", "C", "C"], categories=["A", "B", "C"])}))
    figure = charts.grade_funnel(distribution, "Open leads per grade")
    assert recorder.record_chart("lead_grade_funnel", figure, section="Open leads") is figure
    png = tmp_path / "charts" / "05_scoring-lead_grade_funnel.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png.read_bytes()[16:20], "big")
    assert 200 < width < 700  # small: a thumbnail for the index, not the full figure
    recorder.record_chart("lead_grade_funnel", figure)  # recorded again: replaced, not duplicated
    saved = json.loads(findings_path(tmp_path, "05_scoring").read_text(encoding="utf-8"))
    assert saved["charts"] == [{"name": "lead_grade_funnel", "title": "Open leads per grade",
                                "file": "charts/05_scoring-lead_grade_funnel.png", "section": None,
                                "anchor": None}]
    with pytest.raises(ValueError, match="snake_case"):
        recorder.record_chart("Lead funnel", figure)
    plt.close("all")


def test_grade_funnel_shows_every_grade_best_on_top_with_counts():
    distribution = grade_distribution(pd.DataFrame(
        {"grade": pd.Categorical(["A", "C", "C", "C"], categories=["A", "B", "C"])}))
    figure = charts.grade_funnel(distribution, "Open leads per grade")
    ax = figure.axes[0]
    assert [label.get_text() for label in ax.get_yticklabels()] == ["C", "B", "A"]  # A drawn last = on top
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["3 leads (75.0%)", "0 leads (0.0%)", "1 leads (25.0%)"]
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == [3, 0, 1]
    assert [patch.get_x() for patch in ax.patches] == [0, 1.5, 1]  # centred on the widest bar


def test_top_findings_takes_turns_between_notebooks_by_priority(tmp_path):
    for notebook, priority, n in (("01_data_cleaning", 2, 3), ("02_pareto", 1, 4), ("03_profitability", 1, 2)):
        MetricsRecorder(tmp_path, notebook).record_findings([f"{notebook} #{i}" for i in range(1, n + 1)],
                                                            priority=priority)
    recorded = read_findings(tmp_path, ["01_data_cleaning", "02_pareto", "03_profitability", "04_missing"])
    assert list(recorded) == ["01_data_cleaning", "02_pareto", "03_profitability"]
    top = top_findings(recorded, n=7)
    assert [f["text"] for f in top] == [
        "02_pareto #1", "03_profitability #1", "02_pareto #2", "03_profitability #2", "02_pareto #3",
        "02_pareto #4", "01_data_cleaning #1"]
    assert top[0]["notebook"] == "02_pareto"
    assert top_findings({}, n=10) == []


def test_section_anchor_matches_the_ids_of_the_notebook_pages():
    # nbconvert's ids: the heading text with spaces turned into hyphens
    assert section_anchor("Open leads: grades and whom to call first") == "Open-leads:-grades-and-whom-to-call-first"


@pytest.mark.parametrize("name", ["01_data_cleaning", "02_pareto", "03_profitability", "04_segmentation",
                                  "05_scoring"])
def test_each_notebook_records_the_findings_it_displays(name):
    nb = nbformat.read(DEFAULT_NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "show_markdown(bullets(metrics.record_findings(" in code
    headings = {line.lstrip("#").strip() for cell in nb.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("#")}
    assert "Key findings" in headings  # the default section the findings link to
    for cell in nb.cells:  # every chart links to a heading of its notebook
        for section in [part.split('"')[1] for part in cell.source.split("section=")[1:]]:
            assert section in headings, section
