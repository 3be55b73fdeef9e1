"""The hardening corpus (issue 18): files a careless or hostile sender may upload. Each is answered
within its bounds: read correctly, or refused with a reason, the store unchanged."""

from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest

from hostile import handwritten_xlsx, openpyxl_no_refs, xlsxwriter_no_refs
from redservice import ingest
from redservice.config import DEMO_DIR
from redservice.ingest.read import read

TODAY = dt.date(2025, 6, 30)
UNITS_H = ["单位名称", "单位类别", "包联社区"]
SHIFT = [UNITS_H, ["移位测试单位", None, "河阳社区"], [None, "机关", "北城社区"], ["另一单位", "机关", None]]
NO_REFS = {"handwritten": handwritten_xlsx(SHIFT), "openpyxl": openpyxl_no_refs(SHIFT),
           "xlsxwriter": xlsxwriter_no_refs(SHIFT)}


@pytest.fixture
def store(tmp_path):
    target = tmp_path / "store"
    shutil.copytree(DEMO_DIR, target)
    return target


@pytest.mark.parametrize("writer", sorted(NO_REFS))
def test_cells_without_references_keep_their_columns(writer):
    data = NO_REFS[writer]
    assert b' r="B2"' not in data  # no cell reference anywhere
    rows = read(data).sheets[0].rows
    assert rows[1][1] == ["移位测试单位", "", "河阳社区"]
    assert rows[2][1] == ["", "机关", "北城社区"]
    assert rows[3][1] == ["另一单位", "机关"]


def test_openpyxl_agrees_on_the_handwritten_file(tmp_path):
    path = tmp_path / "h.xlsx"
    path.write_bytes(NO_REFS["handwritten"])
    ws = openpyxl.load_workbook(path).active
    assert [c.value for c in ws[2]][:3] == ["移位测试单位", None, "河阳社区"]


@pytest.mark.parametrize("writer", sorted(NO_REFS))
def test_no_reference_rows_are_stored_in_their_columns(store, writer):
    batch = ingest.prepare(store, [ingest.Source(f"{writer}.xlsx", NO_REFS[writer])], add_new_names=True,
                           today=TODAY)
    report = batch.reports[0]
    assert report.table == "units" and report.fatal is None
    rows = {r["unit"]: r for r in batch.states["units"].rows.values()}
    assert rows["移位测试单位"]["category"] is None
    assert rows["移位测试单位"]["paired_community"] == "河阳社区"
    assert rows["另一单位"]["category"] == "机关"


# -- the hostile corpus: each file answered within its bounds ----------------------------------------------
from hostile import huge_name_inline, huge_shared_string, long_value_rows, lying_zip_bomb  # noqa: E402
from test_ingest_kill import snapshot  # noqa: E402

ODD_NAME = "**粗体**[链接](http://127.0.0.1:8999/x)" + "长" * 200 + "\u202e\x00.csv"
GOOD_CSV = ",".join(["服务日期", "姓名", "所属单位", "服务社区", "服务类别", "服务时长（小时）"]) + \
    "\n2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2\n"
HOSTILE = {
    # name: (bytes factory, file name, ("fatal", kind) | ("counts", (read, loaded, rejected, skipped)))
    "shared_string_400mb.xlsx": (lambda: huge_shared_string(400), None, ("fatal", "part_too_large")),
    "shared_string_10mb.xlsx": (lambda: huge_shared_string(10), None, ("counts", (1, 0, 1, 0))),
    "inline_name_10mb.xlsx": (lambda: huge_name_inline(10), None, ("counts", (2, 1, 1, 0))),
    "lying_zip_bomb.xlsx": (lambda: lying_zip_bomb(300), None, ("fatal", "broken_workbook")),
    "long_unknown_names.csv": (lambda: long_value_rows(2000, 5000), None, ("counts", (2000, 0, 2000, 0))),
    "odd_name.csv": (lambda: GOOD_CSV.encode(), ODD_NAME, ("counts", (1, 1, 0, 0))),
    # NUL is not allowed in XML: the sheet is not well-formed, the file is refused as a whole
    "nul_bytes.xlsx": (lambda: handwritten_xlsx([GOOD_CSV.splitlines()[0].split(","),
                                                 ["2025-04-01", "李明强", "县卫生\x00健康局", "河阳社区", "送政策", "2"]]),
                       None, ("fatal", "broken_workbook")),
    "nul_bytes.csv": (lambda: GOOD_CSV.encode() + b"2025-04-02,\x00\x00\x00,\x00,x,y,1\n", None,
                      ("counts", (2, 1, 1, 0))),
    "formula_cells.xlsx": (lambda: _formula_book(), None, ("counts", (2, 1, 1, 0))),
}


