"""Pareto and concentration measures: how much of the value sits with how few customers.

Population
----------
Every customer with at least one transaction in the analysed period, one value per
customer: net revenue, profit or margin (the functions do not care which).

Zero, negative and missing values
---------------------------------
* **Zero** values stay in the population: the customer counts as a customer holding a
  0 share (it lowers the customer shares, e.g. in :func:`share_of_customers_for`).
* **Negative** values (more credit notes than sales) are **counted as 0** by every
  concentration measure (Lorenz curve, Gini, top share, share of customers for a
  target, HHI, major customers, ABC classes, shares of :func:`pareto_table` and
  :func:`concentration_by`). Such customers are never dropped, always class C, and
  the Gini coefficient stays in [0, 1]. The clipping happens in one place,
  :func:`concentration_values`; :func:`negative_values_summary` reports how many
  customers were clipped and their total, so a report can say so.
  :func:`pareto_table` and :func:`concentration_summary` (``total``) keep the true,
  possibly negative, values beside the clipped shares.
* **Missing** values (NaN) raise a ``ValueError`` naming how many there are: a customer
  without a value is a data problem to fix upstream, not a zero.
* **No customer, or a total of 0** (all values zero or negative): the measures that
  divide by the total return NaN rather than a made-up number; counts are 0 and every
  customer is class C. The Gini coefficient of a single customer is 0.

Float shares are compared with a tolerance of ``1e-12``, so a cumulative share of
0.7999999999999999 that is really 80% counts as reaching 80%.

ABC rule
--------
Customers are ranked by value, largest first; ties keep their original order (stable
sort; :func:`pareto_table` breaks ties by customer id). For each customer, take the
share of the total held by the customers ranked **before** it:

* class **A** if that share is below ``a`` -- so the customer that crosses ``a`` is
  still A, and A is the smallest group of largest customers holding at least ``a``;
* class **B** if it is below ``b`` (the customer crossing ``b`` is B);
* class **C** otherwise, and always when the value is 0 or negative.

With values 50, 30, 10, 5, 5 the shares before each customer are 0, 0.5, 0.8, 0.9 and
0.95, hence A, A, B, B, C for ``a=0.8, b=0.95``: A (80, 50 + 30) reaches exactly 80%.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from numbers import Real

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine, profitability
from portfolio_helpers.analysis.engine import customer_values, period_bounds
from portfolio_helpers.core.errors import ValueProblem
from portfolio_helpers.core.presence import has_values
from portfolio_helpers.core.validation import (
    canonical_lines,
    require_choice,
    require_columns,
    require_count,
    require_share,
)
from portfolio_helpers.core.vocabulary import UNKNOWN

__all__ = [
    "concentration_values",
    "negative_values_summary",
    "lorenz_curve",
    "gini",
    "top_share",
    "share_of_customers_for",
    "abc_classes",
    "hhi",
    "hhi_level",
    "major_customers",
    "pareto_table",
    "concentration_summary",
    "concentration_by",
    "dimension_hhi",
    "dimension_exposures",
    "measures_by_period",
    "abc_migration",
    "last_two_years",
    "CUSTOMER_DIMENSIONS",
    "LINE_DIMENSIONS",
    "customer_revenue",
    "dimension_frames",
]

SHARE_TOLERANCE = 1e-12
ABC_CLASSES = pd.CategoricalDtype(["A", "B", "C"], ordered=True)
HHI_LEVELS = ("unconcentrated", "moderately concentrated", "highly concentrated")


# --------------------------------------------------------------------------- validation


def _as_values(values, name: str = "values") -> np.ndarray:
    """One float64 value per customer; refuses NaN, infinities, text and 2-D input."""
    if isinstance(values, pd.DataFrame):
        raise ValueProblem(f"{name} must be one value per customer (1-D), got a DataFrame")
    if isinstance(values, pd.Series | pd.Index):
        # object columns of numbers (e.g. after a merge) are accepted; text and categories are not
        if not (pd.api.types.is_numeric_dtype(values.dtype) or values.dtype == object):
            raise ValueProblem(f"{name} must be numeric, got dtype {values.dtype}")
        try:
            array = values.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise ValueProblem(f"{name} must be numeric: {error}") from None
    else:
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueProblem(f"{name} must be numeric: {error}") from None
    if array.ndim != 1:
        raise ValueProblem(f"{name} must be one value per customer (1-D), got shape {array.shape}")
    finite = np.isfinite(array)
    if not finite.all():
        n_nan = int(np.isnan(array).sum())
        if n_nan:
            raise ValueProblem(
                f"{name} contain {n_nan:,} missing (NaN) value{'s' if n_nan > 1 else ''} out of {array.size:,}; "
                "fill or drop them before measuring concentration"
            )
        n_inf = int(array.size - finite.sum())
        raise ValueProblem(f"{name} contain {n_inf:,} infinite value{'s' if n_inf > 1 else ''}")
    return array


def _check_share(name: str, value) -> float:
    """A share in (0, 1] (:func:`~portfolio_helpers.core.validation.require_share`)."""
    return require_share(value, name, allow_zero=False)


def _check_abc(a, b) -> tuple[float, float]:
    for name, share in (("a", a), ("b", b)):
        _check_share(name, share)
    if not a < b:
        raise ValueProblem(f"the ABC thresholds must satisfy 0 < a < b <= 1; got a={a!r}, b={b!r}")
    return float(a), float(b)


def _customer_index(values, index, n: int) -> pd.Index:
    if index is None:
        return values.index if isinstance(values, pd.Series) else pd.RangeIndex(n)
    index = pd.Index(index)
    if len(index) != n:
        raise ValueProblem(f"index has {len(index):,} labels for {n:,} values")
    return index


def _check_customer_ids(ids: pd.Series, customer_col: str) -> Callable[[], np.ndarray | None]:
    """Refuse missing or duplicated ids (one row per customer); return how to get the id order.

    The returned function gives the positions sorted by ascending id, or ``None`` when the
    rows are already in id order. Numeric and categorical ids are checked by sorting them
    (categorical ones by code, i.e. in category order), so their order comes for free;
    other ids (text) are checked by hashing and sorted only if ever needed.
    """
    n_missing = int(ids.isna().sum())
    if n_missing:
        raise ValueProblem(f"{customer_col} has {n_missing:,} missing id{'s' if n_missing > 1 else ''}")
    keys = None
    if isinstance(ids.dtype, pd.CategoricalDtype):  # sorted like pandas sorts categories: by their codes
        keys, labels = ids.cat.codes.to_numpy(), ids.cat.categories
    elif _is_plain_numeric(ids):
        keys, labels = ids.to_numpy(), None
    if keys is not None:
        if np.all(keys[1:] > keys[:-1]):
            return lambda: None
        by_id = np.argsort(keys)
        in_order = keys[by_id]
        repeated = np.unique(in_order[1:][in_order[1:] == in_order[:-1]])
        duplicated = pd.Series(repeated if labels is None else labels[repeated])
        n_duplicated = int(np.count_nonzero(in_order[1:] == in_order[:-1]))
    else:
        duplicated_rows = ids.duplicated()
        duplicated = pd.Series(ids[duplicated_rows].unique())
        n_duplicated = int(duplicated_rows.sum())
        by_id = None
    if n_duplicated:
        examples = ", ".join(map(repr, duplicated.iloc[:3].tolist()))
        raise ValueProblem(
            f"{customer_col} must identify one row per customer: {n_duplicated:,} duplicated "
            f"row{'s' if n_duplicated > 1 else ''} (ids e.g. {examples})"
        )
    if by_id is not None:
        return lambda: by_id
    return lambda: np.asarray(ids.argsort(kind="stable"))


def _is_plain_numeric(ids: pd.Series) -> bool:
    return isinstance(ids.dtype, np.dtype) and ids.dtype.kind in "iuf"


# --------------------------------------------------------------------------- the clipped values


def concentration_values(values) -> np.ndarray:
    """The values every concentration measure uses: negative values counted as 0.

    This is the single place where the negative-value policy of the module is applied.

    Parameters
    ----------
    values : array-like of float
        One net value per customer (revenue, profit, margin...). NaN is refused.

    Returns
    -------
    ndarray of float64
        ``max(value, 0)`` for each customer, in the input order.

    Raises
    ------
    ValueError
        On NaN (the message gives their number), infinite or non-numeric values.

    Examples
    --------
    >>> concentration_values([120.0, -30.0, 0.0])
    array([120.,   0.,   0.])
    """
    return np.maximum(_as_values(values), 0.0)


def negative_values_summary(values) -> dict:
    """How many customers have a negative value, and their total (a negative number).

    Examples
    --------
    >>> negative_values_summary([120.0, -30.0, -5.0, 0.0])
    {'n_negative': 2, 'negative_total': -35.0}
    """
    array = _as_values(values)
    negative = array[array < 0]
    return {"n_negative": int(negative.size), "negative_total": float(negative.sum())}


def _cumulative_shares(descending: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Share of the total held by the 1, 2, ... largest customers, and the total.

    ``descending`` are concentration values sorted largest first. The shares are ``None``
    when there is nothing to share (no customer, total 0); the last share is exactly 1.
    """
    if descending.size == 0:
        return None, 0.0
    cumulative = np.cumsum(descending)
    total = float(cumulative[-1])
    if total <= 0:
        return None, total
    cumulative /= total
    return cumulative, total


