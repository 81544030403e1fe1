"""The one config loader: YAML files and ``--set key=value`` -> validated config dataclasses.

Every YAML the project reads goes through ``read_yaml`` (train and SFT recipes, protocols,
leaderboard specs, reported numbers), and every unknown key is refused by ``unknown_key`` with
the same "did you mean", including a key given at the wrong level (``--set max_steps=3`` ->
"did you mean run.max_steps?"). Precedence for configs: dataclass defaults < YAML file <
``--set`` overrides (``section.field=value``, the value parsed as YAML so ``1e-6``, ``true`` and
``[a, b]`` work). A value of the wrong type names the key and the expected type. The resolved
config is what gets saved with every run and checkpoint (``config_to_dict``). Imports no torch:
the leaderboards use it too.
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


def read_yaml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """Load a YAML mapping; a missing file, bad YAML or a non-mapping -> one-line ``UserError``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{what} {path} not found") from exc
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise UserError(f"{what} {path} is not valid YAML{where}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{what} {path} must hold a mapping, got {type(data).__name__}")
    return data


def unknown_key(key: str, known: typing.Iterable[str], where: str, elsewhere: typing.Iterable[str] = ()) -> UserError:
    """The error for an unknown ``key``: near matches among ``known``, or the dotted path in
    ``elsewhere`` (fields of nested sections) that ends in ``key``."""
    known = list(known)
    nested = [path for path in elsewhere if path.rsplit(".", 1)[-1] == key]
    close = nested or difflib.get_close_matches(key, known, n=2)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; known keys: {', '.join(known)}"
    return UserError(f"{where}: unknown key '{key}'{hint}")


def check_keys(data: dict[str, Any], known: typing.Iterable[str], where: str) -> None:
    """Refuse the first key of ``data`` that is not in ``known``."""
    known = list(known)
    for key in data:
        if key not in known:
            raise unknown_key(str(key), known, where)


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


def _field_paths(cls: type, prefix: str = "") -> list[str]:
    """Dotted paths of every field below ``cls`` (``run.max_steps``, ``rollout.sampler.steps``)."""
    out = []
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        out.append(path)
        sub = _dataclass_type(hints[f.name], cls)
        if sub is not None:
            out += _field_paths(sub, path + ".")
    return out


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dataclass_type(tp: Any, owner: type) -> type | None:
    """The config section type of a field hint ``tp`` (``Section`` or ``Section | None``), else None."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = inner[0] if len(inner) == 1 else None
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def _optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


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
    """Construct ``cls`` (a dataclass, possibly nested) from ``data``, strictly.

    A class with a ``migrate(data) -> data`` staticmethod gets its renamed keys mapped first
    (old configs keep loading; e.g. ``SamplerConfig``'s ``use_cache`` -> ``cache``)."""
    if hasattr(cls, "migrate"):
        try:
            data = cls.migrate(data)
        except ValueError as exc:
            raise UserError(f"{origin}: {exc}") from exc
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise unknown_key(str(key), names, origin, [p for p in _field_paths(cls) if "." in p])
        sub = _dataclass_type(hints[key], cls)
        if sub is not None and value is None and _optional(hints[key]):
            kwargs[key] = None  # an optional section switched off
        elif sub is not None:
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
