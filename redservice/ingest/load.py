"""Writing a prepared batch into the store, all or nothing.

1. Under an exclusive lock, finish or discard what an interrupted import left behind (``recover``).
2. Write every table of the new generation into ``.staging/<id>/tables/`` with
   ``parquet_io.write_table`` (tables the batch does not change are hard-linked, not copied), and the
   raw files, encrypted, into ``.staging/<id>/archive/``; fsync them.
3. Rename the staged tables to ``tables/<id>/`` (still invisible: nothing points at it).
4. Replace ``generation.json`` with one naming ``<id>`` — the commit point, a single ``os.replace``.
5. Move the archived files into ``archive/``; delete the staging directory and generations older
   than the previous one.

A kill before step 4 leaves ``generation.json`` — hence the store — exactly as it was; ``recover``
later deletes the orphaned staging and table directories. A kill after step 4 leaves the new
generation complete; ``recover`` finishes step 5. Readers (``Store``) follow ``generation.json``.

Raw files are archived by content hash (SHA-256 of the bytes as uploaded). They may hold household
codes in the clear, so they are encrypted (Fernet) with a key derived from the store's household
key: the archive exposes no more than the keyed hashes do.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import errno
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
from pathlib import Path

from redservice import serving, storage
from redservice.ingest import audit
from redservice.parquet_io import write_arrow, write_table
from redservice.privacy import KEY_ENV, KEY_FILE
from redservice.schema import TABLES, parquet_name

STAGING_DIR = ".staging"
ARCHIVE_DIR = "archive"
LOCK_FILE = ".import.lock"
QUEUE_FILE = ".import.queue"  # held from prepare to commit by ``run``: imports take turns
SPACE_MARGIN = 32 * 1024 * 1024  # free space kept beyond the estimate of what an import writes
HISTORY_LIMIT = 500
LEGACY_ROLLUP = "household_facts"  # a derived file older stores kept at the top level


class StaleBatch(RuntimeError):
    """The store changed between preparing a batch and committing it: prepare it again."""


class RefusedStore(RuntimeError):
    """The target may not be written to (the bundled demo)."""


class ImportFailed(RuntimeError):
    """An import could not be written for a reason of the machine, not of the files (a full disk,
    a name the file system refuses, the store changing under every attempt). Nothing was changed:
    the staging files are gone. ``kind`` names a catalogue message (``ingest.internal.<kind>``)."""

    def __init__(self, kind: str, **params):
        super().__init__(kind, params)
        self.kind = kind
        self.params = params

    def message(self, lang: str = "zh") -> str:
        from redservice.i18n import t

        return t(f"ingest.internal.{self.kind}", lang, **self.params) + t("ingest.internal.unchanged", lang)

    @classmethod
    def from_exception(cls, exc: BaseException) -> "ImportFailed":
        if isinstance(exc, ImportFailed):
            return exc
        if isinstance(exc, StaleBatch):
            return cls("stale", detail=str(exc)[:200], attempts=1)
        if isinstance(exc, serving.BuildMemoryError):
            return cls(f"memory_{exc.kind}", need=exc.need_mb, limit=exc.limit_mb, available=exc.available_mb)
        if isinstance(exc, OSError):
            if exc.errno == errno.ENOSPC or "No space left" in str(exc):
                return cls("no_space", detail=_short(exc))
            return cls("os_error", detail=_short(exc))
        if "No space left" in str(exc):  # duckdb reports a full disk as its own exception type
            return cls("no_space", detail=_short(exc))
        return cls("internal", detail=f"{type(exc).__name__}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text if len(text) <= 200 else text[:200] + "…"


def _checkpoint(stage: str) -> None:
    """A named point of the commit (tests stop the process here)."""


# -- the household key ------------------------------------------------------------------------------
def peek_key(directory: Path) -> tuple[bytes, bool]:
    """The store's household key without creating anything: (key, is_new). A store without one
    gets a fresh key that ``commit`` saves (mode 600) together with the data it hashed."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8"), False
    path = Path(directory) / KEY_FILE
    if path.is_file():
        return path.read_text(encoding="utf-8").strip().encode("utf-8"), False
    return secrets.token_hex(32).encode("utf-8"), True


