"""Trusted prelude: the first code that runs inside the sandbox, before the untrusted program.

The sandbox starts ``python -I -S -B -c <this file's source> <payload fd>``; this file is never
imported by the harness. It uses only built-in modules (``posix``, ``marshal``, ``resource``,
``_signal``; not ``os``/``signal``, whose imports cost ~10 ms) because interpreter start-up is most
of the cost of a run. Steps:

1. read the payload (program, tests, limits, slot uid, a per-run nonce) from an inherited memfd
   and close it, so the program never sees it;
2. (``unshare`` backend only, still root in a private mount namespace) remount everything
   read-only, mount a size-limited tmpfs as ``/tmp`` and over the harness user's home, chdir;
   (``unshare`` and ``rlimit``) fork: the parent stays behind, as root, as this run's supervisor:
   a subreaper (with ``unshare`` it is the pid namespace's init) that waits for the program,
   kills it at a wall deadline of its own (so a harness that dies mid-run leaves nothing behind;
   ``bwrap`` has ``--die-with-parent`` for that), kills every process of the slot uid and reaps
   them all, so orphaned daemons neither survive nor linger as zombies against RLIMIT_NPROC;
3. set rlimits (address space, CPU, file size, open files, core dumps, processes), then drop to
   the slot uid with no supplementary groups and check that root cannot be regained;
4. report ``READY``, run the program, then each test in the program's namespace, reporting every
   outcome on the result pipe as ``<nonce> <message>`` lines, and finally ``END``.

"Passed" is decided by the harness from these lines, not from the exit status: a program that
calls ``exit()``, ``sys.exit(0)`` or ``os._exit(0)`` never produces ``END`` and therefore fails.
The nonce keeps a program from printing a fake line, but the program runs in this interpreter,
so one that deliberately digs the nonce out of the prelude's frames (``sys._getframe``, ``gc``)
could forge a result; the same in-process limit applies to every assert-based harness
(an object whose ``__eq__`` always returns True also fools the asserts).
"""

import _signal
import marshal
import posix
import resource
import sys


class _Quitter:
    """``exit``/``quit`` as ``site`` defines them (``-S`` skips ``site``): raise SystemExit."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Use {self.name}() or Ctrl-D (i.e. EOF) to exit"

    def __call__(self, code=None):
        raise SystemExit(code)


class _TestTimeout(BaseException):
    """Raised by SIGALRM when one test exceeds its own time limit."""


def _on_alarm(signum, frame):
    raise _TestTimeout()


def _read_all(fd):
    chunks = []
    while True:
        chunk = posix.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    posix.close(fd)
    return b"".join(chunks)


def _one_line(exc):
    """``Type: message`` on one short line, plus the program line number when known."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except BaseException:  # a program-defined __str__ may raise anything
        text = type(exc).__name__
    text = text.replace("\n", " ").replace("\r", " ")[:300]
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<program>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{text} (program line {line})" if line is not None else text


def _mount_points():
    """Mount points of this (new, private) mount namespace, parents first, with their flags."""
    with open("/proc/self/mountinfo", "rb") as fh:
        lines = fh.read().decode().splitlines()
    points = []
    for line in lines:
        fields = line.split()
        path = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
        points.append((path, fields[5].split(",")))
    return points


