"""``rldf demo``: the whole loop on a CPU in minutes — evaluate, train with RLDF, evaluate, compare.

    rldf demo
    rldf demo --compare all_masking,d1,coupled,trace --seeds 3 --out runs/demo-compare
    rldf demo --lora                            # RLDF with LoRA adapters next to full fine-tuning
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--out", default="runs/demo", help="where results, runs, plots and summary.json go")
    p.add_argument("--model", default="rldf-tiny", help="starting model (default: the shipped tiny model)")
    p.add_argument("--budget", type=float, default=240.0, help="training seconds per run (default 240)")
    p.add_argument("--compare", default="", help="other estimators to run with the same budget, comma-separated; "
                   "adds a continued-SFT control row")
    p.add_argument("--seeds", type=int, default=1, help="training seeds per estimator")
    p.add_argument("--limit", type=int, default=None, help="evaluate on the first N held-out items only")
    p.add_argument("--lora", action="store_true",
                   help="also train RLDF with LoRA adapters (configs/train/tiny_arith_lora.yaml), same budget")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of configs/train/tiny_arith.yaml")
    return p


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console

    from harness.errors import UserError
    from trainer.demo import explanation, run_demo
    from trainer.estimators import ESTIMATORS

    compare = [c.strip() for c in args.compare.split(",") if c.strip()]
    unknown = [c for c in compare if c not in ESTIMATORS]
    if unknown:
        raise UserError(f"--compare: unknown estimator(s) {', '.join(unknown)}; choose from {', '.join(ESTIMATORS)}")
    if args.budget <= 0 or args.seeds < 1:
        raise UserError("--budget must be positive and --seeds at least 1")
    out = Path(args.out)
    summary = run_demo(out, args.model, args.budget, compare, args.seeds, args.limit, overrides=args.overrides,
                       lora=args.lora)
    from harness.cli import main as cli

    results = str(out / "results")
    logs = summary["training_logs"]
    cli(["board", results, "--spec", "demo", "--format", "md", "--out", str(out / "demo.md"),
         "--plots", str(out / "plots"), *(["--logs", *logs] if logs else [])])
    cli(["board", results, "--spec", "demo"])
    console = Console()
    console.print(f"\n{explanation(summary)}\n")
    console.print(f"[dim]wrote {out / 'summary.json'}, {out / 'demo.md'}, plots in {out / 'plots'}[/dim]")
    return 0
