"""The RL loop, top to bottom: rollout -> verify -> advantages -> estimator -> loss -> step.

    rldf train --config configs/train/tiny_arith.yaml --out runs/rldf [--set run.max_steps=50] [--resume]
    accelerate launch --config_file configs/accelerate/fsdp.yaml -m harness.cli train --config ... --out ...

Every random choice is seeded from (run.seed, purpose, step, item, rank-independent ids), so a
run resumed from its latest checkpoint repeats a straight run exactly and N processes see the
same global batches as one. Checkpoints carry model (HF format, or a LoRA adapter directory),
optimizer, scheduler and RNG states and are written atomically; a non-finite loss, gradient or
reward stops the run with the last good checkpoint kept, and a first update that leaves the
weights unchanged stops it too (trainer/precision.py).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from harness.config_io import config_to_dict
from harness.errors import UserError
from harness.eval.prompts import prompt_family
from harness.io import atomic_write_json, atomic_write_text
from harness.models.base import DiffusionLM
from harness.seeds import generator
from tasks.base import Example, Task
from trainer import rollout as rollout_mod
from trainer.advantages import filter_groups
from trainer.batching import ItemStream
from trainer.checkpoint import CheckpointManager
from trainer.config import TrainConfig
from trainer.estimators import Estimator, RowRNG, get_estimator
from trainer.lora import AdaptersOff, add_lora
from trainer.metrics_log import MetricsLog, step_record
from trainer.optim import build_optimizer, build_scheduler
from trainer.parallel import Runtime, setup_runtime
from trainer.precision import UpdateProbe, check_updates_applied
from trainer.training_data import training_items
from trainer.update import NonFiniteError, run_update


@dataclass
class TrainSummary:
    steps: int
    train_seconds: float
    checkpoint: str | None
    last_eval: dict[str, Any] | None
    stopped: str  # "max_steps" | "max_seconds"


def load_training_data(cfg: TrainConfig, log: Any) -> tuple[Any, list]:
    """The reward task and its training items, minus anything that appears in an eval set."""
    return training_items(cfg.data.task, cfg.data.split, cfg.data.source, cfg.data.n,
                          [*cfg.data.eval_sets, *cfg.eval.tasks], cfg.data.allow_contaminated, log)


def train(cfg: TrainConfig, out_dir: str | Path, resume: bool = False, quiet: bool = False) -> TrainSummary:
    """Run (or resume) RL training; returns a summary. Rank 0 writes logs and checkpoints."""
    run = _setup(cfg, Path(out_dir), resume, quiet)
    if resume:
        _restore(run)
    elif run.main:
        run.metrics.truncate_after(-1)
    if cfg.eval.at_start and run.step == 0 and cfg.eval.tasks:
        _evaluate_and_log(run)
    bar = _progress(run.main and not quiet, cfg.run.max_steps, run.step)
    try:
        stopped = _run_steps(run, bar)
    except NonFiniteError as exc:
        raise UserError(
            f"step {run.step + 1}: {exc}; the run stopped without saving this step. Last good checkpoint: "
            f"{run.ckpt.latest() or 'none'}; lower optim.lr or raise loss.beta and resume with --resume"
        ) from exc
    finally:
        if bar is not None:
            bar[0].stop()
    if cfg.eval.tasks and cfg.eval.at_end and (run.last_eval is None or run.last_eval.get("step") != run.step):
        _evaluate_and_log(run)
    path = _save(run)
    run.say(f"done: {run.step} steps in {run.train_seconds:.1f}s of training; checkpoint {path}")
    return TrainSummary(run.step, run.train_seconds, str(path), run.last_eval, stopped)


@dataclass
class _Run:
    """Everything one training run holds (built by ``_setup``) and where it stands."""

    cfg: TrainConfig
    out: Path
    acc: Any  # accelerate.Accelerator
    runtime: Runtime
    lm: DiffusionLM  # the policy as trained (float32 master weights or LoRA adapters)
    policy: DiffusionLM  # what rollouts and evaluations decode with
    ref_lm: DiffusionLM | None
    task: Task
    examples: list[Example]
    template: str
    estimator: Estimator
    train_net: torch.nn.Module  # wrapped (DDP) or sharded (FSDP2)
    optimizer: torch.optim.Optimizer
    scheduler: Any
    ckpt: CheckpointManager
    metrics: MetricsLog
    stream: ItemStream
    say: Callable[[str], None]
    step: int = 0
    train_seconds: float = 0.0
    last_eval: dict[str, Any] | None = None
    guarded: bool = False  # the precision guard has checked a step with a gradient

    @property
    def main(self) -> bool:
        return self.acc.is_main_process


def _setup(cfg: TrainConfig, out: Path, resume: bool, quiet: bool) -> _Run:
    """Accelerator, policy (+ reference), data, optimizer, sharding, checkpoints, logs."""
    from accelerate import Accelerator

    from harness.models.loading import parse_dtype

    acc = Accelerator(mixed_precision=cfg.run.mixed_precision, step_scheduler_with_optimizer=False)

    def say(msg: str) -> None:
        if acc.is_main_process and not quiet:
            print(f"[rldf train] {msg}", flush=True)

    _check_out_dir(out, cfg, resume, acc.is_main_process)
    acc.wait_for_everyone()
    torch.manual_seed(cfg.run.seed)
    runtime = setup_runtime(acc, cfg.run.mixed_precision)
    lm = _trainable_model(cfg, acc.device)
    task, examples = load_training_data(cfg, say)
    ref_lm = None
    if cfg.loss.beta > 0:  # LoRA: the same network with its adapters off; else a frozen copy
        ref_lm = replace(lm, net=AdaptersOff(lm.net) if cfg.model.lora else _frozen_copy(cfg, acc.device))
    lm.net.train()
    total_updates = cfg.run.max_steps * cfg.loss.num_iterations
    train_net, optimizer, scheduler = runtime.prepare(
        lm.net, lambda net: build_optimizer(net, cfg.optim),
        lambda opt: build_scheduler(opt, cfg.optim, total_updates))
    return _Run(
        cfg=cfg, out=out, acc=acc, runtime=runtime, lm=lm,
        policy=runtime.rollout_view(lm, lambda: _frozen_copy(cfg, acc.device)), ref_lm=ref_lm, task=task,
        examples=examples, template=prompt_family(cfg.data.template, lm), estimator=get_estimator(cfg.estimator.name),
        train_net=train_net, optimizer=optimizer, scheduler=scheduler,
        ckpt=CheckpointManager(runtime, out, keep_best=cfg.run.keep_best,
                               export_dtype=parse_dtype(cfg.model.dtype) or torch.float32),
        metrics=MetricsLog(out / "metrics.jsonl", enabled=acc.is_main_process,
                           tensorboard_dir=out / "tensorboard" if cfg.run.tensorboard else None),
        stream=ItemStream(len(examples), cfg.rollout.prompts_per_step, cfg.run.seed), say=say,
    )


def _restore(run: _Run) -> None:
    """Continue from the latest checkpoint, if any: weights, optimizer, schedule, RNG, position."""
    path = run.ckpt.latest()
    if path is None:
        run.say("no checkpoint found; starting from scratch")
        return
    state = run.ckpt.load(path, run.optimizer, run.scheduler)
    run.step, run.train_seconds = int(state["step"]), float(state.get("train_seconds", 0.0))
    run.last_eval = state.get("last_eval")
    if run.main:
        run.metrics.truncate_after(run.step)
    run.say(f"resumed from {path} at step {run.step}")


def _run_steps(run: _Run, bar: Any) -> str:
    """Train until ``run.max_steps`` or the wall budget; evaluate and checkpoint on schedule."""
    cfg = run.cfg
    every_s = cfg.eval.every_seconds
    next_timed_eval = (int(run.train_seconds // every_s) + 1) * every_s if every_s else None
    while run.step < cfg.run.max_steps:
        if cfg.run.max_seconds is not None and run.train_seconds >= cfg.run.max_seconds:
            return "max_seconds"
        record = _train_step(run)
        if run.step % cfg.run.log_every == 0 or run.step == cfg.run.max_steps:
            run.metrics.log(run.step, record)
        if bar is not None:
            bar[0].update(bar[1], advance=1, description=f"train r={record['reward_mean']:.3f}")
        timed = next_timed_eval is not None and run.train_seconds >= next_timed_eval
        if cfg.eval.tasks and ((cfg.eval.every and run.step % cfg.eval.every == 0) or timed):
            _evaluate_and_log(run)
        if timed:
            next_timed_eval = (int(run.train_seconds // every_s) + 1) * every_s
        if cfg.run.save_every and run.step % cfg.run.save_every == 0:
            _save(run)
    return "max_steps"


def _train_step(run: _Run) -> dict[str, Any]:
    """One step: rollout -> verify -> advantages -> estimator plans -> update; returns its log record."""
    cfg, acc, step = run.cfg, run.acc, run.step
    t_step = time.perf_counter()
    # 1. rollout: this process's prompts, G completions each, graded once
    idx = run.stream.rank_indices(step, acc.process_index, acc.num_processes)
    run.runtime.sync_rollout_weights()
    with run.runtime.rollout_precision():
        roll = rollout_mod.collect(run.policy, run.task, [run.examples[i] for i in idx], idx, run.template, cfg, step)
    if cfg.run.log_rollouts:
        rollout_mod.write_rollout(roll, run.out / "rollouts" / f"step-{step + 1:06d}.rank{acc.process_index}.jsonl")
    if not torch.isfinite(roll.rewards[~torch.isnan(roll.rewards)]).all():
        raise NonFiniteError("non-finite reward from the verifier")
    # 2. advantages (group-relative) and the samples that are trained on
    batch, advantages = _training_batch(run, roll)
    # 3. estimator: which noisy inputs to score, which positions get loss
    est = run.estimator
    plans = est.plan(batch, cfg.estimator, RowRNG(cfg.run.seed, step, batch.sample_ids))
    # 4-5. loss, backward per forward, one optimizer step (per PPO iteration)
    t_update = time.perf_counter()
    # DeepSpeed holds its float32 master weights inside its optimizer: nothing to probe
    probe = UpdateProbe(run.train_net, run.optimizer) if not run.guarded and run.runtime.strategy != "deepspeed" else None
    stats = run_update(
        run.lm, run.train_net, run.ref_lm, batch, plans, est, cfg, run.runtime, run.optimizer, run.scheduler,
        replan=lambda it: est.plan(batch, cfg.estimator, RowRNG(cfg.run.seed, step, batch.sample_ids, f"plan-iter{it}")),
    )
    run.runtime.rollout_stale = True
    if probe is not None and stats.grad_norm > 0:  # the first step that had a gradient
        check_updates_applied(probe.changed_fraction(run.runtime.sum), probe.dtypes, cfg.optim.lr,
                              cfg.run.mixed_precision)
        run.guarded = True
    run.step += 1
    elapsed = time.perf_counter() - t_step
    run.train_seconds += elapsed
    return step_record(roll, batch, advantages, plans, stats, acc, run.scheduler, run.train_seconds, elapsed,
                       time.perf_counter() - t_update)


def _training_batch(run: _Run, roll: Any) -> tuple[Any, torch.Tensor]:
    """The rollout as a training batch, after group filtering and (optionally) dropping samples
    without advantage; also every sample's advantage, for the log."""
    cfg, acc = run.cfg, run.acc
    batch = rollout_mod.to_train_batch(roll, run.lm, cfg, acc.device)
    if cfg.advantage.max_groups is not None:
        steps_per_sample = torch.where(batch.valid, batch.step_map, -1).max(1).values + 1
        keep = filter_groups(roll.rewards, roll.groups, steps_per_sample.cpu(), cfg.advantage.max_groups,
                             generator(cfg.run.seed, "filter", run.step, acc.process_index))
        rows = torch.nonzero(torch.isin(batch.groups.cpu(), torch.tensor(keep))).squeeze(1)
        batch = batch.select(rows.to(acc.device))
    advantages = batch.advantages
    if cfg.advantage.skip_zero_advantage and cfg.loss.beta == 0 and cfg.loss.entropy_coeff == 0:
        informative = torch.nonzero(batch.advantages != 0).squeeze(1)
        if 0 < informative.numel() < batch.size:
            batch = batch.select(informative)
    return batch, advantages


