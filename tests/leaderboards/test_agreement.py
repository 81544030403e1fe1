"""A table's cells and p-values use the per-item scores ``results.json`` uses (harness.metrics):
lenient parsers, unscorable samples and sandbox errors included, for every metric a spec can ask."""

from __future__ import annotations

import json

import pytest

from harness.eval.report import build_result
from harness.metrics import item_scores
from leaderboards.cells import SamplesCache, cell_stats
from leaderboards.collect import Run


def _records(shift: int) -> list[list[dict]]:
    """6 items x 2 samples: strict and lenient disagree on some, one sample is unscorable, one item
    has only sandbox errors (no scorable sample at all)."""
    items = []
    for i in range(6):
        recs = []
        for s in range(2):
            correct = (i + s + shift) % 3 == 0
            rec = {"item_id": f"it{i}", "sample": s, "correct": correct, "score": 0.5 if correct else 0.0,
                   "answer": str(i + s), "lenient": {"correct": correct or (i + s) % 2 == 0, "answer": str(i)}}
            if i == 2 and s == 1:
                rec.update(correct=None, score=None, reason="unscorable")
            if i == 5:
                rec.update(correct=None, score=None, reason="sandbox_error", lenient=None)
            recs.append(rec)
        items.append(recs)
    return items


def _run(tmp_path, name: str, items: list[list[dict]], parser: str) -> Run:
    result = build_result(items, model={"id": name}, task={"name": "toy", "version": "1"},
                          protocol={"name": "p", "hash": "h", "settings": {"parser": parser}}, samples=2,
                          parser=parser, majority=True, speed={}, seed=0, started_at="t", finished_at="t")
    d = tmp_path / name
    d.mkdir()
    (d / "results.json").write_text(json.dumps(result.to_dict()))
    (d / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for recs in items for r in recs))
    return Run(path=name, file=d / "results.json", result=result)


@pytest.mark.parametrize("metric", ["accuracy", "accuracy_strict", "accuracy_lenient", "reward_mean", "pass@1",
                                    "pass@2", "maj@2"])
def test_cells_and_pooled_cells_agree_with_results_json(tmp_path, metric):
    run = _run(tmp_path, "a", _records(0), parser="lenient")
    twin = _run(tmp_path, "b", _records(0), parser="lenient")
    expected = run.result.metrics[metric]
    cache = SamplesCache()
    single = cell_stats([run], metric, cache, 2000, 0)
    assert single.value == pytest.approx(100 * expected.value) and single.n_items == expected.n
    assert sum(single.scores.values()) / len(single.scores) == pytest.approx(expected.value)
    assert len(single.scores) == expected.n  # the all-sandbox-error item is left out, not counted wrong
    pooled = cell_stats([run, twin], metric, cache, 2000, 0)  # two identical seeds pool to the same value
    if not metric.startswith(("pass@2", "maj@")):  # pass@k / maj@K of pooled samples are new estimates
        assert pooled.pooled and pooled.value == pytest.approx(100 * expected.value)


def test_the_lenient_headline_is_what_the_table_scores(tmp_path):
    run = _run(tmp_path, "a", _records(1), parser="lenient")
    records = [r for recs in _records(1) for r in recs]
    assert item_scores(records, "accuracy", "lenient") == item_scores(records, "accuracy_lenient")
    assert item_scores(records, "accuracy", "lenient") != item_scores(records, "accuracy", "strict")
    cell = cell_stats([run], "accuracy", SamplesCache(), 2000, 0)
    assert cell.scores == item_scores(records, "accuracy_lenient")
