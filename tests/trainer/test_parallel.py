"""The launcher layer without launching: strategy detection, FSDP settings from the launch YAML,
and the DeepSpeed rollout copy (DeepSpeed itself only runs on GPUs, so it is faked here)."""

from __future__ import annotations

import contextlib
import sys
import types
from dataclasses import dataclass

import pytest
import torch

from harness.errors import UserError
from trainer.parallel import Runtime, fsdp_launch_settings, launcher_strategy


@dataclass
class FakeAccelerator:
    distributed_type: str = "DistributedType.NO"
    num_processes: int = 1

    def unwrap_model(self, net):
        return net


@dataclass
class FakeLM:
    net: torch.nn.Module


def test_strategy_comes_from_the_launch_config(monkeypatch):
    monkeypatch.delenv("ACCELERATE_USE_FSDP", raising=False)
    assert launcher_strategy(FakeAccelerator()) == "single"
    assert launcher_strategy(FakeAccelerator(num_processes=2)) == "ddp"
    assert launcher_strategy(FakeAccelerator("DistributedType.DEEPSPEED", 8)) == "deepspeed"
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")  # what accelerate launch exports for an FSDP YAML
    assert launcher_strategy(FakeAccelerator("DistributedType.MULTI_CPU", 2)) == "fsdp"


def test_fsdp_settings_follow_the_yaml_and_refuse_what_is_not_implemented(monkeypatch):
    monkeypatch.setenv("FSDP_TRANSFORMER_CLS_TO_WRAP", "LLaDABlock, DreamDecoderLayer")
    monkeypatch.setenv("FSDP_RESHARD_AFTER_FORWARD", "false")
    assert fsdp_launch_settings() == (("LLaDABlock", "DreamDecoderLayer"), False)
    monkeypatch.setenv("FSDP_OFFLOAD_PARAMS", "true")
    with pytest.raises(UserError, match="fsdp_offload_params"):
        fsdp_launch_settings()
    monkeypatch.setenv("FSDP_OFFLOAD_PARAMS", "false")
    monkeypatch.setenv("FSDP_VERSION", "1")
    with pytest.raises(UserError, match="fsdp_version: 2"):
        fsdp_launch_settings()


def test_deepspeed_rollouts_decode_on_a_copy_gathered_tensor_by_tensor(monkeypatch):
    gathered = []

    @contextlib.contextmanager
    def gathered_parameters(params):
        gathered.append(len(params))
        yield

    fake = types.ModuleType("deepspeed")
    fake.zero = types.SimpleNamespace(GatheredParameters=gathered_parameters)
    monkeypatch.setitem(sys.modules, "deepspeed", fake)
    torch.manual_seed(0)
    policy = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    rt = Runtime(FakeAccelerator("DistributedType.DEEPSPEED"), "deepspeed", torch.bfloat16)
    rt.net = policy
    view = rt.rollout_view(FakeLM(policy), lambda: torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2)))
    assert view.net is not policy and not any(p.requires_grad for p in view.net.parameters())
    rt.sync_rollout_weights()
    assert gathered == [1, 1, 1, 1]  # one gather per tensor, never the whole model at once
    for a, b in zip(policy.parameters(), view.net.parameters()):
        assert torch.equal(a, b)
    rt.sync_rollout_weights()  # nothing trained since: an evaluation right before a rollout gathers once
    assert gathered == [1, 1, 1, 1]
    rt.rollout_stale = True  # what the loop sets after each update
    rt.sync_rollout_weights()
    assert len(gathered) == 8
    assert isinstance(rt.rollout_precision(), contextlib.nullcontext)  # the copy is already in model.dtype
