"""Synthetic multi-step integer arithmetic: the CPU demo task (seeded, with difficulty knobs).

An item is a chain like ``7+3*12`` or the demo default ``3+5+5+1`` (``Difficulty``: number of operands, operand range, operator
set; ``*`` binds tighter than ``+``/``-``, which go left to right). Items are drawn
deterministically from (seed, index); train and test are disjoint by construction because the
split of an expression is a hash of the expression itself (``tasks.synthetic``).

Gold completion (``sft_target``), the format the model is taught::

    7+3*12      ->  3*12 = 36; 7+36 = 43
    5-2+1       ->  5-2 = 3; 3+1 = 4
    2*3-4*5     ->  2*3 = 6; 4*5 = 20; 6-20 = -14

One step per operator, each ``<a><op><b> = <result>``, steps joined by ``"; "``. All
multiplications first, left to right, each replacing its two operands by its result; then the
additions and subtractions, left to right. Negative intermediates are written ``-9``. The last
step's result is the answer. With at least 3 operands every target is at least 16 characters.

``verify`` rewards only the final answer: the integer right after the last ``=`` of the
completion. A wrong chain that ends in the right number is correct; a completion whose last
``=`` is not followed by an integer is wrong.

The ``plain`` prompt is ``Q: 7+3*12 A: `` (printable ASCII only, for character-level tokenizers).
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tasks.base import Example, Task, Verdict
from tasks.data import check_split, load_rows
from tasks.prompts import chat_wrap
from tasks.synthetic import generate_split

DEFAULT_N = {"train": 5000, "test": 500}
OPERATORS = "+-*"
_FINAL_RE = re.compile(r"=\s*(-?\d+)")
_TOKEN_RE = re.compile(r"\d+|[+\-*]")


@dataclass(frozen=True)
class Difficulty:
    """Knobs of the generator; the defaults are the demo difficulty.

    Demo default: three chained additions of single digits (``3+5+5+1`` -> ``3+5 = 8; 8+5 = 13;
    13+1 = 14``), about 5,900 train and 650 test expressions. A 0.8M-parameter model learns it to
    a 20-50% greedy accuracy in minutes of SFT on 2 CPU cores, which leaves room for RL; with
    ``+-*`` or operands up to 20-30 the same model stayed under 8% after 3,000 SFT steps.
    """

    n_operands: int = 4  # operands per expression (steps = n_operands - 1)
    min_operand: int = 1  # smallest operand
    max_operand: int = 9  # largest operand
    operators: str = "+"  # operators drawn uniformly; subset of "+-*"

    def __post_init__(self) -> None:
        if self.n_operands < 2:
            raise ValueError(f"Difficulty.n_operands must be >= 2, got {self.n_operands}; set n_operands=3 for the demo")
        if not 0 <= self.min_operand <= self.max_operand:
            raise ValueError(
                f"Difficulty needs 0 <= min_operand <= max_operand, got {self.min_operand}, {self.max_operand}; "
                "set e.g. min_operand=1, max_operand=20"
            )
        if not self.operators or set(self.operators) - set(OPERATORS):
            raise ValueError(f"Difficulty.operators {self.operators!r} must be a non-empty subset of {OPERATORS!r}")


DEFAULT_DIFFICULTY = Difficulty()


def tokens(expr: str) -> list[str]:
    """``"7+3*12"`` -> ``["7", "+", "3", "*", "12"]``."""
    return _TOKEN_RE.findall(expr)


def solve_steps(expr: str) -> list[tuple[str, int]]:
    """The ordered steps ``("3*12", 36)`` of ``expr`` as defined in the module docstring."""
    toks = tokens(expr)
    values, ops = [int(t) for t in toks[0::2]], toks[1::2]
    steps: list[tuple[str, int]] = []
    for wanted in ("*", "+-"):
        i = 0
        while i < len(ops):
            if ops[i] in wanted:
                a, b, op = values[i], values[i + 1], ops[i]
                r = a * b if op == "*" else a + b if op == "+" else a - b
                steps.append((f"{a}{op}{b}", r))
                values[i : i + 2] = [r]
                del ops[i]
            else:
                i += 1
    return steps


def evaluate(expr: str) -> int:
    """Value of ``expr`` (``*`` before ``+``/``-``)."""
    steps = solve_steps(expr)
    return steps[-1][1] if steps else int(expr)


def sft_target(example: Example) -> str:
    """Gold completion with intermediate results, e.g. ``3*12 = 36; 7+36 = 43``."""
    return "; ".join(f"{lhs} = {r}" for lhs, r in solve_steps(example.question))


def _maker(d: Difficulty):
    def make(rng: random.Random) -> tuple[str, str]:
        parts = [str(rng.randint(d.min_operand, d.max_operand))]
        for _ in range(d.n_operands - 1):
            parts += [rng.choice(d.operators), str(rng.randint(d.min_operand, d.max_operand))]
        expr = "".join(parts)
        return expr, expr

    return make


def _example(expr: str, split: str, i: int, meta: dict) -> Example:
    return Example(id=f"{split}-{i:05d}", question=expr, answer=str(evaluate(expr)), meta=meta)


def load(
    split: str | None = None,
    source: str | Path | None = None,
    n: int | None = None,
    difficulty: Difficulty | None = None,
    seed: int = 0,
) -> list[Example]:
    """``n`` generated items (default 5000 train / 500 test), or the expressions in a file.

    A file source needs an ``expression`` (or ``question``) field per row; the gold is computed.
    """
    split = check_split("arithmetic", split, ("train", "test"), "test")
    d = difficulty or DEFAULT_DIFFICULTY
    if source is not None:
        rows = load_rows(source, task="arithmetic", split=split, local_file=None, hf_reader=None)
        out = []
        for i in range(len(rows.rows)):
            expr = rows.field(i, ("expression", "question")).replace(" ", "")
            if not re.fullmatch(r"\d+(?:[+\-*]\d+)+", expr):
                raise rows.error(i, f"expression {expr!r} must look like 7+3*12 (integers and + - * only)")
            out.append(_example(expr, split, i, {}))
        return out[:n]
    exprs = generate_split("arithmetic", split, DEFAULT_N[split] if n is None else n, seed, _maker(d))
    meta = {"difficulty": asdict(d), "seed": seed}
    return [_example(e, split, i, dict(meta)) for i, e in enumerate(exprs)]


def format_prompt(example: Example, family: str) -> str:
    """``Q: 7+3*12 A: `` for ``plain``; a chat turn asking for the step format otherwise."""
    if family == "plain":
        return f"Q: {example.question} A: "
    return chat_wrap(
        f"Compute {example.question}. Work step by step, multiplications first, writing each step as "
        "'a*b = c' and separating steps with '; '. The last step's result is the answer.",
        family,
    )


def verify(completion: str, example: Example) -> Verdict:
    """Correct iff the integer after the last ``=`` equals the gold value."""
    finals = list(_FINAL_RE.finditer(completion))
    last_eq = completion.rfind("=")
    if last_eq < 0:
        return Verdict.binary(False, None, "no '=' in completion")
    if not finals or finals[-1].start() != last_eq:
        return Verdict.binary(False, None, "last '=' is not followed by an integer")
    got = finals[-1].group(1)
    ok = int(got) == int(example.answer)
    return Verdict.binary(ok, got, f"final {got} {'==' if ok else '!='} gold {example.answer}")


TASK = Task(
    name="arithmetic",
    version="1",
    load=load,
    format_prompt=format_prompt,
    verify=verify,
    description="synthetic integer chains like 7+3*12 with step-by-step targets (CPU demo)",
    splits=("train", "test"),
    default_split="test",
    sizes=DEFAULT_N,
    kind="math",
    sft_target=sft_target,
)

# The long-completion variant (estimator lab, second tiny model): ten chained additions of single
# digits, so gold completions run 99-107 characters (``5+8 = 13; 13+5 = 18; ...``) where the demo
# difficulty writes about 28. Same generator, verifier and prompt; only the chain length differs.
LONG_DIFFICULTY = Difficulty(n_operands=11)


def load_long(split: str | None = None, source: str | Path | None = None, n: int | None = None,
              seed: int = 0) -> list[Example]:
    """``load`` at ``LONG_DIFFICULTY``."""
    return load(split, source, n, LONG_DIFFICULTY, seed)


TASK_LONG = replace(TASK, name="arithmetic_long", load=load_long,
                    description="arithmetic with 11-operand chains: ~100-character step-by-step completions")
