"""One sandboxed run: spawn the prelude under a backend, watch it, kill it, classify the outcome.

The harness side of the protocol in ``prelude.py``. Pipes (stdout, stderr, the result pipe) and
a pidfd are watched with one ``selectors`` loop under a wall-clock deadline; reads are capped
and a program that writes past the cap is killed. After the run nothing of it may survive:

- ``bwrap``/``unshare``: the namespace's init is SIGKILLed first (that tears down the whole pid
  namespace, ``setsid`` daemons included), then the launcher's process group;
- ``rlimit``: every process of the slot uid is killed (``kill(-1)`` as that uid catches
  ``setsid`` escapees); the prelude's per-run supervisor (root, a subreaper) reaps them and
  exits, and only then is the launcher's process group killed. The harness process itself is
  never made a subreaper (it would adopt every orphan of the whole application).

If the harness itself dies mid-run, ``bwrap --die-with-parent`` and, for the other backends, the
supervisor's own wall deadline (timeout + 2 s) end the run.

"passed" requires the prelude's ``END`` line (so ``exit()``/``os._exit(0)`` fail);
``sandbox_error`` means the prelude never reported ``READY``: an infrastructure failure, never
a wrong answer.
"""

from __future__ import annotations

import marshal
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tasks.code import slots
from tasks.code.backends import Backend

