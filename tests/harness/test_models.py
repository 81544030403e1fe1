"""Native LLaDA/Dream: reference parity, round trips, loading errors, alignment, prefix cache."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from harness.errors import UserError
from harness.models import DreamConfig, DreamModel, LLaDAConfig, LLaDAModelLM, load_model
from harness.models.layers import slice_cache
from tests.harness import naive_reference


def _randomise_norms(net: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() == 1:  # norm weights and biases default to 1/0: make parity see them
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))


@pytest.mark.parametrize("name", ["llada_tiny", "dream_tiny"])
def test_reference_parity_on_official_fixtures(fixtures_dir, name):
    lm = load_model(fixtures_dir / name)
    expected = load_file(str(fixtures_dir / name / "expected_logits.safetensors"))
    assert lm.dtype == torch.float32
    with torch.no_grad():
        logits = lm.net(expected["input_ids"]).logits
    assert logits.shape == expected["logits"].shape
    assert (logits - expected["logits"]).abs().max().item() <= 1e-4


def test_naive_reference_matches_official_fixture(fixtures_dir):
    # Validates the independent reference itself before using it on other sizes.
    for name, fn in (("llada_tiny", naive_reference.llada_logits), ("dream_tiny", naive_reference.dream_logits)):
        lm = load_model(fixtures_dir / name)
        expected = load_file(str(fixtures_dir / name / "expected_logits.safetensors"))
        ref = fn(lm.net.state_dict(), lm.net.config, expected["input_ids"])
        assert (ref.float() - expected["logits"]).abs().max().item() <= 1e-4


@pytest.mark.parametrize(
    "cfg",
    [
        LLaDAConfig(d_model=48, n_heads=6, n_kv_heads=2, n_layers=3, mlp_hidden_size=96, vocab_size=80,
                    embedding_size=80, include_qkv_bias=True, mask_token_id=79, eos_token_id=1),
        LLaDAConfig(d_model=32, n_heads=2, n_kv_heads=2, n_layers=1, mlp_hidden_size=40, vocab_size=64,
                    embedding_size=64, weight_tying=True, rope_theta=10000.0, mask_token_id=63, eos_token_id=1),
        DreamConfig(hidden_size=48, num_attention_heads=6, num_key_value_heads=3, num_hidden_layers=3,
                    intermediate_size=96, vocab_size=80, mask_token_id=79, eos_token_id=1),
        DreamConfig(hidden_size=32, num_attention_heads=4, num_key_value_heads=1, num_hidden_layers=2,
                    intermediate_size=40, vocab_size=64, tie_word_embeddings=True, mask_token_id=63, eos_token_id=1),
    ],
    ids=["llada-gqa-qkvbias", "llada-tied", "dream-gqa3", "dream-mqa-tied"],
)
def test_parity_other_sizes_against_naive_reference(cfg, tmp_path):
    torch.manual_seed(0)
    net = (LLaDAModelLM if isinstance(cfg, LLaDAConfig) else DreamModel)(cfg)
    _randomise_norms(net)
    net.save_pretrained(tmp_path)
    lm = load_model(tmp_path)  # through the official layout on disk
    ids = torch.randint(0, cfg.vocab_size, (2, 17))
    with torch.no_grad():
        logits = lm.net(ids).logits
    fn = naive_reference.llada_logits if isinstance(cfg, LLaDAConfig) else naive_reference.dream_logits
    ref = fn(lm.net.state_dict(), lm.net.config, ids)
    assert (logits.double() - ref).abs().max().item() <= 1e-4


@pytest.mark.parametrize("name", ["llada_tiny", "dream_tiny"])
def test_save_load_round_trip_identical_logits(fixtures_dir, tmp_path, name):
    lm = load_model(fixtures_dir / name)
    lm.net.save_pretrained(tmp_path)
    keys = set(load_file(str(tmp_path / "model.safetensors")))
    assert keys == set(load_file(str(fixtures_dir / name / "model.safetensors")))  # official names kept
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] in ("llada", "Dream")
    lm2 = load_model(tmp_path)
    ids = load_file(str(fixtures_dir / name / "expected_logits.safetensors"))["input_ids"]
    with torch.no_grad():
        assert torch.equal(lm.net(ids).logits, lm2.net(ids).logits)


def test_auto_classes_pick_native_implementation(fixtures_dir):
    from transformers import AutoConfig, AutoModel

    assert isinstance(AutoConfig.from_pretrained(fixtures_dir / "llada_tiny"), LLaDAConfig)
    assert isinstance(AutoModel.from_pretrained(fixtures_dir / "dream_tiny"), DreamModel)


def _copy_with(fixtures_dir, tmp_path, name, edit):
    dst = tmp_path / name
    shutil.copytree(fixtures_dir / name, dst)
    tensors = load_file(str(dst / "model.safetensors"))
    edit(tensors)
    save_file(tensors, str(dst / "model.safetensors"), metadata={"format": "pt"})
    return dst


def test_missing_tensor_fails_with_one_line_naming_it(fixtures_dir, tmp_path):
    bad = _copy_with(fixtures_dir, tmp_path, "llada_tiny", lambda t: t.pop("model.transformer.blocks.1.up_proj.weight"))
    with pytest.raises(UserError) as err:
        load_model(bad)
    msg = str(err.value)
    assert "model.transformer.blocks.1.up_proj.weight" in msg and "missing" in msg and "\n" not in msg


def test_misshaped_tensor_fails_with_one_line_naming_it(fixtures_dir, tmp_path):
    def edit(t):
        t["model.layers.0.self_attn.k_proj.weight"] = torch.zeros(16, 64)

    bad = _copy_with(fixtures_dir, tmp_path, "dream_tiny", edit)
    with pytest.raises(UserError) as err:
        load_model(bad)
    msg = str(err.value)
    assert "model.layers.0.self_attn.k_proj.weight" in msg and "[16, 64]" in msg and "[32, 64]" in msg


def test_unknown_paths_and_types_fail_clearly(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_model(tmp_path / "nope")
    with pytest.raises(UserError, match="no config.json"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UserError, match="not a supported diffusion LM"):
        load_model(tmp_path)


@pytest.mark.parametrize("which", ["tiny_llada", "tiny_dream"])
def test_token_logprobs_are_aligned_to_tokens(which, request):
    lm = load_model(request.getfixturevalue(which))
    torch.manual_seed(1)
    prompt_len, length = 5, 7
    ids = torch.randint(4, lm.vocab_size, (3, prompt_len + length))
    targets = ids[:, prompt_len:].clone()
    noisy = ids.clone()
    noisy[:, prompt_len + 2 :] = lm.mask_id
    with torch.no_grad():
        logp, ent = lm.token_logprobs(noisy, targets, prompt_len, return_entropy=True, chunk=3)
        raw = lm.net(noisy).logits.float()
    shift = 1 if lm.family == "dream" else 0
    direct = torch.log_softmax(raw, -1)
    for j in range(length):
        # token at absolute position P+j is scored by the logit at P+j (LLaDA) or P+j-1 (Dream)
        want = direct[torch.arange(3), prompt_len + j - shift, targets[:, j]]
        assert torch.allclose(logp[:, j], want, atol=1e-5)
    p = direct.exp()
    want_ent = -(p * direct.nan_to_num(neginf=0.0)).sum(-1)[:, prompt_len - shift : prompt_len - shift + length]
    assert torch.allclose(ent, want_ent, atol=1e-4)
    assert torch.all(logp <= 0)


def test_dream_first_completion_token_uses_last_prompt_logit(tiny_dream):
    lm = load_model(tiny_dream)
    torch.manual_seed(3)
    with torch.no_grad():  # a freshly initialised model is nearly uniform; make positions differ
        for p in lm.net.parameters():
            p.normal_(0.0, 0.3)
    ids = torch.randint(4, lm.vocab_size, (1, 9))
    with torch.no_grad():
        raw = lm.net(ids).logits.float()
        logp, _ = lm.token_logprobs(ids, ids[:, 6:], 6)
    assert torch.allclose(logp[0, 0], torch.log_softmax(raw[0, 5], -1)[ids[0, 6]], atol=1e-6)
    assert not torch.allclose(logp[0, 0], torch.log_softmax(raw[0, 6], -1)[ids[0, 6]], atol=1e-3)
    al = lm.aligned_logits(ids)
    assert torch.allclose(al[0, 6], raw[0, 5])


@pytest.mark.parametrize("which", ["tiny_llada", "tiny_dream"])
def test_prefix_cache_forward_equals_full_forward(which, request):
    lm = load_model(request.getfixturevalue(which))
    torch.manual_seed(2)
    ids = torch.randint(4, lm.vocab_size, (2, 20))
    mask = torch.ones_like(ids)
    mask[1, :4] = 0  # row 1 is left-padded
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    s = 11
    with torch.no_grad():
        full = lm.net(ids, attention_mask=mask, position_ids=pos, use_cache=True)
        prefix = slice_cache(full.cache, s)
        suffix = lm.net(ids[:, s:], attention_mask=mask, position_ids=pos[:, s:], cache=prefix)
    assert (suffix.logits - full.logits[:, s:]).abs().max().item() <= 1e-5


@pytest.mark.parametrize("which", ["tiny_llada", "tiny_dream"])
def test_left_padding_with_mask_and_positions_does_not_change_logits(which, request):
    lm = load_model(request.getfixturevalue(which))
    ids = torch.randint(4, lm.vocab_size, (1, 10))
    padded = torch.cat((torch.full((1, 5), lm.pad_id), ids), dim=1)
    mask = torch.cat((torch.zeros(1, 5, dtype=torch.long), torch.ones(1, 10, dtype=torch.long)), dim=1)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        alone = lm.net(ids).logits
        inside = lm.net(padded, attention_mask=mask, position_ids=pos).logits[:, 5:]
    assert (alone - inside).abs().max().item() <= 1e-5


@pytest.mark.parametrize("dtype", ["float32", "bf16"])
def test_dtypes_load_and_two_layer_forward_backward(tiny_llada, dtype):
    lm = load_model(tiny_llada, dtype=dtype)
    assert lm.dtype == (torch.float32 if dtype == "float32" else torch.bfloat16)
    lm.net.train()
    ids = torch.randint(4, lm.vocab_size, (2, 12))
    logp, _ = lm.token_logprobs(ids, ids[:, 4:], 4)
    (-logp.mean()).backward()
    grads = [p.grad for p in lm.net.parameters()]
    assert all(g is not None and torch.isfinite(g.float()).all() for g in grads)
    assert sum(float(g.float().abs().sum()) for g in grads) > 0


def test_gradient_checkpointing_gives_same_gradients(tiny_dream):
    lm = load_model(tiny_dream)
    ids = torch.randint(4, lm.vocab_size, (2, 12))

    def grads():
        lm.net.zero_grad()
        logp, _ = lm.token_logprobs(ids, ids[:, 4:], 4)
        (-logp.sum()).backward()
        return [p.grad.clone() for p in lm.net.parameters()]

    lm.net.train()
    plain = grads()
    from harness.models.base import enable_activation_checkpointing

    enable_activation_checkpointing(lm.net)
    ckpt = grads()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain, ckpt))


def test_cli_model_info_on_both_fixtures(fixtures_dir, capsys):
    from harness.cli import main

    for name, family in (("llada_tiny", "llada"), ("dream_tiny", "dream")):
        assert main(["model", "info", str(fixtures_dir / name), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["family"] == family and info["mask_id"] == 511 and info["vocab_size"] == 512
        assert info["parameters"] > 100_000
    assert main(["model", "info", str(fixtures_dir / "missing")]) == 2
    assert "not found" in capsys.readouterr().err
