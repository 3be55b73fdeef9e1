"""An import killed (SIGKILL) at any point leaves the store as it was — or, once the commit point
has passed, complete — never a mix; the next import cleans up and works."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from redservice import ingest, storage
from redservice.config import DEMO_DIR, PROJECT_DIR
from redservice.schema import TABLES
from redservice.store import Store

HEADER = "记录编号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）,服务户号\n"
STAGES = ["table:communities", "table:services", "table:wishes", "staged", "renamed", "pointer-written", "committed"]
COMMITTED = {"committed"}

RUNNER = textwrap.dedent("""
    import sys, time
    from redservice.ingest import load
    stage = sys.argv[3]
    def checkpoint(name):
        if name == stage:
            print("AT", name, flush=True)
            time.sleep(120)
    load._checkpoint = checkpoint
    from redservice import cli
    sys.exit(cli.main(["import", "--data", sys.argv[1], sys.argv[2]]))
""")


def snapshot(directory) -> dict:
    """Every table's content (sorted rows) as the store's readers see it."""
    out = {"generation": storage.current_generation(directory)}
    for table in TABLES:
        data = storage.read_table(directory, table)  # a table kept per county: every county's files
        rows = sorted(map(repr, data.to_pylist())) if data is not None else []
        out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "台账.csv"
    lines = [HEADER] + [f"K{i:05d},2025-04-{i % 28 + 1:02d},李明强,县卫生健康局,河阳社区,送政策,2,{i}号\n"
                        for i in range(800)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def expected_after(tmp_path_factory, ledger):
    """The store after an uninterrupted import of the ledger (the household key fixed by env)."""
    store = tmp_path_factory.mktemp("clean") / "store"
    shutil.copytree(DEMO_DIR, store)
    os.environ["REDSERVICE_HOUSEHOLD_KEY"] = "kill-test-key"
    try:
        batch, generation = ingest.run(store, [ingest.Source.from_path(ledger)])
    finally:
        del os.environ["REDSERVICE_HOUSEHOLD_KEY"]
    assert batch.reports[0].loaded == 800
    return snapshot(store)


def _start(store, ledger, stage):
    env = {**os.environ, "REDSERVICE_HOUSEHOLD_KEY": "kill-test-key", "PYTHONPATH": str(PROJECT_DIR)}
    return subprocess.Popen([sys.executable, "-c", RUNNER, str(store), str(ledger), stage], cwd=PROJECT_DIR,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("stage", STAGES)
def test_kill_at_each_stage(tmp_path, ledger, expected_after, stage):
    store = tmp_path / "store"
    shutil.copytree(DEMO_DIR, store)
    before = snapshot(store)
    proc = _start(store, ledger, stage)
    line = proc.stdout.readline()
    assert line.strip() == f"AT {stage}", proc.stderr.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    state = snapshot(store)
    if stage in COMMITTED:
        assert state == {**expected_after, "generation": state["generation"]} and state["generation"]
    else:
        assert state == before
    # the dashboard opens it, and the next import finishes or redoes the work and cleans up
    assert Store(store).query("data_range").iloc[0]["records"] > 0
    os.environ["REDSERVICE_HOUSEHOLD_KEY"] = "kill-test-key"
    try:
        ingest.run(store, [ingest.Source.from_path(ledger)])
    finally:
        del os.environ["REDSERVICE_HOUSEHOLD_KEY"]
    after = snapshot(store)
    assert {k: v for k, v in after.items() if k != "generation"} == \
        {k: v for k, v in expected_after.items() if k != "generation"}
    assert not (store / ".staging").exists()
    assert len(list((store / "tables").iterdir())) <= 2


def test_kill_at_random_moments(tmp_path, ledger, expected_after):
    rng = random.Random(7)
    for attempt in range(3):
        store = tmp_path / f"store{attempt}"
        shutil.copytree(DEMO_DIR, store)
        before = snapshot(store)
        proc = _start(store, ledger, "never")
        time.sleep(rng.uniform(0.5, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        state = snapshot(store)
        plain = {k: v for k, v in state.items() if k != "generation"}
        assert state == before or plain == {k: v for k, v in expected_after.items() if k != "generation"}
