"""Is a predicted answer equivalent to the gold one? math-verify in worker processes, with timeouts.

Why processes: math-verify's timeouts rely on ``signal.alarm`` (main thread only), and some inputs
(``9^{9^{9^{9}}}``) spend minutes inside C code where no alarm can interrupt them. So grading
runs in a small pool of ``tasks.math.worker`` processes; an item that outlives its hard deadline
gets its worker killed and replaced and counts as *not equivalent*. The caller never hangs.

Cheap cases skip the pool: identical strings match, and two plain numbers are compared exactly
unless they are within math-verify's rounding of each other.
``answers_match`` (one pair) and ``answers_match_many`` (a batch, in parallel) share one lazily
started pool per process, shut down at exit. ``RLDF_MATH_WORKERS`` overrides its size.
"""

from __future__ import annotations

import atexit
import collections
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from fractions import Fraction
from multiprocessing.connection import Connection, wait
from pathlib import Path

DEFAULT_TIMEOUT = 5.0
_DECIMAL_RE = re.compile(r"^-?(?:\d+(?:\.\d+)?|\.\d+)$")
_FRACTION_RE = re.compile(r"^(?P<sign>-?)(?:\\[dt]?frac\{(?P<num>\d+)\}\{(?P<den>\d+)\}|(?P<num2>\d+)/(?P<den2>\d+))$")
_PKG_ROOT = str(Path(__file__).resolve().parents[2])


def _simple_number(s: str) -> Fraction | None:
    """Exact value of a plain integer, decimal, ``a/b`` or ``\\frac{a}{b}``; else None."""
    if _DECIMAL_RE.match(s):
        return Fraction(s)
    m = _FRACTION_RE.match(s)
    if m is None:
        return None
    num, den = int(m.group("num") or m.group("num2")), int(m.group("den") or m.group("den2"))
    if den == 0:
        return None
    return -Fraction(num, den) if m.group("sign") else Fraction(num, den)


def _fast_match(gold: str, pred: str) -> bool | None:
    """Decide without math-verify when that is certain; None = ask math-verify.

    Identical strings match. Two plain numbers (integers, decimals, simple fractions) match when
    exactly equal and do not when they differ by more than 1e-5 relative; math-verify, which
    rounds to 6 decimals, decides the close calls (``\\frac{1}{3}`` vs ``0.333333``).
    """
    g, p = gold.strip().replace(" ", ""), pred.strip().replace(" ", "")
    if g == p:
        return True
    a, b = _simple_number(g), _simple_number(p)
    if a is None or b is None:
        return None
    if a == b:
        return True
    if abs(a - b) > Fraction(1, 100000) * max(1, abs(a), abs(b)):
        return False
    return None


