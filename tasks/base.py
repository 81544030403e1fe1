"""The three objects every task is made of: ``Example`` (an item), ``Verdict`` (a grade), ``Task``.

One verifier serves both evaluation and RL reward, so ``Task.verify`` is pure: given a completion
and the example it answers, it returns a ``Verdict`` and touches nothing else. ``Verdict.correct``
may be ``None`` when an item cannot be scored (e.g. the sandbox failed): such items are excluded
from rewards and metrics instead of silently counting as 0.

A task module declares one ``TASK = Task(...)`` with a handful of fields; README.md, "Add a
verifiable-reward task in one file", shows a complete one (executed by a test).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

FAMILIES = ("llada", "dream", "plain")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Example:
    """One item of a task.

    ``id`` is the source's own id when it has one (``task_id``, ``unique_id``), else
    ``f"{split}-{index:05d}"``; ``question`` is the problem text without any chat wrapper;
    ``answer`` is the gold (str for math, list/dict for countdown, sudoku and code);
    ``meta`` holds anything else (level, subject, code prefix, tests, ...).
    """

    id: str
    question: str
    answer: Any
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The grade of one completion.

    ``correct``/``score`` are ``None`` when the item could not be scored; ``score`` is the reward
    in [0, 1] (fractional for code pass rates); ``answer`` is what was extracted, for audit;
    ``extra`` carries side-by-side variants such as ``{"lenient": {"correct": ..., "answer": ...}}``.
    """

    correct: bool | None
    score: float | None
    answer: str | None
    reason: str
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.score is not None and not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Verdict.score must be in [0, 1] or None, got {self.score!r}")
        if (self.correct is None) != (self.score is None):
            raise ValueError("Verdict.correct and Verdict.score must both be None (unscorable) or both set")

    @classmethod
    def unscorable(cls, reason: str, answer: str | None = None, **extra: Any) -> Verdict:
        """A verdict excluded from rewards and metrics (not a wrong answer)."""
        return cls(correct=None, score=None, answer=answer, reason=reason, extra=dict(extra))

    @classmethod
    def binary(cls, correct: bool, answer: str | None, reason: str, **extra: Any) -> Verdict:
        """A 0/1 verdict."""
        return cls(correct=correct, score=1.0 if correct else 0.0, answer=answer, reason=reason, extra=dict(extra))


@dataclass(frozen=True)
class Task:
    """A verifiable-reward task: data + prompt + verifier, plus metadata recorded with results.

    ``version`` must be bumped whenever the prompt or grading changes; it is written into every
    result. ``load(split=None, source=None, n=None)`` returns examples (``source``: None for the
    default, a local file or directory, or ``"hf:<id>"``; ``n``: how many, for generated tasks —
    a ``load`` without the parameter serves a fixed dataset, and ``load_items`` cuts it). ``format_prompt(example, family)`` renders the
    full model input for ``family`` in ``FAMILIES``. ``verify(completion, example)`` is pure.
    ``batch_verify``, when given, grades many completions at once (worker pool, sandbox in
    parallel) and must return exactly what mapping ``verify`` would. ``sizes`` gives the number
    of items per split when known without loading (benchmark sizes, generator defaults).
    """

    name: str
    version: str
    load: Callable[..., list[Example]]
    format_prompt: Callable[[Example, str], str]
    verify: Callable[[str, Example], Verdict]
    description: str = ""
    splits: tuple[str, ...] = ("test",)
    default_split: str = "test"
    hf_id: str | None = None
    local_files: Mapping[str, str] = field(default_factory=dict)
    kind: str = "math"
    sft_target: Callable[[Example], str] | None = None
    lenient: bool = False
    batch_verify: Callable[[Sequence[str], Sequence[Example]], list[Verdict]] | None = None
    sizes: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(
                f"Task.name {self.name!r} is invalid: use lowercase letters, digits and '_', starting with a letter"
            )
        if not self.version:
            raise ValueError(f"Task {self.name!r}: set version (e.g. '1'); it is recorded in every result")
        if not self.splits:
            raise ValueError(f"Task {self.name!r}: splits must list at least one split, e.g. ('test',)")
        if self.default_split not in self.splits:
            raise ValueError(
                f"Task {self.name!r}: default_split {self.default_split!r} is not in splits {self.splits}; "
                "set default_split to one of them"
            )
        unknown = set(self.local_files) - set(self.splits)
        if unknown:
            raise ValueError(f"Task {self.name!r}: local_files names splits {sorted(unknown)} not in splits {self.splits}")
        for attr in ("load", "format_prompt", "verify"):
            if not callable(getattr(self, attr)):
                raise ValueError(f"Task {self.name!r}: {attr} must be callable")
        object.__setattr__(self, "local_files", MappingProxyType(dict(self.local_files)))
        object.__setattr__(self, "sizes", MappingProxyType(dict(self.sizes)))

    def load_items(self, split: str | None = None, source: Any = None, n: int | None = None) -> list[Example]:
        """At most ``n`` items of ``split``: generated tasks make ``n``, datasets are cut to ``n``."""
        import inspect

        takes_n = "n" in inspect.signature(self.load).parameters
        items = self.load(split=split, source=source, **({"n": n} if n is not None and takes_n else {}))
        return items[:n] if n is not None else items

    def verify_many(self, completions: Sequence[str], examples: Sequence[Example]) -> list[Verdict]:
        """Grade ``completions[i]`` against ``examples[i]`` for all i, in order."""
        if len(completions) != len(examples):
            raise ValueError(f"verify_many: {len(completions)} completions but {len(examples)} examples")
        if self.batch_verify is not None:
            verdicts = list(self.batch_verify(completions, examples))
            if len(verdicts) != len(completions):
                raise RuntimeError(f"task {self.name!r}: batch_verify returned {len(verdicts)} verdicts for {len(completions)} items")
            return verdicts
        return [self.verify(c, e) for c, e in zip(completions, examples)]
