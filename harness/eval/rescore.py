"""Grade generations produced elsewhere with our verifiers: outside numbers, same grader.

Input: a file of generations in any format ``harness.eval.importers`` reads (``d1`` JSONL,
lm-eval ``--log_samples``, ``human-eval`` JSONL, ``programs`` lists; ``fmt="auto"`` detects it),
e.g. d1's LLaDA generations in ``$RLDF_DATA_DIR/external/d1_llada8b_instruct/`` or dllm4code's
HumanEval/MBPP programs in ``$RLDF_DATA_DIR/external/dllm4code/``.

* Text tasks (math): the gold comes from the row through the task's own loader (so countdown's
  ``[numbers, target]`` and sudoku's puzzle-in-question layouts work), with a scalar
  ``ground_truth`` also offered as ``ground_truth_answer`` for the math loaders. The completion is
  graded up to the first end-of-turn/end-of-text marker (``<|eot_id|>``, ``<|endoftext|>``, ...)
  or stop string the source decoded with (lm-eval's ``until``), as our own decoder cuts its text;
  ``samples.jsonl`` keeps the graded text and how many characters were cut.
* Code tasks: ``harness.eval.rescore_code`` runs each program with the source's tests and the
  task's; timeouts, memory kills and sandbox errors are counted apart (``counts``).
* Item ids are the task's own: code rows carry them (``HumanEval/N``, MBPP ``task_id``); a text
  row whose question is found verbatim in the task's default data gets that item's id, so paired
  significance tests against our own runs compare the same items; other rows get
  ``<file stem>-<row:05d>``.
* The source's own verdicts (``passed``, lm-eval's per-filter ``exact_match``) are kept in every
  sample (``source_verdicts``) and summed in ``counts`` (``source_correct``, ``agree``,
  ``disagree``) so the agreement report needs nothing but the results.
* The protocol is an ``ExternalProtocol``: the source's settings plus the grader (task + version).
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.eval.identity import now_iso, record_key, safe_name, short
from harness.eval.importers import Generations, GenRow, read_generations
from harness.eval.records import make_record
from harness.eval.report import build_result
from harness.eval.store import RESULTS, RecordStore, ensure_writable
from harness.protocols import ExternalProtocol
from harness.results import RunResult
from tasks import Example, Task, Verdict, get_task
from tasks.code.grading import Executor

PARSERS = ("strict", "lenient")
STOP_STRINGS = ("<|eot_id|>", "<|endoftext|>", "<|im_end|>", "<|end_of_text|>", "</s>")


def cut_completion(text: str, extra_stops: Sequence[str] = ()) -> tuple[str, int]:
    """``text`` up to the first stop marker (``STOP_STRINGS`` + ``extra_stops``), and how many characters were dropped."""
    stops = (*STOP_STRINGS, *(s for s in extra_stops if s))
    cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=len(text))
    return text[:cut], len(text) - cut


def rows_to_examples(task: Task, rows: list[dict], path: Path) -> list[Example]:
    """One ``Example`` per row, with the gold taken from the row by the task's own loader."""
    import json

    aliased = []
    for r in rows:
        gt = r.get("ground_truth")
        extra = {"ground_truth_answer": gt} if isinstance(gt, (str, int, float)) and "ground_truth_answer" not in r else {}
        aliased.append({**r, **extra})
    with tempfile.TemporaryDirectory(prefix="rldf-rescore-") as tmp:
        staged = Path(tmp) / (path.stem + ".jsonl")
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


@dataclasses.dataclass
class Graded:
    """What a grader returns: per row the item id, the example, the graded text and our verdict."""

    ids: list[str]
    examples: list[Example | None]
    texts: list[str]
    verdicts: list[Verdict]
    notes: list[dict[str, Any]]  # per-row fields added to the sample record
    matched: int  # rows matched to an item of the task's data


