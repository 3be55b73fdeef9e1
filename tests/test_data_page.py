"""The 数据管理 page in AppTest: templates, the upload flow (st.file_uploader is driven through
AppTest's set_value), nothing written before the confirmation, the status, and the dashboard
showing the new data afterwards without a restart."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil

import pandas as pd
import pytest

from conftest import metrics_by_label, run_app
from redservice import datamgmt, ingest, storage, ui
from redservice.config import DEMO_DIR
from redservice.store import Store

PAGE = "app_pages/data.py"
CSV = ("服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）,服务户号,服务人次\n"
       "2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2.5,幸福里1号、幸福里2号,3\n"
       "2025-04-02,李明强,县住建,河阳社区,送政策,2,,1\n").encode("gbk")


def test_page_renders_on_the_demo_read_only():
    at = run_app(page=PAGE)
    assert not at.exception
    assert [s.value for s in at.subheader] == ["下载模板", "上传台账", "数据现状"]
    assert len(at.get("download_button")) == len(ingest.ORDER)
    assert any("不能导入到演示数据" in i.value for i in at.info)
    status = at.dataframe[-1].value if len(at.dataframe) == 1 else at.dataframe[0].value
    assert status.set_index("表").loc["服务台账", "行数"] == len(pd.read_parquet(DEMO_DIR / "services.parquet"))
    assert "2024年1月1日—2025年3月31日" in status.set_index("表").loc["服务台账", "日期范围"]


def _css_text(literal: str) -> str:
    assert re.fullmatch(r'"(?:[A-Za-z0-9]|\\[0-9a-f]{6})*"', literal), literal
    return re.sub(r"\\([0-9a-f]{6})", lambda m: chr(int(m.group(1), 16)), literal[1:-1])


@pytest.mark.parametrize("text", ["选择文件", "50MB per file • CSV", '"; } </style><script>alert(1)</script>',
                                  "a\\b\n'c", ""])
def test_css_string_is_inert_and_exact(text):
    assert _css_text(ui.css_string(text)) == text


@pytest.mark.parametrize("lang, button, limits", [
    ("zh", "选择文件", "单个文件不超过50MB，格式：CSV、XLSX、XLS"),
    ("en", "Upload", "50MB per file • CSV, XLSX, XLS"),
])
def test_the_uploader_speaks_the_page_language(lang, button, limits):
    """Streamlit writes the dropzone's button and limits in English only; the page draws the
    catalogue's text over them (the browser test checks what Chromium draws)."""
    at = run_app({"lang": lang} if lang == "en" else None, page=PAGE)
    styles = [h.proto.body for h in at.get("html") if "stFileUploaderDropzone" in h.proto.body]
    assert len(styles) == 1
    drawn = [_css_text(m) for m in re.findall(r'content: ("[^"]*")', styles[0])]
    assert drawn == [button, limits]


def test_page_in_english():
    at = run_app({"lang": "en"}, page=PAGE)
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Templates", "Upload ledgers", "Store status"]


def test_upload_check_confirm_and_the_dashboard_follows(demo_copy, monkeypatch):
    at = run_app(page=PAGE, data_dir=demo_copy, monkeypatch=monkeypatch)
    assert not at.exception and not any("不能导入到演示数据" in i.value for i in at.info)
    before = storage.current_generation(demo_copy)
    at.file_uploader[0].set_value([("台账.csv", CSV, "text/csv")]).run()
    assert not at.exception
    summary = at.dataframe[0].value
    assert summary.iloc[0][["表", "读取行数", "导入", "拒绝", "跳过"]].tolist() == ["服务台账", 2, 1, 1, 0]
    reasons = at.dataframe[1].value  # grouped by kind
    assert reasons.iloc[0].tolist() == ["未知单位", 1]
    errors = at.dataframe[3].value
    assert errors.iloc[0]["行号"] == 3 and "县住建局" in errors.iloc[0]["原因"]
    preview = at.dataframe[4].value
    assert preview.iloc[0]["服务户数"] == "2" and "幸福里" not in preview.to_string()
    labels = [b.label for b in at.get("download_button")]
    assert any("未导入的1行" in label for label in labels)
    # nothing is written before the confirmation
    assert storage.current_generation(demo_copy) == before
    at.button(key="data_confirm").click().run()
    assert not at.exception
    assert any("导入完成" in s.value for s in at.success)
    assert storage.current_generation(demo_copy) != before
    # a fresh session of the running app (same process, cached store) shows the new record
    at2 = run_app({"period": "custom", "start": "2025-04-01", "end": "2025-04-30"}, data_dir=demo_copy,
                  monkeypatch=monkeypatch)
    assert metrics_by_label(at2)["志愿服务时长"][0] == "2.5小时"
    assert "2025年4月1日" in at2.caption[0].value


