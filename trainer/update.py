"""One policy update from a batch of rollouts: estimator forwards -> loss -> backward -> step.

The k forwards of an update are run one at a time with ``backward`` after each (memory: one
forward's activations at a time) and a single optimizer step at the end; gradients are
synchronised across processes only on the last backward. Every process runs the same number
of forwards (padded with inactive ones), which sharded strategies (FSDP, ZeRO-3) require.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from harness.models.base import DiffusionLM
from trainer.config import TrainConfig
from trainer.estimators.base import Estimator, ForwardPlan, TrainBatch, dummy_plan
from trainer.losses import kl_estimate, norm_count, normalize


class NonFiniteError(RuntimeError):
    """A loss, gradient or reward that is NaN/inf; the loop stops and keeps its last checkpoint."""


@dataclass
class UpdateStats:
    loss: float = 0.0
    pg_loss: float = 0.0
    kl: float = 0.0
    entropy: float = 0.0
    clip_frac: float = 0.0
    effective_positions: float = 0.0  # sum |E| / (sum |V| * k_pad), the reference's ratio
    forwards: int = 0
    grad_norm: float = 0.0
    rollout_logp_gap: float | None = None  # mean |log p_train - log p_rollout| on current-step tokens
    extra: dict[str, float] = field(default_factory=dict)


def _logprobs(lm: Any, net: Any, plan: ForwardPlan, batch: TrainBatch, want_entropy: bool):
    """Training log-probs of the committed tokens under the plan's noisy inputs.

    They are over the full vocabulary, mask token included (``DiffusionLM.token_logprobs``),
    the same distribution the decoder scores positions with and records as the rollout's
    ``token_probs``: so a rollout replayed under unchanged weights gives ratio 1, RLDF's step
    weights and the policy ratio read one distribution, and the objective is the one the
    official trainers optimise (d1, Drift: ``log_softmax`` over every logit).
    """
    x = plan.noisy_input(batch, lm.mask_id)
    view = lm if net is None else _with_net(lm, net)
    return view.token_logprobs(
        x, batch.completion, batch.prompt.shape[1], attention_mask=batch.attention(),
        position_ids=batch.positions(), return_entropy=want_entropy,
    )


def _with_net(lm: Any, net: Any) -> Any:
    from dataclasses import replace

    return replace(lm, net=net)


def run_update(
    lm: DiffusionLM,
    train_net: torch.nn.Module,
    ref_lm: DiffusionLM | None,
    batch: TrainBatch,
    plans: list[ForwardPlan],
    estimator: Estimator,
    cfg: TrainConfig,
    accelerator: Any,  # trainer.parallel.Runtime (or an accelerate.Accelerator): reduce, autocast, ...
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    replan: Callable[[int], list[ForwardPlan]] | None = None,
) -> UpdateStats:
    """Train on ``plans``: ``loss.num_iterations`` optimizer steps over the same forwards.

    ``replan(it)`` gives inner iteration ``it``'s forwards for estimators that draw fresh masks
    per PPO iteration (d1); without it they reuse ``plans``.
    """
    lcfg = cfg.loss
    want_entropy = lcfg.entropy_coeff != 0
    ppo = lcfg.num_iterations > 1
    rounds = _padded_rounds(batch, plans, estimator, lcfg.num_iterations, accelerator, replan)
    k_pad = len(rounds[0])
    # sampled forwards estimate one expectation: average them; trace's forwards are the steps of a sum
    scale = 1 if estimator.sum_forwards else k_pad

    # old and reference log-probs under the same autocast as the policy's, so that the first
    # iteration's ratio is exactly 1 and the KL to an identical reference exactly 0
    with torch.no_grad(), accelerator.autocast():
        old = [[_logprobs(lm, train_net, p, batch, False)[0] for p in r] for r in rounds] if ppo else None
        ref = None
        if ref_lm is not None:
            ref = [[_logprobs(ref_lm, None, p, batch, want_entropy) for p in r] for r in rounds]

    share = _data_parallel_share(accelerator, batch)
    stats = UpdateStats(forwards=k_pad * lcfg.num_iterations)
    n_valid = float(batch.valid[batch.trainable].sum())
    gaps: list[float] = []
    for it in range(lcfg.num_iterations):
        r = min(it, len(rounds) - 1)
        totals = {"loss": 0.0, "pg": 0.0, "kl": 0.0, "ent": 0.0, "clipped": 0.0, "positions": 0.0}
        for i, plan in enumerate(rounds[r]):
            last = i == len(rounds[r]) - 1
            sync = contextlib.nullcontext() if last or accelerator.num_processes == 1 else accelerator.no_sync(train_net)
            with sync, accelerator.autocast():
                logp, ent = _logprobs(lm, train_net, plan, batch, want_entropy)
                loss, parts = _plan_loss(logp, ent, plan, batch, estimator, lcfg, cfg.estimator,
                                         old[r][i] if old else None, ref[r][i] if ref else None, share)
                loss = loss / scale
            if not math.isfinite(float(loss.detach())):
                raise NonFiniteError(f"non-finite loss ({float(loss.detach())}) in forward {i}")
            if hasattr(train_net, "set_gradient_accumulation_boundary"):  # DeepSpeed: reduce once, at the end
                train_net.set_gradient_accumulation_boundary(last)
            accelerator.backward(loss)
            totals["loss"] += float(loss.detach())
            for key in ("pg", "kl", "ent", "clipped", "positions"):
                totals[key] += parts[key]
            if plan.steps is not None and not ppo:
                gaps += _rollout_gap(logp, plan, batch)
        grad_norm = _step(accelerator, train_net, optimizer, scheduler, cfg.optim.grad_clip)
        positions = max(totals["positions"], 1.0)
        stats.loss = totals["loss"]
        stats.pg_loss = totals["pg"] / scale
        stats.kl = totals["kl"] / positions
        stats.entropy = totals["ent"] / positions
        stats.clip_frac = totals["clipped"] / positions
        stats.effective_positions = totals["positions"] / max(n_valid * k_pad, 1.0)
        stats.grad_norm = grad_norm
    stats.rollout_logp_gap = sum(gaps) / len(gaps) if gaps else None
    return stats


def _padded_rounds(batch: TrainBatch, plans: list[ForwardPlan], estimator: Estimator, iterations: int,
                   accelerator: Any, replan: Callable[[int], list[ForwardPlan]] | None) -> list[list[ForwardPlan]]:
    """The forwards of each inner iteration (one shared list unless the estimator re-plans), padded
    with forwards that train nothing to the same count on every process (sharded launchers need it)."""
    rounds = [plans]
    if iterations > 1 and estimator.fresh_plan_per_iteration and replan is not None:
        rounds += [replan(it) for it in range(1, iterations)]
    n_local = torch.tensor([max(len(r) for r in rounds)], device=batch.completion.device)
    k_pad = int(accelerator.reduce(n_local, reduction="max").item()) if accelerator.num_processes > 1 else int(n_local)
    k_pad = max(k_pad, 1)
    return [r + [dummy_plan(batch) for _ in range(k_pad - len(r))] for r in rounds]


def _data_parallel_share(accelerator: Any, batch: TrainBatch) -> Callable[[float], float]:
    """local count -> max(1, global count) / world: the denominator that makes the data-parallel
    averaged gradient exact."""
    world = accelerator.num_processes

    def share(local: float) -> float:
        if world == 1:
            return max(1.0, local)
        t = torch.tensor([local], device=batch.completion.device, dtype=torch.float64)
        return max(1.0, float(accelerator.reduce(t, reduction="sum").item())) / world

    return share


def _rollout_gap(logp: torch.Tensor, plan: ForwardPlan, batch: TrainBatch) -> list[float]:
    """Mean |log p_train - log p_rollout| on the tokens committed at the replayed step (if any)."""
    cur = plan.keep_mask & plan.active[:, None]
    if not bool(cur.any()):
        return []
    rollout_lp = torch.log(batch.token_probs.clamp_min(1e-10))
    return [float((logp.detach() - rollout_lp)[cur].abs().mean())]


def _step(accelerator: Any, net: Any, optimizer: Any, scheduler: Any, grad_clip: float) -> float:
    """Clip (0 = measure only), step the optimizer and the schedule, clear gradients; returns the
    global gradient norm."""
    limit = grad_clip if grad_clip and grad_clip > 0 else float("inf")
    grad_norm = float(accelerator.clip_grad_norm_(net.parameters(), limit))
    if not math.isfinite(grad_norm):
        raise NonFiniteError(f"non-finite gradient norm ({grad_norm})")
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return grad_norm


def _plan_loss(logp, ent, plan, batch, estimator, lcfg, ecfg, old_logp, ref, share=lambda x: x):
    """Scalar loss of one forward (before dividing by k_pad) and its logged parts.

    ``share`` turns a local normalisation count into the data-parallel denominator.
    """
    rows = plan.active & batch.trainable
    positions = plan.loss_mask & rows[:, None]
    tau = estimator.clip_threshold(ecfg) if estimator.clip_threshold is not None else 0.0
    if tau > 0:
        prob = torch.exp(old_logp if old_logp is not None else logp.detach())
        positions = (positions & (prob >= tau)) | (plan.keep_mask & rows[:, None])
    parts = {"pg": 0.0, "kl": 0.0, "ent": 0.0, "clipped": 0.0, "positions": float(positions.sum())}
    denom = share(norm_count(positions, lcfg.norm, batch.trainable))
    # the estimator's objective: a sequence-level loss (wd1) or per-token losses (REINFORCE / PPO-clip)
    seq_loss, tok, own = estimator.objective(logp, old_logp, batch, rows, positions, lcfg, share)
    parts.update(own)
    tok_extra = tok
    if ref is not None and lcfg.beta > 0:
        kl = kl_estimate(logp, ref[0], lcfg.kl_type)
        parts["kl"] = float((kl.detach() * positions).sum())
        tok_extra = tok_extra + lcfg.beta * kl
    if ent is not None:
        parts["ent"] = float((ent.detach() * positions).sum())
        if ref is not None and ref[1] is not None:
            tok_extra = tok_extra + lcfg.entropy_coeff * (ref[1] - ent).abs()
        else:
            tok_extra = tok_extra + lcfg.entropy_coeff * ent
    if plan.weight is not None:
        tok_extra = tok_extra * plan.weight
    if seq_loss is not None:  # regularisers (if any) are normalised per token on top
        reg = normalize(tok_extra, positions, lcfg.norm, batch.trainable, denom) if (ref is not None or ent is not None) else 0.0
        total = seq_loss + reg
    else:
        total = normalize(tok_extra, positions, lcfg.norm, batch.trainable, denom)
        parts["pg"] = float(normalize(tok.detach(), positions, lcfg.norm, batch.trainable, denom))
    # keep every parameter in the graph even when nothing is trained (inactive padding forwards)
    total = total + 0.0 * logp.sum()
    return total, parts
