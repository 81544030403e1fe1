"""Markdown (GitHub-flavoured) rendering: one pipe table plus a notes list.

Markdown tables have no rules or merged cells, so group names and the "reported" section are
shown as full-width label rows, and reported numbers are italic.
"""

from __future__ import annotations

import re

from leaderboards.format import MISSING, REPORTED_HEADING, CellText, cell_text, grouped_rows, row_label
from leaderboards.table import Board

_ESCAPE = re.compile(r"([\\`*_\[\]|<>#])")


def escape(text: str) -> str:
    """Escape characters Markdown would read as markup."""
    return _ESCAPE.sub(r"\\\1", text)


def _cell(ct: CellText | None) -> str:
    if ct is None:
        return MISSING
    if ct.reported:
        out = f"_{ct.value}_"
        return out + (f" \\[{ct.tag}\\]" if ct.tag else "")
    out = f"**{ct.value}**" if ct.best else ct.value
    if ct.pm is not None:
        out += f" ± {ct.pm}"
    if ct.delta is not None:
        out += f" ({ct.delta}{escape(ct.mark)})"
    return out


def render_markdown(board: Board) -> str:
    """The table as Markdown text (ends with a newline)."""
    cols = board.columns
    header = ["Model"] + [escape(c.label) + (" ‡" if c.id in board.mixed_columns else "") for c in cols]
    lines = []
    if board.title:
        lines += [f"### {escape(board.title)}", ""]
    lines += [escape(board.caption), ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join([":---"] + ["---:"] * len(cols)) + "|")
    blank = [""] * len(cols)

    for group, rows in grouped_rows(board):
        if group:
            lines.append("| " + " | ".join([f"**{escape(group)}**", *blank]) + " |")
        for row in rows:
            cells = [_cell(cell_text(board, row, c.id)) for c in cols]
            lines.append("| " + " | ".join([escape(row_label(row)), *cells]) + " |")
    if board.reported_rows:
        lines.append("| " + " | ".join([f"_{REPORTED_HEADING}_", *blank]) + " |")
        for row in board.reported_rows:
            cells = [_cell(cell_text(board, row, c.id)) for c in cols]
            lines.append("| " + " | ".join([f"_{escape(row_label(row))}_", *cells]) + " |")
    if board.notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {escape(n)}" for n in board.notes]
    return "\n".join(lines) + "\n"
