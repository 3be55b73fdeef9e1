"""The benchmark's baseline: the same figures the way a typical Streamlit app computes them.

The records are read once into memory with ``pandas.read_parquet`` (households joined to their
service record once, at load), then every interaction filters and groups them with pandas: boolean
masks, ``groupby``, exact ``nunique``. No rollup, no index, no cache of answers. Each function
returns what the query of the same name in ``queries/`` returns, so the two can be compared number
for number (``tests/test_bench.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from redservice.filters import EVERYTHING, Filters, Scope
from redservice.schema import TABLES, parquet_name

# (filter dimension, column) for each table; scope dimensions map like units / communities.
_SERVICE_COLS = {"units": "unit", "branches": "branch", "communities": "community", "categories": "category",
                 "forms": "form"}
_MEMBER_COLS = {"units": "unit", "branches": "branch", "communities": "community"}
_WISH_COLS = {"units": "claim_unit", "branches": "claim_branch", "communities": "community"}


@dataclass
class Frames:
    members: pd.DataFrame
    services: pd.DataFrame
    households: pd.DataFrame  # one row per (service record, household): the record's columns + household
    wishes: pd.DataFrame
    communities: pd.DataFrame
    uncounted: pd.DataFrame  # the records that do not count (审核状态 not in [approval] counted)


# The columns the figures need (a careful app reads no more: names, phones, texts stay on disk).
COLUMNS = {
    "members": ["member_id", "unit", "branch", "community", "reported_on"],
    "services": ["record_id", "date", "member_id", "unit", "branch", "community", "category", "form",
                 "activity_id", "persons", "hours", "review_status"],
    "service_households": ["record_id", "household"],
    "wishes": ["community", "claim_unit", "claim_branch", "posted_on", "claimed_on", "completed_on"],
    "communities": ["community", "households", "county"],
}


def _read(directory: Path, table: str) -> pd.DataFrame:
    path = directory / parquet_name(table)
    columns = COLUMNS[table]
    if path.is_file():
        import pyarrow.parquet as pq

        have = set(pq.read_schema(path).names)  # a column a file predates is empty (as in the serving copy)
        df = pd.read_parquet(path, columns=[c for c in columns if c in have])
        for col in columns:
            if col not in have:
                df[col] = None
    else:
        df = pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    for col in columns:
        if TABLES[table][col] == "DATE":
            df[col] = pd.to_datetime(df[col])
    return df


def load(directory: str | Path) -> Frames:
    """Read the store's records into memory, as an app would at start-up."""
    directory = Path(directory)
    services = _read(directory, "services")
    # only the records that count ([approval] counted, or no 审核状态), as the serving copy marks them
    from redservice import approval, config

    counted = approval.counted(config.settings(directory))
    keep = (services["review_status"].isna() | services["review_status"].isin(counted)).to_numpy()
    uncounted = services[~keep].drop(columns="record_id")
    services = services[keep].drop(columns="review_status")
    links = _read(directory, "service_households")
    households = links.merge(
        services[["record_id", "date", "unit", "branch", "community", "category", "form"]], on="record_id")
    return Frames(members=_read(directory, "members"), services=services.drop(columns="record_id"),
                  households=households.drop(columns="record_id"), wishes=_read(directory, "wishes"),
                  communities=_read(directory, "communities"), uncounted=uncounted)


def _mask(df: pd.DataFrame, columns: dict[str, str], filters: Filters | None, scope: Scope) -> np.ndarray:
    keep = np.ones(len(df), dtype=bool)
    chosen = {d: getattr(filters, d) for d in columns} if filters else {}
    chosen["scope_units"] = scope.units
    chosen["scope_communities"] = scope.communities
    for dim, values in chosen.items():
        if values is None:
            continue
        col = columns[dim] if dim in columns else columns[dim.removeprefix("scope_")]
        keep &= df[col].isin(list(values)).to_numpy()
    return keep


def _between(series: pd.Series, start: dt.date, end: dt.date) -> np.ndarray:
    return ((series >= pd.Timestamp(start)) & (series <= pd.Timestamp(end))).to_numpy()


