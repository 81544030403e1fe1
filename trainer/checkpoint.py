"""Checkpoints with full training state, written atomically, weights stored once, best-k retention.

Layout under ``OUT/checkpoints``::

    step-000010/            # a Hugging Face model dir: load_model() / from_pretrained() read it
      config.json model.safetensors tokenizer.json ...
      trainer_state.json    # step, metrics, the resolved config, data position
      state/                # what resume needs besides the exported weights
        dcp/                # torch.distributed.checkpoint: optimizer state (sharded under FSDP),
                            # plus the float32 master weights when the export is lower precision
        scheduler.pt rng-<rank>.pt
      COMPLETE              # written last: a directory without it is ignored
    latest                  # name of the newest complete checkpoint

The exported weights are in the model's published dtype (``model.dtype``: bfloat16 for
LLaDA/Dream) and ``config.json`` says so. Resume needs the float32 master weights: when the
export is float32 it *is* that copy and ``state/`` holds no weights; when it is bf16 the master
weights live in ``state/dcp`` only. No checkpoint stores the same tensors twice (at 8B the old
layout duplicated 16-32 GB per checkpoint). Under DeepSpeed, ``state/`` is DeepSpeed's own
checkpoint (``accelerate.save_state``).

A checkpoint is first written to ``.tmp-step-...`` and renamed into place, so a run killed while
saving leaves the previous checkpoint intact. Only the newest checkpoint keeps ``state/``;
older ones kept for their eval score ("best-k") keep the exported weights only.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch

from harness.io import atomic_write_json, atomic_write_text


def _trainable_only():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(ignore_frozen_params=True)


class CheckpointManager:
    """Saves and finds checkpoints for one run directory; ``save``/``load`` are collective."""

    def __init__(self, runtime: Any, out_dir: str | Path, keep_best: int = 1, mode: str = "max",
                 export_dtype: torch.dtype = torch.float32) -> None:
        self.rt = runtime
        self.acc = runtime.acc
        self.root = Path(out_dir) / "checkpoints"
        self.keep_best = keep_best
        self.mode = mode
        self.export_dtype = export_dtype

    @property
    def adapters(self) -> bool:
        """True for LoRA runs: the export is peft's adapter directory (float32 adapters)."""
        from trainer.lora import is_peft

        return is_peft(self.rt.unwrap(self.rt.net))

    @property
    def weights_in_state(self) -> bool:
        """True when the export is lossy, so resume needs the master weights from ``state/``."""
        return self.export_dtype != torch.float32 and not self.adapters

    def _name(self, step: int) -> str:
        return f"step-{step:06d}"

    def complete(self) -> list[Path]:
        if not self.root.exists():
            return []
        return sorted(p for p in self.root.iterdir() if p.name.startswith("step-") and (p / "COMPLETE").exists())

    def latest(self) -> Path | None:
        """The newest complete checkpoint, or None."""
        done = self.complete()
        return done[-1] if done else None

    def save(self, step: int, optimizer: Any, scheduler: Any, tokenizer: Any, trainer_state: dict[str, Any],
             metric: float | None) -> Path:
        """Collective: every process must call it. Returns the checkpoint directory."""
        acc = self.acc
        final = self.root / self._name(step)
        tmp = self.root / f".tmp-{self._name(step)}"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        acc.wait_for_everyone()
        self._save_state(tmp / "state", optimizer, scheduler)
        full = self.rt.full_state_dict()
        if acc.is_main_process:
            if self.adapters:  # adapter_config.json + adapter_model.safetensors, float32
                # embeddings are never adapted here: skip peft's hub look-up of the base's vocabulary
                self.rt.unwrap(self.rt.net).save_pretrained(str(tmp), state_dict=full, save_embedding_layers=False)
            else:
                export = {k: v.detach().to(self.export_dtype) for k, v in full.items()}
                self.rt.unwrap(self.rt.net).save_pretrained(str(tmp), state_dict=export)
                _set_config_dtype(tmp / "config.json", self.export_dtype)
            if tokenizer is not None:
                tokenizer.save_pretrained(str(tmp))
            atomic_write_json(tmp / "trainer_state.json", {**trainer_state, "step": step, "metric": metric})
            atomic_write_text(tmp / "COMPLETE", "ok\n")
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
            atomic_write_text(self.root / "latest", final.name + "\n")
            self._prune()
        acc.wait_for_everyone()
        return final

    def load(self, path: Path, optimizer: Any, scheduler: Any) -> dict[str, Any]:
        """Restore weights, optimizer, scheduler and RNG from ``path``; return its trainer state."""
        if self.rt.strategy == "deepspeed":
            self.acc.load_state(str(path / "state"))
        else:
            self._load_state(path, optimizer, scheduler)
        return json.loads((path / "trainer_state.json").read_text())

    # --- state/ (everything but DeepSpeed) ----------------------------------------------------
    def _save_state(self, state_dir: Path, optimizer: Any, scheduler: Any) -> None:
        if self.rt.strategy == "deepspeed":
            self.acc.save_state(str(state_dir))
            return
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict

        model_sd, optim_sd = get_state_dict(self.rt.net, _inner(optimizer), options=_trainable_only())
        payload = {"optim": optim_sd, **({"model": model_sd} if self.weights_in_state else {})}
        with _single_process_ok():
            dcp.save(payload, checkpoint_id=str(state_dir / "dcp"))
        if self.acc.is_main_process:
            torch.save(scheduler.state_dict(), state_dir / "scheduler.pt")
        torch.save(_rng_state(), state_dir / f"rng-{self.acc.process_index}.pt")

    def _load_state(self, path: Path, optimizer: Any, scheduler: Any) -> None:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_state_dict,
            set_model_state_dict,
            set_optimizer_state_dict,
        )

        state_dir = path / "state"
        stored = _weights_in(state_dir / "dcp")
        model_sd, optim_sd = get_state_dict(self.rt.net, _inner(optimizer), options=_trainable_only())
        payload = {"optim": optim_sd, **({"model": model_sd} if stored else {})}
        with _single_process_ok():
            dcp.load(payload, checkpoint_id=str(state_dir / "dcp"))
        if stored:
            set_model_state_dict(self.rt.net, payload["model"])
        else:  # the float32 export (full weights or adapters) is the master copy
            exported = read_exported_weights(path)
            if self.adapters:  # peft drops the adapter name from its keys; put it back
                exported = {k: exported[k.replace(".default.", ".")] for k in model_sd}
            set_model_state_dict(self.rt.net, exported,
                                 options=StateDictOptions(full_state_dict=True, strict=not self.adapters))
        set_optimizer_state_dict(self.rt.net, _inner(optimizer), payload["optim"])
        scheduler.load_state_dict(torch.load(state_dir / "scheduler.pt", weights_only=False))
        rng = state_dir / f"rng-{self.acc.process_index}.pt"
        if rng.exists():
            _set_rng_state(torch.load(rng, weights_only=False))

    # --- retention ------------------------------------------------------------------------------
    def _prune(self) -> None:
        done = self.complete()
        if not done:
            return
        newest = done[-1]
        scored = []
        for p in done:
            st = json.loads((p / "trainer_state.json").read_text())
            if st.get("metric") is not None:
                scored.append((float(st["metric"]), int(st["step"]), p))
        sign = 1 if self.mode == "max" else -1
        best = {p for _, _, p in sorted(scored, key=lambda t: (-sign * t[0], -t[1]))[: self.keep_best]}
        for p in done:
            if p == newest:
                continue
            if p in best:
                shutil.rmtree(p / "state", ignore_errors=True)  # weights only for kept-for-score checkpoints
            else:
                shutil.rmtree(p)

    def best(self) -> Path | None:
        """The checkpoint with the best recorded metric (ties: the newest), or None."""
        sign = 1 if self.mode == "max" else -1
        scored = []
        for p in self.complete():
            st = json.loads((p / "trainer_state.json").read_text())
            if st.get("metric") is not None:
                scored.append((sign * float(st["metric"]), int(st["step"]), p))
        return max(scored)[2] if scored else None


