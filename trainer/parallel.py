"""How the trained network is spread over processes, and what that changes for the loop.

Two layouts, chosen by the launcher (``accelerate launch --config_file configs/accelerate/X.yaml``):

* **through accelerate** — one process, DDP, or DeepSpeed: ``accelerate.prepare`` wraps the
  network; ``accelerate.autocast`` gives the compute dtype (``run.mixed_precision``) over float32
  master weights; with one process or DDP rollouts decode with the master weights under that
  autocast (no extra copy), under DeepSpeed on a gathered copy as below.
* **fsdp** — FSDP2 (``torch.distributed.fsdp.fully_shard``) applied here, per transformer block
  and at the root, with ``MixedPrecisionPolicy(param_dtype=<compute>, reduce_dtype=float32)``.
  We shard ourselves rather than through ``accelerate.prepare`` because accelerate applies FSDP
  only to GPU processes; this way the path that the CPU tests run (gloo) is the one GPUs run.
  Rollouts and evaluations decode on a full copy of the weights in ``model.dtype``, refreshed
  from the shards (one all-gather per tensor) before each rollout, as the reference code does
  under ZeRO-3. The alternative — every rank running the sharded model in lockstep, padding
  with dummy forwards until all ranks finish (``generate(synced_gpus=True)``) — all-gathers
  every weight at every decoding forward: at LLaDA-8B, 16 GB of bf16 traffic per forward for a
  rollout of a few hundred forwards, against one 16 GB gather per step here, for 16 GB of
  memory per GPU (``rldf train --plan`` counts it).

``Runtime`` exposes the few accelerator methods ``trainer.update.run_update`` calls
(``reduce``, ``autocast``, ``no_sync``, ``backward``, ``clip_grad_norm_``), so the update code
is the same for both layouts.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import torch

from harness.errors import UserError

LAYER_CLASSES = ("LLaDABlock", "DreamDecoderLayer")
COMPUTE_DTYPES = {"no": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def launcher_strategy(acc: Any) -> str:
    """'deepspeed', 'fsdp', 'ddp' or 'single' from the accelerate launch configuration."""
    kind = str(acc.distributed_type)
    if "DEEPSPEED" in kind:
        return "deepspeed"
    if "FSDP" in kind or os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true":
        return "fsdp"
    return "ddp" if acc.num_processes > 1 else "single"


class Runtime:
    """The accelerator plus the sharding layout; built by ``setup_runtime``."""

    def __init__(self, acc: Any, strategy: str, compute_dtype: torch.dtype | None) -> None:
        self.acc = acc
        self.strategy = strategy
        self.compute_dtype = compute_dtype
        self.net: torch.nn.Module | None = None
        self.rollout_net: torch.nn.Module | None = None
        self.rollout_stale = True  # the rollout copy lags the trained weights (set after each update)

    # --- what run_update needs -------------------------------------------------------------
    @property
    def num_processes(self) -> int:
        return self.acc.num_processes

    @property
    def sharded(self) -> bool:
        return self.strategy == "fsdp"

    def reduce(self, tensor: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
        return self.acc.reduce(tensor, reduction=reduction)

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum over processes (identity with one process)."""
        if self.num_processes == 1:
            return tensor
        return self.acc.reduce(tensor.to(self.acc.device), reduction="sum").cpu()

    def autocast(self):
        """Compute-dtype context for forwards of the master weights (FSDP2 casts by itself)."""
        return contextlib.nullcontext() if self.sharded else self.acc.autocast()

    @contextlib.contextmanager
    def no_sync(self, net: torch.nn.Module) -> Iterator[None]:
        if not self.sharded:
            with self.acc.no_sync(net):
                yield
            return
        net.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            net.set_requires_gradient_sync(True)

    def backward(self, loss: torch.Tensor) -> None:
        if self.sharded:
            loss.backward()
        else:
            self.acc.backward(loss)

    def clip_grad_norm_(self, params: Any, max_norm: float) -> float:
        """Clip to ``max_norm`` (inf: measure only) and return the global gradient norm."""
        if not self.sharded:
            return float(self.acc.clip_grad_norm_(params, max_norm))
        norm = torch.nn.utils.clip_grad_norm_(list(params), max_norm)
        return float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)

    # --- layout ------------------------------------------------------------------------------
    def prepare(
        self, net: torch.nn.Module, make_optimizer: Callable[[torch.nn.Module], Any], make_scheduler: Callable[[Any], Any]
    ) -> tuple[torch.nn.Module, Any, Any]:
        """Wrap or shard ``net`` (float32 master weights) and build its optimizer and schedule."""
        if not self.sharded:
            opt = make_optimizer(net)
            self.net, opt, sched = self.acc.prepare(net, opt, make_scheduler(opt))
            return self.net, opt, sched
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        policy = MixedPrecisionPolicy(param_dtype=self.compute_dtype, reduce_dtype=torch.float32)
        # the blocks return their keys/values (views) for the prefix cache; nothing writes to
        # them in place, so FSDP2's warning about in-place ops on returned views does not apply
        warnings.filterwarnings("ignore", message="FSDP2-wrapped module .* returned a view tensor")
        layers, reshard = fsdp_launch_settings()
        for module in net.modules():
            if type(module).__name__ in layers:
                fully_shard(module, mp_policy=policy, reshard_after_forward=reshard)
        fully_shard(net, mp_policy=policy, reshard_after_forward=reshard)
        self.net = net
        opt = make_optimizer(net)
        return net, opt, make_scheduler(opt)

    def unwrap(self, net: torch.nn.Module) -> torch.nn.Module:
        return net if self.sharded else self.acc.unwrap_model(net)

    def rollout_view(self, lm: Any, frozen_copy: Callable[[], torch.nn.Module]) -> Any:
        """The ``DiffusionLM`` that rollouts and evaluations decode with.

        One process or DDP: the master weights themselves (decoded under ``rollout_precision``).
        FSDP2 or DeepSpeed: a full copy built once by ``frozen_copy`` (in ``model.dtype``) and
        refreshed from the shards by ``sync_rollout_weights`` before each use.
        """
        if self.strategy not in ("fsdp", "deepspeed"):
            return replace(lm, net=self.unwrap(self.net))
        self.rollout_net = frozen_copy().requires_grad_(False).eval()
        return replace(lm, net=self.rollout_net)

    def rollout_precision(self):
        """Decoding context: autocast over the master weights; nothing for the frozen copy."""
        return contextlib.nullcontext() if self.rollout_net is not None else self.acc.autocast()

    @torch.no_grad()
    def sync_rollout_weights(self) -> None:
        """Collective under FSDP: gather each sharded tensor into the rollout copy."""
        if self.rollout_net is None or not self.rollout_stale:
            return  # nothing changed since the last gather (an evaluation right before a rollout)
        self.rollout_stale = False
        target = dict(self.rollout_net.named_parameters())
        if self.strategy == "deepspeed":  # ZeRO-3 partitions: gather each tensor in turn
            import deepspeed

            for name, param in self.unwrap(self.net).named_parameters():
                with deepspeed.zero.GatheredParameters([param]):
                    target[name].copy_(param.data)
            return
        for name, param in self.net.named_parameters():
            full = param.full_tensor() if hasattr(param, "full_tensor") else param
            target[name].copy_(full)

    def full_state_dict(self) -> dict[str, torch.Tensor]:
        """Consolidated weights (collective under FSDP); complete on the main process."""
        if self.strategy == "deepspeed":
            return self.acc.get_state_dict(self.net)
        if self.sharded:
            from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

            # frozen weights (a LoRA base) never change: only what is trained is gathered
            opts = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=True)
            return get_model_state_dict(self.net, options=opts)
        return self.unwrap(self.net).state_dict()