def _formula_book() -> bytes:
    """A ledger whose 服务时长 is a formula (=1+1, cached 2) and whose 姓名 is a formula with no cached
    value: the cached value is read, never the formula; no value, no row."""
    from hostile import _sheet

    head = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in GOOD_CSV.splitlines()[0].split(","))
    def row(name_cell, hours_cell):
        cells = ['<c t="inlineStr"><is><t>2025-04-01</t></is></c>', name_cell,
                 *(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ("县卫生健康局", "河阳社区", "送政策")), hours_cell]
        return "<row>" + "".join(cells) + "</row>"
    name = '<c t="inlineStr"><is><t>李明强</t></is></c>'
    xml = _sheet(f"<row>{head}</row>" + row(name, "<c><f>1+1</f><v>2</v></c>")
                 + row('<c t="str"><f>HYPERLINK("http://x","点击")</f></c>', "<c><f>1+1</f><v>2</v></c>"))
    return handwritten_xlsx([], sheet_xml=xml)


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    target = tmp_path_factory.mktemp("hostile") / "store"
    shutil.copytree(DEMO_DIR, target)
    return target


def _check(report, expect):
    what, value = expect
    if what == "fatal":
        assert report.fatal and report.fatal[0] == value, report.fatal
        assert len(report.fatal_reason()) < 400
    else:
        assert report.fatal is None, report.fatal_reason()
        got = (report.rows_read, report.loaded, report.rejected, report.skipped_total)
        assert got == value, [e.reason(report.file)[:300] for e in report.errors[:3]]
    for error in report.errors:
        assert len(error.detail()) <= 120, error.detail()[:300]  # a value is quoted by 50 characters at most
        if error.kind == "too_long":
            assert error.detail().endswith("…”") and "建议" not in error.detail()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_on_the_page(hostile_store, name):
    """The page's path: decoded in a child process with memory and time limits."""
    factory, file_name, expect = HOSTILE[name]
    batch = ingest.prepare(hostile_store, [ingest.Source(file_name or name, factory())], today=TODAY, isolate=True)
    _check(batch.reports[0], expect)
    assert batch.reports[0].file == (file_name or name)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_file_from_the_command_line(hostile_store, tmp_path, capsys, name):
    """The CLI's path (in process): the same answers, the documented exit code, the store unchanged
    where the file was refused."""
    from redservice import cli

    factory, file_name, expect = HOSTILE[name]
    path = tmp_path / ("odd.csv" if file_name else name)
    path.write_bytes(factory())
    before = snapshot(hostile_store)
    code = cli.main(["import", "--data", str(hostile_store), str(path), "--json"])
    out = capsys.readouterr().out
    if expect[0] == "fatal":
        assert code == 2 and snapshot(hostile_store) == before
    elif expect[1][2]:
        assert code == 1
    else:
        assert code == 0
    assert len(out) < 2_000_000  # no message repeats a 10 MB value


def test_field_limits_are_configurable(tmp_path):
    target = tmp_path / "store"
    shutil.copytree(DEMO_DIR, target)
    (target / "config.toml").write_text("[import]\nmax_name_chars = 3\n", encoding="utf-8")
    batch = ingest.prepare(target, [ingest.Source("a.csv", GOOD_CSV.encode())], today=TODAY)
    assert {e.kind for e in batch.reports[0].errors} == {"too_long"}


def test_a_child_that_runs_out_of_time_or_memory_is_a_reason(monkeypatch):
    from redservice.ingest import read as reader

    slow = reader.Limits(parse_timeout_s=0.05)
    with pytest.raises(reader.ReadError) as info:
        reader.read_isolated(huge_shared_string(50), slow)
    assert info.value.kind == "parse_timeout"
    small = reader.Limits(parse_memory_mb=60)
    with pytest.raises(reader.ReadError) as info:
        reader.read_isolated(huge_name_inline(60), small)
    assert info.value.kind in ("parse_memory", "parse_failed")
