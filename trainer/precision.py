"""The precision contract of training, and the guard that enforces it.

Contract (``TrainConfig``): the optimizer always updates float32 master weights; bf16 is a
*compute* dtype (``run.mixed_precision``: autocast when replicated, FSDP2's
``MixedPrecisionPolicy`` when sharded, DeepSpeed's bf16 with fp32 master weights); ``model.dtype``
is the storage dtype of the frozen copies (KL reference, the rollout copy under FSDP) and of the
exported checkpoint weights. Why: AdamW at lr 1e-6 moves a weight by about 1e-6 per step, while
a bf16 weight of magnitude 0.02 has a spacing of about 1e-4, so in bf16 the update rounds away
and an 8B run trains nothing, silently.

``UpdateProbe`` checks that this holds in practice: it keeps a fixed sample of every trainable
tensor (at most ``per_tensor`` elements each, the local shard under FSDP) and after the first
optimizer step that had a gradient counts how many of the sampled elements with a non-zero
gradient moved. Fewer than half means updates are
rounding away (or the learning rate is far too small), and the run stops with one line saying
what to change, instead of burning GPU-days on an unchanged model.
"""

from __future__ import annotations

from typing import Any

import torch

from harness.errors import UserError

MIN_CHANGED = 0.5


def _local(param: torch.Tensor) -> torch.Tensor:
    return param.to_local() if hasattr(param, "to_local") else param


class UpdateProbe:
    """A fixed sample of the trainable weights, compared across the next optimizer step.

    Only elements whose gradient was non-zero at that step count: LoRA's A matrices (zero
    gradient while B is still zero) and embedding rows of absent tokens cannot move, and say
    nothing about precision.
    """

    def __init__(self, net: torch.nn.Module, optimizer: Any, per_tensor: int = 512) -> None:
        self.samples: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.dtypes: set[str] = set()
        for p in net.parameters():
            if not p.requires_grad:
                continue
            flat = _local(p).detach().reshape(-1)
            self.dtypes.add(str(p.dtype).removeprefix("torch."))
            if flat.numel() == 0:
                continue
            idx = torch.linspace(0, flat.numel() - 1, min(per_tensor, flat.numel()), device=flat.device).long()
            self.samples.append((p, idx, flat[idx].clone()))
        self.had_grad: list[torch.Tensor] | None = None
        inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps the torch optimizer
        self._hook = inner.register_step_pre_hook(self._capture)

    def _capture(self, *_: Any) -> None:
        if self.had_grad is None:
            self.had_grad = [
                torch.zeros_like(idx, dtype=torch.bool) if p.grad is None
                else _local(p.grad).detach().reshape(-1)[idx] != 0
                for p, idx, _ in self.samples
            ]
        self._hook.remove()

    def changed_fraction(self, reduce: Any = None) -> float:
        """Fraction of sampled elements with a gradient that differ now (summed over processes)."""
        changed = total = 0
        masks = self.had_grad or [torch.ones_like(idx, dtype=torch.bool) for _, idx, _ in self.samples]
        for (p, idx, before), mask in zip(self.samples, masks):
            now = _local(p).detach().reshape(-1)[idx]
            changed += int(((now != before) & mask).sum())
            total += int(mask.sum())
        counts = torch.tensor([changed, total], dtype=torch.float64)
        if reduce is not None:
            counts = reduce(counts)
        return float(counts[0] / counts[1]) if counts[1] > 0 else 1.0


def check_updates_applied(fraction: float, dtypes: set[str], lr: float, mixed_precision: str) -> None:
    """Stop the run when the first optimizer step left most trainable weights unchanged."""
    if fraction >= MIN_CHANGED:
        return
    stored = ", ".join(sorted(dtypes))
    if dtypes - {"float32", "float64"}:
        fix = (f"keep trainable weights in float32 (model.dtype only sets frozen copies and the export) and "
               f"compute in bf16 with run.mixed_precision=bf16 (now {mixed_precision})")
    else:
        fix = "raise optim.lr: a step this small is below float32's resolution for these weights"
    raise UserError(
        f"the first optimizer step changed only {fraction:.1%} of the trainable weights "
        f"(stored as {stored}, optim.lr={lr:g}): updates are rounding away; {fix}"
    )
