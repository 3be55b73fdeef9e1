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
import warnings
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from redservice import serving, storage
from redservice.config import PROJECT_DIR
from redservice.filters import DIMENSIONS, EVERYTHING, Filters, Scope
from redservice.schema import BOUNDARIES_FILE, MANIFEST_FILE

QUERY_DIR = PROJECT_DIR / "queries"
# A DB-API result converted to Arrow is copied once more: cheap next to Python strings (see query)
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
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


_CTE = re.compile(r"^(f_[a-z_]+) AS (?:(?:NOT )?MATERIALIZED )?\(", re.M)


@lru_cache(maxsize=None)
def _base_relations(mtime: float) -> dict[str, str]:
    """The CTEs of queries/_base.sql by name (each starts a line: ``f_x AS (``)."""
    base = _read_query(BASE_QUERY, mtime)
    starts = [(m.group(1), m.start()) for m in _CTE.finditer(base)]
    ends = [start for _, start in starts[1:]] + [len(base)]
    return {name: base[start:end].strip().rstrip(",").strip() for (name, start), end in zip(starts, ends)}


def compose(name: str) -> str:
    """The named query with the shared filtered relations it reads prepended as CTEs (only those:
    binding unused ones costs time on every query). Cached by both files' modification times: the
    search for the relations used took up to 8 ms of Python per query."""
    query_text(name)  # checks the name and that the file exists
    return _compose(name, (QUERY_DIR / f"{name}.sql").stat().st_mtime,
                    (QUERY_DIR / f"{BASE_QUERY}.sql").stat().st_mtime)


@lru_cache(maxsize=None)
def _compose(name: str, mtime: float, base_mtime: float) -> str:
    relations = _base_relations(base_mtime)
    body = _read_query(name, mtime)
    # the relations the query reads, and those they read (f_member_months reads f_rollups)
    wanted = {rel for rel in relations if re.search(rf"\b{rel}\b", body)}
    while True:
        more = {rel for rel in relations for used in wanted if rel not in wanted
                and re.search(rf"\b{rel}\b", relations[used])}
        if not more:
            break
        wanted |= more
    used = [sql for rel, sql in relations.items() if rel in wanted]  # in the file's order
    if not used:
        return body
    base = ",\n".join(used)
    if re.match(r"(?i)with\s", body):
        return f"WITH {base},\n{body[4:].lstrip()}"
    return f"WITH {base}\n{body}"


