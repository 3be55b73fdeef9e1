"""The benchmark, for correctness only (timings are not tested): scaled stores have exactly the
records asked for, every page's queries are found, and both engines give the same figures."""

import datetime as dt
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from redservice import bench, cli, pandas_baseline, serving, storage
from redservice.config import PROJECT_DIR
from redservice.filters import Filters
from redservice.store import Store

D = dt.date


def test_bench_cli_at_a_small_size(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "redservice", "bench", "--rows", "20000", "--runs", "2", "--json", "--out",
         str(tmp_path)], cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=900)
    rows = json.loads(out.stdout)
    # every copy of the demo is a county of its own: the store is a city, 区县对比 included
    pages = {key for _path, key in bench.pages()}
    assert {r["page"] for r in rows} == pages
    for r in rows:
        assert r["rows"] == 20000 and r["engine"] in ("duckdb", "pandas")
        assert {"cold_ms", "warm_p50_ms", "peak_rss_mb"} <= set(r)
        assert r["error"] is None, r
        if r["engine"] == "duckdb" and r["queries"]:
            assert r["cold_ms"] > 0 and r["warm_p50_ms"] > 0 and r["peak_rss_mb"] > 0
        assert (r["python_ms"] > 0) if r["engine"] == "duckdb" else r["python_ms"] is None  # the page's own
    overview = {r["engine"]: r for r in rows if r["page"] == "overview"}
    recorded = json.loads((tmp_path / "runs" / "rows-20000" / "record-app.out.json").read_text(encoding="utf-8"))
    follows = {c["name"]: c["follows"] for c in recorded["app_pages/overview.py"]["calls"]}
    assert follows == {"data_range": False, "filter_options": False, "kpis": True, "monthly_trend": True,
                       "community_summary": True, "unit_summary": True, "approval_period": True}
    assert set(overview) == {"duckdb", "pandas"}
    assert overview["pandas"]["baseline"] and overview["pandas"]["matches_duckdb"], overview["pandas"]
    assert overview["duckdb"]["queries"] >= 7  # filter bar, KPIs now and before, trend, two tables
    # the warm runs run what the app runs: 总览's figures again, 数据管理 nothing (no period, every call
    # from the cache)
    data = next(r for r in rows if r["page"] == "data" and r["engine"] == "duckdb")
    assert data["warm_queries_run"] == 0 and overview["duckdb"]["warm_queries_run"] >= 5 * 2 * 2
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == rows
    assert "overview" in bench.table(rows)


def test_generated_store_has_exactly_the_records_asked_for(tmp_path):
    directory = tmp_path / "s"
    stamp = bench.generate(20000, directory)
    assert stamp["counties"] == 2
    store = Store(directory)
    assert store.mode == "file"
    cur = store.con.cursor()
    assert cur.execute("SELECT COUNT(*) FROM services").fetchone()[0] == 20000
    # the figures count the approved ones (the demo's share of 待审核 / 已退回 records is not)
    uncounted = cur.execute("SELECT COUNT(*) FROM services WHERE NOT counted").fetchone()[0]
    assert 0 < uncounted < 100 and store.query("data_range").iloc[0]["records"] == 20000 - uncounted
    # every name and id carries its county; the second county is a sample spread over the period
    assert cur.execute("SELECT COUNT(*) FROM services WHERE unit NOT LIKE '县00_·%'").fetchone()[0] == 0
    # and its communities and units are listed in that county (所属县): the store is a city of two
    assert cur.execute("SELECT DISTINCT county FROM communities ORDER BY 1").fetchall() == [("县000",), ("县001",)]
    assert cur.execute("SELECT COUNT(*) FROM units WHERE county IS DISTINCT FROM substr(unit, 1, 4)").fetchone()[0] == 0
    by_county = dict(cur.execute("SELECT substr(record_id, 1, 4), COUNT(*) FROM services GROUP BY 1").fetchall())
    assert sum(by_county.values()) == 20000 and len(by_county) == 2
    first, last = cur.execute("SELECT MIN(date), MAX(date) FROM services WHERE record_id LIKE '县001·%'").fetchone()
    assert (first, last) == (D(2024, 1, 1), D(2025, 3, 31))
    dates = cur.execute("SELECT date FROM services").fetchall()
    assert dates == sorted(dates)  # written sorted by date
    households = str(directory / "service_households.parquet")
    orphans = duckdb.connect().execute("SELECT COUNT(*) FROM read_parquet($h) h WHERE h.record_id NOT IN "
                                       "(SELECT record_id FROM read_parquet($s))",
                                       {"h": households, "s": str(directory / "services.parquet")}).fetchone()[0]
    assert orphans == 0
    boundaries = store.boundaries()["features"]
    assert len(boundaries) == 24 and boundaries[12]["properties"]["community"].startswith("县001·")
    before = serving.path(directory).stat().st_mtime_ns
    assert bench.generate(20000, directory) == stamp  # the same shape is reused, not rebuilt
    assert serving.path(directory).stat().st_mtime_ns == before


