"""Training items for RL and SFT alike: the task's items minus anything an evaluation set holds.

The contamination guard compares normalised questions (``tasks.overlap``) against every named
evaluation set, so a recipe that evaluates on MATH500 never trains on its problems (the
reference's MATH_rldf.json holds 248 of them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.errors import UserError


def training_items(task_name: str, split: str, source: Any, n: int | None, eval_sets: Sequence[str],
                   allow_contaminated: bool = False, say: Callable[[str], None] = print) -> tuple[Any, list]:
    """(task, items): ``n`` items of ``split`` (all when None), minus those found in ``eval_sets``
    ('task' or 'task:split'), unless ``allow_contaminated``."""
    from tasks import get_task
    from tasks.overlap import filter_contaminated

    task = get_task(task_name)
    examples = task.load_items(split=split, source=source, n=n)
    names = list(dict.fromkeys(eval_sets))
    if names and not allow_contaminated:
        sets = {}
        for name in names:
            tname, _, esplit = name.partition(":")
            et = get_task(tname)
            sets[name] = et.load(split=esplit or et.default_split)
        examples, report = filter_contaminated(examples, sets)
        if report.dropped:
            say(f"contamination guard: dropped {len(report.dropped)} training items found in {names}")
    if not examples:
        raise UserError(f"no training items left for task '{task.name}' (split {split}); check data.*")
    return task, examples
