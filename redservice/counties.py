"""区县对比 (issue 22): each county's KPIs side by side with 较上期 and 同比, the figures normalised per
100 members and per 100 households so that a small county can rank, and a county map whose outlines
are dissolved from the community boundaries. Pure functions (tested in plain pytest); the page is
app_pages/counties.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd
import pydeck as pdk

from redservice import fmt, maps
from redservice.filters import Filters, compared_period
from redservice.i18n import t

# The figures of the table: queries/county_compare.sql's columns (KPI keys of redservice.metrics).
FIGURES = ("members", "branches", "communities", "hours", "households", "persons_served", "wishes_claimed",
           "wishes_completed", "activities", "participation_rate")
# Normalised figures: (key, numerator, denominator column, per): per 100 members reported, per 100
# households (总户数 of the county's communities).
NORMALISED = (("hours_per_100_members", "hours", "members"),
              ("persons_per_100_members", "persons_served", "members"),
              ("households_per_100_households", "households", "households_total"),
              ("hours_per_100_households", "hours", "households_total"))
DEFAULT_METRIC = "hours_per_100_members"
COUNTY_LAYER = "counties"
OUTLINE_LAYER = "county_outlines"
LABEL_LAYER = "county_labels"


def per_100(numerator, denominator):
    """numerator ÷ denominator × 100, None when it cannot be computed (shown as "—")."""
    if fmt.missing(numerator) or fmt.missing(denominator) or not denominator:
        return None
    return float(numerator) * 100 / float(denominator)


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for key, num, den in NORMALISED:
        out[key] = [per_100(a, b) for a, b in zip(out[num].tolist(), out[den].tolist())]
    return out


def comparison(query, filters: Filters) -> pd.DataFrame:
    """One row per county: the period's figures and normalised figures, each with ``<key>_prev`` (the
    period before, 较上期) and ``<key>_yoy`` (a year before, 同比). ``query(name, filters=...)``: the
    page's cached query (the viewer's scope applied there)."""
    frames = {}
    for suffix, compare in (("", None), ("_prev", "prev"), ("_yoy", "yoy")):
        f = filters if compare is None else filters.with_period(*compared_period(filters.start, filters.end, compare))
        frames[suffix] = _normalise(query("county_compare", filters=f)).set_index("county")
    out = frames[""].copy()
    keys = list(FIGURES) + [k for k, _, _ in NORMALISED]
    for suffix in ("_prev", "_yoy"):
        other = frames[suffix].reindex(out.index)
        for key in keys:
            out[key + suffix] = other[key]
    return out.reset_index()


def change_text(key: str, current, before, lang: str) -> str:
    """较上期 / 同比 as the KPI tiles write it: +12.3% (rates: +1.2个百分点); "—" when it cannot be said."""
    if key == "participation_rate":
        if fmt.missing(current) or fmt.missing(before):
            return fmt.DASH
        from redservice.metrics import _points

        return _points(float(current) - float(before), lang)
    if fmt.missing(current) or fmt.missing(before):
        return fmt.DASH
    return fmt.change(current, before, lang) or fmt.DASH


def table(df: pd.DataFrame, lang: str, metric: str = DEFAULT_METRIC) -> pd.DataFrame:
    """The side-by-side table as shown (and exported): per county, each headline figure with its
    较上期 and 同比, then the normalised figures; ranked by ``metric`` (highest first, "—" last)."""
    from redservice.metrics import format_value

    ranked = df.assign(_rank=df[metric].astype(float)).sort_values(["_rank", "county"], ascending=[False, True],
                                                                   na_position="last")
    if ranked.empty:
        return pd.DataFrame()
    # built column by column from plain lists (row by row through iterrows, a province's 563
    # counties took 0.4 s of every run of the page); the same cells
    out = {t("filter.county", lang): ranked["county"].tolist()}
    for key in ("members", "hours", "households", "persons_served", "wishes_completed", "participation_rate"):
        label = t(f"kpi.{key}", lang)
        now = ranked[key].tolist()
        out[label] = [format_value(key, v, lang) if not fmt.missing(v) else fmt.DASH for v in now]
        for suffix, word in (("_prev", "counties.vs_prev"), ("_yoy", "counties.vs_yoy")):
            out[f"{label} · {t(word, lang)}"] = [change_text(key, a, b, lang)
                                                  for a, b in zip(now, ranked[key + suffix].tolist())]
    for key, _, _ in NORMALISED:
        out[t(f"counties.{key}", lang)] = [metric_text(key, v, lang) for v in ranked[key].tolist()]
    return pd.DataFrame(out)


def metric_text(key: str, value, lang: str) -> str:
    """A normalised figure with one decimal (每百名党员服务时长 123.4小时)."""
    if fmt.missing(value):
        return fmt.DASH
    unit = "hours" if key.startswith("hours") else ("persons" if key.startswith("persons") else "households")
    return fmt.quantity(value, unit, lang, 1) if lang == "zh" else fmt.number(value, lang, 1)


# -- the county map ---------------------------------------------------------------------------------------
def _key(point) -> tuple[float, float]:
    return round(float(point[0]), 7), round(float(point[1]), 7)


def dissolve(rings: list[list]) -> list[list[list[float]]]:
    """The outer outline of polygons that share their edges (the rings of one county's communities):
    the edges drawn once (an edge two communities share cancels out), chained into closed rings.
    Communities whose edges do not meet exactly leave their inner edges in: each such edge, and the
    rest of the chain, is then an open line; the outline is still drawn."""
    count: dict[tuple, int] = defaultdict(int)
    for ring in rings:
        pts = [_key(p) for p in ring]
        if pts and pts[0] != pts[-1]:
            pts.append(pts[0])
        for a, b in zip(pts, pts[1:]):
            if a != b:
                count[tuple(sorted((a, b)))] += 1
    edges = [e for e, n in count.items() if n == 1]
    nexts: dict[tuple, list[tuple]] = defaultdict(list)
    for a, b in edges:
        nexts[a].append(b)
        nexts[b].append(a)
    used: set[tuple] = set()
    lines = []
    for a, b in sorted(edges):
        if (a, b) in used:
            continue
        used.add((a, b))
        line = [a, b]
        while line[-1] != line[0]:
            step = next((c for c in nexts[line[-1]] if tuple(sorted((line[-1], c))) not in used), None)
            if step is None:
                break
            used.add(tuple(sorted((line[-1], step))))
            line.append(step)
        lines.append([list(p) for p in line])
    return lines


def county_outlines(boundaries: dict, county_of: dict[str, str]) -> dict[str, list[list[list[float]]]]:
    """Per county, the outline dissolved from its communities' boundaries (``county_of``: community →
    county; a boundary file's own ``properties.county`` is used for a community not in it)."""
    rings: dict[str, list] = defaultdict(list)
    for feature in (boundaries or {}).get("features", []):
        props = feature.get("properties") or {}
        county = county_of.get(props.get("community")) or props.get("county")
        if county and feature.get("geometry"):
            rings[county] += maps._rings(feature["geometry"])
    return {county: dissolve(r) for county, r in rings.items()}


def county_shapes(boundaries: dict, county_of: dict[str, str]) -> dict:
    """The counties as polygons, for the maps of a view of several counties (社区覆盖, 汇报): a GeoJSON
    FeatureCollection with one feature per county, its geometry the closed rings of its dissolved
    outline (``county_outlines``; a ring inside another ring of the county is a hole of it, an enclave
    of another county), ``properties.county`` and ``properties.community`` its name (so that the
    community maps' builders draw a county as they draw a community). A county whose outline does not
    close (its communities' edges do not meet exactly) keeps its communities' own polygons."""
    rings_of: dict[str, list] = defaultdict(list)
    for feature in (boundaries or {}).get("features", []):
        props = feature.get("properties") or {}
        county = county_of.get(props.get("community")) or props.get("county")
        if county and feature.get("geometry"):
            rings_of[county].append(feature["geometry"])
    features = []
    for county in sorted(rings_of):
        lines = dissolve([r for g in rings_of[county] for r in maps._rings(g)])
        if lines and all(len(x) >= 4 and x[0] == x[-1] for x in lines):
            polygons: list[list] = []  # [outer, hole, …] per polygon, the largest rings first
            for ring in sorted(lines, key=lambda r: -abs(maps._ring_area_centroid(r)[0])):
                outer = next((p for p in polygons if maps._inside(ring[0][0], ring[0][1],
                                                                  [tuple(q) for q in p[0]])), None)
                if outer is not None and len(outer) == 1:
                    outer.append(ring)
                else:
                    polygons.append([ring])
            geometry = {"type": "MultiPolygon", "coordinates": polygons}
        else:
            geometry = {"type": "MultiPolygon", "coordinates": [
                poly for g in rings_of[county]
                for poly in ([g["coordinates"]] if g.get("type") == "Polygon" else g.get("coordinates", []))]}
        features.append({"type": "Feature", "geometry": geometry,
                         "properties": {"county": county, "community": county}})
    return {"type": "FeatureCollection", "features": features}


def coverage_table(compare: pd.DataFrame) -> pd.DataFrame:
    """queries/county_compare.sql's rows as the rows of the coverage maps (coverage.community_table's
    columns; the county's name under ``community``, the maps' name column): households reached (the
    county's distinct households: a household belongs to one community, so to one county), coverage =
    reached ÷ the 总户数 of its communities (missing when one gives none), hours per 100 households."""
    total = pd.to_numeric(compare["households_total"], errors="coerce").astype("float64")
    total = total.where(total > 0)
    reached = pd.to_numeric(compare["households"], errors="coerce").fillna(0).astype("int64")
    hours = pd.to_numeric(compare["hours"], errors="coerce").fillna(0).astype("float64")
    return pd.DataFrame({
        "community": compare["county"].astype(str).tolist(),
        "households_total": total.tolist(),
        "members": pd.to_numeric(compare["members"], errors="coerce").fillna(0).astype("int64").tolist(),
        "hours": hours.tolist(),
        "persons": pd.to_numeric(compare["persons_served"], errors="coerce").fillna(0).astype("int64").tolist(),
        "households_reached": reached.tolist(),
        "coverage": (reached / total).tolist(),
        "hours_per_100": (hours / total * 100.0).tolist(),
    })


@dataclass(frozen=True)
class CountyMap:
    deck: pdk.Deck | None
    legend_html: str
    drawn: list[str]


def county_map(df: pd.DataFrame, boundaries: dict, county_of: dict[str, str], metric: str, lang: str,
               chosen: tuple[str, ...] | None = None, height: int = 560, width: int = maps.MAP_WIDTH,
               shapes: dict | None = None) -> CountyMap:
    """The county map coloured by ``metric``: the communities filled with their county's colour (no
    inner lines), each county's dissolved outline, and its name. A click picks a county
    (``picked_county``). ``shapes`` (``county_shapes``, dissolved once per data version): each county
    drawn as its own polygon instead, outlined by its rings (a province: 563 polygons, not 6,792)."""
    if shapes is not None:
        boundaries = shapes
        county_of = {f["properties"]["community"]: f["properties"]["county"] for f in shapes.get("features", [])}
    values = dict(zip(df["county"], df[metric]))
    # quantile classes: a dozen counties spread over the colours, one far ahead does not wash out the rest
    scale = maps.colour_scale([v for v in values.values() if not fmt.missing(v)], method="quantile")
    fills, features = {}, []
    for county, value in values.items():
        rgb = maps.fill_rgb(scale, value, empty=fmt.missing(value))
        fills[county] = list(rgb) + [255]  # opaque: a county's communities show no seams between them
    tip = {c: f"{c}\n{t(f'counties.{metric}', lang)}：{metric_text(metric, values[c], lang)}" for c in values}
    for feature in (boundaries or {}).get("features", []):
        props = feature.get("properties") or {}
        county = county_of.get(props.get("community")) or props.get("county")
        if county in fills and feature.get("geometry"):
            features.append({"type": "Feature", "geometry": feature["geometry"],
                             "properties": {"county": county, "fill_color": fills[county], "tooltip": tip[county]}})
    if shapes is not None:
        outlines = {f["properties"]["county"]: [ring for poly in f["geometry"]["coordinates"] for ring in poly]
                    for f in shapes.get("features", [])}
    else:
        outlines = county_outlines(boundaries, county_of)
    lines = [{"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": outlines[c]},
              "properties": {"county": c, "width": 4 if chosen and c in chosen else 2}}
             for c in fills if c in outlines]
    legend = maps.legend_html(t(f"counties.{metric}", lang),
                              maps.legend(scale, [v for v in values.values()],
                                          lambda v: metric_text(metric, v, lang), no_value=fmt.DASH),
                              lambda n: t("counties.legend_count", lang, n=n))
    if not features:
        return CountyMap(None, legend, [])
    labels = []
    for c in fills:
        pts = [p for line in outlines.get(c, []) for p in line]
        if pts:
            xs, ys = zip(*pts)
            labels.append({"name": c, "position": [(min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2]})
    view = maps.fit_view(maps.bounds(features), width=width, height=height)
    layers = [
        pdk.Layer("GeoJsonLayer", id=COUNTY_LAYER, data={"type": "FeatureCollection", "features": features},
                  get_fill_color="properties.fill_color", get_line_color="properties.fill_color",
                  get_line_width=1, line_width_units=pdk.types.String("pixels"), stroked=True, filled=True,
                  pickable=True, auto_highlight=True, highlight_color=[255, 215, 0, 90]),
        pdk.Layer("GeoJsonLayer", id=OUTLINE_LAYER, data={"type": "FeatureCollection", "features": lines},
                  get_line_color=[255, 255, 255, 255], get_line_width="properties.width",
                  line_width_units=pdk.types.String("pixels"), stroked=True, filled=False, pickable=False),
        pdk.Layer("TextLayer", id=LABEL_LAYER, data=labels, get_position="position", get_text="name",
                  character_set=pdk.types.String("".join(maps.character_set(x["name"] for x in labels))),
                  font_family=pdk.types.String(maps.FONT), font_weight=600, get_size=maps.LABEL_PX,
                  size_units=pdk.types.String("pixels"), get_color=[38, 38, 38, 255],
                  get_text_anchor=pdk.types.String("middle"), get_alignment_baseline=pdk.types.String("center"),
                  font_settings={"sdf": True, "fontSize": 64, "buffer": 16, "radius": 16}, outline_width=10,
                  outline_color=[255, 255, 255, 240], pickable=False, parameters={"depthTest": False}),
    ]
    deck = maps.Deck(layers=layers, initial_view_state=pdk.ViewState(**view, pitch=0, bearing=0), map_provider=None,
                    tooltip={"text": "{tooltip}", "style": {"backgroundColor": "#FFFFFF", "color": "#262626",
                                                            "fontFamily": maps.FONT, "fontSize": "13px"}})
    return CountyMap(deck, legend, sorted(fills))


def picked_county(selection) -> str | None:
    """The county clicked on the map, from ``st.pydeck_chart``'s selection state."""
    if not selection:
        return None
    objects = (selection.get("objects") if hasattr(selection, "get") else None) or {}
    for obj in objects.get(COUNTY_LAYER) or []:
        if isinstance(obj, dict):
            props = obj.get("properties") if isinstance(obj.get("properties"), dict) else obj
            if props.get("county"):
                return str(props["county"])
    return None
