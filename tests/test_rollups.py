"""The rollups and first occurrences of the serving copy never change an answer: 红色积分 from the
member-month rollup and households per unit counted by first occurrence are the figures the records
themselves give (``Store(rollups=False)``), for periods that start and end anywhere in a month, on
records made to be hard: activities running over several months, several records of one activity on
a day, members over both monthly caps, wishes completed in months without records. And the rollup is
really read where it may be (whole months, nothing narrowing the records), and nowhere else."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import duckdb
import pandas as pd
import pytest

from conftest import write_store
from redservice import assess, config, scorecard, serving
from redservice.filters import Filters
from redservice.store import Store

D = dt.date
RULES = scorecard.points_rules(config.settings(config.DEMO_DIR))
FORMS = ["红色服务日", "日常服务", "六送三请"]


def _records(seed: int = 7) -> dict:
    rng = random.Random(seed)
    units = ["U1", "U2", "U3"]
    branches = [(f"{u}支部{i}", u) for u in units for i in (1, 2)]
    members = []
    for i in range(14):
        branch, unit = branches[i % len(branches)]
        members.append({"member_id": f"m{i:02d}", "name": f"党员{i}", "unit": unit, "branch": branch,
                        "community": rng.choice(["A社区", "B社区"]),
                        "reported_on": D(2024, 10, 1) + dt.timedelta(days=rng.randrange(200)),
                        "gender": "女", "phone": "13800001234"})
    services = []
    day0 = D(2024, 11, 20)
    for n in range(420):
        m = rng.choice(members[:12])  # m12, m13: on the roster, never serve
        form = rng.choice(FORMS)
        day = day0 + dt.timedelta(days=rng.randrange(180))
        activity = None
        if form == "红色服务日" and rng.random() < 0.7:
            # a few activities, some of them running over several months
            activity = rng.choice(["R1", "R2", "R3", f"R{m['member_id']}"])
        elif form == "六送三请" and rng.random() < 0.5:
            activity = rng.choice(["L1", "L2"])
        services.append({
            "record_id": f"s{n:04d}", "date": day, "member_id": m["member_id"], "name": m["name"],
            "unit": m["unit"] if rng.random() < 0.9 else rng.choice(units),  # served for another unit
            "branch": m["branch"], "community": rng.choice(["A社区", "B社区", "C社区"]),
            "category": rng.choice(["义诊", "送政策"]), "form": form, "activity_id": activity,
            "hours": rng.choice([0.5, 1.0, 2.0, 4.0, 9.0]), "persons": rng.randrange(1, 5),
            "households": rng.sample([f"h{k}" for k in range(40)], rng.randrange(0, 3))})
    # several records of one activity on one day, and of one day without an activity
    for k, (aid, day) in enumerate([("R1", D(2025, 1, 31)), ("R1", D(2025, 1, 31)), (None, D(2025, 2, 14)),
                                    (None, D(2025, 2, 14)), ("R2", D(2025, 3, 1)), ("R2", D(2025, 2, 28))]):
        services.append({**services[0], "record_id": f"x{k}", "member_id": "m00", "name": "党员0",
                         "unit": "U1", "branch": "U1支部1", "date": day, "form": "红色服务日",
                         "activity_id": aid, "households": ["h1"]})
    wishes = []
    for n in range(60):
        m = rng.choice(members)
        done = day0 + dt.timedelta(days=rng.randrange(180))
        wishes.append({"wish_id": f"w{n:03d}", "community": "A社区", "content": "修水管",
                       "posted_on": done - dt.timedelta(days=5), "claim_unit": m["unit"],
                       "claim_branch": m["branch"], "claim_member_id": m["member_id"], "claimer": m["name"],
                       "claimed_on": done - dt.timedelta(days=3), "completed_on": done, "status": "已办结",
                       "satisfaction": float(rng.choice([3, 4, 5]))})
    return {"units": [{"unit": u, "paired_community": "A社区"} for u in units],
            "branches": [{"branch": b, "unit": u, "members_on_roll": 3} for b, u in branches],
            "communities": [{"community": c, "households": 100} for c in ("A社区", "B社区", "C社区")],
            "members": members, "services": services, "wishes": wishes}


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    directory = write_store(tmp_path_factory.mktemp("rollups") / "store", **_records())
    serving.refresh(directory)
    with_rollups, records = Store(directory), Store(directory, rollups=False)
    assert with_rollups.mode == records.mode == "file"
    yield directory, with_rollups, records
    with_rollups.close()
    records.close()


# periods starting and ending on a month's first day, its last, and inside it
BOUNDS = [D(2024, 12, 1), D(2024, 12, 17), D(2025, 1, 1), D(2025, 1, 31), D(2025, 2, 1), D(2025, 2, 28),
          D(2025, 3, 15), D(2025, 3, 31), D(2025, 5, 1)]
PERIODS = [(a, b) for a, b in itertools.combinations_with_replacement(BOUNDS, 2)]


def _same(a: pd.DataFrame, b: pd.DataFrame, what) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=False,
                                  obj=str(what))


@pytest.mark.parametrize("level", ["member", "branch", "unit"])
def test_red_points_from_the_rollup_are_those_of_the_records(hard, level):
    _, rolled, records = hard
    strict = scorecard.PointsRules(**{**RULES.__dict__, "max_hours_per_month": 6.0, "max_points_per_month": 25.0})
    for start, end in PERIODS:
        f = Filters.make(start, end)
        for rules in (RULES, strict):
            q = rules.query(level, board="member", top=5)
            _same(rolled.query("red_points", f, **q), records.query("red_points", f, **q), (level, start, end))


def test_red_points_under_filters_and_restrictions_are_those_of_the_records(hard):
    _, rolled, records = hard
    for start, end in PERIODS[::4]:
        for dims in ({"units": ("U1",)}, {"communities": ("A社区",)}, {"forms": ("红色服务日",)}):
            f = Filters.make(start, end, **dims)
            q = RULES.query("member")
            _same(rolled.query("red_points", f, **q), records.query("red_points", f, **q), (dims, start, end))
        f = Filters.make(start, end)
        for q in (RULES.query("branch", unit="U2"), RULES.query("member", branch="U1支部1")):
            _same(rolled.query("red_points", f, **q), records.query("red_points", f, **q), (q, start, end))


def test_another_red_day_form_reads_the_records(hard):
    _, rolled, records = hard
    other = scorecard.PointsRules(**{**RULES.__dict__, "red_day_form": "六送三请"})
    for start, end in PERIODS[::3]:
        f = Filters.make(start, end)
        _same(rolled.query("red_points", f, **other.query("unit")),
              records.query("red_points", f, **other.query("unit")), (start, end))


def test_households_per_unit_by_first_occurrence_are_those_of_the_records(hard):
    _, rolled, records = hard
    for start, end in PERIODS:
        for dims in ({}, {"units": ("U2",)}, {"communities": ("B社区",)}, {"categories": ("义诊",)}):
            f = Filters.make(start, end, **dims)
            _same(rolled.query("unit_scorecard", f), records.query("unit_scorecard", f), (dims, start, end))


def _tampered(directory, tmp_path, sql):
    """A copy of the store whose serving file was changed by ``sql`` (still fresh: same records)."""
    import shutil

    copy = shutil.copytree(directory, tmp_path / "copy")
    with duckdb.connect(str(serving.path(copy))) as con:
        con.execute(sql)
    return Store(copy), Store(copy, rollups=False)


def _red_days(store, f, rules=RULES, level="unit"):
    return int(store.query("red_points", f, **rules.query(level))["red_days"].sum())


WHOLE = Filters.make(D(2025, 1, 1), D(2025, 2, 28))  # January and February
INSIDE = Filters.make(D(2025, 1, 2), D(2025, 1, 30))  # no whole month
NARROWED = Filters.make(D(2025, 1, 1), D(2025, 2, 28), communities=("A社区", "B社区", "C社区"))


def _count(store, sql):
    return store.con.execute(sql).fetchone()[0]


def test_member_months_are_read_for_whole_months_only(hard, tmp_path):
    """Tamper with a copy of the rollup: answers change exactly where it may be read."""
    tampered, records = _tampered(hard[0], tmp_path, "UPDATE member_months SET red_new = red_new + 1")
    assert tampered.mode == "file"
    roster = ("FROM member_months m JOIN members r ON r.mid = m.mid WHERE m.month BETWEEN DATE '2025-01-01' "
              "AND DATE '2025-02-01' AND r.reported_on <= DATE '2025-02-28'")
    every, ineligible = _count(tampered, f"SELECT COUNT(*) {roster}"), _count(tampered, f"SELECT COUNT(*) {roster} AND NOT m.eligible")
    assert every > ineligible > 0
    # members' rows read every member-month of the whole months; unit rows only the ineligible ones
    assert _red_days(tampered, WHOLE, level="member") == _red_days(records, WHOLE, level="member") + every
    assert _red_days(tampered, WHOLE) == _red_days(records, WHOLE) + ineligible
    strict = scorecard.PointsRules(**{**RULES.__dict__, "max_points_per_month": 25.0})
    assert _red_days(tampered, WHOLE, strict) == _red_days(records, WHOLE, strict) + every
    for f in (INSIDE, NARROWED):
        assert _red_days(tampered, f) == _red_days(records, f)
    tampered.close()
    records.close()


def test_branch_months_are_read_for_whole_months_under_their_rules_only(hard, tmp_path):
    tampered, records = _tampered(hard[0], tmp_path, "UPDATE branch_months SET red_days = red_days + 1")
    rows = _count(tampered, "SELECT COUNT(*) FROM branch_months WHERE month BETWEEN DATE '2025-01-01' AND DATE '2025-02-01'")
    assert rows > 0
    assert _red_days(tampered, WHOLE) == _red_days(records, WHOLE) + rows
    assert _red_days(tampered, WHOLE, level="branch") == _red_days(records, WHOLE, level="branch") + rows
    strict = scorecard.PointsRules(**{**RULES.__dict__, "max_points_per_month": 25.0})
    assert _red_days(tampered, WHOLE, strict) == _red_days(records, WHOLE, strict)
    for f in (INSIDE, NARROWED):
        assert _red_days(tampered, f) == _red_days(records, f)
    assert _red_days(tampered, WHOLE, level="member") == _red_days(records, WHOLE, level="member")
    tampered.close()
    records.close()


def test_the_rollups_are_built_with_the_stores_rules(tmp_path):
    directory = write_store(tmp_path / "store", **_records(seed=3))
    (directory / "config.toml").write_text("[points]\nper_hour = 2.0\nmax_points_per_month = 30.0\n", encoding="utf-8")
    serving.refresh(directory, serving.points_rules_of(directory))
    rolled, records = Store(directory), Store(directory, rollups=False)
    assert rolled.mode == "file"
    assert rolled.con.execute("SELECT points_per_hour, max_points_per_month FROM rollup_settings").fetchone() == (2.0, 30.0)
    rules = scorecard.points_rules(config.settings(directory))
    for start, end in PERIODS[::5]:
        f = Filters.make(start, end)
        _same(rolled.query("red_points", f, **rules.query("unit")), records.query("red_points", f, **rules.query("unit")),
              (start, end))
    rolled.close()
    records.close()


def test_the_unit_rollups_are_read_for_whole_months_only(hard, tmp_path):
    tampered, records = _tampered(hard[0], tmp_path, "UPDATE unit_months SET records = records + 1; "
                                  "UPDATE unit_household_months SET households = households + 1")
    months = _count(tampered, "SELECT COUNT(*) FROM unit_months WHERE month BETWEEN DATE '2025-01-01' AND DATE '2025-02-01' "
                              "AND uid IS NOT NULL")
    hh_months = _count(tampered, "SELECT COUNT(*) FROM unit_household_months "
                                 "WHERE month BETWEEN DATE '2025-01-01' AND DATE '2025-02-01' AND uid IS NOT NULL")
    assert months > 0 and hh_months > 0

    def totals(store, f):
        card = store.query("unit_scorecard", f)
        return int(card["records"].sum()), int(card["households"].sum())

    assert totals(tampered, WHOLE) == (totals(records, WHOLE)[0] + months, totals(records, WHOLE)[1] + hh_months)
    one = Filters.make(D(2025, 1, 1), D(2025, 2, 28), units=("U2",))  # a unit filter: still the rollups
    assert totals(tampered, one) != totals(records, one)
    for f in (INSIDE, NARROWED, Filters.make(D(2025, 1, 1), D(2025, 2, 28), branches=("U1支部1",))):
        assert totals(tampered, f) == totals(records, f)
    tampered.close()
    records.close()


@pytest.mark.parametrize("rollups", [True, False])
def test_unit_points_are_the_unit_rows_of_red_points(hard, rollups):
    """unit_points.sql (the scorecard's column) gives red_points.sql's unit rows, whatever the period,
    the filters, the rules and whether the rollups are read."""
    _, rolled, records = hard
    store = rolled if rollups else records
    strict = scorecard.PointsRules(**{**RULES.__dict__, "max_hours_per_month": 6.0, "max_points_per_month": 25.0})
    for i, (start, end) in enumerate(PERIODS):
        dims = [{}, {"units": ("U1",)}, {"communities": ("A社区",)}][i % 3]
        f = Filters.make(start, end, **dims)
        for rules in (RULES, strict):
            q = rules.query("unit")
            _same(scorecard.part(store.query("unit_points", f, **q), "rows"),
                  scorecard.part(store.query("red_points", f, **q), "rows"), (dims, start, end))


ASSESS_DAYS = [D(2024, 11, 30), D(2024, 12, 31), D(2025, 1, 1), D(2025, 1, 31), D(2025, 3, 31), D(2025, 4, 15),
               D(2025, 12, 31)]


@pytest.mark.parametrize("as_of", ASSESS_DAYS)
def test_assessment_by_the_records_flags_is_that_of_the_records(hard, as_of):
    """年度考核's contact days (each quarter's too) and distinct activities, counted by the records'
    day_first and year_aid_first flags while nothing narrows the records, equal a grouping of the
    records by member and day (several records of a member on one day, an activity running from
    December into January: its first record of the year is in January)."""
    directory, with_rollups, records = hard
    settings = config.settings(directory)
    params = assess.params(settings, as_of.year, as_of)
    everything = Filters(start=D(as_of.year, 1, 1), end=as_of)
    for name in ("assess_members", "assess_units"):
        flagged = with_rollups.query(name, everything, **params)
        assert len(flagged) > 0
        _same(flagged, records.query(name, everything, **params), (name, as_of))
    # the members' figures are not trivially equal: contact days fewer than records, activities counted
    a = with_rollups.query("assess_members", everything, **params)
    if as_of >= D(2025, 1, 31):
        assert (a["contact_days"] < a["year_records"]).any() and a["activities"].sum() > 0
    # a filter narrows the records: grouped by day, as without the flags
    narrowed = Filters(start=D(as_of.year, 1, 1), end=as_of, forms=("红色服务日",))
    _same(with_rollups.query("assess_members", narrowed, **params),
          records.query("assess_members", narrowed, **params), ("narrowed", as_of))


def test_the_records_flags_mark_a_members_first_record_of_a_day_and_of_an_activity_in_a_year(hard):
    directory, _with_rollups, _records = hard
    con = duckdb.connect(str(serving.path(directory)), read_only=True)
    try:
        # recounted: the first counted record by 记录编号 of each member-day, and by date then 记录编号 of
        # each member, 活动编号 and year; the flags NULL exactly where they do not apply
        wrong = con.execute(
            "SELECT COUNT(*) FROM (SELECT day_first, year_aid_first, counted AND mid IS NOT NULL AS dated, "
            "counted AND mid IS NOT NULL AND aid IS NOT NULL AS active, "
            "record_id = MIN(record_id) FILTER (WHERE counted) OVER (PARTITION BY mid, date) AS d, "
            "record_id = arg_min(record_id, (date, record_id)) FILTER (WHERE counted) "
            "OVER (PARTITION BY mid, aid, year(date)) AS a FROM services) "
            "WHERE (day_first IS NULL) = dated OR (year_aid_first IS NULL) = active "
            "OR (dated AND day_first <> d) OR (active AND year_aid_first <> a)"
        ).fetchone()[0]
        flagged = con.execute("SELECT COUNT(*) FILTER (WHERE day_first), COUNT(*) FILTER (WHERE year_aid_first), "
                              "COUNT(*) FROM services").fetchone()
    finally:
        con.close()
    assert wrong == 0
    assert 0 < flagged[1] < flagged[0] < flagged[2]
