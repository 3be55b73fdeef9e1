"""The whole briefing as ONE Plotly figure, for the server-side PNG and PDF: title, KPI tiles, the
summary paragraph, the monthly trend, communities ranked, service categories, the 微心愿 pipeline,
the coverage map and a footnote. Pure: data in (``briefing.Briefing``), figure out.

The charts are the other pages' own builders (``redservice.charts``) placed into boxes of one
canvas by ``embed``, which moves each builder's axes, legend, annotations and shapes into its box.
The coverage map is drawn with plain polygons (``go.Scatter`` with ``fill="toself"``), coloured by
``redservice.maps``' scale: never a Plotly geo trace, which would fetch topojson from a CDN.

The canvas is A4 landscape at 96 px per inch (1123 × 794), so the PDF is an A4 page and the PNG at
scale 2 is 2246 px wide.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata

import plotly.graph_objects as go

from redservice import charts, coverage, fmt, maps, metrics
from redservice.charts import FONT, GREY, INK, RED
from redservice.i18n import t

W, H = 1123, 794  # A4 landscape at 96 px per inch
PNG_SCALE = 2
MARGIN = 24
FONT_SIZE = 10
TITLE_SIZE = 12
MAP_METRIC = "coverage"
TILE_BG = "#F7F2F0"
UP, DOWN = "#2E7D32", "#C62828"
# Characters a Chinese line does not start with (kinsoku): they stay on the line before.
NO_LINE_START = set("，。、；：！？）》」』”’%％,.;:!?)]}…—·")


# -- text ------------------------------------------------------------------------------------------

def char_width(ch: str) -> float:
    """Approximate advance of a character in em (CJK and full-width 1, Latin about 0.55)."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch == " ":
        return 0.3
    if ch in "il.,:;|'!":
        return 0.3
    if ch.isupper() or ch in "mwMW%—–":
        return 0.75
    return 0.55


def text_px(text: str, size: float) -> float:
    return sum(char_width(c) for c in str(text)) * size


def wrap(text: str, width_px: float, size: float) -> list[str]:
    """Lines of at most ``width_px`` at font ``size``: Latin text breaks at spaces, Chinese between
    any two characters except before closing punctuation."""
    lines: list[str] = []
    for paragraph in str(text).split("\n"):
        line, used = "", 0.0
        tokens = re.findall(r"[A-Za-z0-9,.'’%()\-–/+:;\"“”]+\s*|\s+|.", paragraph)
        for token in tokens:
            w = text_px(token, size)
            if line and used + text_px(token.rstrip(), size) > width_px and token[0] not in NO_LINE_START:
                lines.append(line.rstrip())
                line, used = token.lstrip(), text_px(token.lstrip(), size)
            else:
                line += token
                used += w
        lines.append(line.rstrip())
    return lines


def _esc(text) -> str:
    """Plotly text is a small HTML subset: data (names, filters) is escaped so it stays text."""
    return html.escape(str(text), quote=False)


# -- placing a builder's figure into a box of the canvas -----------------------------------------

_REF = re.compile(r"^([xy])(\d*)( domain)?$")
_AXIS_KEY = re.compile(r"^([xy])axis(\d*)$")


def _ref(letter: str, n: int) -> str:
    return letter if n == 1 else f"{letter}{n}"


def _key(letter: str, n: int) -> str:
    return f"{letter}axis" if n == 1 else f"{letter}axis{n}"


def _scale_fonts(obj, factor: float, in_font: bool = False):
    """A copy of a layout or trace fragment with every font ``size`` multiplied by ``factor``."""
    if isinstance(obj, dict):
        return {k: (round(v * factor, 1) if in_font and k == "size" and isinstance(v, (int, float))
                    else _scale_fonts(v, factor, k.endswith("font")))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_scale_fonts(v, factor) for v in obj]
    return obj


