"""``rldf eval`` in-process: layout, summary table, overrides, and one-line errors (exit code 2)."""

from __future__ import annotations

import os

import pytest

from harness.cli import main
from harness.eval.identity import safe_name
from harness.results import read_run_result
from tests.harness.eval_helpers import read_records, write_protocol_yaml


@pytest.fixture(scope="module")
def proto(tmp_path_factory):
    return write_protocol_yaml(tmp_path_factory.mktemp("proto") / "cli-greedy.yaml", gen_length=8)


def _eval(model, out, proto, *extra):
    return main(["eval", "--model", str(model), "--protocol", str(proto), "--out", str(out), "--no-progress", *extra])


def test_eval_writes_the_layout_and_prints_a_summary(tiny_llada, tiny_dream, proto, tmp_path, capsys):
    rc = _eval(f"{tiny_llada},{tiny_dream}", tmp_path, proto, "--tasks", "arithmetic", "--limit", "3", "--label", "tiny")
    assert rc == 0
    for model in (tiny_llada, tiny_dream):
        run = tmp_path / safe_name(str(model)) / "arithmetic"
        result = read_run_result(run / "results.json")
        assert result.model["id"] == model.name and result.model["label"] == "tiny"
        assert result.protocol["name"] == "cli-greedy" and result.counts["n_items"] == 3
        assert len(read_records(run / "samples.jsonl")) == 3
    out = capsys.readouterr().out
    assert "rldf eval" in out and "arithmetic" in out and "accuracy" in out


def test_sampler_flags_override_the_protocol(tiny_llada, proto, tmp_path):
    assert _eval(tiny_llada, tmp_path, proto, "--tasks", "arithmetic", "--limit", "2", "--gen-length", "16", "--steps", "16",
                 "--block-length", "4", "--samples", "2", "--seed", "3") == 0
    result = read_run_result(tmp_path / safe_name(str(tiny_llada)) / "arithmetic" / "results.json")
    assert result.protocol["name"] == "cli-greedy+block_length=4,gen_length=16,samples=2,steps=16"
    assert result.protocol["settings"]["gen_length"] == 16 and result.seed == 3 and result.counts["n_samples"] == 4


def test_safe_names():
    assert safe_name("GSAI-ML/LLaDA-8B-Instruct") == "GSAI-ML__LLaDA-8B-Instruct"
    assert safe_name("/work/ckpts/run 1/final/") == "work__ckpts__run_1__final"
    assert safe_name("./rldf-tiny") == "rldf-tiny"


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("rldf eval: error: "), err
    for needle in needles:
        assert needle in err, err


def test_unknown_task_and_protocol_fail_with_one_line(tiny_llada, proto, tmp_path, capsys):
    assert _eval(tiny_llada, tmp_path, proto, "--tasks", "arithmetik") == 2
    _one_line_error(capsys, "unknown task 'arithmetik'", "did you mean arithmetic")
    assert _eval(tiny_llada, tmp_path, "rldf-tinyy", "--tasks", "arithmetic") == 2
    _one_line_error(capsys, "unknown protocol 'rldf-tinyy'", "did you mean rldf-tiny")


def test_unreadable_model_fails_with_one_line(proto, tmp_path, capsys):
    assert _eval(tmp_path / "no-such-model", tmp_path / "out", proto, "--tasks", "arithmetic") == 2
    _one_line_error(capsys, "no-such-model", "not found")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    assert _eval(broken, tmp_path / "out", proto, "--tasks", "arithmetic") == 2
    _one_line_error(capsys, "config.json", "not readable JSON")


def test_unwritable_output_fails_before_any_work(tiny_llada, proto, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert _eval(tiny_llada, blocker / "out", proto, "--tasks", "arithmetic") == 2
    _one_line_error(capsys, "cannot write results to", "a-file")
    if os.geteuid() != 0:  # root ignores directory permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert _eval(tiny_llada, locked, proto, "--tasks", "arithmetic") == 2
        _one_line_error(capsys, "cannot write results to")


def test_tasks_default_to_the_protocols_and_source_needs_one_task(tiny_llada, proto, tmp_path, capsys):
    assert _eval(tiny_llada, tmp_path, proto) == 2
    _one_line_error(capsys, "no tasks", "--tasks")
    assert _eval(tiny_llada, tmp_path, proto, "--tasks", "arithmetic,countdown", "--source", "x.jsonl") == 2
    _one_line_error(capsys, "--source")
