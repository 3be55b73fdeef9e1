"""The briefing as editable Office files, from its snapshot (``snapshot.freeze``):

- Word (python-docx): A4 with the margins of a government document (GB/T 9704: 37 / 35 / 28 / 26 mm),
  the title, the period and filters, the summary paragraph, the KPI table (this period, the compared
  period, the change), one table per chart with its data, and the footnote. Body text in
  仿宋_GB2312, headings and the title in 黑体, set for East Asian text through ``w:eastAsia`` (Latin
  digits in Times New Roman); the font table names the fallbacks a machine without the GB2312
  fonts uses (仿宋, 黑体 → FangSong, SimHei).
- PowerPoint (python-pptx): 16:9, a title slide, a KPI slide (tiles drawn as text boxes), the summary
  on a slide of its own, one slide per chart drawn as a native chart whose data PowerPoint and WPS
  edit ("编辑数据"), never a picture, and the footnote. Fonts set for East Asian text (``a:ea``);
  the app's colours.

User text (names of units, communities, categories, a note) is only ever written as text runs.
"""

from __future__ import annotations

import copy
import functools
import io
from contextlib import contextmanager

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.chart.xlsx import CategoryWorkbookWriter
from pptx.dml.color import RGBColor as PptxRGB
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Inches
from pptx.util import Pt as PPt
from xlsxwriter import Workbook

from redservice.brief.snapshot import shown
from redservice.charts import GOLD, GREY, INK, RED
from redservice.export import WORKBOOK_OPTIONS
from redservice.i18n import t

BODY_FONT = "仿宋_GB2312"
HEADING_FONT = "黑体"
LATIN_FONT = "Times New Roman"
# what Word/WPS/LibreOffice use when the named font is missing (the font table's altName)
FALLBACKS = {"仿宋_GB2312": "仿宋", "黑体": "SimHei", "仿宋": "FangSong"}
SLIDE_FONT = "微软雅黑"  # slides: a sans-serif face, as presentations in government offices use
SLIDE_LATIN = "Arial"
TILE_BG = "F7F2F0"
SERIES_COLOURS = (RED, GOLD)
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def _hex(colour: str) -> str:
    return colour.lstrip("#").upper()


# -- Word ----------------------------------------------------------------------------------------

def _docx_fonts(rpr_owner, east_asian: str, size: float | None = None, bold: bool | None = None) -> None:
    """Set a style's or a run's fonts: East Asian text in ``east_asian``, Latin in Times New Roman."""
    font = rpr_owner.font
    font.name = LATIN_FONT
    if size:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    rpr = rpr_owner.element.get_or_add_rPr() if hasattr(rpr_owner.element, "get_or_add_rPr") \
        else rpr_owner._element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:hint"), "eastAsia")


def _font_table_fallbacks(document) -> None:
    """Name the GB2312 faces in the font table with their fallbacks (w:altName), charset GB2312."""
    part = next(p for p in document.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml")
    root = etree.fromstring(part.blob)
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    for name, alt in FALLBACKS.items():
        font = etree.SubElement(root, f"{{{w}}}font", {f"{{{w}}}name": name})
        etree.SubElement(font, f"{{{w}}}altName", {f"{{{w}}}val": alt})
        etree.SubElement(font, f"{{{w}}}charset", {f"{{{w}}}val": "86"})
        etree.SubElement(font, f"{{{w}}}family", {f"{{{w}}}val": "modern" if name != "黑体" else "swiss"})
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _cell_templates(bold: bool, size: float = 10.5) -> tuple:
    """The paragraph and run properties of a table cell, built once per table and copied into each
    cell (setting them through python-docx's API cell by cell took most of the document's time)."""
    ppr = OxmlElement("w:pPr")
    spacing = OxmlElement("w:spacing")
    for attr, value in (("w:after", "0"), ("w:line", "240"), ("w:lineRule", "auto")):
        spacing.set(qn(attr), value)
    ppr.append(spacing)
    rpr = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for attr in ("w:ascii", "w:hAnsi"):
        fonts.set(qn(attr), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), HEADING_FONT if bold else BODY_FONT)
    fonts.set(qn("w:hint"), "eastAsia")
    rpr.append(fonts)
    if bold:
        rpr.append(OxmlElement("w:b"))
    for tag in ("w:sz", "w:szCs"):
        el = OxmlElement(tag)
        el.set(qn("w:val"), str(int(size * 2)))
        rpr.append(el)
    return ppr, rpr


