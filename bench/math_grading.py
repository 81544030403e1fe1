"""Math grading throughput on real model outputs (target: >= 400 verifications/s on 2 cores).

    python bench/math_grading.py            # reads $RLDF_DATA_DIR/external/d1_llada8b_instruct

Inputs: the released LLaDA-8B-Instruct completions for GSM8K and MATH500 (three lengths each)
with their gold answers; without them, the golden equivalence pairs dressed up as completions.
A *verification* is grading one completion (strict and lenient extraction + equivalence, as
``verify_math_many`` does for RL rewards). Each workload runs on a fresh worker pool, timed from
the moment its workers are up and warmed (``pool_startup_s``: process start, imports, and the
worker's fixed warm-up list, none of it drawn from the benchmark data); answer parse caches start
empty. Because the benchmark machine is shared and noisy, every workload runs ``RLDF_BENCH_REPS``
(5) times on fresh pools and the median, best and worst are reported, with the rate per
CPU-second of the workers and parent (``resource`` usage, minus what an idle pool costs to
start; for a workload as short as GSM8K's the error of that subtraction, about a CPU-second,
dominates, so read its wall rate). The "stock" setup (math-verify as shipped: full-LL parsing,
``simplify`` on every symbolic comparison; no warm-up) runs interleaved with
the default on the hardest workload, so their ratio is measured side by side.
Writes ``bench/results/math_grading.json``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.math.equivalence import MathVerifierPool, answers_match_detailed  # noqa: E402
from tasks.math.extract import extract_answer  # noqa: E402
from tasks.math.rows import number_to_str  # noqa: E402


def _load(src: Path, task: str) -> tuple[list[str], list[str]]:
    comps, golds = [], []
    for length in (128, 256, 512):
        f = src / f"{task}_len{length}.jsonl"
        for row in map(json.loads, f.open()) if f.is_file() else ():
            gt = row["ground_truth"]
            if gt is not None:
                comps.append(row["completion"])
                golds.append(number_to_str(gt) if isinstance(gt, (int, float)) else gt)
    return comps, golds


def answer_pairs(comps: list[str], golds: list[str]) -> list[tuple[str, str]]:
    """Distinct (gold, answer) pairs from the strict and lenient answers of each completion:
    what grading these completions asks the equivalence checker."""
    answers = [(extract_answer(c, "strict"), extract_answer(c, "lenient")) for c in comps]
    return sorted({(g, a) for g, (s, le) in zip(golds, answers) for a in (s, le) if a is not None})


def _synthetic() -> tuple[list[str], list[str]]:
    import yaml

    cases = yaml.safe_load((Path(__file__).resolve().parents[1] / "tests/tasks/golden/math_equivalence.yaml").read_text())
    comps = [f"Step {k}. So the answer is \\boxed{{{c['pred']}}}, {k} more" for k in range(40) for c in cases]
    return comps, [c["gold"] for _ in range(40) for c in cases]


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


SETUPS = {
    "current": {},  # two-stage (SLL-first) parsing, numeric witness, worker warm-up: the defaults
    "stock": {"RLDF_MATH_TWO_STAGE": "0", "RLDF_MATH_WITNESS": "0", "RLDF_MATH_WARMUP": "0"},  # math-verify as shipped, cold
}


def _setup(name: str) -> None:
    """Point the environment (inherited by new workers) at one of ``SETUPS``."""
    for key in ("RLDF_MATH_TWO_STAGE", "RLDF_MATH_WITNESS", "RLDF_MATH_WARMUP"):
        os.environ.pop(key, None)
    os.environ.update(SETUPS[name])


def pool_overhead_cpu(workers: int) -> float:
    """CPU seconds a pool costs by itself (interpreter start, imports, warm-up, one item each)."""
    cpu0 = _cpu()
    pool = MathVerifierPool(workers)
    pool.start()
    pool.close()
    return _cpu() - cpu0


def run(name: str, comps: list[str], golds: list[str], workers: int, overhead: float) -> dict:
    """Grade every completion once on a fresh pool; wall and CPU rates (pool overhead removed)."""
    pool = MathVerifierPool(workers)
    startup = pool.start()
    cpu0, t0 = _cpu(), time.perf_counter()
    pairs = answer_pairs(comps, golds)
    graded = answers_match_detailed(pairs, pool=pool)
    wall = time.perf_counter() - t0
    pool.close()  # waits for the workers, so their CPU time is counted
    cpu = max(1e-3, _cpu() - cpu0 - overhead)
    slow = sum(note != "fast" for _, note in graded)
    return {
        "workload": name,
        "completions": len(comps),
        "distinct_pairs": len(pairs),
        "pairs_through_math_verify": slow,
        "pool_startup_s": round(startup, 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "verifications_per_s_wall": round(len(comps) / wall, 1),
        "verifications_per_cpu_s": round(len(comps) / cpu, 1),
        "timeouts": sum(note == "timeout" for _, note in graded),
    }


def summarise(runs: list[dict]) -> dict:
    """Median and best of repeated runs of one workload under one setup (the machine is noisy)."""
    rates = sorted(r["verifications_per_s_wall"] for r in runs)
    cpu_rates = sorted(r["verifications_per_cpu_s"] for r in runs)
    first = runs[0]
    return {
        **{k: first[k] for k in ("workload", "completions", "distinct_pairs", "pairs_through_math_verify")},
        "runs": len(runs),
        "verifications_per_s_wall_median": statistics.median(rates),
        "verifications_per_s_wall_best": rates[-1],
        "verifications_per_s_wall_worst": rates[0],
        "verifications_per_cpu_s_median": statistics.median(cpu_rates),
        "verifications_per_s_2_cores_est": round(2 * statistics.median(cpu_rates), 1),
        "pool_startup_s_median": statistics.median(r["pool_startup_s"] for r in runs),
        "timeouts": sum(r["timeouts"] for r in runs),
    }


def main() -> int:
    data = Path(os.environ.get("RLDF_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    src = data / "external" / "d1_llada8b_instruct"
    workers = int(os.environ.get("RLDF_MATH_WORKERS", 0)) or min(8, os.cpu_count() or 1)
    reps = int(os.environ.get("RLDF_BENCH_REPS", 5))
    workloads = {t: _load(src, t) for t in ("gsm8k", "math500")}
    workloads = {k: v for k, v in workloads.items() if v[0]} or {"synthetic": _synthetic()}
    if len(workloads) > 1:
        workloads["gsm8k+math500"] = tuple(sum((list(v[i]) for v in workloads.values()), []) for i in (0, 1))
    hardest = "math500" if "math500" in workloads else next(iter(workloads))
    load1 = os.getloadavg()[0]
    overhead, runs = {}, {}
    for setup in SETUPS:
        _setup(setup)
        overhead[setup] = pool_overhead_cpu(workers)
    for rep in range(reps):  # setups interleaved, so drifting load hits both alike
        for setup in SETUPS:
            _setup(setup)
            for name, (comps, golds) in workloads.items():
                if setup == "current" or name == hardest:
                    runs.setdefault((setup, name), []).append(run(name, comps, golds, workers, overhead[setup]))
            print(f"rep {rep + 1}/{reps} {setup}: "
                  f"{runs[(setup, hardest)][-1]['verifications_per_s_wall']}/s on {hardest}", flush=True)
    _setup("current")
    ratios = [c["wall_s"] and s["wall_s"] / c["wall_s"] for c, s in zip(runs[("current", hardest)], runs[("stock", hardest)])]
    out = {
        "source": str(src) if src.is_dir() else "synthetic",
        "machine": {"cpus": os.cpu_count(), "load_avg_1min_at_start": round(load1, 2),
                    "python": platform.python_version(), "platform": platform.platform()},
        "workers": workers,
        "pool_overhead_cpu_s": {k: round(v, 2) for k, v in overhead.items()},
        "target_verifications_per_s": 400,
        "setups": {"current": "two-stage LaTeX parsing + numeric witness + worker warm-up (defaults)",
                   "stock": "RLDF_MATH_TWO_STAGE=0 RLDF_MATH_WITNESS=0 RLDF_MATH_WARMUP=0: "
                            "math-verify as shipped (full-LL parsing, simplify always), cold workers"},
        f"speedup_current_vs_stock_{hardest}_median": round(statistics.median(ratios), 2),
        "results": {setup: [summarise(runs[(setup, name)]) for name in workloads if (setup, name) in runs]
                    for setup in SETUPS},
    }
    path = Path(__file__).resolve().parent / "results" / "math_grading.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
