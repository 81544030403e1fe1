"""Group-relative advantages and group filtering (spec: RLDF.md A.5 and A.8), pure functions.

Rewards of ``None``/NaN mean "could not be scored" (e.g. the sandbox failed): such samples are
left out of their group's statistics and get advantage 0 and no loss — never a 0 reward.
"""

from __future__ import annotations

import torch


def group_advantages(
    rewards: torch.Tensor, groups: torch.Tensor, scale_by_std: bool = True, std_floor: float = 1e-2
) -> torch.Tensor:
    """A_i = (r_i - mean_g) / max(std_g + 1e-8, std_floor), std unbiased (N-1), per group g.

    ``scale_by_std=False`` gives A_i = r_i - mean_g (d1, Dr.GRPO). Groups with fewer than two
    scorable samples, and unscorable samples, get A = 0.
    """
    adv = torch.zeros_like(rewards, dtype=torch.float32)
    ok = ~torch.isnan(rewards)
    for g in torch.unique(groups):
        members = (groups == g) & ok
        if int(members.sum()) < 2:
            continue
        r = rewards[members].float()
        a = r - r.mean()
        if scale_by_std:
            a = a / torch.clamp(r.std() + 1e-8, min=std_floor)
        adv[members] = a
    return adv


def filter_groups(
    rewards: torch.Tensor,
    groups: torch.Tensor,
    num_steps: torch.Tensor,
    max_groups: int | None,
    gen: torch.Generator,
) -> list[int]:
    """Group ids to keep (at most ``max_groups``), in ascending order.

    If there are more groups than ``max_groups``: groups whose rewards vary come first (a random
    subset if there are too many); remaining slots go to random all-correct groups (mean > 0,
    zero variance), then to all-wrong groups with the most decoding steps (mean over the group
    of max step + 1). ``num_steps`` is per sample.
    """
    ids = torch.unique(groups).tolist()
    if max_groups is None or len(ids) <= max_groups:
        return ids
    varied, correct, wrong = [], [], []
    for g in ids:
        m = groups == g
        r = rewards[m & ~torch.isnan(rewards)].float()
        std = float(r.std()) if r.numel() > 1 else 0.0
        if std > 1e-8:
            varied.append(g)
        elif r.numel() and float(r.mean()) > 0:
            correct.append(g)
        else:
            wrong.append((float(num_steps[m].float().mean()), g))
    if len(varied) >= max_groups:
        pick = torch.randperm(len(varied), generator=gen)[:max_groups].tolist()
        return sorted(varied[i] for i in pick)
    keep = list(varied)
    room = max_groups - len(keep)
    pick = torch.randperm(len(correct), generator=gen)[:room].tolist()
    keep += [correct[i] for i in pick]
    room = max_groups - len(keep)
    keep += [g for _, g in sorted(wrong, key=lambda t: (-t[0], t[1]))[:room]]
    return sorted(keep)
