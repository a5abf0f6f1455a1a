"""Data quality scorecard, per-record issues and before/after view of standardization.

Five dimensions, each measured by *checks* (one per table and column):

``completeness``
    Share of records where a field is filled (only where it applies: ``industry`` for B2B
    customers, ``birth_year`` for B2C, ``acquisition_date`` for customers at stage ``customer``;
    ``payments.paid_date`` and ``leads.customer_id`` are empty by design and not scored).
``validity``
    Share of filled values that are well-formed and plausible (valid e-mail, phone, country,
    postal code; amounts non-zero and not a sign error; dates not after ``as_of``; counts and
    money not negative; birth year within 110 years and 15 years before ``as_of``).
``uniqueness``
    ``customer_id`` unique in customers; no exact duplicate line in transactions, payments, tickets.
``consistency``
    References resolve: transactions, payments, tickets and converted leads point at known
    customers; payments at known orders, of the same customer as the order.
``freshness``
    Age of the latest record of each table against ``as_of``.

:func:`quality_scorecard` lists the checks, :func:`quality_score` turns them into one
0-100 figure and says how, :func:`quality_issues` lists the failing records (the
``exports/quality_issues.csv`` users fix their CRM from), :func:`before_after` summarizes the
change log of :mod:`portfolio_helpers.cleaning.standardize`, and the ``*_findings`` helpers write the
plain-language sentences of the report, every figure taken from the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio_helpers.cleaning.standardize import (
    RULES,
    _isin,
    flag_exact_duplicates,
    record_keys,
    standardize_customers,
    standardize_transactions,
)
from portfolio_helpers.core.backend import quiet
from portfolio_helpers.core.contract import TABLES
from portfolio_helpers.core.formatting import fmt_int, plural
from portfolio_helpers.core.validation import is_engine_table
from portfolio_helpers.ingest.typed import engine_name, is_infinite, is_nan

__all__ = [
    "DIMENSIONS",
    "DIMENSION_WEIGHTS",
    "SCORECARD_COLUMNS",
    "ISSUE_COLUMNS",
    "ENGINE_ISSUE_SAMPLE",
    "quality_scorecard",
    "dimension_scores",
    "quality_score",
    "quality_issues",
    "quality_report",
    "before_after",
    "variety_before_after",
]

DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "freshness")
#: Weights of the overall score (they sum to 100). Validity weighs most: a wrong value misleads,
#: a missing one only narrows the analysis; freshness least, since a dated export is still usable.
DIMENSION_WEIGHTS = {"completeness": 25, "validity": 30, "uniqueness": 15, "consistency": 20, "freshness": 10}
SCORECARD_COLUMNS = ["table", "column", "dimension", "check", "checked", "failed", "score", "detail"]
ISSUE_COLUMNS = ["table", "record_key", "field", "problem", "value"]

# A record older than this is still "fresh"; the freshness score falls to 0 at STALE_DAYS.
FRESH_DAYS, STALE_DAYS = 31, 365
_CONTACT_FIELDS = ("name", "email", "phone", "address", "postal_code", "city", "country")
_NOT_SCORED_FOR_COMPLETENESS = {("payments", "paid_date"), ("leads", "customer_id"), ("feedback", "comment")}
_FRESHNESS_DATE = {"transactions": "date", "customers": "acquisition_date", "payments": "due_date",
                   "tickets": "date", "leads": "date"}
# How the sentences of the report call a table's records.
_RECORDS = {"transactions": "transaction lines", "customers": "customer records", "payments": "payments",
            "tickets": "tickets", "leads": "lead events", "feedback": "survey answers"}


@dataclass
class _Check:
    table: str
    column: str
    dimension: str
    check: str  # the rule, in words
    applies: pd.Series  # bool: records the check looks at
    fails: pd.Series  # bool: records that fail it (a subset of ``applies``)
    problem: str | pd.Series = ""  # per failing record, for quality_issues
    value: pd.Series | None = None
    listed: bool = True  # failing records go to quality_issues

    @property
    def checked(self) -> int:
        return int(self.applies.sum())

    @property
    def failed(self) -> int:
        return int((self.fails & self.applies).sum())


@dataclass
class _Counted:
    """A check of an engine table (typed lines): its counts come from the engine, not from a mask per record."""

    table: str
    column: str
    dimension: str
    check: str
    checked: int
    failed: int
    problems: dict  # problem -> number of records, for the detail
    listed: bool = False  # (the failing lines of an engine table are listed by _engine_issues)


#: At most this many failing lines of a typed table are listed in the issues per check (the scorecard counts all).
ENGINE_ISSUE_SAMPLE = 1_000


def _bool(values, index) -> pd.Series:
    return pd.Series(values, index=index).fillna(False).astype(bool)


def _prepare(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Standardize what has not been (the checks read ``email_valid``, ``negative_kind``, ...)."""
    tables = dict(tables)
    if "customers" in tables and "email_issue" not in tables["customers"] and (
            {"email", "phone", "country", "postal_code", "name"} & set(tables["customers"].columns)):
        tables["customers"] = standardize_customers(tables["customers"])[0]
    if "transactions" in tables and "negative_kind" not in tables["transactions"]:
        tables["transactions"] = standardize_transactions(tables["transactions"])[0]
    return tables


