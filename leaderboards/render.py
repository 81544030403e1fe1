"""Format name -> renderer, and the file suffix each format is recognised by."""

from __future__ import annotations

from pathlib import Path

from leaderboards.table import Board

FORMATS = ("md", "latex", "csv", "html", "terminal")
SUFFIXES = {".md": "md", ".markdown": "md", ".tex": "latex", ".csv": "csv", ".html": "html", ".htm": "html", ".txt": "terminal"}


def render(board: Board, fmt: str, plots: list[Path] | None = None) -> str:
    """Render ``board`` as text in ``fmt`` (one of ``FORMATS``); ``plots`` are embedded in HTML only."""
    if fmt == "md":
        from leaderboards.render_md import render_markdown

        return render_markdown(board)
    if fmt == "latex":
        from leaderboards.render_latex import render_latex

        return render_latex(board)
    if fmt == "csv":
        from leaderboards.render_csv import render_csv

        return render_csv(board)
    if fmt == "html":
        from leaderboards.render_html import render_html

        return render_html(board, plots)
    if fmt == "terminal":
        from leaderboards.render_terminal import render_terminal

        return render_terminal(board)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def format_from_suffix(path: str | Path) -> str | None:
    """The format implied by an output file name (``table.tex`` -> ``latex``), or None."""
    return SUFFIXES.get(Path(path).suffix.lower())
