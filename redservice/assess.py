"""年度考核: each member on the roster against the year's targets, per unit against the thresholds,
and the communities' grades (双评价). The rules (PRODUCT.md, "Rules the programme runs by") are SQL in
``queries/_base.sql`` (f_a_...), read by the assess_*.sql files; this module binds the [targets]
and [evaluation] settings as their parameters, picks the year and the as-of date, and shapes the
results for the page, the CLI and the feedback sheets (redservice.feedback)."""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from redservice import fmt
from redservice.i18n import t
from redservice.privacy import mask_name
from redservice.scorecard import SettingsError

STATUSES = ("met", "on_track", "behind", "not_reported")
DEFAULTS = {"hours_per_year": 50.0, "activities_per_year": 4, "contacts_per_quarter": 2, "report_within_days": 30,
            "unit_reporting_rate_min": 0.95, "unit_completion_rate_min": 0.90}
MEMBER_KEYS = ("hours_per_year", "activities_per_year", "contacts_per_quarter")
DEFAULT_GRADES = ("优秀", "合格", "基本合格", "不合格")


def targets(settings: dict) -> dict:
    """The [targets] settings, checked: numbers, not negative; rates in [0, 1]; per-unit overrides
    ([targets.units."单位"]) of the member targets only."""
    raw = settings.get("targets", {})
    out = {}
    for key, default in DEFAULTS.items():
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SettingsError(f"[targets] {key} 应为不小于0的数，现为 {value!r}")
        if key.endswith("_min") and value > 1:
            raise SettingsError(f"[targets] {key} 是比例（0.95 即 95%），现为 {value!r}")
        out[key] = float(value) if isinstance(default, float) else int(value)
    units = raw.get("units", {})
    if not isinstance(units, dict):
        raise SettingsError("[targets.units] 应为“单位名称 = { hours_per_year = … }”的表")
    out["units"] = {}
    for unit, over in units.items():
        if not isinstance(over, dict) or set(over) - set(MEMBER_KEYS):
            raise SettingsError(f"[targets.units.\"{unit}\"] 只可设 {', '.join(MEMBER_KEYS)}")
        for key, value in over.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise SettingsError(f"[targets.units.\"{unit}\"] {key} 应为不小于0的数，现为 {value!r}")
        out["units"][unit] = dict(over)
    return out


MECHANISMS = {"report": "双报到", "serve": "双服务", "pair": "双包联", "evaluate": "双评价"}


def mechanism(settings: dict, key: str) -> str:
    """The configured name of one of the programme's mechanisms ([programme] mechanisms)."""
    return str(settings.get("programme", {}).get("mechanisms", {}).get(key) or MECHANISMS[key])


def grades(settings: dict) -> list[str]:
    return list(settings.get("evaluation", {}).get("grades", DEFAULT_GRADES))


def grade_cap(settings: dict) -> str | None:
    """The best grade a member who did not report or serve in the year may get (None: no rule)."""
    cap = settings.get("evaluation", {}).get("cap_without_service", "基本合格")
    if not cap:
        return None
    if cap not in grades(settings):
        raise SettingsError(f"[evaluation] cap_without_service = {cap!r} 不在评价等级 {grades(settings)} 之中")
    return cap


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def default_as_of(year: int, data_last: dt.date | None) -> dt.date:
    """The data's last date, within the year (the year's end when the data go beyond it, its start
    when they end before it)."""
    y0, y1 = year_bounds(year)
    if data_last is None:
        return y1
    return min(max(data_last, y0), y1)


def pace(year: int, as_of: dt.date) -> float:
    """f: the days from 1 January to ``as_of``, both included, ÷ the days of the year."""
    y0, _ = year_bounds(year)
    return ((as_of - y0).days + 1) / (366 if calendar.isleap(year) else 365)


