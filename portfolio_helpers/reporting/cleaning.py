"""Data loading and quality overview (notebook ``01_data_cleaning``).

Pure functions over a loaded :class:`~portfolio_helpers.ingest.loaders.Portfolio`:
what was loaded, what was set aside and why, how well the optional tables
cover the customers, and the plain-language findings built from those figures.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from portfolio_helpers.analysis import engine
from portfolio_helpers.analysis.engine import revenue_by_attribute
from portfolio_helpers.cleaning.quality import ENGINE_ISSUE_SAMPLE, dimension_scores, quality_score
from portfolio_helpers.core.config import load_config
from portfolio_helpers.core.presence import has_values, present_columns
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.core.vocabulary import CANCELLED, UNKNOWN
from portfolio_helpers.ingest.loaders import ROWS_COUNTED, VALUE_CLEARED, Portfolio, count_rejected_rows
from portfolio_helpers.reporting.absence import Need, absence_notes
from portfolio_helpers.reporting.narrative import bullets, fmt_date, fmt_int, fmt_money, fmt_pct, plural

__all__ = [
    "load_overview",
    "tables_overview",
    "rejected_summary",
    "coverage",
    "loading_findings",
    "attribute_finding",
    "duplicate_findings",
    "truth_file",
    "problem_counts",
    "load_warnings",
    "quality_findings",
    "standardization_findings",
    "empty_columns_note",
    "line_attributes_note",
    "typed_lines_note",
    "quality_scope_note",
    "NEEDS",
    "headline_metrics",
    "missing_input_notes",
    "attribute_breakdowns",
    "attribute_findings",
    "attribute_title",
    "monthly_sentence",
]

# What each optional table makes possible, shown beside its coverage.
TABLE_PURPOSE = {
    "customers": "segmentation by customer traits, duplicate detection, lifecycle stages",
    "payments": "late-payment cost in customer profitability",
    "tickets": "after-sales service cost in customer profitability",
    "leads": "lead scoring, conversion model, look-alike prospects",
}


def _cents(total) -> float:
    """A money total as recorded in ``run.json`` and shown: to the cent, without float noise."""
    return round(float(total), 2)


def load_overview(portfolio: Portfolio) -> dict:
    """Headline figures of the loaded transactions
    (:func:`portfolio_helpers.analysis.engine.transactions_overview`), money totals to the cent as
    ``run.json`` records them, with the as-of date and the rows set aside while loading.
    """
    overview = engine.transactions_overview(portfolio.transactions)
    for name in ("revenue_total", "credit_notes_total", "cancelled_total", "unknown_customer_revenue"):
        if name in overview:
            overview[name] = _cents(overview[name])
    overview.update(as_of=portfolio.as_of, n_rejected_rows=portfolio.n_rejected_rows,
                    n_cleared_values=_cleared_values(portfolio))
    return overview


def _cleared_values(portfolio) -> int:
    """Optional values left empty because unreadable, rows kept: the listed ones, except for a table validated
    by the engine, which lists only a sample of its problems and counted them all (``detected``)."""
    counted = {name: int(info["n_cleared_values"]) for name, info in portfolio.detected.items()
               if isinstance(info, dict) and "n_cleared_values" in info}
    rejected = portfolio.rejected
    listed = rejected[(rejected["action"] == VALUE_CLEARED) & ~rejected["table"].isin(list(counted))]
    return len(listed) + sum(counted.values())


_FORMATS = {"parquet": "Parquet"}


def _format_note(detected: dict) -> str:
    if "engine" in detected:  # typed, validated where it lives
        files = detected.get("files", 1)
        return (f"typed {_FORMATS.get(detected.get('format'), detected.get('format'))}"
                + (f" ({files} files)" if files > 1 else "")
                + f", validated by the engine ({detected['engine']})")
    if detected.get("format") != "csv":
        return detected.get("format", "")
    parts = [f"CSV, {detected.get('encoding')}", f"separator '{detected.get('sep')}'"]
    decimals = {info.get("decimal") for info in detected.values() if isinstance(info, dict) and "decimal" in info}
    decimals.discard("native")
    if decimals:
        parts.append("decimal " + "/".join(f"'{d}'" for d in sorted(decimals)))
    date_orders = {info.get("dayfirst") for info in detected.values() if isinstance(info, dict) and "dayfirst" in info}
    if date_orders:
        parts.append("dates day-first" if date_orders == {True} else "dates month-first")
    return ", ".join(parts)


def tables_overview(portfolio: Portfolio) -> pd.DataFrame:
    """One row per loaded table: file, how it was read, rows read/kept/rejected, mapped columns.

    An engine table (typed transactions) has its rows counted by the engine.
    """
    rejected = portfolio.rejected
    rows = []
    for item in portfolio.inputs:
        table = item["table"]
        detected = portfolio.detected.get(table, {})
        n_rejected = count_rejected_rows(rejected[rejected["table"] == table])
        rows.append({
            "table": table,
            "file": Path(item["path"]).name,
            "read as": _format_note(detected),
            "rows in file": item["rows"],
            "rows after cleaning": engine.n_rows(portfolio.tables[table]),
            "rows set aside": int(n_rejected),
            "columns used": ", ".join(sorted(detected.get("columns", {})) + [
                f"{column} (= {info['derived']})" for column, info in detected.items()
                if isinstance(info, dict) and "derived" in info]),
        })
    return pd.DataFrame(rows)


def rejected_summary(rejected: pd.DataFrame, examples: int = 3) -> pd.DataFrame:
    """Problems grouped by table, column and reason, with counts, example values and lines.

    A table validated by the engine lists only a sample of its problems and states how many rows it
    rejected in all (action :data:`~portfolio_helpers.ingest.loaders.ROWS_COUNTED`): that statement is a row
    of its own, its ``rows`` the count in all, its reason saying how many problems are listed.

    Examples
    --------
    >>> log = pd.DataFrame({"table": ["transactions"] * 2, "column": ["amount", ""], "reason": [
    ...     "not a valid number", "25000 row(s) of 90000 rejected in all, with 25000 problem(s); the first 1 are listed"],
    ...     "action": ["row rejected", "rows rejected in all"], "line": pd.array([4, None], dtype="Int64"),
    ...     "value": ["abc", "25000"]})
    >>> rejected_summary(log)[["column", "rows", "examples", "lines"]].values.tolist()
    [['(all)', 25000, '', ''], ['amount', 1, "'abc'", '4']]
    """
    columns = ["table", "column", "problem", "what happened", "rows", "examples", "lines"]
    if rejected.empty:
        return pd.DataFrame(columns=columns)
    is_count = rejected["action"] == ROWS_COUNTED
    counted = pd.DataFrame({"table": rejected.loc[is_count, "table"], "column": "(all)",
                            "problem": rejected.loc[is_count, "reason"], "what happened": ROWS_COUNTED,
                            "rows": rejected.loc[is_count, "value"].astype("int64"), "examples": "", "lines": ""},
                           columns=columns)
    rejected = rejected[~is_count]
    if rejected.empty:
        return counted.reset_index(drop=True)
    grouped = rejected.groupby(["table", "column", "reason", "action"], sort=False)
    summary = grouped.agg(
        rows=("line", "size"),
        examples=("value", lambda s: ", ".join(repr(v) for v in s.dropna().astype(str).unique()[:examples])),
        lines=("line", lambda s: ", ".join(map(str, sorted(s)[:examples])) + (", ..." if len(s) > examples else "")),
    ).reset_index()
    summary = summary.rename(columns={"reason": "problem", "action": "what happened"})
    summary = pd.concat([counted, summary[columns]], ignore_index=True) if len(counted) else summary
    return summary.sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)


def coverage(portfolio: Portfolio) -> pd.DataFrame:
    """For each optional table: is it there, how many rows, which share of buying customers it covers.

    Any table may be an engine table: the engine counts its rows and lists its distinct customer ids
    (one row per customer comes back).
    """
    buyers = _customer_ids(portfolio.transactions)
    rows = []
    for table, purpose in TABLE_PURPOSE.items():
        frame = portfolio.tables.get(table)
        if frame is None:
            rows.append({"table": table, "provided": "no", "rows": 0, "buying customers covered": None,
                         "used for": purpose})
            continue
        ids = _customer_ids(frame) if "customer_id" in frame.columns else []
        covered = pd.Index(buyers).isin(ids).mean() if len(buyers) else float("nan")
        rows.append({"table": table, "provided": "yes", "rows": engine.n_rows(frame),
                     "buying customers covered": covered, "used for": purpose})
    return pd.DataFrame(rows)


def _customer_ids(frame) -> pd.Series:
    """The distinct customer ids of a frame or an engine table (listed by the engine), missing ids left out."""
    t = engine.table(frame, ["customer_id"])
    return engine.execute(t.filter(t.customer_id.notnull()).distinct())["customer_id"]


# Columns the duplicate search compares records on (one of them is needed).
_IDENTIFYING = ("name", "email", "phone", "address")
# What notebook 01 does with each optional column; what it says when the column is missing.
NEEDS = (
    Need("customers", ("email",), "e-mail checks"),
    Need("customers", ("phone",), "phone checks"),
    Need("customers", _IDENTIFYING, "the search for customers entered twice"),
    Need("customers", ("customer_type", "country", "industry"),
         "revenue by customer type, country and industry"),
)
# Customer attributes broken down in notebook 01, with their label in sentences and charts.
ATTRIBUTES = {"customer_type": "customer type", "country_code": "country", "industry": "industry"}
_HEADLINE = ("n_transactions", "n_customer_ids", "revenue_total", "cancelled_total", "period_start", "period_end",
             "n_rejected_rows", "n_orders")


def headline_metrics(cleaned, overview: dict, quality_score: float) -> dict:
    """The metrics notebook 01 records, each only when the data can give it.

    ``n_invalid_emails`` and ``n_invalid_phones`` need the column with at least one value;
    ``n_customers`` needs the customers table.

    Parameters
    ----------
    cleaned : CleanPortfolio
        The cleaned portfolio (:func:`~portfolio_helpers.cleaning.pipeline.clean_portfolio`).
    overview : dict
        :func:`load_overview` of it.
    quality_score : float
        The score of :func:`~portfolio_helpers.cleaning.quality.quality_score`.

    Returns
    -------
    dict
        Metric name -> value, in the order they are recorded.
    """
    metrics = {name: overview[name] for name in _HEADLINE}
    metrics["quality_score"] = round(float(quality_score), 2)
    duplicates = cleaned.duplicates
    groups = duplicates.groups if duplicates is not None else None
    metrics["n_duplicate_groups"] = int(groups["group_id"].nunique()) if groups is not None and len(groups) else 0
    metrics["n_records_merged"] = int(duplicates.n_merged) if duplicates is not None else 0
    customers = cleaned.tables.get("customers")
    if customers is not None:
        for column, name in (("email", "n_invalid_emails"), ("phone", "n_invalid_phones")):
            if has_values(customers, column) and f"{column}_valid" in customers.columns:
                metrics[name] = int((customers[column].notna() & ~customers[f"{column}_valid"]).sum())
        metrics["n_customers"] = len(customers)
    return metrics


def missing_input_notes(tables) -> list[str]:
    """What notebook 01 could not check, and the column that would enable it (see :data:`NEEDS`).

    A missing customers table is already stated by :func:`loading_findings`. Typed transaction lines (an engine
    table) add what their quality checks could not look at (:func:`quality_scope_note`).
    """
    scope = quality_scope_note(tables)
    return absence_notes(tables, NEEDS, skip_missing_tables=True) + ([scope] if scope else [])


def attribute_breakdowns(transactions: pd.DataFrame, customers: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Revenue per value of each customer attribute the customers table fills (see :data:`ATTRIBUTES`).

    Returns
    -------
    dict
        Attribute -> :func:`~portfolio_helpers.analysis.engine.revenue_by_attribute`; empty
        without a customers table or without any of the attributes.
    """
    return {attribute: revenue_by_attribute(transactions, customers, attribute)
            for attribute in present_columns(customers, ATTRIBUTES)}


