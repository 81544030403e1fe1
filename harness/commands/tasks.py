"""``rldf tasks``: list the registered tasks with version, kind, splits, sizes and data sources.

    rldf tasks            # rich table
    rldf tasks --json     # one JSON object per task, for scripts

Sizes come from the local reference file when ``$RLDF_DATA_DIR`` has it (rows counted), else
from the task's declared sizes (benchmark size or generator default). No dataset is downloaded.
A task whose module fails to import is listed with the error instead of aborting the listing.
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    return p


def describe(name: str) -> dict:
    """One task's listing row: name, version, kind, splits, sizes, sources (or an error)."""
    from harness.errors import UserError
    from tasks import get_task
    from tasks.data import data_dir, read_file

    try:
        task = get_task(name)
    except (UserError, ImportError, AttributeError) as exc:
        return {"name": name, "error": str(exc)}
    root = data_dir()
    sizes: dict[str, str] = {}
    local: list[str] = []
    for split in task.splits:
        fname = task.local_files.get(split)
        if fname and root is not None and (root / fname).is_file():
            sizes[split] = str(len(read_file(root / fname).rows))
            local.append(f"{fname} (found)")
        else:
            if fname:
                local.append(f"{fname} (not in RLDF_DATA_DIR)")
            if split in task.sizes:
                sizes[split] = str(task.sizes[split])
    sources = [*local]
    if task.hf_id:
        sources.append(f"hf:{task.hf_id}")
    if not sources:
        sources.append("generated (seeded)")
    return {
        "name": task.name if task.name == name else f"{name} ({task.name})",
        "version": task.version,
        "kind": task.kind,
        "splits": list(task.splits),
        "sizes": sizes,
        "sources": sources,
        "description": task.description,
    }


def main(args: argparse.Namespace) -> int:
    from tasks import list_tasks

    rows = [describe(name) for name in list_tasks()]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="rldf tasks")
    for col in ("name", "version", "kind", "splits (size)", "sources"):
        table.add_column(col)
    for row in rows:
        if "error" in row:
            table.add_row(row["name"], "-", "-", "-", f"[red]unavailable[/red] ({row['error'][:70]})")
            continue
        splits = "\n".join(f"{s} {row['sizes'].get(s, '?')}" for s in row["splits"])
        table.add_row(row["name"], row["version"], row["kind"], splits, "\n".join(row["sources"]))
    Console().print(table)
    return 0
