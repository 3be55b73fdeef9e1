"""Streamlit glue shared by the entry script and the pages: store, cached queries, the filter bar
(bound to the URL), KPI tiles and chart display. Pages call ``context()`` and the helpers here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd
import streamlit as st

from redservice import access, briefing, charts, config, doors, export, fmt, metrics
from redservice.filters import (
    COMPARES,
    DEFAULT_COMPARE,
    DEFAULT_PERIOD,
    EARLIEST,
    LATEST,
    PERIODS,
    Filters,
    Scope,
    period_range,
    period_status,
)
from redservice.i18n import DEFAULT_LANG, LANGS, t
from redservice.store import Store

CTX_KEY = "_redservice_ctx"
VIEWER_KEY = "_redservice_viewer"


@st.cache_resource(show_spinner=False)
def get_store(directory: str) -> Store:
    return Store(directory)


@st.cache_data(show_spinner=False, max_entries=2048)
def _cached(directory: str, version: str, name: str, key: str, _filters, _scope, _extra) -> pd.DataFrame:
    # ``key`` is the repr of filters, scope and extra parameters: the scope is part of every key.
    return get_store(directory).query(name, _filters, _scope, **_extra)


@st.cache_resource(show_spinner=False, max_entries=4)
def _boundaries(directory: str, version: str) -> dict:
    # shared, never copied (st.cache_data would unpickle a province's 6,792 polygons on every run);
    # nothing changes it: the map builders copy what they draw
    return get_store(directory).boundaries()


@st.cache_resource(show_spinner=False, max_entries=4)
def _county_shapes(directory: str, version: str) -> dict:
    from redservice import counties

    county_of = dict(get_store(directory).query("county_communities").itertuples(index=False, name=None))
    return counties.county_shapes(_boundaries(directory, version), county_of)


@st.cache_resource(show_spinner=False, max_entries=32, ttl=3600)
def _shared(key: str, _make):
    return _make()


def shared(ctx: "Context", what: str, make, *key):
    """``make()`` once per data version, scope, filters, settings, language and ``key``, then the same
    object for every run and session with them: what a page shapes from its cached query results
    when shaping costs more than reading them (年度考核's table of a province's 56,300 units: 0.2 s
    a run). Shared, never copied (st.cache_data would unpickle it): callers only read it."""
    return _shared(repr((what, ctx.directory, ctx.version, ctx.scope, ctx.filters, ctx.lang, ctx.settings, key)), make)


@dataclass(frozen=True)
class Context:
    directory: str
    version: str
    lang: str
    scope: Scope
    filters: Filters
    period: str
    first: dt.date | None
    last: dt.date | None
    settings: dict
    status: str = "ok"  # filters.period_status: "ok", "empty" (no data in the period) or "reversed"
    counties: tuple[str, ...] = ()  # the store's counties within the scope (two or more: a city)

    @property
    def store(self) -> Store:
        return get_store(self.directory)

    def t(self, key: str, **values) -> str:
        return t(key, self.lang, **values)

    def query(self, name: str, filters: Filters | None = None, **extra) -> pd.DataFrame:
        """Run queries/<name>.sql with the current filters (or the ones given) and the viewer's scope."""
        f = self.filters if filters is None else filters
        key = repr((f, self.scope, sorted(extra.items())))
        return _cached(self.directory, self.version, name, key, f, self.scope, extra)


def actor() -> str:
    """Who is acting, for the import log: the signed-in e-mail address, or in local mode the
    operating-system account the server runs as."""
    from redservice.ingest.audit import os_user

    who = st.session_state.get(VIEWER_KEY)
    if who is not None and who.email:
        return who.email
    return f"{os_user()}（本地模式）"


def context() -> Context:
    """The context the entry script prepared for this run (filters, language, scope)."""
    return st.session_state[CTX_KEY]


def _url_choice(widget, label: str, codes, key: str, default: str, format_func, **kwargs) -> str:
    """A single-choice widget whose URL parameter holds a stable code (``?lang=en``,
    ``?period=last_quarter``), not the translated label that ``bind="query-params"`` would write."""
    codes = list(codes)
    if key not in st.session_state:
        wanted = st.query_params.get(key)
        st.session_state[key] = wanted if wanted in codes else default
    elif st.session_state[key] not in codes:
        st.session_state[key] = default
    value = widget(label, codes, format_func=format_func, key=key, **kwargs)
    if value == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = value
    return value


