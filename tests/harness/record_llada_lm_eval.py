"""Record LLaDA's official lm-eval outputs on the shipped tiny LLaDA, for test_lm_eval_parity.py.

Runs the *fetched* ``eval_llada.py`` (LLaDA's lm-eval wrapper; ML-GSAI/LLaDA) from a scratch
directory — its code is imported from there, never copied into rldf — on
``harness/assets/rldf-tiny`` and writes ``golden/llada_lm_eval.json``: for each of our own
context/continuation pairs (single pairs and multiple-choice groups), the token ids its
``_encode_pair`` builds, its ``suffix_greedy_prediction`` verdict, and its Monte-Carlo
log-likelihood as the mean and standard deviation of ``--n-batches`` (256) per-batch estimates
(``get_loglikelihood`` with ``mc_num == batch_size`` is one batch; ``mc_num = n * batch_size`` is
the mean of n of them), for cfg = 0 and cfg > 0::

    git --git-dir=<fetch of ML-GSAI/LLaDA> archive HEAD eval_llada.py generate.py get_log_likelihood.py \\
        | tar -x -C /tmp/llada_official
    PYTHONPATH=. python tests/harness/record_llada_lm_eval.py --official /tmp/llada_official

The adapter: the official ``__init__`` loads ``AutoModel.from_pretrained(path,
trust_remote_code=True)``; here that name is pointed at rldf's native LLaDA network (whose logits
equal the reference modelling code's, tests/harness/test_models.py), kept in float32 instead of
the official bfloat16. Everything else — tokenizer, noising, cfg, cross-entropy, greedy check —
is the official code. Candidate continuations come from the official ``generate.generate``
(one token per step, low confidence, i.e. the greedy suffix) and from hand-written choices.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).parent / "golden" / "llada_lm_eval.json"
MODEL = ROOT / "harness" / "assets" / "rldf-tiny"

# (context, [continuations]); a list of several is a multiple-choice group (lm-eval sends one
# request per choice with the same context). Contexts with trailing spaces exercise _encode_pair.
GROUPS: list[tuple[str, list[str]]] = [
    ("Q: 3+5+5+1 A: 3+5 = 8; 8+5 = 13; 13+1 =", [" 14", " 15", " 13", " 41"]),
    ("Q: 4+4+2+9 A: 4+4 =", [" 8", " 9"]),
    ("Q: 7+1+2+2 A: 7+1 = 8; 8+2 =", [" 10", " 11", " 9", " 82"]),
    ("Q: 9+9+1+3 A:", [" 9+9 = 18;", " 9+9 = 81;", " 9+9 = 19;"]),
    ("Q: 5+0+6+2 A: 5+0 = 5; 5+6 = 11; 11+2 = ", ["13", "1", "13;"]),
    ("Q: 1+2+3+4 A: 1+2 = 3; 3+3 =", [" 6", " 7", " 33"]),
    ("Q: 2+6+3+5 A: 2+6 =", [" 8;", " 8", " 26"]),
    ("Q: 8+6+1+1 A: 8+6 = 14; 14+1 = 15; 15+1 =", [" 16", " 1+1"]),
    ("Q: 3+5+5+1 A:", [" 3+5 = 8; 8+5 = 13; 13+1 = 14"]),
    ("Q: 6+2+3+1 A: ", ["6+2 = 8"]),
    ("Q: 2+7+1+4 A: 2+7 = 9;", [" 9+1 = 10;"]),
]
# contexts whose official greedy suffixes (lengths below) become single pairs: is_greedy True
GREEDY_CONTEXTS = ["Q: 2+2+5+3 A:", "Q: 7+3+1+8 A: 7+3 = 10;", "Q: 4+1+6+6 A: 4+1 ="]
GREEDY_LENGTHS = (1, 4, 9)


class NativeLLaDA(torch.nn.Module):
    """What ``AutoModel.from_pretrained`` returns for the official code: rldf's network, with the
    ``.device`` attribute and ``model(x, attention_mask=...).logits`` call the official code uses."""

    def __init__(self, path: str) -> None:
        super().__init__()
        from harness.models import load_model

        self.net = load_model(path, device="cpu", dtype="float32").net

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> SimpleNamespace:
        return SimpleNamespace(logits=self.net(input_ids, attention_mask=attention_mask).logits)


def official_harness(official: Path, mask_id: int, batch_size: int):
    """``eval_llada.LLaDAEvalHarness`` built by its own ``__init__``, on our network."""
    sys.path.insert(0, str(official))
    import eval_llada

    eval_llada.AutoModel = SimpleNamespace(from_pretrained=lambda path, **_: NativeLLaDA(path))

    class Harness(eval_llada.LLaDAEvalHarness):
        device = None  # lm-eval 0.4.13's LM.device is a read-only property (0.4.8, which LLaDA pins, has none)

    return Harness(
        model_path=str(MODEL), mask_id=mask_id, batch_size=batch_size, mc_num=batch_size, device="cpu",
        is_check_greedy=True,
    )


def greedy_pairs(h, mask_id: int) -> list[tuple[str, list[str]]]:
    """Single pairs whose continuation is the official one-token-per-step greedy suffix."""
    from generate import generate  # the fetched generate.py (on sys.path via official_harness)

    pairs = []
    for ctx in GREEDY_CONTEXTS:
        prompt = torch.tensor([h.tokenizer(ctx)["input_ids"]])
        for n in GREEDY_LENGTHS:
            out = generate(h.model, prompt, steps=n, gen_length=n, block_length=n, temperature=0.0, mask_id=mask_id)
            pairs.append((ctx, [h.tokenizer.decode(out[0, prompt.shape[1]:].tolist())]))
    return pairs


def record_pair(h, context: str, continuation: str, n_batches: int) -> dict:
    prefix, target = h._encode_pair(context, continuation)
    p, t = torch.tensor(prefix), torch.tensor(target)
    per_batch = [h.get_loglikelihood(p, t) for _ in range(n_batches)]  # mc_num == batch_size: one batch each
    return {
        "context": context, "continuation": continuation, "prefix_ids": prefix, "target_ids": target,
        "is_greedy": bool(h.suffix_greedy_prediction(p, t)),
        "ll_mean": statistics.fmean(per_batch), "ll_batch_sd": statistics.stdev(per_batch), "n_batches": n_batches,
    }


def dump(meta: dict, records: dict[str, list[list[dict]]]) -> str:
    """The golden file's text: one multiple-choice group (or single pair) per line, so it stays
    small and a re-recording diffs line by line."""
    cfgs = ",\n".join(
        f" {json.dumps(cfg)}: [\n" + ",\n".join("  " + json.dumps(group) for group in groups) + "\n ]"
        for cfg, groups in records.items()
    )
    return '{"meta": ' + json.dumps(meta) + ',\n"groups": {\n' + cfgs + "\n}}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official", type=Path, required=True, help="directory holding the fetched eval_llada.py and generate.py")
    ap.add_argument("--batch-size", type=int, default=8, help="Monte-Carlo batch (LLaDA's published --batch_size 8)")
    ap.add_argument("--n-batches", type=int, default=256, help="batches per estimate (256 x 8 = 2,048 samples)")
    ap.add_argument("--cfgs", default="0,0.5,2.0", help="guidance scales to record (EVAL.md uses 0.5 and 2.0)")
    ap.add_argument("--commit", default="b7e6c3565f194352da44b38dd12b6970597309f3", help="the fetched commit, for the record")
    ap.add_argument("--out", type=Path, default=OUT, help="where to write the golden JSON")
    ap.add_argument("--seed", type=int, default=1234, help="eval_llada.py's set_seed")
    args = ap.parse_args()

    mask_id = json.loads((MODEL / "config.json").read_text())["mask_token_id"]
    h = official_harness(args.official, mask_id, args.batch_size)
    torch.manual_seed(args.seed)
    groups = GROUPS + greedy_pairs(h, mask_id)
    records = {}
    for cfg in (float(c) for c in args.cfgs.split(",")):
        h.cfg = cfg
        records[str(cfg)] = [[record_pair(h, ctx, c, args.n_batches) for c in conts] for ctx, conts in groups]
        print(f"cfg={cfg}: {sum(map(len, records[str(cfg)]))} pairs", file=sys.stderr)
    meta = {
        "official": "ML-GSAI/LLaDA eval_llada.py (LLaDAEvalHarness._encode_pair, get_loglikelihood, suffix_greedy_prediction)",
        "official_commit": args.commit,
        "model": "harness/assets/rldf-tiny (float32)", "mc_batch": args.batch_size, "seed": args.seed,
        "torch": torch.__version__,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(dump(meta, records))
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
