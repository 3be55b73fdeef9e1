"""The serving copy built on Apache Spark: the same tables as ``serving.refresh`` builds in DuckDB, from
the same statements (``serving.statements``, translated by ``redservice.sparksql``), written as
Parquet for the dashboard to attach read-only (``serving.attach``).

For a store too large for one machine's build: the records are read where Spark reads them (a local
directory, ``hdfs://``, ``s3a://``), each serving table is computed as a Spark SQL job and written as
Parquet under the generation's directory::

    <tables>/serving_parquet/<build>/<table>/part-*.parquet     one folder per serving table
    <tables>/serving_parquet/<build>/services/county=<name>/part-*.parquet   per county, as the records
    <tables>/serving_parquet/<build>/meta/part-*.parquet        written last

``build --county`` carries the previous build's ids and writes the tables kept per county for the counties
whose rows changed only, linking the others' files from the previous build (``build``). Every build keeps
``sources``, the digests of the record files it read (``serving.source_digests``).

A build is complete once its ``meta`` exists (it is written after every table, by Spark's own job
commit), so a reader never sees half a copy and no rename is needed (S3 has none). ``meta`` holds
the fingerprint of the records (``serving.fingerprint``: the same SHA-256s, computed by Spark where
the files are not local) and the largest ids, as DuckDB's build computes them; ``attach`` uses the
newest complete build whose fingerprint matches the records now present.

The steps the queries do not read (``serving.INTERMEDIATE``) are cached by Spark, not written;
every table written is read back from its Parquet files by the statements after it, so that each
is computed once. pyspark is an optional requirement (requirements-spark.txt): the dashboard never
imports this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from redservice import serving, sparksql, storage
from redservice.approval import DEFAULT_COUNTED
from redservice.schema import TABLES, parquet_name

DIR = serving.PARQUET_DIR
META = "meta"
# DuckDB's types of the record tables as Spark's (the schema's types are few)
_TYPES = {"VARCHAR": "STRING", "INTEGER": "INT", "BIGINT": "BIGINT", "DOUBLE": "DOUBLE", "DATE": "DATE",
          "BOOLEAN": "BOOLEAN"}


CONNECT_PORT = 15002  # Spark Connect's default port (a URL without one means it)


class Unreachable(Exception):
    """No Spark Connect server answers at the URL given (said before any work starts)."""


def check_reachable(remote: str, timeout: float = 10.0) -> None:
    """Raise ``Unreachable`` unless something listens at ``remote``'s host and port. The Connect client
    itself retries a refused connection with backoff for many minutes before it gives up; a build
    pointed at a wrong address says so at once instead."""
    parts = urlsplit(remote)
    if parts.scheme != "sc" or not parts.hostname:
        raise Unreachable(f"Spark Connect 地址应形如 sc://主机:端口，而不是 {remote}")
    try:
        port = parts.port or CONNECT_PORT
    except ValueError as exc:
        raise Unreachable(f"Spark Connect 地址 {remote} 的端口无效") from exc
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise Unreachable(f"无法连接 Spark Connect 服务器 {parts.hostname}:{port}（{exc.strerror or exc}）："
                          "请确认服务器已启动（sbin/start-connect-server.sh）且地址、端口无误；未生成任何查询副本") from exc


def session(master: str | None = None, remote: str | None = None, conf: dict | None = None):
    """A SparkSession: on ``master`` (default ``local[*]``, or spark-submit's), or a Spark Connect client of ``remote``
    (``sc://host:15002``). Dates and the month of a date do not depend on the time zone, but a
    session's zone is fixed anyway so that no cast of a date can shift it."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("redservice-serving")
    if remote:
        check_reachable(remote)
        builder = builder.remote(remote)
    elif master or not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # under spark-submit (which starts this process with its gateway's port) the master is
        # spark-submit's --master: not overridden unless one is given here
        builder = builder.master(master or "local[*]")
    settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}
    if not remote and (master or not os.environ.get("PYSPARK_GATEWAY_PORT")):
        settings.update(local_defaults(master or "local[*]"))
    settings.update(conf or {})
    if remote:  # a Connect server's static settings are its own
        settings = {k: v for k, v in settings.items() if k.startswith("spark.sql.")}
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def local_defaults(master: str) -> dict:
    """Settings for a local master (``local``, ``local[N]``, ``local[*]``): as many shuffle partitions as
    four per core rather than Spark's 200, sized for a cluster. Each partition is a task, and every
    read of a cached step reads all of them: at 1 M records a DISTINCT over the cached household rows
    took 12–15 s with 200 partitions on two cores and 1.5 s with 8, the whole build 232 s and 137 s.
    A cluster's master keeps its own (none set here); ``--spark-conf`` overrides."""
    if not master.startswith("local"):
        return {}
    inside = master[len("local"):].strip("[]").split(",")[0]  # local: one thread; local[N]; local[*]
    cores = 1 if not inside else max(1, int(inside)) if inside.isdigit() else os.cpu_count() or 1
    return {"spark.sql.shuffle.partitions": str(4 * cores)}


def active_session():
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def jvm_peak_rss_mb(spark) -> float | None:
    """Peak resident memory of a local-mode session's JVM (the work is done there, not in Python);
    None for a Connect client or where it cannot be read."""
    try:
        pid = spark.sparkContext._gateway.proc.pid
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except Exception:  # noqa: BLE001 - Spark Connect has no local JVM; not Linux
        return None
    return None


def is_remote(location: str | Path) -> bool:
    """True for a URL Spark reads (hdfs://, s3a://, file://), False for a local path."""
    return "://" in str(location)


def _join(base: str | Path, *parts: str) -> str:
    return "/".join([str(base).rstrip("/"), *parts])


def _local(location: str | Path) -> Path | None:
    """The local path of a location (a path or a file:// URL); None for another file system's URL."""
    text = str(location)
    if not is_remote(text):
        return Path(text)
    parts = urlsplit(text)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


class Refused(Exception):
    """``build --county`` asked of what cannot be built per county (said in Chinese, nothing written)."""


# -- where the records are --------------------------------------------------------------------------------
def table_dir(spark, data: str | Path) -> str:
    """The directory of the current generation's tables (``storage.table_dir``), for a URL too."""
    if not is_remote(data):
        return str(storage.table_dir(data))
    try:
        text = spark.read.text(_join(data, storage.GENERATION_FILE), wholetext=True).collect()[0][0]
    except Exception:  # noqa: BLE001 - no pointer file: the tables are at the top level (as storage reads it)
        return str(data).rstrip("/")
    generation = json.loads(text).get("generation")
    return _join(data, storage.TABLES_DIR, generation) if generation else str(data).rstrip("/")


def _remote_files(spark, tables: str) -> dict[str, list[tuple[str | None, str, str]]]:
    """Per record table of a URL: [(county or None, file, SHA-256)], as ``storage.table_files`` lists
    them (one file, else the last file of each county folder in folder order); hashed by Spark."""
    from pyspark.sql import functions as F

    out: dict[str, list] = {}
    for table in TABLES:
        found = []
        for pattern, partitioned in ((_join(tables, parquet_name(table)), False),
                                     (_join(tables, table, f"{storage.PARTITION_KEY}=*", "*.parquet"), True)):
            try:
                rows = (spark.read.format("binaryFile").load(pattern)
                        .select("path", F.sha2("content", 256).alias("sha")).collect())
            except Exception:  # noqa: BLE001 - no such file
                rows = []
            if not rows:
                continue
            if not partitioned:
                found = [(None, rows[0]["path"], rows[0]["sha"])]
                break
            last: dict[str, tuple[str, str]] = {}
            for row in sorted(rows, key=lambda r: r["path"]):
                folder = row["path"].rsplit("/", 2)[-2]
                last[folder] = (row["path"], row["sha"])
            found = [(storage.county_of_folder(folder), *last[folder]) for folder in sorted(last)]
            break
        out[table] = found
    return out


def _fingerprint_of(files: dict[str, list[tuple[str | None, str, str]]], single: dict[str, bool]) -> str:
    """``serving.fingerprint`` from the listed files and their digests."""
    parts = [serving.FORMAT_VERSION]
    for table in serving.SOURCES:
        listed = files.get(table) or []
        if not listed:
            digest = "-"
        elif single.get(table):
            digest = listed[0][2]
        else:
            digest = "partitioned:" + hashlib.sha256("|".join(f"{county}={sha}" for county, _f, sha in listed)
                                                      .encode()).hexdigest()
        parts.append(f"{table}:{digest}")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()


def _sources(spark, tables: str) -> tuple[dict[str, list[str]], str, set[tuple[str, str, str]]]:
    """The files of each record table, the records' fingerprint and their ``serving.source_digests``
    (what a build keeps as its ``sources``, for ``build --county`` to tell which counties changed)."""
    if not is_remote(tables):
        files = {t: [str(f) for f in storage.table_files(tables, t)] for t in TABLES}
        return files, serving.fingerprint(tables), serving.source_digests(tables)
    listed = _remote_files(spark, tables)
    single = {t: bool(v) and v[0][0] is None and v[0][1].endswith("/" + parquet_name(t)) for t, v in listed.items()}
    digests = {("format", "", serving.FORMAT_VERSION)}
    for table in serving.SOURCES:
        rows = listed.get(table) or []
        if not rows:
            digests.add((table, "", "-"))
        elif single[table]:  # an empty table builds what a missing one does (as source_digests)
            digests.add((table, "", "-" if spark.read.parquet(rows[0][1]).count() == 0 else rows[0][2]))
        else:
            digests |= {(table, storage.partition_folder(county), sha) for county, _f, sha in rows}
    return {t: [f for _c, f, _s in v] for t, v in listed.items()}, _fingerprint_of(listed, single), digests


def _register_sources(spark, files: dict[str, list[str]]) -> None:
    """A temporary view ``src_<table>`` per record table with the schema's types (as
    ``serving._typed``: NULL for a column a file predates, no rows for a missing table)."""
    for table, columns in TABLES.items():
        if files.get(table):
            df = spark.read.option("mergeSchema", "true").parquet(*files[table])
            have = set(df.columns)
            df = df.selectExpr(*(f"CAST({'`' + c + '`' if c in have else 'NULL'} AS {_TYPES[ty]}) AS `{c}`"
                                 for c, ty in columns.items()))
        else:
            df = spark.sql("SELECT " + ", ".join(f"CAST(NULL AS {_TYPES[ty]}) AS `{c}`" for c, ty in columns.items())
                           + " WHERE 1 = 0")
        df.createOrReplaceTempView(f"src_{table}")


# -- the build --------------------------------------------------------------------------------------------
def _params(spark, rules: dict, excluded: tuple[list[str], list[str]] | None) -> None:
    """The bound parameters of the settings tables as a one-row view (``sparksql`` reads ``$name`` from
    it; Spark 3.5's named markers take no arrays), and ``excluded_records`` from the values."""
    from pyspark.sql import types as T

    checks = rules.get("checks") or serving._default_checks()
    values = {**{k: rules[k] for k in serving.RULES}, "counted": list(rules.get("counted", DEFAULT_COUNTED)),
              "exclusion": serving.exclusion_key(rules), **checks, "key": serving.quality_key(rules)}

    def kind(v):
        if isinstance(v, (list, tuple)):
            return T.ArrayType(T.StringType())
        if isinstance(v, bool):
            return T.BooleanType()
        if isinstance(v, (int, float)):
            return T.DoubleType()
        return T.StringType()

    schema = T.StructType([T.StructField(k, kind(v)) for k, v in values.items()])
    row = [list(v) if isinstance(v, (list, tuple)) else (float(v) if isinstance(v, (int, float))
                                                          and not isinstance(v, bool) else v)
           for v in values.values()]
    spark.createDataFrame([row], schema).createOrReplaceTempView(sparksql.PARAMS)
    ids, codes = excluded or ([], [])
    spark.createDataFrame(list(zip(ids, codes)), "record_id STRING, rules STRING").createOrReplaceTempView(
        "excluded_records")


def _dense_ids(spark, values, column: str, name: str):
    """``values`` (distinct, not NULL) with ``name`` = 1..n in the order of ``column``: what
    ``ROW_NUMBER() OVER (ORDER BY column)`` gives, without sorting every value in one task. The values
    are range-partitioned on ``column`` (partition i holds smaller values than partition i + 1), each
    partition numbered on its own and offset by the rows of the partitions before it (a count per
    partition, collected: as many rows as partitions). Persisted so that the counts and the numbering
    read the same partitioning. A persisted block lost with its executor is recomputed, and the range
    bounds come from a sample of rows whose order a shuffle does not fix: on a cluster that loses an
    executor during this step the offsets could then miss the new partitioning (ids repeated or
    skipped across partitions); a checkpoint to reliable storage would close that, not done (local
    mode and the tests cannot lose an executor)."""
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    parts = max(1, int(spark.conf.get("spark.sql.shuffle.partitions") or 1))
    ranged = (values.repartitionByRange(parts, F.col(column).asc())
              .withColumn("_part", F.spark_partition_id()).persist(StorageLevel.MEMORY_AND_DISK))
    offsets, total = [], 0
    for part, rows in sorted((r["_part"], r["count"]) for r in ranged.groupBy("_part").count().collect()):
        offsets.append((part, total))
        total += rows
    offset = spark.createDataFrame(offsets or [(0, 0)], "_part INT, _offset BIGINT")
    within = Window.partitionBy("_part").orderBy(F.col(column).asc())
    numbered = (ranged.join(F.broadcast(offset), "_part")
                .select(column, (F.col("_offset") + F.row_number().over(within)).cast("int").alias(name)))
    return numbered, ranged  # the caller releases ``ranged`` once ``numbered`` is written


def _county_digests(df) -> dict:
    """{county: (rows, sum of the rows' 64-bit hashes)} of a table kept per county: two counties' rows
    are taken as the same when both agree. A row's hash reads every column and which are NULL (Spark's
    hash skips a NULL: without the mask a NULL moved from one column to another would not show)."""
    from pyspark.sql import functions as F

    key = storage.PARTITION_KEY
    cols = [c for c in df.columns if c != key]
    nulls = F.concat_ws("", *(F.col(c).isNull().cast("int").cast("string") for c in cols))
    row = F.xxhash64(*(F.col(c) for c in cols), nulls).cast("decimal(38,0)")
    return {r[0]: (r[1], r[2]) for r in df.groupBy(key).agg(F.count(F.lit(1)), F.sum(row)).collect()}


def _write_changed_counties(spark, df, target: str, order: str, previous: Path) -> tuple[list, list]:
    """``build --county``: a table kept per county written as ``_write_per_county`` writes it, but only
    the counties whose rows differ from the previous build's (``previous``: its folder of the table,
    local); every other county's files are hard links of the previous build's (a county's rows can
    change with another county's records: a member serving in both, whose first record of a day or
    of an activity moves — so the rows are compared, not assumed). Returns (counties written, counties
    linked)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    key = storage.PARTITION_KEY
    df = df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        new = _county_digests(df)
        old = _county_digests(spark.read.schema(df.schema).parquet(str(previous)))
        written = sorted((c for c in new if new[c] != old.get(c)), key=str)
        named = [c for c in written if c is not None]
        keep = F.col(key).isin(named) if named else F.lit(False)
        if None in written:
            keep = keep | F.col(key).isNull()
        _write_per_county(df.filter(keep), target, order)
    finally:
        df.unpersist()
    linked = []
    for folder in sorted(p for p in previous.iterdir() if p.is_dir()):
        county = storage.county_of_folder(folder.name)
        if county in new and county not in written:
            (_local(target) / folder.name).mkdir(parents=True)
            for file in folder.glob("*.parquet"):
                os.link(file, _local(target) / folder.name / file.name)
            linked.append(county)
    return written, linked


def _write_per_county(df, target: str, order: str) -> None:
    """A table of serving.PARTITIONED_SERVING written as one Parquet file per county
    (``<table>/county=<name>/part-*.parquet``; Spark's folder names: the NULL county's is
    ``__HIVE_DEFAULT_PARTITION__``, special characters percent-encoded, as DuckDB reads them), each
    sorted by the table's ORDER BY as DuckDB sorts (ascending, NULLs last), so that a period filter
    skips row groups within a county's file as it skips blocks of DuckDB's table. The rows are
    shuffled by county, so that each county is written by one task: one file, not one per task."""
    from pyspark.sql import functions as F

    key = storage.PARTITION_KEY
    columns = [c.strip() for c in order.split(",") if c.strip()]
    assert columns and all(c.isidentifier() for c in columns), order  # plain column names
    (df.repartition(F.col(key)).sortWithinPartitions(F.col(key), *(F.col(c).asc_nulls_last() for c in columns))
     .write.mode("overwrite").partitionBy(key).parquet(target))


# Seconds per table of the last build in this process (the bench reads it)
timings: dict[str, float] = {}
# How the last build in this process went (the CLI prints it): mode "full", "incremental" (build
# --county: the tables kept per county written for the counties whose rows changed only) or
# "unchanged"; reason (why not incremental), counties asked for, previous build, and per table kept
# per county the counties written and those linked from the previous build
last_build: dict = {}


def _sql(spark, select: str, release: list):
    """A statement as a DataFrame; its CTEs read more than once computed once (``sparksql.to_spark_steps``:
    persisted views, added to ``release`` for the caller to unpersist once the table is written)."""
    from pyspark import StorageLevel

    steps, main = sparksql.to_spark_steps(select, sparksql.PARAMS)
    for view, query, shared in steps:
        df = spark.sql(query)
        if shared:
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            release.append(df)
        df.createOrReplaceTempView(view)
    return spark.sql(main)


def _run(spark, out: str, rules: dict, excluded, keep_intermediate: bool = False, carry: bool = False,
         reuse: Path | None = None) -> None:
    """Every serving table written under ``out`` (the intermediate steps cached, not written).
    ``carry``: the ids of the previous build (views ``prev_<table>``, ``_register_previous``) kept, as
    ``serving.refresh`` carries the previous copy's. ``reuse``: that build's local folder, whose files
    are linked for the counties whose rows are unchanged (``_write_changed_counties``)."""
    from pyspark import StorageLevel

    _params(spark, rules, excluded)
    timings.clear()
    stmts = serving.statements(Path("."), carry, typed=lambda table: f"SELECT * FROM src_{table}")
    last_reads = serving._last_reads(stmts)
    cached, release = {}, []
    for i, (name, select, order) in enumerate(stmts):
        t0 = time.perf_counter()
        numbered = sparksql.global_numbering(select)
        if name == "excluded_records":
            df = spark.table("excluded_records")
        elif numbered:
            values, column, id_name = numbered
            df, ranged = _dense_ids(spark, spark.sql(sparksql.to_spark(values, sparksql.PARAMS)), column, id_name)
            release.append(ranged)
        elif name in serving.PARTITIONED_SERVING:
            df = _sql(spark, select, release)
        else:
            df = _sql(spark, f"SELECT * FROM ({select}) t{' ORDER BY ' + order if order else ''}", release)
        if name in serving.INTERMEDIATE:
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            if release:  # numbered from ``ranged``: computed now, before ``ranged`` is released below
                df.count()
            df.createOrReplaceTempView(name)
            cached[name] = df
        else:
            target = _join(out, name)
            if name in serving.PARTITIONED_SERVING and reuse is not None:
                written, linked = _write_changed_counties(spark, df, target, order, reuse / name)
                last_build.setdefault("written", {})[name] = written
                last_build.setdefault("linked", {})[name] = linked
                spark.read.schema(df.schema).parquet(target).createOrReplaceTempView(name)
            elif name in serving.PARTITIONED_SERVING:
                _write_per_county(df, target, order)
                spark.read.schema(df.schema).parquet(target).createOrReplaceTempView(name)
            else:
                # one file per table unless sorted (a sorted table's range partitions are written in
                # order: part-00000 holds the first rows), so that the small tables stay one file; a
                # numbered table is written by the tasks that number it (a coalesce would number in one)
                (df if order or numbered else df.coalesce(1)).write.mode("overwrite").parquet(target)
                spark.read.parquet(target).createOrReplaceTempView(name)
        for step in release:
            step.unpersist()
        release.clear()
        timings[name] = round(time.perf_counter() - t0, 2)
        if not keep_intermediate:
            for step in (s for s, last in last_reads.items() if last == i):
                cached.pop(step).unpersist()
    for df in cached.values():
        df.unpersist()


def _excluded(spark, scratch: str, rules: dict) -> tuple[list[str], list[str]] | None:
    """As ``serving._excluded``: with [quality] count_flagged = false, the records the excluding rules
    flag, from a first build without exclusion (written to ``scratch``)."""
    if rules.get("quality") is None:
        return None
    _run(spark, scratch, {**rules, "quality": None}, None, keep_intermediate=True)
    flagged = spark.sql(sparksql.to_spark(serving.FLAGGED)).collect()
    return serving.excluded_of([tuple(r) for r in flagged], rules)


def _previous_builds(spark, data: str | Path) -> list[str]:
    """The complete builds of the store at ``data`` (its current generation's and the one the importer
    keeps before it; a store without generations: its own), newest first: by generation, then by
    build (their names sort by time)."""
    local = _local(data)
    if local is not None:
        roots = [local] + sorted((local / storage.TABLES_DIR).glob("*"))
        found = [((root.name if root != local else ""), b) for root in roots for b in serving.parquet_builds(root)]
        found.sort(key=lambda x: (x[0], x[1].name), reverse=True)
        return [str(b) if not is_remote(data) else b.as_uri() for _g, b in found]
    metas = []
    for pattern in (_join(data, storage.TABLES_DIR, "*", DIR, "*", META, "*.parquet"), _join(data, DIR, "*", META, "*.parquet")):
        try:
            metas += [r["path"] for r in spark.read.format("binaryFile").load(pattern).select("path").collect()]
        except Exception:  # noqa: BLE001, S112 - nothing matches
            continue
    builds = {m.rsplit("/" + META + "/", 1)[0] for m in metas}
    return sorted(builds, key=lambda b: (b.rsplit("/", 3)[-3] if f"/{storage.TABLES_DIR}/" in b else "",
                                         b.rsplit("/", 1)[-1]), reverse=True)


def _read(spark, build: str, table: str):
    """A table of a previous build, or None when it has none."""
    try:
        return spark.read.parquet(_join(build, table))
    except Exception:  # noqa: BLE001 - no such table (an older build)
        return None


def _register_previous(spark, build: str) -> bool:
    """The previous build's id tables as views ``prev_<table>`` (the carried statements read them, as
    DuckDB's read the previous copy attached as ``prev``); False when it lacks one (not carried)."""
    tables = {t: _read(spark, build, t) for t in serving.CARRIED}
    if any(df is None for df in tables.values()):
        return False
    for table, df in tables.items():
        df.createOrReplaceTempView(sparksql.PREV + table)
    return True


def _stored_sources(spark, build: str) -> set | None:
    df = _read(spark, build, "sources")
    return None if df is None else {(r["source"], r["part"], r["digest"]) for r in df.collect()}


def _unchanged(spark, build: str, fp: str, rules: dict) -> bool:
    """The previous build is of these records with these settings."""
    from redservice import serving_incremental

    try:
        if spark.read.parquet(_join(build, META)).collect()[0]["fingerprint"] != fp:
            return False
        rollup = spark.read.parquet(_join(build, "rollup_settings")).collect()[0]
        approval = spark.read.parquet(_join(build, "approval_settings")).collect()[0]
        quality = spark.read.parquet(_join(build, "quality_settings")).collect()[0]
    except Exception:  # noqa: BLE001 - an older build without them
        return False
    return serving_incremental.stored_settings_differ([rollup[k] for k in serving.RULES], list(approval["counted"]),
                                                      approval["exclusion"], quality["key"], rules) is None


def _plan(spark, data, counties: set, digests: set, fp: str, rules: dict) -> tuple[str | None, str | None]:
    """``build --county``: (the previous build to carry the ids of, or None; the reason the build is
    not incremental, or None). Raises Refused for counties the store does not have."""
    known = {storage.county_of_folder(part) for source, part, _d in digests if source in storage.PARTITIONED and part}
    if not known:
        raise Refused(f"{data} 的记录未按区县分存（导入时用 import --county 才按区县存放），不能按区县更新；请去掉 --county 完整生成")
    builds = _previous_builds(spark, data)
    previous = next((b for b in builds if _register_previous(spark, b)), None)
    stored = None if previous is None else _stored_sources(spark, previous)
    gone = {storage.county_of_folder(part) for source, part, _d in stored or () if source in storage.PARTITIONED and part}
    unknown = sorted((c for c in counties if c not in known | gone), key=str)
    if unknown:
        raise Refused(f"未知区县：{'、'.join(map(str, unknown))}（本数据目录的区县：{'、'.join(sorted(c for c in known if c))}）")
    if previous is None:
        return None, "no previous copy"
    if stored is None:
        return previous, "the copy keeps no record of its sources (built by an older version)"
    if rules.get("quality") is not None:
        return previous, "[quality] count_flagged = false: the excluded records are judged over every record"
    changed, why = serving.counties_changed(stored, digests)
    if why:
        return previous, why
    others = changed - set(counties)
    if others:
        return previous, "records of other counties changed too: " + "、".join(sorted(map(str, others)))
    return previous, None


def build(spark, data: str | Path, rules: dict | None = None, counties: set | None = None) -> str:
    """Build the serving copy of the store at ``data`` (a directory or a URL) on ``spark``; returns the
    build's directory. ``rules``: as ``serving.refresh`` (default: the store's settings when it is
    local, else the default settings).

    ``counties`` (``build --county``): the build carries the ids of the previous complete build (this
    generation's, else the previous generation's: the one an import started from), as DuckDB's refresh
    carries the previous copy's, so that the copy is the one DuckDB's ``build --county`` or the
    importer's refresh makes. When those counties' records alone changed since that build (its
    ``sources``), the tables kept per county are written for the counties whose rows changed only,
    the other counties' files linked from the previous build (a local store; every county is written
    on another file system); when nothing changed, nothing is built (mode "unchanged": the previous
    build is returned). Otherwise the whole copy, carrying the ids when there is a previous build,
    saying why (``last_build``)."""
    tables = table_dir(spark, data)
    if rules is None:
        rules = serving.build_rules(None if is_remote(data) else data)
    files, fp, digests = _sources(spark, tables)
    last_build.clear()
    previous, reason = (None, None) if counties is None else _plan(spark, data, counties, digests, fp, rules)
    if counties is not None:
        last_build.update(counties=sorted(counties, key=str), previous=previous)
        # (a build of another generation is not this one's: the dashboard reads the current generation's)
        if reason is None and previous.startswith(_join(tables, DIR) + "/") and _unchanged(spark, previous, fp, rules):
            last_build.update(mode="unchanged")
            return previous
    _register_sources(spark, files)
    name = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
    out = _join(tables, DIR, name)
    excluded = _excluded(spark, _join(tables, DIR, "." + name + ".probe"), rules)
    reuse = _local(previous) if previous is not None and reason is None and _local(out) is not None else None
    _run(spark, out, rules, excluded, carry=previous is not None, reuse=reuse)
    last_build.update(mode="incremental" if counties is not None and reason is None else "full", reason=reason)
    spark.createDataFrame(sorted(digests), "source STRING, part STRING, digest STRING").coalesce(1) \
        .write.mode("overwrite").parquet(_join(out, "sources"))
    maxima = ", ".join(f"CAST(COALESCE((SELECT MAX({col}) FROM {table}), 1) AS INTEGER) AS {stat}"
                       for stat, (table, col) in serving.MAXIMA.items())
    spark.sql(sparksql.to_spark(f"SELECT CAST($fp AS VARCHAR) AS fingerprint, {maxima}"),
              args={"fp": fp}).coalesce(1).write.mode("overwrite").parquet(_join(out, META))
    if not is_remote(tables):
        # the probe and the builds before the previous one: a dashboard still reading the previous
        # build keeps its files until it opens this one
        builds = sorted(p for p in Path(tables, DIR).iterdir() if not p.name.startswith("."))
        for old in [p for p in Path(tables, DIR).iterdir() if p.name.startswith(".")] + builds[:-2]:
            shutil.rmtree(old, ignore_errors=True)
    return out