def test_the_confirm_button_is_disabled_on_the_demo():
    at = run_app(page=PAGE)
    at.file_uploader[0].set_value([("台账.csv", CSV, "text/csv")]).run()
    assert not at.exception
    assert at.button(key="data_confirm").disabled


def test_unreadable_file_shows_an_error_box(demo_copy, monkeypatch):
    at = run_app(page=PAGE, data_dir=demo_copy, monkeypatch=monkeypatch)
    at.file_uploader[0].set_value([("坏文件.xlsx", b"PK\x03\x04broken", "application/octet-stream")]).run()
    assert not at.exception
    assert any("无法打开 Excel 文件" in e.value for e in at.error)
    assert at.button(key="data_confirm").disabled


# -- the page's logic -------------------------------------------------------------------------------
def test_preview_masks_names_and_never_shows_household_codes(demo_copy):
    batch = datamgmt.check(demo_copy, [("a.csv", CSV)])
    shown = datamgmt.preview_frame(batch.reports[0], "zh", show_names=False)
    assert shown.iloc[0]["姓名"] == "李*强" and shown.iloc[0]["服务户数"] == "2"
    assert "幸福里" not in shown.to_string()
    assert datamgmt.preview_frame(batch.reports[0], "zh", show_names=True).iloc[0]["姓名"] == "李明强"


def test_import_batch_rechecks_when_the_store_moved(demo_copy):
    files = [("a.csv", CSV)]
    batch = datamgmt.check(demo_copy, files)
    assert not batch.states and not batch.sources  # the session keeps the report, not the store's rows
    ingest.run(demo_copy, [ingest.Source("b.csv", "服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n"
                                                 "2025-04-03,李明强,县卫生健康局,河阳社区,送政策,1\n".encode())])
    fresh, generation, committed = datamgmt.import_batch(batch, files)
    assert not committed and generation is None and fresh.reports[0].loaded == 1
    fresh, generation, committed = datamgmt.import_batch(fresh, files)
    assert committed and generation


def test_rejected_rows_download(demo_copy):
    batch = datamgmt.check(demo_copy, [("a.csv", CSV)])
    frame = pd.read_excel(io.BytesIO(datamgmt.rejected_workbook(batch, "zh")), dtype=str)
    assert frame.iloc[0]["所属单位"] == "县住建" and "县住建局" in frame.iloc[0]["错误原因"]


def test_status_and_version_follow_an_import(demo_copy):
    store = Store(demo_copy)
    version = store.version()
    status = store.query("store_status", datamgmt.status_filters()).set_index("table_name")
    assert status.loc["services", "row_count"] == len(pd.read_parquet(DEMO_DIR / "services.parquet"))
    ingest.run(demo_copy, [ingest.Source("a.csv", CSV)], today=dt.date(2025, 6, 30))
    assert store.version() != version
    status = store.query("store_status", datamgmt.status_filters()).set_index("table_name")
    assert status.loc["services", "row_count"] == len(pd.read_parquet(DEMO_DIR / "services.parquet")) + 1
    assert status.loc["services", "last_date"].date() == dt.date(2025, 4, 1)


def test_a_new_empty_store_renders_and_takes_its_first_import(tmp_path, monkeypatch):
    store = tmp_path / "new county"
    at = run_app(data_dir=store, monkeypatch=monkeypatch)
    assert not at.exception
    at.switch_page(PAGE).run()
    assert not at.exception
    files = [(ingest.templates.template_filename(t), ingest.template_xlsx(t), "application/octet-stream")
             for t in ingest.ORDER]
    at.file_uploader[0].set_value(files).run()
    assert at.dataframe[0].value["导入"].tolist() == [1] * len(ingest.ORDER)
    at.button(key="data_confirm").click().run()
    assert not at.exception and any("导入完成" in s.value for s in at.success)
    assert Store(store).query("store_status").set_index("table_name").loc["services", "row_count"] == 1


