"""``trace``: every step of the decoding trajectory (TraceRL-style, Wang et al. 2025).

Forward for step s reproduces the state before s (positions committed at >= s masked) and
trains only the tokens committed at s (the x_{t-1} targets). ``estimator.trace.shrink`` merges that many
consecutive steps into one forward, as TraceRL's shrink factor does. Samples with fewer steps
than the longest one get inactive padding forwards.

The loss is a *sum* over the trajectory's steps of each step's normalised loss (TraceRL's
``-1/B sum_(i,k) 1/|T_k| sum_j ...``), not a mean over forwards as for the sampled estimators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch
from trainer.schedules import step_weights


@dataclass
class TraceSettings:
    """``estimator.trace``."""

    shrink: int = 1
    """Merge this many consecutive trajectory steps into one forward (TraceRL's 's')."""

    def __post_init__(self) -> None:
        if self.shrink < 1:
            raise ValueError("estimator.trace.shrink must be >= 1")


def plan(batch: TrainBatch, cfg: Any, rng: RowRNG) -> list[ForwardPlan]:
    shrink = cfg.trace.shrink
    groups_per_row = []
    for row, (cand, _) in enumerate(step_weights(batch.step_map, batch.token_probs, batch.valid)):
        if not batch.trainable[row] or cand.numel() == 0:
            groups_per_row.append([])
            continue
        c = cand.tolist()
        groups_per_row.append([(c[i], c[min(i + shrink, len(c)) - 1]) for i in range(0, len(c), shrink)])
    n = max((len(g) for g in groups_per_row), default=0)
    plans = []
    for i in range(n):
        lo = torch.tensor([g[i][0] if len(g) > i else -1 for g in groups_per_row], device=batch.step_map.device)
        hi = torch.tensor([g[i][1] if len(g) > i else -1 for g in groups_per_row], device=batch.step_map.device)
        active = lo >= 0
        mask = (batch.step_map >= lo[:, None]) | ~active[:, None]
        current = (batch.step_map >= lo[:, None]) & (batch.step_map <= hi[:, None]) & batch.valid & active[:, None]
        plans.append(ForwardPlan(mask_completion=mask, loss_mask=current, keep_mask=current, active=active, steps=lo))
    return plans


ESTIMATOR = Estimator(name="trace", plan=plan, description="TraceRL-style: every trajectory step, current-step targets",
                      sum_forwards=True)
