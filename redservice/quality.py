"""数据质量: the [quality] rules that find implausible records across rows (a member's 30-hour day,
one service entered twice under two numbers, a branch entered in identical rows, 点卯 sign-ins).
The rules are SQL in ``queries/_base.sql`` (f_q_records … f_q_rule_counts), read by the quality_*.sql
files; this module binds the settings as their parameters and shapes the results for the page, the
CLI and the exports."""

from __future__ import annotations

from redservice import fmt, lazy
from redservice.i18n import t
from redservice.privacy import mask_name

pd = lazy.module("pandas")  # loaded when first used (see redservice/lazy.py)

RULES = ("day_hours", "duplicate", "late_entry", "bulk_identical", "sign_in_only", "household_repeat",
         "backfill_share")
DEFAULTS = {"statuses": ["已通过", "待审核"], "max_hours_per_day": 12.0, "max_entry_delay_days": 30,
            "bulk_min_members": 20, "sign_in_min_records": 4, "sign_in_max_hours": 0.5,
            "household_max_per_day": 3, "backfill_origin": "后台补录", "backfill_share_max": 0.5,
            "backfill_min_records": 20}


# The rules whose flags do not depend on the period asked for (a record, a member-day, a unit-day, a
# household-day): with [quality] count_flagged = false the records they flag, over all the records,
# count nowhere. sign_in_only and backfill_share judge a member's or a unit's whole period, so a
# record's flag changes with the period: they are listed for checking, never left out.
EXCLUDING = ("day_hours", "duplicate", "late_entry", "bulk_identical", "household_repeat")


def count_flagged(settings: dict) -> bool:
    """[quality] count_flagged: whether flagged records count in the figures (default true)."""
    value = settings.get("quality", {}).get("count_flagged", True)
    if not isinstance(value, bool):
        from redservice.scorecard import SettingsError

        raise SettingsError(f"[quality] count_flagged 应为 true 或 false，现为 {value!r}")
    return value


def left_out_text(df: pd.DataFrame, lang: str) -> str | None:
    """The footnote for quality_excluded.sql: how many of the period's records count nowhere, and
    why (None when none)."""
    total = df[df["rule"].isna()]
    if total.empty or int(total.iloc[0]["records"]) == 0:
        return None
    joiner = "、" if lang == "zh" else ", "
    parts = joiner.join(t("quality.left_out_rule", lang, rule=rule_name(r["rule"], lang), n=int(r["records"]))
                        for _, r in df[df["rule"].notna()].sort_values(
                            "rule", key=lambda c: c.map(RULES.index)).iterrows())
    return t("quality.left_out", lang, n=int(total.iloc[0]["records"]),
             hours=fmt.number(total.iloc[0]["hours"], lang, 1), rules=parts)


def rules_of(settings: dict) -> dict:
    return {**DEFAULTS, **settings.get("quality", {})}


def params(settings: dict, records: bool = True) -> dict:
    """The rules as the queries' parameters ($q_max_hours_per_day …); ``records``: whether
    quality_page.sql lists the flagged records ($q_records; the unit scorecard needs the rates only)."""
    rules = rules_of(settings)
    out = {f"q_{k}": rules[k] for k in DEFAULTS}
    out["q_records"] = bool(records)
    out["q_statuses"] = list(rules["statuses"])
    for key in ("max_hours_per_day", "sign_in_max_hours", "backfill_share_max"):
        out[f"q_{key}"] = float(out[f"q_{key}"])
    for key in ("max_entry_delay_days", "bulk_min_members", "sign_in_min_records", "household_max_per_day",
                "backfill_min_records"):
        out[f"q_{key}"] = int(out[f"q_{key}"])
    return out


# The settings of the EXCLUDING rules (and of which records are checked), built into the serving
# copy's quality_flags (queries/_quality_flags.sql): a changed setting rebuilds the copy in memory
# until the next import writes the file again (redservice.serving.attach).
BUILT = ("statuses", "max_hours_per_day", "max_entry_delay_days", "bulk_min_members", "household_max_per_day")


def flag_params(settings: dict) -> dict:
    """The settings quality_flags is built with, as its parameters ($q_statuses …)."""
    bound = params(settings)
    return {f"q_{k}": bound[f"q_{k}"] for k in BUILT}


def rule_name(rule: str, lang: str) -> str:
    return t(f"quality.rule.{rule}", lang)


def rule_definition(rule: str, settings: dict, lang: str) -> str:
    """The rule in words with its thresholds as a report writes them (12小时, 0.5小时, 50%)."""
    rules = dict(rules_of(settings))
    for key in ("max_hours_per_day", "sign_in_max_hours"):
        rules[key] = fmt.number(rules[key], lang, 2)
    rules["backfill_share_max"] = fmt.percent(rules["backfill_share_max"], lang, 0)
    return t(f"quality.def.{rule}", lang, **rules)


