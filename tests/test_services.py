"""服务分析: categories grouped as 六送 / 三请 / other, forms, the monthly trend, seasonality and the
红色服务日 (participation, the units × months heat map, units that missed it), on a small county
built in code with answers checked by hand; then the page in AppTest."""

import json
import math

import pandas as pd
import pytest

from conftest import D, run_app, write_store
from redservice import charts, services
from redservice.config import settings as load_settings
from redservice.filters import Filters, Scope
from redservice.store import Store

RED = "红色服务日"
Q1 = Filters.make(D(2025, 1, 1), D(2025, 3, 31))


def _m(mid, unit, reported):
    return {"member_id": mid, "name": f"党员{mid}", "unit": unit, "branch": f"{unit}支部",
            "community": "A社区", "reported_on": reported}


A1, A2 = _m("a1", "U1", D(2025, 1, 1)), _m("a2", "U1", D(2025, 1, 1))
B1, B2 = _m("b1", "U2", D(2025, 1, 1)), _m("b2", "U2", D(2025, 2, 20))  # b2 reports after 5 Feb
C1 = _m("c1", "U3", D(2025, 3, 5))  # reports between March's two service days: counts for March
D1 = _m("d1", "U4", D(2025, 4, 10))  # reports after the period, yet attends in February


def _s(rid, day, m, category, form, hours, persons, activity=None):
    return {"record_id": rid, "date": day, "member_id": m["member_id"], "name": m["name"], "unit": m["unit"],
            "branch": m["branch"], "community": "A社区", "category": category, "form": form,
            "activity_id": activity, "hours": hours, "persons": persons}


SERVICES = [
    # 红色服务日: none in January; 5 Feb; 3 and 31 March (two days in one month)
    _s("r1", D(2025, 2, 5), A1, "环境整治", RED, 3.0, 5, "R0205"),
    _s("r2", D(2025, 2, 5), D1, "环境整治", RED, 2.0, 4, "R0205"),
    _s("r3", D(2025, 3, 3), A1, "送文化", RED, 2.0, 6, "R0303"),
    _s("r4", D(2025, 3, 3), A2, "送文化", RED, 2.0, 6, "R0303"),
    _s("r5", D(2025, 3, 31), A1, "义诊", RED, 3.0, 8, "R0331"),  # a1 again: one member in March
    _s("r6", D(2025, 3, 31), C1, "义诊", RED, 1.0, 2, "R0331"),
    # other service
    _s("s1", D(2025, 1, 10), A2, "送政策", "日常服务", 2.0, 3),  # a Friday
    _s("s2", D(2025, 1, 11), B1, "请老人进社区", "六送三请", 4.0, 10, "L1"),  # a Saturday
    _s("s3", D(2025, 2, 15), B2, "社区议事", "日常服务", 1.5, 2),  # not a configured category
    _s("s4", D(2024, 12, 20), A1, "送政策", "日常服务", 5.0, 1),  # before the period: context only
]
COUNTY = {
    "communities": [{"community": "A社区", "households": 100}],
    "units": [{"unit": u} for u in ("U1", "U2", "U3", "U4")],
    "members": [A1, A2, B1, B2, C1, D1],
    "services": SERVICES,
}


@pytest.fixture
def store(tmp_path):
    s = Store(write_store(tmp_path / "county", **COUNTY))
    yield s
    s.close()


@pytest.fixture(scope="module")
def settings():
    return load_settings()


def red(store, filters=Q1, scope=Scope(), form=RED):
    return (store.query("red_day_months", filters, scope, red_form=form),
            store.query("red_day_units", filters, scope, red_form=form))


