"""RLDF's masking schedule as pure tensor functions (spec: RLDF.md A.3), testable alone.

Per completion, the decoder recorded ``step_map`` (row-local step ordinal that committed each
position) and ``token_probs`` (the committed token's probability). From them:

* ``valid_positions``: positions that carry content (up to the first stop token);
* ``step_weights``: candidate steps (those that committed a valid token) and their weight,
  the mean surprisal -log p of the tokens committed at that step;
* ``sample_steps``: k steps drawn from softmax(weight / T) — top-k at T = 0, uniform as T -> inf
  or when all weights are equal — without replacement, or all once plus a with-replacement
  fill when there are fewer than k candidates. No importance weights: the objective is
  deliberately tilted toward uncertain steps.
"""

from __future__ import annotations

import math

import torch

UNIFORM_TEMPERATURE = 1e4  # at or above this, P(s) is treated as uniform (A.3 step 4)


def valid_positions(gen_tokens: torch.Tensor, length: int, include_stop: bool) -> torch.Tensor:
    """[N, L] bool: positions before the first stop token (and the stop token itself if asked).

    ``gen_tokens[i]`` is the index of row i's first stop token (L if none).
    """
    idx = torch.arange(length, device=gen_tokens.device)[None, :]
    limit = gen_tokens[:, None] + (1 if include_stop else 0)
    return idx < limit.clamp(max=length)


def step_weights(
    step_map: torch.Tensor, token_probs: torch.Tensor, valid: torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per row: (candidate steps ascending [C], weights [C]) over valid positions.

    weight_s = -(1/|D_s|) sum_{j in D_s} log clamp(p_j, 1e-10), D_s = valid positions with step s.
    """
    out = []
    surprisal = -torch.log(token_probs.float().clamp_min(1e-10))
    for row in range(step_map.shape[0]):
        v = valid[row]
        steps = step_map[row][v]
        if steps.numel() == 0:
            out.append((steps.new_zeros(0), surprisal.new_zeros(0)))
            continue
        cand, inv = torch.unique(steps, sorted=True, return_inverse=True)
        sums = torch.zeros(len(cand), dtype=surprisal.dtype, device=surprisal.device).index_add_(0, inv, surprisal[row][v])
        counts = torch.bincount(inv, minlength=len(cand)).to(surprisal.dtype)
        out.append((cand, sums / counts))
    return out


def step_distribution(weights: torch.Tensor, temperature: float) -> torch.Tensor | None:
    """P(s) over candidates, or None when sampling is uniform (T >= 1e4, inf, or equal weights)."""
    if temperature >= UNIFORM_TEMPERATURE or math.isinf(temperature):
        return None
    if weights.numel() > 1 and float(weights.std()) < 1e-8:
        return None
    return torch.softmax(weights.double() / temperature, dim=0) if temperature > 0 else None


def sample_steps(
    candidates: torch.Tensor, weights: torch.Tensor, k: int, temperature: float, gen: torch.Generator
) -> list[int]:
    """Choose k steps (values from ``candidates``) following RLDF.md A.3 step 4.

    T = 0: the top-k weights (ties: earlier step first); fewer than k candidates: all of them,
    then the argmax repeated. Uniform (see ``step_distribution``): k distinct at random, or the
    full list repeated floor(k/C) times plus a random subset of size k mod C. Otherwise P(s) =
    softmax(w/T): k without replacement if C >= k, else every candidate once plus k - C drawn
    with replacement. Returned in sampled order.
    """
    c = candidates.numel()
    if c == 0:
        return []
    weights = weights.detach().cpu()  # generators are CPU ones: planning is tiny and device-agnostic
    cand = candidates.tolist()
    if temperature == 0 and not (weights.numel() > 1 and float(weights.std()) < 1e-8):
        order = sorted(range(c), key=lambda i: (-float(weights[i]), i))
        chosen = [cand[i] for i in order[:k]]
        return chosen + [cand[order[0]]] * (k - len(chosen))
    probs = step_distribution(weights, temperature)
    if probs is None:
        if c >= k:
            return [cand[i] for i in torch.randperm(c, generator=gen)[:k].tolist()]
        extra = torch.randperm(c, generator=gen)[: k % c].tolist()
        return cand * (k // c) + [cand[i] for i in extra]
    if c >= k:
        return [cand[i] for i in torch.multinomial(probs, k, replacement=False, generator=gen).tolist()]
    fill = torch.multinomial(probs, k - c, replacement=True, generator=gen).tolist()
    return cand + [cand[i] for i in fill]
