"""The 社区覆盖 page's logic: the community metrics the map can show, the table of every community,
tooltips, and the shaping of the drill-down tables. Tidy DataFrames in, values out; no Streamlit
widgets (only the column configurations its tables are shown with).

口径 (written once here and in README):
- 覆盖率 = distinct households reached in the community in the period ÷ the community's 总户数;
  "—" when 总户数 is missing or 0 (never 0 %, never a division error).
- 每百户服务时长 = hours in the community ÷ 总户数 × 100; "—" without 总户数.
- 服务时长, 服务人次: sums over the period's records in the community; 报到党员数: members reported
  to the community by the end of the period (queries/community_summary.sql).
- On the map, a community without any service record in the period is pale grey, "无数据" in the
  legend, outside every class (not the colour of 0) — for the metrics read from the records; for
  报到党员数, a count at the period's end, 0 is a figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import pydeck as pdk
from streamlit import column_config as cc

from redservice import charts, fmt, maps
from redservice.i18n import t
from redservice.privacy import mask_name

METRICS = ("coverage", "hours", "persons", "members", "hours_per_100")
DEFAULT_METRIC = "coverage"


@dataclass(frozen=True)
class Metric:
    key: str
    unit: str | None  # unit key for fmt.quantity; None: a rate written as a percentage
    decimals: int

    @property
    def factor(self) -> float:
        return 100.0 if self.unit is None else 1.0


SPEC = {
    "coverage": Metric("coverage", None, 1),
    "hours": Metric("hours", "hours", 1),
    "persons": Metric("persons", "persons", 0),
    "members": Metric("members", "people", 0),
    "hours_per_100": Metric("hours_per_100", "hours", 1),
}

TABLE_COLUMNS = ("community", "households_total", "members", "hours", "persons", "records",
                 "households_reached", "coverage", "hours_per_100", "open_wishes")


def community_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Every community of queries/community_summary.sql (its open 微心愿 included) with 每百户服务时长
    added. Undefined figures stay missing (NaN)."""
    table = summary.copy()
    total = pd.to_numeric(table["households_total"], errors="coerce").astype("float64")
    total = total.where(total > 0)
    table["households_total"] = total
    table["hours_per_100"] = table["hours"].astype("float64") / total * 100.0
    table["coverage"] = pd.to_numeric(table["coverage"], errors="coerce").astype("float64")
    for col in ("members", "persons", "records", "households_reached", "open_wishes"):
        table[col] = pd.to_numeric(table[col], errors="coerce").fillna(0).astype("int64")
    table["hours"] = table["hours"].astype("float64")
    return table[list(TABLE_COLUMNS)].reset_index(drop=True)


def value_text(metric: str, value, lang: str) -> str:
    """A metric's value as shown: 12.3%, 1234.5小时, 210人; "—" when it cannot be computed."""
    spec = SPEC[metric]
    if spec.unit is None:
        return fmt.percent(value, lang, spec.decimals)
    return fmt.quantity(value, spec.unit, lang, spec.decimals)


def bound_text(metric: str, value: float, lang: str, decimals: int) -> str:
    """A class boundary in the legend (no unit: the legend's title names it)."""
    if SPEC[metric].unit is None:
        return fmt.percent(value, lang, decimals, trim=True)
    return fmt.number(value, lang, decimals)


def _coverage_line(row, lang: str) -> str:
    if fmt.missing(row.get("households_total")):
        return t("coverage.tip_no_total", lang)
    return t("coverage.tip_coverage", lang, value=value_text("coverage", row.get("coverage"), lang),
             reached=fmt.quantity(row.get("households_reached"), "households", lang),
             total=fmt.quantity(row.get("households_total"), "households", lang))


def tooltip(row, lang: str) -> str:
    """Plain text (never HTML) with the community's figures; no personal data."""
    lines = [str(row["community"]), _coverage_line(row, lang)]
    for metric in ("hours", "persons", "members", "hours_per_100"):
        lines.append(t("coverage.tip_line", lang, label=t(f"coverage.metric_{metric}", lang),
                       value=value_text(metric, row.get(metric), lang)))
    if "open_wishes" in row:  # a county's row (counties.coverage_table) has none
        lines.append(t("coverage.tip_line", lang, label=t("coverage.tip_open_wishes", lang),
                       value=fmt.quantity(row.get("open_wishes"), "items", lang)))
    return "\n".join(lines)


