"""``build --engine spark --spark-remote sc://…`` (issue 23): the build run by a Spark Connect client —
no JVM in the building process, every statement sent over gRPC to a server — writes the same serving
tables as DuckDB's build. The server is a separate process (tests/spark_connect_server.py), as on a
cluster; the client is the command line, in a process of its own. Skipped where pyspark or Java is
missing, except in CI."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import SMALL, write_store

from redservice import serving, storage

if os.environ.get("CI"):  # CI installs both (.ci/run): never skipped there
    import pyspark  # noqa: F401
pytest.importorskip("pyspark")
pytest.importorskip("grpc")
if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java (openjdk-17-jre-headless)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def connect_url():
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "spark_connect_server.py"), str(port)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = threading.Event()

    def wait():
        for line in server.stdout:
            if line.strip() == "ready":
                ready.set()
                return

    threading.Thread(target=wait, daemon=True).start()
    try:
        assert ready.wait(300), "the Spark Connect server did not start"
        yield f"sc://localhost:{port}"
    finally:
        server.stdin.close()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


def _build(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "redservice", "build", *args], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def test_build_through_spark_connect(connect_url, tmp_path):
    directory = write_store(tmp_path / "small", **SMALL)
    serving.refresh(directory)
    run = _build(["--engine", "spark", "--spark-remote", connect_url, "--data", str(directory), "--json"])
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    # a Connect client: no master of its own and no local JVM to measure
    assert result["remote"] == connect_url and result["master"] is None and result["jvm_peak_rss_mb"] is None
    assert result["out"].startswith(str(directory / serving.PARQUET_DIR))
    compared = serving.compare_parquet_build(storage.table_dir(directory))
    assert serving.identical(compared), [c for c in compared if c["differing"] or c["ordered"] is False]
    assert {c["table"]: c["rows"] for c in compared}["services"] == len(SMALL["services"])


def test_a_connect_server_that_is_not_there_is_said(tmp_path):
    """No server at the URL: the command fails with a message naming it, and writes no copy."""
    directory = write_store(tmp_path / "small", **SMALL)
    url = f"sc://localhost:{_free_port()}"
    run = _build(["--engine", "spark", "--spark-remote", url, "--data", str(directory)])
    assert run.returncode != 0
    assert f"无法连接 Spark Connect 服务器 {url.split('//')[1]}" in run.stderr, run.stderr[-2000:]
    assert not (directory / serving.PARQUET_DIR).exists() or not any((directory / serving.PARQUET_DIR).iterdir())
    for bad, said in (("http://localhost:15002", "应形如 sc://主机:端口"), ("sc://localhost:port", "端口无效")):
        run = _build(["--engine", "spark", "--spark-remote", bad, "--data", str(directory)])
        assert run.returncode != 0 and said in run.stderr, run.stderr[-2000:]
