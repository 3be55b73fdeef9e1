"""The load test speaks Streamlit's websocket protocol: a few sessions run 总览 and 单位与支部 with
their own filters and report no error (the figures it measures go to docs/benchmarks.md)."""

import json

from redservice import load_test


def test_two_sessions_run_both_pages_without_error(tmp_path, capsys):
    code = load_test.main(["--sessions", "2", "--rounds", "2", "--log", str(tmp_path / "server.log")])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["errors"] == 0 and summary["page_runs"] == 4
    assert set(summary["by_page"]) == {"总览", "单位与支部"}
