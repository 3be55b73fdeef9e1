"""Excel exports: a table with its title, period, the filters in force and the data's date
written above the header, so a downloaded file says what it contains."""

from __future__ import annotations

import io
import re

import pandas as pd

from redservice import fmt
from redservice.filters import DIMENSIONS, Filters, Scope
from redservice.i18n import t

# Every workbook we write stores user text as text: a cell reading "=HYPERLINK(…)" or "=cmd|…" is a
# string, never a live formula or link (xlsxwriter would otherwise turn such strings into formulas).
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def excel_writer(buf) -> pd.ExcelWriter:
    """A pandas ExcelWriter (xlsxwriter) that writes every string as a string."""
    return pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": dict(WORKBOOK_OPTIONS)})


_DIM_LABEL = {"counties": "filter.county", "units": "filter.unit", "branches": "filter.branch", "communities": "filter.community",
              "categories": "filter.category", "forms": "filter.form"}


def describe_scope(scope: Scope | None, lang: str = "zh") -> str | None:
    """"查看范围：本单位（县住建局）" when the viewer sees only some units or communities, else None."""
    if scope is None:
        return None
    joiner = "、" if lang == "zh" else ", "
    if scope.units is not None:
        return t("export.scope_units", lang, names=joiner.join(scope.units))
    if scope.communities is not None:
        return t("export.scope_communities", lang, names=joiner.join(scope.communities))
    if scope.counties is not None:
        return t("export.scope_counties", lang, names=joiner.join(scope.counties))
    return None


def describe_filters(filters: Filters, lang: str = "zh", scope: Scope | None = None,
                     counties: tuple[str, ...] = ()) -> list[str]:
    """Human lines: the period, the level when the store is a city's and no county is chosen or in
    scope ("范围：全市13个县（市、区）"; ``counties``: the store's counties within the scope), the
    viewer's scope when it limits what they see ("查看范围：本单位（县住建局）"), then one line per
    active filter ("单位：县住建局、县人民医院")."""
    sep = "：" if lang == "zh" else ": "
    lines = [t("filter.period", lang) + sep + fmt.date_range(filters.start, filters.end, lang)]
    if len(counties) > 1 and filters.counties is None and (scope is None or scope.counties is None):
        lines.append(t("export.level", lang, n=len(counties)))
    scoped = describe_scope(scope, lang)
    if scoped:
        lines.append(scoped)
    active = 0
    for dim in DIMENSIONS:
        values = getattr(filters, dim)
        if values is not None:
            lines.append(t(_DIM_LABEL[dim], lang) + sep + ("、" if lang == "zh" else ", ").join(values))
            active += 1
    if not active:
        lines.append(t("export.no_filters_scoped" if scoped else "export.no_filters", lang))
    return lines


def safe_filename(text: str, extension: str) -> str:
    """A file name from a Chinese title: keeps CJK, letters and digits; drops path characters."""
    clean = re.sub(r"[\\/:*?\"<>|\s]+", "_", text).strip("._") or "export"
    return f"{clean[:80]}.{extension}"


def to_excel(df: pd.DataFrame, title: str, filters: Filters, lang: str = "zh",
             columns: dict[str, str] | None = None, data_until=None, scope: Scope | None = None,
             counties: tuple[str, ...] = ()) -> bytes:
    """An .xlsx file: title, scope and filter lines and data date on top, then the table with
    labelled columns."""
    table = df.rename(columns=columns) if columns else df
    if columns:
        table = table[[c for c in columns.values() if c in table.columns]]
    header = [title, *describe_filters(filters, lang, scope, counties)]
    if data_until is not None:
        header.append(t("app.data_until", lang, date=fmt.date(data_until, lang)))
    buf = io.BytesIO()
    with excel_writer(buf) as writer:
        sheet_name = t("export.sheet", lang)
        table.to_excel(writer, sheet_name=sheet_name, startrow=len(header) + 1, index=False)
        sheet = writer.sheets[sheet_name]
        bold = writer.book.add_format({"bold": True, "font_size": 14})
        for i, line in enumerate(header):
            sheet.write_string(i, 0, line, bold if i == 0 else None)
        for j, col in enumerate(table.columns):
            width = max([len(str(col))] + [len(str(v)) for v in table[col].head(200)]) + 2
            sheet.set_column(j, j, min(40, max(8, width * 1.6)))
    return buf.getvalue()
