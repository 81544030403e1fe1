"""d1's answer parsers (dllm-reasoning/d1, ``eval/parse_and_get_acc.py``), re-implemented.

Used by ``bench/regrade_external.py`` to put our verifiers beside the numbers d1 reports for its
released LLaDA-8B-Instruct generations. Re-implemented from d1's described behaviour; the MATH
string normaliser d1 imports (``parser_helper``: Hendrycks ``is_equiv``/``strip_string``,
``last_boxed_only_string``, ``remove_boxed``) is the same code lm-eval ships as
``lm_eval.tasks.hendrycks_math.utils``, so it is imported from there (``pip install -e .[dev]``).

Each parser returns ``(extracted, correct)`` for one item; sudoku returns cell counts, because
d1's sudoku number is *cell* accuracy over all empty cells, not solved puzzles.

Two details decide whether the numbers in the data folder's README come out exactly: for MATH
the last ``\\boxed{}`` is the only source (a variant that falls back to the ``<answer>`` block
scores one more item at length 128: 26.2 instead of 26.0), and for countdown a completion
without a box is searched as a whole (falling back to the ``<answer>`` block instead gives 21.1
instead of 20.7 at length 128). With the choices below all twelve README numbers reproduce.
"""

from __future__ import annotations

import re
from typing import Any

from lm_eval.tasks.hendrycks_math.utils import is_equiv, last_boxed_only_string, remove_boxed

_NUM = re.compile(r"-?\d+\.?\d*")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def _float_or_number(text: str, pick: int) -> float | None:
    """float(text), else the ``pick``-th number in it (0 = first, -1 = last), else None."""
    try:
        return float(text)
    except ValueError:
        nums = _NUM.findall(text)
        return float(nums[pick]) if nums else None


def gsm8k(completion: str, ground_truth: float | None) -> tuple[Any, bool]:
    """First usable ``\\boxed{}`` (no nested braces; float or its first number), else the
    ``<answer>`` block (float or its last number); exact float equality with the gold."""
    parsed = None
    for content in re.findall(r"\\boxed{(.*?)}", completion):
        content = content.strip()
        if content and not re.fullmatch(r"\.+", content):
            parsed = _float_or_number(content, 0)
            if parsed is not None:
                break
    if parsed is None:
        m = _ANSWER.search(completion)
        if m and m.group(1).strip():
            parsed = _float_or_number(m.group(1).strip(), -1)
    return parsed, parsed is not None and parsed == ground_truth


def math(completion: str, ground_truth: str) -> tuple[Any, bool]:
    """Last ``\\boxed{}`` (Hendrycks helpers); Hendrycks ``is_equiv`` (normalise, then compare)."""
    try:
        parsed = remove_boxed(last_boxed_only_string(completion))
    except (AssertionError, TypeError, IndexError):
        parsed = None
    return parsed, parsed is not None and is_equiv(parsed, ground_truth)


def _eval_arith(expr: str) -> float:
    if not re.match(r"^[\d+\-*/().\s]+$", expr):
        return float("inf")
    try:
        return eval(expr.strip(), {"__builtins__": None}, {})  # noqa: S307 - digits/operators only, as d1 does
    except Exception:  # noqa: BLE001 - d1 maps every evaluation failure to infinity
        return float("inf")


def countdown(completion: str, ground_truth: list) -> tuple[Any, bool]:
    """Last ``\\boxed{}``, else the whole text; LaTeX operators mapped; the first ``expr = n``
    reduced to ``expr``; must use exactly the given numbers; |value - target| < 1e-5."""
    numbers, target = ground_truth
    try:
        eq = remove_boxed(last_boxed_only_string(completion))
    except (AssertionError, TypeError, IndexError):
        eq = completion
    eq = eq.replace("\\div", "/").replace("\\times", "*").replace("\\cdot", "*")
    m = re.search(r"([0-9+\-*/() ]+)=[0-9. ]+", eq)
    if m:
        eq = m.group(1).strip()
    try:
        valid = sorted(int(n) for n in re.findall(r"\d+", eq)) == sorted(numbers)
    except ValueError:
        valid = False
    if not valid:
        return eq, False
    return eq, abs(_eval_arith(eq) - target) < 1e-5


_SUDOKU_PATTERNS = (
    r"<answer>.*?```\s*([\d\s]+)```",
    r"<answer>(.*?)(?:<\|eot_id\|>|<\|endoftext\|>|</answer>)",
    r"</answer>\s*(.*?)(?:<\|eot_id\|>|<\|endoftext\|>|$)",
    r".*?(\d{16})\s*</answer>",
    r"\b(\d{16})\b",
)


def sudoku(completion: str, ground_truth: str, question: str) -> tuple[str, int, int]:
    """``(grid, correct_empty_cells, empty_cells)``: the first pattern that yields text, whitespace
    removed, right-padded with 0 / cut to 16 chars, compared with the gold on the empty cells."""
    puzzle = question[:16] if question[:16].isdigit() else re.search(r"Sudoku puzzle: ([0-9]{16})", question).group(1)
    empty = [i for i in range(16) if puzzle[i] == "0"]
    grid = ""
    for pattern in _SUDOKU_PATTERNS:
        m = re.search(pattern, completion, re.DOTALL)
        if m and m.group(1).strip():
            grid = m.group(1).strip()
            break
    grid = re.sub(r"\s", "", grid)
    if not grid:
        return grid, 0, len(empty)
    grid = (grid + "0" * 16)[:16]
    return grid, sum(grid[i] == ground_truth[i] for i in empty), len(empty)
