"""总览: the county at a glance — KPI tiles, the monthly trend, communities and units ranked (a click
on a community's or a unit's bar opens its drill-down)."""

import streamlit as st

from redservice import approval, charts, filters, fmt, ui

ctx = ui.context()
ui.kpi_tiles(ctx)
uncounted = ctx.query("approval_period", pending=approval.pending(ctx.settings)).iloc[0]
if uncounted["pending"] or uncounted["other"]:
    st.caption(ctx.t("overview.uncounted", pending=fmt.number(int(uncounted["pending"]), ctx.lang),
                     hours=fmt.number(uncounted["pending_hours"], ctx.lang, 1),
                     other=fmt.number(int(uncounted["other"]), ctx.lang)))

trend_start = min(ctx.filters.start, filters.period_range("last12", ctx.filters.end)[0])
trend = charts.fill_months(ctx.query("monthly_trend", filters=ctx.filters.with_period(trend_start, ctx.filters.end)),
                           trend_start, ctx.filters.end)
communities = ctx.query("community_summary")
units = ctx.query("unit_summary")

left, right = st.columns([3, 2])
with left:
    if not trend["records"].any():
        st.info(ctx.t("app.no_data"))
    else:
        ui.plotly(charts.monthly_trend(trend, ctx.lang, ctx.filters.start, ctx.filters.end),
                  ctx.t("overview.trend"), key="trend")
with right:
    key, on_select = ui.chart_door("communities", ui.open_community, communities["community"])
    ui.plotly(charts.ranking(communities, "community", "hours", ctx.lang, ctx.t("overview.top_communities"),
                             "hours", 1, height=380), ctx.t("overview.top_communities"), key=key,
              on_select=on_select)
    st.caption(ctx.t("overview.community_door"))

c1, c2 = st.columns([2, 3])
with c1:
    st.subheader(ctx.t("overview.top_units"))
    if units.empty:
        st.info(ctx.t("app.no_data"))
    else:
        key, on_select = ui.chart_door("units", ui.open_unit, units["unit"])
        ui.plotly(charts.ranking(units, "unit", "hours", ctx.lang, None, "hours", 1, top=15, height=460),
                  ctx.t("overview.top_units"), key=key, on_select=on_select)
        st.caption(ctx.t("overview.unit_door"))
with c2:
    st.subheader(ctx.t("overview.community_table"))
    table = communities[["community", "members", "hours", "persons", "households_reached", "coverage"]]
    ui.download_excel(ctx, table, ctx.t("overview.community_table"), {
        "community": ctx.t("overview.community"), "members": ctx.t("overview.members"),
        "hours": ctx.t("overview.hours"), "persons": ctx.t("overview.persons"),
        "households_reached": ctx.t("overview.households"), "coverage": ctx.t("overview.coverage"),
    }, key="overview_excel")
    st.dataframe(
        fmt.percent_points(table, "coverage"), hide_index=True, width="stretch", height=460,
        column_config={
            "community": ctx.t("overview.community"),
            "members": st.column_config.NumberColumn(ctx.t("overview.members"), format="%d"),
            "hours": st.column_config.NumberColumn(ctx.t("overview.hours"), format="%.1f"),
            "persons": st.column_config.NumberColumn(ctx.t("overview.persons"), format="%d"),
            "households_reached": st.column_config.NumberColumn(ctx.t("overview.households"), format="%d"),
            "coverage": st.column_config.ProgressColumn(ctx.t("overview.coverage"), format=fmt.PERCENT_FORMAT,
                                                        min_value=0.0, max_value=100.0),
        },
    )
