"""Verifiable-reward tasks: data + prompt + verifier, found by name through a lazy registry.

    from tasks import get_task
    task = get_task("gsm8k")
    examples = task.load()                      # default split and source
    prompt = task.format_prompt(examples[0], "llada")
    verdict = task.verify(completion, examples[0])

Importing this package imports no task module, no dataset library and no math grader.
"""

from tasks.base import FAMILIES, Example, Task, Verdict
from tasks.registry import UnknownTaskError, get_task, list_tasks, register_task

__all__ = [
    "FAMILIES",
    "Example",
    "Task",
    "UnknownTaskError",
    "Verdict",
    "get_task",
    "list_tasks",
    "register_task",
]
