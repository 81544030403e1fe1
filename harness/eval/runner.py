"""``evaluate_task``: items -> prompts -> decode -> verify -> records -> metrics -> ``RunResult``.

    from harness.eval import evaluate_task
    result = evaluate_task(lm, "gsm8k", "rldf-greedy-256", "out/llada/gsm8k", limit=100)

The same call serves ``rldf eval``, the trainer's periodic evaluation (pass the live policy and
``examples=`` once loaded, ``out_dir=None`` to stay in memory) and ``accelerate launch`` /
``torchrun`` data parallelism (work units are sharded round-robin and merged; see
``harness.eval.dist``). With an ``out_dir`` every batch's records are appended and fsynced
before the next batch starts, and a re-run skips what is there (``harness.eval.store``), so a
killed run resumes with no duplicate and no missing record. Every (item, sample) decodes with
its own seed (``row_seed``) and batches are fixed slices of each rank's units (a batch with a
missing record is decoded again whole), so an interrupted run resumes to exactly the records of
an uninterrupted one with the same batch size and process count. Across batch sizes or process
counts records agree exactly on CPU; GPU kernels are not exactly batch-invariant, so there
near-tie tokens can differ between batch sizes (README.md, "Decoding").
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.decoding import decode
from harness.errors import UserError
from harness.eval.dist import current_shard
from harness.eval.identity import default_model_id, key_prefix, now_iso, record_key, state_hash
from harness.eval.prompts import build_prompts, prompt_family
from harness.eval.records import apply_verdict, make_record
from harness.eval.report import build_result, speed_stats
from harness.eval.store import RESULTS, RecordStore, ensure_writable
from harness.protocols import Protocol, load_protocol
from harness.results import RunResult
from harness.seeds import row_seed
from tasks import Example, Task, get_task

log = logging.getLogger(__name__)
DEFAULT_BATCH_SIZE = 16


@contextlib.contextmanager
def _progress(enabled: bool, description: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
    if not enabled or total == 0:
        yield lambda n: None
        return
    from harness.progress import progress_bar

    with progress_bar(unit) as bar:
        task_id = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task_id, n)


def select_items(
    task: Task, protocol: Protocol, limit: int | None, split: str | None, source: Any, examples: Sequence[Example] | None
) -> tuple[list[Example], int]:
    """The items to evaluate (first ``min(max_items, limit)``) and how many were available."""
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be a positive number of items, got {limit}")
    pool = list(examples) if examples is not None else task.load(split=split, source=source)
    caps = [c for c in (protocol.max_items, limit) if c is not None]
    items = pool[: min(caps)] if caps else pool
    if not items:
        raise UserError(f"task {task.name!r} has no items to evaluate (split {split or task.default_split!r})")
    seen: set[str] = set()
    for ex in items:
        if ex.id in seen:
            raise UserError(f"task {task.name!r}: item id {ex.id!r} occurs twice; item ids must be unique to resume")
        seen.add(ex.id)
    return items, len(pool)


def _model_section(lm: Any, model_id: str | None, weights_hash: str | None, state: str, meta: dict | None) -> dict:
    if weights_hash is None and getattr(lm, "path", None):
        from harness.models import weights_fingerprint

        weights_hash = weights_fingerprint(lm.path)
        if getattr(lm, "base", None):  # a LoRA adapter: its own files and the base they apply to
            weights_hash = f"{weights_hash}+base:{weights_fingerprint(lm.base)}"
    path = getattr(lm, "path", None)
    return {
        "id": model_id or default_model_id(getattr(lm, "name", "") or path or "model"),
        "path": None if path is None else str(path),
        "weights_hash": weights_hash or state,
        "state_hash": state,
        "family": lm.family,
        "dtype": str(lm.dtype).replace("torch.", ""),
        "label": None,
        "method": None,
        "step": None,
        **(meta or {}),
    }


def evaluate_task(
    lm: Any,
    task: Task | str,
    protocol: Protocol | str,
    out_dir: str | Path | None,
    *,
    limit: int | None = None,
    samples: int | None = None,
    seed: int = 0,
    split: str | None = None,
    source: Any = None,
    examples: Sequence[Example] | None = None,
    model_id: str | None = None,
    weights_hash: str | None = None,
    model_meta: dict[str, Any] | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    distributed: bool | None = None,
) -> RunResult:
    """Evaluate ``lm`` on ``task`` under ``protocol``; write ``results.json`` + ``samples.jsonl``
    to ``out_dir`` (None = in memory only) and return the ``RunResult``.

    ``samples`` overrides the protocol's samples per item (the protocol name and hash change).
    ``examples`` skips loading (periodic evaluation). ``weights_hash`` overrides the model's
    identity in resume keys (default: a hash of the weights in memory). ``model_meta`` is merged
    into ``RunResult.model`` (label, method, step, ...). ``distributed=None`` shards across
    processes when a process group is initialised; ``False`` evaluates everything here.
    """
    started, t0 = now_iso(), time.perf_counter()
    task = get_task(task) if isinstance(task, str) else task
    protocol = load_protocol(protocol)
    if samples is not None:
        protocol = protocol.with_changes(samples=samples)
    plan = _plan(lm, task, protocol, limit, split, source, examples, weights_hash, distributed)
    store, done = None, {}
    if out_dir is not None:
        ensure_writable(Path(out_dir))
        store = RecordStore(Path(out_dir), plan.shard.rank)
        done = store.resume(plan.prefix, seed, set(plan.keys), task.version)
    fresh = _regrade(plan, done, store) + _decode_missing(plan, lm, done, store, seed, batch_size, progress)
    ordered, decoded = _merge(plan, done, fresh)
    wall = time.perf_counter() - t0
    new_tokens = sum(r.get("gen_tokens") or 0 for r in ordered if r["key"] not in done)
    speed = {
        **speed_stats(ordered, protocol.sampler.gen_length),
        "wall_seconds": wall,
        "tokens_per_second": new_tokens / wall if decoded else None,
        "decoded_samples": decoded,
        "resumed_samples": len(plan.keys) - decoded,
        "world_size": plan.shard.world,
    }
    k = protocol.samples
    result = build_result(
        [ordered[i * k : (i + 1) * k] for i in range(len(plan.items))],
        model=_model_section(lm, model_id, weights_hash, plan.state, model_meta),
        task={
            "name": task.name, "version": task.version, "kind": task.kind,
            "split": split or (None if examples is not None else task.default_split),
            "source": None if source is None else str(source), "n_available": plan.n_available, "limit": limit,
        },
        protocol={**protocol.to_record(), "prompt_family": plan.family},
        samples=k, parser=protocol.parser, majority=task.kind == "math", speed=speed, seed=seed,
        started_at=started, finished_at=now_iso(),
    )
    if store is not None:
        if plan.shard.is_main:
            store.finalize(ordered)
            result.save(store.dir / RESULTS)
        plan.shard.barrier()
    acc = result.metrics["accuracy"]
    log.info("%s on %s (%s): accuracy %.4f over %d items, %.1fs", result.model["id"], task.name, protocol.name, acc.value, acc.n, wall)
    return result


@dataclass
class _Plan:
    """What one evaluation covers: items, prompts, the (item, sample) units and their keys."""

    task: Task
    protocol: Protocol
    items: list[Example]
    n_available: int
    shard: Any
    family: str
    prompts: list[str]
    state: str  # hash of the weights in memory
    prefix: str  # resume-key prefix (weights and protocol)
    units: list[tuple[int, int]]  # (item index, sample)
    keys: list[str]


def _plan(lm: Any, task: Task, protocol: Protocol, limit: int | None, split: str | None, source: Any,
          examples: Sequence[Example] | None, weights_hash: str | None, distributed: bool | None) -> _Plan:
    items, n_available = select_items(task, protocol, limit, split, source, examples)
    family = prompt_family(protocol.template, lm)
    state = state_hash(lm.net)
    prefix = key_prefix(weights_hash or state, protocol.hash)
    units = [(i, s) for i in range(len(items)) for s in range(protocol.samples)]
    return _Plan(task, protocol, items, n_available, current_shard(distributed), family,
                 build_prompts(task, items, family, protocol.shots), state, prefix, units,
                 [record_key(prefix, items[i].id, s) for i, s in units])


def _regrade(plan: _Plan, done: dict[str, dict], store: Any) -> list[dict[str, Any]]:
    """Records of this rank graded by another verifier version: keep the completion, grade again."""
    keys, task = plan.keys, plan.task
    regrade = [j for j in range(len(plan.units)) if plan.shard.owns(j) and keys[j] in done
               and done[keys[j]].get("task_version") != task.version]
    if not regrade:
        return []
    verdicts = task.verify_many([done[keys[j]]["completion"] for j in regrade],
                                [plan.items[plan.units[j][0]] for j in regrade])
    fresh = [apply_verdict(done[keys[j]], v, task.version) for j, v in zip(regrade, verdicts)]
    if store is not None:
        store.append(fresh)
    return fresh


def _decode_missing(plan: _Plan, lm: Any, done: dict[str, dict], store: Any, seed: int, batch_size: int | None,
                    progress: bool) -> list[dict[str, Any]]:
    """Decode and grade this rank's units that have no record yet; append each batch's records."""
    keys, units, items, task = plan.keys, plan.units, plan.items, plan.task
    mine = [j for j in range(len(units)) if plan.shard.owns(j)]
    bs = batch_size or DEFAULT_BATCH_SIZE
    # Batches are fixed slices of this rank's units, and a batch with any record missing is
    # decoded again whole: GPU kernels are not exactly batch-invariant, so a resumed run only
    # reproduces an uninterrupted one if every unit is decoded beside the same batch mates.
    batches = [mine[c : c + bs] for c in range(0, len(mine), bs)]
    todo = [b for b in batches if any(keys[j] not in done for j in b)]
    fresh: list[dict[str, Any]] = []
    unit = "item" if plan.protocol.samples == 1 else "sample"
    desc = f"{task.name}" + (f" (rank {plan.shard.rank}/{plan.shard.world})" if plan.shard.world > 1 else "")
    with _progress(progress and plan.shard.is_main, desc, sum(map(len, todo)), unit) as advance:
        for chunk in todo:
            exs = [items[units[j][0]] for j in chunk]
            seeds = [row_seed(seed, items[i].id, s) for i, s in (units[j] for j in chunk)]
            gen = decode(lm, [plan.prompts[units[j][0]] for j in chunk], plan.protocol.sampler, row_seeds=seeds)
            need = [r for r, j in enumerate(chunk) if keys[j] not in done]
            verdicts = task.verify_many([gen.text[r] for r in need], [exs[r] for r in need])
            recs = [
                make_record(
                    key=keys[chunk[r]], example=exs[r], sample=units[chunk[r]][1], prompt=plan.prompts[units[chunk[r]][0]],
                    completion=gen.text[r], verdict=v, task_version=task.version, nfe=int(gen.nfe[r]),
                    gen_tokens=int(gen.gen_tokens[r]), seed=seed, row_seed=seeds[r],
                )
                for r, v in zip(need, verdicts)
            ]
            if store is not None:
                store.append(recs)
            fresh += recs
            advance(len(chunk))
    return fresh


def _merge(plan: _Plan, done: dict[str, dict], fresh: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Every unit's record in unit order (resumed ones plus every rank's new ones), and how many
    were decoded in this run."""
    merged = dict(done)
    decoded = 0
    for part in plan.shard.gather(fresh):
        for rec in part:
            decoded += rec["key"] not in done
            merged[rec["key"]] = rec
    missing = [key for key in plan.keys if key not in merged]
    if missing:
        raise RuntimeError(f"evaluation finished without records for {len(missing)} unit(s), e.g. {missing[0]}")
    return [merged[key] for key in plan.keys], decoded
