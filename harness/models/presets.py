"""Real-size configs of LLaDA-8B and Dream-7B (from their public config.json files).

Used to build random-weight, real-size models for GPU speed/memory benchmarks: speed and
memory do not depend on weight values, and real weights cannot be downloaded everywhere.
Values from ``specs/MODELS.md``.
"""

from __future__ import annotations

from harness.models.dream import DreamConfig
from harness.models.llada import LLaDAConfig

LLADA_8B = dict(
    d_model=4096, n_layers=32, n_heads=32, n_kv_heads=32, mlp_hidden_size=12288, vocab_size=126464,
    embedding_size=126464, max_sequence_length=4096, rope_theta=500000.0, rms_norm_eps=1e-5,
    weight_tying=False, include_bias=False, mask_token_id=126336, bos_token_id=126080,
    eos_token_id=126081, pad_token_id=126081, architectures=["LLaDAModelLM"],
)
DREAM_7B = dict(
    hidden_size=3584, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
    intermediate_size=18944, vocab_size=152064, rms_norm_eps=1e-6, rope_theta=1e6,
    tie_word_embeddings=False, mask_token_id=151666, pad_token_id=151643, eos_token_id=151643,
    bos_token_id=151643, max_position_embeddings=131072, architectures=["DreamModel"],
)
PRESETS = {"llada-8b": ("llada", LLADA_8B), "dream-7b": ("dream", DREAM_7B)}


def preset_config(name: str) -> tuple[str, LLaDAConfig | DreamConfig]:
    """(family, config) for a preset name ('llada-8b' or 'dream-7b')."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    family, fields = PRESETS[name]
    cls = LLaDAConfig if family == "llada" else DreamConfig
    return family, cls(**fields)

# Hub ids whose published config.json is one of the presets (for planning without a download).
HUB_PRESETS = {
    "GSAI-ML/LLaDA-8B-Instruct": "llada-8b",
    "GSAI-ML/LLaDA-8B-Base": "llada-8b",
    "GSAI-ML/LLaDA-1.5": "llada-8b",
    "Dream-org/Dream-v0-Instruct-7B": "dream-7b",
    "Dream-org/Dream-v0-Base-7B": "dream-7b",
}