def language() -> str:
    return _url_choice(st.sidebar.radio, t("app.language"), LANGS, "lang", DEFAULT_LANG,
                       lambda code: t(f"langname.{code}"), horizontal=True)


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, OSError):
        return False


def viewer(lang: str) -> access.Viewer:
    """Who is looking, from Streamlit's login (st.user) and the access file; stops the script
    with a message, before any figure is computed, when the user may see nothing."""
    logged_in = bool(st.user.get("is_logged_in", False))
    email = st.user.get("email") if logged_in else None
    claims = st.user.to_dict() if logged_in else {}
    try:
        who = access.resolve(email, logged_in, claims=claims)
    except access.AccessError as exc:
        st.error(t("access.misconfigured", lang, reason=str(exc)))
        st.stop()
    sb = st.sidebar
    if who is None:
        st.title(t("app.title", lang))
        if not logged_in:
            st.warning(t("access.login_required", lang), icon=":material/lock:")
            if _auth_configured():
                st.button(t("access.login", lang), on_click=st.login, type="primary")
            else:
                st.info(t("access.no_auth", lang))
        elif access.unverified(claims):
            st.error(t("access.unverified", lang, email=fmt.md_escape(email)), icon=":material/block:")
            st.button(t("access.logout", lang), on_click=st.logout)
        else:
            st.error(t("access.unknown_user", lang, email=fmt.md_escape(email)), icon=":material/block:")
            st.button(t("access.logout", lang), on_click=st.logout)
        st.stop()
    st.session_state[VIEWER_KEY] = who
    if who.local:
        sb.caption(t("access.local_mode", lang))
    else:
        scope_names = "、".join(who.scope.units or who.scope.communities or who.scope.counties or ())
        sb.caption(t("access.signed_in", lang, email=who.email, role=t(f"access.role_{who.role}", lang),
                     scope=scope_names or t("filter.all", lang)))
        sb.button(t("access.logout", lang), on_click=st.logout, key="logout")
    return who


def viewer_label() -> str:
    """The signed-in user's e-mail, for what the page records (who saved a mapping); "" locally."""
    return (st.user.get("email") or "") if st.user.get("is_logged_in", False) else ""


def css_string(text: str) -> str:
    """Text as a CSS string literal: every character but ASCII letters and digits written as a
    six-digit CSS escape, so no text can end the string, the rule or the style element."""
    return '"' + "".join(ch if ch.isascii() and ch.isalnum() else f"\\{ord(ch):06x}" for ch in text) + '"'


def file_uploader_text(lang: str, types: list[str]) -> str:
    """A style element that puts the catalogue's words on st.file_uploader's button and limits line,
    which Streamlit writes in English only ("Upload", "50MB per file • CSV"): the original text is
    shrunk to nothing and the catalogue's drawn after it. Scoped to the uploader's test ids."""
    limits = t("data.upload_limits", lang, mb=st.get_option("server.maxUploadSize"),
               types=t("data.upload_types_sep", lang).join(ty.upper() for ty in types))
    button = '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p'
    note = '[data-testid="stFileUploaderDropzoneInstructions"] span'
    return ("<style>"
            f"{button}, {note} {{font-size: 0;}}"
            f"{button}::after {{content: {css_string(t('data.upload_button', lang))}; font-size: 1rem;}}"
            f"{note}::after {{content: {css_string(limits)}; font-size: 0.875rem;}}"
            "</style>")


def _ordered(values: list[str], preferred: list[str]) -> list[str]:
    known = [v for v in preferred if v in values]
    return known + sorted(v for v in values if v not in preferred)


# More branches than this in the filter bar's list (no unit chosen): a unit is chosen first
BRANCH_CHOICES_MAX = 5000


