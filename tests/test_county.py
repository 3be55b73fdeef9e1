"""The county as a level (issue 22): which county a community, unit, member, record and wish counts
in, a unit of the city (市直单位), a member serving in two counties, and the county filter and scope
on a small two-county store built in code."""

from __future__ import annotations

import math

import pytest

from conftest import D, Q1_2025, write_store
from redservice import metrics
from redservice.filters import Filters, Scope
from redservice.store import Store


def _m(mid, unit, branch, community, reported=D(2025, 1, 5)):
    return {"member_id": mid, "name": f"党员{mid}", "unit": unit, "branch": branch, "community": community,
            "reported_on": reported, "gender": "女", "phone": "13900001111"}


def _s(rid, day, member, community, hours, persons, households, activity=None):
    return {"record_id": rid, "date": day, "member_id": member["member_id"], "name": member["name"],
            "unit": member["unit"], "branch": member["branch"], "community": community, "category": "送政策",
            "form": "日常服务", "activity_id": activity, "hours": hours, "persons": persons,
            "households": households}


# 甲县: 甲一社区, 甲二社区, unit 甲县住建局; 乙县: 乙一社区, unit 乙县医院; 市直: 市财政局 (no county).
A1 = _m("a1", "甲县住建局", "甲县住建局支部", "甲一社区")
A2 = _m("a2", "甲县住建局", "甲县住建局支部", "甲二社区")
B1 = _m("b1", "乙县医院", "乙县医院支部", "乙一社区")
C1 = _m("c1", "市财政局", "市财政局支部", "甲一社区")  # a unit of the city, reported in 甲县
C2 = _m("c2", "市财政局", "市财政局支部", "乙一社区")  # … and one in 乙县
X = _m("x", "甲县住建局", "甲县住建局支部", "甲二社区")  # reported in 甲县, serves in both counties
U = {**_m("u", "市财政局", "市财政局支部", None), "reported_on": None}  # on the roster, not reported

TWO_COUNTIES = {
    "communities": [
        {"community": "甲一社区", "county": "甲县", "city": "测试市", "households": 100},
        {"community": "甲二社区", "county": "甲县", "city": "测试市", "households": 50},
        {"community": "乙一社区", "county": "乙县", "city": "测试市", "households": 80},
    ],
    "units": [
        {"unit": "甲县住建局", "county": "甲县", "city": "测试市", "paired_community": "甲一社区"},
        {"unit": "乙县医院", "county": "乙县", "city": "测试市", "paired_community": "乙一社区"},
        {"unit": "市财政局", "county": None, "city": "测试市", "paired_community": "乙一社区"},
    ],
    "branches": [
        {"branch": "甲县住建局支部", "unit": "甲县住建局", "members_on_roll": 3},
        {"branch": "乙县医院支部", "unit": "乙县医院", "members_on_roll": 1},
        {"branch": "市财政局支部", "unit": "市财政局", "members_on_roll": 3},
    ],
    "members": [A1, A2, B1, C1, C2, X, U],
    "services": [
        _s("r1", D(2025, 1, 10), A1, "甲一社区", 2.0, 3, ["h1", "h2"], "ACT1"),
        _s("r2", D(2025, 2, 10), A2, "甲二社区", 1.5, 2, ["h3"]),
        _s("r3", D(2025, 2, 11), B1, "乙一社区", 3.0, 4, ["k1"], "ACT1"),
        _s("r4", D(2025, 3, 1), C1, "甲一社区", 1.0, 1, ["h1"]),  # 市直: counts in 甲县
        _s("r5", D(2025, 3, 2), C2, "乙一社区", 2.5, 5, ["k2"]),  # 市直: counts in 乙县
        _s("r6", D(2025, 3, 3), X, "甲二社区", 1.0, 1, ["h4"]),
        _s("r7", D(2025, 3, 4), X, "乙一社区", 2.0, 2, ["k1"]),  # X serving in 乙县
    ],
    "wishes": [
        {"wish_id": "w1", "community": "甲一社区", "content": "修灯", "posted_on": D(2025, 1, 2),
         "claim_unit": "市财政局", "claimed_on": D(2025, 1, 6), "completed_on": D(2025, 2, 1), "status": "已办结"},
        {"wish_id": "w2", "community": "乙一社区", "content": "送药", "posted_on": D(2025, 2, 2),
         "claim_unit": "乙县医院", "claimed_on": D(2025, 2, 6), "status": "已认领"},
    ],
}
# Figures that add up across counties, and those recounted at each level (never summed).
ADDITIVE = ("members", "communities", "hours", "persons_served", "households", "wishes_claimed",
            "wishes_completed", "activity_persons")
