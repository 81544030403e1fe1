"""Fixtures for the code-sandbox attack tests: one sandbox per working backend, and after every
test the check that no sandboxed process or launcher was left behind and the sandbox still works.

By default only the detected backend is attacked; ``RLDF_SANDBOX_ALL_BACKENDS=1`` attacks every
backend that works here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tasks.code import slots
from tasks.code.sandbox import Sandbox, SandboxUnavailable
from tasks.code.supervise import _child_pids

TIMEOUT = 1.5
_detected: list[str] = []


def _launchers() -> list[tuple[int, str, str]]:
    """Children of this process that are sandbox launchers (``bwrap``/``unshare``), zombies included."""
    left = []
    for pid in _child_pids(os.getpid()):
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        name, state = fields.get("Name", "").strip(), fields.get("State", "").strip()
        if name in ("bwrap", "unshare"):
            left.append((pid, name, state))
    return left


@pytest.fixture(scope="module", params=["bwrap", "unshare", "rlimit"])
def backend_sandbox(request) -> Sandbox:
    if not _detected:
        _detected.append(Sandbox().backend)
    if request.param != _detected[0] and not os.environ.get("RLDF_SANDBOX_ALL_BACKENDS"):
        pytest.skip(f"{request.param}: not the detected backend ({_detected[0]}); set RLDF_SANDBOX_ALL_BACKENDS=1")
    try:
        return Sandbox(backend=request.param, timeout=TIMEOUT, memory_mb=512)
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def sandbox(backend_sandbox: Sandbox):
    yield backend_sandbox
    deadline = time.monotonic() + 3
    while (slots.processes_of(backend_sandbox.uids) or _launchers()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert slots.processes_of(backend_sandbox.uids) == [], "a sandboxed process was left behind"
    assert _launchers() == [], "a sandbox launcher was left behind"
    after = backend_sandbox.run("print('still working')")
    assert after.status == "passed" and after.stdout == "still working\n", after


def needs(sb: Sandbox, guarantee: str) -> None:
    if guarantee not in sb.guarantees:
        pytest.skip(f"the {sb.backend} backend does not promise {guarantee!r} here")
