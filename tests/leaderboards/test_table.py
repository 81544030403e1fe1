"""The table model: cell placement, protocol-mix refusal, baselines, best, pooling, reported rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.errors import UserError
from leaderboards.collect import find_result_files, load_runs
from leaderboards.spec import default_spec, load_spec, resolve_spec_path
from leaderboards.table import build_board

FIX = Path(__file__).parent / "fixtures"


def board_for(paths, spec=None, **kw):
    col = load_runs(find_result_files(paths), spec.metric_for_task if spec else (lambda t: "accuracy"))
    return build_board(col.runs, spec or default_spec(col.runs), col.skipped, **kw)


@pytest.fixture
def in_fixtures(monkeypatch):
    monkeypatch.chdir(FIX)


def cell(board, row, col):
    return board.cell(row, col)


def test_basic_cells_deltas_marks_and_best(in_fixtures):
    board = board_for(["basic"], load_spec("basic.yaml"))
    # toy at 256: base 6/12, rldf 10/12, d1 11/12, coupled 8/12 (hand-computed p in test_significance)
    assert cell(board, "base", "toy@256")["value"] == pytest.approx(50.0)
    assert cell(board, "base", "toy@256")["delta"] is None
    assert cell(board, "rldf", "toy@256")["delta"] == pytest.approx(100 * 4 / 12, abs=1e-3)
    assert [cell(board, r, "toy@256")["mark"] for r in ("rldf", "d1", "coupled")] == ["*", "**", ""]
    assert [r for r in ("base", "rldf", "d1", "coupled") if cell(board, r, "toy@256")["best"]] == ["d1"]
    # the CI is the result's own (Wilson: 6/12 -> 0.5 -+ 1.96*sqrt(1/48 + 1.96**2/576) / (1 + 1.96**2/12)
    # = 0.5 -+ 0.24622) unless the file has none: then a bootstrap over items
    assert cell(board, "base", "toy@256")["ci_low"] == pytest.approx(100 * (0.5 - 0.24622), abs=1e-3)
    d1_arith = cell(board, "d1", "arith@128")
    assert d1_arith["ci_low"] < d1_arith["value"] < d1_arith["ci_high"]
    # empty columns (toy@128, *@512) are dropped; spec order is kept
    assert [c.id for c in board.columns] == ["toy@256", "arith@128", "arith@256"]
    assert board.empty_rows == ["sft"]  # sft's only result is incomplete (skipped, in the notes)
    assert any("basic/incomplete/toy_256/results.json" in n for n in board.notes)


def test_mixed_protocols_are_refused_naming_files_and_hashes(in_fixtures):
    with pytest.raises(UserError) as exc:
        board_for(["mixed"])
    msg = str(exc.value)
    assert "mixes protocols" in msg and "\n" not in msg
    assert "mixed/base/toy_256/results.json" in msg and "mixed/rldf/toy_256/results.json" in msg
    assert "#a1a1a1a1a1a1" in msg and "#d4d4d4d4d4d4" in msg
    assert "--allow-mixed-protocols" in msg


def test_mixed_protocols_allowed_are_flagged(in_fixtures):
    board = board_for(["mixed"], allow_mixed=True)
    assert board.mixed_columns == {"toy@toy-greedy-256"}
    assert not board.cells["best"].any()  # values under different protocols: nothing is "best"
    assert any(n.startswith("‡ Mixed protocols allowed") and "#d4d4d4d4d4d4" in n for n in board.notes)


def test_group_scope_allows_different_protocols_per_group_with_a_note(in_fixtures):
    board = board_for(["main"], load_spec(resolve_spec_path("rldf_main")))
    assert cell(board, "llada-rldf", "gsm8k@256")["delta"] == pytest.approx(30.0)
    assert cell(board, "dream-rldf", "gsm8k@256")["delta"] == pytest.approx(10.0)  # own group's baseline
    assert cell(board, "llada-rldf", "gsm8k@256")["best"] and cell(board, "dream-rldf", "gsm8k@256")["best"]
    assert any("groups use different protocols" in n for n in board.notes)
    # default (column) scope refuses the same files
    spec = load_spec(resolve_spec_path("rldf_main"))
    spec.protocol_scope = "column"
    with pytest.raises(UserError, match="column 'GSM8K 256' mixes protocols"):
        board_for(["main"], spec)


def test_baseline_override_and_unknown_baseline(in_fixtures):
    board = board_for(["basic"], load_spec("basic.yaml"), baseline="+ coupled")  # by label
    assert cell(board, "base", "toy@256")["delta"] == pytest.approx(-100 * 2 / 12, abs=1e-3)
    assert cell(board, "coupled", "toy@256")["delta"] is None
    with pytest.raises(UserError, match="--baseline nope: no such row"):
        board_for(["basic"], load_spec("basic.yaml"), baseline="nope")


def test_a_run_matching_two_rows_is_an_error(in_fixtures, tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("rows:\n  - {id: a, match: {model.id: tiny}}\n  - {id: b, match: {model.method: base}}\ncolumns: {tasks: [toy]}\n")
    with pytest.raises(UserError, match="matches rows a, b"):
        board_for(["basic/base/toy_256/results.json"], load_spec(f))


def test_reported_rows_are_separate_never_best_or_tested(in_fixtures):
    board = board_for(["basic"], load_spec("basic.yaml"))
    rep = board.cells[board.cells["kind"] == "reported"]
    assert len(rep) == 3  # toy@256 70.0, arith@128 55.5, arith@256 61.0 (the 1024 value has no column)
    assert not rep["best"].any() and rep["p_value"].isna().all() and rep["delta"].isna().all()
    assert board.rows[-1].kind == "reported" and board.rows[-1].label == "Toy-model (toy paper)"
    # a reported 70.0 above a measured best would not take the bold: best is among measured only
    assert cell(board, "d1", "toy@256")["best"]
    # values that fit no column are footnoted, and an entry with none placed is not drawn
    assert [r.label for r in board.reported_rows] == ["Toy-model (toy paper)"]
    note = next(n for n in board.notes if n.startswith("Reported values with no matching column"))
    assert "arith 66 at gen_length 1024" in note and "toy 72.5 (gen_length not stated)" in note


def test_runs_of_one_cell_are_pooled_per_item(in_fixtures):
    board = board_for(["demo"], load_spec(resolve_spec_path("demo")))
    c = cell(board, "rldf", "arithmetic@rldf-tiny")
    # seed 0: 7/10 correct, seed 1: 7/10; per item mean over the 2 runs, then mean over items
    assert c["n_runs"] == 2 and c["value"] == pytest.approx(70.0)
    assert any("Pooled cells" in n and "2 runs" in n for n in board.notes)
    assert cell(board, "rldf", "arithmetic@rldf-tiny")["mark"] == "**"


def test_samples_problems_disable_significance_with_a_note(in_fixtures, tmp_path):
    for m in ("base", "rldf"):
        shutil.copytree(FIX / "basic" / m / "toy_256", tmp_path / m / "toy_256")
    (tmp_path / "rldf" / "toy_256" / "samples.jsonl").unlink()
    board = board_for([str(tmp_path)], baseline="tiny [base]")
    c = cell(board, "tiny [rldf]", "toy@toy-greedy-256")
    assert c["delta"] == pytest.approx(100 * 4 / 12, abs=1e-3) and c["p_value"] is None and c["mark"] == ""
    assert any(n.startswith("No significance test for") and "no samples.jsonl" in n for n in board.notes)


def test_regrade_spec_places_external_runs_and_d1_numbers(in_fixtures):
    board = board_for(["regrade"], load_spec(resolve_spec_path("llada_regrade")))
    assert len(board.columns) == 12
    assert [r.label for r in board.measured_rows] == ["LLaDA-8B-Instruct (d1 generations, rldf grader)"]
    assert cell(board, "rldf-grader", "gsm8k@128")["value"] == pytest.approx(70.0)
    d1 = "reported:d1:llada-d1-parser"
    assert cell(board, d1, "sudoku@512")["value"] == pytest.approx(5.47)
    assert cell(board, d1, "gsm8k@256")["provenance"] == "R"
    assert [r.provenance for r in board.reported_rows] == ["R", "M"]
