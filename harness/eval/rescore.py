"""Grade generations produced elsewhere with our verifiers: outside numbers, same grader.

Input: a JSONL file with one row per generation — ``question``, ``completion`` and
``ground_truth`` (or any gold field the task's loader reads), optionally ``task`` and the
source's decoding settings (``gen_length``, ``diffusion_steps``/``steps``, ``block_length``,
``remasking``, ``temperature``), e.g. d1's released LLaDA generations in
``$RLDF_DATA_DIR/external/d1_llada8b_instruct/``.

* The gold comes from the row: rows go through the task's own loader (so countdown's
  ``[numbers, target]`` and sudoku's puzzle-in-question layouts work), with a scalar
  ``ground_truth`` also offered as ``ground_truth_answer`` for the math loaders.
* The completion is graded up to the first end-of-turn/end-of-text marker (``<|eot_id|>``,
  ``<|endoftext|>``, ...), as our own decoder cuts its text; ``samples.jsonl`` keeps the graded
  text and how many characters were cut.
* Item ids: a row whose question is found verbatim in the task's default data gets that item's
  id, so paired significance tests against our own runs compare the same items; other rows get
  ``<file stem>-<row:05d>``.
* The protocol is an ``ExternalProtocol``: the rows' settings plus the grader (task + version).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.eval.identity import now_iso, record_key, safe_name, short
from harness.eval.records import make_record
from harness.eval.report import build_result
from harness.eval.store import RESULTS, RecordStore, ensure_writable
from harness.protocols import ExternalProtocol
from harness.results import RunResult
from tasks import Example, Task, Verdict, get_task

STOP_STRINGS = ("<|eot_id|>", "<|endoftext|>", "<|im_end|>", "<|end_of_text|>", "</s>")
# row field -> protocol.settings name
SETTING_FIELDS = {
    "gen_length": "gen_length", "diffusion_steps": "steps", "steps": "steps",
    "block_length": "block_length", "remasking": "remasking", "temperature": "temperature",
}


def cut_completion(text: str) -> tuple[str, int]:
    """``text`` up to the first stop marker, and how many characters were dropped."""
    cut = min((i for i in (text.find(s) for s in STOP_STRINGS) if i >= 0), default=len(text))
    return text[:cut], len(text) - cut


def _uniform(rows: Sequence[dict], field: str, path: Path) -> Any:
    values = {repr(r.get(field)) for r in rows if field in r}
    if len(values) > 1:
        raise UserError(f"{path}: field {field!r} differs between rows ({', '.join(sorted(values)[:3])}); split the file")
    return next((r[field] for r in rows if field in r), None)


def source_settings(rows: Sequence[dict], path: Path) -> dict[str, Any]:
    """The decoding settings the rows report, renamed to protocol setting names."""
    out: dict[str, Any] = {}
    for field, name in SETTING_FIELDS.items():
        value = _uniform(rows, field, path)
        if value is not None:
            out[name] = value
    return out


def rows_to_examples(task: Task, rows: list[dict], path: Path) -> list[Example]:
    """One ``Example`` per row, with the gold taken from the row by the task's own loader."""
    import json

    aliased = []
    for r in rows:
        gt = r.get("ground_truth")
        extra = {"ground_truth_answer": gt} if isinstance(gt, (str, int, float)) and "ground_truth_answer" not in r else {}
        aliased.append({**r, **extra})
    with tempfile.TemporaryDirectory(prefix="rldf-rescore-") as tmp:
        staged = Path(tmp) / path.name
        staged.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in aliased), encoding="utf-8")
        try:
            examples = task.load(split=task.default_split, source=str(staged))
        except UserError as exc:
            raise UserError(str(exc).replace(str(staged), str(path))) from exc
    if len(examples) != len(rows):
        raise UserError(f"{path}: task {task.name!r} read {len(examples)} items from {len(rows)} rows; every row needs a gold answer")
    return examples


def _norm(text: str) -> str:
    return " ".join(text.split())


def task_index(task: Task) -> dict[str, Example]:
    """The task's default data by normalised question ({} when it cannot be loaded here)."""
    try:
        return {_norm(ex.question): ex for ex in task.load()}
    except UserError:
        return {}


def assign_ids(questions: list[str], known: dict[str, Example], stem: str) -> list[str]:
    """Ids for the rows: the task's own id when the question is in its data, else ``<stem>-<row>``."""
    ids, used = [], set()
    for i, q in enumerate(questions):
        own = known.get(_norm(q))
        ids.append(own.id if own is not None and own.id not in used else f"{stem}-{i:05d}")
        used.add(ids[-1])
    return ids