def compound_tooltip(row, lang: str) -> str:
    """Plain text for a compound point: its households reached, coverage and hours."""
    lines = [t("coverage.tip_compound", lang, compound=row["compound"], community=row["community"])]
    reached = fmt.quantity(row.get("households_reached"), "households", lang)
    if fmt.missing(row.get("households_total")) or not row.get("households_total"):
        lines.append(t("coverage.tip_line", lang, label=t("coverage.col_households_reached", lang), value=reached))
    else:
        lines.append(t("coverage.tip_coverage", lang, value=value_text("coverage", row.get("coverage"), lang),
                       reached=reached, total=fmt.quantity(row.get("households_total"), "households", lang)))
    lines.append(t("coverage.tip_line", lang, label=t("coverage.metric_hours", lang),
                   value=value_text("hours", row.get("hours"), lang)))
    return "\n".join(lines)


def no_data(table: pd.DataFrame, metric: str) -> list[bool]:
    """Per row: the community has no service record in the period, so the metric (覆盖率, 服务时长,
    服务人次, 每百户服务时长) has no data there; always False for 报到党员数 (members reported by the
    period's end: 0 is a figure)."""
    if metric == "members" or table.empty or "records" not in table.columns:
        return [False] * len(table)
    return [bool(fmt.missing(r) or r == 0) for r in table["records"]]


def map_scale(table: pd.DataFrame, metric: str, settings: dict, lang: str
              ) -> tuple[maps.Scale, list[maps.LegendEntry], list[bool]]:
    """The map's colour classes for ``metric`` (``[coverage]`` settings) drawn from the communities
    with data, the legend entries (range, colour, number of communities; then "—" and "无数据"),
    and the no-data flag of each row. Shared by the page's map and the briefing's."""
    conf = settings.get("coverage", {})
    empty = no_data(table, metric)
    values = [None if e else v for v, e in zip(table[metric].tolist() if not table.empty else [], empty)]
    scale = maps.colour_scale(values, int(conf.get("bins", 5)), str(conf.get("scale", "linear")))
    decimals = maps.label_decimals(scale, SPEC[metric].factor, most=2)
    entries = maps.legend(scale, values, lambda v: bound_text(metric, v, lang, decimals),
                          no_value=t("coverage.no_value", lang), empty=empty, no_data=t("coverage.no_data", lang))
    return scale, entries, empty


@dataclass(frozen=True)
class CoverageMap:
    deck: pdk.Deck
    legend_html: str
    ranking: go.Figure
    ranking_title: str
    scale: maps.Scale
    colours: dict[str, list[int]]  # community → RGBA of its polygon
    unmapped: list[str]  # communities without a boundary (not on the map)
    drawn: int  # communities on the map


