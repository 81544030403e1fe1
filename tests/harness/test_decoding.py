"""Decoder properties on tiny models of both families (see harness/decoding/engine.py)."""

from __future__ import annotations

import pytest
import torch

from harness.decoding import SamplerConfig, decode
from harness.models import load_model
from harness.models.tiny import make_tiny_checkpoint

PROMPTS = ["12+3*4=", "a longer prompt, with words", "x", "7*7-1="]


def _sharpen(lm, seed=0, std=0.3):
    """Freshly initialised weights give near-uniform, tie-prone predictions; spread them out."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in lm.net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std + (1.0 if p.dim() == 1 else 0.0))
    return lm


@pytest.fixture(scope="module", params=["llada", "dream"])
def lm(request, tmp_path_factory):
    path = make_tiny_checkpoint(tmp_path_factory.mktemp(request.param), request.param, seed=1, n_kv_heads=2)
    return _sharpen(load_model(path))


@pytest.fixture(scope="module", params=["llada", "dream"])
def lm_one_layer(request, tmp_path_factory):
    path = make_tiny_checkpoint(tmp_path_factory.mktemp("one"), request.param, seed=2, n_layers=1)
    return _sharpen(load_model(path), seed=5)


CONFIGS = [
    SamplerConfig(gen_length=16, block_length=8, steps=8, remasking="static"),
    SamplerConfig(gen_length=16, block_length=8, steps=6, remasking="static", score="margin"),
    SamplerConfig(gen_length=16, block_length=16, steps=16, remasking="threshold", threshold=0.5),
    SamplerConfig(gen_length=24, block_length=8, steps=24, remasking="threshold", threshold=0.3, cache="prefix"),
    SamplerConfig(gen_length=24, block_length=8, steps=24, threshold=0.3, cache="prefix", cache_refresh=2),
    SamplerConfig(gen_length=16, block_length=4, steps=8, remasking="threshold", score="neg_entropy", threshold=0.4),
    SamplerConfig(gen_length=16, block_length=8, steps=16, remasking="static", temperature=1.0, top_p=0.9, seed=3),
    SamplerConfig(gen_length=24, block_length=8, steps=24, threshold=0.3, cache="dual"),
    SamplerConfig(gen_length=16, block_length=8, steps=16, threshold=0.3, cfg_scale=1.0),
    SamplerConfig(gen_length=16, block_length=16, steps=8, remasking="dream", temperature=0.5, top_k=10, seed=2),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.remasking}-{c.score}-b{c.block_length}-{c.cache}")
def test_every_position_committed_once_and_prompt_untouched(lm, cfg):
    g = decode(lm, PROMPTS, cfg)
    assert g.completion_ids.shape == (len(PROMPTS), cfg.gen_length)
    assert not (g.completion_ids == lm.mask_id).any()
    assert (g.step_map >= 0).all()
    assert (g.step_map < g.nfe[:, None]).all()
    assert (g.token_probs > 0).all() and (g.token_probs <= 1 + 1e-6).all()
    for i, p in enumerate(PROMPTS):
        assert g.prompt_ids[i] == lm.tokenizer(p, add_special_tokens=False)["input_ids"]
        # the row's steps are exactly 0..T-1, each committing something, inside one block at a time
        steps = g.step_map[i]
        assert sorted(set(steps.tolist())) == list(range(int(steps.max()) + 1))
        blocks = torch.arange(cfg.gen_length) // cfg.block_length
        for s in steps.unique():
            assert blocks[steps == s].unique().numel() == 1
        # blocks are decoded left to right
        first = [int(steps[blocks == b].min()) for b in range(cfg.num_blocks)]
        assert first == sorted(first)


def test_static_mode_commits_exactly_the_scheduled_counts(lm):
    cfg = SamplerConfig(gen_length=20, block_length=10, steps=8, remasking="static")
    assert cfg.static_schedule(0) == [3, 3, 2, 2]  # 10 tokens over 4 steps, remainder first
    g = decode(lm, PROMPTS, cfg)
    for i in range(len(PROMPTS)):
        counts = torch.bincount(g.step_map[i], minlength=8).tolist()
        assert counts == [3, 3, 2, 2, 3, 3, 2, 2]
    assert g.nfe.tolist() == [8] * len(PROMPTS)


def test_threshold_mode_commits_at_least_one_and_never_below_threshold_except_fallback(lm):
    cfg = SamplerConfig(gen_length=16, block_length=8, steps=16, remasking="threshold", threshold=0.6)
    g = decode(lm, PROMPTS, cfg)
    for i in range(len(PROMPTS)):
        steps, probs = g.step_map[i], g.token_probs[i]
        for s in range(int(g.nfe[i])):
            at = steps == s
            assert at.sum() >= 1
            below = probs[at] < 0.6
            if below.any():  # only the per-row fallback: a single position, the step's best
                assert at.sum() == 1
    assert (g.tokens_per_forward() >= 1.0)


def test_greedy_is_deterministic_and_seed_reproduces_sampling(lm):
    greedy = SamplerConfig(gen_length=16, block_length=8, steps=16, remasking="threshold", threshold=0.4)
    a, b = decode(lm, PROMPTS, greedy), decode(lm, PROMPTS, greedy)
    assert torch.equal(a.completion_ids, b.completion_ids) and torch.equal(a.step_map, b.step_map)
    samp = SamplerConfig(gen_length=16, block_length=8, steps=16, temperature=1.0, seed=11)
    c, d = decode(lm, PROMPTS, samp), decode(lm, PROMPTS, samp)
    assert torch.equal(c.completion_ids, d.completion_ids) and torch.equal(c.token_probs, d.token_probs)
    e = decode(lm, PROMPTS, SamplerConfig(gen_length=16, block_length=8, steps=16, temperature=1.0, seed=12))
    assert not torch.equal(c.completion_ids, e.completion_ids)


@pytest.mark.parametrize("cache", ["none", "prefix", "dual"])
def test_batch_invariance_greedy(lm, cache):
    cfg = SamplerConfig(gen_length=16, block_length=8, steps=16, threshold=0.5, cache=cache)
    batch = decode(lm, PROMPTS, cfg)
    for i, p in enumerate(PROMPTS):
        alone = decode(lm, [p], cfg)
        assert torch.equal(alone.completion_ids[0], batch.completion_ids[i]), p
        assert torch.equal(alone.step_map[0], batch.step_map[i])
        assert alone.nfe[0] == batch.nfe[i]


def test_sampling_does_not_depend_on_batch_mates_given_row_seeds(lm):
    cfg = SamplerConfig(gen_length=16, block_length=8, steps=16, temperature=1.0, threshold=0.3)
    batch = decode(lm, PROMPTS, cfg, row_seeds=[10, 11, 12, 13])
    assert len(set(batch.nfe.tolist())) > 1  # rows finish blocks at different times, so some idle
    for i in range(len(PROMPTS)):
        alone = decode(lm, [PROMPTS[i]], cfg, row_seeds=[10 + i])
        assert torch.equal(alone.completion_ids[0], batch.completion_ids[i])
        assert torch.allclose(alone.token_probs[0], batch.token_probs[i], atol=1e-5)


@pytest.mark.parametrize("block", [24, 8])
def test_cache_is_exact_when_prefix_keys_cannot_be_stale(lm_one_layer, block):
    """With one layer, a position's keys/values depend only on its own token, so the cached
    prefix is exactly what a fresh forward computes: cached decoding must equal uncached
    decoding token for token (this checks the cache's windows, masks, positions, alignment)."""
    base = dict(gen_length=24, block_length=block, steps=24, threshold=0.3)
    plain = decode(lm_one_layer, PROMPTS, SamplerConfig(**base))
    cached = decode(lm_one_layer, PROMPTS, SamplerConfig(**base, cache="prefix"))
    assert torch.equal(plain.completion_ids, cached.completion_ids)
    assert torch.equal(plain.step_map, cached.step_map)
    assert torch.allclose(plain.token_probs, cached.token_probs, atol=1e-5)


def test_cache_refreshed_every_forward_equals_uncached(lm):
    """``cache_refresh=1`` rebuilds the prefix cache at every forward, so nothing is ever stale:
    a multi-layer model, several blocks and a padded batch must decode exactly as uncached."""
    base = dict(gen_length=24, block_length=8, steps=24, threshold=0.3)
    plain = decode(lm, PROMPTS, SamplerConfig(**base))
    refreshed = decode(lm, PROMPTS, SamplerConfig(**base, cache="prefix", cache_refresh=1))
    assert torch.equal(plain.completion_ids, refreshed.completion_ids)
    assert torch.equal(plain.step_map, refreshed.step_map)
    assert torch.equal(plain.nfe, refreshed.nfe)
    assert torch.allclose(plain.token_probs, refreshed.token_probs, atol=1e-5)


def _replay_probs(lm, g, row, cfg):
    """Recompute each committed token's probability from the model at its recorded step:
    x_t keeps the prompt and every completion token committed before step t, masks the rest."""
    prompt = torch.tensor(g.prompt_ids[row])
    comp = g.completion_ids[row]
    out = torch.zeros(cfg.gen_length)
    for t in range(int(g.nfe[row])):
        noisy = torch.where(g.step_map[row] >= t, torch.full_like(comp, lm.mask_id), comp)
        ids = torch.cat((prompt, noisy))[None]
        logits = lm.aligned_logits(ids)[0, len(prompt):].float()
        from harness.decoding.sampling import filter_logits

        tempered = logits / cfg.temperature if cfg.temperature > 0 else logits
        q = torch.softmax(filter_logits(tempered, cfg.top_k, cfg.top_p), -1)  # temperature, then top-p
        at = g.step_map[row] == t
        out[at] = q[at].gather(-1, comp[at][:, None]).squeeze(-1)
    return out


@pytest.mark.parametrize(
    "cfg",
    [
        SamplerConfig(gen_length=16, block_length=8, steps=16, threshold=0.4),
        SamplerConfig(gen_length=16, block_length=8, steps=8, remasking="static", temperature=0.8, top_p=0.9, seed=4),
        SamplerConfig(gen_length=16, block_length=16, steps=8, remasking="dream"),
    ],
    ids=["greedy-threshold", "sampled-static", "dream"],
)
def test_token_probs_match_replayed_trajectory(lm, cfg):
    """token_probs are full-vocabulary probabilities (mask token in the softmax, as the official
    decoders score), replayed from the model at each position's recorded step."""
    g = decode(lm, PROMPTS[:2], cfg)
    with torch.no_grad():
        for row in range(2):
            assert torch.allclose(_replay_probs(lm, g, row, cfg), g.token_probs[row], atol=1e-5)


def test_stop_at_eos_fills_after_stop_and_saves_forwards(lm):
    # Force EOS everywhere with a hook on the logits: the first committed token is EOS, so the
    # rest of the row is filler and needs no more forwards.
    cfg = SamplerConfig(gen_length=16, block_length=4, steps=16, threshold=0.9, stop_at_eos=True)
    bias = torch.zeros(lm.vocab_size)
    bias[lm.eos_id] = 50.0
    with torch.no_grad():
        handle = lm.net.register_forward_hook(lambda m, i, o: o.__setitem__("logits", o["logits"] + bias))
        try:
            g = decode(lm, PROMPTS, cfg)
            full = decode(lm, PROMPTS, SamplerConfig(gen_length=16, block_length=4, steps=16, threshold=0.9))
        finally:
            handle.remove()
    assert (g.completion_ids == lm.eos_id).all()  # everything EOS/PAD (pad == eos here)
    assert (g.gen_tokens == 0).all() and g.text == [""] * len(PROMPTS)
    assert (g.nfe < full.nfe).all()
    assert (g.step_map < g.nfe[:, None]).all()


def test_invalid_configs_are_refused_with_what_to_set():
    with pytest.raises(ValueError, match="block_length.*divide gen_length"):
        SamplerConfig(gen_length=100, block_length=32)
    with pytest.raises(ValueError, match="steps.*at least one step per block"):
        SamplerConfig(gen_length=64, block_length=8, steps=4)
    with pytest.raises(ValueError, match=r"threshold.*\(0, 1\]"):
        SamplerConfig(threshold=1.5)
    with pytest.raises(ValueError, match="remasking"):
        SamplerConfig(remasking="dynamic")
    with pytest.raises(ValueError, match="score"):
        SamplerConfig(score="entropy")
    with pytest.raises(ValueError, match="temperature"):
        SamplerConfig(temperature=-1)
    with pytest.raises(ValueError, match="cache_refresh.*cache='prefix'"):
        SamplerConfig(cache_refresh=2)
    with pytest.raises(ValueError, match="cache_refresh.*positive count"):
        SamplerConfig(cache="prefix", cache_refresh=-1)
    with pytest.raises(ValueError, match="cache_refresh.*positive count"):
        SamplerConfig(cache="prefix", cache_refresh=True)  # a YAML "true" is not a count


def test_cli_generate_prints_completion_and_speed(tiny_llada, capsys):
    from harness.cli import main

    rc = main(["generate", "--model", str(tiny_llada), "--prompt", "1+1=", "--gen-length", "8",
               "--block-length", "4", "--steps", "8", "--remasking", "static", "--trace"])
    out = capsys.readouterr().out
    assert rc == 0 and "nfe=8" in out and "tokens/forward=1.00" in out
    assert "  0 " in out and "·" in out  # trace rows, masks shown as dots
    assert main(["generate", "--model", str(tiny_llada), "--prompt", "x", "--gen-length", "10",
                 "--block-length", "4"]) == 2
    assert "block_length" in capsys.readouterr().err


def test_temperature_applies_before_top_p():
    # p = [0.5, 0.3, 0.2]; at T = 0.5 the tempered distribution is [0.658, 0.237, 0.105], whose 0.6
    # nucleus is the first token alone (filtering first would keep two tokens: q = [0.735, 0.265])
    from harness.decoding.sampling import sample_tokens

    logits = torch.log(torch.tensor([[[0.5, 0.3, 0.2]]]))
    gens = [torch.Generator().manual_seed(0)]
    tokens, probs, _ = sample_tokens(logits, 0.5, 0, 0.6, "confidence", gens)
    assert tokens.item() == 0 and probs.item() == pytest.approx(1.0)
    _, probs, _ = sample_tokens(logits, 0.5, 0, 1.0, "confidence", gens)
    assert probs.item() in (pytest.approx(0.25 / 0.38, abs=1e-4), pytest.approx(0.09 / 0.38, abs=1e-4),
                            pytest.approx(0.04 / 0.38, abs=1e-4))


def test_trace_refuses_several_batches(lm):
    with pytest.raises(ValueError, match="batch_size"):
        decode(lm, PROMPTS[:3], SamplerConfig(gen_length=8, block_length=8, steps=8), batch_size=2, trace=True)


# --- full-vocabulary scores, Dream's sampler, dual cache, guidance (issue 14) ---

DREAM_CONFIGS = [
    SamplerConfig(gen_length=16, block_length=16, steps=16, remasking="dream", score="confidence"),
    SamplerConfig(gen_length=16, block_length=16, steps=8, remasking="dream", score="margin"),
    SamplerConfig(gen_length=16, block_length=16, steps=4, remasking="dream", score="neg_entropy"),
    SamplerConfig(gen_length=16, block_length=16, steps=8, remasking="dream", score="random", seed=5),
    SamplerConfig(gen_length=16, block_length=16, steps=8, remasking="dream", alg_temp=0.5, temperature=0.7,
                  top_p=0.9, top_k=20, seed=6),
]


def _dream_counts(gen: int, steps: int) -> list[int]:
    from harness.decoding.dream import transfer_count

    ts = torch.linspace(1, 1e-3, steps + 1)
    left, out = gen, []
    for i in range(steps):
        k = transfer_count(left, ts[i], ts[i + 1], i == steps - 1)
        out.append(k)
        left -= k
    return out


def test_dream_transfer_counts_follow_its_timestep_schedule():
    # hand-derived from Dream's _sample (k = int(n * (1 - s/t)), n recounted, rest at the end)
    assert _dream_counts(32, 32) == [0] + [1] * 30 + [2]
    assert _dream_counts(32, 16) == [1] + [2] * 14 + [3]
    assert _dream_counts(32, 8) == [3] + [4] * 6 + [5]


@pytest.mark.parametrize("cfg", DREAM_CONFIGS, ids=lambda c: f"dream-{c.score}-s{c.steps}-at{c.alg_temp}")
def test_dream_mode_commits_everything_batch_invariantly(lm, cfg):
    g = decode(lm, PROMPTS, cfg)
    assert not (g.completion_ids == lm.mask_id).any() and (g.step_map >= 0).all()
    assert (g.nfe <= cfg.steps).all() and (g.token_probs > 0).all()
    for i, p in enumerate(PROMPTS):
        alone = decode(lm, [p], cfg, row_seeds=[int(s) for s in _row_seeds(cfg, i)])
        assert torch.equal(alone.completion_ids[0], g.completion_ids[i]), p
        assert torch.equal(alone.step_map[0], g.step_map[i])


def _row_seeds(cfg, i):
    from harness.seeds import batch_row_seeds

    return batch_row_seeds(cfg.seed, len(PROMPTS))[i : i + 1]


def test_dream_greedy_commits_the_scheduled_counts(lm):
    cfg = SamplerConfig(gen_length=32, block_length=32, steps=8, remasking="dream")
    g = decode(lm, PROMPTS, cfg)
    counts = [c for c in _dream_counts(32, 8) if c]
    for row in range(len(PROMPTS)):
        assert torch.bincount(g.step_map[row]).tolist() == counts


def test_mask_token_is_scored_but_never_committed(lm):
    """A mask-token logit far above the rest: the softmax keeps it (so every committed token's
    probability is tiny), but the decoder commits the best other token, in every mode."""
    bias = torch.zeros(lm.vocab_size)
    bias[lm.mask_id] = 30.0
    handle = lm.net.register_forward_hook(lambda m, i, o: o.__setitem__("logits", o["logits"] + bias))
    try:
        for cfg in (SamplerConfig(gen_length=8, block_length=8, steps=8, remasking="static"),
                    SamplerConfig(gen_length=8, block_length=8, steps=4, remasking="dream"),
                    SamplerConfig(gen_length=8, block_length=8, steps=8, temperature=1.0, seed=1)):
            g = decode(lm, PROMPTS, cfg)
            assert not (g.completion_ids == lm.mask_id).any()
            assert (g.token_probs < 1e-6).all()
    finally:
        handle.remove()


@pytest.mark.parametrize("block", [24, 8])
def test_dual_cache_is_exact_when_cached_keys_cannot_be_stale(lm_one_layer, block):
    """One layer: a position's keys depend only on its token, and the suffix after the block is
    still masked at the block's first forward, so the dual cache must decode as uncached."""
    base = dict(gen_length=24, block_length=block, steps=24, threshold=0.3)
    plain = decode(lm_one_layer, PROMPTS, SamplerConfig(**base))
    dual = decode(lm_one_layer, PROMPTS, SamplerConfig(**base, cache="dual"))
    assert torch.equal(plain.completion_ids, dual.completion_ids)
    assert torch.equal(plain.step_map, dual.step_map)


def test_guidance_combines_conditional_and_prompt_masked_logits(lm):
    """cfg_scale: logits = un + (s + 1)(cond - un), un from the prompt-masked copy (LLaDA)."""
    from harness.decoding.engine import _start

    cfg = SamplerConfig(gen_length=8, block_length=8, steps=8, cfg_scale=2.0)
    batch = _start(lm, [[5, 6, 7]], cfg, None)
    s, e = batch.plen, batch.plen + 8
    shift = lm.logit_shift
    with torch.no_grad():
        got = lm.guided_logits(batch.x, s, cfg.cfg_scale, logits_range=(s - shift, e - shift))
        cond = lm.forward(batch.x, logits_range=(s - shift, e - shift)).logits
        un_x = batch.x.clone()
        un_x[:, :s] = lm.mask_id
        un = lm.forward(un_x, logits_range=(s - shift, e - shift)).logits
    assert torch.allclose(got, un + 3.0 * (cond - un), atol=1e-5)
    assert not torch.allclose(got, cond, atol=1e-3)
    g = decode(lm, PROMPTS, cfg)
    assert not (g.completion_ids == lm.mask_id).any()


def test_sampler_settings_of_the_new_modes_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="block_length.*remasking='dream' decodes one block"):
        SamplerConfig(gen_length=32, block_length=8, remasking="dream")
    with pytest.raises(ValueError, match=r"eps.*\(0, 1\)"):
        SamplerConfig(gen_length=32, block_length=32, remasking="dream", eps=1.0)
    with pytest.raises(ValueError, match="alg_temp.*positive temperature"):
        SamplerConfig(gen_length=32, block_length=32, remasking="dream", alg_temp=-0.1)
    with pytest.raises(ValueError, match="score.*maskgit_plus"):
        SamplerConfig(gen_length=32, block_length=32, remasking="dream", score="entropy")
    with pytest.raises(ValueError, match="cache_refresh.*cache='prefix'"):
        SamplerConfig(cache="dual", cache_refresh=2)
    with pytest.raises(ValueError, match="cache.*none, prefix, dual"):
        SamplerConfig(cache="suffix")
    with pytest.raises(ValueError, match="cfg_scale.*without a KV cache"):
        SamplerConfig(cache="prefix", cfg_scale=1.0)
    with pytest.raises(ValueError, match="stop_at_eos.*remasking='dream'"):
        SamplerConfig(gen_length=32, block_length=32, remasking="dream", stop_at_eos=True)


def test_old_use_cache_key_still_loads_and_hashes_as_before():
    from harness.config_io import build
    from harness.errors import UserError

    assert build(SamplerConfig, {"use_cache": True}).cache == "prefix"
    assert build(SamplerConfig, {"use_cache": False}).cache == "none"
    with pytest.raises(UserError, match="use_cache=True contradicts cache='none'"):
        build(SamplerConfig, {"use_cache": True, "cache": "none"})
