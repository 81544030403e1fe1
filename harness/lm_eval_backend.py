"""lm-evaluation-harness backend ``rldf``: any lm-eval task on LLaDA/Dream through our decoder.

lm-eval is an optional extra (``pip install 'rldf-harness[lm-eval]'``); only this module imports
it, and importing it registers the model name ``rldf``. lm-eval 0.4.13 discovers models only
through its own registry (no entry points), so the stock ``lm_eval`` command does not know
``rldf``; run it through our CLI, which registers the backend first and then hands over::

    rldf lm-eval run --model rldf --model_args pretrained=GSAI-ML/LLaDA-8B-Instruct,protocol=rldf-greedy-256 \\
        --tasks gsm8k --batch_size 8

or from Python (``import harness.lm_eval_backend`` once, then ``simple_evaluate(model="rldf",
model_args="pretrained=...")``, or pass ``RldfLM(lm=loaded_model)`` as the model object).

* ``generate_until``: the protocol's sampler with ``gen_length`` = ``max_gen_toks`` rounded up
  to a whole block (steps scaled in proportion); the text is cut to ``max_gen_toks`` tokens,
  at the first stop token, and at the first ``until`` string. ``do_sample: false`` means
  temperature 0; with ``do_sample: true`` the request's temperature (else the protocol's, else
  1) is used, each request seeded from (seed, request index) so ``repeats`` copies differ.
* ``loglikelihood``: LLaDA's Monte-Carlo ELBO (``harness.likelihood``), as its lm-eval wrapper
  ``eval_llada.py`` computes it: token ids built the same way (below), ``mc_num`` draws in
  batches of ``mc_batch`` (seeded per request), log-probs over the full vocabulary, optional
  classifier-free guidance ``cfg``. ``is_greedy`` is LLaDA's ``suffix_greedy_prediction``
  (continuation masked, one argmax token per forward, most confident first, same ``cfg``) — one
  forward per continuation token; ``greedy_check=false`` (LLaDA's ``is_check_greedy=False``, used
  for all its published numbers) skips it and reports False.
* ``loglikelihood_rolling``: the ELBO of every token of the text (LLaDA; with ``add_bos`` the
  text follows BOS; Dream conditions on the first token), in windows of ``max_length // 2``
  tokens when the text is longer than ``max_length``. ``eval_llada.py`` has no rolling scorer.

Model args beyond lm-eval's own (README "lm-eval backend" has a table reproducing LLaDA's
EVAL.md rows):

* ``add_bos`` (default false): prepend the tokenizer's BOS to every context unless it is
  already there. Off, the ids are ``tokenizer(context)["input_ids"]`` and the continuation is
  ``tokenizer(context + continuation)`` past the context's length — exactly ``eval_llada.py``,
  so off reproduces LLaDA-8B-Base's published lm-eval numbers (EVAL.md's ppl table, both rows;
  the paper's Table 1), whose tokenizer adds no BOS. On matches Dream's ``eval_dream_mc.sh``
  (``add_bos_token=true``) in that one respect only (see README: Dream likelihoods) and rldf
  before issue 20.
* ``cfg`` (default 0): LLaDA's guidance scale: logits ``un + (cfg + 1) * (cond - un)``, ``un``
  from a copy with the prompt masked, batched with the conditional rows — for likelihoods, and
  for generation as the sampler's ``cfg_scale`` (``eval_llada.py`` passes its ``cfg`` to
  ``generate`` too; a protocol whose sampler uses a KV cache cannot be guided and is refused).
  EVAL.md's "w/ CFG" row uses 0.5 (GPQA, ARC-C, HellaSwag, PIQA) and 2.0 (TruthfulQA).
* ``mc_num`` (default 128), ``mc_batch``: ``mc_batch`` defaults to ``min(mc_num, batch_size)``
  with lm-eval's ``--batch_size`` (``min(mc_num, 32)`` for ``auto``) — in ``eval_llada.py``
  ``--batch_size`` *is* the Monte-Carlo batch, so LLaDA's commands (``--batch_size 8`` with
  ``mc_num=128``; ``--batch_size 1`` with ``mc_num=1``) mean the same here; ``mc_num=1`` works
  with any batch size. ``--batch_size`` is also the generation batch. ``mc_num`` must be a
  multiple of the Monte-Carlo batch (LLaDA asserts the same); otherwise the backend refuses with
  one line naming the argument.

Requests are served in one process: under several processes each would evaluate everything
(use ``rldf eval`` for data-parallel runs).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import lm_eval.models  # noqa: F401  (fills lm-eval's registry first, so its own models stay reachable)
import torch
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from harness.decoding import decode
from harness.errors import UserError
from harness.likelihood import (
    ceil_to,
    elbo_loglikelihood,
    rolling_windows,
    seeded_generator,
    suffix_greedy,
)
from harness.protocols import load_protocol
from harness.seeds import row_seed


def mc_settings(mc_num: int, mc_batch: int | None, batch_size: int | str) -> tuple[int, int]:
    """(mc_num, Monte-Carlo batch) from the model args and lm-eval's ``--batch_size`` (module docstring)."""
    mc_num = int(mc_num)
    if mc_num < 1:
        raise UserError(f"rldf backend: mc_num={mc_num} must be >= 1 (LLaDA uses 1 for MMLU/CMMLU/C-Eval, 128 otherwise)")
    if mc_batch is not None:
        if int(mc_batch) < 1 or mc_num % int(mc_batch):
            raise UserError(f"rldf backend: mc_batch={mc_batch} must divide mc_num={mc_num}; set mc_batch to a divisor of mc_num")
        return mc_num, int(mc_batch)
    per_forward = int(batch_size) if str(batch_size).isdigit() else 32
    if per_forward < 1:
        raise UserError(f"rldf backend: batch_size={batch_size} must be >= 1")
    chosen = min(mc_num, per_forward)
    if mc_num % chosen:
        raise UserError(
            f"rldf backend: mc_num={mc_num} is not a multiple of the Monte-Carlo batch {chosen} taken from batch_size; "
            "set mc_batch to a divisor of mc_num (or a batch_size that divides it)"
        )
    return mc_num, chosen