class Canvas:
    """One figure of W × H pixels to which boxes (pixels from the top-left) are added."""

    def __init__(self, width: int = W, height: int = H):
        self.w, self.h = width, height
        self.fig = go.Figure()
        self._count = {"x": 1, "y": 1}  # x and y stay the (hidden) default axes
        self._legends = 1
        self.fig.update_layout(
            width=width, height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0, "autoexpand": False},
            paper_bgcolor="white", plot_bgcolor="white", showlegend=True,
            font={"family": FONT, "size": FONT_SIZE, "color": INK}, separators=".,", bargap=0.3,
            xaxis={"visible": False}, yaxis={"visible": False},
        )

    # coordinates: pixels from the top-left → paper fractions
    def px(self, x: float) -> float:
        return x / self.w

    def py(self, y: float) -> float:
        return 1 - y / self.h

    def text(self, x: float, y: float, text: str, size: float = FONT_SIZE, color: str = INK,
             xanchor: str = "left", yanchor: str = "top", bold: bool = False, **extra) -> None:
        body = f"<b>{text}</b>" if bold else text
        self.fig.add_annotation(x=self.px(x), y=self.py(y), xref="paper", yref="paper", text=body,
                                showarrow=False, xanchor=xanchor, yanchor=yanchor, align=xanchor
                                if xanchor in ("left", "right") else "center",
                                font={"size": size, "color": color}, **extra)

    def rect(self, x0, y0, x1, y1, fill: str, line: str | None = None, width: float = 0) -> None:
        self.fig.add_shape(type="rect", xref="paper", yref="paper", x0=self.px(x0), x1=self.px(x1),
                           y0=self.py(y1), y1=self.py(y0), fillcolor=fill, layer="below",
                           line={"color": line or fill, "width": width})

    def swatches(self, title: str, entries: list[maps.LegendEntry], count, box: tuple[float, float, float],
                 per_row: int = 3) -> None:
        """A legend drawn on the canvas: ``title``, then a square and "range  n" per class, wrapped
        into ``per_row`` columns between box = (left, top, right)."""
        left, top, right = box
        self.text(left, top, _esc(title), size=FONT_SIZE, color=GREY)
        col_w = (right - left) / per_row
        for i, entry in enumerate(entries):
            row, col = divmod(i, per_row)
            x, y = left + col * col_w, top + 18 + row * 17
            self.rect(x, y + 1, x + 11, y + 12, entry.hex, "#BFBFBF", 0.5)
            self.text(x + 15, y, _esc(f"{entry.label} {count(entry.count)}"), size=9)

    def line(self, x0, y0, x1, y1, color: str, width: float = 1) -> None:
        self.fig.add_shape(type="line", xref="paper", yref="paper", x0=self.px(x0), x1=self.px(x1),
                           y0=self.py(y0), y1=self.py(y1), line={"color": color, "width": width})

    def embed(self, source: go.Figure, box: tuple[float, float, float, float], title: str | None = None,
              font_scale: float = FONT_SIZE / 13, pad: dict | None = None, legend: bool = True,
              keep: set[str] | None = None) -> dict[str, str]:
        """Place ``source`` (a builder's figure) into ``box`` = (left, top, right, bottom) pixels:
        its axes get new ids and domains inside the box, its traces, annotations, shapes and legend
        follow. ``title`` replaces the builder's title. ``pad`` overrides the room left around the
        plot area (left/right/top/bottom, pixels) for tick labels and outside texts. ``keep``: only
        the subplot(s) on these axis references (e.g. {"x", "y"}), stretched over the box. Returns
        the map of old axis references to new ones."""
        src = source.to_plotly_json()
        layout, traces = src.get("layout", {}), src.get("data", [])
        if keep:
            layout, traces = _only(layout, traces, keep)
        left, top, right, bottom = box

        # axes of the source and their new ids (x and y numbered separately)
        defined = {m.group(1) + m.group(2) for k in layout if (m := _AXIS_KEY.match(k))}
        used = {tr.get(f"{letter}axis", letter) for tr in traces if tr.get("type", "scatter") in _CARTESIAN
                for letter in ("x", "y")}
        mapping: dict[str, str] = {}
        for ref in sorted(defined | used, key=lambda r: (r[0], int(r[1:] or 1))):
            self._count[ref[0]] += 1
            mapping[ref] = _ref(ref[0], self._count[ref[0]])

        # room around the plot area for titles, tick labels and texts outside the bars
        room = self._room(layout, traces, font_scale, bool(title), legend)
        room.update(pad or {})
        ix0, ix1 = left + room["left"], right - room["right"]
        iy0, iy1 = top + room["top"], bottom - room["bottom"]

        def fx(v):  # source paper x → canvas paper x
            return self.px(ix0 + float(v) * (ix1 - ix0))

        def fy(v):  # source paper y (0 bottom) → canvas paper y
            return self.py(iy1 - float(v) * (iy1 - iy0))

        def remap_ref(ref, coord_fn, value):
            if ref in (None, "paper"):
                return "paper", (coord_fn(value) if value is not None else None)
            m = _REF.match(ref)
            if not m:
                return ref, value
            new = mapping.get(m.group(1) + m.group(2), ref)
            return new + (m.group(3) or ""), value

        # axes
        for key, ax in layout.items():
            m = _AXIS_KEY.match(key)
            if not m:
                continue
            letter, old = m.group(1), m.group(1) + m.group(2)
            new = mapping[old]
            ax = _scale_fonts(dict(ax), font_scale)
            d0, d1 = ax.get("domain", [0, 1])
            ax["domain"] = [fx(d0), fx(d1)] if letter == "x" else sorted([fy(d0), fy(d1)])
            for prop in ("anchor", "overlaying", "matches", "scaleanchor"):
                if ax.get(prop) in mapping:
                    ax[prop] = mapping[ax[prop]]
            if "anchor" not in ax:  # Plotly's default would be the canvas's first axis
                ax["anchor"] = mapping[_counterpart(old, defined | used)]
            if "position" in ax:
                ax["position"] = fx(ax["position"]) if letter == "x" else fy(ax["position"])
            ax["automargin"] = False
            ax.setdefault("tickfont", {}).setdefault("size", FONT_SIZE)
            self.fig.layout[_key(letter, int(new[1:] or 1))] = ax
        for old in sorted(used - defined):  # axes only referenced by traces
            new = mapping[old]
            domain = [fx(0), fx(1)] if old[0] == "x" else [fy(0), fy(1)]
            self.fig.layout[_key(new[0], int(new[1:] or 1))] = {
                "domain": domain, "anchor": mapping[_counterpart(old, defined | used)], "automargin": False}

        # legend
        legend_layout = layout.get("legend", {})
        shown = [tr for tr in traces if tr.get("showlegend", True) is not False]
        wants_legend = legend and layout.get("showlegend", len(shown) > 1) and shown
        legend_id = None
        if wants_legend:
            self._legends += 1
            legend_id = f"legend{self._legends}"
            leg = _scale_fonts(dict(legend_layout), font_scale)
            leg["x"] = fx(leg.get("x", 1.02))
            leg["y"] = fy(min(1.0, leg.get("y", 1)))
            leg["xref"] = leg["yref"] = "paper"
            leg["bgcolor"] = "rgba(255,255,255,0)"
            leg.setdefault("font", {}).setdefault("size", FONT_SIZE)
            if "title" in leg:
                leg["title"] = _scale_fonts(leg["title"], font_scale)
            self.fig.layout[legend_id] = leg

        # traces
        for tr in traces:
            tr = _scale_fonts(dict(tr), font_scale)
            if tr.get("type", "scatter") in _CARTESIAN:
                tr["xaxis"] = mapping[tr.get("xaxis", "x")]
                tr["yaxis"] = mapping[tr.get("yaxis", "y")]
            if legend_id:
                tr["legend"] = legend_id
            else:
                tr["showlegend"] = False
            self.fig.add_trace(tr)

        # annotations and shapes
        for ann in layout.get("annotations", []):
            a = _scale_fonts(dict(ann), font_scale)
            a["xref"], a["x"] = remap_ref(a.get("xref"), fx, a.get("x", 0.5))
            a["yref"], a["y"] = remap_ref(a.get("yref"), fy, a.get("y", 0.5))
            self.fig.add_annotation(a)
        for shape in layout.get("shapes", []):
            s = dict(shape)
            for ref_key, coords, fn in (("xref", ("x0", "x1"), fx), ("yref", ("y0", "y1"), fy)):
                ref = s.get(ref_key)
                if ref in (None, "paper"):
                    s[ref_key] = "paper"
                    for c in coords:
                        if c in s:
                            s[c] = fn(s[c])
                else:
                    s[ref_key], _ = remap_ref(ref, fn, None)
            self.fig.add_shape(s)

        if title:
            self.text(left, top, _esc(title), size=TITLE_SIZE, bold=True)
        return mapping

    @staticmethod
    def _room(layout: dict, traces: list[dict], font_scale: float, titled: bool, with_legend: bool) -> dict:
        """Pixels to leave between the box and the plot area, estimated from the builder's margins,
        its tick labels and its subplot titles."""
        margin = layout.get("margin", {})
        room = {"left": margin.get("l", 10) * font_scale, "right": margin.get("r", 10) * font_scale,
                "top": 22 if titled else 4, "bottom": margin.get("b", 10) * font_scale}
        if any(a.get("yref") in (None, "paper") and float(a.get("y", 0)) >= 1 for a in layout.get("annotations", [])):
            room["top"] += 16
        legend = layout.get("legend", {})
        shown = [tr for tr in traces if tr.get("showlegend", True) is not False]
        if with_legend and layout.get("showlegend", len(shown) > 1) and shown:
            if legend.get("orientation") == "h" and float(legend.get("y", 1)) >= 1:
                room["top"] += 22
            elif legend.get("orientation") == "h" and float(legend.get("y", 1)) <= 0:
                room["bottom"] += 40
        labels: list[float] = [0.0]
        for tr in traces:
            labelled = tr.get("orientation") == "h" or tr.get("type") == "funnel"  # category labels on y
            if tr.get("type", "scatter") not in _CARTESIAN or not labelled or tr.get("yaxis", "y") != "y":
                continue
            ys = tr.get("y")
            ys = [] if ys is None else list(ys)
            if len(ys) == 2 and all(isinstance(v, (list, tuple)) or hasattr(v, "shape") for v in ys):  # two levels
                labels.append(max((text_px(v, FONT_SIZE) for v in ys[0]), default=0) + 8
                              + max((text_px(v, FONT_SIZE) for v in ys[1]), default=0))
            else:
                labels.append(max((text_px(v, FONT_SIZE) for v in ys), default=0))
        yaxis = layout.get("yaxis", {})
        if yaxis.get("showticklabels", True) is not False and yaxis.get("visible", True) is not False:
            room["left"] += max(labels) + 6 if max(labels) else 30
        for key, ax in layout.items():
            if _AXIS_KEY.match(key) and key.startswith("y") and ax.get("side") == "right" \
                    and ax.get("showticklabels", True) is not False:
                room["right"] += 34
        xaxis = layout.get("xaxis", {})
        if xaxis.get("showticklabels", True) is not False and xaxis.get("visible", True) is not False:
            if xaxis.get("side") == "top":
                room["top"] += 16
            else:
                room["bottom"] += 16
        return room


