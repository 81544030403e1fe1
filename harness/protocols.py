"""Protocols: named, versioned evaluation settings, and the content hash every result carries.

The same checkpoint's score moves by 10+ points with the prompt, generation length, sampler and
answer parser, so a number means nothing without them. A ``Protocol`` pins all of it; its
``hash`` is a SHA-256 over the canonical JSON of ``settings()`` (sorted keys, floats as floats,
name and description excluded), so two runs share a hash exactly when they were decoded and
scored the same way. The decoding batch size is *not* part of it: decoding is batch-invariant.

Shipped protocols live in ``configs/protocols/<name>.yaml``::

    from harness.protocols import load_protocol
    p = load_protocol("rldf-greedy-256")       # or a path to a YAML file
    p.hash, p.settings()["gen_length"]

Generations produced elsewhere (``rldf rescore``) get an ``ExternalProtocol``: the source's
settings as reported by its rows, hashed together with the grader (task name and version).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from harness.config_io import build, check_keys, read_yaml
from harness.decoding.config import SamplerConfig
from harness.errors import UserError

PROTOCOL_DIR = Path(__file__).resolve().parents[1] / "configs" / "protocols"
TEMPLATES = ("auto", "llada", "dream", "plain")
PARSERS = ("strict", "lenient")
_HASH_KIND = "rldf.protocol/1"
_EXTERNAL_HASH_KIND = "rldf.external_protocol/1"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,:-]*$")
_SAMPLER_FIELDS = {f.name: f for f in fields(SamplerConfig)}


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the byte string protocol hashes are taken over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _changed_grader() -> dict[str, Any]:
    """Grader switches away from their defaults, as a settings entry (none at the defaults, so
    existing protocol hashes are unchanged; tasks/math/switches.py)."""
    from tasks.math.switches import changed

    diff = changed()
    return {"grader": diff} if diff else {}


def grader_switches() -> dict[str, bool]:
    """Every grader switch's state, recorded in results."""
    from tasks.math.switches import settings

    return settings()


def _sha256(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode("ascii")).hexdigest()


# Sampler fields added after protocols were first hashed, with the value that means "as before":
# at that value they are left out of the settings, so every existing protocol keeps its hash.
_LATER_FIELDS = {"cache_refresh": 0, "cfg_scale": 0.0, "eps": 1e-3, "alg_temp": 0.0, "score_dtype": None}


def _canonical_sampler(sampler: SamplerConfig) -> dict[str, Any]:
    # 0 and 0.0 must hash alike: coerce every float-typed field (YAML may give either).
    out = sampler.to_dict()
    for name, f in _SAMPLER_FIELDS.items():
        if f.type in ("float", float) and out[name] is not None:
            out[name] = float(out[name])
    for name, neutral in _LATER_FIELDS.items():
        if out[name] == neutral:
            del out[name]
    # ``cache`` replaced the boolean ``use_cache``: none/prefix hash as the old boolean did, and
    # only the dual cache (which the boolean could not express) adds a key.
    out["use_cache"] = out["cache"] != "none"
    if out["cache"] != "dual":
        del out["cache"]
    return out


