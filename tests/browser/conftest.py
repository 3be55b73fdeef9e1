"""A real Streamlit server on 127.0.0.1 and headless Debian Chromium, for the browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from redservice.config import PROJECT_DIR

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
SCREENSHOT_DIR = PROJECT_DIR / "artifacts" / "screenshots"


def chromium_path() -> str | None:
    explicit = os.environ.get("REDSERVICE_CHROMIUM")
    for path in ((explicit,) if explicit else ()) + CHROMIUM_CANDIDATES:
        if path and Path(path).is_file():
            return path
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium fonts-noto-cjk)")
        pytest.skip("no Chromium found: install Debian's chromium and fonts-noto-cjk to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@contextlib.contextmanager
def streamlit_server(log_dir: Path, data_dir: Path | None = None, extra_env: dict | None = None):
    """Run `python -m streamlit run dashboard.py` on a free loopback port; yield its URL."""
    port = _free_port()
    log = log_dir / f"streamlit-{port}.log"
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
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"streamlit did not start:\n{log.read_text()}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    with streamlit_server(tmp_path_factory.mktemp("server")) as url:
        yield url
