"""Estimator variants: an estimator name with overrides of its ``estimator.*`` settings.

Written ``rldf[k=8]`` or ``rldf[k=4,rldf.step_temperature=inf]`` (keys relative to
``estimator.``, validated by ``TrainConfig`` like any ``--set``). Variants that resolve to the
same estimator settings are measured once (the others are recorded as aliases).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from harness.config_io import config_to_dict, load_config
from harness.errors import UserError
from trainer.config import TrainConfig
from trainer.estimators import ESTIMATORS
from trainer.lab.options import LAB_LOSS, SWEEPS, LabSettings

_VARIANT = re.compile(r"^([a-z_0-9]+)(?:\[(.*)\])?$")


@dataclass
class Variant:
    label: str  # as written, e.g. "rldf[k=8]"
    name: str
    overrides: list[str]  # ``estimator.``-prefixed
    cfg: TrainConfig
    aliases: list[str] = field(default_factory=list)  # other labels that resolved to the same settings

    def key(self) -> str:
        return json.dumps(config_to_dict(self.cfg.estimator), sort_keys=True)


def parse_variant(text: str) -> tuple[str, list[str]]:
    """``"rldf[k=8,rldf.step_temperature=0]"`` -> ``("rldf", ["estimator.k=8", ...])``."""
    m = _VARIANT.match(text.strip())
    if not m:
        raise UserError(f"--estimators entry {text!r}: write NAME or NAME[key=value,...], e.g. rldf[k=8]")
    name, inner = m.group(1), m.group(2)
    if name not in ESTIMATORS:
        raise UserError(f"--estimators entry {text!r}: unknown estimator {name!r}; choose one of {', '.join(ESTIMATORS)}")
    pairs = [p.strip() for p in inner.split(",") if p.strip()] if inner else []
    for p in pairs:
        if "=" not in p:
            raise UserError(f"--estimators entry {text!r}: {p!r} must be key=value (a setting under estimator.)")
    return name, [f"estimator.{p}" for p in pairs]


def resolve_variants(recipe: str, base_overrides: list[str], labels: list[str]) -> list[Variant]:
    """One ``Variant`` per distinct resolved estimator config, in the order first written."""
    out: dict[str, Variant] = {}
    for label in labels:
        name, extra = parse_variant(label)
        cfg = load_config(TrainConfig, recipe, [*base_overrides, f"estimator.name={name}", *extra])
        v = Variant(label, name, extra, cfg)
        if v.key() in out:
            out[v.key()].aliases.append(label)
        else:
            out[v.key()] = v
    return list(out.values())


def variant_labels(estimators: list[str], sweeps: list[str]) -> list[str]:
    """The ``--estimators`` list followed by the named sweeps' variants."""
    labels = list(estimators)
    for s in sweeps:
        if s not in SWEEPS:
            raise UserError(f"--sweep {s!r}: choose among {', '.join(SWEEPS)}")
        labels += SWEEPS[s]
    return labels


def lab_overrides(model: str | None, task: str | None, settings: LabSettings, user: list[str]) -> list[str]:
    """Overrides applied to the recipe for every variant: the lab's loss defaults, the batch size,
    the model and task from the command line, then the user's ``--set`` (last wins)."""
    out = [*LAB_LOSS, f"rollout.prompts_per_step={settings.prompts}", f"rollout.group_size={settings.group}"]
    if model:
        out.append(f"model.path={model}")
    if task:
        out += [f"data.task={task}", "eval.tasks=[]"]
    return out + list(user)
