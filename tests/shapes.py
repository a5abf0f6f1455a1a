"""A small generator of valid shapes of the data contract, for the shape tests.

A *shape* says which optional tables are given (customers, payments, tickets, leads, feedback), which of their
optional columns exist, which of those exist but are entirely empty, how many customers and lines there
are and whether every purchase falls on one day; with a feedback table, its scale (NPS, CSAT or a custom one).
The customers and leads tables may carry the contact columns (preferred channel, consents, do not contact). :func:`write_portfolio` writes it as CSV files with a
``portfolio.yml`` that the kit reads like any user's export. :data:`shape_strategy` draws shapes with
hypothesis; :data:`NAMED_SHAPES` are the fixed shapes of the end-to-end CLI test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import strategies as st

AS_OF = pd.Timestamp("2025-12-31")

TRANSACTION_OPTIONAL = ("order_id", "quantity", "product_id", "category", "cost", "discount", "status", "channel")
CONTACT_OPTIONAL = ("preferred_channel", "consent_email", "consent_phone", "do_not_contact")
CUSTOMER_OPTIONAL = ("name", "email", "phone", "address", "postal_code", "city", "country", "customer_type",
                     "industry", "employees", "annual_revenue", "acquisition_date", "stage", "owner",
                     *CONTACT_OPTIONAL)
LEAD_OPTIONAL = ("event", "customer_id", "source", "role", "employees", "industry", "budget", *CONTACT_OPTIONAL)
FEEDBACK_OPTIONAL = ("comment", "channel", "topic")
OPTIONAL_TABLES = ("customers", "payments", "tickets", "leads", "feedback")
#: The feedback scales a shape may declare: ``feedback: {scale: ...}`` of the config, and its lowest and highest score.
FEEDBACK_SCALES = {"nps": ("nps", 0, 10), "csat": ("csat", 1, 5), "custom": ({"min": 1, "max": 7}, 1, 7)}


@dataclass(frozen=True)
class Shape:
    """One valid input shape. ``columns`` maps a table to its optional columns; ``empty`` lists
    ``(table, column)`` pairs that exist with no value at all."""

    n_customers: int = 5
    lines_per_customer: tuple[int, ...] = (3,)
    single_day: bool = False
    tables: tuple[str, ...] = ()
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    empty: tuple[tuple[str, str], ...] = ()
    n_leads: int = 0
    converted_share: float = 0.0  # share of leads that became customers (needs leads.customer_id)
    events_before_conversion: bool = True
    all_cancelled: bool = False  # every line has status "cancelled" (needs the status column)
    n_answers: int = 0  # survey answers (needs the feedback table)
    feedback_scale: str = "nps"  # a key of FEEDBACK_SCALES
    seed: int = 0

    def describe(self) -> str:
        parts = [f"{self.n_customers} customer(s)", "one day" if self.single_day else "several days"]
        if self.all_cancelled:
            parts.append("every line cancelled")
        if "feedback" in self.tables:
            parts.append(f"{self.n_answers} answer(s) on the {self.feedback_scale} scale")
        for table in self.tables:
            cols = self.columns.get(table, ())
            parts.append(f"{table}[{', '.join(cols) or 'required only'}]")
        if self.columns.get("transactions"):
            parts.append(f"transactions[{', '.join(self.columns['transactions'])}]")
        if self.empty:
            parts.append("empty: " + ", ".join(f"{t}.{c}" for t, c in self.empty))
        return "; ".join(parts)


def _lines(shape: Shape, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    order = 0
    for i in range(shape.n_customers):
        n_lines = shape.lines_per_customer[i % len(shape.lines_per_customer)]
        for j in range(n_lines):
            if j % 2 == 0:
                order += 1
            day = AS_OF - pd.Timedelta(days=10) if shape.single_day else (
                AS_OF - pd.Timedelta(days=int(rng.integers(0, 900))))
            amount = round(float(rng.uniform(5, 2000)), 2)
            rows.append({
                "customer_id": f"C{i + 1:03d}", "date": day.strftime("%Y-%m-%d"), "amount": amount,
                "order_id": f"O{order:05d}", "quantity": int(rng.integers(1, 5)),
                "product_id": f"P{int(rng.integers(1, 6))}", "category": ["hardware", "software"][j % 2],
                "cost": round(amount * 0.6, 2), "discount": round(amount * 0.05, 2),
                "status": "cancelled" if shape.all_cancelled else
                ["completed", "completed", "returned", "cancelled"][int(rng.integers(0, 4))],
                "channel": ["web", "store"][i % 2],
            })
    return pd.DataFrame(rows)


def _customers(shape: Shape, rng: np.random.Generator) -> pd.DataFrame:
    n = shape.n_customers
    ids = [f"C{i + 1:03d}" for i in range(n)]
    return pd.DataFrame({
        "customer_id": ids,
        "name": [f"Company {i}" for i in range(n)],
        "email": [f"contact{i}@example.com" if i % 4 else "not-an-email" for i in range(n)],
        "phone": [f"+33 1 23 45 {i % 100:02d} {i % 97:02d}" for i in range(n)],
        "address": [f"{i + 1} rue de la Paix" for i in range(n)],
        "postal_code": [f"{75000 + i:05d}" for i in range(n)],
        "city": [["Paris", "Lyon"][i % 2] for i in range(n)],
        "country": [["France", "Germany", "Belgium"][i % 3] for i in range(n)],
        "customer_type": [["B2B", "B2C"][i % 2] for i in range(n)],
        "industry": [["Manufacturing", "Retail", "Healthcare"][i % 3] for i in range(n)],
        "employees": [int(rng.integers(1, 500)) for _ in range(n)],
        "annual_revenue": [round(float(rng.uniform(1e5, 1e7)), 2) for _ in range(n)],
        "acquisition_date": [(AS_OF - pd.Timedelta(days=900 + i)).strftime("%Y-%m-%d") for i in range(n)],
        "stage": [["customer", "prospect", "lead", "qualified"][i % 4] for i in range(n)],
        "owner": [["Ann", "Bob"][i % 2] for i in range(n)],
        **_contact_wishes(n, rng),
    })


_YES_NO = ("yes", "no", "oui", "non", "1", "0", "true", "false", None)


def _contact_wishes(n: int, rng: np.random.Generator) -> dict[str, list]:
    """The contact columns for ``n`` people, in every spelling the contract reads (and some left empty)."""
    return {
        "preferred_channel": [["email", "phone", "mail", "visit", "E-mail", None][int(k)] for k in rng.integers(0, 6, n)],
        "consent_email": [_YES_NO[int(k)] for k in rng.integers(0, len(_YES_NO), n)],
        "consent_phone": [_YES_NO[int(k)] for k in rng.integers(0, len(_YES_NO), n)],
        "do_not_contact": [["no", "no", "non", "0", "yes", None][int(k)] for k in rng.integers(0, 6, n)],
    }


def _leads(shape: Shape, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    n_converted = int(round(shape.n_leads * shape.converted_share))
    wishes = pd.DataFrame(_contact_wishes(shape.n_leads, rng))
    for i in range(shape.n_leads):
        converted = i < n_converted
        customer = f"C{i % shape.n_customers + 1:03d}" if converted else None
        n_events = int(rng.integers(1, 4))
        for e in range(n_events):
            # a converted lead's customer bought 10 days before AS_OF at the latest; events after that
            # date model "no event before its conversion date"
            days_ago = int(rng.integers(0, 400)) if shape.events_before_conversion else int(rng.integers(0, 5))
            rows.append({
                "lead_id": f"L{i + 1:04d}", "date": (AS_OF - pd.Timedelta(days=days_ago)).strftime("%Y-%m-%d"),
                "event": ["form", "download", "visit", "meeting", "email_click"][(i + e) % 5],
                "customer_id": customer, "source": ["referral", "webinar", "paid ads"][i % 3],
                "role": ["CEO / owner", "engineer"][i % 2], "employees": int(rng.integers(1, 400)),
                "industry": ["Manufacturing", "Retail"][i % 2], "budget": round(float(rng.uniform(0, 50000)), 2),
                **wishes.iloc[i].to_dict(),
            })
    return pd.DataFrame(rows, columns=["lead_id", "date", *LEAD_OPTIONAL])


def _feedback(shape: Shape, customer_ids: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """Survey answers on the shape's scale: some customers answer more than once, one id is unknown,
    and comments hold markup and formula-like text (they must be shown and exported as text)."""
    _, low, high = FEEDBACK_SCALES[shape.feedback_scale]
    ids = [*customer_ids, "C999"]
    rows = []
    for k in range(shape.n_answers):
        days_ago = 10 if shape.single_day else int(rng.integers(0, 800))
        rows.append({
            "customer_id": ids[int(rng.integers(0, len(ids)))],
            "date": (AS_OF - pd.Timedelta(days=days_ago)).strftime("%Y-%m-%d"),
            "score": int(rng.integers(low, high + 1)),
            "comment": ["<b>late</b> delivery & co", "=HYPERLINK(\"x\")", None, "great service"][k % 4],
            "channel": ["email survey", "phone"][k % 2],
            "topic": ["delivery", "price", "support <i>", None][k % 4],
        })
    return pd.DataFrame(rows, columns=["customer_id", "date", "score", *FEEDBACK_OPTIONAL])


def _payments(customer_ids: list[str], rng: np.random.Generator) -> pd.DataFrame:
    due = [AS_OF - pd.Timedelta(days=int(rng.integers(20, 400))) for _ in customer_ids]
    return pd.DataFrame({
        "customer_id": customer_ids,
        "due_date": [d.strftime("%Y-%m-%d") for d in due],
        "amount": [round(float(rng.uniform(10, 900)), 2) for _ in customer_ids],
        "order_id": [f"O{i + 1:05d}" for i in range(len(customer_ids))],
        "paid_date": [(d + pd.Timedelta(days=int(rng.integers(-5, 40)))).strftime("%Y-%m-%d") if k % 3 else None
                      for k, d in enumerate(due)],
    })


def _tickets(customer_ids: list[str], rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": customer_ids,
        "date": [(AS_OF - pd.Timedelta(days=int(rng.integers(1, 300)))).strftime("%Y-%m-%d") for _ in customer_ids],
        "minutes": [int(rng.integers(5, 120)) for _ in customer_ids],
        "cost": [round(float(rng.uniform(0, 80)), 2) for _ in customer_ids],
    })


REQUIRED = {"transactions": ["customer_id", "date", "amount"], "customers": ["customer_id"],
            "payments": ["customer_id", "due_date", "amount"], "tickets": ["customer_id", "date"],
            "leads": ["lead_id", "date"], "feedback": ["customer_id", "date", "score"]}
OPTIONAL = {"transactions": TRANSACTION_OPTIONAL, "customers": CUSTOMER_OPTIONAL,
            "payments": ("order_id", "paid_date"), "tickets": ("minutes", "cost"), "leads": LEAD_OPTIONAL,
            "feedback": FEEDBACK_OPTIONAL}


def shape_frames(shape: Shape) -> dict[str, pd.DataFrame]:
    """The tables of ``shape``, as a user would export them (text dates, only the chosen columns)."""
    rng = np.random.default_rng(shape.seed)
    full = {"transactions": _lines(shape, rng)}
    ids = sorted(full["transactions"]["customer_id"].unique())
    builders = {"customers": lambda: _customers(shape, rng), "payments": lambda: _payments(ids, rng),
                "tickets": lambda: _tickets(ids, rng), "leads": lambda: _leads(shape, rng),
                "feedback": lambda: _feedback(shape, ids, rng)}
    for table in shape.tables:
        full[table] = builders[table]()
    frames = {}
    for table, frame in full.items():
        chosen = [c for c in OPTIONAL[table] if c in shape.columns.get(table, ())]
        frame = frame[REQUIRED[table] + chosen].copy()
        for empty_table, column in shape.empty:
            if empty_table == table and column in frame.columns:
                frame[column] = None
        frames[table] = frame
    return frames


def write_portfolio(shape: Shape, folder: Path) -> Path:
    """Write the shape's CSV files and ``portfolio.yml`` into ``folder``; return the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {}
    for table, frame in shape_frames(shape).items():
        frame.to_csv(folder / f"{table}.csv", index=False)
        tables[table] = {"path": f"{table}.csv"}
    config = {"name": "Shape test", "currency": "EUR", "as_of": AS_OF.strftime("%Y-%m-%d"), "seed": 1,
              "tables": tables}
    if "feedback" in shape.tables:
        config["feedback"] = {"scale": FEEDBACK_SCALES[shape.feedback_scale][0]}
    path = folder / "portfolio.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@st.composite
