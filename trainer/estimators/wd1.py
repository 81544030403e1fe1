"""``wd1``: ratio-free weighted likelihood (Tang et al. 2025, wd1).

The sequence log-likelihood comes from d1's one-step estimate (completion masked, prompt
tokens masked with ``p_mask_prompt``); the objective is
``-sum_i softmax_g(A)_i * log pi(o_i) + sum_i softmax_g(-A)_i * log pi(o_i)`` within each group
g, pulling toward high-advantage completions and away from low-advantage ones, with no
importance ratio (``trainer.losses.wd1_loss``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch
from trainer.estimators.d1 import prompt_masked_plan
from trainer.losses import wd1_loss, wd1_weights


def plan(batch: TrainBatch, cfg: Any, rng: RowRNG) -> list[ForwardPlan]:
    return [prompt_masked_plan(batch, cfg.wd1.p_mask_prompt, rng)]


def objective(logp: torch.Tensor, old_logp: torch.Tensor | None, batch: TrainBatch, rows: torch.Tensor,
              positions: torch.Tensor, lcfg: Any, share: Callable[[float], float]
              ) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
    """The sequence loss over the completion log-likelihood (summed, as wd1 does), per group."""
    seq = (logp * positions).sum(1)
    n_groups = share(float(torch.unique(batch.groups[rows]).numel()))
    loss = wd1_loss(seq, wd1_weights(batch.advantages, batch.groups, rows), batch.groups, n_groups)
    return loss, torch.zeros_like(logp), {"pg": float(loss.detach())}


ESTIMATOR = Estimator(
    name="wd1", plan=plan, description="wd1 ratio-free weighted likelihood on the d1 estimate", objective=objective,
    ratio_free=True,
)
