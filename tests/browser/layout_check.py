"""The layout check run on every page by test_pages (1920×1080, zh and en) and test_layout
(1366×768): nothing overflows its box or its column, no two elements' boxes overlap, no text
inside a chart overlaps another or is cut by the chart's edge. Returns the problems found."""

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
    if (!vis(e)) continue;
    if (e.scrollWidth > e.clientWidth + 2) { out.push('overflows its box: ' + name(e)); continue; }
    // a text the browser ends with "…" is cut by any fraction of a pixel (scrollWidth rounds it
    // away: "5510.5小时" 137.4 px in a tile of 136.4 px showed as "5510.5…")
    if (getComputedStyle(e).textOverflow === 'ellipsis') {
      const range = document.createRange();
      range.selectNodeContents(e);
      if (range.getBoundingClientRect().width > e.getBoundingClientRect().width + 0.5)
        out.push('cut with an ellipsis: ' + name(e));
    }
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
