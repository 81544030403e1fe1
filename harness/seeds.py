"""Seeds derived from named parts, stable across processes, platforms and Python versions.

Every random choice in rollouts, masking schedules and evaluation sampling draws from a
generator seeded by ``derive_seed(base_seed, purpose, step, item, ...)``. That makes a
resumed run repeat a straight run exactly, and a sharded run repeat a single-process run,
without saving or syncing RNG state (the reference seeds every rank identically).
"""

from __future__ import annotations

import hashlib

import torch


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any printable parts (order matters)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(*parts: object, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch generator seeded with ``derive_seed(*parts)``."""
    return torch.Generator(device=device).manual_seed(derive_seed(*parts))
