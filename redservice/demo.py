"""The bundled demo county: synthetic, deterministic, and labelled so.

``python -m redservice demo [--out DIR]`` writes the same bytes on every run. The county looks
like Pinglu: the seed article's six named communities plus six more, its named compounds and
units, 145 branches and about 2,050 reported members. Records run from 2024-01-01 to 2025-03-31,
and for 2025-01-01..2025-03-31 they reproduce the article's headline figures (see ``TARGETS``);
2024 is lower, so the trends have something to compare against. Nobody in it is real.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import defaultdict
from pathlib import Path

import pandas as pd

from redservice.parquet_io import write_table
from redservice.privacy import household_hash
from redservice.schema import BOUNDARIES_FILE, MANIFEST_FILE

SEED = 20250331
START = dt.date(2024, 1, 1)
END = dt.date(2025, 3, 31)
Q1 = (dt.date(2025, 1, 1), END)

# The seed article's figures for 2025-01-01..2025-03-31 ("今年以来", as of 31 March), which the
# generator hits exactly; each lies in the range the article's wording allows
# (e.g. "10000余小时" → 10000–10999).
TARGETS = {
    "members": 2046,  # 2000余名在职党员
    "branches": 145,  # 145个党支部
    "hours": 10486.5,  # 10000余小时
    "households": 7742,  # 联系群众7742户
    "persons_served": 14806,  # 近15000人次
    "activity_persons": 11382,  # 60余次组织活动惠及1.1万余人次
    "liusong_events": 28,  # with 36 红色服务日 activities: 64 organised activities (60余次)
    "wishes_claimed": 236,  # 认领民生实事200余件
    "wishes_completed": 124,  # 办理惠民实事120余件
}

# Household codes of the demo are synthetic addresses; they are hashed with this public key.
# A real store keeps its own secret key outside the repository (see redservice.privacy).
DEMO_HOUSEHOLD_KEY = b"redservice-demo-county-synthetic"

COMMUNITIES = [  # name, households (总户数), grid row, grid column
    ("槐荫社区", 1840, 0, 0),
    ("北城社区", 3120, 0, 1),
    ("新夏社区", 2280, 0, 2),
    ("凤鸣社区", 1620, 0, 3),
    ("西城社区", 2540, 1, 0),
    ("河阳社区", 2860, 1, 1),
    ("傅岩社区", 2090, 1, 2),
    ("东城社区", 2710, 1, 3),
    ("盘南社区", 1760, 2, 0),
    ("南城社区", 2950, 2, 1),
    ("文昌社区", 1980, 2, 2),
    ("康乐社区", 1530, 2, 3),
]
NAMED_COMPOUNDS = {"北城社区": "种子公司家属区", "河阳社区": "虞国壹号小区"}
COMPOUND_WORDS = [
    "金桥", "滨河", "阳光", "锦绣", "和平", "建设", "幸福", "福源", "康宁", "书香", "怡景", "鸿福",
    "盛世", "明珠", "丽景", "兴华", "安居", "翠苑", "嘉和", "文苑", "馨园", "祥和", "泰和", "瑞景",
    "同心", "民生", "育才", "春晖", "枣园", "黄河", "中条", "傅说", "太阳", "杏林", "紫荆", "银杏",
    "永安", "宏泰", "新城",
]
COMPOUND_SUFFIX = ["小区", "家园", "花园", "家属院", "苑"]
GRID_CENTRE = (111.2200, 34.8400)
CELL = (0.0125, 0.0095)  # degrees of longitude, latitude per community cell

# Units: the seed's named units first, with the community they are paired with (包联).
NAMED_UNITS = [
    ("县卫生健康局", "党政机关", "北城社区", 2),
    ("县人民医院", "事业单位", "北城社区", 4),
    ("县中医医院", "事业单位", "北城社区", 3),
    ("县退役军人事务局", "党政机关", "北城社区", 1),
    ("县直工委", "党政机关", "河阳社区", 1),
    ("县住建局", "党政机关", "河阳社区", 2),
    ("县果业发展中心", "事业单位", "河阳社区", 1),
    ("县政协机关", "党政机关", "西城社区", 1),
    ("县妇联", "群团组织", "北城社区", 1),
    ("县总工会", "群团组织", "新夏社区", 1),
    ("县残联", "群团组织", "河阳社区", 1),
    ("县消防救援大队", "党政机关", "河阳社区", 2),
    ("县城镇集体工业联合社", "国有企业", "北城社区", 1),
]
OTHER_UNITS = [
    ("县委办公室", "党政机关", 2), ("县政府办公室", "党政机关", 2), ("县纪委监委", "党政机关", 4),
    ("县委组织部", "党政机关", 2), ("县委宣传部", "党政机关", 1), ("县委统战部", "党政机关", 1),
    ("县委政法委", "党政机关", 1), ("县人大常委会机关", "党政机关", 1), ("县发展和改革局", "党政机关", 2),
    ("县教育科技局", "党政机关", 3), ("县工业和信息化局", "党政机关", 1), ("县公安局", "党政机关", 5),
    ("县民政局", "党政机关", 1), ("县司法局", "党政机关", 2), ("县财政局", "党政机关", 2),
    ("县人力资源和社会保障局", "党政机关", 2), ("县自然资源局", "党政机关", 2), ("县生态环境分局", "党政机关", 1),
    ("县交通运输局", "党政机关", 2), ("县水利局", "党政机关", 1), ("县农业农村局", "党政机关", 2),
    ("县商务局", "党政机关", 1), ("县文化和旅游局", "党政机关", 1), ("县审计局", "党政机关", 1),
    ("县市场监督管理局", "党政机关", 3), ("县统计局", "党政机关", 1), ("县医疗保障局", "党政机关", 1),
    ("县林业局", "党政机关", 1), ("县应急管理局", "党政机关", 1), ("县行政审批服务管理局", "党政机关", 1),
    ("县信访局", "党政机关", 1), ("县税务局", "党政机关", 2), ("县人民法院", "党政机关", 4),
    ("县人民检察院", "党政机关", 2), ("县融媒体中心", "事业单位", 1), ("县档案馆", "事业单位", 1),
    ("县图书馆", "事业单位", 1), ("县第一中学", "事业单位", 4), ("县第二中学", "事业单位", 2),
    ("县职业中学", "事业单位", 1), ("县实验小学", "事业单位", 2), ("县妇幼保健院", "事业单位", 1),
    ("县疾病预防控制中心", "事业单位", 1), ("县供电公司", "国有企业", 3), ("县邮政分公司", "国有企业", 1),
    ("县农商银行", "国有企业", 3), ("县工商银行支行", "国有企业", 1), ("县农业银行支行", "国有企业", 1),
    ("县建设银行支行", "国有企业", 1), ("县中国银行支行", "国有企业", 1), ("县移动分公司", "国有企业", 1),
    ("县联通分公司", "国有企业", 1), ("县电信分公司", "国有企业", 1), ("县烟草专卖局", "国有企业", 1),
    ("县气象局", "事业单位", 1), ("县住房公积金管理中心", "事业单位", 1), ("县城市管理局", "党政机关", 1),
    ("县乡村振兴服务中心", "事业单位", 1), ("县国有资产服务中心", "事业单位", 1), ("县供销社", "国有企业", 1),
    ("县科协", "群团组织", 1), ("团县委", "群团组织", 1), ("县工商联", "群团组织", 1),
    ("县红十字会", "群团组织", 1), ("县委老干部局", "党政机关", 1), ("县机关事务服务中心", "事业单位", 1),
    ("县委党校", "事业单位", 1), ("县委编办", "党政机关", 1), ("县医疗集团", "事业单位", 3),
    ("县第三中学", "事业单位", 1), ("县第二小学", "事业单位", 1), ("县幼儿园", "事业单位", 1),
    ("县水务公司", "国有企业", 1), ("县热力公司", "国有企业", 1), ("县公路段", "事业单位", 1),
    ("县畜牧兽医中心", "事业单位", 1), ("县农业技术推广中心", "事业单位", 1), ("县不动产登记中心", "事业单位", 1),
    ("县社会保险中心", "事业单位", 1), ("县就业服务中心", "事业单位", 1), ("县文化馆", "事业单位", 1),
    ("县体育运动中心", "事业单位", 1), ("县广播电视台", "事业单位", 1), ("县国库集中支付中心", "事业单位", 1),
    ("县政务服务中心", "事业单位", 1), ("县黄河湿地保护中心", "事业单位", 1), ("县交警大队", "党政机关", 1),
]

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马胡朱郭何罗高林梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛"]
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰红建国志文海波晓东亮斌宇浩凯鹏飞婷雪琳晨阳欣怡佳慧俊峰"

WORKING_DAY_CHANGES = {  # the State Council's holiday schedule: days off and make-up working days
    "off": [
        "2024-01-01", "2024-02-10/2024-02-17", "2024-04-04/2024-04-06", "2024-05-01/2024-05-05",
        "2024-06-10", "2024-09-15/2024-09-17", "2024-10-01/2024-10-07",
        "2025-01-01", "2025-01-28/2025-02-04", "2025-04-04/2025-04-06", "2025-05-01/2025-05-05",
    ],
    "on": ["2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
           "2024-09-29", "2024-10-12", "2025-01-26", "2025-02-08", "2025-04-27"],
}
FESTIVALS = {  # peaks of daily service: festival date, weight
    "2024-02-10": 1.8, "2024-03-05": 1.5, "2024-06-01": 1.3, "2024-06-10": 1.6, "2024-07-01": 1.4,
    "2024-09-17": 1.5, "2024-10-11": 1.9, "2025-01-29": 1.9, "2025-03-05": 1.5,
}

LIUSONG = ["送政策", "送祝福", "送热饭", "送文具", "送衣物", "送文化"]
SANQING = ["请老人进社区", "请孩子进社区", "请特殊群体进社区"]
OTHER_CATEGORIES = ["义诊", "义剪", "政策宣讲", "矛盾调解", "环境整治", "植树", "助老助残", "安全宣传"]
CONTENT = {
    "送政策": ["入户讲解医保缴费政策", "宣传养老保险认证新规", "讲解残疾人保障政策"],
    "送祝福": ["为高龄老人送新春祝福", "为高考生送祝福", "重阳节慰问老人"],
    "送热饭": ["为独居老人送热饭", "新春包饺子送到老人家中", "端午节为老人送粽子"],
    "送文具": ["为适龄儿童送图书和书包", "为困难学生捐赠文具"],
    "送衣物": ["为困难家庭送冬衣", "为残疾人家庭送被褥"],
    "送文化": ["社区文艺演出", "写春联送春联", "有声书墙扫码收听推广"],
    "请老人进社区": ["请老人到党群服务站过集体生日", "老年人健康讲座"],
    "请孩子进社区": ["护苗行动爱国主义教育", "暑期儿童托管课堂", "六一亲子活动"],
    "请特殊群体进社区": ["残疾人康复知识讲座", "困难群众座谈会"],
    "义诊": ["测量血压血糖", "中医义诊", "慢病用药指导"],
    "义剪": ["为60岁以上老人免费理发", "上门为行动不便老人理发"],
    "政策宣讲": ["医保政策宣讲", "反诈宣传", "法律知识宣讲"],
    "矛盾调解": ["调解邻里纠纷", "调解物业纠纷"],
    "环境整治": ["清理楼道杂物", "社区卫生大扫除", "清理小广告"],
    "植树": ["补种紫荆花、木槿、月季", "小区绿化补植"],
    "助老助残": ["帮独居老人搬家", "陪同残疾人就医", "上门养老认证"],
    "安全宣传": ["消防安全宣讲", "电动车安全用电宣传", "防汛知识宣传"],
}
WISH_CONTENT = {
    "生活帮扶": ["帮助独居老人搬家", "更换老旧水龙头", "修理漏水屋顶", "购买过冬煤炭", "疏通下水管道"],
    "助老助残": ["为行动不便老人上门理发", "陪同残疾人就医", "为老人提供上门养老认证", "为老人代购药品"],
    "教育助学": ["为留守儿童辅导功课", "为困难学生捐赠文具", "为孩子联系暑期托管"],
    "医疗健康": ["上门测量血压", "为慢病老人讲解用药", "联系医生上门问诊"],
    "环境改善": ["清理楼道杂物", "修补小区破损路面", "加装楼道照明", "增设晾衣架"],
    "文化娱乐": ["为老年合唱队添置音响", "组织社区书法活动", "为广场舞队购置服装"],
    "法律咨询": ["解答赡养纠纷法律问题", "调解邻里噪音纠纷", "代写法律文书"],
}


# -- small helpers ------------------------------------------------------------------------------
def _days(a: dt.date, b: dt.date):
    for i in range((b - a).days + 1):
        yield a + dt.timedelta(days=i)


def _expand(spec: list[str]) -> set[dt.date]:
    out: set[dt.date] = set()
    for item in spec:
        a, _, b = item.partition("/")
        first = dt.date.fromisoformat(a)
        out.update(_days(first, dt.date.fromisoformat(b) if b else first))
    return out


OFF_DAYS = _expand(WORKING_DAY_CHANGES["off"])
ON_DAYS = _expand(WORKING_DAY_CHANGES["on"])


def is_working_day(d: dt.date) -> bool:
    if d in ON_DAYS:
        return True
    return d.weekday() < 5 and d not in OFF_DAYS


def red_service_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """红色服务日: the first working day after each month's 主题党日. In the demo the Party day is the
    month's last working day but one, so the service day is the month's last working day."""
    out = []
    month = dt.date(start.year, start.month, 1)
    while month <= end:
        nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
        working = [d for d in _days(month, nxt - dt.timedelta(days=1)) if is_working_day(d)]
        party_day = working[-2]
        day = party_day + dt.timedelta(days=1)
        while not is_working_day(day):
            day += dt.timedelta(days=1)
        if start <= day <= end:
            out.append(day)
        month = nxt
    return out


def _growth(d: dt.date) -> float:
    """Programme intensity: 2024 starts at about 60 % of the 2025 level."""
    return 0.60 + 0.40 * (d - START).days / (END - START).days


def _festival_weight(d: dt.date) -> float:
    w = 1.0
    for day, peak in FESTIVALS.items():
        gap = abs((d - dt.date.fromisoformat(day)).days)
        if gap <= 7:
            w = max(w, 1 + (peak - 1) * (1 - gap / 8))
    return w


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split an integer total in proportion to weights (largest remainders), summing exactly."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [math.floor(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


# -- the county ---------------------------------------------------------------------------------
class _County:
    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self._geometry()
        self._compounds()
        self._units_and_branches()
        self._members()

    def _geometry(self) -> None:
        rng = self.rng
        rows, cols = 3, 4
        x0 = GRID_CENTRE[0] - cols * CELL[0] / 2
        y0 = GRID_CENTRE[1] + rows * CELL[1] / 2

        def jitter(scale):
            return (rng.random() - 0.5) * scale

        # Shared, jittered vertices keep neighbouring polygons edge to edge, never overlapping.
        corner = {}
        for r in range(rows + 1):
            for c in range(cols + 1):
                inner_r, inner_c = 0 < r < rows, 0 < c < cols
                dx = jitter(0.35 * CELL[0]) if inner_c else jitter(0.15 * CELL[0])
                dy = jitter(0.35 * CELL[1]) if inner_r else jitter(0.15 * CELL[1])
                corner[r, c] = (x0 + c * CELL[0] + dx, y0 - r * CELL[1] + dy)
        mid = {}

        def midpoint(a, b):
            key = tuple(sorted([a, b]))
            if key not in mid:
                (ax, ay), (bx, by) = corner[a], corner[b]
                mid[key] = ((ax + bx) / 2 + jitter(0.12 * CELL[0]), (ay + by) / 2 + jitter(0.12 * CELL[1]))
            return mid[key]

        self.polygons, self.centres = {}, {}
        for name, _, r, c in COMMUNITIES:
            ring_corners = [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c)]
            ring = []
            for i, a in enumerate(ring_corners):
                b = ring_corners[(i + 1) % 4]
                ring += [corner[a], midpoint(a, b)]
            ring.append(ring[0])
            ring = [(round(x, 6), round(y, 6)) for x, y in ring]
            self.polygons[name] = ring
            xs, ys = zip(*ring[:-1])
            self.centres[name] = (round(sum(xs) / len(xs), 6), round(sum(ys) / len(ys), 6))

    def _compounds(self) -> None:
        rng = self.rng
        words = COMPOUND_WORDS[:]
        rng.shuffle(words)
        self.compounds: dict[str, list[tuple[str, int, float, float]]] = {}
        counts = [3] * 12
        for i in rng.sample(range(12), 4):
            counts[i] = 4  # 40 compounds in all
        for (name, households, _, _), n in zip(COMMUNITIES, counts):
            names = []
            if name in NAMED_COMPOUNDS:
                names.append(NAMED_COMPOUNDS[name])
            while len(names) < n:
                names.append(words.pop() + rng.choice(COMPOUND_SUFFIX))
            shares = _allocate(int(households * 0.62), [rng.uniform(0.6, 1.4) for _ in names])
            cx, cy = self.centres[name]
            self.compounds[name] = [
                (cn, hh, round(cx + (rng.random() - 0.5) * 0.45 * CELL[0], 6),
                 round(cy + (rng.random() - 0.5) * 0.45 * CELL[1], 6))
                for cn, hh in zip(names, shares)
            ]

    def _units_and_branches(self) -> None:
        rng = self.rng
        names = [c[0] for c in COMMUNITIES]
        self.units = []  # (unit, category, paired community)
        sizes = {}
        for unit, cat, paired, nb in NAMED_UNITS:
            self.units.append((unit, cat, paired))
            sizes[unit] = nb
        for i, (unit, cat, nb) in enumerate(OTHER_UNITS):
            self.units.append((unit, cat, names[(i * 5) % 12]))
            sizes[unit] = nb
        assert len(self.units) == 100 and sum(sizes.values()) == TARGETS["branches"]
        self.branches = []  # (branch, unit)
        ordinals = "一二三四五六"
        for unit, _, _ in self.units:
            n = sizes[unit]
            for k in range(n):
                self.branches.append((f"{unit}党支部" if n == 1 else f"{unit}第{ordinals[k]}党支部", unit))
        # Members reported per branch, and members on roll (a few units lag behind on 双报到).
        weights = [rng.uniform(0.7, 1.5) for _ in self.branches]
        self.reported_per_branch = _allocate(TARGETS["members"], weights)
        self.on_roll = []
        laggards = set(rng.sample(range(len(self.units)), 9))
        lag_units = {self.units[i][0] for i in laggards}
        for (branch, unit), n in zip(self.branches, self.reported_per_branch):
            extra = rng.randint(2, 5) if unit in lag_units else (1 if rng.random() < 0.25 else 0)
            self.on_roll.append(n + extra)

    def _name(self) -> str:
        return _person_name(self.rng)

    def _members(self) -> None:
        rng = self.rng
        community_names = [c[0] for c in COMMUNITIES]
        community_weights = [c[1] for c in COMMUNITIES]
        rows = []
        serial = 0
        q1_days = list(_days(*Q1))
        for (branch, unit), n in zip(self.branches, self.reported_per_branch):
            first_in_2025 = rng.random() < 0.04  # a few branches report for the first time in 2025
            for k in range(n):
                serial += 1
                community = rng.choices(community_names, community_weights)[0]
                u = rng.random()
                if first_in_2025 or u < 0.09:
                    reported = rng.choice(q1_days)
                elif u < 0.40:
                    reported = START + dt.timedelta(days=rng.randrange((Q1[0] - START).days))
                else:
                    reported = dt.date(2023, 3, 1) + dt.timedelta(days=rng.randrange(305))
                compounds = self.compounds[community]
                compound = rng.choice(compounds)[0] if rng.random() < 0.8 else None
                rows.append({
                    "member_id": f"PL{serial:05d}",
                    "name": self._name(),
                    "unit": unit,
                    "branch": branch,
                    "community": community,
                    "reported_on": reported,
                    "gender": "女" if rng.random() < 0.41 else "男",
                    "compound": compound,
                    "phone": "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9)),
                    # how keen the member is; about 7 % reported but never serve (the laggards)
                    "_zeal": 0.0 if rng.random() < 0.07 else rng.lognormvariate(0, 0.6),
                })
        self.members = rows
        self.by_community = defaultdict(list)
        self.by_unit = defaultdict(list)
        for m in rows:
            self.by_community[m["community"]].append(m)
            self.by_unit[m["unit"]].append(m)


# -- records ------------------------------------------------------------------------------------
class _Records:
    def __init__(self, county: _County):
        self.c = county
        self.rng = county.rng
        self.rows: list[dict] = []
        self.serial = 0

    def _available(self, pool, day):
        return [m for m in pool if m["reported_on"] <= day and m["_zeal"] > 0]

    def _record(self, day, member, community, category, form, activity, hours, persons, slots):
        self.serial += 1
        compounds = self.c.compounds[community]
        return {
            "record_id": f"FW{day:%Y%m}{self.serial:06d}",
            "date": day,
            "member_id": member["member_id"],
            "name": member["name"],
            "unit": member["unit"],
            "branch": member["branch"],
            "community": community,
            "compound": self.rng.choice(compounds)[0] if self.rng.random() < 0.75 else None,
            "category": category,
            "form": form,
            "activity_id": activity,
            "content": self.rng.choice(CONTENT[category]),
            "persons": persons,
            "hours": hours,
            "note": None,
            "_slots": slots,
        }

    def _season_category(self, day: dt.date, choices: list[str]) -> str:
        rng = self.rng
        if day.month in (1, 2) and rng.random() < 0.5:
            return rng.choice(["送祝福", "送热饭", "送文化", "送衣物"])
        if day.month == 3 and rng.random() < 0.35:
            return rng.choice(["植树", "环境整治"])
        if day.month in (6, 9) and rng.random() < 0.3:
            return rng.choice(["送文具", "请孩子进社区"])
        if day.month == 10 and rng.random() < 0.35:
            return rng.choice(["请老人进社区", "送祝福", "义诊"])
        return rng.choice(choices)

    def red_service_days(self) -> None:
        rng = self.rng
        themes = ["环境整治", "政策宣讲", "义诊", "安全宣传", "助老助残", "义剪"]
        for day in red_service_days(START, END):
            for ci, (community, _, _, _) in enumerate(COMMUNITIES):
                pool = self._available(self.c.by_community[community], day)
                k = max(6, round(len(pool) * rng.uniform(0.20, 0.26) * _growth(day) / 0.9))
                attendees = rng.sample(pool, min(k, len(pool)))
                theme = "植树" if day.month == 3 and ci % 2 == 1 else self._season_category(day, themes)
                activity = f"HSFWR-{day:%Y%m%d}-{ci + 1:02d}"
                for m in attendees:
                    self.rows.append(self._record(
                        day, m, community, theme, "红色服务日", activity,
                        rng.choice([2, 2.5, 3, 3, 3.5, 4]), rng.randint(3, 9), rng.choice([0, 1, 1, 2, 2, 3])))

    def liusong_events(self) -> None:
        rng = self.rng
        months = pd.period_range(START, END, freq="M")
        cats = LIUSONG + SANQING
        serial = 0
        for p in months:
            first = p.start_time.date()
            last = p.end_time.date()
            if first >= Q1[0]:  # Q1 2025: 12 + 9 + 7 events, the article's 60余次 with 红色服务日
                n = {1: 12, 2: 9, 3: TARGETS["liusong_events"] - 21}[first.month]
            else:
                n = round(rng.uniform(4, 8) * _growth(first) / 0.8)
            days = [d for d in _days(first, last)]
            for _ in range(n):
                serial += 1
                day = rng.choice(days)
                community = rng.choice(COMMUNITIES)[0]
                paired = [u for u, _, pc in self.c.units if pc == community]
                pool = self._available(self.c.by_community[community], day)
                for u in paired:
                    pool += self._available(self.c.by_unit[u], day)
                pool = list({m["member_id"]: m for m in pool}.values())
                attendees = rng.sample(pool, min(len(pool), rng.randint(16, 30)))
                category = self._season_category(day, cats)
                if category not in cats:
                    category = rng.choice(cats)
                activity = f"LSSQ-{day:%Y%m%d}-{serial:03d}"
                for m in attendees:
                    self.rows.append(self._record(
                        day, m, community, category, "六送三请", activity,
                        rng.choice([1.5, 2, 2, 2.5, 3]), rng.randint(4, 12), rng.choice([1, 1, 2, 2, 3, 4])))

    def daily(self) -> None:
        rng = self.rng
        cats = OTHER_CATEGORIES + LIUSONG
        members = [m for m in self.c.members if m["_zeal"] > 0]
        for day in _days(START, END):
            rate = 24 * _growth(day) * _festival_weight(day) * (1.25 if day.weekday() >= 5 else 1.0)
            if dt.date(2024, 1, 20) <= day <= dt.date(2024, 2, 25) or dt.date(2025, 1, 10) <= day <= dt.date(2025, 2, 12):
                rate *= 1.2
            n = max(0, round(rng.gauss(rate, math.sqrt(rate))))
            pool = [m for m in members if m["reported_on"] <= day]
            chosen = rng.choices(pool, weights=[m["_zeal"] for m in pool], k=n)
            for m in chosen:
                community = m["community"] if rng.random() < 0.85 else rng.choice(COMMUNITIES)[0]
                form = "微心愿" if rng.random() < 0.15 else "日常服务"
                category = self._season_category(day, cats)
                self.rows.append(self._record(
                    day, m, community, category, form, None,
                    rng.choice([1, 1.5, 2, 2, 2.5, 3]), rng.choice([1, 1, 1, 2, 2, 3]), rng.choice([0, 1, 1, 1, 2])))

    # -- calibration of 2025 Q1 to the article's figures ---------------------------------------
    def _in_q1(self, r) -> bool:
        return Q1[0] <= r["date"] <= Q1[1]

    def _scale_int(self, rows, field, target, low=1):
        total = sum(r[field] for r in rows)
        for r in rows:
            r[field] = max(low, round(r[field] * target / total))
        diff = target - sum(r[field] for r in rows)
        while diff != 0:
            r = rows[self.rng.randrange(len(rows))]
            step = 1 if diff > 0 else -1
            if r[field] + step >= low:
                r[field] += step
                diff -= step

    def calibrate(self) -> None:
        q1 = [r for r in self.rows if self._in_q1(r)]
        activity = [r for r in q1 if r["activity_id"]]
        other = [r for r in q1 if not r["activity_id"]]
        self._scale_int(activity, "persons", TARGETS["activity_persons"])
        self._scale_int(other, "persons", TARGETS["persons_served"] - TARGETS["activity_persons"])
        # hours move in half-hour steps between 0.5 and 8
        total = sum(r["hours"] for r in q1)
        factor = TARGETS["hours"] / total
        for r in q1:
            r["hours"] = min(8.0, max(0.5, round(r["hours"] * factor * 2) / 2))
        diff = round((TARGETS["hours"] - sum(r["hours"] for r in q1)) * 2)
        while diff != 0:
            r = q1[self.rng.randrange(len(q1))]
            step = 0.5 if diff > 0 else -0.5
            if 0.5 <= r["hours"] + step <= 8:
                r["hours"] += step
                diff -= 1 if diff > 0 else -1

    # -- households ------------------------------------------------------------------------------
    def households(self) -> list[dict]:
        """Attach household codes (hashed) to records: exactly TARGETS['households'] distinct in Q1."""
        rng = self.rng
        pools = {}
        for name, total, _, _ in COMMUNITIES:
            compounds = self.c.compounds[name]
            codes = []
            for cn, hh, _, _ in compounds:
                codes += [f"{name}{cn}{1 + i // 24}号楼{1 + (i // 8) % 3}单元{(i % 8) // 2 + 1}0{i % 2 + 1}"
                          for i in range(hh)]
            codes += [f"{name}散居{i + 1}号院" for i in range(total - len(codes))]
            pools[name] = [household_hash(c, DEMO_HOUSEHOLD_KEY) for c in codes]
        out = []
        q1_by_community = defaultdict(list)
        for r in self.rows:
            if self._in_q1(r):
                q1_by_community[r["community"]].append(r)
            else:
                pool = pools[r["community"]]
                regular = pool[: int(len(pool) * 0.35)]
                picked = set()
                for _ in range(r["_slots"] + (rng.random() < 0.5)):
                    picked.add(rng.choice(regular) if rng.random() < 0.4 else rng.choice(pool))
                out += [{"record_id": r["record_id"], "household": h} for h in sorted(picked)]
        names = [c[0] for c in COMMUNITIES]
        # engagement differs between communities, so coverage does too
        quotas = _allocate(TARGETS["households"], [c[1] * rng.uniform(0.55, 1.45) for c in COMMUNITIES])
        for name, quota in zip(names, quotas):
            rows = sorted(q1_by_community[name], key=lambda r: r["record_id"])
            slots = [r["_slots"] for r in rows]
            while sum(slots) < quota * 1.3:
                slots[rng.randrange(len(slots))] += 1
            pool = pools[name]
            chosen = rng.sample(pool, quota)
            positions = [i for i, s in enumerate(slots) for _ in range(s)]
            rng.shuffle(positions)
            assigned = defaultdict(set)
            for j, i in enumerate(positions[:quota]):
                assigned[i].add(chosen[j])
            for i in positions[quota:]:
                for _ in range(5):
                    h = rng.choice(chosen)
                    if h not in assigned[i]:
                        assigned[i].add(h)
                        break
            for i, r in enumerate(rows):
                out += [{"record_id": r["record_id"], "household": h} for h in sorted(assigned[i])]
        return out


def _wishes(county: _County) -> list[dict]:
    rng = county.rng
    cats = list(WISH_CONTENT)
    community_names = [c[0] for c in COMMUNITIES]
    rows = []
    serial = 0

    def new(posted, claimed, completed):
        nonlocal serial
        serial += 1
        community = rng.choices(community_names, [c[1] for c in COMMUNITIES])[0]
        cat = rng.choice(cats)
        wish = {
            "wish_id": f"XY{posted:%Y}{serial:05d}", "community": community,
            "compound": rng.choice(county.compounds[community])[0] if rng.random() < 0.8 else None,
            "content": rng.choice(WISH_CONTENT[cat]), "category": cat, "posted_on": posted,
            "claim_unit": None, "claimer": None, "claim_member_id": None, "claim_branch": None,
            "claimed_on": claimed, "completed_on": completed, "satisfaction": None,
        }
        rows.append(wish)
        return wish

    # 2024 and the first claims of 2025: posted steadily, growing; claims and completions follow.
    for day in _days(START, dt.date(2024, 12, 31)):
        for _ in range(max(0, round(rng.gauss(1.9 * _growth(day), 0.8)))):
            claimed = day + dt.timedelta(days=min(40, int(rng.expovariate(1 / 5)) + 1))
            if rng.random() < 0.04:
                claimed = None
            completed = None
            if claimed and rng.random() < 0.97:
                completed = claimed + dt.timedelta(days=min(120, int(rng.expovariate(1 / 22)) + 2))
            new(day, claimed, completed)
    # Claims in 2025 Q1: exactly the article's count.
    q1_days = list(_days(*Q1))
    already = sum(1 for w in rows if w["claimed_on"] and Q1[0] <= w["claimed_on"] <= Q1[1])
    for _ in range(TARGETS["wishes_claimed"] - already):
        claimed = rng.choice(q1_days)
        posted = max(dt.date(2024, 12, 20), claimed - dt.timedelta(days=int(rng.expovariate(1 / 5))))
        completed = claimed + dt.timedelta(days=int(rng.expovariate(1 / 30)) + 2)
        new(posted, claimed, completed)
    for _ in range(19):  # posted in March and still waiting to be claimed
        new(rng.choice(q1_days[-31:]), None, None)
    # Nothing is known after the data's last day; then calibrate completions within Q1.
    for w in rows:
        if w["claimed_on"] and w["claimed_on"] > END:
            w["claimed_on"] = None
            w["completed_on"] = None
        if w["completed_on"] and w["completed_on"] > END:
            w["completed_on"] = None
    done = sorted((w for w in rows if w["completed_on"] and w["completed_on"] >= Q1[0]),
                  key=lambda w: (w["claimed_on"], w["wish_id"]))
    target = TARGETS["wishes_completed"]
    for w in done[target:]:  # the most recently claimed are still in progress
        w["completed_on"] = None
    if len(done) < target:
        open_ = sorted((w for w in rows if w["claimed_on"] and not w["completed_on"]
                        and w["claimed_on"] < END), key=lambda w: w["wish_id"])
        for w in rng.sample(open_, target - len(done)):
            w["completed_on"] = w["claimed_on"] + dt.timedelta(days=rng.randint(1, (END - w["claimed_on"]).days))
    # Who claimed, status and ratings.
    for w in rows:
        if w["claimed_on"]:
            paired = [u for u, _, pc in county.units if pc == w["community"]]
            unit = rng.choice(paired) if paired and rng.random() < 0.7 else rng.choice(county.units)[0]
            w["claim_unit"] = unit
            members = [m for m in county.by_unit[unit] if m["reported_on"] <= w["claimed_on"]]
            if members and rng.random() < 0.8:
                m = rng.choice(members)
                w["claimer"], w["claim_member_id"], w["claim_branch"] = m["name"], m["member_id"], m["branch"]
        if w["completed_on"]:
            w["status"] = "已办结"
            w["satisfaction"] = float(rng.choices([5, 4, 3, 2], [60, 28, 9, 3])[0])
        else:
            w["status"] = "已认领" if w["claimed_on"] else "待认领"
    return rows


# -- output -------------------------------------------------------------------------------------
ORIGINS = ("扫码签到", "本人填报", "后台补录")


def _quality_cases(records: _Records, links: list[dict], rng: random.Random) -> None:
    """What a 数据质量 check finds in a real county, a few of each in 2025 Q1 (the [quality] rules):
    a member-day of more than 12 hours, records entered twice under two numbers, entries made weeks
    late, a unit's identical bulk rows, members who only sign in, a household served five times in a
    day, and a unit that back-fills most of its records. Every record also gets its 记录来源 and
    录入日期. The hours and 人次 the cases add are taken back from other Q1 records (half an hour, one
    人次 at a time), so the article's figures stay exact with the flagged records included; household
    codes are ones already served that day, so the 7,742 distinct households stay too. A random
    stream of its own leaves the rest of the county as it was."""
    rows = records.rows
    county = records.c
    q1 = [r for r in rows if Q1[0] <= r["date"] <= Q1[1]]
    added: list[dict] = []
    serial = 0

    def new(base: dict, **changes) -> dict:
        nonlocal serial
        serial += 1
        row = {**base, "record_id": f"FW{base['date']:%Y%m}9{serial:05d}", "note": None, **changes}
        added.append(row)
        return row

    def as_member(m: dict) -> dict:
        return {"member_id": m["member_id"], "name": m["name"], "unit": m["unit"], "branch": m["branch"]}

    households = defaultdict(list)
    for link in links:
        households[link["record_id"]].append(link["household"])
    daily = sorted((r for r in q1 if not r["activity_id"]), key=lambda r: r["record_id"])
    # 疑似重复: three records entered again under another number
    for original in rng.sample(daily, 3):
        copy = new(original)
        links += [{"record_id": copy["record_id"], "household": h} for h in households[original["record_id"]]]
    # 单日时长过长: two members with 8 and 6 more hours on a day they already served
    for original in rng.sample(daily, 2):
        for hours, category in ((8.0, "环境整治"), (6.0, "助老助残")):
            new(original, category=category, hours=hours, persons=1, compound=None, form="日常服务",
                content=rng.choice(CONTENT[category]))
    # 批量同质: 22 members of one unit entered with the same day, hours and content, no activity number
    day = dt.date(2025, 3, 14)
    unit = next(u for u, _, _ in county.units
                if len([m for m in county.by_unit[u] if m["reported_on"] <= day]) >= 22)
    for m in [m for m in county.by_unit[unit] if m["reported_on"] <= day][:22]:
        new({"date": day, **as_member(m), "community": m["community"], "compound": None, "category": "环境整治",
             "form": "日常服务", "activity_id": None, "content": "整理社区志愿服务台账", "persons": 0, "hours": 2.0})
    # 只签到不服务: two members with no Q1 record sign in four times, half an hour each
    served = {r["member_id"] for r in q1}
    idle = [m for m in county.members if m["reported_on"] < Q1[0] and m["member_id"] not in served
            and m["unit"] != unit][:2]
    for m in idle:
        for d in (dt.date(2025, 1, 9), dt.date(2025, 1, 23), dt.date(2025, 2, 20), dt.date(2025, 3, 6)):
            new({"date": d, **as_member(m), "community": m["community"], "compound": None, "category": "政策宣讲",
                 "form": "日常服务", "activity_id": None, "content": "签到", "persons": 1, "hours": 0.5})
    # 同户重复服务: one household served by four more records the same day
    target = next(r for r in daily if households[r["record_id"]])
    others = [m for m in county.by_community[target["community"]]
              if m["reported_on"] <= target["date"] and m["member_id"] != target["member_id"] and m not in idle][:4]
    for m, category in zip(others, ("送祝福", "送热饭", "义诊", "助老助残")):
        row = new(target, **as_member(m), category=category, persons=1, hours=1.0, content=rng.choice(CONTENT[category]))
        links.append({"record_id": row["record_id"], "household": households[target["record_id"]][0]})
    # take the added hours and 人次 back from other Q1 records without an activity
    spare = [r for r in daily]
    hours = sum(r["hours"] for r in added)
    persons = sum(r["persons"] for r in added)
    while hours > 0:
        r = spare[rng.randrange(len(spare))]
        if r["hours"] >= 1.5:
            r["hours"] -= 0.5
            hours -= 0.5
    while persons > 0:
        r = spare[rng.randrange(len(spare))]
        if r["persons"] >= 2:
            r["persons"] -= 1
            persons -= 1
    rows += added
    rows.sort(key=lambda r: (r["date"], r["record_id"]))
    # 记录来源 and 录入日期 for every record; one unit back-fills most of its Q1 records; a few late
    own = defaultdict(lambda: [0, 0])  # a unit's Q1 records: without an activity number, all
    for r in q1:
        own[r["unit"]][0] += not r["activity_id"]
        own[r["unit"]][1] += 1
    backfiller = max((u for u, (a, n) in own.items() if 30 <= n <= 90), key=lambda u: (own[u][0] / own[u][1], u))
    late = {r["record_id"] for r in rng.sample([r for r in daily if r["date"] <= dt.date(2025, 2, 10)], 6)}
    for r in rows:
        if r["activity_id"]:
            origin = "活动报名"
        elif Q1[0] <= r["date"] and r["unit"] == backfiller:
            origin = "后台补录" if rng.random() < 0.75 else "扫码签到"
        else:
            origin = rng.choices(ORIGINS, weights=(6, 3, 1))[0]
        delay = rng.randint(35, 48) if r["record_id"] in late else \
            (rng.randint(3, 20) if origin == "后台补录" else rng.choice((0, 0, 0, 1, 1, 2)))
        r["origin"] = origin
        r["entered_on"] = min(END, r["date"] + dt.timedelta(days=delay))


def _approval_cases(records: _Records, rng: random.Random) -> None:
    """审核状态: every record above is 已通过; in the last two weeks members entered records of their
    own (本人填报) that their community has not approved yet (待审核) or sent back (已退回). They are
    added, not taken from the county's records, so every figure, which counts only approved
    records, stays as the article has it. No record of the member that day, at least one hour:
    they are not 数据质量 cases."""
    county = records.c
    for r in records.rows:
        r["review_status"] = "已通过"
    taken = {(r["member_id"], r["date"]) for r in records.rows}
    days = list(_days(dt.date(2025, 3, 17), END))
    pool = [m for m in county.members if m["reported_on"] <= days[0] and m["_zeal"] > 0]
    added = []
    for k, status in enumerate(["待审核"] * 38 + ["已退回"] * 7):
        while True:
            m, day = rng.choice(pool), rng.choice(days)
            if (m["member_id"], day) not in taken:
                break
        taken.add((m["member_id"], day))
        category = rng.choice(county_daily_categories())
        added.append({
            "record_id": f"FW{day:%Y%m}8{k + 1:05d}", "date": day, "member_id": m["member_id"], "name": m["name"],
            "unit": m["unit"], "branch": m["branch"], "community": m["community"], "compound": m["compound"],
            "category": category, "form": "日常服务", "activity_id": None, "content": rng.choice(CONTENT[category]),
            "persons": rng.randint(1, 3), "hours": rng.choice((1.0, 1.5, 2.0, 2.5, 3.0)), "note": None,
            "review_status": status, "origin": "本人填报",
            "entered_on": min(END, day + dt.timedelta(days=rng.choice((0, 0, 1, 2)))),
        })
    records.rows += added
    records.rows.sort(key=lambda r: (r["date"], r["record_id"]))


def county_daily_categories() -> list[str]:
    return ["送政策", "送祝福", "义诊", "政策宣讲", "环境整治", "助老助残", "安全宣传"]


def _person_name(rng: random.Random) -> str:
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.012 else rng.choice(SURNAMES)
    return surname + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")


def _unreported(county: _County, rng: random.Random) -> list[dict]:
    """Members on the roster who have not reported to a community yet (no 报到社区, no 报到日期):
    new members of 2025 in a few units, for 年度考核's 未报到 lists."""
    units = sorted({m["unit"] for m in county.members})
    rows = []
    for unit in rng.sample(units, 9):
        branch = next(m["branch"] for m in county.by_unit[unit])
        for _ in range(rng.randint(1, 4)):
            rows.append({"member_id": f"PL9{len(rows) + 1:04d}", "name": _person_name(rng), "unit": unit,
                         "branch": branch, "community": None, "reported_on": None,
                         "gender": "女" if rng.random() < 0.41 else "男", "compound": None,
                         "phone": "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9)),
                         "roll_status": "在册"})
    return rows


