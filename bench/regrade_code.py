"""Re-grade every released HumanEval/MBPP program (dllm4code, adaptive-dllm) and time it.

    python bench/regrade_code.py                  # reads $RLDF_DATA_DIR/external, 2 sandbox workers
    python bench/regrade_code.py --runs runs/regrade_code --workers 2

Why: a code pass@1 is only comparable when the programs were run the same way; re-running the
field's released programs in our sandbox tells us whether our grader and theirs agree (issue 15
expects >= 97% of items) and gives the leaderboards ``code_regrade`` / ``gsm8k_regrade`` their
rows. For each of the 22 dllm4code files (11 models x HumanEval/MBPP) this runs ``rldf rescore``
(format detected) into ``--runs/<model>/<file>/``; then the 6 adaptive-dllm lm-eval logs. It
writes ``bench/results/regrade_code.json``: per file our pass@1, the source's, the number of
items where the verdicts disagree, each disagreement's class (``code_regrade_classes.py``; every
disagreement is run again to catch flaky ones) and the run-status counts; plus the wall time of
the code re-grade, programs/s and the machine load (``os.getloadavg`` before and after: the CPUs
may be shared). Disagreeing items go to ``bench/results/regrade_code_disagreements/<file>.jsonl``:
item id, class, both verdicts, our reason and the source file and row (the released text itself
stays in ``$RLDF_DATA_DIR``; it is not ours to commit).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from code_regrade_classes import MBPP_TEST_LIST, RIGHT, classify  # noqa: E402
from sandbox import cpu_meter  # noqa: E402  (bench/sandbox.py: the process tree's CPU time)

from harness.eval.importers import read_generations  # noqa: E402
from harness.eval.rescore import rescore_file, run_dir, source_verdict  # noqa: E402
from harness.eval.rescore_code import grade_code  # noqa: E402
from tasks import get_task  # noqa: E402
from tasks.code.sandbox import Sandbox  # noqa: E402

# file stem (without the task prefix) -> model id recorded in the results, and its kind
MODELS = {
    "llada": ("LLaDA-8B-Instruct", "diffusion"),
    "llada_1_5": ("LLaDA-1.5", "diffusion"),
    "dream": ("Dream-v0-Instruct-7B", "diffusion"),
    "dreamcoder": ("Dream-Coder-v0-Instruct-7B", "diffusion"),
    "dreamon": ("DreamOn-v0-7B", "diffusion"),
    "diffucoder": ("DiffuCoder-7B-cpGRPO", "diffusion"),
    "mercury": ("Mercury-Coder-Small", "diffusion"),
    "CodeLlama-7b": ("CodeLlama-7B", "autoregressive"),
    "CodeLlama": ("CodeLlama-7B", "autoregressive"),
    "Qwen3-8B": ("Qwen3-8B", "autoregressive"),
    "Seed-Coder": ("Seed-Coder-8B-Instruct", "autoregressive"),
    "Seed-Coder-8B-Instruct": ("Seed-Coder-8B-Instruct", "autoregressive"),
    "deepseek-coder-6.7b": ("DeepSeek-Coder-6.7B", "autoregressive"),
    "deepseek-coder": ("DeepSeek-Coder-6.7B", "autoregressive"),
}
LM_EVAL_MODELS = {"dream7b": "Dream-v0-Instruct-7B", "llada15": "LLaDA-1.5", "llada8b_base": "LLaDA-8B-Base"}


def code_files(src: Path) -> list[tuple[Path, str]]:
    """(file, model id) for every dllm4code file, HumanEval first."""
    out = []
    for sub, prefix in (("humaneval", "humaneval_"), ("mbpp", "mbpp_")):
        for f in sorted((src / "dllm4code" / sub).glob(f"{prefix}*.json*")):
            out.append((f, MODELS[f.stem.removeprefix(prefix)][0]))
    return out


def lm_eval_files(src: Path) -> list[tuple[Path, str]]:
    out = []
    for d in sorted((src / "adaptive_dllm").glob("*")):
        key = next(k for k in LM_EVAL_MODELS if d.name.startswith(k))
        out.append((d / "samples.jsonl", LM_EVAL_MODELS[key]))
    return out


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def _rerun(src: Path, task: str, rows: list[int], executor, tries: int = 3) -> dict[int, list]:
    """Our verdicts on ``rows`` (1-based source rows) graded ``tries`` more times (a flip: flaky)."""
    if not rows:
        return {}
    gens = read_generations(src)
    picked = [r for r in gens.rows if r.row in set(rows)]
    seen: dict[int, list] = {r.row: [] for r in picked}
    for _ in range(tries):
        _, verdicts = grade_code(get_task(task), picked, executor)
        for r, v in zip(picked, verdicts):
            seen[r.row].append(v.correct)
    return seen


def agreement(result, runs: Path, model_id: str, src: Path, executor, dis_dir: Path) -> dict:
    """One file's entry: pass@1 ours vs the source's, disagreements classified and written out."""
    recs = _records(run_dir(runs, model_id, src) / "samples.jsonl")
    c = result.counts
    n = len(recs)
    source = {k.split(":", 1)[1]: round(100 * v / n, 1) for k, v in c.items() if k.startswith("source_correct:")}
    entry = {
        "file": f"{src.parent.name}/{src.name}", "model": model_id, "task": result.task["name"], "format": result.task["format"],
        "n": n, "ours_pass1": round(100 * result.metrics["accuracy"].value, 1),
        "source_pass1": source.get("strict-match", next(iter(source.values()), None)), "source": source,
        "agree": c.get("agree"), "disagree": c.get("disagree"),
        "statuses": {k: c[k] for k in ("timeout", "oom", "sandbox_error", "no_code", "no_tests") if k in c},
        "test_set": sorted({r["extra"].get("test_set") for r in recs if r.get("extra")} - {None}),
        "seconds": round(result.speed["wall_seconds"], 1),
    }
    if "task_tests_scored" in c:
        entry["task_tests_pass1"] = round(100 * c["task_tests_correct"] / max(1, c["task_tests_scored"]), 1)
    if "accuracy_lenient" in result.metrics:
        entry["ours_lenient"] = round(100 * result.metrics["accuracy_lenient"].value, 1)
    if entry["test_set"] == ["task"]:  # no test_cases in the file: our pass@1 on MBPP's test_list (first 3 asserts)
        first = [len(t) >= MBPP_TEST_LIST and all(t[:MBPP_TEST_LIST])
                 for r in recs if r["correct"] is not None for t in [r["extra"].get("tests") or []]]
        entry["ours_pass1_test_list"] = round(100 * sum(first) / len(first), 1)
    differ = [(rec, theirs) for rec in recs
              if (theirs := source_verdict(rec.get("source_verdicts") or {})) is not None and rec["correct"] is not None and theirs != rec["correct"]]
    again = _rerun(src, result.task["name"], [rec["source_row"] for rec, _ in differ], executor) if result.task["kind"] == "code" else {}
    disagree = []
    for rec, theirs in differ:
        reruns = again.get(rec["source_row"], [])
        # what classify sees: a rerun that gave the other verdict if any did (flaky), else the same
        rerun = None if not reruns else next((v for v in reruns if v != rec["correct"]), rec["correct"])
        cls = classify(rec, theirs, rerun)
        disagree.append({"item_id": rec["item_id"], "class": cls, "right": RIGHT.get(cls, "unreviewed"),
                         "source_passed": theirs, "ours_passed": rec["correct"], "reruns_passed": reruns,
                         "ours_reason": rec["reason"], "test_set": (rec.get("extra") or {}).get("test_set"),
                         "source": f"{src.parent.name}/{src.name}", "source_row": rec["source_row"]})
    if disagree:
        with (dis_dir / f"{src.parent.name}_{src.stem}.jsonl").open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(d) + "\n" for d in disagree)
    classes: dict[str, int] = {}
    for d in disagree:
        classes[d["class"]] = classes.get(d["class"], 0) + 1
    entry["classes"] = {k: {"count": v, "right": RIGHT.get(k, "unreviewed")} for k, v in sorted(classes.items(), key=lambda kv: -kv[1])}
    return entry


def _timeout_wait(results, workers: int) -> float:
    """Worst-case wall seconds the timed-out programs hold the workers (4 s each, spread over the workers)."""
    from harness.eval.rescore_code import SOURCE_TEST_TIMEOUT, STARTUP_SLACK

    return sum(r.counts.get("timeout", 0) for r in results) * (SOURCE_TEST_TIMEOUT + STARTUP_SLACK) / workers


def regrade(files: list[tuple[Path, str]], runs: Path, executor, progress) -> tuple[list, float]:
    """``rescore_file`` on each file (format detected); the results and the wall seconds it took.

    dllm4code files get one protocol name per task (``external:dllm4code/<task>``), so the 11
    models of a column share one protocol and the leaderboard compares them."""
    results, t0 = [], time.perf_counter()
    for src, model_id in files:
        progress.update(progress.task_ids[0], description=f"{src.parent.name}/{src.name}")
        name = f"external:dllm4code/{src.parent.name}" if src.parent.parent.name == "dllm4code" else None
        results.append(rescore_file(src, runs, model_id=model_id, executor=executor, protocol_name=name))
        progress.advance(progress.task_ids[0])
    return results, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    data_root = Path(os.environ.get("RLDF_DATA_DIR", ROOT.parent / "shared" / "data"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", type=Path, default=data_root / "external")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "regrade_code", help="where the RunResults go")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    if not (args.src / "dllm4code").is_dir():
        print(f"regrade_code: no generations at {args.src}/dllm4code; set RLDF_DATA_DIR or pass --src", file=sys.stderr)
        return 2
    from rich.progress import Progress

    sandbox = Sandbox(workers=args.workers)

    def executor(programs):
        return sandbox.run_many(programs, workers=args.workers)

    dis_dir = args.out / "regrade_code_disagreements"
    dis_dir.mkdir(parents=True, exist_ok=True)
    code, lm_eval = code_files(args.src), lm_eval_files(args.src)
    load_before = os.getloadavg()
    with cpu_meter() as cpu_ns, Progress() as progress:
        progress.add_task("re-grading", total=len(code) + len(lm_eval))
        cpu0 = cpu_ns()
        code_results, seconds = regrade(code, args.runs, executor, progress)
        load_after = os.getloadavg()
        cpu = None if cpu0 is None else (cpu_ns() - cpu0) / 1e9
        lm_results, _ = regrade(lm_eval, args.runs, executor, progress)
    programs = sum(r.counts["n_items"] for r in code_results)
    entries = [agreement(r, args.runs, m, f, executor, dis_dir)
               for r, (f, m) in zip(code_results + lm_results, code + lm_eval)]
    summary = {
        "benchmark": "re-grade of the released dllm4code HumanEval/MBPP programs in the rldf sandbox",
        "files": len(code), "programs": programs, "workers": args.workers, "backend": sandbox.backend,
        "wall_seconds": round(seconds, 1), "programs_per_s": round(programs / seconds, 1), "target_seconds": 300,
        "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after],
        "cpus": len(os.sched_getaffinity(0)), "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        # CPU seconds of the whole process tree (harness + sandboxed programs, cgroup cpuacct where
        # writable): what the re-grade costs whatever the neighbours do. Spread over the cores it is
        # what an idle machine needs, plus the timeouts' sleeping (each holds a worker <= 4 s).
        "cpu_seconds": None if cpu is None else round(cpu, 1),
        "idle_estimate_seconds": None if cpu is None else round(cpu / len(os.sched_getaffinity(0)) + _timeout_wait(code_results, args.workers), 1),
        "entries": entries,
    }
    target = args.out / "regrade_code.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    tmp.replace(target)
    _print(summary)
    return 0


def _print(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{summary['programs']} programs in {summary['wall_seconds']} s "
                        f"({summary['programs_per_s']}/s, {summary['workers']} workers, load {summary['loadavg_before'][0]})")
    for col in ("file", "model", "ours %", "source %", "disagree", "timeout", "classes"):
        table.add_column(col)
    for e in summary["entries"]:
        table.add_row(e["file"], e["model"], f"{e['ours_pass1']:.1f}", "-" if e["source_pass1"] is None else f"{e['source_pass1']:.1f}",
                      str(e["disagree"]), str(e["statuses"].get("timeout", "-")),
                      "; ".join(f"{v['count']} {k}" for k, v in e["classes"].items()))
    Console(width=200).print(table)


if __name__ == "__main__":
    sys.exit(main())
