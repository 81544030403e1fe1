"""Training metrics as JSONL (one line per step), resumable, with optional TensorBoard.

On resume the file is cut back to the checkpoint's step, so a resumed run's log is identical
to a straight run's. Values are plain floats; non-finite values are written as null.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from harness.io import append_jsonl, atomic_write_text, read_jsonl


class MetricsLog:
    """Appends ``{"step": s, ...}`` records to ``path`` (rank 0 only)."""

    def __init__(self, path: str | Path, enabled: bool = True, tensorboard_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._tb = None
        if enabled and tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:  # tensorboard is optional
                raise RuntimeError("logging.tensorboard is on but the tensorboard package is not installed") from exc
            self._tb = SummaryWriter(str(tensorboard_dir))

    def truncate_after(self, step: int) -> None:
        """Drop records with ``step`` > the given step (used when resuming)."""
        if not self.enabled or not self.path.exists():
            return
        keep = [r for r in read_jsonl(self.path) if int(r.get("step", -1)) <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def log(self, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        rec: dict[str, Any] = {"step": step}
        for k, v in values.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            rec[k] = v
        append_jsonl(self.path, [rec])
        if self._tb is not None:
            for k, v in rec.items():
                if isinstance(v, (int, float)) and k != "step":
                    self._tb.add_scalar(k, v, step)

    def records(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.path)) if self.path.exists() else []