def _evaluations(county: _County, records: _Records, rng: random.Random) -> list[dict]:
    """The 2024 社区评价表 (双评价): each community grades the members who reported to it in 2024 by
    their year (approved hours); three members with no 2024 record were graded 合格 (conflicts
    with the [evaluation] rule, for the page to list) and one community has not graded eight of
    its members yet."""
    year_end = dt.date(2024, 12, 31)
    hours = defaultdict(float)
    for r in records.rows:
        if r["date"].year == 2024 and r["review_status"] == "已通过":
            hours[r["member_id"]] += r["hours"]
    reported = [m for m in county.members if m["reported_on"] <= year_end]
    late_community = sorted(county.by_community)[3]
    skipped = {m["member_id"] for m in [m for m in reported if m["community"] == late_community][:8]}
    idle = [m["member_id"] for m in reported if hours[m["member_id"]] == 0]
    conflicts = set(rng.sample(idle, min(3, len(idle))))
    comments = {"优秀": ("服务积极，群众评价好", "带头参加红色服务日，表现突出"), "合格": ("能按要求参加社区服务", "按时参加活动"),
                "基本合格": ("参加服务次数偏少", "参与不够经常"), "不合格": ("全年未参加社区服务",)}
    rows = []
    for m in reported:
        if m["member_id"] in skipped:
            continue
        h = hours[m["member_id"]]
        if m["member_id"] in conflicts:
            grade = "合格"
        elif h == 0:
            grade = "不合格" if rng.random() < 0.6 else "基本合格"
        elif h >= 30:
            grade = "优秀" if rng.random() < 0.5 else "合格"
        elif h >= 6:
            grade = "合格"
        else:
            grade = "基本合格"
        rows.append({"year": 2024, "member_id": m["member_id"], "name": m["name"], "unit": m["unit"],
                     "community": m["community"], "grade": grade, "comment": rng.choice(comments[grade]),
                     "evaluated_on": dt.date(2025, 1, rng.randint(6, 24)), "evaluator": f"{m['community']}党委"})
    return rows


