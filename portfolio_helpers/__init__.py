"""Customer portfolio analysis kit.

The layers, from the bottom: ``core`` (contract, config, errors, validation), ``ingest`` (raw
files to typed tables), ``cleaning``, ``analysis`` (figures), ``reporting`` (sentences, charts,
exports), ``app`` (command line and report runner); see ``docs/architecture.md``.

The names below are the public API. They are imported on first use, so ``import
portfolio_helpers`` stays fast (the command line does not pay for splink or scikit-learn).

>>> import portfolio_helpers
>>> portfolio_helpers.load_config.__module__
'portfolio_helpers.core.config'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "load_config": "portfolio_helpers.core.config",
    "PortfolioError": "portfolio_helpers.core.errors",
    "ConfigError": "portfolio_helpers.core.errors",
    "InputError": "portfolio_helpers.core.errors",
    "ColumnError": "portfolio_helpers.core.errors",
    "load_portfolio": "portfolio_helpers.ingest.loaders",
    "clean_portfolio": "portfolio_helpers.cleaning.pipeline",
    "open_portfolio": "portfolio_helpers.cleaning.pipeline",
    "customer_summary": "portfolio_helpers.analysis.engine",
    "customer_values": "portfolio_helpers.analysis.engine",
    "customer_features": "portfolio_helpers.analysis.features",
    "customer_pnl": "portfolio_helpers.analysis.profitability",
    "pareto_table": "portfolio_helpers.analysis.pareto",
    "concentration_summary": "portfolio_helpers.analysis.pareto",
    "run_report": "portfolio_helpers.app.runner",
    "write_demo_data": "portfolio_helpers.app.sample_data",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'portfolio_helpers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
