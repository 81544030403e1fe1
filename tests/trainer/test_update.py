"""The shared loss of one forward: the clipped clean state, normalisation and KL wiring."""

from __future__ import annotations

import math

import pytest
import torch

from tests.trainer.test_estimators import _batch, _rng
from trainer.config import EstimatorConfig, LossConfig
from trainer.estimators import get_estimator
from trainer.estimators.rldf import RLDFSettings
from trainer.update import _plan_loss


def _rldf_plan():
    cfg = EstimatorConfig(name="rldf", k=2, rldf=RLDFSettings(step_temperature=0.0))
    return get_estimator("rldf").plan(_batch(), cfg, _rng())[0], cfg  # s = 2 for sample 0, s = 0 for sample 1


@pytest.mark.parametrize("p4,expected", [(0.7, 1 + 1 + 3), (0.5, 1 + 3)])
def test_clipped_clean_state_keeps_likely_masked_tokens_and_the_current_step(p4, expected):
    plan, ecfg = _rldf_plan()
    probs = torch.full((2, 6), 0.9)
    probs[0, 3] = 0.2  # committed at s=2: always kept even though unlikely
    probs[0, 4] = p4  # still masked at s=2: kept only if >= 0.6
    logp = torch.log(probs)
    _, parts = _plan_loss(logp, None, plan, _batch(), get_estimator("rldf"), LossConfig(), ecfg, None, None)
    # sample 1 (single step, s=0) keeps its 3 current-step tokens
    assert parts["positions"] == expected


def test_threshold_zero_trains_the_full_x0_target():
    plan, ecfg = _rldf_plan()
    ecfg = EstimatorConfig(name="rldf", k=2, rldf=RLDFSettings(step_temperature=0.0, low_prob_threshold=0.0))
    logp = torch.log(torch.full((2, 6), 0.01))
    _, parts = _plan_loss(logp, None, plan, _batch(), get_estimator("rldf"), LossConfig(), ecfg, None, None)
    assert parts["positions"] == 2 + 3  # every masked valid position of sample 0 plus sample 1's three


def test_reinforce_loss_value_token_norm_by_hand():
    plan, ecfg = _rldf_plan()
    logp = torch.log(torch.full((2, 6), 0.9)).requires_grad_()
    loss, _ = _plan_loss(logp, None, plan, _batch(), get_estimator("rldf"), LossConfig(norm="token"), ecfg, None, None)
    # ratio 1 everywhere: per-token loss = -A; sample 0 (A=+1) has 2 positions, sample 1 (A=-1) 3
    assert loss.item() == pytest.approx((-1 * 2 + 1 * 3) / 5)
    loss.backward()
    assert logp.grad[0, 3].item() == pytest.approx(-1 / 5) and logp.grad[1, 0].item() == pytest.approx(1 / 5)
    assert logp.grad[0, 0].item() == 0.0  # visible, not a target


def test_kl_term_enters_with_beta():
    plan, ecfg = _rldf_plan()
    logp = torch.log(torch.full((2, 6), 0.5))
    ref = (torch.log(torch.full((2, 6), 0.25)), None)
    lcfg = LossConfig(beta=0.1, kl_type="k3", norm="token")
    loss, parts = _plan_loss(logp, None, plan, _batch(), get_estimator("rldf"), lcfg, ecfg, None, ref)
    k3 = 0.5 + math.log(2) - 1
    # p = 0.5 < 0.6: sample 0 keeps only its current-step token; sample 1 its three -> 4 positions
    assert parts["positions"] == 4
    assert parts["kl"] == pytest.approx(k3 * 4, rel=1e-5)
    assert loss.item() == pytest.approx((-1 + 3) / 4 + 0.1 * k3, rel=1e-5)
