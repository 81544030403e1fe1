"""Building blocks shared by the native LLaDA and Dream implementations.

Both architectures are Llama-style transformers with RMSNorm, rotary position embeddings,
SwiGLU MLPs and *bidirectional* attention (no causal mask). They differ in parameter names,
biases, GQA and the logit shift, which live in ``llada.py`` and ``dream.py``. Everything here
is written so that a forward over the suffix ``[s, T)`` against cached keys/values of the
prefix ``[0, s)`` computes exactly what the full forward computes for those positions, given
the same prefix keys/values (the prefix KV cache used by the decoder).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.utils import ModelOutput


class RMSNorm(nn.Module):
    """RMSNorm computed in float32 and cast back, then scaled (LLaDA and Qwen2 agree on this)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def rotary_cos_sin(
    position_ids: torch.Tensor, head_dim: int, theta: float, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables of shape [B, 1, T, head_dim] for integer ``position_ids`` [B, T].

    Frequencies are computed in float32 (both reference implementations do), with the
    "half-split" layout: the first and second halves of a head share frequencies.
    """
    inv_freq = 1.0 / (
        theta ** (torch.arange(0, head_dim, 2, device=position_ids.device, dtype=torch.float32) / head_dim)
    )
    freqs = position_ids.to(torch.float32)[..., None] * inv_freq  # [B, T, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # [B, 1, T, D]
    return emb.cos().to(dtype), emb.sin().to(dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` [B, H, T, D] by the position tables."""
    return x * cos + _rotate_half(x) * sin


@dataclass
class AttentionInputs:
    """Per-forward tensors every layer needs; built once per forward by ``prepare_attention``."""

    cos: torch.Tensor  # in the dtype rotary is computed in
    sin: torch.Tensor
    # Boolean key mask [B, 1, 1, Tk] (True = attend) or None when nothing is padded.
    key_mask: torch.Tensor | None
    # Where the current tokens' keys go among the cached ones: None = after them (a prefix
    # cache); an index = inside them (the dual cache holds the keys before *and* after a window).
    insert_at: int | None = None


def prepare_attention(
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    position_ids: torch.Tensor | None,
    past_len: int,
    head_dim: int,
    theta: float,
    dtype: torch.dtype,
    insert_at: int | None = None,
) -> AttentionInputs:
    """Resolve default position ids and turn a 2D padding mask into an SDPA key mask.

    ``dtype`` is the precision rotary embeddings are applied in: LLaDA applies them in float32
    ("rope_full_precision"), Qwen2/Dream in the activations' dtype.

    ``attention_mask`` covers all keys (cached prefix + current tokens): shape [B, past_len + T].
    Default positions continue from the prefix: ``past_len .. past_len + T - 1``; with
    ``insert_at`` (a dual cache) the current tokens sit at ``insert_at .. insert_at + T - 1``.
    """
    b, t = input_ids.shape
    if position_ids is None:
        first = past_len if insert_at is None else insert_at
        position_ids = torch.arange(first, first + t, device=input_ids.device).expand(b, t)
    cos, sin = rotary_cos_sin(position_ids, head_dim, theta, dtype)
    key_mask = None
    if attention_mask is not None:
        if attention_mask.shape != (b, past_len + t):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected {(b, past_len + t)} "
                "(it must cover the cached prefix and the current tokens)"
            )
        mask = attention_mask.to(torch.bool)
        if not bool(mask.all()):
            key_mask = mask[:, None, None, :]
    return AttentionInputs(cos=cos, sin=sin, key_mask=key_mask, insert_at=insert_at)


def attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    att: AttentionInputs,
    past: tuple[torch.Tensor, torch.Tensor] | None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Bidirectional attention of q [B, H, T, D] over (cached + current) keys with GQA.

    Rotary is applied to q and k here (cached keys are stored rotated). The current keys join
    the cached ones after them, or at ``att.insert_at`` (dual cache). Returns the attention
    output [B, T, H*D] and this layer's full (k, v) so callers can cache part of it.
    """
    q = apply_rotary(q.to(att.cos.dtype), att.cos, att.sin).to(v.dtype)
    k = apply_rotary(k.to(att.cos.dtype), att.cos, att.sin).to(v.dtype)
    if past is not None:
        i = past[0].shape[2] if att.insert_at is None else att.insert_at
        k = torch.cat((past[0][:, :, :i], k, past[0][:, :, i:]), dim=2)
        v = torch.cat((past[1][:, :, :i], v, past[1][:, :, i:]), dim=2)
    n_rep = q.shape[1] // k.shape[1]
    kk, vv, gqa = k, v, False
    if n_rep > 1 and att.key_mask is None:
        gqa = True  # SDPA's native GQA (flash kernels): no n_rep copies of the (cached) keys/values
    elif n_rep > 1:
        # with a padding mask, CUDA's memory-efficient kernel does not take enable_gqa and SDPA
        # would fall back to the slow math kernel; repeat the heads instead
        kk, vv = k.repeat_interleave(n_rep, dim=1), v.repeat_interleave(n_rep, dim=1)
    out = F.scaled_dot_product_attention(q, kk, vv, attn_mask=att.key_mask, dropout_p=0.0, is_causal=False, enable_gqa=gqa)
    b, h, t, d = out.shape
    return out.transpose(1, 2).reshape(b, t, h * d), (k, v)


@dataclass
class DiffusionLMOutput(ModelOutput):
    """Output of both native architectures.

    ``logits`` are raw (position i holds what the network outputs there; for Dream that
    predicts token i+1). ``cache`` is a tuple over layers of (k, v) with shape
    [B, n_kv_heads, past_len + T, head_dim], keys already rotated, returned when ``use_cache``.
    """

    logits: torch.Tensor | None = None
    cache: tuple[tuple[torch.Tensor, torch.Tensor], ...] | None = None
    hidden_states: torch.Tensor | None = None


def slice_cache(
    past: tuple[tuple[torch.Tensor, torch.Tensor], ...], end: int, resume: int | None = None
) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Keep the keys/values of positions [0, end) of every layer (the decoder's prefix cache),
    and with ``resume`` also those of [resume, T) (the dual cache: all but the window).

    Copies, so the full-length keys/values of the forward that built the cache can be freed.
    """
    if resume is None:
        return tuple((k[:, :, :end].clone(), v[:, :, :end].clone()) for k, v in past)
    return tuple(
        (torch.cat((k[:, :, :end], k[:, :, resume:]), dim=2), torch.cat((v[:, :, :end], v[:, :, resume:]), dim=2))
        for k, v in past
    )
