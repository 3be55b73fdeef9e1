"""Records kept per county (issue 22): Hive folders inside a generation, ``import --county``, the
other counties' files hard-linked, generations written before partitions still read, and the
incremental serving refresh equal to a full rebuild — on the demo city (13 counties, 75 k records)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time

import duckdb
import pytest

from redservice import demo, ingest, metrics, serving, storage
from redservice.config import DEMO_DIR
from redservice.filters import Filters
from redservice.ingest import load
from redservice.privacy import KEY_ENV, household_hash
from redservice.store import Store

TODAY = dt.date(2025, 6, 30)
HEADER = "记录编号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）,服务户号\n"


def run(directory, files, **kw):
    kw.setdefault("today", TODAY)
    sources = [ingest.Source(name, data.encode("utf-8")) for name, data in files]
    return ingest.run(directory, sources, **kw)


def members_of(directory, county, n=3):
    """(name, unit, community) of ``n`` members reported in ``county``'s communities."""
    con = duckdb.connect()
    tables = storage.table_dir(directory)
    rows = con.execute(
        f"SELECT m.name, m.unit, m.community FROM read_parquet('{tables / 'members.parquet'}') m "
        f"JOIN read_parquet('{tables / 'communities.parquet'}') c ON c.community = m.community "
        "WHERE c.county = $c AND m.community IS NOT NULL ORDER BY m.member_id LIMIT $n", {"c": county, "n": n}).fetchall()
    con.close()
    return rows


def ledger(directory, county, prefix, month="2025-04", n=3):
    lines = [HEADER]
    for i, (name, unit, community) in enumerate(members_of(directory, county, n)):
        lines.append(f"{prefix}{i:04d},{month}-{i % 28 + 1:02d},{name},{unit},{community},送政策,2,"
                     f"{prefix}户{i}、{prefix}户{i + 1}\n")
    return "".join(lines)


def figures(directory) -> tuple:
    store = Store(directory)
    try:
        return store.con.execute("SELECT COUNT(*), SUM(hours) FROM services").fetchone()
    finally:
        store.close()


def inodes(directory, table="services") -> dict:
    return {c: f.stat().st_ino for c, f in storage.partition_files(storage.table_dir(directory), table).items()}


@pytest.fixture(scope="module", autouse=True)
def demo_key():
    """The demo's household key, so that a ledger's 服务户号 can name households the city already has."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, demo.DEMO_HOUSEHOLD_KEY.decode())
        yield


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The demo city after one import: its records now in county folders (the first import of a
    store written by code writes every county's)."""
    out = demo.write_city(tmp_path_factory.mktemp("city") / "city")
    batch, generation = run(out, [("平陆县4月.csv", ledger(out, "平陆县", "PL"))], county="平陆县")
    assert generation and batch.rejected == 0, [r.errors for r in batch.reports]
    return out


def test_records_are_kept_per_county_in_hive_folders(city):
    tables = storage.table_dir(city)
    assert not (tables / "services.parquet").exists()
    folders = sorted(p.name for p in (tables / "services").iterdir())
    assert "county=平陆县" in folders and len(folders) == 13
    # DuckDB reads the layout as Hive partitions, the county from the folder name
    con = duckdb.connect()
    by_county = dict(con.execute(f"SELECT county, COUNT(*) FROM read_parquet('{tables}/services/*/*.parquet', "
                                 "hive_partitioning = true) GROUP BY county").fetchall())
    assert len(by_county) == 13 and sum(by_county.values()) == 75_540 + 3
    # each record in the folder of the county it counts in
    store = Store(city)
    try:
        counted = dict(store.con.execute("SELECT county, COUNT(*) FROM services GROUP BY county").fetchall())
    finally:
        store.close()
    assert counted == by_county