DISTINCT = ("branches", "activities", "active_members")


@pytest.fixture
def city(tmp_path):
    store = Store(write_store(tmp_path / "city", **TWO_COUNTIES))
    yield store
    store.close()


def cur(store, counties=None, scope=Scope()):
    return metrics.kpis(store, Filters.make(*Q1_2025, counties=counties), scope)["current"]


def test_each_row_counts_in_its_county(city):
    members = dict(city.con.execute("SELECT member_id, county FROM members").fetchall())
    # a member: the county of the community reported to; unreported: the unit's (none for 市直)
    assert members == {"a1": "甲县", "a2": "甲县", "b1": "乙县", "c1": "甲县", "c2": "乙县", "x": "甲县", "u": None}
    records = dict(city.con.execute("SELECT record_id, county FROM services").fetchall())
    # a record: the county of the community where it was served (市直 units' records included)
    assert records == {"r1": "甲县", "r2": "甲县", "r3": "乙县", "r4": "甲县", "r5": "乙县", "r6": "甲县", "r7": "乙县"}
    units = dict(city.con.execute("SELECT unit, county FROM units").fetchall())
    assert units["市财政局"] is None


def test_county_figures(city):
    a, b, whole = cur(city, ["甲县"]), cur(city, ["乙县"]), cur(city)
    assert (a["members"], b["members"], whole["members"]) == (4, 2, 6)
    assert (a["hours"], b["hours"], whole["hours"]) == (5.5, 7.5, 13.0)
    assert (a["households"], b["households"], whole["households"]) == (4, 2, 6)
    assert (a["wishes_claimed"], b["wishes_claimed"]) == (1, 1)
    # ACT1 ran in both counties: one activity in each, one in the city
    assert (a["activities"], b["activities"], whole["activities"]) == (1, 1, 1)
    # the 市直 branch has a member reported in each county: counted in both, once in the city
    assert (a["branches"], b["branches"], whole["branches"]) == (2, 2, 3)


def test_additive_figures_sum_and_distinct_ones_are_recounted(city):
    whole, parts = cur(city), [cur(city, [c]) for c in ("甲县", "乙县")]
    for key in ADDITIVE:
        assert whole[key] == pytest.approx(sum(p[key] for p in parts)), key
    for key in DISTINCT:
        assert whole[key] <= sum(p[key] for p in parts), key
    assert cur(city, ["甲县", "乙县"]) == whole


def test_member_serving_in_two_counties(city):
    """X reported in 甲县 and served in both: X's hours and households count in the county where each
    record was served; X is one member of 甲县 and one active member of the city, active in 甲县
    (served there), not a member nor an active member of 乙县."""
    a, b, whole = cur(city, ["甲县"]), cur(city, ["乙县"]), cur(city)
    assert a["active_members"] == 4 and b["active_members"] == 2 and whole["active_members"] == 6
    x_b = city.query("kpis", Filters.make(*Q1_2025, counties=["乙县"], units=["甲县住建局"])).iloc[0]
    assert x_b["members"] == 0 and x_b["hours"] == 2.0 and x_b["active_members"] == 0


