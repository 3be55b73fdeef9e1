"""汇报存档 in a real browser, on a copy of the demo with one archived briefing and a later import:
the live page's archive panel and the archived view (banner, stored tiles and tables, the
comparison with today's data) lay out without overflow or overlap, and print without the panel.
Full-page screenshots: artifacts/screenshots/briefing_archive_live.png, briefing_archive_open.png."""

from __future__ import annotations

import shutil

import pytest

from browser.conftest import SCREENSHOT_DIR, streamlit_server
from browser.test_layout import LAYOUT
from browser.test_pages import open_page, wait_for_app
from redservice import cli, ingest
from redservice.config import DEMO_DIR

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1920, "height": 1080}
LEDGER = "记录编号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n" + "".join(
    f"LATE{i:03d},2025-03-{10 + i % 10:02d},补报党员{i},县住建局,北城社区,义诊,2\n" for i in range(20))


@pytest.fixture(scope="module")
def archived(tmp_path_factory):
    store = tmp_path_factory.mktemp("archive") / "store"
    shutil.copytree(DEMO_DIR, store)
    assert cli.main(["brief", "--data", str(store), "--archive", "--note", "报县委组织部"]) == 0
    from redservice.brief import archive

    (entry,) = archive.entries(store)
    batch, generation = ingest.run(store, [ingest.Source("三月补报.csv", LEDGER.encode("utf-8"))],
                                   add_new_names=True, actor="wang@example.cn")
    assert generation and batch.loaded == 20, [e.reason("三月补报.csv") for r in batch.reports for e in r.errors][:3]
    return entry["id"], store


@pytest.fixture(scope="module")
def server(archived, tmp_path_factory):
    ident, store = archived
    with streamlit_server(tmp_path_factory.mktemp("server2"), store) as url:
        yield url, ident


def tall(page, name: str) -> None:
    """The whole page in one picture: Streamlit scrolls inside its own box, so the window is made
    as tall as the page for the screenshot, then put back."""
    height = page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], height + 40)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(SCREENSHOT_DIR / name))
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(300)


def test_archive_panel_and_archived_view(chromium, server):
    url, ident = server
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    context, page, outside, _ = open_page(chromium, f"{url}/briefing", VIEWPORT)
    assert page.get_by_text("存档本期汇报").count() == 1 and page.get_by_text("已存档的汇报（最新在前）").count() == 1
    tall(page, "briefing_archive_live.png")
    assert not page.evaluate(LAYOUT)
    page.emulate_media(media="print")
    assert page.evaluate("() => getComputedStyle(document.querySelector('.st-key-briefing_archive')).display") == "none"
    context.close()

    context, page, outside, _ = open_page(chromium, f"{url}/briefing?archive={ident}", VIEWPORT)
    assert page.get_by_text("这是存档的汇报").count() == 1
    page.get_by_text("与现在的数据对比").click()
    page.get_by_text("存档之后导入、且涉及该期间的台账").wait_for(timeout=30_000)
    wait_for_app(page)
    tall(page, "briefing_archive_open.png")
    assert not page.evaluate(LAYOUT)
    assert not outside
    context.close()
