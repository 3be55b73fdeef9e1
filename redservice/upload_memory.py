"""What a large upload on 数据管理 leaves in the server's memory once its tabs are gone.

    python -m redservice.upload_memory [--uploads 2] [--rows 2000] [--chars 5000] [--ttl 120] [--json]

Starts the dashboard on a copy of the demo county, and for each upload opens a new headless
Chromium (Playwright, as the browser tests), uploads a 服务台账 of ``--rows`` rows whose unit names
are ``--chars`` characters long (every row rejected: the largest report a file can give), waits
for the report, and closes the browser. It then samples the server's RSS (``VmRSS`` of its
process) every 5 s until ``--ttl`` + 60 s after the last tab closed, when every session has been
let go (``server.disconnectedSessionTTL``). Prints the baseline (after the first page view), the
peak, and the RSS at the end; the issue's target is the end within 50 MB of the baseline.
Needs the dev requirements (playwright) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from redservice import local_server
from redservice.config import DEMO_DIR

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
HEADER = "服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）"


def ledger(rows: int, chars: int) -> bytes:
    lines = [HEADER] + [f"2025-04-01,李明强,{'县' * (chars - 8)}{i:08d},河阳社区,送政策,2" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(uploads: int, rows: int, chars: int, ttl: int, log=print) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = next((p for p in CHROMIUM if Path(p).is_file()), None) or shutil.which("chromium")
    body = ledger(rows, chars)
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        shutil.copytree(DEMO_DIR, store)
        extra = {"STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": str(ttl)}
        with local_server.running(Path(tmp), store, extra) as (url, proc), sync_playwright() as pw:
            def sample() -> float:
                samples.append((time.time(), rss_mb(proc.pid)))
                return samples[-1][1]

            def visit(path: str = ""):
                browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
                page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
                page.goto(f"{url}/{path}")
                page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
                return browser, page

            browser, page = visit()
            links = page.eval_on_selector_all("[data-testid='stTopNavLink'], [data-testid='stSidebarNavLink']",
                                              "els => els.map(e => e.getAttribute('href'))")
            data_path = next(h for h in links if h and "data" in h).rstrip("/").split("/")[-1]
            browser.close()
            time.sleep(5)
            baseline = sample()
            log(f"baseline {baseline:.0f} MB")
            for i in range(uploads):
                browser, page = visit(data_path)
                started = time.time()
                page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
                    files=[{"name": f"upload{i}.csv", "mimeType": "text/csv", "buffer": body}])
                page.wait_for_selector("[data-testid='stExpander']", timeout=300_000)
                page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000)
                log(f"upload {i + 1}: report after {time.time() - started:.0f} s, server {sample():.0f} MB")
                browser.close()
            closed = time.time()
            while time.time() < closed + ttl + 60:
                time.sleep(5)
                sample()
            end = sample()
    result = {"uploads": uploads, "file_mb": round(len(body) / 2**20, 1), "baseline_mb": round(baseline),
              "peak_mb": round(max(r for _, r in samples)), "end_mb": round(end),
              "end_minus_baseline_mb": round(end - baseline), "ttl_s": ttl}
    log(f"peak {result['peak_mb']} MB, {ttl + 60} s after the last tab closed {end:.0f} MB "
        f"({end - baseline:+.0f} MB)")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m redservice.upload_memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--chars", type=int, default=5000)
    parser.add_argument("--ttl", type=int, default=120, help="server.disconnectedSessionTTL, seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.uploads, args.rows, args.chars, args.ttl,
                     log=(lambda *a: print(*a, file=sys.stderr)) if args.json else print)
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