def _top_count(top: float, n: int) -> int:
    """⌈top·n⌉, with a guard against float error (0.7 * 10 is 7.000000000000001, not 8 customers)."""
    if n == 0:
        return 0
    return max(1, math.ceil(top * n * (1 - 1e-12)))


def _customers_for(cumulative_shares: np.ndarray, target: float) -> int:
    """Fewest largest customers whose cumulative share reaches ``target``."""
    return int(np.searchsorted(cumulative_shares, target - SHARE_TOLERANCE, side="left")) + 1


def _abc_sizes(cumulative_shares: np.ndarray | None, n_positive: int, a: float, b: float) -> tuple[int, int]:
    """Sizes of classes A and B: the first customers in descending order (see the ABC rule)."""
    if cumulative_shares is None:
        return 0, 0
    share_before = cumulative_shares[:-1]  # held by the customers ranked before the 2nd, 3rd, ... customer
    # the first customer has 0 before it, always < a
    n_a = min(n_positive, 1 + int(np.searchsorted(share_before, a - SHARE_TOLERANCE, side="left")))
    n_a_or_b = min(n_positive, 1 + int(np.searchsorted(share_before, b - SHARE_TOLERANCE, side="left")))
    return n_a, n_a_or_b - n_a


def _abc_codes(descending: np.ndarray, cumulative_shares: np.ndarray | None, a: float, b: float) -> np.ndarray:
    """Class codes (0 = A, 1 = B, 2 = C) of customers sorted largest first."""
    codes = np.full(descending.size, 2, dtype=np.int8)
    n_positive = int(np.count_nonzero(descending > 0))
    n_a, n_b = _abc_sizes(cumulative_shares, n_positive, a, b)
    codes[:n_a] = 0
    codes[n_a:n_a + n_b] = 1
    return codes


def _gini_ascending(ascending: np.ndarray, corrected: bool) -> float:
    """Sorted-rank formula: G = Σ (2i − n − 1)·x₍ᵢ₎ / (n·Σx), x sorted ascending, i = 1..n."""
    n = ascending.size
    total = float(ascending.sum())
    if n == 0 or total <= 0:
        return math.nan
    if n == 1:
        return 0.0
    weights = 2.0 * np.arange(1, n + 1, dtype=np.float64) - (n + 1)
    coefficient = float(np.dot(weights, ascending)) / (n * total)
    if corrected:
        coefficient *= n / (n - 1)
    return min(max(coefficient, 0.0), 1.0)  # rounding must not push it out of [0, 1]


def _hhi_points(clipped: np.ndarray) -> float:
    total = float(clipped.sum())
    if clipped.size == 0 or total <= 0:
        return math.nan
    shares = clipped / total
    return float(10_000.0 * np.dot(shares, shares))


# --------------------------------------------------------------------------- measures on values


