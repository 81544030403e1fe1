"""Math grading throughput on real model outputs (target: >= 400 verifications/s on 2 cores).

    python bench/math_grading.py            # reads $RLDF_DATA_DIR/external/d1_llada8b_instruct

Inputs: the released LLaDA-8B-Instruct completions for GSM8K and MATH500 (three lengths each)
with their gold answers; without them, the golden equivalence pairs dressed up as completions.
A *verification* is grading one completion (strict and lenient extraction + equivalence, as
``verify_math_many`` does for RL rewards). Each workload runs on a fresh worker pool (empty parse
caches). Because the benchmark machine is shared, it also reports the rate per CPU-second of the
workers and parent (``resource`` usage, minus what an idle pool costs to start), which does not
depend on what else is running; the 2-core estimate is twice that. Writes ``bench/results/math_grading.json``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
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


def _synthetic() -> tuple[list[str], list[str]]:
    import yaml

    cases = yaml.safe_load((Path(__file__).resolve().parents[1] / "tests/tasks/golden/math_equivalence.yaml").read_text())
    comps = [f"Step {k}. So the answer is \\boxed{{{c['pred']}}}, {k} more" for k in range(40) for c in cases]
    return comps, [c["gold"] for _ in range(40) for c in cases]


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def pool_overhead_cpu(workers: int) -> float:
    """CPU seconds a pool costs by itself (interpreter start, imports, one warm-up item)."""
    cpu0 = _cpu()
    pool = MathVerifierPool(workers)
    pool.match_many([("1", "\\frac{2}{2}+0")])
    pool.close()
    return _cpu() - cpu0


def run(name: str, comps: list[str], golds: list[str], workers: int, overhead: float) -> dict:
    """Grade every completion once on a fresh pool; wall and CPU rates (pool overhead removed)."""
    pool = MathVerifierPool(workers)
    t0 = time.perf_counter()
    pool.match_many([("1", "\\frac{2}{2}+0")])
    startup = time.perf_counter() - t0
    cpu0, t0 = _cpu(), time.perf_counter()
    answers = [(extract_answer(c, "strict"), extract_answer(c, "lenient")) for c in comps]
    pairs = sorted({(g, a) for g, (s, le) in zip(golds, answers) for a in (s, le) if a is not None})
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
        "verifications_per_s_2_cores_est": round(2 * len(comps) / cpu, 1),
        "math_verify_pairs_per_cpu_s": round(slow / cpu, 1) if slow else None,
        "timeouts": sum(note == "timeout" for _, note in graded),
    }


def main() -> int:
    data = Path(os.environ.get("RLDF_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    src = data / "external" / "d1_llada8b_instruct"
    workers = int(os.environ.get("RLDF_MATH_WORKERS", 0)) or min(8, os.cpu_count() or 1)
    workloads = {t: _load(src, t) for t in ("gsm8k", "math500")}
    workloads = {k: v for k, v in workloads.items() if v[0]} or {"synthetic": _synthetic()}
    if len(workloads) > 1:
        workloads["gsm8k+math500"] = tuple(sum((list(v[i]) for v in workloads.values()), []) for i in (0, 1))
    load1 = os.getloadavg()[0]
    overhead = pool_overhead_cpu(workers)
    results = [run(name, comps, golds, workers, overhead) for name, (comps, golds) in workloads.items()]
    out = {
        "source": str(src) if src.is_dir() else "synthetic",
        "machine": {"cpus": os.cpu_count(), "load_avg_1min_at_start": round(load1, 2),
                    "python": platform.python_version(), "platform": platform.platform()},
        "workers": workers,
        "pool_overhead_cpu_s": round(overhead, 2),
        "target_verifications_per_s": 400,
        "results": results,
    }
    path = Path(__file__).resolve().parent / "results" / "math_grading.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
