"""``DiffusionLM``: one handle on a masked-diffusion LM, whatever its family.

Everything above the network (decoding, training, evaluation) talks to this object, so the
family differences live here and nowhere else:

* special ids (mask, EOS, PAD, chat end) come from the config/tokenizer, never hard-coded;
* **logit alignment**: LLaDA's logit at position i scores token i; Dream's logit at position
  i-1 scores token i (it was initialised from an AR model). ``logit_shift`` is 0 or 1 and
  ``aligned_logits``/``token_logprobs`` apply it, so callers always get "position i scores
  token i": the first completion token at absolute position P uses the logit at P-1 by
  construction (README.md, "Where rldf differs from the reference code").
* every distribution is the softmax over the **full vocabulary**, mask token included, as in
  the official decoders and trainers (LLaDA, Fast-dLLM, Dream, d1, Drift): decoding scores,
  rollout ``token_probs`` and training log-probs are over the same support. The ids that can
  never be a real prediction (the mask token; unused embedding rows such as Dream's "ghost"
  ids above it), ``suppressed_ids``, are only kept from being *committed* by the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from harness.models.layers import DiffusionLMOutput

FAMILIES = ("llada", "dream")


@dataclass
class DiffusionLM:
    """A loaded diffusion LM: network, tokenizer and the facts needed to drive it."""

    net: torch.nn.Module
    family: str
    mask_id: int
    eos_id: int
    pad_id: int
    tokenizer: Any = None
    eot_id: int | None = None  # chat end-of-turn id (<|eot_id|>, <|im_end|>) when known
    bos_id: int | None = None
    name: str = ""
    path: str | None = None
    base: str | None = None  # for a LoRA adapter directory: the base checkpoint it was applied to
    # ids the decoder never commits (they stay in every softmax; see module docstring)
    suppressed_ids: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")

    @property
    def logit_shift(self) -> int:
        """How many positions the network's logits lag the tokens they score (Dream: 1)."""
        return 1 if self.family == "dream" else 0

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.net.parameters()).dtype

    @property
    def vocab_size(self) -> int:
        return int(self.net.get_input_embeddings().weight.shape[0])

    def stop_ids(self) -> tuple[int, ...]:
        """Ids after which nothing meaningful follows (EOS/PAD and the chat end token)."""
        ids = {self.eos_id, self.pad_id}
        if self.eot_id is not None:
            ids.add(self.eot_id)
        return tuple(sorted(ids))

    def forward(self, input_ids: torch.Tensor, **kwargs: Any) -> DiffusionLMOutput:
        """Raw network forward (``attention_mask``, ``position_ids``, ``cache``, ``use_cache``)."""
        return self.net(input_ids, **kwargs)

    def align(self, raw_logits: torch.Tensor) -> torch.Tensor:
        """Map raw logits [B, T, V] of positions a..a+T-1 to logits scoring tokens a+shift..a+T-1.

        Returns [B, T - shift, V]. For LLaDA this is the identity; for Dream it drops the last
        position's logit, so entry j scores token a+1+j (its prediction came from position a+j).
        """
        s = self.logit_shift
        return raw_logits[:, : raw_logits.shape[1] - s] if s else raw_logits

    def aligned_logits(self, input_ids: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """Logits [B, T, V] where position i scores token i (full vocabulary).

        For Dream, position 0 has no prediction (nothing precedes it); it is filled with zeros
        (a uniform distribution) and must not be used.
        """
        raw = self.forward(input_ids, **kwargs).logits
        out = self.align(raw)
        if self.logit_shift:
            pad = torch.zeros_like(raw[:, :1])
            out = torch.cat((pad, out), dim=1)
        return out

    def guided_logits(
        self,
        input_ids: torch.Tensor,
        prompt_len: int,
        cfg: float,
        *,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        logits_range: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Raw logits with LLaDA's classifier-free guidance (``generate.py``, ``get_log_likelihood.py``).

        A copy of the batch with the first ``prompt_len`` positions masked runs in the same
        forward, and the logits become ``un + (cfg + 1) * (cond - un)`` in the logits' dtype, as
        LLaDA combines them. ``cfg == 0`` is a plain forward. One definition for decoding and
        likelihoods alike.
        """
        if not cfg:
            return self.forward(input_ids, attention_mask=attention_mask, position_ids=position_ids,
                                logits_range=logits_range).logits
        uncond = input_ids.clone()
        uncond[:, :prompt_len] = self.mask_id
        out = self.forward(torch.cat((input_ids, uncond)), attention_mask=_twice(attention_mask),
                           position_ids=_twice(position_ids), logits_range=logits_range)
        cond, un = out.logits.chunk(2)
        return un + (cfg + 1) * (cond - un)

    def token_logprobs(
        self,
        input_ids: torch.Tensor,
        targets: torch.Tensor,
        start: int,
        *,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        return_entropy: bool = False,
        chunk: int = 256,
        cfg: float = 0.0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Log-probabilities of ``targets`` [B, L] at absolute positions start..start+L-1.

        The input may hold masks at those positions (the usual case: scoring x0 tokens from a
        noisy x_t). The softmax is over the full vocabulary (see the module docstring). Only
        the needed logits are normalised, in float32 and in chunks of
        ``chunk`` positions, so memory stays at B*chunk*V instead of B*L*V. Returns
        (logprobs [B, L] float32, entropy [B, L] float32 or None). ``cfg``: classifier-free
        guidance with the positions before ``start`` as the prompt (``guided_logits``).
        """
        length = targets.shape[1]
        if start - self.logit_shift < 0:
            raise ValueError(f"{self.family}: cannot score position {start}; no logit predicts it")
        first = start - self.logit_shift
        raw = self.guided_logits(
            input_ids, start, cfg, attention_mask=attention_mask, position_ids=position_ids,
            logits_range=(first, first + length),
        )  # raw[:, j] scores token start + j
        logps, ents = [], []
        for c0 in range(0, length, chunk):
            c1 = min(length, c0 + chunk)
            lg = raw[:, c0:c1].float()
            # log p = logit[target] - logsumexp(logits): avoids materialising (and saving for
            # backward) a full log_softmax tensor next to the logits.
            lse = torch.logsumexp(lg, dim=-1)
            logps.append(lg.gather(-1, targets[:, c0:c1, None].long()).squeeze(-1) - lse)
            if return_entropy:
                p = torch.softmax(lg, dim=-1)
                ents.append(lse - (p * lg).sum(-1))
        logp = torch.cat(logps, dim=1)
        return logp, (torch.cat(ents, dim=1) if return_entropy else None)


def _twice(t: torch.Tensor | None) -> torch.Tensor | None:
    """``t`` stacked on itself along the batch (the conditional and unconditional copies)."""
    return None if t is None else torch.cat((t, t))


def enable_activation_checkpointing(net: torch.nn.Module) -> None:
    """Recompute each block's activations in backward (transformers' non-reentrant variant).

    transformers 5.x renamed ``gradient_checkpointing_enable`` to ``activation_checkpointing_enable``;
    use whichever this version has.
    """
    kwargs = {"use_reentrant": False}
    if hasattr(net, "activation_checkpointing_enable"):
        net.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        net.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)

