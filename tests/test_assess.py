"""年度考核 (redservice.assess, queries/assess_*.sql) and 审核状态 (redservice.approval): hand-checked
fixtures for the pace rule at the quarter ends and on 29 February, the reporting deadline, members
who move unit within the year, approval statuses changing between imports, the [evaluation] rule,
the reminders and the feedback workbooks (opened and read back)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from conftest import write_store

from redservice import approval, assess, config, feedback
from redservice.filters import EVERYTHING, Filters, Scope
from redservice.scorecard import SettingsError
from redservice.store import Store

D = dt.date
# the targets of every test: 10 hours and 2 activities a year, 1 contact day a quarter, 30 days to report
CONFIG = """
[targets]
hours_per_year = 10.0
activities_per_year = 2
contacts_per_quarter = 1
report_within_days = 30
unit_reporting_rate_min = 0.95
unit_completion_rate_min = 0.5
[targets.units."U2"]
hours_per_year = 4.0
"""


def member(mid, unit, reported, community="A社区", branch=None, **extra):
    return {"member_id": mid, "name": f"党员{mid}", "unit": unit, "branch": branch or f"{unit}支部",
            "community": community if reported else None, "reported_on": reported, "phone": "13800001234", **extra}


def record(rid, day, m, hours, activity=None, status="已通过", unit=None, community="A社区"):
    return {"record_id": rid, "date": day, "member_id": m["member_id"], "name": m["name"], "unit": unit or m["unit"],
            "branch": m["branch"], "community": community, "category": "义诊", "form": "日常服务",
            "activity_id": activity, "hours": hours, "persons": 1, "review_status": status, "households": []}


def make_store(tmp_path, members, services, evaluations=(), wishes=(), config=CONFIG, name="s") -> Store:
    directory = write_store(tmp_path / name, communities=[{"community": "A社区", "households": 10},
                                                          {"community": "B社区", "households": 10}],
                            units=[{"unit": "U1"}, {"unit": "U2"}],
                            branches=[{"branch": "U1支部", "unit": "U1"}, {"branch": "U2支部", "unit": "U2"}],
                            members=members, services=services, evaluations=list(evaluations), wishes=list(wishes))
    (directory / "config.toml").write_text(config, encoding="utf-8")
    return Store(directory)


def assessed(store, year, as_of, scope: Scope = EVERYTHING):
    settings = config.settings(store.directory)
    filters = Filters.make(D(year, 1, 1), as_of)
    return feedback.load(lambda n, f=None, **e: store.query(n, f or filters, scope, **e), filters, scope, settings,
                         year, as_of)


def statuses(a) -> dict[str, str]:
    return dict(zip(a.members["member_id"], a.members["status"]))


# -- the pace rule ---------------------------------------------------------------------------------
# m1 serves just above the pace of 31 March 2025 (f = 90/365: 10 × 90/365 = 2.466 hours; floor(2 × 90/365)
# = 0 activities) on one day of Q1; m2 serves 20 hours on 1 April only: Q1 ended without a contact
# day, so m2 is behind whatever the hours; m3 reaches every target in Q1: met.
M1 = member("m1", "U1", D(2024, 5, 1))
M2 = member("m2", "U1", D(2024, 5, 1))
M3 = member("m3", "U1", D(2024, 5, 1))
PACE = [record("a", D(2025, 3, 31), M1, 2.5),
        record("b", D(2025, 4, 1), M2, 20.0, "X1"),
        record("c", D(2025, 1, 5), M3, 6.0, "X1"), record("d", D(2025, 2, 5), M3, 6.0, "X2")]


def test_pace_at_the_first_quarter_end(tmp_path):
    store = make_store(tmp_path, [M1, M2, M3], PACE)
    s = statuses(assessed(store, 2025, D(2025, 3, 31)))
    assert s == {"m1": "on_track", "m2": "behind", "m3": "met"}
    # the day before, m1's 2.5 hours dated 31 March are not yet counted: 0 < 10 × 89/365
    s = statuses(assessed(store, 2025, D(2025, 3, 30)))
    assert s["m1"] == "behind"
    # at the end of June m1 needs 10 × 181/365 = 4.96 hours and 2 × 181/365 → 0 activities, and one
    # contact day in Q2 too: none, so behind; m2 missed Q1's contact day: behind with 20 hours
    s = statuses(assessed(store, 2025, D(2025, 6, 30)))
    assert s == {"m1": "behind", "m2": "behind", "m3": "behind"}  # m3: no Q2 contact day either


def test_contact_days_per_quarter_through_the_year(tmp_path):
    """The contact days of each ended quarter: two records on one day are one day; a quarter counts
    only once ended (its last day on or before the as-of date), and the quarter boundaries fall on
    31 March, 30 June and 30 September."""
    m = member("m1", "U1", D(2024, 5, 1))
    services = [record("a", D(2025, 3, 31), m, 1.0), record("b", D(2025, 3, 31), m, 1.0),  # Q1: one day
                record("c", D(2025, 7, 1), m, 1.0), record("d", D(2025, 9, 30), m, 1.0),  # Q3: two days
                record("e", D(2025, 10, 1), m, 1.0)]  # Q4; Q2 has none
    store = make_store(tmp_path, [m], services, config=CONFIG.replace("contacts_per_quarter = 1",
                                                                      "contacts_per_quarter = 2"))

    def row(as_of):
        a = assessed(store, 2025, as_of).members.set_index("member_id").loc["m1"]
        return int(a["contact_days"]), int(a["short_quarters"])

    assert row(D(2025, 3, 30)) == (0, 0)  # no quarter ended yet
    assert row(D(2025, 3, 31)) == (1, 1)  # Q1: 1 day < 2
    assert row(D(2025, 6, 30)) == (1, 2)  # Q2: none
    assert row(D(2025, 9, 29)) == (2, 2)  # Q3 not ended; its day of 1 July counted in the year
    assert row(D(2025, 9, 30)) == (3, 2)  # Q3: 2 days, enough
    assert row(D(2025, 12, 31)) == (4, 3)  # Q4: 1 day


def test_pace_is_exact_on_the_threshold(tmp_path):
    # 10 × d/365 = 2.5 ⇔ d = 91.25: on
    # 1 April (d = 91) 2.5 ≥ 2.493 (on track), on 2 April (d = 92) 2.5 < 2.521 (behind)
    m = member("m", "U1", D(2024, 1, 1))
    store = make_store(tmp_path, [m], [record("a", D(2025, 1, 2), m, 2.5)])
    assert statuses(assessed(store, 2025, D(2025, 4, 1)))["m"] == "on_track"
    assert statuses(assessed(store, 2025, D(2025, 4, 2)))["m"] == "behind"


def test_pace_on_29_february(tmp_path):
    # 2024 is a leap year: 29 February is day 60 of 366 → 10 × 60/366 = 1.639 hours; floor(2 × 60/366) = 0
    m, n = member("m", "U1", D(2023, 1, 1)), member("n", "U1", D(2023, 1, 1))
    store = make_store(tmp_path, [m, n], [record("a", D(2024, 2, 29), m, 1.7), record("b", D(2024, 2, 29), n, 1.6)])
    assert assess.pace(2024, D(2024, 2, 29)) == pytest.approx(60 / 366)
    s = statuses(assessed(store, 2024, D(2024, 2, 29)))
    assert s == {"m": "on_track", "n": "behind"}


def test_activities_pace_uses_the_floor(tmp_path):
    # 2 activities a year: floor(2 × f) is 0 until 2 July (day 183 of 365: 2 × 183/365 = 1.003)
    m = member("m", "U1", D(2024, 1, 1))
    rows = [record(f"r{i}", D(2025, month, 3), m, 5.0) for i, month in enumerate((1, 4, 7), 1)]
    store = make_store(tmp_path, [m], rows)
    assert statuses(assessed(store, 2025, D(2025, 7, 1)))["m"] == "on_track"
    assert statuses(assessed(store, 2025, D(2025, 7, 2)))["m"] == "behind"  # 0 activities < 1


def test_unit_override_of_the_targets(tmp_path):
    a_ = member("a", "U1", D(2024, 1, 1))
    b_ = member("b", "U2", D(2024, 1, 1), branch="U2支部")
    rows = [record("x", D(2025, 3, 1), a_, 4.0, "A1"), record("y", D(2025, 6, 1), a_, 1.0, "A2"),
            record("z", D(2025, 9, 1), a_, 1.0), record("w", D(2025, 12, 1), a_, 1.0)]
    rows += [dict(r, record_id=r["record_id"] + "b", member_id="b", name=b_["name"], unit="U2", branch="U2支部")
             for r in rows]
    store = make_store(tmp_path, [a_, b_], rows)
    a = assessed(store, 2025, D(2025, 12, 31))
    assert statuses(a) == {"a": "behind", "b": "met"}  # 7 hours: below U1's 10, above U2's 4
    assert dict(zip(a.members["member_id"], a.members["t_hours"])) == {"a": 10.0, "b": 4.0}


# -- reporting, the deadline and the roster ----------------------------------------------------------
def test_deadline_and_not_reported(tmp_path):
    late = member("late", "U1", D(2025, 2, 10))  # reported after the deadline (31 January)
    never = member("never", "U1", None)  # on the roster, not reported
    listed = member("listed", "U1", None, listed_on=D(2025, 3, 1))  # listed in March: deadline 31 March
    gone = member("gone", "U1", D(2024, 1, 1), roll_status="转出", left_on=D(2025, 2, 1))
    store = make_store(tmp_path, [late, never, listed, gone], [])
    a = assessed(store, 2025, D(2025, 1, 31))
    m = a.members.set_index("member_id")
    # as of 31 January: the deadline day itself is not late yet; 'listed' is not on the roster yet
    assert set(m.index) == {"late", "never", "gone"}
    assert not m["overdue"].any()
    a = assessed(store, 2025, D(2025, 2, 1))
    m = a.members.set_index("member_id")
    assert set(m.index) == {"late", "never"}  # 'gone' left on 1 February
    assert m.loc["late", "overdue"] and m.loc["never", "overdue"]
    assert (m["status"] == "not_reported").all()
    a = assessed(store, 2025, D(2025, 3, 31))
    m = a.members.set_index("member_id")
    assert m.loc["late", "status"] != "not_reported" and not m.loc["late", "overdue"]
    assert m.loc["never", "overdue"] and not m.loc["listed", "overdue"]
    assert m.loc["listed", "deadline"].date() == D(2025, 3, 31)
    u = a.units.set_index("unit").loc["U1"]
    assert (u["on_roster"], u["reported"], u["not_reported"]) == (3, 1, 2)
    assert u["reporting_rate"] == pytest.approx(1 / 3)
    assert [f[0] for f in u["flags"]] == ["reporting", "completion"]
    assert assess.flag_text(u["flags"][0], "zh") == "报到率33.3%，低于95%"


def test_on_roster_falls_back_to_the_branches_count(tmp_path):
    # no unreported row for U1: the branch list's 党员人数 (4) is the roster, 2 not reported without names
    a_, b_ = member("a", "U1", D(2024, 1, 1)), member("b", "U1", D(2024, 1, 1))
    store = make_store(tmp_path, [a_, b_], [])
    store.close()
    write_store(store.directory, branches=[{"branch": "U1支部", "unit": "U1", "members_on_roll": 4}],
                units=[{"unit": "U1"}], communities=[{"community": "A社区", "households": 1}], members=[a_, b_])
    a = assessed(Store(store.directory), 2025, D(2025, 3, 31))
    u = a.units.set_index("unit").loc["U1"]
    assert (u["on_roster"], u["reported"], u["not_reported"], u["not_reported_rows"]) == (4, 2, 2, 0)


def test_member_who_moves_unit_is_credited_as_the_records_are(tmp_path):
    # m served 6 hours for U1 in January, then moved to U2 (the roster says U2): her status counts all
    # her approved records (12 hours: met), she is listed under U2; U1's hours keep the January 6
    m = member("m", "U2", D(2024, 1, 1), branch="U2支部")
    rows = [record("a", D(2025, 1, 10), m, 6.0, "A1", unit="U1"), record("b", D(2025, 4, 10), m, 6.0, "A2"),
            record("c", D(2025, 7, 10), m, 1.0), record("d", D(2025, 10, 10), m, 1.0)]
    store = make_store(tmp_path, [m], rows, config=CONFIG.replace('[targets.units."U2"]\nhours_per_year = 4.0', ""))
    a = assessed(store, 2025, D(2025, 12, 31))
    assert statuses(a) == {"m": "met"}
    assert list(a.units["unit"]) == ["U2"]
    hours = store.query("unit_summary", Filters.make(D(2025, 1, 1), D(2025, 12, 31)))
    assert dict(zip(hours["unit"], hours["hours"])) == {"U1": 6.0, "U2": 8.0}


# -- approval -------------------------------------------------------------------------------------
def test_only_approved_records_count_and_pending_are_listed(tmp_path):
    m = member("m", "U1", D(2024, 1, 1))
    rows = [record("a", D(2025, 1, 10), m, 2.0), record("b", D(2025, 3, 20), m, 5.0, status="待审核"),
            record("c", D(2025, 3, 21), m, 7.0, status="已退回"), record("d", D(2025, 3, 22), m, 1.0, status=None)]
    store = make_store(tmp_path, [m], rows)
    f = Filters.make(D(2025, 1, 1), D(2025, 3, 31))
    kpis = store.query("kpis", f).iloc[0]
    assert kpis["hours"] == 3.0  # 已通过 2 + no status 1; pending and returned do not count
    assert statuses(assessed(store, 2025, D(2025, 3, 31)))["m"] == "on_track"  # 3 ≥ 10 × 90/365
    p = store.query("approval_pending", f, group="community", **approval.params({}, D(2025, 3, 31)))
    assert p.to_dict("records") == [{"name": "A社区", "records": 1, "hours": 5.0, "oldest_days": 11}]
    listed = store.query("approval_pending_list", f, **approval.params({}, D(2025, 3, 31)))
    assert list(listed["record_id"]) == ["b"] and list(listed["waiting_days"]) == [11]


def test_a_record_approved_later_counts_from_then_on(tmp_path):
    from redservice import ingest

    directory = tmp_path / "store"
    m = member("m", "U1", D(2024, 1, 1))
    store = make_store(tmp_path, [m], [record("a", D(2025, 1, 10), m, 2.0)], name="store")
    store.close()
    header = "记录编号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）,审核状态\n"
    ledger = tmp_path / "ledger.csv"
    ledger.write_text(header + "b,2025-03-20,党员m,U1,A社区,义诊,5,待审核\n", encoding="utf-8")
    ingest.run(directory, [ingest.Source.from_path(str(ledger))])
    f = Filters.make(D(2025, 1, 1), D(2025, 3, 31))
    assert Store(directory).query("kpis", f).iloc[0]["hours"] == 2.0
    ledger.write_text(header + "b,2025-03-20,党员m,U1,A社区,义诊,5,已通过\n", encoding="utf-8")
    batch, _ = ingest.run(directory, [ingest.Source.from_path(str(ledger))])
    assert batch.exit_code() == 0
    assert Store(directory).query("kpis", f).iloc[0]["hours"] == 7.0
    p = Store(directory).query("approval_pending", f, group="unit", **approval.params({}, D(2025, 3, 31)))
    assert p.empty


def test_approval_settings_are_checked_and_change_what_counts(tmp_path):
    with pytest.raises(SettingsError):
        approval.counted({"approval": {"counted": "已通过"}})
    m = member("m", "U1", D(2024, 1, 1))
    rows = [record("a", D(2025, 1, 10), m, 2.0), record("b", D(2025, 1, 11), m, 5.0, status="待审核")]
    store = make_store(tmp_path, [m], rows, config=CONFIG + '\n[approval]\ncounted = ["已通过", "待审核"]\n')
    assert store.query("kpis", Filters.make(D(2025, 1, 1), D(2025, 3, 31))).iloc[0]["hours"] == 7.0


# -- 双评价 ------------------------------------------------------------------------------------------
def test_grade_conflicts_with_the_evaluation_rule(tmp_path):
    ok = member("ok", "U1", D(2024, 1, 1))
    idle = member("idle", "U1", D(2024, 1, 1))  # no approved record in 2024
    late = member("late", "U1", D(2025, 1, 5))  # not reported by 31 December 2024
    low = member("low", "U1", D(2024, 1, 1))  # idle, graded 基本合格: allowed
    pending_only = member("pend", "U1", D(2024, 1, 1))  # only a pending record: no approved one
    rows = [record("a", D(2024, 5, 1), ok, 3.0), record("b", D(2024, 5, 1), pending_only, 3.0, status="待审核")]
    grades = [{"year": 2024, "member_id": mid, "name": f"党员{mid}", "unit": "U1", "community": "A社区", "grade": g}
              for mid, g in (("ok", "优秀"), ("idle", "合格"), ("late", "优秀"), ("low", "基本合格"), ("pend", "合格"))]
    store = make_store(tmp_path, [ok, idle, late, low, pending_only], rows, evaluations=grades)
    a = assessed(store, 2024, D(2024, 12, 31))
    m = a.members.set_index("member_id")
    assert set(m.index[m["grade_conflict"]]) == {"idle", "late", "pend"}
    frame = assess.conflicts_frame(a.members, 2024, "zh", True)
    assert set(frame["冲突原因"]) == {"年内未报到", "年内没有经审核的服务记录"}
    g = store.query("assess_grades", Filters.make(D(2024, 1, 1), D(2024, 12, 31)), group="unit",
                    **assess.params({}, 2024, D(2024, 12, 31)))
    table = assess.grade_table(g, assess.grades({}), "zh", "unit")
    assert table.iloc[0].to_dict() == {"单位": "U1", "优秀": 2, "合格": 2, "基本合格": 1, "未评价": 0}
    # no rule: no conflict
    store2 = make_store(tmp_path, [ok, idle, late, low, pending_only], rows, evaluations=grades, name="s2",
                        config=CONFIG + '\n[evaluation]\ncap_without_service = ""\n')
    assert not assessed(store2, 2024, D(2024, 12, 31)).members["grade_conflict"].any()


# -- reminders and the 反馈表 --------------------------------------------------------------------------
def test_reminders_and_notice(tmp_path):
    never = member("never", "U1", None)
    quiet = member("quiet", "U1", D(2024, 1, 1))  # served in Q1, nothing in Q2 yet
    busy = member("busy", "U1", D(2024, 1, 1))
    rows = [record("a", D(2025, 2, 1), quiet, 3.0), record("b", D(2025, 4, 2), busy, 9.0, "A1"),
            record("c", D(2025, 1, 3), busy, 1.0, "A2")]
    wishes = [{"wish_id": "W1", "community": "A社区", "content": "修水管", "posted_on": D(2025, 3, 1),
               "claim_unit": "U1", "claimed_on": D(2025, 3, 2), "status": "已认领"}]
    store = make_store(tmp_path, [never, quiet, busy], rows, wishes=wishes)
    a = assessed(store, 2025, D(2025, 4, 30))
    lists = feedback.reminder_lists(a)
    assert list(lists["overdue"]["member_id"]) == ["never"]
    assert list(lists["no_record"]["member_id"]) == ["quiet"]
    assert list(lists["behind"]["member_id"]) == ["quiet"]  # 3 < 10 × 120/365 = 3.29
    assert list(lists["wishes"]["wish_id"]) == ["W1"]  # claimed 59 days before, limit 30
    counts = feedback.reminder_counts(lists).set_index("unit").loc["U1"].to_dict()
    assert counts == {"overdue": 1, "no_record": 1, "behind": 1, "wishes": 1}
    text = feedback.notice(a, lists, "U1")
    assert text.startswith("截至2025年4月30日，贵单位尚有1名党员未到社区报到，1名党员本季度尚无经审核的服务记录，"
                           "1名党员年度服务进度落后，认领的1个微心愿超过30天未办结。")
    assert "党员never" in text
    masked = assessed(store, 2025, D(2025, 4, 30), Scope(units=("U1",), show_names=False))
    assert "党员never" not in feedback.notice(masked, feedback.reminder_lists(masked), "U1")
    assert feedback.notice(a, lists, "U2") is None


def test_feedback_workbooks(tmp_path):
    never = member("never", "U1", None)
    m = member("m", "U1", D(2024, 1, 1))
    n = member("n", "U2", D(2024, 1, 1), branch="U2支部")
    rows = [record("a", D(2025, 1, 3), m, 9.0, "A1"), record("b", D(2025, 2, 3), n, 1.0)]
    rows.append(dict(rows[0], record_id="evil", hours=1.0, date=D(2025, 1, 4), activity_id="=HYPERLINK(1)"))
    store = make_store(tmp_path, [never, m, n], rows)
    a = assessed(store, 2025, D(2025, 3, 31))
    book = openpyxl.load_workbook(io.BytesIO(feedback.workbook(a, "U1")))
    assert book.sheetnames == ["封面", "党员明细"]
    cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True) if r[0]}
    assert cover["名册党员"] == "2" and cover["已报到"] == "1"
    assert cover["双报到：报到率"] == "50.0%（考核线95%）"
    assert cover["双评价：社区评价"] == "尚未评价"
    sheet = list(book["党员明细"].iter_rows(min_row=2, values_only=True))
    header, body = sheet[0], sheet[1:]
    assert len(body) == 2  # the reported member and the one who should have reported
    row = dict(zip(header, next(r for r in body if r[0] == "党员m")))
    assert (row["服务时长（小时）"], row["参加活动（次）"], row["服务天数"], row["状态"]) == (10.0, 2, 2, "已达标")
    assert all(c.data_type != "f" for ws in book for r in ws.iter_rows() for c in r)
    with zipfile.ZipFile(io.BytesIO(feedback.zip_all(a))) as z:
        names = z.namelist()
    assert len(names) == 3 and names[0].startswith("反馈表汇总")


def test_cli_assess_json_and_feedback(tmp_path, capsys):
    import json

    from redservice.cli import main

    m = member("m", "U1", D(2024, 1, 1))
    store = make_store(tmp_path, [m, member("never", "U1", None)], [record("a", D(2025, 1, 3), m, 3.0)])
    assert main(["assess", "--year", "2025", "--as-of", "2025-03-31", "--data", str(store.directory), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["year"] == 2025 and out["as_of"] == "2025-03-31" and not out["final"]
    u = out["units"][0]
    assert {k: u[k] for k in ("unit", "on_roster", "reported", "reporting_rate", "met", "on_track", "behind",
                              "not_reported")} == {"unit": "U1", "on_roster": 2, "reported": 1, "reporting_rate": 0.5,
                                                   "met": 0, "on_track": 1, "behind": 0, "not_reported": 1}
    assert {r["member_id"]: r["status"] for r in out["members"]} == {"m": "on_track", "never": "not_reported"}
    assert main(["assess", "--year", "2025", "--as-of", "2024-12-31", "--data", str(store.directory)]) == 2
    assert main(["feedback", "--year", "2025", "--data", str(store.directory), "--out", str(tmp_path / "fb")]) == 0
    assert len(list((tmp_path / "fb").glob("*.xlsx"))) == 2


def test_targets_are_checked():
    with pytest.raises(SettingsError, match="hours_per_year"):
        assess.targets({"targets": {"hours_per_year": -1}})
    with pytest.raises(SettingsError, match="比例"):
        assess.targets({"targets": {"unit_reporting_rate_min": 95}})
    with pytest.raises(SettingsError):
        assess.targets({"targets": {"units": {"U1": {"points": 3}}}})
    with pytest.raises(SettingsError):
        assess.grade_cap({"evaluation": {"cap_without_service": "良好"}})


def test_demo_assessment_keeps_the_seed(demo_store):
    """The demo's statuses, evaluations and targets leave its 2025 Q1 figures as the seed has them."""
    f = Filters.make(D(2025, 1, 1), D(2025, 3, 31))
    k = demo_store.query("kpis", f).iloc[0]
    assert (k["hours"], k["households"]) == (10486.5, 7742)
    p = demo_store.query("approval_pending", f, group="community", **approval.params({}, D(2025, 3, 31)))
    assert int(p["records"].sum()) == 38
    a = assessed(demo_store, 2024, D(2024, 12, 31))
    assert int(a.members["grade_conflict"].sum()) == 3


