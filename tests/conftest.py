"""Test-wide settings: offline, CPU, quiet; shared fixtures for tiny checkpoints.

Tests needing the shared datasets read ``RLDF_DATA_DIR`` and skip when it is not set.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    try:
        import torch
    except ImportError:  # leaderboard-only environments
        return
    torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_llada(tmp_path_factory) -> Path:
    """A 2-layer LLaDA-architecture checkpoint with a character tokenizer (random weights)."""
    from harness.models.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny_llada"), "llada", seed=0)


@pytest.fixture(scope="session")
def tiny_dream(tmp_path_factory) -> Path:
    """A 2-layer Dream-architecture checkpoint with GQA and a character tokenizer (random weights)."""
    from harness.models.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tiny_dream"), "dream", seed=0, n_kv_heads=2)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = os.environ.get("RLDF_DATA_DIR")
    if not d or not Path(d).is_dir():
        pytest.skip("RLDF_DATA_DIR is not set to the shared data directory")
    return Path(d)
