"""``rldf sft``: masked-diffusion supervised fine-tuning (the LLaDA SFT objective).

    rldf sft --config configs/sft/tiny_arith.yaml --out runs/sft-tiny
    rldf sft --config configs/sft/tiny_arith.yaml --out runs/sft-tiny --set run.max_steps=100 --resume
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--config", required=True, help="SFT recipe (YAML), e.g. configs/sft/tiny_arith.yaml")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set run.max_steps=100 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    return p


def main(args: argparse.Namespace) -> int:
    from harness.config_io import load_config
    from trainer.sft import SFTConfig
    from trainer.sft_loop import train_sft

    cfg = load_config(SFTConfig, args.config, args.overrides)
    train_sft(cfg, args.out, resume=args.resume)
    return 0
