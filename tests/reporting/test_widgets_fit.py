"""Explorer widgets that fit: full labels, wide slider tracks, scrolling output (the browser test
tests/browser/test_widgets.py measures them in JupyterLab)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

widgets = pytest.importorskip("ipywidgets")

from portfolio_helpers.analysis import profitability, segmentation  # noqa: E402
from portfolio_helpers.reporting import pareto as pareto_report  # noqa: E402
from portfolio_helpers.reporting import profitability as profit_report  # noqa: E402
from portfolio_helpers.reporting import segmentation as segment_report  # noqa: E402
from portfolio_helpers.reporting.widgets import LABEL_WIDTH, SLIDER_WIDTH, labelled_slider  # noqa: E402


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _sliders(box):
    return [w for w in _walk(box) if isinstance(w, widgets.FloatSlider | widgets.IntSlider)]


def _check_fits(box):
    sliders = _sliders(box)
    assert sliders
    for slider in sliders:
        assert slider.description == "" and slider.layout.width == SLIDER_WIDTH == slider.layout.min_width
        assert slider.tooltip  # the label, in full
    outputs = [w for w in _walk(box) if isinstance(w, widgets.Output)]
    assert outputs and all(o.layout.overflow == "auto" for o in outputs)
    return sliders


def test_labelled_slider_keeps_the_whole_label_escaped():
    label = "expected purchase within 90 days & <more> than the 28 characters a cut kept"
    row, slider = labelled_slider(label, integer=True, value=3, min=0, max=30)
    assert isinstance(slider, widgets.IntSlider) and slider.tooltip == label
    text = row.children[0]
    assert "expected purchase within 90 days &amp; &lt;more&gt; than the 28 characters a cut kept" in text.value
    assert text.layout.width == LABEL_WIDTH


def test_pareto_explorer_fits():
    rng = np.random.default_rng(0)
    per_customer = pd.DataFrame({"customer_id": [f"c{i}" for i in range(30)], "revenue": rng.gamma(2, 100, 30)})
    sliders = _check_fits(pareto_report.pareto_explorer(per_customer, "EUR", 0.2, 0.8, 0.95))
    assert [s.tooltip for s in sliders] == ["top X% of customers", "class A: customers up to this share of revenue",
                                            "class B: customers up to this share of revenue"]


def test_segmentation_explorer_fits():
    rng = np.random.default_rng(0)
    feats = pd.DataFrame({"customer_id": [f"c{i}" for i in range(40)], "recency_days": rng.integers(1, 400, 40),
                          "frequency": rng.integers(1, 9, 40), "monetary": rng.gamma(2.0, 100.0, 40)})
    ran = segmentation.segment_customers(feats, n_boot=2)
    sliders = _check_fits(segment_report.explorer(feats, ran))
    assert [s.tooltip for s in sliders] == ["number of segments (k)"]


def test_rate_explorer_fits_and_names_no_whale_curve():
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
                       "date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
                       "amount": [1000.0, 500.0, 20.0]})
    model = profitability.CostModel(per_order=30.0)
    quantities = profitability.driver_quantities(tx, model, as_of="2025-12-31")
    sliders = _check_fits(profit_report.rate_explorer(model, quantities, None, "EUR"))
    assert all(s.tooltip.endswith("× (1.0 = the config's rate)") for s in sliders)
    pnl = profitability.price(quantities, model)
    summary = profitability.whale_summary(pnl)
    static = profit_report.findings(pnl, summary, "EUR")
    explored = profit_report.findings(pnl, summary, "EUR", whale_curve_below=False)
    assert any("(the whale curve below)" in line for line in static)
    assert not any("whale curve" in line for line in explored) and len(explored) == len(static)
