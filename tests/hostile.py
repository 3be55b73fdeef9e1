"""Hostile and unusual files for the importer, written by code: workbooks whose cells carry no
``r`` reference, one huge shared string, a zip bomb whose header lies, long names, formula text."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl

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
