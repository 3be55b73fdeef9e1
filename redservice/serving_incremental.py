"""Refreshing the serving copy in place of a rebuild, when an import added one county's records (or
``build --county`` finds that county's files alone changed since the copy was built: then the old
records are read from the copy itself, ``_records_of``, instead of the previous generation's files).

An import of one county's ledgers (``import --county``) writes that county's record files and
hard-links every other file of the generation (``storage``). The new copy is then the previous
copy with the new records added, not a rebuild of every county's: the previous ``serving.duckdb``
is copied and, in dependency order,

* the id tables get the new values, numbered after the largest (``serving._ids`` with ``carry``:
  a rebuild that carries the previous copy's ids numbers them the same way), and so do the local ids
  of the groups the new records join (a member in a unit, a household in a community, compound, unit);
* ``services`` and ``household_facts`` get the new records' rows, and the first-occurrence chains
  they join (``red_prev``: the members of the new records, in every county; ``unit_hh_prev``: the
  (unit, household) pairs of the new records) are recomputed over all the rows of those chains, the
  rows whose value changed updated;
* a record whose 审核状态 alone changed (an approval, a rejection: the one change a re-import may make
  to a record) gets its new status and ``counted`` in services and household_facts, in place, and
  everything that depends on ``counted`` is recomputed below for it as for a new record: its
  member's red_prev chain, its (unit, household) pairs' unit_hh_prev chains, the rollups and the
  quality flags of its day;
* the rollups are recomputed for what the new and the changed records touch: ``red_carry`` and
  ``member_months`` per member, ``branch_months`` per roster branch of those members, ``unit_months``
  per (unit, month), ``unit_household_months`` and ``unit_household_returns`` per unit, from the
  records' first month on;
* ``quality_flags`` for the dates of the new and changed records (every record-level rule judges a record by
  itself or by a day: the member-day, the unit-day, the household-day), ``dim_scoped`` and
  ``dim_values`` with the values the new records bring, ``meta`` (fingerprint, maxima) anew.

Everything else (the lists, members, wishes, evaluations and their ids) is unchanged by
construction. The result is the same, table by table, as a rebuild carrying the previous copy's ids
(``tests/test_partitions.py`` compares them). ``refresh`` returns why it could not do this (and the
caller rebuilds) whenever that is not certain: no fresh previous copy; anything but the records of
the named counties changed; other settings; a record changed otherwise than in its 审核状态 (an empty
column filled) or removed, or households added to a record already there.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from redservice import serving, storage
from redservice.schema import TABLES, parquet_name
from redservice.serving import RULES, sql_string


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _unchanged(directory: Path, previous: Path, counties: set) -> str | None:
    """Why the generations differ in more than the named counties' records (None: they do not)."""
    for table in TABLES:
        if table in storage.PARTITIONED:
            before, after = storage.partition_files(previous, table), storage.partition_files(directory, table)
            if not before or not after:
                return f"{table}: not kept per county"
            for county in set(before) | set(after):
                if county in counties:
                    continue
                if county not in before or county not in after or not _same_file(before[county], after[county]):
                    return f"{table}: records of {county} changed"
            continue
        a, b = previous / parquet_name(table), directory / parquet_name(table)
        if not a.is_file() and b.is_file() and serving.record_rows_of(b) == 0:
            continue  # a table the previous generation lacked, written empty
        if a.is_file() != b.is_file() or (a.is_file() and not _same_file(a, b)):
            return f"{table} changed"
    return None


def _files(directory: Path, table: str, counties: set) -> list[Path]:
    parts = storage.partition_files(directory, table)
    return [f for c, f in parts.items() if c in counties]


def _typed(files: list[Path], table: str) -> str:
    """The rows of ``files`` with the schema's types (as serving._typed)."""
    columns = TABLES[table]
    if not files:
        return "SELECT " + ", ".join(f"CAST(NULL AS {ty}) AS {c}" for c, ty in columns.items()) + " WHERE 1 = 0"
    have = set().union(*(serving._footer(f)[0] for f in files))
    cols = ", ".join(f"CAST({c if c in have else 'NULL'} AS {ty}) AS {c}" for c, ty in columns.items())
    listed = ", ".join(sql_string(str(f)) for f in files)
    return f"SELECT {cols} FROM read_parquet([{listed}], union_by_name = true)"