def coverage_map(table: pd.DataFrame, compounds: pd.DataFrame, boundaries: dict, metric: str, lang: str,
                 settings: dict, focus: str | None = None, height: int = 620,
                 level: str = "community") -> CoverageMap:
    """Everything the map row of the page shows, for one metric: the deck, its legend and the
    ranking bars in the same colours. ``level="county"``: the rows and shapes are counties'
    (counties.coverage_table, counties.county_shapes; a view of several counties), so named."""
    if metric not in SPEC:
        metric = DEFAULT_METRIC
    conf = settings.get("coverage", {})
    map_style = str(conf.get("map_style") or "").strip() or None
    alpha = maps.FILL_ALPHA_BASEMAP if map_style else maps.FILL_ALPHA
    values = table[metric].tolist()
    scale, entries, empty = map_scale(table, metric, settings, lang)

    records = table.to_dict("records")
    colours = {r["community"]: [*maps.fill_rgb(scale, r[metric], e), alpha] for r, e in zip(records, empty)}
    communities = [{"community": r["community"], "fill": colours[r["community"]], "tooltip": tooltip(r, lang)}
                   for r in records]
    largest = compounds["households_reached"].max() if not compounds.empty else None
    points = [{**c, "radius": maps.point_radius(c["households_reached"], largest),
               "tooltip": compound_tooltip(c, lang)} for c in compounds.to_dict("records")]
    deck = maps.coverage_deck(boundaries, communities, points, focus=focus, map_style=map_style, height=height)

    mapped = {(f.get("properties") or {}).get("community") for f in (boundaries or {}).get("features", [])
              if f.get("geometry")}
    unmapped = [r["community"] for r in records if r["community"] not in mapped]
    drawn = len(records) - len(unmapped)

    size_key = []
    if not fmt.missing(largest) and largest and largest > 0:
        for v in sorted({int(largest), max(1, int(round(largest / 4)))}):
            size_key.append((fmt.quantity(v, "households", lang), maps.point_radius(v, largest)))
    legend = maps.legend_html(
        t(f"coverage.legend_{metric}", lang), entries, lambda n: t("coverage.count", lang, n=n),
        points=size_key, points_title=t("coverage.points_title", lang),
        note=t("coverage.click_hint_county" if level == "county" else "coverage.click_hint", lang))

    ranking_title = t("coverage.ranking_county" if level == "county" else "coverage.ranking", lang,
                      metric=t(f"coverage.metric_{metric}", lang))
    ranking = charts.metric_ranking(
        labels=[r["community"] for r in records], values=values, title=ranking_title,
        texts=[t("coverage.no_data", lang) if e else value_text(metric, v, lang) for v, e in zip(values, empty)],
        colours=[maps.LegendEntry("", maps.fill_rgb(scale, v, e), 0).hex for v, e in zip(values, empty)],
        height=max(height, 26 * len(records) + 40))
    return CoverageMap(deck, legend, ranking, ranking_title, scale, colours, unmapped, drawn)


