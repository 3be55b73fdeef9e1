"""单位与支部: the unit scorecard with its flags, hours per member against the county median,
drill-down unit → branch → member, 未参与党员 with an Excel list, and the 红色积分 leaderboards."""

import streamlit as st

from redservice import charts, doors, fmt, quality, scorecard, ui

ctx = ui.context()
T = ctx.t
th = scorecard.thresholds(ctx.settings)
rules = scorecard.points_rules(ctx.settings)
end = ctx.filters.end
AREA = ui.level(ctx)  # the level the reference median is taken over: 全县, 全市 or the county chosen
TABS_KEY = ui.UNITS_TAB  # the open tab, in Session State

median = scorecard.median_hours_per_member(
    ctx.query("unit_scorecard", filters=scorecard.county_filters(ctx.filters)))
units = scorecard.unit_scorecard(ctx.query("unit_scorecard"),
                                 scorecard.part(ctx.query("unit_points", **rules.query("unit")), "rows"),
                                 th, median, ctx.lang, end, AREA)
flagging = ctx.query("quality_page", **quality.params(ctx.settings, records=False))  # the rates only
units = scorecard.with_flag_rate(units, quality.parts(flagging)["unit"])
head = scorecard.summary(units, ctx.query("inactive_count").iloc[0]["inactive"], median)

# -- headline tiles -------------------------------------------------------------------------
tiles = [
    ("kpi_units", fmt.count(head["units"], "units", ctx.lang)),
    ("kpi_flagged", fmt.count(head["flagged"], "units", ctx.lang)),
    ("kpi_reporting_rate", fmt.percent(head["reporting_rate"], ctx.lang)),
    ("kpi_inactive", fmt.count(head["inactive"], "people", ctx.lang)),
    ("kpi_median", fmt.number(head["median"], ctx.lang, 1)),
]
for col, (key, value) in zip(st.columns(len(tiles)), tiles):
    col.metric(T(f"units.{key}"), value, help=T(f"units.{key}_help", area=AREA), border=True)

# Column labels and formats shared by the tables below.
L = {c: T(f"units.col.{c}") for c in (
    "rank", "unit", "category", "reasons", "branches", "members_on_roll", "reported", "reporting_rate",
    "active", "participation_rate", "hours", "hours_per_member", "households", "wishes_claimed",
    "wishes_completed", "paired_community", "paired_hours", "points", "points_per_member", "branch",
    "name", "phone", "community", "compound", "reported_on", "records", "persons", "last_service",
    "inactive", "share", "members", "red_days", "wishes", "good_ratings", "capped", "member_id", "flag_rate")}
N = st.column_config.NumberColumn
FORMATS = {
    "rank": N(L["rank"], format="%d", width=56),
    "branches": N(L["branches"], format="%d"),
    "members_on_roll": N(L["members_on_roll"], format="%d"),
    "reported": N(L["reported"], format="%d"),
    "reporting_rate": N(L["reporting_rate"], format="%.1f%%"),
    "active": N(L["active"], format="%d"),
    "participation_rate": N(L["participation_rate"], format="%.1f%%"),
    "hours": N(L["hours"], format="%.1f"),
    "hours_per_member": N(L["hours_per_member"], format="%.1f"),
    "households": N(L["households"], format="%d"),
    "wishes_claimed": N(L["wishes_claimed"], format="%d"),
    "wishes_completed": N(L["wishes_completed"], format="%d"),
    "paired_hours": N(L["paired_hours"], format="%.1f"),
    "points": N(L["points"], format="%.1f"),
    "points_per_member": N(L["points_per_member"], format="%.1f"),
    "records": N(L["records"], format="%d"),
    "persons": N(L["persons"], format="%d"),
    "inactive": N(L["inactive"], format="%d"),
    "share": N(L["share"], format="%.1f%%"),
    "flag_rate": N(L["flag_rate"], format="%.1f%%", help=T("units.flag_rate_help")),
    "members": N(L["members"], format="%d"),
    "red_days": N(L["red_days"], format="%d"),
    "wishes": N(L["wishes"], format="%d"),
    "good_ratings": N(L["good_ratings"], format="%d"),
    "capped": N(L["capped"], format="%.1f"),
    "reported_on": st.column_config.DateColumn(L["reported_on"], format="YYYY-MM-DD"),
    "last_service": st.column_config.DateColumn(L["last_service"], format="YYYY-MM-DD"),
    "reasons": st.column_config.TextColumn(L["reasons"], width="large"),
}


