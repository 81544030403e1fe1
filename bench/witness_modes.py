"""Does the numeric witness (``tasks.math.witness``) leave every math-verify verdict unchanged?

    python bench/witness_modes.py          # reads $RLDF_DATA_DIR (default ../shared/data)

The witness can only turn a would-be ``simplify`` call into False, so the pairs that could change
are *equal* answers written differently (a wrong witness would reject them) and wrong answers
(where it saves the time). Corpus, all graded through the math worker's ``match`` (math-verify
with our parse configs and two-stage parsing):

- every distinct (gold, answer) pair of the released LLaDA-8B-Instruct completions (GSM8K,
  MATH500; strict and lenient answers) that our fast path leaves to math-verify: real wrong and
  right answers;
- the golden equivalence cases;
- equal pairs written differently: each gold answer of MATH (train) and MATH500 that parses to an
  expression, against sympy's LaTeX of that expression expanded, factored and as printed (only
  where the string differs from the gold).

Each pair is graded with the witness off, then on, in this one process; verdicts must be
identical. No times here (the second pass reuses the first one's parses); the side-by-side
speed ratio is ``bench/math_grading.py``'s. Writes ``bench/results/witness_modes.json``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latex_parse_modes import gold_answers  # noqa: E402
from math_grading import _load, answer_pairs  # noqa: E402  (the d1 completions, their answers)

from tasks.math import two_stage, witness, worker  # noqa: E402
from tasks.math.equivalence import _fast_match  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class _Slow(Exception):
    pass


def _rewrites(gold: str) -> list[str]:
    """Sympy's LaTeX of the gold's expression: as printed, expanded, factored (1 s limit each)."""
    from sympy import Basic, expand, factor, latex

    parsed = [x for x in worker._parsed(gold, 5.0) if isinstance(x, Basic)]
    if not parsed or parsed[0].is_Number:
        return []  # plain numbers are the fast path's, and the golden cases cover their forms
    expr, out = parsed[0], []

    def alarm(*_: object) -> None:
        raise _Slow

    old = signal.signal(signal.SIGALRM, alarm)
    try:
        for f in (lambda e: e, expand, factor):
            signal.alarm(1)
            try:
                s = latex(f(expr))
            except Exception:  # noqa: BLE001 - slow or unprintable rewrite: skip it
                continue
            finally:
                signal.alarm(0)
            if s.replace(" ", "") != gold.replace(" ", "") and s not in out:
                out.append(s)
    finally:
        signal.signal(signal.SIGALRM, old)
    return out


def corpus(data: Path) -> dict[str, list[tuple[str, str]]]:
    """Pairs by source: real LLaDA-8B answers, golden cases, equal rewrites of gold answers."""
    import yaml

    src = data / "external" / "d1_llada8b_instruct"
    real = {p for task in ("gsm8k", "math500") for p in answer_pairs(*_load(src, task)) if _fast_match(*p) is None}
    golden = [(str(c["gold"]), str(c["pred"])) for c in
              yaml.safe_load((ROOT / "tests/tasks/golden/math_equivalence.yaml").read_text())]
    rewrites = [(g, r) for g in gold_answers(data, ("MATH_train.json", "MATH500.json")) for r in _rewrites(g)]
    return {"llada8b_answers": sorted(real), "golden": golden, "equal_rewrites": rewrites}


def grade(pairs: list[tuple[str, str]]) -> list[bool]:
    out = []
    for gold, pred in pairs:
        try:
            out.append(worker.match(gold, pred, 5.0))
        except Exception:  # noqa: BLE001 - a failure is a non-match in the worker too
            out.append(False)
    return out


def main() -> int:
    for name in ("math_verify", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    data = Path(os.environ.get("RLDF_DATA_DIR", ROOT.parent / "shared" / "data"))
    assert two_stage.install(), "two-stage parsing could not be installed"
    sources = corpus(data)
    print({k: len(v) for k, v in sources.items()}, flush=True)
    off = {k: grade(v) for k, v in sources.items()}
    assert witness.install(), "the witness could not be installed"
    on = {k: grade(v) for k, v in sources.items()}
    report, differ = {}, []
    for k, pairs in sources.items():
        v_off, v_on = off[k], on[k]
        d = [{"gold": g, "pred": p, "off": a, "on": b} for (g, p), a, b in zip(pairs, v_off, v_on) if a != b]
        differ += d
        report[k] = {"pairs": len(pairs), "matched": sum(v_off), "verdicts_differ": len(d)}
    out = {
        "data": str(data),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "sources": report,
        "verdicts_differ": len(differ),
        "differences": differ[:50],
    }
    path = ROOT / "bench" / "results" / "witness_modes.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "differences"}, indent=1))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
