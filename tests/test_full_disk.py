"""A real full disk: the store on a small tmpfs, filled until only a little room is left.

Where the machine does not let the tests mount a tmpfs (not root, or no mount permission in the
container), these tests skip; ``test_import_failures`` covers the same paths with an injected
``OSError(ENOSPC)`` everywhere.

Whatever the free space, an import either lands whole or exits 3 with the Chinese 磁盘空间不足
message, the store exactly as it was and no staging left behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid

import pytest
from conftest import SMALL, write_store
from test_import_failures import ROWS, ledger
from test_ingest_kill import snapshot

from redservice import cli, ingest, serving, storage
from redservice.ingest import load



@pytest.fixture(scope="module")
def tmpfs(tmp_path_factory):
    """A 64 MB tmpfs of the test's own, or a skip."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root; test_import_failures injects ENOSPC instead")
    point = tmp_path_factory.mktemp("tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=700", f"redservice-{uuid.uuid4().hex[:8]}",
                           str(point)], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs ({done.stderr.strip()[:120]})")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


@pytest.fixture(scope="module")
def base(tmpfs, tmp_path_factory):
    """A small store with one import done (so it has a generation and a serving copy)."""
    store = write_store(tmpfs / "base", **SMALL)
    source = tmp_path_factory.mktemp("first") / "first.csv"
    ingest.run(store, [ingest.Source("first.csv", ledger(source, 0).read_bytes())])
    return store


@contextlib.contextmanager
def leaving(tmpfs, free_bytes: int):
    """Fill the tmpfs until ``free_bytes`` are left."""
    filler = tmpfs / "filler"
    room = shutil.disk_usage(tmpfs).free - free_bytes
    with open(filler, "wb") as out:
        out.write(b"\0" * max(room, 0))
    try:
        yield
    finally:
        filler.unlink()


@pytest.fixture
def store(tmpfs, base):
    path = tmpfs / "store"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(base, path, symlinks=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _services(store) -> int:
    return storage.read_table(store, "services").num_rows


def test_the_free_space_check_refuses_on_a_real_full_disk(tmpfs, store, tmp_path, capsys):
    path = ledger(tmp_path / "a.csv", 1)
    before = snapshot(store)
    with leaving(tmpfs, load.SPACE_MARGIN // 2):
        code = cli.main(["import", "--data", str(store), str(path)])
    err = capsys.readouterr().err
    assert code == 3 and "磁盘空间不足" in err and "现有数据没有任何改动" in err and "Traceback" not in err
    assert snapshot(store) == before
    assert not (store / load.STAGING_DIR).exists()


@pytest.mark.parametrize("free_kb", [0, 64, 1024, 4096, 24 * 1024])
def test_the_disk_filling_up_during_the_import(tmpfs, store, tmp_path, capsys, monkeypatch, free_kb):
    """The check passed (it estimates), then the writes meet the real end of the disk: while the
    Parquet files are staged (0 KB), while DuckDB writes or checkpoints the serving copy (64 KB to
    4 MB); with 24 MB the import fits and lands whole."""
    monkeypatch.setattr(load, "_check_space", lambda *args, **kwargs: None)
    path = ledger(tmp_path / "a.csv", 1)
    before, rows = snapshot(store), _services(store)
    with leaving(tmpfs, free_kb * 1024):
        code = cli.main(["import", "--data", str(store), str(path)])
    err = capsys.readouterr().err
    assert not (store / load.STAGING_DIR).exists()
    if free_kb < 8 * 1024:
        assert code == 3, err
        assert "磁盘空间不足" in err and "现有数据没有任何改动" in err and "Traceback" not in err
        assert snapshot(store) == before
        assert sorted(p.name for p in (store / storage.TABLES_DIR).iterdir()) == [before["generation"]]
        assert serving.is_fresh(storage.table_dir(store))  # the pages open on the old serving copy without a rebuild
    else:
        assert code == 0, err
        assert _services(store) == rows + ROWS