def test_pages_are_read_from_the_navigation():
    assert bench.pages()[0] == ("app_pages/overview.py", "overview")


def test_changed_filters_keep_the_relation_between_periods():
    f = Filters.make(D(2025, 1, 1), D(2025, 3, 31))
    calls = [bench.Call("data_range", None, bench.EVERYTHING),
             bench.Call("kpis", f, bench.EVERYTHING), bench.Call("kpis", f.previous(), bench.EVERYTHING)]
    by_unit = bench.variants(calls, ["U1", "U2"], 3, "unit")
    assert [run[1].filters.units for run in by_unit] == [("U1",), ("U2",), ("U1",)]
    assert all(run[1].filters.start == f.start and run[0].filters is None for run in by_unit)
    by_period = bench.variants(calls, ["U1"], 2, "period")
    for i, run in enumerate(by_period):
        current, previous = run[1].filters, run[2].filters
        assert current.end == f.end - dt.timedelta(weeks=i + 1) and current.units is None
        assert current.previous() == previous  # still the period before
    assert by_period[0][1].filters != by_period[1][1].filters
    probe = Filters.make(D(2026, 1, 1), D(2026, 1, 1))  # the filter bar's own query keeps its filters
    fixed = bench.variants([bench.Call("filter_options", probe, bench.EVERYTHING)] + calls[1:], ["U1"], 2, "unit",
                           follows=[False, True, True])
    assert all(run[0].filters == probe and run[1].filters.units == ("U1",) for run in fixed)
    # a call that keeps its filters when a unit is chosen (单位与支部's county-wide median) but has the
    # view's period: the same under another unit, moved with the period; the filter bar's stays
    median = bench.Call("unit_scorecard", f, bench.EVERYTHING)
    marked = [bench.Call("filter_options", probe, bench.EVERYTHING), median] + calls[1:]
    moved = bench.variants(marked, ["U1"], 2, "period", follows=[False, False, True, True])
    for i, run in enumerate(moved):
        assert run[0].filters == probe and run[1].filters == run[2].filters
        assert run[1].filters.end == f.end - dt.timedelta(weeks=i + 1)
    kept = bench.variants(marked, ["U1"], 2, "unit", follows=[False, False, True, True])
    assert all(run[1].filters == f and run[2].filters.units == ("U1",) for run in kept)


def test_a_call_made_before_is_answered_as_the_app_caches_it():
    """The warm runs time what the app runs: a call it made before with the same query, filters,
    scope and parameters comes from its cache (unpickled), not from the engine."""
    f = Filters.make(D(2025, 1, 1), D(2025, 3, 31))
    bar = bench.Call("filter_options", Filters.make(D(2026, 1, 1), D(2026, 1, 1)), bench.EVERYTHING)
    kpis = bench.Call("kpis", f, bench.EVERYTHING, (("statuses", ["已通过"]),))
    ran = []

    def engine(call):
        ran.append(call.name)
        return pd.DataFrame({"name": [call.name], "end": [call.filters.end]})

    cache: dict = {}
    _ms, first = bench._run_set(engine, [bar, kpis, bar], cache=cache)
    assert ran == ["filter_options", "kpis"] and first[2].equals(first[0]) and first[2] is not first[0]
    each: list = []
    moved = replace(kpis, filters=f.with_period(D(2024, 12, 25), D(2025, 3, 24)))
    _ms, warm = bench._run_set(engine, [bar, moved, replace(kpis, extra=(("statuses", ["待审核"]),))], each, cache)
    assert ran == ["filter_options", "kpis", "kpis", "kpis"] and len(each) == 3
    assert warm[1].loc[0, "end"] == D(2025, 3, 24) and warm[0].equals(first[0])
    _ms, again = bench._run_set(engine, [bar, kpis])  # without a cache every call runs
    assert ran[-2:] == ["filter_options", "kpis"]


