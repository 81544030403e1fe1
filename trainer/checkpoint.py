"""Checkpoints with full training state, written atomically, with best-k retention.

Layout under ``OUT/checkpoints``::

    step-000010/            # a Hugging Face model dir: load_model() / from_pretrained() read it
      config.json model.safetensors tokenizer.json ...
      trainer_state.json    # step, metrics, the resolved config, data position
      state/                # accelerate.save_state: optimizer, scheduler, RNG of every process
      COMPLETE              # written last: a directory without it is ignored
    latest                  # name of the newest complete checkpoint

A checkpoint is first written to ``.tmp-step-...`` and renamed into place, so a run killed while
saving leaves the previous checkpoint intact. Only the newest checkpoint keeps ``state/``;
older ones kept for their eval score ("best-k") keep the weights only.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from harness.io import atomic_write_json, atomic_write_text


class CheckpointManager:
    """Saves and finds checkpoints for one run directory."""

    def __init__(self, accelerator: Any, out_dir: str | Path, keep_best: int = 1, mode: str = "max") -> None:
        self.acc = accelerator
        self.root = Path(out_dir) / "checkpoints"
        self.keep_best = keep_best
        self.mode = mode

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

    def save(self, step: int, net: Any, tokenizer: Any, trainer_state: dict[str, Any], metric: float | None) -> Path:
        """Collective: every process must call it. Returns the checkpoint directory."""
        acc = self.acc
        final = self.root / self._name(step)
        tmp = self.root / f".tmp-{self._name(step)}"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp / "state"))
        state_dict = acc.get_state_dict(net)
        if acc.is_main_process:
            acc.unwrap_model(net).save_pretrained(str(tmp), state_dict=state_dict)
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

    def load(self, path: Path, with_state: bool = True) -> dict[str, Any]:
        """Restore optimizer/scheduler/RNG/model from ``path/state``; return its trainer state."""
        if with_state:
            self.acc.load_state(str(path / "state"))
        return json.loads((path / "trainer_state.json").read_text())

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
