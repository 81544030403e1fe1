"""The lm-eval backend: simple_evaluate offline on local tasks, generation limits, MC ELBO."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from harness.likelihood import (
    elbo_loglikelihood,
    mask_counts,
    rolling_windows,
    seeded_generator,
    suffix_greedy,
)
from harness.models import load_model

lm_eval = pytest.importorskip("lm_eval")
ROOT = Path(__file__).resolve().parents[2]
TASKS_DIR = Path(__file__).parent / "lm_eval_tasks"


@pytest.fixture(scope="module")
def lm(tiny_llada):
    return load_model(tiny_llada)


@pytest.fixture(scope="module")
def backend(lm):
    from harness.lm_eval_backend import RldfLM

    return RldfLM(lm=lm, protocol="rldf-tiny", mc_num=8, mc_batch=4, batch_size=3)


def _req(*args):
    return SimpleNamespace(args=args)


def test_simple_evaluate_runs_local_offline_tasks(backend):
    from lm_eval.tasks import TaskManager

    tm = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    res = lm_eval.simple_evaluate(
        model=backend, tasks=["rldf_tiny_gen", "rldf_tiny_mc", "rldf_tiny_ppl"], task_manager=tm, bootstrap_iters=0,
        log_samples=True,
    )
    assert set(res["results"]) == {"rldf_tiny_gen", "rldf_tiny_mc", "rldf_tiny_ppl"}
    assert 0.0 <= res["results"]["rldf_tiny_mc"]["acc,none"] <= 1.0
    assert res["results"]["rldf_tiny_ppl"]["word_perplexity,none"] > 1.0
    gen = res["samples"]["rldf_tiny_gen"]
    assert len(gen) == 4 and all(len(s["resps"][0][0]) <= 20 and "\n" not in s["resps"][0][0] for s in gen)


def test_the_backend_is_registered_without_hiding_lm_evals_own_models():
    from lm_eval.api.registry import get_model

    from harness.lm_eval_backend import RldfLM

    assert get_model("rldf") is RldfLM
    assert get_model("dummy").__name__ == "DummyLM"


def test_generate_until_honours_max_gen_toks_and_until(backend):
    free = backend.generate_until([_req("Q: 2+3 A:", {"max_gen_toks": 32})])[0]
    assert len(free) > 6, "a character model with 32 tokens writes more than 6 characters here"
    short = backend.generate_until([_req("Q: 2+3 A:", {"max_gen_toks": 5})])[0]
    assert short == free[:5]  # gen_length is rounded up to the 32-token block, the text cut to 5 tokens
    stop = free[3]
    cut = backend.generate_until([_req("Q: 2+3 A:", {"max_gen_toks": 32, "until": [stop, "zzz"]})])[0]
    assert cut == free[: free.index(stop)]
    cfg, max_gen = backend._sampler({"max_gen_toks": 40})
    assert (cfg.gen_length, cfg.steps, max_gen) == (64, 64, 40)  # 2 blocks, steps scale with length


def test_sampling_requests_differ_across_repeats_and_are_reproducible(backend):
    kw = {"max_gen_toks": 16, "do_sample": True, "temperature": 1.0}
    reqs = [_req("Q: 1+1 A:", kw) for _ in range(3)]
    first, second = backend.generate_until(reqs), backend.generate_until(reqs)
    assert first == second and len(set(first)) > 1


def test_elbo_of_one_token_is_its_exact_log_probability(lm):
    prefix = lm.tokenizer("Q: 4*2 A:", add_special_tokens=False)["input_ids"]
    target = lm.tokenizer("8", add_special_tokens=False)["input_ids"]
    x = torch.tensor([prefix + [lm.mask_id]])
    with torch.no_grad():  # full vocabulary, the mask token included, as LLaDA's cross-entropy
        exact = float(torch.log_softmax(lm.forward(x).logits[0, -1].float(), -1)[target[0]])
    assert elbo_loglikelihood(lm, prefix, target, mc_num=8, mc_batch=4) == pytest.approx(exact, abs=1e-5)


def test_elbo_weights_l_masked_tokens_by_length_over_l(lm):
    prefix = lm.tokenizer("Q: 1+2 A:", add_special_tokens=False)["input_ids"]
    y = lm.tokenizer("3!", add_special_tokens=False)["input_ids"]
    m = lm.mask_id

    @torch.no_grad()
    def lp(seq, pos):
        logits = lm.forward(torch.tensor([prefix + seq])).logits[0, len(prefix) + pos].float()
        return float(torch.log_softmax(logits, -1)[y[pos]])

    both = lp([m, m], 0) + lp([m, m], 1)  # l = 2: weight 2/2
    one = [2.0 * lp([m, y[1]], 0), 2.0 * lp([y[0], m], 1)]  # l = 1: weight 2/1, either position
    # mc_batch=2 stratifies l over {1, 2}: the estimate is the mean of one l=1 and one l=2 draw
    est = elbo_loglikelihood(lm, prefix, y, mc_num=2, mc_batch=2, generator=torch.Generator().manual_seed(7))
    assert any(est == pytest.approx((o + both) / 2, abs=1e-5) for o in one)


def test_mask_counts_are_stratified():
    g = torch.Generator().manual_seed(0)
    assert sorted(mask_counts(4, 4, g).tolist()) == [1, 2, 3, 4]
    counts = mask_counts(10, 4, g)
    assert counts.min() >= 1 and counts.max() <= 10 and len(set(counts.tolist())) == 4


def test_loglikelihood_is_seeded_and_is_greedy_checks_the_greedy_suffix(backend, lm):
    ctx = "Q: 9-4 A:"
    prefix = backend._prefix(backend.tok_encode(ctx))
    greedy_text = lm.tokenizer.decode(suffix_greedy(lm, prefix, 3))
    (lp1, g1), (lp2, g2), (lp3, _) = backend.loglikelihood([_req(ctx, greedy_text), _req(ctx, "zq~"), _req(ctx, greedy_text)])
    assert g1 is True and g2 is False
    assert lp1 == lp3 and lp1 < 0 and lp2 < 0


def test_rolling_windows_score_every_token_once():
    assert rolling_windows(5, 8) == [(0, 1, 5)]
    assert rolling_windows(10, 4) == [(0, 1, 3), (1, 3, 5), (3, 5, 7), (5, 7, 9), (6, 9, 10)]
    assert rolling_windows(1, 4) == []
    assert rolling_windows(3, 8, first=0) == [(0, 0, 3)]
    assert rolling_windows(5, 4, first=0) == [(0, 0, 2), (0, 2, 4), (1, 4, 5)]


def test_loglikelihood_rolling_scores_every_token_of_llada_text(backend, lm):
    (value,) = backend.loglikelihood_rolling([_req("12+3=15")])
    ids = lm.tokenizer("12+3=15")["input_ids"]
    g = seeded_generator(backend.seed, "rolling", "12+3=15", 0)
    assert value == elbo_loglikelihood(lm, [], ids, mc_num=8, mc_batch=4, generator=g) < 0


def test_loglikelihood_rolling_with_add_bos_is_the_elbo_after_bos(lm):
    from harness.lm_eval_backend import RldfLM

    (value,) = RldfLM(lm=lm, protocol="rldf-tiny", mc_num=8, mc_batch=4, add_bos=True).loglikelihood_rolling([_req("1+3")])
    g = seeded_generator(0, "rolling", "1+3", 1)
    ids = lm.tokenizer("1+3")["input_ids"]
    assert value == elbo_loglikelihood(lm, [lm.bos_id], ids, mc_num=8, mc_batch=4, generator=g) < 0


def test_importing_the_harness_never_imports_lm_eval():
    """Only harness/lm_eval_backend.py imports lm_eval at module level (lm-eval is optional)."""
    offenders = []
    for path in (ROOT / "harness").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only; imports inside functions are lazy
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            if any(n == "lm_eval" or n.startswith("lm_eval.") or n == "harness.lm_eval_backend" for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert sorted(set(offenders)) == ["harness/lm_eval_backend.py"]


@pytest.mark.slow
def test_the_rldf_cli_route_runs_lm_evals_own_command(tiny_llada, tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "harness.cli", "lm-eval", "run", "--model", "rldf", "--model_args",
           f"pretrained={tiny_llada},protocol=rldf-tiny,mc_num=4,mc_batch=4", "--tasks", "rldf_tiny_gen,rldf_tiny_mc",
           "--include_path", str(TASKS_DIR), "--limit", "2", "--output_path", str(tmp_path)]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rldf_tiny_gen" in done.stdout and "rldf_tiny_mc" in done.stdout
    assert list(tmp_path.rglob("results_*.json"))
