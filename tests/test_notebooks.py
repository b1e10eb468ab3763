"""Every notebook (jupytext percent format, stored without outputs) executes in quick mode.

The notebooks only call library functions (``flowphase.validation.reproduce``), so executing them
checks that a researcher can open and run them, and that each writes its figure files.
"""
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))

#: recipe notebooks (no reproduce() figure): the optional module they need and the figure stem they write
RECIPES = {"09_pytorch_recipe": ("torch", "pytorch_pairing")}

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")


def test_notebooks_are_present():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_quick_mode(path, tmp_path, monkeypatch):
    from flowphase.validation.reproduce import available_figures

    nb = jupytext.read(path)
    if path.stem in RECIPES:
        module, stem = RECIPES[path.stem]
        pytest.importorskip(module)
        figures = [stem]
    else:
        figures = [line.split("[")[1].split("]")[0].strip("'\"") for c in nb.cells if c.cell_type == "code"
                   for line in c.source.splitlines() if line.startswith("(result,) = reproduce([")]
        assert figures, "a notebook must build at least one figure"
        missing = [f for f in figures if f not in available_figures()]
        if missing:
            pytest.fail(f"figures {missing} are not available in this build")
    monkeypatch.setenv("FLOWPHASE_QUICK", "1")
    monkeypatch.setenv("FLOWPHASE_OUT", str(tmp_path))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    for f in figures:
        for ext in ("png", "pdf", "json"):
            assert (tmp_path / f"{f}.{ext}").stat().st_size > 0
        data = json.loads((tmp_path / f"{f}.json").read_text())
        assert isinstance(data, dict) and data
    # stored without outputs: the source file holds no output cells
    assert "outputs" not in path.read_text()
