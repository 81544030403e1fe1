"""The shipped rldf-tiny reproduces from its recipe (slow: ~10 minutes on 2 CPU cores).

    pytest -m slow tests/trainer/test_sft_recipe.py

Runs ``configs/sft/tiny_arith.yaml`` to the shipped step (1250, see the model card) and checks
what the model card promises: held-out greedy accuracy under protocol ``rldf-tiny`` inside the
20-50% band the demo needs. Bit-identical weights are not asserted (they depend on the thread
count and the CPU's kernels); the closeness of the weights to the shipped ones is printed. On
the machine that trained rldf-tiny (2 threads, torch 2.13.0 CPU) it reproduced the shipped
weights exactly (max difference 0) and 34.8% held-out accuracy, in 699 s.
"""

from __future__ import annotations

import pytest
import torch

from harness.config_io import load_config
from harness.models import load_model
from harness.models.loading import SHIPPED
from trainer.sft import SFTConfig
from trainer.sft_loop import train_sft

SHIPPED_STEP = 1250


@pytest.mark.slow
def test_the_sft_recipe_reproduces_the_shipped_model(tmp_path):
    card = (SHIPPED["rldf-tiny"] / "README.md").read_text()
    assert f"step-{SHIPPED_STEP:06d}" in card  # the card names the step this test trains to
    cfg = load_config(SFTConfig, "configs/sft/tiny_arith.yaml", [
        f"run.max_steps={SHIPPED_STEP}", f"run.eval_every={SHIPPED_STEP}", f"run.save_every={SHIPPED_STEP}",
    ])
    summary = train_sft(cfg, tmp_path / "sft", quiet=True)
    assert summary.steps == SHIPPED_STEP and summary.last_eval is not None
    accuracy = summary.last_eval["accuracy"]
    assert 0.20 <= accuracy <= 0.50, f"held-out accuracy {accuracy:.3f} is outside the 20-50% band"
    ours = load_model(summary.checkpoint).net.state_dict()
    shipped = load_model("rldf-tiny").net.state_dict()
    assert ours.keys() == shipped.keys()
    drift = max(float((ours[k].float() - shipped[k].float()).abs().max()) for k in ours)
    print(f"accuracy {accuracy:.3f}; max |weight - shipped weight| = {drift:.2e}")
    assert all(torch.isfinite(v).all() for v in ours.values())