def lorenz_curve(values) -> pd.DataFrame:
    """Lorenz curve: share of the value held by the smallest ``customer_share`` of customers.

    Parameters
    ----------
    values : array-like of float
        One value per customer; negative values count as 0.

    Returns
    -------
    DataFrame
        ``n + 1`` points, columns ``customer_share`` and ``value_share``, starting at
        (0, 0) and ending at (1, 1), customers sorted by ascending value. With a total
        of 0, ``value_share`` is NaN after the origin; with no customer, only the origin.

    Examples
    --------
    >>> lorenz_curve([8, 1, 7, 2, 6]).round(4).to_dict("list")
    {'customer_share': [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 'value_share': [0.0, 0.0417, 0.125, 0.375, 0.6667, 1.0]}
    """
    ascending = np.sort(concentration_values(values))
    n = ascending.size
    if n == 0:
        return pd.DataFrame({"customer_share": [0.0], "value_share": [0.0]})
    cumulative = np.concatenate(([0.0], np.cumsum(ascending)))
    total = cumulative[-1]
    value_share = cumulative / total if total > 0 else np.where(np.arange(n + 1) == 0, 0.0, np.nan)
    return pd.DataFrame({"customer_share": np.arange(n + 1) / n, "value_share": value_share})


def gini(values, corrected: bool = False) -> float:
    """Gini coefficient of the values: 0 when all customers are equal, close to 1 when one holds all.

    Parameters
    ----------
    values : array-like of float
        One value per customer; negative values count as 0, so the result is in [0, 1].
    corrected : bool, default False
        Multiply by ``n / (n - 1)`` so that "one customer holds everything" gives exactly 1
        whatever the number of customers (the plain coefficient is then ``(n - 1) / n``).

    Returns
    -------
    float
        NaN with no customer or a total of 0; 0 for a single customer.

    Examples
    --------
    >>> round(gini([1, 2, 6, 7, 8]), 5), round(gini([1, 2, 6, 7, 8], corrected=True), 5)
    (0.31667, 0.39583)
    """
    return _gini_ascending(np.sort(concentration_values(values)), corrected)


def top_share(values, share: float = 0.2) -> float:
    """Share of the total held by the largest ``⌈share·n⌉`` customers ("the top 20% make X%").

    Parameters
    ----------
    values : array-like of float
        One value per customer; negative values count as 0.
    share : float, default 0.2
        Share of customers, in (0, 1].

    Returns
    -------
    float
        In [0, 1]; NaN with no customer or a total of 0. ``⌈share·n⌉`` is computed with a
        relative guard of 1e-12 against float error: ``share=0.7`` of 10 customers is 7
        customers, although ``0.7 * 10`` is 7.000000000000001 in floats.

    Examples
    --------
    >>> top_share([50, 30, 10, 5, 5], share=0.2), top_share([50, 30, 10, 5, 5], share=0.4)
    (0.5, 0.8)
    """
    _check_share("share", share)
    descending = np.sort(concentration_values(values))[::-1]
    shares, _ = _cumulative_shares(descending)
    if shares is None:
        return math.nan
    return float(shares[_top_count(share, descending.size) - 1])


def share_of_customers_for(values, target: float = 0.8) -> float:
    """Smallest share of customers, largest first, holding ``target`` of the total: the real Pareto ratio.

    "80/20" would give 0.2 here; most portfolios land between 0.1 and 0.4.

    Parameters
    ----------
    values : array-like of float
        One value per customer; negative values count as 0 (zero-value customers still
        count in the denominator).
    target : float, default 0.8
        Share of the total to reach, in (0, 1].

    Returns
    -------
    float
        ``k / n`` with ``k`` the fewest customers reaching the target; NaN with no
        customer or a total of 0.

    Examples
    --------
    >>> share_of_customers_for([50, 30, 10, 5, 5], target=0.8)
    0.4
    """
    _check_share("target", target)
    descending = np.sort(concentration_values(values))[::-1]
    shares, _ = _cumulative_shares(descending)
    if shares is None:
        return math.nan
    return _customers_for(shares, target) / descending.size


def abc_classes(values, a: float = 0.8, b: float = 0.95, index=None) -> pd.Series:
    """ABC class of each customer, in the input order (see the ABC rule in the module docstring).

    Parameters
    ----------
    values : array-like of float
        One value per customer. Customers with a value of 0 or less are always C.
    a, b : float, default 0.8 and 0.95
        Cumulative-share thresholds, ``0 < a < b <= 1``.
    index : array-like, optional
        Labels of the result (e.g. customer ids); default the index of ``values`` when it
        is a Series, else 0..n-1.

    Returns
    -------
    Series
        Ordered categorical ``A < B < C`` named ``abc_class``. Ties keep their input order:
        of two equal values, the first one is ranked first.

    Examples
    --------
    >>> abc_classes([5, 30, 50, 5, 10]).tolist()
    ['B', 'A', 'A', 'C', 'B']
    """
    a, b = _check_abc(a, b)
    clipped = concentration_values(values)
    labels = _customer_index(values, index, clipped.size)
    order = np.argsort(-clipped, kind="stable")
    descending = clipped[order]
    shares, _ = _cumulative_shares(descending)
    codes = np.empty(clipped.size, dtype=np.int8)
    codes[order] = _abc_codes(descending, shares, a, b)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=ABC_CLASSES), index=labels, name="abc_class")


def hhi(values_or_shares) -> float:
    """Herfindahl-Hirschman Index in points, 0 to 10,000: ``Σ (100·share)²``.

    Shares are computed from the input, so raw values, fractions and percentages give
    the same result -- as long as the input covers the whole population (a partial list
    of shares is rescaled to 100%). Negative values count as 0.

    Returns
    -------
    float
        10,000 when one customer holds everything, ``10,000 / n`` when ``n`` customers are
        equal; NaN with no customer or a total of 0.

    Examples
    --------
    >>> round(hhi([30, 30, 20, 20])), round(hhi([0.3, 0.3, 0.2, 0.2]))
    (2600, 2600)
    """
    return _hhi_points(concentration_values(values_or_shares))


