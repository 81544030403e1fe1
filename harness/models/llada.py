"""Native LLaDA (``model_type: "llada"``) that loads the official checkpoints.

LLaDA-8B (Base/Instruct) and LLaDA-1.5 ship OLMo-derived remote code pinned to transformers
4.38. This is a clean implementation of the same network for current transformers, with the
official config fields and parameter names (``model.transformer.wte``,
``model.transformer.blocks.{i}.{attn_norm,q_proj,k_proj,v_proj,attn_out,ff_norm,ff_proj,
up_proj,ff_out}``, ``model.transformer.ln_f``, ``model.transformer.ff_out``), so
``from_pretrained``/``save_pretrained`` round-trip in the official layout without
``trust_remote_code``. Only the variant the released checkpoints use is implemented
(llama block, RMSNorm, RoPE, SwiGLU); other OLMo options are refused in the config, not
silently computed differently. Attention is bidirectional; logits at position i predict token i.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.modeling_layers import GradientCheckpointingLayer

from harness.models.layers import AttentionInputs, DiffusionLMOutput, RMSNorm, attend, prepare_attention

# Options of the OLMo-style config that change the computation; values other than these are
# refused with a message rather than silently ignored.
_REQUIRED = {
    "block_type": "llama",
    "layer_norm_type": "rms",
    "alibi": False,
    "rope": True,
    "input_emb_norm": False,
    "attention_layer_norm": False,
    "scale_logits": False,
    "multi_query_attention": None,
    "clip_qkv": None,
}


class LLaDAConfig(PreTrainedConfig):
    """Configuration with the official LLaDA field names (defaults: LLaDA-8B)."""

    model_type = "llada"

    d_model: int = 4096
    n_heads: int = 32
    n_kv_heads: int | None = 32
    n_layers: int = 32
    mlp_ratio: int = 4
    mlp_hidden_size: int | None = 12288
    max_sequence_length: int = 4096
    rope_theta: float = 500000.0
    rope_full_precision: bool = True
    rms_norm_eps: float = 1e-5
    vocab_size: int = 126464
    embedding_size: int | None = 126464
    weight_tying: bool = False
    include_bias: bool = False
    include_qkv_bias: bool = False
    bias_for_layer_norm: bool | None = None
    layer_norm_with_affine: bool = True
    block_type: str = "llama"
    activation_type: str = "silu"
    layer_norm_type: str = "rms"
    alibi: bool = False
    rope: bool = True
    input_emb_norm: bool = False
    attention_layer_norm: bool = False
    scale_logits: bool = False
    multi_query_attention: bool | None = None
    clip_qkv: float | None = None
    init_std: float = 0.02
    mask_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    pad_token_id: int | None = None
    use_cache: bool = False

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        for key, want in _REQUIRED.items():
            got = getattr(self, key, want)
            if got != want and not (want is None and not got):
                raise ValueError(
                    f"LLaDA config field '{key}'={got!r} is not supported by the native implementation "
                    f"(official checkpoints use {want!r}); load with trust_remote_code=True instead"
                )
        if self.activation_type not in ("silu", "swiglu"):
            raise ValueError(f"LLaDA config field 'activation_type'={self.activation_type!r} is not supported (use 'silu')")
        norm_bias = self.include_bias if self.bias_for_layer_norm is None else self.bias_for_layer_norm
        if norm_bias or not self.layer_norm_with_affine:
            raise ValueError("LLaDA config: RMSNorm with bias or without affine weight is not supported")
        if self.d_model % self.n_heads:
            raise ValueError(f"LLaDA config: d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.kv_heads <= 0 or self.n_heads % self.kv_heads:
            raise ValueError(f"LLaDA config: n_heads={self.n_heads} must be a multiple of n_kv_heads={self.kv_heads}")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def hidden_size(self) -> int:  # the name generic tooling (accelerate, DeepSpeed auto) looks for
        return self.d_model

    @property
    def num_hidden_layers(self) -> int:
        return self.n_layers

    @property
    def num_attention_heads(self) -> int:
        return self.n_heads

    @property
    def mlp_hidden(self) -> int:
        return self.mlp_hidden_size or self.mlp_ratio * self.d_model

    @property
    def output_size(self) -> int:
        return self.embedding_size or self.vocab_size


class LLaDABlock(GradientCheckpointingLayer):
    """One LLaDA "llama" block: pre-norm attention and SwiGLU MLP with residuals."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__()
        d, hd = config.d_model, config.d_model // config.n_heads
        self.n_heads, self.n_kv, self.head_dim = config.n_heads, config.kv_heads, hd
        qkv_bias = config.include_bias or config.include_qkv_bias
        self.attn_norm = RMSNorm(d, config.rms_norm_eps)
        self.q_proj = nn.Linear(d, config.n_heads * hd, bias=qkv_bias)
        self.k_proj = nn.Linear(d, self.n_kv * hd, bias=qkv_bias)
        self.v_proj = nn.Linear(d, self.n_kv * hd, bias=qkv_bias)
        self.attn_out = nn.Linear(d, d, bias=config.include_bias)
        self.ff_norm = RMSNorm(d, config.rms_norm_eps)
        self.ff_proj = nn.Linear(d, config.mlp_hidden, bias=config.include_bias)
        self.up_proj = nn.Linear(d, config.mlp_hidden, bias=config.include_bias)
        self.ff_out = nn.Linear(config.mlp_hidden, d, bias=config.include_bias)

    def forward(
        self,
        x: torch.Tensor,
        att: AttentionInputs | None = None,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = self.q_proj(h).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        a, kv = attend(q, k, v, att, past)
        x = x + self.attn_out(a)
        h = self.ff_norm(x)
        x = x + self.ff_out(F.silu(self.ff_proj(h)) * self.up_proj(h))
        return x, kv


class LLaDAPreTrainedModel(PreTrainedModel):
    config_class = LLaDAConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["LLaDABlock"]
    _supports_sdpa = True


class LLaDAModel(LLaDAPreTrainedModel):
    """The trunk; holds ``transformer`` so parameter names match the official checkpoints."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__(config)
        modules = {
            "wte": nn.Embedding(config.output_size, config.d_model),
            "blocks": nn.ModuleList(LLaDABlock(config) for _ in range(config.n_layers)),
            "ln_f": RMSNorm(config.d_model, config.rms_norm_eps),
        }
        if not config.weight_tying:
            modules["ff_out"] = nn.Linear(config.d_model, config.output_size, bias=config.include_bias)
        self.transformer = nn.ModuleDict(modules)
        self.post_init()


class LLaDAModelLM(LLaDAPreTrainedModel):
    """LLaDA masked-diffusion LM. ``forward(input_ids).logits`` equals the reference code's."""

    def __init__(self, config: LLaDAConfig) -> None:
        super().__init__(config)
        self.model = LLaDAModel(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.model.transformer.wte

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.transformer.wte = value

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        cache: tuple[tuple[torch.Tensor, torch.Tensor], ...] | None = None,
        use_cache: bool = False,
        logits_range: tuple[int, int] | None = None,
        cache_insert: int | None = None,
        **_: object,
    ) -> DiffusionLMOutput:
        """Run the network.

        ``attention_mask`` [B, past + T] marks real (1) vs padding (0) keys; ``position_ids``
        [B, T] default to ``past .. past + T - 1``; ``cache`` are the prefix keys/values
        (from an earlier call with ``use_cache=True``), which are read, never modified; the
        current tokens' keys go after them, or at index ``cache_insert`` among them when the
        cache holds the positions on both sides of the current window (the dual cache).
        ``logits_range=(a, b)`` computes logits only for input positions a..b-1: the output
        head is a large share of the compute with a 126k vocabulary, and decoding needs the
        logits of one block only.
        """
        tr = self.model.transformer
        cfg = self.config
        past_len = cache[0][0].shape[2] if cache is not None else 0
        x = tr.wte(input_ids)
        rope_dtype = torch.float32 if cfg.rope_full_precision else x.dtype
        att = prepare_attention(
            input_ids, attention_mask, position_ids, past_len, cfg.d_model // cfg.n_heads, cfg.rope_theta, rope_dtype,
            insert_at=cache_insert,
        )
        caches = []
        for i, block in enumerate(tr.blocks):
            x, kv = block(x, att=att, past=cache[i] if cache is not None else None)
            if use_cache:
                caches.append(kv)
        if logits_range is not None:
            x = x[:, logits_range[0] : logits_range[1]]
        x = tr.ln_f(x)
        weight = tr.wte.weight if cfg.weight_tying else tr.ff_out.weight
        bias = None if cfg.weight_tying else tr.ff_out.bias
        logits = F.linear(x, weight, bias)
        return DiffusionLMOutput(logits=logits, cache=tuple(caches) if use_cache else None)
