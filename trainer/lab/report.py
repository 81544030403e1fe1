"""A lab record (``lab.json``) -> a table ``rldf board`` renders, and two plots.

The table is ordinary leaderboard input: one ``results.json`` (``RunResult``) per (estimator
variant, metric) under ``OUT/board/``, where the "task" is the metric and the protocol is the lab
run (its hash: the batch hash and settings, so tables never mix two labs), plus a spec
(``OUT/board/spec.yaml``) naming the rows in measured order and each column's scale. So

    rldf board OUT/board --spec OUT/board/spec.yaml --format md|latex|csv|html|terminal

renders it with the project's one table code. Plots: cosine with the reference vs forwards per
draw, and first-order usefulness vs forwards per draw, each with its 95% CI.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import yaml

from harness.io import atomic_write_text
from harness.results import Metric, RunResult

# (metric id, column label, scale): the board's columns, in order
COLUMNS = (
    ("cos_ref", "cos(mean, ref) x100", 100.0),
    ("mean_cos", "mean per-draw cos x100", 100.0),
    ("rel_var", "relative variance", 1.0),
    ("draws_to_0.9", "draws to cos 0.9", 1.0),
    ("forwards", "forwards / draw", 1.0),
    ("seconds", "seconds / draw", 1.0),
    ("usefulness", "first-order reward change (pp)", 100.0),
    ("gain", "reward gain of the step (pp)", 100.0),
)


def _safe(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)


def _rows(record: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(row id, label, metrics incl. usefulness) for the reference and each measured variant."""
    rows = []
    for e in record["estimators"]:
        m = dict(e["metrics"])
        if e.get("usefulness") and e["usefulness"]["n"]:
            m["usefulness"], m["gain"] = e["usefulness"], e["usefulness"]["gain"]
        label = e["label"] + (f" (= {', '.join(e['aliases'])})" if e["aliases"] else "")
        rows.append((_safe(e["label"]), label, m))
    return rows


def board_results(record: dict[str, Any], out: Path) -> Path:
    """Write ``out/board/<row>/<metric>/results.json`` and ``out/board/spec.yaml``; returns the spec."""
    board = out / "board"
    settings = {k: v for k, v in record["settings"].items() if k != "config"}
    protocol_hash = hashlib.sha256(json.dumps([record["batch"]["hash"], settings], sort_keys=True).encode()).hexdigest()
    name = f"estimator-lab {record['model']['path']} {record['task']['name']}"
    rows = _rows(record)
    for rid, label, metrics in rows:
        for mid, _, _ in COLUMNS:
            if mid not in metrics or not math.isfinite(metrics[mid]["value"]):
                continue
            m = metrics[mid]
            result = RunResult(
                model={"id": label, "label": label, "method": rid, "path": record["model"]["path"],
                       "weights_hash": record["model"]["weights_hash"]},
                task={"name": mid, "version": "lab-1", "split": record["task"]["name"]},
                protocol={"name": name, "hash": protocol_hash, "settings": {**settings, "batch_hash": record["batch"]["hash"]},
                          "external": False},
                metrics={mid: Metric(value=m["value"], n=m["n"], ci_low=m["ci_low"], ci_high=m["ci_high"],
                                     ci_method=m["ci_method"])},
                counts={"n_items": m["n"], "n_samples": m["n"]},
                seed=record["settings"]["config"]["run"]["seed"], git_sha=record["git_sha"],
                packages=record["packages"], started_at=record["started_at"], finished_at=record["finished_at"],
            )
            result.save(board / rid / mid / "results.json")
    spec = {
        "name": "estimator_lab",
        "title": f"Estimator lab: {record['model']['path']} on {record['task']['name']}",
        "caption": (f"Gradients of each estimator on one fixed batch (hash {record['batch']['hash'][:12]}, "
                    f"{record['batch']['rows']} rollouts) vs the full-trajectory gradient (trace, every step); "
                    f"{settings['draws']} draws each, 95% bootstrap CIs over draws. Reward change: first-order (central "
                    f"difference) effect of a step of L2 norm {settings['step_size']} along the normalised mean "
                    f"gradient, {settings['samples']} samples per prompt, CI over (prompt, sample) pairs."),
        "results": ["**/results.json"],
        "rows": [{"id": rid, "label": label, "match": {"model.method": rid}} for rid, label, _ in rows],
        "columns": {"tasks": [{"name": mid, "label": lab, "metric": mid, "scale": sc, "fraction": False}
                              for mid, lab, sc in COLUMNS]},
    }
    path = board / "spec.yaml"
    atomic_write_text(path, yaml.safe_dump(spec, sort_keys=False, width=120))
    return path


def write_report(record: dict[str, Any], out: Path) -> list[Path]:
    """The board folder and the two plots (PNG) for a lab record; returns the written paths."""
    from leaderboards.lab_plots import plot_lab

    return [board_results(record, out), *plot_lab(record, out)]
