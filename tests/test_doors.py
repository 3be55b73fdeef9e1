"""Charts as doors (redservice.doors): what a click on a bar opens, and the label read from a click."""

from redservice import charts, doors


def test_a_community_opens_its_drill_down_with_the_filters_kept():
    params = {"period": ["last_quarter"], "unit": ["县住建局", "县医院"], "map": ["hours"], "tab": ["chart"]}
    page, url = doors.community_view("北城社区", params)
    assert page == doors.COVERAGE_PAGE
    assert url == {"period": ["last_quarter"], "unit": ["县住建局", "县医院"], "drill": ["北城社区"]}


def test_a_unit_opens_its_drill_down_tab():
    page, url = doors.unit_view("县住建局", {"lang": ["en"], "drill": ["北城社区"], "compare": ["yoy"]})
    assert page == doors.UNITS_PAGE
    assert url == {"lang": ["en"], "compare": ["yoy"], "tab": ["drill"], "drill_unit": ["县住建局"]}


def test_only_a_bar_of_a_named_thing_is_a_door():
    names = ["县住建局", "县医院"]
    assert doors.picked("县医院", names) == "县医院"
    assert doors.picked("…中间40个单位未画出", names) is None  # the gap row of a long chart
    assert doors.picked("12.5", names) is None and doors.picked(None, names) is None


def test_the_label_of_a_clicked_bar():
    assert charts.picked_label({"points": [{"x": 12.5, "y": "青山社区"}]}) == "青山社区"
    assert charts.picked_label({"points": [{"x": 415.5, "y": ["六送", "送政策"]}]}) == "送政策"  # two-level axis
    assert charts.picked_label({"points": [{"x": "2025-01", "y": 3}]}) == "2025-01"
    assert charts.picked_label({"points": []}) is None and charts.picked_label(None) is None


def test_a_door_switches_the_app_to_the_view_it_names():
    """The entry script follows a click (what a chart's callback leaves in the session) before the page
    runs: the unit's drill-down on 单位与支部, the filter bar's period kept in the URL."""
    from conftest import run_app

    from redservice import ui

    at = run_app({"period": "last_quarter"})
    at.session_state[ui.DOOR] = doors.unit_view("县住建局", {"period": ["last_quarter"]})
    at.run()
    assert not at.exception
    assert at.query_params["tab"] == "drill" and at.query_params["period"] == "last_quarter"
    assert at.selectbox(key=doors.UNIT_DRILL).value == "县住建局"
    assert any(m.value == "**县住建局各党支部**" for m in at.markdown)

    at.session_state[ui.DOOR] = doors.community_view("北城社区", {"period": ["last_quarter"]})
    at.run()
    assert not at.exception
    assert at.query_params["drill"] == "北城社区" and at.selectbox(key=doors.COMMUNITY_DRILL).value == "北城社区"
