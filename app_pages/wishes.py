"""微心愿: 需求清单 → 认领 → 办结 — the pipeline and its conversion, time taken, open and overdue wishes
by community, categories, 双评价 satisfaction, and the follow-up list with an Excel download.
Wish texts are residents' words: they are shown only inside st.dataframe, never as markdown/HTML."""

import streamlit as st

from redservice import charts, fmt, ui, wishes

ctx = ui.context()
cfg = ctx.settings["wishes"]
claim_days, complete_days = wishes.thresholds(ctx.settings)
end = fmt.date(ctx.filters.end, ctx.lang)

pipe = wishes.pipeline(ctx.query("wish_pipeline").iloc[0])
dur = wishes.durations(ctx.query("wish_durations").iloc[0])
open_df = wishes.open_wishes(ctx.query("wish_open"), ctx.settings, ctx.scope.show_names)
by_community = wishes.open_by_community(open_df)
categories = wishes.by_category(ctx.query("wish_categories"), ctx.t("wishes.uncategorised"))
dist, unrated = wishes.satisfaction_distribution(ctx.query("wish_satisfaction"))
satisfaction = wishes.satisfaction_summary(dist, cfg["satisfied_min"])
units = ctx.query("wish_satisfaction_units", satisfied_min=cfg["satisfied_min"])

for col, card in zip(st.columns(6), wishes.cards(pipe, dur, open_df, ctx.settings, ctx.lang)):
    with col:
        st.metric(card.label, card.value, help=f"**{ctx.t('kpi.definition')}**：{card.help}", border=True)
        if card.caption:
            st.caption(card.caption)
st.caption(ctx.t("wishes.definition", start=fmt.date(ctx.filters.start, ctx.lang), end=end,
                 posted=fmt.quantity(pipe["posted"], "items", ctx.lang),
                 claim_days=claim_days, complete_days=complete_days))

left, right = st.columns([2, 3])
with left:
    stages = [ctx.t("wishes.stage_posted"), ctx.t("wishes.stage_claimed_funnel"), ctx.t("wishes.stage_completed")]
    ui.plotly(charts.funnel(stages, [pipe["posted"], pipe["claimed"], pipe["completed"]], ctx.lang,
                            ctx.t("wishes.funnel_title"), height=420),
              ctx.t("wishes.funnel_title"), key="funnel")
    st.caption(wishes.funnel_basis(pipe, ctx.lang))
with right:
    if open_df.empty:
        st.info(ctx.t("wishes.no_open"))
    else:
        dots, order = wishes.ages_chart_rows(open_df, by_community)
        ui.plotly(charts.open_wish_ages(dots, order, ctx.lang, ctx.t("wishes.ages_title")),
                  ctx.t("wishes.ages_title"), key="ages")
        st.caption(ctx.t("wishes.ages_caption", end=end))
        if len(by_community) > len(order):
            st.caption(ctx.t("wishes.ages_top", n=len(order), total=fmt.number(len(by_community), ctx.lang)))

left, right = st.columns(2)
with left:
    if categories.empty:
        st.info(ctx.t("app.no_data"))
    else:
        ui.plotly(charts.wish_categories(categories, ctx.lang, ctx.t("wishes.categories_title")),
                  ctx.t("wishes.categories_title"), key="categories")
with right:
    if satisfaction["rated"] == 0:
        st.info(ctx.t("app.no_data"))
    else:
        ui.plotly(charts.satisfaction_bars(dist, cfg["satisfied_min"], ctx.lang, ctx.t("wishes.satisfaction_title")),
                  ctx.t("wishes.satisfaction_title"), key="satisfaction")
    st.caption(ctx.t("wishes.satisfaction_caption", rated=fmt.quantity(satisfaction["rated"], "items", ctx.lang),
                     mean=fmt.number(satisfaction["mean_score"], ctx.lang, 2), min=cfg["satisfied_min"],
                     rate=fmt.percent(satisfaction["satisfied_rate"], ctx.lang),
                     unrated=fmt.quantity(unrated, "items", ctx.lang)))

st.subheader(ctx.t("wishes.units_title"))
st.caption(ctx.t("wishes.units_caption"))
if units.empty:
    st.info(ctx.t("app.no_data"))
else:
    ui.download_excel(ctx, lambda: wishes.units_excel(units), ctx.t("wishes.units_title"),
                      wishes.units_excel_columns(ctx.lang), key="satisfaction_units_excel")
    st.dataframe(fmt.percent_points(units[["unit", "completed", "rated", "mean_score", "satisfied_rate"]],
                                    "satisfied_rate"), hide_index=True,
                 width="stretch", height=280, column_config={
                     "unit": ctx.t("wishes.unit"),
                     "completed": st.column_config.NumberColumn(ctx.t("wishes.completed"), format="%d"),
                     "rated": st.column_config.NumberColumn(ctx.t("wishes.rated"), format="%d"),
                     "mean_score": st.column_config.NumberColumn(ctx.t("wishes.mean_score"), format="%.2f"),
                     "satisfied_rate": st.column_config.ProgressColumn(
                         ctx.t("wishes.satisfied_rate"), format=fmt.PERCENT_FORMAT, min_value=0.0, max_value=100.0),
                 })

st.subheader(ctx.t("wishes.list_title"))
if open_df.empty:
    st.info(ctx.t("wishes.no_open"))
else:
    # the screen shows the first SCREEN_ROWS (overdue and longest-waiting first); the workbook, made
    # on a click, every open wish
    table = wishes.follow_up_table(open_df.head(wishes.SCREEN_ROWS), ctx.lang)
    caption = ctx.t("wishes.list_caption", end=end, n=fmt.quantity(len(open_df), "items", ctx.lang),
                    overdue=fmt.quantity(int(open_df["overdue"].sum()), "items", ctx.lang))
    if len(open_df) > len(table):
        caption += ctx.t("wishes.list_capped", shown=fmt.number(len(table), ctx.lang))
    st.caption(caption)
    columns = {c: ctx.t(f"wishes.{c}") for c in
               ("wish_id", "community", "compound", "category", "content", "posted_on", "age_days", "stage",
                "claim_unit", "claimer", "claimed_on", "overdue_note")}
    ui.download_excel(ctx, lambda: wishes.follow_up_table(open_df, ctx.lang), ctx.t("wishes.list_title"), columns,
                      key="wishes_excel")
    st.dataframe(
        wishes.highlight_overdue(table), hide_index=True, width="stretch", height=460,
        column_order=list(columns),
        column_config={
            **columns,
            "age_days": st.column_config.NumberColumn(columns["age_days"], format="%d"),
            "content": st.column_config.TextColumn(columns["content"], width="medium"),
        },
    )
