"""The 社区覆盖 map in headless Chromium: the tooltip shows a community's figures as text, and a
click on the map or on a ranking bar opens that community's drill-down — all without a request
leaving 127.0.0.1."""

from __future__ import annotations

import pytest

from browser.test_pages import open_page, wait_for_app

pytestmark = pytest.mark.browser


def _drill_heading(page) -> str:
    return page.locator("[data-testid='stHeading'] h3").first.inner_text()


def test_tooltip_and_clicks_drill_down(chromium, app_url):
    # The entry page first: it registers the navigation (a server's very first request going
    # straight to /coverage would run the page file on its own).
    context, page, outside, _ = open_page(chromium, app_url)
    page.goto(f"{app_url}/coverage?map=hours")
    wait_for_app(page)
    assert "·" not in _drill_heading(page)  # nothing chosen yet

    box = page.locator("[data-testid='stDeckGlJsonChart'] canvas").first.bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.45
    page.mouse.move(x, y)
    tooltip = page.locator(".deck-tooltip")
    tooltip.wait_for(state="visible", timeout=10_000)
    lines = tooltip.inner_text().splitlines()
    community = lines[0]
    assert community.endswith("社区"), lines
    assert any(line.startswith("覆盖率") for line in lines) and any(line.startswith("服务时长") for line in lines)

    page.mouse.click(x, y)
    page.wait_for_function("() => decodeURIComponent(location.search).includes('drill=')", timeout=20_000)
    wait_for_app(page)
    assert _drill_heading(page).endswith(f"· {community}")

    # A click on a ranking bar (the top-most one of another community) drills into that community.
    chart = page.locator("[data-testid='stPlotlyChart']").first
    labels = chart.locator(".yaxislayer-above .ytick text").all_text_contents()  # bottom to top
    index = max(i for i, label in enumerate(labels) if label != community)
    other = labels[index]
    bar = chart.locator(".bars path").nth(index)
    bar.evaluate("e => e.scrollIntoView({block: 'center'})")
    bar_box = bar.bounding_box()
    page.mouse.click(bar_box["x"] + bar_box["width"] / 2, bar_box["y"] + bar_box["height"] / 2)
    page.wait_for_function(f"() => decodeURIComponent(location.search).includes('drill={other}')",
                           timeout=20_000)
    wait_for_app(page)
    assert _drill_heading(page).endswith(f"· {other}")
    assert not outside, sorted(set(outside))[:5]
    context.close()
