"""Every page's visible numbers that share a label agree, or their labels say why they differ.

A page is read as a reader sees it: the tiles (label and value), the captions and callouts
(sentence by sentence), the funnel stages and the charts' annotations. Each number is taken with
the words in front of it (its label). Two numbers of one measure (labels naming the same thing once
basis and filler are taken out, the same unit) that differ must carry different bases (``BASES``: 本期认领 against 其中,
i.e. of the wishes posted in the period), else the page contradicts itself."""

from __future__ import annotations

import itertools
import re

import pytest

from conftest import run_app
from test_roles_pages import LAZY_TABS, PAGES

BASES = ("本期提出", "本期认领", "本期办结", "其中", "基于", "期末未办结", "较上期", "对比")
UNITS = "万?(?:件|小时/人|小时|人次|户|个|人|次|天|%)"
NUMBER = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*({UNITS})?")
SENTENCE = re.compile(r"[^。；;\n]+")


def _value(text: str, unit: str | None) -> float:
    v = float(text)
    return v * 1e4 if unit and unit.startswith("万") else v


def _from_text(text: str, out: list) -> None:
    """(label, basis text, value, unit) for each exact number in each sentence of ``text``:
    the label is the clause in front of the number, the basis its whole sentence."""
    for sentence in SENTENCE.findall(text):
        for m in NUMBER.finditer(sentence):
            before = sentence[: m.start()]
            after = sentence[m.end(): m.end() + 1]
            if before.endswith("近") or after == "余" or re.search(r"\d[年月]$|[年月]$", before) \
                    or (m.group(2) is None and re.match(r"[年月日]", after or "")):
                continue  # approximations (近15000, 200余) and dates are not figures to compare
            clause = re.split(r"[，,：:（(）)、]", before)[-1]
            unit = (m.group(2) or "").lstrip("万") or None
            out.append((clause.strip(), sentence, _value(m.group(1), m.group(2)), unit))


def _rows_below_tiles(block):
    """(row of tile columns, the row of as many columns without tiles right after it in the same
    block), for every such pair on the page: a row is a horizontal block's columns."""
    from streamlit.testing.v1.element_tree import Block, Column

    def row(node):
        kids = list(node.children.values()) if isinstance(node, Block) else []
        return kids if kids and getattr(node, "type", None) == "flex_container" and all(
            isinstance(k, Column) for k in kids) else None

    kids = list(block.children.values()) if isinstance(block, Block) else []
    for a, b in zip(kids, kids[1:]):
        above, below = row(a), row(b)
        if above and below and len(above) == len(below) and all(len(c.metric) == 1 for c in above) \
                and not any(len(c.metric) for c in below):
            yield above, below
    for kid in kids:
        yield from _rows_below_tiles(kid)


def labelled_numbers(at) -> list[tuple[str, str, float, str | None]]:
    out: list = []
    for metric in at.metric:
        m = NUMBER.search(metric.value)
        if m and metric.value != "—":
            unit = (m.group(2) or "").lstrip("万") or None
            out.append((metric.label, metric.label, _value(m.group(1), m.group(2)), unit))
    # A caption under a tile belongs to the tile: it is read with the tile's label in front. It stands
    # in the tile's column, or in the same place of the row of columns right below a row of tiles
    # (ui.caption_row).
    under_tile = set()
    pairs = [(column, column) for column in at.columns if len(column.metric) == 1]
    for above, below in _rows_below_tiles(at.main):
        pairs += list(zip(above, below))
    for tile, column in pairs:
        for caption in column.caption:
            under_tile.add(id(caption.proto))
            _from_text(f"{tile.metric[0].label}{caption.value}", out)
    for kind in ("caption", "info", "warning", "markdown", "code"):
        for element in getattr(at, kind):
            if id(element.proto) not in under_tile:
                _from_text(str(element.value), out)
    for chart in at.get("plotly_chart"):
        import json

        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            if trace.get("type") == "funnel":
                for label, value in zip(trace["y"], trace["x"]):
                    out.append((label, label, float(value), "件"))
        for note in spec.get("layout", {}).get("annotations", []):
            _from_text(re.sub(r"<[^>]+>", " ", str(note.get("text", ""))), out)
    return out


def _name(label: str) -> str:
    """What a label names, without its basis, dates, brackets and filler: 本期认领微心愿 → 认领."""
    name = re.sub(r"（[^）]*）|\([^)]*\)", "", label)
    name = re.sub(r"\d+[年月日]", "", name)
    for word in BASES + ("截至", "期末", "期间", "本期", "全县", "微心愿", "已", "的"):
        name = name.replace(word, "")
    return re.sub(r"[^\w/]", "", name)  # no markdown (**), spaces or punctuation


def _same_measure(a: str, b: str) -> bool:
    """Two names of one measure: equal, or one the other's tail (人均时长中位数 / 中位数) — but not
    its negation (未办结 / 办结)."""
    if len(a) < 2 or len(b) < 2:
        return False
    short, long = sorted((a, b), key=len)
    if not long.endswith(short):
        return False
    head = long[: len(long) - len(short)]
    return not head.endswith(("未", "待", "不足", "超过"))


def contradictions(numbers) -> list[str]:
    found = []
    for (l1, s1, v1, u1), (l2, s2, v2, u2) in itertools.combinations(numbers, 2):
        if abs(v1 - v2) < 1e-9 or not _same_measure(_name(l1), _name(l2)):
            continue
        if (u1 != u2) and (u1 and u2 or "%" in (u1, u2)):
            continue  # another unit: another measure
        b1 = {b for b in BASES if b in s1}
        b2 = {b for b in BASES if b in s2}
        if b1 == b2:
            found.append(f"{l1} {v1:g}{u1 or ''} ≠ {l2} {v2:g}{u2 or ''} (basis: {sorted(b1) or 'none'})")
    return sorted(set(found))


def test_the_checker_catches_the_contradictions_it_was_written_for():
    tiles_vs_funnel = [("认领微心愿", "认领微心愿", 236, "件"), ("认领", "认领", 216, "件")]
    assert contradictions(tiles_vs_funnel)
    medians = [("人均时长中位数（小时）", "人均时长中位数（小时）", 5.3, None),
               ("全县中位数", "全县中位数 5.2小时/人", 5.2, "小时/人")]
    assert contradictions(medians)
    labelled = [("本期认领微心愿", "本期认领微心愿", 236, "件"),
                ("其中已认领", "本期提出的235件中：截至期末已认领216件", 216, "件")]
    assert not contradictions(labelled)
    out: list = []
    _from_text("本期提出的235件中：截至期末已认领216件，已办结64件。数据截至2025年3月31日", out)
    assert [(label, v) for label, _, v, _ in out] == [("本期提出的", 235), ("截至期末已认领", 216), ("已办结", 64)]


@pytest.mark.parametrize("lang", ["zh"])
@pytest.mark.parametrize("page", [p for p in PAGES if not p.endswith("data.py")])
def test_numbers_that_share_a_label_agree(page, lang):
    at = run_app({"lang": lang} if lang != "zh" else None, page=None if page.endswith("overview.py") else page)
    assert not at.exception, at.exception
    numbers = labelled_numbers(at)
    key = LAZY_TABS.get(page)
    for label in [tab.label for tab in at.tabs] if key else []:  # a lazy tab is part of the page too
        at.session_state[key] = label
        at.run()
        assert not at.exception, (label, at.exception)
        numbers += labelled_numbers(at)
    assert numbers or not at.metric  # 社区覆盖 has no tiles: its figures are in the map and table
    assert contradictions(numbers) == []
