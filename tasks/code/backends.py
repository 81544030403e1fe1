"""Isolation backends of the code sandbox: which one this machine supports, and its command line.

Three backends, best first; ``detect_backend`` probes them once per process and interpreter:

- ``bwrap``: bubblewrap as root with new pid, net, ipc, uts (and cgroup) namespaces, a minimal
  read-only root (``/usr``, ``/etc`` and the interpreter's prefix only: no ``/root``, ``/home``
  or project checkout), a private size-limited tmpfs as ``/tmp`` (the only writable place),
  ``--die-with-parent`` and ``--new-session``. The prelude drops to the slot uid inside.
- ``unshare``: util-linux ``unshare`` with new pid, net, ipc, uts and mount namespaces; the
  prelude (still root in the new mount namespace) mounts a size-limited tmpfs over ``/tmp`` and
  hides the harness user's home and ``/dev/shm``, ``/var/tmp``, then drops to the slot uid. The
  rest of the filesystem stays visible (read-only through file permissions only).
- ``rlimit``: no namespaces at all: rlimits, and the slot uid when the harness runs as root.
  No network isolation, no disk-fill protection beyond the per-file size limit. Loud warning.

``GUARANTEES`` lists, per backend, which of the sandbox's promises it keeps; the tests attack
exactly those and skip the rest. Not protected by any backend: CPU-cache or timing side
channels, kernel exploits, and a program that reads world-readable files that are visible
(for ``bwrap`` that is ``/usr`` and ``/etc`` only).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

BACKENDS = ("bwrap", "unshare", "rlimit")

# Every promise a backend can keep; each one has an attack test in tests/tasks/test_sandbox_attacks.py.
ALL_GUARANTEES = frozenset(
    {
        "timeout",  # wall deadline with process-group kill (infinite loop, sleep)
        "memory",  # RLIMIT_AS (memory bomb)
        "nproc",  # RLIMIT_NPROC under an unprivileged slot uid (fork bomb)
        "filesize",  # RLIMIT_FSIZE (one huge file)
        "disk",  # all writes land in a size-limited private tmpfs (disk fill)
        "no_write_outside",  # nothing outside the scratch directory can be written
        "no_home",  # the harness user's home cannot be read
        "no_network",  # no usable network interface
        "no_kill",  # other processes cannot be signalled
        "daemons",  # orphaned / setsid daemons are killed when the run ends
        "output_cap",  # stdout/stderr reads are capped; the program is killed past the cap
        "no_exit_hack",  # exit()/os._exit(0) before the tests finish is a failure
    }
)

# Without root there is no slot uid: RLIMIT_NPROC would count all of the user's processes, so it
# is not set; namespaces still keep the other promises, plain rlimits keep only the basic ones.
_UID_ONLY = {"bwrap": frozenset({"nproc"}), "unshare": frozenset({"nproc"}),
             "rlimit": frozenset({"nproc", "no_home", "no_kill", "daemons"})}
_BASE = frozenset({"timeout", "memory", "filesize", "output_cap", "no_exit_hack"})
_GUARANTEES = {
    "bwrap": ALL_GUARANTEES,
    "unshare": ALL_GUARANTEES,
    # As root the slot uid gives the uid-based guarantees; "no_write_outside" still fails for
    # world-writable places (/tmp, /dev/shm), so it is not claimed.
    "rlimit": _BASE | {"nproc", "no_home", "no_kill", "daemons"},
}


def guarantees(backend: str, root: bool) -> frozenset[str]:
    """What ``backend`` protects against when the harness runs as root (``root``) or not."""
    kept = _GUARANTEES[backend]
    return kept if root else kept - _UID_ONLY[backend]


def default_python() -> str:
    """The interpreter programs run under: ``/usr/bin/python3`` when present, else this one.

    It must be readable and executable by the slot uid (so not under ``/root``) and must not
    live under ``/tmp`` (bwrap mounts a fresh tmpfs there).
    """
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return os.path.realpath(getattr(sys, "_base_executable", sys.executable))


@dataclass(frozen=True)
class Backend:
    """A backend bound to an interpreter: builds the command line for one run."""

    name: str
    python: str
    bwrap: str | None = None
    unshare: str | None = None

    def interpreter_args(self) -> list[str]:
        # -I: ignore env and user site; -S: no site (saves ~30 ms, fine for stdlib-only tasks);
        # -B: no .pyc writes. The prelude source follows as -c.
        return [self.python, "-I", "-S", "-B", "-c"]

    def command(self, prelude: str, payload_fd: int, scratch_mb: int) -> list[str]:
        """argv that runs ``prelude`` (source text) with the payload on ``payload_fd``."""
        inner = [*self.interpreter_args(), prelude, str(payload_fd)]
        if self.name == "bwrap":
            return [*self._bwrap_args(scratch_mb), "--", *inner]
        if self.name == "unshare":
            return [self.unshare or "unshare", "--fork", "--pid", "--mount-proc", "--net", "--ipc",
                    "--uts", "--mount", "--kill-child", "--", *inner]
        return inner

    def _bwrap_args(self, scratch_mb: int) -> list[str]:
        args = [self.bwrap or "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if os.geteuid() == 0:  # without a user namespace the prelude starts as real root: keep only what it needs
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        for path in _root_entries():
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        prefix = _interpreter_prefix(self.python)
        if prefix is not None:
            args += ["--ro-bind", prefix, prefix]
        args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(scratch_mb << 20), "--tmpfs", "/tmp",
                 "--chdir", "/tmp"]
        return args


def _root_entries() -> list[str]:
    """Top-level paths the bwrap sandbox sees: the OS (``/usr`` and its merged-usr links), ``/etc``."""
    return ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]


def _interpreter_prefix(python: str) -> str | None:
    """The directory tree holding ``python`` when it is not already under ``/usr``, else None."""
    real = Path(os.path.realpath(python))
    if real.parts[1:2] == ("usr",):
        return None
    # <prefix>/bin/python3.x -> bind <prefix> (its lib/pythonX.Y must come along)
    return str(real.parent.parent)


def available_backends(python: str) -> list[Backend]:
    """Backends whose tools exist here, best first (existence only; see ``detect_backend``)."""
    found = []
    bwrap = shutil.which("bwrap")
    if bwrap:
        found.append(Backend("bwrap", python, bwrap=bwrap))
    unshare = shutil.which("unshare")
    if unshare and os.geteuid() == 0:  # the prelude mounts tmpfs in the new mount namespace: needs root
        found.append(Backend("unshare", python, unshare=unshare))
    found.append(Backend("rlimit", python))
    return found


def warn_weak(backend: str, reasons: list[str]) -> None:
    """The loud warning for the ``rlimit`` fallback (no namespaces: no network isolation)."""
    why = "; ".join(reasons) or "no namespace backend available"
    message = (
        f"code sandbox: falling back to the '{backend}' backend ({why}). Programs run WITHOUT "
        "network isolation or a private filesystem. Install bubblewrap (apt-get install bubblewrap) "
        "before running untrusted code."
    )
    log.warning(message)
    warnings.warn(message, RuntimeWarning, stacklevel=3)
