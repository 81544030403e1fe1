"""Token sampling and position scoring for one decoding step (pure tensor functions).

Given aligned logits for the positions of the current block, produce for every position the
token that would be committed there, the probability of that token under the distribution it
was drawn from (``token_probs``, which RLDF's step weights need), and a score used to decide
which positions to commit now.
"""

from __future__ import annotations

import torch


def filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Apply top-k then top-p (nucleus) truncation; removed entries become -inf."""
    if top_k > 0 and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, idx = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        # drop a token when the mass before it already reaches top_p (the top token always stays)
        drop = (probs.cumsum(-1) - probs) >= top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, sorted_logits)
    return logits


def score_dtype(name: str, logits: torch.Tensor) -> torch.dtype:
    """The torch dtype of a ``SamplerConfig.score_dtype`` name (``model`` = the logits' own)."""
    return {"float64": torch.float64, "float32": torch.float32}.get(name, logits.dtype)


def exclude(values: torch.Tensor, never: torch.Tensor | None, fill: float) -> torch.Tensor:
    """``values`` with the never-committed ids (the mask token, unused vocabulary rows) set to ``fill``."""
    return values if never is None or never.numel() == 0 else values.index_fill(-1, never, fill)


def sample_tokens(
    logits: torch.Tensor,
    temperature: float,
    top_k: int,
    top_p: float,
    score: str,
    generators: list[torch.Generator] | None,
    never: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pick a token per position; return (tokens [B, N], token_probs [B, N], scores [B, N]).

    The distribution is q = softmax(filter(logits / T)) over the **full vocabulary**, mask token
    included, computed in ``dtype``: the official decoders (LLaDA ``generate.py``, Fast-dLLM,
    Drift) score positions with the full softmax, so leaving the mask token out would inflate
    every score by 1 / (1 - q(mask)) and reorder near-ties. Temperature first, then top-k /
    top-p truncate the tempered distribution. The committed token is never one of ``never``
    (the mask token and unused vocabulary rows): greedy takes the argmax of the logits over the
    other ids (ties to the lowest id), sampling draws from q restricted to them. Its probability
    (``token_probs``) is read from the full q, at T = 1 when greedy. ``scores`` follow
    ``score``: confidence = q(token), margin = q1 - q2, neg_entropy = exp(-H(q)), random =
    U(0, 1). ``generators`` (one per row) make sampling independent of batch mates.
    """
    x = logits.to(dtype)
    q = torch.softmax(filter_logits(x / temperature if temperature > 0 else x, top_k, top_p), dim=-1)
    if temperature > 0:
        allowed = exclude(q, never, 0.0)
        b, n, v = q.shape
        rows = []
        for i in range(b):
            g = generators[i] if generators is not None else None
            rows.append(torch.multinomial(allowed[i].reshape(n, v), 1, generator=g).view(n))
        tokens = torch.stack(rows)
    else:
        tokens = exclude(x, never, float("-inf")).argmax(-1)
    probs = q.gather(-1, tokens[..., None]).squeeze(-1)
    if score == "confidence":
        scores = probs
    elif score == "margin":
        top2 = torch.topk(q, 2, dim=-1).values
        scores = top2[..., 0] - top2[..., 1]
    elif score == "neg_entropy":
        logq = torch.log(q.clamp_min(1e-30))
        scores = torch.exp((q * logq).sum(-1))  # exp(-H): 1 for a one-hot q, small for flat q
    elif score == "random":
        b, n = probs.shape
        scores = torch.stack(
            [torch.rand(n, generator=generators[i] if generators else None, device=probs.device) for i in range(b)]
        ).to(probs.dtype)
    else:
        raise ValueError(f"unknown score {score!r}")
    return tokens, probs, scores
