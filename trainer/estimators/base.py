"""What an estimator is: rollout batch in, a list of masked forwards (``ForwardPlan``) out.

Every policy-gradient estimator for masked-diffusion LMs differs only in *which noisy inputs*
it scores the sampled completion under and *which positions* receive loss. An estimator is a
function ``plan(batch, cfg, rng) -> list[ForwardPlan]`` (``rng(row)`` is that sample's generator); the loss (REINFORCE/PPO, KL, entropy,
normalisation) is shared and lives in ``trainer.losses``. Adding an estimator is one file with
one ``ESTIMATOR = Estimator(...)`` declaration, registered in ``trainer/estimators/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from harness.padding import position_ids


@dataclass
class TrainBatch:
    """One process's share of a step's rollouts, ready for estimator forwards.

    Prompts are left-padded to a common length P; every forward carries ``attention`` and
    ``positions`` so padding never changes what a sample sees (the reference passes neither).
    """

    prompt: torch.Tensor  # [N, P] long, left-padded with PAD
    prompt_attn: torch.Tensor  # [N, P] long, 1 = real prompt token
    completion: torch.Tensor  # [N, L] long, the sampled completion y
    step_map: torch.Tensor  # [N, L] long, row-local decoding step that committed each position
    token_probs: torch.Tensor  # [N, L] float, probability of y_j when it was committed
    valid: torch.Tensor  # [N, L] bool, positions that carry content (V)
    advantages: torch.Tensor  # [N] float
    trainable: torch.Tensor  # [N] bool, scorable samples with at least one valid position
    groups: torch.Tensor  # [N] long, prompt group of each sample
    sample_ids: torch.Tensor  # [N] long, global id of each sample (item * G + j): seeds its randomness

    @property
    def size(self) -> int:
        return self.completion.shape[0]

    @property
    def length(self) -> int:
        return self.completion.shape[1]

    def attention(self) -> torch.Tensor:
        """[N, P + L] attention mask over prompt and completion."""
        ones = torch.ones_like(self.completion)
        return torch.cat((self.prompt_attn, ones), dim=1)

    def positions(self) -> torch.Tensor:
        return position_ids(self.attention())

    def select(self, rows: torch.Tensor) -> TrainBatch:
        """A sub-batch (rows as an index tensor)."""
        return replace(self, **{k: getattr(self, k).index_select(0, rows) for k in self.__dataclass_fields__})


@dataclass
class ForwardPlan:
    """One masked forward: the noisy input x and the positions scored under it.

    ``loss_mask``: candidate loss positions; when the estimator has a ``clip_threshold`` the
    low-probability clip keeps only those whose token the policy already finds likely, plus
    ``keep_mask`` (always trained). ``weight`` scales per-token losses (coupled's 1/t).
    ``active`` is False for padding forwards of samples with fewer steps than the batch maximum.
    """

    mask_completion: torch.Tensor  # [N, L] bool: completion positions replaced by MASK
    loss_mask: torch.Tensor  # [N, L] bool
    keep_mask: torch.Tensor  # [N, L] bool, subset of loss_mask
    active: torch.Tensor  # [N] bool
    mask_prompt: torch.Tensor | None = None  # [N, P] bool: prompt positions replaced by MASK (d1)
    weight: torch.Tensor | None = None  # [N, L] float
    steps: torch.Tensor | None = None  # [N] long: the trajectory step this forward reproduces (-1 = n/a)

    def noisy_input(self, batch: TrainBatch, mask_id: int) -> torch.Tensor:
        """[N, P + L] token ids: prompt (partly masked for d1) followed by the noisy completion."""
        comp = batch.completion.masked_fill(self.mask_completion, mask_id)
        prompt = batch.prompt if self.mask_prompt is None else batch.prompt.masked_fill(self.mask_prompt, mask_id)
        return torch.cat((prompt, comp), dim=1)


class RowRNG:
    """One generator per sample, seeded by (seed, step, sample id).

    Estimator randomness (which steps, which masks) therefore depends only on the sample, never
    on which process holds it or what else is in its batch: N-process runs plan exactly what a
    1-process run plans, and a resumed step plans what the straight run planned.
    """

    def __init__(self, seed: int, step: int, sample_ids: torch.Tensor, stream: str = "plan") -> None:
        self.seed, self.step, self.ids, self.stream = seed, step, sample_ids.tolist(), stream
        self._gens: dict[int, torch.Generator] = {}

    def __call__(self, row: int) -> torch.Generator:
        if row not in self._gens:
            from harness.seeds import generator

            self._gens[row] = generator(self.seed, self.stream, self.step, self.ids[row])
        return self._gens[row]


def dummy_plan(batch: TrainBatch) -> ForwardPlan:
    """A forward that trains nothing; pads ranks to the same number of forwards (ZeRO-3/FSDP)."""
    none = torch.zeros_like(batch.valid)
    return ForwardPlan(
        mask_completion=torch.ones_like(batch.valid), loss_mask=none, keep_mask=none,
        active=torch.zeros(batch.size, dtype=torch.bool, device=batch.valid.device),
    )


def clipped_pg_objective(logp: torch.Tensor, old_logp: torch.Tensor | None, batch: TrainBatch, rows: torch.Tensor,
                         positions: torch.Tensor, lcfg: Any, share: Callable[[float], float]
                         ) -> tuple[torch.Tensor | None, torch.Tensor, dict[str, float]]:
    """REINFORCE (one iteration: ratio 1) or PPO-clip, per token: (no sequence loss, token
    losses, logged parts). The common objective; an estimator may bring its own (wd1)."""
    from trainer.losses import pg_token_loss

    old = old_logp if old_logp is not None else logp.detach()
    tok, clipped = pg_token_loss(logp, old, batch.advantages, lcfg.clip_eps_low, lcfg.clip_eps_high)
    return None, tok, {"clipped": float((clipped & positions).sum())}


@dataclass(frozen=True)
class Estimator:
    """A named estimator: its planning function, its objective and how its forwards combine."""

    name: str
    plan: Callable[..., list[ForwardPlan]]  # plan(batch, cfg: EstimatorConfig, rng: RowRNG) -> plans
    description: str
    # tau_p of the clipped clean state from the estimator's settings (rldf), or None: no clip
    clip_threshold: Callable[[Any], float] | None = None
    # objective(logp, old_logp, batch, rows, positions, loss_cfg, share) -> (sequence loss | None,
    # token losses [N, L], logged parts); ``share`` turns a local count into the data-parallel one
    objective: Callable[..., tuple[torch.Tensor | None, torch.Tensor, dict[str, float]]] = clipped_pg_objective
    ratio_free: bool = False  # no importance ratio, so no PPO iterations (wd1)
    sum_forwards: bool = False  # the update sums its forwards' losses (trace: a sum over steps) instead of averaging
    fresh_plan_per_iteration: bool = False  # PPO: new masks for every inner iteration (d1), old log-probs for each
