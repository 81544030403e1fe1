"""First-order usefulness: how much expected reward one small step along a direction buys.

For each estimator's mean gradient g the lab moves the weights to theta -/+ eps * g / ||g|| (eps =
``step_size``, the L2 norm of the whole parameter change; minus is down the loss), re-decodes the
batch's prompts ``samples`` times each with the recipe's sampler, grades them, and restores the
weights exactly (from a host copy). Usefulness is the central difference
(R(theta - eps g^) - R(theta + eps g^)) / 2: the first-order reward change of a step of size
eps, with the second-order (curvature) term cancelled. That matters on the tiny model, where a
step of 0.1 either way loses 20-30 points of reward. Both sides decode with the same row seeds
(common random numbers: ``trainer.rollout.collect`` at a step no training run uses), so the
difference is paired per (prompt, sample), with a bootstrap 95% CI over those pairs.
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


def _paired(diff: np.ndarray, n_boot: int) -> dict[str, Any]:
    lo, hi = bootstrap_ci(diff, n_boot, 0) if diff.size > 1 else (float(diff[0]), float(diff[0]))
    return {"value": float(diff.mean()), "n": int(diff.size), "ci_low": lo, "ci_high": hi,
            "ci_method": "bootstrap-95 over (prompt, sample) pairs"}


def usefulness(down: np.ndarray, up: np.ndarray, base: np.ndarray, step_size: float,
               n_boot: int = 2000) -> dict[str, Any]:
    """Central difference (down - up) / 2 over scorable (prompt, sample) pairs, with its CI; also
    ``gain``, the one-sided change down - base (what the step alone did, curvature included)."""
    ok = ~(np.isnan(down) | np.isnan(up) | np.isnan(base))
    if not ok.any():
        return {"value": 0.0, "n": 0, "ci_low": None, "ci_high": None, "ci_method": None, "step_size": step_size,
                "gain": None, "reward_down": None, "reward_up": None, "reward_base": None}
    return {**_paired((down[ok] - up[ok]) / 2, n_boot), "step_size": step_size,
            "gain": _paired(down[ok] - base[ok], n_boot), "reward_down": float(down[ok].mean()),
            "reward_up": float(up[ok].mean()), "reward_base": float(base[ok].mean())}
