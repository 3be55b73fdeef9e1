"""`python -m redservice kpis` prints the page's KPIs from the same SQL."""

import json

from conftest import SMALL, write_store
from redservice import cli, metrics


def test_kpis_json_keys_and_values(tmp_path, capsys):
    directory = write_store(tmp_path / "small", **SMALL)
    assert cli.main(["kpis", "--data", str(directory), "--start", "2025-01-01", "--end", "2025-03-31", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == list(metrics.KPIS)
    assert data == {"branches": 3, "members": 4, "communities": 2, "hours": 8.5, "households": 4,
                    "persons_served": 14, "wishes_claimed": 2, "wishes_completed": 2, "activities": 2,
                    "participation_rate": 0.75}


def test_kpis_default_period_and_filters(tmp_path, capsys):
    directory = write_store(tmp_path / "small", **SMALL)
    # default period: 今年以来 relative to the data's last date (2025-04-01)
    cli.main(["kpis", "--data", str(directory), "--unit", "U1", "--community", "A社区", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["hours"] == 6.0 and data["members"] == 2


def test_kpis_text_output(capsys):
    assert cli.main(["kpis"]) == 0
    out = capsys.readouterr().out
    assert "联系群众户数：7742户" in out and "2025年1月1日" in out


def test_a_data_directory_that_does_not_exist_is_refused_by_every_reading_command(tmp_path, capsys):
    """A mistyped --data is said in Chinese (exit 2), not answered with figures of zero; a new store
    with no records yet is a directory and reads as an empty one."""
    missing = str(tmp_path / "没有这个目录")
    for command in (["kpis"], ["brief"], ["quality"], ["assess", "--year", "2025"], ["briefings"], ["mappings"],
                    ["export", "--list"], ["export", "scorecard", "--out", str(tmp_path / "x.xlsx")]):
        code = cli.main([*command, "--data", missing])
        err = capsys.readouterr().err
        if command == ["export", "--list"]:  # the list of exports reads no data
            assert code == 0, command
            continue
        assert code == 2 and f"数据目录不存在：{missing}" in err, (command, err)
    empty = tmp_path / "new"
    empty.mkdir()
    assert cli.main(["kpis", "--data", str(empty), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hours"] == 0
