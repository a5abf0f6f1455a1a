"""Notebooks are committed clean and follow the runner's contract."""

from pathlib import Path

import nbformat
import pytest

from portfolio_helpers.app.runner import REQUIRED_PARAMETERS, discover_notebooks, read_parameters

NOTEBOOKS = discover_notebooks(Path(__file__).resolve().parents[1] / "notebooks")


def test_there_are_notebooks():
    assert [nb.stem for nb in NOTEBOOKS][:1] == ["01_data_cleaning"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_declares_the_runner_parameters_with_sample_defaults(path):
    params = read_parameters(path)
    assert set(REQUIRED_PARAMETERS) <= set(params)
    assert params["config_path"] == "../data/sample/portfolio.yml"
    assert params["output_dir"] == "../reports/interactive"
