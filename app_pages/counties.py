"""区县对比: each county side by side (较上期, 同比, per 100 members and households), a county map whose
click sets the 区县 filter, and the ranking. Offered only for a store of two or more counties."""

import streamlit as st

from redservice import charts, counties, ui

ctx = ui.context()
MAP_HEIGHT = 560
METRICS = tuple(key for key, _, _ in counties.NORMALISED)
map_key = "county_map"


def _from_map() -> None:
    name = counties.picked_county(st.session_state[map_key].selection)
    if name:
        st.session_state["county"] = [name]  # the filter bar's 区县 (bound to the URL)


metric = ui.url_choice(st.segmented_control, ctx.t("counties.metric"), METRICS, "cmetric", counties.DEFAULT_METRIC,
                       lambda m: ctx.t(f"counties.{m}"), required=True)
# every county the viewer may see, the ones chosen in the filter bar outlined (a click picks another)
every = ctx.filters.within(counties=None)
df = counties.comparison(ctx.query, every)
if df.empty:
    st.info(ctx.t("app.no_data"))
    st.stop()

view = counties.county_map(df, {}, {}, metric, ctx.lang, ctx.filters.counties, height=MAP_HEIGHT,
                           shapes=ui.county_shapes(ctx))  # the counties of df only (the scope's) are drawn
left, middle, right = st.columns([11, 3, 6])
with left:
    if view.deck is not None:
        st.pydeck_chart(view.deck, height=MAP_HEIGHT, key=map_key, on_select=_from_map,
                        selection_mode="single-object")
        st.caption(ctx.t("counties.map_hint"))
    else:
        st.info(ctx.t("counties.no_map"), icon=":material/map:")
with middle:
    st.html(view.legend_html)
with right:
    title = ctx.t("counties.ranking", metric=ctx.t(f"counties.{metric}"))
    ranked = df.dropna(subset=[metric])
    unit = "hours" if metric.startswith("hours") else ("persons" if metric.startswith("persons") else "households")
    ui.plotly(charts.ranking(ranked, "county", metric, ctx.lang, title, unit, decimals=1, height=MAP_HEIGHT), title)

st.subheader(ctx.t("counties.table"))
shown = counties.table(df, ctx.lang, metric)
st.dataframe(shown, hide_index=True, width="stretch")
st.caption(ctx.t("counties.note"))
ui.download_excel(ctx, shown, ctx.t("counties.table"), key="counties_table")
