"""Log-likelihood of a continuation under a masked-diffusion LM: LLaDA's Monte-Carlo ELBO.

A masked-diffusion model has no left-to-right factorisation, so ``log p(y | x)`` is bounded
from below by the ELBO and estimated by Monte Carlo, exactly as LLaDA's own evaluation
(``eval_llada.py``, specs/FIELD.md section 10) does::

    log p(y|x) >= E_l [ (L / l) * sum_{i masked} log p(y_i | x, y with l random tokens masked) ]

For each batch of ``mc_batch`` draws the mask counts l are stratified (``linspace`` from a
random start, wrapped into 1..L) and each row masks l positions chosen uniformly; the estimate
is the mean over ``mc_num`` draws. All randomness comes from the ``torch.Generator`` passed in,
so an estimate is reproducible. Families differ only in logit alignment (Dream needs at least
one prefix token). Log-probabilities are over the full vocabulary and may use LLaDA's
classifier-free guidance (``cfg``), both as LLaDA's ``get_log_likelihood.py`` does.

``suffix_greedy`` is LLaDA's ``suffix_greedy_prediction``: mask the whole continuation and
commit one argmax token per forward, most confident first; lm-eval's ``is_greedy`` is whether
that reproduces the continuation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch


def mask_counts(length: int, batch: int, generator: torch.Generator) -> torch.Tensor:
    """LLaDA's stratified mask counts in 1..``length`` for ``batch`` draws."""
    k = int(torch.randint(1, length + 1, (), generator=generator))
    x = torch.round(torch.linspace(float(k), k + (batch - 1) * (length / batch), steps=batch)).long()
    return ((x - 1) % length) + 1


def _check_prefix(lm: Any, p: int) -> None:
    """Dream scores token i with the logit at i - 1, so the first scored token needs a prefix."""
    if p < lm.logit_shift:
        raise ValueError(f"{lm.family}: scoring needs at least {lm.logit_shift} prefix token(s); give a context or a BOS token")


def check_mc(mc_num: int, mc_batch: int) -> None:
    """LLaDA's constraint (``assert mc_num % batch_size == 0``), as one line naming the fix."""
    if mc_num < 1 or mc_batch < 1 or mc_num % mc_batch:
        raise ValueError(
            f"mc_num={mc_num} must be a positive multiple of mc_batch={mc_batch}; set mc_batch to a divisor of mc_num"
        )


@torch.no_grad()
def elbo_loglikelihood(
    lm: Any,
    prefix: Sequence[int],
    target: Sequence[int],
    *,
    mc_num: int = 128,
    mc_batch: int = 32,
    cfg: float = 0.0,
    generator: torch.Generator | None = None,
) -> float:
    """Monte-Carlo ELBO estimate of ``log p(target | prefix)`` (natural log, summed over tokens)."""
    if not target:
        return 0.0
    check_mc(mc_num, mc_batch)
    g = generator or torch.Generator().manual_seed(0)
    p, length = len(prefix), len(target)
    _check_prefix(lm, p)
    seq = torch.tensor([*prefix, *target], dtype=torch.long, device=lm.device)[None].repeat(mc_batch, 1)
    targets = seq[:, p:]
    total = 0.0
    for _ in range(mc_num // mc_batch):
        counts = mask_counts(length, mc_batch, g)
        order = torch.rand(mc_batch, length, generator=g).argsort(dim=1).argsort(dim=1)
        masked = (order < counts[:, None]).to(lm.device)
        noisy = seq.clone()
        noisy[:, p:] = torch.where(masked, torch.full_like(targets, lm.mask_id), targets)
        # full-vocabulary log-probs, optionally guided, as LLaDA's get_log_likelihood.py
        logp, _ = lm.token_logprobs(noisy, targets, p, cfg=cfg)
        per_row = (logp * masked).sum(dim=1) * (length / counts.to(lm.device).float())
        total += float(per_row.sum())
    return total / mc_num


@torch.no_grad()
def suffix_greedy(lm: Any, prefix: Sequence[int], length: int, cfg: float = 0.0) -> list[int]:
    """LLaDA's ``suffix_greedy_prediction``: the continuation of ``length`` tokens decoded from an
    all-mask suffix, one forward per token, committing the argmax at the most confident masked
    position (full vocabulary, same ``cfg`` as the likelihood). A committed argmax that is the
    mask token leaves its position masked, as in the reference, so the check then fails."""
    p = len(prefix)
    _check_prefix(lm, p)
    seq = torch.tensor([[*prefix, *[lm.mask_id] * length]], dtype=torch.long, device=lm.device)
    window = (p - lm.logit_shift, p - lm.logit_shift + length)
    for _ in range(length):
        masked = (seq[0, p:] == lm.mask_id).nonzero().squeeze(-1)
        if not len(masked):
            break
        lg = lm.guided_logits(seq, p, cfg, logits_range=window)[0, masked].float()
        x0 = lg.argmax(-1)
        conf = torch.softmax(lg, dim=-1).gather(-1, x0[:, None]).squeeze(-1)
        best = int(conf.argmax())
        seq[0, p + int(masked[best])] = x0[best]
    return seq[0, p:].tolist()


def rolling_windows(n_tokens: int, max_length: int, first: int = 1) -> list[tuple[int, int, int]]:
    """(context start, target start, target end) windows covering tokens first..n-1 of a text.

    Tokens before ``first`` are context only (1: a BOS, or Dream's one token that no logit
    predicts; 0: LLaDA without BOS scores every token). A text that fits is one window; a longer
    one is split into targets of ``max_length // 2`` tokens, each conditioned on up to
    ``max_length - target`` preceding tokens, so every token is scored exactly once.
    """
    if n_tokens <= max_length:
        return [(0, first, n_tokens)] if n_tokens > first else []
    step = max(1, max_length // 2)
    out = []
    for t0 in range(first, n_tokens, step):
        t1 = min(n_tokens, t0 + step)
        out.append((max(0, t1 - max_length), t0, t1))
    return out


def seeded_generator(*parts: object) -> torch.Generator:
    """A CPU generator seeded from ``parts`` (stable across processes and runs)."""
    import hashlib

    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def ceil_to(value: int, multiple: int) -> int:
    return max(multiple, math.ceil(value / multiple) * multiple)
