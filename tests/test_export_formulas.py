"""Every workbook the app and the command line write, with formula payloads in the store (imported
through the importer, as a county's ledgers would bring them): no formula cell, no hyperlink."""

from __future__ import annotations

import io

import openpyxl
import pytest

from conftest import SMALL, write_store
from redservice import cli, ingest, page_exports
from xlsx_check import live_cells

UNIT = "=cmd|' /C calc'!A0"
WISH = '=HYPERLINK("http://x","点击")'
PHONE = "=1+2"
FILES = {
    "单位名录.csv": f"单位名称,单位类别,包联社区\n{UNIT},@SUM(1),A社区\n",
    "报到名册.csv": f"党员编号,姓名,所属单位,报到社区,报到日期,联系电话\nP1,张三丰,{UNIT},A社区,2025-01-05,{PHONE}\n"
                  f"P2,李四光,{UNIT},A社区,2025-01-05,{PHONE}\n",
    "服务台账.csv": f"记录编号,服务日期,党员编号,姓名,所属单位,服务社区,服务类别,服务时长（小时）,服务内容\n"
                  f"X1,2025-03-02,P1,张三丰,{UNIT},A社区,+1+2,2,-1+2\n",
    "微心愿清单.csv": f'心愿编号,社区,心愿内容,提出日期,认领单位\nW9,A社区,"{WISH.replace(chr(34), chr(34) * 2)}",2025-03-01,{UNIT}\n',
}


@pytest.fixture(scope="module")
def payload_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("payload")
    store = write_store(root / "store", **SMALL)
    paths = []
    for name, text in FILES.items():
        (root / name).write_text(text, encoding="utf-8")
        paths.append(str(root / name))
    assert cli.main(["import", "--data", str(store), "--add-new-names", *paths]) == 0
    return store


def cells(data: bytes) -> set:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None}


def test_every_page_export_writes_text_not_formulas(payload_store, tmp_path):
    seen, written = set(), []
    for code, _, _ in page_exports.listing():
        try:
            _, data = page_exports.build(code, payload_store, {})
        except page_exports.ExportError:
            continue  # nothing to export for this selection (no Red Service Day missed …)
        assert live_cells(data) == [], code
        written.append(code)
        seen |= cells(data)
    assert {"scorecard", "inactive", "open_wishes", "communities", "categories"} <= set(written)
    assert {UNIT, WISH, PHONE, "+1+2"} <= seen  # the payloads are in the workbooks, as text


def test_cli_export_and_rejected_rows_and_templates_hold_no_formula(payload_store, tmp_path, capsys):
    out = tmp_path / "scorecard.xlsx"
    assert cli.main(["export", "单位评分表", "--data", str(payload_store), "--out", str(out)]) == 0
    assert live_cells(out.read_bytes()) == [] and UNIT in cells(out.read_bytes())
    bad = f"服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n{PHONE},{WISH.replace(',', '，')},{UNIT},A社区,义诊,x\n"
    batch = ingest.prepare(payload_store, [ingest.Source("bad.csv", bad.encode())])
    assert batch.rejected == 1
    data = ingest.rejected_excel(batch.reports)
    assert live_cells(data) == [] and PHONE in cells(data) and UNIT in cells(data)
    assert cli.main(["templates", "--out", str(tmp_path / "tpl")]) == 0
    for path in (tmp_path / "tpl").iterdir():
        assert live_cells(path.read_bytes()) == []


def test_export_list_and_unknown_names(capsys):
    assert cli.main(["export", "--list"]) == 0
    listed = capsys.readouterr().out
    for name in ("单位评分表", "未参与党员", "未办结", "各社区服务情况", "各服务类别服务情况"):
        assert name in listed
    assert cli.main(["export", "没有这个", "--out", "x.xlsx"]) == 2
    assert "export --list" in capsys.readouterr().err
