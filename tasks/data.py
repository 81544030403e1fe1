"""Where task data comes from, and reading it with errors a user can act on.

A task's ``load(split, source)`` accepts as ``source``:

- ``None``: ``$RLDF_DATA_DIR/<the task's local file>`` when that file exists, else the task's HF
  hub id through ``datasets`` (offline this fails fast with a one-line hint);
- a ``.json`` (list of objects; JSON Lines also accepted), ``.jsonl`` or ``.parquet`` file;
- a directory holding the task's local file (reference file names, e.g. ``gsm8k_test.json``);
- ``"hf:<id>"`` or ``"hf:<id>:<config>"``.

Every problem (missing file, unreadable JSON, empty file, a row without a field or with a field
of the wrong type) raises ``harness.errors.UserError`` with one line naming the file, the row
(1-based) and the field, and what to do. Nothing here runs at import time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UserError

DATA_DIR_ENV = "RLDF_DATA_DIR"
SUFFIXES = (".json", ".jsonl", ".parquet")


def data_dir() -> Path | None:
    """``$RLDF_DATA_DIR`` when it names an existing directory, else None."""
    value = os.environ.get(DATA_DIR_ENV)
    return Path(value) if value and Path(value).is_dir() else None


@dataclass(frozen=True)
class Rows:
    """Raw rows plus where they came from (a path or ``hf:<id>``), for error messages."""

    origin: str
    rows: list[dict]

    def error(self, i: int, message: str) -> UserError:
        return UserError(f"{self.origin} row {i + 1}: {message}")

    def field(
        self,
        i: int,
        names: tuple[str, ...],
        types: tuple[type, ...] = (str,),
        required: bool = True,
        allow_empty: bool = False,
    ) -> Any:
        """The value of the first of ``names`` present in row ``i``, checked against ``types``.

        Missing (when ``required``) or mistyped values raise a one-line ``UserError``; strings
        must be non-empty unless ``allow_empty``. Returns None when absent and not required.
        """
        row = self.rows[i]
        name = next((n for n in names if n in row and row[n] is not None), None)
        if name is None:
            if not required:
                return None
            alts = " or ".join(repr(n) for n in names)
            raise self.error(i, f"missing field {alts} (present: {', '.join(sorted(row)) or 'none'}); add it or fix the file")
        value = row[name]
        if isinstance(value, bool) or not isinstance(value, types):
            want = "/".join(t.__name__ for t in types)
            raise self.error(i, f"field {name!r} should be {want}, got {type(value).__name__} {str(value)[:40]!r}; fix the row")
        if isinstance(value, str) and not value.strip() and not allow_empty:
            raise self.error(i, f"field {name!r} is empty; fill it in or drop the row")
        return value


def _check_objects(origin: str, rows: list, hint: str = "") -> Rows:
    if not rows:
        raise UserError(f"{origin}: file has no rows; point the source at a file with data{hint}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise UserError(f"{origin} row {i + 1}: expected a JSON object with named fields, got {type(row).__name__}")
    return Rows(origin, rows)


def _read_jsonl(path: Path, text: str) -> list:
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} line {n}: invalid JSON ({exc.msg}, column {exc.colno}); fix or remove that line") from exc
    return rows


def read_file(path: str | Path) -> Rows:
    """Rows of a ``.json``/``.jsonl``/``.parquet`` file."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"data file not found: {p}; check the path (or set {DATA_DIR_ENV} to the data directory)")
    if p.suffix not in SUFFIXES:
        raise UserError(f"{p}: unsupported data file type {p.suffix!r}; use one of {', '.join(SUFFIXES)}")
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return _check_objects(str(p), pq.read_table(p).to_pylist())
        except (OSError, ValueError) as exc:
            raise UserError(f"{p}: cannot read parquet ({exc}); re-export the file") from exc
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: cannot read file ({exc}); check permissions and encoding (UTF-8)") from exc
    if not text.strip():
        raise UserError(f"{p}: file is empty; point the source at a file with data")
    if p.suffix == ".jsonl":
        return _check_objects(str(p), _read_jsonl(p, text))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # JSON Lines saved as .json
            return _check_objects(str(p), _read_jsonl(p, text))
        raise UserError(f"{p}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); fix the file") from exc
    if not isinstance(data, list):
        raise UserError(f"{p}: expected a JSON list of objects (one per item), got a {type(data).__name__}")
    return _check_objects(str(p), data)


def read_hf(hf_id: str, config: str | None, split: str) -> Rows:
    """Rows of a hub dataset split via ``datasets.load_dataset`` (uses the local HF cache offline)."""
    import datasets

    origin = f"hf:{hf_id}" + (f":{config}" if config else "") + f" [{split}]"
    try:
        ds = datasets.load_dataset(hf_id, config, split=split)
    except Exception as exc:  # noqa: BLE001 - any hub/cache failure becomes one actionable line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UserError(
            f"cannot load {origin} ({type(exc).__name__}: {first[:160]}); when offline, set {DATA_DIR_ENV} "
            "to a directory with the task's local file or pass a local file as the source"
        ) from exc
    return _check_objects(origin, ds.to_list())


def parse_hf_source(source: str) -> tuple[str, str | None]:
    """``"hf:openai/gsm8k:main"`` -> ``("openai/gsm8k", "main")``."""
    body = source[3:]
    hf_id, _, config = body.partition(":")
    if not hf_id:
        raise UserError(f"source {source!r}: write hf:<dataset id> or hf:<dataset id>:<config>")
    return hf_id, config or None


def load_rows(
    source: str | Path | None,
    *,
    task: str,
    split: str,
    local_file: str | None,
    hf_reader: Callable[[str | None, str], Rows] | None,
) -> Rows:
    """Resolve ``source`` (see module docstring) and read its rows.

    ``hf_reader(config_or_None, split)`` reads the task's hub dataset; None when it has none.
    """
    if source is None:
        root = data_dir()
        if root is not None and local_file and (root / local_file).is_file():
            return read_file(root / local_file)
        if hf_reader is not None:
            return hf_reader(None, split)
        want = f" containing {local_file}" if local_file else ""
        raise UserError(f"task {task!r} split {split!r}: no data source; set {DATA_DIR_ENV} to a directory{want} or pass a source")
    if isinstance(source, str) and source.startswith("hf:"):
        hf_id, config = parse_hf_source(source)
        return read_hf(hf_id, config, split)
    path = Path(source)
    if path.is_dir():
        if not local_file:
            raise UserError(f"task {task!r} split {split!r} has no reference file name; pass a file, not the directory {path}")
        if not (path / local_file).is_file():
            raise UserError(f"{path} has no {local_file} (task {task!r}, split {split!r}); pass the file itself or fix the directory")
        return read_file(path / local_file)
    return read_file(path)


def check_split(task: str, split: str | None, splits: tuple[str, ...], default: str) -> str:
    """``split`` or the default, rejecting splits the task does not have."""
    split = split or default
    if split not in splits:
        raise UserError(f"task {task!r} has no split {split!r}; use one of {', '.join(splits)}")
    return split
