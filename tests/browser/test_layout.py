"""Every page, zh and en, at 1366×768 (a common office laptop): nothing overflows its box or its
column, no two elements' boxes overlap, no text inside a chart overlaps another (a title over its
legend, crammed month labels) or is cut by the chart's edge (layout_check.LAYOUT; test_pages runs
the same check at 1920×1080 on the page it draws in both languages); a period without data shows
"—", never "0" (the 汇报 page in print: test_briefing_print).

Screenshots go to artifacts/screenshots/ (<page>_<lang>_<width>x<height>.png): look at them."""

from __future__ import annotations

import re

import pytest

from browser.conftest import SCREENSHOT_DIR
from browser.layout_check import LAYOUT
from browser.test_pages import navigation_paths, open_page

pytestmark = pytest.mark.browser
VIEWPORTS = ({"width": 1920, "height": 1080}, {"width": 1366, "height": 768})

METRIC_VALUES = """() => Array.from(document.querySelectorAll("[data-testid='stMain'] [data-testid='stMetricValue']"))
    .map(e => e.innerText.trim())"""


@pytest.fixture(scope="module")
def paths(chromium, app_url):
    return navigation_paths(chromium, app_url)


# 1366×768 here; 1920×1080 is checked by test_pages on the pages it draws (one browser visit of
# each page per language and size: four runs of every page took 2.8 minutes of CI)
LAYOUTS = [("zh", VIEWPORTS[1]), ("en", VIEWPORTS[1])]


@pytest.mark.parametrize("lang,viewport", LAYOUTS, ids=lambda v: v if isinstance(v, str) else f"{v['width']}x{v['height']}")
def test_nothing_overflows_or_overlaps(chromium, app_url, paths, viewport, lang):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    problems = []
    for path in paths:
        url = f"{app_url}/{path}" + ("?lang=en" if lang == "en" else "")
        context, page, _, _ = open_page(chromium, url, viewport)
        size = f"{viewport['width']}x{viewport['height']}"
        page.screenshot(path=str(SCREENSHOT_DIR / f"{path or 'overview'}_{lang}_{size}.png"))
        problems += [f"{path or 'overview'} ({lang}, {size}): {p}" for p in page.evaluate(LAYOUT)]
        context.close()
    assert not problems, "\n".join(problems)


# a period before the data (one after it is the same empty state, checked in AppTest by
# tests/test_requested_period.py)
@pytest.mark.parametrize("query", ["period=custom&start=2020-01-01&end=2020-06-30"], ids=["before"])
def test_a_period_without_data_shows_no_zero(chromium, app_url, paths, query):
    for path in [p for p in paths if p != "data"]:
        context, page, _, _ = open_page(chromium, f"{app_url}/{path}?{query}")
        values = page.evaluate(METRIC_VALUES)
        text = page.locator("[data-testid='stMain']").inner_text()
        context.close()
        assert values and set(values) == {"—"}, (path, values)
        assert not re.search(r"(?<![\d.])0(个|人|小时|户|人次|件|次|%)", text), (path, text[:400])
        assert "无数据" in text, path

