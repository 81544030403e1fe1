"""Every shipped training recipe loads and validates (no model is loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config_io import load_config
from trainer.config import TrainConfig
from trainer.sft import SFTConfig

ROOT = Path(__file__).resolve().parents[2]
TRAIN = sorted((ROOT / "configs" / "train").glob("*.yaml"))
SFT = sorted((ROOT / "configs" / "sft").glob("*.yaml"))


@pytest.mark.parametrize("path", TRAIN, ids=[p.stem for p in TRAIN])
def test_train_recipe_validates(path):
    cfg = load_config(TrainConfig, path)
    assert cfg.rollout.group_size >= 2 and cfg.optim.lr > 0
    if path.stem.endswith("_d1"):  # the d1 baseline keeps d1's loss settings
        assert (cfg.estimator.name, cfg.loss.num_iterations, cfg.loss.clip_eps_low) == ("d1", 12, 0.5)
        assert cfg.advantage.scale_by_std is False and cfg.loss.beta == 0.04
    elif path.stem != "tiny_arith":  # the reference RLDF recipes never filter groups (RLDF.md A.8)
        assert cfg.estimator.name == "rldf" and cfg.advantage.max_groups is None


@pytest.mark.parametrize("path", SFT, ids=[p.stem for p in SFT])
def test_sft_recipe_validates(path):
    cfg = load_config(SFTConfig, path)
    assert cfg.run.max_steps > 0


def test_there_are_recipes():
    assert len(TRAIN) >= 6 and len(SFT) >= 2
