"""The serving copy: the store's records as DuckDB tables shaped for the dashboard's queries.

The Parquet files of a generation are the records; the pages read a derived copy of them:

* every table typed once (the Parquet files may come from older writers), ``services`` sorted by
  date so that a period filter skips whole blocks;
* dense integer ids (1..n, ``*_ids`` tables): ``mid`` for members (members, services,
  household_facts; ``claim_mid`` in wishes), ``uid`` work units (members, services,
  household_facts), ``bid`` branches and ``cid`` communities (members; cid in household_facts),
  ``aid`` activities (services), so that distinct counts and groups work on integers, not strings,
  and can be exact bitmaps (``bitstring_agg(x, 1, $member_max)``: the ``meta`` maxima are bound);
* local ids for distinct counts per group: a household's number within its community
  (``community_hh``), its compound (``compound_hh``), the serving unit (``unit_hh``) and the
  county the record counts in (``county_hh``: 区县对比's households per county) in
  household_facts, a member's number within the unit of the record (``unit_mid``) in services, and
  within the county the member counts in (``members.county_mid``; ``services.home_mid``: the same,
  on the member's records served in that county, NULL on the others: 区县对比's active members).
  ``bitstring_agg(community_hh, 1, $community_household_max)`` grouped by community is then a
  bitmap the size of the largest community per group — exact, and several times cheaper than a
  hash of every (community, household) pair;
* ``services.paired``: the record is in its unit's 包联 (paired) community (no join per query);
* ``county`` (members, services, household_facts, dim_scoped): the county the row counts in — a
  record the county of the community where it was served, a member the county of the community
  reported to, either else its unit's (``COMMUNITY_COUNTY``, ``UNIT_COUNTY``); NULL in a store
  whose lists name no county;
* ``services.roster_uid`` / ``roster_bid``: the unit and branch of the record's member on the roster
  (NULL when not on it), so that per-member figures roll up to them without a join;
* ``household_facts``: one row per (service record, household) carrying the record's date and
  every filter column, with the household hash replaced by a dense integer id (service_households
  itself is not copied). Distinct households are then a filtered scan of integers with no join,
  counted exactly as bitmaps over the global or the local ids;
* ``dim_values``: the filter bar's values (unit, branch with its unit, category, form) found in
  the records; ``dim_scoped``: the same with the unit and community of the records they come
  from, for a viewer whose role limits what they see;
* first occurrences, so that "how many distinct X in the period" is a plain filtered count: on
  household_facts ``unit_hh_prev``, the previous date the unit served the household (NULL the first
  time); on services ``red_prev``, the previous record of the member's same activity (same form and
  活动编号, or the same day without one; NULL for the first). A household served by a unit in
  [start, end] is then counted once, by its row with ``unit_hh_prev`` NULL or before start — exact,
  with no distinct; valid while no filter cuts the chains (see queries/_base.sql, f_rollups);
* ``member_months``: the member-month rollup of 红色积分 — per member and calendar month, hours and
  the 红色服务日 first counted that month (``red_new``: the records of the configured form with
  ``red_prev`` NULL); ``red_carry``: the records of that form continuing an activity begun in an
  earlier month (counted or not depending on where the period starts). ``branch_months``: per
  branch and month, the points of its members' months under the configured rules, for the months
  whose points cannot depend on the period (``member_months.eligible``: the member was reported by
  the month's first day and no 红色服务日 of that month continues an earlier one; every other
  member-month is left to the query). queries/red_points.sql reads the period's whole months
  from them and only its partial months from the records;
* ``unit_months``: per work unit (of the record) and month, hours, 人次, records and paired hours;
  ``unit_household_months``: the households the unit served that month for the first time since
  an earlier month (``unit_hh_prev`` NULL or before the month); ``unit_household_returns``: the
  rows of a household served again after an earlier month (counted or not depending on where the
  period starts). queries/unit_scorecard.sql reads the period's whole months from them;
* ``quality_flags``: the flags of the record-level [quality] rules (day_hours, duplicate, late_entry,
  bulk_identical, household_repeat: queries/_quality_flags.sql, their one definition) over every
  checked record, one row per flagged record (``rkey``) and rule, built with the settings in
  ``quality_settings`` (a store whose settings differ builds the copy in memory, see ``attach``);
  the 数据质量 queries read them instead of judging whole days per query (queries/_base.sql);
* ``rollup_settings``: the 红色积分 rules the rollups were built with (the store's [points]
  settings); a query with other rules does not read what depends on them;
* ``meta``: the content fingerprint of the Parquet files it was built from and the largest ids;
* ``sources`` (``serving.duckdb`` only): the digest of each of those files, a county's apart
  (``changed_counties``: which counties' records changed since, for ``build --county``).

``refresh`` writes the copy next to the Parquet files as ``serving.duckdb`` on every import (and in
the bench), within a memory budget (``BuildLimits``, the store's ``[build]`` settings): DuckDB's
``memory_limit`` starts at what the records need (``need_mb``), never above the configured limit or
the memory the machine has free, and DuckDB spills what does not fit to a temporary directory;
insertion order is kept only for the tables copied as they are (every derived table is either
sorted by its ORDER BY or read in no particular order). A build that cannot fit raises
``BuildMemoryError`` (with a message in Chinese) before it starts, or when DuckDB runs out of its
budget at the limit; the old copy is then left as it was. An import of one county's ledgers refreshes
the copy in place instead (``serving_incremental``), within a smaller budget of its own, and so does
``build --county`` when those counties' files alone changed.
``attach`` uses that file when its fingerprint matches the Parquet files now present
(file times are not trusted: a git checkout sets them arbitrarily) and it holds every table this
version reads; otherwise it builds the same tables in memory from the same statements — slower to
open, never different. With ``source="raw"`` the statements become views over the Parquet files:
the raw reference the tests compare every query against.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from redservice import storage
from redservice.approval import DEFAULT_COUNTED  # the 审核状态 that count when no setting says otherwise
from redservice.schema import TABLES, parquet_name

FILE = "serving.duckdb"
# The copy built by Spark (redservice.serving_spark): one folder per build, Parquet per table
PARQUET_DIR = "serving_parquet"
# The serving tables of a record each, which the Spark copy keeps per county as the store keeps the
# records (Hive folders ``county=<name>``, storage.PARTITION_KEY): a view of one county reads that
# county's files only. Their ``county`` is their last column, where a Hive-partitioned read puts it.
PARTITIONED_SERVING = ("services", "household_facts")
ALIAS = "serving"
FORMAT_VERSION = "14"
SOURCES = tuple(TABLES)
# Steps of the build that the queries do not read: dropped once the copy is built.
INTERMEDIATE = ("service_base", "household_pairs", "compound_ids", "household_base", "household_keys",
                "household_compounds")
# The largest id of each kind, bound by the store as $<name> for exact bitmap counts (bitstring_agg).
MAXIMA = {"household_max": ("household_ids", "hid"), "member_max": ("member_ids", "mid"),
          "branch_max": ("branch_ids", "bid"), "community_max": ("community_ids", "cid"),
          "activity_max": ("activity_ids", "aid"), "unit_member_max": ("unit_members", "unit_mid"),
          "community_household_max": ("community_households", "community_hh"),
          "county_household_max": ("county_households", "county_hh"),
          "county_member_max": ("members", "county_mid"),
          "compound_household_max": ("compound_households", "compound_hh"),
          "unit_household_max": ("unit_households", "unit_hh")}
# The county (所属县（市、区）) of each community and unit, one row per name: a record counts in the
# county of the community where it was served (else its unit's: a unit of the city, 市直单位, has
# none), a member in the county of the community reported to (else the unit's); see docs/guide.md.
COMMUNITY_COUNTY = "(SELECT community, MIN(county) AS county FROM communities GROUP BY community)"
UNIT_COUNTY = "(SELECT unit, MIN(county) AS county FROM units GROUP BY unit)"
# A record's key (services.rkey, the join and tie-break key of household_facts and quality_flags): a
# 64-bit integer from the MD5 of its 记录编号, two 32-bit halves read as hexadecimal — the same value
# on every engine the copy is built on (DuckDB's hash() is its own; redservice.sparksql maps the
# hexadecimal cast to Spark's conv()). Only its stability and uniqueness matter, never its value.
RKEY = ("((CAST(('0x' || substr(md5(s.record_id), 1, 8)) AS BIGINT) - 2147483648) * 4294967296 "
        "+ CAST(('0x' || substr(md5(s.record_id), 9, 8)) AS BIGINT))")
# The windows services joins back on the record key: red_prev, the previous date of the member's
# same activity (a record without 活动编号: of the same form that day); day_first, the member's first
# counted record of its day, and year_aid_first, of its 活动编号 in its calendar year (NULL on the
# records not counted or without a member / 活动编号): 年度考核 counts contact days and distinct
# activities by them when nothing narrows the records (queries/_base.sql, f_a_served) instead of
# grouping a year's records by member and day (at 10 M records 450 -> 150 ms for those counts).
RECORD_WINDOWS = (
    "SELECT rkey, LAG(date) OVER (PARTITION BY counted, mid, form, aid, CASE WHEN aid IS NULL THEN date END "
    "ORDER BY date, record_id) AS red_prev, "
    "CASE WHEN counted AND mid IS NOT NULL THEN ROW_NUMBER() OVER (PARTITION BY counted, mid, date "
    "ORDER BY record_id) = 1 END AS day_first, "
    "CASE WHEN counted AND mid IS NOT NULL AND aid IS NOT NULL THEN ROW_NUMBER() OVER (PARTITION BY counted, "
    "mid, aid, EXTRACT(year FROM date) ORDER BY date, record_id) = 1 END AS year_aid_first")
# dim_scoped's rows from the records: each unit, branch (with its unit), category and form with the
# unit, community and county of the records it appears in, from one scan of the records grouped by
# the four sets at once (four SELECTs of the records joined by UNION scanned them four times: at 10 M
# records one range of units 1.8 -> 1.3 s); GROUPING(x) = 0 in the set grouped by x.
_DIM_SERVICES = (
    "SELECT CASE g WHEN 1 THEN 'branch' WHEN 2 THEN 'category' WHEN 3 THEN 'form' ELSE 'unit' END, "
    "CASE g WHEN 1 THEN branch WHEN 2 THEN category WHEN 3 THEN form ELSE unit END, "
    "CASE g WHEN 1 THEN unit END, unit, community, county "
    "FROM (SELECT unit, community, county, branch, category, form, CASE WHEN GROUPING(branch) = 0 THEN 1 "
    "WHEN GROUPING(category) = 0 THEN 2 WHEN GROUPING(form) = 0 THEN 3 ELSE 0 END AS g FROM services "
    "GROUP BY GROUPING SETS ((unit, community, county), (branch, unit, community, county), "
    "(category, unit, community, county), (form, unit, community, county))) d "
    "WHERE g = 0 OR COALESCE(branch, category, form) IS NOT NULL")
# household_keys' window over a unit's household rows, in the order of household, counted, date and
# record key: unit_hh_prev, the previous date by the same unit of the same household among the rows
# counted alike, is the previous row's date where that row is of the same household and counted
# alike. Its ORDER BY begins with the unit's household numbering's (DENSE_RANK ORDER BY household),
# so DuckDB computes both over one sort (with unit_hh_prev a window of its own, PARTITION BY counted,
# uid, household ORDER BY date, rkey, the statement sorted the rows three times).
_UNIT_ROWS = "(PARTITION BY uid ORDER BY household, counted, date, rkey)"
# The 红色积分 rules (the bound parameters of queries/red_points.sql) the rollups are built with.
RULES = ("points_per_hour", "max_hours_per_month", "points_per_red_day", "red_day_form", "points_per_wish",
         "points_per_good_rating", "good_rating_min", "max_points_per_month")
# Counts summed are cast to BIGINT here and in unit_months: DuckDB's SUM of an integer is a HUGEINT,
# which Spark (and Parquet) has not; a count of records fits a BIGINT.
# Per branch and month: the eligible member-months (member_months.eligible, and the months with
# completed wishes only of members reported by the month's first day), their points as
# queries/red_points.sql computes them under the rules of rollup_settings.
_BRANCH_MONTHS = """
WITH wish_months AS (
    SELECT claim_mid AS mid, CAST(DATE_TRUNC('month', completed_on) AS DATE) AS month, COUNT(*) AS wishes,
           COUNT(*) FILTER (WHERE satisfaction >= (SELECT good_rating_min FROM rollup_settings)) AS good_ratings
    FROM wishes WHERE claim_mid IS NOT NULL AND completed_on IS NOT NULL
    GROUP BY claim_mid, CAST(DATE_TRUNC('month', completed_on) AS DATE)
),
months AS (
    SELECT COALESCE(m.mid, w.mid) AS mid, COALESCE(m.month, w.month) AS month, r.uid, r.bid,
           COALESCE(m.hours, 0) AS hours, COALESCE(m.red_new, 0) AS red_days,
           COALESCE(w.wishes, 0) AS wishes, COALESCE(w.good_ratings, 0) AS good_ratings
    FROM member_months m
    FULL JOIN wish_months w ON w.mid = m.mid AND w.month = m.month
    JOIN members r ON r.mid = COALESCE(m.mid, w.mid)
    WHERE COALESCE(m.eligible, r.reported_on <= w.month AND NOT EXISTS (
        SELECT 1 FROM red_carry c WHERE c.mid = w.mid AND c.month = w.month))
),
scored AS (
    SELECT x.*, hours * s.points_per_hour + red_days * s.points_per_red_day + wishes * s.points_per_wish
                + good_ratings * s.points_per_good_rating AS points_raw,
           CASE WHEN s.max_hours_per_month > 0 AND hours > s.max_hours_per_month
                THEN s.max_hours_per_month ELSE hours END * s.points_per_hour
           + red_days * s.points_per_red_day + wishes * s.points_per_wish
           + good_ratings * s.points_per_good_rating AS points_hours_capped,
           s.max_points_per_month
    FROM months x, rollup_settings s
)
SELECT uid, bid, month, SUM(hours) AS hours, CAST(SUM(red_days) AS BIGINT) AS red_days,
       CAST(SUM(wishes) AS BIGINT) AS wishes, CAST(SUM(good_ratings) AS BIGINT) AS good_ratings,
       SUM(points_raw) AS points_raw,
       SUM(CASE WHEN max_points_per_month > 0 AND points_hours_capped > max_points_per_month
                THEN max_points_per_month ELSE points_hours_capped END) AS points