def test_rows_of_another_county_are_rejected_naming_file_row_and_column(city):
    store = city  # checked only (dry run)
    (name, unit, community), = members_of(store, "平陆县", 1)
    text = ledger(store, "夏县", "XY", n=2) + f"XY9999,2025-04-20,{name},{unit},{community},送政策,2,\n"
    batch, _ = run(store, [("夏县.csv", text)], county="夏县", dry_run=True)
    report = batch.reports[0]
    assert (report.loaded, report.rejected) == (2, 1)
    error = report.errors[0]
    assert (error.row, error.column, error.kind) == (4, "服务社区", "row_in_other_county")
    assert "夏县.csv" in error.reason(report.file) and "平陆县" in error.reason(report.file)
    # a record number another county's record already has: rejected too, though only 夏县's records were read
    text = HEADER + f"PL0000,2025-04-21,{members_of(store, '夏县', 1)[0][0]},{members_of(store, '夏县', 1)[0][1]}," \
                    f"{members_of(store, '夏县', 1)[0][2]},送政策,2,\n"
    batch, _ = run(store, [("夏县2.csv", text)], county="夏县", dry_run=True)
    assert [e.kind for e in batch.reports[0].errors] == ["record_in_other_county"]
    assert "平陆县" in batch.reports[0].errors[0].reason("夏县2.csv")


def test_lists_without_a_county_take_the_import_county(tmp_path):
    """A single-county store (a copy of the bundled demo, no 所属县 anywhere) keeps working, and its
    lists imported with --county get the county; a list row naming another county is rejected."""
    store = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, store)
    text = "社区名称,总户数\n北城社区,1200\n"
    batch, generation = run(store, [("社区名录.csv", text)], county="平陆县")
    assert generation and batch.reports[0].updated == 1
    communities = storage.read_table(store, "communities").to_pandas().set_index("community")
    assert communities.loc["北城社区", "county"] == "平陆县"
    batch, _ = run(store, [("社区名录.csv", "社区名称,总户数,所属县（市、区）\n南城社区,900,夏县\n")], county="平陆县",
                   dry_run=True)
    error = batch.reports[0].errors[0]
    assert (error.row, error.column, error.kind) == (2, "所属县（市、区）", "other_county")
    # a list that moves a community to another county moves its records to that county's folder
    batch, generation = run(store, [("社区名录.csv", "社区名称,总户数,所属县（市、区）\n北城社区,1200,夏县\n")])
    assert generation and batch.reports[0].updated == 1
    tables = storage.table_dir(store)
    con = duckdb.connect()
    stored = dict(con.execute(f"SELECT county, COUNT(*) FROM read_parquet('{tables}/services/*/*.parquet', "
                              "hive_partitioning = true) GROUP BY county").fetchall())
    con.close()
    shown = Store(store)
    try:
        assert dict(shown.con.execute("SELECT county, COUNT(*) FROM services GROUP BY county").fetchall()) == stored
    finally:
        shown.close()
    assert set(stored) == {"平陆县", "夏县"}


def test_generations_written_before_partitions_are_read_and_migrated(tmp_path):
    """A generation with one services.parquet (written before partitions) is read as it is; the next
    import writes every county's folder (and the figures do not change)."""
    store = tmp_path / "old"
    shutil.copytree(DEMO_DIR, store)
    generation = store / storage.TABLES_DIR / "000001"
    generation.mkdir(parents=True)
    for f in DEMO_DIR.glob("*.parquet"):
        shutil.copy2(f, generation / f.name)
        (store / f.name).unlink()
    (store / storage.GENERATION_FILE).write_text('{"generation": "000001"}', encoding="utf-8")
    assert storage.table_files(generation, "services") == [generation / "services.parquet"]
    before = figures(store)
    text = HEADER + "N0001,2025-04-02,李明强,县卫生健康局,河阳社区,送政策,2,\n"
    batch, gen = run(store, [("台账.csv", text)])
    assert gen == "000002" and batch.reports[0].loaded == 1
    tables = storage.table_dir(store)
    assert not (tables / "services.parquet").exists()
    assert list(storage.partition_files(tables, "services")) == ["平陆县"]  # the demo's one county
    after = figures(store)
    assert after == (before[0] + 1, before[1] + 2)


