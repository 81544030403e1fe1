"""Dream's own sampler (``remasking="dream"``): ``diffusion_generate`` / ``_sample``, step for step.

Every published Dream-7B number comes from this sampler, not from LLaDA's block rules, so rldf
reproduces it point by point (see ``specs/DREAM_SAMPLER.md`` in the shared specs):

* One block, the whole completion; ``steps`` forwards on the timesteps
  ``linspace(1, eps, steps + 1)`` (float32). At step i with t = ts[i], s = ts[i + 1] a row
  commits k = int(n * (1 - s / t)) positions, n its masked count now (recounted every step,
  float32, truncated); the last step commits all that remain. Dream divides the *batch's* mask
  count by the batch size, so at batch > 1 its rows share one k; rldf counts per row (batch
  invariance), which is Dream's batch-1 behaviour, the setting its numbers are published at.
* Token distribution: temperature (if > 0), then top-p (a token goes when the mass before it
  exceeds top_p), then top-k, removed entries at the dtype's minimum; the softmax over the full
  vocabulary in the logits' dtype (``score_dtype="model"``, the default here).
* Scores (Dream's ``alg``): maskgit_plus = ``confidence`` (the token's probability),
  topk_margin = ``margin`` (top-1 minus top-2), entropy = ``neg_entropy`` scored as Dream does,
  sum p log(p + 1e-10) (<= 0; same ranking as exp(-H) but it matters for ``alg_temp > 0``).
* Positions: ``torch.topk(k)`` over the row's unpadded prompt + completion with -inf outside the
  masked positions — the same call on the same vector, so exact ties break as Dream's do;
  ``alg_temp > 0`` draws k positions from softmax(score / alg_temp) without replacement.
* origin (``random``) is not a ranking: each masked position is committed with probability
  1 - s / t (1 at the last step), drawn in sequence order; tokens are sampled only there.
* The one difference: the mask token is never committed. Dream takes the argmax over the full
  vocabulary, so a mask-token argmax "commits" a mask (the position stays masked); rldf commits
  the best other token. A trained model does not put its argmax on the mask token.

Rows still draw from their own generators, so sampling (``temperature > 0``, ``alg_temp > 0``,
origin) is reproducible and independent of batch mates; at batch 1 with the row's seed it is
the same stream Dream's global generator gives after ``torch.manual_seed(seed)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from harness.decoding.config import SamplerConfig
from harness.decoding.sampling import exclude, score_dtype

if TYPE_CHECKING:
    from harness.decoding.engine import _Batch
    from harness.models.base import DiffusionLM


def dream_filter(logits: torch.Tensor, temperature: float, top_p: float, top_k: int) -> torch.Tensor:
    """Dream's order: temperature, then top-p, then top-k; removed entries at the dtype's minimum."""
    low = torch.finfo(logits.dtype).min
    if temperature > 0:
        logits = logits / temperature
    if top_p < 1.0:
        sorted_logits, idx = torch.sort(logits, descending=True)
        drop = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1) > top_p
        drop[..., 1:] = drop[..., :-1].clone()  # keep the token that crosses top_p
        drop[..., 0] = False
        logits = logits.masked_fill(torch.zeros_like(drop).scatter(-1, idx, drop), low)
    if top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, low)
    return logits


def dream_sample(
    logits: torch.Tensor, cfg: SamplerConfig, never: torch.Tensor, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(tokens, token probabilities, scores) [n] for the logits [n, V] of n masked positions."""
    x = logits.to(score_dtype(cfg.resolved_score_dtype, logits))
    probs = torch.softmax(dream_filter(x, cfg.temperature, cfg.top_p, cfg.top_k), dim=-1)
    if cfg.temperature > 0:
        tokens = torch.multinomial(exclude(probs, never, 0.0), 1, True, generator=generator).squeeze(-1)
    else:
        tokens = exclude(probs, never, -1.0).argmax(-1)
    chosen = probs.gather(-1, tokens[:, None]).squeeze(-1)
    if cfg.score == "margin":
        top2 = torch.sort(probs, dim=-1, descending=True).values
        scores = top2[:, 0] - top2[:, 1]
    elif cfg.score == "neg_entropy":
        scores = torch.sum(probs * torch.log(probs + 1e-10), dim=-1)
    else:
        scores = chosen
    return tokens, chosen, scores