# -- categories, forms, trend, seasonality --------------------------------------------------------
def test_categories_grouped_in_programme_order(store, settings):
    cats = services.by_category(store.query("service_categories", Q1), settings)
    assert list(cats["category"]) == ["送政策", "送文化", "请老人进社区", "环境整治", "义诊", "社区议事"]
    assert list(cats["group"]) == ["liusong", "liusong", "sanqing", "other", "other", "other"]
    row = cats.set_index("category").loc["环境整治"]
    assert (row["hours"], row["persons"], row["records"], row["members"]) == (5.0, 9, 2, 2)
    totals = services.group_totals(cats).set_index("group")
    assert totals.loc["liusong", "hours"] == pytest.approx(6.0) and totals.loc["liusong", "persons"] == 15
    assert totals.loc["sanqing", "hours"] == pytest.approx(4.0) and totals.loc["sanqing", "persons"] == 10
    assert totals.loc["other", "hours"] == pytest.approx(10.5) and totals.loc["other", "categories"] == 3


def test_group_membership_is_configuration(settings):
    custom = {**settings, "programme": {**settings["programme"], "sanqing": ["社区议事"]}}
    assert services.category_group("社区议事", settings) == "other"
    assert services.category_group("社区议事", custom) == "sanqing"


def test_forms(store):
    forms = store.query("service_forms", Q1).set_index("form")
    assert forms.loc[RED, "hours"] == pytest.approx(13.0)
    assert forms.loc[RED, "persons"] == 31 and forms.loc[RED, "activities"] == 3
    assert forms.loc["日常服务", "hours"] == pytest.approx(3.5) and forms.loc["日常服务", "activities"] == 0
    assert forms.loc["六送三请", "activities"] == 1


def test_trend_window_and_stacked_months(store, settings):
    window = services.trend_window(Q1)
    assert window == (D(2024, 4, 1), D(2025, 3, 31))
    wide, groups = services.category_trend(
        store.query("service_category_trend", Q1.with_period(*window)), settings)
    assert [m.isoformat()[:7] for m in wide.index] == ["2024-12", "2025-01", "2025-02", "2025-03"]
    assert list(wide.columns) == ["送政策", "送文化", "请老人进社区", "环境整治", "义诊", "社区议事"]
    assert wide.loc[D(2024, 12, 1), "送政策"] == 5.0 and wide.loc[D(2024, 12, 1)].sum() == 5.0
    assert wide.loc[D(2025, 3, 1)].sum() == pytest.approx(8.0)
    assert groups["请老人进社区"] == "sanqing" and groups["社区议事"] == "other"
    # a period longer than twelve months is not cut
    assert services.trend_window(Filters.make(D(2023, 1, 1), D(2025, 3, 31)))[0] == D(2023, 1, 1)


def test_seasonality_by_month_and_weekday(store):
    window = services.trend_window(Q1)
    by_month, by_weekday = services.seasonality(store.query("service_seasonality", Q1.with_period(*window)))
    assert list(by_month["slot"]) == list(range(1, 13)) and list(by_weekday["slot"]) == list(range(1, 8))
    assert dict(zip(by_month["slot"], by_month["hours"])) == {
        1: 6.0, 2: 6.5, 3: 8.0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 10: 0, 11: 0, 12: 5.0}
    # Mon: 3 and 31 March; Wed: 5 Feb; Fri: 10 Jan and 20 Dec; Sat: 11 Jan and 15 Feb
    assert dict(zip(by_weekday["slot"], by_weekday["hours"])) == {1: 8.0, 2: 0, 3: 5.0, 4: 0, 5: 7.0, 6: 5.5, 7: 0}


