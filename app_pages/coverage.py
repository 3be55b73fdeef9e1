"""社区覆盖: which communities are well served — an offline map coloured by the chosen metric with
its legend, the communities ranked, one community's drill-down, and the table of every community.
A view of several counties (a city's, no county chosen) maps and ranks its counties, not every
community; a click on a county chooses it in the filter bar, and the map then draws its communities."""

import pandas as pd
import streamlit as st

from redservice import charts, counties, coverage, filters, fmt, maps, ui

ctx = ui.context()
SEVERAL = ui.several_counties(ctx)  # the map's rows are counties'
COUNTY = "county"  # the filter bar's 区县 (widget key, bound to the URL)
FOCUS = "drill"  # widget key and URL parameter of the community drilled into
CLICKS = "_coverage_clicks"  # bumped when the selector changes: resets the map's and bars' selection
MAP_HEIGHT = 620

clicks = st.session_state.get(CLICKS, 0)
map_key, bar_key = f"coverage_map_{clicks}", f"coverage_bar_{clicks}"


def _focus_on(name: str | None) -> None:
    if name and SEVERAL:  # a county clicked: choose it
        st.session_state[COUNTY] = [name]
    elif name:
        st.session_state[FOCUS] = name


def _from_map() -> None:
    _focus_on(maps.picked_community(st.session_state[map_key].selection))


def _from_bar() -> None:
    _focus_on(charts.picked_label(st.session_state[bar_key].selection))


def _from_selector() -> None:
    st.session_state[CLICKS] = clicks + 1


summary = ctx.query("community_summary")
table = coverage.community_table(summary)
names = table["community"].tolist()
if st.session_state.get(FOCUS) is not None and st.session_state[FOCUS] not in names:
    st.session_state[FOCUS] = None

c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
with c1:
    metric = ui.url_choice(st.segmented_control, ctx.t("coverage.metric"), coverage.METRICS, "map",
                           coverage.DEFAULT_METRIC, lambda m: ctx.t(f"coverage.metric_{m}"), required=True,
                           help=ctx.t("coverage.metric_help"))
with c2:
    focus = st.selectbox(ctx.t("coverage.drill_select"), names, index=None, key=FOCUS, bind="query-params",
                         placeholder=ctx.t("coverage.drill_placeholder"), on_change=_from_selector)

if table.empty:
    st.info(ctx.t("app.no_data"))