def _only(layout: dict, traces: list[dict], keep: set[str]) -> tuple[dict, list[dict]]:
    """The part of a subplot figure on the axes ``keep``: other axes, their traces and the paper
    annotations over them dropped; the kept axes' x domain stretched to the full width."""
    kept_x = [layout.get(_key("x", int(r[1:] or 1)), {}).get("domain", [0, 1]) for r in keep if r[0] == "x"]
    lo, hi = min(d[0] for d in kept_x), max(d[1] for d in kept_x)
    span = (hi - lo) or 1.0
    out = {}
    for k, v in layout.items():
        m = _AXIS_KEY.match(k)
        if m and m.group(1) + m.group(2) not in keep:
            continue
        if m and m.group(1) == "x":
            d0, d1 = v.get("domain", [0, 1])
            v = {**v, "domain": [(d0 - lo) / span, (d1 - lo) / span]}
        if m:
            v = {p: val for p, val in v.items() if not (p in ("matches", "anchor", "overlaying") and val not in keep)}
        out[k] = v
    out["annotations"] = [
        {**a, "x": (float(a.get("x", 0.5)) - lo) / span} for a in layout.get("annotations", [])
        if a.get("xref") not in (None, "paper") or lo - 1e-9 <= float(a.get("x", 0.5)) <= hi + 1e-9]
    kept = [tr for tr in traces
            if tr.get("type", "scatter") not in _CARTESIAN
            or (tr.get("xaxis", "x") in keep and tr.get("yaxis", "y") in keep)]
    return out, kept


