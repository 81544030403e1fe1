"""The ``RunResult`` schema: what one evaluation of one model on one task under one protocol wrote.

This file is the contract between the eval runner (``rldf eval``), ``rldf rescore``, the demo
and the leaderboards, which read the JSON without importing torch. Layout on disk::

    OUT/<model>/<task>/results.json   # a RunResult (written atomically)
    OUT/<model>/<task>/samples.jsonl  # one record per (item, sample): see SAMPLE_FIELDS

Metrics are keyed by name: ``accuracy`` (strict extraction; mean over items of the mean over
samples), ``accuracy_lenient``, ``pass@k``, ``maj@k``, ``reward_mean``. Each carries its
standard error and a 95% confidence interval so no number travels without its uncertainty.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "rldf.run_result/1"

# Keys every per-sample record in samples.jsonl carries (others may be added).
SAMPLE_FIELDS = (
    "key",  # resume key: f"{model_hash}:{protocol_hash}:{item_id}:{sample}"
    "item_id",
    "sample",  # sample index within the item, 0..K-1
    "prompt",
    "completion",
    "answer",  # extracted answer (strict) or None
    "correct",  # True / False / None (unscorable)
    "score",  # reward in [0, 1] or None
    "reason",
    "nfe",  # forward passes used for this row (None for external generations)
    "gen_tokens",  # completion tokens before EOS/PAD filler (None if unknown)
)


class ResultFileError(ValueError):
    """A results.json that is missing, unreadable or not a RunResult; the message names the file."""


@dataclass
class Metric:
    """A metric value with its uncertainty over ``n`` items."""

    value: float
    n: int
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None  # e.g. "bootstrap-95", "wilson-95"

    def __post_init__(self) -> None:
        if not isinstance(self.value, (int, float)) or math.isnan(float(self.value)):
            raise ValueError(f"metric value must be a number, got {self.value!r}")


@dataclass
class RunResult:
    """One evaluation run. Dict-valued sections keep the schema open for additions."""

    # {"id": display id, "path": str|None, "weights_hash": str|None, "family": str|None,
    #  "label": str|None, "method": str|None (e.g. "rldf", "base"), "step": int|None}
    model: dict[str, Any]
    # {"name", "version", "split", "source"}
    task: dict[str, Any]
    # {"name", "hash", "settings": {...all pinned settings...}, "external": bool, "source": str|None}
    protocol: dict[str, Any]
    metrics: dict[str, Metric]
    # {"n_items", "n_samples", "n_scored", "n_unscorable"}
    counts: dict[str, int]
    # {"nfe_mean", "tokens_per_forward", "wall_seconds", "tokens_per_second", "gen_tokens_mean"}
    speed: dict[str, float | None] = field(default_factory=dict)
    seed: int | None = None
    git_sha: str | None = None
    packages: dict[str, str | None] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    samples_file: str = "samples.jsonl"
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], origin: str = "<dict>") -> RunResult:
        """Validate and build; errors name ``origin`` and the offending field."""
        if not isinstance(data, dict):
            raise ResultFileError(f"{origin}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ResultFileError(f"{origin}: field 'schema' is {data.get('schema')!r}, expected {SCHEMA!r}")
        for key in ("model", "task", "protocol", "metrics", "counts"):
            if not isinstance(data.get(key), dict):
                raise ResultFileError(f"{origin}: missing or invalid field '{key}' (must be an object)")
        for key, sub in (("task", "name"), ("protocol", "hash"), ("model", "id")):
            if not data[key].get(sub):
                raise ResultFileError(f"{origin}: missing field '{key}.{sub}'")
        metrics = {}
        for name, m in data["metrics"].items():
            try:
                metrics[name] = Metric(**m)
            except (TypeError, ValueError) as exc:
                raise ResultFileError(f"{origin}: invalid metric 'metrics.{name}' ({exc})") from exc
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["metrics"] = metrics
        return cls(**kwargs)

    def save(self, path: str | Path) -> None:
        """Write atomically as JSON."""
        from harness.io import atomic_write_json

        atomic_write_json(path, self.to_dict())


def read_run_result(path: str | Path) -> RunResult:
    """Load a results.json; raises ``ResultFileError`` naming the file on any problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ResultFileError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultFileError(f"{path}: cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); re-run the evaluation") from exc
    return RunResult.from_dict(data, origin=str(path))
