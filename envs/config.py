"""YAML configuration read with ``safe_load`` into validated dataclasses.

An unknown key, a missing required key or a value of the wrong type is a :class:`ConfigError` that
names the file and the dotted key.
"""
from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from envs.errors import L2EMGError

T = TypeVar("T")
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader when built in (10x faster), same rules


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` (no Python objects constructed), with libyaml when available."""
    return yaml.load(text, Loader=SAFE_LOADER)


class ConfigError(L2EMGError):
    """A configuration file that does not match its schema."""


def config_dir() -> Path:
    """The ``configs/`` folder: ``$L2EMG_CONFIG_DIR``, else the one beside the packages (a checkout), else
    the installed package data (``pip install .``)."""
    env = os.environ.get("L2EMG_CONFIG_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parents[1] / "configs"
    return here if here.is_dir() else package_data("l2emg_configs")


def package_data(name: str) -> Path:
    """The folder of an installed data package (``l2emg_configs``, ``l2emg_assets``: folders of files, no
    code, so importlib finds them as namespace packages)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise FileNotFoundError(f"{name}: not installed and no checkout folder beside the packages (reinstall l2emg)")
    return Path(locations[0])


def probe_path(value: str | Path, source: str, key: str, test: str = "exists") -> bool:
    """``Path(value).exists()`` (or ``is_file``, ``is_dir``) for a path read from a config: a name the OS
    cannot look up (too long, a NUL byte) is a ConfigError naming the key, not an OSError."""
    try:
        return bool(getattr(Path(value), test)())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: {key}: unusable path {str(value)[:80]!r} ({getattr(exc, 'strerror', None) or exc})") from None


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not probe_path(path, str(path)[:200], "path", "is_file"):
        raise ConfigError(f"{path}: file not found")
    try:
        return safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} malformed YAML ({getattr(exc, 'problem', exc)})") from None


def load_config(path: str | Path, cls: type[T]) -> T:
    """Read ``path`` and validate it into dataclass ``cls``."""
    return from_dict(cls, read_yaml(path), source=str(path))


def from_dict(cls: type[T], data: Any, source: str = "<config>", prefix: str = "") -> T:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix or 'top level'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown key {_join(prefix, unknown[0])!r} (allowed: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, f in fields.items():
        key = _join(prefix, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: missing required key {key!r}")
            continue
        kwargs[name] = _coerce(hints[name], data[name], source, key)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {prefix or 'config'}: {exc}") from None


def validate_literals(obj: Any, prefix: str = "") -> None:
    """Every ``Literal``-typed field of dataclass ``obj`` holds one of its allowed values: the one check of
    allowed values, for configs read from YAML (``from_dict`` checks them too) and for ones built in code
    (``dataclasses.replace``). Call it from ``__post_init__``."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        tp = hints[f.name]
        if typing.get_origin(tp) is typing.Literal and getattr(obj, f.name) not in typing.get_args(tp):
            raise ValueError(f"{_join(prefix, f.name)} must be one of {list(typing.get_args(tp))}, got {getattr(obj, f.name)!r}")


def parse_assignments(entries: list[str], source: str = "--set") -> dict[str, str]:
    """``["a.b=1", "c=x"]`` as {"a.b": "1", "c": "x"}; an entry without ``=`` or without a key is a ConfigError
    naming it."""
    out: dict[str, str] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{source}: {entry!r} is not KEY=VALUE (e.g. wholebody.solve_hz=30)")
        out[key.strip()] = value
    return out


def apply_overrides(obj: T, overrides: dict[str, str], source: str = "--set") -> T:
    """``obj`` (a dataclass, nested ones included) with dotted keys set: ``{"learner.steps": "200"}``. Each
    value is read as YAML and checked against the field's type like a config file's; an unknown key or a
    wrong type is a ConfigError naming the key."""
    for key, text in overrides.items():
        try:
            value = safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: {key}={text!r} is not a YAML value ({exc.__class__.__name__})") from None
        obj = _replace_path(obj, key.split("."), value, source, key)
    return obj


def _replace_path(obj: Any, parts: list[str], value: Any, source: str, key: str) -> Any:
    if isinstance(obj, list) and len(parts) > 1:  # an element of a list of dataclasses, by index: phases.2.interactions
        if not parts[0].isdigit() or int(parts[0]) >= len(obj):
            raise ConfigError(f"{source}: {key}: {parts[0]!r} is not an index of a list of {len(obj)}")
        out = list(obj)
        out[int(parts[0])] = _replace_path(obj[int(parts[0])], parts[1:], value, source, key)
        return out
    if not dataclasses.is_dataclass(obj):
        raise ConfigError(f"{source}: {key}: {'.'.join(parts)!r} is inside a value that has no keys")
    fields = {f.name: f for f in dataclasses.fields(obj) if f.init}
    name = parts[0]
    if name not in fields:
        raise ConfigError(f"{source}: unknown key {key!r} (allowed here: {', '.join(sorted(fields))})")
    if len(parts) == 1:
        new = _coerce(typing.get_type_hints(type(obj))[name], value, source, key)
    else:
        new = _replace_path(getattr(obj, name), parts[1:], value, source, key)
    try:
        return dataclasses.replace(obj, **{name: new})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {key}: {exc}") from None


def _join(prefix: str, name: Any) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _coerce(tp: Any, value: Any, source: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(arg, value, source, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[-1] if errors else f"{source}: {key}: no type matches")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source, key)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise ConfigError(f"{source}: {key} must be a list, got {type(value).__name__}")
        item = args[0] if args else Any
        items = [_coerce(item, v, source, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: {key} must be a mapping, got {type(value).__name__}")
        kt, vt = args if args else (Any, Any)
        return {_coerce(kt, k, source, key): _coerce(vt, v, source, _join(key, k)) for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: {key} must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: {key} must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: {key} must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: {key} must be a string, got {value!r}")
        return value
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{source}: {key} must be one of {list(args)}, got {value!r}")
        return value
    raise ConfigError(f"{source}: {key}: unsupported schema type {tp!r}")
