"""汇报 page: the one-figure briefing (pure builder), its PNG/PDF from the CLI (kaleido + Chromium),
render errors in words, and the page in AppTest. The rounding rules are in test_briefing.py.

Rendering costs a Chromium start (about 4 s per call): only the two CLI tests render."""

from __future__ import annotations

import dataclasses
import json
import os

import pandas as pd
import pytest

from conftest import Q1_2025, SMALL, metrics_by_label, run_app, write_store
from redservice import briefing, briefing_figure, cli, config, coverage, metrics, render, ui
from redservice.i18n import t
from redservice.store import Store


def _square(x, y, size=0.01):
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


# A社区 one polygon, B社区 two (a MultiPolygon), C社区 none (not on the map)
BOUNDARIES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"community": "A社区"},
     "geometry": {"type": "Polygon", "coordinates": [_square(111.20, 34.83)]}},
    {"type": "Feature", "properties": {"community": "B社区"},
     "geometry": {"type": "MultiPolygon", "coordinates": [[_square(111.22, 34.83)], [_square(111.24, 34.83)]]}},
]}


@pytest.fixture
def small_dir(tmp_path):
    directory = write_store(tmp_path / "small", **SMALL)
    (directory / "boundaries.geojson").write_text(json.dumps(BOUNDARIES, ensure_ascii=False), encoding="utf-8")
    (directory / "manifest.json").write_text(json.dumps({"name": "小县台账", "county": "小县"}, ensure_ascii=False),
                                             encoding="utf-8")
    return directory


def _gather(directory, lang="zh", **dims) -> briefing.Briefing:
    store = Store(directory)
    filters = metrics.default_filters(store, start=Q1_2025[0], end=Q1_2025[1], **dims)
    settings = config.settings(directory)
    manifest = store.manifest()
    selected = filters

    def query(name, filters=None, **extra):
        return store.query(name, filters or selected, **extra)

    return briefing.gather(query, filters, None, lang, settings, briefing.county_name(settings, manifest, lang),
                           briefing.source_name(store), bool(manifest.get("synthetic")),
                           metrics.data_range(store)[1], store.boundaries())


def _texts(fig) -> str:
    return "\n".join(a.text for a in fig.layout.annotations)


# -- the figure, a pure function -------------------------------------------------------------------

def test_briefing_figure_on_a_fixture(small_dir):
    data = _gather(small_dir)
    fig = briefing_figure.build(data)
    assert (fig.layout.width, fig.layout.height) == (1123, 794)  # A4 landscape at 96 px per inch

    # one filled polygon trace per community with a boundary; the MultiPolygon's rings split by None
    polygons = [tr for tr in fig.data if tr.type == "scatter" and tr.fill == "toself"]
    assert sorted(tr.name for tr in polygons) == ["A社区", "B社区"]
    b = next(tr for tr in polygons if tr.name == "B社区")
    assert list(b.x).count(None) == 1
    # the coverage page's colours: A 3 % and B 2 % both in the top class of 0–1 %, 1–2 %, 2–3 %
    page_map = coverage.coverage_map(data.communities, pd.DataFrame(columns=["households_reached"]),
                                     data.boundaries, "coverage", "zh", data.settings)
    assert page_map.scale.breaks == (0.0, 0.01, 0.02, 0.03)
    for tr in polygons:
        assert tr.fillcolor == "#{:02X}{:02X}{:02X}".format(*page_map.colours[tr.name][:3])
    assert not any(tr.type in ("scattergeo", "choropleth", "scattermapbox", "choroplethmapbox") for tr in fig.data)

    text = _texts(fig)
    assert "小县在职党员进社区工作情况（2025年1月1日—3月31日）" in text
    for label, value in (("报到党支部", "3个"), ("报到党员", "4人"), ("志愿服务时长", "8.5小时"),
                         ("联系群众户数", "4户"), ("服务群众人次", "14人次"), ("党员参与率", "75.0%")):
        assert f"<b>{value}</b>" in text and label in text
    assert "2025年1月1日至2025年3月31日" in text.replace("<br>", "")  # the summary paragraph (wrapped)
    assert "数据来源：小县台账" in text and "筛选：无（全部单位、社区）" in text  # footnote
    assert "数据截至2025年4月1日" in text

    # every chart trace sits on axes the canvas defines, inside the page, none on the hidden default axes
    layout = fig.layout.to_plotly_json()
    for tr in fig.data:
        if tr.type in ("bar", "funnel") or (tr.type == "scatter" and tr.xaxis):
            x, y = tr.xaxis or "x", tr.yaxis or "y"
            assert x != "x" and y != "y", tr.name
            for ref in (x, y):
                key = f"{ref[0]}axis{ref[1:]}"
                assert key in layout, key
                lo, hi = layout[key]["domain"]
                assert 0 <= lo < hi <= 1


