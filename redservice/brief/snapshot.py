"""A briefing frozen into plain values (JSON-ready): what the 汇报 page shows, figure by figure.

Every chart of the page becomes a table (``charts``): its title, its columns (a key, a label in the
briefing's language, a kind: text, number or percent, and decimals) and its rows of raw values; the
first column names the row (a community, a month, a category, a stage). The Office exports draw
these tables, the archive stores them, and a comparison matches figures by (chart, row, column).
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from redservice import export, fmt, metrics
from redservice.i18n import t

VERSION = 1


def _num(value):
    """A JSON number (int when whole) or None for a figure that cannot be computed."""
    if fmt.missing(value):
        return None
    value = float(value)
    if math.isinf(value):
        return None
    return int(value) if value.is_integer() else round(value, 6)


def _col(key: str, label_key: str, lang: str, kind: str = "number", decimals: int = 0) -> dict:
    return {"key": key, "label": t(label_key, lang), "kind": kind, "decimals": decimals}


def _table(code: str, title: str, columns: list[dict], frame, chart: dict) -> dict:
    rows = []
    for record in frame.to_dict("records"):
        row = []
        for c in columns:
            v = record.get(c["key"])
            row.append(("" if fmt.missing(v) else str(v)) if c["kind"] == "text" else _num(v))
        rows.append(row)
    return {"code": code, "title": title, "columns": columns, "rows": rows, "chart": chart}


def charts(data) -> list[dict]:
    """Every chart of the briefing as a table, in the page's order (map, pipeline, trend,
    communities, categories). ``chart``: the kind of native chart, its category column and series."""
    lang = data.lang
    out = []
    # the map's rows: the communities, or a view of several counties' counties (briefing.Briefing)
    communities = data.map_rows.copy()
    name_label = "filter.county" if data.map_level == "county" else "coverage.col_community"
    if not communities.empty:
        cover = communities.sort_values(["coverage", "community"], ascending=[False, True], na_position="last")
        out.append(_table("coverage", data.map_title(), [
            _col("community", name_label, lang, "text"),
            _col("households_total", "coverage.col_households_total", lang),
            _col("households_reached", "coverage.col_households_reached", lang),
            _col("coverage", "coverage.col_coverage", lang, "percent", 1),
        ], cover, {"type": "bar", "category": "community", "series": ["coverage"]}))
    p = data.pipeline
    stages = [(t("wishes.stage_posted", lang), p["posted"]), (t("wishes.stage_claimed_funnel", lang), p["claimed"]),
              (t("wishes.stage_completed", lang), p["completed"])]
    out.append(_table("pipeline", t("wishes.funnel_title", lang), [
        _col("stage", "archive.col_stage", lang, "text"), _col("count", "archive.col_count", lang),
    ], pd.DataFrame(stages, columns=["stage", "count"]), {"type": "bar", "category": "stage", "series": ["count"]}))
    if data.trend["records"].any():
        trend = data.trend.copy()
        trend["label"] = [fmt.month(dt.date.fromisoformat(str(m)[:10]), lang) for m in trend["month"]]
        out.append(_table("trend", t("overview.trend", lang), [
            _col("label", "overview.month", lang, "text"), _col("hours", "overview.hours", lang, decimals=1),
            _col("persons", "overview.persons", lang),
        ], trend, {"type": "column", "category": "label", "series": ["hours", "persons"]}))
    if not communities.empty:
        ranked = communities.sort_values(["hours", "community"], ascending=[False, True])
        out.append(_table("communities", data.ranking_title(), [
            _col("community", name_label, lang, "text"),
            _col("hours", "coverage.col_hours", lang, decimals=1), _col("persons", "coverage.col_persons", lang),
            _col("members", "coverage.col_members", lang),
        ], ranked, {"type": "bar", "category": "community", "series": ["hours"]}))
    if not data.categories.empty:
        cats = data.categories.copy()
        cats["group_label"] = [t(f"services.group_{g}", lang) for g in cats["group"]]
        out.append(_table("categories", t("services.by_category", lang), [
            _col("category", "archive.col_category", lang, "text"), _col("group_label", "archive.col_group", lang, "text"),
            _col("hours", "overview.hours", lang, decimals=1), _col("persons", "overview.persons", lang),
        ], cats, {"type": "bar", "category": "category", "series": ["hours", "persons"]}))
    return out


def kpis(result: dict, lang: str) -> list[dict]:
    """The tiles: key, label, raw value and the previous period's, the value and change as shown."""
    cards = {c.key: c for c in metrics.cards(result, lang)}
    cur, prev = result["current"], result["previous"]
    return [{"key": key, "label": cards[key].label, "value": _num(cur.get(key)), "previous": _num(prev.get(key)),
             "shown": cards[key].value, "previous_shown": metrics.format_value(key, prev.get(key), lang),
             "delta": cards[key].delta,
             "decimals": metrics.KPIS[key][1], "percent": metrics.KPIS[key][0] is None}
            for key in metrics.KPIS]


