"""Importing ledgers: parsing, header recognition, the rules of import, merging, duplicates,
household hashing, atomic commits and the CLI — on copies of the demo store and stores built here."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pandas as pd
import pytest

from conftest import SMALL, write_store
from redservice import cli, ingest, storage
from redservice.config import DEMO_DIR
from redservice.ingest import load, parse, read
from redservice.ingest.batch import derive_member_id
from redservice.ingest.templates import match_header
from redservice.ingest.validate import closest
from redservice.store import Store

TODAY = dt.date(2025, 6, 30)
HEADER = "服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）"


def run(directory, files, **kw):
    kw.setdefault("today", TODAY)
    sources = [ingest.Source(name, data.encode("utf-8") if isinstance(data, str) else data) for name, data in files]
    return ingest.run(directory, sources, **kw)


def table(directory, name):
    return storage.read_table(directory, name).to_pandas()


def xlsx(rows, merges=(), sheet="台账") -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for rng in merges:
        ws.merge_cells(rng)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# -- parsing ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["2025-03-31", "2025/3/31", "2025.3.31", "2025年3月31日", "２０２５年３月３１日",
                                  "45747", "2025-03-31 00:00:00", " 2025/03/31 ", "20250331"])
def test_every_date_form(text):
    assert parse.parse_date(text) == dt.date(2025, 3, 31)


@pytest.mark.parametrize("text", ["2025-02-30", "31/3/2025", "三月", "2025-13-01"])
def test_unreadable_dates_raise(text):
    with pytest.raises(parse.ParseError):
        parse.parse_date(text)


@pytest.mark.parametrize("text,hours", [("2.5", 2.5), ("2.5小时", 2.5), ("２．５小时", 2.5), ("3 h", 3.0),
                                        ("1小时30分", 1.5), ("90分钟", 1.5), (" 2 ", 2.0)])
def test_hours_forms(text, hours):
    assert parse.parse_hours(text) == hours


def test_counts_codes_and_households():
    assert parse.parse_count("1,200人次") == 1200
    assert parse.parse_count("３") == 3
    with pytest.raises(parse.ParseError):
        parse.parse_count("2.5")
    assert parse.parse_code("ＰＬ００１２") == "PL0012"
    assert parse.parse_code("13800001234.0") == "13800001234"
    with pytest.raises(parse.ParseError):
        parse.parse_code("1.23456789012346E+17")
    assert parse.split_households("3-2-301、3-2-302，4-1-101;  5-1-1 ；3-2-301") == [
        "3-2-301", "3-2-302", "4-1-101", "5-1-1"]
    assert parse.parse_name(" 张　三 ") == "张三"
    assert parse.parse_text("为老人送热饭，送到家中 ") == "为老人送热饭，送到家中"  # punctuation kept


def test_closest_name_prefers_abbreviation():
    known = ["平陆县住房和城乡建设管理局", "县住房公积金管理中心", "县人民医院"]
    assert closest("县住建局", known) == "平陆县住房和城乡建设管理局"
    assert closest("人民医院", known) == "县人民医院"
    assert closest("完全无关", known) is None


# -- reading ----------------------------------------------------------------------------------------
def test_encodings_decode_to_the_same_rows():
    text = f"{HEADER}\n2025-03-31,张三,县住建局,河阳社区,送政策,2\n"
    expected = read.read(text.encode("utf-8")).sheets[0].rows
    for data in (text.encode("utf-8-sig"), text.encode("gbk"), text.encode("gb18030"), text.encode("utf-16"),
                 text.replace(",", "\t").encode("utf-16")):
        assert read.read(data).sheets[0].rows == expected


def test_title_rows_and_merged_cells_in_xlsx():
    data = xlsx([["平陆县在职党员进社区服务台账"], ["填报单位：县住建局"], HEADER.split(","),
                 ["2025-03-31", "张三", "县住建局", "河阳社区", "送政策", 2],
                 [None, "李四", None, None, "送政策", 1.5]],
                merges=["A1:F1", "A4:A5", "C4:C5", "D4:D5"])
    sheet = read.read(data).sheets[0]
    match = match_header(sheet.rows)
    assert match.table == "services" and match.row_number == 3
    assert sheet.rows[4][1][:4] == ["2025-03-31", "李四", "县住建局", "河阳社区"]


def test_xlsx_date_cells_and_numbers():
    data = xlsx([HEADER.split(","), [dt.datetime(2025, 3, 31), "张三", "县住建局", "河阳社区", "送政策", 2.5]])
    assert read.read(data).sheets[0].rows[1][1] == ["2025-03-31", "张三", "县住建局", "河阳社区", "送政策", "2.5"]


# -- importing ----------------------------------------------------------------------------------------
def test_services_into_the_demo(demo_copy):
    csv = (f"平陆县在职党员进社区服务台账\n序号,{HEADER},服务户号,服务人次,填表人\n"
           "1,2025/4/1,李明强,县卫生健康局,河阳社区,送政策,2.5小时,3-2-301、3-2-302,2,王\n"
           "2,2025-04-02,李明强,县住建,河阳社区,送政策,2,,1,王\n"
           ",,,,,,,,,\n"
           "合计,,,,,,4.5,,3,\n"
           "3,2025年4月1日,李明强 ,县卫生健康局,河阳社区,送政策,2.5,3-2-302，3-2-301,2,王\n")
    store = Store(demo_copy)
    before = store.version()
    batch, generation = run(demo_copy, [("台账.csv", csv.encode("gbk"))])
    report = batch.reports[0]
    assert (report.rows_read, report.loaded, report.rejected, report.skipped_total) == (5, 1, 1, 3)
    assert dict(report.skipped) == {"blank": 1, "total": 1, "duplicate": 1}
    assert report.ignored_columns == ["序号", "填表人"]
    error = report.errors[0]
    assert (error.row, error.column, error.kind) == (4, "所属单位", "unknown_unit")
    assert "台账.csv 第4行" in error.reason("台账.csv") and "县住建局" in error.reason("台账.csv")
    assert generation == "000001"
    # the store follows the new generation without being reopened
    assert store.version() != before
    assert store.query("data_range").iloc[0]["last_date"].date() == dt.date(2025, 4, 1)
    services = table(demo_copy, "services")
    new = services[services["date"] == dt.date(2025, 4, 1)]
    assert len(new) == 1 and new.iloc[0]["member_id"] == "PL00001" and new.iloc[0]["hours"] == 2.5
    assert new.iloc[0]["branch"] == "县卫生健康局第一党支部"  # from the register
    links = table(demo_copy, "service_households")
    mine = links[links["record_id"] == new.iloc[0]["record_id"]]
    # stored as keyed hashes, never as the codes (a hash may contain "301" by chance: compare whole codes)
    assert len(mine) == 2 and not mine["household"].str.contains("-").any()
    assert not set(mine["household"]) & {"3-2-301", "3-2-302"}
    # importing the same file again adds nothing
    batch, generation = run(demo_copy, [("台账.csv", csv.encode("gbk"))])
    assert generation is None and batch.reports[0].loaded == 0
    assert batch.reports[0].skipped["duplicate"] == 2 and batch.reports[0].seen_before
    assert len(table(demo_copy, "services")) == len(services)


def test_household_codes_never_reach_the_store(demo_copy):
    code = "幸福小区3号楼2单元301"
    run(demo_copy, [("a.csv", f"{HEADER},服务户号\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2,{code}\n")])
    for path in demo_copy.rglob("*"):
        if path.is_file():
            assert code.encode("utf-8") not in path.read_bytes(), path
    name, data = load.read_archive(demo_copy, next((demo_copy / "archive").iterdir()).name[:64])
    assert name.endswith(".csv") and code in data.decode("utf-8")


def test_rules_of_import(demo_copy):
    rows = [
        "2025-07-01,李明强,县卫生健康局,河阳社区,送政策,2",  # future (today is 2025-06-30)
        "1999-12-31,李明强,县卫生健康局,河阳社区,送政策,2",  # before 2000
        "2025-04-01,李明强,县卫生健康局,河阳社区,送政策,0",  # hours 0
        "2025-04-01,李明强,县卫生健康局,河阳社区,送政策,25",  # hours > 24
        "2025-04-01,李明强,县卫生健康局,河阳社区,送政策,两小时",  # not a number
        "2025-04-01,李明强,县卫生健康局,和阳社区,送政策,2",  # unknown community, suggestion
        "2025-04-01,无名氏,县卫生健康局,河阳社区,送政策,2",  # unknown member
        "2025-04-01,,县卫生健康局,河阳社区,送政策,2",  # required empty
    ]
    batch, _ = run(demo_copy, [("r.csv", HEADER + ",服务人次\n" + "\n".join(r + ",1" for r in rows)
                                + "\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2,-1\n")])
    report = batch.reports[0]
    assert report.rejected == 9 and report.loaded == 0
    kinds = [e.kind for e in report.errors]
    assert kinds == ["future_date", "too_old", "hours_range", "hours_range", "bad_hours", "unknown_community",
                     "unknown_member", "required", "negative"]
    assert report.errors[5].params["suggestion"] == "河阳社区"
    assert batch.exit_code() == 1


def test_add_new_names_and_dimensions_first(tmp_path):
    store = tmp_path / "new"  # missing directory: a new store
    services = f"{HEADER}\n2025-04-01,张三,新单位,新社区,义诊,2\n"
    members = "姓名,所属单位,报到社区,报到日期\n张三,新单位,新社区,2025-03-01\n"
    units = "单位名称,单位类别\n新单位,党政机关\n"
    communities = "社区名称,总户数\n新社区,100\n"
    batch, generation = run(store, [("s.csv", services), ("m.csv", members), ("u.csv", units), ("c.csv", communities)])
    assert [r.table for r in batch.reports] == ["communities", "units", "members", "services"]
    assert all(r.loaded == 1 and r.rejected == 0 for r in batch.reports), [r.errors for r in batch.reports]
    assert table(store, "services").iloc[0]["member_id"] == derive_member_id("张三", "新单位")
    # unknown names: rejected unless new names may be added
    more = f"{HEADER}\n2025-04-02,张三,另一单位,新社区,义诊,2\n"
    assert run(store, [("x.csv", more)])[0].reports[0].errors[0].kind == "unknown_unit"
    batch, _ = run(store, [("x.csv", more)], add_new_names=True)
    assert batch.reports[0].new_names == {"unit": ["另一单位"]} and batch.reports[0].loaded == 1
    assert set(table(store, "units")["unit"]) == {"新单位", "另一单位"}


def test_updates_by_key_keep_columns_the_file_lacks(tmp_path):
    store = write_store(tmp_path / "s", **SMALL)
    run(store, [("w.csv", "心愿编号,社区,心愿内容,提出日期,认领单位,认领日期\nw4,B社区,辅导功课,2025-03-20,U2,2025-03-25\n")])
    wishes = table(store, "wishes").set_index("wish_id")
    assert wishes.loc["w4", "claim_unit"] == "U2" and wishes.loc["w4", "status"] == "待认领"
    batch, _ = run(store, [("w.csv", "心愿编号,社区,心愿内容,提出日期\nw4,B社区,辅导功课,2025-03-20\n"
                                     "w4,B社区,辅导功课,2025-03-21\n")])
    report = batch.reports[0]
    assert report.skipped["duplicate"] == 1 and report.errors[0].kind == "key_conflict"
    assert "第2行" in report.errors[0].reason("w.csv")


def test_duplicate_header_columns(demo_copy):
    csv = (f"{HEADER},日期\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2,2025/4/1\n"
           "2025-04-02,李明强,县卫生健康局,河阳社区,送政策,2,2025-04-03\n")
    report = run(demo_copy, [("d.csv", csv)])[0].reports[0]
    assert report.loaded == 1 and report.errors[0].kind == "conflict_columns" and report.errors[0].row == 3


def test_missing_required_column_rejects_every_row(demo_copy):
    csv = "服务日期,姓名,所属单位,服务社区,服务类别\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策\n"
    batch, _ = run(demo_copy, [("m.csv", csv)])
    assert batch.reports[0].rejected == 1 and batch.reports[0].errors[0].kind == "missing_column"
    assert batch.reports[0].missing_columns == ["服务时长（小时）"]


def test_rejected_rows_excel_can_be_fixed_and_imported_again(demo_copy):
    csv = f"{HEADER}\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,25\n"
    batch, _ = run(demo_copy, [("e.csv", csv)])
    frame = pd.read_excel(io.BytesIO(ingest.rejected_excel(batch.reports)), dtype=str)
    assert list(frame.columns) == ["行号", *HEADER.split(","), "错误原因"]
    assert "不超过24小时" in frame.iloc[0]["错误原因"]
    frame.loc[0, "服务时长（小时）"] = "2.5"
    buf = io.BytesIO()
    frame.to_excel(buf, index=False)
    report = run(demo_copy, [("fixed.xlsx", buf.getvalue())])[0].reports[0]
    assert report.loaded == 1 and set(report.ignored_columns) == {"行号", "错误原因"}


def test_templates_round_trip_into_an_empty_store(tmp_path):
    files = [(ingest.templates.template_filename(t), ingest.template_xlsx(t)) for t in ingest.ORDER]
    batch, _ = run(tmp_path / "fresh", files)
    assert [r.loaded for r in batch.reports] == [1] * len(ingest.ORDER), [(r.file, r.errors, r.fatal) for r in batch.reports]
    store = Store(tmp_path / "fresh")
    status = store.query("store_status").set_index("table_name")["row_count"]
    assert status.to_dict() == {"communities": 1, "compounds": 1, "units": 1, "branches": 1, "members": 1,
                                "services": 1, "service_households": 2, "wishes": 1, "evaluations": 1}


def test_demo_is_never_written(capsys):
    batch = ingest.prepare(DEMO_DIR, [ingest.Source("a.csv", f"{HEADER}\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2\n"
                                                   .encode())])
    with pytest.raises(ingest.RefusedStore):
        ingest.commit(batch)
    assert cli.main(["import", "--data", str(DEMO_DIR), "x.csv"]) == 2


def test_commit_refuses_a_stale_batch(demo_copy):
    first = ingest.prepare(demo_copy, [ingest.Source("a.csv", f"{HEADER}\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2\n"
                                                     .encode())], today=TODAY)
    run(demo_copy, [("b.csv", f"{HEADER}\n2025-04-02,李明强,县卫生健康局,河阳社区,送政策,2\n")])
    with pytest.raises(ingest.StaleBatch):
        ingest.commit(first)


def test_cli_json_dry_run_and_exit_codes(demo_copy, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,99\n", encoding="utf-8")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(xlsx([HEADER.split(",")])[:300])
    generation = storage.current_generation(demo_copy)
    assert cli.main(["import", "--data", str(demo_copy), str(good), "--dry-run", "--json"]) == 0
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert {k: line[k] for k in ("file", "table", "rows_read", "loaded", "rejected", "skipped")} == {
        "file": "good.csv", "table": "services", "rows_read": 1, "loaded": 1, "rejected": 0, "skipped": 0}
    assert storage.current_generation(demo_copy) == generation  # dry run wrote nothing
    assert cli.main(["import", "--data", str(demo_copy), str(bad), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["errors"][0]
    assert error["row"] == 2 and error["column"] == "服务时长（小时）" and "bad.csv 第2行" in error["reason"]
    assert cli.main(["import", "--data", str(demo_copy), str(broken), str(good)]) == 2
    out = capsys.readouterr().out
    assert "无法打开 Excel 文件" in out
    assert cli.main(["import", "--data", str(demo_copy), str(good), "--table", "服务台账"]) == 0


def test_templates_command(tmp_path, capsys):
    assert cli.main(["templates", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == len(ingest.ORDER) and "社区评价表模板.xlsx" in names
    book = openpyxl.load_workbook(tmp_path / "服务台账模板.xlsx")
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:2] == ("记录编号", "服务日期") and len(rows) == 2


def test_xlsx_refused_without_defusedxml(monkeypatch):
    import openpyxl as ox

    monkeypatch.setattr(ox, "DEFUSEDXML", False)
    with pytest.raises(read.ReadError) as info:
        read.read(xlsx([HEADER.split(",")]))
    assert info.value.kind == "xml_unsafe"


def test_generations_replace_the_top_level_files(demo_copy):
    for day in ("2025-04-01", "2025-04-02", "2025-04-03"):
        run(demo_copy, [(f"{day}.csv", f"{HEADER}\n{day},李明强,县卫生健康局,河阳社区,送政策,2\n")])
    assert storage.current_generation(demo_copy) == "000003"
    assert sorted(p.name for p in (demo_copy / "tables").iterdir()) == ["000002", "000003"]
    assert not list(demo_copy.glob("*.parquet"))  # superseded by the generations
    demo = pd.read_parquet(DEMO_DIR / "services.parquet")
    approved = int((demo["review_status"] == "已通过").sum())  # the figures count approved records only
    assert Store(demo_copy).query("data_range").iloc[0]["records"] == approved + 3  # a ledger without 审核状态
    assert len(list((demo_copy / "archive").iterdir())) == 3


def _xls(rows, merges=()) -> bytes:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("台账")
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if (r, c) in {(a, b) for a, _, b, _ in merges} or not any(a <= r <= b and c0 <= c <= c1
                                                                       for a, b, c0, c1 in merges):
                sheet.write(r, c, value, date_style if isinstance(value, dt.date) else xlwt.Style.default_style)
    for r1, r2, c1, c2 in merges:
        sheet.merge(r1, r2, c1, c2)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_old_xls_with_title_merges_and_date_cells(demo_copy):
    data = _xls([["平陆县在职党员进社区服务台账"], HEADER.split(","),
                 [dt.date(2025, 4, 1), "李明强", "县卫生健康局", "河阳社区", "送政策", 2.5],
                 [None, "刘波飞", "县卫生健康局", "新夏社区", "义诊", "1.5小时"]],
                merges=[(0, 0, 0, 5), (2, 3, 0, 0)])
    assert data.startswith(read.XLS_MAGIC)
    sheet = read.read(data).sheets[0]
    assert sheet.rows[3][1][0] == "2025-04-01"  # the merged date reaches the second row
    report = run(demo_copy, [("台账.xls", data)])[0].reports[0]
    assert (report.rows_read, report.loaded, report.rejected) == (2, 2, 0), [e.reason("x") for e in report.errors]
    assert report.header_row == 2
