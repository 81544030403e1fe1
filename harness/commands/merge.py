"""``rldf merge``: fold a LoRA adapter directory into full HF-format weights.

    rldf merge --adapter runs/lora/checkpoints/step-000100 --out merged/ [--base GSAI-ML/LLaDA-8B-Instruct]

The output is a checkpoint in the official layout (config.json, safetensors, tokenizer) in the
base's published dtype, loadable by ``load_model``, ``from_pretrained`` and the reference code.
Evaluating an adapter does not need this: ``rldf eval --model ADAPTER_DIR`` applies it on the fly.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--adapter", required=True, help="adapter directory (adapter_config.json + adapter_model.safetensors)")
    p.add_argument("--base", help="base checkpoint (default: the adapter config's base_model_name_or_path)")
    p.add_argument("--out", required=True, help="directory for the merged checkpoint")
    p.add_argument("--dtype", default=None, help="dtype of the merged weights (default: the base's)")
    return p


def main(args: argparse.Namespace) -> int:
    from harness.errors import UserError
    from harness.models.adapters import adapter_base, is_adapter_dir, merge_adapter

    if not is_adapter_dir(args.adapter):
        raise UserError(f"--adapter {args.adapter}: not an adapter directory (needs adapter_config.json, no config.json)")
    out = merge_adapter(adapter_base(args.adapter, args.base), args.adapter, args.out, args.dtype)
    print(f"merged {args.adapter} into {out}")
    return 0
