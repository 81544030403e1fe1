"""A reward task for trainer tests: any completion scores the fraction of its characters that
are digits, so completions of a random tiny model get varied, fractional rewards (non-zero
advantages) without any real skill. Used as ``tests.trainer.toy_task:TASK``."""

from __future__ import annotations

from tasks.base import Example, Task, Verdict


def load(split=None, source=None, n: int = 64) -> list[Example]:
    return [Example(id=f"{split or 'train'}-{i:05d}", question=f"q{i} say digits:", answer="") for i in range(n)]


def format_prompt(example: Example, family: str) -> str:
    return example.question


def verify(completion: str, example: Example) -> Verdict:
    if not completion:
        return Verdict(correct=False, score=0.0, answer="", reason="empty")
    frac = sum(c.isdigit() for c in completion) / len(completion)
    return Verdict(correct=frac > 0.5, score=frac, answer=completion, reason=f"{frac:.2f} digits")


TASK = Task(name="toy_digits", version="1", load=load, format_prompt=format_prompt, verify=verify,
            splits=("train", "test"), default_split="train", kind="toy")
