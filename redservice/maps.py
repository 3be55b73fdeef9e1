"""Pure map builders for the 社区覆盖 page: colour scale, legend, geometry helpers and the pydeck
deck. Data in, values or a ``pydeck.Deck`` out; no Streamlit, no SQL.

The deck draws no basemap and needs no network (``map_provider=None`` and pydeck's own
``__MAP_STYLE__`` placeholder, which Streamlit reads as "no basemap"; an explicit ``map_style=None``
would make Streamlit fall back to an online basemap). A MapLibre style URL served on the intranet
can be configured instead. deck.gl has no legend, so the legend is HTML built here and shown beside
the map.
"""

from __future__ import annotations

import bisect
import html
import json
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from redservice import fmt
from redservice.charts import FONT, INK

# ColorBrewer "Reds" (9 classes), light to dark. Bins take evenly spaced entries from index 1 on
# (the lightest is too close to the white page to read as "some").
REDS = [
    (255, 245, 240), (254, 224, 210), (252, 187, 161), (252, 146, 114), (251, 106, 74),
    (239, 59, 44), (203, 24, 29), (165, 15, 21), (103, 0, 13),
]
NO_VALUE = (205, 205, 205)  # neutral grey for a community whose figure cannot be computed
NO_DATA = (236, 236, 236)  # paler grey for a community without a record in a period that has some
FILL_ALPHA = 235
FILL_ALPHA_BASEMAP = 170  # polygons let a configured basemap show through
POINT_COLOUR = (255, 255, 255, 235)
POINT_OUTLINE = (38, 38, 38, 255)
POINT_MIN_PX = 2.5
POINT_MAX_PX = 11.0
SCALE_METHODS = ("linear", "quantile")

COMMUNITY_LAYER = "communities"
COMPOUND_LAYER = "compounds"
LABEL_LAYER = "labels"
FOCUS_LAYER = "focus"


# -- colour scale ----------------------------------------------------------------------------------

def _present(values: Iterable) -> list[float]:
    return [float(v) for v in values if not fmt.missing(v)]


def _nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k that is ≥ raw."""
    exponent = math.floor(math.log10(raw))
    base = 10.0 ** exponent
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * base >= raw * (1 - 1e-9):
            return m * base
    return 10.0 * base  # pragma: no cover - the loop always returns


def _clean(x: float) -> float:
    return float(round(x, 12))


def breaks(values: Iterable, bins: int = 5, method: str = "linear") -> list[float]:
    """Class boundaries b0 < b1 < … < bn for the values present (missing values are ignored).

    linear: equal steps at round numbers (1, 2, 2.5 or 5 × 10^k) from 0 (from the minimum when
    some value is negative) to the maximum, at most ``bins`` + 1 classes. Starting at 0 keeps a
    difference of 0.1 percentage point from looking like light against dark.
    quantile: boundaries at the i/bins quantiles (about equal counts), repeated ones merged; all
    values equal gives one class [v, v].
    No value at all: no class ([])."""
    if method not in SCALE_METHODS:
        raise ValueError(f"unknown scale method {method!r}; use one of {SCALE_METHODS}")
    data = sorted(_present(values))
    if not data:
        return []
    lo, hi = data[0], data[-1]
    if hi == lo and (method == "quantile" or hi <= 0):
        return [lo, hi]
    bins = max(1, int(bins))
    if method == "quantile":
        out: list[float] = []
        for i in range(bins + 1):
            pos = (len(data) - 1) * i / bins
            below = math.floor(pos)
            above = min(below + 1, len(data) - 1)
            q = data[below] + (data[above] - data[below]) * (pos - below)
            q = _clean(q)
            if not out or q > out[-1]:
                out.append(q)
        return out
    lo = min(lo, 0.0)
    step = _nice_step((hi - lo) / bins)
    start = math.floor(lo / step + 1e-9) * step
    out = [_clean(start)]
    while out[-1] < hi - 1e-12 * max(1.0, abs(hi)):
        out.append(_clean(start + len(out) * step))
    return out


def palette(n: int) -> list[tuple[int, int, int]]:
    """n sequential reds, light to dark."""
    if n <= 0:
        return []
    if n == 1:
        return [REDS[5]]
    last = len(REDS) - 1
    return [REDS[int(round(1 + i * (last - 1) / (n - 1)))] for i in range(n)]


@dataclass(frozen=True)
class Scale:
    """Classes [breaks[i], breaks[i+1]) with one colour each; the last class includes its top."""

    breaks: tuple[float, ...]
    colours: tuple[tuple[int, int, int], ...]

    @property
    def classes(self) -> int:
        return len(self.colours)

    def index(self, value) -> int | None:
        """The class of a value, or None when it is missing."""
        if fmt.missing(value) or not self.colours:
            return None
        i = bisect.bisect_right(self.breaks, float(value)) - 1
        return min(max(i, 0), self.classes - 1)

    def rgb(self, value) -> tuple[int, int, int]:
        i = self.index(value)
        return NO_VALUE if i is None else self.colours[i]

    def rgba(self, value, alpha: int = FILL_ALPHA) -> list[int]:
        return [*self.rgb(value), alpha]


def colour_scale(values: Iterable, bins: int = 5, method: str = "linear") -> Scale:
    """The sequential-reds scale for these values (see ``breaks``)."""
    b = breaks(values, bins, method)
    n = max(len(b) - 1, 0)
    return Scale(tuple(b), tuple(palette(n)))


# -- legend ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LegendEntry:
    label: str
    rgb: tuple[int, int, int]
    count: int

    @property
    def hex(self) -> str:
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)


def label_decimals(scale: Scale, factor: float = 1.0, most: int = 2) -> int:
    """The fewest decimals (at most ``most``) that write every class boundary exactly, after
    multiplying by ``factor`` (100 for percentages)."""
    decimals = 0
    while decimals < most and any(abs(round(b * factor, decimals) - b * factor) > 1e-9 for b in scale.breaks):
        decimals += 1
    return decimals


def fill_rgb(scale: Scale, value, empty: bool = False) -> tuple[int, int, int]:
    """A community's colour: pale grey without data (``empty``: no record in the period), grey
    when its figure cannot be computed, else its class's red. Never the colour of 0 for no data."""
    return NO_DATA if empty else scale.rgb(value)