@dataclass(frozen=True)
class Protocol:
    """One evaluation setting. Every field except ``name``, ``version``, ``description`` and
    ``tasks`` enters the hash (see ``settings``)."""

    name: str
    """Identifier, e.g. ``rldf-greedy-256``; overrides append ``+field=value``."""
    sampler: SamplerConfig
    """Decoding settings (gen length, steps, block, remasking, threshold, temperature, ...)."""
    version: str = "1"
    """Bumped when the shipped YAML changes meaning; recorded with results."""
    description: str = ""
    """Where the settings come from (paper, repository, spec section)."""
    template: str = "auto"
    """Prompt format: ``auto`` = the model's family when its tokenizer has a chat template, else
    ``plain``; or force ``llada``/``dream``/``plain``."""
    shots: int = 0
    """Few-shot examples prepended to each prompt (first ``shots`` items of the task's train
    split, rendered as plain prompt + gold target). Needs ``template: plain``."""
    samples: int = 1
    """Completions per item (K). K > 1 adds unbiased pass@k and, for math, maj@K."""
    parser: str = "strict"
    """Which answer extraction is the headline ``accuracy``; both are always reported."""
    max_items: int | None = None
    """Evaluate only the first ``max_items`` items of the split (None = all)."""
    tasks: tuple[str, ...] = ()
    """Tasks ``rldf eval`` runs when ``--tasks`` is not given (not part of the hash)."""

    def __post_init__(self) -> None:
        def bad(what: str, fix: str) -> ValueError:
            return ValueError(f"Protocol {self.name!r}: {what}; {fix}")

        if not self.name or not _NAME_RE.match(self.name):
            raise bad(f"name {self.name!r} is invalid", "use letters, digits and . _ - + = , :")
        if isinstance(self.sampler, dict):
            object.__setattr__(self, "sampler", sampler_from_dict(self.sampler, f"protocol {self.name}"))
        if not isinstance(self.sampler, SamplerConfig):
            raise bad("sampler must be a SamplerConfig", "build one with harness.decoding.SamplerConfig(...)")
        if self.sampler.seed is not None:
            raise bad("sampler.seed is set", "leave it unset; the run seed (--seed / evaluate_task(seed=)) seeds every row")
        if self.template not in TEMPLATES:
            raise bad(f"template {self.template!r} is unknown", f"use one of {', '.join(TEMPLATES)}")
        if not isinstance(self.shots, int) or self.shots < 0:
            raise bad(f"shots={self.shots!r}", "use 0 or a positive count")
        if self.shots and self.template != "plain":
            raise bad(f"shots={self.shots} with template {self.template!r}", "few-shot prompts need template: plain")
        if not isinstance(self.samples, int) or self.samples < 1:
            raise bad(f"samples={self.samples!r}", "use 1 (greedy) or more completions per item")
        if self.parser not in PARSERS:
            raise bad(f"parser {self.parser!r} is unknown", f"use one of {', '.join(PARSERS)}")
        if self.max_items is not None and (not isinstance(self.max_items, int) or self.max_items < 1):
            raise bad(f"max_items={self.max_items!r}", "use a positive count or null for all items")
        object.__setattr__(self, "tasks", tuple(self.tasks))

    def settings(self) -> dict[str, Any]:
        """Every setting that changes outputs or the headline number, flat (sampler fields inline)."""
        out = {
            "template": self.template,
            "shots": self.shots,
            "samples": self.samples,
            "parser": self.parser,
            "max_items": self.max_items,
            **_canonical_sampler(self.sampler),
        }
        return {**out, **_changed_grader()}

    @property
    def hash(self) -> str:
        """SHA-256 (hex) of the canonical settings; independent of key order and of the name."""
        return _sha256({"kind": _HASH_KIND, "settings": self.settings()})

    def with_changes(self, **changes: Any) -> Protocol:
        """A copy with protocol fields and/or sampler fields changed; the name records the change.

        ``p.with_changes(samples=4, gen_length=64)`` -> name ``"<name>+gen_length=64,samples=4"``.
        Values equal to the current ones are ignored (the protocol, and its hash, stay the same).
        """
        own = {f.name for f in fields(Protocol)} - {"name", "sampler"}
        sampler_changes = {k: v for k, v in changes.items() if k in _SAMPLER_FIELDS and getattr(self.sampler, k) != v}
        own_changes = {k: v for k, v in changes.items() if k in own and getattr(self, k) != v}
        unknown = set(changes) - own - set(_SAMPLER_FIELDS)
        if unknown:
            raise UserError(f"unknown protocol setting(s) {sorted(unknown)}; settable: {sorted(own | set(_SAMPLER_FIELDS))}")
        if not sampler_changes and not own_changes:
            return self
        try:
            sampler = replace(self.sampler, **sampler_changes)
            suffix = ",".join(f"{k}={v}" for k, v in sorted({**sampler_changes, **own_changes}.items()))
            name = f"{self.name},{suffix}" if "+" in self.name else f"{self.name}+{suffix}"
            return replace(self, name=name, sampler=sampler, **own_changes)
        except ValueError as exc:
            raise UserError(str(exc)) from exc

    def to_record(self) -> dict[str, Any]:
        """The ``protocol`` section of a RunResult."""
        return {
            "name": self.name,
            "version": self.version,
            "hash": self.hash,
            "settings": self.settings(),
            "external": False,
            "source": None,
            "description": self.description,
            "grader_switches": grader_switches(),
        }


