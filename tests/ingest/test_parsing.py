"""Value parsers: numbers, dates, identifiers and categories as real exports spell them."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portfolio_helpers.core.contract import TABLES
from portfolio_helpers.ingest.parsing import (
    MISSING_TOKENS,
    WHITESPACE,
    missing_mask,
    parse_category,
    parse_date,
    parse_id,
    parse_number,
    parse_text,
)

STATUS = TABLES["transactions"].column("status").values
TS = pd.Timestamp


def numbers(values, **kwargs):
    return parse_number(pd.Series(values), **kwargs)


def dates(values, **kwargs):
    return parse_date(pd.Series(values), **kwargs)


def as_list(series: pd.Series) -> list:
    """NaN/NaT/NA become None so lists compare with ==."""
    return [None if pd.isna(v) else v for v in series.tolist()]


# --------------------------------------------------------------------------- numbers


def test_whitespace_is_what_pythons_regex_calls_a_space():
    import re
    import sys

    spaces = {chr(c) for c in range(sys.maxunicode + 1) if re.match(r"\s", chr(c))}
    assert set(WHITESPACE) == spaces and len(WHITESPACE) == len(spaces) == 29


def test_parse_number_reads_unicode_spaces_as_grouping():
    values = pd.Series(["1\u202f234,50\u00a0€", "EUR\u20031\u2009000", "-\u3000$\u00a012", "1\x0b000"])
    assert parse_number(values, decimal=",").values.tolist() == [1234.5, 1000.0, -12.0, 1000.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 234,50 €", 1234.5),
        ("1\u00a0234,50 €", 1234.5),
        ("1\u202f234,50 €", 1234.5),
        ("1\u00a0234\u00a0567,25\u00a0€", 1234567.25),
        ("EUR 99.00", 99.0),
        ("99,00 EUR", 99.0),
        ("$1,234.56", 1234.56),
        ("US$ 12", 12.0),
        ("£7.10", 7.1),
        ("1.234.567,89", 1234567.89),
        ("1,234,567.89", 1234567.89),
        ("(12.00)", -12.0),
        ("(1 234,50 €)", -1234.5),
        ("12.50-", -12.5),
        ("12,5-", -12.5),
        ("\u22124,5", -4.5),
        ("1'234.50", 1234.5),
        ("1’234.50", 1234.5),
        ("-1 234,56", -1234.56),
        ("+3", 3.0),
        ("0,00", 0.0),
        ("  42  ", 42.0),
        ("-$1,234.56", -1234.56),
        ("($1,234.56)", -1234.56),
        ("-€5", -5.0),
        ("€-5", -5.0),
        ("12,34,567.00", 1234567.0),  # Indian grouping
    ],
)
def test_parse_number_single_value_formats(text, expected):
    parsed = numbers([text])
    assert parsed.values.dtype == "float64"
    assert parsed.values.iloc[0] == pytest.approx(expected, rel=1e-12)
    assert parsed.n_bad == 0


def test_parse_number_docstring_example():
    assert numbers(["1 234,50 €", "EUR 99,00", "-12,5"]).values.tolist() == [1234.5, 99.0, -12.5]


def test_parse_number_detects_decimal_per_column():
    french = numbers(["1 234,56", "1,5", "-0,25"])
    assert french.values.tolist() == [1234.56, 1.5, -0.25]
    assert french.detected == {"decimal": ","}
    english = numbers(["1,234.56", "1.5", "-0.25"])
    assert english.values.tolist() == [1234.56, 1.5, -0.25]
    assert english.detected == {"decimal": "."}
    german = numbers(["1.234,5", "2.000.000,00", "7"])
    assert german.values.tolist() == [1234.5, 2000000.0, 7.0]
    assert german.detected == {"decimal": ","}
    # "1.234.567" can only be dot-grouped thousands
    assert numbers(["1.234.567"]).values.tolist() == [1234567.0]


def test_parse_number_decimal_forced_by_parameter():
    assert numbers(["1,234"], decimal=",").values.tolist() == [1.234]
    assert numbers(["1,234"], decimal=".").values.tolist() == [1234.0]
    assert numbers(["1.234"], decimal=",").values.tolist() == [1234.0]
    assert numbers(["1.234"], decimal=".").values.tolist() == [1.234]
    forced = numbers(["1.234", "12,5"], decimal=",")
    assert forced.values.tolist() == [1234.0, 12.5]
    assert forced.detected == {"decimal": ","}
    # With ',' forced, "1,234.56" is not a decimal-comma number: unreadable, not 1.23456.
    wrong_way = numbers(["1,234.56"], decimal=",")
    assert wrong_way.bad.tolist() == [True]


def test_parse_number_thousands_parameter():
    assert numbers(["1_234,5"], thousands="_").values.tolist() == [1234.5]


def test_parse_number_decimal_hint_breaks_ties_for_grouped_commas():
    # "1,234"-only columns: thousands separators by default ...
    plain = numbers(["1,234", "5,678", "12,345,678"])
    assert plain.values.tolist() == [1234.0, 5678.0, 12345678.0]
    assert plain.detected == {"decimal": "."}
    assert numbers(["1,234", "5,678"], decimal_hint=".").values.tolist() == [1234.0, 5678.0]
    # ... decimal commas when the file says so (a ';'-separated file)
    hinted = numbers(["1,234", "5,678"], decimal_hint=",")
    assert hinted.values.tolist() == [1.234, 5.678]
    assert hinted.detected == {"decimal": ","}
    # dot-grouped thousands with a ',' hint
    assert numbers(["1.234", "2.345"], decimal_hint=",").values.tolist() == [1234.0, 2345.0]
    # a value that cannot be grouped thousands settles it whatever the hint
    assert numbers(["1,234", "5,5"], decimal_hint=".").values.tolist() == [1.234, 5.5]


@pytest.mark.parametrize("token", ["", "   ", "N/A", "n/a", "NA", "null", "NULL", "None", "nan", "-", "--", "#N/A", "?"])
def test_parse_number_missing_tokens_are_missing_not_bad(token):
    parsed = numbers(["1,5", token])
    assert parsed.values.iloc[0] == 1.5
    assert math.isnan(parsed.values.iloc[1])
    assert parsed.bad.tolist() == [False, False]


def test_missing_tokens_and_mask():
    assert {"", "n/a", "null", "-"} <= MISSING_TOKENS
    mask = missing_mask(pd.Series([" ", "NA", "#N/A", "?", "x", None, "0"], dtype=object))
    assert mask.tolist() == [True, True, True, True, False, True, False]
    assert missing_mask(pd.Series([1.0, np.nan])).tolist() == [False, True]


@pytest.mark.parametrize("garbage", ["abc", "inf", "-inf", "Infinity", "1e5x", "12..3", "1.5.6", "--5", "5--",
                                     "EUR", "€", "1 2 3x", "0x1F", "12,5,"])
def test_parse_number_garbage_is_bad(garbage):
    parsed = numbers(["10", garbage])
    assert parsed.values.iloc[0] == 10.0
    assert math.isnan(parsed.values.iloc[1])
    assert parsed.bad.tolist() == [False, True]
    alone = numbers([garbage])
    assert alone.bad.tolist() == [True]
    assert math.isnan(alone.values.iloc[0])


def test_parse_number_misplaced_grouping_marks_are_bad_not_rescaled():
    # a stray decimal comma in a dot-decimal column must not become 15
    english = numbers(["1,234.56", "1,5", "2.5"])
    assert as_list(english.values) == [1234.56, None, 2.5]
    assert english.bad.tolist() == [False, True, False]
    # a stray decimal point in a decimal-comma column must not become 500
    french = numbers(["1.234,56", "5.00", "7,5"])
    assert as_list(french.values) == [1234.56, None, 7.5]
    assert french.bad.tolist() == [False, True, False]


def test_parse_number_scientific_notation_is_accepted():
    assert numbers(["1e5", "2.5E-3"]).values.tolist() == [100000.0, 0.0025]


def test_parse_number_excel_object_column_mixing_floats_and_strings():
    column = pd.Series([1234.5, "1 234,50 €", 3, None, "N/A", np.float64(2.5), "abc", np.int64(7), "-1,5"],
                       dtype=object)
    parsed = parse_number(column)
    assert as_list(parsed.values) == [1234.5, 1234.5, 3.0, None, None, 2.5, None, 7.0, -1.5]
    assert parsed.bad.tolist() == [False, False, False, False, False, False, True, False, False]
    assert parsed.values.dtype == "float64"


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, 2, -3], dtype="int64"),
        pd.Series([1.5, np.nan, -3.25], dtype="float64"),
        pd.Series([1, None, 3], dtype="Int64"),
        pd.Series([1.5, None], dtype="Float64"),
    ],
)
def test_parse_number_numeric_dtypes_pass_through(column):
    parsed = parse_number(column)
    assert parsed.values.dtype == "float64"
    assert as_list(parsed.values) == [None if pd.isna(v) else float(v) for v in column]
    assert parsed.n_bad == 0
    assert parsed.detected == {"decimal": "native"}


def test_parse_number_keeps_index_and_string_dtype_input():
    column = pd.Series(["1,5", "x", ""], index=[10, 20, 30], dtype="string")
    parsed = parse_number(column)
    assert parsed.values.index.tolist() == [10, 20, 30]
    assert parsed.bad.index.tolist() == [10, 20, 30]
    assert as_list(parsed.values) == [1.5, None, None]
    assert parsed.bad.tolist() == [False, True, False]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05", TS("2024-03-05")),
        ("2024-3-5", TS("2024-03-05")),
        ("2024-03-05 14:30:00", TS("2024-03-05 14:30")),
        ("2024-03-05T14:30", TS("2024-03-05 14:30")),
        ("2024-03-05 14:30:00.250", TS("2024-03-05 14:30:00.250")),
        # offsets are dropped, the wall-clock time of the export is kept
        ("2024-03-05T23:30:00Z", TS("2024-03-05 23:30")),
        ("2024-03-05T23:30:00+02:00", TS("2024-03-05 23:30")),
        ("2024-03-05T23:30:00-0500", TS("2024-03-05 23:30")),
        ("2024/03/05", TS("2024-03-05")),
        ("31/01/2024", TS("2024-01-31")),
        ("31/01/2024 14:30", TS("2024-01-31 14:30")),
        ("31/01/2024 14:30:15", TS("2024-01-31 14:30:15")),
        ("31/01/2024 14h30", TS("2024-01-31 14:30")),
        ("31.01.2024", TS("2024-01-31")),
        ("31-01-24", TS("2024-01-31")),
        ("31-01-99", TS("1999-01-31")),
        ("19970101", TS("1997-01-01")),
        ("5 March 2024", TS("2024-03-05")),
        ("Mar 5, 2024", TS("2024-03-05")),
    ],
)
def test_parse_date_single_value_formats(text, expected):
    parsed = dates([text])
    assert parsed.values.dtype == "datetime64[ns]"
    assert parsed.values.iloc[0] == expected
    assert parsed.n_bad == 0


def test_parse_date_docstring_example():
    parsed = dates(["2024-03-05", "31/01/2024", "05/02/2024 14:30"])
    assert parsed.values.dt.strftime("%Y-%m-%d").tolist() == ["2024-03-05", "2024-01-31", "2024-02-05"]


def test_parse_date_mixed_formats_in_one_column():
    parsed = dates(["2024-03-05", "31/01/2024", "19970101", "05.02.2024", "2024-03-05T10:00:00Z",
                    "05/02/2024 14:30", "", "N/A"])
    assert as_list(parsed.values) == [TS("2024-03-05"), TS("2024-01-31"), TS("1997-01-01"), TS("2024-02-05"),
                                      TS("2024-03-05 10:00"), TS("2024-02-05 14:30"), None, None]
    assert parsed.n_bad == 0
    assert parsed.detected["dayfirst"] is True
    assert "dayfirst_assumed" not in parsed.detected
    assert set(parsed.detected["formats"]) == {"ISO", "dd/mm/yyyy", "yyyymmdd"}


def test_parse_date_a_day_above_12_proves_dayfirst():
    parsed = dates(["01/02/2024", "13/02/2024", "03/04/2024"])
    assert parsed.values.tolist() == [TS("2024-02-01"), TS("2024-02-13"), TS("2024-04-03")]
    assert parsed.detected["dayfirst"] is True
    assert "dayfirst_assumed" not in parsed.detected


def test_parse_date_month_first_detection():
    parsed = dates(["12/31/2024", "01/02/2024", "03/04/2024"])
    assert parsed.values.tolist() == [TS("2024-12-31"), TS("2024-01-02"), TS("2024-03-04")]
    assert parsed.detected["dayfirst"] is False
    assert parsed.detected["formats"] == ["mm/dd/yyyy"]
    assert "dayfirst_assumed" not in parsed.detected


def test_parse_date_ambiguous_column_defaults_to_dayfirst_and_says_so():
    parsed = dates(["01/02/2024", "03/04/2024", "12/11/2024"])
    assert parsed.values.tolist() == [TS("2024-02-01"), TS("2024-04-03"), TS("2024-11-12")]
    assert parsed.detected["dayfirst"] is True
    assert parsed.detected["dayfirst_assumed"] is True


def test_parse_date_explicit_dayfirst_overrides_detection():
    month_first = dates(["01/02/2024", "03/04/2024"], dayfirst=False)
    assert month_first.values.tolist() == [TS("2024-01-02"), TS("2024-03-04")]
    assert month_first.detected["dayfirst"] is False
    assert "dayfirst_assumed" not in month_first.detected
    # the evidence of "12/31/2024" is ignored when dayfirst is forced: that value is unreadable
    forced = dates(["12/31/2024", "01/02/2024"], dayfirst=True)
    assert as_list(forced.values) == [None, TS("2024-02-01")]
    assert forced.bad.tolist() == [True, False]
    forced_us = dates(["13/02/2024", "01/02/2024"], dayfirst=False)
    assert forced_us.bad.tolist() == [True, False]
    assert forced_us.values.iloc[1] == TS("2024-01-02")


@pytest.mark.parametrize("invalid", ["32/13/2024", "2024-02-30", "29/02/2023", "31/04/2024", "2024-13-01",
                                     "20240399", "99999999", "05/03/2024 25:00", "05/03/2024 10:75",
                                     "2024-03-05 25:00", "abc", "2024-03-05 garbage", "12/31/2024/1"])
def test_parse_date_invalid_dates_are_bad(invalid):
    parsed = dates(["15/01/2024", invalid])
    assert parsed.values.iloc[0] == TS("2024-01-15")
    assert pd.isna(parsed.values.iloc[1])
    assert parsed.bad.tolist() == [False, True]


@pytest.mark.parametrize("implausible", ["0001-01-01", "2500-01-01", "1899-12-31", "2101-01-01", "01/01/0001",
                                         "31/12/2500", "00010101", "25000101", "5 March 2500"])
def test_parse_date_implausible_years_are_bad(implausible):
    parsed = dates(["2024-01-15", implausible])
    assert parsed.values.dtype == "datetime64[ns]"
    assert parsed.values.iloc[0] == TS("2024-01-15")
    assert pd.isna(parsed.values.iloc[1])
    assert parsed.bad.tolist() == [False, True]


def test_parse_date_year_bounds_are_inclusive():
    parsed = dates(["1900-01-01", "2100-12-31"])
    assert parsed.values.tolist() == [TS("1900-01-01"), TS("2100-12-31")]
    assert parsed.n_bad == 0


@pytest.mark.parametrize("token", ["", "  ", "N/A", "null", "-", "NaT", None])
def test_parse_date_missing_is_not_bad(token):
    parsed = parse_date(pd.Series(["2024-01-15", token], dtype=object))
    assert pd.isna(parsed.values.iloc[1])
    assert parsed.bad.tolist() == [False, False]


def test_parse_date_excel_objects_pass_through():
    column = pd.Series([pd.Timestamp("2024-01-05"), dt.datetime(2024, 1, 5, 13, 45), dt.date(2024, 2, 3),
                        "06/01/2024", None, np.datetime64("2024-03-01T08:00")], dtype=object)
    parsed = parse_date(column)
    assert as_list(parsed.values) == [TS("2024-01-05"), TS("2024-01-05 13:45"), TS("2024-02-03"),
                                      TS("2024-01-06"), None, TS("2024-03-01 08:00")]
    assert parsed.n_bad == 0
    assert parsed.values.dtype == "datetime64[ns]"


def test_parse_date_excel_objects_with_implausible_years_are_bad():
    column = pd.Series([dt.datetime(2024, 1, 5), dt.date(2500, 1, 1), dt.datetime(1, 1, 1)], dtype=object)
    parsed = parse_date(column)
    assert as_list(parsed.values) == [TS("2024-01-05"), None, None]
    assert parsed.bad.tolist() == [False, True, True]


def test_parse_date_mixed_naive_and_tz_aware_objects_keep_wall_clock():
    column = pd.Series([pd.Timestamp("2024-01-05 23:30", tz="Europe/Paris"), dt.datetime(2024, 1, 6, 8, 0)],
                       dtype=object)
    parsed = parse_date(column)
    assert parsed.values.tolist() == [TS("2024-01-05 23:30"), TS("2024-01-06 08:00")]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_parse_date_datetime_dtypes_pass_through(unit):
    column = pd.Series(pd.to_datetime(["2024-01-05 10:00", None, "2023-12-31 00:00"])).astype(f"datetime64[{unit}]")
    parsed = parse_date(column)
    assert as_list(parsed.values) == [TS("2024-01-05 10:00"), None, TS("2023-12-31")]
    assert parsed.n_bad == 0
    assert parsed.detected == {"format": "native"}


def test_parse_date_tz_aware_dtype_keeps_wall_clock():
    column = pd.Series(pd.to_datetime(["2024-01-05 23:30"]).tz_localize("Europe/Paris"))
    parsed = parse_date(column)
    assert parsed.values.tolist() == [TS("2024-01-05 23:30")]
    assert parsed.values.dt.tz is None


def test_parse_date_native_dtype_with_implausible_year_is_bad():
    column = pd.Series([dt.datetime(2024, 1, 5), dt.datetime(2500, 1, 1)])
    assert pd.api.types.is_datetime64_any_dtype(column)
    parsed = parse_date(column)
    assert as_list(parsed.values) == [TS("2024-01-05"), None]
    assert parsed.bad.tolist() == [False, True]


@pytest.mark.parametrize("column", [pd.Series([np.nan, np.nan]), pd.Series([None, None, None], dtype=object),
                                    pd.Series([], dtype=object), pd.Series(["", ""])])
def test_parse_date_empty_columns(column):
    parsed = parse_date(column)
    assert len(parsed.values) == len(column)
    assert parsed.values.isna().all()
    assert parsed.n_bad == 0


def test_parse_date_repeated_values_match_value_by_value_parsing():
    # Long columns with few distinct values are parsed once per distinct value.
    distinct = ["2024-01-05", "13/02/2024", "bad", "", None, "19970101", "05/03/2024 14:30", "0001-01-01"]
    column = pd.Series(distinct * 40, dtype=object)
    long = parse_date(column)
    short = parse_date(pd.Series(distinct, dtype=object))
    assert as_list(long.values) == as_list(short.values) * 40
    assert long.bad.tolist() == short.bad.tolist() * 40
    assert short.bad.tolist() == [False, False, True, False, False, False, False, True]
    assert long.detected["dayfirst"] is True


# --------------------------------------------------------------------------- ids, text, categories


def test_parse_id_from_spreadsheet_floats():
    parsed = parse_id(pd.Series([1001.0, 2.0, np.nan]))
    assert as_list(parsed.values) == ["1001", "2", None]
    assert isinstance(parsed.values.dtype, pd.StringDtype)


def test_parse_id_mixed_objects_keep_leading_zeros():
    column = pd.Series([1001.0, "00123", 42, " A-7 ", None, "N/A", np.int64(7), 1.5, ""], dtype=object)
    parsed = parse_id(column)
    assert as_list(parsed.values) == ["1001", "00123", "42", "A-7", None, None, "7", "1.5", None]
    assert parsed.n_bad == 0


def test_parse_id_strings_untouched():
    parsed = parse_id(pd.Series(["007", "0042", "C-001"]))
    assert parsed.values.tolist() == ["007", "0042", "C-001"]
    assert parse_id(pd.Series([1001, 2])).values.tolist() == ["1001", "2"]


def test_parse_text_trims_and_clears_missing():
    parsed = parse_text(pd.Series([" a ", "", None, 3, "N/A"], dtype=object))
    assert as_list(parsed.values) == ["a", None, None, "3", None]
    assert parsed.n_bad == 0


def test_parse_category_synonyms_accents_case():
    column = pd.Series(["Annulée", "COMPLETED", " canceled ", "Retour", "Modifiée", "livrée", "Done", "REFUNDED"])
    parsed = parse_category(column, STATUS)
    assert parsed.values.tolist() == ["cancelled", "completed", "cancelled", "returned", "modified", "completed",
                                      "completed", "returned"]
    assert parsed.n_bad == 0


def test_parse_category_unknown_is_bad_missing_is_not():
    parsed = parse_category(pd.Series(["weird", "", None, "N/A", "cancelled"], dtype=object), STATUS)
    assert as_list(parsed.values) == [None, None, None, None, "cancelled"]
    assert parsed.bad.tolist() == [True, False, False, False, False]


def test_parse_category_docstring_example():
    parsed = parse_category(pd.Series(["Annulée", "completed"]), {"cancelled": ("annulee",), "completed": ()})
    assert parsed.values.tolist() == ["cancelled", "completed"]


def test_parse_category_customer_type():
    parsed = parse_category(pd.Series(["Entreprise", "particulier", "b2b", "Société"]),
                            TABLES["customers"].column("customer_type").values)
    assert parsed.values.tolist() == ["B2B", "B2C", "B2B", "B2B"]


# --------------------------------------------------------------------------- properties


def _english(x: float) -> str:
    return f"{x:,.2f}"


def _french(x: float) -> str:
    return f"{x:,.2f}".replace(",", "\u00a0").replace(".", ",")


def _german(x: float) -> str:
    return f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


_amounts = st.floats(allow_nan=False, allow_infinity=False).map(lambda x: round(x, 2))
_columns = st.lists(_amounts, min_size=3, max_size=8)
_CURRENCY_STYLES = ["EUR {}", "{} EUR", "{} €", "€{}", "${}", "USD {}", "{}\u00a0€", "£ {}"]


def _assert_round_trip(texts: list[str], xs: list[float]) -> None:
    parsed = parse_number(pd.Series(texts))
    assert parsed.n_bad == 0, texts
    for got, x, text in zip(parsed.values.tolist(), xs, texts, strict=True):
        assert math.isclose(got, x, rel_tol=1e-9, abs_tol=0.0), (text, got, x)


@settings(max_examples=150, deadline=None)
@given(xs=_columns)
def test_property_french_numbers_round_trip(xs):
    _assert_round_trip([_french(x) for x in xs], xs)


@settings(max_examples=150, deadline=None)
@given(xs=_columns)
def test_property_english_numbers_round_trip(xs):
    _assert_round_trip([_english(x) for x in xs], xs)


@settings(max_examples=100, deadline=None)
@given(xs=_columns)
def test_property_german_numbers_round_trip(xs):
    _assert_round_trip([_german(x) for x in xs], xs)


@settings(max_examples=150, deadline=None)
@given(xs=_columns, style=st.sampled_from(_CURRENCY_STYLES), french=st.booleans())
def test_property_numbers_with_currency_round_trip(xs, style, french):
    fmt = _french if french else _english
    _assert_round_trip([style.format(fmt(x)) for x in xs], xs)


_dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2090, 12, 31))
_late_day = st.builds(dt.date, st.integers(1950, 2090), st.integers(1, 12), st.integers(13, 28))


@settings(max_examples=150, deadline=None)
@given(ds=st.lists(_dates, min_size=1, max_size=10), anchor=_late_day, position=st.integers(0, 10))
def test_property_dayfirst_dates_round_trip(ds, anchor, position):
    ds = ds[:position] + [anchor] + ds[position:]  # at least one day > 12: day-first is proven
    parsed = parse_date(pd.Series([d.strftime("%d/%m/%Y") for d in ds]))
    assert parsed.n_bad == 0
    assert parsed.values.tolist() == [pd.Timestamp(d) for d in ds]
    assert parsed.detected["dayfirst"] is True
    assert "dayfirst_assumed" not in parsed.detected


@settings(max_examples=100, deadline=None)
@given(ds=st.lists(_dates, min_size=1, max_size=10), anchor=_late_day)
def test_property_monthfirst_dates_round_trip(ds, anchor):
    ds = [anchor, *ds]
    parsed = parse_date(pd.Series([d.strftime("%m/%d/%Y") for d in ds]))
    assert parsed.values.tolist() == [pd.Timestamp(d) for d in ds]
    assert parsed.detected["dayfirst"] is False


@settings(max_examples=150, deadline=None)
@given(stamps=st.lists(st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2090, 12, 31)),
                       min_size=1, max_size=10), with_time=st.booleans())
def test_property_iso_dates_round_trip(stamps, with_time):
    stamps = [s.replace(microsecond=0) if with_time else dt.datetime(s.year, s.month, s.day) for s in stamps]
    texts = [s.isoformat(sep=" " if with_time else "T") if with_time else s.date().isoformat() for s in stamps]
    parsed = parse_date(pd.Series(texts))
    assert parsed.n_bad == 0
    assert parsed.values.tolist() == [pd.Timestamp(s) for s in stamps]


def test_parse_id_float_text_by_hand():
    parsed = parse_id(pd.Series(["17450.0", "17450", "00123", "00123.0", " 12.00 ", "1.5", "A-12.0", "1e3", "", None]))
    assert parsed.values.fillna("<missing>").tolist() == [
        "17450", "17450", "00123", "00123", "12", "1.5", "A-12.0", "1e3", "<missing>", "<missing>"]
    assert parsed.rewritten.tolist() == [True, False, False, True, True, False, False, False, False, False]
    assert not parsed.bad.any()


_ID_TEXT = st.one_of(
    st.from_regex(r"\A[0-9]{1,12}\Z"),                      # plain, possibly with leading zeros
    st.from_regex(r"\A[0-9]{1,12}\.0{1,3}\Z"),               # written as a float
    st.from_regex(r"\A[A-Z]{0,3}-?[0-9]{0,6}(\.[0-9]{1,2})?\Z"),  # codes, other decimals
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ID_TEXT, min_size=1, max_size=20))
def test_parse_id_is_idempotent(values):
    once = parse_id(pd.Series(values, dtype=object)).values
    twice = parse_id(once).values
    assert once.fillna("<missing>").tolist() == twice.fillna("<missing>").tolist()


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A[0-9]{1,15}\Z"), st.integers(min_value=1, max_value=4))
def test_parse_id_float_text_and_plain_text_are_the_same_id(digits, zeros):
    parsed = parse_id(pd.Series([digits, f"{digits}.{'0' * zeros}"])).values.tolist()
    assert parsed == [digits, digits]  # leading zeros included


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**53))
def test_parse_id_float_cell_and_plain_text_are_the_same_id(number):
    parsed = parse_id(pd.Series([str(number), float(number), f"{number}.0"], dtype=object)).values.tolist()
    assert parsed == [str(number)] * 3
