"""数据管理 with a hostile upload: a file whose name and headers are Markdown (an image on a
loopback port, links) is shown as written — no request leaves the app's own origin, no image or
link is made from it."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from browser.conftest import streamlit_server
from browser.test_pages import navigation_paths, open_page, wait_for_app
from conftest import SMALL, write_store

pytestmark = pytest.mark.browser
BAIT = "http://127.0.0.1:8999"
FILE_NAME = f"**粗体**[链接]({BAIT}/file).csv"
HEADER = ["服务日期", f"![x]({BAIT}/i.png)", f"[点此下载正确模板]({BAIT}/t)", "姓名", "所属单位", "服务社区", "服务类别",
          "服务时长（小时）"]
ROW = ["2025-03-01", "a", "b", "张三明", "U1", "A社区", "义诊", "2"]


def test_markdown_in_an_upload_stays_text(chromium, tmp_path_factory):
    store = write_store(tmp_path_factory.mktemp("upload") / "store", **SMALL)
    body = (",".join(HEADER) + "\n" + ",".join(ROW) + "\n").encode("utf-8")
    with streamlit_server(tmp_path_factory.mktemp("upload-server"), data_dir=store) as url:
        data_path = next(p for p in navigation_paths(chromium, url) if "data" in p)
        context, page, outside, _ = open_page(chromium, f"{url}/{data_path}")
        own = urlparse(url).netloc
        foreign: list[str] = []
        page.on("request", lambda r: urlparse(r.url).scheme in ("http", "https", "ws", "wss")
                and urlparse(r.url).netloc != own and foreign.append(r.url))
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": FILE_NAME, "mimeType": "text/csv", "buffer": body}])
        page.wait_for_selector("[data-testid='stExpander']", timeout=60_000)
        wait_for_app(page)
        page.wait_for_timeout(1000)
        text = page.locator("[data-testid='stMain']").inner_text().replace("\u2060", "")  # word joiners
        made = page.evaluate("""() => [...document.querySelectorAll('img[src*="8999"], a[href*="8999"]')]
                                      .map(e => e.parentElement.closest("[data-testid]").getAttribute("data-testid") + ": " + e.parentElement.innerHTML.slice(0, 300))""")
        context.close()
    assert "**粗体**[链接]" in text  # the name as written, not bold text and a link
    assert f"![x]({BAIT}/i.png)" in text  # the ignored header, as written
    assert made == [] and foreign == [] and outside == []
