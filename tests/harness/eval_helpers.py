"""Shared pieces for the eval tests: a toy task whose grade is a pure function of the text, and
a sampling protocol that makes a random tiny model produce varied completions."""

from __future__ import annotations

import json
from pathlib import Path

from harness.decoding import SamplerConfig
from harness.protocols import Protocol
from tasks.base import Example, Task, Verdict


def toy_verify(flip: bool = False):
    def verify(completion: str, example: Example) -> Verdict:
        if not completion or ord(completion[0]) % 5 == 0:
            return Verdict.unscorable("first character is a multiple of 5")
        ok = (ord(completion[0]) % 2 == 0) != flip
        lenient = {"correct": ok or completion[-1:].isdigit(), "answer": completion[-1:]}
        return Verdict.binary(ok, completion[0], "parity of the first character", lenient=lenient)

    return verify


def toy_task(version: str = "1", n: int = 6, flip: bool = False, loads: list | None = None) -> Task:
    """``n`` items ``toy-00``...; correct iff the completion's first character has an even code."""

    def load(split=None, source=None):
        if loads is not None:
            loads.append(split)
        return [Example(id=f"toy-{i:02d}", question=f"{i}+{i}", answer=str(2 * i)) for i in range(n)]

    return Task(
        name="toy", version=version, load=load, format_prompt=lambda ex, family: f"Q: {ex.question} A: ",
        verify=toy_verify(flip), splits=("test", "train"), kind="math", lenient=True,
        sft_target=lambda ex: f"{ex.question} = {ex.answer}",
    )


def sampling_protocol(samples: int = 4, **sampler) -> Protocol:
    cfg = {"gen_length": 8, "block_length": 8, "steps": 8, "remasking": "static", "temperature": 1.0, **sampler}
    return Protocol(name="toy-sampling", sampler=SamplerConfig(**cfg), template="plain", samples=samples)


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def write_protocol_yaml(path: Path, samples: int = 1, gen_length: int = 16) -> Path:
    """A protocol file for CLI runs on the tiny model (greedy unless samples > 1)."""
    temperature = 1.0 if samples > 1 else 0.0
    path.write_text(
        f"name: {path.stem}\ntemplate: plain\nsamples: {samples}\nsampler:\n  gen_length: {gen_length}\n"
        f"  block_length: {gen_length}\n  steps: {gen_length}\n  remasking: static\n  temperature: {temperature}\n"
    )
    return path