FROM scored
GROUP BY uid, bid, month
"""
# The record-level [quality] rules' settings as a table (redservice.quality.flag_params binds them);
# key: all of them as one string, which a file must match to be used (see attach).
_QUALITY_SETTINGS = ("SELECT CAST($q_statuses AS VARCHAR[]) AS statuses, "
                     "CAST($q_max_hours_per_day AS DOUBLE) AS max_hours_per_day, "
                     "CAST($q_max_entry_delay_days AS INTEGER) AS max_entry_delay_days, "
                     "CAST($q_bulk_min_members AS INTEGER) AS bulk_min_members, "
                     "CAST($q_household_max_per_day AS INTEGER) AS household_max_per_day, "
                     "CAST($key AS VARCHAR) AS key")
_QUALITY_FLAGS = Path(__file__).resolve().parent.parent / "queries" / "_quality_flags.sql"
_digests: dict[tuple, str] = {}
_footers: dict[tuple, tuple[tuple[str, ...], int]] = {}
_footer_con: duckdb.DuckDBPyConnection | None = None
_digest_lock = threading.Lock()


def path(directory: str | Path) -> Path:
    return Path(directory) / FILE


def sql_string(value: str) -> str:
    # Only ever used for paths the application itself chose (the data directory), never user input.
    return "'" + value.replace("'", "''") + "'"


def _digest(file: Path) -> str:
    """SHA-256 of a file, remembered while its size and modification time stay the same."""
    st = file.stat()
    # by inode: the partitions a generation shares with the previous one are hard links of the same
    # file (never rewritten in place: a new file replaces an old one), hashed once per process
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
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
        parts.append(f"{table}:{_table_digest(Path(directory), table)}")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()


def _table_digest(directory: Path, table: str) -> str:
    """A table's content digest: its one file's SHA-256, or its partitions' (county and SHA-256 of
    each, in order: the same records give the same digest however they are split); '-' when absent."""
    if (directory / parquet_name(table)).is_file():
        return _digest(directory / parquet_name(table))
    parts = storage.partition_files(directory, table)
    if not parts:
        return "-"
    return "partitioned:" + hashlib.sha256("|".join(
        f"{county}={_digest(file)}" for county, file in parts.items()).encode()).hexdigest()


def source_digests(directory: str | Path) -> set[tuple[str, str, str]]:
    """(table, part, digest) of every record file of ``directory``: part '' for a table in one file
    (digest '-' when absent or empty), the county's folder (``county=平陆县``) for each partition, and a row
    ("format", "", FORMAT_VERSION). A copy keeps the set it was built from (table ``sources``), so
    that ``changed_counties`` can tell which counties' records changed since."""
    directory = Path(directory)
    out = {("format", "", FORMAT_VERSION)}
    for table in SOURCES:
        parts = storage.partition_files(directory, table)
        file = directory / parquet_name(table)
        if file.is_file() and record_rows_of(file) == 0:
            out.add((table, "", "-"))  # an empty table builds what a missing one does (the importer writes them)
        elif file.is_file() or not parts:
            out.add((table, "", _table_digest(directory, table)))
        else:
            out |= {(table, storage.partition_folder(county), _digest(file)) for county, file in parts.items()}
    return out


def write_sources(con: duckdb.DuckDBPyConnection, directory: str | Path) -> None:
    """The copy's ``sources``: the record files it was built from (``source_digests``)."""
    con.execute("CREATE OR REPLACE TABLE sources (source VARCHAR, part VARCHAR, digest VARCHAR)")
    con.executemany("INSERT INTO sources VALUES (?, ?, ?)", sorted(source_digests(directory)))


def changed_counties(directory: str | Path) -> tuple[set | None, str | None]:
    """The counties whose records changed since ``directory``'s copy was built, when nothing else did
    (the lists, the settings' format, the tables kept in one file): (counties, None); else (None, why).
    Counties with no records before or none now count as changed; NULL stands for the records of no county."""
    file = path(directory)
    if not file.is_file():
        return None, "no serving copy"
    try:
        con = duckdb.connect(str(file), read_only=True)
    except duckdb.Error as exc:
        return None, f"the copy cannot be opened ({type(exc).__name__})"
    try:
        stored = set(con.execute("SELECT source, part, digest FROM sources").fetchall())
    except duckdb.Error:
        return None, "the copy keeps no record of its sources (built by an older version)"
    finally:
        con.close()
    return counties_changed(stored, source_digests(directory))


def counties_changed(stored: set, current: set) -> tuple[set | None, str | None]:
    """``changed_counties`` from the two sets of ``source_digests`` rows (the copy's and the files')."""
    counties = set()
    for source, part, _digest_ in stored ^ current:
        if source not in storage.PARTITIONED or not part:
            return None, f"{source} changed"
        counties.add(storage.county_of_folder(part))
    return counties, None


