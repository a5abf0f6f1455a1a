"""Plain-language formatting for reports: numbers a manager reads at a glance.

All figures in the notebooks' text go through these helpers (the number formats come from
:mod:`portfolio_helpers.core.formatting`) so that they are
formatted the same way everywhere ("€1.23 M", "18.2%", "2,104").
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from portfolio_helpers.core.formatting import fmt_date, fmt_int, fmt_money, fmt_pct, plural

__all__ = ["fmt_int", "fmt_pct", "fmt_money", "fmt_date", "plural", "bullets", "show_markdown", "show_table"]


def bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines if line)


def show_markdown(text: str) -> None:
    """Display Markdown in a notebook (it is what the HTML report shows, since code is hidden)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def show_table(frame: pd.DataFrame, caption: str | None = None, formats: dict | None = None) -> None:
    """Display a DataFrame as a clean table without its index."""
    from IPython.display import display

    styler = frame.style.hide(axis="index")
    # Text reads best left-aligned, numbers right-aligned.
    text_columns = [col for col in frame.columns if not pd.api.types.is_numeric_dtype(frame[col])]
    styler = styler.set_properties(subset=text_columns, **{"text-align": "left"})
    styler = styler.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
    if formats:
        styler = styler.format(formats, na_rep="")
    else:
        styler = styler.format(na_rep="")
    if caption:
        styler = styler.set_caption(caption)
    display(styler)
