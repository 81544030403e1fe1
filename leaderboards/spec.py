"""Table specs: which results go in a table, as which rows and columns, in what order, labelled how.

A spec is a small YAML file (``leaderboards/specs/*.yaml``) so a paper table is reproducible
from result files alone. Without a spec, rows are models and columns are task x protocol name.
Every problem is reported as one line naming the spec file and the field. Format::

    name: rldf_main                 # default: file stem
    title: ...                      # optional heading
    caption: ...                    # table caption
    results: ["**/results.json"]    # globs below each RESULTS folder (default shown)
    protocol_scope: column          # or "group": one protocol per column *within a group*
    bootstrap: {samples: 10000, seed: 0}
    baseline: base                  # row id for deltas/significance (or per group, below)
    groups:                         # optional row blocks, each with its own baseline
      - {id: llada, label: LLaDA-8B-Instruct, baseline: llada-base}
    rows:                           # in display order; a run matches when every field matches
      - id: llada-base
        label: LLaDA-8B-Instruct
        group: llada
        match: {model.family: llada, model.method: [base, null]}   # patterns; null = field absent
        optional: false             # true: no "rows without results" note when nothing matches
    columns:
      tasks: [{name: gsm8k, label: GSM8K, metric: accuracy}]   # also scale: 100 (shown as %), fraction: true
      variants: {key: protocol.settings.gen_length, name: gen_length, values: [128, 256, 512], label: "{value}"}
    reported:                       # published numbers, shown as separate rows
      - {file: d1.yaml, entry: llada-d1-parser, label: optional override}

Match fields are dotted paths into the RunResult (``model.method``, ``protocol.external``, ...)
plus ``path`` (the result file); values are shell-style patterns compared as strings. A run
that matches two rows is an error; one that matches no row or column is listed on stderr.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from harness.config_io import check_keys, read_yaml
from harness.errors import UserError
from leaderboards.collect import Run
from leaderboards.significance import DEFAULT_BOOTSTRAP, DEFAULT_SEED

SPECS_DIR = Path(__file__).parent / "specs"
SCOPES = ("column", "group")


@dataclass(frozen=True)
class RowSpec:
    id: str
    label: str
    match: dict[str, tuple[str | None, ...]]  # dotted field -> accepted patterns (any); None = field absent
    group: str | None = None
    optional: bool = False  # expected to be absent in some tables (e.g. estimators a demo did not run)

    def matches(self, run: Run) -> bool:
        for key, patterns in self.match.items():
            value = run.get(key)
            if value is None:
                if None not in patterns:
                    return False
            elif not any(p is not None and fnmatchcase(str(value), p) for p in patterns):
                return False
        return True


@dataclass(frozen=True)
class GroupSpec:
    id: str
    label: str
    baseline: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    name: str
    label: str
    metric: str = "accuracy"
    scale: float = 100.0  # shown value = scale x metric value (100: fractions as percent; 1: counts, seconds)
    fraction: bool = True  # the metric is a fraction in [0, 1] (checked); false: any finite number (a cosine, a count)


@dataclass(frozen=True)
class VariantSpec:
    key: str  # dotted field of the RunResult, e.g. protocol.settings.gen_length
    name: str  # what reported entries call it, e.g. gen_length
    values: tuple[str, ...]
    label: str = "{value}"


@dataclass(frozen=True)
class ReportedRef:
    file: Path
    entry: str
    label: str | None = None


@dataclass
class Spec:
    name: str
    rows: list[RowSpec]
    tasks: list[TaskSpec]
    variants: VariantSpec | None
    title: str | None = None
    caption: str | None = None
    results: list[str] = field(default_factory=lambda: ["**/results.json"])
    groups: list[GroupSpec] = field(default_factory=list)
    baseline: str | None = None
    reported: list[ReportedRef] = field(default_factory=list)
    protocol_scope: str = "column"
    n_boot: int = DEFAULT_BOOTSTRAP
    seed: int = DEFAULT_SEED
    source: str | None = None  # the YAML file, for messages

    def metric_for_task(self, task: str) -> str:
        for t in self.tasks:
            if t.name == task:
                return t.metric
        return self.tasks[0].metric if self.tasks else "accuracy"

    def fraction_for_task(self, task: str) -> bool:
        """Whether the task's column holds a fraction in [0, 1] (what ``load_runs`` checks)."""
        return next((t.fraction for t in self.tasks if t.name == task), True)


