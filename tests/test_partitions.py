"""Records kept per county (issue 22): Hive folders inside a generation, ``import --county``, the
other counties' files hard-linked, generations written before partitions still read, and the
incremental serving refresh equal to a full rebuild — on the demo city (13 counties, 75 k records)."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest

from redservice import demo, ingest, serving, storage
from redservice.config import DEMO_DIR
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


def test_a_county_import_writes_its_folder_only(city, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(city, store)
    before = inodes(store), inodes(store, "service_households")
    batch, generation = run(store, [("夏县4月.csv", ledger(store, "夏县", "XX"))], county="夏县")
    assert generation and batch.reports[0].loaded == 3
    after = inodes(store), inodes(store, "service_households")
    for old, new in zip(before, after):
        assert set(new) == set(old)
        assert [c for c in new if new[c] != old[c]] == ["夏县"]  # every other county's file is a hard link
    assert storage.partition_files(storage.table_dir(store), "services")["夏县"].name == f"part-{generation}.parquet"
    assert serving.is_fresh(storage.table_dir(store))


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
