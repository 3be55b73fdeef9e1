"""Saved column mappings. A county that keeps a ledger layout of its own names once which of its
columns is which field of the data contract (数据管理's 保存为映射, or by hand); every later file whose
header is the same — the same header cells in the same order, compared as headers are (NFKC, no
spaces, no 必填 marks) — is read with it, and the report says which mapping was used. A mapping can
also be named for a file whose header differs (``import --mapping NAME``): its columns are then
found by their header text.

The mappings live in the data directory's ``mappings.json``, written atomically; the bundled demo
is never written to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from redservice.ingest.templates import HEADER_SCAN_ROWS, TEMPLATES, HeaderMatch, normalise_header

MAPPINGS_FILE = "mappings.json"
NAME_MAX = 40
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")
_DATE_LIKE = re.compile(r"\d[-/.年]\d|^\d{8}$|^[2-9]\d{4}(\.\d+)?$")  # a date, not a small number


class MappingError(ValueError):
    """A mapping that cannot be saved or used; ``kind`` names a catalogue message."""

    def __init__(self, kind: str, **params):
        super().__init__(kind, params)
        self.kind = kind
        self.params = params


@dataclass
class Mapping:
    name: str
    table: str
    headers: list[str]  # the file's header cells as written, in order ("" for a blank header cell)
    fields: dict[str, str | None]  # header text -> the contract's column key (None: ignored)
    saved_by: str = ""
    saved_at: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def signature(self) -> str:
        return signature(self.headers)

    def column_of(self, header: str) -> str | None:
        norm = normalise_header(header)
        for text, key in self.fields.items():
            if normalise_header(text) == norm:
                return key
        return None


def signature(cells: list[str]) -> str:
    """The header as compared: its non-blank cells normalised, in order (trailing blanks dropped)."""
    norm = [normalise_header(c) for c in cells]
    while norm and not norm[-1]:
        norm.pop()
    return hashlib.sha256("\x1f".join(norm).encode()).hexdigest()[:16]


# -- the file ---------------------------------------------------------------------------------------
def path(directory: str | Path) -> Path:
    return Path(directory) / MAPPINGS_FILE


def load(directory: str | Path) -> dict[str, Mapping]:
    """The store's mappings by name (none when the file is missing or unreadable)."""
    file = path(directory)
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for item in data.get("mappings", []):
        try:
            m = Mapping(**{k: item[k] for k in ("name", "table", "headers", "fields")},
                        saved_by=item.get("saved_by", ""), saved_at=item.get("saved_at", ""))
        except (KeyError, TypeError):
            continue
        if m.table in TEMPLATES:
            out[m.name] = m
    return out


def validate(mapping: Mapping) -> None:
    name = (mapping.name or "").strip()
    if not name or len(name) > NAME_MAX or _BAD_NAME.search(name):
        raise MappingError("bad_name", limit=NAME_MAX)
    if mapping.table not in TEMPLATES:
        raise MappingError("bad_table")
    template = TEMPLATES[mapping.table]
    keys = {c.key for c in template.columns}
    chosen = [k for k in mapping.fields.values() if k]
    unknown = [k for k in chosen if k not in keys]
    if unknown:
        raise MappingError("bad_field", fields="、".join(unknown))
    twice = sorted({k for k in chosen if chosen.count(k) > 1 and template.column(k).kind != "text"})
    if twice:
        raise MappingError("twice", fields="、".join(template.column(k).header for k in twice))
    missing = [c.header for c in template.required if c.key not in chosen
               and not (mapping.table == "services" and c.key == "hours" and "date" in chosen)]
    if missing:
        raise MappingError("missing", fields="、".join(missing))


