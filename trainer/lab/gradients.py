"""One estimator draw's policy gradient, through the trainer's own update (``run_update``).

The lab never re-implements an estimator or a loss: it hands ``trainer.update.run_update`` the
estimator's plans and, in place of an optimizer, a ``GradientTap`` whose ``step()`` gives the
gradients the update accumulated to the lab and whose ``zero_grad`` clears them, exactly where a
real optimizer would step. Gradient clipping is switched off (``grad_clip=0``: measured only), so
the tapped gradient is the gradient a training step with this plan would apply.

Gradients stay per-parameter in the parameters' dtype (no flat D-vector copy, no float32 copy);
the accumulators in ``trainer.lab.sums`` keep float32 running sums, never the R draws.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from trainer.config import TrainConfig
from trainer.estimators.base import Estimator, ForwardPlan, RowRNG, TrainBatch

Grads = list[torch.Tensor]  # one tensor per trainable parameter, in ``net.parameters()`` order


class _NoSchedule:
    def step(self) -> None:
        pass


class GradientTap:
    """Optimizer stand-in for ``run_update``: ``step()`` hands the accumulated gradients on."""

    def __init__(self, params: list[torch.nn.Parameter], sink: Callable[[Grads], None]) -> None:
        self.params, self.sink = params, sink

    def step(self) -> None:
        self.sink([p.grad.detach() if p.grad is not None else torch.zeros_like(p) for p in self.params])

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None


@dataclass
class Draw:
    """One draw's gradient and its cost."""

    grads: Grads
    forwards: int
    seconds: float


def plan_draw(estimator: Estimator, batch: TrainBatch, cfg: TrainConfig, draw: int) -> list[ForwardPlan]:
    """The estimator's forwards for draw ``draw``: ``RowRNG(seed, step=draw)`` as the trainer
    seeds step ``draw``, so draw 0 is exactly the plan of a run's first update on this batch."""
    return estimator.plan(batch, cfg.estimator, RowRNG(cfg.run.seed, draw, batch.sample_ids))


def lab_config(cfg: TrainConfig) -> TrainConfig:
    """The update settings every estimator is measured under: one REINFORCE iteration, no clipping
    of the gradient (it is what is measured). Loss settings (KL, normalisation) are the caller's."""
    return replace(cfg, loss=replace(cfg.loss, num_iterations=1), optim=replace(cfg.optim, grad_clip=0.0))


def policy_gradient(lm: Any, net: torch.nn.Module, ref_lm: Any, batch: TrainBatch, plans: list[ForwardPlan],
                    estimator: Estimator, cfg: TrainConfig, runtime: Any) -> Draw:
    """The gradient ``run_update`` computes for ``plans`` on ``batch`` (no parameter changes)."""
    from trainer.update import run_update

    params = [p for p in net.parameters() if p.requires_grad]
    got: list[Grads] = []
    tap = GradientTap(params, got.append)
    tap.zero_grad()
    t0 = time.perf_counter()
    stats = run_update(lm, net, ref_lm, batch, plans, estimator, lab_config(cfg), runtime, tap, _NoSchedule())
    return Draw(grads=got[0], forwards=stats.forwards, seconds=time.perf_counter() - t0)
