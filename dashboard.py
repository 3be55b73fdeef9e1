"""Entry point: `streamlit run dashboard.py`. Page config, language, navigation, the shared
filter bar (bound to the URL) and the page header; each page is a thin file in app_pages/."""

import streamlit as st

from redservice import config, sessions, ui
from redservice.i18n import t

st.set_page_config(
    page_title="在职党员进社区",
    page_icon=str(config.PROJECT_DIR / "assets" / "favicon.png"),
    layout="wide",
    initial_sidebar_state="expanded",
)
sessions.install()  # tabs gone for good are shut down, their uploads released (once per server)

# (file, catalogue key, icon); the first page is the default one.
PAGES = [
    ("app_pages/overview.py", "overview", ":material/dashboard:"),
    ("app_pages/coverage.py", "coverage", ":material/map:"),
    ("app_pages/units.py", "units", ":material/groups:"),
    ("app_pages/services.py", "services", ":material/volunteer_activism:"),
    ("app_pages/wishes.py", "wishes", ":material/favorite:"),
    ("app_pages/counties.py", "counties", ":material/compare_arrows:"),
    ("app_pages/briefing.py", "briefing", ":material/slideshow:"),
    ("app_pages/assess.py", "assess", ":material/fact_check:"),
    ("app_pages/quality.py", "quality", ":material/rule:"),
    ("app_pages/data.py", "data", ":material/upload_file:"),
]

# Pages that write their own title and footnote (汇报: the screenshot carries no app header).
OWN_HEADER = {"briefing"}

# Pages only some roles may open (the rest are open to every signed-in role).
RESTRICTED = {"data": ("orgdept",)}
# Pages of a store of two or more counties (a store of one county shows the pages it always did).
SEVERAL_COUNTIES = {"counties"}

lang = ui.language()
who = ui.viewer(lang)
several = len(ui.store_counties(str(config.data_dir()), who.scope)) > 1
area = t("level.city_cap" if several else "level.county_cap", lang)  # 全市 / 全县 in the pages' help
navigation = st.navigation(
    [
        st.Page(path, title=t(f"nav.{key}", lang), icon=icon, help=t(f"page.{key}_help", lang, area=area),
                url_path=key, default=(i == 0))
        for i, (path, key, icon) in enumerate(PAGES)
        if who.role in RESTRICTED.get(key, (who.role,))
        and (several or key not in SEVERAL_COUNTIES)
    ],
    position="top",
)
# Pages that show no period's figures (数据管理: the filter bar does not apply there).
NO_PERIOD = {"data"}

st.html(ui.SCREEN_CSS)
ctx = ui.filter_bar(str(config.data_dir()), lang, who.scope, applies=navigation.url_path not in NO_PERIOD)
refused = ctx.status != "ok" and navigation.url_path not in NO_PERIOD
if navigation.url_path not in OWN_HEADER or refused:
    ui.header(ctx, t(f"page.{navigation.url_path or PAGES[0][1]}", lang))  # the page's title, not its nav label
if refused:
    ui.refuse_period(ctx)  # the requested period is kept and refused out loud; the page does not run
ui.follow_door()  # a click on a chart's bar asked for a community's or a unit's view
navigation.run()