def _counterpart(ref: str, refs: set[str]) -> str:
    """The axis an axis is anchored to by default: the other letter's axis of the same number,
    else its first one."""
    other = "y" if ref[0] == "x" else "x"
    same = other + ref[1:]
    if same in refs:
        return same
    return min((r for r in refs if r[0] == other), key=lambda r: int(r[1:] or 1), default=other)


_CARTESIAN = {"bar", "scatter", "funnel", "heatmap", "box", "histogram", "waterfall", "scattergl"}


# -- the coverage map as polygons ---------------------------------------------------------------

def _polygon_xy(geometry: dict) -> tuple[list, list]:
    """Longitudes and latitudes of a Polygon's or MultiPolygon's outer rings, rings separated by
    None (``fill="toself"`` fills each ring)."""
    xs: list = []
    ys: list = []
    for ring in maps._rings(geometry):  # noqa: SLF001 - the map module's own geometry reader
        if xs:
            xs.append(None)
            ys.append(None)
        xs.extend(p[0] for p in ring)
        ys.extend(p[1] for p in ring)
    return xs, ys


def coverage_scale(table, settings: dict, lang: str, metric: str = MAP_METRIC
                   ) -> tuple[maps.Scale, list[maps.LegendEntry], list[bool]]:
    """The coverage page's colour classes for ``metric``, the legend entries (range, colour, number
    of communities) and each row's no-data flag (``coverage.map_scale``)."""
    return coverage.map_scale(table, metric, settings, lang)