def _column(values: pa.ChunkedArray) -> pd.Series:
    kind = values.type
    if pa.types.is_decimal(kind):
        return values.cast(pa.float64()).to_pandas()
    if pa.types.is_date(kind) or (pa.types.is_timestamp(kind) and kind.tz is None):
        return values.cast(pa.timestamp("us")).to_pandas()
    if values.null_count and (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
        return values.to_pandas(types_mapper=lambda t: pd.api.types.pandas_dtype(_NULLABLE[str(t)]))
    return values.to_pandas()


_NULLABLE = {"int8": "Int8", "int16": "Int16", "int32": "Int32", "int64": "Int64", "uint8": "UInt8",
             "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64", "bool": "boolean"}


def frame(table: pa.Table) -> pd.DataFrame:
    """A query result as pandas, typed as DuckDB's own ``.df()`` types it (dates and timestamps as
    datetime64[us], DECIMAL and HUGEINT sums as float64, integers and booleans with NULLs as pandas'
    nullable types), but built through Arrow: text columns are then copied as Arrow strings instead
    of being made into Python strings row by row, several times faster for a large member list."""
    if len(set(table.column_names)) != len(table.column_names):
        raise QueryError(f"a query result repeats a column name: {table.column_names}")
    return pd.DataFrame({name: _column(values) for name, values in zip(table.column_names, table.columns)},
                        index=pd.RangeIndex(table.num_rows))


@lru_cache(maxsize=256)
def _parameters(sql: str) -> tuple[str, ...]:
    """The named parameters the SQL text takes, in order of first use."""
    return tuple(dict.fromkeys(_PARAM.findall(sql)))


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql") if not p.stem.startswith("_"))


class Store:
    """A read-only, locked-down DuckDB view of one data directory.

    ``source``: "auto" (the app: the serving file when fresh, else the copy built by Spark when
    fresh, else built in memory), "parquet" (the copy built by Spark when fresh), "memory"
    (always built in memory) or "raw" (views over the Parquet files: the reference the tests
    compare the serving copy against; slow, never used by the app). See redservice.serving.
    ``rollups``: False makes every query read the records themselves, never the serving copy's
    rollups (bound as ``$rollups``; the tests check that the answers are the same)."""

    def __init__(self, directory: str | Path, source: str = "auto", rollups: bool = True):
        self.directory = Path(directory).resolve()
        self.source = source
        self.rollups = rollups
        self._lock = threading.Lock()
        self._opened = self.version()
        self._state = self._connect()

    # the connection, how the copy was opened and its id maxima travel together: a query that
    # races a new generation binds the maxima of the ids it reads
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self._state[0]

    @property
    def mode(self) -> str:
        return self._state[1]

    @property
    def stats(self) -> dict:
        return self._state[2]

    # -- opening -------------------------------------------------------------------------
    def _connect(self) -> tuple[duckdb.DuckDBPyConnection, str, dict]:
        """A new connection over the current generation: the serving copy (see redservice.serving)
        under the plain table names, then locked down; with its mode and id maxima."""
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET enable_progress_bar = false")
            mode, stats = serving.attach(con, storage.table_dir(self.directory), self.source,
                                         serving.build_rules(self.directory))
            self._harden(con)
        except BaseException:
            con.close()
            raise
        return con, mode, stats

    def _harden(self, con: duckdb.DuckDBPyConnection) -> None:
        directory = str(self.directory).rstrip("/") + "/"
        con.execute(f"SET allowed_directories = [{serving.sql_string(directory)}]")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    # -- facts about the data ------------------------------------------------------------
    def version(self) -> str:
        """Changes whenever a file of the store changes (an import commits a new generation of
        table files, a table is rewritten): part of every cache key."""
        h = hashlib.sha256()
        tables = storage.table_dir(self.directory)
        files = [p for p in self.directory.glob("*") if p.suffix in {".geojson", ".json", ".toml"}]
        files += list(tables.glob("*.parquet")) + [serving.path(tables)]
        files += [b / "meta" for b in serving.parquet_builds(tables)[:1]]  # a new Spark copy (its folder)
        for path in sorted(set(files)):
            if path.exists():
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
        con, _, stats = self._state
        sql, params = self.bind(name, filters, scope, stats, **extra)
        cur = con.cursor()
        try:
            cur.execute(sql, params)
            if not cur.description:
                return cur.df()
            return frame(cur.to_arrow_table())
        finally:
            cur.close()

    def bind(self, name: str, filters: Filters | None = None, scope: Scope = EVERYTHING,
             stats: dict | None = None, **extra) -> tuple[str, dict]:
        """The query's SQL (with the shared relations it reads) and the parameters it takes."""
        sql = compose(name)
        available = {**(self.stats if stats is None else stats), "rollups": self.rollups,
                     **(filters.params() if filters else {}),
                     **extra, **scope.params()}
        if filters is None:
            for dim in DIMENSIONS:
                available.setdefault(dim, None)
        wanted = _parameters(sql)
        missing = [p for p in wanted if p not in available]
        if missing:
            raise QueryError(f"queries/{name}.sql needs parameters {missing}")
        return sql, {p: available[p] for p in wanted}

    def _follow_files(self) -> None:
        """Open a new connection when files appeared, vanished or changed since the current one was
        made, so that a new generation is seen and a serving copy made stale is not used. The old
        connection is left to the cursors still running on it (closed when the last one is done)."""
        current = self.version()
        if current != self._opened:
            with self._lock:
                if current != self._opened:
                    self._state = self._connect()
                    self._opened = current

    def close(self) -> None:
        self.con.close()