def refresh(directory: Path, previous: Path | None, counties: set, rules: dict, limits: serving.BuildLimits,
            budget_mb: int) -> str | None:
    """Write ``directory``'s copy from ``previous``'s and the new records of ``counties``; None when
    done, else the reason it was not (nothing written). ``previous`` None: from ``directory``'s own
    copy, whose records of ``counties`` are read from the copy itself (``build --county``)."""
    if rules.get("quality") is not None:
        return "[quality] count_flagged = false: the excluded records are judged over every record"
    if previous is None:
        changed, why = serving.changed_counties(directory)
        if why:
            return why
        others = changed - set(counties)
        if others:
            return "records of other counties changed too: " + "、".join(sorted(map(str, others)))
        old_file = serving.path(directory)
    else:
        why = _unchanged(directory, previous, counties)
        if why:
            return why
        old_file = serving.path(previous)
        if serving.stored_fingerprint(previous) != serving.fingerprint(previous):
            return "the previous copy is not fresh"
    if not counties and previous is not None:  # the same records (an import that only archived its files): the same copy
        con = duckdb.connect(str(old_file), read_only=True)
        try:
            reason = settings_differ(con, rules)
        finally:
            con.close()
        if reason is None:  # a copy is never changed once written (a new file replaces it): shared
            tmp = Path(directory) / f".serving.{os.getpid()}.link"
            tmp.unlink(missing_ok=True)
            try:
                os.link(old_file, tmp)
            except OSError:
                shutil.copyfile(old_file, tmp)
            os.replace(tmp, serving.path(directory))
        return reason
    fd, tmp = tempfile.mkstemp(prefix=".serving.", suffix=".tmp", dir=directory)
    os.close(fd)
    if limits.temp_directory:  # as the rebuild does: DuckDB creates the spill folder, not its parent
        Path(limits.temp_directory).mkdir(parents=True, exist_ok=True)
    spill = Path(limits.temp_directory or directory) / (Path(tmp).name + ".spill")
    try:
        shutil.copyfile(old_file, tmp)
        con = serving._connect(tmp, limits, budget_mb, spill)
        try:
            reason = settings_differ(con, rules) or _apply(con, directory, previous, counties)
            if reason is None:
                serving.write_sources(con, directory)
                con.execute("CHECKPOINT")
        finally:
            con.close()
        if reason is not None:
            return reason
        Path(tmp + ".wal").unlink(missing_ok=True)
        os.replace(tmp, serving.path(directory))
        return None
    finally:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".wal").unlink(missing_ok=True)
        shutil.rmtree(spill, ignore_errors=True)


def settings_differ(con: duckdb.DuckDBPyConnection, rules: dict) -> str | None:
    stored = con.execute(f"SELECT {', '.join(RULES)} FROM rollup_settings").fetchone()
    counted, exclusion = con.execute("SELECT counted, exclusion FROM approval_settings").fetchone()
    return stored_settings_differ(list(stored), counted, exclusion,
                                  con.execute("SELECT key FROM quality_settings").fetchone()[0], rules)


def stored_settings_differ(rollup: list, counted: list, exclusion: str, quality: str, rules: dict) -> str | None:
    """Which of the settings a copy was built with (its rollup_settings row, approval_settings' counted
    and exclusion, quality_settings' key) differ from ``rules``; None when none does."""
    if list(rollup) != [rules[k] for k in RULES]:
        return "other 红色积分 rules"
    if sorted(counted) != sorted(rules.get("counted", serving.DEFAULT_COUNTED)) or exclusion != serving.exclusion_key(rules):
        return "other [approval] settings"
    if quality != serving.quality_key(rules):
        return "other [quality] settings"
    return None