def _save_key(directory: Path, key: bytes) -> None:
    path = directory / KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.decode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


def _fernet(key: bytes):
    from cryptography.fernet import Fernet

    return Fernet(base64.urlsafe_b64encode(hmac.new(key, b"redservice archive", hashlib.sha256).digest()))


def archive_name(sha256: str, extension: str) -> str:
    """The archived file's name: its content hash and a short extension (a file called
    "x.<300 characters>" must not produce a name the file system refuses)."""
    if not re.fullmatch(r"\.[A-Za-z0-9]{1,8}", extension or ""):
        extension = ".bin"
    return f"{sha256}{extension.lower()}.enc"


def read_archive(directory: str | Path, sha256: str) -> tuple[str, bytes]:
    """(file name, raw bytes) of an archived file, decrypted with the store's key."""
    directory = Path(directory)
    matches = sorted((directory / ARCHIVE_DIR).glob(f"{sha256}*.enc"))
    if not matches:
        raise FileNotFoundError(sha256)
    key, _ = peek_key(directory)
    return matches[0].name[: -len(".enc")], _fernet(key).decrypt(matches[0].read_bytes())


# -- locking and recovery -----------------------------------------------------------------------------
@contextlib.contextmanager
def lock(directory: Path, name: str = LOCK_FILE):
    """An exclusive lock on the store for the length of a commit (POSIX advisory lock); with
    ``name=QUEUE_FILE``, the lock ``run`` holds from preparing a batch to committing it."""
    directory.mkdir(parents=True, exist_ok=True)
    fh = open(directory / name, "a+")
    try:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)
        except ImportError:  # not POSIX: single-process use only
            pass
        yield
    finally:
        fh.close()


