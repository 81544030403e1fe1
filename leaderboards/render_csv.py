"""CSV rendering: the long cell table, one line per filled cell, for spreadsheets and scripts.

Values stay numeric (percent, 4 decimals) rather than formatted strings, and reported cells are
kept apart by the ``kind`` column. CSV has no room for footnotes; skipped files are announced
on stderr by the CLI.
"""

from __future__ import annotations

from leaderboards.table import Board

COLUMNS = (
    "kind", "row_id", "row_label", "group", "task", "variant", "column_label", "value", "ci_low", "ci_high",
    "delta", "p_value", "mark", "best", "n_items", "n_runs", "provenance", "protocols", "files",
)


def render_csv(board: Board) -> str:
    """The cells as CSV text with a header line."""
    df = board.cells.copy()
    labels = {c.id: c.label for c in board.columns}
    df["column_label"] = df["column_id"].map(labels)
    for col in ("value", "ci_low", "ci_high", "delta", "p_value"):
        df[col] = df[col].astype(float).round(4)
    for col in ("n_items", "n_runs"):
        df[col] = df[col].astype("Int64")
    return df.loc[:, list(COLUMNS)].to_csv(index=False, lineterminator="\n")
