"""RLDF masking schedule: valid positions, step weights and k-step sampling (hand-computed)."""

from __future__ import annotations

import math

import torch

from trainer.schedules import sample_steps, step_distribution, step_weights, valid_positions

# A toy trajectory: 6 positions; the completion's first stop token is at index 4, index 5 is filler.
STEP_MAP = torch.tensor([[0, 0, 1, 2, 3, 3]])
PROBS = torch.tensor([[0.5, 0.25, 1.0, 0.1, 0.9, 1.0]])


def test_valid_positions_with_and_without_the_stop_token():
    gen_tokens = torch.tensor([4, 6, 0])
    with_stop = valid_positions(gen_tokens, 6, include_stop=True)
    without = valid_positions(gen_tokens, 6, include_stop=False)
    assert with_stop.tolist() == [[1, 1, 1, 1, 1, 0], [1] * 6, [1, 0, 0, 0, 0, 0]]
    assert without.tolist() == [[1, 1, 1, 1, 0, 0], [1] * 6, [0] * 6]


def test_step_weights_are_mean_surprisal_over_valid_positions():
    valid = valid_positions(torch.tensor([4]), 6, include_stop=True)  # positions 0..4
    (cand, w), = step_weights(STEP_MAP, PROBS, valid)
    assert cand.tolist() == [0, 1, 2, 3]
    # step 0: -(ln .5 + ln .25)/2 = ln(2*sqrt 2); step 1: -ln 1 = 0; step 2: -ln .1; step 3: only
    # position 4 is valid (position 5 is filler): -ln .9
    expect = [math.log(2 * math.sqrt(2)), 0.0, math.log(10), -math.log(0.9)]
    assert torch.allclose(w, torch.tensor(expect), atol=1e-6)


def test_step_weights_clamp_zero_probabilities():
    (cand, w), = step_weights(torch.tensor([[0]]), torch.tensor([[0.0]]), torch.tensor([[True]]))
    assert abs(w.item() - (-math.log(1e-10))) < 1e-4  # float32 clamp


def test_step_distribution_limits():
    w = torch.tensor([math.log(2 * math.sqrt(2)), 0.0, math.log(10)])
    p = step_distribution(w, 1.0)
    # softmax(w) = [2.828, 1, 10] / 13.828
    assert torch.allclose(p, torch.tensor([2.8284271, 1.0, 10.0], dtype=torch.float64) / 13.8284271, atol=1e-6)
    assert step_distribution(w, 1e4) is None and step_distribution(w, float("inf")) is None
    assert step_distribution(torch.tensor([2.0, 2.0, 2.0]), 1.0) is None  # equal weights -> uniform


def test_top_k_at_temperature_zero_and_argmax_fill():
    cand, w = torch.tensor([0, 1, 2]), torch.tensor([1.04, 0.0, 2.30])
    g = torch.Generator().manual_seed(0)
    assert sample_steps(cand, w, 2, 0.0, g) == [2, 0]
    assert sample_steps(cand, w, 5, 0.0, g) == [2, 0, 1, 2, 2]


def test_uniform_sampling_without_and_with_repetition():
    cand, w = torch.tensor([3, 5, 8]), torch.tensor([1.0, 2.0, 3.0])
    g = torch.Generator().manual_seed(1)
    two = sample_steps(cand, w, 2, 1e4, g)
    assert len(set(two)) == 2 and set(two) <= {3, 5, 8}
    seven = sample_steps(cand, w, 7, 1e4, g)
    counts = {c: seven.count(c) for c in (3, 5, 8)}
    assert sorted(counts.values()) == [2, 2, 3]  # full list twice, plus a random subset of size 1


def test_softmax_sampling_fills_with_replacement_when_few_candidates():
    cand, w = torch.tensor([0, 1]), torch.tensor([0.0, math.log(3.0)])
    g = torch.Generator().manual_seed(2)
    draws = [sample_steps(cand, w, 4, 1.0, g) for _ in range(2000)]
    assert all(d[:2] == [0, 1] for d in draws)  # every candidate once, in order
    fills = [x for d in draws for x in d[2:]]
    assert abs(fills.count(1) / len(fills) - 0.75) < 0.03  # P = softmax([0, ln 3]) = [1/4, 3/4]


def test_softmax_sampling_without_replacement_follows_p():
    cand = torch.tensor([0, 1, 2])
    w = torch.tensor([0.0, 0.0, math.log(8.0)])  # P = [0.1, 0.1, 0.8]
    g = torch.Generator().manual_seed(3)
    firsts = [sample_steps(cand, w, 2, 1.0, g) for _ in range(2000)]
    assert all(len(set(d)) == 2 for d in firsts)
    assert abs(sum(d[0] == 2 for d in firsts) / 2000 - 0.8) < 0.03