def save(directory: str | Path, mapping: Mapping) -> Path:
    """Add or replace a mapping (by name) in the store's mappings.json, atomically."""
    from redservice.config import DEMO_DIR

    directory = Path(directory)
    if directory.resolve() == DEMO_DIR.resolve():
        raise MappingError("demo")
    mapping.name = mapping.name.strip()
    validate(mapping)
    mapping.saved_at = mapping.saved_at or dt.datetime.now().isoformat(timespec="seconds")
    mappings = load(directory)
    mappings[mapping.name] = mapping
    directory.mkdir(parents=True, exist_ok=True)
    payload = {"mappings": [asdict(m) | {"signature": m.signature} for m in mappings.values()]}
    for item in payload["mappings"]:
        item.pop("extra", None)
    fd, tmp = tempfile.mkstemp(prefix=".mappings.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path(directory))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path(directory)


# -- using one ----------------------------------------------------------------------------------------
def find(rows: list[tuple[int, list[str]]], mappings: dict[str, Mapping], named: str | None = None,
         header_cells: tuple[int, list[str]] | None = None) -> tuple[Mapping, int] | None:
    """The mapping to read a sheet with and the index of its header row: the named one (found by
    its signature, else at the row holding most of its headers), else a saved one whose signature
    is that of a row among the first rows (or of the header block ``header_cells`` found otherwise)."""
    candidates = [mappings[named]] if named else list(mappings.values())
    by_signature = {m.signature: m for m in candidates}
    if header_cells is not None and signature(header_cells[1]) in by_signature:
        return by_signature[signature(header_cells[1])], header_cells[0]
    for index, (_, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        m = by_signature.get(signature(cells))
        if m is not None:
            return m, index
    if not named:
        return None
    mapping = candidates[0]
    wanted = {normalise_header(h) for h in mapping.fields if normalise_header(h)}
    best, best_hits = None, 0
    for index, (_, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        hits = len(wanted & {normalise_header(c) for c in cells})
        if hits > best_hits:
            best, best_hits = index, hits
    if best is None or best_hits * 2 < len(wanted):
        return None
    return mapping, best


def apply(mapping: Mapping, rows: list[tuple[int, list[str]]], index: int,
          cells: list[str] | None = None) -> HeaderMatch:
    """The header match a mapping gives for the header row at ``index``."""
    template = TEMPLATES[mapping.table]
    cells = cells if cells is not None else rows[index][1]
    fields: dict[str, list[int]] = {}
    ignored = []
    for i, cell in enumerate(cells):
        if not normalise_header(cell):
            continue
        key = mapping.column_of(cell)
        if key:
            fields.setdefault(key, []).append(i)
        else:
            ignored.append((i, cell.strip()))
    required = [c.key for c in template.required]
    match = HeaderMatch(mapping.table, index, rows[index][0], fields, ignored,
                        [k for k in required if k not in fields], {k: cells[v[0]].strip() for k, v in fields.items()})
    match.cells = list(cells)
    match.mapping = mapping.name
    return match


def guess(cells: list[str], table: str, sample: list[list[str]] | None = None,
          known: dict[str, set[str]] | None = None) -> dict[str, str | None]:
    """A first guess at each header's field, for the page to show: the template's headers and
    aliases; else what the column's values are (dates, hours, names the store knows: communities,
    units, categories); else the field whose header is most alike (rapidfuzz); else ignored."""
    template = TEMPLATES[table]
    lookup = template.lookup()
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    pending = []
    for j, cell in enumerate(cells):
        norm = normalise_header(cell)
        if not norm or cell in out:
            continue
        col = lookup.get(norm)
        out[cell] = col.key if col else None
        if col is None:
            pending.append((j, cell))
        elif col.kind != "text":
            taken.add(col.key)
    free = [c for c in template.columns if c.key not in taken]
    for j, cell in pending:
        values = [r[j].strip() for r in (sample or []) if j < len(r) and r[j].strip()]
        col = _by_values(values, free, known or {})
        if col is None:
            norm = normalise_header(cell)
            scored = [(max(fuzz.ratio(norm, normalise_header(h)) for h in (c.header, *c.aliases)), c) for c in free]
            score, best = max(scored, key=lambda x: x[0], default=(0, None))
            col = best if score >= 70 else None
        if col is not None:
            out[cell] = col.key
            if col.kind != "text":
                free = [c for c in free if c.key != col.key]
    return out


def _by_values(values: list[str], free, known: dict[str, set[str]]):
    """The free column whose kind or known names most of the values fit (None when none does)."""
    from redservice.ingest.parse import ParseError, name_key, parse

    if not values:
        return None

    def share(test) -> float:
        hits = 0
        for v in values:
            try:
                hits += bool(test(v))
            except (ParseError, ValueError, TypeError):
                pass
        return hits / len(values)

    for col in free:
        names = known.get(col.refers or col.key)
        if names and share(lambda v, n=names: name_key(v) in n) >= 0.6:
            return col
    for kind in ("date", "hours"):
        col = next((c for c in free if c.kind == kind and c.required), None) or \
            next((c for c in free if c.kind == kind), None)
        looks = _DATE_LIKE.search if kind == "date" else (lambda v: True)
        if col is not None and share(lambda v, k=kind: looks(v) and parse(k, v) is not None
                                     and (k != "hours" or 0 < parse(k, v) <= 24)) >= 0.8:
            if kind == "hours" and share(lambda v: float(parse("hours", v)).is_integer() and len(v) >= 4) > 0.5:
                continue
            return col
    return None
