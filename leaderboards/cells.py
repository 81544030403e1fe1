"""One measured cell: value and 95% CI from the run(s) that fill it, plus their per-item scores.

A cell normally holds one run and shows that run's own metric and CI, so the table agrees with
``results.json``. When several runs land in one cell (e.g. seeds of the same method) they are
pooled per item (all samples of all runs), and the CI is a bootstrap over items; that CI does
not include seed-to-seed variance, which the footnote says. Per-item scores come from
``samples.jsonl`` through ``harness.metrics.item_scores`` (the protocol's parser, unscorable
samples left out, the cell's metric), the definition ``results.json`` uses; they are read lazily
and cached, because only significance and pooled cells need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.metrics import bootstrap_ci, item_scores
from leaderboards.collect import Run
from leaderboards.significance import SamplesUnavailable, load_samples


@dataclass
class CellStats:
    value: float  # scale x metric (percent by default)
    ci_low: float | None  # percent
    ci_high: float | None
    ci_source: str  # e.g. "bootstrap-95" (from the result), "bootstrap over items (computed here)"
    n_items: int
    runs: list[Run]
    scores: dict[str, float] | None  # per-item score in [0, 1], None if samples unusable
    samples_problem: str | None  # why scores is None
    pooled: bool = False


class SamplesCache:
    """Sample records per run, loaded once; problems are remembered per run."""

    def __init__(self) -> None:
        self._records: dict[str, list[dict[str, Any]] | str] = {}
        self.short_files: list[str] = []  # runs whose samples.jsonl has fewer records than counted

    def records(self, run: Run) -> list[dict[str, Any]] | str:
        if run.path not in self._records:
            try:
                records = load_samples(run.samples_file)
                expected = run.result.counts.get("n_samples")
                if isinstance(expected, int) and len(records) < expected:
                    self.short_files.append(f"{run.path}: samples.jsonl has {len(records)} of {expected} records")
                self._records[run.path] = records
            except SamplesUnavailable as exc:
                self._records[run.path] = str(exc)
        return self._records[run.path]


def cell_stats(runs: list[Run], metric: str, cache: SamplesCache, n_boot: int, seed: int,
               scale: float = 100.0) -> CellStats:
    """Value, CI and item scores for the runs of one cell (see module docstring); values are shown
    as ``scale`` x the metric (100: percent, the default; a spec column may say 1)."""
    parts = [cache.records(r) for r in runs]
    problems = [f"{r.path}: {p}" for r, p in zip(runs, parts) if isinstance(p, str)]
    parser = runs[0].get("protocol.settings.parser") or "strict"
    pooled = None if problems else [rec for p in parts if not isinstance(p, str) for rec in p]
    scores = (item_scores(pooled, metric, parser) or None) if pooled else None
    problem = "; ".join(problems) or None

    if len(runs) == 1:
        m = runs[0].result.metrics[metric]
        lo, hi, source = m.ci_low, m.ci_high, m.ci_method or "95% CI from the result file"
        if (lo is None or hi is None) and scores:
            lo, hi = bootstrap_ci([scores[k] for k in sorted(scores)], n_boot, seed)
            source = "bootstrap over items (computed here; the result file had no CI)"
        elif lo is None or hi is None:
            lo = hi = None
            source = "none"
        return CellStats(
            value=scale * float(m.value),
            ci_low=None if lo is None else scale * float(lo),
            ci_high=None if hi is None else scale * float(hi),
            ci_source=source, n_items=m.n, runs=runs, scores=scores, samples_problem=problem,
        )

    if scores:
        lo, hi = bootstrap_ci([scores[k] for k in sorted(scores)], n_boot, seed)
        value = sum(scores.values()) / len(scores)
        return CellStats(
            value=scale * value, ci_low=scale * lo, ci_high=scale * hi,
            ci_source="bootstrap over items of pooled runs (computed here)", n_items=len(scores),
            runs=runs, scores=scores, samples_problem=None, pooled=True,
        )
    values = [float(r.result.metrics[metric].value) for r in runs]
    return CellStats(
        value=scale * sum(values) / len(values), ci_low=None, ci_high=None,
        ci_source="none (pooled runs without usable samples)", n_items=min(r.result.metrics[metric].n for r in runs),
        runs=runs, scores=None, samples_problem=problem, pooled=True,
    )
