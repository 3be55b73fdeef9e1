"""Decoding a ledger file into rows of strings, whatever it arrived as.

The file type comes from its first bytes, not its name (a ``.csv`` that is really a workbook is read
as one). CSV text: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text", usually
tab-separated), else GB18030 (a superset of GBK); undecodable bytes become U+FFFD so that the row
holding them is rejected, not the file. ``.xlsx`` with openpyxl in read-only mode, parsed through
defusedxml (entity expansion — the "billion laughs" bomb — is refused) after a check of the
archive's uncompressed size, in total and per part (zip bombs, one huge shared string); shared
strings and sheets are streamed, each cell kept to ``Limits.max_field_chars`` + 1 characters; a
cell's column comes from its ``r`` reference, or from its place in the row when it has none.
``.xls`` with xlrd. ``read_isolated`` does the same in a child process under memory and time limits
(the web page). Merged cells hand their value to every cell of the range. Every row keeps the number Excel shows for it; blank rows after the last
non-blank one are not rows of the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import zipfile
from dataclasses import dataclass, field

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_COLUMNS = 512
_BARE_CR = re.compile(r"\r(?!\n)")
_CR_MARK = "\ue000"  # a private-use character stands in for a bare CR while the CSV is split
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")


class ReadError(Exception):
    """The file as a whole cannot be read. ``kind`` names a catalogue message, ``params`` fill it."""

    def __init__(self, kind: str, **params):
        super().__init__(kind, params)
        self.kind = kind
        self.params = params


@dataclass
class Sheet:
    name: str
    rows: list[tuple[int, list[str]]]  # (row number as Excel shows it, cells)
    merged: int = 0  # merged ranges spread over their cells


@dataclass
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_unzipped_bytes: int = 600 * 1024 * 1024
    max_rows: int = 1_000_000
    max_part_bytes: int = 200 * 1024 * 1024  # one sheet or the shared strings, uncompressed
    max_field_chars: int = 2000  # a cell longer than this is kept as its first max_field_chars + 1
    max_name_chars: int = 100  # names, codes, dates, numbers (checked by the importer)
    parse_timeout_s: float = 60.0  # the child process that reads an upload on the page
    parse_memory_mb: int = 1536  # its address-space limit

    @classmethod
    def from_settings(cls, settings: dict) -> "Limits":
        cfg = settings.get("import", {})
        return cls(
            max_bytes=int(float(cfg.get("max_file_mb", 50)) * 1024 * 1024),
            max_unzipped_bytes=int(float(cfg.get("max_unzipped_mb", 600)) * 1024 * 1024),
            max_rows=int(cfg.get("max_rows", 1_000_000)),
            max_part_bytes=int(float(cfg.get("max_part_mb", 200)) * 1024 * 1024),
            max_field_chars=int(cfg.get("max_field_chars", 2000)),
            max_name_chars=int(cfg.get("max_name_chars", 100)),
            parse_timeout_s=float(cfg.get("parse_timeout_s", 60)),
            parse_memory_mb=int(cfg.get("parse_memory_mb", 1536)),
        )


@dataclass
class Workbook:
    kind: str  # csv | xlsx | xls
    sheets: list[Sheet]
    encoding: str | None = None
    notes: list[tuple[str, dict]] = field(default_factory=list)


# -- cells as text --------------------------------------------------------------------------------
def cell_text(value) -> str:
    """A cell's value as the text a person would type: dates ISO, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds() / 3600)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).upper() if "e" in repr(value) else repr(value)
    return str(value)


