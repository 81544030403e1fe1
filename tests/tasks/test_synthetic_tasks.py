"""Arithmetic, countdown and sudoku: deterministic generators, disjoint splits, golden verdicts."""

from __future__ import annotations

import json

import pytest

from tasks import Example, get_task
from tasks.arithmetic import Difficulty, evaluate, solve_steps
from tasks.arithmetic import tokens as tokens_of
from tasks.countdown import evaluate as cd_evaluate
from tasks.sudoku import all_solutions, is_valid_solution, solutions_of
from tasks.synthetic import split_of

ARITH = get_task("arithmetic")
COUNTDOWN = get_task("countdown")
SUDOKU = get_task("sudoku")


# --- arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, target, value",
    [
        ("7+3*12", "3*12 = 36; 7+36 = 43", "43"),
        ("5-2+1", "5-2 = 3; 3+1 = 4", "4"),
        ("2*3-4*5", "2*3 = 6; 4*5 = 20; 6-20 = -14", "-14"),
        ("11-20-1", "11-20 = -9; -9-1 = -10", "-10"),
        ("2*3*4", "2*3 = 6; 6*4 = 24", "24"),
        ("9-2*3+1", "2*3 = 6; 9-6 = 3; 3+1 = 4", "4"),
    ],
)
def test_arithmetic_sft_target_golden(expr, target, value):
    ex = Example(id="x", question=expr, answer=str(evaluate(expr)))
    assert ex.answer == value
    assert ARITH.sft_target(ex) == target
    assert ARITH.verify(target, ex).correct is True


def test_arithmetic_matches_python_precedence():
    mixed = Difficulty(n_operands=3, max_operand=20, operators="+-*")
    for ex in ARITH.load("train", n=300, seed=3, difficulty=mixed):
        assert int(ex.answer) == eval(ex.question)  # noqa: S307 - digits and + - * only
        assert len(solve_steps(ex.question)) == 2
    for ex in ARITH.load("test", n=50):  # the demo default: three chained additions
        assert len(solve_steps(ex.question)) == 3 and set(ex.question) <= set("123456789+")


@pytest.mark.parametrize(
    "completion, correct, answer",
    [
        ("3*12 = 36; 7+36 = 43", True, "43"),
        ("3*12 = 35; 7+35 = 43", True, "43"),  # wrong chain, right final number: rewarded
        ("3*12 = 36; 7+36 = 42", False, "42"),
        ("3*12 = 36; 7+36 = 43; 43+1 =", False, None),  # last '=' has no number
        ("43", False, None),
        ("3*12 = 36; 7+36 = 43\nQ: 1+1 A: 1+1 = 2", False, "2"),  # only the last '=' counts
        ("= 43<eos>", True, "43"),
    ],
)
def test_arithmetic_verify_rewards_final_answer_only(completion, correct, answer):
    v = ARITH.verify(completion, Example(id="x", question="7+3*12", answer="43"))
    assert (v.correct, v.answer) == (correct, answer)


def test_arithmetic_is_deterministic_and_splits_are_disjoint():
    a = ARITH.load("train", n=2000, seed=0)
    assert a == ARITH.load("train", n=2000, seed=0)
    assert ARITH.load("train", n=50, seed=1) != a[:50]
    test = ARITH.load("test")
    assert len(test) == 500 and len({e.question for e in test}) == 500
    other_seed_train = ARITH.load("train", n=2000, seed=7)
    assert not {e.question for e in test} & {e.question for e in a + other_seed_train}
    assert all(split_of("arithmetic", e.question) == "test" for e in test)


def test_arithmetic_prompt_and_target_shape():
    for ex in ARITH.load("test", n=200):
        prompt = ARITH.format_prompt(ex, "plain")
        assert prompt == f"Q: {ex.question} A: "
        assert prompt.isascii() and prompt.isprintable()
        assert len(ARITH.sft_target(ex)) >= 16
    assert ARITH.format_prompt(ex, "llada").startswith("<|startoftext|>")


def test_arithmetic_difficulty_knobs():
    d = Difficulty(n_operands=4, min_operand=10, max_operand=99, operators="+")
    exs = ARITH.load("train", n=20, difficulty=d)
    for ex in exs:
        nums = [int(t) for t in ex.question.split("+")]
        assert len(nums) == 4 and all(10 <= x <= 99 for x in nums)
    assert exs[0].meta["difficulty"]["n_operands"] == 4


def test_arithmetic_long_writes_about_100_characters_and_shares_the_verifier():
    long, short = get_task("arithmetic_long"), get_task("arithmetic")
    items = long.load("train", n=50)
    assert all(len(tokens_of(e.question)) == 21 for e in items)  # 11 operands, 10 operators
    lengths = [len(long.sft_target(e)) for e in items]
    assert min(lengths) >= 96 and max(lengths) <= 127  # + the stop token fits gen_length 128
    assert long.verify is short.verify and long.format_prompt is short.format_prompt
    assert {e.question for e in items}.isdisjoint({e.question for e in long.load("test", n=200)})


