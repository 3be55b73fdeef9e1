"""Derived tables, refreshed whenever the records change (import, demo), that keep the pages fast.

``household_facts``: one row per (service record, household) carrying the record's date and every
filter column, sorted by date, with the household hash replaced by a dense integer id. Counting
distinct households is the dashboard's most expensive figure; this makes it a filtered scan of
integers with no join, and it is exact (ids are a 1:1 dictionary of the hashes, not a hash).

The rollup records a content fingerprint (SHA-256) of the records it was built from; the store
falls back to an equivalent view over the raw tables when the file is missing or its fingerprint
does not match the records (file times are not trusted: a git checkout sets them arbitrarily), so
a stale rollup can make the app slower but never wrong.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from redservice.schema import parquet_name

HOUSEHOLD_FACTS = "household_facts"
SOURCES = ("services", "service_households")
COLUMNS = ("record_id", "date", "member_id", "unit", "branch", "community", "compound", "category", "form",
           "household")

# The relation from the raw tables (hash strings as household); the store's fallback view.
FALLBACK_SQL = (
    "SELECT s.record_id, s.date, s.member_id, s.unit, s.branch, s.community, s.compound, s.category, "
    "s.form, h.household FROM service_households h JOIN services s ON s.record_id = h.record_id"
)
REFRESH_SQL = """
COPY (
    WITH ids AS (
        SELECT household, CAST(ROW_NUMBER() OVER (ORDER BY household) AS INTEGER) AS hid
        FROM (SELECT DISTINCT household FROM read_parquet($households)) d
    )
    SELECT s.record_id, s.date, s.member_id, s.unit, s.branch, s.community, s.compound, s.category,
           s.form, ids.hid AS household
    FROM read_parquet($households) h
    JOIN read_parquet($services) s ON s.record_id = h.record_id
    JOIN ids ON ids.household = h.household
    ORDER BY s.date, s.record_id, ids.hid
) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000,
       KV_METADATA {{'redservice.sources': '{fingerprint}'}})
"""
FINGERPRINT_KEY = b"redservice.sources"
_digests: dict[tuple, str] = {}
_digest_lock = threading.Lock()


def path(directory: str | Path) -> Path:
    return Path(directory) / parquet_name(HOUSEHOLD_FACTS)


def _digest(path: Path) -> str:
    """SHA-256 of a file, remembered while its size and modification time stay the same."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key in _digests:
            return _digests[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    with _digest_lock:
        _digests[key] = h.hexdigest()
    return _digests[key]


def fingerprint(directory: str | Path) -> str | None:
    """Content fingerprint of the records the rollup derives from; None when one is missing."""
    paths = [Path(directory) / parquet_name(t) for t in SOURCES]
    if not all(p.is_file() for p in paths):
        return None
    return hashlib.sha256("".join(_digest(p) for p in paths).encode()).hexdigest()


def is_fresh(directory: str | Path) -> bool:
    """True when the rollup exists and was built from exactly the records now in the store."""
    target = path(directory)
    current = fingerprint(directory)
    if current is None or not target.is_file():
        return False
    try:
        stored = (pq.read_schema(target).metadata or {}).get(FINGERPRINT_KEY)
    except (OSError, ValueError):
        return False
    return stored is not None and stored.decode() == current


def refresh(directory: str | Path) -> Path | None:
    """Rebuild household_facts.parquet from the store's records (atomically). None if no records."""
    directory = Path(directory)
    services, households = (directory / parquet_name(t) for t in SOURCES)
    if not (services.is_file() and households.is_file()):
        path(directory).unlink(missing_ok=True)
        return None
    fd, tmp = tempfile.mkstemp(prefix=".household_facts.", suffix=".tmp", dir=directory)
    os.close(fd)
    con = duckdb.connect(":memory:")
    try:
        # COPY takes no parameter for its target; the path is our own temporary file's name.
        con.execute(REFRESH_SQL.format(target=tmp.replace("'", "''"), fingerprint=fingerprint(directory)),
                    {"households": str(households), "services": str(services)})
        os.replace(tmp, path(directory))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return path(directory)
