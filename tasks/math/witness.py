"""A numeric witness before ``simplify``: math-verify's last equivalence check, made cheap when it fails.

Why: when two answers differ and are not plain numbers, math-verify ends with
``sympy_symbolic_eq(gold, pred)``, i.e. ``simplify(gold - pred).is_zero``. On MATH500 outputs of
LLaDA-8B that one call was a third of all grading time (measured: 2.2 of 6.7 CPU-s for the 354
pairs that reach math-verify), almost all of it spent on wrong answers such as ``2\\sqrt{113}``
vs ``2\\sqrt{41}`` or two different polynomials, where ``simplify`` works hard only to return
something non-zero.

What changes: before calling ``simplify``, ``gold - pred`` is evaluated at a few rational points
(values chosen to satisfy every assumption of every symbol, e.g. ``real=True``). If it evaluates
to a finite number that is clearly non-zero (|value| > 1e-9 with at least 60 bits of precision
left after cancellation), the difference is not identically zero, so no correct simplification
can make ``.is_zero`` true: the answer is False and ``simplify`` is skipped. In every other case
(a zero or tiny value, lost precision, a singular point, undefined functions, integrals, matrices,
an exception) math-verify's own ``simplify`` decides, exactly as before. A True verdict is never
produced here.

``bench/witness_modes.py`` checks that verdicts are unchanged on every (gold, answer) pair of the
released LLaDA-8B outputs that reaches math-verify, the golden cases, and equal rewrites (printed,
expanded, factored) of MATH gold answers: 1,707 pairs, 0 differences. ``install()`` patches math-verify in the current
process only (the math workers call it; ``RLDF_MATH_WITNESS=0`` turns it off).
"""

from __future__ import annotations

from typing import Any

# Rational points: "generic" enough that a non-zero expression built from answer-sized constants
# is very unlikely to vanish at all of them, and positive so that they satisfy real, positive,
# non-zero and finite assumptions; a symbol assumed integer gets the integer points.
_POINTS = ((7, 3), (11, 5), (13, 17))
_INT_POINTS = (7, 11, 13)
_MIN_ABS = 1e-9
_MIN_PREC_BITS = 60

_installed = False


def _assign(symbols: list[Any], k: int) -> dict | None:
    """Values for ``symbols`` at point ``k`` satisfying all their assumptions; None if impossible."""
    from sympy import Integer, Rational

    values = {}
    for i, s in enumerate(symbols):
        assumptions = s.assumptions0
        if assumptions.get("integer"):
            v = Integer(_INT_POINTS[(i + k) % len(_INT_POINTS)])
        else:
            num, den = _POINTS[(i + k) % len(_POINTS)]
            v = Rational(num + 2 * i, den)
        if any(getattr(v, "is_" + key) != want for key, want in assumptions.items()):
            return None
        values[s] = v
    return values


def _clearly_nonzero(value: Any) -> bool:
    """True when an evaluated sympy number is finite, precise and far from zero."""
    try:
        parts = value.as_real_imag()
    except Exception:  # noqa: BLE001 - anything odd: let simplify decide
        return False
    big = False
    for part in parts:
        if not part.is_Number or not part.is_finite:
            return False
        if part.is_Float and part._prec < _MIN_PREC_BITS:
            return False
        big = big or bool(abs(part) > _MIN_ABS)  # sympy comparison: no float overflow on huge values
    return big


def differs_numerically(diff: Any) -> bool:
    """True only if ``diff`` (a sympy expression) is certainly not identically zero."""
    from sympy import Derivative, Expr, Integral, Limit, Product, Sum, Symbol
    from sympy.core.function import AppliedUndef

    if not isinstance(diff, Expr) or diff.has(Integral, Derivative, Limit, Sum, Product) or diff.atoms(AppliedUndef):
        return False
    symbols = sorted(diff.free_symbols, key=str)
    if any(type(s) is not Symbol for s in symbols):
        return False
    for k in range(len(_POINTS) if symbols else 1):
        values = _assign(symbols, k)
        if values is None:
            return False
        try:
            value = diff.xreplace(values).evalf(30)
        except Exception:  # noqa: BLE001 - evaluation trouble: let simplify decide
            continue
        if _clearly_nonzero(value):
            return True
    return False


def install() -> bool:
    """Put the numeric witness in front of math-verify's ``sympy_symbolic_eq``; True when active."""
    global _installed
    if _installed:
        return True
    try:
        import math_verify.grader as grader
        from sympy import Basic
    except ImportError:
        return False
    original = getattr(grader, "sympy_symbolic_eq", None)
    if original is None:
        return False

    def symbolic_eq(a: Any, b: Any) -> bool:
        if isinstance(a, Basic) and isinstance(b, Basic):
            try:
                if differs_numerically(a - b):
                    return False
            except Exception:  # noqa: BLE001 - the original handles (and swallows) the same failures
                pass
        return original(a, b)

    grader.sympy_symbolic_eq = symbolic_eq
    _installed = True
    return True