def _new_ids(con, table: str, column: str, name: str, values: str) -> None:
    """Number the values of ``values`` (a SELECT of ``column``) the id table does not have after its largest.
    The id table is probed with the new values (``IN``: a semi-join whose hash table holds the few
    new values), never hashed itself: ``NOT IN (SELECT … FROM household_ids)`` built a hash table
    of every household in the city (800 MB at 10 M records)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE iv AS SELECT DISTINCT {column} FROM ({values}) v WHERE {column} IS NOT NULL")
    con.execute(f"CREATE OR REPLACE TEMP TABLE ik AS SELECT {column} FROM {table} WHERE {column} IN (SELECT {column} FROM iv)")
    con.execute(f"INSERT INTO {table} SELECT {column}, CAST((SELECT COALESCE(MAX({name}), 0) FROM {table}) + "
                f"ROW_NUMBER() OVER (ORDER BY {column}) AS INTEGER) FROM iv WHERE {column} NOT IN (SELECT {column} FROM ik)")
    con.execute("DROP TABLE iv")
    con.execute("DROP TABLE ik")


def _new_local_ids(con, table: str, groups: tuple[str, ...], column: str, name: str, source: str,
                   keep: str | None = None) -> None:
    """Number the (group, value) pairs of ``source`` that ``table`` does not have after their group's
    largest id (serving._local_ids with ``carry``). Only the rows of the values and groups concerned are read.
    ``keep``: a temporary table left with every row of ``table`` for the values of ``source`` (the
    old and the new), so that the rows joined to them later need not scan ``table`` again."""
    on = " AND ".join(f"p.{g} IS NOT DISTINCT FROM v.{g}" for g in groups) + f" AND p.{column} = v.{column}"
    top_on = " AND ".join(f"t.{g} IS NOT DISTINCT FROM f.{g}" for g in groups)
    keys = ", ".join(groups)
    fkeys = ", ".join("f." + g for g in groups)
    con.execute(f"CREATE OR REPLACE TEMP TABLE lv AS SELECT DISTINCT {keys}, {column} FROM ({source}) v "
                f"WHERE {column} IS NOT NULL")
    con.execute(f"CREATE OR REPLACE TEMP TABLE lp AS SELECT {keys}, {column}, {name} FROM {table} "
                f"WHERE {column} IN (SELECT {column} FROM lv)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE lf AS SELECT v.* FROM lv v WHERE NOT EXISTS (SELECT 1 FROM lp p WHERE {on})")
    group_in = " AND ".join(f"p.{g} IS NOT DISTINCT FROM v.{g}" for g in groups)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE ln AS "
        f"WITH top AS (SELECT {keys}, MAX({name}) AS m FROM {table} p WHERE EXISTS (SELECT 1 FROM "
        f"(SELECT DISTINCT {keys} FROM lf) v WHERE {group_in}) GROUP BY {keys}) "
        f"SELECT {fkeys}, f.{column}, CAST(COALESCE(t.m, 0) + ROW_NUMBER() OVER (PARTITION BY {fkeys} "
        f"ORDER BY f.{column}) AS INTEGER) AS {name} FROM lf f LEFT JOIN top t ON {top_on}")
    con.execute(f"INSERT INTO {table} ({keys}, {column}, {name}) SELECT {keys}, {column}, {name} FROM ln")
    if keep:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {keep} AS SELECT * FROM lp UNION ALL SELECT * FROM ln")
    for temp in ("lv", "lp", "lf", "ln"):
        con.execute(f"DROP TABLE {temp}")


def _restricted(select: str, table: str, where: str) -> str:
    """A statement of serving.statements reading ``table`` only where ``where`` holds."""
    out, n = re.subn(rf"\bFROM {table}\b", f"FROM (SELECT * FROM {table} WHERE {where}) {table}_r", select)
    assert n, (table, select[:80])
    return out


def _append_sorted(con: duckdb.DuckDBPyConnection, table: str, rows: str, order: str, lo) -> None:
    """Add ``rows`` (a SELECT) to ``table`` keeping it in its ORDER BY (``order``, starting with date),
    as the rebuild writes it, so that a period filter still skips blocks by their zone maps. Rows
    dated after the table's last date (a new month) are appended sorted. Rows dated on or before it
    (``lo``: their earliest date) would land after later rows: the table's rows from ``lo`` on are
    written again after them, one calendar month at a time (each month's sort fits the budget where
    a sort of every month at once did not: 32 MB for the demo city's), sorted together with the new
    ones, and their old copies deleted — a cost that grows with how far back the new records go,
    not with the table."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE appended AS {rows}")
    last = con.execute(f"SELECT MAX(date) FROM {table}").fetchone()[0]
    if lo is None or last is None or lo > last:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM appended ORDER BY {order}")
    else:
        # one transaction: the old rows are told from their new copies by row id, and a checkpoint
        # (automatic at a commit once the log is large) may renumber the rows of a table with deleted
        # rows; inside the transaction none runs, and the rows it appends are numbered after every other
        con.execute("BEGIN TRANSACTION")
        top = con.execute(f"SELECT MAX(rowid) FROM {table}").fetchone()[0]
        since = f"DATE '{lo.isoformat()}'"
        months = [m for (m,) in con.execute(
            f"SELECT CAST(DATE_TRUNC('month', date) AS DATE) AS m FROM {table} WHERE date >= {since} "
            "UNION SELECT CAST(DATE_TRUNC('month', date) AS DATE) FROM appended ORDER BY m").fetchall()]
        for m in months:
            # constant bounds: the scan reads only the month's blocks (zone maps)
            within = (f"date >= DATE '{max(m, lo).isoformat()}' "
                      f"AND date < DATE '{(m.replace(day=28) + dt.timedelta(days=4)).replace(day=1).isoformat()}'")
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM (SELECT * FROM {table} WHERE {within} AND "
                        f"rowid <= {int(top)} UNION ALL BY NAME SELECT * FROM appended WHERE {within}) t ORDER BY {order}")
        con.execute(f"DELETE FROM {table} WHERE rowid <= {int(top)} AND date >= {since}")
        con.execute("COMMIT")
    con.execute("DROP TABLE appended")


