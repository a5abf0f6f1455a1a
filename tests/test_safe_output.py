"""Safe outputs: no markup from the data or the config is live in a page, no export cell is a formula.

End to end: a small generated portfolio with markup and ``&`` planted in every text the
report shows (customer names and ids, industries, owners, countries, categories, products,
lead roles, the portfolio name, RFM segment and cluster names given in the config) goes
through ``portfolio report`` once; every HTML page is parsed and every CSV export scanned.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from portfolio_helpers.app.cli import main
from portfolio_helpers.app.sample_data import generate_portfolio, write_portfolio

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
PLANTS = (f"{SCRIPT} & co", f"{IMG} & co", f"R&D {SCRIPT}{IMG}")
PORTFOLIO_NAME = f"Planted {SCRIPT} & {IMG} portfolio"
RFM_BEST = f"Best {IMG} & co"
CLUSTER_NAME = f"Cluster {SCRIPT} & co"


def _planted(values: pd.Series) -> dict:
    """Each distinct value -> the value followed by one of the planted strings."""
    distinct = sorted(values.dropna().astype(str).unique())
    return {value: f"{value} {PLANTS[i % len(PLANTS)]}" for i, value in enumerate(distinct)}


def _plant_portfolio(folder: Path) -> Path:
    sample = generate_portfolio(n_customers=150, seed=11)
    tables, config = sample.tables, sample.config
    customers, transactions, leads = tables["customers"], tables["transactions"], tables["leads"]

    customers["name"] = [f"{name} {PLANTS[i % len(PLANTS)]}" for i, name in enumerate(customers["name"])]
    for column in ("owner", "acquisition_channel"):
        customers[column] = customers[column].map(_planted(customers[column]))
    industries = _planted(pd.concat([customers["industry"], leads["industry"]]))
    customers["industry"] = customers["industry"].map(industries)
    leads["industry"] = leads["industry"].map(industries)
    rarest_country = customers["country"].value_counts().index[-1]
    customers["country"] = customers["country"].replace({rarest_country: f"{rarest_country} {IMG}"})
    # The biggest customer gets an id with markup, in every table that names it.
    top = transactions.groupby("customer_id")["amount"].sum().idxmax()
    for frame in (customers, transactions, tables["payments"], tables["tickets"], leads):
        frame["customer_id"] = frame["customer_id"].replace({top: f"{top}{IMG}&"})
    categories = _planted(transactions["category"])
    transactions["category"] = transactions["category"].map(categories)
    transactions["product_id"] = transactions["product_id"].map(_planted(transactions["product_id"]))
    transactions["channel"] = transactions["channel"].map(_planted(transactions["channel"]))
    roles = _planted(leads["role"])
    leads["role"] = leads["role"].map(roles)

    config["name"] = PORTFOLIO_NAME
    rates = config["costs"]["cogs_rate_by_category"]
    config["costs"]["cogs_rate_by_category"] = {categories[key]: rate for key, rate in rates.items()}
    renamed = {**industries, **roles}
    for side in ("fit", "engagement"):
        for criterion in config["scoring"]["leads"][side]["criteria"]:
            if "in" in criterion:
                criterion["in"] = [renamed.get(value, value) for value in criterion["in"]]
            if "equals" in criterion:
                criterion["equals"] = renamed.get(criterion["equals"], criterion["equals"])
            if "label" in criterion:
                criterion["label"] += f" {PLANTS[0]}"
    config["rfm"] = {"segments": {RFM_BEST: {"r": [4, 5], "f": [4, 5]},
                                  "Rest & co": {"r": [1, 5], "f": [1, 3]},
                                  f"Fading {SCRIPT}": {"r": [1, 3], "f": [4, 5]}}}
    config["playbook"] = {RFM_BEST: {"action": f"call {IMG} & thank", "offer": f"{SCRIPT} & gifts"}}
    config["segments"] = {"names": {0: CLUSTER_NAME}}
    write_portfolio(sample, folder)
    # write_portfolio writes the config the generator built; the planted one replaces it.
    path = folder / "portfolio.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    config = _plant_portfolio(folder)
    out = tmp_path_factory.mktemp("planted_reports")
    code = main(["report", "--config", str(config), "--out", str(out)])
    return code, (out / "latest").resolve()


class _Page(HTMLParser):
    """Elements, attributes and visible text of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.script_text: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.script_text if self._in_script else self.text).append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def live_markup(page: _Page) -> list[str]:
    """Elements that come from the planted strings: any script running ``alert(1)``, any
    ``onerror`` handler, any image whose source is ``x``."""
    found = [f"<script>{text.strip()[:60]}" for text in page.script_text if "alert(1)" in text]
    for tag, attrs in page.elements:
        if any(name.startswith("on") and "alert(1)" in (value or "") for name, value in attrs.items()):
            found.append(f"<{tag} {attrs}>")
        elif tag == "img" and attrs.get("src") == "x":
            found.append(f"<{tag} {attrs}>")
    return found


