"""Per-sample records on disk: crash-safe appends, resume, and the final merged ``samples.jsonl``.

Layout of one run directory (``OUT/<model>/<task>/``)::

    samples.jsonl          rank 0 appends here while running; rewritten sorted at the end
    samples.rank<r>.jsonl  rank r > 0 appends here; merged into samples.jsonl and removed
    results.json           written atomically once every record exists

Every append is fsynced, so a SIGKILL loses at most the line being written (readers skip a
torn last line). A directory belongs to one (model hash, protocol hash, seed): resuming picks
up records with the same key prefix and refuses records of another model, protocol or seed, or
of items outside the current run (e.g. an earlier run with a larger ``--limit``), instead of
mixing or deleting them — choose another ``--out`` for another setting.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.io import append_jsonl, atomic_write_text, read_jsonl

SAMPLES = "samples.jsonl"
RESULTS = "results.json"


def ensure_writable(directory: Path) -> None:
    """Create ``directory`` and prove a file can be written there; one-line UserError if not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"cannot write results to {directory}: {exc.strerror or exc}; pass a writable --out") from exc


class RecordStore:
    """The sample files of one run directory, seen from one rank."""

    def __init__(self, directory: str | os.PathLike, rank: int = 0) -> None:
        self.dir = Path(directory)
        self.main = self.dir / SAMPLES
        self.own = self.main if rank == 0 else self.dir / f"samples.rank{rank}.jsonl"

    def files(self) -> list[Path]:
        return [p for p in (self.main, *sorted(self.dir.glob("samples.rank*.jsonl"))) if p.exists()]

    def read_all(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for path in self.files():
            try:
                out.extend(read_jsonl(path))
            except (OSError, ValueError) as exc:
                raise UserError(f"{path}: unreadable records ({exc}); move the file away to start over") from exc
        return out

    def _owner(self) -> str:
        results = self.dir / RESULTS
        try:
            data = json.loads(results.read_text(encoding="utf-8"))
            return f" (protocol {data['protocol']['name']}, model {data['model']['id']}, seed {data.get('seed')})"
        except (OSError, ValueError, KeyError, TypeError):
            return ""

    def resume(self, prefix: str, seed: int, wanted: set[str], task_version: str) -> dict[str, dict[str, Any]]:
        """Records already written for this run (key -> record). Of several copies of a key the
        first graded by ``task_version`` wins, else the first.

        Raises ``UserError`` if the directory holds records this run must not use.
        """
        found: dict[str, dict[str, Any]] = {}
        for rec in self.read_all():
            key = str(rec.get("key", ""))
            if not key.startswith(prefix) or rec.get("seed") != seed:
                raise UserError(
                    f"{self.dir} holds records of another model, protocol or seed{self._owner()}; "
                    "pass a different --out (or delete that directory) to evaluate this setting"
                )
            if key not in wanted:
                raise UserError(
                    f"{self.dir} holds records for item {rec.get('item_id')!r} sample {rec.get('sample')}, "
                    "which this run does not cover (an earlier run used a larger --limit or more samples?); "
                    "re-run with the same settings or pass a different --out"
                )
            old = found.get(key)
            if old is None or (old.get("task_version") != task_version and rec.get("task_version") == task_version):
                found[key] = rec
        return found

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        append_jsonl(self.own, list(records))

    def finalize(self, records: list[dict[str, Any]]) -> None:
        """Replace the sample files by one ``samples.jsonl`` holding exactly ``records`` (main rank)."""
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        atomic_write_text(self.main, text)
        for path in self.dir.glob("samples.rank*.jsonl"):
            path.unlink(missing_ok=True)
