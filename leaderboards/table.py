"""The table model: runs + spec -> a pandas long table of cells, row/column order, and footnotes.

Everything a renderer shows is decided here, once, so Markdown, LaTeX, CSV, HTML and the
terminal cannot disagree: which run fills which cell, its CI, the delta to the baseline row and
its significance mark, which cell is best, which columns mix protocols (refused unless allowed),
where reported numbers go, and the footnotes that explain all of it. Renderers only format.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.errors import UserError
from leaderboards.cells import CellStats, SamplesCache, cell_stats
from leaderboards.collect import Run, Skipped
from leaderboards.notes import build_notes
from leaderboards.reported import UNSTATED, ReportedEntry, get_entry
from leaderboards.significance import paired_bootstrap, significance_mark
from leaderboards.spec import Spec

MEASURED, REPORTED = "measured", "reported"
CELL_FIELDS = (
    "row_id", "row_label", "group", "kind", "column_id", "task", "variant", "value", "ci_low", "ci_high",
    "n_items", "n_runs", "delta", "p_value", "mark", "best", "provenance", "protocols", "files",
)


@dataclass(frozen=True)
class Column:
    id: str
    task: str
    task_label: str
    variant: str | None
    variant_label: str | None
    metric: str
    scale: float = 100.0

    @property
    def label(self) -> str:
        return f"{self.task_label} {self.variant_label}" if self.variant_label else self.task_label


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    kind: str
    group: str | None = None
    provenance: str | None = None
    entry: ReportedEntry | None = None


@dataclass
class Board:
    """A built table. ``cells`` has one line per filled cell (columns: ``CELL_FIELDS``)."""

    title: str | None
    caption: str
    rows: list[Row]
    columns: list[Column]
    groups: dict[str, str]
    cells: pd.DataFrame
    notes: list[str]
    skipped: list[Skipped] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # runs the spec did not select
    empty_rows: list[str] = field(default_factory=list)  # spec rows no run matched
    mixed_columns: set[str] = field(default_factory=set)
    runs: dict[tuple[str, str], list[Run]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        records = self.cells.astype(object).where(self.cells.notna(), None).to_dict("records")
        self._lookup = {(r["row_id"], r["column_id"]): r for r in records}

    def cell(self, row_id: str, column_id: str) -> dict[str, Any] | None:
        return self._lookup.get((row_id, column_id))

    @property
    def measured_rows(self) -> list[Row]:
        return [r for r in self.rows if r.kind == MEASURED]

    @property
    def reported_rows(self) -> list[Row]:
        return [r for r in self.rows if r.kind == REPORTED]


def _columns(spec: Spec) -> list[Column]:
    cols = []
    for t in spec.tasks:
        if spec.variants is None:
            cols.append(Column(t.name, t.name, t.label, None, None, t.metric, t.scale))
            continue
        for v in spec.variants.values:
            label = spec.variants.label.format(value=v)
            cols.append(Column(f"{t.name}@{v}", t.name, t.label, v, label, t.metric, t.scale))
    return cols


def _variant_str(value: Any) -> str:
    """Compare variant values as spec strings: 256, 256.0 and "256" are the same column."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _assign(runs: list[Run], spec: Spec, columns: list[Column]) -> tuple[dict, list[str]]:
    by_key = {(c.task, c.variant): c for c in columns}
    cells: dict[tuple[str, str], list[Run]] = defaultdict(list)
    ignored = []
    for run in runs:
        rows = [r for r in spec.rows if r.matches(run)]
        if len(rows) > 1:
            names = ", ".join(r.id for r in rows)
            raise UserError(f"{run.path} matches rows {names} of {spec.source or 'the spec'}; make their 'match' more specific")
        variant = None if spec.variants is None else _variant_str(run.get(spec.variants.key))
        col = by_key.get((str(run.get("task.name")), variant))
        if not rows or col is None:
            what = "no row" if not rows else f"no column (task {run.get('task.name')}, {spec.variants.key if spec.variants else 'task'} = {variant})"
            ignored.append(f"{run.path}: {what}")
            continue
        cells[(rows[0].id, col.id)].append(run)
    return cells, ignored


def _protocol_label(run: Run) -> str:
    return f"{run.protocol_name} #{run.protocol_hash[:12]}"


