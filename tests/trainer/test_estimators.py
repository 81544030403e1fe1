"""Each estimator's masks on a toy trajectory (what is masked, what gets loss), by hand."""

from __future__ import annotations

import torch

from trainer.config import EstimatorConfig
from trainer.estimators import ESTIMATORS, RowRNG, TrainBatch, get_estimator
from trainer.estimators.coupled import CoupledSettings
from trainer.estimators.d1 import PromptMaskSettings
from trainer.estimators.random_masking import RandomMaskingSettings
from trainer.estimators.rldf import RLDFSettings
from trainer.estimators.trace import TraceSettings
from trainer.schedules import valid_positions

# Two samples, completion length 6. Sample 0: steps [0,0,1,2,3,3], first stop token at 4, index 5
# is filler. Sample 1: decoded in a single step, stop at 2.
STEP_MAP = torch.tensor([[0, 0, 1, 2, 3, 3], [0, 0, 0, 0, 0, 0]])
PROBS = torch.tensor([[0.5, 0.25, 1.0, 0.1, 0.9, 1.0], [0.9, 0.8, 0.7, 1.0, 1.0, 1.0]])


def _batch(trainable=(True, True)) -> TrainBatch:
    return TrainBatch(
        prompt=torch.tensor([[0, 7, 8, 9], [5, 6, 7, 8]]),  # row 0 left-padded by one
        prompt_attn=torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]]),
        completion=torch.arange(12).view(2, 6) + 20,
        step_map=STEP_MAP,
        token_probs=PROBS,
        valid=valid_positions(torch.tensor([4, 2]), 6, include_stop=True),
        advantages=torch.tensor([1.0, -1.0]),
        trainable=torch.tensor(trainable),
        groups=torch.tensor([0, 0]),
        sample_ids=torch.tensor([0, 1]),
    )


def _rng():
    b = _batch()
    return RowRNG(0, 0, b.sample_ids)


def rows(t):
    return t.int().tolist()


def test_registry_has_every_estimator_named_in_the_issue():
    assert set(ESTIMATORS) == {"rldf", "trace", "all_masking", "d1", "random_masking", "coupled", "wd1"}
    for name in ESTIMATORS:
        assert get_estimator(name).name == name


def test_rldf_sequential_masks_and_clipped_clean_state_positions():
    # T=0 -> top-k by weight. Sample 0 weights: s0 ln(2 sqrt2)=1.04, s1 0, s2 ln10=2.30, s3 -ln .9=0.105
    cfg = EstimatorConfig(name="rldf", k=2, rldf=RLDFSettings(step_temperature=0.0))
    plans = get_estimator("rldf").plan(_batch(), cfg, _rng())
    assert len(plans) == 2
    p0, p1 = plans
    assert p0.steps.tolist() == [2, 0] and p1.steps.tolist() == [0, 0]  # sample 1 has one step: repeated
    # x_t at s=2: positions committed at >= 2 are masked, filler (index 5, step 3) included
    assert rows(p0.mask_completion[0]) == [0, 0, 0, 1, 1, 1]
    # loss candidates: masked AND valid (filler excluded); always kept: committed at s=2
    assert rows(p0.loss_mask[0]) == [0, 0, 0, 1, 1, 0]
    assert rows(p0.keep_mask[0]) == [0, 0, 0, 1, 0, 0]
    # s=0: everything masked; current-step tokens are positions 0, 1
    assert rows(p1.mask_completion[0]) == [1] * 6 and rows(p1.keep_mask[0]) == [1, 1, 0, 0, 0, 0]
    # the single-step sample trains on its whole valid completion at s=0
    assert rows(p0.loss_mask[1]) == [1, 1, 1, 0, 0, 0] and rows(p0.keep_mask[1]) == [1, 1, 1, 0, 0, 0]


def test_rldf_skips_untrainable_samples():
    cfg = EstimatorConfig(name="rldf", k=2)
    plans = get_estimator("rldf").plan(_batch(trainable=(True, False)), cfg, _rng())
    assert all(not p.active[1] and not p.loss_mask[1].any() for p in plans)


