"""年度考核: the year of the filter's end date, as of a date (default the data's last date in it):
units against the thresholds, members by status with the drill unit → branch → member and a
member's record of the year, the communities' grades (双评价) and their conflicts with the rule,
the reminders with a notice to copy, the records waiting for approval, and the 反馈表 per unit.
Figures from queries/assess_*.sql and approval_*.sql (redservice.assess, .feedback, .approval)."""

import streamlit as st

from redservice import approval, assess, export, feedback, fmt, ui
from redservice.privacy import mask_name
from redservice.scorecard import SettingsError

ctx = ui.context()
T = ctx.t
year = ctx.filters.end.year
y0, y1 = assess.year_bounds(year)
if ctx.last is None or ctx.first is None or ctx.last < y0 or ctx.first > y1:
    st.info(T("assess.no_year", year=year, first=fmt.date(ctx.first, ctx.lang) if ctx.first else "—",
              last=fmt.date(ctx.last, ctx.lang) if ctx.last else "—"), icon=":material/event_busy:")
    st.stop()

default = assess.default_as_of(year, ctx.last)
if "as_of" in st.session_state and not y0 <= st.session_state["as_of"] <= y1:
    del st.session_state["as_of"]  # another year was chosen in the filter bar
as_of = st.date_input(T("assess.as_of"), value=default, min_value=y0, max_value=y1, key="as_of",
                      bind="query-params", format="YYYY-MM-DD", help=T("assess.as_of_help"), width=220)


def query(name, filters=None, **extra):
    return ctx.query(name, filters=filters, **extra)


try:
    tg = assess.targets(ctx.settings)
    _checked = approval.counted(ctx.settings), approval.pending(ctx.settings)  # raise here, not on a tab
    units = ui.shared(ctx, "assess_units", lambda: feedback.unit_figures(query, ctx.filters, ctx.settings, year, as_of),
                      year, as_of)
    a = feedback.load(query, ctx.filters, ctx.scope, ctx.settings, year, as_of, units)
except SettingsError as exc:  # a wrong [targets], [evaluation] or [approval] in config.toml
    st.error(T("assess.settings_error", error=str(exc)), icon=":material/error:")
    st.stop()
final = a.final
st.caption(T("assess.caption", year=year, date=fmt.date(as_of, ctx.lang),
             pace=fmt.percent(assess.pace(year, as_of), ctx.lang), hours=fmt.number(tg["hours_per_year"], ctx.lang, 1),
             activities=tg["activities_per_year"], contacts=tg["contacts_per_quarter"],
             days=tg["report_within_days"]) + " " + T("assess.final_note" if final else "assess.pace_note"))

units = a.units
flagged = int(sum(bool(f) for f in units["flags"])) if not units.empty else 0
on_roster = int(units["on_roster"].sum()) if not units.empty else 0
reported = int(units["reported"].sum()) if not units.empty else 0
done = int(units["met"].sum() + (0 if final else units["on_track"].sum())) if not units.empty else 0
cards = [
    ("on_roster", fmt.count(on_roster, "people", ctx.lang)),
    ("reporting_rate", fmt.percent(fmt.ratio(reported, on_roster), ctx.lang)),
    ("completion", fmt.percent(fmt.ratio(done, reported), ctx.lang)),
    ("behind", fmt.count(int(units["behind"].sum()) if not units.empty else 0, "people", ctx.lang)),
    ("overdue", fmt.count(int(units["overdue"].sum()) if not units.empty else 0, "people", ctx.lang)),
    ("flagged", fmt.count(flagged, "units", ctx.lang)),
]
for col, (key, value) in zip(st.columns(len(cards)), cards):
    with col:
        st.metric(T(f"assess.card.{key}"), value, help=T(f"assess.card.{key}_help"), border=True, height="stretch")

tab_units, tab_members, tab_grades, tab_reminders, tab_pending, tab_feedback = ui.url_tabs(
    {code: T(f"assess.tab_{code}", evaluate=assess.mechanism(ctx.settings, "evaluate"))
     for code in ("units", "members", "grades", "reminders", "pending", "feedback")},
    "assess_tab")

# -- 单位考核 ---------------------------------------------------------------------------------
with tab_units:
    if tab_units.open and units.empty:
        st.info(T("app.no_data"))
    elif tab_units.open:
        table = ui.shared(ctx, "assess_units_table", lambda: assess.units_frame(units, ctx.lang, final), year, as_of)
        if flagged:
            st.markdown(T("assess.flagged_units", n=flagged))
        ui.download_excel(ctx, table, T("assess.units_title"), key="assess_units_excel")
        st.dataframe(table, hide_index=True, width="stretch", height=520)

