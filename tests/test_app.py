"""The app in AppTest: loads, shows the KPIs the CLI prints, follows URL filters and language."""

import json
import subprocess
import sys


from conftest import SMALL, metrics_by_label, run_app, write_store
from redservice import metrics
from redservice.config import PROJECT_DIR
from redservice.i18n import t


def test_overview_loads_with_the_seed_figures():
    at = run_app()
    assert not at.exception
    shown = metrics_by_label(at)
    assert shown["报到党支部"][0] == "145个"
    assert shown["联系群众户数"][0] == "7742户"
    assert shown["志愿服务时长"][0].endswith("万小时")
    assert shown["覆盖社区"][0] == "12个"
    assert len(at.get("plotly_chart")) >= 3
    assert any("合成数据" in i.value for i in at.info)


def _cli_json(*args):
    out = subprocess.run([sys.executable, "-m", "redservice", "kpis", "--json", *args],
                         cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_cli_json_equals_what_the_page_shows():
    at = run_app({"unit": ["县住建局", "县人民医院"]})
    shown = metrics_by_label(at)
    data = _cli_json("--unit", "县住建局", "--unit", "县人民医院")
    for key in metrics.KPIS:
        assert shown[t(f"kpi.{key}")][0] == metrics.format_value(key, data[key], "zh"), key


def test_unit_filter_in_the_url_changes_the_tiles():
    everyone = metrics_by_label(run_app())
    one_unit = metrics_by_label(run_app({"unit": "县住建局"}))
    assert one_unit["报到党员"][0] != everyone["报到党员"][0]
    assert one_unit["志愿服务时长"][0] != everyone["志愿服务时长"][0]


def test_unknown_unit_in_the_url_is_ignored():
    at = run_app({"unit": "不存在的单位"})
    assert not at.exception
    assert metrics_by_label(at)["报到党支部"][0] == "145个"


def test_english_switch():
    at = run_app({"lang": "en"})
    assert not at.exception
    shown = metrics_by_label(at)
    assert shown["Households contacted"][0] == "7,742"
    assert "Pinglu" in at.title[0].value


def test_period_preset_and_custom_dates_from_the_url():
    at = run_app({"period": "last_quarter"})
    assert "2024年10月1日" in at.caption[0].value
    at = run_app({"period": "custom", "start": "2024-03-01", "end": "2024-05-31"})
    assert "2024年3月1日—5月31日" in at.caption[0].value
    at = run_app({"period": "no-such-period"})
    assert "2025年1月1日—3月31日" in at.caption[0].value


def test_another_county_renders(tmp_path, monkeypatch):
    at = run_app(data_dir=write_store(tmp_path / "other", **SMALL), monkeypatch=monkeypatch,
                 query_params={"period": "all"})
    assert not at.exception
    shown = metrics_by_label(at)
    assert shown["报到党员"][0] == "5人"  # all time ends on the data's last day, 2025-04-01
    assert not any("合成数据" in i.value for i in at.info)
    assert "本县" in at.title[0].value


def test_empty_store_renders(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    at = run_app(data_dir=tmp_path / "empty", monkeypatch=monkeypatch)
    assert not at.exception
    assert metrics_by_label(at)["党员参与率"][0] == "—"


def test_no_change_has_no_arrow_and_no_colour():
    from streamlit.proto.Metric_pb2 import Metric

    at = run_app()
    flat = [m for m in at.metric if m.delta == "持平"]
    assert flat, "the demo's 覆盖社区 is unchanged against the previous period"
    for m in flat:
        assert m.proto.direction == Metric.MetricDirection.NONE
        assert m.proto.color == Metric.MetricColor.GRAY


def test_a_rate_unchanged_to_the_tenth_of_a_point_is_flat():
    assert metrics._points(0.00004, "zh") == "持平"
    assert metrics._points(-0.00004, "en") == "flat"
    assert metrics._points(0.0123, "zh") == "+1.2个百分点"


def test_overview_headings_and_captions_name_what_they_stand_over():
    at = run_app()
    assert [s.value for s in at.subheader] == ["单位服务排行", "各社区服务情况"]
    columns = list(at.columns)
    i = next(i for i, c in enumerate(columns) if len(c.metric) == 1 and c.metric[0].label == "组织活动")
    # the line under a tile stands in a row of its own, in the column under that tile (inside the
    # tile's column it made that column, and so its row of tiles, uneven)
    assert not any(len(c.caption) for c in columns if len(c.metric))
    under = columns[i + 5]
    assert not len(under.metric) and under.caption[0].value.startswith("64次活动共惠及")


def test_compare_yoy_or_prev_is_bound_to_the_url_and_said_next_to_the_tiles():
    prev = run_app()
    assert "compare" not in prev.query_params  # 环比 is the default, as before
    assert any(c.value == "环比：对比上期2024年10月1日至2024年12月31日" for c in prev.caption)
    assert {m.proto.delta_description for m in prev.metric if m.delta} == {"环比"}
    yoy = run_app({"compare": "yoy"})
    assert yoy.query_params["compare"] == "yoy"
    assert any(c.value == "同比：对比去年同期2024年1月1日至2024年3月31日" for c in yoy.caption)
    assert {m.proto.delta_description for m in yoy.metric if m.delta} == {"同比"}
    members = metrics_by_label(yoy)["报到党员"]
    assert members[0] == metrics_by_label(prev)["报到党员"][0] and members[1] != metrics_by_label(prev)["报到党员"][1]
    en = run_app({"compare": "yoy", "lang": "en"})
    assert any(c.value.startswith("Compared with the same period a year before: 1 Jan 2024") for c in en.caption)


def test_tables_write_rates_like_the_tiles_with_one_decimal():
    at = run_app()
    table = at.dataframe[0].value
    assert table["coverage"].max() > 1 and (table["coverage"] * 10).round(6).mod(1).eq(0).all()
    assert '"format":"%.1f%%"' in at.dataframe[0].proto.columns.replace(" ", "")


def test_many_branches_are_chosen_through_a_unit(monkeypatch):
    """Past ui.BRANCH_CHOICES_MAX branches (a province's 81,635) the branch list waits for a unit:
    it offers only the branches the URL asks for, says how many there are, and a branch in the URL
    still filters; with a unit chosen it offers that unit's branches."""
    from redservice import ui

    import pandas as pd

    monkeypatch.setattr(ui, "BRANCH_CHOICES_MAX", 10)  # the demo county has 145
    at = run_app()
    box = {m.label: m for m in at.sidebar.multiselect}["党支部"]
    assert box.options == [] and box.placeholder == "共145个党支部：请先选择单位"
    whole = metrics_by_label(at)["报到党员"][0]

    unit = "县住建局"
    listed = pd.read_parquet(PROJECT_DIR / "data" / "demo" / "branches.parquet")
    at = run_app({"unit": unit})
    box = {m.label: m for m in at.sidebar.multiselect}["党支部"]
    assert box.options == sorted(listed.loc[listed["unit"] == unit, "branch"]) and box.placeholder == "全部"
    branch = box.options[0]

    at = run_app({"branch": branch})
    assert not at.exception, at.exception
    box = {m.label: m for m in at.sidebar.multiselect}["党支部"]
    assert box.options == [branch] and box.value == [branch]
    assert metrics_by_label(at)["报到党员"][0] != whole
    assert metrics_by_label(at)["报到党员"][0] == metrics_by_label(run_app({"unit": unit, "branch": branch}))["报到党员"][0]
    # a branch the store does not have, or markup, is not offered and filters nothing
    at = run_app({"branch": ["不存在的支部", "<b>x</b>" * 500]})
    assert not at.exception, at.exception
    box = {m.label: m for m in at.sidebar.multiselect}["党支部"]
    assert box.options == [] and box.value == [] and metrics_by_label(at)["报到党员"][0] == whole


def test_shared_results_are_kept_apart_by_view():
    """ui.shared makes a result once per data version, scope, filters, language, settings and key,
    and never hands one view's result to another (a county's viewer must not get the city's table)."""
    import datetime as dt
    from dataclasses import replace

    from redservice import config, ui
    from redservice.filters import EVERYTHING, Filters, Scope

    ui.clear_query_caches()
    base = ui.Context("unused", "v1", "zh", EVERYTHING, Filters.make(dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
                      "custom", dt.date(2024, 1, 1), dt.date(2025, 3, 31), config.settings())
    views = [base, replace(base, version="v2"), replace(base, scope=Scope(counties=("乙县",), label="orgdept")),
             replace(base, filters=base.filters.within(units=["县住建局"])), replace(base, lang="en"),
             replace(base, settings={**base.settings, "targets": {"hours_per_year": 24}})]
    made = []
    for i, ctx in enumerate(views):
        assert ui.shared(ctx, "table", lambda i=i: made.append(i) or i, 2025) == i
    assert made == list(range(len(views)))
    assert ui.shared(base, "table", lambda: made.append("again") or "again", 2025) == 0  # kept
    assert ui.shared(base, "table", lambda: "other year", 2024) == "other year"
    ui.clear_query_caches()
