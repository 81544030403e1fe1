"""Run untrusted Python programs (model-written code) safely: ``Sandbox().run(code) -> ExecResult``.

    from tasks.code.sandbox import Program, Sandbox
    sb = Sandbox()                                   # backend detected once per process
    res = sb.run("print(1 + 1)", timeout=5)          # res.status == "passed", res.stdout == "2\\n"
    results = sb.run_many([Program(code, tests=(t1, t2)), ...], workers=2)   # parallel, in order

What it protects against (each has an attack test in ``tests/tasks/test_sandbox_attacks.py``):
every program runs in a fresh process started through a trusted prelude that sets rlimits
(address space, CPU, file size, open files, core dumps, processes) and drops to an unprivileged
uid of its own (so RLIMIT_NPROC bites; root ignores it); a wall deadline kills the whole process
tree; stdout/stderr reads are capped; with the ``bwrap`` or ``unshare`` backend the program also
gets its own pid, network, ipc and uts namespaces (no network, cannot see or signal other
processes, daemons die with the run), a private size-limited scratch ``/tmp`` as the only
writable place, and no view of the harness user's home. ``exit()``, ``sys.exit(0)`` and
``os._exit(0)`` before the tests have finished are failures: "passed" means the prelude saw the
program and every test reach its end.

What it does NOT protect against: kernel exploits and CPU side channels; a program that digs
the per-run nonce out of the prelude's frames to forge a result, or fools ``assert`` with an
object whose ``__eq__`` is always true (limits of running tests in the program's interpreter);
reading world-readable files that stay visible (``/usr``, ``/etc``; with ``unshare`` the whole
filesystem minus home and temp dirs; with ``rlimit`` everything the uid may read). The
``rlimit`` backend (no namespaces; chosen only when neither bubblewrap nor ``unshare`` works,
with a loud warning) gives no network isolation and no disk-fill protection beyond the per-file
limit. ``Sandbox.guarantees`` says what the detected backend keeps.

``sandbox_error`` (the sandbox itself failed) is kept apart from a program's failure, so a
broken sandbox can never turn into a reward of 0.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tasks.code import backends, slots
from tasks.code.supervise import Limits, run_once

STATUSES = ("passed", "failed", "timeout", "oom", "sandbox_error")


@dataclass(frozen=True)
class Program:
    """A program plus the tests to run after it in its namespace.

    ``tests`` are snippets run one by one after ``code``; each passes when it raises nothing
    (typically one ``assert``). ``stdin`` is fed to the program. ``exit_ok`` lets a whole-program
    (stdin/stdout) task end with ``sys.exit(0)``; it is never allowed for function tests.
    ``timeout``/``memory_mb``/``test_timeout`` override the ``run_many`` arguments.
    """

    code: str
    tests: tuple[str, ...] = ()
    stdin: str | None = None
    exit_ok: bool = False
    timeout: float | None = None
    memory_mb: int | None = None
    test_timeout: float | None = None


@dataclass(frozen=True)
class ExecResult:
    """The outcome of one program.

    ``status``: ``passed`` (program and every test ran to their end), ``failed`` (an exception,
    a failed test, an early exit, output past the cap), ``timeout`` (wall or CPU limit), ``oom``
    (memory limit) or ``sandbox_error`` (the sandbox failed; says nothing about the program).
    ``tests[i]`` is whether test ``i`` passed. ``stdout``/``stderr`` are capped. ``detail`` is a
    one-line human-readable reason.
    """

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    wall_time: float
    backend: str
    detail: str
    tests: tuple[bool, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def tests_passed(self) -> int:
        return sum(self.tests)


class SandboxUnavailable(RuntimeError):
    """The requested backend does not work on this machine."""


_detect_lock = threading.Lock()
_detected: dict[tuple[str, str | None], tuple[backends.Backend, tuple[str, ...]]] = {}
_pool: slots.SlotPool | None = None


def _slot_pool(size: int) -> slots.SlotPool:
    """The process-wide pool of unprivileged uids (shared by every ``Sandbox``), grown to ``size``."""
    global _pool
    with _detect_lock:
        if _pool is None:
            _pool = slots.SlotPool(minimum=size)
    _pool.grow(size)
    return _pool


def _home_dirs() -> tuple[str, ...]:
    """Directories to hide from programs: the harness user's home (and /root, /home)."""
    homes = {os.path.expanduser("~"), "/root", "/home"}
    return tuple(sorted(h for h in homes if h and h != "/" and os.path.isdir(h)))


