"""A small generator of valid shapes of the data contract, for the shape tests.

A *shape* says which optional tables are given (customers, payments, tickets, leads), which of their
optional columns exist, which of those exist but are entirely empty, how many customers and lines there
are and whether every purchase falls on one day. :func:`write_portfolio` writes it as CSV files with a
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
CUSTOMER_OPTIONAL = ("name", "email", "phone", "address", "postal_code", "city", "country", "customer_type",
                     "industry", "employees", "annual_revenue", "acquisition_date", "stage", "owner")
LEAD_OPTIONAL = ("event", "customer_id", "source", "role", "employees", "industry", "budget")
OPTIONAL_TABLES = ("customers", "payments", "tickets", "leads")


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
    seed: int = 0

    def describe(self) -> str:
        parts = [f"{self.n_customers} customer(s)", "one day" if self.single_day else "several days"]
        if self.all_cancelled:
            parts.append("every line cancelled")
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
    })


def _leads(shape: Shape, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    n_converted = int(round(shape.n_leads * shape.converted_share))
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
            })
    return pd.DataFrame(rows, columns=["lead_id", "date", *LEAD_OPTIONAL])


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
            "leads": ["lead_id", "date"]}
OPTIONAL = {"transactions": TRANSACTION_OPTIONAL, "customers": CUSTOMER_OPTIONAL,
            "payments": ("order_id", "paid_date"), "tickets": ("minutes", "cost"), "leads": LEAD_OPTIONAL}


def shape_frames(shape: Shape) -> dict[str, pd.DataFrame]:
    """The tables of ``shape``, as a user would export them (text dates, only the chosen columns)."""
    rng = np.random.default_rng(shape.seed)
    full = {"transactions": _lines(shape, rng)}
    ids = sorted(full["transactions"]["customer_id"].unique())
    builders = {"customers": lambda: _customers(shape, rng), "payments": lambda: _payments(ids, rng),
                "tickets": lambda: _tickets(ids, rng), "leads": lambda: _leads(shape, rng)}
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
    path = folder / "portfolio.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@st.composite
def shape_strategy(draw) -> Shape:
    """Draw a valid shape: optional tables and columns, empty columns, 1-50 customers, 1-20 lines each."""
    n_customers = draw(st.integers(1, 50))
    lines = tuple(draw(st.lists(st.integers(1, 20), min_size=1, max_size=4)))
    tables = tuple(t for t in OPTIONAL_TABLES if draw(st.booleans()))
    columns = {"transactions": tuple(draw(st.sets(st.sampled_from(TRANSACTION_OPTIONAL))))}
    for table in tables:
        columns[table] = tuple(draw(st.sets(st.sampled_from(OPTIONAL[table]))))
    present = [(t, c) for t, cols in columns.items() for c in cols]
    empty = tuple(draw(st.sets(st.sampled_from(present), max_size=3))) if present else ()
    has_leads = "leads" in tables
    return Shape(
        n_customers=n_customers, lines_per_customer=lines, single_day=draw(st.booleans()), tables=tables,
        columns=columns, empty=tuple(sorted(empty)),
        n_leads=draw(st.integers(1, 60)) if has_leads else 0,
        converted_share=draw(st.sampled_from([0.0, 0.3, 1.0])) if has_leads else 0.0,
        events_before_conversion=draw(st.booleans()), seed=draw(st.integers(0, 1000)),
        all_cancelled="status" in columns["transactions"] and draw(st.sampled_from([False, False, False, True])),
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
                        n_leads=60, converted_share=0.3),
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
