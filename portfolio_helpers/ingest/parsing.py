"""Vectorized parsing of the values found in real CRM/ERP exports.

Each parser takes a raw column (strings, or already-typed values from Excel
or Parquet) and returns a :class:`Parsed` result: the typed values, a boolean
mask of the cells that had a value but could not be read, and a short note on
what was detected (decimal separator, day-first dates, ...). Nothing is
dropped here; the loader decides what a bad cell means for its row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from portfolio_helpers.core.contract import normalize_label

__all__ = [
    "Parsed",
    "MISSING_TOKENS",
    "missing_mask",
    "parse_number",
    "parse_date",
    "parse_id",
    "parse_text",
    "parse_category",
    "parse_boolean",
    "BOOLEAN_SPELLINGS",
    "WHITESPACE",
]

# Spellings that mean "no value" in exports; compared case-insensitively.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "nat", "-", "--", "#n/a", "?"})

#: The characters Python's regex ``\s`` matches (those of ``str.isspace``, the last one U+3000), written out.
#: pandas runs a pattern holding ``\s`` (or a ``\u`` escape) through Python's ``re``, one value at a
#: time; with the characters themselves in a class, it runs in Arrow (RE2) on the whole column, with
#: the same matches (RE2's own ``\s`` would only know the ASCII spaces).
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_SPACE = f"[{WHITESPACE}]"
# Any kind of space a spreadsheet uses as a thousands separator (no-break, narrow, thin, figure space...),
# plus the Swiss apostrophe.
_GROUPING_CHARS = f"[{WHITESPACE}'’]"
_CURRENCY_SYMBOLS = r"[€$£¥₹₽₩₺₣]"
# A currency code or symbol at either end: "EUR 99.00", "99,00 EUR", "1 234,50 €", "US$ 12".
_CURRENCY_AFFIX = rf"^(?:[A-Za-z]{{3}}|[A-Za-z]{{0,2}}{_CURRENCY_SYMBOLS}){_SPACE}*|{_SPACE}*(?:[A-Za-z]{{3}}|{_CURRENCY_SYMBOLS})$"
# ... also after a minus sign: "-$1,234.56", and "($1,234.56)" once turned into "-$1,234.56".
_NEGATIVE_CURRENCY_PREFIX = rf"^-{_SPACE}*(?:[A-Za-z]{{3}}|[A-Za-z]{{0,2}}{_CURRENCY_SYMBOLS}){_SPACE}*"
_MIN_YEAR, _MAX_YEAR = 1900, 2100
# An id an earlier tool wrote as a float: digits, then a fractional part of zeros only.
_FLOAT_ID = r"\d+\.0+"


@dataclass
class Parsed:
    """Result of parsing one column."""

    values: pd.Series
    bad: pd.Series  # True where a value was present but unreadable
    detected: dict = field(default_factory=dict)
    rewritten: pd.Series | None = None  # True where a readable value was rewritten (ids: "17450.0" -> "17450")

    @property
    def n_bad(self) -> int:
        return int(self.bad.sum())


def _as_string(series: pd.Series) -> pd.Series:
    # Arrow-backed strings run the regex passes in C (RE2) instead of Python's re, per value.
    return series.astype("string[pyarrow]").str.strip()


def missing_mask(series: pd.Series) -> pd.Series:
    """True where a cell is empty or holds a 'no value' token such as ``N/A``."""
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return series.isna()
    text = _as_string(series)
    return (text.isna() | text.str.lower().isin(MISSING_TOKENS)).fillna(True).astype(bool)


def _split_native(series: pd.Series, native_types: tuple[type, ...]) -> tuple[pd.Series, pd.Series]:
    """For object columns from Excel: which cells are already typed (numbers, datetimes)."""
    if not pd.api.types.is_object_dtype(series):
        return pd.Series(False, index=series.index), series
    is_native = series.map(lambda v: isinstance(v, native_types) and not isinstance(v, bool | str))
    return is_native.astype(bool), series


# --------------------------------------------------------------------------- numbers


def _detect_decimal(text: pd.Series, hint: str | None) -> str:
    """Guess the decimal separator of a column of cleaned number strings."""
    has_comma = text.str.contains(",", regex=False)
    has_dot = text.str.contains(".", regex=False)
    both = has_comma & has_dot
    if both.any():
        # "1.234,50" vs "1,234.50": the separator that comes last is the decimal one.
        comma_last = text[both].str.rfind(",") > text[both].str.rfind(".")
        return "," if comma_last.mean() >= 0.5 else "."
    if has_comma.any():
        # Only "1,234" / "12,345,678" shapes: commas are thousands separators, unless the
        # file told us otherwise (a ';'-separated file is almost always decimal-comma).
        grouped = text[has_comma].str.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+")
        if grouped.all() and hint != ",":
            return "."
        return ","
    if has_dot.any():
        # "1.234.567" can only be dot-grouped thousands.
        multi_dot = text[has_dot].str.count(r"\.") > 1
        if multi_dot.any():
            return ","
        grouped = text[has_dot].str.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+")
        if grouped.all() and hint == ",":
            return ","
    return "."


def parse_number(series: pd.Series, decimal: str | None = None, thousands: str | None = None,
                 decimal_hint: str | None = None) -> Parsed:
    """Parse amounts such as ``"1 234,50 €"``, ``"EUR 99.00"``, ``"(12.00)"`` or ``"12,5-"``.

    Parameters
    ----------
    series : pandas.Series
        Raw values (strings, numbers, or a mix of both from Excel).
    decimal : {".", ","}, optional
        Decimal separator; detected from the column when ``None``.
    thousands : str, optional
        Thousands separator to remove besides spaces and apostrophes.
    decimal_hint : {".", ","}, optional
        Tie-breaker for ambiguous columns (``"1,234"``), e.g. ``","`` for ``;``-separated files.

    Returns
    -------
    Parsed
        ``values`` as float64 (NaN where missing or unreadable).

    Examples
    --------
    >>> import pandas as pd
    >>> parse_number(pd.Series(["1 234,50 €", "EUR 99,00", "-12,5"])).values.tolist()
    [1234.5, 99.0, -12.5]
    """
    if pd.api.types.is_bool_dtype(series):
        series = series.astype(object)
    if pd.api.types.is_numeric_dtype(series):
        values = pd.to_numeric(series, errors="coerce").astype("float64")
        return Parsed(values, pd.Series(False, index=series.index), {"decimal": "native"})

    native, _ = _split_native(series, (int, float, np.integer, np.floating))
    missing = missing_mask(series)
    text = _as_string(series.where(~native))
    todo = ~missing & ~native

    cleaned = text[todo]
    cleaned = cleaned.str.replace("\u2212", "-", regex=False)  # Unicode minus sign
    cleaned = cleaned.str.replace(_CURRENCY_AFFIX, "", regex=True).str.strip()
    # Accounting negatives "(12.00)" and trailing minus "12.00-" (SAP-style exports).
    parenthesised = cleaned.str.fullmatch(r"\(.*\)")
    cleaned = cleaned.where(~parenthesised, "-" + cleaned.str.slice(1, -1))
    trailing_minus = cleaned.str.fullmatch(r"[^-].*-")
    cleaned = cleaned.where(~trailing_minus, "-" + cleaned.str.slice(0, -1))
    negative = cleaned.str.startswith("-").fillna(False).astype(bool)
    if negative.any():  # (regex replacements are slow: only where they can apply)
        cleaned[negative] = cleaned[negative].str.replace(_NEGATIVE_CURRENCY_PREFIX, "-", regex=True)
    cleaned = cleaned.str.replace(_CURRENCY_AFFIX, "", regex=True)
    cleaned = cleaned.str.replace(_GROUPING_CHARS, "", regex=True)
    if thousands and thousands not in (" ", "\u00a0"):
        cleaned = cleaned.str.replace(thousands, "", regex=False)

    decimal_used = decimal or _detect_decimal(cleaned, decimal_hint)
    # The other mark may only group digits by three (or the Indian 12,34,567): "12..3", or "1,5" in a
    # dot-decimal column, is unreadable rather than 123 or 15.
    group = "." if decimal_used == "," else ","
    grouped = rf"\d{{1,3}}(?:\{group}\d{{3}})+|\d{{1,2}}(?:\{group}\d{{2}})+\{group}\d{{3}}"
    has_group = cleaned.str.contains(group, regex=False).fillna(False).astype(bool)
    valid_grouping = ~has_group
    if has_group.any():
        valid_grouping[has_group] = cleaned[has_group].str.fullmatch(
            rf"[-+]?(?:{grouped})(?:\{decimal_used}\d*)?").fillna(False).astype(bool)
    if decimal_used == ",":
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    # Only plain decimal literals are accepted: to_numeric alone would take "inf" or "1e5x".
    well_formed = cleaned.str.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?").fillna(False).astype(bool)
    well_formed &= valid_grouping
    parsed = pd.to_numeric(cleaned.where(well_formed), errors="coerce").astype("float64")

    values = pd.Series(np.nan, index=series.index, dtype="float64")
    values[todo] = parsed
    if native.any():
        values[native] = pd.to_numeric(series[native], errors="coerce").astype("float64")
    bad = todo & values.isna()
    return Parsed(values, bad.astype(bool), {"decimal": decimal_used})


# --------------------------------------------------------------------------- dates

_DMY = (
    r"^(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})"
    r"(?:[ T]+(?P<H>\d{1,2})[:hH](?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?$"
)


def _dates_from_parts(year, month, day, hour, minute, second) -> pd.Series:
    parts = pd.DataFrame({"year": year, "month": month, "day": day,
                          "hour": hour, "minute": minute, "second": second})
    # to_datetime would roll "25:00" over to the next day instead of refusing it.
    valid_clock = (hour <= 23) & (minute <= 59) & (second <= 59)
    return pd.to_datetime(parts, errors="coerce").where(valid_clock)


def _in_range(values: pd.Series) -> pd.Series:
    """Naive ``datetime64[ns]``; years outside 1900-2100 (typos such as 0001 or 2500) become NaT.

    pandas 3 parses such years fine (in second/microsecond units), and they would not fit the
    nanosecond result, so this runs on every partial result before it is stored.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    values = values.where((values.dt.year >= _MIN_YEAR) & (values.dt.year <= _MAX_YEAR))
    return values.astype("datetime64[ns]")


