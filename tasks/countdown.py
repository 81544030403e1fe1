"""Countdown: combine the given numbers with + - * / to hit a target (offline, seeded generator).

Each item has 3 numbers in 1..100 and a target in 1..100 reachable by using every number exactly
once (the generator builds the target from a random solution, kept in ``meta["solution"]``). The
gold answer is ``{"numbers": [...], "target": t}``; files may also give d1's ``[numbers, target]``
as ``ground_truth`` (so d1's released generations are loadable as a source).

Grading (binary): the expression is the last ``\\boxed{}``, else the last ``<answer>...</answer>``;
LaTeX operators are mapped to Python ones; for ``a+b-c = t`` the side using the numbers counts.
It is parsed with ``ast`` (only numbers, + - * /, parentheses; no eval), computed exactly with
fractions, and is correct iff it uses each given number exactly once and equals the target.
"""

from __future__ import annotations

import ast
import operator
import random
import re
from fractions import Fraction
from pathlib import Path

from tasks.base import Example, Task, Verdict
from tasks.data import check_split, load_rows
from tasks.math.extract import last_boxed
from tasks.prompts import chat_wrap, cut_at_end_of_turn
from tasks.synthetic import generate_split

N_NUMBERS, MAX_NUMBER, MAX_TARGET = 3, 100, 100
DEFAULT_N = {"train": 10000, "test": 256}
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_LATEX_OPS = {"\\times": "*", "\\cdot": "*", "×": "*", "·": "*", "\\div": "/", "÷": "/", "\\left": "", "\\right": ""}

INSTRUCTION = (
    "Using each of the numbers exactly once and only + - * / and parentheses, write an arithmetic "
    "expression that equals the target. Put the expression in \\boxed{}, e.g. \\boxed{(3 + 5) * 2}.\n"
)


def _make(rng: random.Random) -> tuple[str, dict]:
    while True:
        numbers = [rng.randint(1, MAX_NUMBER) for _ in range(N_NUMBERS)]
        pool = [(Fraction(x), str(x)) for x in numbers]
        while len(pool) > 1:
            a, b = pool.pop(rng.randrange(len(pool))), pool.pop(rng.randrange(len(pool)))
            op = rng.choice("+-*/")
            if op == "-" and a[0] < b[0]:
                a, b = b, a
            if op == "/" and (b[0] == 0 or (a[0] / b[0]).denominator != 1):
                op = "+"
            value = {"+": a[0] + b[0], "-": a[0] - b[0], "*": a[0] * b[0], "/": a[0] / b[0] if b[0] else 0}[op]
            pool.append((value, f"({a[1]} {op} {b[1]})"))
        target, solution = pool[0]
        if target.denominator == 1 and 1 <= target <= MAX_TARGET:
            key = f"{sorted(numbers)}->{int(target)}"
            return key, {"numbers": numbers, "target": int(target), "solution": solution[1:-1]}


def question_text(numbers: list[int], target: int) -> str:
    """The problem statement (d1's wording): ``Numbers: [49, 55, 53]\\nTarget: 51``."""
    return f"Numbers: {numbers}\nTarget: {target}"


def _example_from_row(rows, i: int, split: str) -> Example:
    row = rows.rows[i]
    if "ground_truth" in row:
        gt = rows.field(i, ("ground_truth",), (list, dict))
        numbers, target = (gt.get("numbers"), gt.get("target")) if isinstance(gt, dict) else (gt + [None, None])[:2]
    else:
        numbers, target = rows.field(i, ("numbers",), (list,)), rows.field(i, ("target",), (int,))
    if not (isinstance(numbers, list) and numbers and all(isinstance(x, int) for x in numbers) and isinstance(target, int)):
        raise rows.error(i, "countdown gold must be [numbers, target] / {numbers, target} with integers; fix the row")
    return Example(id=f"{split}-{i:05d}", question=question_text(numbers, target), answer={"numbers": numbers, "target": target})


def load(split: str | None = None, source: str | Path | None = None, n: int | None = None, seed: int = 0) -> list[Example]:
    """Generated items (``source=None``; ``n`` defaults to 10000 train / 256 test) or rows of a file."""
    split = check_split("countdown", split, ("train", "test"), "test")
    if source is not None:
        rows = load_rows(source, task="countdown", split=split, local_file=None, hf_reader=None)
        return [_example_from_row(rows, i, split) for i in range(len(rows.rows))][:n]
    items = generate_split("countdown", split, DEFAULT_N[split] if n is None else n, seed, _make)
    return [
        Example(
            id=f"{split}-{i:05d}",
            question=question_text(it["numbers"], it["target"]),
            answer={"numbers": it["numbers"], "target": it["target"]},
            meta={"solution": it["solution"], "seed": seed},
        )
        for i, it in enumerate(items)
    ]


def evaluate(expr: str) -> tuple[Fraction, list[int]] | None:
    """Exact value and the integers used, for a + - * / expression; None if invalid."""
    if len(expr) > 200:
        return None
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None
    used: list[int] = []

    def ev(node: ast.AST) -> Fraction:
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Constant) and type(node.value) is int:
            used.append(node.value)
            return Fraction(node.value)
        raise ValueError(f"disallowed syntax {type(node).__name__}")

    try:
        return ev(tree.body), used
    except (ValueError, ZeroDivisionError):
        return None


def extract_expression(completion: str) -> str | None:
    """The candidate expression: last ``\\boxed{}`` content, else last ``<answer>`` block."""
    completion = cut_at_end_of_turn(completion)
    boxed = last_boxed(completion)
    if boxed is None:
        tags = [t for t in _ANSWER_TAG.findall(completion) if t.strip()]
        boxed = tags[-1] if tags else None
    if boxed is None:
        return None
    for latex, py in _LATEX_OPS.items():
        boxed = boxed.replace(latex, py)
    return re.sub(r"[${}]|\\[()\[\]]", "", boxed).replace("\\", "").strip()


def verify(completion: str, example: Example) -> Verdict:
    """Correct iff the expression uses each number exactly once and equals the target."""
    numbers, target = example.answer["numbers"], example.answer["target"]
    expr = extract_expression(completion)
    if not expr:
        return Verdict.binary(False, None, "no \\boxed{} or <answer> expression found")
    for side in expr.split("="):
        result = evaluate(side)
        if result is None or sorted(result[1]) != sorted(numbers):
            continue
        value = result[0]
        ok = value == target
        return Verdict.binary(ok, side.strip(), f"{side.strip()} = {value}, target {target}")
    return Verdict.binary(False, expr, f"{expr!r} is not a valid expression using each of {numbers} exactly once")


TASK = Task(
    name="countdown",
    version="1",
    load=load,
    format_prompt=lambda ex, family: chat_wrap(INSTRUCTION + ex.question, family),
    verify=verify,
    description="Countdown (3 numbers, target <= 100): reach the target with + - * /; seeded generator",
    splits=("train", "test"),
    default_split="test",
    sizes=DEFAULT_N,
    kind="logic",
)
