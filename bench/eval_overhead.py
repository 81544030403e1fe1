"""Harness overhead of ``evaluate_task``: everything that is not a model forward, as % of wall time.

    python bench/eval_overhead.py            # writes bench/results/eval_overhead.json

Model-forward time is measured by wrapping the network's ``forward`` with a timer; the rest of
the wall time (prompt building, the decoder's sampling and bookkeeping, verification, record
writing with fsync, metrics with bootstrap CIs, hashing the weights) is overhead. Target: < 5%
on the tiny model. Runs the CPU demo protocol (``rldf-tiny``: arithmetic, 32 tokens, static
one-token-per-step decoding) on two tiny sizes, cold (first call in the process) and warm (a
repeated call, as the trainer's periodic evaluation makes with ``examples=`` given), writing
results to disk and in memory. ``overhead_excluding_decoder_pct`` leaves out the decoding
engine's own per-step work (sampling, remasking bookkeeping), i.e. what the eval runner adds.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from harness.eval import evaluate_task, runner  # noqa: E402
from harness.models import load_model  # noqa: E402
from harness.models.tiny import make_tiny_checkpoint  # noqa: E402
from tasks import Task, get_task  # noqa: E402

ITEMS = 256
BATCH = 64
SIZES = {"tiny-d64-L2": {"d_model": 64, "n_layers": 2}, "tiny-d128-L4": {"d_model": 128, "n_layers": 4}}
OUT = Path(__file__).parent / "results" / "eval_overhead.json"


class Timers(dict):
    @contextmanager
    def span(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - t0

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            with self.span(name):
                return fn(*args, **kwargs)

        return timed


def measure(lm, task, examples, out_dir) -> dict:
    timers = Timers()
    forward = lm.net.forward
    decode, verify, build = runner.decode, Task.verify_many, runner.build_result
    lm.net.forward = timers.wrap("forward", forward)
    runner.decode = timers.wrap("decode", decode)
    Task.verify_many = timers.wrap("verify", verify)
    runner.build_result = timers.wrap("metrics_and_result", build)
    try:
        with timers.span("wall"):
            result = evaluate_task(lm, task, "rldf-tiny", out_dir, examples=examples, batch_size=BATCH, progress=False)
    finally:
        lm.net.forward = forward
        runner.decode, Task.verify_many, runner.build_result = decode, verify, build
    wall, fwd = timers["wall"], timers["forward"]
    return {
        "wall_s": round(wall, 4),
        "forward_s": round(fwd, 4),
        "overhead_s": round(wall - fwd, 4),
        "overhead_pct": round(100 * (wall - fwd) / wall, 2),
        # the eval harness alone: wall minus the whole decode call (forwards + the decoder's own work)
        "overhead_excluding_decoder_pct": round(100 * (wall - timers["decode"]) / wall, 2),
        "breakdown_s": {
            "decoder_outside_forwards": round(timers["decode"] - fwd, 4),
            "verify": round(timers.get("verify", 0.0), 4),
            "metrics_and_result": round(timers["metrics_and_result"], 4),
            "rest (prompts, hashing, records, files)": round(
                wall - timers["decode"] - timers.get("verify", 0.0) - timers["metrics_and_result"], 4
            ),
        },
        "nfe_mean": result.speed["nfe_mean"],
        "forwards_per_item": round(result.speed["nfe_mean"], 2),
        "items": result.counts["n_items"],
    }


def main() -> int:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    task = get_task("arithmetic")
    examples = task.load()[:ITEMS]
    report = {
        "what": "evaluate_task harness overhead = wall time minus model-forward time, rldf-tiny protocol on arithmetic",
        "target_overhead_pct": 5.0,
        "items": ITEMS, "batch_size": BATCH,
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "load_avg_1m": round(os.getloadavg()[0], 2)},
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, sizes in SIZES.items():
            lm = load_model(make_tiny_checkpoint(Path(tmp) / name, "llada", seed=0, **sizes))
            for phase, out in (("cold, to disk", Path(tmp) / f"{name}-a"), ("warm, to disk", Path(tmp) / f"{name}-b"),
                               ("warm, in memory", None)):
                row = {"model": name, "params": sum(p.numel() for p in lm.net.parameters()), "phase": phase,
                       **measure(lm, task, examples, out)}
                report["runs"].append(row)
                print(f"{name:14s} {phase:16s} wall {row['wall_s']:7.3f}s  forward {row['forward_s']:7.3f}s  "
                      f"overhead {row['overhead_pct']:5.2f}% (runner alone {row['overhead_excluding_decoder_pct']:.2f}%)")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
