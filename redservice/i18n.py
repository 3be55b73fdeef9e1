"""The string catalogue: every UI label in zh-CN and English, looked up by key."""

from __future__ import annotations

import tomllib
from functools import lru_cache

from redservice.config import PACKAGE_DIR

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


def _flatten(tree: dict, prefix: str = "") -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and set(value) <= set(LANGS) and all(isinstance(v, str) for v in value.values()):
            out[path] = value
        elif isinstance(value, dict):
            out.update(_flatten(value, path + "."))
    return out


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    with open(PACKAGE_DIR / "catalogue.toml", "rb") as fh:
        return _flatten(tomllib.load(fh))


def normalise_lang(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = None, **values) -> str:
    """Translate ``key`` into ``lang`` and fill its {placeholders}. Unknown keys raise KeyError."""
    entry = catalogue()[key]
    text = entry[normalise_lang(lang)]
    return text.format(**values) if values else text
