"""GSM8K (grade-school math word problems), graded on the final number with math-verify.

Sources: ``$RLDF_DATA_DIR/gsm8k_test.json`` (reference format) or ``openai/gsm8k`` (``main``),
whose ``answer`` field ends in ``#### <number>``. The prompt asks for ``\\boxed{}`` (as the RLDF
reference does); strict grading also accepts ``####`` and "The answer is", lenient the last number.
"""

from __future__ import annotations

from tasks.base import Task
from tasks.data import Rows, read_hf
from tasks.math.grading import verify_math, verify_math_examples
from tasks.math.rows import math_loader
from tasks.prompts import math_prompt

HF_ID = "openai/gsm8k"
LOCAL_FILES = {"test": "gsm8k_test.json"}


def _hf(config: str | None, split: str) -> Rows:
    return read_hf(HF_ID, config or "main", split)


TASK = Task(
    name="gsm8k",
    version="1",
    load=math_loader("gsm8k", ("test", "train"), "test", LOCAL_FILES, _hf),
    format_prompt=lambda example, family: math_prompt(example.question, family),
    verify=verify_math,
    batch_verify=verify_math_examples,
    description="GSM8K grade-school math (1319 test problems); final answer in \\boxed{}",
    splits=("test", "train"),
    default_split="test",
    hf_id=HF_ID,
    local_files=LOCAL_FILES,
    sizes={"test": 1319, "train": 7473},
    kind="math",
    lenient=True,
)
