"""One test per attack on the code sandbox (tasks/code/sandbox.py).

Every attack must be contained, must leave no process behind (checked after each test by the
``sandbox`` fixture: no process of a slot uid, no launcher child of this process) and must leave
the harness working (a trivial program passes afterwards). Attacks on a promise the backend does
not keep (``Sandbox.guarantees``) are skipped with the reason. By default only the detected
backend is attacked; ``RLDF_SANDBOX_ALL_BACKENDS=1`` attacks every backend that works here.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from tasks.code import slots
from tasks.code.supervise import _child_pids
from tests.tasks.conftest import TIMEOUT, needs

pytestmark = pytest.mark.sandbox
def test_infinite_loop_is_killed_at_the_deadline(sandbox):
    needs(sandbox, "timeout")
    res = sandbox.run("while True:\n    pass")
    assert res.status == "timeout", res
    assert res.wall_time < TIMEOUT + 1.0


def test_sleep_is_killed_at_the_deadline(sandbox):
    needs(sandbox, "timeout")
    res = sandbox.run("import time\ntime.sleep(1000)")
    assert res.status == "timeout", res
    assert res.wall_time < TIMEOUT + 1.0


def test_memory_bomb_hits_the_memory_limit(sandbox):
    needs(sandbox, "memory")
    res = sandbox.run("chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))")
    assert res.status == "oom", res


def test_fork_bomb_is_capped_by_the_process_limit(sandbox):
    needs(sandbox, "nproc")
    code = (
        "import os, time\n"
        "n = 0\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError:\n"
        "        break\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    n += 1\n"
        "print(n)\n"
    )
    res = sandbox.run(code)
    assert res.status == "passed", res
    assert 0 < int(res.stdout) < sandbox.defaults.nproc


def test_exponential_fork_bomb_is_contained(sandbox):
    needs(sandbox, "nproc")
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    res = sandbox.run(code)
    assert res.status == "timeout", res


def test_writes_outside_the_scratch_directory_fail(sandbox, tmp_path):
    needs(sandbox, "no_write_outside")
    open_dir = tmp_path / "world-writable"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    tag = uuid.uuid4().hex
    targets = [open_dir / tag, Path("/etc") / tag, Path.home() / tag, Path.cwd() / tag, Path("/dev/shm") / tag,
               Path("/var/tmp") / tag]
    code = (
        "import sys\n"
        f"for path in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        with open(path, 'w') as fh:\n"
        "            fh.write('pwned')\n"
        "        print('WROTE', path)\n"
        "    except OSError as exc:\n"
        "        print('denied', path, type(exc).__name__)\n"
        "with open('scratch.txt', 'w') as fh:\n"
        "    fh.write('fine')\n"
    )
    try:
        res = sandbox.run(code)
        assert res.status == "passed", res
        assert "WROTE" not in res.stdout
        assert not any(t.exists() for t in targets)
    finally:
        for t in targets:
            t.unlink(missing_ok=True)


def test_home_of_the_harness_user_cannot_be_read(sandbox):
    needs(sandbox, "no_home")
    secret = Path.home() / f".rldf-sandbox-secret-{uuid.uuid4().hex}"
    secret.write_text("the answer key")
    secret.chmod(0o644)
    try:
        code = (
            "import os\n"
            f"home = {str(Path.home())!r}\n"
            "try:\n"
            "    print(sorted(os.listdir(home)))\n"
            "except OSError as exc:\n"
            "    print('listing denied', type(exc).__name__)\n"
            "try:\n"
            f"    print(open({str(secret)!r}).read())\n"
            "except OSError as exc:\n"
            "    print('read denied', type(exc).__name__)\n"
        )
        res = sandbox.run(code)
        assert res.status == "passed", res
        assert "the answer key" not in res.stdout
        assert secret.name not in res.stdout
    finally:
        secret.unlink()


def test_network_connections_fail(sandbox):
    needs(sandbox, "no_network")
    accepted = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.2)
        port = server.getsockname()[1]

        done = threading.Event()

        def accept() -> None:
            while not done.is_set() and not accepted:
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                accepted.append(conn)

        watcher = threading.Thread(target=accept)
        watcher.start()
        code = (
            "import socket\n"
            "print(sorted(name for _, name in socket.if_nameindex()))\n"
            "for host in ('127.0.0.1', 'pypi.org'):\n"
            "    try:\n"
            f"        socket.create_connection((host, {port} if host == '127.0.0.1' else 443), timeout=1).close()\n"
            "        print('CONNECTED', host)\n"
            "    except OSError as exc:\n"
            "        print('no connection', host, type(exc).__name__)\n"
        )
        res = sandbox.run(code)
        done.set()
        watcher.join()
    for conn in accepted:
        conn.close()
    assert res.status == "passed", res
    assert "CONNECTED" not in res.stdout
    assert accepted == []
    assert res.stdout.splitlines()[0] == "['lo']"


def test_other_processes_cannot_be_killed(sandbox):
    needs(sandbox, "no_kill")
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        code = (
            "import os, signal\n"
            f"for target in ({bystander.pid}, 1, -1):\n"
            "    try:\n"
            "        os.kill(target, signal.SIGKILL)\n"
            "    except OSError as exc:\n"
            "        print(target, type(exc).__name__)\n"
        )
        res = sandbox.run(code)
        time.sleep(0.1)
        assert bystander.poll() is None, "the sandboxed program killed a process outside the sandbox"
        assert res.status in ("passed", "failed"), res
    finally:
        bystander.kill()
        bystander.wait()


def test_orphaned_daemon_is_killed_when_the_run_ends(sandbox):
    needs(sandbox, "daemons")
    marker = str(4000 + uuid.uuid4().int % 1000) + ".5"
    code = (
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', {marker!r}])\n"
        "    os._exit(0)\n"
        "os.wait()\n"
        "print('parent done')\n"
    )
    res = sandbox.run(code)
    assert res.status == "passed", res
    time.sleep(0.1)
    survivors = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == ["sleep", marker]]
    assert survivors == [], "the daemon outlived the run"


def _cmdline(proc: Path) -> list[str]:
    try:
        return [a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return []


def test_huge_output_is_capped_and_the_program_killed(sandbox):
    needs(sandbox, "output_cap")
    res = sandbox.run("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)")
    assert res.status == "failed", res
    assert "output limit" in res.detail
    assert len(res.stdout) <= sandbox.defaults.output_limit
    assert res.wall_time < TIMEOUT


def test_disk_fill_is_bounded_by_the_scratch_size(sandbox):
    needs(sandbox, "disk")
    code = (
        "written = 0\n"
        "block = b'x' * (1 << 20)\n"
        "try:\n"
        "    for i in range(100000):\n"
        "        with open(f'fill{i}', 'wb') as fh:\n"
        "            for _ in range(8):\n"
        "                fh.write(block)\n"
        "                written += len(block)\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__, exc.errno)\n"
        "print(written >> 20)\n"
    )
    res = sandbox.run(code)
    assert res.status == "passed", res
    assert int(res.stdout.split()[-1]) <= sandbox.defaults.scratch_mb + 8


def test_one_huge_file_hits_the_file_size_limit(sandbox):
    needs(sandbox, "filesize")
    code = (
        "try:\n"
        "    with open('big', 'wb') as fh:\n"
        "        for _ in range(1000):\n"
        "            fh.write(b'x' * (1 << 20))\n"
        "except OSError as exc:\n"
        "    print('stopped', exc.errno)\n"
        "import os\n"
        "print(os.path.getsize('big') >> 20)\n"
    )
    res = sandbox.run(code)
    assert res.status == "passed", res
    assert int(res.stdout.split()[-1]) <= sandbox.defaults.fsize_mb


def test_root_cannot_be_regained(sandbox):
    if not sandbox.uids:
        pytest.skip("the harness does not run as root: no uid is dropped")
    code = "import os\ntry:\n    os.setuid(0)\n    print('ROOT')\nexcept PermissionError:\n    print('denied', os.getuid())\n"
    res = sandbox.run(code)
    assert res.status == "passed", res
    assert res.stdout.startswith("denied") and int(res.stdout.split()[1]) in sandbox.uids


def test_zombies_of_earlier_runs_do_not_eat_the_process_limit(sandbox):
    needs(sandbox, "nproc")
    # 20 unreaped children + an orphan per run; more runs than the uid pool has slots, one at a
    # time, so every uid is reused: leftover zombies would make a later run's forks fail.
    code = (
        "import os, time\n"
        "for _ in range(20):\n"
        "    if os.fork() == 0:\n"
        "        os._exit(0)\n"
        "if os.fork() == 0:\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(0.05)\n"
        "        os._exit(0)\n"
        "    os._exit(0)\n"
        "print('forked')\n"
    )
    runs = len(sandbox.uids) + 2
    results = sandbox.run_many([code] * runs, workers=1)
    assert [r.status for r in results] == ["passed"] * runs, [r.detail for r in results]


def test_a_harness_killed_mid_run_leaves_nothing_behind(sandbox):
    needs(sandbox, "daemons")
    program = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\ntime.sleep(60)"
    script = (
        "import json\nfrom tasks.code.sandbox import Sandbox\n"
        f"sb = Sandbox(backend={sandbox.backend!r}, timeout=1.0)\n"
        "print(json.dumps(sorted(sb.uids)), flush=True)\n"
        f"sb.run({program!r})\n"
    )
    scratch_before = set(Path(tempfile.gettempdir()).glob("rldf-sandbox-*"))
    harness = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
    try:
        uids = json.loads(harness.stdout.readline())
        deadline = time.monotonic() + 10
        while len(slots.processes_of(uids)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the program and its daemon run
        assert len(slots.processes_of(uids)) >= 2, "the program did not start"
        launchers = _child_pids(harness.pid)
    finally:
        harness.kill()
        harness.wait()
    deadline = time.monotonic() + 1.0 + 2.0 + 5.0  # timeout + the supervisor's grace + slack
    while slots.processes_of(uids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert slots.processes_of(uids) == [], "the program outlived its harness"
    assert set(Path(tempfile.gettempdir()).glob("rldf-sandbox-*")) <= scratch_before, "its scratch directory stayed"
    # a dead launcher waits as a zombie for pid 1 to reap it (on some machines only every ~2 s)
    assert [pid for pid in launchers if _alive(pid)] == [], "the launcher outlived its harness"


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
