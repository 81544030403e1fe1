"""What the precision of the scoring softmax costs and changes (``SamplerConfig.score_dtype``).

    python bench/score_precision.py            # writes bench/results/score_precision.json

The official decoders disagree: LLaDA's ``generate.py`` and Dream's sampler score positions with
the softmax in the logits' own dtype (bf16 on a bf16 model), Fast-dLLM and Drift cast to
float64. rldf defaults to float64 for static/threshold decoding (it can only remove ties and
rounding, never add them) and to the logits' dtype for Dream's sampler; ``score_dtype`` pins
either. Two measurements, side by side in one run:

1. The trained tiny model on its own protocol's prompts (500 arithmetic test items): accuracy,
   the fraction of completions identical to float64 scoring, and wall time for float64, float32
   and the model dtype — threshold 0.9 (the rldf-tiny protocol) and static 32/8/32.
2. The scoring step alone at LLaDA-8B size: ``sample_tokens`` on logits [8, 32, 126464]
   (batch 8, one 32-token block, LLaDA's vocabulary) in float32 and bf16 logits, scored in
   float64 vs float32 vs the logits' dtype: milliseconds per call on this CPU. For scale, one
   LLaDA-8B bf16 forward at batch 8 took ~103 ms on an H100 (``decode_llada-8b_h100.json``:
   256 forwards in 26.3 s).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from harness.decoding import SamplerConfig, decode  # noqa: E402
from harness.decoding.sampling import sample_tokens  # noqa: E402
from harness.models import load_model  # noqa: E402
from tasks import get_task  # noqa: E402

DTYPES = ("float64", "float32", "model")


def tiny_model(n: int, reps: int) -> dict:
    lm = load_model("rldf-tiny")
    task = get_task("arithmetic")
    items = task.load_items("test", n=n)
    prompts = [task.format_prompt(e, "plain") for e in items]
    settings = {
        "threshold0.9-32-32": dict(gen_length=32, block_length=32, steps=32, remasking="threshold", threshold=0.9),
        "static-32-8-32": dict(gen_length=32, block_length=8, steps=32, remasking="static"),
    }
    out = {}
    for name, fields in settings.items():
        gens, walls = {}, {d: [] for d in DTYPES}
        for _ in range(reps):  # interleaved, so drifting load hits every dtype alike
            for d in DTYPES:
                t0 = time.perf_counter()
                gens[d] = decode(lm, prompts, SamplerConfig(**fields, score_dtype=d), batch_size=100)
                walls[d].append(time.perf_counter() - t0)
        ref = gens["float64"]
        out[name] = {
            d: {
                "accuracy": sum(v.correct for v in task.verify_many(gens[d].text, items)) / len(items),
                "identical_to_float64": float((gens[d].completion_ids == ref.completion_ids).all(1).float().mean()),
                "same_commit_order_as_float64": float((gens[d].step_map == ref.step_map).all(1).float().mean()),
                "wall_seconds": statistics.median(walls[d]),
            }
            for d in DTYPES
        }
        print(name, json.dumps(out[name]), flush=True)
    return out


def llada_size_scoring(reps: int) -> dict:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(8, 32, 126464, generator=g) * 3
    out = {}
    for logits_dtype in (torch.float32, torch.bfloat16):
        logits = base.to(logits_dtype)
        row = {}
        for d in DTYPES:
            dtype = {"float64": torch.float64, "float32": torch.float32, "model": logits_dtype}[d]
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                sample_tokens(logits, 0.0, 0, 1.0, "confidence", None, never=torch.tensor([126336]), dtype=dtype)
                times.append(time.perf_counter() - t0)
            row[d] = {"ms_per_call": 1000 * statistics.median(times)}
        out[str(logits_dtype).replace("torch.", "") + "_logits"] = row
        print(logits_dtype, json.dumps(row), flush=True)
    return out


def main() -> None:
    torch.set_num_threads(2)
    result = {
        "command": "python bench/score_precision.py",
        "device": f"cpu ({platform.processor() or platform.machine()}, 2 threads)",
        "tiny_model_500_prompts": tiny_model(500, reps=3),
        "llada_8b_size_scoring_step": llada_size_scoring(reps=5),
        "h100_llada_8b_forward_ms_at_batch_8": 1000 * 26.292877711 / 256,
    }
    path = ROOT / "bench" / "results" / "score_precision.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
