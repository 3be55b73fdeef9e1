"""Importing counties' ledgers (台账) per the data contract (see docs/import.md).

``prepare`` reads and checks files against the store and writes nothing; ``commit`` writes a
prepared batch into the store as one atomic step. ``run`` does both (what the CLI uses). Every
import attempted is appended to the store's import log (``audit``).
"""

from __future__ import annotations

from pathlib import Path

from redservice.ingest.batch import Batch, Source, prepare
from redservice.ingest import audit, load
from redservice.ingest.load import ImportFailed, RefusedStore, StaleBatch, commit
from redservice.ingest.report import FileReport, RowError, rejected_excel
from redservice.ingest.templates import ORDER, TEMPLATES, table_of, template_xlsx, write_templates

__all__ = ["Batch", "FileReport", "ImportFailed", "ORDER", "RefusedStore", "RowError", "Source", "StaleBatch", "TEMPLATES",
           "commit", "prepare", "rejected_excel", "run", "table_of", "template_xlsx", "write_templates"]


MAX_ATTEMPTS = 5


def run(directory: str | Path, sources: list[Source], table: str | None = None, add_new_names: bool = False,
        dry_run: bool = False, today=None, actor: str | None = None,
        mapping: str | None = None, county: str | None = None) -> tuple[Batch, str | None]:
    """Prepare and (unless ``dry_run``) commit.

    Imports into one store take turns: each holds the store's queue lock from preparing its batch
    to committing it, so N imports started together all land, one after another, each checked
    against the data the previous ones wrote. A batch can still go stale when another writer (the
    data page) commits without the queue; it is then prepared again, at most ``MAX_ATTEMPTS``
    times, after which ``ImportFailed("stale")`` says so and nothing was written.
    """
    from redservice.config import DEMO_DIR

    if dry_run:
        return prepare(directory, sources, table=table, add_new_names=add_new_names, today=today,
                       mapping_name=mapping, county=county), None
    directory = Path(directory).expanduser()
    if directory.resolve() == DEMO_DIR.resolve():
        raise RefusedStore(str(directory))
    with load.lock(directory, load.QUEUE_FILE):
        for attempt in range(MAX_ATTEMPTS):
            batch = prepare(directory, sources, table=table, add_new_names=add_new_names, today=today,
                            mapping_name=mapping, county=county)
            try:
                return batch, commit(batch, actor)
            except StaleBatch as exc:
                if attempt == MAX_ATTEMPTS - 1:
                    failure = ImportFailed("stale", detail=str(exc)[:200], attempts=MAX_ATTEMPTS)
                    audit.record(directory, batch.reports, actor, "failed:stale", detail=failure.message(),
                                 county=batch.county)
                    raise failure from exc
    raise AssertionError("unreachable")
