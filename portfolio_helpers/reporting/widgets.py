"""Building blocks of the JupyterLab explorers (notebooks 02-05): widgets that fit.

* a slider's label is a separate text that wraps (never cut) and is repeated as the
  slider's tooltip, so a long criterion name does not squeeze the track;
* every slider track is at least :data:`MIN_TRACK_PX` wide (the slider gets
  :data:`SLIDER_WIDTH` and no description);
* the output below the controls scrolls sideways when a table is wider than the page,
  instead of being cut off.

ipywidgets is imported when a function is called: the static report never needs it.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["MIN_TRACK_PX", "SLIDER_WIDTH", "LABEL_WIDTH", "labelled_slider", "scrolling", "explorer_box"]

MIN_TRACK_PX = 150
"""Narrowest slider track the explorers allow (checked in the browser test)."""
SLIDER_WIDTH = "300px"
"""Width of a slider without its label: a track of about 230 px plus the readout."""
LABEL_WIDTH = "220px"
"""Width of a slider's label column; longer labels wrap onto several lines."""


def labelled_slider(label: str, *, integer: bool = False, **options: Any):
    """A slider with its label beside it: ``(row, slider)``.

    Parameters
    ----------
    label : str
        Shown in full (wrapped, escaped) and as the slider's tooltip.
    integer : bool, default=False
        ``IntSlider`` instead of ``FloatSlider``.
    **options
        Passed to the slider (``value``, ``min``, ``max``, ``step``, ``readout_format``...).

    Returns
    -------
    tuple
        The row to display (an ``HBox``) and the slider, whose value the explorer reads.

    Examples
    --------
    >>> row, slider = labelled_slider("expected purchase within 90 days", value=5, min=0, max=30)
    >>> slider.description, slider.tooltip, slider.layout.width
    ('', 'expected purchase within 90 days', '300px')
    >>> row.children[0].value
    '<span style="line-height:1.2">expected purchase within 90 days</span>'
    """
    import ipywidgets as widgets

    kind = widgets.IntSlider if integer else widgets.FloatSlider
    slider = kind(description="", tooltip=label, layout=widgets.Layout(width=SLIDER_WIDTH, min_width=SLIDER_WIDTH),
                  continuous_update=False, **options)
    text = widgets.HTML(f'<span style="line-height:1.2">{html.escape(label)}</span>',
                        layout=widgets.Layout(width=LABEL_WIDTH, min_width=LABEL_WIDTH))
    row = widgets.HBox([text, slider], layout=widgets.Layout(align_items="center", overflow="visible"))
    return row, slider


def scrolling(output):
    """Let ``output`` (an ``Output`` widget) scroll sideways when a table is wider than the page.

    Examples
    --------
    >>> import ipywidgets as widgets
    >>> scrolling(widgets.Output()).layout.overflow
    'auto'
    """
    import ipywidgets as widgets

    output.layout = widgets.Layout(overflow="auto", max_width="100%", width="100%")
    return output


def explorer_box(controls: list, output):
    """The controls above, the scrolling output below, in one ``VBox``.

    Examples
    --------
    >>> import ipywidgets as widgets
    >>> row, slider = labelled_slider("k", integer=True, value=3, min=2, max=8)
    >>> box = explorer_box([row], widgets.Output())
    >>> len(box.children), box.children[-1].layout.overflow
    (2, 'auto')
    """
    import ipywidgets as widgets

    return widgets.VBox([*controls, scrolling(output)], layout=widgets.Layout(width="100%"))
