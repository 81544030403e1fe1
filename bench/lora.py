"""LoRA against full fine-tuning on the tiny model (CPU): step time, peak memory, rollout forward.

    python bench/lora.py [--steps 15] [--reps 2]

1. ``rldf train`` with ``configs/train/tiny_arith.yaml`` and ``tiny_arith_lora.yaml`` (evaluation
   off, a fixed step count), alternating full / LoRA ``--reps`` times in fresh processes: median
   step, rollout and update seconds from ``metrics.jsonl`` and the process's peak resident memory
   (``ru_maxrss``; it includes the interpreter and libraries, so compare the two side by side).
2. The rollout forward, which LoRA runs through peft's unmerged adapters (trainer/lora.py says
   why merging on the fly is not an option with a bf16 base): greedy decoding of 64 prompts with
   the adapted model and with the same adapter merged into the weights, interleaved, median of
   ``--reps`` runs, and whether the completions are identical.
Writes bench/results/lora_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECIPES = {"full": "configs/train/tiny_arith.yaml", "lora": "configs/train/tiny_arith_lora.yaml"}
CHILD = """
import resource, sys
from harness.cli import main
rc = main(sys.argv[1:])
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(rc)
"""


def train_once(recipe: str, steps: int, out: Path) -> dict:
    args = ["train", "--config", recipe, "--out", str(out), "--set", f"run.max_steps={steps}",
            "--set", "run.max_seconds=null", "--set", "eval.tasks=[]"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    p = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(p.stdout + p.stderr)
    rss = int(next(line.split()[1] for line in p.stdout.splitlines() if line.startswith("MAXRSS_KB")))
    rows = [json.loads(line) for line in (out / "metrics.jsonl").open()][2:]  # first steps warm up
    med = {k: statistics.median(r[k] for r in rows) for k in ("step_seconds", "rollout_seconds", "update_seconds")}
    return {**med, "peak_rss_mib": rss / 1024}


def rollout_forward(reps: int, adapter: Path) -> dict:
    import torch

    from harness.decoding import SamplerConfig, decode
    from harness.models import load_model
    from harness.models.adapters import merge_adapter

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        merged = load_model(str(merge_adapter("rldf-tiny", adapter, tmp)))
    adapted = load_model(str(adapter))
    prompts = [f"Q: {a}+{b}+{a} A: " for a in range(8) for b in range(8)]
    sampler = SamplerConfig(gen_length=32, block_length=32, steps=32, remasking="threshold", threshold=0.9,
                            temperature=0.0, stop_at_eos=True)
    times: dict[str, list[float]] = {"peft_unmerged": [], "merged": []}
    texts = {}
    for _ in range(reps):
        for name, lm in (("peft_unmerged", adapted), ("merged", merged)):
            t0 = time.perf_counter()
            texts[name] = decode(lm, prompts, sampler, batch_size=64).text
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"decode_seconds": med, "unmerged_over_merged": med["peft_unmerged"] / med["merged"],
            "identical_completions": sum(a == b for a, b in zip(texts["peft_unmerged"], texts["merged"])),
            "prompts": len(prompts)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    runs: dict[str, list[dict]] = {"full": [], "lora": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.reps):
            for name, recipe in RECIPES.items():
                runs[name].append(train_once(recipe, args.steps, Path(tmp) / f"{name}{i}"))
        adapter = Path(tmp) / f"lora{args.reps - 1}" / "checkpoints" / f"step-{args.steps:06d}"
        forward = rollout_forward(max(3, args.reps), adapter)
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    out = {
        "device": f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), torch threads 2",
        "command": "python bench/lora.py " + " ".join(sys.argv[1:]),
        "train": med,
        "ratios_lora_over_full": {k: med["lora"][k] / med["full"][k] for k in med["full"]},
        "rollout_forward": forward,
        "note": "rldf-tiny (0.8M parameters): LoRA r=8 on every block linear layer; the frozen base is a large "
                "share of this small model's memory, so memory ratios at 8B come from `rldf train --plan`",
    }
    path = ROOT / "bench" / "results" / "lora_cpu.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
