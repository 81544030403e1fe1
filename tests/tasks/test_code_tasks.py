"""Code tasks (humaneval, mbpp, mbpp_sanitized, stdio_code) with a fake executor: data layouts,
prompts, verdicts. Nothing here starts a process; real runs are in test_code_sandboxed.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.errors import UserError
from tasks import get_task
from tasks.base import Example
from tasks.code import humaneval, mbpp, stdio
from tasks.code.checks import split_check
from tasks.code.functions import PREFIX_HEAD, QUESTION_HEAD, build_program
from tasks.code.grading import verdict_from
from tasks.code.sandbox import ExecResult, Program


class FakeExecutor:
    """Records the programs; answers with a scripted status and per-test outcomes."""

    def __init__(self, status="passed", tests=None, stdout=""):
        self.status, self.tests, self.stdout, self.calls = status, tests, stdout, []

    def __call__(self, programs):
        self.calls.append(list(programs))
        return [ExecResult(self.status, 0, self.stdout, "", 0.01, "fake", "scripted",
                           tuple(self.tests if self.tests is not None else [True] * len(p.tests))) for p in programs]


def _function_example(tests=("def check(candidate):\n    assert add(1, 1) == 2\n    assert add(2, 2) == 4\ncheck(add)",)):
    return Example(id="t-0", question=QUESTION_HEAD + "def add(a, b):\n\n",
                   answer=tests, meta={"prefix": PREFIX_HEAD + "def add(a, b):\n", "time_limit": 1.0})


def test_registry_maps_the_four_code_tasks():
    for name in ("humaneval", "mbpp", "mbpp_sanitized", "stdio_code"):
        task = get_task(name)
        assert task.name == name and task.kind == "code" and task.batch_verify is not None


def test_importing_the_tasks_starts_no_sandbox():
    code = "import tasks.code.humaneval, tasks.code.mbpp, tasks.code.stdio, tasks.code.grading as g; assert g._sandbox is None"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_verify_uses_the_injected_executor_with_split_tests():
    fake = FakeExecutor(tests=[True, False])
    task = humaneval.make_task(fake)
    verdict = task.verify("    return a + b\n```", _function_example())
    (programs,) = fake.calls
    assert programs[0].code.startswith("def add(a, b):\n    return a + b")
    assert len(programs[0].tests) == 2 and programs[0].test_timeout == 1.0
    assert verdict.score == 0.5 and verdict.correct is False  # fractional reward, strict correctness
    assert verdict.answer == programs[0].code and verdict.extra["tests"] == [True, False]


def test_all_tests_passing_is_correct_with_score_one():
    verdict = humaneval.make_task(FakeExecutor()).verify("    return a + b\n```", _function_example())
    assert verdict.correct is True and verdict.score == 1.0


def test_a_sandbox_error_is_unscorable_not_zero():
    verdict = humaneval.make_task(FakeExecutor(status="sandbox_error", tests=[False, False])).verify(
        "    return a + b\n```", _function_example())
    assert verdict.correct is None and verdict.score is None
    assert "sandbox_error" in verdict.reason


@pytest.mark.parametrize("status", ["failed", "timeout", "oom"])
def test_a_run_that_failed_as_a_whole_never_scores_one(status):
    result = ExecResult(status, 0, "", "", 0.1, "fake", "killed after the tests", (True, True))
    verdict = verdict_from(result, "code")
    assert verdict.correct is False and verdict.score == 0.5


def test_a_completion_without_code_fails_without_running():
    fake = FakeExecutor()
    task = stdio.make_task(fake)
    verdict = task.verify("I cannot solve this.", stdio.load()[0])
    assert (verdict.correct, verdict.score) == (False, 0.0)
    assert fake.calls == []


def test_verify_many_batches_all_items_in_order():
    calls = []

    def executor(programs):
        calls.append(list(programs))
        return [ExecResult("failed" if "a - b" in p.code else "passed", 0, "", "", 0.01, "fake", "",
                           (("a - b" not in p.code),) * len(p.tests)) for p in programs]

    task = humaneval.make_task(executor)
    completions = ["    return a + b\n```", "    return a - b\n```", "    return b + a\n```"]
    verdicts = task.verify_many(completions, [_function_example()] * 3)
    assert len(calls) == 1 and len(calls[0]) == 3  # one batch for the whole group
    assert [v.correct for v in verdicts] == [True, False, True]
    assert [task.verify(c, _function_example()).correct for c in completions] == [True, False, True]


def test_prompts_put_the_prefix_after_the_assistant_header():
    example = humaneval.load()[0]
    for family, header in (("llada", "<|start_header_id|>assistant<|end_header_id|>\n\n"), ("dream", "<|im_start|>assistant\n")):
        prompt = humaneval.TASK.format_prompt(example, family)
        assert prompt.endswith(header + example.meta["prefix"])
        assert "Place your code within a single Python code block ```python ```." in prompt
    plain = humaneval.TASK.format_prompt(example, "plain")
    assert plain.startswith(example.question) and plain.endswith(example.meta["prefix"])


def test_humaneval_package_and_reference_json_give_the_same_items(data_dir):
    package = humaneval.load()
    reference = humaneval.load(source=str(data_dir / "HumanEval.json"))
    assert len(package) == len(reference) == 164
    assert [e.id for e in package] == [e.id for e in reference]
    assert [e.question for e in package] == [e.question for e in reference]
    assert [e.meta["prefix"] for e in package] == [e.meta["prefix"] for e in reference]
    assert [[split_check(t) for t in e.answer] for e in package] == [[split_check(t) for t in e.answer] for e in reference]
    assert all(e.meta.get("solution") for e in package)


def test_humaneval_hf_layout_file_is_supported(tmp_path):
    row = {"task_id": "HumanEval/0", "prompt": "def inc(x):\n    \"\"\"x + 1\"\"\"\n", "canonical_solution": "    return x + 1\n",
           "test": "\n\ndef check(candidate):\n    assert candidate(1) == 2\n", "entry_point": "inc"}
    path = tmp_path / "he.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (example,) = humaneval.load(source=str(path))
    assert example.id == "HumanEval/0" and example.meta["entry_point"] == "inc"
    program = build_program(humaneval.TASK.sft_target(example), example)
    assert program.code == 'def inc(x):\n    """x + 1"""\n\n    return x + 1\n'
    assert program.tests == ("def _rldf_check(candidate):\n    assert candidate(1) == 2\n_rldf_check(inc)",)


MBPP_11 = {
    "task_id": 11,
    "text": "Write a python function to remove first and last occurrence of a given character from the string.",
    "code": "def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n        if (s[i] == ch): \r\n            s = s[0 : i] + s[i + 1:] \r\n"
            "            break\r\n    for i in range(len(s) - 1,-1,-1):  \r\n        if (s[i] == ch): \r\n            s = s[0 : i] + s[i + 1:] \r\n"
            "            break\r\n    return s ",
    "test_list": ['assert remove_Occ("hello","l") == "heo"', 'assert remove_Occ("abcda","a") == "bcd"', 'assert remove_Occ("PHP","P") == "H"'],
    "test_setup_code": "",
    "challenge_test_list": ['assert remove_Occ("hellolloll","l") == "helollol"', 'assert remove_Occ("","l") == ""'],
}


def test_mbpp_hf_full_row_converts_to_the_reference_row(tmp_path, data_dir):
    path = tmp_path / "mbpp_full.jsonl"
    path.write_text(json.dumps(MBPP_11) + "\n")
    (converted,) = mbpp.TASK.load(source=str(path))
    reference = mbpp.TASK.load()[0]  # $RLDF_DATA_DIR/MBPP.json row 1 is task 11
    assert converted.question == reference.question
    assert converted.meta["prefix"] == reference.meta["prefix"]
    assert converted.answer == reference.answer
    assert converted.id == "11"


def test_mbpp_header_keeps_imports_and_globals_but_not_other_functions(tmp_path):
    row = {"task_id": 2, "prompt": "Find the minimum cost path.", "test_imports": ["import math"],
           "code": "import re\nR = 3\ndef helper(x):\n    return x\ndef min_cost(cost, m, n):\n    return helper(m)\n",
           "test_list": ["assert min_cost([[1]], 2, 2) == 2"]}
    path = tmp_path / "sanitized.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (example,) = mbpp.TASK_SANITIZED.load(source=str(path))
    assert example.meta["prefix"] == PREFIX_HEAD + 'import re\nR = 3\ndef min_cost(cost, m, n):\n    """ Find the minimum cost path.\n    """\n\n'
    assert example.answer[0].startswith("import math\n")
    assert example.question == "Find the minimum cost path.\nYour code should pass the test:\nassert min_cost([[1]], 2, 2) == 2\n"


def test_mbpp_reference_files_load(data_dir):
    assert len(mbpp.TASK.load("test")) == 498 and len(mbpp.TASK.load("train")) == 472


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"question": "q", "prefix": "p", "test_list": []}, "test_list"),
        ({"question": "q", "prefix": "p", "test_list": ["x"], "test_method": "stdio"}, "test_method"),
        ({"question": "q", "prefix": "p"}, "unknown row layout"),
    ],
)
def test_malformed_function_rows_fail_with_one_line_naming_file_row_and_field(tmp_path, row, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([row]))
    with pytest.raises(UserError) as info:
        mbpp.TASK.load(source=str(path))
    message = str(info.value)
    assert str(path) in message and "row 1" in message and field in message and "\n" not in message


def test_stdio_layouts_and_errors(tmp_path):
    apps = {"problem": "Echo.", "input_output": json.dumps({"inputs": ["a\n"], "outputs": ["a\n"]}), "time_limit": 3}
    path = tmp_path / "apps.jsonl"
    path.write_text(json.dumps(apps) + "\n")
    (example,) = stdio.load(source=str(path))
    assert example.answer == [{"input": "a\n", "output": "a\n"}] and example.meta["time_limit"] == 3.0
    path.write_text(json.dumps({"question": "q", "tests": [{"input": 1}]}) + "\n")
    with pytest.raises(UserError, match="row 1"):
        stdio.load(source=str(path))


def test_stdio_compares_whitespace_normalised_output_per_test():
    example = Example(id="s", question="q", answer=[{"input": "1\n", "output": "1 2\n"}, {"input": "2\n", "output": "x"}],
                      meta={"time_limit": 1.0})
    fake = FakeExecutor(stdout="  1\n2  \n")
    verdict = stdio.make_task(fake).verify("```python\nprint(1)\n```", example)
    (programs,) = fake.calls
    assert [p.stdin for p in programs] == ["1\n", "2\n"] and all(p.exit_ok for p in programs)
    assert verdict.score == 0.5 and verdict.correct is False and verdict.extra["tests"] == [True, False]


def test_programs_get_the_reference_deadline():
    program = build_program("    return a + b\n```", _function_example())
    assert isinstance(program, Program) and program.timeout == 1.0 + 5.0