# -- 红色服务日 -------------------------------------------------------------------------------------
def test_red_day_months_participation_and_missed_units(store):
    months, _ = red(store)
    months = months.set_index(months["month"].astype(str).str[:7])
    assert list(months.index) == ["2025-02", "2025-03"]  # no service day in January
    feb, mar = months.loc["2025-02"], months.loc["2025-03"]
    # February: a1 and d1 attend; a1, a2, b1 reported by 5 Feb (d1 has not reported: not in the rate)
    assert (feb["days"], feb["attendees"], feb["members"], feb["attending_members"]) == (1, 2, 3, 1)
    assert feb["participation_rate"] == pytest.approx(1 / 3)
    assert (feb["units"], feb["units_attending"], feb["units_missed"]) == (2, 2, 1)  # U2 missed
    # March: two days; a1 counted once; c1 reported on 5 March, before the last day (31 March)
    assert (mar["days"], str(mar["first_day"])[:10], str(mar["last_day"])[:10]) == (2, "2025-03-03", "2025-03-31")
    assert (mar["attendees"], mar["members"], mar["attending_members"]) == (3, 5, 3)
    assert mar["participation_rate"] == pytest.approx(0.6)
    assert (mar["units"], mar["units_attending"], mar["units_missed"]) == (3, 2, 1)
    summary = services.red_day_summary(months.reset_index(drop=True))
    assert summary["months"] == 2 and summary["days"] == 3
    assert summary["latest_month"] == D(2025, 3, 1) and summary["latest_rate"] == pytest.approx(0.6)
    assert summary["latest_missed"] == 1 and summary["mean_rate"] == pytest.approx((1 / 3 + 0.6) / 2)


def test_heat_map_data(store):
    _, units = red(store)
    attendees, members = services.attendance_matrix(units)
    assert list(attendees.index) == ["U1", "U3", "U4", "U2"]  # most attendance first, ties by name
    assert list(attendees.columns) == [D(2025, 2, 1), D(2025, 3, 1)]
    assert attendees.loc["U1"].tolist() == [1, 2]
    assert attendees.loc["U2"].tolist() == [0, 0] and members.loc["U2"].tolist() == [1, 2]
    assert math.isnan(attendees.at["U3", D(2025, 2, 1)])  # c1 had not reported, nobody attended
    assert attendees.at["U4", D(2025, 2, 1)] == 1 and members.at["U4", D(2025, 2, 1)] == 0
    assert math.isnan(attendees.at["U4", D(2025, 3, 1)])
    missed = services.missed_units(units)
    assert [(m.isoformat()[:7], u, n) for m, u, n in missed.itertuples(index=False)] == [
        ("2025-03", "U2", 2), ("2025-02", "U2", 1)]
    fig = charts.attendance_heatmap(attendees, members, "zh", "各单位参加人数")
    heat = fig.data[0]
    assert list(heat.y) == ["U1", "U3", "U4", "U2"] and list(heat.x) == ["2025年2月", "2025年3月"]
    assert heat.text[3] == ["未参加", "未参加"] and heat.text[1][0] == ""  # missed vs. no members
    # a city's thousands of units: the heat map keeps the ones with the most attendance
    top, top_members = services.attendance_matrix(units, 2)
    assert list(top.index) == ["U1", "U3"] and list(top_members.index) == ["U1", "U3"]
    pd.testing.assert_frame_equal(top, attendees.head(2))


def test_red_day_follows_filters_and_configured_form(store):
    months, units = red(store, Filters.make(Q1.start, Q1.end, units=["U1"]))
    feb = months.iloc[0]
    assert (feb["members"], feb["attending_members"], feb["participation_rate"]) == (2, 1, 0.5)
    assert set(units["unit"]) == {"U1"}
    assert red(store, Filters.make(Q1.start, Q1.end, categories=["植树"]))[0].empty
    assert len(red(store, Filters.make(Q1.start, Q1.end, categories=["义诊"]))[0]) == 1  # March only
    assert red(store, Q1, Scope(units=("U2",)))[0].empty  # U2 never attended: no service day in its view
    assert red(store, Filters.make(Q1.start, Q1.end, forms=["日常服务"]))[0].empty
    assert red(store, form="主题党日")[0].empty
    assert services.red_day_summary(red(store, form="主题党日")[0])["latest_rate"] is None


