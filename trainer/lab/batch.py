"""The lab's fixed rollout batch: decoded once, recorded, hashed, then shared by every estimator.

The batch is exactly what the first step of ``rldf train`` with the same recipe would train on:
the same prompts (``ItemStream`` step 0), the recipe's sampler and row seeds
(``trainer.rollout.collect``), the same advantages and row filtering (``trainer.loop``). Its
hash covers every tensor an estimator sees, so two lab runs (or a lab run and a training log)
can show they measured the same rollouts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from harness.eval.prompts import prompt_family
from trainer.config import TrainConfig
from trainer.estimators.base import TrainBatch
from trainer.rollout import Rollout, collect, write_rollout


@dataclass
class LabBatch:
    rollout: Rollout
    batch: TrainBatch
    task: Any
    examples: list[Any]  # the batch's prompts' items, in prompt order
    item_ids: list[int]
    template: str
    hash: str


def batch_hash(batch: TrainBatch) -> str:
    """sha256 over every field of the batch (shape, dtype and bytes), in field order."""
    h = hashlib.sha256()
    for name in batch.__dataclass_fields__:
        t = getattr(batch, name).detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def fixed_batch(lm: Any, cfg: TrainConfig, say: Any = print) -> LabBatch:
    """Decode and grade step 0's prompts with the recipe's sampler; the trainer's training batch."""
    from trainer.batching import ItemStream
    from trainer.loop import _training_batch, load_training_data

    task, examples = load_training_data(cfg, say)
    idx = ItemStream(len(examples), cfg.rollout.prompts_per_step, cfg.run.seed).global_indices(0)
    items = [examples[i] for i in idx]
    template = prompt_family(cfg.data.template, lm)
    roll = collect(lm, task, items, idx, template, cfg, step=0)
    device = next(lm.net.parameters()).device
    # the loop's own batch builder (advantages, group filter, zero-advantage rows), for a one-process run
    run = SimpleNamespace(cfg=cfg, acc=SimpleNamespace(device=device, process_index=0), lm=lm, step=0)
    batch, _ = _training_batch(run, roll)
    return LabBatch(roll, batch, task, items, idx, template, batch_hash(batch))


def batch_record(lb: LabBatch, out: Path) -> dict[str, Any]:
    """Write ``rollouts.jsonl`` (every completion, step map, token probs, reward) into ``out`` and
    return the batch's summary for ``lab.json``."""
    write_rollout(lb.rollout, out / "rollouts.jsonl")
    b = lb.batch
    steps = torch.where(b.valid, b.step_map, -1).max(1).values + 1
    rewards = lb.rollout.rewards
    return {
        "hash": lb.hash,
        "rollouts_file": "rollouts.jsonl",
        "prompts": len(lb.item_ids),
        "rows": b.size,
        "trainable_rows": int(b.trainable.sum()),
        "completion_length": b.length,
        "valid_tokens_mean": float(b.valid.sum(1).float().mean()),
        "decode_steps_mean": float(steps.float().mean()),
        "decode_steps_min": int(steps.min()),
        "reward_mean": float(rewards[~torch.isnan(rewards)].mean()) if bool((~torch.isnan(rewards)).any()) else None,
        "advantages": [round(float(a), 6) for a in b.advantages],
        "sample_ids": b.sample_ids.tolist(),
    }
