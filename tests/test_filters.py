"""Period presets are relative to the data's last date; the previous period is the calendar months
before a period that starts on a month's first day, else the days of equal number before it."""

import datetime as dt

import pytest

from redservice.filters import Filters, period_range, period_status, previous_period, whole_months

D = dt.date
LAST = D(2025, 3, 31)


@pytest.mark.parametrize("period, expected", [
    ("ytd", (D(2025, 1, 1), LAST)),
    ("this_month", (D(2025, 3, 1), LAST)),
    ("last_month", (D(2025, 2, 1), D(2025, 2, 28))),
    ("this_quarter", (D(2025, 1, 1), LAST)),
    ("last_quarter", (D(2024, 10, 1), D(2024, 12, 31))),
    ("last12", (D(2024, 4, 1), LAST)),
    ("all", (D(2024, 1, 1), LAST)),
])
def test_presets(period, expected):
    assert period_range(period, LAST, first=D(2024, 1, 1)) == expected


def test_presets_across_year_boundary():
    last = D(2025, 1, 15)
    assert period_range("last_month", last) == (D(2024, 12, 1), D(2024, 12, 31))
    assert period_range("last_quarter", last) == (D(2024, 10, 1), D(2024, 12, 31))
    assert period_range("this_quarter", last) == (D(2025, 1, 1), last)


def test_custom_keeps_reversed_dates_as_asked():
    # The app refuses them out loud (period_status "reversed"); it never swaps them silently.
    assert period_range("custom", LAST, start=D(2025, 3, 1), end=D(2025, 1, 1)) == (D(2025, 3, 1), D(2025, 1, 1))


@pytest.mark.parametrize("start,end,status", [
    (D(2025, 3, 1), D(2025, 1, 1), "reversed"),
    (D(2020, 1, 1), D(2020, 6, 30), "empty"),
    (D(2023, 4, 1), D(2023, 12, 31), "empty"),  # ends the day before the data
    (D(2025, 4, 1), D(2025, 6, 30), "empty"),  # starts the day after
    (D(2023, 4, 1), D(2024, 1, 1), "ok"),  # one day in the data
    (D(2025, 3, 31), D(2026, 1, 1), "ok"),
    (D(2024, 4, 1), D(2024, 6, 30), "ok"),
])
def test_period_status(start, end, status):
    assert period_status(start, end, D(2024, 1, 1), D(2025, 3, 31)) == status
    assert period_status(start, end, None, None) == ("reversed" if status == "reversed" else "ok")


def test_unknown_period():
    with pytest.raises(ValueError):
        period_range("fortnight", LAST)


@pytest.mark.parametrize("start, end, previous", [
    # whole months: back by a month, a quarter or a year when the period starts on one and fits in it,
    # else by as many months as it spans
    ((2025, 1, 1), (2025, 3, 31), ((2024, 10, 1), (2024, 12, 31))),   # a quarter: the quarter before
    ((2025, 2, 1), (2025, 2, 28), ((2025, 1, 1), (2025, 1, 31))),     # a month: the month before
    ((2025, 3, 1), (2025, 3, 31), ((2025, 2, 1), (2025, 2, 28))),
    ((2024, 3, 1), (2024, 3, 31), ((2024, 2, 1), (2024, 2, 29))),     # leap year
    ((2024, 4, 1), (2025, 3, 31), ((2023, 4, 1), (2024, 3, 31))),     # twelve months: the twelve before
    ((2025, 1, 1), (2025, 12, 31), ((2024, 1, 1), (2024, 12, 31))),   # a year: the year before
    ((2025, 3, 1), (2025, 4, 30), ((2025, 1, 1), (2025, 2, 28))),     # two months, no quarter
    ((2025, 2, 1), (2025, 4, 30), ((2024, 11, 1), (2025, 1, 31))),    # three months off the quarters
    ((2025, 1, 1), (2025, 6, 30), ((2024, 1, 1), (2024, 6, 30))),     # a half year: a year before
    ((2025, 1, 1), (2025, 2, 28), ((2024, 10, 1), (2024, 11, 30))),   # the same stretch of the quarter before
    # from a month's first day to a day within a month: up to the same day
    ((2025, 3, 1), (2025, 3, 20), ((2025, 2, 1), (2025, 2, 20))),     # this month so far
    ((2025, 1, 1), (2025, 3, 20), ((2024, 10, 1), (2024, 12, 20))),   # within a quarter: the one before
    ((2025, 1, 1), (2025, 5, 14), ((2024, 1, 1), (2024, 5, 14))),     # year to date: a year before
    ((2025, 4, 1), (2025, 5, 14), ((2025, 1, 1), (2025, 2, 14))),     # quarter to date
    ((2025, 3, 1), (2025, 3, 28), ((2025, 2, 1), (2025, 2, 28))),
    ((2025, 3, 1), (2025, 3, 30), ((2025, 2, 1), (2025, 2, 28))),     # clamped to February
    ((2025, 5, 1), (2025, 5, 30), ((2025, 4, 1), (2025, 4, 30))),
    ((2025, 3, 1), (2025, 3, 1), ((2025, 2, 1), (2025, 2, 1))),
    # any other period: the days of equal number before it
    ((2025, 3, 5), (2025, 3, 20), ((2025, 2, 17), (2025, 3, 4))),
    ((2024, 12, 25), (2025, 3, 24), ((2024, 9, 26), (2024, 12, 24))),
    ((2025, 3, 15), (2025, 3, 15), ((2025, 3, 14), (2025, 3, 14))),
])
def test_previous_period(start, end, previous):
    assert previous_period(D(*start), D(*end)) == (D(*previous[0]), D(*previous[1]))


