"""``rldf train --plan``: golden tables, and the arithmetic checked against tensors that exist.

Regenerate the goldens after an intended change with
``RLDF_UPDATE_GOLDEN=1 pytest tests/trainer/test_memory_plan.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from harness.config_io import load_config
from tests.trainer.test_loop import ROOT
from trainer.config import TrainConfig
from trainer.memory_plan import build_plan, model_shape, plan_text, saved_bytes_per_token

GOLDEN = Path(__file__).parent / "golden"
RECIPES = ["tiny_arith", "tiny_arith_lora", "llada_math", "llada_code", "llada_math_d1", "llada_math_lora",
           "dream_math", "dream_code"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_plan_matches_the_golden_table(recipe):
    path = f"configs/train/{recipe}.yaml"
    cfg = load_config(TrainConfig, ROOT / path)
    args = (2, 4.0, 64) if recipe.startswith("tiny") else (1 if "lora" in recipe else 8, 80.0, 256)
    text = plan_text(cfg, path, *args)
    golden = GOLDEN / f"plan_{recipe}.txt"
    if os.environ.get("RLDF_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_the_8b_recipes_fit_8_x_80gb_sharded_and_not_with_ddp():
    for recipe in ("llada_math", "dream_math"):
        cfg = load_config(TrainConfig, ROOT / f"configs/train/{recipe}.yaml")
        plan = build_plan(cfg, model_shape(cfg.model.path), 8, 256)
        assert plan.peak("FSDP2") < 80 * 2**30 and plan.peak("ZeRO-3") < 80 * 2**30
        assert plan.peak("DDP") > 80 * 2**30  # 16 bytes per parameter before activations: the point


def test_parameter_count_and_optimizer_bytes_equal_what_one_real_step_allocates(tmp_path, tiny_llada):
    from harness.models import load_model
    from trainer.optim import OptimConfig, build_optimizer

    cfg = load_config(TrainConfig, ROOT / "configs/train/tiny_arith.yaml", [f"model.path={tiny_llada}"])
    plan = build_plan(cfg, model_shape(str(tiny_llada)), 1, 16)
    lm = load_model(str(tiny_llada), dtype=torch.float32)
    opt = build_optimizer(lm.net, OptimConfig(lr=1e-3))
    lm.net(torch.tensor([[3, 4, 5]])).logits.sum().backward()
    opt.step()
    weights = sum(p.numel() * p.element_size() for p in lm.net.parameters())
    grads = sum(p.grad.numel() * p.grad.element_size() for p in lm.net.parameters())
    moments = sum(v.numel() * v.element_size() for st in opt.state.values() for k, v in st.items() if k != "step")
    assert plan.items["master weights (fp32)"]["FSDP2"] == weights
    assert plan.items["gradients (fp32)"]["FSDP2"] == grads
    assert plan.items["AdamW moments (fp32)"]["FSDP2"] == moments
    assert plan.items["reference model (model.dtype)"]["DDP"] == weights  # beta > 0, float32 copy


@pytest.mark.parametrize("family", ["llada", "dream"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fitted_activation_bytes_predict_a_whole_model_forward(family, precision):
    """The per-token fit from 1- and 2-block probes predicts the saved bytes of a 3-block model of
    another width (a real forward on CPU, counted the same way) within 3%."""
    from harness.models.loading import ARCHITECTURES
    from harness.models.tiny import tiny_config

    compute = torch.bfloat16 if precision == "bf16" else None
    a, b, c = saved_bytes_per_token(family, compute, autocast=False)
    d, kv_heads, mlp, layers, rows, seq = 96, 3, 160, 3, 2, 40
    cfg = tiny_config(family, vocab_size=64, mask_id=63, eos_id=0, d_model=d, n_layers=layers, n_heads=d // 16,
                      n_kv_heads=kv_heads, mlp_hidden=mlp)
    net = ARCHITECTURES[cfg.model_type][2](cfg).to(compute or torch.float32).train()
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    seen: dict[int, int] = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(torch.randint(0, 60, (rows, seq)), logits_range=(0, 1))
    predicted = rows * seq * layers * (a * d + b * kv_heads * 16 + c * mlp)
    measured = sum(seen.values())
    assert measured == pytest.approx(predicted, rel=0.03)


def test_plan_counts_the_adapters_peft_creates(tiny_llada):
    from harness.models import load_model
    from trainer.lora import LoRAConfig, add_lora
    from trainer.memory_plan import adapter_params

    for lora in (LoRAConfig(r=4), LoRAConfig(r=2, target_modules=["q_proj", "ff_out"])):
        lm = add_lora(load_model(str(tiny_llada)), lora, "base")
        assert adapter_params(model_shape(str(tiny_llada)), lora) == lm.net.get_nb_trainable_parameters()[0]


def test_one_gpu_fits_the_8b_lora_recipe_and_not_full_fine_tuning():
    lora = load_config(TrainConfig, ROOT / "configs/train/llada_math_lora.yaml")
    full = load_config(TrainConfig, ROOT / "configs/train/llada_math.yaml")
    shape = model_shape(lora.model.path)
    assert build_plan(lora, shape, 1, 256).peak("DDP") < 80 * 2**30 < build_plan(full, shape, 1, 256).peak("DDP")


def test_cli_prints_the_plan_without_an_out_dir_and_refuses_train_without_one(capsys):
    from harness.cli import main

    path = "configs/train/tiny_arith.yaml"
    assert main(["train", "--config", str(ROOT / path), "--plan", "--processes", "2", "--device-memory", "4",
                 "--prompt-tokens", "64"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[1:] == (GOLDEN / "plan_tiny_arith.txt").read_text().splitlines()[1:]
    assert main(["train", "--config", str(ROOT / path)]) == 2
    assert "error: --out DIR is required" in capsys.readouterr().err
