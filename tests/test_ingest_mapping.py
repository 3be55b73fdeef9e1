"""A saved column mapping: made once on 数据管理 for a layout of the county's own, applied by itself
to later files with the same header (on the page and from the CLI), named with ``import --mapping``,
and listed with ``mappings``."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import run_app
from redservice import cli, ingest, storage
from redservice.config import DEMO_DIR
from redservice.ingest import mapping

PAGE = "app_pages/data.py"
OWN = ("登记日,党员,工作单位,去的社区,做了什么,用时\n"
       "2025-04-01,李明强,县卫生健康局,河阳社区,送政策,2.5\n"
       "2025-04-02,刘波飞,县卫生健康局,新夏社区,义诊,1\n")
CHOICE = {"登记日": "date", "党员": "name", "工作单位": "unit", "去的社区": "community", "做了什么": "category",
          "用时": "hours"}


@pytest.fixture
def store(demo_copy):
    return demo_copy


def services(directory):
    return storage.read_table(directory, "services").to_pandas()


def test_own_layout_is_not_recognised_without_a_mapping(store):
    batch = ingest.prepare(store, [ingest.Source("own.csv", OWN.encode())], today=dt.date(2025, 6, 30))
    report = batch.reports[0]
    assert report.fatal and report.fatal[0] == "no_header"
    assert [c for c in report.header if c] == list(CHOICE)  # the page can offer the mapping form


def test_guess_prefills_what_it_can(store):
    from redservice import config, datamgmt

    assert mapping.guess(list(CHOICE) + ["序号"], "services") == {**{h: None for h in CHOICE}, "工作单位": "unit",
                                                                 "序号": None}
    # from the values: dates, hours, and the names the store knows
    batch = ingest.prepare(store, [ingest.Source("own.csv", OWN.encode())], today=dt.date(2025, 6, 30))
    known = datamgmt.known_names(store, config.settings(store))
    assert datamgmt.mapping_guess(batch.reports[0], "services", known) == CHOICE


def test_mapping_saved_on_the_page_is_reused_by_the_cli(store, tmp_path, monkeypatch, capsys):
    at = run_app(data_dir=store, monkeypatch=monkeypatch)
    at.switch_page(PAGE).run()
    at.file_uploader[0].set_value([("own.csv", OWN.encode("gbk"), "text/csv")]).run()
    assert not at.exception
    for j, (header, key) in enumerate(CHOICE.items()):
        box = at.selectbox(key=f"map_0_services_{j}")
        assert box.label.replace("\\", "") == header
        box.set_value(key)
    at.run()
    assert any("导入2行" in c.value for c in at.caption), [c.value for c in at.caption]
    at.text_input(key="map_name_0_services").set_value("本县服务登记表").run()
    at.button(key="map_save_0").click().run()
    assert not at.exception and any("已保存映射“本县服务登记表”" in s.value.replace("\\", "") for s in at.success)
    # the page checks the file again and reads it with the saved mapping
    assert at.dataframe[0].value["导入"].tolist() == [2]

    saved = mapping.load(store)
    assert list(saved) == ["本县服务登记表"] and saved["本县服务登记表"].fields == CHOICE

    # a later month's file with the same header, from the CLI: the mapping applies by itself
    later = tmp_path / "五月.csv"
    later.write_text(OWN.replace("2025-04-0", "2025-05-0"), encoding="utf-8")
    before = len(services(store))
    assert cli.main(["import", "--data", str(store), str(later), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[0])
    assert report["mapping"] == "本县服务登记表" and report["loaded"] == 2
    assert "按已保存的列映射“本县服务登记表”读取" in report["notes"]
    assert len(services(store)) == before + 2

    # named explicitly, for a file whose header differs a little (an extra 序号 column)
    other = tmp_path / "六月.csv"
    other.write_text("序号," + OWN.replace("2025-04-0", "2025-06-0").replace("\n2025", "\n1,2025"),
                     encoding="utf-8")
    assert cli.main(["import", "--data", str(store), str(other), "--mapping", "本县服务登记表", "--json",
                     "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["loaded"] == 2

    assert cli.main(["mappings", "--data", str(store), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "本县服务登记表" and listed[0]["template"] == "服务台账"
    assert cli.main(["import", "--data", str(store), str(later), "--mapping", "没有这个"]) == 2
    assert "没有名为“没有这个”的映射" in capsys.readouterr().err


def test_a_mapping_lacking_required_fields_is_not_saved(store):
    bad = mapping.Mapping("缺列", "services", list(CHOICE), {**CHOICE, "用时": None, "登记日": None})
    with pytest.raises(mapping.MappingError) as exc:
        mapping.save(store, bad)
    assert exc.value.kind == "missing" and not mapping.path(store).exists()
    with pytest.raises(mapping.MappingError):
        mapping.save(DEMO_DIR, mapping.Mapping("x", "services", list(CHOICE), CHOICE))
