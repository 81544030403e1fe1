"""The estimator lab on a tiny model, recorded as a benchmark result (numbers and wall time).

    python bench/estimator_lab.py                                  # rldf-tiny, arithmetic, defaults
    python bench/estimator_lab.py --name rldf-tiny-long --model harness/assets/rldf-tiny-long \
        --task arithmetic_long --config configs/train/tiny_arith_long.yaml
    python bench/estimator_lab.py --name rldf-tiny-sweeps --estimators trace --sweep k,temperature,tau

Runs ``rldf lab estimators`` with the given options (the rest at their defaults), then copies its
``lab.json`` (every metric with its CI, the batch hash, settings, machine, load average and wall
seconds) to ``bench/results/estimator_lab_<name>.json``. The per-row rollouts stay in the run
folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", default="rldf-tiny", help="result name: bench/results/estimator_lab_<name>.json")
    p.add_argument("--out", help="lab run folder (default runs/lab-<name>)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reuse", action="store_true", help="record an existing --out/lab.json instead of running the lab")
    args, lab_args = p.parse_known_args()
    import torch

    torch.set_num_threads(args.threads)
    from harness.cli import main as cli
    from harness.io import atomic_write_json

    out = Path(args.out or f"runs/lab-{args.name}")
    if not args.reuse:
        rc = cli(["lab", "estimators", "--out", str(out), *lab_args])
        if rc:
            raise SystemExit(rc)
    record = json.loads((out / "lab.json").read_text())
    if not args.reuse:
        record["command"] = ["rldf", "lab", "estimators", "--out", str(out), *lab_args]
    record["bench"] = {"load_average_at_record": list(os.getloadavg())}
    dest = ROOT / "bench" / "results" / f"estimator_lab_{args.name.replace('-', '_')}.json"
    atomic_write_json(dest, record)
    print(f"wrote {dest} ({record['wall_seconds']:.0f}s)")


if __name__ == "__main__":
    main()