# -- the pages ----------------------------------------------------------------------------------
def test_overview_says_what_is_not_counted_and_assess_page_runs():
    from conftest import run_app

    at = run_app()
    assert any("待审核记录38条" in c.value and "已退回等未通过审核的记录7条" in c.value for c in at.caption)
    at = run_app(page="app_pages/assess.py")
    assert not at.exception
    assert not at.json  # nothing the page computes is written out by Streamlit's magic
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["逾期未报到"] == "22人"
    for label in [tab.label for tab in at.tabs]:
        at.session_state["assess_tab"] = label
        at.run()
        assert not at.exception, label
    # a member's 年度表现档案: the year's figures in a line and every approved record in a table
    at = run_app(page="app_pages/assess.py", query_params={"tab": "members"})
    at.selectbox(key="assess_member").select_index(1).run()
    assert any(m.value.startswith("年内截至目前：服务") and "红色积分" in m.value for m in at.markdown)
    assert "年度表现档案" in at.subheader[-1].value
    # a year without data is said so, not shown as zeros
    at = run_app(page="app_pages/assess.py", query_params={"period": "custom", "start": "2023-01-01",
                                                          "end": "2023-12-31"})
    assert not at.exception
    assert "名册党员" not in {m.label for m in at.metric}  # the page does not run: the period is refused
    assert {m.value for m in at.metric} == {"—"}


