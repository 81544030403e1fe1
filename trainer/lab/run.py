"""``rldf lab estimators``: measure every estimator's gradient on one fixed rollout batch.

Top to bottom: load the policy -> decode and record the fixed batch (``trainer.lab.batch``) ->
the reference gradient (``trace`` over every decoding step, each committed token scored under
the state it was committed from; deterministic) -> per variant, R draws through the trainer's
update (``trainer.lab.gradients``) reduced into running sums (``trainer.lab.sums``) -> metrics
with bootstrap CIs (``trainer.lab.metrics``) -> one small step along the variant's mean
gradient, re-decoded (``trainer.lab.usefulness``) -> ``lab.json`` (written atomically).

A variant whose R plans are all the same (a deterministic estimator: trace, all_masking) is
differentiated once and that gradient stands for every draw (trace's is the reference itself);
its cost per draw is the measured cost of that one computation. Plans are compared before any
forward, so no gradient is kept just in case.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.config_io import config_to_dict
from harness.io import atomic_write_json
from harness.progress import progress_bar
from trainer.estimators import get_estimator
from trainer.estimators.base import ForwardPlan
from trainer.lab.batch import LabBatch, batch_record, fixed_batch
from trainer.lab.gradients import Draw, plan_draw, policy_gradient
from trainer.lab.metrics import gradient_metrics
from trainer.lab.options import LabSettings
from trainer.lab.sums import CountSketch, RunningSums, dot
from trainer.lab.usefulness import WeightSnapshot, sample_rewards, usefulness
from trainer.lab.variants import Variant

SCHEMA = "rldf.lab.estimators/1"


def plan_fingerprint(plans: list[ForwardPlan]) -> str:
    """A hash of everything a list of forwards decides (masks, loss positions, weights, steps)."""
    h = hashlib.sha256()
    for p in plans:
        for name in ("mask_completion", "loss_mask", "keep_mask", "active", "mask_prompt", "weight", "steps"):
            t = getattr(p, name)
            h.update(name.encode() + (b"-" if t is None else t.detach().cpu().contiguous().numpy().tobytes()))
    return h.hexdigest()


class Lab:
    """The loaded policy, the fixed batch, the reference gradient and the weights to return to."""

    def __init__(self, lm: Any, lb: LabBatch, cfg: Any, settings: LabSettings, runtime: Any) -> None:
        self.lm, self.lb, self.cfg, self.settings, self.runtime = lm, lb, cfg, settings, runtime
        self.sketch = CountSketch(settings.sketch_dim, cfg.run.seed)
        ref_cfg = replace(cfg, estimator=replace(cfg.estimator, name="trace", trace=replace(cfg.estimator.trace, shrink=1)))
        trace = get_estimator("trace")
        ref_plans = plan_draw(trace, lb.batch, ref_cfg, 0)
        self.reference_plan = plan_fingerprint(ref_plans)
        self.reference = self.gradient(trace, ref_cfg, ref_plans)
        self.snapshot = WeightSnapshot(lm.net) if settings.samples > 0 else None
        self.base_rewards = sample_rewards(lm, lb, cfg, settings.samples) if self.snapshot else None
        self._reference_usefulness: dict[str, Any] | None = None

    def gradient(self, estimator: Any, cfg: Any, plans: list[ForwardPlan]) -> Draw:
        return policy_gradient(self.lm, self.lm.net, None, self.lb.batch, plans, estimator, cfg, self.runtime)

    def measure(self, variant: Variant, advance: Any = lambda: None) -> dict[str, Any]:
        """R draws of ``variant`` -> metrics, plus usefulness of its mean direction."""
        est = get_estimator(variant.name)
        sums = RunningSums(self.reference.grads, self.sketch)
        plans = [plan_draw(est, self.lb.batch, variant.cfg, r) for r in range(self.settings.draws)]  # masks only
        prints = [plan_fingerprint(p) for p in plans]
        deterministic = len(set(prints)) == 1  # then one backward stands for every draw
        is_reference = deterministic and variant.name == "trace" and prints[0] == self.reference_plan
        fixed = (self.reference if is_reference else self.gradient(est, variant.cfg, plans[0])) if deterministic else None
        for r in range(self.settings.draws):
            draw = fixed if fixed is not None else self.gradient(est, variant.cfg, plans[r])
            sums.add(draw.grads, draw.forwards, draw.seconds)
            advance()
        summary = sums.summary()
        out = {"label": variant.label, "name": variant.name, "overrides": variant.overrides, "aliases": variant.aliases,
               "estimator_config": config_to_dict(variant.cfg.estimator),
               "distinct_plans": len(set(prints)),
               "grad_norm_mean": float(np.sqrt(summary["total_sq"])) / sums.draws,
               "metrics": gradient_metrics(summary, self.settings.n_boot, self.cfg.run.seed)}
        # the step is normalised: the sum's direction is the mean's
        out["usefulness"] = self.reference_usefulness() if is_reference else self.usefulness(sums.total)
        return out

    def reference_usefulness(self) -> dict[str, Any] | None:
        """Usefulness of the reference direction, measured once."""
        if self._reference_usefulness is None:
            self._reference_usefulness = self.usefulness(self.reference.grads)
        return self._reference_usefulness

    def usefulness(self, direction: list[torch.Tensor]) -> dict[str, Any] | None:
        if self.snapshot is None:
            return None
        sides = []
        for sign in (1.0, -1.0):  # down the loss (up the reward), then the opposite way
            with self.snapshot.moved(direction, sign * self.settings.step_size):
                sides.append(sample_rewards(self.lm, self.lb, self.cfg, self.settings.samples))
        return usefulness(sides[0], sides[1], self.base_rewards, self.settings.step_size, self.settings.n_boot)


def machine() -> dict[str, Any]:
    """Where the numbers were measured (costs depend on it)."""
    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def run_lab(cfg: Any, variants: list[Variant], settings: LabSettings, out: Path, recipe: str,
            quiet: bool = False, command: list[str] | None = None) -> dict[str, Any]:
    """The whole lab run; writes ``out/lab.json`` and ``out/rollouts.jsonl``, returns the record."""
    from accelerate import Accelerator

    from harness.eval.identity import git_sha, now_iso, packages, state_hash
    from trainer.parallel import setup_runtime

    started, t0, mach = now_iso(), time.perf_counter(), machine()
    say = (lambda msg: None) if quiet else (lambda msg: print(f"[rldf lab] {msg}", flush=True))
    lm = load_policy(cfg)
    lb = fixed_batch(lm, cfg, say)
    if not bool((lb.batch.advantages[lb.batch.trainable] != 0).any()):
        from harness.errors import UserError

        raise UserError(f"the fixed batch ({lb.batch.size} rollouts, reward {float(lb.rollout.rewards.nanmean()):.3f}) has "
                        "no reward variance within any group, so every policy gradient is zero; raise --prompts or "
                        "--group, or use a model that sometimes succeeds (random weights never do)")
    out.mkdir(parents=True, exist_ok=True)
    batch = batch_record(lb, out)
    say(f"fixed batch {lb.hash[:12]}: {batch['rows']} rollouts, reward {batch['reward_mean']}, "
        f"{batch['decode_steps_mean']:.1f} decoding steps per completion")
    runtime = setup_runtime(Accelerator(cpu=not torch.cuda.is_available()), "no")
    lab = Lab(lm, lb, cfg, settings, runtime)
    ref_use = lab.reference_usefulness()
    results = []
    with progress_bar("draw", transient=quiet) as bar:
        task = bar.add_task("estimator draws", total=settings.draws * len(variants))
        for v in variants:
            bar.update(task, description=v.label)
            results.append(lab.measure(v, lambda: bar.advance(task)))
    record = {
        "schema": SCHEMA, "command": command, "recipe": recipe,
        "model": {"path": cfg.model.path, "weights_hash": state_hash(lm.net), "family": lm.family,
                  "parameters": sum(p.numel() for p in lm.net.parameters() if p.requires_grad)},
        "task": {"name": cfg.data.task, "split": cfg.data.split},
        "settings": {**asdict(settings), "config": config_to_dict(cfg)}, "batch": batch,
        "reference": {"estimator": "trace", "shrink": 1, "forwards": lab.reference.forwards,
                      "seconds": lab.reference.seconds, "grad_norm": float(np.sqrt(dot(lab.reference.grads,
                                                                                        lab.reference.grads))),
                      "usefulness": ref_use},
        "base_reward": None if lab.base_rewards is None else float(np.nanmean(lab.base_rewards)),
        "estimators": results, "machine": mach, "wall_seconds": time.perf_counter() - t0,
        "git_sha": git_sha(), "packages": packages(), "started_at": started, "finished_at": now_iso(),
    }
    atomic_write_json(out / "lab.json", record)
    say(f"wrote {out / 'lab.json'} ({record['wall_seconds']:.0f}s)")
    return record


def load_policy(cfg: Any) -> Any:
    """The recipe's model in its storage dtype (gradients only: no float32 master copy), in train mode."""
    from harness.models import load_model
    from harness.models.base import enable_activation_checkpointing
    from harness.models.loading import parse_dtype

    device = "cuda" if torch.cuda.is_available() else "cpu"
    lm = load_model(cfg.model.path, device=device, dtype=parse_dtype(cfg.model.dtype),
                    trust_remote_code=cfg.model.trust_remote_code)
    if cfg.model.gradient_checkpointing:
        enable_activation_checkpointing(lm.net)
    lm.net.train()
    return lm
