"""``python -m redservice demo --city``: a synthetic city of 13 counties, generated (never committed),
whose 平陆县 is the demo county; the city's ``kpis --json`` against its counties' (issue 22)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import subprocess

import pytest

from redservice import cli, demo, fmt, metrics
from redservice.config import DEMO_DIR, PROJECT_DIR
from redservice.filters import Filters
from redservice.store import Store

Q1 = ("2025-01-01", "2025-03-31")
# kpis --json figures that add up from the counties to the city (docs/guide.md, 口径: 全市与各县) and
# those recounted at each level (a branch, an activity or a member may be in several counties).
ADDITIVE = ("members", "communities", "hours", "households", "persons_served", "wishes_claimed",
            "wishes_completed")
DISTINCT = ("branches", "activities", "participation_rate")


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    return demo.write_city(tmp_path_factory.mktemp("city") / "city")


@pytest.fixture(scope="module")
def city(city_dir):
    store = Store(city_dir)
    yield store
    store.close()


def _cli(*args) -> dict:
    """``python -m redservice ARGS`` in this process (16 of them: a process each took 40 s)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(list(args)) == 0
    return json.loads(out.getvalue())


def test_thirteen_labelled_synthetic_counties(city, city_dir):
    manifest = json.loads((city_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True and manifest["name"] == "运城市（演示）"
    counties = city.query("filter_options", None)
    counties = sorted(counties.loc[counties["dimension"] == "county", "value"])
    assert counties == sorted(demo.CITY_COUNTIES) and len(counties) == 13
    per_county = dict(city.con.execute("SELECT county, COUNT(*) FROM services GROUP BY county").fetchall())
    assert per_county["平陆县"] == Store(DEMO_DIR).con.execute("SELECT COUNT(*) FROM services").fetchone()[0]
    others = [n for c, n in per_county.items() if c not in ("平陆县", None)]
    assert len(others) == 12 and all(1_000 <= n <= 10_000 for n in others)  # a few thousand each
    units = dict(city.con.execute("SELECT unit, county FROM units WHERE unit IN ('市财政局', '县住建局')").fetchall())
    assert units == {"市财政局": None, "县住建局": "平陆县"}  # a unit of the city has no county


def test_not_committed(city_dir):
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True).stdout
    assert "运城" not in tracked and "city/" not in tracked


def test_the_demo_county_is_the_seed(city):
    demo_store = Store(DEMO_DIR)
    f = Filters.make(*(dt.date.fromisoformat(d) for d in Q1))
    inside = metrics.kpis_json(metrics.kpis(city, Filters.make(f.start, f.end, counties=["平陆县"])))
    alone = metrics.kpis_json(metrics.kpis(demo_store, f))
    assert inside == alone
    assert inside["households"] == demo.TARGETS["households"]
    assert inside["hours"] == demo.TARGETS["hours"]


def test_city_equals_the_sum_of_its_counties(city_dir, city):
    """kpis --json for the city = the sum of kpis --county X --json over the 13 counties for every
    additive figure; the distinct figures equal a fresh recount (the same query over every county)."""
    data = ["--data", str(city_dir), "--start", Q1[0], "--end", Q1[1], "--json"]
    whole = _cli("kpis", *data)
    parts = [_cli("kpis", *data, "--county", c) for c in demo.CITY_COUNTIES]
    for key in ADDITIVE:  # hours: to 0.1 h in the JSON; every demo record's hours are whole halves
        assert whole[key] == pytest.approx(sum(p[key] for p in parts)), key
    everyone = _cli("kpis", *data, *[a for c in demo.CITY_COUNTIES for a in ("--county", c)])
    recount = metrics.kpis_json(metrics.kpis(city, Filters.make(*(dt.date.fromisoformat(d) for d in Q1))))
    for key in DISTINCT:
        assert whole[key] == everyone[key] == recount[key], key
    by = _cli("kpis", *data, "--by", "county")  # one object per county, the same as --county X
    assert by == dict(zip(demo.CITY_COUNTIES, parts))
    # a branch of a unit of the city is counted in each county it is in, once in the city
    assert whole["branches"] < sum(p["branches"] for p in parts)


def _county_box(at):
    return [m for m in at.sidebar.multiselect if m.label in ("区县", "County")]


def test_the_filter_bar_offers_counties_and_the_header_names_the_level(city_dir, monkeypatch):
    from conftest import run_app

    at = run_app(data_dir=city_dir, monkeypatch=monkeypatch)
    assert not at.exception, at.exception
    assert len(_county_box(at)) == 1 and len(_county_box(at)[0].options) == 13
    assert at.title[0].value.startswith("运城市")
    at = run_app({"county": "芮城县"}, data_dir=city_dir, monkeypatch=monkeypatch)
    assert at.title[0].value.startswith("芮城县")
    assert metrics_value(at, "报到党员") == metrics.format_value(
        "members", metrics.kpis(Store(city_dir), Filters.make(*_ytd(city_dir), counties=["芮城县"]))["current"]["members"],
        "zh")


def test_the_filter_bar_narrows_to_the_counties_chosen(city, city_dir, monkeypatch):
    """With 区县 chosen, 单位, 党支部 and 社区 offer the counties' own (a unit of the city with a member
    or a record there too); a URL naming a unit of another county is answered with the county's figures
    and a line saying the unit was left out, not silently and not with an empty view."""
    from conftest import run_app

    f = Filters.make(*_ytd(city_dir))
    everything = city.query("filter_options", None)
    ruicheng = city.query("filter_options", f.within(counties=["芮城县"]))
    of = lambda df, dim: set(df.loc[df["dimension"] == dim, "value"])  # noqa: E731
    assert of(ruicheng, "county") == of(everything, "county") and len(of(ruicheng, "county")) == 13
    county_of = dict(city.con.execute("SELECT community, county FROM communities").fetchall())
    assert {county_of[c] for c in of(ruicheng, "community")} == {"芮城县"} and len(of(ruicheng, "community")) == 12
    units = of(ruicheng, "unit")
    assert "芮城县住建局" in units and "县住建局" not in units and "市财政局" in units  # a unit of the city serving there
    assert units < of(everything, "unit") and {u for u in units if not u.startswith("芮城县")} <= {
        u for u, c in city.con.execute("SELECT unit, county FROM units").fetchall() if c is None}
    branches = ruicheng[ruicheng["dimension"] == "branch"]
    assert set(branches["parent"]) <= units and of(ruicheng, "category") == of(everything, "category")

    at = run_app({"county": "芮城县", "unit": "县住建局"}, data_dir=city_dir, monkeypatch=monkeypatch)
    assert not at.exception, at.exception
    box = {m.label: m for m in at.sidebar.multiselect}
    assert set(box["单位"].options) == units and box["单位"].value == [] and len(box["社区"].options) == 12
    assert [w.value for w in at.sidebar.warning] == ["所选区县（芮城县）中没有：县住建局，已从筛选中去掉。"]
    assert metrics_value(at, "报到党员") == metrics.format_value(
        "members", metrics.kpis(city, f.within(counties=["芮城县"]))["current"]["members"], "zh")
    # a unit of the county stays chosen; switching the county drops it, out loud
    at = run_app({"county": "芮城县", "unit": "芮城县住建局"}, data_dir=city_dir, monkeypatch=monkeypatch)
    assert {m.label: m.value for m in at.sidebar.multiselect}["单位"] == ["芮城县住建局"] and not at.sidebar.warning
    _county_box(at)[0].set_value(["平陆县"]).run()
    assert {m.label: m.value for m in at.sidebar.multiselect}["单位"] == []
    assert "芮城县住建局" in at.sidebar.warning[0].value
    # a name from the URL is shown as written: Markdown in it makes no image or link
    bait = "![x](http://127.0.0.1:8999/i.png)"
    at = run_app({"county": "芮城县", "unit": bait}, data_dir=city_dir, monkeypatch=monkeypatch)
    assert not at.exception and fmt.md_escape(bait) in at.sidebar.warning[0].value


def test_one_county_looks_as_before(monkeypatch):
    from conftest import run_app

    at = run_app(data_dir=DEMO_DIR, monkeypatch=monkeypatch)
    assert not at.exception and not _county_box(at)
    assert at.title[0].value.startswith("平陆县在职党员进社区工作数据看板")


def _ytd(directory):
    store = Store(directory)
    f = metrics.default_filters(store)
    return f.start, f.end


def metrics_value(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_county_outlines_are_dissolved_from_the_communities(city, city_dir):
    from redservice import counties

    county_of = dict(city.con.execute("SELECT community, county FROM communities").fetchall())
    outlines = counties.county_outlines(city.boundaries(), county_of)
    assert sorted(outlines) == sorted(demo.CITY_COUNTIES)
    for county, lines in outlines.items():
        # the 12 communities of a county share their inner edges: one closed outer ring is left
        assert len(lines) == 1 and lines[0][0] == lines[0][-1], county
    square = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[1, 0], [2, 0], [2, 1], [1, 1], [1, 0]]]
    (ring,) = counties.dissolve(square)
    assert len(ring) == 7 and ring[0] == ring[-1]  # the 6 outer edges; the shared one is gone