def legend(scale: Scale, values: Iterable, label: Callable[[float], str], no_value: str = fmt.DASH,
           empty: Iterable[bool] | None = None, no_data: str = "无数据") -> list[LegendEntry]:
    """One entry per class ("lower–upper" written by ``label``) with the number of values in it,
    light to dark, then a grey "—" entry when some value is missing and a pale grey ``no_data``
    entry for the values flagged ``empty`` (no record in the period; not counted in any class)."""
    values = list(values)
    flags = list(empty) if empty is not None else [False] * len(values)
    counts = [0] * scale.classes
    missing = sum(flags)
    unknown = 0
    for v, flag in zip(values, flags):
        if flag:
            continue
        i = scale.index(v)
        if i is None:
            unknown += 1
        else:
            counts[i] += 1
    entries = []
    for i, colour in enumerate(scale.colours):
        lo, hi = scale.breaks[i], scale.breaks[i + 1]
        text = label(lo) if lo == hi else f"{label(lo)}–{label(hi)}"
        entries.append(LegendEntry(text, colour, counts[i]))
    if unknown:
        entries.append(LegendEntry(no_value, NO_VALUE, unknown))
    if missing:
        entries.append(LegendEntry(no_data, NO_DATA, missing))
    return entries


def point_radius(value, largest) -> float:
    """Pixel radius of a compound point: area grows with households reached."""
    if fmt.missing(value) or fmt.missing(largest) or float(largest) <= 0:
        return POINT_MIN_PX
    share = max(0.0, min(1.0, float(value) / float(largest)))
    return round(POINT_MIN_PX + (POINT_MAX_PX - POINT_MIN_PX) * math.sqrt(share), 2)