def _write_meta(con: duckdb.DuckDBPyConnection, directory: Path) -> None:
    """meta: the fingerprint of the records now present, the largest ids."""
    maxima = ", ".join(f"CAST(COALESCE((SELECT MAX({col}) FROM {table}), 1) AS INTEGER) AS {stat}"
                       for stat, (table, col) in serving.MAXIMA.items())
    con.execute("DELETE FROM meta")
    con.execute(f"INSERT INTO meta SELECT CAST($fp AS VARCHAR) AS fingerprint, {maxima}",
                {"fp": serving.fingerprint(directory)})


def _records_of(con: duckdb.DuckDBPyConnection, counties: set) -> tuple[str, str]:
    """The records of ``counties`` and their household rows as the copy holds them (``services``
    keeps every column of a record; ``household_facts`` its households by id), in the record
    tables' columns and types: what their files held when the copy was built. A record counts in the
    county its files are kept in (storage), and the lists are unchanged (``changed_counties``)."""
    con.execute("CREATE TEMP TABLE r_counties AS SELECT UNNEST(CAST($c AS VARCHAR[])) AS county",
                {"c": sorted(c for c in counties if c is not None)})
    within = "(county IN (SELECT county FROM r_counties)" + (" OR county IS NULL)" if None in counties else ")")
    con.execute(f"CREATE TEMP TABLE o_services AS SELECT {', '.join(TABLES['services'])} FROM services WHERE {within}")
    con.execute("CREATE TEMP TABLE o_households AS SELECT s.record_id, i.household FROM household_facts h "
                f"JOIN (SELECT rkey, record_id FROM services WHERE {within}) s ON s.rkey = h.rkey "
                "JOIN household_ids i ON i.hid = h.household")
    return "SELECT * FROM o_services", "SELECT * FROM o_households"