def hhi_level(points: float, thresholds: tuple[float, float] = (1500, 2500)) -> str:
    """Plain-language level of an HHI, by the 2010 US DOJ/FTC Horizontal Merger Guidelines.

    Below ``thresholds[0]`` (1,500): "unconcentrated"; from 1,500 to ``thresholds[1]``
    (2,500) inclusive: "moderately concentrated"; above: "highly concentrated". (The 2023
    Merger Guidelines call markets above 1,800 highly concentrated: pass ``(1000, 1800)``
    to use them.) A NaN HHI (no value at all) gives ``"n/a"``.

    Examples
    --------
    >>> hhi_level(1499.9), hhi_level(1500), hhi_level(2500), hhi_level(2500.1)
    ('unconcentrated', 'moderately concentrated', 'moderately concentrated', 'highly concentrated')
    """
    low, high = thresholds
    if not 0 <= low < high:
        raise ValueProblem(f"thresholds must be two increasing HHI points, e.g. (1500, 2500); got {thresholds!r}")
    if points is None or (isinstance(points, Real) and math.isnan(points)):
        return "n/a"
    if not 0 <= points <= 10_000 * (1 + 1e-9):
        raise ValueProblem(f"an HHI is between 0 and 10,000 points; got {points!r}")
    if points < low:
        return HHI_LEVELS[0]
    if points <= high:
        return HHI_LEVELS[1]
    return HHI_LEVELS[2]


def major_customers(values, threshold: float = 0.10, index=None) -> pd.Series:
    """Customers holding at least ``threshold`` of the total, largest first.

    IFRS 8.34 and ASC 280-10-50-42 require disclosing reliance on any single customer
    providing 10% or more of revenue.

    Parameters
    ----------
    values : array-like of float
        One value per customer; negative values count as 0.
    threshold : float, default 0.10
        Share of the total, in (0, 1].
    index : array-like, optional
        Customer labels; default the index of ``values`` when it is a Series, else 0..n-1.

    Returns
    -------
    Series
        Shares named ``share``, indexed by customer, largest first (ties in input order);
        empty when no customer reaches the threshold or the total is 0.

    Examples
    --------
    >>> major_customers([50, 12, 30, 8], index=["a", "b", "c", "d"]).to_dict()
    {'a': 0.5, 'c': 0.3, 'b': 0.12}
    """
    _check_share("threshold", threshold)
    clipped = concentration_values(values)
    labels = _customer_index(values, index, clipped.size)
    total = float(clipped.sum())
    if clipped.size == 0 or total <= 0:
        return pd.Series([], index=labels[:0], dtype=np.float64, name="share")
    shares = clipped / total
    major = np.flatnonzero(shares >= threshold - SHARE_TOLERANCE)
    major = major[np.argsort(-shares[major], kind="stable")]
    return pd.Series(shares[major], index=labels[major], name="share")


# --------------------------------------------------------------------------- per-customer tables


def _rank_order(values: np.ndarray, id_order: Callable[[], np.ndarray | None]) -> np.ndarray:
    """Positions from the largest value to the smallest, ties by ascending customer id.

    ``id_order`` is what :func:`_check_customer_ids` returns; it is only called on ties.
    """
    n = values.size
    order = np.argsort(-values)  # fast unstable sort: exact whenever no two values are equal
    ranked = values[order]
    starts_run = np.empty(n, dtype=bool)  # True where a new value begins in the ranking
    starts_run[:1] = True
    np.not_equal(ranked[1:], ranked[:-1], out=starts_run[1:])
    if starts_run.all():
        return order
    # Ties: one more sort on an int64 key packing (value rank, id rank); n² fits up to 3 billion customers.
    by_id = id_order()
    if by_id is None:  # positions are already in id order
        id_rank = order
    else:
        id_rank_of_position = np.empty(n, dtype=np.int64)
        id_rank_of_position[by_id] = np.arange(n, dtype=np.int64)
        id_rank = id_rank_of_position[order]
    key = np.cumsum(starts_run, dtype=np.int64)
    key -= 1
    key *= n
    key += id_rank
    key.sort()
    key %= n  # the id ranks, in the final order
    return key if by_id is None else by_id[key]


def _take(column: pd.Series, order: np.ndarray):
    """Rows of a column in ``order``; numpy dtypes stay plain arrays (no copy on frame creation)."""
    if isinstance(column.dtype, np.dtype):
        return column.to_numpy()[order]
    return column.array.take(order)


def pareto_table(
    per_customer: pd.DataFrame,
    value_col: str = "revenue",
    customer_col: str = "customer_id",
    a: float = 0.8,
    b: float = 0.95,
) -> pd.DataFrame:
    """One row per customer, largest first, with rank, share, cumulative share and ABC class.

    Parameters
    ----------
    per_customer : DataFrame
        One row per customer (e.g. :func:`portfolio_helpers.analysis.engine.customer_summary`).
    value : str, default "revenue"
        Column holding the value to rank customers by.
    customer_col : str, default "customer_id"
        Customer id column: no missing and no duplicated id.
    a, b : float, default 0.8 and 0.95
        ABC thresholds (see the module docstring).

    Returns
    -------
    DataFrame
        Columns ``<customer_col>, <value>, <value>_rank, <value>_share, cumulative_share,
        abc_class`` -- for the defaults ``customer_id, revenue, revenue_rank, revenue_share,
        cumulative_share, abc_class``. Sorted by value descending, ties by customer id;
        the rank is 1 for the largest and unique (ties ranked in customer-id order, like
        ``method="first"`` on the sorted table). ``<value>`` is the true value, possibly
        negative; shares use the clipped values, so they sum to 1 and the cumulative share
        ends at 1 (NaN when the total is 0). ``abc_class`` is an ordered categorical.

    Examples
    --------
    >>> per_customer = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4", "c5"],
    ...                              "revenue": [5.0, 50.0, -4.0, 30.0, 15.0]})
    >>> pareto_table(per_customer)  # doctest: +NORMALIZE_WHITESPACE
      customer_id  revenue  revenue_rank  revenue_share  cumulative_share abc_class
    0          c2     50.0             1           0.50              0.50         A
    1          c4     30.0             2           0.30              0.80         A
    2          c5     15.0             3           0.15              0.95         B
    3          c1      5.0             4           0.05              1.00         C
    4          c3     -4.0             5           0.00              1.00         C
    """
    a, b = _check_abc(a, b)
    require_columns(per_customer, [customer_col, value_col], table="per-customer")
    ids = per_customer[customer_col]
    id_order = _check_customer_ids(ids, customer_col)
    true_values = _as_values(per_customer[value_col], name=f"column {value_col!r}")
    order = _rank_order(true_values, id_order)
    descending = concentration_values(true_values[order])
    cumulative, total = _cumulative_shares(descending)
    n = descending.size
    classes = pd.Categorical.from_codes(_abc_codes(descending, cumulative, a, b), dtype=ABC_CLASSES)
    if cumulative is None:  # total 0: shares undefined
        shares = cumulative = np.full(n, np.nan)
    else:
        shares = descending / total
    columns = {
        customer_col: _take(ids, order),
        value_col: _take(per_customer[value_col], order),
        f"{value_col}_rank": np.arange(1, n + 1, dtype=np.int64),
        f"{value_col}_share": shares,
        "cumulative_share": cumulative,
        "abc_class": classes,
    }
    return pd.DataFrame(columns, copy=False)  # fresh arrays: no need to copy or consolidate 10^7 rows


