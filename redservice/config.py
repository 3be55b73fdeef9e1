"""Where the data live and which settings are in force.

Settings come from ``redservice/defaults.toml`` and may be overridden per store by a
``config.toml`` in the data directory (a county's own category list, thresholds ...).
"""

from __future__ import annotations

import copy
import os
import tomllib
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEMO_DIR = PROJECT_DIR / "data" / "demo"
ENV_DATA = "REDSERVICE_DATA"


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: an explicit path, else $REDSERVICE_DATA, else the bundled demo."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser().resolve()
    return DEMO_DIR


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@lru_cache(maxsize=1)
def defaults() -> dict:
    """The package's default settings (no store's overrides)."""
    with open(PACKAGE_DIR / "defaults.toml", "rb") as fh:
        return tomllib.load(fh)


@lru_cache(maxsize=32)
def _settings_cached(directory: str, mtime: float) -> dict:
    settings = copy.deepcopy(defaults())
    local = Path(directory) / "config.toml"
    if local.is_file():
        with open(local, "rb") as fh:
            settings = _merge(settings, tomllib.load(fh))
    return settings


def settings(directory: str | os.PathLike | None = None) -> dict:
    """Merged settings for a data directory (defaults, then the store's config.toml)."""
    d = data_dir(directory)
    local = d / "config.toml"
    mtime = local.stat().st_mtime if local.is_file() else 0.0
    return _settings_cached(str(d), mtime)