def test_calls_survive_the_trip_between_processes():
    call = bench.Call("kpis", Filters.make(D(2025, 1, 1), D(2025, 3, 31), units=["县住建局"]),
                      bench.Scope(communities=("北城社区",), show_names=False), (("day", D(2025, 1, 2)), ("drill", "x"), ("ids", [1, 2])))
    assert bench.Call.from_json(json.loads(json.dumps(call.to_json()))) == call


def test_compare_frames_finds_a_difference(demo_store):
    data = pandas_baseline.load(demo_store.directory)
    f = Filters.make(D(2025, 1, 1), D(2025, 3, 31))
    sql = demo_store.query("community_summary", f)
    ref = pandas_baseline.query(data, "community_summary", f)
    assert bench.compare_frames(sql, ref, "community_summary") is None
    ref.loc[3, "households_reached"] += 1
    assert "households_reached" in bench.compare_frames(sql, ref, "community_summary")
    assert bench.compare_frames(sql, ref.iloc[:-1], "x") is not None
    options = demo_store.query("filter_options")
    shuffled = options.sample(frac=1, random_state=1)
    assert bench.compare_frames(options, shuffled, "filter_options") is None  # a set of values
    assert bench.compare_frames(pd.DataFrame({"a": [None]}), pd.DataFrame({"a": [float("nan")]})) is None


def test_pages_can_be_chosen_and_the_quality_ratio_is_printed(tmp_path):
    """``bench --pages overview,quality`` records and measures those two pages only, and the table
    ends with the 数据质量 ÷ 总览 ratio (issue 20's target is on it); ``--keep-copy`` uses the
    serving copy already built from the records, ``--no-baseline`` skips pandas."""
    out = subprocess.run(
        [sys.executable, "-m", "redservice", "bench", "--rows", "20000", "--runs", "1", "--pages", "overview,quality",
         "--out", str(tmp_path)], cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=900)
    rows = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert {r["page"] for r in rows} == {"overview", "quality"}
    [(n, quality, overview)] = bench.quality_ratios(rows)
    assert n == 20000 and quality > 0 and overview > 0
    assert f"20,000 records: 数据质量 ÷ 总览 (warm p50, DuckDB): {quality:,.0f} / {overview:,.0f} ms" in out.stdout
    # again on the same store, its serving copy kept as built and without the pandas baseline
    again = subprocess.run(
        [sys.executable, "-m", "redservice", "bench", "--rows", "20000", "--runs", "1", "--pages", "quality",
         "--keep-copy", "--no-baseline", "--json", "--out", str(tmp_path)], cwd=PROJECT_DIR, capture_output=True,
        text=True, check=True, timeout=900)
    rows = json.loads(again.stdout)
    assert "serving copy kept as built" in again.stderr and "serving copy built in" not in again.stderr
    assert {(r["page"], r["engine"]) for r in rows} == {("quality", "duckdb"), ("quality", "pandas")}
    assert all(r["build_s"] is None for r in rows)
    assert next(r for r in rows if r["engine"] == "pandas")["skipped"] == "not asked for (--no-baseline)"
    bad = subprocess.run([sys.executable, "-m", "redservice", "bench", "--rows", "20000", "--pages", "nosuch",
                          "--out", str(tmp_path)], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "未知页面：nosuch" in bad.stderr


def test_the_ratio_between_sizes_is_printed_for_each_kind_of_run():
    """The table ends with each page's ratio from the smallest size to the largest (issue 22: ≤ 4×),
    of the warm p50 and of each kind of warm run apart (another unit, another period)."""
    def row(n, page, warm, unit, period, engine="duckdb"):
        return {"rows": n, "page": page, "engine": engine, "queries": 5, "cold_ms": 2 * warm, "warm_p50_ms": warm,
                "warm_unit_p50_ms": unit, "warm_period_p50_ms": period, "peak_rss_mb": 300.0, "python_ms": 10.0,
                "baseline": False, "skipped": "not asked for (--no-baseline)"}

    rows = [row(1_000_000, "quality", 74, 40, 90), row(10_000_000, "quality", 346, 149, 533),
            row(1_000_000, "assess", 54, 50, 60), row(10_000_000, "assess", 346, 300, 641),
            row(1_000_000, "wishes", 20, 20, 20)]  # not measured at 10 M: no ratio
    assert bench.scaling(rows) == [(1_000_000, 10_000_000, "quality", 4.68, 3.73, 5.92),
                                   (1_000_000, 10_000_000, "assess", 6.41, 6.0, 10.68)]
    assert ("10,000,000 ÷ 1,000,000 records, quality (warm p50, DuckDB): 4.7× (another unit 3.7× / another period 5.9×)"
            in bench.table(rows))
    assert bench.scaling([r for r in rows if r["rows"] == 1_000_000]) == []
    # a page whose warm runs run no query (every call from the cache: 数据管理) has no ratio
    cached = [{**row(n, "data", w, w, w), "warm_queries_run": 0} for n, w in ((1_000_000, 0.6), (10_000_000, 2.5))]
    assert bench.scaling(cached) == [(1_000_000, 10_000_000, "data", None, None, None)]
    assert "data (warm p50, DuckDB): — (another unit — / another period —)" in bench.table(cached)
    ran = [{**r, "warm_queries_run": 4} for r in cached]
    assert bench.scaling(ran) == [(1_000_000, 10_000_000, "data", 4.17, 4.17, 4.17)]


def _git_checkout() -> bool:
    return subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True).returncode == 0


