"""What an import did to each file: rows read, loaded (new or updated), rejected, skipped, the
reasons (each naming file, row and column, in Chinese by default), and the rejected rows as an
Excel file of the original cells plus a 错误原因 column, ready to be fixed and imported again."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from redservice.i18n import t

REASON_COLUMN = "错误原因"
SKIP_KINDS = ("blank", "total", "duplicate")


QUOTE_CHARS = 50


def quote(value, limit: int = QUOTE_CHARS):
    """A value as a message quotes it: at most ``limit`` characters of it, then "…"."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    return value


@dataclass
class RowError:
    row: int  # as Excel shows it
    column: str  # the template header ("" when the whole row is concerned)
    kind: str
    params: dict = field(default_factory=dict)
    sheet: str = ""

    def __post_init__(self):
        # a message quotes a value by QUOTE_CHARS characters (``quote``): keep no more of it than that,
        # so 2,000 rejected rows of 2,000-character values are not 4 million characters of report
        self.params = {k: v[:QUOTE_CHARS + 1] if isinstance(v, str) else v for k, v in self.params.items()}

    def detail(self, lang: str = "zh") -> str:
        params = {k: quote(v) for k, v in self.params.items()}
        if self.kind == "key_conflict":
            where = t("ingest.where_sheet" if params["other_sheet"] else "ingest.where", lang,
                      file=params["other_file"], sheet=params["other_sheet"], row=params["other_row"])
            params["where"] = where.strip()
        text = t(f"ingest.err.{self.kind}", lang, **params)
        suggestion = params.get("suggestion")
        if self.kind.startswith("unknown_"):
            text += t("ingest.suggest" if suggestion else "ingest.no_suggestion", lang, suggestion=suggestion)
        return text

    def reason(self, file: str, lang: str = "zh") -> str:
        where = t("ingest.where_sheet" if self.sheet else "ingest.where", lang, file=file, sheet=self.sheet,
                  row=self.row)
        if self.column:
            where += t("ingest.where_column", lang, column=self.column)
        return where + t("ingest.colon", lang) + self.detail(lang)

    def as_json(self, file: str, lang: str = "zh") -> dict:
        out = {"row": self.row, "column": self.column, "reason": self.reason(file, lang), "kind": self.kind}
        if self.sheet:
            out["sheet"] = self.sheet
        return out


DATE_FIELDS = ("date", "reported_on", "posted_on", "claimed_on", "completed_on")


