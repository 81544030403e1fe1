"""The SFT loop: batches of (prompt, gold completion) -> masked-diffusion loss -> step.

Shares the RL loop's machinery: accelerate for data parallelism, ``ItemStream`` for a data order
that is a function of (seed, step), atomic checkpoints with full state, JSONL metrics that are
cut back on resume, periodic evaluation through ``harness.eval.evaluate_task`` and a wall-clock
budget (used by the demo's "continued SFT" control arm).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.config_io import config_to_dict
from harness.errors import UserError
from harness.io import atomic_write_json
from harness.models.loading import parse_dtype
from harness.seeds import generator
from trainer.batching import ItemStream
from trainer.checkpoint import CheckpointManager
from trainer.metrics_log import MetricsLog
from trainer.optim import build_optimizer, build_scheduler
from trainer.parallel import setup_runtime
from trainer.sft import SFTConfig, build_pairs, collate, sft_loss
from trainer.training_data import training_items


@dataclass
class SFTSummary:
    steps: int
    train_seconds: float
    checkpoint: str
    last_eval: dict[str, Any] | None


def _init_model(cfg: SFTConfig, device: Any) -> Any:
    """The model to train, as float32 master weights (``model.dtype`` is the export dtype)."""
    from harness.models import load_model

    if cfg.model.path is not None:
        return load_model(cfg.model.path, device=device, dtype=torch.float32)
    import tempfile

    from harness.models.tiny import make_tiny_checkpoint

    spec = dict(cfg.model.init or {})
    family = spec.pop("family", "llada")
    with tempfile.TemporaryDirectory() as tmp:
        path = make_tiny_checkpoint(tmp, family, seed=cfg.run.seed, **spec)
        lm = load_model(path, device=device, dtype=torch.float32)
    lm.path, lm.name = None, f"{family}-init"
    return lm


def _pairs(cfg: SFTConfig, lm: Any, say: Any) -> tuple[Any, list]:
    task, examples = training_items(cfg.data.task, cfg.data.split, cfg.data.source, cfg.data.n, cfg.data.eval_sets,
                                    say=say)
    return task, build_pairs(lm, examples, task, cfg.data.template, cfg.data.gen_length)


def train_sft(cfg: SFTConfig, out_dir: str | Path, resume: bool = False, quiet: bool = False) -> SFTSummary:
    """Run (or resume) masked-diffusion SFT; returns a summary."""
    from accelerate import Accelerator

    out = Path(out_dir)
    acc = Accelerator()
    main = acc.is_main_process

    def say(msg: str) -> None:
        if main and not quiet:
            print(f"[rldf sft] {msg}", flush=True)

    if main:
        _prepare_out(out, cfg, resume)
    torch.manual_seed(cfg.run.seed)
    lm = _init_model(cfg, acc.device)
    task, pairs = _pairs(cfg, lm, say)
    if cfg.model.gradient_checkpointing:
        from harness.models.base import enable_activation_checkpointing

        enable_activation_checkpointing(lm.net)
    lm.net.train()
    runtime = _replicated_runtime(acc)
    net, optimizer, scheduler = runtime.prepare(
        lm.net, lambda n: build_optimizer(n, cfg.optim), lambda opt: build_scheduler(opt, cfg.optim, cfg.run.max_steps))
    from dataclasses import replace

    train_lm = replace(lm, net=net)
    ckpt = CheckpointManager(runtime, out, keep_best=cfg.run.keep_best,
                             export_dtype=parse_dtype(cfg.model.dtype) or torch.float32)
    metrics = MetricsLog(out / "metrics.jsonl", enabled=main)
    stream = ItemStream(len(pairs), cfg.run.batch_size, cfg.run.seed)
    step, train_seconds, last_eval = 0, 0.0, None
    if resume and ckpt.latest() is not None:
        state = ckpt.load(ckpt.latest(), optimizer, scheduler)
        step, train_seconds, last_eval = int(state["step"]), float(state["train_seconds"]), state.get("last_eval")
        metrics.truncate_after(step)
        say(f"resumed at step {step}")
    elif main:
        metrics.truncate_after(-1)

    def save() -> Path:
        metric = last_eval["accuracy"] if last_eval and last_eval["step"] == step else None
        return ckpt.save(step, optimizer, scheduler, lm.tokenizer, {"train_seconds": train_seconds, "last_eval": last_eval,
                                                   "config": config_to_dict(cfg)}, metric)

    while step < cfg.run.max_steps:
        if cfg.run.max_seconds is not None and train_seconds >= cfg.run.max_seconds:
            break
        t0 = time.perf_counter()
        idx = stream.rank_indices(step, acc.process_index, acc.num_processes)
        prompt, attn, comp = collate([pairs[i] for i in idx], lm.pad_id, acc.device)
        gen = generator(cfg.run.seed, "sft-mask", step, acc.process_index, device=acc.device)
        with runtime.autocast():
            loss, stats = sft_loss(train_lm, prompt, attn, comp, gen, cfg.run.mask_eps)
        if not torch.isfinite(loss):
            raise UserError(f"step {step + 1}: non-finite SFT loss; last good checkpoint: {ckpt.latest() or 'none'}; lower optim.lr")
        runtime.backward(loss)
        grad_norm = runtime.clip_grad_norm_(net.parameters(), cfg.optim.grad_clip) if cfg.optim.grad_clip else 0.0
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        train_seconds += time.perf_counter() - t0
        if step % cfg.run.log_every == 0 or step == cfg.run.max_steps:
            metrics.log(step, {"time": train_seconds, "loss": float(loss.detach()), "grad_norm": grad_norm,
                               "lr": float(scheduler.get_last_lr()[0]), "epoch": stream.epoch_of(step), **stats})
        if cfg.run.eval_every and step % cfg.run.eval_every == 0:
            last_eval = _evaluate(lm, cfg, task, out, step, say)
            metrics.log(step, {"eval_accuracy": last_eval["accuracy"], "time": train_seconds})
        if cfg.run.save_every and step % cfg.run.save_every == 0:
            save()
    path = save()
    say(f"done: {step} steps, {train_seconds:.1f}s; checkpoint {path}")
    return SFTSummary(step, train_seconds, str(path), last_eval)


def _prepare_out(out: Path, cfg: SFTConfig, resume: bool) -> None:
    """Create the run directory (refusing to overwrite a run unless resuming) and save the config."""
    out.mkdir(parents=True, exist_ok=True)
    if not resume and (out / "checkpoints").exists():
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    atomic_write_json(out / "config.json", json.loads(json.dumps(config_to_dict(cfg))))


def _replicated_runtime(acc: Any) -> Any:
    runtime = setup_runtime(acc, "no")
    if runtime.sharded:
        raise UserError("rldf sft trains replicated models only (one process or DDP): launch it with "
                        "configs/accelerate/ddp.yaml, not an FSDP config")
    return runtime


def _evaluate(lm: Any, cfg: SFTConfig, task: Any, out: Path, step: int, say: Any) -> dict[str, Any]:
    from harness.eval import evaluate_task

    if not cfg.run.eval_protocol:
        raise UserError("run.eval_every is set but run.eval_protocol is not; set e.g. run.eval_protocol=rldf-tiny")
    from harness.eval.identity import state_hash

    name = cfg.run.eval_task or task.name
    lm.net.eval()
    res = evaluate_task(lm, name, cfg.run.eval_protocol, out / "eval" / f"step-{step:06d}" / name,
                        limit=cfg.run.eval_limit, seed=cfg.run.seed, model_id=f"sft@step{step}",
                        weights_hash=state_hash(lm.net), model_meta={"method": "sft", "step": step}, progress=False)
    lm.net.train()
    acc = res.metrics["accuracy"]
    say(f"step {step}: eval accuracy {acc.value:.4f} [{acc.ci_low:.3f}, {acc.ci_high:.3f}]")
    return {"step": step, "accuracy": acc.value, "ci_low": acc.ci_low, "ci_high": acc.ci_high}
