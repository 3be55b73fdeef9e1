"""Roles and row-level scope: a unit sees only its own, an unknown user sees nothing."""

import pytest

from conftest import metrics_by_label, run_app
from redservice import access, metrics
from redservice.config import DEMO_DIR
from redservice.filters import Scope
from redservice.store import Store

ACCESS = """
[users."zhang@example.cn"]
role = "unit"
units = ["县住建局"]

[users."li@example.cn"]
role = "单位"
units = ["县人民医院", "县中医医院"]

[users."wang@example.cn"]
role = "community"
communities = ["北城社区"]

[users."leader@example.cn"]
role = "leader"

[users."org@example.cn"]
role = "组织部"
"""


@pytest.fixture
def access_file(tmp_path, monkeypatch):
    path = tmp_path / "access.toml"
    path.write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv(access.ENV_ACCESS, str(path))
    return path


def login(email):
    return {"is_logged_in": True, "email": email, "name": email}


def expected(scope: Scope, **dims) -> dict:
    store = Store(DEMO_DIR)
    try:
        return metrics.kpis(store, metrics.default_filters(store, scope, **dims), scope)["current"]
    finally:
        store.close()


def test_parse_roles(access_file):
    viewers = access.load(access_file)
    assert viewers["zhang@example.cn"].scope == Scope(units=("县住建局",), show_names=True, label="unit")
    assert viewers["li@example.cn"].role == "unit"
    assert viewers["wang@example.cn"].scope.communities == ("北城社区",)
    assert viewers["wang@example.cn"].scope.show_names is False
    assert viewers["leader@example.cn"].scope.show_names is False
    assert viewers["leader@example.cn"].scope.units is None
    assert viewers["org@example.cn"].scope.show_names is True


