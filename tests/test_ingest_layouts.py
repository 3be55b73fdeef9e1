"""Ledgers as counties keep them: layouts modelled on forms published by local governments and by
real 双报到 / 微心愿 systems (a volunteer platform's activity record, a county reporting app's register
and service screens, two 微心愿 tables, a statistics form), written here with the demo county's
names and their real quirks (title rows, merged and two-row headers, 序号, date-times, several
participants in one cell, GBK), each with its expected outcome. And the two silent corruptions,
as regression tests: a date-time moving ten days, and a record key overwriting another member's
record."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from test_ingest import run, table, xlsx


def csv(rows) -> str:
    return "\n".join(",".join(str(c) for c in row) for row in rows) + "\n"


def counts(report):
    return report.rows_read, report.loaded, report.rejected, report.skipped_total


# -- the two silent corruptions -------------------------------------------------------------------
def test_register_date_times_keep_their_day(demo_copy):
    """2025/3/1 10:20:00 (Excel in Chinese writes date-times so in a CSV) was stored as 2025-03-11,
    reported as "updated", exit 0."""
    text = csv([["党员编号", "姓名", "所属单位", "报到社区", "报到日期"],
                ["PL00001", "李明强", "县卫生健康局", "河阳社区", "2025/3/1 10:20:00"],
                ["PL00002", "刘波飞", "县卫生健康局", "新夏社区", "2025/12/1 10:00"],
                ["PL00003", "任俊怡", "县卫生健康局", "河阳社区", "2025/3/1 14:30"]])
    batch, _ = run(demo_copy, [("register.csv", text)], today=dt.date(2025, 12, 31))
    assert counts(batch.reports[0]) == (3, 3, 0, 0), batch.reports[0].errors
    members = table(demo_copy, "members").set_index("member_id")
    assert [members.loc[m, "reported_on"] for m in ("PL00001", "PL00002", "PL00003")] == [
        dt.date(2025, 3, 1), dt.date(2025, 12, 1), dt.date(2025, 3, 1)]


def test_a_record_key_never_overwrites_another_members_record(demo_copy):
    before = table(demo_copy, "services").set_index("record_id")
    victim = before.loc["FW202401007017"]
    other = "刘波飞" if victim["name"] != "刘波飞" else "李明强"
    text = csv([["记录编号", "服务日期", "姓名", "所属单位", "服务社区", "服务类别", "服务时长（小时）"],
                ["FW202401007017", "2025-04-01", other, "县卫生健康局", "河阳社区", "送政策", "9"]])
    batch, _ = run(demo_copy, [("fw.csv", text)])
    report = batch.reports[0]
    assert counts(report) == (1, 0, 1, 0) and report.updated == 0
    error = report.errors[0]
    assert error.kind == "record_taken" and error.column == "记录编号"
    reason = error.reason("fw.csv")
    assert victim["name"] in reason and other in reason and "FW202401007017" in reason
    after = table(demo_copy, "services").set_index("record_id")
    assert after.loc["FW202401007017"].equals(victim) and len(after) == len(before)


def test_a_reimport_may_change_only_the_review_status(demo_copy):
    base = ["记录编号", "服务日期", "姓名", "所属单位", "服务社区", "服务类别", "服务时长（小时）"]
    first = csv([base + ["审核状态"], ["FWX1", "2025-04-01", "李明强", "县卫生健康局", "河阳社区", "送政策", "2", "待审核"]])
    assert run(demo_copy, [("a.csv", first)])[0].reports[0].loaded == 1
    approved = first.replace("待审核", "已通过")
    report = run(demo_copy, [("b.csv", approved)])[0].reports[0]
    assert (report.loaded, report.updated) == (1, 1)
    services = table(demo_copy, "services").set_index("record_id")
    assert services.loc["FWX1", "review_status"] == "已通过"
    more_hours = approved.replace(",2,已通过", ",5,已通过")
    report = run(demo_copy, [("c.csv", more_hours)])[0].reports[0]
    assert report.errors[0].kind == "record_changed" and "服务时长" in report.errors[0].reason("c.csv")
    assert table(demo_copy, "services").set_index("record_id").loc["FWX1", "hours"] == 2
    bad = approved.replace("已通过", "通过了")
    assert run(demo_copy, [("d.csv", bad)])[0].reports[0].errors[0].kind == "not_in_list"


# -- real layouts ------------------------------------------------------------------------------------
def activity_record() -> bytes:
    """A volunteer platform's activity record: a title row, 序号, an activity 编号 shared by its
    participants, the time as a range, the participants in one cell, no 服务时长."""
    return xlsx([
        ["东营区志愿服务活动记录（平陆县演示数据改写）"],
        ["序号", "编号", "活动名称", "活动日期", "服务地点", "所属单位", "参加党员", "服务类别", "活动内容"],
        [1, "HD0827", "政策宣讲进小区", "2025-04-08 14:30:00 至 2025-04-08 16:30:00", "河阳社区", "县卫生健康局",
         "李明强、刘波飞，任俊怡", "政策宣讲", "讲解医保政策"],
        [2, "HD0827", "政策宣讲进小区", "2025-04-08 14:30:00 至 2025-04-08 16:30:00", "河阳社区", "县卫生健康局",
         "戴海明", "政策宣讲", "讲解医保政策"],
        [3, "HD0903", "环境整治", "2025-04-12 09:00 至 2025-04-12 10:30", "新夏社区", "县卫生健康局",
         "崔涛兰 汤雪宇", "环境整治", "清理楼道"],
    ], merges=["A1:I1"])


def test_activity_record_with_shared_numbers_and_participants(demo_copy):
    before = len(table(demo_copy, "services"))
    batch, _ = run(demo_copy, [("活动记录.xlsx", activity_record())])
    report = batch.reports[0]
    assert report.table == "services" and counts(report) == (3, 3, 0, 0), report.errors
    notes = " ".join(report.note_texts())
    assert "活动编号" in notes and "拆为5条" in notes and "缺少" not in notes and "活动时间段" in notes and "活动名称" in notes
    services = table(demo_copy, "services")
    new = services.iloc[before:] if len(services) == before + 6 else services[services["activity_id"].isin(["HD0827", "HD0903"])]
    assert len(services) == before + 6
    assert sorted(new["name"]) == sorted(["李明强", "刘波飞", "任俊怡", "戴海明", "崔涛兰", "汤雪宇"])
    assert set(new["activity_id"]) == {"HD0827", "HD0903"}
    assert new.set_index("name").loc["崔涛兰", "hours"] == 1.5 and new.set_index("name").loc["李明强", "hours"] == 2
    # the same file again adds nothing
    again = run(demo_copy, [("活动记录.xlsx", activity_record())])[0].reports[0]
    assert counts(again) == (3, 0, 0, 3) and len(table(demo_copy, "services")) == before + 6


def test_reporting_app_register_gbk_csv(demo_copy):
    text = csv([["序号", "党员姓名", "性别", "工作单位", "所属党委", "报到社区", "报到时间", "联系电话"],
                ["1", "李明强", "男", "县卫生健康局", "县直工委", "河阳社区", "2025/3/1 10:20:00", "13800001234"],
                ["2", "新党员甲", "女", "县卫生健康局", "县直工委", "", "", "13800001235"]])
    batch, _ = run(demo_copy, [("报到名册.csv", text.encode("gbk"))])
    report = batch.reports[0]
    assert report.table == "members" and counts(report) == (2, 2, 0, 0), report.errors
    assert "所属党委" in report.ignored_columns and "序号" in report.ignored_columns
    members = table(demo_copy, "members")
    new = members[members["name"] == "新党员甲"].iloc[0]
    assert pd.isna(new["community"]) and pd.isna(new["reported_on"])  # on the roster, not yet reported
    assert members[members["member_id"] == "PL00001"].iloc[0]["reported_on"] == dt.date(2025, 3, 1)


def test_register_community_without_date_is_refused(demo_copy):
    text = csv([["姓名", "所属单位", "报到社区", "报到日期"], ["新党员乙", "县卫生健康局", "河阳社区", ""]])
    report = run(demo_copy, [("r.csv", text)])[0].reports[0]
    assert report.errors[0].kind == "report_pair" and report.errors[0].column == "报到日期"


def test_reporting_app_service_screen(demo_copy):
    text = csv([["党员姓名", "工作单位", "服务时间", "服务地点", "服务类型", "服务时长", "审核状态", "记录来源", "录入时间"],
                ["李明强", "县卫生健康局", "2025/4/3 9:30", "河阳社区", "义诊", "2小时", "待审核", "扫码签到",
                 "2025/4/3 11:00"],
                ["刘波飞", "县卫生健康局", "2025/4/3 下午2:30", "新夏社区", "义诊", "1.5", "已通过", "后台补录",
                 "2025/5/20"]])
    report = run(demo_copy, [("服务记录.csv", text)])[0].reports[0]
    assert report.table == "services" and counts(report) == (2, 2, 0, 0), report.errors
    services = table(demo_copy, "services")
    row = services[(services["name"] == "刘波飞") & (services["date"] == dt.date(2025, 4, 3))].iloc[0]
    assert (row["review_status"], row["origin"], row["entered_on"]) == ("已通过", "后台补录", dt.date(2025, 5, 20))


def test_wish_template_with_the_wishers_name_is_a_wish_list(demo_copy):
    """Its 姓名, 性别, 联系电话 (the wisher's) made it look like a 报到名册."""
    text = csv([["微心愿ID", "微心愿名称", "微心愿详细描述", "所在地", "微心愿类型", "姓名", "性别", "联系电话", "生效日期"],
                ["NB001", "一台助听器", "独居老人听力下降", "河阳社区", "生活帮扶", "王大爷", "男", "13900000001", "2025-04-02"],
                ["NB002", "书包文具", "", "新夏社区", "教育助学", "小明", "男", "13900000002", "2025/4/5 10:00"]])
    report = run(demo_copy, [("宁波微心愿.csv", text)])[0].reports[0]
    assert report.table == "wishes" and counts(report) == (2, 2, 0, 0), report.errors
    assert "报到名册" in " ".join(report.note_texts())  # the close runner-up is named
    wishes = table(demo_copy, "wishes").set_index("wish_id")
    assert wishes.loc["NB001", "content"] == "一台助听器：独居老人听力下降"
    assert wishes.loc["NB002", "content"] == "书包文具" and wishes.loc["NB002", "posted_on"] == dt.date(2025, 4, 5)
    assert "联系电话" in report.ignored_columns  # the wisher's phone is not stored


def test_party_wish_table_with_two_row_header_and_unnamed_claimer_unit(demo_copy):
    rows = [["党建微心愿认领情况表"],
            ["微心愿ID", "微心愿归属地区", "微心愿", "微心愿状态", "生效日期", "认领情况", "认领情况", "认领情况", "完成日期"],
            ["微心愿ID", "微心愿归属地区", "微心愿", "微心愿状态", "生效日期", "认领时间", "申请人认领人名称",
             "申请人认领人所在党组织", "完成日期"],
            ["ZJ001", "河阳社区", "换灯泡", "已完成", "2025-04-01", "2025-04-02", "李明强", "县卫生健康局", "2025-04-03"],
            ["ZJ002", "新夏社区", "理发", "已认领", "2025-04-01", "2025-04-03", "", "", ""]]
    data = xlsx(rows, merges=["A1:I1", "F2:H2", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "I2:I3"])
    report = run(demo_copy, [("浙江微心愿.xlsx", data)])[0].reports[0]
    assert report.table == "wishes" and counts(report) == (2, 2, 0, 0), (report.errors, report.notes)
    assert report.header_row == 2 and "第2–3行" in " ".join(report.note_texts())
    wishes = table(demo_copy, "wishes").set_index("wish_id")
    assert wishes.loc["ZJ001", "claim_unit"] == "县卫生健康局" and wishes.loc["ZJ001", "claimer"] == "李明强"
    assert wishes.loc["ZJ002", "claimed_on"] == dt.date(2025, 4, 3) and pd.isna(wishes.loc["ZJ002", "claim_unit"])


def test_two_row_header_over_columns_outside_the_template(demo_copy):
    rows = [["序号", "姓名", "所属单位", "报到社区", "报到日期", "物业(卫生)费缴纳情况", None],
            [None, None, None, None, None, "本年度", "上年度"],
            [1, "李明强", "县卫生健康局", "河阳社区", "2024-11-21", "已缴", "已缴"]]
    data = xlsx(rows, merges=["A1:A2", "B1:B2", "C1:C2", "D1:D2", "E1:E2", "F1:G1"])
    report = run(demo_copy, [("名册.xlsx", data)])[0].reports[0]
    assert report.table == "members" and counts(report) == (1, 1, 0, 0) or counts(report) == (1, 0, 0, 1), \
        (report.errors, report.notes)
    assert report.rejected == 0
    assert {"物业(卫生)费缴纳情况/本年度", "物业(卫生)费缴纳情况/上年度"} <= set(report.ignored_columns)


def test_statistics_form_is_refused_saying_what_it_is(demo_copy):
    text = csv([["浦东新区在职党员报到情况统计表"], ["序号", "单位名称", "在职党员总数", "已报到人数", "报到率", "未报到人数"],
                ["1", "县卫生健康局", "120", "118", "98.3%", "2"]])
    batch, _ = run(demo_copy, [("统计表.csv", text)])
    report = batch.reports[0]
    assert report.fatal and report.fatal[0] == "aggregate_form"
    assert "统计表" in report.fatal_reason() and "报到名册" in report.fatal_reason()
    assert batch.exit_code() == 2


def test_evaluation_sheet_loads_with_the_configured_grades(demo_copy):
    text = csv([["年度", "党员编号", "姓名", "所属单位", "评价社区", "评价等级", "评语"],
                ["2024年度", "PL00001", "李明强", "县卫生健康局", "河阳社区", "优秀", "积极"],
                ["2024", "", "刘波飞", "县卫生健康局", "新夏社区", "良好", ""],
                ["2024", "", "不存在的人", "县卫生健康局", "新夏社区", "合格", ""]])
    report = run(demo_copy, [("评价表.csv", text)])[0].reports[0]
    assert report.table == "evaluations" and counts(report) == (3, 1, 2, 0)
    assert [e.kind for e in report.errors] == ["not_in_list", "unknown_member"]
    evaluations = table(demo_copy, "evaluations")
    assert evaluations.iloc[0][["year", "member_id", "grade"]].tolist() == [2024, "PL00001", "优秀"]


def test_a_wish_claimed_by_no_named_unit_is_counted_and_shown_as_such(demo_copy):
    from redservice import config, wishes
    from redservice.filters import Filters
    from redservice.store import Store

    text = csv([["心愿编号", "社区", "心愿内容", "提出日期", "认领日期"], ["UN001", "河阳社区", "修门锁", "2025-04-01", "2025-04-02"]])
    assert run(demo_copy, [("w.csv", text)])[0].reports[0].loaded == 1
    open_df = Store(demo_copy).query("wish_open", Filters.make(dt.date(2025, 4, 1), dt.date(2025, 4, 30)))
    table_ = wishes.follow_up_table(wishes.open_wishes(open_df, config.settings(demo_copy), True), "zh")
    row = table_.set_index("wish_id").loc["UN001"]
    assert row["claim_unit"] == "未注明单位" and row["stage"] == "已认领未办结"
