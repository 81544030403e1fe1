"""Dataset loader for the offline lm-eval test tasks: reads arith.jsonl beside this file, so the
tasks work from any working directory (lm-eval resolves relative data_files against the CWD)."""

from __future__ import annotations

import json
from pathlib import Path


def load(**_: object):
    import datasets

    rows = [json.loads(line) for line in (Path(__file__).parent / "arith.jsonl").read_text().splitlines() if line.strip()]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