def test_report_completes(planted_run):
    code, run_dir = planted_run
    assert code == 0
    assert len(list(run_dir.glob("*.html"))) == 6  # index and five notebooks


def test_no_page_shows_markup_from_the_data(planted_run):
    _code, run_dir = planted_run
    pages = sorted(run_dir.glob("*.html"))
    assert pages
    problems = {path.name: live_markup(_parse(path)) for path in pages}
    assert {name: found for name, found in problems.items() if found} == {}


def test_planted_text_is_shown_as_text_and_escaped_once(planted_run):
    _code, run_dir = planted_run
    text = {path.name: " ".join(_parse(path).text) for path in sorted(run_dir.glob("*.html"))}
    # The planted strings are visible as text, '&' shows as '&', not as '&amp;'.
    assert PORTFOLIO_NAME in text["index.html"]
    for name in ("01_data_cleaning.html", "02_pareto.html", "03_profitability.html", "05_scoring.html"):
        assert SCRIPT in text[name] or IMG in text[name], name
    assert RFM_BEST in text["04_segmentation.html"] and CLUSTER_NAME in text["04_segmentation.html"]
    for name, shown in text.items():
        assert not re.search(r"&(amp|lt|gt|quot|#\d+);", shown), f"{name} shows escaped entities as text"


def test_exports_hold_no_formula_and_no_float_noise(planted_run):
    from portfolio_helpers.core.files import FORMULA_START, export_decimals

    _code, run_dir = planted_run
    exports = sorted((run_dir / "exports").glob("*.csv"))
    assert len(exports) >= 8
    number = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
    checked = 0
    for path in exports:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            assert not column.startswith(FORMULA_START), (path.name, column)
            cells = frame[column]
            formulas = cells[cells.str.startswith(FORMULA_START) & ~cells.str.fullmatch(number)]
            assert formulas.empty, (path.name, column, formulas.head(3).tolist())
            floats = cells[cells.str.fullmatch(number) & cells.str.contains(".", regex=False)]
            if floats.empty:
                continue
            decimals = export_decimals(column)
            values = floats.astype(float)
            mantissa = floats.str.replace(r"[eE].*$", "", regex=True)
            too_long = floats[(mantissa.str.split(".").str[1].str.len() > decimals)
                              & (values.abs() >= 10.0 ** -3)]
            assert too_long.empty, (path.name, column, too_long.head(3).tolist())
            checked += len(floats)
    assert checked > 1000
    # The planted markup reached the exports as text, and a formula-like name was neutralised.
    customers = pd.read_csv(run_dir / "exports" / "leads_scored.csv", dtype=str, keep_default_na=False)
    assert customers["top_reasons"].str.startswith("'+").any()