def rules_frame(current: pd.DataFrame, previous: pd.DataFrame, settings: dict, lang: str) -> pd.DataFrame:
    """One row per rule: name, what it counts, the count and its change against the previous
    period, the records flagged, and the definition. A rule that does not apply shows "—"."""
    prev = previous.set_index("rule") if not previous.empty else pd.DataFrame()
    rows = []
    for _, r in current.iterrows():
        applicable = bool(r["applicable"])
        before = prev.loc[r["rule"]] if r["rule"] in prev.index else None
        change = "—"
        if applicable and before is not None and bool(before["applicable"]):
            diff = int(r["count"]) - int(before["count"])
            change = t("delta.flat", lang) if diff == 0 else f"{diff:+d}"
        rows.append({
            t("quality.col.rule", lang): rule_name(r["rule"], lang),
            t("quality.col.counted_in", lang): t(f"quality.counts.{r['rule']}", lang),
            t("quality.col.count", lang): int(r["count"]) if applicable else "—",
            t("quality.col.change", lang): change,
            t("quality.col.records", lang): int(r["records"]) if applicable else "—",
            t("quality.col.definition", lang): rule_definition(r["rule"], settings, lang)
            if applicable else t("quality.not_applicable", lang, rule=rule_name(r["rule"], lang)),
        })
    return pd.DataFrame(rows)


PART_COLUMNS = {
    "rule": ["rule", "ord", "count", "records", "applicable"],
    "unit": ["name", "records", "flagged", "rate"],
    "community": ["name", "records", "flagged", "rate"],
    "record": ["record_id", "date", "member_name", "member_id", "unit", "branch", "community", "category", "hours",
               "content", "activity_id", "origin", "entered_on", "review_status", "rules"],
}


def parts(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """queries/quality_page.sql split into its parts: 'rule' (rule, ord, count, records,
    applicable), 'unit' and 'community' (name, records, flagged, rate) and 'record' (the flagged
    records, with the member's name as ``name``)."""
    out = {}
    for part, columns in PART_COLUMNS.items():
        rows = df[df["part"] == part][columns].reset_index(drop=True)
        if part == "rule":
            rows = rows.astype({"ord": int, "count": int, "records": int, "applicable": bool})
        elif part in ("unit", "community"):
            rows = rows.astype({"records": int, "flagged": int, "rate": float})
        else:
            rows = rows.rename(columns={"member_name": "name"})
        out[part] = rows
    return out


def rates_frame(df: pd.DataFrame, key: str, lang: str) -> pd.DataFrame:
    """Per unit or community (part 'unit' / 'community' of quality_page.sql): records, flagged
    records and the flag rate (one decimal, as 12.3%)."""
    label = t(f"quality.col.{key}", lang)
    return pd.DataFrame({
        label: df["name"].fillna("—"),
        t("quality.col.checked", lang): df["records"].astype(int),
        t("quality.col.flagged", lang): df["flagged"].astype(int),
        # each distinct rate written once (a province's 56,300 units share a few thousand)
        t("quality.col.rate", lang): fmt.per_distinct(df["rate"], lambda v: fmt.percent(v, lang)),
    })


def _text_date(value) -> str:
    return "" if fmt.missing(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def flagged_frame(df: pd.DataFrame, lang: str, show_names: bool) -> pd.DataFrame:
    """The flagged records with the rules each broke in words; names masked unless the viewer may
    see them."""
    names = {r: rule_name(r, lang) for r in RULES}
    sep = "、" if lang == "zh" else ", "
    data = df.copy()
    if not show_names:
        data["name"] = [None if fmt.missing(n) else mask_name(n) for n in data["name"]]
    # each distinct list of rules and each distinct date written once (a province's flagged records
    # share a few dozen lists and a few hundred dates)
    data["rules"] = fmt.per_distinct(data["rules"], lambda v: sep.join(names.get(c, c) for c in str(v).split(",")))
    for col in ("date", "entered_on"):
        data[col] = fmt.per_distinct_text(data[col], _text_date)
    cols = ["record_id", "date", "name", "unit", "community", "category", "hours", "content", "origin",
            "entered_on", "rules"]
    out = data[cols].astype(object).where(data[cols].notna(), "")
    return out.rename(columns={c: t(f"quality.col.{c}", lang) for c in cols})


def report(store, filters, scope, settings: dict) -> dict:
    """What ``python -m redservice quality --json`` prints: the rules' counts, the units' rates and
    the flagged records (from the same SQL files as the page)."""
    page = parts(store.query("quality_page", filters, scope, **params(settings)))
    rules, units, flagged = page["rule"], page["unit"], page["record"]
    return {
        "period": {"start": filters.start.isoformat(), "end": filters.end.isoformat()},
        "rules": {r["rule"]: {"count": int(r["count"]) if r["applicable"] else None,
                              "records": int(r["records"]) if r["applicable"] else None,
                              "applicable": bool(r["applicable"])} for _, r in rules.iterrows()},
        "units": [{"unit": u["name"], "records": int(u["records"]), "flagged": int(u["flagged"]),
                   "rate": round(float(u["rate"]), 4)} for _, u in units.iterrows()],
        "flagged": [{"record_id": f["record_id"], "rule": rule} for _, f in flagged.iterrows()
                    for rule in str(f["rules"]).split(",")],
    }
