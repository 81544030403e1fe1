"""Math extraction and equivalence against the golden files, plus the never-hang guarantee."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from tasks import Example
from tasks.math import answers_match, answers_match_many, extract_answer, parse_gsm8k_gold
from tasks.math.equivalence import MathVerifierPool
from tasks.math.grading import verify_math_many

GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> list[dict]:
    return yaml.safe_load((GOLDEN / name).read_text())


EXTRACTION = _load("math_extraction.yaml")
EQUIVALENCE = _load("math_equivalence.yaml")
GSM8K_GOLD = _load("gsm8k_gold.yaml")


@pytest.mark.parametrize("case", EXTRACTION, ids=[c["why"][:40] for c in EXTRACTION])
def test_extraction_golden(case):
    assert extract_answer(case["text"], "strict") == case["strict"]
    assert extract_answer(case["text"], "lenient") == case["lenient"]


@pytest.mark.parametrize("case", GSM8K_GOLD, ids=[c["why"][:40] for c in GSM8K_GOLD])
def test_gsm8k_gold_parsing(case):
    assert parse_gsm8k_gold(case["answer"]) == case["gold"]


def test_gsm8k_gold_without_marker_is_an_error():
    with pytest.raises(ValueError):
        parse_gsm8k_gold("no marker here")


def test_equivalence_golden():
    # One batch through the worker pool: every case must get the human verdict.
    got = answers_match_many([(c["gold"], c["pred"]) for c in EQUIVALENCE])
    wrong = [(c["gold"], c["pred"], c["match"]) for c, g in zip(EQUIVALENCE, got) if g != c["match"]]
    assert not wrong


def test_answers_match_single_and_none():
    assert answers_match("\\frac{1}{2}", "0.5") is True
    assert answers_match("2", None) is False


def test_extract_mode_is_checked():
    with pytest.raises(ValueError):
        extract_answer("x", mode="fuzzy")


def test_pathological_input_times_out_and_returns_false():
    start = time.monotonic()
    assert answers_match("3", "9^{9^{9^{9}}}", timeout=1) is False
    assert time.monotonic() - start < 15


_FAKE_WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {root!r})
    from multiprocessing.connection import Connection
    from tasks.math import worker

    def match(gold, pred, timeout):
        if pred == "HANG":  # stuck where no alarm can reach (signals ignored)
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                time.sleep(1)
        if pred == "CRASH":
            os._exit(3)
        return gold == pred

    worker.match = match
    worker.serve(Connection(int(sys.argv[1])), Connection(int(sys.argv[2])))
    """
)


def test_hung_or_crashed_worker_is_replaced(tmp_path):
    script = tmp_path / "fake_worker.py"
    script.write_text(_FAKE_WORKER.format(root=str(ROOT)))
    pool = MathVerifierPool(workers=1, worker_cmd=[sys.executable, str(script)], grace=0.5)
    try:
        pairs = [("1", "1"), ("2", "HANG"), ("3", "3"), ("4", "CRASH"), ("5", "6"), ("7", "7")]
        start = time.monotonic()
        got = pool.match_many(pairs, timeout=0.1)
        assert time.monotonic() - start < 10
        assert got == [(True, ""), (False, "timeout"), (True, ""), (False, "timeout"), (False, ""), (True, "")]
        assert pool.restarts == 2
        assert pool.match_many([("8", "8")], timeout=0.1) == [(True, "")]  # still serving
    finally:
        pool.close()


def test_pool_start_warms_every_worker_before_returning():
    pool = MathVerifierPool(workers=2)
    try:
        assert pool.start() > 0
        assert len(pool._workers) == 2 and all(w.proc.poll() is None and not w.inflight for w in pool._workers)
        assert pool.match_many([("\\frac{1}{2}", "0.5"), ("(1, 2)", "(2, 1)")]) == [(True, ""), (False, "")]
        assert pool.restarts == 0
    finally:
        pool.close()


def test_math_verdicts_report_strict_and_lenient():
    completions = ["so \\boxed{18}", "she earns 18 dollars", "The answer is 17.", ""]
    verdicts = verify_math_many(completions, ["18"] * 4)
    assert [v.correct for v in verdicts] == [True, False, False, False]
    assert [v.extra["lenient"]["correct"] for v in verdicts] == [True, True, False, False]
    assert [v.answer for v in verdicts] == ["18", None, "17", None]
    assert [v.score for v in verdicts] == [1.0, 0.0, 0.0, 0.0]


def test_math_task_verify_matches_batch():
    from tasks import get_task

    task = get_task("math500")
    ex = Example(id="t", question="q", answer="\\frac{\\sqrt{3}}{2}")
    comps = ["\\boxed{\\frac{\\sqrt3}{2}}", "\\boxed{0.5}", "no answer"]
    assert task.verify_many(comps, [ex] * 3) == [task.verify(c, ex) for c in comps]


def test_fast_path_agrees_with_math_verify():
    from tasks.math.equivalence import _fast_match, default_pool

    pairs = [("18", "18.00"), ("\\frac{1}{2}", "0.5"), ("-\\frac{1}{2}", "-0.5"), ("3/4", "\\dfrac{3}{4}"),
             ("\\frac{1}{3}", "0.3333"), ("2", "3"), ("0.5", "0.5001"), ("-7", "7"), (".25", "\\frac{1}{4}"),
             ("1234", "1235"), ("\\frac{7}{2}", "3.5"), ("100", "99.99")]
    fast = [_fast_match(g, p) for g, p in pairs]
    assert None not in fast
    slow = [ok for ok, _ in default_pool().match_many(pairs)]
    assert fast == slow
