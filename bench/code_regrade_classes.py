"""Disagreement classes for ``regrade_code.py``: why the source's verdict and ours differ.

Rules look at one disagreeing sample record (our verdict, reason, run status, per-test results,
the graded text) plus the source's verdict and our verdict on a second run; they are tried in
order and the first match wins. ``RIGHT`` records, per class, which side is right, decided by
reading the items (examples: ``bench/results/regrade_code_disagreements/``).

Code: a second run that flips the verdict is flaky; then timeouts, missing modules, and the MBPP
test-set difference (dllm4code's autoregressive MBPP files carry no ``test_cases``, so ours are
the task's, whose first 3 asserts are MBPP's ``test_list`` — checked against the diffusion files'
``test_cases`` on 497 of 498 items — followed by the ``challenge_test_list`` asserts).
GSM8K (lm-eval logs, compared with lm-eval's ``strict-match``): the answer's format.
"""

from __future__ import annotations

import re

FLAKY_TIMING = "flaky: load-dependent timing (a slow program near the 3 s limit)"
FLAKY_NONDET = "flaky: nondeterministic program (e.g. set iteration order depends on the hash seed)"
TIMEOUT = "timeout: our run hit the 3 s limit"
MODULE = "environment: the program imports a module the sandbox interpreter lacks (e.g. sympy)"
CHALLENGE = "test set: passes MBPP's 3 test_list asserts, fails a challenge assert the source did not run"
TEST_SET = "test set: the file has no test_cases; fails one of the task's first 3 asserts"
FMT_CURRENCY = "format: '#### $20.00' (lm-eval's strict regex needs a digit right after '#### ')"
FMT_BOXED = "format: answer only in \\boxed{} (lm-eval strict-match reads '#### N' only)"
FMT_ANSWER_IS = "format: 'The answer is N' (lm-eval strict-match reads '#### N' only)"
RUN_ON = "extraction: text runs on after '#### N' (lm-eval's regex stops at the number, our strict parser takes the line)"
UNEXPLAINED = "unexplained"
MBPP_TEST_LIST = 3  # asserts in MBPP's test_list, for every item of the test split

RIGHT = {
    FLAKY_TIMING: "neither: the verdict depends on machine load",
    FLAKY_NONDET: "neither: the program's result depends on the hash seed",
    TIMEOUT: "source, where the program is right but slow (MBPP 123: O(n^2) divisor sums take > 3 s here): "
             "the verdict depends on the machine",
    MODULE: "source: the program is right where the module is installed; our sandbox has the stdlib only",
    CHALLENGE: "both: different test sets (ours adds MBPP's challenge asserts)",
    TEST_SET: "unreviewed (none left after the MBPP checks run as bare asserts)",
    FMT_CURRENCY: "ours: the same number, with a currency sign",
    FMT_BOXED: "ours: the answer is stated, in the format our prompt asks for",
    FMT_ANSWER_IS: "ours: the answer is stated, in the few-shot prompt's own words",
    RUN_ON: "lm-eval: the number after '####' is right; our strict parser keeps the run-on text",
}


def _code(rec: dict, rerun: bool | None) -> str | None:
    extra = rec.get("extra") or {}
    reason = rec.get("reason", "")
    if rerun is not None and rerun != rec["correct"]:
        return FLAKY_TIMING if "timeout" in reason else FLAKY_NONDET
    if extra.get("timeout"):
        return TIMEOUT
    if "ModuleNotFoundError" in reason or "ImportError" in reason:
        return MODULE
    if extra.get("test_set") == "task":
        tests = extra.get("tests") or []
        return CHALLENGE if len(tests) > MBPP_TEST_LIST and all(tests[:MBPP_TEST_LIST]) else TEST_SET
    return None


def _math(rec: dict, source_passed: bool) -> str | None:
    text = rec.get("completion") or ""
    if source_passed:
        return RUN_ON if "####" in text else None
    if re.search(r"####\s*[^\d\s-]", text):
        return FMT_CURRENCY
    if "\\boxed" in text:
        return FMT_BOXED
    if re.search(r"answer is", text, re.IGNORECASE):
        return FMT_ANSWER_IS
    return None


def classify(rec: dict, source_passed: bool, rerun: bool | None) -> str:
    """The class of one disagreement (see the module docstring)."""
    is_code = "status" in (rec.get("extra") or {})
    return (_code(rec, rerun) if is_code else _math(rec, source_passed)) or UNEXPLAINED