def concentration_summary(
    values,
    top_share: float = 0.2,
    target: float = 0.8,
    a: float = 0.8,
    b: float = 0.95,
    major_threshold: float = 0.10,
    hhi_thresholds: tuple[float, float] = (1500, 2500),
) -> dict:
    """Every headline concentration figure from one sort of the values.

    Parameters
    ----------
    values : array-like of float
        One value per customer.
    top_share, target, a, b, major_threshold, hhi_thresholds
        As in :func:`top_share`, :func:`share_of_customers_for`, :func:`abc_classes`,
        :func:`major_customers` and :func:`hhi_level`.

    Returns
    -------
    dict
        ``n_customers``; ``total`` (sum of the true values, negatives included); ``gini``,
        ``gini_corrected``; ``top_share`` held by the ``top_n`` largest customers;
        ``share_customers_for_target`` and ``n_customers_for_target``; ``hhi`` and
        ``hhi_level``; ``n_major_customers``; ``n_customers_A/B/C`` and
        ``value_share_A/B/C``; ``n_negative`` and ``negative_total``. Shares are of the
        clipped total (``total - negative_total``); NaN when it is 0 (counts are then 0,
        except ``n_customers_C = n_customers``).

    Examples
    --------
    >>> summary = concentration_summary([50, 30, 10, 5, 5, 0, -2])
    >>> summary["top_share"], summary["top_n"], summary["share_customers_for_target"]
    (0.8, 2, 0.2857142857142857)
    >>> summary["n_customers_A"], summary["n_customers_B"], summary["n_customers_C"], summary["n_negative"]
    (2, 2, 3, 1)
    """
    _check_share("top_share", top_share)
    _check_share("target", target)
    a, b = _check_abc(a, b)
    _check_share("major_threshold", major_threshold)
    true_values = _as_values(values)
    ascending = np.sort(concentration_values(true_values))
    descending = ascending[::-1]
    n = ascending.size
    cumulative, positive_total = _cumulative_shares(descending)
    n_top = _top_count(top_share, n)
    points = _hhi_points(ascending)
    if cumulative is None:
        share_top = share_target = math.nan
        n_target = n_a = n_b = n_major = 0
        value_shares = (math.nan, math.nan, math.nan)
    else:
        share_top = float(cumulative[n_top - 1])
        n_target = _customers_for(cumulative, target)
        share_target = n_target / n
        n_a, n_b = _abc_sizes(cumulative, int(np.count_nonzero(ascending > 0)), a, b)
        held_by_a = float(cumulative[n_a - 1])
        held_by_a_or_b = float(cumulative[n_a + n_b - 1]) if n_b else held_by_a
        value_shares = (held_by_a, held_by_a_or_b - held_by_a, max(1.0 - held_by_a_or_b, 0.0))
        n_major = int(np.count_nonzero(ascending / positive_total >= major_threshold - SHARE_TOLERANCE))
    return {
        "n_customers": n,
        "total": float(true_values.sum()),
        "gini": _gini_ascending(ascending, corrected=False),
        "gini_corrected": _gini_ascending(ascending, corrected=True),
        "top_share": share_top,
        "top_n": n_top,
        "share_customers_for_target": share_target,
        "n_customers_for_target": n_target,
        "hhi": points,
        "hhi_level": hhi_level(points, hhi_thresholds),
        "n_major_customers": n_major,
        "n_customers_A": n_a,
        "n_customers_B": n_b,
        "n_customers_C": n - n_a - n_b,
        "value_share_A": value_shares[0],
        "value_share_B": value_shares[1],
        "value_share_C": value_shares[2],
        **negative_values_summary(true_values),
    }


# --------------------------------------------------------------------------- by dimension


def _dimension_labels(column: pd.Series) -> pd.Series:
    """Text labels of a customer attribute; missing or blank -> "(unknown)"."""
    labels = column.astype("string").str.strip().fillna("")
    return labels.where(labels != "", UNKNOWN)


def concentration_by(
    per_customer: pd.DataFrame,
    dimension: str,
    value_col: str = "revenue",
    customer_col: str = "customer_id",
    dominance: float = 0.5,
) -> pd.DataFrame:
    """How the value is spread over the values of one customer attribute (country, industry, owner...).

    Parameters
    ----------
    per_customer : DataFrame
        One row per customer with the ``dimension`` and ``value`` columns.
    dimension : str
        Attribute column; missing or blank values are grouped as ``"(unknown)"``.
    value : str, default "revenue"
        Value column; negative values count as 0 (module policy).
    customer_col : str, default "customer_id"
        Customer id column: no missing and no duplicated id.
    dominance : float, default 0.5
        Share of the value from which a dimension value is flagged ``dominant``.

    Returns
    -------
    DataFrame
        Columns ``<dimension>, n_customers, value, value_share, customer_share, dominant``,
        sorted by value descending (ties by label). ``value`` is the sum of the clipped
        values, so the shares sum to 1 (NaN when the total is 0). Use
        :func:`dimension_hhi` for the HHI of the shares.

    Examples
    --------
    >>> per_customer = pd.DataFrame({"customer_id": [1, 2, 3, 4], "revenue": [60.0, 20.0, 15.0, 5.0],
    ...                              "country": ["FR", "DE", "FR", None]})
    >>> concentration_by(per_customer, "country")  # doctest: +NORMALIZE_WHITESPACE
         country  n_customers  value  value_share  customer_share  dominant
    0         FR            2   75.0         0.75            0.50      True
    1         DE            1   20.0         0.20            0.25     False
    2  (unknown)            1    5.0         0.05            0.25     False
    """
    require_columns(per_customer, [customer_col, dimension, value_col], table="per-customer")
    _check_share("dominance", dominance)
    _check_customer_ids(per_customer[customer_col], customer_col)
    clipped = concentration_values(per_customer[value_col])
    table = _label_table(per_customer[dimension], np.ones(clipped.size, dtype=np.int64), clipped, dimension)
    table["customer_share"] = table["n_customers"] / clipped.size
    table["dominant"] = table["value_share"].to_numpy() >= dominance - SHARE_TOLERANCE
    return table


