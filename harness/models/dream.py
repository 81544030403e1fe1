"""Native Dream (``model_type: "Dream"``) that loads the official checkpoints.

Dream-v0-7B (and DiffuCoder-7B) use the Qwen2.5 layout with bidirectional attention; their
remote code targets old transformers. This implementation keeps the official config fields
and parameter names (``model.embed_tokens``, ``model.layers.{i}.self_attn.{q,k,v,o}_proj``,
``model.layers.{i}.mlp.{gate,up,down}_proj``, ``input_layernorm``,
``post_attention_layernorm``, ``model.norm``, ``lm_head``), GQA, q/k/v biases, and the
optional padding attention mask and position ids the reference generator passes.

Dream was initialised from an autoregressive model: the raw logit at position i predicts
token i+1. ``forward`` returns raw logits like the reference; ``DiffusionLM`` aligns them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel
from transformers.modeling_layers import GradientCheckpointingLayer

from harness.models.layers import AttentionInputs, DiffusionLMOutput, RMSNorm, attend, prepare_attention


class DreamConfig(PreTrainedConfig):
    """Configuration with the official Dream field names (defaults: Dream-v0-7B)."""

    model_type = "Dream"

    vocab_size: int = 152064
    hidden_size: int = 3584
    intermediate_size: int = 18944
    num_hidden_layers: int = 28
    num_attention_heads: int = 28
    num_key_value_heads: int | None = 4
    hidden_act: str = "silu"
    max_position_embeddings: int = 131072
    initializer_range: float = 0.02
    rms_norm_eps: float = 1e-6
    rope_theta: float = 1000000.0
    rope_scaling: dict | None = None
    use_sliding_window: bool = False
    sliding_window: int | None = None
    max_window_layers: int = 28
    attention_dropout: float = 0.0
    tie_word_embeddings: bool = False
    mask_token_id: int | None = None
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    use_cache: bool = False

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.hidden_act != "silu":
            raise ValueError(f"Dream config field 'hidden_act'={self.hidden_act!r} is not supported (use 'silu')")
        if self.rope_scaling:
            raise ValueError(
                "Dream config field 'rope_scaling' is set; the native implementation supports plain RoPE only "
                "(load with trust_remote_code=True)"
            )
        if self.use_sliding_window:
            raise ValueError("Dream config: sliding-window attention is not supported (set use_sliding_window=false)")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("Dream config: hidden_size must be divisible by num_attention_heads")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("Dream config: num_attention_heads must be a multiple of num_key_value_heads")


class DreamAttention(nn.Module):
    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        d = config.hidden_size
        self.n_heads, self.n_kv = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = d // self.n_heads
        self.q_proj = nn.Linear(d, self.n_heads * self.head_dim, bias=True)
        self.k_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=True)
        self.v_proj = nn.Linear(d, self.n_kv * self.head_dim, bias=True)
        self.o_proj = nn.Linear(self.n_heads * self.head_dim, d, bias=False)

    def forward(self, h, att, past):
        b, t, _ = h.shape
        q = self.q_proj(h).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        a, kv = attend(q, k, v, att, past)
        return self.o_proj(a), kv


class DreamMLP(nn.Module):
    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        d, m = config.hidden_size, config.intermediate_size
        self.gate_proj = nn.Linear(d, m, bias=False)
        self.up_proj = nn.Linear(d, m, bias=False)
        self.down_proj = nn.Linear(m, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DreamDecoderLayer(GradientCheckpointingLayer):
    def __init__(self, config: DreamConfig) -> None:
        super().__init__()
        self.self_attn = DreamAttention(config)
        self.mlp = DreamMLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(
        self,
        x: torch.Tensor,
        att: AttentionInputs | None = None,
        past: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.self_attn(self.input_layernorm(x), att, past)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, kv


class DreamPreTrainedModel(PreTrainedModel):
    config_class = DreamConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True
    _no_split_modules = ["DreamDecoderLayer"]
    _supports_sdpa = True


class DreamBaseModel(DreamPreTrainedModel):
    def __init__(self, config: DreamConfig) -> None:
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DreamDecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_init()


class DreamModel(DreamPreTrainedModel):
    """Dream masked-diffusion LM. ``forward(input_ids).logits`` equals the reference code's."""

    _tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}

    def __init__(self, config: DreamConfig) -> None:
        super().__init__(config)
        self.model = DreamBaseModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.model.embed_tokens

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.embed_tokens = value

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

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
        """Same contract as ``LLaDAModelLM.forward``; logits are raw (position i predicts i+1)."""
        cfg = self.config
        past_len = cache[0][0].shape[2] if cache is not None else 0
        x = self.model.embed_tokens(input_ids)
        att = prepare_attention(
            input_ids,
            attention_mask,
            position_ids,
            past_len,
            cfg.hidden_size // cfg.num_attention_heads,
            cfg.rope_theta,
            x.dtype,
            insert_at=cache_insert,
        )
        caches = []
        for i, layer in enumerate(self.model.layers):
            x, kv = layer(x, att=att, past=cache[i] if cache is not None else None)
            if use_cache:
                caches.append(kv)
        if logits_range is not None:
            x = x[:, logits_range[0] : logits_range[1]]
        logits = self.lm_head(self.model.norm(x))
        return DiffusionLMOutput(logits=logits, cache=tuple(caches) if use_cache else None)
