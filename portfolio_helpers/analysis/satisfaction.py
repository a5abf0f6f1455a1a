"""The customer's voice in figures: NPS or CSAT, response rate, and what customers did after answering.

Definitions
-----------
**Groups.** On the NPS scale (0–10) an answer is a *promoter* (9–10), *passive* (7–8) or *detractor*
(0–6). On any other scale (CSAT 1–5, or ``{min, max}``) it is *satisfied* (the top two points: 4–5
on CSAT), *dissatisfied* (the bottom two: 1–2 on CSAT) or *neutral*.

**NPS** = share of promoters − share of detractors, in points (−100 to +100). Its 95% interval
treats the answers as a multinomial sample: the variance of the difference of the two shares is
``(p_P + p_D − (p_P − p_D)²) / n``, and the interval is NPS ± 1.96 × 100 × its square root
(normal approximation, clipped to ±100).

**CSAT** = the mean score, with its 95% interval mean ± 1.96 × s / √n; the *share satisfied* is
the share of answers in the top two points, with a Wilson 95% interval.

**One voice per customer.** Per group (segment, industry, owner, ...) each customer counts once,
with their latest answer; per period, with their latest answer in the period.

**Response rate** = customers who answered / active customers, over the survey window (from the
first answer to ``as_of``): active customers bought at least once in it (a revenue line,
:func:`~portfolio_helpers.analysis.engine.revenue_lines`); answers of customers not active in the
window do not count.

**After the answer** (:func:`behaviour_after`): per customer, their latest answer given at least
``window_days`` before ``as_of`` (so the window is complete); the orders and revenue of the
``window_days`` before and after it (:func:`~portfolio_helpers.analysis.engine.orders` over the
revenue lines, so revenue is the kit's one definition), and *churned* = no purchase
(:func:`~portfolio_helpers.analysis.engine.deliveries`) in the ``window_days`` after the answer.

**Valuable detractors** (:func:`valuable_detractors`): customers in the top revenue decile
(:func:`~portfolio_helpers.analysis.engine.customer_summary` over the revenue lines; the smallest
group of customers that holds 10% of them, at least one) whose latest answer is a detractor or
dissatisfied one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio_helpers.analysis import engine
from portfolio_helpers.cleaning.feedback import FeedbackScale
from portfolio_helpers.core.validation import require_choice, require_columns

__all__ = [
    "Z_95",
    "LOW_GROUPS",
    "answer_groups",
    "group_order",
    "score_summary",
    "nps_interval",
    "latest_answers",
    "satisfaction_by",
    "satisfaction_by_period",
    "response_rate",
    "behaviour_after",
    "behaviour_summary",
    "ChurnGap",
    "churn_gap",
    "valuable_detractors",
]

Z_95 = 1.959963984540054
NPS_GROUPS = ("promoter", "passive", "detractor")
SCALE_GROUPS = ("satisfied", "neutral", "dissatisfied")
#: The groups whose latest answer makes a valuable customer a "valuable detractor".
LOW_GROUPS = ("detractor", "dissatisfied")


def group_order(scale: FeedbackScale) -> tuple[str, ...]:
    """The answer groups of ``scale``, best first."""
    return NPS_GROUPS if scale.is_nps else SCALE_GROUPS


def answer_groups(scores, scale: FeedbackScale) -> pd.Series:
    """The group of each score (promoter/passive/detractor on NPS, else satisfied/neutral/dissatisfied).

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS, CSAT
    >>> answer_groups([10, 8, 6], NPS).tolist(), answer_groups([5, 3, 2], CSAT).tolist()
    (['promoter', 'passive', 'detractor'], ['satisfied', 'neutral', 'dissatisfied'])
    """
    values = pd.Series(scores, dtype="float64")
    if scale.is_nps:
        low_bound, high_bound = 6, 9
    else:
        low_bound, high_bound = scale.low + 1, scale.satisfied_from
    best, middle, worst = group_order(scale)
    groups = np.where(values >= high_bound, best, np.where(values <= low_bound, worst, middle))
    return pd.Series(groups, index=values.index, dtype="string").where(values.notna())


def nps_interval(n_promoters: int, n_detractors: int, n: int) -> tuple[float, float, float]:
    """NPS in points and its 95% interval (multinomial variance of the difference of two shares).

    Examples
    --------
    >>> [round(x, 1) for x in nps_interval(5, 2, 10)]
    [30.0, -18.4, 78.4]
    """
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p, d = n_promoters / n, n_detractors / n
    score = 100 * (p - d)
    half = Z_95 * 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return score, max(score - half, -100.0), min(score + half, 100.0)


def _wilson(successes: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    share = successes / n
    denominator = 1 + Z_95**2 / n
    centre = (share + Z_95**2 / (2 * n)) / denominator
    half = Z_95 * math.sqrt(share * (1 - share) / n + Z_95**2 / (4 * n**2)) / denominator
    # At 0 and at n the bound is exactly the share: no float noise above 0 (or below 1) around it.
    low = 0.0 if successes == 0 else max(centre - half, 0.0)
    high = 1.0 if successes == n else min(centre + half, 1.0)
    return low, high


def score_summary(scores, scale: FeedbackScale) -> dict[str, float]:
    """The headline measures of a set of scores.

    Returns
    -------
    dict
        ``n_answers``, the share of each group (``share_promoter`` ...), ``mean_score``; on NPS
        ``nps``, ``nps_low``, ``nps_high`` (points); otherwise ``csat_mean``, ``csat_low``,
        ``csat_high``, ``share_satisfied``, ``satisfied_low``, ``satisfied_high``.

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS, CSAT
    >>> round(score_summary([9, 10, 9, 10, 9, 7, 8, 7, 3, 6], NPS)["nps"], 6)
    30.0
    >>> summary = score_summary([5, 4, 4, 3, 1], CSAT)
    >>> summary["csat_mean"], summary["share_satisfied"]
    (3.4, 0.6)
    """
    values = pd.Series(scores, dtype="float64").dropna()
    groups = answer_groups(values, scale)
    n = len(values)
    out: dict[str, float] = {"n_answers": n, "mean_score": float(values.mean()) if n else math.nan}
    for group in group_order(scale):
        out[f"share_{group}"] = float((groups == group).sum() / n) if n else math.nan
    if scale.is_nps:
        out["nps"], out["nps_low"], out["nps_high"] = nps_interval(
            int((groups == "promoter").sum()), int((groups == "detractor").sum()), n)
        return out
    half = Z_95 * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    out["csat_mean"], out["csat_low"], out["csat_high"] = out["mean_score"], out["mean_score"] - half, \
        out["mean_score"] + half
    satisfied = int((groups == "satisfied").sum())
    out["share_satisfied"] = satisfied / n if n else math.nan
    out["satisfied_low"], out["satisfied_high"] = _wilson(satisfied, n)
    return out


def latest_answers(feedback: pd.DataFrame, scale: FeedbackScale, customer_col: str = "customer_id",
                   date_col: str = "date", score_col: str = "score") -> pd.DataFrame:
    """Each customer's latest answer (ties: the later line), with its ``group``; sorted by customer.

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS
    >>> fb = pd.DataFrame({"customer_id": ["a", "a", "b"], "score": [10, 3, 8],
    ...                    "date": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-02-01"])})
    >>> latest_answers(fb, NPS)[["customer_id", "score", "group"]].to_dict("records")
    [{'customer_id': 'a', 'score': 3, 'group': 'detractor'}, {'customer_id': 'b', 'score': 8, 'group': 'passive'}]
    """
    require_columns(feedback, [customer_col, date_col, score_col], "feedback")
    return _latest(feedback, scale, customer_col, date_col, score_col)


def _latest(feedback: pd.DataFrame, scale: FeedbackScale, customer_col: str, date_col: str,
            score_col: str) -> pd.DataFrame:
    answers = feedback.dropna(subset=[customer_col, date_col, score_col])
    latest = (answers.reset_index(drop=True).rename_axis("_order").reset_index()
              .sort_values([customer_col, date_col, "_order"], kind="stable")
              .drop_duplicates(customer_col, keep="last").drop(columns="_order"))
    latest = latest.rename(columns={customer_col: "customer_id", date_col: "date", score_col: "score"})
    latest["group"] = answer_groups(latest["score"], scale).to_numpy()
    return latest.reset_index(drop=True)


def _measure_rows(frame: pd.DataFrame, keys: list[str], scale: FeedbackScale) -> pd.DataFrame:
    rows = []
    for key, part in frame.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key, strict=True)), **score_summary(part["score"], scale)})
    columns = [*keys, "n_answers", "mean_score", *(f"share_{g}" for g in group_order(scale))]
    # (share_satisfied is one of the group shares above: listed once)
    columns += ["nps", "nps_low", "nps_high"] if scale.is_nps else [
        "csat_mean", "csat_low", "csat_high", "satisfied_low", "satisfied_high"]
    return pd.DataFrame(rows, columns=columns).astype({"n_answers": "int64"})


def satisfaction_by(feedback: pd.DataFrame, attributes: pd.DataFrame, by: str, scale: FeedbackScale,
                    customer_col: str = "customer_id", date_col: str = "date",
                    score_col: str = "score") -> pd.DataFrame:
    """The measures of :func:`score_summary` per value of the customer attribute ``by``.

    Each customer counts once, with their latest answer; customers without a value of ``by``
    (or absent from ``attributes``) are grouped under ``(unknown)``.

    Parameters
    ----------
    feedback : DataFrame
        The answers: ``customer_col``, ``date_col``, ``score_col``.
    attributes : DataFrame
        One row per customer: ``customer_col`` and ``by`` (the customers table, the segments
        table of notebook 04, ...).

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS
    >>> fb = pd.DataFrame({"customer_id": ["a", "b", "c"], "score": [10, 3, 9],
    ...                    "date": pd.to_datetime(["2025-01-01"] * 3)})
    >>> attrs = pd.DataFrame({"customer_id": ["a", "b"], "industry": ["Food", "Food"]})
    >>> satisfaction_by(fb, attrs, "industry", NPS)[["industry", "n_answers", "nps"]].to_dict("records")
    [{'industry': 'Food', 'n_answers': 2, 'nps': 0.0}, {'industry': '(unknown)', 'n_answers': 1, 'nps': 100.0}]
    """
    require_columns(feedback, [customer_col, date_col, score_col], "feedback")
    require_columns(attributes, [customer_col, by], "attributes")
    latest = _latest(feedback, scale, customer_col, date_col, score_col)
    values = attributes.drop_duplicates(customer_col).set_index(customer_col)[by]
    latest[by] = latest["customer_id"].map(values).astype("string").fillna("(unknown)")
    table = _measure_rows(latest, [by], scale)
    known = table[table[by] != "(unknown)"]
    return pd.concat([known, table[table[by] == "(unknown)"]], ignore_index=True)


def satisfaction_by_period(feedback: pd.DataFrame, scale: FeedbackScale, freq: str = "quarter",
                           customer_col: str = "customer_id", date_col: str = "date",
                           score_col: str = "score") -> pd.DataFrame:
    """The measures of :func:`score_summary` per calendar ``freq`` (``month``, ``quarter`` or ``year``).

    Each customer counts once per period, with their latest answer in it. ``period`` is the first
    day of the period.

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS
    >>> fb = pd.DataFrame({"customer_id": ["a", "a", "b"], "score": [10, 2, 9],
    ...                    "date": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-04-01"])})
    >>> satisfaction_by_period(fb, NPS)[["period", "n_answers", "nps"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'period': Timestamp('2025-01-01 00:00:00'), 'n_answers': 1, 'nps': -100.0},
     {'period': Timestamp('2025-04-01 00:00:00'), 'n_answers': 1, 'nps': 100.0}]
    """
    require_columns(feedback, [customer_col, date_col, score_col], "feedback")
    codes = {"month": "M", "quarter": "Q", "year": "Y"}
    require_choice(freq, "freq", codes)
    answers = feedback.dropna(subset=[customer_col, date_col, score_col]).copy()
    answers["period"] = answers[date_col].dt.to_period(codes[freq]).dt.start_time
    per_period = [_latest(part, scale, customer_col, date_col, score_col).assign(period=period)
                  for period, part in answers.groupby("period", sort=True)]
    if not per_period:
        return _measure_rows(pd.DataFrame({"period": [], "score": []}), ["period"], scale)
    return _measure_rows(pd.concat(per_period, ignore_index=True), ["period"], scale)


def response_rate(feedback: pd.DataFrame, transactions: pd.DataFrame, as_of, customer_col: str = "customer_id",
                  date_col: str = "date") -> dict[str, float]:
    """Customers who answered / active customers over the survey window (first answer to ``as_of``).

    Returns
    -------
    dict
        ``window_start``, ``n_active`` (customers with a revenue line in the window),
        ``n_respondents`` (of them, those who answered in the window), ``response_rate``
        (NaN without an active customer) and ``n_respondents_not_active``.

    Examples
    --------
    >>> fb = pd.DataFrame({"customer_id": ["a", "z"], "date": pd.to_datetime(["2025-03-01", "2025-04-01"])})
    >>> tx = pd.DataFrame({"customer_id": ["a", "b", "c"], "amount": [1.0, 2.0, 3.0],
    ...                    "date": pd.to_datetime(["2025-05-01", "2025-06-01", "2024-01-01"])})
    >>> rate = response_rate(fb, tx, "2025-12-31")
    >>> rate["n_active"], rate["n_respondents"], rate["response_rate"], rate["n_respondents_not_active"]
    (2, 1, 0.5, 1)
    """
    require_columns(feedback, [customer_col, date_col], "feedback")
    require_columns(transactions, ["customer_id", "date", "amount"], "transactions")
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    answers = feedback.dropna(subset=[customer_col, date_col])
    answers = answers[answers[date_col] < end]
    start = answers[date_col].min().normalize() if len(answers) else pd.Timestamp(as_of).normalize()
    lines = _revenue_lines(transactions)
    lines = lines.filter(lines.customer_id.notnull(), lines.date >= start, lines.date < end)
    active = set(engine.execute(lines.select("customer_id").distinct())["customer_id"])
    answered = set(answers[customer_col])
    respondents = answered & active
    return {"window_start": start, "n_active": len(active), "n_respondents": len(respondents),
            "response_rate": len(respondents) / len(active) if active else math.nan,
            "n_respondents_not_active": len(answered - active)}


def _revenue_lines(transactions: pd.DataFrame):
    """The revenue lines as an Ibis table (an engine table stays where it is): ``customer_id`` as text,
    ``date``, ``amount`` and ``order_id`` when present."""
    order_col = ["order_id"] if "order_id" in transactions.columns else []
    t = engine.table(engine.revenue_lines(transactions), ["customer_id", "date", "amount", *order_col])
    return t.mutate(customer_id=t.customer_id.cast("string"))


def behaviour_after(feedback: pd.DataFrame, transactions: pd.DataFrame, as_of, scale: FeedbackScale,
                    window_days: int = 365, customer_col: str = "customer_id", date_col: str = "date",
                    score_col: str = "score") -> pd.DataFrame:
    """What each customer did in the ``window_days`` before and after their latest complete-window answer.

    Returns
    -------
    DataFrame
        One row per customer who answered at least ``window_days`` before ``as_of``:
        ``customer_id, date, score, group, orders_before, orders_after, revenue_before,
        revenue_after, churned`` (no purchase in the window after the answer).

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS
    >>> fb = pd.DataFrame({"customer_id": ["a", "b"], "score": [10, 2],
    ...                    "date": pd.to_datetime(["2024-06-01", "2024-06-01"])})
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [100.0, 50.0, 80.0],
    ...                    "date": pd.to_datetime(["2024-03-01", "2024-09-01", "2024-05-01"])})
    >>> after = behaviour_after(fb, tx, "2025-12-31", NPS, window_days=180)
    >>> after[["customer_id", "orders_after", "revenue_before", "churned"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'customer_id': 'a', 'orders_after': 1, 'revenue_before': 100.0, 'churned': False},
     {'customer_id': 'b', 'orders_after': 0, 'revenue_before': 80.0, 'churned': True}]
    """
    require_columns(feedback, [customer_col, date_col, score_col], "feedback")
    require_columns(transactions, ["customer_id", "date", "amount"], "transactions")
    window = pd.Timedelta(days=int(window_days))
    cutoff = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1) - window
    complete = feedback[feedback[date_col] < cutoff]
    latest = _latest(complete, scale, customer_col, date_col, score_col)
    columns = ["customer_id", "date", "score", "group"]
    out = latest[columns].copy()
    counts = ["orders_before", "orders_after", "revenue_before", "revenue_after", "churned"]
    if out.empty:  # no answer old enough for its window to be complete
        return out.assign(**{column: pd.Series(dtype="bool" if column == "churned" else
                                               "float64" if column.startswith("revenue") else "int64")
                             for column in counts})
    # One query in the engine: the respondents' orders (engine.orders_expr, over the revenue lines), each
    # compared with its customer's answer date; per customer the orders, revenue and deliveries in each window.
    answered = out["date"]
    answers = pd.DataFrame({"_answered": out["customer_id"].astype("string"), "_start": answered - window,
                            "_answer": answered, "_end": answered + window})
    lines = _revenue_lines(transactions)
    ids = engine.table(answers, ["_answered"])
    lines = lines.semi_join(ids, lines.customer_id == ids["_answered"])  # the respondents' lines
    answers = engine.table(answers, list(answers.columns))
    o = engine.orders_expr(lines)
    o = o.join(answers, o.customer_id == answers["_answered"])
    before = (o.date < o["_answer"]) & (o.date >= o["_start"])
    after = (o.date >= o["_answer"]) & (o.date < o["_end"])
    per = o.group_by("customer_id").aggregate(
        orders_before=o.count(where=before), orders_after=o.count(where=after),
        revenue_before=engine.money_sum(o.amount, before), revenue_after=engine.money_sum(o.amount, after),
        purchases_after=o.count(where=after & engine._is_delivery(o.amount)))
    per = engine.execute(per).astype({"customer_id": "string"}).set_index("customer_id")
    ids = out["customer_id"].astype("string")
    for column in counts[:-1]:  # (a respondent without any order: 0)
        kind = "float64" if column.startswith("revenue") else "int64"
        out[column] = per[column].reindex(ids).fillna(0).astype(kind).to_numpy()
    out["churned"] = per["purchases_after"].reindex(ids).fillna(0).to_numpy() == 0
    return out[[*columns, *counts]]


def behaviour_summary(after: pd.DataFrame, scale: FeedbackScale, window_days: int = 365) -> pd.DataFrame:
    """Per answer group: customers, churn rate with its 95% Wilson interval, revenue trend and order rhythm.

    ``revenue_trend`` is the group's revenue after the answer / before − 1; ``orders_per_year_before``
    and ``orders_per_year_after`` its orders per customer and year in each window.

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS
    >>> after = pd.DataFrame({"group": ["promoter", "detractor", "detractor"], "orders_before": [2, 2, 1],
    ...                       "orders_after": [2, 0, 1], "revenue_before": [100.0, 100.0, 50.0],
    ...                       "revenue_after": [120.0, 0.0, 30.0], "churned": [False, True, False]})
    >>> summary = behaviour_summary(after, NPS)
    >>> summary[["group", "customers", "churn_rate"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'group': 'promoter', 'customers': 1, 'churn_rate': 0.0},
     {'group': 'passive', 'customers': 0, 'churn_rate': nan},
     {'group': 'detractor', 'customers': 2, 'churn_rate': 0.5}]
    >>> summary["revenue_trend"].round(4).tolist()
    [0.2, nan, -0.8]
    """
    require_columns(after, ["group", "orders_before", "orders_after", "revenue_before", "revenue_after", "churned"],
                    "after")
    years = window_days / 365.25
    rows = []
    for group in group_order(scale):
        part = after[after["group"] == group]
        n, churned = len(part), int(part["churned"].sum())
        before, later = float(part["revenue_before"].sum()), float(part["revenue_after"].sum())
        low, high = _wilson(churned, n)
        rows.append({"group": group, "customers": n, "churned": churned,
                     "churn_rate": churned / n if n else math.nan, "churn_low": low, "churn_high": high,
                     "revenue_before": before, "revenue_after": later,
                     "revenue_trend": later / before - 1 if before > 0 else math.nan,
                     "orders_per_year_before": part["orders_before"].sum() / n / years if n else math.nan,
                     "orders_per_year_after": part["orders_after"].sum() / n / years if n else math.nan})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ChurnGap:
    """The churn rate of the lowest answer group minus that of the highest, with its 95% interval."""

    low_group: str
    high_group: str
    difference: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """True when the interval excludes zero."""
        return bool(self.low > 0 or self.high < 0)


def churn_gap(summary: pd.DataFrame) -> ChurnGap | None:
    """Churn of the worst group minus the best, with Newcombe's 95% interval of a difference of two shares.

    The interval combines the Wilson intervals of the two shares (Newcombe 1998, method 10), so that
    it stays honest for small groups and for shares of 0 or 1, where the normal approximation
    collapses to a single point (one churned detractor against one loyal promoter is not "clear").
    ``None`` when either group has no customer.

    Examples
    --------
    >>> summary = pd.DataFrame({"group": ["promoter", "passive", "detractor"], "customers": [100, 50, 100],
    ...                         "churned": [10, 10, 30]})
    >>> gap = churn_gap(summary)
    >>> round(gap.difference, 2), round(gap.low, 3), round(gap.high, 3), gap.clear
    (0.2, 0.09, 0.306, True)
    >>> churn_gap(pd.DataFrame({"group": ["promoter", "detractor"], "customers": [1, 1], "churned": [0, 1]})).clear
    False
    """
    best, worst = summary.iloc[0], summary.iloc[-1]
    if best["customers"] == 0 or worst["customers"] == 0:
        return None
    n1, n2 = int(worst["customers"]), int(best["customers"])
    c1, c2 = int(worst["churned"]), int(best["churned"])
    p1, p2 = c1 / n1, c2 / n2
    (l1, u1), (l2, u2) = _wilson(c1, n1), _wilson(c2, n2)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return ChurnGap(str(worst["group"]), str(best["group"]), difference, low, high)


def valuable_detractors(feedback: pd.DataFrame, transactions: pd.DataFrame, scale: FeedbackScale,
                        top_share: float = 0.10, extra_columns: Sequence[str] = (),
                        customer_col: str = "customer_id", date_col: str = "date",
                        score_col: str = "score") -> pd.DataFrame:
    """Customers in the top ``top_share`` by revenue whose latest answer is a detractor or dissatisfied one.

    Returns
    -------
    DataFrame
        ``customer_id, revenue, date, score, group`` and the ``extra_columns`` of the answer that
        ``feedback`` has (``topic``, ``comment``, ...), largest revenue first.

    Examples
    --------
    >>> from portfolio_helpers.cleaning.feedback import NPS
    >>> tx = pd.DataFrame({"customer_id": list("abcdefghijk"), "amount": [float(x) for x in range(100, 1200, 100)],
    ...                    "date": pd.to_datetime(["2025-01-01"] * 11)})
    >>> fb = pd.DataFrame({"customer_id": ["k", "j", "a"], "score": [3, 2, 0],
    ...                    "date": pd.to_datetime(["2025-02-01"] * 3)})
    >>> valuable_detractors(fb, tx, NPS)[["customer_id", "revenue", "score"]].to_dict("records")
    [{'customer_id': 'k', 'revenue': 1100.0, 'score': 3}, {'customer_id': 'j', 'revenue': 1000.0, 'score': 2}]
    """
    require_columns(feedback, [customer_col, date_col, score_col], "feedback")
    require_columns(transactions, ["customer_id", "date", "amount"], "transactions")
    summary = engine.customer_summary(engine.revenue_lines(transactions))
    # ranked by revenue to the cent: engines add a customer's lines in their own order, and equal revenues
    # must not be told apart by the last bits of a float
    summary["_cents"] = summary["revenue"].round(2)
    n_top = max(1, math.ceil(top_share * len(summary)))
    top = summary.sort_values(["_cents", "customer_id"], ascending=[False, True]).head(n_top)
    latest = _latest(feedback, scale, customer_col, date_col, score_col)
    extras = [column for column in extra_columns if column in latest.columns]
    low = latest[latest["group"].isin(LOW_GROUPS)][["customer_id", "date", "score", "group", *extras]]
    out = top[["customer_id", "revenue", "_cents"]].merge(low, on="customer_id", how="inner")
    out = out.sort_values(["_cents", "customer_id"], ascending=[False, True]).drop(columns="_cents")
    return out.reset_index(drop=True)
