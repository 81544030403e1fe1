"""Sharded evaluation in one process: two threads play two ranks with real gather/barrier
semantics, writing to the same run directory (the fast stand-in for the 2-process test in
``test_eval_processes.py``, which is marked slow)."""

from __future__ import annotations

import json
import threading

import pytest

from harness.eval import evaluate_task, runner
from harness.eval.dist import Shard
from harness.models import load_model
from tests.harness.eval_helpers import read_records, sampling_protocol, toy_task


class ThreadShard(Shard):
    """A rank whose collectives meet the other threads' through a barrier."""

    def __init__(self, rank: int, world: int, slots: list, gate: threading.Barrier) -> None:
        super().__init__(rank=rank, world=world)
        object.__setattr__(self, "_slots", slots)
        object.__setattr__(self, "_gate", gate)

    def gather(self, obj):
        self._slots[self.rank] = obj
        self._gate.wait()
        out = list(self._slots)
        self._gate.wait()
        return out

    def barrier(self) -> None:
        self._gate.wait()


def _run_ranks(monkeypatch, world, fn):
    slots, gate, local = [None] * world, threading.Barrier(world, timeout=120), threading.local()
    monkeypatch.setattr(runner, "current_shard", lambda distributed=None: local.shard)
    results, errors = [None] * world, []

    def work(rank):
        local.shard = ThreadShard(rank, world, slots, gate)
        try:
            results[rank] = fn(rank)
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)
            gate.abort()

    threads = [threading.Thread(target=work, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    if errors:
        raise errors[0]
    return results


@pytest.fixture(scope="module")
def lm(tiny_llada):
    return load_model(tiny_llada)


def test_two_ranks_write_the_same_records_and_metrics_as_one(lm, tmp_path, monkeypatch):
    proto = sampling_protocol(samples=3)
    single = evaluate_task(lm, toy_task(n=7), proto, tmp_path / "one", seed=5, batch_size=4, progress=False)
    results = _run_ranks(
        monkeypatch, 2,
        lambda rank: evaluate_task(lm, toy_task(n=7), proto, tmp_path / "two", seed=5, batch_size=2, progress=False),
    )
    assert read_records(tmp_path / "two" / "samples.jsonl") == read_records(tmp_path / "one" / "samples.jsonl")
    assert results[0].metrics == results[1].metrics == single.metrics
    assert results[0].speed["world_size"] == 2 and not list((tmp_path / "two").glob("samples.rank*"))


def test_a_run_killed_under_two_ranks_resumes_under_one(lm, tmp_path, monkeypatch):
    proto = sampling_protocol(samples=2)
    reference = evaluate_task(lm, toy_task(n=6), proto, tmp_path / "ref", seed=2, progress=False)
    run = tmp_path / "run"
    full = read_records(tmp_path / "ref" / "samples.jsonl")
    # what two ranks leave behind when killed mid-run: part of each shard, in its own file
    run.mkdir()
    rank0 = [r for j, r in enumerate(full) if j % 2 == 0][:3]
    rank1 = [r for j, r in enumerate(full) if j % 2 == 1][:4]
    (run / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rank0))
    (run / "samples.rank1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rank1))
    resumed = evaluate_task(lm, toy_task(n=6), proto, run, seed=2, progress=False)
    assert resumed.speed["resumed_samples"] == 7 and resumed.speed["decoded_samples"] == len(full) - 7
    assert read_records(run / "samples.jsonl") == full and not list(run.glob("samples.rank*"))
    assert resumed.metrics == reference.metrics
