"""Runs exactly the README's "Add a verifiable-reward task" example: the task file, then the usage snippet."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tasks import registry

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## Add a verifiable-reward task")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def test_documented_example_runs_as_written(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", _section(), re.DOTALL)
    assert len(blocks) == 2, "the doc should hold the task file and one usage snippet"
    task_file, usage = blocks
    (tmp_path / "my_reverse.py").write_text(task_file)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        exec(compile(usage, str(README), "exec"), {})  # noqa: S102 - running our own documentation
        from tasks import get_task

        task = get_task("reverse")
        train, test = task.load("train", n=200), task.load("test", n=50)
        assert not {e.question for e in train} & {e.question for e in test}
        assert task.load("test", n=50) == test
    finally:
        registry._runtime.pop("reverse", None)
        registry._cache.pop("reverse", None)
        registry._cache.pop("my_reverse:TASK", None)
        sys.modules.pop("my_reverse", None)
