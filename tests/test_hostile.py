"""The hardening corpus (issue 18): files a careless or hostile sender may upload. Each is answered
within its bounds: read correctly, or refused with a reason, the store unchanged."""

from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest

from hostile import handwritten_xlsx, openpyxl_no_refs, xlsxwriter_no_refs
from redservice import ingest, storage
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
