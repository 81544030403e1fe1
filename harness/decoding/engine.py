"""``decode``: block-wise semi-autoregressive masked-diffusion decoding for LLaDA and Dream.

One decoder serves evaluation and RL rollouts. For every completion position it records the
row's decoding step at which it was committed (``step_map``) and the committed token's
probability (``token_probs``), for both families.

Batch invariance: prompts are left-padded, and every forward carries an attention mask and
position ids that skip the padding, so a prompt's output does not depend on its batch mates.
Blocks advance in lockstep across the batch (a row that finished the current block waits,
committing nothing and spending no NFE); sampling draws from one generator per row.

Prefix cache: at the first forward of a block the whole sequence runs and the keys/values of
positions before the block are kept; later forwards of that block run only from the block
start onwards against them (Fast-dLLM's approximation: the cached prefix saw the block still
masked). With ``cache_refresh = N`` every N-th forward of a block runs in full again and
rebuilds the cache, so the cached prefix is at most N - 1 forwards stale. Dream's logits lag by
one position, so for Dream the cached prefix stops one token earlier and the window starts at
``block_start - 1`` — the only place the shift appears here. How this differs from the
reference (Drift) rollouts: README.md, "Where rldf differs from the reference code".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from harness.decoding.config import SamplerConfig
from harness.decoding.sampling import sample_tokens
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


@torch.no_grad()
def _decode_batch(
    lm: DiffusionLM,
    rows: list[list[int]],
    cfg: SamplerConfig,
    row_seeds: list[int] | None,
    trace: bool,
) -> Generation:
    device = lm.device
    start_time = time.perf_counter()
    b = len(rows)
    plen = max(len(r) for r in rows)
    length = cfg.gen_length
    prompt, prompt_attn = left_pad(rows, lm.pad_id, device)
    x = torch.cat((prompt, torch.full((b, length), lm.mask_id, dtype=torch.long, device=device)), dim=1)
    attn = torch.cat((prompt_attn, torch.ones((b, length), dtype=torch.long, device=device)), dim=1)
    pos = position_ids(attn)
    if bool(attn.all()):
        attn_arg, pos_arg = None, None  # no padding: plain forward (identical result, faster kernels)
    else:
        attn_arg, pos_arg = attn, pos

    step_map = torch.full((b, length), -1, dtype=torch.long, device=device)
    token_probs = torch.zeros((b, length), dtype=torch.float32, device=device)
    row_steps = torch.zeros(b, dtype=torch.long, device=device)
    nfe = torch.zeros(b, dtype=torch.long, device=device)
    generators = None
    if cfg.temperature > 0 or cfg.score == "random":
        seeds = row_seeds if row_seeds is not None else batch_row_seeds(cfg.seed, b)
        generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]
    stop_ids = torch.tensor(lm.stop_ids(), device=device)
    shift = lm.logit_shift
    forwards = 0
    snapshots: list[torch.Tensor] = []

    for blk in range(cfg.num_blocks):
        s, e = plen + blk * cfg.block_length, plen + (blk + 1) * cfg.block_length
        schedule = cfg.static_schedule(blk) if cfg.remasking == "static" else None
        cache = None
        cache_rows: torch.Tensor | None = None
        k = 0
        while True:
            block_masked = x[:, s:e] == lm.mask_id
            active = block_masked.any(dim=1)
            if not bool(active.any()) or (schedule is not None and k >= len(schedule)):
                break
            if cfg.cache_refresh and k and k % cfg.cache_refresh == 0:
                cache = None  # refresh: this forward runs in full and rebuilds the prefix cache
            # Only rows that still have masks in this block are computed: rows that finished the
            # block (or stopped at EOS) wait without spending compute.
            rows_idx = None if bool(active.all()) else active.nonzero().squeeze(1)
            sub = (lambda t: t) if rows_idx is None else (lambda t, r=rows_idx: t.index_select(0, r))
            a_arg = None if attn_arg is None else sub(attn_arg)
            if cache is None:
                out = lm.forward(
                    sub(x), attention_mask=a_arg, position_ids=None if pos_arg is None else sub(pos_arg),
                    use_cache=cfg.use_cache, logits_range=(s - shift, e - shift),
                )
                if cfg.use_cache:
                    # the first forward of a block runs every active row; rows inactive now never
                    # need this block's cache (a row only goes inactive once its block is done)
                    cache = slice_cache(out.cache, s - shift)
                    cache_rows = rows_idx
            else:
                w0 = s - shift
                if rows_idx is not None and (cache_rows is None or len(cache_rows) != len(rows_idx)):
                    # map the active rows onto the rows the cache was built for
                    where = rows_idx if cache_rows is None else torch.searchsorted(cache_rows, rows_idx)
                    use = tuple((k.index_select(0, where), v.index_select(0, where)) for k, v in cache)
                    # active rows only shrink within a block: keep the smaller cache, drop the old one
                    cache, cache_rows = use, rows_idx
                else:
                    use = cache
                out = lm.forward(
                    sub(x[:, w0:]), attention_mask=a_arg,
                    position_ids=None if pos_arg is None else sub(pos_arg[:, w0:]),
                    cache=use, logits_range=(0, e - s),
                )
            forwards += 1
            nfe += active.long()
            logits = lm.suppress(out.logits.float())  # [B_active, block, V]: entry j scores token s + j
            gens = generators
            if rows_idx is not None and generators is not None:
                # idle rows draw nothing, so a row's random stream never depends on its batch mates
                gens = [generators[i] for i in rows_idx.tolist()]
            tokens, probs, scores = sample_tokens(logits, cfg.temperature, cfg.top_k, cfg.top_p, cfg.score, gens)
            if rows_idx is not None:
                tokens = torch.zeros((b, tokens.shape[1]), dtype=tokens.dtype, device=device).index_copy(0, rows_idx, tokens)
                probs = torch.zeros((b, probs.shape[1]), dtype=probs.dtype, device=device).index_copy(0, rows_idx, probs)
                scores = torch.zeros((b, scores.shape[1]), dtype=scores.dtype, device=device).index_copy(0, rows_idx, scores)
            if cfg.defer_eos:
                scores = torch.where(torch.isin(tokens, stop_ids), torch.full_like(scores, -1.0), scores)
            scores = scores.masked_fill(~block_masked, float("-inf"))
            if schedule is not None:
                n = schedule[k]
                order = torch.argsort(scores, dim=1, descending=True, stable=True)
                rank = torch.empty_like(order)
                rank.scatter_(1, order, torch.arange(order.shape[1], device=device).expand_as(order))
                select = (rank < n) & block_masked
            else:
                select = (scores >= cfg.threshold) & block_masked
                best = scores.argmax(dim=1)
                none = ~select.any(dim=1) & active
                select[none, best[none]] = True
            select &= active[:, None]
            block = x[:, s:e]
            block[select] = tokens[select]
            rel = slice(s - plen, e - plen)
            step_map[:, rel] = torch.where(select, row_steps[:, None], step_map[:, rel])
            token_probs[:, rel] = torch.where(select, probs, token_probs[:, rel])
            committed = select.any(dim=1)
            row_steps += committed.long()
            if cfg.stop_at_eos:
                fill = _fill_after_stop(x, plen, stop_ids, lm.pad_id, lm.mask_id)
                if bool(fill.any()):
                    comp = x[:, plen:]
                    comp[fill] = lm.pad_id
                    # filler joins the row's latest step; it was never sampled, so its probability is 1
                    step_map[fill] = (row_steps - 1).clamp(min=0)[:, None].expand_as(step_map)[fill]
                    token_probs[fill] = 1.0
            if trace:
                snapshots.append(x[:, plen:].clone().cpu())
            k += 1
    completion = x[:, plen:]
    if bool((completion == lm.mask_id).any()):
        raise RuntimeError("decoder left mask tokens in the completion (static schedule too short?)")
    is_stop = torch.isin(completion, stop_ids)
    idx = torch.arange(length, device=device)
    gen_tokens = torch.where(is_stop, idx, length).min(dim=1).values
    texts = []
    for i in range(b):
        ids = completion[i, : int(gen_tokens[i])].tolist()
        texts.append(lm.tokenizer.decode(ids, skip_special_tokens=True) if lm.tokenizer is not None else "")
    return Generation(
        prompt_ids=rows,
        completion_ids=completion.cpu(),
        text=texts,
        step_map=step_map.cpu(),
        token_probs=token_probs.cpu(),
        nfe=nfe.cpu(),
        gen_tokens=gen_tokens.cpu(),
        wall_time=time.perf_counter() - start_time,
        forwards=forwards,
        trace=snapshots,
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
