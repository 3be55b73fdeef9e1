"""汇报 page in print (Chromium's print layout, as Print → Save as PDF uses it): no header,
sidebar or buttons, the charts side by side and inside the page, the whole briefing on one A4 page."""

from __future__ import annotations

import re

import pytest

from browser.test_pages import open_page

pytestmark = pytest.mark.browser

PRINT_STATE = """() => {
  const shown = (s) => Array.from(document.querySelectorAll(s)).filter(
      e => getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0).length;
  const main = document.querySelector("[data-testid='stMainBlockContainer']").getBoundingClientRect();
  const charts = Array.from(document.querySelectorAll("[data-testid='stPlotlyChart']")).map(
      e => e.getBoundingClientRect());
  return {
    header: shown("header[data-testid='stHeader'] [data-testid='stTopNav']"),
    sidebar: shown("[data-testid='stSidebar']"),
    buttons: shown("[data-testid='stButton'], [data-testid='stDownloadButton']"),
    metrics: shown("[data-testid='stMetric']"),
    charts: charts.length,
    overflow: charts.filter(r => r.right > main.right + 1).length,
    rows: new Set(charts.map(r => Math.round(r.top))).size,
  };
}"""


def test_briefing_prints_on_one_a4_page(chromium, app_url):
    context, page, _, _ = open_page(chromium, f"{app_url}/briefing")
    page.emulate_media(media="print")
    state = page.evaluate(PRINT_STATE)
    assert state["header"] == 0 and state["sidebar"] == 0 and state["buttons"] == 0, state
    assert state["metrics"] == 10 and state["charts"] == 5, state
    assert state["overflow"] == 0, state
    assert state["rows"] == 2, state  # three columns side by side, not stacked
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    context.close()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the briefing printed on {pages} pages"
    assert re.search(rb"/MediaBox\s*\[0 0 841\.9", pdf), "not A4 landscape"
