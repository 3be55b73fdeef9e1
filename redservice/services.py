"""服务分析: service by category (六送、三请 and the other services), by 活动形式, by month and season,
and the monthly 红色服务日 (attendance per unit, participation, units that missed it).

Pure functions over the DataFrames of ``queries/service_*.sql`` and ``queries/red_day_*.sql``;
which category belongs to 六送 or 三请 is configuration (``[programme]`` in defaults.toml), applied
here, never written into SQL or code.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from redservice import fmt
from redservice.filters import Filters
from redservice.i18n import t
from redservice.metrics import Card

GROUPS = ("liusong", "sanqing", "other")


# -- categories -----------------------------------------------------------------------------------
def category_order(settings: dict) -> dict[str, list[str]]:
    """The configured categories of each group, in their configured order."""
    programme = settings["programme"]
    return {
        "liusong": list(programme["liusong"]),
        "sanqing": list(programme["sanqing"]),
        "other": list(programme.get("other_categories", [])),
    }


def category_group(category: str, settings: dict) -> str:
    """'liusong', 'sanqing' or 'other' (any category outside the 六送三请 lists is 'other')."""
    order = category_order(settings)
    if category in order["liusong"]:
        return "liusong"
    if category in order["sanqing"]:
        return "sanqing"
    return "other"


def _ordered_categories(categories, settings: dict, weight: pd.Series | None = None) -> list[str]:
    """六送 then 三请 in configured order, then the other services (configured ones first by weight
    when given, then unknown ones), so the chart reads in the programme's own order."""
    present = [c for c in dict.fromkeys(categories) if not fmt.missing(c)]
    order = category_order(settings)
    out = [c for c in order["liusong"] if c in present] + [c for c in order["sanqing"] if c in present]
    rest = [c for c in present if c not in out]
    if weight is not None:
        rest.sort(key=lambda c: (-float(weight.get(c, 0) or 0), c))
    else:
        known = order["other"]
        rest.sort(key=lambda c: (known.index(c) if c in known else len(known), c))
    return out + rest


