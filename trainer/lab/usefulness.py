"""First-order usefulness: how much expected reward one small step along a direction buys.

For each estimator's mean gradient the lab moves the weights by ``step_size`` (L2 norm of the
whole parameter change) down the loss, i.e. theta - step_size * g / ||g||, re-decodes the batch's
prompts ``samples`` times each with the recipe's sampler and grades them, then restores the
weights exactly (from a host copy). Every direction is decoded with the same row seeds as the
unmoved model (common random numbers: ``trainer.rollout.collect`` at a step no training run
uses), so the reported change is a paired difference per (prompt, sample), with a bootstrap 95%
CI over those pairs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from harness.metrics import bootstrap_ci
from trainer.config import TrainConfig
from trainer.lab.batch import LabBatch
from trainer.lab.sums import Grads, dot
from trainer.rollout import collect

USEFULNESS_STEP = -1  # the rollout "step" whose row seeds the lab re-decodes with (never a training step)


def sample_rewards(lm: Any, lb: LabBatch, cfg: TrainConfig, samples: int) -> np.ndarray:
    """Rewards of ``samples`` fresh completions of each of the batch's prompts (NaN = unscorable)."""
    rcfg = replace(cfg, rollout=replace(cfg.rollout, group_size=samples))
    roll = collect(lm, lb.task, lb.examples, lb.item_ids, lb.template, rcfg, USEFULNESS_STEP)
    return roll.rewards.numpy().astype(np.float64)


class WeightSnapshot:
    """A host copy of the trainable weights, to move along a direction and come back exactly."""

    def __init__(self, net: torch.nn.Module) -> None:
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.saved = [p.detach().to("cpu", copy=True) for p in self.params]

    @contextlib.contextmanager
    def moved(self, direction: Grads, step_size: float) -> Iterator[None]:
        """Weights at theta - step_size * direction / ||direction|| inside the block."""
        norm = math.sqrt(dot(direction, direction))
        try:
            if norm > 0:
                with torch.no_grad():
                    for p, d in zip(self.params, direction):
                        p.add_(d.to(p.device, p.dtype), alpha=-step_size / norm)
            yield
        finally:
            with torch.no_grad():
                for p, s in zip(self.params, self.saved):
                    p.copy_(s.to(p.device))


def usefulness(base: np.ndarray, moved: np.ndarray, step_size: float, n_boot: int = 2000) -> dict[str, Any]:
    """Paired reward change (moved - base) over scorable (prompt, sample) pairs, with its CI."""
    ok = ~(np.isnan(base) | np.isnan(moved))
    diff = moved[ok] - base[ok]
    if diff.size == 0:
        return {"value": 0.0, "n": 0, "ci_low": None, "ci_high": None, "ci_method": None,
                "step_size": step_size, "reward_after": None}
    lo, hi = bootstrap_ci(diff, n_boot, 0) if diff.size > 1 else (float(diff[0]), float(diff[0]))
    return {"value": float(diff.mean()), "n": int(diff.size), "ci_low": lo, "ci_high": hi,
            "ci_method": "bootstrap-95 over (prompt, sample) pairs", "step_size": step_size,
            "reward_after": float(moved[ok].mean())}
