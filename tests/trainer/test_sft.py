"""Masked-diffusion SFT: the objective by hand, and a short run of the recipe that learns."""

from __future__ import annotations

import json

import pytest
import torch

from harness.config_io import load_config
from harness.models import load_model
from trainer.sft import SFTConfig, build_pairs, collate, sft_loss
from trainer.sft_loop import train_sft


class _FakeLM:
    """log p = -1 everywhere: the SFT loss is then (#masked / t) / (B * L) per row, by hand."""

    mask_id = 99

    def token_logprobs(self, ids, targets, start, attention_mask=None, position_ids=None):
        self.seen = ids
        return torch.full(targets.shape, -1.0), None


def test_sft_loss_masks_only_the_completion_and_weights_by_one_over_t():
    lm = _FakeLM()
    prompt = torch.tensor([[5, 6, 7]])
    comp = torch.tensor([[1, 2, 3, 4]])
    attn = torch.ones(1, 7, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    t = 1e-3 + (1 - 1e-3) * torch.rand(1, 1, generator=torch.Generator().manual_seed(0))
    loss, stats = sft_loss(lm, prompt, attn, comp, gen)
    masked = (lm.seen[0, 3:] == 99)
    assert torch.equal(lm.seen[0, :3], prompt[0])  # the prompt is never masked
    assert masked.any()
    assert loss.item() == pytest.approx(float(masked.sum()) / t.item() / 4, rel=1e-5)


def test_pairs_pad_the_gold_completion_with_eos(tiny_llada):
    from tasks import get_task

    lm = load_model(tiny_llada)
    task = get_task("arithmetic")
    ex = task.load(split="train", n=3)
    pairs = build_pairs(lm, ex, task, "plain", 40)
    p, c = pairs[0]
    text = lm.tokenizer.decode(c)
    assert text.startswith(task.sft_target(ex[0])) and len(c) == 40
    assert c[len(task.sft_target(ex[0]))] == lm.eos_id and c[-1] == lm.eos_id
    prompt, attn, comp = collate(pairs, lm.pad_id, "cpu")
    assert attn.shape == (3, prompt.shape[1] + 40) and comp.shape == (3, 40)


def test_a_short_run_of_the_recipe_learns_and_resumes(tmp_path):
    cfg = load_config(SFTConfig, "configs/sft/tiny_arith.yaml", [
        "model.init={family: llada, d_model: 32, n_layers: 2, n_heads: 2}", "data.n=256",
        "run.max_steps=40", "run.batch_size=16", "run.eval_every=0", "run.save_every=20", "run.log_every=1",
        "optim.lr=3e-3", "optim.warmup_steps=0",
    ])
    summary = train_sft(cfg, tmp_path / "sft", quiet=True)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "sft" / "metrics.jsonl").open()]
    assert summary.steps == 40 and len(losses) == 40
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10  # it learns
    lm = load_model(summary.checkpoint)  # a normal HF-format checkpoint
    assert lm.family == "llada" and lm.tokenizer is not None
    more = load_config(SFTConfig, "configs/sft/tiny_arith.yaml", [
        "model.init={family: llada, d_model: 32, n_layers: 2, n_heads: 2}", "data.n=256",
        "run.max_steps=45", "run.batch_size=16", "run.eval_every=0", "run.save_every=20", "run.log_every=1",
        "optim.lr=3e-3", "optim.warmup_steps=0",
    ])
    resumed = train_sft(more, tmp_path / "sft", resume=True, quiet=True)
    assert resumed.steps == 45
    assert len((tmp_path / "sft" / "metrics.jsonl").read_text().splitlines()) == 45
