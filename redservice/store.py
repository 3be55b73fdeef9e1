"""The store: one DuckDB connection over the Parquet files of a data directory.

Every figure comes from a file in ``queries/``. ``Store.query(name, filters, scope, **extra)``
prepends the shared filtered relations of ``queries/_base.sql`` (f_members, f_services,
f_households, f_wishes) to the named query and binds the filters and the viewer's scope as named
parameters. That is the one choke point: no query reads a personal table any other way, and no
value is ever formatted into SQL text.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from redservice import rollup, storage
from redservice.config import PROJECT_DIR
from redservice.filters import EVERYTHING, Filters, Scope
from redservice.schema import BOUNDARIES_FILE, MANIFEST_FILE, TABLES, parquet_name

QUERY_DIR = PROJECT_DIR / "queries"
BASE_QUERY = "_base"
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_LINE_COMMENT = re.compile(r"--[^\n]*")


class QueryError(KeyError):
    """A query file is missing or a parameter was not supplied."""


def _strip_comments(sql: str) -> str:
    return _LINE_COMMENT.sub("", sql)


@lru_cache(maxsize=None)
def _read_query(name: str, mtime: float) -> str:
    return _strip_comments((QUERY_DIR / f"{name}.sql").read_text(encoding="utf-8")).strip()


def query_text(name: str) -> str:
    """The query's SQL with comments removed (cached by the file's modification time)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise QueryError(f"bad query name {name!r}")
    path = QUERY_DIR / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"no query file queries/{name}.sql")
    return _read_query(name, path.stat().st_mtime)


def compose(name: str) -> str:
    """The named query with the shared filtered relations prepended as CTEs."""
    base = _read_query(BASE_QUERY, (QUERY_DIR / f"{BASE_QUERY}.sql").stat().st_mtime)
    body = query_text(name)
    if re.match(r"(?i)with\s", body):
        return f"WITH {base},\n{body[4:].lstrip()}"
    return f"WITH {base}\n{body}"


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql") if not p.stem.startswith("_"))


def _sql_string(value: str) -> str:
    # Only ever used for paths the application itself chose (the data directory), never user input.
    return "'" + value.replace("'", "''") + "'"


class Store:
    """A read-only, locked-down DuckDB view of one data directory."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory).resolve()
        self._lock = threading.Lock()
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET enable_progress_bar = false")
        self._opened = self.version()
        self._create_views()
        self._harden()

    # -- opening -------------------------------------------------------------------------
    def _create_views(self) -> None:
        """(Re)bind one view per table to the current generation's files, in one transaction so
        that a concurrent query sees either every old table or every new one."""
        tables = storage.table_dir(self.directory)
        facts = rollup.path(tables)
        fresh = rollup.is_fresh(tables)
        cur = self.con.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            for table, columns in TABLES.items():
                path = tables / parquet_name(table)
                cols = ", ".join(f"CAST({c} AS {ty}) AS {c}" for c, ty in columns.items())
                if path.is_file():
                    source = f"read_parquet({_sql_string(str(path))})"
                    cur.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {cols} FROM {source}")
                else:
                    empty = ", ".join(f"CAST(NULL AS {ty}) AS {c}" for c, ty in columns.items())
                    cur.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT {empty} WHERE 1 = 0")
            # missing or stale rollup: the same relation from the raw tables (slower, same answers)
            source = f"SELECT * FROM read_parquet({_sql_string(str(facts))})" if fresh else rollup.FALLBACK_SQL
            cur.execute(f"CREATE OR REPLACE VIEW {rollup.HOUSEHOLD_FACTS} AS {source}")
            cur.execute("COMMIT")
        finally:
            cur.close()
        self.facts_fresh = fresh

    def _harden(self) -> None:
        directory = str(self.directory).rstrip("/") + "/"
        self.con.execute(f"SET allowed_directories = [{_sql_string(directory)}]")
        self.con.execute("SET autoinstall_known_extensions = false")
        self.con.execute("SET autoload_known_extensions = false")
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    # -- facts about the data ------------------------------------------------------------
    def version(self) -> str:
        """Changes whenever a file of the store changes (an import commits a new generation of
        table files, a table is rewritten): part of every cache key."""
        h = hashlib.sha256()
        tables = storage.table_dir(self.directory)
        files = [p for p in self.directory.glob("*") if p.suffix in {".geojson", ".json", ".toml"}]
        files += list(tables.glob("*.parquet"))
        for path in sorted(set(files)):
            if path.is_file():
                st = path.stat()
                h.update(f"{path.relative_to(self.directory)}:{st.st_size}:{st.st_mtime_ns};".encode())
        return h.hexdigest()[:16]

    def manifest(self) -> dict:
        path = self.directory / MANIFEST_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def boundaries(self) -> dict:
        """Community boundaries (GeoJSON FeatureCollection) shipped with the data."""
        path = self.directory / BOUNDARIES_FILE
        if not path.is_file():
            return {"type": "FeatureCollection", "features": []}
        return json.loads(path.read_text(encoding="utf-8"))

    # -- running queries -----------------------------------------------------------------
    def query(
        self,
        name: str,
        filters: Filters | None = None,
        scope: Scope = EVERYTHING,
        **extra,
    ) -> pd.DataFrame:
        """Run ``queries/<name>.sql`` with the filters, the scope and any extra parameters bound."""
        self._follow_files()
        sql = compose(name)
        available = {**(filters.params() if filters else {}), **extra, **scope.params()}
        if filters is None:
            for dim in ("units", "branches", "communities", "categories", "forms"):
                available.setdefault(dim, None)
        wanted = dict.fromkeys(_PARAM.findall(sql))
        missing = [p for p in wanted if p not in available]
        if missing:
            raise QueryError(f"queries/{name}.sql needs parameters {missing}")
        params = {p: available[p] for p in wanted}
        cur = self.con.cursor()
        try:
            return cur.execute(sql, params).df()
        finally:
            cur.close()

    def _follow_files(self) -> None:
        """Re-point the views when files appeared, vanished or changed since they were made, so a
        table written after opening is seen and a rollup made stale by new records is not used."""
        current = self.version()
        if current != self._opened:
            with self._lock:
                if current != self._opened:
                    self._create_views()
                    self._opened = current

    def close(self) -> None:
        self.con.close()