def test_briefing_figure_english_and_filters(small_dir):
    data = _gather(small_dir, lang="en", units=["U1"])
    text = _texts(briefing_figure.build(data))
    assert "Branches reported" in text and "Volunteer hours" in text
    assert "6.5" in text  # U1's hours in Q1
    assert "Work unit: U1" in text  # the filter in force, in the footnote


def test_map_only_draws_communities_with_a_boundary(small_dir):
    data = _gather(small_dir)
    fig = briefing_figure.coverage_figure(data.communities, {"type": "FeatureCollection", "features": []},
                                          data.settings, "zh")
    assert not [tr for tr in fig.data if tr.fill == "toself"]
    no_map = briefing_figure.build(dataclasses.replace(data, boundaries={"features": []}))
    assert t("briefing.map_none") in _texts(no_map)


def test_wrap_keeps_closing_punctuation_on_its_line():
    lines = briefing_figure.wrap("联系群众7742户，服务群众近15000人次；认领微心愿200余件。", 12 * 11, 12)
    assert len(lines) > 1
    assert not any(line[0] in briefing_figure.NO_LINE_START for line in lines[1:])
    assert "".join(lines) == "联系群众7742户，服务群众近15000人次；认领微心愿200余件。"
    words = briefing_figure.wrap("more than 2,000 in-service Party members of 145 branches", 120, 10)
    assert all(briefing_figure.text_px(line, 10) <= 120 for line in words)
    assert " ".join(words) == "more than 2,000 in-service Party members of 145 branches"


# -- PNG and PDF from the CLI (renders: keep these few) -------------------------------------------

def _need_chromium():
    if render.browser_path() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium fonts-noto-cjk)")
        pytest.skip("no Chromium: server-side images cannot be drawn here")


def _check_images(png_path, pdf_path):
    from PIL import Image

    with Image.open(png_path) as im:
        assert im.width >= 1600, im.size
        assert abs(im.width / im.height - 1123 / 794) < 0.01  # A4 landscape
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50  # drawn, not a blank page
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"/MediaBox [0 0 841.9" in pdf  # one A4 landscape page


def test_brief_cli_writes_png_and_pdf_for_the_demo(tmp_path, capsys):
    _need_chromium()
    png, pdf = tmp_path / "汇报.png", tmp_path / "out" / "汇报.pdf"
    assert cli.main(["brief", "--png", str(png), "--pdf", str(pdf)]) == 0
    assert capsys.readouterr().out.startswith("今年以来，全县145个党支部")
    _check_images(png, pdf)


