"""Trainer logs (JSONL metrics) -> one pandas frame per run, for training-curve plots.

Each line of a log is a JSON object; the lines we use carry ``step``, ``time`` (seconds since
the run started) and ``reward_mean``, and evaluation lines may add ``eval_accuracy`` (a fraction,
like RunResult accuracies, or a percentage if above 1). Other keys are ignored, so the trainer
can log whatever else it wants. A directory argument is searched for ``metrics.jsonl``. Files
that cannot be used are returned as ``Skipped`` with a reason, as result files are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import UserError
from harness.io import read_jsonl
from leaderboards.collect import Skipped

LOG_NAME = "metrics.jsonl"
COLUMNS = ("step", "time", "reward_mean", "eval_accuracy")


@dataclass
class TrainingLog:
    label: str
    path: str
    frame: pd.DataFrame  # columns COLUMNS, sorted by step; eval_accuracy in % (NaN where absent)

    @property
    def has_accuracy(self) -> bool:
        return bool(self.frame["eval_accuracy"].notna().any())


def find_logs(paths: list[str]) -> list[tuple[str, Path]]:
    """Expand --logs arguments: files as given, folders searched recursively for metrics.jsonl."""
    out: list[tuple[str, Path]] = []
    for arg in paths:
        p = Path(arg)
        if p.is_file():
            out.append((arg, p))
        elif p.is_dir():
            found = sorted(p.rglob(LOG_NAME))
            if not found:
                raise UserError(f"--logs {arg}: no {LOG_NAME} below this folder")
            out += [((Path(arg) / f.relative_to(p)).as_posix(), f) for f in found]
        else:
            raise UserError(f"--logs {arg}: no such file or directory")
    return out


def _number(x: object) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or math.isnan(float(x)):
        return None
    return float(x)


def read_log(display: str, path: Path) -> TrainingLog | Skipped:
    """Parse one log; a torn last line is tolerated, other corruption skips the file."""
    try:
        records = list(read_jsonl(path))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return Skipped(display, f"unreadable training log ({exc})")
    rows = []
    for rec in records:
        if not isinstance(rec, dict):
            continue
        step, time = _number(rec.get("step")), _number(rec.get("time"))
        if step is None or time is None:
            continue
        reward, acc = _number(rec.get("reward_mean")), _number(rec.get("eval_accuracy"))
        if reward is None and acc is None:
            continue
        rows.append({"step": step, "time": time, "reward_mean": reward, "eval_accuracy": acc})
    if not any(r["reward_mean"] is not None for r in rows):
        return Skipped(display, "no line with numeric 'step', 'time' and 'reward_mean'")
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).astype(float).sort_values("step", kind="stable")
    acc = frame["eval_accuracy"]
    if acc.notna().any() and acc.max() <= 1.0:
        frame["eval_accuracy"] = acc * 100.0
    label = path.parent.name if path.name == LOG_NAME else path.stem
    return TrainingLog(label=label or display, path=display, frame=frame.reset_index(drop=True))


def load_logs(paths: list[str]) -> tuple[list[TrainingLog], list[Skipped]]:
    """Load every log; labels that collide are replaced by the log's folder path."""
    logs: list[TrainingLog] = []
    skipped: list[Skipped] = []
    for display, path in find_logs(paths):
        got = read_log(display, path)
        (skipped if isinstance(got, Skipped) else logs).append(got)
    labels = [lg.label for lg in logs]
    for lg in logs:
        if labels.count(lg.label) > 1:
            lg.label = Path(lg.path).parent.as_posix()
    return logs, skipped
