"""Per-item verdicts and the paired bootstrap that decides which differences are marked.

Two rows evaluated on the same items differ partly because of the items drawn; a paired test
removes the item difficulty that both share. We resample items (not samples) with replacement,
because items are the unit the benchmark draws, and use the percentile test: the two-sided
p-value is ``2 * min(P*(mean d <= 0), P*(mean d >= 0))`` over the bootstrap distribution of the
mean per-item difference ``d = score_row - score_baseline`` (i.e. "does the 95% percentile CI
of the difference exclude 0"). It is exact to hand-compute in simple cases: when the row wins on
``k`` of ``n`` items and ties on the rest, a resample has ``mean d <= 0`` only if it draws no
winning item, so ``p = 2 * ((n - k) / n) ** n``. The RNG is seeded per comparison, so tables are
reproducible and independent of the order in which cells are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.io import read_jsonl

DEFAULT_BOOTSTRAP = 10_000
DEFAULT_SEED = 0
_CHUNK = 2_000  # resamples per chunk: bounds memory at chunk * n_items indices
_EPS = 1e-9


class SamplesUnavailable(Exception):
    """samples.jsonl is missing or unusable; the message says why (shown in a footnote)."""


# item_id -> (number of correct samples, number of samples)
Counts = dict[str, tuple[float, int]]


def load_item_counts(path: Path) -> tuple[Counts, int]:
    """Per-item (correct, total) from a samples.jsonl, and the number of records read.

    A sample whose ``correct`` is not ``True`` (False, or None = unscorable) counts as wrong:
    accuracy is the fraction of samples that were verified correct.
    """
    counts: dict[str, list] = {}
    n_records = 0
    try:
        for i, rec in enumerate(read_jsonl(path)):
            if "item_id" not in rec:
                raise SamplesUnavailable(f"{path.name}: record {i + 1} has no 'item_id'")
            c = counts.setdefault(str(rec["item_id"]), [0.0, 0])
            c[0] += 1.0 if rec.get("correct") is True else 0.0
            c[1] += 1
            n_records += 1
    except FileNotFoundError as exc:
        raise SamplesUnavailable(f"no {path.name} beside the result") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SamplesUnavailable(str(exc)) from exc
    if not counts:
        raise SamplesUnavailable(f"{path.name} is empty")
    return {k: (v[0], v[1]) for k, v in counts.items()}, n_records


def pool_counts(parts: list[Counts]) -> Counts:
    """Pool several runs of the same cell (e.g. seeds): per item, all samples of all runs."""
    out: dict[str, tuple[float, int]] = {}
    for part in parts:
        for item, (c, n) in part.items():
            oc, on = out.get(item, (0.0, 0))
            out[item] = (oc + c, on + n)
    return out


def item_scores(counts: Counts) -> dict[str, float]:
    """Per-item score = fraction of that item's samples that were correct."""
    return {k: c / n for k, (c, n) in counts.items()}


@dataclass(frozen=True)
class PairedTest:
    delta: float  # mean per-item difference (row - baseline), as a fraction
    p_value: float
    n_items: int  # items present in both
    n_boot: int


def _resampled_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = len(values)
    out = np.empty(n_boot)
    for start in range(0, n_boot, _CHUNK):
        m = min(_CHUNK, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        out[start : start + m] = values[idx].mean(axis=1)
    return out


def paired_bootstrap(
    row: dict[str, float], base: dict[str, float], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> PairedTest | None:
    """Paired percentile bootstrap on items present in both; None when they share no item."""
    common = sorted(set(row) & set(base))
    if not common:
        return None
    d = np.array([row[k] - base[k] for k in common], dtype=float)
    means = _resampled_means(d, n_boot, seed)
    le = int(np.count_nonzero(means <= _EPS))
    ge = int(np.count_nonzero(means >= -_EPS))
    p = min(1.0, 2.0 * min(le, ge) / n_boot)
    return PairedTest(delta=float(d.mean()), p_value=p, n_items=len(common), n_boot=n_boot)


def bootstrap_ci(
    scores: dict[str, float], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> tuple[float, float]:
    """95% percentile bootstrap CI of the mean item score (used when a result has no CI)."""
    values = np.array([scores[k] for k in sorted(scores)], dtype=float)
    means = _resampled_means(values, n_boot, seed)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


def significance_mark(p_value: float | None) -> str:
    """``**`` for p < 0.01, ``*`` for p < 0.05, else empty."""
    if p_value is None:
        return ""
    if p_value < 0.01:
        return "**"
    if p_value < 0.05:
        return "*"
    return ""
