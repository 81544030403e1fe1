"""The memory plan's arithmetic against peaks measured on a GPU (``bench/results/train_step_*_h100.json``).

    python bench/memory_plan_check.py

Those runs hold the model in bf16 with bf16 gradients (the benchmark predates float32 master
weights) and activation checkpointing, 8 samples of 128 prompt + 256 generated tokens, and
report ``torch.cuda.max_memory_allocated`` over one update. The plan's items for that setting:
weights + gradients (2 + 2 bytes per parameter), and for estimators with more than one forward
per update the activations of a forward taken while the previous forwards' gradients are held.
With one forward (all_masking, d1) gradients are allocated while activations are freed, so the
peak sits near weights + gradients and the activation term is not additive; that row is reported
for completeness. Writes bench/results/memory_plan_check.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from trainer.memory_plan import GIB, activation_bytes, model_shape, saved_bytes_per_token  # noqa: E402

HUB = {"llada-8b": "GSAI-ML/LLaDA-8B-Instruct", "dream-7b": "Dream-org/Dream-v0-Instruct-7B"}


def main() -> None:
    rows_out = []
    for preset, hub in HUB.items():
        measured = json.loads((ROOT / "bench" / "results" / f"train_step_{preset}_h100.json").read_text())
        shape = model_shape(hub)
        a, b, c = saved_bytes_per_token(shape.family, torch.bfloat16, autocast=False)
        per_token = a * shape.d + b * shape.kv + c * shape.mlp
        rows, gen = measured["samples"], measured["gen_length"]
        seq = int(measured["prompt_tokens_mean"]) + gen
        static = 4 * shape.params  # bf16 weights + bf16 gradients
        act = activation_bytes(shape, rows, seq, gen, 2, 2, per_token, checkpointing=True)
        for name, est in measured["estimators"].items():
            multi = est["forwards_per_step"] > 1
            predicted = static + (act if multi else 0.0)
            rows_out.append({
                "model": preset, "estimator": name, "forwards": est["forwards_per_step"],
                "measured_peak_gib": round(est["peak_gpu_gib"], 2), "predicted_peak_gib": round(predicted / GIB, 2),
                "measured_minus_static_gib": round(est["peak_gpu_gib"] - static / GIB, 2),
                "predicted_activations_gib": round(act / GIB, 2) if multi else None,
                "relative_error": round(predicted / GIB / est["peak_gpu_gib"] - 1, 4),
            })
    out = {
        "device": "plan computed on CPU; peaks measured on NVIDIA H100 80GB HBM3 (bench/results/train_step_*_h100.json)",
        "setting": "bf16 weights and gradients, activation checkpointing, 8 samples x (128 prompt + 256 generated)",
        "rows": rows_out,
        "max_abs_relative_error": max(abs(r["relative_error"]) for r in rows_out),
    }
    path = ROOT / "bench" / "results" / "memory_plan_check.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    for r in rows_out:
        print(f"{r['model']:9} {r['estimator']:15} measured {r['measured_peak_gib']:6.2f} GiB  "
              f"predicted {r['predicted_peak_gib']:6.2f} GiB  ({r['relative_error']:+.1%})")


if __name__ == "__main__":
    main()
