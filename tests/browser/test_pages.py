"""Every page of the navigation, in zh and en, in headless Chromium at 1920×1080.

Fails on an exception or error box, a chart or map that did not draw, Chinese that renders as
boxes, or any request leaving 127.0.0.1. Saves a screenshot per page and language under
artifacts/screenshots/ and prints each page's time to a full render (printed, not asserted).
"""

from __future__ import annotations

import time
import tomllib
from urllib.parse import urlparse

import pytest

from browser.conftest import SCREENSHOT_DIR
from browser.layout_check import LAYOUT
from redservice.config import PROJECT_DIR
from redservice.i18n import t

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1920, "height": 1080}

# Two different CJK characters drawn in a font stack: identical bitmaps mean both are the
# "missing glyph" box, i.e. the font has no Chinese.
GLYPH_CHECK = """(font) => {
  const draw = (ch) => {
    const c = document.createElement('canvas'); c.width = 48; c.height = 48;
    const g = c.getContext('2d'); g.font = '32px ' + font; g.fillStyle = '#000';
    g.fillText(ch, 4, 38); return Array.from(g.getImageData(0, 0, 48, 48).data).join(',');
  };
  const a = draw('社'), b = draw('区'), blank = draw(' ');
  return a !== b && a !== blank;
}"""

PAGE_STATE = """() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  const visible = (e) => e.offsetParent !== null || e.getClientRects().length > 0;
  return {
    exceptions: q("[data-testid='stException']").map(e => e.innerText.slice(0, 300)),
    errors: q("[data-testid='stAlertContentError']").map(e => e.innerText.slice(0, 300)),
    plotly: q("[data-testid='stPlotlyChart']").filter(visible).map(e => ({
      svg: !!e.querySelector('.main-svg'),
      marks: e.querySelectorAll('.point, .bars path, .scatterlayer path.js-line, .pielayer path, ' +
                                '.heatmaplayer image, .funnellayer path, .scatterlayer .trace path').length,
    })),
    decks: q("[data-testid='stDeckGlJsonChart']").filter(visible).map(e => {
      const c = e.querySelector('canvas');
      return c ? {w: c.width, h: c.height} : null;
    }),
    bodyFont: getComputedStyle(document.body).fontFamily,
  };
}"""


# what st.file_uploader shows on its button and limits line (the page draws them after the text
# Streamlit writes in English, which it shrinks to nothing)
UPLOADER_TEXT = """() => [
  "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p",
  "[data-testid='stFileUploaderDropzoneInstructions'] span",
].map(s => {
  const e = document.querySelector(s);
  return getComputedStyle(e).fontSize === '0px' ? JSON.parse(getComputedStyle(e, '::after').content)
                                                 : e.innerText;
})"""
MAX_UPLOAD_MB = tomllib.loads((PROJECT_DIR / ".streamlit" / "config.toml").read_text(encoding="utf-8"))[
    "server"]["maxUploadSize"]


def wait_for_app(page, timeout=60_000):
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stSkeleton']\").length === 0",
                           timeout=timeout)
    page.wait_for_timeout(210)  # pydeck's debounce, as in Streamlit's own e2e suite


