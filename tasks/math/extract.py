"""Pull the final answer out of a model completion (strict and lenient modes).

Strict mode accepts only explicit final-answer markers, tried in this order:

1. the last *complete* ``\\boxed{...}`` or ``\\fbox{...}`` (brace-balanced; a truncated box at the
   end of a completion is skipped, an earlier complete one is used), or ``\\boxed 5``;
2. the last GSM8K-style ``#### x`` line;
3. the last "The (final) answer is x" sentence.

Lenient mode tries strict first, then falls back to the last number anywhere in the text. Both
are reported side by side in math verdicts, so a score can always be audited for how much it owes
to the fallback.

The returned string is lightly cleaned (surrounding ``$``, trailing period, thousands separators
in plain numbers) but otherwise left as LaTeX for ``answers_match``.
"""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_SPACE_RE = re.compile(r"\\boxed +([^\s${}]+)")
_HASH_RE = re.compile(r"####\s*([^\n]*)")
_ANSWER_IS_RE = re.compile(
    r"(?:the\s+)?(?:final\s+)?answer\s+is\s*:?\s*(.+?)(?:\.(?:\s|$)|\n|$)", re.IGNORECASE
)
_NUMBER_RE = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+")
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SPECIAL_TOKEN_RE = re.compile(r"<\|[a-z_]+\|>")

MODES = ("strict", "lenient")


def _balanced_from(text: str, open_idx: int) -> str | None:
    """Content between ``text[open_idx] == '{'`` and its matching brace, or None if unbalanced."""
    depth = 0
    for i in range(open_idx, len(text)):
        ch = text[i]
        if ch == "{" and text[i - 1] != "\\":
            depth += 1
        elif ch == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[open_idx + 1 : i]
    return None


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{}``/``\\fbox{}`` (or ``\\boxed x``), else None."""
    candidates: list[tuple[int, str]] = []
    for m in _BOX_RE.finditer(text):
        content = _balanced_from(text, m.end() - 1)
        if content is not None:
            candidates.append((m.start(), content))
    for m in _BOX_SPACE_RE.finditer(text):
        candidates.append((m.start(), m.group(1)))
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[0])[1]


def clean_answer(ans: str) -> str:
    """Strip whitespace, ``$`` delimiters and a trailing period; drop thousands separators."""
    s = ans.strip()
    s = re.sub(r"(?<!\\)\$", "", s).strip()
    s = s.rstrip(" .")
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    return s


def _strict(text: str) -> str | None:
    boxed = last_boxed(text)
    if boxed is not None and boxed.strip():
        return clean_answer(boxed)
    hashes = _HASH_RE.findall(text)
    if hashes and hashes[-1].strip():
        return clean_answer(hashes[-1])
    said = _ANSWER_IS_RE.findall(text)
    if said and said[-1].strip():
        return clean_answer(said[-1])
    return None


def last_number(text: str) -> str | None:
    """The last number in ``text`` (thousands separators removed), else None."""
    nums = _NUMBER_RE.findall(text)
    return clean_answer(nums[-1]) if nums else None


def extract_answer(text: str, mode: str = "strict") -> str | None:
    """The final answer in ``text`` per ``mode`` (``"strict"`` or ``"lenient"``), or None."""
    if mode not in MODES:
        raise ValueError(f"extract_answer: mode must be one of {MODES}, got {mode!r}")
    text = _SPECIAL_TOKEN_RE.sub(" ", text)
    found = _strict(text)
    if found is not None or mode == "strict":
        return found
    return last_number(text)


def parse_gsm8k_gold(answer: str) -> str:
    """The number after ``####`` in a GSM8K ``answer`` field (``"... #### 1,234"`` -> ``"1234"``)."""
    _, sep, tail = answer.rpartition("####")
    if not sep or not tail.strip():
        raise ValueError("GSM8K answer has no '#### <number>' line")
    return clean_answer(tail)
