"""LoRA training with peft: adapters in float32 over a frozen base kept in ``model.dtype``.

``model.lora`` in the train config turns it on (``--set model.lora.r=8`` with defaults for the
rest). Why it matters: with LoRA the 8B base stays frozen in bf16 (16 GB) and only the adapters
carry float32 weights, gradients and AdamW state, so RLDF fits on one GPU; and the KL reference
is the same network with its adapters switched off (peft's ``disable_adapter``), never a copy.
Rollouts run peft's unmerged forward: merging into a bf16 base before each rollout and
unmerging after would not restore the base exactly (bf16 rounding), so the base would drift, and
a separate merged copy would cost a second base (16 GB at 8B), what LoRA is meant to save.
Measured on the tiny model (``bench/results/lora_cpu.json``) the unmerged decode is 1.5x the
merged one, the adapters being a large share of a 0.8M-parameter model's compute; at LLaDA-8B
with r = 128 they add about 2r/d = 6% of the linear layers' FLOPs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from harness.errors import UserError
from harness.models.adapters import quiet_peft

# Linear layers inside the transformer blocks, by their official parameter names; the output
# head (LLaDA's model.transformer.ff_out, Dream's lm_head) is never a target.
PRESETS = {
    "llada": ("q_proj", "k_proj", "v_proj", "attn_out", "ff_proj", "up_proj", "ff_out"),
    "dream": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
}
BLOCK_PATHS = {"llada": r"(.*\.)?transformer\.blocks\.\d+\.", "dream": r"(.*\.)?layers\.\d+\.(self_attn|mlp)\."}
BIASES = ("none", "all", "lora_only")


@dataclass
class LoRAConfig:
    """peft LoRA settings (``model.lora``)."""

    r: int = 8
    """Adapter rank."""
    alpha: float = 16.0
    """Scale numerator: updates are scaled by alpha / r (d1 uses r 128, alpha 64)."""
    dropout: float = 0.0
    target_modules: list[str] | None = None
    """Linear layers to adapt, by name: null = the family's attention and MLP projections
    (LLaDA: q/k/v_proj, attn_out, ff_proj, up_proj, ff_out; Dream: q/k/v/o_proj, gate/up/down_proj);
    [all-linear] = every linear layer inside the blocks (the same set for these two families)."""
    bias: str = "none"
    """none | all | lora_only (peft's meaning)."""

    def __post_init__(self) -> None:
        if self.r < 1 or self.alpha <= 0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("model.lora: r must be >= 1, alpha > 0 and dropout in [0, 1)")
        if self.bias not in BIASES:
            raise ValueError(f"model.lora.bias={self.bias!r}: choose one of {', '.join(BIASES)}")


def target_pattern(family: str, cfg: LoRAConfig) -> str:
    """A regex over full module names that selects the adapted linear layers."""
    names = PRESETS[family] if cfg.target_modules in (None, ["all-linear"]) else tuple(cfg.target_modules)
    return BLOCK_PATHS[family] + "(" + "|".join(re.escape(n) for n in names) + ")"


def add_lora(lm: Any, cfg: LoRAConfig, base_path: str) -> Any:
    """Wrap ``lm.net`` in a peft model with trainable float32 adapters; the base is frozen."""
    from peft import LoraConfig, get_peft_model

    pattern = target_pattern(lm.family, cfg)
    linear = [n for n, m in lm.net.named_modules() if isinstance(m, torch.nn.Linear)]
    if not any(re.fullmatch(pattern, n) for n in linear):
        short = sorted({n.rsplit(".", 1)[-1] for n in linear})
        raise UserError(f"model.lora.target_modules {cfg.target_modules or list(PRESETS[lm.family])} match no "
                        f"linear layer of {base_path}; its linear layers are: {', '.join(short)}")
    peft_cfg = LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=pattern,
                          bias=cfg.bias)
    with quiet_peft():
        lm.net = get_peft_model(lm.net, peft_cfg, autocast_adapter_dtype=True)
    lm.net.peft_config["default"].base_model_name_or_path = base_path  # as given, not the resolved directory
    for p in lm.net.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()  # float32 master weights for whatever the optimizer updates
    return lm


def is_peft(net: Any) -> bool:
    return hasattr(net, "disable_adapter") and hasattr(net, "peft_config")


class AdaptersOff(torch.nn.Module):
    """The base network of a peft model: forwards run with the adapters disabled.

    Used as the KL reference: the same weights in memory, so no second copy of the base.
    """

    def __init__(self, peft_net: Any) -> None:
        super().__init__()
        object.__setattr__(self, "peft_net", peft_net)  # not a submodule: nothing here is trained or saved

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with self.peft_net.disable_adapter():
            return self.peft_net(*args, **kwargs)

    def parameters(self, recurse: bool = True):  # device/dtype queries see the base's weights
        return self.peft_net.parameters(recurse)

    def get_input_embeddings(self) -> Any:
        return self.peft_net.get_input_embeddings()
