"""``random_masking``: k independent random masks over the valid positions (UniGRPO/ELBO-style).

Each forward masks max(1, floor(ratio * |V|)) valid positions chosen uniformly and scores
exactly those; other completion positions stay visible (as in the reference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch


def random_subset(valid_row: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """A bool mask selecting ``count`` random positions among ``valid_row``."""
    idx = valid_row.nonzero().squeeze(1)
    pick = idx[torch.randperm(idx.numel(), generator=gen)[:count].to(idx.device)]
    out = torch.zeros_like(valid_row)
    out[pick] = True
    return out


@dataclass
class RandomMaskingSettings:
    """``estimator.random_masking``."""

    mask_ratio: float = 0.3
    """Fraction of valid positions masked per forward."""

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_ratio <= 1.0:
            raise ValueError("estimator.random_masking.mask_ratio must lie in (0, 1]")


def plan(batch: TrainBatch, cfg: Any, rng: RowRNG) -> list[ForwardPlan]:
    plans = []
    for _ in range(cfg.k):
        mask = torch.zeros_like(batch.valid)
        for row in range(batch.size):
            n = int(batch.valid[row].sum())
            if batch.trainable[row] and n:
                mask[row] = random_subset(batch.valid[row], max(1, math.floor(cfg.random_masking.mask_ratio * n)), rng(row))
        plans.append(ForwardPlan(mask_completion=mask, loss_mask=mask, keep_mask=mask, active=batch.trainable.clone()))
    return plans


ESTIMATOR = Estimator(name="random_masking", plan=plan, description="k random masks over valid positions")
