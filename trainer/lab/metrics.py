"""Bias, noise and cost of one estimator from its running sums, with bootstrap 95% CIs over draws.

With R draws g_r, mean m = (1/R) sum g_r and reference gradient f:

* ``cos_ref``       cos(m, f): direction bias (1 = points where the full-trajectory gradient does);
* ``mean_cos``      mean_r cos(g_r, f): what a single update sees, bias and noise together;
* ``rel_var``       E||g - E g||^2 / ||E g||^2, as (sum_r ||g_r - m||^2 / (R - 1)) / ||m||^2;
* ``draws_to_0.9``  the draws whose mean reaches cosine 0.9 with the estimator's own mean: with
  E||m_n - E g||^2 = sigma^2 / n, cos^2 ~ 1 / (1 + rel_var / n), so n = rel_var * 0.81 / 0.19
  (at least 1; a deterministic estimator needs one);
* ``forwards`` and ``seconds`` per draw.

The bootstrap resamples draws: exact per-draw scalars, and the resample's ||mean||^2 from the
exact one plus the sketched change (``trainer.lab.sums``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

COS_TARGET = 0.9
_DRAWS_PER_VAR = COS_TARGET**2 / (1 - COS_TARGET**2)  # n = rel_var * 0.81 / 0.19


def _metric(value: float, reps: np.ndarray, n: int) -> dict[str, Any]:
    finite = reps[np.isfinite(reps)]
    lo, hi = (np.percentile(finite, [2.5, 97.5]) if finite.size else (value, value))
    return {"value": float(value), "n": n, "ci_low": float(min(lo, value)), "ci_high": float(max(hi, value)),
            "ci_method": "bootstrap-95 over draws"}


def _stats(r: int, c: np.ndarray, s: dict[str, Any], total_sq_b: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics for resample weights ``c`` [B, R] (counts summing to R)."""
    ref_norm = math.sqrt(s["ref_sq"])
    sq = np.asarray(s["sq_norms"])
    rd = np.asarray(s["ref_dots"])
    mean_sq = np.maximum(total_sq_b, 0.0) / r**2
    mean_dot = c @ rd / r
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_ref = mean_dot / (np.sqrt(mean_sq) * ref_norm)
        per_draw = rd / (np.sqrt(sq) * ref_norm)
        spread = np.maximum(c @ sq / r - mean_sq, 0.0) * (r / (r - 1) if r > 1 else 0.0)
        rel_var = spread / mean_sq
    return {"cos_ref": cos_ref, "mean_cos": c @ np.nan_to_num(per_draw) / r, "rel_var": rel_var,
            "draws_to_0.9": np.maximum(1.0, rel_var * _DRAWS_PER_VAR)}


def gradient_metrics(s: dict[str, Any], n_boot: int = 2000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Every gradient metric of one estimator (see module docstring) with its CI."""
    r = int(s["draws"])
    gram = np.asarray(s["sketch_gram"], dtype=np.float64)
    ones = np.ones((1, r))
    point = _stats(r, ones, s, np.array([s["total_sq"]]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, r, size=(n_boot, r))
    c = np.zeros((n_boot, r))
    np.add.at(c, (np.arange(n_boot)[:, None], idx), 1.0)
    sketched_shift = np.einsum("bi,ij,bj->b", c, gram, c) - float(gram.sum())
    reps = _stats(r, c, s, s["total_sq"] + sketched_shift)
    out = {k: _metric(float(point[k][0]), reps[k], r) for k in point}
    for key in ("forwards", "seconds"):
        x = np.asarray(s[key], dtype=np.float64)
        out[key] = _metric(float(x.mean()), x[idx].mean(axis=1), r)
    return out
