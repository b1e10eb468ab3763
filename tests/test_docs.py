"""The documentation a user has: every citation of the mathematics resolves inside the repository, no text points
outside it, no user-facing text carries a tracker reference, and every dotted ``flowphase.`` name resolves.

* ``(PAPER §x.y)``, ``(PREDECESSOR §x.y)``, ``(EXACT_FINITE_N §x)`` — in the code, the notebooks, the tests, the
  documentation and the README — must name a heading (``## §3 ...``, ``### §3.2 ...``) or a numbered table row
  (``| §8.16 |``) of docs/math/paper.md, predecessor.md and exact_finite_n.md; ranges (``§2-3``) and lists
  (``§3.5, §3.7``) resolve element by element, "§8 row 16" / "§8 check 16" as ``§8.16``.
* No file refers to the private specification folder the pages replace.
* No user-facing text (README, docs, the three code folders, the notebooks) mentions a tracker issue by number.
* Every ``flowphase.a.b`` in the documentation, the README and the docstrings/comments of the code imports (the
  longest importable module prefix) and resolves attribute by attribute.
"""
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"PAPER": ROOT / "docs" / "math" / "paper.md", "PREDECESSOR": ROOT / "docs" / "math" / "predecessor.md",
         "EXACT_FINITE_N": ROOT / "docs" / "math" / "exact_finite_n.md"}
CODE = ("theory", "numerics", "validation", "notebooks")
SKIP_DIRS = {".git", ".venv", ".venv-ci", "__pycache__", "build", "dist", "node_modules", ".pytest_cache",
             "notebook-output", "out"}

NUM = r"\d+(?:\.\d+)*"
CITE = re.compile(rf"\b(PAPER|PREDECESSOR|EXACT_FINITE_N)(?:\.md)?\s*§\s*({NUM}(?:\s*[-–]\s*{NUM})?"
                  rf"(?:\s+(?:rows?|checks?)\s+\d+)?(?:\s*,\s*§\s*{NUM}(?:\s*[-–]\s*{NUM})?)*)")
ISSUE = re.compile(r"\bissues?[ -]?#?\d+", re.I)
DOTTED = re.compile(r"(?<![\w./-])flowphase(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _files(folders=None, suffixes=(".py", ".md")):
    bases = [ROOT / f for f in folders] if folders else [ROOT]
    for base in bases:
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(ROOT)
            if p.is_file() and p.suffix in suffixes and not (set(rel.parts[:-1]) & SKIP_DIRS) \
                    and not any(part.endswith(".egg-info") for part in rel.parts):
                yield p


def anchors(page: Path) -> set:
    """Section labels of a page: headings ``#... §x.y`` and first cells ``| §x.y |`` of table rows."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        m = re.match(rf"#+\s+§({NUM})\b", line) or re.match(rf"\|\s*§({NUM})\s*\|", line)
        if m:
            out.add(m.group(1))
    return out


def citations(text: str):
    """``(doc, label)`` for every section a text cites (ranges give both ends, "§8 row 16" gives 8.16)."""
    for m in CITE.finditer(text):
        doc, body = m.group(1), m.group(2)
        row = re.match(rf"({NUM})\s+(?:rows?|checks?)\s+(\d+)", body)
        if row:
            yield doc, f"{row.group(1)}.{row.group(2)}"
            body = body[row.end():]
        for part in re.findall(rf"{NUM}(?:\s*[-–]\s*{NUM})?", body):
            for end in re.split(r"\s*[-–]\s*", part):
                yield doc, end


def test_the_math_pages_exist_and_number_their_sections():
    for doc, page in PAGES.items():
        labels = anchors(page)
        assert len(labels) >= 8, (doc, sorted(labels))
    assert {"3.2", "3.4", "3.9.1", "7.12", "8.16", "8.21"} <= anchors(PAGES["PAPER"])
    assert {"2.2", "2.7", "4"} <= anchors(PAGES["PREDECESSOR"])
    assert {"2", "4.2", "4.4", "5"} <= anchors(PAGES["EXACT_FINITE_N"])


def test_citation_parser():
    """The parser on the forms the code uses (an independent hand-made expectation)."""
    text = ("(PAPER §3.2), PAPER §3.5, §3.7; (EXACT_FINITE_N §2-3), PAPER §8 row 16, PREDECESSOR.md §4, "
            "(PAPER §2.1–2.3), PAPER §3.2., PAPER §3.9 check 2")
    assert sorted(set(citations(text))) == sorted({
        ("PAPER", "3.2"), ("PAPER", "3.5"), ("PAPER", "3.7"), ("EXACT_FINITE_N", "2"), ("EXACT_FINITE_N", "3"),
        ("PAPER", "8.16"), ("PREDECESSOR", "4"), ("PAPER", "2.1"), ("PAPER", "2.3"), ("PAPER", "3.9.2")})


def test_every_citation_resolves():
    labels = {doc: anchors(page) for doc, page in PAGES.items()}
    bad, n = [], 0
    for path in _files():
        if path.name == "test_docs.py":
            continue
        for doc, label in citations(path.read_text(encoding="utf-8", errors="replace")):
            n += 1
            if label not in labels[doc]:
                bad.append(f"{path.relative_to(ROOT)}: {doc} §{label}")
    assert n > 500, n          # the code cites the pages several hundred times
    assert not bad, f"{len(bad)} unresolved citation(s) of {n}: " + "; ".join(sorted(set(bad))[:30])


def test_nothing_points_outside_the_repository():
    needles = ("../" + "shared", "shared" + "/spec")
    bad = [str(p.relative_to(ROOT)) for p in _files(suffixes=(".py", ".md", ".toml", ".cfg", ".txt", ".ipynb"))
           if any(s in p.read_text(encoding="utf-8", errors="replace") for s in needles)]
    assert not bad, bad


def test_no_tracker_references_in_user_facing_text():
    files = list(_files(CODE)) + list(_files(["docs"])) + [ROOT / "README.md", ROOT / "__init__.py"]
    bad = []
    for p in files:
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if ISSUE.search(line):
                bad.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not bad, bad


def _resolve(name: str):
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ModuleNotFoundError as exc:
            if exc.name and ".".join(parts[:k]).startswith(exc.name) and exc.name.startswith("flowphase"):
                continue
            pytest.skip(f"optional dependency missing for {name}: {exc.name}")
        for attr in parts[k:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def test_every_dotted_flowphase_name_resolves():
    files = list(_files(CODE)) + list(_files(["docs"])) + [ROOT / "README.md", ROOT / "__init__.py"]
    names, bad = {}, []
    for p in files:
        for m in DOTTED.finditer(p.read_text(encoding="utf-8")):
            names.setdefault(m.group(0).rstrip("."), str(p.relative_to(ROOT)))
    for name, where in sorted(names.items()):
        try:
            _resolve(name)
        except (ImportError, AttributeError) as exc:
            bad.append(f"{where}: {name} ({type(exc).__name__})")
    assert len(names) > 50, len(names)
    assert not bad, bad