# -- the serving copy refreshed in place -------------------------------------------------------------
def hard_ledger(directory) -> str:
    """夏县's ledger made to move what a refresh must get right: records dated among the old ones (a
    member's chain of 红色服务日 and a unit's chain of a household go on after them), households the
    city's 市直 unit already served, a member reported in 盐湖区 serving in 夏县 (two counties), a
    红色服务日 activity over two months, a duplicate and an over-long day (quality flags), a new month,
    a member of a 盐湖区 unit serving in 夏县."""
    con = duckdb.connect()
    tables = storage.table_dir(directory)
    served = {h for (h,) in con.execute(
        f"SELECT DISTINCT h.household FROM read_parquet('{tables}/service_households/*/*.parquet') h "
        f"JOIN read_parquet('{tables}/services/*/*.parquet') s USING (record_id) WHERE s.unit = '市委组织部'").fetchall()}
    # a day 市直党员0100 served already (日常服务 without 活动编号): a record added that day, numbered
    # before it, starts that day's chain, and the old record's red_prev moves from NULL to the day
    day, = con.execute(f"SELECT MIN(date) FROM read_parquet('{tables}/services/*/*.parquet') "
                       "WHERE name = '市直党员0100' AND form = '日常服务' AND activity_id IS NULL").fetchone()
    con.close()
    key = demo.DEMO_HOUSEHOLD_KEY
    known = [f"夏县北城社区:{n}号" for n in range(1, 401) if household_hash(f"夏县北城社区:{n}号", key) in served][:3]
    assert len(known) == 3
    (name, unit, community), = members_of(directory, "夏县", 1)
    (other, other_unit, _), = members_of(directory, "盐湖区", 1)  # of a unit of 盐湖区: found when needed
    head = HEADER.rstrip("\n") + ",活动形式,活动编号\n"
    rows = [
        ("H001", "2024-06-15", "市直党员0100", "市委组织部", "夏县北城社区", "送政策", 2, "、".join(known[:2]), "日常服务", ""),
        ("H002", "2024-06-15", "市直党员0100", "市委组织部", "夏县北城社区", "送政策", 2, known[0], "日常服务", ""),
        ("H003", "2024-06-15", "市直党员0100", "市委组织部", "夏县北城社区", "送文化", 9, "", "日常服务", ""),
        ("H004", "2025-02-10", "市直党员0000", "市委组织部", "夏县北城社区", "送文化", 1.5, known[2], "红色服务日", "XHD-01"),
        ("H005", "2025-03-03", "市直党员0000", "市委组织部", "夏县北城社区", "送文化", 1.5, known[2], "红色服务日", "XHD-01"),
        ("H006", "2024-02-02", name, unit, community, "送政策", 3, "夏县新户1、夏县新户2", "日常服务", ""),
        ("H007", "2025-04-02", name, unit, community, "送政策", 1, "夏县新户2", "红色服务日", "XHD-02"),
        ("H008", day.isoformat(), "市直党员0100", "市委组织部", "夏县北城社区", "送祝福", 1, "", "日常服务", ""),
        ("H009", "2025-03-20", other, other_unit, "夏县北城社区", "义诊", 2, "夏县新户3", "日常服务", ""),
    ]
    return head + "".join(",".join(map(str, r)) + "\n" for r in rows)


def tables_differing(a, b) -> dict:
    """{table: (rows only in a, rows only in b)} of two serving copies (every table compared as a
    multiset of rows); {} when they are the same."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    names = [{t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = $d",
                                         {"d": d}).fetchall()} for d in ("a", "b")]
    assert names[0] == names[1]
    out = {}
    for t in sorted(names[0]):
        # rows, and the sum of the rows' hashes: the same multiset of rows gives the same sums
        sums = [con.execute(f"SELECT COUNT(*), SUM(CAST(hash(r) AS HUGEINT)) FROM {x}.{t} r").fetchone()
                for x in ("a", "b")]
        if sums[0] != sums[1]:
            out[t] = sums
    con.close()
    return out


def out_of_order(file) -> dict:
    """{table: (position, row)} of the first row of services and household_facts that comes before
    the one preceding it in the table's ORDER BY (the rebuild's), read in stored order; {} when both
    are in that order. NULLs sort last, as DuckDB's ORDER BY puts them."""
    orders = {n: o for n, _s, o in serving.statements(file.parent) if n in ("services", "household_facts")}
    con = duckdb.connect(str(file), read_only=True, config={"threads": 1})
    out = {}
    try:
        for table, order in orders.items():
            keys = [(tuple((v is None, v) for v in row)) for row in con.execute(f"SELECT {order} FROM {table}").fetchall()]
            bad = next((i for i in range(1, len(keys)) if keys[i] < keys[i - 1]), None)
            if bad is not None:
                out[table] = (bad, keys[bad - 1], keys[bad])
    finally:
        con.close()
    return out


