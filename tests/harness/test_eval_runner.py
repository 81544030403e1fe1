"""``evaluate_task`` end to end on a tiny model: files, fields, metrics, resume, refusals."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from harness.errors import UserError
from harness.eval import evaluate_task, runner
from harness.eval.prompts import prompt_family
from harness.models import load_model
from harness.protocols import Protocol
from harness.results import SAMPLE_FIELDS, read_run_result
from tests.harness.eval_helpers import read_records, sampling_protocol, toy_task


@pytest.fixture(scope="module")
def lm(tiny_llada):
    return load_model(tiny_llada)


@pytest.fixture(scope="module")
def first_run(lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e") / "toy"
    result = evaluate_task(lm, toy_task(), sampling_protocol(), out, seed=1, batch_size=5, progress=False)
    return out, result


def test_results_and_samples_have_every_field(first_run):
    out, result = first_run
    loaded = read_run_result(out / "results.json")
    assert loaded.to_dict() == result.to_dict()
    assert loaded.model["id"] and loaded.model["weights_hash"].startswith("sha256:")
    assert loaded.model["state_hash"].startswith("state-sha256:") and loaded.model["family"] == "llada"
    assert loaded.task == {
        "name": "toy", "version": "1", "kind": "math", "split": "test", "source": None, "n_available": 6, "limit": None,
    }
    assert loaded.protocol["hash"] == sampling_protocol().hash and loaded.protocol["external"] is False
    assert loaded.protocol["settings"]["gen_length"] == 8 and loaded.protocol["prompt_family"] == "plain"
    assert set(loaded.metrics) == {
        "accuracy", "accuracy_strict", "accuracy_lenient", "reward_mean", "pass@1", "pass@2", "pass@4", "maj@4",
    }
    assert loaded.counts["n_items"] == 6 and loaded.counts["n_samples"] == 24
    assert loaded.counts["n_scored"] + loaded.counts["n_unscorable"] == 24
    for key in ("nfe_mean", "tokens_per_forward", "wall_seconds", "tokens_per_second", "gen_tokens_mean"):
        assert loaded.speed[key] is not None and loaded.speed[key] > 0
    assert loaded.speed["nfe_mean"] == 8 and loaded.speed["tokens_per_forward"] == 1.0  # static, 8 steps, 8 tokens
    assert loaded.seed == 1 and loaded.git_sha and loaded.packages["torch"] and loaded.started_at and loaded.finished_at
    records = read_records(out / "samples.jsonl")
    assert len(records) == 24 and len({r["key"] for r in records}) == 24
    for r in records:
        assert set(SAMPLE_FIELDS) <= set(r)
        assert r["key"] == f"{r['key'].split(':')[0]}:{loaded.protocol['hash'][:16]}:{r['item_id']}:{r['sample']}"
        assert r["prompt"] == f"Q: {int(r['item_id'][-2:])}+{int(r['item_id'][-2:])} A: "
        assert r["nfe"] == 8 and r["task_version"] == "1" and r["seed"] == 1
    assert [(r["item_id"], r["sample"]) for r in records] == [(f"toy-{i:02d}", s) for i in range(6) for s in range(4)]


def test_metrics_match_a_hand_computation_from_the_records(first_run):
    out, result = first_run
    records = read_records(out / "samples.jsonl")
    by_item = [records[i * 4 : (i + 1) * 4] for i in range(6)]
    assert 0 < sum(r["correct"] is True for r in records) < 20, "the toy grade should give a mix of outcomes"
    acc, p2 = [], []
    for recs in by_item:
        flags = [r["correct"] for r in recs if r["correct"] is not None]
        if flags:
            acc.append(sum(flags) / len(flags))
        if len(flags) >= 2:
            n, c = len(flags), sum(flags)
            p2.append(1 - math.comb(n - c, 2) / math.comb(n, 2))
    assert result.metrics["accuracy"].value == pytest.approx(sum(acc) / len(acc))
    assert result.metrics["pass@1"].value == pytest.approx(sum(acc) / len(acc))
    assert result.metrics["pass@2"].value == pytest.approx(sum(p2) / len(p2))
    for name, m in result.metrics.items():
        assert m.ci_low <= m.value <= m.ci_high, name
        assert m.ci_method == "bootstrap-95"


def test_batch_size_does_not_change_records(lm, first_run, tmp_path):
    out, result = first_run
    again = evaluate_task(lm, toy_task(), sampling_protocol(), tmp_path / "b7", seed=1, batch_size=7, progress=False)
    assert read_records(tmp_path / "b7" / "samples.jsonl") == read_records(out / "samples.jsonl")
    assert again.metrics == result.metrics
    memory = evaluate_task(lm, toy_task(), sampling_protocol(), None, seed=1, batch_size=3, progress=False)
    assert memory.metrics == result.metrics and not list(tmp_path.glob("*.json"))


def test_rerun_resumes_and_refills_a_damaged_file(lm, first_run, tmp_path):
    out, result = first_run
    run = tmp_path / "copy"
    run.mkdir()
    lines = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    # lose 5 records and leave a torn line, as a SIGKILL mid-write would
    (run / "samples.jsonl").write_text("".join(lines[:10] + lines[15:]) + lines[10][:30])
    again = evaluate_task(lm, toy_task(), sampling_protocol(), run, seed=1, batch_size=4, progress=False)
    assert again.speed["decoded_samples"] == 5 and again.speed["resumed_samples"] == 19
    assert (run / "samples.jsonl").read_text() == (out / "samples.jsonl").read_text()
    assert again.metrics == result.metrics
    third = evaluate_task(lm, toy_task(), sampling_protocol(), run, seed=1, progress=False)
    assert third.speed["decoded_samples"] == 0 and third.speed["tokens_per_second"] is None


def test_a_batch_with_a_missing_record_is_decoded_again_whole(lm, first_run, tmp_path, monkeypatch):
    out, result = first_run
    run = tmp_path / "run"
    run.mkdir()
    lines = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    (run / "samples.jsonl").write_text("".join(lines[:5] + lines[6:]))  # unit 5 lies in batch [4, 8)
    calls = []
    real = runner.decode
    monkeypatch.setattr(runner, "decode", lambda lm_, prompts, *a, **kw: calls.append(len(prompts)) or real(lm_, prompts, *a, **kw))
    again = evaluate_task(lm, toy_task(), sampling_protocol(), run, seed=1, batch_size=4, progress=False)
    assert calls == [4] and again.speed["decoded_samples"] == 1
    assert (run / "samples.jsonl").read_text() == (out / "samples.jsonl").read_text()


def _copy(src, dst):
    dst.mkdir()
    (dst / "samples.jsonl").write_text((src / "samples.jsonl").read_text())
    (dst / "results.json").write_text((src / "results.json").read_text())
    return dst


def test_a_directory_refuses_records_of_other_settings(lm, first_run, tmp_path):
    out, _ = first_run
    run = _copy(out, tmp_path / "run")
    with pytest.raises(UserError, match="another model, protocol or seed .protocol toy-sampling"):
        evaluate_task(lm, toy_task(), sampling_protocol(temperature=0.5), run, seed=1, progress=False)
    with pytest.raises(UserError, match="another model, protocol or seed"):
        evaluate_task(lm, toy_task(), sampling_protocol(), run, seed=2, progress=False)
    with pytest.raises(UserError, match="larger --limit"):
        evaluate_task(lm, toy_task(), sampling_protocol(), run, seed=1, limit=3, progress=False)
    changed = dataclasses.replace(lm, net=lm.net)
    with torch.no_grad():
        saved = changed.net.get_input_embeddings().weight.clone()
        changed.net.get_input_embeddings().weight.add_(0.01)  # a training step: same path, new weights
        try:
            with pytest.raises(UserError, match="another model"):
                evaluate_task(changed, toy_task(), sampling_protocol(), run, seed=1, progress=False)
        finally:
            changed.net.get_input_embeddings().weight.copy_(saved)
    assert read_records(run / "samples.jsonl") == read_records(out / "samples.jsonl")


def test_a_new_task_version_regrades_without_decoding(lm, first_run, tmp_path):
    out, result = first_run
    run = _copy(out, tmp_path / "run")
    again = evaluate_task(lm, toy_task(version="2", flip=True), sampling_protocol(), run, seed=1, progress=False)
    assert again.speed["decoded_samples"] == 0 and again.task["version"] == "2"
    old, new = read_records(out / "samples.jsonl"), read_records(run / "samples.jsonl")
    assert [r["completion"] for r in old] == [r["completion"] for r in new]
    for a, b in zip(old, new):
        assert b["task_version"] == "2"
        assert b["correct"] == (None if a["correct"] is None else not a["correct"])


def test_examples_skip_loading_and_limit_caps_items(lm):
    loads: list = []
    task = toy_task(loads=loads)
    examples = task.load()[:4]
    loads.clear()
    result = evaluate_task(lm, task, sampling_protocol(samples=1), None, examples=examples, limit=3, progress=False)
    assert loads == [] and result.counts["n_items"] == 3 and result.task["n_available"] == 4
    assert result.task["split"] is None and result.task["limit"] == 3
    assert "pass@1" not in result.metrics  # one sample: accuracy only


def test_fewshot_prompts_use_the_train_split(lm, tmp_path):
    proto = dataclasses.replace(sampling_protocol(samples=1), shots=2)
    evaluate_task(lm, toy_task(), proto, tmp_path, limit=1, progress=False)
    prompt = read_records(tmp_path / "samples.jsonl")[0]["prompt"]
    assert prompt == "Q: 0+0 A: 0+0 = 0\n\nQ: 1+1 A: 1+1 = 2\n\nQ: 0+0 A: "


def test_dream_family_runs(tiny_dream):
    dream = load_model(tiny_dream)
    result = evaluate_task(dream, toy_task(n=2), sampling_protocol(samples=2), None, progress=False)
    assert result.model["family"] == "dream" and result.counts["n_samples"] == 4


def test_template_auto_follows_the_chat_template():
    class Tok:
        chat_template = "{{ messages }}"

    class Fake:
        family = "dream"
        tokenizer = Tok()

    assert prompt_family("auto", Fake()) == "dream"
    Fake.tokenizer = None
    assert prompt_family("auto", Fake()) == "plain" and prompt_family("llada", Fake()) == "llada"


def test_duplicate_item_ids_are_refused(lm):
    task = toy_task()
    dup = task.load()[:2] * 2
    with pytest.raises(UserError, match="occurs twice"):
        evaluate_task(lm, task, Protocol(name="p", sampler=sampling_protocol().sampler), None, examples=dup, progress=False)


def test_results_json_is_valid_json_with_the_schema(first_run):
    out, _ = first_run
    data = json.loads((out / "results.json").read_text())
    assert data["schema"] == "rldf.run_result/1" and data["samples_file"] == "samples.jsonl"
