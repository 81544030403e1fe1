"""FSDP2 training on CPU processes (gloo), launched the way users launch it.

``ACCELERATE_USE_CPU=1 accelerate launch --config_file configs/accelerate/fsdp_cpu.yaml
--num_processes 2 -m harness.cli train ...``: two processes each holding half of every tensor,
rollouts with threshold decoding and EOS early stop (each rank on its own prompts, on a gathered
copy of the weights), and checkpoints consolidated into HF format.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.trainer.test_loop import (
    ROOT,
    _config,
    _metrics,
    _weights,
    assert_same_run,
    train_one_and_two,
    wait_for_checkpoint,
)
from trainer.checkpoint import master_weights

FSDP_CPU = ROOT / "configs" / "accelerate" / "fsdp_cpu.yaml"


def _launch_fsdp(cfg: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT), "ACCELERATE_USE_CPU": "1",
           "OMP_NUM_THREADS": "1"}
    port = str(29900 + (os.getpid() + len(str(out))) % 90)
    return subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(FSDP_CPU), "--num_processes", "2",
         "--main_process_port", port, "-m", "harness.cli", "train", "--config", str(cfg), "--out", str(out), *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def _rollouts(run: Path) -> dict[tuple[str, int], dict]:
    rows = {}
    for f in sorted((run / "rollouts").glob("step-*.jsonl")):
        step = f.name.split(".")[0]
        for line in f.read_text().splitlines():
            row = json.loads(line)
            rows[(step, row["sample_id"])] = row
    return rows


@pytest.fixture(scope="module")
def one_and_two(tmp_path_factory, tiny_llada):
    """The same 3-step recipe (threshold 0.5 + EOS stop, prefix cache) on 1 process and on 2 FSDP2 ranks."""
    tmp = tmp_path_factory.mktemp("fsdp")
    sampler = {"gen_length": 16, "block_length": 8, "steps": 16, "remasking": "threshold", "threshold": 0.5,
               "temperature": 1.0, "stop_at_eos": True, "use_cache": True}
    cfg = _config(tmp, tiny_llada, run__max_steps=3, run__log_rollouts=True, rollout__sampler=sampler,
                  loss__beta=0.01)
    one, two = tmp / "one", tmp / "two"
    train_one_and_two(cfg, one, two, launch="fsdp")
    return cfg, one, two


def test_fsdp_rollouts_with_threshold_and_eos_stop_equal_single_process(one_and_two):
    _, one, two = one_and_two
    r1, r2 = _rollouts(one), _rollouts(two)
    assert len(r1) == 3 * 16 and r1.keys() == r2.keys()  # 3 steps x 4 prompts x 4 completions, split over ranks
    assert any(r["gen_tokens"] < 16 for r in r1.values()), "no row stopped early: EOS stop was not exercised"
    for key in r1:
        for field in ("completion_ids", "step_map", "nfe", "text", "reward"):
            assert r1[key][field] == r2[key][field], (key, field)
        # token probabilities come from the same weights; the step-2/3 weights differ by float32 reduction order
        assert max(abs(a - b) for a, b in zip(r1[key]["token_probs"], r2[key]["token_probs"])) < 1e-4


def test_fsdp_two_processes_train_the_same_weights_as_one(one_and_two, tiny_llada):
    _, one, two = one_and_two
    a, b = _weights(one / "checkpoints" / "step-000003"), _weights(two / "checkpoints" / "step-000003")
    start = _weights(tiny_llada)
    assert a.keys() == b.keys() == start.keys()
    # float32 throughout; the only difference is the order of the gradient sum (a reduce-scatter of
    # two halves vs one local sum), ~1e-7 relative. AdamW divides each update by that element's
    # own gradient scale, so where a gradient is near zero the difference shows as a fraction of
    # one lr=1e-3 step: bound it at 10% of a step (measured: 1.2e-5), the DDP test's bound.
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4
    moved = min((a[k] - start[k]).abs().max().item() for k in a)
    assert moved > 1e-3  # every tensor moved by over 10x the tolerance: the comparison is not vacuous
    for r1, r2 in zip(_metrics(one), _metrics(two)):
        for key in ("reward_mean", "grad_norm", "nfe_mean", "traj_steps_mean"):  # the globally reduced ones
            assert r1[key] == pytest.approx(r2[key], rel=1e-4, abs=1e-7), key


def test_fsdp_checkpoint_is_consolidated_hf_weights_that_load_model_reads(one_and_two):
    from harness.models import load_model

    _, one, two = one_and_two
    ckpt = two / "checkpoints" / "step-000003"
    lm = load_model(str(ckpt))
    ids = torch.tensor([[5, 6, 7, lm.mask_id, lm.mask_id]])
    ref = load_model(str(one / "checkpoints" / "step-000003"))
    assert torch.allclose(lm.net(ids).logits, ref.net(ids).logits, atol=1e-4)
    # the export is float32 here, so it is also the master copy: state/ holds no second copy
    assert master_weights(ckpt).keys() == _weights(ckpt).keys()
    meta = json.loads((ckpt / "config.json").read_text())
    assert meta["dtype"] == "float32"


def test_fsdp_resume_after_sigkill_matches_a_straight_run(tmp_path, tiny_llada):
    cfg = _config(tmp_path, tiny_llada, run__max_steps=4, run__save_every=2)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    p = _launch_fsdp(cfg, straight)
    out = p.communicate(timeout=300)[0].decode()
    assert p.returncode == 0, out
    p = _launch_fsdp(cfg, killed)
    wait_for_checkpoint(p, killed, "step-000002")
    os.killpg(p.pid, signal.SIGKILL)  # the launcher and both workers, as a pre-empted node would
    p.wait()
    assert not (killed / "checkpoints" / "step-000004").exists()
    p = _launch_fsdp(cfg, killed, "--resume")
    out = p.communicate(timeout=300)[0].decode()
    assert p.returncode == 0, out
    assert "resumed from" in out
    assert_same_run(straight, killed, "step-000004")


def test_fsdp_with_the_8b_recipes_precision_updates_float32_master_weights(tmp_path, tiny_llada):
    """bf16 compute (MixedPrecisionPolicy) and bf16 storage at lr 1e-6, as the real recipes run:
    the sharded float32 master weights move, the export is bf16."""
    cfg = _config(tmp_path, tiny_llada, model__dtype="bfloat16", run__mixed_precision="bf16", optim__lr=1e-6)
    p = _launch_fsdp(cfg, tmp_path / "run")
    out = p.communicate(timeout=300)[0].decode()
    assert p.returncode == 0, out
    ckpt = tmp_path / "run" / "checkpoints" / "step-000002"
    master, start = master_weights(ckpt), _weights(tiny_llada)
    moved = sum(int((master[k] != start[k]).sum()) for k in start) / sum(v.numel() for v in start.values())
    assert moved >= 0.9 and {v.dtype for v in master.values()} == {torch.float32}
    assert {v.dtype for v in _weights(ckpt).values()} == {torch.bfloat16}
