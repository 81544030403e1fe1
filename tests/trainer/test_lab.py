"""Estimator lab: its gradients are the trainer's, its metrics are right by hand, its properties hold.

On the shipped tiny model with a small fixed batch (2 prompts x 4 completions of the tiny recipe):
the reference's cosine with itself is 1 and its variance 0; a plan covering every step with the
trace targets reproduces the reference; random masking's variance falls as its mask count grows;
a second run with the same seed gives identical numbers; and a draw's gradient equals the update
the trainer's ``run_update`` applies (SGD, lr 1) for the same plan.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace

import pytest
import torch

from harness.config_io import load_config
from harness.errors import UserError
from trainer.config import TrainConfig
from trainer.estimators import get_estimator
from trainer.estimators.base import Estimator
from trainer.lab.batch import fixed_batch
from trainer.lab.gradients import lab_config, plan_draw, policy_gradient
from trainer.lab.metrics import gradient_metrics
from trainer.lab.options import LabSettings
from trainer.lab.run import Lab, load_policy
from trainer.lab.sums import CountSketch, RunningSums, dot
from trainer.lab.variants import lab_overrides, parse_variant, resolve_variants

RECIPE = "configs/train/tiny_arith.yaml"
SETTINGS = LabSettings(prompts=2, group=4, draws=6, samples=0)


def _runtime():
    from accelerate import Accelerator

    from trainer.parallel import setup_runtime

    return setup_runtime(Accelerator(cpu=True), "no")


@pytest.fixture(scope="module")
def lab() -> Lab:
    cfg = load_config(TrainConfig, RECIPE, lab_overrides(None, None, SETTINGS, []))
    lm = load_policy(cfg)
    lb = fixed_batch(lm, cfg, say=lambda msg: None)
    assert bool((lb.batch.advantages != 0).any()), "the test batch needs rewards that vary within a group"
    return Lab(lm, lb, cfg, SETTINGS, _runtime())


def _variant(label: str, settings: LabSettings = SETTINGS):
    return resolve_variants(RECIPE, lab_overrides(None, None, settings, []), [label])[0]


def _cos(a, b) -> float:
    return dot(a, b) / math.sqrt(dot(a, a) * dot(b, b))


def test_metrics_by_hand_from_two_draws():
    # draws (1, 0) and (0, 1), reference (1, 1): mean (.5, .5) points along the reference;
    # each draw has cosine 1/sqrt2; spread (2/2 - .5) * 2/1 = 1 over ||mean||^2 = .5 -> 2;
    # draws to cosine 0.9: 2 * 0.81 / 0.19
    sums = RunningSums([torch.tensor([1.0, 1.0])], CountSketch(64))
    sums.add([torch.tensor([1.0, 0.0])], 2, 0.5)
    sums.add([torch.tensor([0.0, 1.0])], 2, 1.5)
    m = gradient_metrics(sums.summary(), n_boot=200)
    assert m["cos_ref"]["value"] == pytest.approx(1.0)
    assert m["mean_cos"]["value"] == pytest.approx(1 / math.sqrt(2))
    assert m["rel_var"]["value"] == pytest.approx(2.0)
    assert m["draws_to_0.9"]["value"] == pytest.approx(2 * 0.81 / 0.19)
    assert (m["forwards"]["value"], m["seconds"]["value"]) == (2.0, 1.0)
    for v in m.values():
        assert v["ci_low"] <= v["value"] <= v["ci_high"]
    assert [t.tolist() for t in sums.mean()] == [[0.5, 0.5]]


def test_count_sketch_inner_products_are_unbiased():
    gen = torch.Generator().manual_seed(0)
    a, b = [torch.randn(300, generator=gen)], [torch.randn(300, generator=gen)]
    est = [float(CountSketch(16, seed=s)(a) @ CountSketch(16, seed=s)(b)) for s in range(400)]
    assert sum(est) / len(est) == pytest.approx(dot(a, b), abs=0.15 * math.sqrt(dot(a, a) * dot(b, b)) / 4)
    assert float(CountSketch(16, seed=3)(a) @ CountSketch(16, seed=3)(a)) > 0


def test_reference_has_cosine_one_with_itself_and_zero_variance(lab):
    out = lab.measure(_variant("trace"))
    m = out["metrics"]
    assert m["cos_ref"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert m["mean_cos"]["value"] == pytest.approx(1.0, abs=1e-6)
    assert m["rel_var"]["value"] == pytest.approx(0.0, abs=1e-6)  # zero up to the float32 running sum
    assert m["draws_to_0.9"]["value"] == 1.0
    assert out["distinct_plans"] == 1


def test_a_plan_covering_every_step_with_trace_targets_reproduces_the_reference(lab):
    trace = get_estimator("trace")
    cfg = replace(lab.cfg, estimator=replace(lab.cfg.estimator, name="trace"))
    # the same forwards, planned in reverse step order, through the trainer's update
    reverse = Estimator(name="trace_reversed", plan=lambda b, c, r: trace.plan(b, c, r)[::-1],
                        description="test", sum_forwards=True)
    g = lab.gradient(reverse, cfg, reverse.plan(lab.lb.batch, cfg.estimator, None))
    ref = lab.reference.grads
    assert _cos(g.grads, ref) == pytest.approx(1.0, abs=1e-6)
    assert math.sqrt(dot(g.grads, g.grads)) == pytest.approx(math.sqrt(dot(ref, ref)), rel=1e-5)
    assert g.forwards == lab.reference.forwards == int(lab.lb.batch.step_map[lab.lb.batch.valid].max()) + 1


def test_random_masking_variance_falls_as_its_mask_count_grows(lab):
    one = lab.measure(_variant("random_masking[k=1]"))["metrics"]["rel_var"]["value"]
    four = lab.measure(_variant("random_masking[k=4]"))["metrics"]["rel_var"]["value"]
    assert four < one / 2, (one, four)


def test_same_seed_gives_identical_results(lab):
    v = _variant("rldf")
    first, second = lab.measure(v), lab.measure(v)
    for key in ("cos_ref", "mean_cos", "rel_var", "draws_to_0.9", "forwards"):
        assert first["metrics"][key] == second["metrics"][key]
    again = fixed_batch(lab.lm, lab.cfg, say=lambda msg: None)
    assert again.hash == lab.lb.hash
    assert first["distinct_plans"] > 1  # rldf draws differ from each other, yet repeat across runs


def test_lab_gradient_equals_the_trainers_update_for_the_same_plan(lab):
    from trainer.update import run_update

    cfg = lab_config(_variant("rldf").cfg)
    est = get_estimator("rldf")
    plans = plan_draw(est, lab.lb.batch, cfg, 0)
    draw = policy_gradient(lab.lm, lab.lm.net, None, lab.lb.batch, plans, est, cfg, lab.runtime)
    lm2 = replace(lab.lm, net=copy.deepcopy(lab.lm.net))
    before = [p.detach().clone() for p in lm2.net.parameters()]
    opt = torch.optim.SGD(lm2.net.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    run_update(lm2, lm2.net, None, lab.lb.batch, plans, est, cfg, lab.runtime, opt, sched)
    moved = [b - p.detach() for b, p in zip(before, lm2.net.parameters())]
    assert dot(draw.grads, draw.grads) > 0
    for g, d in zip(draw.grads, moved):
        torch.testing.assert_close(g, d, rtol=1e-5, atol=1e-7)


def test_bad_lab_options_name_the_flag():
    with pytest.raises(UserError, match="--draws"):
        LabSettings(draws=1)
    with pytest.raises(UserError, match="estimator"):
        parse_variant("rldf[k]")
    with pytest.raises(UserError, match="unknown estimator"):
        parse_variant("rldff")
    assert parse_variant("rldf[k=8,rldf.step_temperature=inf]") == (
        "rldf", ["estimator.k=8", "estimator.rldf.step_temperature=inf"])
