"""YAML + ``--set key=value`` -> nested config dataclasses, validated, with errors users can act on.

Precedence: dataclass defaults < YAML file < ``--set`` overrides (``section.field=value``, the
value parsed as YAML so ``1e-6``, ``true`` and ``[a, b]`` work). Unknown keys are refused with a
"did you mean"; a value of the wrong type names the key and the expected type. The resolved
config is what gets saved with every run and checkpoint (``config_to_dict``).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from harness.errors import UserError

T = TypeVar("T")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Load a YAML mapping; missing file or bad YAML -> one-line ``UserError``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"config file {path} not found") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise UserError(f"config file {path} is not valid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {path} must hold a mapping of sections, got {type(data).__name__}")
    return data


def parse_overrides(overrides: typing.Sequence[str]) -> dict[str, Any]:
    """``["optim.lr=1e-5", "run.max_steps=3"]`` -> nested dict."""
    out: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise UserError(f"--set {item!r}: expected key=value, e.g. --set run.max_steps=10")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise UserError(f"--set {item!r}: value is not valid YAML") from exc
        node = out
        parts = key.strip().split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {item!r}: '{p}' is set both as a value and as a section")
        node[parts[-1]] = value
    return out


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``extra`` wins."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _short_alias(keys: typing.Sequence[str], cls: type) -> dict[str, str]:
    """Flat aliases: ``max_steps`` -> ``run.max_steps`` when the field name is unique."""
    seen: dict[str, list[str]] = {}
    for f in dataclasses.fields(cls):
        sub = _dataclass_type(f.type, cls)
        if sub is None:
            continue
        for g in dataclasses.fields(sub):
            seen.setdefault(g.name, []).append(f"{f.name}.{g.name}")
    return {k: v[0] for k, v in seen.items() if len(v) == 1 and k not in keys}


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dataclass_type(tp: Any, owner: type) -> type | None:
    if isinstance(tp, str):
        tp = _hints(owner).get(tp, tp)
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except UserError as exc:
                errors.append(exc)
        raise errors[0] if errors else UserError(f"{where}: invalid value {value!r}")
    if tp is Any:
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            else:
                raise UserError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        items = [_coerce(v, args[0], where) for v in value] if args else list(value)
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise UserError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise UserError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise UserError(f"{where}: expected a string, got {value!r}")
        return str(value)
    return value


def build(cls: type[T], data: dict[str, Any], origin: str = "config") -> T:
    """Construct ``cls`` (a dataclass, possibly nested) from ``data``, strictly."""
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    aliases = _short_alias(names, cls)
    data = dict(data)
    for key in list(data):
        if key not in names and key in aliases:  # flat alias for a unique nested field
            sec, field = aliases[key].split(".")
            data.setdefault(sec, {})
            if isinstance(data[sec], dict):
                data[sec] = {**data[sec], field: data.pop(key)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            close = difflib.get_close_matches(key, names + list(aliases), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else f"; known keys: {', '.join(names)}"
            raise UserError(f"{origin}: unknown key '{key}'{hint}")
        sub = _dataclass_type(hints[key], cls)
        if sub is not None:
            if not isinstance(value, dict):
                raise UserError(f"{origin}: '{key}' must be a section (mapping), got {value!r}")
            kwargs[key] = build(sub, value, f"{origin}: {key}" if ":" not in origin else f"{origin}.{key}")
        else:
            kwargs[key] = _coerce(value, hints[key], f"{origin}: {key}")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{origin}: {exc}") from exc


def load_config(cls: type[T], path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> T:
    """Defaults < YAML ``path`` < ``overrides``; returns a validated ``cls``."""
    data = read_yaml(path) if path else {}
    data = merge(data, parse_overrides(overrides))
    return build(cls, data, origin=str(path) if path else "config")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A plain dict (YAML/JSON-safe) of a config dataclass, for saving with runs."""
    return dataclasses.asdict(cfg)
