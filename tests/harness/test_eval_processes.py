"""``rldf eval`` as real processes: SIGKILL mid-run then resume, and a 2-process (gloo) run.

Both compare against an uninterrupted single-process ``evaluate_task`` with the same model,
protocol and seed: the final ``samples.jsonl`` (as a set of records, and here even in order)
and the metrics must be identical, with no duplicate and no missing record.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.eval import evaluate_task
from harness.eval.identity import safe_name
from harness.models import load_model
from harness.results import read_run_result
from tests.harness.eval_helpers import read_records, write_protocol_yaml

ROOT = Path(__file__).resolve().parents[2]
N_ITEMS = 40


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", OMP_WAIT_POLICY="PASSIVE", CUDA_VISIBLE_DEVICES="",
               OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return env


def _args(model: Path, proto: Path, out: Path, batch_size: int) -> list[str]:
    return ["eval", "--model", str(model), "--tasks", "arithmetic", "--protocol", str(proto), "--limit", str(N_ITEMS),
            "--batch-size", str(batch_size), "--out", str(out), "--no-progress"]


@pytest.fixture(scope="module")
def setup(tiny_llada, tmp_path_factory):
    """The protocol file and the uninterrupted single-process reference run."""
    base = tmp_path_factory.mktemp("procs")
    proto = write_protocol_yaml(base / "kill-test.yaml", samples=2, gen_length=32)
    ref = base / "reference"
    result = evaluate_task(load_model(tiny_llada), "arithmetic", proto, ref, limit=N_ITEMS, progress=False)
    return proto, ref, result


def _same_as_reference(run: Path, ref: Path, reference) -> None:
    records, expected = read_records(run / "samples.jsonl"), read_records(ref / "samples.jsonl")
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)) == 2 * N_ITEMS, "no duplicate and no missing record"
    assert records == expected
    assert read_run_result(run / "results.json").metrics == reference.metrics
    assert not list(run.glob("samples.rank*.jsonl"))


def _start_and_kill(cmd: list[str], samples: Path, min_records: int) -> int:
    """Run ``cmd``, SIGKILL it once ``samples`` has ``min_records`` lines; returns the count then."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if samples.exists() and samples.read_text().count("\n") >= min_records:
                break
            time.sleep(0.005)
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read().decode()[-500:]}"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    partial = read_records(samples)
    assert min_records <= len(partial) < 2 * N_ITEMS and not (samples.parent / "results.json").exists()
    return len(partial)


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tiny_llada, setup, tmp_path):
    """Killed CLI run, resumed through the same code path (evaluate_task) in this process."""
    proto, ref, reference = setup
    run = tmp_path / safe_name(str(tiny_llada)) / "arithmetic"
    cmd = [sys.executable, "-m", "harness.cli", *_args(tiny_llada, proto, tmp_path, batch_size=1)]
    n_partial = _start_and_kill(cmd, run / "samples.jsonl", 6)
    resumed = evaluate_task(load_model(tiny_llada), "arithmetic", proto, run, limit=N_ITEMS, batch_size=4, progress=False)
    _same_as_reference(run, ref, reference)
    assert resumed.speed["resumed_samples"] == n_partial and resumed.speed["decoded_samples"] == 2 * N_ITEMS - n_partial


@pytest.mark.slow
def test_sigkill_mid_run_then_cli_rerun_equals_an_uninterrupted_run(tiny_llada, setup, tmp_path):
    """The same with the resume also through the CLI, exactly as a user would re-run it."""
    proto, ref, reference = setup
    run = tmp_path / safe_name(str(tiny_llada)) / "arithmetic"
    cmd = [sys.executable, "-m", "harness.cli", *_args(tiny_llada, proto, tmp_path, batch_size=1)]
    n_partial = _start_and_kill(cmd, run / "samples.jsonl", 6)
    again = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    _same_as_reference(run, ref, reference)
    assert read_run_result(run / "results.json").speed["resumed_samples"] == n_partial


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_give_the_same_records_and_metrics_as_one(tiny_llada, setup, tmp_path):
    proto, ref, reference = setup
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(_free_port()), "-m", "harness.cli"]
    done = subprocess.run([*launcher, *_args(tiny_llada, proto, tmp_path, batch_size=8)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / safe_name(str(tiny_llada)) / "arithmetic"
    _same_as_reference(run, ref, reference)
    assert read_run_result(run / "results.json").speed["world_size"] == 2
    assert done.stdout.count("rldf eval") == 1, "only rank 0 prints the summary"