def test_report_texts_are_escaped_for_markdown(tmp_path):
    """Every user-supplied string the page shows (file name, headers in the notes) is inert Markdown:
    each ASCII punctuation character escaped, bare URLs broken by an invisible word joiner."""
    import re

    from redservice import fmt, ingest

    name = "**粗体**[链接](http://127.0.0.1:8999/x).csv"
    header = "服务日期,![x](http://127.0.0.1:8999/i.png),[点此下载正确模板](http://127.0.0.1:8999/t),姓名\n"
    batch = ingest.prepare(tmp_path / "empty", [ingest.Source(name, (header + "2025-01-01,a,b,c\n").encode())])
    view = datamgmt.report_view(batch.reports[0], "zh")
    texts = [view["title"], view["summary"], *view["notes"]]
    for text in texts:
        assert not re.search(r"(?<!\\)[\[\]()!*_<>`]", text), text  # nothing unescaped
        assert "http:/" not in text.replace("\\", "")  # no bare URL left to autolink
    assert fmt.md_escape("a\nb\r# c") == "a b \\# c"
    assert "ignored" not in " ".join(texts) and any("i\\.png" in n for n in view["notes"])


# -- the county imported into (a store of several counties) ----------------------------------------------
def test_county_choices_follow_the_store_and_the_viewer():
    from redservice.filters import Scope

    assert datamgmt.county_choices(("平陆县",), Scope()) == []  # one county: nothing to choose
    assert datamgmt.county_choices(("夏县", "平陆县"), Scope()) == [None, "夏县", "平陆县"]
    # a viewer limited to some counties imports into one of them, never into the whole city, whether
    # the store holds them yet (a county's first ledger) or holds one county only
    assert datamgmt.county_choices(("夏县", "平陆县", "芮城县"), Scope(counties=("芮城县", "夏县"))) == ["夏县", "芮城县"]
    assert datamgmt.county_choices(("平陆县",), Scope(counties=("夏县",))) == ["夏县"]
    assert datamgmt.county_choices((), Scope(counties=("芮城县", "夏县"))) == ["夏县", "芮城县"]


def test_the_demo_offers_no_county():
    at = run_app(page=PAGE)
    assert not at.exception
    assert "data_county" not in [s.key for s in at.selectbox]


def test_the_county_chosen_is_the_county_imported_into(tmp_path, monkeypatch):
    """A store of several counties (the demo city): 导入到区县 lists them after 不限; with 夏县 chosen a
    row the pages would count in 平陆县 is rejected, and the import writes 夏县's record files only
    (the command line's --county)."""
    from test_partitions import inodes, members_of

    from redservice import demo

    city = demo.write_city(tmp_path / "city")
    ingest.run(city, [ingest.Source("first.csv", "服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n".encode())])
    at = run_app(page=PAGE, data_dir=city, monkeypatch=monkeypatch)
    assert not at.exception
    box = at.selectbox(key="data_county")
    assert box.label == "导入到区县" and box.options[0] == "不限（全市各区县）"
    assert {"夏县", "平陆县"} <= set(box.options[1:]) and len(box.options) == 14
    assert box.value is None
    (name, unit, community), = members_of(city, "夏县", 1)
    (other, other_unit, other_community), = members_of(city, "平陆县", 1)
    text = ("记录编号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n"
            f"XQ0001,2025-04-02,{name},{unit},{community},送政策,2\n"
            f"XQ0002,2025-04-03,{other},{other_unit},{other_community},送政策,1\n").encode()
    at.selectbox(key="data_county").set_value("夏县").run()
    at.file_uploader[0].set_value([("夏县4月.csv", text, "text/csv")]).run()
    assert not at.exception
    assert at.dataframe[0].value.iloc[0][["导入", "拒绝"]].tolist() == [1, 1]
    errors = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert errors.iloc[0]["行号"] == 3 and "平陆县" in errors.iloc[0]["原因"]
    files = inodes(city)
    at.button(key="data_confirm").click().run()
    assert not at.exception and any("导入完成" in s.value for s in at.success)
    assert [c for c, i in inodes(city).items() if files.get(c) != i] == ["夏县"]


