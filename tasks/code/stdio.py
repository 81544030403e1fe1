"""A generic stdin/stdout program task: run the program once per test input, compare the output.

Rows (a ``.json``/``.jsonl``/``.parquet`` file, or ``$RLDF_DATA_DIR/stdio_code.json``; without
either, six small built-in problems from ``tasks/code/data/stdio_examples.json``):

- the problem: ``question`` (or ``problem``/``prompt``);
- the tests: ``tests`` or ``test_list`` = a list of ``{"input": ..., "output": ...}``, or the APPS
  layout ``input_output`` = ``{"inputs": [...], "outputs": [...]}`` (a dict or its JSON text);
- optional ``test_time_limit``/``time_limit`` (seconds per run, default 2) and ``id``/``task_id``.

The program is the last ```` ```python ```` block of the completion (no prefix). Each test is a
fresh sandboxed run with the input on stdin; it passes when the program reaches its end (or
exits with status 0) and its output equals the expected one after whitespace normalisation
(``" ".join(text.split())``, as the reference). Reward = fraction of tests passed; a
``sandbox_error`` in any run makes the item unscorable.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tasks.base import Example, Task, Verdict
from tasks.code.extract import extract_program
from tasks.code.grading import CODE_INSTRUCTION, Executor, default_executor, no_program_verdict
from tasks.code.sandbox import ExecResult, Program
from tasks.data import Rows, check_split, data_dir, load_rows, read_file
from tasks.prompts import chat_wrap

LOCAL_FILES = {"test": "stdio_code.json"}
BUILTIN = Path(__file__).parent / "data" / "stdio_examples.json"
DEFAULT_TIME_LIMIT = 2.0
START_SLACK = 1.0  # interpreter start-up on a busy machine, on top of the per-test limit
STDIO_NOTE = "\nYour program must read the input from standard input and print the answer to standard output."


def normalize(text: str) -> str:
    """Whitespace-normalised output (runs of whitespace -> one space, ends stripped)."""
    return " ".join(text.split())


def _tests(rows: Rows, i: int) -> list[dict]:
    row = rows.rows[i]
    if "input_output" in row:
        raw = row["input_output"]
        try:
            io = json.loads(raw) if isinstance(raw, str) else raw
            pairs = list(zip(io["inputs"], io["outputs"], strict=True))
        except (ValueError, KeyError, TypeError) as exc:
            raise rows.error(i, f"field 'input_output' must hold equally long 'inputs' and 'outputs' lists ({exc})") from exc
        tests = [{"input": a, "output": b} for a, b in pairs]
    else:
        tests = rows.field(i, ("tests", "test_list"), (list,))
    for t in tests:
        if not (isinstance(t, dict) and isinstance(t.get("input"), str) and isinstance(t.get("output"), str)):
            raise rows.error(i, "each test must be an object with string fields 'input' and 'output'; fix the row")
    if not tests:
        raise rows.error(i, "no tests; give at least one {'input': ..., 'output': ...}")
    return tests


def _convert(rows: Rows, i: int, split: str) -> Example:
    question = rows.field(i, ("question", "problem", "prompt"))
    limit = rows.field(i, ("test_time_limit", "time_limit"), (int, float), required=False)
    source_id = rows.field(i, ("id", "task_id"), (str, int), required=False)
    return Example(id=str(source_id) if source_id is not None else f"{split}-{i:05d}", question=question,
                   answer=_tests(rows, i), meta={"time_limit": float(limit or DEFAULT_TIME_LIMIT)})


def load(split: str | None = None, source: str | None = None) -> list[Example]:
    """Stdio examples from ``source`` (see the module docstring), else the built-in ones."""
    split = check_split("stdio_code", split, ("test",), "test")
    root = data_dir()
    if source is None and not (root is not None and (root / LOCAL_FILES[split]).is_file()):
        rows = read_file(BUILTIN)
    else:
        rows = load_rows(source, task="stdio_code", split=split, local_file=LOCAL_FILES[split], hf_reader=None)
    return [_convert(rows, i, split) for i in range(len(rows.rows))]


def format_prompt(example: Example, family: str) -> str:
    return chat_wrap(example.question + STDIO_NOTE + CODE_INSTRUCTION, family)


def _programs(code: str, example: Example) -> list[Program]:
    limit = example.meta.get("time_limit", DEFAULT_TIME_LIMIT)
    return [Program(code=code, stdin=t["input"], exit_ok=True, timeout=limit + START_SLACK) for t in example.answer]


def _verdict(code: str, example: Example, results: Sequence[ExecResult]) -> Verdict:
    errors = [r for r in results if r.status == "sandbox_error"]
    if errors:
        return Verdict.unscorable(f"sandbox_error: {errors[0].detail}", answer=code, status="sandbox_error")
    ok = [r.status == "passed" and normalize(r.stdout) == normalize(t["output"]) for r, t in zip(results, example.answer)]
    first_bad = next((i for i, good in enumerate(ok) if not good), None)
    if first_bad is None:
        reason = f"passed: {len(ok)}/{len(ok)} tests"
    else:
        r = results[first_bad]
        why = r.detail if r.status != "passed" else f"wrong output {normalize(r.stdout)[:80]!r}"
        reason = f"{r.status if r.status != 'passed' else 'failed'}: {sum(ok)}/{len(ok)} tests; test {first_bad}: {why}"
    return Verdict(correct=all(ok), score=sum(ok) / len(ok), answer=code, reason=reason,
                   extra={"tests": ok, "statuses": [r.status for r in results], "backend": results[0].backend})


def make_verifiers(executor: Executor | None = None):
    """``(verify, batch_verify)`` running programs with ``executor`` (default: the shared sandbox)."""

    def batch_verify(completions: Sequence[str], examples: Sequence[Example]) -> list[Verdict]:
        codes = [extract_program(c) for c in completions]
        programs = [p for code, e in zip(codes, examples) if code is not None for p in _programs(code, e)]
        results = iter((executor or default_executor)(programs)) if programs else iter(())
        verdicts = []
        for code, example in zip(codes, examples):
            if code is None:
                verdicts.append(no_program_verdict())
            else:
                verdicts.append(_verdict(code, example, [next(results) for _ in example.answer]))
        return verdicts

    def verify(completion: str, example: Example) -> Verdict:
        return batch_verify([completion], [example])[0]

    return verify, batch_verify


def make_task(executor: Executor | None = None) -> Task:
    """The stdio ``Task``; ``executor`` runs programs (default: this process's sandbox)."""
    verify, batch_verify = make_verifiers(executor)
    return Task(name="stdio_code", version="1", load=load, format_prompt=format_prompt, verify=verify,
                batch_verify=batch_verify, kind="code", splits=("test",), default_split="test",
                local_files=LOCAL_FILES, sizes={},
                description="stdin/stdout programs from your own file (6 built-in demo problems); reward = fraction of tests")


TASK = make_task()