def params(settings: dict, year: int, as_of: dt.date, unit: str | None = None) -> dict:
    """The 年度考核 parameters of queries/_base.sql (f_a_...); ``unit``: one unit's roster only."""
    y0, y1 = year_bounds(year)
    if not y0 <= as_of <= y1:
        raise ValueError(f"as_of {as_of} is not in {year}")
    tg = targets(settings)
    units = sorted(tg["units"])
    roll = settings.get("import", {}).get("roll_statuses", ["在册", "转出"])
    return {
        "year_start": y0, "year_end": y1, "as_of": as_of, "a_unit": unit,
        "t_hours": tg["hours_per_year"], "t_activities": tg["activities_per_year"],
        "t_contacts": tg["contacts_per_quarter"], "t_report_days": tg["report_within_days"],
        "o_units": units,
        "o_hours": [float(tg["units"][u]["hours_per_year"]) if "hours_per_year" in tg["units"][u] else None
                    for u in units],
        "o_activities": [tg["units"][u].get("activities_per_year") for u in units],
        "o_contacts": [tg["units"][u].get("contacts_per_quarter") for u in units],
        "grades": grades(settings), "grade_cap": grade_cap(settings),
        "roll_out": roll[-1] if len(roll) > 1 else "转出",
    }


def is_final(year: int, as_of: dt.date) -> bool:
    return as_of == year_bounds(year)[1]


def unit_figures(units: pd.DataFrame, settings: dict, year: int, as_of: dt.date) -> pd.DataFrame:
    """assess_units.sql with the rates: reporting_rate = reported ÷ on_roster; completion_rate =
    met ÷ reported at the year's end, (met + on_track) ÷ reported during it; and the flags against
    [targets] unit_reporting_rate_min / unit_completion_rate_min (as codes, worded by ``flag_text``)."""
    tg = targets(settings)
    out = units.copy()
    final = is_final(year, as_of)
    out["reporting_rate"] = _ratios(out["reported"], out["on_roster"])
    done = out["met"] if final else out["met"] + out["on_track"]
    out["completion_rate"] = _ratios(done, out["reported"])
    least_reporting, least_completion = tg["unit_reporting_rate_min"], tg["unit_completion_rate_min"]
    # each unit's list of flags, the reporting flag first: the rates compared as whole columns and
    # only the rows below a threshold visited (a province's 56,000 units; most are flagged for neither)
    flags: list[list] = [[] for _ in range(len(out))]
    for code, column, least in (("reporting", "reporting_rate", least_reporting),
                                ("completion", "completion_rate", least_completion)):
        rates = out[column].tolist()
        with np.errstate(invalid="ignore"):
            below = np.flatnonzero(np.asarray(rates, dtype=float) < least)
        for i in below:
            flags[i].append((code, rates[i], least))
    out["flags"] = flags
    return out