def test_the_county_comparison_page(city_dir, monkeypatch):
    from conftest import run_app

    at = run_app(data_dir=city_dir, monkeypatch=monkeypatch, page="app_pages/counties.py")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 13 and set(table["区县"]) == set(demo.CITY_COUNTIES)
    assert {"每百名党员服务时长", "报到党员 · 较上期", "报到党员 · 同比"} <= set(table.columns)
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    assert {layer["id"] for layer in deck["layers"]} >= {"counties", "county_outlines"}
    # a click on a county sets the filter bar's 区县 (the callback's effect), and the header follows
    at.session_state["county"] = ["芮城县"]
    at.run()
    assert not at.exception and at.title[0].value.startswith("芮城县")
    assert len(at.dataframe[0].value) == 13  # the comparison keeps every county, the chosen outlined


def test_picked_county():
    from redservice import counties

    assert counties.picked_county({"objects": {"counties": [{"properties": {"county": "绛县"}}]}}) == "绛县"
    assert counties.picked_county({"objects": {}}) is None and counties.picked_county(None) is None


def test_city_briefing_sentence(city):
    from redservice import briefing

    f = Filters.make(*(dt.date.fromisoformat(d) for d in Q1))
    text = briefing.paragraph(metrics.kpis(city, f), None, "zh", None,
                              briefing.store_counties(lambda name, filters=None: city.query(name, filters)))
    assert "全市13个县（市、区）" in text and "个党支部" in text and "名在职党员" in text
    one = briefing.paragraph(metrics.kpis(city, Filters.make(f.start, f.end, counties=["平陆县"])), "ytd", "zh")
    assert one.startswith("今年以来，平陆县共145个党支部")


