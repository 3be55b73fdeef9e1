"""redservice.sparksql: each DuckDB-only form the serving statements use, mapped to Spark SQL (the
text; tests/test_serving_spark.py runs the whole build on Spark and compares every table)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from redservice import serving

sparksql = pytest.importorskip("redservice.sparksql")


def test_the_record_key_is_a_hexadecimal_cast_both_engines_read():
    """serving.RKEY: DuckDB casts '0x…' as hexadecimal; Spark reads the digits with CONV (its CAST
    would give NULL). The value is the 64-bit integer of the MD5's first 16 hex digits, signed."""
    sql = sparksql.to_spark(f"SELECT {serving.RKEY} AS rkey FROM t s")
    assert "CONV(SUBSTRING(MD5(s.record_id), 1, 8), 16, 10)" in sql and "'0x'" not in sql
    for record_id in ("abc", "R-000001", "平陆县·2025-0001", ""):
        digest = hashlib.md5(record_id.encode()).hexdigest()
        expected = (int(digest[:8], 16) - 2**31) * 2**32 + int(digest[8:16], 16)
        got = duckdb.execute(f"SELECT {serving.RKEY} FROM (SELECT $r AS record_id) s", {"r": record_id}).fetchone()[0]
        assert got == expected, record_id


def test_a_month_is_truncated_to_a_date():
    sql = sparksql.to_spark("SELECT CAST(DATE_TRUNC('month', date) AS DATE) AS m, x < DATE_TRUNC('month', date) FROM t")
    assert sql.count("TRUNC(date, 'MM')") == 2 and "DATE_TRUNC" not in sql


def test_parameters_stay_bound():
    assert sparksql.to_spark("SELECT CAST($fp AS VARCHAR) AS f") == "SELECT CAST(:fp AS STRING) AS f"
    assert (sparksql.to_spark("SELECT CAST($counted AS VARCHAR[]) AS c", params="_params")
            == "SELECT CAST((SELECT counted FROM _params) AS ARRAY<STRING>) AS c")


def test_every_statement_translates():
    """Every serving statement parses and translates; no DuckDB-only name is left in it."""
    stmts = serving.statements(".", typed=lambda table: f"SELECT * FROM src_{table}")
    assert len(stmts) > 30
    for name, select, order in stmts:
        if name == "excluded_records":  # made from the values (sparksql.MAPPED)
            continue
        sql = sparksql.to_spark(f"SELECT * FROM ({select}) t{' ORDER BY ' + order if order else ''}", sparksql.PARAMS)
        for duckdb_only in ("LIST_CONTAINS", "HASH(", "DATE_TRUNC", "'0x'", "$", "READ_PARQUET", "UNNEST"):
            assert duckdb_only not in sql.upper(), (name, duckdb_only)
        if order:  # DuckDB sorts NULLs last, Spark first unless told
            assert "NULLS LAST" in sql, name


def test_a_global_numbering_is_recognised_and_only_it():
    """serving._ids of a fresh build (ROW_NUMBER() OVER (ORDER BY c), no PARTITION BY) is handed to
    serving_spark's range-partitioned numbering as the SELECT of the values alone; a partitioned or
    descending numbering, or any other statement, is not."""
    select = serving._ids("household", "hid", ("SELECT * FROM src_service_households",))
    values, column, name = sparksql.global_numbering(select)
    assert (column, name) == ("household", "hid") and "ROW_NUMBER" not in values.upper()
    con = duckdb.connect()
    con.execute("CREATE TABLE src_service_households AS SELECT * FROM (VALUES ('b'), ('a'), (NULL), ('a')) t(household)")
    assert sorted(r[0] for r in con.execute(values).fetchall()) == ["a", "b"]
    for other in (serving._local_ids("t", ("unit",), "mid", "unit_mid"),
                  "SELECT c, ROW_NUMBER() OVER (ORDER BY c DESC) AS n FROM t",
                  "SELECT c, ROW_NUMBER() OVER (ORDER BY d) AS n FROM t",
                  "SELECT c, COUNT(*) AS n FROM t GROUP BY c"):
        assert sparksql.global_numbering(other) is None, other
    ids = [s for n, s, _o in serving.statements(Path("."), typed=lambda t: f"SELECT * FROM src_{t}")
           if sparksql.global_numbering(s)]
    assert len(ids) == 6  # members, branches, communities, activities, units, households


