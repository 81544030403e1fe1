"""Train-step cost per estimator: rollout / reward / estimator forward+backward, side by side.

    python bench/train_step.py                                   # shipped tiny model, arithmetic (CPU)
    python bench/train_step.py --preset llada-8b --device cuda --prompts 2 --group 4   # real size, bf16, random weights

One rollout batch is decoded and graded once; then every estimator runs its update on that
same batch (with a zero learning rate, so all see the same weights), ``--repeats`` times, and
the median is reported with the number of forwards. RLDF's extra cost over ``all_masking`` is
the ratio of their update times measured in the same run (and of the whole step, rollout
included). Random-weight models get synthetic 0/1 rewards (speed does not depend on them).
Writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

ESTIMATORS = ["all_masking", "d1", "rldf", "random_masking", "coupled", "wd1", "trace"]


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="rldf-tiny")
    p.add_argument("--preset", choices=["llada-8b", "dream-7b"])
    p.add_argument("--config", default=str(ROOT / "configs" / "train" / "tiny_arith.yaml"),
                   help="recipe giving rollout/estimator/loss settings (model and task come from the flags)")
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--group", type=int, default=4)
    p.add_argument("--gen-length", type=int, default=None)
    p.add_argument("--prompt-len", type=int, default=128)
    p.add_argument("--estimators", default=",".join(ESTIMATORS))
    p.add_argument("--trace-shrink", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from accelerate import Accelerator

    from harness.config_io import load_config
    from trainer.config import TrainConfig

    overrides = [f"rollout.group_size={args.group}", f"rollout.prompts_per_step={args.prompts}"]
    if args.gen_length:
        g = args.gen_length
        overrides += [f"rollout.sampler.gen_length={g}", f"rollout.sampler.steps={g}"]
    if args.trace_shrink:
        overrides.append(f"estimator.trace.shrink={args.trace_shrink}")
    cfg = load_config(TrainConfig, args.config, overrides)
    acc = Accelerator(cpu=args.device == "cpu")
    lm, prompts, task, items = _load(args, cfg)
    lm.net.to(acc.device)
    batch, gen, rollout_s, reward_s = _rollout(args, cfg, lm, prompts, task, items, acc.device)
    rows = gen.prompt_ids

    if args.device != "cpu":
        from harness.models.base import enable_activation_checkpointing

        enable_activation_checkpointing(lm.net)
    lm.net.train()
    opt = torch.optim.SGD(lm.net.parameters(), lr=0.0)  # no optimizer state; weights never change
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    net, opt, sched = acc.prepare(lm.net, opt, sched)
    results = {
        "model": args.preset or args.model,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.machine()}, {args.threads} threads)",
        "dtype": str(lm.dtype), "samples": len(rows), "gen_length": cfg.rollout.sampler.gen_length,
        "prompt_tokens_mean": sum(len(r) for r in gen.prompt_ids) / len(rows),
        "rollout_seconds": rollout_s, "reward_seconds": reward_s, "rollout_nfe_mean": float(gen.nfe.float().mean()),
        "estimators": {},
    }
    print(f"rollout {rollout_s:.2f}s reward {reward_s:.3f}s nfe {results['rollout_nfe_mean']:.1f}", flush=True)
    for name in args.estimators.split(","):
        results["estimators"][name] = _time_update(args, cfg, name, lm, net, batch, acc, opt, sched)
        results["estimators"][name]["step_seconds"] += rollout_s + reward_s
    base = results["estimators"].get("all_masking")
    if base and "rldf" in results["estimators"]:
        r = results["estimators"]["rldf"]
        results["rldf_vs_all_masking"] = {
            "update_ratio": r["update_seconds"] / base["update_seconds"],
            "step_ratio": r["step_seconds"] / base["step_seconds"],
        }
        print("rldf vs all_masking", results["rldf_vs_all_masking"], flush=True)
    out = Path(args.out or ROOT / "bench" / "results" / f"train_step{'_' + args.preset if args.preset else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


def _rollout(args, cfg, lm, prompts, task, items, device):
    """One rollout batch, decoded and graded once (random 0/1 rewards for random-weight models)."""
    from harness.decoding import decode
    from trainer.rollout import Rollout, to_train_batch

    rows = [p for p in prompts for _ in range(args.group)]
    seeds = list(range(len(rows)))

    sync()
    t0 = time.perf_counter()
    gen = decode(lm, rows, cfg.rollout.sampler, batch_size=cfg.rollout.batch_size, row_seeds=seeds)
    sync()
    rollout_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if task is not None:
        verdicts = task.verify_many(gen.text, [e for e in items for _ in range(args.group)])
        rewards = torch.tensor([float("nan") if v.score is None else v.score for v in verdicts])
    else:
        rewards = (torch.rand(len(rows), generator=torch.Generator().manual_seed(0)) > 0.5).float()
    reward_s = time.perf_counter() - t0
    groups = torch.arange(args.prompts).repeat_interleave(args.group)
    roll = Rollout(gen, rewards, groups, torch.arange(len(rows)), [], rollout_s, reward_s)
    batch = to_train_batch(roll, lm, cfg, device)
    if task is None:
        batch.trainable[:] = True

    return batch, gen, rollout_s, reward_s


def _time_update(args, cfg, name, lm, net, batch, acc, opt, sched) -> dict:
    """Median update time of estimator ``name`` on the batch (after one warm-up run)."""
    from dataclasses import replace

    from trainer.estimators import RowRNG, get_estimator
    from trainer.update import run_update

    ecfg = replace(cfg, estimator=replace(cfg.estimator, name=name))
    est = get_estimator(name)
    times, forwards = [], 0
    for r in range(args.repeats + 1):
        plans = est.plan(batch, ecfg.estimator, RowRNG(0, r, batch.sample_ids))
        sync()
        t0 = time.perf_counter()
        stats = run_update(lm, net, None, batch, plans, est, ecfg, acc, opt, sched)
        sync()
        if r:  # the first run warms up kernels and allocator
            times.append(time.perf_counter() - t0)
        forwards = stats.forwards
    upd = statistics.median(times)
    print(f"{name:15s} update {upd:.3f}s forwards {forwards}", flush=True)
    return {"update_seconds": upd, "forwards_per_step": forwards, "step_seconds": upd,
            "peak_gpu_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None}


def _load(args, cfg):
    if args.preset:
        from harness.models.base import DiffusionLM
        from harness.models.dream import DreamModel
        from harness.models.llada import LLaDAModelLM
        from harness.models.presets import preset_config

        family, mcfg = preset_config(args.preset)
        with torch.device(args.device):
            net = (LLaDAModelLM if family == "llada" else DreamModel)(mcfg).to(torch.bfloat16)
        lm = DiffusionLM(net=net, family=family, mask_id=mcfg.mask_token_id, eos_id=mcfg.eos_token_id,
                         pad_id=mcfg.pad_token_id, name=args.preset, suppressed_ids=(mcfg.mask_token_id,))
        g = torch.Generator().manual_seed(0)
        prompts = [torch.randint(0, mcfg.mask_token_id - 1, (args.prompt_len,), generator=g).tolist()
                   for _ in range(args.prompts)]
        return lm, prompts, None, None
    from harness.models import load_model
    from tasks import get_task

    lm = load_model(args.model, device=args.device)
    task = get_task(cfg.data.task)
    items = task.load_items(split="train", n=args.prompts)
    from harness.eval.prompts import prompt_family

    template = prompt_family(cfg.data.template, lm)
    return lm, [task.format_prompt(e, template) for e in items], task, items


if __name__ == "__main__":
    main()
