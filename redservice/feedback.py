"""What goes back to the units: the 反馈表 (one workbook per unit: its figures against the thresholds
and one row per member on its roster) and the reminders (who has not reported past the deadline,
who has no approved record this quarter, who is behind pace, which claimed wishes are open too
long), each with a short notice a 组织部 can paste into a message. Figures come from the 年度考核
queries (redservice.assess) and wish_open.sql / red_points.sql; names and phones are masked unless
the viewer's role shows them."""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile

import pandas as pd

from redservice import assess, fmt, scorecard
from redservice.export import excel_writer, safe_filename
from redservice.filters import Filters, Scope
from redservice.i18n import t
from redservice.privacy import mask_name, mask_phone

KINDS = ("overdue", "no_record", "behind", "wishes")


class Assessment:
    """One (year, as-of date, filters, scope): the units' figures at once; the members, their
    points and the open wishes when first asked for (a province's roster is a million rows: the
    page's tiles and units table need none of them), or one unit's only (``members_of``)."""

    def __init__(self, query, filters: Filters, scope: Scope, settings: dict, year: int, as_of: dt.date,
                 units: pd.DataFrame | None = None):
        self._query, self.filters, self.scope, self.settings = query, filters, scope, settings
        self.year, self.as_of = year, as_of
        self.params = assess.params(settings, year, as_of)
        self.year_filters = filters.with_period(dt.date(year, 1, 1), as_of)
        self.rules = scorecard.points_rules(settings)
        self.units = unit_figures(query, filters, settings, year, as_of) if units is None else units

    @property
    def final(self) -> bool:
        return assess.is_final(self.year, self.as_of)

    @functools.cached_property
    def members(self) -> pd.DataFrame:
        """assess_members.sql: every member on the roster."""
        return self._query("assess_members", self.filters, **self.params)

    def members_of(self, unit: str) -> pd.DataFrame:
        """assess_members.sql for one unit's roster (the same rows as in ``members``)."""
        if "members" in self.__dict__:
            return self.members[self.members["unit"] == unit]
        return self._query("assess_members", self.filters, **{**self.params, "a_unit": unit})

    def points_of(self, unit: str | None = None) -> pd.DataFrame:
        """red_points.sql's member rows of the year to the as-of date (of one unit's roster)."""
        return scorecard.part(self._query("red_points", self.year_filters, **self.rules.query("member", unit=unit)),
                              "rows")

    @functools.cached_property
    def open_wishes(self) -> pd.DataFrame:
        """wish_open.sql as of the as-of date."""
        return self._query("wish_open", self.year_filters)


def unit_figures(query, filters: Filters, settings: dict, year: int, as_of: dt.date) -> pd.DataFrame:
    """assess_units.sql with the rates and flags (``assess.unit_figures``)."""
    return assess.unit_figures(query("assess_units", filters, **assess.params(settings, year, as_of)),
                               settings, year, as_of)


def load(query, filters: Filters, scope: Scope, settings: dict, year: int, as_of: dt.date,
         units: pd.DataFrame | None = None) -> Assessment:
    """``query(name, filters, **params)``: the page's cached ctx.query or a store's; ``units``:
    ``unit_figures`` of the same arguments when the caller has them (the page: shared between runs)."""
    return Assessment(query, filters, scope, settings, year, as_of, units)


# -- reminders ------------------------------------------------------------------------------------
def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def reminder_lists(a: Assessment) -> dict[str, pd.DataFrame]:
    """The four lists, as of the as-of date: members not reported past the deadline, reported
    members with no approved record this quarter, members behind pace, and claimed wishes open
    beyond [wishes] complete_overdue_days (by the claiming unit)."""
    m = a.members
    limit = int(a.settings.get("wishes", {}).get("complete_overdue_days", 30))
    w = a.open_wishes
    claimed = w[w["claimed_days"].notna() & (w["claimed_days"] > limit)] if not w.empty else w
    return {
        "overdue": m[m["overdue"].astype(bool)],
        "no_record": m[m["reported"].astype(bool) & (m["quarter_records"] == 0)],
        "behind": m[m["status"] == "behind"],
        "wishes": claimed,
    }


