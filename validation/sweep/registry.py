"""The task registry: a task is a callable ``fn(**params) -> flat dict`` registered under a name with its parameters.

Register with the decorator :func:`task` or with :func:`register_task`::

    @task("my.task", {"x": Param("real", 1.0)}, doc="...")
    def my_task(x):
        return {"y": 2 * x}
"""
from __future__ import annotations

import dataclasses
import importlib.util
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from .params import Param

__all__ = ["Task", "TASKS", "register_task", "task", "get_task", "task_function", "describe_tasks"]


@dataclasses.dataclass(frozen=True)
class Task:
    """A sweep task: ``fn`` called as ``fn(**params)`` returning a flat dict of results.

    ``requires`` lists modules that must be importable for the task to be offered (``fn`` imports them
    lazily); ``check`` is an optional callable ``check(**params)`` run on every parameter set before any
    work (cross-parameter validation, e.g. building the :class:`~flowphase.theory.problem.Problem`),
    raising ``ValueError``.
    """

    name: str
    fn: Callable[..., Mapping]
    params: Mapping[str, Param]
    requires: Tuple[str, ...] = ()
    check: Optional[Callable[..., None]] = None
    doc: str = ""

    def __post_init__(self):
        if not callable(self.fn):
            raise TypeError(f"task {self.name!r}: fn must be a callable, got {type(self.fn).__name__}")
        if self.check is not None and not callable(self.check):
            raise TypeError(f"task {self.name!r}: check must be a callable or None")

    def function(self) -> Callable:
        """The task's callable."""
        return self.fn

    def missing_modules(self) -> List[str]:
        out = []
        for mod in self.requires:
            try:
                found = importlib.util.find_spec(mod) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                out.append(mod)
        return out


TASKS: Dict[str, Task] = {}


def register_task(task: "Task | str", fn: Optional[Callable] = None, params: Optional[Mapping[str, Param]] = None,
                  *, requires: Tuple[str, ...] = (), check: Optional[Callable] = None, doc: str = "",
                  replace: bool = False) -> Task:
    """Add a task to the registry :data:`TASKS` (``replace=True`` to overwrite a name).

    Either ``register_task(Task(...))`` or ``register_task(name, fn, params, requires=..., check=..., doc=...)``.
    """
    if not isinstance(task, Task):
        if fn is None or params is None:
            raise TypeError("register_task(name, fn, params): fn and params are required with a name")
        task = Task(str(task), fn, dict(params), tuple(requires), check, doc or _first_line(fn))
    if task.name in TASKS and not replace:
        raise ValueError(f"task {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def task(name: str, params: Mapping[str, Param], *, requires: Tuple[str, ...] = (),
         check: Optional[Callable] = None, doc: str = "", replace: bool = False):
    """Decorator: register the decorated function as the task ``name`` (the function is returned unchanged)."""
    def deco(fn):
        register_task(name, fn, params, requires=requires, check=check, doc=doc, replace=replace)
        return fn
    return deco


def _first_line(fn) -> str:
    return ((getattr(fn, "__doc__", None) or "").strip().splitlines() or [""])[0]


def get_task(name: str) -> Task:
    """The registered task ``name``; ``ValueError`` if unknown or not installed."""
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(TASKS))}")
    task = TASKS[name]
    missing = task.missing_modules()
    if missing:
        raise ValueError(f"task {name!r} is not available in this installation "
                         f"(module {missing[0]} not found)")
    return task



_FUNCTIONS: Dict[str, Tuple[Task, Callable]] = {}


def task_function(name: str) -> Callable:
    """The task's function, checked once per process (``get_task`` checks availability)."""
    fn = _FUNCTIONS.get(name)
    if fn is None or fn[0] is not TASKS.get(name):
        t = get_task(name)
        fn = _FUNCTIONS[name] = (t, t.fn)
    return fn[1]


def describe_tasks() -> str:
    """Human-readable list of the registered tasks, their parameters, defaults and ranges."""
    lines = []
    for name in sorted(TASKS):
        task = TASKS[name]
        missing = task.missing_modules()
        lines.append(f"{name}{'  (not installed: ' + missing[0] + ')' if missing else ''}"
                     f" -- {task.doc}")
        for pname, prm in task.params.items():
            dflt = "required" if prm.required else f"default {prm.default!r}"
            lines.append(f"    {pname}: {prm.describe()}, {dflt}")
    return "\n".join(lines)
