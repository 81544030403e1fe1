"""``rldf board`` end to end, plots and training logs, and the no-torch guarantee."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main as rldf_cli
from harness.commands import board as board_cmd
from harness.errors import UserError
from leaderboards.render import FORMATS
from leaderboards.trainlogs import load_logs

FIX = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def in_fixtures(monkeypatch):
    monkeypatch.chdir(FIX)


def rldf(argv: list[str]) -> int:
    """``rldf board ...`` without building every other subcommand's parser (those import torch).

    Mirrors ``harness.cli.main``'s handling of ``UserError``; the real entry point is exercised by
    ``test_mixed_protocols_are_refused_by_the_cli[rldf-cli]`` (slow-marked).
    """
    assert argv[0] == "board"
    parser = argparse.ArgumentParser(prog="rldf")
    board_cmd.add_parser(parser.add_subparsers(), "board", "")
    args = parser.parse_args(argv)
    try:
        return board_cmd.main(args)
    except UserError as exc:
        print(f"rldf board: error: {exc}", file=sys.stderr)
        return 2


def test_markdown_to_stdout_with_warnings_on_stderr(in_fixtures, capsys):
    assert rldf(["board", "basic", "--spec", "basic.yaml", "--format", "md"]) == 0
    out, err = capsys.readouterr()
    assert out == (Path(__file__).parent / "golden" / "basic.md").read_text(encoding="utf-8")
    assert "warning: skipped basic/broken/toy_256/results.json: not valid JSON" in err
    assert "warning: skipped basic/incomplete/toy_256/results.json: no metric 'accuracy'" in err
    assert "spec rows without results (not shown): sft" in err


@pytest.mark.parametrize("entry", [rldf, pytest.param(rldf_cli, marks=pytest.mark.slow)], ids=["board", "rldf-cli"])
def test_mixed_protocols_are_refused_by_the_cli(in_fixtures, capsys, entry):
    # the real entry point (rldf-cli) imports every subcommand, torch included: slow-marked
    assert entry(["board", "mixed", "--format", "md"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rldf board: error: column 'toy (toy-greedy-256)' mixes protocols")
    assert "#a1a1a1a1a1a1" in lines[0] and "#d4d4d4d4d4d4" in lines[0]


def test_out_suffix_picks_the_format_and_file_is_readable(in_fixtures, tmp_path, capsys):
    out = tmp_path / "t.tex"
    assert rldf(["board", "regrade", "--spec", "llada_regrade", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (Path(__file__).parent / "golden" / "regrade.tex").read_text(encoding="utf-8")
    assert out.stat().st_mode & 0o044  # not left 0600 by the atomic write
    assert f"wrote {out} (latex)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["board", "demo", "--logs", "logs"], "--logs draws training curves and needs --plots DIR"),
        (["board", "nowhere"], "nowhere: no such file or directory"),
        (["board", "basic/broken"], "no usable result among 1 file(s) (1 skipped"),
        (["board", "basic", "--spec", "demo"], "none of the 9 result(s) fits a row and column"),
        (["board", "basic", "--spec", "basic.yaml", "--baseline", "zzz"], "--baseline zzz: no such row"),
    ],
)
def test_user_mistakes_end_with_one_line(in_fixtures, capsys, argv, message):
    assert rldf(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("rldf board: error:")


def test_plots_and_html_embedding(in_fixtures, tmp_path, capsys):
    plots, html = tmp_path / "plots", tmp_path / "board.html"
    argv = ["board", "demo", "--spec", "demo", "--out", str(html), "--plots", str(plots), "--logs", "logs"]
    assert rldf(argv) == 0
    err = capsys.readouterr().err
    assert "skipped training log logs/bad/metrics.jsonl: no line with numeric 'step', 'time' and 'reward_mean'" in err
    names = sorted(p.name for p in plots.iterdir())
    assert names == ["accuracy_vs_nfe.png", "accuracy_vs_nfe.svg", "training_curves.png", "training_curves.svg"]
    for p in plots.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for p in plots.glob("*.svg"):
        assert b"<svg" in p.read_bytes()[:2000]
    text = html.read_text(encoding="utf-8")
    assert text.count('src="data:image/svg+xml;base64,') == 2
    assert "<script" in text and "http" not in text.split("<body>")[1].split("<ol")[0]  # no external resources


def test_nothing_to_plot_says_so(in_fixtures, tmp_path, capsys):
    assert rldf(["board", "regrade", "--spec", "llada_regrade", "--format", "csv", "--plots", str(tmp_path)]) == 0
    assert "nothing to plot" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_training_logs_tolerate_a_torn_line_and_scale_accuracy(in_fixtures):
    logs, skipped = load_logs(["logs"])
    by = {lg.label: lg for lg in logs}
    assert sorted(by) == ["d1", "rldf"]
    assert [s.path for s in skipped] == ["logs/bad/metrics.jsonl"]
    rl = by["rldf"].frame
    assert len(rl) == 12 and rl["step"].max() == 10  # torn step-11 line ignored
    assert rl["eval_accuracy"].dropna().tolist() == pytest.approx([40.0, 50.0])  # fractions shown in %
    assert not by["d1"].has_accuracy


def test_formats_listed_in_the_cli_match_the_renderers():
    assert board_cmd.FORMATS == FORMATS


def test_leaderboards_never_import_torch(tmp_path):
    """Run the whole board pipeline (all formats + plots) in a fresh interpreter without torch."""
    code = f"""
import argparse, sys, os
os.chdir({str(FIX)!r})
from harness.commands import board
p = argparse.ArgumentParser(); sub = p.add_subparsers()
board.add_parser(sub, "board", "")
for fmt in {list(FORMATS)!r}:
    extra = ["--plots", {str(tmp_path / "p")!r}, "--logs", "logs"] if fmt == "html" else []
    a = sub.choices["board"].parse_args(["demo", "--spec", "demo", "--format", fmt,
        "--out", os.path.join({str(tmp_path)!r}, "t." + fmt), *extra])
    assert board.main(a) == 0
import leaderboards.plots, leaderboards.trainlogs, leaderboards.render_html
bad = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("TORCH" if bad else "CLEAN")
"""
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "CLEAN"


def test_board_parser_is_registered():
    from harness.cli import SUBCOMMANDS

    assert SUBCOMMANDS["board"][0] == "harness.commands.board"
    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    parsed = board_cmd.add_parser(sub, "board", "h").parse_args(["a", "b", "--allow-mixed-protocols"])
    assert parsed.results == ["a", "b"] and parsed.allow_mixed_protocols and parsed.format is None
