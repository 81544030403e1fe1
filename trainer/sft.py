"""Masked-diffusion supervised fine-tuning (the LLaDA SFT objective) and ``rldf sft``.

    rldf sft --config configs/sft/tiny_arith.yaml --out runs/sft-tiny [--set run.max_steps=100] [--resume]

Objective, per training pair (prompt, completion): draw t ~ U(eps, 1), mask each completion
token independently with probability t (the prompt is never masked), and minimise the
cross-entropy on masked positions weighted by 1/t, normalised by the completion length. The
completion is the task's gold text (``Task.sft_target``) followed by the stop token and padded
with EOS to ``gen_length``, so the model also learns where to stop (LLaDA trains on the EOS
padding the same way). This is what d1 runs before RL, and how the shipped tiny model was made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from harness.errors import UserError
from harness.padding import left_pad, position_ids
from trainer.optim import OptimConfig


@dataclass
class SFTModelConfig:
    """Which model to train."""

    path: str | None = None
    """Start from this checkpoint (directory, hub id or shipped name)."""
    init: dict[str, Any] | None = None
    """Or build a fresh model: {family: llada|dream, d_model, n_layers, n_heads, n_kv_heads,
    mlp_hidden, max_len} with the character tokenizer (harness.models.tiny)."""
    dtype: str = "float32"
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        if (self.path is None) == (self.init is None):
            raise ValueError("model: set exactly one of model.path (a checkpoint) or model.init (a fresh model)")


@dataclass
class SFTDataConfig:
    """Training pairs: a task's prompts and gold completions."""

    task: str = "arithmetic"
    split: str = "train"
    source: str | None = None
    n: int | None = None
    """Number of items to load (None = the task's default)."""
    template: str = "plain"
    """Prompt family: llada, dream or plain."""
    gen_length: int = 32
    """Completion length the gold text is padded (with EOS) to; must match the eval protocol."""
    eval_sets: list[str] = field(default_factory=list)
    """Task names (``name`` or ``name:split``) whose items are removed from training (contamination guard)."""


@dataclass
class SFTRunConfig:
    """Loop length, batching, checkpoints, evaluation."""

    max_steps: int = 1000
    max_seconds: float | None = None
    """Wall-clock budget; the run checkpoints and stops when it is spent."""
    batch_size: int = 64
    """Global batch (pairs per optimizer step), split across processes."""
    mask_eps: float = 1e-3
    """Lower bound of the masking ratio t."""
    seed: int = 0
    save_every: int = 0
    """Checkpoint every N steps (0 = only at the end)."""
    keep_best: int = 1
    eval_every: int = 0
    """Evaluate every N steps with eval_protocol (0 = never)."""
    eval_protocol: str | None = None
    eval_task: str | None = None
    """Task to evaluate on (default: data.task, test split)."""
    eval_limit: int | None = None
    log_every: int = 10


@dataclass
class SFTConfig:
    model: SFTModelConfig = field(default_factory=lambda: SFTModelConfig(path="rldf-tiny"))
    data: SFTDataConfig = field(default_factory=SFTDataConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-3, schedule="cosine", warmup_steps=50))
    run: SFTRunConfig = field(default_factory=SFTRunConfig)


def sft_loss(lm: Any, prompt: torch.Tensor, attn: torch.Tensor, completion: torch.Tensor,
             generator: torch.Generator, eps: float = 1e-3) -> tuple[torch.Tensor, dict[str, float]]:
    """LLaDA SFT loss for a left-padded batch. Returns (loss, stats).

    ``prompt`` [B, P] left-padded with ``attn`` [B, P + L] covering prompt and completion;
    ``completion`` [B, L] gold tokens. Each row masks completion tokens with its own t.
    """
    b, length = completion.shape
    t = eps + (1 - eps) * torch.rand(b, 1, generator=generator, device=completion.device)
    masked = torch.rand(b, length, generator=generator, device=completion.device) < t
    # at least one masked position per row so every row contributes
    none = ~masked.any(1)
    if none.any():
        masked[none, torch.randint(0, length, (int(none.sum()),), generator=generator, device=completion.device)] = True
    noisy = torch.where(masked, torch.full_like(completion, lm.mask_id), completion)
    ids = torch.cat((prompt, noisy), dim=1)
    pos = position_ids(attn)
    logp, _ = lm.token_logprobs(ids, completion, prompt.shape[1], attention_mask=attn, position_ids=pos)
    loss = -(logp * masked / t).sum() / (b * length)
    acc = ((logp > math.log(0.5)) & masked).sum() / masked.sum()
    return loss, {"masked_frac": float(masked.float().mean()), "masked_acc": float(acc)}


def build_pairs(lm: Any, examples: list, task: Any, template: str, gen_length: int) -> list[tuple[list[int], list[int]]]:
    """Tokenise (prompt, gold completion + stop + EOS padding) pairs; refuse ones that do not fit."""
    if task.sft_target is None:
        raise UserError(f"task '{task.name}' has no sft_target (gold completions); SFT needs one")
    tok = lm.tokenizer
    if tok is None:
        raise UserError("SFT needs a model with a tokenizer")
    stop = lm.eot_id if template in ("llada", "dream") and lm.eot_id is not None else lm.eos_id
    pairs = []
    for ex in examples:
        p = tok(task.format_prompt(ex, template), add_special_tokens=False)["input_ids"]
        c = tok(task.sft_target(ex), add_special_tokens=False)["input_ids"] + [stop]
        if len(c) > gen_length:
            raise UserError(
                f"task '{task.name}' item {ex.id}: gold completion is {len(c)} tokens, longer than "
                f"data.gen_length={gen_length}; raise data.gen_length"
            )
        pairs.append((p, c + [lm.eos_id] * (gen_length - len(c))))
    return pairs


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int, device: Any) -> tuple[torch.Tensor, ...]:
    """Left-pad prompts; return (prompt [B, P], attention [B, P+L], completion [B, L])."""
    prompt, prompt_attn = left_pad([p for p, _ in pairs], pad_id)
    comp = torch.tensor([c for _, c in pairs], dtype=torch.long)
    attn = torch.cat((prompt_attn, torch.ones_like(comp)), dim=1)
    return prompt.to(device), attn.to(device), comp.to(device)

