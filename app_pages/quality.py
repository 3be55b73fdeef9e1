"""数据质量: records that are implausible across rows (the [quality] rules), before a figure goes
into a briefing — counts per rule against the previous period, flag rates per unit and community,
and the flagged records with the rules each broke, exportable (names masked per role).
Its own page, not a tab of 数据管理: the filter bar applies here (a unit, a period), and it is read
by whoever writes the briefing, not only by those who import."""

import streamlit as st

from redservice import fmt, quality, ui

ctx = ui.context()
bound = quality.params(ctx.settings)
page = quality.parts(ctx.query("quality_page", **bound))  # one computation of the flags
rules, units, communities, flagged = page["rule"], page["unit"], page["community"], page["record"]
before = ctx.query("quality_rules", filters=ctx.filters.previous(), **bound)

checked = int(units["records"].sum()) if not units.empty else 0
n_flagged = len(flagged)
cards = [
    (ctx.t("quality.card.checked"), fmt.count(checked, "records", ctx.lang), ctx.t("quality.card.checked_help")),
    (ctx.t("quality.card.flagged"), fmt.count(n_flagged, "records", ctx.lang), ctx.t("quality.card.flagged_help")),
    (ctx.t("quality.card.rate"), fmt.percent(fmt.ratio(n_flagged, checked), ctx.lang), ctx.t("quality.card.rate_help")),
    (ctx.t("quality.card.units"), fmt.count(int((units["flagged"] > 0).sum()) if not units.empty else 0, "units",
                                            ctx.lang), ctx.t("quality.card.units_help")),
]
for col, (label, value, help_text) in zip(st.columns(len(cards)), cards):
    with col:
        st.metric(label, value, help=help_text, border=True, height="stretch")
prev = ctx.filters.previous()
st.caption(ctx.t("quality.caption", start=fmt.date(prev.start, ctx.lang), end=fmt.date(prev.end, ctx.lang)))

st.subheader(ctx.t("quality.rules_title"))
# a static table: seven rows whose definitions wrap, whole in a screenshot
st.table(quality.rules_frame(rules, before, ctx.settings, ctx.lang).set_index(ctx.t("quality.col.rule")))

left, right = st.columns(2)
with left:
    st.subheader(ctx.t("quality.units_title"))
    if units.empty:
        st.info(ctx.t("app.no_data"))
    else:
        st.dataframe(quality.rates_frame(units, "unit", ctx.lang), hide_index=True, width="stretch", height=320)
with right:
    st.subheader(ctx.t("quality.communities_title"))
    if communities.empty:
        st.info(ctx.t("app.no_data"))
    else:
        st.dataframe(quality.rates_frame(communities, "community", ctx.lang), hide_index=True, width="stretch",
                     height=320)

st.subheader(ctx.t("quality.list_title"))
if flagged.empty:
    st.success(ctx.t("quality.none_flagged"), icon=":material/verified:")
else:
    table = quality.flagged_frame(flagged, ctx.lang, ctx.scope.show_names)
    ui.download_excel(ctx, table, ctx.t("quality.list_title"), None, key="quality_excel")
    st.dataframe(table, hide_index=True, width="stretch", height=460)
