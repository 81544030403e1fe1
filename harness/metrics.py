"""Metrics over per-sample records: accuracy with uncertainty, unbiased pass@k, maj@k.

Items, not samples, are the unit of uncertainty: every metric is a mean over items of a
per-item value (the item's mean correctness over its K samples, its pass@k estimate, or its
majority vote), so its standard error and its bootstrap CI resample items. Unscorable samples
(``correct is None``: a sandbox failure, say) are left out, not counted wrong; an item with no
scorable sample is left out of that metric (``n`` says how many items remain).

* ``accuracy`` = the protocol's headline parser (strict or lenient); ``accuracy_strict`` and,
  where the task has lenient extraction, ``accuracy_lenient`` are always reported beside it.
* ``reward_mean`` = mean verifier score (fractional for code pass rates).
* ``pass@k`` (K > 1; k = 1, 2, 4, ... and K): Chen et al. 2021's unbiased estimator
  ``1 - C(n-c, k) / C(n, k)`` per item with n scorable samples and c correct (items with n < k
  are left out).
* ``maj@K`` (math, K > 1): the most frequent extracted answer over the item's samples is
  correct; ties go to the answer seen first; samples with no extracted answer do not vote.

The bootstrap is seeded (``seed``), so the same records always give the same CI. When every
item scores 0 (or every item 1) the bootstrap collapses to a zero-width interval, which would read
as certainty; there the CI is the Wilson score interval instead (0/500 -> [0, 0.0076]), and
``ci_method`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.results import Metric

DEFAULT_BOOTSTRAP = 1000
CI_METHOD = "bootstrap-95"
WILSON_METHOD = "wilson-95"
Z95 = 1.959963984540054


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for ``c`` correct out of ``n`` samples: ``1 - C(n-c, k) / C(n, k)``."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # product form of the binomial ratio: numerically stable for large n (Chen et al. 2021)
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_ks(samples: int) -> list[int]:
    """The k values reported for K samples: 1, 2, 4, ... below K, and K itself (K > 1)."""
    if samples <= 1:
        return []
    ks = {samples}
    k = 1
    while k < samples:
        ks.add(k)
        k *= 2
    return sorted(ks)


def bootstrap_means(values: Sequence[float], n_boot: int, seed: int) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``values``: the one bootstrap of the
    project (per-result CIs here, pooled cells and paired tests in the leaderboards). Drawn in
    chunks to bound memory; the chunking does not change the draws."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("bootstrap needs at least one value")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // x.size)  # bound memory at ~16 MB of indices per chunk
    for a in range(0, n_boot, chunk):
        b = min(n_boot, a + chunk)
        idx = rng.integers(0, x.size, size=(b - a, x.size))
        means[a:b] = x[idx].mean(axis=1)
    return means


def bootstrap_ci(values: Sequence[float], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% CI of the mean, resampling ``values`` with replacement ``n_boot`` times."""
    lo, hi = np.percentile(bootstrap_means(values, n_boot, seed), [2.5, 97.5])
    return float(lo), float(hi)


def wilson_ci(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well-behaved at 0 and n successes)."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson_ci needs 0 <= successes <= n and n > 0, got {successes}/{n}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends, not 1e-19
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def mean_metric(values: Sequence[float], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = 0) -> Metric:
    """Mean of per-item values with its standard error (ddof=1) and a bootstrap 95% CI."""
    n = len(values)
    if n == 0:
        return Metric(value=0.0, n=0)
    x = np.asarray(values, dtype=np.float64)
    value = float(x.mean())
    stderr = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else None
    if value in (0.0, 1.0) and np.all((x == 0) | (x == 1)):  # all wrong or all right: bootstrap degenerates
        lo, hi = wilson_ci(int(x.sum()), n)
        return Metric(value=value, n=n, stderr=stderr, ci_low=lo, ci_high=hi, ci_method=WILSON_METHOD)
    lo, hi = bootstrap_ci(x, n_boot, seed)
    return Metric(value=value, n=n, stderr=stderr, ci_low=lo, ci_high=hi, ci_method=CI_METHOD)


def lenient_correct(record: dict[str, Any]) -> bool | None:
    """The lenient verdict of a record (None when unscorable or the task has no lenient parser)."""
    if record.get("correct") is None:
        return None
    lenient = record.get("lenient")
    return None if not isinstance(lenient, dict) else lenient.get("correct")


