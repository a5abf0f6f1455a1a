"""The package layout: the architecture page is true, every module sits in a layer, the public API resolves.

Notebook cells are checked in tests/test_notebook_cells.py; the import rules by lint-imports (pyproject.toml).
"""

import re
from pathlib import Path

import pytest

import portfolio_helpers

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("core", "ingest", "cleaning", "analysis", "reporting", "app")


def test_every_module_named_in_the_architecture_page_exists():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(portfolio_helpers/[\w/]+\.py)`", text))
    assert len(named) >= 20
    missing = sorted(path for path in named if not (ROOT / path).is_file())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_module_sits_in_a_layer():
    package = ROOT / "portfolio_helpers"
    loose = sorted(p.name for p in package.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert not loose, f"modules outside the layer sub-packages: {loose}"
    assert sorted(p.name for p in package.iterdir() if (p / "__init__.py").is_file()) == sorted(LAYERS)


def test_public_api_resolves():
    for name in portfolio_helpers.__all__:
        assert callable(getattr(portfolio_helpers, name)), name
    with pytest.raises(AttributeError):
        portfolio_helpers.no_such_function  # noqa: B018
