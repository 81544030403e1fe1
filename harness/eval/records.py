"""One line of ``samples.jsonl``: what was asked, what came back, and how it was graded.

Fields beyond ``harness.results.SAMPLE_FIELDS``: ``gold`` (the item's answer, for audit),
``seed`` (the run seed; resume refuses records of another seed), ``row_seed`` (this sample's
sampling seed), ``task_version`` (the verifier that graded it; records graded by another
version are regraded on resume without decoding again), ``lenient`` (``{"correct", "answer"}``
where the task has lenient extraction) and ``extra`` (other verdict details, e.g. sudoku's
cell accuracy). Nothing run-dependent (times, hosts) goes in, so an interrupted and resumed run
writes exactly the records of an uninterrupted one.
"""

from __future__ import annotations

import json
from typing import Any

from tasks.base import Example, Verdict


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (tuples become lists, unknown objects their ``str``)."""
    return json.loads(json.dumps(value, default=str))


def apply_verdict(record: dict[str, Any], verdict: Verdict, task_version: str) -> dict[str, Any]:
    """``record`` with the grading fields set from ``verdict`` (returns a new dict)."""
    out = dict(record)
    out.update(answer=verdict.answer, correct=verdict.correct, score=verdict.score, reason=verdict.reason)
    out["task_version"] = task_version
    out.pop("lenient", None)
    out.pop("extra", None)
    if isinstance(verdict.extra.get("lenient"), dict):
        out["lenient"] = jsonable(verdict.extra["lenient"])
    rest = {k: v for k, v in verdict.extra.items() if k != "lenient"}
    if rest:
        out["extra"] = jsonable(rest)
    return out


def make_record(
    *,
    key: str,
    example: Example,
    sample: int,
    prompt: str,
    completion: str,
    verdict: Verdict,
    task_version: str,
    nfe: int | None,
    gen_tokens: int | None,
    seed: int | None,
    row_seed: int | None,
) -> dict[str, Any]:
    """A complete sample record (see the module docstring for the fields)."""
    base = {
        "key": key,
        "item_id": example.id,
        "sample": sample,
        "prompt": prompt,
        "completion": completion,
        "answer": None,
        "correct": None,
        "score": None,
        "reason": "",
        "nfe": nfe,
        "gen_tokens": gen_tokens,
        "gold": jsonable(example.answer),
        "seed": seed,
        "row_seed": row_seed,
    }
    return apply_verdict(base, verdict, task_version)
