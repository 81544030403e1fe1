"""LoRA (peft) training: what is trained, the KL reference, checkpoints, merge and evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from harness.config_io import load_config
from harness.errors import UserError
from harness.models import load_model
from tests.trainer.test_loop import ROOT, _cli, _config, _metrics, train_one_and_two, wait_for_checkpoint
from trainer.checkpoint import read_exported_weights
from trainer.config import TrainConfig
from trainer.loop import train
from trainer.lora import AdaptersOff, LoRAConfig, add_lora

LORA = ["model.lora.r=4", "model.lora.target_modules=all-linear", "optim.lr=1e-2"]


def test_only_the_adapters_train_and_their_count_is_peft_s(tiny_llada):
    lm = add_lora(load_model(str(tiny_llada)), LoRAConfig(r=4), "base")
    trainable = {n: p for n, p in lm.net.named_parameters() if p.requires_grad}
    count, _ = lm.net.get_nb_trainable_parameters()
    assert sum(p.numel() for p in trainable.values()) == count
    assert trainable and all("lora_" in n for n in trainable)
    assert all(p.dtype == torch.float32 for p in trainable.values())
    # by hand: 2 blocks x (q, k, v, attn_out: 4 x r(d + d) + ff_proj, up_proj: 2 x r(d + m) + ff_out: r(m + d))
    cfg = lm.net.get_base_model().config
    d, m, r = cfg.d_model, cfg.mlp_hidden, 4
    assert count == cfg.n_layers * (4 * r * 2 * d + 3 * r * (d + m))


def test_the_reference_is_the_base_in_the_same_memory_and_kl_starts_at_zero(tiny_llada):
    lm = add_lora(load_model(str(tiny_llada)), LoRAConfig(r=4), "base")
    ref = replace(lm, net=AdaptersOff(lm.net))
    # the reference reads the very tensors the policy holds: no second copy of the base exists
    assert [p.data_ptr() for p in ref.net.parameters()] == [p.data_ptr() for p in lm.net.parameters()]
    assert len(list(ref.net.children())) == 0
    ids = torch.tensor([[5, 6, 7, lm.mask_id, lm.mask_id, 9]])
    with torch.no_grad():
        for name, p in lm.net.named_parameters():
            if "lora_B" in name:
                p.add_(0.1)  # make the adapters matter
        adapted = lm.net(ids).logits
        base = ref.net(ids).logits
    plain = load_model(str(tiny_llada)).net(ids).logits
    assert torch.equal(base, plain) and not torch.allclose(adapted, base)


def test_kl_is_exactly_zero_at_the_first_step(tmp_path, tiny_llada):
    cfg = load_config(TrainConfig, _config(tmp_path, tiny_llada), [*LORA, "loss.beta=0.1", "run.max_steps=1"])
    train(cfg, tmp_path / "run", quiet=True)
    assert _metrics(tmp_path / "run")[0]["kl"] == 0.0


def test_lora_checkpoint_is_an_adapter_dir_that_merges_and_evaluates_like_the_adapted_model(tmp_path, tiny_llada):
    cfg = load_config(TrainConfig, _config(tmp_path, tiny_llada), [*LORA, "loss.beta=0.0", "run.max_steps=2"])
    summary = train(cfg, tmp_path / "run", quiet=True)
    ckpt = Path(summary.checkpoint)
    assert (ckpt / "adapter_config.json").exists() and not (ckpt / "config.json").exists()
    assert all("lora_" in k for k in read_exported_weights(ckpt))  # the base is not stored again
    adapted = load_model(str(ckpt))  # base found through adapter_config.json
    merged_dir = tmp_path / "merged"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "harness.cli", "merge", "--adapter", str(ckpt), "--out", str(merged_dir)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    merged = load_model(str(merged_dir))
    ids = torch.tensor([[5, 6, 7, adapted.mask_id, adapted.mask_id, 9, 10]])
    with torch.no_grad():
        a, b = adapted.net(ids).logits, merged.net(ids).logits
        base = load_model(str(tiny_llada)).net(ids).logits
    assert (a - b).abs().max() < 1e-5 and (a - base).abs().max() > 1e-3

    from harness.eval import evaluate_task

    runs = {}
    for name, lm in (("adapter", adapted), ("merged", merged)):
        res = evaluate_task(lm, "arithmetic", "rldf-tiny", tmp_path / "eval" / name, limit=24, progress=False)
        rows = [json.loads(line) for line in (tmp_path / "eval" / name / "samples.jsonl").open()]
        runs[name] = (res.metrics["accuracy"].value, sorted((r["item_id"], r["completion"]) for r in rows))
    assert runs["adapter"] == runs["merged"]


def test_lora_resume_after_sigkill_matches_a_straight_run(tmp_path, tiny_llada):
    cfg = _config(tmp_path, tiny_llada, run__max_steps=4, run__save_every=2,
                  model__lora={"r": 4, "target_modules": ["all-linear"]}, optim__lr=1e-2)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    p = _cli(["train", "--config", str(cfg), "--out", str(straight)])
    assert p.wait(timeout=300) == 0, p.stdout.read().decode()
    p = _cli(["train", "--config", str(cfg), "--out", str(killed)])
    wait_for_checkpoint(p, killed, "step-000002")
    p.kill()
    p.wait()
    p = _cli(["train", "--config", str(cfg), "--out", str(killed), "--resume"])
    out = p.communicate(timeout=300)[0].decode()
    assert p.returncode == 0, out
    assert _metrics(straight) == _metrics(killed)
    a = read_exported_weights(straight / "checkpoints" / "step-000004")
    b = read_exported_weights(killed / "checkpoints" / "step-000004")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_targets_that_match_nothing_are_refused_with_the_module_names(tiny_llada):
    with pytest.raises(UserError) as err:
        add_lora(load_model(str(tiny_llada)), LoRAConfig(target_modules=["o_proj", "gate_proj"]), "base")
    msg = str(err.value)
    assert "match no linear layer" in msg and "attn_out" in msg and "ff_proj" in msg and "\n" not in msg


@pytest.mark.parametrize("launch", ["ddp", "fsdp"])
def test_lora_with_two_processes_matches_one(tmp_path, tiny_llada, launch):
    from tests.trainer.test_sharded import _rollouts

    cfg = _config(tmp_path, tiny_llada, model__lora={"r": 4}, optim__lr=1e-2, run__log_rollouts=True)
    one, two = tmp_path / "one", tmp_path / "two"
    train_one_and_two(cfg, one, two, launch)
    r1, r2 = _rollouts(one), _rollouts(two)
    assert r1.keys() == r2.keys() and all(r1[k]["completion_ids"] == r2[k]["completion_ids"] for k in r1)
    a = read_exported_weights(one / "checkpoints" / "step-000002")
    b = read_exported_weights(two / "checkpoints" / "step-000002")
    # float32 adapters; the 2-process gradient is summed in another order (see test_sharded.py)
    assert a.keys() == b.keys() and max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4
