"""审核状态: which records count. The serving copy marks each record ``counted`` (its status is in
[approval] counted, or it has none) and every figure reads only those (queries/_base.sql,
f_services); the records waiting for approval ([approval] pending) are listed by community (who
must approve) and by unit, as of a date (queries/approval_pending.sql, approval_pending_list.sql)."""

from __future__ import annotations

import datetime as dt

from redservice import fmt, lazy
from redservice.i18n import t
from redservice.privacy import mask_name
from redservice.scorecard import SettingsError

pd = lazy.module("pandas")  # loaded when first used (see redservice/lazy.py)

DEFAULT_COUNTED = ("已通过",)
DEFAULT_PENDING = ("待审核",)


def _statuses(settings: dict, key: str, default: tuple[str, ...]) -> list[str]:
    value = settings.get("approval", {}).get(key, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SettingsError(f"[approval] {key} 应为审核状态的列表，如 {list(default)}")
    return [v.strip() for v in value]


def counted(settings: dict) -> list[str]:
    """The 审核状态 whose records count ([approval] counted)."""
    return _statuses(settings, "counted", DEFAULT_COUNTED)


def pending(settings: dict) -> list[str]:
    """The 审核状态 of records waiting for approval ([approval] pending)."""
    return _statuses(settings, "pending", DEFAULT_PENDING)


def params(settings: dict, as_of: dt.date) -> dict:
    return {"pending": pending(settings), "as_of": as_of}


def summary_frame(df: pd.DataFrame, key: str, lang: str) -> pd.DataFrame:
    """Per community or unit (approval_pending.sql): records waiting, their hours and the age of the
    oldest in days."""
    return pd.DataFrame({
        t(f"approval.col.{key}", lang): df["name"].fillna("—"),
        t("approval.col.records", lang): df["records"].astype(int),
        t("approval.col.hours", lang): [fmt.number(h, lang, 1) for h in df["hours"]],
        t("approval.col.oldest_days", lang): df["oldest_days"].astype(int),
    })


def list_frame(df: pd.DataFrame, lang: str, reveal: bool) -> pd.DataFrame:
    """The waiting records (approval_pending_list.sql), names masked unless ``reveal``."""
    names = df["name"] if reveal else df["name"].map(mask_name)
    return pd.DataFrame({
        t("approval.col.record_id", lang): df["record_id"],
        t("approval.col.date", lang): [fmt.date(d, lang) for d in df["date"]],
        t("approval.col.entered_on", lang): [fmt.date(d, lang) if pd.notna(d) else "—" for d in df["entered_on"]],
        t("approval.col.name", lang): names,
        t("approval.col.unit", lang): df["unit"],
        t("approval.col.community", lang): df["community"],
        t("approval.col.category", lang): df["category"],
        t("approval.col.hours", lang): [fmt.number(h, lang, 1) for h in df["hours"]],
        t("approval.col.status", lang): df["review_status"],
        t("approval.col.waiting_days", lang): df["waiting_days"].astype(int),
    })
