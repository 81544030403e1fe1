"""Explicit, lazy task registry: a name maps to ``"module:ATTR"`` and is imported on first use.

Three ways to reach a task by name, in order:

1. ``BUILTIN`` below (adding a built-in task = one line here + one module);
2. tasks registered at runtime with ``register_task`` or found in the ``rldf.tasks`` entry-point
   group of installed packages (``name = "pkg.module:TASK"``);
3. a ``"pkg.module:ATTR"`` string passed directly (a task in a file of your own).

Nothing is imported until a task is asked for, so ``import tasks`` stays cheap and listing names
never reads data. Unknown names raise ``UnknownTaskError`` with "did you mean" suggestions.
"""

from __future__ import annotations

import difflib
import importlib
from importlib import metadata

from harness.errors import UserError
from tasks.base import Task

ENTRY_POINT_GROUP = "rldf.tasks"

BUILTIN: dict[str, str] = {
    "gsm8k": "tasks.gsm8k:TASK",
    "math500": "tasks.math500:TASK",
    "math": "tasks.math_train:TASK",
    "countdown": "tasks.countdown:TASK",
    "sudoku": "tasks.sudoku:TASK",
    "arithmetic": "tasks.arithmetic:TASK",
    "arithmetic_long": "tasks.arithmetic:TASK_LONG",
    "humaneval": "tasks.code.humaneval:TASK",
    "mbpp": "tasks.code.mbpp:TASK",
    "mbpp_sanitized": "tasks.code.mbpp:TASK_SANITIZED",
    "stdio_code": "tasks.code.stdio:TASK",
}

_runtime: dict[str, str | Task] = {}
_cache: dict[str, Task] = {}


class UnknownTaskError(UserError):
    """A task name that is neither registered nor a loadable ``module:ATTR`` string."""


def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _all_specs() -> dict[str, str | Task]:
    specs: dict[str, str | Task] = dict(_entry_points())
    specs.update(BUILTIN)  # built-ins win over a third-party package claiming the same name
    specs.update(_runtime)
    return specs


def list_tasks() -> list[str]:
    """All task names reachable by ``get_task`` (built-in, entry points, runtime), sorted."""
    return sorted(_all_specs())


def register_task(task_or_spec: Task | str, name: str | None = None) -> str:
    """Make a task reachable by name; ``task_or_spec`` is a ``Task`` or a ``"module:ATTR"`` string.

    Returns the name it was registered under (the task's own name unless ``name`` is given).
    """
    if isinstance(task_or_spec, Task):
        key = name or task_or_spec.name
    else:
        if ":" not in task_or_spec:
            raise UserError(f"register_task: {task_or_spec!r} is not 'module:ATTR'; pass e.g. 'mypkg.mytask:TASK'")
        if name is None:
            task = _import_spec(task_or_spec)
            key = task.name
        else:
            key = name
    _runtime[key] = task_or_spec
    _cache.pop(key, None)
    return key


def _import_spec(spec: str) -> Task:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UnknownTaskError(f"task spec {spec!r} must look like 'pkg.module:TASK'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UnknownTaskError(
            f"task spec {spec!r}: cannot import module {module_name!r} ({exc}); check the module path and PYTHONPATH"
        ) from exc
    try:
        obj = getattr(module, attr)
    except AttributeError as exc:
        raise UnknownTaskError(f"task spec {spec!r}: module {module_name!r} has no attribute {attr!r}") from exc
    if not isinstance(obj, Task):
        raise UnknownTaskError(f"task spec {spec!r} is a {type(obj).__name__}, not a tasks.Task")
    return obj


def get_task(name: str) -> Task:
    """The task registered as ``name``, or the ``Task`` at ``"pkg.module:ATTR"``."""
    if name in _cache:
        return _cache[name]
    specs = _all_specs()
    if name in specs:
        spec = specs[name]
        task = spec if isinstance(spec, Task) else _import_spec(spec)
    elif ":" in name:
        task = _import_spec(name)
    else:
        close = difflib.get_close_matches(name, list(specs), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "run `rldf tasks` to list tasks"
        raise UnknownTaskError(f"unknown task {name!r}: {hint} (or pass 'pkg.module:TASK')")
    _cache[name] = task
    return task
