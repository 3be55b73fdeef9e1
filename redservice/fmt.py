"""Numbers, percentages and dates written the way a Chinese government report writes them.

zh: 7742户, 1.05万小时, 86.5%, 2025年3月31日. en: 7,742 households, 10,528 hours, 31 Mar 2025.
Whatever cannot be computed (None, NaN, a rate over zero) is written "—", never 0.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal

from redservice import lazy
from redservice.i18n import normalise_lang, t

pd = lazy.module("pandas")  # loaded when first used (see redservice/lazy.py)
np = lazy.module("numpy")

DASH = "—"
# The largest table, in cells, shown coloured through a pandas Styler. Streamlit renders a Styler
# cell by cell in Python (8–20 µs a cell): a city's 12,882 open wishes took 3.6 s of every run of
# the 微心愿 page. Larger tables are shown plain; a text column says what the colour would (超期, 预警).
STYLED_CELLS_MAX = 20_000


_MD_SPECIAL = {ord(c): "\\" + c for c in "\\`*_{}[]()#+-.!|<>~$:&=\"'/%@^;?,"}


def md_escape(text) -> str:
    """User-supplied text made inert for Streamlit's Markdown (st.write, st.caption, st.error, an
    expander's label): every ASCII punctuation character backslash-escaped, so no image is fetched,
    no link, emphasis, heading, autolink or formula is made; line breaks become spaces."""
    text = "" if text is None else str(text)
    text = " ".join(text.replace("\r", "\n").split("\n")).translate(_MD_SPECIAL)
    # Streamlit also turns bare URLs and e-mail addresses in the text into links (GFM autolink
    # literals, found after the escapes are resolved): a word joiner (U+2060, invisible) after
    # "http:", "www" and "@" keeps them plain text.
    text = text.replace("\\:\\/\\/", "\\:\u2060\\/\\/").replace("\\@", "\\@\u2060")
    return re.sub(r"((?i:www))\\\.", "\\1\u2060\\.", text)


def missing(value) -> bool:
    """True for None, NaN, pandas.NA and NaT."""
    if value is None:
        return True
    # the common cells answered without pandas (pd.isna on a scalar, through the lazy module, was
    # a fifth of 区县对比's run: a table formats tens of thousands of cells)
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, (int, str)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _round(value: float, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def _strip(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def number(value, lang: str = "zh", decimals: int = 0) -> str:
    """A count or amount without its unit: 7742, 1.02万, 3.5亿 (zh); 7,742 (en).

    ``decimals`` applies below 10,000 (hours may be 845.5); 万/亿 values keep two decimals.
    """
    if missing(value):
        return DASH
    lang = normalise_lang(lang)
    value = float(value)
    if lang == "zh":
        if abs(value) >= 1e8:
            return _strip(_round(value / 1e8, 2)) + "亿"
        if abs(value) >= 1e4:
            scaled = _round(value / 1e4, 2)
            if abs(scaled) >= Decimal(10000):  # 9999.995万 rounds up into 亿
                return _strip(_round(value / 1e8, 2)) + "亿"
            return _strip(scaled) + "万"
        return _strip(_round(value, decimals))
    rounded = _round(value, decimals if abs(value) < 1e4 else 0)
    places = max(0, -rounded.as_tuple().exponent)
    text = f"{float(rounded):,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


WORD_JOINER = "\u2060"


def unbroken(text: str, lang: str = "zh") -> str:
    """A Chinese quantity kept on one line where it is displayed in a narrow column: a word joiner
    (U+2060, no line break on either side) between its characters, so that "1.14万人次" never wraps
    as "1.14万人 / 次" (Chinese text may otherwise break between any two characters). English
    breaks only at spaces and is returned unchanged. For display only, never for exports."""
    return WORD_JOINER.join(text) if lang == "zh" else text


def quantity(value, unit_key: str, lang: str = "zh", decimals: int = 0) -> str:
    """A number with its unit: 7742户, 1.05万小时 (zh); 7,742 households (en)."""
    text = number(value, lang, decimals)
    if text == DASH:
        return DASH
    unit = t(f"unit.{unit_key}", lang)
    return f"{text}{unit}" if normalise_lang(lang) == "zh" else f"{text} {unit}"


def count(value, unit_key: str, lang: str = "zh") -> str:
    """A count under a label that already names what is counted: with its measure word in Chinese
    (100个, 333人), the bare number in English (the label says "Work units")."""
    return quantity(value, unit_key, lang) if normalise_lang(lang) == "zh" else number(value, lang)


def once_per_value(values, render) -> list:
    """``render(value)`` for each of ``values``, computed once per distinct value (a province's
    56,000 units share a few thousand rates: formatting each cell took seconds)."""
    done: dict = {}
    return [done[v] if v in done else done.setdefault(v, render(v)) for v in values]


def per_distinct(values, render) -> list:
    """``render(value)`` for each of ``values`` (a column), computed once per distinct value as
    ``once_per_value`` does, but the distinct values found by ``pandas.factorize`` in one pass over
    the column, not a Python dict lookup per cell (a province's 128,000 open wishes: the lookups
    alone were a tenth of a second). Every missing value (None, NaN, NaT) is rendered as one."""
    codes, uniques = pd.factorize(pd.Series(values) if not isinstance(values, pd.Series) else values,
                                  use_na_sentinel=False)
    rendered = np.empty(len(uniques), dtype=object)
    rendered[:] = [render(v) for v in uniques]
    return rendered[codes].tolist()


def per_distinct_text(values, render):
    """``per_distinct`` as a text column (pandas' ``str`` dtype, on the values' index): the distinct
    texts are made Arrow strings once and taken by position (converting a list of a province's
    128,000 Python strings to Arrow took a tenth of a second). ``render`` may give None: missing."""
    values = values if isinstance(values, pd.Series) else pd.Series(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    texts = pd.array([render(v) for v in uniques], dtype="str")
    return pd.Series(texts.take(codes), index=values.index)


def ratio(numerator, denominator):
    """numerator ÷ denominator, or None when it cannot be computed."""
    if missing(numerator) or missing(denominator) or float(denominator) == 0:
        return None
    return float(numerator) / float(denominator)


def percent(value, lang: str = "zh", decimals: int = 1, trim: bool = False) -> str:
    """A rate given as a fraction (0.865) written as 86.5%: a measured rate always with its one
    decimal (22.0%, next to 22.3% in a table); ``trim`` for a configured threshold or a scale's
    bound, written as set (低于95%)."""
    if missing(value):
        return DASH
    rounded = _round(float(value) * 100, decimals)
    return (_strip(rounded) if trim else format(rounded, "f")) + "%"


def percent_points(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """A copy for display with rate columns (fractions) as percentage points rounded half up to one
    decimal, as ``percent`` writes them; shown with the column format ``PERCENT_FORMAT``."""
    out = df.copy()
    for col in columns:
        if col in out:
            # each distinct rate rounded once (a Decimal per cell took 0.1 s for a province's units)
            out[col] = per_distinct(out[col], lambda v: None if missing(v) else float(_round(float(v) * 100, 1)))
    return out


PERCENT_FORMAT = "%.1f%%"  # st.column_config format of a percent_points column: 22.0%


def change(current, previous, lang: str = "zh") -> str | None:
    """Relative change against the previous period (+12.3%), or None when undefined."""
    rate = ratio(None if missing(current) else float(current) - float(previous or 0), previous)
    if rate is None:
        return None
    text = percent(abs(rate), lang)
    if text == "0.0%":
        return t("delta.flat", lang)
    return ("+" if rate > 0 else "-") + text


def date(value: dt.date | None, lang: str = "zh") -> str:
    if value is None:
        return DASH
    if normalise_lang(lang) == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {value:%b} {value.year}"


def month(value: dt.date, lang: str = "zh") -> str:
    if normalise_lang(lang) == "zh":
        return f"{value.year}年{value.month}月"
    return f"{value:%b} {value.year}"


def date_range(start: dt.date, end: dt.date, lang: str = "zh") -> str:
    """2025年1月1日—3月31日 style in zh (the year is not repeated within one year)."""
    if normalise_lang(lang) == "zh":
        if start.year == end.year:
            return f"{date(start)}—{end.month}月{end.day}日"
        return f"{date(start)}—{date(end)}"
    return f"{date(start, 'en')} – {date(end, 'en')}"
