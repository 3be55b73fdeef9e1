"""单位与支部: unit and branch scorecards, their flags, masked member lists and 红色积分.

Pure functions on the DataFrames of ``queries/unit_scorecard.sql``, ``branch_scorecard.sql``,
``member_list.sql``, ``inactive_members.sql`` and ``red_points.sql``; the thresholds and the points
rules come from the ``[thresholds]`` and ``[points]`` tables of the settings (``defaults.toml``,
overridden by a store's ``config.toml``), never from code. Names and phones leave this module
masked unless the viewer's scope allows them.

``red_points.sql`` is asked for the rows a table shows: every unit for the unit scorecard, the
branches of the unit drilled into, the members of the branch drilled into, and the leaderboard's
best ``BOARD_SIZE`` (a province has a million members: ranked in SQL, never all sent to the page).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_UP, Decimal

from redservice import fmt, lazy
from redservice.filters import Filters, Scope
from redservice.i18n import t
from redservice.privacy import mask_name, mask_phone

pd = lazy.module("pandas")  # loaded when first used (see redservice/lazy.py)
np = lazy.module("numpy")

LEVELS = ("member", "branch", "unit")
WINDOWS = ("month", "year", "all")
# No record is older than this (the importer rejects dates before 2000): the start of "all time".
EPOCH = dt.date(2000, 1, 1)
# The leaderboard shows the rows ranked this or better (ties included).
BOARD_SIZE = 100


class SettingsError(ValueError):
    """A threshold or points rule in the settings is missing or not a number ≥ 0."""


def _number(table: dict, name: str, section: str) -> float:
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SettingsError(f"[{section}] {name} must be a number ≥ 0, got {value!r}")
    return float(value)


def _flag(table: dict, name: str, section: str) -> bool:
    value = table.get(name)
    if not isinstance(value, bool):
        raise SettingsError(f"[{section}] {name} must be true or false, got {value!r}")
    return value


# -- thresholds and flags -------------------------------------------------------------------

@dataclass(frozen=True)
class Thresholds:
    """When a unit or branch is flagged. A rate or share of 0 switches that check off."""

    reporting_rate_min: float
    participation_rate_min: float
    hours_vs_median_min: float
    no_service_latest_month: bool
    no_members: bool


def thresholds(settings: dict) -> Thresholds:
    table = settings.get("thresholds", {})
    values = {}
    for f in fields(Thresholds):
        values[f.name] = (_flag if f.type in (bool, "bool") else _number)(table, f.name, "thresholds")
    return Thresholds(**values)


def median_hours_per_member(units: pd.DataFrame) -> float | None:
    """The median of hours per member over the units where it is defined (None when none is)."""
    values = pd.to_numeric(units.get("hours_per_member", pd.Series(dtype=float)), errors="coerce").dropna()
    return None if values.empty else float(values.median())


def county_filters(filters: Filters) -> Filters:
    """The filters without the unit and branch selection: the whole county for the reference
    median (the period, communities, categories and forms stay)."""
    return replace(filters, units=None, branches=None)


def _area(area: str | None, lang: str) -> str:
    return area if area else t("level.county", lang)


def conditions_text(th: Thresholds, lang: str, month_label: str, area: str | None = None) -> str:
    """The flag conditions in force, written out from the thresholds (for the page's note)."""
    parts = []
    if th.reporting_rate_min > 0:
        parts.append(t("units.condition.reporting", lang, min=fmt.percent(th.reporting_rate_min, lang, trim=True)))
    if th.participation_rate_min > 0:
        parts.append(t("units.condition.participation", lang, min=fmt.percent(th.participation_rate_min, lang, trim=True)))
    if th.hours_vs_median_min > 0:
        parts.append(t("units.condition.hours", lang, share=fmt.percent(th.hours_vs_median_min, lang, trim=True),
                       area=_area(area, lang)))
    if th.no_service_latest_month:
        parts.append(t("units.condition.no_service_month", lang, month=month_label))
    if th.no_members:
        parts.append(t("units.condition.no_members", lang))
    if not parts:
        return t("units.condition.none", lang)
    return ("、" if lang == "zh" else "; ").join(parts)


def _formatted(values: pd.Series, render) -> pd.Series:
    """``render(value)`` for each value, once per distinct value (``fmt.per_distinct``: found in one
    pass over the column; a dict lookup per cell was 0.1 s of every run at 56,300 units), on the
    values' index."""
    return pd.Series(fmt.per_distinct(values, render), index=values.index, dtype=object)


def add_flags(df: pd.DataFrame, th: Thresholds, median: float | None, lang: str, end: dt.date,
              area: str | None = None) -> pd.DataFrame:
    """The scorecard with ``reasons`` (the reasons a row is flagged, in the viewer's language,
    joined; "" when none) and ``flagged`` (bool). ``area``: the level the median is taken over
    (``briefing.level_word``; default 全县). Each check runs on whole columns and each reason's text
    is written once per distinct value: row by row, a province's 56,000 units took 3.8 s."""
    out = df.copy()
    n = len(out)
    month_label = fmt.month(end, lang)
    sep = "；" if lang == "zh" else "; "

    def column(name: str) -> pd.Series:
        if name in out:
            return pd.to_numeric(out[name], errors="coerce")
        return pd.Series(np.nan, index=out.index, dtype=float)

    reported = column("reported").fillna(0)
    checks: list[tuple[pd.Series, pd.Series | str]] = []  # (rows flagged, their reason), in order
    if th.no_members:
        checks.append((reported == 0, t("units.flag.no_members", lang)))
    for name, key, minimum in (("reporting_rate", "units.flag.reporting", th.reporting_rate_min),
                               ("participation_rate", "units.flag.participation", th.participation_rate_min)):
        if minimum > 0:
            rate = column(name)
            hit = rate.notna() & (rate < minimum)
            least = fmt.percent(minimum, lang, trim=True)
            checks.append((hit, _formatted(rate[hit], lambda v, key=key, least=least: t(
                key, lang, value=fmt.percent(v, lang), min=least))))
    if th.hours_vs_median_min > 0 and median is not None and median > 0:
        hpm = column("hours_per_member")
        hit = hpm.notna() & (hpm < th.hours_vs_median_min * median)
        where, share = _area(area, lang), fmt.percent(th.hours_vs_median_min, lang, trim=True)
        middle = fmt.number(median, lang, 1)
        checks.append((hit, _formatted(hpm[hit], lambda v: t(
            "units.flag.hours", lang, value=fmt.number(v, lang, 1), area=where, share=share, median=middle))))
    if th.no_service_latest_month:
        hit = (reported > 0) & (column("latest_month_records").fillna(0) == 0)
        checks.append((hit, t("units.flag.no_service_month", lang, month=month_label)))
    reasons = np.full(n, "", dtype=object)
    for hit, text in checks:
        rows = np.flatnonzero(hit.to_numpy(dtype=bool))
        if not len(rows):
            continue
        text = np.asarray(text if isinstance(text, pd.Series) else [text] * len(rows), dtype=object)
        before = reasons[rows]
        reasons[rows] = np.where(before == "", text, before + sep + text)
    out["reasons"] = pd.Series(reasons, index=out.index, dtype=object)
    out["flagged"] = pd.Series(reasons != "", index=out.index, dtype=bool)
    return out


def part(points: pd.DataFrame, name: str) -> pd.DataFrame:
    """One part of a ``red_points.sql`` result: 'rows' (every row of the level asked for) or
    'board' (the leaderboard's best rows), without the part and level columns."""
    if name not in ("rows", "board"):
        raise ValueError(f"unknown part {name!r}")
    return points[points["part"] == name].drop(columns=["part", "level"]).reset_index(drop=True)


def _with_points(df: pd.DataFrame, points: pd.DataFrame, key: str) -> pd.DataFrame:
    """Join the points of ``red_points.sql`` (at the same level) onto a scorecard by ``key``."""
    p = points[[key, "points", "points_per_member"]] if not points.empty else pd.DataFrame(
        {key: pd.Series(dtype=object), "points": pd.Series(dtype=float),
         "points_per_member": pd.Series(dtype=float)})
    out = df.merge(p, on=key, how="left")
    out["points"] = out["points"].fillna(0.0)  # no reported member: no points earned
    return out


def unit_scorecard(units: pd.DataFrame, points: pd.DataFrame, th: Thresholds, median: float | None,
                   lang: str, end: dt.date, area: str | None = None) -> pd.DataFrame:
    """Rows of ``unit_scorecard.sql`` with red points (``red_points.sql`` at unit level) and flags;
    ``rank`` is the rank by hours per member."""
    out = add_flags(_with_points(units, points, "unit"), th, median, lang, end, area)
    return out.rename(columns={"hours_rank": "rank"})


def with_flag_rate(units: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """The scorecard with each unit's 数据质量 flag rate (quality_page.sql's part 'unit': flagged ÷ checked
    records of the period); empty for a unit with no checked record."""
    rates = rates[["name", "rate"]].rename(columns={"name": "unit", "rate": "flag_rate"})
    return units.merge(rates, on="unit", how="left")


def option_label(df: pd.DataFrame, column: str, value: str, lang: str) -> str:
    """A unit or branch as a drill-down choice: its name, marked when it is flagged."""
    rows = df[df[column] == value]
    if not rows.empty and bool(rows["flagged"].iloc[0]):
        return t("units.flagged_option", lang, name=value)
    return value


_NUMERAL = {c: i for i, c in enumerate("零一二三四五六七八九十", start=0)}


def _natural(name) -> tuple:
    """第二党支部 before 第十党支部: Chinese ordinals (up to 99) and digits sort as numbers."""
    text = "" if fmt.missing(name) else str(name)

    def number(match: re.Match) -> str:
        s = match.group(1)
        if s.isdigit():
            return f"{int(s):04d}"
        if s.startswith("十"):
            s = "一" + s
        if "十" in s:
            tens, _, ones = s.partition("十")
            value = _NUMERAL[tens] * 10 + (_NUMERAL[ones] if ones else 0)
        else:
            value = _NUMERAL[s]
        return f"{value:04d}"

    return (re.sub(r"([0-9]+|[一二三四五六七八九十]{1,3})(?=党支部|支部)", number, text),)


def branch_scorecard(branches: pd.DataFrame, points: pd.DataFrame, th: Thresholds, median: float | None,
                     lang: str, end: dt.date, area: str | None = None) -> pd.DataFrame:
    """Rows of ``branch_scorecard.sql`` with red points and flags, in their natural order."""
    out = add_flags(_with_points(branches, points, "branch"), th, median, lang, end, area)
    if out.empty:
        return out
    order = sorted(out.index, key=lambda i: (str(out.at[i, "unit"]),) + _natural(out.at[i, "branch"]))
    return out.loc[order].reset_index(drop=True)


def summary(units: pd.DataFrame, inactive: int, median: float | None) -> dict:
    """Headline figures of the page: units, flagged units, the reporting rate over the units whose
    roll is known (None when none is), inactive members (``inactive_count.sql``) and the county
    median."""
    known = units[units["reporting_rate"].notna()] if not units.empty else units
    roll = known["members_on_roll"].sum() if not known.empty else 0
    return {
        "units": len(units),
        "flagged": int(units["flagged"].sum()) if not units.empty else 0,
        "reporting_rate": fmt.ratio(known["reported"].sum(), roll) if not known.empty else None,
        "inactive": int(inactive),
        "median": median,
    }


RATE_COLUMNS = ("reporting_rate", "participation_rate", "share", "flag_rate")


def with_reasons_in_red(df: pd.DataFrame, colour: str):
    """The table with its non-empty 原因 (reasons) cells in ``colour`` (a pandas Styler), or the
    table as it is when it has more cells than ``fmt.STYLED_CELLS_MAX`` (a city's thousands of
    units): the reasons are still there, only not coloured."""
    if "reasons" not in df.columns or df.size > fmt.STYLED_CELLS_MAX:
        return df
    return df.style.map(lambda v: f"color: {colour}" if v else "", subset=["reasons"])


def as_percent(df: pd.DataFrame) -> pd.DataFrame:
    """A copy for display with the rate columns (fractions) written as percentages (78.6 for
    0.7857), rounded to one decimal as ``fmt.percent`` writes them; undefined rates stay empty."""
    def pct(value):
        if fmt.missing(value):
            return None
        return float(Decimal(repr(float(value) * 100)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

    out = df.copy()
    for column in RATE_COLUMNS:
        if column in out:
            values = pd.to_numeric(out[column], errors="coerce")
            known = values.notna()
            # each distinct rate rounded once (Decimal per cell took 1.3 s for a province's units)
            out[column] = pd.to_numeric(_formatted(values[known], pct), errors="coerce").reindex(out.index).astype(float)
    return out


# -- personal rows: masking ----------------------------------------------------------------

def mask_members(df: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Member rows as the viewer may see them: unless ``scope.show_names``, names become 张*明,
    phones 138****1234 and the member number is dropped."""
    out = df.copy()
    if scope.show_names:
        return out
    if "name" in out:
        out["name"] = out["name"].map(mask_name, na_action="ignore")
    if "phone" in out:
        out["phone"] = out["phone"].map(mask_phone, na_action="ignore")
    return out.drop(columns=[c for c in ("member_id",) if c in out])


def member_list(members: pd.DataFrame, points: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Rows of ``member_list.sql`` with each member's red points, masked for the viewer."""
    out = _with_points(members, points, "member_id").drop(columns=["points_per_member"])
    return mask_members(out, scope)


def inactive_list(inactive: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """Rows of ``inactive_members.sql``, masked for the viewer."""
    return mask_members(inactive, scope)


def inactive_by_branch(inactive: pd.DataFrame, branches: pd.DataFrame | None = None) -> pd.DataFrame:
    """未参与党员 per unit and branch: inactive members, reported members and their share.
    The reported counts are those of ``branch_scorecard.sql`` (all units): taken from ``branches``,
    its rows, when given, else from the ``branch_reported`` column of ``inactive_members.sql``."""
    counts = (inactive.groupby(["unit", "branch"], dropna=False).size().rename("inactive").reset_index()
              if not inactive.empty else
              pd.DataFrame({"unit": pd.Series(dtype=object), "branch": pd.Series(dtype=object),
                            "inactive": pd.Series(dtype="int64")}))
    if branches is None:
        # one value per unit and branch (the branch's count, or missing when the branch list has no
        # such branch of that unit): the same figure the branch scorecard would give
        branches = inactive[["unit", "branch", "branch_reported"]].drop_duplicates(["unit", "branch"])
        branches = branches.rename(columns={"branch_reported": "reported"})
        branches = branches[branches["reported"].notna()].astype({"reported": "int64"})
    reported = branches[["unit", "branch", "reported"]] if not branches.empty else pd.DataFrame(
        {"unit": pd.Series(dtype=object), "branch": pd.Series(dtype=object), "reported": pd.Series(dtype="int64")})
    out = counts.merge(reported, on=["unit", "branch"], how="left")
    out["share"] = [fmt.ratio(a, b) for a, b in zip(out["inactive"], out["reported"])]
    out["share"] = pd.to_numeric(out["share"], errors="coerce")
    return out.sort_values(["inactive", "unit", "branch"], ascending=[False, True, True]).reset_index(drop=True)


# -- 红色积分 --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PointsRules:
    """The [points] table: what a member earns (see queries/red_points.sql)."""

    per_hour: float
    max_hours_per_month: float
    per_red_day: float
    red_day_form: str
    per_wish: float
    per_good_rating: float
    good_rating_min: float
    max_points_per_month: float

    def params(self) -> dict:
        """The rules as the bound parameters of ``red_points.sql``."""
        return {
            "points_per_hour": self.per_hour,
            "max_hours_per_month": self.max_hours_per_month,
            "points_per_red_day": self.per_red_day,
            "red_day_form": self.red_day_form,
            "points_per_wish": self.per_wish,
            "points_per_good_rating": self.per_good_rating,
            "good_rating_min": self.good_rating_min,
            "max_points_per_month": self.max_points_per_month,
        }

    def query(self, level: str | None, *, board: str | None = None, top: int | None = None,
              unit: str | None = None, branch: str | None = None) -> dict:
        """The parameters of ``red_points.sql``: every row of ``level`` ('member', 'branch', 'unit'
        or None) and the rows of ``board`` (a level or None) ranked ``top`` or better, of the
        members of ``unit`` or ``branch`` only (see ``part``)."""
        for value in (level, board):
            if value is not None and value not in LEVELS:
                raise ValueError(f"unknown level {value!r}")
        return {**self.params(), "level": level, "board": board, "top": top, "member_unit": unit,
                "member_branch": branch}

    def lines(self, lang: str) -> list[str]:
        """The rules in force, one sentence each, for the page."""
        n = lambda v: fmt.number(v, lang, 2)  # noqa: E731
        hours = t("units.rule.hours", lang, points=n(self.per_hour))
        if self.max_hours_per_month > 0:
            hours += t("units.rule.hours_cap", lang, hours=n(self.max_hours_per_month))
        out = [
            hours,
            t("units.rule.red_day", lang, points=n(self.per_red_day), form=self.red_day_form),
            t("units.rule.wish", lang, points=n(self.per_wish)),
            t("units.rule.rating", lang, points=n(self.per_good_rating), min=n(self.good_rating_min)),
        ]
        out.append(t("units.rule.points_cap", lang, points=n(self.max_points_per_month))
                   if self.max_points_per_month > 0 else t("units.rule.no_points_cap", lang))
        return out


def points_rules(settings: dict) -> PointsRules:
    table = settings.get("points", {})
    form = table.get("red_day_form")
    if not isinstance(form, str) or not form.strip():
        raise SettingsError(f"[points] red_day_form must name an 活动形式, got {form!r}")
    values = {f.name: _number(table, f.name, "points") for f in fields(PointsRules) if f.name != "red_day_form"}
    return PointsRules(red_day_form=form.strip(), **values)


@dataclass(frozen=True)
class Window:
    code: str
    start: dt.date
    end: dt.date
    label: str


def points_windows(end: dt.date, lang: str) -> dict[str, Window]:
    """The leaderboard windows, all ending on the period's last day: its month, its year, all time."""
    return {
        "month": Window("month", end.replace(day=1), end, fmt.month(end, lang)),
        "year": Window("year", dt.date(end.year, 1, 1), end, t("units.window.year", lang, year=end.year)),
        "all": Window("all", EPOCH, end, t("units.window.all", lang, end=fmt.date(end, lang))),
    }


def leaderboard(points: pd.DataFrame, level: str, scope: Scope) -> pd.DataFrame:
    """Rows of ``red_points.sql`` at ``level``, as ranked there (members by points, branches and
    units by points per member, so that small units are not ranked by their size), with the points
    the monthly caps took off. Members are masked."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    out = points.drop(columns=["ranked"]).reset_index(drop=True)
    out["rank"] = out["rank"].astype("Int64")
    out = out[["rank", *[c for c in out.columns if c != "rank"]]]
    out["capped"] = out["points_raw"] - out["points"]
    if level != "member":
        out = out.drop(columns=[c for c in ("member_id", "name", "phone") if c in out])
    return mask_members(out, scope)
