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