class _Worker:
    """One worker subprocess and the items it is currently grading."""

    def __init__(self, cmd: Sequence[str]) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PKG_ROOT, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [*cmd, str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.tx = Connection(to_child_w, readable=False)
        self.rx = Connection(from_child_r, writable=False)
        self.inflight: collections.deque[int] = collections.deque()
        self.last_progress = time.monotonic()

    def send(self, batch: list[tuple[int, str, str, float]]) -> None:
        self.inflight.extend(idx for idx, *_ in batch)
        self.last_progress = time.monotonic()
        self.tx.send(batch)

    def kill(self) -> None:
        for conn in (self.tx, self.rx):
            conn.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class MathVerifierPool:
    """A pool of math-verify worker processes with per-item hard deadlines.

    ``timeout`` is math-verify's own (soft, alarm-based) limit per parse/compare; an item whose
    worker reports nothing for ``3 * timeout + grace`` seconds is declared timed out. ``worker_cmd``
    (default ``python -m tasks.math.worker``) gets the two pipe fds appended; tests swap it.
    """

    def __init__(
        self, workers: int | None = None, worker_cmd: Sequence[str] | None = None, grace: float = 2.0
    ) -> None:
        n = workers or int(os.environ.get("RLDF_MATH_WORKERS", 0)) or min(8, os.cpu_count() or 1)
        if n < 1:
            raise ValueError(f"MathVerifierPool: workers must be >= 1, got {n}; set RLDF_MATH_WORKERS")
        self.size = n
        self.grace = grace
        self.worker_cmd = list(worker_cmd or [sys.executable, "-m", "tasks.math.worker"])
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self.pid = os.getpid()
        self.restarts = 0

    def _ensure_started(self) -> None:
        while len(self._workers) < self.size:
            self._workers.append(_Worker(self.worker_cmd))

    def start(self) -> float:
        """Start every worker now and wait until each has warmed up; returns the seconds taken.

        Optional: ``match_many`` starts the pool itself. Calling this early (before generating)
        moves the workers' start-up and warm-up (one to two CPU-seconds each) off the first reward batch.
        """
        t0 = time.monotonic()
        self.match_many([("0", "0+0")] * self.size)  # one item per worker (chunks are 1 item here)
        return time.monotonic() - t0

    def match_many(self, pairs: Sequence[tuple[str, str]], timeout: float = DEFAULT_TIMEOUT) -> list[tuple[bool, str]]:
        """Grade ``(gold, pred)`` pairs; returns ``(matched, note)`` per pair, note "" or "timeout"."""
        with self._lock:
            self._ensure_started()
            return self._run(pairs, timeout)

    def _run(self, pairs: Sequence[tuple[str, str]], timeout: float) -> list[tuple[bool, str]]:
        results: list[tuple[bool, str] | None] = [None] * len(pairs)
        pending = collections.deque((i, g, p, timeout) for i, (g, p) in enumerate(pairs))
        hard = 3 * timeout + self.grace
        remaining = len(pairs)
        while remaining:
            for w in self._workers:
                if not w.inflight and pending:
                    # Chunks shrink as the queue drains, so no worker is left with a long tail.
                    chunk = max(1, min(8, len(pending) // (4 * self.size)))
                    w.send([pending.popleft() for _ in range(chunk)])
            busy = [w for w in self._workers if w.inflight]
            wait([w.rx for w in busy], timeout=min(0.5, hard))
            now = time.monotonic()
            for slot, w in enumerate(self._workers):
                if not w.inflight:
                    continue
                dead = False
                try:
                    while w.rx.poll():
                        idx, ok = w.rx.recv()
                        if idx in w.inflight:
                            w.inflight.remove(idx)
                            results[idx] = (bool(ok), "")
                            remaining -= 1
                        w.last_progress = now
                except (EOFError, OSError):
                    dead = True
                if w.inflight and (dead or now - w.last_progress > hard):
                    stuck = w.inflight.popleft()
                    results[stuck] = (False, "timeout")
                    remaining -= 1
                    pending.extendleft(reversed([(i, *pairs[i], timeout) for i in w.inflight]))
                    w.kill()
                    self.restarts += 1
                    self._workers[slot] = _Worker(self.worker_cmd)
        return [r if r is not None else (False, "timeout") for r in results]

    def close(self) -> None:
        """Stop all workers (they also exit on their own when this process dies)."""
        for w in self._workers:
            try:
                w.tx.send(None)
            except OSError:
                pass
            w.kill()
        self._workers = []


_pool: MathVerifierPool | None = None
_pool_lock = threading.Lock()


def default_pool() -> MathVerifierPool:
    """The process-wide pool, started on first use (and again in a forked child)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():
            _pool = MathVerifierPool()
            atexit.register(_pool.close)
        return _pool


def answers_match_detailed(
    pairs: Sequence[tuple[str, str]], timeout: float = DEFAULT_TIMEOUT, pool: MathVerifierPool | None = None
) -> list[tuple[bool, str]]:
    """Like ``answers_match_many`` but with a note per pair: "fast", "math-verify" or "timeout".

    ``pool`` defaults to the process-wide pool (benchmarks pass a fresh one).
    """
    out: list[tuple[bool, str] | None] = [None] * len(pairs)
    slow: dict[tuple[str, str], list[int]] = {}
    for i, (g, p) in enumerate(pairs):
        fast = _fast_match(g, p)
        if fast is not None:
            out[i] = (fast, "fast")
        else:
            slow.setdefault((g, p), []).append(i)
    if slow:
        keys = list(slow)
        graded = (pool or default_pool()).match_many(keys, timeout=timeout)
        for key, (ok, note) in zip(keys, graded):
            for i in slow[key]:
                out[i] = (ok, note or "math-verify")
    return [o for o in out if o is not None]


def answers_match_many(pairs: Sequence[tuple[str, str]], timeout: float = DEFAULT_TIMEOUT) -> list[bool]:
    """``[answers_match(g, p) for g, p in pairs]``, graded in parallel."""
    return [ok for ok, _ in answers_match_detailed(pairs, timeout)]


def answers_match(gold: str, predicted: str | None, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """True when ``predicted`` is mathematically equivalent to ``gold`` (math-verify, gold first).

    Both are answer strings (LaTeX allowed, no ``$`` needed). Never hangs: a pathological input
    returns False after about ``3 * timeout + 2`` seconds at most.
    """
    if predicted is None:
        return False
    return answers_match_many([(gold, predicted)], timeout)[0]