def attribute_findings(breakdowns: dict[str, pd.DataFrame]) -> list[str]:
    """One sentence per breakdown of :func:`attribute_breakdowns`, or why there is none."""
    if not breakdowns:
        return ["The customers table is not provided or has no customer type, country or industry: "
                "this breakdown is not available."]
    return [attribute_finding(by_value, attribute, ATTRIBUTES[attribute]) for attribute, by_value in breakdowns.items()]


def monthly_sentence(monthly: pd.DataFrame, currency: str) -> str:
    """Average, best and weakest month of :func:`~portfolio_helpers.analysis.engine.revenue_by_period`.

    Examples
    --------
    >>> monthly = pd.DataFrame({"period": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                         "revenue": [100.0, 300.0], "n_customers": [1, 3]})
    >>> monthly_sentence(monthly, "EUR")
    'Average month: €200 from 2 buying customers. Best month: February 2025 (€300); weakest: January 2025 (€100).'
    >>> monthly_sentence(monthly.head(1), "EUR")
    'All the revenue falls in one month, January 2025 (€100 from 1 buying customer): no trend to show.'
    >>> monthly_sentence(monthly.head(0), "EUR")
    'No revenue line to chart (every line is cancelled).'
    """
    if monthly.empty:
        return "No revenue line to chart (every line is cancelled)."
    if len(monthly) == 1:
        only = monthly.iloc[0]
        return (f"All the revenue falls in one month, {only['period']:%B %Y} ({fmt_money(only['revenue'], currency)} "
                f"from {plural(int(only['n_customers']), 'buying customer')}): no trend to show.")
    best = monthly.loc[monthly["revenue"].idxmax()]
    worst = monthly.loc[monthly["revenue"].idxmin()]
    return (f"Average month: {fmt_money(monthly['revenue'].mean(), currency)} from "
            f"{fmt_int(monthly['n_customers'].mean())} buying customers. Best month: {best['period']:%B %Y} "
            f"({fmt_money(best['revenue'], currency)}); weakest: {worst['period']:%B %Y} "
            f"({fmt_money(worst['revenue'], currency)}).")


