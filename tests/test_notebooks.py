"""Every notebook (jupytext percent format, stored without outputs) executes in quick mode.

A notebook first shows the few library calls a researcher would type (problem -> solve -> simulate -> compare ->
plot, small sizes; these cells run for real here) and then calls ``flowphase.validation.reproduce`` for the
figure.  The figures themselves are built once per session by the ``quick_reproduction`` fixture (tests/conftest.py,
shared with tests/test_reproduce.py): the kernel's ``reproduce`` is replaced by one that hands back those
outputs and copies their files, so that no figure is built twice in one test run.
"""
import json
import pickle
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))

#: recipe notebooks (no reproduce() figure): the optional module they need and the figure stem they write
RECIPES = {"09_pytorch_recipe": ("torch", "pytorch_pairing")}

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

#: first cell of the executed copy: ``reproduce`` returns the session's prebuilt outputs (quick mode only)
PREBUILT_CELL = '''
import pickle as _pickle, shutil as _shutil
from pathlib import Path as _Path
import flowphase.validation.reproduce as _R
with open({path!r}, "rb") as _fh:
    _BUILT = _pickle.load(_fh)

def _prebuilt(names, out_dir, quick=False, progress=True, size=None):
    if not quick or size not in (None, "quick"):
        raise RuntimeError("the test session prebuilt the quick figures only")
    names = [names] if isinstance(names, str) else list(names)
    _Path(out_dir).mkdir(parents=True, exist_ok=True)
    for nm in names:
        for p in _BUILT[nm].paths:
            _shutil.copy(p, out_dir)
    return [_BUILT[nm] for nm in names]

_R.reproduce = _prebuilt
'''


def test_notebooks_are_present():
    assert len(NOTEBOOKS) >= 7


def _figures(nb):
    return [line.split("[")[1].split("]")[0].strip("'\"") for c in nb.cells if c.cell_type == "code"
            for line in c.source.splitlines() if line.startswith("(result,) = reproduce([")]


def test_notebooks_teach_the_api_before_reproducing():
    """Each figure notebook has a "library in a few calls" cell before reproduce(): library imports beyond
    reproduce, a handful of calls, and a plot."""
    for path in NOTEBOOKS:
        if path.stem in RECIPES:
            continue
        cells = jupytext.read(path).cells
        first = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "reproduce([" in c.source)
        head = next(i for i, c in enumerate(cells) if c.cell_type == "markdown"
                    and "The library in a few calls" in c.source)
        assert head < first, path.stem
        teach = "\n".join(c.source for c in cells[head:first] if c.cell_type == "code")
        libs = re.findall(r"^from flowphase\.(theory|numerics|validation)\.?(\w*)", teach, flags=re.M)
        assert [m for m in libs if m[1] != "reproduce"], path.stem
        assert "plt.subplots" in teach and teach.count("(") >= 8, path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_quick_mode(path, tmp_path, monkeypatch, request):
    from flowphase.validation.reproduce import available_figures

    nb = jupytext.read(path)
    if path.stem in RECIPES:
        module, stem = RECIPES[path.stem]
        pytest.importorskip(module)
        figures = [stem]
    else:
        figures = _figures(nb)
        assert figures, "a notebook must build at least one figure"
        missing = [f for f in figures if f not in available_figures()]
        if missing:
            pytest.fail(f"figures {missing} are not available in this build")
        _, built = request.getfixturevalue("quick_reproduction")
        pkl = tmp_path / "_prebuilt.pkl"
        with open(pkl, "wb") as fh:
            pickle.dump({f: built[f] for f in figures}, fh)
        nb.cells.insert(0, nbformat.v4.new_code_cell(PREBUILT_CELL.format(path=str(pkl))))
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
