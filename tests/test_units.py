"""单位与支部: scorecards, flags, masking, 未参与党员, 红色积分 and the page, on a county checked by hand.

The fixture county (period 2025-01-01..2025-03-31):
  U1 (包联 A社区): branches U1一支部 (roll 3) and U1二支部 (roll 2); members a1, a2 (一支部), a3 (二支部,
     served only in December 2024).
  U2 (包联 B社区): branches U2甲支部 (roll 2) and U2乙支部 (no roll); a4 (甲), a5 (乙, reports in April).
  U3 (no 包联, not in the branch list): a6, served once in February.
  U4: branch U4支部 (roll 4), no member at all.
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from conftest import D, Q1_2025, metrics_by_label, run_app, write_store
from redservice import charts, config, export, metrics, scorecard
from redservice.filters import Filters, Scope
from redservice.store import Store


def _m(mid, name, unit, branch, community, reported, phone="13812345678"):
    return {"member_id": mid, "name": name, "unit": unit, "branch": branch, "community": community,
            "reported_on": reported, "gender": "男", "phone": phone}


def _s(rid, day, m, community, form, hours, persons, households=(), activity=None, category="义诊"):
    return {"record_id": rid, "date": day, "member_id": m["member_id"], "name": m["name"], "unit": m["unit"],
            "branch": m["branch"], "community": community, "category": category, "form": form,
            "activity_id": activity, "hours": hours, "persons": persons, "households": list(households)}


A1 = _m("a1", "张三明", "U1", "U1一支部", "A社区", D(2024, 6, 1))
A2 = _m("a2", "李四", "U1", "U1一支部", "B社区", D(2025, 1, 15), phone="13900001111")
A3 = _m("a3", "王五", "U1", "U1二支部", "A社区", D(2024, 1, 1))
A4 = _m("a4", "欧阳娜娜", "U2", "U2甲支部", "B社区", D(2024, 5, 1))
A5 = _m("a5", "赵六", "U2", "U2乙支部", "A社区", D(2025, 4, 2))
A6 = _m("a6", "孙七", "U3", "U3支部", "A社区", D(2024, 1, 1))

COUNTY = {
    "communities": [{"community": "A社区", "households": 100}, {"community": "B社区", "households": 50}],
    "units": [
        {"unit": "U1", "paired_community": "A社区"},
        {"unit": "U2", "paired_community": "B社区"},
        {"unit": "U3", "paired_community": None},
        {"unit": "U4", "paired_community": "A社区"},
    ],
    "branches": [
        {"branch": "U1一支部", "unit": "U1", "members_on_roll": 3},
        {"branch": "U1二支部", "unit": "U1", "members_on_roll": 2},
        {"branch": "U2甲支部", "unit": "U2", "members_on_roll": 2},
        {"branch": "U2乙支部", "unit": "U2", "members_on_roll": None},
        {"branch": "U4支部", "unit": "U4", "members_on_roll": 4},
    ],
    "members": [A1, A2, A3, A4, A5, A6],
    "services": [
        _s("s1", D(2025, 1, 10), A1, "A社区", "日常服务", 2.0, 3, ["h1", "h2"], category="送政策"),
        _s("s2", D(2025, 2, 1), A1, "A社区", "红色服务日", 3.0, 2, ["h2", "h3"], "R1"),
        _s("s2b", D(2025, 2, 1), A1, "A社区", "红色服务日", 1.0, 0, [], "R1"),  # same activity: one 红色服务日
        _s("s3", D(2025, 2, 1), A2, "A社区", "红色服务日", 2.0, 1, ["h3"], "R1"),
        _s("s4", D(2025, 3, 5), A2, "B社区", "日常服务", 1.5, 1, ["h4"]),
        _s("s5", D(2024, 12, 20), A3, "A社区", "日常服务", 4.0, 2, ["h1"]),  # before the period
        _s("s6", D(2025, 1, 20), A4, "B社区", "日常服务", 5.0, 4, ["h4", "h5"]),
        _s("s7", D(2025, 1, 25), A4, "B社区", "红色服务日", 2.0, 1, ["h5"], "R2"),
        _s("s9", D(2025, 3, 18), A4, "B社区", "红色服务日", 1.0, 1, []),  # no 活动编号: one per day
        _s("s10", D(2025, 3, 18), A4, "B社区", "红色服务日", 0.5, 1, []),
        _s("s8", D(2025, 2, 10), A6, "A社区", "日常服务", 1.0, 1, ["h1"]),
    ],
    "wishes": [
        {"wish_id": "w1", "community": "A社区", "content": "修水管", "posted_on": D(2025, 1, 2),
         "claim_unit": "U1", "claim_branch": "U1一支部", "claimer": "张三明", "claim_member_id": "a1",
         "claimed_on": D(2025, 1, 5), "completed_on": D(2025, 2, 10), "status": "已办结", "satisfaction": 5.0},
        {"wish_id": "w2", "community": "A社区", "content": "送煤", "posted_on": D(2024, 11, 20),
         "claim_unit": "U1", "claim_branch": "U1一支部", "claimer": "张三明", "claim_member_id": "a1",
         "claimed_on": D(2024, 12, 1), "completed_on": D(2025, 1, 20), "status": "已办结", "satisfaction": 3.0},
        {"wish_id": "w3", "community": "B社区", "content": "理发", "posted_on": D(2025, 2, 20),
         "claim_unit": "U2", "claim_branch": "U2甲支部", "claimer": "欧阳娜娜", "claim_member_id": "a4",
         "claimed_on": D(2025, 3, 1), "status": "已认领"},
        {"wish_id": "w4", "community": "A社区", "content": "辅导功课", "posted_on": D(2025, 1, 25),
         "claim_unit": "U1", "claim_branch": "U1二支部", "claimer": "王五", "claim_member_id": "a3",
         "claimed_on": D(2025, 2, 1), "completed_on": D(2025, 4, 5), "status": "已办结", "satisfaction": 5.0},
    ],
}

SETTINGS = config.settings(config.DEMO_DIR)  # the defaults: the demo ships no config.toml
TH = scorecard.thresholds(SETTINGS)
RULES = scorecard.points_rules(SETTINGS)


@pytest.fixture
def county(tmp_path) -> Store:
    store = Store(write_store(tmp_path / "county", **COUNTY))
    yield store
    store.close()


def f(**dims) -> Filters:
    return Filters.make(*Q1_2025, **dims)


def rows(store, filters, rules, level, **restrict):
    """Every row of ``level`` of red_points.sql."""
    return scorecard.part(store.query("red_points", filters, **rules.query(level, **restrict)), "rows")


def units_card(store, filters=None, th=TH, rules=RULES, lang="zh"):
    filters = filters or f()
    median = scorecard.median_hours_per_member(store.query("unit_scorecard", scorecard.county_filters(filters)))
    return scorecard.unit_scorecard(store.query("unit_scorecard", filters),
                                    rows(store, filters, rules, "unit"),
                                    th, median, lang, filters.end).set_index("unit")


def points(store, level="member", filters=None, rules=RULES, **rule_changes):
    if rule_changes:
        rules = scorecard.PointsRules(**{**RULES.__dict__, **rule_changes})
    df = rows(store, filters or f(), rules, level)
    key = {"member": "member_id", "branch": "branch", "unit": "unit"}[level]
    return df.set_index(key)


# -- the unit scorecard, metric by metric -----------------------------------------------------

def test_one_row_per_unit_of_the_unit_list(county):
    card = units_card(county)
    assert sorted(card.index) == ["U1", "U2", "U3", "U4"]
    assert card.loc["U1", "branches"] == 2 and card.loc["U2", "branches"] == 2
    assert card.loc["U3", "branches"] == 0 and card.loc["U4", "branches"] == 1


def test_members_on_roll_and_reporting_rate(county):
    card = units_card(county)
    assert card.loc["U1", "members_on_roll"] == 5
    assert card.loc["U1", "reported"] == 3
    assert card.loc["U1", "reporting_rate"] == pytest.approx(0.6)
    # U2乙支部 gives no 党员人数: the unit's roll is unknown, so is its rate ("—", never 0)
    assert pd.isna(card.loc["U2", "members_on_roll"]) and pd.isna(card.loc["U2", "reporting_rate"])
    assert card.loc["U2", "reported"] == 1  # a5 reports after the period
    assert pd.isna(card.loc["U3", "members_on_roll"])  # not in the branch list
    assert card.loc["U4", "reported"] == 0 and card.loc["U4", "reporting_rate"] == 0.0


def test_reporting_rate_is_undefined_with_a_community_filter(county):
    card = units_card(county, f(communities=["A社区"]))
    assert card.loc["U1", "reported"] == 2  # a1, a3 reported to A社区
    assert card["reporting_rate"].isna().all()


def test_participation_hours_and_hours_per_member(county):
    card = units_card(county)
    assert card.loc["U1", "active"] == 2  # a3 served only in December
    assert card.loc["U1", "participation_rate"] == pytest.approx(2 / 3)
    assert card.loc["U1", "hours"] == pytest.approx(9.5)
    assert card.loc["U1", "hours_per_member"] == pytest.approx(9.5 / 3)
    assert card.loc["U1", "persons"] == 7
    assert card.loc["U2", "hours"] == pytest.approx(8.5) and card.loc["U2", "hours_per_member"] == pytest.approx(8.5)
    assert card.loc["U3", "hours_per_member"] == pytest.approx(1.0)
    assert card.loc["U4", "hours"] == 0
    assert pd.isna(card.loc["U4", "participation_rate"]) and pd.isna(card.loc["U4", "hours_per_member"])


def test_distinct_households_per_unit_are_not_additive(county):
    card = units_card(county)
    assert (card.loc["U1", "households"], card.loc["U2", "households"], card.loc["U3", "households"]) == (4, 2, 1)
    county_households = metrics.kpis(county, f())["current"]["households"]
    assert county_households == 5  # h1..h5; the per-unit figures add up to 7
    assert card["households"].sum() == 7


def test_wishes_paired_hours_points_and_rank(county):
    card = units_card(county)
    assert (card.loc["U1", "wishes_claimed"], card.loc["U1", "wishes_completed"]) == (2, 2)  # w1, w4 / w1, w2
    assert (card.loc["U2", "wishes_claimed"], card.loc["U2", "wishes_completed"]) == (1, 0)
    assert card.loc["U1", "paired_hours"] == pytest.approx(8.0)  # s4 was in B社区
    assert card.loc["U2", "paired_hours"] == pytest.approx(8.5)
    assert pd.isna(card.loc["U3", "paired_hours"])  # no 包联 community: "—"
    assert card.loc["U4", "paired_hours"] == 0
    assert card.loc["U1", "points"] == pytest.approx(42.5)
    assert card.loc["U2", "points"] == pytest.approx(18.5)
    assert card.loc["U4", "points"] == 0
    assert card.loc["U2", "rank"] == 1 and card.loc["U1", "rank"] == 2 and card.loc["U3", "rank"] == 3
    assert pd.isna(card.loc["U4", "rank"])


def test_unit_and_branch_filters_limit_the_rows(county):
    assert list(units_card(county, f(units=["U1"])).index) == ["U1"]
    card = units_card(county, f(branches=["U2乙支部"]))
    assert list(card.index) == ["U2"]
    assert card.loc["U2", "reported"] == 0 and pd.isna(card.loc["U2", "members_on_roll"])


def test_county_median_ignores_the_unit_filter(county):
    whole = scorecard.median_hours_per_member(county.query("unit_scorecard", f()))
    assert whole == pytest.approx(9.5 / 3)  # median of 9.5/3, 8.5 and 1.0
    one = county.query("unit_scorecard", scorecard.county_filters(f(units=["U2"])))
    assert scorecard.median_hours_per_member(one) == pytest.approx(whole)
    assert scorecard.median_hours_per_member(pd.DataFrame({"hours_per_member": [None]})) is None


# -- flags --------------------------------------------------------------------------------------

def test_each_threshold_flag(county):
    card = units_card(county)
    assert card.loc["U1", "reasons"] == "报到率60.0%，低于95%；参与率66.7%，低于70%"
    assert not card.loc["U2", "flagged"] and card.loc["U2", "reasons"] == ""
    assert card.loc["U3", "reasons"] == "人均时长1小时，不足全县中位数3.2小时的50%；2025年3月无服务记录"
    assert card.loc["U4", "reasons"] == "无党员报到；报到率0.0%，低于95%"
    assert list(card.index[card["flagged"]]) == ["U1", "U3", "U4"]


def test_thresholds_come_from_the_store_config(tmp_path):
    directory = write_store(tmp_path / "lenient", **COUNTY)
    (directory / "config.toml").write_text(
        "[thresholds]\nreporting_rate_min = 0.5\nparticipation_rate_min = 0.0\nno_service_latest_month = false\n",
        encoding="utf-8")
    th = scorecard.thresholds(config.settings(directory))
    assert th.reporting_rate_min == 0.5 and th.hours_vs_median_min == TH.hours_vs_median_min
    store = Store(directory)
    try:
        card = units_card(store, th=th)
    finally:
        store.close()
    assert not card.loc["U1", "flagged"]  # 60% ≥ 50%, participation switched off
    assert card.loc["U3", "reasons"] == "人均时长1小时，不足全县中位数3.2小时的50%"
    assert "2025年3月" not in scorecard.conditions_text(th, "zh", "2025年3月")


def test_bad_settings_are_refused():
    with pytest.raises(scorecard.SettingsError):
        scorecard.thresholds({"thresholds": {**SETTINGS["thresholds"], "reporting_rate_min": "95%"}})
    with pytest.raises(scorecard.SettingsError):
        scorecard.points_rules({"points": {**SETTINGS["points"], "per_hour": -1}})
    with pytest.raises(scorecard.SettingsError):
        scorecard.points_rules({"points": {**SETTINGS["points"], "red_day_form": ""}})


def test_flags_in_english(county):
    card = units_card(county, lang="en")
    assert card.loc["U3", "reasons"] == ("hours per member 1, under 50% of the median across the county (3.2); "
                                         "no service in Mar 2025")


# -- branches, members, masking -----------------------------------------------------------------

def branch_card(store, unit=None):
    filters = f()
    median = scorecard.median_hours_per_member(store.query("unit_scorecard", filters))
    return scorecard.branch_scorecard(store.query("branch_scorecard", filters, drill_unit=unit),
                                      rows(store, filters, RULES, "branch", unit=unit),
                                      TH, median, "zh", filters.end)


def test_branch_scorecard(county):
    card = branch_card(county, "U1").set_index("branch")
    assert list(card.index) == ["U1一支部", "U1二支部"]
    one, two = card.loc["U1一支部"], card.loc["U1二支部"]
    assert (one["members_on_roll"], one["reported"], one["active"]) == (3, 2, 2)
    assert one["reporting_rate"] == pytest.approx(2 / 3) and one["hours"] == pytest.approx(9.5)
    assert one["households"] == 4 and one["points"] == pytest.approx(42.5)
    assert one["points_per_member"] == pytest.approx(21.25)
    assert (two["reported"], two["active"], two["hours"], two["participation_rate"]) == (1, 0, 0, 0)
    assert two["reasons"] == ("报到率50.0%，低于95%；参与率0.0%，低于70%；人均时长0小时，不足全县中位数3.2小时的50%；"
                              "2025年3月无服务记录")
    everything = branch_card(county).set_index("branch")
    assert everything.loc["U2乙支部", "reasons"] == "无党员报到"
    assert pd.isna(everything.loc["U2乙支部", "reporting_rate"])


def test_branches_sort_by_their_ordinal():
    df = pd.DataFrame({"branch": ["X第十党支部", "X第二党支部", "X第十一党支部", "X第一党支部"], "unit": ["X"] * 4,
                       "reported": [1] * 4, "latest_month_records": [1] * 4})
    out = scorecard.branch_scorecard(df, pd.DataFrame(), TH, None, "zh", D(2025, 3, 31))
    assert list(out["branch"]) == ["X第一党支部", "X第二党支部", "X第十党支部", "X第十一党支部"]


def member_rows(store, branch, scope):
    filters = f()
    return scorecard.member_list(store.query("member_list", filters, drill_branch=branch),
                                 rows(store, filters, RULES, "member", branch=branch), scope)


def test_member_list(county):
    rows = member_rows(county, "U1一支部", Scope()).set_index("member_id")
    assert list(rows.index) == ["a1", "a2"]
    assert (rows.loc["a1", "records"], rows.loc["a1", "hours"], rows.loc["a1", "households"]) == (3, 6.0, 3)
    assert rows.loc["a1", "wishes_completed"] == 2 and rows.loc["a1", "points"] == pytest.approx(34)
    assert str(rows.loc["a2", "last_service"])[:10] == "2025-03-05"
    assert rows.loc["a1", "name"] == "张三明" and rows.loc["a1", "phone"] == "13812345678"


def test_member_list_is_masked_when_names_may_not_be_shown(county):
    rows = member_rows(county, "U1一支部", Scope(show_names=False))
    assert list(rows["name"]) == ["张*明", "李*"]
    assert list(rows["phone"]) == ["138****5678", "139****1111"]
    assert "member_id" not in rows.columns
    text = rows.to_csv()
    assert "张三明" not in text and "13812345678" not in text


# -- 未参与党员 ----------------------------------------------------------------------------------

def test_inactive_members(county):
    df = county.query("inactive_members", f())
    assert list(df["member_id"]) == ["a3"]  # reported, last served in December
    assert str(df.iloc[0]["last_service"])[:10] == "2024-12-20"
    by_form = county.query("inactive_members", f(forms=["红色服务日"]))
    assert sorted(by_form["member_id"]) == ["a3", "a6"]
    by_branch = scorecard.inactive_by_branch(by_form, county.query("branch_scorecard", f(), drill_unit=None))
    rows = by_branch.set_index("branch")
    assert rows.loc["U1二支部", "inactive"] == 1 and rows.loc["U1二支部", "share"] == pytest.approx(1.0)
    assert pd.isna(rows.loc["U3支部", "share"])  # not in the branch list: share unknown


def test_inactive_excel_is_masked(county):
    rows = scorecard.inactive_list(county.query("inactive_members", f()), Scope(show_names=False))
    data = export.to_excel(rows, "未参与党员名单", f(), "zh", {"unit": "单位", "name": "姓名", "phone": "联系电话"})
    cells = [c for row in openpyxl.load_workbook(io.BytesIO(data)).active.values for c in row if c]
    assert "王*" in cells and "138****5678" in cells
    assert "王五" not in cells and "13812345678" not in cells


# -- 红色积分 ------------------------------------------------------------------------------------

def test_points_by_the_default_rules(county):
    p = points(county)
    # a1: Jan 2 h + w2 completed (rated 3: no bonus) 10 = 12; Feb 4 h + R1 once 5 + w1 10 + good rating 3 = 22
    assert p.loc["a1", "points"] == pytest.approx(34) and p.loc["a1", "red_days"] == 1
    assert p.loc["a2", "points"] == pytest.approx(8.5)
    assert p.loc["a3", "points"] == 0  # reported, nothing in the period
    # a4: Jan 7 h + R2 5 = 12; Mar 1.5 h + one 红色服务日 without a code (two records, one day) 5 = 6.5
    assert p.loc["a4", "points"] == pytest.approx(18.5) and p.loc["a4", "red_days"] == 2
    assert "a5" not in p.index  # reported after the period
    assert p.loc["a1", "members"] == 1 and p.loc["a1", "name"] == "张三明"


@pytest.mark.parametrize("change, a1", [
    ({"per_hour": 2.0}, 40.0),  # Jan 4 + 10, Feb 8 + 5 + 13
    ({"per_red_day": 0.0}, 29.0),
    ({"per_wish": 0.0}, 14.0),  # 2 + 4 + 5 + 3
    ({"good_rating_min": 3.0}, 37.0),  # w2 (rated 3) now earns the bonus too
    ({"per_good_rating": 10.0}, 41.0),
])
def test_changing_a_rule_changes_the_points(county, change, a1):
    assert points(county, **change).loc["a1", "points"] == pytest.approx(a1)


def test_monthly_caps(county):
    capped = points(county, max_points_per_month=15.0)
    assert capped.loc["a1", "points"] == pytest.approx(27)  # Jan 12, Feb 22 → 15
    assert capped.loc["a1", "points_raw"] == pytest.approx(34)
    assert capped.loc["a4", "points"] == pytest.approx(18.5)  # 12 and 6.5: under the cap
    hours = points(county, max_hours_per_month=3.0)
    assert hours.loc["a1", "points"] == pytest.approx(33)  # Feb: 4 hours count as 3
    assert hours.loc["a4", "points"] == pytest.approx(14.5)  # Jan: 7 hours count as 3
    board = scorecard.leaderboard(hours.reset_index(), "member", Scope()).set_index("member_id")
    assert board.loc["a1", "capped"] == pytest.approx(1) and board.loc["a4", "capped"] == pytest.approx(4)


def test_no_cap_when_zero(county):
    assert points(county, max_hours_per_month=0.0, max_points_per_month=0.0).loc["a1", "points"] == pytest.approx(34)


def test_points_roll_up_to_branches_and_units(county):
    branches = points(county, "branch")
    assert branches.loc["U1一支部", "points"] == pytest.approx(42.5) and branches.loc["U1一支部", "members"] == 2
    assert branches.loc["U1二支部", "points"] == 0 and branches.loc["U1二支部", "members"] == 1
    units = points(county, "unit")
    assert units.loc["U1", "points"] == pytest.approx(42.5)
    assert units.loc["U1", "points_per_member"] == pytest.approx(42.5 / 3)
    assert units["points"].sum() == pytest.approx(points(county)["points"].sum())


def test_leaderboard_windows_and_ranking(county):
    windows = scorecard.points_windows(D(2025, 3, 31), "zh")
    assert [w.label for w in windows.values()] == ["2025年3月", "2025年", "累计"]
    assert windows["month"].start == D(2025, 3, 1) and windows["year"].start == D(2025, 1, 1)
    month = f().with_period(windows["month"].start, windows["month"].end)
    ranked = county.query("red_points", month, **RULES.query(None, board="member"))
    board = scorecard.leaderboard(scorecard.part(ranked, "board"),
                                  "member", Scope(show_names=False))
    assert list(board["name"][:2]) == ["欧阳*娜", "李*"]  # March: 6.5 and 1.5 points
    assert list(board["rank"][:2]) == [1, 2] and "member_id" not in board
    everything = f().with_period(windows["all"].start, windows["all"].end)
    p = points(county, filters=everything)
    assert p.loc["a3", "points"] == pytest.approx(4)  # December 2024 counts all time
    units = scorecard.leaderboard(points(county, "unit").reset_index(), "unit", Scope())
    assert list(units["unit"]) == ["U2", "U1", "U3"]  # by points per member: 18.5, 14.17, 1


def test_rules_in_force_are_written_from_the_config():
    lines = RULES.lines("zh")
    assert lines[0] == "志愿服务每小时积1分（每人每月最多计16小时）"
    assert lines[-1] == "每人每月积分不超过40分"
    other = scorecard.PointsRules(**{**RULES.__dict__, "per_hour": 2.5, "max_points_per_month": 0.0})
    assert other.lines("zh")[0].startswith("志愿服务每小时积2.5分")
    assert other.lines("zh")[-1] == "每月积分不设上限"
    assert set(RULES.params()) == {"points_per_hour", "max_hours_per_month", "points_per_red_day", "red_day_form",
                                   "points_per_wish", "points_per_good_rating", "good_rating_min",
                                   "max_points_per_month"}


# -- the chart ----------------------------------------------------------------------------------

def test_chart_has_a_bar_per_unit_and_the_median_line(county):
    card = units_card(county).reset_index()
    median = scorecard.median_hours_per_member(card)
    fig = charts.hours_per_member(card, median, "zh", "各单位人均服务时长")
    bar = fig.data[0]
    assert list(bar.y) == ["U3", "U1", "U2"]  # U4 has no members: no bar; highest on top
    assert fig.layout.shapes[0].x0 == pytest.approx(median)
    assert "3.2" in fig.layout.annotations[0].text
    assert list(bar.marker.color) == [charts.RED_LIGHT, charts.RED, charts.RED]


def test_chart_of_many_units_draws_the_highest_and_the_lowest(county):
    card = units_card(county).reset_index()
    median = scorecard.median_hours_per_member(card)
    assert charts.hours_per_member_hidden(card, 2) == 1 and charts.hours_per_member_hidden(card, 3) == 0
    assert charts.hours_per_member_hidden(card, None) == 0
    fig = charts.hours_per_member(card, median, "zh", None, limit=2)
    bar = fig.data[0]
    assert list(bar.y) == ["U3", "……（中间1个单位未画出）……", "U2"]  # the lowest at the bottom
    assert bar.x[1] is None and bar.x[0] < bar.x[2]
    english = charts.hours_per_member(card, median, "en", None, limit=2).data[0]
    assert english.y[1] == "… 1 more units in between …"
    assert list(charts.hours_per_member(card, median, "zh", None, limit=3).data[0].y) == ["U3", "U1", "U2"]


def test_chart_tab_of_a_city_draws_the_ends_and_says_so(monkeypatch):
    monkeypatch.setattr(charts, "HOURS_CHART_UNITS", 40)
    at = run_app(page="app_pages/units.py")
    at.session_state["units_tab"] = "人均服务时长"
    at.run()
    assert not at.exception
    bar = at.get("plotly_chart")[0].proto.spec
    assert "……（中间" in bar and "个单位未画出）……" in bar
    assert any("共" in c.value and "个单位，图中只画人均时长最高和最低的各20个" in c.value for c in at.caption)


# -- the page -----------------------------------------------------------------------------------

def test_page_renders_the_scorecard_for_the_demo():
    at = run_app(page="app_pages/units.py")
    assert not at.exception
    card = at.dataframe[0].value
    assert len(card) == 100 and {"unit", "reporting_rate", "reasons", "points"} <= set(card.columns)
    shown = metrics_by_label(at)
    assert shown["单位数"][0] == "100个"
    # the chart, the drill-down, the inactive members and the leaderboard run only while their tab is open
    assert [t.label for t in at.tabs] == ["单位评分表", "人均服务时长", "逐级查看", "未参与党员", "红色积分"]
    assert len(at.dataframe) == 1 and not any("志愿服务每小时积" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 0
    at.session_state["units_tab"] = "人均服务时长"
    at.run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    assert "未画出" not in at.get("plotly_chart")[0].proto.spec  # a county's 100 units: all drawn
    at.session_state["units_tab"] = "未参与党员"
    at.run()
    assert not at.exception and len(at.dataframe[-1].value) == int(shown["未参与党员"][0].removesuffix("人"))
    at.session_state["units_tab"] = "红色积分"
    at.run()
    assert not at.exception and any("志愿服务每小时积" in m.value for m in at.markdown)
    board = at.dataframe[-1].value
    assert 100 <= len(board) < 200 and list(board["rank"][:1]) == [1] and (board["points"] > 0).all()
    assert any(c.value.startswith("显示排名前100的") and "名党员（共" in c.value for c in at.caption)
    at.session_state["units_tab"] = "逐级查看"
    at.run()
    assert not at.exception
    branches, members = at.dataframe[1].value, at.dataframe[2].value
    assert len(branches) >= 1 and len(members) >= 1 and {"name", "points"} <= set(members.columns)


def test_unit_filter_in_the_url_limits_the_scorecard():
    at = run_app({"unit": "县住建局"}, page="app_pages/units.py")
    assert not at.exception
    card = at.dataframe[0].value
    assert list(card["unit"]) == ["县住建局"]
    assert metrics_by_label(at)["单位数"][0] == "1个"


def test_page_on_the_fixture_county(tmp_path, monkeypatch):
    at = run_app({"period": "custom", "start": "2025-01-01", "end": "2025-03-31"}, page="app_pages/units.py",
                 data_dir=write_store(tmp_path / "county", **COUNTY), monkeypatch=monkeypatch)
    assert not at.exception
    shown = metrics_by_label(at)
    assert shown["预警单位"][0] == "3个" and shown["未参与党员"][0] == "1人"
    assert shown["报到率"][0] == "33.3%"  # (3 + 0) ÷ (5 + 4) over the units whose roll is known
    card = at.dataframe[0].value.set_index("unit")
    assert card.loc["U1", "reporting_rate"] == pytest.approx(60.0)  # shown as a percentage
    assert pd.isna(card.loc["U2", "reporting_rate"])


def test_page_in_english():
    at = run_app({"lang": "en", "unit": "县住建局"}, page="app_pages/units.py")
    assert not at.exception
    assert metrics_by_label(at)["Work units"][0] == "1"


def test_the_median_line_and_the_bars_use_the_tiles_rounding():
    import pandas as pd

    from redservice.charts import RED, RED_LIGHT

    df = pd.DataFrame({"unit": ["甲", "乙", "丙"], "hours_per_member": [5.25, 5.2, 5.249999],
                       "hours": [21.0, 10.4, 5.249999], "reported": [4, 2, 1]})
    fig = charts.hours_per_member(df, 5.25, "zh", "t")
    assert "全县中位数 5.3" in fig.layout.annotations[0].text  # the tile writes fmt.number(5.25, 1) = 5.3
    bars = dict(zip(fig.data[0].y, zip(fig.data[0].text, fig.data[0].marker.color)))
    assert bars["甲"] == ("5.3", RED) and bars["丙"] == ("5.2", RED_LIGHT) and bars["乙"] == ("5.2", RED_LIGHT)


def test_the_open_tab_is_in_the_url_as_a_code_in_either_language():
    at = run_app({"tab": "chart"}, page="app_pages/units.py")
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1  # the chart tab ran: it is the open one
    assert at.query_params["tab"] == "chart"
    en = run_app({"tab": "chart", "lang": "en"}, page="app_pages/units.py")
    assert len(en.get("plotly_chart")) == 1 and en.query_params["tab"] == "chart"
    at.session_state["units_tab"] = "红色积分"
    at.run()
    assert at.query_params["tab"] == "points"
    at.session_state["units_tab"] = "单位评分表"
    at.run()
    assert "tab" not in at.query_params  # the default tab is left out of the URL


def _reasons_row_by_row(row, th, median, lang, month_label, area):
    """The reasons of one row as the scorecard first wrote them, one row at a time: the reference
    for scorecard.add_flags, which works on whole columns."""
    from redservice import fmt
    from redservice.i18n import t

    where = area or t("level.county", lang)
    reasons = []
    reported = row.get("reported", 0) or 0
    if th.no_members and reported == 0:
        reasons.append(t("units.flag.no_members", lang))
    for name, key, minimum in (("reporting_rate", "units.flag.reporting", th.reporting_rate_min),
                               ("participation_rate", "units.flag.participation", th.participation_rate_min)):
        rate = row.get(name)
        if minimum > 0 and not fmt.missing(rate) and rate < minimum:
            reasons.append(t(key, lang, value=fmt.percent(rate, lang), min=fmt.percent(minimum, lang, trim=True)))
    hpm = row.get("hours_per_member")
    if (th.hours_vs_median_min > 0 and median is not None and median > 0 and not fmt.missing(hpm)
            and hpm < th.hours_vs_median_min * median):
        reasons.append(t("units.flag.hours", lang, value=fmt.number(hpm, lang, 1), area=where,
                         share=fmt.percent(th.hours_vs_median_min, lang, trim=True), median=fmt.number(median, lang, 1)))
    if th.no_service_latest_month and reported > 0 and (row.get("latest_month_records") or 0) == 0:
        reasons.append(t("units.flag.no_service_month", lang, month=month_label))
    return reasons


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_flags_on_whole_columns_equal_the_row_by_row_reasons(lang):
    import numpy as np

    from redservice import fmt

    rng = np.random.default_rng(7)
    n = 3000
    roll = rng.integers(1, 40, n)
    reported = np.minimum(roll, rng.integers(0, 45, n))
    df = pd.DataFrame({
        "unit": [f"单位{i}" for i in range(n)], "reported": reported,
        "reporting_rate": np.where(rng.random(n) < 0.1, np.nan, reported / roll),
        "participation_rate": np.where(reported > 0, np.minimum(reported, rng.integers(0, 40, n)) / np.maximum(reported, 1), np.nan),
        "hours_per_member": np.where(reported > 0, rng.integers(0, 400, n) / 2 / np.maximum(reported, 1), np.nan),
        "latest_month_records": rng.integers(0, 3, n)})
    end = dt.date(2025, 3, 31)
    for th, median, area in ((scorecard.Thresholds(0.95, 0.7, 0.5, True, True), 5.2, None),
                             (scorecard.Thresholds(0.95, 0, 0.5, False, True), 4.25, "全市"),
                             (scorecard.Thresholds(0, 0.7, 0.5, True, False), None, "夏县"),
                             (scorecard.Thresholds(0, 0, 0, False, False), 5.0, None)):
        got = scorecard.add_flags(df, th, median, lang, end, area)
        sep = "；" if lang == "zh" else "; "
        want = [sep.join(_reasons_row_by_row(r, th, median, lang, fmt.month(end, lang), area))
                for r in df.to_dict("records")]
        assert got["reasons"].tolist() == want
        assert got["flagged"].tolist() == [bool(w) for w in want]
    assert scorecard.add_flags(df.iloc[:0], th, median, lang, end)["reasons"].tolist() == []


def test_rates_for_display_equal_rounding_each_cell():
    """scorecard.as_percent (each distinct rate rounded once, on whole columns) equals rounding every
    cell half up with Decimal, as the first version did; undefined rates stay empty."""
    from decimal import ROUND_HALF_UP, Decimal

    import numpy as np

    rng = np.random.default_rng(3)
    n = 5000
    rates = np.array([round(float(v), int(d)) for v, d in zip(rng.random(n), rng.integers(1, 6, n))])
    rates[rng.random(n) < 0.1] = np.nan
    rates[:4] = [0.00005, 0.22049, 0.2205, 1.0]
    df = pd.DataFrame({"unit": [f"单位{i}" for i in range(n)], "reporting_rate": rates,
                       "share": rng.integers(0, 7, n) / 7, "hours": rng.random(n)})
    shown = scorecard.as_percent(df)
    for col in ("reporting_rate", "share"):
        want = [np.nan if np.isnan(v) else float(Decimal(repr(float(v) * 100)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
                for v in df[col]]
        assert np.array_equal(shown[col].to_numpy(), np.array(want), equal_nan=True), col
    assert shown["hours"].equals(df["hours"]) and shown["reporting_rate"].dtype == float