def test_exports_of_a_county_and_of_the_comparison(city_dir, tmp_path):
    import openpyxl

    from redservice import cli

    out = tmp_path / "scorecard.xlsx"
    assert cli.main(["export", "单位评分表", "--data", str(city_dir), "--county", "芮城县", "--out", str(out)]) == 0
    text = {str(c.value) for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows() for c in row
            if c.value is not None}
    assert any("芮城县" in x for x in text)
    assert not any(c in x for x in text for c in demo.CITY_COUNTIES if c != "芮城县")
    out = tmp_path / "counties.xlsx"
    assert cli.main(["export", "counties", "--data", str(city_dir), "--out", str(out)]) == 0
    text = {str(c.value) for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows() for c in row
            if c.value is not None}
    assert set(demo.CITY_COUNTIES) <= text


def test_labels_name_the_level(city_dir, monkeypatch):
    """At the city's all-counties view no label says 全县: the units' reference median is 全市's, or
    the county's when one is chosen (zh and en); exports and the briefing's footnote name the level."""
    from conftest import run_app

    from redservice import export

    def texts(at):
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        notes = " ".join(c.value for c in at.caption) + " ".join(m.help or "" for m in at.metric)
        return json.dumps(spec, ensure_ascii=False) + notes

    at = run_app({"tab": "chart"}, data_dir=city_dir, monkeypatch=monkeypatch, page="app_pages/units.py")
    assert not at.exception, at.exception
    text = texts(at)
    assert "全市中位数" in text and "虚线为全市各单位中位数" in text and "不足全市中位数的50%" in text
    assert "全县" not in text
    at = run_app({"tab": "chart", "county": "芮城县", "lang": "en"}, data_dir=city_dir, monkeypatch=monkeypatch,
                 page="app_pages/units.py")
    text = texts(at)
    assert "Median across 芮城县" in text and "the median of the units of 芮城县" in text and "county median" not in text
    f = Filters.make(*_ytd(city_dir))
    assert "范围：全市13个县（市、区）" in export.describe_filters(f, "zh", None, tuple(demo.CITY_COUNTIES))
    assert not any("全市" in x for x in export.describe_filters(f.within(counties=["芮城县"]), "zh", None,
                                                                 tuple(demo.CITY_COUNTIES)))
    assert not any("全市" in x for x in export.describe_filters(f, "zh", None, ("平陆县",)))


