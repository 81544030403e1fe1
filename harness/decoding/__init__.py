"""Masked-diffusion decoding: ``decode(lm, prompts, SamplerConfig) -> Generation``."""

from harness.decoding.config import REMASKING, SCORES, SamplerConfig
from harness.decoding.engine import Generation, decode

__all__ = ["REMASKING", "SCORES", "Generation", "SamplerConfig", "decode"]