# --------------------------------------------------------------------------- checks


def _completeness_checks(tables: dict[str, pd.DataFrame]) -> list[_Check]:
    checks = []
    customers = tables.get("customers")
    scope: dict[tuple[str, str], tuple[pd.Series, str]] = {}
    if customers is not None:
        if "customer_type" in customers:
            b2b, b2c = customers["customer_type"].eq("B2B"), customers["customer_type"].eq("B2C")
            for column in ("industry", "employees", "annual_revenue"):
                scope[("customers", column)] = (_bool(b2b, customers.index), "B2B customer records")
            for column in ("birth_year", "gender", "income_band"):
                scope[("customers", column)] = (_bool(b2c, customers.index), "B2C customer records")
        if "stage" in customers:
            buyers = _bool(customers["stage"].eq("customer"), customers.index)
            scope[("customers", "acquisition_date")] = (buyers, "records at stage customer")
    for table, frame in tables.items():
        if table not in TABLES:
            continue
        for column in TABLES[table].column_names:
            if column not in frame.columns or (table, column) in _NOT_SCORED_FOR_COMPLETENESS:
                continue
            applies, among = scope.get((table, column), (pd.Series(True, index=frame.index), _RECORDS[table]))
            original = f"{column}_original" if f"{column}_original" in frame else column
            missing = frame[original].isna() & applies
            checks.append(_Check(table, column, "completeness", f"{column} filled ({among})", applies, missing,
                                 "missing", frame[original], listed=table == "customers" and column in _CONTACT_FIELDS))
    return checks


def _flag_check(table, frame, column, issue_column, check) -> _Check | None:
    if issue_column not in frame:
        return None
    issue = frame[issue_column].astype("string")
    applies = (_bool(frame[column].notna(), frame.index) & ~_bool(issue.eq("missing"), frame.index)
               & ~_bool(issue.str.startswith("not checked"), frame.index))
    fails = _bool(issue.notna() & applies, frame.index)
    return _Check(table, column, "validity", check, applies, fails, issue, frame[column])


def _range_check(table, frame, column, ok, check, problem) -> _Check | None:
    """Validity of the filled values of ``column``: ``ok(values)`` says which pass."""
    if column not in frame:
        return None
    applies = _bool(frame[column].notna(), frame.index)
    fails = applies & ~_bool(ok(frame[column]), frame.index)
    return _Check(table, column, "validity", check, applies, fails, problem, frame[column])


def _validity_checks(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp,
                     period_start: pd.Timestamp | None) -> list[_Check]:
    checks: list[_Check | None] = []
    day_after = as_of.normalize() + pd.Timedelta(days=1)  # a date-time on as_of itself is fine
    customers = tables.get("customers")
    if customers is not None:
        checks += [
            _flag_check("customers", customers, "email", "email_issue", "well-formed address, not a placeholder or a typo domain"),
            _flag_check("customers", customers, "phone", "phone_issue", "valid number for the customer's country (phonenumbers)"),
            _flag_check("customers", customers, "postal_code", "postal_code_issue", "matches the country's postal code format"),
        ]
        if "country_code" in customers:
            applies = _bool(customers["country"].notna(), customers.index)
            checks.append(_Check("customers", "country", "validity", "recognised country (ISO 3166-1)", applies,
                                 applies & _bool(customers["country_code"].isna(), customers.index),
                                 "unknown country", customers["country"]))
        year = as_of.year
        checks += [
            _range_check("customers", customers, "employees", lambda v: v >= 0,
                         "employees >= 0", "negative number of employees"),
            _range_check("customers", customers, "annual_revenue", lambda v: v >= 0,
                         "annual revenue >= 0", "negative annual revenue"),
            _range_check("customers", customers, "birth_year",
                         lambda v: v.between(year - 110, year - 15),
                         f"birth year between {year - 110} and {year - 15}", "implausible birth year"),
            _range_check("customers", customers, "acquisition_date",
                         lambda v: v < day_after,
                         "acquisition date not after as_of", "acquisition date after as_of"),
        ]
    tx = tables.get("transactions")
    if tx is not None:
        zero = _bool(tx["amount"] == 0, tx.index)
        sign_error = _bool(tx.get("negative_kind", pd.Series(pd.NA, index=tx.index)).eq("negative_error"), tx.index)
        finite = _bool(np.isfinite(tx["amount"]), tx.index)
        problem = pd.Series("not a finite number", index=tx.index, dtype=object)
        problem[zero] = "zero amount"
        problem[sign_error] = "negative amount with no matching purchase (sign error?)"
        checks.append(_Check("transactions", "amount", "validity",
                             "finite, non-zero, negative only when matched to a purchase",
                             _bool(tx["amount"].notna(), tx.index), zero | sign_error | ~finite, problem,
                             tx["amount"]))
        start = period_start if period_start is not None else pd.Timestamp.min
        rule = "on or before as_of" if period_start is None else f"between {period_start.date()} and as_of"
        checks.append(_range_check("transactions", tx, "date", lambda v: (v >= start) & (v < day_after),
                                   f"date {rule}",
                                   f"date outside the analysis period ({rule})"))
        if "quantity" in tx:
            checks.append(_range_check("transactions", tx, "quantity", lambda v: v != 0, "quantity not zero",
                                       "zero quantity"))
        if "discount" in tx:
            checks.append(_range_check("transactions", tx, "discount", lambda v: v >= 0, "discount >= 0",
                                       "negative discount"))
        if "cost" in tx:
            checks.append(_range_check("transactions", tx, "cost", lambda v: v * tx["amount"] >= 0,
                                       "cost has the sign of the amount", "cost and amount of opposite signs"))
    payments = tables.get("payments")
    if payments is not None:
        checks += [
            _range_check("payments", payments, "amount", lambda v: v != 0, "amount not zero",
                         "zero amount"),
            _range_check("payments", payments, "paid_date", lambda v: v < day_after,
                         "paid date not after as_of", "paid after as_of"),
        ]
    tickets = tables.get("tickets")
    if tickets is not None:
        checks += [
            _range_check("tickets", tickets, "date", lambda v: v < day_after, "date not after as_of",
                         "date after as_of"),
            _range_check("tickets", tickets, "minutes", lambda v: v >= 0, "minutes >= 0",
                         "negative minutes"),
            _range_check("tickets", tickets, "cost", lambda v: v >= 0, "cost >= 0",
                         "negative cost"),
        ]
    leads = tables.get("leads")
    if leads is not None:
        checks += [
            _range_check("leads", leads, "date", lambda v: v < day_after, "date not after as_of",
                         "date after as_of"),
            _range_check("leads", leads, "employees", lambda v: v >= 0, "employees >= 0",
                         "negative number of employees"),
            _range_check("leads", leads, "budget", lambda v: v >= 0, "budget >= 0",
                         "negative budget"),
        ]
    return [check for check in checks if check is not None]


