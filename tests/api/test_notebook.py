"""The worked notebook (notebooks/quickstart.ipynb) runs from a folder outside the checkout, and says what it should."""

import os
import shutil

import pytest

from tests.helpers import ROOT
from tests.test_packaging import _installed_from_this_checkout

nbformat = pytest.importorskip("nbformat", reason="the notebook check needs the dev extra (nbformat, nbclient)")
nbclient = pytest.importorskip("nbclient", reason="the notebook check needs the dev extra (nbformat, nbclient)")

NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.slow
def test_the_notebook_trains_loads_evaluates_and_plots_anywhere(tmp_path, monkeypatch):
    folder = tmp_path / "my notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder)
    if not _installed_from_this_checkout(folder):  # a checkout that is not the installed one: its code, by path
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(folder / NOTEBOOK.name, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(folder)}}).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(o.get("output_type") != "error" for cell in code for o in cell.outputs)
    trained, loaded, batch, evaluated, plotted = code
    lines = _text(trained).splitlines()  # the run's result line, then the notebook's: nothing else (quiet, as the CLI)
    assert len(lines) == 2 and lines[0].startswith("rnnlab: completed after 150 steps"), lines
    assert lines[1].startswith("completed 150 steps; final val loss / baseline: 0.")  # learned: under 1
    assert "TorchRNN hidden_size 32 at step 150" in _text(loaded)
    assert len([line for line in _text(batch).splitlines() if line.startswith("predicted ")]) == 4
    assert "reproduces the run: True" in _text(evaluated) and _text(evaluated).count("T=") == 4
    assert any("image/png" in o.get("data", {}) for o in plotted.outputs)
    assert (folder / "runs" / "adding-T20" / "eval-seq_len=80.json").is_file()
