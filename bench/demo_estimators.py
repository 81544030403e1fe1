"""Estimators on the CPU demo at equal wall time and at equal optimizer steps, several seeds.

    python bench/demo_estimators.py                       # rldf, all_masking, d1, coupled, trace; 3 seeds
    python bench/demo_estimators.py --budget 120 --seeds 3 --out runs/bench-demo

Part 1 runs ``rldf demo --compare ...`` (every estimator gets the same training seconds, plus a
continued-SFT control). Part 2 gives every estimator the same number of optimizer steps (the
median number RLDF reached in part 1), so per-step efficiency and per-second efficiency can be
told apart. Every accuracy is on the same held-out items under protocol ``rldf-tiny`` with its
95% CI. Writes ``bench/results/demo_estimators.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--estimators", default="rldf,all_masking,d1,coupled,trace")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--budget", type=float, default=240.0)
    p.add_argument("--model", default="rldf-tiny")
    p.add_argument("--out", default="runs/bench-demo")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from harness.config_io import load_config
    from harness.io import atomic_write_json
    from harness.models import load_model
    from trainer.config import TrainConfig
    from trainer.demo import TRAIN_RECIPE, _evaluate, run_demo
    from trainer.loop import train

    out = Path(args.out)
    names = [e for e in args.estimators.split(",") if e]
    compare = [e for e in names if e != "rldf"]
    timed = run_demo(out / "equal_time", args.model, args.budget, compare, args.seeds, curve_every=None)
    rldf_steps = [r["steps"] for r in timed["runs"] if r["estimator"] == "rldf"]
    target = int(statistics.median(rldf_steps))
    stepped = []
    for name in names:
        for seed in range(args.seeds):
            cfg = load_config(TrainConfig, TRAIN_RECIPE, [
                f"model.path={args.model}", f"estimator.name={name}", f"run.seed={seed}",
                f"run.max_steps={target}", "run.max_seconds=null", "eval.at_end=false",
            ])
            run_dir = out / "equal_steps" / "runs" / f"{name}-seed{seed}"
            summary = train(cfg, run_dir, resume=(run_dir / "checkpoints").exists(), quiet=True)
            res, _ = _evaluate(load_model(summary.checkpoint), out / "equal_steps", f"{name}-seed{seed}", name, seed,
                               None, summary.steps)
            m = res.metrics["accuracy"]
            stepped.append({"estimator": name, "seed": seed, "accuracy": m.value, "ci_low": m.ci_low,
                            "ci_high": m.ci_high, "steps": summary.steps, "train_seconds": summary.train_seconds})
            print(f"equal steps: {name} seed {seed}: {m.value:.3f} in {summary.train_seconds:.0f}s", flush=True)

    def table(runs: list[dict]) -> dict:
        by: dict[str, list[dict]] = {}
        for r in runs:
            by.setdefault(r["estimator"], []).append(r)
        return {k: {"mean_accuracy": statistics.mean(x["accuracy"] for x in v), "runs": v} for k, v in by.items()}

    result = {
        "model": args.model, "protocol": "rldf-tiny", "budget_seconds": args.budget, "seeds": args.seeds,
        "threads": args.threads, "equal_steps_target": target,
        "equal_wall_time": table(timed["runs"]), "equal_optimizer_steps": table(stepped),
    }
    dest = ROOT / "bench" / "results" / "demo_estimators.json"
    atomic_write_json(dest, result)
    print(json.dumps({k: {e: round(v["mean_accuracy"], 3) for e, v in result[k].items()}
                      for k in ("equal_wall_time", "equal_optimizer_steps")}, indent=2))
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
