"""The dashboard as a server of its own on a free loopback port, for the load test and the browser
tests: ``python -m streamlit run dashboard.py`` started, waited for (its health endpoint), and
stopped when the ``with`` block ends."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from redservice.config import PROJECT_DIR


class ServerFailed(RuntimeError):
    """The server did not answer in time; the message holds its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(log_dir: Path, data_dir: str | Path | None = None, extra_env: dict | None = None,
            timeout: float = 60):
    """Yield (URL, process) of a dashboard serving ``data_dir`` (the bundled demo when None); its
    output goes to a log file in ``log_dir``."""
    port = free_port()
    log = Path(log_dir) / f"streamlit-{port}.log"
    env = {**os.environ, **(extra_env or {})}
    env.pop("REDSERVICE_DATA", None)
    if data_dir is not None:
        env["REDSERVICE_DATA"] = str(data_dir)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise ServerFailed(f"streamlit did not start:\n{log.read_text(errors='replace')[-4000:]}")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
