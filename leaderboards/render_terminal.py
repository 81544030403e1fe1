"""Terminal rendering with rich: bold best cells, italic dim reported rows in their own section."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from leaderboards.format import MISSING, REPORTED_HEADING, CellText, cell_text, grouped_rows, row_label
from leaderboards.table import Board


def _cell(ct: CellText | None) -> Text:
    if ct is None:
        return Text(MISSING, style="dim")
    if ct.reported:
        return Text(ct.value + (f" [{ct.tag}]" if ct.tag else ""), style="italic dim")
    t = Text(ct.value, style="bold" if ct.best else "")
    if ct.pm is not None:
        t.append(f" ±{ct.pm}", style="dim")
    if ct.delta is not None:
        t.append(f" ({ct.delta}{ct.mark})", style="green" if ct.mark and not ct.delta.startswith("-") else "")
    return t


def build_rich_table(board: Board) -> Table:
    """A rich Table of the board (notes are printed separately)."""
    title = board.title or None
    table = Table(title=title, caption=board.caption, show_lines=False, header_style="bold")
    table.add_column("Model", ratio=1)
    rows = board.measured_rows + board.reported_rows
    for c in board.columns:
        texts = [_cell(cell_text(board, r, c.id)) for r in rows]
        header = c.label + (" ‡" if c.id in board.mixed_columns else "")
        # data cells never wrap or get cut: the model column absorbs a narrow terminal
        width = max([len(header)] + [t.cell_len for t in texts])
        table.add_column(header, justify="right", no_wrap=True, min_width=width)
    blank = [""] * len(board.columns)
    for i, (group, rows) in enumerate(grouped_rows(board)):
        if i:
            table.add_section()
        if group:
            table.add_row(Text(group, style="bold underline"), *blank)
        for row in rows:
            table.add_row(row_label(row), *[_cell(cell_text(board, row, c.id)) for c in board.columns])
    if board.reported_rows:
        table.add_section()
        table.add_row(Text(REPORTED_HEADING, style="italic"), *blank)
        for row in board.reported_rows:
            table.add_row(
                Text(row_label(row), style="italic dim"), *[_cell(cell_text(board, row, c.id)) for c in board.columns]
            )
    return table


def print_board(board: Board, console: Console) -> None:
    """Print the table and its notes to a rich console."""
    console.print(build_rich_table(board))
    for note in board.notes:
        console.print(Text("  " + note, style="dim"), soft_wrap=False)


def render_terminal(board: Board, width: int = 160) -> str:
    """Plain-text (no colour codes) rendering, e.g. for ``--out FILE`` and golden tests."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False, highlight=False)
    print_board(board, console)
    return buf.getvalue()
