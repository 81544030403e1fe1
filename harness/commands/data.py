"""``rldf data``: dataset utilities; for now the contamination check.

    rldf data overlap TRAIN_SOURCE EVAL_SOURCE [--json] [--show N]
    rldf data overlap ../shared/data/MATH_rldf.json math500      # 248 overlapping problems

A source is a task name (``math500``), ``name:split`` (``gsm8k:train``), or a JSON/JSONL/parquet
file whose rows have a ``question`` (or ``problem``/``prompt``/``text``) field. Exit code 0 when
there is no overlap, 1 when there is (so scripts and CI can gate on it).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    actions = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    ov = actions.add_parser("overlap", help="report eval questions that also appear in training data")
    ov.add_argument("train_source", help="task name, name:split, or data file")
    ov.add_argument("eval_source", help="task name, name:split, or data file")
    ov.add_argument("--json", action="store_true", help="print the full report as JSON")
    ov.add_argument("--show", type=int, default=5, metavar="N", help="show the first N matches (default 5)")
    return p


def load_source(spec: str):
    """Examples of a source spec (see module docstring) and a label for it."""
    from harness.errors import UserError
    from tasks import Example, get_task, list_tasks
    from tasks.data import read_file

    path = Path(spec)
    if path.is_dir():
        raise UserError(f"{spec} is a directory; pass a data file or a task name")
    if path.exists() or path.suffix in (".json", ".jsonl", ".parquet"):
        rows = read_file(path)
        qs = [rows.field(i, ("question", "problem", "prompt", "text")) for i in range(len(rows.rows))]
        return [Example(id=f"row{i + 1}", question=q, answer=None) for i, q in enumerate(qs)], str(path)
    name, _, split = spec.partition(":")
    if split and name in list_tasks():
        return get_task(name).load(split=split), spec
    task = get_task(spec)
    return task.load(), f"{spec}:{task.default_split}"


def main(args: argparse.Namespace) -> int:
    from tasks.overlap import find_overlap

    train, train_label = load_source(args.train_source)
    evals, eval_label = load_source(args.eval_source)
    report = find_overlap(train, evals, train_label, eval_label)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 1 if report.matches else 0
    n_ev, n_tr = len(report.eval_ids), len(report.train_ids)
    print(f"train: {train_label} ({report.n_train} items)   eval: {eval_label} ({report.n_eval} items)")
    print(
        f"overlapping eval items: {n_ev}/{report.n_eval} ({100 * n_ev / max(1, report.n_eval):.1f}%)  "
        f"[exact {report.exact}, normalized-only {report.normalized_only}]; "
        f"overlapping train items: {n_tr}/{report.n_train}"
    )
    for m in report.matches[: args.show]:
        print(f"  {m.kind:10s} train {m.train_id} = eval {m.eval_id}: {m.question[:90]!r}")
    if len(report.matches) > args.show:
        print(f"  ... {len(report.matches) - args.show} more (use --json for all)")
    return 1 if report.matches else 0
