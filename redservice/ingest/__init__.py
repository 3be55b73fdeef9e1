"""Importing counties' ledgers (台账) per the data contract (see docs/import.md).

``prepare`` reads and checks files against the store and writes nothing; ``commit`` writes a
prepared batch into the store as one atomic step. ``run`` does both (what the CLI uses).
"""

from __future__ import annotations

from pathlib import Path

from redservice.ingest.batch import Batch, Source, prepare
from redservice.ingest.load import RefusedStore, StaleBatch, commit
from redservice.ingest.report import FileReport, RowError, rejected_excel
from redservice.ingest.templates import ORDER, TEMPLATES, table_of, template_xlsx, write_templates

__all__ = ["Batch", "FileReport", "ORDER", "RefusedStore", "RowError", "Source", "StaleBatch", "TEMPLATES",
           "commit", "prepare", "rejected_excel", "run", "table_of", "template_xlsx", "write_templates"]


def run(directory: str | Path, sources: list[Source], table: str | None = None, add_new_names: bool = False,
        dry_run: bool = False, today=None, mapping: str | None = None) -> tuple[Batch, str | None]:
    """Prepare and (unless ``dry_run``) commit; a batch that went stale is prepared again once."""
    for attempt in range(2):
        batch = prepare(directory, sources, table=table, add_new_names=add_new_names, today=today,
                        mapping_name=mapping)
        if dry_run:
            return batch, None
        try:
            return batch, commit(batch)
        except StaleBatch:
            if attempt:
                raise
    raise AssertionError("unreachable")