def filter_bar(directory: str, lang: str, scope: Scope, applies: bool = True) -> Context:
    """The shared filter widgets (sidebar), each bound to the URL, and the Context they define.
    ``applies=False`` (a page no filter applies to): the widgets are shown disabled under a line
    saying why, and keep their values (and the URL) for the other pages."""
    store = get_store(directory)
    version = store.version()
    settings = config.settings(directory)
    probe = Context(directory, version, lang, scope, Filters.make(dt.date.today(), dt.date.today()),
                    DEFAULT_PERIOD, None, None, settings)
    span = probe.query("data_range", filters=None).iloc[0]
    first = None if fmt.missing(span["first_date"]) else pd.Timestamp(span["first_date"]).date()
    last = None if fmt.missing(span["last_date"]) else pd.Timestamp(span["last_date"]).date()
    anchor = last or dt.date.today()
    everywhere = _option_lists(directory, version, repr((scope, None)), scope, None)

    def values(dim: str, parents: list[str] | None = None) -> list[str]:
        if dim == "branch" and parents:
            by_unit = narrowed["branch_by_unit"]
            return sorted({b for p in parents for b in by_unit.get(p, ())})
        return list(narrowed[dim])  # a list of its own: the shared tuple is never handed out

    sb = st.sidebar
    sb.header(t("filter.header", lang))
    if not applies:
        sb.caption(t("filter.not_here", lang))
    off = {"disabled": not applies}
    period = _url_choice(sb.selectbox, t("filter.period", lang), PERIODS, "period", DEFAULT_PERIOD,
                         lambda p: t(f"period.{p}", lang), **off)
    compare = _url_choice(sb.radio, t("filter.compare", lang), COMPARES, "compare", DEFAULT_COMPARE,
                          lambda c: t(f"compare.{c}", lang), horizontal=True, **off)
    start = end = None
    if period == "custom":
        c1, c2 = sb.columns(2)
        bounds = {"min_value": EARLIEST, "max_value": LATEST, "format": "YYYY-MM-DD"}
        start = c1.date_input(t("filter.start", lang), value=dt.date(anchor.year, 1, 1), key="start",
                              bind="query-params", **bounds, **off)
        end = c2.date_input(t("filter.end", lang), value=anchor, key="end", bind="query-params", **bounds, **off)
    start, end = period_range(period or DEFAULT_PERIOD, anchor, first, start, end)
    status = period_status(start, end, first, last)
    if status == "reversed":
        sb.error(t("filter.reversed", lang, start=fmt.date(start, lang), end=fmt.date(end, lang)),
                 icon=":material/error:")
    else:
        sb.caption(t("filter.range", lang, start=fmt.date(start, lang), end=fmt.date(end, lang)))

    everyone = t("filter.all", lang)
    programme = settings["programme"]
    narrowed = everywhere
    counties = tuple(values("county"))
    chosen_counties = None
    if len(counties) > 1:  # a store of one county looks as it always did: no 区县 filter
        chosen_counties = sb.multiselect(t("filter.county", lang), list(counties), key="county",
                                         bind="query-params", placeholder=everyone, **off)
    if chosen_counties:  # the units, branches and communities of the counties chosen
        chosen = tuple(sorted(chosen_counties))
        narrowed = _option_lists(directory, version, repr((scope, chosen)), scope, chosen)
    left_out: list[str] = []  # asked for (URL or earlier choice) but not in the counties chosen

    def pick(dim: str, key: str, offered: list[str], placeholder: str = everyone) -> list[str]:
        if chosen_counties:
            left_out.extend(v for v in _asked(key) if v not in offered)
        return sb.multiselect(t(f"filter.{dim}", lang), offered, key=key, bind="query-params",
                              placeholder=placeholder, **off)

    units = pick("unit", "unit", values("unit"))
    offered = values("branch", units or None)
    if not units and len(offered) > BRANCH_CHOICES_MAX:
        # a province's 81,635 branches are not a list to choose from (and cost every page 0.07 s to
        # send): the branches of the units chosen, and before a unit is chosen only the branches
        # asked for (the URL's stay in force)
        known = set(offered)
        total, offered = len(offered), [b for b in _asked("branch") if b in known]
        placeholder = t("filter.branch_unit_first", lang, n=fmt.number(total, lang))
        branches = pick("branch", "branch", offered, placeholder)
    else:
        branches = pick("branch", "branch", offered)
    communities = pick("community", "community", values("community"))
    if left_out:  # Streamlit drops a value its widget does not offer: say so, not silently
        sep = "、" if lang == "zh" else ", "
        sb.warning(t("filter.outside_county", lang, names=fmt.md_escape(sep.join(dict.fromkeys(left_out))),
                     counties=fmt.md_escape(sep.join(chosen_counties))), icon=":material/filter_alt_off:")
    categories = sb.multiselect(
        t("filter.category", lang),
        _ordered(values("category"), programme["liusong"] + programme["sanqing"] + programme["other_categories"]),
        key="category", bind="query-params", placeholder=everyone, **off)
    forms = sb.multiselect(t("filter.form", lang), _ordered(values("form"), programme["forms"]), key="form",
                           bind="query-params", placeholder=everyone, **off)

    filters = Filters.make(start, end, compare, counties=chosen_counties, units=units, branches=branches,
                           communities=communities, categories=categories, forms=forms)
    ctx = Context(directory, version, lang, scope, filters, period or DEFAULT_PERIOD, first, last, settings,
                  status, counties)
    st.session_state[CTX_KEY] = ctx
    return ctx


