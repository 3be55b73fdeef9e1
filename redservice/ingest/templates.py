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
from functools import lru_cache
from pathlib import Path

HEADER_SCAN_ROWS = 30
CLOSE_SHARE = 0.4  # a runner-up table scoring this share of the best is named in the report
# Headers of a participants column: one cell may name several members (one record each).
MULTI_NAME_HEADERS = ("参加党员", "参与党员", "参加人员", "参与人员", "参加人", "参与人")


@dataclass(frozen=True)
class Column:
    key: str  # the store's column (or a pseudo column such as "households")
    header: str  # the template header (data contract)
    kind: str  # text | name | person | code | date | hours | count | year | number | lon | lat | phone | households | satisfaction
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
            C("city", "所属市", "name", False, ("所属地市", "地市", "市"), "运城市"),
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
            C("county", "所属县（市、区）", "name", False, ("所属县", "县(市、区)", "县区", "所属县区", "县"), "平陆县",
              note="市直单位不填，填所属市"),
            C("city", "所属市", "name", False, ("所属地市", "地市", "市"), "运城市"),
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
            C("community", "报到社区", "name", False, ("社区", "报到社区名称", "报到社区(村)"), "河阳社区",
              refers="community", note="与报到日期都不填：在名册上、尚未报到"),
            C("reported_on", "报到日期", "date", False, ("报到时间",), "2025-03-05"),
            C("gender", "性别", "text", False, (), "男"),
            C("compound", "居住小区", "name", False, ("小区", "居住小区名称"), "虞国壹号小区", refers="compound"),
            C("phone", "联系电话", "phone", False, ("电话", "手机", "手机号", "联系方式", "手机号码"), "13800001234"),
            C("roll_status", "在册状态", "name", False, ("党员状态",), "在册", note="在册 或 转出"),
            C("left_on", "转出日期", "date", False, ("转出时间",), ""),
            C("listed_on", "入册日期", "date", False, ("转入日期", "列入名册日期"), "",
              note="转入或新列入名册的日期；空：报到期限从1月1日算起"),
        )),
        Template("services", "服务台账", (
            C("record_id", "记录编号", "code", False, ("编号", "记录号"), "FW2025030001"),
            C("date", "服务日期", "date", True, ("日期", "活动日期", "服务时间", "活动时间"), "2025-03-31",
              note="可写作时间段“2025-03-31 14:30 至 2025-03-31 16:30”：未填服务时长时按时间段计算"),
            C("member_id", "党员编号", "code", False, (), "PL00001"),
            C("name", "姓名", "person", True, ("党员姓名", *MULTI_NAME_HEADERS), "张三",
              note="一格可填多名党员（用顿号、逗号分隔），每人一条记录、时长各计"),
            C("unit", "所属单位", "name", True, ("单位", "工作单位", "单位名称"), "县住建局", refers="unit"),
            C("branch", "所在党支部", "name", False, ("党支部", "支部", "所属党支部"), "县住建局第一党支部",
              refers="branch"),
            C("community", "服务社区", "name", True, ("社区", "服务地点", "活动地点"), "河阳社区", refers="community"),
            C("compound", "服务小区", "name", False, ("小区",), "虞国壹号小区", refers="compound"),
            C("category", "服务类别", "name", True, ("类别", "服务类型", "服务项目"), "送政策"),
            C("form", "活动形式", "name", False, ("形式", "服务形式"), "红色服务日"),
            C("activity_id", "活动编号", "code", False, (), "HS202503"),
            C("content", "服务内容", "text", False, ("内容", "服务事项", "活动内容"), "入户讲解医保缴费政策"),
            C("households", "服务户号", "households", False, ("户号", "服务对象户号"), "3-2-301、3-2-302"),
            C("persons", "服务人次", "count", False, ("人次", "服务群众人次"), "2"),
            C("hours", "服务时长（小时）", "hours", True,
              ("时长", "服务时长", "时长(小时)", "志愿服务时长", "服务时长(h)", "时长(h)", "服务小时数"), "2.5"),
            C("note", "备注", "text", False, (), ""),
            C("review_status", "审核状态", "name", False, ("审核结果", "审批状态"), "已通过",
              note="待审核、已通过 或 已退回；重新导入同一记录编号只能更新此列"),
            C("origin", "记录来源", "name", False, ("数据来源", "来源"), "扫码签到",
              note="扫码签到、活动报名、后台补录 或 本人填报"),
            C("entered_on", "录入日期", "date", False, ("录入时间", "填报日期", "填报时间"), "2025-04-02"),
        )),
        Template("wishes", "微心愿清单", (
            C("wish_id", "心愿编号", "code", True, ("编号", "微心愿编号", "微心愿ID", "心愿ID"), "XY2025001"),
            C("community", "社区", "name", True, ("所属社区", "社区名称", "所在地", "微心愿归属地区", "归属社区"),
              "河阳社区", refers="community"),
            C("compound", "小区", "name", False, ("所属小区", "小区名称"), "虞国壹号小区", refers="compound"),
            C("content", "心愿内容", "text", True,
              ("内容", "需求内容", "微心愿", "心愿", "微心愿名称", "微心愿详细描述", "微心愿内容", "心愿名称", "心愿描述"),
              "为独居老人更换水龙头", note="名称与详细描述两列都有时合并为一条"),
            C("category", "类别", "name", False, ("心愿类别", "微心愿类型", "微心愿类别", "心愿类型"), "生活帮扶"),
            C("posted_on", "提出日期", "date", True, ("提出时间", "发布日期", "生效日期", "发布时间"), "2025-03-02"),
            C("claim_unit", "认领单位", "name", False,
              ("微心愿认领人所在单位", "申请人认领人所在党组织", "认领人所在单位"), "县住建局", refers="unit",
              note="有认领日期而未填认领单位的，按“未注明单位”认领计"),
            C("claimer", "认领人", "person", False, ("认领党员", "申请人认领人名称", "微心愿认领人姓名", "认领人姓名"),
              "张三"),
            C("claimed_on", "认领日期", "date", False, ("认领时间",), "2025-03-04"),
            C("completed_on", "办结日期", "date", False, ("完成日期", "办结时间", "完成时间"), "2025-03-10"),
            C("status", "状态", "name", False, ("办理状态", "心愿状态", "微心愿状态"), "已办结"),
            C("satisfaction", "满意度", "satisfaction", False, ("评价",), "满意"),
        )),
        Template("evaluations", "社区评价表", (
            C("year", "年度", "year", True, ("评价年度", "考核年度"), "2024"),
            C("member_id", "党员编号", "code", False, (), "PL00001"),
            C("name", "姓名", "person", True, ("党员姓名",), "张三"),
            C("unit", "所属单位", "name", True, ("单位", "工作单位", "单位名称"), "县住建局", refers="unit"),
            C("community", "评价社区", "name", True, ("社区", "报到社区"), "河阳社区", refers="community"),
            C("grade", "评价等级", "name", True, ("等级", "评价结果", "评定等次", "等次"), "优秀",
              note="优秀、合格、基本合格 或 不合格（可在配置中更改）"),
            C("comment", "评语", "text", False, ("评价意见", "社区评语"), "积极参加社区服务"),
            C("evaluated_on", "评价日期", "date", False, ("评价时间",), "2024-12-20"),
            C("evaluator", "评价人", "person", False, (), "李四"),
        )),
    )
}
# Dimension tables first, then records: a batch loads in this order.
ORDER = ("communities", "compounds", "units", "branches", "members", "services", "wishes", "evaluations")
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
    headers: dict[str, str] = field(default_factory=dict)  # column key -> the header text as written
    close: "Candidate | None" = None  # another table whose columns say nearly as much
    header_rows: int = 1  # rows the header takes (a merged parent header over its sub-headers: 2 or 3)
    cells: list[str] = field(default_factory=list)  # the header as read (a block's rows combined)
    mapping: str | None = None  # the saved column mapping that gave this match

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


