"""README's Python quick start runs verbatim: every ```python block of its "Python quick start" section is executed
in a fresh interpreter in an empty folder, and its printed output is checked against independent expectations
(the verdict words of REPORT.md, the problem the figure JSON records, the theory the library computes, and the
detector's window at the τ = 0⁺ jump)."""
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _blocks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def _run(code: str, cwd: Path) -> str:
    res = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


def test_three_blocks_of_at_most_ten_lines():
    blocks = _blocks()
    assert len(blocks) == 3
    for b in blocks:
        lines = [ln for ln in b.splitlines() if ln.strip()]
        assert len(lines) <= 10, b
        assert "import flowphase as fp" in b and "../" + "shared" not in b


def test_reproduce_block(tmp_path):
    out = _run(_blocks()[0], tmp_path)
    words = [ln.split()[0] for ln in out.splitlines() if ln.strip()]
    assert words and set(words) <= {"CONFIRMED", "REFUTED", "INCONCLUSIVE"}
    data = json.loads((tmp_path / "out" / "overlaps.json").read_text())
    assert (data["problem"]["p"], data["problem"]["sigma"]) == (0.7, 1.2)
    assert (data["params"]["d"], data["params"]["n"]) == (200, 16)
    assert [c["verdict"].upper() for c in data["claims"]] == words


def test_compare_block(tmp_path):
    out = _run(_blocks()[1], tmp_path).splitlines()
    from flowphase.numerics.theories import ExactFiniteN
    from flowphase.theory.problem import Problem

    ref = ExactFiniteN(d=500).overlaps(Problem.dilated(p=0.7, sigma=1.2, kappa=2.0, n=64), 0.5)
    got = ast.literal_eval(out[0])
    for k in ("c", "m", "omega", "b"):
        assert got[k] == pytest.approx(getattr(ref, k), rel=1e-9, abs=1e-12), k
    rows = [ln.split() for ln in out[1:]]
    assert {(r[0], r[1]) for r in rows} >= {("0.5", "m"), ("1.5", "c")}
    for r in rows:
        assert r[-2] in ("True", "False") and r[-1] in ("True", "False")


def test_schedule_block(tmp_path):
    out = _run(_blocks()[2], tmp_path).splitlines()
    # the undilated MSE jumps by 4p(1-p) at tau = 0+: the window starts at 0 and is one grid step wide
    m = re.match(r"phase-aware:uniform@0-([0-9.e-]+),0\.5$", out[0])
    assert m and 0 < float(m.group(1)) <= 2.0 / 399
    times = [float(x) for x in " ".join(out[1:]).strip("[] ").split()]
    assert len(times) == 8 and all(0.0 <= x <= 1.0 for x in times)