def recover(directory: Path) -> None:
    """Finish a committed import's cleanup, or discard an uncommitted one's files."""
    pointer = storage.read_pointer(directory)
    current = pointer.get("generation")
    staging = directory / STAGING_DIR
    if staging.is_dir():
        for entry in sorted(staging.iterdir()):
            if entry.name == current and (entry / ARCHIVE_DIR).is_dir():
                _move_archives(entry / ARCHIVE_DIR, directory / ARCHIVE_DIR)
            shutil.rmtree(entry, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.rmdir()
    keep = {current, pointer.get("previous")}
    tables = directory / storage.TABLES_DIR
    if tables.is_dir():
        for entry in tables.iterdir():
            if entry.is_dir() and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
    if current and pointer.get("previous"):
        # the top-level files of a store written by code are no longer current or previous
        for table in (*TABLES, LEGACY_ROLLUP):
            (directory / parquet_name(table)).unlink(missing_ok=True)
        serving.path(directory).unlink(missing_ok=True)
    for stray in directory.glob(f".{storage.GENERATION_FILE}.*.tmp"):
        stray.unlink(missing_ok=True)


def _move_archives(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for f in source.iterdir():
        os.replace(f, target / f.name)
    storage.fsync_dir(target)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _next_generation(directory: Path, current: str | None) -> str:
    used = [int(current)] if current and current.isdigit() else [0]
    tables = directory / storage.TABLES_DIR
    if tables.is_dir():
        used += [int(p.name) for p in tables.iterdir() if p.name.isdigit()]
    return f"{max(used) + 1:06d}"


# -- commit -------------------------------------------------------------------------------------------------
def commit(batch, actor: str | None = None) -> str | None:
    """Write the batch as the store's new generation; returns its id (None when nothing changed).
    The attempt is appended to the store's import log (``audit``) with ``actor`` as who did it
    (None: the operating-system user, as for the command line)."""
    from redservice.config import DEMO_DIR

    directory = batch.directory
    if directory.resolve() == DEMO_DIR.resolve():
        raise RefusedStore(str(directory))
    with lock(directory):
        recover(directory)
        current = storage.current_generation(directory)
        if current != batch.base_generation:
            raise StaleBatch(f"store moved from {batch.base_generation} to {current}")
        key_now, key_missing = peek_key(directory)
        if (not key_missing and key_now != batch.key) or (key_missing and not batch.key_is_new):
            raise StaleBatch("household key changed")
        tables = batch.tables()
        archives = [a for a in batch.archives
                    if not (directory / ARCHIVE_DIR / archive_name(a[0], a[1])).exists()]
        if not tables and not archives:
            audit.record(directory, batch.reports, actor, "unchanged", county=batch.county)
            return None
        try:
            _check_space(directory, tables, archives)
            _check_memory(directory, tables, batch.records_scope)
        except ImportFailed as exc:
            _audit_failure(directory, batch, actor, exc)
            raise
        if batch.key_is_new:
            _save_key(directory, batch.key)

        generation = _next_generation(directory, current)
        stage = directory / STAGING_DIR / generation
        try:
            _write_generation(batch, directory, generation, current, stage, tables, archives)
        except BaseException as exc:
            # not committed: nothing points at what was written; remove it now, not at the next import
            if storage.current_generation(directory) != generation:
                shutil.rmtree(stage, ignore_errors=True)
                shutil.rmtree(directory / storage.TABLES_DIR / generation, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (directory / STAGING_DIR).rmdir()
                for stray in directory.glob(f".{storage.GENERATION_FILE}.*.tmp"):
                    stray.unlink(missing_ok=True)
                _audit_failure(directory, batch, actor, exc)
            raise
        _checkpoint("committed")
        with contextlib.suppress(OSError):  # committed; a log the disk cannot take does not undo it
            audit.record(directory, batch.reports, actor, "committed", generation, county=batch.county)
        try:
            recover(directory)
        except OSError:
            pass  # the import is committed; the next import finishes the cleanup
        return generation


def _audit_failure(directory: Path, batch, actor, exc: BaseException) -> None:
    if not isinstance(exc, Exception):
        return  # interrupted (KeyboardInterrupt): no log line
    failure = ImportFailed.from_exception(exc)
    with contextlib.suppress(OSError):  # a full disk may refuse the log line too
        audit.record(directory, batch.reports, actor, f"failed:{failure.kind}", detail=failure.message(),
                     county=batch.county)


def _check_space(directory: Path, tables: dict, archives: list) -> None:
    """Refuse before writing when the disk cannot hold the new generation: at most a copy of the
    current table files and serving copy, the archived files, and a margin."""
    current = storage.table_dir(directory)
    need = SPACE_MARGIN + sum(len(data) for _, _, data in archives) * 2
    if current.is_dir():
        need += sum(p.stat().st_size for p in current.rglob("*") if p.is_file())
    need += sum(len(rows) for rows in tables.values()) * 200  # new rows: ~200 bytes each, generously
    free = shutil.disk_usage(directory).free
    if free < need:
        raise ImportFailed("no_space", detail=f"{free / 2**20:.0f} MB < {need / 2**20:.0f} MB")


def _check_memory(directory: Path, tables: dict, scope=None) -> None:
    """Refuse before writing when the serving copy of the new generation could not be built within
    the store's [build] memory_limit or the machine's free memory (serving.plan_budget)."""
    from redservice.ingest.batch import ALL

    current = storage.table_dir(directory)
    rows = 0
    for table in ("services", "service_households"):
        if table in tables and scope is not None and scope is not ALL:  # one county's: the others' too
            rows += len(tables[table]) + sum(serving.record_rows_of(f) for c, f in
                                             storage.partition_files(current, table).items() if c != scope)
        elif table in tables:
            rows += len(tables[table])
        else:
            rows += sum(serving.record_rows_of(f) for f in storage.table_files(current, table))
    try:
        serving.plan_budget(rows, serving.build_limits_of(directory))
    except (serving.BuildMemoryError, ValueError) as exc:
        if isinstance(exc, ValueError):  # a [build] memory_limit that is not a size
            raise ImportFailed("memory_setting", detail=str(exc)[:200]) from exc
        raise ImportFailed.from_exception(exc) from exc


def _write_generation(batch, directory: Path, generation: str, current, stage: Path, tables: dict,
                      archives: list) -> None:
    """Steps 2-4 of the module docstring: stage, rename, replace the pointer (the commit point)."""
    stage_tables = stage / "tables"
    stage_tables.mkdir(parents=True)
    source_dir = storage.table_dir(directory)
    written = _write_records(batch, stage_tables, source_dir, tables, generation)
    for table in TABLES:
        if table in storage.PARTITIONED:
            _checkpoint(f"table:{table}")
            continue
        target = stage_tables / parquet_name(table)
        if table in tables:
            write_table(stage_tables, table, tables[table])
        elif (source_dir / parquet_name(table)).is_file():
            try:
                os.link(source_dir / parquet_name(table), target)
            except OSError:
                shutil.copy2(source_dir / parquet_name(table), target)
        else:
            write_table(stage_tables, table, [])
        _checkpoint(f"table:{table}")
    # the serving copy travels with the generation it describes
    serving.refresh(stage_tables, serving.build_rules(directory), serving.build_limits_of(directory),
                    previous=source_dir, counties=written)
    _checkpoint("serving")
    if archives:
        fernet = _fernet(batch.key)
        (stage / ARCHIVE_DIR).mkdir()
        for sha, ext, data in archives:
            (stage / ARCHIVE_DIR / archive_name(sha, ext)).write_bytes(fernet.encrypt(data))
    for path in stage.rglob("*"):
        if path.is_file():
            _fsync_file(path)
    storage.fsync_dir(stage_tables)
    _checkpoint("staged")

    (directory / storage.TABLES_DIR).mkdir(exist_ok=True)
    os.rename(stage_tables, directory / storage.TABLES_DIR / generation)
    storage.fsync_dir(directory / storage.TABLES_DIR)
    _checkpoint("renamed")

    previous = storage.read_pointer(directory)
    now = dt.datetime.now().isoformat(timespec="seconds")
    history = previous.get("history", []) + [
        {"at": now, "generation": generation, **_summary(r)} for r in batch.reports]
    pointer = {"generation": generation, "previous": current, "committed_at": now,
               "rows": {t: len(rows) for t, rows in tables.items()},
               "history": history[-HISTORY_LIMIT:]}
    tmp = directory / f".{storage.GENERATION_FILE}.{generation}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(pointer, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    _checkpoint("pointer-written")
    os.replace(tmp, directory / storage.GENERATION_FILE)  # the commit point
    storage.fsync_dir(directory)


# -- the records, one folder per county ----------------------------------------------------------------
def _counties(tables: dict, source_dir: Path) -> tuple[dict, dict]:
    """{community: county}, {unit: county} of the new generation's lists."""
    import pyarrow.parquet as pq

    out = []
    for table, key in (("communities", "community"), ("units", "unit")):
        if table in tables:
            rows = [(r.get(key), r.get("county")) for r in tables[table]]
        elif (source_dir / parquet_name(table)).is_file():
            data = pq.read_table(source_dir / parquet_name(table), partitioning=None)
            county = data.column("county").to_pylist() if "county" in data.column_names else [None] * data.num_rows
            rows = list(zip(data.column(key).to_pylist(), county))
        else:
            rows = []
        found: dict = {}
        for name, county in rows:  # as serving.COMMUNITY_COUNTY: the least county of a name listed twice
            if county and (name not in found or found[name] is None or county < found[name]):
                found[name] = county
            else:
                found.setdefault(name, None)
        out.append(found)
    return out[0], out[1]


def record_county(row: dict, communities: dict, units: dict) -> str | None:
    """The county a record counts in (serving.COMMUNITY_COUNTY, UNIT_COUNTY): its 服务社区's, else its unit's."""
    return communities.get(row.get("community")) or units.get(row.get("unit")) or None


def _part_name(generation: str) -> str:
    return f"part-{generation}.parquet"


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _write_records(batch, stage_tables: Path, source_dir: Path, tables: dict, generation: str) -> set | None:
    """Write the records (storage.PARTITIONED) of the new generation, one folder per county: the
    counties whose records the batch changes are written, every other county's files hard-linked
    from the current generation. Returns the counties written, or None when every county's were
    (a generation written before partitions, lists that move a name to another county)."""
    from redservice.ingest.batch import ALL

    communities, units = _counties(tables, source_dir)
    old_communities, old_units = _counties({}, source_dir)
    moved = any(old_communities.get(n, c) != c for n, c in communities.items() if n in old_communities) or \
        any(old_units.get(n, c) != c for n, c in units.items() if n in old_units)
    current = {t: storage.partition_files(source_dir, t) for t in storage.PARTITIONED}
    partitioned = storage.is_partitioned(source_dir, "services")
    scope = batch.records_scope
    if "services" in tables:
        rows = tables["services"]
        if scope is not ALL:  # one county's records, all of them: that county's files, the others kept
            groups = {scope: rows}
            keep = {c for c in current["services"] if c != scope}
        else:
            groups: dict = {}
            for row in rows:
                groups.setdefault(record_county(row, communities, units), []).append(row)
            if partitioned and not moved:
                state = batch.states["services"]
                changed = {record_county(state.rows[k], communities, units) for k in state.changed if k in state.rows}
                changed |= set(groups) - set(current["services"])
                keep = {c for c in current["services"] if c not in changed}
                groups = {c: r for c, r in groups.items() if c not in keep}
            else:
                keep = set()
        for county, records in groups.items():
            folder = storage.partition_folder(county)
            write_table(stage_tables / "services" / folder, "services", records, _part_name(generation))
            links = [{"record_id": r["record_id"], "household": h} for r in records for h in (r.get("households") or ())]
            write_table(stage_tables / "service_households" / folder, "service_households", links, _part_name(generation))
        for county in keep:
            for table in storage.PARTITIONED:
                if county in current[table]:
                    file = current[table][county]
                    _link(file, stage_tables / table / storage.partition_folder(county) / file.name)
        return None if not partitioned or moved else set(groups)
    if partitioned and not moved:
        for table in storage.PARTITIONED:
            for county, file in current[table].items():
                _link(file, stage_tables / table / storage.partition_folder(county) / file.name)
        return set()
    if storage.table_files(source_dir, "services"):
        _repartition(source_dir, stage_tables, communities, units, generation)
    return None


def _repartition(source_dir: Path, stage_tables: Path, communities: dict, units: dict, generation: str) -> None:
    """Every record written anew in its county's folder (a generation written before partitions, or
    lists that moved a name to another county)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    def read(table):
        parts = [pq.read_table(f, partitioning=None) for f in storage.table_files(source_dir, table)]
        parts = [p.select([c for c in TABLES[table] if c in p.column_names]) for p in parts]
        return pa.concat_tables(parts, promote_options="default") if parts else None

    services, links = read("services"), read("service_households")

    def lookup(values, mapping):
        keys = [k for k, v in mapping.items() if v]
        return pc.take(pa.array([mapping[k] for k in keys], pa.string()), pc.index_in(values, pa.array(keys, pa.string())))

    county = pc.coalesce(lookup(services.column("community"), communities), lookup(services.column("unit"), units))
    link_county = pc.take(county, pc.index_in(links.column("record_id"), services.column("record_id"))) \
        if links is not None else None
    for value in pc.unique(county).to_pylist():
        mask = pc.is_null(county) if value is None else pc.fill_null(pc.equal(county, value), False)
        folder = storage.partition_folder(value)
        write_arrow(stage_tables / "services" / folder, "services", services.filter(mask), _part_name(generation))
        if links is not None:
            lmask = pc.is_null(link_county) if value is None else pc.fill_null(pc.equal(link_county, value), False)
            write_arrow(stage_tables / "service_households" / folder, "service_households", links.filter(lmask),
                        _part_name(generation))


def _summary(report) -> dict:
    return {"file": report.file, "sha256": report.sha256, "table": report.table, "rows_read": report.rows_read,
            "loaded": report.loaded, "updated": report.updated, "rejected": report.rejected,
            "skipped": report.skipped_total, "fatal": bool(report.fatal)}