def table(df, columns, height=None, key=None):
    """A sortable table of the given columns with the page's labels and formats; flag reasons in red."""
    shown = [c for c in columns if c in df.columns]
    data = scorecard.with_reasons_in_red(scorecard.as_percent(df[shown]), charts.RED)
    st.dataframe(data, hide_index=True, width="stretch", height=height or "auto", key=key,
                 placeholder=fmt.DASH, column_config={c: FORMATS.get(c, L.get(c, c)) for c in shown})


def excel(df, title, columns, key):
    """The table as Excel: rates as percentages, their headers saying so."""
    labels = {c: T("units.percent_header", label=L[c]) if c in scorecard.RATE_COLUMNS else L[c]
              for c in columns}
    ui.download_excel(ctx, lambda: scorecard.as_percent(df), title, labels, key=key)


UNIT_COLUMNS = ["rank", "unit", "branches", "members_on_roll", "reported", "reporting_rate", "active",
                "participation_rate", "hours", "hours_per_member", "households", "wishes_claimed",
                "wishes_completed", "paired_community", "paired_hours", "points", "flag_rate", "reasons"]
BRANCH_COLUMNS = ["branch", "members_on_roll", "reported", "reporting_rate", "active",
                  "participation_rate", "hours", "hours_per_member", "households", "wishes_claimed",
                  "wishes_completed", "points", "points_per_member", "reasons"]
MEMBER_COLUMNS = ["member_id", "name", "phone", "community", "compound", "reported_on", "records",
                  "hours", "persons", "households", "wishes_completed", "points", "last_service"]
INACTIVE_COLUMNS = ["unit", "branch", "member_id", "name", "phone", "community", "reported_on", "last_service"]

# The drill-down, the list of members who have not served and the leaderboard run only while their
# tab is open (their queries read every member of the selection: a province's million).
# The open tab is in the URL (?tab=chart …), so a copied link opens the same tab.
tab_card, tab_chart, tab_drill, tab_inactive, tab_points = ui.url_tabs(
    {code: T(f"units.tab_{code}") for code in ("scorecard", "chart", "drill", "inactive", "points")}, TABS_KEY)

# -- 单位评分表 ------------------------------------------------------------------------------
with tab_card:
    card = units
    notes = [T("units.scorecard_note",
                conditions=scorecard.conditions_text(th, ctx.lang, fmt.month(end, ctx.lang), AREA))]
    if ctx.filters.communities is not None or ctx.scope.communities is not None:
        notes.append(T("units.rate_by_community"))
    st.caption(" ".join(notes))
    if card.empty:
        st.info(T("app.no_data"))
    else:
        flagged = card[card["flagged"]]
        st.markdown(T("units.flagged_count", n=len(flagged), total=len(card)) if len(flagged)
                    else T("units.flagged_none"))
        table(card, UNIT_COLUMNS, height=560, key="unit_table")
        excel(card, T("units.scorecard_title"), UNIT_COLUMNS, key="unit_excel")

