"""MATH-500 (the PRM800K subset of the MATH test split), graded with math-verify.

Sources: ``$RLDF_DATA_DIR/MATH500.json`` (reference format) or ``HuggingFaceH4/MATH-500``
(``problem``/``answer``/``unique_id``). Never train on MATH *test* problems: ``rldf data overlap``
shows that ``MATH_rldf.json`` contains 248 of these 500.
"""

from __future__ import annotations

from tasks.base import Task
from tasks.data import Rows, read_hf
from tasks.math.grading import verify_math, verify_math_examples
from tasks.math.rows import math_loader
from tasks.prompts import math_prompt

HF_ID = "HuggingFaceH4/MATH-500"
LOCAL_FILES = {"test": "MATH500.json"}


def _hf(config: str | None, split: str) -> Rows:
    return read_hf(HF_ID, config, split)


TASK = Task(
    name="math500",
    version="1",
    load=math_loader("math500", ("test",), "test", LOCAL_FILES, _hf),
    format_prompt=lambda example, family: math_prompt(example.question, family),
    verify=verify_math,
    batch_verify=verify_math_examples,
    description="MATH-500 competition math (500 test problems); final answer in \\boxed{}",
    splits=("test",),
    default_split="test",
    hf_id=HF_ID,
    local_files=LOCAL_FILES,
    sizes={"test": 500},
    kind="math",
    lenient=True,
)
