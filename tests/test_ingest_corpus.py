"""A corpus of malformed ledgers, generated here: the importer never raises, every file either
fails as a whole with a reason or accounts for every row (loaded + rejected + skipped = rows read);
and a hypothesis round trip: whatever valid rows are written, in whatever encoding and format,
come back out of the store as they went in."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SMALL, write_store
from redservice import ingest, storage
from redservice.config import DEMO_DIR
from redservice.privacy import household_hash

TODAY = dt.date(2025, 6, 30)
H = ["服务日期", "姓名", "所属单位", "服务社区", "服务类别", "服务时长（小时）"]
GOOD = ["2025-04-01", "李明强", "县卫生健康局", "河阳社区", "送政策", "2"]
GOOD2 = ["2025-04-02", "刘波飞", "县卫生健康局", "新夏社区", "义诊", "1.5"]


def csv_text(rows, sep=",", newline="\n") -> str:
    def cell(c):
        c = str(c)
        return f'"{c}"' if any(ch in c for ch in (sep, '"', "\n")) and not c.startswith('"') else c
    return newline.join(sep.join(cell(c) for c in row) for row in rows) + newline


def xlsx(rows, merges=(), sheets=None, hidden=()) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, content in (sheets or {"台账": rows}).items():
        ws = book.create_sheet(name)
        for row in content:
            ws.append(row)
        if name in hidden:
            ws.sheet_state = "hidden"
    for rng in merges:
        book.worksheets[0].merge_cells(rng)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def replace_in_zip(data: bytes, member: str, content: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info.filename, content if info.filename == member else src.read(info.filename))
    return buf.getvalue()


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
          + b"<si><t>&lol9;</t></si></sst>")


def bomb_sheet() -> bytes:
    base = xlsx([H, GOOD])
    sheet = zipfile.ZipFile(io.BytesIO(base)).read("xl/worksheets/sheet1.xml")
    doctype = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    if sheet.startswith(b"<?xml"):
        head, _, rest = sheet.partition(b"?>")
        evil = head + b"?>" + doctype + rest
    else:
        evil = doctype + sheet
    return replace_in_zip(base, "xl/worksheets/sheet1.xml", evil)


def zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx([H, GOOD]))) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info.filename, src.read(info.filename))
        out.writestr("xl/media/zeros.bin", b"\0" * (3 * 1024 * 1024))  # 3 MB of zeros, a few KB packed
    return buf.getvalue()


def rows_of(n):
    return [[f"2025-04-{(i % 28) + 1:02d}", "李明强", "县卫生健康局", "河阳社区", "送政策", "1"] for i in range(n)]


# name -> (bytes, expected fatal kind or None, expected (rows_read, loaded, rejected, skipped) or None)
def corpus() -> dict:
    good = csv_text([H, GOOD, GOOD2])
    c = {
        "empty.csv": (b"", "empty", None),
        "whitespace.csv": (b"  \r\n\r\n \t", "empty", None),
        "header_only.csv": (csv_text([H]).encode(), None, (0, 0, 0, 0)),
        "header_only.xlsx": (xlsx([H]), None, (0, 0, 0, 0)),
        "utf8.csv": (good.encode("utf-8"), None, (2, 2, 0, 0)),
        "utf8_bom.csv": (good.encode("utf-8-sig"), None, (2, 2, 0, 0)),
        "gbk.csv": (good.encode("gbk"), None, (2, 2, 0, 0)),
        "gb18030.csv": (csv_text([H, GOOD, GOOD2[:5] + ["1.5"], ["2025-04-03", "䶮𠀀", "县卫生健康局", "河阳社区",
                                                               "送政策", "1"]]).encode("gb18030"), None, (3, 2, 1, 0)),
        "utf16_tab.csv": (csv_text([H, GOOD, GOOD2], sep="\t").encode("utf-16"), None, (2, 2, 0, 0)),
        "utf16_be.csv": (b"\xfe\xff" + good.encode("utf-16-be"), None, (2, 2, 0, 0)),
        "utf16_no_bom.csv": (good.encode("utf-16-le"), None, (2, 2, 0, 0)),
        "mixed_encoding.csv": (csv_text([H, GOOD]).encode("utf-8") + csv_text([GOOD2]).encode("gbk"), None,
                               (2, 1, 1, 0)),
        "binary.csv": (bytes(range(256)) * 2, "no_header", None),
        "truncated.xlsx": (xlsx([H, GOOD])[:700], "broken_workbook", None),
        "pk_garbage.xlsx": (b"PK\x03\x04" + b"\x00garbage" * 50, "broken_workbook", None),
        "truncated.xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "broken_workbook", None),
        "xml_bomb_strings.xlsx": (replace_in_zip(xlsx([H, GOOD]), "xl/sharedStrings.xml", LAUGHS)
                                  if "xl/sharedStrings.xml" in zipfile.ZipFile(io.BytesIO(xlsx([H, GOOD]))).namelist()
                                  else replace_in_zip(xlsx([H, GOOD]), "xl/workbook.xml", LAUGHS), "xml_bomb", None),
        "xml_bomb_sheet.xlsx": (bomb_sheet(), "xml_bomb", None),
        "zip_bomb.xlsx": (zip_bomb(), "zip_bomb", None),
        "oversized.csv": (csv_text([H] + rows_of(1200)).encode(), "too_large", None),
        "too_many_rows.csv": (csv_text([H] + rows_of(60)).encode(), "too_many_rows", None),
        "duplicate_headers_same.csv": (csv_text([H + ["日期"], GOOD + ["2025/4/1"]]).encode(), None, (1, 1, 0, 0)),
        "duplicate_headers_differ.csv": (csv_text([H + ["日期"], GOOD + ["2025/4/9"]]).encode(), None, (1, 0, 1, 0)),
        "bare_cr.csv": ((",".join(H) + ",服务内容\n" + ",".join(GOOD) + ",第一行\r第二行\n" + ",".join(GOOD2) + ",x\n")
                        .encode(), None, (2, 2, 0, 0)),
        "crlf.csv": (csv_text([H, GOOD, GOOD2], newline="\r\n").encode(), None, (2, 2, 0, 0)),
        "cr_only.csv": (csv_text([H, GOOD, GOOD2], newline="\r").encode(), None, (2, 2, 0, 0)),
        "quoted_newline.csv": (csv_text([H + ["服务内容"], GOOD + ["送饭\n送药"]]).encode(), None, (1, 1, 0, 0)),
        "unbalanced_quote.csv": ((",".join(H) + "\n" + ",".join(GOOD[:5]) + ',"2\n' + ",".join(GOOD2) + "\n").encode(),
                                 None, (1, 0, 1, 0)),
        "nul_bytes.csv": (csv_text([H, GOOD]).encode() + b"2025-04-02,\x00\x00,x,y,z,1\n", None, (2, 1, 1, 0)),
        "extra_columns.csv": (csv_text([["序号"] + H + ["填表人", ""], ["1"] + GOOD + ["王", "?"]]).encode(), None,
                              (1, 1, 0, 0)),
        "missing_column.csv": (csv_text([H[:5], GOOD[:5], GOOD2[:5]]).encode(), None, (2, 0, 2, 0)),
        "unrelated.csv": (csv_text([["a", "b", "c"], ["1", "2", "3"]]).encode(), "no_header", None),
        "title_rows.csv": (csv_text([["平陆县在职党员进社区服务台账"], ["填报单位：县卫生健康局", "", "2025年4月"], H, GOOD])
                           .encode("gbk"), None, (1, 1, 0, 0)),
        "header_too_low.csv": (csv_text([["说明"]] * 31 + [H, GOOD]).encode(), "no_header", None),
        "excel_serials.csv": (csv_text([H, ["45748"] + GOOD[1:], ["45749.0"] + GOOD2[1:]]).encode(), None,
                              (2, 2, 0, 0)),
        "full_width.csv": (csv_text([H, ["２０２５－０４－０１", "李明强", "县卫生健康局", "河阳社区", "送政策", "２．５小时"]])
                           .encode(), None, (1, 1, 0, 0)),
        "spaces.csv": (csv_text([[h + " " for h in H], [" 2025/4/1 ", "李　明强 ", "县卫生健康局\u00a0", " 河阳社区", "送政策 ",
                                                         " 2 "]]).encode(), None, (1, 1, 0, 0)),
        "totals_and_blanks.csv": (csv_text([H, GOOD, [""] * 6, ["小计", "", "", "", "", "2"], GOOD2, ["", ""],
                                            ["合 计", "", "", "", "", "3.5"]]).encode(), None, (6, 2, 0, 4)),
        "ragged.csv": (csv_text([H, GOOD[:3], GOOD2 + ["extra", "more"]]).encode(), None, (2, 1, 1, 0)),
        "semicolon.csv": (csv_text([H, GOOD], sep=";").encode(), None, (1, 1, 0, 0)),
        "merged.xlsx": (xlsx([["服务台账"], H, GOOD, [None, "刘波飞", None, "新夏社区", "义诊", 1.5]],
                             merges=["A1:F1", "A3:A4", "C3:C4"]), None, (2, 2, 0, 0)),
        "sheets.xlsx": (xlsx(None, sheets={"1月": [H, GOOD], "2月": [["标题"], H, GOOD2], "说明": [["填表说明"]]}),
                        None, (2, 2, 0, 0)),
        "hidden_sheet.xlsx": (xlsx(None, sheets={"台账": [H, GOOD], "隐藏": [H, GOOD2]}, hidden=("隐藏",)), None,
                              (1, 1, 0, 0)),
        "scientific_ids.csv": (csv_text([["记录编号"] + H, ["1.23457E+17"] + GOOD]).encode(), None, (1, 0, 1, 0)),
        "formula.xlsx": (xlsx([H, GOOD[:5] + ["=1+1"]]), None, (1, 0, 1, 0)),
        "date_cells.xlsx": (xlsx([H, [dt.datetime(2025, 4, 1)] + GOOD[1:5] + [2.5], [dt.date(2025, 4, 2)] + GOOD2[1:]]),
                            None, (2, 2, 0, 0)),
        # a field over [import] max_field_chars (2,000) is rejected, quoted by its first 50 characters
        "huge_cell.csv": (csv_text([H + ["服务内容"], GOOD + ["很长" * 200_000]]).encode(), None, (1, 0, 1, 0)),
        "prenumbered.csv": (csv_text([["序号"] + H, ["1"] + GOOD, ["2"] + [""] * 6, ["3"] + [""] * 6]).encode(), None,
                            (3, 1, 0, 2)),
        "xlsx_named_csv.csv": (xlsx([H, GOOD]), None, (1, 1, 0, 0)),
        "marked_headers.csv": (csv_text([["服务日期*", "姓名(必填)", "所属单位", "服务社区", "服务类别", "服务时长(小时)*"], GOOD])
                               .encode(), None, (1, 1, 0, 0)),
        "bad_values.csv": (csv_text([H, ["2025-02-30"] + GOOD[1:], GOOD[:5] + ["-1"], ["2030-01-01"] + GOOD[1:],
                                     GOOD[:4] + ["", "2"]]).encode(), None, (4, 0, 4, 0)),
        "exact_duplicates.csv": (csv_text([H, GOOD, GOOD, [" 2025/4/1"] + GOOD[1:]]).encode(), None, (3, 1, 0, 2)),
        "wishes_words.csv": (csv_text([["心愿编号", "社区", "心愿内容", "提出日期", "认领日期", "办结日期", "满意度"],
                                       ["XYT1", "河阳社区", "修水管", "2025/4/1", "2025/4/2", "2025/4/3", "满意"],
                                       ["XYT2", "河阳社区", "修水管", "2025/4/5", "2025/4/2", "", "很好"]]).encode(),
                              None, (2, 1, 1, 0)),
        "members_conflict.csv": (csv_text([["党员编号", "姓名", "所属单位", "报到社区", "报到日期"],
                                           ["T001", "新党员", "县卫生健康局", "河阳社区", "2025-04-01"],
                                           ["T001", "新党员", "县卫生健康局", "河阳社区", "2025-04-02"]]).encode(),
                                 None, (2, 1, 1, 0)),
    }
    return c


CORPUS = corpus()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    target = tmp_path_factory.mktemp("corpus") / "store"
    shutil.copytree(DEMO_DIR, target)
    (target / "config.toml").write_text("[import]\nmax_file_mb = 0.05\nmax_unzipped_mb = 2\nmax_rows = 50\n",
                                        encoding="utf-8")
    return target


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_file(store, name):
    data, fatal, counts = CORPUS[name]
    if name == "huge_cell.csv":
        (store / "config.toml").write_text("[import]\nmax_file_mb = 5\n", encoding="utf-8")
    try:
        batch = ingest.prepare(store, [ingest.Source(name, data)], today=TODAY)
    finally:
        (store / "config.toml").write_text("[import]\nmax_file_mb = 0.05\nmax_unzipped_mb = 2\nmax_rows = 50\n",
                                            encoding="utf-8")
    report = batch.reports[0]
    assert report.loaded + report.rejected + report.skipped_total == report.rows_read
    assert len(report.rejected_rows) == report.rejected
    for error in report.errors:
        assert error.row >= 1 and name in error.reason(name) and "行" in error.reason(name)
    if fatal:
        assert report.fatal and report.fatal[0] == fatal, (report.fatal, report.errors)
        assert report.fatal_reason() and batch.exit_code() == 2
    else:
        assert report.fatal is None, report.fatal_reason()
        got = (report.rows_read, report.loaded, report.rejected, report.skipped_total)
        assert got == counts, [e.reason(name) for e in report.errors]
        assert report.as_json()["rows_read"] == counts[0]


def test_whole_corpus_in_one_commit(store):
    sources = [ingest.Source(name, data) for name, (data, _, _) in CORPUS.items() if name != "huge_cell.csv"]
    batch, generation = ingest.run(store, sources, today=TODAY)
    assert generation and batch.exit_code() == 2
    assert all(r.balanced for r in batch.reports)
    # the rejected rows of every file come back as one workbook with a 错误原因 column
    book = openpyxl.load_workbook(io.BytesIO(ingest.rejected_excel(batch.reports)), read_only=True)
    first = next(book.worksheets[0].iter_rows(values_only=True))
    assert first[-1] == "错误原因"


# -- hypothesis round trip ----------------------------------------------------------------------------
MEMBERS = [m for m in SMALL["members"]]
DATE_FORMS = [lambda d: d.isoformat(), lambda d: f"{d.year}/{d.month}/{d.day}", lambda d: f"{d.year}.{d.month}.{d.day}",
              lambda d: f"{d.year}年{d.month}月{d.day}日", lambda d: str((d - dt.date(1899, 12, 30)).days),
              lambda d: d.isoformat().translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))]
HOUR_FORMS = [lambda h: f"{h:g}", lambda h: f"{h:g}小时", lambda h: f" {h:g} ", lambda h: f"{h:g}h",
              lambda h: f"{h:g}".translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))]
SEPARATORS = ["、", "，", ",", "；", ";", " "]

row_strategy = st.fixed_dictionaries({
    "member": st.sampled_from(MEMBERS),
    "date": st.dates(dt.date(2020, 1, 1), TODAY),
    "hours": st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 8.0, 24.0]),
    "persons": st.integers(0, 500),
    "households": st.lists(st.text("ABC0123456789-号楼", min_size=1, max_size=8).filter(lambda s: s.strip("-")),
                           max_size=4, unique=True),
    "category": st.sampled_from(["送政策", "义诊", "送热饭", "环境整治"]),
    "date_form": st.integers(0, len(DATE_FORMS) - 1),
    "hour_form": st.integers(0, len(HOUR_FORMS) - 1),
    "sep": st.sampled_from(SEPARATORS),
    "pad": st.sampled_from(["", " ", "\u3000"]),
})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, min_size=1, max_size=12),
       fmt=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "xlsx"]),
       title=st.booleans(), blanks=st.integers(0, 2))
def test_round_trip(tmp_path_factory, rows, fmt, title, blanks):
    directory = write_store(tmp_path_factory.mktemp("rt") / "s", **SMALL)
    header = ["记录编号", "服务日期", "姓名", "所属单位", "服务社区", "服务类别", "服务时长（小时）", "服务人次", "服务户号"]
    table = [["平陆县服务台账"]] if title else []
    table.append(header)
    table.extend([[""] * len(header)] * blanks)  # blank rows between the header and the data
    for i, r in enumerate(rows):
        m = r["member"]
        table.append([f"RT{i:04d}", DATE_FORMS[r["date_form"]](r["date"]), r["pad"] + m["name"] + r["pad"], m["unit"],
                      m["community"], r["category"], HOUR_FORMS[r["hour_form"]](r["hours"]), str(r["persons"]),
                      r["sep"].join(r["households"])])
    data = xlsx(table) if fmt == "xlsx" else csv_text(table).encode(fmt)
    batch, _ = ingest.run(directory, [ingest.Source(f"rt.{'xlsx' if fmt == 'xlsx' else 'csv'}", data)], today=TODAY)
    report = batch.reports[0]
    assert report.balanced and report.rejected == 0, [e.reason("rt") for e in report.errors]
    assert report.loaded == len(rows) and report.skipped["blank"] == blanks
    services = storage.read_table(directory, "services").to_pandas().set_index("record_id")
    links = storage.read_table(directory, "service_households").to_pandas()
    key = (directory / ".household_key").read_text().strip().encode()
    for i, r in enumerate(rows):
        got = services.loc[f"RT{i:04d}"]
        m = r["member"]
        assert got["date"] == r["date"] and got["hours"] == r["hours"] and got["persons"] == r["persons"]
        assert (got["member_id"], got["name"], got["unit"], got["community"], got["category"]) == (
            m["member_id"], m["name"], m["unit"], m["community"], r["category"])
        mine = set(links.loc[links["record_id"] == f"RT{i:04d}", "household"])
        codes = {c for c in r["households"]}
        assert mine == {household_hash(c, key) for c in codes}
