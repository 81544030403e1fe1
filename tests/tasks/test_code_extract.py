"""Program extraction (tasks/code/extract.py) and check splitting (tasks/code/checks.py): golden cases."""

from __future__ import annotations

import pytest

from tasks.code.checks import CHECK_NAME, split_check
from tasks.code.extract import extract_program

PREFIX = "Here is the completed code:\n```python\ndef add(a, b):\n    \"\"\"Add.\"\"\"\n"


@pytest.mark.parametrize(
    ("completion", "prefix", "expected"),
    [
        # the prefix opens the block; the completion finishes the body and closes it
        ("    return a + b\n```\nThat adds.", PREFIX, 'def add(a, b):\n    """Add."""\n    return a + b\n'),
        # a later ```python block wins (the last one)
        ("    pass\n```\nBetter:\n```python\ndef add(a, b):\n    return a + b\n```", PREFIX,
         "def add(a, b):\n    return a + b\n"),
        # never closed: runs to the end of the text
        ("    return a + b\n", PREFIX, 'def add(a, b):\n    """Add."""\n    return a + b\n'),
        ("```python\nprint(1)\n```\ntext\n```python\nprint(2)\n```", "", "print(2)\n"),
        ("```py\nx = 1\n```", "", "x = 1\n"),
        ("```Python3\nx = 1\n```", "", "x = 1\n"),
        # no python fence: the last bare block
        ("```\nprint(1)\n```\nand\n```\nprint(2)\n```", "", "print(2)\n"),
        ("just prose, no code", "", None),
        ("```python\n\n```", "", None),
    ],
    ids=["prefix-closed", "last-block", "unclosed", "two-blocks", "py", "Python3", "bare", "no-code", "empty"],
)
def test_extract_program(completion, prefix, expected):
    assert extract_program(completion, prefix) == expected


def test_a_fence_inside_a_line_does_not_open_a_block():
    assert extract_program("use ```python fences``` please") is None


HUMANEVAL_LIKE = '''

METADATA = {'author': 'jt'}


def check(candidate):
    import math
    assert candidate(1) == 2
    x = 3
    assert candidate(x) == 6, "message"
    for i in range(3):
        assert candidate(i) == 2 * i
    assert True, "This prints if this assert fails (good for debugging!)"


check(double)'''


def test_each_assert_becomes_one_test_with_all_setup_kept():
    tests = split_check(HUMANEVAL_LIKE)
    assert len(tests) == 3  # two asserts and one loop of asserts; `assert True` dropped
    for test in tests:
        ns = {"double": lambda v: 2 * v}
        exec(test, ns)  # noqa: S102 - trusted test fixture; raises if the split broke the test
        assert ns["METADATA"] == {"author": "jt"}
        assert "import math" in test and "x = 3" in test
    assert sum("assert" in line for line in tests[0].splitlines()) == 1
    assert "for i in range(3)" in tests[2]


def test_split_tests_fail_independently():
    tests = split_check(HUMANEVAL_LIKE)
    outcomes = []
    for test in tests:
        try:
            exec(test, {"double": lambda v: 7 if v == 3 else 2 * v})  # noqa: S102
            outcomes.append(True)
        except AssertionError:
            outcomes.append(False)
    assert outcomes == [True, False, True]


def test_a_function_under_test_named_check_is_not_shadowed():
    test = "\n\ndef check(candidate):\n    assert check('101') == 'Yes'\n    assert check('a') == 'No'\n\ncheck(check)"
    tests = split_check(test)
    assert len(tests) == 2 and all(CHECK_NAME in t for t in tests)
    ns = {}
    exec("def check(s):\n    return 'Yes' if set(s) <= set('01') else 'No'", ns)  # noqa: S102
    for t in tests:
        exec(t, ns)  # noqa: S102 - raises if the user's `check` were shadowed


@pytest.mark.parametrize(
    "test",
    ["assert f(1) == 1", "def check(candidate):\n    pass\ncheck(f)", "this is not python (", ""],
    ids=["no-check", "no-asserts", "syntax-error", "empty"],
)
def test_tests_that_cannot_be_split_stay_whole(test):
    assert split_check(test) == (test,)


def test_only_trivial_asserts_keep_one_test():
    assert len(split_check("def check(candidate):\n    assert True\n    assert True\ncheck(f)")) == 1


def test_a_check_that_ignores_candidate_does_not_need_the_named_helper():
    """MBPP's reference file calls ``check(<helper of its own solution>)`` on 18 items; the
    asserts call the function by name, so a correct program without that helper must pass."""
    from tasks.code.grading import default_executor
    from tasks.code.sandbox import Program

    test = "import math\n\n\ndef check(candidate):\n    assert f(1) == 2\n    y = 3\n    assert f(y) == 4\n\ncheck(helper)"
    tests = split_check(test)
    assert len(tests) == 2 and all(t.endswith(f"{CHECK_NAME}(None)") for t in tests)
    [result] = default_executor([Program(code="def f(x):\n    return x + 1", tests=tests)])
    assert result.tests == (True, True)
    # HumanEval-style checks use candidate: they keep their argument
    assert split_check("def check(candidate):\n    assert candidate(1) == 2\n\ncheck(f)")[0].endswith(f"{CHECK_NAME}(f)")
