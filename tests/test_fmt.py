"""Numbers and dates as a Chinese government report writes them."""

import datetime as dt

import pytest

from redservice import fmt


@pytest.mark.parametrize("value, zh, en", [
    (7742, "7742", "7,742"),
    (9999, "9999", "9,999"),
    (10000, "1万", "10,000"),
    (10200, "1.02万", "10,200"),
    (14806, "1.48万", "14,806"),
    (10486.5, "1.05万", "10,487"),
    (123456789, "1.23亿", "123,456,789"),
    (0, "0", "0"),
    (None, "—", "—"),
    (float("nan"), "—", "—"),
])
def test_number(value, zh, en):
    assert fmt.number(value, "zh") == zh
    assert fmt.number(value, "en") == en


def test_rounding_is_half_up_not_bankers():
    assert fmt.number(2.5) == "3"
    assert fmt.number(12345, "zh") == "1.23万"
    assert fmt.number(12350, "zh") == "1.24万"


def test_no_9999_99_wan():
    assert fmt.number(99_999_999, "zh") == "1亿"


def test_quantity_units():
    assert fmt.quantity(7742, "households") == "7742户"
    assert fmt.quantity(14806, "persons") == "1.48万人次"
    assert fmt.quantity(845.5, "hours", decimals=1) == "845.5小时"
    assert fmt.quantity(7742, "households", "en") == "7,742 households"
    assert fmt.quantity(None, "hours") == "—"


def test_count_under_a_label():
    assert fmt.count(100, "units") == "100个"
    assert fmt.count(333, "people") == "333人"
    assert fmt.count(56600, "units") == "5.66万个"
    assert fmt.count(56600, "units", "en") == "56,600"
    assert fmt.count(None, "units") == "—"


def test_percent_and_change():
    assert fmt.percent(0.8653) == "86.5%"
    assert fmt.percent(None) == "—"
    assert fmt.change(120, 100) == "+20.0%"
    assert fmt.change(90, 100) == "-10.0%"
    # one rule for every measured rate: one decimal, also when it is 0 (22.0% beside 22.3%);
    # a configured threshold or a scale's bound is written as set
    assert fmt.percent(0.22) == "22.0%" and fmt.percent(0.95, trim=True) == "95%"
    import pandas as pd
    shown = fmt.percent_points(pd.DataFrame({"rate": [0.2203, None, 0.22049]}), "rate")
    assert list(shown["rate"])[::2] == [22.0, 22.0] and pd.isna(shown["rate"][1])
    assert fmt.change(100, 100) == "持平"
    assert fmt.change(100, 100, "en") == "flat"
    assert fmt.change(5, 0) is None  # from nothing: no rate of change
    assert fmt.change(5, None) is None


def test_dates():
    d = dt.date(2025, 3, 31)
    assert fmt.date(d) == "2025年3月31日"
    assert fmt.date(d, "en") == "31 Mar 2025"
    assert fmt.month(d) == "2025年3月"
    assert fmt.date_range(dt.date(2025, 1, 1), d) == "2025年1月1日—3月31日"
    assert fmt.date_range(dt.date(2024, 10, 1), d) == "2024年10月1日—2025年3月31日"


def test_per_distinct_renders_each_distinct_value_once_in_order():
    import pandas as pd

    seen = []

    def render(v):
        seen.append(v)
        return "—" if fmt.missing(v) else f"<{v}>"

    values = pd.Series([0.5, None, 0.25, 0.5, float("nan"), 0.25, 1.0])
    assert fmt.per_distinct(values, render) == ["<0.5>", "—", "<0.25>", "<0.5>", "—", "<0.25>", "<1.0>"]
    assert len(seen) == 4  # 0.5, missing, 0.25, 1.0
    assert fmt.per_distinct([], render) == []
    assert fmt.per_distinct(["b", "a", "b"], str.upper) == ["B", "A", "B"]


def test_percent_points_equals_rounding_each_cell():
    """The column version (each distinct rate rounded once) equals rounding every cell half up."""
    import random

    import pandas as pd

    rng = random.Random(3)
    rates = [rng.choice([None, float("nan"), 0.22049, 0.22050, 0.00005, 1.0, rng.random(), round(rng.random(), 4)])
             for _ in range(3000)]
    df = pd.DataFrame({"rate": rates, "other": range(3000)})
    expected = [None if fmt.missing(v) else float(fmt._round(float(v) * 100, 1)) for v in rates]
    shown = fmt.percent_points(df, "rate")
    pd.testing.assert_series_equal(shown["rate"], pd.Series(expected, name="rate"))
    assert shown["rate"].dtype == "float64"


def test_per_distinct_text_is_a_text_column_like_a_list_of_its_texts():
    import pandas as pd

    values = pd.Series([3, 1, 3, None, 2], index=[10, 11, 12, 13, 14])
    got = fmt.per_distinct_text(values, lambda v: None if fmt.missing(v) else f"{v:.0f}天")
    expected = pd.Series(["3天", "1天", "3天", None, "2天"], index=values.index, dtype="str")
    pd.testing.assert_series_equal(got, expected)
    assert fmt.per_distinct_text(pd.Series([], dtype=float), str).empty


def test_missing_answers_as_pandas_isna_does():
    """The fast path for floats, ints and strings answers as pd.isna; other values still go there."""
    import decimal

    import numpy as np
    import pandas as pd

    values = [None, float("nan"), np.nan, np.float64("nan"), np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT"),
              0, 1, -1.5, 0.0, float("inf"), "", "x", True, False, np.int64(3), np.float64(2.5), np.bool_(True),
              decimal.Decimal("1.5"), dt.date(2025, 1, 1), pd.Timestamp("2025-01-01"), [1, 2], {"a": 1}]

    def reference(value):
        if value is None:
            return True
        try:
            return bool(pd.isna(value))
        except (TypeError, ValueError):
            return False

    assert [fmt.missing(v) for v in values] == [reference(v) for v in values]
    assert [fmt.missing(v) for v in values[:8]] == [True] * 8


def test_a_chinese_quantity_shown_in_a_narrow_column_does_not_wrap_inside():
    from redservice import metrics

    assert fmt.unbroken("1.14万人次") == "1\u2060.\u20601\u20604\u2060万\u2060人\u2060次"
    assert fmt.unbroken("11,382 person-times", "en") == "11,382 person-times"
    kpis = {key: (0.5 if key == "participation_rate" else 10) for key in metrics.KPIS}
    card = next(c for c in metrics.cards({"current": {**kpis, "activities": 64, "activity_persons": 11382},
                                           "previous": kpis}, "zh") if c.key == "activities")
    assert card.caption.replace(fmt.WORD_JOINER, "") == "64次活动共惠及1.14万人次"
    assert card.caption.endswith(fmt.WORD_JOINER.join("1.14万人次"))
