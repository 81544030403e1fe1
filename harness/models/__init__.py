"""Native LLaDA and Dream models and the ``load_model`` entry point.

Importing this package registers both architectures with transformers' Auto classes
(``AutoConfig``/``AutoModel``/``AutoModelForMaskedLM``), so ``from_pretrained`` on an official
checkpoint picks the native code without ``trust_remote_code``. It loads no weights.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM

from harness.models.base import FAMILIES, DiffusionLM
from harness.models.dream import DreamConfig, DreamModel
from harness.models.llada import LLaDAConfig, LLaDAModelLM
from harness.models.loading import SHIPPED, load_model, parse_dtype, resolve_model_path, weights_fingerprint


def _register() -> None:
    for cfg, model in ((LLaDAConfig, LLaDAModelLM), (DreamConfig, DreamModel)):
        AutoConfig.register(cfg.model_type, cfg, exist_ok=True)
        AutoModel.register(cfg, model, exist_ok=True)
        AutoModelForMaskedLM.register(cfg, model, exist_ok=True)


_register()

__all__ = [
    "FAMILIES",
    "SHIPPED",
    "DiffusionLM",
    "DreamConfig",
    "DreamModel",
    "LLaDAConfig",
    "LLaDAModelLM",
    "load_model",
    "parse_dtype",
    "resolve_model_path",
    "weights_fingerprint",
]
