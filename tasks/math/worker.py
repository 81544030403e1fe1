"""Math-verify worker process: ``python -m tasks.math.worker READ_FD WRITE_FD``.

math-verify enforces its timeouts with ``signal.alarm``, which only works in a process's main
thread, so grading runs here, in a separate process, never in the caller's threads. The parent
(``tasks.math.equivalence.MathVerifierPool``) sends batches ``[(idx, gold, pred, timeout), ...]``
and receives one ``(idx, matched)`` message per item as soon as it is graded, which lets it tell
exactly which item hung when an uninterruptible computation outlives the alarm; it then kills
and replaces this process. ``None`` or a closed pipe ends the worker.
"""

from __future__ import annotations

import functools
import logging
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

    serve(Connection(int(argv[0])), Connection(int(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
