"""Code tasks graded in the real sandbox: HumanEval canonical solutions pass and ``pass`` bodies
fail; MBPP and stdio solutions; reward hacks through the task interface score 0."""

from __future__ import annotations

import pytest

from tasks.code import humaneval, mbpp, stdio

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def problems():
    return humaneval.load(source=humaneval.PACKAGE_SOURCE)


def _canonical_and_pass(examples):
    canonical = humaneval.TASK.verify_many([e.meta["solution"] for e in examples], examples)
    stubbed = humaneval.TASK.verify_many(["    pass\n```"] * len(examples), examples)
    return canonical, stubbed


def _check(examples, canonical, stubbed):
    failed = [(e.id, v.reason) for e, v in zip(examples, canonical) if not v.correct]
    assert failed == [], f"canonical solutions failed: {failed[:5]}"
    assert all(v.score == 1.0 for v in canonical)
    wrongly_passed = [e.id for e, v in zip(examples, stubbed) if v.correct is not False]
    assert wrongly_passed == [], f"`pass` bodies passed: {wrongly_passed}"


def test_all_164_humaneval_canonical_solutions_pass_and_pass_bodies_fail(problems):
    # ~10 s with 2 workers on a busy 2-core machine: inside the budget for the default run
    assert len(problems) == 164
    _check(problems, *_canonical_and_pass(problems))


@pytest.mark.parametrize(
    "hack",
    ["    return 0\nexit()\n```", "    return 0\nimport os\nos._exit(0)\n```",
     "    return 0\nraise SystemExit\n```", "    import sys\n    sys.exit(0)\n```"],
    ids=["exit", "os._exit", "SystemExit", "exit-in-function"],
)
def test_exit_reward_hacks_score_zero(problems, hack):
    verdict = humaneval.TASK.verify(hack, problems[0])
    assert verdict.correct is False and verdict.score == 0.0, verdict


def test_partial_solutions_get_fractional_reward(problems):
    example = problems[0]  # has_close_elements: 7 asserts, 4 expect True
    verdict = humaneval.TASK.verify("    return True\n```", example)
    assert verdict.correct is False and 0.0 < verdict.score < 1.0


def test_mbpp_reference_items_grade_in_the_sandbox(data_dir):
    examples = {e.meta["prefix"].split("def ")[1].split("(")[0]: e for e in mbpp.TASK.load()[:60]}
    remove_occ = examples["remove_Occ"]
    good = "    i = s.find(ch)\n    if i >= 0:\n        s = s[:i] + s[i + 1:]\n    j = s.rfind(ch)\n    if j >= 0:\n        s = s[:j] + s[j + 1:]\n    return s\n```"
    assert mbpp.TASK.verify(good, remove_occ).correct is True
    half = mbpp.TASK.verify("    return s.replace(ch, '')\n```", remove_occ)
    assert half.correct is False and 0.0 < half.score < 1.0


def test_mbpp_function_named_check_can_pass(data_dir):
    (example,) = [e for e in mbpp.TASK.load() if "def check(string)" in e.meta["prefix"]]
    verdict = mbpp.TASK.verify("    return 'Yes' if set(string) <= set('01') else 'No'\n```", example)
    assert verdict.correct is True, verdict.reason


STDIO_SOLUTIONS = {
    "stdio-sum": "a, b = map(int, input().split())\nprint(a + b)",
    "stdio-reverse-words": "print(' '.join(input().split()[::-1]))",
    "stdio-vowels": "print(sum(c in 'aeiouAEIOU' for c in input()))",
    "stdio-fizzbuzz": "for i in range(1, int(input()) + 1):\n    print('FizzBuzz' if i % 15 == 0 else 'Fizz' if i % 3 == 0 "
                      "else 'Buzz' if i % 5 == 0 else i)",
    "stdio-max": "input()\nprint(max(map(int, input().split())))",
    "stdio-palindrome": "import sys\nw = input().strip()\nprint('YES' if w == w[::-1] else 'NO')\nsys.exit(0)",
}


def test_stdio_builtin_problems_pass_with_correct_programs():
    examples = stdio.load()
    completions = [f"Here you go:\n```python\n{STDIO_SOLUTIONS[e.id]}\n```" for e in examples]
    verdicts = stdio.TASK.verify_many(completions, examples)
    assert [(e.id, v.correct) for e, v in zip(examples, verdicts)] == [(e.id, True) for e in examples]
    wrong = stdio.TASK.verify("```python\nprint('YES')\n```", examples[-1])
    assert wrong.correct is False and 0.0 < wrong.score < 1.0
