"""``rldf lm-eval``: lm-evaluation-harness's own CLI, with the ``rldf`` model backend registered.

    rldf lm-eval --model rldf --model_args pretrained=GSAI-ML/LLaDA-8B-Instruct,protocol=rldf-greedy-256 \\
        --tasks gsm8k --batch_size 8 --output_path runs/lm-eval

Everything after ``lm-eval`` goes to lm-eval unchanged. lm-eval 0.4.13 has no plugin discovery
for model backends, so its stock ``lm_eval`` command cannot see ``rldf``; this command imports
``harness.lm_eval_backend`` (which registers it) and then runs lm-eval's entry point.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    # "+" as the only option prefix: every "-"-flag after "lm-eval" is left for lm-eval itself
    p = sub.add_parser(name, help=help_text, description=help_text, add_help=False, prefix_chars="+")
    p.add_argument("lm_eval_args", nargs=argparse.REMAINDER, help="arguments for lm-eval (see rldf lm-eval --help)")
    return p


def main(args: argparse.Namespace) -> int:
    from harness.errors import UserError

    try:
        from lm_eval.__main__ import cli_evaluate

        import harness.lm_eval_backend  # noqa: F401  (registers --model rldf)
    except ImportError as exc:
        raise UserError(f"lm-eval is not installed ({exc}); pip install 'rldf-harness[lm-eval]'") from exc
    saved = sys.argv
    sys.argv = ["lm-eval", *args.lm_eval_args]
    try:
        cli_evaluate()
    except SystemExit as exc:  # lm-eval's argparse exits on --help / bad flags
        return int(exc.code or 0)
    finally:
        sys.argv = saved
    return 0
