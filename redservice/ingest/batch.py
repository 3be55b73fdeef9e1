"""Preparing an import: read every file, recognise its table, parse and check every row against the
store, and decide for each row — loaded (new or updated), rejected (with reasons) or skipped
(blank, total, exact duplicate). Nothing is written here; ``load.commit`` writes a prepared batch.

Files are processed dimension tables first, then records, so a batch may bring its own 社区名录
together with the 服务台账 that refers to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from redservice import config, storage
from redservice.ingest import load, mapping
from redservice.ingest.parse import ParseError, name_key, parse, parse_date_range, split_people
from redservice.ingest.read import Limits, ReadError, read, read_isolated
from redservice.ingest.report import FileReport, RowError
from redservice.ingest.templates import HEADER_SCAN_ROWS, MULTI_NAME_HEADERS, ORDER, TEMPLATES, HeaderMatch, match_header, \
    normalise_header, table_of
from redservice.ingest.validate import Names, check_value
from redservice.privacy import household_hash
from redservice.schema import TABLES

PREVIEW_ROWS = 20
SAMPLE_ROWS = 20
# Headers of a statistics form's columns (在职党员总数, 已报到人数, 报到率): counts, not records
_AGGREGATE = re.compile(r"(人数|总数|数量|个数|次数|人次数|率|比例|占比|合计|小计)(\(.*\))?$")
_TOTAL = re.compile(r"^(合计|小计|总计|共计|总合计)[:：]?(\(.*\))?$")
KEYS = {
    "communities": ("community",), "compounds": ("compound", "community"), "units": ("unit",),
    "branches": ("branch",), "members": ("member_id",), "services": ("record_id",), "wishes": ("wish_id",),
    "evaluations": ("year", "member_id"),
}
# What makes a service record the record it is: a known 记录编号 offered with another member, date or
# community is another record, never an update of this one.
RECORD_IDENTITY = ("member_id", "date", "community")
# The one column a re-import of a known 记录编号 may change (data contract); empty stored values may be filled.
RECORD_MUTABLE = ("review_status",)
_COLUMNS = {t.table: {c.key: c for c in t.columns} for t in TEMPLATES.values()}
_LONG_KINDS = {"text", "households"}  # free text; every other field (names, codes, dates) is short
ENTITY_TABLE = {"community": "communities", "unit": "units", "branch": "branches", "compound": "compounds"}


@dataclass
class Source:
    """One file offered for import: its name as the user knows it and its bytes."""

    name: str
    data: bytes

    @classmethod
    def from_path(cls, path: str | Path) -> "Source":
        path = Path(path)
        return cls(path.name, path.read_bytes())


@dataclass
class TableState:
    """One table of the store being merged: its rows by key, and where each key was last offered."""

    table: str
    rows: dict = field(default_factory=dict)
    origin: dict = field(default_factory=dict)  # key -> (file, row) that set or matched it in this batch
    touched: bool = False
    changed: set = field(default_factory=set)  # keys of the rows this batch adds or updates
    scope: object = None  # the county whose records alone were read (a partitioned table), or ALL


@dataclass
class Batch:
    directory: Path
    reports: list[FileReport]
    states: dict[str, TableState]
    base_generation: str | None
    key: bytes
    key_is_new: bool
    archives: list[tuple[str, str, bytes]]  # (sha256, extension, raw bytes)
    sources: list = field(default_factory=list)
    table_arg: str | None = None
    add_new_names: bool = False
    rejected_workbooks: dict[str, bytes] = field(default_factory=dict)  # lang -> 未导入的行 (the page's copy)
    county: str | None = None  # import --county

    @property
    def records_scope(self):
        """The county whose records alone this batch holds (its partition is rewritten whole, the
        others kept), or ALL (the batch holds every record)."""
        state = self.states.get("services") if "services" in self.states else None
        return ALL if state is None else state.scope

    @property
    def fatal(self) -> bool:
        return any(r.fatal for r in self.reports)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.reports)

    @property
    def loaded(self) -> int:
        return sum(r.loaded for r in self.reports)

    def exit_code(self) -> int:
        return 2 if self.fatal else (1 if self.rejected else 0)

    def tables(self) -> dict[str, list[dict]]:
        """The complete new content of every table the batch changes."""
        out = {}
        for table, state in list(self.states.items()):
            if not state.touched:
                continue
            if table == "services":
                rows = list(state.rows.values())
                out["services"] = rows
                out["service_households"] = [
                    {"record_id": r["record_id"], "household": h} for r in rows for h in (r.get("households") or ())]
            else:
                out[table] = list(state.rows.values())
        return out


# -- the store as it is -------------------------------------------------------------------------------
ALL = object()  # every county's records


def _read_table(directory: Path, table: str, county=ALL) -> list[dict]:
    """The rows of a table of the current generation; of a partitioned table (the records), only
    those of ``county`` when one is given (None: the records of no county)."""
    import pyarrow.parquet as pq

    tables = storage.table_dir(directory)
    files = storage.table_files(tables, table)
    if county is not ALL and storage.is_partitioned(tables, table):
        one = storage.partition_files(tables, table).get(county)
        files = [one] if one else []
    rows: list[dict] = []
    for path in files:
        data = pq.read_table(path, partitioning=None)
        rows += data.select([c for c in TABLES[table] if c in data.column_names]).to_pylist()
    return rows


class _States(dict):
    """The store's tables as TableStates, read only when a batch needs them (a 服务台账 batch reads
    the services; a 社区名录 batch does not)."""

    def __init__(self, directory: Path, known: dict[str, list[dict]], scope_of=None):
        super().__init__()
        self.directory = directory
        self.known = known
        self.scope_of = scope_of or (lambda table: ALL)

    def __missing__(self, table: str) -> TableState:
        scope = self.scope_of(table) if table == "services" else ALL
        rows = self.known.get(table)
        if rows is None:
            rows = _read_table(self.directory, table, scope) if self.directory.is_dir() else []
        households: dict[str, list[str]] = {}
        if table == "services":
            for link in (_read_table(self.directory, "service_households", scope) if self.directory.is_dir() else []):
                households.setdefault(link["record_id"], []).append(link["household"])
        state = TableState(table, scope=scope)
        for row in rows:
            row = {c: row.get(c) for c in TABLES[table]}
            if table == "services":
                row["households"] = tuple(sorted(households.get(row["record_id"], ())))
            state.rows[tuple(row[k] for k in KEYS[table])] = row
        self[table] = state
        return state


def _foreign_records(directory: Path, county, ids: list[str]) -> dict[str, tuple[str | None, dict]]:
    """{record number: (county, record)} of the records of every county but ``county`` whose 记录编号
    is one of ``ids`` (or, for a record of several participants, ``<id>-<n>``)."""
    import duckdb

    tables = storage.table_dir(directory)
    files = [f for c, f in storage.partition_files(tables, "services").items() if c != county]
    if not files:
        return {}
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con.execute("CREATE TEMP TABLE ids AS SELECT UNNEST(CAST($ids AS VARCHAR[])) AS id", {"ids": ids})
        found = con.execute(
            f"SELECT record_id, date, name, unit, community, hours, filename FROM read_parquet([{listed}], "
            "union_by_name = true, filename = true) WHERE record_id IN (SELECT id FROM ids) "
            "OR regexp_replace(record_id, '-[0-9]+$', '') IN (SELECT id FROM ids)").fetchall()
    finally:
        con.close()
    out = {}
    for record_id, date, name, unit, community, hours, filename in found:
        other = storage.county_of_folder(Path(filename).parent.name)
        out[record_id] = (other, {"date": date, "name": name, "unit": unit, "community": community, "hours": hours})
    return out


def derive_member_id(name: str, unit: str) -> str:
    """A member without 党员编号 is known by 姓名 + 所属单位 (the same everywhere, every time)."""
    digest = hashlib.sha256(f"{name_key(name)}\x1f{name_key(unit)}".encode()).hexdigest()
    return "M" + digest[:15].upper()


def derive_record_id(parts: list) -> str:
    """A record without 记录编号 is known by its whole row (as written, normalised)."""
    text = json.dumps(parts, ensure_ascii=False, default=str, separators=(",", ":"))
    return "R" + hashlib.sha256(text.encode()).hexdigest()[:19].upper()


# -- one file -------------------------------------------------------------------------------------------
class FileJob:
    def __init__(self, source: Source, report: FileReport, sheets, match: HeaderMatch | None):
        self.source = source
        self.report = report
        self.sheets = sheets  # [(Sheet, HeaderMatch)]
        self.match = match


def _open(source: Source, table: str | None, limits: Limits, mappings: dict | None = None,
          named: str | None = None, reader=read) -> FileJob:
    report = FileReport(source.name, hashlib.sha256(source.data).hexdigest())
    try:
        book = reader(source.data, limits)
    except ReadError as exc:
        report.fatal = (exc.kind, exc.params)
        return FileJob(source, report, [], None)
    report.encoding = book.encoding
    report.notes.extend(book.notes)
    chosen: list = []
    first: HeaderMatch | None = None
    for sheet in book.sheets:
        match = match_header(sheet.rows, table or (first.table if first else None))
        if mappings:
            found = mapping.find(sheet.rows, mappings, named, (match.row_index, match.cells) if match else None)
            if found is not None:
                same = match is not None and found[1] == match.row_index
                match = mapping.apply(found[0], sheet.rows, found[1], match.cells if same else None)
            elif named:
                match = None
        if match is None or (first and match.table != first.table):
            if sheet.rows:
                report.ignored_sheets.append(sheet.name)
            continue
        first = first or match
        chosen.append((sheet, match))
    if not chosen and table is None:
        for sheet in book.sheets:
            for _, cells in sheet.rows[:HEADER_SCAN_ROWS]:
                aggregates = [c.strip() for c in cells if c.strip() and _AGGREGATE.search(normalise_header(c))]
                if len(aggregates) >= 2:
                    report.fatal = ("aggregate_form", {"columns": "、".join(aggregates[:5])})
                    return FileJob(source, report, [], None)
    if not chosen:
        report.header, report.sample = _widest_row(book.sheets)  # so that the page can offer a mapping
        if named:
            report.fatal = ("mapping_no_match", {"name": named})
            return FileJob(source, report, [], None)
        report.fatal = ("no_header", {"table": TEMPLATES[table].name} if table else {})
        if table:
            report.fatal = ("no_header_for", {"table": TEMPLATES[table].name})
        return FileJob(source, report, [], None)
    aggregates = [text for _, text in first.ignored if _AGGREGATE.search(normalise_header(text))]
    if table is None and first.table in ("communities", "units", "branches") and len(aggregates) >= 2:
        # a statistics form (a unit's counts of reported members) is no list of units: refuse it
        report.fatal = ("aggregate_form", {"columns": "、".join(aggregates[:5])})
        return FileJob(source, report, [], None)
    report.table = first.table
    report.sheets = [s.name for s, _ in chosen]
    report.header_row = first.row_number
    report.header = list(first.cells or chosen[0][0].rows[first.row_index][1])
    report.sample = [list(r) for _, r in chosen[0][0].rows[first.row_index + 1:first.row_index + 1 + SAMPLE_ROWS]]
    if first.header_rows > 1:
        report.notes.append(("header_block", {"first": first.row_number,
                                              "last": first.row_number + first.header_rows - 1}))
    template = first.template
    ignored = []
    for _, m in chosen:
        for index, text in m.ignored:
            if text not in ignored:
                ignored.append(text)
    report.ignored_columns = ignored
    report.missing_columns = [template.column(k).header for k in first.missing_required]
    if first.mapping:
        report.mapping = first.mapping
        report.notes.append(("mapping_used", {"name": first.mapping}))
    elif first.close is not None and table is None:
        report.notes.append(("close_table", {
            "table": template.name, "columns": "、".join([first.headers[k] for k in first.fields][:6]),
            "other": TEMPLATES[first.close.table].name, "other_columns": "、".join(first.close.headers[:6])}))
    merged = sum(s.merged for s, _ in chosen)
    if merged:
        report.notes.append(("merged", {"n": merged}))
    return FileJob(source, report, chosen, first)


class Importer:
    def __init__(self, directory: Path, add_new_names: bool, today: dt.date, settings: dict, key: bytes,
                 county: str | None = None):
        self.directory = directory
        self.county = county  # import --county: every row is of this county (None: any)
        self.foreign: dict[str, tuple[str | None, dict]] = {}  # record numbers of other counties' records
        self.add_new = add_new_names
        self.today = today
        self.settings = settings.get("import", {})
        self.grading = settings.get("evaluation", {})
        limits = Limits.from_settings(settings)
        self.limits = {True: limits.max_field_chars, False: limits.max_name_chars}  # by "is free text"
        self.key = key
        names = ("communities", "compounds", "units", "branches")
        known = {t: _read_table(directory, t) if directory.is_dir() else [] for t in names}
        self.known_counties = {t: {r[t[:-1] if t != "communities" else "community"]: r.get("county") for r in known[t]}
                               for t in ("communities", "units")}
        # the members whose names rows may refer to: with --county, those of the units that have a member
        # or a record there, of the county's units and of the city's (every member of such a unit, so that
        # a name is found unique or ambiguous as in the whole roster); the others when a row needs them
        self.member_units: set | None = None
        self._other_members = None
        members = self._members_of_county(directory) if county else None
        if members is None:
            known["members"] = _read_table(directory, "members") if directory.is_dir() else []
            members = known["members"]
        self.states = _States(directory, known, self.records_scope)  # members read whole if a batch changes them
        self.names = Names.from_tables({**known, "members": members})
        self._suggestions: dict = {}
        self._hashes: dict[str, str] = {}

    def _members_of_county(self, directory: Path):
        """The members of the county's units (see __init__), or None to read every member."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        tables = storage.table_dir(directory)
        path = tables / "members.parquet"
        if not directory.is_dir() or not storage.is_partitioned(tables, "services") or not path.is_file():
            return None
        data = pq.read_table(path, partitioning=None)
        data = data.select([c for c in TABLES["members"] if c in data.column_names])
        ours = [n for n, c in self.known_counties["communities"].items() if c is not None and name_key(c) == name_key(self.county)]
        units = {n for n, c in self.known_counties["units"].items() if c is None or name_key(c) == name_key(self.county)}
        units |= set(pc.unique(pc.filter(data.column("unit"), pc.is_in(data.column("community"), pa.array(ours, pa.string())))).to_pylist())
        part = storage.partition_files(tables, "services").get(self.county)
        if part is not None:
            units |= set(pc.unique(pq.read_table(part, columns=["unit"], partitioning=None).column("unit")).to_pylist())
        units.discard(None)
        mask = pc.fill_null(pc.is_in(data.column("unit"), pa.array(sorted(units), pa.string())), False)
        self.member_units = units
        self._other_members = data.filter(pc.invert(mask))
        return data.filter(mask).to_pylist()

    def all_members(self, unit=None) -> None:
        """Make every member known (a row names a member or a unit outside those read first)."""
        if self._other_members is None or (unit is not None and unit in self.member_units):
            return
        for row in self._other_members.to_pylist():
            self.names.add_member(row)
        self._other_members = None

    # -- helpers --------------------------------------------------------------------------------
    def suggest(self, entity, name, scope=None):
        key = (entity, name_key(name), scope)
        if key not in self._suggestions:
            self._suggestions[key] = self.names.suggest(entity, name, scope)
        return self._suggestions[key]

    def hash_household(self, code: str) -> str:
        h = self._hashes.get(code)
        if h is None:
            h = self._hashes[code] = household_hash(code, self.key)
        return h

    def add_name(self, report: FileReport, entity: str, name: str, **extra) -> None:
        table = ENTITY_TABLE[entity]
        state = self.states[table]
        row = {c: None for c in TABLES[table]}
        if entity == "community":
            row.update(community=name, county=self.county)
            self.names.add_community(name)
        elif entity == "unit":
            row.update(unit=name, county=self.county)
            self.names.add_unit(name)
        elif entity == "branch":
            row.update(branch=name, unit=extra.get("unit"))
            self.names.add_branch(name, extra.get("unit"))
        elif entity == "compound":
            row.update(compound=name, community=extra.get("community"))
            self.names.add_compound(name, extra.get("community"))
        key = tuple(row[k] for k in KEYS[table])
        if key not in state.rows:
            state.rows[key] = row
            state.touched = True
            state.changed.add(key)
            report.new_names.setdefault(entity, [])
            if name not in report.new_names[entity]:
                report.new_names[entity].append(name)

    def refer(self, report, errors, col, entity: str, value, scope=None):
        """The store's spelling of a name the row refers to; an error (with a suggestion) if unknown."""
        if value is None:
            return None
        if entity == "community":
            known = self.names.community(value)
        elif entity == "unit":
            known = self.names.unit(value)
        elif entity == "branch":
            found = self.names.branch(value)
            known = found[0] if found else None
        elif entity == "compound":
            known = self.names.compound(value, scope)
        else:
            raise KeyError(entity)
        if known is not None:
            return known
        if self.add_new and (entity != "compound" or scope):
            extra = {"unit": scope} if entity == "branch" else {"community": scope}
            self.add_name(report, entity, value, **extra)
            return value
        params = {"value": value, "suggestion": self.suggest(entity, value, scope)}
        if entity == "compound":
            params["community"] = scope or "—"
        errors.append((col, f"unknown_{entity}", params))
        return None

    # -- one county (import --county) ------------------------------------------------------------
    def county_of(self, entity: str, name) -> str | None:
        """The county (所属县) of a community or unit as the store holds it with this batch's lists."""
        if name is None:
            return None
        row = self.states[ENTITY_TABLE[entity]].rows.get((name,))
        return row.get("county") if row else None

    def lists_moved(self) -> bool:
        """True when this batch's lists give a community or unit the store knows another county: the
        records are then placed anew, every county's (see ``records_scope``)."""
        for table in ("communities", "units"):
            if table not in self.states:
                continue
            before = self.known_counties[table]
            for key in self.states[table].changed:
                name = key[0]
                if name in before and (before[name] or None) != (self.states[table].rows[key].get("county") or None):
                    return True
        return False

    def records_scope(self, table: str):
        """Which records a batch reads: with --county, only that county's partition of a store whose
        records are kept per county (storage.PARTITIONED), unless the batch moves names between
        counties; else every county's."""
        tables = storage.table_dir(self.directory)
        if (self.county is None or table not in storage.PARTITIONED or not self.directory.is_dir()
                or not storage.is_partitioned(tables, "services") or self.lists_moved()):
            return ALL
        return self.county

    def _same_county(self, value) -> bool:
        return value is not None and name_key(value) == name_key(self.county)

    def check_county(self, table: str, rows: list, present: set, errors: list) -> None:
        """import --county: a list row without 所属县 is of the county; any row the store would count
        in another county (a record: its 服务社区's county, else its unit's; as the pages count it)
        is rejected, naming the column."""
        county = self.county
        for row in rows:
            if table in ("communities", "units"):
                name_col = "community" if table == "communities" else "unit"
                given = row.get("county")
                if given is None:
                    row["county"] = county
                    present.add("county")
                elif not self._same_county(given):
                    errors.append((self._col(table, "county"), "other_county", {"value": given, "county": county}))
                    return
                else:
                    row["county"] = county
                stored = self.known_counties[table].get(row[name_col])
                if stored is not None and not self._same_county(stored):
                    errors.append((self._col(table, name_col), "listed_in_other_county",
                                   {"what": "社区" if table == "communities" else "单位", "value": row[name_col],
                                    "other": stored, "county": county}))
                    return
                continue
            # the county the row counts in, and the column that says so
            checks = {"services": (("community", "community"), ("unit", "unit")),
                      "members": (("community", "community"), ("unit", "unit")),
                      "wishes": (("community", "community"),), "evaluations": (("community", "community"),),
                      "compounds": (("community", "community"),), "branches": (("unit", "unit"),)}[table]
            found = None
            for column, entity in checks:
                other = self.county_of(entity, row.get(column))
                if other is not None:
                    found = (column, entity, other)
                    break
            if found is None:
                if table == "services":  # a record is kept in its county's files: it needs one
                    errors.append((self._col(table, "community"), "row_of_no_county",
                                   {"value": row.get("community"), "county": county}))
                    return
                continue
            column, entity, other = found
            if not self._same_county(other):
                errors.append((self._col(table, column), "row_in_other_county",
                               {"what": self._col(table, column).header, "value": row.get(column), "other": other,
                                "county": county}))
                return

    def find_foreign_records(self, job: FileJob) -> None:
        """With only one county's records read, the record numbers of this file that other counties'
        records already use (one query over their files' 记录编号), so that judge sees them."""
        state = self.states["services"]
        if state.scope is ALL:
            return
        ids = set()
        for sheet, match in job.sheets:
            column = match.fields.get("record_id", [None])[0]
            if column is None:
                continue
            for _, cells in sheet.rows[match.row_index + 1:]:
                if column < len(cells) and cells[column].strip():
                    try:
                        value = parse("code", cells[column].strip(), self.settings)
                    except ParseError:
                        continue
                    if value:
                        ids.add(value)
        if ids:
            self.foreign.update(_foreign_records(self.directory, state.scope, sorted(ids)))

    # -- the rows of one file --------------------------------------------------------------------
    def run(self, job: FileJob) -> None:
        report = job.report
        table = report.table
        template = TEMPLATES[table]
        state = self.states[table]
        if table == "services":
            _record_ids_of_activities(job)
            self.find_foreign_records(job)
        for sheet, match in job.sheets:
            sheet_label = sheet.name if len(job.sheets) > 1 else ""
            for number, cells in sheet.rows[match.row_index + 1:]:
                report.rows_read += 1
                self.row(report, template, state, match, sheet_label, number, cells)
        assert report.balanced, f"{report.file}: counts do not add up"

    def row(self, report, template, state, match, sheet, number, cells) -> None:
        if any(_TOTAL.match(name_key(c)) for c in cells if "计" in c):
            report.skipped["total"] += 1
            return
        raw: dict[str, str] = {}
        errors: list[tuple] = []
        for key, indices in match.fields.items():
            if len(indices) == 1:
                i = indices[0]
                raw[key] = cells[i].strip() if i < len(cells) else ""
                continue
            values = [cells[i].strip() for i in indices if i < len(cells) and cells[i].strip()]
            if template.column(key).kind == "text":
                # free text in two columns (微心愿名称 and 微心愿详细描述) is one text: joined, not a conflict
                raw[key] = "：".join(dict.fromkeys(values))
                continue
            if len({_comparable(template.column(key).kind, v, self.settings) for v in values}) > 1:
                errors.append((template.column(key), "conflict_columns", {"values": "、".join(values)}))
            raw[key] = values[0] if values else ""
        if not any(raw.values()):
            report.skipped["blank"] += 1
            return
        parsed: dict = {}
        derived = self.derived(template, match, raw, errors)
        for col in template.columns:
            if col.key in derived:
                parsed[col.key] = derived[col.key]
                continue
            if col.key not in match.fields:
                if col.required:
                    errors.append((col, "missing_column", {}))
                continue
            text = raw[col.key]
            if len(text) > self.limits[col.kind in _LONG_KINDS]:
                errors.append((col, "too_long", {"value": text, "limit": self.limits[col.kind in _LONG_KINDS]}))
                continue
            if "\ufffd" in text:
                errors.append((col, "garbled", {}))
                continue
            try:
                if col.key == "name" and template.table == "services":
                    value = self.people(match, text)
                    for name in value or ():
                        check_value(col.kind, name, text, self.today)
                else:
                    value = parse(col.kind, text, self.settings)
                    check_value(col.kind, value, text, self.today)
            except ParseError as exc:
                errors.append((col, exc.kind, exc.params))
                continue
            if value is None and col.required:
                errors.append((col, "required", {}))
            parsed[col.key] = value
        present = set(match.fields) | set(derived)
        self.filled = False
        if not errors:
            rows = getattr(self, f"resolve_{template.table}")(report, parsed, present, errors)
        if not errors and self.county is not None:
            self.check_county(template.table, rows if isinstance(rows, list) else [rows], present, errors)
        if errors:
            self.reject(report, sheet, number, cells, errors)
            return
        rows = rows if isinstance(rows, list) else [rows]
        where = (report.file, sheet, number)
        outcomes = []
        for row in rows:  # a row naming several participants is one record each: all land or none
            key = tuple(row[k] for k in KEYS[template.table])
            outcome = self.judge(state, key, row, present)
            if outcome[0] in ("conflict", "taken", "changed", "taken_elsewhere"):
                self.reject(report, sheet, number, cells, [self.conflict_error(template, match, report, key, row,
                                                                               outcome)])
                return
            outcomes.append((key, row, outcome))
        if all(o[0] == "duplicate" for _, _, o in outcomes):
            for key, _, _ in outcomes:
                state.origin.setdefault(key, where)
            report.skipped["duplicate"] += 1
            return
        report.loaded += 1
        if len(rows) > 1:
            report.counters["split_rows"] += 1
            report.counters["split_records"] += len(rows)
        if any(o[0] == "updated" for _, _, o in outcomes):
            report.updated += 1
        if self.filled:
            report.counters["branch_filled"] += 1
        if "hours" in derived:
            report.counters["hours_from_range"] += 1
        for key, row, outcome in outcomes:
            self.apply(state, key, row, present, where, outcome)
            self.after_load(template.table, state.rows[key])
            report.note_dates(state.rows[key])
            if len(report.preview) < PREVIEW_ROWS:
                shown = dict(state.rows[key])
                if "households" in shown and template.table == "services":
                    shown["households"] = len(shown["households"] or ())  # a count, never the codes
                report.preview.append(shown)

    def derived(self, template, match, raw, errors) -> dict:
        """Values a layout gives only implicitly: the hours of a record whose 活动日期 is a time range
        (2019-08-27 14:30 至 16:30) and which has no 服务时长 column."""
        if template.table != "services" or "hours" in match.fields or not raw.get("date"):
            return {}
        try:
            span = parse_date_range(raw["date"])
        except ParseError as exc:
            errors.append((template.column("date"), exc.kind, exc.params))
            return {}
        if span is None or span[1] is None:
            return {}
        try:
            check_value("hours", span[1], raw["date"], self.today)
        except ParseError as exc:
            errors.append((template.column("date"), exc.kind, exc.params))
            return {}
        return {"hours": span[1]}

    def people(self, match, text: str) -> list[str] | None:
        """The members a 服务台账 row names: one, or several in a participants column (参加党员)."""
        header = normalise_header(match.headers.get("name", "")) if match.headers else ""
        names = split_people(text, spaces=header in MULTI_NAME_HEADERS)
        return names or None

    def conflict_error(self, template, match, report, key, row, outcome):
        kind = outcome[0]
        if kind == "conflict":
            file, other_sheet, other_row = outcome[1]
            return (None, "key_conflict", {"other_file": "" if file == report.file else file,
                                           "other_sheet": other_sheet, "other_row": other_row,
                                           "keyname": _key_label(template, match.fields)})
        stored = outcome[1]
        col = template.column("record_id")
        if kind == "taken_elsewhere":
            return (col, "record_in_other_county", {"record": key[0], "other": outcome[1] or "—",
                                                     "stored": _record_text(outcome[2]), "row": _record_text(row)})
        if kind == "taken":
            return (col, "record_taken", {"record": key[0], "stored": _record_text(stored), "row": _record_text(row)})
        fields = "、".join(template.column(k).header for k in outcome[2])
        return (col, "record_changed", {"record": key[0], "fields": fields})

    def reject(self, report, sheet, number, cells, errors) -> None:
        report.rejected += 1
        row_errors = [RowError(number, col.header if col else "", kind, params, sheet) for col, kind, params in errors]
        report.errors.extend(row_errors)
        report.rejected_rows.append((sheet, number, list(cells), row_errors))

    def judge(self, state: TableState, key, row: dict, present: set):
        """What offering ``row`` under ``key`` would do, without doing it: new | updated | duplicate |
        conflict (another row of this batch) | taken (a stored record of another member, date or
        community) | changed (a stored record whose content other than 审核状态 differs). Columns the
        file lacks keep their stored values."""
        current = state.rows.get(key)
        if current is None and state.table == "services" and key[0] in self.foreign:
            return ("taken_elsewhere", *self.foreign[key[0]])
        if current is None:
            return ("new",)
        merged = dict(current)
        merged.update({k: v for k, v in row.items() if k in present})
        if key in state.origin:
            return ("duplicate",) if merged == current else ("conflict", state.origin[key])
        if merged == current:
            return ("duplicate",)
        if state.table == "services":
            if any(merged[k] != current[k] for k in RECORD_IDENTITY):
                return ("taken", current)
            changed = [k for k in merged if merged[k] != current[k] and k not in RECORD_MUTABLE
                       and current[k] not in (None, ())]
            if changed:
                return ("changed", current, changed)
        return ("updated",)

    def apply(self, state: TableState, key, row: dict, present: set, where, outcome) -> None:
        if outcome[0] == "new":
            state.rows[key] = {c: row.get(c) for c in row}
            state.touched = True
            state.changed.add(key)
        elif outcome[0] == "updated":
            merged = dict(state.rows[key])
            merged.update({k: v for k, v in row.items() if k in present})
            state.rows[key] = merged
            state.touched = True
            state.changed.add(key)
        state.origin.setdefault(key, where)

    def after_load(self, table: str, row: dict) -> None:
        if table == "communities":
            self.names.add_community(row["community"])
        elif table == "units":
            self.names.add_unit(row["unit"])
        elif table == "branches":
            self.names.add_branch(row["branch"], row["unit"])
        elif table == "compounds":
            self.names.add_compound(row["compound"], row["community"])
        elif table == "members":
            self.names.add_member(row)

    # -- per table: names, derived columns --------------------------------------------------------
    def _col(self, table, key):
        return _COLUMNS[table][key]

    def resolve_communities(self, report, p, present, errors):
        name = self.names.community(p["community"]) or p["community"]
        return {**{c: p.get(c) for c in TABLES["communities"]}, "community": name}

    def resolve_compounds(self, report, p, present, errors):
        community = self.refer(report, errors, self._col("compounds", "community"), "community", p["community"])
        name = self.names.compound(p["compound"], community) or p["compound"]
        return {**{c: p.get(c) for c in TABLES["compounds"]}, "compound": name, "community": community}

    def resolve_units(self, report, p, present, errors):
        paired = self.refer(report, errors, self._col("units", "paired_community"), "community",
                            p.get("paired_community"))
        name = self.names.unit(p["unit"]) or p["unit"]
        return {**{c: p.get(c) for c in TABLES["units"]}, "unit": name, "paired_community": paired}

    def resolve_branches(self, report, p, present, errors):
        unit = self.refer(report, errors, self._col("branches", "unit"), "unit", p["unit"])
        found = self.names.branch(p["branch"])
        return {**{c: p.get(c) for c in TABLES["branches"]}, "branch": found[0] if found else p["branch"],
                "unit": unit}

    def _member(self, report, table, p, unit, errors, add_new: bool):
        """member_id from 党员编号, else the one member called so in the unit, else derived."""
        col = self._col(table, "name")
        given = p.get("member_id")
        if given and given not in self.names.members:
            self.all_members()
        if not given:
            self.all_members(unit)
        if given:
            known = self.names.members.get(given)
            if table != "members" and known and known["name"] and name_key(known["name"]) != name_key(p["name"]):
                errors.append((self._col(table, "member_id"), "member_mismatch",
                               {"value": given, "name": known["name"], "unit": known["unit"] or "—"}))
            elif not known and (table == "evaluations" or (table == "services" and not self.add_new)):
                errors.append((self._col(table, "member_id"), "unknown_member_id", {"value": given}))
            return given, known
        ids = self.names.members_named(p["name"], unit)
        if len(ids) == 1:
            return ids[0], self.names.members[ids[0]]
        if len(ids) > 1:
            errors.append((col, "ambiguous_member", {"value": p["name"], "unit": unit, "n": len(ids)}))
            return None, None
        if not add_new:
            errors.append((col, "unknown_member", {"value": p["name"], "unit": unit,
                                                    "suggestion": self.suggest("member", p["name"], unit)}))
            return None, None
        return derive_member_id(p["name"], unit), None

    def resolve_members(self, report, p, present, errors):
        unit = self.refer(report, errors, self._col("members", "unit"), "unit", p["unit"])
        community = self.refer(report, errors, self._col("members", "community"), "community", p.get("community"))
        branch = self.refer(report, errors, self._col("members", "branch"), "branch", p.get("branch"), unit)
        compound = None
        if community:
            compound = self.refer(report, errors, self._col("members", "compound"), "compound",
                                  p.get("compound"), community)
        # 报到社区 and 报到日期 go together: both empty = on the roster, not yet reported
        if bool(p.get("community")) != bool(p.get("reported_on")) and \
                ("community" in present) == ("reported_on" in present):
            missing = "reported_on" if p.get("community") else "community"
            errors.append((self._col("members", missing), "report_pair", {}))
        elif "community" in present and "reported_on" not in present and p.get("community"):
            errors.append((self._col("members", "reported_on"), "missing_column", {}))
        self.check_choice(errors, "members", "roll_status", p.get("roll_status"), "roll_statuses")
        if p.get("left_on") and p.get("reported_on") and p["left_on"] < p["reported_on"]:
            errors.append((self._col("members", "left_on"), "date_order", {"later": "转出日期", "earlier": "报到日期"}))
        if errors:
            return None
        member_id, _ = self._member(report, "members", p, unit, errors, add_new=True)
        present.add("member_id")
        roll_status = p.get("roll_status")
        if roll_status is None and p.get("left_on"):
            roll_status = "转出"
            present.add("roll_status")
        return {**{c: p.get(c) for c in TABLES["members"]}, "member_id": member_id, "unit": unit,
                "community": community, "branch": branch, "compound": compound, "roll_status": roll_status}

    def resolve_services(self, report, p, present, errors):
        unit = self.refer(report, errors, self._col("services", "unit"), "unit", p["unit"])
        community = self.refer(report, errors, self._col("services", "community"), "community", p["community"])
        branch = self.refer(report, errors, self._col("services", "branch"), "branch", p.get("branch"), unit)
        compound = None
        if community:
            compound = self.refer(report, errors, self._col("services", "compound"), "compound",
                                  p.get("compound"), community)
        self.check_choice(errors, "services", "review_status", p.get("review_status"), "review_statuses")
        self.check_choice(errors, "services", "origin", p.get("origin"), "record_origins")
        if p.get("entered_on") and p["entered_on"] < p["date"]:
            errors.append((self._col("services", "entered_on"), "date_order",
                           {"later": "录入日期", "earlier": "服务日期"}))
        if errors:
            return None
        names = p["name"]
        if len(names) > 1 and p.get("member_id"):
            errors.append((self._col("services", "member_id"), "several_with_id", {"n": len(names)}))
            return None
        households = tuple(sorted({self.hash_household(c) for c in (p.get("households") or ())}))
        present.update({"record_id", "member_id"})
        rows = []
        for n, name in enumerate(names, start=1):
            one = {**p, "name": name}
            member_id, member = self._member(report, "services", one, unit, errors, add_new=self.add_new)
            if member_id is None:
                continue
            row_branch = branch
            if row_branch is None and member and member.get("branch"):
                row_branch = member["branch"]
                present.add("branch")
                self.filled = True
            given = p.get("record_id")
            if given and len(names) > 1:
                record_id = f"{given}-{n}"  # one record per participant, each as stable as the row's key
            else:
                record_id = given or derive_record_id([
                    p["date"], p.get("member_id"), name_key(name), name_key(p["unit"]),
                    name_key(p.get("branch") or ""), name_key(p["community"]), name_key(p.get("compound") or ""),
                    name_key(p["category"]), name_key(p.get("form") or ""), p.get("activity_id"), p.get("content"),
                    list(households), p.get("persons"), p["hours"], p.get("note")])
            rows.append({**{c: one.get(c) for c in TABLES["services"]}, "record_id": record_id,
                         "member_id": member_id, "unit": unit, "community": community, "branch": row_branch,
                         "compound": compound, "households": households})
        return None if errors else rows

    def check_choice(self, errors, table, key, value, setting) -> None:
        """A value of a closed list (审核状态, 记录来源, 在册状态, 评价等级) from configuration."""
        allowed = self.settings.get(setting) or []
        if value is None or not allowed or name_key(value) in {name_key(a) for a in allowed}:
            return
        errors.append((self._col(table, key), "not_in_list", {"value": value, "allowed": "、".join(allowed)}))

    def resolve_wishes(self, report, p, present, errors):
        community = self.refer(report, errors, self._col("wishes", "community"), "community", p["community"])
        compound = None
        if community:
            compound = self.refer(report, errors, self._col("wishes", "compound"), "compound",
                                  p.get("compound"), community)
        unit = self.refer(report, errors, self._col("wishes", "claim_unit"), "unit", p.get("claim_unit"))
        posted, claimed, done = p["posted_on"], p.get("claimed_on"), p.get("completed_on")
        if claimed and claimed < posted:
            errors.append((self._col("wishes", "claimed_on"), "date_order",
                           {"later": "认领日期", "earlier": "提出日期"}))
        if done and done < (claimed or posted):
            errors.append((self._col("wishes", "completed_on"), "date_order",
                           {"later": "办结日期", "earlier": "认领日期" if claimed else "提出日期"}))
        if errors:
            return None
        claim_member_id = claim_branch = None
        if p.get("claimer") and unit:
            self.all_members(unit)
            ids = self.names.members_named(p["claimer"], unit)
            if len(ids) == 1:
                claim_member_id = ids[0]
                claim_branch = self.names.members[ids[0]].get("branch")
        if "claimer" in present:
            present.update({"claim_member_id", "claim_branch"})
        return {**{c: p.get(c) for c in TABLES["wishes"]}, "community": community, "compound": compound,
                "claim_unit": unit, "claim_member_id": claim_member_id, "claim_branch": claim_branch}

    def resolve_evaluations(self, report, p, present, errors):
        unit = self.refer(report, errors, self._col("evaluations", "unit"), "unit", p["unit"])
        community = self.refer(report, errors, self._col("evaluations", "community"), "community", p["community"])
        grades = (self.grading.get("grades") or [])
        if p.get("grade") and grades and p["grade"] not in grades:
            errors.append((self._col("evaluations", "grade"), "not_in_list",
                           {"value": p["grade"], "allowed": "、".join(grades)}))
        if errors:
            return None
        member_id, _ = self._member(report, "evaluations", p, unit, errors, add_new=False)
        if errors:
            return None
        present.add("member_id")
        return {**{c: p.get(c) for c in TABLES["evaluations"]}, "member_id": member_id, "unit": unit,
                "community": community}