def test_county_scope_intersects_the_filter(city):
    scope = Scope(counties=("乙县",), label="orgdept")
    assert cur(city, scope=scope) == cur(city, ["乙县"])
    assert cur(city, ["甲县"], scope=scope)["members"] == 0  # the URL cannot widen the scope
    options = city.query("filter_options", None, scope)
    assert set(options.loc[options["dimension"] == "county", "value"]) == {"乙县"}
    assert set(options.loc[options["dimension"] == "community", "value"]) == {"乙一社区"}


def test_lists_narrow_to_the_county(city):
    f = Filters.make(*Q1_2025, counties=["乙县"])
    units = city.query("unit_scorecard", f).set_index("unit")
    # the county's own units and the 市直 unit that served there; the 市直 unit has no 报到率 here
    assert set(units.index) == {"乙县医院", "市财政局", "甲县住建局"}
    assert units.loc["乙县医院", "reporting_rate"] == 1.0
    assert units.loc["市财政局", "reporting_rate"] is None or units["reporting_rate"].isna()["市财政局"]
    communities = city.query("community_summary", f)
    assert list(communities["community"]) == ["乙一社区"]


def test_one_county_store_offers_no_county_choice(small_store):
    options = small_store.query("filter_options", None)
    assert options[options["dimension"] == "county"].empty


def test_county_comparison_rows_equal_the_county_kpis(city):
    rows = city.query("county_compare", Filters.make(*Q1_2025)).set_index("county")
    assert list(rows.index) == ["乙县", "甲县"]
    for county in rows.index:
        expected = cur(city, [county])
        for key in metrics.KPIS:
            assert rows.loc[county, key] == pytest.approx(expected[key]), (county, key)
    assert rows.loc["甲县", "households_total"] == 150


@pytest.mark.parametrize("narrow", [
    {"units": ["甲县住建局"]}, {"units": ["市财政局"]}, {"branches": ["市财政局支部", "乙县医院支部"]},
    {"communities": ["乙一社区"]}, {"counties": ["乙县"]}, {"scope": Scope(units=("甲县住建局", "市财政局"))}])
def test_county_comparison_under_filters_and_scope(city, narrow):
    """Each row equals kpis.sql with its county chosen and the same filters and scope: the active
    members (the AND of the county's member bitmaps) included, a member serving outside its county
    (X in 乙县) active in its own county only."""
    narrow = dict(narrow)
    scope = narrow.pop("scope", Scope())
    rows = city.query("county_compare", Filters.make(*Q1_2025, **narrow), scope).set_index("county")
    assert len(rows)
    for county in rows.index:
        if narrow.get("counties") and county not in narrow["counties"]:
            continue
        expected = metrics.kpis(city, Filters.make(*Q1_2025, **{**narrow, "counties": [county]}), scope)["current"]
        for key in metrics.KPIS:
            if expected[key] is None:  # a rate of no members
                assert rows.loc[county, key] is None or math.isnan(rows.loc[county, key]), (county, key)
            else:
                assert rows.loc[county, key] == pytest.approx(expected[key]), (county, key)


def test_home_member_numbers(city):
    """county_mid numbers each county's members 1..n; home_mid carries it on the records the member
    served in that county only (X's record in 乙县 has none)."""
    members = city.con.execute("SELECT member_id, county, county_mid FROM members ORDER BY member_id").fetchall()
    by_county = {}
    for _member, county, number in members:
        by_county.setdefault(county, []).append(number)
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_county.values())
    home = dict(city.con.execute("SELECT record_id, home_mid IS NOT NULL FROM services").fetchall())
    assert home == {"r1": True, "r2": True, "r3": True, "r4": True, "r5": True, "r6": True, "r7": False}


# -- 区县对比's table and map, built on whole columns, equal what they replaced ----------------------