def test_a_refreshed_copy_keeps_its_tables_in_date_order(city):
    """A month after the last (the city fixture's import): the new rows appended, in order."""
    assert out_of_order(serving.path(storage.table_dir(city))) == {}


class Crash(BaseException):
    pass


def test_the_incremental_refresh_equals_a_rebuild(city, tmp_path, monkeypatch):
    store = tmp_path / "store"
    shutil.copytree(city, store)
    before = storage.table_dir(store)
    files = inodes(store), inodes(store, "service_households")
    text = hard_ledger(store)
    # a crash once the copy is refreshed in the staging directory, before the commit: nothing changed

    def crash(stage):
        if stage == "serving":
            raise Crash(stage)

    pointer = storage.read_pointer(store)
    with monkeypatch.context() as m:
        m.setattr(load, "_checkpoint", crash)
        with pytest.raises(Crash):
            run(store, [("夏县台账.csv", text)], county="夏县")
    assert storage.read_pointer(store) == pointer and (inodes(store), inodes(store, "service_households")) == files
    assert not (store / load.STAGING_DIR).exists() and serving.is_fresh(before)
    batch, generation = run(store, [("夏县台账.csv", text)], county="夏县")
    assert generation and batch.reports[0].loaded == 9, [e.reason("") for e in batch.reports[0].errors]
    assert serving.last_refresh["mode"] == "incremental", serving.last_refresh
    tables = storage.table_dir(store)
    # 夏县's files alone were written; every other county's is a hard link of the previous generation's
    for old, new in zip(files, (inodes(store), inodes(store, "service_households"))):
        assert set(new) == set(old) and [c for c in new if new[c] != old[c]] == ["夏县"]
    assert storage.partition_files(tables, "services")["夏县"].name == f"part-{generation}.parquet"
    # the rebuild of the same records, carrying the previous copy's ids
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(tables, rebuilt, copy_function=os.link, ignore=shutil.ignore_patterns(serving.FILE))
    serving.refresh(rebuilt, serving.build_rules(store), previous=before)
    assert serving.last_refresh["mode"] == "full"
    assert serving.stored_fingerprint(rebuilt) == serving.stored_fingerprint(tables)
    assert tables_differing(serving.path(tables), serving.path(rebuilt)) == {}
    # records dated among the old ones (2024) did not land after the later rows: the tables are in
    # the rebuild's ORDER BY, as the rebuilt copy is
    assert out_of_order(serving.path(tables)) == {} and out_of_order(serving.path(rebuilt)) == {}
    # the chains and flags it had to move did move
    con = duckdb.connect(str(serving.path(tables)), read_only=True)
    flags = dict(con.execute("SELECT s.record_id, list(f.rule ORDER BY f.rule) FROM quality_flags f "
                             "JOIN services s USING (rkey) WHERE s.record_id LIKE 'H00%' GROUP BY 1").fetchall())
    red = dict(con.execute("SELECT record_id, red_prev FROM services WHERE record_id IN ('H004', 'H005')").fetchall())
    moved = con.execute("SELECT COUNT(*) FROM services WHERE name = '市直党员0100' AND red_prev IS NOT NULL "
                        "AND record_id LIKE 'SZ-%'").fetchone()[0]
    con.close()
    assert moved == 1
    assert flags["H002"] == ["day_hours", "duplicate"] and flags["H003"] == ["day_hours"]
    assert red == {"H004": None, "H005": dt.date(2025, 2, 10)}
    # and the figures are those of a copy built from nothing (other ids, the same numbers): the city,
    # 夏县, and 盐湖区 where 市直党员0000 is reported (a member counted in each county served, once in the city)
    file, memory = Store(store), Store(store, "memory")
    try:
        for period in (("2024-06-01", "2025-04-30"),):
            for counties in (None, ["夏县"], ["盐湖区"]):
                f = Filters.make(*map(dt.date.fromisoformat, period), counties=counties)
                assert metrics.kpis(file, f) == metrics.kpis(memory, f), (period, counties)
    finally:
        file.close()
        memory.close()