def test_the_build_is_timed_side_by_side_with_a_revision(demo_copy, monkeypatch, capsys):
    if not _git_checkout():
        pytest.skip("not a git checkout")
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("redservice-against-*"))
    out = subprocess.run([sys.executable, "-m", "redservice", "bench-build", "--data", str(demo_copy), "--against",
                          "HEAD", "--runs", "1", "--json"], cwd=PROJECT_DIR, capture_output=True, text=True,
                         check=True, timeout=600)
    row = json.loads(out.stdout)
    tables = storage.table_dir(demo_copy)
    assert row["revision"] == "HEAD"
    assert row["records"] == serving.record_rows_of(storage.table_path(tables, "services"))
    for side in (row["against"], row["this"]):  # one build each, from nothing, in a process of its own
        assert len(side["runs"]) == 1 and side["median_s"] > 0 and side["median_cpu_s"] > 0
        assert 0 < side["peak_rss_mb"] < 4000
    assert len(row["ratios"]) == 1 and row["median_ratio"] == pytest.approx(row["ratios"][0], abs=1e-3)
    # this checkout ÷ the revision: here the same code on both sides, so only the arithmetic is tested
    assert row["median_ratio"] == pytest.approx(row["this"]["median_s"] / row["against"]["median_s"], abs=2e-3)
    # the store is left with this checkout's copy; the revision's checkout is gone
    assert serving.is_fresh(tables)
    listed = subprocess.run(["git", "-C", str(PROJECT_DIR), "worktree", "list"], capture_output=True, text=True).stdout
    assert "redservice-against-" not in listed
    # a revision that does not exist: a clear error, and still no checkout left behind
    bad = subprocess.run([sys.executable, "-m", "redservice", "bench-build", "--data", str(demo_copy), "--against",
                          "no-such-revision"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--against no-such-revision：不是本仓库中的 git 版本" in bad.stderr
    # nor is an option of git worktree taken for one
    assert cli.main(["bench-build", "--data", str(demo_copy), "--against=--orphan"]) == 2
    assert "--against --orphan：不是本仓库中的 git 版本" in capsys.readouterr().err
    assert "redservice-against-" not in subprocess.run(["git", "-C", str(PROJECT_DIR), "worktree", "list"],
                                                       capture_output=True, text=True).stdout
    # a revision whose build fails (here: a driver that fails outside this checkout): a clear error, and
    # the store keeps a copy, this checkout's
    monkeypatch.setattr(bench, "_BUILD_DRIVER", f"import os, sys\nif os.getcwd() != {str(PROJECT_DIR)!r}: "
                        f"sys.exit(3)\n{bench._BUILD_DRIVER}")
    assert cli.main(["bench-build", "--data", str(demo_copy), "--against", "HEAD"]) == 2
    assert "--against HEAD：构建失败（退出码 3）" in capsys.readouterr().err
    assert serving.is_fresh(tables)
    assert set(temp.glob("redservice-against-*")) == before
    # no build at all: refused before anything is checked out or removed
    assert cli.main(["bench-build", "--data", str(demo_copy), "--against", "HEAD", "--runs", "0"]) == 2
    assert "--runs：至少 1 次" in capsys.readouterr().err and serving.is_fresh(tables)
    # no git on the path: said so, and nothing left behind
    monkeypatch.setenv("PATH", str(demo_copy / "no-such-bin"))
    assert cli.main(["bench-build", "--data", str(demo_copy), "--against", "HEAD"]) == 2
    assert "--against HEAD：需要 git" in capsys.readouterr().err
    assert set(temp.glob("redservice-against-*")) == before and serving.is_fresh(tables)
