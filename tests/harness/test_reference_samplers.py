"""rldf's decoder against the official samplers, token for token (goldens recorded once).

``tests/fixtures/reference_samplers/*.json`` hold what LLaDA's ``generate.py``, Fast-dLLM's
three LLaDA decoders (no cache, prefix cache, dual cache), Drift's rollout decoder and Dream's
``diffusion_generate`` produce on rldf's trained tiny models (64 arithmetic test prompts,
greedy, float32), recorded by ``bench/reference/record_samplers.py`` with the official code
calling rldf's network. Each setting names the ``SamplerConfig`` fields that must reproduce it:
the completions must be identical, and so must the commit order (``step_map``), since every
setting is decoded here in the precision its reference scores in. The official decoders run
one prompt at a time; rldf decodes all 64 in one left-padded batch, so batch invariance is
checked along the way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness.decoding import SamplerConfig, decode
from harness.models import load_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GOLDENS = FIXTURES / "reference_samplers"
# Prompts whose commit order differs at an *exact* tie of float32 scores: two positions with
# bit-identical probabilities at the cut, which LLaDA's generate.py breaks by torch.topk's
# internal order and rldf by the lower position (documented; the completions still agree).
# Row 62, step 0: positions 8 and 14 both score 0.9998370409011841.
EXACT_TIES = {"llada-generate/static-32-32-32": [56], "llada-generate/static-64-16-32": [62]}


def _cases(family: str) -> list[tuple[str, dict]]:
    path = GOLDENS / f"{family}.json"
    data = json.loads(path.read_text())
    return [(name, {**s, "prompts": data["prompts"], "model": data["model"]}) for name, s in data["settings"].items()]


@pytest.fixture(scope="module")
def models():
    return {
        "rldf-tiny": load_model("rldf-tiny", dtype=torch.float32),
        "tests/fixtures/dream_arith": load_model(str(FIXTURES / "dream_arith"), dtype=torch.float32),
    }


def _check(models, name: str, case: dict) -> None:
    lm = models[case["model"]]
    cfg = SamplerConfig(**case["sampler"])
    g = decode(lm, case["prompts"], cfg)
    rows = case["rows"]
    want = torch.tensor([r["completion"] for r in rows])
    differ = (g.completion_ids != want).any(dim=1).nonzero().flatten().tolist()
    assert not differ, f"{name}: completions differ from the reference on prompts {differ}"
    order = torch.tensor([r["order"] for r in rows])
    differ = (g.step_map != order).any(dim=1).nonzero().flatten().tolist()
    assert differ == EXACT_TIES.get(name, []), f"{name}: commit order differs from the reference on prompts {differ}"


@pytest.mark.parametrize("name,case", _cases("llada"), ids=[n for n, _ in _cases("llada")])
def test_llada_samplers_reproduced(models, name, case):
    _check(models, name, case)


@pytest.mark.parametrize("name,case", _cases("dream"), ids=[n for n, _ in _cases("dream")])
def test_dream_sampler_reproduced(models, name, case):
    _check(models, name, case)
