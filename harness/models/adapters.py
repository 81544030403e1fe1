"""LoRA adapter directories (peft's format) as models: load one over its base, or merge it.

An adapter directory holds ``adapter_config.json`` (whose ``base_model_name_or_path`` names the
base) and ``adapter_model.safetensors``, as ``PeftModel.save_pretrained`` writes them; ``rldf
train`` with ``model.lora`` writes its checkpoints this way. ``load_model`` accepts such a
directory and runs the base with the adapter applied through peft's forward (nothing merged on
disk); ``merge_adapter`` folds it into full HF-format weights in the official layout, which
the reference implementations load too.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import UserError

ADAPTER_CONFIG = "adapter_config.json"


def is_adapter_dir(path: str | os.PathLike) -> bool:
    """True for a directory with peft's adapter files and no full model config."""
    p = Path(path).expanduser()
    return p.is_dir() and (p / ADAPTER_CONFIG).exists() and not (p / "config.json").exists()


def adapter_base(path: str | os.PathLike, base: str | None = None) -> str:
    """The base model of an adapter: ``base`` when given, else the one its config names."""
    if base:
        return base
    cfg_path = Path(path) / ADAPTER_CONFIG
    try:
        named = json.loads(cfg_path.read_text()).get("base_model_name_or_path")
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{cfg_path}: not readable JSON ({exc})") from exc
    if not named:
        raise UserError(f"{cfg_path}: no base_model_name_or_path; pass the base model with --base")
    return str(named)


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """peft asks transformers' deprecated ``is_gradient_checkpointing``; that warning is not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def apply_adapter(lm: Any, path: str | os.PathLike) -> Any:
    """``lm`` with the adapter at ``path`` applied (peft's unmerged forward), in eval mode."""
    from peft import PeftModel

    try:
        with quiet_peft():
            lm.net = PeftModel.from_pretrained(lm.net, str(path), is_trainable=False).eval()
    except (ValueError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: the adapter does not fit base {lm.path or lm.name}: {first}") from exc
    lm.base, lm.path, lm.name = lm.path, str(path), Path(path).name
    return lm


def merge_adapter(base: str, adapter: str | os.PathLike, out: str | os.PathLike, dtype: str | None = None) -> Path:
    """Write base + adapter as full weights (the base's published dtype unless ``dtype``) to ``out``."""
    from harness.models.loading import load_model

    lm = apply_adapter(load_model(base, dtype=dtype), adapter)
    merged = lm.net.merge_and_unload()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    if lm.tokenizer is not None:
        lm.tokenizer.save_pretrained(str(out))
    return out
