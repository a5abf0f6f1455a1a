"""Plain-language formatting for reports: numbers a manager reads at a glance.

All figures in the notebooks' text go through these helpers (the number formats come from
:mod:`portfolio_helpers.core.formatting`) so that they are
formatted the same way everywhere ("€1.23 M", "18.2%", "2,104").

Text and tables are shown through :func:`show_markdown` and :func:`show_table`,
which escape everything they display: names, categories and labels come from
the data or the config, and a customer called ``<script>...`` must show as
that text, never run. The kit's own Markdown therefore never relies on raw
HTML or on HTML entities (write the character itself: "—", "→", " ").
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from portfolio_helpers.core.formatting import fmt_date, fmt_int, fmt_money, fmt_pct, plural

__all__ = [
    "fmt_int",
    "fmt_pct",
    "fmt_money",
    "fmt_date",
    "plural",
    "bullets",
    "escape_markdown",
    "table_styler",
    "show_markdown",
    "show_table",
]


def bullets(lines: Iterable[str]) -> str:
    """Markdown bullet list of the non-empty ``lines``."""
    return "\n".join(f"- {line}" for line in lines if line)


_CODE_DELIMITER = re.compile(r"`+")
_ESCAPED_CHAR = re.compile(r"\\([!-/:-@\[-`{-~])")  # a backslash before ASCII punctuation
_LINK_TARGET = re.compile(r"\]\s*[(:]")
_SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*:")


def _disarm_links(text: str) -> str:
    """Show ``[text](javascript:...)`` and ``[ref]: javascript:...`` as plain text.

    A link target is kept when it has no scheme (a relative link) or an
    ``http``, ``https`` or ``mailto`` one; any other (``javascript:``,
    ``vbscript:``, ``data:``...) is disarmed. The scheme is read as a browser
    does: entities decoded (``&#106;avascript:``), blanks and control
    characters dropped (``java script:``).
    """

    def disarm(match: re.Match) -> str:
        target = text[match.end():match.end() + 400]
        for _ in range(3):  # the text is escaped once here; an entity may have been escaped too
            target = html.unescape(target)
        target = target.lstrip().removeprefix("<")
        target = "".join(char for char in target if ord(char) > 32 and char != "\x7f").lower()
        scheme = _SCHEME.match(target)
        if scheme and scheme.group()[:-1] not in _SAFE_SCHEMES:
            return match.group()[:-1] + "\\" + match.group()[-1]
        return match.group()

    return _LINK_TARGET.sub(disarm, text)


def _escape_text(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` outside code; a backslash-escaped one becomes its entity.

    Links to ``javascript:``, ``data:`` or any scheme but http(s) and mailto are shown as text.
    """
    return _disarm_links(_escape_entities(text))


def _escape_entities(text: str) -> str:
    """``html.escape`` without quotes; ``\\<``, ``\\>`` and ``\\&`` (Markdown escapes) become the entity."""
    parts = []
    last = 0
    for match in _ESCAPED_CHAR.finditer(text):
        parts.append(html.escape(text[last:match.start()], quote=False))
        char = match.group(1)
        parts.append(html.escape(char, quote=False) if char in "&<>" else match.group(0))
        last = match.end()
    parts.append(html.escape(text[last:], quote=False))
    return "".join(parts)


def _literal(text: str) -> str:
    """Text that Markdown shows verbatim: ASCII punctuation as numeric entities (no emphasis,
    no escapes, no HTML inside the ``<code>`` elements made by :func:`escape_markdown`)."""
    return "".join(f"&#{ord(char)};" if char in _PUNCTUATION else char for char in text)


_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def escape_markdown(text: str) -> str:
    """Make Markdown safe to display: no HTML from the text reaches the page.

    ``&``, ``<`` and ``>`` are written as entities, so a name such as
    ``Alpha <script>`` shows as text and ``R&D`` shows as ``R&D`` (once, not
    ``R&amp;D``). Markdown formatting (emphasis, lists, headings, links) keeps
    working; links are kept unless their target runs a script (``javascript:``...).
    Code spans (```exports/customers.csv```) become ``<code>`` elements whose
    punctuation is written as numeric entities: inside a code span Markdown would
    show an entity literally, so they are rendered here, following the CommonMark rule
    (a run of n backticks closes at the next run of exactly n backticks;
    an unmatched run is literal text).

    Parameters
    ----------
    text : str
        Markdown whose interpolated values may come from the data or the config.

    Returns
    -------
    str
        Markdown without raw HTML other than the ``<code>`` elements made here.

    Examples
    --------
    >>> escape_markdown("**Alpha & Co** <script>alert(1)</script>")
    '**Alpha &amp; Co** &lt;script&gt;alert(1)&lt;/script&gt;'
    >>> escape_markdown("see `a<b & c*` and 2 ` ticks")
    'see <code>a&#60;b &#38; c&#42;</code> and 2 ` ticks'
    """
    out = []
    position = 0
    search_from = 0
    while (opening := _CODE_DELIMITER.search(text, search_from)) is not None:
        # A backtick run preceded by an odd number of backslashes is escaped, hence literal.
        backslashes = len(text[:opening.start()]) - len(text[:opening.start()].rstrip("\\"))
        if backslashes % 2:
            search_from = opening.start() + 1
            continue
        closing = next((m for m in _CODE_DELIMITER.finditer(text, opening.end())
                        if len(m.group()) == len(opening.group())), None)
        if closing is None:
            search_from = opening.end()
            continue
        code = text[opening.end():closing.start()].replace("\r\n", " ").replace("\n", " ")
        if len(code) >= 2 and code[0] == code[-1] == " " and code.strip(" "):
            code = code[1:-1]
        out.append(_escape_text(text[position:opening.start()]))
        out.append(f"<code>{_literal(code)}</code>")
        position = search_from = closing.end()
    out.append(_escape_text(text[position:]))
    return "".join(out)


def show_markdown(text: str) -> None:
    """Display Markdown in a notebook (it is what the HTML report shows, since code is hidden).

    The text is escaped with :func:`escape_markdown`: values from the data show as text.
    """
    from IPython.display import Markdown, display

    display(Markdown(escape_markdown(text)))


def _is_missing(value: Any) -> bool:
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def _html_cell(formatter: str | Callable[[Any], Any] | None, precision: int) -> Callable[[Any], str]:
    """Cell formatter that applies ``formatter`` and escapes what it returns ("" for missing values)."""

    def cell(value: Any) -> str:
        if _is_missing(value):
            return ""
        if callable(formatter):
            shown = formatter(value)
        elif isinstance(formatter, str):
            shown = formatter.format(value)
        elif isinstance(value, float | complex) and not isinstance(value, bool):
            shown = f"{value:.{precision}f}"  # what a Styler shows by default
        else:
            shown = value
        return html.escape(str(shown), quote=False)

    return cell


def table_styler(frame: pd.DataFrame, caption: str | None = None,
                 formats: Mapping[Any, str | Callable[[Any], Any]] | None = None):
    """The styled table that :func:`show_table` displays: no index, every text escaped.

    Parameters
    ----------
    frame : DataFrame
        Table to show.
    caption : str, optional
        Shown above the table.
    formats : mapping, optional
        Column -> format string (``"{:.1%}"``) or function returning the text of a cell.

    Returns
    -------
    pandas.io.formats.style.Styler
        Cells, column headers and caption are HTML-escaped *after* formatting, so text
        from the data and text a formatter builds from it both show as text. Missing
        values show as empty cells.
    """
    formats = dict(formats or {})
    precision = pd.get_option("styler.format.precision")
    styler = frame.style.hide(axis="index")
    # Text reads best left-aligned, numbers right-aligned.
    text_columns = [col for col in frame.columns if not pd.api.types.is_numeric_dtype(frame[col])]
    styler = styler.set_properties(subset=text_columns, **{"text-align": "left"})
    styler = styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    styler = styler.format({col: _html_cell(formats.get(col), precision) for col in frame.columns})
    styler = styler.format_index(escape="html", axis="columns")
    if caption:
        styler = styler.set_caption(html.escape(caption, quote=False))
    return styler


def show_table(frame: pd.DataFrame, caption: str | None = None,
               formats: Mapping[Any, str | Callable[[Any], Any]] | None = None) -> None:
    """Display a DataFrame as a clean table without its index (see :func:`table_styler`)."""
    from IPython.display import display

    display(table_styler(frame, caption, formats))