def attribute_title(attribute: str) -> str:
    """Chart title of a breakdown of :func:`attribute_breakdowns`."""
    return f"Net revenue by {ATTRIBUTES[attribute]}"


def loading_findings(overview: dict, tables: pd.DataFrame, coverage_table: pd.DataFrame,
                     portfolio_name: str, currency: str) -> list[str]:
    """Plain-language sentences, every figure taken from the data."""
    findings = [
        f"**{portfolio_name}** holds {plural(overview['n_transactions'], 'transaction line')} "
        f"from {plural(overview['n_customer_ids'], 'customer')} in {plural(overview['n_orders'], 'order')}, "
        f"dated {fmt_date(overview['period_start'])} to {fmt_date(overview['period_end'])} "
        f"(analysis date {fmt_date(overview['as_of'])}).",
        f"Net revenue is **{fmt_money(overview['revenue_total'], currency)}**"
        + (f", after {fmt_money(-overview['credit_notes_total'], currency)} of credit notes and returns "
           f"({plural(overview['n_credit_note_lines'], 'negative line')})."
           if overview["n_credit_note_lines"] else ", with no credit note or return."),
    ]
    if overview.get("n_cancelled_lines"):
        findings.append(
            f"{plural(overview['n_cancelled_lines'], 'line')} ({fmt_money(overview['cancelled_total'], currency)}) "
            f"{'is' if overview['n_cancelled_lines'] == 1 else 'are'} marked {CANCELLED}: not revenue, here and in "
            f"every analysis that follows."
        )
    n_rejected = overview["n_rejected_rows"]
    if n_rejected:
        per_table = [
            f"{row['table']}: {fmt_int(row['rows set aside'])} of {fmt_int(row['rows in file'])} rows, "
            f"{fmt_pct(row['rows set aside'] / row['rows in file'], 2)}"
            for _, row in tables.iterrows() if row["rows set aside"]
        ]
        findings.append(
            f"{plural(n_rejected, 'row')} could not be used and "
            f"{'was' if n_rejected == 1 else 'were'} set aside ({'; '.join(per_table)}), each with its reason in "
            f"`exports/rejected_rows.csv`; nothing else was dropped."
        )
    else:
        findings.append("Every row of every file could be read; no row was set aside.")
    n_cleared = overview.get("n_cleared_values", 0)
    if n_cleared:
        findings.append(
            f"{plural(n_cleared, 'optional value')} could not be read and "
            + ("was left empty; its row was kept." if n_cleared == 1 else "were left empty; their rows were kept.")
        )
    if overview.get("n_unknown_customer_lines"):
        share = overview["unknown_customer_revenue"] / overview["revenue_total"] if overview["revenue_total"] else 0
        findings.append(
            f"{plural(overview['n_unknown_customer_lines'], 'transaction line')} "
            f"({fmt_money(overview['unknown_customer_revenue'], currency)}, {fmt_pct(share)} of revenue) "
            f"belong to {plural(overview['n_unknown_customer_ids'], 'customer id')} missing from the customers "
            f"table; they are kept as revenue and flagged."
        )
    missing_tables = coverage_table.loc[coverage_table["provided"] == "no", "table"].tolist()
    if missing_tables:
        findings.append(
            "Not provided: " + ", ".join(missing_tables) + ". The analyses that need them say so; "
            "the related figures are left out rather than guessed."
        )
    return findings


