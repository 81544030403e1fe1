"""Estimator-lab plots (from a ``lab.json`` record): what an estimator buys per forward pass.

Two panels' worth of questions: is the direction right for its cost (cosine of the mean gradient
with the full-trajectory reference, and the mean per-draw cosine, vs forwards per draw), and does
a step along it raise reward for its cost (first-order usefulness vs forwards per draw). Points
carry their 95% CIs; labels name the estimator variant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leaderboards.plots import _pyplot, _save


def _err(m: dict[str, Any], scale: float = 1.0) -> list[list[float]]:
    lo, hi, v = m.get("ci_low"), m.get("ci_high"), m["value"]
    if lo is None or hi is None:
        return [[0.0], [0.0]]
    return [[scale * max(0.0, v - lo)], [scale * max(0.0, hi - v)]]


def _points(record: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    return [(e["label"], e["metrics"], e.get("usefulness")) for e in record["estimators"]]


def _x(m: dict[str, Any], i: int) -> float:
    """Forwards per draw, nudged per estimator so equal-cost points and their labels do not overlap."""
    return m["forwards"]["value"] * 2 ** (0.06 * (i % 5 - 2))


def plot_lab(record: dict[str, Any], out_dir: Path) -> list[Path]:
    """``cosine_vs_cost`` and ``usefulness_vs_cost`` (PNG + SVG) in ``out_dir``; returns the files."""
    plt = _pyplot()
    title = f"{record['model']['path']} on {record['task']['name']} (batch {record['batch']['hash'][:8]})"
    paths: list[Path] = []
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (label, m, _) in enumerate(_points(record)):
        x = _x(m, i)
        ax.errorbar([x], [m["cos_ref"]["value"]], yerr=_err(m["cos_ref"]), fmt="o", color=f"C{i % 10}", capsize=3,
                    label=label)
        ax.errorbar([x], [m["mean_cos"]["value"]], yerr=_err(m["mean_cos"]), fmt="x", color=f"C{i % 10}", capsize=2)
        ax.annotate(label, (x, m["cos_ref"]["value"]), textcoords="offset points", xytext=(4, 3 + 6 * (i % 3)),
                    fontsize=7)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("forwards per draw (log2; points nudged apart)")
    ax.set_ylabel("cosine with the full-trajectory gradient")
    ax.set_title(f"o: mean of draws, x: single draw\n{title}", fontsize=9)
    ax.axhline(0, color="grey", lw=0.5)
    paths += _save(fig, out_dir, "cosine_vs_cost")
    plt.close(fig)
    useful = [(label, m, u) for label, m, u in _points(record) if u and u.get("n")]
    if not useful:
        return paths
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (label, m, u) in enumerate(useful):
        x = _x(m, i)
        ax.errorbar([x], [100 * u["value"]], yerr=_err(u, 100.0), fmt="o", color=f"C{i % 10}", capsize=3)
        ax.annotate(label, (x, 100 * u["value"]), textcoords="offset points", xytext=(4, 3 + 6 * (i % 3)), fontsize=7)
    ref = record["reference"].get("usefulness")
    if ref and ref.get("n"):
        ax.axhline(100 * ref["value"], color="black", ls="--", lw=0.8, label="reference (trace, all steps)")
        ax.legend(fontsize=7)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("forwards per draw (log2; points nudged apart)")
    ax.set_ylabel("first-order reward change of one step (pp)")
    step = useful[0][2]["step_size"]
    ax.set_title(f"(R(-step) - R(+step)) / 2, step of L2 norm {step} along the mean gradient\n{title}", fontsize=9)
    paths += _save(fig, out_dir, "usefulness_vs_cost")
    plt.close(fig)
    return paths
