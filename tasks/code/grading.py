"""From sandbox results to ``Verdict``s, with an injectable executor (shared by the code tasks).

An *executor* is any callable ``Sequence[Program] -> list[ExecResult]`` (same order). The code
tasks' ``verify`` stays pure by taking it as a parameter: ``make_verifiers(build, executor)``;
the default is ``default_executor``, which creates one ``Sandbox`` per process on first use.
Tests pass a fake executor and never start a process.

Scores: the fraction of tests that passed; ``correct`` only when the run passed as a whole
(every test reached its end). A ``sandbox_error`` is never a 0: it becomes
``Verdict.unscorable`` (``correct``/``score`` None), which rewards and metrics leave out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from tasks.base import Example, Verdict
from tasks.code.sandbox import ExecResult, Program, Sandbox

Executor = Callable[[Sequence[Program]], list[ExecResult]]
Builder = Callable[[str, Example], Program | None]

CODE_INSTRUCTION = (
    "\nPlace your code within a single Python code block ```python ```. Do not include more than one code block. "
)

_lock = threading.Lock()
_sandbox: Sandbox | None = None


def default_executor(programs: Sequence[Program]) -> list[ExecResult]:
    """Run ``programs`` in this process's shared ``Sandbox`` (created, and its backend probed, on first use)."""
    global _sandbox
    with _lock:
        if _sandbox is None:
            _sandbox = Sandbox()
    return _sandbox.run_many(programs)


def verdict_from(result: ExecResult, program: str) -> Verdict:
    """The verdict of one function-test run (fraction of tests passed; see module docstring)."""
    extra = {"status": result.status, "tests": list(result.tests), "backend": result.backend}
    reason = f"{result.status}: {result.detail}"
    if result.status == "sandbox_error":
        return Verdict.unscorable(reason, answer=program, **extra)
    n = len(result.tests)
    passed = result.tests_passed
    correct = result.status == "passed" and passed == n
    if n == 0:
        score = 1.0 if correct else 0.0
    else:  # a run that failed as a whole (killed, output flood) never scores 1
        score = passed / n if correct else min(passed, n - 1) / n
    return Verdict(correct=correct, score=score, answer=program, reason=reason, extra=extra)


def no_program_verdict() -> Verdict:
    return Verdict(correct=False, score=0.0, answer=None, reason="no ```python code block in the completion",
                   extra={"status": "no_code"})


def make_verifiers(build: Builder, executor: Executor | None = None,
                   ) -> tuple[Callable[[str, Example], Verdict], Callable[[Sequence[str], Sequence[Example]], list[Verdict]]]:
    """``(verify, batch_verify)`` for a task whose ``build(completion, example)`` gives one ``Program``.

    ``build`` returns None when the completion holds no program (the item fails without running).
    ``executor`` defaults to ``default_executor``, looked up at call time.
    """

    def batch_verify(completions: Sequence[str], examples: Sequence[Example]) -> list[Verdict]:
        programs = [build(c, e) for c, e in zip(completions, examples)]
        runnable = [p for p in programs if p is not None]
        results = iter((executor or default_executor)(runnable)) if runnable else iter(())
        return [no_program_verdict() if p is None else verdict_from(next(results), p.code) for p in programs]

    def verify(completion: str, example: Example) -> Verdict:
        return batch_verify([completion], [example])[0]

    return verify, batch_verify