def attribute_finding(by_value: pd.DataFrame, attribute: str, label: str) -> str:
    """One sentence on the largest known value of a customer attribute, and how much revenue has none.

    ``by_value`` is the output of :func:`portfolio_helpers.analysis.engine.revenue_by_attribute`.
    """
    known = by_value[by_value[attribute] != UNKNOWN]
    unknown_share = float(by_value.loc[by_value[attribute] == UNKNOWN, "revenue_share"].sum())
    if known.empty:
        return f"No {label} is recorded for the buying customers."
    top = known.iloc[0]
    sentence = (f"Largest {label}: **{top[attribute]}**, {fmt_pct(top['revenue_share'])} of revenue "
                f"from {plural(int(top['n_customers']), 'customer')}")
    if unknown_share > 0.0005:
        sentence += f" ({fmt_pct(unknown_share)} of revenue comes from customers with no {label} recorded)"
    return sentence + "."


def duplicate_findings(result, n_records: int, customers: pd.DataFrame | None = None) -> list[str]:
    """Sentences on the duplicate customers found (``result`` is a :class:`~portfolio_helpers.cleaning.dedup.DuplicateResult`).

    With ``customers`` (the cleaned customers table) and none of its name, e-mail, phone or
    address filled, nothing is said here: :func:`missing_input_notes` says the search was skipped.
    """
    if result is None:
        return ["No customers table: duplicate customers cannot be looked for."]
    if customers is not None and not present_columns(customers, _IDENTIFYING):
        return []
    groups = result.groups
    n_groups = int(groups["group_id"].nunique()) if len(groups) else 0
    if not n_groups:
        lines = [f"No duplicate customer among {plural(n_records, 'record')}."]
    else:
        lines = [
            f"**{plural(n_groups, 'customer')} {'was' if n_groups == 1 else 'were'} entered more than once**: "
            f"{plural(result.n_merged, 'record')} merged into their survivor (the most complete, then most "
            f"recent record). Their orders, payments, tickets and leads now count under one customer; "
            f"`exports/id_mapping.csv` keeps every original id, so the merge can be undone."
        ]
    if len(result.review):
        lines.append(f"{plural(len(result.review), 'pair')} look alike but not enough to merge automatically: "
                     f"listed for a human decision in `exports/duplicates_review.csv`.")
    return lines


