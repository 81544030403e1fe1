"""An independent, deliberately naive LLaDA/Dream forward used to check the native models.

Written from the architecture description (not from ``harness.models``): explicit loops over
layers, RoPE through complex rotation of (i, i + D/2) pairs, attention as an explicit softmax
with an explicit GQA head map. It reads weights by their *official* names from a state dict,
so it also checks parameter naming. Slow; for tiny models only.
"""

from __future__ import annotations

import math

import torch


def _rms(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def _rope(x, theta):  # x: [T, H, D]
    t, _, d = x.shape
    inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = torch.arange(t, dtype=torch.float64)[:, None] * inv[None, :]  # [T, D/2]
    z = torch.complex(x[..., : d // 2], x[..., d // 2 :]) * torch.polar(torch.ones_like(ang), ang)[:, None, :]
    return torch.cat((z.real, z.imag), dim=-1)


def _attention(q, k, v):  # q [T, H, D], k/v [T, Hkv, D]
    t, h, d = q.shape
    group = h // k.shape[1]
    out = torch.empty_like(q)
    for head in range(h):
        kh, vh = k[:, head // group], v[:, head // group]
        scores = q[:, head] @ kh.T / math.sqrt(d)
        out[:, head] = torch.softmax(scores, dim=-1) @ vh
    return out.reshape(t, h * d)


def _lin(sd, name, x):
    y = x @ sd[name + ".weight"].T
    return y + sd[name + ".bias"] if name + ".bias" in sd else y


def llada_logits(sd: dict, cfg, ids: torch.Tensor) -> torch.Tensor:
    sd = {k: v.double() for k, v in sd.items()}
    h_, kv_, d = cfg.n_heads, cfg.n_kv_heads or cfg.n_heads, cfg.d_model // cfg.n_heads
    out = []
    for row in ids:
        x = sd["model.transformer.wte.weight"][row]
        for i in range(cfg.n_layers):
            p = f"model.transformer.blocks.{i}."
            h = _rms(x, sd[p + "attn_norm.weight"], cfg.rms_norm_eps)
            q = _rope(_lin(sd, p + "q_proj", h).view(-1, h_, d), cfg.rope_theta)
            k = _rope(_lin(sd, p + "k_proj", h).view(-1, kv_, d), cfg.rope_theta)
            v = _lin(sd, p + "v_proj", h).view(-1, kv_, d)
            x = x + _lin(sd, p + "attn_out", _attention(q, k, v))
            h = _rms(x, sd[p + "ff_norm.weight"], cfg.rms_norm_eps)
            x = x + _lin(sd, p + "ff_out", torch.nn.functional.silu(_lin(sd, p + "ff_proj", h)) * _lin(sd, p + "up_proj", h))
        x = _rms(x, sd["model.transformer.ln_f.weight"], cfg.rms_norm_eps)
        head = sd["model.transformer.wte.weight"] if cfg.weight_tying else sd["model.transformer.ff_out.weight"]
        out.append(x @ head.T)
    return torch.stack(out)


def dream_logits(sd: dict, cfg, ids: torch.Tensor) -> torch.Tensor:
    sd = {k: v.double() for k, v in sd.items()}
    h_, kv_ = cfg.num_attention_heads, cfg.num_key_value_heads
    d = cfg.hidden_size // h_
    out = []
    for row in ids:
        x = sd["model.embed_tokens.weight"][row]
        for i in range(cfg.num_hidden_layers):
            p = f"model.layers.{i}."
            h = _rms(x, sd[p + "input_layernorm.weight"], cfg.rms_norm_eps)
            q = _rope(_lin(sd, p + "self_attn.q_proj", h).view(-1, h_, d), cfg.rope_theta)
            k = _rope(_lin(sd, p + "self_attn.k_proj", h).view(-1, kv_, d), cfg.rope_theta)
            v = _lin(sd, p + "self_attn.v_proj", h).view(-1, kv_, d)
            x = x + _lin(sd, p + "self_attn.o_proj", _attention(q, k, v))
            h = _rms(x, sd[p + "post_attention_layernorm.weight"], cfg.rms_norm_eps)
            m = torch.nn.functional.silu(_lin(sd, p + "mlp.gate_proj", h)) * _lin(sd, p + "mlp.up_proj", h)
            x = x + _lin(sd, p + "mlp.down_proj", m)
        x = _rms(x, sd["model.norm.weight"], cfg.rms_norm_eps)
        head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"])
        out.append(x @ head.T)
    return torch.stack(out)