def _mount_scratch(payload):
    """unshare backend, as root in the new mount namespace: everything read-only, a private
    size-limited tmpfs as /tmp (the only writable place), the harness user's home hidden."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    ms = {"ro": 1, "nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048,
          "relatime": 1 << 21, "strictatime": 1 << 24}
    remount, bind = 32, 4096

    def mount(source, target, fstype, flags, options):
        if libc.mount(source, target.encode(), fstype, flags, options) != 0:
            raise OSError(ctypes.get_errno(), f"mount {target!r} failed")

    for path, options in _mount_points():
        flags = remount | bind | ms["ro"]
        for option in options:
            flags |= ms.get(option, 0)
        try:
            mount(None, path, None, flags, None)
        except OSError:
            if path == "/proc" or path.startswith(("/proc/", "/sys")):
                continue  # kernel filesystems: root-owned, and the program is not root
            raise
    tmpfs = 2 | 4  # MS_NOSUID | MS_NODEV
    mount(b"tmpfs", "/tmp", b"tmpfs", tmpfs, f"size={payload['scratch_mb']}m,mode=1777".encode())
    for path in payload["hide"]:
        mount(b"tmpfs", path, b"tmpfs", tmpfs | ms["ro"], b"size=64k,mode=0755")
    posix.chdir("/tmp")


def _remove_tree(path):
    """Delete ``path`` without following symlinks the program may have planted (root runs this)."""
    for entry in posix.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _remove_tree(entry.path)
        else:
            posix.unlink(entry.path)
    posix.rmdir(path)


def _supervise(uid, wall_s, workdir):
    """unshare/rlimit backends: fork; the child returns and runs the program, the parent (root)
    supervises it (see step 2 of the module docstring) and never returns."""
    import ctypes

    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER (a no-op for a namespace init)
    _limit(resource.RLIMIT_CORE, 0)
    child = posix.fork()
    if child == 0:
        return

    def on_deadline(signum, frame):
        posix.kill(child, 9)

    _signal.signal(_signal.SIGALRM, on_deadline)
    _signal.setitimer(_signal.ITIMER_REAL, wall_s)
    while True:
        try:
            _, status = posix.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    _signal.setitimer(_signal.ITIMER_REAL, 0)
    if uid is not None:
        killer = posix.fork()
        if killer == 0:  # as the slot uid, kill(-1) reaches exactly the program's leftovers
            try:
                posix.setgroups([])
                posix.setresgid(uid, uid, uid)
                posix.setresuid(uid, uid, uid)
                posix.kill(-1, 9)
            finally:
                posix._exit(0)
    while True:  # reap the killer and every orphan that was re-parented to us
        try:  # without a slot uid leftovers cannot be killed: only reap what already exited
            if posix.waitpid(-1, 0 if uid is not None else posix.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    if workdir:  # the harness removes it too, but may have died mid-run
        try:
            _remove_tree(workdir)
        except OSError:
            pass
    code = posix.waitstatus_to_exitcode(status)
    posix._exit(code if code >= 0 else 128 - code)


def _limit(which, value):
    resource.setrlimit(which, (value, value))


def _confine(payload):
    cpu = payload["cpu_s"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    _limit(resource.RLIMIT_AS, payload["memory_mb"] << 20)
    _limit(resource.RLIMIT_FSIZE, payload["fsize_mb"] << 20)
    _limit(resource.RLIMIT_NOFILE, payload["nofile"])
    _limit(resource.RLIMIT_CORE, 0)
    uid = payload["uid"]
    if uid is None:
        return
    _limit(resource.RLIMIT_NPROC, payload["nproc"])
    posix.setgroups([])
    posix.setresgid(uid, uid, uid)
    posix.setresuid(uid, uid, uid)
    try:
        posix.setresuid(0, 0, 0)
    except PermissionError:
        return
    raise RuntimeError("privileges were not dropped: setresuid(0) succeeded after the drop")


def _run(source, name, namespace, exit_ok, time_limit=None):
    """Run one snippet; return ``"ok"`` or a one-line reason it did not reach its end."""
    try:
        try:
            if time_limit:
                _signal.setitimer(_signal.ITIMER_REAL, time_limit)
            exec(compile(source, name, "exec"), namespace)
        finally:
            if time_limit:  # disarmed before any handler below runs, so it cannot fire there
                _signal.setitimer(_signal.ITIMER_REAL, 0)
    except SystemExit as exc:
        if exit_ok and (exc.code is None or (type(exc.code) is int and exc.code == 0)):
            return "ok"
        return "exit SystemExit before the end"
    except MemoryError as exc:
        return "memory " + _one_line(exc)
    except _TestTimeout:
        return "timeout test time limit exceeded"
    except BaseException as exc:  # the program may raise anything; all of it is a failure
        return "error " + _one_line(exc)
    return "ok"


def main():
    payload = marshal.loads(_read_all(int(sys.argv[1])))
    out, tag, write = payload["result_fd"], payload["nonce"].encode() + b" ", posix.write

    def report(message):
        write(out, tag + message.encode("utf-8", "replace")[:1000] + b"\n")

    if payload["scratch_mb"]:
        _mount_scratch(payload)
    if payload["supervise"]:
        _supervise(payload["uid"], payload["wall_s"], payload["workdir"])
    _confine(payload)
    stdout, stderr = sys.stdout, sys.stderr
    sys.argv = ["prog.py"]
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    __builtins__.exit, __builtins__.quit = _Quitter("exit"), _Quitter("quit")
    report("READY")
    status = _run(payload["code"], "<program>", namespace, payload["exit_ok"])
    report("C " + status)
    tests, test_timeout = payload["tests"], payload["test_timeout"]
    if status == "ok" and tests:
        if test_timeout:
            _signal.signal(_signal.SIGALRM, _on_alarm)
        for i, test in enumerate(tests):
            report(f"T {i} " + _run(test, f"<test {i}>", namespace, False, test_timeout))
    for stream in (stdout, stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    report("END")
    if payload["uid"] is not None:
        try:
            posix.kill(-1, 9)  # as the slot uid: every leftover child or daemon of this program
        except OSError:
            pass
    posix._exit(0)


main()
