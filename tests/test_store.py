"""The store is read-only and locked down once opened; its data version follows the files."""

import datetime as dt
import os
import time

import duckdb
import pytest

from conftest import SMALL, write_store
from redservice.store import Store


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "COPY (SELECT 1) TO '/tmp/redservice-escape.csv'",
    "ATTACH '/tmp/redservice-escape.duckdb'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
])
def test_escapes_are_refused(small_store, sql):
    with pytest.raises(duckdb.Error):
        small_store.con.cursor().execute(sql)


def test_version_changes_when_data_change(tmp_path):
    directory = write_store(tmp_path / "s", **SMALL)
    store = Store(directory)
    before = store.version()
    time.sleep(0.01)
    write_store(directory, **{**SMALL, "services": SMALL["services"][:2]})
    assert store.version() != before
    assert store.query("data_range").iloc[0]["records"] == 2  # views read the new files


def test_store_on_a_missing_table_is_empty_not_an_error(tmp_path):
    directory = tmp_path / "partial"
    directory.mkdir()
    store = Store(directory)
    assert store.query("data_range").iloc[0]["records"] == 0
    assert store.boundaries()["features"] == []
    assert store.manifest() == {}


def test_data_dir_from_environment(tmp_path, monkeypatch):
    from redservice import config

    monkeypatch.setenv("REDSERVICE_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path.resolve()
    assert config.data_dir(os.fspath(tmp_path / "x")) == (tmp_path / "x").resolve()
    monkeypatch.delenv("REDSERVICE_DATA")
    assert config.data_dir() == config.DEMO_DIR


def test_a_stale_serving_copy_is_not_used(tmp_path):
    from redservice import serving

    directory = write_store(tmp_path / "s", **SMALL)
    serving.refresh(directory)
    store = Store(directory)
    assert store.mode == "file"
    q1 = {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 3, 31)}
    assert store.query("kpis", filters=None, **q1).iloc[0]["households"] == 4
    time.sleep(0.01)
    extra = {**SMALL["services"][0], "record_id": "s99", "households": ["h77"]}
    write_store(directory, **{**SMALL, "services": SMALL["services"] + [extra]})
    assert not serving.is_fresh(directory)
    assert store.query("kpis", filters=None, **q1).iloc[0]["households"] == 5
    assert store.mode == "memory"  # built from the new records, the stale file ignored
    serving.refresh(directory)
    assert store.query("kpis", filters=None, **q1).iloc[0]["households"] == 5
    assert store.mode == "file"


def test_a_damaged_serving_copy_is_rebuilt_in_memory(tmp_path):
    from redservice import serving

    directory = write_store(tmp_path / "s", **SMALL)
    serving.path(directory).write_bytes(b"not a database")
    store = Store(directory)
    assert store.mode == "memory"
    assert store.query("data_range").iloc[0]["records"] == len(SMALL["services"])


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "ATTACH '/tmp/redservice-escape.duckdb'",
    "CREATE TABLE serving.x AS SELECT 1",
    "SET enable_external_access = true",
])
def test_escapes_are_refused_with_the_serving_file_attached(tmp_path, sql):
    from redservice import serving

    directory = write_store(tmp_path / "s", **SMALL)
    serving.refresh(directory)
    store = Store(directory)
    assert store.mode == "file"
    with pytest.raises(duckdb.Error):
        store.con.cursor().execute(sql)


def test_text_results_are_the_same_frame_as_through_python_objects(small_store):
    from redservice.store import compose

    fast = small_store.query("filter_options")
    slow = small_store.con.cursor().execute(compose("filter_options"),
                                            {"scope_units": None, "scope_communities": None, "scope_counties": None,
                                             "counties": None}).df()
    assert len(fast) > 0 and fast.equals(slow)
    assert list(fast.dtypes.astype(str)) == list(slow.dtypes.astype(str))


def test_an_edited_query_file_is_read_again(tmp_path, monkeypatch):
    """compose() is cached by the files' modification times: an edit (a deploy, a developer
    changing a query under a running app) is seen on the next query."""
    from redservice import store as store_module

    (tmp_path / "_base.sql").write_text("f_one AS (SELECT 1 AS x),\nf_two AS (SELECT 2 AS x)\n",
                                        encoding="utf-8")
    query = tmp_path / "probe.sql"
    query.write_text("SELECT x FROM f_one", encoding="utf-8")
    monkeypatch.setattr(store_module, "QUERY_DIR", tmp_path)
    first = store_module.compose("probe")
    assert "f_one AS" in first and "f_two" not in first
    assert store_module.compose("probe") is first  # cached
    query.write_text("SELECT x FROM f_two", encoding="utf-8")
    os.utime(query, ns=(time.time_ns(), query.stat().st_mtime_ns + 1_000_000))
    second = store_module.compose("probe")
    assert "f_two AS" in second and "f_one" not in second
    assert duckdb.sql(second).fetchall() == [(2,)]
