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


def test_generated_file_is_up_to_date():
    text = _codegen.generate()
    checked_in = _codegen.GENERATED_PATH.read_text()
    assert checked_in.startswith('"""GENERATED FILE')
    if _header_sympy_version(checked_in) == sympy.__version__:
        assert checked_in == text, "numerics/_generated.py is stale: run `python -m flowphase.numerics._codegen`"
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
    out = tmp_path / "gen.py"
    assert _codegen.main(["--out", str(out)]) == 0
    assert _codegen.main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text() + "# edited\n")
    assert _codegen.main(["--check", "--out", str(out)]) == 1


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