def test_previous_period_presets_compare_like_a_report():
    """Each preset on the demo's last date (31 March 2025) and on a day inside a month."""
    for last, expected in [
        (D(2025, 3, 31), {"ytd": (D(2024, 10, 1), D(2024, 12, 31)), "this_month": (D(2025, 2, 1), D(2025, 2, 28)),
                          "last_month": (D(2025, 1, 1), D(2025, 1, 31)),
                          "last_quarter": (D(2024, 7, 1), D(2024, 9, 30)),
                          "last12": (D(2023, 4, 1), D(2024, 3, 31))}),
        (D(2025, 5, 14), {"ytd": (D(2024, 1, 1), D(2024, 5, 14)), "this_month": (D(2025, 4, 1), D(2025, 4, 14)),
                          "this_quarter": (D(2025, 1, 1), D(2025, 2, 14)),
                          "last_quarter": (D(2024, 10, 1), D(2024, 12, 31))}),
    ]:
        for period, previous in expected.items():
            assert previous_period(*period_range(period, last)) == previous, (last, period)


def test_filters_normalise_and_bind_as_lists():
    f = Filters.make(D(2025, 1, 1), LAST, units=["U2", "U1", "U1"], communities=[])
    assert f.units == ("U1", "U2") and f.communities is None
    assert f.params()["units"] == ["U1", "U2"] and f.params()["communities"] is None
    with pytest.raises(TypeError):
        Filters.make(D(2025, 1, 1), LAST, colours=["red"])


@pytest.mark.parametrize("start, end, whole", [
    (D(2025, 1, 1), D(2025, 3, 31), (D(2025, 1, 1), D(2025, 4, 1))),   # a quarter: three months
    (D(2024, 12, 25), D(2025, 3, 24), (D(2025, 1, 1), D(2025, 3, 1))),  # January and February
    (D(2025, 1, 2), D(2025, 1, 30), (D(2025, 2, 1), D(2025, 1, 1))),    # none: from > to
    (D(2025, 1, 1), D(2025, 1, 31), (D(2025, 1, 1), D(2025, 2, 1))),
    (D(2024, 12, 1), D(2024, 12, 31), (D(2024, 12, 1), D(2025, 1, 1))),  # across the year
    (D(2024, 2, 1), D(2024, 2, 29), (D(2024, 2, 1), D(2024, 3, 1))),    # leap February
])
def test_whole_months_are_the_calendar_months_inside_the_period(start, end, whole):
    assert whole_months(start, end) == whole
    params = Filters.make(start, end).params()
    assert (params["whole_from"], params["whole_to"]) == whole


def test_year_before_and_the_compared_period():
    from redservice.filters import compared_period, year_before

    assert year_before(D(2025, 1, 1), D(2025, 3, 31)) == (D(2024, 1, 1), D(2024, 3, 31))
    assert year_before(D(2024, 2, 1), D(2024, 2, 29)) == (D(2023, 2, 1), D(2023, 2, 28))
    assert compared_period(D(2025, 1, 1), D(2025, 3, 31), "prev") == (D(2024, 10, 1), D(2024, 12, 31))
    assert compared_period(D(2025, 1, 1), D(2025, 3, 31), "yoy") == (D(2024, 1, 1), D(2024, 3, 31))
    f = Filters.make(D(2025, 1, 1), D(2025, 3, 31), "yoy", units=["U1"])
    assert f.previous() == Filters.make(D(2024, 1, 1), D(2024, 3, 31), "yoy", units=["U1"])
    with pytest.raises(ValueError):
        Filters.make(D(2025, 1, 1), D(2025, 3, 31), "mom")
