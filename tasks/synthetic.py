"""Deterministic, split-disjoint generation for synthetic tasks (arithmetic, countdown, sudoku).

Item ``j`` of a task's stream is drawn from ``random.Random(f"{task}:{seed}:{j}")`` (string seeds
are hashed the same way on every platform and Python version), so a (seed, n) pair always yields
the same items. Which split an item belongs to depends only on a hash of its *content key* (the
expression, the puzzle), never on the seed or position: a test item can therefore never show up
in any training set, whatever seeds either side used. Within a split, duplicate keys are skipped.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import TypeVar

from harness.errors import UserError

T = TypeVar("T")
TEST_PER_MILLE = 100  # 10% of the content space is reserved for the test split


def split_of(task: str, key: str) -> str:
    """``"test"`` for about 10% of content keys, ``"train"`` for the rest (stable forever)."""
    digest = hashlib.sha256(f"{task}|{key}".encode()).digest()
    return "test" if int.from_bytes(digest[:4], "big") % 1000 < TEST_PER_MILLE else "train"


def generate_split(
    task: str,
    split: str,
    n: int,
    seed: int,
    make: Callable[[random.Random], tuple[str, T]],
) -> list[T]:
    """The first ``n`` distinct items of ``split`` in the ``(task, seed)`` stream.

    ``make(rng)`` returns ``(content_key, item)``. Raises ``UserError`` if the content space is
    too small to supply ``n`` distinct items.
    """
    if n < 0:
        raise UserError(f"task {task!r}: n must be >= 0, got {n}")
    items: list[T] = []
    seen: set[str] = set()
    limit = 50 * n + 1000
    j = 0
    while len(items) < n:
        if j >= limit:
            raise UserError(
                f"task {task!r}: only {len(items)} distinct {split} items found after {limit} draws; "
                "ask for fewer items (n) or a harder difficulty"
            )
        key, item = make(random.Random(f"{task}:{seed}:{j}"))
        j += 1
        if key in seen or split_of(task, key) != split:
            continue
        seen.add(key)
        items.append(item)
    return items
