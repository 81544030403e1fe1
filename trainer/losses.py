"""Policy losses as pure tensor functions (spec: RLDF.md A.6-A.7), checked by hand in tests.

Shapes: per-token tensors are [N, L]; ``positions`` [N, L] bool marks where loss is taken.
"""

from __future__ import annotations

import torch


def pg_token_loss(
    logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, eps_low: float, eps_high: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO-clip per token: -min(rho*A, clip(rho, 1-eps_low, 1+eps_high)*A), rho = exp(logp - old).

    With ``old_logp = logp.detach()`` (REINFORCE, num_iterations = 1) rho = 1 and the gradient is
    -A * grad logp. Returns (loss [N, L], clipped [N, L] bool: where the clipped term was smaller).
    """
    ratio = torch.exp(logp - old_logp)
    a = adv[:, None]
    unclipped = ratio * a
    clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high) * a
    return -torch.minimum(unclipped, clipped), clipped < unclipped


def kl_estimate(logp: torch.Tensor, ref_logp: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-token KL(pi || ref) estimates with delta = ref_logp - logp (Schulman's k1, k2, k3)."""
    delta = ref_logp - logp
    if kind == "k1":
        return -delta
    if kind == "k2":
        return 0.5 * delta**2
    if kind == "k3":
        return torch.exp(delta) - delta - 1
    raise ValueError(f"unknown KL estimator {kind!r}")


def normalize(
    loss_tok: torch.Tensor, positions: torch.Tensor, norm: str, samples: torch.Tensor, denom: float | None = None
) -> torch.Tensor:
    """Reduce per-token losses to a scalar.

    token: sum over positions / max(1, #positions). sample: mean over ``samples`` (the rows that
    can be trained: scorable, with valid positions) of each row's mean over its positions; a row
    with no positions at this forward counts as 0 (RLDF.md A.7), rows outside ``samples`` not at all.
    ``denom`` replaces max(1, count) (#positions or #samples): data-parallel training passes
    max(1, global count) divided by the number of processes, so averaged gradients equal one
    process's (it may be below 1 and is used as given).
    """
    masked = loss_tok * positions
    if norm == "token":
        return masked.sum() / (max(1.0, float(positions.sum())) if denom is None else denom)
    if norm == "sample":
        per_row = masked.sum(1) / positions.sum(1).clamp(min=1)
        return (per_row * samples).sum() / (max(1.0, float(samples.sum())) if denom is None else denom)
    raise ValueError(f"unknown normalisation {norm!r}")


def norm_count(positions: torch.Tensor, norm: str, samples: torch.Tensor) -> float:
    """The local count ``normalize`` divides by (before any cross-process sharing)."""
    return float(positions.sum()) if norm == "token" else float(samples.sum())


def wd1_weights(adv: torch.Tensor, groups: torch.Tensor, trainable: torch.Tensor) -> torch.Tensor:
    """w_i = softmax_g(A)_i - softmax_g(-A)_i within each group (over trainable samples)."""
    w = torch.zeros_like(adv, dtype=torch.float32)
    for g in torch.unique(groups):
        m = (groups == g) & trainable
        if int(m.sum()) == 0:
            continue
        a = adv[m].float()
        w[m] = torch.softmax(a, 0) - torch.softmax(-a, 0)
    return w


def wd1_loss(
    seq_logp: torch.Tensor, weights: torch.Tensor, groups: torch.Tensor, denom: float | None = None
) -> torch.Tensor:
    """-sum_i w_i * log pi(o_i), averaged over groups (wd1's objective); ``denom`` as in ``normalize``."""
    n_groups = max(1.0, float(torch.unique(groups).numel())) if denom is None else denom
    return -(weights * seq_logp).sum() / n_groups
