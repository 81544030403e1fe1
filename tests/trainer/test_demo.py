"""``rldf demo`` end to end with a tiny budget: every artefact the issue names is written."""

from __future__ import annotations

import json

from harness.cli import main


def test_demo_writes_summary_results_table_and_plots(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(["demo", "--out", str(out), "--budget", "3", "--limit", "20", "--compare", "d1", "--lora",
               "--set", "rollout.prompts_per_step=2", "--set", "rollout.group_size=4"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    runs = summary["runs"]
    assert [r["estimator"] for r in runs] == ["base", "rldf", "rldf-lora", "d1", "sft"]
    for r in runs:
        assert set(r) >= {"estimator", "accuracy", "ci_low", "ci_high", "n_items", "seed", "train_seconds", "steps"}
        assert r["n_items"] == 20 and r["ci_low"] <= r["accuracy"] <= r["ci_high"]
    assert runs[1]["steps"] >= 1 and runs[1]["train_seconds"] >= 3
    for name in ("base", "rldf-seed0", "rldf-lora-seed0", "d1-seed0", "sft-seed0"):
        res = json.loads((out / "results" / name / "arithmetic" / "results.json").read_text())
        assert res["protocol"]["name"] == "rldf-tiny" and res["model"]["method"] == name.removesuffix("-seed0")
    lora = json.loads((out / "results" / "rldf-lora-seed0" / "arithmetic" / "results.json").read_text())
    assert "+base:" in lora["model"]["weights_hash"]  # an adapter directory, identified with its base
    table = (out / "demo.md").read_text()
    assert "rldf-tiny (base)" in table and "+ RLDF" in table and "LoRA r=8" in table and "SFT (control" in table
    assert (out / "plots" / "training_curves.png").exists()
    printed = capsys.readouterr().out
    assert "What you saw" in printed