class _Rows:
    """Collects rows, dropping trailing blank ones without materialising them (a sheet formatted
    down to row 1,048,576 costs a counter, not a million lists)."""

    def __init__(self, limits: Limits):
        self.rows: list[tuple[int, list[str]]] = []
        self.pending: list[int] = []
        self.limits = limits
        self.count = 0

    def add(self, number: int, cells: list[str]) -> None:
        while cells and not cells[-1].strip():
            cells.pop()
        if not cells:
            if len(self.pending) < 100_000:
                self.pending.append(number)
            return
        for n in self.pending:
            self.rows.append((n, []))
        self.pending.clear()
        if len(cells) > MAX_COLUMNS:
            cells = cells[:MAX_COLUMNS]
        cap = self.limits.max_field_chars + 1
        for i, cell in enumerate(cells):
            if len(cell) > cap:  # over the limit: the importer rejects it; keep no more than it needs
                cells[i] = cell[:cap]
        self.rows.append((number, cells))
        self.count += 1
        if self.count > self.limits.max_rows:
            raise ReadError("too_many_rows", limit=self.limits.max_rows)


# -- CSV --------------------------------------------------------------------------------------------
def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding name). Never raises: bytes that fit no encoding become U+FFFD."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", errors="replace"), "UTF-16"
    head = data[:4000]
    if head.count(b"\x00") >= max(2, len(head) // 20) and len(data) % 2 == 0:
        # UTF-16 without a BOM: ASCII characters carry a NUL byte, all on one side
        for encoding, nul_side in (("utf-16-le", head[1::2]), ("utf-16-be", head[0::2])):
            if nul_side.count(b"\x00") >= head.count(b"\x00") * 0.9:
                try:
                    text = data.decode(encoding)
                except UnicodeDecodeError:
                    continue
                if "\n" in text or "\r" in text or len(text) < 200:
                    return text, "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    # Not all UTF-8. If most lines with non-ASCII bytes are UTF-8, the file is UTF-8 with some
    # damaged lines: those become U+FFFD and their rows are rejected, not guessed at.
    utf8 = other = 0
    for line in data.split(b"\n"):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    if utf8 > other:
        return data.decode("utf-8", errors="replace"), "UTF-8"
    try:
        return data.decode("gb18030"), "GB18030"
    except UnicodeDecodeError:
        pass
    as_utf8 = data.decode("utf-8", errors="replace")
    as_gb = data.decode("gb18030", errors="replace")
    if as_utf8.count("\ufffd") <= as_gb.count("\ufffd"):
        return as_utf8, "UTF-8"
    return as_gb, "GB18030"


def _delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    scores = {d: sum(ln.count(d) for ln in lines) for d in (",", "\t", ";")}
    best = max(scores, key=lambda d: (scores[d], d == ","))
    return best if scores[best] else ","


def read_csv(data: bytes, limits: Limits) -> Workbook:
    text, encoding = decode_text(data)
    notes: list[tuple[str, dict]] = []
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\n" in text and _BARE_CR.search(text):
        # Line breaks are LF or CRLF, so a CR on its own is inside a cell (an unquoted Alt+Enter).
        text = _BARE_CR.sub(_CR_MARK, text)
        notes.append(("bare_cr", {}))
    text = text.replace("\x00", "\ufffd")
    csv.field_size_limit(16 * 1024 * 1024)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    rows = _Rows(limits)
    try:
        for number, record in enumerate(reader, start=1):
            rows.add(number, [c.replace(_CR_MARK, "\n") for c in record])
    except csv.Error as exc:
        raise ReadError("csv_broken", line=reader.line_num, detail=str(exc)) from exc
    return Workbook("csv", [Sheet("", rows.rows)], encoding, notes)


# -- xlsx -------------------------------------------------------------------------------------------
def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _xlsx_merges(zf: zipfile.ZipFile, sheet_path: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges (row1, col1, row2, col2), read from the sheet XML without building a tree
    (read-only openpyxl does not report them)."""
    found = []
    with zf.open(sheet_path) as fh:
        tail = b""
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            buf = tail + chunk
            cut = buf.rfind(b"<")
            scan, tail = (buf[:cut], buf[cut:]) if cut > len(buf) - 512 else (buf, b"")
            for m in _MERGE.finditer(scan):
                c1, r1, c2, r2 = m.group(1), m.group(2), m.group(3) or m.group(1), m.group(4) or m.group(2)
                found.append((int(r1), _col_index(c1), int(r2), _col_index(c2)))
        for m in _MERGE.finditer(tail):
            c1, r1, c2, r2 = m.group(1), m.group(2), m.group(3) or m.group(1), m.group(4) or m.group(2)
            found.append((int(r1), _col_index(c1), int(r2), _col_index(c2)))
    return found


def _spread_merges(rows: list[tuple[int, list[str]]], merges) -> int:
    """Give the top-left value of each merged range to every cell of the range."""
    if not merges:
        return 0
    index = {number: i for i, (number, _) in enumerate(rows)}
    spread = 0
    for r1, c1, r2, c2 in merges:
        if (r2 - r1 + 1) * (c2 - c1 + 1) > 200_000 or r1 not in index:
            continue
        top = rows[index[r1]][1]
        value = top[c1 - 1] if c1 - 1 < len(top) else ""
        if not value:
            continue
        spread += 1
        for r in range(r1, r2 + 1):
            if r not in index:
                continue
            cells = rows[index[r]][1]
            if c2 > len(cells):
                cells.extend([""] * (c2 - len(cells)))
            for c in range(c1, c2 + 1):
                if not cells[c - 1]:
                    cells[c - 1] = value
    return spread


def _check_zip(data: bytes, limits: Limits) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ReadError("broken_workbook", detail=str(exc)[:200]) from exc
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes or len(infos) > 10_000:
        raise ReadError("zip_bomb", size_mb=round(total / 1024 / 1024))
    # Every part is bounded too (a single 400 MB shared string must not be read at all). The sizes
    # are the ones the archive declares; zipfile never inflates a part beyond its declared size (a
    # part whose header lies ends in a CRC error), so checking them is checking what will be read.
    for info in infos:
        if info.file_size > limits.max_part_bytes:
            raise ReadError("part_too_large", part=info.filename[-60:], size_mb=round(info.file_size / 2**20),
                            limit_mb=round(limits.max_part_bytes / 2**20))
    return zf


class _SharedStrings:
    """Parser target for sharedStrings.xml: each string's text (runs included, phonetic guides
    not, as openpyxl reads it), kept to ``cap`` characters so that no long string is ever held."""

    def __init__(self, cap: int):
        self.cap = cap
        self.strings: list[str] = []
        self.stack: list[str] = []
        self.parts: list[str] | None = None
        self.size = 0

    def start(self, tag, attrs):
        name = tag.rpartition("}")[2]
        self.stack.append(name)
        if name == "si":
            self.parts, self.size = [], 0

    def data(self, text):
        if self.parts is None or self.size > self.cap or len(self.stack) < 2 or self.stack[-1] != "t":
            return
        if self.stack[-2] not in ("si", "r"):
            return  # <rPh><t> phonetic text is not part of the string
        self.parts.append(text[: self.cap + 1 - self.size])
        self.size += len(text)

    def end(self, tag):
        name = self.stack.pop() if self.stack else ""
        if name == "si" and self.parts is not None:
            self.strings.append("".join(self.parts)[: self.cap + 1].replace("x005F_", ""))
            self.parts = None

    def close(self):
        return self.strings


def _read_shared_strings(src, cap: int, limit: int) -> list[str]:
    from defusedxml.ElementTree import DefusedXMLParser

    target = _SharedStrings(cap)
    parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    read = 0
    while True:
        chunk = src.read(1 << 20)
        if not chunk:
            break
        read += len(chunk)
        if read > limit:
            raise ReadError("part_too_large", part="xl/sharedStrings.xml", size_mb=round(read / 2**20),
                            limit_mb=round(limit / 2**20))
        parser.feed(chunk)
    parser.close()
    return target.strings


def _load_workbook(data: bytes, limits: Limits):
    """openpyxl's read-only workbook, its shared strings read by ``_read_shared_strings``."""
    from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader

    class Reader(ExcelReader):
        def read_strings(self):
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    self.shared_strings = _read_shared_strings(src, limits.max_field_chars + 1,
                                                               limits.max_part_bytes)

    reader = Reader(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


class _SheetTarget:
    """Parser target for one worksheet's XML: cells into rows of text. Runs inside defusedxml's
    expat parser (entity declarations raise), an order of magnitude faster than building cells."""

    def __init__(self, shared: list, date_styles: set, epoch, rows: "_Rows"):
        self.shared, self.date_styles, self.epoch, self.out = shared, date_styles, epoch, rows
        self.row_number = 0
        self.cells: list[str] = []
        self.col = 0
        self.next_col = 0
        self.type = None
        self.style = 0
        self.text: list[str] | None = None
        self.value: str | None = None
        self.in_is = False

    def start(self, tag, attrs):
        name = tag.rpartition("}")[2]
        if name == "c":
            # The position comes from the cell reference; a cell without one (several writers omit
            # it) follows the previous cell of the row, empty cells included.
            ref = attrs.get("r")
            letters = ref.rstrip("0123456789") if ref else ""
            if letters and letters.isascii() and letters.isalpha():
                n = 0
                for ch in letters.upper():
                    n = n * 26 + ord(ch) - 64
                self.col = n - 1
            else:
                self.col = self.next_col
            self.next_col = self.col + 1
            self.type = attrs.get("t", "n")
            self.style = int(attrs.get("s", 0) or 0)
            self.value = None
        elif name == "row":
            r = attrs.get("r")
            self.row_number = int(r) if r else self.row_number + 1
            self.cells = []
            self.next_col = 0
        elif name == "v" or (name == "t" and self.in_is):
            self.text = []
            self.text_len = 0
        elif name == "is":
            self.in_is = True
            self.value = ""

    cap = 1 << 62  # characters kept of one cell's text (Limits.max_field_chars + 1)
    text_len = 0

    def data(self, text):
        if self.text is not None and self.text_len <= self.cap:
            self.text.append(text[: self.cap + 1 - self.text_len])
            self.text_len += len(text)

    def end(self, tag):
        name = tag.rpartition("}")[2]
        if name == "v":
            self.value = "".join(self.text)
            self.text = None
        elif name == "t" and self.in_is:
            self.value = ((self.value or "") + "".join(self.text))[: self.cap]
            self.text = None
        elif name == "is":
            self.in_is = False
        elif name == "c":
            if self.col >= MAX_COLUMNS:
                return
            text = self._convert()
            if text:
                if self.col >= len(self.cells):
                    self.cells.extend([""] * (self.col + 1 - len(self.cells)))
                self.cells[self.col] = text
        elif name == "row":
            if self.row_number > self.out_number + 1:
                for n in range(self.out_number + 1, self.row_number):
                    self.out.add(n, [])
            self.out.add(self.row_number, self.cells)
            self.out_number = self.row_number

    out_number = 0

    def _convert(self) -> str:
        value, kind = self.value, self.type
        if value is None:
            return ""
        if kind == "s":
            try:
                return cell_text(self.shared[int(value)])
            except (ValueError, IndexError):
                return ""
        if kind in ("inlineStr", "str", "e"):
            return value.replace("_x000D_", "\n")
        if kind == "b":
            return "TRUE" if value.strip() == "1" else "FALSE"
        if kind == "d":
            return value[:10] if value[10:].strip("T0:.") == "" else value.replace("T", " ")
        try:
            number = float(value)
        except ValueError:
            return value
        if self.style in self.date_styles:
            try:
                from openpyxl.utils.datetime import from_excel

                return cell_text(from_excel(number, self.epoch))
            except (ValueError, OverflowError, TypeError):
                return cell_text(number)
        return cell_text(int(number) if number.is_integer() and abs(number) < 1e15 else number)

    def close(self):
        return None


def _read_sheet_xml(zf: zipfile.ZipFile, path: str, book, shared, limits: Limits) -> "_Rows":
    from defusedxml.ElementTree import DefusedXMLParser

    rows = _Rows(limits)
    target = _SheetTarget(shared, set(book._date_formats), book.epoch, rows)
    target.cap = limits.max_field_chars + 1
    parser = DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    read = 0
    with zf.open(path) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            read += len(chunk)
            if read > limits.max_part_bytes:
                raise ReadError("part_too_large", part=path[-60:], size_mb=round(read / 2**20),
                                limit_mb=round(limits.max_part_bytes / 2**20))
            parser.feed(chunk)
    parser.close()
    return rows


def read_xlsx(data: bytes, limits: Limits) -> Workbook:
    from openpyxl import DEFUSEDXML

    if not DEFUSEDXML:  # never parse workbook XML without entity protection
        raise ReadError("xml_unsafe")
    zf = _check_zip(data, limits)
    try:
        book = _load_workbook(data, limits)
    except (ReadError, MemoryError):
        raise
    except Exception as exc:  # openpyxl raises many types for damaged files; the file is unreadable
        raise _workbook_error(exc) from exc
    sheets = []
    try:
        for ws in book.worksheets:
            if getattr(ws, "sheet_state", "visible") != "visible":
                continue
            path = getattr(ws, "_worksheet_path", None)
            if path and path.lstrip("/") in zf.namelist():
                # the sheet's XML, parsed directly (the stored dimension is never trusted)
                shared = getattr(ws, "_shared_strings", None) or book.shared_strings
                rows = _read_sheet_xml(zf, path.lstrip("/"), book, shared, limits)
                merges = _xlsx_merges(zf, path.lstrip("/"))
            else:
                ws.reset_dimensions()
                rows = _Rows(limits)
                for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                    rows.add(number, [cell_text(v).replace("_x000D_", "\n") for v in values[:MAX_COLUMNS]])
                merges = []
            sheets.append(Sheet(ws.title, rows.rows, _spread_merges(rows.rows, merges)))
    except (ReadError, MemoryError):
        raise
    except Exception as exc:
        raise _workbook_error(exc) from exc
    finally:
        book.close()
    return Workbook("xlsx", sheets)


def _workbook_error(exc: Exception) -> ReadError:
    name = type(exc).__name__
    cause, seen = exc, 0
    while cause is not None and seen < 10:  # openpyxl wraps defusedxml's refusal in its own errors
        if type(cause).__name__ in {"EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden"}:
            return ReadError("xml_bomb")
        # with lxml installed (python-docx needs it) openpyxl parses with lxml, whose own guard stops
        # an entity expansion: the same refusal in other words
        if type(cause).__name__ == "XMLSyntaxError" and any(
                w in str(cause) for w in ("amplification", "entity reference loop", "Detected an entity")):
            return ReadError("xml_bomb")
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return ReadError("broken_workbook", detail=f"{name}: {str(exc)[:200]}")


# -- xls --------------------------------------------------------------------------------------------
def read_xls(data: bytes, limits: Limits) -> Workbook:
    import xlrd

    try:
        try:
            book = xlrd.open_workbook(file_contents=data, formatting_info=True, on_demand=True)
        except NotImplementedError:
            book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:
        raise ReadError("broken_workbook", detail=f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    sheets = []
    try:
        for index in range(book.nsheets):
            sh = book.sheet_by_index(index)
            if getattr(sh, "visibility", 0):
                continue
            rows = _Rows(limits)
            for r in range(sh.nrows):
                cells = []
                for c in range(min(sh.ncols, MAX_COLUMNS)):
                    cell = sh.cell(r, c)
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        try:
                            cells.append(cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode)))
                        except (ValueError, OverflowError):
                            cells.append(cell_text(cell.value))
                    elif cell.ctype == xlrd.XL_CELL_ERROR:
                        cells.append(xlrd.error_text_from_code.get(cell.value, "#ERROR"))
                    elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                        cells.append(cell_text(bool(cell.value)))
                    else:
                        cells.append(cell_text(cell.value))
                rows.add(r + 1, cells)
            merges = [(r1 + 1, c1 + 1, r2, c2) for r1, r2, c1, c2 in getattr(sh, "merged_cells", [])]
            sheets.append(Sheet(sh.name, rows.rows, _spread_merges(rows.rows, merges)))
            book.unload_sheet(index)
    except (ReadError, MemoryError):
        raise
    except Exception as exc:
        raise ReadError("broken_workbook", detail=f"{type(exc).__name__}: {str(exc)[:200]}") from exc
    return Workbook("xls", sheets)


def read(data: bytes, limits: Limits | None = None) -> Workbook:
    """Decode one file. Raises ReadError when it cannot be read at all."""
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise ReadError("too_large", size_mb=round(len(data) / 1024 / 1024, 1),
                        limit_mb=round(limits.max_bytes / 1024 / 1024, 1))
    if not data.strip(b" \t\r\n\x00"):
        raise ReadError("empty")
    if data.startswith(XLSX_MAGIC):
        return read_xlsx(data, limits)
    if data.startswith(XLS_MAGIC):
        return read_xls(data, limits)
    if data[:2] == b"PK" or data.startswith(b"\xd0\xcf"):
        raise ReadError("broken_workbook", detail="truncated header")
    return read_csv(data, limits)


# -- reading in a child process -------------------------------------------------------------------------
# The web page never decodes an upload in the server process: a child process does, under an
# address-space limit and a time limit, and hands back only the rows (each cell already bounded by
# Limits.max_field_chars). The child loads this file on its own (not the redservice package), so it
# starts in a fraction of a second with only the standard library, openpyxl, defusedxml and xlrd.
_CHILD = r"""
import importlib.util, json, resource, sys
memory, seconds, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
spec = importlib.util.spec_from_file_location("redservice_read", path)
read = sys.modules["redservice_read"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(read)
limits = read.Limits(**json.loads(sys.stdin.buffer.readline()))
data = sys.stdin.buffer.read()
try:
    book = read.read(data, limits)
    out = {"kind": book.kind, "encoding": book.encoding, "notes": book.notes,
           "sheets": [[s.name, s.rows, s.merged] for s in book.sheets]}
except read.ReadError as exc:
    out = {"error": [exc.kind, exc.params]}
except MemoryError:
    out = {"error": ["parse_memory", {"mb": memory // 2**20}]}
try:  # this process's own peak (ru_maxrss would include the parent's, inherited across exec)
    out["peak_kb"] = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
except (OSError, StopIteration, ValueError):
    out["peak_kb"] = None
sys.stdout.write(json.dumps(out, ensure_ascii=False, default=str))
"""
last_child_peak_kb: int | None = None  # the last child's peak RSS (for measurements; not thread-bound)


def read_isolated(data: bytes, limits: Limits | None = None) -> Workbook:
    """``read`` in a child process limited to ``limits.parse_memory_mb`` of address space and
    ``limits.parse_timeout_s`` seconds; a child that runs out of either is a ReadError."""
    import dataclasses
    import json
    import signal
    import subprocess
    import sys

    global last_child_peak_kb
    limits = limits or Limits()
    if len(data) > limits.max_bytes:  # refused without starting a process
        return read(data, limits)
    memory = limits.parse_memory_mb * 2**20
    seconds = max(1, math.ceil(limits.parse_timeout_s))
    payload = json.dumps(dataclasses.asdict(limits)).encode() + b"\n" + data
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _CHILD, str(memory), str(seconds), __file__],
                              input=payload, capture_output=True, timeout=limits.parse_timeout_s)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed the child
        raise ReadError("parse_timeout", seconds=seconds) from exc
    try:
        out = json.loads(done.stdout)
    except ValueError:
        err = done.stderr.decode("utf-8", "replace")
        if "MemoryError" in err or done.returncode == -signal.SIGKILL:
            raise ReadError("parse_memory", mb=limits.parse_memory_mb) from None
        if done.returncode == -signal.SIGXCPU:  # RLIMIT_CPU
            raise ReadError("parse_timeout", seconds=seconds) from None
        raise ReadError("parse_failed", detail=(err.strip().splitlines() or [f"exit {done.returncode}"])[-1][:200]) \
            from None
    last_child_peak_kb = out.get("peak_kb")
    if "error" in out:
        kind, params = out["error"]
        raise ReadError(kind, **params)
    notes = [(kind, params) for kind, params in out["notes"]]
    sheets = [Sheet(name, [(number, cells) for number, cells in rows], merged) for name, rows, merged in out["sheets"]]
    return Workbook(out["kind"], sheets, out["encoding"], notes)