def legend_html(title: str, entries: list[LegendEntry], count_unit: Callable[[int], str],
                points: list[tuple[str, float]] | None = None, points_title: str | None = None,
                note: str | None = None) -> str:
    """The legend as a small HTML block: a swatch, its range and the number of communities per
    class; optionally circles of the compound points with their values. Every text is escaped."""
    e = html.escape
    rows = "".join(
        f'<div style="display:flex;align-items:center;gap:8px;margin:3px 0">'
        f'<span style="display:inline-block;width:22px;height:16px;border-radius:2px;'
        f'background:{entry.hex};border:1px solid #BFBFBF"></span>'
        f'<span style="flex:1">{e(entry.label)}</span>'
        f'<span style="color:#8C8C8C">{e(count_unit(entry.count))}</span></div>'
        for entry in entries
    )
    out = [f'<div style="font-family:{e(FONT)};font-size:14px;color:{INK};line-height:1.35">',
           f'<div style="font-weight:600;margin-bottom:6px">{e(title)}</div>', rows]
    if points:
        out.append(f'<div style="font-weight:600;margin:14px 0 6px">{e(points_title or "")}</div>')
        for text, radius in points:
            d = 2 * radius
            out.append(
                f'<div style="display:flex;align-items:center;gap:8px;margin:3px 0">'
                f'<span style="display:inline-flex;width:32px;justify-content:center">'
                f'<span style="display:inline-block;width:{d:.0f}px;height:{d:.0f}px;border-radius:50%;'
                f'background:rgba{POINT_COLOUR[:3] + (POINT_COLOUR[3] / 255,)};'
                f'border:1px solid #FFFFFF;box-shadow:0 0 0 1px #BFBFBF"></span></span>'
                f'<span>{e(text)}</span></div>')
    if note:
        out.append(f'<div style="color:#8C8C8C;font-size:12px;margin-top:12px">{e(note)}</div>')
    out.append("</div>")
    return "".join(out)


# -- geometry --------------------------------------------------------------------------------------

def _rings(geometry: dict) -> list[list[list[float]]]:
    """Outer rings of a Polygon or MultiPolygon (holes are ignored for labels and bounds)."""
    if not geometry:
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        return [coords[0]] if coords else []
    if kind == "MultiPolygon":
        return [poly[0] for poly in coords if poly]
    return []


def _ring_area_centroid(ring) -> tuple[float, float, float]:
    """Signed area (in degrees², planar) and centroid of a ring (shoelace formula)."""
    a = cx = cy = 0.0
    for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:] + ring[:1]):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    a /= 2.0
    if a == 0:
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return a, cx / (6 * a), cy / (6 * a)


def label_point(geometry: dict) -> list[float] | None:
    """Where a community's name goes: the centroid of its largest polygon."""
    best = None
    for ring in _rings(geometry):
        if len(ring) < 3:
            continue
        area, x, y = _ring_area_centroid(ring)
        if best is None or abs(area) > best[0]:
            best = (abs(area), x, y)
    return None if best is None else [round(best[1], 6), round(best[2], 6)]


# -- names placed clear of the compound dots ------------------------------------------------------
LABEL_PX = 16  # the names' size in pixels (the TextLayer's get_size)
LABEL_STEP_PX = 4  # the search grid for a name's place
LABEL_REACH_PX = 60  # how far from the polygon's centroid a name may move