def _selection(data: Frames, filters: Filters | None, scope: Scope):
    members = data.members[_mask(data.members, _MEMBER_COLS, filters, scope)]
    services = data.services[_mask(data.services, _SERVICE_COLS, filters, scope)]
    households = data.households[_mask(data.households, _SERVICE_COLS, filters, scope)]
    wishes = data.wishes[_mask(data.wishes, _WISH_COLS, filters, scope)]
    return members, services, households, wishes


def kpis(data: Frames, filters: Filters, scope: Scope = EVERYTHING) -> pd.DataFrame:
    members, services, households, wishes = _selection(data, filters, scope)
    start, end = filters.start, filters.end
    reported = members[(members["reported_on"] <= pd.Timestamp(end)).to_numpy()]
    svc = services[_between(services["date"], start, end)]
    served = svc["member_id"].dropna().unique()
    n_members = len(reported)
    active = int(reported["member_id"].isin(served).sum())
    row = {
        "branches": reported["branch"].nunique(),
        "members": n_members,
        "communities": reported["community"].nunique(),
        "hours": float(svc["hours"].sum()),
        "households": households.loc[_between(households["date"], start, end), "household"].nunique(),
        "persons_served": int(svc["persons"].sum()),
        "wishes_claimed": int(_between(wishes["claimed_on"], start, end).sum()),
        "wishes_completed": int(_between(wishes["completed_on"], start, end).sum()),
        "activities": svc["activity_id"].nunique(),
        "activity_persons": int(svc.loc[svc["activity_id"].notna(), "persons"].sum()),
        "active_members": active,
        "participation_rate": active / n_members if n_members else None,
    }
    return pd.DataFrame([row])


def monthly_trend(data: Frames, filters: Filters, scope: Scope = EVERYTHING) -> pd.DataFrame:
    _, services, _, _ = _selection(data, filters, scope)
    svc = services[_between(services["date"], filters.start, filters.end)]
    month = svc["date"].dt.to_period("M").dt.to_timestamp()
    out = svc.groupby(month).agg(hours=("hours", "sum"), persons=("persons", "sum"), records=("date", "size"))
    out.index.name = "month"
    return out.reset_index().sort_values("month", ignore_index=True)


def community_summary(data: Frames, filters: Filters, scope: Scope = EVERYTHING) -> pd.DataFrame:
    members, services, households, wishes = _selection(data, filters, scope)
    start, end = filters.start, filters.end
    reported = members[(members["reported_on"] <= pd.Timestamp(end)).to_numpy()]
    svc = services[_between(services["date"], start, end)]
    hh = households[_between(households["date"], start, end)]
    completed = wishes["completed_on"]
    open_wishes = wishes[((wishes["posted_on"] <= pd.Timestamp(end))
                          & (completed.isna() | (completed > pd.Timestamp(end)))).to_numpy()]
    out = data.communities[["community", "households"]].rename(columns={"households": "households_total"})
    if filters.communities is not None:
        out = out[out["community"].isin(list(filters.communities))]
    if scope.communities is not None:
        out = out[out["community"].isin(list(scope.communities))]
    out = out.merge(reported.groupby("community").size().rename("members"), how="left",
                    left_on="community", right_index=True)
    sums = svc.groupby("community").agg(hours=("hours", "sum"), persons=("persons", "sum"),
                                        records=("date", "size"))
    out = out.merge(sums, how="left", left_on="community", right_index=True)
    out = out.merge(hh.groupby("community")["household"].nunique().rename("households_reached"),
                    how="left", left_on="community", right_index=True)
    for col in ("members", "hours", "persons", "records", "households_reached"):
        out[col] = out[col].fillna(0)
    total = out["households_total"].astype("float64")
    out["coverage"] = np.where(total.isna() | (total == 0), np.nan, out["households_reached"] / total)
    out = out.merge(open_wishes.groupby("community").size().rename("open_wishes"), how="left",
                    left_on="community", right_index=True)
    out["open_wishes"] = out["open_wishes"].fillna(0)
    return out.sort_values(["hours", "community"], ascending=[False, True], ignore_index=True)