# -- 党员明细: unit → branch → member -----------------------------------------------------------
with tab_members:
    if tab_members.open and not units.empty:
        c1, c2, c3 = st.columns(3)
        unit = c1.selectbox(T("assess.pick_unit"), list(units["unit"]), key="assess_unit")
        members = a.members_of(unit)
        branches = sorted(b for b in members["branch"].dropna().unique())
        branch = c2.selectbox(T("assess.pick_branch"), [None, *branches], key="assess_branch",
                              format_func=lambda b: T("assess.all_branches") if b is None else b)
        if branch is not None:
            members = members[members["branch"] == branch]
        shown = assess.members_frame(members, ctx.lang, ctx.scope.show_names)
        ui.download_excel(ctx, shown, f"{unit} {T('assess.tab_members')}", key="assess_members_excel")
        st.dataframe(shown, hide_index=True, width="stretch", height=420)
        ids = list(members["member_id"])
        names = dict(zip(members["member_id"], members["name"]))
        who = c3.selectbox(T("assess.pick_member"), [None, *ids], key="assess_member",
                           format_func=lambda m: T("assess.no_member") if m is None
                           else (names[m] if ctx.scope.show_names else mask_name(names[m])))
        if who is not None:
            row = members[members["member_id"] == who].iloc[0]
            shown_name = row["name"] if ctx.scope.show_names else mask_name(row["name"])
            title = T("assess.profile_title", name=shown_name, unit=unit, year=year)
            st.subheader(fmt.md_escape(title), anchor=False)
            st.markdown(fmt.md_escape(T("assess.profile_grade", grade=row["grade"], community=row["grade_community"],
                                        comment=row["grade_comment"] or "") if isinstance(row["grade"], str)
                                      else T("assess.profile_no_grade")))
            points = a.points_of(unit)
            mine = points[points["member_id"] == who]["points"]
            st.markdown(T("assess.profile_points", points=fmt.number(float(mine.iloc[0]) if len(mine) else 0.0,
                                                                    ctx.lang, 1),
                          hours=fmt.number(row["hours"], ctx.lang, 1), activities=int(row["activities"]),
                          days=int(row["contact_days"]), status=assess.status_label(row["status"], ctx.lang)))
            records = ctx.query("assess_profile", member_id=who, **assess.params(ctx.settings, year, as_of))
            if records.empty:
                st.info(T("assess.profile_none", date=fmt.date(as_of, ctx.lang)))
            else:
                profile = assess.profile_frame(records, ctx.lang)
                ui.download_excel(ctx, profile, title, key="assess_profile_excel")
                st.dataframe(profile, hide_index=True, width="stretch")
    elif tab_members.open:
        st.info(T("app.no_data"))

# -- 双评价 -----------------------------------------------------------------------------------
with tab_grades:
    if tab_grades.open:
        cap = assess.grade_cap(ctx.settings)
        # the assessment year, or the year before while this year's 社区评价表 is not in yet
        years = list(range(year, year - 3, -1))
        grade_year = st.selectbox(T("assess.grades_year"), years, key="assess_grade_year",
                                  index=0 if units["graded"].sum() else 1, width=220)
        g_as_of = assess.default_as_of(grade_year, ctx.last) if grade_year == year else assess.year_bounds(grade_year)[1]
        g_params = assess.params(ctx.settings, grade_year, g_as_of)
        graded = units["graded"].sum() if grade_year == year else \
            assess.unit_figures(ctx.query("assess_units", **g_params), ctx.settings, grade_year, g_as_of)["graded"].sum()
        st.caption(T("assess.grades_caption", year=grade_year, cap=cap) if cap
                   else T("assess.grades_no_rule", year=grade_year))
        if not graded:
            st.info(T("assess.no_grades", year=grade_year))
        else:
            scale = assess.grades(ctx.settings)
            left, right = st.columns(2)
            with left:
                st.markdown(f"**{T('assess.grades_by_community')}**")
                st.dataframe(assess.grade_table(ctx.query("assess_grades", group="community", **g_params), scale,
                                                ctx.lang, "community"), hide_index=True, width="stretch")
            with right:
                st.markdown(f"**{T('assess.grades_by_unit')}**")
                st.dataframe(assess.grade_table(ctx.query("assess_grades", group="unit", **g_params), scale,
                                                ctx.lang, "unit"), hide_index=True, width="stretch", height=400)
            conflicts = assess.conflicts_frame(ctx.query("assess_conflicts", **g_params), grade_year, ctx.lang,
                                               ctx.scope.show_names)
            if conflicts.empty:
                st.success(T("assess.no_conflicts"), icon=":material/verified:")
            else:
                st.markdown(f"**{T('assess.conflicts_title', n=len(conflicts))}**")
                ui.download_excel(ctx, conflicts, T("assess.conflicts_title", n=len(conflicts)),
                                  key="assess_conflicts_excel")
                st.dataframe(conflicts, hide_index=True, width="stretch")

