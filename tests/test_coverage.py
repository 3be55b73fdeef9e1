"""社区覆盖: colour scale and legend, coverage and its "—", the page's queries on a second county
(15 communities, other names, boundaries built here), and the page in AppTest."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from conftest import D, Q1_2025, SMALL, run_app, write_store
from redservice import charts, coverage, maps
from redservice.filters import Filters
from redservice.store import Store

# -- a second county: 15 communities, other names, its own boundaries ------------------------------

NAMES = ["青山社区", "绿水社区", "长安社区", "永宁社区", "和平社区", "春晖社区", "朝阳社区", "柳林社区",
         "金沙社区", "玉泉社区", "桃源社区", "松涛社区", "梅岭社区", "竹溪社区", "兰亭社区"]
WEST, SOUTH, CELL = 100.0, 25.0, 0.01  # a 5 × 3 grid of squares far from the demo county


def _square(i: int) -> dict:
    col, row = i % 5, i // 5
    x0, y0 = WEST + col * CELL, SOUTH + row * CELL
    ring = [[x0, y0], [x0 + CELL, y0], [x0 + CELL, y0 + CELL], [x0, y0 + CELL], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def boundaries(names=NAMES) -> dict:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"community": n}, "geometry": _square(i)}
                         for i, n in enumerate(names)]}


def _svc(rid, day, member, unit, community, compound, category, hours, persons, households):
    return {"record_id": rid, "date": day, "member_id": member, "name": "某某", "unit": unit,
            "branch": f"{unit}支部", "community": community, "compound": compound, "category": category,
            "form": "日常服务", "hours": hours, "persons": persons, "households": households}


OTHER = {
    "communities": [{"community": n, "households": 100 + 10 * i} for i, n in enumerate(NAMES[:-1])]
    + [{"community": "兰亭社区", "households": None}],  # no 总户数: coverage "—"
    "compounds": [
        {"compound": "青山一区", "community": "青山社区", "households": 40, "lon": 100.003, "lat": 25.004},
        {"compound": "青山二区", "community": "青山社区", "households": 60, "lon": 100.007, "lat": 25.006},
        {"compound": "绿水苑", "community": "绿水社区", "households": 50},  # no position: not drawn
    ],
    "units": [
        {"unit": "甲局", "paired_community": "青山社区"},
        {"unit": "乙局", "paired_community": "青山社区"},  # paired, never served
        {"unit": "丙局", "paired_community": "绿水社区"},
        {"unit": "丁局"},
    ],
    "branches": [{"branch": f"{u}支部", "unit": u} for u in ("甲局", "乙局", "丙局", "丁局")],
    "members": [
        {"member_id": "m1", "name": "张小明", "unit": "甲局", "branch": "甲局支部", "community": "青山社区",
         "reported_on": D(2024, 5, 1)},
        {"member_id": "m2", "name": "李大力", "unit": "丙局", "branch": "丙局支部", "community": "青山社区",
         "reported_on": D(2025, 1, 2)},
        {"member_id": "m3", "name": "王芳", "unit": "丁局", "branch": "丁局支部", "community": "绿水社区",
         "reported_on": D(2025, 2, 2)},
    ],
    "services": [
        _svc("r1", D(2025, 1, 5), "m1", "甲局", "青山社区", "青山一区", "送政策", 2.0, 3, ["a1", "a2"]),
        _svc("r2", D(2025, 2, 10), "m1", "甲局", "青山社区", "青山一区", "义诊", 1.5, 2, ["a2", "a3"]),
        _svc("r3", D(2025, 2, 20), "m2", "丙局", "青山社区", "青山二区", "送热饭", 3.0, 4, ["b1"]),
        _svc("r4", D(2025, 3, 1), "m3", "丁局", "绿水社区", "绿水苑", "义剪", 1.0, 1, ["c1"]),
        _svc("r5", D(2024, 12, 20), "m1", "甲局", "青山社区", "青山一区", "送政策", 2.0, 1, ["a9"]),
        _svc("r6", D(2025, 3, 15), "m2", "丙局", "青山社区", None, "义诊", 1.0, 2, ["a1"]),
        _svc("r7", D(2025, 3, 31), "m3", "丁局", "长安社区", None, "植树", 0.5, 1, []),  # the data's last day
    ],
    "wishes": [
        {"wish_id": "w1", "community": "青山社区", "content": "修水管", "posted_on": D(2025, 1, 10),
         "claim_unit": "甲局", "claimer": "张小明", "claim_member_id": "m1", "claim_branch": "甲局支部",
         "claimed_on": D(2025, 1, 12), "completed_on": D(2025, 2, 1), "status": "已办结"},
        {"wish_id": "w2", "community": "青山社区", "content": "陪同就医", "posted_on": D(2025, 2, 1),
         "claim_unit": "甲局", "claimer": "李大力", "claim_branch": "甲局支部", "claimed_on": D(2025, 2, 3),
         "status": "已认领"},
        {"wish_id": "w3", "community": "青山社区", "content": "辅导功课", "posted_on": D(2025, 3, 21),
         "status": "待认领"},
        {"wish_id": "w4", "community": "青山社区", "content": "理发", "posted_on": D(2025, 3, 1),
         "claim_unit": "甲局", "claimer": "张小明", "claim_branch": "甲局支部", "claimed_on": D(2025, 4, 2),
         "status": "已认领"},  # claimed after the period: still unclaimed on 31 March
        {"wish_id": "w5", "community": "青山社区", "content": "送煤", "posted_on": D(2025, 3, 5),
         "claim_unit": "丙局", "claimer": "李大力", "claim_branch": "丙局支部", "claimed_on": D(2025, 3, 6),
         "completed_on": D(2025, 4, 10), "status": "已办结"},  # completed after the period: open
        {"wish_id": "w6", "community": "青山社区", "content": "换灯泡", "posted_on": D(2025, 4, 5),
         "status": "待认领"},  # posted after the period
        {"wish_id": "w7", "community": "绿水社区", "content": "清理杂物", "posted_on": D(2025, 3, 30),
         "status": "待认领"},
    ],
}


def write_other(directory):
    write_store(directory, **OTHER)
    (directory / "boundaries.geojson").write_text(json.dumps(boundaries(), ensure_ascii=False), encoding="utf-8")
    return directory


@pytest.fixture
def other_store(tmp_path):
    store = Store(write_other(tmp_path / "other"))
    yield store
    store.close()


def q1(**dims) -> Filters:
    return Filters.make(*Q1_2025, **dims)


# -- colour scale and legend (pure) ---------------------------------------------------------------

def test_linear_breaks_start_at_zero_on_round_steps():
    assert maps.breaks([0.01, 0.03, 0.02, None]) == [0.0, 0.01, 0.02, 0.03]
    assert maps.breaks([808, 1143.5, 400]) == [0.0, 250.0, 500.0, 750.0, 1000.0, 1250.0]
    # near-identical rates stay one class: 0.05 points must not look like light against dark
    assert maps.breaks([0.2836, 0.2841, 0.2838]) == [0.0, 0.1, 0.2, 0.3]


def test_quantile_breaks_and_degenerate_inputs():
    assert maps.breaks(range(1, 11), 5, "quantile") == [1.0, 2.8, 4.6, 6.4, 8.2, 10.0]
    assert maps.breaks([2, 2, 2, 9], 4, "quantile") == [2.0, 3.75, 9.0]  # repeated boundaries merged
    assert maps.breaks([None, float("nan")]) == []
    assert maps.breaks([0, 0]) == [0.0, 0.0]
    with pytest.raises(ValueError):
        maps.breaks([1, 2], method="jenks")


def test_scale_colours_sequential_reds_and_grey_for_no_value():
    scale = maps.colour_scale([0.01, 0.03, 0.02, None])
    assert scale.classes == 3
    assert scale.colours == (maps.REDS[1], maps.REDS[4], maps.REDS[8])
    assert scale.rgba(0.005) == [*maps.REDS[1], maps.FILL_ALPHA]
    assert scale.index(0.01) == 1  # a boundary belongs to the class above it
    assert scale.index(0.03) == 2  # the top is in the last class
    assert scale.rgb(None) == scale.rgb(float("nan")) == maps.NO_VALUE
    darkness = [sum(c) for c in maps.palette(6)]
    assert darkness == sorted(darkness, reverse=True)
    empty = maps.colour_scale([None])
    assert empty.classes == 0 and empty.rgb(3) == maps.NO_VALUE


def test_legend_entries_with_numbers_counts_and_a_dash():
    values = [0.03, 0.02, None, 0.0]
    scale = maps.colour_scale(values)
    decimals = maps.label_decimals(scale, 100)
    entries = maps.legend(scale, values, lambda v: coverage.bound_text("coverage", v, "zh", decimals), "—")
    assert [(e.label, e.count) for e in entries] == [("0%–1%", 1), ("1%–2%", 0), ("2%–3%", 2), ("—", 1)]
    assert entries[-1].rgb == maps.NO_VALUE and entries[0].hex == "#FEE0D2"
    half = maps.colour_scale([0.0, 0.004])
    assert maps.label_decimals(half, 100) == 1  # steps of 0.1 points
    hours = maps.colour_scale([808, 1143.5])
    labels = [e.label for e in maps.legend(hours, [808, 1143.5], lambda v: coverage.bound_text("hours", v, "zh", 0))]
    assert labels[-1] == "1000–1250"
    big = maps.colour_scale([12_000, 31_000])
    assert maps.legend(big, [31_000], lambda v: coverage.bound_text("persons", v, "zh", 0))[-1].label == "3万–4万"


def test_legend_html_escapes_text():
    entries = [maps.LegendEntry("<b>1</b>", (1, 2, 3), 2)]
    out = maps.legend_html("<script>x</script>", entries, lambda n: f"{n}个", note="a & b")
    assert "<script>" not in out and "&lt;script&gt;" in out and "&lt;b&gt;1&lt;/b&gt;" in out
    assert "#010203" in out and "2个" in out and "a &amp; b" in out


def test_geometry_helpers():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    assert maps.label_point(square) == [1.0, 1.0]
    multi = {"type": "MultiPolygon", "coordinates": [
        [[[10, 10], [10.1, 10], [10.1, 10.1], [10, 10]]], [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]]]}
    assert maps.label_point(multi) == [2.0, 2.0]  # the larger polygon
    assert maps.bounds([{"geometry": square}, {"geometry": multi}]) == (0, 0, 10.1, 10.1)
    # 360/512 degrees of longitude is 1 px at zoom 0: fitting it into 760 - 2×28 px needs log2(704)
    view = maps.fit_view((0.0, -0.0001, 360 / 512, 0.0001), width=760, height=620, padding=28)
    assert view["zoom"] == pytest.approx(math.log2(704), abs=0.01)
    assert view["longitude"] == pytest.approx(180 / 512, abs=1e-6) and view["latitude"] == pytest.approx(0, abs=1e-6)
    assert maps.character_set(["北城社区", "城南"]) == sorted(set("北城社区南"))
    assert maps.point_radius(0, 100) == maps.POINT_MIN_PX and maps.point_radius(100, 100) == maps.POINT_MAX_PX
    assert maps.point_radius(25, 100) == pytest.approx((maps.POINT_MIN_PX + maps.POINT_MAX_PX) / 2)


def test_clicks_name_the_community():
    polygon = {"indices": {"communities": [1]},
               "objects": {"communities": [{"type": "Feature", "properties": {"community": "绿水社区"}}]}}
    point = {"indices": {"compounds": [0]}, "objects": {"compounds": [{"compound": "青山一区", "community": "青山社区"}]}}
    assert maps.picked_community(polygon) == "绿水社区"
    assert maps.picked_community(point) == "青山社区"
    assert maps.picked_community({"indices": {}, "objects": {}}) is None
    assert charts.picked_label({"points": [{"x": 12.5, "y": "青山社区"}]}) == "青山社区"
    assert charts.picked_label({"points": []}) is None


# -- coverage on fixtures -------------------------------------------------------------------------

def test_community_table_on_the_small_county(small_store):
    f = q1()
    table = coverage.community_table(small_store.query("community_summary", f))
    rows = table.set_index("community")
    assert rows.loc["A社区", "coverage"] == pytest.approx(0.03)  # h1, h2, h3 of 100 households
    assert rows.loc["B社区", "coverage"] == pytest.approx(0.02)  # h4 of 50
    assert math.isnan(rows.loc["C社区", "coverage"])  # no 总户数
    assert rows.loc["A社区", "hours_per_100"] == pytest.approx(7.0)  # 7 hours for 100 households
    assert rows.loc["B社区", "hours_per_100"] == pytest.approx(3.0)
    assert math.isnan(rows.loc["C社区", "hours_per_100"])
    assert rows.loc["A社区", "open_wishes"] == 1 and rows.loc["B社区", "open_wishes"] == 1  # w3, w4
    c = table[table["community"] == "C社区"].iloc[0].to_dict()
    assert coverage.value_text("coverage", c["coverage"], "zh") == "—"
    assert coverage.value_text("hours_per_100", c["hours_per_100"], "en") == "—"
    tip = coverage.tooltip(c, "zh")
    assert "覆盖率 —（未填总户数）" in tip and "0%" not in tip
    assert "覆盖率 3.0%（联系3户，共100户）" in coverage.tooltip(table.iloc[0].to_dict(), "zh")
    excel = coverage.excel_table(table).set_index("community")
    assert excel.loc["C社区", "coverage"] == "—" and excel.loc["A社区", "coverage"] == 3.0


def test_zero_households_total_is_not_a_division():
    summary = pd.DataFrame([{"community": "X", "households_total": 0, "members": 0, "hours": 5.0, "persons": 1,
                             "records": 1, "households_reached": 2, "coverage": None, "open_wishes": 0}])
    row = coverage.community_table(summary).iloc[0]
    assert math.isnan(row["coverage"]) and math.isnan(row["hours_per_100"]) and math.isnan(row["households_total"])


def test_second_county_summary(other_store):
    table = coverage.community_table(other_store.query("community_summary", q1()))
    rows = table.set_index("community")
    assert len(table) == 15
    assert rows.loc["青山社区", "hours"] == pytest.approx(7.5)  # r1 + r2 + r3 + r6; r5 is in December
    assert rows.loc["青山社区", "persons"] == 11
    assert rows.loc["青山社区", "households_reached"] == 4  # a1, a2, a3, b1
    assert rows.loc["青山社区", "coverage"] == pytest.approx(0.04)
    assert rows.loc["绿水社区", "coverage"] == pytest.approx(1 / 110)
    assert rows.loc["长安社区", "coverage"] == 0  # a total and nobody reached: 0 %, not "—"
    assert math.isnan(rows.loc["兰亭社区", "coverage"])
    assert rows.loc["青山社区", "open_wishes"] == 4 and rows.loc["绿水社区", "open_wishes"] == 1


# -- the page's queries, answers checked by hand --------------------------------------------------

def test_coverage_compounds(other_store):
    df = other_store.query("coverage_compounds", q1(), community=None).set_index("compound")
    assert list(df.index) == ["绿水苑", "青山一区", "青山二区"]  # by community, then households reached
    assert df.loc["青山一区", "households_reached"] == 3  # a1, a2, a3 (r6 names no compound)
    assert df.loc["青山一区", "hours"] == pytest.approx(3.5)
    assert df.loc["青山一区", "coverage"] == pytest.approx(3 / 40)
    assert df.loc["青山二区", "households_reached"] == 1 and df.loc["青山二区", "coverage"] == pytest.approx(1 / 60)
    assert df.loc["绿水苑", "households_reached"] == 1 and math.isnan(df.loc["绿水苑", "lon"])
    one = other_store.query("coverage_compounds", q1(), community="青山社区")
    assert set(one["compound"]) == {"青山一区", "青山二区"}
    assert other_store.query("coverage_compounds", q1(communities=["绿水社区"]), community=None)["compound"].tolist() \
        == ["绿水苑"]


def test_community_units_paired_apart_from_the_others(other_store):
    df = other_store.query("community_units", q1(), community="青山社区")
    assert df["unit"].tolist() == ["甲局", "乙局", "丙局"]
    assert df["paired"].tolist() == [True, True, False]
    rows = df.set_index("unit")
    assert rows.loc["甲局", "hours"] == pytest.approx(3.5) and rows.loc["甲局", "households_reached"] == 3
    assert rows.loc["乙局", "hours"] == 0 and rows.loc["乙局", "records"] == 0  # paired, served nothing
    assert rows.loc["丙局", "hours"] == pytest.approx(4.0) and rows.loc["丙局", "households_reached"] == 2
    assert rows.loc["丙局", "active_members"] == 1
    paired, others = coverage.split_units(df)
    assert paired["unit"].tolist() == ["甲局", "乙局"] and others["unit"].tolist() == ["丙局"]
    only = other_store.query("community_units", q1(units=["丙局"]), community="青山社区")
    assert only["unit"].tolist() == ["丙局"]  # the unit filter hides the other paired units


def test_community_monthly_and_categories(other_store):
    monthly = other_store.query("monthly_trend", Filters.make(D(2024, 12, 1), D(2025, 3, 31),
                                                              communities=["青山社区"]))
    assert [str(m)[:7] for m in monthly["month"]] == ["2024-12", "2025-01", "2025-02", "2025-03"]
    assert monthly["hours"].tolist() == [2.0, 2.0, 4.5, 1.0]
    cats = other_store.query("community_categories", q1(), community="青山社区")
    assert cats["category"].tolist() == ["送热饭", "义诊", "送政策"]
    assert cats["hours"].tolist() == [3.0, 2.5, 2.0] and cats["records"].tolist() == [1, 2, 1]


def test_community_open_wishes_with_their_age(other_store):
    df = other_store.query("community_open_wishes", q1(), community="青山社区")
    assert df["wish_id"].tolist() == ["w2", "w4", "w5", "w3"]  # oldest first; w1 done, w6 not yet posted
    assert df["age_days"].tolist() == [58, 30, 26, 10]
    assert df["state"].tolist() == ["claimed", "unclaimed", "claimed", "unclaimed"]
    rows = df.set_index("wish_id")
    assert rows.loc["w2", "claimed_days"] == 56 and rows.loc["w5", "claimed_days"] == 25
    assert pd.isna(rows.loc["w4", "claim_unit"])  # its claim comes after 31 March
    assert coverage.open_wish_counts(df) == {"claimed": 2, "unclaimed": 2}
    shown = coverage.open_wishes_table(df, "zh", show_names=False).set_index("wish_id")
    assert shown.loc["w2", "claimer"] == "李*力" and shown.loc["w2", "state"] == "已认领未办结"
    assert shown.loc["w3", "state"] == "待认领"
    earlier = other_store.query("community_open_wishes", Filters.make(D(2025, 1, 1), D(2025, 1, 31)),
                                community="青山社区")
    assert earlier["wish_id"].tolist() == ["w1"] and earlier["state"].tolist() == ["claimed"]


# -- the deck (pure) --------------------------------------------------------------------------------

def _spec(deck) -> dict:
    return json.loads(deck.to_json())


def test_deck_is_offline_with_cjk_labels_and_text_tooltips(other_store):
    table = coverage.community_table(other_store.query("community_summary", q1()))
    compounds = other_store.query("coverage_compounds", q1(), community=None)
    view = coverage.coverage_map(table, compounds, boundaries(), "coverage", "zh", {"coverage": {}})
    spec = _spec(view.deck)
    assert spec["mapStyle"] == "__MAP_STYLE__"  # no basemap: Streamlit draws none and fetches nothing
    assert "mapProvider" not in spec
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert set(layers) == {"communities", "compounds", "labels"}
    assert len(layers["communities"]["data"]["features"]) == 15
    assert len(layers["compounds"]["data"]) == 2  # 绿水苑 has no position
    text = layers["labels"]
    assert set(text["characterSet"]) >= set("".join(NAMES))
    assert "Noto Sans CJK SC" in text["fontFamily"] and not text["fontFamily"].startswith("@@")
    assert view.deck._tooltip["text"] == "{tooltip}" and "html" not in view.deck._tooltip
    west, south = spec["initialViewState"]["longitude"], spec["initialViewState"]["latitude"]
    assert west == pytest.approx(100.025) and 25.0 < south < 25.03  # centred on this county
    styled = coverage.coverage_map(table, compounds, boundaries(), "hours", "en",
                                   {"coverage": {"map_style": "http://tiles.intranet/style.json"}}, focus="青山社区")
    spec = _spec(styled.deck)
    assert spec["mapStyle"] == "http://tiles.intranet/style.json"
    assert [f["properties"]["community"] for f in
            {layer["id"]: layer for layer in spec["layers"]}["focus"]["data"]["features"]] == ["青山社区"]
    assert styled.colours["青山社区"][3] == maps.FILL_ALPHA_BASEMAP


def test_quantile_scale_from_the_settings(other_store):
    table = coverage.community_table(other_store.query("community_summary", q1()))
    compounds = other_store.query("coverage_compounds", q1(), community=None)
    view = coverage.coverage_map(table, compounds, boundaries(), "hours", "zh",
                                 {"coverage": {"scale": "quantile", "bins": 3}})
    # hours: 7.5 (青山), 1.0 (绿水), 0.5 (长安); the 12 communities without a record are 无数据, not
    # 0 hours in the lowest tercile (which would make every tercile boundary 0 but the top)
    assert view.scale.breaks[0] == 0.5 and view.scale.breaks[-1] == 7.5 and len(view.scale.breaks) == 4
    assert "无数据" in view.legend_html and "12个" in view.legend_html


def test_every_rate_column_can_show_a_dash():
    config = coverage.column_config("zh")
    assert config["coverage"]["type_config"]["type"] == "number"  # a progress bar would show nothing
    assert config["hours_per_100"]["type_config"]["type"] == "number"


def test_communities_without_boundary_are_listed():
    summary = pd.DataFrame([{"community": n, "households_total": 10, "members": 0, "hours": 1.0, "persons": 0,
                             "records": 0, "households_reached": 1, "coverage": 0.1, "open_wishes": 0}
                            for n in ("甲社区", "乙社区")])
    compounds = pd.DataFrame(columns=["community", "compound", "households_total", "lon", "lat",
                                      "households_reached", "hours", "persons", "records", "coverage"])
    view = coverage.coverage_map(coverage.community_table(summary), compounds, boundaries(["甲社区"]), "coverage",
                                 "zh", {"coverage": {}})
    assert view.unmapped == ["乙社区"]
    assert len(_spec(view.deck)["layers"][0]["data"]["features"]) == 1


# -- the page ------------------------------------------------------------------------------------

def _deck(at) -> dict:
    charts_ = at.get("deck_gl_json_chart")
    assert len(charts_) == 1
    return json.loads(charts_[0].proto.json)


def _fills(spec) -> dict[str, list[int]]:
    layer = next(layer for layer in spec["layers"] if layer["id"] == "communities")
    return {f["properties"]["community"]: f["properties"]["fill_color"] for f in layer["data"]["features"]}


def test_page_renders_the_demo_with_one_polygon_per_community():
    at = run_app(page="app_pages/coverage.py")
    assert not at.exception
    spec = _deck(at)
    fills = _fills(spec)
    assert len(fills) == 12 and "北城社区" in fills
    allowed = {tuple(maps.REDS[i]) for i in range(len(maps.REDS))} | {maps.NO_VALUE}
    assert all(tuple(c[:3]) in allowed and c[3] == maps.FILL_ALPHA for c in fills.values())
    assert "覆盖率（联系户数 ÷ 总户数）" in at.get("html")[0].proto.body
    assert len(at.get("plotly_chart")) == 1  # the ranking; no community chosen yet
    assert "社区详情" in at.subheader[0].value


def test_second_county_renders_with_its_colours(tmp_path, monkeypatch):
    at = run_app(page="app_pages/coverage.py", data_dir=write_other(tmp_path / "other"), monkeypatch=monkeypatch,
                 query_params={"period": "custom", "start": "2025-01-01", "end": "2025-03-31"})
    assert not at.exception
    fills = _fills(_deck(at))
    assert set(fills) == set(NAMES)
    # coverage 0.04 (青山), 1/110 (绿水), 0 for 长安 (a record, no household reached): classes
    # 0–1–2–3–4 % in four reds; the 12 others have no record in the period: pale grey 无数据, not 0 %
    assert fills["青山社区"] == [*maps.REDS[8], maps.FILL_ALPHA]
    assert fills["绿水社区"] == [*maps.REDS[1], maps.FILL_ALPHA]
    assert fills["长安社区"] == [*maps.REDS[1], maps.FILL_ALPHA]
    assert fills["兰亭社区"] == fills["金沙社区"] == [*maps.NO_DATA, maps.FILL_ALPHA]
    legend = at.get("html")[0].proto.body
    assert "3%–4%" in legend and "无数据" in legend and "12个" in legend

    at.selectbox(key="drill").set_value("兰亭社区").run()
    assert not at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["覆盖率"] == "—" and tiles["总户数"] == "—"

    at.selectbox(key="drill").set_value("青山社区").run()
    assert not at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["覆盖率"] == "4.0%" and tiles["联系户数"] == "4户" and tiles["服务时长"] == "7.5小时"
    frames = [d.value for d in at.dataframe]
    units = [f for f in frames if "unit" in f.columns]
    assert [u["unit"].tolist() for u in units] == [["甲局", "乙局"], ["丙局"]]
    wishes = next(f for f in frames if "wish_id" in f.columns)
    assert wishes["wish_id"].tolist() == ["w2", "w4", "w5", "w3"]
    assert _fills(_deck(at))["青山社区"] == [*maps.REDS[8], maps.FILL_ALPHA]
    focus = next(layer for layer in _deck(at)["layers"] if layer["id"] == "focus")
    assert focus["data"]["features"][0]["properties"]["community"] == "青山社区"


def test_metric_and_community_from_the_url_in_english(tmp_path, monkeypatch):
    at = run_app(page="app_pages/coverage.py", data_dir=write_other(tmp_path / "other"), monkeypatch=monkeypatch,
                 query_params={"period": "custom", "start": "2025-01-01", "end": "2025-03-31", "lang": "en",
                               "map": "hours", "drill": "青山社区"})
    assert not at.exception
    assert "Volunteer hours" in at.get("html")[0].proto.body
    fills = _fills(_deck(at))
    assert fills["青山社区"] == [*maps.REDS[8], maps.FILL_ALPHA]  # 7.5 hours, the most
    assert fills["长安社区"] == [*maps.REDS[1], maps.FILL_ALPHA]  # 0.5 hours
    assert fills["兰亭社区"] == [*maps.NO_DATA, maps.FILL_ALPHA]  # no record in the period: "No data"
    assert "No data" in at.get("html")[0].proto.body
    assert {m.label: m.value for m in at.metric}["Volunteer hours"] == "7.5 hours"


def test_empty_store_renders(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    at = run_app(page="app_pages/coverage.py", data_dir=tmp_path / "empty", monkeypatch=monkeypatch)
    assert not at.exception
    assert not at.get("deck_gl_json_chart")


def test_small_county_without_boundaries_lists_every_community(tmp_path, monkeypatch):
    at = run_app(page="app_pages/coverage.py", data_dir=write_store(tmp_path / "small", **SMALL),
                 monkeypatch=monkeypatch, query_params={"period": "all"})
    assert not at.exception
    assert not at.get("deck_gl_json_chart")  # no boundary at all: no empty map, a note instead
    assert any("A社区、B社区、C社区" in i.value for i in at.info)
    table = at.dataframe[-1].value
    assert table["community"].tolist() == ["A社区", "B社区", "C社区"]


def test_no_data_is_grey_and_outside_the_classes():
    """A community without a record in a period that has data: pale grey, counted under 无数据, and
    left out of the classes (its 0 would pull the scale down); a figure that cannot be computed
    (no household total) stays the darker grey "—"; 报到党员数 (a count at the period's end) keeps 0."""
    table = pd.DataFrame([
        {"community": "甲社区", "households_total": 100.0, "members": 5, "hours": 30.0, "persons": 9, "records": 6,
         "households_reached": 20, "coverage": 0.2, "hours_per_100": 30.0, "open_wishes": 0},
        {"community": "乙社区", "households_total": 100.0, "members": 0, "hours": 0.0, "persons": 0, "records": 0,
         "households_reached": 0, "coverage": 0.0, "hours_per_100": 0.0, "open_wishes": 0},
        {"community": "丙社区", "households_total": None, "members": 2, "hours": 4.0, "persons": 2, "records": 1,
         "households_reached": 1, "coverage": None, "hours_per_100": None, "open_wishes": 0},
    ])
    assert coverage.no_data(table, "coverage") == [False, True, False]
    assert coverage.no_data(table, "members") == [False, False, False]
    scale, entries, empty = coverage.map_scale(table, "coverage", {"coverage": {}}, "zh")
    assert scale.breaks[0] == 0.0 and scale.breaks[-1] == pytest.approx(0.2)
    colours = [maps.fill_rgb(scale, v, e) for v, e in zip(table["coverage"], empty)]
    assert colours[0] == scale.colours[-1] and colours[1] == maps.NO_DATA and colours[2] == maps.NO_VALUE
    assert maps.NO_DATA not in scale.colours and maps.NO_DATA != maps.NO_VALUE
    assert [(e.label, e.count) for e in entries][-2:] == [("—（未填总户数）", 1), ("无数据", 1)]
    assert sum(e.count for e in entries) == 3
    _, entries_en, _ = coverage.map_scale(table, "hours", {"coverage": {}}, "en")
    assert entries_en[-1].label == "No data" and entries_en[-1].rgb == maps.NO_DATA
    # the briefing's map uses the same classes and greys
    from redservice import briefing_figure
    assert briefing_figure.coverage_scale(table, {"coverage": {}}, "zh", "coverage")[2] == [False, True, False]


def test_the_ranking_says_no_data_in_grey():
    table = coverage.community_table(pd.DataFrame([
        {"community": "甲社区", "households_total": 100, "members": 5, "hours": 30.0, "persons": 9, "records": 6,
         "households_reached": 20, "coverage": 0.2, "open_wishes": 0},
        {"community": "乙社区", "households_total": 100, "members": 0, "hours": 0.0, "persons": 0, "records": 0,
         "households_reached": 0, "coverage": 0.0, "open_wishes": 0}]))
    compounds = pd.DataFrame(columns=["community", "compound", "households_total", "lon", "lat",
                                      "households_reached", "hours", "persons", "records", "coverage"])
    view = coverage.coverage_map(table, compounds, boundaries(["甲社区", "乙社区"]), "hours", "zh", {"coverage": {}})
    bar = view.ranking.data[0]
    texts = dict(zip(bar.y, bar.text))
    assert texts["乙社区"] == "无数据" and texts["甲社区"].endswith("小时")
    assert view.colours["乙社区"][:3] == list(maps.NO_DATA)


def test_community_names_are_placed_clear_of_the_compound_dots(demo_store):
    """On the demo county's map as it opens (its zoom), no compound dot touches a community's name
    (the names were drawn on the centroids, under dots: 槐荫, 文昌 …)."""
    table = coverage.community_table(demo_store.query("community_summary", q1()))
    compounds = demo_store.query("coverage_compounds", q1(), community=None)
    view = coverage.coverage_map(table, compounds, demo_store.boundaries(), "coverage", "zh", {"coverage": {}})
    spec = _spec(view.deck)
    zoom = spec["initialViewState"]["zoom"]
    layers = {layer["id"]: layer for layer in spec["layers"]}
    dots = [(*maps.to_pixels(*d["position"], zoom), d["radius"] + 1) for d in layers["compounds"]["data"]]
    labels = layers["labels"]["data"]
    assert len(labels) == 12
    covered = [label["name"] for label in labels
               if maps.box_hits(*maps.to_pixels(*label["position"], zoom), *maps.label_size(label["name"]), dots)]
    assert not covered, covered
    # each name stays inside its community
    shapes = {f["properties"]["community"]: f["geometry"] for f in layers["communities"]["data"]["features"]}
    for label in labels:
        ring = maps._rings(shapes[label["name"]])[0]
        assert maps._inside(*label["position"], [tuple(p[:2]) for p in ring]), label
    assert layers["labels"]["parameters"] == {"depthTest": False}  # drawn over anything left


def _reference_place_label(name, geometry, dots, zoom):
    """The first version of maps.place_label (every dot scanned, every place tried in Python): the
    faster one must place every name where this one did."""
    centre = maps.label_point(geometry)
    if centre is None:
        return None
    rings = [r for r in maps._rings(geometry) if len(r) >= 3]
    ring = max(rings, key=lambda r: abs(maps._ring_area_centroid(r)[0]))
    ring_px = [maps.to_pixels(p[0], p[1], zoom) for p in ring]
    cx, cy = maps.to_pixels(centre[0], centre[1], zoom)
    w, h = maps.label_size(name)
    reach = maps.LABEL_REACH_PX
    near = [d for d in dots if abs(d[0] - cx) < reach + w and abs(d[1] - cy) < reach + h]
    if maps.box_hits(cx, cy, w, h, near) == 0:
        return centre
    steps = range(-reach, reach + 1, maps.LABEL_STEP_PX)
    best = None
    for dx, dy in sorted(((dx, dy) for dx in steps for dy in steps), key=lambda d: d[0] ** 2 + d[1] ** 2):
        x, y = cx + dx, cy + dy
        hits = maps.box_hits(x, y, w, h, near)
        if best is not None and hits >= best[0]:
            continue
        corners = ((x - w / 2, y - h / 2), (x + w / 2, y - h / 2), (x - w / 2, y + h / 2), (x + w / 2, y + h / 2))
        if not all(maps._inside(px, py, ring_px) for px, py in corners):
            continue
        best = (hits, x, y)
        if hits == 0:
            break
    return centre if best is None else maps.from_pixels(best[1], best[2], zoom)


def test_labels_are_placed_as_before_but_fast():
    """place_label (dots bucketed, places counted with numpy, only places within the polygon's box
    tried) gives the first version's answer on crowded random maps; a province-sized map's names
    are placed in well under a second (the first version: over ten minutes at 1 M records)."""
    import random
    import time

    rng = random.Random(22)
    zoom = 13.0
    for case in range(40):
        lon, lat = 111.0 + rng.random(), 34.8 + rng.random() * 0.1
        size = rng.choice([0.003, 0.01, 0.03])
        ring = [[lon + size * math.cos(a / 9 * 2 * math.pi) * (0.6 + 0.4 * rng.random()),
                 lat + size * math.sin(a / 9 * 2 * math.pi) * (0.6 + 0.4 * rng.random())] for a in range(9)]
        ring.append(ring[0])
        geometry = {"type": "Polygon", "coordinates": [ring]}
        cx, cy = maps.to_pixels(lon, lat, zoom)
        dots = [(cx + rng.uniform(-150, 150), cy + rng.uniform(-150, 150), rng.uniform(3, 12))
                for _ in range(rng.choice([0, 5, 40, 200]))]
        name = rng.choice(["北城社区", "种子公司家属区社区", "河阳"])
        assert maps.place_label(name, geometry, dots, zoom) == _reference_place_label(name, geometry, dots, zoom), case
    grid_dots = maps.DotGrid((x * 7.0, y * 5.0, 4.0) for x in range(300) for y in range(300))
    square = {"type": "Polygon", "coordinates": [[[0, 0], [0.001, 0], [0.001, 0.001], [0, 0.001], [0, 0]]]}
    t0 = time.perf_counter()
    for _ in range(500):
        maps.place_label("北城社区", square, grid_dots, 3.0)
    assert time.perf_counter() - t0 < 2.0


def test_the_map_opens_with_every_name_on_a_laptop(demo_store):
    """The coverage map opens fitted to maps.MAP_WIDTH: on a 1366 px laptop, whose map column is about
    490 × 620 px, every community's name is inside it and no polygon loses more than the fit's
    28 px margin (fitted to the full-HD column, 760 px, the laptop lost 107 px a side, names too)."""
    table = coverage.community_table(demo_store.query("community_summary", q1()))
    compounds = demo_store.query("coverage_compounds", q1(), community=None)
    spec = _spec(coverage.coverage_map(table, compounds, demo_store.boundaries(), "coverage", "zh",
                                       {"coverage": {}}).deck)
    view = spec["initialViewState"]
    cx, cy = maps.to_pixels(view["longitude"], view["latitude"], view["zoom"])
    layers = {layer["id"]: layer for layer in spec["layers"]}
    corners = [(x + sx * w / 2, y + sy * h / 2) for label in layers["labels"]["data"]
               for x, y in [maps.to_pixels(*label["position"], view["zoom"])]
               for w, h in [maps.label_size(label["name"])] for sx in (-1, 1) for sy in (-1, 1)]
    assert len(corners) == 4 * 12
    assert max(abs(x - cx) for x, _ in corners) <= 490 / 2 and max(abs(y - cy) for _, y in corners) <= 620 / 2
    edges = [maps.to_pixels(p[0], p[1], view["zoom"]) for f in layers["communities"]["data"]["features"]
             for ring in maps._rings(f["geometry"]) for p in ring]
    assert max(abs(x - cx) for x, _ in edges) <= 490 / 2 + 28 and max(abs(y - cy) for _, y in edges) <= 620 / 2