def _share(share: float) -> str:
    """A share as a percentage with enough digits that a few records out of many do not read "0.0%"."""
    if 0 < share < 0.0001:
        return "<0.01%"
    return fmt_pct(share, 2 if share < 0.01 else 1)


def quality_findings(scorecard: pd.DataFrame, top_n: int = 5) -> list[str]:
    """Plain-language sentences on the scorecard, every figure from it.

    The overall score, the ``top`` validity/uniqueness/consistency problems with the most
    records, the least complete fields and any table that is not fresh.

    Examples
    --------
    >>> import pandas as pd
    >>> card = pd.DataFrame([
    ...     {"table": "customers", "column": "email", "dimension": "validity", "check": "", "checked": 1998,
    ...      "failed": 62, "score": 1 - 62 / 1998, "detail": ""}])
    >>> quality_findings(card)[1]
    '3.1% of e-mail addresses are invalid (62 of 1,998).'
    """
    score, _ = quality_score(scorecard)
    scores = dimension_scores(scorecard)
    findings = [f"Overall data quality score: **{score:.1f} / 100** ("
                + ", ".join(f"{d} {s:.1f}" for d, s in scores.items()) + ")."]
    what = {}
    for check in _CHECK_WORDS:
        what[(check[0], check[1], check[2])] = (check[3], check[4])
    problems = scorecard[(scorecard["failed"] > 0) & (scorecard["dimension"].isin(["validity", "uniqueness",
                                                                                     "consistency"]))]
    problems = problems.assign(share=problems["failed"] / problems["checked"]).sort_values(
        "failed", ascending=False, kind="stable").head(top_n)
    for row in problems.itertuples():
        subject, claim = what.get((row.table, row.column, row.dimension),
                                  (f"{row.table}.{row.column} values", f"fail the check '{row.check}'"))
        findings.append(f"{_share(row.share)} of {subject} {claim} "
                        f"({fmt_int(row.failed)} of {fmt_int(row.checked)}).")
    completeness = scorecard[(scorecard["dimension"] == "completeness") & (scorecard["score"] < 1)]
    if not completeness.empty:
        worst = completeness.sort_values("score", kind="stable").head(3)
        findings.append("Least complete fields: " + ", ".join(
            f"{r.table}.{r.column} ({_share(r.score)} filled)" for r in worst.itertuples()) + ".")
    elif (scorecard["dimension"] == "completeness").any():
        findings.append("Every scored field is filled in every record where it applies.")
    stale = scorecard[(scorecard["dimension"] == "freshness") & (scorecard["score"] < 1)]
    for row in stale.itertuples():
        findings.append(f"The {row.table} table looks out of date: {row.detail}.")
    return findings


