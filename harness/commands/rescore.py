"""``rldf rescore``: grade generations produced elsewhere with rldf's verifiers.

    rldf rescore $RLDF_DATA_DIR/external/d1_llada8b_instruct/*.jsonl --out runs/external \\
        --model-id LLaDA-8B-Instruct --label "LLaDA-8B-Instruct (d1 generations)"
    rldf rescore gens.jsonl --task gsm8k --out runs/external

Each file becomes ``OUT/<model id>/<file stem>/results.json`` + ``samples.jsonl``: a normal
RunResult whose protocol is marked external and records the source's settings. See
``harness/eval/rescore.py`` for the row format.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("files", nargs="+", metavar="FILE.jsonl", help="generations: question, completion, ground_truth per row")
    p.add_argument("--task", help="task whose verifier grades the rows (default: the rows' 'task' field)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--model-id", help="model id recorded in the results (default: rows' 'model' field, else the folder name)")
    p.add_argument("--label", help="display label recorded as model.label")
    p.add_argument("--protocol-name", help="protocol name (default: external:<folder>/<file stem>)")
    p.add_argument("--no-match-ids", action="store_true", help="do not look questions up in the task's data for item ids")
    return p


def main(args: argparse.Namespace) -> int:
    from harness.eval.report import console as make_console
    from harness.eval.report import summary_table
    from harness.eval.rescore import rescore_file

    console = make_console()
    results = []
    for path in args.files:
        with console.status(f"grading {path}"):
            results.append(
                rescore_file(
                    path, args.out, task=args.task, model_id=args.model_id, label=args.label,
                    protocol_name=args.protocol_name,
                    ids_from_task=not args.no_match_ids,
                )
            )
    table = summary_table(results, title="rldf rescore")
    console.print(table)
    console.print(f"results in {args.out}/<model>/<file>/results.json")
    return 0
