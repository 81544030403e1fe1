"""Two-stage ANTLR parsing (SLL first, full LL only when SLL fails) for math-verify's LaTeX parser.

Why: math-verify turns LaTeX into sympy with latex2sympy2_extended, whose ANTLR grammar is
parsed by the pure-Python ANTLR runtime in full LL mode. On answers with parentheses and commas
(``(1, 0)``, intervals, tuples) LL prediction falls back to full-context simulation, whose
results ANTLR cannot cache, so each such answer costs 30-80 ms however often the grammar has
been seen. SLL prediction is cached and about 4x cheaper on MATH500 answers
(``bench/results/latex_parse_modes.json``).

Why the result is unchanged: ANTLR documents that in SLL mode the parser "will either return a
correct parse tree (i.e. the same parse tree that would be returned with the LL prediction
mode), or it will report a syntax error" (``antlr4.atn.PredictionMode``). The grammar's top rule
ends in ``EOF``, so a tree is only returned for a whole, syntactically correct answer. When SLL
reports an error we rewind and parse again in LL mode with latex2sympy's own error listener, so
real syntax errors surface exactly as before. This is the two-stage strategy the ANTLR authors
recommend (Parr, Harwell and Fisher, "Adaptive LL(*) Parsing: The Power of Dynamic Analysis",
OOPSLA 2014).
``bench/latex_parse_modes.py`` checks the equality on every gold answer of MATH (train), MATH500
and GSM8K and on every answer extracted from real LLaDA-8B outputs.

``install()`` patches latex2sympy2_extended in the current process only (the math workers call
it); if that library's internals ever change shape it does nothing and parsing stays LL.
"""

from __future__ import annotations

from typing import Any


class _SLLFailed(Exception):
    """Raised by the stage-one error listener: SLL could not parse, retry with full LL."""


_installed = False


def install() -> bool:
    """Make latex2sympy2_extended parse SLL-first in this process; True when active."""
    global _installed
    if _installed:
        return True
    try:
        from antlr4.atn.PredictionMode import PredictionMode
        from antlr4.error.ErrorListener import ErrorListener
        from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy
    except ImportError:
        return False
    create_parser = getattr(_Latex2Sympy, "create_parser", None)
    if create_parser is None:
        return False

    class _Bail(ErrorListener):
        def syntaxError(self, recognizer: Any, offendingSymbol: Any, line: int, column: int, msg: str, e: Any) -> None:
            raise _SLLFailed(msg)

    def two_stage_create_parser(self: Any, latex_str: str) -> Any:
        parser = create_parser(self, latex_str)
        ll_math = parser.math

        def math() -> Any:
            listeners = list(parser._listeners)
            parser.removeErrorListeners()
            parser.addErrorListener(_Bail())
            parser._interp.predictionMode = PredictionMode.SLL
            try:
                return ll_math()
            except _SLLFailed:
                parser.reset()  # rewinds the token stream
            finally:
                parser.removeErrorListeners()
                for listener in listeners:
                    parser.addErrorListener(listener)
                parser._interp.predictionMode = PredictionMode.LL
            return ll_math()

        parser.math = math
        return parser

    _Latex2Sympy.create_parser = two_stage_create_parser
    _installed = True
    return True
