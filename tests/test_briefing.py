"""The briefing paragraph: 余/近/万 at their thresholds, and the seed article's sentence."""

import json

import pytest

from conftest import SMALL, write_store
from redservice import briefing, cli


@pytest.mark.parametrize("value, zh, en", [
    (2046, "2000余", "more than 2,000"),
    (2000, "2000", "2,000"),
    (2999, "近3000", "nearly 3,000"),  # 0.03 % below 3000
    (2910, "近3000", "nearly 3,000"),  # exactly 3 % below: inside
    (2909, "2000余", "more than 2,000"),  # 3.03 % below: outside
    (2900, "2000余", "more than 2,000"),  # 3.3 % below 3000: not near
    (236, "200余", "more than 200"),
    (124, "120余", "more than 120"),  # leading 1: two significant figures
    (199, "近200", "nearly 200"),
    (10486.5, "10000余", "more than 10,000"),
    (14806, "近15000", "nearly 15,000"),
    (14549, "14000余", "more than 14,000"),  # 3.01 % below 15000
    (99999, "近10万", "nearly 100,000"),
    (123456, "12万余", "more than 120,000"),
    (1234567, "120万余", "more than 1,200,000"),
    (9, "9", "9"),
    (None, "—", "—"),
])
def test_approx(value, zh, en):
    assert briefing.approx(value, "zh") == zh
    assert briefing.approx(value, "en") == en


def test_demo_paragraph_is_the_seed_sentence(capsys):
    assert cli.main(["brief"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("今年以来，全县145个党支部、2000余名在职党员到12个社区报到，累计开展志愿服务10000余小时，"
                           "联系群众7742户，服务群众近15000人次")
    assert "与上期相比" in text


def test_brief_json_and_english_on_a_fixture(tmp_path, capsys):
    directory = write_store(tmp_path / "small", **SMALL)
    assert cli.main(["brief", "--data", str(directory), "--start", "2025-01-01", "--end", "2025-03-31",
                     "--unit", "U1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"].startswith("2025年1月1日至2025年3月31日，U1共2个党支部")
    assert data["kpis"]["hours"] == 6.5
    assert cli.main(["brief", "--data", str(directory), "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("So far this year, across the county,")


def test_a_period_without_data_says_so(capsys):
    assert cli.main(["brief", "--start", "2020-01-01", "--end", "2020-06-30"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("2020年1月1日至2020年6月30日无数据")
    assert "0小时" not in text and "0人次" not in text


def test_reversed_dates_are_refused_by_the_cli(capsys):
    assert cli.main(["kpis", "--start", "2025-03-01", "--end", "2025-02-01"]) != 0
    assert "早于开始日期" in capsys.readouterr().err


def test_brief_compared_with_the_same_period_a_year_before(capsys):
    assert cli.main(["brief", "--compare", "yoy"]) == 0
    text = capsys.readouterr().out
    assert "与去年同期相比" in text and "与上期相比" not in text