def _naive_timestamp(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def parse_date(series: pd.Series, dayfirst: bool | None = None) -> Parsed:
    """Parse dates in the formats exports really use, also mixed within one column.

    Recognised: ISO (``2024-03-05``, with or without time), ``dd/mm/yyyy``,
    ``dd.mm.yyyy``, ``dd-mm-yy`` (optionally followed by ``HH:MM[:SS]``),
    compact ``yyyymmdd``, Excel date cells, and other formats dateutil reads.

    Day-first versus month-first is decided once per column: a value whose first
    number exceeds 12 proves day-first, a second number above 12 proves
    month-first, and when the column gives no evidence day-first is assumed
    (European exports), unless ``dayfirst`` is set.

    Examples
    --------
    >>> import pandas as pd
    >>> parse_date(pd.Series(["2024-03-05", "31/01/2024", "05/02/2024 14:30"])).values.dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-05', '2024-01-31', '2024-02-05']
    """
    if pd.api.types.is_datetime64_any_dtype(series):  # also tz-aware: the wall-clock time is kept
        values = _in_range(series)
        return Parsed(values, (series.notna() & values.isna()).astype(bool), {"format": "native"})
    # A date column repeats a few thousand distinct values over millions of rows: parse each once.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if 0 < len(uniques) < 0.5 * len(series):  # (no uniques at all: an all-empty column)
        parsed = _parse_date_values(pd.Series(uniques, dtype=series.dtype if len(uniques) else object), dayfirst)
        values = pd.Series(parsed.values.to_numpy().take(codes), index=series.index, dtype="datetime64[ns]")
        values[codes == -1] = pd.NaT
        bad = pd.Series(parsed.bad.to_numpy().take(codes), index=series.index) & (codes != -1)
        return Parsed(values, bad.astype(bool), parsed.detected)
    return _parse_date_values(series, dayfirst)


def _parse_date_values(series: pd.Series, dayfirst: bool | None) -> Parsed:

    missing = missing_mask(series)
    values = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    detected: dict = {}

    native, _ = _split_native(series, (pd.Timestamp, np.datetime64, dt.date))
    if native.any():
        # Per value, since Excel/Parquet objects may mix naive and tz-aware timestamps.
        values[native] = _in_range(pd.to_datetime(series[native].map(_naive_timestamp), errors="coerce"))

    text = _as_string(series.where(~native))
    todo = ~missing & ~native & values.isna()
    formats: list[str] = []

    if todo.any():
        # ISO, and the year-first 2024/03/05 or 2024.03.05 some exports use.
        iso_shape = text[todo].str.match(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]|$)").fillna(False).astype(bool)
        if iso_shape.any():
            iso_index = iso_shape[iso_shape].index
            # Keep the wall-clock time the export shows (a sale at 23:30+02:00 stays on its
            # day): drop UTC offsets rather than converting, which also copes with mixed offsets.
            iso_text = text[iso_index].str.replace(r"(?:Z|[+-]\d{2}:?\d{2})$", "", regex=True)
            slashed = ~iso_text.str.match(r"^\d{4}-").fillna(False).astype(bool)
            if slashed.any():  # (a regex replacement with groups is slow: only where needed)
                iso_text[slashed] = iso_text[slashed].str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})",
                                                                  r"\1-\2-\3", regex=True)
            iso = pd.to_datetime(iso_text, format="ISO8601", errors="coerce")
            values[iso_index] = _in_range(iso)
            formats.append("ISO")
        todo = todo & values.isna()

    if todo.any():
        parts = text[todo].str.extract(_DMY)
        matched = parts["a"].notna()
        if matched.any():
            parts = parts[matched]
            first = parts["a"].astype(int)
            second = parts["b"].astype(int)
            if dayfirst is None:
                if (first > 12).any():
                    use_dayfirst = True
                elif (second > 12).any():
                    use_dayfirst = False
                else:
                    use_dayfirst = True
                    detected["dayfirst_assumed"] = True
            else:
                use_dayfirst = bool(dayfirst)
            year = parts["y"].astype(int)
            year = year.where(parts["y"].str.len() == 4, np.where(year < 70, 2000 + year, 1900 + year))
            day, month = (first, second) if use_dayfirst else (second, first)
            clock = parts[["H", "M", "S"]].fillna("0").astype(int)
            values[parts.index] = _in_range(_dates_from_parts(year, month, day, clock["H"], clock["M"], clock["S"]))
            detected["dayfirst"] = use_dayfirst
            formats.append("dd/mm/yyyy" if use_dayfirst else "mm/dd/yyyy")
        todo = todo & values.isna()

    if todo.any():
        compact = text[todo].str.fullmatch(r"\d{8}").fillna(False).astype(bool)
        if compact.any():
            index = compact[compact].index
            values[index] = _in_range(pd.to_datetime(text[index], format="%Y%m%d", errors="coerce"))
            formats.append("yyyymmdd")
        todo = todo & values.isna()

    # Anything else ("5 March 2024", "Mar 5, 2024"): dateutil, per value. Shape checks first so
    # that unreadable numbers such as "32/13/2024" are not reinterpreted.
    if todo.any():
        leftovers = text[todo]
        wordy = leftovers.str.contains(r"[A-Za-z]{3}", regex=True).fillna(False).astype(bool)
        if wordy.any():
            index = wordy[wordy].index
            guessed = pd.to_datetime(text[index], format="mixed", dayfirst=bool(detected.get("dayfirst", True)),
                                     errors="coerce")
            values[index] = _in_range(guessed)
            formats.append("text")

    implausible = values.notna() & ((values.dt.year < _MIN_YEAR) | (values.dt.year > _MAX_YEAR))
    values[implausible] = pd.NaT
    bad = ~missing & values.isna()
    detected["formats"] = formats or ["native"]
    return Parsed(values, bad.astype(bool), detected)