def _trainable_model(cfg: TrainConfig, device: Any) -> Any:
    """The policy: float32 master weights, or with ``model.lora`` a base frozen in ``model.dtype``
    under float32 adapters. Activation checkpointing is switched on before adapters wrap it."""
    from harness.models import load_model
    from harness.models.base import enable_activation_checkpointing

    dtype = cfg.model.dtype if cfg.model.lora else torch.float32
    lm = load_model(cfg.model.path, device=device, dtype=dtype, trust_remote_code=cfg.model.trust_remote_code)
    if cfg.model.gradient_checkpointing:
        enable_activation_checkpointing(lm.net)
    if cfg.model.lora:
        lm.net.requires_grad_(False)
        add_lora(lm, cfg.model.lora, cfg.model.path)
    return lm


def _frozen_copy(cfg: TrainConfig, device: Any) -> torch.nn.Module:
    """The starting weights in ``model.dtype``, without gradients: the KL reference, or the
    rollout copy under FSDP (overwritten from the shards before each use)."""
    from harness.models import load_model

    lm = load_model(cfg.model.path, device=device, dtype=cfg.model.dtype, trust_remote_code=cfg.model.trust_remote_code)
    if cfg.model.lora:  # the rollout copy needs the adapters' structure to receive their values
        add_lora(lm, cfg.model.lora, cfg.model.path)
    return lm.net.requires_grad_(False).eval()