def _footer(file: Path) -> tuple[tuple[str, ...], int]:
    """A Parquet file's column names and rows, read from its footer by DuckDB (pyarrow is not needed
    to build the copy: it would add about 30 MB to the build's process); remembered while the file's
    size and modification time stay the same."""
    global _footer_con
    st = file.stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)  # by inode, as _digest
    with _digest_lock:
        if key in _footers:
            return _footers[key]
        if _footer_con is None:  # one small in-memory database for every footer (a connection takes 40 ms)
            _footer_con = duckdb.connect(":memory:")
        con = _footer_con.cursor()
    try:
        names = con.execute("SELECT name FROM parquet_schema($f) WHERE num_children IS NULL", {"f": str(file)}).fetchall()
        rows = con.execute("SELECT SUM(num_rows) FROM parquet_file_metadata($f)", {"f": str(file)}).fetchone()[0]
    finally:
        con.close()
    with _digest_lock:
        _footers[key] = (tuple(n for (n,) in names), int(rows or 0))
        return _footers[key]


# -- the statements ---------------------------------------------------------------------------------------
def _typed(directory: Path, table: str) -> str:
    """The table's records with the schema's types (no rows when its file is missing; NULL for a
    column the file predates, such as 审核状态 in a store written before the column existed)."""
    columns = TABLES[table]
    files = storage.table_files(directory, table)
    if files:
        have = set().union(*(_footer(f)[0] for f in files))
        cols = ", ".join(f"CAST({c if c in have else 'NULL'} AS {ty}) AS {c}" for c, ty in columns.items())
        if len(files) == 1:
            return f"SELECT {cols} FROM read_parquet({sql_string(str(files[0]))})"
        # a county's records per file (storage.PARTITIONED); files of older writers may lack a column
        listed = ", ".join(sql_string(str(f)) for f in files)
        return f"SELECT {cols} FROM read_parquet([{listed}], union_by_name = true)"
    return "SELECT " + ", ".join(f"CAST(NULL AS {ty}) AS {c}" for c, ty in columns.items()) + " WHERE 1 = 0"


def _ids(column: str, name: str, sources: tuple[str, ...], carry: str | None = None) -> str:
    """A dense integer id (1..n, in the order of the values) for every value of ``column``. With
    ``carry`` (the table of the previous copy, attached as ``prev``): a value keeps the id it had
    there, and the values it did not have are numbered after the largest kept, in their order — so
    an import that adds values leaves every other id as it was (see ``refresh``)."""
    union = " UNION ".join(f"SELECT DISTINCT {column} FROM ({src}) t{i}" for i, src in enumerate(sources))
    if carry is None:
        return (f"SELECT {column}, CAST(ROW_NUMBER() OVER (ORDER BY {column}) AS INTEGER) AS {name} "
                f"FROM ({union}) v WHERE {column} IS NOT NULL")
    return (f"WITH v AS (SELECT {column} FROM ({union}) u WHERE {column} IS NOT NULL), "
            f"kept AS (SELECT p.{column}, p.{name} FROM prev.{carry} p WHERE p.{column} IN (SELECT {column} FROM v)), "
            f"fresh AS (SELECT {column} FROM v WHERE {column} NOT IN (SELECT {column} FROM kept)) "
            f"SELECT {column}, {name} FROM kept UNION ALL "
            f"SELECT {column}, CAST((SELECT COALESCE(MAX({name}), 0) FROM kept) + ROW_NUMBER() OVER (ORDER BY {column}) "
            f"AS INTEGER) AS {name} FROM fresh")


def _local_ids(source: str, groups: tuple[str, ...], column: str, name: str, carry: str | None = None) -> str:
    """A dense id of ``column`` within each group (1..n per group): a grouped distinct count is then
    an exact bitmap of at most the largest group's size (``bitstring_agg(name, 1, $<name>_max)``).
    With ``carry``: as ``_ids``, per group (a value new to a group is numbered after the group's largest)."""
    keys = ", ".join(groups)
    if carry is None:
        return (f"SELECT {keys}, {column}, CAST(ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY {column}) AS INTEGER) "
                f"AS {name} FROM (SELECT DISTINCT {keys}, {column} FROM {source} WHERE {column} IS NOT NULL) g")
    on = " AND ".join(f"p.{g} IS NOT DISTINCT FROM v.{g}" for g in groups) + f" AND p.{column} = v.{column}"
    top_on = " AND ".join(f"t.{g} IS NOT DISTINCT FROM f.{g}" for g in groups)
    return (f"WITH v AS (SELECT DISTINCT {keys}, {column} FROM {source} WHERE {column} IS NOT NULL), "
            f"kept AS (SELECT p.* FROM prev.{carry} p WHERE EXISTS (SELECT 1 FROM v WHERE {on})), "
            f"fresh AS (SELECT v.* FROM v WHERE NOT EXISTS (SELECT 1 FROM kept p WHERE {on})), "
            f"top AS (SELECT {keys}, MAX({name}) AS m FROM kept GROUP BY {keys}) "
            f"SELECT {keys}, {column}, {name} FROM kept UNION ALL "
            f"SELECT {', '.join('f.' + g for g in groups)}, f.{column}, CAST(COALESCE(t.m, 0) + ROW_NUMBER() OVER "
            f"(PARTITION BY {', '.join('f.' + g for g in groups)} ORDER BY f.{column}) AS INTEGER) AS {name} "
            f"FROM fresh f LEFT JOIN top t ON {top_on}")


def household_base_sql(wide: bool = False) -> str:
    """Each household row (household_pairs) with the columns of its record the households' windows
    read (the compound as its number in compound_ids), and the unit's, community's and compound's
    names the build that carries the ids joins its carried numbers on. ``wide``: with every column
    household_facts takes from the record (the incremental refresh builds the new rows of
    household_facts from it; the full build joins services there)."""
    if wide:
        return ("SELECT s.date, s.mid, s.member_id, s.unit, s.uid, s.branch, s.community, c.cid, s.compound, "
                "s.category, s.form, s.rkey, s.counted, p.household, s.county FROM household_pairs p "
                "JOIN services s ON s.rkey = p.rkey LEFT JOIN community_ids c ON c.community = s.community")
    return ("SELECT s.date, s.unit, s.uid, s.community, o.cid, s.compound, o.coid, s.rkey, s.counted, p.household, "
            "s.county FROM household_pairs p JOIN services s ON s.rkey = p.rkey LEFT JOIN compound_ids o "
            "ON o.community IS NOT DISTINCT FROM s.community AND o.compound IS NOT DISTINCT FROM s.compound")


