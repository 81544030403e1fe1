"""``rldf eval``: evaluate checkpoints on tasks under a pinned protocol; resumable, multi-process.

    rldf eval --model rldf-tiny --tasks arithmetic --protocol rldf-tiny --out runs/eval
    rldf eval --model GSAI-ML/LLaDA-8B-Instruct,ckpts/step-500 --tasks gsm8k,math500 \\
        --protocol rldf-greedy-256 --limit 200 --out runs/eval
    accelerate launch --multi_gpu --num_processes 8 -m harness.cli eval ...   # data parallel

Writes ``OUT/<model>/<task>/results.json`` and ``samples.jsonl`` (``<model>`` is the model
argument made filesystem-safe) and prints a summary table. Re-running the same command skips
finished records. Sampler flags (``--gen-length`` ...) override the protocol; the protocol's
name then records the change and its hash changes. ``--seed`` is the run seed every sample's
sampling seed derives from.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    from harness.decoding.cli_args import add_sampler_args

    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--model", required=True, help="checkpoint dir, hub id or shipped name; several separated by commas")
    p.add_argument("--tasks", help="comma-separated task names (default: the protocol's tasks)")
    p.add_argument("--protocol", required=True, help="protocol name (configs/protocols/) or path to a protocol YAML")
    p.add_argument("--out", required=True, help="output directory (OUT/<model>/<task>/results.json)")
    p.add_argument("--limit", type=int, help="evaluate only the first N items of each task")
    p.add_argument("--samples", type=int, help="completions per item (overrides the protocol; changes its hash)")
    p.add_argument("--batch-size", type=int, help="decoding batch size (default 16); keep it when resuming a GPU run")
    p.add_argument("--split", help="task split (default: the task's default split)")
    p.add_argument("--source", help="data source for a single task: file, directory or hf:<id>")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, ... (auto: the launcher's GPU, else cuda, else cpu)")
    p.add_argument("--dtype", default=None, help="float32, bf16, ... (default: the checkpoint's)")
    p.add_argument("--base", help="for a LoRA adapter directory in --model: its base (default: the one its config names)")
    p.add_argument("--label", help="display label recorded as model.label")
    p.add_argument("--method", help="training method recorded as model.method (e.g. base, rldf, d1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_sampler_args(p)
    return p


def _device(requested: str, launched: str | None) -> str:
    if requested != "auto":
        return requested
    if launched:
        return launched
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def main(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from harness.decoding import SamplerConfig
    from harness.errors import UserError
    from harness.eval import evaluate_task
    from harness.eval.dist import current_shard, init_from_env
    from harness.eval.identity import default_model_id, safe_name
    from harness.eval.report import console as make_console
    from harness.eval.report import summary_table
    from harness.eval.store import ensure_writable
    from harness.models import load_model
    from harness.protocols import load_protocol
    from tasks import get_task

    protocol = load_protocol(args.protocol)
    overrides = {f.name: getattr(args, f.name) for f in fields(SamplerConfig) if f.name != "seed"}
    overrides["samples"] = args.samples
    protocol = protocol.with_changes(**{k: v for k, v in overrides.items() if v is not None})
    names = [t for t in (args.tasks.split(",") if args.tasks else protocol.tasks) if t.strip()]
    if not names:
        raise UserError(f"no tasks: pass --tasks (protocol {protocol.name!r} names none)")
    tasks = [get_task(t.strip()) for t in names]
    if args.source and len(tasks) > 1:
        raise UserError("--source names the data of one task; run one task at a time with it")
    out = Path(args.out)
    ensure_writable(out)
    launched = init_from_env()
    device = _device(args.device, launched)
    shard = current_shard()
    console = make_console()
    results = []
    for model_arg in [m.strip() for m in args.model.split(",") if m.strip()]:
        lm = load_model(model_arg, device=device, dtype=args.dtype, base=args.base)
        meta = {k: v for k, v in (("label", args.label), ("method", args.method)) if v}
        for task in tasks:
            results.append(
                evaluate_task(
                    lm, task, protocol, out / safe_name(model_arg) / task.name,
                    limit=args.limit, seed=args.seed or 0, split=args.split,
                    source=args.source, model_id=default_model_id(model_arg), model_meta=meta,
                    batch_size=args.batch_size, progress=not args.no_progress,
                )
            )
        del lm
    if shard.is_main:
        console.print(summary_table(results))
        console.print(f"results in {out}/<model>/<task>/results.json")
    return 0
