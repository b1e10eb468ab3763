"""Packaging promises (issue 11): licence file, core dependencies, markers, README set-up commands."""
import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_licence_file_matches_the_declared_licence():
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "License :: OSI Approved :: MIT License" in PYPROJECT["project"]["classifiers"]
    assert PYPROJECT["project"]["authors"] and PYPROJECT["project"]["urls"]


def test_matplotlib_and_scikit_learn_are_core_dependencies_not_fake_extras():
    deps = " ".join(PYPROJECT["project"]["dependencies"])
    assert "matplotlib" in deps and "scikit-learn" in deps
    for name, extra in PYPROJECT["project"]["optional-dependencies"].items():
        assert not any(re.match(r"(matplotlib|scikit-learn)\b", x) for x in extra), name


def test_every_declared_marker_selects_tests():
    sources = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    for line in PYPROJECT["tool"]["pytest"]["ini_options"]["markers"]:
        name = line.split(":")[0].strip()
        assert f"@pytest.mark.{name}" in sources, name


def test_readme_set_up_is_two_commands_from_a_fresh_virtual_environment():
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert len(blocks) == 2 and all(len(b.strip().splitlines()) == 1 for b in blocks), blocks
    # the main job: a normal (non-editable) install, as a user gets it; the test suite: an editable one
    assert blocks[0].startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . && "), blocks[0]
    assert blocks[1].startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e "), blocks[1]
    assert "flowphase reproduce" in blocks[0] and "python -m pytest -q" in blocks[1]


# ----------------------------------------------------------------------------- package discovery
def _setup_packages():
    """The package list and folder mapping that setup.py hands to setuptools (nothing is built)."""
    import runpy
    from unittest import mock

    captured = {}
    with mock.patch("setuptools.setup", side_effect=lambda **kw: captured.update(kw)):
        runpy.run_path(str(ROOT / "setup.py"), run_name="__main__")
    return captured


def test_discovery_covers_every_folder_with_an_init_file():
    """Every folder holding an ``__init__.py`` under theory/, numerics/, validation/ is a package of the wheel,
    and nothing else is: a new sub-package can never be left out (numerics/dynamics and numerics/generation once
    were, with a hand-written list)."""
    kw = _setup_packages()
    assert kw["package_dir"] == {"flowphase": "."}
    found = set(kw["packages"])
    expected = {"flowphase"}
    for folder in ("theory", "numerics", "validation"):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
                continue
            # a package is importable only if every folder above it is one too
            chain = [ROOT.joinpath(*rel.parts[:k]) / "__init__.py" for k in range(1, len(rel.parts) + 1)]
            if all(c.exists() for c in chain):
                expected.add("flowphase." + ".".join(rel.parts))
    assert found == expected, (sorted(expected - found), sorted(found - expected))
    assert {"flowphase.numerics.dynamics", "flowphase.numerics.generation"} <= found


def test_the_version_is_single_sourced():
    """``flowphase --version`` reads the root ``__init__.py``; pyproject's version is the same string."""
    import re as _re

    init = (ROOT / "__init__.py").read_text()
    version = _re.search(r'^__version__ = "([^"]+)"', init, flags=_re.M).group(1)
    assert PYPROJECT["project"]["version"] == version


def test_the_torch_extra_pins_the_cpu_wheel():
    """The torch extra pins torch (an unpinned torch would pull a CUDA build) and holds the authors' stack."""
    extra = PYPROJECT["project"]["optional-dependencies"]["torch"]
    assert "torch==2.13.0" in extra and "mlxtend" in extra and "diffusers" in extra

