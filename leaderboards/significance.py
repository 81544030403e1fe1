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
from typing import Any

import numpy as np

from harness.io import read_jsonl
from harness.metrics import bootstrap_means

DEFAULT_BOOTSTRAP = 10_000  # tables: more resamples than a result's own CI (harness.metrics, 1,000)
DEFAULT_SEED = 0
_EPS = 1e-9


class SamplesUnavailable(Exception):
    """samples.jsonl is missing or unusable; the message says why (shown in a footnote)."""


def load_samples(path: Path) -> list[dict[str, Any]]:
    """The sample records of a run (a torn last line is ignored); every one must have ``item_id``.

    Per-item scores are computed from them by ``harness.metrics.item_scores``, the definition
    ``results.json`` uses, so a table's cells and p-values agree with the result files.
    """
    records = []
    try:
        for i, rec in enumerate(read_jsonl(path)):
            if "item_id" not in rec:
                raise SamplesUnavailable(f"{path.name}: record {i + 1} has no 'item_id'")
            records.append(rec)
    except FileNotFoundError as exc:
        raise SamplesUnavailable(f"no {path.name} beside the result") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SamplesUnavailable(str(exc)) from exc
    if not records:
        raise SamplesUnavailable(f"{path.name} is empty")
    return records


@dataclass(frozen=True)
class PairedTest:
    delta: float  # mean per-item difference (row - baseline), as a fraction
    p_value: float
    n_items: int  # items present in both
    n_boot: int


def paired_bootstrap(
    row: dict[str, float], base: dict[str, float], n_boot: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> PairedTest | None:
    """Paired percentile bootstrap on items present in both; None when they share no item."""
    common = sorted(set(row) & set(base))
    if not common:
        return None
    d = np.array([row[k] - base[k] for k in common], dtype=float)
    means = bootstrap_means(d, n_boot, seed)
    le = int(np.count_nonzero(means <= _EPS))
    ge = int(np.count_nonzero(means >= -_EPS))
    p = min(1.0, 2.0 * min(le, ge) / n_boot)
    return PairedTest(delta=float(d.mean()), p_value=p, n_items=len(common), n_boot=n_boot)


def significance_mark(p_value: float | None) -> str:
    """``**`` for p < 0.01, ``*`` for p < 0.05, else empty."""
    if p_value is None:
        return ""
    if p_value < 0.01:
        return "**"
    if p_value < 0.05:
        return "*"
    return ""
