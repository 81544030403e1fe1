"""``all_masking``: the one-step mean-field estimate (d1/diffu-GRPO without prompt masking).

One forward with the whole completion masked; every valid position is scored under it.
"""

from __future__ import annotations

import torch

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch


def plan(batch: TrainBatch, cfg, rng: RowRNG) -> list[ForwardPlan]:
    loss = batch.valid & batch.trainable[:, None]
    return [
        ForwardPlan(
            mask_completion=torch.ones_like(batch.valid), loss_mask=loss, keep_mask=loss, active=batch.trainable.clone()
        )
    ]


ESTIMATOR = Estimator(name="all_masking", plan=plan, description="one step, whole completion masked")
