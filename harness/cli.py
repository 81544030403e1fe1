"""The ``rldf`` command line: one entry point, one module per subcommand.

    rldf --help
    rldf version

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` and ``main(args)``.
Modules are imported lazily when their subcommand runs, so ``rldf --help`` stays fast and
importing the CLI never loads torch, a model or a dataset. To add a subcommand, add one line to
``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module path, one-line help). The module provides add_parser(sub) and main(args).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "version": ("harness.commands.version", "print versions of rldf and its key dependencies"),
    "model": ("harness.commands.model", "inspect a model checkpoint (rldf model info PATH)"),
    "generate": ("harness.commands.generate", "decode one prompt; --trace shows how it filled in"),
    "train": ("harness.commands.train", "RL fine-tuning with RLDF or a baseline estimator"),
    "sft": ("harness.commands.sft", "masked-diffusion supervised fine-tuning"),
    "merge": ("harness.commands.merge", "fold a LoRA adapter directory into full HF-format weights"),
    "demo": ("harness.commands.demo", "CPU demo: evaluate the tiny model, train it with RLDF, compare"),
    "tasks": ("harness.commands.tasks", "list tasks with version, kind, splits, sizes and data sources"),
    "data": ("harness.commands.data", "dataset utilities (rldf data overlap TRAIN_SOURCE EVAL_SOURCE)"),
    "eval": ("harness.commands.eval", "evaluate models on tasks under a pinned protocol (resumable, multi-process)"),
    "rescore": ("harness.commands.rescore", "grade generations produced elsewhere (JSONL) with rldf verifiers"),
    "lm-eval": ("harness.commands.lm_eval", "run lm-evaluation-harness with the rldf backend registered (--model rldf)"),
    "board": ("harness.commands.board", "result files -> leaderboard tables (md/latex/csv/html/terminal) and plots"),
    "lab": ("harness.commands.lab", "estimator lab: bias, variance, cost and usefulness of policy-gradient estimators"),
}


def _configure_threads() -> None:
    # On small CPU machines OpenMP spin-waiting stalls training steps by up to 10x; this must be
    # set before torch is imported, which is why the CLI does it first thing.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # transformers' own shard-loading/writing bars would interleave with ours
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with a (lazily filled) subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="rldf",
        description="Benchmark harness and RLDF trainer for diffusion language models (LLaDA, Dream).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_path, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_path)
        p = module.add_parser(sub, name, help_text)
        p.set_defaults(_module=module_path)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    _configure_threads()
    # Like ``python -m``: modules in the working directory resolve, so user tasks given as
    # "mymodule:TASK" work from the console script too.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    from harness.errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    module = importlib.import_module(args._module)
    try:
        rc = module.main(args)
    except UserError as exc:
        print(f"rldf {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rldf {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
