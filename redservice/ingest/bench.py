"""Timing the importer: ``python -m redservice.ingest.bench [--rows 100000]``.

Writes a synthetic 服务台账 of N rows (the demo county's members, dates after the demo's last day,
one to three household codes per row) as UTF-8 CSV and as .xlsx, imports each into a fresh copy of
the demo store, and prints wall time, rows and peak memory. The figures are in docs/import.md.

``python -m redservice.ingest.bench --county-import --store-rows 1000000 [--json]``: one county's
month into a store of N records kept per county (``county_import``): on the same store, in the same
run, a full rebuild of the serving copy and the import of one month of one county's ledger
(``import --county``: read, check, write that county's files, refresh the copy in place, commit),
each in a fresh process, and their ratio. The figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from redservice import ingest
from redservice.config import DEMO_DIR

HEADER = ["记录编号", "服务日期", "姓名", "所属单位", "服务社区", "服务类别", "活动形式", "服务时长（小时）", "服务户号",
          "服务人次", "服务内容"]


def ledger_rows(n: int, seed: int = 1) -> list[list[str]]:
    members = pq.read_table(DEMO_DIR / "members.parquet").to_pylist()
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        m = rng.choice(members)
        day = dt.date(2025, 4, 1) + dt.timedelta(days=rng.randrange(200))
        codes = "、".join(f"{rng.randrange(1, 30)}-{rng.randrange(1, 6)}-{rng.randrange(101, 1802)}"
                         for _ in range(rng.randrange(1, 4)))
        rows.append([f"B{i:07d}", day.strftime("%Y/%m/%d") if i % 2 else day.isoformat(), m["name"], m["unit"],
                     m["community"], rng.choice(["送政策", "送热饭", "义诊", "义剪", "政策宣讲"]), "日常服务",
                     f"{rng.choice([1, 1.5, 2, 2.5, 3])}小时", codes, str(rng.randrange(1, 6)), "入户走访"])
    return rows


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--county-import", action="store_true",
                        help="time one county's month into a store kept per county against a full rebuild")
    parser.add_argument("--store-rows", type=int, default=1_000_000, help="records of that store")
    parser.add_argument("--county", help="the county imported (default: the first)")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "redservice-county-bench"),
                        help="where that store is built (kept for the next run)")
    parser.add_argument("--spark", action="store_true",
                        help="with --county-import: also the Spark build before the import and build --engine spark "
                             "--county after it (needs requirements-spark.txt)")
    parser.add_argument("--spark-conf", metavar="KEY=VALUE", action="append", default=[],
                        help="a Spark setting for those builds (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.county_import:
        result = county_import(args.store_rows, Path(args.work), args.county, args.spark_conf if args.spark else None)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            full, imp = result["full_rebuild"], result["county_import"]
            print(f"{result['store_rows']:,} records, {result['counties']} counties; {result['county']}: "
                  f"{result['ledger_rows']} records of one month")
            print(f"full rebuild of the serving copy: {full['wall_s']} s, CPU {full.get('cpu_s')} s "
                  f"(peak {full['peak_rss_mb']} MB)")
            print(f"import --county: {imp['wall_s']} s, CPU {imp.get('cpu_s')} s (peak {imp['peak_rss_mb']} MB, "
                  f"copy {imp['mode']}"
                  f"{'' if imp['mode'] == 'incremental' else ': ' + str(imp['reason'])})")
            print(f"ratio: {result['ratio']:.1%}")
            bc = result["build_county"]
            print(f"build --county (the same county's files put in a copy of the store by another writer): "
                  f"{bc['wall_s']} s, CPU {bc.get('cpu_s')} s (peak {bc['peak_rss_mb']} MB, copy {bc['mode']}"
                  f"{'' if bc['mode'] == 'incremental' else ': ' + str(bc['reason'])}); "
                  f"ratio: {result['build_county_ratio']:.1%}")
            if result["spark"]:
                sp = result["spark"]
                written = {t: len(c) for t, c in (sp["county"].get("written") or {}).items()}
                print(f"Spark: full build {sp['full']['wall_s']} s (JVM peak {sp['full']['jvm_peak_rss_mb']} MB); "
                      f"build --county after the import {sp['county']['wall_s']} s (mode {sp['county']['mode']}, "
                      f"counties written {written}); ratio {sp['ratio']:.1%}; "
                      f"the same rows as serving.duckdb in {sp['tables_compared']} tables: {sp['same_rows']}")
        return 0
    work = Path(tempfile.mkdtemp(prefix="redservice-bench-"))
    try:
        rows = ledger_rows(args.rows)
        csv_path = work / "服务台账.csv"
        with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows([HEADER, *rows])
        import xlsxwriter

        xlsx_path = work / "服务台账.xlsx"
        book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
        sheet = book.add_worksheet()
        for i, row in enumerate([HEADER, *rows]):
            sheet.write_row(i, 0, row)
        book.close()
        for path in (csv_path, xlsx_path):
            store = work / f"store-{path.suffix[1:]}"
            shutil.copytree(DEMO_DIR, store)
            started = time.perf_counter()
            batch, _ = ingest.run(store, [ingest.Source.from_path(path)])
            seconds = time.perf_counter() - started
            r = batch.reports[0]
            print(f"{path.suffix[1:]}: {r.rows_read} rows read, {r.loaded} loaded in {seconds:.1f} s "
                  f"({path.stat().st_size / 1e6:.1f} MB file)")
        print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


# -- one county's month into a large store (issue 22) ---------------------------------------------------
def partitioned_store(rows: int, out: Path) -> dict:
    """A store of ``rows`` records kept per county: the bench's replicated demo (``redservice.bench``:
    566 counties at 10 M, every name prefixed ``县NNN·``) with each community's and unit's 所属县 set to
    its prefix, written as generation 000001 with the records in county folders (by DuckDB, as a
    bench step: the importer would hold every record in memory to migrate a store this size)."""
    import duckdb

    from redservice import bench, storage
    from redservice.schema import TABLES, parquet_name

    out = Path(out)
    base = out / "base"
    stamp = bench.generate(rows, base, serve=False)
    generation = out / storage.TABLES_DIR / "000001"
    if (out / storage.GENERATION_FILE).is_file():
        return stamp
    shutil.rmtree(out / storage.TABLES_DIR, ignore_errors=True)
    generation.mkdir(parents=True)
    county = "split_part({col}, '·', 1)"
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")
        q = lambda p: "'" + str(p).replace("'", "''") + "'"  # noqa: E731 — paths the bench chose
        for table, col in (("communities", "community"), ("units", "unit")):
            con.execute(f"COPY (SELECT * REPLACE ({county.format(col=col)} AS county) FROM read_parquet("
                        f"{q(base / parquet_name(table))})) TO {q(generation / parquet_name(table))} "
                        "(FORMAT parquet, COMPRESSION zstd)")
        for table in TABLES:
            if table not in ("communities", "units", *storage.PARTITIONED) and (base / parquet_name(table)).is_file():
                os.link(base / parquet_name(table), generation / parquet_name(table))
        cols = ", ".join(f"s.{c}" for c in TABLES["services"])
        con.execute(f"CREATE TEMP TABLE s AS SELECT {cols}, {county.format(col='s.community')} AS county "
                    f"FROM read_parquet({q(base / 'services.parquet')}) s")
        for table, select in (
                ("services", "SELECT * FROM s ORDER BY county, date"),
                ("service_households", f"SELECT h.record_id, h.household, s.county FROM read_parquet("
                                       f"{q(base / 'service_households.parquet')}) h JOIN s USING (record_id)")):
            staging = out / f".{table}.copy"
            shutil.rmtree(staging, ignore_errors=True)
            con.execute(f"COPY ({select}) TO {q(staging)} (FORMAT parquet, PARTITION_BY (county), "
                        "COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
            for folder in staging.iterdir():  # DuckDB's folder names (percent-encoded) → the store's
                name = storage.county_of_folder(folder.name)
                target = generation / table / storage.partition_folder(name)
                target.mkdir(parents=True)
                (file,) = folder.glob("*.parquet")
                os.replace(file, target / "part-000001.parquet")
            shutil.rmtree(staging)
    finally:
        con.close()
    for extra in ("config.toml", "manifest.json", "boundaries.geojson"):
        if (base / extra).is_file():
            shutil.copy2(base / extra, out / extra)
    (out / storage.GENERATION_FILE).write_text('{"generation": "000001"}', encoding="utf-8")
    return stamp


def county_month_ledger(directory: Path, county: str, path: Path, seed: int = 7) -> int:
    """One month of ``county``'s 服务台账 (the month after the store's last), as many records as the
    county has in an average month, written to ``path`` (CSV); returns its rows."""
    import duckdb

    from redservice import storage

    tables = storage.table_dir(directory)
    files = storage.partition_files(tables, "services")
    con = duckdb.connect(":memory:")
    try:
        q = lambda p: "'" + str(p).replace("'", "''") + "'"  # noqa: E731
        records, months, last = con.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT DATE_TRUNC('month', date)), MAX(date) FROM read_parquet({q(files[county])})"
        ).fetchone()
        members = con.execute(
            f"SELECT m.name, m.unit, m.community FROM read_parquet({q(tables / 'members.parquet')}) m "
            f"JOIN read_parquet({q(tables / 'communities.parquet')}) c ON c.community = m.community "
            "WHERE c.county = $c ORDER BY m.member_id", {"c": county}).fetchall()
    finally:
        con.close()
    n = max(1, round(records / max(1, months)))
    month = (last.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for i in range(n):
            name, unit, community = rng.choice(members)
            day = month + dt.timedelta(days=rng.randrange(28))
            codes = "、".join(f"{county}-{rng.randrange(1, 40)}-{rng.randrange(101, 1802)}" for _ in range(rng.randrange(1, 4)))
            out.writerow([f"{county}-M{month:%Y%m}-{i:06d}", day.isoformat(), name, unit, community,
                          rng.choice(["送政策", "送热饭", "义诊", "义剪", "政策宣讲"]), "日常服务",
                          f"{rng.choice([1, 1.5, 2, 2.5, 3])}小时", codes, str(rng.randrange(1, 6)), "入户走访"])
    return n


def _child(argv: list[str]) -> dict:
    """Run ``python -m redservice.ingest.bench --child …`` in a fresh process; its JSON line."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "redservice.ingest.bench", "--child", *argv],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - started, 2)
    return result


