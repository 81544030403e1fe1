"""Prompts of an evaluation: which chat format, and the few-shot prefix when a protocol asks.

``template: auto`` uses the model family's own chat format (``llada``/``dream``) when its
tokenizer carries a chat template — an instruct checkpoint — and the ``plain`` format
otherwise (base and tiny character-level models). The resolved format is recorded with every
result (``protocol.prompt_family``), since it is part of what the model saw.
"""

from __future__ import annotations

import os
from typing import Any

from harness.errors import UserError
from tasks.base import Example, Task

_FEWSHOT_CACHE: dict[tuple[str, str, int, str | None], str] = {}


def prompt_family(template: str, lm: Any) -> str:
    """The ``Task.format_prompt`` family for ``template`` and model ``lm``."""
    if template != "auto":
        return template
    tokenizer = getattr(lm, "tokenizer", None)
    return lm.family if tokenizer is not None and getattr(tokenizer, "chat_template", None) else "plain"


def fewshot_prefix(task: Task, shots: int) -> str:
    """The first ``shots`` train items as ``<plain prompt><gold target>`` blocks (cached per task)."""
    if shots == 0:
        return ""
    key = (task.name, task.version, shots, os.environ.get("RLDF_DATA_DIR"))  # the train split's data source
    if key not in _FEWSHOT_CACHE:
        if task.sft_target is None or "train" not in task.splits:
            raise UserError(
                f"the protocol asks for {shots}-shot prompts, but task {task.name!r} has no train split with "
                "gold targets (sft_target); use a 0-shot protocol"
            )
        shots_ex = task.load(split="train")[:shots]
        _FEWSHOT_CACHE[key] = "".join(task.format_prompt(e, "plain") + task.sft_target(e) + "\n\n" for e in shots_ex)
    return _FEWSHOT_CACHE[key]


def build_prompts(task: Task, items: list[Example], family: str, shots: int) -> list[str]:
    """The model input of every item."""
    prefix = fewshot_prefix(task, shots)
    return [prefix + task.format_prompt(ex, family) for ex in items]