def test_the_previous_copy_is_read_from_its_views():
    """A build carrying the previous copy's ids (serving._ids / _local_ids with carry) reads its tables as
    ``prev.<table>`` (DuckDB: that copy attached as prev); Spark reads the previous build's views
    ``prev_<table>``. Other qualified names are left as they are."""
    sql = sparksql.to_spark(serving._ids("member_id", "mid", ("SELECT * FROM src_members",), "member_ids"))
    assert "prev_member_ids AS p" in sql and "prev." not in sql
    sql = sparksql.to_spark(serving._local_ids("household_base", ("unit",), "household", "unit_hh", "unit_households"))
    assert "prev_unit_households AS p" in sql and "prev." not in sql
    assert sparksql.to_spark("SELECT * FROM other.t") == "SELECT * FROM other.t"
    carried = [s for _n, s, _o in serving.statements(Path("."), True, typed=lambda t: f"SELECT * FROM src_{t}")
               if "prev." in s]
    assert len(carried) == len(serving.CARRIED)
    assert all("prev." not in sparksql.to_spark(s, sparksql.PARAMS) for s in carried)


def test_a_cte_read_more_than_once_becomes_a_persisted_view():
    """Spark inlines a CTE at every reference (DuckDB computes it once): the carried ids read ``v`` twice
    and ``kept`` three times. to_spark_steps takes the statement's CTEs out as views, in order, marking
    those read more than once (the build persists them), and the statement reads the views under the
    CTEs' names as aliases; the same rows as the statement with its CTEs (DuckDB runs both here)."""
    select = serving._local_ids("hb", ("unit",), "household", "unit_hh", "unit_households")
    steps, main = sparksql.to_spark_steps(select, prefix="_s_")
    assert [(v, shared) for v, _q, shared in steps] == [("_s_v", True), ("_s_kept", True), ("_s_fresh", False),
                                                       ("_s_top", False)]
    assert "WITH" not in main.upper() and "_s_kept AS kept" in main
    assert sparksql.to_spark_steps("SELECT * FROM t") == ([], "SELECT * FROM t")
    once = "WITH a AS (SELECT 1 AS x) SELECT x FROM a"
    assert sparksql.to_spark_steps(once) == ([], sparksql.to_spark(once))
    con = duckdb.connect()
    con.execute("CREATE TABLE hb AS SELECT * FROM (VALUES ('u1', 3), ('u1', 1), ('u2', 1), (NULL, 2), ('u3', NULL)) t(unit, household)")
    con.execute("CREATE SCHEMA prev")
    con.execute("CREATE TABLE prev.unit_households AS SELECT * FROM (VALUES ('u1', 1, 1), (NULL, 2, 1), ('u9', 5, 1)) "
                "t(unit, household, unit_hh)")
    con.execute("CREATE TABLE prev_unit_households AS SELECT * FROM prev.unit_households")
    for view, query, _shared in steps:  # Spark SQL these simple forms share with DuckDB
        con.execute(f"CREATE VIEW {view} AS {query}")
    # kept: u1's household 1 and the NULL unit's 2; new: u1's 3 after u1's largest, u2's 1 first of u2
    expected = sorted([("u1", 1, 1), (None, 2, 1), ("u1", 3, 2), ("u2", 1, 1)], key=str)
    assert sorted(con.execute(main).fetchall(), key=str) == sorted(con.execute(select).fetchall(), key=str) == expected


def test_a_local_master_gets_few_shuffle_partitions():
    """Spark's 200 shuffle partitions suit a cluster; in local mode each is a task: four per core there,
    nothing set for a cluster's master (its own configuration decides)."""
    serving_spark = pytest.importorskip("redservice.serving_spark")
    assert serving_spark.local_defaults("local[*]") == {"spark.sql.shuffle.partitions": str(4 * (os.cpu_count() or 1))}
    assert serving_spark.local_defaults("local[3]") == {"spark.sql.shuffle.partitions": "12"}
    assert serving_spark.local_defaults("local") == {"spark.sql.shuffle.partitions": "4"}
    assert serving_spark.local_defaults("yarn") == serving_spark.local_defaults("spark://h:7077") == {}
