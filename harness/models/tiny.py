"""Tiny checkpoints of the real architectures, built programmatically.

Tests and the CPU demo need models that run in milliseconds but exercise exactly the code
paths real LLaDA/Dream checkpoints take: same config classes, same parameter names, same
loader, a real ``tokenizer.json`` loaded through ``AutoTokenizer``. Nothing elsewhere knows a
model is tiny. The tokenizer is character-level over printable ASCII plus newline, with the
family's special tokens (mask, EOS/PAD, BOS, chat end) first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from harness.models.dream import DreamConfig, DreamModel
from harness.models.llada import LLaDAConfig, LLaDAModelLM

SPECIAL_TOKENS = {
    # family -> (eos/pad, bos, mask, chat end)
    "llada": ("<|endoftext|>", "<|startoftext|>", "<|mdm_mask|>", "<|eot_id|>"),
    "dream": ("<|endoftext|>", "<|im_start|>", "<|mask|>", "<|im_end|>"),
}
CHARS = [chr(i) for i in range(32, 127)] + ["\n"]


def build_char_tokenizer(family: str = "llada") -> Any:
    """A character-level ``PreTrainedTokenizerFast``; ids 0..3 are the special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    eos, bos, mask, eot = SPECIAL_TOKENS[family]
    specials = [eos, bos, mask, eot]
    vocab = {tok: i for i, tok in enumerate(specials + CHARS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=eos))
    core.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")  # one token per character
    core.decoder = decoders.Fuse()  # join characters back without separators
    core.add_special_tokens(specials)
    return PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token=eos, pad_token=eos, bos_token=bos, mask_token=mask,
        additional_special_tokens=[eot],
    )


def tiny_config(
    family: str,
    vocab_size: int,
    mask_id: int,
    eos_id: int,
    bos_id: int | None = None,
    d_model: int = 64,
    n_layers: int = 2,
    n_heads: int = 4,
    n_kv_heads: int | None = None,
    mlp_hidden: int | None = None,
    max_len: int = 1024,
) -> LLaDAConfig | DreamConfig:
    """A config of the real architecture at toy size (GQA when ``n_kv_heads < n_heads``)."""
    mlp_hidden = mlp_hidden or (8 * d_model) // 3 // 8 * 8
    if family == "llada":
        return LLaDAConfig(
            d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv_heads or n_heads, n_layers=n_layers,
            mlp_hidden_size=mlp_hidden, max_sequence_length=max_len, vocab_size=vocab_size,
            embedding_size=vocab_size, mask_token_id=mask_id, eos_token_id=eos_id, pad_token_id=eos_id,
            bos_token_id=bos_id, architectures=["LLaDAModelLM"],
        )
    if family == "dream":
        return DreamConfig(
            hidden_size=d_model, num_attention_heads=n_heads, num_key_value_heads=n_kv_heads or n_heads,
            num_hidden_layers=n_layers, intermediate_size=mlp_hidden, max_position_embeddings=max_len,
            vocab_size=vocab_size, mask_token_id=mask_id, eos_token_id=eos_id, pad_token_id=eos_id,
            bos_token_id=bos_id, architectures=["DreamModel"],
        )
    raise ValueError(f"unknown family {family!r}; use 'llada' or 'dream'")


def make_tiny_checkpoint(
    out_dir: str | os.PathLike, family: str = "llada", seed: int = 0, **sizes: Any
) -> Path:
    """Write a randomly initialised tiny checkpoint (config, safetensors, tokenizer) to ``out_dir``."""
    tok = build_char_tokenizer(family)
    eos, bos, mask, _ = SPECIAL_TOKENS[family]
    ids = tok.convert_tokens_to_ids
    cfg = tiny_config(family, len(tok), ids(mask), ids(eos), ids(bos), **sizes)
    torch.manual_seed(seed)
    net = (LLaDAModelLM if family == "llada" else DreamModel)(cfg)
    out = Path(out_dir)
    net.save_pretrained(out)
    tok.save_pretrained(out)
    return out
