"""Optimizer and learning-rate schedule shared by the RL and SFT loops.

AdamW with decoupled weight decay applied to matrices only (norm weights, biases and
embeddings excluded, as the reference configs do), and a transformers LR schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

SCHEDULES = ("constant", "constant_with_warmup", "linear", "cosine")


@dataclass
class OptimConfig:
    """Optimizer settings."""

    lr: float = 1e-6
    """Peak learning rate."""
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    """AdamW decoupled weight decay, on weight matrices only."""
    grad_clip: float = 1.0
    """Max global gradient norm; 0 disables clipping."""
    schedule: str = "constant"
    """One of constant, constant_with_warmup, linear, cosine (decay over run.max_steps)."""
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"optim.lr={self.lr} must be positive")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"optim.schedule={self.schedule!r}: choose one of {', '.join(SCHEDULES)}")
        if self.grad_clip < 0 or self.weight_decay < 0 or self.warmup_steps < 0:
            raise ValueError("optim.grad_clip, optim.weight_decay and optim.warmup_steps must be >= 0")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ValueError(f"optim.betas={self.betas} must be two numbers in [0, 1)")


def build_optimizer(net: torch.nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.dim() < 2 or "embed" in name or "wte" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimConfig, total_steps: int):
    from transformers import get_scheduler

    return get_scheduler(cfg.schedule, optimizer, num_warmup_steps=cfg.warmup_steps, num_training_steps=max(1, total_steps))