def test_wrong_settings_are_said_on_the_page_not_raised(demo_copy, monkeypatch, tmp_path):
    import shutil

    from conftest import run_app

    with open(demo_copy / "config.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[approval]\ncounted = "已通过"\n')
    at = run_app(page="app_pages/assess.py", data_dir=demo_copy, monkeypatch=monkeypatch)
    assert not at.exception
    assert any("[approval] counted" in e.value for e in at.error)
    other = shutil.copytree(demo_copy, tmp_path / "other")
    (other / "config.toml").write_text('[targets]\nhours_per_year = "五十"\n', encoding="utf-8")
    at = run_app(page="app_pages/assess.py", data_dir=other, monkeypatch=monkeypatch)
    assert not at.exception and any("hours_per_year" in e.value for e in at.error)


def _random_units(seed: int, n: int, top: int):
    """n units' 年度考核 counts drawn at random (some with no one on the roster, so no rate)."""
    import random

    import pandas as pd

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        roster = rng.choice([0, rng.randrange(1, top)])
        reported = min(roster, rng.randrange(0, top))
        met = rng.randrange(0, reported + 1)
        rows.append({"unit": f"单位{i:04d}", "on_roster": roster, "reported": reported, "met": met,
                     "on_track": rng.randrange(0, reported - met + 1), "behind": 0, "not_reported": roster - reported,
                     "overdue": 0, "graded": 0})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_units_frame_rates_equal_writing_each_cell(lang):
    """年度考核's table writes each distinct rate once (fmt.per_distinct): the same texts as
    fmt.percent on every cell, missing rates as "—"."""
    from redservice import fmt

    units = _random_units(8, 4000, 60)
    settings = config.settings()
    figures = assess.unit_figures(units, settings, 2025, dt.date(2025, 6, 30))
    table = assess.units_frame(figures, lang, False)
    order = table.iloc[:, 0].tolist()
    by_unit = figures.set_index("unit")
    for col, key in ((3, "reporting_rate"), (8, "completion_rate")):
        assert table.iloc[:, col].tolist() == [fmt.percent(by_unit.at[u, key], lang) for u in order], key
    assert "—" in table.iloc[:, 3].tolist()


def test_unit_flags_on_whole_columns_equal_the_row_by_row_flags():
    """unit_figures' flags (rates compared as columns) equal the first version's, row by row."""
    units = _random_units(12, 3000, 40)
    settings = config.settings()
    tg = assess.targets(settings)
    for as_of in (dt.date(2025, 6, 30), dt.date(2025, 12, 31)):
        got = assess.unit_figures(units, settings, 2025, as_of)
        want = [([("reporting", rr, tg["unit_reporting_rate_min"])] if rr is not None and rr < tg["unit_reporting_rate_min"] else [])
                + ([("completion", cr, tg["unit_completion_rate_min"])] if cr is not None and cr < tg["unit_completion_rate_min"] else [])
                for rr, cr in zip(got["reporting_rate"], got["completion_rate"])]
        assert got["flags"].tolist() == want
        assert sum(map(bool, want)) > 100 and sum(len(w) == 2 for w in want) > 10 and not all(want)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_units_frame_equals_the_first_version(lang):
    """units_frame sorted by Arrow and its flags worded for the flagged units only: the same table as
    the first version (pandas' sort, every row's flags looked up), shuffled units included."""
    import random

    import pandas as pd

    from redservice import fmt
    from redservice.i18n import t

    def reference(units, lang, final):
        units = units.assign(_n=[-len(f) for f in units["flags"]],
                             _c=[2.0 if v is None else float(v) for v in units["completion_rate"]])
        units = units.sort_values(["_n", "_c", "unit"], kind="stable").reset_index(drop=True)
        return pd.DataFrame({
            t("assess.col.unit", lang): units["unit"],
            t("assess.col.on_roster", lang): units["on_roster"].astype(int),
            t("assess.col.reported", lang): units["reported"].astype(int),
            t("assess.col.reporting_rate", lang): [fmt.percent(v, lang) for v in units["reporting_rate"]],
            t("assess.col.met", lang): units["met"].astype(int),
            t("assess.col.on_track", lang): units["on_track"].astype(int),
            t("assess.col.behind", lang): units["behind"].astype(int),
            t("assess.col.not_reported", lang): units["not_reported"].astype(int),
            t("assess.col.completion_final" if final else "assess.col.completion", lang):
                [fmt.percent(v, lang) for v in units["completion_rate"]],
            t("assess.col.flags", lang): ["；".join(assess.flag_text(f, lang) for f in fl) for fl in units["flags"]],
        })

    rng = random.Random(21)
    rows = []
    for i in range(3000):
        roster = rng.choice([0, rng.randrange(1, 30)])
        reported = rng.choice([0, min(roster, rng.randrange(0, 30))])
        met = rng.randrange(0, reported + 1)
        rows.append({"unit": f"单位{rng.randrange(10**6):06d}", "on_roster": roster, "reported": reported, "met": met,
                     "on_track": rng.randrange(0, reported - met + 1), "behind": 1, "not_reported": roster - reported,
                     "overdue": 0, "graded": 0})
    units = pd.DataFrame(rows)
    settings = config.settings()
    for as_of, final in ((dt.date(2025, 6, 30), False), (dt.date(2025, 12, 31), True)):
        figures = assess.unit_figures(units, settings, 2025, as_of)
        assert figures["completion_rate"].isna().any() and figures["flags"].map(len).eq(2).any()
        pd.testing.assert_frame_equal(assess.units_frame(figures, lang, final), reference(figures, lang, final))


def test_the_targets_caption_reads_right_for_a_target_of_one():
    """The demo's target is service on 1 day a quarter: the English caption read "at least 1 days"."""
    from redservice.i18n import t

    caption = t("assess.caption", "en", year=2025, date="31 Mar 2025", pace="24.7%", hours="12",
                activities=1, contacts=1, days=30)
    assert "1 days" not in caption and "1 activities" not in caption
    assert "service days each quarter ≥ 1" in caption
    zh = t("assess.caption", "zh", year=2025, date="2025年3月31日", pace="24.7%", hours="12",
           activities=2, contacts=1, days=30)
    assert "每季度至少1天有服务" in zh
