"""The briefing paragraph, written from the KPIs the way a Chinese government report writes it.

Rounding rules (applied to approximate quantities: members, hours, persons served, wishes,
activities; branches, communities and households are always written exactly, as in the seed
article's "145个党支部……联系群众7742户"):

1. Keep two significant figures when the leading digit is 1, else one: 2046 → 2000, 236 → 200,
   124 → 120, 10486 → 10000, 64 → 60.
2. If the value lies at most 3 % below the next such round number, write 近 + that number:
   14806 → 近15000, 9950 → 近10000.
3. Otherwise write the rounded-down number, followed by 余 when anything was dropped:
   2046 → 2000余, 2000 → 2000.
4. Numbers of 100,000 and more are written in 万: 123456 → 12万余. Below 10 the value is exact.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from redservice import export, fmt
from redservice.filters import Filters, Scope
from redservice.i18n import t

NEAR = 0.03
EXACT_KEYS = ("branches", "communities", "households")


def _digits(value: float, lang: str) -> str:
    if lang == "zh" and value >= 100_000:
        return fmt.number(value, "zh")
    return f"{int(value)}" if lang == "zh" else f"{int(value):,}"


def approx(value, lang: str = "zh") -> str:
    """A quantity with 余/近 ("more than"/"nearly") by the module's rules."""
    if fmt.missing(value):
        return fmt.DASH
    v = float(value)
    if v < 10:
        return fmt.number(v, lang)
    digits = int(math.floor(math.log10(v)))
    lead = int(v // 10**digits)
    step = 10 ** (digits - 1) if lead == 1 else 10**digits
    low = (v // step) * step
    high = low + step
    if 0 < high - v <= NEAR * high:
        return f"近{_digits(high, lang)}" if lang == "zh" else f"nearly {_digits(high, lang)}"
    if v == low:
        return _digits(low, lang)
    return f"{_digits(low, lang)}余" if lang == "zh" else f"more than {_digits(low, lang)}"


def _exact(value, lang: str) -> str:
    return fmt.number(value, lang) if lang == "en" else (fmt.DASH if fmt.missing(value) else str(int(value)))


def strongest_change(result: dict) -> tuple[str, float] | None:
    """The KPI whose value moved most against the previous period (relative), if any can be computed."""
    best = None
    for key in ("members", "hours", "households", "persons_served", "wishes_claimed", "wishes_completed",
                "activities"):
        cur, prev = result["current"].get(key), result["previous"].get(key)
        rate = fmt.ratio(None if cur is None else cur - (prev or 0), prev)
        if rate is not None and rate != 0 and (best is None or abs(rate) > abs(best[1])):
            best = (key, rate)
    return best


def period_phrase(filters: Filters, period: str | None, lang: str) -> str:
    if period == "ytd":
        return t("brief.ytd", lang)
    return t("brief.between", lang, start=fmt.date(filters.start, lang), end=fmt.date(filters.end, lang))


def store_counties(query: Callable[..., pd.DataFrame]) -> tuple[str, ...]:
    """The counties (所属县（市、区）) of the store within the viewer's scope, from the filter bar's
    options (``query(name, filters=None)``: the page's cached query or ``Store.query``)."""
    options = query("filter_options", filters=None)
    return tuple(sorted(options.loc[options["dimension"] == "county", "value"].dropna()))


def county_phrase(counties: tuple[str, ...], lang: str) -> str:
    """芮城县 / 芮城县等3个县（市、区） (en: Ruicheng County / … and 3 counties in all)."""
    first, n = counties[0], len(counties)
    return first if n == 1 else t("brief.counties_many", lang, first=first, n=n)


def level_word(lang: str, filters: Filters | None = None, scope: Scope | None = None,
               counties: tuple[str, ...] = (), capital: bool = False) -> str:
    """The level the figures describe, for labels: the counties chosen (the filter's, else the
    viewer's scope) by name, else 全市 (en: the city) in a store of two or more counties, else 全县
    (the county). ``capital``: the form that starts a sentence in English ("The whole city")."""
    chosen = (filters.counties if filters is not None else None) or (scope.counties if scope is not None else None)
    if chosen:
        return county_phrase(chosen, lang)
    level = "city" if len(counties) > 1 else "county"
    return t(f"level.{level}_cap" if capital else f"level.{level}", lang)


def scope_phrase(filters: Filters, lang: str, scope: Scope | None = None, counties: tuple[str, ...] = ()) -> str:
    """全县 / 县住建局 / 县住建局等3个单位 (en: the county / …). The units or communities named are
    the filter's, else the viewer's scope: a unit's user never reads 全县 about one unit's figures.
    ``counties``: the store's counties within the scope; with two or more, the counties chosen (the
    filter's, else the scope's) are named, or else the city: 全市13个县（市、区）."""
    # zh: 共 keeps a name ending in a digit apart from the count that follows ("U1共2个党支部").
    joiner = "共" if lang == "zh" else ""
    units = filters.units or (scope.units if scope is not None else None)
    communities = filters.communities or (scope.communities if scope is not None else None)
    if units:
        first, n = units[0], len(units)
        return (first if n == 1 else t("brief.units_many", lang, first=first, n=n)) + joiner
    if communities:
        first, n = communities[0], len(communities)
        return (first if n == 1 else t("brief.communities_many", lang, first=first, n=n)) + joiner
    chosen = filters.counties or (scope.counties if scope is not None else None)
    if chosen:
        return county_phrase(chosen, lang) + joiner
    if len(counties) > 1:
        return t("brief.city", lang, n=len(counties))
    return t("brief.county", lang)


def paragraph(result: dict, period: str | None, lang: str = "zh", scope: Scope | None = None,
              counties: tuple[str, ...] = ()) -> str:
    """The summary paragraph for the KPI result (``metrics.kpis``), naming the viewer's scope."""
    cur = result["current"]
    filters: Filters = result["filters"]
    if all(not cur.get(k) for k in ("hours", "households", "persons_served", "wishes_claimed",
                                    "wishes_completed", "activities")):
        # Nothing happened in the period: say so, not "累计开展志愿服务0小时…惠及群众0人次".
        return t("brief.no_data", lang, period=period_phrase(filters, period, lang))
    values = {
        "period": period_phrase(filters, period, lang),
        "scope": scope_phrase(filters, lang, scope, counties),
        "branches": _exact(cur["branches"], lang),
        "members": approx(cur["members"], lang),
        "communities": _exact(cur["communities"], lang),
        "hours": approx(cur["hours"], lang),
        "households": _exact(cur["households"], lang),
        "persons": approx(cur["persons_served"], lang),
        "claimed": approx(cur["wishes_claimed"], lang),
        "completed": approx(cur["wishes_completed"], lang),
        "activities": approx(cur["activities"], lang),
        "activity_persons": approx(cur.get("activity_persons"), lang),
        "rate": fmt.percent(cur["participation_rate"], lang),
    }
    text = t("brief.body", lang, **values)
    change = strongest_change(result)
    if change:
        key, rate = change
        word = t("brief.up" if rate > 0 else "brief.down", lang)
        label = t(f"kpi.{key}", lang)
        label = label if lang == "zh" else label[0].lower() + label[1:]
        text += t(f"brief.change_{filters.compare}", lang, kpi=label, word=word,
                  rate=fmt.percent(abs(rate), lang))
    return text


# -- the whole briefing: what the 汇报 page, its PNG/PDF and the CLI show -------------------------

@dataclass(frozen=True)
class Briefing:
    """Everything the briefing shows, gathered once from the queries the other pages run.
    Data only (DataFrames, dicts, strings): ``redservice.briefing_figure`` draws it."""

    lang: str
    county: str
    filters: Filters
    period: str | None
    result: dict  # metrics.kpis: current, previous, filters
    text: str  # the summary paragraph
    trend: pd.DataFrame  # queries/monthly_trend.sql over trend_start … end
    trend_start: dt.date
    communities: pd.DataFrame  # coverage.community_table (queries/community_summary.sql)
    categories: pd.DataFrame  # services.by_category (queries/service_categories.sql)
    pipeline: dict  # wishes.pipeline (queries/wish_pipeline.sql)
    boundaries: dict  # GeoJSON of the communities
    settings: dict
    source: str  # the data's name (manifest "name", else the data directory's name)
    synthetic: bool
    last: dt.date | None  # the data's last date
    scope: Scope | None = None  # the viewer's scope, named in the footnote when it limits the figures
    counties: tuple[str, ...] = ()  # the store's counties within the scope (two or more: a city)
    # The map and the ranking beside it: the communities' (map_table None: ``communities`` on
    # ``boundaries``), or at a view of several counties the counties' (counties.coverage_table on
    # counties.county_shapes): a city's briefing draws its counties, not every community.
    map_level: str = "community"
    map_table: pd.DataFrame | None = None
    map_boundaries: dict | None = None

    @property
    def map_rows(self) -> pd.DataFrame:
        return self.communities if self.map_table is None else self.map_table

    @property
    def map_shapes(self) -> dict:
        return self.boundaries if self.map_boundaries is None else self.map_boundaries

    def map_title(self) -> str:
        return t("briefing.map_title_county" if self.map_level == "county" else "briefing.map_title", self.lang)

    def ranking_title(self) -> str:
        return t("briefing.communities_title_county" if self.map_level == "county" else "briefing.communities_title",
                 self.lang)

    @property
    def title(self) -> str:
        return t("briefing.title", self.lang, county=self.county,
                 period=fmt.date_range(self.filters.start, self.filters.end, self.lang))

    def footnote(self) -> list[str]:
        """Source, data date, the filters in force, the comparison period and the rounding rules."""
        lang = self.lang
        source = t("app.source", lang, source=self.source)
        if self.synthetic:
            source += t("briefing.synthetic", lang)
        first = [source]
        if self.last:
            first.append(t("app.data_until", lang, date=fmt.date(self.last, lang)))
        first.extend(export.describe_filters(self.filters, lang, self.scope, self.counties))
        prev = self.filters.previous()
        first.append(t(f"filter.compared_{self.filters.compare}", lang, start=fmt.date(prev.start, lang), end=fmt.date(prev.end, lang)))
        return [t("briefing.separator", lang).join(first), t("briefing.rounding", lang)]


def area_name(settings: dict, manifest: dict, lang: str, filters: Filters | None = None,
              scope: Scope | None = None) -> str:
    """The level the figures describe, for titles: the counties chosen (the filter's, else the
    viewer's scope), else the store's area (``county_name``: the city for a store of a city)."""
    chosen = (filters.counties if filters is not None else None) or (scope.counties if scope is not None else None)
    if chosen:
        return county_phrase(chosen, lang)
    return county_name(settings, manifest, lang)


def county_name(settings: dict, manifest: dict, lang: str) -> str:
    """The area's name in ``lang``: the settings' [display], else the store's manifest, else 本县."""
    suffix = "" if lang == "zh" else "_en"
    return (settings.get("display", {}).get(f"county{suffix}") or manifest.get(f"county{suffix}")
            or t("app.county_default", lang))


def source_name(store) -> str:
    """The data's name for the footnote: the store manifest's name, else its directory's name."""
    return str(store.manifest().get("name") or store.directory.name)


def several_counties(filters: Filters, scope: Scope | None, counties: tuple[str, ...]) -> bool:
    """Whether a view spans two or more counties (the counties chosen, else those in scope, else the
    store's): its maps draw counties, not communities; one county chosen draws its communities."""
    chosen = filters.counties or (scope.counties if scope is not None else None)
    return len(chosen or counties) > 1


def gather(query: Callable[..., pd.DataFrame], filters: Filters, period: str | None, lang: str, settings: dict,
           county: str, source: str, synthetic: bool, last: dt.date | None, boundaries: dict,
           scope: Scope | None = None, shapes: Callable[[], dict] | None = None,
           counties: tuple[str, ...] | None = None) -> Briefing:
    """Run the briefing's queries through ``query(name, filters=None, **extra)`` (the page's cached
    ``ctx.query`` or the CLI's store) and shape them with the other pages' logic. A view of several
    counties maps its counties: ``shapes()`` gives every county's polygons (the page's cached
    counties.county_shapes; by default dissolved here from ``boundaries``). ``counties``: the store's
    counties within the scope when the caller has them (the page: the filter bar's choices), else
    read through ``query`` (``store_counties``)."""
    from redservice import charts, counties as county_level, coverage, metrics, services, wishes
    from redservice.filters import period_range

    result = metrics.result(query("kpis").iloc[0].to_dict(),
                            query("kpis", filters=filters.previous()).iloc[0].to_dict(), filters)
    trend_start = min(filters.start, period_range("last12", filters.end)[0])
    counties = store_counties(query) if counties is None else tuple(counties)
    by_county = {}
    if several_counties(filters, scope, counties):
        if shapes is None:
            county_of = dict(query("county_communities").itertuples(index=False, name=None))
            drawn = county_level.county_shapes(boundaries, county_of)
        else:
            drawn = shapes()
        by_county = {"map_level": "county", "map_table": county_level.coverage_table(query("county_compare")),
                     "map_boundaries": drawn}
    return Briefing(
        lang=lang, county=county, filters=filters, period=period, result=result,
        text=paragraph(result, period, lang, scope, counties),
        trend=charts.fill_months(query("monthly_trend", filters=filters.with_period(trend_start, filters.end)),
                                 trend_start, filters.end),
        trend_start=trend_start,
        communities=coverage.community_table(query("community_summary")),
        categories=services.by_category(query("service_categories"), settings),
        pipeline=wishes.pipeline(query("wish_pipeline").iloc[0]),
        boundaries=boundaries, settings=settings, source=source, synthetic=synthetic, last=last, scope=scope,
        counties=counties, **by_county,
    )
