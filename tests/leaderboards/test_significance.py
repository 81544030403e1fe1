"""Paired bootstrap, per-item scores and CIs, checked against values computed by hand.

Hand computation used throughout: with n items where the row wins on k items (row correct,
baseline wrong) and ties on the rest, every per-item difference d_i is 0 or 1/1 = 1 >= 0. A
bootstrap resample has mean d <= 0 only if it draws none of the k winning items, which happens
with probability ((n - k) / n) ** n, and mean d >= 0 always. So the two-sided percentile p-value
is exactly p = 2 * ((n - k) / n) ** n:

    n = 12, k = 2:  2 * (10/12)**12 = 0.2244  -> no mark
    n = 12, k = 4:  2 * ( 8/12)**12 = 0.01541 -> "*"  (0.01 <= p < 0.05)
    n = 12, k = 5:  2 * ( 7/12)**12 = 0.00312 -> "**" (p < 0.01)

The Monte-Carlo estimate from B resamples has standard error 2 * sqrt(q (1 - q) / B) with
q = ((n - k) / n) ** n; the tests allow 4 standard errors.
"""

from __future__ import annotations

import json
import math

import pytest

from harness.metrics import bootstrap_ci, item_scores
from leaderboards.significance import SamplesUnavailable, load_samples, paired_bootstrap, significance_mark

N = 12
BASE = {f"i{i}": 1.0 if i < 6 else 0.0 for i in range(N)}


def row_with_wins(k: int) -> dict[str, float]:
    return {f"i{i}": 1.0 if i < 6 + k else 0.0 for i in range(N)}


@pytest.mark.parametrize("k, mark", [(2, ""), (4, "*"), (5, "**")])
def test_paired_bootstrap_matches_hand_computed_p(k, mark):
    q = ((N - k) / N) ** N
    exact = 2 * q
    n_boot = 20_000
    test = paired_bootstrap(row_with_wins(k), BASE, n_boot=n_boot, seed=0)
    assert test is not None
    assert test.n_items == N
    assert test.delta == pytest.approx(k / N)
    tol = 4 * 2 * math.sqrt(q * (1 - q) / n_boot)
    assert abs(test.p_value - exact) <= tol
    assert significance_mark(test.p_value) == mark
    assert significance_mark(exact) == mark


def test_swapping_rows_negates_delta_and_keeps_p():
    a, b = row_with_wins(4), BASE
    ab = paired_bootstrap(a, b, n_boot=5000, seed=3)
    ba = paired_bootstrap(b, a, n_boot=5000, seed=3)
    assert ab.delta == pytest.approx(-ba.delta)
    assert ab.p_value == pytest.approx(ba.p_value)


def test_identical_rows_have_p_one_and_unmatched_items_none():
    assert paired_bootstrap(BASE, dict(BASE), n_boot=1000).p_value == 1.0
    assert paired_bootstrap({"x": 1.0}, {"y": 0.0}) is None


def test_only_shared_items_are_compared():
    row = dict(row_with_wins(4), extra=1.0)  # an item the baseline lacks is ignored
    test = paired_bootstrap(row, BASE, n_boot=2000, seed=0)
    assert test.n_items == N
    assert test.delta == pytest.approx(4 / N)


def test_seeded_bootstrap_is_reproducible_and_seed_dependent():
    a = paired_bootstrap(row_with_wins(3), BASE, n_boot=2000, seed=7).p_value
    b = paired_bootstrap(row_with_wins(3), BASE, n_boot=2000, seed=7).p_value
    c = paired_bootstrap(row_with_wins(3), BASE, n_boot=2000, seed=8).p_value
    assert a == b
    assert a != c


def test_bootstrap_ci_brackets_the_mean():
    scores = {f"i{i}": float(i % 3 == 0) for i in range(30)}  # mean 1/3
    lo, hi = bootstrap_ci(list(scores.values()), n_boot=4000, seed=0)
    assert lo < 1 / 3 < hi
    assert 0.0 <= lo and hi <= 1.0
    assert bootstrap_ci(list(scores.values()), n_boot=4000, seed=0) == (lo, hi)


def _write(path, records, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail, encoding="utf-8")


def test_item_scores_leave_unscorable_samples_out_and_average_the_rest(tmp_path):
    f = tmp_path / "samples.jsonl"
    _write(f, [
        {"item_id": 1, "sample": 0, "correct": True},
        {"item_id": 1, "sample": 1, "correct": None},  # unscorable: left out, as results.json does
        {"item_id": 2, "sample": 0, "correct": False},
        {"item_id": 2, "sample": 1, "correct": True},
        {"item_id": 3, "sample": 0, "correct": True},
        {"item_id": 4, "sample": 0, "correct": None},  # no scorable sample: the item is left out
    ], tail='{"item_id": 3, "sample": 1, "corr')  # torn last line: ignored
    records = load_samples(f)
    assert len(records) == 6
    assert item_scores(records) == {"1": 1.0, "2": 0.5, "3": 1.0}


def test_samples_errors_name_the_problem(tmp_path):
    with pytest.raises(SamplesUnavailable, match="no samples.jsonl"):
        load_samples(tmp_path / "samples.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"item_id": 1, "correct": true}\nnot json\n{"item_id": 2}\n', encoding="utf-8")
    with pytest.raises(SamplesUnavailable, match="line 2"):
        load_samples(bad)
    noid = tmp_path / "noid.jsonl"
    _write(noid, [{"sample": 0, "correct": True}])
    with pytest.raises(SamplesUnavailable, match="no 'item_id'"):
        load_samples(noid)