def _iso(day):
    return day.isoformat() if day else None


def freeze(data) -> dict:
    """The briefing (``briefing.Briefing``) as plain values."""
    lang, f = data.lang, data.filters
    prev = f.previous()
    scope = data.scope
    return {
        "version": VERSION, "lang": lang, "title": data.title, "county": data.county,
        "period": {"start": _iso(f.start), "end": _iso(f.end), "code": data.period,
                   "text": fmt.date_range(f.start, f.end, lang)},
        "compare": {"kind": f.compare, "start": _iso(prev.start), "end": _iso(prev.end),
                    "text": t(f"filter.compared_{f.compare}", lang, start=fmt.date(prev.start, lang),
                              end=fmt.date(prev.end, lang))},
        "filters": {dim: list(v) for dim, v in f.active_dimensions().items()},
        "filter_lines": export.describe_filters(f, lang, scope),
        "scope": None if scope is None else {"units": None if scope.units is None else list(scope.units),
                                             "communities": None if scope.communities is None else
                                             list(scope.communities),
                                             **({"counties": list(scope.counties)} if scope.counties else {})},
        "text": data.text,
        "kpis": kpis(data.result, lang),
        "charts": charts(data),
        "footnote": data.footnote(),
        "source": data.source, "synthetic": data.synthetic, "last": _iso(data.last),
        "trend_start": _iso(data.trend_start),
    }


def exact(value, lang: str, decimals: int = 0) -> str:
    """A table's number written in full (10486.5, not 1.05万: a table is where the exact figure is
    looked up), rounded half up to ``decimals`` with trailing zeros dropped; 10,486.5 in English."""
    if fmt.missing(value):
        return fmt.DASH
    text = fmt._strip(fmt._round(float(value), decimals))
    if lang == "en":
        whole, _, frac = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        text = sign + f"{int(whole.lstrip('-')):,}" + (f".{frac}" if frac else "")
    return text


def shown(value, column: dict, lang: str) -> str:
    """A table cell as a report writes it: 86.5%, 10486.5, — when missing."""
    if column["kind"] == "text":
        return "" if value is None else str(value)
    if value is None:
        return fmt.DASH
    if column["kind"] == "percent":
        return fmt.percent(value, lang, column.get("decimals", 1))
    return exact(value, lang, column.get("decimals", 0))


def from_store(store, filters, period: str | None, lang: str, scope, settings: dict | None = None):
    """The ``briefing.Briefing`` the 汇报 page shows for this selection, computed on ``store`` (the
    command line, and an archived briefing recomputed on today's data)."""
    from redservice import briefing, config

    selected = filters

    def query(name, filters=None, **extra):  # the signature of the page's ctx.query
        return store.query(name, filters or selected, scope, **extra)

    settings = config.settings(store.directory) if settings is None else settings
    manifest = store.manifest()
    return briefing.gather(
        query, filters, period, lang, settings, briefing.area_name(settings, manifest, lang, filters, scope),
        briefing.source_name(store), bool(manifest.get("synthetic")), metrics.data_range(store, scope)[1],
        store.boundaries(), scope=scope)


def first_day(snap: dict) -> str:
    """The earliest day a figure of the snapshot reads: the compared period's or the trend's start."""
    days = [snap["period"]["start"], snap["compare"]["start"]]
    days += [d for d in (snap.get("trend_start"),) if d]
    return min(days)
