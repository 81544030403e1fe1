"""Disagreement classes for ``regrade_external.py``: why d1's parser and our verifier differ.

Each rule looks at one disagreeing item (the raw row and the record with both verdicts) and
names the mechanism; rules are tried in order, the first match wins. Which side is right for
each class was decided by reading the items (see the closing note of issue 4); ``RIGHT`` records
that verdict next to the rule so the summary JSON carries it.
"""

from __future__ import annotations

import re

from tasks.math.extract import last_boxed

_UNCLOSED_OR_MALFORMED_BOX = re.compile(r"\\boxed\{[^{}\n]*\n(?!\})|(?<!\\)boxed\{|\\boxed\{\}\s*\d|\\\.boxed")

RIGHT = {
    "gold: d1's gold parser dropped a negative answer (ground_truth null)": "ours",
    "thousands separator: d1 reads \\boxed{43,500} as 43": "ours",
    "line break inside or around the box: d1's one-line regex misses it": "ours",
    "several answers: d1 takes the first box, ours the last": "ours",
    "expression in the box: d1 takes its first number (45/3 -> 45, \\frac{2}{3} -> 2)": "ours",
    "malformed or unclosed box: d1 reads the number, our strict mode finds no answer (lenient agrees with d1)": "d1 (answer); ours by format rule",
    "prose, units or a clock time in the box (2:00 pm, 'C is 2 dollars more')": "d1",
    "thousands separator in the gold (58,500 / 10,\\!080): d1's normaliser keeps the comma": "ours",
    "equivalent form: d1's string normaliser misses it (0.25 vs \\frac14, \\frac{3}{24}, 7! \\times 2!)": "ours",
    "units, \\text/\\mbox wrappers or a choice letter around the same answer": "ours",
    "base subscript written or dropped differently (2516 vs 2516_8)": "ours",
    "same set, interval or list written differently (x \\in [-2,7], reordered)": "ours",
    "countdown: no box; d1 searches the whole text, ours grades the <answer> block": "ours",
    "countdown: unclosed box; d1's whole-text search finds an earlier 'expr = n' that happens to be right": "d1 (by luck)",
    "sudoku: cell credit from d1's fallback patterns (unclosed <answer>, text after </answer>, code fence)": "neither solves the puzzle",
}


def _gsm8k(row: dict, rec: dict) -> str:
    comp = row["completion"]
    boxes = re.findall(r"\\boxed\s*\{(.*?)\}", comp, re.DOTALL)
    if row["ground_truth"] is None:
        return "gold: d1's gold parser dropped a negative answer (ground_truth null)"
    if rec["ours_correct"] and any(re.search(r"\d,\d{3}", b) for b in boxes[:1]):
        return "thousands separator: d1 reads \\boxed{43,500} as 43"
    if rec["d1_answer"] is None or rec["ours_correct"] and re.search(r"\\boxed\s*\n|\\boxed\{[^}]*\n", comp):
        return "line break inside or around the box: d1's one-line regex misses it"
    if len(boxes) > 1 and rec["ours_answer"] is not None and boxes[0].strip() != boxes[-1].strip():
        return "several answers: d1 takes the first box, ours the last"
    unclosed = "\\boxed" in comp and last_boxed(comp) is None
    if rec["ours_answer"] is None and (unclosed or _UNCLOSED_OR_MALFORMED_BOX.search(comp)):
        return "malformed or unclosed box: d1 reads the number, our strict mode finds no answer (lenient agrees with d1)"
    if rec["ours_answer"] and re.search(r"[/\\]", rec["ours_answer"]):
        return "expression in the box: d1 takes its first number (45/3 -> 45, \\frac{2}{3} -> 2)"
    if rec["d1_correct"] and rec["ours_answer"] and re.search(r"[A-Za-z:]", rec["ours_answer"]):
        return "prose, units or a clock time in the box (2:00 pm, 'C is 2 dollars more')"
    return "other"


def _math(row: dict, rec: dict) -> str:
    gold, pred = str(rec["gold"]), str(rec["ours_answer"] or "")
    if re.search(r"_\{?\d", gold):
        return "base subscript written or dropped differently (2516 vs 2516_8)"
    if re.search(r"\\text|\\mbox|cm|inches", gold + pred) or re.fullmatch(r"[A-Za-z]+", pred.strip()):
        return "units, \\text/\\mbox wrappers or a choice letter around the same answer"
    if "\\in" in gold + pred or re.search(r"\d\s*,\s*\d", pred) and not re.search(r"\d,\d{3}", gold):
        return "same set, interval or list written differently (x \\in [-2,7], reordered)"
    if re.search(r"\d,\\?!?\d{3}", gold):
        return "thousands separator in the gold (58,500 / 10,\\!080): d1's normaliser keeps the comma"
    return "equivalent form: d1's string normaliser misses it (0.25 vs \\frac14, \\frac{3}{24}, 7! \\times 2!)"


def _countdown(row: dict, rec: dict) -> str:
    if rec["ours_correct"]:
        return "countdown: no box; d1 searches the whole text, ours grades the <answer> block"
    return "countdown: unclosed box; d1's whole-text search finds an earlier 'expr = n' that happens to be right"


def classify(task: str, row: dict, rec: dict) -> str:
    """The disagreement class of one item (a key of ``RIGHT``, or ``"other"``)."""
    if task == "gsm8k":
        return _gsm8k(row, rec)
    if task == "math500":
        return _math(row, rec)
    if task == "countdown":
        return _countdown(row, rec)
    return "sudoku: cell credit from d1's fallback patterns (unclosed <answer>, text after </answer>, code fence)"
