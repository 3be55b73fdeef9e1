"""The load test speaks Streamlit's websocket protocol: a few sessions run 总览 and 单位与支部 with
their own filters and report no error (the figures it measures go to docs/benchmarks.md)."""

import json
import subprocess
import sys

from redservice.config import PROJECT_DIR


def test_two_sessions_run_both_pages_without_error(tmp_path):
    # its own process: asyncio.run needs a thread without a running event loop (Playwright's sync
    # API, used by other tests, leaves one in this process)
    done = subprocess.run([sys.executable, "-m", "redservice.load_test", "--sessions", "2", "--rounds", "2",
                           "--log-dir", str(tmp_path)], cwd=PROJECT_DIR, capture_output=True,
                          text=True, timeout=300)
    summary = json.loads(done.stdout)
    assert done.returncode == 0 and summary["errors"] == 0 and summary["page_runs"] == 4, done.stderr[-2000:]
    assert set(summary["by_page"]) == {"总览", "单位与支部"}