def child(argv: list[str]) -> int:
    """One measured step in this (fresh) process: ``build STORE`` (the full rebuild of the current
    generation's copy) or ``import STORE COUNTY FILE`` (``import --county``, committed)."""
    from redservice import serving, storage

    started = time.perf_counter()
    if argv[0] == "build":
        directory = Path(argv[1])
        serving.refresh(storage.table_dir(directory), serving.build_rules(directory), serving.build_limits_of(directory))
        result = {"step": "full rebuild", "mode": serving.last_refresh.get("mode")}
    elif argv[0] == "build-county":
        directory, county = Path(argv[1]), argv[2]
        serving.refresh(storage.table_dir(directory), serving.build_rules(directory), serving.build_limits_of(directory),
                        counties={county})
        result = {"step": "build --county", "mode": serving.last_refresh.get("mode"),
                  "reason": serving.last_refresh.get("reason")}
    else:
        directory, county, file = Path(argv[1]), argv[2], Path(argv[3])
        batch, generation = ingest.run(directory, [ingest.Source.from_path(file)], county=county)
        r = batch.reports[0]
        result = {"step": "import --county", "generation": generation, "rows_read": r.rows_read, "loaded": r.loaded,
                  "rejected": r.rejected, "mode": serving.last_refresh.get("mode"),
                  "reason": serving.last_refresh.get("reason")}
    usage = resource.getrusage(resource.RUSAGE_SELF)  # DuckDB's threads included
    result.update(seconds=round(time.perf_counter() - started, 2), cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
                  peak_rss_mb=round(serving.peak_rss_mb()))
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _spark_build(store: Path, conf: list[str], county: str | None = None) -> dict:
    """``build --engine spark [--county C] --json`` on ``store`` in a fresh process; its JSON."""
    started = time.perf_counter()
    argv = [sys.executable, "-m", "redservice", "build", "--engine", "spark", "--data", str(store), "--json"]
    argv += ["--county", county] if county else []
    argv += [x for c in conf for x in ("--spark-conf", c)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - started, 2)
    return result


