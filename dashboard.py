"""Entry point: `streamlit run dashboard.py`. Page config, language, navigation, the shared
filter bar (bound to the URL) and the page header; each page is a thin file in pages/."""

import streamlit as st

from redservice import config, ui
from redservice.i18n import t

st.set_page_config(
    page_title="在职党员进社区",
    page_icon=str(config.PROJECT_DIR / "assets" / "favicon.png"),
    layout="wide",
    initial_sidebar_state="expanded",
)

# (file, catalogue key, icon); the first page is the default one.
PAGES = [
    ("pages/overview.py", "overview", ":material/dashboard:"),
    ("pages/data.py", "data", ":material/upload_file:"),
]

lang = ui.language()
navigation = st.navigation(
    [
        st.Page(path, title=t(f"page.{key}", lang), icon=icon, help=t(f"page.{key}_help", lang),
                url_path=key, default=(i == 0))
        for i, (path, key, icon) in enumerate(PAGES)
    ],
    position="top",
)
ctx = ui.filter_bar(str(config.data_dir()), lang, ui.viewer_scope())
ui.header(ctx, navigation.title)
navigation.run()
