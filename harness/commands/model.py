"""``rldf model info PATH``: what a checkpoint is (family, size, dtype, special ids, vocab).

    rldf model info ../shared/fixtures/llada_tiny
    rldf model info rldf-tiny --json
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="show family, parameter count, dtype, special ids and vocab size")
    info.add_argument("path", help="checkpoint directory, hub id (org/name) or shipped name (rldf-tiny)")
    info.add_argument("--dtype", default=None, help="load in this dtype (default: the checkpoint's)")
    info.add_argument("--trust-remote-code", action="store_true", help="use the checkpoint's own modelling code")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def model_summary(lm) -> dict:
    """The facts ``rldf model info`` prints, as a dict."""
    params = sum(p.numel() for p in lm.net.parameters())
    tok = lm.tokenizer
    return {
        "path": lm.path,
        "family": lm.family,
        "architecture": type(getattr(lm.net, "inner", lm.net)).__name__,
        "parameters": params,
        "dtype": str(lm.dtype).replace("torch.", ""),
        "vocab_size": lm.vocab_size,
        "tokenizer_size": len(tok) if tok is not None else None,
        "mask_id": lm.mask_id,
        "eos_id": lm.eos_id,
        "pad_id": lm.pad_id,
        "bos_id": lm.bos_id,
        "eot_id": lm.eot_id,
        "logit_shift": lm.logit_shift,
        "chat_template": bool(getattr(tok, "chat_template", None)) if tok is not None else False,
    }


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.models import load_model

    lm = load_model(args.path, dtype=args.dtype, trust_remote_code=args.trust_remote_code)
    info = model_summary(lm)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    table = Table(title=f"model {args.path}", show_header=False)
    for key, value in info.items():
        shown = f"{value:,}" if key == "parameters" else ("-" if value is None else str(value))
        table.add_row(key, shown)
    Console().print(table)
    return 0
