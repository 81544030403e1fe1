"""Number formatting shared by every renderer, so all formats show the same digits.

A cell is split into parts (value, ± half-width, delta, significance mark, provenance tag) and
each renderer only decides the markup around them (bold, italic, escaping).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leaderboards.table import REPORTED, Board, Row

DIGITS = 1
MISSING = "–"
REPORTED_HEADING = "Reported (published numbers, not measured here)"


@dataclass(frozen=True)
class CellText:
    value: str
    pm: str | None  # half-width of the CI, e.g. "2.5"
    delta: str | None  # e.g. "+3.2"
    mark: str  # "", "*", "**"
    best: bool
    reported: bool
    tag: str | None  # provenance tag when it differs from the row's, e.g. "S"
    mixed: bool  # column mixes protocols (allowed by flag)
    sort_value: float | None


def fmt_number(x: float) -> str:
    return f"{x:.{DIGITS}f}"


def fmt_delta(d: float) -> str:
    r = round(d, DIGITS)
    return f"{0.0 if r == 0 else r:+.{DIGITS}f}"


def cell_text(board: Board, row: Row, column_id: str) -> CellText | None:
    """Formatted parts of one cell, or None when the cell is empty."""
    c: dict[str, Any] | None = board.cell(row.id, column_id)
    if c is None:
        return None
    pm = None
    if c["ci_low"] is not None and c["ci_high"] is not None:
        pm = fmt_number((c["ci_high"] - c["ci_low"]) / 2.0)
    reported = row.kind == REPORTED
    tag = c["provenance"] if reported and c["provenance"] != row.provenance else None
    return CellText(
        value=fmt_number(c["value"]),
        pm=pm,
        delta=None if c["delta"] is None else fmt_delta(c["delta"]),
        mark=c["mark"] or "",
        best=bool(c["best"]),
        reported=reported,
        tag=tag,
        mixed=column_id in board.mixed_columns,
        sort_value=float(c["value"]),
    )


def row_label(row: Row) -> str:
    """Row label; reported rows carry their provenance tag."""
    return f"{row.label} [{row.provenance}]" if row.kind == REPORTED else row.label


def grouped_rows(board: Board) -> list[tuple[str | None, list[Row]]]:
    """Measured rows split into (group label, rows) blocks, in spec order."""
    blocks: list[tuple[str | None, list[Row]]] = []
    for row in board.measured_rows:
        label = board.groups.get(row.group) if row.group else None
        if blocks and blocks[-1][0] == label:
            blocks[-1][1].append(row)
        else:
            blocks.append((label, [row]))
    return blocks


def column_headers(board: Board) -> list[tuple[str, list[tuple[str, str]]]]:
    """Columns grouped by task: [(task label, [(column id, variant label or ''), ...]), ...]."""
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for col in board.columns:
        if out and out[-1][0] == col.task_label:
            out[-1][1].append((col.id, col.variant_label or ""))
        else:
            out.append((col.task_label, [(col.id, col.variant_label or "")]))
    return out
