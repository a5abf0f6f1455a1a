"""RFM scores and named segments that stay meaningful when most customers buy once.

Scores
------
Recency (R), frequency (F) and monetary value (M) each get a score from 1 to ``n``
(5 by default; R is higher for *more recent* customers, i.e. fewer ``recency_days``).
Plain quintiles (``pd.qcut``) fail on real data: in the CDNOW log about half of all
customers (and ~60% of a calibration-period cohort) bought once, so quantile edges
coincide, ``qcut`` refuses them or ranks ties arbitrarily ("first"), and two customers with
the same history end up with different scores. The rule used here instead:

1. The *mid-rank* of a value is the average rank of the customers holding it:
   ``below + (ties + 1) / 2``, where ``below`` counts customers with a strictly smaller
   value and ``ties`` those with the same value (R ranks ``-recency_days``).
2. Its percentile is ``mid-rank / N`` (``N`` customers), in ``(0, 1]``.
3. The score is ``ceil(percentile x n)``, clipped to ``1..n`` (computed in integers, so
   no floating-point edge effects).

Every customer gets a score, tied customers always share it, a larger value never
gets a lower score, and when one value holds more than ``1/n`` of the customers the
scores its rank range spans collapse onto one: some scores may then be unused. That
is honest, not a bug; :func:`unused_scores` reports them. Example, frequencies
``[1, 1, 1, 1, 1, 1, 2, 3, 5, 8]``: 1 has mid-rank 3.5 (35%) -> 2; 2 -> 70% -> 4;
3 -> 80% -> 4; 5 -> 90% -> 5; 8 -> 100% -> 5. Scores 1 and 3 are unused.

Segments
--------
A :class:`SegmentMap` names every (R, F) score pair; each segment is one rectangle of
R and F score *ranges*, segments never overlap and leave no gap (:func:`check_coverage`).
The default map (:data:`DEFAULT_SEGMENTS`) uses the five R scores but only three F
*bands*: low (F 1-3, the bottom 60% of the frequency percentile scale), mid (F 4) and
top (F 5)::

            F 1-3            F 4                   F 5
    R 5     New Customers    Potential Loyalists   Champions
    R 4     Promising        Potential Loyalists   Loyal Customers
    R 3     About to Sleep   Need Attention        Loyal Customers
    R 2     Hibernating      At Risk               Can't Lose Them
    R 1     Lost             At Risk               Can't Lose Them

Why bands: with frequency heavily tied at 1, the F scores actually used are e.g.
{2, 3, 4, 5} (CDNOW, full log) or {2, 4, 5} (CDNOW calibration cohort); a map that gives a
segment a single low F score (pymc-marketing's default puts "New Customers" on F = 1
alone) leaves it empty merely because of ties. With the tie rule and at least 5
customers, the lowest value always scores 3 or less (its mid-rank is at most
``(N + 1) / 2``), so the low band is always used; the largest value scores 5 unless every
value is tied; only the mid band (F = 4) can go unused, when no value has its mid-rank
between the 60th and 80th percentile (frequency with very few distinct values).
:func:`unreachable_segments` names the segments the scores actually used cannot reach,
and :func:`unused_scores` the unused scores.

In CDNOW (a cohort acquired in the first quarter of 1997, observed to mid-1998) no
one-time buyer is recent, so "New Customers" and "Promising" hold recent customers with
two purchases: low frequency for this base, not necessarily a first order.

Config
------
.. code-block:: yaml

    rfm:
      segments:            # replaces the whole default map; ranges are inclusive
        Champions: {r: [4, 5], f: [4, 5]}
        Others: {r: [1, 5], f: [1, 3]}
        Fading: {r: [1, 3], f: [4, 5]}
    playbook:              # top-level section, merged over DEFAULT_PLAYBOOK
      Champions: {offer: "free shipping"}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine
from portfolio_helpers.analysis import features as customer_features_module
from portfolio_helpers.analysis.segmentation import segment_migration
from portfolio_helpers.core.config import check_known_keys
from portfolio_helpers.core.errors import ConfigError, ValueProblem
from portfolio_helpers.core.validation import (
    canonical_lines,
    require_columns,
    require_complete,
    require_count,
    require_date,
)

__all__ = [
    "SegmentMap",
    "DEFAULT_SEGMENTS",
    "DEFAULT_SEGMENT_MAP",
    "DEFAULT_PLAYBOOK",
    "PLAYBOOK_FIELDS",
    "RFM_KEYS",
    "tie_aware_scores",
    "rfm_scores",
    "unused_scores",
    "segment_map_from_config",
    "check_coverage",
    "assign_segments",
    "unreachable_segments",
    "score_rfm",
    "previous_segments",
    "migration_since",
    "segment_summary",
    "playbook",
]

N_SCORES = 5
RFM_KEYS = ("segments",)
SEGMENT_KEYS = ("r", "f")

#: Default R x F map: segment -> ((r_low, r_high), (f_low, f_high)), inclusive ranges.
DEFAULT_SEGMENTS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "Champions": ((5, 5), (5, 5)),
    "Loyal Customers": ((3, 4), (5, 5)),
    "Potential Loyalists": ((4, 5), (4, 4)),
    "New Customers": ((5, 5), (1, 3)),
    "Promising": ((4, 4), (1, 3)),
    "Need Attention": ((3, 3), (4, 4)),
    "About to Sleep": ((3, 3), (1, 3)),
    "At Risk": ((1, 2), (4, 4)),
    "Can't Lose Them": ((1, 2), (5, 5)),
    "Hibernating": ((2, 2), (1, 3)),
    "Lost": ((1, 1), (1, 3)),
}

PLAYBOOK_FIELDS = ("action", "offer", "contact_frequency", "payment_terms", "channel")
DEFAULT_PLAYBOOK: dict[str, dict[str, str]] = {
    "Champions": {"action": "reward and ask for referrals", "offer": "early access, loyalty rewards",
                  "contact_frequency": "monthly", "payment_terms": "standard terms",
                  "channel": "account manager"},
    "Loyal Customers": {"action": "upsell and cross-sell", "offer": "volume discount, bundles",
                        "contact_frequency": "monthly", "payment_terms": "standard terms",
                        "channel": "account manager"},
    "Potential Loyalists": {"action": "build the habit of buying", "offer": "membership or loyalty programme",
                            "contact_frequency": "every 2 weeks", "payment_terms": "standard terms",
                            "channel": "email and inside sales"},
    "New Customers": {"action": "onboard and secure the second order", "offer": "welcome offer on next order",
                      "contact_frequency": "weekly for the first month", "payment_terms": "prepayment or short terms",
                      "channel": "email"},
    "Promising": {"action": "create brand awareness", "offer": "free trial or sample",
                  "contact_frequency": "monthly", "payment_terms": "short terms",
                  "channel": "email"},
    "Need Attention": {"action": "reactivate with a personal offer", "offer": "limited-time offer",
                       "contact_frequency": "every 2 weeks", "payment_terms": "standard terms",
                       "channel": "email and phone"},
    "About to Sleep": {"action": "reconnect before they lapse", "offer": "popular products, small discount",
                       "contact_frequency": "monthly", "payment_terms": "short terms",
                       "channel": "email"},
    "At Risk": {"action": "win back with a personal call", "offer": "renewal offer, service review",
                "contact_frequency": "every 2 weeks until reactivated", "payment_terms": "standard terms",
                "channel": "phone and account manager"},
    "Can't Lose Them": {"action": "urgent win-back by a senior contact", "offer": "best offer, new products",
                        "contact_frequency": "weekly until reactivated", "payment_terms": "extended terms",
                        "channel": "account manager visit"},
    "Hibernating": {"action": "low-cost reactivation", "offer": "relevant products, special discount",
                    "contact_frequency": "quarterly", "payment_terms": "prepayment",
                    "channel": "email or newsletter"},
    "Lost": {"action": "win back once, then stop", "offer": "one win-back discount",
             "contact_frequency": "once", "payment_terms": "prepayment",
             "channel": "email"},
}


# --------------------------------------------------------------------------- scores

def tie_aware_scores(values, n: int = N_SCORES) -> np.ndarray:
    """Scores ``1..n`` from the mid-rank percentile of each value (module docstring).

    Examples
    --------
    >>> tie_aware_scores([1, 1, 1, 1, 1, 1, 2, 3, 5, 8]).tolist()
    [2, 2, 2, 2, 2, 2, 4, 4, 5, 5]
    >>> tie_aware_scores([7, 7, 7, 7, 7]).tolist()
    [3, 3, 3, 3, 3]
    """
    array = np.asarray(values, dtype="float64")
    n = require_count(n, "n", minimum=1)
    missing = np.isnan(array)
    if missing.any():
        raise ValueProblem(f"cannot score missing values (NaN): {int(missing.sum()):,} of {array.size:,} values "
                           f"(positions {', '.join(map(str, np.flatnonzero(missing)[:3]))})")
    if array.size == 0:
        return np.zeros(0, dtype="int64")
    _, inverse, counts = np.unique(array, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    # ceil(n * midrank / N) with midrank = below + (ties + 1) / 2, in integers.
    numerator = n * (2 * below + counts + 1)
    denominator = 2 * array.size
    scores = np.clip(-(-numerator // denominator), 1, n)
    return scores[inverse].astype("int64")


#: Columns of the customer features the RFM scores read.
RFM_COLUMNS = ("customer_id", "recency_days", "frequency", "monetary")


def rfm_scores(features: pd.DataFrame, n: int = N_SCORES) -> pd.DataFrame:
    """R, F and M scores per customer (tie rule of the module docstring).

    Parameters
    ----------
    features : DataFrame
        With ``customer_id, recency_days, frequency, monetary``
        (:func:`portfolio_helpers.analysis.features.customer_features`).
    n : int
        Number of score levels (5: quintile scores).

    Returns
    -------
    DataFrame
        ``customer_id, recency_days, frequency, monetary, r_score, f_score, m_score,
        rfm_cell`` (``rfm_cell`` joins the three scores, e.g. ``"545"``), in the input order.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [5, 40, 40, 300],
    ...                   "frequency": [6, 1, 1, 1], "monetary": [500.0, 80.0, 20.0, 20.0]})
    >>> rfm_scores(f)[["customer_id", "r_score", "f_score", "m_score", "rfm_cell"]]
      customer_id  r_score  f_score  m_score rfm_cell
    0           a        5        5        5      555
    1           b        4        3        4      434
    2           c        4        3        2      432
    3           d        2        3        2      232
    """
    require_columns(features, RFM_COLUMNS, table="customer features")
    require_complete(features, RFM_COLUMNS[1:], table="customer features")
    n = require_count(n, "n", minimum=1)
    out = features[list(RFM_COLUMNS)].reset_index(drop=True).copy()
    out["r_score"] = tie_aware_scores(-out["recency_days"].to_numpy(dtype="float64"), n)
    out["f_score"] = tie_aware_scores(out["frequency"], n)
    out["m_score"] = tie_aware_scores(out["monetary"], n)
    out["rfm_cell"] = (out["r_score"].astype("string") + out["f_score"].astype("string")
                       + out["m_score"].astype("string"))
    return out


def unused_scores(scores: pd.DataFrame, n: int = N_SCORES) -> dict[str, list[int]]:
    """Score values no customer got, per score column (ties collapse scores).

    Examples
    --------
    >>> s = pd.DataFrame({"r_score": [1, 2, 3, 4, 5], "f_score": [2, 2, 2, 4, 5], "m_score": [1, 2, 3, 4, 5]})
    >>> unused_scores(s)
    {'r_score': [], 'f_score': [1, 3], 'm_score': []}
    """
    return {col: sorted(set(range(1, n + 1)) - set(scores[col].astype(int)))
            for col in ("r_score", "f_score", "m_score")}


# --------------------------------------------------------------------------- segment map

@dataclass(frozen=True)
class SegmentMap:
    """Named, non-overlapping rectangles of (R, F) score ranges covering ``1..n`` x ``1..n``."""

    segments: Mapping[str, tuple[tuple[int, int], tuple[int, int]]]
    n: int = N_SCORES

    @property
    def names(self) -> list[str]:
        return list(self.segments)

    def cell_counts(self) -> np.ndarray:
        """How many segments claim each (r, f) cell; index ``[r - 1, f - 1]``."""
        counts = np.zeros((self.n, self.n), dtype="int64")
        for (r_low, r_high), (f_low, f_high) in self.segments.values():
            counts[r_low - 1:r_high, f_low - 1:f_high] += 1
        return counts

    def lookup(self) -> np.ndarray:
        """Segment index of each (r, f) cell (``-1`` where none); index ``[r - 1, f - 1]``."""
        table = np.full((self.n, self.n), -1, dtype="int64")
        for index, ((r_low, r_high), (f_low, f_high)) in enumerate(self.segments.values()):
            table[r_low - 1:r_high, f_low - 1:f_high] = index
        return table

    def grid(self) -> pd.DataFrame:
        """The map as a table: R scores as rows (highest first), F scores as columns."""
        names = np.array(self.names + [""], dtype=object)
        grid = pd.DataFrame(names[self.lookup()], index=pd.RangeIndex(1, self.n + 1, name="r_score"),
                            columns=pd.RangeIndex(1, self.n + 1, name="f_score"))
        return grid.iloc[::-1]


DEFAULT_SEGMENT_MAP = SegmentMap(DEFAULT_SEGMENTS)


def check_coverage(segment_map: SegmentMap) -> None:
    """Raise :class:`ConfigError` unless every (r, f) cell belongs to exactly one segment.

    Examples
    --------
    >>> check_coverage(DEFAULT_SEGMENT_MAP)
    >>> check_coverage(SegmentMap({"All": ((1, 5), (1, 4))}))
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: rfm.segments: the segments must cover every (R, F) score pair exactly once; no segment for (r, f) = (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)
    """
    counts = segment_map.cell_counts()
    problems = []
    gaps = np.argwhere(counts == 0) + 1
    if len(gaps):
        problems.append("no segment for (r, f) = " + ", ".join(f"({r}, {f})" for r, f in gaps))
    lookup_cells = np.argwhere(counts > 1) + 1
    for r, f in lookup_cells:
        owners = [name for name, ((r_low, r_high), (f_low, f_high)) in segment_map.segments.items()
                  if r_low <= r <= r_high and f_low <= f <= f_high]
        problems.append(f"(r, f) = ({r}, {f}) is in several segments: {', '.join(owners)}")
    if problems:
        raise ConfigError("rfm.segments: the segments must cover every (R, F) score pair exactly once; "
                          + "; ".join(problems))


def _score_range(value, where: str, n: int) -> tuple[int, int]:
    pair = [value, value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (not isinstance(pair, list | tuple) or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
        raise ConfigError(f"{where} must be a score or a [low, high] pair of scores, e.g. [4, 5]; got {value!r}")
    low, high = pair
    if not (1 <= low <= high <= n):
        raise ConfigError(f"{where} must be scores from 1 to {n} with low <= high; got {value!r}")
    return int(low), int(high)


def segment_map_from_config(section: Mapping | None) -> SegmentMap:
    """The segment map of the config's ``rfm:`` section (the default map without one).

    ``segments`` replaces the whole default map: each segment is ``{r: [low, high],
    f: [low, high]}`` (or a single score), and together they must cover every (R, F)
    pair exactly once.

    Examples
    --------
    >>> m = segment_map_from_config({"segments": {"Best": {"r": [4, 5], "f": [4, 5]},
    ...                                           "Rest": {"r": [1, 5], "f": [1, 3]},
    ...                                           "Fading": {"r": [1, 3], "f": [4, 5]}}})
    >>> m.segments["Best"]
    ((4, 5), (4, 5))
    >>> segment_map_from_config({"segmnts": {}})
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: rfm: unknown key 'segmnts' (did you mean 'segments'?); expected one of: segments
    """
    if section is None or section == {}:
        return DEFAULT_SEGMENT_MAP
    if not isinstance(section, Mapping):
        raise ConfigError(f"rfm must be a mapping with a 'segments' key; got {section!r}")
    check_known_keys(section, RFM_KEYS, "rfm")
    spec = section.get("segments")
    if spec is None:
        return DEFAULT_SEGMENT_MAP
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError("rfm.segments must map segment names to {r: [low, high], f: [low, high]}")
    segments = {}
    for name, ranges in spec.items():
        where = f"rfm.segments.{name}"
        if not isinstance(ranges, Mapping):
            raise ConfigError(f"{where} must be {{r: [low, high], f: [low, high]}}; got {ranges!r}")
        check_known_keys(ranges, SEGMENT_KEYS, where)
        missing = [key for key in SEGMENT_KEYS if key not in ranges]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)} (score ranges, e.g. r: [4, 5])")
        segments[str(name)] = (_score_range(ranges["r"], f"{where}.r", N_SCORES),
                               _score_range(ranges["f"], f"{where}.f", N_SCORES))
    segment_map = SegmentMap(segments)
    check_coverage(segment_map)
    return segment_map


def assign_segments(scores: pd.DataFrame, segment_map: SegmentMap = DEFAULT_SEGMENT_MAP) -> pd.Series:
    """The segment of each customer from its ``r_score`` and ``f_score``.

    Examples
    --------
    >>> s = pd.DataFrame({"r_score": [5, 5, 1, 2], "f_score": [5, 1, 2, 5]})
    >>> assign_segments(s).tolist()
    ['Champions', 'New Customers', 'Lost', "Can't Lose Them"]
    """
    check_coverage(segment_map)
    r = scores["r_score"].to_numpy(dtype="int64")
    f = scores["f_score"].to_numpy(dtype="int64")
    n = segment_map.n
    outside = (r < 1) | (r > n) | (f < 1) | (f > n)
    if outside.any():
        examples = ", ".join(f"({a}, {b})" for a, b in zip(r[outside][:3], f[outside][:3], strict=True))
        raise ValueProblem(f"scores must be from 1 to {n}: {int(outside.sum()):,} of {len(r):,} rows have "
                           f"(r_score, f_score) outside (e.g. {examples})")
    names = np.array(segment_map.names, dtype=object)
    return pd.Series(names[segment_map.lookup()[r - 1, f - 1]], index=scores.index, name="segment",
                     dtype="string")


def score_rfm(features: pd.DataFrame, segment_map: SegmentMap = DEFAULT_SEGMENT_MAP) -> pd.DataFrame:
    """RFM scores (:func:`rfm_scores`) and the named segment of each customer (column ``rfm_segment``).

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": ["a", "b"], "recency_days": [5, 300], "frequency": [9, 1],
    ...                   "monetary": [900.0, 20.0]})
    >>> score_rfm(f)[["customer_id", "rfm_segment"]].to_dict("list")
    {'customer_id': ['a', 'b'], 'rfm_segment': ['Champions', 'About to Sleep']}
    """
    scores = rfm_scores(features)
    scores["rfm_segment"] = assign_segments(scores, segment_map).to_numpy()
    return scores


def previous_segments(transactions: pd.DataFrame | ir.Table, as_of, segment_map: SegmentMap = DEFAULT_SEGMENT_MAP,
                      months: int = 12, *, customer_col: str = "customer_id", date_col: str = "date",
                      amount_col: str = "amount", order_col: str | None = "order_id",
                      status_col: str | None = "status") -> tuple[pd.Series, pd.Timestamp]:
    """The RFM segment each customer had ``months`` before ``as_of`` (same rules, transactions up to then).

    The segment needs recency, frequency and monetary value only: the transactions
    (``customer_id, date, amount``) are the one table it reads. They are a frame or an
    engine table; the lines up to then stay in the form they came in (an engine table is
    filtered by the engine, and the customer features aggregate it there). The ``*_col``
    keywords name its columns (order id and status optional); the result uses customer ids.

    Returns
    -------
    segments : Series
        ``rfm_segment`` indexed by customer id; empty when no purchase is that old.
    earlier : Timestamp
        ``as_of`` minus ``months``.
    """
    transactions = canonical_lines(transactions, customer_col, date_col, amount_col, order_col, status_col)
    months = require_count(months, "months", minimum=1)
    earlier = require_date(as_of, "as_of") - pd.DateOffset(months=months)
    past = _lines_until(transactions, earlier)
    if not engine.n_rows(past):
        return pd.Series(dtype="string", name="rfm_segment"), earlier
    scored = score_rfm(customer_features_module.customer_features(past, earlier), segment_map)
    return scored.set_index("customer_id")["rfm_segment"], earlier


def _lines_until(transactions: pd.DataFrame | ir.Table, day: pd.Timestamp) -> pd.DataFrame | ir.Table:
    """The lines dated up to the timestamp ``day`` (inclusive), in the form given: a frame, or an engine table
    filtered there."""
    if engine.is_engine_table(transactions):
        return transactions.filter(transactions["date"] <= day)
    return transactions[transactions["date"] <= day]


def migration_since(transactions: pd.DataFrame | ir.Table, as_of, scores: pd.DataFrame, features: pd.DataFrame,
                    segment_map: SegmentMap = DEFAULT_SEGMENT_MAP, months: int = 12, *,
                    customer_col: str = "customer_id", date_col: str = "date", amount_col: str = "amount",
                    order_col: str | None = "order_id", status_col: str | None = "status"):
    """Customers (and last-12-months revenue) moving between RFM segments over the last ``months``.

    Parameters
    ----------
    transactions : DataFrame or Ibis table
        The cleaned transactions (re-scored up to ``as_of - months``), or an engine table of them.
    as_of : date-like
        Analysis date.
    scores : DataFrame
        :func:`score_rfm` at ``as_of``.
    features : DataFrame
        The customer features at ``as_of`` (``customer_id``, ``revenue_last``).
    segment_map : SegmentMap
    months : int
    customer_col, date_col, amount_col, order_col, status_col : str
        The transactions' column names (see :func:`previous_segments`).

    Returns
    -------
    counts : DataFrame or None
        :func:`portfolio_helpers.analysis.segmentation.segment_migration` counts; None when
        no purchase is older than ``as_of - months`` (no earlier segmentation).
    revenue : DataFrame or None
        Revenue of the last 12 months (``revenue_last``) per migration cell.
    earlier : Timestamp
        ``as_of - months``.
    """
    before, earlier = previous_segments(transactions, as_of, segment_map, months, customer_col=customer_col,
                                        date_col=date_col, amount_col=amount_col, order_col=order_col,
                                        status_col=status_col)
    if before.empty:  # (the scores and features are then not read)
        return None, None, earlier
    require_columns(scores, ("customer_id", "rfm_segment"), table="RFM scores (score_rfm)")
    require_columns(features, ("customer_id", "revenue_last"), table="customer features")
    now = scores.set_index("customer_id")["rfm_segment"]
    counts, revenue = segment_migration(before, now, features.set_index("customer_id")["revenue_last"])
    return counts, revenue, earlier


def unreachable_segments(scores: pd.DataFrame, segment_map: SegmentMap = DEFAULT_SEGMENT_MAP) -> list[str]:
    """Segments no (r, f) pair of the scores actually used can reach (ties leave scores unused).

    Examples
    --------
    >>> s = pd.DataFrame({"r_score": [1, 2, 3, 4, 5], "f_score": [5, 5, 5, 5, 5]})
    >>> unreachable_segments(s, SegmentMap({"A": ((1, 5), (1, 4)), "B": ((1, 5), (5, 5))}))
    ['A']
    """
    used_r = sorted(set(scores["r_score"].astype(int)))
    used_f = sorted(set(scores["f_score"].astype(int)))
    return [name for name, ((r_low, r_high), (f_low, f_high)) in segment_map.segments.items()
            if not (any(r_low <= r <= r_high for r in used_r) and any(f_low <= f <= f_high for f in used_f))]


# --------------------------------------------------------------------------- reporting

def segment_summary(scored: pd.DataFrame, features: pd.DataFrame,
                    segment_map: SegmentMap | None = None) -> pd.DataFrame:
    """Size, revenue and typical R, F, M of each segment.

    Parameters
    ----------
    scored : DataFrame
        ``customer_id`` and ``segment`` (:func:`rfm_scores` plus :func:`assign_segments`), or
        ``rfm_segment`` when there is no ``segment`` column (:func:`score_rfm`).
    features : DataFrame
        ``customer_id, recency_days, frequency, monetary``.
    segment_map : SegmentMap, optional
        When given, every segment of the map is listed, in map order, empty ones with 0
        customers; otherwise the segments present, largest revenue first.

    Returns
    -------
    DataFrame
        ``segment, customers, customer_share, revenue, revenue_share, median_recency_days,
        median_frequency, median_monetary``.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": list("abc"), "recency_days": [5, 10, 300],
    ...                   "frequency": [6, 4, 1], "monetary": [500.0, 300.0, 200.0]})
    >>> scored = pd.DataFrame({"customer_id": list("abc"), "segment": ["Top", "Top", "Lost"]})
    >>> segment_summary(scored, f)[["segment", "customers", "customer_share", "revenue_share"]]
      segment  customers  customer_share  revenue_share
    0     Top          2        0.666667            0.8
    1    Lost          1        0.333333            0.2
    """
    if "segment" not in scored.columns and "rfm_segment" in scored.columns:
        scored = scored.rename(columns={"rfm_segment": "segment"})
    data = scored[["customer_id", "segment"]].merge(
        features[["customer_id", "recency_days", "frequency", "monetary"]], on="customer_id", how="left")
    grouped = data.groupby("segment", observed=True, sort=False)
    out = grouped.agg(customers=("customer_id", "size"), revenue=("monetary", "sum"),
                      median_recency_days=("recency_days", "median"), median_frequency=("frequency", "median"),
                      median_monetary=("monetary", "median"))
    if segment_map is not None:
        out = out.reindex(segment_map.names)
        out[["customers", "revenue"]] = out[["customers", "revenue"]].fillna(0)
    else:
        out = out.sort_values(["revenue", "customers"], ascending=False)
    out["customers"] = out["customers"].astype("int64")
    total_customers, total_revenue = out["customers"].sum(), out["revenue"].sum()
    out.insert(1, "customer_share", out["customers"] / total_customers if total_customers else np.nan)
    out.insert(3, "revenue_share", out["revenue"] / total_revenue if total_revenue else np.nan)
    out.index = out.index.astype("string")
    return out.rename_axis("segment").reset_index()


def playbook(section: Mapping | None = None, segment_map: SegmentMap = DEFAULT_SEGMENT_MAP) -> pd.DataFrame:
    """The commercial playbook per segment: the config's ``playbook:`` section over the defaults.

    Each entry of ``section`` is ``segment: {field: text}`` with fields among
    :data:`PLAYBOOK_FIELDS`; segment names must be those of ``segment_map``. Segments of a
    custom map without a default play get empty fields unless configured.

    Examples
    --------
    >>> book = playbook({"Lost": {"offer": "none"}})
    >>> book.set_index("segment").loc["Lost", ["action", "offer"]].tolist()
    ['win back once, then stop', 'none']
    >>> playbook({"Champion": {"offer": "x"}})
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: playbook: unknown key 'Champion' (did you mean 'Champions'?); expected one of: Champions, Loyal Customers, Potential Loyalists, New Customers, Promising, Need Attention, About to Sleep, At Risk, Can't Lose Them, Hibernating, Lost
    """
    section = section or {}
    if not isinstance(section, Mapping):
        raise ConfigError(f"playbook must map segment names to {{field: text}}; got {section!r}")
    check_known_keys(section, segment_map.names, "playbook")
    rows = {name: dict.fromkeys(PLAYBOOK_FIELDS, "") | DEFAULT_PLAYBOOK.get(name, {}) for name in segment_map.names}
    for name, fields in section.items():
        where = f"playbook.{name}"
        if not isinstance(fields, Mapping):
            raise ConfigError(f"{where} must map fields ({', '.join(PLAYBOOK_FIELDS)}) to text; got {fields!r}")
        check_known_keys(fields, PLAYBOOK_FIELDS, where)
        for key, text in fields.items():
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                raise ConfigError(f"{where}.{key} must be text; got {text!r}")
            rows[name][key] = str(text)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(PLAYBOOK_FIELDS)).astype("string")
    return table.rename_axis("segment").reset_index()