def unit_summary(data: Frames, filters: Filters, scope: Scope = EVERYTHING) -> pd.DataFrame:
    members, services, _, _ = _selection(data, filters, scope)
    reported = members[(members["reported_on"] <= pd.Timestamp(filters.end)).to_numpy()]
    svc = services[_between(services["date"], filters.start, filters.end)]
    counts = reported.groupby("unit").size().rename("members")
    sums = svc.groupby("unit").agg(active_members=("member_id", "nunique"), hours=("hours", "sum"),
                                   persons=("persons", "sum"))
    out = pd.concat([counts, sums], axis=1).fillna(0)
    out.index.name = "unit"
    out = out.reset_index()[["unit", "members", "active_members", "hours", "persons"]]
    if reported["unit"].isna().any() or svc["unit"].isna().any():
        # SQL keeps one row for records without a unit; its figures join nothing: zeros
        blank = pd.DataFrame([{"unit": None, "members": 0, "active_members": 0, "hours": 0.0, "persons": 0}])
        out = pd.concat([out, blank], ignore_index=True)
    return out.sort_values(["hours", "unit"], ascending=[False, True], ignore_index=True)


def data_range(data: Frames, filters: Filters | None = None, scope: Scope = EVERYTHING) -> pd.DataFrame:
    _, services, _, _ = _selection(data, filters, scope)
    dates = services["date"]
    return pd.DataFrame([{"first_date": dates.min() if len(dates) else None,
                          "last_date": dates.max() if len(dates) else None, "records": len(services)}])


def filter_options(data: Frames, filters: Filters | None = None, scope: Scope = EVERYTHING) -> pd.DataFrame:
    members, services, _, _ = _selection(data, filters, scope)
    rows = set()
    for df in (members, services):
        rows |= {("unit", u, None) for u in df["unit"].unique()}
        known = df[df["branch"].notna()]
        rows |= set(zip(["branch"] * len(known), known["branch"], known["unit"]))
    for dim in ("category", "form"):
        rows |= {(dim, v, None) for v in services[dim].dropna().unique()}
    communities = data.communities["community"]
    if scope.communities is not None:
        communities = communities[communities.isin(list(scope.communities))]
    rows |= {("community", c, None) for c in communities}
    if "county" in data.communities:  # 区县: the counties the community list names
        rows |= {("county", c, None) for c in data.communities["county"].dropna().unique()}
    clean = [tuple(None if (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v for v in r) for r in rows]
    out = pd.DataFrame(sorted(set(clean), key=lambda r: (r[0], r[1] is None, r[1] or "", r[2] is None, r[2] or "")),
                       columns=["dimension", "value", "parent"])
    return out


def approval_period(data: Frames, filters: Filters, scope: Scope = EVERYTHING,
                    pending: list[str] | None = None) -> pd.DataFrame:
    svc = data.uncounted[_mask(data.uncounted, _SERVICE_COLS, filters, scope)]
    svc = svc[_between(svc["date"], filters.start, filters.end)]
    waiting = svc["review_status"].isin(list(pending or [])).to_numpy()
    return pd.DataFrame([{"pending": int(waiting.sum()), "pending_hours": float(svc["hours"][waiting].sum()),
                          "other": int((~waiting).sum())}])


QUERIES = {
    "kpis": kpis,
    "monthly_trend": monthly_trend,
    "community_summary": community_summary,
    "unit_summary": unit_summary,
    "data_range": data_range,
    "filter_options": filter_options,
    "approval_period": approval_period,
}
# the queries that take parameters beyond the filters, and which
EXTRA = {"approval_period": {"pending"}}


def supports(name: str, filters: Filters | None = None, extra: dict | None = None) -> bool:
    """Whether this baseline has the query (with these arguments)."""
    return (name in QUERIES and set(extra or {}) <= EXTRA.get(name, set())
            and (filters is not None or name in ("data_range", "filter_options"))
            and (filters is None or filters.counties is None))  # no 区县 filter here (yet)


def query(data: Frames, name: str, filters: Filters | None = None, scope: Scope = EVERYTHING,
          **extra) -> pd.DataFrame:
    """The pandas equivalent of ``Store.query`` for the queries in QUERIES (KeyError otherwise)."""
    if not supports(name, filters, extra):
        raise KeyError(f"no pandas baseline for {name} with parameters {sorted(extra)}")
    return QUERIES[name](data, filters, scope, **extra)
