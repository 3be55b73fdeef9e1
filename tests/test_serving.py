"""The serving copy never changes an answer: every query every page makes gives the same figures
from the serving file, from the copy built in memory, from views over the raw Parquet records and
without the rollups and first occurrences (``Store(rollups=False)``: the records themselves); with
the filters the viewer can change (another unit, another period), the same from the file, the copy
in memory and the records; and the frames the store builds through Arrow are the frames DuckDB's
own conversion makes, dtypes included."""

import shutil
from datetime import date, timedelta

import pandas as pd
import pytest

from conftest import Q1_2025, SMALL, page_call_sets, write_store
from redservice import bench, serving
from redservice.config import DEMO_DIR
from redservice.filters import Filters
from redservice.store import Store


def _same_as_duckdb(store, call, result, page):
    """The store's frames are built through Arrow, typed as DuckDB's own conversion types them; but a
    text column with no value (an empty result, a column of NULLs) is text, where DuckDB says object."""
    own = store.con.execute(*store.bind(call.name, call.filters, call.scope, **dict(call.extra))).df()
    empty = [c for c in own.columns if own[c].dtype == object and own[c].isna().all()]
    for column in empty:
        assert pd.api.types.is_string_dtype(result[column]) and result[column].isna().all(), (page, call.name, column)
    pd.testing.assert_frame_equal(result.drop(columns=empty), own.drop(columns=empty), obj=f"{page} {call.name}")


def _compare_every_page(directory, unit, monkeypatch):
    monkeypatch.setenv("REDSERVICE_DATA", str(directory))
    serving.refresh(directory)
    stores = {k: Store(directory, source, rollups) for k, source, rollups in (
        ("file", "auto", True), ("memory", "memory", True), ("raw", "raw", True), ("records", "auto", False))}
    assert [s.mode for s in stores.values()] == ["file", "memory", "raw", "file"]
    compared = 0
    for page, n, calls in page_call_sets(directory, unit, 2):
        for c in calls:
            # the raw views recompute the whole copy per query (a second or more each on the
            # demo): every call is checked against them as the page makes it, the variants of
            # another unit and period against the copy in memory and the records without rollups
            modes = stores if n == 0 else {k: s for k, s in stores.items() if k != "raw"}
            results = {k: s.query(c.name, c.filters, c.scope, **dict(c.extra)) for k, s in modes.items()}
            for k in (k for k in ("memory", "raw", "records") if k in results):
                assert bench.compare_frames(results["file"], results[k], c.name) is None, (page, k, c)
            _same_as_duckdb(stores["file"], c, results["file"], page)
            compared += 1
    return compared


def test_every_page_query_is_the_same_on_the_demo(tmp_path, monkeypatch):
    directory = shutil.copytree(DEMO_DIR, tmp_path / "demo")
    assert _compare_every_page(directory, "县住建局", monkeypatch) > 200


def test_every_page_query_is_the_same_on_the_small_fixture(tmp_path, monkeypatch):
    # SMALL has services of members not on the roster, records without households or activity
    directory = write_store(tmp_path / "small", **SMALL)
    assert _compare_every_page(directory, "U1", monkeypatch) > 100


def test_ids_are_dense_and_shared(tmp_path):
    directory = write_store(tmp_path / "small", **SMALL)
    serving.refresh(directory)
    store = Store(directory)
    cur = store.con.cursor()
    for table, value, ident in (("member_ids", "member_id", "mid"), ("branch_ids", "branch", "bid"),
                                ("community_ids", "community", "cid"), ("activity_ids", "activity_id", "aid"),
                                ("household_ids", "household", "hid")):
        rows = cur.execute(f"SELECT {value}, {ident} FROM {table} ORDER BY {ident}").fetchall()
        assert [i for _, i in rows] == list(range(1, len(rows) + 1)), table
        assert [v for v, _ in rows] == sorted(v for v, _ in rows), table
        assert len(rows) > 0, table
    # a member's id is the same in every table
    assert cur.execute("SELECT COUNT(*) FROM services s JOIN members m ON m.member_id = s.member_id "
                       "WHERE s.mid <> m.mid").fetchone()[0] == 0
    # local ids: 1..n within each group, one per (group, value)
    for table, groups, value, local in (("household_facts", "cid", "household", "community_hh"),
                                        ("household_facts", "community, compound", "household", "compound_hh"),
                                        ("household_facts", "unit", "household", "unit_hh"),
                                        ("services", "unit", "mid", "unit_mid")):
        pairs = cur.execute(f"SELECT DISTINCT {groups}, {value}, {local} FROM {table} WHERE {value} IS NOT NULL").df()
        keys = [g.strip() for g in groups.split(",")]
        assert not pairs.duplicated(keys + [value]).any() and not pairs.duplicated(keys + [local]).any(), local
        for _, group in pairs.groupby(keys, dropna=False):
            assert sorted(group[local]) == list(range(1, len(group) + 1)), local
            assert list(group.sort_values(value)[local]) == sorted(group[local]), local
    maxima = {stat: cur.execute(f"SELECT MAX({col}) FROM {table}").fetchone()[0]
              for stat, (table, col) in serving.MAXIMA.items()}
    rules = {f"rollup_{k}": v for k, v in serving.points_rules_of().items()}
    assert store.stats == {**maxima, **rules} and rules["rollup_red_day_form"] == "红色服务日"
    dates = cur.execute("SELECT date FROM services").fetchall()
    assert dates == sorted(dates)


