"""汇报存档: what was reported, kept as it was.

Each archived briefing is a directory ``<store>/briefings/<id>/`` holding its snapshot
(``snapshot.json``: every tile, every chart's data, the summary text, the filters, the period) and,
when they were at hand, the PNG and PDF; and one JSON line in ``<store>/briefings/index.jsonl``
saying who archived it, when, with what note, over which data (the store's fingerprint, its
generation and last date) and the SHA-256 of every file. The directory sits beside
``generation.json``, outside every generation, so imports never touch it.

Writing is atomic: the files are written and fsync'd in a hidden staging directory, renamed into
place, and only then is the index line appended (``O_APPEND``, fsync'd, under a lock) — the commit
point. A failure before it leaves the index as it was (the staging directory is removed); an
unindexed directory is never listed. Nothing is ever rewritten: the index only grows, and a file
whose hash no longer matches its line is refused when read.

``compare`` matches an archived snapshot with the same view recomputed on today's data, figure by
figure (tile, or chart × row × column), and ``imports_since`` names the imports committed after the
archive whose rows fall in the period the figures read (from the import log, ``ingest.audit``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
from pathlib import Path

from redservice import fmt, storage
from redservice.brief import snapshot as snapshots
from redservice.i18n import t

ARCHIVE_DIR = "briefings"
INDEX_FILE = "index.jsonl"
LOCK_FILE = ".lock"
SNAPSHOT_FILE = "snapshot.json"
IMAGE_FILES = {"png": "briefing.png", "pdf": "briefing.pdf"}
NOTE_MAX = 200
TOLERANCE = 1e-9
ID_PATTERN = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")  # 20250402-103015-ab12cd: time, then random


def _append(base: Path, line: bytes) -> None:
    """The commit point: one line appended to the index, in one write, fsync'd, under the lock."""
    with _locked(base):
        fd = os.open(base / INDEX_FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a line torn by a crash: end it first
                line = b"\n" + line
            if os.write(fd, line) != len(line):  # a short write (full disk) would leave a torn line
                raise OSError(28, "No space left on device")
            os.fsync(fd)
        finally:
            os.close(fd)


class ArchiveError(Exception):
    """No such archived briefing, or its files were changed; the message is for the user."""


def root(directory: str | os.PathLike) -> Path:
    return Path(directory) / ARCHIVE_DIR


def _fsync_write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(base: Path):
    """An exclusive lock on the archive (several sessions or a cron job archiving at once)."""
    fd = os.open(base / LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # no flock (Windows): O_APPEND lines of one write each still do not interleave
            pass
        yield
    finally:
        os.close(fd)


def _scope_json(scope) -> dict | None:
    if scope is None or (scope.units is None and scope.communities is None and scope.counties is None):
        return None
    out = {"units": None if scope.units is None else list(scope.units),
           "communities": None if scope.communities is None else list(scope.communities)}
    if scope.counties is not None:  # a county's viewer (issue 22); absent from archives made before
        out["counties"] = list(scope.counties)
    return out


def is_bundled_demo(directory: str | os.PathLike) -> bool:
    """The demo shipped in the repository is not archived into (as it is not imported into)."""
    from redservice.config import DEMO_DIR

    return Path(directory).resolve() == DEMO_DIR.resolve()


def fingerprint(store) -> dict:
    """What the figures were computed from: the store's version (changes with every file of it) and
    its committed generation (None for a store written by code); the data's last date is the
    snapshot's ``last``."""
    return {"version": store.version(), "generation": storage.current_generation(store.directory)}


def save(directory: str | os.PathLike, snap: dict, who: str, note: str | None = None,
         images: dict[str, bytes] | None = None, data: dict | None = None,
         now: dt.datetime | None = None) -> dict:
    """Archive ``snap`` (``snapshot.freeze``) with its PNG/PDF when given; the index line (dict)."""
    base = root(directory)
    base.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now()
    ident = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    note = (note or "").strip()[:NOTE_MAX] or None
    files = {SNAPSHOT_FILE: json.dumps(snap, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")}
    for kind, data_bytes in (images or {}).items():
        if kind in IMAGE_FILES and data_bytes:
            files[IMAGE_FILES[kind]] = data_bytes
    staging = base / f".staging-{ident}"
    final = base / ident
    staging.mkdir()
    try:
        for name, blob in files.items():
            _fsync_write(staging / name, blob)
        storage.fsync_dir(staging)
        os.rename(staging, final)
        storage.fsync_dir(base)
        entry = {
            "id": ident, "at": now.isoformat(timespec="seconds"), "who": who, "note": note,
            "title": snap["title"], "lang": snap["lang"],
            "start": snap["period"]["start"], "end": snap["period"]["end"], "period": snap["period"]["code"],
            "compare": snap["compare"]["kind"], "filters": snap["filters"], "scope": scope_of(snap),
            "last": snap.get("last"), "data": data or {},
            "files": {name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()},
        }
        _append(base, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        raise
    return entry


def scope_of(snap: dict) -> dict | None:
    """The viewer's scope the snapshot was computed under, as JSON; None when unrestricted."""
    scope = snap.get("scope")
    if not scope or (scope.get("units") is None and scope.get("communities") is None):
        return None
    return {"units": scope.get("units"), "communities": scope.get("communities")}


def as_scope(entry: dict, show_names: bool = True):
    """The ``filters.Scope`` an archived briefing was computed under."""
    from redservice.filters import EVERYTHING, Scope

    scope = entry.get("scope")
    if not scope:
        return EVERYTHING
    return Scope(units=None if scope["units"] is None else tuple(scope["units"]),
                 communities=None if scope["communities"] is None else tuple(scope["communities"]),
                 show_names=show_names, label="archive",
                 counties=tuple(scope["counties"]) if scope.get("counties") is not None else None)


def entries(directory: str | os.PathLike, scope=None) -> list[dict]:
    """The archived briefings, newest first, that the viewer's ``scope`` may see: everything for an
    unrestricted viewer; for a scoped viewer those archived under exactly their scope."""
    path = root(directory) / INDEX_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return []
    wanted = _scope_json(scope)
    out = []
    for line in reversed(text.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:  # a line torn by a crash
            continue
        if not isinstance(entry, dict) or not ID_PATTERN.fullmatch(str(entry.get("id"))):
            continue
        if not (root(directory) / entry["id"] / SNAPSHOT_FILE).is_file():
            continue
        if wanted is not None and entry.get("scope") != wanted:
            continue
        out.append(entry)
    return out


def load(directory: str | os.PathLike, ident: str, scope=None, lang: str = "zh") -> tuple[dict, dict]:
    """(index line, snapshot) of an archived briefing the viewer may see; the snapshot's hash is
    checked against the index line."""
    entry = next((e for e in entries(directory, scope) if e["id"] == ident), None)
    if entry is None:
        raise ArchiveError(t("archive.not_found", lang, id=ident))
    blob = read_file(directory, entry, SNAPSHOT_FILE, lang)
    return entry, json.loads(blob.decode("utf-8"))


def read_file(directory: str | os.PathLike, entry: dict, name: str, lang: str = "zh") -> bytes:
    blob = (root(directory) / entry["id"] / name).read_bytes()
    if hashlib.sha256(blob).hexdigest() != entry["files"].get(name):
        raise ArchiveError(t("archive.tampered", lang, id=entry["id"], file=name))
    return blob


def image(directory, entry: dict, kind: str, lang: str = "zh") -> bytes | None:
    name = IMAGE_FILES[kind]
    return read_file(directory, entry, name, lang) if name in entry.get("files", {}) else None


# -- the same view on today's data -----------------------------------------------------------------

def filters_of(snap: dict):
    """The archived view's filters (its dates as archived: 今年以来 stays the year archived)."""
    from redservice.filters import Filters

    return Filters.make(dt.date.fromisoformat(snap["period"]["start"]), dt.date.fromisoformat(snap["period"]["end"]),
                        snap["compare"]["kind"], **snap["filters"])


def recompute(store, snap: dict, scope) -> dict:
    """The archived view computed again on the store's current data, as a snapshot."""
    data = snapshots.from_store(store, filters_of(snap), snap["period"]["code"], snap["lang"], scope)
    return snapshots.freeze(data)


def _differs(a, b) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(float(a) - float(b)) > TOLERANCE


def _difference(old, new, column: dict, lang: str) -> str:
    if old is None or new is None:
        return fmt.DASH
    diff = float(new) - float(old)
    if column.get("kind") == "percent":
        text = fmt.number(abs(diff) * 100, lang, 1)
        return ("+" if diff > 0 else "-") + (f"{text}个百分点" if lang == "zh" else f"{text} pp")
    return ("+" if diff > 0 else "-") + snapshots.exact(abs(diff), lang, column.get("decimals", 0))


def compare(old: dict, new: dict) -> list[dict]:
    """Every figure that differs between an archived snapshot and a recomputed one: the tiles (this
    period and the compared period) and every chart cell, matched by chart, row and column; a row
    present on one side only is listed too. Each change: where (section, figure, row, column), the
    archived and current values (raw and as written) and the difference as written."""
    lang = old["lang"]
    out = []
    section = t("archive.kpis", lang)
    new_kpis = {k["key"]: k for k in new["kpis"]}
    for k in old["kpis"]:
        now = new_kpis.get(k["key"])
        if now is None:
            continue
        column = {"kind": "percent" if k["percent"] else "number", "decimals": k["decimals"]}
        for field, label_key in (("value", "office.col_current"), ("previous", "office.col_previous")):
            if _differs(k[field], now[field]):
                out.append({"section": section, "chart": "kpis", "figure": k["label"], "row": "",
                            "column": t(label_key, lang), "archived": k[field], "now": now[field],
                            # exact, not as the tile rounds it (1.05万小时 both before and after)
                            "archived_shown": snapshots.shown(k[field], column, lang),
                            "now_shown": snapshots.shown(now[field], column, lang),
                            "difference": _difference(k[field], now[field], column, lang)})
    new_charts = {c["code"]: c for c in new["charts"]}
    for chart in old["charts"]:
        other = new_charts.get(chart["code"], {"rows": [], "columns": chart["columns"]})
        keys = [c["key"] for c in chart["columns"]]
        other_keys = [c["key"] for c in other["columns"]]
        before = {tuple(r[:1]): r for r in chart["rows"]}
        after = {tuple(r[:1]): r for r in other["rows"]}
        for row_key in list(before) + [k for k in after if k not in before]:
            a, b = before.get(row_key), after.get(row_key)
            for i, column in enumerate(chart["columns"]):
                if column["kind"] == "text":
                    continue
                j = other_keys.index(keys[i]) if keys[i] in other_keys else None
                va = None if a is None else a[i]
                vb = None if b is None or j is None else b[j]
                if (a is not None and b is not None and not _differs(va, vb)) or (va is None and vb is None):
                    continue
                out.append({"section": chart["title"], "chart": chart["code"], "figure": chart["title"],
                                "row": str(row_key[0]), "column": column["label"], "archived": va, "now": vb,
                                "archived_shown": snapshots.shown(va, column, lang),
                                "now_shown": snapshots.shown(vb, column, lang),
                                "difference": _difference(va, vb, column, lang)})
    return out


def imports_since(directory: str | os.PathLike, entry: dict, snap: dict) -> list[dict]:
    """The imports committed after the briefing was archived whose loaded rows fall in the days its
    figures read (the compared period and the trend's months included), oldest first. An import
    logged without its dates (before the log carried them) is listed, marked ``dates_known=False``."""
    from redservice.ingest import audit

    first, last = snapshots.first_day(snap), snap["period"]["end"]
    out = []
    for line in reversed(audit.read(directory)):
        if line.get("outcome") != "committed":
            continue
        archived_gen, gen = (entry.get("data") or {}).get("generation"), line.get("generation")
        if archived_gen and gen:
            if str(gen) <= str(archived_gen):  # the archived figures already included it
                continue
        elif str(line.get("at", "")) < entry["at"]:  # by time; the same second counts as after
            continue
        lo, hi = line.get("first_date"), line.get("last_date")
        known = bool(lo and hi)
        if known and (hi < first or lo > last):
            continue
        out.append({"at": line.get("at"), "who": line.get("who"), "file": line.get("file"),
                    "table": line.get("table"), "loaded": line.get("loaded"), "updated": line.get("updated"),
                    "rows_read": line.get("rows_read"), "first_date": lo, "last_date": hi,
                    "generation": line.get("generation"), "dates_known": known})
    return out


def when(iso: str | None, lang: str = "zh") -> str:
    """A logged moment as a report writes it: 2025年4月2日 10:30."""
    if not iso:
        return fmt.DASH
    at = dt.datetime.fromisoformat(iso)
    return f"{fmt.date(at.date(), lang)} {at:%H:%M}"


def dates(first: str | None, last: str | None, lang: str = "zh") -> str | None:
    """The dates an import's rows carry: 2025年3月10日—19日; None when not logged."""
    if not (first and last):
        return None
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return fmt.date(a, lang) if a == b else fmt.date_range(a, b, lang)


def describe(entry: dict, lang: str = "zh") -> str:
    """One line naming an archived briefing: 2025年4月2日 10:30 王某存档，统计期间…（备注）."""
    at = dt.datetime.fromisoformat(entry["at"])
    period = fmt.date_range(dt.date.fromisoformat(entry["start"]), dt.date.fromisoformat(entry["end"]), lang)
    text = t("archive.describe", lang, date=fmt.date(at.date(), lang), time=f"{at:%H:%M}", who=entry["who"],
             period=period)
    return text + (t("archive.with_note", lang, note=entry["note"]) if entry.get("note") else "")
