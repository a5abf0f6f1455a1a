"""Notebooks hold parameters, calls, charts and narrative: no logic of their own.

Checked on every code cell of every notebook (:data:`WITHOUT_LOGIC`): no function or lambda is
defined, no cell is longer than :data:`MAX_LINES`, and no optional column of the data contract is
named (a notebook never indexes an optional column itself: the package functions it calls handle
absence).
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from portfolio_helpers.core.contract import TABLES

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
WITHOUT_LOGIC = sorted(path.stem for path in NOTEBOOKS_DIR.glob("*.ipynb"))
MAX_LINES = 15
# optional in every table (customer_id is optional in leads but required in transactions)
OPTIONAL_COLUMNS = ({column.name for table in TABLES.values() for column in table.columns}
                    - {column.name for table in TABLES.values() for column in table.columns if column.required})


def code_cells(stem: str) -> list[tuple[int, str]]:
    nb = nbformat.read(NOTEBOOKS_DIR / f"{stem}.ipynb", as_version=4)
    return [(index, cell.source) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def logic_problems(index: int, source: str) -> list[str]:
    """What makes a cell more than calls: definitions, length, optional column names."""
    problems = []
    lines = [line for line in source.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        problems.append(f"cell {index}: {len(lines)} lines (at most {MAX_LINES})")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            problems.append(f"cell {index}: defines {type(node).__name__} at line {node.lineno}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in OPTIONAL_COLUMNS:
            problems.append(f"cell {index}: names the optional column {node.value!r} at line {node.lineno}")
    return problems


def test_the_checker_finds_logic():
    cell = 'def f(x):\n    return x\nif "email" in customers:\n    y = customers["email"]\n' + "z = 1\n" * 12
    problems = logic_problems(3, cell)
    assert problems == ["cell 3: 16 lines (at most 15)", "cell 3: defines FunctionDef at line 1",
                        "cell 3: names the optional column 'email' at line 3",
                        "cell 3: names the optional column 'email' at line 4"]
    assert logic_problems(1, 'show_markdown(report.findings(tables))\nx = "revenue"') == []


@pytest.mark.parametrize("stem", WITHOUT_LOGIC)
def test_notebook_cells_hold_no_logic(stem):
    problems = [problem for index, source in code_cells(stem) for problem in logic_problems(index, source)]
    assert problems == [], f"{stem}: " + "; ".join(problems)
