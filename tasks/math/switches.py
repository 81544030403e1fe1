"""Switches that change how math answers are graded, so results can say which grader ran.

Both are on by default and were checked to give identical verdicts (tasks/math/two_stage.py,
tasks/math/witness.py); turning one off (``=0``) is for comparing against math-verify as shipped.
They are read in the grading workers and in the parent alike: ``changed()`` (only the switches
that are off) enters the protocol hash, so results graded differently never share a leaderboard
column, while protocol hashes at the defaults stay what they were; ``settings()`` (all of them)
is recorded in every result.
"""

from __future__ import annotations

import os

SWITCHES = {"math_two_stage": "RLDF_MATH_TWO_STAGE", "math_witness": "RLDF_MATH_WITNESS"}


def enabled(name: str) -> bool:
    return os.environ.get(SWITCHES[name], "1") != "0"


def settings() -> dict[str, bool]:
    """Every grader switch and its state."""
    return {name: enabled(name) for name in SWITCHES}


def changed() -> dict[str, bool]:
    """The switches away from their defaults (empty at the defaults)."""
    return {name: on for name, on in settings().items() if not on}