def test_cards(store, settings):
    cats = services.by_category(store.query("service_categories", Q1), settings)
    months, _ = red(store)
    cards = {c.key: c for c in services.cards(services.group_totals(cats), services.red_day_summary(months), "zh")}
    assert cards["group_liusong"].value == "6小时" and cards["group_liusong"].label == "六送时长"
    assert cards["group_other"].value == "10.5小时"
    assert cards["red_rate"].value == "60.0%" and "2025年3月" in cards["red_rate"].caption
    assert cards["red_missed"].value == "1个"
    empty = {c.key: c for c in services.cards(services.group_totals(services.by_category(
        pd.DataFrame(), settings)), services.red_day_summary(pd.DataFrame()), "en")}
    assert empty["red_rate"].value == "—" and empty["red_missed"].value == "—"
    assert empty["group_sanqing"].value == "0"


# -- the page -------------------------------------------------------------------------------------
def _specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _title(spec) -> str:
    return ((spec.get("layout", {}).get("title") or {}).get("text")) or ""


def test_page_on_the_demo():
    at = run_app(page="app_pages/services.py")
    assert not at.exception
    titles = [_title(s) for s in _specs(at)]
    for expected in ("各服务类别志愿服务时长与服务人次（六送、三请分组）", "按活动形式", "月度志愿服务时长（按服务类别）",
                     "服务时间分布", "各月参与率", "各单位参加人数"):
        assert expected in titles, titles
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["六送时长", "三请时长", "其他服务时长"]


def test_page_follows_the_filters(tmp_path, monkeypatch):
    data = write_store(tmp_path / "county", **COUNTY)
    everyone = run_app(page="app_pages/services.py", data_dir=data, monkeypatch=monkeypatch)
    assert not everyone.exception
    shown = {m.label: m.value for m in everyone.metric}
    assert shown["六送时长"] == "6小时" and shown["红色服务日参与率"] == "60.0%"
    assert shown["未参加红色服务日的单位"] == "1个"
    heat = [s for s in _specs(everyone) if _title(s) == "各单位参加人数"][0]
    assert heat["data"][0]["y"] == ["U1", "U3", "U4", "U2"]

    one = run_app({"unit": "U1"}, page="app_pages/services.py", data_dir=data, monkeypatch=monkeypatch)
    assert not one.exception
    shown = {m.label: m.value for m in one.metric}
    assert shown["六送时长"] == "6小时" and shown["三请时长"] == "0小时"  # b1's 请老人 is U2's
    assert shown["红色服务日参与率"] == "100.0%" and shown["未参加红色服务日的单位"] == "0个"
    heat = [s for s in _specs(one) if _title(s) == "各单位参加人数"][0]
    assert heat["data"][0]["y"] == ["U1"]

    daily = run_app({"form": "日常服务"}, page="app_pages/services.py", data_dir=data, monkeypatch=monkeypatch)
    assert not daily.exception
    assert "各单位参加人数" not in [_title(s) for s in _specs(daily)]
    assert any("没有活动形式为“红色服务日”" in i.value for i in daily.info)


