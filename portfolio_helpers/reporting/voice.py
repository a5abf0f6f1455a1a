"""Report helpers of notebook 08 (the customer's voice) and the contact rules of every call list.

The figures come from :func:`portfolio_helpers.analysis.voice.voice_results` (which runs
:mod:`~portfolio_helpers.analysis.satisfaction` and the contact rules of
:mod:`~portfolio_helpers.analysis.contact`); this module words them for a manager, draws the charts
and keeps the log of who was left out of each call list (``exports/contact_exclusions.csv``).

Every list the kit exports for action goes through the contact rules: the lists of a page at once
through :func:`reachable_lists` (scored leads, valuable customers at risk and look-alike prospects
in notebook 05), and the valuable detractors of notebook 08 are logged with :func:`log_contacts`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from portfolio_helpers.analysis import contact, satisfaction
from portfolio_helpers.analysis.voice import VoiceResults, whole_scores
from portfolio_helpers.cleaning.feedback import FeedbackScale
from portfolio_helpers.core.files import atomic_to_csv
from portfolio_helpers.core.presence import has_values, present_columns, table_with_values
from portfolio_helpers.core.validation import require_columns
from portfolio_helpers.reporting.absence import Need, absence_notes
from portfolio_helpers.reporting.narrative import fmt_date, fmt_int, fmt_money, fmt_pct, plural

__all__ = [
    "CONTACT_LOG",
    "VOICE_NEEDS",
    "log_contacts",
    "reachable_lists",
    "reachable",
    "only_reachable",
    "with_contact_status",
    "read_contact_log",
    "exclusion_sentence",
    "at_risk_calls",
    "at_risk_formats",
    "voice_metrics",
    "voice_notes",
    "findings",
    "without_feedback_text",
    "trend_figure",
    "period_table",
    "group_tables",
    "behaviour_figure",
    "behaviour_table",
    "detractor_table",
    "detractor_formats",
    "contact_text",
    "exclusions_table",
    "customer_export",
    "export_lists",
    "MEASURE_FORMATS",
    "BEHAVIOUR_FORMATS",
]

CONTACT_LOG = Path("exports") / "contact_exclusions.csv"
LOG_COLUMNS = ["list", "listed", "kept", "consent_known", "reason", "n"]
#: Fewer answers than this in a group: shown, but not named as where satisfaction is lowest.
MIN_ANSWERS = 10
VOICE_NEEDS = [
    Need("feedback", (), "the customer's voice (NPS or CSAT, satisfaction per segment, behaviour after an answer, "
                         "valuable detractors)"),
    Need("feedback", ("topic",), "the topics of the answers"),
    Need("customers", ("consent_email", "consent_phone", "do_not_contact"), "the consent filter of the call lists"),
    Need("customers", ("preferred_channel",), "the preferred contact channel"),
]
_DIMENSION_TITLES = {"rfm_segment": "RFM segment", "cluster_name": "cluster (notebook 04)",
                     "industry": "industry", "customer_type": "customer type", "owner": "account owner"}
#: How an answer group is named in a sentence or a header ("12 dissatisfied customers", not "12 dissatisfieds").
_GROUP_NOUNS = {"promoter": "promoters", "passive": "passives", "detractor": "detractors",
                "satisfied": "satisfied customers", "neutral": "neutral customers",
                "dissatisfied": "dissatisfied customers"}
#: A reason of the contact log, worded after a count ("2 asked not to be contacted").
_REASON_WORDS = {contact.REASON_DO_NOT_CONTACT: "asked not to be contacted (do_not_contact)",
                 contact.REASON_NO_CONSENT: "gave no consent for any channel",
                 contact.REASON_NOT_ON_FILE: "are not in the contact table (no consent on file)"}
#: How a group is introduced in the sentence on where satisfaction is lowest.
_DIMENSION_PHRASES = {"rfm_segment": "in the RFM segment", "cluster_name": "in the cluster", "industry": "in the industry",
                      "customer_type": "among customers of type", "owner": "among the customers of account owner"}
_LIST_TITLES = {"leads_scored": "open leads to call", "at_risk_customers": "valuable customers at risk",
                "prospects_lookalike": "look-alike prospects", "valuable_detractors": "valuable detractors"}


# --------------------------------------------------------------------------- contact rules of every list


def read_contact_log(output_dir: str | os.PathLike) -> pd.DataFrame:
    """The exclusions logged by :func:`log_contacts` in this run folder (empty when no list went through it)."""
    path = Path(output_dir) / CONTACT_LOG
    if not path.is_file():
        return pd.DataFrame({column: pd.Series(dtype="int64" if column in ("listed", "kept", "n") else "string")
                             for column in LOG_COLUMNS}).astype({"consent_known": "bool"})
    return pd.read_csv(path, dtype={"list": "string", "reason": "string"}, keep_default_na=False)


def log_contacts(results: Mapping[str, contact.ContactResult | None], output_dir: str | os.PathLike) -> pd.DataFrame:
    """Log, per call list, how many the contact rules left out and why, in ``exports/contact_exclusions.csv``.

    One row per reason (one row with an empty reason when nobody was left out); the rows an earlier
    run logged for the same lists are replaced, and a list whose result is ``None`` (this run could
    not build it) loses its old rows. The other lists' rows stay (notebook 05 logs its lists,
    notebook 08 the valuable detractors). Returns the whole log.

    Examples
    --------
    >>> import tempfile
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "do_not_contact": ["no", "oui"]})
    >>> results = contact.contact_lists({"demo": customers[["customer_id"]], "absent": None}, {"customers": customers})
    >>> log_contacts(results, tempfile.mkdtemp())[["list", "listed", "kept", "reason", "n"]].to_dict("records")
    [{'list': 'demo', 'listed': 2, 'kept': 1, 'reason': 'asked not to be contacted (do_not_contact)', 'n': 1}]
    """
    frames = []
    for name, result in results.items():
        if result is None:
            continue
        rows = result.exclusions.assign(list=name, listed=result.n_listed, kept=len(result.frame),
                                        consent_known=result.consent_known)
        if rows.empty:
            rows = pd.DataFrame([{"list": name, "listed": result.n_listed, "kept": len(result.frame),
                                  "consent_known": result.consent_known, "reason": "", "n": 0}])
        frames.append(rows[LOG_COLUMNS])
    log = read_contact_log(output_dir)
    log = pd.concat([log[~log["list"].isin(list(results))], *frames], ignore_index=True)
    atomic_to_csv(log, Path(output_dir) / CONTACT_LOG, index=False)
    return log


def reachable_lists(lists: Mapping[str, pd.DataFrame | None], tables: dict, output_dir: str | os.PathLike,
                    id_cols: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame | None]:
    """Every call list of a page without the people who may not be contacted, with their ``contact_channel``.

    One call for all the lists: :func:`~portfolio_helpers.analysis.contact.contact_lists` applies the
    rules with the contact columns of the customers table (of the leads table for a list of
    ``lead_id``, named in ``id_cols``), and :func:`log_contacts` logs how many were left out of each
    list and why. A list given as ``None`` stays ``None``.

    Examples
    --------
    >>> import tempfile
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "do_not_contact": ["no", "yes"]})
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2"], "date": pd.to_datetime(["2025-01-01"] * 2),
    ...                       "consent_email": ["no", "yes"], "consent_phone": ["no", "no"]})
    >>> folder = tempfile.mkdtemp()
    >>> kept = reachable_lists({"at_risk_customers": customers[["customer_id"]],
    ...                         "leads_scored": pd.DataFrame({"lead_id": ["L1", "L2"]}), "prospects_lookalike": None},
    ...                        {"customers": customers, "leads": leads}, folder, id_cols={"leads_scored": "lead_id"})
    >>> kept["at_risk_customers"]["customer_id"].tolist(), kept["leads_scored"]["lead_id"].tolist()
    (['a'], ['L2'])
    >>> kept["prospects_lookalike"] is None, read_contact_log(folder)["list"].tolist()
    (True, ['at_risk_customers', 'leads_scored'])
    """
    results = contact.contact_lists(lists, tables, id_cols)
    log_contacts(results, output_dir)
    return {name: None if result is None else result.frame for name, result in results.items()}


def reachable(frame: pd.DataFrame | None, tables: dict, output_dir: str | os.PathLike, list_name: str,
              id_col: str = "customer_id") -> pd.DataFrame | None:
    """One list through :func:`reachable_lists`: ``frame`` without the people who may not be contacted.

    Examples
    --------
    >>> import tempfile
    >>> calls = pd.DataFrame({"customer_id": ["a", "b"]})
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "do_not_contact": ["no", "yes"]})
    >>> folder = tempfile.mkdtemp()
    >>> reachable(calls, {"customers": customers}, folder, "demo")["customer_id"].tolist()
    ['a']
    >>> read_contact_log(folder)[["list", "reason", "n"]].to_dict("records")
    [{'list': 'demo', 'reason': 'asked not to be contacted (do_not_contact)', 'n': 1}]
    """
    return reachable_lists({list_name: frame}, tables, output_dir, {list_name: id_col})[list_name]


def only_reachable(frame: pd.DataFrame | None, reached: pd.DataFrame | None,
                   id_col: str = "customer_id") -> pd.DataFrame | None:
    """Another view of a list that went through the contact rules: the rows of ``frame`` whose id
    ``reached`` kept, with their ``contact_channel`` (the same people, the same channels).

    Examples
    --------
    >>> view = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "lookalike_score": [90, 80, 70]})
    >>> reached = pd.DataFrame({"lead_id": ["L3", "L1"], "contact_channel": ["email", "phone"]})
    >>> only_reachable(view, reached, "lead_id").to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'lead_id': 'L1', 'lookalike_score': 90, 'contact_channel': 'phone'},
     {'lead_id': 'L3', 'lookalike_score': 70, 'contact_channel': 'email'}]
    """
    if frame is None or reached is None:
        return None
    channels = reached.drop_duplicates(id_col).set_index(id_col)["contact_channel"]
    out = frame[frame[id_col].isin(channels.index)].copy()
    out["contact_channel"] = out[id_col].map(channels).astype("string")
    return out


def with_contact_status(per_customer: pd.DataFrame, tables: dict) -> pd.DataFrame:
    """``per_customer`` (a page's columns of ``exports/customers.csv``) with each customer's ``contact_channel``
    and ``contact_status`` (``"ok"`` or why they may not be contacted), by the rules of the call lists
    (:func:`~portfolio_helpers.analysis.contact.contact_statuses`), so that a CRM user filtering the export
    reaches only the people the call lists keep. Unchanged when the customers table has no contact column
    (nothing is known to add: the report says consent is not known).

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": ["a", "b"], "do_not_contact": ["no", "yes"]})
    >>> scores = pd.DataFrame({"customer_id": ["b", "a"], "at_risk": [True, True]})
    >>> with_contact_status(scores, {"customers": customers})["contact_status"].tolist()
    ['asked not to be contacted (do_not_contact)', 'ok']
    >>> list(with_contact_status(scores, {"customers": customers[["customer_id"]]}).columns)
    ['customer_id', 'at_risk']
    """
    require_columns(per_customer, ["customer_id"], "customer export")
    contacts, contacts_id, date_col = contact.contacts_for(tables)
    statuses = contact.contact_statuses(per_customer[["customer_id"]], contacts, "customer_id", contacts_id, date_col)
    if statuses is None:
        return per_customer
    return per_customer.join(statuses[["contact_channel", "contact_status"]])


def exclusion_sentence(output_dir: str | os.PathLike, list_name: str) -> str:
    """One sentence: how many people the contact rules left out of ``list_name`` and why, from the log.

    The counts are those of ``exports/contact_exclusions.csv`` (the ones notebook 08 shows); "" when
    the list did not go through the contact rules in this run.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "consent_email": ["yes", "no", "yes"],
    ...                           "consent_phone": ["no", "no", "yes"], "do_not_contact": ["no", "no", "yes"]})
    >>> _ = reachable(customers[["customer_id"]], {"customers": customers}, folder, "at_risk_customers")
    >>> exclusion_sentence(folder, "at_risk_customers")  # doctest: +NORMALIZE_WHITESPACE
    'Valuable customers at risk: 1 of 3 may be contacted; 2 left out: 1 asked not to be contacted
     (do_not_contact), 1 gave no consent for any channel.'
    """
    log = read_contact_log(output_dir)
    rows = log[log["list"] == list_name]
    if rows.empty:
        return ""
    title = _LIST_TITLES.get(list_name, list_name)
    title = title[:1].upper() + title[1:]
    listed, kept = int(rows["listed"].iloc[0]), int(rows["kept"].iloc[0])
    everyone = {0: "nobody is", 1: "the one person is", 2: "both are"}.get(listed, f"all {fmt_int(listed)} are")
    if not bool(rows["consent_known"].iloc[0]):
        return (f"{title}: consent is not known (their table has no consent or do-not-contact column), so "
                f"{everyone} kept.")
    reasons = rows[rows["reason"] != ""]
    if reasons.empty:
        return f"{title}: {everyone} kept (nobody asked not to be contacted, each consented to a channel)."
    why = ", ".join(f"{fmt_int(int(n))} {_REASON_WORDS.get(reason, reason)}"
                    for reason, n in zip(reasons["reason"], reasons["n"], strict=True))
    return f"{title}: {fmt_int(kept)} of {fmt_int(listed)} may be contacted; {fmt_int(listed - kept)} left out: {why}."


def at_risk_calls(at_risk: pd.DataFrame, tables: dict) -> pd.DataFrame:
    """The valuable customers at risk as a call list: owner, revenue at risk and why each one is flagged.

    Parameters
    ----------
    at_risk : DataFrame
        Notebook 05's table (:func:`~portfolio_helpers.reporting.scoring.at_risk_table`): ``customer_id``,
        ``monetary``, ``recency_days``, ``usual_gap_days``, ``days_overdue``, ``value_score``.
    tables : dict
        The portfolio's tables (the owner comes from ``customers.owner`` when it has values).

    Returns
    -------
    DataFrame
        ``customer_id``, ``owner`` (when known), ``revenue_at_risk`` (the customer's revenue, ``monetary``:
        the kit's one definition, the figure notebook 05's finding adds up), ``recency_days``,
        ``usual_gap_days``, ``days_overdue``, ``value_score`` and ``reason``, in the order given.

    Examples
    --------
    >>> risk = pd.DataFrame({"customer_id": ["a"], "monetary": [900.0], "recency_days": [200],
    ...                      "usual_gap_days": [33.4], "days_overdue": [133.2], "value_score": [81.0]})
    >>> at_risk_calls(risk, {"customers": pd.DataFrame({"customer_id": ["a"], "owner": ["Ana"]})}).iloc[0].to_dict()
    ... # doctest: +NORMALIZE_WHITESPACE
    {'customer_id': 'a', 'owner': 'Ana', 'revenue_at_risk': 900.0, 'recency_days': 200, 'usual_gap_days': 33.4,
     'days_overdue': 133.2, 'value_score': 81.0,
     'reason': 'no purchase for 200 days, 6.0× their usual 33 days between purchases'}
    """
    require_columns(at_risk, ["customer_id", "monetary", "recency_days", "usual_gap_days"], "at_risk")
    out = at_risk.rename(columns={"monetary": "revenue_at_risk"}).reset_index(drop=True)
    customers = table_with_values(tables, "customers")
    if has_values(customers, "owner"):
        owners = customers.drop_duplicates("customer_id").set_index("customer_id")["owner"]
        out.insert(1, "owner", out["customer_id"].map(owners).astype("string"))
    gap = out["usual_gap_days"].astype("float64")
    recency = out["recency_days"].astype("float64")
    out["reason"] = [f"no purchase for {r:.0f} days, {r / g:.1f}× their usual {g:.0f} days between purchases"
                     if g > 0 else f"no purchase for {r:.0f} days" for r, g in zip(recency, gap, strict=True)]
    return out


def at_risk_formats(currency: str) -> dict:
    """Display formats of :func:`at_risk_calls`."""
    return {"revenue_at_risk": lambda v: fmt_money(v, currency, compact=False), "recency_days": fmt_int,
            "usual_gap_days": "{:.0f}".format, "days_overdue": "{:.0f}".format, "value_score": "{:.0f}".format}


# --------------------------------------------------------------------------- notebook 08's figures


def voice_notes(result: VoiceResults) -> list[str]:
    """What the page cannot show for want of a table or column (the topics, the consent filter, ...).

    Without a feedback table the findings say what one would add, so the notes keep to the other tables.
    """
    needs = VOICE_NEEDS if result.scale is not None else [need for need in VOICE_NEEDS if need.table != "feedback"]
    return absence_notes(result.tables, needs)


def voice_metrics(result: VoiceResults, output_dir: str | os.PathLike) -> dict[str, float | int]:
    """``nps`` (points) or ``csat_mean``, ``response_rate``, ``n_valuable_detractors``, ``n_excluded_no_consent``.

    ``n_excluded_no_consent`` adds up, over the call lists of the log, the people left out for want of consent
    (someone on two lists counts twice). Without a feedback table only that one.
    """
    log = read_contact_log(output_dir)
    no_consent = log[(log["reason"] != "") & (log["reason"] != contact.REASON_DO_NOT_CONTACT)]
    metrics: dict[str, float | int] = {}
    if result.has_feedback:
        headline = "nps" if result.scale.is_nps else "csat_mean"
        metrics[headline] = round(float(result.summary[headline]), 4)
        if not math.isnan(result.response["response_rate"]):
            metrics["response_rate"] = round(float(result.response["response_rate"]), 4)
        metrics["n_valuable_detractors"] = result.n_detractors_listed
    metrics["n_excluded_no_consent"] = int(no_consent["n"].sum())
    return metrics


# --------------------------------------------------------------------------- sentences


def _headline_value(scale: FeedbackScale, value: float) -> str:
    return f"{value:+.0f}" if scale.is_nps else f"{value:.2f}"


def _measure(scale: FeedbackScale) -> tuple[str, str]:
    """Column and name of the headline measure."""
    return ("nps", "NPS") if scale.is_nps else ("csat_mean", "mean score")


def _headline(result: VoiceResults) -> str:
    s, scale = result.summary, result.scale
    if scale.is_nps:
        return (f"**NPS {s['nps']:+.0f} points** (95% interval {s['nps_low']:+.0f} to {s['nps_high']:+.0f}) over the "
                f"latest answer of {plural(s['n_answers'], 'customer')}: {fmt_pct(s['share_promoter'])} promoters "
                f"(9–10), {fmt_pct(s['share_passive'])} passives (7–8), {fmt_pct(s['share_detractor'])} detractors "
                f"(0–6).")
    return (f"**Mean satisfaction {s['csat_mean']:.2f}** on the {scale.label} (95% interval {s['csat_low']:.2f} to "
            f"{s['csat_high']:.2f}) over the latest answer of {plural(s['n_answers'], 'customer')}; "
            f"**{fmt_pct(s['share_satisfied'])} satisfied** ({scale.satisfied_from}–{scale.high}).")


def _movement(result: VoiceResults) -> str | None:
    periods = result.periods[result.periods["n_answers"] >= MIN_ANSWERS]
    if len(periods) < 2:
        return None
    column, name = _measure(result.scale)
    last, before = periods.iloc[-1], periods.iloc[-2]
    label = _period_label(result.freq)
    change = last[column] - before[column]
    unit = " points" if result.scale.is_nps else ""
    low, high = _interval_columns(result.scale)
    overlap = last[low] <= before[high] and before[low] <= last[high]
    verdict = ", within the uncertainty of the two periods" if overlap else ""
    return (f"{name} moved from {_headline_value(result.scale, before[column])} in {label(before['period'])} to "
            f"{_headline_value(result.scale, last[column])} in {label(last['period'])} "
            f"({change:+.{0 if result.scale.is_nps else 2}f}{unit}{verdict}).")


def _interval_columns(scale: FeedbackScale) -> tuple[str, str]:
    return ("nps_low", "nps_high") if scale.is_nps else ("csat_low", "csat_high")


def _period_label(freq: str):
    if freq == "quarter":
        return lambda p: f"Q{pd.Timestamp(p).quarter} {pd.Timestamp(p).year}"
    if freq == "month":
        return lambda p: pd.Timestamp(p).strftime("%b %Y")
    return lambda p: str(pd.Timestamp(p).year)


def _lowest(result: VoiceResults) -> str | None:
    column, name = _measure(result.scale)
    candidates = []
    for dimension, table in result.groups.items():
        rows = table[(table["n_answers"] >= MIN_ANSWERS) & (table[dimension] != "(unknown)")]
        if len(rows) >= 2:
            worst = rows.loc[rows[column].idxmin()]
            candidates.append((worst[column], dimension, worst))
    if not candidates:
        return None
    value, dimension, row = min(candidates, key=lambda item: item[0])
    return (f"Satisfaction is lowest {_DIMENSION_PHRASES[dimension]} **{row[dimension]}** ({name} "
            f"{_headline_value(result.scale, value)}, {plural(int(row['n_answers']), 'customer')} answering), against "
            f"{_headline_value(result.scale, result.summary[column])} overall.")


def _group_count(count: int, group: str) -> str:
    """``"1 detractor"``, ``"12 detractors"``, ``"12 dissatisfied customers"``."""
    noun = _GROUP_NOUNS[group]
    return f"{fmt_int(count)} {noun[:-1] if count == 1 else noun}"


def _behaviour_sentence(result: VoiceResults) -> str:
    gap, days = result.gap, result.window_days
    if gap is None:
        return (f"Too few answers are {days}+ days old to compare what customers did after answering "
                f"(each group needs customers whose {days} days after the answer are in the data).")
    rows = result.behaviour.set_index("group")
    worst, best = rows.loc[gap.low_group], rows.loc[gap.high_group]
    text = (f"{fmt_pct(worst['churn_rate'])} of {_group_count(int(worst['customers']), gap.low_group)} bought nothing in the "
            f"{days} days after answering, against {fmt_pct(best['churn_rate'])} of "
            f"{_group_count(int(best['customers']), gap.high_group)} (difference {gap.difference * 100:+.0f} points, 95% "
            f"interval {gap.low * 100:+.0f} to {gap.high * 100:+.0f}).")
    if min(worst["customers"], best["customers"]) < MIN_ANSWERS:
        return f"**Too few customers in these groups to tell** (fewer than {MIN_ANSWERS} in one of them). {text}"
    if gap.clear and gap.difference > 0:
        return f"**Low scores are followed by churn on this data.** {text}"
    if gap.clear:
        return f"**High scores are followed by more churn on this data, not less.** {text}"
    return f"**No clear difference in churn after low and high scores on this data.** {text}"


def findings(result: VoiceResults, currency: str) -> list[str]:
    """The key findings: headline, response rate, movement, lowest group, behaviour, valuable detractors, consent."""
    if not result.has_feedback:
        return [without_feedback_text(result)]
    out = [_headline(result)]
    rate = result.response
    if rate["n_active"]:
        out.append(f"Response rate {fmt_pct(rate['response_rate'])}: {plural(rate['n_respondents'], 'customer')} "
                   f"answered among the {fmt_int(rate['n_active'])} who bought since {fmt_date(rate['window_start'])}"
                   + (f" ({plural(rate['n_respondents_not_active'], 'other respondent')} bought nothing in that time)."
                      if rate["n_respondents_not_active"] else "."))
    out += [text for text in (_movement(result), _lowest(result)) if text]
    out.append(_behaviour_sentence(result))
    listed, kept = result.n_detractors_listed, result.detractors
    if listed:
        revenue = float(kept["revenue"].sum()) if len(kept) else 0.0
        scale = result.scale
        low = "detractor score (0–6)" if scale.is_nps else f"dissatisfied score ({scale.low}–{scale.low + 1})"
        out.append(f"**{plural(listed, 'valuable customer')}** (top 10% by revenue) gave a {low} last; "
                   f"{fmt_int(len(kept))} may be contacted "
                   f"({fmt_money(revenue, currency)} of revenue), listed below and in "
                   f"`exports/valuable_detractors.csv`.")
    else:
        out.append("No customer of the top 10% by revenue gave a low score last.")
    return out


_WHAT_FEEDBACK_GIVES = ("the NPS or mean satisfaction with its uncertainty, per period and per segment, industry, "
                        "customer type and owner, the response rate, whether detractors buy less afterwards, and the "
                        "valuable customers whose last answer was a low score, as a call list.")


def without_feedback_text(result: VoiceResults) -> str:
    """What a feedback table would add, when there is none (or none of its answers could be used).

    Examples
    --------
    >>> empty = pd.DataFrame({"customer_id": [], "date": [], "score": []})
    >>> without_feedback_text(VoiceResults({"feedback": empty}))[:87]
    'No usable survey answer: the `feedback` table has none left after cleaning (answers out'
    """
    if result.tables.get("feedback") is not None:  # mapped, but every answer was set aside (or the file is empty)
        return ("No usable survey answer: the `feedback` table has none left after cleaning (answers outside the scale "
                "declared in the config, `feedback: {scale: ...}`, and answers dated after the as-of day are set aside "
                "in `exports/rejected_rows.csv` with their reason: check the scale). With answers, this page shows "
                + _WHAT_FEEDBACK_GIVES)
    return ("No survey answers in this portfolio (no `feedback` table). With one (`customer_id`, `date`, `score`, "
            "optionally `comment`, `channel`, `topic`) and its scale (`feedback: {scale: nps}` or `csat` in the config), "
            "this page shows " + _WHAT_FEEDBACK_GIVES)


# --------------------------------------------------------------------------- tables and charts


_HEADERS = {
    "n_answers": "customers answering", "mean_score": "mean score", "nps": "NPS", "nps_low": "NPS from (95%)",
    "nps_high": "NPS to (95%)", "csat_mean": "mean satisfaction", "csat_low": "mean from (95%)",
    "csat_high": "mean to (95%)", "satisfied_low": "satisfied from (95%)",
    "satisfied_high": "satisfied to (95%)", "group": "answer group", "customers": "customers followed",
    "churned": "bought nothing after", "churn_rate": "churn", "churn_low": "churn from (95%)",
    "churn_high": "churn to (95%)", "revenue_trend": "revenue after vs before",
    "orders_per_year_before": "orders per year before", "orders_per_year_after": "orders per year after",
    **{f"share_{g}": _GROUP_NOUNS[g] for g in (*satisfaction.NPS_GROUPS, *satisfaction.SCALE_GROUPS)},
}
_FORMATS = {
    "n_answers": fmt_int, "mean_score": "{:.2f}".format, "nps": "{:+.0f}".format, "nps_low": "{:+.0f}".format,
    "nps_high": "{:+.0f}".format, "csat_mean": "{:.2f}".format, "csat_low": "{:.2f}".format,
    "csat_high": "{:.2f}".format, **{f"share_{g}": fmt_pct for g in (*satisfaction.NPS_GROUPS,
                                                                     *satisfaction.SCALE_GROUPS)},
    "satisfied_low": fmt_pct, "satisfied_high": fmt_pct,
    "customers": fmt_int, "churned": fmt_int, "churn_rate": fmt_pct, "churn_low": fmt_pct, "churn_high": fmt_pct,
    "revenue_trend": lambda v: "n/a" if pd.isna(v) else f"{v:+.1%}", "orders_per_year_before": "{:.1f}".format,
    "orders_per_year_after": "{:.1f}".format,
}
#: Display formats of :func:`period_table` and :func:`group_tables` (by their headers).
MEASURE_FORMATS = {_HEADERS.get(column, column): fmt for column, fmt in _FORMATS.items()}
#: Display formats of :func:`behaviour_table`.
BEHAVIOUR_FORMATS = MEASURE_FORMATS


_INTERVAL_COLUMNS = ("nps_low", "nps_high", "csat_low", "csat_high", "satisfied_low", "satisfied_high")


def _readable(table: pd.DataFrame) -> pd.DataFrame:
    """Readable headers; no interval for a group of fewer than :data:`MIN_ANSWERS` answers (on so few,
    the normal approximation gives a misleading one, e.g. "+100 to +100" from two promoters)."""
    small = table["n_answers"] < MIN_ANSWERS if "n_answers" in table.columns else pd.Series(False, index=table.index)
    columns = [column for column in _INTERVAL_COLUMNS if column in table.columns]
    return table.assign(**{column: table[column].mask(small) for column in columns}).rename(columns=_HEADERS)


def period_table(result: VoiceResults) -> pd.DataFrame:
    """The measures per period, with a readable period label and headers."""
    table = result.periods.copy()
    table["period"] = table["period"].map(_period_label(result.freq))
    return _readable(table)


def group_tables(result: VoiceResults) -> dict[str, pd.DataFrame]:
    """Title -> measures per value of each dimension the data has (RFM segment, cluster, industry, ...)."""
    return {f"Satisfaction per {_DIMENSION_TITLES[d]}": _readable(table.rename(columns={d: _DIMENSION_TITLES[d]}))
            for d, table in result.groups.items()}


def trend_figure(result: VoiceResults):
    """The headline measure per period with its 95% interval."""
    column, name = _measure(result.scale)
    low, high = _interval_columns(result.scale)
    small = result.periods["n_answers"] < MIN_ANSWERS  # no band where the interval would mislead (see _readable)
    table = result.periods.assign(period=result.periods["period"].map(_period_label(result.freq)),
                                  **{low: result.periods[low].mask(small), high: result.periods[high].mask(small)})
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.fill_between(table["period"], table[low], table[high], color="#1f5f8b", alpha=0.15, label="95% interval")
    ax.plot(table["period"], table[column], marker="o", color="#1f5f8b", label=name)
    ax.set_ylabel(f"{name} (points)" if result.scale.is_nps else f"{name}, {result.scale.label}")
    ax.set_title(f"{name} per {result.freq}, one answer per customer and {result.freq}")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(frameon=False)
    plt.close(fig)
    return fig


def behaviour_figure(result: VoiceResults):
    """Share of each answer group that bought nothing in the window after answering, with 95% intervals."""
    table = result.behaviour[result.behaviour["customers"] > 0]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    rates = table["churn_rate"] * 100
    errors = [(rates - table["churn_low"] * 100).clip(lower=0), (table["churn_high"] * 100 - rates).clip(lower=0)]
    colors = dict(zip(satisfaction.group_order(result.scale), ("#27ae60", "#9aa5b1", "#c0392b"), strict=True))
    ax.bar(table["group"], rates, yerr=errors, capsize=6, color=table["group"].map(colors).tolist())
    for position, (rate, n) in enumerate(zip(rates, table["customers"], strict=True)):
        ax.annotate(f"{rate:.0f}% of {int(n)}", (position, rate), xytext=(8, 4), textcoords="offset points",
                    fontsize=9)
    ax.set_ylabel("bought nothing afterwards (%)")
    ax.set_title(f"Churn in the {result.window_days} days after the answer, per answer group")
    plt.close(fig)
    return fig


def behaviour_table(result: VoiceResults) -> pd.DataFrame:
    """Per answer group: customers, churn, revenue trend and order rhythm before and after the answer."""
    return _readable(result.behaviour.drop(columns=["revenue_before", "revenue_after"]))


def detractor_table(result: VoiceResults) -> pd.DataFrame:
    """The valuable detractors that may be contacted, largest revenue first (answer date as a day)."""
    return result.detractors.assign(date=result.detractors["date"].dt.strftime("%Y-%m-%d")).rename(
        columns={"date": "answered on", "score": "last score", "group": "answer group"})


def detractor_formats(currency: str) -> dict:
    """Display formats of :func:`detractor_table`."""
    return {"revenue": lambda v: fmt_money(v, currency, compact=False)}


def customer_export(result: VoiceResults) -> pd.DataFrame | None:
    """``last_score``, ``last_score_date`` and ``answer_group`` per customer for ``exports/customers.csv``."""
    if not result.has_feedback:
        return None
    latest = result.latest
    return pd.DataFrame({"customer_id": latest["customer_id"], "last_score": whole_scores(latest["score"]),
                         "last_score_date": latest["date"].dt.strftime("%Y-%m-%d"), "answer_group": latest["group"]})


def export_lists(result: VoiceResults, output_dir: str | os.PathLike) -> list[str]:
    """Write ``exports/valuable_detractors.csv`` and ``exports/satisfaction_by_group.csv``; their names."""
    written = []
    if result.detractors is not None:
        atomic_to_csv(result.detractors, Path(output_dir) / "exports" / "valuable_detractors.csv", index=False)
        written.append("exports/valuable_detractors.csv")
    if result.groups:
        frames = [table.rename(columns={d: "value"}).assign(dimension=d) for d, table in result.groups.items()]
        by_group = pd.concat(frames, ignore_index=True)
        by_group = by_group[["dimension", *[c for c in by_group.columns if c != "dimension"]]]
        atomic_to_csv(by_group, Path(output_dir) / "exports" / "satisfaction_by_group.csv", index=False)
        written.append("exports/satisfaction_by_group.csv")
    return written


def contact_text(result: VoiceResults, output_dir: str | os.PathLike) -> str:
    """How the contact rules shaped each call list of this run (one sentence per list), or that consent is not known."""
    consent_columns = ("do_not_contact", "consent_email", "consent_phone")
    known = {table: present_columns(table_with_values(result.tables, table), consent_columns)
             for table in ("customers", "leads")}
    if not any(known.values()):
        return ("**Consent is not known**: neither the customers table nor the leads table has a `consent_email`, "
                "`consent_phone` or `do_not_contact` column, so no call list was filtered. Map them under "
                "`tables: customers: columns:` (and `leads:`; yes/no, true/false, 1/0, oui/non) to leave out the "
                "people who did not agree to be contacted.")
    text = ("Contact rules: nobody who asked not to be contacted, and e-mail or phone only with consent (a consent "
            "left empty counts as no consent).")
    for table, columns in known.items():
        if columns:
            text += f" The {table} table gives {', '.join(f'`{c}`' for c in columns)}"
            unknown = [f"{channel} consent" for channel, c in (("e-mail", "consent_email"), ("phone", "consent_phone"))
                       if c not in columns]
            text += f"; not known there, so not filtered: {' and '.join(unknown)}." if unknown else "."
    lists = list(dict.fromkeys(read_contact_log(output_dir)["list"]))
    sentences = [exclusion_sentence(output_dir, name) for name in lists]
    return text + (" " + " ".join(sentences) if sentences else
                   " No call list went through them yet (notebook 05 has not run).")


def exclusions_table(output_dir: str | os.PathLike) -> pd.DataFrame:
    """Who was left out of each call list and why (from ``exports/contact_exclusions.csv``)."""
    log = read_contact_log(output_dir)
    log = log[log["reason"] != ""].copy()
    log["list"] = log["list"].map(lambda name: _LIST_TITLES.get(name, name))
    return log[["list", "reason", "n"]].rename(columns={"n": "people left out"})
