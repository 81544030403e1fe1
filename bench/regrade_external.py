"""Regrade d1's released LLaDA-8B-Instruct generations with our verifiers, beside d1's parser.

    python bench/regrade_external.py            # reads $RLDF_DATA_DIR/external/d1_llada8b_instruct

Why: grading is part of every reported number. For GSM8K, MATH500, Countdown and Sudoku at
generation lengths 128/256/512 this prints d1's published accuracy, our re-implementation of d1's
parser (``bench/d1_parsers.py``; it must reproduce the published numbers) and our verifiers
(strict, and lenient for math), then writes every item where d1's parser and ours disagree to
``bench/results/regrade_disagreements/<task>_len<L>.jsonl`` — its (shard, index), disagreement
class and both verdicts, never the released text, which stays in the data directory — and a
summary to ``bench/results/regrade_external.json``. Classes are assigned by the rules in
``regrade_classes.py``; the verdict on who is right per class is in the closing note.

Sudoku: d1 reports *cell* accuracy (share of empty cells filled right); we reward solved puzzles.
Both are printed; the sudoku file lists items where "solved" or the number of right cells differ.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import d1_parsers  # noqa: E402
from regrade_classes import RIGHT, classify  # noqa: E402

from tasks import Example, get_task  # noqa: E402
from tasks.math.grading import verify_math_many  # noqa: E402
from tasks.math.rows import number_to_str  # noqa: E402

TASKS = ("gsm8k", "math500", "countdown", "sudoku")
LENGTHS = (128, 256, 512)
_PUZZLE = re.compile(r"[0-4]{16}")
# d1's parser on these files, as listed in the data folder's README (percent).
D1_PUBLISHED = {
    "gsm8k": (69.3, 76.4, 78.1),
    "math500": (26.0, 32.4, 36.2),
    "countdown": (20.7, 19.5, 16.0),
    "sudoku": (11.7, 6.7, 5.5),
}


def _gsm8k_gold_lookup(data_root: Path) -> dict[str, str]:
    """Question -> gold from gsm8k_test.json, for rows whose d1 gold is null (negative answers)."""
    f = data_root / "gsm8k_test.json"
    return {r["question"]: r["ground_truth_answer"] for r in json.loads(f.read_text())} if f.is_file() else {}


def _grade_math(task: str, rows: list[dict], gold_lookup: dict[str, str]) -> list[dict]:
    golds = []
    for r in rows:
        gt = r["ground_truth"]
        golds.append(number_to_str(gt) if isinstance(gt, (int, float)) else gt or gold_lookup.get(r["question"], ""))
    verdicts = verify_math_many([r["completion"] for r in rows], golds)
    parse = d1_parsers.gsm8k if task == "gsm8k" else d1_parsers.math
    out = []
    for r, gold, v in zip(rows, golds, verdicts):
        d1_answer, d1_ok = parse(r["completion"], r["ground_truth"])
        out.append({"gold": gold, "d1_answer": d1_answer, "d1_correct": bool(d1_ok), "ours_answer": v.answer,
                    "ours_correct": v.correct, "ours_lenient_answer": v.extra["lenient"]["answer"],
                    "ours_lenient_correct": v.extra["lenient"]["correct"], "ours_reason": v.reason})
    return out


def _grade_logic(task: str, rows: list[dict]) -> list[dict]:
    t = get_task(task)
    out = []
    for r in rows:
        gt = r["ground_truth"]
        if task == "countdown":
            ex = Example("x", r["question"], {"numbers": gt[0], "target": gt[1]})
            d1_answer, d1_ok = d1_parsers.countdown(r["completion"], gt)
            extra: dict = {}
        else:
            ex = Example("x", r["question"], {"puzzle": _PUZZLE.search(r["question"]).group(), "solution": gt})
            d1_answer, cells, empty = d1_parsers.sudoku(r["completion"], gt, r["question"])
            d1_ok, extra = cells == empty, {"d1_cells": [cells, empty]}
        v = t.verify(r["completion"], ex)
        out.append({"gold": gt, "d1_answer": d1_answer, "d1_correct": bool(d1_ok), "ours_answer": v.answer,
                    "ours_correct": v.correct, "ours_reason": v.reason, **extra, **v.extra})
    return out


def _pct(xs) -> float:
    xs = list(xs)
    return round(100 * sum(xs) / len(xs), 2) if xs else 0.0


KEPT = ("d1_correct", "ours_correct", "ours_lenient_correct", "ours_reason", "d1_cells", "cell_accuracy")


def regrade(src: Path, out_dir: Path, data_root: Path) -> dict:
    gold_lookup = _gsm8k_gold_lookup(data_root)
    dis_dir = out_dir / "regrade_disagreements"
    dis_dir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"source": str(src), "tasks": {}}
    for task in TASKS:
        for li, length in enumerate(LENGTHS):
            rows = [json.loads(line) for line in (src / f"{task}_len{length}.jsonl").open()]
            recs = _grade_math(task, rows, gold_lookup) if task in ("gsm8k", "math500") else _grade_logic(task, rows)
            entry = {"n": len(rows), "d1_published": D1_PUBLISHED[task][li]}
            if task == "sudoku":
                cells = [r["d1_cells"] for r in recs]
                entry["d1_reimplemented"] = round(100 * sum(c for c, _ in cells) / sum(e for _, e in cells), 2)
                entry["d1_metric"] = "cell accuracy over empty cells"
                entry["d1_solved"] = _pct(r["d1_correct"] for r in recs)
                entry["ours_cell_accuracy"] = _pct(r.get("cell_accuracy", 0.0) for r in recs)
            else:
                entry["d1_reimplemented"] = _pct(r["d1_correct"] for r in recs)
            entry["ours_strict"] = _pct(bool(r["ours_correct"]) for r in recs)
            if task in ("gsm8k", "math500"):
                entry["ours_lenient"] = _pct(r["ours_lenient_correct"] for r in recs)
            disagree = []
            for row, rec in zip(rows, recs):
                cells_differ = task == "sudoku" and rec["d1_cells"][0] != round(8 * rec.get("cell_accuracy", 0.0))
                if rec["d1_correct"] != bool(rec["ours_correct"]) or cells_differ:
                    # ids, classes and verdicts only: the released text stays in $RLDF_DATA_DIR (never committed);
                    # (shard, index) finds the row there
                    rec = {"shard": row["shard"], "index": row["index"], "class": classify(task, row, rec),
                           **{k: rec[k] for k in KEPT if k in rec}}
                    disagree.append(rec)
            with (dis_dir / f"{task}_len{length}.jsonl").open("w") as fh:
                for rec in disagree:
                    fh.write(json.dumps(rec) + "\n")
            classes: dict[str, int] = {}
            for rec in disagree:
                classes[rec["class"]] = classes.get(rec["class"], 0) + 1
            entry["disagreements"] = len(disagree)
            entry["d1_only_correct"] = sum(r["d1_correct"] for r in disagree)
            entry["ours_only_correct"] = len(disagree) - entry["d1_only_correct"]
            entry["classes"] = {c: {"count": n, "right": RIGHT.get(c, "unreviewed")}
                                for c, n in sorted(classes.items(), key=lambda kv: -kv[1])}
            summary["tasks"][f"{task}_len{length}"] = entry
    return summary


def _print_table(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="d1 LLaDA-8B-Instruct generations: d1's parser vs ours (accuracy %)")
    for col in ("task", "len", "d1 published", "d1 re-impl", "ours strict", "ours lenient", "disagree", "d1-only", "ours-only"):
        table.add_column(col, justify="right" if col != "task" else "left")
    for key, e in summary["tasks"].items():
        task, length = key.rsplit("_len", 1)
        table.add_row(task, length, f"{e['d1_published']:.1f}", f"{e['d1_reimplemented']:.2f}", f"{e['ours_strict']:.2f}",
                      f"{e['ours_lenient']:.2f}" if "ours_lenient" in e else "-", str(e["disagreements"]),
                      str(e["d1_only_correct"]), str(e["ours_only_correct"]))
    Console(width=140).print(table)
    cells = [f"{k.rsplit('_len', 1)[1]}: {e['ours_cell_accuracy']:.2f}" for k, e in summary["tasks"].items() if k.startswith("sudoku")]
    print("sudoku: d1's number is cell accuracy; 'ours strict' is solved puzzles; our cell accuracy " + ", ".join(cells))


def main(argv: list[str] | None = None) -> int:
    data_root = Path(os.environ.get("RLDF_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", type=Path, default=data_root / "external" / "d1_llada8b_instruct")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = p.parse_args(argv)
    if not args.src.is_dir():
        print(f"regrade_external: no generations at {args.src}; set RLDF_DATA_DIR or pass --src", file=sys.stderr)
        return 2
    start = time.monotonic()
    summary = regrade(args.src, args.out, data_root)
    summary["seconds"] = round(time.monotonic() - start, 1)
    (args.out / "regrade_external.json").write_text(json.dumps(summary, indent=1) + "\n")
    _print_table(summary)
    for key, e in summary["tasks"].items():
        for c, info in e["classes"].items():
            print(f"{key:17s} {info['count']:3d}  {c}  [right: {info['right']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
