"""The serving copy built on Spark (issue 23) is the copy DuckDB builds: every table identical row for
row and type for type, on the demo county (a local directory, one file per table) and on the demo
city (its records in Hive folders per county inside a generation, read through a file:// URL as
Spark reads hdfs:// or s3a://); and every query every page makes gives identical frames from the
dashboard attached to either copy.

One local SparkSession for the module (starting one takes seconds), few shuffle partitions and no
whole-stage code generation: the stores are small. Skipped where pyspark or Java is missing (requirements-spark.txt), except in CI."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import duckdb
import pandas as pd
import pytest
from conftest import page_call_sets

from redservice import demo, serving, storage
from redservice.config import DEMO_DIR
from redservice.filters import Filters
from redservice.schema import parquet_name
from redservice.store import Store

if os.environ.get("CI"):  # CI installs both (.ci/run): never skipped there
    import pyspark  # noqa: F401
    assert shutil.which("java") or os.environ.get("JAVA_HOME"), "Java is required in CI (openjdk-17-jre-headless)"
pytest.importorskip("pyspark")
if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java (openjdk-17-jre-headless)", allow_module_level=True)

serving_spark = pytest.importorskip("redservice.serving_spark")


@pytest.fixture(scope="module")
def spark():
    # whole-stage code generation compiles every query: on stores this small that compiling took more
    # than half of a build (the demo: 116 s with it, 51 s without, the first build of a session)
    session = serving_spark.session("local[2]", conf={
        "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2",
        "spark.sql.codegen.wholeStage": "false"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _partitioned(directory):
    """The store with its records moved into Hive folders per county inside generation 000001, as the
    importer keeps them (the county: the community's, else the unit's, as storage says)."""
    generation = directory / storage.TABLES_DIR / "000001"
    generation.mkdir(parents=True)
    for file in directory.glob("*.parquet"):
        os.replace(file, generation / file.name)
    con = duckdb.connect()
    q = lambda p: serving.sql_string(str(p))  # paths the test chose
    county = (f"COALESCE((SELECT MIN(county) FROM read_parquet({q(generation / 'communities.parquet')}) c "
              "WHERE c.community = s.community), (SELECT MIN(county) FROM read_parquet("
              f"{q(generation / 'units.parquet')}) u WHERE u.unit = s.unit))")
    con.execute(f"CREATE TABLE s AS SELECT *, {county} AS county FROM read_parquet({q(generation / 'services.parquet')}) s")
    for table, select in (("services", "SELECT * FROM s ORDER BY county, date"),
                          ("service_households", ("SELECT h.*, s.county FROM read_parquet("
                           f"{q(generation / 'service_households.parquet')}) h JOIN s USING (record_id)"))):
        staging = directory / f".{table}"
        con.execute(f"COPY ({select}) TO {q(staging)} (FORMAT parquet, PARTITION_BY (county))")
        (generation / parquet_name(table)).unlink()
        for folder in staging.iterdir():
            target = generation / table / storage.partition_folder(storage.county_of_folder(folder.name))
            target.mkdir(parents=True)
            (file,) = folder.glob("*.parquet")
            os.replace(file, target / "part-000001.parquet")
        shutil.rmtree(staging)
    con.close()
    (directory / storage.GENERATION_FILE).write_text('{"generation": "000001"}', encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def demo_store(spark, tmp_path_factory):
    directory = shutil.copytree(DEMO_DIR, tmp_path_factory.mktemp("demo") / "demo")
    serving.refresh(directory)
    return directory, serving_spark.build(spark, directory)


@pytest.fixture(scope="module")
def city_store(spark, tmp_path_factory):
    directory = _partitioned(demo.write_city(tmp_path_factory.mktemp("city") / "city"))
    tables = storage.table_dir(directory)
    assert storage.partition_files(tables, "services") and len(storage.table_files(tables, "services")) > 1
    serving.refresh(tables, serving.build_rules(directory))
    return directory, serving_spark.build(spark, directory.as_uri())


def _same_tables(directory):
    """Every serving table of the Spark build against serving.duckdb (serving.compare_parquet_build):
    the same column names and types as DuckDB reads them, the same rows (as multisets: EXCEPT ALL
    both ways, NULLs equal, floats bit for bit), and a table with an ORDER BY stored in that order."""
    compared = serving.compare_parquet_build(storage.table_dir(directory))
    for c in compared:
        assert c["types"] and c["differing"] == 0 and c["rows"] == c["spark_rows"], c
        assert c["ordered"] is not False, c
    assert serving.identical(compared)
    return {c["table"]: c["rows"] for c in compared}


def _same_pages(directory, unit):
    """Every query of every page (as bench.record records them), and the variants of another unit
    and period: identical frames, dtypes included, from the dashboard on either copy."""
    file, spark_copy = Store(directory, "auto"), Store(directory, "parquet")
    try:
        assert (file.mode, spark_copy.mode) == ("file", "parquet")
        assert file.stats == spark_copy.stats
        compared = 0
        # as the page makes them, then with one other unit and one other period
        for page, _n, calls in page_call_sets(directory, unit, 1):
            for c in calls:
                a = file.query(c.name, c.filters, c.scope, **dict(c.extra))
                b = spark_copy.query(c.name, c.filters, c.scope, **dict(c.extra))
                pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{page} {c.name}")
                compared += 1
        return compared
    finally:
        file.close()
        spark_copy.close()


def test_tables_identical_on_the_demo(demo_store):
    directory, _build = demo_store
    rows = _same_tables(directory)
    assert set(rows) == {n for n, _, _ in serving.statements(directory) if n not in serving.INTERMEDIATE} | {"meta"}
    assert rows["services"] > 10_000 and rows["household_facts"] > 10_000 and rows["quality_flags"] > 0


def test_the_comparison_finds_a_row_changed_and_an_order_broken(demo_store, tmp_path):
    """compare_parquet_build (the bench's check) is not blind: a Spark copy with one row of
    household_facts changed, or services' files in another order, is not identical."""
    directory, _build = demo_store
    copy = shutil.copytree(directory, tmp_path / "demo")
    build = serving.parquet_builds(copy)[0]
    con = duckdb.connect()
    for table, select in (("household_facts", "SELECT * EXCLUDE (rn) REPLACE (CASE WHEN rn = 1 THEN unit_hh + 1 ELSE unit_hh END "
                                             "AS unit_hh) FROM (SELECT *, ROW_NUMBER() OVER () AS rn FROM t)"),
                          ("services", "SELECT * FROM t ORDER BY record_id DESC")):
        (folder,) = [p for p in (build / table).iterdir() if p.is_dir()]  # kept per county: the demo's one
        assert folder.name == storage.partition_folder("平陆县")
        files = sorted(folder.glob("*.parquet"))
        con.execute(f"CREATE OR REPLACE TABLE t AS SELECT * FROM read_parquet({[str(f) for f in files]})")
        for f in files:
            f.unlink()
        con.execute(f"COPY ({select}) TO '{folder / 'part-0.parquet'}' (FORMAT parquet)")
    con.close()
    found = {c["table"]: c for c in serving.compare_parquet_build(copy)}
    assert found["household_facts"]["differing"] == 2 and found["household_facts"]["ordered"] is True
    assert found["services"]["differing"] == 0 and found["services"]["ordered"] is False
    assert found["communities"]["differing"] == 0 and not serving.identical(list(found.values()))


def test_every_page_query_is_the_same_on_the_demo(demo_store, monkeypatch):
    directory, _build = demo_store
    monkeypatch.setenv("REDSERVICE_DATA", str(directory))
    assert _same_pages(directory, "县住建局") > 150


def test_tables_identical_on_the_partitioned_city(city_store):
    directory, build = city_store
    tables = storage.table_dir(directory)
    assert build.startswith("file:") and str(tables / serving.PARQUET_DIR) in build
    rows = _same_tables(directory)
    assert rows["services"] > 50_000
    # the record-sized tables kept per county as the records are, one file per county; a view of one
    # county reads that county's file only
    counties = set(storage.partition_files(tables, "services"))
    assert len(counties) == 13
    copy = serving.parquet_builds(tables)[0]
    for table in serving.PARTITIONED_SERVING:
        folders = {storage.county_of_folder(p.name): list(p.glob("*.parquet")) for p in (copy / table).iterdir()
                   if p.is_dir()}
        assert set(folders) == counties and all(len(files) == 1 for files in folders.values()), table
    stats = serving.partition_stats(copy)  # what bench-build reports of them
    assert stats["services"]["counties"] == stats["services"]["files"] == 13
    assert stats["services"]["rows"] == rows["services"] and stats["household_facts"]["rows"] == rows["household_facts"]
    assert 0 < stats["services"]["rows_min"] <= stats["services"]["rows_median"] <= stats["services"]["rows_max"]
    county = sorted(counties)[3]
    store = Store(directory, "parquet")
    try:  # the page's own KPI query, its county bound as a parameter: both record tables read 1 file of 13
        assert store.mode == "parquet"
        sql, params = store.bind("kpis", Filters.make(dt.date(2025, 1, 1), dt.date(2025, 3, 31), counties=[county]))
        plan = "".join(r[1] for r in store.con.execute("EXPLAIN ANALYZE " + sql, params).fetchall())
        assert plan.count("Scanning Files: 1/13") >= 2 and "Scanning Files: 13/13" not in plan, plan
        assert store.con.execute("SELECT COUNT(*) FROM household_facts WHERE county = $c", {"c": county}).fetchone()[0] == \
            store.con.execute(f"SELECT COUNT(*) FROM read_parquet({serving.sql_string(str(folders[county][0]))})").fetchone()[0]
    finally:
        store.close()


def test_every_page_query_is_the_same_on_the_city(city_store, monkeypatch):
    directory, _build = city_store
    monkeypatch.setenv("REDSERVICE_DATA", str(directory))
    assert _same_pages(directory, "县住建局") > 150


def test_a_stale_spark_copy_is_not_used(demo_store, tmp_path):
    """Other records than the Spark copy was built from: the dashboard builds in memory instead."""
    directory, _build = demo_store
    other = shutil.copytree(directory, tmp_path / "other")
    serving.path(other).unlink()
    assert Store(other, "auto").mode == "parquet"
    import pyarrow.parquet as pq

    services = pq.read_table(other / "services.parquet")
    pq.write_table(services.slice(1), other / "services.parquet")
    assert Store(other, "auto").mode == "memory"


def test_build_on_spark_from_the_command_line(spark, tmp_path, capsys):
    """``build --engine spark --json`` on the small fixture (members off the roster, records without
    households or activity): the same tables as DuckDB's; its time and memory printed."""
    import json

    from conftest import SMALL, write_store

    from redservice import cli

    directory = write_store(tmp_path / "small", **SMALL)
    serving.refresh(directory)
    assert cli.main(["build", "--engine", "spark", "--data", str(directory), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["engine"] == "spark" and result["seconds"] > 0 and result["peak_rss_mb"] > 0
    assert result["out"].startswith(str(directory / serving.PARQUET_DIR))
    assert _same_tables(directory)["services"] == len(SMALL["services"])
    assert cli.main(["build", "--spark-master", "local[1]", "--data", str(directory)]) != 0


def test_dense_ids_are_numbered_in_range_partitions(spark):
    """A dense id over all values (serving._ids) is numbered by Spark in several range partitions, each
    offset by the rows before it, not in one task: the ids are still 1..n in the values' order (as
    DuckDB's ROW_NUMBER() OVER (ORDER BY …)), including values that differ only past a shared prefix."""
    import random

    values = [f"HH-{i:05d}" for i in range(0, 3000, 3)] + ["", "平陆县·甲", "平陆县·乙", "Z", "a", "HH-"]
    random.Random(7).shuffle(values)
    df = spark.createDataFrame([(v,) for v in values], "household STRING")
    numbered, ranged = serving_spark._dense_ids(spark, df, "household", "hid")
    try:
        assert ranged.select("_part").distinct().count() > 1  # the work was split
        got = sorted((r["household"], r["hid"]) for r in numbered.collect())
    finally:
        ranged.unpersist()
    con = duckdb.connect()
    expected = con.execute("SELECT v, CAST(ROW_NUMBER() OVER (ORDER BY v) AS INTEGER) FROM UNNEST($v) t(v)",
                           {"v": values}).fetchall()
    assert got == sorted(expected)


def _same_as_carried_rebuild(store) -> None:
    """The Spark build against the importer's serving.duckdb (refreshed in place: the same rows in
    every table; its rollups' rows re-inserted at their end, out of their ORDER BY), then against
    the rebuild of that copy carrying the previous generation's ids, table by table and in order."""
    tables = storage.table_dir(store)
    assert all(c["types"] and c["differing"] == 0 and c["rows"] == c["spark_rows"]
               for c in serving.compare_parquet_build(tables))
    previous = sorted((store / storage.TABLES_DIR).iterdir())[-2]
    serving.refresh(tables, serving.build_rules(store), previous=previous)
    assert serving.last_refresh["mode"] == "full"
    assert _same_tables(store)["services"] > 50_000


def test_build_county_on_spark_writes_only_the_counties_whose_rows_changed(spark, city_store, tmp_path, monkeypatch, capsys):
    """``build --engine spark --county 夏县`` after an import of 夏县's hard ledger (records among the old
    dates, a member's day moved in another county, households served before, a member of 盐湖区): the
    build carries the previous build's ids, as the importer's refresh of serving.duckdb carries the
    previous copy's, and the two copies are identical table by table; the tables kept per county are
    written for the counties whose rows changed only, every other county's files hard links of the
    previous build's. Run again: nothing to build. Another county's records changed too: the whole
    copy, carrying the ids, saying why — still identical. Unknown counties are refused in Chinese."""
    import json

    from test_partitions import hard_ledger, ledger, run

    from redservice import cli
    from redservice.privacy import KEY_ENV

    monkeypatch.setenv(KEY_ENV, demo.DEMO_HOUSEHOLD_KEY.decode())
    directory, _build = city_store
    store = shutil.copytree(directory, tmp_path / "store")
    first = serving.parquet_builds(storage.table_dir(store))[0]
    # and a record in 夏县 of a member who served in 盐湖区 the same day, numbered before that record:
    # the 盐湖区 record is no longer the member's first of the day (services.day_first)
    con = duckdb.connect()
    (date, name, unit), = con.execute(
        "SELECT date, name, unit FROM read_parquet($f) WHERE review_status IS NULL OR review_status = '已通过' "
        "ORDER BY record_id LIMIT 1", {"f": str(storage.partition_files(storage.table_dir(store), "services")["盐湖区"])}).fetchall()
    con.close()
    text = hard_ledger(store) + f"A0001,{date},{name},{unit},夏县北城社区,送政策,1,,日常服务,\n"
    batch, generation = run(store, [("夏县台账.csv", text)], county="夏县")
    assert generation and batch.reports[0].loaded == 10 and serving.last_refresh["mode"] == "incremental"
    counties = set(storage.partition_files(storage.table_dir(store), "services"))

    out = serving_spark.build(spark, store, counties={"夏县"})
    how = dict(serving_spark.last_build)
    assert (how["mode"], how["reason"], how["previous"]) == ("incremental", None, str(first)), how
    _same_as_carried_rebuild(store)
    new = serving.parquet_builds(storage.table_dir(store))[0]
    assert str(new) == out
    for table in serving.PARTITIONED_SERVING:
        written, linked = how["written"][table], how["linked"][table]
        assert "夏县" in written and len(written) <= 3 and set(written) | set(linked) == counties, (table, how)
        for county in counties:
            folder = storage.partition_folder(county)
            (ours,), (theirs,) = (new / table / folder).glob("*.parquet"), (first / table / folder).glob("*.parquet")
            assert (ours.stat().st_ino == theirs.stat().st_ino) == (county in linked), (table, county)
    # the member's day in 盐湖区: its records rewritten too; its households' rows are unchanged
    assert how["written"]["services"] == ["夏县", "盐湖区"] and how["written"]["household_facts"] == ["夏县"], how

    assert cli.main(["build", "--engine", "spark", "--data", str(store), "--county", "夏县", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (result["mode"], result["out"]) == ("unchanged", out)
    # what a store on another file system gives (read by Spark, not listed here): the same digests and builds
    tables = storage.table_dir(store)
    _files, fp, digests = serving_spark._sources(spark, tables.as_uri())
    assert (fp, digests) == (serving.fingerprint(tables), serving.source_digests(tables))
    with monkeypatch.context() as m:
        m.setattr(serving_spark, "_local", lambda location: None)
        listed = serving_spark._previous_builds(spark, store.as_uri())
    assert [b.rsplit("/", 3)[-3:] for b in listed] == [
        [generation, serving.PARQUET_DIR, new.name], ["000001", serving.PARQUET_DIR, first.name]]
    assert serving.parquet_builds(storage.table_dir(store))[0] == new

    run(store, [("盐湖区台账.csv", ledger(store, "盐湖区", "YH"))], county="盐湖区")
    assert cli.main(["build", "--engine", "spark", "--data", str(store), "--county", "夏县", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["mode"] == "full" and result["reason"] == "records of other counties changed too: 盐湖区", result
    assert result["previous"] == str(new) and result["written"] is None
    _same_as_carried_rebuild(store)

    assert cli.main(["build", "--engine", "spark", "--data", str(store), "--county", "无此县"]) == 2
    assert "未知区县：无此县" in capsys.readouterr().err
    demo_copy = shutil.copytree(DEMO_DIR, tmp_path / "demo")
    assert cli.main(["build", "--engine", "spark", "--data", str(demo_copy), "--county", "平陆县"]) == 2
    assert "未按区县分存" in capsys.readouterr().err