def statements(directory: str | Path, carry: bool = False, typed=None) -> list[tuple[str, str, str]]:
    """(name, SELECT, ORDER BY) for every table of the serving copy, in dependency order. The first,
    ``rollup_settings``, takes the 红色积分 rules as parameters (see ``_create``). ``carry``: the ids
    (dense and local) keep their values of the previous copy, attached as ``prev`` (``refresh``).
    ``typed``: table -> the SELECT of its typed records (default ``_typed``: the Parquet files of
    ``directory``; the Spark build reads views of its own)."""
    d = Path(directory)
    if typed is None:
        def typed(table):
            return _typed(d, table)
    c = (lambda table: table) if carry else (lambda table: None)
    member_cols = ", ".join(f"m.{c}" for c in TABLES["members"])
    service_cols = ", ".join(f"s.{c}" for c in TABLES["services"])
    wish_cols = ", ".join(f"w.{c}" for c in TABLES["wishes"])
    claimers = f"SELECT claim_member_id AS member_id FROM ({typed('wishes')}) w"
    out = [("rollup_settings", "SELECT " + ", ".join(
        f"CAST(${name} AS {'VARCHAR' if name == 'red_day_form' else 'DOUBLE'}) AS {name}" for name in RULES), "")]
    out += [("approval_settings", "SELECT CAST($counted AS VARCHAR[]) AS counted, "
             "CAST($exclusion AS VARCHAR) AS exclusion", ""),
            # the records [quality] count_flagged = false leaves out, with the rules they broke
            ("excluded_records", "SELECT UNNEST(CAST($excluded_ids AS VARCHAR[])) AS record_id, "
             "UNNEST(CAST($excluded_rules AS VARCHAR[])) AS rules", ""),
            # the thresholds of the record-level [quality] rules quality_flags is built with
            ("quality_settings", _QUALITY_SETTINGS, "")]
    out += [(t, typed(t), "") for t in ("communities", "compounds", "units", "branches", "evaluations")]
    out += [
        ("member_ids", _ids("member_id", "mid", (typed("members"), typed("services"), claimers), c("member_ids")), ""),
        ("wishes",
         f"SELECT {wish_cols}, i.mid AS claim_mid FROM ({typed('wishes')}) w "
         "LEFT JOIN member_ids i ON i.member_id = w.claim_member_id", ""),
        ("branch_ids", _ids("branch", "bid", (typed("branches"), typed("members"), typed("services")),
                                  c("branch_ids")), ""),
        ("community_ids",
         _ids("community", "cid", (typed("communities"), typed("members"), typed("services")),
              c("community_ids")), ""),
        ("activity_ids", _ids("activity_id", "aid", (typed("services"),), c("activity_ids")), ""),
        ("unit_ids", _ids("unit", "uid", (typed("units"), typed("members"), typed("services")), c("unit_ids")), ""),
        ("members",
         f"SELECT {member_cols}, i.mid, b.bid, c.cid, u.uid, COALESCE(kc.county, ku.county) AS county, "
         # county_mid: the member's number within the county it counts in (1..n by mid; NULL without
         # a member id), the local id of 区县对比's exact active-member bitmaps (services.home_mid)
         "CASE WHEN i.mid IS NOT NULL THEN CAST(ROW_NUMBER() OVER (PARTITION BY COALESCE(kc.county, ku.county), "
         "i.mid IS NULL ORDER BY i.mid) AS INTEGER) END AS county_mid "
         f"FROM ({typed('members')}) m "
         "LEFT JOIN member_ids i ON i.member_id = m.member_id LEFT JOIN branch_ids b ON b.branch = m.branch "
         "LEFT JOIN community_ids c ON c.community = m.community LEFT JOIN unit_ids u ON u.unit = m.unit "
         f"LEFT JOIN {COMMUNITY_COUNTY} kc ON kc.community = m.community "
         f"LEFT JOIN {UNIT_COUNTY} ku ON ku.unit = m.unit",
         "member_id"),
        ("service_base",
         f"SELECT {service_cols}, i.mid, a.aid, {RKEY} AS rkey, "
         "(s.review_status IS NULL OR list_contains((SELECT counted FROM approval_settings), s.review_status)) "
         "AND x.record_id IS NULL AS counted, x.rules AS excluded_rules "
         f"FROM ({typed('services')}) s "
         "LEFT JOIN member_ids i ON i.member_id = s.member_id LEFT JOIN activity_ids a ON a.activity_id = s.activity_id "
         "LEFT JOIN excluded_records x ON x.record_id = s.record_id",
         ""),
        ("unit_members", _local_ids("service_base", ("unit",), "mid", "unit_mid", c("unit_members")), ""),
        # red_prev: the window reads only the columns it needs (a window holds whole rows: over
        # every column of the records it took more memory and three times as long), joined back
        # on the record's integer key (on 记录编号, the join cost 19 of the statement's 40 s at 10 M)
        ("services",
         "SELECT s.*, u.unit_mid, i.uid, COALESCE(s.community = p.paired_community, FALSE) AS paired, "
         "r.uid AS roster_uid, r.bid AS roster_bid, l.red_prev, "
         "CASE WHEN r.county = COALESCE(k.county, p.county) THEN r.county_mid END AS home_mid, "
         "l.day_first, l.year_aid_first, COALESCE(k.county, p.county) AS county "
         f"FROM service_base s LEFT JOIN {COMMUNITY_COUNTY} k ON k.community = s.community "
         f"LEFT JOIN ({RECORD_WINDOWS} FROM service_base) l ON l.rkey = s.rkey "
         "LEFT JOIN unit_members u ON u.unit IS NOT DISTINCT FROM s.unit AND u.mid = s.mid "
         "LEFT JOIN unit_ids i ON i.unit = s.unit LEFT JOIN units p ON p.unit = s.unit "
         "LEFT JOIN members r ON r.mid = s.mid",
         "date, mid, record_id"),
        ("household_ids", _ids("household", "hid", (typed("service_households"),), c("household_ids")), ""),
        # household_pairs: each household row as two integers (record key, household id), from a join
        # of the household rows with the records' keys alone; household_base then joins the records'
        # columns to these pairs on the integer key. Joining the household rows to whole records on
        # 记录编号 built a hash table of every record's columns, which spilled: at 10 M records 33 s
        # of wall time against 16 s for the two steps (docs/benchmarks.md)
        ("household_pairs",
         f"SELECT r.rkey, i.hid AS household FROM ({typed('service_households')}) h "
         "JOIN household_ids i ON i.household = h.household "
         "JOIN (SELECT record_id, rkey FROM services) r ON r.record_id = h.record_id", ""),
        # compound_ids: each (community, compound) of the records numbered, so that the compound's
        # household window partitions by an integer, not by a community id and a name (at 10 M records
        # household_compounds 12.5 -> 7.0 s: the name, some 20 bytes, was in every row of its sorts)
        ("compound_ids",
         "SELECT d.community, d.compound, c.cid, CAST(ROW_NUMBER() OVER (ORDER BY d.community, d.compound) AS INTEGER) "
         "AS coid FROM (SELECT DISTINCT community, compound FROM services) d "
         "LEFT JOIN community_ids c ON c.community = d.community", ""),
        ("household_base", household_base_sql(), ""),
        # household_compounds, then household_keys: each household row's local ids and its previous
        # date by the same unit, computed by windows over the columns they need (narrow rows: a window
        # or a join over the records' text columns spilled under the budget), partitioned by the
        # integer ids of the unit, the community and the compound, not their names (the same
        # partitions: uid and cid are NULL where the name is, coid numbers the pairs with NULLs too;
        # at 10 M records household_keys 15.6 -> 7.5 s); the local-id tables are their distinct
        # rows (each household's first row, flagged below). DENSE_RANK over a partition's households is
        # ROW_NUMBER over its distinct households, as _local_ids numbers them. Rows of one unit,
        # household and date get the same dates in any order; rkey fixes which. The compound's and the
        # county's numbers are windows of their own, passed through household_keys' windows: a fourth
        # window in one statement took it from 15-16 to 39-41 s at 10 M records within the budget
        # (24 s with 2.5 GB: the windows' sorts spilled), and household_facts then joins one table of
        # numbers to the records, not two (at 10 M records 34 -> 23 s: the second join's build side
        # was the wide rows of the first)
        ("household_compounds",
         "SELECT rkey, household, date, cid, uid, counted, coid, county, "
         "CAST(DENSE_RANK() OVER (PARTITION BY coid ORDER BY household) AS INTEGER) AS compound_hh, "
         "LAG(household) OVER (PARTITION BY coid ORDER BY household) IS DISTINCT FROM household AS compound_first, "
         "CAST(DENSE_RANK() OVER (PARTITION BY county ORDER BY household) AS INTEGER) AS county_hh, "
         "LAG(household) OVER (PARTITION BY county ORDER BY household) IS DISTINCT FROM household AS county_first "
         "FROM household_base", ""),
        ("household_keys",
         "SELECT rkey, household, date, cid, uid, compound_hh, county_hh, "
         f"CASE WHEN LAG(household) OVER {_UNIT_ROWS} = household AND LAG(counted) OVER {_UNIT_ROWS} "
         f"IS NOT DISTINCT FROM counted THEN LAG(date) OVER {_UNIT_ROWS} END AS unit_hh_prev, "
         "CAST(DENSE_RANK() OVER (PARTITION BY cid ORDER BY household) AS INTEGER) AS community_hh, "
         "LAG(household) OVER (PARTITION BY cid ORDER BY household) IS DISTINCT FROM household AS community_first, "
         "CAST(DENSE_RANK() OVER (PARTITION BY uid ORDER BY household) AS INTEGER) AS unit_hh, "
         f"LAG(household) OVER {_UNIT_ROWS} IS DISTINCT FROM household AS unit_first "
         "FROM household_compounds", ""),
        # the local-id tables: a partition's first row of each household, flagged by a LAG over the
        # window that numbers them (the same sort: the windows take no longer), not a DISTINCT of
        # every household row (at 10 M records, 18.5 M rows, the four tables 14 -> about 5 s)
        ("community_households", "SELECT cid, household, community_hh FROM household_keys WHERE community_first", ""),
        ("county_households", "SELECT county, household, county_hh FROM household_compounds WHERE county_first", ""),
        ("compound_households",
         "SELECT o.community, o.compound, d.household, d.compound_hh FROM household_compounds d "
         "JOIN compound_ids o ON o.coid = d.coid WHERE d.compound_first", ""),
        ("unit_households", "SELECT u.unit, d.household, d.unit_hh FROM household_keys d "
         "LEFT JOIN unit_ids u ON u.uid = d.uid WHERE d.unit_first", ""),
        # the records' columns joined to the household rows' numbers, from services itself (on the
        # record key and date: the build writes it one range of dates at a time, BY_RANGE, and
        # the date narrows both sides of the join to the range's blocks); carrying the ids,
        # household_keys joins the carried numbers, the compound's too, and the county's is joined here
        ("household_facts",
         "SELECT s.date, s.mid, s.member_id, s.unit, s.uid, s.branch, s.community, k.cid, s.compound, s.category, "
         f"s.form, s.rkey, s.counted, k.household, k.community_hh, k.compound_hh, k.unit_hh, "
         f"{'y' if carry else 'k'}.county_hh, k.unit_hh_prev, s.county FROM household_keys k "
         "JOIN services s ON s.rkey = k.rkey AND s.date = k.date"
         + (" LEFT JOIN county_households y ON y.county IS NOT DISTINCT FROM s.county AND y.household = k.household"
            if carry else ""),
         "date, household"),
        ("red_carry",
         "SELECT mid, CAST(DATE_TRUNC('month', date) AS DATE) AS month, red_prev FROM services "
         "WHERE counted AND form = (SELECT red_day_form FROM rollup_settings) AND red_prev < DATE_TRUNC('month', date)",
         "month, mid"),
        ("member_months",
         "SELECT m.*, COALESCE(r.reported_on <= m.month, FALSE) AND NOT EXISTS "
         "(SELECT 1 FROM red_carry c WHERE c.mid = m.mid AND c.month = m.month) AS eligible "
         "FROM (SELECT mid, CAST(DATE_TRUNC('month', date) AS DATE) AS month, ANY_VALUE(roster_uid) AS uid, "
         "ANY_VALUE(roster_bid) AS bid, COALESCE(SUM(hours), 0) AS hours, "
         "COUNT(*) FILTER (WHERE form = (SELECT red_day_form FROM rollup_settings) AND red_prev IS NULL) "
         "AS red_new FROM services WHERE counted AND mid IS NOT NULL GROUP BY mid, CAST(DATE_TRUNC('month', date) AS DATE)) m "
         "LEFT JOIN members r ON r.mid = m.mid",
         "month, mid"),
        ("branch_months", _BRANCH_MONTHS, "month, uid, bid"),
        ("unit_months",
         "SELECT uid, ANY_VALUE(unit) AS unit, CAST(DATE_TRUNC('month', date) AS DATE) AS month, "
         "SUM(hours) AS hours, CAST(SUM(persons) AS BIGINT) AS persons, COUNT(*) AS records, "
         "SUM(CASE WHEN paired THEN hours ELSE 0 END) AS paired_hours FROM services WHERE counted "
         "GROUP BY uid, CAST(DATE_TRUNC('month', date) AS DATE)",
         "month, uid"),
        ("unit_household_months",
         "SELECT uid, ANY_VALUE(unit) AS unit, CAST(DATE_TRUNC('month', date) AS DATE) AS month, "
         "COUNT(*) FILTER (WHERE unit_hh_prev IS NULL OR unit_hh_prev < DATE_TRUNC('month', date)) AS households "
         "FROM household_facts WHERE counted GROUP BY uid, CAST(DATE_TRUNC('month', date) AS DATE)",
         "month, uid"),
        ("unit_household_returns",
         "SELECT uid, unit, CAST(DATE_TRUNC('month', date) AS DATE) AS month, unit_hh_prev FROM household_facts "
         "WHERE counted AND unit_hh_prev < DATE_TRUNC('month', date)",
         "month, uid"),
        ("dim_scoped",
         "SELECT 'unit' AS dimension, unit AS value, CAST(NULL AS VARCHAR) AS parent, unit, community, county "
         "FROM members "
         "UNION SELECT 'branch', branch, unit, unit, community, county FROM members WHERE branch IS NOT NULL "
         "UNION " + _DIM_SERVICES,
         "unit, community"),
        ("dim_values", "SELECT DISTINCT dimension, value, parent FROM dim_scoped", "dimension, value"),
        # 数据质量: the record-level rules' flags over every checked record (queries/_quality_flags.sql)
        ("quality_flags", quality_flags_sql(), ""),
    ]
    if carry:  # the local ids of households carried too: numbered before, and joined to, household_keys
        names = [n for n, _, _ in out]
        local = {"community_households": ("cid",), "compound_households": ("community", "compound"),
                 "unit_households": ("unit",), "county_households": ("county",)}
        ids = {"community_households": "community_hh", "compound_households": "compound_hh",
               "unit_households": "unit_hh", "county_households": "county_hh"}
        carried = [(t, _local_ids("household_base", g, "household", ids[t], t), "") for t, g in local.items()]
        keys = ("household_keys",
                "SELECT k.rkey, k.household, k.date, k.cid, k.unit_hh_prev, c.community_hh, p.compound_hh, u.unit_hh "
                "FROM (SELECT rkey, household, date, cid, community, compound, unit, "
                "LAG(date) OVER (PARTITION BY counted, uid, household ORDER BY date, rkey) AS unit_hh_prev "
                "FROM household_base) k "
                "LEFT JOIN community_households c ON c.cid IS NOT DISTINCT FROM k.cid AND c.household = k.household "
                "LEFT JOIN compound_households p ON p.community IS NOT DISTINCT FROM k.community "
                "AND p.compound IS NOT DISTINCT FROM k.compound AND p.household = k.household "
                "LEFT JOIN unit_households u ON u.unit IS NOT DISTINCT FROM k.unit AND u.household = k.household", "")
        # household_keys joins the carried numbers, the compound's too: no household_compounds
        out = [x for x in out if x[0] not in local and x[0] not in ("household_keys", "household_compounds")]
        at = [n for n, _, _ in out].index("household_facts")
        out[at:at] = carried + [keys]
        assert sorted(n for n, _, _ in out) == sorted(n for n in names if n != "household_compounds")
    return out


