"""Data-parallel evaluation: which shard this process owns, and how shards meet again.

Under ``accelerate launch`` or ``torchrun`` every process runs the same evaluation; work units
(item, sample) are dealt round-robin by their index, so a unit's owner does not depend on what
earlier runs already finished, and records are exchanged with ``all_gather_object`` over a gloo
group (a separate one when the default backend is NCCL, so no tensors cross GPUs for this).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shard:
    """This process's place in the run: rank ``rank`` of ``world``."""

    rank: int = 0
    world: int = 1
    group: Any = None  # process group for object collectives (None = default group)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def owns(self, index: int) -> bool:
        return index % self.world == self.rank

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order (just ``[obj]`` in a single process)."""
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj, group=self.group)
        return out

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier(group=self.group)


@functools.lru_cache(maxsize=1)
def _gloo_group() -> Any:
    import torch.distributed as dist

    return dist.new_group(backend="gloo")


def current_shard(distributed: bool | None = None) -> Shard:
    """The shard of this process: a single one unless a process group with > 1 ranks is up.

    ``distributed=False`` forces a single shard (e.g. only rank 0 evaluates during training).
    """
    if distributed is False:
        return Shard()
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return Shard()
    group = None if dist.get_backend() == "gloo" else _gloo_group()
    return Shard(rank=dist.get_rank(), world=dist.get_world_size(), group=group)


def init_from_env() -> str | None:
    """Start the default process group when launched with WORLD_SIZE > 1 (accelerate, torchrun).

    Returns this process's device ("cuda:<local rank>" with GPUs) or None when not distributed.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return None
    import torch
    import torch.distributed as dist

    device = None
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device else "gloo")
    return device or "cpu"