# Above this many polygons (a province's counties or communities) the map is drawn as one trace per
# colour, not one per polygon: 563 counties' traces took 0.43 s of the 汇报 page's every run.
MERGE_ABOVE = 200


def coverage_figure(table, boundaries: dict, settings: dict, lang: str, title: str | None = None,
                    metric: str = MAP_METRIC, height: int = 420, legend: str = "below") -> go.Figure:
    """Communities as filled polygons coloured by ``metric`` on the coverage page's scale (the
    same classes and colours as its map), each named at its label point, with a legend of the
    classes and the number of communities in each ("below" or "right" of the map). Communities
    without a boundary are not drawn."""
    scale, entries, empty = coverage_scale(table, settings, lang, metric)
    fig = go.Figure()
    by_name = {r["community"]: r for r in table.to_dict("records")} if not table.empty else {}
    rgb = {r["community"]: maps.fill_rgb(scale, r[metric], e)
           for r, e in zip(table.to_dict("records"), empty)} if not table.empty else {}
    lats: list[float] = []
    labels = []
    # one trace per community, added together: added one by one, each addition copies the traces
    # before it (the figure for a province's 6,792 communities: 4.0 s one by one, 2.2 s together)
    polygons: list[dict] = []
    tips: dict[str, str] = {}
    for feature in (boundaries or {}).get("features", []):
        name = (feature.get("properties") or {}).get("community")
        row = by_name.get(name)
        geometry = feature.get("geometry")
        if row is None or not geometry:
            continue
        xs, ys = _polygon_xy(geometry)
        if not xs:
            continue
        lats.extend(y for y in ys if y is not None)
        colour = maps.LegendEntry("", rgb[name], 0).hex
        tips[name] = "<br>".join(_esc(line) for line in coverage.tooltip(row, lang).split("\n"))
        polygons.append(dict(
            type="scatter", x=xs, y=ys, mode="lines", fill="toself", fillcolor=colour, name=name,
            showlegend=False, line={"color": "white", "width": 1}, hoveron="fills", hoverinfo="text",
            text=tips[name],
        ))
        point = maps.label_point(geometry)
        if point:
            labels.append((name, point, _dark(rgb[name])))
    merged = len(polygons) > MERGE_ABOVE
    if merged:  # one trace per colour (each ring filled on its own), the figures in the names' hover
        by_colour: dict[str, dict] = {}
        for poly in polygons:
            into = by_colour.setdefault(poly["fillcolor"], dict(
                type="scatter", x=[], y=[], mode="lines", fill="toself", fillcolor=poly["fillcolor"],
                showlegend=False, line={"color": "white", "width": 1}, hoverinfo="skip"))
            if into["x"]:
                into["x"].append(None)
                into["y"].append(None)
            into["x"].extend(poly["x"])
            into["y"].extend(poly["y"])
        polygons = list(by_colour.values())
    fig.add_traces(polygons)
    if labels:  # white names on dark fills, ink on light ones
        fig.add_scatter(
            x=[p[0] for _, p, _ in labels], y=[p[1] for _, p, _ in labels], text=[_esc(n) for n, _, _ in labels],
            mode="text", showlegend=False,
            **({"hovertext": [tips[n] for n, _, _ in labels], "hoverinfo": "text"} if merged else {"hoverinfo": "skip"}),
            textfont={"size": 12, "color": ["white" if d else INK for _, _, d in labels],
                      "shadow": ["1px 1px 2px #3A0000" if d else "1px 1px 2px white" for _, _, d in labels]},
        )
    for entry in entries:
        fig.add_scatter(
            x=[None], y=[None], mode="markers", name=f"{entry.label}　{t('coverage.count', lang, n=entry.count)}",
            marker={"symbol": "square", "size": 13, "color": entry.hex, "line": {"color": "#BFBFBF", "width": 0.5}},
            showlegend=True, hoverinfo="skip",
        )
    charts.base_layout(fig, title, height)
    mid = (min(lats) + max(lats)) / 2 if lats else 0.0
    fig.update_xaxes(visible=False, showgrid=False)
    fig.update_yaxes(visible=False, showgrid=False, scaleanchor="x",
                     scaleratio=1 / max(0.2, math.cos(math.radians(mid))))
    if legend == "right":  # classes in a column beside the map, titled with the metric's name
        place = {"orientation": "v", "x": 1.0, "xanchor": "left", "y": 0.5, "yanchor": "middle",
                 "title": {"text": t(f"coverage.metric_{metric}", lang), "side": "top"}}
    else:  # under the map, titled with the metric's definition
        place = {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.02, "yanchor": "top",
                 "title": {"text": t(f"coverage.legend_{metric}", lang), "side": "top left"}}
    fig.update_layout(
        showlegend=bool(entries), margin={"l": 10, "r": 10, "t": 48 if title else 10, "b": 10},
        legend={**place, "itemclick": False, "itemdoubleclick": False, "font": {"size": 12}},
    )
    return fig


