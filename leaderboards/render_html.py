"""HTML rendering: one self-contained file (inline CSS and JS, plots embedded as base64 SVG).

A single file can be attached to an issue or a mail and opened anywhere, offline. Clicking a
column header sorts the measured rows within each group (a few lines of inline JS; reported rows
stay in their own section and are never sorted among measured ones).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from leaderboards.format import REPORTED_HEADING, CellText, cell_text, column_headers, grouped_rows, row_label
from leaderboards.table import Board

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table.board { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.board caption { caption-side: top; text-align: left; padding-bottom: .5em; }
table.board th, table.board td { padding: .25em .6em; }
table.board thead th { border-bottom: 1px solid #444; }
table.board thead tr:first-child th { border-top: 2px solid #222; }
table.board th[data-col] { cursor: pointer; }
table.board th[data-dir="desc"]::after { content: " \\25BE"; }
table.board th[data-dir="asc"]::after { content: " \\25B4"; }
table.board td { text-align: right; white-space: nowrap; }
table.board tbody th { text-align: left; font-weight: normal; white-space: nowrap; }
table.board tbody { border-top: 1px solid #888; }
table.board tbody:last-of-type { border-bottom: 2px solid #222; }
table.board tr.group th, table.board tr.section th { font-weight: bold; text-align: left; }
table.board tr.section th { font-style: italic; font-weight: normal; }
table.board tbody.reported td, table.board tbody.reported tr.rep th { font-style: italic; color: #666; }
.best { font-weight: bold; }
.pm, .delta { font-size: .8em; color: #555; }
.sig { color: #0a6a2a; }
ol.notes { font-size: .85em; color: #444; max-width: 70em; }
figure { display: inline-block; margin: 1em; }
figure img { max-width: 46em; }
"""

JS = """
document.querySelectorAll("table.board th[data-col]").forEach(function (th) {
  th.addEventListener("click", function () {
    var col = +th.dataset.col, dir = th.dataset.dir === "desc" ? "asc" : "desc";
    document.querySelectorAll("table.board th[data-col]").forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = dir;
    document.querySelectorAll("table.board tbody.measured").forEach(function (tb) {
      var rows = Array.prototype.slice.call(tb.querySelectorAll("tr.run"));
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v, s = dir === "asc" ? 1 : -1;
        if (col === 0) return s * x.localeCompare(y);
        x = x === "" ? NaN : +x; y = y === "" ? NaN : +y;
        if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
        return s * (x - y);
      });
      rows.forEach(function (r) { tb.appendChild(r); });
    });
  });
});
"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _cell(ct: CellText | None) -> str:
    if ct is None:
        return '<td data-v="">–</td>'
    if ct.reported:
        tag = f' <span class="tag">[{_e(ct.tag)}]</span>' if ct.tag else ""
        return f'<td data-v="{ct.sort_value}">{ct.value}{tag}</td>'
    value = f'<span class="best">{ct.value}</span>' if ct.best else ct.value
    pm = f' <span class="pm">±{ct.pm}</span>' if ct.pm is not None else ""
    delta = ""
    if ct.delta is not None:
        mark = f'<span class="sig">{ct.mark}</span>' if ct.mark else ""
        delta = f' <span class="delta">({ct.delta}{mark})</span>'
    return f'<td data-v="{ct.sort_value}">{value}{pm}{delta}</td>'


def _thead(board: Board) -> list[str]:
    heads = column_headers(board)
    dagger = board.mixed_columns
    has_variants = any(v for _, cols in heads for _, v in cols)
    if not has_variants:
        ths = [f'<th data-col="{i + 1}">{_e(c.label)}{" ‡" if c.id in dagger else ""}</th>' for i, c in enumerate(board.columns)]
        return ["<thead>", '<tr><th data-col="0">Model</th>' + "".join(ths) + "</tr>", "</thead>"]
    top = ['<th rowspan="2" data-col="0">Model</th>']
    bottom, i = [], 1
    for task, cols in heads:
        top.append(f'<th colspan="{len(cols)}">{_e(task)}</th>')
        for cid, v in cols:
            bottom.append(f'<th data-col="{i}">{_e(v)}{" ‡" if cid in dagger else ""}</th>')
            i += 1
    return ["<thead>", "<tr>" + "".join(top) + "</tr>", "<tr>" + "".join(bottom) + "</tr>", "</thead>"]


def _embed(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    kind = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return (f'<figure><img src="data:{kind};base64,{data}" alt="{_e(path.stem)}">'
            f"<figcaption>{_e(path.stem.replace('_', ' '))}</figcaption></figure>")


def render_html(board: Board, plots: list[Path] | None = None) -> str:
    """The table (and optional plot files, SVG preferred) as one HTML document."""
    span = len(board.columns) + 1
    title = board.title or "rldf leaderboard"
    out = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>", "</head>", "<body>",
    ]
    if board.title:
        out.append(f"<h1>{_e(board.title)}</h1>")
    out += ['<table class="board">', f"<caption>{_e(board.caption)}</caption>", *_thead(board)]
    for group, rows in grouped_rows(board):
        out.append(f'<tbody class="measured" data-group="{_e(group or "")}">')
        if group:
            out.append(f'<tr class="group"><th colspan="{span}">{_e(group)}</th></tr>')
        for row in rows:
            cells = "".join(_cell(cell_text(board, row, c.id)) for c in board.columns)
            out.append(f'<tr class="run"><th scope="row" data-v="{_e(row.label)}">{_e(row_label(row))}</th>{cells}</tr>')
        out.append("</tbody>")
    if board.reported_rows:
        out.append('<tbody class="reported">')
        out.append(f'<tr class="section"><th colspan="{span}">{_e(REPORTED_HEADING)}</th></tr>')
        for row in board.reported_rows:
            cells = "".join(_cell(cell_text(board, row, c.id)) for c in board.columns)
            out.append(f'<tr class="rep"><th scope="row">{_e(row_label(row))}</th>{cells}</tr>')
        out.append("</tbody>")
    out.append("</table>")
    if board.notes:
        out.append('<ol class="notes">')
        out += [f"<li>{_e(n)}</li>" for n in board.notes]
        out.append("</ol>")
    if plots:
        out.append('<section class="plots">')
        out += [_embed(p) for p in plots]
        out.append("</section>")
    out += [f"<script>{JS}</script>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