@pytest.mark.parametrize(
    "kwargs, field",
    [({"n_operands": 1}, "n_operands"), ({"min_operand": 5, "max_operand": 2}, "max_operand"), ({"operators": "/"}, "operators")],
)
def test_difficulty_validation_says_what_to_set(kwargs, field):
    with pytest.raises(ValueError, match=field):
        Difficulty(**kwargs)


def test_too_small_content_space_is_reported():
    from harness.errors import UserError

    tiny = Difficulty(n_operands=2, min_operand=1, max_operand=2, operators="+")
    with pytest.raises(UserError, match="distinct"):
        ARITH.load("train", n=100, difficulty=tiny)


# --- countdown -------------------------------------------------------------------------------

CD = Example(id="c", question="Numbers: [49, 55, 53]\nTarget: 51", answer={"numbers": [49, 55, 53], "target": 51})


@pytest.mark.parametrize(
    "completion, correct",
    [
        ("\\boxed{49 + 55 - 53}", True),
        ("\\boxed{(55 - 53) + 49}", True),
        ("<answer>\\boxed{49 + 55 - 53 = 51}</answer>", True),  # the side using the numbers counts
        ("<answer> 55 - 53 + 49 </answer>", True),  # no box: the answer tag
        ("\\boxed{55 \\times 53 \\div 53 - 4}", False),  # 4 is not given, 53 used twice
        ("\\boxed{49 + 55 - 53 + 0}", False),  # extra number
        ("\\boxed{49 + 55}", False),  # 53 unused: each number exactly once
        ("\\boxed{49 + 55 - 52}", False),
        ("\\boxed{__import__('os')}", False),
        ("no expression", False),
    ],
)
def test_countdown_verify_golden(completion, correct):
    assert COUNTDOWN.verify(completion, CD).correct is correct


def test_countdown_evaluation_is_exact():
    assert cd_evaluate("(1 / 3) * 3") == (1, [1, 3, 3])
    assert cd_evaluate("1 / 0") is None
    assert cd_evaluate("2 ** 3") is None


def test_countdown_generator_solutions_verify_and_splits_disjoint():
    test = COUNTDOWN.load("test")
    assert len(test) == 256
    for ex in test[:100]:
        assert COUNTDOWN.verify(f"\\boxed{{{ex.meta['solution']}}}", ex).correct is True
        assert len(ex.answer["numbers"]) == 3 and 1 <= ex.answer["target"] <= 100
    train = COUNTDOWN.load("train", n=3000)
    assert not {e.question for e in test} & {e.question for e in train}


def test_countdown_loads_d1_layout(tmp_path):
    f = tmp_path / "cd.jsonl"
    f.write_text(json.dumps({"question": "Numbers: [1, 2, 3]\nTarget: 6", "ground_truth": [[1, 2, 3], 6]}) + "\n")
    ex = COUNTDOWN.load(source=f)[0]
    assert ex.answer == {"numbers": [1, 2, 3], "target": 6}
    assert COUNTDOWN.verify("\\boxed{1*2*3}", ex).correct is True


# --- sudoku ----------------------------------------------------------------------------------


def test_sudoku_grid_space():
    sols = all_solutions()
    assert len(sols) == 288 and all(is_valid_solution(s) for s in sols)


SD = Example(id="s", question="Sudoku puzzle: 4320004330100004",
             answer={"puzzle": "4320004330100004", "solution": "4321124334122134"})


@pytest.mark.parametrize(
    "completion, correct, cells",
    [
        ("\\boxed{4321124334122134}", True, 1.0),
        ("<answer>\n4321\n1243\n3412\n2134\n</answer>", True, 1.0),
        ("<answer>4 3 2 1 | 1 2 4 3 | 3 4 1 2 | 2 1 3 4</answer>", True, 1.0),
        ("<answer>\n4320004330120004\n</answer>", False, 0.125),  # d1 sample: blanks left as 0
        ("\\boxed{1234341221434321}", False, None),  # a valid grid that ignores the clues
        ("\\boxed{43211243341221345}", False, None),  # 17 digits
        ("no grid", False, None),
    ],
)
def test_sudoku_verify_golden(completion, correct, cells):
    v = SUDOKU.verify(completion, SD)
    assert v.correct is correct
    if cells is not None:
        assert v.extra["cell_accuracy"] == pytest.approx(cells)


def test_sudoku_generator_unique_and_disjoint():
    test = SUDOKU.load("test")
    assert len(test) == 256
    for ex in test[:50]:
        assert ex.answer["puzzle"].count("0") == 8
        assert solutions_of(ex.answer["puzzle"]) == [ex.answer["solution"]]
        assert SUDOKU.verify(f"\\boxed{{{ex.answer['solution']}}}", ex).correct is True
    train = SUDOKU.load("train", n=2000, seed=4)
    assert not {e.question for e in test} & {e.question for e in train}


def test_sudoku_loads_d1_layout(tmp_path):
    f = tmp_path / "sd.jsonl"
    f.write_text(json.dumps({"question": "Solve the following Sudoku puzzle: 4320004330100004\n", "ground_truth": "4321124334122134"}))
    assert SUDOKU.load(source=f)[0].answer == SD.answer