def resolve_spec_path(arg: str) -> Path:
    """A spec path, or the bare name of a shipped spec (``rldf_main`` -> specs/rldf_main.yaml)."""
    p = Path(arg)
    if p.is_file():
        return p
    shipped = SPECS_DIR / f"{arg}.yaml"
    if shipped.is_file():
        return shipped
    names = ", ".join(sorted(s.stem for s in SPECS_DIR.glob("*.yaml")))
    raise UserError(f"--spec {arg}: no such file and no shipped spec of that name (shipped: {names})")


def _str_list(value: Any, where: str, allow_null: bool = False) -> tuple:
    items = value if isinstance(value, list) else [value]
    if not items or any((v is None and not allow_null) or isinstance(v, (dict, list)) for v in items):
        raise UserError(f"{where}: expected a value or a list of values")
    return tuple(None if v is None else str(v) for v in items)


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise UserError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _require(d: dict, key: str, where: str) -> Any:
    if d.get(key) in (None, ""):
        raise UserError(f"{where}: missing '{key}'")
    return d[key]


_TOP_KEYS = {
    "name", "title", "caption", "results", "rows", "columns", "groups", "baseline", "reported",
    "protocol_scope", "bootstrap", "metric",
}


def load_spec(path: str | Path) -> Spec:
    """Parse and validate a spec file."""
    path = Path(path)
    src = str(path)
    raw = read_yaml(path, "spec")
    check_keys(raw, sorted(_TOP_KEYS), src)
    metric = str(raw.get("metric", "accuracy"))

    groups = []
    for i, g in enumerate(raw.get("groups") or []):
        g = _mapping(g, f"{src}: groups[{i}]")
        gid = str(_require(g, "id", f"{src}: groups[{i}]"))
        groups.append(GroupSpec(gid, str(g.get("label", gid)), g.get("baseline")))
    group_ids = {g.id for g in groups}

    rows = []
    for i, r in enumerate(raw.get("rows") or []):
        where = f"{src}: rows[{i}]"
        r = _mapping(r, where)
        rid = str(_require(r, "id", where))
        match = _mapping(_require(r, "match", where), f"{where}.match")
        group = r.get("group")
        if group is not None and str(group) not in group_ids:
            raise UserError(f"{where}.group: '{group}' is not one of the groups ({', '.join(sorted(group_ids)) or 'none defined'})")
        rows.append(RowSpec(
            id=rid,
            label=str(r.get("label", rid)),
            match={str(k): _str_list(v, f"{where}.match.{k}", allow_null=True) for k, v in match.items()},
            group=str(group) if group is not None else None,
            optional=bool(r.get("optional", False)),
        ))
    if not rows:
        raise UserError(f"{src}: 'rows' must list at least one row (id, label, match)")
    ids = [r.id for r in rows]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        raise UserError(f"{src}: duplicate row id(s) {', '.join(dupes)}")
    if groups and any(r.group is None for r in rows):
        raise UserError(f"{src}: when 'groups' are defined every row needs a 'group'")

    tasks, variants = _columns(raw, src, metric)

    for gi, g in enumerate(groups):
        if g.baseline is not None and g.baseline not in ids:
            raise UserError(f"{src}: groups[{gi}].baseline '{g.baseline}' is not a row id")
    baseline = raw.get("baseline")
    if baseline is not None and str(baseline) not in ids:
        raise UserError(f"{src}: baseline '{baseline}' is not a row id ({', '.join(ids)})")

    reported = _reported_refs(raw, src, path.parent)
    scope = str(raw.get("protocol_scope", "column"))
    if scope not in SCOPES:
        raise UserError(f"{src}: protocol_scope '{scope}' must be one of {', '.join(SCOPES)}")
    boot = _mapping(raw.get("bootstrap") or {}, f"{src}: bootstrap")
    n_boot = int(boot.get("samples", DEFAULT_BOOTSTRAP))
    if n_boot < 100:
        raise UserError(f"{src}: bootstrap.samples must be at least 100, got {n_boot}")
    results = list(_str_list(raw["results"], f"{src}: results")) if raw.get("results") else ["**/results.json"]
    return Spec(
        name=str(raw.get("name", path.stem)), rows=rows, tasks=tasks, variants=variants,
        title=raw.get("title"), caption=raw.get("caption"), results=results, groups=groups,
        baseline=str(baseline) if baseline is not None else None, reported=reported,
        protocol_scope=scope, n_boot=n_boot, seed=int(boot.get("seed", DEFAULT_SEED)), source=src,
    )


