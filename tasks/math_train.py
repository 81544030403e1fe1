"""MATH training problems for RL (task name ``math``), graded like ``math500``.

Sources: ``$RLDF_DATA_DIR/MATH_train.json`` (8523 rows, reference format), all seven subject
configs of ``EleutherAI/hendrycks_math`` (train split; gold = last ``\\boxed{}`` of the solution),
or any file in the reference format such as ``MATH_rldf.json`` (pass it as ``source``; it overlaps
MATH-500, so the trainer filters it with ``tasks.overlap.filter_contaminated``).
"""

from __future__ import annotations

from tasks.base import Task
from tasks.data import Rows, read_hf
from tasks.math.grading import verify_math, verify_math_examples
from tasks.math.rows import math_loader
from tasks.prompts import math_prompt

HF_ID = "EleutherAI/hendrycks_math"
HF_CONFIGS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)
LOCAL_FILES = {"train": "MATH_train.json"}


def _hf(config: str | None, split: str) -> Rows:
    configs = (config,) if config else HF_CONFIGS
    parts = [read_hf(HF_ID, c, split) for c in configs]
    return Rows(f"hf:{HF_ID} [{split}]", [row for part in parts for row in part.rows])


TASK = Task(
    name="math",
    version="1",
    load=math_loader("math", ("train",), "train", LOCAL_FILES, _hf),
    format_prompt=lambda example, family: math_prompt(example.question, family),
    verify=verify_math,
    batch_verify=verify_math_examples,
    description="MATH competition problems, train split (7.5k) for RL; final answer in \\boxed{}",
    splits=("train",),
    default_split="train",
    hf_id=HF_ID,
    local_files=LOCAL_FILES,
    sizes={"train": 7500},
    kind="math",
    lenient=True,
)