def transfer_count(masked: int, t: torch.Tensor, s: torch.Tensor, last: bool) -> int:
    """Dream's positions per step, with its float32 arithmetic: int(n * (1 - s/t)); all at the end."""
    if last:
        return masked
    return int(torch.tensor(masked, device=t.device) / 1 * (1 - s / t))


def _pick(
    scores: torch.Tensor, where: torch.Tensor, prompt_len: int, length: int, k: int, cfg: SamplerConfig,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Completion offsets of the k positions Dream would pick: topk (or an ``alg_temp`` draw)
    over the row's unpadded prompt + completion, -inf everywhere but the masked positions."""
    row = torch.full((1, prompt_len + length), float("-inf"), dtype=scores.dtype, device=scores.device)
    row[0, prompt_len + where] = scores
    if cfg.alg_temp > 0:
        idx = torch.multinomial(torch.softmax(row / cfg.alg_temp, dim=-1), k, generator=generator)
    else:
        idx = torch.topk(row, k).indices
    return idx[0] - prompt_len


def _row_step(
    logits: torch.Tensor, masked: torch.Tensor, prompt_len: int, cfg: SamplerConfig, never: torch.Tensor,
    generator: torch.Generator | None, t: torch.Tensor, s: torch.Tensor, last: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One row's step: (select [G] bool, tokens [G], token probabilities [G])."""
    length = masked.shape[0]
    where = masked.nonzero().squeeze(1)
    select = torch.zeros(length, dtype=torch.bool, device=masked.device)
    tokens = torch.zeros(length, dtype=torch.long, device=masked.device)
    probs = torch.zeros(length, dtype=torch.float32, device=masked.device)
    if cfg.score == "random":  # Dream's origin: a coin per masked position, in sequence order
        p_transfer = 1 - s / t if not last else 1
        coins = torch.rand(len(where), device=masked.device, generator=generator) < p_transfer
        where = where[coins]
        if len(where):
            tok, pr, _ = dream_sample(logits[where], cfg, never, generator)
            select[where], tokens[where], probs[where] = True, tok, pr.float()
        return select, tokens, probs
    tok, pr, sc = dream_sample(logits[where], cfg, never, generator)
    tokens[where], probs[where] = tok, pr.float()
    k = transfer_count(len(where), t, s, last)
    if k > 0:
        select[_pick(sc, where, prompt_len, length, k, cfg, generator)] = True
    return select, tokens, probs


@torch.no_grad()
def decode_dream(lm: DiffusionLM, batch: _Batch, cfg: SamplerConfig, prompt_lens: list[int], trace: bool) -> None:
    """Run Dream's ``steps`` forwards on ``batch`` (the engine's state), committing as Dream does."""
    from harness.decoding.engine import _BlockCache, _commit, _forward

    s0, e0 = batch.plen, batch.plen + cfg.gen_length
    ts = torch.linspace(1, cfg.eps, cfg.steps + 1, device=batch.x.device)
    for i in range(cfg.steps):
        masked = batch.x[:, s0:e0] == lm.mask_id
        active = masked.any(dim=1)
        if not bool(active.any()):
            return
        rows_idx = None if bool(active.all()) else active.nonzero().squeeze(1)
        logits = _forward(lm, batch, cfg, s0, e0, rows_idx, _BlockCache())
        batch.forwards += 1
        batch.nfe += active.long()
        select = torch.zeros_like(masked)
        tokens = torch.zeros_like(batch.x[:, s0:e0])
        probs = torch.zeros(masked.shape, dtype=torch.float32, device=masked.device)
        rows = range(len(prompt_lens)) if rows_idx is None else rows_idx.tolist()
        for j, r in enumerate(rows):
            g = batch.generators[r] if batch.generators is not None else None
            select[r], tokens[r], probs[r] = _row_step(
                logits[j], masked[r], prompt_lens[r], cfg, batch.never, g, ts[i], ts[i + 1], i == cfg.steps - 1
            )
        _commit(lm, batch, cfg, select, tokens, probs, s0, e0)
        if trace:
            batch.snapshots.append(batch.x[:, batch.plen:].clone().cpu())
