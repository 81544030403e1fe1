"""Math verdicts: strict extraction decides ``correct``; the lenient variant rides along in ``extra``.

Shared by every math task (gsm8k, math500, math) so evaluation and RL reward grade identically.
``verify_math_many`` sends all strict and lenient pairs of a batch to the worker pool at once,
deduplicated, which is what makes RL reward computation fast.
"""

from __future__ import annotations

from collections.abc import Sequence

from tasks.base import Example, Verdict
from tasks.math.equivalence import DEFAULT_TIMEOUT, answers_match_detailed
from tasks.math.extract import extract_answer


def _verdict(strict: str | None, lenient: str | None, graded: dict[tuple[str, str], tuple[bool, str]], gold: str) -> Verdict:
    len_ok = lenient is not None and graded[(gold, lenient)][0]
    extra = {"lenient": {"correct": len_ok, "answer": lenient}}
    if strict is None:
        reason = "no final answer (\\boxed{}, '####' or 'The answer is') found"
        return Verdict.binary(False, None, reason, **extra)
    ok, note = graded[(gold, strict)]
    if note == "timeout":
        reason = f"grading timed out comparing {strict!r} to {gold!r}; counted wrong"
    else:
        reason = f"{strict!r} {'matches' if ok else 'does not match'} gold {gold!r}"
    return Verdict.binary(ok, strict, reason, **extra)


def verify_math_many(
    completions: Sequence[str], golds: Sequence[str], timeout: float = DEFAULT_TIMEOUT
) -> list[Verdict]:
    """Math verdicts for ``completions[i]`` against gold answer strings ``golds[i]``."""
    answers = [(extract_answer(c, "strict"), extract_answer(c, "lenient")) for c in completions]
    pairs = sorted({(g, a) for g, (s, le) in zip(golds, answers) for a in (s, le) if a is not None})
    graded = dict(zip(pairs, answers_match_detailed(pairs, timeout)))
    return [_verdict(s, le, graded, g) for g, (s, le) in zip(golds, answers)]


def verify_math(completion: str, example: Example) -> Verdict:
    """Grade one completion against ``example.answer`` (a gold answer string)."""
    return verify_math_many([completion], [str(example.answer)])[0]


def verify_math_examples(completions: Sequence[str], examples: Sequence[Example]) -> list[Verdict]:
    """Batch form of ``verify_math`` (``Task.batch_verify`` for math tasks)."""
    return verify_math_many(completions, [str(e.answer) for e in examples])
