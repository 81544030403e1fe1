"""``run_update`` across forwards and PPO iterations: how forwards combine, and d1's fresh masks.

A one-parameter fake model (log p = theta - 1 at every position) makes the gradient of the whole
update readable: with plain SGD at lr 1 and no clipping, theta moves by minus the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import torch
from accelerate import Accelerator

from tests.trainer.test_estimators import _batch, _rng
from trainer.config import EstimatorConfig, LossConfig
from trainer.estimators import RowRNG, get_estimator
from trainer.estimators.d1 import PromptMaskSettings
from trainer.estimators.rldf import RLDFSettings
from trainer.update import _plan_loss, run_update


class _Theta(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.theta = torch.nn.Parameter(torch.zeros(()))


@dataclass
class _FakeLM:
    net: torch.nn.Module
    mask_id: int = 99
    seen: list = field(default_factory=list)  # (input ids, grad enabled) of every forward

    def token_logprobs(self, ids, targets, start, attention_mask=None, position_ids=None, return_entropy=False):
        self.seen.append((ids.clone(), torch.is_grad_enabled()))
        return self.net.theta - 1.0 + torch.zeros(targets.shape), None


def _update(name: str, lcfg: LossConfig, ecfg: EstimatorConfig, replan=None) -> tuple[float, _FakeLM, list]:
    lm = _FakeLM(_Theta())
    batch = _batch()
    estimator = get_estimator(name)
    plans = estimator.plan(batch, ecfg, _rng())
    opt = torch.optim.SGD(lm.net.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    cfg = SimpleNamespace(loss=lcfg, estimator=ecfg, optim=SimpleNamespace(grad_clip=0.0))
    run_update(lm, lm.net, None, batch, plans, estimator, cfg, Accelerator(cpu=True), opt, sched, replan=replan)
    return -float(lm.net.theta.detach()), lm, plans  # = the gradient of the update's loss


def _plan_grads(name: str, plans: list, lcfg: LossConfig, ecfg: EstimatorConfig) -> list[float]:
    grads = []
    for plan in plans:
        theta = torch.zeros((), requires_grad=True)
        logp = theta - 1.0 + torch.zeros(2, 6)
        loss, _ = _plan_loss(logp, None, plan, _batch(), get_estimator(name), lcfg, ecfg, None, None)
        loss.backward()
        grads.append(float(theta.grad))
    return grads


def test_trace_sums_its_steps_while_sampled_estimators_average_their_forwards():
    lcfg = LossConfig(norm="token", beta=0.0)
    trace_cfg = EstimatorConfig(name="trace")
    grad, _, plans = _update("trace", lcfg, trace_cfg)
    per_step = _plan_grads("trace", plans, lcfg, trace_cfg)
    assert len(plans) == 4 and grad == pytest.approx(sum(per_step))  # TraceRL: a sum over steps
    assert grad != pytest.approx(sum(per_step) / 4)
    rldf_cfg = EstimatorConfig(name="rldf", k=2, rldf=RLDFSettings(step_temperature=0.0, low_prob_threshold=0.0))
    grad, _, plans = _update("rldf", lcfg, rldf_cfg)
    per_forward = _plan_grads("rldf", plans, lcfg, rldf_cfg)
    assert len(plans) == 2 and grad == pytest.approx(sum(per_forward) / 2)  # a Monte Carlo mean


def test_wd1_weights_the_summed_sequence_log_likelihood():
    # one group of two samples, A = +1 / -1: w = softmax(A) - softmax(-A) = +-tanh(1);
    # loss = -sum_i w_i * sum_j log p_ij / 1 group, over 5 and 3 valid positions (stop tokens included)
    lcfg = LossConfig(norm="token", beta=0.0)
    grad, _, _ = _update("wd1", lcfg, EstimatorConfig(name="wd1"))
    w = torch.tanh(torch.tensor(1.0)).item()
    assert grad == pytest.approx(-(w * 5 - w * 3), rel=1e-5)  # a per-token mean would give 0


def test_d1_draws_a_fresh_prompt_mask_for_every_ppo_iteration():
    lcfg = LossConfig(norm="token", beta=0.0, num_iterations=3)
    ecfg = EstimatorConfig(name="d1", d1=PromptMaskSettings(p_mask_prompt=0.5))
    batch = _batch()
    est = get_estimator("d1")

    def replan(it):
        return est.plan(batch, ecfg, RowRNG(0, 0, batch.sample_ids, f"plan-iter{it}"))

    _, lm, _ = _update("d1", lcfg, ecfg, replan=replan)
    old = [ids for ids, grad in lm.seen if not grad]
    new = [ids for ids, grad in lm.seen if grad]
    assert len(old) == len(new) == 3
    # each iteration's policy forward sees the very input its old log-probs were computed on ...
    assert all(torch.equal(o, n) for o, n in zip(old, new))
    # ... and the iterations' prompt masks differ (three independent draws at p = 0.5 over 7 tokens)
    assert len({tuple(ids.flatten().tolist()) for ids in new}) > 1
    _, lm, _ = _update("d1", lcfg, ecfg, replan=None)  # without a re-planner: one mask reused
    assert len({tuple(ids.flatten().tolist()) for ids, grad in lm.seen if grad}) == 1