def _uniqueness_checks(tables: dict[str, pd.DataFrame]) -> list[_Check]:
    checks = []
    customers = tables.get("customers")
    if customers is not None:
        present = _bool(customers["customer_id"].notna(), customers.index)
        repeated = _bool(customers["customer_id"].duplicated(keep="first"), customers.index) & present
        checks.append(_Check("customers", "customer_id", "uniqueness", "customer_id unique", present, repeated,
                             "customer_id used by an earlier record", customers["customer_id"]))
    for table in ("transactions", "payments", "tickets"):
        frame = tables.get(table)
        if frame is None:
            continue
        if "is_exact_duplicate" in frame:
            duplicate, first_line = frame["is_exact_duplicate"], frame["duplicate_of_line"]
        else:
            flags = flag_exact_duplicates(frame, [c for c in TABLES[table].column_names if c in frame])
            duplicate, first_line = flags["is_exact_duplicate"], flags["duplicate_of_line"]
        checks.append(_Check(table, "*", "uniqueness", "no exact duplicate line (all contract columns)",
                             pd.Series(True, index=frame.index), _bool(duplicate, frame.index),
                             "exact duplicate of line " + first_line.astype("string"), None))
    return checks


def _consistency_checks(tables: dict[str, pd.DataFrame], order_owner: pd.Series | None = None) -> list[_Check]:
    """``order_owner``: the customer of each order id, when the lines are not in ``tables`` (typed lines:
    :func:`_engine_order_owners`); else it comes from the transactions frame."""
    checks = []
    customers = tables.get("customers")
    known = customers["customer_id"].dropna().unique() if customers is not None else None
    tx = tables.get("transactions")
    if known is not None:
        for table in ("transactions", "payments", "tickets", "leads"):
            frame = tables.get(table)
            if frame is None or "customer_id" not in frame:
                continue
            applies = _bool(frame["customer_id"].notna(), frame.index)
            unknown = applies & ~_isin(frame["customer_id"], known)
            checks.append(_Check(table, "customer_id", "consistency", "customer_id found in customers", applies,
                                 unknown, "customer id not in the customers table", frame["customer_id"]))
    payments = tables.get("payments")
    if order_owner is None and payments is not None and tx is not None and "order_id" in tx:
        order_owner = tx.dropna(subset=["order_id"]).drop_duplicates("order_id").set_index("order_id")["customer_id"]
    if payments is not None and order_owner is not None and "order_id" in payments:
        applies = _bool(payments["order_id"].notna(), payments.index)
        unknown = applies & ~_isin(payments["order_id"], order_owner.index)
        checks.append(_Check("payments", "order_id", "consistency", "order_id found in transactions", applies,
                             unknown, "order id not in the transactions", payments["order_id"]))
        owner = payments["order_id"].map(order_owner)
        applies = _bool(owner.notna() & payments["customer_id"].notna(), payments.index)
        other = applies & _bool(owner != payments["customer_id"], payments.index)
        checks.append(_Check("payments", "customer_id", "consistency", "same customer as the order", applies, other,
                             "customer differs from the order's customer (" + owner.astype("string") + ")",
                             payments["customer_id"]))
    return checks