# -- 人均服务时长 ----------------------------------------------------------------------------
with tab_chart:
    if tab_chart.open and units["hours_per_member"].notna().any():
        note = T("units.chart_note", area=AREA)
        if charts.hours_per_member_hidden(units, charts.HOURS_CHART_UNITS):
            note += " " + T("units.chart_limited", total=fmt.number(units["hours_per_member"].notna().sum(), ctx.lang),
                            half=charts.HOURS_CHART_UNITS // 2)
        st.caption(f"{note} {T('units.chart_door')}")
        key, on_select = ui.chart_door("hours_per_member", ui.open_unit, units["unit"])
        ui.plotly(charts.hours_per_member(units, median, ctx.lang, T("units.chart_title"), charts.HOURS_CHART_UNITS,
                                          area=AREA),
                  T("units.chart_title"), key=key, on_select=on_select)
    elif tab_chart.open:
        st.info(T("app.no_data"))

# -- 逐级查看: unit → branches → members ----------------------------------------------------

def drill_tab():
    if units.empty:
        st.info(T("app.no_data"))
        return
    c1, c2 = st.columns(2)
    unit = c1.selectbox(T("units.pick_unit"), list(units["unit"]), key=doors.UNIT_DRILL, bind="query-params",
                        format_func=lambda u: scorecard.option_label(units, "unit", u, ctx.lang))
    branches = scorecard.branch_scorecard(
        ctx.query("branch_scorecard", drill_unit=unit),
        scorecard.part(ctx.query("red_points", **rules.query("branch", unit=unit)), "rows"),
        th, median, ctx.lang, end, AREA)
    st.markdown(f"**{T('units.branches_of', unit=unit)}**")
    if branches.empty:
        st.info(T("units.no_branches"))
    else:
        table(branches, BRANCH_COLUMNS, key="branch_table")
        excel(branches, T("units.branches_of", unit=unit), BRANCH_COLUMNS, key="branch_excel")
        branch = c2.selectbox(T("units.pick_branch"), list(branches["branch"]), key="drill_branch",
                              format_func=lambda b: scorecard.option_label(branches, "branch", b, ctx.lang))
        members = scorecard.member_list(
            ctx.query("member_list", drill_branch=branch),
            scorecard.part(ctx.query("red_points", **rules.query("member", branch=branch)), "rows"),
            ctx.scope)
        st.markdown(f"**{T('units.members_of', branch=branch, n=len(members))}**")
        if not ctx.scope.show_names:
            st.caption(T("units.masked"))
        if members.empty:
            st.info(T("app.no_data"))
        else:
            table(members, MEMBER_COLUMNS, key="member_table")
            excel(members, T("units.members_of", branch=branch, n=len(members)), MEMBER_COLUMNS,
                  key="member_excel")


with tab_drill:
    if tab_drill.open:
        drill_tab()

# -- 未参与党员 ------------------------------------------------------------------------------

def inactive_tab():
    inactive = scorecard.inactive_list(ctx.query("inactive_members"), ctx.scope)
    st.caption(T("units.inactive_note", start=fmt.date(ctx.filters.start, ctx.lang),
                 end=fmt.date(end, ctx.lang)))
    if inactive.empty:
        st.success(T("units.inactive_none"))
    else:
        by_branch = scorecard.inactive_by_branch(inactive)
        st.markdown(T("units.inactive_count", n=len(inactive), units=inactive["unit"].nunique(),
                      branches=len(by_branch)))
        left, right = st.columns([2, 3])
        with left:
            st.markdown(f"**{T('units.inactive_by_branch')}**")
            table(by_branch, ["unit", "branch", "inactive", "reported", "share"], height=520,
                  key="inactive_branches")
            excel(by_branch, T("units.inactive_by_branch"), ["unit", "branch", "inactive", "reported", "share"],
                  key="inactive_branches_excel")
        with right:
            st.markdown(f"**{T('units.inactive_list')}**")
            table(inactive, INACTIVE_COLUMNS, height=520, key="inactive_table")
            excel(inactive, T("units.inactive_title"), INACTIVE_COLUMNS, key="inactive_excel")


with tab_inactive:
    if tab_inactive.open:
        inactive_tab()

# -- 红色积分 --------------------------------------------------------------------------------

def points_tab():
    with st.container(border=True):
        st.markdown(f"**{T('units.rules_title')}**")
        lines = rules.lines(ctx.lang)
        half = (len(lines) + 1) // 2
        for col, part in zip(st.columns(2), (lines[:half], lines[half:])):
            col.markdown("\n".join(f"- {line}" for line in part))
        st.caption(T("units.rules_source"))
    windows = scorecard.points_windows(end, ctx.lang)
    c1, c2 = st.columns(2)
    code = c1.segmented_control(T("units.window_label"), list(windows), default="year", key="points_window",
                                format_func=lambda c: windows[c].label, required=True)
    level = c2.segmented_control(T("units.level_label"), list(scorecard.LEVELS), default="member",
                                 key="points_level", format_func=lambda v: T(f"units.board_{v}"), required=True)
    window = windows[code or "year"]
    level = level or "member"
    st.caption(T("units.window_note", start=fmt.date(window.start, ctx.lang) if code != "all"
                 else T("units.window.beginning"), end=fmt.date(window.end, ctx.lang)))
    ranked = scorecard.part(ctx.query("red_points", filters=ctx.filters.with_period(window.start, window.end),
                                      **rules.query(None, board=level, top=scorecard.BOARD_SIZE)), "board")
    board = scorecard.leaderboard(ranked, level, ctx.scope)
    details = ["points", "hours", "red_days", "wishes", "good_ratings", "capped"]
    columns = {"member": ["rank", "name", "unit", "branch", *details],
               "branch": ["rank", "branch", "unit", "members", "points_per_member", *details],
               "unit": ["rank", "unit", "members", "points_per_member", *details]}[level]
    if board.empty:
        st.info(T("app.no_data"))
        return
    total = int(ranked["ranked"].iloc[0])
    if total > len(board):
        st.caption(T("units.board_top", top=scorecard.BOARD_SIZE, shown=len(board),
                     noun=T(f"units.board_noun_{level}"), measure=T(f"units.board_measure_{level}"),
                     ranked=fmt.number(total, ctx.lang)))
    table(board, columns, height=560, key="points_board")
    excel(board, T("units.board_title", board=T(f"units.board_{level}"), window=window.label), columns,
          key="points_excel")


with tab_points:
    if tab_points.open:
        points_tab()
