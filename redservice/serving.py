"""The serving copy: the store's records as DuckDB tables shaped for the dashboard's queries.

The Parquet files of a generation are the records; the pages read a derived copy of them:

* every table typed once (the Parquet files may come from older writers), ``services`` sorted by
  date so that a period filter skips whole blocks;
* ``mid``: a dense integer id for every member (members, services, household_facts), so that
  counting or joining members works on integers, not on strings;
* ``household_facts``: one row per (service record, household) carrying the record's date and
  every filter column, with the household hash replaced by a dense integer id. Distinct households
  are then a filtered scan of integers with no join, counted exactly — by a bitmap over the ids
  (``bitstring_agg``) where the query wants one figure, by GROUP BY otherwise;
* ``dim_values``: the filter bar's values (unit, branch with its unit, category, form) found in
  the records; ``dim_scoped``: the same with the unit and community of the records they come
  from, for a viewer whose role limits what they see;
* ``meta``: the content fingerprint of the Parquet files it was built from, and the largest ids.

``refresh`` writes the copy next to the Parquet files as ``serving.duckdb`` on every import (and in
the bench). ``attach`` uses that file when its fingerprint matches the Parquet files now present
(file times are not trusted: a git checkout sets them arbitrarily); otherwise it builds the same
tables in memory from the same statements — slower to open, never different. With
``source="raw"`` the statements become views over the Parquet files: the raw reference the
tests compare every query against.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from pathlib import Path

import duckdb

from redservice.schema import TABLES, parquet_name

FILE = "serving.duckdb"
ALIAS = "serving"
FORMAT_VERSION = "1"
# Tables the queries never read (service_households is folded into household_facts).
SKIPPED = ("service_households",)
SOURCES = tuple(TABLES)
_digests: dict[tuple, str] = {}
_digest_lock = threading.Lock()


def path(directory: str | Path) -> Path:
    return Path(directory) / FILE


def _sql_string(value: str) -> str:
    # Only ever used for paths the application itself chose (the data directory), never user input.
    return "'" + value.replace("'", "''") + "'"


def _digest(file: Path) -> str:
    """SHA-256 of a file, remembered while its size and modification time stay the same."""
    st = file.stat()
    key = (str(file), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key in _digests:
            return _digests[key]
    h = hashlib.sha256()
    with open(file, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    with _digest_lock:
        _digests[key] = h.hexdigest()
    return _digests[key]


def fingerprint(directory: str | Path) -> str:
    """Content fingerprint of every record table (a missing table counts as missing)."""
    parts = [FORMAT_VERSION]
    for table in SOURCES:
        file = Path(directory) / parquet_name(table)
        parts.append(f"{table}:{_digest(file) if file.is_file() else '-'}")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()


# -- the statements ---------------------------------------------------------------------------------------
def _typed(directory: Path, table: str) -> str:
    """The table's records with the schema's types (no rows when its file is missing)."""
    columns = TABLES[table]
    file = directory / parquet_name(table)
    if file.is_file():
        cols = ", ".join(f"CAST({c} AS {ty}) AS {c}" for c, ty in columns.items())
        return f"SELECT {cols} FROM read_parquet({_sql_string(str(file))})"
    return "SELECT " + ", ".join(f"CAST(NULL AS {ty}) AS {c}" for c, ty in columns.items()) + " WHERE 1 = 0"


def statements(directory: str | Path) -> list[tuple[str, str, str]]:
    """(name, SELECT, ORDER BY) for every table of the serving copy, in dependency order."""
    d = Path(directory)
    member_cols = ", ".join(f"m.{c}" for c in TABLES["members"])
    service_cols = ", ".join(f"s.{c}" for c in TABLES["services"])
    out = [(t, _typed(d, t), "") for t in ("communities", "compounds", "units", "branches", "wishes")]
    out += [
        ("member_ids",
         "SELECT member_id, CAST(ROW_NUMBER() OVER (ORDER BY member_id) AS INTEGER) AS mid FROM ("
         f"SELECT member_id FROM ({_typed(d, 'members')}) UNION SELECT member_id FROM ({_typed(d, 'services')})"
         ") ids WHERE member_id IS NOT NULL", ""),
        ("members",
         f"SELECT {member_cols}, i.mid FROM ({_typed(d, 'members')}) m "
         "LEFT JOIN member_ids i ON i.member_id = m.member_id", "member_id"),
        ("services",
         f"SELECT {service_cols}, i.mid FROM ({_typed(d, 'services')}) s "
         "LEFT JOIN member_ids i ON i.member_id = s.member_id", "date, mid, record_id"),
        ("household_ids",
         "SELECT household, CAST(ROW_NUMBER() OVER (ORDER BY household) AS INTEGER) AS hid FROM ("
         f"SELECT DISTINCT household FROM ({_typed(d, 'service_households')}) h WHERE household IS NOT NULL) u",
         ""),
        ("household_facts",
         "SELECT s.date, s.mid, s.member_id, s.unit, s.branch, s.community, s.compound, s.category, s.form, "
         f"i.hid AS household FROM ({_typed(d, 'service_households')}) h "
         "JOIN services s ON s.record_id = h.record_id JOIN household_ids i ON i.household = h.household",
         "date, household"),
        ("dim_scoped",
         "SELECT 'unit' AS dimension, unit AS value, CAST(NULL AS VARCHAR) AS parent, unit, community FROM members "
         "UNION SELECT 'unit', unit, NULL, unit, community FROM services "
         "UNION SELECT 'branch', branch, unit, unit, community FROM members WHERE branch IS NOT NULL "
         "UNION SELECT 'branch', branch, unit, unit, community FROM services WHERE branch IS NOT NULL "
         "UNION SELECT 'category', category, NULL, unit, community FROM services WHERE category IS NOT NULL "
         "UNION SELECT 'form', form, NULL, unit, community FROM services WHERE form IS NOT NULL",
         "unit, community"),
        ("dim_values", "SELECT DISTINCT dimension, value, parent FROM dim_scoped", "dimension, value"),
    ]
    return out


def _create(con: duckdb.DuckDBPyConnection, directory: Path, materialize: bool, fp: str) -> None:
    for name, select, order in statements(directory):
        if materialize:
            con.execute(f"CREATE TABLE {name} AS {select}{' ORDER BY ' + order if order else ''}")
        else:
            con.execute(f"CREATE VIEW {name} AS {select}")
    con.execute("CREATE TABLE meta AS SELECT CAST($fp AS VARCHAR) AS fingerprint, "
                "CAST(COALESCE((SELECT MAX(hid) FROM household_ids), 1) AS INTEGER) AS household_max, "
                "CAST(COALESCE((SELECT MAX(mid) FROM member_ids), 1) AS INTEGER) AS member_max", {"fp": fp})


def refresh(directory: str | Path) -> Path:
    """Write ``serving.duckdb`` for the records of ``directory`` (atomically: a new file replaces the old)."""
    directory = Path(directory)
    fd, tmp = tempfile.mkstemp(prefix=".serving.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.unlink(tmp)  # DuckDB creates the file itself
    try:
        con = duckdb.connect(tmp)
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute("SET preserve_insertion_order = true")
            _create(con, directory, True, fingerprint(directory))
            con.execute("CHECKPOINT")
        finally:
            con.close()
        Path(tmp + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path(directory))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".wal").unlink(missing_ok=True)
        raise
    return path(directory)


def stored_fingerprint(directory: str | Path) -> str | None:
    file = path(directory)
    if not file.is_file():
        return None
    try:
        con = duckdb.connect(str(file), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("SELECT fingerprint FROM meta").fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return row[0] if row else None


def is_fresh(directory: str | Path) -> bool:
    """True when ``serving.duckdb`` was built from exactly the records now in ``directory``."""
    return stored_fingerprint(directory) == fingerprint(directory)


def attach(con: duckdb.DuckDBPyConnection, directory: str | Path, source: str = "auto") -> tuple[str, dict]:
    """Make the serving tables visible to ``con`` under their plain names. ``source``: "auto" (the
    app: the fresh serving.duckdb attached read-only, else the copy built in memory because the
    file is missing or stale), "memory" (always built in memory) or "raw" (views over the Parquet
    files). Returns the mode used ("file", "memory" or "raw") and the stats of ``meta``."""
    if source not in ("auto", "memory", "raw"):
        raise ValueError(source)
    directory = Path(directory)
    fp = fingerprint(directory)
    mode = "memory" if source == "auto" else source
    file = path(directory)
    if source == "auto" and file.is_file():
        try:
            con.execute(f"ATTACH {_sql_string(str(file))} AS {ALIAS} (READ_ONLY)")
            row = con.execute(f"SELECT fingerprint FROM {ALIAS}.meta").fetchone()
            if row and row[0] == fp:
                mode = "file"
            else:
                con.execute(f"DETACH {ALIAS}")
        except duckdb.Error:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
    if mode == "file":
        for name, _, _ in statements(directory):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM {ALIAS}.{name}")
        con.execute(f"CREATE VIEW meta AS SELECT * FROM {ALIAS}.meta")
    else:
        _create(con, directory, mode == "memory", fp)
    household_max, member_max = con.execute("SELECT household_max, member_max FROM meta").fetchone()
    return mode, {"household_max": household_max, "member_max": member_max}
