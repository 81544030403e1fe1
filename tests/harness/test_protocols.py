"""Protocols: shipped YAML, the content hash (key order, sampler changes), validation errors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

import pytest
import yaml

from harness.decoding import SamplerConfig
from harness.errors import UserError
from harness.protocols import PROTOCOL_DIR, ExternalProtocol, Protocol, list_protocols, load_protocol

OFFICIAL = [
    "llada-official-gsm8k-256", "llada-official-humaneval-512", "dream-entropy-gsm8k-256", "dream-official-humaneval",
    "dream-maskgit-humaneval-2048", *(f"fast-dllm-gsm8k-256-{v}" for v in ("baseline", "parallel", "prefix", "dual")),
]
SHIPPED = [f"{kind}-{n}" for kind in ("rldf-greedy", "d1-zero-shot") for n in (128, 256, 512)] + ["rldf-tiny", "rldf-tiny-long", *OFFICIAL]


def test_shipped_protocols_load_with_the_literature_settings():
    assert sorted(SHIPPED) == list_protocols()
    hashes = {load_protocol(n).hash for n in SHIPPED}
    assert len(hashes) == len(SHIPPED)
    for n in (128, 256, 512):
        ref = load_protocol(f"rldf-greedy-{n}").settings()
        assert (ref["gen_length"], ref["steps"], ref["block_length"]) == (n, n, 32)
        assert (ref["remasking"], ref["threshold"], ref["temperature"], ref["use_cache"]) == ("threshold", 0.9, 0.0, True)
        assert (ref["template"], ref["shots"], ref["samples"], ref["parser"]) == ("auto", 0, 1, "strict")
        d1 = load_protocol(f"d1-zero-shot-{n}").settings()
        assert (d1["gen_length"], d1["steps"], d1["block_length"]) == (n, n // 2, 32)
        assert (d1["remasking"], d1["score"], d1["temperature"], d1["use_cache"], d1["shots"]) == (
            "static", "confidence", 0.0, False, 0
        )
    tiny = load_protocol("rldf-tiny")
    assert tiny.tasks == ("arithmetic",) and tiny.max_items == 500
    s = tiny.settings()
    assert (s["template"], s["gen_length"], s["block_length"], s["steps"], s["remasking"], s["stop_at_eos"]) == (
        "plain", 32, 32, 32, "threshold", True
    )
    for n in SHIPPED:
        assert load_protocol(n).description, f"{n} must say where its settings come from"


def test_official_evaluation_protocols_carry_their_sources_settings():
    s = {n: load_protocol(n).settings() for n in OFFICIAL}
    llada = s["llada-official-gsm8k-256"]  # LLaDA opencompass gsm8k length256 block8
    assert (llada["gen_length"], llada["block_length"], llada["steps"], llada["remasking"]) == (256, 8, 256, "static")
    assert llada["score_dtype"] == "model"  # generate.py scores in the logits' dtype
    dream = s["dream-entropy-gsm8k-256"]  # Dream eval_instruct/eval.sh gsm8k_cot
    assert (dream["remasking"], dream["score"], dream["steps"], dream["temperature"], dream["top_p"], dream["top_k"]) == (
        "dream", "neg_entropy", 256, 0.1, 0.9, 0)
    caches = [s[f"fast-dllm-gsm8k-256-{v}"] for v in ("baseline", "parallel", "prefix", "dual")]
    assert [(c["remasking"], c["use_cache"], c.get("cache")) for c in caches] == [
        ("static", False, None), ("threshold", False, None), ("threshold", True, None), ("threshold", True, "dual")]
    assert all(c["shots"] == 5 and c["block_length"] == 32 for c in caches)


def test_hash_is_sha256_of_the_canonical_settings():
    p = load_protocol("rldf-tiny")
    canonical = json.dumps({"kind": "rldf.protocol/1", "settings": p.settings()}, sort_keys=True, separators=(",", ":"))
    assert p.hash == hashlib.sha256(canonical.encode()).hexdigest()


def test_protocols_hashed_before_cache_refresh_existed_keep_their_hashes():
    # Pinned from results written before the field was added: a sampler field added later is left
    # out of the settings at its neutral value, so old results still match their protocols.
    assert "cache_refresh" not in load_protocol("rldf-tiny").settings()
    assert load_protocol("rldf-tiny").hash == "1eb0ad63bdafb4258ed099c0dbdf709046465fd2a1124b808a56793e54fd3a8c"
    assert load_protocol("rldf-greedy-256").hash == "b2be2b6200983646179d7ee69c07f201ef88aa6ec5c7a63da10e3b695443ec9f"
    assert load_protocol("rldf-greedy-256").with_changes(cache_refresh=2).settings()["cache_refresh"] == 2


def _write(tmp_path, name, data):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_key_order_and_int_vs_float_do_not_change_the_hash(tmp_path):
    base = yaml.safe_load((PROTOCOL_DIR / "rldf-greedy-256.yaml").read_text())
    shuffled = {k: base[k] for k in reversed(list(base))}
    shuffled["sampler"] = {k: base["sampler"][k] for k in reversed(list(base["sampler"]))}
    shuffled["sampler"]["temperature"] = 0  # int in YAML, float in the shipped file
    shuffled["name"] = "my-copy"  # the name is not part of the hash
    shuffled["description"] = "different words"
    a = load_protocol(_write(tmp_path, "a", base))
    b = load_protocol(_write(tmp_path, "b", shuffled))
    assert a.hash == b.hash == load_protocol("rldf-greedy-256").hash


def _changed(name: str, value) -> dict:
    """A valid change of sampler field ``name`` (with what it needs alongside)."""
    return {
        "gen_length": {"gen_length": 64}, "block_length": {"block_length": 16}, "steps": {"steps": 17},
        "remasking": {"remasking": "static"}, "threshold": {"threshold": 0.8}, "score": {"score": "margin"},
        "temperature": {"temperature": 0.5}, "top_p": {"top_p": 0.9}, "top_k": {"top_k": 5},
        "stop_at_eos": {"stop_at_eos": not value}, "defer_eos": {"defer_eos": not value},
        "cache_refresh": {"cache_refresh": 2}, "cache": {"cache": "dual"},
        "cfg_scale": {"cfg_scale": 1.0, "cache": "none"}, "eps": {"eps": 0.01}, "alg_temp": {"alg_temp": 0.5},
        "score_dtype": {"score_dtype": "float32"},
    }[name]


@pytest.mark.parametrize("field", [f.name for f in fields(SamplerConfig) if f.name != "seed"])
def test_every_sampler_change_changes_the_hash(field):
    p = Protocol(name="p", sampler=SamplerConfig(gen_length=32, block_length=32, steps=32, cache="prefix"))
    q = p.with_changes(**_changed(field, getattr(p.sampler, field)))
    assert q.hash != p.hash
    assert q.name.startswith("p+") and field in q.name


def test_cache_none_and_prefix_hash_as_the_old_use_cache_boolean():
    base = dict(gen_length=32, block_length=32, steps=32)
    for cache, old in (("none", False), ("prefix", True)):
        settings = Protocol(name="p", sampler=SamplerConfig(**base, cache=cache)).settings()
        assert settings["use_cache"] is old and "cache" not in settings
    assert Protocol(name="p", sampler=SamplerConfig(**base, cache="dual")).settings()["cache"] == "dual"


@pytest.mark.parametrize("change", [{"samples": 4}, {"parser": "lenient"}, {"max_items": 10}, {"template": "llada"}])
def test_protocol_level_changes_change_the_hash(change):
    p = Protocol(name="p", sampler=SamplerConfig(gen_length=32, block_length=32, steps=32), template="plain")
    assert p.with_changes(**change).hash != p.hash


def test_unchanged_values_keep_the_protocol():
    p = load_protocol("rldf-tiny")
    assert p.with_changes(gen_length=32, samples=1) is p


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x", "sampler": {"gen_lenght": 32}}, "sampler: unknown key 'gen_lenght'; did you mean gen_length?"),
        ({"name": "x", "sampler": {}, "shot": 1}, "unknown key 'shot'; did you mean shots"),
        ({"name": "x", "sampler": {"gen_length": 30, "block_length": 32}}, "block_length"),
        ({"name": "x", "sampler": {"seed": 3}}, "sampler.seed"),
        ({"name": "x", "sampler": {}, "shots": 2, "template": "auto"}, "template: plain"),
        ({"name": "x", "sampler": {}, "parser": "loose"}, "strict, lenient"),
        ({"name": "x", "sampler": {}, "samples": 0}, "samples=0"),
        ({"sampler": {}}, "missing field 'name'"),
    ],
)
def test_invalid_protocol_files_fail_with_one_line_naming_the_file(tmp_path, data, message):
    path = _write(tmp_path, "bad", data)
    with pytest.raises(UserError) as err:
        load_protocol(path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_unknown_protocol_name_suggests_close_names():
    with pytest.raises(UserError, match="did you mean rldf-greedy-256"):
        load_protocol("rldf-greedy-265")
    with pytest.raises(UserError, match="not found"):
        load_protocol("missing/protocol.yaml")


def test_external_protocol_hash_covers_settings_and_grader():
    a = ExternalProtocol("e", {"gen_length": 128, "steps": 64}, {"task": "gsm8k", "task_version": "1"}, "f.jsonl")
    b = ExternalProtocol("other-name", {"steps": 64, "gen_length": 128}, {"task_version": "1", "task": "gsm8k"}, "g.jsonl")
    assert a.hash == b.hash
    assert ExternalProtocol("e", {"gen_length": 256, "steps": 64}, a.grader, "f").hash != a.hash
    assert ExternalProtocol("e", a.settings, {"task": "gsm8k", "task_version": "2"}, "f").hash != a.hash
    assert a.to_record()["external"] is True and a.to_record()["settings"]["gen_length"] == 128


def test_repeated_changes_extend_one_suffix():
    p = load_protocol("rldf-tiny").with_changes(gen_length=64).with_changes(samples=3)
    assert p.name == "rldf-tiny+gen_length=64,samples=3"
    assert p.hash == load_protocol("rldf-tiny").with_changes(samples=3, gen_length=64).hash


def test_grader_switches_enter_the_hash_only_when_changed(monkeypatch):
    p = load_protocol("rldf-greedy-256")
    default = p.hash
    monkeypatch.setenv("RLDF_MATH_WITNESS", "1")  # explicitly on = the default
    assert p.hash == default and "grader" not in p.settings()
    assert p.to_record()["grader_switches"] == {"math_two_stage": True, "math_witness": True}
    monkeypatch.setenv("RLDF_MATH_WITNESS", "0")
    assert p.hash != default and p.settings()["grader"] == {"math_witness": False}
    assert p.to_record()["grader_switches"] == {"math_two_stage": True, "math_witness": False}
    monkeypatch.setenv("RLDF_MATH_TWO_STAGE", "0")
    assert p.settings()["grader"] == {"math_two_stage": False, "math_witness": False}