def test_the_maps_of_a_city_draw_counties(city, city_dir, monkeypatch):
    """社区覆盖 and 汇报 at the city's all-counties view draw its 13 counties (the dissolved outlines as
    polygons, coloured by the county's figure), not its 156 communities; a county chosen is drawn by its
    communities, as the county's own store would be."""
    from conftest import run_app

    from redservice import briefing, counties, coverage

    def deck_layers(at):
        deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
        return {layer["id"]: layer["data"] for layer in deck["layers"]}

    at = run_app(data_dir=city_dir, monkeypatch=monkeypatch, page="app_pages/coverage.py")
    assert not at.exception, at.exception
    layers = deck_layers(at)
    drawn = {f["properties"]["community"] for f in layers["communities"]["features"]}
    assert drawn == set(demo.CITY_COUNTIES) and "compounds" not in layers
    at = run_app({"county": "芮城县"}, data_dir=city_dir, monkeypatch=monkeypatch, page="app_pages/coverage.py")
    layers = deck_layers(at)
    county_of = dict(city.con.execute("SELECT community, county FROM communities").fetchall())
    drawn = [f["properties"]["community"] for f in layers["communities"]["features"]]
    assert len(drawn) == 12 and {county_of[c] for c in drawn} == {"芮城县"} and layers["compounds"]

    at = run_app(data_dir=city_dir, monkeypatch=monkeypatch, page="app_pages/briefing.py")
    assert not at.exception, at.exception
    figures = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    titles = [fig["layout"].get("title", {}).get("text") for fig in figures]
    assert "各县（市、区）入户覆盖率" in titles and "各县（市、区）志愿服务时长" in titles
    assert "各社区入户覆盖率" not in titles
    filled = [tr for tr in figures[titles.index("各县（市、区）入户覆盖率")]["data"] if tr.get("fill") == "toself"]
    assert sorted(tr["name"] for tr in filled) == sorted(demo.CITY_COUNTIES)

    # the CLI's briefing (shapes dissolved there) draws the same; its figures are 区县对比's
    from redservice import config

    settings = config.settings(str(city_dir))
    f = Filters.make(*_ytd(city_dir))
    data = briefing.gather(lambda name, filters=None, **extra: city.query(name, filters or f, **extra), f, "ytd", "zh",
                           settings, "运城市", "x", True, None, city.boundaries())
    assert data.map_level == "county" and sorted(data.map_rows["community"]) == sorted(demo.CITY_COUNTIES)
    row = data.map_rows.set_index("community").loc["芮城县"]
    alone = metrics.kpis(city, f.within(counties=["芮城县"]))["current"]
    assert row["hours"] == pytest.approx(alone["hours"]) and row["households_reached"] == alone["households"]
    assert row["coverage"] == pytest.approx(alone["households"] / row["households_total"])
    assert coverage.tooltip(row.to_dict() | {"community": "芮城县"}, "zh").startswith("芮城县")
    assert briefing.gather(lambda name, filters=None, **extra: city.query(name, filters or f.within(counties=["芮城县"]),
                                                                           **extra),
                           f.within(counties=["芮城县"]), "ytd", "zh", settings, "芮城县", "x", True, None,
                           city.boundaries()).map_level == "community"


