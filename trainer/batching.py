"""Deterministic data order for training: which items each rank sees at each step.

The order is a pure function of (seed, step): epoch e is a permutation seeded by (seed, e),
global step s takes the next ``global_batch`` items of the concatenated epochs, and rank r
takes every ``world``-th of them. So the "data order" part of a checkpoint is just the step
number, a resumed run sees exactly the items a straight run would, and an N-process run sees
the same global batches as a 1-process run.
"""

from __future__ import annotations

import random


class ItemStream:
    """Indices into a dataset of ``n`` items, batch by batch."""

    def __init__(self, n: int, global_batch: int, seed: int, shuffle: bool = True) -> None:
        if n <= 0:
            raise ValueError("the training set is empty; check data.task/data.split/data.source")
        if global_batch <= 0:
            raise ValueError(f"global batch must be positive, got {global_batch}")
        self.n, self.global_batch, self.seed, self.shuffle = n, global_batch, seed, shuffle
        self._cache: dict[int, list[int]] = {}

    def _epoch(self, e: int) -> list[int]:
        if e not in self._cache:
            order = list(range(self.n))
            if self.shuffle:
                random.Random(f"{self.seed}:epoch:{e}").shuffle(order)
            self._cache = {e: order}  # keep one epoch; steps move forward
        return self._cache[e]

    def global_indices(self, step: int) -> list[int]:
        """The ``global_batch`` item indices of ``step`` (wrapping into the next epoch)."""
        start = step * self.global_batch
        out = []
        for pos in range(start, start + self.global_batch):
            e, i = divmod(pos, self.n)
            out.append(self._epoch(e)[i])
        return out

    def rank_indices(self, step: int, rank: int, world: int) -> list[int]:
        """This rank's share of the step's global batch (every ``world``-th item)."""
        if self.global_batch % world:
            raise ValueError(f"global batch {self.global_batch} must be divisible by the {world} processes")
        return self.global_indices(step)[rank::world]

    def epoch_of(self, step: int) -> float:
        return step * self.global_batch / self.n
