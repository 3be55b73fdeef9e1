"""Editable Office exports of the briefing (redservice.brief.office): the Word document and the
PowerPoint deck are opened again with python-docx / python-pptx and checked against the page's own
figures — text, KPI table, every chart's data, native charts (not pictures), fonts, page sizes —
for the demo and for a viewer whose role limits what they see; LibreOffice converts both when it is
installed."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import Q1_2025, SMALL, write_store
from docx import Document
from docx.oxml.ns import qn
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.util import Inches

from redservice import cli, metrics, storage
from redservice.brief import office, snapshot
from redservice.config import DEMO_DIR, PROJECT_DIR
from redservice.filters import EVERYTHING, Filters, Scope
from redservice.store import Store


def demo_snapshot(lang="zh", scope=EVERYTHING, **dims):
    from argparse import Namespace

    store = Store(DEMO_DIR)
    try:
        filters = metrics.default_filters(store, scope, **dims)
        data = cli._brief_data(Namespace(lang=lang), store, filters, scope, "ytd")
        return snapshot.freeze(data), data
    finally:
        store.close()


@pytest.fixture(scope="module")
def demo():
    return demo_snapshot()


@pytest.fixture(autouse=True)
def no_map_drawing(request, monkeypatch):
    """The map picture costs a Chromium start: drawn only by the tests that ask for it."""
    if not request.node.name.startswith("test_the_deck_has_the_map"):
        monkeypatch.setattr(office, "map_image", lambda data: None)


def tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (office.MAP_W, office.MAP_H), "#B22222").save(buf, format="PNG")
    return buf.getvalue()


def test_the_deck_has_the_map_as_a_picture_after_the_coverage_chart(monkeypatch, tmp_path, capsys):
    from redservice import render

    drawn = []

    def fake_render(fig, formats, **kwargs):
        drawn.append((fig.layout.width, fig.layout.height, kwargs.get("scale")))
        return {"png": tiny_png()}

    monkeypatch.setattr(render, "render", fake_render)
    assert cli.main(["brief", "--pptx", str(tmp_path / "m.pptx")]) == 0
    assert drawn == [(office.MAP_W, office.MAP_H, 2)]
    slides = list(Presentation(str(tmp_path / "m.pptx")).slides)
    titles = [next(s.text_frame.text for s in slide.shapes if s.has_text_frame) for slide in slides]
    assert titles[3:5] == ["各社区入户覆盖率", "各社区入户覆盖率（地图）"]
    pictures = [(i, sh) for i, slide in enumerate(slides) for sh in slide.shapes
                if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert [i for i, _ in pictures] == [4] and pictures[0][1].image.blob == tiny_png()

    def no_browser(fig, formats, **kwargs):
        raise render.RenderError("没有找到 Chromium")

    monkeypatch.setattr(render, "render", no_browser)
    capsys.readouterr()
    assert cli.main(["brief", "--pptx", str(tmp_path / "n.pptx")]) == 0
    assert "未能绘制覆盖地图" in capsys.readouterr().err
    assert len(Presentation(str(tmp_path / "n.pptx")).slides) == len(slides) - 1


def docx_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def pptx_text(deck) -> str:
    out = []
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.append(shape.text_frame.text)
    return "\n".join(out)


def test_cli_writes_both_files_for_the_demo(tmp_path, capsys):
    docx_path, pptx_path = tmp_path / "out" / "汇报.docx", tmp_path / "汇报.pptx"
    assert cli.main(["brief", "--docx", str(docx_path), "--pptx", str(pptx_path)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("今年以来，全县145个党支部") and "DOCX:" in out.err and "PPTX:" in out.err
    document = Document(str(docx_path))
    deck = Presentation(str(pptx_path))
    assert "平陆县在职党员进社区工作情况（2025年1月1日—3月31日）" in document.paragraphs[0].text
    assert "联系群众7742户" in docx_text(document) and "联系群众7742户" in pptx_text(deck)


def test_word_document(demo):
    snap, data = demo
    document = Document(io.BytesIO(office.to_docx(snap, note="报县委组织部")))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4 portrait
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == snap["title"]
    assert "统计期间：2025年1月1日—3月31日" in paragraphs and "报县委组织部" in paragraphs
    assert data.text in paragraphs  # the summary paragraph, whole
    assert snap["footnote"][0] in paragraphs and snap["footnote"][1] in paragraphs

    kpi, *charts = document.tables
    assert len(charts) == len(snap["charts"]) == 5
    rows = [[c.text for c in r.cells] for r in kpi.rows]
    assert rows[0] == ["指标", "本期", "对比期", "变化"]
    assert rows[5] == ["联系群众户数", "7742户", "5840户", "+32.6%"]  # the tile: 7742 against 5840
    assert rows[1][:2] == ["报到党支部", "145个"] and rows[10][1] == "84.0%"
    assert "环比：对比上期2024年10月1日至2024年12月31日" in paragraphs

    # every chart's table carries the page's numbers: communities ranked by hours, exactly
    ranked = data.communities.sort_values(["hours", "community"], ascending=[False, True])
    table = charts[[c["code"] for c in snap["charts"]].index("communities")]
    body = [[c.text for c in r.cells] for r in table.rows][1:]
    assert [r[0] for r in body] == list(ranked["community"])
    assert [r[1] for r in body] == [snapshot.exact(v, "zh", 1) for v in ranked["hours"]]
    pipeline = [[c.text for c in r.cells] for r in charts[1].rows][1:]
    assert pipeline == [["本期提出", "235"], ["其中已认领", "216"], ["其中已办结", "64"]]


def test_word_fonts_are_set_for_east_asian_text(demo):
    document = Document(io.BytesIO(office.to_docx(demo[0])))

    def east_asian(element):
        fonts = element.find(qn("w:rPr")).find(qn("w:rFonts"))
        return fonts.get(qn("w:eastAsia")), fonts.get(qn("w:ascii"))

    def run_font(paragraph, run):  # the run's own font, else its paragraph style's
        rpr = run._element.find(qn("w:rPr"))
        if rpr is not None and rpr.find(qn("w:rFonts")) is not None:
            return east_asian(run._element)[0]
        return east_asian(paragraph.style.element)[0]

    assert east_asian(document.styles["Normal"].element) == ("仿宋_GB2312", "Times New Roman")
    assert east_asian(document.styles["Heading 1"].element)[0] == "黑体"
    assert east_asian(document.styles["Title"].element)[0] == "黑体"
    runs = [(p, r) for p in document.paragraphs for r in p.runs]
    runs += [(p, r) for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs
             for r in p.runs]
    assert runs and all(run_font(p, r) in ("仿宋_GB2312", "黑体") for p, r in runs)
    fonts = next(p for p in document.part.package.iter_parts() if str(p.partname) == "/word/fontTable.xml").blob
    assert "仿宋_GB2312".encode() in fonts and b"FangSong" in fonts and b"SimHei" in fonts


def test_powerpoint_deck_has_native_charts_with_the_pages_numbers(demo):
    snap, data = demo
    deck = Presentation(io.BytesIO(office.to_pptx(snap)))
    assert (deck.slide_width, deck.slide_height) == (Inches(13.333), Inches(7.5))  # 16:9
    slides = list(deck.slides)
    assert len(slides) == 3 + len(snap["charts"]) + 1  # title, KPIs, summary, one per chart, notes
    assert snap["title"] in pptx_text(deck) and data.text in pptx_text(deck)
    tiles = "\n".join(s.text_frame.text for s in slides[1].shapes if s.has_text_frame)
    assert "7742户" in tiles and "环比 +32.6%" in tiles
    pictures = [s for slide in slides for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert not pictures
    charts = {}
    for slide in slides:
        for shape in slide.shapes:
            if shape.has_chart:
                title = next(s.text_frame.text for s in slide.shapes if s.has_text_frame)
                charts[title] = shape.chart
    assert len(charts) == 5
    trend = charts["月度志愿服务时长与服务人次"]
    assert list(trend.plots[0].categories)[-3:] == ["2025年1月", "2025年2月", "2025年3月"]
    hours, persons = trend.plots[0].series
    assert list(hours.values) == [float(v) for v in data.trend["hours"]]
    assert list(persons.values) == [float(v) for v in data.trend["persons"]]
    communities = charts["各社区志愿服务时长"]
    ranked = data.communities.sort_values(["hours", "community"], ascending=[False, True])
    assert list(communities.plots[0].categories) == list(ranked["community"])
    assert list(communities.plots[0].series[0].values) == [float(v) for v in ranked["hours"]]
    funnel = charts["需求清单→认领→办结"]
    assert list(funnel.plots[0].series[0].values) == [235, 216, 64]
    assert sum(funnel.plots[0].series[0].values) == sum(data.pipeline[k] for k in ("posted", "claimed", "completed"))
    coverage = charts["各社区入户覆盖率"].plots[0].series[0].values
    assert max(coverage) <= 1 and len(coverage) == 12
    # the workbook inside each chart (what 编辑数据 opens) is there
    assert all(c.part.chart_workbook.xlsx_part is not None for c in charts.values())
    # East Asian typeface on every run
    for slide in slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                for p in shape.text_frame.paragraphs:
                    for r in p.runs:
                        assert r.font._rPr.find(qn("a:ea")).get("typeface") == office.SLIDE_FONT


def test_english_files(tmp_path):
    snap, _ = demo_snapshot("en")
    document = Document(io.BytesIO(office.to_docx(snap)))
    assert document.paragraphs[0].text.startswith("Pinglu") or "in-service Party members" in document.paragraphs[0].text
    assert [c.text for c in document.tables[0].rows[0].cells] == ["Figure", "This period", "Compared period", "Change"]
    deck = Presentation(io.BytesIO(office.to_pptx(snap)))
    assert "Headline figures" in pptx_text(deck)


from test_access import ACCESS  # zhang: 县住建局's unit role, wang: 北城社区's community role


@pytest.mark.parametrize("email, scope", [
    ("zhang@example.cn", Scope(units=("县住建局",), label="unit")),
    ("wang@example.cn", Scope(communities=("北城社区",), show_names=False, label="community")),
])
def test_a_scoped_viewer_exports_only_their_own(tmp_path, monkeypatch, capsys, email, scope):
    from redservice import access

    path = tmp_path / "access.toml"
    path.write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv(access.ENV_ACCESS, str(path))
    assert cli.main(["brief", "--docx", str(tmp_path / "a.docx"), "--pptx", str(tmp_path / "a.pptx")]) == 2
    assert "--as" in capsys.readouterr().err  # no identity, no file
    assert not (tmp_path / "a.docx").exists()
    assert cli.main(["brief", "--as", email, "--docx", str(tmp_path / "a.docx"),
                     "--pptx", str(tmp_path / "a.pptx")]) == 0
    document = Document(str(tmp_path / "a.docx"))
    text = docx_text(document)
    assert "查看范围" in text
    store = Store(DEMO_DIR)
    try:
        want = metrics.kpis(store, metrics.default_filters(store, scope), scope)["current"]
        names = set(pd.read_parquet(storage.table_path(DEMO_DIR, "members"))["name"].dropna())
    finally:
        store.close()
    row = next([c.text for c in r.cells] for r in document.tables[0].rows if r.cells[0].text == "联系群众户数")
    assert row[1] == metrics.format_value("households", want["households"], "zh")
    deck_text = pptx_text(Presentation(str(tmp_path / "a.pptx")))
    # no member's name in either file (the briefing carries aggregates only)
    assert not [n for n in names if len(n) > 1 and (n in text or n in deck_text)]
    if scope.communities:
        communities = [r.cells[0].text for r in document.tables[1].rows][1:]  # the coverage table
        assert communities == ["北城社区"]


def test_a_fixture_store_with_user_text_that_looks_like_a_formula(tmp_path):
    rows = {**SMALL, "communities": [dict(c) for c in SMALL["communities"]]}
    rows["communities"][0]["community"] = "=HYPERLINK(\"x\")"
    for key in ("members", "services", "wishes"):
        rows[key] = [{**r, "community": "=HYPERLINK(\"x\")" if r.get("community") == "A社区" else r.get("community")}
                     for r in rows[key]]
    directory = write_store(tmp_path / "s", **rows)
    out = tmp_path / "f.pptx"
    assert cli.main(["brief", "--data", str(directory), "--start", Q1_2025[0].isoformat(),
                     "--end", Q1_2025[1].isoformat(), "--pptx", str(out), "--docx", str(tmp_path / "f.docx")]) == 0
    deck = Presentation(str(out))
    categories = [c for s in deck.slides for sh in s.shapes if sh.has_chart for c in sh.chart.plots[0].categories]
    assert "=HYPERLINK(\"x\")" in categories  # a category label, as text
    from openpyxl import load_workbook

    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_chart:
                book = load_workbook(io.BytesIO(shape.chart.part.chart_workbook.xlsx_part.blob))
                cells = [c for row in book.active.iter_rows() for c in row]
                assert not [c for c in cells if c.data_type == "f"]  # no formula in the embedded data


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def test_libreoffice_opens_both_and_the_pages_are_drawn(demo, tmp_path):
    if SOFFICE is None:  # not installed by CI (its install would cost minutes); the read-back tests above run
        pytest.skip("LibreOffice is not installed (Debian: libreoffice-writer-nogui libreoffice-impress-nogui)")
    import pypdfium2

    snap, _ = demo
    files = {"briefing_word.docx": office.to_docx(snap), "briefing_slides.pptx": office.to_pptx(snap)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    profile = tmp_path / "profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), *[str(tmp_path / n) for n in files]],
                   check=True, capture_output=True, timeout=300)
    shots = PROJECT_DIR / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = {}
    for name in files:
        pdf = pypdfium2.PdfDocument(str(tmp_path / Path(name).with_suffix(".pdf")))
        pages[name] = len(pdf)
        for i in range(len(pdf)):
            pdf[i].render(scale=1).to_pil().save(shots / f"office_{Path(name).stem}_{i + 1}.png")
        pdf.close()
    assert pages["briefing_slides.pptx"] == 3 + len(snap["charts"]) + 1
    assert 2 <= pages["briefing_word.docx"] <= 8


def test_snapshot_is_plain_json_and_filters_named(demo):
    import json

    snap, _ = demo
    assert json.loads(json.dumps(snap, ensure_ascii=False)) == snap
    assert snap["period"] == {"start": "2025-01-01", "end": "2025-03-31", "code": "ytd",
                              "text": "2025年1月1日—3月31日"}
    assert snap["compare"]["start"] == "2024-10-01" and snap["last"] == "2025-03-31"
    narrowed, _ = demo_snapshot(units=["县住建局"])
    assert narrowed["filters"] == {"units": ["县住建局"]} and Filters  # the filters in force are kept