def _label_table(labels: pd.Series, n_customers: np.ndarray, clipped: np.ndarray, dimension: str) -> pd.DataFrame:
    """``<dimension>, n_customers, value, value_share`` per label of ``labels`` (:func:`_dimension_labels`):
    the sums of ``n_customers`` and of the clipped values of its rows, largest value first (ties by label)."""
    frame = pd.DataFrame({dimension: _dimension_labels(labels).to_numpy(), "n_customers": n_customers,
                          "value": clipped})
    frame[dimension] = frame[dimension].astype("string")
    table = frame.groupby(dimension, sort=False).agg(n_customers=("n_customers", "sum"), value=("value", "sum"))
    table = table.reset_index().sort_values(["value", dimension], ascending=[False, True], kind="stable")
    total = float(table["value"].sum())
    table["value_share"] = table["value"] / total if total > 0 else np.nan
    return table.astype({"n_customers": "int64"}).reset_index(drop=True)


def dimension_hhi(table: pd.DataFrame) -> float:
    """HHI (0-10,000 points) of the shares of a :func:`concentration_by` table.

    Examples
    --------
    >>> round(dimension_hhi(pd.DataFrame({"country": ["FR", "DE"], "value": [75.0, 25.0]})))
    6250
    """
    require_columns(table, ["value"], table="concentration")
    return hhi(table["value"])


def dimension_exposures(
    per_customer: pd.DataFrame,
    dimensions: str | Sequence[str],
    value_col: str = "revenue",
    dominance: float = 0.5,
    top_k: int = 3,
    customer_col: str = "customer_id",
) -> pd.DataFrame:
    """Concentration exposures along customer attributes, one row per exposure found.

    Two kinds, for each dimension:

    * ``kind == "dominant"``: one known value holds at least ``dominance`` of the value
      (``label``, its ``value``, ``value_share`` and ``n_customers``);
    * ``kind == "top_customers"``: the ``top_k`` largest customers (more customers than that,
      all with a positive value) all share one known value; ``value`` and ``value_share`` are
      theirs, ``n_customers`` is ``top_k``.

    ``"(unknown)"`` is never an exposure (it is a data gap). A balanced portfolio gives an empty
    frame. Shares follow the module policy (negative values count as 0). The sentences are
    :func:`portfolio_helpers.reporting.pareto.dimension_risks`.

    Returns
    -------
    DataFrame
        ``dimension, kind, label, value, value_share, n_customers``.

    Examples
    --------
    >>> per_customer = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5],
    ...                              "revenue": [400.0, 300.0, 200.0, 60.0, 40.0],
    ...                              "country": ["US", "US", "US", "FR", "DE"]})
    >>> dimension_exposures(per_customer, ["country"])
      dimension           kind label  value  value_share  n_customers
    0   country       dominant    US  900.0          0.9            3
    1   country  top_customers    US  900.0          0.9            3
    """
    dimensions = [dimensions] if isinstance(dimensions, str) else list(dimensions)
    require_columns(per_customer, [customer_col, value_col, *dimensions], table="per-customer")
    _check_share("dominance", dominance)
    require_count(top_k, "top_k", minimum=2)
    columns = ["dimension", "kind", "label", "value", "value_share", "n_customers"]
    clipped = concentration_values(per_customer[value_col])
    total = float(clipped.sum())
    rows: list[tuple] = []
    if clipped.size and total > 0:
        top_positions = _rank_order(clipped, _check_customer_ids(per_customer[customer_col], customer_col))[:top_k]
        has_top_k = clipped.size > top_k and bool(np.all(clipped[top_positions] > 0))
        for dimension in dimensions:
            table = concentration_by(per_customer, dimension, value_col, customer_col, dominance)
            dominant = table[table["dominant"] & (table[dimension] != UNKNOWN)]
            rows += [(dimension, "dominant", label, float(held), float(share), int(n))
                     for label, share, held, n in zip(dominant[dimension], dominant["value_share"],
                                                       dominant["value"], dominant["n_customers"], strict=True)]
            if has_top_k:
                top_labels = _dimension_labels(per_customer[dimension]).iloc[top_positions].unique()
                if len(top_labels) == 1 and top_labels[0] != UNKNOWN:
                    held = float(clipped[top_positions].sum())
                    rows.append((dimension, "top_customers", top_labels[0], held, held / total, int(top_k)))
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"dimension": "string", "kind": "string", "label": "string", "value": "float64",
                         "value_share": "float64", "n_customers": "int64"})


# --------------------------------------------------------------------------- over time


def measures_by_period(
    transactions: pd.DataFrame | ir.Table,
    freq: str = "year",
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    top_share: float = 0.2,
    con=None,
) -> pd.DataFrame:
    """Concentration per calendar period: is the portfolio getting more or less concentrated?

    The population of a period is every customer with at least one line in it. ``transactions``
    is a frame or an engine table: the engine sums each customer's lines per period
    (:func:`~portfolio_helpers.analysis.engine.customer_values`), one value per customer and
    period comes back.

    Returns
    -------
    DataFrame
        One row per period with at least one customer: ``period`` (first day),
        ``n_customers``, ``revenue`` (net), ``gini``, ``top_share`` (of the ``top`` largest
        customers), ``share_customers_for_80pct``, ``hhi``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "a", "b", "c"],
    ...                    "date": pd.to_datetime(["2023-02-01", "2023-06-01", "2024-01-05", "2024-02-01",
    ...                                            "2024-03-01"]),
    ...                    "amount": [50.0, 50.0, 70.0, 20.0, 10.0]})
    >>> measures_by_period(tx)[["period", "n_customers", "revenue", "gini", "top_share"]]
          period  n_customers  revenue  gini  top_share
    0 2023-01-01            2    100.0   0.0        0.5
    1 2024-01-01            3    100.0   0.4        0.7
    """
    require_choice(freq, "freq", ("year", "quarter", "month"))
    _check_share("top_share", top_share)
    values = customer_values(transactions, freq, None, customer_col, date_col, amount_col, con)
    rows = []
    for period, group in values.groupby("period", sort=True):  # a handful of periods
        summary = concentration_summary(group["value"].to_numpy(), top_share=top_share, target=0.8)
        rows.append({
            "period": period,
            "n_customers": summary["n_customers"],
            "revenue": summary["total"],
            "gini": summary["gini"],
            "top_share": summary["top_share"],
            "share_customers_for_80pct": summary["share_customers_for_target"],
            "hhi": summary["hhi"],
        })
    columns = ["period", "n_customers", "revenue", "gini", "top_share", "share_customers_for_80pct", "hhi"]
    return pd.DataFrame(rows, columns=columns).astype({"n_customers": "int64"})


