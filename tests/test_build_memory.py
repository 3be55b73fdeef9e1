"""Building the serving copy within a memory budget: a copy built under a tiny DuckDB memory_limit
(spilling) is the same copy; the tables with an ORDER BY keep it with insertion order off; a limit
too small is refused before anything is written (in Chinese, the store unchanged); a build that
runs out at the limit fails the same way, never half written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest
from conftest import SMALL, write_store
from test_import_failures import ledger
from test_ingest_kill import snapshot

from redservice import cli, ingest, serving, storage
from redservice.config import PROJECT_DIR
from redservice.ingest import load


def _tables(file) -> dict[str, list]:
    """Every table of a serving file, its rows sorted (order is checked apart: rows that tie on the
    ORDER BY, such as household_facts' of one date and household, come in any order)."""
    con = duckdb.connect(str(file), read_only=True)
    try:
        names = [n for n, _s, _o in serving.statements(file.parent) if n not in serving.INTERMEDIATE] + ["meta"]
        return {n: sorted(con.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}
    finally:
        con.close()


def test_a_copy_built_while_spilling_is_the_same_copy(demo_copy, tmp_path):
    rules = serving.points_rules_of()
    roomy = serving.BuildLimits(4096)
    serving._build(demo_copy, rules, roomy, 4096)
    expected = _tables(serving.path(demo_copy))
    spill = tmp_path / "spill"
    serving._build(demo_copy, rules, serving.BuildLimits(64, spill, 1), 64)  # 64 MB: the demo spills
    assert _tables(serving.path(demo_copy)) == expected
    assert not spill.exists() or not any(spill.iterdir())  # the spill files are gone


def test_the_thread_plan_and_a_statement_that_runs_out_on_two_threads(demo_copy, monkeypatch):
    plan = serving.thread_plan(serving.BuildLimits(4096))
    assert plan("services") == plan("household_keys") == min(serving.PARALLEL_THREADS, os.cpu_count())
    assert serving.thread_plan(serving.BuildLimits(4096, None, 3))("household_keys") == 3  # [build] threads
    rules = serving.points_rules_of()
    serving._build(demo_copy, rules, serving.BuildLimits(4096, None, 1), 4096)
    expected = _tables(serving.path(demo_copy))
    ran_out, threads = [], {}
    real = serving._parallel

    def parallel(con, create):
        name = create.split()[2] if create.startswith("CREATE TABLE") else create.split()[3]
        threads[name] = con.execute("SELECT current_setting('threads')").fetchone()[0]
        if name in ("services", "household_base"):
            ran_out.append(name)
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate (simulated)")
        real(con, create)

    monkeypatch.setattr(serving, "_parallel", parallel)
    serving._build(demo_copy, rules, serving.BuildLimits(4096, None, 2), 4096)  # every statement on two
    assert ran_out == ["services", "household_base"] and threads["services"] == threads["members"] == 2
    assert _tables(serving.path(demo_copy)) == expected  # the two ran again on one thread, the same copy


def test_a_copy_built_one_range_at_a_time_is_the_same_copy(demo_copy, monkeypatch):
    """dim_scoped one range of units, household_facts one range of dates at a time (BY_RANGE)."""
    rules = serving.points_rules_of()
    serving._build(demo_copy, rules, serving.BuildLimits(4096), 4096)
    expected = _tables(serving.path(demo_copy))
    monkeypatch.setattr(serving, "UNIT_RANGE_ROWS", 5000)  # the demo's 17,766 records: 4 ranges
    monkeypatch.setattr(serving, "DATE_RANGE_ROWS_PER_MB", 50)  # within 64 MB: about 3,000 household rows a range
    con = duckdb.connect(str(serving.path(demo_copy)), read_only=True)
    try:
        ranges = serving._unit_ranges(con)
        assert len(ranges) == 4 and ranges[0][0] is None and ranges[-1][1] is None
        ordered = {n: o for n, _s, o in serving.statements(demo_copy) if n in serving.BY_RANGE}
        assert set(ordered) == {"dim_scoped", "household_facts"}
        before = {n: con.execute(f"SELECT * FROM {n}").fetchall() for n in ordered}
        household_rows = con.execute("SELECT COUNT(*) FROM household_facts").fetchone()[0]
    finally:
        con.close()
    cut = {}

    def counted(name, column, ranges):
        def wrapped(c):
            cut[name] = ranges(c)
            return cut[name]
        return column, wrapped

    for name, (column, ranges) in list(serving.BY_RANGE.items()):
        monkeypatch.setitem(serving.BY_RANGE, name, counted(name, column, ranges))
    serving._build(demo_copy, rules, serving.BuildLimits(64, None, 1), 64)
    assert len(cut["dim_scoped"]) == 4
    dates = cut["household_facts"]
    assert len(dates) >= household_rows // 3500 >= 4 and dates[0][0] is None and dates[-1][1] is None
    assert all(a[1] == b[0] for a, b in zip(dates, dates[1:]))  # every date in one range
    assert _tables(serving.path(demo_copy)) == expected
    con = duckdb.connect(str(serving.path(demo_copy)), read_only=True)
    try:  # in the same order too (rows that tie on the ORDER BY may come in any order)
        for name, order in ordered.items():
            keys = [k.strip() for k in order.split(",")]
            got = con.execute(f"SELECT {', '.join(keys)} FROM {name}").fetchall()
            assert got == sorted(got, key=lambda r: tuple((v is None, v) for v in r)), name
            assert sorted(con.execute(f"SELECT * FROM {name}").fetchall(), key=repr) == sorted(before[name], key=repr)
    finally:
        con.close()


def test_unit_ranges_take_every_unit_once_and_the_records_without_one(monkeypatch):
    con = duckdb.connect()
    con.execute("CREATE TABLE services AS SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE 'u' || (i % 50) END AS unit, "
                "i FROM range(1000) t(i)")
    con.execute("CREATE TABLE unit_ids AS SELECT unit, CAST(ROW_NUMBER() OVER (ORDER BY unit) AS INTEGER) AS uid "
                "FROM (SELECT DISTINCT unit FROM services WHERE unit IS NOT NULL)")
    monkeypatch.setattr(serving, "UNIT_RANGE_ROWS", 300)
    assert len(serving._unit_ranges(con)) == 4
    select = "SELECT DISTINCT unit, i % 3 AS k FROM services"
    serving._create_by_range(con, "t", select, "unit, k", ("unit", serving._unit_ranges))
    assert con.execute("SELECT * FROM t").fetchall() == con.execute(f"{select} ORDER BY unit, k").fetchall()


def test_ordered_tables_keep_their_order_with_insertion_order_off(demo_copy):
    serving.refresh(demo_copy, limits=serving.BuildLimits(64, None, 2))
    con = duckdb.connect(str(serving.path(demo_copy)), read_only=True)
    try:
        for name, _select, order in serving.statements(demo_copy):
            if not order or name in serving.INTERMEDIATE:
                continue
            keys = [k.strip() for k in order.split(",")]
            rows = con.execute(f"SELECT {', '.join(keys)} FROM {name}").fetchall()
            assert rows == sorted(rows, key=lambda r: tuple((v is None, v) for v in r)), name
    finally:
        con.close()


def test_sizes_and_shares_of_memory():
    assert serving.parse_size_mb("50%", total_mb=24000) == 12000
    assert serving.parse_size_mb("2GB") == 2048 and serving.parse_size_mb("1.5GiB") == 1536
    assert serving.parse_size_mb("512MB") == 512 and serving.parse_size_mb(300) == 300
    for bad in ("lots", "0%", "150%", ""):
        with pytest.raises(ValueError):
            serving.parse_size_mb(bad)


def test_the_budget_follows_the_records_within_the_limit_and_the_free_memory():
    limits = serving.BuildLimits(12000)
    need = serving.need_mb(2_850_000)
    assert serving.plan_budget(2_850_000, limits, available_mb=20000) == need
    assert serving.plan_budget(2_850_000, serving.BuildLimits(need - 20), available_mb=20000) == need - 20
    with pytest.raises(serving.BuildMemoryError) as refused:
        serving.plan_budget(2_850_000, serving.BuildLimits(64), available_mb=20000)
    assert refused.value.kind == "limit"
    assert "[build] memory_limit" in refused.value.message() and "64 MB" in refused.value.message()
    with pytest.raises(serving.BuildMemoryError) as machine:
        serving.plan_budget(2_850_000, limits, available_mb=100)
    assert machine.value.kind == "machine" and "可用内存" in machine.value.message()
    # beyond NEED_MAX_MB the build spills rather than grows: 10 M records (28.5 M rows) start there
    assert serving.need_mb(28_500_000) == serving.NEED_MAX_MB == serving.plan_budget(28_500_000, limits, 20000)
    assert serving.need_mb(2_850_000) < serving.NEED_MAX_MB


def test_a_limit_too_small_leaves_the_old_copy(demo_copy):
    serving.refresh(demo_copy)
    before = serving.path(demo_copy).read_bytes()
    with pytest.raises(serving.BuildMemoryError) as refused:
        serving.refresh(demo_copy, limits=serving.BuildLimits(1))
    assert refused.value.kind == "limit" and "无法生成查询副本" in str(refused.value)
    assert serving.path(demo_copy).read_bytes() == before
    assert not list(demo_copy.glob(".serving.*"))


def test_a_build_that_runs_out_at_the_limit_fails_cleanly(demo_copy, monkeypatch):
    serving.refresh(demo_copy)
    before = serving.path(demo_copy).read_bytes()
    monkeypatch.setattr(serving, "plan_budget", lambda rows, limits, available_mb=None: 2)
    tries = []
    real = serving._build

    def build(directory, rules, limits, budget_mb):
        tries.append(budget_mb)
        return real(directory, rules, limits, budget_mb)

    monkeypatch.setattr(serving, "_build", build)
    with pytest.raises(serving.BuildMemoryError) as ran_out:
        serving.refresh(demo_copy, limits=serving.BuildLimits(4))
    assert ran_out.value.kind == "ran_out" and "内存不足" in ran_out.value.message()
    assert tries == [2, 4]  # twice the budget, up to the limit
    assert serving.path(demo_copy).read_bytes() == before
    assert not list(demo_copy.glob(".serving.*"))


def test_an_import_that_cannot_fit_is_refused_before_writing(tmp_path, capsys):
    store = write_store(tmp_path / "store", **SMALL)
    (store / "config.toml").write_text('[build]\nmemory_limit = "1MB"\n', encoding="utf-8")
    before = snapshot(store)
    code = cli.main(["import", "--data", str(store), str(ledger(tmp_path / "a.csv", 1))])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "[build] memory_limit" in err and "现有数据没有任何改动" in err and "Traceback" not in err
    assert snapshot(store) == before
    assert not (store / load.STAGING_DIR).exists()


def test_an_import_whose_build_runs_out_leaves_the_store(tmp_path, capsys, monkeypatch):
    store = write_store(tmp_path / "store", **SMALL)
    ingest.run(store, [ingest.Source("a.csv", ledger(tmp_path / "a.csv", 1).read_bytes())])
    before = snapshot(store)

    def ran_out(*args, **kwargs):
        raise serving.BuildMemoryError("ran_out", 500, 400, 8000)

    monkeypatch.setattr(load.serving, "refresh", ran_out)
    code = cli.main(["import", "--data", str(store), str(ledger(tmp_path / "b.csv", 2))])
    err = capsys.readouterr().err
    assert code == 3 and "内存不足" in err and "现有数据没有任何改动" in err
    assert snapshot(store) == before
    assert sorted(p.name for p in (store / storage.TABLES_DIR).iterdir()) == [before["generation"]]


def test_build_command_reports_time_and_its_own_peak(demo_copy):
    out = subprocess.run([sys.executable, "-m", "redservice", "build", "--data", str(demo_copy), "--json",
                          "--memory-limit", "1GB"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True,
                         timeout=300)
    result = json.loads(out.stdout)
    assert result["seconds"] > 0 and 0 < result["peak_rss_mb"] < 1024 and result["memory_limit_mb"] == 1024
    assert serving.is_fresh(demo_copy)
    refused = subprocess.run([sys.executable, "-m", "redservice", "build", "--data", str(demo_copy),
                              "--memory-limit", "1MB"], check=False, cwd=PROJECT_DIR, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 3 and "[build] memory_limit" in refused.stderr


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_build_of_a_directory_without_records_is_refused_and_writes_nothing(tmp_path, capsys, engine):
    missing, empty = tmp_path / "missing", tmp_path / "empty"
    empty.mkdir()
    for directory in (missing, empty):
        code = cli.main(["build", "--engine", engine, "--data", str(directory)])
        assert code == 2 and f"数据目录 {directory} 不存在或其中没有服务记录" in capsys.readouterr().err
    assert not missing.exists() and not any(empty.iterdir())  # no copy of nothing written there


def test_the_build_process_loads_no_pandas(demo_copy):
    """python -m redservice build reads the store's settings through modules that use pandas in their
    functions only: the process that builds the copy does not load pandas, numpy or pyarrow."""
    code = ("import sys; from redservice import cli; "
            f"assert cli.main(['build', '--data', {str(demo_copy)!r}, '--json']) == 0; "
            "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow', 'streamlit', 'plotly') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True,
                         timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert serving.is_fresh(demo_copy)