else:
    if SEVERAL:
        view = coverage.coverage_map(counties.coverage_table(ctx.query("county_compare")),
                                     pd.DataFrame(columns=["households_reached"]), ui.county_shapes(ctx), metric,
                                     ctx.lang, ctx.settings, height=MAP_HEIGHT, level="county")
    else:
        view = coverage.coverage_map(table, ctx.query("coverage_compounds", community=None), ui.boundaries(ctx),
                                     metric, ctx.lang, ctx.settings, focus=focus, height=MAP_HEIGHT)
    left, middle, right = st.columns([11, 3, 6])
    with left:
        unmapped = ctx.t("coverage.unmapped", names="、".join(view.unmapped))
        if view.drawn:
            st.pydeck_chart(view.deck, height=MAP_HEIGHT, key=map_key, on_select=_from_map,
                            selection_mode="single-object")
            if view.unmapped:
                st.caption(unmapped)
        else:
            st.info(unmapped, icon=":material/map:")
    with middle:
        st.html(view.legend_html)
    with right:
        ui.plotly(view.ranking, view.ranking_title, key=bar_key, on_select=_from_bar)

    # -- one community ---------------------------------------------------------------------------
    st.subheader(f"{ctx.t('coverage.drill')}" + (f" · {focus}" if focus else ""))
    if focus is None:
        st.info(ctx.t("coverage.drill_hint"), icon=":material/ads_click:")
    else:
        row = coverage.row_of(table, focus)
        for col, (label, value) in zip(st.columns(6), coverage.focus_tiles(row, ctx.lang)):
            col.metric(label, value, border=True, height="stretch")

        a, b = st.columns([1, 1])
        with a:
            st.markdown(f"**{ctx.t('coverage.compounds')}**")
            compounds = ctx.query("coverage_compounds", community=focus)
            if compounds.empty:
                st.caption(ctx.t("coverage.compounds_none"))
            else:
                shown = compounds[["compound", "households_total", "households_reached", "coverage", "hours",
                                   "persons"]]
                st.dataframe(fmt.percent_points(shown, "coverage"), hide_index=True, width="stretch", placeholder=fmt.DASH,
                             column_config=coverage.column_config(ctx.lang, compound=True))
                excel, labels = coverage.drill_excel(shown, ctx.lang, compound=True)
                ui.download_excel(ctx, excel, f"{focus}_{ctx.t('coverage.compounds')}", labels, key="compounds_excel")
        with b:
            paired, others = coverage.split_units(ctx.query("community_units", community=focus))
            for title, units, empty in ((ctx.t("coverage.paired_units"), paired, ctx.t("coverage.paired_none")),
                                        (ctx.t("coverage.other_units"), others, ctx.t("coverage.other_none"))):
                st.markdown(f"**{title}**")
                if units.empty:
                    st.caption(empty)
                else:
                    st.dataframe(units, hide_index=True, width="stretch", placeholder=fmt.DASH,
                                 column_config=coverage.column_config(ctx.lang))
                    excel, labels = coverage.drill_excel(units, ctx.lang)
                    ui.download_excel(ctx, excel, f"{focus}_{title}", labels, key=f"units_excel_{title}")

        trend_start = min(ctx.filters.start, filters.period_range("last12", ctx.filters.end)[0])
        monthly = ctx.query("monthly_trend", filters=ctx.filters.with_period(trend_start, ctx.filters.end)
                            .within(communities=(focus,)))
        categories = ctx.query("community_categories", community=focus)
        a, b = st.columns([3, 2])
        with a:
            if monthly.empty:
                st.info(ctx.t("app.no_data"))
            else:
                ui.plotly(coverage.monthly_figure(monthly, ctx.lang, ctx.filters.start, ctx.filters.end),
                          f"{focus}_{ctx.t('coverage.monthly')}", key="coverage_monthly")
        with b:
            if categories.empty:
                st.info(ctx.t("app.no_data"))
            else:
                ui.plotly(charts.ranking(categories, "category", "hours", ctx.lang, ctx.t("coverage.categories"),
                                         "hours", 1, height=380),
                          f"{focus}_{ctx.t('coverage.categories')}", key="coverage_categories")

        st.markdown(f"**{ctx.t('coverage.wishes')}**")
        wishes = ctx.query("community_open_wishes", community=focus)
        counts = coverage.open_wish_counts(wishes)
        as_of = fmt.date(ctx.filters.end, ctx.lang)
        if wishes.empty:
            st.caption(ctx.t("coverage.wishes_none", date=as_of))
        else:
            st.caption(ctx.t("coverage.wishes_summary", date=as_of, **counts))
            open_table = coverage.open_wishes_table(wishes, ctx.lang, ctx.scope.show_names)
            st.dataframe(open_table, hide_index=True, width="stretch", placeholder=fmt.DASH,
                         column_config=coverage.column_config(ctx.lang))
            excel, labels = coverage.drill_excel(open_table, ctx.lang)
            ui.download_excel(ctx, excel, f"{focus}_{ctx.t('coverage.wishes')}", labels, key="open_wishes_excel")

    # -- every community ---------------------------------------------------------------------------
    st.subheader(ctx.t("coverage.table"))
    ui.download_excel(ctx, lambda: coverage.excel_table(table), ctx.t("coverage.table"), coverage.excel_columns(ctx.lang),
                      key="coverage_excel")
    st.dataframe(fmt.percent_points(table, "coverage"), hide_index=True, width="stretch",
                 height=coverage.table_height(len(table)),
                 placeholder=fmt.DASH, column_config=coverage.column_config(ctx.lang))
