"""汇报 page printed as Ctrl+P prints it (Chromium's print path: ``page.pdf`` fires ``beforeprint``
and lays the page out for paper without running the page's scripts in between), at 1920×1080 and at
1366×768, in zh and en. The PDF is drawn to PNG (pypdfium2) and saved under artifacts/screenshots/
(briefing_print*.png): look at it.

Fails on: more than one sheet or not A4 landscape; a mostly blank sheet (ink ending above the lowest
fifth, or covering less than 60 % of the paper); header, sidebar or buttons printed; the map's
aspect ratio in print differing from the screen's (squashed); a chart drawn smaller than its box; the
map's legend outside its chart or the printed page outside the paper; and the layout checks of
test_layout (overflow, overlap, text cut) in print."""

from __future__ import annotations

import pytest

from browser.conftest import SCREENSHOT_DIR
from browser.test_layout import LAYOUT
from browser.test_pages import open_page
from redservice.briefing_print import PAPER_PX

pytestmark = pytest.mark.browser

CASES = [("zh", {"width": 1920, "height": 1080}), ("zh", {"width": 1366, "height": 768}),
         ("en", {"width": 1920, "height": 1080})]

# Boxes of what prints (in print media these are the boxes on paper, in CSS pixels)
BOXES = """() => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  const shown = (s) => Array.from(document.querySelectorAll(s)).filter(
      e => getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0).length;
  const map = document.querySelector('.st-key-briefing_map');
  return {
    main: box(document.querySelector("[data-testid='stMainBlockContainer']")),
    map: box(map), mapSvg: box(map.querySelector('.main-svg')), legend: box(map.querySelector('.legend')),
    charts: Array.from(document.querySelectorAll("[data-testid='stPlotlyChart']")).map(e => ({
      box: box(e), svg: box(e.querySelector('.main-svg')),
      title: (e.querySelector('.gtitle') || {}).textContent || ''})),
    header: shown("header[data-testid='stHeader'] [data-testid='stTopNav']"),
    sidebar: shown("[data-testid='stSidebar']"),
    buttons: shown("[data-testid='stButton'], [data-testid='stDownloadButton']"),
    metrics: shown("[data-testid='stMetric']"),
  };
}"""


def inked(image, threshold: int = 200):
    """(top, bottom, left, right) of the ink on a page image, as fractions of its size."""
    import numpy as np

    ink = np.asarray(image.convert("L")) < threshold
    rows, cols = np.nonzero(ink.any(axis=1))[0], np.nonzero(ink.any(axis=0))[0]
    if not len(rows):
        return 0.0, 0.0, 0.0, 0.0
    h, w = ink.shape
    return rows[0] / h, (rows[-1] + 1) / h, cols[0] / w, (cols[-1] + 1) / w


@pytest.mark.parametrize(("lang", "viewport"), CASES, ids=[f"{lang}-{v['width']}" for lang, v in CASES])
def test_the_briefing_prints_on_one_filled_a4_sheet(chromium, app_url, lang, viewport):
    pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 draws the PDF (requirements-dev.txt)")
    url = f"{app_url}/briefing" + ("?lang=en" if lang == "en" else "")
    context, page, _, _ = open_page(chromium, url, viewport=viewport)
    screen = page.evaluate(BOXES)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    # the same print layout in print media, with the page's scripts stopped after beforeprint as a
    # real print stops them (else Streamlit would redraw the charts for the print layout): the boxes
    # below are the ones on paper
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    context.new_cdp_session(page).send("Emulation.setScriptExecutionDisabled", {"value": True})
    page.emulate_media(media="print")
    printed = page.evaluate(BOXES)
    problems = page.evaluate(LAYOUT)
    context.close()

    name = f"briefing_print_{lang}_{viewport['width']}"
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    (SCREENSHOT_DIR / f"{name}.pdf").write_bytes(pdf)
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1, f"{name}: printed on {len(document)} sheets"
    width, height = document[0].get_size()
    assert abs(width - 841.9) < 1 and abs(height - 595.3) < 1, f"{name}: not A4 landscape {width}×{height}"
    image = document[0].render(scale=2).to_pil()
    image.save(SCREENSHOT_DIR / f"{name}.png")
    if (lang, viewport["width"]) == ("zh", 1920):
        image.save(SCREENSHOT_DIR / "briefing_print.png")
    top, bottom, left, right = inked(image)
    print(f"{name}: ink {top:.0%}–{bottom:.0%} of the height, {left:.0%}–{right:.0%} of the width; "
          f"map {printed['mapSvg']['width'] / 96 * 25.4:.0f}×{printed['mapSvg']['height'] / 96 * 25.4:.0f} mm")
    assert bottom > 0.8, f"{name}: the lowest {1 - bottom:.0%} of the sheet is blank"
    assert (bottom - top) * (right - left) > 0.6, f"{name}: ink covers {(bottom - top) * (right - left):.0%}"

    assert printed["header"] == 0 and printed["sidebar"] == 0 and printed["buttons"] == 0, printed
    assert printed["metrics"] == 10 and len(printed["charts"]) == 5, printed
    # the printed page inside the paper
    main = printed["main"]
    assert main["width"] <= PAPER_PX[0] + 1 and main["height"] <= PAPER_PX[1] + 1, (name, main)
    # the map keeps its screen aspect ratio (not squashed) and fills its box, its legend inside it
    shape = [box["width"] / box["height"] for box in (screen["mapSvg"], printed["mapSvg"])]
    assert abs(shape[1] / shape[0] - 1) < 0.02, (name, screen["mapSvg"], printed["mapSvg"])
    legend, box = printed["legend"], printed["map"]
    assert (legend["left"] >= box["left"] - 1 and legend["right"] <= box["right"] + 1
            and legend["top"] >= box["top"] - 1 and legend["bottom"] <= box["bottom"] + 1), (name, legend, box)
    assert legend["right"] <= main["right"] + 1 and legend["bottom"] <= main["bottom"] + 1, (name, legend, main)
    for chart in printed["charts"]:  # a chart fills its box: not drawn for another width
        assert chart["svg"]["width"] >= 0.97 * chart["box"]["width"], (name, chart)
        assert chart["svg"]["right"] <= main["right"] + 1, (name, chart)
    assert not problems, "\n".join(problems)
