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
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio_helpers.core.files import atomic_write_json

__all__ = ["MetricsRecorder", "read_metrics", "metrics_path"]

# snake_case; capitals are allowed after an underscore for class labels such as n_customers_A.
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9]*(_[A-Za-z0-9]+)*$")
_NOTEBOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")


def metrics_path(output_dir: str | os.PathLike, notebook: str) -> Path:
    """Return the metrics file of ``notebook`` inside a run folder."""
    return Path(output_dir) / "metrics" / f"{notebook}.json"


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
    """

    def __init__(self, output_dir: str | os.PathLike, notebook: str):
        if not _NOTEBOOK_NAME.match(notebook):
            raise ValueError(f"notebook name {notebook!r} cannot name a metrics file")
        self.path = metrics_path(output_dir, notebook)
        self.notebook = notebook
        self.values: dict[str, bool | int | float | str] = {}

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