def _cell(cell, text: str, templates: tuple, align: str = "left") -> None:
    ppr, rpr = templates
    p = cell._tc.p_lst[0]
    props = copy.deepcopy(ppr)
    jc = OxmlElement("w:jc")
    jc.set(qn("w:val"), align)
    props.append(jc)
    p.insert(0, props)
    run = OxmlElement("w:r")
    run.append(copy.deepcopy(rpr))
    t_el = OxmlElement("w:t")
    t_el.text = text
    t_el.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    run.append(t_el)
    p.append(run)


def _shade(cell, colour: str) -> None:
    props = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    props.append(shading)


def _docx_table(document, header: list[str], rows: list[list[str]], numeric: list[bool]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    head, body = _cell_templates(True), _cell_templates(False)
    for cell, text in zip(table.rows[0].cells, header):
        _cell(cell, text, head, "center")
        _shade(cell, TILE_BG)
    for values in rows:
        cells = table.add_row().cells
        for cell, text, num in zip(cells, values, numeric):
            _cell(cell, text, body, "right" if num else "left")
    # the header row repeats on every page a long table runs onto
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)


def kpi_rows(snap: dict) -> list[list[str]]:
    """The KPI table: figure, this period, the compared period, the change (as the tiles write it)."""
    return [[k["label"], k["shown"], k["previous_shown"], k["delta"] or "—"] for k in snap["kpis"]]


def chart_rows(chart: dict, lang: str) -> list[list[str]]:
    return [[shown(v, c, lang) for v, c in zip(row, chart["columns"])] for row in chart["rows"]]


def to_docx(snap: dict, note: str | None = None) -> bytes:
    """The briefing as a Word document (A4 portrait)."""
    lang = snap["lang"]
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = document.styles["Normal"]
    _docx_fonts(normal, BODY_FONT, 16)  # 三号仿宋, as the body of a government document
    normal.paragraph_format.line_spacing = Pt(28)
    for name in ("Heading 1", "Heading 2", "Title"):
        style = document.styles[name]
        borders = style.element.pPr.find(qn("w:pBdr")) if style.element.pPr is not None else None
        if borders is not None:  # the template's blue rule under the title
            borders.getparent().remove(borders)
        _docx_fonts(style, HEADING_FONT, 22 if name == "Title" else 16 if name == "Heading 1" else 14, False)
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.italic = False
    _font_table_fallbacks(document)
    document.core_properties.title = snap["title"]
    document.core_properties.language = "zh-CN" if lang == "zh" else "en-GB"

    title = document.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.add_run(snap["title"])
    for line in snap["filter_lines"]:
        p = document.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _docx_fonts(p.add_run(line), BODY_FONT, 12)
    if note:
        p = document.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _docx_fonts(p.add_run(note), BODY_FONT, 12)

    document.add_heading(t("office.h_summary", lang), level=1)
    p = document.add_paragraph()
    p.paragraph_format.first_line_indent = Pt(32) if lang == "zh" else None  # two characters
    _docx_fonts(p.add_run(snap["text"]), BODY_FONT)

    document.add_heading(t("office.h_kpis", lang), level=1)
    header = [t("office.col_kpi", lang), t("office.col_current", lang), t("office.col_previous", lang),
              t("office.col_change", lang)]
    _docx_table(document, header, kpi_rows(snap), [False, True, True, True])
    _docx_fonts(document.add_paragraph().add_run(snap["compare"]["text"]), BODY_FONT, 10.5)

    document.add_heading(t("office.h_charts", lang), level=1)
    for chart in snap["charts"]:
        document.add_heading(chart["title"], level=2)
        _docx_table(document, [c["label"] for c in chart["columns"]], chart_rows(chart, lang),
                    [c["kind"] != "text" for c in chart["columns"]])
    document.add_paragraph()
    for line in snap["footnote"]:
        p = document.add_paragraph()
        p.paragraph_format.line_spacing = Pt(16)
        _docx_fonts(p.add_run(line), BODY_FONT, 10.5)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# -- PowerPoint ----------------------------------------------------------------------------------

W, H = Inches(13.333), Inches(7.5)  # 16:9
MARGIN = Inches(0.5)