def _widest_row(sheets) -> tuple[list[str], list[list[str]]]:
    """The row with most filled cells among the first rows (a header we could not recognise) and
    the rows under it."""
    best: list[str] = []
    below: list[list[str]] = []
    for sheet in sheets:
        for index, (_, cells) in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
            if sum(1 for c in cells if c.strip()) > sum(1 for c in best if c.strip()):
                best = list(cells)
                below = [list(r) for _, r in sheet.rows[index + 1:index + 1 + SAMPLE_ROWS]]
    return best, below


def _record_ids_of_activities(job: FileJob) -> None:
    """A 编号 column that many participants share (an activity's number, as in a volunteer
    platform's activity record) is not a record key: when one value stands for different members
    in the file, the column is read as 活动编号 (or ignored when the file has one) and the report
    says so. Records are then known by their whole row; nothing is ever updated through it."""
    owners: dict[str, set] = {}
    shared = None
    for sheet, match in job.sheets:
        ids, names, units = (match.fields.get(k, [None])[0] for k in ("record_id", "name", "unit"))
        if ids is None:
            continue
        for _, cells in sheet.rows[match.row_index + 1:]:
            key = name_key(cells[ids]) if ids < len(cells) else ""
            if not key:
                continue
            who = tuple(name_key(cells[i]) if i is not None and i < len(cells) else "" for i in (names, units))
            people = owners.setdefault(key, set())
            people.add(who)
            if len(people) > 1 and shared is None:
                shared = (cells[ids].strip(), key)
    if shared is None:
        return
    header = job.sheets[0][1].headers.get("record_id", "")
    used_as = "ignored" if "activity_id" in job.sheets[0][1].fields else "activity"
    for _, match in job.sheets:
        column = match.fields.pop("record_id", None)
        if column is None:
            continue
        if used_as == "activity":
            match.fields["activity_id"] = column
            match.headers["activity_id"] = header
        else:
            match.ignored.extend((i, header) for i in column)
    job.report.notes.append((f"key_is_{used_as}", {"header": header, "value": shared[0], "n": len(owners[shared[1]])}))


