"""The checked-in generated module equals a fresh regeneration, and evaluates like the closed forms."""
import re

import numpy as np
import pytest
import sympy

from flowphase.numerics import _codegen
from flowphase.numerics import _generated as G
from flowphase.theory import closed_forms as cf


def _header_sympy_version(text):
    m = re.search(r"\(sympy ([^)]+)\)", text)
    return m.group(1) if m else None


def test_every_generated_file_is_listed():
    # every checked-in numerics/_generated*.py is written by the one generator
    on_disk = {p.name for p in _codegen.GENERATED_PATH.parent.glob("_generated*.py")}
    assert on_disk == {p.name for p in _codegen.TARGETS} == {"_generated.py", "_generated_dynamics.py"}


@pytest.mark.parametrize("path", sorted(_codegen.TARGETS, key=str), ids=lambda p: p.name)
def test_generated_file_is_up_to_date(path):
    text = _codegen.TARGETS[path]()
    checked_in = path.read_text()
    assert checked_in.startswith('"""GENERATED')
    version = _header_sympy_version(checked_in)
    if version is None or version == sympy.__version__:
        assert checked_in == text, f"numerics/{path.name} is stale: run `python -m flowphase.numerics._codegen`"
    else:
        # another sympy version may print/cse differently: compare the functions numerically instead
        fresh, old = {}, {}
        exec(compile(text.replace("@njit(cache=True)", "@njit"), "<regenerated>", "exec"), fresh)
        exec(compile(checked_in.replace("@njit(cache=True)", "@njit"), "<checked-in>", "exec"), old)
        assert fresh["__all__"] == old["__all__"]
        rng = np.random.default_rng(0)
        for name in old["__all__"]:
            nargs = old[name].__code__.co_argcount if hasattr(old[name], "__code__") else old[name].py_func.__code__.co_argcount
            for _ in range(5):
                args = tuple(rng.uniform(0.2, 3.0, nargs))
                np.testing.assert_allclose(fresh[name](*args), old[name](*args), rtol=1e-11)


def test_check_flag(tmp_path, capsys):
    assert _codegen.main(["--out-dir", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_generated.py", "_generated_dynamics.py"]
    assert _codegen.main(["--check", "--out-dir", str(tmp_path)]) == 0
    out = tmp_path / "_generated_dynamics.py"
    out.write_text(out.read_text() + "# edited\n")
    assert _codegen.main(["--check", "--out-dir", str(tmp_path)]) == 1
    assert "STALE" in capsys.readouterr().out


def test_theory_writes_no_generated_file():
    # theory only builds expressions: no writer, no path into numerics/
    from flowphase.theory import dynamics

    assert not any(hasattr(dynamics, k) for k in ("GENERATED_PATH", "generated_source", "write_generated_dynamics"))


def test_cui_closed_form_kernel_matches_the_sympy_expressions():
    from flowphase.theory import derivations as dv
    from flowphase.theory import flow

    S = dv.SYMBOLS
    cl = flow.cui_closed_forms(S["data_coef"], S["noise_coef"])
    for data, n, sig, lam in [(0.3, 8.0, 1.5, 0.1), (0.9, 100.0, 0.7, 2.0), (1.0, 3.0, 2.0, 0.0)]:
        sub = {S["data_coef"]: data, S["noise_coef"]: 1 - data, S["n"]: n, S["sigma"]: sig, S["lam"]: lam}
        ref = [float(cl[k].subs(sub)) for k in ("S_mu", "S_xi", "S_eta", "P")]
        assert G.cui_flow_statistics(data, 1 - data, n, sig, lam) == pytest.approx(ref, rel=1e-13, abs=1e-15)


def test_cui_does_not_import_sympy_at_run_time():
    import subprocess
    import sys

    code = "import sys; import flowphase.numerics.cui as c; c.cui_point(0.5, 8, 1.5); print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("noise", ["fresh", "fixed", "notebook"])
def test_generated_phase_two_matches_closed_forms(noise):
    fn = getattr(G, f"phase_two_{noise}")
    for tp, n, sig, lam in [(0.5, 128.0, 1.0, 50.0), (0.13, 7.0, 2.2, 0.3), (0.9, 1000.0, 0.5, 2.0)]:
        c, m, qe, qx = fn(tp, 1.0 - tp, n, sig, lam)
        ref = cf.phase_two_ridge(tp, n, sig, lam, noise)
        assert (c, m, qe, qx) == pytest.approx((ref["c"], ref["m"], ref["q_eta"], ref["q_xi"]), rel=1e-12, abs=1e-15)
    assert G.phase_two_fixed(0.5, 0.5, 128.0, 1.0, 50.0)[0] == pytest.approx(1.1238, abs=5e-5)  # PAPER §8 check 8


def test_generated_population_and_cui():
    c, m = G.phase_two_population(0.7071, 1 - 0.7071, 1.0)
    assert c == pytest.approx(1.2071, abs=1e-4) and m == pytest.approx(0.1464, abs=1e-4)  # PAPER §3.3 table
    c, m, qxi, qeta = G.cui_learned(0.5, 0.5, 8.0, 1.5, 0.1)
    assert (c, m, qxi, qeta) == pytest.approx((1.3873, 0.3026, -0.08563, 0.03782), abs=6e-5)  # PREDECESSOR §2.7


def test_generated_phase_one_potential_and_overlaps():
    Ms, M2, om, n, sig, lu, lw = 0.41, 0.37, 1.2, 128.0, 1.0, 50.0, 1.0
    E = G.phase_one_potential(Ms, M2, om, n, sig, lu, lw)
    assert E == pytest.approx(-n * (n + sig ** 2) * Ms ** 2 / (lu + n * M2) + lw * om ** 2, rel=1e-14)
    m, qe = G.phase_one_overlaps(0.6, 1.0, 128.0, 1.0, 50.0)
    assert m == pytest.approx(0.4315, abs=5e-5)  # t = 0 trivial branch, PAPER §3.2
    assert qe == pytest.approx(0.6 / 178.0, rel=1e-14)
