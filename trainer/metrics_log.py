"""Training metrics as JSONL (one line per step), resumable, with optional TensorBoard.

On resume the file is cut back to the checkpoint's step, so a resumed run's log is identical
to a straight run's. Values are plain floats; non-finite values are written as null.
``step_record`` says what one RL step logs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from harness.io import append_jsonl, atomic_write_text, read_jsonl


class MetricsLog:
    """Appends ``{"step": s, ...}`` records to ``path`` (rank 0 only)."""

    def __init__(self, path: str | Path, enabled: bool = True, tensorboard_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._tb = None
        if enabled and tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:  # tensorboard is optional
                raise RuntimeError("logging.tensorboard is on but the tensorboard package is not installed") from exc
            self._tb = SummaryWriter(str(tensorboard_dir))

    def truncate_after(self, step: int) -> None:
        """Drop records with ``step`` > the given step (used when resuming)."""
        if not self.enabled or not self.path.exists():
            return
        keep = [r for r in read_jsonl(self.path) if int(r.get("step", -1)) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def log(self, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        rec: dict[str, Any] = {"step": step}
        for k, v in values.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            rec[k] = v
        append_jsonl(self.path, [rec])
        if self._tb is not None:
            for k, v in rec.items():
                if isinstance(v, (int, float)) and k != "step":
                    self._tb.add_scalar(k, v, step)

    def records(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.path)) if self.path.exists() else []


def step_record(roll: Any, batch: Any, advantages: torch.Tensor, plans: list, stats: Any, acc: Any, scheduler: Any,
                train_seconds: float, elapsed: float, update_seconds: float) -> dict[str, Any]:
    """What one step logs: rewards, advantages, loss parts, positions, steps, timings."""
    r = roll.rewards[~torch.isnan(roll.rewards)]
    groups = roll.groups
    best = [float(roll.rewards[groups == g].nan_to_num(0).max()) for g in torch.unique(groups)]
    gen = roll.generation
    chosen = [int(s) for p in plans if p.steps is not None for s in p.steps[p.active].tolist()]
    record = {
        "time": train_seconds,
        "step_seconds": elapsed,
        "rollout_seconds": roll.decode_seconds,
        "reward_seconds": roll.reward_seconds,
        "update_seconds": update_seconds,
        "reward_mean": float(r.mean()) if r.numel() else None,
        "reward_std": float(r.std()) if r.numel() > 1 else 0.0,
        "reward_task": sum(best) / len(best),
        "unscorable": int(torch.isnan(roll.rewards).sum()),
        "adv_abs_mean": float(advantages.abs().mean()),
        "zero_adv_frac": float((advantages == 0).float().mean()),
        "trained_samples": batch.size,
        "loss": stats.loss,
        "pg_loss": stats.pg_loss,
        "kl": stats.kl,
        "entropy": stats.entropy,
        "clip_frac": stats.clip_frac,
        "effective_positions": stats.effective_positions,
        "grad_norm": stats.grad_norm,
        "forwards": stats.forwards,
        "rollout_logp_gap": stats.rollout_logp_gap,
        "chosen_steps": chosen[:64],
        "traj_steps_mean": float((torch.where(batch.valid, batch.step_map, -1).max(1).values + 1).float().mean()),
        "nfe_mean": float(gen.nfe.float().mean()),
        "gen_tokens_mean": float(gen.gen_tokens.float().mean()),
        "lr": float(scheduler.get_last_lr()[0]),
    }
    if acc.num_processes > 1:
        for key in ("reward_mean", "reward_task", "adv_abs_mean", "loss", "traj_steps_mean", "nfe_mean",
                    "gen_tokens_mean", "zero_adv_frac"):
            if record[key] is not None:
                t = torch.tensor([record[key]], device=acc.device)
                record[key] = float(acc.reduce(t, reduction="mean").item())
    return record
