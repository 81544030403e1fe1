"""``decode``: block-wise semi-autoregressive masked-diffusion decoding for LLaDA and Dream.

One decoder serves evaluation and RL rollouts. For every completion position it records the
row's decoding step at which it was committed (``step_map``) and the committed token's
probability (``token_probs``), for both families.

Batch invariance: prompts are left-padded, and every forward carries an attention mask and
position ids that skip the padding, so a prompt's output does not depend on its batch mates.
Blocks advance in lockstep across the batch (a row that finished the current block waits,
committing nothing and spending no NFE); sampling draws from one generator per row.

Scores: every position is scored with the softmax over the full vocabulary, mask token
included, in ``score_dtype`` (float64 by default, as Fast-dLLM and Drift; ``model`` = the
logits' dtype, as LLaDA's ``generate.py``); the mask token (and unused vocabulary rows) are only
kept from being committed. Ties on exactly equal scores go to the lowest position. With these
rules static and threshold decoding reproduce LLaDA's ``generate.py``, Fast-dLLM and Drift token
for token (``tests/harness/test_reference_samplers.py``). ``remasking="dream"`` hands the block
to Dream's own sampler (``harness/decoding/dream.py``).

Caches: at the first forward of a block the whole sequence runs and keys/values are kept —
of the positions before the block (``prefix``), or of every position outside it (``dual``).
Later forwards of that block run from the block start to the end (prefix) or over the block
only (dual) against them (Fast-dLLM's approximations: the cached keys saw the block still
masked). With ``cache_refresh = N`` every N-th forward of a block runs in full again and
rebuilds the prefix cache. Dream's logits lag by one position, so for Dream the window starts
at ``block_start - 1`` — the only place the shift appears here. NFE: every forward counts,
the first full one of each block included (Fast-dLLM's count); zero-count static steps, which
LLaDA's ``generate.py`` still runs, are skipped. How this differs from the reference (Drift)
rollouts: README.md, "Where rldf differs from the reference code".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from harness.decoding.config import SamplerConfig
from harness.decoding.sampling import sample_tokens, score_dtype
from harness.models.base import DiffusionLM
from harness.models.layers import slice_cache
from harness.padding import left_pad, position_ids
from harness.seeds import batch_row_seeds


@dataclass
class Generation:
    """Decoded completions of a batch of prompts (row i belongs to prompt i)."""

    prompt_ids: list[list[int]]  # unpadded prompt tokens per row
    completion_ids: torch.Tensor  # [N, L] long, no mask token left
    text: list[str]  # completion text up to the first stop token, special tokens skipped
    step_map: torch.Tensor  # [N, L] long: row-local ordinal of the step that committed each position
    token_probs: torch.Tensor  # [N, L] float: probability of the committed token when it was sampled
    nfe: torch.Tensor  # [N] long: forwards in which the row still had masked positions
    gen_tokens: torch.Tensor  # [N] long: completion tokens before the first stop token
    wall_time: float = 0.0
    forwards: int = 0  # batch-level forward calls (what the hardware actually ran)
    trace: list[torch.Tensor] = field(default_factory=list)  # completion snapshots per forward, if asked

    def __len__(self) -> int:
        return self.completion_ids.shape[0]

    def tokens_per_forward(self) -> float:
        """Mean over rows of (completion length / NFE): parallel-decoding efficiency."""
        return float((self.completion_ids.shape[1] / self.nfe.clamp_min(1).float()).mean())

    @staticmethod
    def concat(parts: Sequence[Generation]) -> Generation:
        """Rows of several chunks in order (traces are not concatenated: ``decode`` refuses them)."""
        return Generation(
            prompt_ids=[p for g in parts for p in g.prompt_ids],
            completion_ids=torch.cat([g.completion_ids for g in parts]),
            text=[t for g in parts for t in g.text],
            step_map=torch.cat([g.step_map for g in parts]),
            token_probs=torch.cat([g.token_probs for g in parts]),
            nfe=torch.cat([g.nfe for g in parts]),
            gen_tokens=torch.cat([g.gen_tokens for g in parts]),
            wall_time=sum(g.wall_time for g in parts),
            forwards=sum(g.forwards for g in parts),
        )


def _tokenize(lm: DiffusionLM, prompts: Sequence[str] | Sequence[Sequence[int]]) -> list[list[int]]:
    out = []
    for p in prompts:
        if isinstance(p, str):
            if lm.tokenizer is None:
                raise ValueError("this model has no tokenizer; pass token-id lists instead of text prompts")
            out.append(list(lm.tokenizer(p, add_special_tokens=False)["input_ids"]))
        else:
            out.append([int(t) for t in p])
        if not out[-1]:
            raise ValueError("empty prompt: every prompt needs at least one token")
    return out


def _fill_after_stop(
    x: torch.Tensor, prompt_len: int, stop_ids: torch.Tensor, pad_id: int, mask_id: int
) -> torch.Tensor:
    """Rows whose first committed stop token has only committed tokens before it: return a
    [B, L] mask of the still-masked positions after it (to be filled with PAD)."""
    comp = x[:, prompt_len:]
    masked = comp == mask_id
    is_stop = torch.isin(comp, stop_ids)
    length = comp.shape[1]
    idx = torch.arange(length, device=x.device)
    first_stop = torch.where(is_stop, idx, length).min(dim=1).values  # [B]
    first_mask = torch.where(masked, idx, length).min(dim=1).values
    done = (first_stop < length) & (first_mask > first_stop)
    return masked & done[:, None] & (idx[None, :] > first_stop[:, None])


@dataclass
class _Batch:
    """A batch being decoded: the sequences and what is recorded per row as positions commit."""

    x: torch.Tensor  # [B, P + L] prompt (left-padded) then completion, MASK where undecided
    plen: int
    attn: torch.Tensor | None  # attention mask and position ids; None when nothing is padded
    pos: torch.Tensor | None
    step_map: torch.Tensor
    token_probs: torch.Tensor
    row_steps: torch.Tensor  # steps in which each row committed something so far
    nfe: torch.Tensor
    generators: list[torch.Generator] | None
    stop_ids: torch.Tensor
    never: torch.Tensor  # ids never committed: the mask token and unused vocabulary rows
    forwards: int = 0
    snapshots: list[torch.Tensor] = field(default_factory=list)


@dataclass
class _BlockCache:
    """The prefix keys/values of the current block and the rows they were computed for."""

    kv: tuple | None = None
    rows: torch.Tensor | None = None


@torch.no_grad()
def _decode_batch(
    lm: DiffusionLM,
    rows: list[list[int]],
    cfg: SamplerConfig,
    row_seeds: list[int] | None,
    trace: bool,
) -> Generation:
    start_time = time.perf_counter()
    batch = _start(lm, rows, cfg, row_seeds)
    if cfg.remasking == "dream":
        from harness.decoding.dream import decode_dream

        decode_dream(lm, batch, cfg, [len(r) for r in rows], trace)
    else:
        for blk in range(cfg.num_blocks):
            _decode_block(lm, batch, cfg, blk, trace)
    return _finish(lm, batch, rows, start_time)


def _start(lm: DiffusionLM, rows: list[list[int]], cfg: SamplerConfig, row_seeds: list[int] | None) -> _Batch:
    """Left-padded prompts followed by a fully masked completion, and empty records."""
    device, b, length = lm.device, len(rows), cfg.gen_length
    prompt, prompt_attn = left_pad(rows, lm.pad_id, device)
    x = torch.cat((prompt, torch.full((b, length), lm.mask_id, dtype=torch.long, device=device)), dim=1)
    attn = torch.cat((prompt_attn, torch.ones((b, length), dtype=torch.long, device=device)), dim=1)
    padded = not bool(attn.all())  # no padding: plain forwards (identical result, faster kernels)
    generators = None
    if cfg.temperature > 0 or cfg.score == "random" or cfg.alg_temp > 0:
        seeds = row_seeds if row_seeds is not None else batch_row_seeds(cfg.seed, b)
        generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
    return _Batch(
        x=x, plen=prompt.shape[1], attn=attn if padded else None, pos=position_ids(attn) if padded else None,
        step_map=torch.full((b, length), -1, dtype=torch.long, device=device),
        token_probs=torch.zeros((b, length), dtype=torch.float32, device=device),
        row_steps=torch.zeros(b, dtype=torch.long, device=device), nfe=torch.zeros(b, dtype=torch.long, device=device),
        generators=generators, stop_ids=torch.tensor(lm.stop_ids(), device=device),
        never=torch.tensor(lm.suppressed_ids, dtype=torch.long, device=device),
    )


def _decode_block(lm: DiffusionLM, batch: _Batch, cfg: SamplerConfig, blk: int, trace: bool) -> None:
    """Forwards until block ``blk`` has no mask left (or its static schedule is spent)."""
    s, e = batch.plen + blk * cfg.block_length, batch.plen + (blk + 1) * cfg.block_length
    schedule = cfg.static_schedule(blk) if cfg.remasking == "static" else None
    cache = _BlockCache()
    k = 0
    while True:
        block_masked = batch.x[:, s:e] == lm.mask_id
        active = block_masked.any(dim=1)
        if not bool(active.any()) or (schedule is not None and k >= len(schedule)):
            return
        if cfg.cache_refresh and k and k % cfg.cache_refresh == 0:
            cache = _BlockCache()  # refresh: this forward runs in full and rebuilds the prefix cache
        # Only rows that still have masks in this block are computed: rows that finished the
        # block (or stopped at EOS) wait without spending compute.
        rows_idx = None if bool(active.all()) else active.nonzero().squeeze(1)
        logits = _forward(lm, batch, cfg, s, e, rows_idx, cache)
        batch.forwards += 1
        batch.nfe += active.long()
        tokens, probs, scores = _sample(batch, cfg, logits, rows_idx)
        if cfg.defer_eos:
            scores = torch.where(torch.isin(tokens, batch.stop_ids), torch.full_like(scores, -1.0), scores)
        scores = scores.masked_fill(~block_masked, float("-inf"))
        select = _select(cfg, scores, block_masked, active, None if schedule is None else schedule[k])
        _commit(lm, batch, cfg, select, tokens, probs, s, e)
        if trace:
            batch.snapshots.append(batch.x[:, batch.plen:].clone().cpu())
        k += 1


def _forward(lm: DiffusionLM, batch: _Batch, cfg: SamplerConfig, s: int, e: int, rows_idx: torch.Tensor | None,
             cache: _BlockCache) -> torch.Tensor:
    """Raw logits [B_active, block, V] for block [s, e) (entry j scores token s + j): a full
    forward (which builds the block's cache when one is used), or the cached window."""
    shift = lm.logit_shift
    sub = (lambda t: t) if rows_idx is None else (lambda t: t.index_select(0, rows_idx))
    a_arg = None if batch.attn is None else sub(batch.attn)
    pos = None if batch.pos is None else sub(batch.pos)
    if cache.kv is None:
        if cfg.cfg_scale:  # LLaDA's guidance (no cache: the config refuses the combination)
            return lm.guided_logits(sub(batch.x), batch.plen, cfg.cfg_scale, attention_mask=a_arg, position_ids=pos,
                                    logits_range=(s - shift, e - shift))
        out = lm.forward(sub(batch.x), attention_mask=a_arg, position_ids=pos, use_cache=cfg.use_cache,
                         logits_range=(s - shift, e - shift))
        if cfg.use_cache:
            # the first forward of a block runs every active row; rows inactive now never
            # need this block's cache (a row only goes inactive once its block is done).
            # Dream's window starts one token early: its logit at s - 1 scores token s.
            cache.kv = slice_cache(out.cache, s - shift, e if cfg.cache == "dual" else None)
            cache.rows = rows_idx
        return out.logits
    if rows_idx is not None and (cache.rows is None or len(cache.rows) != len(rows_idx)):
        # map the active rows onto the rows the cache was built for; active rows only shrink
        # within a block, so keep the smaller cache and drop the old one
        where = rows_idx if cache.rows is None else torch.searchsorted(cache.rows, rows_idx)
        cache.kv = tuple((k.index_select(0, where), v.index_select(0, where)) for k, v in cache.kv)
        cache.rows = rows_idx
    w0, w1 = s - shift, (e if cfg.cache == "dual" else batch.x.shape[1])
    out = lm.forward(
        sub(batch.x[:, w0:w1]), attention_mask=a_arg, position_ids=None if pos is None else pos[:, w0:w1],
        cache=cache.kv, cache_insert=w0 if cfg.cache == "dual" else None, logits_range=(0, e - s),
    )
    return out.logits


def _sample(batch: _Batch, cfg: SamplerConfig, logits: torch.Tensor, rows_idx: torch.Tensor | None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(tokens, probabilities, scores) [B, block] for every row; idle rows get zeros."""
    gens = batch.generators
    if rows_idx is not None and gens is not None:
        # idle rows draw nothing, so a row's random stream never depends on its batch mates
        gens = [gens[i] for i in rows_idx.tolist()]
    tokens, probs, scores = sample_tokens(logits, cfg.temperature, cfg.top_k, cfg.top_p, cfg.score, gens,
                                          never=batch.never, dtype=score_dtype(cfg.resolved_score_dtype, logits))
    if rows_idx is None:
        return tokens, probs, scores
    b = batch.x.shape[0]
    return tuple(torch.zeros((b, t.shape[1]), dtype=t.dtype, device=t.device).index_copy(0, rows_idx, t)
                 for t in (tokens, probs, scores))  # type: ignore[return-value]


def _select(cfg: SamplerConfig, scores: torch.Tensor, block_masked: torch.Tensor, active: torch.Tensor,
            n_static: int | None) -> torch.Tensor:
    """Which masked positions commit now: the ``n_static`` best (static), or all at or above the
    threshold and at least each active row's best (threshold). Ties go to the lower index."""
    if n_static is not None:
        order = torch.argsort(scores, dim=1, descending=True, stable=True)
        rank = torch.empty_like(order)
        rank.scatter_(1, order, torch.arange(order.shape[1], device=scores.device).expand_as(order))
        select = (rank < n_static) & block_masked
    else:
        select = (scores >= cfg.threshold) & block_masked
        best = scores.argmax(dim=1)
        none = ~select.any(dim=1) & active
        select[none, best[none]] = True
    return select & active[:, None]


def _commit(lm: DiffusionLM, batch: _Batch, cfg: SamplerConfig, select: torch.Tensor, tokens: torch.Tensor,
            probs: torch.Tensor, s: int, e: int) -> None:
    """Write the selected tokens, their step and probability; fill after a finished stop token."""
    block = batch.x[:, s:e]
    block[select] = tokens[select]
    rel = slice(s - batch.plen, e - batch.plen)
    batch.step_map[:, rel] = torch.where(select, batch.row_steps[:, None], batch.step_map[:, rel])
    batch.token_probs[:, rel] = torch.where(select, probs, batch.token_probs[:, rel])
    batch.row_steps += select.any(dim=1).long()
    if not cfg.stop_at_eos:
        return
    fill = _fill_after_stop(batch.x, batch.plen, batch.stop_ids, lm.pad_id, lm.mask_id)
    if bool(fill.any()):
        comp = batch.x[:, batch.plen:]
        comp[fill] = lm.pad_id
        # filler joins the row's latest step; it was never sampled, so its probability is 1
        batch.step_map[fill] = (batch.row_steps - 1).clamp(min=0)[:, None].expand_as(batch.step_map)[fill]
        batch.token_probs[fill] = 1.0


def _finish(lm: DiffusionLM, batch: _Batch, rows: list[list[int]], start_time: float) -> Generation:
    """The completions as a ``Generation`` (text cut at the first stop token)."""
    completion = batch.x[:, batch.plen:]
    if bool((completion == lm.mask_id).any()):
        raise RuntimeError("decoder left mask tokens in the completion (static schedule too short?)")
    length = completion.shape[1]
    idx = torch.arange(length, device=completion.device)
    gen_tokens = torch.where(torch.isin(completion, batch.stop_ids), idx, length).min(dim=1).values
    texts = []
    for i in range(len(rows)):
        ids = completion[i, : int(gen_tokens[i])].tolist()
        texts.append(lm.tokenizer.decode(ids, skip_special_tokens=True) if lm.tokenizer is not None else "")
    return Generation(
        prompt_ids=rows, completion_ids=completion.cpu(), text=texts, step_map=batch.step_map.cpu(),
        token_probs=batch.token_probs.cpu(), nfe=batch.nfe.cpu(), gen_tokens=gen_tokens.cpu(),
        wall_time=time.perf_counter() - start_time, forwards=batch.forwards, trace=batch.snapshots,
    )


def decode(
    lm: DiffusionLM,
    prompts: Sequence[str] | Sequence[Sequence[int]],
    cfg: SamplerConfig,
    *,
    batch_size: int | None = None,
    row_seeds: Sequence[int] | None = None,
    progress: bool = False,
    trace: bool = False,
) -> Generation:
    """Decode a completion for every prompt (text, or token ids already formatted).

    ``batch_size`` splits large inputs into forward batches (default: all at once).
    ``row_seeds`` gives each prompt its own sampling seed, so a prompt's sample does not depend
    on batch composition or sharding (default: derived from ``cfg.seed`` and the row index).
    ``progress`` shows a rich progress bar over batches; ``trace`` keeps a snapshot of the
    completion after every forward (for ``rldf generate --trace``).
    """
    rows = _tokenize(lm, prompts)
    if row_seeds is not None and len(row_seeds) != len(rows):
        raise ValueError(f"row_seeds has {len(row_seeds)} entries for {len(rows)} prompts")
    if not rows:
        raise ValueError("decode() needs at least one prompt")
    seeds = list(row_seeds) if row_seeds is not None else batch_row_seeds(cfg.seed, len(rows))
    bs = batch_size or len(rows)
    chunks = [(i, min(len(rows), i + bs)) for i in range(0, len(rows), bs)]
    if trace and len(chunks) > 1:  # chunks take different numbers of forwards: snapshots would not line up
        raise ValueError(f"trace=True needs all {len(rows)} prompts in one batch; set batch_size >= {len(rows)}")
    parts: list[Generation] = []
    if progress and len(chunks) > 1:
        from harness.progress import progress_bar

        with progress_bar() as bar:
            task = bar.add_task("decoding", total=len(rows))
            for a, z in chunks:
                parts.append(_decode_batch(lm, rows[a:z], cfg, seeds[a:z], trace))
                bar.advance(task, z - a)
    else:
        parts = [_decode_batch(lm, rows[a:z], cfg, seeds[a:z], trace) for a, z in chunks]
    if len(parts) == 1:
        return parts[0]
    return Generation.concat(parts)
