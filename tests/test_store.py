"""The store is read-only and locked down once opened; its data version follows the files."""

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
