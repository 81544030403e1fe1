"""``rldf lab estimators`` end to end on the tiny model, and its table through ``rldf board``."""

from __future__ import annotations

import csv
import io
import json

import pytest

from harness.cli import main as cli

ARGS = ["lab", "estimators", "--model", "rldf-tiny", "--task", "arithmetic", "--prompts", "2", "--group", "4",
        "--draws", "2", "--samples", "2", "--estimators", "rldf[k=1],all_masking,trace", "--quiet"]


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    assert cli([*ARGS, "--out", str(out)]) == 0
    return out


def test_lab_json_records_batch_settings_machine_and_every_metric(lab_dir):
    rec = json.loads((lab_dir / "lab.json").read_text())
    assert len(rec["batch"]["hash"]) == 64 and rec["batch"]["rows"] == 8
    assert (lab_dir / "rollouts.jsonl").read_text().count("\n") == 8
    assert rec["settings"]["draws"] == 2 and rec["settings"]["config"]["loss"]["beta"] == 0
    assert rec["machine"]["cpu_count"] >= 1 and rec["reference"]["estimator"] == "trace"
    by = {e["label"]: e for e in rec["estimators"]}
    assert set(by) == {"rldf[k=1]", "all_masking", "trace"}
    # trace with all steps is the reference: measured once, same cost and usefulness
    assert by["trace"]["usefulness"] == rec["reference"]["usefulness"]
    assert by["trace"]["metrics"]["forwards"]["value"] == rec["reference"]["forwards"] >= 1
    assert by["rldf[k=1]"]["estimator_config"]["k"] == 1
    assert by["rldf[k=1]"]["metrics"]["forwards"]["value"] == 1.0
    assert by["all_masking"]["distinct_plans"] == 1 and by["all_masking"]["metrics"]["rel_var"]["value"] < 1e-6
    for e in rec["estimators"]:
        assert set(e["metrics"]) == {"cos_ref", "mean_cos", "rel_var", "draws_to_0.9", "forwards", "seconds"}
        u = e["usefulness"]
        assert u["n"] == 4 and u["step_size"] == 0.03 and u["gain"]["n"] == 4
        assert u["value"] == pytest.approx((u["reward_down"] - u["reward_up"]) / 2)
        assert u["gain"]["value"] == pytest.approx(u["reward_down"] - u["reward_base"])
    assert {p.name for p in lab_dir.glob("*.png")} == {"cosine_vs_cost.png", "usefulness_vs_cost.png"}


@pytest.mark.parametrize("fmt", ["md", "latex", "csv", "html", "terminal"])
def test_rldf_board_renders_the_lab_table_in_every_format(lab_dir, fmt, tmp_path):
    spec = lab_dir / "board" / "spec.yaml"
    out = tmp_path / f"table.{fmt}"
    args = ["board", str(lab_dir / "board"), "--spec", str(spec), "--format", fmt]
    assert cli(args if fmt == "terminal" else [*args, "--out", str(out)]) == 0
    if fmt == "terminal":
        return
    text = out.read_text()
    assert "all" in text and "forwards" in text and "trace" in text
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        cells = {(r["row_id"], r["task"]): float(r["value"]) for r in rows if r.get("value")}
        assert cells[("all_masking", "forwards")] == 1.0  # scale 1: a count, not a percent
        rec = json.loads((lab_dir / "lab.json").read_text())
        cos = next(e for e in rec["estimators"] if e["label"] == "all_masking")["metrics"]["cos_ref"]["value"]
        assert cells[("all_masking", "cos_ref")] == pytest.approx(100 * cos, abs=1e-3)  # CSV keeps 4 decimals


def test_the_second_tiny_model_writes_long_answers_in_many_steps():
    """The lab's long-completion model (harness/assets/rldf-tiny-long) with its recipe's sampler:
    >= 96-token completions decoded in >= 24 steps (the lab's run measured 106 tokens, 35 steps)."""
    from harness.config_io import load_config
    from harness.decoding import decode
    from harness.models import load_model
    from tasks import get_task
    from trainer.config import TrainConfig

    cfg = load_config(TrainConfig, "configs/train/tiny_arith_long.yaml")
    lm = load_model(cfg.model.path)
    task = get_task(cfg.data.task)
    prompts = [task.format_prompt(e, "plain") for e in task.load("test", n=4)]
    gen = decode(lm, prompts, cfg.rollout.sampler, row_seeds=[0, 1, 2, 3])
    assert min(int(n) for n in gen.gen_tokens) >= 96
    steps = [int(gen.step_map[i, : int(gen.gen_tokens[i])].max()) + 1 for i in range(4)]
    assert min(steps) >= 24, steps


def test_a_batch_without_reward_variance_is_refused_in_one_line(tiny_llada, tmp_path, capsys):
    rc = cli(["lab", "estimators", "--model", str(tiny_llada), "--prompts", "1", "--group", "2", "--draws", "2",
              "--samples", "0", "--out", str(tmp_path / "lab"), "--quiet"])
    err = capsys.readouterr().err
    assert rc != 0 and "no reward variance within any group" in err and "Traceback" not in err
    assert not (tmp_path / "lab" / "lab.json").exists()
