"""Where a store's table files live, and how a new set of them becomes current in one step.

A store written by code (the demo, test fixtures) keeps its Parquet tables in the data directory
itself. The importer never rewrites those files in place: it writes a complete new *generation*
(every table) under ``tables/<id>/`` and then makes it current by replacing one small file,
``generation.json``, with ``os.replace`` — the single commit point. Before that rename readers see
the old generation, after it the new one; a crash at any moment leaves one or the other, never a mix.

    <store>/generation.json        {"generation": "000003", ...}   (absent: tables at the top level)
    <store>/tables/000003/*.parquet                     the lists, members, wishes, evaluations
    <store>/tables/000003/services/county=平陆县/part-000002.parquet   the records, one folder per county
    <store>/tables/000003/service_households/county=平陆县/part-000002.parquet
    <store>/archive/               raw files imported, encrypted, named by content hash

The records (``PARTITIONED``: services and the households of each record) are kept per county in
Hive-style folders (``county=<name>``; ``county=__HIVE_DEFAULT_PARTITION__`` for the records of no
county), so that an import of one county's ledgers writes that county's files only: the other
counties' files are hard links to the previous generation's (a file, once written, is never
changed, so its name keeps the generation that wrote it). A record's county is the county of the
community where it was served, else its unit's — the county it counts in on the pages
(``serving.COMMUNITY_COUNTY``). A generation written before partitions, and the stores written by
code (the demo), keep one file per table: ``table_files`` reads either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from redservice.schema import parquet_name

GENERATION_FILE = "generation.json"
TABLES_DIR = "tables"


def read_pointer(directory: str | os.PathLike) -> dict:
    """The committed generation record, or {} for a store with its tables at the top level."""
    path = Path(directory) / GENERATION_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return {}


def current_generation(directory: str | os.PathLike) -> str | None:
    return read_pointer(directory).get("generation")


def generation_dir(directory: str | os.PathLike, generation: str | None) -> Path:
    directory = Path(directory)
    return directory / TABLES_DIR / generation if generation else directory


def table_dir(directory: str | os.PathLike) -> Path:
    """The directory that holds the current table files."""
    return generation_dir(directory, current_generation(directory))


def table_path(directory: str | os.PathLike, table: str) -> Path:
    """The current file of ``table``; of a table kept per county, its folder (a Hive-partitioned
    dataset: ``pyarrow.parquet.read_table`` reads it whole, with the partition column ``county``)."""
    tables = table_dir(directory)
    return tables / table if is_partitioned(tables, table) else tables / parquet_name(table)


PARTITIONED = ("services", "service_households")
PARTITION_KEY = "county"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"  # Hive's (and DuckDB's, pyarrow's) name for NULL
_ESCAPE = {"%", "/", "\\", "=", ":", "*", "?", '"', "<", ">", "|"}


def partition_folder(county: str | None) -> str:
    """The Hive folder of a county's records: ``county=平陆县`` (the name readable; ``%``, ``/``, ``=``
    and the characters a file system may refuse percent-encoded, as Hive and DuckDB decode them)."""
    if county is None or county == "":
        return f"{PARTITION_KEY}={NULL_PARTITION}"
    text = "".join(f"%{ord(c):02X}" if c in _ESCAPE or ord(c) < 0x20 or ord(c) == 0x7F else c for c in county)
    if text.startswith("."):
        text = "%2E" + text[1:]
    return f"{PARTITION_KEY}={text}"


def county_of_folder(name: str) -> str | None:
    from urllib.parse import unquote

    value = name.split("=", 1)[1] if "=" in name else name
    return None if value == NULL_PARTITION else unquote(value)


def partition_files(directory: str | os.PathLike, table: str) -> dict[str | None, Path]:
    """{county: file} of a partitioned table stored in folders ({} when it is one file or absent)."""
    root = Path(directory) / table
    out: dict[str | None, Path] = {}
    if not root.is_dir():
        return out
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and folder.name.startswith(PARTITION_KEY + "="):
            files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix == ".parquet")
            if files:
                out[county_of_folder(folder.name)] = files[-1]
    return out


def table_files(directory: str | os.PathLike, table: str) -> list[Path]:
    """The Parquet files holding ``table`` in a generation directory: its one file (a store written by
    code, a generation written before partitions), else one per county; [] when it has none."""
    single = Path(directory) / parquet_name(table)
    if single.is_file():
        return [single]
    return list(partition_files(directory, table).values())


def is_partitioned(directory: str | os.PathLike, table: str) -> bool:
    return not (Path(directory) / parquet_name(table)).is_file() and (Path(directory) / table).is_dir()


def pointer_stamp(directory: str | os.PathLike) -> tuple:
    """A cheap fingerprint of the commit point (changes whenever a generation is committed)."""
    try:
        st = (Path(directory) / GENERATION_FILE).stat()
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename inside ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_table(directory: str | os.PathLike, table: str, columns: list[str] | None = None):
    """The current content of ``table`` as one Arrow table (every county's records for a table kept
    per county; the partition folders add no column). None when the store has no such table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = table_files(table_dir(directory), table)
    if not files:
        return None
    parts = [pq.read_table(f, columns=columns, partitioning=None) for f in files]
    return pa.concat_tables(parts, promote_options="default") if len(parts) > 1 else parts[0]