def read_exported_weights(ckpt: Path) -> dict[str, torch.Tensor]:
    """The HF-format weights (single file or shards), or peft adapter weights, of a checkpoint."""
    from safetensors.torch import load_file

    out: dict[str, torch.Tensor] = {}
    for f in sorted(Path(ckpt).glob("model*.safetensors")) + sorted(Path(ckpt).glob("adapter_model*.safetensors")):
        out.update(load_file(str(f)))
    return out


def master_weights(ckpt: Path) -> dict[str, torch.Tensor]:
    """The full-precision weights that resume loads: ``state/dcp`` when stored there, else the export."""
    from torch.distributed.checkpoint.format_utils import dcp_to_torch_save

    state = Path(ckpt) / "state" / "dcp"
    if not (state.exists() and _weights_in(state)):
        return read_exported_weights(ckpt)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        dcp_to_torch_save(str(state), f"{tmp}/all.pt")
        everything = torch.load(f"{tmp}/all.pt", weights_only=False)
    return dict(everything["model"])


def _weights_in(dcp_dir: Path) -> bool:
    """Whether a state checkpoint holds model weights (the export was lossy) or optimizer state only."""
    import torch.distributed.checkpoint as dcp

    return any(k.startswith("model.") for k in dcp.FileSystemReader(str(dcp_dir)).read_metadata().state_dict_metadata)


@contextlib.contextmanager
def _single_process_ok():
    """DCP warns when no process group exists; a single process is a supported case here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def _inner(optimizer: Any) -> torch.optim.Optimizer:
    return getattr(optimizer, "optimizer", optimizer)  # accelerate's AcceleratedOptimizer wraps it


def _set_config_dtype(config_json: Path, dtype: torch.dtype) -> None:
    """Record the exported dtype (save_pretrained writes the in-memory float32)."""
    cfg = json.loads(config_json.read_text())
    cfg["dtype"] = str(dtype).removeprefix("torch.")
    atomic_write_json(config_json, cfg)


def _rng_state() -> dict[str, Any]:
    import numpy as np

    return {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np

    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
