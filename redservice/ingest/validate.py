"""The rules of import (data contract): dates real, not in the future and not before 2000; hours
> 0 and ≤ 24; counts whole and ≥ 0; names the store knows — else the closest known name is
suggested (rapidfuzz; an abbreviation whose characters appear in order in a known name, such as
县住建局 in 平陆县住房和城乡建设管理局, ranks first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from redservice.ingest.parse import ParseError, name_key

EARLIEST = dt.date(2000, 1, 1)
MIN_SUGGEST_SCORE = 60
MAX_SUGGEST_CHARS = 100  # names longer than this get no suggestion


def check_value(kind: str, value, raw: str, today: dt.date) -> None:
    """Raise ParseError when a parsed value breaks a rule of its kind."""
    if value is None:
        return
    if kind == "date":
        shown = raw.strip()
        if value > today:
            raise ParseError("future_date", value=shown, date=value.isoformat())
        if value < EARLIEST:
            raise ParseError("too_old", value=shown, date=value.isoformat())
    elif kind == "hours":
        if not 0 < value <= 24:
            raise ParseError("hours_range", value=raw.strip())
    elif kind == "year":
        if not EARLIEST.year <= value <= today.year:
            raise ParseError("year_range", value=raw.strip(), max=today.year)
    elif kind == "count":
        if value < 0:
            raise ParseError("negative", value=raw.strip())
    elif kind == "lon":
        if not -180 <= value <= 180:
            raise ParseError("lon_range", value=raw.strip())
    elif kind == "lat":
        if not -90 <= value <= 90:
            raise ParseError("lat_range", value=raw.strip())
    elif kind == "satisfaction":
        if not 1 <= value <= 5:
            raise ParseError("satisfaction_range", value=raw.strip())


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def closest(name: str, known: list[str]) -> str | None:
    """The known name most like ``name``, or None when nothing is close."""
    if not known or len(name) > MAX_SUGGEST_CHARS:
        return None  # no known name is like a 5,000-character one; comparing would only cost time
    key = name_key(name)
    keys = {name_key(k): k for k in known}
    if len(key) >= 2:
        abbreviations = [k for k in keys if len(k) >= 2 and (_subsequence(key, k) or _subsequence(k, key))]
        if abbreviations:
            best = max(abbreviations, key=lambda k: (fuzz.WRatio(key, k), -abs(len(k) - len(key))))
            return keys[best]
    found = process.extractOne(key, list(keys), scorer=fuzz.WRatio, score_cutoff=MIN_SUGGEST_SCORE)
    return keys[found[0]] if found else None


@dataclass
class Names:
    """The names a batch may refer to: the store's, plus those loaded earlier in the same batch."""

    communities: dict[str, str] = field(default_factory=dict)  # key -> name
    units: dict[str, str] = field(default_factory=dict)
    branches: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # key -> (branch, unit)
    compounds: dict[tuple[str, str], str] = field(default_factory=dict)  # (key, community) -> name
    members: dict[str, dict] = field(default_factory=dict)  # member_id -> member row
    member_index: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (name key, unit) -> ids

    @classmethod
    def from_tables(cls, tables: dict) -> "Names":
        names = cls()
        for row in tables.get("communities", []):
            names.add_community(row["community"])
        for row in tables.get("units", []):
            names.add_unit(row["unit"])
        for row in tables.get("branches", []):
            names.add_branch(row["branch"], row.get("unit"))
        for row in tables.get("compounds", []):
            names.add_compound(row["compound"], row["community"])
        for row in tables.get("members", []):
            names.add_member(row)
        return names

    # -- adding ---------------------------------------------------------------------------------
    def add_community(self, name):
        if name:
            self.communities.setdefault(name_key(name), name)

    def add_unit(self, name):
        if name:
            self.units.setdefault(name_key(name), name)

    def add_branch(self, name, unit):
        if name:
            self.branches[name_key(name)] = (self.branches.get(name_key(name), (name,))[0], unit)

    def add_compound(self, name, community):
        if name and community:
            self.compounds.setdefault((name_key(name), community), name)

    def add_member(self, row: dict):
        mid = row.get("member_id")
        if not mid:
            return
        if mid in self.members:
            old = self.members[mid]
            ids = self.member_index.get((name_key(old["name"] or ""), old["unit"]), [])
            if mid in ids:
                ids.remove(mid)
        self.members[mid] = {k: row.get(k) for k in ("member_id", "name", "unit", "branch")}
        self.member_index.setdefault((name_key(row.get("name") or ""), row.get("unit")), []).append(mid)

    # -- looking up -----------------------------------------------------------------------------
    def community(self, name: str) -> str | None:
        return self.communities.get(name_key(name))

    def unit(self, name: str) -> str | None:
        return self.units.get(name_key(name))

    def branch(self, name: str) -> tuple[str, str | None] | None:
        return self.branches.get(name_key(name))

    def compound(self, name: str, community: str | None) -> str | None:
        return self.compounds.get((name_key(name), community))

    def members_named(self, name: str, unit: str | None) -> list[str]:
        return list(self.member_index.get((name_key(name), unit), []))

    def suggest(self, entity: str, name: str, scope: str | None = None) -> str | None:
        if entity == "community":
            return closest(name, list(self.communities.values()))
        if entity == "unit":
            return closest(name, list(self.units.values()))
        if entity == "branch":
            pool = [b for b, u in self.branches.values() if scope is None or u == scope]
            return closest(name, pool or [b for b, _ in self.branches.values()])
        if entity == "compound":
            return closest(name, [n for (_, c), n in self.compounds.items() if c == scope])
        if entity == "member":
            return closest(name, [m["name"] for m in self.members.values() if m["unit"] == scope and m["name"]])
        raise KeyError(entity)