# --------------------------------------------------------------------------- text-like


def parse_id(series: pd.Series) -> Parsed:
    """Identifiers as text, the same whether or not an earlier tool wrote them as numbers.

    A whole number written as a float, as a spreadsheet cell (``1001.0``) or as text
    (``"17450.0"``, ``"17450.00"``), becomes ``"1001"`` / ``"17450"``, so that it joins with the
    same id written plainly in another table. Leading zeros survive (``"00123"``), and so does
    any other text. ``rewritten`` marks the values changed that way.

    Examples
    --------
    >>> import pandas as pd
    >>> parse_id(pd.Series(["17450.0", "00123", "A-12.0", 1001.0, None])).values.tolist()
    ['17450', '00123', 'A-12.0', '1001', <NA>]
    """
    missing = missing_mask(series)
    native = pd.Series(False, index=series.index)
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_object_dtype(series):
        native = series.map(lambda v: isinstance(v, float | np.floating) and float(v).is_integer()).astype(bool)
        if native.any():
            series = series.astype(object)
            series[native] = series[native].map(lambda v: str(int(v)))
    values = _as_string(series).where(~missing)
    float_text = values.str.fullmatch(_FLOAT_ID).fillna(False).astype(bool) & ~native
    if float_text.any():
        values[float_text] = values[float_text].str.replace(r"\.0+$", "", regex=True)
    return Parsed(values.astype("string"), pd.Series(False, index=series.index),
                  rewritten=(native | float_text).astype(bool))