def open_page(chromium, url, viewport=None):
    context = chromium.new_context(viewport=viewport or VIEWPORT, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    outside: list[str] = []

    def check(request):
        parsed = urlparse(request.url)
        if parsed.scheme in ("data", "blob", "about"):
            return
        if parsed.hostname not in ("127.0.0.1", "localhost"):
            outside.append(request.url)

    page.on("request", check)
    started = time.perf_counter()
    page.goto(url)
    wait_for_app(page)
    return context, page, outside, time.perf_counter() - started


def navigation_paths(chromium, app_url) -> list[str]:
    """Pages as the navigation lists them (so a new page is covered without editing this test)."""
    context, page, _, _ = open_page(chromium, app_url)
    hrefs = page.eval_on_selector_all(
        "[data-testid='stTopNavLink'], [data-testid='stSidebarNavLink']",
        "els => els.map(e => e.getAttribute('href'))")
    context.close()
    paths = [""] + sorted({urlparse(h).path.strip("/").split("/")[-1] for h in hrefs if h} - {""})
    return paths


def test_every_page_in_both_languages(chromium, app_url):
    paths = navigation_paths(chromium, app_url)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    problems = []
    for path in paths:
        for lang in ("zh", "en"):
            url = f"{app_url}/{path}?lang={lang}" if lang == "en" else f"{app_url}/{path}"
            context, page, outside, seconds = open_page(chromium, url)
            name = f"{path or 'overview'}_{lang}"
            page.screenshot(path=str(SCREENSHOT_DIR / f"{name}_1920x1080.png"))
            problems += [f"{name} (1920x1080): {p}" for p in page.evaluate(LAYOUT)]
            state = page.evaluate(PAGE_STATE)
            print(f"{name}: full render in {seconds:.2f} s")
            where = f"{name} ({url})"
            if state["exceptions"] or state["errors"]:
                problems.append(f"{where}: error box {state['exceptions'] + state['errors']}")
            for i, chart in enumerate(state["plotly"]):
                if not chart["svg"] or chart["marks"] == 0:
                    problems.append(f"{where}: Plotly chart {i} drew nothing")
            for i, deck in enumerate(state["decks"]):
                if not deck or deck["w"] < 100 or deck["h"] < 100:
                    problems.append(f"{where}: map {i} has no canvas")
            if not page.evaluate(GLYPH_CHECK, state["bodyFont"]):
                problems.append(f"{where}: Chinese renders as boxes in {state['bodyFont']}")
            if outside:
                problems.append(f"{where}: requests left 127.0.0.1: {sorted(set(outside))[:5]}")
            context.close()
    assert not problems, "\n".join(problems)


def test_plotly_font_has_chinese(chromium, app_url):
    from redservice.charts import FONT

    context, page, _, _ = open_page(chromium, app_url)
    assert page.evaluate(GLYPH_CHECK, FONT), f"no CJK glyphs in the chart font stack {FONT}"
    context.close()


def test_filtered_url_survives_a_reload(chromium, app_url):
    url = f"{app_url}/?unit=%E5%8E%BF%E4%BD%8F%E5%BB%BA%E5%B1%80&period=last_quarter&lang=en"
    context, page, _, _ = open_page(chromium, url)
    for attempt in range(2):
        query = dict(p.split("=", 1) for p in urlparse(page.url).query.split("&") if "=" in p)
        assert query.get("period") == "last_quarter" and query.get("lang") == "en", page.url
        assert "unit" in query, page.url
        sidebar = page.locator("[data-testid='stSidebar']").inner_text()
        assert "县住建局" in sidebar and "1 Oct 2024 to 31 Dec 2024" in sidebar
        caption = page.locator("[data-testid='stMain'] [data-testid='stCaptionContainer']").first.inner_text()
        assert "1 Oct 2024" in caption
        if attempt == 0:
            page.reload()
            wait_for_app(page)
    context.close()


def test_deep_link_works_on_a_fresh_server(chromium, tmp_path_factory):
    """The first request after a start may be a shared link to any page, not the root."""
    from browser.conftest import streamlit_server

    with streamlit_server(tmp_path_factory.mktemp("fresh")) as url:
        context, page, _, _ = open_page(chromium, f"{url}/units?unit=%E5%8E%BF%E4%BD%8F%E5%BB%BA%E5%B1%80")
        state = page.evaluate(PAGE_STATE)
        assert not state["exceptions"] and not state["errors"], state
        assert "县住建局" in page.locator("[data-testid='stMain']").inner_text()
        context.close()


def test_data_page_upload_report(chromium, app_url, tmp_path):
    """Upload a ledger on the 数据管理 page (the demo: checked, not imported) and look at the report."""
    ledger = tmp_path / "服务台账.csv"
    ledger.write_bytes(("平陆县在职党员进社区服务台账\n序号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）,服务户号\n"
                        "1,2025/4/1,李明强,县卫生健康局,河阳社区,送政策,2.5小时,3-2-301、3-2-302\n"
                        "2,2025-04-02,李明强,县住建,河阳社区,送政策,2,\n"
                        "3,2025-04-03,刘波飞,县卫生健康局,新夏社区,义诊,30,\n"
                        "合计,,,,,,34.5,\n").encode("gbk"))
    for lang in ("zh", "en"):
        url = f"{app_url}/data" + ("?lang=en" if lang == "en" else "")
        context, page, outside, _ = open_page(chromium, url)
        # Streamlit writes the dropzone's button and limits in English; the page draws the catalogue's
        limits = t("data.upload_limits", lang, mb=MAX_UPLOAD_MB,
                   types=t("data.upload_types_sep", lang).join(["CSV", "XLSX", "XLS"]))
        assert page.evaluate(UPLOADER_TEXT) == [t("data.upload_button", lang), limits]
        page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(ledger))
        page.wait_for_selector("[data-testid='stExpander']", timeout=60_000)
        wait_for_app(page)
        state = page.evaluate(PAGE_STATE)
        assert not state["exceptions"] and not state["errors"], state
        text = page.locator("[data-testid='stMain']").inner_text()
        assert ("读取4行，导入1行" in text) if lang == "zh" else ("rows read 4; loaded 1" in text), text
        page.locator("[data-testid='stExpander']").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT_DIR / f"data_upload_{lang}.png"), full_page=True)
        assert not outside
        context.close()


def test_demo_city_pages(chromium, tmp_path):
    """The demo city (python -m redservice demo --city): 区县对比 in its navigation and drawn in zh,
    and a county chosen through the URL named in the header."""
    from browser.conftest import streamlit_server
    from redservice import demo, serving

    city = demo.write_city(tmp_path / "city")
    serving.refresh(city)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    problems = []
    (tmp_path / "server").mkdir()
    with streamlit_server(tmp_path / "server", city) as url:
        paths = navigation_paths(chromium, url)
        assert "counties" in paths
        for path in [p for p in paths if p == "counties"]:  # the other pages: test_pages, on one county
            context, page, outside, _ = open_page(chromium, f"{url}/{path}")
            page.screenshot(path=str(SCREENSHOT_DIR / f"city_{path or 'overview'}_zh.png"))
            state = page.evaluate(PAGE_STATE)
            if state["exceptions"] or state["errors"] or outside:
                problems.append(f"{path}: {state['exceptions'] + state['errors']} {outside[:3]}")
            if any(not d or d["w"] < 100 for d in state["decks"]) or any(not c["svg"] for c in state["plotly"]):
                problems.append(f"{path}: a chart or map did not draw")
            context.close()
        context, page, _, _ = open_page(chromium, f"{url}/counties?county=芮城县")
        assert page.locator("h1").first.inner_text().startswith("芮城县")
        context.close()
    assert not problems, "\n".join(problems)
