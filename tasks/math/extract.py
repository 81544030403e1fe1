"""Pull the final answer out of a model completion (strict and lenient modes).

Strict mode accepts only explicit final-answer markers, tried in this order:

1. the last ``\\boxed{...}`` or ``\\fbox{...}`` (brace-balanced), or ``\\boxed 5``; if the last
   box is never closed (a truncated or malformed completion) there is no boxed answer;
2. the last GSM8K-style ``#### x`` line;
3. the last ``<answer>...</answer>`` block (d1/R1-style prompts ask for these tags), unless it
   holds a malformed box;
4. the last "The (final) answer is x" sentence.

Lenient mode tries strict first, then falls back to the last number anywhere in the text. Both
are reported side by side in math verdicts, so a score can always be audited for how much it owes
to the fallback.

Text after the first end-of-turn token (``<|eot_id|>``, ``<|endoftext|>``, ``<|im_end|>``) is
ignored: raw decodes keep going past the end of the answer. The returned string is lightly
cleaned (surrounding ``$``, trailing period, thousands separators in plain numbers, unit words
after a plain number: ``240 sheets per month`` -> ``240``) but otherwise left as LaTeX for
``answers_match``.
"""

from __future__ import annotations

import re

from tasks.prompts import cut_at_end_of_turn

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BOX_WORD_RE = re.compile(r"boxed|fbox")  # also catches a box missing its backslash
_BOX_SPACE_RE = re.compile(r"\\boxed +([^\s${}]+)")
_HASH_RE = re.compile(r"####\s*([^\n]*)")
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
# "<number> <words>" where the words are units/nouns, not connectors that make a compound answer.
_NUMBER_UNITS_RE = re.compile(r"^(-?\d[\d,]*(?:\.\d+)?)\s*([A-Za-z]{2,}(?:[\s/-]+[A-Za-z]+)*)$")
_NOT_UNITS = {"and", "or", "to", "pi", "times", "plus", "minus", "over", "divided", "squared", "cubed", "sqrt", "root", "of"}
_ANSWER_IS_RE = re.compile(
    r"(?:the\s+)?(?:final\s+)?answer\s+is\s*:?\s*(.+?)(?:\.(?:\s|$)|\n|$)", re.IGNORECASE
)
# A '-' is a sign only when it does not follow a digit, letter or ')' (then it is a subtraction).
_NUMBER_RE = re.compile(r"(?:(?<![\w)])-)?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)")
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
    """Content of the last ``\\boxed{}``/``\\fbox{}`` (or ``\\boxed x``); None if there is none
    or the last one is never closed."""
    last_brace = max(_BOX_RE.finditer(text), key=lambda m: m.start(), default=None)
    last_space = max(_BOX_SPACE_RE.finditer(text), key=lambda m: m.start(), default=None)
    if last_space is not None and (last_brace is None or last_space.start() > last_brace.start()):
        return last_space.group(1)
    if last_brace is None:
        return None
    return _balanced_from(text, last_brace.end() - 1)


def clean_answer(ans: str) -> str:
    """Strip whitespace, ``$`` delimiters and a trailing period; drop thousands separators."""
    s = ans.strip()
    s = re.sub(r"(?<!\\)\$", "", s).strip()
    s = s.rstrip(" .")
    m = _NUMBER_UNITS_RE.match(s)
    if m and not _NOT_UNITS & set(re.split(r"[\s/-]+", m.group(2).lower())):
        s = m.group(1)
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
    tags = [t for t in _ANSWER_TAG_RE.findall(text) if t.strip()]
    if tags and not _BOX_WORD_RE.search(tags[-1]):  # a box left unclosed inside it stays malformed
        return clean_answer(tags[-1])
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
    text = _SPECIAL_TOKEN_RE.sub(" ", cut_at_end_of_turn(text))
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