def parse_text(series: pd.Series) -> Parsed:
    """Free text, trimmed; empty cells become missing."""
    values = _as_string(series).where(~missing_mask(series))
    return Parsed(values.astype("string"), pd.Series(False, index=series.index))


def parse_category(series: pd.Series, allowed: dict[str, tuple[str, ...]]) -> Parsed:
    """Map spellings onto the allowed values; unknown values are flagged as bad.

    Examples
    --------
    >>> import pandas as pd
    >>> parse_category(pd.Series(["Annulée", "completed"]), {"cancelled": ("annulee",), "completed": ()}).values.tolist()
    ['cancelled', 'completed']
    """
    lookup: dict[str, str] = {}
    for canonical, spellings in allowed.items():
        for spelling in (canonical, *spellings):
            lookup[normalize_label(spelling)] = canonical
    missing = missing_mask(series)
    text = _as_string(series)
    uniques = text[~missing].dropna().unique()
    mapping = {value: lookup.get(normalize_label(value)) for value in uniques}
    values = text.map(mapping).astype("string").where(~missing)
    bad = ~missing & values.isna()
    return Parsed(values, bad.astype(bool))


#: Spellings of yes and no (compared after :func:`~portfolio_helpers.core.contract.normalize_label`):
#: consents and flags such as ``consent_email`` or ``do_not_contact``.
BOOLEAN_SPELLINGS: dict[bool, tuple[str, ...]] = {
    True: ("yes", "y", "true", "1", "1.0", "oui", "vrai", "opt in", "opted in"),
    False: ("no", "n", "false", "0", "0.0", "non", "faux", "opt out", "opted out"),
}


