"""Records -> ``RunResult`` (shared by ``rldf eval`` and ``rldf rescore``) and the summary table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.eval.identity import git_sha, packages
from harness.metrics import compute_metrics
from harness.results import RunResult


def speed_stats(records: Sequence[dict[str, Any]], gen_length: int | None) -> dict[str, float | None]:
    """NFE and parallelism from the records (None where the records carry no NFE)."""
    nfe = [r["nfe"] for r in records if isinstance(r.get("nfe"), int) and r["nfe"] > 0]
    toks = [r["gen_tokens"] for r in records if isinstance(r.get("gen_tokens"), int)]
    return {
        "nfe_mean": sum(nfe) / len(nfe) if nfe else None,
        "tokens_per_forward": sum(gen_length / n for n in nfe) / len(nfe) if nfe and gen_length else None,
        "gen_tokens_mean": sum(toks) / len(toks) if toks else None,
    }


def build_result(
    records_by_item: Sequence[Sequence[dict[str, Any]]],
    *,
    model: dict[str, Any],
    task: dict[str, Any],
    protocol: dict[str, Any],
    samples: int,
    parser: str,
    majority: bool,
    speed: dict[str, Any],
    seed: int | None,
    started_at: str,
    finished_at: str,
    extra_counts: dict[str, int] | None = None,
) -> RunResult:
    """A ``RunResult`` with metrics and counts computed from the grouped records."""
    flat = [r for recs in records_by_item for r in recs]
    scored = sum(1 for r in flat if r.get("correct") is not None)
    counts = {
        "n_items": len(records_by_item),
        "n_samples": len(flat),
        "n_scored": scored,
        "n_unscorable": len(flat) - scored,
        **(extra_counts or {}),
    }
    return RunResult(
        model=model,
        task=task,
        protocol=protocol,
        metrics=compute_metrics(records_by_item, samples=samples, parser=parser, majority=majority),
        counts=counts,
        speed=speed,
        seed=seed,
        git_sha=git_sha(),
        packages=dict(packages()),
        started_at=started_at,
        finished_at=finished_at,
    )


def _pct(m: Any) -> str:
    if m is None:
        return "-"
    ci = f" [{100 * m.ci_low:.1f}, {100 * m.ci_high:.1f}]" if m.ci_low is not None else ""
    return f"{100 * m.value:.1f}{ci}"


def summary_table(results: Sequence[RunResult], title: str = "rldf eval") -> Any:
    """A rich ``Table``: one row per (model, task) with accuracy, CI, pass@k/maj@k and speed."""
    from rich.table import Table

    def num(r: RunResult, key: str, fmt: str) -> str:
        v = r.speed.get(key)
        return "-" if v is None else format(v, fmt)

    protocols = sorted({f"{r.protocol.get('name')} ({str(r.protocol.get('hash'))[:12]})" for r in results})
    table = Table(title=f"{title} — protocol {', '.join(protocols)}")
    for col in ("model", "task", "n", "accuracy % [95% CI]", "lenient %", "pass@k / maj@k %", "NFE", "tok/fwd", "tok/s", "wall s"):
        table.add_column(col, justify="left" if col in ("model", "task", "pass@k / maj@k %") else "right", overflow="fold")
    for r in results:
        m = r.metrics
        more = ", ".join(f"{k} {100 * v.value:.1f}" for k, v in m.items() if k.startswith(("pass@", "maj@")))
        table.add_row(
            str(r.model.get("id")), str(r.task.get("name")), str(r.counts.get("n_items")), _pct(m.get("accuracy")),
            "-" if "accuracy_lenient" not in m else f"{100 * m['accuracy_lenient'].value:.1f}",
            more or "-", num(r, "nfe_mean", ".1f"), num(r, "tokens_per_forward", ".2f"),
            num(r, "tokens_per_second", ".1f"), num(r, "wall_seconds", ".1f"),
        )
    return table


def console() -> Any:
    """A rich console; when output is not a terminal (logs, CI), wide enough not to fold tables."""
    from rich.console import Console

    con = Console()
    return con if con.is_terminal else Console(width=160)