def last_two_years(transactions: pd.DataFrame | ir.Table | None = None, as_of=None, date_col: str = "date") -> tuple:
    """The two consecutive 12-month windows ending at ``as_of``: ``(period_a, period_b)``.

    Each period is a ``(start, end)`` pair, both inclusive, ready for :func:`abc_migration`.
    ``as_of`` defaults to the last transaction date (of a frame or an engine table, found by
    the engine). Customers bought before ``period_a`` are not looked at: check the data
    covers both windows.

    Examples
    --------
    >>> last_two_years(as_of="2025-12-31")  # doctest: +NORMALIZE_WHITESPACE
    ((Timestamp('2024-01-01 00:00:00'), Timestamp('2024-12-31 00:00:00')),
     (Timestamp('2025-01-01 00:00:00'), Timestamp('2025-12-31 00:00:00')))
    """
    if as_of is None:
        if transactions is None:
            raise ValueProblem("give transactions or an as_of date")
        t = engine.table(transactions, [date_col])
        as_of = engine.execute(t.aggregate(last=t[date_col].max()))["last"].iloc[0]
    end_b = pd.Timestamp(as_of)
    if pd.isna(end_b):
        raise ValueProblem("as_of is missing (no dated transaction?)")
    end_b = end_b.normalize()
    end_a = end_b - pd.DateOffset(months=12)
    start_a = end_a - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    return (start_a, end_a), (end_a + pd.Timedelta(days=1), end_b)


