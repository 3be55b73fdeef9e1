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


def test_rollup_never_changes_an_answer(tmp_path):
    import shutil

    from redservice import metrics, rollup
    from redservice.config import DEMO_DIR
    from redservice.filters import Filters

    raw = shutil.copytree(DEMO_DIR, tmp_path / "raw")
    rollup.path(raw).unlink()
    fast, slow = Store(DEMO_DIR), Store(raw)
    assert fast.facts_fresh and not slow.facts_fresh
    for dims in ({}, {"units": ["县住建局", "县人民医院"]}, {"communities": ["北城社区"]},
                 {"categories": ["义诊"], "forms": ["红色服务日"]}):
        for start, end in (("2025-01-01", "2025-03-31"), ("2024-01-01", "2024-12-31"), ("2025-03-31", "2025-03-31")):
            f = Filters.make(dt.date.fromisoformat(start), dt.date.fromisoformat(end), **dims)
            assert metrics.kpis(fast, f) == metrics.kpis(slow, f), (dims, start)
            a = fast.query("community_summary", f)
            b = slow.query("community_summary", f)
            assert a.equals(b), (dims, start)


def test_a_stale_rollup_is_not_used(tmp_path):
    from redservice import rollup

    directory = write_store(tmp_path / "s", **SMALL)
    rollup.refresh(directory)
    store = Store(directory)
    assert store.facts_fresh
    time.sleep(0.01)
    extra = {**SMALL["services"][0], "record_id": "s99", "households": ["h77"]}
    write_store(directory, **{**SMALL, "services": SMALL["services"] + [extra]})
    assert not rollup.is_fresh(directory)
    assert store.query("kpis", filters=None, start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31)).iloc[0]["households"] == 5
    assert not store.facts_fresh
    rollup.refresh(directory)
    assert store.query("kpis", filters=None, start=dt.date(2025, 1, 1), end=dt.date(2025, 3, 31)).iloc[0]["households"] == 5
    assert store.facts_fresh