def with_status(text: str, statuses: dict[str, str], default: str = "已通过") -> str:
    """A ledger with a 审核状态 column: ``statuses`` by 记录编号, ``default`` for the others."""
    head, *rows = text.splitlines()
    return "\n".join([head + ",审核状态", *(r + "," + statuses.get(r.split(",", 1)[0], default) for r in rows)]) + "\n"


def rebuild_differs(store, before, tmp_path, name: str) -> dict:
    """tables_differing between the store's copy and a rebuild of its records carrying ``before``'s ids."""
    tables = storage.table_dir(store)
    rebuilt = tmp_path / name
    shutil.copytree(tables, rebuilt, copy_function=os.link, ignore=shutil.ignore_patterns(serving.FILE))
    serving.refresh(rebuilt, serving.build_rules(store), previous=before)
    assert serving.last_refresh["mode"] == "full"
    return tables_differing(serving.path(tables), serving.path(rebuilt))


def test_a_status_update_is_refreshed_in_place(city, tmp_path):
    """Approving and rejecting records (a re-import with another 审核状态) refreshes the copy in place:
    their ``counted`` moves them between the chains (a 红色服务日 activity over two months, a day of
    a member's records among old ones, households a unit served before), the rollups of their
    members, units and months, and the flags of their days — equal, table by table, to a rebuild;
    the figures those of a copy built from nothing."""
    store = tmp_path / "store"
    shutil.copytree(city, store)
    text = hard_ledger(store)
    waiting = {r: "待审核" for r in ("H001", "H004", "H006", "H008", "H009")}
    batch, generation = run(store, [("夏县台账.csv", with_status(text, waiting))], county="夏县")
    assert generation and batch.reports[0].loaded == 9
    assert serving.last_refresh["mode"] == "incremental", serving.last_refresh
    steps = [("approved", {}, 5),  # every record 已通过: the five waiting ones approved
             ("rejected", {"H002": "已退回", "H005": "已退回", "H007": "已退回", "H009": "待审核"}, 4)]
    for name, statuses, updated in steps:
        before = storage.table_dir(store)
        files = inodes(store)
        batch, generation = run(store, [(f"夏县台账{name}.csv", with_status(text, statuses))], county="夏县")
        assert generation and (batch.reports[0].loaded, batch.reports[0].updated) == (updated, updated), name
        assert serving.last_refresh["mode"] == "incremental", (name, serving.last_refresh)
        assert [c for c, i in inodes(store).items() if files[c] != i] == ["夏县"]
        assert rebuild_differs(store, before, tmp_path, name) == {}, name
        assert out_of_order(serving.path(storage.table_dir(store))) == {}
        file, memory = Store(store), Store(store, "memory")
        try:
            for counties in (None, ["夏县"], ["盐湖区"]):
                f = Filters.make(dt.date(2024, 1, 1), dt.date(2025, 4, 30), counties=counties)
                assert metrics.kpis(file, f) == metrics.kpis(memory, f), (name, counties)
        finally:
            file.close()
            memory.close()
    con = duckdb.connect(str(serving.path(storage.table_dir(store))), read_only=True)
    try:  # H005 rejected: its activity's chain among counted records is H004 alone
        assert dict(con.execute("SELECT record_id, counted FROM services WHERE record_id IN ('H004', 'H005')"
                                ).fetchall()) == {"H004": True, "H005": False}
    finally:
        con.close()


