"""Number, money and date formats shared by every layer ("€1.23 M", "18.2%", "2,104", "31 Dec 2025").

Formatting only, no sentences: the sentences for managers are built in ``reporting``; these
helpers also label detail columns of analysis tables, so they live at the bottom layer.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["fmt_int", "fmt_pct", "fmt_money", "fmt_date", "plural"]

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
