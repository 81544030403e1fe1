"""4x4 Sudoku (offline, seeded generator with unique-solution puzzles).

A puzzle is 16 digits read row by row, ``0`` for an empty cell; the gold answer is
``{"puzzle": "...", "solution": "..."}``. Generated puzzles have 8 empty cells (like d1's test
set) and exactly one solution. Files may give d1's layout (``question`` containing the 16-digit
puzzle, ``ground_truth`` = solution string), so d1's released generations load as a source.

Grading (binary): the grid is the last ``\\boxed{}``, else the last ``<answer>...</answer>``;
everything but digits is dropped (spaces, separators, code fences). Correct iff it is exactly
16 digits forming a valid Sudoku that keeps every given clue. ``extra["cell_accuracy"]`` is the fraction of empty
cells filled like the gold solution (d1's metric), for comparison only; it is not the reward.
"""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from tasks.base import Example, Task, Verdict
from tasks.data import check_split, load_rows
from tasks.math.extract import last_boxed
from tasks.prompts import chat_wrap, cut_at_end_of_turn
from tasks.synthetic import generate_split

EMPTY_CELLS = 8
DEFAULT_N = {"train": 10000, "test": 256}
_PUZZLE_RE = re.compile(r"(?<!\d)[0-4]{16}(?!\d)")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_UNITS = (
    [[4 * r + c for c in range(4)] for r in range(4)]
    + [[4 * r + c for r in range(4)] for c in range(4)]
    + [[4 * (br + r) + bc + c for r in range(2) for c in range(2)] for br in (0, 2) for bc in (0, 2)]
)

INSTRUCTION = (
    "Solve this 4x4 Sudoku. The puzzle is 16 digits read row by row; 0 marks an empty cell. Fill "
    "the empty cells with 1-4 so that every row, column and 2x2 box contains 1, 2, 3 and 4 exactly "
    "once. Put the completed grid as 16 digits in \\boxed{}, e.g. \\boxed{1234341221434321}.\n"
)


def is_valid_solution(grid: str) -> bool:
    """True for 16 digits 1-4 where every row, column and 2x2 box holds 1-4 once."""
    if len(grid) != 16 or set(grid) - set("1234"):
        return False
    return all(len({grid[i] for i in unit}) == 4 for unit in _UNITS)


@lru_cache(maxsize=1)
def all_solutions() -> tuple[str, ...]:
    """All 288 valid 4x4 Sudoku grids."""
    perms = ["".join(p) for p in itertools.permutations("1234")]
    grids = [""]
    for _ in range(4):  # add rows one at a time, keeping only column-consistent prefixes
        grids = [g + r for g in grids for r in perms if all(r[c] not in g[c::4] for c in range(4))]
    return tuple(g for g in grids if is_valid_solution(g))


@lru_cache(maxsize=1)
def _solution_array() -> np.ndarray:
    return np.array([[int(ch) for ch in g] for g in all_solutions()], dtype=np.int8)


def solutions_of(puzzle: str) -> list[str]:
    """Every valid grid that keeps the puzzle's clues."""
    p = np.array([int(ch) for ch in puzzle], dtype=np.int8)
    keep = ((_solution_array() == p) | (p == 0)).all(axis=1)
    return [all_solutions()[i] for i in np.flatnonzero(keep)]


def _make(rng: random.Random) -> tuple[str, dict]:
    while True:
        solution = rng.choice(all_solutions())
        blanks = set(rng.sample(range(16), EMPTY_CELLS))
        puzzle = "".join("0" if i in blanks else ch for i, ch in enumerate(solution))
        if len(solutions_of(puzzle)) == 1:
            return puzzle, {"puzzle": puzzle, "solution": solution}


def question_text(puzzle: str) -> str:
    """The problem statement: ``Sudoku puzzle: 4320004330100004``."""
    return f"Sudoku puzzle: {puzzle}"


def _example_from_row(rows, i: int, split: str) -> Example:
    row = rows.rows[i]
    if "puzzle" in row:
        puzzle = rows.field(i, ("puzzle",))
    else:
        m = _PUZZLE_RE.search(rows.field(i, ("question",)))
        if m is None:
            raise rows.error(i, "field 'question' has no 16-digit puzzle (digits 0-4); fix the row or add 'puzzle'")
        puzzle = m.group()
    solution = rows.field(i, ("solution", "ground_truth"))
    if not (_PUZZLE_RE.fullmatch(puzzle) and is_valid_solution(solution)):
        raise rows.error(i, "puzzle must be 16 digits 0-4 and solution a valid 16-digit grid; fix the row")
    return Example(id=f"{split}-{i:05d}", question=question_text(puzzle), answer={"puzzle": puzzle, "solution": solution})


def load(split: str | None = None, source: str | Path | None = None, n: int | None = None, seed: int = 0) -> list[Example]:
    """Generated puzzles (``source=None``; ``n`` defaults to 10000 train / 256 test) or rows of a file."""
    split = check_split("sudoku", split, ("train", "test"), "test")
    if source is not None:
        rows = load_rows(source, task="sudoku", split=split, local_file=None, hf_reader=None)
        return [_example_from_row(rows, i, split) for i in range(len(rows.rows))][:n]
    items = generate_split("sudoku", split, DEFAULT_N[split] if n is None else n, seed, _make)
    return [
        Example(id=f"{split}-{i:05d}", question=question_text(it["puzzle"]), answer=it, meta={"seed": seed})
        for i, it in enumerate(items)
    ]


def extract_grid(completion: str) -> str | None:
    """Digits of the last ``\\boxed{}`` (else last ``<answer>`` block); all non-digits dropped."""
    completion = cut_at_end_of_turn(completion)
    found = last_boxed(completion)
    if found is None:
        tags = [t for t in _ANSWER_TAG.findall(completion) if t.strip()]
        found = tags[-1] if tags else None
    if found is None:
        return None
    return re.sub(r"\D", "", found)


def verify(completion: str, example: Example) -> Verdict:
    """Correct iff the grid is a valid complete Sudoku keeping every clue of the puzzle."""
    puzzle, gold = example.answer["puzzle"], example.answer["solution"]
    grid = extract_grid(completion)
    if grid is None:
        return Verdict.binary(False, None, "no \\boxed{} or <answer> grid found")
    blanks = [i for i, ch in enumerate(puzzle) if ch == "0"]
    cells = sum(1 for i in blanks if i < len(grid) and grid[i] == gold[i]) / len(blanks) if blanks else 1.0
    extra = {"cell_accuracy": cells}
    if not is_valid_solution(grid):
        return Verdict.binary(False, grid, "not 16 digits 1-4 forming a valid Sudoku", **extra)
    if any(p != "0" and p != g for p, g in zip(puzzle, grid)):
        return Verdict.binary(False, grid, "valid grid but it changes a given clue", **extra)
    return Verdict.binary(True, grid, "valid solution keeping all clues", **extra)


TASK = Task(
    name="sudoku",
    version="1",
    load=load,
    format_prompt=lambda ex, family: chat_wrap(INSTRUCTION + ex.question, family),
    verify=verify,
    description="4x4 Sudoku with 8 empty cells and a unique solution; seeded generator",
    splits=("train", "test"),
    default_split="test",
    sizes=DEFAULT_N,
    kind="logic",
)
