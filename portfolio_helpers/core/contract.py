"""The data contract: canonical tables and columns, defined once.

Every loader, notebook and export refers to these names. A user's export is
mapped onto them through the ``columns:`` section of the portfolio config.
``docs/data_contract.md`` is generated from this module (see
:func:`contract_markdown`) and a test keeps the two in sync.

Column kinds
------------
``id``
    Identifier, kept as text (leading zeros survive; ``1001.0`` read from
    Excel, or written as text by an earlier tool, becomes ``"1001"`` in every table).
``date``
    Calendar date or timestamp; day-first and ISO formats are recognised.
``number``
    Decimal number; decimal comma, thousands separators and currency
    symbols/codes are accepted.
``integer``
    Whole number (same parsing as ``number``).
``text``
    Free text, kept as given (trimmed).
``category``
    One of a fixed set of values; common spellings are mapped onto it
    (``Cancelled``, ``canceled``, ``annulée`` -> ``cancelled``).
``boolean``
    Yes or no: ``yes``/``no``, ``true``/``false``, ``1``/``0``, ``oui``/``non`` (any case).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from portfolio_helpers.core.vocabulary import definitions_markdown

__all__ = [
    "Column",
    "Table",
    "TABLES",
    "TABLE_ORDER",
    "normalize_label",
    "contract_markdown",
    "PERSONAL_DATA_COLUMNS",
    "FREE_TEXT_COLUMNS",
    "CONTACT_CHANNELS",
    "ANSWER_KEY_SECTIONS",
]


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id | date | number | integer | text | category | boolean
    required: bool = False
    description: str = ""
    # category columns: canonical value -> accepted spellings (normalized with normalize_label)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    # leads carry open-ended fit attributes (role, budget, ...): extra mapped names are allowed
    allow_extra: bool = False
    # another table whose columns may also be mapped here (customer attributes that line-item
    # exports repeat on every line): see Table.attribute_columns
    attributes_of: str | None = None
    # canonical column -> the columns it is computed from when it is not mapped
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def attribute_columns(self) -> list[str]:
        """Columns of :attr:`attributes_of` that may be mapped on this table (all but ``customer_id``)."""
        if self.attributes_of is None:
            return []
        return [name for name in TABLES[self.attributes_of].column_names if name != "customer_id"]


def normalize_label(value: str) -> str:
    """Lower-case, strip accents and collapse separators: ``"N° Client "`` -> ``"n client"``."""
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("_", " ").replace("-", " ").replace("°", " ")
    return " ".join(text.split())


_STATUS = {
    "completed": ("completed", "complete", "done", "paid", "invoiced", "ok", "delivered", "shipped",
                  "closed", "termine", "terminee", "livre", "livree", "facture", "facturee", "valide"),
    "cancelled": ("cancelled", "canceled", "cancel", "annule", "annulee", "void", "voided"),
    "returned": ("returned", "return", "retour", "retourne", "retournee", "refunded", "rembourse"),
    "modified": ("modified", "changed", "amended", "modifie", "modifiee"),
}
_CUSTOMER_TYPE = {
    "B2B": ("b2b", "business", "company", "professional", "pro", "entreprise", "societe", "corporate"),
    "B2C": ("b2c", "consumer", "private", "individual", "person", "particulier", "retail"),
}
_STAGE = {
    "lead": ("lead", "suspect", "contact"),
    "prospect": ("prospect",),
    "qualified": ("qualified", "qualified prospect", "sql", "opportunity", "prospect qualifie", "qualifie"),
    "customer": ("customer", "client", "won", "active customer"),
}
_EVENT = {
    "form": ("form", "form fill", "form submitted", "formulaire"),
    "download": ("download", "telechargement"),
    "email_open": ("email open", "email opened", "open", "ouverture email"),
    "email_click": ("email click", "email clicked", "click", "clic email"),
    "visit": ("visit", "web visit", "page view", "visite"),
    "meeting": ("meeting", "demo", "rendez vous", "rdv", "reunion"),
    "call": ("call", "phone call", "appel"),
}

_CHANNEL = {
    "email": ("email", "e mail", "mail electronique", "courriel"),
    "phone": ("phone", "telephone", "tel", "call", "mobile", "appel"),
    "mail": ("mail", "post", "letter", "postal mail", "courrier", "lettre"),
    "visit": ("visit", "meeting", "in person", "visite", "rendez vous"),
}
#: The contact channels and the customers column holding each one's consent (``None``: no consent column;
#: a visit or a letter needs only that the customer has not asked not to be contacted).
CONTACT_CHANNELS: dict[str, str | None] = {"email": "consent_email", "phone": "consent_phone", "mail": None,
                                           "visit": None}



def _contact_columns(who: str) -> tuple[Column, ...]:
    """The contact wishes and consents of a customer or a lead (the same columns in both tables)."""
    return (
        Column("preferred_channel", "category", False,
               f"How the {who} prefers to be contacted (personal data: a wish).", _CHANNEL),
        Column("consent_email", "boolean", False, f"The {who} agreed to be contacted by e-mail."),
        Column("consent_phone", "boolean", False, f"The {who} agreed to be contacted by phone."),
        Column("do_not_contact", "boolean", False,
               f"The {who} asked not to be contacted at all; left out of every call list."),
    )


TABLES: dict[str, Table] = {
    "transactions": Table(
        "transactions",
        "One row per invoice or order line (required table).",
        (
            Column("customer_id", "id", True, "Customer identifier; links to the customers table."),
            Column("date", "date", True, "Invoice or order date."),
            Column("amount", "number", True,
                   "Net revenue excluding tax; negative for credit notes and returns. When it is not "
                   "mapped, it is computed as `quantity` × `unit_price` − `discount` (discount when given)."),
            Column("order_id", "id", False, "Order or invoice number (several lines may share one)."),
            Column("quantity", "number", False, "Units on the line."),
            Column("unit_price", "number", False,
                   "Price of one unit, excluding tax; with `quantity`, replaces `amount` when that is not mapped."),
            Column("product_id", "id", False, "Product or SKU."),
            Column("category", "text", False, "Product category."),
            Column("cost", "number", False, "Cost of goods sold for the line."),
            Column("discount", "number", False, "Discount granted on the line, in currency."),
            Column("status", "category", False, "Line status.", _STATUS),
            Column("channel", "text", False, "Sales channel (web, store, field sales, ...)."),
        ),
        attributes_of="customers",
        derived={"amount": ("quantity", "unit_price")},
    ),
    "customers": Table(
        "customers",
        "One row per customer record (CRM account or contact).",
        (
            Column("customer_id", "id", True, "Customer identifier."),
            Column("name", "text", False, "Company or person name (personal data)."),
            Column("email", "text", False, "E-mail address (personal data)."),
            Column("phone", "text", False, "Phone number (personal data)."),
            Column("address", "text", False, "Street address (personal data)."),
            Column("postal_code", "text", False, "Postal code, kept as text."),
            Column("city", "text", False, "City."),
            Column("country", "text", False, "Country name or code."),
            Column("customer_type", "category", False, "B2B or B2C.", _CUSTOMER_TYPE),
            Column("industry", "text", False, "Industry (B2B)."),
            Column("employees", "integer", False, "Number of employees (B2B)."),
            Column("annual_revenue", "number", False, "Customer's own annual revenue (B2B)."),
            Column("birth_year", "integer", False, "Year of birth (B2C)."),
            Column("gender", "text", False, "Gender (B2C)."),
            Column("income_band", "text", False, "Income band (B2C)."),
            Column("acquisition_date", "date", False, "Date the customer was acquired."),
            Column("acquisition_channel", "text", False, "Channel the customer came from."),
            Column("stage", "category", False, "Lifecycle stage.", _STAGE),
            Column("owner", "text", False, "Account owner / sales rep."),
            *_contact_columns("customer"),
        ),
    ),
    "payments": Table(
        "payments",
        "One row per invoice to be paid, with its due and payment dates.",
        (
            Column("customer_id", "id", True, "Customer identifier."),
            Column("order_id", "id", False, "Order or invoice number."),
            Column("due_date", "date", True, "Payment due date."),
            Column("paid_date", "date", False, "Date paid; empty when still unpaid."),
            Column("amount", "number", True, "Invoice amount."),
        ),
    ),
    "tickets": Table(
        "tickets",
        "After-sales service tickets.",
        (
            Column("customer_id", "id", True, "Customer identifier."),
            Column("date", "date", True, "Date the ticket was opened."),
            Column("minutes", "number", False, "Time spent handling the ticket."),
            Column("cost", "number", False, "Direct cost of the ticket (parts, travel, ...)."),
        ),
    ),
    "leads": Table(
        "leads",
        "Prospects and their activity: one row per event. Extra fit attributes are allowed.",
        (
            Column("lead_id", "id", True, "Lead / contact identifier."),
            Column("date", "date", True, "Date of the event."),
            Column("event", "category", False, "Activity type.", _EVENT),
            Column("customer_id", "id", False, "Customer id once the lead has converted."),
            Column("source", "text", False, "Lead source (webinar, referral, ads, ...)."),
            Column("role", "text", False, "Contact's role (fit attribute)."),
            Column("employees", "integer", False, "Company size (fit attribute)."),
            Column("industry", "text", False, "Industry (fit attribute)."),
            Column("budget", "number", False, "Declared budget (fit attribute)."),
            Column("expected_date", "date", False, "Expected purchase date (fit attribute)."),
            *_contact_columns("lead"),
        ),
        allow_extra=True,
    ),
    "feedback": Table(
        "feedback",
        "Survey answers: one row per answer (NPS 0–10, CSAT 1–5 or the scale of `feedback: {scale: ...}` in the "
        "config; a score outside it is rejected).",
        (
            Column("customer_id", "id", True, "Customer who answered."),
            Column("date", "date", True, "Date of the answer."),
            Column("score", "number", True, "Score given, on the scale declared in the config."),
            Column("comment", "text", False,
                   "Free-text comment (may hold names: left out of every page and export with `pseudonymize: true`)."),
            Column("channel", "text", False, "Where the answer was collected (e-mail survey, phone, store, ...)."),
            Column("topic", "text", False, "What the answer is about (delivery, product, support, price, ...)."),
        ),
    ),
}

TABLE_ORDER: tuple[str, ...] = tuple(TABLES)

PERSONAL_DATA_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("name", "email", "phone", "address"),
}
#: Free text that may hold anything (names, phone numbers): with ``pseudonymize: true`` it is left out
#: of every table, page and export, not pseudonymized.
FREE_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "feedback": ("comment",),
}

#: Sections an answer key (``answer_key:`` of the config, written by ``portfolio demo-data``) must
#: hold, each a JSON list.
ANSWER_KEY_SECTIONS: tuple[str, ...] = ("customers", "duplicate_groups", "defects", "leads")


def contract_markdown() -> str:
    """Render the contract as the Markdown page ``docs/data_contract.md``."""
    lines = [
        "# Data contract",
        "",
        "Generated from `portfolio_helpers/contract.py` (do not edit by hand: run",
        "`python -m portfolio_helpers.core.contract > docs/data_contract.md`).",
        "",
        "Only `transactions` is required. Within a table that is given, columns marked **yes** are required.",
        "Map your own column names onto these with the `columns:` section of the portfolio config.",
        "An optional column that is entirely empty counts as absent: the loader drops it and says so.",
        "Identifiers (kind `id`) are text: leading zeros stay (`00123`), and an id an earlier tool wrote as a",
        "float (`17450.0`) is read as `17450` in every table, so that tables still join.",
        "",
        "A table may come from text (CSV, Excel: every value parsed as described below) or be typed: Parquet",
        "(`path:` one file, a folder or a glob) or a table of the engine's catalog (`table: sales.order_lines`).",
        "Typed `transactions` are validated by the engine and never read into pandas; the type of each column",
        "must match its kind: `id` text or whole numbers, `date` date or timestamp, `number` and `integer`",
        "numeric, `category` and `text` text, `boolean` boolean or yes/no text. A wrong type stops the run;",
        "missing or unreadable values (an empty id, a NaN amount) reject the row as for text files.",
        "",
    ]
    for table in TABLES.values():
        lines += [f"## {table.name}", "", table.description, "",
                  "| column | kind | required | description |", "|---|---|---|---|"]
        for col in table.columns:
            desc = col.description
            if col.values:
                desc += " Values: " + ", ".join(f"`{v}`" for v in col.values) + "."
            required = "**yes**" if col.required else ""
            if col.required and col.name in table.derived:
                required += " (or " + " and ".join(f"`{name}`" for name in table.derived[col.name]) + ")"
            lines.append(f"| `{col.name}` | {col.kind} | {required} | {desc} |")
        lines.append("")
        if table.attributes_of:
            lines += [
                f"Any column of the `{table.attributes_of}` table except `customer_id` (`country`, "
                f"`customer_type`, `industry`, `owner`, ...) may also be mapped here, when the export repeats "
                f"it on every line. Each customer gets their most frequent value over their lines (ties: the "
                f"value of their latest line), used only where the `{table.attributes_of}` table gives none; "
                f"without a `{table.attributes_of}` table, one is made from the customer ids of the lines.",
                "",
            ]
    lines += definitions_markdown()
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(contract_markdown())
