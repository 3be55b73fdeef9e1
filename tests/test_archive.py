"""汇报存档 (redservice.brief.archive): a briefing archived, then ledgers imported for its period —
the archived view stays as it was, the comparison lists exactly the figures that moved and the import
that moved them; the index only grows; a failed write changes nothing; concurrent archiving; a
changed file is refused; a scoped viewer sees only archives of their scope; the CLI."""

from __future__ import annotations

import datetime as dt
import errno
import json
import threading

import pytest
from conftest import SMALL, run_app, write_store
from test_import_failures import HEADER

from redservice import cli
from redservice.brief import archive, snapshot
from redservice.filters import EVERYTHING, Scope
from redservice.store import Store

Q1 = ["--start", "2025-01-01", "--end", "2025-03-31"]


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "store", **SMALL)


def march_ledger(path, rows: int = 4, day: str = "2025-03-10", prefix: str = "N"):
    """Late ledgers for March: 张三明 (U1) in A社区, 1.5 hours each."""
    lines = [f"{prefix}{i:03d},{day},张三明,U1,A社区,义诊,1.5\n" for i in range(rows)]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def run_json(capsys, *argv) -> dict | list:
    capsys.readouterr()
    assert cli.main(list(argv)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_archive_then_late_ledgers_the_diff_names_the_figures_and_the_import(store, tmp_path, capsys):
    out = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--note", "报县委组织部", "--json")
    ident = out["archive"]["id"]
    assert out["archive"]["note"] == "报县委组织部" and out["archive"]["who"].endswith("（命令行）")
    index = (store / archive.ARCHIVE_DIR / archive.INDEX_FILE).read_bytes()
    shown = run_json(capsys, "briefings", "--data", str(store), "--show", ident, "--json")
    before = shown["snapshot"]
    assert next(k for k in before["kpis"] if k["key"] == "hours")["value"] == 8.5
    assert shown["entry"]["start"] == "2025-01-01" and shown["entry"]["last"] == "2025-04-01"

    # nothing imported yet: the same figures
    assert run_json(capsys, "briefings", "--data", str(store), "--diff", ident, "--json")["changes"] == []

    # an import outside every day the briefing reads (2023) is not named
    assert cli.main(["import", "--data", str(store), str(march_ledger(tmp_path / "旧台账.csv", 2, "2023-05-05", "O"))]) == 0
    # late ledgers for March: four records of 1.5 hours, 张三明 of U1 in A社区
    assert cli.main(["import", "--data", str(store), str(march_ledger(tmp_path / "三月补报.csv"))]) == 0
    capsys.readouterr()

    again = run_json(capsys, "briefings", "--data", str(store), "--show", ident, "--json")
    assert again["snapshot"] == before  # the archived view, unchanged
    diff = run_json(capsys, "briefings", "--data", str(store), "--diff", ident, "--json")
    kpi = {c["figure"]: (c["archived"], c["now"]) for c in diff["changes"] if c["chart"] == "kpis"}
    assert kpi == {"志愿服务时长": (8.5, 14.5)}  # hours only: no persons, households or members added
    charts = {(c["chart"], c["row"], c["column"]): (c["archived"], c["now"], c["difference"])
              for c in diff["changes"] if c["chart"] != "kpis"}
    assert charts == {
        ("trend", "2025年3月", "服务时长（小时）"): (3, 9, "+6"),
        ("communities", "A社区", "服务时长（小时）"): (7, 13, "+6"),
        ("categories", "义诊", "服务时长（小时）"): (5, 11, "+6"),
    }
    assert [(i["file"], i["loaded"], i["first_date"], i["last_date"]) for i in diff["imports"]] == [
        ("三月补报.csv", 4, "2025-03-10", "2025-03-10")]
    assert diff["imports"][0]["who"].endswith("（命令行）")

    # a second archive: appended (the first line kept byte for byte), listed first, nothing to compare
    second = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--json")["archive"]["id"]
    assert (store / archive.ARCHIVE_DIR / archive.INDEX_FILE).read_bytes().startswith(index)
    assert [e["id"] for e in run_json(capsys, "briefings", "--data", str(store), "--json")] == [second, ident]
    later = run_json(capsys, "briefings", "--data", str(store), "--diff", second, "--json")
    assert later["changes"] == [] and later["imports"] == []

    # text output
    capsys.readouterr()
    assert cli.main(["briefings", "--data", str(store), "--diff", ident]) == 0
    text = capsys.readouterr().out
    assert "主要指标·志愿服务时长·本期：8.5 → 14.5（+6）" in text
    assert "数据日期2025年3月10日" in text
    assert "导入 三月补报.csv" in text and "4行" in text


def test_the_archive_survives_generations(store, tmp_path, capsys):
    entry = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--json")["archive"]
    for n in range(4):  # four generations come and go (the importer keeps two)
        assert cli.main(["import", "--data", str(store), str(march_ledger(tmp_path / f"{n}.csv", 1, prefix=f"G{n}"))]) == 0
    assert [e["id"] for e in archive.entries(store)] == [entry["id"]]
    assert archive.load(store, entry["id"])[1]["kpis"][3]["value"] == 8.5


@pytest.mark.parametrize("broken", ["file", "rename", "index"])
def test_a_failed_write_leaves_the_archive_unchanged(store, capsys, monkeypatch, broken):
    first = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--json")["archive"]["id"]
    base = store / archive.ARCHIVE_DIR
    index = (base / archive.INDEX_FILE).read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = {"file": (archive, "_fsync_write"), "rename": (archive.os, "rename"), "index": (archive, "_append")}
    monkeypatch.setattr(*target[broken], full)
    assert cli.main(["brief", "--data", str(store), *Q1, "--archive"]) == 2
    assert "存档记录未作任何改动" in capsys.readouterr().err
    monkeypatch.undo()
    assert (base / archive.INDEX_FILE).read_bytes() == index
    assert sorted(p.name for p in base.iterdir()) == sorted([first, archive.INDEX_FILE, archive.LOCK_FILE])


def test_a_torn_index_line_is_skipped_and_the_next_line_kept(store, capsys):
    first = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--json")["archive"]["id"]
    with open(store / archive.ARCHIVE_DIR / archive.INDEX_FILE, "ab") as fh:
        fh.write(b'{"id": "torn", "at": "20')  # a crash in the middle of a line
    second = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--json")["archive"]["id"]
    assert [e["id"] for e in archive.entries(store)] == [second, first]


def test_concurrent_archiving(store):
    s = Store(store)
    try:
        snap = snapshot.freeze(snapshot.from_store(s, archive.filters_of(_snap(s)), None, "zh", EVERYTHING))
    finally:
        s.close()
    errors, ids = [], []

    def one(n):
        try:
            ids.append(archive.save(store, snap, f"user{n}@example.cn", f"第{n}份")["id"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    listed = archive.entries(store)
    assert sorted(e["id"] for e in listed) == sorted(ids) and len(set(ids)) == 8
    assert all(archive.load(store, i)[1] == snap for i in ids)


def _snap(s):
    from redservice import metrics

    return snapshot.freeze(snapshot.from_store(s, metrics.default_filters(s, start=dt.date(2025, 1, 1),
                                                                          end=dt.date(2025, 3, 31)),
                                               None, "zh", EVERYTHING))


def test_a_changed_file_is_refused(store, capsys):
    ident = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--json")["archive"]["id"]
    path = store / archive.ARCHIVE_DIR / ident / archive.SNAPSHOT_FILE
    path.write_text(path.read_text(encoding="utf-8").replace("8.5", "9.5"), encoding="utf-8")
    assert cli.main(["briefings", "--data", str(store), "--show", ident]) == 2
    assert "与存档时不一致" in capsys.readouterr().err


def test_a_scoped_viewer_sees_only_archives_of_their_scope(store):
    s = Store(store)
    try:
        whole = _snap(s)
        from redservice import metrics

        unit = Scope(units=("U1",), label="unit")
        mine = snapshot.freeze(snapshot.from_store(s, metrics.default_filters(s, unit, start=dt.date(2025, 1, 1),
                                                                              end=dt.date(2025, 3, 31)),
                                                   None, "zh", unit))
    finally:
        s.close()
    a = archive.save(store, whole, "org@example.cn")["id"]
    b = archive.save(store, mine, "zhang@example.cn")["id"]
    assert [e["id"] for e in archive.entries(store, EVERYTHING)] == [b, a]
    assert [e["id"] for e in archive.entries(store, Scope(units=("U1",)))] == [b]
    assert archive.entries(store, Scope(units=("U2",))) == []
    with pytest.raises(archive.ArchiveError):
        archive.load(store, a, Scope(units=("U1",)))
    # the unit's archive, recomputed for an unrestricted viewer, keeps the unit's scope
    entry, snap = archive.load(store, b)
    s = Store(store)
    try:
        assert archive.compare(snap, archive.recompute(s, snap, archive.as_scope(entry))) == []
    finally:
        s.close()


def test_the_bundled_demo_is_not_archived_into(capsys):
    assert cli.main(["brief", "--archive"]) == 2
    assert "演示数据目录" in capsys.readouterr().err


def test_the_page_archives_lists_opens_and_compares(store, tmp_path, monkeypatch):
    from redservice import ingest

    at = run_app({"period": "custom", "start": "2025-01-01", "end": "2025-03-31"}, page="app_pages/briefing.py",
                 data_dir=store, monkeypatch=monkeypatch)
    assert not at.exception
    at.text_input(key="archive_note").input("报县委组织部").run()
    at.button(key="archive_save").click().run()
    assert not at.exception and "已存档" in at.success[0].value
    (entry,) = archive.entries(store)
    assert entry["note"] == "报县委组织部" and entry["who"].endswith("（本地模式）") and entry["start"] == "2025-01-01"
    listed = next(df.value for df in at.dataframe if "存档时间" in df.value.columns)
    assert list(listed["编号"]) == [entry["id"]] and list(listed["备注"]) == ["报县委组织部"]

    ingest.run(store, [ingest.Source("三月补报.csv", march_ledger(tmp_path / "m.csv").read_bytes())],
               actor="wang@example.cn")
    at.button(key="archive_open").click().run()
    assert not at.exception and entry["id"] in at.query_params["archive"]  # a link to the archived view
    assert "这是存档的汇报" in at.warning[0].value and "报县委组织部" in at.warning[0].value
    shown = {m.label: m.value for m in at.metric}
    assert shown["志愿服务时长"] == "8.5小时"  # as archived, not the 14.5 of today's data
    at.button(key="archived_diff").click().run()
    assert not at.exception
    changes = next(df.value for df in at.dataframe if "差额" in df.value.columns)
    assert ("志愿服务时长", "8.5", "14.5", "+6") in set(
        zip(changes["项目"], changes["存档时"], changes["现在"], changes["差额"]))
    imports = next(df.value for df in at.dataframe if "导入人" in df.value.columns)
    assert list(imports["文件"]) == ["三月补报.csv"] and list(imports["导入人"]) == ["wang@example.cn"]
    assert list(imports["数据日期"]) == ["2025年3月10日"] and "年" in imports["导入时间"].iloc[0]
    at.button(key="archived_back").click().run()
    assert not at.exception and "archive" not in at.query_params and at.button(key="archive_save")


def test_the_demo_page_offers_office_files_but_no_archiving():
    at = run_app(page="app_pages/briefing.py")
    assert not at.exception
    assert not [b for b in at.button if b.key == "archive_save"] and "演示数据不能存档" in at.info[0].value


def test_an_archive_survives_a_crash_mid_import(store, tmp_path, capsys, monkeypatch):
    from redservice.ingest import load

    ident = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--json")["archive"]["id"]
    base = store / archive.ARCHIVE_DIR
    before = {p.name: p.read_bytes() for p in base.rglob("*") if p.is_file()}

    def crash(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(load, "write_table", crash)
    assert cli.main(["import", "--data", str(store), str(march_ledger(tmp_path / "m.csv"))]) == 3
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in base.rglob("*") if p.is_file()} == before
    assert run_json(capsys, "briefings", "--data", str(store), "--diff", ident, "--json")["changes"] == []


def test_the_archived_view_in_english(store, capsys, monkeypatch):
    ident = run_json(capsys, "brief", "--data", str(store), *Q1, "--lang", "en", "--archive", "--json")["archive"]["id"]
    at = run_app({"lang": "en", "archive": ident}, page="app_pages/briefing.py", data_dir=store,
                 monkeypatch=monkeypatch)
    assert not at.exception
    assert at.warning[0].value.startswith("This is an archived briefing: Archived")
    assert {m.label: m.value for m in at.metric}["Volunteer hours"] == "8.5"
    at.button(key="archived_diff").click().run()
    assert not at.exception and "every figure is as archived" in at.success[0].value


def test_a_note_is_shown_as_text_and_a_forged_index_line_is_ignored(store, capsys, monkeypatch):
    note = "**粗体** [链接](http://example.com) <b>x</b>"
    ident = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--note", note, "--json")["archive"]["id"]
    with open(store / archive.ARCHIVE_DIR / archive.INDEX_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "../../tables", "at": "2030-01-01T00:00:00", "files": {}}) + "\n")
    assert [e["id"] for e in archive.entries(store)] == [ident]
    at = run_app({"archive": ident}, page="app_pages/briefing.py", data_dir=store, monkeypatch=monkeypatch)
    assert not at.exception
    banner = at.warning[0].value
    assert "\\*\\*粗体\\*\\*" in banner and "\\[链接\\]" in banner  # escaped: shown as typed, not as markdown


def test_the_png_and_pdf_made_on_the_page_are_archived_with_it(store, monkeypatch):
    import io

    from PIL import Image

    from redservice import render, ui

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "#B22222").save(buf, format="PNG")
    fake = {"png": buf.getvalue(), "pdf": b"%PDF-1.4 fake"}
    monkeypatch.setattr(render, "render", lambda fig, formats, **kw: dict(fake))
    try:
        at = run_app({"period": "custom", "start": "2025-01-01", "end": "2025-03-31"},
                     page="app_pages/briefing.py", data_dir=store, monkeypatch=monkeypatch)
        at.button(key="briefing_generate").click().run()
        at.button(key="archive_save").click().run()
        assert not at.exception
    finally:
        ui._briefing_images.clear()  # the fake images must not outlive this test
    (entry,) = archive.entries(store)
    assert set(entry["files"]) == {"snapshot.json", "briefing.png", "briefing.pdf"}
    assert archive.image(store, entry, "png") == fake["png"] and archive.image(store, entry, "pdf") == fake["pdf"]
    at.button(key="archive_open").click().run()
    assert not at.exception and len(at.get("image")) == 1
    assert len(at.get("download_button")) == 4  # Word, PowerPoint, and the archived PNG and PDF


