"""A mistake in any analysis section of the config stops `portfolio report` before the first notebook:
one line naming the file and the key, exit code 2, no run folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from portfolio_helpers.app import cli
from portfolio_helpers.app.preflight import SECTION_CHECKS, check_sections
from portfolio_helpers.core.config import ANALYSIS_SECTIONS, load_config

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "portfolio.yml"

# one wrong value per section, and the words its message must contain
BROKEN = {
    "costs": ({"per_order": "cheap"}, "costs"),
    "scoring": ({"leads": {"fitt": {}}}, "scoring.leads"),
    "segments": ({"names": {"first": "Big"}}, "segments.names"),
    "rfm": ({"segmnts": {}}, "segmnts"),
    "playbook": ({"Champion": {"offer": "x"}}, "Champion"),
    "clv": ({"horizon_month": 6}, "clv.horizon_month"),
    "growth": ({"period": "fortnight"}, "growth.period"),
    "objectives": ([{"name": "More", "metric": "revenu", "target": 1}], "objectives"),
    "feedback": ({"scale": "stars"}, "feedback"),
}


def test_every_section_has_a_check_and_a_broken_case():
    assert set(SECTION_CHECKS) == set(ANALYSIS_SECTIONS) == set(BROKEN)


def test_the_sample_config_passes():
    check_sections(load_config(SAMPLE))


def _config_with(tmp_path: Path, section: str, value) -> Path:
    (tmp_path / "lines.csv").write_text("customer_id,date,amount\na,2025-01-05,10\nb,2025-02-01,20\n")
    data = {"name": "Tiny", "tables": {"transactions": {"path": "lines.csv"}}, section: value}
    path = tmp_path / "portfolio.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("section", sorted(BROKEN))
def test_a_broken_section_stops_the_run_before_any_notebook(section, tmp_path, capsys):
    value, words = BROKEN[section]
    config = _config_with(tmp_path, section, value)
    out = tmp_path / "reports"
    assert cli.main(["report", "--config", str(config), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(config) in err and words in err, err
    assert "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())  # no run folder
