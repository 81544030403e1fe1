"""MBPP (Mostly Basic Python Problems), full and sanitized, graded by running asserts in the sandbox.

Sources (``load(split=None, source=None)``):

- ``TASK`` (``mbpp``): ``$RLDF_DATA_DIR/MBPP.json`` (test, 498 items incl. the challenge asserts)
  and ``MBPP_train.json`` (train) in the reference layout, else ``google-research-datasets/mbpp``
  config ``full`` (``text``, ``code``, ``test_list``, ``test_setup_code``, ``challenge_test_list``);
- ``TASK_SANITIZED`` (``mbpp_sanitized``): config ``sanitized`` (``prompt``, ``code``,
  ``test_imports``, ``test_list``); no reference file exists for it.

Either HF layout is converted to the reference layout: the question is the description plus
``"Your code should pass the test:"`` and the first assert; the prefix opens a ```` ```python ````
block with the reference solution's header (its imports and module-level assignments, then the
``def`` line of the function under test) and a docstring holding the description; the tests are
one ``check(candidate)`` function with all asserts (``challenge_test_list`` included for
``full``). Reward = fraction of asserts passed.
"""

from __future__ import annotations

import ast

from tasks.base import Example, Task
from tasks.code.functions import PREFIX_HEAD, examples_from, function_task, layout_of, reference_example
from tasks.code.grading import Executor
from tasks.data import Rows, check_split, load_rows, read_hf

HF_ID = "google-research-datasets/mbpp"
LOCAL_FILES = {"test": "MBPP.json", "train": "MBPP_train.json"}
SPLITS = ("test", "train", "validation", "prompt")
_LAYOUTS = (
    ("reference", ("question", "test_list", "prefix")),
    ("full", ("text", "code", "test_list")),
    ("sanitized", ("prompt", "code", "test_list")),
)


def _called_names(assert_line: str) -> list[str]:
    """Names called in an assert, in source order (``assert f(g(x)) == 1`` -> ``["f", "g"]``)."""
    try:
        tree = ast.parse(assert_line.strip())
    except SyntaxError:
        return []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return [c.func.id for c in sorted(calls, key=lambda c: (c.lineno, c.col_offset))]


def entry_point(code: str, first_assert: str) -> str | None:
    """The function under test: the first function called in the assert that ``code`` defines."""
    try:
        defined = {n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    except SyntaxError:
        defined = set()
    called = _called_names(first_assert)
    return next((name for name in called if name in defined), called[0] if called else None)


def header(code: str, entry: str | None) -> str:
    """Imports and module-level assignments before ``entry``'s ``def``, then the ``def`` line."""
    lines = code.splitlines()
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return ""
    kept = []
    for node in body:
        if isinstance(node, ast.FunctionDef) and node.name == entry:
            return "\n".join(kept + [lines[node.lineno - 1]])
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Assign | ast.AnnAssign):
            kept.extend(lines[node.lineno - 1:node.end_lineno])
    return ""


def _convert_hf(rows: Rows, i: int, split: str, layout: str) -> Example:
    text = rows.field(i, ("text",) if layout == "full" else ("prompt",))
    code = rows.field(i, ("code",)).replace("\r\n", "\n")
    asserts = rows.field(i, ("test_list",), (list,))
    if not asserts or not all(isinstance(a, str) and a.strip() for a in asserts):
        raise rows.error(i, "field 'test_list' must be a non-empty list of assert strings; fix the row")
    if layout == "full":
        asserts = asserts + list(rows.field(i, ("challenge_test_list",), (list,), required=False) or [])
        setup = rows.field(i, ("test_setup_code",), required=False, allow_empty=True) or ""
    else:
        setup = "\n".join(rows.field(i, ("test_imports",), (list,), required=False) or [])
    entry = entry_point(code, asserts[0])
    head = header(code, entry)
    signature = f'{head}\n    """ {text}\n    """' if head else ""
    test = (setup.strip() + "\n" if setup.strip() else "") + "\n\ndef check(candidate):\n"
    test += "".join(f"    {a.strip()}\n" for a in asserts) + f"\ncheck({entry})"
    reference = Rows(rows.origin, [{
        "task_id": rows.field(i, ("task_id",), (str, int), required=False),
        "question": f"{text}\nYour code should pass the test:\n{asserts[0].strip()}\n",
        "prefix": PREFIX_HEAD + (signature + "\n\n" if signature else ""),
        "test_list": [test],
        "test_time_limit": 1,
        "test_method": "function",
    }])
    return reference_example(reference, 0, split, entry_point=entry,
                             ex_id=None if reference.rows[0]["task_id"] is not None else f"{split}-{i:05d}")


def _convert(rows: Rows, i: int, split: str) -> Example:
    layout = layout_of(rows, i, _LAYOUTS)
    if layout == "reference":
        return reference_example(rows, i, split)
    return _convert_hf(rows, i, split, layout)


def _loader(name: str, config: str, local_files: dict[str, str]):
    def load(split: str | None = None, source: str | None = None) -> list[Example]:
        split = check_split(name, split, SPLITS, "test")
        rows = load_rows(source, task=name, split=split, local_file=local_files.get(split),
                         hf_reader=lambda cfg, s: read_hf(HF_ID, cfg or config, s))
        return examples_from(rows, split, _convert)

    load.__doc__ = f"{name} examples (see the mbpp module docstring for ``source``)."
    return load


def make_task(executor: Executor | None = None, sanitized: bool = False) -> Task:
    """The MBPP ``Task`` (``sanitized``: the hand-checked subset); ``executor`` runs programs."""
    if sanitized:
        return function_task(
            "mbpp_sanitized", _loader("mbpp_sanitized", "sanitized", {}), executor, version="1",
            description="MBPP sanitized (hand-verified subset, 257 test items); reward = fraction of asserts passed",
            splits=SPLITS, default_split="test", hf_id=HF_ID,
            sizes={"test": 257, "train": 120, "validation": 43, "prompt": 7},
        )
    return function_task(
        "mbpp", _loader("mbpp", "full", LOCAL_FILES), executor, version="2",
        description="MBPP full (500 test items; the reference file has 498); reward = fraction of asserts passed",
        splits=SPLITS, default_split="test", hf_id=HF_ID, local_files=LOCAL_FILES,
        sizes={"test": 500, "train": 374, "validation": 90, "prompt": 10},
    )


TASK = make_task()
TASK_SANITIZED = make_task(sanitized=True)