def fsdp_launch_settings() -> tuple[tuple[str, ...], bool]:
    """(block classes to shard, reshard after forward) from the accelerate launch config.

    ``accelerate launch`` exports the YAML's ``fsdp_config`` as ``FSDP_*`` variables; the keys
    that FSDP2 sharding here does not implement are refused rather than silently ignored.
    """
    env = os.environ
    if env.get("FSDP_OFFLOAD_PARAMS", "false").lower() == "true":
        raise UserError("fsdp_config.fsdp_offload_params is not supported by rldf's FSDP2 path; set it to false")
    if env.get("FSDP_ACTIVATION_CHECKPOINTING", "false").lower() == "true":
        raise UserError("fsdp_config.fsdp_activation_checkpointing: set it to false and use model.gradient_checkpointing "
                        "in the recipe instead")
    if env.get("FSDP_VERSION", "2") != "2":
        raise UserError("fsdp_config.fsdp_version: rldf shards with FSDP2; set fsdp_version: 2")
    names = env.get("FSDP_TRANSFORMER_CLS_TO_WRAP")
    layers = tuple(n.strip() for n in names.split(",")) if names else LAYER_CLASSES
    return layers, env.get("FSDP_RESHARD_AFTER_FORWARD", "true").lower() == "true"


def setup_runtime(acc: Any, mixed_precision: str) -> Runtime:
    return Runtime(acc, launcher_strategy(acc), COMPUTE_DTYPES[mixed_precision])
