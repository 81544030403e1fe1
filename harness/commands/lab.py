"""``rldf lab estimators``: how biased, how noisy and how useful each policy-gradient estimator is.

    rldf lab estimators --model rldf-tiny --task arithmetic --out runs/lab-tiny
    rldf lab estimators --out runs/lab-sweep --estimators rldf --sweep k,temperature,tau
    rldf lab estimators --config configs/train/llada_math.yaml --model GSAI-ML/LLaDA-8B-Instruct --task gsm8k --out runs/lab-8b
    rldf board runs/lab-tiny/board --spec runs/lab-tiny/board/spec.yaml --format md

Decodes one fixed batch of rollouts with the recipe's sampler, draws each estimator's randomness
R times on it through the trainer's own update, and compares the gradients with the
full-trajectory gradient (trace, every step). Writes lab.json, rollouts.jsonl, a board folder
that ``rldf board`` renders, and two plots. See README, "Estimator lab".
"""

from __future__ import annotations

import argparse

DEFAULT_RECIPE = "configs/train/tiny_arith.yaml"


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    from trainer.lab.options import DEFAULT_ESTIMATORS, LabSettings

    d = LabSettings()
    p = sub.add_parser(name, help=help_text, description=help_text)
    what = p.add_subparsers(dest="lab_command", metavar="LAB", required=True)
    e = what.add_parser("estimators", help="bias, variance, cost and usefulness of each estimator on a fixed batch",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--config", help=f"training recipe (sampler, k, loss) (default {DEFAULT_RECIPE} of the rldf checkout)")
    e.add_argument("--model", help="policy (checkpoint dir, hub id or shipped name); default: the recipe's model.path")
    e.add_argument("--task", help="reward task; default: the recipe's data.task")
    e.add_argument("--out", required=True, help="output folder (lab.json, rollouts.jsonl, board/, plots)")
    e.add_argument("--estimators", default=",".join(DEFAULT_ESTIMATORS),
                   help="comma-separated NAME or NAME[key=value,...] (keys under estimator.), e.g. rldf[k=8]")
    e.add_argument("--sweep", default="", help="add RLDF sweeps: any of k, temperature, tau (comma-separated)")
    e.add_argument("--prompts", type=int, default=d.prompts, help=f"prompts in the fixed batch (default {d.prompts})")
    e.add_argument("--group", type=int, default=d.group, help=f"completions per prompt (default {d.group})")
    e.add_argument("--draws", type=int, default=d.draws, help=f"draws per estimator, R (default {d.draws})")
    e.add_argument("--samples", type=int, default=d.samples,
                   help=f"usefulness: completions per prompt at each stepped model, 0 = skip (default {d.samples})")
    e.add_argument("--step-size", type=float, default=d.step_size,
                   help=f"usefulness: L2 norm of the parameter step (default {d.step_size})")
    e.add_argument("--sketch-dim", type=int, default=d.sketch_dim, help=f"count-sketch size per draw (default {d.sketch_dim})")
    e.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value for every estimator, e.g. --set estimator.k=4 (repeatable)")
    e.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    return p


def _split(text: str) -> list[str]:
    """Split on commas outside brackets: ``rldf[k=2,rldf.step_temperature=0],d1``."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "[") - (ch == "]")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p.strip() for p in [*parts, cur] if p.strip()]


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.config_io import load_config
    from trainer.config import TrainConfig
    from trainer.lab.options import LabSettings
    from trainer.lab.report import write_report
    from trainer.lab.run import run_lab
    from trainer.lab.variants import lab_overrides, resolve_variants, variant_labels

    recipe = args.config or str(Path(__file__).resolve().parents[2] / DEFAULT_RECIPE)
    settings = LabSettings(prompts=args.prompts, group=args.group, draws=args.draws, samples=args.samples,
                           step_size=args.step_size, sketch_dim=args.sketch_dim, estimators=_split(args.estimators))
    base = lab_overrides(args.model, args.task, settings, args.overrides)
    cfg = load_config(TrainConfig, recipe, base)
    variants = resolve_variants(recipe, base, variant_labels(settings.estimators, _split(args.sweep)))
    out = Path(args.out)
    import sys

    command = ["rldf", *sys.argv[1:]] if sys.argv and sys.argv[0].endswith(("cli.py", "rldf")) else None
    record = run_lab(cfg, variants, settings, out, args.config or DEFAULT_RECIPE, quiet=args.quiet, command=command)
    for path in write_report(record, out):
        if not args.quiet:
            print(f"[rldf lab] wrote {path}")
    return 0
