"""The headline KPIs (口径 in ``docs/metrics.md``): the same figures for the page and the CLI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from redservice import fmt
from redservice.filters import DEFAULT_PERIOD, EVERYTHING, Filters, Scope, period_range
from redservice.i18n import t

# KPI key → (unit key for the value, decimals). Order is the order of the tiles.
KPIS = {
    "branches": ("branches", 0),
    "members": ("people", 0),
    "communities": ("communities", 0),
    "hours": ("hours", 1),
    "households": ("households", 0),
    "persons_served": ("persons", 0),
    "wishes_claimed": ("items", 0),
    "wishes_completed": ("items", 0),
    "activities": ("activities", 0),
    "participation_rate": (None, 1),
}


def data_range(store, scope: Scope = EVERYTHING) -> tuple[dt.date | None, dt.date | None]:
    row = store.query("data_range", scope=scope).iloc[0]
    first, last = row["first_date"], row["last_date"]
    if fmt.missing(last):
        return None, None
    return _as_date(first), _as_date(last)


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def default_filters(store, scope: Scope = EVERYTHING, start=None, end=None, period=DEFAULT_PERIOD,
                    compare="prev", **dims) -> Filters:
    """Filters for the given dates, else the app's default period relative to the data's last date."""
    first, last = data_range(store, scope)
    last = last or dt.date.today()
    if start or end:
        s, e = period_range("custom", last, first, start, end)
    else:
        s, e = period_range(period, last, first)
    return Filters.make(s, e, compare, **dims)


def kpis(store, filters: Filters, scope: Scope = EVERYTHING) -> dict:
    """{"current": {...}, "previous": {...}} for the period and the one it is compared with
    (filters.previous_period)."""
    current = store.query("kpis", filters, scope).iloc[0].to_dict()
    previous = store.query("kpis", filters.previous(), scope).iloc[0].to_dict()
    return result(current, previous, filters)


def result(current: dict, previous: dict, filters: Filters) -> dict:
    """Package the rows of queries/kpis.sql for the current and the previous period."""
    return {"current": _clean(current), "previous": _clean(previous), "filters": filters}


def _clean(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if fmt.missing(value):
            out[key] = None
        elif isinstance(value, float) and key not in ("hours", "participation_rate"):
            out[key] = int(value)
        elif hasattr(value, "item"):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def kpis_json(result: dict) -> dict:
    """The KPIs of the current period with the CLI's JSON keys."""
    cur = result["current"]
    out = {key: cur[key] for key in KPIS}
    out["hours"] = round(float(out["hours"]), 1)
    if out["participation_rate"] is not None:
        out["participation_rate"] = round(float(out["participation_rate"]), 4)
    return out


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    delta: str | None
    help: str
    caption: str | None = None


def format_value(key: str, value, lang: str) -> str:
    """A KPI as a tile shows it: with its unit in Chinese (7742户), the bare number in English
    (whose label already names the unit: "Households contacted 7,742")."""
    unit, decimals = KPIS[key]
    if unit is None:
        return fmt.percent(value, lang)
    if lang == "en":
        return fmt.number(value, lang, decimals)
    return fmt.quantity(value, unit, lang, decimals)


def cards(result: dict, lang: str = "zh") -> list[Card]:
    """One tile per KPI: formatted value, change vs the previous period, and its 口径."""
    cur, prev = result["current"], result["previous"]
    out = []
    for key in KPIS:
        caption = None
        if key == "activities" and cur.get("activity_persons"):
            caption = t("kpi.activity_persons", lang, n=fmt.number(cur["activities"], lang),
                        persons=fmt.unbroken(fmt.quantity(cur["activity_persons"], "persons", lang), lang))
        if key == "participation_rate":
            a, b = cur[key], prev[key]
            delta = None if a is None or b is None else _points(a - b, lang)
        else:
            delta = fmt.change(cur[key], prev[key], lang)
        out.append(Card(key, t(f"kpi.{key}", lang), format_value(key, cur[key], lang), delta,
                        t(f"kpi_def.{key}", lang), caption))
    return out


def _points(diff: float, lang: str) -> str:
    """A change of a rate in percentage points: +2.3个百分点 / +2.3 pp; 持平 / flat when it rounds to 0."""
    text = fmt.number(abs(diff) * 100, lang, 1)
    if text == "0":
        return t("delta.flat", lang)
    sign = "+" if diff > 0 else ("-" if diff < 0 else "")
    return f"{sign}{text}个百分点" if lang == "zh" else f"{sign}{text} pp"
