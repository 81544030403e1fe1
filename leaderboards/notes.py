"""Footnotes: the plain-text sentences that say what every mark in a table means.

A number without its definition invites misreading, so each table states the CI it shows, what
bold means, which baseline a delta is against and which test made a mark, every pooled cell,
every mixed-protocol column, each reported number's citation and provenance, and each result
file that was skipped. Notes are plain text; renderers escape them for their format.
"""

from __future__ import annotations

from typing import Any

from leaderboards.reported import PROVENANCE, ReportedEntry
from leaderboards.spec import Spec


def _join(items: list[str]) -> str:
    return "; ".join(items)


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _significance_note(spec: Spec) -> str:
    return (
        "* p < 0.05, ** p < 0.01 against the baseline row: two-sided paired bootstrap over items matched by "
        "item_id (per-item score = the item's value of the column's metric, as in results.json: for accuracy the "
        "fraction of its scorable samples verified correct; "
        f"{spec.n_boot} resamples, seed {spec.seed}; p = 2·min(P*(mean d ≤ 0), P*(mean d ≥ 0)) for the "
        "per-item difference d). No mark: p ≥ 0.05. No correction for multiple comparisons."
    )


def build_notes(
    *,
    spec: Spec,
    stats: dict,
    records: list[dict[str, Any]],
    baselines: dict[str, str],
    row_label: dict[str, str],
    columns: list,
    mixed: dict[str, str],
    across_groups: dict[str, str],
    entries: list[ReportedEntry],
    unplaced: list[str],
    sig_problems: list[str],
    partial_overlap: list[str],
    short_files: list[str],
    skipped: list,
) -> list[str]:
    """All footnotes of one table, in reading order."""
    notes: list[str] = []
    col_label = {c.id: c.label for c in columns}
    measured = [r for r in records if r["kind"] == "measured"]
    if measured:
        sources = sorted({st.ci_source for st in stats.values() if st.ci_low is not None})
        percent = all(c.scale == 100.0 for c in columns)
        text = "Cells: " + ("accuracy in %" if percent else "the quantity named in the column header") + \
            " ± half-width of its 95% CI"
        text += f" (CI: {', '.join(sources)})." if sources else "."
        if any(st.ci_low is None for st in stats.values()):
            text += " No ± where no CI was available."
        notes.append(text)
    if any(r["best"] for r in measured):
        scope = "within its column and group" if spec.protocol_scope == "group" else "in its column"
        notes.append(f"Bold: highest measured value {scope} at the precision shown (ties all bold); reported rows excluded.")
    if any(r["delta"] is not None for r in measured):
        used = sorted({baselines[r["row_id"]] for r in measured if r["delta"] is not None})
        notes.append(
            "(+x.x): difference in percentage points to the baseline row "
            + ", ".join(f"'{row_label[b]}'" for b in used)
            + (" of the same group." if spec.groups and len(used) > 1 else ".")
        )
    if any(r["p_value"] is not None for r in measured):
        notes.append(_significance_note(spec))
    if partial_overlap:
        notes.append("Significance on the items both runs share only: " + _join(partial_overlap) + ".")
    if sig_problems:
        notes.append("No significance test for: " + _join(sig_problems) + ".")
    pooled = [(k, st) for k, st in stats.items() if st.pooled]
    if pooled:
        notes.append(
            "Pooled cells (several runs, e.g. seeds): "
            + _join(f"{row_label[rid]}, {col_label.get(cid, cid)}: {len(st.runs)} runs" for (rid, cid), st in pooled)
            + ". Per-item pooling of all samples; the CI covers items, not run-to-run variance."
        )
    for desc in mixed.values():
        notes.append(f"‡ Mixed protocols allowed by --allow-mixed-protocols in {desc}. These values are not comparable, so none is marked best.")
    for cid, desc in across_groups.items():
        notes.append(
            f"Column '{col_label.get(cid, cid)}': groups use different protocols ({desc}); compare rows within a group only."
        )
    if short_files:
        notes.append("Incomplete samples files: " + _join(short_files) + ".")
    if entries:
        tags = ", ".join(f"[{k}] {v}" for k, v in PROVENANCE.items())
        notes.append(
            "Reported rows (italic, after the rule) are published numbers copied from the cited source, not "
            "measured here; each used its own protocol, so they are context only: never bold, never tested. "
            f"Provenance: {tags}."
        )
        for e in entries:
            text = f"{e.label} [{e.provenance}]: {e.source.short()}. Protocol: {_sentence(e.protocol)}"
            if e.note:
                text += f" Note: {_sentence(e.note)}"
            notes.append(text)
    if unplaced:
        notes.append("Reported values with no matching column (not shown in the table): " + _join(unplaced) + ".")
    for s in skipped:
        notes.append(f"Skipped result file {s.path}: {s.reason}")
    return notes
