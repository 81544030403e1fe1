"""Record the official samplers' outputs on rldf's trained tiny models, once, as test goldens.

    git clone https://github.com/ML-GSAI/LLaDA /tmp/official/LLaDA
    git clone https://github.com/NVlabs/Fast-dLLM /tmp/official/Fast-dLLM
    git clone https://github.com/ant-research/Drift /tmp/official/Drift
    python bench/reference/record_samplers.py --llada /tmp/official/LLaDA \\
        --fast-dllm /tmp/official/Fast-dLLM --drift /tmp/official/Drift

The official decoding functions are imported from those checkouts and run unmodified: LLaDA's
``generate.py`` ``generate``, Fast-dLLM's ``llada/generate.py`` (``generate``,
``generate_with_prefix_cache``, ``generate_with_dual_cache``), Drift's
``rollout/llada_generate.py`` ``generate_with_prefix_cache`` and Dream's ``_sample``
(``DreamGenerationMixin`` from Drift's ``models/dream/generation_utils.py``, Dream's own file).
The *network* they call is rldf's (a thin adapter in this file gives it the call signature each
one expects, including Fast-dLLM's ``replace_position`` for the dual cache), so the goldens
isolate the samplers: schedules, scores, precision, selection, cache windows. rldf's network
is checked against the official modelling code separately (``tests/fixtures``, ~1e-5).

For every prompt the JSON holds the completion ids and the commit order (for each completion
position, the ordinal of the forward that committed it, counting only forwards that committed
something: rldf's ``step_map``), read from the inputs the adapter sees at every forward.
Writes ``tests/fixtures/reference_samplers/{llada,dream}.json``. Nothing here is imported by
the package or the tests; the tests read the JSON only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import types
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from harness.models import load_model  # noqa: E402
from tasks import get_task  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "reference_samplers"
DREAM_MODEL = ROOT / "tests" / "fixtures" / "dream_arith"
N_PROMPTS = 64


def _import(name: str, path: Path, stubs: tuple[str, ...] = ()) -> types.ModuleType:
    """Import one official file as a module; packages it imports only for model classes or
    config parsing (not for the decoding functions we call) are stubbed."""
    for stub in stubs:
        if stub not in sys.modules:
            module = types.ModuleType(stub)
            module.__getattr__ = lambda attr: object  # type: ignore[attr-defined]
            sys.modules[stub] = module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Recorder:
    """rldf's network behind the official call signatures; keeps the full sequence at every forward."""

    def __init__(self, lm) -> None:
        self.lm = lm
        self.device = lm.device
        self.inputs: list[torch.Tensor] = []

    def _snapshot(self, x: torch.Tensor) -> None:
        full = x if x._base is None else x._base  # the official loops pass views of their x
        self.inputs.append(full.detach().clone().reshape(full.shape[0], -1))

    def __call__(self, x, attention_mask=None, tok_idx=None, past_key_values=None, use_cache=False,
                 replace_position=None, **_):
        self._snapshot(x)
        if not isinstance(attention_mask, torch.Tensor):
            attention_mask = None  # Dream passes the string "full" when nothing is padded
        if past_key_values is None:
            out = self.lm.forward(x, attention_mask=attention_mask, position_ids=tok_idx, use_cache=use_cache)
            return SimpleNamespace(logits=out.logits, past_key_values=out.cache)
        cache = tuple((k, v) for k, v in past_key_values)
        if replace_position is None:  # prefix cache: x continues after the cached positions
            return SimpleNamespace(logits=self.lm.forward(x, cache=cache).logits, past_key_values=None)
        # Fast-dLLM's dual cache: x is the block, written over its slots in a full-length cache
        start = int(replace_position[0].nonzero()[0])
        end = start + x.shape[1]
        rest = tuple((torch.cat((k[:, :, :start], k[:, :, end:]), 2), torch.cat((v[:, :, :start], v[:, :, end:]), 2))
                     for k, v in cache)
        return SimpleNamespace(logits=self.lm.forward(x, cache=rest, cache_insert=start).logits, past_key_values=None)


