"""Charts are doors, in headless Chromium: a click on a community's or a unit's bar opens that
community's or unit's drill-down (社区覆盖 ?drill=, 单位与支部 ?tab=drill&drill_unit=), a click on a
service category's or activity form's bar sets that filter, each with the filter bar's parameters
kept in the URL. (The 社区覆盖 map and ranking: test_coverage_map.)"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from browser.test_pages import open_page, wait_for_app

pytestmark = pytest.mark.browser

# (page and query, chart key, which bar: index in the chart's bars, the URL path and parameter expected;
# the unit drilled into is left out of the URL when it is the selector's first, its default)
CASES = [
    ("?period=last_quarter", "communities", 0, "/coverage", "drill"),
    ("?period=last_quarter", "units", 0, "/units", "tab"),
    ("units?tab=chart&period=last_quarter", "hours_per_member", 0, "/units", "tab"),
    ("services?period=last_quarter", "categories", 0, "/services", "category"),
]



@pytest.mark.parametrize(("query", "chart", "index", "path", "param"), CASES, ids=[c[1] for c in CASES])
def test_a_click_on_a_bar_opens_its_view(chromium, app_url, query, chart, index, path, param):
    context, page, outside, _ = open_page(chromium, app_url)  # the entry page registers the navigation
    page.goto(f"{app_url}/{query}")
    wait_for_app(page)
    figure = page.locator(f"[class*='st-key-{chart}_'] [data-testid='stPlotlyChart']")
    labels = figure.locator(".yaxislayer-above .ytick text").all_text_contents()  # bottom to top
    bar = figure.locator(".bars path").nth(index)
    bar.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    box = bar.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(f"() => location.pathname === '{path}' && "
                           f"new URLSearchParams(location.search).get('{param}') !== '{parse_qs(query).get(param, [''])[0]}'"
                           f" && new URLSearchParams(location.search).has('{param}')", timeout=20_000)
    wait_for_app(page)
    if param == "tab":  # the drill-down of the unit clicked, drawn
        page.get_by_text(f"{labels[index]}各党支部", exact=True).wait_for(timeout=20_000)
    params = parse_qs(urlparse(page.url).query)
    main = page.locator("[data-testid='stMain']").inner_text()
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    context.close()
    assert params.get("period") == ["last_quarter"], params  # the filter bar's parameters kept
    if param == "tab":  # 单位与支部 opens on 逐级查看 with the clicked unit chosen
        assert params["tab"] == ["drill"], params
        value = params.get("drill_unit", [labels[index]])[0]
        assert value == labels[index] and f"{value}各党支部" in main, (value, labels[index], main[:600])
    else:
        value = params[param][0]
        assert value in labels, (value, labels)  # a bar's own label (the category panels run top down)
        assert value in (sidebar if param == "category" else main)
    assert not outside, sorted(set(outside))[:5]