def _freshness_rows(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, fresh_days: int,
                    stale_days: int, latest_of: dict | None = None) -> list[dict]:
    """``latest_of``: the latest date of tables not in ``tables`` (typed lines, counted by the engine)."""
    rows = []
    latest_of = latest_of or {}
    for table, column in _FRESHNESS_DATE.items():
        frame = tables.get(table)
        if table in latest_of:
            if latest_of[table] is None:
                continue
            latest = latest_of[table].normalize()
        else:
            if frame is None or column not in frame:
                continue
            # Dates after as_of (due dates to come, typos) say nothing about how recent the export is.
            dates = frame[column][frame[column] < as_of.normalize() + pd.Timedelta(days=1)].dropna()
            if dates.empty:
                continue
            latest = dates.max().normalize()
        age = int((as_of.normalize() - latest).days)
        score = float(np.clip(1 - (age - fresh_days) / (stale_days - fresh_days), 0, 1))
        rows.append({"table": table, "column": column, "dimension": "freshness",
                     "check": f"latest record at most {fresh_days} days before as_of (0 at {stale_days} days)",
                     "checked": 1, "failed": int(score < 1), "score": score,
                     "detail": f"latest {column} {latest.date()}, {plural(age, 'day')} before as_of"})
    return rows


def _all_checks(tables, as_of, period_start, order_owner=None) -> list[_Check]:
    return (_completeness_checks(tables) + _validity_checks(tables, as_of, period_start)
            + _uniqueness_checks(tables) + _consistency_checks(tables, order_owner))




def _detail(check: _Check | _Counted) -> str:
    if not check.failed:
        return ""
    if isinstance(check, _Counted):
        top = sorted(((n, problem) for problem, n in check.problems.items() if n), key=lambda item: -item[0])[:3]
        return "; ".join(f"{problem}: {fmt_int(n)}" for n, problem in top)
    problems = check.problem if isinstance(check.problem, pd.Series) else pd.Series(check.problem, index=check.fails.index)
    counts = problems[check.fails & check.applies].astype("string").str.replace(r"line \d+", "line N", regex=True)
    top = counts.value_counts().head(3)
    return "; ".join(f"{problem}: {fmt_int(n)}" for problem, n in top.items())


# --------------------------------------------------------------------------- typed lines, in the engine


def _distinct_lines(t, columns: list[str], floats) -> int:
    """The number of distinct lines of the engine table ``t`` over ``columns`` (``SELECT DISTINCT``'s count),
    exact, in memory and temporary disk that grow with the repeated lines, not with all lines.

    A ``DISTINCT`` over every column of 300M lines (12 columns, 5 of them strings) ran out of DuckDB's
    3.3 GB, spilling or not. Instead the lines are grouped by a 64-bit hash of their columns (one pass: 16
    bytes per line where ``DISTINCT`` keeps the whole line): a hash met once is one distinct line; the lines
    whose hash repeats (the duplicates, and the rare lines sharing a hash) are then counted with ``DISTINCT``
    in a second pass that keeps only them. Equal lines have equal hashes, so the sum is the exact count
    whatever the collisions. Floats are hashed as ``x + 0.0`` (-0.0 and 0.0 are one value for ``DISTINCT``).
    """
    import ibis

    key = ibis.struct({f"c{i}": t[col] + 0.0 if col in floats else t[col] for i, col in enumerate(columns)})
    hashed = t.select(_line_hash=key.hash())
    groups = hashed.group_by("_line_hash").aggregate(_n=hashed.count())
    counted = groups.aggregate(once=ibis.ifelse(groups._n == 1, 1, 0).sum(),
                               repeated=groups._line_hash.collect(where=groups._n > 1)).to_pyarrow()
    once = counted["once"][0].as_py() or 0  # (null: no line)
    repeated = counted["repeated"][0].values  # (Arrow: 8 bytes a repeated hash, no Python objects)
    if repeated is None or not len(repeated):
        return once
    hashes = ibis.memtable(pd.DataFrame({"_line_hash": repeated.to_numpy(zero_copy_only=False).astype("int64")}))
    lines = t.select(*columns, _line_hash=key.hash()).semi_join(hashes, "_line_hash")
    return once + int(lines.select(*columns).distinct().count().to_pandas())


