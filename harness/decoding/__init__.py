"""Masked-diffusion decoding: ``decode(lm, prompts, SamplerConfig) -> Generation``.

``SamplerConfig`` imports without torch (CLI flag parsing uses it); the engine loads lazily.
"""

from harness.decoding.config import REMASKING, SCORES, SamplerConfig

__all__ = ["REMASKING", "SCORES", "Generation", "SamplerConfig", "decode"]


def __getattr__(name: str):
    if name in ("decode", "Generation"):
        from harness.decoding import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'harness.decoding' has no attribute {name!r}")
