"""Every accepted date form parses to the day it names, with and without leading zeros and with or
without a time of day (regression: ``2025/3/1 10:20:00`` was stored as 2025-03-11)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from redservice.ingest import parse

DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
TIMES = st.times().map(lambda t: t.replace(microsecond=0))


def _date_forms(d: dt.date, pad: bool) -> list[str]:
    m, dd = (f"{d.month:02d}", f"{d.day:02d}") if pad else (str(d.month), str(d.day))
    return [f"{d.year}-{m}-{dd}", f"{d.year}/{m}/{dd}", f"{d.year}.{m}.{dd}", f"{d.year}年{m}月{dd}日",
            f"{d.year}年{m}月{dd}号"] + ([d.strftime("%Y%m%d")] if pad else [])


def _time_forms(t: dt.time) -> list[str]:
    h12 = t.hour % 12 or 12
    half = "上午" if t.hour < 12 else "下午"
    return ["", f" {t.hour}:{t.minute:02d}", f" {t.hour:02d}:{t.minute:02d}:{t.second:02d}",
            f" {t.hour}:{t.minute:02d}:{t.second:02d}", f" {half}{h12}:{t.minute:02d}",
            f" {h12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}", f" {t.hour}时{t.minute}分",
            f"T{t.hour:02d}:{t.minute:02d}:{t.second:02d}", f" {t.hour:02d}:{t.minute:02d}:{t.second:02d}.000"]


@given(DAYS, TIMES, st.booleans())
def test_every_date_form_with_and_without_time_is_the_right_day(day, time, pad):
    for date_text in _date_forms(day, pad):
        for time_text in _time_forms(time):
            if time_text.startswith("T") and "年" in date_text:
                continue
            text = date_text + time_text
            assert parse.parse_date(text) == day, text
            assert parse.parse_date(f"  {text}  ") == day, text


@pytest.mark.parametrize("text,day", [
    ("2025/3/1 10:20:00", dt.date(2025, 3, 1)), ("2025/3/1 14:30", dt.date(2025, 3, 1)),
    ("2025/12/1 10:00", dt.date(2025, 12, 1)), ("2025/1/2 9:05", dt.date(2025, 1, 2)),
    ("2025年3月1日 14时30分", dt.date(2025, 3, 1)), ("2025-3-1 9点", dt.date(2025, 3, 1)),
])
def test_excel_datetime_text_keeps_its_day(text, day):
    assert parse.parse_date(text) == day


@pytest.mark.parametrize("text", ["2025/3/110:20:00", "2025/3/1 25:00", "2025/3/1 10:61", "2025-3/1",
                                  "2025/3/1 下午13:00"])
def test_ambiguous_or_impossible_date_times_are_refused(text):
    with pytest.raises(parse.ParseError):
        parse.parse_date(text)


def test_activity_time_ranges_give_the_day_and_the_hours():
    assert parse.parse_date_range("2019-08-27 14:30:00 至 2019-08-27 16:30:00") == (dt.date(2019, 8, 27), 2.0)
    assert parse.parse_date_range("2025/3/1 下午2:00~2025/3/1 下午3:30") == (dt.date(2025, 3, 1), 1.5)
    assert parse.parse_date_range("2019-08-27 至 2019-08-28") == (dt.date(2019, 8, 27), None)
    assert parse.parse_date("2019-08-27 14:30:00 至 2019-08-27 16:30:00") == dt.date(2019, 8, 27)
    assert parse.parse_date_range("2019-08-27") is None
    with pytest.raises(parse.ParseError):
        parse.parse_date_range("2019-08-27 16:30 至 2019-08-27 14:30")