def test_county_shapes_keep_an_enclave_as_a_hole():
    """A county around another (an enclave) is one polygon with a hole, not a filled square drawn
    over its neighbour."""
    from redservice import counties

    def square(x, y):
        return {"type": "Polygon", "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]}

    features = [{"type": "Feature", "geometry": square(x, y), "properties": {"community": f"c{x}{y}"}}
                for x in range(3) for y in range(3)]
    county_of = {f"c{x}{y}": ("B" if (x, y) == (1, 1) else "A") for x in range(3) for y in range(3)}
    shapes = {f["properties"]["county"]: f["geometry"] for f in
              counties.county_shapes({"features": features}, county_of)["features"]}
    (outer_with_hole,) = shapes["A"]["coordinates"]
    assert len(outer_with_hole) == 2 and len(outer_with_hole[0]) == 13  # 12 unit edges, closed
    assert len(shapes["B"]["coordinates"]) == 1 and len(shapes["B"]["coordinates"][0]) == 1


def test_the_filter_bars_choices_are_shaped_once_and_shared_read_only(city, city_dir):
    """ui.option_lists (a shared resource, not a copy per run) holds what filter_options.sql gives,
    sorted and distinct per dimension, each unit's branches; the same object on every run, and
    read-only, so no page can change another's choices."""
    from redservice import briefing, ui
    from redservice.filters import EVERYTHING

    def reference(df):
        rows = df[df["value"].notna()]
        out = {dim: tuple(sorted(set(rows.loc[rows["dimension"] == dim, "value"])))
               for dim in ("county", "unit", "branch", "community", "category", "form")}
        by_unit: dict = {}
        for parent, value in rows.loc[rows["dimension"] == "branch", ["parent", "value"]].itertuples(index=False):
            by_unit.setdefault(parent, []).append(value)
        return out, {u: tuple(v) for u, v in by_unit.items()}

    probe = Filters.make(dt.date.today(), dt.date.today())
    for counties in (None, ("芮城县",), ("平陆县", "芮城县")):
        f = probe.within(counties=counties) if counties else probe
        lists, by_unit = reference(city.query("filter_options", f))
        got = ui.option_lists(str(city_dir), EVERYTHING, counties)
        assert {dim: got[dim] for dim in lists} == lists and dict(got["branch_by_unit"]) == by_unit
        assert len(got["unit"]) > 10 and len(by_unit) > 10
        assert ui.option_lists(str(city_dir), EVERYTHING, counties) is got  # shared, not copied
    with pytest.raises(TypeError):
        got["unit"] = ()
    with pytest.raises(TypeError):
        got["branch_by_unit"][next(iter(by_unit))] = ()
    assert isinstance(got["unit"], tuple)
    assert ui.store_counties(str(city_dir), EVERYTHING) == briefing.store_counties(
        lambda name, filters=None: city.query(name, filters)) and len(ui.store_counties(str(city_dir), EVERYTHING)) == 13