def county_import(rows: int, work: Path, county: str | None = None, spark_conf: list[str] | None = None) -> dict:
    """On one store of ``rows`` records: a full rebuild of its serving copy, then one county's month
    imported with ``--county`` (each in a fresh process), and the import's time ÷ the rebuild's.
    ``spark_conf`` (a list, empty for none): also the Spark build of the store before the import and
    ``build --engine spark --county`` after it, and that copy compared with the importer's
    serving.duckdb (the same rows in every table)."""
    from redservice import serving, storage

    store = Path(work) / f"county-import-{rows}"
    prepared = time.perf_counter()
    stamp = partitioned_store(rows, store)
    prepared = time.perf_counter() - prepared
    counties = list(storage.partition_files(storage.table_dir(store), "services"))
    county = county or counties[0]
    rebuild = _child(["build", str(store)])
    spark_full = _spark_build(store, spark_conf) if spark_conf is not None else None
    # a second store of the same files (hard links: a copy is replaced by a new file, never rewritten),
    # into which the county's new files are put as another writer than the importer would put them
    synced = Path(work) / f"county-sync-{rows}"
    shutil.rmtree(synced, ignore_errors=True)
    shutil.copytree(store, synced, copy_function=os.link)
    ledger = store / f"{county}-month.csv"
    n = county_month_ledger(store, county, ledger)
    imported = _child(["import", str(store), county, str(ledger)])
    spark = None
    if spark_conf is not None:
        by_spark = _spark_build(store, spark_conf, county)
        compared = serving.compare_parquet_build(storage.table_dir(store))
        spark = {"full": spark_full, "county": by_spark, "ratio": round(by_spark["wall_s"] / spark_full["wall_s"], 4),
                 "tables_compared": len(compared),
                 "same_rows": all(c["types"] and c["differing"] == 0 and c["rows"] == c["spark_rows"] for c in compared)}
    for table in storage.PARTITIONED:
        folder = storage.table_dir(synced) / table / storage.partition_folder(county)
        for old in folder.glob("*.parquet"):
            old.unlink()
        os.link(storage.partition_files(storage.table_dir(store), table)[county], folder / "part-synced.parquet")
    by_county = _child(["build-county", str(synced), county])
    shutil.rmtree(synced, ignore_errors=True)
    return {"store_rows": rows, "counties": len(counties), "county": county, "ledger_rows": n,
            "prepare_s": round(prepared, 1), "full_rebuild": rebuild, "county_import": imported,
            "ratio": round(imported["wall_s"] / rebuild["wall_s"], 4), "build_county": by_county,
            "build_county_ratio": round(by_county["wall_s"] / rebuild["wall_s"], 4), "spark": spark,
            "generator": stamp.get("generator")}


if __name__ == "__main__":
    raise SystemExit(main())
