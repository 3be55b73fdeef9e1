"""Derived tables, refreshed whenever the records change (import, demo), that keep the pages fast.

``household_facts``: one row per (service record, household) carrying the record's date and every
filter column, sorted by date, with the household hash replaced by a dense integer id. Counting
distinct households is the dashboard's most expensive figure; this makes it a filtered scan of
integers with no join, and it is exact (ids are a 1:1 dictionary of the hashes, not a hash).

The store falls back to an equivalent view over the raw tables when the file is missing or older
than the records, so a stale rollup can make the app slower but never wrong.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import duckdb

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
) TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
"""


def path(directory: str | Path) -> Path:
    return Path(directory) / parquet_name(HOUSEHOLD_FACTS)


def is_fresh(directory: str | Path) -> bool:
    """True when the rollup exists and is at least as new as the records it derives from."""
    target = path(directory)
    if not target.is_file():
        return False
    sources = [Path(directory) / parquet_name(t) for t in SOURCES]
    if not all(p.is_file() for p in sources):
        return False
    return target.stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in sources)


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
        con.execute(REFRESH_SQL.format(target=tmp.replace("'", "''")),
                    {"households": str(households), "services": str(services)})
        os.replace(tmp, path(directory))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return path(directory)
