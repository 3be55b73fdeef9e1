"""服务分析: 六送三请 and the other services, activity forms, the monthly trend by category, when
service happens, and each month's 红色服务日 (participation, attendance per unit, units that missed it).
A click on a category's or a form's bar sets that filter. The page has no tabs."""

import streamlit as st

from redservice import charts, fmt, services, ui

ctx = ui.context()
settings = ctx.settings
red_form = settings["services"]["red_day_form"]
group_labels = {g: ctx.t(f"services.group_{g}") for g in services.GROUPS}

categories = services.by_category(ctx.query("service_categories"), settings)
forms = ctx.query("service_forms")
window = services.trend_window(ctx.filters, int(settings["services"]["season_months"]))
trend, trend_groups = services.category_trend(
    ctx.query("service_category_trend", filters=ctx.filters.with_period(*window)), settings, ctx.lang)
by_month, by_weekday = services.seasonality(
    ctx.query("service_seasonality", filters=ctx.filters.with_period(*window)))
red_months = ctx.query("red_day_months", red_form=red_form)
red_units = ctx.query("red_day_units", red_form=red_form)
red = services.red_day_summary(red_months)

cards = services.cards(services.group_totals(categories), red, ctx.lang)
for col, card in zip(st.columns(5), cards):
    with col:
        st.metric(card.label, card.value, help=f"**{ctx.t('kpi.definition')}**：{card.help}", border=True,
                  height="stretch")
ui.caption_row([card.caption for card in cards], 5)

left, right = st.columns([3, 2])
with left:
    if categories.empty:
        st.info(ctx.t("app.no_data"))
    else:
        key, on_select = ui.chart_door("categories", ui.filter_to("category"), categories["category"])
        ui.plotly(ui.shared(ctx, "services_categories", lambda: charts.hours_persons_panels(
            categories, "category", ctx.lang, ctx.t("services.by_category"), group_col="group",
            group_labels=group_labels)), ctx.t("services.by_category"), key=key, on_select=on_select)
        st.caption(ctx.t("services.category_door"))
        columns = {"group": ctx.t("services.group"), "category": ctx.t("services.category"),
                   "hours": ctx.t("services.hours"), "persons": ctx.t("services.persons"),
                   "records": ctx.t("services.records"), "members": ctx.t("services.active")}
        ui.download_excel(ctx, services.category_table(categories, ctx.lang), ctx.t("services.category_table"),
                          columns, key="categories_excel")
with right:
    if forms.empty:
        st.info(ctx.t("app.no_data"))
    else:
        key, on_select = ui.chart_door("forms", ui.filter_to("form"), forms["form"])
        ui.plotly(ui.shared(ctx, "services_forms", lambda: charts.hours_persons_panels(
            forms, "form", ctx.lang, ctx.t("services.by_form"), height=300)),
                  ctx.t("services.by_form"), key=key, on_select=on_select)
        st.caption(ctx.t("services.form_door"))

left, right = st.columns([3, 2])
with left:
    if trend.empty:
        st.info(ctx.t("app.no_data"))
    else:
        ui.plotly(ui.shared(ctx, "services_trend", lambda: charts.stacked_trend(
            trend, trend_groups, group_labels, ctx.lang, ctx.t("services.trend"), ctx.filters.start, ctx.filters.end)),
                  ctx.t("services.trend"), key="trend")
        st.caption(ctx.t("services.trend_caption"))
with right:
    ui.plotly(ui.shared(ctx, "services_season", lambda: charts.seasonality(
        by_month, by_weekday, ctx.lang, ctx.t("services.season"))), ctx.t("services.season"), key="season")
    st.caption(ctx.t("services.season_caption", start=fmt.date(window[0], ctx.lang),
                     end=fmt.date(window[1], ctx.lang)))

st.subheader(ctx.t("services.red_day"))
st.caption(ctx.t("services.red_day_def", form=red_form))
if red_months.empty:
    st.info(ctx.t("services.no_red_day", form=red_form))
else:
    attendees, members = services.attendance_matrix(red_units, services.HEATMAP_ROWS)
    unit_count = red_units["unit"].nunique()
    missed = services.missed_units(red_units)
    left, right = st.columns([2, 3])
    with left:
        ui.plotly(ui.shared(ctx, "services_red_rate", lambda: charts.participation_bars(
            red_months, ctx.lang, ctx.t("services.rate_title"))), ctx.t("services.rate_title"), key="red_rate")
        st.markdown(f"**{ctx.t('services.missed_title')}**")
        if missed.empty:
            st.success(ctx.t("services.none_missed"))
        else:
            columns = {"month": ctx.t("services.month"), "unit": ctx.t("services.unit"),
                       "members": ctx.t("services.members")}
            shown = services.missed_table(missed, ctx.lang)
            ui.download_excel(ctx, shown, ctx.t("services.missed_title"), columns, key="missed_excel")
            st.dataframe(shown, hide_index=True, width="stretch", column_config={
                "month": columns["month"], "unit": columns["unit"],
                "members": st.column_config.NumberColumn(columns["members"], format="%d"),
            })
    with right:
        st.caption(ctx.t("services.heatmap_caption", units=fmt.number(unit_count, ctx.lang))
                   if unit_count <= len(attendees.index) else
                   ctx.t("services.heatmap_top", n=len(attendees.index), units=fmt.number(unit_count, ctx.lang)))
        with st.container(height=640, border=False):
            ui.plotly(ui.shared(ctx, "services_heatmap", lambda: charts.attendance_heatmap(
                attendees, members, ctx.lang, ctx.t("services.heatmap_title"))),
                      ctx.t("services.heatmap_title"), key="red_heatmap")