def _headline(record: dict[str, Any], parser: str) -> tuple[str | None, bool | None]:
    """(extracted answer, correct) of a record under ``parser``."""
    if parser == "lenient" and isinstance(record.get("lenient"), dict):
        return record["lenient"].get("answer"), lenient_correct(record)
    return record.get("answer"), record.get("correct")


def majority_correct(votes: Sequence[tuple[str | None, bool | None]]) -> bool | None:
    """maj@K of one item from (answer, correct) per sample; None if no sample is scorable."""
    scorable = [(a, c) for a, c in votes if c is not None]
    if not scorable:
        return None
    tally: dict[str, list] = {}  # answer -> [count, first index, correctness of first occurrence]
    for i, (answer, correct) in enumerate(scorable):
        if answer is None:
            continue
        key = " ".join(str(answer).split())
        if key not in tally:
            tally[key] = [0, i, bool(correct)]
        tally[key][0] += 1
    if not tally:
        return False
    best = max(tally.values(), key=lambda t: (t[0], -t[1]))
    return best[2]


def per_item_values(records_by_item: Sequence[Sequence[dict[str, Any]]], metric: str, parser: str = "strict"
                    ) -> list[float | None]:
    """The per-item value that ``metric`` averages, one per item (None: the item has no value for
    it, e.g. no scorable sample). The single definition behind results and leaderboards alike."""
    if metric in ("accuracy", "accuracy_strict", "accuracy_lenient"):
        lenient = metric == "accuracy_lenient" or (
            metric == "accuracy" and parser == "lenient"
            and any(isinstance(r.get("lenient"), dict) for recs in records_by_item for r in recs))
        pick = lenient_correct if lenient else (lambda r: r.get("correct"))
        return [_mean_or_none([pick(r) for r in recs]) for recs in records_by_item]
    if metric == "reward_mean":
        return [_mean_or_none([r.get("score") for r in recs]) for recs in records_by_item]
    heads = [[_headline(r, parser) for r in recs] for recs in records_by_item]
    if metric.startswith("pass@"):
        k = int(metric[5:])
        flags = [[c for _, c in votes if c is not None] for votes in heads]
        return [pass_at_k(len(f), sum(f), k) if len(f) >= k else None for f in flags]
    if metric.startswith("maj@"):
        return [None if (m := majority_correct(votes)) is None else float(m) for votes in heads]
    raise ValueError(f"unknown metric {metric!r}; use accuracy, accuracy_strict, accuracy_lenient, reward_mean, "
                     "pass@k or maj@K")


def _mean_or_none(vals: Sequence[bool | float | None]) -> float | None:
    got = [float(v) for v in vals if v is not None]
    return sum(got) / len(got) if got else None


def item_scores(records: Sequence[dict[str, Any]], metric: str = "accuracy", parser: str = "strict") -> dict[str, float]:
    """item_id -> the per-item value ``metric`` averages, from sample records (any order); items
    without a value (no scorable sample) are left out, exactly as ``compute_metrics`` does."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        grouped.setdefault(str(r["item_id"]), []).append(r)
    values = per_item_values(list(grouped.values()), metric, parser)
    return {item: v for item, v in zip(grouped, values) if v is not None}


def compute_metrics(
    records_by_item: Sequence[Sequence[dict[str, Any]]],
    *,
    samples: int,
    parser: str = "strict",
    majority: bool = False,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Metric]:
    """All metrics for records grouped by item (each record: ``correct``, ``score``, ``answer``,
    optional ``lenient`` = ``{"correct", "answer"}``). See the module docstring."""
    has_lenient = any(isinstance(r.get("lenient"), dict) for recs in records_by_item for r in recs)
    names = ["accuracy_strict", *(["accuracy_lenient"] if has_lenient else []), "reward_mean",
             *(f"pass@{k}" for k in pass_ks(samples)), *([f"maj@{samples}"] if majority and samples > 1 else [])]
    metrics = {}
    for name in names:
        values = [v for v in per_item_values(records_by_item, name, parser) if v is not None]
        metrics[name] = mean_metric(values, n_boot, seed)
    headline = "accuracy_lenient" if parser == "lenient" and has_lenient else "accuracy_strict"
    return {"accuracy": metrics[headline], **metrics}