def reminder_counts(lists: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per unit: how many in each list (units with none left out)."""
    rows = {}
    for kind, df in lists.items():
        col = "claim_unit" if kind == "wishes" else "unit"
        for unit, n in df.groupby(col).size().items():
            rows.setdefault(unit, dict.fromkeys(KINDS, 0))[kind] = int(n)
    return pd.DataFrame([{"unit": u, **v} for u, v in sorted(rows.items())], columns=["unit", *KINDS])


def counts_frame(counts: pd.DataFrame, lang: str) -> pd.DataFrame:
    """reminder_counts with the page's labels."""
    out = pd.DataFrame({t("assess.col.unit", lang): counts["unit"]})
    for kind in KINDS:
        out[t(f"feedback.kind.{kind}", lang)] = counts[kind].astype(int)
    return out


def lists_frame(lists: dict[str, pd.DataFrame], lang: str, reveal: bool) -> pd.DataFrame:
    """The four lists as one table to export: unit, reminder, who (or which wish), details."""
    rows = []
    for kind in ("overdue", "no_record", "behind"):
        for _, m in lists[kind].iterrows():
            rows.append({"unit": m["unit"], "kind": t(f"feedback.kind.{kind}", lang),
                         "who": m["name"] if reveal else mask_name(m["name"]), "branch": m["branch"],
                         "detail": (t("assess.status." + m["status"], lang) + " "
                                    + f"{fmt.number(m['hours'], lang, 1)}/{fmt.number(m['t_hours'], lang, 1)}")})
    for _, w in lists["wishes"].iterrows():
        rows.append({"unit": w["claim_unit"], "kind": t("feedback.kind.wishes", lang),
                     "who": f"{w['community']} {w['wish_id']}", "branch": "",
                     "detail": str(w["content"])[:60]})
    df = pd.DataFrame(rows, columns=["unit", "kind", "who", "branch", "detail"])
    return df.rename(columns={"unit": t("assess.col.unit", lang), "kind": t("assess.col.kind", lang),
                              "who": t("assess.col.name", lang), "branch": t("assess.col.branch", lang),
                              "detail": t("feedback.col.detail", lang)})


def _names(df: pd.DataFrame, reveal: bool, lang: str) -> str:
    names = [n if reveal else mask_name(n) for n in df["name"]]
    return ("、" if lang == "zh" else ", ").join(names)


def notice(a: Assessment, lists: dict[str, pd.DataFrame], unit: str, lang: str = "zh") -> str | None:
    """The short notice to one unit ("截至2025年3月31日，贵单位尚有3名党员未到社区报到……"), None when
    the unit is on none of the lists. Names as the viewer's role allows."""
    reveal = a.scope.show_names
    parts, details = [], []
    for kind in ("overdue", "no_record", "behind"):
        rows = lists[kind][lists[kind]["unit"] == unit]
        if len(rows):
            parts.append(t(f"feedback.notice.{kind}", lang, n=len(rows)))
            details.append(t(f"feedback.notice.{kind}_names", lang, names=_names(rows, reveal, lang)))
    rows = lists["wishes"][lists["wishes"]["claim_unit"] == unit] if not lists["wishes"].empty else lists["wishes"]
    if len(rows):
        days = int(a.settings.get("wishes", {}).get("complete_overdue_days", 30))
        parts.append(t("feedback.notice.wishes", lang, n=len(rows), days=days))
        details.append(t("feedback.notice.wishes_list", lang,
                         wishes=("、" if lang == "zh" else ", ").join(
                             f"{w['community']}{w['wish_id']}" for _, w in rows.iterrows())))
    if not parts:
        return None
    joiner = "，" if lang == "zh" else "; "
    head = t("feedback.notice.head", lang, date=fmt.date(a.as_of, lang), items=joiner.join(parts))
    return "\n".join([head, *details, t("feedback.notice.tail", lang)])


# -- the 反馈表 -------------------------------------------------------------------------------------
def title(year: int, lang: str = "zh") -> str:
    return t("feedback.title", lang, year=year)


def member_rows(a: Assessment, unit: str, lang: str = "zh") -> pd.DataFrame:
    """One row per member on the unit's roster: reported and those who should have reported."""
    m = a.members_of(unit)
    reveal = a.scope.show_names
    points = a.points_of(unit)
    pts = dict(zip(points["member_id"], points["points"])) if not points.empty else {}
    return pd.DataFrame({
        t("assess.col.name", lang): [n if reveal else mask_name(n) for n in m["name"]],
        t("assess.col.branch", lang): m["branch"].fillna(""),
        t("feedback.col.phone", lang): [p if reveal else mask_phone(p) for p in m["phone"]],
        t("assess.col.community", lang): m["community"].fillna(""),
        t("assess.col.reported_on", lang): [fmt.date(d, lang) if pd.notna(d) else "" for d in m["reported_on"]],
        t("feedback.col.hours", lang): [round(float(h), 1) for h in m["hours"]],
        t("feedback.col.activities", lang): m["activities"].astype(int),
        t("feedback.col.contact_days", lang): m["contact_days"].astype(int),
        t("feedback.col.wishes", lang): m["wishes_completed"].astype(int),
        t("feedback.col.points", lang): [round(float(pts.get(i, 0) or 0), 1) for i in m["member_id"]],
        t("assess.col.status", lang): [assess.status_label(s, lang) for s in m["status"]],
        t("assess.col.grade", lang): m["grade"].fillna(""),
        t("feedback.col.comment", lang): m["grade_comment"].fillna(""),
    })


def cover_rows(a: Assessment, unit: str, lang: str = "zh") -> list[tuple[str, str]]:
    """The cover: the unit's figures against the thresholds, as (label, value) lines."""
    tg = assess.targets(a.settings)
    u = a.units[a.units["unit"] == unit]
    if u.empty:
        return [(t("assess.col.unit", lang), unit)]
    u = u.iloc[0]
    over = tg["units"].get(unit, {})
    hours = over.get("hours_per_year", tg["hours_per_year"])
    acts = over.get("activities_per_year", tg["activities_per_year"])
    contacts = over.get("contacts_per_quarter", tg["contacts_per_quarter"])
    completion_key = "assess.col.completion_final" if a.final else "assess.col.completion"

    def under(key: str, label: str) -> str:  # "双报到：报到率" — the county's names of its mechanisms
        return t("feedback.cover.under", lang, mechanism=assess.mechanism(a.settings, key), label=label)

    members = a.members_of(unit)
    graded = members[members["grade"].notna()].groupby("grade").size()
    joiner = "、" if lang == "zh" else ", "
    grade_text = joiner.join(f"{g}{int(graded[g])}" for g in assess.grades(a.settings) if g in graded.index)
    lines = [
        (t("assess.col.unit", lang), unit),
        (t("feedback.cover.as_of", lang), fmt.date(a.as_of, lang)),
        (t("feedback.cover.targets", lang), t("feedback.cover.targets_value", lang, hours=fmt.number(hours, lang, 1),
                                              activities=acts, contacts=contacts)),
        (t("assess.col.on_roster", lang), str(int(u["on_roster"]))),
        (t("assess.col.reported", lang), str(int(u["reported"]))),
        (under("report", t("assess.col.reporting_rate", lang)),
         t("feedback.cover.against", lang, value=fmt.percent(u["reporting_rate"], lang),
           threshold=fmt.percent(tg["unit_reporting_rate_min"], lang, trim=True))),
        (under("serve", t(completion_key, lang)),
         t("feedback.cover.against", lang, value=fmt.percent(u["completion_rate"], lang),
           threshold=fmt.percent(tg["unit_completion_rate_min"], lang, trim=True))),
    ]
    for status in assess.STATUSES:
        lines.append((assess.status_label(status, lang), str(int(u[status]))))
    lines.append((under("evaluate", t("feedback.cover.grades", lang)),
                  grade_text or t("feedback.cover.grades_none", lang)))
    lines.append((t("assess.col.flags", lang),
                  "；".join(assess.flag_text(f, lang) for f in u["flags"]) or t("feedback.cover.no_flag", lang)))
    return lines


def cover_frame(a: Assessment, unit: str, lang: str = "zh") -> pd.DataFrame:
    """The cover as a table for the page: its lines under the sheet's title."""
    rows = cover_rows(a, unit, lang)
    return pd.DataFrame({title(a.year, lang): [v for _, v in rows]}, index=[k for k, _ in rows])


def workbook(a: Assessment, unit: str, lang: str = "zh") -> bytes:
    """The unit's 反馈表: a cover sheet and the members sheet (every string written as text)."""
    buf = io.BytesIO()
    rows = member_rows(a, unit, lang)
    with excel_writer(buf) as writer:
        book = writer.book
        bold = book.add_format({"bold": True, "font_size": 14})
        label = book.add_format({"bold": True})
        cover = book.add_worksheet(t("feedback.sheet.cover", lang))
        cover.write_string(0, 0, f"{unit}{title(a.year, lang)}" if lang == "zh" else f"{unit}: {title(a.year, lang)}",
                           bold)
        for i, (k, v) in enumerate(cover_rows(a, unit, lang), start=2):
            cover.write_string(i, 0, k, label)
            cover.write_string(i, 1, v)
        cover.set_column(0, 0, 22)
        cover.set_column(1, 1, 60)
        sheet_name = t("feedback.sheet.members", lang)
        rows.to_excel(writer, sheet_name=sheet_name, index=False, startrow=1)
        sheet = writer.sheets[sheet_name]
        sheet.write_string(0, 0, f"{unit} {title(a.year, lang)}", label)
        for j, col in enumerate(rows.columns):
            width = max([len(str(col))] + [len(str(v)) for v in rows[col].head(200)]) + 2
            sheet.set_column(j, j, min(40, max(8, width * 1.6)))
    return buf.getvalue()


def index_workbook(a: Assessment, lang: str = "zh") -> bytes:
    """The index of every unit's figures (one row per unit), for the folder of 反馈表."""
    buf = io.BytesIO()
    table = assess.units_frame(a.units, lang, a.final)
    with excel_writer(buf) as writer:
        table.to_excel(writer, sheet_name=t("feedback.sheet.index", lang), index=False, startrow=1)
        sheet = writer.sheets[t("feedback.sheet.index", lang)]
        sheet.write_string(0, 0, f"{title(a.year, lang)} {t('feedback.cover.as_of', lang)}{fmt.date(a.as_of, lang)}")
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, len(table.columns), 12)
    return buf.getvalue()


def file_name(unit: str, year: int, lang: str = "zh") -> str:
    return safe_filename(f"{unit}_{title(year, lang)}", "xlsx")


def zip_all(a: Assessment, lang: str = "zh") -> bytes:
    """Every unit's 反馈表 and the index, as one zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(safe_filename(f"{t('feedback.index', lang)}_{a.year}", "xlsx"), index_workbook(a, lang))
        for unit in a.units["unit"]:
            z.writestr(file_name(unit, a.year, lang), workbook(a, unit, lang))
    return buf.getvalue()
