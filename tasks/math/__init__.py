"""Math answers: extraction from completions and equivalence checking.

    from tasks.math import extract_answer, answers_match
    answers_match("\\frac{1}{2}", extract_answer(completion))   # strict: \\boxed{}, ####, "The answer is"

Importing this package does not import math-verify; the grading worker processes do.
"""

from tasks.math.equivalence import answers_match, answers_match_detailed, answers_match_many
from tasks.math.extract import extract_answer, last_boxed, parse_gsm8k_gold

__all__ = [
    "answers_match",
    "answers_match_detailed",
    "answers_match_many",
    "extract_answer",
    "last_boxed",
    "parse_gsm8k_gold",
]
