"""Losses, advantages and group filtering against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.advantages import filter_groups, group_advantages
from trainer.losses import kl_estimate, normalize, pg_token_loss, wd1_loss, wd1_weights

LN2 = math.log(2.0)


def test_ppo_clip_by_hand():
    logp = torch.log(torch.tensor([[0.5, 0.5]]))
    old = torch.log(torch.tensor([[0.25, 0.5]]))  # ratios 2 and 1
    loss, clipped = pg_token_loss(logp, old, torch.tensor([1.0]), 0.2, 0.2)
    # A=+1: -min(2*1, 1.2*1) = -1.2 (clipped); ratio 1: -1
    assert torch.allclose(loss, torch.tensor([[-1.2, -1.0]])) and clipped.tolist() == [[True, False]]
    loss, clipped = pg_token_loss(logp, old, torch.tensor([-1.0]), 0.2, 0.2)
    # A=-1: -min(-2, -1.2) = 2 (the unclipped term is smaller: no clipping)
    assert torch.allclose(loss, torch.tensor([[2.0, 1.0]])) and clipped.tolist() == [[False, False]]
    _, clipped = pg_token_loss(torch.log(torch.tensor([[0.1]])), torch.log(torch.tensor([[0.5]])), torch.tensor([-1.0]), 0.2, 0.3)
    assert clipped.item()  # ratio 0.2 < 0.8 with A<0: -0.8*(-1)=0.8 vs 0.2 -> min picks -0.8


def test_reinforce_gradient_is_minus_advantage_times_grad_logp():
    logp = torch.log(torch.tensor([[0.3]])).requires_grad_()
    loss, _ = pg_token_loss(logp, logp.detach(), torch.tensor([2.5]), 0.2, 0.2)
    assert loss.item() == pytest.approx(-2.5)
    loss.sum().backward()
    assert logp.grad.item() == pytest.approx(-2.5)


def test_kl_estimators_by_hand():
    logp = torch.log(torch.tensor([0.5]))
    ref = torch.log(torch.tensor([0.25]))  # delta = ref - logp = -ln 2
    assert kl_estimate(logp, ref, "k1").item() == pytest.approx(LN2)
    assert kl_estimate(logp, ref, "k2").item() == pytest.approx(0.5 * LN2**2)
    assert kl_estimate(logp, ref, "k3").item() == pytest.approx(0.5 + LN2 - 1)  # e^-ln2 + ln2 - 1
    assert kl_estimate(logp, logp, "k3").item() == 0.0
    with pytest.raises(ValueError):
        kl_estimate(logp, ref, "k4")


def test_token_vs_sample_normalisation():
    loss = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    pos = torch.tensor([[True, True, False], [True, False, False]])
    both = torch.tensor([True, True])
    assert normalize(loss, pos, "token", both).item() == pytest.approx(7 / 3)
    assert normalize(loss, pos, "sample", both).item() == pytest.approx((1.5 + 4) / 2)
    assert normalize(loss, pos, "sample", torch.tensor([True, False])).item() == pytest.approx(1.5)
    # a trainable row with no positions at this forward counts as 0 in the sample mean
    assert normalize(loss, pos & torch.tensor([[True], [False]]), "sample", both).item() == pytest.approx(0.75)
    assert normalize(loss, pos, "token", both, denom=7.0).item() == pytest.approx(1.0)


def test_group_advantages_by_hand():
    r = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    g = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    a = group_advantages(r, g)
    s = math.sqrt(1 / 3)  # unbiased std of [1, 0, 0, 1]
    assert torch.allclose(a[:4], torch.tensor([0.5, -0.5, -0.5, 0.5]) / s, atol=1e-5)
    assert a[4:].abs().sum() == 0  # zero variance -> 0
    assert torch.allclose(group_advantages(r, g, scale_by_std=False)[:4], torch.tensor([0.5, -0.5, -0.5, 0.5]))
    # tiny std: the denominator is floored at std_floor
    r2 = torch.tensor([0.5, 0.5 + 1e-4])
    assert torch.allclose(group_advantages(r2, torch.tensor([0, 0]))[1], torch.tensor(5e-5 / 1e-2), atol=1e-6)


def test_unscorable_rewards_are_excluded_not_zero():
    r = torch.tensor([1.0, float("nan"), 0.0, 0.0])
    a = group_advantages(r, torch.zeros(4, dtype=torch.long))
    assert a[1] == 0
    # statistics over [1, 0, 0] only: mean 1/3, std sqrt(1/3)
    assert a[0].item() == pytest.approx((1 - 1 / 3) / math.sqrt(1 / 3), abs=1e-5)


def test_filter_groups_prefers_varied_then_correct_then_long_wrong():
    g = torch.repeat_interleave(torch.arange(5), 2)
    r = torch.tensor([1, 0, 1, 1, 0, 0, 0, 0, 1, 1], dtype=torch.float)  # g0 varied, g1/g4 correct, g2/g3 wrong
    steps = torch.tensor([5, 5, 3, 3, 2, 2, 9, 9, 4, 4])
    gen = torch.Generator().manual_seed(0)
    assert filter_groups(r, g, steps, None, gen) == [0, 1, 2, 3, 4]
    kept = filter_groups(r, g, steps, 3, gen)
    assert 0 in kept and set(kept) <= {0, 1, 4} and len(kept) == 3
    kept = filter_groups(torch.tensor([1, 0, 0, 0, 0, 0, 0, 0, 0, 0.0]), g, steps, 2, gen)
    assert kept == [0, 3]  # then the all-wrong group with the most steps (g3: 9)


def test_wd1_weights_and_loss_by_hand():
    w = wd1_weights(torch.tensor([1.0, -1.0]), torch.tensor([0, 0]), torch.tensor([True, True]))
    assert torch.allclose(w, torch.tensor([math.tanh(1.0), -math.tanh(1.0)]), atol=1e-6)
    seq = torch.tensor([-2.0, -3.0])
    assert wd1_loss(seq, w, torch.tensor([0, 0])).item() == pytest.approx(-(math.tanh(1) * -2 + -math.tanh(1) * -3))