def _read_rows(path: Path) -> list[dict]:
    from tasks.data import read_file

    rows = read_file(path).rows
    for i, r in enumerate(rows):
        if not isinstance(r.get("completion"), str):
            raise UserError(f"{path} row {i + 1}: field 'completion' is missing or not text")
    return rows


def rescore_file(
    path: str | Path,
    out_root: str | Path | None,
    *,
    task: Task | str | None = None,
    model_id: str | None = None,
    label: str | None = None,
    protocol_name: str | None = None,
    ids_from_task: bool = True,
) -> RunResult:
    """Grade every row of ``path``; write ``results.json`` + ``samples.jsonl`` to
    ``out_root/<model id>/<file stem>/`` (``out_root=None``: in memory only)."""
    started, t0 = now_iso(), time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found; pass a JSONL file of generations")
    rows = _read_rows(path)
    task_name = task if task is not None else _uniform(rows, "task", path)
    if task_name is None:
        raise UserError(f"{path}: rows name no 'task'; pass --task")
    task = get_task(task_name) if isinstance(task_name, str) else task_name
    settings = source_settings(rows, path)
    model_id = model_id or _uniform(rows, "model", path) or path.resolve().parent.name
    out_dir = None if out_root is None else run_dir(out_root, model_id, path)
    if out_dir is not None:
        ensure_writable(out_dir)
    # Rows whose ground truth is null (d1's GSM8K has two) take the gold of the same question in
    # the task's data when it is there, else they are unscorable (excluded, not wrong).
    has_gold = [not ("ground_truth" in r and r["ground_truth"] is None) for r in rows]
    loaded = iter(rows_to_examples(task, [r for r, ok in zip(rows, has_gold) if ok], path))
    known = task_index(task) if ids_from_task or not all(has_gold) else {}
    questions = [str(r.get("question", "")) for r in rows]
    examples: list[Example | None] = [
        next(loaded) if ok else known.get(_norm(q)) for ok, q in zip(has_gold, questions)
    ]
    ids = assign_ids(questions, known if ids_from_task else {}, path.stem)
    examples = [None if ex is None else dataclasses.replace(ex, id=i) for ex, i in zip(examples, ids)]
    protocol = ExternalProtocol(
        name=protocol_name or f"external:{path.resolve().parent.name}/{path.stem}",
        settings={**settings, "parser": "strict", "samples": 1},
        grader={"task": task.name, "task_version": task.version, "cut_at": list(STOP_STRINGS)},
        source=str(path),
        description=f"generations from {path.name} graded by rldf's {task.name} verifier v{task.version}",
    )
    cut = [cut_completion(r["completion"]) for r in rows]
    gradable = [i for i, ex in enumerate(examples) if ex is not None]
    graded = dict(zip(gradable, task.verify_many([cut[i][0] for i in gradable], [examples[i] for i in gradable])))
    prefix = f"{short(_model_hash(model_id))}:{short(protocol.hash)}:"
    records = []
    for i, (item_id, (text, dropped)) in enumerate(zip(ids, cut)):
        ex = examples[i] or Example(id=item_id, question=questions[i], answer=None)
        verdict = graded.get(i) or Verdict.unscorable("the row has no ground truth and the task data has no such question")
        rec = make_record(
            key=record_key(prefix, item_id, 0), example=ex, sample=0, prompt=questions[i],
            completion=text, verdict=verdict, task_version=task.version, nfe=None, gen_tokens=None,
            seed=None, row_seed=None,
        )
        rec.update(source_row=i + 1, dropped_chars=dropped, gold_from="row" if has_gold[i] else ("task data" if examples[i] else None))
        records.append(rec)
    matched = sum(1 for q in questions if _norm(q) in known) if ids_from_task else 0
    result = build_result(
        [[r] for r in records],
        model={"id": model_id, "path": None, "weights_hash": None, "family": None, "label": label, "method": None, "step": None},
        task={
            "name": task.name, "version": task.version, "kind": task.kind, "split": None, "source": str(path),
            "n_available": len(rows), "limit": None, "ids_matched": matched,
        },
        protocol=protocol.to_record(), samples=1, parser="strict", majority=False,
        speed={"wall_seconds": time.perf_counter() - t0}, seed=None, started_at=started, finished_at=now_iso(),
    )
    if out_dir is not None:
        store = RecordStore(out_dir)
        store.finalize(records)
        result.save(store.dir / RESULTS)
    return result


def _model_hash(model_id: str) -> str:
    import hashlib

    return hashlib.sha256(f"external-model|{model_id}".encode()).hexdigest()


def run_dir(out_root: str | Path, model_id: str, path: str | Path) -> Path:
    """``OUT/<model id>/<file stem>`` (the layout ``rldf rescore`` writes)."""
    return Path(out_root) / safe_name(model_id) / Path(path).stem
