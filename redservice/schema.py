"""The store's tables: one Parquet file each in the data directory.

Column names are English; the Chinese template headers (the data contract) map onto them in
``redservice.ingest``. Household codes never appear here in the clear: ``service_households``
holds keyed hashes only.
"""

from __future__ import annotations

TABLES: dict[str, dict[str, str]] = {
    "communities": {
        "community": "VARCHAR",  # 社区名称 (key)
        "code": "VARCHAR",  # 社区编码
        "street": "VARCHAR",  # 所属街道（乡镇）
        "county": "VARCHAR",  # 所属县（市、区）
        "city": "VARCHAR",  # 所属市 (optional)
        "households": "INTEGER",  # 总户数
        "population": "INTEGER",  # 常住人口
        "lon": "DOUBLE",
        "lat": "DOUBLE",
    },
    "compounds": {
        "compound": "VARCHAR",  # 小区名称
        "community": "VARCHAR",  # 所属社区
        "households": "INTEGER",
        "lon": "DOUBLE",
        "lat": "DOUBLE",
    },
    "units": {
        "unit": "VARCHAR",  # 单位名称 (key)
        "category": "VARCHAR",  # 单位类别
        "paired_community": "VARCHAR",  # 包联社区
        "county": "VARCHAR",  # 所属县（市、区）: empty for a unit of the city (市直单位)
        "city": "VARCHAR",  # 所属市 (optional)
    },
    "branches": {
        "branch": "VARCHAR",  # 支部名称 (key)
        "unit": "VARCHAR",  # 所属单位
        "members_on_roll": "INTEGER",  # 党员人数
    },
    "members": {
        "member_id": "VARCHAR",  # 党员编号, else derived from 姓名 + 所属单位
        "name": "VARCHAR",
        "unit": "VARCHAR",
        "branch": "VARCHAR",
        "community": "VARCHAR",  # 报到社区
        "reported_on": "DATE",  # 报到日期 (NULL with no 报到社区: on the roster, not yet reported)
        "gender": "VARCHAR",
        "compound": "VARCHAR",  # 居住小区
        "phone": "VARCHAR",
        "roll_status": "VARCHAR",  # 在册状态: 在册 / 转出
        "left_on": "DATE",  # 转出日期
        "listed_on": "DATE",  # 入册日期: put on the roster (transferred in, newly admitted); NULL: before the year
    },
    "services": {
        "record_id": "VARCHAR",  # 记录编号, else a hash of the whole row
        "date": "DATE",  # 服务日期
        "member_id": "VARCHAR",
        "name": "VARCHAR",
        "unit": "VARCHAR",  # the member's unit on the day of service
        "branch": "VARCHAR",
        "community": "VARCHAR",  # 服务社区
        "compound": "VARCHAR",  # 服务小区
        "category": "VARCHAR",  # 服务类别
        "form": "VARCHAR",  # 活动形式
        "activity_id": "VARCHAR",  # 活动编号
        "content": "VARCHAR",  # 服务内容
        "persons": "INTEGER",  # 服务人次
        "hours": "DOUBLE",  # 服务时长（小时）
        "note": "VARCHAR",
        "review_status": "VARCHAR",  # 审核状态: 待审核 / 已通过 / 已退回 (NULL: the ledger had no such column)
        "origin": "VARCHAR",  # 记录来源: 扫码签到 / 活动报名 / 后台补录 / 本人填报
        "entered_on": "DATE",  # 录入日期
    },
    "service_households": {
        "record_id": "VARCHAR",
        "household": "VARCHAR",  # keyed hash of one 服务户号
    },
    "wishes": {
        "wish_id": "VARCHAR",  # 心愿编号
        "community": "VARCHAR",
        "compound": "VARCHAR",
        "content": "VARCHAR",
        "category": "VARCHAR",
        "posted_on": "DATE",  # 提出日期
        "claim_unit": "VARCHAR",  # 认领单位
        "claimer": "VARCHAR",  # 认领人
        "claim_member_id": "VARCHAR",
        "claim_branch": "VARCHAR",
        "claimed_on": "DATE",
        "completed_on": "DATE",
        "status": "VARCHAR",
        "satisfaction": "DOUBLE",  # 1–5
    },
    "evaluations": {  # 社区评价表: the community's yearly grade of each member who reported to it (双评价)
        "year": "INTEGER",  # 年度
        "member_id": "VARCHAR",
        "name": "VARCHAR",
        "unit": "VARCHAR",
        "community": "VARCHAR",  # 评价社区
        "grade": "VARCHAR",  # 评价等级 (the configured scale)
        "comment": "VARCHAR",  # 评语
        "evaluated_on": "DATE",  # 评价日期
        "evaluator": "VARCHAR",  # 评价人
    },
}

BOUNDARIES_FILE = "boundaries.geojson"
MANIFEST_FILE = "manifest.json"


def parquet_name(table: str) -> str:
    return f"{table}.parquet"
