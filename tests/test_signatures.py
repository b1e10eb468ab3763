"""Options are keyword-only: every wide public function of the package (more than five parameters) takes its
options -- the parameters with defaults -- by keyword, except within its first three positions (the subject of the
call, e.g. ``generated_flow(curve, problem, method='euler', *, ...)``).

Numba kernels are exempt (numba calls them positionally), and so are functions whose parameters are all required (the
array twins of the numba kernels, whose signatures mirror them, and the sweep tasks, whose parameters are the axes
of a sweep's grid).  The check reads the source, so it needs neither numba nor torch.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "numerics", "validation")


def _wide_public_functions():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            if path.name.startswith("_generated"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                    continue
                if any("jit" in ast.unparse(d) for d in node.decorator_list):
                    continue
                a = node.args
                names = [x.arg for x in a.posonlyargs + a.args]
                off = 1 if names and names[0] in ("self", "cls") else 0
                if len(names) - off + len(a.kwonlyargs) > 5:
                    yield path.relative_to(ROOT), node.name, len(names) - off, len(a.defaults)


def test_the_scan_sees_the_package():
    found = {name for _, name, _, _ in _wide_public_functions()}
    assert {"simulate", "generated_flow", "integrate_overlaps", "cui_flow", "train_denoiser"} <= found
    assert len(found) > 100


def test_options_of_wide_public_functions_are_keyword_only():
    bad = [f"{path}:{name} takes {npos - ndef + i + 1}. positional parameter with a default"
           for path, name, npos, ndef in _wide_public_functions()
           for i in range(ndef) if npos - ndef + i >= 3]
    assert not bad, "make these options keyword-only:\n" + "\n".join(sorted(set(bad)))
