"""``rldf rescore``: outside generations -> RunResults graded by our verifiers."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.errors import UserError
from harness.eval.rescore import cut_completion, rescore_file
from harness.results import SAMPLE_FIELDS, read_run_result
from tasks import get_task
from tests.harness.eval_helpers import read_records

D1_ROWS = {"gsm8k": 1130, "math500": 500, "countdown": 256, "sudoku": 256}


@pytest.fixture(scope="module")
def d1_dir(data_dir):
    path = data_dir / "external" / "d1_llada8b_instruct"
    if not path.is_dir():
        pytest.skip(f"{path} is missing")
    return path


def test_cut_completion_stops_at_the_first_end_marker():
    assert cut_completion("x \\boxed{3}<|eot_id|><|endoftext|><|endoftext|>") == ("x \\boxed{3}", 10 + 2 * 13)
    assert cut_completion("no marker") == ("no marker", 0)


def test_one_d1_file_becomes_a_run_result(d1_dir, tmp_path):
    src = d1_dir / "countdown_len128.jsonl"
    result = rescore_file(src, tmp_path, model_id="LLaDA-8B-Instruct", label="d1 generations")
    run = tmp_path / "LLaDA-8B-Instruct" / "countdown_len128"
    assert read_run_result(run / "results.json").to_dict() == result.to_dict()
    p = result.protocol
    assert p["external"] is True and p["source"] == str(src) and p["name"] == "external:d1_llada8b_instruct/countdown_len128"
    assert {k: p["settings"][k] for k in ("gen_length", "steps", "block_length")} == {"gen_length": 128, "steps": 64, "block_length": 32}
    assert p["grader"]["task"] == "countdown" and p["grader"]["task_version"] == get_task("countdown").version
    assert result.model["id"] == "LLaDA-8B-Instruct" and result.model["label"] == "d1 generations"
    assert result.counts == {"n_items": 256, "n_samples": 256, "n_scored": 256, "n_unscorable": 0}
    records = read_records(run / "samples.jsonl")
    rows = [json.loads(line) for line in src.read_text().splitlines()]
    assert len(records) == 256 and all(set(SAMPLE_FIELDS) <= set(r) for r in records)
    assert records[0]["gold"] == {"numbers": rows[0]["ground_truth"][0], "target": rows[0]["ground_truth"][1]}
    assert records[0]["completion"] == rows[0]["completion"].split("<|eot_id|>")[0]
    # the headline is exactly our verifier's verdict on each cut completion
    task = get_task("countdown")
    examples = task.load(source=str(src))
    again = [task.verify(cut_completion(r["completion"])[0], ex).correct for r, ex in zip(rows, examples)]
    assert [r["correct"] for r in records] == again
    assert result.metrics["accuracy"].value == pytest.approx(sum(again) / 256)
    m = result.metrics["accuracy"]
    assert m.ci_low <= m.value <= m.ci_high


def test_null_ground_truth_takes_the_task_data_gold_or_is_unscorable(data_dir, tmp_path):
    gsm = get_task("gsm8k").load()
    rows = [
        {"task": "gsm8k", "gen_length": 64, "question": gsm[3].question, "completion": f"\\boxed{{{gsm[3].answer}}}<|eot_id|>", "ground_truth": None},
        {"task": "gsm8k", "gen_length": 64, "question": gsm[5].question, "completion": "\\boxed{-1}", "ground_truth": float(gsm[5].answer)},
        {"task": "gsm8k", "gen_length": 64, "question": "Not a GSM8K question?", "completion": "\\boxed{2}", "ground_truth": None},
    ]
    src = tmp_path / "gens.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = rescore_file(src, tmp_path / "out")
    records = read_records(tmp_path / "out" / tmp_path.name / "gens" / "samples.jsonl")
    assert [r["item_id"] for r in records] == [gsm[3].id, gsm[5].id, "gens-00002"]
    assert [r["gold_from"] for r in records] == ["task data", "row", None]
    assert [r["correct"] for r in records] == [True, False, None]
    assert result.counts["n_unscorable"] == 1 and result.metrics["accuracy"].value == 0.5
    assert result.task["ids_matched"] == 2 and result.protocol["settings"]["gen_length"] == 64


@pytest.mark.parametrize(
    "rows, kwargs, message",
    [
        ([{"question": "q", "completion": "c", "ground_truth": "1"}], {}, "rows name no 'task'; pass --task"),
        ([{"task": "gsm8k", "question": "q", "ground_truth": "1"}], {}, "field 'completion'"),
        (
            [{"task": "sudoku", "gen_length": 128, "question": "q", "completion": "c"},
             {"task": "sudoku", "gen_length": 256, "question": "q", "completion": "c"}],
            {}, "field 'gen_length' differs",
        ),
        ([{"question": "Numbers: [1]", "completion": "c", "ground_truth": "x"}], {"task": "countdown"}, "row 1"),
        ([{"question": "q", "completion": "c"}], {"task": "no_such_task"}, "unknown task"),
    ],
)
def test_bad_files_fail_with_one_line(tmp_path, rows, kwargs, message):
    src = tmp_path / "bad.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UserError) as err:
        rescore_file(src, tmp_path / "out", **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
    if kwargs.get("task") == "countdown":
        assert str(src) in str(err.value), "errors name the user's file, not a staging copy"


def test_cli_grades_files_into_the_layout(d1_dir, tmp_path, capsys):
    rc = main(["rescore", str(d1_dir / "sudoku_len128.jsonl"), "--out", str(tmp_path), "--model-id", "LLaDA-8B-Instruct"])
    assert rc == 0
    result = read_run_result(tmp_path / "LLaDA-8B-Instruct" / "sudoku_len128" / "results.json")
    assert result.counts["n_items"] == 256 and result.task["name"] == "sudoku"
    assert "rldf rescore" in capsys.readouterr().out
    assert main(["rescore", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)]) == 2


@pytest.mark.slow
def test_all_twelve_d1_files_become_run_results(d1_dir, tmp_path):
    files = sorted(d1_dir.glob("*.jsonl"))
    assert len(files) == 12
    assert main(["rescore", *map(str, files), "--out", str(tmp_path), "--model-id", "LLaDA-8B-Instruct"]) == 0
    for f in files:
        task, length = f.stem.split("_len")
        result = read_run_result(tmp_path / "LLaDA-8B-Instruct" / f.stem / "results.json")
        assert result.task["name"] == task and result.protocol["external"] is True
        assert result.protocol["settings"]["gen_length"] == int(length)
        assert result.protocol["settings"]["steps"] == int(length) // 2
        assert result.counts["n_items"] == D1_ROWS[task]
        assert len(read_records(tmp_path / "LLaDA-8B-Instruct" / f.stem / "samples.jsonl")) == D1_ROWS[task]