def quality_flags_sql() -> str:
    """queries/_quality_flags.sql without its comments: the one definition of the record-level
    [quality] rules, built into the copy (a view over the records with source="raw")."""
    return re.sub(r"--[^\n]*", "", _QUALITY_FLAGS.read_text(encoding="utf-8")).strip()


def quality_key(rules: dict) -> str:
    """What quality_flags is built with (the record-level [quality] rules' settings) as one string."""
    return json.dumps(rules.get("checks") or _default_checks(), sort_keys=True, ensure_ascii=False)


def _default_checks() -> dict:
    from redservice import quality

    return quality.flag_params({})


def exclusion_key(rules: dict) -> str:
    """What decides the records [quality] count_flagged = false leaves out ("" when it is true)."""
    quality = rules.get("quality")
    return "" if quality is None else json.dumps(quality, sort_keys=True, ensure_ascii=False)


def _excluded(con: duckdb.DuckDBPyConnection, directory: Path, fp: str,
              rules: dict) -> tuple[list[str], list[str]] | None:
    """With [quality] count_flagged = false: the records the excluding rules flag over all the
    records (the copy built once in memory without exclusion, then its quality_flags read)."""
    if rules.get("quality") is None:
        return None
    # in memory, within the build's own budget (and spilling where it spills)
    limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    probe = duckdb.connect(":memory:", config={"memory_limit": limit, **({"temp_directory": spill} if spill else {})})
    try:
        probe.execute("SET enable_progress_bar = false")
        _create(probe, directory, True, fp, {**rules, "quality": None})
        flagged = probe.execute(FLAGGED).fetchall()
    finally:
        probe.close()
    return excluded_of(flagged, rules)


# The records the [quality] rules flag, with their 审核状态 (a record's own) and the rules broken.
FLAGGED = ("SELECT s.record_id, ANY_VALUE(s.review_status), list(DISTINCT f.rule) "
           "FROM quality_flags f JOIN services s ON s.rkey = f.rkey "
           "GROUP BY s.record_id ORDER BY s.record_id")


def excluded_of(flagged: list[tuple], rules: dict) -> tuple[list[str], list[str]]:
    """The excluded records' ids and rule codes from ``FLAGGED``'s rows."""
    from redservice import quality

    ids, codes = [], []
    counted = set(rules.get("counted", DEFAULT_COUNTED))
    for record_id, status, rules_broken in flagged:
        kept = [r for r in quality.RULES if r in rules_broken and r in quality.EXCLUDING]
        if kept and (status is None or status in counted):  # a pending record counts nowhere anyway
            ids.append(record_id)
            codes.append(",".join(kept))
    return ids, codes


def _create(con: duckdb.DuckDBPyConnection, directory: Path, materialize: bool, fp: str, rules: dict,
            carry: bool = False, threads: Callable[[str], int] | None = None) -> None:
    excluded = _excluded(con, directory, fp, rules)
    preserve = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    try:
        _create_tables(con, directory, materialize, fp, rules, excluded, carry, threads)
    finally:
        con.execute(f"SET preserve_insertion_order = {str(bool(preserve)).lower()}")


def _last_reads(stmts: list[tuple[str, str, str]]) -> dict[str, int]:
    """For each intermediate step, the index of the last statement that reads it."""
    names = {n for n, _s, _o in stmts}
    return {step: max(i for i, (_n, select, _o) in enumerate(stmts) if re.search(rf"\b{step}\b", select))
            for step in INTERMEDIATE if step in names}


