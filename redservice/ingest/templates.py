"""The data contract's tables as code: template names, Chinese headers, aliases, field kinds, and
examples; recognising a table from a file's header row; writing the downloadable templates.

A header matches after NFKC (full-width brackets and letters become half-width), with spaces,
a trailing ``*`` or ``（必填）`` and a trailing colon removed, so ``服务时长(小时)``, ``服务时长（小时）``
and ``服务时长 （小时）*`` are the same header.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class Column:
    key: str  # the store's column (or a pseudo column such as "households")
    header: str  # the template header (data contract)
    kind: str  # text | name | person | code | date | hours | count | number | lon | lat | phone | households | satisfaction
    required: bool = False
    aliases: tuple[str, ...] = ()
    example: str = ""
    refers: str | None = None  # community | unit | branch | compound | member: a name the store must know
    note: str = ""  # what the template cell comment says


@dataclass(frozen=True)
class Template:
    table: str
    name: str  # 服务台账 …
    columns: tuple[Column, ...]
    key_help: str = ""

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    def lookup(self) -> dict[str, Column]:
        out: dict[str, Column] = {}
        for col in self.columns:
            for text in (col.header, *col.aliases):
                out.setdefault(normalise_header(text), col)
        return out


C = Column
TEMPLATES: dict[str, Template] = {
    t.table: t
    for t in (
        Template("communities", "社区名录", (
            C("community", "社区名称", "name", True, ("社区", "社区名"), "河阳社区"),
            C("households", "总户数", "count", True, ("户数", "总户数(户)", "户数(户)", "社区总户数"), "2860"),
            C("code", "社区编码", "code", False, ("编码", "社区代码", "社区编号"), "140829100006"),
            C("street", "所属街道（乡镇）", "name", False,
              ("所属街道", "所属乡镇", "街道", "乡镇", "街道(乡镇)", "街道乡镇"), "圣人涧镇"),
            C("county", "所属县（市、区）", "name", False, ("所属县", "县(市、区)", "县区", "所属县区", "县"), "平陆县"),
            C("population", "常住人口", "count", False, ("人口", "常住人口(人)"), "8611"),
            C("lon", "经度", "lon", False, (), "111.2134"),
            C("lat", "纬度", "lat", False, (), "34.8495"),
        )),
        Template("compounds", "小区名录", (
            C("compound", "小区名称", "name", True, ("小区", "小区名"), "虞国壹号小区"),
            C("community", "所属社区", "name", True, ("社区", "社区名称"), "河阳社区", refers="community"),
            C("households", "户数", "count", False, ("总户数", "户数(户)", "小区户数"), "320"),
            C("lon", "经度", "lon", False, (), "111.2140"),
            C("lat", "纬度", "lat", False, (), "34.8501"),
        )),
        Template("units", "单位名录", (
            C("unit", "单位名称", "name", True, ("单位", "单位名", "单位全称"), "县住建局"),
            C("category", "单位类别", "name", False, ("类别", "单位性质", "单位类型"), "党政机关"),
            C("paired_community", "包联社区", "name", False, ("包联", "结对社区", "共建社区", "联系社区"),
              "河阳社区", refers="community"),
        )),
        Template("branches", "党支部名录", (
            C("branch", "支部名称", "name", True, ("党支部", "党支部名称", "支部", "所在党支部"), "县住建局第一党支部"),
            C("unit", "所属单位", "name", True, ("单位", "单位名称"), "县住建局", refers="unit"),
            C("members_on_roll", "党员人数", "count", False, ("党员数", "人数", "在册党员"), "12"),
        )),
        Template("members", "报到名册", (
            C("member_id", "党员编号", "code", False, ("编号",), "PL00001"),
            C("name", "姓名", "person", True, ("党员姓名",), "张三"),
            C("unit", "所属单位", "name", True, ("单位", "工作单位", "单位名称"), "县住建局", refers="unit"),
            C("branch", "所在党支部", "name", False, ("党支部", "支部", "所属党支部"), "县住建局第一党支部",
              refers="branch"),
            C("community", "报到社区", "name", True, ("社区", "报到社区名称"), "河阳社区", refers="community"),
            C("reported_on", "报到日期", "date", True, ("报到时间",), "2025-03-05"),
            C("gender", "性别", "text", False, (), "男"),
            C("compound", "居住小区", "name", False, ("小区", "居住小区名称"), "虞国壹号小区", refers="compound"),
            C("phone", "联系电话", "phone", False, ("电话", "手机", "手机号", "联系方式", "手机号码"), "13800001234"),
        )),
        Template("services", "服务台账", (
            C("record_id", "记录编号", "code", False, ("编号", "记录号"), "FW2025030001"),
            C("date", "服务日期", "date", True, ("日期", "活动日期", "服务时间"), "2025-03-31"),
            C("member_id", "党员编号", "code", False, (), "PL00001"),
            C("name", "姓名", "person", True, ("党员姓名",), "张三"),
            C("unit", "所属单位", "name", True, ("单位", "工作单位", "单位名称"), "县住建局", refers="unit"),
            C("branch", "所在党支部", "name", False, ("党支部", "支部", "所属党支部"), "县住建局第一党支部",
              refers="branch"),
            C("community", "服务社区", "name", True, ("社区",), "河阳社区", refers="community"),
            C("compound", "服务小区", "name", False, ("小区",), "虞国壹号小区", refers="compound"),
            C("category", "服务类别", "name", True, ("类别", "服务类型", "服务项目"), "送政策"),
            C("form", "活动形式", "name", False, ("形式", "服务形式"), "红色服务日"),
            C("activity_id", "活动编号", "code", False, (), "HS202503"),
            C("content", "服务内容", "text", False, ("内容", "服务事项"), "入户讲解医保缴费政策"),
            C("households", "服务户号", "households", False, ("户号", "服务对象户号"), "3-2-301、3-2-302"),
            C("persons", "服务人次", "count", False, ("人次", "服务群众人次"), "2"),
            C("hours", "服务时长（小时）", "hours", True,
              ("时长", "服务时长", "时长(小时)", "志愿服务时长", "服务时长(h)", "时长(h)", "服务小时数"), "2.5"),
            C("note", "备注", "text", False, (), ""),
        )),
        Template("wishes", "微心愿清单", (
            C("wish_id", "心愿编号", "code", True, ("编号", "微心愿编号"), "XY2025001"),
            C("community", "社区", "name", True, ("所属社区", "社区名称"), "河阳社区", refers="community"),
            C("compound", "小区", "name", False, ("所属小区", "小区名称"), "虞国壹号小区", refers="compound"),
            C("content", "心愿内容", "text", True, ("内容", "需求内容", "微心愿", "心愿"), "为独居老人更换水龙头"),
            C("category", "类别", "name", False, ("心愿类别",), "生活帮扶"),
            C("posted_on", "提出日期", "date", True, ("提出时间", "发布日期"), "2025-03-02"),
            C("claim_unit", "认领单位", "name", False, (), "县住建局", refers="unit"),
            C("claimer", "认领人", "person", False, ("认领党员",), "张三"),
            C("claimed_on", "认领日期", "date", False, ("认领时间",), "2025-03-04"),
            C("completed_on", "办结日期", "date", False, ("完成日期", "办结时间"), "2025-03-10"),
            C("status", "状态", "name", False, ("办理状态", "心愿状态"), "已办结"),
            C("satisfaction", "满意度", "satisfaction", False, ("评价",), "满意"),
        )),
    )
}
# Dimension tables first, then records: a batch loads in this order.
ORDER = ("communities", "compounds", "units", "branches", "members", "services", "wishes")
BY_NAME = {t.name: t.table for t in TEMPLATES.values()}

_REQUIRED_MARK = re.compile(r"(\*|\(必填\)|必填)$")


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text))
    text = re.sub(r"\s+", "", text)
    text = text.rstrip(":：")
    text = _REQUIRED_MARK.sub("", text).lstrip("*")
    return text


def table_of(name: str) -> str | None:
    """A table from its English name or template name (``services``, ``服务台账``)."""
    name = (name or "").strip()
    if name in TEMPLATES:
        return name
    return BY_NAME.get(name) or BY_NAME.get(normalise_header(name))


@dataclass
class HeaderMatch:
    table: str
    row_index: int  # index into the sheet's rows
    row_number: int  # as Excel shows it
    fields: dict[str, list[int]]  # column key -> indices of the columns that carry it
    ignored: list[tuple[int, str]] = field(default_factory=list)  # (index, header text) outside the template
    missing_required: list[str] = field(default_factory=list)  # column keys

    @property
    def template(self) -> Template:
        return TEMPLATES[self.table]


def _score(cells: list[str], template: Template) -> tuple[dict[str, list[int]], list[tuple[int, str]]]:
    lookup = template.lookup()
    fields: dict[str, list[int]] = {}
    ignored = []
    for i, cell in enumerate(cells):
        norm = normalise_header(cell)
        if not norm:
            continue
        col = lookup.get(norm)
        if col is None:
            ignored.append((i, cell.strip()))
        else:
            fields.setdefault(col.key, []).append(i)
    return fields, ignored


def match_header(rows: list[tuple[int, list[str]]], table: str | None = None) -> HeaderMatch | None:
    """Find the header row among the first rows (title rows may sit above it) and the table it
    belongs to. With ``table`` given only that template is tried."""
    candidates = [TEMPLATES[table]] if table else [TEMPLATES[t] for t in ORDER]
    best = None
    best_rank = None
    for index, (number, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        if not any(c.strip() for c in cells):
            continue
        for template in candidates:
            fields, ignored = _score(cells, template)
            if not fields:
                continue
            required = [c.key for c in template.required]
            have = sum(1 for k in required if k in fields)
            # complete required set first, then most fields, then fewest unknown headers, earliest row
            rank = (have == len(required), have, len(fields), -len(ignored), -index)
            if best_rank is None or rank > best_rank:
                best_rank = rank
                best = HeaderMatch(template.table, index, number, fields, ignored,
                                   [k for k in required if k not in fields])
    if best is None:
        return None
    have_required = len(best.template.required) - len(best.missing_required)
    if table is None and (len(best.fields) < 2 or have_required == 0):
        return None
    return best


# -- downloadable templates -------------------------------------------------------------------------
_TEXT_KINDS = {"code", "phone", "households"}
KIND_NOTES = {
    "date": "日期，如 2025-03-31、2025/3/31、2025年3月31日",
    "hours": "小时数，大于0且不超过24，如 2.5",
    "count": "不小于0的整数",
    "households": "一个或多个户号，用顿号、逗号、分号或空格分隔；只保存加密散列，不保存原文",
    "lon": "经度（度）", "lat": "纬度（度）",
    "satisfaction": "1–5，或 满意/基本满意/不满意",
    "code": "编号，按文本填写", "phone": "手机号，按文本填写",
}
REFERS_NOTES = {"community": "须为已有社区（社区名录）", "unit": "须为已有单位（单位名录）",
                "branch": "须为已有党支部（党支部名录）", "compound": "须为已有小区（小区名录）"}


def column_note(col: Column) -> str:
    bits = ["必填" if col.required else "选填"]
    if col.kind in KIND_NOTES:
        bits.append(KIND_NOTES[col.kind])
    if col.refers in REFERS_NOTES:
        bits.append(REFERS_NOTES[col.refers])
    if col.key == "member_id":
        bits.append("不填时按 姓名+所属单位 识别党员")
    if col.key == "record_id":
        bits.append("不填时整行相同即视为重复")
    return "；".join(bits)


def template_xlsx(table: str) -> bytes:
    """One template as .xlsx: the header row (required headers shaded, a comment on each) and one
    example row. ID columns are formatted as text so long numbers keep every digit."""
    import xlsxwriter

    template = TEMPLATES[table]
    buf = io.BytesIO()
    from redservice.export import WORKBOOK_OPTIONS

    book = xlsxwriter.Workbook(buf, {"in_memory": True, **WORKBOOK_OPTIONS})
    sheet = book.add_worksheet(template.name)
    head = book.add_format({"bold": True, "bg_color": "#F7F2F0", "border": 1, "align": "center"})
    head_req = book.add_format({"bold": True, "bg_color": "#F4CCCC", "border": 1, "align": "center"})
    text = book.add_format({"num_format": "@"})
    for j, col in enumerate(template.columns):
        sheet.write_string(0, j, col.header, head_req if col.required else head)
        sheet.write_comment(0, j, column_note(col), {"x_scale": 2, "y_scale": 1.2})
        width = max(len(col.header), len(col.example)) * 2 + 2
        sheet.set_column(j, j, min(36, max(10, width)), text if col.kind in _TEXT_KINDS else None)
        if col.kind in ("count", "hours", "lon", "lat") and col.example:
            sheet.write_number(1, j, float(col.example))
        else:
            sheet.write_string(1, j, col.example)
    sheet.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def template_filename(table: str) -> str:
    return f"{TEMPLATES[table].name}模板.xlsx"


def write_templates(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for table in ORDER:
        path = directory / template_filename(table)
        path.write_bytes(template_xlsx(table))
        out.append(path)
    return out