def _dark(rgb: tuple[int, int, int]) -> bool:
    """True when a fill is dark enough for white text (relative luminance below 0.3)."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.3


def widen_panels(fig: go.Figure, df, axes: dict[str, str], factor: float) -> go.Figure:
    """Room right of the longest bar for its value label: each axis (column → layout axis key, e.g.
    {"hours": "xaxis", "persons": "xaxis2"}) ranges to ``factor`` × the column's largest value."""
    for col, axis in axes.items():
        most = df[col].max() if not df.empty else None
        if not fmt.missing(most) and most > 0:
            fig.layout[axis].range = [0, float(most) * factor]
    return fig


def compact(fig: go.Figure, size: int = 11) -> go.Figure:
    """Smaller text for a chart in a short box: tick labels, bar texts and the base font."""
    fig.update_layout(font={"size": size})
    fig.update_xaxes(tickfont={"size": size})
    fig.update_yaxes(tickfont={"size": size})
    fig.update_traces(textfont={"size": size}, selector={"type": "bar"})
    return fig


# -- the briefing ----------------------------------------------------------------------------------

def _delta_colour(delta: str | None) -> str:
    if not delta:
        return GREY
    return UP if delta.startswith("+") else DOWN if delta.startswith("-") else GREY


def kpi_texts(result: dict, lang: str) -> list[tuple[str, str, str | None]]:
    """(label, value, change) of each KPI tile, as the page's tiles write them."""
    return [(c.label, c.value, c.delta) for c in metrics.cards(result, lang)]