PRELUDE = (Path(__file__).parent / "prelude.py").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one run (validated by ``Sandbox``)."""

    timeout: float
    memory_mb: int
    output_limit: int
    fsize_mb: int
    scratch_mb: int
    nofile: int
    nproc: int
    test_timeout: float | None


@dataclass
class Outcome:
    """What the harness observed; ``sandbox.ExecResult`` is built from it."""

    status: str
    returncode: int | None
    stdout: str
    stderr: str
    wall_time: float
    detail: str
    tests: tuple[bool, ...]


def _env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MiB of address space per arena: keep RLIMIT_AS meaningful
    }


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)  # close-on-exec; pass_fds / stdin make it visible to the child only
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _child_pids(parent: int) -> list[int]:
    """Direct children of ``parent`` (``/proc/*/stat``; this kernel may lack ``.../children``)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def _kill_quietly(pid: int, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_once(backend: Backend, code: str, tests: tuple[str, ...], stdin: str | None, exit_ok: bool,
             limits: Limits, uid: int | None, hide: tuple[str, ...]) -> Outcome:
    """Run one program (and its tests) in a fresh sandboxed process and classify the outcome."""
    nonce = secrets.token_hex(16)
    result_r, result_w = os.pipe()
    workdir = None
    if backend.name == "rlimit":
        workdir = tempfile.mkdtemp(prefix="rldf-sandbox-")
        if uid is not None:
            os.chown(workdir, uid, uid)
    payload = {
        "code": code, "tests": list(tests), "exit_ok": exit_ok, "test_timeout": limits.test_timeout,
        "nonce": nonce, "result_fd": result_w, "uid": uid, "cpu_s": int(math.ceil(limits.timeout)) + 1,
        "memory_mb": limits.memory_mb, "fsize_mb": limits.fsize_mb, "nofile": limits.nofile,
        "nproc": limits.nproc, "scratch_mb": limits.scratch_mb if backend.name == "unshare" else 0,
        "hide": list(hide), "supervise": backend.name in ("unshare", "rlimit"),
        "wall_s": limits.timeout + 2.0,  # the harness kills first; this covers a harness that died
        "workdir": workdir,
    }
    payload_fd = _memfd("rldf-payload", marshal.dumps(payload, 4))
    stdin_fd = _memfd("rldf-stdin", stdin.encode()) if stdin is not None else subprocess.DEVNULL
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            backend.command(PRELUDE, payload_fd, limits.scratch_mb),
            stdin=stdin_fd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(payload_fd, result_w), cwd=workdir or "/", env=_env(workdir or "/tmp"),
            start_new_session=True,
        )
    except OSError as exc:
        for fd in (result_r, result_w):
            os.close(fd)
        _cleanup_dir(workdir)
        return Outcome("sandbox_error", None, "", "", time.monotonic() - start, f"cannot start the sandbox: {exc}", ())
    finally:
        os.close(payload_fd)
        if isinstance(stdin_fd, int) and stdin_fd >= 0:
            os.close(stdin_fd)
    os.close(result_w)
    watched = Watched(proc.stdout.fileno(), proc.stderr.fileno(), result_r)
    try:
        _watch(proc, watched, start + limits.timeout, limits.output_limit)
    finally:
        if not watched.exited:
            _kill_tree(backend, proc, uid)
        proc.wait()
        _drain(watched, limits.output_limit)
        for stream in (proc.stdout, proc.stderr):
            stream.close()
        os.close(result_r)
        if backend.name == "rlimit" and uid is not None and f"{nonce} END".encode() not in watched_result(watched):
            slots.wait_gone(uid)  # the run's supervisor reaps; this only waits for it to finish
    _cleanup_dir(workdir)
    wall = time.monotonic() - start
    return _classify(backend, proc.returncode, watched, nonce, len(tests), wall, limits)


def _cleanup_dir(workdir: str | None) -> None:
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Watched:
    """What the supervisor saw of one run: the three pipes' bytes and how the watch ended."""

    stdout_fd: int
    stderr_fd: int
    result_fd: int
    exited: bool = False
    timed_out: bool = False
    overflow: bool = False
    bufs: dict[int, bytearray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bufs = {fd: bytearray() for fd in (self.stdout_fd, self.stderr_fd, self.result_fd)}

    def text(self, fd: int) -> str:
        return bytes(self.bufs[fd]).decode("utf-8", "replace")


def _watch(proc: subprocess.Popen, state: Watched, deadline: float, cap: int) -> None:
    """Read the three pipes until the launcher exits, the deadline passes or output overflows."""
    bufs = state.bufs
    with selectors.DefaultSelector() as sel:
        for fd in bufs:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        try:
            pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # no pidfd (old kernel or Python): poll the exit status
            pidfd = None
        else:
            sel.register(pidfd, selectors.EVENT_READ)
        try:
            while not state.exited:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    state.timed_out = True
                    break
                for key, _ in sel.select(remaining if pidfd is not None else min(remaining, 0.01)):
                    if key.fd == pidfd:
                        state.exited = True
                    elif not _read_into(key.fd, bufs[key.fd], cap, sel):
                        state.overflow = True
                if state.overflow:
                    break
                if pidfd is None and proc.poll() is not None:
                    state.exited = True
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _read_into(fd: int, buf: bytearray, cap: int, sel: selectors.BaseSelector | None) -> bool:
    """Append what ``fd`` has to ``buf`` (at most ``cap`` bytes kept); False once past the cap."""
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            if sel is not None:
                sel.unregister(fd)
            return True
        room = cap - len(buf)
        buf.extend(data[:max(room, 0)])
        if len(data) > room:
            return False


def _drain(watched: Watched, cap: int) -> None:
    """After the launcher is gone, take whatever is still buffered in the pipes (never block)."""
    for fd, buf in watched.bufs.items():
        limit = 1 << 20 if fd == watched.result_fd else cap
        if not _read_into(fd, buf, limit, None) and fd != watched.result_fd:
            watched.overflow = True


def _kill_tree(backend: Backend, proc: subprocess.Popen, uid: int | None) -> None:
    if backend.name in ("bwrap", "unshare"):
        # The launcher's child is the pid namespace's init: killing it kills everything inside,
        # whatever process groups or sessions the program created; the launcher then exits.
        for child in _child_pids(proc.pid):
            _kill_quietly(child)
    elif uid is not None:
        # Every process of the slot uid; the run's supervisor (root) reaps them and exits.
        slots.kill_uid(uid, backend.python)
    try:
        proc.wait(timeout=5)
        return
    except subprocess.TimeoutExpired:
        pass
    _kill_quietly(proc.pid, group=True)
    _kill_quietly(proc.pid)


def watched_result(watched: Watched) -> bytes:
    """The raw result-pipe bytes seen so far."""
    return bytes(watched.bufs[watched.result_fd])


def _messages(raw: bytes, nonce: str) -> list[str]:
    tag = nonce + " "
    return [line[len(tag):] for line in raw.decode("utf-8", "replace").splitlines() if line.startswith(tag)]


def _signal_of(returncode: int | None) -> int | None:
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if returncode > 128:  # bwrap and the prelude's supervisor report a signal death as 128 + signo
        return returncode - 128
    return None


def _classify(backend: Backend, returncode: int | None, watched: Watched, nonce: str, n_tests: int, wall: float,
              limits: Limits) -> Outcome:
    stdout, stderr = watched.text(watched.stdout_fd), watched.text(watched.stderr_fd)
    messages = _messages(watched_result(watched), nonce)
    tests = [False] * n_tests
    code_status, test_notes = None, []
    for message in messages:
        if message.startswith("C "):
            code_status = message[2:]
        elif message.startswith("T "):
            _, index, result = message.split(" ", 2)
            if 0 <= int(index) < n_tests:
                tests[int(index)] = result == "ok"
                if result != "ok":
                    test_notes.append(f"test {index}: {result}")
    notes = [code_status] + test_notes if code_status not in (None, "ok") else test_notes

    def outcome(status: str, detail: str) -> Outcome:
        return Outcome(status, returncode, stdout, stderr, wall, detail, tuple(tests))

    if "READY" not in messages:
        why = "timed out" if watched.timed_out else f"exit status {returncode}"
        tail = stderr.strip().splitlines()[-3:]
        return outcome("sandbox_error", f"the sandbox did not start ({why}): {' | '.join(tail) or 'no output'}")
    if watched.overflow:
        return outcome("failed", f"output limit exceeded ({limits.output_limit} bytes per stream); killed")
    if watched.timed_out:
        done = sum(1 for m in messages if m.startswith("T "))
        return outcome("timeout", f"wall-clock limit of {limits.timeout:g}s exceeded after {done}/{n_tests} tests")
    memory = any(note.startswith("memory") or ": memory" in note for note in notes)
    if "END" in messages:
        if code_status == "ok" and all(tests):
            return outcome("passed", f"{n_tests}/{n_tests} tests passed" if n_tests else "ran to the end")
        summary = f"{sum(tests)}/{n_tests} tests passed" if code_status == "ok" else "program failed"
        detail = "; ".join([summary] + notes[:5])
        return outcome("oom" if memory else "failed", detail)
    sig = _signal_of(returncode)
    if memory or (sig in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT) and "MemoryError" in stderr):
        return outcome("oom", "; ".join(["memory limit exceeded"] + notes[:3]))
    if sig == signal.SIGXCPU:
        return outcome("timeout", f"CPU-time limit of {limits.timeout:g}s exceeded")
    how = f"killed by signal {sig}" if sig else f"exit status {returncode}"
    return outcome("failed", f"the program ended the run early ({how}) before the tests finished")
