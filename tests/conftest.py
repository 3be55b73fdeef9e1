"""Shared fixtures: small stores written by code (no checked-in binaries), and the demo."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from redservice.config import DEMO_DIR, PROJECT_DIR
from redservice.parquet_io import write_table
from redservice.schema import TABLES
from redservice.store import Store

D = dt.date
# The files that take minutes (the Spark session building the demos' copies; every page's queries
# from four copies): collected first, so that with `-n auto --dist loadfile` a worker starts each of
# them while the others share the rest, instead of the run ending on one worker still in them.
SLOW_FIRST = ("test_serving_spark.py", "test_serving.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: SLOW_FIRST.index(item.path.name) if item.path.name in SLOW_FIRST else len(SLOW_FIRST))


def write_store(directory: Path, **tables) -> Path:
    """Write a store from lists of dicts. Service rows may carry ``households=[codes]``."""
    directory.mkdir(parents=True, exist_ok=True)
    services = tables.get("services", [])
    links = [{"record_id": s["record_id"], "household": h} for s in services for h in s.get("households", [])]
    tables.setdefault("service_households", links)
    for table in TABLES:
        write_table(directory, table, tables.get(table, []))
    return directory


def _member(mid, name, unit, branch, community, reported):
    return {"member_id": mid, "name": name, "unit": unit, "branch": branch, "community": community,
            "reported_on": reported, "gender": "男", "phone": "13800001234"}


def _service(rid, day, member, category, form, hours, persons, households, activity=None, community=None):
    return {"record_id": rid, "date": day, "member_id": member["member_id"], "name": member["name"],
            "unit": member["unit"], "branch": member["branch"],
            "community": community or member["community"], "category": category, "form": form,
            "activity_id": activity, "hours": hours, "persons": persons, "households": households}


M1 = _member("m1", "张三明", "U1", "U1一支部", "A社区", D(2025, 1, 10))
M2 = _member("m2", "李四", "U1", "U1二支部", "B社区", D(2024, 12, 1))
M3 = _member("m3", "欧阳娜娜", "U2", "U2支部", "A社区", D(2025, 2, 1))
M4 = _member("m4", "王五", "U2", "U2支部", "B社区", D(2025, 4, 1))  # reports after the period
M5 = _member("m5", "赵六", "U1", "U1一支部", "A社区", D(2024, 6, 1))  # reported, never serves

SMALL = {
    "communities": [
        {"community": "A社区", "households": 100},
        {"community": "B社区", "households": 50},
        {"community": "C社区", "households": None},  # no 总户数: coverage is "—"
    ],
    "units": [
        {"unit": "U1", "paired_community": "A社区"},
        {"unit": "U2", "paired_community": "B社区"},
        {"unit": "U3", "paired_community": "C社区"},  # no members, no records
    ],
    "branches": [
        {"branch": "U1一支部", "unit": "U1", "members_on_roll": 3},
        {"branch": "U1二支部", "unit": "U1", "members_on_roll": 1},
        {"branch": "U2支部", "unit": "U2", "members_on_roll": 2},
    ],
    "members": [M1, M2, M3, M4, M5],
    "services": [
        _service("s1", D(2025, 1, 1), M1, "送政策", "日常服务", 2.0, 3, ["h1", "h2"]),
        _service("s2", D(2025, 3, 31), M1, "义诊", "红色服务日", 3.0, 5, ["h2", "h3"], "R1"),
        _service("s3", D(2025, 2, 15), M2, "送热饭", "六送三请", 1.5, 4, ["h4"], "L1"),
        _service("s4", D(2025, 2, 15), M3, "义诊", "红色服务日", 2.0, 2, ["h1"], "R1"),
        _service("s5", D(2024, 12, 31), M2, "送热饭", "日常服务", 4.0, 1, ["h4", "h5"]),
        _service("s6", D(2025, 4, 1), M1, "义剪", "日常服务", 1.0, 1, ["h9"]),
    ],
    "wishes": [
        {"wish_id": "w1", "community": "A社区", "content": "修水管", "posted_on": D(2025, 1, 2),
         "claim_unit": "U1", "claim_branch": "U1一支部", "claimed_on": D(2025, 1, 5),
         "completed_on": D(2025, 2, 1), "status": "已办结", "satisfaction": 5.0},
        {"wish_id": "w2", "community": "B社区", "content": "送煤", "posted_on": D(2024, 12, 18),
         "claim_unit": "U1", "claim_branch": "U1二支部", "claimed_on": D(2024, 12, 20),
         "completed_on": D(2025, 1, 10), "status": "已办结", "satisfaction": 4.0},
        {"wish_id": "w3", "community": "A社区", "content": "理发", "posted_on": D(2025, 2, 27),
         "claim_unit": "U2", "claimed_on": D(2025, 3, 1), "status": "已认领"},
        {"wish_id": "w4", "community": "B社区", "content": "辅导功课", "posted_on": D(2025, 3, 20),
         "status": "待认领"},
    ],
}
Q1_2025 = (D(2025, 1, 1), D(2025, 3, 31))


@pytest.fixture
def small_store(tmp_path) -> Store:
    store = Store(write_store(tmp_path / "small", **SMALL))
    yield store
    store.close()


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    """A writable copy of the demo store."""
    return Path(shutil.copytree(DEMO_DIR, tmp_path / "store"))


@pytest.fixture(scope="session")
def demo_store() -> Store:
    store = Store(DEMO_DIR)
    yield store
    store.close()


@pytest.fixture
def project_dir() -> Path:
    return PROJECT_DIR


def run_app(query_params: dict | None = None, page: str | None = None, data_dir: Path | None = None,
            monkeypatch=None, user: dict | None = None):
    """Run dashboard.py in AppTest (optionally on another store, page, URL parameters and user)."""
    from streamlit.testing.v1 import AppTest

    if data_dir is not None:
        assert monkeypatch is not None, "pass monkeypatch with data_dir"
        monkeypatch.setenv("REDSERVICE_DATA", str(data_dir))
    at = AppTest.from_file(str(PROJECT_DIR / "dashboard.py"), default_timeout=60)
    if user is not None:
        at.user = user
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def metrics_by_label(at) -> dict[str, tuple[str, str | None]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def page_call_sets(directory: Path, unit: str | None, variants: int):
    """(page, n, calls) for every page's queries as the page makes them (n = 0, bench.record), then
    the same with ``variants`` other units and ``variants`` other periods (bench.variants)."""
    from redservice import bench

    units = bench.sample_units(directory, 3)
    for page, found in bench.record(directory, unit).items():
        assert found["error"] is None, (page, found["error"])
        made = [bench.Call.from_json(c) for c in found["calls"]]
        follows = [c["follows"] for c in found["calls"]]
        sets = ([made] + bench.variants(made, units, variants, "unit", follows)
                + bench.variants(made, units, variants, "period", follows))
        for n, calls in enumerate(sets):
            yield page, n, calls
