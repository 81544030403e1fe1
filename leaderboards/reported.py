"""Published numbers (``leaderboards/reported/*.yaml``), kept apart from what we measured.

Papers re-quote each other's baselines inconsistently (d1's own "d1" GSM8K is 82.1, wd1's
chart says 82.0) and each uses its own prompt, length and parser, so a reported number is
context, not a measurement: tables show reported rows in their own section, never use them for
"best" or significance, and carry each number's citation and provenance tag:

- ``S``: seen in the source (paper table, README, figure or page);
- ``R``: recomputed from the source's released generations with the source's own parser;
- ``D``: derived by arithmetic from ``S`` numbers;
- ``M``: from memory of the paper, not checked against it (verify before relying on it).

File format: ``source`` (key, citation, arxiv, repo, compiled_from) and ``entries``: each with
``id``, ``label``, ``model``, ``provenance``, ``protocol`` (free-text notes), optional ``note`` and
``variant`` (what the keys under a task mean, e.g. ``gen_length``), and ``values``:
``{task: number}`` when the source does not state the variant, or ``{task: {variant: number}}``.
A number may be ``{value: 82.1, provenance: S, note: ...}`` to override the entry's tag.
Values are percentages, as published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config_io import read_yaml
from harness.errors import UserError

REPORTED_DIR = Path(__file__).parent / "reported"
PROVENANCE = {
    "S": "seen in the source",
    "R": "recomputed from the source's released generations with its own parser",
    "D": "derived by arithmetic from seen numbers",
    "M": "from memory of the paper, not verified",
}
UNSTATED = "unstated"  # variant key for values whose source does not state e.g. the length


@dataclass(frozen=True)
class Source:
    key: str
    citation: str
    arxiv: str | None = None
    repo: str | None = None
    compiled_from: str | None = None

    def short(self) -> str:
        parts = [self.citation]
        if self.arxiv:
            parts.append(f"arXiv:{self.arxiv}")
        if self.repo:
            parts.append(self.repo)
        return ", ".join(parts)


@dataclass(frozen=True)
class ReportedValue:
    value: float
    provenance: str
    note: str | None = None


@dataclass
class ReportedEntry:
    id: str
    label: str
    model: str
    provenance: str
    protocol: str
    source: Source
    values: dict[str, dict[str, ReportedValue]]  # task -> variant value (or "unstated") -> number
    variant: str | None = None
    note: str | None = None
    method: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _value(raw: Any, default_prov: str, where: str) -> ReportedValue:
    prov, note = default_prov, None
    if isinstance(raw, dict):
        if "value" not in raw:
            raise UserError(f"{where}: a mapping value needs 'value'")
        prov = str(raw.get("provenance", default_prov))
        note = raw.get("note")
        raw = raw["value"]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 100:
        raise UserError(f"{where}: expected a percentage between 0 and 100, got {raw!r}")
    if prov not in PROVENANCE:
        raise UserError(f"{where}: provenance '{prov}' must be one of {', '.join(PROVENANCE)}")
    return ReportedValue(float(raw), prov, note)


def load_reported(path: str | Path) -> list[ReportedEntry]:
    """Parse and validate one reported-numbers file."""
    path = Path(path)
    src = str(path)
    raw = read_yaml(path, "reported-numbers file")
    if not isinstance(raw.get("source"), dict) or not isinstance(raw.get("entries"), list):
        raise UserError(f"{src}: expected a mapping with 'source' (mapping) and 'entries' (list)")
    s = raw["source"]
    for key in ("key", "citation"):
        if not s.get(key):
            raise UserError(f"{src}: source.{key} is required")
    source = Source(str(s["key"]), str(s["citation"]), s.get("arxiv") and str(s["arxiv"]), s.get("repo"), s.get("compiled_from"))
    entries = []
    for i, e in enumerate(raw["entries"]):
        where = f"{src}: entries[{i}]"
        if not isinstance(e, dict):
            raise UserError(f"{where}: expected a mapping")
        for key in ("id", "label", "model", "provenance", "protocol", "values"):
            if e.get(key) in (None, ""):
                raise UserError(f"{where}: missing '{key}'")
        prov = str(e["provenance"])
        if prov not in PROVENANCE:
            raise UserError(f"{where}.provenance: '{prov}' must be one of {', '.join(PROVENANCE)}")
        if not isinstance(e["values"], dict):
            raise UserError(f"{where}.values: expected a mapping task -> number or task -> {{variant: number}}")
        values: dict[str, dict[str, ReportedValue]] = {}
        for task, tv in e["values"].items():
            w = f"{where}.values.{task}"
            if isinstance(tv, dict) and "value" not in tv:
                if not e.get("variant"):
                    raise UserError(f"{w}: per-variant values need the entry's 'variant' (e.g. gen_length)")
                values[str(task)] = {str(k): _value(v, prov, f"{w}.{k}") for k, v in tv.items()}
            else:
                values[str(task)] = {UNSTATED: _value(tv, prov, w)}
        entries.append(ReportedEntry(
            id=str(e["id"]), label=str(e["label"]), model=str(e["model"]), provenance=prov,
            protocol=str(e["protocol"]), source=source, values=values,
            variant=e.get("variant"), note=e.get("note"), method=e.get("method"),
        ))
    ids = [e.id for e in entries]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        raise UserError(f"{src}: duplicate entry id(s) {', '.join(dupes)}")
    return entries


def get_entry(path: Path, entry_id: str) -> ReportedEntry:
    """The entry ``entry_id`` of a reported file; the error lists the ids that exist."""
    entries = load_reported(path)
    for e in entries:
        if e.id == entry_id:
            return e
    raise UserError(f"{path}: no entry '{entry_id}' (entries: {', '.join(e.id for e in entries)})")