def generate(seed: int = SEED) -> tuple[dict[str, pd.DataFrame], _County]:
    """All tables of the demo store as DataFrames, and the county they describe (for boundaries)."""
    county = _County(seed)
    records = _Records(county)
    records.red_service_days()
    records.liusong_events()
    records.daily()
    records.rows.sort(key=lambda r: (r["date"], r["record_id"]))
    records.calibrate()
    households = records.households()
    _quality_cases(records, households, random.Random(seed + 1))
    _approval_cases(records, random.Random(seed + 2))
    evaluations = _evaluations(county, records, random.Random(seed + 3))
    unreported = _unreported(county, random.Random(seed + 4))

    communities = pd.DataFrame([
        {"community": name, "code": f"1408291{i + 1:05d}", "street": "圣人涧镇", "county": "平陆县",
         "households": hh, "population": round(hh * 2.76), "lon": county.centres[name][0],
         "lat": county.centres[name][1]}
        for i, (name, hh, _, _) in enumerate(COMMUNITIES)
    ])
    compounds = pd.DataFrame([
        {"compound": cn, "community": name, "households": hh, "lon": x, "lat": y}
        for name, items in county.compounds.items() for cn, hh, x, y in items
    ])
    units = pd.DataFrame([{"unit": u, "category": c, "paired_community": p} for u, c, p in county.units])
    branches = pd.DataFrame([
        {"branch": b, "unit": u, "members_on_roll": n}
        for (b, u), n in zip(county.branches, county.on_roll)
    ])
    # members who first reported in 2025 joined the roster (入册日期) a few days to weeks before
    listed = random.Random(seed + 5)
    members = pd.DataFrame([{**{k: v for k, v in m.items() if not k.startswith("_")}, "roll_status": "在册",
                             "listed_on": m["reported_on"] - dt.timedelta(days=listed.randint(3, 40))
                             if m["reported_on"] >= Q1[0] else None}
                            for m in county.members] + unreported)
    services = pd.DataFrame([{k: v for k, v in r.items() if not k.startswith("_")} for r in records.rows])
    return {
        "communities": communities,
        "compounds": compounds,
        "units": units,
        "branches": branches,
        "members": members,
        "services": services,
        "service_households": pd.DataFrame(households, columns=["record_id", "household"]),
        "wishes": pd.DataFrame(_wishes(county)),
        "evaluations": pd.DataFrame(evaluations),
    }, county