def _engine_line_checks(t, as_of: pd.Timestamp, period_start: pd.Timestamp | None,
                        customers: pd.DataFrame | None) -> tuple[list[_Counted], pd.DataFrame, pd.Timestamp | None]:
    """The line-level checks of typed transaction lines (an engine table), counted where the lines are.

    The same rules as for lines held in pandas (:func:`_completeness_checks`, :func:`_validity_checks`,
    :func:`_uniqueness_checks`, :func:`_consistency_checks`): one aggregate for the missing values, the
    values out of range and the lines of customers missing from ``customers`` (when given); one count
    of the distinct lines for the exact duplicates (on the ids as exported, before any customer merge,
    as the pandas path flags them). Not looked for: the sign errors (a negative line matched to no
    purchase), which need each customer's lines side by side: said in the rule. The failing lines of the
    validity and consistency checks are then listed, at most :data:`ENGINE_ISSUE_SAMPLE` per check (one
    small query each); exact duplicates are counted, not listed.

    Returns the checks, the issues (a sample) and the latest line date not after ``as_of`` (freshness).
    """
    import ibis

    from portfolio_helpers.ingest.loaders import flag_known_customers

    lines = t  # (the duplicates are counted on the lines alone: the join with the customers adds nothing to them)
    if customers is not None and "customer_id" in customers.columns:
        t = flag_known_customers(t.drop("customer_known") if "customer_known" in t.columns else t, customers)
    elif "customer_known" in t.columns:
        t = t.drop("customer_known")  # (no customers table: no consistency check, as in pandas)

    day_after = as_of.normalize() + pd.Timedelta(days=1)
    start = period_start if period_start is not None else None
    columns = [col for col in TABLES["transactions"].column_names if col in t.columns]
    floats = {col for col in columns if t[col].type().is_floating()}
    engine = engine_name(t)

    def filled(col):  # (a NaN is missing, as in pandas)
        return t[col].notnull() & ~is_nan(t[col], engine).fill_null(False) if col in floats else t[col].notnull()

    def count(condition):
        return ibis.ifelse(condition.fill_null(False), 1, 0).sum()

    amount = t.amount.cast("float64")
    rules = {  # name -> (column, applies, fails by problem)
        "amount": ("amount", filled("amount"), {"zero amount": amount == 0, "not a finite number": is_infinite(amount)}),
        "date": ("date", t.date.notnull(), {"date outside the analysis period": (t.date >= day_after.to_pydatetime())
                                            | (t.date < start.to_pydatetime() if start is not None else False)}),
    }
    if "quantity" in columns:
        rules["quantity"] = ("quantity", filled("quantity"), {"zero quantity": t.quantity.cast("float64") == 0})
    if "discount" in columns:
        rules["discount"] = ("discount", filled("discount"), {"negative discount": t.discount.cast("float64") < 0})
    if "cost" in columns:
        product = t.cost.cast("float64") * amount  # (as in pandas: a missing amount is no sign, so it fails)
        rules["cost"] = ("cost", filled("cost"), {"cost and amount of opposite signs": (
            (product < 0) | is_nan(product, engine) | amount.isnull() | is_nan(amount, engine))})
    known = "customer_known" in t.columns
    aggregates = {"n": t.count(), "latest": t.date.max(where=t.date < day_after.to_pydatetime())}
    aggregates |= {f"m{i}": count(~filled(col)) for i, col in enumerate(columns)}
    for name, (_, applies, fails) in rules.items():
        aggregates[f"{name}:checked"] = count(applies)
        aggregates |= {f"{name}:{j}": count(applies & fail) for j, fail in enumerate(fails.values())}
    if known:
        aggregates["unknown:checked"] = count(t.customer_id.notnull())
        aggregates["unknown:0"] = count(t.customer_id.notnull() & ~t.customer_known)
    with quiet():
        counts = t.aggregate(**aggregates).to_pandas().iloc[0]
        exported = [("original_customer_id" if col == "customer_id" and "original_customer_id" in t.columns else col)
                    for col in columns]  # (lines merged into one customer are not duplicates of each other)
        n_distinct = _distinct_lines(lines, exported, floats)
    latest = counts.pop("latest")
    counts = counts.fillna(0).astype("int64")  # (sums over no line are null: nothing counted)
    n = int(counts["n"])
    checks: list[_Counted] = []
    for i, col in enumerate(columns):
        missing = int(counts[f"m{i}"])
        checks.append(_Counted("transactions", col, "completeness", f"{col} filled ({_RECORDS['transactions']})", n,
                               missing, {"missing": missing}))
    rule = "on or before as_of" if start is None else f"between {start.date()} and as_of"
    words = {"amount": "finite, non-zero (sign errors are looked for in text exports only)",
             "date": f"date {rule}", "quantity": "quantity not zero", "discount": "discount >= 0",
             "cost": "cost has the sign of the amount"}
    issues = []
    for name, (col, applies, fails) in rules.items():
        by_problem = {problem: int(counts[f"{name}:{j}"]) for j, problem in enumerate(fails)}
        problems = {(f"date outside the analysis period ({rule})" if name == "date" else problem): k
                    for problem, k in by_problem.items()}
        checks.append(_Counted("transactions", col, "validity", words[name], int(counts[f"{name}:checked"]),
                               sum(by_problem.values()), problems))
        for (problem, k), fail in zip(problems.items(), fails.values(), strict=True):
            if k:
                issues.append((col, problem, applies & fail))
    checks.append(_Counted("transactions", "*", "uniqueness", "no exact duplicate line (all contract columns)", n,
                           n - n_distinct, {"exact duplicate of an earlier line": n - n_distinct}))
    if known:
        unknown = int(counts["unknown:0"])
        checks.append(_Counted("transactions", "customer_id", "consistency", "customer_id found in customers",
                               int(counts["unknown:checked"]), unknown, {"customer id not in the customers table": unknown}))
        if unknown:
            issues.append(("customer_id", "customer id not in the customers table",
                           t.customer_id.notnull() & ~t.customer_known))
    return checks, _engine_issues(t, issues), None if pd.isna(latest) else pd.Timestamp(latest)


def _engine_issues(t, failing: list) -> pd.DataFrame:
    """The first :data:`ENGINE_ISSUE_SAMPLE` lines of each failing check of typed lines, as issue rows. A line
    is named by its order id and its row in the file where the engine says (``file_row_number``, DuckDB);
    where it cannot, by its order id, else by its customer and day."""
    located = "file_row_number" in t.columns
    parts = []
    for column, problem, condition in failing:
        where = ("customer " + t.customer_id.cast("string").fill_null("(none)") + " on "
                 + t.date.cast("date").cast("string").fill_null("(no date)"))
        line = ("line " + (t.file_row_number + 1).cast("string")) if located else where
        key = (t.order_id.cast("string") + (" " + line if located else "")) if "order_id" in t.columns else line
        key = key.fill_null(line)
        sample = t.filter(condition.fill_null(False)).select(record_key=key, value=t[column].cast("string"))
        with quiet():
            rows = sample.limit(ENGINE_ISSUE_SAMPLE).to_pandas()
        parts.append(pd.DataFrame({"table": "transactions", "record_key": rows["record_key"].to_numpy(),
                                   "field": column, "problem": problem, "value": rows["value"].to_numpy()}))
    if not parts:
        return pd.DataFrame({col: pd.Series(dtype="string") for col in ISSUE_COLUMNS})
    return pd.concat(parts, ignore_index=True).astype("string")


