"""lm-eval backend settings: mc_num/mc_batch/batch_size, cfg, the README's LLaDA presets, the CLI route."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.errors import UserError
from harness.protocols import load_protocol

lm_eval = pytest.importorskip("lm_eval")
ROOT = Path(__file__).resolve().parents[2]
TASKS_DIR = Path(__file__).parent / "lm_eval_tasks"

# LLaDA's eval_llada_lm_eval.sh, likelihood rows: task -> (num_fewshot, --batch_size, cfg, mc_num)
LLADA_SCRIPT = {
    "gpqa_main_n_shot": (5, 8, 0.5, 128),
    "truthfulqa_mc2": (0, 8, 2.0, 128),
    "arc_challenge": (0, 8, 0.5, 128),
    "hellaswag": (0, 8, 0.5, 128),
    "winogrande": (5, 8, 0.0, 128),
    "piqa": (0, 8, 0.5, 128),
    "mmlu": (5, 1, 0.0, 1),
    "cmmlu": (5, 1, 0.0, 1),
    "ceval-valid": (5, 1, 0.0, 1),
}


@pytest.fixture(scope="module")
def tiny():
    from harness.models import load_model

    return load_model("rldf-tiny", device="cpu", dtype="float32")


def _backend(tiny, **kw):
    from harness.lm_eval_backend import RldfLM

    return RldfLM(lm=tiny, protocol="rldf-tiny", **kw)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"mc_num": 128, "batch_size": 8}, (128, 8)),  # LLaDA's likelihood command lines
        ({"mc_num": 1, "batch_size": 1}, (1, 1)),  # LLaDA's MMLU/CMMLU/C-Eval
        ({"mc_num": 1, "batch_size": 8}, (1, 1)),
        ({"mc_num": 128}, (128, 1)),  # lm-eval's default --batch_size 1, as eval_llada.py gets it
        ({"mc_num": 128, "batch_size": "auto"}, (128, 32)),
        ({"mc_num": 12, "batch_size": 5, "mc_batch": 4}, (12, 4)),
    ],
)
def test_monte_carlo_batch_follows_llada_batch_size(tiny, kw, expected):
    b = _backend(tiny, **kw)
    assert (b.mc_num, b.mc_batch) == expected


@pytest.mark.parametrize(
    ("kw", "names"),
    [
        ({"mc_num": 128, "mc_batch": 3}, "mc_batch=3"),
        ({"mc_num": 1, "mc_batch": 32}, "mc_batch=32"),
        ({"mc_num": 128, "batch_size": 3}, "mc_num=128"),
        ({"mc_num": 0}, "mc_num=0"),
        ({"cfg": -1.0}, "cfg=-1.0"),
    ],
)
def test_impossible_settings_are_refused_in_one_line(tiny, kw, names):
    with pytest.raises(UserError) as err:
        _backend(tiny, **kw)
    assert names in str(err.value) and "\n" not in str(err.value)


def test_cfg_guides_generation_through_the_sampler(tiny):
    """eval_llada.py passes its cfg to generate(): the sampler's cfg_scale; a cached protocol is refused."""
    guided = _backend(tiny, cfg=0.5)
    sampler, _ = guided._sampler({"max_gen_toks": 8})
    assert sampler.cfg_scale == 0.5
    out = guided.generate_until([SimpleNamespace(args=("Q: 1+1 A:", {"max_gen_toks": 8}))])
    assert len(out) == 1 and isinstance(out[0], str)
    cached = _backend(tiny, cfg=0.5)
    cached.protocol = load_protocol("rldf-greedy-128")
    with pytest.raises(UserError, match="cfg_scale.*without a KV cache"):
        cached._sampler({"max_gen_toks": 8})


def test_cfg_changes_the_estimate_and_zero_is_unguided(tiny):
    req = [SimpleNamespace(args=("Q: 2+3+1+1 A: 2+3 =", " 5"))]
    plain, zero = _backend(tiny, mc_num=4, batch_size=4), _backend(tiny, mc_num=4, batch_size=4, cfg=0.0)
    guided = _backend(tiny, mc_num=4, batch_size=4, cfg=2.0)
    assert plain.loglikelihood(req) == zero.loglikelihood(req) != guided.loglikelihood(req)