def test_quote_prefix_keeps_numbers_and_neutralises_formulas():
    from portfolio_helpers.core.files import neutralise_formula

    assert neutralise_formula("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert neutralise_formula("+15 decision maker; +10 budget") == "'+15 decision maker; +10 budget"
    assert neutralise_formula("+33 4 79 81 04 80") == "'+33 4 79 81 04 80"
    assert neutralise_formula("@SUM(A1:A2)") == "'@SUM(A1:A2)"
    assert neutralise_formula("\t=1+1") == "'\t=1+1"
    assert neutralise_formula("\r=1+1") == "'\r=1+1"
    assert neutralise_formula("-") == "'-"
    for number in ("-12.5", "+3", "-1e-05", "-.5", "12"):
        assert neutralise_formula(number) == number
    for text in ("Alpha SARL", "'=already quoted", "", "a=b", "−19 pts"):
        assert neutralise_formula(text) == text
    assert neutralise_formula(float("nan")) is not None and math.isnan(neutralise_formula(float("nan")))
    assert neutralise_formula(-3) == -3


def test_money_columns_to_the_cent_and_other_floats_to_four_decimals():
    from portfolio_helpers.core.files import export_decimals, safe_for_spreadsheet

    for money in ("revenue", "gross_margin", "cost_to_serve", "cogs", "profit", "median_avg_order_value",
                  "amount", "clv", "monetary", "median_gross_margin", "budget"):
        assert export_decimals(money) == 2, money
    for ratio in ("revenue_share", "profit_margin", "median_margin_rate", "index_profit", "value_score",
                  "purchase_probability", "median_revenue_trend", "recency_days", "cluster", "discount_share"):
        assert export_decimals(ratio) == 4, ratio
    frame = pd.DataFrame({
        "customer_id": ["=1+1", "C2", "C3"],
        "revenue": [11592.492000000001, 0.1 + 0.2, -0.004],
        "revenue_share": [0.39999999999999997, 0.000364519, 1 / 3],
        "orders": [1, 2, 3],
        "note": ["+15 fit", None, "-12.5"],
    })
    safe = safe_for_spreadsheet(frame)
    assert safe["revenue"].tolist() == [11592.49, 0.3, 0.0]
    assert str(safe["revenue"].iloc[2]) == "0.0"  # no '-0.0'
    # Four decimals; a share below 0.001 keeps four significant digits instead of rounding to 0.
    assert safe["revenue_share"].tolist() == [0.4, 0.0003645, 0.3333]
    assert safe["orders"].tolist() == [1, 2, 3] and safe["orders"].dtype == frame["orders"].dtype
    assert safe["customer_id"].tolist() == ["'=1+1", "C2", "C3"]
    assert safe["note"].iloc[0] == "'+15 fit" and pd.isna(safe["note"].iloc[1]) and safe["note"].iloc[2] == "-12.5"
    assert frame["revenue"].iloc[0] == 11592.492000000001  # the caller's frame is left alone
    # Column names and index values are cells too.
    weird = pd.DataFrame({"=cmd": [1.0]}, index=pd.Index(["@x"], name="-key"))
    safe = safe_for_spreadsheet(weird)
    assert list(safe.columns) == ["'=cmd"] and list(safe.index) == ["'@x"] and safe.index.name == "'-key"


def test_atomic_to_csv_writes_safe_cells_unless_asked_for_raw(tmp_path):
    from portfolio_helpers.core.files import atomic_to_csv

    frame = pd.DataFrame({"reason": ["+15 fit", "ok"], "revenue": [1.1 + 2.2, np.nan],
                          "share": [0.1 + 0.2, 0.5]})
    text = atomic_to_csv(frame, tmp_path / "export.csv").read_text(encoding="utf-8")
    assert text == "reason,revenue,share\n'+15 fit,3.3,0.3\nok,,0.5\n"
    raw = atomic_to_csv(frame, tmp_path / "raw.csv", spreadsheet_safe=False).read_text(encoding="utf-8")
    assert raw == "reason,revenue,share\n+15 fit,3.3000000000000003,0.30000000000000004\nok,,0.5\n"
    # Writing the export again (a notebook reads customers.csv back and adds columns) changes nothing.
    again = pd.read_csv(tmp_path / "export.csv")
    assert atomic_to_csv(again, tmp_path / "again.csv").read_text(encoding="utf-8") == text
