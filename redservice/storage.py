"""Where a store's table files live, and how a new set of them becomes current in one step.

A store written by code (the demo, test fixtures) keeps its Parquet tables in the data directory
itself. The importer never rewrites those files in place: it writes a complete new *generation*
(every table) under ``tables/<id>/`` and then makes it current by replacing one small file,
``generation.json``, with ``os.replace`` — the single commit point. Before that rename readers see
the old generation, after it the new one; a crash at any moment leaves one or the other, never a mix.

    <store>/generation.json        {"generation": "000003", ...}   (absent: tables at the top level)
    <store>/tables/000003/*.parquet
    <store>/archive/               raw files imported, encrypted, named by content hash
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
    return table_dir(directory) / parquet_name(table)


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
