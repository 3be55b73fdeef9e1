"""Period presets are relative to the data's last date; the previous period has equal length."""

import datetime as dt

import pytest

from redservice.filters import Filters, period_range, previous_period, whole_months

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


def test_custom_swaps_reversed_dates():
    assert period_range("custom", LAST, start=D(2025, 3, 1), end=D(2025, 1, 1)) == (D(2025, 1, 1), D(2025, 3, 1))


def test_unknown_period():
    with pytest.raises(ValueError):
        period_range("fortnight", LAST)


def test_previous_period():
    assert previous_period(D(2025, 1, 1), LAST) == (D(2024, 10, 3), D(2024, 12, 31))
    assert previous_period(D(2025, 3, 1), D(2025, 3, 1)) == (D(2025, 2, 28), D(2025, 2, 28))


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