def grade_text(task: Task, gens: Generations, ids_from_task: bool) -> Graded:
    """Text (math) rows: gold from the row via the task's loader, our verifier on the cut completion."""
    rows, path = gens.rows, gens.path
    # Rows whose ground truth is null (d1's GSM8K has two) take the gold of the same question in
    # the task's data when it is there, else they are unscorable (excluded, not wrong).
    has_gold = [not ("ground_truth" in r.fields and r.fields["ground_truth"] is None) for r in rows]
    loaded = iter(rows_to_examples(task, [{**r.fields, "question": r.question} for r, ok in zip(rows, has_gold) if ok], path))
    known = task_index(task) if ids_from_task or not all(has_gold) else {}
    questions = [r.question for r in rows]
    examples: list[Example | None] = [next(loaded) if ok else known.get(_norm(q)) for ok, q in zip(has_gold, questions)]
    ids = assign_ids(questions, known if ids_from_task else {}, run_name(path))
    examples = [None if ex is None else dataclasses.replace(ex, id=i) for ex, i in zip(examples, ids)]
    cut = [cut_completion(r.completion or "", r.cut_at) for r in rows]
    gradable = [i for i, ex in enumerate(examples) if ex is not None]
    graded = dict(zip(gradable, task.verify_many([cut[i][0] for i in gradable], [examples[i] for i in gradable])))
    verdicts = [graded.get(i) or Verdict.unscorable("the row has no ground truth and the task data has no such question")
                for i in range(len(rows))]
    notes = [{"dropped_chars": d, "gold_from": "row" if ok else ("task data" if ex else None)}
             for (_, d), ok, ex in zip(cut, has_gold, examples)]
    matched = sum(1 for q in questions if _norm(q) in known) if ids_from_task else 0
    return Graded(ids, examples, [t for t, _ in cut], verdicts, notes, matched)


def grade_programs(task: Task, gens: Generations, executor: Executor | None) -> Graded:
    """Code rows: every program run in the sandbox with the source's and the task's tests."""
    from harness.eval.rescore_code import grade_code

    examples, verdicts = grade_code(task, gens.rows, executor)
    ids = [r.item or (ex.id if ex else f"{run_name(gens.path)}-{i:05d}") for i, (r, ex) in enumerate(zip(gens.rows, examples))]
    texts = [r.program if r.program is not None else (r.completion or "") for r in gens.rows]
    notes = [{"item_in_task_data": ex is not None} for ex in examples]
    return Graded(ids, examples, texts, verdicts, notes, sum(ex is not None for ex in examples))


def source_verdict(verdicts: Mapping[str, bool | None]) -> bool | None:
    """The source's headline verdict among a row's verdicts: its only one, else lm-eval's ``strict-match``."""
    if len(verdicts) == 1:
        return next(iter(verdicts.values()))
    return verdicts.get("strict-match")


def agreement_counts(rows: Sequence[GenRow], verdicts: Sequence[Verdict]) -> dict[str, int]:
    """How often the source's verdict and ours agree, and the source's correct count per verdict name."""
    pairs = [(source_verdict(r.source), v.correct) for r, v in zip(rows, verdicts)]
    both = [(s, o) for s, o in pairs if s is not None and o is not None]
    counts = {f"source_correct:{name}": sum(1 for r in rows if r.source.get(name)) for name in
              sorted({k for r in rows for k in r.source})}
    if both:
        counts.update(agree=sum(s == o for s, o in both), disagree=sum(s != o for s, o in both))
    return counts


def status_counts(verdicts: Sequence[Verdict]) -> dict[str, int]:
    """Code runs that timed out, hit the memory limit, had no program, or broke the sandbox."""
    statuses = [v.extra.get("status") for v in verdicts]
    if not any(statuses):
        return {}
    task_tests = [v.extra["task_tests"] for v in verdicts if "task_tests" in v.extra]
    return {
        "timeout": sum(1 for v in verdicts if v.extra.get("timeout")),
        "oom": statuses.count("oom"),
        "sandbox_error": statuses.count("sandbox_error"),
        "no_code": statuses.count("no_code"),
        "no_tests": statuses.count("no_tests"),
        "task_tests_scored": len(task_tests),
        "task_tests_correct": sum(1 for t in task_tests if t["correct"]),
    }


def default_model_id(gens: Generations) -> str:
    """The source's model name, else the file stem without a task prefix (``humaneval_llada`` -> ``llada``),
    else the folder (d1's layout: one folder per model)."""
    if gens.model:
        return str(gens.model)
    if gens.format in ("human-eval", "programs") and gens.task and gens.path.stem.lower().startswith(gens.task + "_"):
        return gens.path.stem[len(gens.task) + 1:]
    return gens.path.resolve().parent.name