# (table, column, dimension, subject, claim) of the findings sentences; anything else is worded generically.
_CHECK_WORDS = (
    ("customers", "email", "validity", "e-mail addresses", "are invalid"),
    ("customers", "phone", "validity", "phone numbers", "are not valid numbers for their country"),
    ("customers", "postal_code", "validity", "postal codes", "do not match their country's format"),
    ("customers", "country", "validity", "countries", "are not recognised"),
    ("customers", "birth_year", "validity", "birth years", "are implausible"),
    ("customers", "customer_id", "uniqueness", "customer records", "reuse a customer_id already taken"),
    ("transactions", "amount", "validity", "transaction amounts",
     "are zero or negative without a matching purchase"),
    ("transactions", "date", "validity", "transaction dates", "fall outside the analysis period"),
    ("transactions", "cost", "validity", "line costs", "have the opposite sign of their amount"),
    ("transactions", "*", "uniqueness", "transaction lines", "are exact duplicates of an earlier line"),
    ("payments", "*", "uniqueness", "payment rows", "are exact duplicates of an earlier row"),
    ("tickets", "*", "uniqueness", "ticket rows", "are exact duplicates of an earlier row"),
    ("transactions", "customer_id", "consistency", "transaction lines",
     "belong to a customer missing from the customers table"),
    ("payments", "customer_id", "consistency", "payment rows",
     "name a customer missing from the customers table or other than their order's"),
    ("payments", "order_id", "consistency", "payment rows", "refer to an order missing from the transactions"),
    ("tickets", "customer_id", "consistency", "tickets", "belong to a customer missing from the customers table"),
    ("leads", "customer_id", "consistency", "lead events", "name a customer missing from the customers table"),
)


