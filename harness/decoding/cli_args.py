"""Sampler flags shared by every CLI command that decodes (``generate``, ``eval`` overrides)."""

from __future__ import annotations

import argparse
from dataclasses import fields, replace

from harness.decoding.config import CACHES, REMASKING, SCORE_DTYPES, SCORES, SamplerConfig


def add_sampler_args(parser: argparse.ArgumentParser) -> None:
    """Add one flag per ``SamplerConfig`` field (defaults None = keep the base config's value)."""
    g = parser.add_argument_group("sampler")
    g.add_argument("--gen-length", type=int, help="completion length in tokens")
    g.add_argument("--block-length", type=int, help="block size (must divide --gen-length)")
    g.add_argument("--steps", type=int, help="forward budget for static remasking")
    g.add_argument("--remasking", choices=REMASKING, help="static schedule, threshold (parallel) decoding, or Dream's own sampler")
    g.add_argument("--threshold", type=float, help="score threshold for threshold remasking, in (0, 1]")
    g.add_argument("--score", choices=SCORES, help="how positions are ranked")
    g.add_argument("--temperature", type=float, help="0 = greedy")
    g.add_argument("--top-p", type=float, help="nucleus truncation, (0, 1]")
    g.add_argument("--top-k", type=int, help="top-k truncation, 0 = off")
    g.add_argument("--cache", choices=CACHES, help="KV cache: none, prefix, or dual (prefix and suffix)")
    g.add_argument("--use-cache", dest="cache", action="store_const", const="prefix", help="same as --cache prefix")
    g.add_argument("--cache-refresh", type=int, help="with --cache prefix: recompute the cached prefix every N forwards (0 = per block)")
    g.add_argument("--cfg-scale", type=float, help="classifier-free guidance scale, 0 = off")
    g.add_argument("--eps", type=float, help="--remasking dream: last timestep of the schedule, in (0, 1)")
    g.add_argument("--alg-temp", type=float, help="--remasking dream: 0 = top-scored positions, > 0 = drawn")
    g.add_argument("--score-dtype", choices=SCORE_DTYPES, help="precision of the scoring softmax (default: the mode's reference)")
    g.add_argument("--stop-at-eos", action=argparse.BooleanOptionalAction, default=None, help="finish rows at EOS")
    g.add_argument("--defer-eos", action=argparse.BooleanOptionalAction, default=None, help="commit EOS last")
    g.add_argument("--seed", type=int, help="sampling seed")


def sampler_from_args(args: argparse.Namespace, base: SamplerConfig | None = None) -> SamplerConfig:
    """``base`` (default: SamplerConfig()) with every flag the user gave applied on top."""
    base = base or SamplerConfig()
    changes = {}
    for f in fields(SamplerConfig):
        value = getattr(args, f.name, None)
        if value is not None:
            changes[f.name] = value
    return replace(base, **changes)