def _engine_order_owners(t, order_ids: pd.Series) -> pd.Series:
    """The customer of each of ``order_ids`` in the engine lines ``t``, indexed by order id: one row per order
    asked about comes back. As in pandas (the order's first line), the customer of its first line in the file
    where the engine says (``file_row_number``), else of its earliest line."""
    import ibis

    wanted = ibis.memtable(pd.DataFrame({"_order": pd.Series(order_ids.dropna().unique(), dtype=object).astype(str)}))
    lines = t.filter(t.order_id.notnull())
    lines = lines.filter(lines.order_id.cast("string").isin(wanted._order))
    first = lines.file_row_number if "file_row_number" in lines.columns else lines.date
    with quiet():
        owners = lines.group_by(order_id=lines.order_id.cast("string")).aggregate(
            customer_id=lines.customer_id.cast("string").argmin(first)).to_pandas()
    return owners.set_index("order_id")["customer_id"]


# --------------------------------------------------------------------------- public API


def quality_scorecard(tables: dict[str, pd.DataFrame], as_of, period_start=None,
                      fresh_days: int = FRESH_DAYS, stale_days: int = STALE_DAYS) -> pd.DataFrame:
    """Every quality check of every table present, one row each.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Typed tables, preferably already through
        :func:`~portfolio_helpers.cleaning.standardize.standardize_portfolio` (customers and
        transactions are standardized here otherwise). The transactions may be an engine table
        (typed lines): their checks are then counted by the engine, the same rules except the sign
        errors (which need a customer's lines side by side), and at most
        :data:`ENGINE_ISSUE_SAMPLE` failing lines per check are listed.
    as_of : Timestamp
        Analysis date: later dates are invalid, freshness is measured against it.
    period_start : Timestamp, optional
        First day of the analysis period; earlier transaction dates count as invalid.
    fresh_days, stale_days : int, default 31 and 365
        Freshness score: 1 up to ``fresh_days`` of age, falling linearly to 0 at ``stale_days``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SCORECARD_COLUMNS`: ``table``, ``column`` (``*`` for whole lines),
        ``dimension`` (one of :data:`DIMENSIONS`), ``check`` (the rule in words), ``checked``
        (records looked at), ``failed``, ``score`` (share passing, 0-1) and ``detail`` (the
        main problems and their counts). Checks that apply to no record are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {"transactions": pd.DataFrame({
    ...     "customer_id": ["A", "A", "Z"], "date": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-06-01"]),
    ...     "amount": [10.0, 10.0, 0.0], "source_line": [2, 3, 4]})}
    >>> card = quality_scorecard(tables, as_of=pd.Timestamp("2024-06-30"))
    >>> card.loc[card["dimension"] == "uniqueness", ["checked", "failed"]].values.tolist()
    [[3, 1]]
    >>> card.loc[(card["dimension"] == "validity") & (card["column"] == "amount"), "detail"].item()
    'zero amount: 1'
    """
    return quality_report(tables, as_of, period_start, fresh_days, stale_days)[0]


def _scorecard(checks: list[_Check | _Counted], tables: dict[str, pd.DataFrame], as_of: pd.Timestamp,
               fresh_days: int, stale_days: int, latest_of: dict | None = None) -> pd.DataFrame:
    rows = []
    for check in checks:
        if check.checked == 0:
            continue
        rows.append({"table": check.table, "column": check.column, "dimension": check.dimension,
                     "check": check.check, "checked": check.checked, "failed": check.failed,
                     "score": 1 - check.failed / check.checked, "detail": _detail(check)})
    rows += _freshness_rows(tables, as_of, fresh_days, stale_days, latest_of)
    card = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    order = {name: i for i, name in enumerate(DIMENSIONS)}
    return (card.sort_values(["dimension", "table"], key=lambda s: s.map(order) if s.name == "dimension" else s,
                             kind="stable")
            .reset_index(drop=True))


def dimension_scores(scorecard: pd.DataFrame) -> pd.Series:
    """Score 0-100 of each dimension: the mean of its checks' scores (dimensions without checks omitted).

    Examples
    --------
    >>> import pandas as pd
    >>> card = pd.DataFrame({"dimension": ["validity", "validity", "uniqueness"], "score": [1.0, 0.9, 0.98]})
    >>> dimension_scores(card).round(1).to_dict()
    {'validity': 95.0, 'uniqueness': 98.0}
    """
    means = scorecard.groupby("dimension", sort=False)["score"].mean() * 100
    return means.reindex([d for d in DIMENSIONS if d in means.index]).astype(float)