def _ratios(numerators: pd.Series, denominators: pd.Series) -> list:
    """fmt.ratio of each pair on whole columns: the quotient, or None where either is missing or
    the denominator is 0."""
    top = pd.to_numeric(numerators, errors="coerce").astype(float).to_numpy()
    bottom = pd.to_numeric(denominators, errors="coerce").astype(float).to_numpy()
    valid = ~(pd.isna(top) | pd.isna(bottom)) & (bottom != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = top / bottom
    return [float(q) if ok else None for q, ok in zip(quotient, valid)]


def flag_text(flag: tuple, lang: str) -> str:
    """"报到率92.0%，低于95%" — one flag in words."""
    code, value, threshold = flag
    return t(f"assess.flag.{code}", lang, value=fmt.percent(value, lang),
             threshold=fmt.percent(threshold, lang, trim=True))


def units_frame(units: pd.DataFrame, lang: str, final: bool) -> pd.DataFrame:
    """The per-unit table of the page (unit_figures' output): the units below a threshold first
    (most flags, then the lowest completion rate), then the others by name."""
    # sorted by Arrow on the three keys at once (pandas factorised 56,300 unit names to sort them);
    # a unit without a completion rate after those with one (missing values last, as pandas sorts)
    rate = pd.to_numeric(units["completion_rate"], errors="coerce").astype(float)
    keys = pa.table({"n": pa.array(np.fromiter(map(len, units["flags"]), dtype=np.int64, count=len(units)) * -1),
                     "c": pa.array(rate.to_numpy(), from_pandas=True), "unit": pa.Array.from_pandas(units["unit"])})
    order = pc.sort_indices(keys, sort_keys=[("n", "ascending", "at_end"), ("c", "ascending", "at_end"),
                                             ("unit", "ascending", "at_end")])
    units = units.take(order.to_numpy()).reset_index(drop=True)
    return pd.DataFrame({
        t("assess.col.unit", lang): units["unit"],
        t("assess.col.on_roster", lang): units["on_roster"].astype(int),
        t("assess.col.reported", lang): units["reported"].astype(int),
        t("assess.col.reporting_rate", lang): _percents(units["reporting_rate"], lang),
        t("assess.col.met", lang): units["met"].astype(int),
        t("assess.col.on_track", lang): units["on_track"].astype(int),
        t("assess.col.behind", lang): units["behind"].astype(int),
        t("assess.col.not_reported", lang): units["not_reported"].astype(int),
        t("assess.col.completion_final" if final else "assess.col.completion", lang):
            _percents(units["completion_rate"], lang),
        t("assess.col.flags", lang): _flag_texts(units["flags"], lang),
    })


def _flag_texts(flags: pd.Series, lang: str) -> list[str]:
    """Each unit's flags in words, each distinct list of flags worded once; "" for a unit without
    one (most units: only the flagged ones are looked up)."""
    values = flags.tolist()
    out = [""] * len(values)
    flagged = [i for i, fl in enumerate(values) if fl]
    texts = fmt.once_per_value((tuple(values[i]) for i in flagged),
                               lambda fl: "；".join(flag_text(f, lang) for f in fl))
    for i, text in zip(flagged, texts):
        out[i] = text
    return out


def _percents(values: pd.Series, lang: str) -> list[str]:
    """fmt.percent of each value, written once per distinct value (found by fmt.per_distinct in one
    pass over the column)."""
    return fmt.per_distinct(values, lambda v: fmt.percent(v, lang))


def status_label(status: str, lang: str) -> str:
    return t(f"assess.status.{status}", lang)


def members_frame(members: pd.DataFrame, lang: str, reveal: bool) -> pd.DataFrame:
    """One row per member (assess_members.sql), names and phones masked unless ``reveal``."""
    names = members["name"] if reveal else members["name"].map(mask_name)
    return pd.DataFrame({
        t("assess.col.name", lang): names,
        t("assess.col.unit", lang): members["unit"],
        t("assess.col.branch", lang): members["branch"].fillna("—"),
        t("assess.col.community", lang): members["community"].fillna("—"),
        t("assess.col.reported_on", lang): [fmt.date(d, lang) if pd.notna(d) else "—" for d in members["reported_on"]],
        t("assess.col.hours", lang): [f"{fmt.number(h, lang, 1)} / {fmt.number(x, lang, 1)}"
                                      for h, x in zip(members["hours"], members["t_hours"])],
        t("assess.col.activities", lang): [f"{int(a)} / {int(x)}"
                                           for a, x in zip(members["activities"], members["t_activities"])],
        t("assess.col.contact_days", lang): members["contact_days"].astype(int),
        t("assess.col.short_quarters", lang): members["short_quarters"].astype(int),
        t("assess.col.status", lang): [status_label(s, lang) for s in members["status"]],
        t("assess.col.grade", lang): members["grade"].fillna("—"),
    })


def grade_table(grades_df: pd.DataFrame, scale: list[str], lang: str, key: str) -> pd.DataFrame:
    """assess_grades.sql as one row per community or unit: a column per grade, then 未评价."""
    if grades_df.empty:
        return pd.DataFrame()
    df = grades_df.copy()
    df["grade"] = df["grade"].fillna("__none__")
    wide = df.pivot_table(index="name", columns="grade", values="members", aggfunc="sum", fill_value=0)
    cols = [g for g in scale if g in wide.columns] + [g for g in wide.columns if g not in scale and g != "__none__"]
    out = pd.DataFrame({t(f"assess.col.{key}", lang): wide.index})
    for g in cols:
        out[g] = wide[g].astype(int).to_numpy()
    out[t("assess.col.ungraded", lang)] = (wide["__none__"].astype(int).to_numpy()
                                           if "__none__" in wide.columns else 0)
    return out


def profile_frame(records: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A member's approved records of the year (assess_profile.sql)."""
    return pd.DataFrame({
        t("assess.col.date", lang): [fmt.date(d, lang) for d in records["date"]],
        t("assess.col.unit", lang): records["unit"],
        t("assess.col.community", lang): records["community"],
        t("assess.col.category", lang): records["category"],
        t("assess.col.activity", lang): records["activity_id"].fillna("—"),
        t("assess.col.record_hours", lang): [fmt.number(h, lang, 1) for h in records["hours"]],
        t("assess.col.households", lang): records["households"].astype(int),
    })


def conflicts_frame(members: pd.DataFrame, year: int, lang: str, reveal: bool) -> pd.DataFrame:
    """The grades that break the [evaluation] rule, with the reason (assess_conflicts.sql, or
    assess_members.sql's rows with grade_conflict)."""
    rows = members[members["grade_conflict"].fillna(False).astype(bool)] if "grade_conflict" in members else members
    names = rows["name"] if reveal else rows["name"].map(mask_name)
    year_end = pd.Timestamp(year_bounds(year)[1])
    reasons = [t("assess.conflict.not_reported", lang) if pd.isna(r) or pd.Timestamp(r) > year_end
               else t("assess.conflict.no_record", lang) for r in rows["reported_on"]]
    return pd.DataFrame({
        t("assess.col.name", lang): names,
        t("assess.col.unit", lang): rows["unit"],
        t("assess.col.grading_community", lang): rows["grade_community"],
        t("assess.col.grade", lang): rows["grade"],
        t("assess.col.reason", lang): reasons,
    })


def report_of(a) -> dict:
    """The CLI's ``assess --json`` object from a loaded assessment (redservice.feedback.load: the
    same queries as the page)."""
    tg = targets(a.settings)
    members = a.members
    out_units = []
    for _, u in a.units.iterrows():
        graded = members[(members["unit"] == u["unit"]) & members["grade"].notna()]
        out_units.append({
            "unit": u["unit"], "on_roster": int(u["on_roster"]), "reported": int(u["reported"]),
            "reporting_rate": _round(u["reporting_rate"]), "met": int(u["met"]), "on_track": int(u["on_track"]),
            "behind": int(u["behind"]), "not_reported": int(u["not_reported"]),
            "completion_rate": _round(u["completion_rate"]),
            "grades": {str(g): int(n) for g, n in graded.groupby("grade").size().items()},
            "flags": [flag_text(f, "zh") for f in u["flags"]],
        })
    reveal = a.scope.show_names
    out_members = [{
        "member_id": r["member_id"], "name": r["name"] if reveal else mask_name(r["name"]),
        "unit": r["unit"], "hours": float(r["hours"]), "activities": int(r["activities"]),
        "contact_days": int(r["contact_days"]), "status": r["status"],
        "grade": None if pd.isna(r["grade"]) else r["grade"],
    } for _, r in members.iterrows()]
    return {"year": a.year, "as_of": a.as_of.isoformat(), "final": is_final(a.year, a.as_of),
            "pace": round(pace(a.year, a.as_of), 4),
            "targets": tg,
            "units": out_units, "members": out_members}


def _round(value) -> float | None:
    return None if value is None else round(float(value), 4)

