"""Headline metrics recorded by notebooks and shown on the report index.

A notebook creates one :class:`MetricsRecorder` and records a few scalar
values (``revenue_total``, ``top20_revenue_share``, ...). Each call rewrites
``<output_dir>/metrics/<notebook>.json`` atomically, so a notebook that fails
half-way still leaves the metrics it had recorded, and the file is never
half-written. The runner merges these files into ``run.json`` and
``index.html`` with :func:`read_metrics`.

Naming conventions drive the formatting on the index page:

* ``n_*`` and ``*_count``: counts (``12,345``);
* ``*_share``: a fraction between 0 and 1, shown as a percentage (``0.8`` -> ``80.0%``);
* ``*_pct``: already a percentage (``80`` -> ``80.0%``);
* ``revenue_*``, ``profit``, ``profit_*`` and ``*_total``: money, in the run currency.

The same recorder keeps the notebook's **findings** (the sentences of its "Key
findings" section, each with a priority and the heading of the section that
explains it) and a few **summary charts** (small PNG images), in
``<output_dir>/findings/<notebook>.json`` and ``<output_dir>/charts/``. The
run index shows the most important findings of all notebooks and the charts,
without computing anything again (:func:`read_findings`, :func:`top_findings`).
A notebook records the very sentences it displays::

    show_markdown(bullets(metrics.record_findings(findings, priority=1)))
    display(metrics.record_chart("pareto_curve", charts.pareto_chart(...), section="The Pareto chart"))
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio_helpers.core.files import atomic_write, atomic_write_json

__all__ = [
    "MetricsRecorder",
    "read_metrics",
    "metrics_path",
    "findings_path",
    "section_anchor",
    "read_findings",
    "top_findings",
    "PRIORITIES",
]

PRIORITIES = {1: "headline", 2: "important", 3: "detail"}
"""Priority of a finding: 1 is what a manager must know, 3 a detail (data loading, caveats)."""
_CHART_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CHART_DPI = 60  # a small image: about 500 px wide for the report's 8-9 inch figures

# snake_case; capitals are allowed after an underscore for class labels such as n_customers_A.
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9]*(_[A-Za-z0-9]+)*$")
_NOTEBOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


def metrics_path(output_dir: str | os.PathLike, notebook: str) -> Path:
    """Return the metrics file of ``notebook`` inside a run folder."""
    return Path(output_dir) / "metrics" / f"{notebook}.json"


def findings_path(output_dir: str | os.PathLike, notebook: str) -> Path:
    """Return the findings file of ``notebook`` inside a run folder."""
    return Path(output_dir) / "findings" / f"{notebook}.json"


def section_anchor(heading: str) -> str:
    """The ``id`` nbconvert gives the heading ``heading`` on a notebook page.

    Examples
    --------
    >>> section_anchor("Key findings")
    'Key-findings'
    >>> section_anchor("  Dependence on the largest customers ")
    'Dependence-on-the-largest-customers'
    """
    return heading.strip().replace(" ", "-")


def _to_json_scalar(name: str, value: Any) -> bool | int | float | str:
    """Convert ``value`` to a JSON scalar, refusing what a report cannot show."""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if value is None or value is pd.NA or value is pd.NaT:
        raise ValueError(f"metric {name!r} is missing ({value!r}); record a real value")
    if isinstance(value, dt.datetime):
        value = pd.Timestamp(value)
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"metric {name!r} is {value}; a headline metric must be a finite number "
                "(check for an empty selection or a division by zero)"
            )
        return value
    raise TypeError(f"metric {name!r} must be a number, text, bool or date, got {type(value).__name__}")


class MetricsRecorder:
    """Record a notebook's headline metrics into the run folder.

    Parameters
    ----------
    output_dir : str or path-like
        Run folder (the notebook's ``output_dir`` parameter).
    notebook : str
        Notebook name without extension, e.g. ``"02_pareto"``; names the file
        ``metrics/<notebook>.json``.

    Attributes
    ----------
    values : dict
        Metrics recorded so far, in recording order.

    Examples
    --------
    >>> metrics = MetricsRecorder(output_dir, "02_pareto")  # doctest: +SKIP
    >>> metrics.record("top20_revenue_share", 0.78)  # doctest: +SKIP
    >>> shown = metrics.record_findings(["**78%** of revenue comes from 20% of customers."])  # doctest: +SKIP
    """

    def __init__(self, output_dir: str | os.PathLike, notebook: str):
        if not _NOTEBOOK_NAME.match(notebook):
            raise ValueError(f"notebook name {notebook!r} cannot name a metrics file")
        self.path = metrics_path(output_dir, notebook)
        self.findings_file = findings_path(output_dir, notebook)
        self.charts_dir = Path(output_dir) / "charts"
        self.notebook = notebook
        self.values: dict[str, bool | int | float | str] = {}
        self.findings: list[dict[str, Any]] = []
        self.charts: list[dict[str, Any]] = []

    def record(self, name: str, value: Any) -> None:
        """Record ``value`` under ``name`` and rewrite the metrics file.

        Parameters
        ----------
        name : str
            snake_case name, e.g. ``revenue_total`` (``n_customers_A``: class labels may be capitals).
        value : number, str, bool or date
            numpy/pandas scalars are converted; dates become ``YYYY-MM-DD``.

        Raises
        ------
        ValueError
            If the name is not snake_case or the value is NaN, infinite or missing.
        TypeError
            If the value is not a scalar.
        """
        if not isinstance(name, str) or not _METRIC_NAME.match(name):
            raise ValueError(
                f"metric name {name!r} must be snake_case: letters, digits and single underscores, "
                "starting with a lowercase letter (e.g. 'revenue_total', 'n_customers_A')"
            )
        self.values[name] = _to_json_scalar(name, value)
        atomic_write_json(self.path, self.values)

    def record_many(self, values: dict[str, Any]) -> None:
        """Record every ``name: value`` of ``values``, in order (see :meth:`record`).

        Examples
        --------
        >>> import tempfile
        >>> recorder = MetricsRecorder(tempfile.mkdtemp(), "04_segmentation")
        >>> recorder.record_many({"n_segments": 7, "silhouette": 0.34})
        >>> recorder.values
        {'n_segments': 7, 'silhouette': 0.34}
        """
        for name, value in values.items():
            self.record(name, value)

    def record_findings(
        self,
        findings: Iterable[str],
        *,
        section: str = "Key findings",
        priority: int | Sequence[int] = 1,
    ) -> list[str]:
        """Record the findings the notebook displays; return them unchanged.

        Wrap the list the notebook shows, so the index repeats exactly the
        displayed sentences: ``show_markdown(bullets(metrics.record_findings(findings)))``.
        Empty sentences are skipped (as :func:`~portfolio_helpers.reporting.narrative.bullets`
        skips them). Each call appends to what earlier calls recorded.

        Parameters
        ----------
        findings : iterable of str
            Sentences in Markdown (``**bold**``, ```code```), in the notebook's order
            of importance: the index takes a notebook's first findings first.
        section : str, default="Key findings"
            Heading of the section of the notebook page that shows and explains them;
            the index links each finding to it.
        priority : int or sequence of int, default=1
            1 headline, 2 important, 3 detail (see :data:`PRIORITIES`); one value for
            all findings or one per finding.

        Returns
        -------
        list of str
            ``findings`` as a list, empty sentences included, for display.

        Examples
        --------
        >>> import tempfile
        >>> recorder = MetricsRecorder(tempfile.mkdtemp(), "02_pareto")
        >>> recorder.record_findings(["Top 20% bring **78%** of revenue.", ""], priority=1)
        ['Top 20% bring **78%** of revenue.', '']
        >>> [(f["rank"], f["priority"], f["anchor"]) for f in recorder.findings]
        [(1, 1, 'Key-findings')]
        """
        findings = list(findings)
        priorities = [priority] * len(findings) if isinstance(priority, int) else list(priority)
        if len(priorities) != len(findings):
            raise ValueError(f"{len(priorities)} priorities for {len(findings)} findings")
        if not section or not section.strip():
            raise ValueError("section must name the heading that explains the findings")
        for text, level in zip(findings, priorities, strict=True):
            if not isinstance(text, str):
                raise TypeError(f"a finding must be a sentence (str), got {type(text).__name__}")
            if isinstance(level, bool) or level not in PRIORITIES:
                raise ValueError(f"priority must be one of {sorted(PRIORITIES)}, got {level!r}")
            if text.strip():
                self.findings.append({"text": text, "priority": int(level), "rank": len(self.findings) + 1,
                                      "section": section.strip(), "anchor": section_anchor(section)})
        self._write_summary()
        return findings

    def record_chart(self, name: str, figure: Any, *, title: str | None = None,
                     section: str | None = None) -> Any:
        """Save a small PNG of ``figure`` for the index page; return ``figure`` for display.

        Parameters
        ----------
        name : str
            snake_case name, unique in the run (``pareto_curve``); the file is
            ``charts/<notebook>-<name>.png``.
        figure : matplotlib.figure.Figure
            The chart the notebook displays.
        title : str, optional
            Caption on the index; defaults to the figure's title.
        section : str, optional
            Heading of the section that shows the chart at full size.

        Returns
        -------
        matplotlib.figure.Figure
            ``figure``, unchanged.

        Examples
        --------
        >>> import tempfile
        >>> import matplotlib.pyplot as plt
        >>> figure, ax = plt.subplots()
        >>> _ = ax.set_title("Whale curve")
        >>> recorder = MetricsRecorder(tempfile.mkdtemp(), "03_profitability")
        >>> recorder.record_chart("whale_curve", figure, section="The whale curve") is figure
        True
        >>> recorder.charts[0]["file"], recorder.charts[0]["title"], recorder.charts[0]["anchor"]
        ('charts/03_profitability-whale_curve.png', 'Whale curve', 'The-whale-curve')
        """
        if not isinstance(name, str) or not _CHART_NAME.match(name):
            raise ValueError(f"chart name {name!r} must be snake_case, e.g. 'pareto_curve'")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_CHART_DPI, bbox_inches="tight")
        file = self.charts_dir / f"{self.notebook}-{name}.png"
        atomic_write(file, lambda tmp: tmp.write_bytes(buffer.getvalue()))
        if title is None:
            titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
            title = titles[0] if titles else name.replace("_", " ").capitalize()
        self.charts = [chart for chart in self.charts if chart["name"] != name]
        self.charts.append({"name": name, "title": title, "file": f"charts/{file.name}",
                            "section": section, "anchor": section_anchor(section) if section else None})
        self._write_summary()
        return figure

    def _write_summary(self) -> None:
        atomic_write_json(self.findings_file, {"findings": self.findings, "charts": self.charts})


def read_metrics(output_dir: str | os.PathLike, notebooks: Iterable[str]) -> dict[str, Any]:
    """Merge the metrics files of ``notebooks``, in that order.

    A later notebook's value wins when two notebooks record the same name;
    notebooks that recorded nothing are skipped.
    """
    merged: dict[str, Any] = {}
    for notebook in notebooks:
        path = metrics_path(output_dir, notebook)
        if path.is_file():
            merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def read_findings(output_dir: str | os.PathLike, notebooks: Iterable[str]) -> dict[str, dict[str, list]]:
    """Read the findings and charts each notebook recorded.

    Returns
    -------
    dict
        Notebook name -> ``{"findings": [...], "charts": [...]}``, in the order of
        ``notebooks``; notebooks without a findings file (skipped, failed before
        recording, or not recording) are left out.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = MetricsRecorder(folder, "02_pareto").record_findings(["Top 20% bring 78%."])
    >>> recorded = read_findings(folder, ["01_data_cleaning", "02_pareto"])
    >>> list(recorded), recorded["02_pareto"]["findings"][0]["text"]
    (['02_pareto'], 'Top 20% bring 78%.')
    """
    recorded: dict[str, dict[str, list]] = {}
    for notebook in notebooks:
        path = findings_path(output_dir, notebook)
        if path.is_file():
            content = json.loads(path.read_text(encoding="utf-8"))
            recorded[notebook] = {"findings": list(content.get("findings", [])),
                                  "charts": list(content.get("charts", []))}
    return recorded


def top_findings(recorded: dict[str, dict[str, list]], n: int = 10) -> list[dict[str, Any]]:
    """The ``n`` most important findings across notebooks.

    Ordered by priority, then by rank inside the notebook, then by notebook
    order: with equal priorities the notebooks take turns, so the first finding
    of every notebook comes before the second finding of any.

    Examples
    --------
    >>> recorded = {
    ...     "02_pareto": {"findings": [{"text": "a1", "priority": 1, "rank": 1},
    ...                                {"text": "a2", "priority": 1, "rank": 2}]},
    ...     "03_profitability": {"findings": [{"text": "b1", "priority": 1, "rank": 1}]},
    ...     "01_data_cleaning": {"findings": [{"text": "c1", "priority": 3, "rank": 1}]}}
    >>> [f["text"] for f in top_findings(recorded, n=3)]
    ['a1', 'b1', 'a2']
    """
    order = {notebook: i for i, notebook in enumerate(recorded)}
    every = [{**finding, "notebook": notebook} for notebook, content in recorded.items()
             for finding in content.get("findings", [])]
    every.sort(key=lambda f: (f["priority"], f["rank"], order[f["notebook"]]))
    return every[:n]
