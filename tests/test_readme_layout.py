"""README's layout table is generated from the tree by ``python docs/update_layout.py`` (issue 11)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("update_layout", ROOT / "docs" / "update_layout.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_layout_table_is_up_to_date():
    tool = _tool()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert tool.updated_readme(text, tool.layout_table(ROOT)) == text, "run: python docs/update_layout.py"


def test_layout_table_lists_every_subpackage_with_its_line_count():
    tool = _tool()
    table = tool.layout_table(ROOT)
    for init in ROOT.glob("*/*/__init__.py"):
        if init.parts[-3] in ("theory", "numerics", "validation"):
            sub = init.parent
            total = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in sub.glob("*.py"))
            assert f"| `{sub.relative_to(ROOT).as_posix()}/` |" in table
            assert f"| {total} |" in table
