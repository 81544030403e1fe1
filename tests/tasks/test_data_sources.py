"""Data sources for tasks: files in every accepted layout, and one-line errors for bad data."""

from __future__ import annotations

import json
import os

import pytest

from harness.errors import UserError
from tasks import get_task
from tasks.data import load_rows, read_file


def _write(path, rows):
    path.write_text(json.dumps(rows))
    return path


def _one_line_error(fn, *needles):
    with pytest.raises(UserError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, msg
    return msg


def test_reference_json_format(tmp_path):
    f = _write(tmp_path / "g.json", [{"question": "1+1?", "ground_truth_answer": "2"}, {"question": "2+2?", "ground_truth_answer": 4}])
    ex = get_task("gsm8k").load(source=str(f))
    assert [(e.id, e.question, e.answer) for e in ex] == [("test-00000", "1+1?", "2"), ("test-00001", "2+2?", "4")]


def test_gsm8k_hf_layout_jsonl(tmp_path):
    f = tmp_path / "gsm.jsonl"
    f.write_text(json.dumps({"question": "q", "answer": "3 * 400 = <<3*400=1200>>1200\n#### 1,200"}) + "\n\n")
    assert get_task("gsm8k").load(source=f)[0].answer == "1200"


def test_math500_hf_layout_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = {"problem": "Find x.", "solution": "...", "answer": "\\frac{1}{2}", "subject": "Algebra", "level": 2,
           "unique_id": "test/algebra/1.json"}
    pq.write_table(pa.Table.from_pylist([row]), tmp_path / "m.parquet")
    ex = get_task("math500").load(source=str(tmp_path / "m.parquet"))[0]
    assert (ex.id, ex.question, ex.answer, ex.meta) == ("test/algebra/1.json", "Find x.", "\\frac{1}{2}", {"level": 2, "subject": "Algebra"})


def test_hendrycks_layout_gold_from_solution(tmp_path):
    f = _write(tmp_path / "h.json", [{"problem": "p", "solution": "so $x=\\boxed{\\frac{3}{4}}$.", "level": "Level 3", "type": "Algebra"}])
    ex = get_task("math").load(source=f)[0]
    assert (ex.answer, ex.meta) == ("\\frac{3}{4}", {"level": 3, "subject": "Algebra"})


def test_directory_source_uses_reference_file_name(tmp_path):
    _write(tmp_path / "MATH500.json", [{"question": "q", "ground_truth_answer": "1"}])
    assert len(get_task("math500").load(source=tmp_path)) == 1
    _one_line_error(lambda: get_task("gsm8k").load(source=tmp_path), "gsm8k_test.json", str(tmp_path))


def test_empty_gold_rows_are_skipped_not_fatal(tmp_path):
    f = _write(tmp_path / "t.json", [{"question": "a", "ground_truth_answer": ""}, {"question": "b", "ground_truth_answer": "1"}])
    ex = get_task("math").load(source=f)
    assert [e.id for e in ex] == ["train-00001"]


@pytest.mark.parametrize(
    "content, needles",
    [
        ([{"question": "q"}], ["row 1", "ground_truth_answer", "add it"]),
        ([{"question": "q", "ground_truth_answer": "1"}, {"ground_truth_answer": "2"}], ["row 2", "'question'"]),
        ([{"question": 7, "ground_truth_answer": "1"}], ["row 1", "'question'", "should be str", "int"]),
        ([{"question": "q", "ground_truth_answer": ["1"]}], ["row 1", "'ground_truth_answer'", "list"]),
        ([{"question": "   ", "ground_truth_answer": "1"}], ["row 1", "empty"]),
        ([], ["no rows"]),
        ({"question": "q"}, ["expected a JSON list"]),
        (["just a string"], ["row 1", "JSON object"]),
        ([{"question": "q", "answer": "no marker ####"}], ["row 1", "'answer'", "####"]),
    ],
)
def test_malformed_rows_fail_with_one_line(tmp_path, content, needles):
    f = _write(tmp_path / "bad.json", content)
    _one_line_error(lambda: get_task("gsm8k").load(source=f), str(f), *needles)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"question": "q",')
    _one_line_error(lambda: read_file(bad), str(bad), "invalid JSON", "line 1")
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    _one_line_error(lambda: read_file(empty), "empty")
    jl = tmp_path / "x.jsonl"
    jl.write_text('{"question": "q"}\n{oops}\n')
    _one_line_error(lambda: read_file(jl), "line 2", "invalid JSON")
    _one_line_error(lambda: read_file(tmp_path / "nope.json"), "not found", "nope.json")
    _one_line_error(lambda: read_file(tmp_path / "data.csv"), "not found")
    (tmp_path / "data.csv").write_text("a,b")
    _one_line_error(lambda: read_file(tmp_path / "data.csv"), "unsupported", ".csv")


def test_hf_source_offline_fails_fast_with_hint():
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"
    _one_line_error(lambda: get_task("gsm8k").load(source="hf:openai/gsm8k"), "hf:openai/gsm8k", "RLDF_DATA_DIR")


def test_default_source_without_data_dir_falls_back_to_hub(monkeypatch):
    monkeypatch.delenv("RLDF_DATA_DIR", raising=False)
    _one_line_error(lambda: get_task("math500").load(), "HuggingFaceH4/MATH-500")


def test_unknown_split_is_a_user_error():
    _one_line_error(lambda: get_task("math500").load(split="train"), "no split 'train'", "test")


def test_load_rows_without_any_source(monkeypatch):
    monkeypatch.delenv("RLDF_DATA_DIR", raising=False)
    _one_line_error(lambda: load_rows(None, task="t", split="test", local_file="x.json", hf_reader=None), "RLDF_DATA_DIR", "x.json")


@pytest.mark.parametrize("name, split, size", [("gsm8k", "test", 1319), ("math500", "test", 500), ("math", "train", 8521)])
def test_shared_reference_files(data_dir, name, split, size):
    ex = get_task(name).load(split)
    assert len(ex) == size
    assert len({e.id for e in ex}) == size
    assert all(e.question and e.answer for e in ex)
