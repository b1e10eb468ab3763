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
    for b in blocks:
        assert b.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e "), b
    assert "flowphase reproduce" in blocks[0] and "python -m pytest -q" in blocks[1]