@st.cache_resource(show_spinner=False, max_entries=256)
def _option_lists(directory: str, version: str, key: str, _scope: Scope,
                  _counties: tuple[str, ...] | None) -> MappingProxyType:
    """The filter bar's choices, sorted, per dimension, and each unit's branches (``branch_by_unit``),
    from queries/filter_options.sql (through the cached query: the bench records it) within the scope
    and the counties chosen. Shaped once per data version, scope and counties: a province's 56,600
    units and 82,000 branches sorted on every run of every page took 0.3 s. ``key``: the repr of
    scope and counties (the scope is part of the key).
    A shared resource, read-only (tuples in read-only mappings), not st.cache_data: that unpickled a
    copy of the province's 140,000 names and 56,600 branch lists on every run of every page
    (0.1–0.3 s); nothing here changes them, every caller makes its own list."""
    probe = Filters.make(dt.date.today(), dt.date.today())
    if _counties:
        probe = probe.within(counties=_counties)
    df = _cached(directory, version, "filter_options", repr((probe, _scope, [])), probe, _scope, {})
    out: dict = {dim: () for dim in ("county", "unit", "branch", "community", "category", "form")}
    for dim, part in df.groupby("dimension", sort=False):
        out[dim] = tuple(sorted(set(part["value"].dropna())))
    branches = df[(df["dimension"] == "branch") & df["value"].notna()]
    by_unit: dict[str, list[str]] = {}
    for parent, value in zip(branches["parent"], branches["value"]):
        by_unit.setdefault(parent, []).append(value)
    out["branch_by_unit"] = MappingProxyType({unit: tuple(names) for unit, names in by_unit.items()})
    return MappingProxyType(out)


def clear_query_caches() -> None:
    """Forget every cached query result and what is shaped from them for all sessions (the bench's
    runs of a page from a cold cache): st.cache_data, the filter bar's shared option lists and
    what pages shape from the results (``shared``)."""
    st.cache_data.clear()
    _option_lists.clear()
    _shared.clear()


def option_lists(directory: str, scope: Scope, counties: tuple[str, ...] | None = None) -> MappingProxyType:
    """The filter bar's choices within the scope (and the counties given): see ``_option_lists``."""
    version = get_store(directory).version()
    return _option_lists(directory, version, repr((scope, counties)), scope, counties)


def _asked(key: str) -> list[str]:
    """The values a multiselect bound to the URL is about to show: its state from the run before,
    else (the first run) the URL's."""
    if key in st.session_state:
        return [str(v) for v in st.session_state[key] or []]
    return list(st.query_params.get_all(key))


def store_counties(directory: str, scope: Scope) -> tuple[str, ...]:
    """The store's counties (所属县（市、区）) within the scope, before the filter bar runs (the entry
    script offers 区县对比 only for two or more): the filter bar's own county choices (sorted, as
    ``briefing.store_counties`` gives them), not another copy of the options read from the cache."""
    return option_lists(directory, scope)["county"]


def boundaries(ctx: Context) -> dict:
    """The store's community boundaries, parsed once per data version."""
    return _boundaries(ctx.directory, ctx.version)


def county_shapes(ctx: Context) -> dict:
    """Every county's polygons (counties.county_shapes), dissolved once per data version; the maps
    draw only the counties of the rows they are given (the viewer's scope applies there)."""
    return _county_shapes(ctx.directory, ctx.version)


def several_counties(ctx: Context) -> bool:
    """Whether the view spans two or more counties: its maps draw counties, not communities."""
    return briefing.several_counties(ctx.filters, ctx.scope, ctx.counties)


