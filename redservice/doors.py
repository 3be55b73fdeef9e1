"""Charts as doors: what a click on a community's or a unit's bar opens — that community's view on
社区覆盖 (``?drill=``) or that unit's on 单位与支部 (``?tab=drill&drill_unit=``), with the filter bar's
URL parameters kept, so the view opened is a shareable URL like any other. Pure functions (tested
in plain pytest); the Streamlit glue is ``ui.chart_door`` and ``ui.follow_door``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# The filter bar's URL parameters (dashboard.py, ui.filter_bar): kept when a click opens another page;
# a page's own parameters (map, drill, tab …) are not.
FILTER_PARAMS = ("lang", "period", "start", "end", "compare", "county", "unit", "branch", "community", "category", "form")
COVERAGE_PAGE = "app_pages/coverage.py"
UNITS_PAGE = "app_pages/units.py"
UNIT_DRILL = "drill_unit"  # 单位与支部: the widget key and URL parameter of the unit drilled into
COMMUNITY_DRILL = "drill"  # 社区覆盖: the same for the community


def kept(params: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The filter bar's parameters of a URL (each a list of values, as ``st.query_params.get_all``)."""
    return {k: list(params[k]) for k in FILTER_PARAMS if k in params and list(params[k])}


def community_view(name: str, params: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, list[str]]]:
    """(page, URL parameters) of one community's drill-down on 社区覆盖."""
    return COVERAGE_PAGE, {**kept(params), COMMUNITY_DRILL: [name]}


def unit_view(name: str, params: Mapping[str, Sequence[str]]) -> tuple[str, dict[str, list[str]]]:
    """(page, URL parameters) of one unit's drill-down (branches, members) on 单位与支部."""
    return UNITS_PAGE, {**kept(params), "tab": ["drill"], UNIT_DRILL: [name]}


def picked(label: str | None, names: Sequence[str]) -> str | None:
    """The clicked label when it names one of ``names`` (not a "…N个单位未画出" row, not a number)."""
    return label if label is not None and label in set(names) else None