def test_concurrent_archiving_from_several_processes(store):
    import os
    import subprocess
    import sys

    from redservice.config import PROJECT_DIR

    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    env.pop("REDSERVICE_ACCESS", None)
    procs = [subprocess.Popen([sys.executable, "-m", "redservice", "brief", "--data", str(store), *Q1, "--archive",
                               "--note", f"进程{n}"], cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(4)]
    results = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0] * 4, [err[-300:] for _, err in results]
    listed = archive.entries(store)
    assert sorted(e["note"] for e in listed) == [f"进程{n}" for n in range(4)]
    lines = (store / archive.ARCHIVE_DIR / archive.INDEX_FILE).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and all(json.loads(line)["id"] for line in lines)  # four whole lines, none torn
    assert all(archive.load(store, e["id"])[1]["kpis"][3]["value"] == 8.5 for e in listed)


def test_briefings_text_output(store, capsys):
    assert cli.main(["briefings", "--data", str(store)]) == 0
    assert "还没有存档的汇报" in capsys.readouterr().out
    ident = run_json(capsys, "brief", "--data", str(store), *Q1, "--archive", "--note", "报县委组织部",
                     "--json")["archive"]["id"]
    assert cli.main(["briefings", "--data", str(store)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(ident + "\t") and "存档，统计期间2025年1月1日—3月31日（报县委组织部）" in line
    assert cli.main(["briefings", "--data", str(store), "--show", ident]) == 0
    out = capsys.readouterr().out
    assert "志愿服务时长：8.5小时（对比期" in out and out.rstrip().endswith(archive.load(store, ident)[1]["text"])
    assert cli.main(["briefings", "--data", str(store), "--show", "20990101-000000-abcdef"]) == 2
    assert "没有编号为" in capsys.readouterr().err
