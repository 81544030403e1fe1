"""Metrics against hand-computed values: pass@k, maj@k, stderr, bootstrap CI, unscorable items."""

from __future__ import annotations

import math

import pytest

from harness.metrics import (
    bootstrap_ci,
    compute_metrics,
    majority_correct,
    mean_metric,
    pass_at_k,
    pass_ks,
)


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (5, 2, 2, 1 - 3 / 10),  # 1 - C(3,2)/C(5,2)
        (5, 2, 1, 2 / 5),
        (10, 3, 1, 0.3),
        (5, 0, 3, 0.0),
        (5, 4, 2, 1.0),  # n - c < k: every k-subset has a correct sample
        (4, 1, 4, 1.0),
        (8, 2, 3, 1 - math.comb(6, 3) / math.comb(8, 3)),
    ],
)
def test_pass_at_k_matches_the_binomial_formula(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_reported_k_values():
    assert pass_ks(1) == [] and pass_ks(4) == [1, 2, 4] and pass_ks(6) == [1, 2, 4, 6] and pass_ks(2) == [1, 2]


def test_majority_vote_ties_go_to_the_first_answer_and_none_does_not_vote():
    assert majority_correct([("3", False), ("4", True), ("4", True), ("3", False)]) is False  # tie: "3" came first
    assert majority_correct([(None, False), (None, False), ("7", True)]) is True
    assert majority_correct([(None, False), (None, False)]) is False
    assert majority_correct([("1", None)]) is None
    assert majority_correct([(" 2 ", True), ("2", True), ("5", False)]) is True  # whitespace-normalised


def test_mean_metric_stderr_and_ci():
    m = mean_metric([1, 0, 1, 1])
    assert m.value == 0.75 and m.n == 4
    assert m.stderr == pytest.approx(0.5 / 2)  # sample std 0.5, sqrt(4) = 2
    assert m.ci_low <= m.value <= m.ci_high and m.ci_method == "bootstrap-95"
    # all right / all wrong: the bootstrap would collapse to [1, 1]; Wilson by hand instead:
    # k = n gives [n / (n + z^2), 1], k = 0 gives [0, z^2 / (n + z^2)], z = 1.96
    perfect = mean_metric([1, 1, 1])
    assert perfect.ci_method == "wilson-95" and perfect.ci_high == 1.0
    assert perfect.ci_low == pytest.approx(3 / (3 + 1.959964**2), abs=1e-6)  # 0.4385
    zero = mean_metric([0] * 500)
    assert zero.ci_low == 0.0 and zero.ci_high == pytest.approx(3.841459 / 503.841459, abs=1e-6)  # 0.0076
    assert mean_metric([0.5, 0.5]).ci_method == "bootstrap-95"  # not binary: no Wilson
    assert mean_metric([]).n == 0 and mean_metric([1.0]).stderr is None


def test_bootstrap_is_seeded():
    values = [0.13, 0.91, 0.55, 0.02, 0.77, 0.4, 0.68, 0.29, 0.95, 0.31]
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)
    lo, hi = bootstrap_ci(values, n_boot=2000)
    # normal approximation: mean 0.501, stderr about 0.10 -> about [0.31, 0.69]
    assert 0.27 < lo < 0.34 and 0.66 < hi < 0.73


def _rec(correct, answer=None, lenient=None, score=None):
    rec = {"correct": correct, "answer": answer, "score": score if score is not None else (None if correct is None else float(correct))}
    if lenient is not None:
        rec["lenient"] = {"correct": lenient, "answer": answer}
    return rec


def test_compute_metrics_on_a_hand_worked_example():
    items = [
        # item A: 2 of 4 correct; answers 5,5,6,5 -> majority "5" (correct)
        [_rec(True, "5", True), _rec(True, "5", True), _rec(False, "6", True), _rec(False, "5x", False)],
        # item B: 0 of 4 correct, lenient finds one
        [_rec(False, "1", False), _rec(False, "2", True), _rec(False, "1", False), _rec(False, None, False)],
        # item C: one unscorable sample, 3 scorable, 3 correct
        [_rec(True, "9", True), _rec(None, "9"), _rec(True, "9", True), _rec(True, "9", True)],
    ]
    m = compute_metrics(items, samples=4, majority=True)
    # per-item accuracy: A 0.5, B 0, C 1 (unscorable excluded) -> mean 0.5
    assert m["accuracy"].value == pytest.approx(0.5) and m["accuracy"].n == 3
    assert m["accuracy_strict"].value == m["accuracy"].value
    assert m["accuracy_lenient"].value == pytest.approx((3 / 4 + 1 / 4 + 1.0) / 3)
    assert m["pass@1"].value == pytest.approx(0.5)
    # pass@2: A 1 - C(2,2)/C(4,2) = 5/6, B 0, C (n=3, c=3) 1 -> mean
    assert m["pass@2"].value == pytest.approx((5 / 6 + 0 + 1) / 3)
    # pass@4 needs 4 scorable samples: item C (3 scorable) is left out; A 1, B 0
    assert m["pass@4"].value == pytest.approx(0.5) and m["pass@4"].n == 2
    # maj@4: A "5" twice -> correct; B "1" twice -> wrong; C "9" -> correct
    assert m["maj@4"].value == pytest.approx(2 / 3)
    assert m["reward_mean"].value == pytest.approx(0.5)
    for metric in m.values():
        assert metric.ci_low <= metric.value <= metric.ci_high


def test_lenient_parser_becomes_the_headline():
    items = [[_rec(False, "1", True)], [_rec(True, "2", True)]]
    m = compute_metrics(items, samples=1, parser="lenient")
    assert m["accuracy"].value == 1.0 and m["accuracy_strict"].value == 0.5
    assert "pass@1" not in m and not any(k.startswith("maj@") for k in m)


def test_items_with_only_unscorable_samples_are_left_out():
    m = compute_metrics([[_rec(None)], [_rec(True)], [_rec(False)]], samples=1)
    assert m["accuracy"].n == 2 and m["accuracy"].value == 0.5