def test_brief_cli_images_on_a_fixture_in_english(small_dir, tmp_path, capsys):
    _need_chromium()
    png, pdf = tmp_path / "b.png", tmp_path / "b.pdf"
    assert cli.main(["brief", "--data", str(small_dir), "--start", "2025-01-01", "--end", "2025-03-31",
                     "--lang", "en", "--json", "--png", str(png), "--pdf", str(pdf)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["png"] == str(png) and out["pdf"] == str(pdf)
    assert out["text"].startswith("From 1 Jan 2025 to 31 Mar 2025")
    _check_images(png, pdf)


def test_no_chromium_is_a_message_not_a_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-browser"))
    with pytest.raises(render.RenderError, match="Chromium"):
        render.render(briefing_figure.Canvas().fig, ("png",))
    assert cli.main(["brief", "--png", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：服务器上没有找到 Chromium 浏览器") and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


# -- the page --------------------------------------------------------------------------------------

def test_page_shows_title_tiles_paragraph_and_footnote(capsys):
    at = run_app(page="app_pages/briefing.py")
    assert not at.exception
    assert at.subheader[0].value == "平陆县在职党员进社区工作情况（2025年1月1日—3月31日）"
    assert not at.title  # no app header on this page: its own title is the screenshot's
    shown = metrics_by_label(at)
    assert len(shown) == 10 and shown["联系群众户数"][0] == "7742户" and shown["报到党支部"][0] == "145个"
    assert cli.main(["brief"]) == 0
    assert at.code[0].value == capsys.readouterr().out.strip()  # the CLI's paragraph, with a copy button
    captions = " ".join(c.value for c in at.caption)
    assert "数据来源" in captions and "数据截至2025年3月31日" in captions and "约数写法" in captions
    charts_ = at.get("plotly_chart")  # map, trend, communities, funnel, categories: each a crisp, named PNG
    assert [c.key for c in charts_] == ["briefing_map", "briefing_funnel", "briefing_trend", "briefing_communities",
                                        "briefing_categories"]
    for chart in charts_:
        png = json.loads(chart.proto.config)["toImageButtonOptions"]
        assert png["scale"] >= 2 and png["filename"].endswith("_20250101-20250331"), png
    assert json.loads(charts_[0].proto.config)["toImageButtonOptions"]["filename"].startswith("各社区入户覆盖率")


def test_page_in_english():
    at = run_app({"lang": "en"}, page="app_pages/briefing.py")
    assert not at.exception
    assert at.code[0].value.startswith("So far this year, across the county, more than 2,000")
    assert metrics_by_label(at)["Households contacted"][0] == "7,742"


def test_page_exports_and_render_errors(monkeypatch):
    at = run_app(page="app_pages/briefing.py")
    assert len(at.get("download_button")) == 2  # Word and PowerPoint: no browser needed
    monkeypatch.setenv("BROWSER_PATH", "/no/such/chromium")
    at.button(key="briefing_generate").click().run()
    assert not at.exception
    assert "没有找到 Chromium" in at.error[0].value and len(at.get("download_button")) == 2

    monkeypatch.setattr(render, "render", lambda fig, formats, **kw: {"png": b"\x89PNG", "pdf": b"%PDF-1.4"})
    try:
        at.button(key="briefing_generate").click().run()
        assert not at.exception and not at.error
        assert len(at.get("download_button")) == 4
    finally:
        ui._briefing_images.clear()  # the fake images must not outlive this test


# -- every table downloads as Excel -----------------------------------------------------------------

@pytest.mark.parametrize("page, params", [
    ("overview", {}), ("coverage", {"drill": "北城社区"}), ("units", {}), ("services", {}), ("wishes", {}),
])
def test_every_table_has_an_excel_download(page, params):
    at = run_app(params, page=f"app_pages/{page}.py")
    assert not at.exception
    tables, downloads = at.dataframe, at.get("download_button")
    assert tables and len(downloads) >= len(tables), (page, len(tables), len(downloads))
    assert all(d.proto.label == "下载 Excel" for d in downloads)


def test_drill_down_tables_for_excel():
    compounds = pd.DataFrame({"compound": ["甲小区", "乙小区"], "households_total": [200, None],
                              "households_reached": [50, 3], "coverage": [0.25, None], "hours": [12.345, 1.0],
                              "persons": [30, 2]})
    table, labels = coverage.drill_excel(compounds, "zh", compound=True)
    assert list(table["coverage"]) == [25.0, "—"] and list(table["hours"]) == [12.3, 1.0]
    assert labels["coverage"] == "覆盖率（%）" and labels["households_total"] == "户数"
    assert coverage.drill_excel(compounds, "en")[1]["households_total"] == "Households"

    from redservice import wishes

    units = pd.DataFrame({"unit": ["U1", "U2"], "completed": [3, 1], "rated": [2, 0],
                          "mean_score": [4.666, None], "satisfied_rate": [0.5, None]})
    shown = wishes.units_excel(units)
    assert list(shown["mean_score"]) == [4.67, "—"] and list(shown["satisfied_rate"]) == [50.0, "—"]
    assert wishes.units_excel_columns("zh")["satisfied_rate"] == "满意率（%）"


def test_the_page_reads_the_filter_options_once():
    """The store's counties (for 全市/全县 and the county map) come from the filter bar's cached
    choices, not from a second filter_options query with the page's period (which at 10 M records
    was another 50 ms on every change of period, and a cache entry per period)."""
    from redservice import bench
    from redservice.config import DEMO_DIR

    recorded = bench.record(DEMO_DIR, only=["briefing"], python_runs=1)
    (page,) = recorded.values()
    assert page["error"] is None
    names = [c["name"] for c in page["calls"]]
    assert names.count("filter_options") == 1 and "kpis" in names, names
