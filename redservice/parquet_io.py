"""Writing the store's tables: Arrow tables with the schema's column order and types, written
to Parquet atomically (a temporary file, then a rename), so a reader never sees half a file."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from redservice.schema import TABLES, parquet_name

ARROW_TYPES = {"VARCHAR": pa.string(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "DATE": pa.date32()}


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def to_arrow(table: str, data) -> pa.Table:
    """Rows (a DataFrame or a list of dicts) as an Arrow table of the store's schema.

    Missing columns become NULL; columns outside the schema are dropped."""
    frame = data if isinstance(data, pd.DataFrame) else None
    rows = None if frame is not None else (data if isinstance(data, list) else list(data))
    n = len(frame) if frame is not None else len(rows)
    columns = TABLES[table]
    arrays = []
    for col, ty in columns.items():
        if frame is not None:
            values = frame[col].tolist() if col in frame else [None] * n
        else:
            values = [r.get(col) for r in rows]
        try:  # most columns convert as they are (NaN as NULL); the others cell by cell
            arrays.append(pa.array(values, type=ARROW_TYPES[ty], from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
            arrays.append(pa.array([_cell(v) for v in values], type=ARROW_TYPES[ty]))
    return pa.Table.from_arrays(arrays, names=list(columns))


def write_table(directory: str | Path, table: str, data, name: str | None = None) -> Path:
    """Write one table of the store atomically (as ``name``, default ``<table>.parquet``); returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (name or parquet_name(table))
    fd, tmp = tempfile.mkstemp(prefix=f".{table}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        pq.write_table(to_arrow(table, data), tmp, compression="zstd", row_group_size=1_000_000)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_arrow(directory: str | Path, table: str, data: pa.Table, name: str | None = None) -> Path:
    """``write_table`` for rows already in Arrow (the store's schema; a column missing is NULL)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    columns = TABLES[table]
    arrays = [data.column(c).cast(ARROW_TYPES[ty]) if c in data.column_names else pa.nulls(data.num_rows, ARROW_TYPES[ty])
              for c, ty in columns.items()]
    target = directory / (name or parquet_name(table))
    fd, tmp = tempfile.mkstemp(prefix=f".{table}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        pq.write_table(pa.Table.from_arrays(arrays, names=list(columns)), tmp, compression="zstd",
                       row_group_size=1_000_000)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
