"""Plain-language formatting for reports: numbers a manager reads at a glance.

All figures in the notebooks' text go through these helpers so that they are
formatted the same way everywhere ("€1.23 M", "18.2%", "2,104").
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

__all__ = ["fmt_int", "fmt_pct", "fmt_money", "fmt_date", "plural", "bullets", "show_markdown", "show_table"]

_CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "CNY": "¥", "INR": "₹"}


def fmt_int(value: float | int) -> str:
    """``12345`` -> ``"12,345"``."""
    return f"{int(round(value)):,}"


def fmt_pct(share: float, digits: int = 1) -> str:
    """A share in [0, 1] as a percentage: ``0.1834`` -> ``"18.3%"``."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "n/a"
    return f"{share * 100:.{digits}f}%"


def fmt_money(value: float, currency: str = "EUR", compact: bool = True) -> str:
    """``1234567.8, "EUR"`` -> ``"€1.23 M"`` (compact) or ``"€1,234,568"``.

    Examples
    --------
    >>> fmt_money(1234567.8), fmt_money(-950.0, "USD"), fmt_money(12_500, "SEK")
    ('€1.23 M', '-$950', 'SEK 12.5 k')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    symbol = _CURRENCY_SYMBOLS.get(currency.upper())
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if compact and magnitude >= 1e9:
        number = f"{magnitude / 1e9:.2f} bn"
    elif compact and magnitude >= 1e6:
        number = f"{magnitude / 1e6:.2f} M"
    elif compact and magnitude >= 1e4:
        number = f"{magnitude / 1e3:.1f} k"
    else:
        number = f"{magnitude:,.0f}"
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{currency} {number}"


def fmt_date(value) -> str:
    """``Timestamp('2025-12-31')`` -> ``"31 Dec 2025"``."""
    return pd.Timestamp(value).strftime("%-d %b %Y")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``plural(1, "customer")`` -> ``"1 customer"``; ``plural(3, "customer")`` -> ``"3 customers"``."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{fmt_int(count)} {word}"


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