def level(ctx: Context, capital: bool = False) -> str:
    """The level the figures describe, for labels: 全县, 全市 (the city's all-counties view) or the
    counties chosen or in scope by name (``briefing.level_word``)."""
    return briefing.level_word(ctx.lang, ctx.filters, ctx.scope, ctx.counties, capital)


def county_name(ctx: Context) -> str:
    """The level's name in the viewer's language: the counties chosen or in scope, else the area's
    (settings, else the store's manifest: the city for a store of several counties)."""
    return briefing.area_name(ctx.settings, ctx.store.manifest(), ctx.lang, ctx.filters, ctx.scope)


# Static CSS (never data): a tile's label, and its change with 环比/同比, wrap to a second line
# rather than being cut ("Branches re…" in English on a laptop); on a laptop screen (1366 px) the tiles' values and titles a size smaller, so that
# "1.05万小时" stays inside its tile, and below 1,400 px smaller again: 服务分析's five tiles cut
# "5510.5小时" to "5510.5…" by a pixel.
SCREEN_CSS = """<style>
[data-testid="stMetric"] div:has(> [data-testid="stMetricDeltaDescription"]) {flex-wrap: wrap; row-gap: 0.15rem;}
[data-testid="stMetricLabel"] > div, [data-testid="stMetricLabel"] p {white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important;}
@media screen and (max-width: 1600px) {
  [data-testid="stMetricValue"] {font-size: 1.7rem;}
  [data-testid="stMain"] h1 {font-size: 2rem;}
}
@media screen and (max-width: 1400px) {
  [data-testid="stMetricValue"] {font-size: 1.55rem;}
}
</style>"""


def header(ctx: Context, page_title: str) -> None:
    county = county_name(ctx)
    manifest = ctx.store.manifest()
    st.title(f"{ctx.t('app.subtitle', county=county)} · {page_title}")
    bits = [fmt.date_range(ctx.filters.start, ctx.filters.end, ctx.lang)]
    if ctx.last:
        bits.append(ctx.t("app.data_until", date=fmt.date(ctx.last, ctx.lang)))
    active = {d: v for d, v in ctx.filters.active_dimensions().items() if d != "counties"}  # in the title
    if active:
        names = "；".join("、".join(fmt.md_escape(x) for x in v) for v in active.values())
        bits.append(ctx.t("filter.in_force", filters=names))
    st.caption(" ｜ ".join(bits))
    note = left_out_note(ctx)
    if note:
        st.caption(note)
    if manifest.get("synthetic"):
        st.info(ctx.t("app.synthetic"), icon=":material/science:")


def left_out_note(ctx: Context) -> str | None:
    """With [quality] count_flagged = false: how many of the period's records the figures leave out
    and why (quality_excluded.sql), for every page's header and the briefing's footnote."""
    from redservice import quality

    if quality.count_flagged(ctx.settings) or ctx.status != "ok":
        return None
    return quality.left_out_text(ctx.query("quality_excluded"), ctx.lang)


def period_notice(ctx: Context) -> str | None:
    """Why the requested period shows no figures (reversed dates, no data in it), or None."""
    if ctx.status == "reversed":
        return ctx.t("filter.reversed", start=fmt.date(ctx.filters.start, ctx.lang),
                     end=fmt.date(ctx.filters.end, ctx.lang))
    if ctx.status == "empty":
        return ctx.t("filter.empty", period=fmt.date_range(ctx.filters.start, ctx.filters.end, ctx.lang),
                     first=fmt.date(ctx.first, ctx.lang), last=fmt.date(ctx.last, ctx.lang))
    return None


def refuse_period(ctx: Context) -> None:
    """For a period that cannot be shown: say why, show the tiles with "—" (no figure of another
    period, no 0 for a period without data) and stop the page. Does nothing for a period that can."""
    notice = period_notice(ctx)
    if notice is None:
        return
    if ctx.status == "reversed":
        st.error(notice, icon=":material/error:")
    else:
        st.warning(notice, icon=":material/event_busy:")
    blank = dict.fromkeys(metrics.KPIS)
    _tiles(ctx, metrics.result(blank, blank, ctx.filters), per_row=5, captions=False)
    st.stop()


