"""Role × page matrix: every page renders for every role, and nothing outside the scope shows."""

import ast
import json

import pandas as pd
import pytest

from conftest import run_app
from redservice.config import DEMO_DIR, PROJECT_DIR
from test_access import ACCESS, login

_ENTRY = (PROJECT_DIR / "dashboard.py").read_text(encoding="utf-8")
_PAGES = ast.literal_eval(_ENTRY.split("PAGES = ", 1)[1].split("]\n", 1)[0] + "]")
RESTRICTED = ast.literal_eval(_ENTRY.split("RESTRICTED = ", 1)[1].split("\n", 1)[0])
SEVERAL_COUNTIES = ast.literal_eval(_ENTRY.split("SEVERAL_COUNTIES = ", 1)[1].split("\n", 1)[0])
# The pages of the demo county (a store of one county): 区县对比 is a city's page.
PAGES = [path for path, key, *_ in _PAGES if key not in SEVERAL_COUNTIES]
ALL_PAGES = [path for path, *_ in _PAGES]
KEYS = {path: key for path, key, *_ in _PAGES}
UNITS = pd.read_parquet(DEMO_DIR / "units.parquet")["unit"].tolist()
COMMUNITIES = pd.read_parquet(DEMO_DIR / "communities.parquet")["community"].tolist()
NAMES = set(pd.read_parquet(DEMO_DIR / "members.parquet")["name"])


@pytest.fixture
def access_file(tmp_path, monkeypatch):
    path = tmp_path / "access.toml"
    path.write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("REDSERVICE_ACCESS", str(path))


# A unit's 包联 community is a fact about the unit (figures for it are computed within the scope).
ATTRIBUTE_COLUMNS = {"paired_community", "包联社区", "Paired community"}


def page_texts(at) -> list[str]:
    """Every value the page shows: tables, tiles, chart and map specs, markdown."""
    texts = []
    for df in at.dataframe:
        frame = df.value if isinstance(df.value, pd.DataFrame) else pd.DataFrame(df.value)
        frame = frame.drop(columns=[c for c in frame.columns if c in ATTRIBUTE_COLUMNS])
        texts += [str(c) for c in frame.columns]
        texts += [str(v) for v in frame.astype(str).to_numpy().ravel()]
    texts += [f"{m.label} {m.value}" for m in at.metric]
    for kind in ("plotly_chart", "deck_gl_json_chart"):
        for el in at.get(kind):
            texts.append(json.dumps(json.loads(getattr(el.proto, "spec", "") or el.proto.json or "{}"),
                                    ensure_ascii=False))
    texts += [m.value for m in at.markdown] + [c.value for c in at.caption] + [c.value for c in at.code]
    texts += [t.value.to_string() for t in at.table]
    return texts


# Pages whose tabs run only while open (st.tabs with on_change="rerun"): the Session State key of
# the open tab. Every tab is opened in turn, so that what each shows is checked too.
LAZY_TABS = {"app_pages/units.py": "units_tab", "app_pages/assess.py": "assess_tab"}


def every_tab_texts(at, page: str) -> list[str]:
    """page_texts of the page and, for a page with lazily run tabs, of each tab opened."""
    texts = page_texts(at)
    key = LAZY_TABS.get(page)
    if key:
        labels = [tab.label for tab in at.tabs]
        assert len(labels) > 1
        for label in labels:
            at.session_state[key] = label
            at.run()
            assert not at.exception, (label, at.exception)
            texts += page_texts(at)
    return texts


def leaks(texts: list[str], forbidden: list[str]) -> set[str]:
    blob = "\n".join(texts)
    return {name for name in forbidden if name in blob}


def open_as(email: str, role: str, page: str):
    """Run the page as that user; None (and checked) when the role may not open it."""
    if role not in RESTRICTED.get(KEYS[page], (role,)):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            run_app(user=login(email), page=page)
        return None
    return run_app(user=login(email), page=page)


@pytest.mark.parametrize("page", PAGES)
def test_unit_role_sees_only_its_unit(access_file, page):
    at = open_as("zhang@example.cn", "unit", page)
    if at is None:
        return
    assert not at.exception, at.exception
    others = [u for u in UNITS if u != "县住建局" and "县住建局" not in u]
    assert not leaks(every_tab_texts(at, page), others)


@pytest.mark.parametrize("page", PAGES)
def test_community_role_sees_only_its_community(access_file, page):
    at = open_as("wang@example.cn", "community", page)
    if at is None:
        return
    assert not at.exception, at.exception
    assert not leaks(every_tab_texts(at, page), [c for c in COMMUNITIES if c != "北城社区"])


@pytest.mark.parametrize("page", PAGES)
def test_leader_sees_no_member_names(access_file, page):
    at = open_as("leader@example.cn", "leader", page)
    if at is None:
        return
    assert not at.exception, at.exception
    texts = set(every_tab_texts(at, page))
    assert not (texts & NAMES)


# -- the county scope (issue 22): a county's 组织部 in the demo city sees only its county ----------------
COUNTY_ACCESS = """
[users."ruicheng@example.cn"]
role = "orgdept"
counties = ["芮城县"]
"""


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory):
    from redservice import demo, serving

    out = demo.write_city(tmp_path_factory.mktemp("city") / "city")
    serving.refresh(out)
    return out


@pytest.mark.parametrize("page", ALL_PAGES)
def test_county_orgdept_sees_only_its_county(city_dir, tmp_path, monkeypatch, page):
    from redservice import demo

    path = tmp_path / "access.toml"
    path.write_text(COUNTY_ACCESS, encoding="utf-8")
    monkeypatch.setenv("REDSERVICE_ACCESS", str(path))
    monkeypatch.setenv("REDSERVICE_DATA", str(city_dir))
    if KEYS[page] in SEVERAL_COUNTIES:  # one county in scope: no comparison of counties
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            run_app(user=login("ruicheng@example.cn"), page=page)
        return
    at = run_app(user=login("ruicheng@example.cn"), page=page)
    assert not at.exception, at.exception
    # every other county's name, and its communities and units (named after it); 平陆县's own names
    # are inside 芮城县's (县住建局 in 芮城县住建局) and are checked through the county's name. The
    # units of the city (市直单位) that served in 芮城县 are shown there, with their 芮城县 figures.
    others = [c for c in demo.CITY_COUNTIES if c != "芮城县"]
    texts = every_tab_texts(at, page)
    assert not leaks(texts, others)
    assert any("芮城县" in text for text in texts)
