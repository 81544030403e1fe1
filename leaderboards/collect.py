"""Find and load RunResult files; report every file that cannot be used instead of dropping it.

A leaderboard is only trustworthy if nothing silently falls out of it. So collection returns
two lists: the runs that load and the files that do not (with a reason), and the renderers put
the second list in a visible footnote. Paths are kept as the user typed them (the RESULTS
argument joined with the path below it) so footnotes and golden files do not depend on where
the checkout lives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.results import ResultFileError, RunResult, read_run_result

RESULTS_NAME = "results.json"


@dataclass(frozen=True)
class Skipped:
    """A result file that was found but not used, and why (shown to the user, never dropped)."""

    path: str
    reason: str


@dataclass
class Run:
    """One loaded RunResult plus where it came from."""

    path: str  # display path (as given on the command line + relative part)
    file: Path  # real location, for reading samples.jsonl beside it
    result: RunResult
    data: dict[str, Any] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.data:
            self.data = self.result.to_dict()
            self.data["path"] = self.path
            self.data["default_label"] = _default_label(self.data)

    def get(self, dotted: str) -> Any:
        """Value of a dotted field such as ``model.method`` or ``protocol.settings.gen_length``.

        Returns None when any component is missing. Pseudo-fields: ``path`` (the display path) and
        ``default_label`` (the row label used without a spec).
        """
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    @property
    def samples_file(self) -> Path:
        return self.file.parent / (self.result.samples_file or "samples.jsonl")

    @property
    def protocol_hash(self) -> str:
        return str(self.result.protocol.get("hash"))

    @property
    def protocol_name(self) -> str:
        return str(self.result.protocol.get("name") or "?")


def _default_label(data: dict[str, Any]) -> str:
    """The model label if set, else its id plus method and step when present."""
    model = data.get("model") or {}
    if model.get("label"):
        return str(model["label"])
    text = str(model.get("id"))
    method = model.get("method")
    if method and str(method) not in text:
        text += f" [{method}]"
    if model.get("step") is not None:
        text += f" @{model['step']}"
    return text


@dataclass
class Collection:
    runs: list[Run]
    skipped: list[Skipped]


def find_result_files(paths: list[str], patterns: list[str] | None = None) -> list[tuple[str, Path]]:
    """Expand RESULTS arguments into (display path, real path) pairs, sorted and de-duplicated.

    A file argument is taken as is. A directory is searched with ``patterns`` (globs relative to
    it; default: every ``results.json`` below it). A missing path, or a directory without any
    match, is a user error: a typo there would otherwise produce a quietly smaller table.
    """
    patterns = patterns or [f"**/{RESULTS_NAME}"]
    found: dict[Path, str] = {}
    for arg in paths:
        root = Path(arg)
        if root.is_file():
            found.setdefault(root.resolve(), arg)
            continue
        if not root.is_dir():
            raise UserError(f"{arg}: no such file or directory (expected a results.json or a folder of results)")
        matches = sorted({p for pat in patterns for p in root.glob(pat) if p.is_file()})
        if not matches:
            raise UserError(f"{arg}: no file matching {', '.join(patterns)} below this folder")
        for p in matches:
            display = (Path(arg) / p.relative_to(root)).as_posix()
            found.setdefault(p.resolve(), display)
    return sorted(((d, p) for p, d in found.items()), key=lambda t: t[0])


def _problem(result: RunResult, name: str, fraction: bool = True) -> str | None:
    """Why a syntactically valid result cannot fill a cell (None when it can). ``fraction``: the
    metric must lie in [0, 1] (accuracies); otherwise any finite value (cosines, counts)."""
    m = result.metrics.get(name)
    if m is None:
        have = ", ".join(sorted(result.metrics)) or "none"
        return f"no metric '{name}' (has: {have}); the run may be incomplete"
    ok = (lambda x: 0.0 <= x <= 1.0) if fraction else math.isfinite
    if not ok(float(m.value)):
        return f"metric '{name}' = {m.value} is not a fraction in [0, 1]" if fraction else f"metric '{name}' = {m.value} is not finite"
    if m.n <= 0:
        return f"metric '{name}' was computed over n = {m.n} items"
    for bound in (m.ci_low, m.ci_high):
        if bound is not None and (math.isnan(float(bound)) or not ok(float(bound))):
            return f"metric '{name}' has an invalid CI bound {bound}"
    return None


def load_runs(files: list[tuple[str, Path]], metric_for_task: Callable[[str], str],
              fraction_for_task: Callable[[str], bool] = lambda task: True) -> Collection:
    """Load each file; unreadable, invalid or incomplete ones go to ``skipped`` with a reason.

    ``metric_for_task`` names the metric the table will read for a task; a run without it is
    incomplete. ``fraction_for_task``: whether that metric must be a fraction in [0, 1].
    """
    runs: list[Run] = []
    skipped: list[Skipped] = []
    for display, real in files:
        try:
            result = read_run_result(real)
        except ResultFileError as exc:
            reason = str(exc)
            prefix = f"{real}: "
            skipped.append(Skipped(display, reason[len(prefix):] if reason.startswith(prefix) else reason))
            continue
        except (TypeError, ValueError) as exc:  # a field of the wrong type inside an otherwise valid file
            skipped.append(Skipped(display, f"invalid result ({exc})"))
            continue
        task = str(result.task.get("name"))
        problem = _problem(result, metric_for_task(task), fraction_for_task(task))
        if problem:
            skipped.append(Skipped(display, problem))
            continue
        runs.append(Run(path=display, file=real, result=result))
    return Collection(runs=runs, skipped=skipped)
