"""The numeric witness may only say "certainly different", and must leave math-verify's verdicts alone.

Hand-made cases for ``differs_numerically`` (zero expressions in disguise must never be called
different; clearly different ones should be), then math-verify's verdicts with and without the
patch in fresh interpreters. The corpus-wide check (1,700 pairs, real LLaDA-8B answers and equal
rewrites of MATH gold answers) is ``bench/witness_modes.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy as sp
import yaml

from tasks.math.witness import differs_numerically

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = yaml.safe_load((Path(__file__).parent / "golden" / "math_equivalence.yaml").read_text())
x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
n = sp.Symbol("n", integer=True)


@pytest.mark.parametrize(
    "diff",
    [
        sp.sqrt(8) - 2 * sp.sqrt(2),
        (x + 1) ** 2 - (x**2 + 2 * x + 1),
        sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1,
        (x**2 - 1) / (x - 1) - (x + 1),
        sp.sin(n * sp.pi),  # zero only because n is an integer: the witness must respect that
        sp.Abs(x * y) - sp.Abs(x) * sp.Abs(y),
        sp.exp(sp.pi * sp.sqrt(163)) - 640320**3 - 744,  # -7.5e-13: too close to zero to call
        sp.Function("f")(x) - sp.Function("f")(y),  # undefined functions: simplify decides
        sp.Integral(x, (x, 0, 1)) - sp.Rational(1, 3),  # unevaluated objects: simplify decides
        sp.Symbol("z", real=False) - 1,  # no rational value satisfies real=False
    ],
)
def test_never_calls_a_zero_or_doubtful_difference_different(diff):
    assert differs_numerically(diff) is False


@pytest.mark.parametrize(
    "diff",
    [
        2 * sp.sqrt(113) - 2 * sp.sqrt(41),
        sp.Rational(1, 3) - sp.Rational(1, 4) / sp.pi**2,
        x**8 - (x**8 - x**7 + x**6),
        sp.cot(x) - (sp.sec(x) - sp.tan(x)),
        6 - 5 * sp.I - (2 + sp.I),  # complex values count too
        1 / (x - sp.Rational(7, 3)) - 1,  # singular at the first point, decided at the next
        sp.sin(n * sp.pi / 2) + n,
    ],
)
def test_calls_clearly_different_expressions_different(diff):
    assert differs_numerically(diff) is True


_SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    sys.path.insert(0, {root!r})
    logging.disable(logging.CRITICAL)
    from tasks.math import witness, worker
    import tasks.math.witness as w

    pairs = json.loads(sys.stdin.read())
    skipped = []
    if {patched!r}:
        assert witness.install() and witness.install()  # idempotent
        inner = w.differs_numerically
        w.differs_numerically = lambda d: (lambda r: (skipped.append(r), r)[1])(inner(d))
    out = [worker.match(g, p, 5.0) for g, p in pairs]
    print(json.dumps({{"out": out, "skipped_simplify": sum(skipped)}}))
    """
)


def _verdicts(pairs: list[list[str]], patched: bool) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(root=str(ROOT), patched=patched)],
        input=json.dumps(pairs), capture_output=True, text=True, timeout=300, check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_math_verify_verdicts_unchanged_by_the_witness():
    pairs = [[str(c["gold"]), str(c["pred"])] for c in GOLDEN] + [
        ["2\\sqrt{113}", "2\\sqrt{41}"], ["x^2 + 2x + 1", "(x+1)^2"], ["\\cot x", "\\sec x - \\tan x"],
        ["x^8 + x^7 + 1", "x^8"], ["\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt3"], ["6 - 5i", "2 + i"],
        ["\\frac{a+b}{2}", "\\frac{b+a}{2}"], ["3\\sqrt{13}", "\\sqrt{117}"], ["288 \\pi", "\\frac{4}{3}\\pi r^3"],
    ]
    stock = _verdicts(pairs, patched=False)
    fast = _verdicts(pairs, patched=True)
    assert fast["out"] == stock["out"]
    assert stock["out"][len(GOLDEN):] == [False, True, False, False, True, False, True, True, False]
    assert fast["skipped_simplify"] >= 4  # the shortcut was really taken on the wrong answers