def test_trace_visits_every_step_with_current_step_targets():
    plans = get_estimator("trace").plan(_batch(), EstimatorConfig(name="trace"), _rng())
    assert [p.steps.tolist() for p in plans] == [[0, 0], [1, -1], [2, -1], [3, -1]]
    assert rows(plans[1].mask_completion[0]) == [0, 0, 1, 1, 1, 1]
    assert rows(plans[1].loss_mask[0]) == [0, 0, 1, 0, 0, 0]
    assert rows(plans[3].loss_mask[0]) == [0, 0, 0, 0, 1, 0]  # filler at step 3 is not a target
    assert not plans[1].active[1]  # sample 1 has one step only
    shrunk = get_estimator("trace").plan(_batch(), EstimatorConfig(name="trace", trace=TraceSettings(shrink=2)), _rng())
    assert len(shrunk) == 2 and rows(shrunk[0].loss_mask[0]) == [1, 1, 1, 0, 0, 0]


def test_all_masking_masks_the_completion_and_scores_valid_positions():
    (p,) = get_estimator("all_masking").plan(_batch(), EstimatorConfig(name="all_masking"), _rng())
    assert p.mask_completion.all() and p.mask_prompt is None
    assert rows(p.loss_mask) == [[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0]]


def test_d1_masks_only_real_prompt_tokens():
    cfg = EstimatorConfig(name="d1", d1=PromptMaskSettings(p_mask_prompt=0.5))
    (p,) = get_estimator("d1").plan(_batch(), cfg, _rng())
    assert p.mask_completion.all()
    assert not p.mask_prompt[0, 0]  # padding is never "masked"
    big = EstimatorConfig(name="d1", d1=PromptMaskSettings(p_mask_prompt=0.999))
    (q,) = get_estimator("d1").plan(_batch(), big, _rng())
    assert rows(q.mask_prompt) == [[0, 1, 1, 1], [1, 1, 1, 1]]
    x = q.noisy_input(_batch(), mask_id=99)
    assert x[0, 0] == 0 and (x[0, 1:] == 99).all()


def test_random_masking_masks_a_fraction_of_valid_positions():
    cfg = EstimatorConfig(name="random_masking", k=3, random_masking=RandomMaskingSettings(mask_ratio=0.5))
    plans = get_estimator("random_masking").plan(_batch(), cfg, _rng())
    assert len(plans) == 3
    for p in plans:
        assert p.mask_completion.sum(1).tolist() == [2, 1]  # floor(.5*5)=2, max(1, floor(.5*3))=1
        assert not (p.mask_completion & ~_batch().valid).any()
        assert torch.equal(p.loss_mask, p.mask_completion)


def test_coupled_masks_are_complementary_and_weighted():
    cfg = EstimatorConfig(name="coupled", coupled=CoupledSettings(t=(0.4, 0.4), weighting=True))
    a, b = get_estimator("coupled").plan(_batch(), cfg, _rng())
    valid = _batch().valid
    assert not (a.loss_mask & b.loss_mask).any()
    assert torch.equal(a.loss_mask | b.loss_mask, valid)
    assert a.loss_mask.sum(1).tolist() == [2, 1]  # round(.4*5)=2, round(.4*3)=1
    assert torch.allclose(a.weight[0], torch.full((6,), 1 / 0.4)) and torch.allclose(b.weight[0], torch.full((6,), 1 / 0.6))


def test_wd1_uses_the_d1_forward_and_its_own_objective():
    est = get_estimator("wd1")
    (p,) = est.plan(_batch(), EstimatorConfig(name="wd1"), _rng())
    from trainer.estimators.base import clipped_pg_objective

    assert est.ratio_free and est.objective is not clipped_pg_objective
    assert p.mask_completion.all() and p.mask_prompt is not None
    assert get_estimator("d1").objective is clipped_pg_objective


def test_planning_is_per_sample_not_per_batch():
    """A sample's plan depends on its own id, not on which other samples share the batch."""
    cfg = EstimatorConfig(name="rldf", k=3, rldf=RLDFSettings(step_temperature=1.0))
    full = get_estimator("rldf").plan(_batch(), cfg, RowRNG(5, 2, torch.tensor([0, 1])))
    sub = _batch().select(torch.tensor([0]))
    alone = get_estimator("rldf").plan(sub, cfg, RowRNG(5, 2, sub.sample_ids))
    assert [p.steps[0].item() for p in full] == [p.steps[0].item() for p in alone]
