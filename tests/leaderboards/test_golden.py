"""Golden outputs for every format from the fixture result files.

Regenerate after an intended change with ``RLDF_UPDATE_GOLDEN=1 pytest tests/leaderboards/test_golden.py``
and review the diff. The bootstrap is seeded (spec ``bootstrap.seed``), so goldens are stable.

What the goldens pin, beyond formatting:
- ``basic.*``: baseline deltas; the significance marks of the hand-computed case in
  ``test_significance.py`` (toy, 12 items, base right on 6: rldf wins 4 -> p = 2*(8/12)**12 =
  0.0154 -> "*"; d1 wins 5 -> p = 2*(7/12)**12 = 0.0031 -> "**"; coupled wins 2 -> p = 0.224 ->
  no mark); bold best per column; a CI computed from samples where the result has none; the
  reported row with its provenance tags and the unplaced reported values; and the two skipped
  result files named in the notes.
- ``mixed_allowed.md``: a mixed-protocol column allowed by the flag, with the dagger and footnote
  (without the flag it is refused: ``test_mixed_protocols_are_refused_by_the_cli``).
- ``main.md``: groups with their own baselines and different protocols per group.
- ``demo.md``: two seeds pooled into one cell.
- ``regrade.md``/``regrade.tex``: the llada_regrade spec on rescore-shaped fixtures.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leaderboards.collect import find_result_files, load_runs
from leaderboards.render import render
from leaderboards.spec import default_spec, load_spec, resolve_spec_path
from leaderboards.table import build_board

FIX = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RLDF_UPDATE_GOLDEN") == "1"


def rendered(paths: list[str], spec_arg: str | None, fmt: str, **kw) -> str:
    cwd = os.getcwd()
    os.chdir(FIX)  # display paths in notes are relative, as a user typing them would see
    try:
        spec = load_spec(resolve_spec_path(spec_arg)) if spec_arg else None
        col = load_runs(find_result_files(paths), spec.metric_for_task if spec else (lambda t: "accuracy"))
        board = build_board(col.runs, spec or default_spec(col.runs), col.skipped, **kw)
        return render(board, fmt)
    finally:
        os.chdir(cwd)


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with RLDF_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden; see the module docstring"


@pytest.mark.parametrize("fmt, suffix", [("md", "md"), ("latex", "tex"), ("csv", "csv"), ("html", "html"), ("terminal", "txt")])
def test_basic_golden(fmt, suffix):
    text = rendered(["basic"], "basic.yaml", fmt)
    check(f"basic.{suffix}", text)


def test_basic_golden_carries_the_hand_computed_marks():
    md = (GOLDEN / "basic.md").read_text(encoding="utf-8")
    rows = {line.split(" | ")[0].lstrip("| "): line for line in md.splitlines() if line.startswith("| ")}
    assert "(+33.3\\*)" in rows["+ RLDF"].split(" | ")[1]  # k = 4 -> p = 0.0154
    assert "(+41.7\\*\\*)" in rows["+ d1 (one-step)"].split(" | ")[1]  # k = 5 -> p = 0.0031
    assert rows["+ coupled"].split(" | ")[1].endswith("(+16.7)")  # k = 2 -> p = 0.224: no mark
    assert "**91.7**" in rows["+ d1 (one-step)"]
    assert "Skipped result file basic/broken/toy\\_256/results.json" in md


def test_mixed_allowed_golden():
    check("mixed_allowed.md", rendered(["mixed"], None, "md", allow_mixed=True))


def test_main_golden():
    check("main.md", rendered(["main"], "rldf_main", "md"))


def test_demo_golden():
    check("demo.md", rendered(["demo"], "demo", "md"))


@pytest.mark.parametrize("fmt, suffix", [("md", "md"), ("latex", "tex")])
def test_regrade_golden(fmt, suffix):
    check(f"regrade.{suffix}", rendered(["regrade"], "llada_regrade", fmt))