def boundaries(county: _County) -> dict:
    return {
        "type": "FeatureCollection",
        "name": "平陆县（演示）社区边界",
        "note": "合成边界，仅供演示，不代表真实行政区划。Synthetic boundaries for the demo only.",
        "features": [
            {
                "type": "Feature",
                "properties": {"community": name, "synthetic": True},
                "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in county.polygons[name]]]},
            }
            for name, _, _, _ in COMMUNITIES
        ],
    }


# The demo county's own settings (config.toml): its 年度考核 targets, set for a county whose
# members serve about 15 hours a year (the defaults, 50 hours, are a city district's).
DEMO_CONFIG = """# 平陆县（演示）的设置：覆盖 redservice/defaults.toml 中的同名项。
[targets]
hours_per_year = 12.0
activities_per_year = 2
contacts_per_quarter = 1
report_within_days = 30
unit_reporting_rate_min = 0.95
unit_completion_rate_min = 0.60

# 县人民医院：医护人员轮班，年度服务时长目标按8小时
[targets.units."县人民医院"]
hours_per_year = 8.0
"""


def _write_files(out: str | Path, tables: dict, config: str, boundaries_json: str, manifest: dict) -> Path:
    """Write a demo store: its Parquet tables, config.toml, boundaries and manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for table, df in tables.items():
        write_table(out, table, df)
    (out / "config.toml").write_text(config, encoding="utf-8")
    (out / BOUNDARIES_FILE).write_text(boundaries_json + "\n", encoding="utf-8")
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1) + "\n",
                                     encoding="utf-8")
    return out


def write(out: str | Path, seed: int = SEED) -> Path:
    """Write the demo store to ``out``: Parquet tables, boundaries and a manifest."""
    tables, county = generate(seed)
    manifest = {
        "name": "平陆县（演示）",
        "county": "平陆县",
        "county_en": "Pinglu County (demo)",
        "synthetic": True,
        "description": "合成演示数据，由 python -m redservice demo 生成；不代表任何真实单位或个人。",
        "generator": {"command": "python -m redservice demo", "seed": seed},
        "period": [START.isoformat(), END.isoformat()],
        "targets": {k: v for k, v in TARGETS.items()},
    }
    return _write_files(out, tables, DEMO_CONFIG,
                        json.dumps(boundaries(county), ensure_ascii=False, sort_keys=True, indent=1), manifest)


# -- the demo city (issue 22) ------------------------------------------------------------------------
# ``python -m redservice demo --city`` writes a synthetic city of 13 counties, generated, never
# committed: 平陆县 is the demo county exactly (its 2025 Q1 figures are the seed's), the other 12 are
# thinned copies of it — their names prefixed with the county's, a share of its service records and
# wishes (a few thousand records each), its households scaled — and three units of the city
# (市直单位, no county) whose members report and serve in the counties.
CITY = "运城市"
CITY_LABEL = "运城市（演示）"
CITY_COUNTIES = ("盐湖区", "永济市", "河津市", "临猗县", "万荣县", "闻喜县", "稷山县", "新绛县", "绛县",
                 "垣曲县", "夏县", "平陆县", "芮城县")
DEMO_COUNTY = "平陆县"
CITY_UNITS = ("市委组织部", "市财政局", "市住建局")
CITY_COLUMNS = 4  # counties per row on the map


def _renamer(county: str):
    """A county's copy of a demo name: 县住建局 → 芮城县住建局, 北城社区 → 芮城县北城社区."""
    def name(value):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        value = str(value)
        return county + value[1:] if value.startswith("县") else county + value
    return name