def _apply(con: duckdb.DuckDBPyConnection, directory: Path, previous: Path | None, counties: set) -> str | None:
    listed = serving.statements(directory, carry=False)
    stmts = {name: select for name, select, _ in listed}
    orders = {name: order for name, _, order in listed}
    new_s = _typed(_files(directory, "services", counties), "services")
    new_h = _typed(_files(directory, "service_households", counties), "service_households")
    if previous is None:
        old_s, old_h = _records_of(con, counties)
    else:
        old_s = _typed(_files(previous, "services", counties), "services")
        old_h = _typed(_files(previous, "service_households", counties), "service_households")
    # the records added, and the records whose 审核状态 changed (the one change a re-import may make
    # to a record, data contract): every other record there before is there still, unchanged (else rebuild)
    con.execute(f"CREATE TEMP TABLE n_services AS SELECT * FROM ({new_s}) s WHERE record_id NOT IN "
                f"(SELECT record_id FROM ({old_s}) o)")
    if con.execute(f"SELECT COUNT(*) FROM ((SELECT * EXCLUDE (review_status) FROM ({old_s})) EXCEPT ALL "
                   f"(SELECT * EXCLUDE (review_status) FROM ({new_s})))").fetchone()[0]:
        return "records changed (other than their 审核状态) or removed"
    con.execute(f"CREATE TEMP TABLE n_status AS SELECT n.record_id, n.review_status, n.date FROM ({new_s}) n "
                f"JOIN ({old_s}) o ON o.record_id = n.record_id WHERE n.review_status IS DISTINCT FROM o.review_status")
    # a record is in one county's files: one already in the copy (of another county) is not new
    if con.execute("SELECT COUNT(*) FROM services WHERE record_id IN (SELECT record_id FROM n_services)").fetchone()[0]:
        return "records already in the copy under another county"
    con.execute(f"CREATE TEMP TABLE n_households AS ({new_h}) EXCEPT ALL ({old_h})")
    if con.execute(f"SELECT COUNT(*) FROM (({old_h}) EXCEPT ALL ({new_h}))").fetchone()[0]:
        return "households removed"
    if con.execute("SELECT COUNT(*) FROM n_households WHERE record_id NOT IN (SELECT record_id FROM n_services)"
                   ).fetchone()[0]:
        return "households added to a record already there"
    if not con.execute("SELECT (SELECT COUNT(*) FROM n_services) + (SELECT COUNT(*) FROM n_status)").fetchone()[0]:
        if previous is not None:
            return "no record added or changed"
        # files written again with the same records: the copy is theirs, under their fingerprint
        _write_meta(con, directory)
        return None
    # the dates of the new and the changed records, as literals: the tables are sorted by date, and a
    # scan filtered by a constant range skips the blocks outside it by their zone maps (a month after
    # the last reads the last blocks only), where a filter by a subquery reads every block
    lo_new = con.execute("SELECT MIN(date) FROM n_services").fetchone()[0]
    lo, hi = con.execute("SELECT MIN(date), MAX(date) FROM (SELECT date FROM n_services UNION ALL "
                         "SELECT date FROM n_status)").fetchone()
    span = "TRUE" if lo is None else f"date BETWEEN DATE '{lo.isoformat()}' AND DATE '{hi.isoformat()}'"
    since = "TRUE" if lo is None else f"date >= DATE '{lo.replace(day=1).isoformat()}'"
    # 审核状态 updates: the records' status and ``counted`` (service_base's definition) in services and
    # household_facts, in place; what depends on ``counted`` — the chains red_prev and unit_hh_prev
    # (partitioned by it), the rollups (counted records only), the quality flags (checked statuses)
    # — is recomputed below for their members, units, months, (unit, household) pairs and days, as
    # for the new records'. Nothing else reads the status: the ids, local ids and filter values are
    # the same whatever it is.
    con.execute(f"UPDATE services SET review_status = c.review_status, counted = (c.review_status IS NULL OR "
                "list_contains((SELECT counted FROM approval_settings), c.review_status)) AND c.record_id NOT IN "
                f"(SELECT record_id FROM excluded_records) FROM n_status c WHERE services.record_id = c.record_id "
                f"AND {span.replace('date BETWEEN', 'services.date BETWEEN')}")
    con.execute(f"CREATE TEMP TABLE c_rows AS SELECT record_id, rkey, mid, uid, date, counted FROM services "
                f"WHERE {span} AND record_id IN (SELECT record_id FROM n_status)")
    con.execute(f"UPDATE household_facts SET counted = c.counted FROM c_rows c WHERE household_facts.rkey = c.rkey "
                f"AND {span.replace('date BETWEEN', 'household_facts.date BETWEEN')}")
    con.execute(f"CREATE TEMP TABLE c_hh AS SELECT uid, household, date FROM household_facts WHERE {span} "
                "AND rkey IN (SELECT rkey FROM c_rows)")
    # ids: the values the new records bring, numbered after the largest
    for table, column, name in (("member_ids", "member_id", "mid"), ("branch_ids", "branch", "bid"),
                                ("community_ids", "community", "cid"), ("activity_ids", "activity_id", "aid"),
                                ("unit_ids", "unit", "uid")):
        _new_ids(con, table, column, name, f"SELECT {column} FROM n_services")
    _new_ids(con, "household_ids", "household", "hid", "SELECT household FROM n_households")
    # service_base of the new records, their members' local ids in their units
    con.execute("CREATE TEMP TABLE n_base AS " + stmts["service_base"].replace(
        re.search(r"FROM \(SELECT .*?\) s LEFT JOIN member_ids", stmts["service_base"]).group(0),
        "FROM n_services s LEFT JOIN member_ids"))
    _new_local_ids(con, "unit_members", ("unit",), "mid", "unit_mid", "SELECT unit, mid FROM n_base")
    # red_prev over every record of the new and changed records' members (the chain is the member's, in any county)
    con.execute("CREATE TEMP TABLE m_new AS SELECT DISTINCT mid FROM (SELECT mid FROM n_base UNION ALL "
                "SELECT mid FROM c_rows) m WHERE mid IS NOT NULL")
    con.execute("CREATE TEMP TABLE rp AS " + serving.RECORD_WINDOWS.replace("SELECT rkey, ", "SELECT record_id, rkey, ")
                + " FROM ("
                "SELECT record_id, rkey, counted, mid, form, aid, date FROM services WHERE mid IN (SELECT mid FROM m_new) "
                "UNION ALL SELECT record_id, rkey, counted, mid, form, aid, date FROM n_base "
                "WHERE mid IN (SELECT mid FROM m_new)) c")
    con.execute("UPDATE services SET red_prev = rp.red_prev, day_first = rp.day_first, year_aid_first = rp.year_aid_first "
                "FROM rp WHERE services.record_id = rp.record_id AND (services.red_prev IS DISTINCT FROM rp.red_prev "
                "OR services.day_first IS DISTINCT FROM rp.day_first "
                "OR services.year_aid_first IS DISTINCT FROM rp.year_aid_first)")
    services = stmts["services"]
    window = f"LEFT JOIN ({serving.RECORD_WINDOWS} FROM service_base) l"
    assert window in services
    services = services.replace(window, "LEFT JOIN rp l").replace("FROM service_base s", "FROM n_base s")
    _append_sorted(con, "services", services, orders["services"], lo_new)
    # households of the new records: ids within their community, compound and unit, then unit_hh_prev
    # over every row of their (unit, household) pairs
    # the new records' rows of services (their dates: a few blocks) and the ids of their households,
    # not a join of every record and every household id
    new_rows = f"(SELECT * FROM services WHERE {span} AND record_id IN (SELECT record_id FROM n_services))"
    pairs = re.sub(r"FROM \(SELECT .*?\) h JOIN household_ids i ON", "FROM n_households h JOIN (SELECT * FROM "
                   "household_ids WHERE household IN (SELECT household FROM n_households)) i ON", stmts["household_pairs"])
    assert "n_households h" in pairs and "(SELECT record_id, rkey FROM services) r" in pairs
    pairs = pairs.replace("(SELECT record_id, rkey FROM services) r", f"{new_rows} r")
    con.execute("CREATE TEMP TABLE n_pairs AS " + pairs)
    base = serving.household_base_sql(wide=True).replace("FROM household_pairs p JOIN services s",
                                                          f"FROM n_pairs p JOIN {new_rows} s")
    con.execute("CREATE TEMP TABLE n_hb AS " + base)
    con.execute("DROP TABLE n_pairs")
    _new_local_ids(con, "community_households", ("cid",), "household", "community_hh", "SELECT cid, household FROM n_hb",
                   keep="k_community")
    _new_local_ids(con, "compound_households", ("community", "compound"), "household", "compound_hh",
                   "SELECT community, compound, household FROM n_hb", keep="k_compound")
    _new_local_ids(con, "unit_households", ("unit",), "household", "unit_hh", "SELECT unit, household FROM n_hb",
                   keep="k_unit")
    _new_local_ids(con, "county_households", ("county",), "household", "county_hh",
                   "SELECT county, household FROM n_hb", keep="k_county")
    con.execute("CREATE TEMP TABLE pairs AS SELECT uid, household FROM n_hb UNION SELECT uid, household FROM c_hh")
    con.execute("CREATE TEMP TABLE hp AS SELECT rkey, household, LAG(date) OVER (PARTITION BY counted, uid, household "
                "ORDER BY date, rkey) AS unit_hh_prev FROM ("
                "SELECT h.rkey, h.household, h.counted, h.uid, h.date FROM household_facts h "
                "JOIN pairs p ON p.uid IS NOT DISTINCT FROM h.uid AND p.household = h.household "
                "UNION ALL SELECT rkey, household, counted, uid, date FROM n_hb) c")
    con.execute("UPDATE household_facts SET unit_hh_prev = hp.unit_hh_prev FROM hp WHERE household_facts.rkey = hp.rkey "
                "AND household_facts.household = hp.household AND household_facts.unit_hh_prev IS DISTINCT FROM hp.unit_hh_prev")
    _append_sorted(
        con, "household_facts",
        "SELECT h.*, c.community_hh, p.compound_hh, u.unit_hh, y.county_hh, k.unit_hh_prev "
        "FROM n_hb h JOIN hp k ON k.rkey = h.rkey AND k.household = h.household "
        "LEFT JOIN k_community c "
        "ON c.cid IS NOT DISTINCT FROM h.cid AND c.household = h.household "
        "LEFT JOIN k_compound p "
        "ON p.community IS NOT DISTINCT FROM h.community "
        "AND p.compound IS NOT DISTINCT FROM h.compound AND p.household = h.household "
        "LEFT JOIN k_unit u "
        "ON u.unit IS NOT DISTINCT FROM h.unit AND u.household = h.household "
        "LEFT JOIN k_county y ON y.county IS NOT DISTINCT FROM h.county AND y.household = h.household",
        orders["household_facts"], lo_new)
    # what only the households' steps read, dropped before the rollups (it would hold the budget or spill)
    for temp in ("k_community", "k_compound", "k_unit", "k_county", "pairs", "hp", "n_households"):
        con.execute(f"DROP TABLE {temp}")
    # the rollups of what the new and the changed records touch
    mids = "mid IN (SELECT mid FROM m_new)"
    con.execute(f"DELETE FROM red_carry WHERE {mids}")
    con.execute("INSERT INTO red_carry BY NAME " + _restricted(stmts["red_carry"], "services", mids))
    con.execute(f"DELETE FROM member_months WHERE {mids}")
    con.execute("INSERT INTO member_months BY NAME " + _restricted(stmts["member_months"].replace(
        "LEFT JOIN members r", "LEFT JOIN members r"), "services", mids))
    # branch_months: per roster branch (members.uid, bid) of the new records' members, all its members
    con.execute("CREATE TEMP TABLE b_new AS SELECT DISTINCT uid, bid FROM members WHERE mid IN (SELECT mid FROM m_new)")
    con.execute("CREATE TEMP TABLE bm AS SELECT m.mid FROM members m JOIN b_new b ON b.uid IS NOT DISTINCT FROM m.uid "
                "AND b.bid IS NOT DISTINCT FROM m.bid")
    con.execute("DELETE FROM branch_months WHERE EXISTS (SELECT 1 FROM b_new b WHERE b.uid IS NOT DISTINCT FROM "
                "branch_months.uid AND b.bid IS NOT DISTINCT FROM branch_months.bid)")
    branch = stmts["branch_months"]
    branch = branch.replace("FROM member_months m", "FROM (SELECT * FROM member_months WHERE mid IN (SELECT mid FROM bm)) m")
    branch = branch.replace("FROM wishes WHERE claim_mid IS NOT NULL",
                            "FROM wishes WHERE claim_mid IN (SELECT mid FROM bm) AND claim_mid IS NOT NULL")
    con.execute("INSERT INTO branch_months BY NAME " + branch)
    # unit_months per (unit, month) of the new records
    con.execute("CREATE TEMP TABLE um AS SELECT uid, CAST(DATE_TRUNC('month', date) AS DATE) AS month FROM n_base "
                "JOIN unit_ids USING (unit) UNION SELECT uid, CAST(DATE_TRUNC('month', date) AS DATE) FROM c_rows")
    months = (f"services.{since} AND EXISTS (SELECT 1 FROM um WHERE um.uid IS NOT DISTINCT FROM services.uid "
              "AND um.month = CAST(DATE_TRUNC('month', services.date) AS DATE))")
    con.execute("DELETE FROM unit_months WHERE EXISTS (SELECT 1 FROM um WHERE um.uid IS NOT DISTINCT FROM unit_months.uid "
                "AND um.month = unit_months.month)")
    con.execute("INSERT INTO unit_months BY NAME " + _restricted(
        stmts["unit_months"], "services", months.replace("services.", "services_x.")).replace(
        "FROM (SELECT * FROM services WHERE", "FROM (SELECT * FROM services services_x WHERE"))
    # the household rollups per unit of the new and changed households, from the records' first month on:
    # a row's month is its date's, and the rows whose unit_hh_prev moved follow a new row in its chain
    con.execute("CREATE TEMP TABLE uh AS SELECT uid FROM n_hb UNION SELECT uid FROM c_hh")
    units = f"uid IN (SELECT uid FROM uh) AND {since}"
    for table in ("unit_household_months", "unit_household_returns"):
        con.execute(f"DELETE FROM {table} WHERE {units.replace('date', 'month')}")
        con.execute(f"INSERT INTO {table} BY NAME " + _restricted(stmts[table], "household_facts", units))
    # quality_flags for the dates of the new and the changed records
    con.execute("CREATE TEMP TABLE qd AS SELECT date FROM n_base UNION SELECT date FROM c_rows")
    con.execute(f"DELETE FROM quality_flags WHERE rkey IN (SELECT rkey FROM services WHERE {span} "
                "AND date IN (SELECT date FROM qd))")
    flags = re.sub(r"\bhousehold_facts\b", "q_household_facts", re.sub(r"\bservices\b", "q_services", stmts["quality_flags"]))
    con.execute(f"CREATE TEMP VIEW q_services AS SELECT * FROM services WHERE {span} AND date IN (SELECT date FROM qd)")
    con.execute(f"CREATE TEMP VIEW q_household_facts AS SELECT * FROM household_facts WHERE {span} "
                "AND date IN (SELECT date FROM qd)")
    con.execute("INSERT INTO quality_flags BY NAME " + flags)
    # the filter bar's values the new records bring
    # (the statement's parts over the records, over the new ones; compared with the rows of their units)
    scoped = " UNION ".join(part for part in stmts["dim_scoped"].split(" UNION ") if re.search(r"\bFROM services\b", part))
    con.execute(f"CREATE TEMP VIEW n_services_full AS SELECT * FROM services WHERE {span} "
                "AND record_id IN (SELECT record_id FROM n_base)")
    scoped = re.sub(r"\bFROM services\b", "FROM n_services_full", scoped)
    con.execute(f"CREATE TEMP TABLE ds AS SELECT * FROM (({scoped}) EXCEPT (SELECT * FROM dim_scoped WHERE unit IN "
                "(SELECT unit FROM n_base))) x(dimension, value, parent, unit, community, county)")
    con.execute("INSERT INTO dim_scoped SELECT * FROM ds ORDER BY unit, community")
    # only the rows just added can bring a value dim_values lacks
    con.execute("INSERT INTO dim_values SELECT * FROM ((SELECT DISTINCT dimension, value, parent FROM ds) "
                "EXCEPT (SELECT * FROM dim_values)) x ORDER BY dimension, value")
    _write_meta(con, directory)
    for t in ("n_services", "n_households", "n_base", "m_new", "rp", "n_hb", "pairs", "hp", "b_new", "bm", "um", "uh", "qd",
              "ds", "n_status", "c_rows", "c_hh", "r_counties", "o_services", "o_households"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    for v in ("q_services", "q_household_facts", "n_services_full"):
        con.execute(f"DROP VIEW IF EXISTS {v}")
    return None