def quality_score(scorecard: pd.DataFrame, weights: dict[str, float] | None = None) -> tuple[float, str]:
    """The overall quality score (0-100) and its formula, written out with the figures.

    The score is the weighted mean of the dimension scores (:func:`dimension_scores`) with
    :data:`DIMENSION_WEIGHTS` (completeness 25, validity 30, uniqueness 15, consistency 20,
    freshness 10); weights of dimensions that have no check are left out and the others
    re-normalized.

    Returns
    -------
    score : float
    formula : str
        E.g. ``"Quality score = (30 × validity 95.0 + 15 × uniqueness 98.0) / 45 = 96.0"``
        followed by how each dimension is scored.

    Examples
    --------
    >>> import pandas as pd
    >>> card = pd.DataFrame({"dimension": ["validity", "validity", "uniqueness"], "score": [1.0, 0.9, 0.98]})
    >>> score, formula = quality_score(card)
    >>> round(score, 1)
    96.0
    >>> formula.splitlines()[0]
    'Quality score = (30 × validity 95.0 + 15 × uniqueness 98.0) / 45 = 96.0'
    """
    weights = dict(DIMENSION_WEIGHTS if weights is None else weights)
    scores = dimension_scores(scorecard)
    used = {d: weights[d] for d in scores.index if weights.get(d, 0) > 0}
    if not used:
        raise ValueError("the scorecard has no check in any weighted dimension")
    total = sum(used.values())
    score = float(sum(w * scores[d] for d, w in used.items()) / total)
    terms = " + ".join(f"{w:g} × {d} {scores[d]:.1f}" for d, w in used.items())
    formula = (f"Quality score = ({terms}) / {total:g} = {score:.1f}\n"
               "Each dimension score is the mean, over its checks (one per table and column), of the share of "
               "records that pass the check, times 100. Freshness: 100 when a table's latest record is at most "
               f"{FRESH_DAYS} days older than the analysis date, falling linearly to 0 at {STALE_DAYS} days.")
    return score, formula


def quality_issues(tables: dict[str, pd.DataFrame], as_of, period_start=None) -> pd.DataFrame:
    """One row per record and problem, for users to fix their CRM/ERP (``exports/quality_issues.csv``).

    Lists the failing records of every validity, uniqueness and consistency check of
    :func:`quality_scorecard`, and the missing contact fields of customers (name, e-mail,
    phone, address, postal code, city, country). Other missing values are counted in the
    scorecard but not listed.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ISSUE_COLUMNS`: ``table``, ``record_key`` (customer id, or
        ``<order_id> line <N>`` / ``line <N>`` with N the line in the source file), ``field``,
        ``problem`` and ``value`` (as text). Personal data (e-mails, phones, names) appear in
        ``value``: pseudonymize it before export when the portfolio asks for it
        (:func:`portfolio_helpers.cleaning.privacy.pseudonymize_long`).

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["C1", "C2"], "email": ["ok@free.fr", "x@gmial.com"]})
    >>> quality_issues({"customers": customers}, as_of="2024-12-31").values.tolist()
    [['customers', 'C2', 'email', 'typo domain (did you mean gmail.com?)', 'x@gmial.com']]
    """
    return quality_report(tables, as_of, period_start)[1]


