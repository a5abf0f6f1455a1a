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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolio_helpers.app.cli import main
from portfolio_helpers.app.sample_data import generate_portfolio, write_portfolio
from portfolio_helpers.core.files import neutralise_formula
from portfolio_helpers.reporting import growth as growth_report

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
    assert len(list(run_dir.glob("*.html"))) == 9  # index and eight notebooks


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
            filled = cells[cells != ""]
            if filled.empty or not filled.str.fullmatch(number).all():
                continue  # a text column (e.g. a value as the input file spelled it) is not rounded
            floats = filled[filled.str.contains(".", regex=False)]
            decimals = export_decimals(column)
            if path.name == "objectives.csv" and column in ("target", "value", "projected"):
                # one column for money (to the cent) and rates: rounded row by row, by the objective's metric
                money = frame.loc[floats.index, "metric"].isin(growth_report._MONEY_METRICS)
                decimals = pd.Series(4, index=floats.index).where(~money, 2)
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


def _rendered_markdown(text: str) -> _Page:
    """Markdown as the report pages render it (nbconvert's Markdown renderer), parsed."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    page = _Page()
    page.feed(markdown2html_mistune(text))
    page.close()
    return page


@pytest.mark.parametrize("name", [SCRIPT, IMG, "Alpha SARL <script>alert(1)</script>", "R&D & <b>bold</b>",
                                  "a \\<script>alert(1)</script>", "<!-- comment --> <svg/onload=alert(1)>"])
def test_escape_markdown_shows_data_as_text(name):
    from portfolio_helpers.reporting.narrative import bullets, escape_markdown

    text = f"**Top customer:** {name} holds `{name}` of revenue.\n\n" + bullets([f"{name} & co", "second"])
    page = _rendered_markdown(escape_markdown(text))
    assert [tag for tag, _attrs in page.elements] == ["p", "strong", "code", "ul", "li", "li"]
    shown = "".join(page.text)
    expected_name = name.replace("\\<", "<")
    assert f"Top customer: {expected_name} holds {name} of revenue." in shown  # code is shown verbatim
    assert f"{expected_name} & co" in shown


def test_escape_markdown_keeps_formatting_code_spans_and_safe_links():
    from portfolio_helpers.reporting.narrative import escape_markdown

    assert escape_markdown("# Title\n\n*R&D*, `a & b`, ``x ` y``, [doc](https://example.org/?a=1&b=2)") == (
        "# Title\n\n*R&amp;D*, <code>a &#38; b</code>, <code>x &#96; y</code>, [doc](https://example.org/?a=1&amp;b=2)")
    page = _rendered_markdown(escape_markdown("`*not em* C:\\data\\_x_ <b> &amp;`"))
    assert [tag for tag, _ in page.elements] == ["p", "code"]
    assert "".join(page.text).strip() == "*not em* C:\\data\\_x_ <b> &amp;"
    page = _rendered_markdown(escape_markdown("[doc](https://example.org/?a=1&b=2)"))
    assert page.elements == [("p", {}), ("a", {"href": "https://example.org/?a=1&b=2"})]
    assert escape_markdown("a ` b") == "a ` b" and escape_markdown("\\`a`") == "\\`a`"  # unmatched, escaped


@pytest.mark.parametrize("link", ["[x](javascript:alert(1))", "[x]( <JavaScript:alert(1)>)", "[x](java\tscript:1)",
                                  "[x](data:text/html,<script>alert(1)</script>)", "[r]\n\n[r]: vbscript:msgbox(1)",
                                  "[x](&#106;avascript:alert(1))"])
def test_escape_markdown_disarms_script_links(link):
    from portfolio_helpers.reporting.narrative import escape_markdown

    page = _rendered_markdown(escape_markdown(f"Customer {link}"))
    hrefs = [attrs.get("href", "") for tag, attrs in page.elements if tag == "a"]
    assert all(not re.sub(r"[\x00-\x20]", "", href).lower().startswith(("javascript", "vbscript", "data"))
               and "&#" not in href for href in hrefs), hrefs
    assert live_markup(page) == []


def test_table_styler_escapes_cells_headers_caption_and_formatted_text():
    from portfolio_helpers.reporting.narrative import table_styler

    names = {1: f"Seg {SCRIPT}"}
    frame = pd.DataFrame({
        f"name {IMG}": ["Alpha SARL <script>alert(1)</script>", "R&D", None],
        "segment": [1, 1, 1],
        "revenue": [1234.5, np.nan, 0.25],
        "share": [0.5, 0.25, 0.125],
    })
    html_text = table_styler(frame, caption=f"Top {SCRIPT} & co",
                             formats={"segment": names.get, "share": "{:.1%}"}).to_html()
    page = _Page()
    page.feed(html_text)
    page.close()
    assert live_markup(page) == []
    assert not [tag for tag, _ in page.elements if tag in ("script", "img", "b")]
    cells = [text.strip() for text in page.text if text.strip()]
    assert f"name {IMG}" in cells and "Alpha SARL <script>alert(1)</script>" in cells and "R&D" in cells
    assert f"Top {SCRIPT} & co" in cells
    assert cells.count(f"Seg {SCRIPT}") == 3  # text a formatter builds from the data is escaped too
    assert "1234.500000" in cells and "50.0%" in cells  # default Styler precision, given formats
    assert "&amp;amp;" not in html_text and "nan" not in cells and "None" not in cells


def test_index_page_escapes_the_run_record():
    from portfolio_helpers.reporting.html import render_index

    run = {"status": "failed", "run_id": "20240101-000000", "portfolio": PORTFOLIO_NAME, "as_of": "2024-01-01",
           "started": "2024-01-01T00:00:00", "duration_seconds": 1.0, "currency": "EUR", "config": f"/x/{IMG}.yml",
           "notebooks": [{"name": "01_x", "title": f"T {SCRIPT}", "status": "failed", "seconds": 1.0,
                          "html": "01_x.html", "error": f"KeyError: '{IMG}'"}],
           "metrics": {"top_customer": f"Alpha {SCRIPT} & co"}, "inputs": [], "n_rejected_rows": 0,
           "versions": {}, "git": None}
    page = _Page()
    page.feed(render_index(run, [{"path": "exports/a.csv", "size": 10}], None))
    page.close()
    assert live_markup(page) == []
    shown = "".join(page.text)
    assert PORTFOLIO_NAME in shown and f"Alpha {SCRIPT} & co" in shown and f"KeyError: '{IMG}'" in shown


def test_chart_labels_from_the_data_are_plain_text():
    import matplotlib

    from portfolio_helpers.reporting import charts

    charts.use_report_style()
    assert matplotlib.rcParams["text.parse_math"] is False
    figure = charts.count_bars(pd.Series({"Plan $10 & $20": 3, f"{SCRIPT}": 1}), "Plans $ & co", "Customers")
    figure.canvas.draw()  # mathtext would fail on "$10 & $"
    labels = [label.get_text() for ax in figure.axes for label in ax.get_yticklabels() + ax.get_xticklabels()]
    assert "Plan $10 & $20" in labels


def test_customer_export_round_trip_keeps_ids_that_look_like_formulas(tmp_path):
    from portfolio_helpers.reporting.exports import (
        CUSTOMER_EXPORT,
        read_customer_export,
        update_customer_export,
    )

    ids = ["-A12", "+33 1", "=X", "C4", "-7"]
    update_customer_export(tmp_path, pd.DataFrame({"customer_id": ids, "reason": ["+15 fit", "ok", "-", "@x", "a"]}))
    update_customer_export(tmp_path, pd.DataFrame({"customer_id": ids[::-1], "revenue": [1.0, 2.0, 3.0, 4.0, 5.0]}))
    text = (tmp_path / CUSTOMER_EXPORT).read_text(encoding="utf-8")
    assert text.splitlines() == ["customer_id,reason,revenue", "'-A12,'+15 fit,5.0", "'+33 1,ok,4.0",
                                 "'=X,'-,3.0", "C4,'@x,2.0", "-7,a,1.0"]
    back = read_customer_export(tmp_path)
    assert back["customer_id"].tolist() == ids and back["reason"].tolist() == ["+15 fit", "ok", "-", "@x", "a"]


_CELL_TEXT = st.sampled_from(["=1+1", "+15 decision maker", "-12.5", "-A12", "@sum", "\tx", "\uff1dx", "plain",
                              "Müller & co", "", "0.5"]) | st.text(max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.one_of(st.none(), _CELL_TEXT), st.one_of(st.none(), st.floats(-1e6, 1e6)),
                               st.one_of(st.none(), st.floats(0, 1)), st.integers(-5, 5),
                               st.sampled_from(["2025-01-01", "2025-03-31"])), max_size=40),
       chunk=st.integers(1, 7), cells=st.integers(1, 12))
def test_a_big_table_is_written_in_chunks_byte_for_byte_as_whole(tmp_path, monkeypatch, rows, chunk, cells):
    """``atomic_to_csv`` makes a big table safe a chunk at a time: the file is the one the table made safe
    whole and written by pandas gives (pandas formats a CSV in slices of its own; the chunks follow them);
    the text cells starting like a formula are found without looking at each cell, with the same result."""
    from portfolio_helpers.core import files

    frame = pd.DataFrame(rows, columns=["name", "revenue", "share", "n", "day"])
    frame = frame.astype({"name": "string", "revenue": "float64", "share": "float64", "n": "int64"})
    frame["day"] = pd.to_datetime(frame["day"])
    frame["segment"] = frame["name"].astype("category")
    frame["note"] = frame["name"].astype(object)
    expected = files.safe_for_spreadsheet(frame)
    for column in ("name", "note", "segment"):  # the rule, cell by cell
        got = [None if pd.isna(v) else v for v in expected[column].astype(object)]
        assert got == [None if pd.isna(v) else neutralise_formula(v) for v in frame[column].astype(object)], column
    monkeypatch.setattr(files, "CSV_CHUNK_ROWS", chunk)
    monkeypatch.setattr(files, "_PANDAS_CSV_CELLS", cells)
    monkeypatch.setattr("pandas.io.formats.csvs._DEFAULT_CHUNKSIZE_CELLS", cells)
    whole = tmp_path / "whole.csv"
    expected.to_csv(whole, index=False)
    files.atomic_to_csv(frame, tmp_path / "chunked.csv")
    assert (tmp_path / "chunked.csv").read_bytes() == whole.read_bytes()


_IDS = st.lists(st.sampled_from(["a", "b", "c", "=d", "e", "f"]), unique=True, max_size=6)


@settings(max_examples=100, deadline=None)
@given(first=_IDS, second=_IDS, third=_IDS)
def test_the_customer_export_merges_parts_in_order(first, second, third):
    """Merging the notebooks' parts: the customers of the first part in its order, then each later part's
    new customers in theirs; a column a later part also writes takes that part's values (missing for the
    customers it lacks); the other columns keep theirs."""
    from portfolio_helpers.reporting.exports import _merge

    parts = [pd.DataFrame({"customer_id": pd.Series(ids, dtype="string"),
                           f"only_{k}": np.arange(len(ids), dtype="float64") + 10 * k,
                           "shared": [f"{k}{i}" for i in ids]}) for k, ids in enumerate((first, second, third))]
    merged = _merge(_merge(parts[0], parts[1]), parts[2])
    expected_ids = list(dict.fromkeys(first + second + third))
    assert merged["customer_id"].tolist() == expected_ids
    assert list(merged.columns) == ["customer_id", "only_0", "shared", "only_1", "only_2"]
    for k, ids in enumerate((first, second, third)):
        values = dict(zip(ids, np.arange(len(ids), dtype="float64") + 10 * k, strict=True))
        got = merged.set_index("customer_id")[f"only_{k}"]
        assert all((got[i] == values[i]) if i in values else pd.isna(got[i]) for i in expected_ids)
    shared = merged.set_index("customer_id")["shared"]
    assert all((shared[i] == f"2{i}") if i in third else pd.isna(shared[i]) for i in expected_ids)