@dataclass
class FileReport:
    file: str
    sha256: str = ""
    table: str | None = None
    sheets: list[str] = field(default_factory=list)
    header_row: int | None = None
    header: list[str] = field(default_factory=list)  # the header cells as written
    encoding: str | None = None
    rows_read: int = 0
    loaded: int = 0
    updated: int = 0
    rejected: int = 0
    skipped: Counter = field(default_factory=Counter)  # kind -> rows
    errors: list[RowError] = field(default_factory=list)
    rejected_rows: list[tuple[str, int, list[str], list[RowError]]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    ignored_sheets: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    new_names: dict[str, list[str]] = field(default_factory=dict)
    notes: list[tuple[str, dict]] = field(default_factory=list)
    fatal: tuple[str, dict] | None = None
    preview: list[dict] = field(default_factory=list)  # the first rows as they will be stored
    seen_before: str | None = None  # when the same file (by content) was imported before
    counters: Counter = field(default_factory=Counter)
    mapping: str | None = None  # the saved column mapping the file was read with
    sample: list[list[str]] = field(default_factory=list)  # the first rows under the header, for guessing a mapping
    # the earliest and latest date among the rows loaded (service, report, wish dates): which periods
    # the import touched, kept in the import log so an archived briefing can name what changed it
    first_date: dt.date | None = None
    last_date: dt.date | None = None

    def note_dates(self, row: dict) -> None:
        """Widen first_date .. last_date by the dates of a loaded row."""
        for key in DATE_FIELDS:
            value = row.get(key)
            if isinstance(value, dt.date):
                value = value.date() if isinstance(value, dt.datetime) else value
                if self.first_date is None or value < self.first_date:
                    self.first_date = value
                if self.last_date is None or value > self.last_date:
                    self.last_date = value

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def balanced(self) -> bool:
        return self.loaded + self.rejected + self.skipped_total == self.rows_read

    def template_name(self) -> str | None:
        from redservice.ingest.templates import TEMPLATES

        return TEMPLATES[self.table].name if self.table else None

    def fatal_reason(self, lang: str = "zh") -> str | None:
        if not self.fatal:
            return None
        kind, params = self.fatal
        return t("ingest.where_file", lang, file=self.file) + t("ingest.colon", lang) + \
            t(f"ingest.fatal.{kind}", lang, **params)

    def note_texts(self, lang: str = "zh") -> list[str]:
        # lists of names (ignored columns, new names) are quoted name by name, each kept short
        return [t(f"ingest.note.{kind}", lang, **{k: "、".join(quote(x) for x in v.split("、"))
                                                 if isinstance(v, str) else v for k, v in params.items()})
                for kind, params in self.notes]

    def error_kinds(self, lang: str = "zh") -> list[tuple[str, int]]:
        """(kind label, rows) — the reasons grouped by kind, most frequent first."""
        counts = Counter(e.kind for e in self.errors)
        return [(t(f"ingest.kind.{k}", lang), n) for k, n in counts.most_common()]

    def as_json(self, lang: str = "zh") -> dict:
        return {
            "file": self.file,
            "table": self.table,
            "template": self.template_name(),
            "sheets": self.sheets,
            "header_row": self.header_row,
            "encoding": self.encoding,
            "rows_read": self.rows_read,
            "loaded": self.loaded,
            "updated": self.updated,
            "rejected": self.rejected,
            "skipped": self.skipped_total,
            "skipped_by_kind": {k: self.skipped.get(k, 0) for k in SKIP_KINDS},
            "errors": [e.as_json(self.file, lang) for e in self.errors],
            "ignored_columns": self.ignored_columns,
            "ignored_sheets": self.ignored_sheets,
            "new_names": self.new_names,
            "notes": self.note_texts(lang),
            "fatal": self.fatal_reason(lang),
            "sha256": self.sha256,
            "seen_before": self.seen_before,
            "mapping": self.mapping,
        }

    def summary(self, lang: str = "zh") -> str:
        if self.fatal:
            return self.fatal_reason(lang)
        return t("ingest.summary", lang, file=self.file, template=self.template_name() or "—",
                 rows=self.rows_read, loaded=self.loaded, updated=self.updated, rejected=self.rejected,
                 skipped=self.skipped_total, blank=self.skipped.get("blank", 0),
                 total=self.skipped.get("total", 0), duplicate=self.skipped.get("duplicate", 0))

    def rejected_frame(self, lang: str = "zh") -> pd.DataFrame:
        """The rejected rows as written in the file, with the sheet, row number and 错误原因."""
        width = max([len(self.header)] + [len(cells) for _, _, cells, _ in self.rejected_rows] or [0])
        header = [h.strip() or f"列{i + 1}" for i, h in enumerate(self.header + [""] * (width - len(self.header)))]
        seen: Counter = Counter()
        unique = []
        for h in header:  # duplicate headers get a suffix so the frame keeps every column
            seen[h] += 1
            unique.append(h if seen[h] == 1 else f"{h}({seen[h]})")
        records = []
        for sheet, row, cells, errors in self.rejected_rows:
            values = list(cells) + [""] * (width - len(cells))
            record = {t("ingest.col.row", lang): row}
            if len(self.sheets) > 1:
                record[t("ingest.col.sheet", lang)] = sheet
            record.update(zip(unique, values))
            record[REASON_COLUMN] = "；".join(e.detail(lang) + (f"（{e.column}）" if e.column else "")
                                             for e in errors)
            records.append(record)
        return pd.DataFrame(records)


def rejected_excel(reports: list[FileReport], lang: str = "zh") -> bytes:
    """One workbook, a sheet per file with rejected rows (original cells + 错误原因)."""
    buf = io.BytesIO()
    from redservice.export import excel_writer

    with excel_writer(buf) as writer:
        used = set()
        wrote = False
        for report in reports:
            frame = report.rejected_frame(lang)
            if frame.empty:
                continue
            base = (report.template_name() or report.file)[:25]
            name, n = base, 1
            while name in used:
                n += 1
                name = f"{base}{n}"
            used.add(name)
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            text = writer.book.add_format({"num_format": "@"})
            sheet.set_column(0, len(frame.columns) - 1, 16, text)
            sheet.set_column(len(frame.columns) - 1, len(frame.columns) - 1, 60)
            wrote = True
        if not wrote:
            pd.DataFrame({REASON_COLUMN: []}).to_excel(writer, sheet_name="Sheet1", index=False)
    return buf.getvalue()
