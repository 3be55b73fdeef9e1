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


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


@lru_cache(maxsize=65536)
def _date(text: str) -> dt.date:
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            y, mo, d = (int(g) for g in m.groups())
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


def parse_date(raw: str) -> dt.date | None:
    text = _WS.sub("", nfkc(clean(raw)))
    if not text:
        return None
    return _date(text)


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
    if kind in ("number", "lon", "lat"):
        return parse_number(raw)
    if kind == "satisfaction":
        return parse_satisfaction(raw, (settings or {}).get("satisfaction_words", {}))
    if kind == "households":
        return split_households(raw) or None
    raise KeyError(kind)