def commit_order(inputs: list[torch.Tensor], final: torch.Tensor, prompt_len: int, mask_id: int) -> list[int]:
    """Per completion position, the ordinal of the forward that committed it (forwards that
    committed nothing are not counted), from the sequence seen before each forward."""
    states = [s[0, prompt_len:] for s in inputs] + [final[0, prompt_len:]]
    order = [-1] * states[0].shape[0]
    ordinal = 0
    for before, after in zip(states, states[1:], strict=False):
        new = ((before == mask_id) & (after != mask_id)).nonzero().flatten().tolist()
        for p in new:
            order[p] = ordinal
        ordinal += bool(new)
    return order


def run(lm, prompts: list[list[int]], fn) -> list[dict]:
    rows = []
    for ids in prompts:
        rec = Recorder(lm)
        x = torch.tensor([ids], device=lm.device)
        out = fn(rec, x)
        final = out if isinstance(out, torch.Tensor) else (out[0] if isinstance(out, tuple) else out.sequences)
        rows.append({
            "completion": final[0, len(ids):].tolist(),
            "order": commit_order(rec.inputs, final, len(ids), lm.mask_id),
            "forwards": len(rec.inputs),
        })
    return rows


def llada_settings(args) -> dict[str, tuple[dict, object]]:
    """name -> (the rldf SamplerConfig fields that should reproduce it, the official call)."""
    llada = _import("llada_generate", Path(args.llada) / "generate.py")
    fast = _import("fast_generate", Path(args.fast_dllm) / "llada" / "generate.py", stubs=("model", "model.modeling_llada"))
    drift = _import("drift_generate", Path(args.drift) / "rollout" / "llada_generate.py",
                    stubs=("omegaconf", "termcolor", "rollout", "rollout.llada", "rollout.llada.modeling_llada"))
    out: dict[str, tuple[dict, object]] = {}
    for g, b, steps in ((32, 32, 32), (32, 8, 32), (32, 8, 16), (32, 16, 12), (32, 32, 10), (64, 16, 64), (64, 16, 32)):
        fields = dict(gen_length=g, block_length=b, steps=steps, remasking="static")
        out[f"llada-generate/static-{g}-{b}-{steps}"] = (
            {**fields, "score_dtype": "model"},
            lambda m, x, g=g, b=b, s=steps: llada.generate(m, x, steps=s, gen_length=g, block_length=b, mask_id=m.lm.mask_id),
        )
        out[f"fast-dllm/static-{g}-{b}-{steps}"] = (
            fields, lambda m, x, g=g, b=b, s=steps: fast.generate(m, x, steps=s, gen_length=g, block_length=b, mask_id=m.lm.mask_id))
        for cache, fn in (("prefix", fast.generate_with_prefix_cache), ("dual", fast.generate_with_dual_cache)):
            out[f"fast-dllm/static-{g}-{b}-{steps}-{cache}"] = (
                {**fields, "cache": cache},
                lambda m, x, g=g, b=b, s=steps, fn=fn: fn(m, x, steps=s, gen_length=g, block_length=b, mask_id=m.lm.mask_id))
    for g, b, steps in ((32, 8, 18), (32, 8, 32)):  # Drift spreads uneven step counts over blocks
        out[f"drift/static-{g}-{b}-{steps}"] = (
            dict(gen_length=g, block_length=b, steps=steps, remasking="static"),
            lambda m, x, g=g, b=b, s=steps: drift.generate_with_prefix_cache(
                m, x, s, g, b, 0.0, "confidence", m.lm.mask_id, None, False, None))
    for tau in (0.7, 0.9):
        for g, b in ((32, 32), (32, 8), (64, 16)):
            fields = dict(gen_length=g, block_length=b, steps=g, remasking="threshold", threshold=tau)
            out[f"fast-dllm/threshold{tau}-{g}-{b}"] = (
                fields, lambda m, x, g=g, b=b, t=tau: fast.generate(
                    m, x, steps=g, gen_length=g, block_length=b, mask_id=m.lm.mask_id, threshold=t))
            for cache, fn in (("prefix", fast.generate_with_prefix_cache), ("dual", fast.generate_with_dual_cache)):
                out[f"fast-dllm/threshold{tau}-{g}-{b}-{cache}"] = (
                    {**fields, "cache": cache}, lambda m, x, g=g, b=b, t=tau, fn=fn: fn(
                        m, x, steps=g, gen_length=g, block_length=b, mask_id=m.lm.mask_id, threshold=t))
            for use_cache in (False, True):
                out[f"drift/threshold{tau}-{g}-{b}" + ("-prefix" if use_cache else "")] = (
                    {**fields, "cache": "prefix" if use_cache else "none"},
                    lambda m, x, g=g, b=b, t=tau, c=use_cache: drift.generate_with_prefix_cache(
                        m, x, g, g, b, 0.0, "confidence", m.lm.mask_id, None, c, t))
    return out


