"""Every section of a portfolio config checked before the first notebook starts.

Each analysis section has one validator, owned by the module that uses it (the cost model by
profitability, the CLV settings by clv.value, ...). The report runner calls :func:`check_sections`
before any kernel starts, so that a typo in ``clv:`` or ``objectives:`` stops the run at once with
one message naming the file and the key (exit code 2), instead of failing notebook 06 or 07 after
the others have run.
"""

from __future__ import annotations

from collections.abc import Callable

from portfolio_helpers.analysis import growth, profitability, rfm, scoring
from portfolio_helpers.analysis.clv import value
from portfolio_helpers.cleaning.feedback import feedback_scale
from portfolio_helpers.core.config import ANALYSIS_SECTIONS, PortfolioConfig
from portfolio_helpers.core.errors import ConfigError
from portfolio_helpers.reporting.segmentation import cluster_name_overrides

__all__ = ["SECTION_CHECKS", "check_sections"]


def _with_path(config: PortfolioConfig, check: Callable[[], object]) -> None:
    """Run ``check``; a message that does not name the config file yet gets its path in front."""
    try:
        check()
    except ConfigError as error:
        message = str(error)
        if str(config.path) not in message:
            raise ConfigError(f"{config.path}: {message}") from None
        raise


def _rfm_and_playbook(config: PortfolioConfig) -> None:
    segment_map = rfm.segment_map_from_config(config.sections.get("rfm"))
    rfm.playbook(config.sections.get("playbook"), segment_map)


# One validator per section of ANALYSIS_SECTIONS (rfm and playbook are checked together: the playbook
# names the segments of the rfm map).
SECTION_CHECKS: dict[str, Callable[[PortfolioConfig], object]] = {
    "costs": lambda c: profitability.cost_model_from_config(c.sections.get("costs"), c.path),
    "scoring": lambda c: scoring.scoring_settings(c.sections.get("scoring"), c.path),
    "segments": lambda c: cluster_name_overrides(c.sections.get("segments"), c.path),
    "rfm": _rfm_and_playbook,
    "playbook": _rfm_and_playbook,
    "clv": lambda c: value.clv_settings_from_config(c.sections.get("clv"), c.path),
    "growth": lambda c: growth.growth_settings(c.sections.get("growth"), c.path),
    "objectives": lambda c: growth.objectives_from_config(c.sections.get("objectives"), c.path, c.tables),
    "feedback": lambda c: feedback_scale(c.sections.get("feedback"), c.path),
}
assert set(SECTION_CHECKS) == set(ANALYSIS_SECTIONS), "every analysis section needs its pre-flight check"


def check_sections(config: PortfolioConfig) -> None:
    """Validate every analysis section present in ``config`` (absent sections use their defaults).

    Raises
    ------
    ConfigError
        The first mistake, naming the config file and the key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from portfolio_helpers.core.config import load_config
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "lines.csv").write_text("customer_id,date,amount\\na,2025-01-01,10\\n")
    >>> _ = (folder / "p.yml").write_text("tables: {transactions: {path: lines.csv}}\\nclv: {horizon_month: 6}\\n")
    >>> check_sections(load_config(folder / "p.yml"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    portfolio_helpers.core.errors.ConfigError: .../p.yml: clv.horizon_month: unknown key (did you mean 'horizon_months'?)...
    """
    for name in ANALYSIS_SECTIONS:
        if name in config.sections:
            _with_path(config, lambda name=name: SECTION_CHECKS[name](config))
