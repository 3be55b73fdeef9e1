"""Hostile and unusual files for the importer, written by code: workbooks whose cells carry no
``r`` reference, one huge shared string, a zip bomb whose header lies, long names, formula text."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl

from redservice import upload_memory

CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/>'
      '<Override PartName="/xl/workbook.xml" '
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
      '<Override PartName="/xl/worksheets/sheet1.xml" '
      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
      '{extra}</Types>')
SST_CT = ('<Override PartName="/xl/sharedStrings.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>')
WB = ('<?xml version="1.0" encoding="UTF-8"?><workbook '
      'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
      'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
      '<sheets><sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>')
WB_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
           'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
           '<Relationship Id="rId1" '
           'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
           'Target="worksheets/sheet1.xml"/>{extra}</Relationships>')
SST_REL = ('<Relationship Id="rId2" '
           'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
           'Target="sharedStrings.xml"/>')


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def handwritten_xlsx(rows: list[list[str | None]], shared: list[str] | None = None,
                     sheet_xml: str | None = None) -> bytes:
    """A minimal workbook written by hand, the way small generators do it: inline strings, no
    ``r`` on rows or cells, an empty ``<c/>`` for an empty cell. ``shared`` adds a sharedStrings
    part (cells then refer to it with t="s")."""
    if sheet_xml is None:
        body = []
        for row in rows:
            cells = "".join("<c/>" if v is None else f'<c t="inlineStr"><is><t>{_esc(v)}</t></is></c>' for v in row)
            body.append(f"<row>{cells}</row>")
        sheet_xml = ('<?xml version="1.0" encoding="UTF-8"?><worksheet '
                     'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                     + "".join(body) + "</sheetData></worksheet>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CT.format(extra=SST_CT if shared is not None else ""))
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS.format(extra=SST_REL if shared is not None else ""))
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared is not None:
            z.writestr("xl/sharedStrings.xml",
                       '<?xml version="1.0" encoding="UTF-8"?><sst '
                       'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                       + "".join(f"<si><t>{_esc(s)}</t></si>" for s in shared) + "</sst>")
    return buf.getvalue()


def strip_refs(data: bytes) -> bytes:
    """The same workbook with every ``r="A1"`` cell reference removed (rows keep theirs)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                content = re.sub(rb'(<c\b[^>]*?)\s+r="[A-Z]+[0-9]+"', rb"\1", content)
                content = re.sub(rb"<dimension[^>]*/>", b"", content)
            out.writestr(info.filename, content)
    return buf.getvalue()


def openpyxl_no_refs(rows) -> bytes:
    """Written by openpyxl (which writes an empty styled cell as ``<c s=".."/>``), references removed."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "台账"
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row, start=1):
            cell = ws.cell(i, j, value)
            if value is None:
                cell.number_format = "@"  # forces openpyxl to write the empty cell
    buf = io.BytesIO()
    book.save(buf)
    return strip_refs(buf.getvalue())


def xlsxwriter_no_refs(rows) -> bytes:
    """Written by xlsxwriter (shared strings, blank cells written with a format), references removed."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False})
    ws = book.add_worksheet("台账")
    fmt = book.add_format({"bold": True})
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is None:
                ws.write_blank(i, j, None, fmt)
            else:
                ws.write_string(i, j, value)
    book.close()
    return strip_refs(buf.getvalue())


# -- the probe's hostile files ---------------------------------------------------------------------------
SERVICES_H = ["服务日期", "姓名", "所属单位", "服务社区", "服务类别", "服务时长（小时）"]


def _sheet(rows_xml: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><worksheet '
            'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + rows_xml + "</sheetData></worksheet>")


def _inline_row(values) -> str:
    return "<row>" + "".join(f'<c t="inlineStr"><is><t>{_esc(v)}</t></is></c>' for v in values) + "</row>"


def huge_shared_string(megabytes: int, row=("2025-04-01", "李明强", "县卫生健康局", "河阳社区", "送政策", "2")) -> bytes:
    """A 服务台账 whose 姓名 cell refers to one shared string of ``megabytes`` MB, written in
    chunks (the test never holds the string; the archive stays a few hundred KB)."""
    header = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in SERVICES_H)
    cells = "".join('<c t="s"><v>0</v></c>' if i == 1 else f'<c t="inlineStr"><is><t>{v}</t></is></c>'
                    for i, v in enumerate(row))
    sheet = _sheet(f"<row>{header}</row><row>{cells}</row>")
    base = handwritten_xlsx([], shared=[], sheet_xml=sheet)
    src = zipfile.ZipFile(io.BytesIO(base))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != "xl/sharedStrings.xml":
                out.writestr(info.filename, src.read(info.filename))
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8"?><sst '
                     b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
            chunk = "名".encode() * (1 << 18)  # 768 KB
            for _ in range(megabytes * 4 // 3):
                fh.write(chunk)
            fh.write(b"</t></si></sst>")
    return buf.getvalue()


def lying_zip_bomb(megabytes: int = 300) -> bytes:
    """A sheet of ``megabytes`` MB whose zip headers (local and central) claim 1,000 bytes."""
    import struct

    buf = io.BytesIO()
    row = _inline_row(["2025-04-01", "李明强", "县卫生健康局", "河阳社区", "送政策", "2"]).encode()
    with zipfile.ZipFile(io.BytesIO(handwritten_xlsx([SERVICES_H]))) as src, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info.filename, src.read(info.filename))
        with out.open("xl/worksheets/sheet1.xml", "w", force_zip64=False) as fh:
            fh.write(_sheet("").split("</sheetData>")[0].encode())
            block = row * ((1 << 20) // len(row))
            for _ in range(megabytes):
                fh.write(block)
            fh.write(b"</sheetData></worksheet>")
    data = bytearray(buf.getvalue())
    small = struct.pack("<I", 1000)
    name = b"xl/worksheets/sheet1.xml"
    i = data.find(b"PK\x03\x04")
    while i != -1:  # local headers: size at +22; central directory: size at +24
        if data[i + 30:i + 30 + len(name)] == name:
            data[i + 22:i + 26] = small
        i = data.find(b"PK\x03\x04", i + 4)
    j = data.find(b"PK\x01\x02")
    while j != -1:
        if data[j + 46:j + 46 + len(name)] == name:
            data[j + 24:j + 28] = small
        j = data.find(b"PK\x01\x02", j + 4)
    return bytes(data)


def long_value_rows(n: int, chars: int) -> bytes:
    """A CSV 服务台账 of ``n`` rows whose 所属单位 is a different unknown name of ``chars`` characters
    (the file the upload-memory measurement uploads)."""
    return upload_memory.ledger(n, chars)


def huge_name_inline(megabytes: int) -> bytes:
    """A 单位名录 xlsx whose one unit name is an inline string of ``megabytes`` MB."""
    name = "单" * (megabytes * (1 << 20) // 3)
    return handwritten_xlsx([["单位名称", "单位类别"], [name, "机关"], ["正常单位", "机关"]])
