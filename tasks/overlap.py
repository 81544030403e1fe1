"""Contamination guard: find evaluation questions that also appear in training data.

Two questions overlap when they are identical (``exact``) or identical after ``normalize_question``
(``normalized``): Unicode NFKC, lower case, no whitespace, no LaTeX spacing commands (``\\,``
``\\;`` ``\\!`` ``\\quad`` ``~`` ...), no ``\\left``/``\\right``, ``\\dfrac``/``\\tfrac`` read
as ``\\frac``. The reference training file ``MATH_rldf.json`` shares 248 of MATH-500's 500
problems; ``rldf data overlap`` reports that, and the trainer drops such items with
``filter_contaminated`` unless told otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tasks.base import Example

_LATEX_SPACING = re.compile(r"\\(?:[,;:! ]|quad\b|qquad\b|left\b|right\b)|~")
_WS = re.compile(r"\s+")


def normalize_question(text: str) -> str:
    """Case-, whitespace- and LaTeX-spacing-insensitive form of a question."""
    s = unicodedata.normalize("NFKC", text)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _LATEX_SPACING.sub("", s)
    return _WS.sub("", s).lower()


@dataclass(frozen=True)
class Match:
    """One training item that repeats one evaluation item."""

    train_id: str
    eval_id: str
    kind: str  # "exact" or "normalized"
    question: str


@dataclass(frozen=True)
class OverlapReport:
    """All train/eval question overlaps; counts are of distinct eval (or train) items."""

    n_train: int
    n_eval: int
    matches: tuple[Match, ...] = ()
    train_name: str = "train"
    eval_name: str = "eval"

    @property
    def eval_ids(self) -> set[str]:
        return {m.eval_id for m in self.matches}

    @property
    def train_ids(self) -> set[str]:
        return {m.train_id for m in self.matches}

    @property
    def exact(self) -> int:
        """Distinct eval items with an exact-text twin in training."""
        return len({m.eval_id for m in self.matches if m.kind == "exact"})

    @property
    def normalized_only(self) -> int:
        """Distinct eval items that match only after normalisation."""
        return len(self.eval_ids) - self.exact

    def to_dict(self) -> dict:
        return {
            "train": self.train_name,
            "eval": self.eval_name,
            "n_train": self.n_train,
            "n_eval": self.n_eval,
            "eval_overlapping": len(self.eval_ids),
            "train_overlapping": len(self.train_ids),
            "exact": self.exact,
            "normalized_only": self.normalized_only,
            "matches": [m.__dict__ for m in self.matches],
        }


def find_overlap(
    train: Sequence[Example], eval: Sequence[Example], train_name: str = "train", eval_name: str = "eval"
) -> OverlapReport:
    """Every (train item, eval item) pair whose questions are equal, exactly or normalised."""
    exact: dict[str, list[Example]] = {}
    norm: dict[str, list[Example]] = {}
    for ex in eval:
        exact.setdefault(ex.question, []).append(ex)
        norm.setdefault(normalize_question(ex.question), []).append(ex)
    matches: list[Match] = []
    for tr in train:
        hits = exact.get(tr.question)
        kind = "exact"
        if not hits:
            hits, kind = norm.get(normalize_question(tr.question), []), "normalized"
        matches.extend(Match(tr.id, ev.id, kind, ev.question) for ev in hits)
    return OverlapReport(len(train), len(eval), tuple(matches), train_name, eval_name)


@dataclass(frozen=True)
class FilterReport:
    """What ``filter_contaminated`` dropped: training ids, and how many per eval set."""

    n_train: int
    n_kept: int
    dropped_ids: tuple[str, ...] = ()
    by_eval: dict[str, int] = field(default_factory=dict)

    @property
    def n_dropped(self) -> int:
        return self.n_train - self.n_kept

    @property
    def dropped(self) -> tuple[str, ...]:
        """Ids of the dropped training items (same as ``dropped_ids``)."""
        return self.dropped_ids


def filter_contaminated(
    train: Sequence[Example],
    eval_sets: Mapping[str, Sequence[Example]] | Sequence[Sequence[Example]],
) -> tuple[list[Example], FilterReport]:
    """Training items whose question appears in none of ``eval_sets`` (exactly or normalised)."""
    named = dict(eval_sets) if isinstance(eval_sets, Mapping) else {f"eval{i}": s for i, s in enumerate(eval_sets)}
    drop_positions: set[int] = set()
    by_eval: dict[str, int] = {}
    for name, ev in named.items():
        norms = {normalize_question(e.question) for e in ev}
        hit = {i for i, tr in enumerate(train) if normalize_question(tr.question) in norms}
        by_eval[name] = len(hit)
        drop_positions |= hit
    kept = [tr for i, tr in enumerate(train) if i not in drop_positions]
    dropped = tuple(train[i].id for i in sorted(drop_positions))
    return kept, FilterReport(len(train), len(kept), dropped, by_eval)