def shape_strategy(draw, required: tuple[str, ...] = ()) -> Shape:
    """Draw a valid shape: optional tables and columns, empty columns, 1-50 customers, 1-20 lines each;
    the ``required`` optional tables are always given (``("feedback",)`` for the shapes of notebook 08)."""
    n_customers = draw(st.integers(1, 50))
    lines = tuple(draw(st.lists(st.integers(1, 20), min_size=1, max_size=4)))
    tables = tuple(t for t in OPTIONAL_TABLES if t in required or draw(st.booleans()))
    columns = {"transactions": tuple(draw(st.sets(st.sampled_from(TRANSACTION_OPTIONAL))))}
    for table in tables:
        columns[table] = tuple(draw(st.sets(st.sampled_from(OPTIONAL[table]))))
    present = [(t, c) for t, cols in columns.items() for c in cols]
    empty = tuple(draw(st.sets(st.sampled_from(present), max_size=3))) if present else ()
    has_leads, has_feedback = "leads" in tables, "feedback" in tables
    return Shape(
        n_customers=n_customers, lines_per_customer=lines, single_day=draw(st.booleans()), tables=tables,
        columns=columns, empty=tuple(sorted(empty)),
        n_leads=draw(st.integers(1, 60)) if has_leads else 0,
        converted_share=draw(st.sampled_from([0.0, 0.3, 1.0])) if has_leads else 0.0,
        events_before_conversion=draw(st.booleans()), seed=draw(st.integers(0, 1000)),
        all_cancelled="status" in columns["transactions"] and draw(st.sampled_from([False, False, False, True])),
        n_answers=draw(st.integers(1, 80)) if has_feedback else 0,
        feedback_scale=draw(st.sampled_from(sorted(FEEDBACK_SCALES))) if has_feedback else "nps",
    )