@pytest.mark.parametrize("text", [
    '[users."a@b.cn"]\nrole = "admin"\n',
    '[users."a@b.cn"]\nrole = "unit"\n',
    '[users."a@b.cn"]\nrole = "community"\ncommunities = []\n',
    "not toml [",
])
def test_malformed_access_files_are_refused(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(access.AccessError):
        access.load(path)


def test_without_access_file_local_mode_is_orgdept(monkeypatch):
    monkeypatch.delenv(access.ENV_ACCESS, raising=False)
    who = access.resolve(None, False)
    assert who.local and who.role == "orgdept" and who.scope.show_names


def test_logged_out_user_sees_no_figures(access_file):
    at = run_app(user={"is_logged_in": False})
    assert not at.exception
    assert len(at.metric) == 0 and len(at.get("plotly_chart")) == 0
    assert any("登录" in w.value for w in at.warning)


def test_unknown_user_sees_no_figures(access_file):
    at = run_app(user=login("stranger@example.cn"))
    assert not at.exception
    assert len(at.metric) == 0
    assert any("未获授权" in e.value for e in at.error)


def test_broken_access_file_stops_everything(tmp_path, monkeypatch):
    path = tmp_path / "access.toml"
    path.write_text('[users."a@b.cn"]\nrole = "boss"\n', encoding="utf-8")
    monkeypatch.setenv(access.ENV_ACCESS, str(path))
    at = run_app(user=login("a@b.cn"))
    assert len(at.metric) == 0 and at.error


@pytest.mark.parametrize("email, scope", [
    ("zhang@example.cn", Scope(units=("县住建局",), label="unit")),
    ("li@example.cn", Scope(units=("县人民医院", "县中医医院"), label="unit")),
    ("wang@example.cn", Scope(communities=("北城社区",), show_names=False, label="community")),
])
def test_scoped_user_sees_only_their_own(access_file, email, scope):
    at = run_app(user=login(email))
    assert not at.exception
    shown = metrics_by_label(at)
    want = expected(scope)
    everyone = expected(Scope())
    assert shown["报到党员"][0] == metrics.format_value("members", want["members"], "zh")
    assert shown["志愿服务时长"][0] == metrics.format_value("hours", want["hours"], "zh")
    assert want["hours"] < everyone["hours"]
    units = at.multiselect(key="unit").options
    if scope.units:
        assert set(units) == set(scope.units)


def test_url_tampering_cannot_widen_the_scope(access_file):
    at = run_app(user=login("zhang@example.cn"), query_params={"unit": ["县人民医院", "县住建局"]})
    shown = metrics_by_label(at)
    want = expected(Scope(units=("县住建局",)))
    assert shown["报到党员"][0] == metrics.format_value("members", want["members"], "zh")
    at = run_app(user=login("zhang@example.cn"), query_params={"unit": "县人民医院"})
    assert metrics_by_label(at)["报到党员"][0] == metrics.format_value("members", want["members"], "zh")


def test_cache_is_isolated_between_users(access_file):
    a = metrics_by_label(run_app(user=login("zhang@example.cn")))
    b = metrics_by_label(run_app(user=login("li@example.cn")))
    c = metrics_by_label(run_app(user=login("org@example.cn")))
    assert a["报到党员"] != b["报到党员"] != c["报到党员"]
    assert c["报到党支部"][0] == "145个"


def test_leader_sees_everything(access_file):
    at = run_app(user=login("leader@example.cn"))
    assert metrics_by_label(at)["报到党支部"][0] == "145个"
    assert any("领导" in c.value for c in at.sidebar.caption)


def test_cli_follows_the_same_rules(access_file, capsys):
    import json

    from redservice import cli

    assert cli.main(["kpis", "--json"]) == 2
    assert "--as" in capsys.readouterr().err
    assert cli.main(["kpis", "--json", "--as", "stranger@example.cn"]) == 2
    capsys.readouterr()
    assert cli.main(["kpis", "--json", "--as", "ZHANG@example.cn", "--unit", "县人民医院"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["members"] == 0  # a unit user asking for another unit gets nothing
    assert cli.main(["kpis", "--json", "--as", "zhang@example.cn"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["members"] == expected(Scope(units=("县住建局",)))["members"] > 0


def test_brief_as_a_unit_user_names_the_unit_not_the_county(access_file, capsys):
    """`brief --as <unit user>` must not say 全县… about one unit's figures."""
    from redservice import cli

    assert cli.main(["brief", "--as", "zhang@example.cn"]) == 0
    text = capsys.readouterr().out
    assert "全县" not in text and "县住建局" in text
    assert cli.main(["brief", "--as", "wang@example.cn", "--lang", "en"]) == 0
    text = capsys.readouterr().out
    assert "across the county" not in text and "北城社区" in text


def test_export_header_and_footnote_say_the_scope():
    import datetime as dt
    import io

    import openpyxl
    import pandas as pd

    from redservice import briefing, export
    from redservice.filters import Filters

    scope = Scope(units=("县住建局",), show_names=True, label="unit")
    f = Filters.make(dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    lines = export.describe_filters(f, "zh", scope)
    assert "查看范围：本单位（县住建局）" in lines and "筛选：无（全部单位、社区）" not in lines
    data = export.to_excel(pd.DataFrame({"a": [1]}), "标题", f, "zh", scope=scope)
    cells = [r[0] for r in openpyxl.load_workbook(io.BytesIO(data)).active.values]
    assert "查看范围：本单位（县住建局）" in cells and "筛选：无（全部单位、社区）" not in cells
    assert export.describe_filters(f, "zh") [-1] == "筛选：无（全部单位、社区）"  # unscoped: unchanged
    community = Scope(communities=("北城社区",), show_names=False, label="community")
    assert briefing.scope_phrase(f, "zh", community) == "北城社区共"


def test_an_unverified_email_gets_no_role(access_file):
    """A token whose email_verified is false maps to nobody, even for an address in the file."""
    user = {**login("org@example.cn"), "email_verified": False}
    at = run_app(user=user)
    assert not at.exception and not at.metric
    assert any("未经身份提供方验证" in e.value for e in at.error)
    assert access.resolve("org@example.cn", True, claims={"email_verified": "false"}) is None
    assert access.resolve("org@example.cn", True, claims={"email_verified": True}).role == "orgdept"


def test_a_group_claim_maps_to_a_role(tmp_path, monkeypatch):
    path = tmp_path / "access.toml"
    path.write_text('groups_claim = "groups"\n' + ACCESS + '\n[groups."住建局干部"]\nrole = "unit"\nunits = ["县住建局"]\n',
                    encoding="utf-8")
    monkeypatch.setenv(access.ENV_ACCESS, str(path))
    who = access.resolve("new@example.cn", True, claims={"groups": ["其他", "住建局干部"]})
    assert who.role == "unit" and who.scope.units == ("县住建局",) and who.email == "new@example.cn"
    assert access.resolve("new@example.cn", True, claims={"groups": ["其他"]}) is None
    assert access.resolve("new@example.cn", True, claims={"groups": ["住建局干部"], "email_verified": False}) is None


def test_sign_in_dependencies_are_pinned():
    """st.login needs Authlib (Streamlit's auth extra): it is in requirements.txt and importable."""
    from streamlit import auth_util

    from redservice.config import PROJECT_DIR

    pins = (PROJECT_DIR / "requirements.txt").read_text(encoding="utf-8").lower()
    assert "authlib==" in pins and "httpx==" in pins
    assert auth_util.is_authlib_installed()


def test_counties_limit_any_role(tmp_path):
    path = tmp_path / "access.toml"
    path.write_text('[users."x@example.cn"]\nrole = "orgdept"\ncounties = ["芮城县"]\n'
                    '[users."y@example.cn"]\nrole = "leader"\n', encoding="utf-8")
    viewers = access.load(path)
    assert viewers["x@example.cn"].scope.counties == ("芮城县",)
    assert viewers["x@example.cn"].scope.params()["scope_counties"] == ["芮城县"]
    assert viewers["y@example.cn"].scope.counties is None
    path.write_text('[users."x@example.cn"]\nrole = "orgdept"\ncounties = "芮城县"\n', encoding="utf-8")
    with pytest.raises(access.AccessError, match="counties"):
        access.load(path)
