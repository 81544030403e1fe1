"""Unprivileged uids for sandboxed programs, and cleaning up after them.

Every run borrows a *slot*: a uid that no account uses (``pwd`` has no entry), that no process
currently runs as, and that this process holds an exclusive ``flock`` on, so two harness
processes on one machine (say, two engineers' test runs) never share a uid. Because a uid is
ours alone, ``kill(-1)`` as that uid kills exactly the leftovers of our own programs, and
RLIMIT_NPROC (which counts processes per uid and is ignored for uid 0) bounds each program.

Slots rotate through a FIFO pool at least twice the number of workers, so a uid is reused only
after other uids ran in between; that gives the kernel time to finish tearing down a killed
pid namespace before the same uid's process count matters again.

``processes_of`` scans ``/proc`` for processes (zombies included) of given uids; the harness
uses it after abnormal ends and the tests use it to assert that nothing was left behind.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path

UID_BASE_ENV = "RLDF_SANDBOX_UID_BASE"
DEFAULT_UID_BASE = 61000
UID_RANGE = 2000


class NoSlotError(RuntimeError):
    """No free unprivileged uid could be reserved (all taken or in use)."""


def _lock_dir() -> Path:
    for base in ("/run/lock", "/run", "/tmp"):
        if os.access(base, os.W_OK):
            path = Path(base) / "rldf-sandbox-uids"
            path.mkdir(mode=0o700, exist_ok=True)
            if path.is_symlink() or path.stat().st_uid != os.geteuid():
                continue
            return path
    raise NoSlotError("no writable directory for the sandbox uid locks (/run/lock, /run or /tmp)")


def processes_of(uids: Iterable[int]) -> list[tuple[int, int, str]]:
    """``(pid, uid, state)`` of every process (zombies included) whose real uid is in ``uids``."""
    wanted = set(uids)
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as fh:
                status = fh.read()
        except OSError:
            continue  # exited while we looked
        uid = state = None
        for line in status.splitlines():
            if line.startswith(b"State:"):
                state = line.split()[1].decode()
            elif line.startswith(b"Uid:"):
                uid = int(line.split()[1])
                break
        if uid in wanted:
            found.append((int(entry.name), uid, state or "?"))
    return found


class SlotPool:
    """A FIFO pool of reserved uids; ``acquire``/``release`` are thread-safe."""

    def __init__(self, minimum: int, base: int | None = None) -> None:
        self.base = base if base is not None else int(os.environ.get(UID_BASE_ENV, DEFAULT_UID_BASE))
        self._free: deque[int] = deque()
        self._owned: dict[int, int] = {}  # uid -> fd of its lock file
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._next = self.base
        self.grow(minimum)

    @property
    def uids(self) -> frozenset[int]:
        """Every uid this pool holds (in use or free)."""
        with self._lock:
            return frozenset(self._owned)

    def grow(self, size: int) -> None:
        """Reserve more uids until the pool holds at least ``size``."""
        with self._lock:
            if len(self._owned) >= size:
                return
            busy = {uid for _, uid, _ in processes_of(range(self._next, self.base + UID_RANGE))}
            while len(self._owned) < size:
                uid = self._reserve_one(busy)
                self._free.append(uid)
                self._available.notify()

    def _reserve_one(self, busy: set[int]) -> int:
        lock_dir = _lock_dir()
        while self._next < self.base + UID_RANGE:
            uid, self._next = self._next, self._next + 1
            try:
                pwd.getpwuid(uid)
                continue  # a real account: never borrow it
            except KeyError:
                pass
            fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    continue  # another harness process owns it
                raise
            if uid in busy:  # leftovers of a crashed harness, or someone else's: skip
                os.close(fd)
                continue
            self._owned[uid] = fd
            return uid
        raise NoSlotError(
            f"no free sandbox uid in [{self.base}, {self.base + UID_RANGE}); set {UID_BASE_ENV} to another range"
        )

    def acquire(self) -> int:
        with self._available:
            while not self._free:
                self._available.wait()
            return self._free.popleft()

    def release(self, uid: int) -> None:
        with self._available:
            self._free.append(uid)
            self._available.notify()

    def close(self) -> None:
        with self._lock:
            for fd in self._owned.values():
                os.close(fd)
            self._owned.clear()
            self._free.clear()


def kill_uid(uid: int, python: str) -> None:
    """SIGKILL every process running as ``uid`` (``kill(-1)`` from a helper that becomes ``uid``)."""
    kill_bin = shutil.which("kill", path="/usr/bin:/bin")
    argv = [kill_bin, "-KILL", "-1"] if kill_bin else [python, "-I", "-S", "-c", "import posix; posix.kill(-1, 9)"]
    subprocess.run(argv, user=uid, group=uid, extra_groups=[], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=10)


def wait_gone(uid: int, timeout: float = 2.0) -> bool:
    """Wait until no process (zombies included) of ``uid`` is left; False if some remain."""
    deadline = time.monotonic() + timeout
    while processes_of([uid]):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