def rescore_file(
    path: str | Path,
    out_root: str | Path | None,
    *,
    task: Task | str | None = None,
    model_id: str | None = None,
    label: str | None = None,
    protocol_name: str | None = None,
    ids_from_task: bool = True,
    fmt: str = "auto",
    executor: Executor | None = None,
    parser: str = "strict",
) -> RunResult:
    """Grade every row of ``path``; write ``results.json`` + ``samples.jsonl`` to
    ``out_root/<model id>/<run name>/`` (``out_root=None``: in memory only).

    ``parser`` is the protocol's headline parser (``strict`` or ``lenient``: which extraction
    ``accuracy`` reports; both are always in the metrics); a lenient run gets its own protocol
    hash and folder (``<run name>-lenient``), so one table can show both as columns."""
    if parser not in PARSERS:
        raise UserError(f"--parser {parser!r}: use one of {', '.join(PARSERS)}")
    started, t0 = now_iso(), time.perf_counter()
    gens = read_generations(path, fmt)
    path = gens.path
    task_name = task if task is not None else gens.task
    if task_name is None:
        raise UserError(f"{path}: the {gens.format} rows name no 'task'; pass --task")
    task = get_task(task_name) if isinstance(task_name, str) else task_name
    model_id = model_id or default_model_id(gens)
    out_dir = None if out_root is None else run_dir(out_root, model_id, path, parser)
    if out_dir is not None:
        ensure_writable(out_dir)
    graded = grade_programs(task, gens, executor) if task.kind == "code" else grade_text(task, gens, ids_from_task)
    grader = {"task": task.name, "task_version": task.version, "format": gens.format}
    if task.kind != "code":
        grader["cut_at"] = sorted({*STOP_STRINGS, *(s for r in gens.rows for s in r.cut_at)})
    protocol = ExternalProtocol(
        name=protocol_name or f"external:{path.resolve().parent.name}/{path.stem}",
        settings={**gens.settings, "parser": parser, "samples": 1},
        grader=grader,
        source=str(path),
        description=f"generations from {path.name} ({gens.format}) graded by rldf's {task.name} verifier v{task.version}",
    )
    records = _records(task, gens, graded, f"{short(_model_hash(model_id))}:{short(protocol.hash)}:")
    result = build_result(
        [[r] for r in records],
        model={"id": model_id, "path": None, "weights_hash": None, "family": None, "label": label, "method": None, "step": None},
        task={
            "name": task.name, "version": task.version, "kind": task.kind, "split": None, "source": str(path),
            "n_available": len(gens.rows), "limit": None, "ids_matched": graded.matched, "format": gens.format,
        },
        protocol=protocol.to_record(), samples=1, parser=parser, majority=False,
        speed={"wall_seconds": time.perf_counter() - t0}, seed=None, started_at=started, finished_at=now_iso(),
        extra_counts={**agreement_counts(gens.rows, graded.verdicts), **status_counts(graded.verdicts)},
    )
    if out_dir is not None:
        store = RecordStore(out_dir)
        store.finalize(records)
        result.save(store.dir / RESULTS)
    return result


def _records(task: Task, gens: Generations, graded: Graded, prefix: str) -> list[dict[str, Any]]:
    records = []
    for i, row in enumerate(gens.rows):
        item_id = graded.ids[i]
        ex = graded.examples[i]
        ex = Example(id=item_id, question=row.question, answer=None) if ex is None else dataclasses.replace(ex, id=item_id)
        rec = make_record(
            key=record_key(prefix, item_id, 0), example=ex, sample=0, prompt=row.question,
            completion=graded.texts[i], verdict=graded.verdicts[i], task_version=task.version, nfe=None,
            gen_tokens=None, seed=None, row_seed=None,
        )
        rec.update(source_row=row.row, source_verdicts=dict(row.source), **graded.notes[i])
        records.append(rec)
    return records


def _model_hash(model_id: str) -> str:
    import hashlib

    return hashlib.sha256(f"external-model|{model_id}".encode()).hexdigest()


def run_name(path: str | Path) -> str:
    """The file's name for its run folder: its stem, or its folder's name for a bare ``samples.jsonl``
    (lm-eval logs released one per folder), so two logs of one model do not share a folder."""
    path = Path(path)
    return path.resolve().parent.name if path.stem == "samples" else path.stem


def run_dir(out_root: str | Path, model_id: str, path: str | Path, parser: str = "strict") -> Path:
    """``OUT/<model id>/<run name>[-<parser>]`` (the layout ``rldf rescore`` writes; see ``run_name``)."""
    return Path(out_root) / safe_name(model_id) / (run_name(path) + ("" if parser == "strict" else f"-{parser}"))