def by_category(df: pd.DataFrame, settings: dict) -> pd.DataFrame:
    """Rows of queries/service_categories.sql with their group, in display order
    (六送, 三请, then the other services by hours, largest first)."""
    columns = ["group", "category", "hours", "persons", "records", "members"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    data = df.copy()
    data["group"] = [category_group(c, settings) for c in data["category"]]
    order = _ordered_categories(data["category"], settings, data.set_index("category")["hours"])
    data["_pos"] = [order.index(c) for c in data["category"]]
    data = data.sort_values("_pos").drop(columns="_pos").reset_index(drop=True)
    return data[columns]


def category_table(categories: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The category rows for the Excel download, with the group named in the viewer's language."""
    return categories.assign(group=[t(f"services.group_{g}", lang) for g in categories["group"]])


def group_totals(categories: pd.DataFrame) -> pd.DataFrame:
    """Hours, persons and records summed per group (六送, 三请, other); every group present.
    Sums only: distinct member counts are per category and are not added up."""
    rows = []
    for group in GROUPS:
        part = categories[categories["group"] == group] if not categories.empty else categories
        rows.append({
            "group": group,
            "categories": int(len(part)),
            "hours": float(part["hours"].sum()) if len(part) else 0.0,
            "persons": int(part["persons"].fillna(0).sum()) if len(part) else 0,
            "records": int(part["records"].sum()) if len(part) else 0,
        })
    return pd.DataFrame(rows)


def trend_window(filters: Filters, months: int = 12) -> tuple[dt.date, dt.date]:
    """The selected period, widened to at least ``months`` months ending at its end (context)."""
    return min(filters.start, _months_back(filters.end, months)), filters.end


def _months_back(end: dt.date, months: int) -> dt.date:
    """The first day of the month ``months - 1`` months before ``end``'s month."""
    index = end.year * 12 + end.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


# The stacked monthly chart draws this many of the other services (the largest) one by one and the
# rest as one "其余N类": 17 categories in one stack are 17 shades no reader tells apart.
TREND_OTHERS = 3


def category_trend(df: pd.DataFrame, settings: dict, lang: str = "zh",
                   others: int = TREND_OTHERS) -> tuple[pd.DataFrame, dict[str, str]]:
    """Month × category hours as a wide table (months as rows, categories as columns in programme
    order, missing cells 0) and each category's group, for colouring. Of the other services the
    ``others`` largest keep their column; the rest are added up in one (其余N类)."""
    if df.empty:
        return pd.DataFrame(), {}
    data = df.copy()
    data["month"] = pd.to_datetime(data["month"]).dt.date
    totals = data.groupby("category")["hours"].sum()
    order = _ordered_categories(data["category"], settings, totals)
    wide = data.pivot_table(index="month", columns="category", values="hours", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=order, fill_value=0).sort_index()
    groups = {c: category_group(c, settings) for c in order}
    rest = [c for c in order if groups[c] == "other"][others:]
    if len(rest) > 1:
        name = t("services.other_tail", lang, n=len(rest))
        wide[name] = wide[rest].sum(axis=1)
        wide = wide.drop(columns=rest)
        groups = {c: g for c, g in groups.items() if c not in rest} | {name: "other"}
    return wide, groups


# -- seasonality ----------------------------------------------------------------------------------
def seasonality(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(by month of year 1–12, by ISO weekday 1–7): hours, persons and records, every slot present
    (a slot without service is 0: the window always spans at least twelve whole months)."""
    cols = ["hours", "persons", "records"]

    def part(kind: str, slots: range) -> pd.DataFrame:
        rows = df[df["kind"] == kind].set_index("slot")[cols] if not df.empty else pd.DataFrame(columns=cols)
        out = rows.reindex(list(slots)).fillna(0)
        out.index.name = "slot"
        return out.reset_index().astype({"slot": int, "records": int, "persons": int})

    return part("month", range(1, 13)), part("weekday", range(1, 8))


# -- 红色服务日 ---------------------------------------------------------------------------------------
def red_day_summary(months: pd.DataFrame) -> dict:
    """Headline figures for the 红色服务日 in the period: months held, service days, the latest
    month's participation and units missing, and the mean monthly participation (of the months'
    rates: each month weighs the same). None where it cannot be computed."""
    if months.empty:
        return {"months": 0, "days": 0, "latest_month": None, "latest_rate": None,
                "latest_missed": None, "mean_rate": None}
    data = months.sort_values("month")
    last = data.iloc[-1]
    rates = data["participation_rate"].dropna()
    return {
        "months": int(len(data)),
        "days": int(data["days"].sum()),
        "latest_month": pd.Timestamp(last["month"]).date(),
        "latest_rate": None if fmt.missing(last["participation_rate"]) else float(last["participation_rate"]),
        "latest_missed": int(last["units_missed"]),
        "mean_rate": float(rates.mean()) if len(rates) else None,
    }


# The heat map shows this many units at most (a city has thousands; the units that missed a
# month are all in the table beside it).
HEATMAP_ROWS = 60


def attendance_matrix(units: pd.DataFrame, limit: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The heat map's data: (attendees, members) as unit × month tables. Units are ordered by
    attendance over the period, highest first (ties by name), the first ``limit`` only (None: all);
    months in time order. A cell where the unit had neither members nor attendees is NaN (blank),
    not 0."""
    if units.empty:
        return pd.DataFrame(), pd.DataFrame()
    # highest total first, ties by name, sorted by Arrow (a Python key per unit, looking its total up
    # in a Series, took 0.25 s for a province's 56,300 units; pandas' sort factorised the names); only
    # the units shown get their months as dates and are pivoted (the whole province's took 0.4 s)
    totals = units.groupby("unit", sort=False)["attendees"].sum()
    ranked = pa.table({"total": pa.array(-totals.to_numpy(dtype=float)),
                       "unit": pa.array(totals.index.to_numpy(dtype=object), pa.string())})
    picked = pc.sort_indices(ranked, sort_keys=[("total", "ascending"), ("unit", "ascending")]).to_numpy()[:limit]
    order = totals.index.take(picked).tolist()
    months = sorted(m.date() for m in pd.to_datetime(units["month"]).dropna().unique())
    shown = (units[units["unit"].isin(order)] if limit is not None else units).copy()
    shown["month"] = pd.to_datetime(shown["month"]).dt.date
    attendees, members = (shown.pivot_table(index="unit", columns="month", values=v, aggfunc="sum")
                          .reindex(index=order, columns=months).astype("float64") for v in ("attendees", "members"))
    return attendees, members


def missed_units(units: pd.DataFrame) -> pd.DataFrame:
    """Units that had reported members but no attendee in a month's 红色服务日: month, unit,
    members (reported by that day); latest month first, then by members (largest first)."""
    cols = ["month", "unit", "members"]
    if units.empty:
        return pd.DataFrame(columns=cols)
    data = units[(units["members"] > 0) & (units["attendees"] == 0)].copy()
    data["month"] = pd.to_datetime(data["month"]).dt.date
    data = data.sort_values(["month", "members", "unit"], ascending=[False, False, True])
    return data[cols].reset_index(drop=True)


# -- tiles ------------------------------------------------------------------------------------------
def cards(totals: pd.DataFrame, red: dict, lang: str) -> list[Card]:
    """The page's tiles: hours (and persons) of 六送, 三请 and the other services, then the latest
    红色服务日 participation and the units that missed it."""
    def amount(value, unit_key, decimals=0):
        # as the overview's tiles: 4604.5小时 in Chinese; in English the label names the unit
        return fmt.quantity(value, unit_key, lang, decimals) if lang == "zh" else fmt.number(value, lang, decimals)

    out = []
    for row in totals.itertuples():
        group = t(f"services.group_{row.group}", lang)
        out.append(Card(
            f"group_{row.group}", t("services.tile_hours", lang, group=group),
            amount(row.hours, "hours", 1), None,
            t(f"services.group_{row.group}_def", lang),
            t("services.tile_persons", lang, persons=fmt.quantity(row.persons, "persons", lang),
              n=row.categories),
        ))
    month = fmt.month(red["latest_month"], lang) if red["latest_month"] else fmt.DASH
    out.append(Card(
        "red_rate", t("services.tile_red_rate", lang), fmt.percent(red["latest_rate"], lang), None,
        t("services.red_rate_def", lang),
        t("services.tile_red_rate_caption", lang, month=month, mean=fmt.percent(red["mean_rate"], lang)),
    ))
    missed = red["latest_missed"]
    out.append(Card(
        "red_missed", t("services.tile_red_missed", lang),
        fmt.DASH if missed is None else t("services.units_n", lang, n=fmt.number(missed, lang)), None,
        t("services.red_missed_def", lang), t("services.tile_red_missed_caption", lang, month=month),
    ))
    return out


def missed_table(missed: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The missed units for display and download, the month written out (2025年3月)."""
    return missed.assign(month=[fmt.month(m, lang) for m in missed["month"]])