def _unit_ranges(con: duckdb.DuckDBPyConnection) -> list[tuple[str | None, str | None]]:
    """The units cut, in their sort order, into ranges [lo, hi) of about UNIT_RANGE_ROWS service
    records each (None: unbounded; the last range takes the records without a unit too)."""
    records = con.execute("SELECT COUNT(*) FROM services").fetchone()[0]
    parts = max(1, -(-records // UNIT_RANGE_ROWS))
    if parts == 1:
        return [(None, None)]
    units = con.execute("SELECT COUNT(*) FROM unit_ids").fetchone()[0]
    # unit_ids numbers the units in their sort order: a range starts at every n-th unit
    bounds = [r[0] for r in con.execute(
        "SELECT unit FROM unit_ids WHERE uid > 1 AND (uid - 1) % $step = 0 ORDER BY uid",
        {"step": max(1, -(-units // parts))}).fetchall()]
    edges = [None, *bounds, None]
    return list(zip(edges, edges[1:]))


def _date_ranges(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The household rows' dates (household_keys) cut into ranges [lo, hi) of about
    DATE_RANGE_ROWS_PER_MB rows per MB of the connection's memory limit each (None: unbounded; the
    last range takes the rows without a date too)."""
    rows = con.execute("SELECT COUNT(*) FROM household_keys").fetchone()[0]
    budget = parse_size_mb(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
    parts = max(1, -(-rows // max(1, budget * DATE_RANGE_ROWS_PER_MB)))
    if parts == 1:
        return [(None, None)]
    bounds = con.execute("SELECT quantile_disc(date, $q) FROM household_keys",
                         {"q": [i / parts for i in range(1, parts)]}).fetchone()[0]
    edges = [None, *sorted({b for b in bounds if b is not None}), None]
    return list(zip(edges, edges[1:]))


def _create_by_range(con: duckdb.DuckDBPyConnection, name: str, select: str, order: str,
                     by: tuple[str, Callable]) -> None:
    """``CREATE TABLE name AS select ORDER BY order`` one range of ``order``'s first column at a time
    (``by``: the column and the function giving its ranges, as in BY_RANGE): each range's work fits
    the budget where the whole did not, and the ranges, appended in order, keep the table sorted."""
    column, ranges = by
    for i, (lo, hi) in enumerate(ranges(con)):
        # bounds without an OR, so that the optimizer carries them across the joins' equal columns
        # to every table's scan (household_facts: the household rows' dates too, not only the records')
        where = (f"{column} >= $lo AND {column} < $hi" if lo is not None and hi is not None
                 else f"{column} < $hi" if lo is None and hi is not None
                 else f"({column} >= $lo OR {column} IS NULL)" if lo is not None else "TRUE")
        params = {k: v for k, v in (("lo", lo), ("hi", hi)) if v is not None}
        part = f"SELECT * FROM ({select}) r WHERE {where} ORDER BY {order}"
        con.execute(f"CREATE TABLE {name} AS {part}" if i == 0 else f"INSERT INTO {name} {part}", params)


def thread_plan(limits: BuildLimits) -> Callable[[str], int]:
    """The build's threads per statement: ``[build] threads`` when set; else (0) PARALLEL_THREADS, at
    most the machine's cores."""
    many = limits.threads or max(1, min(PARALLEL_THREADS, os.cpu_count() or 1))
    return lambda _name: many


def _set_threads(con: duckdb.DuckDBPyConnection, threads: Callable[[str], int] | None, name: str) -> int:
    """Set the connection's threads for statement ``name`` as planned; returns the count (1 without
    a plan: the app's copy in memory keeps its connection's setting, and is not retried)."""
    if threads is None:
        return 1
    con.execute(f"SET threads = {threads(name)}")
    return threads(name)


def _parallel(con: duckdb.DuckDBPyConnection, create: str) -> None:
    """Run a statement planned on several threads (a seam for the tests: one that runs out of memory)."""
    con.execute(create)


def _create_tables(con: duckdb.DuckDBPyConnection, directory: Path, materialize: bool, fp: str, rules: dict,
                   excluded: tuple[list[str], list[str]] | None, carry: bool = False,
                   threads: Callable[[str], int] | None = None) -> None:
    """``threads``: the build's thread count per statement (``thread_plan``; None: the connection's
    as it is, the app's copy in memory)."""
    stmts = statements(directory, carry)
    last_reads = _last_reads(stmts)
    for i, (name, select, order) in enumerate(stmts):
        if name == "rollup_settings":  # parameters: a table in every mode (a view takes none)
            con.execute(f"CREATE TABLE {name} AS {select}", {k: rules[k] for k in RULES})
        elif name == "approval_settings":
            con.execute(f"CREATE TABLE {name} AS {select}", {"counted": list(rules.get("counted", DEFAULT_COUNTED)),
                                                             "exclusion": exclusion_key(rules)})
        elif name == "quality_settings":
            checks = rules.get("checks") or _default_checks()
            con.execute(f"CREATE TABLE {name} AS {select}", {**checks, "key": quality_key(rules)})
        elif name == "excluded_records":
            ids, codes = excluded or ([], [])
            con.execute(f"CREATE TABLE {name} AS {select}", {"excluded_ids": ids, "excluded_rules": codes})
        elif materialize:
            # steps the queries do not read stay in temporary (memory) tables, out of the file;
            # order is kept where a statement sorts or copies a file (see AS_FILED)
            kind = "TEMP TABLE" if name in INTERMEDIATE else "TABLE"
            con.execute(f"SET preserve_insertion_order = {str(name in AS_FILED).lower()}")
            many = _set_threads(con, threads, name) > 1
            create = f"CREATE {kind} {name} AS {select}{' ORDER BY ' + order if order else ''}"
            try:
                if name in BY_RANGE:
                    _create_by_range(con, name, select, order, BY_RANGE[name])
                else:
                    _parallel(con, create) if many else con.execute(create)
            except duckdb.OutOfMemoryException:
                # a second thread needs a share of the budget too: the statement failed (a range
                # of units may have been written: dropped), so it runs again on one thread before
                # the build asks for a larger budget
                if not many:
                    raise
                con.execute(f"DROP TABLE IF EXISTS {name}")
                con.execute("SET threads = 1")
                if name in BY_RANGE:
                    _create_by_range(con, name, select, order, BY_RANGE[name])
                else:
                    con.execute(create)
            # an intermediate step is dropped as soon as nothing else reads it: it would otherwise
            # hold the budget (or spill) while the steps after it run
            for step in (s for s, last in last_reads.items() if last == i):
                con.execute(f"DROP TABLE {step}")
        else:
            con.execute(f"CREATE VIEW {name} AS {select}")
    maxima = ", ".join(f"CAST(COALESCE((SELECT MAX({col}) FROM {table}), 1) AS INTEGER) AS {stat}"
                       for stat, (table, col) in MAXIMA.items())
    con.execute(f"CREATE TABLE meta AS SELECT CAST($fp AS VARCHAR) AS fingerprint, {maxima}", {"fp": fp})


def build_rules(store_dir: str | Path | None = None) -> dict:
    """What the serving copy is built with for a store: its 红色积分 rules (``points_rules_of``) and
    ``counted``, the 审核状态 whose records count ([approval] counted; a record without a status
    always counts), ``quality`` (the [quality] rules when count_flagged = false, else None) and
    ``checks`` (the record-level [quality] rules' settings that quality_flags is built with)."""
    from redservice import approval, config, quality, scorecard

    settings = config.settings(store_dir) if store_dir else config.defaults()
    try:
        counted = approval.counted(settings)
    except scorecard.SettingsError:  # the pages that read the setting say what is wrong with it
        counted = list(DEFAULT_COUNTED)
    try:
        excluding = None if quality.count_flagged(settings) else quality.params(settings)
    except (scorecard.SettingsError, KeyError, TypeError, ValueError):
        excluding = None
    try:
        checks = quality.flag_params(settings)
    except (scorecard.SettingsError, KeyError, TypeError, ValueError):  # the 数据质量 page says what is wrong
        checks = quality.flag_params({})
    return {**points_rules_of(store_dir), "counted": counted, "quality": excluding, "checks": checks}


def points_rules_of(store_dir: str | Path | None = None) -> dict:
    """The 红色积分 rules of a store's settings as red_points.sql's parameters (the rollups are built
    with them); the default rules without a store, or when the store's are not valid (the pages
    say so; the rollups then serve no query)."""
    from redservice import config, scorecard

    try:
        return scorecard.points_rules(config.settings(store_dir) if store_dir else config.defaults()).params()
    except scorecard.SettingsError:
        return scorecard.points_rules(config.defaults()).params()


# -- the build's memory ------------------------------------------------------------------------------------
# What building the copy needs in DuckDB's buffer pool, in MB: a base and a share per million rows of
# services and service_households (at 1 M records, 2.85 M rows: 370 MB, where two threads keep the
# household windows in memory and the process peaks at about 475 MB; the demo's 50 k rows fit in 64
# MB on one; see docs/benchmarks.md), up to NEED_MAX_MB: beyond it the build spills rather than
# grows (10 M records, 28.5 M rows, build within 1,000 MB on two threads, the process's peak
# 200–480 MB above it: with 1,100 MB the 10 M build peaked at 1,414–1,575 MB, over the 1.5 GB target in
# two runs of 5 December 2026; with 1,000 MB at 1,342 MB, 11 % slower). The build starts with this budget and, if DuckDB still runs out, retries with
# twice as much up to the configured limit; it refuses to start below MIN_SHARE of it.
NEED_BASE_MB = 96
NEED_MB_PER_MILLION_ROWS = 96
NEED_MAX_MB = 1000
MIN_SHARE = 0.6
# The build's threads with [build] threads = 0: up to PARALLEL_THREADS on every statement, within
# the same budget. At 1 M records two threads took 16.3 s where one thread on the windows, the join
# back and the DISTINCTs took 22.3 s (370 MB; docs/benchmarks.md). A statement that runs out of
# memory on several threads runs again on one (``_create_tables``).
PARALLEL_THREADS = 2
# The budget the incremental refresh (serving_incremental) starts with: it reads the blocks of the new
# records' dates and probes whole tables with the few new values (semi-joins hashing the new values),
# so it needs little working memory whatever the store's size; more would only be DuckDB's cache of
# the blocks read. One county's month into 10 M records fits; a larger import doubles it (refresh).
INCREMENTAL_MB = 256
# Tables built one range of their ORDER BY's first column at a time (_create_by_range): name ->
# (column, the ranges). dim_scoped, a DISTINCT over every record (at 10 M records it ran out of
# 1,200 MB whole), by unit, about UNIT_RANGE_ROWS service records a range; household_facts, the
# records' columns joined to every household row, by date, DATE_RANGE_ROWS_PER_MB household rows a
# range per MB of the budget (at 10 M records, 18.5 M rows: whole, the join's build side and the
# sort of the wide rows spilled 12.6 GB; see docs/benchmarks.md).
BY_RANGE = {"dim_scoped": ("unit", _unit_ranges), "household_facts": ("date", _date_ranges)}
UNIT_RANGE_ROWS = 2_000_000
DATE_RANGE_ROWS_PER_MB = 2_500
# The tables copied from the record files as they are keep the files' order; every other table is
# sorted by its ORDER BY (kept with preserve_insertion_order off) or read in no particular order.
AS_FILED = ("communities", "compounds", "units", "branches", "evaluations", "wishes")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|[KMGT]i?B?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class BuildLimits:
    """The store's ``[build]`` settings: ``memory_limit_mb`` the most the build may use (from "50%"
    of the machine's memory or a size such as "2GB"), ``temp_directory`` where DuckDB spills (None:
    beside the copy being built, removed afterwards), ``threads`` (0: two threads, or the machine's
    cores if fewer; N: N; each thread needs a share of the budget, and a statement that runs out of
    memory on several runs again on one)."""

    memory_limit_mb: int
    temp_directory: Path | None = None
    threads: int = 0


class BuildMemoryError(RuntimeError):
    """The copy cannot be built within the memory allowed. ``kind``: "limit" (the configured limit is
    below what the records need), "machine" (the machine has not that much memory free) or "ran_out"
    (DuckDB ran out at the limit). ``message()`` says so in Chinese (``message("en")`` in English)."""

    def __init__(self, kind: str, need_mb: int, limit_mb: int, available_mb: int, detail: str = ""):
        super().__init__(kind, need_mb, limit_mb, available_mb, detail)
        self.kind, self.need_mb, self.limit_mb, self.available_mb = kind, need_mb, limit_mb, available_mb
        self.detail = detail

    def message(self, lang: str = "zh") -> str:
        from redservice.i18n import t

        return t(f"serving.memory.{self.kind}", lang, need=self.need_mb, limit=self.limit_mb,
                 available=self.available_mb)

    def __str__(self) -> str:
        return self.message()


def _meminfo(field: str) -> int | None:
    """A field of /proc/meminfo in MB (None where there is none)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_memory_mb() -> int:
    total = _meminfo("MemTotal")
    if total is None:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return total


def available_memory_mb() -> int:
    free = _meminfo("MemAvailable")
    return machine_memory_mb() if free is None else free


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM, MB). Unlike ``ru_maxrss`` it starts afresh at
    exec: a child started by a large parent reports its own peak, not the parent's."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def parse_size_mb(value, total_mb: int | None = None) -> int:
    """"50%" (of the machine's memory), "2GB", "512MB", "1.5GiB" or a number of MB → MB."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, unit = float(value), "MB"
    else:
        m = _SIZE.match(str(value))
        if not m:
            raise ValueError(f"[build] memory_limit: not a size or a share of memory: {value!r}")
        number, unit = float(m.group(1)), (m.group(2) or "MB").upper()
    if unit == "%":
        if not 0 < number <= 100:
            raise ValueError(f"[build] memory_limit: a share of memory is 1–100 %: {value!r}")
        return int((total_mb if total_mb is not None else machine_memory_mb()) * number / 100)
    scale = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}[unit[0]]
    return int(number * scale)


def build_limits_of(store_dir: str | Path | None = None) -> BuildLimits:
    """The ``[build]`` settings of a store (the defaults without a store)."""
    from redservice import config

    build = (config.settings(store_dir) if store_dir else config.defaults()).get("build", {})
    temp = str(build.get("temp_directory") or "").strip()
    return BuildLimits(parse_size_mb(build.get("memory_limit", "50%")), Path(temp).expanduser() if temp else None,
                       int(build.get("threads", 0) or 0))


def record_rows_of(file: Path) -> int:
    """Rows of a Parquet file (from its footer)."""
    return _footer(Path(file))[1]


def record_rows(directory: str | Path) -> int:
    """Rows of services and service_households in ``directory``."""
    return sum(record_rows_of(f) for t in ("services", "service_households") for f in storage.table_files(directory, t))


def need_mb(rows: int) -> int:
    """What building the copy of ``rows`` rows of services and service_households needs (MB)."""
    return int(min(NEED_MAX_MB, NEED_BASE_MB + NEED_MB_PER_MILLION_ROWS * rows / 1e6))


def plan_budget(rows: int, limits: BuildLimits, available_mb: int | None = None) -> int:
    """DuckDB's memory_limit (MB) to start the build with; raises BuildMemoryError, before anything
    is written, when the configured limit or the machine's free memory is too small."""
    need = need_mb(rows)
    available = available_memory_mb() if available_mb is None else available_mb
    floor = int(need * MIN_SHARE)
    if limits.memory_limit_mb < floor:
        raise BuildMemoryError("limit", need, limits.memory_limit_mb, available)
    # the machine: leave a fifth of what is free to the process and the others on the machine
    if available * 0.8 < floor:
        raise BuildMemoryError("machine", need, limits.memory_limit_mb, available)
    return max(floor, min(need, limits.memory_limit_mb, int(available * 0.8)))


# How the last ``refresh`` of this process built its copy: {"mode": "full" | "incremental", "reason": …}
# (the bench and the tests read it; the reason says why an import's copy was not refreshed in place).
last_refresh: dict = {}


def refresh(directory: str | Path, rules: dict | None = None, limits: BuildLimits | None = None,
            previous: str | Path | None = None, counties: set | None = None) -> Path:
    """Write ``serving.duckdb`` for the records of ``directory`` (atomically: a new file replaces the
    old); ``rules``: what it is built with (``build_rules``: the 红色积分 rules of the rollups, the
    counted 审核状态, the [quality] exclusion; default: the default settings');
    ``limits``: the memory it may use (default: the default [build] settings). Raises
    BuildMemoryError, leaving the old copy, when it cannot be built within them.

    ``previous``: the directory of the generation this one follows (an import). Its copy's ids are
    carried (a value keeps its id; ``_ids``), and when ``counties`` names the counties whose records
    alone changed, the copy is refreshed in place of a rebuild: the previous copy with those
    counties' new records added and their records' 审核状态 updates applied (``serving_incremental``),
    identical table by table to a rebuild that carries the same ids; it falls back to the rebuild
    whenever it cannot be sure of that. The refresh starts with a DuckDB budget of its own
    (``INCREMENTAL_MB``), doubled when DuckDB runs out, up to the rebuild's; beyond, the rebuild.

    ``counties`` without ``previous`` (``build --county``): the directory's own copy is refreshed in
    the same way for those counties' records, read from the copy itself, when they alone changed
    since it was built (``changed_counties``: their files replaced by another writer than the
    importer); else the rebuild, carrying the copy's ids. A copy already built from these records is
    left as it is (mode "unchanged")."""
    directory = Path(directory)
    limits = limits or build_limits_of()
    rules = rules or build_rules()
    rows = record_rows(directory)
    need, budget = need_mb(rows), plan_budget(rows, limits)
    in_place = previous is None and counties is not None
    carry = _carryable(directory if in_place else previous)
    last_refresh.clear()
    if in_place and is_fresh(directory) and carry is not None:
        from redservice import serving_incremental

        con = duckdb.connect(str(path(directory)), read_only=True)
        try:
            same = serving_incremental.settings_differ(con, rules) is None
        finally:
            con.close()
        if same:
            last_refresh.update(mode="unchanged", counties=sorted(counties, key=str))
            return path(directory)
    if carry is not None and counties is not None:
        from redservice import serving_incremental

        # the refresh reads a few blocks of each table and holds the new records' rows: it starts
        # with a budget of its own (DuckDB keeps the blocks it read cached up to its memory_limit:
        # with the rebuild's 1,200 MB at 10 M records the importing process peaked at 1,980 MB),
        # doubles it when DuckDB runs out, up to the rebuild's, and past that falls back to the rebuild
        small = min(budget, INCREMENTAL_MB)
        while True:
            try:
                reason = serving_incremental.refresh(directory, None if in_place else Path(previous), counties,
                                                     rules, limits, small)
            except duckdb.OutOfMemoryException as exc:
                if small < budget:
                    small = min(budget, small * 2)
                    continue
                reason = f"refresh in place ran out of memory at {small} MB ({str(exc).splitlines()[0][:200]})"
            except duckdb.Error as exc:  # the rebuild below has its own budget and retries
                reason = f"refresh in place failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
            break
        if reason is None:
            last_refresh.update(mode="incremental", counties=sorted(counties, key=str), budget_mb=small)
            return path(directory)
        last_refresh.update(reason=reason)
    elif counties is None and previous is not None:
        last_refresh.update(reason="every county's records written" if carry else "no previous copy")
    elif in_place:
        last_refresh.update(reason="no serving copy to refresh")
    while True:
        try:
            if carry is None:
                _build(directory, rules, limits, budget)
            else:
                _build(directory, rules, limits, budget, carry)
            last_refresh.update(mode="full")
            return path(directory)
        except duckdb.OutOfMemoryException as exc:
            if budget >= limits.memory_limit_mb:
                raise BuildMemoryError("ran_out", need, limits.memory_limit_mb, available_memory_mb(),
                                       str(exc).split("\n")[0]) from exc
            budget = min(limits.memory_limit_mb, budget * 2)


CARRIED = ("member_ids", "branch_ids", "community_ids", "activity_ids", "unit_ids", "household_ids", "unit_members",
           "community_households", "compound_households", "unit_households", "county_households")


def _carryable(previous: str | Path | None) -> Path | None:
    """The previous generation's copy when its ids can be carried (it has every id table)."""
    if previous is None or not path(previous).is_file():
        return None
    try:
        con = duckdb.connect(str(path(previous)), read_only=True)
    except duckdb.Error:
        return None
    try:
        have = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    return path(previous) if set(CARRIED) <= have else None


def _connect(file: str, limits: BuildLimits, budget_mb: int, spill: Path) -> duckdb.DuckDBPyConnection:
    # one thread unless [build] threads says otherwise (the incremental refresh: small statements
    # within a small budget); the full build sets each statement's (thread_plan)
    con = duckdb.connect(file, config={"memory_limit": f"{budget_mb}MB", "threads": limits.threads or 1,
                                       "temp_directory": str(spill)})
    con.execute("SET enable_progress_bar = false")
    return con


def _build(directory: Path, rules: dict, limits: BuildLimits, budget_mb: int, carry: Path | None = None) -> None:
    """One attempt at the copy within ``budget_mb`` of DuckDB memory (``carry``: the copy whose ids
    are kept)."""
    fd, tmp = tempfile.mkstemp(prefix=".serving.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.unlink(tmp)  # DuckDB creates the file itself
    if limits.temp_directory:
        Path(limits.temp_directory).mkdir(parents=True, exist_ok=True)
    spill = Path(limits.temp_directory or directory) / (Path(tmp).name + ".spill")
    try:
        con = _connect(tmp, limits, budget_mb, spill)
        try:
            if carry is not None:
                con.execute(f"ATTACH {sql_string(str(carry))} AS prev (READ_ONLY)")
            _create(con, directory, True, fingerprint(directory), rules, carry is not None, thread_plan(limits))
            write_sources(con, directory)
            if carry is not None:
                con.execute("DETACH prev")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        Path(tmp + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path(directory))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".wal").unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(spill, ignore_errors=True)


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


def parquet_builds(directory: str | Path) -> list[Path]:
    """The complete Spark builds (``redservice.serving_spark``) of a generation, newest first: a
    build is complete once its ``meta`` folder holds a Parquet file (written after every table)."""
    root = Path(directory) / PARQUET_DIR
    if not root.is_dir():
        return []
    return sorted((b for b in root.iterdir() if b.is_dir() and not b.name.startswith(".")
                   and any((b / "meta").glob("*.parquet"))), reverse=True)


def _parquet_glob(table: str) -> str:
    """The files of a table within a Spark build (a table kept per county: in its county folders)."""
    return f"{table}/*/*.parquet" if table in PARTITIONED_SERVING else f"{table}/*.parquet"


def _parquet(build: Path, table: str, options: str = "") -> str:
    """The files of a table of a Spark build, read: a table kept per county with its ``county`` from
    the folder names (always text, whatever the names look like; the NULL county's folder is
    storage.NULL_PARTITION)."""
    if table in PARTITIONED_SERVING:
        options += f", hive_partitioning = true, hive_types = {{'{storage.PARTITION_KEY}': 'VARCHAR'}}"
    return f"read_parquet({sql_string(str(build / _parquet_glob(table)))}{options})"


def compare_parquet_build(directory: str | Path) -> list[dict]:
    """The newest Spark build of a generation (``parquet_builds``) against its ``serving.duckdb``,
    table by table: {"table", "rows" (DuckDB's), "spark_rows", "types" (the same column names and
    types as DuckDB reads them), "differing" (rows in one and not the other, as multisets: EXCEPT
    ALL both ways, NULLs equal, floats bit for bit), "ordered" (a table with an ORDER BY holds its
    rows in that order in the Parquet files too; None for the others)}. The bench's check that the
    two engines built the same copy, and the Spark equality tests'."""
    directory = Path(directory)
    builds = parquet_builds(directory)
    if not builds or not path(directory).exists():
        raise FileNotFoundError(f"no Spark build and serving.duckdb to compare in {directory}")
    con = duckdb.connect(str(path(directory)), read_only=True)
    out = []
    try:
        for name, _select, order in statements(directory) + [("meta", "", "")]:
            if name in INTERMEDIATE:
                continue
            theirs_sql = _parquet(builds[0], name)
            ours = con.execute(f"DESCRIBE {name}").fetchall()
            theirs = con.execute(f"DESCRIBE SELECT * FROM {theirs_sql}").fetchall()
            cols = ", ".join(f'"{r[0]}"' for r in ours)
            a, b = f"SELECT {cols} FROM {name}", f"SELECT {cols} FROM {theirs_sql}"
            types = [r[:2] for r in theirs] == [r[:2] for r in ours]
            differing = con.execute(
                f"SELECT COUNT(*) FROM (({a} EXCEPT ALL {b}) UNION ALL ({b} EXCEPT ALL {a}))").fetchall()[0][0] \
                if types else None
            ordered = None
            if order and name in PARTITIONED_SERVING:
                # each county's rows in the order its files hold them (the folders' order is the file
                # system's) against that county's rows in the order of DuckDB's table
                key = storage.PARTITION_KEY
                ordered = con.sql(
                    f"SELECT {key}, {order} FROM {_parquet(builds[0], name, ', filename = true, file_row_number = true')} "
                    f"ORDER BY {key}, filename, file_row_number").to_arrow_table().equals(
                    con.sql(f"SELECT {key}, {order} FROM {name} ORDER BY {key}, rowid").to_arrow_table())
            elif order:  # the order keys, row by row, in the order the files hold them
                ordered = con.sql(f"SELECT {order} FROM {theirs_sql}").to_arrow_table().equals(
                    con.sql(f"SELECT {order} FROM {name}").to_arrow_table())
            out.append({"table": name, "rows": con.execute(f"SELECT COUNT(*) FROM {name}").fetchall()[0][0],
                        "spark_rows": con.execute(f"SELECT COUNT(*) FROM {theirs_sql}").fetchall()[0][0],
                        "types": types, "differing": differing, "ordered": ordered})
    finally:
        con.close()
    return out


def partition_stats(build: Path) -> dict[str, dict]:
    """Per table of ``PARTITIONED_SERVING`` in a Spark build (a local folder): its counties, files,
    rows (each county's fewest, median and most) and megabytes, from the files' footers (the bench's
    per-county costs)."""
    out = {}
    for table in PARTITIONED_SERVING:
        folders = [f for f in sorted((Path(build) / table).iterdir()) if f.is_dir()]
        files = {f: sorted(f.glob("*.parquet")) for f in folders}
        rows = sorted(sum(record_rows_of(x) for x in fs) for fs in files.values())
        size = sum(x.stat().st_size for fs in files.values() for x in fs)
        out[table] = {"counties": len(folders), "files": sum(len(fs) for fs in files.values()),
                      "rows": sum(rows), "rows_min": rows[0] if rows else 0,
                      "rows_median": rows[len(rows) // 2] if rows else 0, "rows_max": rows[-1] if rows else 0,
                      "mb": round(size / 2**20, 1)}
    return out


def identical(compared: list[dict]) -> bool:
    """Whether ``compare_parquet_build`` found the two copies the same in every table."""
    return all(c["types"] and c["differing"] == 0 and c["rows"] == c["spark_rows"] and c["ordered"] is not False
               for c in compared)


def _settings_match(con: duckdb.DuckDBPyConnection, prefix: str, rules: dict) -> bool:
    """The copy's 审核状态 that count, [quality] exclusion and record-level [quality] settings are the
    ones asked for (a changed setting builds in memory until the copy is built again)."""
    stored, exclusion = con.execute(f"SELECT counted, exclusion FROM {prefix}approval_settings").fetchone()
    checks = con.execute(f"SELECT key FROM {prefix}quality_settings").fetchone()[0]
    return (sorted(stored) == sorted(rules.get("counted", DEFAULT_COUNTED)) and exclusion == exclusion_key(rules)
            and checks == quality_key(rules))


def _attach_parquet(con: duckdb.DuckDBPyConnection, directory: Path, fp: str, rules: dict) -> bool:
    """Views over the newest Spark build of the records now present, when it holds every table this
    version reads and was built with the settings asked for; False (nothing created) otherwise."""
    names = [n for n, _, _ in statements(directory) if n not in INTERMEDIATE] + ["meta"]
    for build in parquet_builds(directory):
        try:
            if con.execute(f"SELECT fingerprint FROM {_parquet(build, 'meta')}").fetchone()[0] != fp:
                continue
            if not all(any(build.glob(_parquet_glob(n))) for n in names):
                continue
            for name in names:
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM {_parquet(build, name)}")
            if _settings_match(con, "", rules):
                return True
        except duckdb.Error:
            pass
        for name in names:
            con.execute(f"DROP VIEW IF EXISTS {name}")
    return False


def attach(con: duckdb.DuckDBPyConnection, directory: str | Path, source: str = "auto",
           rules: dict | None = None) -> tuple[str, dict]:
    """Make the serving tables visible to ``con`` under their plain names. ``source``: "auto" (the
    app: the fresh serving.duckdb attached read-only, else the fresh copy built by Spark as views
    over its Parquet files, else the copy built in memory because neither is there and fresh),
    "parquet" (the fresh Spark copy, else in memory), "memory" (always built in memory) or "raw"
    (views over the record files). Returns the mode used ("file", "parquet", "memory" or "raw") and
    the stats the store binds: the largest ids (``meta``) and the rules the rollups were built with
    (``rollup_<rule>``). ``rules``: what to build with here (``build_rules``: the 红色积分 rules, which
    a copy keeps as it was built, and the counted 审核状态, the [quality] exclusion and the
    record-level [quality] rules, which a copy must match)."""
    if source not in ("auto", "parquet", "memory", "raw"):
        raise ValueError(source)
    directory = Path(directory)
    rules = rules or build_rules()
    fp = fingerprint(directory)
    mode = "memory" if source in ("auto", "parquet") else source
    file = path(directory)
    if source == "auto" and file.is_file():
        try:
            con.execute(f"ATTACH {sql_string(str(file))} AS {ALIAS} (READ_ONLY)")
            row = con.execute(f"SELECT fingerprint FROM {ALIAS}.meta").fetchone()
            have = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = $db",
                                              {"db": ALIAS}).fetchall()}
            # the records it was built from, and every table this version reads (a file written by
            # another version of the same format is rebuilt, not half used), and the settings
            if (row and row[0] == fp and {n for n, _, _ in statements(directory) if n not in INTERMEDIATE} <= have
                    and _settings_match(con, f"{ALIAS}.", rules)):
                mode = "file"
            if mode != "file":
                con.execute(f"DETACH {ALIAS}")
        except duckdb.Error:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DETACH DATABASE IF EXISTS {ALIAS}")
    if mode == "file":
        for name in (n for n, _, _ in statements(directory) if n not in INTERMEDIATE):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM {ALIAS}.{name}")
        con.execute(f"CREATE VIEW meta AS SELECT * FROM {ALIAS}.meta")
    elif source in ("auto", "parquet") and _attach_parquet(con, directory, fp, rules):
        mode = "parquet"
    else:
        _create(con, directory, mode == "memory", fp, rules)
    row = con.execute(f"SELECT {', '.join(MAXIMA)} FROM meta").fetchone()
    rules = con.execute(f"SELECT {', '.join(RULES)} FROM rollup_settings").fetchone()
    return mode, {**dict(zip(MAXIMA, row)), **{f"rollup_{k}": v for k, v in zip(RULES, rules)}}