@dataclass(frozen=True)
class ExternalProtocol:
    """Settings of generations made elsewhere, as their source reports them, plus our grader.

    ``settings`` holds what the source rows say (e.g. d1's ``gen_length``, ``steps``,
    ``block_length``) and ``parser``; the hash also covers ``grader`` (task name and version),
    so regrading with a newer verifier gives a new hash.
    """

    name: str
    settings: dict[str, Any]
    grader: dict[str, Any]
    source: str
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return _sha256({"kind": _EXTERNAL_HASH_KIND, "settings": {**self.settings, **_changed_grader()},
                        "grader": self.grader})

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": "external",
            "hash": self.hash,
            "settings": dict(self.settings),
            "external": True,
            "source": self.source,
            "description": self.description,
            "grader": dict(self.grader),
            "grader_switches": grader_switches(),
            **self.extra,
        }


def sampler_from_dict(data: dict[str, Any], origin: str) -> SamplerConfig:
    """A ``SamplerConfig`` from a mapping; unknown keys and invalid values name ``origin``."""
    if not isinstance(data, dict):
        raise UserError(f"{origin}: 'sampler' must be a mapping of SamplerConfig fields")
    return build(SamplerConfig, data, f"{origin}: sampler")


def protocol_from_dict(data: dict[str, Any], origin: str) -> Protocol:
    """A ``Protocol`` from a parsed YAML mapping; every problem is one line naming ``origin``."""
    if not isinstance(data, dict):
        raise UserError(f"{origin}: expected a mapping with name, sampler, ...")
    check_keys(data, [f.name for f in fields(Protocol)], origin)
    for required in ("name", "sampler"):
        if required not in data:
            raise UserError(f"{origin}: missing field {required!r}")
    kwargs = dict(data)
    kwargs["sampler"] = sampler_from_dict(data["sampler"], origin)
    if "version" in kwargs:
        kwargs["version"] = str(kwargs["version"])
    if "tasks" in kwargs:
        tasks = kwargs["tasks"]
        kwargs["tasks"] = (tasks,) if isinstance(tasks, str) else tuple(tasks or ())
    if isinstance(kwargs.get("description"), str):
        kwargs["description"] = " ".join(kwargs["description"].split())
    try:
        return Protocol(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{origin}: {exc}") from exc


def list_protocols() -> list[str]:
    """Names of the shipped protocols (``configs/protocols/*.yaml``), sorted."""
    return sorted(p.stem for p in PROTOCOL_DIR.glob("*.yaml"))


def load_protocol(name_or_path: str | Path | Protocol) -> Protocol:
    """A shipped protocol by name, or a protocol YAML file by path (a ``Protocol`` passes through)."""
    if isinstance(name_or_path, Protocol):
        return name_or_path
    text = str(name_or_path)
    path = Path(text).expanduser()
    is_path = text.endswith((".yaml", ".yml")) or path.parent != Path(".")
    if not is_path:
        path = PROTOCOL_DIR / f"{text}.yaml"
        if not path.exists():
            names = list_protocols()
            close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(names)}"
            raise UserError(f"unknown protocol {text!r}: {hint} (or pass a path to a protocol .yaml)")
    if not path.is_file():
        raise UserError(f"protocol file {path} not found")
    protocol = protocol_from_dict(read_yaml(path, "protocol file"), str(path))
    if not is_path and protocol.name != text:
        raise UserError(f"{path}: name {protocol.name!r} does not match the file name; rename one of them")
    return protocol