def _pptx_font(font, size: float, bold: bool = False, colour: str = INK) -> None:
    font.size = PPt(size)
    font.bold = bold
    font.name = SLIDE_LATIN
    font.color.rgb = PptxRGB.from_string(_hex(colour))
    rpr = font._rPr
    for tag in ("a:ea", "a:cs"):
        el = rpr.find(qn(tag))
        if el is None:
            el = rpr.makeelement(qn(tag), {})
            rpr.append(el)
        el.set("typeface", SLIDE_FONT)


def _text(slide, left, top, width, height, lines, size: float = 18, bold: bool = False, colour: str = INK,
          align=PP_ALIGN.LEFT, anchor=MSO_ANCHOR.TOP):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    for i, line in enumerate([lines] if isinstance(lines, str) else lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.alignment = align
        run = paragraph.add_run()
        run.text = line
        _pptx_font(run.font, size, bold, colour)
    return box


def _slide_title(slide, text: str) -> None:
    _text(slide, MARGIN, Inches(0.3), W - 2 * MARGIN, Inches(0.8), text, 26, True, INK)
    line = slide.shapes.add_connector(1, MARGIN, Inches(1.1), W - MARGIN, Inches(1.1))
    line.line.color.rgb = PptxRGB.from_string(_hex(RED))
    line.line.width = PPt(2)


def _footer(slide, text: str) -> None:
    _text(slide, MARGIN, H - Inches(0.55), W - 2 * MARGIN, Inches(0.45), text, 10, False, GREY)


class _TextWorkbookWriter(CategoryWorkbookWriter):
    """The workbook inside a chart (what 编辑数据 opens), written like our Excel exports: a category
    reading "=HYPERLINK(…)" stays text (python-pptx's own writer would make it a formula)."""

    @contextmanager
    def _open_worksheet(self, xlsx_file):
        workbook = Workbook(xlsx_file, {"in_memory": True, **WORKBOOK_OPTIONS})
        worksheet = workbook.add_worksheet()
        yield workbook, worksheet
        workbook.close()


class _ChartData(CategoryChartData):
    @functools.cached_property
    def _workbook_writer(self):
        return _TextWorkbookWriter(self)


def _chart(slide, chart: dict, lang: str) -> None:
    spec = chart["chart"]
    keys = [c["key"] for c in chart["columns"]]
    cat = keys.index(spec["category"])
    data = _ChartData()
    data.categories = [row[cat] for row in chart["rows"]]
    percent = False
    for key in spec["series"]:
        column = chart["columns"][keys.index(key)]
        percent = percent or column["kind"] == "percent"
        values = [row[keys.index(key)] for row in chart["rows"]]
        data.add_series(column["label"], values, number_format="0.0%" if column["kind"] == "percent" else
                        ("0.0" if column.get("decimals") else "0"))
    kind = XL_CHART_TYPE.BAR_CLUSTERED if spec["type"] == "bar" else XL_CHART_TYPE.COLUMN_CLUSTERED
    frame = slide.shapes.add_chart(kind, MARGIN, Inches(1.3), W - 2 * MARGIN, H - Inches(2.0), data)
    native = frame.chart
    native.font.size = PPt(12)
    _pptx_font(native.font, 12)
    native.has_legend = len(spec["series"]) > 1
    if native.has_legend:
        native.legend.position = XL_LEGEND_POSITION.TOP
        native.legend.include_in_layout = False
    if spec["type"] == "bar":  # the first row (the largest) at the top, as on the page
        native.category_axis.reverse_order = True
    native.value_axis.has_major_gridlines = True
    native.value_axis.major_gridlines.format.line.color.rgb = PptxRGB.from_string("E0E0E0")
    if percent:
        native.value_axis.tick_labels.number_format = "0%"
        native.value_axis.tick_labels.number_format_is_linked = False
    plot = native.plots[0]
    plot.gap_width = 60
    plot.has_data_labels = len(chart["rows"]) <= 24
    if plot.has_data_labels:
        labels = plot.data_labels
        labels.position = XL_LABEL_POSITION.OUTSIDE_END
        labels.number_format = "0.0%" if percent else "General"  # 3118, 2170.5: as the data are
        labels.number_format_is_linked = False
        _pptx_font(labels.font, 10)
    for series, colour in zip(plot.series, SERIES_COLOURS):
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = PptxRGB.from_string(_hex(colour))


MAP_W, MAP_H = 1100, 560  # px of the map picture (16:9 slide body, drawn at scale 2)


def map_image(data) -> bytes | None:
    """The coverage map of the briefing (``briefing.Briefing``) as a PNG for the deck, drawn on the
    server like the whole-briefing PNG; None when there is nothing to draw or no browser to draw it
    (the deck then has the coverage bar chart only)."""
    from redservice import briefing_figure, render

    if data.map_rows.empty or not data.map_shapes.get("features"):
        return None
    fig = briefing_figure.coverage_figure(data.map_rows, data.map_shapes, data.settings, data.lang,
                                          None, height=MAP_H, legend="right")
    fig.update_layout(width=MAP_W, height=MAP_H)
    try:
        return render.render(fig, ("png",), width=MAP_W, height=MAP_H, scale=2, lang=data.lang)["png"]
    except render.RenderError:
        return None


def to_pptx(snap: dict, note: str | None = None, map_png: bytes | None = None) -> bytes:
    """The briefing as a 16:9 deck with native, editable charts (and the coverage map as a picture
    after the coverage chart, when ``map_png`` is given)."""
    lang = snap["lang"]
    deck = Presentation()
    deck.slide_width, deck.slide_height = W, H
    blank = deck.slide_layouts[6]
    deck.core_properties.title = snap["title"]
    source_line = snap["footnote"][0]

    slide = deck.slides.add_slide(blank)
    band = slide.shapes.add_shape(1, 0, Inches(2.3), W, Inches(0.08))
    band.fill.solid()
    band.fill.fore_color.rgb = PptxRGB.from_string(_hex(RED))
    band.line.fill.background()
    _text(slide, MARGIN, Inches(2.6), W - 2 * MARGIN, Inches(1.6), snap["title"], 34, True, INK, PP_ALIGN.CENTER)
    sub = [snap["period"]["text"]] + ([note] if note else [])
    _text(slide, MARGIN, Inches(4.3), W - 2 * MARGIN, Inches(1.0), sub, 20, False, GREY, PP_ALIGN.CENTER)
    _footer(slide, source_line)

    slide = deck.slides.add_slide(blank)
    _slide_title(slide, t("office.h_kpis", lang))
    per_row, gap = 5, Inches(0.2)
    tile_w = (W - 2 * MARGIN - gap * (per_row - 1)) // per_row
    tile_h = Inches(2.1)
    for i, k in enumerate(snap["kpis"]):
        left = MARGIN + (tile_w + gap) * (i % per_row)
        top = Inches(1.5) + (tile_h + gap) * (i // per_row)
        tile = slide.shapes.add_shape(1, left, top, tile_w, tile_h)
        tile.fill.solid()
        tile.fill.fore_color.rgb = PptxRGB.from_string(TILE_BG)
        tile.line.fill.background()
        frame = tile.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        lines = [(k["label"], 14, False, GREY), (k["shown"], 26, True, RED)]
        if k["delta"]:
            vs = t(f"kpi.vs_{snap['compare']['kind']}", lang)
            lines.append((f"{vs} {k['delta']}", 12, False, INK))
        for j, (text, size, bold, colour) in enumerate(lines):
            paragraph = frame.paragraphs[0] if j == 0 else frame.add_paragraph()
            paragraph.alignment = PP_ALIGN.CENTER
            run = paragraph.add_run()
            run.text = text
            _pptx_font(run.font, size, bold, colour)
    _footer(slide, snap["compare"]["text"])

    slide = deck.slides.add_slide(blank)
    _slide_title(slide, t("office.h_summary", lang))
    _text(slide, MARGIN, Inches(1.5), W - 2 * MARGIN, Inches(5.0), snap["text"], 22)
    _footer(slide, source_line)

    for chart in snap["charts"]:
        slide = deck.slides.add_slide(blank)
        _slide_title(slide, chart["title"])
        _chart(slide, chart, lang)
        _footer(slide, snap["period"]["text"])
        if chart["code"] == "coverage" and map_png:
            slide = deck.slides.add_slide(blank)
            _slide_title(slide, t("office.map_title", lang, title=chart["title"]))
            height = H - Inches(2.0)
            width = int(height * MAP_W / MAP_H)
            slide.shapes.add_picture(io.BytesIO(map_png), (W - width) // 2, Inches(1.3), width, height)
            _footer(slide, snap["period"]["text"])

    slide = deck.slides.add_slide(blank)
    _slide_title(slide, t("office.h_notes", lang))
    _text(slide, MARGIN, Inches(1.5), W - 2 * MARGIN, Inches(5.0), snap["footnote"], 14, False, GREY)
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()

