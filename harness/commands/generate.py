"""``rldf generate``: decode one prompt and show how the completion filled in.

    rldf generate --model rldf-tiny --prompt "12+34*5=" --gen-length 32 --block-length 32 --trace
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    from harness.decoding.cli_args import add_sampler_args

    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--model", required=True, help="checkpoint directory, hub id or shipped name (rldf-tiny)")
    p.add_argument("--prompt", required=True, help="prompt text (sent as-is unless --chat)")
    p.add_argument("--chat", action="store_true", help="wrap the prompt with the tokenizer's chat template")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default=None, help="float32, bf16, ... (default: the checkpoint's)")
    p.add_argument("--trace", action="store_true", help="show the completion after every forward")
    add_sampler_args(p)
    return p


def render_trace(lm, g, console) -> None:
    """Print the completion after every forward: masks as '·', new tokens highlighted."""
    from rich.text import Text

    prev = None
    for t, snap in enumerate(g.trace):
        row = snap[0]
        line = Text(f"{t:3d} ")
        for j, tok in enumerate(row.tolist()):
            if tok == lm.mask_id:
                line.append("·", style="dim")
                continue
            piece = lm.tokenizer.decode([tok]) if lm.tokenizer is not None else f"<{tok}>"
            if tok in lm.stop_ids():
                piece = "⏎"
            fresh = prev is None or prev[j] == lm.mask_id
            line.append(piece.replace("\n", "↵"), style="bold green" if fresh else None)
        console.print(line)
        prev = row.tolist()


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.decoding import decode
    from harness.decoding.cli_args import sampler_from_args
    from harness.errors import UserError
    from harness.models import load_model

    try:
        cfg = sampler_from_args(args)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    lm = load_model(args.model, device=args.device, dtype=args.dtype)
    prompt = args.prompt
    if args.chat:
        if lm.tokenizer is None or not getattr(lm.tokenizer, "chat_template", None):
            raise UserError(f"{args.model} has no chat template; drop --chat or format the prompt yourself")
        prompt = lm.tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    console = Console()
    g = decode(lm, [prompt], cfg, trace=args.trace)
    if args.trace:
        render_trace(lm, g, console)
    console.print(g.text[0], markup=False, highlight=False)
    console.print(
        f"[dim]nfe={int(g.nfe[0])} tokens/forward={g.tokens_per_forward():.2f} "
        f"gen_tokens={int(g.gen_tokens[0])} time={g.wall_time:.2f}s[/dim]"
    )
    return 0
