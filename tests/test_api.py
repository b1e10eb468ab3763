"""The curated public API: ``import flowphase as fp`` (at most 60 names, all resolving), no private name in any
``__all__``, the theory layer importable without numba, and the strategies reached through ``fp`` give the
numbers of the low-level solvers."""
import ast
import importlib
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import flowphase as fp

ROOT = pathlib.Path(fp.__file__).parent
PACKAGES = ("flowphase", "flowphase.theory", "flowphase.numerics", "flowphase.validation")


def test_every_public_name_resolves_and_there_are_at_most_60():
    assert 10 <= len(fp.__all__) <= 60
    assert len(set(fp.__all__)) == len(fp.__all__)
    for name in fp.__all__:
        assert getattr(fp, name) is not None, name
    for name in ("Problem", "PaperAnsatz", "ExactFiniteN", "simulate", "compare", "reproduce", "SimulationConfig",
                 "GradientFlow", "GradientDescent", "Adam", "ConvergenceError", "LearnedCurve", "detect_windows"):
        assert name in fp.__all__, name
    assert fp.__version__ == "0.2.0" and sorted(dir(fp)) == dir(fp) and set(fp.__all__) <= set(dir(fp))
    with pytest.raises(AttributeError):
        fp.learned_curve_of_nothing


def test_the_fp_objects_are_the_modules_objects():
    from flowphase.numerics.theories import ExactFiniteN
    from flowphase.theory.problem import Problem
    from flowphase.validation.compare import compare
    from flowphase.validation.reproduce import reproduce
    from flowphase.validation.simulator import simulate

    assert (fp.Problem, fp.ExactFiniteN, fp.simulate, fp.compare, fp.reproduce) == \
        (Problem, ExactFiniteN, simulate, compare, reproduce)


def _literal_alls():
    """``(module path, names)`` of every literal ``__all__`` under the three packages (read, not imported)."""
    for pkg in ("theory", "numerics", "validation"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                    try:
                        yield path.relative_to(ROOT), ast.literal_eval(node.value)
                    except ValueError:               # computed (sorted(...)): checked on import below
                        pass


def test_no_private_name_in_any_all():
    bad = [f"{path}:{name}" for path, names in _literal_alls() for name in names if name.startswith("_")]
    for modname in PACKAGES:
        mod = importlib.import_module(modname)
        bad += [f"{modname}.{name}" for name in mod.__all__ if name.startswith("_") or not hasattr(mod, name)]
    assert bad == []
    assert sum(1 for _ in _literal_alls()) > 50


def test_theory_layer_imports_without_numba():
    code = ("import sys, json; import flowphase, flowphase.theory, flowphase.theory.problem, "
            "flowphase.theory.records; v = flowphase.__version__; "
            "print(json.dumps([m for m in ('numba', 'torch', 'flowphase.numerics', 'flowphase.validation') "
            "if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_strategies_through_fp_are_the_low_level_solvers():
    """fp.PaperAnsatz / fp.ExactFiniteN give the phase-one solver's and the exact solver's numbers bitwise."""
    from flowphase.numerics.exact import exact_curve
    from flowphase.numerics.phase_one import solve_phase_one

    pr = fp.Problem.dilated(p=0.8, sigma=1.0, kappa=2.0, n=64, lam_u=2.0, lam_w=2.0)
    one = fp.PaperAnsatz().overlaps(pr, 0.5)
    ref = solve_phase_one(2.0 * 0.5, 0.8, 64, sigma=1.0, lam_u=2.0, lam_w=2.0, t=0.5)
    assert (one.m, one.omega, one.b, one.sqrt_q) == (ref.m, ref.omega, ref.b, ref.sqrt_q)
    ts = np.array([0.3, 0.8, 1.4])
    cur = fp.ExactFiniteN(d=2000).curve(pr, ts)
    low = exact_curve(pr, ts, 2000.0)
    assert isinstance(cur, fp.LearnedCurve)
    for k in fp.OVERLAP_NAMES:
        assert np.array_equal(getattr(cur, k), getattr(low, k)), k