class Sandbox:
    """Runs programs under the best isolation backend available (see the module docstring).

    ``backend``: ``None`` to detect (``bwrap`` > ``unshare`` > ``rlimit``, probed once per
    process), or a name to force one (``SandboxUnavailable`` if it does not work here).
    ``python``: the interpreter inside the sandbox (default ``/usr/bin/python3``); it must be
    executable by an unprivileged uid. Defaults: 10 s wall time, 1 GiB address space, 1 MiB of
    stdout and of stderr, 16 MiB per file, 64 MiB of scratch, 64 open files, 32 processes.
    """

    def __init__(self, backend: str | None = None, python: str | None = None, *, timeout: float = 10.0,
                 memory_mb: int = 1024, output_limit: int = 1 << 20, fsize_mb: int = 16, scratch_mb: int = 64,
                 nofile: int = 64, nproc: int = 32, workers: int | None = None) -> None:
        if backend is not None and backend not in backends.BACKENDS:
            raise ValueError(f"Sandbox(backend={backend!r}): use one of {backends.BACKENDS} or None to detect")
        for name, value in (("timeout", timeout), ("memory_mb", memory_mb), ("output_limit", output_limit),
                            ("fsize_mb", fsize_mb), ("scratch_mb", scratch_mb), ("nofile", nofile), ("nproc", nproc)):
            if value <= 0:
                raise ValueError(f"Sandbox({name}={value!r}): must be > 0")
        if memory_mb < 64:
            raise ValueError(f"Sandbox(memory_mb={memory_mb}): the interpreter alone needs ~30 MiB; use >= 64")
        self.python = python or backends.default_python()
        self.root = os.geteuid() == 0
        self.workers = workers or len(os.sched_getaffinity(0))
        self.defaults = Limits(timeout=timeout, memory_mb=memory_mb, output_limit=output_limit, fsize_mb=fsize_mb,
                               scratch_mb=scratch_mb, nofile=nofile, nproc=nproc, test_timeout=None)
        self._hide = _home_dirs()
        self._slots = _slot_pool(max(4, 2 * self.workers)) if self.root else None
        self._backend, self.fallback_reasons = self._resolve(backend)

    @property
    def backend(self) -> str:
        """The isolation backend in use: ``bwrap``, ``unshare`` or ``rlimit``."""
        return self._backend.name

    @property
    def guarantees(self) -> frozenset[str]:
        """The promises (``backends.ALL_GUARANTEES``) the backend in use keeps on this machine."""
        kept = backends.guarantees(self.backend, self.root)
        home = os.path.expanduser("~")
        if self.backend == "rlimit" and os.path.isdir(home) and os.stat(home).st_mode & 0o005:
            kept -= {"no_home"}  # without a mount namespace a world-readable home stays readable
        return kept

    @property
    def uids(self) -> frozenset[int]:
        """The unprivileged uids programs run as (empty when the harness is not root)."""
        return self._slots.uids if self._slots else frozenset()

    def _resolve(self, forced: str | None) -> tuple[backends.Backend, tuple[str, ...]]:
        key = (self.python, forced)
        with _detect_lock:
            if key not in _detected:
                _detected[key] = self._probe(forced)
        chosen, reasons = _detected[key]
        if forced is None and chosen.name == "rlimit":
            backends.warn_weak(chosen.name, list(reasons))
        return chosen, reasons

    def _probe(self, forced: str | None) -> tuple[backends.Backend, tuple[str, ...]]:
        reasons = []
        for candidate in backends.available_backends(self.python):
            if forced is not None and candidate.name != forced:
                continue
            # imports from the stdlib too: an interpreter whose library the backend hides must fail here
            result = self._run_with(candidate, Program("import json, os\nprint('rldf-probe')"), self.defaults)
            if result.status == "passed" and result.stdout.strip() == "rldf-probe":
                return candidate, tuple(reasons)
            reasons.append(f"{candidate.name}: {result.detail}")
        hint = (f" (the interpreter {self.python} must be runnable, with its standard library, by an unprivileged "
                "user and must not live under /root, /home or /tmp; pass python=/usr/bin/python3)")
        if forced is not None:
            raise SandboxUnavailable(f"sandbox backend {forced!r} does not work here: {'; '.join(reasons) or 'not installed'}"
                                     + hint)
        raise SandboxUnavailable(f"no sandbox backend works here: {'; '.join(reasons)}" + hint)

    def _limits(self, program: Program, timeout: float | None, memory_mb: int | None,
                test_timeout: float | None) -> Limits:
        d = self.defaults
        return Limits(
            timeout=program.timeout or timeout or d.timeout,
            memory_mb=program.memory_mb or memory_mb or d.memory_mb,
            output_limit=d.output_limit, fsize_mb=d.fsize_mb, scratch_mb=d.scratch_mb, nofile=d.nofile, nproc=d.nproc,
            test_timeout=program.test_timeout or test_timeout,
        )

    def _run_with(self, backend: backends.Backend, program: Program, limits: Limits) -> ExecResult:
        uid = self._slots.acquire() if self._slots else None
        try:
            out = run_once(backend, program.code, tuple(program.tests), program.stdin, program.exit_ok, limits,
                           uid, self._hide)
        finally:
            if uid is not None:
                self._slots.release(uid)
        return ExecResult(out.status, out.returncode, out.stdout, out.stderr, out.wall_time, backend.name,
                          out.detail, out.tests)

    def run(self, code: str | Program, timeout: float | None = None, memory_mb: int | None = None,
            stdin: str | None = None, tests: Sequence[str] = (), test_timeout: float | None = None) -> ExecResult:
        """Run one program in a fresh sandboxed process (see ``Program`` for the fields)."""
        program = code if isinstance(code, Program) else Program(code, tuple(tests), stdin)
        return self._run_with(self._backend, program, self._limits(program, timeout, memory_mb, test_timeout))

    def run_many(self, programs: Sequence[str | Program], workers: int | None = None, timeout: float | None = None,
                 memory_mb: int | None = None, test_timeout: float | None = None) -> list[ExecResult]:
        """Run ``programs`` in parallel (``workers`` at a time, default: CPU count); results in input order."""
        items = [p if isinstance(p, Program) else Program(p) for p in programs]
        n = max(1, min(workers or self.workers, len(items) or 1))
        if self._slots is not None:
            self._slots.grow(max(4, 2 * n))

        def one(program: Program) -> ExecResult:
            return self._run_with(self._backend, program, self._limits(program, timeout, memory_mb, test_timeout))

        if n == 1:
            return [one(p) for p in items]
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="sandbox") as pool:
            return list(pool.map(one, items))
