"""``rldf board``: RunResult files -> a leaderboard table (Markdown, LaTeX, CSV, HTML, terminal) and plots.

    rldf board OUT/                                      # terminal table, rows = models
    rldf board OUT/ --spec rldf_main --format latex --out table.tex
    rldf board OUT/ --spec demo --baseline base --out board.html --plots plots/ --logs OUT/train

RESULTS are results.json files or folders searched recursively for them (default: the spec's
``results`` globs below the current folder). Files that cannot be read are named on stderr and
in the table's notes, never dropped silently. Columns that mix protocol hashes are refused
unless ``--allow-mixed-protocols`` is given. Imports pandas/matplotlib only when it runs, and
never torch.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("md", "latex", "csv", "html", "terminal")  # kept in sync with leaderboards.render.FORMATS (tested)
_SHOWN = 5  # ignored/skipped paths listed on stderr before "... and N more"


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    examples = __doc__.split("\n\n")[1]
    p = sub.add_parser(name, help=help_text, description=help_text, epilog="examples:\n" + examples,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="*", metavar="RESULTS", help="results.json files or folders searched for them")
    p.add_argument("--spec", help="table spec: a YAML path or the name of a shipped spec (rldf_main, demo, llada_regrade)")
    p.add_argument("--baseline", metavar="ROW", help="row id or label to compute deltas and significance against")
    p.add_argument("--format", choices=FORMATS, help="output format (default: from --out's suffix, else terminal)")
    p.add_argument("--out", metavar="FILE", help="write the table here instead of stdout")
    p.add_argument("--allow-mixed-protocols", action="store_true",
                   help="allow a column to hold results of different protocol hashes (footnoted)")
    p.add_argument("--plots", metavar="DIR", help="also write accuracy-vs-NFE and training-curve plots (PNG+SVG) here")
    p.add_argument("--logs", nargs="+", metavar="LOG", default=[],
                   help="trainer JSONL logs (or folders with metrics.jsonl) for training curves; needs --plots")
    return p


def _warn(msg: str) -> None:
    print(f"rldf board: {msg}", file=sys.stderr)


def _list(items: list[str]) -> str:
    head = "; ".join(items[:_SHOWN])
    return head + (f"; ... and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _readable(path) -> None:
    """Give the output file normal permissions (atomic writes create it 0600 via mkstemp)."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from harness.errors import UserError
    from harness.io import atomic_write_text
    from leaderboards.collect import find_result_files, load_runs
    from leaderboards.render import format_from_suffix, render
    from leaderboards.spec import default_spec, load_spec, resolve_spec_path
    from leaderboards.table import build_board

    if args.logs and not args.plots:
        raise UserError("--logs draws training curves and needs --plots DIR to write them to")
    fmt = args.format or (format_from_suffix(args.out) if args.out else None) or "terminal"
    spec = load_spec(resolve_spec_path(args.spec)) if args.spec else None
    files = find_result_files(args.results or ["."], spec.results if spec else None)
    collection = load_runs(files, spec.metric_for_task if spec else (lambda task: "accuracy"),
                           spec.fraction_for_task if spec else (lambda task: True))
    for s in collection.skipped:
        _warn(f"warning: skipped {s.path}: {s.reason}")
    if not collection.runs:
        raise UserError(f"no usable result among {len(files)} file(s) ({len(collection.skipped)} skipped, see above)")
    spec = spec or default_spec(collection.runs)
    board = build_board(collection.runs, spec, collection.skipped, args.baseline, args.allow_mixed_protocols)
    if not (board.cells["kind"] == "measured").any():
        raise UserError(
            f"none of the {len(collection.runs)} result(s) fits a row and column of {spec.source}: {_list(board.ignored)}"
        )
    if board.ignored:
        _warn(f"note: {len(board.ignored)} result(s) not selected by {spec.source or 'the table'}: {_list(board.ignored)}")
    if board.empty_rows:
        _warn(f"note: spec rows without results (not shown): {', '.join(board.empty_rows)}")

    plots: list[Path] = []
    if args.plots:
        from leaderboards.plots import plot_accuracy_vs_nfe, plot_training_curves
        from leaderboards.trainlogs import load_logs

        logs, bad_logs = load_logs(args.logs)
        for s in bad_logs:
            _warn(f"warning: skipped training log {s.path}: {s.reason}")
        plots += plot_accuracy_vs_nfe(board, Path(args.plots))
        plots += plot_training_curves(logs, Path(args.plots))
        if not plots:
            _warn("note: nothing to plot (no speed.nfe_mean/tokens_per_forward in the results and no --logs)")
        for p in plots:
            _warn(f"wrote {p}")

    if fmt == "terminal" and not args.out:
        from rich.console import Console

        from leaderboards.render_terminal import print_board

        print_board(board, Console())
        return 0
    text = render(board, fmt, [p for p in plots if p.suffix == ".svg"])
    if args.out:
        atomic_write_text(args.out, text)
        _readable(Path(args.out))
        _warn(f"wrote {args.out} ({fmt})")
    else:
        sys.stdout.write(text)
    return 0
