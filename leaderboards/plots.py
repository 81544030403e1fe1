"""Plots (matplotlib, Agg backend; PNG and SVG): training curves and accuracy vs NFE.

Training curves answer "did it learn, and at what cost in time": reward and held-out accuracy
against optimizer step and against wall time, several runs overlaid, because estimators differ
in cost per step. Accuracy vs NFE answers "does the gain survive faster decoding": one panel per
task, one line per table row through its columns (e.g. generation lengths or thresholds), with
95% CI bars. Output is deterministic (fixed SVG hash salt, no dates) so re-renders diff cleanly.
"""

from __future__ import annotations

from pathlib import Path

from leaderboards.table import Board
from leaderboards.trainlogs import TrainingLog


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "rldf-leaderboards"
    plt.rcParams["svg.fonttype"] = "none"
    return plt


def _save(fig, out_dir: Path, name: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.svg"]
    fig.savefig(paths[0], dpi=120, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return paths


def plot_training_curves(logs: list[TrainingLog], out_dir: Path) -> list[Path]:
    """Reward (and eval accuracy, if any run logs it) vs step and vs time; returns written files."""
    if not logs:
        return []
    plt = _pyplot()
    with_acc = any(lg.has_accuracy for lg in logs)
    nrows = 2 if with_acc else 1
    fig, axes = plt.subplots(nrows, 2, figsize=(11, 3.6 * nrows), squeeze=False)
    panels = [("reward_mean", "reward (mean)")] + ([("eval_accuracy", "eval accuracy (%)")] if with_acc else [])
    for r, (col, ylabel) in enumerate(panels):
        for c, (x, xlabel) in enumerate([("step", "optimizer step"), ("time", "wall time (s)")]):
            ax = axes[r][c]
            for i, lg in enumerate(logs):  # fixed colour per run across all panels
                data = lg.frame[[x, col]].dropna()
                if data.empty:
                    continue
                if col == "eval_accuracy":
                    ax.plot(data[x], data[col], color=f"C{i % 10}", marker="o", ms=3, label=lg.label)
                    continue
                # per-step reward is noisy: faint raw line, the trend as a centred rolling mean over ~5% of steps
                window = max(5, len(data) // 20)
                smooth = data[col].rolling(window, center=True, min_periods=1).mean()
                ax.plot(data[x], data[col], color=f"C{i % 10}", alpha=0.25, lw=0.8)
                ax.plot(data[x], smooth, color=f"C{i % 10}", lw=1.8, label=f"{lg.label} (rolling mean, {window} steps)")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Training curves")
    paths = _save(fig, out_dir, "training_curves")
    plt.close(fig)
    return paths


def _speed_x(runs: list) -> tuple[float | None, float | None]:
    def mean(key: str) -> float | None:
        vals = [r.result.speed.get(key) for r in runs]
        if any(not isinstance(v, (int, float)) for v in vals):
            return None
        return sum(vals) / len(vals)

    return mean("nfe_mean"), mean("tokens_per_forward")


def plot_accuracy_vs_nfe(board: Board, out_dir: Path) -> list[Path]:
    """Accuracy vs mean NFE (or tokens per forward when NFE is missing) per task; [] if no speed data."""
    col_by_id = {c.id: c for c in board.columns}
    tasks = list(dict.fromkeys(c.task_label for c in board.columns))
    series: dict[str, dict[str, list]] = {t: {} for t in tasks}
    use_tpf: dict[str, bool] = {}
    for row in board.measured_rows:
        for col in board.columns:
            runs = board.runs.get((row.id, col.id))
            cell = board.cell(row.id, col.id)
            if not runs or cell is None:
                continue
            nfe, tpf = _speed_x(runs)
            series[col.task_label].setdefault(row.label, []).append((nfe, tpf, cell, col))
    panels = []
    for task in tasks:
        points = [p for pts in series[task].values() for p in pts]
        if points and all(p[0] is not None for p in points):
            use_tpf[task] = False
        elif points and all(p[1] is not None for p in points):
            use_tpf[task] = True
        else:
            continue
        panels.append(task)
    if not panels:
        return []
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False)
    for ax, task in zip(axes[0], panels):
        k = 1 if use_tpf[task] else 0
        for label, pts in series[task].items():
            pts = sorted(pts, key=lambda p: p[k])
            xs = [p[k] for p in pts]
            ys = [p[2]["value"] for p in pts]
            err = [[p[2]["value"] - (p[2]["ci_low"] if p[2]["ci_low"] is not None else p[2]["value"]) for p in pts],
                   [(p[2]["ci_high"] if p[2]["ci_high"] is not None else p[2]["value"]) - p[2]["value"] for p in pts]]
            ax.errorbar(xs, ys, yerr=err, marker="o", ms=4, capsize=3, label=label)
            for x, y, p in zip(xs, ys, pts):
                if col_by_id[p[3].id].variant_label:
                    ax.annotate(p[3].variant_label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_title(task)
        ax.set_xlabel("tokens per forward" if use_tpf[task] else "mean NFE per item")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Accuracy vs decoding cost")
    paths = _save(fig, out_dir, "accuracy_vs_nfe")
    plt.close(fig)
    return paths