def test_a_record_changed_otherwise_rebuilds(city, tmp_path, monkeypatch):
    """A re-import that fills a column a record had empty (服务人次 here) changes more than its 审核状态:
    the copy is rebuilt, not refreshed in place (the rebuild itself is skipped here: the decision
    is what is tested), and the county's files alone are still written."""
    store = tmp_path / "store"
    shutil.copytree(city, store)
    files = inodes(store)
    monkeypatch.setattr(serving, "_build", lambda *args: None)
    text = ledger(store, "平陆县", "PL").replace("\n", ",2\n").replace("服务户号,2", "服务户号,服务人次")
    batch, generation = run(store, [("平陆县4月更正.csv", text)], county="平陆县")
    assert generation and batch.reports[0].updated == 3
    assert serving.last_refresh == {"reason": "records changed (other than their 审核状态) or removed", "mode": "full"}
    assert [c for c, i in inodes(store).items() if files[c] != i] == ["平陆县"]


def test_the_refresh_under_a_small_memory_limit_equals_a_rebuild(city, tmp_path, monkeypatch):
    """The refresh runs within a budget of its own (serving.INCREMENTAL_MB), far below the rebuild's:
    under a DuckDB memory_limit of 32 MB, where it spills (its sorts and temporary tables go to the
    temporary directory; 8 and 16 MB run out), the copy is still the rebuild's, in the rebuild's
    order, and the spill files are gone afterwards."""
    store = tmp_path / "store"
    shutil.copytree(city, store)
    before = storage.table_dir(store)
    monkeypatch.setattr(serving, "INCREMENTAL_MB", 32)
    spill = tmp_path / "spill"
    monkeypatch.setattr(serving, "build_limits_of", lambda *a: serving.BuildLimits(4096, spill, 1))
    seen, done = set(), threading.Event()

    def watch():  # DuckDB removes a spill file when the step that wrote it ends: look while it runs
        while not done.is_set():
            seen.update(f.name for f in spill.rglob("*.tmp")) if spill.exists() else None
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        batch, generation = run(store, [("夏县台账.csv", hard_ledger(store))], county="夏县")
    finally:
        done.set()
        watcher.join()
    assert generation and batch.reports[0].loaded == 9
    assert serving.last_refresh["mode"] == "incremental" and serving.last_refresh["budget_mb"] == 32, serving.last_refresh
    assert seen, "nothing spilled"
    assert not any(f.is_file() for f in spill.rglob("*"))
    tables = storage.table_dir(store)
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(tables, rebuilt, copy_function=os.link, ignore=shutil.ignore_patterns(serving.FILE))
    serving.refresh(rebuilt, serving.build_rules(store), previous=before)
    assert tables_differing(serving.path(tables), serving.path(rebuilt)) == {}
    assert out_of_order(serving.path(tables)) == {}


def test_a_refresh_that_runs_out_of_memory_doubles_its_budget_then_rebuilds(city, tmp_path, monkeypatch):
    """DuckDB out of memory in the refresh: tried again with twice the budget up to the rebuild's,
    then the copy is rebuilt (within the rebuild's budget), never left half written."""
    from redservice import serving_incremental

    store = tmp_path / "store"
    shutil.copytree(city, store)
    budgets = []

    def short(con, *args):
        budgets.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        raise duckdb.OutOfMemoryException("Out of Memory Error: test")

    monkeypatch.setattr(serving_incremental, "_apply", short)
    monkeypatch.setattr(serving, "INCREMENTAL_MB", 64)
    batch, generation = run(store, [("平陆县5月.csv", ledger(store, "平陆县", "PM", month="2025-05"))], county="平陆县")
    assert generation and batch.reports[0].loaded == 3
    assert serving.last_refresh["mode"] == "full" and "ran out of memory" in serving.last_refresh["reason"]
    assert len(budgets) >= 2 and budgets[0] != budgets[-1]  # 64 MB, 128 MB, … up to the rebuild's
    assert serving.is_fresh(storage.table_dir(store))


