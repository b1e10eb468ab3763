"""Sweep specs: the TOML file (task, grid, fixed values, points, options), parsed and validated before any work.

Spec format (TOML, read with :mod:`tomllib`)::

    task = "theory.overlaps"       # a name from TASKS
    seed = 0                        # optional base seed (recorded; drives seeded tasks)
    [grid]                          # lists, multiplied out (cartesian product, file order)
    t = [0.1, 0.5, 1.5]
    n = [64, 128]
    [fixed]                         # optional scalars shared by every task
    p = 0.8
    [[points]]                      # optional explicit parameter sets (each x the grid)
    sigma = 0.5
    [options]                       # execution options that change neither keys nor results
    sleep = 0.0                     # seconds slept before each task (crash tests, overhead benchmarks)

Every parameter of every task is validated before any work starts; an error names the offending key and its
line in the file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

from .params import Param
from .registry import get_task

__all__ = ["SpecError", "SweepSpec", "parse_spec", "load_spec", "task_key", "MAX_TASKS"]

MAX_TASKS = 100_000         # tasks per spec: validating the limit takes ~10 s on one core
_MAX_TASKS = MAX_TASKS
_frozen = dataclasses.dataclass(frozen=True)


class SpecError(ValueError):
    """A malformed sweep spec; ``key`` and ``line`` (1-based, or None) locate the offence."""

    def __init__(self, message: str, key: Optional[str] = None, line: Optional[int] = None,
                 source: str = "<spec>"):
        self.key, self.line, self.source = key, line, source
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*$")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_KEYLINE = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-]+)\s*=")


def _key_lines(text: str) -> Dict[Tuple[str, Optional[int], str], int]:
    """Map (table, array-table index, key) -> 1-based line by scanning the TOML text.

    Strings and comments are blanked first; the line where each ``key =`` starts is kept (a
    multi-line array points at its key).
    """
    out: Dict[Tuple[str, Optional[int], str], int] = {}
    table, index, counts, depth = "", None, {}, 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _STRINGS.sub('""', raw).split("#", 1)[0]
        if depth == 0:
            m = _HEADER.match(line)
            if m:
                name = m.group(2).strip().strip("\"'")
                if m.group(1) == "[[":
                    counts[name] = counts.get(name, -1) + 1
                    table, index = name, counts[name]
                else:
                    table, index = name, None
                continue
            k = _KEYLINE.match(line)
            if k:
                out.setdefault((table, index, k.group(1).strip("\"'")), lineno)
                line = line[k.end():]
        depth = max(0, depth + line.count("[") + line.count("{") - line.count("]") - line.count("}"))
    return out


@_frozen
class SweepSpec:
    """A validated sweep: the task, its canonical parameter sets, base seed and options."""

    task: str
    points: Tuple[Mapping[str, object], ...]
    seed: int = 0
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)
    source: str = "<spec>"

    def items(self) -> List[Tuple[str, dict]]:
        """``[(key, params), ...]`` in spec order (duplicates removed)."""
        seen, out = set(), []
        for p in self.points:
            k = task_key(self.task, p)
            if k not in seen:
                seen.add(k)
                out.append((k, dict(p)))
        return out


def _canonical_json(obj) -> str:
    def enc(v):
        if isinstance(v, float) and math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    return json.dumps({k: enc(v) for k, v in sorted(obj.items())}, sort_keys=True,
                      separators=(",", ":"))


def task_key(task: str, params: Mapping[str, object]) -> str:
    """Stable key of a task: sha256 of its name and canonical (default-filled) parameters."""
    text = task + "\n" + _canonical_json(dict(params))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


_OPTIONS = {"sleep": Param("real", 0.0, 0.0, 3600.0, doc="seconds slept before each task")}
_TOP_KEYS = ("task", "seed", "description", "grid", "fixed", "points", "options")


def parse_spec(text: str, source: str = "<spec>") -> SweepSpec:
    """Parse and fully validate a sweep spec (TOML text) before any work is done.

    Raises
    ------
    SpecError
        Naming the offending key and its line: invalid TOML, unknown task, unknown parameter,
        wrong type, value out of range, missing required parameter, inconsistent combination.
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"invalid TOML: {exc}", source=source) from None
    lines = _key_lines(text)

    def line_of(table: str, key: str, index: Optional[int] = None) -> Optional[int]:
        if (table, index, key) in lines:
            return lines[(table, index, key)]
        hits = [v for (tb, _, k), v in lines.items() if k == key and tb == table]
        return min(hits) if hits else None

    def fail(msg, table, key, index=None):
        label = key if not table else (f"[{table}] {key}" if index is None
                                       else f"[[{table}]] #{index + 1} {key}")
        raise SpecError(f"{label}: {msg}", key=key, line=line_of(table, key, index), source=source)

    for k in doc:
        if k not in _TOP_KEYS:
            fail(f"unknown top-level key (allowed: {', '.join(_TOP_KEYS)})", "", k)
    if "task" not in doc:
        raise SpecError("missing key 'task'", key="task", line=None, source=source)
    try:
        task = get_task(doc["task"])
    except ValueError as exc:
        fail(str(exc), "", "task")
    seed = doc.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail(f"seed must be an integer >= 0, got {seed!r}", "", "seed")

    options = {}
    opts = doc.get("options", {})
    if not isinstance(opts, dict):
        fail("must be a table", "", "options")
    for k, v in opts.items():
        if k not in _OPTIONS:
            fail(f"unknown option (allowed: {', '.join(_OPTIONS)})", "options", k)
        try:
            options[k] = _OPTIONS[k].coerce(k, v)
        except ValueError as exc:
            fail(str(exc), "options", k)
    for k, prm in _OPTIONS.items():
        options.setdefault(k, prm.default)

    where: Dict[str, Tuple[str, Optional[int]]] = {}  # param -> (table, index) defining it

    def coerce(table, key, value, index=None):
        if key not in task.params:
            fail(f"unknown parameter for task {task.name!r} (parameters: "
                 f"{', '.join(task.params)})", table, key, index)
        if isinstance(value, (dict, list)):
            fail(f"{key} must be a scalar here, got {type(value).__name__}", table, key, index)
        try:
            return task.params[key].coerce(key, value)
        except ValueError as exc:
            fail(str(exc), table, key, index)

    grid = doc.get("grid", {})
    if not isinstance(grid, dict):
        fail("must be a table of lists", "", "grid")
    axes = []
    for key, values in grid.items():
        if not isinstance(values, list):
            fail(f"grid values must be a list, got {values!r}", "grid", key)
        if not values:
            fail("grid list must not be empty", "grid", key)
        axes.append((key, [coerce("grid", key, v) for v in values]))
        where[key] = ("grid", None)
    fixed = doc.get("fixed", {})
    if not isinstance(fixed, dict):
        fail("must be a table of scalars", "", "fixed")
    fixed_c = {}
    for key, value in fixed.items():
        if key in where:
            fail("parameter given twice (in [grid] and [fixed])", "fixed", key)
        fixed_c[key] = coerce("fixed", key, value)
        where[key] = ("fixed", None)
    points = doc.get("points", [{}])
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points) or not points:
        fail("must be a non-empty array of tables ([[points]])", "", "points")
    points_c = []
    for i, pt in enumerate(points):
        pc = {}
        for key, value in pt.items():
            if key in where:
                fail(f"parameter given twice (in [[points]] and [{where[key][0]}])", "points", key, i)
            pc[key] = coerce("points", key, value, i)
        points_c.append(pc)

    size = len(points_c) * math.prod(len(v) for _, v in axes)
    if size > _MAX_TASKS:
        fail(f"the sweep has {size} tasks, more than the limit {_MAX_TASKS} (split it into several specs)", "", "grid")
    check = task.check
    names, lists = [a[0] for a in axes], [a[1] for a in axes]
    out = []
    for i, pc in enumerate(points_c):
        for combo in itertools.product(*lists):
            params = {**fixed_c, **dict(zip(names, combo)), **pc}
            for key, prm in task.params.items():
                if key not in params:
                    if key == "seed":  # seeded tasks default to the spec's base seed
                        params[key] = int(seed)
                        continue
                    if prm.required:
                        fail(f"required parameter {key!r} of task {task.name!r} is missing "
                             f"(give it in [grid], [fixed] or [[points]])", "", "task")
                    params[key] = prm.default
            params = {k: params[k] for k in task.params}
            if check is not None:
                try:
                    check(**params)
                except ValueError as exc:
                    bad = _first_param_named(str(exc), params, where, pc)
                    table, idx = ("points", i) if bad in pc else where.get(bad, ("", None))
                    fail(f"{exc} (parameter set {_canonical_json(params)})", table,
                         bad or "task", idx)
            out.append(params)
    return SweepSpec(task=task.name, points=tuple(out), seed=int(seed), options=options,
                     source=source)


def _first_param_named(msg: str, params, where, point) -> Optional[str]:
    """The spec-given parameter mentioned first in an error message (to locate its line)."""
    best = None
    for name in params:
        if name in where or name in point:
            m = re.search(rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])", msg)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), name)
    return best[1] if best else None


def load_spec(path) -> SweepSpec:
    """Read and validate a sweep spec file (see :func:`parse_spec`)."""
    path = Path(path)
    return parse_spec(path.read_text(encoding="utf-8"), source=str(path))
