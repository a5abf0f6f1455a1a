from pathlib import Path

from portfolio_helpers.core.contract import TABLES, contract_markdown, normalize_label

DOC = Path(__file__).resolve().parents[2] / "docs" / "data_contract.md"


def test_doc_page_is_generated_from_the_contract():
    assert DOC.read_text(encoding="utf-8").strip() == contract_markdown().strip(), (
        "docs/data_contract.md is stale: python -m portfolio_helpers.core.contract > docs/data_contract.md"
    )


def test_required_columns_match_the_contract():
    required = {name: table.required for name, table in TABLES.items()}
    assert required == {
        "transactions": ["customer_id", "date", "amount"],
        "customers": ["customer_id"],
        "payments": ["customer_id", "due_date", "amount"],
        "tickets": ["customer_id", "date"],
        "leads": ["lead_id", "date"],
        "feedback": ["customer_id", "date", "score"],
    }
    assert TABLES["leads"].allow_extra and not TABLES["transactions"].allow_extra


def test_category_spellings_are_unambiguous():
    for table in TABLES.values():
        for column in table.columns:
            seen = {}
            for canonical, spellings in column.values.items():
                for spelling in (canonical, *spellings):
                    label = normalize_label(spelling)
                    assert seen.setdefault(label, canonical) == canonical, (table.name, column.name, spelling)


def test_normalize_label():
    assert normalize_label("  N° Client ") == "n client"
    assert normalize_label("Date_Facturée") == "date facturee"
    assert normalize_label("customer-ID") == "customer id"
