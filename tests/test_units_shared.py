"""单位与支部 in fewer queries: the figures one query now gives for another are the same figures.

- The headline count of 未参与党员 (``inactive_count.sql``) is the length of their list.
- The page no longer asks for every branch's scorecard to learn how many members each branch has
  reported (未参与党员 per branch): ``inactive_members.sql`` carries that count, counted the way
  ``branch_scorecard.sql`` counts it.
- 红色积分 are asked for the rows a table shows: one unit's branches and one branch's members are
  their rows of the whole roster; the leaderboard's top (asked alone, or with every unit's rows
  in the same query) is the head of the whole ranking, ties included; branches and units sum
  their members.

Checked on the hand-checked county of tests/test_units.py, under filters, scopes and points rules
that change the answers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from redservice import scorecard
from redservice.filters import Scope
from redservice.store import Store
from conftest import write_store
from test_units import COUNTY, f

FILTERS = [
    {},
    {"forms": ["红色服务日"]},
    {"units": ["U1"]},
    {"branches": ["U1二支部", "U2甲支部"]},
    {"communities": ["B社区"]},
    {"categories": ["送政策"]},
]
SCOPES = [Scope(), Scope(units=("U1",), show_names=False), Scope(communities=("A社区",), show_names=False)]


@pytest.fixture
def county(tmp_path) -> Store:
    store = Store(write_store(tmp_path / "county", **COUNTY))
    yield store
    store.close()


@pytest.mark.parametrize("dims", FILTERS)
@pytest.mark.parametrize("scope", SCOPES)
def test_inactive_by_branch_from_the_inactive_list_equals_the_branch_scorecards(county, dims, scope):
    filters = f(**dims)
    inactive = scorecard.inactive_list(county.query("inactive_members", filters, scope), scope)
    branches = county.query("branch_scorecard", filters, scope, drill_unit=None)
    pd.testing.assert_frame_equal(scorecard.inactive_by_branch(inactive),
                                  scorecard.inactive_by_branch(inactive, branches))


@pytest.mark.parametrize("dims", FILTERS)
@pytest.mark.parametrize("scope", SCOPES)
def test_the_headline_count_of_inactive_members_is_the_length_of_their_list(county, dims, scope):
    count = county.query("inactive_count", f(**dims), scope).iloc[0]["inactive"]
    assert count == len(county.query("inactive_members", f(**dims), scope))


def test_branch_reported_by_hand(county):
    # 红色服务日 only: a3 (U1二支部, the only member reported there) and a6 (U3支部, a branch the
    # branch list does not have) attended none
    rows = county.query("inactive_members", f(forms=["红色服务日"])).set_index("member_id")
    assert rows.loc["a3", "branch_reported"] == 1
    assert pd.isna(rows.loc["a6", "branch_reported"])
    by_branch = scorecard.inactive_by_branch(rows.reset_index()).set_index("branch")
    assert by_branch.loc["U1二支部", "reported"] == 1 and by_branch.loc["U1二支部", "share"] == pytest.approx(1.0)
    assert pd.isna(by_branch.loc["U3支部", "share"])
    # 送政策 only: a1 served, a2 did not; U1一支部's count is the branch's two members, not the row's one
    policy = county.query("inactive_members", f(categories=["送政策"])).set_index("member_id")
    assert "a1" not in policy.index and policy.loc["a2", "branch_reported"] == 2


# -- 红色积分: only the rows a table shows --------------------------------------------------------

RULES = scorecard.points_rules({"points": {
    "per_hour": 1.0, "max_hours_per_month": 16.0, "per_red_day": 5.0, "red_day_form": "红色服务日",
    "per_wish": 10.0, "per_good_rating": 3.0, "good_rating_min": 4.0, "max_points_per_month": 40.0}})
TIGHT = scorecard.PointsRules(**{**RULES.__dict__, "max_hours_per_month": 2.5, "max_points_per_month": 9.0,
                                 "per_hour": 1.5, "good_rating_min": 5.0})


POINTS = ["members", "hours", "red_days", "wishes", "good_ratings", "points_raw", "points", "points_per_member"]


def rows(county, filters, scope, rules, level, **restrict):
    return scorecard.part(county.query("red_points", filters, scope, **rules.query(level, **restrict)), "rows")


@pytest.mark.parametrize("dims", FILTERS)
@pytest.mark.parametrize("rules", [RULES, TIGHT], ids=["default", "tight caps"])
@pytest.mark.parametrize("scope", SCOPES[:2])
def test_the_rows_of_one_unit_or_branch_are_those_of_the_whole_roster(county, dims, rules, scope):
    # a member's points do not depend on the others': asking for one unit's branches or one branch's
    # members gives their rows of the whole roster (ranked among themselves)
    filters = f(**dims)
    branches = rows(county, filters, scope, rules, "branch")
    members = rows(county, filters, scope, rules, "member")
    assert len(branches) and len(members)
    for unit in sorted(branches["unit"].unique()):
        alone = rows(county, filters, scope, rules, "branch", unit=unit)
        whole = branches[branches["unit"] == unit]
        pd.testing.assert_frame_equal(alone.set_index("branch")[POINTS].sort_index(),
                                      whole.set_index("branch")[POINTS].sort_index())
    for branch in sorted(members["branch"].dropna().unique()):
        alone = rows(county, filters, scope, rules, "member", branch=branch)
        whole = members[members["branch"] == branch]
        pd.testing.assert_frame_equal(alone.set_index("member_id")[POINTS].sort_index(),
                                      whole.set_index("member_id")[POINTS].sort_index())
        assert sorted(alone["rank"]) == sorted(whole["points"].rank(method="min", ascending=False).astype(int))


@pytest.mark.parametrize("level", scorecard.LEVELS)
@pytest.mark.parametrize("rules", [RULES, TIGHT], ids=["default", "tight caps"])
@pytest.mark.parametrize("dims", FILTERS[:3])
def test_the_leaderboard_is_the_head_of_the_whole_ranking_with_or_without_the_units(county, level, rules, dims):
    whole = rows(county, f(**dims), Scope(), rules, level)
    score = whole["points"] if level == "member" else whole["points_per_member"]
    assert list(whole["rank"]) == list(score.rank(method="min", ascending=False).astype(int))
    assert list(score) == sorted(score, reverse=True)
    assert set(whole["ranked"]) == {len(whole)}
    units = rows(county, f(**dims), Scope(), rules, "unit")
    for top in [*range(1, len(whole) + 1), None]:
        # rows without points are not on the board; ranked still counts every row of the level
        head = whole[(whole["rank"] <= (top or len(whole))) & (score > 0)].reset_index(drop=True)
        alone = county.query("red_points", f(**dims), **rules.query(None, board=level, top=top))
        both = county.query("red_points", f(**dims), **rules.query("unit", board=level, top=top))
        assert set(alone["part"]) == {"board"} and set(both["part"]) == {"rows", "board"}
        pd.testing.assert_frame_equal(scorecard.part(alone, "board"), head)
        pd.testing.assert_frame_equal(scorecard.part(both, "board"), head)
        pd.testing.assert_frame_equal(scorecard.part(both, "rows"), units)
        assert len(head) >= min(top or 0, int((score > 0).sum()))  # ties at the cut are all shown


def test_branch_and_unit_points_are_their_members_sums(county):
    members = rows(county, f(), Scope(), TIGHT, "member")
    for level, keys in (("branch", ["unit", "branch"]), ("unit", ["unit"])):
        rolled = rows(county, f(), Scope(), TIGHT, level).set_index(keys)
        sums = members.groupby(keys, dropna=False)[["members", "points", "points_raw", "red_days"]].sum()
        assert sorted(rolled.index) == sorted(sums.index)
        for column in sums.columns:
            assert rolled.loc[sums.index, column].tolist() == pytest.approx(sums[column].tolist())
    # capped months: a1 earns 13 in January and 21.75 in February under these rules, 9 each at most
    assert members.set_index("member_id").loc["a1", "points"] == pytest.approx(18)


def test_an_unknown_level_or_part_is_refused():
    with pytest.raises(ValueError):
        RULES.query("county")
    with pytest.raises(ValueError):
        RULES.query("unit", board="county")
    with pytest.raises(ValueError):
        scorecard.part(pd.DataFrame({"part": [], "level": []}), "all")
    with pytest.raises(ValueError):
        scorecard.leaderboard(pd.DataFrame(), "county", Scope())


def test_reasons_are_coloured_unless_the_table_is_too_big_to_style():
    import pandas as pd

    from redservice import scorecard

    small = pd.DataFrame({"unit": ["U1", "U2"], "reasons": ["参与率低", ""]})
    styled = scorecard.with_reasons_in_red(small, "#c00")
    assert isinstance(styled, pd.io.formats.style.Styler)
    assert "color: #c00" in styled.to_html()
    # a city: 1,200 units x 17 columns is over the cap of coloured cells: shown plain, not slow
    from redservice import fmt

    big = pd.DataFrame({f"c{i}": range(1200) for i in range(16)} | {"reasons": ["x"] * 1200})
    assert big.size > fmt.STYLED_CELLS_MAX
    assert scorecard.with_reasons_in_red(big, "#c00") is big
    assert scorecard.with_reasons_in_red(small.drop(columns="reasons"), "#c00").equals(small.drop(columns="reasons"))
