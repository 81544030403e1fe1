"""``rldf train``: RL fine-tuning of a diffusion LM with RLDF or a baseline estimator.

    rldf train --config configs/train/tiny_arith.yaml --out runs/tiny-rldf
    rldf train --config configs/train/tiny_arith.yaml --out runs/tiny-d1 --set estimator.name=d1
    rldf train --config configs/train/tiny_arith.yaml --out runs/tiny-rldf --resume
    rldf train --config configs/train/llada_math.yaml --plan [--processes 8] [--device-memory 80]
    accelerate launch --config_file configs/accelerate/ddp.yaml -m harness.cli train --config ... --out ...
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--config", required=True, help="training recipe (YAML), e.g. configs/train/tiny_arith.yaml")
    p.add_argument("--out", help="run directory (config, metrics.jsonl, checkpoints, evals)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set run.max_steps=50 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    p.add_argument("--plan", action="store_true",
                   help="print the per-device memory plan (DDP, FSDP2, ZeRO-3) and exit; loads no weights")
    p.add_argument("--processes", type=int, default=8, help="with --plan: number of devices (default 8)")
    p.add_argument("--device-memory", type=float, default=80.0, metavar="GIB",
                   help="with --plan: memory per device in GiB (default 80)")
    p.add_argument("--prompt-tokens", type=int, default=256,
                   help="with --plan: prompt length to assume (default 256)")
    return p


def main(args: argparse.Namespace) -> int:
    from harness.config_io import load_config
    from harness.errors import UserError
    from trainer.config import TrainConfig
    from trainer.loop import train

    cfg = load_config(TrainConfig, args.config, args.overrides)
    if args.plan:
        from trainer.memory_plan import plan_text

        if args.processes < 1 or args.device_memory <= 0 or args.prompt_tokens < 1:
            raise UserError("--processes, --device-memory and --prompt-tokens must be positive")
        print(plan_text(cfg, args.config, args.processes, args.device_memory, args.prompt_tokens), end="")
        return 0
    if not args.out:
        raise UserError("--out DIR is required (the run directory), except with --plan")
    summary = train(cfg, args.out, resume=args.resume)
    if summary.last_eval:
        print(f"final eval accuracy: {summary.last_eval['accuracy']:.4f} (step {summary.last_eval['step']})")
    return 0
