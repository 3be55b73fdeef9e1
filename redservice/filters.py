"""What the viewer has selected (period and dimensions) and what the viewer may see (scope).

Both turn into bound SQL parameters: a dimension left open is NULL (no restriction), an empty
tuple matches nothing. Periods are relative to the data's last date, never the wall clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

PERIODS = ("ytd", "this_month", "last_month", "this_quarter", "last_quarter", "last12", "all", "custom")
DEFAULT_PERIOD = "ytd"
DIMENSIONS = ("counties", "units", "branches", "communities", "categories", "forms")
# What the KPI tiles compare with: "prev" 环比 (the period before, ``previous_period``) or "yoy" 同比
# (the same dates a year before, ``year_before``).
COMPARES = ("prev", "yoy")
DEFAULT_COMPARE = "prev"


def _month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _add_months(d: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after d's month."""
    index = d.year * 12 + d.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _quarter_start(d: dt.date) -> dt.date:
    return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def period_range(
    period: str,
    last: dt.date,
    first: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """Inclusive (start, end) of a period preset, relative to the data's last date ``last``."""
    if period == "ytd":
        return dt.date(last.year, 1, 1), last
    if period == "this_month":
        return _month_start(last), last
    if period == "last_month":
        this = _month_start(last)
        return _add_months(this, -1), this - dt.timedelta(days=1)
    if period == "this_quarter":
        return _quarter_start(last), last
    if period == "last_quarter":
        this = _quarter_start(last)
        return _add_months(this, -3), this - dt.timedelta(days=1)
    if period == "last12":
        return _add_months(_month_start(last), -11), last
    if period == "all":
        return (first or last), last
    if period == "custom":
        # As asked, even reversed or outside the data: ``period_status`` says which, and the
        # app refuses it out loud rather than showing another period.
        return start or dt.date(last.year, 1, 1), end or last
    raise ValueError(f"unknown period {period!r}")


# The dates a custom period may name (the date inputs' bounds): wide, so that a period before or
# after the data stays in the URL as asked and is answered with the empty state.
EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2099, 12, 31)


def period_status(start: dt.date, end: dt.date, first: dt.date | None, last: dt.date | None) -> str:
    """"reversed" when the period ends before it starts, "empty" when it lies wholly before or after
    the data's first..last date (its service records), else "ok" (also when there are no data at all:
    the pages then show their "—")."""
    if end < start:
        return "reversed"
    if first is not None and last is not None and (end < first or start > last):
        return "empty"
    return "ok"


def whole_months(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """[from, to): the calendar months wholly inside [start, end] — the first day of the first month
    beginning on or after ``start``, and the first day of the month after ``end``'s when ``end`` is a
    month's last day, else of ``end``'s month. ``from >= to`` when no month is whole. Queries read
    these months from the monthly rollups and the days before and after from the records."""
    return _add_months(_month_start(start - dt.timedelta(days=1)), 1), _month_start(end + dt.timedelta(days=1))


def _month_end(d: dt.date) -> dt.date:
    return _add_months(d, 1) - dt.timedelta(days=1)


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period a report compares with (较上期). A period that starts on a month's first day moves
    back by a month, a quarter or a year: the shortest of them that it starts on and fits in (this
    month so far → the same days of last month; a quarter → the quarter before; 1 January–14 May
    → the same days a year before), else by as many months as it spans (twelve months → the twelve
    before). It ends on the same day of the month, or on the month's last day when it does (the
    day clamped to a shorter month). Any other period is compared with the days of equal number
    that end the day before it."""
    if start.day == 1 and end >= start:
        span = (end.year - start.year) * 12 + end.month - start.month + 1
        aligned = [k for k in (1, 3, 12) if span <= k and (start.month - 1) % k == 0]
        back = aligned[0] if aligned else span
        end_month = _add_months(end, -back)
        last_day = _month_end(end_month)
        prev_end = last_day if end == _month_end(end) else end_month.replace(day=min(end.day, last_day.day))
        return _add_months(start, -back), prev_end
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def year_before(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The same dates a year before (同比); 29 February becomes the 28th."""
    def back(d: dt.date) -> dt.date:
        return d.replace(year=d.year - 1, day=28) if (d.month, d.day) == (2, 29) else d.replace(year=d.year - 1)
    return back(start), back(end)


