"""``rldf train``: RL fine-tuning of a diffusion LM with RLDF or a baseline estimator.

    rldf train --config configs/train/tiny_arith.yaml --out runs/tiny-rldf
    rldf train --config configs/train/tiny_arith.yaml --out runs/tiny-d1 --set estimator.name=d1
    rldf train --config configs/train/tiny_arith.yaml --out runs/tiny-rldf --resume
    accelerate launch --config_file configs/accelerate/ddp.yaml -m harness.cli train --config ... --out ...
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--config", required=True, help="training recipe (YAML), e.g. configs/train/tiny_arith.yaml")
    p.add_argument("--out", required=True, help="run directory (config, metrics.jsonl, checkpoints, evals)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set run.max_steps=50 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    return p


def main(args: argparse.Namespace) -> int:
    from trainer.config import TrainConfig
    from trainer.config_io import load_config
    from trainer.loop import train

    cfg = load_config(TrainConfig, args.config, args.overrides)
    summary = train(cfg, args.out, resume=args.resume)
    if summary.last_eval:
        print(f"final eval accuracy: {summary.last_eval['accuracy']:.4f} (step {summary.last_eval['step']})")
    return 0
