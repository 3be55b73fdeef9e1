"""A real Streamlit server on 127.0.0.1 and headless Debian Chromium, for the browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

from redservice import local_server
from redservice.config import PROJECT_DIR

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
SCREENSHOT_DIR = PROJECT_DIR / "artifacts" / "screenshots"


def chromium_path() -> str | None:
    explicit = os.environ.get("REDSERVICE_CHROMIUM")
    for path in ((explicit,) if explicit else ()) + CHROMIUM_CANDIDATES:
        if path and Path(path).is_file():
            return path
    return shutil.which("chromium")


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
    """Run the dashboard on a free loopback port (redservice.local_server); yield its URL."""
    try:
        with local_server.running(log_dir, data_dir, extra_env) as (url, _proc):
            yield url
    except local_server.ServerFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    with streamlit_server(tmp_path_factory.mktemp("server")) as url:
        yield url
