"""The boundary checks of core.validation: one error type per kind of problem (ColumnError, ValueProblem), both
PortfolioErrors that are also ValueErrors; messages name the table, the column, how many rows and examples, on
a pandas frame and on an engine table alike."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from portfolio_helpers.core.errors import ColumnError, PortfolioError, ValueProblem
from portfolio_helpers.core.validation import (
    canonical_columns,
    canonical_lines,
    require_choice,
    require_complete,
    require_count,
    require_date,
    require_dates,
    require_number,
    require_numbers,
    require_share,
)

TX = pd.DataFrame({"client": ["a", "b", "c", "d"], "day": ["2025-01-01", "2025-01-02", None, "2025-01-04"],
                   "value": [1.0, np.nan, 3.0, np.nan], "date": pd.to_datetime(["2025-01-01"] * 4)})


def test_value_problem_is_a_portfolio_error_and_a_value_error():
    assert issubclass(ValueProblem, PortfolioError) and issubclass(ValueProblem, ValueError)
    assert not issubclass(ValueProblem, KeyError)


def test_dates_numbers_and_missing_values(lines_as):
    tx = lines_as(TX)
    with pytest.raises(ValueProblem, match=r"^transactions\.day must hold dates \(datetime64\), got dtype "
                                           r".*\(e\.g\. '2025-01-01', '2025-01-02', '2025-01-04'\)"):
        require_dates(tx, ["day"], table="transactions")
    assert require_dates(tx, ["date"], table="transactions") is tx
    with pytest.raises(ValueProblem, match=r"^transactions\.client must hold numbers, got dtype .*\(e\.g\. 'a', "
                                           r"'b', 'c'\)"):
        require_numbers(tx, ["value", "client"], table="transactions")
    with pytest.raises(ValueProblem) as error:
        require_complete(tx, ["client", "value"], table="transactions", why="every line needs an amount")
    message = str(error.value)
    assert message.startswith("transactions.value has 2 missing value(s) out of 4 rows")
    assert message.endswith("; every line needs an amount")
    if isinstance(tx, pd.DataFrame):  # the rows are known in a frame (an engine table has no row order)
        assert "(rows 1, 3)" in message
    with pytest.raises(ColumnError, match="the transactions table has no amount column"):
        require_complete(tx, ["amount"], table="transactions")


def test_a_table_name_with_spaces_is_worded_as_a_phrase():
    with pytest.raises(ValueProblem, match=r"^the profit column of the P&L \(customer_pnl\) table has 1 missing"):
        require_complete(pd.DataFrame({"profit": [1.0, None]}), ["profit"], table="P&L (customer_pnl)")


def test_parameters():
    assert require_number(3, "x", low=0, high=5) == 3.0
    for bad in (True, "3", math.inf, math.nan, -1, 6):
        with pytest.raises(ValueProblem, match=r"^x must be a finite number in \[0, 5\], got "):
            require_number(bad, "x", low=0, high=5)
    assert require_count(np.int64(2), "n") == 2
    with pytest.raises(ValueProblem, match="^n must be a non-negative integer, got -1$"):
        require_count(-1, "n")
    with pytest.raises(ValueProblem, match="^k must be an integer >= 2, got 2.5$"):
        require_count(2.5, "k", minimum=2)
    assert require_share(0, "q") == 0.0 and require_share(1, "q") == 1.0
    with pytest.raises(ValueProblem, match=r"^q must be a share in \(0, 1\], e\.g\. 0\.2 for 20%; got 0$"):
        require_share(0, "q", allow_zero=False)
    assert require_choice("gmm", "algorithm", ["kmeans", "gmm"]) == "gmm"
    with pytest.raises(ValueProblem, match=r"^algorithm must be one of kmeans, gmm, got 'kmean' "
                                           r"\(did you mean 'kmeans'\?\)$"):
        require_choice("kmean", "algorithm", ["kmeans", "gmm"])
    with pytest.raises(ValueProblem, match="^algorithm must be one of kmeans, gmm, got"):
        require_choice(["kmeans"], "algorithm", ["kmeans", "gmm"])
    assert require_date("2025-12-31", "as_of") == pd.Timestamp("2025-12-31")
    with pytest.raises(ValueProblem, match="^as_of must be a date, got None$"):
        require_date(None, "as_of")


def test_canonical_columns(lines_as):
    tx = lines_as(TX.drop(columns="day"))
    renamed = canonical_lines(tx, customer_col="client", amount_col="value", date_col="date")
    assert list(renamed.columns) == ["customer_id", "amount", "date"]
    # the kit's name on another column gives way to the column the keyword names
    decoy = lines_as(TX.drop(columns="day").assign(customer_id="zz"))
    assert list(canonical_columns(decoy, {"customer_id": "client"}).columns) == ["customer_id", "value", "date"]
    # the kit's names already: the same object back (nothing copied)
    plain = TX.rename(columns={"client": "customer_id"})
    assert canonical_columns(plain, {"customer_id": "customer_id"}, required=["customer_id"]) is plain
    with pytest.raises(ColumnError, match=r"^the sales table has no amount column; it has client, value, date$"):
        canonical_lines(tx, customer_col="client", table="sales")
    with pytest.raises(ColumnError, match=r"^the transactions table has no value column \(amount_col='value'\); "
                                          r"it has customer_id, date$"):
        canonical_lines(pd.DataFrame(columns=["customer_id", "date"]), amount_col="value")
