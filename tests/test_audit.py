"""The import log: every import, from the page or the command line, is appended to the store's
audit.jsonl with who, when, the file's name and hash and its counts; kept across generations;
数据管理 shows it."""

from __future__ import annotations

import errno
import getpass
import hashlib

import pytest

from conftest import SMALL, run_app, write_store
from redservice import cli, datamgmt, ingest, storage
from redservice.ingest import audit, load
from test_import_failures import ledger


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store", **SMALL)


def test_every_import_is_logged_and_the_log_outlives_generations(store, tmp_path, capsys, monkeypatch):
    first = ledger(tmp_path / "台账1.csv", 1)
    assert cli.main(["import", "--data", str(store), str(first)]) == 0
    page_file = ledger(tmp_path / "台账2.csv", 2)
    files = [(page_file.name, page_file.read_bytes())]
    _, generation, committed = datamgmt.import_batch(datamgmt.check(store, files), files, "org@example.cn")
    assert committed and generation
    assert cli.main(["import", "--data", str(store), str(first)]) == 0  # the same file again: nothing new
    prefix = (store / audit.AUDIT_FILE).read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(load, "write_table", full)
    assert cli.main(["import", "--data", str(store), str(ledger(tmp_path / "台账3.csv", 3))]) == 3
    capsys.readouterr()
    assert (store / audit.AUDIT_FILE).read_bytes().startswith(prefix)  # appended, never rewritten

    log = list(reversed(audit.read(store)))
    assert [(e["file"], e["outcome"]) for e in log] == [
        ("台账1.csv", "committed"), ("台账2.csv", "committed"), ("台账1.csv", "unchanged"),
        ("台账3.csv", "failed:no_space")]
    assert log[0]["who"].startswith(getpass.getuser()) and log[1]["who"] == "org@example.cn"
    assert log[0]["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert (log[0]["rows_read"], log[0]["loaded"], log[0]["rejected"]) == (40, 40, 0)
    assert log[1]["generation"] == generation and "没有任何改动" in log[3]["detail"]
    # the dates the loaded rows carry: which periods the import touched (ledger n: March 2025)
    assert (log[0]["first_date"], log[0]["last_date"]) == ("2025-03-01", "2025-03-28")
    assert log[2]["first_date"] is None  # nothing new loaded
    # generations come and go (current and previous are kept); the log keeps every import
    assert len(list((store / storage.TABLES_DIR).iterdir())) <= 2


def test_the_data_page_shows_the_log(store, tmp_path, monkeypatch):
    ingest.run(store, [ingest.Source("台账1.csv", ledger(tmp_path / "a.csv", 1).read_bytes())], actor="wang@example.cn")
    at = run_app(page="app_pages/data.py", data_dir=store, monkeypatch=monkeypatch)
    assert not at.exception
    frames = [df.value for df in at.dataframe]
    log = next(f for f in frames if "导入人" in f.columns)
    assert list(log["导入人"]) == ["wang@example.cn"] and list(log["结果"]) == ["已导入"]
    assert list(log["文件"]) == ["台账1.csv"]
