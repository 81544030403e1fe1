"""``rldf train --config FILE --plan``: per-device memory of a recipe, before any weights load.

For each launcher (DDP, FSDP2, DeepSpeed ZeRO-3) the plan adds up what one device holds:

* optimizer-side state in float32 (``trainer/precision.py``): master weights 4 B, gradients 4 B,
  AdamW's two moments 8 B per *trained* parameter (all of them, or with ``model.lora`` the
  adapters, whose base then sits frozen in ``model.dtype`` and also serves as the KL
  reference), divided by the process count when sharded; DDP also
  keeps float32 reduce buckets (4 B, ``gradient_as_bucket_view`` is off by default) and, under
  bf16 autocast, a bf16 cast of every weight while a forward runs (2 B);
* frozen copies in ``model.dtype``: the KL reference when ``loss.beta > 0``, and under FSDP2 /
  ZeRO-3 the full rollout copy the decoder runs on (``trainer/parallel.py``);
* sharding buffers: FSDP2's unsharded root (embeddings, head) and two blocks in flight;
  ZeRO-3's live-parameter budget (DeepSpeed's default ``stage3_max_live_parameters`` = 1e9);
* activations of one estimator forward and its backward: autograd's saved tensors per token
  and layer are **counted, not modelled**: one block of the same family is run at three small
  widths on CPU in the run's compute precision, the saved bytes are fitted exactly as
  a*d + b*kv + c*mlp per token, and scaled to the real widths. With activation checkpointing a
  block keeps only its input, plus one block recomputed in backward. Logits of the completion
  positions come on top, 2c + 12 bytes each: the raw logits (c) and the float32 copy the loss
  normalises (4), then in backward their gradients (4 + c) and logsumexp's exponentials (4);
* the rollout phase: the prefix KV cache of one decoding batch, one block's transient
  activations of a full-sequence forward, and the block's logits; gradients are freed then.

The peak is the larger phase. Prompt length is not in the recipe: ``--prompt-tokens`` (default
256) stands in for it. Model sizes come from the checkpoint's ``config.json`` when it is on
disk, else from the published configs of LLaDA-8B / Dream-7B for their hub ids
(``harness/models/presets.py``); the network is instantiated on the meta device to count
parameters exactly. What it leaves out: CUDA context and allocator fragmentation (budget
~2-4 GiB), NCCL buffers, the verifier's processes, and LoRA's own saved tensors (its
rank-sized intermediates, and with dropout > 0 a dropped-out copy of each adapted layer's input).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from harness.errors import UserError

GIB = 2**30
STRATEGIES = ("DDP", "FSDP2", "ZeRO-3")



@dataclass
class Shape:
    """What memory depends on: parameter counts and the widths activations scale with."""

    family: str
    params: int
    layer_params: int
    layers: int
    d: int
    kv: int
    mlp: int
    vocab: int
    source: str
    linear: list[tuple[str, int, int]] = field(default_factory=list)  # (module name, in, out)


def model_shape(path: str) -> Shape:
    """Count parameters on the meta device from the checkpoint's config (no weights read)."""
    from harness.models.loading import ARCHITECTURES

    config, source = _config_of(path)
    family, _, model_cls = ARCHITECTURES[config.model_type]
    with torch.device("meta"):
        net = model_cls(config)
    blocks = [m for m in net.modules() if type(m).__name__ in ("LLaDABlock", "DreamDecoderLayer")]
    # both config classes answer the generic names (LLaDA's through properties); GQA and MLP
    # widths keep their family's own names
    d, heads = config.hidden_size, config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or getattr(config, "kv_heads", heads)
    mlp = getattr(config, "intermediate_size", None) or config.mlp_hidden
    linear = [(n, m.in_features, m.out_features) for n, m in net.named_modules() if isinstance(m, torch.nn.Linear)]
    return Shape(family, sum(p.numel() for p in net.parameters()), sum(p.numel() for p in blocks[0].parameters()),
                 config.num_hidden_layers, d, kv_heads * (d // heads), mlp, config.vocab_size, source, linear)


def adapter_params(shape: Shape, lora: Any) -> int:
    """LoRA parameters: r * (in + out) for every targeted linear layer (trainer/lora.py's targets)."""
    import re

    from trainer.lora import target_pattern

    pattern = target_pattern(shape.family, lora)
    return sum(lora.r * (i + o) for name, i, o in shape.linear if re.fullmatch(pattern, name))


def _config_of(path: str) -> tuple[Any, str]:
    from harness.models.loading import ARCHITECTURES, SHIPPED
    from harness.models.presets import HUB_PRESETS, preset_config

    local = SHIPPED.get(path, Path(path).expanduser())
    if (Path(local) / "config.json").exists():
        import json

        raw = json.loads((Path(local) / "config.json").read_text())
        if raw.get("model_type") not in ARCHITECTURES:
            raise UserError(f"{local}/config.json: model_type {raw.get('model_type')!r} is not llada or Dream")
        cls = ARCHITECTURES[raw["model_type"]][1]
        where = f"shipped {path}" if path in SHIPPED else str(local)
        return cls.from_pretrained(str(local)), f"config.json of {where}"
    if path in HUB_PRESETS:
        return preset_config(HUB_PRESETS[path])[1], f"published config, preset {HUB_PRESETS[path]}"
    raise UserError(f"model.path {path!r}: no config.json on disk and no known preset; pass a local checkpoint directory")


@functools.cache
def saved_bytes_per_token(family: str, compute: torch.dtype | None, autocast: bool) -> tuple[float, float, float]:
    """(a, b, c): autograd bytes saved per token and block = a*d + b*kv + c*mlp, counted on CPU."""
    probes = [(64, 4, 96), (128, 4, 96), (64, 2, 192)]  # (d, kv heads of width 16, mlp)
    rows = []
    for d, kvh, mlp in probes:
        one, two = (_saved_bytes(family, d, kvh, mlp, n, compute, autocast) for n in (1, 2))
        rows.append((two - one) / _PROBE_TOKENS)
    a = torch.tensor([[d, kvh * 16, mlp] for d, kvh, mlp in probes], dtype=torch.float64)
    coef = torch.linalg.solve(a, torch.tensor(rows, dtype=torch.float64))
    return tuple(float(c) for c in coef)  # type: ignore[return-value]


_PROBE_TOKENS = 2 * 48


def _saved_bytes(family: str, d: int, kv_heads: int, mlp: int, layers: int, compute: torch.dtype | None,
                 autocast: bool) -> int:
    from harness.models.loading import ARCHITECTURES
    from harness.models.tiny import tiny_config

    cfg = tiny_config(family, vocab_size=64, mask_id=63, eos_id=0, d_model=d, n_layers=layers, n_heads=d // 16,
                      n_kv_heads=kv_heads, mlp_hidden=mlp)
    torch.manual_seed(0)
    model_cls = ARCHITECTURES[cfg.model_type][2]
    net = model_cls(cfg).to(compute if compute is not None and not autocast else torch.float32).train()
    storages: dict[int, int] = {}
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            storages[ptr] = t.untyped_storage().nbytes()
        return t

    ids = torch.randint(0, 60, (2, _PROBE_TOKENS // 2))
    ctx = torch.autocast("cpu", dtype=compute) if autocast and compute is not None else torch.autocast("cpu", enabled=False)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), ctx:
        net(ids, logits_range=(0, 1))
    return sum(storages.values())


def activation_bytes(shape: Shape, rows: int, seq: int, gen: int, c: int, resid: int, per_token: float,
                     checkpointing: bool) -> float:
    """Peak activation memory of one estimator forward and its backward (module docstring)."""
    logits = rows * gen * shape.vocab * (2 * c + 12)
    if checkpointing:  # each block keeps its input; one block is recomputed at a time
        return rows * seq * (shape.layers * shape.d * resid + per_token) + logits
    return rows * seq * shape.layers * per_token + logits


@dataclass
class Plan:
    """Bytes per device, by item, for each launcher; the two phase peaks."""

    items: dict[str, dict[str, float]] = field(default_factory=dict)  # item -> strategy -> bytes
    train_peak: dict[str, float] = field(default_factory=dict)
    rollout_peak: dict[str, float] = field(default_factory=dict)
    act_full: float = 0.0
    act_ckpt: float = 0.0

    def peak(self, strategy: str) -> float:
        return max(self.train_peak[strategy], self.rollout_peak[strategy])


def build_plan(cfg: Any, shape: Shape, processes: int, prompt_tokens: int) -> Plan:
    """The memory plan of ``cfg`` (a TrainConfig) on ``processes`` devices."""
    from harness.models.loading import parse_dtype
    from trainer.parallel import COMPUTE_DTYPES

    p, n = shape.params, processes
    compute = COMPUTE_DTYPES[cfg.run.mixed_precision]
    c = 4 if compute is None else torch.empty((), dtype=compute).element_size()
    frozen = torch.empty((), dtype=parse_dtype(cfg.model.dtype) or torch.float32).element_size()
    s = cfg.rollout.sampler
    rows = math.ceil(cfg.rollout.prompts_per_step / n) * cfg.rollout.group_size
    seq = prompt_tokens + s.gen_length
    per_token = {}
    for strategy, autocast in (("DDP", True), ("FSDP2", False), ("ZeRO-3", False)):
        a, b, m = saved_bytes_per_token(shape.family, compute, autocast)
        per_token[strategy] = a * shape.d + b * shape.kv + m * shape.mlp
    resid = {"DDP": 4, "FSDP2": c, "ZeRO-3": c}  # the residual stream stays float32 under autocast
    act = {st: activation_bytes(shape, rows, seq, s.gen_length, c, resid[st], per_token[st],
                                cfg.model.gradient_checkpointing) for st in STRATEGIES}
    # trained: every parameter, or with LoRA the adapters over a base frozen in model.dtype
    t = adapter_params(shape, cfg.model.lora) if cfg.model.lora else p
    base = frozen * p if cfg.model.lora else 0.0
    ref = frozen * p if cfg.loss.beta > 0 and not cfg.model.lora else 0.0  # LoRA: adapters off, no copy
    root = p - shape.layers * shape.layer_params
    items = {
        "frozen base (model.dtype)": {"DDP": base, "FSDP2": base / n, "ZeRO-3": base / n},
        "master weights (fp32)": {"DDP": 4 * t, "FSDP2": 4 * t / n, "ZeRO-3": 4 * t / n},
        "gradients (fp32)": {"DDP": 4 * t, "FSDP2": 4 * t / n, "ZeRO-3": 4 * t / n},
        "AdamW moments (fp32)": {"DDP": 8 * t, "FSDP2": 8 * t / n, "ZeRO-3": 8 * t / n},
        "DDP reduce buckets (fp32)": {"DDP": 4 * t if n > 1 else 0.0, "FSDP2": 0.0, "ZeRO-3": 0.0},
        "compute-dtype weights": {"DDP": 2 * t if c == 2 else 0.0,  # autocast's cast cache during forwards
                                  "FSDP2": (root + 2 * shape.layer_params) * c + shape.layer_params * 4,
                                  "ZeRO-3": c * t / n + min(1e9, p) * c},
        "reference model (model.dtype)": {st: ref for st in STRATEGIES},
        "rollout copy (model.dtype)": {"DDP": 0.0, "FSDP2": frozen * p + 4 * (t if cfg.model.lora else 0),
                                       "ZeRO-3": frozen * p + 4 * (t if cfg.model.lora else 0)},
        "activations, one forward+backward": act,
    }
    batch = min(cfg.rollout.batch_size, rows)
    kv_cache = batch * seq * shape.layers * 2 * shape.kv * c if s.use_cache else 0.0
    decode = batch * seq * (2 * shape.d + 2 * shape.mlp) * c + batch * s.block_length * shape.vocab * (c + 8)
    items["rollout KV cache + decode transients"] = {st: kv_cache + decode for st in STRATEGIES}
    plan = Plan(items=items,
                act_full=activation_bytes(shape, rows, seq, s.gen_length, c, c, per_token["FSDP2"], False),
                act_ckpt=activation_bytes(shape, rows, seq, s.gen_length, c, c, per_token["FSDP2"], True))
    # what exists only while the trained network runs: gradients, activations, gather buffers
    transient = {"DDP": 0.0, "FSDP2": items["compute-dtype weights"]["FSDP2"], "ZeRO-3": min(1e9, p) * c}
    for st in STRATEGIES:
        everything = sum(v[st] for v in items.values())
        rollout = items["rollout KV cache + decode transients"][st]
        plan.train_peak[st] = everything - rollout
        plan.rollout_peak[st] = everything - items["gradients (fp32)"][st] - act[st] - transient[st]
    return plan


def render(plan: Plan, shape: Shape, cfg: Any, config_path: str, processes: int, device_gib: float,
           prompt_tokens: int) -> str:
    """The plan as a fixed-width table (golden-tested)."""
    s = cfg.rollout.sampler
    rows = math.ceil(cfg.rollout.prompts_per_step / processes) * cfg.rollout.group_size
    unit, scale = ("GiB", GIB) if max(plan.peak(st) for st in STRATEGIES) >= GIB else ("MiB", 2**20)
    compute = {"no": "float32"}.get(cfg.run.mixed_precision, cfg.run.mixed_precision)
    lines = [
        f"memory plan: {config_path}",
        f"model {cfg.model.path}: {shape.family}, {shape.params / 1e9:.3f}B parameters ({shape.source})",
        f"{processes} process{'es' if processes > 1 else ''} x {device_gib:g} GiB; per process {rows} samples of {prompt_tokens} prompt tokens "
        f"(assumed; --prompt-tokens) + {s.gen_length} generated, rollout batch {min(cfg.rollout.batch_size, rows)}",
        *([f"LoRA r={cfg.model.lora.r}: {adapter_params(shape, cfg.model.lora) / 1e6:.2f}M trainable adapter "
           f"parameters over the frozen base"] if cfg.model.lora else []),
        f"compute {compute}, frozen copies {cfg.model.dtype}, activation checkpointing "
        f"{'on' if cfg.model.gradient_checkpointing else 'off'}, KL reference {'yes' if cfg.loss.beta > 0 else 'no'}",
        "",
        f"{unit + ' per device':<38}" + "".join(f"{st if processes > 1 or st != 'DDP' else '1 process':>10}"
                                                for st in STRATEGIES),
    ]
    for name, per in plan.items.items():
        lines.append(f"{name:<38}" + "".join(f"{per[st] / scale:>10.2f}" for st in STRATEGIES))
    lines.append(f"{'peak, training phase':<38}" + "".join(f"{plan.train_peak[st] / scale:>10.2f}" for st in STRATEGIES))
    lines.append(f"{'peak, rollout phase':<38}" + "".join(f"{plan.rollout_peak[st] / scale:>10.2f}" for st in STRATEGIES))
    fits = ["yes" if plan.peak(st) <= device_gib * GIB else "no" for st in STRATEGIES]
    lines.append(f"{f'fits in {device_gib:g} GiB':<38}" + "".join(f"{f:>10}" for f in fits))
    lines.append("")
    lines.append(f"activations of one forward+backward: {plan.act_ckpt / scale:.2f} {unit} with checkpointing, "
                 f"{plan.act_full / scale:.2f} {unit} without (compute dtype throughout)")
    lines.append("not counted: CUDA context and allocator fragmentation (budget 2-4 GiB), communication buffers")
    return "\n".join(lines) + "\n"


def plan_text(cfg: Any, config_path: str, processes: int, device_gib: float, prompt_tokens: int) -> str:
    shape = model_shape(cfg.model.path)
    plan = build_plan(cfg, shape, processes, prompt_tokens)
    return render(plan, shape, cfg, config_path, processes, device_gib, prompt_tokens)