def standardization_findings(changes: pd.DataFrame, tables: dict[str, pd.DataFrame],
                             currency: str = "EUR") -> list[str]:
    """Plain-language sentences on what standardization fixed and flagged, figures from the change log.

    ``tables`` are the standardized tables (for totals such as the amount of sign errors). Typed transaction
    lines (an engine table) are not standardised: the last sentence says so (:func:`typed_lines_note`).

    Examples
    --------
    >>> import pandas as pd
    >>> from portfolio_helpers.cleaning.standardize import standardize_portfolio
    >>> raw = {"customers": pd.DataFrame({"customer_id": ["C1", "C2"], "email": ["a@gmial.com", "b@free.fr"]})}
    >>> clean, changes = standardize_portfolio(raw)
    >>> standardization_findings(changes, clean)
    ['1 of 2 e-mail addresses (50.0%) cannot be used as they are: 1 on a misspelt domain (e.g. gmial.com → gmail.com). They are kept and listed in the quality issues.']
    """
    findings = []
    counts = changes.groupby("rule")["row_key"].nunique() if not changes.empty else pd.Series(dtype=int)

    def n(rule: str) -> int:
        return int(counts.get(rule, 0))

    customers = tables.get("customers")
    names = changes[(changes["table"] == "customers") & (changes["column"] == "name")] if not changes.empty\
        else changes
    if not names.empty:
        recased = names.loc[names["rule"] == "name_case", "row_key"].nunique()
        spaced = names.loc[names["rule"] == "text_whitespace", "row_key"].nunique()
        findings.append(f"{plural(names['row_key'].nunique(), 'customer name')} tidied "
                        f"({fmt_int(recased)} re-cased from ALL CAPS or all lower case, {fmt_int(spaced)} with "
                        f"stray spaces); the originals are kept in `name_original`.")
    if customers is not None and "email_issue" in customers:
        present = customers["email_issue"].ne("missing")
        bad = present & ~customers["email_valid"]
        if bad.any():
            issue = customers.loc[bad, "email_issue"].astype("string")
            typo = issue.str.startswith("typo")
            parts = [f"{fmt_int((issue == 'syntax').sum())} malformed" if (issue == "syntax").any() else "",
                     plural(int((issue == "placeholder").sum()), "placeholder") if (issue == "placeholder").any() else "",
                     f"{fmt_int(typo.sum())} on a misspelt domain" if typo.any() else ""]
            example = ""
            if typo.any():
                first = customers.loc[bad & customers["email_issue"].astype("string").str.startswith("typo", na=False)].iloc[0]
                example = f" (e.g. {first['email'].split('@')[-1]} → {first['email_suggestion'].split('@')[-1]})"
            findings.append(f"{fmt_int(bad.sum())} of {plural(int(present.sum()), 'e-mail address', 'e-mail addresses')} "
                            f"({fmt_pct(bad.sum() / present.sum())}) cannot be used as they are: "
                            + ", ".join(p for p in parts if p) + example
                            + ". They are kept and listed in the quality issues.")
    if customers is not None and "phone_valid" in customers:
        present = customers["phone_issue"].ne("missing")
        if present.any():
            findings.append(f"{fmt_int(n('phone_e164'))} phone numbers rewritten in international form (E.164); "
                            f"{fmt_int((present & ~customers['phone_valid']).sum())} of {fmt_int(present.sum())} "
                            f"({_share((present & ~customers['phone_valid']).sum() / present.sum())}) are not valid "
                            f"numbers for their country and were kept as typed.")
    if customers is not None and "country_code" in customers:
        unknown = customers["country"].notna() & customers["country_code"].isna()
        findings.append(f"{customers['country'].nunique()} country spellings coded as "
                        f"{customers['country_code'].nunique()} ISO countries ({fmt_int(n('country_variant'))} "
                        f"records written another way than the English name)"
                        + (f"; {plural(int(unknown.sum()), 'record')} with an unrecognised country." if unknown.any()
                           else "; every country was recognised."))
    if n("postal_leading_zero") or n("postal_invalid"):
        findings.append(f"Postal codes: {fmt_int(n('postal_leading_zero'))} lost leading zeros restored, "
                        f"{fmt_int(n('postal_invalid'))} not matching their country's format.")
    tx = tables.get("transactions")
    if tx is not None and not is_engine_table(tx) and "negative_kind" in tx.columns:
        errors = tx["negative_kind"].eq("negative_error").fillna(False)
        credits = tx["negative_kind"].eq("credit_note").fillna(False)
        if errors.any() or credits.any():
            findings.append(
                f"{plural(int(credits.sum()), 'negative line')} ({fmt_money(-tx.loc[credits, 'amount'].sum(), currency)}) "
                f"match an earlier purchase and are credit notes; "
                f"{plural(int(errors.sum()), 'negative line')} ({fmt_money(-tx.loc[errors, 'amount'].sum(), currency)}) "
                f"match none and look like sign errors.")
        if tx["is_exact_duplicate"].any():
            findings.append(f"{plural(int(tx['is_exact_duplicate'].sum()), 'transaction line')} "
                            f"({fmt_money(tx.loc[tx['is_exact_duplicate'], 'amount'].sum(), currency)}) "
                            f"repeat an earlier line on every column: flagged as exact duplicates, first one kept.")
        if tx["is_zero_amount"].any():
            findings.append(f"{plural(int(tx['is_zero_amount'].sum()), 'transaction line')} with a zero amount.")
        if tx["is_future_date"].any():
            latest = tx.loc[tx["is_future_date"], "date"].max()
            findings.append(f"{plural(int(tx['is_future_date'].sum()), 'transaction line')} dated after the run "
                            f"date (latest {fmt_date(latest)}).")
    if typed_lines_note(tables):
        findings.append(typed_lines_note(tables))
    return findings


def typed_lines_note(tables) -> str:
    """Why the cleaning log says nothing of the transaction lines when they are typed (an engine table), or ``""``.

    Typed lines were validated by the engine when loaded; the text standardisation, which reads every line in
    pandas, is not run on them (:func:`~portfolio_helpers.cleaning.pipeline.clean_portfolio`), so none of its
    figures exists for them.

    Examples
    --------
    >>> import ibis
    >>> typed_lines_note({"transactions": pd.DataFrame({"amount": [1.0]})})
    ''
    >>> typed_lines_note({"transactions": ibis.memtable({"amount": [1.0]})})[:50]
    'The transaction lines are typed (read by the engin'
    """
    if not is_engine_table(tables.get("transactions")):
        return ""
    return ("The transaction lines are typed (read by the engine, never loaded here) and were not standardised: "
            "none of their values was changed and no negative line was matched to an earlier purchase (credit note or "
            "sign error); lines repeating another line, zero amounts and the other line-level problems are counted "
            "by the engine in the quality score below. When loaded, "
            "their unreadable values were set aside or left empty and lines dated after the analysis date were set "
            "aside, as shown above.")


