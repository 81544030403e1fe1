"""Math-verify worker process: ``python -m tasks.math.worker READ_FD WRITE_FD``.

math-verify enforces its timeouts with ``signal.alarm``, which only works in a process's main
thread, so grading runs here, in a separate process, never in the caller's threads. The parent
(``tasks.math.equivalence.MathVerifierPool``) sends batches ``[(idx, gold, pred, timeout), ...]``
and receives one ``(idx, matched)`` message per item as soon as it is graded, which lets it tell
exactly which item hung when an uninterruptible computation outlives the alarm; it then kills
and replaces this process. ``None`` or a closed pipe ends the worker.

At start a worker switches math-verify's LaTeX parser to two-stage (SLL-first) parsing
(``tasks.math.two_stage``: same results, about 4x cheaper parses) and grades a fixed warm-up
list, so the first real answers do not pay for building ANTLR's and sympy's caches. It also puts a
numeric witness in front of math-verify's final ``simplify`` (``tasks.math.witness``: same
verdicts; a wrong answer that evaluates to a different number is rejected without simplifying).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import sys
from multiprocessing.connection import Connection


def wrap_latex(answer: str) -> str:
    """Put ``answer`` between ``$`` delimiters (math-verify mis-parses bare LaTeX)."""
    return "$" + re.sub(r"(?<!\\)\$", "", answer) + "$"


@functools.lru_cache(maxsize=8192)
def _parsed(answer: str, timeout: float) -> tuple:
    """math-verify's parse, LaTeX-only first (about 2x cheaper); the default extraction configs
    (LaTeX + plain expressions, which also read ``10\\%``) only when that finds no expression."""
    from math_verify import LatexExtractionConfig, parse

    text, limit = wrap_latex(answer), max(1, round(timeout))
    found = parse(text, extraction_config=[LatexExtractionConfig()], parsing_timeout=limit)
    return tuple(found if len(found) >= 2 else parse(text, parsing_timeout=limit))


def match(gold: str, pred: str, timeout: float) -> bool:
    """math-verify equivalence of ``pred`` to ``gold`` (gold first: the relation is not symmetric)."""
    from math_verify import verify

    g, p = _parsed(gold, timeout), _parsed(pred, timeout)
    if not g or not p:
        return False
    return bool(verify(list(g), list(p), timeout_seconds=max(1, round(timeout))))


# Answer shapes seen in MATH/GSM8K outputs (written here, not taken from any dataset). Grading
# them once at start-up builds ANTLR's prediction cache and sympy's caches, which a fresh worker
# would otherwise build on real items: the 354 MATH500 pairs that reach math-verify took one
# fresh process 7.4 s without this warm-up and 6.3 s after it (1.8 s).
WARMUP_PAIRS: tuple[tuple[str, str], ...] = (
    ("42", "42.0"), ("-7", "7"), ("\\frac{3}{4}", "0.75"), ("\\dfrac{5}{12}", "5/12"), ("2\\frac{1}{3}", "\\frac73"),
    ("3\\sqrt{2}", "\\sqrt{18}"), ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt3"), ("4\\pi", "12.566"),
    ("2^{10}", "1024"), ("90^\\circ", "90"), ("45^{\\circ}", "\\frac{\\pi}{4}"), ("25\\%", "0.25"),
    ("\\$1,\\!250", "1250"), ("12\\text{ cm}^2", "12"), ("\\text{(C)}", "C"), ("\\text{odd}", "even"),
    ("(1, -2)", "(1,-2)"), ("(3, \\frac{\\pi}{2})", "\\left( 3, \\frac{\\pi}{2} \\right)"), ("(2, 5]", "[2, 5)"),
    ("(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty, 1)"), ("\\{1, 2, 3\\}", "3, 2, 1"), ("1, -2", "-2,1"),
    ("\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}", "\\begin{pmatrix} 2 & 0 \\\\ 0 & 1 \\end{pmatrix}"),
    ("y = 2x + 3", "y=2x+3"), ("x^2 + 2x + 1", "(x+1)^2"), ("x = 5", "5"), ("3 - 4i", "-4i + 3"),
    ("1 \\pm \\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2"), ("\\cos x", "\\sin x"), ("\\log_2 8", "3"), ("101_2", "5"),
    ("x \\in [-1, 4]", "-1 \\le x \\le 4"), ("\\frac{a+b}{2}", "\\frac{b+a}{2}"),
)


def warm_up() -> None:
    """Grade ``WARMUP_PAIRS`` once, then forget their parses (only the grammar caches stay warm)."""
    import math_verify.parser as mv_parser

    for gold, pred in WARMUP_PAIRS:
        try:
            match(gold, pred, 5.0)
        except Exception:  # noqa: BLE001 - warming up must never stop a worker
            pass
    _parsed.cache_clear()
    cache_clear = getattr(mv_parser.parse_latex_cached, "cache_clear", None)
    if cache_clear is not None:
        cache_clear()


def serve(rx: Connection, tx: Connection) -> None:
    """Grade batches from ``rx`` until told to stop, answering each item on ``tx``."""
    while True:
        try:
            batch = rx.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for idx, gold, pred, timeout in batch:
            try:
                ok = match(gold, pred, timeout)
            except Exception:  # noqa: BLE001 - any grader failure is a non-match, never a crash
                ok = False
            tx.send((idx, ok))


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    for name in ("math_verify", "latex2sympy2_extended"):  # timeouts are expected; the parent reports them
        logging.getLogger(name).setLevel(logging.CRITICAL)
    import math_verify  # noqa: F401 - import up front so the first item is not slow

    from tasks.math import switches, two_stage, witness

    # Escape hatches (benchmarks compare against the stock set-up with them; tasks/math/switches.py):
    # RLDF_MATH_TWO_STAGE=0 keeps math-verify's full-LL parsing, RLDF_MATH_WITNESS=0 lets sympy's
    # simplify decide every symbolic comparison, RLDF_MATH_WARMUP=0 skips warm-up.
    if switches.enabled("math_two_stage"):
        two_stage.install()  # SLL-first LaTeX parsing: same results, ~4x cheaper (tasks/math/two_stage.py)
    if switches.enabled("math_witness"):
        witness.install()  # numeric disproof before simplify: same verdicts (tasks/math/witness.py)
    if os.environ.get("RLDF_MATH_WARMUP", "1") != "0":
        warm_up()

    serve(Connection(int(argv[0])), Connection(int(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
