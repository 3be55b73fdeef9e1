"""Personal data: masking for display and keyed hashing of household codes.

Names and phones are masked on the server before anything reaches a page unless the viewer's
role allows them (``Scope.show_names``); household codes are never stored or shown in the clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

# Two-character surnames that must stay whole when a name is masked (欧阳娜娜 → 欧阳*娜).
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 司空 夏侯 轩辕 令狐 钟离 闻人 "
    "端木 独孤 南宫 西门 百里 呼延 万俟 澹台 公冶 太史 申屠 东郭 第五 拓跋".split()
)
KEY_ENV = "REDSERVICE_HOUSEHOLD_KEY"
KEY_FILE = ".household_key"


def _is_cjk(text: str) -> bool:
    return all("\u3400" <= ch <= "\u9fff" or ch in "·•" for ch in text)


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 张三明 → 张*明, 欧阳娜娜 → 欧阳*娜, 王 → *; other scripts keep first and last letter."""
    if name is None:
        return None
    name = str(name).strip()
    if not name:
        return name
    if not _is_cjk(name):
        return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")
    surname_len = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    surname, given = name[:surname_len], name[surname_len:]
    if len(name) == 1:
        return "*"
    if len(given) <= 1:
        return surname + "*"
    return surname + "*" * (len(given) - 1) + given[-1]


def mask_phone(phone: str | None) -> str | None:
    """13812341234 → 138****1234; anything short is masked whole."""
    if phone is None:
        return None
    digits = str(phone).strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def household_key(directory: str | os.PathLike) -> bytes:
    """The store's secret key for household hashes: $REDSERVICE_HOUSEHOLD_KEY, else the store's
    ``.household_key`` file, created on first use (mode 600; git-ignored, never committed)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    path = Path(directory) / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def household_hash(code: str, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256, 80 bits shown) of one household code; the code itself is not kept."""
    return hmac.new(key, code.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
