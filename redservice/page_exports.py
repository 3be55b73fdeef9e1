"""The pages' Excel downloads from the command line (``python -m redservice export``): the page is
run headless (Streamlit's AppTest) with the same filters and viewer, and the workbook its download
button would give is written — the same function on the same table, not a copy of the page's logic.
Organisation departments script their monthly packs with it."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from streamlit import logger as _st_logger

_st_logger.set_log_level("error")  # "no runtime found" and the like: expected when a page runs headless

from redservice import ui  # noqa: E402  (after the log level: importing ui defines cached functions)
from redservice.config import PROJECT_DIR  # noqa: E402
from redservice.i18n import t  # noqa: E402


@dataclass(frozen=True)
class PageExport:
    code: str  # a stable name for scripts
    title_key: str  # the catalogue key of the workbook's title (its Chinese name is accepted too)
    page: str
    key: str  # the page's download button
    tab_key: str | None = None  # the units page's tab that holds it


EXPORTS = [
    PageExport("scorecard", "units.scorecard_title", "app_pages/units.py", "unit_excel", "units.tab_scorecard"),
    PageExport("inactive", "units.inactive_title", "app_pages/units.py", "inactive_excel", "units.tab_inactive"),
    PageExport("inactive_branches", "units.inactive_by_branch", "app_pages/units.py", "inactive_branches_excel",
               "units.tab_inactive"),
    PageExport("points", "units.tab_points", "app_pages/units.py", "points_excel", "units.tab_points"),
    PageExport("open_wishes", "wishes.list_title", "app_pages/wishes.py", "wishes_excel"),
    PageExport("wish_units", "wishes.units_title", "app_pages/wishes.py", "satisfaction_units_excel"),
    PageExport("communities", "overview.community_table", "app_pages/overview.py", "overview_excel"),
    PageExport("coverage", "coverage.table", "app_pages/coverage.py", "coverage_excel"),
    PageExport("categories", "services.category_table", "app_pages/services.py", "categories_excel"),
    PageExport("red_day_missed", "services.missed_title", "app_pages/services.py", "missed_excel"),
    # a store of two or more counties only (区县对比 is not offered otherwise)
    PageExport("counties", "counties.table", "app_pages/counties.py", "counties_table"),
]
# the names the issue and users call them by
ALIASES = {"未参与党员": "inactive", "未办结心愿": "open_wishes", "社区汇总": "communities", "服务类别": "categories",
           "单位评分表": "scorecard"}


class ExportError(ValueError):
    """No such export, or the page had nothing to export for this selection."""


def find(name: str) -> PageExport:
    code = ALIASES.get(name.strip(), name.strip())
    for e in EXPORTS:
        if code in (e.code, t(e.title_key, "zh"), t(e.title_key, "en")):
            return e
    raise ExportError(name)


def listing(lang: str = "zh") -> list[tuple[str, str, str]]:
    """(code, title, page) of every export."""
    return [(e.code, t(e.title_key, lang), e.page) for e in EXPORTS]


def _set_env(values: dict) -> None:
    """Set the variables (a None value unsets one)."""
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@contextlib.contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    try:
        _set_env(values)
        yield
    finally:
        _set_env(old)


def build(name: str, directory: str | Path, params: dict, viewer: str | None = None, lang: str = "zh") -> tuple[str, bytes]:
    """(file name, workbook) of an export, as the page's button gives it for the URL ``params``
    (the filter bar's parameters: period/start/end, county, unit, branch, community, category, form) and
    ``viewer`` (an e-mail of the access file, or None in local mode)."""
    from streamlit.testing.v1 import AppTest

    from redservice import export

    wanted = find(name)
    at = AppTest.from_file(str(PROJECT_DIR / "dashboard.py"), default_timeout=300)
    if viewer:
        at.user = {"is_logged_in": True, "email": viewer, "email_verified": True}
    for key, value in {**params, "lang": lang}.items():
        if value not in (None, [], ""):
            at.query_params[key] = value
    captured: dict = {}
    with _env(REDSERVICE_DATA=str(directory)):
        ui.capture(captured)
        try:
            at.run()
            at.switch_page(wanted.page)
            if wanted.tab_key:
                at.session_state["units_tab"] = t(wanted.tab_key, lang)
            at.run()
        except ValueError as exc:  # a page this store or viewer is not offered (区县对比 of one county)
            if "navigation page" not in str(exc):
                raise
            raise ExportError(t("export.nothing", lang)) from exc
        finally:
            ui.capture(None)
    if at.exception:
        raise ExportError(at.exception[0].message)
    if wanted.key not in captured:
        errors = [e.value for e in at.error]
        raise ExportError(errors[0] if errors else t("export.nothing", lang))
    title, filters, make = captured[wanted.key]
    return export.safe_filename(f"{title}_{filters.start:%Y%m%d}-{filters.end:%Y%m%d}", "xlsx"), make()