def _save(run: _Run) -> Path:
    last = run.last_eval
    metric = last["accuracy"] if last and last.get("step") == run.step else None
    state = {"train_seconds": run.train_seconds, "last_eval": last, "config": config_to_dict(run.cfg)}
    return run.ckpt.save(run.step, run.optimizer, run.scheduler, run.lm.tokenizer, state, metric)


def _evaluate_and_log(run: _Run) -> None:
    run.last_eval = _evaluate(run.policy, run.runtime, run.cfg, run.out, run.step, run.say)
    run.metrics.log(run.step, {"eval_accuracy": run.last_eval["accuracy"], "time": run.train_seconds})


_EVAL_ITEMS: dict[tuple[str, str | None], list] = {}  # (task, RLDF_DATA_DIR) -> its default split


def _evaluate(policy, runtime, cfg, out, step, say) -> dict[str, Any]:
    """Evaluate the live policy on ``eval.tasks`` under ``eval.protocol``; mean accuracy."""
    from harness.eval import evaluate_task
    from harness.eval.identity import state_hash
    from tasks import get_task

    if not cfg.eval.protocol:
        raise UserError("eval.tasks is set but eval.protocol is not; set eval.protocol (e.g. rldf-tiny)")
    runtime.sync_rollout_weights()
    was = policy.net.training
    policy.net.eval()
    accs, per_task = [], {}
    weights = state_hash(policy.net)  # the live weights, not the checkpoint the run started from
    for name in cfg.eval.tasks:
        key = (name, os.environ.get("RLDF_DATA_DIR"))
        if key not in _EVAL_ITEMS:  # load each eval set once per process
            task = get_task(name)
            _EVAL_ITEMS[key] = task.load(split=task.default_split)
        with runtime.rollout_precision():
            res = evaluate_task(
                policy, name, cfg.eval.protocol, out / "eval" / f"step-{step:06d}" / name, limit=cfg.eval.limit,
                seed=cfg.run.seed, model_id=f"{Path(cfg.model.path).name}@step{step}", weights_hash=weights,
                examples=_EVAL_ITEMS[key], model_meta={"method": cfg.estimator.name, "step": step}, progress=False,
            )
        accs.append(res.metrics["accuracy"].value)
        per_task[name] = res.metrics["accuracy"].value
    policy.net.train(was)
    mean = sum(accs) / len(accs)
    say(f"step {step}: eval accuracy {mean:.4f} {per_task}")
    return {"step": step, "accuracy": mean, "tasks": per_task}


def _check_out_dir(out: Path, cfg: TrainConfig, resume: bool, main: bool) -> None:
    saved = out / "config.json"
    if main:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create output directory {out}: {exc.strerror}") from exc
    current = json.loads(json.dumps(config_to_dict(cfg)))  # tuples -> lists, as saved
    if saved.exists():
        old = json.loads(saved.read_text())
        ignore = ("max_steps", "max_seconds", "log_every", "save_every", "log_rollouts")
        strip = lambda d: {**d, "run": {k: v for k, v in d.get("run", {}).items() if k not in ignore}}  # noqa: E731
        if not resume and (out / "checkpoints").exists():
            raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
        if resume and strip(old) != strip(current):
            raise UserError(f"{saved}: the run was started with a different config; resume with the same settings")
    if main:
        atomic_write_json(saved, current)
        import yaml

        atomic_write_text(out / "config.yaml", yaml.safe_dump(current, sort_keys=False))


def _progress(enabled: bool, total: int, done: int):
    if not enabled:
        return None
    from harness.progress import progress_bar

    bar = progress_bar(unit="step")
    task = bar.add_task("train", total=total, completed=done)
    bar.start()
    return bar, task
