"""``coupled``: complementary masks (DiffuCoder's coupled sampling, Gong et al. 2025).

Per sample t ~ U(lo, hi); forward 1 masks a random t-fraction A of the valid positions,
forward 2 masks the rest V \\ A; each valid token is scored exactly once, in a partially masked
context. With ``estimator.coupled.weighting`` positions are weighted 1/t and 1/(1-t) (DiffuCoder's
importance weights; the weight scales the whole per-token loss, KL and entropy included).
DiffuCoder also averages in a third, fully masked pass, which is not done here. The default
(0.5, 0.5) without weights is the reference (Drift) variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch
from trainer.estimators.random_masking import random_subset


@dataclass
class CoupledSettings:
    """``estimator.coupled``."""

    t: tuple[float, float] = (0.5, 0.5)
    """Masking ratio t ~ U(lo, hi); (0.5, 0.5) is Drift's split, (0.2, 0.8) DiffuCoder's."""
    weighting: bool = False
    """Weight positions by 1/t and 1/(1-t) (DiffuCoder) instead of 1."""

    def __post_init__(self) -> None:
        lo, hi = self.t
        if not 0.0 < lo <= hi < 1.0:
            raise ValueError("estimator.coupled.t must be [lo, hi] with 0 < lo <= hi < 1")


def plan(batch: TrainBatch, cfg: Any, rng: RowRNG) -> list[ForwardPlan]:
    lo, hi = cfg.coupled.t
    first = torch.zeros_like(batch.valid)
    w1 = torch.ones(batch.valid.shape, device=batch.valid.device)
    w2 = torch.ones_like(w1)
    for row in range(batch.size):
        n = int(batch.valid[row].sum())
        if not batch.trainable[row] or n == 0:
            continue
        t = lo + (hi - lo) * float(torch.rand(1, generator=rng(row)))
        count = min(n - 1, max(1, round(t * n))) if n > 1 else 1
        first[row] = random_subset(batch.valid[row], count, rng(row))
        if cfg.coupled.weighting:
            w1[row], w2[row] = 1.0 / t, 1.0 / (1.0 - t)
    second = batch.valid & ~first & batch.trainable[:, None]
    active = batch.trainable.clone()
    return [
        ForwardPlan(mask_completion=first, loss_mask=first, keep_mask=first, active=active,
                    weight=w1 if cfg.coupled.weighting else None),
        ForwardPlan(mask_completion=second, loss_mask=second, keep_mask=second, active=active,
                    weight=w2 if cfg.coupled.weighting else None),
    ]


ESTIMATOR = Estimator(name="coupled", plan=plan, description="two complementary random masks (DiffuCoder)")
