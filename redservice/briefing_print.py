"""How the 汇报 page looks on screen and on paper (Ctrl+P, A4 landscape): static CSS and one static
script, never data or user text.

A browser does not run the page's scripts between switching to print and laying out the paper, so the
Plotly charts keep the pixel sizes they were drawn with on screen. Instead of a fixed zoom (which left
the charts smaller than their boxes, the map squashed and a third of the paper blank), the script
measures the page on screen just before printing (``beforeprint``): each chart column as wide as the
charts drawn in it, the three columns side by side (also when a laptop's window had wrapped them),
and the whole briefing scaled by one factor to the largest size that fits one A4 sheet. The charts
print as drawn: the map keeps its shape and its legend. Checked by tests/browser/test_briefing_print.py."""

from __future__ import annotations

# A4 landscape less the @page margins, in CSS pixels (96 per inch)
MARGIN_MM = 8
PAPER_MM = (297, 210)
PAPER_PX = tuple(round((mm - 2 * MARGIN_MM) / 25.4 * 96, 1) for mm in PAPER_MM)  # (1062.0, 733.2)
WRAP_BELOW = 1700  # px: below this window width the three chart columns wrap to two
# The printed layout is a little taller than the screen's (Streamlit's print stylesheet turns its flex
# layouts into blocks: measured 1104 px on screen, 1141 px in print at 1920×1080): the height is
# fitted with this much to spare, so the briefing never spills onto a second sheet.
SLACK = 0.94

CSS = """<style>
[data-testid="stToolbarActions"], [data-testid="stMainMenu"], [data-testid="stDecoration"],
[data-testid="stStatusWidget"] {display: none !important;}
[data-testid="stMainBlockContainer"] {padding-top: 4.2rem; padding-bottom: 1rem;}
[data-testid="stMetric"] {padding: 0.2rem 0.6rem;}
[data-testid="stMetricValue"] {font-size: 1.4rem; line-height: 1.3;}
[data-testid="stMetricLabel"] {min-height: 1.3rem; height: auto !important;}
.st-key-briefing_title h3 {padding: 0 0 0.2rem 0; border-bottom: 2px solid #B22222;}
.st-key-briefing_summary pre, .st-key-briefing_summary code {font-family: inherit !important;
  font-size: 1rem !important; line-height: 1.6; background: transparent !important; color: inherit;}
.st-key-briefing_summary [data-testid="stCode"] {background: #FAFAFA; border-left: 3px solid #B22222;}
@media screen and (max-width: WRAPpx) {
  .st-key-briefing_charts [data-testid="stHorizontalBlock"] {flex-wrap: wrap;}
  .st-key-briefing_charts [data-testid="stColumn"] {min-width: calc(50% - 1rem); flex: 1 1 calc(50% - 1rem);}
}
@page {size: A4 landscape; margin: MARGINmm;}
@media print {
  header[data-testid="stHeader"], [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stElementToolbar"], .modebar-container, .st-key-briefing_exports, .st-key-briefing_archive,
  .st-key-archived_actions, [data-testid="stCode"] button, [data-testid="stTooltipIcon"] {display: none !important;}
  /* the screen's layout (measured just before printing), scaled as one to the paper */
  [data-testid="stMainBlockContainer"] {padding: 0 !important; margin: 0 !important; max-width: none !important;
    width: var(--rs-print-width, 1900px) !important; min-width: var(--rs-print-width, 1900px) !important;}
  html {zoom: var(--rs-print-zoom, 0.55);}
  [data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stAppScrollToBottomContainer"] {
    overflow: visible !important; padding: 0 !important;}
  [data-testid="stHorizontalBlock"] {display: flex !important; flex-direction: row !important;
    flex-wrap: nowrap !important;}
  .st-key-briefing_charts [data-testid="stColumn"] {min-width: 0 !important;
    flex: 0 0 var(--rs-print-col, auto) !important; width: var(--rs-print-col, auto) !important;}
  [data-testid="stPlotlyChart"], [data-testid="stMetric"], [data-testid="stCode"],
  [data-testid="stHorizontalBlock"] {break-inside: avoid; page-break-inside: avoid;}
  /* on screen a row's tiles stretch to one height; on paper each takes what it holds */
  [data-testid="stMetric"] {height: auto !important; min-height: 0 !important;}
}
</style>""".replace("WRAP", str(WRAP_BELOW)).replace("MARGIN", str(MARGIN_MM))

# Runs once per browser tab (st.html may mount it again on every rerun); acts on the briefing page
# only. Sets the CSS variables of the print rules above (each chart column's width, the page's width,
# the zoom from the height of what prints: the title to the export box, which does not print, with the
# chart columns side by side); removes them after printing.
SCRIPT = """<script>
(() => {
  if (window.__rsBriefingPrint) return;
  window.__rsBriefingPrint = true;
  const PAPER_W = PAPER_WIDTH, PAPER_H = PAPER_HEIGHT, root = document.documentElement;
  const box = (e) => e.getBoundingClientRect();
  const columns = () => Array.from(document.querySelectorAll(
      ".st-key-briefing_charts [data-testid='stHorizontalBlock'] > [data-testid='stColumn']"));
  window.addEventListener('beforeprint', () => {
    const main = document.querySelector("[data-testid='stMainBlockContainer']");
    const title = document.querySelector('.st-key-briefing_title');
    const charts = document.querySelector('.st-key-briefing_charts');
    if (!main || !title || !charts) return;
    // each chart column as wide as the widest chart drawn in it, the columns side by side
    let width = 0, tallest = 0;
    for (const col of columns()) {
      const items = Array.from(col.querySelectorAll("[data-testid='stElementContainer']"));
      const w = Math.max(...items.map(e => box(e).width));
      const h = Math.max(...items.map(e => box(e).bottom)) - Math.min(...items.map(e => box(e).top));
      col.style.setProperty('--rs-print-col', w.toFixed(1) + 'px');
      width += w; tallest = Math.max(tallest, h);
    }
    const gap = parseFloat(getComputedStyle(charts.querySelector("[data-testid='stHorizontalBlock']")).columnGap) || 16;
    width += gap * (columns().length - 1);
    const s = getComputedStyle(main), m = box(main);
    width = Math.max(width, m.width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight));
    const end = document.querySelector('.st-key-briefing_exports');
    const height = (end ? box(end).top : m.bottom) - box(title).top - box(charts).height + tallest;
    const zoom = Math.min(PAPER_W / width, PAPER_H / height * SLACK);
    root.style.setProperty('--rs-print-width', width.toFixed(1) + 'px');
    root.style.setProperty('--rs-print-zoom', zoom.toFixed(4));
  });
  window.addEventListener('afterprint', () => {
    root.style.removeProperty('--rs-print-width');
    root.style.removeProperty('--rs-print-zoom');
    for (const col of columns()) col.style.removeProperty('--rs-print-col');
  });
})();
</script>""".replace("PAPER_WIDTH", str(PAPER_PX[0])).replace("SLACK", str(SLACK)).replace("PAPER_HEIGHT", str(PAPER_PX[1]))