# -- 提醒 -------------------------------------------------------------------------------------
with tab_reminders:
    if tab_reminders.open:
        lists = feedback.reminder_lists(a)
        counts = feedback.reminder_counts(lists)
        st.caption(T("assess.reminders_caption", date=fmt.date(as_of, ctx.lang)))
        if counts.empty:
            st.success(T("assess.no_reminders", date=fmt.date(as_of, ctx.lang)), icon=":material/verified:")
        else:
            left, right = st.columns([3, 2])
            with left:
                shown = feedback.counts_frame(counts, ctx.lang)
                ui.download_excel(ctx, feedback.lists_frame(lists, ctx.lang, ctx.scope.show_names),
                                  T("assess.tab_reminders"), key="assess_reminders_excel")
                st.dataframe(shown, hide_index=True, width="stretch", height=460)
            with right:
                unit = st.selectbox(T("assess.reminder_unit"), list(counts["unit"]), key="assess_notice_unit")
                text = feedback.notice(a, lists, unit, ctx.lang)
                with st.container(key="assess_notice"):
                    st.code(text or "", language=None, wrap_lines=True)

# -- 待审核 -----------------------------------------------------------------------------------
with tab_pending:
    if tab_pending.open:
        bound = approval.params(ctx.settings, as_of)
        by_community = ctx.query("approval_pending", group="community", **bound)
        st.caption(T("assess.pending_caption", statuses="、".join(bound["pending"]), date=fmt.date(as_of, ctx.lang)))
        if by_community.empty:
            st.success(T("assess.pending_none"), icon=":material/verified:")
        else:
            st.markdown(T("assess.pending_total", records=fmt.number(int(by_community["records"].sum()), ctx.lang),
                          hours=fmt.number(by_community["hours"].sum(), ctx.lang, 1),
                          days=int(by_community["oldest_days"].max())))
            left, right = st.columns(2)
            with left:
                st.markdown(f"**{T('assess.pending_by_community')}**")
                st.dataframe(approval.summary_frame(by_community, "community", ctx.lang), hide_index=True,
                             width="stretch")
            with right:
                st.markdown(f"**{T('assess.pending_by_unit')}**")
                st.dataframe(approval.summary_frame(ctx.query("approval_pending", group="unit", **bound), "unit",
                                                    ctx.lang), hide_index=True, width="stretch")
            listing = approval.list_frame(ctx.query("approval_pending_list", **bound), ctx.lang, ctx.scope.show_names)
            st.markdown(f"**{T('assess.pending_list')}**")
            ui.download_excel(ctx, listing, T("assess.pending_list"), key="assess_pending_excel")
            st.dataframe(listing, hide_index=True, width="stretch", height=400)

# -- 反馈表 -----------------------------------------------------------------------------------
with tab_feedback:
    if tab_feedback.open and not units.empty:
        st.caption(T("assess.feedback_caption", title=feedback.title(year, ctx.lang)))
        c1, c2 = st.columns([2, 3])
        unit = c1.selectbox(T("assess.pick_unit"), list(units["unit"]), key="assess_feedback_unit")
        c1.download_button(T("assess.feedback_one"), data=lambda: feedback.workbook(a, unit, ctx.lang),
                           file_name=feedback.file_name(unit, year, ctx.lang), icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           key="assess_feedback_one", on_click="ignore")
        c1.download_button(T("assess.feedback_all"), data=lambda: feedback.zip_all(a, ctx.lang),
                           file_name=export.safe_filename(f"{feedback.title(year, ctx.lang)}_{as_of:%Y%m%d}", "zip"),
                           mime="application/zip", icon=":material/folder_zip:", key="assess_feedback_all",
                           on_click="ignore")
        with c2:
            st.table(feedback.cover_frame(a, unit, ctx.lang))
