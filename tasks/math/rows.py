"""Turn math dataset rows into ``Example``s, whatever layout the source uses.

Accepted layouts (the first present field wins):

- question: ``question`` (reference JSON, GSM8K) or ``problem`` (MATH, MATH-500);
- gold: ``ground_truth_answer`` (reference JSON), ``answer`` (MATH-500 plain answer, or GSM8K
  reasoning ending in ``#### 1,234``), or ``solution`` (MATH: the last ``\\boxed{}``);
- id: ``unique_id``, ``id`` or ``task_id``; otherwise ``"<split>-<index:05d>"``;
- meta: ``level`` (``3`` or ``"Level 3"``) and ``subject``/``type`` when present.

A row whose gold answer is an empty string cannot be graded; it is skipped with a warning that
names the rows (``MATH_train.json`` has two such rows) rather than failing the whole load.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from tasks.base import Example
from tasks.data import Rows, check_split, load_rows
from tasks.math.extract import clean_answer, last_boxed, parse_gsm8k_gold

log = logging.getLogger(__name__)


def number_to_str(value: int | float) -> str:
    """``18.0`` -> ``"18"``, ``2.5`` -> ``"2.5"`` (gold answers are strings)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def gold_answer(rows: Rows, i: int) -> str:
    """The gold answer string of row ``i`` (see module docstring for the accepted fields)."""
    row = rows.rows[i]
    if row.get("ground_truth_answer") is not None or "answer" not in row and "solution" not in row:
        value = rows.field(i, ("ground_truth_answer", "answer", "solution"), (str, int, float), allow_empty=True)
        return value.strip() if isinstance(value, str) else number_to_str(value)
    if row.get("answer") is not None:
        value = rows.field(i, ("answer",), (str, int, float))
        if isinstance(value, str) and "####" in value:
            try:
                return parse_gsm8k_gold(value)
            except ValueError as exc:
                raise rows.error(i, "field 'answer' has '####' but no number after it; fix the row") from exc
        return value.strip() if isinstance(value, str) else number_to_str(value)
    solution = rows.field(i, ("solution",))
    boxed = last_boxed(solution)
    if boxed is None or not boxed.strip():
        raise rows.error(i, "field 'solution' has no \\boxed{} final answer; add 'answer' or fix the solution")
    return clean_answer(boxed)


def math_example(rows: Rows, i: int, split: str) -> Example | None:
    """Row ``i`` as an ``Example`` (question, gold answer, id, level/subject); None if gold is empty."""
    question = rows.field(i, ("question", "problem"))
    answer = gold_answer(rows, i)
    if not answer:
        return None
    source_id = rows.field(i, ("unique_id", "id", "task_id"), (str, int), required=False)
    meta: dict = {}
    level = rows.field(i, ("level",), (int, str), required=False)
    if level is not None:
        m = re.search(r"\d+", str(level))
        meta["level"] = int(m.group()) if m else level
    subject = rows.field(i, ("subject", "type"), (str,), required=False)
    if subject is not None:
        meta["subject"] = subject
    ex_id = str(source_id) if source_id is not None else f"{split}-{i:05d}"
    return Example(id=ex_id, question=question, answer=answer, meta=meta)


def math_loader(
    name: str,
    splits: tuple[str, ...],
    default_split: str,
    local_files: dict[str, str],
    hf_reader: Callable[[str | None, str], Rows] | None,
) -> Callable[..., list[Example]]:
    """A ``load(split=None, source=None)`` for a math task with these sources."""

    def load(split: str | None = None, source: str | Path | None = None) -> list[Example]:
        split = check_split(name, split, splits, default_split)
        rows = load_rows(source, task=name, split=split, local_file=local_files.get(split), hf_reader=hf_reader)
        examples = [math_example(rows, i, split) for i in range(len(rows.rows))]
        skipped = [i + 1 for i, ex in enumerate(examples) if ex is None]
        if skipped:
            log.warning("%s: skipped %d row(s) with an empty gold answer: rows %s", rows.origin, len(skipped), skipped[:10])
        return [ex for ex in examples if ex is not None]

    load.__doc__ = f"Examples of task {name!r}: split in {splits} (default {default_split!r}); source as in tasks.data."
    return load