def _issues(checks: list[_Check], tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = []
    keys_cache: dict[str, pd.Series] = {}
    for check in checks:
        failing = (check.fails & check.applies).to_numpy()
        if not check.listed or not failing.any():
            continue
        frame = tables[check.table]
        if check.table not in keys_cache:
            keys_cache[check.table] = record_keys(check.table, frame)
        problem = (check.problem if isinstance(check.problem, pd.Series)
                   else pd.Series(check.problem, index=frame.index))
        value = check.value if check.value is not None else pd.Series(pd.NA, index=frame.index)
        parts.append(pd.DataFrame({
            "table": check.table,
            "record_key": keys_cache[check.table][failing].to_numpy(),
            "field": check.column,
            "problem": problem[failing].astype("string").to_numpy(),
            "value": value[failing].astype("string").to_numpy(),
        }))
    if not parts:
        return pd.DataFrame({col: pd.Series(dtype="string") for col in ISSUE_COLUMNS})
    return pd.concat(parts, ignore_index=True).astype("string")


def quality_report(tables: dict[str, pd.DataFrame], as_of, period_start=None, fresh_days: int = FRESH_DAYS,
                   stale_days: int = STALE_DAYS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`quality_scorecard` and :func:`quality_issues` of the same tables, from one run of the checks.

    Same parameters as :func:`quality_scorecard`; the checks (exact duplicate lines, e-mail
    typos, dates out of range...) run once instead of once per result.

    Returns
    -------
    scorecard, issues : pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame({"customer_id": ["C1", "C2"], "email": ["ok@free.fr", "x@gmial.com"]})
    >>> card, issues = quality_report({"customers": customers}, as_of="2024-12-31")
    >>> card.equals(quality_scorecard({"customers": customers}, as_of="2024-12-31"))
    True
    >>> issues["record_key"].tolist()
    ['C2']
    """
    as_of = pd.Timestamp(as_of)
    period_start = pd.Timestamp(period_start) if period_start is not None else None
    lines = tables.get("transactions")
    lines = lines if is_engine_table(lines) else None  # typed lines: checked in the engine
    tables = _prepare({name: table for name, table in tables.items() if not is_engine_table(table)})
    owners = None
    if lines is not None and "order_id" in lines.columns and "order_id" in tables.get("payments", {}):
        owners = _engine_order_owners(lines, tables["payments"]["order_id"])
    checks = _all_checks(tables, as_of, period_start, owners)
    issues = _issues(checks, tables)
    latest_of = {}
    if lines is not None:
        counted, line_issues, latest_of["transactions"] = _engine_line_checks(lines, as_of, period_start,
                                                                              tables.get("customers"))
        checks += counted
        issues = pd.concat([line_issues, issues], ignore_index=True).astype("string") if len(line_issues) else issues
    return _scorecard(checks, tables, as_of, fresh_days, stale_days, latest_of), issues


def before_after(raw_tables: dict[str, pd.DataFrame], clean_tables: dict[str, pd.DataFrame],
                 changes: pd.DataFrame, examples: int = 3) -> pd.DataFrame:
    """What standardization did: records per rule, share of the table, and a few examples.

    Parameters
    ----------
    raw_tables, clean_tables : dict of str to pandas.DataFrame
        The tables before and after :func:`~portfolio_helpers.cleaning.standardize.standardize_portfolio`
        (row counts of both are shown; standardization removes no row).
    changes : pandas.DataFrame
        Its change log.
    examples : int, default 3
        Examples per rule (``old → new``).

    Returns
    -------
    pandas.DataFrame
        ``table``, ``rule``, ``kind`` (fix/flag/info), ``description``, ``columns``, ``records``
        (distinct records concerned), ``share`` (of the table's rows), ``rows_before``,
        ``rows_after`` and ``examples``; fixes first, then flags, then information, largest first.

    Examples
    --------
    >>> import pandas as pd
    >>> from portfolio_helpers.cleaning.standardize import standardize_portfolio
    >>> raw = {"customers": pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["JEAN DUPONT", "Ann Lee"]})}
    >>> clean, changes = standardize_portfolio(raw)
    >>> before_after(raw, clean, changes)[["rule", "records", "share", "examples"]].values.tolist()
    [['name_case', 1, 0.5, "'JEAN DUPONT' → 'Jean Dupont'"]]
    """
    columns = ["table", "rule", "kind", "description", "columns", "records", "share", "rows_before",
               "rows_after", "examples"]
    if changes.empty:
        return pd.DataFrame(columns=columns)

    def show(value) -> str:
        return "(empty)" if pd.isna(value) else repr(str(value))

    rows = []
    for (table, rule), group in changes.groupby(["table", "rule"], sort=False):
        kind, description = RULES.get(rule, ("?", rule))
        n_before = len(raw_tables[table]) if table in raw_tables else np.nan
        # Examples that show a difference first ("'Frankreich' → 'FR'" says more than "'FR' → 'FR'").
        sample = group.drop_duplicates(["old_value", "new_value"])
        sample = sample.iloc[np.argsort((sample["old_value"] == sample["new_value"]).fillna(False).to_numpy(),
                                        kind="stable")].head(examples)
        rows.append({
            "table": table, "rule": rule, "kind": kind, "description": description,
            "columns": ", ".join(group["column"].unique()),
            "records": int(group["row_key"].nunique()),
            "share": group["row_key"].nunique() / n_before if n_before else np.nan,
            "rows_before": n_before,
            "rows_after": len(clean_tables[table]) if table in clean_tables else np.nan,
            "examples": "; ".join(f"{show(o)} → {show(n)}" for o, n in zip(sample["old_value"], sample["new_value"],
                                                                        strict=True)),
        })
    summary = pd.DataFrame(rows, columns=columns)
    kind_order = {"fix": 0, "flag": 1, "info": 2}
    summary["_kind"] = summary["kind"].map(kind_order).fillna(3)
    return (summary.sort_values(["_kind", "records"], ascending=[True, False], kind="stable")
            .drop(columns="_kind").reset_index(drop=True))


_VARIETY = (("customers", "name", "name_key"), ("customers", "email", "email"), ("customers", "phone", "phone"),
            ("customers", "country", "country_code"), ("customers", "postal_code", "postal_code"),
            ("customers", "city", "city"))


def variety_before_after(raw_tables: dict[str, pd.DataFrame], clean_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Distinct spellings before and after standardization (e.g. 22 country spellings -> 7 codes).

    Examples
    --------
    >>> import pandas as pd
    >>> from portfolio_helpers.cleaning.standardize import standardize_portfolio
    >>> raw = {"customers": pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
    ...                                   "country": ["France", "FRANCE", "Frankreich"]})}
    >>> clean, _ = standardize_portfolio(raw)
    >>> variety_before_after(raw, clean).values.tolist()
    [['customers', 'country', 3, 'country_code', 1]]
    """
    rows = []
    for table, before, after in _VARIETY:
        if table in raw_tables and table in clean_tables and before in raw_tables[table] \
                and after in clean_tables[table]:
            rows.append({"table": table, "column": before, "distinct_before": int(raw_tables[table][before].nunique()),
                         "standardized_column": after,
                         "distinct_after": int(clean_tables[table][after].nunique())})
    return pd.DataFrame(rows, columns=["table", "column", "distinct_before", "standardized_column",
                                       "distinct_after"])






