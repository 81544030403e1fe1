"""Contamination guard and the ``rldf data overlap`` / ``rldf tasks`` commands."""

from __future__ import annotations

import json

import pytest

from harness.cli import SUBCOMMANDS
from harness.errors import UserError
from tasks import Example
from tasks.overlap import filter_contaminated, find_overlap, normalize_question


def rldf(argv: list[str]) -> int:
    """``rldf tasks|data ...`` as harness.cli runs it, without importing the other subcommands
    (some import torch at module level, which would dominate this file's runtime)."""
    import argparse
    import importlib
    import sys

    parser = argparse.ArgumentParser(prog="rldf")
    sub = parser.add_subparsers(dest="command")
    for name in ("tasks", "data"):
        module = importlib.import_module(SUBCOMMANDS[name][0])
        module.add_parser(sub, name, SUBCOMMANDS[name][1]).set_defaults(_module=module)
    args = parser.parse_args(argv)
    try:
        return int(args._module.main(args) or 0)
    except UserError as exc:
        print(f"rldf {args.command}: error: {exc}", file=sys.stderr)
        return 2


def test_subcommands_are_registered():
    assert SUBCOMMANDS["tasks"][0] == "harness.commands.tasks"
    assert SUBCOMMANDS["data"][0] == "harness.commands.data"


def _ex(i, q):
    return Example(id=f"e{i}", question=q, answer=None)


def test_normalisation_ignores_case_whitespace_and_latex_spacing():
    a = "Find $x$ if \\dfrac{1}{2}\\,x = 3.\n"
    b = "find  $x$ if \\frac{1}{2} x=3."
    assert normalize_question(a) == normalize_question(b)
    assert normalize_question("Find $x$ if x = 4.") != normalize_question(b)
    assert normalize_question("\\left( 1, 2 \\right)\\quad") == normalize_question("(1,2)")


def test_find_overlap_exact_and_normalized():
    train = [_ex(0, "What is 2+2?"), _ex(1, "what is  2 + 2?"), _ex(2, "Unrelated"), _ex(3, "Solve $x^2=4$.")]
    evals = [_ex(10, "What is 2+2?"), _ex(11, "Solve $x^2 = 4$."), _ex(12, "Not in train")]
    r = find_overlap(train, evals)
    assert sorted((m.train_id, m.eval_id, m.kind) for m in r.matches) == [
        ("e0", "e10", "exact"),
        ("e1", "e10", "normalized"),
        ("e3", "e11", "normalized"),
    ]
    assert (r.exact, r.normalized_only, len(r.eval_ids), len(r.train_ids)) == (1, 1, 2, 3)
    assert r.to_dict()["eval_overlapping"] == 2


def test_filter_contaminated_drops_and_reports():
    train = [_ex(0, "A"), _ex(1, "b "), _ex(2, "C"), _ex(3, "D")]
    kept, report = filter_contaminated(train, {"e1": [_ex(9, "a")], "e2": [_ex(8, "B"), _ex(7, "a")]})
    assert [e.id for e in kept] == ["e2", "e3"]
    assert (report.n_dropped, report.dropped_ids, report.by_eval) == (2, ("e0", "e1"), {"e1": 1, "e2": 2})
    assert report.dropped == ("e0", "e1")
    kept2, report2 = filter_contaminated(train, [[_ex(9, "zzz")]])
    assert kept2 == train and report2.by_eval == {"eval0": 0}


def test_overlap_cli_on_files(tmp_path, capsys):
    (tmp_path / "tr.json").write_text(json.dumps([{"question": "Q one"}, {"question": "Q two"}]))
    (tmp_path / "ev.jsonl").write_text(json.dumps({"problem": "q  one"}) + "\n" + json.dumps({"problem": "new"}) + "\n")
    rc = rldf(["data", "overlap", str(tmp_path / "tr.json"), str(tmp_path / "ev.jsonl")])
    out = capsys.readouterr().out
    assert rc == 1
    assert "overlapping eval items: 1/2" in out and "normalized-only 1" in out
    rc = rldf(["data", "overlap", str(tmp_path / "tr.json"), "arithmetic"])
    assert rc == 0 and "overlapping eval items: 0/500" in capsys.readouterr().out


def test_overlap_cli_reports_user_errors(tmp_path, capsys):
    assert rldf(["data", "overlap", "no_such_task", "math500"]) == 2
    assert "unknown task 'no_such_task'" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text(json.dumps([{"text_missing": 1}]))
    assert rldf(["data", "overlap", str(tmp_path / "bad.json"), "arithmetic"]) == 2
    err = capsys.readouterr().err
    assert "row 1" in err and "question" in err and len(err.strip().splitlines()) == 1


def test_acceptance_math_rldf_contains_248_math500_problems(data_dir, capsys):
    rc = rldf(["data", "overlap", str(data_dir / "MATH_rldf.json"), str(data_dir / "MATH500.json"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert report["eval_overlapping"] == 248 and report["train_overlapping"] == 248
    assert report["n_train"] == 6106 and report["n_eval"] == 500


def test_acceptance_math_train_is_clean(data_dir, capsys):
    assert rldf(["data", "overlap", "math", "math500"]) == 0


def test_tasks_listing_json(capsys, monkeypatch):
    monkeypatch.delenv("RLDF_DATA_DIR", raising=False)
    assert rldf(["tasks", "--json"]) == 0
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {"gsm8k", "math500", "math", "countdown", "sudoku", "arithmetic", "humaneval", "mbpp"} <= set(rows)
    assert rows["arithmetic"]["sizes"] == {"train": "5000", "test": "500"}
    assert rows["gsm8k"]["sources"] == ["gsm8k_test.json (not in RLDF_DATA_DIR)", "hf:openai/gsm8k"]
    assert rows["math500"]["version"] == "1" and rows["math500"]["kind"] == "math"


def test_tasks_listing_table_counts_local_files(data_dir, capsys):
    assert rldf(["tasks"]) == 0
    out = capsys.readouterr().out
    assert "gsm8k" in out and "1319" in out and "MATH500.json (found)" in out


@pytest.mark.parametrize("argv", [["tasks", "--help"], ["data", "overlap", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as info:
        rldf(argv)
    assert info.value.code == 0
