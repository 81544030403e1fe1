#!/usr/bin/env bash
# DeepSpeed ZeRO-3 path of the trainer, for a machine with CUDA GPUs (accelerate runs DeepSpeed
# only there: on CPU processes it reports one process per rank, so CI cannot exercise it).
# Trains the tiny recipe for 3 steps under configs/accelerate/deepspeed_zero3.yaml on N GPUs
# and on one plain process, then compares rollouts (identical completions expected) and
# weights, and writes bench/results/deepspeed_zero3_check.json.
#   pip install deepspeed && bash bench/deepspeed_zero3_check.sh [N_GPUS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1}
OUT=${OUT:-runs/deepspeed_check}
rm -rf "$OUT"; mkdir -p "$OUT"
SETS=(--set run.max_steps=3 --set run.max_seconds=null --set run.log_rollouts=true --set run.mixed_precision=bf16)
rldf train --config configs/train/tiny_arith.yaml --out "$OUT/single" "${SETS[@]}"
accelerate launch --config_file configs/accelerate/deepspeed_zero3.yaml --num_processes "$N" \
  -m harness.cli train --config configs/train/tiny_arith.yaml --out "$OUT/zero3" "${SETS[@]}"
python - "$OUT" "$N" <<'PY'
import json, sys, torch
from pathlib import Path
from trainer.checkpoint import read_exported_weights
out, n = Path(sys.argv[1]), int(sys.argv[2])
def rollouts(run):
    return {(f.name.split(".")[0], r["sample_id"]): r for f in sorted((run / "rollouts").glob("*.jsonl"))
            for r in map(json.loads, f.read_text().splitlines())}
a, b = rollouts(out / "single"), rollouts(out / "zero3")
same = sum(a[k]["completion_ids"] == b[k]["completion_ids"] for k in a)
wa = read_exported_weights(out / "single/checkpoints/step-000003")
wb = read_exported_weights(out / "zero3/checkpoints/step-000003")
res = {"device": torch.cuda.get_device_name(0), "processes": n, "rollouts": len(a),
       "identical_completions": same, "max_weight_diff": max((wa[k].float() - wb[k].float()).abs().max().item() for k in wa)}
print(res)
Path("bench/results/deepspeed_zero3_check.json").write_text(json.dumps(res, indent=2) + "\n")
PY