def _columns(raw: dict[str, Any], src: str, metric: str) -> tuple[list[TaskSpec], VariantSpec | None]:
    """``columns.tasks`` (each with its metric) and the optional ``columns.variants``."""
    cols = _mapping(_require(raw, "columns", src), f"{src}: columns")
    tasks = []
    for i, t in enumerate(cols.get("tasks") or []):
        where = f"{src}: columns.tasks[{i}]"
        t = {"name": t} if isinstance(t, str) else _mapping(t, where)
        name = str(_require(t, "name", where))
        scale = t.get("scale", 100.0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            raise UserError(f"{where}.scale: {scale!r} must be a positive number (100 shows fractions as percent)")
        fraction = t.get("fraction", True)
        if not isinstance(fraction, bool):
            raise UserError(f"{where}.fraction: {fraction!r} must be true or false")
        tasks.append(TaskSpec(name, str(t.get("label", name)), str(t.get("metric", metric)), float(scale), fraction))
    if not tasks:
        raise UserError(f"{src}: columns.tasks must list at least one task")
    if cols.get("variants") is None:
        return tasks, None
    v = _mapping(cols["variants"], f"{src}: columns.variants")
    key = str(_require(v, "key", f"{src}: columns.variants"))
    return tasks, VariantSpec(
        key=key,
        name=str(v.get("name", key.rsplit(".", 1)[-1])),
        values=_str_list(_require(v, "values", f"{src}: columns.variants"), f"{src}: columns.variants.values"),
        label=str(v.get("label", "{value}")),
    )


def _reported_refs(raw: dict[str, Any], src: str, spec_dir: Path) -> list[ReportedRef]:
    """The ``reported`` entries, each file found next to the spec or among the shipped ones."""
    refs = []
    for i, ref in enumerate(raw.get("reported") or []):
        where = f"{src}: reported[{i}]"
        ref = _mapping(ref, where)
        refs.append(ReportedRef(
            file=_resolve_reported(str(_require(ref, "file", where)), spec_dir, where),
            entry=str(_require(ref, "entry", where)),
            label=ref.get("label"),
        ))
    return refs


def _resolve_reported(name: str, spec_dir: Path, where: str) -> Path:
    from leaderboards.reported import REPORTED_DIR

    for candidate in (spec_dir / name, REPORTED_DIR / name, Path(name)):
        if candidate.is_file():
            return candidate
    raise UserError(f"{where}.file: '{name}' not found next to the spec or in {REPORTED_DIR}")


def default_spec(runs: list[Run]) -> Spec:
    """Rows = model label (or id + method + step), columns = task x protocol name, in sorted order."""
    rows: dict[str, RowSpec] = {}
    for run in runs:
        rid = str(run.get("default_label"))
        rows.setdefault(rid, RowSpec(id=rid, label=rid, match={"default_label": (glob.escape(rid),)}))
    tasks = sorted({str(r.get("task.name")) for r in runs})
    protos = sorted({r.protocol_name for r in runs})
    return Spec(
        name="default",
        rows=[rows[k] for k in sorted(rows)],
        tasks=[TaskSpec(t, t) for t in tasks],
        variants=VariantSpec(key="protocol.name", name="protocol", values=tuple(protos), label="({value})"),
    )