def dream_settings(args) -> dict[str, tuple[dict, object]]:
    utils = _import("dream_generation_utils", Path(args.drift) / "models" / "dream" / "generation_utils.py")
    algs = {"maskgit_plus": "confidence", "topk_margin": "margin", "entropy": "neg_entropy"}
    out: dict[str, tuple[dict, object]] = {}
    for g in (32, 64):
        for steps in (g, g // 2, g // 4):
            for alg, score in algs.items():
                fields = dict(gen_length=g, block_length=g, steps=steps, remasking="dream", score=score,
                              temperature=0.0, top_p=1.0, top_k=0)

                def call(m, x, g=g, steps=steps, alg=alg):
                    config = utils.DreamGenerationConfig(
                        max_length=x.shape[1] + g, steps=steps, eps=1e-3, alg=alg, alg_temp=0.0, temperature=0.0,
                        top_p=None, top_k=None, mask_token_id=m.lm.mask_id, output_history=False,
                        return_dict_in_generate=False,
                    )
                    return utils.DreamGenerationMixin._sample(m, x, None, config, lambda i, x, lg: x, lambda i, x, lg: lg)

                out[f"dream/{alg}-{g}-{steps}"] = (fields, call)
    return out


def record(lm, settings: dict, prompts: list[list[int]], path: Path, model: str) -> None:
    data = {"model": model, "prompts": prompts, "settings": {}}
    with torch.no_grad():
        for name, (fields, fn) in settings.items():
            data["settings"][name] = {"sampler": fields, "rows": run(lm, prompts, fn)}
            print(name, flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    tmp.replace(path)
    print(f"wrote {path}")


def prompts_for(lm) -> list[list[int]]:
    task = get_task("arithmetic")
    items = task.load_items("test", n=N_PROMPTS)
    return [lm.tokenizer(task.format_prompt(ex, "plain"), add_special_tokens=False)["input_ids"] for ex in items]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--llada", required=True, help="checkout of github.com/ML-GSAI/LLaDA")
    p.add_argument("--fast-dllm", required=True, help="checkout of github.com/NVlabs/Fast-dLLM")
    p.add_argument("--drift", required=True, help="checkout of github.com/ant-research/Drift")
    p.add_argument("--only", choices=("llada", "dream"), help="record one family")
    args = p.parse_args()
    torch.manual_seed(0)
    if args.only in (None, "llada"):
        lm = load_model("rldf-tiny", dtype=torch.float32)
        record(lm, llada_settings(args), prompts_for(lm), OUT / "llada.json", "rldf-tiny")
    if args.only in (None, "dream"):
        lm = load_model(str(DREAM_MODEL), dtype=torch.float32)
        record(lm, dream_settings(args), prompts_for(lm), OUT / "dream.json", "tests/fixtures/dream_arith")


if __name__ == "__main__":
    main()