def test_a_county_orgdept_imports_into_its_county_and_sees_its_own_log(tmp_path, monkeypatch):
    """A viewer limited to 夏县 (access file counties = ["夏县"]) opens 数据管理: the county choice is
    夏县 alone, a row the pages would count in 平陆县 is rejected, the import writes 夏县's files
    only, and the store status and import log show 夏县's lists and imports, not the city's (an
    import into 平陆县 by the city's 组织部 is in the log, and not shown)."""
    from test_access import login
    from test_partitions import inodes, members_of
    from test_roles_pages import page_texts

    from redservice import demo
    from redservice.filters import Scope
    from redservice.ingest import audit

    city = demo.write_city(tmp_path / "city")
    (name, unit, community), = members_of(city, "夏县", 1)
    (other, other_unit, other_community), = members_of(city, "平陆县", 1)
    header = "记录编号,服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n"
    ingest.run(city, [ingest.Source("平陆县4月.csv", (header + f"PL0001,2025-04-01,{other},{other_unit},"
                                                     f"{other_community},送政策,1\n").encode())], county="平陆县")
    access = tmp_path / "access.toml"
    access.write_text('[users."xia@example.cn"]\nrole = "orgdept"\ncounties = ["夏县"]\n', encoding="utf-8")
    monkeypatch.setenv("REDSERVICE_ACCESS", str(access))
    at = run_app(page=PAGE, data_dir=city, monkeypatch=monkeypatch, user=login("xia@example.cn"))
    assert not at.exception, at.exception
    box = at.selectbox(key="data_county")
    assert box.options == ["夏县"] and box.value == "夏县"
    assert "平陆县4月.csv" not in "\n".join(page_texts(at))  # the city's import into 平陆县 is not this viewer's
    text = (header + f"XQ0001,2025-04-02,{name},{unit},{community},送政策,2\n"
            f"XQ0002,2025-04-03,{other},{other_unit},{other_community},送政策,1\n").encode()
    at.file_uploader[0].set_value([("夏县4月.csv", text, "text/csv")]).run()
    assert at.dataframe[0].value.iloc[0][["导入", "拒绝"]].tolist() == [1, 1]
    files = inodes(city)
    at.button(key="data_confirm").click().run()
    assert not at.exception and any("导入完成" in s.value for s in at.success)
    assert [c for c, i in inodes(city).items() if files.get(c) != i] == ["夏县"]
    log = next(d.value for d in at.dataframe if "文件指纹（SHA-256）" in d.value.columns)
    assert log["文件"].tolist() == ["夏县4月.csv"] and log["导入到区县"].tolist() == ["夏县"]
    assert [h["county"] for h in audit.read(city)] == ["夏县", "平陆县"]
    status = next(d.value for d in at.dataframe if d.value.shape[0] >= 8).iloc[:, :2].astype(str).to_string()
    whole = Store(city).query("store_status").set_index("table_name")["row_count"]
    mine = Store(city).query("store_status", scope=Scope(counties=("夏县",))).set_index("table_name")["row_count"]
    assert all(mine < whole) and str(mine["communities"]) in status


def test_a_damaged_import_log_is_read_around(tmp_path):
    """Lines of audit.jsonl that are not an import's (not JSON, not an object, a county that is not
    text) are skipped, for the city's log and a county's alike."""
    (tmp_path / "audit.jsonl").write_text('{"county": 5, "file": "x"}\nnot json\n[1]\n'
                                          '{"county": "夏县", "file": "a.csv"}\n', encoding="utf-8")
    assert [h["file"] for h in datamgmt.history(tmp_path, counties=("夏县",))] == ["a.csv"]
    assert [h["file"] for h in datamgmt.history(tmp_path)] == ["a.csv", "x"]
    assert len(datamgmt.history_frame(datamgmt.history(tmp_path), "zh")) == 2


def test_a_stale_copy_is_named_with_the_command_that_updates_it(tmp_path, monkeypatch):
    """夏县's record files replaced after the copy was built, not by an import: 数据管理 says the copy is
    out of date, names 夏县 and gives the build --county command; once it has run, no such notice.
    The demo (no copy file: built in memory on purpose) shows none."""
    from test_partitions import _write_county_files, ledger
    from test_partitions import run as run_import

    from redservice import cli, demo, serving, storage

    city = demo.write_city(tmp_path / "city")
    ingest.run(city, [ingest.Source("first.csv", "服务日期,姓名,所属单位,服务社区,服务类别,服务时长（小时）\n".encode())])
    source = tmp_path / "source"
    shutil.copytree(city, source)
    run_import(source, [("夏县台账.csv", ledger(source, "夏县", "XX"))], county="夏县")
    _write_county_files(source, city, "夏县")
    assert not serving.is_fresh(storage.table_dir(city))
    at = run_app(page=PAGE, data_dir=city, monkeypatch=monkeypatch)
    assert not at.exception
    [notice] = [w.value for w in at.warning if "查询副本不是最新的" in w.value]
    assert "夏县的记录文件在生成查询副本之后被替换" in notice and "build --data 数据目录 \\-\\-county 夏县，" in notice, notice
    assert cli.main(["build", "--data", str(city), "--county", "夏县"]) == 0
    at = run_app(page=PAGE, data_dir=city, monkeypatch=monkeypatch)
    assert not at.exception and not [w for w in at.warning if "查询副本不是最新的" in w.value]
    demo_at = run_app(page=PAGE)
    assert not [w for w in demo_at.warning if "查询副本不是最新的" in w.value]
