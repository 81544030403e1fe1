"""The RL loop end to end on a tiny model: smoke, resume after SIGKILL, DDP equivalence, NaN stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from harness.config_io import load_config
from harness.errors import UserError
from trainer.config import TrainConfig
from trainer.loop import train

ROOT = Path(__file__).resolve().parents[2]
TIMING = {"time", "step_seconds", "rollout_seconds", "reward_seconds", "update_seconds"}


def _config(tmp_path: Path, model: Path, **over) -> Path:
    cfg = {
        "model": {"path": str(model)},
        "data": {"task": "tests.trainer.toy_task:TASK", "template": "plain"},
        "rollout": {
            "prompts_per_step": 4, "group_size": 4, "batch_size": 16,
            "sampler": {"gen_length": 16, "block_length": 8, "steps": 16, "remasking": "threshold",
                        "threshold": 0.5, "temperature": 1.0},
        },
        "estimator": {"name": "rldf", "k": 2},
        "optim": {"lr": 1e-3},
        "run": {"max_steps": 2, "seed": 3},
    }
    for key, value in over.items():
        sec, field = key.split("__")
        cfg.setdefault(sec, {})[field] = value
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _metrics(run: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in (run / "metrics.jsonl").open()]


def _weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return load_file(str(ckpt / "model.safetensors"))


@pytest.mark.parametrize("estimator", ["rldf", "d1", "coupled", "trace", "wd1"])
def test_smoke_every_trainable_parameter_changes_and_loss_is_finite(tmp_path, tiny_llada, estimator):
    cfg = load_config(TrainConfig, _config(tmp_path, tiny_llada, estimator__name=estimator, optim__lr=1e-2), ["loss.beta=0.01"])
    summary = train(cfg, tmp_path / "run", quiet=True)
    assert summary.steps == 2
    before, after = _weights(tiny_llada), _weights(Path(summary.checkpoint))
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert unchanged == []
    rec = _metrics(tmp_path / "run")
    assert len(rec) == 2 and all(r["loss"] is not None and abs(r["loss"]) < 1e6 for r in rec)
    assert rec[0]["adv_abs_mean"] > 0 and rec[0]["forwards"] >= 1


def test_ppo_iterations_take_one_optimizer_step_each(tmp_path, tiny_dream):
    cfg = load_config(TrainConfig, _config(tmp_path, tiny_dream), ["loss.num_iterations=2", "run.max_steps=1"])
    summary = train(cfg, tmp_path / "run", quiet=True)
    rec = _metrics(tmp_path / "run")
    assert summary.steps == 1 and rec[0]["forwards"] == 4  # 2 scheduled forwards x 2 iterations
    assert rec[0]["lr"] == pytest.approx(1e-3)


def _cli(args: list[str], env_extra: dict | None = None, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def wait_for_checkpoint(p: subprocess.Popen, run: Path, name: str) -> None:
    """Block until ``run`` holds the complete checkpoint ``name`` (fails if the run ends first)."""
    marker = run / "checkpoints" / name / "COMPLETE"
    deadline = time.time() + 300
    while not marker.exists() and p.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), f"the run never reached its {name} checkpoint"


def assert_same_run(a: Path, b: Path, name: str) -> None:
    """Identical logged metrics (timings aside) and bit-identical weights at checkpoint ``name``."""
    assert _metrics(a) == _metrics(b)
    wa, wb = _weights(a / "checkpoints" / name), _weights(b / "checkpoints" / name)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_after_sigkill_matches_a_straight_run(tmp_path, tiny_llada):
    cfg = _config(tmp_path, tiny_llada, run__max_steps=6, run__save_every=3)
    straight = tmp_path / "straight"
    p = _cli(["train", "--config", str(cfg), "--out", str(straight)])
    assert p.wait(timeout=300) == 0, p.stdout.read().decode()
    killed = tmp_path / "killed"
    p = _cli(["train", "--config", str(cfg), "--out", str(killed)])
    wait_for_checkpoint(p, killed, "step-000003")
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not (killed / "checkpoints" / "step-000006").exists()
    p = _cli(["train", "--config", str(cfg), "--out", str(killed), "--resume"])
    out = p.communicate(timeout=300)[0].decode()
    assert p.returncode == 0, out
    assert "resumed from" in out
    assert_same_run(straight, killed, "step-000006")


def train_one_and_two(cfg: Path, one: Path, two: Path, launch: str = "ddp") -> None:
    """Train ``cfg`` in one process into ``one`` and in two (DDP via torchrun, or FSDP2) into ``two``."""
    p = _cli(["train", "--config", str(cfg), "--out", str(one)])
    assert p.wait(timeout=300) == 0, p.stdout.read().decode()
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT), "ACCELERATE_USE_CPU": "1",
           "OMP_NUM_THREADS": "1"}
    port = str(29600 + (os.getpid() + len(str(two))) % 300)
    if launch == "ddp":
        head = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port]
    else:
        head = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                str(ROOT / "configs" / "accelerate" / "fsdp_cpu.yaml"), "--num_processes", "2",
                "--main_process_port", port]
    p = subprocess.run([*head, "-m", "harness.cli", "train", "--config", str(cfg), "--out", str(two)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr


def test_two_process_ddp_matches_one_process(tmp_path, tiny_llada):
    cfg = _config(tmp_path, tiny_llada)
    one, two = tmp_path / "one", tmp_path / "two"
    train_one_and_two(cfg, one, two)
    m1, m2 = _metrics(one), _metrics(two)
    for r1, r2 in zip(m1, m2):
        for key in ("reward_mean", "reward_task", "grad_norm", "traj_steps_mean", "nfe_mean"):
            assert r1[key] == pytest.approx(r2[key], rel=1e-4), key
    a, b = _weights(one / "checkpoints" / "step-000002"), _weights(two / "checkpoints" / "step-000002")
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4


def test_non_finite_loss_stops_with_a_clear_message_and_keeps_the_last_checkpoint(tmp_path, tiny_llada, monkeypatch):
    from trainer import update

    real = update._plan_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        loss, parts = real(*args, **kwargs)
        calls["n"] += 1
        return (loss * float("nan"), parts) if calls["n"] > 4 else (loss, parts)  # step 3 (2 forwards/step)

    monkeypatch.setattr(update, "_plan_loss", poisoned)
    cfg = load_config(TrainConfig, _config(tmp_path, tiny_llada, run__max_steps=5, run__save_every=1))
    with pytest.raises(UserError) as err:
        train(cfg, tmp_path / "run", quiet=True)
    msg = str(err.value)
    assert "step 3" in msg and "non-finite loss" in msg and "step-000002" in msg
    ckpts = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.startswith("step-"))
    assert ckpts[-1] == "step-000002"


def test_bad_config_values_fail_with_the_field_named(tmp_path, tiny_llada):
    path = _config(tmp_path, tiny_llada)
    with pytest.raises(UserError, match="estimator.name='rldff' is unknown .did you mean rldf"):
        load_config(TrainConfig, path, ["estimator.name=rldff"])
    with pytest.raises(UserError, match="unknown key 'lrr'; did you mean lr"):
        load_config(TrainConfig, path, ["optim.lrr=1"])
    with pytest.raises(UserError, match="block_length"):
        load_config(TrainConfig, path, ["rollout.sampler.block_length=7"])
    with pytest.raises(UserError, match="expected a number"):
        load_config(TrainConfig, path, ["optim.lr=fast"])
    with pytest.raises(UserError, match="unknown key 'max_steps'; did you mean run.max_steps"):
        load_config(TrainConfig, path, ["max_steps=3"])
    # an estimator's own setting lives in its section; the old flat key says where it moved
    with pytest.raises(UserError, match="unknown key 'step_temperature'; did you mean rldf.step_temperature"):
        load_config(TrainConfig, path, ["estimator.step_temperature=2"])


@pytest.mark.parametrize("remasking", ["threshold", "dream"])
def test_rldf_trains_on_rollouts_whose_probabilities_are_the_training_distribution(tmp_path, tiny_dream, remasking):
    """Rollout token_probs and training log-probs are one distribution (full vocabulary, same
    logit alignment), so before the first update they agree to float precision — for LLaDA-style
    rollouts and for Dream's own sampler alike; RLDF then trains on the recorded step maps."""
    sampler = {"gen_length": 16, "block_length": 16 if remasking == "dream" else 8, "steps": 8,
               "remasking": remasking, "threshold": 0.5, "temperature": 1.0}
    cfg = load_config(TrainConfig, _config(tmp_path, tiny_dream, rollout__sampler=sampler), ["run.max_steps=1"])
    summary = train(cfg, tmp_path / "run", quiet=True)
    rec = _metrics(tmp_path / "run")
    assert summary.steps == 1 and rec[0]["forwards"] >= 1
    assert rec[0]["rollout_logp_gap"] < 1e-4
    before, after = _weights(tiny_dream), _weights(Path(summary.checkpoint))
    assert any(not torch.equal(before[k], after[k]) for k in before)