ALL = {t: OPTIONAL[t] for t in OPTIONAL}
NAMED_SHAPES: dict[str, Shape] = {
    "one_customer_one_line": Shape(n_customers=1, lines_per_customer=(1,)),
    "customers_id_only": Shape(n_customers=8, tables=("customers",), columns={"customers": ()}),
    "customers_id_and_name": Shape(n_customers=8, tables=("customers",), columns={"customers": ("name",)}),
    "empty_email_phone": Shape(n_customers=10, tables=("customers",), columns={"customers": ALL["customers"]},
                               empty=(("customers", "email"), ("customers", "phone"))),
    "one_day_two_customers": Shape(n_customers=2, lines_per_customer=(2, 1), single_day=True,
                                   columns={"transactions": ("order_id", "category")}),
    "leads_id_and_date": Shape(n_customers=6, tables=("leads",), columns={"leads": ()}, n_leads=30),
    "leads_none_converted": Shape(n_customers=12, tables=("customers", "leads"),
                                  columns={"customers": ("customer_type", "industry"), "leads": ALL["leads"]},
                                  n_leads=40, converted_share=0.0),
    "leads_converted_without_prior_event": Shape(
        n_customers=12, tables=("leads",), columns={"leads": ALL["leads"]}, n_leads=50, converted_share=1.0,
        events_before_conversion=False),
    "every_line_cancelled": Shape(n_customers=3, lines_per_customer=(2,), columns={"transactions": ("status",)},
                                  all_cancelled=True),
    "leads_enough_to_model": Shape(n_customers=20, lines_per_customer=(2, 5), tables=("customers", "leads"),
                                   columns={"customers": ("industry", "employees", "stage"), "leads": ALL["leads"]},
                                   n_leads=60, converted_share=0.5),
    "everything": Shape(n_customers=30, lines_per_customer=(1, 4, 12), tables=OPTIONAL_TABLES, columns=ALL,
                        n_leads=60, converted_share=0.3, n_answers=60),
    "feedback_csat_required_only": Shape(n_customers=15, lines_per_customer=(2, 6), tables=("feedback",),
                                         columns={"feedback": ()}, n_answers=40, feedback_scale="csat"),
}


def notebook_code(path: Path) -> list[str]:
    """The code cells of a notebook, in order (the parameters cell first)."""
    import nbformat

    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def run_notebook_in_process(path: Path, parameters: dict) -> dict:
    """Execute a notebook's code cells in this process, the parameters cell overridden by ``parameters``
    as papermill does; return the namespace. Much faster than a kernel, and the very same calls."""
    namespace: dict = {}
    cells = notebook_code(path)
    exec(compile(cells[0], f"{path.name}[parameters]", "exec"), namespace)  # noqa: S102
    namespace.update(parameters)
    for index, source in enumerate(cells[1:], start=1):
        exec(compile(source, f"{path.name}[code cell {index}]", "exec"), namespace)  # noqa: S102
    return namespace


def folder_texts(folder: Path) -> dict[Path, str]:
    """Every file under ``folder`` as text (Parquet files as their CSV), to search a run folder for a value."""
    texts = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".parquet":
            texts[path] = pd.read_parquet(path).to_csv()
        elif path.is_file():
            texts[path] = path.read_text(encoding="utf-8", errors="replace")
    return texts
