"""Parsing one cell into a value, per field kind, and the normalisation that goes with it.

NFKC is applied to each field after the file has been split into cells (never to the raw file,
where it would turn a full-width ``，`` inside a cell into a separator): full-width digits, letters,
brackets and spaces become half-width in codes, numbers and dates. Names are compared in their NFKC
form but stored as written (trimmed, inner spaces between Chinese characters removed); free text
(服务内容, 备注, 心愿内容) keeps its punctuation. A value that cannot be read raises ``ParseError``
with a catalogue message kind; nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from functools import lru_cache

EXCEL_EPOCH = dt.date(1899, 12, 30)
HOUSEHOLD_SEPARATORS = re.compile(r"[、，,；;\s]+")
_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_WS = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCIENTIFIC = re.compile(r"^[+-]?\d(\.\d+)?e[+-]?\d+$", re.I)


class ParseError(ValueError):
    def __init__(self, kind: str, **params):
        super().__init__(kind, params)
        self.kind = kind
        self.params = params


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def clean(text: str) -> str:
    """Trim, drop control characters, turn NBSP and full-width spaces into spaces."""
    return _CONTROL.sub("", text.replace("\u00a0", " ").replace("\u3000", " ")).strip()


def name_key(text: str) -> str:
    """The form two names are compared in: NFKC, no spaces at all, case folded."""
    return _WS.sub("", nfkc(text)).casefold()


# -- kinds ------------------------------------------------------------------------------------------
def parse_text(raw: str) -> str | None:
    text = clean(raw)
    return text or None


def parse_name(raw: str) -> str | None:
    text = _SPACE_BETWEEN_CJK.sub("", clean(raw))
    text = _WS.sub(" ", text)
    if "\n" in raw.strip():
        raise ParseError("linebreak")
    return text or None


def parse_code(raw: str) -> str | None:
    text = _WS.sub("", nfkc(clean(raw)))
    if not text:
        return None
    if _SCIENTIFIC.match(text):
        raise ParseError("scientific", value=text)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text


def parse_phone(raw: str) -> str | None:
    text = parse_code(raw)
    if text is None:
        return None
    return re.sub(r"(?<=\d)[-–](?=\d)", "", text)


# A time of day after a date, as Excel in Chinese and ledger systems write it: 10:20, 10:20:00,
# 10:20:00.000, 下午2:30, 2:30 PM, 14时30分, 9点. Only checked to be a real time; the day is the date's.
_TIME = (r"(?:(?P<ampm1>上午|下午|早上|中午|晚上|凌晨|AM|PM)\s*)?"
         r"(?P<hh>\d{1,2})(?:(?::|时|点)(?P<mm>\d{1,2})(?:(?::|分)(?P<ss>\d{1,2})(?:\.\d+)?秒?)?分?|时|点)"
         r"(?:\s*(?P<ampm2>AM|PM|上午|下午))?")
_DATE_PATTERNS = [
    re.compile(rf"^(\d{{4}})\s*([-/.])\s*(\d{{1,2}})\s*\2\s*(\d{{1,2}})(?:(?:\s+|T|\s*(?=[上下早中晚凌]))(?:{_TIME}))?$", re.I),
    re.compile(rf"^(\d{{4}})\s*年\s*(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*[日号]?(?:\s*(?:{_TIME}))?$", re.I),
    re.compile(rf"^(\d{{4}})(\d{{2}})(\d{{2}})(?:(?:\s+|T)(?:{_TIME}))?$", re.I),
]


def _check_time(m: re.Match) -> bool:
    hh = m.group("hh")
    if hh is None:
        return True
    hour, minute, second = int(hh), int(m.group("mm") or 0), int(m.group("ss") or 0)
    if m.group("ampm1") or m.group("ampm2"):
        return 0 <= hour <= 12 and minute < 60 and second < 60
    return (hour < 24 and minute < 60 and second < 60) or (hour == 24 and minute == 0 and second == 0)


@lru_cache(maxsize=65536)
def _date(text: str) -> dt.date:
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            groups = [g for g in m.groups()[:4] if g is not None and g not in "-/."]
            y, mo, d = (int(g) for g in groups[:3])
            if not _check_time(m):
                raise ParseError("bad_date", value=text)
            try:
                return dt.date(y, mo, d)
            except ValueError:
                raise ParseError("bad_date", value=text) from None
    if re.fullmatch(r"\d{1,6}(\.\d+)?", text):  # an Excel serial number (day 1 = 1900-01-01)
        serial = float(text)
        if 1 <= serial < 2958466:
            if serial < 61:
                serial += 1  # Excel's phantom 1900-02-29: serials below 61 are one day off
            return EXCEL_EPOCH + dt.timedelta(days=int(serial))
    raise ParseError("bad_date", value=text)


def _date_text(raw: str) -> str:
    """A date cell as matched: NFKC, runs of white space made one space (never removed: in
    ``2025/3/1 10:20`` the space is what ends the day)."""
    return _WS.sub(" ", nfkc(clean(raw))).strip()


def parse_date(raw: str) -> dt.date | None:
    text = _date_text(raw)
    if not text:
        return None
    if _RANGE.search(text):
        span = parse_date_range(text)
        if span is not None:
            return span[0]
    return _date(text)


_RANGE = re.compile(r"\s*(?:至|到|~|～|—|--)\s*")


def parse_date_range(raw: str) -> tuple[dt.date, float | None] | None:
    """``2019-08-27 14:30:00 至 2019-08-27 16:30:00`` (an activity's time, as platforms export it):
    the start's date and the hours between start and end (None when the range gives no times).
    None when the text is not a range."""
    text = _date_text(raw)
    parts = _RANGE.split(text)
    if len(parts) != 2 or not all(parts):
        return None
    start, end = (_datetime(p) for p in parts)
    if start is None or end is None:
        return None
    day = _date(parts[0])
    if isinstance(start, dt.date) and not isinstance(start, dt.datetime):
        return day, None
    if not isinstance(end, dt.datetime):
        return day, None
    hours = (end - start).total_seconds() / 3600
    if hours <= 0:
        raise ParseError("bad_range", value=text)
    return day, round(hours, 4)


def _datetime(text: str) -> dt.datetime | dt.date | None:
    """A date with its time of day where one is written (for ranges); None when unreadable."""
    try:
        day = _date(text)
    except ParseError:
        # an end written as a time alone (14:30 至 16:30) is read against no date
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m and "hh" in m.groupdict() and m.group("hh") is not None:
            hour, minute = int(m.group("hh")), int(m.group("mm") or 0)
            second = int(m.group("ss") or 0)
            ampm = (m.group("ampm1") or m.group("ampm2") or "").upper()
            if ampm in ("下午", "晚上", "PM") and hour < 12:
                hour += 12
            if ampm in ("上午", "凌晨", "AM") and hour == 12:
                hour = 0
            if hour == 24:
                return dt.datetime.combine(day, dt.time()) + dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(hour, minute, second))
    return day


_HOUR_UNITS = re.compile(r"(个?小时|hours?|hrs?|h|时)$", re.I)
_HM = re.compile(r"^(\d+(?:\.\d+)?)(?:个?小时|h|时)(\d+(?:\.\d+)?)(?:分钟|分|min)$", re.I)
_MINUTES = re.compile(r"^(\d+(?:\.\d+)?)(?:分钟|分|min|mins|minutes?)$", re.I)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def _number(text: str) -> float:
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        raise ParseError("bad_number", value=text)
    value = float(text)
    if math.isnan(value) or math.isinf(value):
        raise ParseError("bad_number", value=text)
    return value


@lru_cache(maxsize=4096)
def _hours(text: str) -> float:
    m = _HM.match(text)
    if m:
        return float(m.group(1)) + float(m.group(2)) / 60
    m = _MINUTES.match(text)
    if m:
        return float(m.group(1)) / 60
    return _number(_HOUR_UNITS.sub("", text))


def parse_hours(raw: str) -> float | None:
    text = _WS.sub("", nfkc(clean(raw)))
    if not text:
        return None
    try:
        return round(_hours(text), 4)
    except ParseError:
        raise ParseError("bad_hours", value=text) from None


_COUNT_UNITS = re.compile(r"(人次|人|次|户|个|名|位)$")


def parse_count(raw: str) -> int | None:
    text = _WS.sub("", nfkc(clean(raw)))
    if not text:
        return None
    value = _number(_COUNT_UNITS.sub("", text))
    if not value.is_integer():
        raise ParseError("not_whole", value=text)
    return int(value)


def parse_year(raw: str) -> int | None:
    """A year as ledgers write it: 2025, 2025年, 2025年度."""
    text = _WS.sub("", nfkc(clean(raw)))
    if not text:
        return None
    m = re.fullmatch(r"(\d{4})(?:\.0)?(?:年度?)?", text)
    if not m:
        raise ParseError("bad_year", value=text)
    return int(m.group(1))


_PERSON_SEPARATORS = re.compile(r"[、，,；;/]+")
_PERSON_SEPARATORS_SPACE = re.compile(r"[、，,；;/\s]+")


def split_people(raw: str, spaces: bool) -> list[str]:
    """The names in a participants cell (参加党员: 张三、李四，王五): separated by 、，,；; or / — and
    by spaces when the column is a participants column, where a space cannot be inside a name."""
    pattern = _PERSON_SEPARATORS_SPACE if spaces else _PERSON_SEPARATORS
    out = []
    for part in pattern.split(clean(raw)):
        name = parse_name(part)
        if name and name not in out:
            out.append(name)
    return out


def parse_number(raw: str) -> float | None:
    text = _WS.sub("", nfkc(clean(raw)))
    if not text:
        return None
    return _number(text.rstrip("°"))


def parse_satisfaction(raw: str, words: dict[str, float]) -> float | None:
    text = _WS.sub("", nfkc(clean(raw)))
    if not text:
        return None
    if text in words:
        return float(words[text])
    text = re.sub(r"(分|星)$", "", text)
    try:
        return _number(text)
    except ParseError:
        raise ParseError("bad_satisfaction", value=text) from None


def split_households(raw: str) -> list[str]:
    """Household codes in one cell, split on 、，,；; and spaces, each NFKC-normalised, distinct,
    in order of appearance."""
    out = []
    for part in HOUSEHOLD_SEPARATORS.split(clean(raw)):
        code = nfkc(part).strip()
        if code.endswith(".0") and code[:-2].isdigit():
            code = code[:-2]
        if code and code not in out:
            if _SCIENTIFIC.match(code):
                raise ParseError("scientific", value=code)
            out.append(code)
    return out


def parse(kind: str, raw: str, settings: dict | None = None):
    """The value of one cell for a field of the given kind (None for a blank cell)."""
    if kind == "text":
        return parse_text(raw)
    if kind in ("name", "person"):
        return parse_name(raw)
    if kind == "code":
        return parse_code(raw)
    if kind == "phone":
        return parse_phone(raw)
    if kind == "date":
        return parse_date(raw)
    if kind == "hours":
        return parse_hours(raw)
    if kind == "count":
        return parse_count(raw)
    if kind == "year":
        return parse_year(raw)
    if kind in ("number", "lon", "lat"):
        return parse_number(raw)
    if kind == "satisfaction":
        return parse_satisfaction(raw, (settings or {}).get("satisfaction_words", {}))
    if kind == "households":
        return split_households(raw) or None
    raise KeyError(kind)