def parse_boolean(series: pd.Series) -> Parsed:
    """Yes/no values: ``yes``/``no``, ``true``/``false``, ``1``/``0``, ``oui``/``non`` (any case), or booleans.

    The one parser of flags in the kit (the loader's ``boolean`` columns, and any flag a list
    carries). Anything else is flagged as bad; empty cells are missing.

    Examples
    --------
    >>> import pandas as pd
    >>> parsed = parse_boolean(pd.Series(["Yes", "oui", "1", "TRUE", "non", 0, False, None, "maybe"]))
    >>> parsed.values.tolist()
    [True, True, True, True, False, False, False, <NA>, <NA>]
    >>> parsed.bad.tolist()
    [False, False, False, False, False, False, False, False, True]
    """
    lookup = {normalize_label(spelling): value for value, spellings in BOOLEAN_SPELLINGS.items()
              for spelling in spellings}
    missing = missing_mask(series)
    if pd.api.types.is_bool_dtype(series):
        values = series.astype("boolean")
        return Parsed(values, pd.Series(False, index=series.index))
    text = _as_string(series.map(lambda v: str(v).lower() if isinstance(v, bool | np.bool_) else v))
    uniques = text[~missing].dropna().unique()
    mapping = {value: lookup.get(normalize_label(value)) for value in uniques}
    values = text.map(mapping).where(~missing).astype("boolean")
    bad = ~missing & values.isna()
    return Parsed(values, bad.astype(bool))
