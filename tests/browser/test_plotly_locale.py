"""Plotly's toolbar tips in the page's language: Chinese in the Chinese UI (the catalogue's [plotly]
dictionary, given in each chart's config: nothing fetched), Plotly's English in the English UI. The
full-screen button is Streamlit's own and stays English (docs/guide.md, 界面语言)."""

from __future__ import annotations

import pytest

from browser.test_pages import open_page

pytestmark = pytest.mark.browser

TITLES = """() => [...new Set(Array.from(document.querySelectorAll(
    "[data-testid='stPlotlyChart'] .modebar-btn")).map(e => e.getAttribute('data-title')))]"""


@pytest.mark.parametrize(("query", "expected", "foreign"), [
    ("", {"下载为PNG图片", "缩放", "平移", "自动缩放", "重置坐标轴"}, {"Zoom", "Pan", "Download plot as a PNG"}),
    ("?lang=en", {"Download plot as a PNG", "Zoom", "Pan", "Autoscale", "Reset axes"}, {"缩放", "平移"}),
], ids=["zh", "en"])
def test_the_chart_toolbar_speaks_the_page_language(chromium, app_url, query, expected, foreign):
    context, page, outside, _ = open_page(chromium, f"{app_url}/{query}")
    page.locator("[data-testid='stPlotlyChart']").first.hover()
    page.wait_for_timeout(300)
    titles = set(page.evaluate(TITLES))
    context.close()
    assert expected <= titles, titles
    assert not titles & foreign, titles
    assert not outside, sorted(set(outside))[:5]