@register_model("rldf")
class RldfLM(LM):
    """lm-eval ``LM`` over a ``DiffusionLM``; see the module docstring for each request type and model arg."""

    def __init__(
        self,
        pretrained: str | None = None,
        lm: Any = None,
        protocol: str = "rldf-greedy-256",
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int | str = 1,
        mc_num: int = 128,
        mc_batch: int | None = None,
        cfg: float = 0.0,
        greedy_check: bool = True,
        add_bos: bool = False,
        max_length: int | None = None,
        seed: int = 0,
        max_batch_size: int | None = None,
        **sampler_overrides: Any,
    ) -> None:
        super().__init__()
        if lm is None:
            if not pretrained:
                raise UserError("rldf backend: pass model_args pretrained=<checkpoint dir, hub id or shipped name>")
            from harness.models import load_model

            if device in (None, "auto") or (str(device).startswith("cuda") and not torch.cuda.is_available()):
                # lm-eval's CLI defaults to --device cuda; on a machine without CUDA run on the CPU
                device = "cuda" if torch.cuda.is_available() else "cpu"
            lm = load_model(pretrained, device=device, dtype=dtype)
        if lm.tokenizer is None:
            raise UserError("rldf backend: the model has no tokenizer; lm-eval sends text")
        self.model = lm
        self.protocol = load_protocol(protocol).with_changes(**sampler_overrides)
        self.batch_size = int(batch_size) if str(batch_size).isdigit() else 1
        self.mc_num, self.mc_batch = mc_settings(mc_num, mc_batch, batch_size)
        self.cfg = float(cfg)
        if self.cfg < 0:
            raise UserError(f"rldf backend: cfg={cfg} must be >= 0 (0 = no guidance; LLaDA publishes 0.5 and 2.0)")
        self.greedy_check = bool(greedy_check)
        self.add_bos = bool(add_bos)
        net_cfg = getattr(lm.net, "config", None)
        self.max_length = int(
            max_length
            or getattr(net_cfg, "max_sequence_length", None)
            or getattr(net_cfg, "max_position_embeddings", None)
            or 4096
        )
        self.seed = int(seed)

    # ---- tokenisation -------------------------------------------------------------------
    def tok_encode(self, text: str) -> list[int]:
        """The tokenizer's own ids, special tokens as it adds them (``eval_llada.py``)."""
        return list(self.model.tokenizer(text)["input_ids"])

    def _prefix(self, ids: list[int]) -> list[int]:
        bos = self.model.bos_id
        if self.add_bos and bos is not None and (not ids or ids[0] != bos):
            return [bos, *ids]
        return ids

    def _encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        # eval_llada.py's _encode_pair: trailing spaces of the context belong to the continuation,
        # which is the whole text's ids past the context's length
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.tok_encode(context + continuation)
        ctx = self.tok_encode(context)
        return self._prefix(ctx), whole[len(ctx):]

    def _check_prefix(self, prefix: list[int]) -> None:
        if len(prefix) < self.model.logit_shift:
            raise UserError(f"rldf backend: {self.model.family} needs a context token before the continuation; set add_bos=true")

    # ---- generation ---------------------------------------------------------------------
    def _sampler(self, gen_kwargs: dict[str, Any]) -> tuple[Any, int]:
        base = self.protocol.sampler
        max_gen = int(gen_kwargs.get("max_gen_toks", base.gen_length))
        gen_length = ceil_to(max_gen, base.block_length)
        steps = max(gen_length // base.block_length, round(base.steps * gen_length / base.gen_length))
        temperature = 0.0
        if gen_kwargs.get("do_sample", False):
            temperature = float(gen_kwargs.get("temperature") or base.temperature or 1.0)
        top_p = float(gen_kwargs.get("top_p", base.top_p)) if gen_kwargs.get("do_sample", False) else base.top_p
        try:
            sampler = replace(base, gen_length=gen_length, steps=steps, temperature=temperature, top_p=top_p,
                              cfg_scale=self.cfg or base.cfg_scale)
        except ValueError as exc:
            raise UserError(f"rldf backend: cfg={self.cfg} with protocol {self.protocol.name}: {exc}") from exc
        return sampler, max_gen

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        out: list[str | None] = [None] * len(requests)
        groups: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            groups.setdefault(repr(sorted(req.args[1].items())), []).append(i)
        for indices in groups.values():
            gen_kwargs = dict(requests[indices[0]].args[1])
            until = gen_kwargs.get("until") or []
            until = [until] if isinstance(until, str) else list(until)
            cfg, max_gen = self._sampler(gen_kwargs)
            for c in range(0, len(indices), self.batch_size):
                chunk = indices[c : c + self.batch_size]
                prompts = [self._prefix(self.tok_encode(requests[i].args[0])) for i in chunk]
                if any(not p for p in prompts):
                    raise UserError("rldf backend: empty context and no BOS token; set add_bos=true or give a context")
                seeds = [row_seed(self.seed, f"lm-eval:{i}:{requests[i].args[0]}", 0) for i in chunk]
                gen = decode(self.model, prompts, cfg, row_seeds=seeds)
                for r, i in enumerate(chunk):
                    n = min(int(gen.gen_tokens[r]), max_gen)
                    text = self.model.tokenizer.decode(gen.completion_ids[r, :n].tolist(), skip_special_tokens=True)
                    cut = min((j for j in (text.find(s) for s in until if s) if j >= 0), default=len(text))
                    out[i] = text[:cut]
                    self.cache_hook.add_partial("generate_until", requests[i].args, out[i])
        return [o or "" for o in out]

    # ---- likelihood ---------------------------------------------------------------------
    def _truncate(self, prefix: list[int], target: list[int]) -> tuple[list[int], list[int]]:
        if len(target) >= self.max_length:
            target = target[-(self.max_length - 1):]
        keep = self.max_length - len(target)
        return prefix[-keep:] if len(prefix) > keep else prefix, target

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        out = []
        for req in requests:
            context, continuation = req.args
            prefix, target = self._truncate(*self._encode_pair(context, continuation))
            self._check_prefix(prefix)
            g = seeded_generator(self.seed, "ll", context, continuation)
            logp = elbo_loglikelihood(
                self.model, prefix, target, mc_num=self.mc_num, mc_batch=self.mc_batch, cfg=self.cfg, generator=g
            )
            greedy = bool(target) and self.greedy_check and suffix_greedy(self.model, prefix, len(target), self.cfg) == target
            out.append((logp, greedy))
            self.cache_hook.add_partial("loglikelihood", req.args, (logp, greedy))
        return out

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        out = []
        for req in requests:
            (text,) = req.args
            ids = self._prefix(self.tok_encode(text))
            # a BOS (or Dream's first token, which no logit predicts) is context only
            first = 1 if (self.add_bos and self.model.bos_id is not None) else self.model.logit_shift
            total = 0.0
            for a, t0, t1 in rolling_windows(len(ids), self.max_length, first):
                g = seeded_generator(self.seed, "rolling", text, t0)
                total += elbo_loglikelihood(
                    self.model, ids[a:t0], ids[t0:t1], mc_num=self.mc_num, mc_batch=self.mc_batch, cfg=self.cfg, generator=g
                )
            out.append(total)
            self.cache_hook.add_partial("loglikelihood_rolling", req.args, total)
        return out

    @property
    def tokenizer_name(self) -> str:
        return str(getattr(self.model.tokenizer, "name_or_path", "rldf")).replace("/", "__")

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The tokenizer's chat template (lm-eval ``--apply_chat_template``)."""
        tok = self.model.tokenizer
        if not getattr(tok, "chat_template", None):
            raise ValueError("rldf backend: this model's tokenizer has no chat template; drop --apply_chat_template")
        return tok.apply_chat_template(chat_history, tokenize=False, add_generation_prompt=add_generation_prompt)
