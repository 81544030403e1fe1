"""Behaviour of the code sandbox (tasks/code/sandbox.py) on ordinary programs; attacks are in
test_sandbox_attacks.py. Runs on the backend detected here."""

from __future__ import annotations

import os
import time
import warnings

import pytest

from tasks.code import backends, sandbox
from tasks.code.sandbox import ExecResult, Program, Sandbox, SandboxUnavailable

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(timeout=5)


def test_a_program_that_runs_to_its_end_passes_with_its_output(sb):
    res = sb.run("import sys\nprint(6 * 7)\nprint('oops', file=sys.stderr)")
    assert isinstance(res, ExecResult)
    assert (res.status, res.stdout, res.stderr) == ("passed", "42\n", "oops\n")
    assert res.backend == sb.backend and res.returncode == 0 and res.wall_time > 0


def test_stdin_is_fed_to_the_program(sb):
    res = sb.run("a, b = map(int, input().split())\nprint(a + b)", stdin="2 40\n")
    assert (res.status, res.stdout) == ("passed", "42\n")


def test_without_stdin_input_raises_eof(sb):
    res = sb.run("input()")
    assert res.status == "failed" and "EOFError" in res.detail


def test_an_exception_fails_and_names_the_error_and_line(sb):
    res = sb.run("x = 1\nraise ValueError('bad value')")
    assert res.status == "failed"
    assert "ValueError: bad value" in res.detail and "line 2" in res.detail


def test_a_syntax_error_fails(sb):
    res = sb.run("def f(:\n    pass")
    assert res.status == "failed" and "SyntaxError" in res.detail


def test_each_test_is_reported_separately(sb):
    code = "def double(x):\n    return x * 2 if x != 3 else 7\n"
    tests = ("assert double(1) == 2", "assert double(3) == 6", "assert double(5) == 10")
    res = sb.run(Program(code, tests))
    assert res.status == "failed"
    assert res.tests == (True, False, True) and res.tests_passed == 2
    assert "test 1" in res.detail


def test_all_tests_passing_is_a_pass(sb):
    res = sb.run(Program("def double(x):\n    return 2 * x\n", ("assert double(1) == 2", "assert double(0) == 0")))
    assert res.status == "passed" and res.tests == (True, True)


def test_tests_share_the_program_namespace_and_run_in_order(sb):
    tests = ("state.append(1)", "assert state == [1]", "state.append(2)", "assert state == [1, 2]")
    res = sb.run(Program("state = []", tests))
    assert res.tests == (True, True, True, True)


def test_a_failing_program_runs_no_tests(sb):
    res = sb.run(Program("def f():\n    return 1\nraise RuntimeError('top level')", ("assert f() == 1",)))
    assert res.status == "failed" and res.tests == (False,)


def test_a_slow_test_times_out_alone_and_the_others_still_count(sb):
    code = "import time\ndef f(x):\n    if x == 1:\n        time.sleep(30)\n    return x\n"
    tests = ("assert f(0) == 0", "assert f(1) == 1", "assert f(2) == 2")
    start = time.monotonic()
    res = sb.run(Program(code, tests, test_timeout=0.3))
    assert time.monotonic() - start < 3
    assert res.status == "failed" and res.tests == (True, False, True)
    assert "time limit" in res.detail


def test_exit_zero_counts_as_the_end_only_when_allowed(sb):
    code = "print('answer')\nimport sys\nsys.exit(0)"
    assert sb.run(Program(code, exit_ok=True)).status == "passed"
    assert sb.run(Program(code)).status == "failed"
    assert sb.run(Program(code.replace("exit(0)", "exit(3)"), exit_ok=True)).status == "failed"


def test_program_limits_override_the_call_limits(sb):
    res = sb.run(Program("import time\ntime.sleep(5)", timeout=0.5))
    assert res.status == "timeout" and res.wall_time < 2
    res = sb.run(Program("x = bytearray(300 << 20)", memory_mb=128))
    assert res.status == "oom"
    assert sb.run(Program("x = bytearray(300 << 20)", memory_mb=1024)).status == "passed"


def test_the_environment_of_the_harness_does_not_leak(sb, monkeypatch):
    monkeypatch.setenv("RLDF_TEST_SECRET_TOKEN", "hunter2")
    res = sb.run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('RLDF_TEST_SECRET_TOKEN'))")
    assert res.status == "passed"
    assert "hunter2" not in res.stdout and "RLDF_TEST_SECRET_TOKEN" not in res.stdout


def test_run_many_keeps_the_order_and_runs_in_parallel(sb):
    programs = [f"import time\ntime.sleep(0.4)\nprint({i})" for i in range(4)]
    start = time.monotonic()
    results = sb.run_many(programs, workers=2)
    elapsed = time.monotonic() - start
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(4)]
    assert elapsed < 4 * 0.4, f"4 runs of 0.4 s with 2 workers took {elapsed:.2f}s: not parallel"


def test_run_many_accepts_programs_and_strings(sb):
    results = sb.run_many(["print('a')", Program("print(x)", stdin=None)], workers=2)
    assert [r.status for r in results] == ["passed", "failed"]
    assert sb.run_many([]) == []


def test_a_broken_interpreter_is_a_sandbox_error_not_a_failure(sb):
    broken = backends.Backend(sb.backend, "/nonexistent/python3", bwrap=sb._backend.bwrap, unshare=sb._backend.unshare)
    res = sb._run_with(broken, Program("print(1)", ("assert True",)), sb.defaults)
    assert res.status == "sandbox_error", res
    assert res.tests == (False,)


def test_a_forced_backend_that_does_not_work_raises():
    with pytest.raises(SandboxUnavailable):
        Sandbox(backend=backends.BACKENDS[0], python="/nonexistent/python3")
    with pytest.raises(ValueError, match="backend"):
        Sandbox(backend="docker")
    with pytest.raises(ValueError, match="memory_mb"):
        Sandbox(memory_mb=16)


def test_detection_falls_back_to_rlimit_with_a_loud_warning(monkeypatch):
    monkeypatch.setattr(sandbox, "_detected", {})
    monkeypatch.setattr(backends.shutil, "which", lambda name, *args, **kwargs: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        weak = Sandbox()
    assert weak.backend == "rlimit"
    assert any("WITHOUT network isolation" in str(w.message) for w in caught)
    assert "no_network" not in weak.guarantees and "disk" not in weak.guarantees
    assert weak.run("print('ok')").stdout == "ok\n"


def test_detection_runs_once_per_process(monkeypatch):
    first = Sandbox()
    calls = []
    monkeypatch.setattr(Sandbox, "_probe", lambda self, forced: calls.append(forced))
    assert Sandbox().backend == first.backend
    assert calls == []


def test_guarantees_of_a_namespace_backend_are_complete(sb):
    if sb.backend == "rlimit":
        pytest.skip("no namespace backend here")
    if os.geteuid() != 0:
        pytest.skip("uid-based guarantees need root")
    assert sb.guarantees == backends.ALL_GUARANTEES


def test_the_harness_process_never_becomes_a_subreaper():
    import ctypes

    for name in backends.BACKENDS:
        try:
            Sandbox(backend=name).run("import os\nif os.fork() == 0:\n    os._exit(0)\nprint('ok')")
        except SandboxUnavailable:
            continue
    flag = ctypes.c_int(-1)
    assert ctypes.CDLL(None).prctl(37, ctypes.byref(flag), 0, 0, 0) == 0  # PR_GET_CHILD_SUBREAPER
    assert flag.value == 0, "the harness adopted orphans: it would collect zombies of the whole application"
