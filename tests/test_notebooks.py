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

def test_notebooks_print_the_reports_verdict_words():
    """Every claim line is printed by ``format_claims`` (CONFIRMED / REFUTED / INCONCLUSIVE, the words of
    REPORT.md), and IPython is optional (the README's core install has none)."""
    import subprocess
    import sys

    for path in NOTEBOOKS:
        text = path.read_text()
        assert "NOT CONFIRMED" not in text, path.stem
        if "reproduce([" in text:
            assert text.count("print(format_claims(result))") == text.count("(result,) = reproduce(["), path.stem
        if "IPython" in text:
            assert "except ImportError" in text, path.stem
    # one notebook run as a plain script with IPython unavailable: it finishes and prints the verdict lines
    code = ("import sys, runpy; sys.modules['IPython'] = None; sys.modules['IPython.display'] = None; "
            f"runpy.run_path({str(ROOT / 'notebooks' / '05_speciation.py')!r}, run_name='__main__')")
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FLOWPHASE_QUICK="1", FLOWPHASE_OUT=tmp, MPLBACKEND="Agg")
        res = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True, text=True,
                             timeout=600)
        assert res.returncode == 0, res.stderr[-2000:]
        verdicts = [ln.split()[0] for ln in res.stdout.splitlines() if ln.startswith(("CONFIRMED", "REFUTED",
                                                                                     "INCONCLUSIVE"))]
        data = json.loads((Path(tmp) / "speciation.json").read_text())
        assert verdicts == [c["verdict"].upper() for c in data["claims"]]


def test_notebook_output_is_ignored():
    assert "notebook-output/" in (ROOT / ".gitignore").read_text().split()



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
