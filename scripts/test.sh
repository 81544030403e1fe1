#!/usr/bin/env bash
# Set up a virtual environment (torch CPU first, then the project with its dev extra) and run the
# default test suite offline. Usage: bash scripts/test.sh [pytest args]
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
python -m pip install -q -e '.[dev]'
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE
if [ -z "${RLDF_DATA_DIR:-}" ] && [ -d ../shared/data ]; then
  export RLDF_DATA_DIR="$(cd ../shared/data && pwd)"
fi
set +e
python -m pytest -q "$@"
rc=$?
set -e
# pytest exit 5 means "no tests collected": that is a failure, not a pass.
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
