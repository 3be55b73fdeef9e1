"""Every page, zh and en, at 1920×1080 and at 1366×768 (a common office laptop): nothing overflows
its box or its column, no two elements' boxes overlap, no text inside a chart overlaps another
(a title over its legend, crammed month labels) or is cut by the chart's edge; a period without
data shows "—", never "0" (the 汇报 page in print: test_briefing_print).

Screenshots go to artifacts/screenshots/ (<page>_<lang>_<width>x<height>.png): look at them."""

from __future__ import annotations

import re

import pytest

from browser.conftest import SCREENSHOT_DIR
from browser.test_pages import navigation_paths, open_page

pytestmark = pytest.mark.browser
VIEWPORTS = ({"width": 1920, "height": 1080}, {"width": 1366, "height": 768})

LAYOUT = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const vis = (e) => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const name = (e) => (e.getAttribute('data-testid') || e.tagName.toLowerCase()) + ' "' +
      (e.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 50) + '"';
  const area = (a, b) => Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) *
      Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
  const out = [];
  // text wider than its box (clipped with an ellipsis, or spilling into the next one)
  const texts = "[data-testid='stMetricValue'] > div, [data-testid='stMetricLabel'] p, " +
      "[data-testid='stMetricLabel'] > div, [data-testid='stMetricLabel'] [data-testid='stMarkdownContainer'], " +
      "[data-testid='stMetricDelta'] > div, [data-testid='stCaptionContainer'], [data-testid='stHeading'], " +
      "[data-testid='stMarkdownContainer'] p, [data-testid='stAlertContainer'], [data-testid='stCode'] pre";
  for (const e of main.querySelectorAll(texts)) {
    if (vis(e) && e.scrollWidth > e.clientWidth + 2) out.push('overflows its box: ' + name(e));
  }
  // an element outside its column
  for (const col of main.querySelectorAll("[data-testid='stColumn']")) {
    if (!vis(col)) continue;
    const c = col.getBoundingClientRect();
    for (const e of col.querySelectorAll("[data-testid='stElementContainer']")) {
      const r = e.getBoundingClientRect();
      if (vis(e) && (r.left < c.left - 2 || r.right > c.right + 2)) out.push('outside its column: ' + name(e));
    }
  }
  // two elements whose boxes overlap
  const leaves = Array.from(main.querySelectorAll("[data-testid='stElementContainer']"))
      .filter(e => vis(e) && !e.querySelector("[data-testid='stElementContainer']"));
  const rects = leaves.map(e => e.getBoundingClientRect());
  for (let i = 0; i < leaves.length; i++) for (let j = i + 1; j < leaves.length; j++) {
    if (area(rects[i], rects[j]) > 16) out.push('overlap: ' + name(leaves[i]) + ' / ' + name(leaves[j]));
  }
  // inside each chart: texts that overlap, texts cut by the chart's edge
  for (const chart of main.querySelectorAll("[data-testid='stPlotlyChart']")) {
    if (!vis(chart)) continue;
    const c = chart.getBoundingClientRect();
    const title = (chart.querySelector('.gtitle') || {}).textContent || 'chart';
    const words = Array.from(chart.querySelectorAll('svg text')).filter(t => t.textContent.trim() && vis(t));
    const boxes = words.map(t => t.getBoundingClientRect());
    words.forEach((t, i) => {
      const r = boxes[i];
      if (r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.bottom > c.bottom + 1)
        out.push(`cut by the chart "${title}": "${t.textContent.trim()}"`);
    });
    for (let i = 0; i < words.length; i++) for (let j = i + 1; j < words.length; j++) {
      if (words[i].contains(words[j]) || words[j].contains(words[i])) continue;
      if (area(boxes[i], boxes[j]) > 4)
        out.push(`texts overlap in "${title}": "${words[i].textContent.trim()}" / "${words[j].textContent.trim()}"`);
    }
  }
  return [...new Set(out)];
}"""

METRIC_VALUES = """() => Array.from(document.querySelectorAll("[data-testid='stMain'] [data-testid='stMetricValue']"))
    .map(e => e.innerText.trim())"""


@pytest.fixture(scope="module")
def paths(chromium, app_url):
    return navigation_paths(chromium, app_url)


# zh at both sizes; en, whose words are longer, at the narrower one (test_pages draws every page in
# en at 1920×1080 too): four runs of every page took 2.8 minutes of CI
LAYOUTS = [("zh", VIEWPORTS[0]), ("zh", VIEWPORTS[1]), ("en", VIEWPORTS[1])]


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