def _readme_rows() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (\S+) \| \d+ \| `(--tasks [^`]+)` \|", text, flags=re.M)
    return dict(rows)


def test_readme_presets_reproduce_every_likelihood_row_of_lladas_script(tiny):
    from lm_eval.utils import simple_parse_args_string

    from harness.lm_eval_backend import RldfLM

    rows = _readme_rows()
    assert set(rows) == set(LLADA_SCRIPT)
    for task, cmd in rows.items():
        shots, batch, cfg, mc_num = LLADA_SCRIPT[task]
        flags = dict(re.findall(r"--(\w+) (\S+)", cmd))
        assert (flags["tasks"], int(flags["num_fewshot"]), int(flags["batch_size"])) == (task, shots, batch)
        args = simple_parse_args_string(flags["model_args"])  # lm-eval's own parsing of --model_args
        assert args.pop("pretrained") == "PATH"
        b = RldfLM(lm=tiny, protocol="rldf-tiny", batch_size=flags["batch_size"], **args)
        assert (b.mc_num, b.mc_batch, b.cfg, b.greedy_check, b.add_bos) == (mc_num, batch, cfg, False, False), task


def _cli(model_args: str, tmp_path, capsys) -> tuple[int, str]:
    from harness.cli import main

    rc = main([
        "lm-eval", "run", "--model", "rldf", "--model_args", model_args, "--tasks", "rldf_tiny_mc",
        "--include_path", str(TASKS_DIR), "--limit", "2", "--output_path", str(tmp_path), "--device", "cpu",
    ])
    return rc, capsys.readouterr().err


def test_cli_runs_a_local_multiple_choice_task_with_mc_num_1(tmp_path, capsys):
    rc, err = _cli("pretrained=rldf-tiny,mc_num=1", tmp_path, capsys)
    assert rc == 0, err[-2000:]
    results = list(tmp_path.rglob("results_*.json"))
    assert results and '"rldf_tiny_mc"' in results[0].read_text()


def test_cli_refuses_a_bad_combination_in_one_line(tmp_path, capsys):
    rc, err = _cli("pretrained=rldf-tiny,mc_num=128,mc_batch=3", tmp_path, capsys)
    lines = [ln for ln in err.splitlines() if ln.startswith("rldf lm-eval: error")]
    assert rc == 2 and lines == ["rldf lm-eval: error: rldf backend: mc_batch=3 must divide mc_num=128; set mc_batch to a divisor of mc_num"]


@pytest.mark.parametrize("family", ["llada", "dream"])
def test_one_token_loglikelihood_is_the_guided_full_vocabulary_log_softmax(family, request):
    """One masked token: the ELBO is exact, log_softmax(un + (cfg + 1)(cond - un)) over the whole
    vocabulary (mask included), with the prompt masked in ``un`` and Dream's logit shift."""
    import torch

    from harness.lm_eval_backend import RldfLM
    from harness.models import load_model

    lm = load_model(request.getfixturevalue(f"tiny_{family}"))
    backend = RldfLM(lm=lm, protocol="rldf-tiny", mc_num=4, batch_size=4, cfg=1.5)
    prefix, target = backend._encode_pair("Q: 4*2 A:", "8")
    assert len(target) == 1
    pos = len(prefix) - lm.logit_shift  # the logit that scores the continuation token
    with torch.no_grad():
        cond = lm.forward(torch.tensor([[*prefix, lm.mask_id]])).logits[0, pos].float()
        un = lm.forward(torch.full((1, len(prefix) + 1), lm.mask_id)).logits[0, pos].float()
    expected = float(torch.log_softmax(un + 2.5 * (cond - un), -1)[target[0]])
    (value, _), = backend.loglikelihood([SimpleNamespace(args=("Q: 4*2 A:", "8"))])
    assert value == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("n", [1024, 512, 256])
def test_readme_generation_rows_decode_like_lladas_generate_py(tiny, n):
    """EVAL.md's gen rows: one low-confidence token per step over a single n-token block, greedy."""
    from harness.lm_eval_backend import RldfLM

    text = (ROOT / "README.md").read_text()
    args = re.search(r"`--model_args pretrained=PATH,(protocol=[^`]+gen_length=N[^`]*)`", text).group(1)
    kw = dict(kv.split("=") for kv in args.replace("N", str(n)).split(","))
    b = RldfLM(lm=tiny, **{k: (int(v) if v.isdigit() else v) for k, v in kw.items()})
    cfg, _ = b._sampler({"max_gen_toks": 256})  # gsm8k's max_gen_toks
    assert (cfg.gen_length, cfg.steps, cfg.block_length) == (n, n, n)
    assert (cfg.remasking, cfg.score, cfg.temperature, cfg.use_cache) == ("static", "confidence", 0.0, False)
