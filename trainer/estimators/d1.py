"""``d1``: diffu-GRPO's one-step estimate (Zhao et al. 2025): the whole completion masked and
each prompt token masked with probability ``p_mask_prompt`` (0.15), one forward.

With ``num_iterations > 1`` (PPO, d1's mu = 12) every inner iteration draws a fresh prompt mask,
as d1 does; the old log-probs of each iteration's masked input are computed up front with the
pre-update policy, so each ratio compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch


def prompt_masked_plan(batch: TrainBatch, p_mask_prompt: float, rng: RowRNG) -> ForwardPlan:
    """The d1 forward: completion fully masked, real prompt tokens masked with probability p.

    Draws cover each row's real prompt tokens only, so left padding does not shift them.
    """
    mask_prompt = torch.zeros_like(batch.prompt_attn, dtype=torch.bool)
    for row in range(batch.size):
        n = int(batch.prompt_attn[row].sum())
        draw = torch.rand(n, generator=rng(row)).to(batch.prompt.device)
        mask_prompt[row, batch.prompt.shape[1] - n :] = draw < p_mask_prompt
    loss = batch.valid & batch.trainable[:, None]
    return ForwardPlan(
        mask_completion=torch.ones_like(batch.valid), mask_prompt=mask_prompt,
        loss_mask=loss, keep_mask=loss, active=batch.trainable.clone(),
    )


@dataclass
class PromptMaskSettings:
    """``estimator.d1`` / ``estimator.wd1``: the one-step estimate's prompt masking."""

    p_mask_prompt: float = 0.15
    """Probability of masking each prompt token."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_mask_prompt < 1.0:
            raise ValueError("estimator p_mask_prompt must lie in [0, 1)")


def plan(batch: TrainBatch, cfg: Any, rng: RowRNG) -> list[ForwardPlan]:
    return [prompt_masked_plan(batch, cfg.d1.p_mask_prompt, rng)]


ESTIMATOR = Estimator(name="d1", plan=plan, description="d1 one-step estimate with random prompt masking",
                      fresh_plan_per_iteration=True)