def _reference_table(df, lang, metric):
    """counties.table as it was first written, row by row through iterrows."""
    import pandas as pd

    from redservice import counties, fmt
    from redservice.i18n import t
    from redservice.metrics import format_value

    ranked = df.assign(_rank=df[metric].astype(float)).sort_values(["_rank", "county"], ascending=[False, True],
                                                                   na_position="last")
    rows = []
    for _, r in ranked.iterrows():
        row = {t("filter.county", lang): r["county"]}
        for key in ("members", "hours", "households", "persons_served", "wishes_completed", "participation_rate"):
            label = t(f"kpi.{key}", lang)
            row[label] = format_value(key, r[key], lang) if not fmt.missing(r[key]) else fmt.DASH
            row[f"{label} · {t('counties.vs_prev', lang)}"] = counties.change_text(key, r[key], r[key + "_prev"], lang)
            row[f"{label} · {t('counties.vs_yoy', lang)}"] = counties.change_text(key, r[key], r[key + "_yoy"], lang)
        for key, _, _ in counties.NORMALISED:
            row[t(f"counties.{key}", lang)] = counties.metric_text(key, r[key], lang)
        rows.append(row)
    return pd.DataFrame(rows)


def _random_comparison(n: int, seed: int):
    """county_compare.sql-shaped rows for n counties, with the period before and a year before:
    zeros, missing figures and ties included, as counties.comparison returns them."""
    import random

    import pandas as pd

    from redservice import counties

    rng = random.Random(seed)

    def frame():
        rows = []
        for i in range(n):
            members = rng.choice([0, None, rng.randrange(1, 4000)])
            rows.append({"county": f"县{i:03d}", "members": members, "branches": rng.randrange(0, 90),
                         "communities": rng.randrange(1, 20), "hours": rng.choice([0.0, 12.5, rng.random() * 9e4]),
                         "households": rng.choice([0, rng.randrange(1, 90000)]),
                         "persons_served": rng.randrange(0, 200000), "wishes_claimed": rng.randrange(0, 99),
                         "wishes_completed": rng.choice([0, rng.randrange(1, 99)]), "activities": rng.randrange(0, 500),
                         "participation_rate": rng.choice([None, 0.0, 1.0, round(rng.random(), 3)]),
                         "households_total": rng.choice([0, None, rng.randrange(100, 90000)])})
        df = pd.DataFrame(rows)
        df["members"] = df["members"].astype("Int64")
        return df

    frames = iter([frame(), frame(), frame()])
    return counties.comparison(lambda name, filters=None: next(frames), Filters.make(D(2025, 1, 1), D(2025, 3, 31)))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("metric", ["hours_per_100_members", "households_per_100_households"])
def test_county_table_equals_the_row_by_row_reference(lang, metric):
    import pandas as pd

    from redservice import counties

    df = _random_comparison(300, seed=11)
    assert df[metric].isna().any() and df["hours_prev"].notna().any()
    shown = counties.table(df, lang, metric)
    pd.testing.assert_frame_equal(shown, _reference_table(df, lang, metric))
    assert (shown == "—").any().any() and len(shown) == 300


def test_normalised_figures_equal_per_100_cell_by_cell():
    from redservice import counties

    df = _random_comparison(200, seed=4)
    for key, num, den in counties.NORMALISED:
        expected = [counties.per_100(a, b) for a, b in zip(df[num], df[den])]
        got = df[key].tolist()
        assert [None if math.isnan(v) else v for v in got] == expected, key


def test_county_map_json_is_pydecks_document_written_without_indentation():
    """maps.Deck writes with the C encoder: the same JSON document as pydeck's own (indented) one."""
    import json

    import pydeck as pdk
    from pydeck.bindings.json_tools import serialize

    from redservice import counties, maps

    df = _random_comparison(30, seed=2)
    def square(x, y):
        return [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]

    shapes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "MultiPolygon", "coordinates": [square(i % 6, i // 6)]},
         "properties": {"county": c, "community": c}} for i, c in enumerate(df["county"])]}
    deck = counties.county_map(df, {}, {}, "hours_per_100_members", "zh", ("县003",), shapes=shapes).deck
    assert isinstance(deck, maps.Deck) and isinstance(deck, pdk.Deck)
    text = deck.to_json()
    assert json.loads(text) == json.loads(serialize(deck)) and "\n" not in text
    assert len(json.loads(text)["layers"][0]["data"]["features"]) == 30