@pytest.mark.parametrize("fixture", ["demo", "small"])
def test_the_households_numbers_and_the_filter_values_are_what_they_mean(tmp_path, fixture):
    # the build computes these by shortcuts (flags over the windows' sorts, one LAG over the unit's
    # rows in household order, grouping sets): each against its plain definition over the copy itself
    # the small store with records awaiting approval (not counted) between a unit's counted records of
    # a household: its previous date is the counted one before (the demo's such records have no household)
    pending = [{**s, "record_id": f"{s['record_id']}p", "date": s["date"] - timedelta(days=20),
                "review_status": "待审核"} for s in SMALL["services"] if s["record_id"] in ("s2", "s3")]
    directory = (shutil.copytree(DEMO_DIR, tmp_path / "demo") if fixture == "demo"
                 else write_store(tmp_path / "small", **{**SMALL, "services": SMALL["services"] + pending}))
    serving.refresh(directory)
    store = Store(directory)
    cur = store.con.cursor()

    def differ(a: str, b: str) -> int:
        return cur.execute(f"SELECT (SELECT COUNT(*) FROM (({a}) EXCEPT ALL ({b}))) + "
                           f"(SELECT COUNT(*) FROM (({b}) EXCEPT ALL ({a})))").fetchone()[0]

    # each local-id table: one row per (partition, household), numbered 1..n in household order
    for table, part, local in (("community_households", "cid", "community_hh"),
                               ("compound_households", "community, compound", "compound_hh"),
                               ("unit_households", "unit", "unit_hh"), ("county_households", "county", "county_hh")):
        numbered = (f"SELECT {part}, household, CAST(DENSE_RANK() OVER (PARTITION BY {part} ORDER BY household) "
                    f"AS INTEGER) FROM (SELECT DISTINCT {part}, household FROM household_facts) d")
        assert differ(f"SELECT {part}, household, {local} FROM {table}", numbered) == 0, table
        assert differ(f"SELECT DISTINCT {part}, household, {local} FROM household_facts", numbered) == 0, table
    # unit_hh_prev: the previous date by the same unit of the same household, among rows counted alike
    assert differ("SELECT rkey, household, unit_hh_prev FROM household_facts",
                  "SELECT rkey, household, LAG(date) OVER (PARTITION BY counted, uid, household ORDER BY date, rkey) "
                  "FROM household_facts") == 0
    assert cur.execute("SELECT COUNT(*) FROM household_facts WHERE unit_hh_prev IS NOT NULL").fetchone()[0] > 0
    if fixture == "small":  # s2 (U1, h2, 31 March) follows s1 (1 January), not the pending record of 11 March
        assert cur.execute("SELECT unit_hh_prev FROM household_facts WHERE rkey = (SELECT rkey FROM services "
                           "WHERE record_id = 's2') AND household = (SELECT hid FROM household_ids "
                           "WHERE household = 'h2')").fetchone()[0] == date(2025, 1, 1)
    # dim_scoped: each dimension's values where they appear, one SELECT each
    plain = ("SELECT 'unit', unit, NULL, unit, community, county FROM members "
             "UNION SELECT 'unit', unit, NULL, unit, community, county FROM services "
             "UNION SELECT 'branch', branch, unit, unit, community, county FROM members WHERE branch IS NOT NULL "
             "UNION SELECT 'branch', branch, unit, unit, community, county FROM services WHERE branch IS NOT NULL "
             "UNION SELECT 'category', category, NULL, unit, community, county FROM services "
             "WHERE category IS NOT NULL "
             "UNION SELECT 'form', form, NULL, unit, community, county FROM services WHERE form IS NOT NULL")
    assert differ("SELECT * FROM dim_scoped", plain) == 0
    assert cur.execute("SELECT COUNT(DISTINCT dimension) FROM dim_scoped").fetchone()[0] == 4
    cur.close()
    store.close()


@pytest.mark.parametrize("damage", ["missing", "other records"])
def test_freshness_is_by_content(tmp_path, damage):
    a = write_store(tmp_path / "a", **SMALL)
    serving.refresh(a)
    assert serving.is_fresh(a)
    if damage == "missing":
        (a / "members.parquet").unlink()
    else:
        write_store(a, **{**SMALL, "services": SMALL["services"][:1]})
    assert not serving.is_fresh(a)


def test_a_file_missing_a_table_is_rebuilt_not_half_used(tmp_path):
    """A serving file of the right records but written by another version (a table this one reads is
    missing) is not used: the copy is built in memory, the answers stay."""
    import duckdb

    directory = write_store(tmp_path / "small", **SMALL)
    serving.refresh(directory)
    with duckdb.connect(str(serving.path(directory))) as con:
        con.execute("DROP TABLE branch_months")
    assert serving.is_fresh(directory)  # the fingerprint alone would say "use it"
    store = Store(directory)
    assert store.mode == "memory"
    assert len(store.query("unit_scorecard", Filters.make(*Q1_2025))) > 0
    store.close()