def test_page_on_an_empty_store(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    at = run_app(page="app_pages/services.py", data_dir=tmp_path / "empty", monkeypatch=monkeypatch)
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["红色服务日参与率"] == "—" and shown["六送时长"] == "0小时"


def test_page_in_english(tmp_path, monkeypatch):
    at = run_app({"lang": "en"}, page="app_pages/services.py", data_dir=write_store(tmp_path / "c", **COUNTY),
                 monkeypatch=monkeypatch)
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["Six deliveries (六送): hours"] == "6" and shown["Units that missed it"] == "1"
    rate = [s for s in _specs(at) if _title(s) == "Participation by month"][0]
    assert rate["data"][0]["text"] == ["33.3%", "60.0%"]
    assert "3 & 31 Mar" in rate["data"][0]["x"][1]  # March's two service days under its label


def test_the_stacked_chart_groups_the_long_tail_and_its_neighbours_differ(settings):
    from redservice import charts

    liusong = settings["programme"]["liusong"]
    kinds = liusong + [f"其他{i}" for i in range(8)]
    df = pd.DataFrame([{"month": D(2025, m, 1), "category": c, "hours": 10.0 + i}
                       for m in (1, 2) for i, c in enumerate(kinds)])
    wide, groups = services.category_trend(df, settings)
    assert list(wide.columns) == liusong + ["其他7", "其他6", "其他5", "其余5类"]  # the 3 largest, then the rest
    assert wide["其余5类"].iloc[0] == sum(10.0 + liusong.__len__() + i for i in range(5))
    fig = charts.stacked_trend(wide, groups, {"liusong": "六送", "other": "其他服务"}, "zh", "t",
                               D(2025, 1, 1), D(2025, 2, 28))
    colours = [charts._hex(tr.marker.color) for tr in fig.data]
    for a, b in zip(colours, colours[1:]):  # neighbours in the stack are told apart
        assert max(abs(x - y) for x, y in zip(a, b)) >= 40, (a, b)
    assert fig.layout.legend.traceorder == "reversed+grouped"  # the legend reads top to bottom like the stack


def test_heat_map_order_equals_sorting_each_unit_by_its_total():
    """attendance_matrix ranks the units as columns; the same order and cells as the first version,
    which sorted the units by a Python key (-total, name), on a city-sized table with ties and gaps."""
    import random

    rng = random.Random(9)
    months = [D(2025, m, 1) for m in (1, 2, 3)]
    rows = [{"month": m, "unit": f"单位{u:04d}", "members": rng.randrange(0, 9), "attendees": rng.randrange(0, 4)}
            for u in range(3000) for m in months if rng.random() < 0.8]
    units = pd.DataFrame(rows)

    def reference(units, limit):
        data = units.copy()
        data["month"] = pd.to_datetime(data["month"]).dt.date
        attendees = data.pivot_table(index="unit", columns="month", values="attendees", aggfunc="sum")
        members = data.pivot_table(index="unit", columns="month", values="members", aggfunc="sum")
        totals = attendees.fillna(0).sum(axis=1)
        order = sorted(attendees.index, key=lambda u: (-totals[u], u))[:limit]
        cols = sorted(attendees.columns)
        return (attendees.reindex(index=order, columns=cols).astype(float),
                members.reindex(index=order, columns=cols).astype(float))

    for limit in (None, 60, 1):
        got, want = services.attendance_matrix(units, limit), reference(units, limit)
        pd.testing.assert_frame_equal(got[0], want[0])
        pd.testing.assert_frame_equal(got[1], want[1])
    assert len(got[0]) == 1 and len(services.attendance_matrix(units)[0]) == units["unit"].nunique()


def test_a_long_bars_number_goes_inside_where_bars_are_thick():
    """按活动形式 (four forms in 300 px): a bar's number may go inside it, so that in a laptop's narrow
    column the longest bar's "4,409.5" cannot run into the persons panel (it did at 1366×768 in
    English); the categories' thin bars (26 px a row) keep their numbers outside, unshrunk."""
    forms = pd.DataFrame({"form": ["日常服务", "红色服务日", "六送三请", "其他"],
                          "hours": [4409.5, 3899.0, 1412.5, 765.0], "persons": [2910, 6828, 4554, 514]})
    fig = charts.hours_persons_panels(forms, "form", "en", "By activity form", height=300)
    assert {bar.textposition for bar in fig.data} == {"auto"}
    assert [bar.text[0] for bar in fig.data] == ["4,409.5", "2,910"]
    categories = pd.DataFrame({"category": [f"c{i}" for i in range(16)], "group": ["other"] * 16,
                               "hours": [float(i) for i in range(16)], "persons": list(range(16))})
    fig = charts.hours_persons_panels(categories, "category", "en", None, group_col="group")
    assert {bar.textposition for bar in fig.data} == {"outside"}
