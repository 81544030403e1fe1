"""Left padding and the position ids that go with it: one definition for decoding and training.

Prompts of different lengths share a batch by left padding, so every completion starts at the
same column. Each forward then carries the attention mask (padding is never attended) and
position ids that count real tokens only, so a row's result does not depend on its batch mates.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def left_pad(rows: Sequence[Sequence[int]], pad_id: int, device: str | torch.device = "cpu"
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows -> (ids [B, P] left-padded with ``pad_id``, attention [B, P]: 1 = real token)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        if len(r):
            ids[i, width - len(r):] = torch.as_tensor(list(r), dtype=torch.long)
            attn[i, width - len(r):] = 1
    return ids.to(device), attn.to(device)


def position_ids(attention: torch.Tensor) -> torch.Tensor:
    """Positions counting real tokens only (padding gets 0): row i's first real token is 0."""
    return (attention.cumsum(-1) - 1).clamp(min=0)