@lru_cache(maxsize=1)
def _ambiguity() -> dict[str, int]:
    """How many templates know each header (姓名: 4; 服务日期: 1)."""
    counts: dict[str, int] = {}
    for template in TEMPLATES.values():
        for norm in template.lookup():
            counts[norm] = counts.get(norm, 0) + 1
    return counts


def distinctiveness(cells: list[str], fields: dict[str, list[int]]) -> float:
    """What a header row says about its table: each matched column weighs 1 ÷ the number of
    templates that know its header, so 心愿编号 (only the 微心愿清单) outweighs 姓名 and 联系电话 (four
    templates). A 微心愿 list that records the wisher's 姓名, 性别, 联系电话 is then not a 报到名册."""
    counts = _ambiguity()
    return sum(1 / counts.get(normalise_header(cells[v[0]]), 1) for v in fields.values())


def _rank(cells, template, fields, ignored, index):
    required = [c.key for c in template.required]
    have = sum(1 for k in required if k in fields)
    # what the columns say about the table, plus the share of its required columns present; then
    # fewest unknown headers, earliest row
    return (round(distinctiveness(cells, fields) + have / len(required), 6), -len(ignored), -index)


@dataclass
class Candidate:
    table: str
    score: float
    headers: list[str]


def match_header(rows: list[tuple[int, list[str]]], table: str | None = None) -> HeaderMatch | None:
    """Find the header row among the first rows (title rows may sit above it) and the table it
    belongs to. With ``table`` given only that template is tried. The runner-up table, when its
    columns say nearly as much, is kept in ``close`` for the report."""
    candidates = [TEMPLATES[table]] if table else [TEMPLATES[t] for t in ORDER]
    best = None
    best_rank = None
    per_table: dict[str, Candidate] = {}
    for index, (number, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        if not any(c.strip() for c in cells):
            continue
        for template in candidates:
            fields, ignored = _score(cells, template)
            if not fields:
                continue
            rank = _rank(cells, template, fields, ignored, index)
            required = [c.key for c in template.required]
            seen = per_table.get(template.table)
            if seen is None or rank[0] > seen.score:
                per_table[template.table] = Candidate(template.table, rank[0],
                                                      [cells[v[0]].strip() for v in fields.values()])
            if best_rank is None or rank > best_rank:
                best_rank = rank
                best = HeaderMatch(template.table, index, number, fields, ignored,
                                   [k for k in required if k not in fields],
                                   {k: cells[v[0]].strip() for k, v in fields.items()})
    if best is None:
        return None
    best = _header_block(rows, best)
    have_required = len(best.template.required) - len(best.missing_required)
    if table is None and (len(best.fields) < 2 or have_required == 0):
        return None
    others = sorted((c for c in per_table.values() if c.table != best.table), key=lambda c: -c.score)
    if others and others[0].score >= CLOSE_SHARE * best_rank[0] and len(others[0].headers) >= 2:
        best.close = others[0]
    return best


_NUMERIC = re.compile(r"^[\d\s.,:/\-年月日号%％]+$")
MAX_HEADER_ROWS = 3


def _header_block(rows: list[tuple[int, list[str]]], match: HeaderMatch) -> HeaderMatch:
    """Extend a header row into the block of one to three rows it heads, as ledgers with a merged
    parent header (物业(卫生)费缴纳情况 over 本年度 | 上年度) or split headers (服务情况 over 服务日期 |
    服务时长) have it. A row joins the block only when it cannot be data: each cell is empty, repeats
    the cell above (a vertical merge), names a column of the template, or is a label (not a number
    or a date) under a column that is not the template's. Columns then take the lowest header that
    names a field, else the parent and child joined (物业(卫生)费缴纳情况/本年度)."""
    template = match.template
    lookup = template.lookup()
    start = match.row_index
    block = [rows[start][1]]
    for index in range(start + 1, min(start + MAX_HEADER_ROWS, len(rows))):
        cells = rows[index][1]
        above = _combine(block, lookup)
        if not any(c.strip() for c in cells) or not _continues(cells, above, lookup):
            break
        block.append(cells)
    # a parent row above whose cells name fields the header row leaves empty (姓名 merged down)
    if start > 0 and len(block) < MAX_HEADER_ROWS:
        parent = rows[start - 1][1]
        lower = _combine(block, lookup)
        adds = [j for j, c in enumerate(parent) if c.strip() and normalise_header(c) in lookup
                and (j >= len(lower) or not lower[j].strip())]
        merged_down = [j for j, c in enumerate(parent) if c.strip() and j < len(lower) and c.strip() == lower[j].strip()]
        labels = all(not _NUMERIC.match(c.strip()) and len(c.strip()) <= 30 for c in parent if c.strip())
        if (adds or merged_down) and labels:
            block.insert(0, parent)
            start -= 1
    if len(block) == 1:
        match.cells = list(block[0])
        return match
    cells = _combine(block, lookup)
    fields, ignored = _score(cells, template)
    required = [c.key for c in template.required]
    out = HeaderMatch(template.table, start + len(block) - 1, rows[start][0], fields, ignored,
                      [k for k in required if k not in fields], {k: cells[v[0]].strip() for k, v in fields.items()},
                      match.close, len(block), cells)
    return out


def _continues(cells: list[str], above: list[str], lookup) -> bool:
    """Whether ``cells`` can continue the header ``above`` (and so is no data row)."""
    new = False
    for j, cell in enumerate(cells):
        text = cell.strip()
        if not text:
            continue
        top = above[j].strip() if j < len(above) else ""
        if text == top:
            continue
        new = True
        if normalise_header(text) in lookup:
            continue
        if normalise_header(top) in lookup or _NUMERIC.match(text) or len(text) > 30:
            return False
    return new


def _combine(block: list[list[str]], lookup) -> list[str]:
    width = max(len(r) for r in block)
    out = []
    for j in range(width):
        texts = list(dict.fromkeys(r[j].strip() for r in block if j < len(r) and r[j].strip()))
        named = [t for t in texts if normalise_header(t) in lookup]
        out.append(named[-1] if named else "/".join(texts))
    return out


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
    if col.note:
        bits.append(col.note)
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
