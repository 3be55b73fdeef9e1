"""A requested period is shown, or refused out loud — never replaced by another one.

On every page: a period inside the data is kept (URL and header); a period before or after the data
is kept and answered with the empty state (a message naming the period and the data's range, every
tile "—", no chart); reversed dates are kept and refused with a message. 数据管理 shows no period's
figures and runs as usual."""

import pytest

from conftest import run_app
from test_roles_pages import PAGES

PERIOD_PAGES = [p for p in PAGES if not p.endswith("data.py")]

BEFORE = ("2020-01-01", "2020-06-30", "2020年1月1日—6月30日")
Q2_2023 = ("2023-04-01", "2023-06-30", "2023年4月1日—6月30日")
AFTER = ("2026-01-01", "2026-03-31", "2026年1月1日—3月31日")
INSIDE = ("2024-04-01", "2024-06-30", "2024年4月1日—6月30日")
REVERSED = ("2025-03-01", "2025-02-01")


def _open(page: str, start: str, end: str, lang: str = "zh"):
    qp = {"period": "custom", "start": start, "end": end}
    if lang != "zh":
        qp["lang"] = lang
    at = run_app(qp, page=None if page.endswith("overview.py") else page)
    assert not at.exception, at.exception
    assert at.query_params["period"] == "custom"
    assert (at.query_params["start"], at.query_params["end"]) == (start, end), "the URL was rewritten"
    return at


def _texts(at) -> str:
    return "\n".join(e.value for kind in ("caption", "warning", "error", "info", "markdown")
                     for e in getattr(at, kind))


def _blank(at) -> None:
    values = [m.value for m in at.metric]
    assert values and set(values) == {"—"}, values
    assert not any(m.delta for m in at.metric)
    assert len(at.get("plotly_chart")) == 0 and len(at.get("deck_gl_json_chart")) == 0
    assert len(at.dataframe) == 0


@pytest.mark.parametrize("page", PERIOD_PAGES)
@pytest.mark.parametrize("start,end,shown", [BEFORE, AFTER], ids=["before", "after"])
def test_a_period_outside_the_data_is_kept_and_shown_empty(page, start, end, shown):
    at = _open(page, start, end)
    warning = "\n".join(w.value for w in at.warning)
    assert f"所选期间（{shown}）无数据" in warning
    assert "数据范围为2024年1月1日至2025年3月31日" in warning
    assert shown in _texts(at)  # the header says the period asked for, not the default one
    assert "2025年1月1日—3月31日" not in _texts(at)
    _blank(at)


def test_2023_q2_is_kept_and_shown_empty():
    at = _open(PAGES[0], *Q2_2023[:2])
    assert any(f"所选期间（{Q2_2023[2]}）无数据" in w.value for w in at.warning)
    _blank(at)


@pytest.mark.parametrize("page", PERIOD_PAGES)
def test_a_period_inside_the_data_is_kept(page):
    at = _open(page, *INSIDE[:2])
    assert INSIDE[2] in _texts(at)
    assert not at.warning and not at.error
    assert any(m.value not in ("—", "0") for m in at.metric) or len(at.get("plotly_chart")) > 0


@pytest.mark.parametrize("page", PERIOD_PAGES)
def test_reversed_dates_are_kept_and_refused(page):
    at = _open(page, *REVERSED)
    errors = [e.value for e in at.error]
    assert errors and all("结束日期（2025年2月1日）早于开始日期（2025年3月1日）" in e for e in errors)
    _blank(at)


def test_reversed_dates_in_english():
    at = _open(PAGES[0], *REVERSED, lang="en")
    assert any("end date (1 Feb 2025) is before the start date (1 Mar 2025)" in e.value for e in at.error)
    _blank(at)


def test_the_data_page_runs_whatever_the_period_and_its_filter_bar_is_disabled_saying_why():
    at = _open("app_pages/data.py", *BEFORE[:2])
    assert not at.warning
    widgets = [*at.sidebar.selectbox, *at.sidebar.multiselect, *at.sidebar.date_input]
    assert len(widgets) == 8 and all(w.disabled for w in widgets)
    assert any("数据管理页不按筛选显示" in c.value for c in at.sidebar.caption)
    overview = _open(PAGES[0], *INSIDE[:2])
    assert not any(w.disabled for w in [*overview.sidebar.selectbox, *overview.sidebar.multiselect])