def kpi_tiles(ctx: Context, per_row: int = 5, captions: bool = True) -> dict:
    """The KPI tiles with change vs the previous period; returns the KPI result for reuse.
    ``captions=False`` leaves out the lines under the tiles (a page that states them elsewhere)."""
    result = _kpis(ctx)
    _tiles(ctx, result, per_row, captions)
    if captions:
        st.caption(compared_text(ctx))
    return result


def _tiles(ctx: Context, result: dict, per_row: int, captions: bool) -> None:
    cards = metrics.cards(result, ctx.lang)
    flat = t("delta.flat", ctx.lang)
    for i in range(0, len(cards), per_row):
        row = cards[i : i + per_row]
        for col, card in zip(st.columns(per_row), row):
            with col:
                # No arrow and no colour for no change ("持平", not "↑ 持平").
                st.metric(
                    card.label, card.value, delta=card.delta,
                    delta_color="off" if card.delta in (None, flat) else "normal",
                    delta_arrow="off" if card.delta == flat else "auto",
                    delta_description=ctx.t(f"kpi.vs_{ctx.filters.compare}") if card.delta else None,
                    help=f"**{ctx.t('kpi.definition')}**：{card.help}", border=True, height="stretch",
                )
        if captions:
            caption_row([card.caption for card in row], per_row)


def caption_row(captions: list[str | None], per_row: int) -> None:
    """The lines under a row of tiles, each under its tile, in a row of their own: a caption inside a
    tile's column would make that column taller and the tiles, which stretch to their row's height
    (labels wrap to two lines or three in English at 1366 px), uneven."""
    if any(captions):
        for col, caption in zip(st.columns(per_row), captions):
            if caption:
                col.caption(caption)


def compared_text(ctx: Context) -> str:
    """Which comparison the tiles show and its dates: 环比：对比上期… / 同比：对比去年同期…"""
    prev = ctx.filters.previous()
    return ctx.t(f"filter.compared_{ctx.filters.compare}", start=fmt.date(prev.start, ctx.lang),
                 end=fmt.date(prev.end, ctx.lang))


def _kpis(ctx: Context) -> dict:
    current = ctx.query("kpis").iloc[0].to_dict()
    previous = ctx.query("kpis", filters=ctx.filters.previous()).iloc[0].to_dict()
    return metrics.result(current, previous, ctx.filters)


_capture: dict | None = None  # set by redservice.page_exports while it runs a page headless


def capture(into: dict | None) -> None:
    """Record every download_excel of the next runs into ``into`` (key -> (title, filters, make));
    None stops recording."""
    global _capture
    _capture = into


