"""Package layout (issue 11): library code never imports the CLI, sub-module names are modules, sweep tasks and
figures are registered by callable, and the validation sub-packages keep one concern per file."""
import ast
import importlib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = [p for folder in ("theory", "numerics", "validation") for p in sorted((ROOT / folder).rglob("*.py"))
           if "cli" not in p.relative_to(ROOT).parts and p.name != "__main__.py"]


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative: resolve against the file's package
                pkg = list(path.relative_to(ROOT).parent.parts)
                pkg = pkg[:len(pkg) - node.level + 1]
                base = ".".join(["flowphase", *pkg] + ([base] if base else []))
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)


def test_library_modules_never_import_the_cli():
    assert len(LIBRARY) > 50
    offenders = [str(p.relative_to(ROOT)) for p in LIBRARY
                 if any(m == "flowphase.validation.cli" or m.startswith("flowphase.validation.cli.")
                        for m in _imported_modules(p))]
    assert offenders == []


@pytest.mark.parametrize("name", ["compare", "reproduce", "sweep", "figures", "claims", "tolerances"])
def test_submodule_names_are_modules(name):
    import flowphase.validation as v

    assert isinstance(getattr(v, name), types.ModuleType)
    assert getattr(v, name) is importlib.import_module(f"flowphase.validation.{name}")


def test_tasks_and_figures_are_registered_by_callable():
    from flowphase.validation import sweep as sw
    from flowphase.validation.reproduce import FIGURES, register_figure

    assert sw.TASKS and all(callable(t.fn) and (t.check is None or callable(t.check)) for t in sw.TASKS.values())
    assert FIGURES and all(callable(f) for f in FIGURES.values())
    with pytest.raises(TypeError, match="callable"):
        register_figure("x", "flowphase.validation.figures.overlaps:overlaps_figure")
    with pytest.raises(TypeError, match="callable"):
        sw.Task("x", "flowphase.validation.sweep.tasks:theory_mse", {})


def test_register_task_by_decorator_and_by_name(tmp_path):
    from flowphase.validation import sweep as sw

    try:
        @sw.task("test.double", {"x": sw.Param("real", 1.0, 0.0, 10.0)})
        def double(x):
            """twice x"""
            return {"y": 2.0 * x}

        sw.register_task("test.triple", lambda x: {"y": 3.0 * x}, {"x": sw.Param("real", 1.0)}, doc="thrice")
        assert sw.TASKS["test.double"].doc == "twice x" and sw.TASKS["test.triple"].doc == "thrice"
        with pytest.raises(ValueError, match="already registered"):
            sw.register_task("test.double", double, {})
        spec = sw.parse_spec('task = "test.double"\n[grid]\nx = [0.5, 4.0]\n')
        rep = sw.run_sweep(spec, tmp_path / "o", progress=False)
        assert (rep.done, rep.failed) == (2, 0)
        ys = sorted(r["result"]["y"] for r in sw.SweepStore(tmp_path / "o").load().values())
        assert ys == [1.0, 8.0]
        with pytest.raises(sw.SpecError, match="x must be"):
            sw.parse_spec('task = "test.double"\n[fixed]\nx = 11.0\n')
    finally:
        sw.TASKS.pop("test.double", None)
        sw.TASKS.pop("test.triple", None)


@pytest.mark.parametrize("folder", ["validation/sweep", "validation/figures"])
def test_sub_packages_keep_files_short(folder):
    files = sorted((ROOT / folder).glob("*.py"))
    assert len(files) >= 8
    long = {p.name: n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}