def build(b) -> go.Figure:
    """The briefing (``briefing.Briefing``) as one A4-landscape figure."""
    from redservice import services

    lang = b.lang
    c = Canvas()
    right = W - MARGIN
    width = right - MARGIN

    # title and rule
    c.text(MARGIN, 16, _esc(b.title), size=19, bold=True)
    if b.last:
        c.text(right, 22, _esc(t("app.data_until", lang, date=fmt.date(b.last, lang))), size=FONT_SIZE,
               color=GREY, xanchor="right")
    c.line(MARGIN, 48, right, 48, RED, 2)

    # KPI tiles: two rows of five
    cards = kpi_texts(b.result, lang)
    per_row, gap, tile_h, y = 5, 8, 44, 58
    tile_w = (width - gap * (per_row - 1)) / per_row
    vs = t(f"kpi.vs_{b.filters.compare}", lang)
    for i, (label, value, delta) in enumerate(cards):
        row, col = divmod(i, per_row)
        x0 = MARGIN + col * (tile_w + gap)
        y0 = y + row * (tile_h + 6)
        c.rect(x0, y0, x0 + tile_w, y0 + tile_h, TILE_BG)
        c.rect(x0, y0, x0 + 3, y0 + tile_h, RED)
        c.text(x0 + 10, y0 + 5, _esc(label), size=FONT_SIZE, color=GREY)
        c.text(x0 + 10, y0 + tile_h - 3, _esc(value), size=17, bold=True, yanchor="bottom")
        if delta:
            c.text(x0 + tile_w - 8, y0 + tile_h - 6, _esc(f"{vs} {delta}"), size=9.5,
                   color=_delta_colour(delta), xanchor="right", yanchor="bottom")
    y = y + 2 * tile_h + 6 + 10

    # the summary paragraph
    size, line_h = 11, 16.5
    lines = wrap(b.text, width - 44, size)  # the estimate errs a little: keep clear of the edge
    box_h = len(lines) * line_h + 12
    c.rect(MARGIN, y, right, y + box_h, "#FFF8F6")
    c.rect(MARGIN, y, MARGIN + 3, y + box_h, RED)
    c.text(MARGIN + 12, y + 6, "<br>".join(_esc(x) for x in lines), size=size)
    top = y + box_h + 12

    # charts: map and funnel | trend and communities | categories
    foot_lines = [wrap(line, width, 8.5) for line in b.footnote()]
    foot_h = sum(len(x) for x in foot_lines) * 12.5 + 6
    bottom = H - 14 - foot_h
    col_a, col_b = MARGIN + 330, MARGIN + 330 + 12 + 360
    mid_a = top + (bottom - top) * 0.62
    mid_b = top + (bottom - top) * 0.5

    names = set(b.map_rows["community"]) if not b.map_rows.empty else set()
    if any((f.get("properties") or {}).get("community") in names for f in (b.map_shapes or {}).get("features", [])):
        _, entries, _ = coverage_scale(b.map_rows, b.settings, lang)
        rows = math.ceil(len(entries) / 3)
        legend_top = mid_a - 6 - 18 - 17 * rows
        c.embed(coverage_figure(b.map_rows, b.map_shapes, b.settings, lang), (MARGIN, top, col_a, legend_top),
                title=b.map_title(), pad={"right": 4, "left": 4, "bottom": 4}, legend=False)
        c.swatches(t(f"coverage.legend_{MAP_METRIC}", lang), entries, lambda n: t("coverage.count", lang, n=n),
                   (MARGIN, legend_top, col_a))
    else:
        c.text(MARGIN, top, _esc(b.map_title()), size=TITLE_SIZE, bold=True)
        c.text(MARGIN, top + 24, _esc(t("briefing.map_none", lang)), color=GREY)

    p = b.pipeline
    stages = [t("wishes.stage_posted", lang), t("wishes.stage_claimed_funnel", lang), t("wishes.stage_completed", lang)]
    c.embed(charts.funnel(stages, [p["posted"], p["claimed"], p["completed"]], lang, None),
            (MARGIN, mid_a + 6, col_a, bottom), title=t("wishes.funnel_title", lang))

    trend = charts.monthly_trend(b.trend, lang, b.filters.start, b.filters.end)
    c.embed(trend, (col_a + 12, top, col_b, mid_b - 6), title=t("overview.trend", lang),
                      pad={"bottom": 36})

    c.embed(charts.ranking(b.map_rows, "community", "hours", lang, None, "hours", 1),
            (col_a + 12, mid_b + 6, col_b, bottom), title=b.ranking_title())

    group_labels = {g: t(f"services.group_{g}", lang) for g in services.GROUPS}
    mapping = c.embed(charts.hours_persons_panels(b.categories, "category", lang, None, group_col="group",
                                                  group_labels=group_labels),
                      (col_b + 12, top, right, bottom), title=t("briefing.categories_title", lang), keep={"x", "y"})
    widen_panels(c.fig, b.categories, {"hours": _key("x", int(mapping["x"][1:] or 1))}, 1.5)

    # footnote
    yy = bottom + 8
    c.line(MARGIN, yy, right, yy, "#D9D9D9", 0.8)
    text = "<br>".join(_esc(x) for lines_ in foot_lines for x in lines_)
    c.text(MARGIN, yy + 4, text, size=8.5, color=GREY)
    return c.fig