def download_excel(ctx: Context, df, title: str, columns: dict[str, str] | None = None,
                   key: str | None = None) -> None:
    """A download button for the table as Excel, with the title and the filters in force on top.
    The workbook is written when the button is clicked, not on every run of the page (a province's
    list of members who have not served is hundreds of thousands of rows). ``df``: the table, or a
    function that makes it (a table shaped for Excel only, e.g. rates as percentages: made then
    too, not on every run — a province's 56,300 units)."""
    def make() -> bytes:
        table = df() if callable(df) else df
        return export.to_excel(table, title, ctx.filters, ctx.lang, columns, ctx.last, ctx.scope, ctx.counties)

    if _capture is not None and key:
        _capture[key] = (title, ctx.filters, make)
    st.download_button(
        ctx.t("export.excel"),
        data=make,
        file_name=export.safe_filename(f"{title}_{ctx.filters.start:%Y%m%d}-{ctx.filters.end:%Y%m%d}", "xlsx"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:", key=key, on_click="ignore",
    )


def plotly(fig, filename: str, key: str | None = None, on_select="ignore"):
    """Show a Plotly figure; its camera button downloads a crisp PNG named for the chart; Plotly's
    own texts in the page's language (charts.plotly_locale).
    ``on_select`` ("rerun" or a callback) makes a click on a point or bar select it."""
    extra = {} if on_select == "ignore" else {"on_select": on_select, "selection_mode": "points"}
    lang = st.session_state[CTX_KEY].lang if CTX_KEY in st.session_state else DEFAULT_LANG
    return st.plotly_chart(
        fig, width="stretch", theme=None, key=key,
        config={"displaylogo": False,
                "toImageButtonOptions": {"format": "png", "scale": 2, "filename": filename},
                **charts.plotly_locale(lang)},
        **extra,
    )


DOOR = "_chart_door"  # session state: (page file, URL parameters) a chart click asked to open


def chart_door(base: str, follow, names) -> tuple[str, object]:
    """A chart whose bars are doors: (widget key, on_select callback) for ``plotly``. A click on a
    bar labelled with one of ``names`` calls ``follow(label)``, e.g. ``open_community``. The key
    changes after each click, so the chart comes back without a bar left selected."""
    counter = f"_{base}_clicks"
    key = f"{base}_{st.session_state.get(counter, 0)}"

    def on_select() -> None:
        label = doors.picked(charts.picked_label(st.session_state[key].selection), list(names))
        st.session_state[counter] = st.session_state.get(counter, 0) + 1
        if label is not None:
            follow(label)

    return key, on_select


def _params() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def open_community(name: str) -> None:
    """(A chart's callback) open the community's drill-down on 社区覆盖."""
    st.session_state[DOOR] = doors.community_view(name, _params())


def open_unit(name: str) -> None:
    """(A chart's callback) open the unit's drill-down on 单位与支部."""
    st.session_state[DOOR] = doors.unit_view(name, _params())


def filter_to(key: str):
    """(A chart's follow) set the filter bar's ``key`` (category, form …) to the clicked label: the
    filter, bound to the URL, then holds on every page until cleared in the sidebar."""
    def follow(name: str) -> None:
        st.session_state[key] = [name]
    return follow


def follow_door() -> None:
    """In the entry script, before the page runs: switch to the page a chart click asked for, its
    drill-down chosen and the tab it names opened (the widgets' state set here: a URL value alone
    does not reach a widget that ran before in this session)."""
    target = st.session_state.pop(DOOR, None)
    if target is not None:
        page, params = target
        if page == doors.UNITS_PAGE and "tab" in params:  # url_tabs keeps the tab's label in the state
            st.session_state[UNITS_TAB] = t(f"units.tab_{params['tab'][0]}", st.session_state.get("lang", DEFAULT_LANG))
        for key in (doors.UNIT_DRILL, doors.COMMUNITY_DRILL):
            if key in params:
                st.session_state[key] = params[key][0]
        st.switch_page(page, query_params=params)


UNITS_TAB = "units_tab"  # 单位与支部: the open tab, in Session State


def url_tabs(labels: dict[str, str], key: str, param: str = "tab"):
    """st.tabs (run lazily: ``on_change="rerun"``) whose open tab is in the URL as a stable code
    (``?tab=chart``), not its translated label, so that a copied link opens the same tab in either
    language. ``labels``: code → label, the first the default (left out of the URL)."""
    codes = list(labels)
    shown = st.session_state.get(key)
    if shown is None or shown not in labels.values():  # first run, or the language was switched
        wanted = st.query_params.get(param)
        if wanted in labels:
            st.session_state[key] = labels[wanted]
        elif shown is not None:
            del st.session_state[key]
    tabs = st.tabs(list(labels.values()), key=key, on_change="rerun")
    current = st.session_state.get(key)
    code = next((c for c, label in labels.items() if label == current), codes[0])
    if code == codes[0]:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = code
    return tabs


def url_choice(widget, label: str, codes, key: str, default: str, format_func, **kwargs) -> str:
    """A page's own single-choice widget whose URL parameter holds a stable code (see _url_choice)."""
    return _url_choice(widget, label, codes, key, default, format_func, **kwargs)


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _briefing_images(key: str, _data, lang: str) -> dict[str, bytes]:
    # ``key``: data version, scope, filters, period and language: everything the figure shows
    from redservice import briefing_figure, render

    return render.render(briefing_figure.build(_data), ("png", "pdf"), scale=briefing_figure.PNG_SCALE, lang=lang)


def briefing_images(ctx: Context, data) -> dict[str, bytes]:
    """The whole briefing (``briefing.Briefing``) as PNG and PDF bytes, drawn on the server and
    cached per data version, scope, filters, period and language. Raises ``render.RenderError``
    (a message for the user) when no image can be made."""
    key = repr((ctx.directory, ctx.version, ctx.scope, ctx.filters, ctx.period, ctx.lang))
    return _briefing_images(key, data, ctx.lang)
