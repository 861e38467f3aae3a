"""Reading config.yaml into a Config.

One loader for every entry point, so a key is spelled once and a typo in the YAML fails at
start-up instead of at the first photo. A key the file leaves out keeps its default in
settings/sections.py; a key no section has is an error.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml

from settings.sections import Config, Paths, setting_fields

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
REFERENCE = "docs/configuration.md"  # every setting, its default and meaning (settings/reference.py)

T = TypeVar("T")


def _build(cls: type[T], data: Any, where: str) -> T:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in setting_fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} (every setting: {REFERENCE})")
    values = {}
    for name, value in data.items():
        default = getattr(cls(), name)
        if dataclasses.is_dataclass(default):
            values[name] = _build(type(default), value, f"{where}.{name}")
        elif isinstance(default, Path):
            values[name] = Path(value)
        elif isinstance(default, bool):
            values[name] = bool(value)
        elif isinstance(default, (int, float)) and not isinstance(value, (int, float)):
            raise ValueError(f"{where}.{name}: expected a number, got {value!r}")
        else:
            values[name] = type(default)(value) if isinstance(default, float) else value
    return cls(**values)


def load_config(path: str | Path | None = None) -> Config:
    """Read a YAML config; relative paths in it are taken from the file's folder."""
    path = Path(path) if path else DEFAULT_CONFIG
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    config = _build(Config, raw, path.name)
    base = path.resolve().parent
    paths = Paths(**{f.name: base / getattr(config.paths, f.name) for f in dataclasses.fields(Paths)})
    return dataclasses.replace(config, paths=paths, source=path.resolve())
