"""The import log: every import into a store (from the 数据管理 page or the command line), one JSON
line per file — who (the signed-in user; the OS user for the command line), when, the file's name
and SHA-256, its counts, the dates its loaded rows carry, and what became of it (the generation it landed in, nothing new, or the
failure). The file ``audit.jsonl`` sits beside ``generation.json``, outside every generation, so it
is kept across them; it is only ever appended to (``O_APPEND``, fsync'd, under the store's import
lock) and never rewritten. A line torn by a crash is skipped when read."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
from pathlib import Path

AUDIT_FILE = "audit.jsonl"


def os_user() -> str:
    """The command line's "who": the operating-system account running it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def record(directory: str | Path, reports, actor: str | None, outcome: str, generation: str | None = None,
           detail: str | None = None, county: str | None = None) -> None:
    """Append one line per file of an import that was attempted (committed, unchanged or failed);
    ``county``: the county it was limited to (import --county; None: the whole store)."""
    now = dt.datetime.now().isoformat(timespec="seconds")
    lines = []
    for r in reports:
        lines.append(json.dumps({
            "at": now, "who": actor or f"{os_user()}（命令行）", "outcome": outcome, "generation": generation,
            "file": r.file[:300], "sha256": r.sha256, "table": r.table, "rows_read": r.rows_read,
            "loaded": r.loaded, "updated": r.updated, "rejected": r.rejected, "skipped": r.skipped_total,
            "unreadable": bool(r.fatal), "detail": detail, "county": county,
            # the dates the loaded rows carry (None for older lines and files with no row loaded)
            "first_date": r.first_date.isoformat() if getattr(r, "first_date", None) else None,
            "last_date": r.last_date.isoformat() if getattr(r, "last_date", None) else None,
        }, ensure_ascii=False))
    if not lines:
        return
    path = Path(directory) / AUDIT_FILE
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read(directory: str | Path, limit: int | None = None) -> list[dict]:
    """The log, newest first (``limit`` lines at most)."""
    path = Path(directory) / AUDIT_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for line in reversed(text.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):  # a line that is not an import's (a damaged log)
            continue
        out.append(entry)
        if limit is not None and len(out) >= limit:
            break
    return out
