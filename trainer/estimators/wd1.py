"""``wd1``: ratio-free weighted likelihood (Tang et al. 2025, wd1).

The sequence log-likelihood comes from d1's one-step estimate (completion masked, prompt
tokens masked with ``p_mask_prompt``); the objective is
``-sum_i softmax_g(A)_i * log pi(o_i) + sum_i softmax_g(-A)_i * log pi(o_i)`` within each group
g, pulling toward high-advantage completions and away from low-advantage ones, with no
importance ratio (``trainer.losses.wd1_loss``).
"""

from __future__ import annotations

from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch
from trainer.estimators.d1 import prompt_masked_plan


def plan(batch: TrainBatch, cfg, rng: RowRNG) -> list[ForwardPlan]:
    return [prompt_masked_plan(batch, cfg.p_mask_prompt, rng)]


ESTIMATOR = Estimator(
    name="wd1", plan=plan, description="wd1 ratio-free weighted likelihood on the d1 estimate", objective="wd1"
)