def _write_county_files(source, store, county) -> None:
    """``county``'s record files of ``source`` written into ``store``'s current generation in place of
    its own, as another writer than the importer would (a county's system syncing its ledger): the
    store's copy is then stale for that county alone."""
    tables = storage.table_dir(store)
    for table in storage.PARTITIONED:
        folder = tables / table / storage.partition_folder(county)
        for old in folder.glob("*.parquet"):
            old.unlink()
        shutil.copyfile(storage.partition_files(storage.table_dir(source), table)[county], folder / "part-999999.parquet")


def test_build_county_refreshes_the_copy_for_that_countys_records(city, tmp_path, capsys):
    """``build --county 夏县`` after 夏县's files were replaced (records dated among the old ones,
    chains to move, households served before, a member of another county): the copy refreshed in
    place, table by table the copy the importer's refresh makes of the same records (the same ids:
    both carry the previous copy's), and equal to a rebuild carrying them."""
    from redservice import cli

    source = tmp_path / "source"
    shutil.copytree(city, source)
    batch, generation = run(source, [("夏县台账.csv", hard_ledger(source))], county="夏县")
    assert generation and batch.reports[0].loaded == 9 and serving.last_refresh["mode"] == "incremental"
    store = tmp_path / "store"
    shutil.copytree(city, store)
    tables = storage.table_dir(store)
    before = tmp_path / "before"  # the copy before, for the rebuild that carries its ids
    before.mkdir()
    shutil.copyfile(serving.path(tables), serving.path(before))
    _write_county_files(source, store, "夏县")
    assert serving.changed_counties(tables) == ({"夏县"}, None) and not serving.is_fresh(tables)

    assert cli.main(["build", "--data", str(store), "--county", "夏县", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["mode"], result["counties"], result["reason"]) == ("incremental", ["夏县"], None), result
    assert serving.is_fresh(tables) and serving.changed_counties(tables) == (set(), None)
    assert tables_differing(serving.path(tables), serving.path(storage.table_dir(source))) == {}
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(tables, rebuilt, copy_function=os.link, ignore=shutil.ignore_patterns(serving.FILE))
    serving.refresh(rebuilt, serving.build_rules(store), previous=before)
    assert serving.last_refresh["mode"] == "full"
    assert tables_differing(serving.path(tables), serving.path(rebuilt)) == {}
    assert out_of_order(serving.path(tables)) == {}
    # again: nothing to do
    assert cli.main(["build", "--data", str(store), "--county", "夏县"]) == 0
    assert "查询副本已是夏县现有记录的，无需更新" in capsys.readouterr().out


def test_build_county_rebuilds_when_it_cannot_refresh_in_place(city, tmp_path, capsys):
    """A record removed from 夏县's files, or another county's files changed too: the whole copy is
    rebuilt, saying why, and its figures are those of a copy built from nothing. Unknown counties and
    a store whose records are not kept per county are refused in Chinese, the copy unchanged."""
    from redservice import cli

    store = tmp_path / "store"
    shutil.copytree(city, store)
    tables = storage.table_dir(store)
    con = duckdb.connect()
    for table in storage.PARTITIONED:
        file = storage.partition_files(tables, table)["夏县"]
        con.execute(f"COPY (SELECT * FROM read_parquet('{file}') WHERE record_id <> (SELECT MIN(record_id) FROM "
                    f"read_parquet('{storage.partition_files(tables, 'services')['夏县']}'))) TO '{file}.new' (FORMAT parquet)")
    con.close()
    for table in storage.PARTITIONED:
        file = storage.partition_files(tables, table)["夏县"]
        os.replace(f"{file}.new", file)
    assert cli.main(["build", "--data", str(store), "--county", "夏县", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mode"] == "full" and "removed" in result["reason"], result
    file, memory = Store(store), Store(store, "memory")
    try:
        assert file.mode == "file"
        for counties in (None, ["夏县"]):
            f = Filters.make(dt.date(2024, 1, 1), dt.date(2025, 6, 30), counties=counties)
            assert metrics.kpis(file, f) == metrics.kpis(memory, f), counties
    finally:
        file.close()
        memory.close()
    # 夏县 and 盐湖区 changed, only 夏县 named
    source = tmp_path / "source"
    shutil.copytree(store, source)
    run(source, [("夏县台账.csv", ledger(source, "夏县", "XX"))], county="夏县")
    run(source, [("盐湖区台账.csv", ledger(source, "盐湖区", "YH"))], county="盐湖区")
    _write_county_files(source, store, "夏县")
    _write_county_files(source, store, "盐湖区")
    assert cli.main(["build", "--data", str(store), "--county", "夏县", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mode"] == "full" and result["reason"] == "records of other counties changed too: 盐湖区", result
    assert tables_differing(serving.path(tables), serving.path(storage.table_dir(source))) != {}  # other ids
    assert figures(store) == figures(source)
    stamp = serving.path(tables).stat().st_mtime_ns
    assert cli.main(["build", "--data", str(store), "--county", "无此县"]) == 2
    assert "未知区县：无此县" in capsys.readouterr().err
    demo_copy = shutil.copytree(DEMO_DIR, tmp_path / "demo")
    assert cli.main(["build", "--data", str(demo_copy), "--county", "平陆县"]) == 2
    assert "未按区县分存" in capsys.readouterr().err
    assert serving.path(tables).stat().st_mtime_ns == stamp


def test_build_on_a_full_disk_says_so_and_leaves_the_copy(city, tmp_path, monkeypatch, capsys):
    """``build`` and ``build --county`` that cannot write (the disk full while the new copy is written:
    DuckDB's IO error, or copying the old copy): a Chinese message, exit code 3, the copy as it was
    and no temporary file left."""
    import errno

    from redservice import cli, serving_incremental

    store = tmp_path / "store"
    shutil.copytree(city, store)
    tables = storage.table_dir(store)
    before = serving.path(tables).read_bytes()

    def full(*_a, **_k):
        raise duckdb.IOException('Could not write file "serving.tmp": No space left on device')

    with monkeypatch.context() as m:
        m.setattr(serving, "write_sources", full)
        assert cli.main(["build", "--data", str(store)]) == 3
    assert "查询副本未生成：磁盘空间不足" in capsys.readouterr().err
    source = tmp_path / "source"
    shutil.copytree(store, source)
    run(source, [("夏县台账.csv", ledger(source, "夏县", "XX"))], county="夏县")
    _write_county_files(source, store, "夏县")

    def no_space(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(serving_incremental.shutil, "copyfile", no_space)
        assert cli.main(["build", "--data", str(store), "--county", "夏县"]) == 3
    err = capsys.readouterr().err
    assert "查询副本未生成：磁盘空间不足" in err and "原有的查询副本不变" in err
    assert serving.path(tables).read_bytes() == before
    assert not [p.name for p in tables.iterdir() if p.name.startswith(".serving.")]


def test_a_table_written_empty_is_no_change_for_build_county(city, tmp_path):
    """A list the copy was built without, written empty since (as the importer writes a table a store
    lacked): no change for ``changed_counties`` — an empty table builds what a missing one does — so
    ``build --county`` still refreshes in place; a list with rows is a change."""
    store = tmp_path / "store"
    shutil.copytree(city, store)
    tables = storage.table_dir(store)
    evaluations = tables / "evaluations.parquet"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE e AS SELECT * FROM read_parquet('{evaluations}')")
    evaluations.unlink()
    serving.refresh(tables, serving.build_rules(store))
    assert serving.changed_counties(tables) == (set(), None)
    con.execute(f"COPY (SELECT * FROM e LIMIT 0) TO '{evaluations}' (FORMAT parquet)")
    assert serving.changed_counties(tables) == (set(), None)
    con.execute(f"COPY (SELECT * FROM e LIMIT 1) TO '{evaluations}' (FORMAT parquet)")
    con.close()
    assert serving.changed_counties(tables) == (None, "evaluations changed")
