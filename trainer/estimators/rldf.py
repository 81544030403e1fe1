"""``rldf``: sequential masking with weighted timestep sampling and the clipped clean state.

For each sample, k trajectory steps s are drawn by ``trainer.schedules.sample_steps`` (mean
surprisal weights). Forward i rebuilds the state just before step s_i committed: every
completion position committed at or after s_i is masked (filler included — it was masked then
too, so the state does not leak where the answer ends), everything committed earlier is
visible. Loss positions are the still-masked valid positions (their final tokens are the x0
target) — kept only if the policy gives them probability >= tau_p — plus the positions committed
at s_i, always kept (the x_{t-1} target). See RLDF.md A.3-A.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch
from trainer.schedules import sample_steps, step_weights


@dataclass
class RLDFSettings:
    """``estimator.rldf``: how RLDF chooses its steps and clips its targets."""

    step_temperature: float = 1.0
    """Steps drawn with P(s) = softmax(mean surprisal / T); 0 = top-k, inf (>= 1e4) = uniform."""
    low_prob_threshold: float = 0.6
    """Masked positions enter the loss only if the policy gives their final token >= this
    probability (the clipped clean state); 0 trains on every masked position."""

    def __post_init__(self) -> None:
        if not self.step_temperature >= 0:  # also refuses NaN
            raise ValueError("estimator.rldf.step_temperature must be >= 0 (0 = top-k, large = uniform)")
        if not 0.0 <= self.low_prob_threshold <= 1.0:
            raise ValueError("estimator.rldf.low_prob_threshold must lie in [0, 1]")


def plan(batch: TrainBatch, cfg: Any, rng: RowRNG) -> list[ForwardPlan]:
    per_row = step_weights(batch.step_map, batch.token_probs, batch.valid)
    chosen = []
    for row, (cand, w) in enumerate(per_row):
        chosen.append(sample_steps(cand, w, cfg.k, cfg.rldf.step_temperature, rng(row)) if batch.trainable[row] else [])
    plans = []
    for i in range(cfg.k):
        steps = torch.tensor([c[i] if len(c) > i else -1 for c in chosen], device=batch.step_map.device)
        active = steps >= 0
        s = steps[:, None]
        mask = (batch.step_map >= s) & active[:, None]
        current = (batch.step_map == s) & batch.valid & active[:, None]
        plans.append(
            ForwardPlan(
                mask_completion=mask | ~active[:, None],
                loss_mask=mask & batch.valid,
                keep_mask=current,
                active=active,
                steps=steps,
            )
        )
    return plans


ESTIMATOR = Estimator(
    name="rldf",
    plan=plan,
    description="RLDF: k weighted trajectory steps, sequential masks, clipped clean-state targets",
    clip_threshold=lambda cfg: cfg.rldf.low_prob_threshold,
)