def _record_text(row: dict) -> str:
    """A service record as a person identifies it: 2025-03-01 张三（县住建局） 河阳社区 2小时."""
    date = row.get("date")
    hours = row.get("hours")
    hours_text = f"{hours:g}小时" if isinstance(hours, (int, float)) else ""
    return f"{date.isoformat() if date else '—'} {row.get('name') or '—'}（{row.get('unit') or '—'}） " \
           f"{row.get('community') or '—'} {hours_text}".strip()


def _comparable(kind: str, text: str, settings: dict):
    """What two cells of the same field are compared by: their parsed value where they parse."""
    try:
        value = parse(kind, text, settings)
        return tuple(value) if isinstance(value, list) else value
    except ParseError:
        return name_key(text)


def _key_label(template, fields) -> str:
    keys = [k for k in KEYS[template.table] if k in fields]
    if template.table == "members" and not keys:
        return "姓名、所属单位"
    return "、".join(template.column(k).header for k in keys) or template.name


# -- the batch --------------------------------------------------------------------------------------------
def prepare(directory: str | Path, sources: list[Source], table: str | None = None,
            add_new_names: bool = False, today: dt.date | None = None,
            mapping_name: str | mapping.Mapping | None = None, isolate: bool = False,
            county: str | None = None) -> Batch:
    """Read, check and merge every file in memory; returns the batch with one report per file.
    ``mapping_name``: a saved column mapping to read every file with (or a Mapping not yet saved,
    to preview it); saved mappings apply by themselves to files whose header is theirs.
    ``isolate``: decode each file in a child process with memory and time limits (the web page).
    ``county``: every row is of this county (所属县（市、区）): the lists' rows without one get it, rows
    the store would count in another county are rejected, and of a store whose records are kept per
    county only that county's records are read (and written by ``commit``)."""
    county = (county or "").strip() or None
    directory = Path(directory).expanduser().resolve()
    if table is not None and table_of(table) is None:
        raise ValueError(f"unknown table {table!r}")
    table = table_of(table) if table else None
    mappings = mapping.load(directory)
    named = None
    if isinstance(mapping_name, mapping.Mapping):
        mappings, named = {mapping_name.name: mapping_name}, mapping_name.name
    elif mapping_name:
        if mapping_name not in mappings:
            raise mapping.MappingError("unknown", name=mapping_name, names="、".join(mappings) or "—")
        named = mapping_name
    if named:
        table = None
    settings = config.settings(directory)
    limits = Limits.from_settings(settings)
    key, key_is_new = load.peek_key(directory)
    pointer = storage.read_pointer(directory)
    history = {h.get("sha256"): h for h in pointer.get("history", [])}
    jobs = [_open(s, table, limits, mappings, named, read_isolated if isolate else read) for s in sources]
    jobs.sort(key=lambda j: ORDER.index(j.report.table) if j.report.table else len(ORDER))
    importer = Importer(directory, add_new_names, today or dt.date.today(), settings, key, county)
    archives = []
    for job in jobs:
        report = job.report
        if report.sha256 in history:
            report.seen_before = history[report.sha256].get("at")
        if report.fatal:
            continue
        importer.run(job)
        filled = report.counters.get("branch_filled")
        if filled:
            report.notes.append(("branch_filled", {"n": filled}))
        if report.counters.get("split_rows"):
            report.notes.append(("split_people", {"rows": report.counters["split_rows"],
                                                  "records": report.counters["split_records"]}))
        if report.counters.get("hours_from_range"):
            report.notes.append(("hours_from_range", {"n": report.counters["hours_from_range"]}))
        # a required column the layout gives otherwise (服务时长 from the activity's time range) is not missing
        lacking = {e.column for e in report.errors if e.kind == "missing_column"}
        report.missing_columns = [c for c in report.missing_columns if c in lacking]
        if report.missing_columns:
            report.notes.append(("missing_columns", {"columns": "、".join(report.missing_columns)}))
        if report.ignored_columns:
            report.notes.append(("ignored_columns", {"columns": "、".join(report.ignored_columns)}))
        if report.ignored_sheets:
            report.notes.append(("ignored_sheets", {"sheets": "、".join(report.ignored_sheets)}))
        for entity, names in report.new_names.items():
            report.notes.append((f"new_{entity}", {"n": len(names), "names": "、".join(names[:10])}))
        archives.append((report.sha256, Path(job.source.name).suffix.lower() or ".bin", job.source.data))
    return Batch(directory, [j.report for j in jobs], importer.states, pointer.get("generation"), key,
                 key_is_new, archives, list(sources), table, add_new_names, county=county)
