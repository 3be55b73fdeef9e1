"""单位与支部 in fewer queries: the figures one query now gives for another are the same figures.

The page no longer asks for every branch's scorecard to learn how many members each branch has
reported (未参与党员 per branch): ``inactive_members.sql`` carries that count, counted the way
``branch_scorecard.sql`` counts it. Checked on the hand-checked county of tests/test_units.py,
under filters and scopes that change the answers.
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
