"""The 数据管理 page's logic: checking uploaded files, the tables it shows, importing on confirmation,
and the store's status. The page itself only lays these out."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import shlex
from pathlib import Path

import pandas as pd

from redservice import config, fmt, ingest, isolation, serving, storage
from redservice.ingest.parse import name_key
from redservice.filters import Filters
from redservice.i18n import t
from redservice.privacy import mask_name, mask_phone

STATUS_TABLES = ("communities", "compounds", "units", "branches", "members", "services", "service_households",
                 "wishes", "evaluations")
_PERSON_COLUMNS = {"name", "claimer"}
_PHONE_COLUMNS = {"phone"}


def writable(directory: str | Path) -> bool:
    """The bundled demo is never written to: import into a store of your own."""
    return Path(directory).resolve() != config.DEMO_DIR.resolve()


def fingerprint(files: list[tuple[str, bytes]], table: str | None, add_new: bool, version: str,
                county: str | None = None) -> str:
    h = hashlib.sha256(f"{table}|{add_new}|{version}|{county}".encode())
    for name, data in files:
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def county_choices(counties: tuple[str, ...], scope) -> list[str | None]:
    """The counties (区县) a viewer may import into, for a store holding ``counties`` (all of them):
    for a viewer whose role is limited to some counties (access.py ``counties``), only theirs, the
    store's or not yet (a county's first ledger), never 不限: such a viewer never imports another
    county's rows; for any other viewer none to choose from in a store of one county (it imports as
    it always did), else the store's counties after None (any county: the whole city's records
    read and written)."""
    if scope.counties is not None:
        return sorted(scope.counties)
    if len(counties) <= 1:
        return []
    return [None, *counties]


def check(directory: str | Path, files: list[tuple[str, bytes]], table: str | None = None,
          add_new: bool = False, mapping=None, lang: str = "zh", county: str | None = None) -> ingest.Batch:
    """Read and check the files against the store; writes nothing. The check runs in a child
    process (``redservice.isolation``) and each file is decoded in a grandchild with memory and time limits
    (``[import] parse_memory_mb``, ``parse_timeout_s``), so the server never holds what a file
    expands to, nor the store's rows it is checked against. The batch handed back is the report
    only (``_compact``), with its rejected rows as a workbook in ``lang``. ``mapping``: an unsaved
    column mapping to read them with (the mapping form's preview). ``county``: the county (区县) the
    files are imported into (``import --county``: rows of another county are rejected, and only that
    county's records are read and written); None: any. Raises ``ingest.ImportFailed`` when the child
    could not finish."""
    return isolation.call(f"{__name__}:_check_here", str(directory), files, table, add_new, mapping, lang, county)


def _check_here(directory: str, files, table, add_new, mapping, lang, county=None) -> ingest.Batch:
    batch = ingest.prepare(directory, [ingest.Source(name, data) for name, data in files], table=table,
                           add_new_names=add_new, mapping_name=mapping, isolate=True, county=county)
    return _compact(batch, lang)


def _compact(batch: ingest.Batch, lang: str) -> ingest.Batch:
    """What the page keeps of a batch in the session: the reports, with the rejected rows as the
    finished workbook in the page's language rather than millions of cells; not the store's rows,
    the files' bytes (the uploader holds them) or the archives."""
    batch.states, batch.archives, batch.sources = {}, [], []
    if batch.rejected:
        batch.rejected_workbooks = {lang: ingest.rejected_excel(batch.reports, lang)}
        for report in batch.reports:
            report.rejected_rows = []
    return batch


def rejected_workbook(batch: ingest.Batch, lang: str) -> bytes:
    """The 未导入的行 workbook of a checked batch (``check`` made it in the page's language)."""
    if lang in batch.rejected_workbooks:
        return batch.rejected_workbooks[lang]
    return next(iter(batch.rejected_workbooks.values()), None) or ingest.rejected_excel(batch.reports, lang)


# -- column mappings ---------------------------------------------------------------------------------
MAPPABLE_FATAL = ("no_header", "no_header_for", "aggregate_form", "mapping_no_match")


def needs_mapping(report) -> bool:
    """Whether the page offers the mapping form: a file with a header row whose columns are not all
    the template's (unknown or missing columns, or no recognisable header at all)."""
    if not any(c.strip() for c in report.header):
        return False
    if report.fatal:
        return report.fatal[0] in MAPPABLE_FATAL
    return bool(report.ignored_columns or report.missing_columns)


def mapping_headers(report) -> list[str]:
    return [c.strip() for c in report.header if c.strip()]


def mapping_guess(report, table: str, known: dict[str, set[str]] | None = None) -> dict[str, str | None]:
    from redservice.ingest import mapping

    headers = [c.strip() for c in report.header]
    guess = mapping.guess(headers, table, report.sample, known)
    return {h: guess.get(h) for h in mapping_headers(report)}


@functools.lru_cache(maxsize=len(ingest.ORDER))
def template(table: str) -> bytes:
    """A table's template workbook, made once per server. (Cached here, not in the page: a cached
    function defined in a page keeps that page's globals of its last run, uploads included, alive
    for as long as the server runs.)"""
    return ingest.template_xlsx(table)


@functools.lru_cache(maxsize=4)
def known_names_of(directory: str, version: str) -> dict[str, set[str]]:
    """``known_names`` of the store at ``version`` (cached per store version)."""
    return known_names(directory, config.settings(directory))


def known_names(directory: str | Path, settings: dict) -> dict[str, set[str]]:
    """The store's names in their compared form, by field (community, unit, category, name), for
    guessing what an unknown column holds."""
    import pyarrow.parquet as pq

    from redservice import storage
    from redservice.ingest.parse import name_key

    out: dict[str, set[str]] = {}
    for table, column, key in (("communities", "community", "community"), ("units", "unit", "unit"),
                               ("members", "name", "name")):
        file = storage.table_path(directory, table)
        if file.is_file():
            out[key] = {name_key(v) for v in pq.read_table(file, columns=[column]).column(0).to_pylist() if v}
    programme = settings.get("programme", {})
    out["category"] = {name_key(c) for key in ("liusong", "sanqing", "other_categories")
                       for c in programme.get(key, [])}
    return out


def field_options(table: str) -> list[str | None]:
    return [None, *(c.key for c in ingest.TEMPLATES[table].columns)]


def field_label(table: str, key: str | None, lang: str) -> str:
    if key is None:
        return t("mapping.ignore", lang)
    col = ingest.TEMPLATES[table].column(key)
    return col.header + ("（必填）" if col.required and lang == "zh" else " (required)" if col.required else "")


def make_mapping(name: str, table: str, report, chosen: dict[str, str | None], who: str = ""):
    from redservice.ingest import mapping

    return mapping.Mapping(name=name.strip() or "未命名", table=table, headers=list(report.header),
                           fields=dict(chosen), saved_by=who)


def default_mapping_name(report, table: str) -> str:
    return f"{ingest.TEMPLATES[table].name}（{Path(report.file).stem[:20]}）"


def try_mapping(directory, files, add_new: bool, candidate, lang: str) -> tuple[ingest.Batch | None, str | None]:
    """The batch the unsaved mapping gives for its file, or the reason it cannot be used."""
    from redservice.ingest import mapping

    try:
        mapping.validate(candidate)
    except mapping.MappingError as exc:
        return None, t(f"mapping.{exc.kind}", lang, **exc.params)
    try:
        return check(directory, files, None, add_new, candidate, lang), None
    except ingest.ImportFailed as exc:
        return None, exc.message(lang)


def save_mapping(directory, candidate, lang: str) -> str | None:
    """Save; None when saved, else the reason (in the page's language)."""
    from redservice.ingest import mapping

    try:
        mapping.save(directory, candidate)
    except mapping.MappingError as exc:
        return t(f"mapping.{exc.kind}", lang, **exc.params)
    return None


def import_batch(batch: ingest.Batch, files: list[tuple[str, bytes]], actor: str | None = None,
                 lang: str = "zh") -> tuple[ingest.Batch, str | None, bool]:
    """Import checked files (``batch``: their check; ``files``: the same files): in a child process
    (``redservice.isolation``), under the store's import queue (the command line's imports take turns with
    it), check the files again and commit them. If the store changed since the check, return the
    new check without writing (the user confirms again): (batch, generation, committed). Any other
    failure (a full disk, the file system) raises ``ingest.ImportFailed``, whose message says what
    happened and that nothing was changed."""
    directory = Path(batch.directory)
    if not writable(directory):
        raise ingest.RefusedStore(str(directory))  # before the queue's lock file is created in it
    # the county the files were checked for is the county they are imported into
    return isolation.call(f"{__name__}:_import_here", str(directory), files, batch.table_arg,
                          batch.add_new_names, batch.base_generation, actor, lang, batch.county)


def _import_here(directory: str, files, table, add_new, base_generation, actor, lang, county=None):
    from redservice.ingest import load

    sources = [ingest.Source(name, data) for name, data in files]
    try:
        with load.lock(Path(directory), load.QUEUE_FILE):
            fresh = ingest.prepare(directory, sources, table=table, add_new_names=add_new, isolate=True, county=county)
            if fresh.base_generation != base_generation:
                return _compact(fresh, lang), None, False
            try:
                generation = ingest.commit(fresh, actor)
            except ingest.StaleBatch:
                return _compact(fresh, lang), None, False
            return _compact(fresh, lang), generation, True
    except ingest.ImportFailed:
        raise
    except Exception as exc:
        raise ingest.ImportFailed.from_exception(exc) from exc


def report_view(report, lang: str) -> dict:
    """The texts the page shows for one file's report, escaped for Markdown: a file name, a header
    or a value such as ``![x](http://…)`` or ``**粗体**[链接](http://…)`` is shown as written, never
    rendered (no image fetched, no link)."""
    return {
        "title": fmt.md_escape(f"{report.file} · {table_label(report.table, lang)}"),
        "fatal": fmt.md_escape(report.fatal_reason(lang)) if report.fatal else None,
        "summary": fmt.md_escape(report.summary(lang)),
        "seen_before": fmt.md_escape(t("data.seen_before", lang, at=report.seen_before.replace("T", " ")))
        if report.seen_before else None,
        "notes": [fmt.md_escape(f"· {note}") for note in report.note_texts(lang)],
    }


def table_label(table: str | None, lang: str) -> str:
    return t(f"data.table.{table}", lang) if table else "—"


def summary_frame(batch: ingest.Batch, lang: str) -> pd.DataFrame:
    rows = []
    for r in batch.reports:
        if r.fatal:
            state = t("data.state.unreadable", lang)
        elif r.rejected:
            state = t("data.state.some_rejected", lang)
        else:
            state = t("data.state.ok", lang)
        rows.append({
            t("data.col.file", lang): r.file,
            t("data.col.table", lang): table_label(r.table, lang),
            t("data.col.rows_read", lang): r.rows_read,
            t("data.col.loaded", lang): r.loaded,
            t("data.col.updated", lang): r.updated,
            t("data.col.rejected", lang): r.rejected,
            t("data.col.skipped", lang): r.skipped_total,
            t("data.col.state", lang): state,
        })
    return pd.DataFrame(rows)


def kinds_frame(report, lang: str) -> pd.DataFrame:
    """The reasons grouped by kind: one row per kind, with the number of errors."""
    return pd.DataFrame(report.error_kinds(lang), columns=[t("data.col.kind", lang), t("data.col.count", lang)])


def skipped_frame(report, lang: str) -> pd.DataFrame:
    return pd.DataFrame([(t(f"data.skip.{k}", lang), report.skipped.get(k, 0)) for k in ingest.report.SKIP_KINDS],
                        columns=[t("data.col.kind", lang), t("data.col.count", lang)])


def errors_frame(report, lang: str, limit: int = 1000) -> pd.DataFrame:
    rows = [{t("data.col.row", lang): e.row, t("data.col.column", lang): e.column or "—",
             t("data.col.reason", lang): e.detail(lang)} for e in report.errors[:limit]]
    if any(e.sheet for e in report.errors[:limit]):
        for row, e in zip(rows, report.errors[:limit]):
            row[t("data.col.sheet", lang)] = e.sheet
    return pd.DataFrame(rows)


def preview_frame(report, lang: str, show_names: bool) -> pd.DataFrame:
    """The first rows as they will be stored, under the template's headers. Household codes appear
    only as a count; names and phones are masked unless the viewer may see them."""
    if not report.table or not report.preview:
        return pd.DataFrame()
    template = ingest.TEMPLATES[report.table]
    headers = {c.key: c.header for c in template.columns}
    headers["households"] = t("data.col.households", lang) if report.table == "services" else headers.get(
        "households", "households")
    rows = []
    for row in report.preview:
        shown = {}
        for key, value in row.items():
            if key not in headers:
                continue
            if not show_names and key in _PERSON_COLUMNS:
                value = mask_name(value)
            if not show_names and key in _PHONE_COLUMNS:
                value = mask_phone(value)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            shown[headers[key]] = "" if value is None else str(value)  # display only: blanks stay blank
        rows.append(shown)
    return pd.DataFrame(rows)


def status_frame(status: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Rows per table and the span of dates, labelled for the page."""
    out = []
    for _, r in status.iterrows():
        span = "—"
        if not fmt.missing(r["first_date"]):
            span = fmt.date_range(pd.Timestamp(r["first_date"]).date(), pd.Timestamp(r["last_date"]).date(), lang)
        out.append({t("data.col.table", lang): table_label(r["table_name"], lang),
                    t("data.col.rows", lang): int(r["row_count"]),
                    t("data.col.dates", lang): span})
    return pd.DataFrame(out)


def status_filters() -> Filters:
    """No dimension restriction: the status counts everything the viewer's scope allows."""
    today = dt.date.today()
    return Filters.make(dt.date(2000, 1, 1), today)


def history(directory: str | Path, limit: int = 50, counties=None) -> list[dict]:
    """The latest imports, newest first: the store's import log (``ingest.audit``), else — for a
    store written before the log existed — the summary kept in generation.json. ``counties``: a
    viewer limited to these sees the imports into them alone (import --county), not the city's."""
    from redservice import storage
    from redservice.ingest import audit

    if counties is not None:
        mine = {name_key(c) for c in counties}
        return [h for h in audit.read(directory)
                if isinstance(h.get("county"), str) and name_key(h["county"]) in mine][:limit]
    logged = audit.read(directory, limit)
    if logged:
        return logged
    return [{**h, "outcome": "committed"} for h in reversed(storage.read_pointer(directory).get("history", []))][:limit]


def history_frame(recent: list[dict], lang: str) -> pd.DataFrame:
    """The import log as the page shows it (a dataframe: text, never Markdown)."""
    def outcome(h):
        kind = (h.get("outcome") or "committed").split(":")[0]
        return t(f"data.outcome.{kind}", lang)

    counties = any(h.get("county") for h in recent)  # a city's store: the county each import was into
    return pd.DataFrame([{
        t("data.col.at", lang): (h.get("at") or "").replace("T", " "),
        t("data.col.who", lang): h.get("who") or "—",
        **({t("data.col.county", lang): h.get("county") or t("data.any_county", lang)} if counties else {}),
        t("data.col.file", lang): h.get("file"),
        t("data.col.table", lang): table_label(h.get("table"), lang),
        t("data.col.rows_read", lang): h.get("rows_read"),
        t("data.col.loaded", lang): h.get("loaded"),
        t("data.col.rejected", lang): h.get("rejected"),
        t("data.col.skipped", lang): h.get("skipped"),
        t("data.col.outcome", lang): outcome(h),
        t("data.col.sha256", lang): (h.get("sha256") or "")[:12],
    } for h in recent])


_SHELL_PLAIN = re.compile(r"[^\s'\"\\$`;&|<>()*?!#~{}\[\]]+")


def copy_notice(directory: str | Path, mode: str) -> tuple[str, dict] | None:
    """(catalogue key, values) of what the 数据管理 page says when the pages do not read the serving
    copy because it is stale (``mode`` "memory" while ``serving.duckdb`` exists: record files changed
    since it was built without an import, e.g. a county's system replaced them): the counties whose
    files changed, when only they did, and the command that brings the copy up to date. None when the
    copy is read, or there is none (the demo: built in memory on purpose)."""
    tables = storage.table_dir(directory)
    if mode != "memory" or not serving.path(tables).is_file():
        return None
    counties, _why = serving.changed_counties(tables)
    if counties:
        named = sorted(counties, key=lambda c: (c is None, c or ""))
        # quoted for the shell only where it needs it (a county's name is Chinese: as it is)
        option = " ".join("--county " + (c if _SHELL_PLAIN.fullmatch(c) else shlex.quote(c))
                          for c in named if c is not None)
        return "data.copy_stale_counties", {"counties": "、".join(c or "—" for c in named), "options": option}
    return "data.copy_stale", {}
