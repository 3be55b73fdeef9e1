"""Excel exports carry the title and the filters in force above the table."""

import datetime as dt
import io

import openpyxl
import pandas as pd

from redservice import export
from redservice.filters import Filters


def test_excel_has_title_filters_and_labelled_columns():
    f = Filters.make(dt.date(2025, 1, 1), dt.date(2025, 3, 31), units=["县住建局"])
    df = pd.DataFrame({"community": ["北城社区"], "hours": [12.5]})
    data = export.to_excel(df, "社区服务排行", f, "zh", {"community": "社区", "hours": "服务时长（小时）"},
                           dt.date(2025, 3, 31))
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    assert rows[0][0] == "社区服务排行"
    assert rows[1][0] == "统计期间：2025年1月1日—3月31日"
    assert rows[2][0] == "单位：县住建局"
    assert rows[3][0] == "数据截至2025年3月31日"
    assert rows[5][:2] == ("社区", "服务时长（小时）") and rows[6][:2] == ("北城社区", 12.5)


def test_filenames_are_safe():
    assert export.safe_filename("社区/服务:排行 2025", "xlsx") == "社区_服务_排行_2025.xlsx"
    assert export.safe_filename("../..", "png") == "export.png"


PAYLOADS = ['=HYPERLINK("http://x","点击")', "=cmd|' /C calc'!A0", "=1+2", "+1+2", "-1+2", "@SUM(A1)",
            "\t=1+2", "\r=1+2", "http://example.com/x"]


def test_user_text_is_written_as_text_never_as_a_formula():
    from xlsx_check import live_cells

    f = Filters.make(dt.date(2025, 1, 1), dt.date(2025, 3, 31), units=["=1+2"])
    df = pd.DataFrame({"content": PAYLOADS, "n": range(len(PAYLOADS))})
    data = export.to_excel(df, "=HYPERLINK(\"http://x\")", f, "zh", {"content": "=SUM(1)", "n": "n"})
    assert live_cells(data) == []
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.values)
    # the text itself is kept (a CR is stored as the OOXML escape _x000D_, which Excel shows as CR)
    assert [r[0].replace("_x000D_", "\r") for r in rows[-len(PAYLOADS):]] == PAYLOADS


def test_rejected_rows_and_templates_hold_no_formula():
    from xlsx_check import live_cells

    from redservice import ingest
    from redservice.ingest.report import FileReport, RowError

    report = FileReport("台账.csv", header=["服务日期", "=1+2"])
    error = RowError(2, "服务日期", "required")
    report.rejected_rows.append(("", 2, ['=HYPERLINK("http://x","点击")', "=cmd|' /C calc'!A0"], [error]))
    report.errors.append(error)
    report.rejected = 1
    assert live_cells(ingest.rejected_excel([report])) == []
    for table in ingest.ORDER:
        assert live_cells(ingest.template_xlsx(table)) == []


def test_a_download_given_as_a_function_is_made_when_written_and_equals_the_table():
    """ui.download_excel takes the table or a function that makes it (a table shaped for Excel only
    is then made when the workbook is written, not on every run of the page): the same workbook."""
    import datetime as dt
    import io

    import openpyxl
    import pandas as pd

    from redservice import config, ui
    from redservice.filters import EVERYTHING, Filters

    df = pd.DataFrame({"unit": ["U1", "U2"], "reporting_rate": [87.5, None], "hours": [1.5, 2.0]})
    ctx = ui.Context("unused", "v", "zh", EVERYTHING, Filters.make(dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
                     "custom", dt.date(2024, 1, 1), dt.date(2025, 3, 31), config.settings())
    made = []

    def shaped():
        made.append(1)
        return df

    captured: dict = {}
    ui.capture(captured)
    try:
        ui.download_excel(ctx, df, "单位评分表", {"unit": "单位"}, key="eager")
        ui.download_excel(ctx, shaped, "单位评分表", {"unit": "单位"}, key="lazy")
    finally:
        ui.capture(None)
    assert made == []  # not made while the page runs

    def cells(data: bytes) -> list:
        return [[c.value for c in row] for ws in openpyxl.load_workbook(io.BytesIO(data)).worksheets
                for row in ws.iter_rows()]

    assert cells(captured["lazy"][2]()) == cells(captured["eager"][2]()) and made == [1]
