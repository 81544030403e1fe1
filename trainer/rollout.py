"""Rollouts: G completions per prompt through the decoding engine, graded once.

The policy decodes with the protocol-grade decoder (``harness.decoding``), so the trajectory
the estimators replay (``step_map``) and the probabilities they weight steps by
(``token_probs``) are recorded for LLaDA and Dream alike. Rewards are computed exactly once per
completion (the reference computes them twice); ``None`` verdicts (unscorable) become NaN and
are excluded downstream. Each row samples from its own generator seeded by (seed, step, item,
sample), so rollouts do not depend on batch composition, process count or resumption.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.decoding import Generation, decode
from harness.io import atomic_write_text
from harness.models.base import DiffusionLM
from harness.padding import left_pad
from harness.seeds import derive_seed
from tasks.base import Example, Task
from trainer.advantages import group_advantages
from trainer.config import TrainConfig
from trainer.estimators.base import TrainBatch
from trainer.schedules import valid_positions


@dataclass
class Rollout:
    """Completions of one process's prompts for one step (row = prompt index * G + sample)."""

    generation: Generation
    rewards: torch.Tensor  # [N] float, NaN = unscorable
    groups: torch.Tensor  # [N] long, global item index of the prompt
    sample_ids: torch.Tensor  # [N] long, item * G + j
    verdicts: list[Any]
    decode_seconds: float
    reward_seconds: float


def collect(
    lm: DiffusionLM, task: Task, examples: list[Example], item_ids: list[int], template: str, cfg: TrainConfig,
    step: int
) -> Rollout:
    """Decode ``cfg.rollout.group_size`` completions for each example and grade them."""
    g = cfg.rollout.group_size
    prompts, seeds, groups, sample_ids, rows_examples = [], [], [], [], []
    for ex, item in zip(examples, item_ids):
        text = task.format_prompt(ex, template)
        for j in range(g):
            prompts.append(text)
            seeds.append(derive_seed(cfg.run.seed, "rollout", step, item, j))
            groups.append(item)
            sample_ids.append(item * g + j)
            rows_examples.append(ex)
    t0 = time.perf_counter()
    was_training = lm.net.training
    lm.net.eval()
    gen = decode(lm, prompts, cfg.rollout.sampler, batch_size=cfg.rollout.batch_size, row_seeds=seeds)
    lm.net.train(was_training)
    t1 = time.perf_counter()
    verdicts = task.verify_many(gen.text, rows_examples)
    rewards = torch.tensor([float("nan") if v.score is None else float(v.score) for v in verdicts])
    return Rollout(gen, rewards, torch.tensor(groups), torch.tensor(sample_ids), verdicts, t1 - t0,
                   time.perf_counter() - t1)


def write_rollout(roll: Rollout, path: Path) -> None:
    """One JSON line per completion: what the policy wrote, how it was decoded, its reward.

    For auditing a run (``run.log_rollouts``) and for checking that sharded rollouts equal
    single-process ones; each process writes its own file, rows keyed by ``sample_id``.
    """
    gen = roll.generation
    rows = []
    for i in range(len(gen)):
        n = int(gen.gen_tokens[i])
        reward = float(roll.rewards[i])
        rows.append(json.dumps({
            "sample_id": int(roll.sample_ids[i]), "group": int(roll.groups[i]), "text": gen.text[i],
            "reward": None if math.isnan(reward) else reward, "nfe": int(gen.nfe[i]), "gen_tokens": n,
            "completion_ids": gen.completion_ids[i].tolist(), "step_map": gen.step_map[i].tolist(),
            "token_probs": [round(float(p), 6) for p in gen.token_probs[i]],
        }))
    atomic_write_text(path, "\n".join(rows) + "\n")


def to_train_batch(roll: Rollout, lm: DiffusionLM, cfg: TrainConfig, device: torch.device | str) -> TrainBatch:
    """Left-pad prompts, mark valid positions, compute group advantages."""
    gen = roll.generation
    length = gen.completion_ids.shape[1]
    prompt, attn = left_pad(gen.prompt_ids, lm.pad_id)
    valid = valid_positions(gen.gen_tokens, length, cfg.estimator.train_on_stop)
    adv = group_advantages(roll.rewards, roll.groups, cfg.advantage.scale_by_std, cfg.advantage.std_floor)
    trainable = ~torch.isnan(roll.rewards) & valid.any(1)
    batch = TrainBatch(
        prompt=prompt, prompt_attn=attn, completion=gen.completion_ids, step_map=gen.step_map,
        token_probs=gen.token_probs, valid=valid, advantages=adv, trainable=trainable, groups=roll.groups,
        sample_ids=roll.sample_ids,
    )
    return TrainBatch(**{k: getattr(batch, k).to(device) for k in batch.__dataclass_fields__})