def to_pixels(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """Web Mercator world pixels at ``zoom`` (deck.gl: 512 pixels around the world at zoom 0)."""
    size = 512 * 2 ** zoom
    return (lon + 180) / 360 * size, _merc_y(lat) * size


def from_pixels(x: float, y: float, zoom: float) -> list[float]:
    size = 512 * 2 ** zoom
    return [round(x / size * 360 - 180, 6), round(_inv_merc_y(y / size), 6)]


def label_size(name: str) -> tuple[float, float]:
    """Width and height in pixels of a drawn name with its white outline (over-estimated a little:
    CJK characters a full em, others 0.62 em)."""
    width = sum(LABEL_PX if ord(ch) > 0x2E80 else 0.62 * LABEL_PX for ch in str(name))
    return width + 6, LABEL_PX + 6


def _inside(x: float, y: float, ring: list[tuple[float, float]]) -> bool:
    """Whether a point lies inside a ring (ray casting)."""
    hit = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def box_hits(cx: float, cy: float, w: float, h: float, dots: list[tuple[float, float, float]],
             margin: float = 2.0) -> int:
    """How many dots (x, y, radius in pixels) touch a w × h box centred on (cx, cy)."""
    n = 0
    for x, y, r in dots:
        nx = min(max(x, cx - w / 2), cx + w / 2)
        ny = min(max(y, cy - h / 2), cy + h / 2)
        if (x - nx) ** 2 + (y - ny) ** 2 < (r + margin) ** 2:
            n += 1
    return n


def _hits(dots: np.ndarray, xs: np.ndarray, ys: np.ndarray, w: float, h: float, margin: float = 2.0) -> np.ndarray:
    """``box_hits`` for boxes centred on every (xs[i], ys[i]) at once (``dots``: n × (x, y, radius))."""
    if not len(dots):
        return np.zeros(len(xs), dtype=int)
    x, y, r = dots[:, 0][None, :], dots[:, 1][None, :], dots[:, 2][None, :]
    nx = np.minimum(np.maximum(x, (xs - w / 2)[:, None]), (xs + w / 2)[:, None])
    ny = np.minimum(np.maximum(y, (ys - h / 2)[:, None]), (ys + h / 2)[:, None])
    return (((x - nx) ** 2 + (y - ny) ** 2) < (r + margin) ** 2).sum(axis=1)


class DotGrid:
    """Compound dots (x, y, radius in world pixels) bucketed in square cells, so that the dots near a
    name are found without scanning every dot of the map (a province's 6,792 communities × its
    compounds' dots, scanned per name, took over ten minutes of CPU)."""

    CELL = 256.0

    def __init__(self, dots: Iterable[tuple[float, float, float]]):
        self.cells: dict[tuple[int, int], list[tuple[float, float, float]]] = {}
        for d in dots:
            self.cells.setdefault((int(d[0] // self.CELL), int(d[1] // self.CELL)), []).append(tuple(d))

    def near(self, x: float, y: float, rx: float, ry: float) -> list[tuple[float, float, float]]:
        """The dots whose centre lies strictly within rx, ry of (x, y)."""
        out = []
        for i in range(int((x - rx) // self.CELL), int((x + rx) // self.CELL) + 1):
            for j in range(int((y - ry) // self.CELL), int((y + ry) // self.CELL) + 1):
                out.extend(d for d in self.cells.get((i, j), ()) if abs(d[0] - x) < rx and abs(d[1] - y) < ry)
        return out


# The search grid around a name's centroid, nearest first (ties in the order generated).
_STEPS = range(-LABEL_REACH_PX, LABEL_REACH_PX + 1, LABEL_STEP_PX)
_OFFSETS = sorted(((dx, dy) for dx in _STEPS for dy in _STEPS), key=lambda d: d[0] ** 2 + d[1] ** 2)
_DX = np.array([d[0] for d in _OFFSETS], dtype=float)
_DY = np.array([d[1] for d in _OFFSETS], dtype=float)


def place_label(name: str, geometry: dict, dots: "list[tuple[float, float, float]] | DotGrid", zoom: float
                ) -> list[float] | None:
    """Where a community's name goes: the place nearest its centroid (within ``LABEL_REACH_PX``)
    where the name, inside the polygon, covers the fewest compound dots (``dots``: world pixels
    and radius at ``zoom``, or a ``DotGrid`` of them) — none wherever there is room; the centroid
    when nothing is better. Among the places inside the polygon, the fewest dots covered wins, the
    nearest of those (every place's dots counted at once with numpy; the polygon tested only for
    the winner and those before it)."""
    centre = label_point(geometry)
    if centre is None:
        return None
    rings = [r for r in _rings(geometry) if len(r) >= 3]
    ring = max(rings, key=lambda r: abs(_ring_area_centroid(r)[0]))
    cx, cy = to_pixels(centre[0], centre[1], zoom)
    w, h = label_size(name)
    grid = dots if isinstance(dots, DotGrid) else DotGrid(dots)
    near = np.array(grid.near(cx, cy, LABEL_REACH_PX + w, LABEL_REACH_PX + h), dtype=float).reshape(-1, 3)
    if _hits(near, np.array([cx]), np.array([cy]), w, h)[0] == 0:
        return centre
    ring_px = [to_pixels(p[0], p[1], zoom) for p in ring]
    # only places whose box lies within the polygon's bounding box can lie inside it (a name wider than
    # a community drawn small has none: the centroid, with no search)
    rx = [p[0] for p in ring_px]
    ry = [p[1] for p in ring_px]
    fits = ((cx + _DX - w / 2 >= min(rx)) & (cx + _DX + w / 2 <= max(rx))
            & (cy + _DY - h / 2 >= min(ry)) & (cy + _DY + h / 2 <= max(ry)))
    order = np.flatnonzero(fits)  # still nearest first
    if not len(order):
        return centre
    xs, ys = cx + _DX[order], cy + _DY[order]
    hits = _hits(near, xs, ys, w, h)
    for i in np.lexsort((np.arange(len(hits)), hits)):  # fewest dots first, then nearest
        x, y = float(xs[i]), float(ys[i])
        corners = ((x - w / 2, y - h / 2), (x + w / 2, y - h / 2), (x - w / 2, y + h / 2), (x + w / 2, y + h / 2))
        if all(_inside(px, py, ring_px) for px, py in corners):
            return from_pixels(x, y, zoom)
    return centre


def bounds(features: list[dict]) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of the features' outer rings, or None."""
    xs: list[float] = []
    ys: list[float] = []
    for feature in features:
        for ring in _rings(feature.get("geometry") or {}):
            xs.extend(p[0] for p in ring)
            ys.extend(p[1] for p in ring)
    if not xs:
        return None
    return min(xs), min(ys), max(xs), max(ys)


def _merc_y(lat: float) -> float:
    lat = max(-85.05, min(85.05, lat))
    s = math.sin(math.radians(lat))
    return 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)  # 0 at the top, 1 at the bottom


def _inv_merc_y(y: float) -> float:
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y))))


# The width a map opens fitted to. A map's column is about 750 px wide on a full-HD screen and 490 px
# on a 1366 px laptop; fitted to 760 px a laptop cut 107 px off each side of the county (names
# included). Fitted to 580 px a laptop loses at most the outermost 17 px of the polygons and no name,
# and a full-HD screen shows the county a quarter smaller with room round it; fitted closer to the
# laptop's 490 px the names of the demo's small communities find no place clear of their
# compounds' dots (tests/test_coverage.py checks both).
MAP_WIDTH = 580


def fit_view(box: tuple[float, float, float, float] | None, width: int = MAP_WIDTH, height: int = 620,
             padding: int = 28, max_zoom: float = 16.0) -> dict:
    """Latitude, longitude and zoom that fit the box into a width × height map (Web Mercator as
    deck.gl draws it: the world is 512 pixels wide at zoom 0)."""
    if box is None:
        return {"latitude": 0.0, "longitude": 0.0, "zoom": 1.0}
    west, south, east, north = box
    x0, x1 = (west + 180) / 360, (east + 180) / 360
    y0, y1 = _merc_y(north), _merc_y(south)
    centre_lon = (west + east) / 2
    centre_lat = _inv_merc_y((y0 + y1) / 2)
    dx, dy = max(x1 - x0, 1e-12), max(y1 - y0, 1e-12)
    zoom = math.log2(min((width - 2 * padding) / (512 * dx), (height - 2 * padding) / (512 * dy)))
    zoom = max(0.0, min(max_zoom, zoom))
    return {"latitude": round(centre_lat, 6), "longitude": round(centre_lon, 6), "zoom": round(zoom, 2)}


# -- deck --------------------------------------------------------------------------------------

def character_set(texts: Iterable[str]) -> list[str]:
    """Every character the labels use (deck.gl draws only the characters of its atlas)."""
    return sorted({ch for text in texts if text for ch in str(text)})


def coverage_deck(boundaries: dict, communities: list[dict], compounds: list[dict] | None = None,
                  focus: str | None = None, map_style: str | None = None, height: int = 620,
                  width: int = MAP_WIDTH) -> pdk.Deck:
    """The coverage map.

    ``boundaries``: a GeoJSON FeatureCollection whose features carry ``properties.community``.
    ``communities``: one dict per community to draw: ``community``, ``fill`` (RGBA list) and
    ``tooltip`` (plain text, shown as text, never as HTML). Features of other communities are not
    drawn. ``compounds``: dicts with ``compound``, ``community``, ``lon``, ``lat``, ``radius``
    (pixels) and ``tooltip``. ``focus``: a community outlined in black. ``map_style``: optional
    MapLibre style URL of an intranet basemap; without it the deck has no basemap and no network.
    """
    by_name = {c["community"]: c for c in communities}
    features = []
    for feature in (boundaries or {}).get("features", []):
        name = (feature.get("properties") or {}).get("community")
        row = by_name.get(name)
        if row is None or not feature.get("geometry"):
            continue
        features.append({
            "type": "Feature",
            "geometry": feature["geometry"],
            "properties": {"community": name, "fill_color": list(row["fill"]), "tooltip": row["tooltip"]},
        })
    points = [c for c in (compounds or []) if not fmt.missing(c.get("lon")) and not fmt.missing(c.get("lat"))]
    view = fit_view(bounds(features), width=width, height=height)
    # each name where it covers no compound dot (dots and names keep their pixel sizes at any zoom:
    # placed for the zoom the map opens at)
    dots = DotGrid((*to_pixels(float(p["lon"]), float(p["lat"]), view["zoom"]), float(p["radius"]) + 1) for p in points)
    labels = []
    for feature in features:
        name = feature["properties"]["community"]
        point = place_label(name, feature["geometry"], dots, view["zoom"])
        if point is not None:
            labels.append({"name": name, "position": point})

    layers = [
        pdk.Layer(
            "GeoJsonLayer",
            id=COMMUNITY_LAYER,
            data={"type": "FeatureCollection", "features": features},
            get_fill_color="properties.fill_color",
            get_line_color=[255, 255, 255, 255],
            get_line_width=2,
            line_width_units=pdk.types.String("pixels"),
            line_width_min_pixels=1,
            stroked=True,
            filled=True,
            pickable=True,
            auto_highlight=True,
            highlight_color=[255, 215, 0, 90],
        ),
    ]
    if focus is not None:
        layers.append(pdk.Layer(
            "GeoJsonLayer",
            id=FOCUS_LAYER,
            data={"type": "FeatureCollection",
                  "features": [f for f in features if f["properties"]["community"] == focus]},
            filled=False,
            stroked=True,
            get_line_color=list(_hex_rgb(INK)) + [255],
            get_line_width=4,
            line_width_units=pdk.types.String("pixels"),
            pickable=False,
        ))
    if points:
        layers.append(pdk.Layer(
            "ScatterplotLayer",
            id=COMPOUND_LAYER,
            data=[{"compound": p["compound"], "community": p["community"],
                   "position": [float(p["lon"]), float(p["lat"])], "radius": float(p["radius"]),
                   "tooltip": p["tooltip"]} for p in points],
            get_position="position",
            get_radius="radius",
            radius_units=pdk.types.String("pixels"),
            get_fill_color=list(POINT_COLOUR),
            get_line_color=list(POINT_OUTLINE),
            line_width_units=pdk.types.String("pixels"),
            get_line_width=1,
            stroked=True,
            filled=True,
            pickable=True,
            auto_highlight=True,
        ))
    if labels:
        layers.append(pdk.Layer(
            "TextLayer",
            id=LABEL_LAYER,
            data=labels,
            get_position="position",
            get_text="name",
            character_set=pdk.types.String("".join(character_set(label["name"] for label in labels))),
            font_family=pdk.types.String(FONT),
            font_weight=600,
            get_size=LABEL_PX,
            size_units=pdk.types.String("pixels"),
            get_color=list(_hex_rgb(INK)) + [255],
            get_text_anchor=pdk.types.String("middle"),
            get_alignment_baseline=pdk.types.String("center"),
            font_settings={"sdf": True, "fontSize": 64, "buffer": 16, "radius": 16},
            outline_width=10,
            outline_color=[255, 255, 255, 240],
            pickable=False,
            parameters={"depthTest": False},  # names over the dots, in drawing order
        ))
    deck_args = {}
    if map_style:
        deck_args["map_style"] = map_style
    return Deck(
        layers=layers,
        initial_view_state=pdk.ViewState(**view, pitch=0, bearing=0),
        map_provider=None,
        tooltip={"text": "{tooltip}",
                 "style": {"backgroundColor": "#FFFFFF", "color": INK, "fontFamily": FONT,
                           "fontSize": "13px", "lineHeight": "1.5", "border": "1px solid #D9D9D9",
                           "boxShadow": "0 2px 6px rgba(0,0,0,.15)", "padding": "8px 10px"}},
        **deck_args,
    )


class Deck(pdk.Deck):
    """A pydeck Deck whose JSON (what st.pydeck_chart sends) is written by the json module's C
    encoder. pydeck's own ``to_json`` indents it, and an indent makes Python use its pure-Python
    encoder: a province's 563 county polygons took 0.3 s of every run of 区县对比. The same JSON
    document (the same keys, sorted, and values), without the indentation."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize)


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def picked_community(selection) -> str | None:
    """The community of the object clicked on the map (a community polygon or a compound point),
    from ``st.pydeck_chart``'s selection state; None when nothing is selected."""
    if not selection:
        return None
    objects = (selection.get("objects") if hasattr(selection, "get") else None) or {}
    for layer in (COMMUNITY_LAYER, COMPOUND_LAYER):
        for obj in objects.get(layer) or []:
            if not isinstance(obj, dict):
                continue
            props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
            name = props.get("community")
            if name:
                return str(name)
    return None