def quality_scope_note(tables) -> str:
    """What the quality score leaves out when the transaction lines are typed (an engine table), or ``""``.

    Their checks are counted by the engine, every rule of lines held in pandas but one: the search for
    sign errors (a negative line matched to no purchase of its customer), which needs each customer's
    lines side by side; at most a sample of their failing lines is listed in the issues, and their
    exact duplicates are counted, not listed.

    Examples
    --------
    >>> import ibis
    >>> tables = {"transactions": ibis.memtable({"amount": [1.0]}), "customers": pd.DataFrame({"customer_id": ["a"]})}
    >>> quality_scope_note(tables)[:87]
    'The transaction lines are typed (read by the engine): their quality checks were counted'
    """
    if not is_engine_table(tables.get("transactions")):
        return ""
    return ("The transaction lines are typed (read by the engine): their quality checks were counted by the "
            "engine, all but one: negative lines are not matched to their customer's purchases, so sign errors "
            f"are not looked for. At most {ENGINE_ISSUE_SAMPLE:,} failing lines per check are listed in the "
            "quality issues, and repeated lines are counted but not listed; the score counts them all.")


def problem_counts(issues: pd.DataFrame, top_n: int = 12) -> pd.Series:
    """Records per table and problem, for a chart; line numbers are dropped so problems group together."""
    problem = issues["problem"].astype(str).str.replace(r"\bline \d+", "an earlier line", regex=True)
    return (issues["table"].astype(str) + ": " + problem).value_counts().head(top_n)


def truth_file(config_path) -> Path | None:
    """The answer key of a generated sample: the file the config names in ``answer_key:``, or None.

    No file is ever picked up by its name: a ``truth.json`` beside a config that does not name it
    is ignored. The config check already made sure the named file parses (else ``ConfigError``).
    """
    return load_config(config_path).answer_key


def _loaded(portfolio) -> Portfolio:
    """The loaded :class:`Portfolio` behind a portfolio or a cleaned one (``CleanPortfolio.portfolio``)."""
    return getattr(portfolio, "portfolio", portfolio)


def load_warnings(portfolio) -> str:
    """Markdown warning on config problems that did not stop the load (a file column mapped twice), or ``""``."""
    warnings = _loaded(portfolio).warnings
    if not warnings:
        return ""
    return "**Check the config:**\n\n" + bullets(warnings)


def empty_columns_note(portfolio) -> str:
    """One sentence per optional column dropped because entirely empty, or ``""``.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> empty = pd.DataFrame({"table": ["customers"], "column": ["email"], "source_column": ["E-mail"]})
    >>> print(empty_columns_note(SimpleNamespace(empty_columns=empty)))
    - Column `email` of the customers table (`E-mail` in the file) is empty: treated as absent.
    """
    empty = _loaded(portfolio).empty_columns
    return bullets(
        f"Column `{row.column}` of the {row.table} table"
        + (f" (`{row.source_column}` in the file)" if row.source_column != row.column else "")
        + " is empty: treated as absent."
        for row in empty.itertuples()
    )


def line_attributes_note(portfolio) -> str:
    """Which customer attributes came from the transaction lines, and for how many customers; or ``""``."""
    loaded = _loaded(portfolio)
    summary = loaded.line_attributes
    if summary.empty:
        return ""
    made = "customers" not in loaded.config.tables
    parts = [
        f"`{row.attribute}` (column `{row.source_column}`): "
        f"{plural(row.customers_filled_from_lines, 'customer')} from their lines"
        + (f", {fmt_int(row.customers_kept_from_table)} kept the value of the customers table"
           if row.customers_kept_from_table else "")
        for row in summary.itertuples()
    ]
    head = ("Customer attributes taken from the transaction lines (each customer's most frequent value over "
            "their lines; on a tie, the value of the latest line)")
    if made:
        n_customers = len(loaded.tables["customers"])
        head += f"; no customers table was given, so one was made from the {plural(n_customers, 'customer id')} of the lines"
    else:
        head += ", used where the customers table gives none"
    return head + ":\n\n" + bullets(parts)


def fmt_int_columns(frame: pd.DataFrame, columns) -> dict:
    """Formatter mapping for :func:`~portfolio_helpers.reporting.narrative.show_table`."""
    return {col: fmt_int for col in columns if col in frame.columns}
