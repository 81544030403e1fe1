#!/usr/bin/env bash
# Set up a virtual environment (torch CPU first, then rldf) and run the CPU demo: evaluate the
# shipped tiny model, train it with RLDF for a fixed budget, evaluate again, render the table.
# Usage: bash scripts/demo.sh [rldf demo args, e.g. --compare all_masking,d1 --seeds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${RLDF_VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip >/dev/null
# torch first: a bare "torch" requirement would otherwise pull a multi-GB CUDA build.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e .
export OMP_WAIT_POLICY=PASSIVE
exec rldf demo "$@"
