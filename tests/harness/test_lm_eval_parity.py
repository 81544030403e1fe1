"""``RldfLM.loglikelihood`` against LLaDA's official ``eval_llada.py`` on the shipped tiny LLaDA.

The official outputs (token ids, ``suffix_greedy_prediction``, Monte-Carlo log-likelihoods as a
mean and per-batch standard deviation over 2,048 samples) were recorded once by
``record_llada_lm_eval.py`` (official code fetched into a scratch dir, never copied here), for
cfg 0, 0.5 and 2.0 — EVAL.md's "w/o CFG" and "w/ CFG" settings. Both sides estimate the same
expectation with independent randomness, so the log-likelihoods must agree within 4 standard
errors of the difference (both sides' batch-of-8 spread taken from the official record).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.models import load_model

pytest.importorskip("lm_eval")
GOLDEN = json.loads((Path(__file__).parent / "golden" / "llada_lm_eval.json").read_text())
CFGS = sorted(GOLDEN["groups"])
MC_BATCH = GOLDEN["meta"]["mc_batch"]  # the official batch (LLaDA's published --batch_size 8)
MC_NUM = 128  # ours: 16 batches of 8 per pair (the official record has 256)


def _req(*args):
    return SimpleNamespace(args=args)


def _records(cfg: str) -> list[dict]:
    return [r for group in GOLDEN["groups"][cfg] for r in group]


@pytest.fixture(scope="module")
def tiny():
    return load_model("rldf-tiny", device="cpu", dtype="float32")


@pytest.fixture(scope="module")
def ours(tiny) -> dict[str, list[tuple[float, bool]]]:
    """Our (log-likelihood, is_greedy) for every recorded pair, per cfg: through lm-eval's batch_size
    the way LLaDA's command line sets the Monte-Carlo batch."""
    from harness.lm_eval_backend import RldfLM

    out = {}
    for cfg in CFGS:
        backend = RldfLM(lm=tiny, protocol="rldf-tiny", batch_size=MC_BATCH, mc_num=MC_NUM, cfg=float(cfg))
        assert backend.mc_batch == MC_BATCH
        out[cfg] = backend.loglikelihood([_req(r["context"], r["continuation"]) for r in _records(cfg)])
    return out


def _tolerance(rec: dict) -> float:
    se = rec["ll_batch_sd"] * math.sqrt(1 / rec["n_batches"] + MC_BATCH / MC_NUM)
    return 4 * se + 1e-4  # 1e-4: float32 rounding where the estimate is deterministic (one token)


def test_token_ids_are_eval_lladas_for_every_request(tiny):
    from harness.lm_eval_backend import RldfLM

    backend, with_bos = RldfLM(lm=tiny, protocol="rldf-tiny"), RldfLM(lm=tiny, protocol="rldf-tiny", add_bos=True)
    records = _records(CFGS[0])
    for r in records:
        assert list(backend._encode_pair(r["context"], r["continuation"])) == [r["prefix_ids"], r["target_ids"]], r
    # the opt-in BOS is exactly what eval_llada.py does not do
    assert all(with_bos._encode_pair(r["context"], r["continuation"])[0] != r["prefix_ids"] for r in records)


@pytest.mark.parametrize("cfg", CFGS)
def test_loglikelihood_within_4_standard_errors(ours, cfg):
    bad = [
        (r["context"], r["continuation"], r["ll_mean"], ll)
        for r, (ll, _) in zip(_records(cfg), ours[cfg], strict=True)
        if abs(ll - r["ll_mean"]) > _tolerance(r)
    ]
    assert not bad


def test_the_4_standard_error_check_tells_cfg_settings_apart(ours):
    """Discrimination: scored against another cfg's official record, most pairs fail the check."""
    for cfg, other in zip(CFGS, CFGS[1:] + CFGS[:1], strict=True):
        recs = _records(other)
        off = sum(abs(ll - r["ll_mean"]) > _tolerance(r) for r, (ll, _) in zip(recs, ours[cfg], strict=True))
        assert off >= len(recs) // 2, (cfg, other, off)


@pytest.mark.parametrize("cfg", CFGS)
def test_multiple_choice_order_is_kept(ours, cfg):
    results = iter(ours[cfg])
    for group in GOLDEN["groups"][cfg]:
        mine = [next(results)[0] for _ in group]
        if len(group) > 1:
            official = [r["ll_mean"] for r in group]
            assert sorted(range(len(group)), key=mine.__getitem__) == sorted(range(len(group)), key=official.__getitem__)


@pytest.mark.parametrize("cfg", CFGS)
def test_is_greedy_is_identical(ours, cfg):
    recs = _records(cfg)
    assert [g for _, g in ours[cfg]] == [r["is_greedy"] for r in recs]
    assert 0 < sum(r["is_greedy"] for r in recs) < len(recs)  # both verdicts occur
