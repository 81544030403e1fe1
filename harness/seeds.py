"""Seeds derived from named parts, stable across processes, platforms and Python versions.

Every random choice in rollouts, masking schedules and evaluation sampling draws from a
generator seeded by ``derive_seed(base_seed, purpose, step, item, ...)``. That makes a
resumed run repeat a straight run exactly, and a sharded run repeat a single-process run,
without saving or syncing RNG state (the reference seeds every rank identically).
"""

from __future__ import annotations

import hashlib

import torch


def derive_seed(*parts: object, sep: str = "\x1f") -> int:
    """A 63-bit seed from any printable parts (order matters): the project's one seed hash."""
    digest = hashlib.sha256(sep.join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def row_seed(seed: int, item_id: str, sample: int) -> int:
    """The sampling seed of one evaluation (item, sample): independent of batch mates and
    sharding. (Joined with '|', as results recorded before this function moved here were.)"""
    return derive_seed(seed, item_id, sample, sep="|")


def batch_row_seeds(seed: int | None, n: int) -> list[int]:
    """Per-row seeds when a caller gives none (``rldf generate``, a bare ``decode``), from
    ``SamplerConfig.seed`` and the row's index. Rollouts and evaluations always pass their own
    (``derive_seed`` of the step and sample, ``row_seed``)."""
    return [derive_seed(seed or 0, "decode-row", i) for i in range(n)]


def generator(*parts: object, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator seeded with ``derive_seed(*parts)``."""
    return torch.Generator(device=device).manual_seed(derive_seed(*parts))