def _check_protocols(cells, spec: Spec, columns: list[Column], allow_mixed: bool, row_group: dict[str, str | None]):
    """Refuse a column (or, with protocol_scope: group, a column within a group) mixing protocol hashes."""
    mixed: dict[str, str] = {}  # column id -> description, for the footnote
    across_groups: dict[str, str] = {}
    for col in columns:
        scopes: dict[str | None, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for (rid, cid), runs in cells.items():
            if cid != col.id:
                continue
            scope = row_group[rid] if spec.protocol_scope == "group" else None
            for run in runs:
                scopes[scope][_protocol_label(run)].append(run.path)
        for scope, hashes in scopes.items():
            if len(hashes) < 2:
                continue
            desc = "; ".join(f"{h}: {', '.join(sorted(paths))}" for h, paths in sorted(hashes.items()))
            where = f"column '{col.label}'" + (f" (group {scope})" if scope else "")
            if not allow_mixed:
                raise UserError(
                    f"{where} mixes protocols: {desc}; evaluate under one protocol or pass --allow-mixed-protocols"
                )
            mixed[col.id] = f"{where}: {desc}"
        if spec.protocol_scope == "group":
            per_group = {g: sorted(h) for g, h in scopes.items()}
            if len({tuple(h) for h in per_group.values()}) > 1:
                across_groups[col.id] = "; ".join(f"{g}: {', '.join(h)}" for g, h in sorted(per_group.items(), key=lambda t: str(t[0])))
    return mixed, across_groups


def _baseline_for(spec: Spec, override: str | None, rows_by_id: dict) -> dict[str, str]:
    if override is not None:
        match = [r.id for r in spec.rows if override in (r.id, r.label)]
        if not match:
            raise UserError(f"--baseline {override}: no such row (rows: {', '.join(r.id for r in spec.rows)})")
        return {r.id: match[0] for r in spec.rows if r.id != match[0]}
    group_base = {g.id: g.baseline for g in spec.groups}
    out = {}
    for r in spec.rows:
        base = group_base.get(r.group) if r.group else None
        base = base or spec.baseline
        if base and base != r.id:
            out[r.id] = base
    return out


def build_board(
    runs: list[Run],
    spec: Spec,
    skipped: list[Skipped] | None = None,
    baseline: str | None = None,
    allow_mixed: bool = False,
) -> Board:
    """Assemble the table model; raises ``UserError`` for mixed protocols or a bad baseline."""
    skipped = list(skipped or [])
    columns = _columns(spec)
    assigned, ignored = _assign(runs, spec, columns)
    row_group = {r.id: r.group for r in spec.rows}
    mixed, across_groups = _check_protocols(assigned, spec, columns, allow_mixed, row_group)
    baselines = _baseline_for(spec, baseline, {r.id: r for r in spec.rows})
    cache = SamplesCache()
    col_by_id = {c.id: c for c in columns}

    stats: dict[tuple[str, str], CellStats] = {}
    for (rid, cid), cell_runs in assigned.items():
        col = col_by_id[cid]
        stats[(rid, cid)] = cell_stats(cell_runs, col.metric, cache, spec.n_boot, spec.seed, col.scale)

    records: list[dict[str, Any]] = []
    sig_problems: list[str] = []
    partial_overlap: list[str] = []
    row_label = {r.id: r.label for r in spec.rows}
    for (rid, cid), st in stats.items():
        col = col_by_id[cid]
        rec = _cell_record(rid, row_label[rid], row_group[rid], col, st)
        base_id = baselines.get(rid)
        base = stats.get((base_id, cid)) if base_id else None
        if base is not None:
            rec["delta"] = st.value - base.value
            if st.scores and base.scores:
                test = paired_bootstrap(st.scores, base.scores, spec.n_boot, spec.seed)
                if test is None:
                    sig_problems.append(f"{row_label[rid]} vs {row_label[base_id]}, {col.label}: no item in common")
                else:
                    rec["p_value"] = test.p_value
                    rec["mark"] = significance_mark(test.p_value)
                    if test.n_items < max(len(st.scores), len(base.scores)):
                        partial_overlap.append(f"{row_label[rid]}, {col.label}: {test.n_items} items")
            else:
                why = st.samples_problem or base.samples_problem or "no per-item verdicts"
                sig_problems.append(f"{row_label[rid]} vs {row_label[base_id]}, {col.label}: {why}")
        records.append(rec)

    _mark_best([r for r in records if r["column_id"] not in mixed], spec.protocol_scope == "group")
    reported_rows, unplaced, entries = _place_reported(spec, columns, records)

    filled_rows = {r["row_id"] for r in records}
    measured = [Row(r.id, r.label, MEASURED, r.group) for r in spec.rows if r.id in filled_rows]
    empty_rows = [r.id for r in spec.rows if r.id not in filled_rows and not r.optional]
    filled_cols = {r["column_id"] for r in records}
    columns = [c for c in columns if c.id in filled_cols]
    used_groups = {r.group for r in measured}
    groups = {g.id: g.label for g in spec.groups if g.id in used_groups}

    cells_df = pd.DataFrame(records, columns=list(CELL_FIELDS))
    order = {c.id: i for i, c in enumerate(columns)}
    row_order = {r.id: i for i, r in enumerate(measured + reported_rows)}
    if not cells_df.empty:
        cells_df = cells_df.sort_values(
            by=["row_id", "column_id"], key=lambda s: s.map(row_order if s.name == "row_id" else order)
        ).reset_index(drop=True)
    notes = build_notes(
        spec=spec, stats=stats, records=records, baselines=baselines, row_label=row_label,
        columns=columns, mixed=mixed, across_groups=across_groups, entries=entries,
        unplaced=unplaced, sig_problems=sig_problems, partial_overlap=partial_overlap,
        short_files=cache.short_files, skipped=skipped,
    )
    return Board(
        title=spec.title, caption=spec.caption or "Accuracy (%) per task and protocol.",
        rows=measured + reported_rows, columns=columns, groups=groups, cells=cells_df, notes=notes,
        skipped=skipped, ignored=ignored, empty_rows=empty_rows, mixed_columns=set(mixed), runs=dict(assigned),
    )


def _cell_record(rid: str, label: str, group: str | None, col: Any, st: CellStats) -> dict[str, Any]:
    """One measured cell as a row of ``Board.cells`` (delta, p-value and best filled in later)."""
    rec = dict.fromkeys(CELL_FIELDS)
    rec.update(
        row_id=rid, row_label=label, group=group, kind=MEASURED, column_id=col.id,
        task=col.task, variant=col.variant, value=st.value, ci_low=st.ci_low, ci_high=st.ci_high,
        n_items=st.n_items, n_runs=len(st.runs), mark="", best=False,
        protocols="; ".join(sorted({_protocol_label(r) for r in st.runs})),
        files="; ".join(r.path for r in st.runs),
    )
    return rec


def _mark_best(records: list[dict[str, Any]], per_group: bool) -> None:
    """Bold the highest measured value (at display precision) per column, or per column and group.

    Columns that mix protocols (allowed by flag) are left out by the caller: their values are not
    comparable, so no cell in them is "best".
    """
    blocks: dict[tuple, list[dict]] = defaultdict(list)
    for rec in records:
        blocks[(rec["column_id"], rec["group"] if per_group else None)].append(rec)
    for recs in blocks.values():
        if len(recs) < 2:
            continue
        top = max(round(r["value"], 1) for r in recs)
        for r in recs:
            r["best"] = round(r["value"], 1) == top


def _place_reported(
    spec: Spec, columns: list[Column], records: list[dict]
) -> tuple[list[Row], list[str], list[ReportedEntry]]:
    """Reported rows: values go only into columns of the same task and the same variant value.

    Values that fit no column (other length, length not stated) are listed for a footnote, and a
    reported row with no placed value is not drawn at all (its numbers are in that footnote).
    """
    rows: list[Row] = []
    unplaced: list[str] = []
    entries: list[ReportedEntry] = []
    tasks = {c.task for c in columns}
    for ref in spec.reported:
        entry = get_entry(ref.file, ref.entry)
        entries.append(entry)
        row = Row(f"reported:{ref.file.stem}:{entry.id}", ref.label or entry.label, REPORTED,
                  provenance=entry.provenance, entry=entry)
        placed = set()
        for col in columns:
            vals = entry.values.get(col.task, {})
            if col.variant is None:
                key = UNSTATED if UNSTATED in vals else None
            else:
                same_kind = spec.variants is not None and entry.variant == spec.variants.name
                key = col.variant if same_kind and col.variant in vals else None
            if key is None:
                continue
            rv = vals[key]
            placed.add((col.task, key))
            rec = dict.fromkeys(CELL_FIELDS)
            rec.update(row_id=row.id, row_label=row.label, kind=REPORTED, column_id=col.id, task=col.task,
                       variant=col.variant, value=rv.value, mark="", best=False, provenance=rv.provenance,
                       files=entry.source.key)
            records.append(rec)
        missing = []
        for task, vals in entry.values.items():
            for key, rv in vals.items():
                if task in tasks and (task, key) not in placed:
                    where = "" if key == UNSTATED else f" at {entry.variant or 'variant'} {key}"
                    tag = f" [{rv.provenance}]" if rv.provenance != entry.provenance else ""
                    missing.append(f"{task} {rv.value:g}{where}{tag}")
        if missing:
            unstated = any(UNSTATED in entry.values.get(t, {}) for t in tasks)
            what = (spec.variants.name if spec.variants else "variant") + " not stated" if unstated else ""
            unplaced.append(f"{row.label} [{entry.provenance}]: {', '.join(missing)}" + (f" ({what})" if what else ""))
        if placed:
            rows.append(row)
    return rows, unplaced, entries
