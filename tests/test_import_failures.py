"""Imports that meet the machine's limits: several at once all land; a full disk, a file name the
file system refuses or a store that keeps moving end with exit code 3, a Chinese message that says
nothing was changed, the store as it was and no staging left behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from conftest import SMALL, write_store
from redservice import cli, ingest, storage
from redservice.config import PROJECT_DIR
from redservice.ingest import load
from test_ingest_kill import snapshot

HEADER = "记录编号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n"
ROWS = 40

# Each import waits after preparing its batch, so that all of them prepare before any commits:
# the window in which concurrent imports used to go stale.
RUNNER = textwrap.dedent("""
    import sys, time
    import redservice.ingest as ingest
    from redservice.ingest import batch
    real = batch.prepare
    def slow_prepare(*args, **kwargs):
        result = real(*args, **kwargs)
        time.sleep(1.0)
        return result
    ingest.prepare = slow_prepare
    from redservice import cli
    sys.exit(cli.main(["import", "--data", sys.argv[1], sys.argv[2]]))
""")


def ledger(path, n: int):
    lines = [f"C{n}-{i:03d},2025-03-{(i % 28) + 1:02d},张三明,U1,A社区,义诊,1.5\n" for i in range(ROWS)]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store", **SMALL)


def services(directory):
    return storage.read_table(directory, "services").to_pandas()


def test_five_concurrent_imports_all_land(store, tmp_path):
    files = [ledger(tmp_path / f"台账{n}.csv", n) for n in range(5)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    procs = [subprocess.Popen([sys.executable, "-c", RUNNER, str(store), str(f)], cwd=PROJECT_DIR, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0] * 5, [err[-500:] for _, err in results]
    got = services(store)
    assert len(got) == len(SMALL["services"]) + 5 * ROWS
    assert got["hours"].sum() == pytest.approx(sum(s["hours"] for s in SMALL["services"]) + 5 * ROWS * 1.5)
    assert not (store / load.STAGING_DIR).exists()


def _import(store, path, capsys) -> tuple[int, str]:
    code = cli.main(["import", "--data", str(store), str(path)])
    return code, capsys.readouterr().err


def test_full_disk_exits_3_with_the_store_unchanged(store, tmp_path, capsys, monkeypatch):
    before = snapshot(store)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(load, "write_table", full)
    code, err = _import(store, ledger(tmp_path / "a.csv", 1), capsys)
    assert code == 3
    assert "磁盘空间不足" in err and "现有数据没有任何改动" in err and "Traceback" not in err
    assert snapshot(store) == before
    assert not (store / load.STAGING_DIR).exists()
    assert not (store / storage.TABLES_DIR).exists() or not any((store / storage.TABLES_DIR).iterdir())


def test_duckdb_out_of_space_while_building_the_serving_copy(store, tmp_path, capsys, monkeypatch):
    ingest.run(store, [ingest.Source("a.csv", ledger(tmp_path / "a.csv", 1).read_bytes())])
    before = snapshot(store)

    def full(*args, **kwargs):
        raise duckdb.IOException('Could not write file "serving.duckdb": No space left on device')

    monkeypatch.setattr(load.serving, "refresh", full)
    code, err = _import(store, ledger(tmp_path / "b.csv", 2), capsys)
    assert code == 3 and "磁盘空间不足" in err
    assert snapshot(store) == before
    assert not (store / load.STAGING_DIR).exists()
    assert sorted(p.name for p in (store / storage.TABLES_DIR).iterdir()) == [before["generation"]]


def test_free_space_is_checked_before_writing(store, tmp_path, capsys, monkeypatch):
    before = snapshot(store)
    monkeypatch.setattr(load.shutil, "disk_usage", lambda path: type("U", (), {"free": 1024 * 1024})())
    writes = []
    monkeypatch.setattr(load, "write_table", lambda *a, **k: writes.append(a))
    code, err = _import(store, ledger(tmp_path / "a.csv", 1), capsys)
    assert code == 3 and "磁盘空间不足" in err
    assert writes == [] and snapshot(store) == before and not (store / load.STAGING_DIR).exists()


def test_a_store_that_keeps_moving_exits_3(store, tmp_path, capsys, monkeypatch):
    before = snapshot(store)
    calls = []

    def stale(batch, actor=None):
        calls.append(batch)
        raise ingest.StaleBatch("store moved")

    monkeypatch.setattr(ingest, "commit", stale)
    code, err = _import(store, ledger(tmp_path / "a.csv", 1), capsys)
    assert code == 3 and "已重试" in err and "现有数据没有任何改动" in err
    assert len(calls) == ingest.MAX_ATTEMPTS
    assert snapshot(store) == before


def test_a_very_long_file_name_is_archived_under_a_short_one(store, tmp_path, capsys):
    path = ledger(tmp_path / ("台账." + "x" * 240), 1)
    code, err = _import(store, path, capsys)
    assert code == 0, err
    assert [p.name.endswith(".bin.enc") for p in (store / load.ARCHIVE_DIR).iterdir()] == [True]
    assert len(services(store)) == len(SMALL["services"]) + ROWS