def abc_migration(
    transactions: pd.DataFrame | ir.Table,
    period_a,
    period_b,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    a: float = 0.8,
    b: float = 0.95,
    con=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """How customers moved between ABC classes from one period to the next.

    Each period's population is the customers with at least one line in it, classed on
    their net value in that period (ties by customer id). A customer with no line in
    period A is "new"; with no line in period B, "lost".

    Parameters
    ----------
    transactions : DataFrame or Ibis table
        One row per transaction line, or an engine table of them (each customer's value in
        a period is summed by the engine: one row per customer comes back).
    period_a, period_b : (start, end) pairs
        Inclusive bounds, e.g. from :func:`last_two_years`.
    customer_col, date_col, amount_col : str
        Column names.
    a, b : float
        ABC thresholds.
    con : ibis backend, optional

    Returns
    -------
    (DataFrame, DataFrame)
        Counts and revenue matrices, rows ``A, B, C, new`` (class in period A), columns
        ``A, B, C, lost`` (class in period B). Revenue is each customer's net value in
        period B, or in period A for the ``lost`` column. The counts add up to the number
        of customers active in either period.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "c", "a", "c", "d"],
    ...                    "date": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-04-01",
    ...                                            "2025-02-01", "2025-03-01", "2025-04-01"]),
    ...                    "amount": [80.0, 15.0, 5.0, 60.0, 30.0, 10.0]})
    >>> counts, revenue = abc_migration(tx, *last_two_years(tx, as_of="2025-12-31"))
    >>> counts  # doctest: +NORMALIZE_WHITESPACE
    abc_class_b  A  B  C  lost
    abc_class_a
    A            1  0  0     0
    B            0  0  0     1
    C            1  0  0     0
    new          0  1  0     0
    >>> revenue.loc["A", "A"], revenue.loc["B", "lost"], revenue.loc["new", "B"]
    (np.float64(60.0), np.float64(15.0), np.float64(10.0))
    """
    a, b = _check_abc(a, b)
    classified = []
    for name, period in (("a", period_a), ("b", period_b)):
        values = customer_values(transactions, None, period_bounds(period, f"period_{name}"),
                                 customer_col, date_col, amount_col, con)
        classes = abc_classes(values["value"], a, b)  # sorted by id: ties broken by customer id
        classified.append(pd.DataFrame({
            customer_col: values[customer_col],
            f"abc_class_{name}": classes.astype("string").to_numpy(),
            f"value_{name}": values["value"],
        }))
    both = classified[0].merge(classified[1], on=customer_col, how="outer")
    both["abc_class_a"] = pd.Categorical(both["abc_class_a"].fillna("new"), categories=["A", "B", "C", "new"])
    both["abc_class_b"] = pd.Categorical(both["abc_class_b"].fillna("lost"), categories=["A", "B", "C", "lost"])
    lost = both["abc_class_b"] == "lost"
    both["revenue"] = both["value_b"].where(~lost, both["value_a"])
    grouped = both.groupby(["abc_class_a", "abc_class_b"], observed=False)
    counts = grouped.size().unstack("abc_class_b").astype("int64")
    revenue = grouped["revenue"].sum().unstack("abc_class_b").astype("float64")
    for matrix in (counts, revenue):
        matrix.index = pd.Index(matrix.index.astype(str), name="abc_class_a")
        matrix.columns = pd.Index(matrix.columns.astype(str), name="abc_class_b")
    return counts, revenue


# --------------------------------------------------------------------------- notebook 02's per-customer table

#: Customer attributes (one value per customer) whose revenue concentration notebook 02 shows.
CUSTOMER_DIMENSIONS = ("country", "industry", "customer_type", "owner")
#: Line attributes (a customer may span several values).
LINE_DIMENSIONS = ("category", "channel")


def customer_revenue(transactions: pd.DataFrame | ir.Table, *, customers: pd.DataFrame | None = None,
                     costs: profitability.CostModel | str | os.PathLike | None = None,
                     customer_col: str = "customer_id", date_col: str = "date", amount_col: str = "amount",
                     status_col: str | None = "status") -> pd.DataFrame:
    """One row per customer with at least one revenue line: ``customer_id, revenue``, plus
    ``gross_margin`` and the customer attributes of :data:`CUSTOMER_DIMENSIONS` the customers
    table has.

    ``revenue`` is :func:`portfolio_helpers.analysis.engine.customer_values` over the revenue
    lines; ``gross_margin`` is the P&L's (:func:`portfolio_helpers.analysis.profitability.customer_margins`:
    revenue minus cost of goods), priced with ``costs`` (a :class:`~portfolio_helpers.analysis.profitability.CostModel`
    or the path of the portfolio config, whose ``costs:`` section is read). It is added
    when ``costs`` is given or the transactions have a known ``cost``. ``transactions`` is a
    frame or an engine table (aggregated by the engine: one row per customer comes back). The
    ``*_col`` keywords name its columns (the status optional); the result uses ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "date": pd.to_datetime(["2025-01-01"] * 3),
    ...                    "amount": [10.0, 5.0, 7.0], "cost": [4.0, None, 1.0]})
    >>> customer_revenue(tx, customers=pd.DataFrame({"customer_id": ["a"], "country": ["FR"]}))  # a: 15 - (4 + 5 x 0.60)
      customer_id  revenue  gross_margin country
    0           a     15.0           8.0      FR
    1           b      7.0           6.0     NaN
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, status_col=status_col)
    if customers is not None:
        require_columns(customers, ["customer_id"], table="customers")
    per_customer = engine.customer_values(engine.revenue_lines(transactions)).rename(columns={"value": "revenue"})
    if costs is not None or has_values(transactions, "cost"):
        model = costs if costs is None or isinstance(costs, profitability.CostModel)\
            else profitability.load_cost_model(costs)
        margins = profitability.customer_margins(transactions, model)[["customer_id", "gross_margin"]]
        per_customer = per_customer.merge(margins.astype({"customer_id": per_customer["customer_id"].dtype}),
                                          on="customer_id", how="left")
    if customers is not None:
        attributes = [col for col in CUSTOMER_DIMENSIONS if col in customers.columns]
        if attributes:
            first_record = customers.drop_duplicates("customer_id")[["customer_id", *attributes]]
            per_customer = per_customer.merge(first_record, on="customer_id", how="left")
    return per_customer


def dimension_frames(transactions: pd.DataFrame | ir.Table, per_customer: pd.DataFrame, *,
                     customer_col: str = "customer_id", date_col: str = "date", amount_col: str = "amount",
                     status_col: str | None = "status") -> dict[str, pd.DataFrame]:
    """Revenue concentration per dimension the data has, keyed by dimension name.

    Customer attributes (:data:`CUSTOMER_DIMENSIONS` of ``per_customer``, :func:`customer_revenue`)
    use :func:`concentration_by`; line attributes (:data:`LINE_DIMENSIONS` of the transactions)
    sum the revenue lines, so a customer buying in two categories counts in both. Every frame
    has ``<dimension>, n_customers, value, value_share, customer_share``.

    ``transactions`` is a frame or an engine table: the line attributes are aggregated by the
    engine, one row per value comes back. The ``*_col`` keywords name its columns (as in
    :func:`customer_revenue`); ``per_customer`` has ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "date": pd.to_datetime(["2025-01-01"] * 4),
    ...                    "amount": [60.0, 20.0, 30.0, -40.0], "category": ["tools", "paint", "tools", "paint"]})
    >>> per_customer = customer_revenue(tx, customers=pd.DataFrame({"customer_id": ["a", "b"],
    ...                                                             "country": ["FR", "DE"]}))
    >>> frames = dimension_frames(tx, per_customer)
    >>> frames["country"][["country", "n_customers", "value", "value_share"]]
      country  n_customers  value  value_share
    0      FR            1   80.0          1.0
    1      DE            1    0.0          0.0
    >>> frames["category"]  # b's net -40 in paint counts 0 there
      category  n_customers  value  value_share  customer_share
    0    tools            2   90.0     0.818182             1.0
    1    paint            2   20.0     0.181818             1.0
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, status_col=status_col)
    require_columns(per_customer, ["customer_id", "revenue"], table="per-customer revenue")
    frames: dict[str, pd.DataFrame] = {}
    for dimension in CUSTOMER_DIMENSIONS:
        if dimension in per_customer.columns and per_customer[dimension].notna().any():
            frames[dimension] = concentration_by(per_customer, dimension)
    lines = engine.revenue_lines(transactions)
    present = [dimension for dimension in LINE_DIMENSIONS if dimension in lines.columns]
    if not present:
        return frames
    t = engine.table(lines, ["customer_id", *present])
    # one query: the buying customers, and how many lines have a value of each attribute
    counts = engine.execute(t.aggregate(_n_customers=t.customer_id.nunique(),
                                        **{dimension: t[dimension].count() for dimension in present})).iloc[0]
    for dimension in present:
        if counts[dimension]:
            by_value = _line_dimension(lines, dimension)
            by_value["customer_share"] = by_value["n_customers"] / int(counts["_n_customers"])
            frames[dimension] = by_value
    return frames


def _line_dimension(lines: pd.DataFrame | ir.Table, dimension: str) -> pd.DataFrame:
    """:func:`concentration_by` over one row per customer and value of a line attribute.

    The engine sums each customer's net revenue in each value, clips it at 0 (the module's
    policy for concentration: a negative net in one value counts 0 there) and adds the pairs
    up per value; only one row per value comes back. A customer buying in two categories
    counts in both.
    """
    t = engine.table(lines, ["customer_id", dimension, "amount"])
    pairs = t.group_by(["customer_id", dimension]).aggregate(value=t.amount.sum())
    per_value = engine.execute(pairs.group_by(dimension).aggregate(
        n_customers=pairs.count(), value=ibis.greatest(pairs.value, 0.0).sum(),
        n_missing=pairs.value.isnull().cast("int64").sum()))
    n_missing = int(per_value["n_missing"].sum())
    if n_missing:  # a pair whose every amount is missing: the module refuses missing values
        raise ValueProblem(f"{n_missing:,} customer and {dimension} pair{'s' if n_missing > 1 else ''} "
                         "have no amount (missing values); fill or drop them before measuring concentration")
    return _label_table(per_value[dimension], per_value["n_customers"].to_numpy(dtype=np.int64),
                        per_value["value"].to_numpy(dtype=np.float64), dimension)
