"""HTML pages for managers: executed notebooks and the run index.

Notebook pages use nbconvert's ``lab`` template through our own
``templates/portfolio_report`` template, which hides code and prompts, drops
stderr, and removes every script that nbconvert would load from a CDN
(require.js, MathJax, mermaid, jupyter-widgets). Images are embedded, so a
page is a single self-contained file that opens offline.
:func:`find_network_references` checks that promise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

from portfolio_helpers.core.files import atomic_write_text

__all__ = [
    "TEMPLATES_DIR",
    "notebook_to_html",
    "notebook_title",
    "find_network_references",
    "render_index",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"

_REMOTE = r"(?:https?:)?//"
# Only what a browser fetches by itself counts: resource attributes of loading
# elements, CSS url()/@import, and URLs in executable scripts (which may inject
# a <script> or import a module). A plain <a href> is a link, not a load.
_NETWORK_PATTERNS = [
    re.compile(
        r"<(?:script|img|iframe|source|audio|video|embed|track|input)\b[^>]*?\s(?:src|srcset|poster)\s*=\s*"
        rf"[\"']?\s*({_REMOTE}[^\"'\s>]+)",
        re.IGNORECASE,
    ),
    re.compile(rf"<object\b[^>]*?\sdata\s*=\s*[\"']?\s*({_REMOTE}[^\"'\s>]+)", re.IGNORECASE),
    re.compile(rf"<link\b[^>]*?\shref\s*=\s*[\"']?\s*({_REMOTE}[^\"'\s>]+)", re.IGNORECASE),
    re.compile(rf"url\(\s*[\"']?\s*({_REMOTE}[^\"')\s]+)", re.IGNORECASE),
    re.compile(rf"@import\s+(?:url\()?\s*[\"']?\s*({_REMOTE}[^\"')\s;]+)", re.IGNORECASE),
]
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SCRIPT_TYPE = re.compile(r"\btype\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_JS_TYPES = {"text/javascript", "application/javascript", "module"}
_JS_URL = re.compile(rf"[\"'`]({_REMOTE}[^\"'`\s]+)")


def find_network_references(html: str) -> list[str]:
    """List the URLs that a browser would fetch when opening ``html``.

    Flags ``src``/``srcset``/``poster`` of script, img, iframe, source and
    media elements, ``<link href>``, ``<object data>``, CSS ``url(...)`` and
    ``@import``, and URL strings inside executable ``<script>`` blocks (how
    MathJax, mermaid and the widgets renderer get loaded), when they point at
    ``http://``, ``https://`` or a protocol-relative ``//`` address.
    Hyperlinks (``<a href="https://...">``) are not loads and are ignored, and
    so are data scripts such as ``application/json``.

    Parameters
    ----------
    html : str
        Page source.

    Returns
    -------
    list of str
        The offending URLs, in order of appearance, without duplicates.
    """
    found = [(m.start(1), m.group(1)) for pattern in _NETWORK_PATTERNS for m in pattern.finditer(html)]
    for script in _SCRIPT.finditer(html):
        script_type = _SCRIPT_TYPE.search(script.group(1))
        if script_type is None or script_type.group(1).lower() in _JS_TYPES:
            found += [(script.start(2) + m.start(1), m.group(1)) for m in _JS_URL.finditer(script.group(2))]
    return list(dict.fromkeys(url for _, url in sorted(found)))


def notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """Return the notebook's first Markdown heading, or ``default``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            heading = re.match(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", line)
            if heading:
                return heading.group(1)
    return default


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(
        template_name="portfolio_report",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    # Papermill's "An Exception was encountered" cells; our template shows the error in a banner.
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"papermill-error-cell-tag"}), enabled=True
    )
    return exporter


def notebook_to_html(
    executed_ipynb_path: str | os.PathLike,
    html_path: str | os.PathLike,
    title: str | None = None,
    *,
    portfolio: str | None = None,
    as_of: str | None = None,
    run_id: str | None = None,
    error: str | None = None,
    source_dir: str | os.PathLike | None = None,
) -> Path:
    """Convert an executed notebook into a self-contained page for managers.

    Parameters
    ----------
    executed_ipynb_path : str or path-like
        Notebook written by papermill.
    html_path : str or path-like
        Page to write (atomically).
    title : str, optional
        Page title (browser tab); defaults to the notebook's first Markdown
        heading, else the file name.
    portfolio, as_of, run_id : str, optional
        Shown in the header line of the page.
    error : str, optional
        Shown as a banner at the top when the notebook did not complete:
        a timeout or a dead kernel leaves no traceback in the notebook itself.
    source_dir : str or path-like, optional
        Folder that relative image paths in Markdown cells refer to (the
        notebooks folder); defaults to the folder of ``executed_ipynb_path``.

    Returns
    -------
    Path
        ``html_path``.
    """
    nb = nbformat.read(executed_ipynb_path, as_version=4)
    if title is None:
        title = notebook_title(nb, default=Path(executed_ipynb_path).stem)
    resources = {
        "metadata": {"name": title, "path": str(source_dir or Path(executed_ipynb_path).parent)},
        "portfolio_report": {"portfolio": portfolio, "as_of": as_of, "run_id": run_id, "error": error},
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    return atomic_write_text(html_path, body)


def render_index(run: Mapping[str, Any], exports: list[dict[str, Any]], rejected_rows_csv: str | None,
                 run_dir: str | os.PathLike | None = None) -> str:
    """Render ``index.html`` of a run: an executive summary, then the run details.

    Parameters
    ----------
    run : mapping
        The run record written to ``run.json``.
    exports : list of dict
        Files of the ``exports/`` folder: ``{"path": relative path, "size": bytes}``.
    rejected_rows_csv : str or None
        Relative path of the rejected rows file when the run wrote one.
    run_dir : str or path-like, optional
        The run folder, to read the findings, charts and per-notebook metrics the
        notebooks recorded (:func:`~portfolio_helpers.reporting.summary.executive_summary`).
        Without it, the key figures come from ``run["metrics"]`` and there are no
        findings or charts.

    Returns
    -------
    str
        A self-contained HTML page (inline CSS and images, no scripts).
    """
    from portfolio_helpers.reporting.summary import executive_summary, key_figures

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    notebooks = run.get("notebooks", [])
    if run_dir is not None:
        summary = executive_summary(run_dir, notebooks, run.get("currency"))
    else:
        figures = key_figures({"": run.get("metrics", {})}, run.get("currency"))
        summary = {"findings": [], "charts": [], "missing_charts": [], "silent": [],
                   "key_figures": [{**group, "title": "Key figures", "html": None} for group in figures]}
    counts = {status: sum(nb.get("status") == status for nb in notebooks) for status in ("ok", "failed", "skipped")}
    return env.get_template("run_index.html.j2").render(
        run=run, summary=summary, counts=counts, exports=exports, rejected_rows_csv=rejected_rows_csv
    )