def _county_copy(tables: dict[str, pd.DataFrame], county: str, index: int, rng: random.Random) -> dict:
    """A thinned copy of the demo county named for ``county``, drawn at cell ``index`` of the city."""
    name = _renamer(county)
    code = f"C{index:02d}-"
    share = 0.15 + 0.25 * rng.random()  # of the service records and wishes kept
    scale = 0.5 + rng.random()  # of each community's households
    dx = (index % CITY_COLUMNS) * 4.4 * CELL[0]
    dy = -(index // CITY_COLUMNS) * 3.4 * CELL[1]
    out = {}
    c = tables["communities"].copy()
    c["code"] = [f"14{index:02d}{i:08d}" for i in range(len(c))]
    c["community"] = c["community"].map(name)
    c["households"] = (c["households"] * scale).round().astype(int)
    c["population"] = (c["households"] * 2.76).round().astype(int)
    c["lon"], c["lat"] = c["lon"] + dx, c["lat"] + dy
    out["communities"] = c
    p = tables["compounds"].copy()
    for col in ("compound", "community"):
        p[col] = p[col].map(name)
    p["households"] = (p["households"] * scale).round().astype("Int64")
    p["lon"], p["lat"] = p["lon"] + dx, p["lat"] + dy
    out["compounds"] = p
    u = tables["units"].copy()
    for col in ("unit", "paired_community"):
        u[col] = u[col].map(name)
    out["units"] = u
    b = tables["branches"].copy()
    for col in ("branch", "unit"):
        b[col] = b[col].map(name)
    out["branches"] = b
    m = tables["members"].copy()
    m["member_id"] = code + m["member_id"]
    for col in ("unit", "branch", "community", "compound"):
        m[col] = m[col].map(name)
    out["members"] = m
    s = tables["services"]
    keep = [rng.random() < share for _ in range(len(s))]
    s = s[keep].copy()
    kept_ids = set(s["record_id"])
    for col in ("record_id", "member_id", "activity_id"):
        s[col] = s[col].map(lambda v: None if v is None or v != v else code + str(v))
    for col in ("unit", "branch", "community", "compound"):
        s[col] = s[col].map(name)
    out["services"] = s
    h = tables["service_households"]
    h = h[h["record_id"].isin(kept_ids)].copy()
    h["record_id"] = code + h["record_id"]
    h["household"] = h["household"].map(lambda v: household_hash(f"{county}:{v}", DEMO_HOUSEHOLD_KEY))
    out["service_households"] = h
    w = tables["wishes"]
    w = w[[rng.random() < share for _ in range(len(w))]].copy()
    w["wish_id"] = code + w["wish_id"]
    w["claim_member_id"] = w["claim_member_id"].map(lambda v: None if v is None or v != v else code + str(v))
    for col in ("community", "compound", "claim_unit", "claim_branch"):
        w[col] = w[col].map(name)
    out["wishes"] = w
    e = tables["evaluations"].copy()
    e["member_id"] = code + e["member_id"]
    for col in ("unit", "community"):
        e[col] = e[col].map(name)
    e["evaluator"] = e["community"] + "党委"
    out["evaluations"] = e
    return out


def _city_units(counties: list[dict], rng: random.Random) -> dict:
    """Three units of the city (市直单位: 所属市 only): a branch each, two members per unit in every
    county but the demo's, reporting and serving in that county's first communities."""
    units = [{"unit": u, "category": "党政机关", "paired_community": None} for u in CITY_UNITS]
    branches = [{"branch": f"{u}机关党支部", "unit": u, "members_on_roll": 2 * (len(counties))} for u in CITY_UNITS]
    members, services, households = [], [], []
    for ci, county in enumerate(counties):
        community = county["communities"]["community"].iloc[ci % 3]
        for ui, unit in enumerate(CITY_UNITS):
            for k in range(2):
                mid = f"SZ{ui}{ci:02d}{k}"
                members.append({"member_id": mid, "name": f"市直党员{ui}{ci:02d}{k}", "unit": unit,
                                "branch": f"{unit}机关党支部", "community": community,
                                "reported_on": dt.date(2024, 3, 1 + k + ui), "gender": "男" if k else "女",
                                "compound": None, "phone": f"1390359{ui}{ci:02d}{k}", "roll_status": "在册",
                                "listed_on": None})
                for month in range(1, 16):
                    day = dt.date(2024 + (month - 1) // 12, (month - 1) % 12 + 1, rng.randint(3, 26))
                    rid = f"SZ-{mid}-{month:02d}"
                    services.append({"record_id": rid, "date": day, "member_id": mid, "name": members[-1]["name"],
                                     "unit": unit, "branch": f"{unit}机关党支部", "community": community,
                                     "compound": None, "category": rng.choice(["送政策", "送文化", "政策宣讲"]),
                                     "form": "日常服务", "activity_id": None, "content": "市直单位党员进社区服务",
                                     "persons": rng.randint(1, 6), "hours": float(rng.choice([1, 1.5, 2, 3])),
                                     "note": None, "review_status": "已通过", "origin": "扫码签到",
                                     "entered_on": day})
                    households.append({"record_id": rid, "household": household_hash(
                        f"{community}:{rng.randint(1, 400)}号", DEMO_HOUSEHOLD_KEY)})
    return {"units": pd.DataFrame(units), "branches": pd.DataFrame(branches), "members": pd.DataFrame(members),
            "services": pd.DataFrame(services), "service_households": pd.DataFrame(households)}


def generate_city(seed: int = SEED) -> tuple[dict[str, pd.DataFrame], dict]:
    """All tables of the demo city, and its boundaries."""
    tables, county = generate(seed)
    rng = random.Random(seed + 22)
    parts, shapes = [], []
    for index, name in enumerate(CITY_COUNTIES):
        if name == DEMO_COUNTY:
            part = {t: df.copy() for t, df in tables.items()}
            dx = (index % CITY_COLUMNS) * 4.4 * CELL[0]
            dy = -(index // CITY_COLUMNS) * 3.4 * CELL[1]
            # the demo county as it is (its names, figures and records), moved to its place on the map
            part["communities"]["lon"] += dx
            part["communities"]["lat"] += dy
            part["compounds"]["lon"] += dx
            part["compounds"]["lat"] += dy
            renamed = {n: n for n, _, _, _ in COMMUNITIES}
        else:
            part = _county_copy(tables, name, index, rng)
            dx = (index % CITY_COLUMNS) * 4.4 * CELL[0]
            dy = -(index // CITY_COLUMNS) * 3.4 * CELL[1]
            renamed = {n: _renamer(name)(n) for n, _, _, _ in COMMUNITIES}
        part["communities"]["county"] = name
        part["communities"]["city"] = CITY
        part["units"]["county"] = name
        part["units"]["city"] = CITY
        parts.append(part)
        for n, _, _, _ in COMMUNITIES:
            ring = [[round(x + dx, 6), round(y + dy, 6)] for x, y in county.polygons[n]]
            shapes.append({"type": "Feature", "properties": {"community": renamed[n], "county": name,
                                                             "synthetic": True},
                           "geometry": {"type": "Polygon", "coordinates": [ring]}})
    extra = _city_units([p for p, n in zip(parts, CITY_COUNTIES) if n != DEMO_COUNTY], rng)
    extra["units"]["county"], extra["units"]["city"] = None, CITY
    out = {}
    for table in tables:
        frames = [p[table] for p in parts] + ([extra[table]] if table in extra else [])
        out[table] = pd.concat(frames, ignore_index=True)
    out["services"] = out["services"].sort_values(["date", "record_id"], kind="stable").reset_index(drop=True)
    doc = {"type": "FeatureCollection", "name": f"{CITY_LABEL}社区边界",
           "note": "合成边界，仅供演示，不代表真实行政区划。Synthetic boundaries for the demo only.",
           "features": shapes}
    return out, doc


def write_city(out: str | Path, seed: int = SEED) -> Path:
    """Write the demo city to ``out`` (generated on demand, not committed)."""
    tables, doc = generate_city(seed)
    manifest = {
        "name": CITY_LABEL,
        "county": CITY,
        "county_en": "Yuncheng City (demo)",
        "city": CITY,
        "city_en": "Yuncheng City (demo)",
        "level": "city",
        "counties": list(CITY_COUNTIES),
        "synthetic": True,
        "description": "合成演示数据（13个县（市、区）），由 python -m redservice demo --city 生成；"
                       "不代表任何真实单位或个人。平陆县即演示县，其余各县由演示县缩减、改名而成。",
        "generator": {"command": "python -m redservice demo --city", "seed": seed},
        "period": [START.isoformat(), END.isoformat()],
    }
    return _write_files(out, tables, DEMO_CONFIG.replace("平陆县（演示）", CITY_LABEL),
                        json.dumps(doc, ensure_ascii=False), manifest)