def split_units(units: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(包联 units of the community, the other units that served it)."""
    paired = units["paired"].astype(bool)
    cols = ["unit", "hours", "persons", "records", "active_members", "households_reached"]
    return units.loc[paired, cols].reset_index(drop=True), units.loc[~paired, cols].reset_index(drop=True)


def open_wishes_table(wishes: pd.DataFrame, lang: str, show_names: bool) -> pd.DataFrame:
    """Open wishes for display: state in words, claimer masked unless the viewer may see names."""
    out = wishes[["wish_id", "compound", "content", "category", "posted_on", "state", "claim_unit", "claimer",
                  "claimed_on", "age_days", "claimed_days"]].copy()
    out["state"] = [t(f"coverage.state_{s}", lang) for s in out["state"]]
    unnamed = out["claimed_on"].notna() & out["claim_unit"].isna()
    out["claim_unit"] = out["claim_unit"].astype(object).where(~unnamed, t("wishes.unnamed_unit", lang))
    if not show_names:
        out["claimer"] = [None if fmt.missing(n) else mask_name(n) for n in out["claimer"]]
    return out.reset_index(drop=True)


def open_wish_counts(wishes: pd.DataFrame) -> dict[str, int]:
    states = wishes["state"].value_counts() if not wishes.empty else {}
    return {"claimed": int(states.get("claimed", 0)), "unclaimed": int(states.get("unclaimed", 0))}


def excel_table(table: pd.DataFrame) -> pd.DataFrame:
    """The community table for Excel: rates as percentages, "—" where they cannot be computed."""
    out = table.copy()
    out["coverage"] = [fmt.DASH if fmt.missing(v) else round(float(v) * 100, 2) for v in out["coverage"]]
    out["hours_per_100"] = [fmt.DASH if fmt.missing(v) else round(float(v), 2) for v in out["hours_per_100"]]
    out["households_total"] = [fmt.DASH if fmt.missing(v) else int(v) for v in out["households_total"]]
    out["hours"] = out["hours"].round(1)
    return out


def row_of(table: pd.DataFrame, community: str | None) -> dict | None:
    if community is None:
        return None
    rows = table[table["community"] == community]
    return None if rows.empty else rows.iloc[0].to_dict()


def focus_tiles(row: dict, lang: str) -> list[tuple[str, str]]:
    """(label, value) tiles for the community drilled into."""
    return [
        (t("coverage.col_households_total", lang), fmt.quantity(row.get("households_total"), "households", lang)),
        (t("coverage.col_households_reached", lang), fmt.quantity(row.get("households_reached"), "households", lang)),
        (t("coverage.metric_coverage", lang), value_text("coverage", row.get("coverage"), lang)),
        (t("coverage.metric_hours", lang), value_text("hours", row.get("hours"), lang)),
        (t("coverage.metric_persons", lang), value_text("persons", row.get("persons"), lang)),
        (t("coverage.metric_members", lang), value_text("members", row.get("members"), lang)),
    ]


def excel_columns(lang: str) -> dict[str, str]:
    """Column → header of the community table's Excel download (rates in percent)."""
    out = {c: t(f"coverage.col_{c}", lang) for c in TABLE_COLUMNS}
    out["coverage"] = t("coverage.col_coverage_pct", lang)
    return out


def column_config(lang: str, compound: bool = False) -> dict:
    """Labels and number formats for the page's tables (any of their columns)."""
    def n(key, fmt_="%d"):
        return cc.NumberColumn(t(f"coverage.col_{key}", lang), format=fmt_)

    return {
        "community": t("coverage.col_community", lang),
        "compound": t("coverage.col_compound", lang),
        "unit": t("coverage.col_unit", lang),
        "households_total": cc.NumberColumn(
            t("coverage.col_compound_households" if compound else "coverage.col_households_total", lang),
            format="%d"),
        "members": n("members"),
        "hours": n("hours", "%.1f"),
        "persons": n("persons"),
        "records": n("records"),
        "active_members": n("active_members"),
        "households_reached": n("households_reached"),
        # a number, not a progress bar: a bar cannot show "—" for a community without 总户数
        "coverage": cc.NumberColumn(t("coverage.col_coverage", lang), format=fmt.PERCENT_FORMAT),
        "hours_per_100": n("hours_per_100", "%.1f"),
        "open_wishes": n("open_wishes"),
        "wish_id": t("coverage.col_wish_id", lang),
        "content": t("coverage.col_content", lang),
        "category": t("coverage.col_wish_category", lang),
        "posted_on": cc.DateColumn(t("coverage.col_posted_on", lang), format="YYYY-MM-DD"),
        "state": t("coverage.col_state", lang),
        "claim_unit": t("coverage.col_claim_unit", lang),
        "claimer": t("coverage.col_claimer", lang),
        "claimed_on": cc.DateColumn(t("coverage.col_claimed_on", lang), format="YYYY-MM-DD"),
        "age_days": n("age_days"),
        "claimed_days": n("claimed_days"),
    }


def monthly_figure(monthly: pd.DataFrame, lang: str, start, end) -> go.Figure:
    """The community's monthly hours and persons (the overview's chart: its month axis thins its
    labels in a narrower column)."""
    return charts.monthly_trend(monthly, lang, start, end)


def table_height(rows: int, most: int = 20) -> int:
    """Pixels for a st.dataframe that shows up to ``most`` rows without scrolling."""
    return 38 + 35 * max(1, min(rows, most))


def drill_excel(df: pd.DataFrame, lang: str, compound: bool = False) -> tuple[pd.DataFrame, dict[str, str]]:
    """A drill-down table (compounds, units, open wishes) for Excel and its column headers: the
    coverage rate as a percentage ("—" where it cannot be computed), headers as on the page."""
    out = df.copy()
    if "coverage" in out:
        out["coverage"] = [fmt.DASH if fmt.missing(v) else round(float(v) * 100, 2) for v in out["coverage"]]
    if "hours" in out:
        out["hours"] = out["hours"].astype("float64").round(1)
    labels = {"households_total": "col_compound_households" if compound else "col_households_total",
              "coverage": "col_coverage_pct", "category": "col_wish_category"}
    return out, {c: t(f"coverage.{labels.get(c, 'col_' + c)}", lang) for c in out.columns}
