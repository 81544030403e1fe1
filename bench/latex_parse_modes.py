"""Does two-stage (SLL-first) LaTeX parsing give math-verify exactly the same answers, and how much faster is it?

    python bench/latex_parse_modes.py          # reads $RLDF_DATA_DIR (default ../shared/data)

Corpus: every gold answer of MATH (train), MATH500, MATH_rldf and GSM8K, every strict and lenient
answer extracted from the released LLaDA-8B-Instruct completions (GSM8K, MATH500), and both
sides of the golden equivalence cases. Each distinct string goes through the math worker's parse
(``tasks.math.worker._parsed``: math-verify's ``parse`` with our extraction configs) first with
the stock full-LL parser, then with ``tasks.math.two_stage`` installed; the printed sympy results
must be identical. For the speed ratio, the distinct answers of the MATH500 pairs that reach
math-verify in ``bench/math_grading.py`` are parsed in both modes after one warm-up pass each
(ANTLR's DFA cache warm), side by side in this one process. Writes
``bench/results/latex_parse_modes.json``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from math_grading import _load, answer_pairs  # noqa: E402  (the d1 completions, their answers)

from tasks.math import two_stage, worker  # noqa: E402
from tasks.math.equivalence import _fast_match  # noqa: E402
from tasks.math.rows import number_to_str  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def gold_answers(data: Path, names: tuple[str, ...]) -> list[str]:
    """Distinct gold answer strings of the given reference-format files in ``data``."""
    out: set[str] = set()
    for name in names:
        for row in json.loads((data / name).read_text()):
            gt = row.get("ground_truth_answer")
            if gt is not None:
                out.add(number_to_str(gt) if isinstance(gt, (int, float)) else str(gt))
    return sorted(out)


def corpus(data: Path) -> tuple[list[str], list[str]]:
    """(all distinct answer strings, the distinct strings of MATH500 pairs that reach math-verify)."""
    import yaml

    strings = set(gold_answers(data, ("MATH_train.json", "MATH500.json", "MATH_rldf.json", "gsm8k_test.json")))
    slow: set[str] = set()
    for task in ("gsm8k", "math500"):
        for gold, pred in answer_pairs(*_load(data / "external" / "d1_llada8b_instruct", task)):
            strings.add(pred)
            if task == "math500" and _fast_match(gold, pred) is None:
                slow.update((gold, pred))
    for case in yaml.safe_load((ROOT / "tests/tasks/golden/math_equivalence.yaml").read_text()):
        strings.update((str(case["gold"]), str(case["pred"])))
    return sorted(strings), sorted(slow)


def parse_all(strings: list[str]) -> tuple[list[str], float]:
    """Worker parse of each string with empty parse caches; (printed results, seconds)."""
    import math_verify.parser as mv_parser

    worker._parsed.cache_clear()
    mv_parser.parse_latex_cached.cache_clear()
    out, t0 = [], time.perf_counter()
    for s in strings:
        try:
            out.append(repr([str(x) for x in worker._parsed(s, 5.0)]))
        except Exception as exc:  # noqa: BLE001 - a failure is a result too; both modes must agree on it
            out.append(f"error: {type(exc).__name__}")
    return out, time.perf_counter() - t0


def main() -> int:
    for name in ("math_verify", "latex2sympy2_extended"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    data = Path(os.environ.get("RLDF_DATA_DIR", ROOT.parent / "shared" / "data"))
    strings, slow = corpus(data)
    print(f"{len(strings)} distinct answers; {len(slow)} in the timed MATH500 set", flush=True)
    parse_all(slow)
    ll_slow, ll_s = parse_all(slow)
    ll_all, ll_all_s = parse_all(strings)
    assert two_stage.install(), "two-stage parsing could not be installed"
    parse_all(slow)
    ts_slow, ts_s = parse_all(slow)
    ts_all, ts_all_s = parse_all(strings)
    differ = [{"answer": s, "ll": a, "two_stage": b} for s, a, b in zip(strings, ll_all, ts_all) if a != b]
    out = {
        "data": str(data),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "corpus_answers": len(strings),
        "results_differ": len(differ),
        "differences": differ[:50],
        "timed_answers": len(slow),
        "timed_results_differ": sum(a != b for a, b in zip(ll_slow, ts_slow)),
        "ll_parse_s": round(ll_s, 3),
        "two_stage_parse_s": round(ts_s, 3),
        "speedup": round(ll_s / ts_s, 2),
        "corpus_ll_s": round(ll_all_s, 1),
        "corpus_two_stage_s": round(ts_all_s, 1),
        "note": "corpus times: LL ran first (colder DFA cache), so only the timed-set ratio is a fair comparison",
    }
    path = ROOT / "bench" / "results" / "latex_parse_modes.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "differences"}, indent=1))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
