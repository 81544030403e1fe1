"""``rldf rescore``: grade generations produced elsewhere with rldf's verifiers.

    rldf rescore $RLDF_DATA_DIR/external/d1_llada8b_instruct/*.jsonl --out runs/external \\
        --model-id LLaDA-8B-Instruct --label "LLaDA-8B-Instruct (d1 generations)"
    rldf rescore gens.jsonl --task gsm8k --out runs/external
    rldf rescore $RLDF_DATA_DIR/external/dllm4code/humaneval/humaneval_llada.jsonl --out runs/code
    rldf rescore $RLDF_DATA_DIR/external/adaptive_dllm/llada15_gsm8k/samples.jsonl --out runs/external

Each file becomes ``OUT/<model id>/<file stem>/results.json`` + ``samples.jsonl``: a normal
RunResult whose protocol is marked external and records the source's settings. Formats (d1,
lm-eval --log_samples, human-eval, program lists) are detected unless --format names one; see
``harness/eval/importers.py`` for each and ``harness/eval/rescore.py`` for the grading.
"""

from __future__ import annotations

import argparse

# harness.eval.importers.FORMATS, spelled out here: importing harness.eval would load torch at
# parser build time (tests/harness/test_rescore_formats.py checks the two lists agree)
FORMAT_CHOICES = ("auto", "d1", "lm-eval", "human-eval", "programs")


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("files", nargs="+", metavar="FILE", help="generations (d1 / lm-eval / human-eval JSONL, or a JSON program list)")
    p.add_argument("--format", default="auto", choices=FORMAT_CHOICES,
                   help="file format (default: detected from the rows, and printed)")
    p.add_argument("--task", help="task whose verifier grades the rows (default: the rows' 'task' field)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--model-id", help="model id recorded in the results (default: rows' 'model' field, else the folder name)")
    p.add_argument("--label", help="display label recorded as model.label")
    p.add_argument("--protocol-name", help="protocol name (default: external:<folder>/<file stem>)")
    p.add_argument("--parser", default="strict", choices=("strict", "lenient"),
                   help="headline parser of the protocol (math: which extraction 'accuracy' reports; both are kept)")
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
            result = rescore_file(
                path, args.out, task=args.task, model_id=args.model_id, label=args.label,
                protocol_name=args.protocol_name, ids_from_task=not args.no_match_ids, fmt=args.format,
                parser=args.parser,
            )
        how = "detected" if args.format == "auto" else "given"
        console.print(f"{path}: format {result.task['format']} ({how}), task {result.task['name']}, "
                      f"{result.counts['n_items']} items, {_counts_line(result.counts)}")
        results.append(result)
    table = summary_table(results, title="rldf rescore")
    console.print(table)
    console.print(f"results in {args.out}/<model>/<file>/results.json")
    return 0


def _counts_line(counts: dict) -> str:
    """The agreement and run-status counts of one result, for the per-file line."""
    keys = ("agree", "disagree", "timeout", "oom", "sandbox_error", "no_code", "no_tests", "n_unscorable")
    return ", ".join(f"{k} {counts[k]}" for k in keys if k in counts) or "no source verdicts"