def compared_period(start: dt.date, end: dt.date, compare: str = DEFAULT_COMPARE) -> tuple[dt.date, dt.date]:
    """The period the tiles compare with: 环比 (``previous_period``) or 同比 (``year_before``)."""
    if compare == "yoy":
        return year_before(start, end)
    if compare == "prev":
        return previous_period(start, end)
    raise ValueError(f"unknown comparison {compare!r}")


def _norm(values) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(sorted({str(v) for v in values}))


@dataclass(frozen=True)
class Filters:
    """The viewer's selection. ``None`` for a dimension means "all"."""

    start: dt.date
    end: dt.date
    counties: tuple[str, ...] | None = None  # 区县 (所属县（市、区）): offered when the store holds several
    units: tuple[str, ...] | None = None
    branches: tuple[str, ...] | None = None
    communities: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    forms: tuple[str, ...] | None = None
    compare: str = DEFAULT_COMPARE  # what ``previous()`` is: 环比 or 同比 (no query reads it)

    @classmethod
    def make(cls, start: dt.date, end: dt.date, compare: str = DEFAULT_COMPARE, **dims) -> "Filters":
        """Build filters; an empty selection for a dimension means "all", as in the filter bar."""
        clean = {k: (_norm(v) if v else None) for k, v in dims.items()}
        unknown = set(clean) - set(DIMENSIONS)
        if unknown:
            raise TypeError(f"unknown filter dimensions: {sorted(unknown)}")
        if compare not in COMPARES:
            raise ValueError(f"unknown comparison {compare!r}")
        return cls(start=start, end=end, compare=compare, **clean)

    def with_period(self, start: dt.date, end: dt.date) -> "Filters":
        return replace(self, start=start, end=end)

    def within(self, **dims) -> "Filters":
        """These filters narrowed to the given values of some dimensions (e.g. one community)."""
        return replace(self, **{d: _norm(v) for d, v in dims.items()})

    def previous(self) -> "Filters":
        """These filters over the period compared with (环比 or 同比, as ``compare`` says)."""
        return self.with_period(*compared_period(self.start, self.end, self.compare))

    def active_dimensions(self) -> dict[str, tuple[str, ...]]:
        return {d: getattr(self, d) for d in DIMENSIONS if getattr(self, d) is not None}

    def params(self) -> dict:
        """The bound parameters: the period, its whole calendar months (``whole_from``, ``whole_to``:
        see ``whole_months``) and the dimensions."""
        whole_from, whole_to = whole_months(self.start, self.end)
        out = {"start": self.start, "end": self.end, "whole_from": whole_from, "whole_to": whole_to}
        for d in DIMENSIONS:
            v = getattr(self, d)
            out[d] = list(v) if v is not None else None
        return out


@dataclass(frozen=True)
class Scope:
    """What a viewer may see: ``None`` is unrestricted, a tuple limits rows to those names."""

    units: tuple[str, ...] | None = None
    communities: tuple[str, ...] | None = None
    show_names: bool = True
    label: str = field(default="local", compare=True)
    counties: tuple[str, ...] | None = None  # a county's viewer: only these counties' rows

    def params(self) -> dict:
        return {
            "scope_units": list(self.units) if self.units is not None else None,
            "scope_communities": list(self.communities) if self.communities is not None else None,
            "scope_counties": list(self.counties) if self.counties is not None else None,
        }

    def key(self) -> tuple:
        return (self.units, self.communities, self.show_names, self.counties)


EVERYTHING = Scope()
